/* The SQS service: its operation table, lifecycle, the retention sweep, and the input
 * helpers its handlers share. */
#include "services/sqs/sqs_internal.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SWEEP_INTERVAL_MS 5000

static const aws_op_def sqs_ops[] = {
    {"AddPermission", sqs_add_permission},
    {"CancelMessageMoveTask", sqs_cancel_message_move_task},
    {"ChangeMessageVisibility", sqs_change_message_visibility},
    {"ChangeMessageVisibilityBatch", sqs_change_message_visibility_batch},
    {"CreateQueue", sqs_create_queue},
    {"DeleteMessage", sqs_delete_message},
    {"DeleteMessageBatch", sqs_delete_message_batch},
    {"DeleteQueue", sqs_delete_queue},
    {"GetQueueAttributes", sqs_get_queue_attributes},
    {"GetQueueUrl", sqs_get_queue_url},
    {"ListDeadLetterSourceQueues", sqs_list_dead_letter_source_queues},
    {"ListMessageMoveTasks", sqs_list_message_move_tasks},
    {"ListQueueTags", sqs_list_queue_tags},
    {"ListQueues", sqs_list_queues},
    {"PurgeQueue", sqs_purge_queue},
    {"ReceiveMessage", sqs_receive_message},
    {"RemovePermission", sqs_remove_permission},
    {"SendMessage", sqs_send_message},
    {"SendMessageBatch", sqs_send_message_batch},
    {"SetQueueAttributes", sqs_set_queue_attributes},
    {"StartMessageMoveTask", sqs_start_message_move_task},
    {"TagQueue", sqs_tag_queue},
    {"UntagQueue", sqs_untag_queue},
};

/* ---- retention sweep ---------------------------------------------------------------- */

static void sweep_done(store_op *op)
{
    sqs *s = op->ctx;
    s->sweep_running = 0;
    if (op->status == 0 && op->u.expire.deleted > 0)
        log_debug("sqs retention sweep", "deleted=%lld", (long long)op->u.expire.deleted);
    xfree(op->u.expire.queue_ids);
    xfree(op->u.expire.retention_ms);
    xfree(op);
}

static void on_sweep(uv_timer_t *t)
{
    sqs *s = t->data;
    if (s->sweep_running || s->stopping)
        return;
    /* Names deleted more than a minute ago may be used again: forget them. */
    const char *name;
    json_t *when, *tmp;
    int64_t now = clock_now_ms();
    json_object_foreach_safe(s->deleted_names, tmp, name, when)
    {
        if (now - json_integer_value(when) >= SQS_RECREATE_DELAY_MS)
            json_object_del(s->deleted_names, name);
    }
    store_op *op = xcalloc(1, sizeof *op);
    op->kind = STORE_SQS_EXPIRE;
    op->now_ms = clock_now_ms();
    op->done = sweep_done;
    op->ctx = s;
    op->u.expire.dedup_before_ms = op->now_ms;
    op->u.expire.queue_ids = xcalloc(s->nqueues + 1, sizeof(int64_t));
    op->u.expire.retention_ms = xcalloc(s->nqueues + 1, sizeof(int64_t));
    for (size_t b = 0; b < s->nbuckets; b++) {
        for (sqs_queue *q = s->buckets[b]; q; q = q->hnext) {
            size_t i = op->u.expire.n++;
            op->u.expire.queue_ids[i] = q->id;
            op->u.expire.retention_ms[i] = q->retention_s * 1000;
        }
    }
    s->sweep_running = 1;
    store_submit(s->store, op);
}

/* ---- lifecycle ---------------------------------------------------------------------- */

int sqs_create(sqs **out, uv_loop_t *loop, store *st, const char *region, const char *account)
{
    sqs *s = xcalloc(1, sizeof *s);
    s->def.model = &model_sqs;
    s->def.json_protocol = AWS_PROTO_JSON_1_0;
    s->def.query_compatible = 1;
    s->def.ops = sqs_ops;
    s->def.nops = sizeof sqs_ops / sizeof sqs_ops[0];
    s->def.ctx = s;
    s->loop = loop;
    s->store = st;
    s->region = region;
    s->account = account;
    s->nbuckets = 256;
    s->buckets = xcalloc(s->nbuckets, sizeof *s->buckets);
    s->next_queue_id = 1;
    s->deleted_names = json_object();
    if (store_load_sqs_queues(st, sqs_queue_restore, s) != 0 ||
        store_load_sqs_move_tasks(st, sqs_move_restore, s) != 0) {
        sqs_destroy(s);
        *out = NULL;
        return -1;
    }
    uv_timer_init(loop, &s->sweep_timer);
    s->sweep_timer.data = s;
    uv_timer_start(&s->sweep_timer, on_sweep, SWEEP_INTERVAL_MS, SWEEP_INTERVAL_MS);
    log_info("sqs ready", "queues=%zu", s->nqueues);
    *out = s;
    return 0;
}

const aws_service_def *sqs_service_def(const sqs *s)
{
    return &s->def;
}

void sqs_shutdown(sqs *s)
{
    if (!s)
        return;
    s->stopping = 1;
    uv_timer_stop(&s->sweep_timer);
    for (size_t b = 0; b < s->nbuckets; b++)
        for (sqs_queue *q = s->buckets[b]; q; q = q->hnext)
            sqs_cancel_waiters(q);
}

static void free_self(uv_handle_t *h)
{
    sqs *s = h->data;
    json_decref(s->deleted_names);
    xfree(s->buckets);
    xfree(s);
}

void sqs_destroy(sqs *s)
{
    if (!s)
        return;
    sqs_move_free_all(s);
    sqs_queue_free_all(s);
    if (uv_is_active((uv_handle_t *)&s->sweep_timer) || s->sweep_timer.loop) {
        uv_close((uv_handle_t *)&s->sweep_timer, free_self);
    } else {
        json_decref(s->deleted_names);
        xfree(s->buckets);
        xfree(s);
    }
}

/* ---- input helpers ------------------------------------------------------------------ */

const char *sqs_str(const aws_call *call, const char *name)
{
    json_t *v = json_object_get(call->input, name);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

int sqs_int(aws_call *call, const char *name, int64_t def, int64_t min, int64_t max,
            const char *reason, int64_t *out)
{
    json_t *v = json_object_get(call->input, name);
    if (!v || json_is_null(v)) {
        *out = def;
        return 0;
    }
    int64_t n;
    if (json_is_integer(v)) {
        n = json_integer_value(v);
    } else if (json_is_string(v)) {
        char *end;
        errno = 0;
        long long x = strtoll(json_string_value(v), &end, 10);
        if (errno || *end || end == json_string_value(v)) {
            aws_reply_error(call, AWS_ERR_INVALID_PARAMETER_VALUE,
                            "Value %s for parameter %s is invalid. Reason: %s.",
                            json_string_value(v), name, reason);
            return -1;
        }
        n = x;
    } else {
        aws_reply_error(call, AWS_ERR_INVALID_PARAMETER_VALUE,
                        "Value for parameter %s is invalid. Reason: %s.", name, reason);
        return -1;
    }
    if (n < min || n > max) {
        aws_reply_error(call, AWS_ERR_INVALID_PARAMETER_VALUE,
                        "Value %lld for parameter %s is invalid. Reason: %s.", (long long)n, name,
                        reason);
        return -1;
    }
    *out = n;
    return 0;
}

json_t *sqs_batch_entries(aws_call *call)
{
    json_t *entries = json_object_get(call->input, "Entries");
    if (!entries || !json_is_array(entries) || json_array_size(entries) == 0) {
        aws_reply_error(
            call, AWS_ERR_SQS_EMPTY_BATCH_REQUEST,
            "There should be at least one %s in the request.",
            call->op->name && strstr(call->op->name, "Send") ? "SendMessageBatchRequestEntry"
            : strstr(call->op->name, "Delete")               ? "DeleteMessageBatchRequestEntry"
                                               : "ChangeMessageVisibilityBatchRequestEntry");
        return NULL;
    }
    if (json_array_size(entries) > SQS_MAX_BATCH) {
        aws_reply_error(call, AWS_ERR_SQS_TOO_MANY_ENTRIES_IN_BATCH_REQUEST,
                        "Maximum number of entries per request are %d. You have sent %zu.",
                        SQS_MAX_BATCH, json_array_size(entries));
        return NULL;
    }
    size_t n = json_array_size(entries);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(entries, i);
        const char *id = json_string_value(json_object_get(e, "Id"));
        if (!json_is_object(e) || !id) {
            aws_reply_error(call, AWS_ERR_MISSING_PARAMETER,
                            "The request must contain the parameter Id.");
            return NULL;
        }
        if (!aws_valid_batch_entry_id(id)) {
            aws_reply_error(call, AWS_ERR_SQS_INVALID_BATCH_ENTRY_ID,
                            "A batch entry id can only contain alphanumeric characters, hyphens "
                            "and underscores. It can be at most 80 letters long.");
            return NULL;
        }
        for (size_t j = 0; j < i; j++) {
            const char *other =
                json_string_value(json_object_get(json_array_get(entries, j), "Id"));
            if (other && strcmp(other, id) == 0) {
                aws_reply_error(call, AWS_ERR_SQS_BATCH_ENTRY_IDS_NOT_DISTINCT, "Id %s repeated.",
                                id);
                return NULL;
            }
        }
    }
    return entries;
}

int sqs_name_listed(const json_t *names, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v)
    {
        const char *n = json_string_value(v);
        if (n && (strcmp(n, "All") == 0 || strcmp(n, name) == 0))
            return 1;
    }
    return 0;
}

void sqs_put_int_string(json_t *o, const char *k, int64_t v)
{
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%lld", (long long)v);
    json_object_set_new(o, k, json_string(tmp));
}

json_t *sqs_batch_failure(const char *id, const char *code, int sender_fault, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return json_pack("{s:s, s:b, s:s, s:s}", "Id", id, "SenderFault", sender_fault, "Code", code,
                     "Message", msg);
}
