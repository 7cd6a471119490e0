/* Consuming a queue from inside the server: what a Lambda event source mapping does with
 * ReceiveMessage and DeleteMessage, without HTTP calls.
 *
 * A consumer claims messages through the same store op as ReceiveMessage (visibility
 * timeout, receive counts and the queue's redrive to its DLQ apply alike) and, when none is
 * visible, parks on the queue next to the long-polling receivers: it is woken by the same
 * events (a committed send, a visibility change, the queue's wake timer). Nothing polls. */
#ifndef SLUICE_SQS_CONSUMER_H
#define SLUICE_SQS_CONSUMER_H

#include "services/sqs/sqs.h"
#include "store/store.h"

#include <stddef.h>
#include <stdint.h>

typedef struct sqs_consumer sqs_consumer;

/* A receive's outcome: msgs (borrowed for the call) and n; n = 0 when the wait ended with
 * nothing (its deadline, the queue deleted, the server stopping). */
typedef void (*sqs_consumer_fn)(sqs_consumer *c, const store_message *msgs, size_t n, void *arg);
/* A delete's outcome: status 0, or the store's error. */
typedef void (*sqs_consumer_deleted_fn)(int status, void *arg);

/* A consumer of the queue with this ARN, or NULL if there is no such queue. */
sqs_consumer *sqs_consumer_create(sqs *s, const char *queue_arn);
/* Claims up to max (1..10) messages with the queue's visibility timeout; if none is
 * visible, waits until some are or until wait_until_ms (0: no deadline). fn is called once,
 * later. -1 (fn not called) if a receive is pending, the queue is gone or the server is
 * stopping. */
int sqs_consumer_receive(sqs_consumer *c, int max, int64_t wait_until_ms, sqs_consumer_fn fn,
                         void *arg);
/* Deletes received messages by (seq, receipt token) (arrays copied). done may be NULL. */
void sqs_consumer_delete(sqs_consumer *c, const int64_t *seqs, const int64_t *tokens, size_t n,
                         sqs_consumer_deleted_fn done, void *arg);
/* The receipt handle ReceiveMessage would give for m. */
void sqs_consumer_receipt(const sqs_consumer *c, const store_message *m, char *out, size_t cap);
int sqs_consumer_fifo(const sqs_consumer *c);
/* The queue was deleted since the consumer was created. */
int sqs_consumer_gone(const sqs_consumer *c);
/* The queue's VisibilityTimeout, in seconds. */
int sqs_consumer_visibility_timeout(const sqs_consumer *c);
/* Stops the consumer: a pending receive's fn is not called (its messages, if the claim
 * was in flight, become visible again after their timeout). Freed once its store ops
 * completed. Accepts NULL. */
void sqs_consumer_destroy(sqs_consumer *c);

#endif
