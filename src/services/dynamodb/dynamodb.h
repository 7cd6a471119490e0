/* The DynamoDB service (AWS JSON 1.0, X-Amz-Target DynamoDB_20120810.*): tables as
 * control-plane documents, items in the store's key-value tables (STORE_KV_*), every
 * conditional write read-evaluated-written inside one store transaction; UpdateTable with
 * index backfills, TTL expiry, and DynamoDB Streams. */
#ifndef SLUICE_DYNAMODB_H
#define SLUICE_DYNAMODB_H

#include "protocol/aws.h"
#include "store/store.h"

#include <jansson.h>
#include <uv.h>

typedef struct dynamodb dynamodb;

/* Creates the service, loading its tables from the store (synchronously: call before
 * serving). Borrows everything. */
int dynamodb_create(dynamodb **out, uv_loop_t *loop, store *st, const char *region,
                    const char *account);
const aws_service_def *dynamodb_service_def(const dynamodb *d);
/* The DynamoDB Streams API (X-Amz-Target DynamoDBStreams_20120810.*), served by the same
 * state. */
const aws_service_def *dynamodb_streams_service_def(const dynamodb *d);

/* ---- streams, read by Lambda event source mappings -------------------------------------
 * A reader submits STORE_KV_STREAM_READ ops on the stream's store number itself, then
 * shapes each record as Lambda's DynamoDB event record. */
typedef struct dynamodb_stream_info {
    int64_t id;        /* the store's stream number */
    int enabled;       /* a disabled stream is read to its end, then closed */
    char shard_id[64]; /* its one shard */
} dynamodb_stream_info;
/* 0, or -1 if there is no stream with this ARN. */
int dynamodb_stream_lookup(const dynamodb *d, const char *stream_arn, dynamodb_stream_info *out);
/* The record as Lambda delivers it (eventID, eventName, eventVersion, eventSource, awsRegion,
 * dynamodb{...SequenceNumber...}, eventSourceARN, userIdentity{type, principalId} for a TTL
 * deletion), or NULL if unreadable. New reference. */
json_t *dynamodb_stream_event(const dynamodb *d, const char *stream_arn,
                              const store_kv_record *rec);
/* The sequence number of the API (21 digits) of a store sequence number (out: 32 bytes). */
void dynamodb_stream_seq(int64_t seq, char *out);

void dynamodb_shutdown(dynamodb *d);
void dynamodb_destroy(dynamodb *d);

#endif
