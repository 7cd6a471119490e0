/* Message move tasks (StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask):
 * redrive messages from a dead-letter queue back to their source queues (or to a given
 * destination) at a bounded rate.
 *
 * A running task ticks every 100 ms and moves at most rate/10 messages per tick in one store
 * op, which also records the task's progress: after a restart the task resumes where the
 * last committed tick left it. At most one store op per task is in flight. */
#include "services/sqs/sqs_internal.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/log.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#define TICK_MS      100
#define DEFAULT_RATE 1000 /* "system optimised" when no rate is given */
#define MAX_RATE     500

struct sqs_move {
    store_move_task t;
    sqs *s;
    uv_timer_t timer;
    int busy;
    sqs_move *next;
};

typedef struct move_op {
    store_op op;
    sqs_move *m;
    aws_call *call; /* the call answered when this op commits, or NULL */
} move_op;

static void tick(uv_timer_t *t);

static int running(const sqs_move *m)
{
    return strcmp(m->t.status, "RUNNING") == 0;
}

static sqs_move *move_new(sqs *s, const store_move_task *t)
{
    sqs_move *m = xcalloc(1, sizeof *m);
    m->t = *t;
    m->s = s;
    uv_timer_init(s->loop, &m->timer);
    m->timer.data = m;
    m->next = s->moves;
    s->moves = m;
    return m;
}

static void start_ticking(sqs_move *m)
{
    uv_timer_start(&m->timer, tick, TICK_MS, TICK_MS);
}

void sqs_move_restore(const store_move_task *t, void *arg)
{
    sqs_move *m = move_new(arg, t);
    if (running(m))
        start_ticking(m);
}

static void free_move(uv_handle_t *h)
{
    xfree(h->data);
}

void sqs_move_free_all(sqs *s)
{
    sqs_move *m = s->moves;
    while (m) {
        sqs_move *next = m->next;
        uv_timer_stop(&m->timer);
        uv_close((uv_handle_t *)&m->timer, free_move);
        m = next;
    }
    s->moves = NULL;
}

static sqs_move *find_move(sqs *s, const char *handle)
{
    for (sqs_move *m = s->moves; m; m = m->next)
        if (strcmp(m->t.handle, handle) == 0)
            return m;
    return NULL;
}

/* Task handles are, as on AWS, base64 of {"taskId": ..., "sourceArn": ...}. */
static void make_handle(const char *source_arn, char *out, size_t cap)
{
    char id[37], json[400];
    ids_uuid4(id);
    int n = snprintf(json, sizeof json, "{\"taskId\":\"%s\",\"sourceArn\":\"%s\"}", id, source_arn);
    if (n < 0 || (size_t)n >= sizeof json || (size_t)(4 * ((n + 2) / 3) + 1) > cap) {
        snprintf(out, cap, "%s", id);
        return;
    }
    EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)json, n);
}

static int handle_well_formed(const char *handle)
{
    size_t n = strlen(handle);
    if (n == 0 || n % 4 != 0 || n > 600)
        return 0;
    unsigned char raw[600];
    int len = EVP_DecodeBlock(raw, (const unsigned char *)handle, (int)n);
    if (len <= 0)
        return 0;
    raw[len] = '\0';
    json_t *j = json_loads((const char *)raw, JSON_DISABLE_EOF_CHECK, NULL);
    int ok = json_is_string(json_object_get(j, "taskId")) &&
             json_is_string(json_object_get(j, "sourceArn"));
    json_decref(j);
    return ok;
}

/* ---- ticking ------------------------------------------------------------------------ */

static void step_done(store_op *op)
{
    move_op *mo = (move_op *)op;
    sqs_move *m = mo->m;
    sqs *s = m->s;
    m->busy = 0;
    if (op->status == 0) {
        m->t.moved = op->u.move.task.moved;
        m->t.to_move = op->u.move.task.to_move;
        if (running(m))
            snprintf(m->t.status, sizeof m->t.status, "%s", op->u.move.task.status);
        for (size_t i = 0; i < op->u.move.ndest; i++) {
            sqs_queue *q = sqs_queue_by_id(s, op->u.move.dest_ids[i]);
            if (q)
                sqs_wake_waiters(q, (size_t)op->u.move.moved);
        }
        if (!running(m)) {
            uv_timer_stop(&m->timer);
            log_info("message move task finished", "handle=%s status=%s moved=%lld", m->t.handle,
                     m->t.status, (long long)m->t.moved);
        }
    }
    store_op_clear(op);
    xfree(mo);
}

static void tick(uv_timer_t *t)
{
    sqs_move *m = t->data;
    if (m->busy || !running(m) || m->s->stopping)
        return;
    int rate = m->t.rate > 0 ? m->t.rate : DEFAULT_RATE;
    move_op *mo = xcalloc(1, sizeof *mo);
    mo->m = m;
    mo->op.kind = STORE_SQS_MOVE;
    mo->op.now_ms = clock_now_ms();
    mo->op.done = step_done;
    mo->op.u.move.task = m->t;
    mo->op.u.move.max = rate * TICK_MS / 1000 > 0 ? rate * TICK_MS / 1000 : 1;
    m->busy = 1;
    store_submit(m->s->store, &mo->op);
}

/* ---- StartMessageMoveTask ----------------------------------------------------------- */

static void put_done(store_op *op)
{
    move_op *mo = (move_op *)op;
    sqs_move *m = mo->m;
    if (op->status != 0) {
        aws_reply_error(mo->call, AWS_ERR_INTERNAL_ERROR, "The store could not commit the task.");
    } else if (op->kind == STORE_SQS_MOVE_TASK_PUT &&
               strcmp(op->u.move_task.status, "CANCELLED") == 0) {
        aws_reply(mo->call,
                  json_pack("{s:I}", "ApproximateNumberOfMessagesMoved", (json_int_t)m->t.moved));
    } else {
        aws_reply(mo->call, json_pack("{s:s}", "TaskHandle", m->t.handle));
    }
    xfree(mo);
}

static void counted(store_op *op)
{
    move_op *mo = (move_op *)op;
    sqs_move *m = mo->m;
    if (op->status != 0) {
        aws_reply_error(mo->call, AWS_ERR_INTERNAL_ERROR, "The store could not be read.");
        snprintf(m->t.status, sizeof m->t.status, "FAILED");
        snprintf(m->t.failure, sizeof m->t.failure, "The store could not be read.");
        xfree(mo);
        return;
    }
    m->t.to_move = op->u.count_source.count;
    if (m->t.to_move == 0)
        snprintf(m->t.status, sizeof m->t.status, "COMPLETED");
    memset(&mo->op, 0, sizeof mo->op);
    mo->op.kind = STORE_SQS_MOVE_TASK_PUT;
    mo->op.now_ms = clock_now_ms();
    mo->op.done = put_done;
    mo->op.u.move_task = m->t;
    if (running(m))
        start_ticking(m);
    store_submit(m->s->store, &mo->op);
}

/* The queue a task's SourceArn names; replies the error and returns NULL if there is none. */
static sqs_queue *source_queue(aws_call *call, const char *arn)
{
    if (!arn) {
        aws_reply_error(call, AWS_ERR_MISSING_PARAMETER,
                        "The request must contain the parameter SourceArn.");
        return NULL;
    }
    sqs_queue *q = sqs_queue_from_arn(sqs_of(call), arn);
    if (!q)
        aws_reply_error(call, AWS_ERR_SQS_RESOURCE_NOT_FOUND,
                        "The resource that you specified for the SourceArn parameter doesn't "
                        "exist.");
    return q;
}

static int is_dead_letter_queue(sqs *s, const sqs_queue *dlq)
{
    for (size_t b = 0; b < s->nbuckets; b++)
        for (sqs_queue *q = s->buckets[b]; q; q = q->hnext)
            if (q->dlq_name && strcmp(q->dlq_name, dlq->name) == 0)
                return 1;
    return 0;
}

void sqs_start_message_move_task(aws_call *call)
{
    sqs *s = sqs_of(call);
    const char *src_arn = sqs_str(call, "SourceArn");
    const char *dst_arn = sqs_str(call, "DestinationArn");
    sqs_queue *src = source_queue(call, src_arn);
    if (!src)
        return;
    sqs_queue *dst = NULL;
    if (dst_arn) {
        dst = sqs_queue_from_arn(s, dst_arn);
        if (!dst) {
            aws_reply_error(call, AWS_ERR_SQS_RESOURCE_NOT_FOUND,
                            "The resource that you specified for the DestinationArn parameter "
                            "doesn't exist.");
            return;
        }
    }
    if (!is_dead_letter_queue(s, src)) {
        aws_reply_error(call, AWS_ERR_INVALID_PARAMETER_VALUE,
                        "Source queue must be configured as a Dead Letter Queue.");
        return;
    }
    int64_t rate;
    if (sqs_int(call, "MaxNumberOfMessagesPerSecond", 0, 1, MAX_RATE,
                "Must be between 1 and 500, if provided", &rate) != 0)
        return;
    for (sqs_move *m = s->moves; m; m = m->next) {
        if (m->t.source_id == src->id && running(m)) {
            aws_reply_error(call, AWS_ERR_INVALID_PARAMETER_VALUE,
                            "There is already a task running. Only one active task is allowed "
                            "for a source queue arn at a given time.");
            return;
        }
    }
    store_move_task t;
    memset(&t, 0, sizeof t);
    make_handle(src_arn, t.handle, sizeof t.handle);
    t.source_id = src->id;
    t.dest_id = dst ? dst->id : 0;
    snprintf(t.source_arn, sizeof t.source_arn, "%s", src_arn);
    snprintf(t.dest_arn, sizeof t.dest_arn, "%s", dst_arn ? dst_arn : "");
    t.rate = (int)rate;
    snprintf(t.status, sizeof t.status, "RUNNING");
    t.started_ms = clock_now_ms();
    sqs_move *m = move_new(s, &t);
    move_op *mo = xcalloc(1, sizeof *mo);
    mo->m = m;
    mo->call = call;
    mo->op.kind = STORE_SQS_COUNT_SOURCE;
    mo->op.now_ms = clock_now_ms();
    mo->op.done = counted;
    mo->op.u.count_source.queue_id = src->id;
    store_submit(s->store, &mo->op);
}

/* ---- CancelMessageMoveTask ---------------------------------------------------------- */

void sqs_cancel_message_move_task(aws_call *call)
{
    sqs *s = sqs_of(call);
    const char *handle = sqs_str(call, "TaskHandle");
    if (!handle) {
        aws_reply_error(call, AWS_ERR_MISSING_PARAMETER,
                        "The request must contain the parameter TaskHandle.");
        return;
    }
    if (!handle_well_formed(handle)) {
        aws_reply_error(call, AWS_ERR_INVALID_PARAMETER_VALUE,
                        "Value for parameter TaskHandle is invalid.");
        return;
    }
    sqs_move *m = find_move(s, handle);
    if (!m) {
        aws_reply_error(call, AWS_ERR_SQS_RESOURCE_NOT_FOUND, "Task does not exist.");
        return;
    }
    if (!running(m)) {
        aws_reply_error(call, AWS_ERR_SQS_UNSUPPORTED_OPERATION,
                        "Only active tasks can be cancelled.");
        return;
    }
    snprintf(m->t.status, sizeof m->t.status, "CANCELLED");
    uv_timer_stop(&m->timer);
    move_op *mo = xcalloc(1, sizeof *mo);
    mo->m = m;
    mo->call = call;
    mo->op.kind = STORE_SQS_MOVE_TASK_PUT;
    mo->op.now_ms = clock_now_ms();
    mo->op.done = put_done;
    mo->op.u.move_task = m->t;
    store_submit(s->store, &mo->op);
}

/* ---- ListMessageMoveTasks ----------------------------------------------------------- */

void sqs_list_message_move_tasks(aws_call *call)
{
    sqs *s = sqs_of(call);
    sqs_queue *src = source_queue(call, sqs_str(call, "SourceArn"));
    if (!src)
        return;
    int64_t max;
    if (sqs_int(call, "MaxResults", 1, 1, 10, "Must be between 1 and 10, if provided", &max) != 0)
        return;
    json_t *results = json_array();
    for (sqs_move *m = s->moves; m && (int64_t)json_array_size(results) < max; m = m->next) {
        if (m->t.source_id != src->id)
            continue;
        json_t *r =
            json_pack("{s:s, s:s, s:I, s:I, s:I}", "Status", m->t.status, "SourceArn",
                      m->t.source_arn, "ApproximateNumberOfMessagesMoved", (json_int_t)m->t.moved,
                      "ApproximateNumberOfMessagesToMove", (json_int_t)m->t.to_move,
                      "StartedTimestamp", (json_int_t)m->t.started_ms);
        if (running(m))
            json_object_set_new(r, "TaskHandle", json_string(m->t.handle));
        if (m->t.dest_arn[0])
            json_object_set_new(r, "DestinationArn", json_string(m->t.dest_arn));
        if (m->t.rate > 0)
            json_object_set_new(r, "MaxNumberOfMessagesPerSecond", json_integer(m->t.rate));
        if (m->t.failure[0])
            json_object_set_new(r, "FailureReason", json_string(m->t.failure));
        json_array_append_new(results, r);
    }
    aws_reply(call, json_pack("{s:o}", "Results", results));
}
