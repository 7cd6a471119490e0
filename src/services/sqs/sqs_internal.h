/* SQS service internals shared by the files of src/services/sqs/. */
#ifndef SLUICE_SQS_INTERNAL_H
#define SLUICE_SQS_INTERNAL_H

#include "protocol/aws.h"
#include "services/sqs/sqs.h"
#include "store/store.h"

#include <jansson.h>
#include <stdint.h>
#include <uv.h>

#define SQS_MAX_BATCH         10
#define SQS_DEDUP_WINDOW_MS   (5 * 60 * 1000)
#define SQS_PURGE_INTERVAL_MS (60 * 1000)
#define SQS_RECREATE_DELAY_MS (60 * 1000)
#define SQS_MAX_MESSAGE_SIZE  1048576 /* AWS's current upper bound of MaximumMessageSize */
#define SQS_DEFAULT_MSG_SIZE  262144
#define SQS_MAX_QUEUE_NAME    80
#define SQS_MAX_ATTRIBUTES    10

typedef struct sqs_waiter sqs_waiter;
typedef struct sqs_attempt sqs_attempt;
typedef struct sqs_move sqs_move;

/* A queue as the engine holds it: attributes cached, no messages (those live in the store). */
typedef struct sqs_queue {
    int64_t id;
    char *name;
    int fifo;
    json_t *attrs; /* settable attributes, string values, only those set or defaulted */
    json_t *tags;
    int64_t created_ms;
    int64_t modified_ms;
    int64_t last_purge_ms;

    /* cached from attrs (sqs_queue_apply_attrs) */
    int visibility_timeout;
    int delay_seconds;
    int wait_seconds;
    int max_message_size;
    int64_t retention_s;
    int content_dedup;
    int dedup_per_group;
    int max_receive_count; /* 0: no redrive policy */
    char *dlq_name;        /* from RedrivePolicy's deadLetterTargetArn */

    sqs_attempt *attempts; /* FIFO: recent ReceiveRequestAttemptIds (sqs_receive.c) */

    /* long polling */
    sqs_waiter *waiters; /* parked receivers, oldest first */
    sqs_waiter *waiters_tail;
    /* parked in-server consumers (sqs_consumer.c) */
    struct sqs_consumer *consumers;
    uv_timer_t wake_timer; /* fires at the earliest known future visibility */
    int64_t wake_at_ms;    /* 0: not armed */

    int refs; /* pending store ops + waiters + the table: freed at 0 */
    int deleted;
    struct sqs_queue *hnext;
    struct sqs *svc;
} sqs_queue;

typedef struct sqs {
    aws_service_def def;
    uv_loop_t *loop;
    store *store;
    const char *region;
    const char *account;
    sqs_queue **buckets;
    size_t nbuckets;
    size_t nqueues;
    int64_t next_queue_id;
    uv_timer_t sweep_timer;
    int sweep_running;
    sqs_move *moves;       /* message move tasks, newest first */
    json_t *deleted_names; /* name -> deletion time (ms): QueueDeletedRecently for 60 s */
    int stopping;
} sqs;

/* ---- queues (sqs_queue.c) ----------------------------------------------------------- */
sqs_queue *sqs_queue_find(sqs *s, const char *name);
/* By store id (a linear scan: for rare paths only, such as DLQ source ARNs). */
sqs_queue *sqs_queue_by_id(sqs *s, int64_t id);
/* Resolves call->input's QueueUrl (or the request path) to a queue; on failure replies
 * QueueDoesNotExist / MissingParameter and returns NULL. */
sqs_queue *sqs_queue_from_call(aws_call *call);
sqs_queue *sqs_queue_from_arn(sqs *s, const char *arn);
void sqs_queue_ref(sqs_queue *q);
void sqs_queue_unref(sqs_queue *q);
/* Appends the queue URL as the client addressed us (Host header). */
void sqs_queue_url(const aws_call *call, const sqs_queue *q, char *out, size_t cap);
void sqs_queue_arn(const sqs *s, const char *name, char *out, size_t cap);
/* Loads a stored queue at startup. */
void sqs_queue_restore(const store_queue *sq, void *arg);
void sqs_queue_free_all(sqs *s);
/* Submits a STORE_SQS_QUEUE_PUT of q's current state and replies `reply` (taken) to call
 * once committed. */
void sqs_queue_persist(aws_call *call, sqs_queue *q, json_t *reply);

/* ---- attributes (sqs_attributes.c) -------------------------------------------------- */
/* Validates `in` (attribute name -> string) for a queue of kind `fifo`; on success merges
 * into `attrs` and returns 0; otherwise replies the error to call and returns -1. */
int sqs_attrs_validate(aws_call *call, sqs *s, int fifo, int creating, const json_t *in,
                       json_t *attrs);
/* Default attribute values of a new queue. */
json_t *sqs_attrs_defaults(int fifo);
/* Recomputes the cached fields of q from q->attrs. */
void sqs_queue_apply_attrs(sqs_queue *q);
/* Whether `name` is an attribute name GetQueueAttributes knows. */
int sqs_attr_name_known(const char *name);

/* ---- messages (sqs_message.c, sqs_receive.c) ---------------------------------------- */
void sqs_wake_waiters(sqs_queue *q, size_t hint);
void sqs_arm_wake_timer(sqs_queue *q, int64_t at_ms);
void sqs_cancel_waiters(sqs_queue *q); /* replies empty to every parked receiver */
/* Wakes up to hint parked consumers (sqs_consumer.c): they claim again. */
void sqs_consumers_wake(sqs_queue *q, size_t hint);
void sqs_attempts_free(sqs_queue *q);

/* ---- receipt handles (sqs_receipt.c) ------------------------------------------------ */
void sqs_receipt_encode(const unsigned char secret[32], int64_t queue_id, int64_t seq,
                        int64_t token, char *out, size_t cap);
int sqs_receipt_decode(const unsigned char secret[32], const char *handle, int64_t *queue_id,
                       int64_t *seq, int64_t *token);

/* ---- move tasks (sqs_move.c) -------------------------------------------------------- */
void sqs_move_restore(const store_move_task *t, void *arg);
void sqs_move_free_all(sqs *s);

/* ---- handlers ----------------------------------------------------------------------- */
void sqs_create_queue(aws_call *call);
void sqs_get_queue_url(aws_call *call);
void sqs_list_queues(aws_call *call);
void sqs_delete_queue(aws_call *call);
void sqs_get_queue_attributes(aws_call *call);
void sqs_set_queue_attributes(aws_call *call);
void sqs_purge_queue(aws_call *call);
void sqs_tag_queue(aws_call *call);
void sqs_untag_queue(aws_call *call);
void sqs_list_queue_tags(aws_call *call);
void sqs_list_dead_letter_source_queues(aws_call *call);
void sqs_add_permission(aws_call *call);
void sqs_remove_permission(aws_call *call);
void sqs_send_message(aws_call *call);
void sqs_send_message_batch(aws_call *call);
void sqs_receive_message(aws_call *call);
void sqs_delete_message(aws_call *call);
void sqs_delete_message_batch(aws_call *call);
void sqs_change_message_visibility(aws_call *call);
void sqs_change_message_visibility_batch(aws_call *call);
void sqs_start_message_move_task(aws_call *call);
void sqs_cancel_message_move_task(aws_call *call);
void sqs_list_message_move_tasks(aws_call *call);

/* ---- input helpers (sqs_service.c) -------------------------------------------------- */
static inline sqs *sqs_of(const aws_call *call)
{
    return (sqs *)call->service->ctx;
}
/* String member of the input, or NULL. */
const char *sqs_str(const aws_call *call, const char *name);
/* Integer member: returns 0 and *out (default `def` when absent) or replies
 * InvalidParameterValue when out of [min, max] or not an integer, and returns -1. */
int sqs_int(aws_call *call, const char *name, int64_t def, int64_t min, int64_t max,
            const char *reason, int64_t *out);
/* Validates a batch's Entries list (present, 1..10, distinct valid Ids); replies and
 * returns NULL on error. */
json_t *sqs_batch_entries(aws_call *call);
/* Whether the array of names lists `name` or "All" (AttributeNames and the like). */
int sqs_name_listed(const json_t *names, const char *name);
/* Sets o[k] to v as a decimal string, as SQS writes numeric attributes. */
void sqs_put_int_string(json_t *o, const char *k, int64_t v);
/* A batch's per-entry failure object. */
json_t *sqs_batch_failure(const char *id, const char *code, int sender_fault, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
