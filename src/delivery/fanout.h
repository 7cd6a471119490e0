/* A fan-out: everything one published message causes (an EventBridge event, an SNS
 * publish), committed as ONE store group, so that it is durable as a whole before the
 * publisher is answered, or not at all:
 *  - messages for queues, grouped per queue (one SQS send op each), and a body that goes
 *    unchanged to several queues stored and digested once (see store_payload);
 *  - pending deliveries for targets that are not queues (src/delivery/delivery.h);
 *  - documents (a schedule's last fire, a replay's progress);
 *  - archive records (an event bus's archives, the mail log);
 *  - ops of the caller's own (the removal of a delivery it dead-letters).
 * After the commit the queues' long-pollers are woken. */
#ifndef SLUICE_DELIVERY_FANOUT_H
#define SLUICE_DELIVERY_FANOUT_H

#include "services/sqs/sqs.h"
#include "store/store.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct fanout fanout;
/* status: 0, or the store's error (nothing of the fan-out happened). */
typedef void (*fanout_done_fn)(fanout *f, int status, void *arg);

/* Borrows st and queues; sender_id (copied) is the SenderId of the queue messages. */
fanout *fanout_new(store *st, sqs *queues, int64_t now_ms, const char *sender_id);
int64_t fanout_now(const fanout *f);
/* Declares the message being fanned out now (its text, borrowed until the next call):
 * queue messages whose body is exactly this pointer and length share one stored copy. */
void fanout_set_body(fanout *f, const char *body, size_t len);
/* A message for the queue with this ARN (body copied unless it is the declared body).
 * -1 (reason in err) if there is no such queue or it refuses the message. */
int fanout_queue(fanout *f, const char *queue_arn, const char *body, size_t len,
                 const json_t *attrs, const char *group_id, const char *dedup_id, char *err,
                 size_t errlen);
/* A pending delivery of `kind` (target copied as JSON text, payload copied). */
void fanout_delivery(fanout *f, const char *kind, const json_t *target, const char *payload,
                     size_t len);
/* A document to write (copied; doc NULL deletes). */
void fanout_doc(fanout *f, const char *ns, const char *key, const char *doc);
/* A record for the archive with this name (store_archived; text copied), at the fan-out's
 * time. */
void fanout_archive(fanout *f, const char *archive, const char *text, size_t len);
/* One more op of the caller's (borrowed until the done callback). */
void fanout_op(fanout *f, store_op *op);
/* Messages, deliveries, documents, archive records and ops planned so far. */
size_t fanout_size(const fanout *f);
size_t fanout_deliveries(const fanout *f);
/* Commits everything as one group; fn runs after (on the loop thread). Takes f. */
void fanout_commit(fanout *f, fanout_done_fn fn, void *arg);
void fanout_discard(fanout *f);

#endif
