/* ReceiveMessage and long polling.
 *
 * A receive is a claim submitted to the store (which picks, marks and returns the messages
 * inside the batch transaction). If the claim finds nothing and the call may wait, its
 * waiter is parked on the queue. Parked waiters are claimed again when something can have
 * become visible: a send to the queue committed (the number of waiters woken is the number
 * of new visible messages), a visibility change committed, a move task moved messages in,
 * or the queue's wake timer fired at the earliest future visibility the store reported
 * (delayed messages, visibility timeouts). Each waiter also has its own deadline timer.
 * Nothing polls.
 *
 * FIFO queues remember, for 5 minutes, what each ReceiveRequestAttemptId received (message
 * and receipt token, at most SQS_MAX_BATCH each): a retry with the same id gets the same
 * messages and receipt handles again if none of them changed since (STORE_SQS_RECLAIM),
 * else a normal receive. At most MAX_ATTEMPTS ids per queue are kept. */
#include "services/sqs/sqs_internal.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "services/sqs/sqs_md5.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define MAX_ATTEMPTS 1000

struct sqs_attempt {
    char *id;
    int64_t expires_ms;
    size_t n;
    int64_t seqs[SQS_MAX_BATCH];
    int64_t tokens[SQS_MAX_BATCH];
    sqs_attempt *next;
};

struct sqs_waiter {
    store_op op; /* first: the op's done callback finds the waiter */
    aws_call *call;
    sqs_queue *q;
    int max;
    int64_t visibility_ms;
    int64_t deadline_ms;
    json_t *sys_names;  /* requested system attribute names (array), or NULL */
    json_t *attr_names; /* requested message attribute names (array), or NULL */
    char *attempt_id;   /* FIFO ReceiveRequestAttemptId, or NULL */
    uv_timer_t timer;
    int timer_started;
    int parked;
    int claiming;
    sqs_waiter *next, *prev;
};

static void claim(sqs_waiter *w);

/* ---- waiter lifecycle --------------------------------------------------------------- */

static void waiter_free(uv_handle_t *h)
{
    sqs_waiter *w = h->data;
    xfree(w->attempt_id);
    json_decref(w->sys_names);
    json_decref(w->attr_names);
    xfree(w);
}

static void unpark(sqs_waiter *w)
{
    if (!w->parked)
        return;
    sqs_queue *q = w->q;
    if (w->prev)
        w->prev->next = w->next;
    else
        q->waiters = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        q->waiters_tail = w->prev;
    w->next = w->prev = NULL;
    w->parked = 0;
}

/* Replies (taking `out`) and releases the waiter. */
static void finish(sqs_waiter *w, json_t *out)
{
    unpark(w);
    aws_reply(w->call, out);
    w->call = NULL;
    sqs_queue_unref(w->q);
    uv_timer_stop(&w->timer);
    uv_close((uv_handle_t *)&w->timer, waiter_free);
}

static void finish_empty(sqs_waiter *w)
{
    finish(w, json_object());
}

static void park(sqs_waiter *w)
{
    sqs_queue *q = w->q;
    w->parked = 1;
    w->prev = q->waiters_tail;
    w->next = NULL;
    if (q->waiters_tail)
        q->waiters_tail->next = w;
    else
        q->waiters = w;
    q->waiters_tail = w;
}

static void on_deadline(uv_timer_t *t)
{
    sqs_waiter *w = t->data;
    if (w->parked)
        finish_empty(w);
    /* A claim in progress sees the deadline passed when it completes. */
}

/* ---- waking ------------------------------------------------------------------------- */

void sqs_wake_waiters(sqs_queue *q, size_t hint)
{
    sqs_consumers_wake(q, hint);
    while (q->waiters && hint > 0) {
        sqs_waiter *w = q->waiters;
        unpark(w);
        if (aws_call_is_cancelled(w->call))
            finish_empty(w);
        else
            claim(w);
        hint--;
    }
}

static void on_wake_timer(uv_timer_t *t)
{
    sqs_queue *q = t->data;
    q->wake_at_ms = 0;
    sqs_wake_waiters(q, SIZE_MAX);
}

void sqs_arm_wake_timer(sqs_queue *q, int64_t at_ms)
{
    if (q->wake_at_ms && q->wake_at_ms <= at_ms)
        return;
    int64_t now = clock_now_ms();
    q->wake_at_ms = at_ms;
    uv_timer_start(&q->wake_timer, on_wake_timer, at_ms > now ? (uint64_t)(at_ms - now) : 0, 0);
}

void sqs_cancel_waiters(sqs_queue *q)
{
    sqs_consumers_wake(q, SIZE_MAX); /* they see the queue deleted or the server stopping */
    while (q->waiters)
        finish_empty(q->waiters);
}

/* ---- building the reply ------------------------------------------------------------- */

/* Message attribute filters: "All", ".*", "prefix.*" or an exact name. */
static int attr_requested(const json_t *names, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v)
    {
        const char *n = json_string_value(v);
        if (!n)
            continue;
        size_t len = strlen(n);
        if (strcmp(n, "All") == 0 || strcmp(n, ".*") == 0 || strcmp(n, name) == 0)
            return 1;
        if (len > 2 && strcmp(n + len - 2, ".*") == 0 && strncmp(name, n, len - 1) == 0)
            return 1;
    }
    return 0;
}

static json_t *message_json(sqs_waiter *w, const store_message *m)
{
    sqs *s = w->q->svc;
    char handle[128];
    sqs_receipt_encode(store_secret(s->store), w->q->id, m->seq, m->receipt_token, handle,
                       sizeof handle);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s%}", "MessageId", m->message_id, "ReceiptHandle",
                          handle, "MD5OfBody", m->md5_body, "Body", m->body, m->body_len);
    if (w->sys_names) {
        json_t *a = json_object();
        const json_t *n = w->sys_names;
        if (sqs_name_listed(n, "SenderId") && m->sender_id)
            json_object_set_new(a, "SenderId", json_string(m->sender_id));
        if (sqs_name_listed(n, "SentTimestamp"))
            sqs_put_int_string(a, "SentTimestamp", m->sent_ms);
        if (sqs_name_listed(n, "ApproximateReceiveCount"))
            sqs_put_int_string(a, "ApproximateReceiveCount", m->receive_count);
        if (sqs_name_listed(n, "ApproximateFirstReceiveTimestamp"))
            sqs_put_int_string(a, "ApproximateFirstReceiveTimestamp", m->first_receive_ms);
        if (m->group_id && sqs_name_listed(n, "MessageGroupId"))
            json_object_set_new(a, "MessageGroupId", json_string(m->group_id));
        if (m->dedup_id && sqs_name_listed(n, "MessageDeduplicationId"))
            json_object_set_new(a, "MessageDeduplicationId", json_string(m->dedup_id));
        if (m->group_id && sqs_name_listed(n, "SequenceNumber")) {
            char seq[32];
            snprintf(seq, sizeof seq, "%020lld", (long long)m->sequence_number);
            json_object_set_new(a, "SequenceNumber", json_string(seq));
        }
        if (m->sys_attrs_json && sqs_name_listed(n, "AWSTraceHeader")) {
            json_t *sys = json_loads(m->sys_attrs_json, 0, NULL);
            json_t *th = json_object_get(json_object_get(sys, "AWSTraceHeader"), "StringValue");
            if (json_is_string(th))
                json_object_set(a, "AWSTraceHeader", th);
            json_decref(sys);
        }
        if (m->dlq_source_id && sqs_name_listed(n, "DeadLetterQueueSourceArn")) {
            /* The source queue may have been deleted since: then the attribute is omitted. */
            sqs_queue *src = sqs_queue_by_id(s, m->dlq_source_id);
            if (src) {
                char arn[256];
                sqs_queue_arn(s, src->name, arn, sizeof arn);
                json_object_set_new(a, "DeadLetterQueueSourceArn", json_string(arn));
            }
        }
        if (json_object_size(a))
            json_object_set_new(o, "Attributes", a);
        else
            json_decref(a);
    }
    if (w->attr_names && m->attrs_json) {
        json_t *all = json_loads(m->attrs_json, 0, NULL);
        json_t *sel = json_object();
        const char *k;
        json_t *v;
        json_object_foreach(all, k, v)
        {
            if (attr_requested(w->attr_names, k))
                json_object_set(sel, k, v);
        }
        if (json_object_size(sel) > 0) {
            char md5[33];
            if (json_object_size(sel) == json_object_size(all))
                snprintf(md5, sizeof md5, "%s", m->md5_attrs);
            else
                sqs_md5_message_attributes(sel, md5);
            json_object_set_new(o, "MD5OfMessageAttributes", json_string(md5));
            json_object_set_new(o, "MessageAttributes", sel);
        } else {
            json_decref(sel);
        }
        json_decref(all);
    }
    return o;
}

/* ---- receive attempts (FIFO) -------------------------------------------------------- */

static int valid_attempt_id(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 128)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (id[i] < 0x21 || id[i] > 0x7e)
            return 0;
    return 1;
}

void sqs_attempts_free(sqs_queue *q)
{
    while (q->attempts) {
        sqs_attempt *a = q->attempts;
        q->attempts = a->next;
        xfree(a->id);
        xfree(a);
    }
}

/* The live attempt `id` of q, dropping expired ones on the way. */
static sqs_attempt *attempt_find(sqs_queue *q, const char *id, int64_t now)
{
    sqs_attempt **pp = &q->attempts, *found = NULL;
    size_t kept = 0;
    while (*pp) {
        sqs_attempt *a = *pp;
        if (a->expires_ms <= now || kept >= MAX_ATTEMPTS) {
            *pp = a->next;
            xfree(a->id);
            xfree(a);
            continue;
        }
        if (strcmp(a->id, id) == 0)
            found = a;
        kept++;
        pp = &a->next;
    }
    return found;
}

static void attempt_record(sqs_queue *q, const char *id, const store_message *msgs, size_t n)
{
    int64_t now = clock_now_ms();
    sqs_attempt *a = attempt_find(q, id, now);
    if (!a) {
        a = xcalloc(1, sizeof *a);
        a->id = xstrdup(id);
        a->next = q->attempts;
        q->attempts = a;
    }
    a->expires_ms = now + SQS_DEDUP_WINDOW_MS;
    a->n = n < SQS_MAX_BATCH ? n : SQS_MAX_BATCH;
    for (size_t i = 0; i < a->n; i++) {
        a->seqs[i] = msgs[i].seq;
        a->tokens[i] = msgs[i].receipt_token;
    }
}

/* ---- claiming ----------------------------------------------------------------------- */

static void claim_done(store_op *op)
{
    sqs_waiter *w = (sqs_waiter *)op;
    sqs_queue *q = w->q;
    w->claiming = 0;
    if (op->status != 0) {
        store_op_clear(op);
        aws_reply_error(w->call, AWS_ERR_INTERNAL_ERROR, "The store could not commit the claim.");
        w->call = NULL;
        sqs_queue_unref(q);
        uv_timer_stop(&w->timer);
        uv_close((uv_handle_t *)&w->timer, waiter_free);
        return;
    }
    if (op->kind == STORE_SQS_RECLAIM && !op->u.receive.reclaimed) {
        store_op_clear(op);
        claim(w); /* the first attempt's messages changed: a normal receive */
        return;
    }
    if (op->u.receive.nmsgs > 0) {
        if (w->attempt_id)
            attempt_record(q, w->attempt_id, op->u.receive.msgs, op->u.receive.nmsgs);
        json_t *list = json_array();
        for (size_t i = 0; i < op->u.receive.nmsgs; i++)
            json_array_append_new(list, message_json(w, &op->u.receive.msgs[i]));
        store_op_clear(op);
        finish(w, json_pack("{s:o}", "Messages", list));
        return;
    }
    int64_t next = op->u.receive.next_visible_ms;
    store_op_clear(op);
    int64_t now = clock_now_ms();
    if (now >= w->deadline_ms || q->deleted || q->svc->stopping || aws_call_is_cancelled(w->call)) {
        finish_empty(w);
        return;
    }
    park(w);
    if (!w->timer_started) {
        w->timer_started = 1;
        uv_timer_start(&w->timer, on_deadline, (uint64_t)(w->deadline_ms - now), 0);
    }
    if (next)
        sqs_arm_wake_timer(q, next);
}

static void claim(sqs_waiter *w)
{
    sqs_queue *q = w->q;
    sqs *s = q->svc;
    store_op *op = &w->op;
    memset(op, 0, sizeof *op);
    op->kind = STORE_SQS_RECEIVE;
    op->now_ms = clock_now_ms();
    op->done = claim_done;
    op->u.receive.queue_id = q->id;
    op->u.receive.fifo = q->fifo;
    op->u.receive.max = w->max;
    op->u.receive.visibility_ms = w->visibility_ms;
    op->u.receive.retention_ms = q->retention_s * 1000;
    if (q->max_receive_count > 0 && q->dlq_name) {
        sqs_queue *dlq = sqs_queue_find(s, q->dlq_name);
        if (dlq && dlq != q) {
            op->u.receive.max_receive_count = q->max_receive_count;
            op->u.receive.dlq_id = dlq->id;
        }
    }
    w->claiming = 1;
    store_submit(s->store, op);
}

/* ---- ReceiveMessage ----------------------------------------------------------------- */

static json_t *merged_names(const json_t *a, const json_t *b)
{
    if (!json_is_array(a) && !json_is_array(b))
        return NULL;
    json_t *out = json_array();
    if (json_is_array(a))
        json_array_extend(out, (json_t *)a);
    if (json_is_array(b))
        json_array_extend(out, (json_t *)b);
    return out;
}

void sqs_receive_message(aws_call *call)
{
    sqs_queue *q = sqs_queue_from_call(call);
    if (!q)
        return;
    int64_t max, vis, wait;
    if (sqs_int(call, "MaxNumberOfMessages", 1, 1, 10, "Must be between 1 and 10, if provided",
                &max) != 0 ||
        sqs_int(call, "VisibilityTimeout", q->visibility_timeout, 0, 43200,
                "Must be between 0 and 43200, if provided", &vis) != 0 ||
        sqs_int(call, "WaitTimeSeconds", q->wait_seconds, 0, 20,
                "Must be >= 0 and <= 20, if provided", &wait) != 0)
        return;
    sqs_waiter *w = xcalloc(1, sizeof *w);
    w->call = call;
    w->q = q;
    sqs_queue_ref(q);
    w->max = (int)max;
    w->visibility_ms = vis * 1000;
    w->deadline_ms = clock_now_ms() + wait * 1000;
    w->sys_names = merged_names(json_object_get(call->input, "AttributeNames"),
                                json_object_get(call->input, "MessageSystemAttributeNames"));
    json_t *an = json_object_get(call->input, "MessageAttributeNames");
    w->attr_names = json_is_array(an) ? json_incref(an) : NULL;
    uv_timer_init(q->svc->loop, &w->timer);
    w->timer.data = w;
    const char *attempt = sqs_str(call, "ReceiveRequestAttemptId");
    if (attempt && !valid_attempt_id(attempt)) {
        aws_reply_error(call, AWS_ERR_INVALID_PARAMETER_VALUE,
                        "Value %.200s for parameter ReceiveRequestAttemptId is invalid. Reason: "
                        "ReceiveRequestAttemptId can only include alphanumeric and punctuation "
                        "characters. 1 to 128 in length.",
                        attempt);
        json_decref(w->sys_names);
        json_decref(w->attr_names);
        w->sys_names = w->attr_names = NULL;
        w->call = NULL;
        sqs_queue_unref(q);
        uv_close((uv_handle_t *)&w->timer, waiter_free);
        return;
    }
    if (attempt && q->fifo) {
        w->attempt_id = xstrdup(attempt);
        sqs_attempt *a = attempt_find(q, attempt, clock_now_ms());
        if (a && a->n > 0) {
            store_op *op = &w->op;
            memset(op, 0, sizeof *op);
            op->kind = STORE_SQS_RECLAIM;
            op->now_ms = clock_now_ms();
            op->done = claim_done;
            op->u.receive.queue_id = q->id;
            op->u.receive.visibility_ms = w->visibility_ms;
            op->u.receive.nreclaim = a->n;
            memcpy(op->u.receive.reclaim_seqs, a->seqs, a->n * sizeof(int64_t));
            memcpy(op->u.receive.reclaim_tokens, a->tokens, a->n * sizeof(int64_t));
            w->claiming = 1;
            store_submit(q->svc->store, op);
            return;
        }
    }
    claim(w);
}
