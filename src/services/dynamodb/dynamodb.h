/* The DynamoDB service (AWS JSON 1.0, X-Amz-Target DynamoDB_20120810.*): tables as
 * control-plane documents, items in the store's key-value tables (STORE_KV_*), every
 * conditional write read-evaluated-written inside one store transaction; UpdateTable with
 * index backfills, TTL expiry, and DynamoDB Streams. */
#ifndef SLUICE_DYNAMODB_H
#define SLUICE_DYNAMODB_H

#include "protocol/aws.h"
#include "store/store.h"

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
void dynamodb_shutdown(dynamodb *d);
void dynamodb_destroy(dynamodb *d);

#endif
