/* The SQS service: durable standard and FIFO queues behind the SQS API. */
#ifndef SLUICE_SQS_H
#define SLUICE_SQS_H

#include "protocol/aws.h"
#include "store/store.h"

#include <jansson.h>
#include <stdint.h>
#include <uv.h>

typedef struct sqs sqs;

/* Creates the service, loading its queues and move tasks from the store (synchronously:
 * call before serving). Borrows loop, st, region and account for its lifetime. */
int sqs_create(sqs **out, uv_loop_t *loop, store *st, const char *region, const char *account);
/* The router's view of the service. */
const aws_service_def *sqs_service_def(const sqs *s);
/* Shutdown, step 1: answer every long poll (empty), stop timers. */
void sqs_shutdown(sqs *s);
/* Frees the service (after the store has delivered its last completions). Accepts NULL. */
void sqs_destroy(sqs *s);

/* ---- delivering into queues from other services (sqs_outbound.c) -------------------
 * An event-bus target, a topic subscription or a dead-letter config sends messages to a
 * queue as part of its own store transaction: it collects the messages of one queue in an
 * outbound batch, puts the batch's op in its STORE_GROUP, and finishes the batch once the
 * group has completed (which wakes the queue's long-pollers). */
typedef struct sqs_outbound sqs_outbound;

/* A batch for the queue with this ARN, or NULL if there is no such queue. */
sqs_outbound *sqs_outbound_begin(sqs *s, const char *queue_arn, int64_t now_ms);
/* Adds a message: body copied; attrs (borrowed, may be NULL) in SendMessage's
 * MessageAttributes shape; group_id and dedup_id (copied) for FIFO queues (dedup_id NULL:
 * the body's SHA-256, as content-based deduplication). Returns 0, or -1 with the reason in
 * err (too large for the queue, missing group id). */
int sqs_outbound_add(sqs_outbound *o, const char *body, size_t len, const json_t *attrs,
                     const char *group_id, const char *dedup_id, const char *sender_id, char *err,
                     size_t errlen);
/* The same for a body several queues share (borrowed until the batch is finished): stored
 * once, digested once (md5_body: its MD5, hex). */
int sqs_outbound_add_shared(sqs_outbound *o, store_payload *shared, const char md5_body[33],
                            const json_t *attrs, const char *group_id, const char *dedup_id,
                            const char *sender_id, char *err, size_t errlen);
size_t sqs_outbound_count(const sqs_outbound *o);
/* The op to run in the caller's group (owned by the batch). */
store_op *sqs_outbound_op(sqs_outbound *o);
/* After the group completed: wakes receivers if it committed, frees the batch. */
void sqs_outbound_finish(sqs_outbound *o);
/* Discards a batch that was not submitted. */
void sqs_outbound_discard(sqs_outbound *o);

#endif
