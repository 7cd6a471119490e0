/* Queues: the in-memory table of queues (by name), their URLs and ARNs, and the queue
 * handlers (create, get URL, list, delete, attributes, purge, tags, permissions). */
#include "services/sqs/sqs_internal.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the table ---------------------------------------------------------------------- */

static size_t hash(const char *s)
{
    size_t h = 1469598103934665603ULL;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
    return h;
}

sqs_queue *sqs_queue_find(sqs *s, const char *name)
{
    for (sqs_queue *q = s->buckets[hash(name) % s->nbuckets]; q; q = q->hnext)
        if (strcmp(q->name, name) == 0)
            return q;
    return NULL;
}

sqs_queue *sqs_queue_by_id(sqs *s, int64_t id)
{
    for (size_t b = 0; b < s->nbuckets; b++)
        for (sqs_queue *q = s->buckets[b]; q; q = q->hnext)
            if (q->id == id)
                return q;
    return NULL;
}

static void table_insert(sqs *s, sqs_queue *q)
{
    size_t b = hash(q->name) % s->nbuckets;
    q->hnext = s->buckets[b];
    s->buckets[b] = q;
    s->nqueues++;
}

static void table_remove(sqs *s, sqs_queue *q)
{
    sqs_queue **pp = &s->buckets[hash(q->name) % s->nbuckets];
    while (*pp && *pp != q)
        pp = &(*pp)->hnext;
    if (*pp) {
        *pp = q->hnext;
        s->nqueues--;
    }
}

static void queue_free(uv_handle_t *h)
{
    sqs_queue *q = h->data;
    sqs_attempts_free(q);
    xfree(q->name);
    xfree(q->dlq_name);
    json_decref(q->attrs);
    json_decref(q->tags);
    xfree(q);
}

static sqs_queue *queue_new(sqs *s, int64_t id, const char *name)
{
    sqs_queue *q = xcalloc(1, sizeof *q);
    q->id = id;
    q->name = xstrdup(name);
    size_t n = strlen(name);
    q->fifo = n > 5 && strcmp(name + n - 5, ".fifo") == 0;
    q->svc = s;
    q->refs = 1; /* the table's */
    uv_timer_init(s->loop, &q->wake_timer);
    q->wake_timer.data = q;
    if (id >= s->next_queue_id)
        s->next_queue_id = id + 1;
    return q;
}

void sqs_queue_ref(sqs_queue *q)
{
    q->refs++;
}

void sqs_queue_unref(sqs_queue *q)
{
    if (--q->refs == 0)
        uv_close((uv_handle_t *)&q->wake_timer, queue_free);
}

void sqs_queue_restore(const store_queue *sq, void *arg)
{
    sqs *s = arg;
    sqs_queue *q = queue_new(s, sq->id, sq->name);
    q->attrs = json_loads(sq->attrs_json ? sq->attrs_json : "{}", 0, NULL);
    q->tags = json_loads(sq->tags_json ? sq->tags_json : "{}", 0, NULL);
    if (!q->attrs)
        q->attrs = sqs_attrs_defaults(q->fifo);
    if (!q->tags)
        q->tags = json_object();
    q->created_ms = sq->created_ms;
    q->modified_ms = sq->modified_ms;
    sqs_queue_apply_attrs(q);
    table_insert(s, q);
}

void sqs_queue_free_all(sqs *s)
{
    for (size_t b = 0; b < s->nbuckets; b++) {
        sqs_queue *q = s->buckets[b];
        while (q) {
            sqs_queue *next = q->hnext;
            q->deleted = 1;
            sqs_queue_unref(q);
            q = next;
        }
        s->buckets[b] = NULL;
    }
    s->nqueues = 0;
}

/* ---- names, URLs, ARNs -------------------------------------------------------------- */

void sqs_queue_url(const aws_call *call, const sqs_queue *q, char *out, size_t cap)
{
    const sqs *s = sqs_of(call);
    const char *host = call->host[0] ? call->host : "127.0.0.1:4566";
    snprintf(out, cap, "http://%s/%s/%s", host, s->account, q->name);
}

void sqs_queue_arn(const sqs *s, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "arn:aws:sqs:%s:%s:%s", s->region, s->account, name);
}

sqs_queue *sqs_queue_from_arn(sqs *s, const char *arn)
{
    char prefix[256];
    snprintf(prefix, sizeof prefix, "arn:aws:sqs:%s:%s:", s->region, s->account);
    size_t n = strlen(prefix);
    if (!arn || strncmp(arn, prefix, n) != 0)
        return NULL;
    return sqs_queue_find(s, arn + n);
}

/* "http://host/ACCOUNT/NAME", "/ACCOUNT/NAME" or "ACCOUNT/NAME": the name, if the account
 * is ours. */
static const char *name_from_url(const sqs *s, const char *url, char *out, size_t cap)
{
    const char *p = url;
    const char *scheme = strstr(p, "://");
    if (scheme) {
        p = strchr(scheme + 3, '/');
        if (!p)
            return NULL;
    }
    while (*p == '/')
        p++;
    size_t alen = strlen(s->account);
    if (strncmp(p, s->account, alen) != 0 || p[alen] != '/')
        return NULL;
    p += alen + 1;
    size_t n = strcspn(p, "/?");
    if (n == 0 || n >= cap || p[n] == '/')
        return NULL;
    memcpy(out, p, n);
    out[n] = '\0';
    return out;
}

sqs_queue *sqs_queue_from_call(aws_call *call)
{
    sqs *s = sqs_of(call);
    const char *url = sqs_str(call, "QueueUrl");
    char name[SQS_MAX_QUEUE_NAME + 8];
    if (!url || !*url) {
        /* The Query protocol may address the queue by the request path instead. */
        if (call->http && name_from_url(s, call->http->path, name, sizeof name)) {
            sqs_queue *q = sqs_queue_find(s, name);
            if (q)
                return q;
        }
        aws_reply_error(call, AWS_ERR_MISSING_PARAMETER,
                        "The request must contain the parameter QueueUrl.");
        return NULL;
    }
    sqs_queue *q = NULL;
    if (name_from_url(s, url, name, sizeof name))
        q = sqs_queue_find(s, name);
    if (!q)
        aws_reply_error(call, AWS_ERR_SQS_QUEUE_DOES_NOT_EXIST,
                        "The specified queue does not exist.");
    return q;
}

static int valid_queue_name(const char *name)
{
    size_t n = strlen(name);
    size_t base = n;
    if (n > 5 && strcmp(name + n - 5, ".fifo") == 0)
        base = n - 5;
    if (n == 0 || n > SQS_MAX_QUEUE_NAME || base == 0)
        return 0;
    for (size_t i = 0; i < base; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

/* ---- persistence -------------------------------------------------------------------- */

typedef struct persist_ctx {
    store_op op;
    aws_call *call;
    sqs_queue *q;
    json_t *reply;
} persist_ctx;

/* After a failed commit the engine's copy of a queue may be ahead of the store (a queue
 * created, attributes or tags changed in memory before the commit): read the queue back
 * and make memory follow the store, which is the truth. */
typedef struct resync_ctx {
    store_op op;
    sqs_queue *q;
    aws_call *call; /* answered (with the commit's error) once memory follows the store */
} resync_ctx;

static void resync_done(store_op *op)
{
    resync_ctx *c = (resync_ctx *)op;
    sqs_queue *q = c->q;
    sqs *s = q->svc;
    if (op->status != 0) {
        log_error("sqs: cannot read a queue back after a failed commit", "queue=%s", q->name);
    } else if (op->u.queue_get.found) {
        json_t *attrs = json_loads(op->u.queue_get.row.attrs_json, 0, NULL);
        json_t *tags = json_loads(op->u.queue_get.row.tags_json, 0, NULL);
        if (attrs && tags) {
            json_decref(q->attrs);
            json_decref(q->tags);
            q->attrs = attrs;
            q->tags = tags;
            q->modified_ms = op->u.queue_get.row.modified_ms;
            sqs_queue_apply_attrs(q);
        } else {
            json_decref(attrs);
            json_decref(tags);
        }
        if (q->deleted && !sqs_queue_find(s, q->name)) {
            /* A delete that did not commit: the queue is back. */
            q->deleted = 0;
            json_object_del(s->deleted_names, q->name);
            table_insert(s, q);
            sqs_queue_ref(q);
        }
    } else if (!q->deleted && sqs_queue_find(s, q->name) == q) {
        /* A create that did not commit: the queue does not exist. */
        table_remove(s, q);
        q->deleted = 1;
        sqs_cancel_waiters(q);
        uv_timer_stop(&q->wake_timer);
        sqs_queue_unref(q); /* the table's reference */
    }
    store_op_clear(op);
    aws_reply_error(c->call, AWS_ERR_INTERNAL_ERROR, "The store could not commit the change.");
    sqs_queue_unref(q);
    xfree(c);
}

/* Replies InternalError to call once q is back in line with the store. */
static void resync(aws_call *call, sqs_queue *q)
{
    resync_ctx *c = xcalloc(1, sizeof *c);
    c->q = q;
    c->call = call;
    sqs_queue_ref(q);
    c->op.kind = STORE_SQS_QUEUE_GET;
    c->op.now_ms = clock_now_ms();
    c->op.done = resync_done;
    c->op.u.queue_get.queue_id = q->id;
    store_submit(q->svc->store, &c->op);
}

static void persist_done(store_op *op)
{
    persist_ctx *c = (persist_ctx *)op;
    xfree(op->u.queue.name);
    xfree(op->u.queue.attrs_json);
    xfree(op->u.queue.tags_json);
    if (op->status != 0) {
        json_decref(c->reply);
        resync(c->call, c->q);
    } else {
        aws_reply(c->call, c->reply);
    }
    sqs_queue_unref(c->q);
    xfree(c);
}

void sqs_queue_persist(aws_call *call, sqs_queue *q, json_t *reply)
{
    sqs *s = sqs_of(call);
    persist_ctx *c = xcalloc(1, sizeof *c);
    c->call = call;
    c->q = q;
    c->reply = reply;
    sqs_queue_ref(q);
    c->op.kind = STORE_SQS_QUEUE_PUT;
    c->op.now_ms = clock_now_ms();
    c->op.done = persist_done;
    c->op.u.queue.id = q->id;
    c->op.u.queue.name = xstrdup(q->name);
    c->op.u.queue.attrs_json = json_dumps(q->attrs, JSON_COMPACT | JSON_SORT_KEYS);
    c->op.u.queue.tags_json = json_dumps(q->tags, JSON_COMPACT | JSON_SORT_KEYS);
    c->op.u.queue.created_ms = q->created_ms;
    c->op.u.queue.modified_ms = q->modified_ms;
    store_submit(s->store, &c->op);
}

static json_t *url_reply(aws_call *call, sqs_queue *q)
{
    char url[512];
    sqs_queue_url(call, q, url, sizeof url);
    return json_pack("{s:s}", "QueueUrl", url);
}

/* ---- CreateQueue -------------------------------------------------------------------- */

static int tags_valid(aws_call *call, json_t *tags)
{
    if (!tags)
        return 0;
    if (!json_is_object(tags) || json_object_size(tags) > 50) {
        aws_reply_error(call, AWS_ERR_INVALID_PARAMETER_VALUE,
                        "Too many tags added for queue. A queue can have at most 50 tags.");
        return -1;
    }
    const char *k;
    json_t *v;
    json_object_foreach(tags, k, v)
    {
        if (!json_is_string(v) || strlen(k) == 0 || strlen(k) > 128 ||
            json_string_length(v) > 256) {
            aws_reply_error(call, AWS_ERR_INVALID_PARAMETER_VALUE,
                            "Tag keys must be 1 to 128 characters and values 0 to 256 "
                            "characters.");
            return -1;
        }
    }
    return 0;
}

void sqs_create_queue(aws_call *call)
{
    sqs *s = sqs_of(call);
    const char *name = sqs_str(call, "QueueName");
    if (!name) {
        aws_reply_error(call, AWS_ERR_MISSING_PARAMETER,
                        "The request must contain the parameter QueueName.");
        return;
    }
    if (!valid_queue_name(name)) {
        aws_reply_error(call, AWS_ERR_INVALID_PARAMETER_VALUE,
                        "Can only include alphanumeric characters, hyphens, or underscores. 1 to "
                        "80 in length");
        return;
    }
    json_t *in = json_object_get(call->input, "Attributes");
    json_t *tags = json_object_get(call->input, "tags");
    if (!tags)
        tags = json_object_get(call->input, "Tags");
    if (in && !json_is_object(in)) {
        aws_reply_error(call, AWS_ERR_INVALID_PARAMETER_VALUE, "Attributes must be a map.");
        return;
    }
    if (tags_valid(call, tags) != 0)
        return;
    size_t n = strlen(name);
    int fifo_name = n > 5 && strcmp(name + n - 5, ".fifo") == 0;
    const char *fifo_attr = json_string_value(json_object_get(in, "FifoQueue"));
    int fifo_wanted = fifo_attr && strcmp(fifo_attr, "true") == 0;
    if (fifo_wanted && !fifo_name) {
        aws_reply_error(call, AWS_ERR_INVALID_PARAMETER_VALUE,
                        "The name of a FIFO queue can only include alphanumeric characters, "
                        "hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in "
                        "length.");
        return;
    }
    if (fifo_name && !fifo_wanted) {
        aws_reply_error(call, AWS_ERR_INVALID_PARAMETER_VALUE,
                        "Can only include alphanumeric characters, hyphens, or underscores. 1 to "
                        "80 in length");
        return;
    }
    sqs_queue *existing = sqs_queue_find(s, name);
    json_t *deleted = json_object_get(s->deleted_names, name);
    if (!existing && deleted) {
        if (clock_now_ms() - json_integer_value(deleted) < SQS_RECREATE_DELAY_MS) {
            aws_reply_error(call, AWS_ERR_SQS_QUEUE_DELETED_RECENTLY,
                            "You must wait 60 seconds after deleting a queue before you can "
                            "create another queue with the same name.");
            return;
        }
        json_object_del(s->deleted_names, name);
    }
    json_t *attrs = existing ? json_deep_copy(existing->attrs) : sqs_attrs_defaults(fifo_name);
    if (in && sqs_attrs_validate(call, s, fifo_name, 1, in, attrs) != 0) {
        json_decref(attrs);
        return;
    }
    if (existing) {
        /* Idempotent only if every given attribute equals the queue's current value. */
        const char *k;
        json_t *v;
        json_object_foreach(in, k, v)
        {
            json_t *cur = json_object_get(existing->attrs, k);
            if (!cur || !json_equal(cur, v)) {
                json_decref(attrs);
                aws_reply_error(call, AWS_ERR_SQS_QUEUE_NAME_EXISTS,
                                "A queue already exists with the same name and a different "
                                "value for attribute %s",
                                k);
                return;
            }
        }
        json_decref(attrs);
        aws_reply(call, url_reply(call, existing));
        return;
    }
    sqs_queue *q = queue_new(s, s->next_queue_id++, name);
    q->attrs = attrs;
    q->tags = tags ? json_deep_copy(tags) : json_object();
    q->created_ms = q->modified_ms = clock_now_ms();
    sqs_queue_apply_attrs(q);
    table_insert(s, q);
    log_info("queue created", "queue=%s", name);
    sqs_queue_persist(call, q, url_reply(call, q));
}

void sqs_get_queue_url(aws_call *call)
{
    const char *name = sqs_str(call, "QueueName");
    if (!name) {
        aws_reply_error(call, AWS_ERR_MISSING_PARAMETER,
                        "The request must contain the parameter QueueName.");
        return;
    }
    sqs_queue *q = sqs_queue_find(sqs_of(call), name);
    if (!q) {
        aws_reply_error(call, AWS_ERR_SQS_QUEUE_DOES_NOT_EXIST,
                        "The specified queue does not exist.");
        return;
    }
    aws_reply(call, url_reply(call, q));
}

/* ---- ListQueues / ListDeadLetterSourceQueues ---------------------------------------- */

static int cmp_names(const void *a, const void *b)
{
    return strcmp((*(sqs_queue *const *)a)->name, (*(sqs_queue *const *)b)->name);
}

static sqs_queue **sorted_queues(sqs *s, size_t *n)
{
    sqs_queue **all = xmalloc((s->nqueues + 1) * sizeof *all);
    size_t k = 0;
    for (size_t b = 0; b < s->nbuckets; b++)
        for (sqs_queue *q = s->buckets[b]; q; q = q->hnext)
            all[k++] = q;
    qsort(all, k, sizeof *all, cmp_names);
    *n = k;
    return all;
}

/* Lists the queue URLs of `all` (sorted) that pass `keep`, paginated by name. */
static void list_urls(aws_call *call, sqs_queue **all, size_t n,
                      int (*keep)(const sqs_queue *, const void *), const void *arg,
                      const char *json_key)
{
    int64_t max;
    if (sqs_int(call, "MaxResults", 0, 1, 1000, "Value must be between 1 and 1000", &max) != 0)
        return;
    const char *token = sqs_str(call, "NextToken");
    if (token && !max) {
        aws_reply_error(call, AWS_ERR_INVALID_PARAMETER_VALUE,
                        "MaxResults is a mandatory parameter when you provide a value for "
                        "NextToken.");
        return;
    }
    json_t *urls = json_array();
    json_t *out = json_object();
    size_t limit = max ? (size_t)max : 1000;
    const char *last = NULL;
    for (size_t i = 0; i < n; i++) {
        sqs_queue *q = all[i];
        if (token && strcmp(q->name, token) <= 0)
            continue;
        if (!keep(q, arg))
            continue;
        if (json_array_size(urls) == limit) {
            if (max && last)
                json_object_set_new(out, "NextToken", json_string(last));
            break;
        }
        char url[512];
        sqs_queue_url(call, q, url, sizeof url);
        json_array_append_new(urls, json_string(url));
        last = q->name;
    }
    if (json_array_size(urls) > 0 || strcmp(json_key, "queueUrls") == 0)
        json_object_set_new(out, json_key, urls);
    else
        json_decref(urls);
    aws_reply(call, out);
}

static int keep_prefix(const sqs_queue *q, const void *prefix)
{
    return !prefix || strncmp(q->name, prefix, strlen(prefix)) == 0;
}

void sqs_list_queues(aws_call *call)
{
    sqs *s = sqs_of(call);
    size_t n;
    sqs_queue **all = sorted_queues(s, &n);
    list_urls(call, all, n, keep_prefix, sqs_str(call, "QueueNamePrefix"), "QueueUrls");
    xfree(all);
}

static int keep_source_of(const sqs_queue *q, const void *dlq_name)
{
    return q->dlq_name && strcmp(q->dlq_name, dlq_name) == 0;
}

void sqs_list_dead_letter_source_queues(aws_call *call)
{
    sqs_queue *dlq = sqs_queue_from_call(call);
    if (!dlq)
        return;
    size_t n;
    sqs_queue **all = sorted_queues(sqs_of(call), &n);
    list_urls(call, all, n, keep_source_of, dlq->name, "queueUrls");
    xfree(all);
}

/* ---- DeleteQueue -------------------------------------------------------------------- */

typedef struct delete_ctx {
    store_op op;
    aws_call *call;
    sqs_queue *q;
} delete_ctx;

static void delete_done(store_op *op)
{
    delete_ctx *c = (delete_ctx *)op;
    if (op->status != 0)
        resync(c->call, c->q);
    else
        aws_reply(c->call, NULL);
    sqs_queue_unref(c->q);
    xfree(c);
}

void sqs_delete_queue(aws_call *call)
{
    sqs_queue *q = sqs_queue_from_call(call);
    if (!q)
        return;
    sqs *s = sqs_of(call);
    table_remove(s, q);
    q->deleted = 1;
    json_object_set_new(s->deleted_names, q->name, json_integer(clock_now_ms()));
    sqs_cancel_waiters(q);
    uv_timer_stop(&q->wake_timer);
    log_info("queue deleted", "queue=%s", q->name);
    delete_ctx *c = xcalloc(1, sizeof *c);
    c->call = call;
    c->q = q; /* takes the table's reference */
    c->op.kind = STORE_SQS_QUEUE_DELETE;
    c->op.now_ms = clock_now_ms();
    c->op.done = delete_done;
    c->op.u.queue_delete.queue_id = q->id;
    store_submit(s->store, &c->op);
}

/* ---- Get/SetQueueAttributes --------------------------------------------------------- */

typedef struct attrs_ctx {
    store_op op;
    aws_call *call;
    sqs_queue *q;
    json_t *names; /* requested names, or NULL for All */
} attrs_ctx;

static void attrs_done(store_op *op)
{
    attrs_ctx *c = (attrs_ctx *)op;
    if (op->status != 0) {
        aws_reply_error(c->call, AWS_ERR_INTERNAL_ERROR, "The store could not be read.");
        goto out;
    }
    sqs_queue *q = c->q;
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(q->attrs, k, v)
    {
        if (sqs_name_listed(c->names, k))
            json_object_set(out, k, v);
    }
    if (sqs_name_listed(c->names, "ApproximateNumberOfMessages"))
        sqs_put_int_string(out, "ApproximateNumberOfMessages", op->u.counts.visible);
    if (sqs_name_listed(c->names, "ApproximateNumberOfMessagesNotVisible"))
        sqs_put_int_string(out, "ApproximateNumberOfMessagesNotVisible", op->u.counts.in_flight);
    if (sqs_name_listed(c->names, "ApproximateNumberOfMessagesDelayed"))
        sqs_put_int_string(out, "ApproximateNumberOfMessagesDelayed", op->u.counts.delayed);
    if (sqs_name_listed(c->names, "CreatedTimestamp"))
        sqs_put_int_string(out, "CreatedTimestamp", q->created_ms / 1000);
    if (sqs_name_listed(c->names, "LastModifiedTimestamp"))
        sqs_put_int_string(out, "LastModifiedTimestamp", q->modified_ms / 1000);
    if (sqs_name_listed(c->names, "QueueArn")) {
        char arn[256];
        sqs_queue_arn(q->svc, q->name, arn, sizeof arn);
        json_object_set_new(out, "QueueArn", json_string(arn));
    }
    json_t *reply = json_object();
    if (json_object_size(out) > 0)
        json_object_set_new(reply, "Attributes", out);
    else
        json_decref(out);
    aws_reply(c->call, reply);
out:
    sqs_queue_unref(c->q);
    json_decref(c->names);
    xfree(c);
}

void sqs_get_queue_attributes(aws_call *call)
{
    sqs_queue *q = sqs_queue_from_call(call);
    if (!q)
        return;
    json_t *names = json_object_get(call->input, "AttributeNames");
    if (names && !json_is_array(names))
        names = NULL;
    if (!names || json_array_size(names) == 0) {
        aws_reply(call, json_object()); /* AWS: no names, no attributes */
        return;
    }
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v)
    {
        const char *n = json_string_value(v);
        if (!n || !sqs_attr_name_known(n) ||
            (!q->fifo &&
             (strcmp(n, "FifoQueue") == 0 || strcmp(n, "ContentBasedDeduplication") == 0 ||
              strcmp(n, "DeduplicationScope") == 0 || strcmp(n, "FifoThroughputLimit") == 0))) {
            aws_reply_error(call, AWS_ERR_SQS_INVALID_ATTRIBUTE_NAME, "Unknown Attribute %s.",
                            n ? n : "");
            return;
        }
    }
    attrs_ctx *c = xcalloc(1, sizeof *c);
    c->call = call;
    c->q = q;
    c->names = json_incref(names);
    sqs_queue_ref(q);
    c->op.kind = STORE_SQS_COUNTS;
    c->op.now_ms = clock_now_ms();
    c->op.done = attrs_done;
    c->op.u.counts.queue_id = q->id;
    c->op.u.counts.retention_ms = q->retention_s * 1000;
    store_submit(sqs_of(call)->store, &c->op);
}

void sqs_set_queue_attributes(aws_call *call)
{
    sqs_queue *q = sqs_queue_from_call(call);
    if (!q)
        return;
    json_t *in = json_object_get(call->input, "Attributes");
    if (!json_is_object(in)) {
        aws_reply_error(call, AWS_ERR_MISSING_PARAMETER,
                        "The request must contain the parameter Attributes.");
        return;
    }
    json_t *attrs = json_deep_copy(q->attrs);
    if (sqs_attrs_validate(call, sqs_of(call), q->fifo, 0, in, attrs) != 0) {
        json_decref(attrs);
        return;
    }
    json_decref(q->attrs);
    q->attrs = attrs;
    q->modified_ms = clock_now_ms();
    sqs_queue_apply_attrs(q);
    sqs_queue_persist(call, q, NULL);
}

/* ---- PurgeQueue --------------------------------------------------------------------- */

typedef struct purge_ctx {
    store_op op;
    aws_call *call;
    sqs_queue *q;
} purge_ctx;

static void purge_done(store_op *op)
{
    purge_ctx *c = (purge_ctx *)op;
    if (op->status != 0)
        aws_reply_error(c->call, AWS_ERR_INTERNAL_ERROR, "The store could not commit the change.");
    else
        aws_reply(c->call, NULL);
    sqs_queue_unref(c->q);
    xfree(c);
}

void sqs_purge_queue(aws_call *call)
{
    sqs_queue *q = sqs_queue_from_call(call);
    if (!q)
        return;
    int64_t now = clock_now_ms();
    if (q->last_purge_ms && now - q->last_purge_ms < SQS_PURGE_INTERVAL_MS) {
        aws_reply_error(call, AWS_ERR_SQS_PURGE_QUEUE_IN_PROGRESS,
                        "Only one PurgeQueue operation on %s is allowed every 60 seconds.",
                        q->name);
        return;
    }
    q->last_purge_ms = now;
    purge_ctx *c = xcalloc(1, sizeof *c);
    c->call = call;
    c->q = q;
    sqs_queue_ref(q);
    c->op.kind = STORE_SQS_PURGE;
    c->op.now_ms = now;
    c->op.done = purge_done;
    c->op.u.purge.queue_id = q->id;
    c->op.u.purge.before_ms = now;
    store_submit(sqs_of(call)->store, &c->op);
}

/* ---- tags --------------------------------------------------------------------------- */

void sqs_tag_queue(aws_call *call)
{
    sqs_queue *q = sqs_queue_from_call(call);
    if (!q)
        return;
    json_t *tags = json_object_get(call->input, "Tags");
    if (!json_is_object(tags) || json_object_size(tags) == 0) {
        aws_reply_error(call, AWS_ERR_MISSING_PARAMETER,
                        "The request must contain the parameter Tags.");
        return;
    }
    if (tags_valid(call, tags) != 0)
        return;
    json_t *merged = json_deep_copy(q->tags);
    json_object_update(merged, tags);
    if (json_object_size(merged) > 50) {
        json_decref(merged);
        aws_reply_error(call, AWS_ERR_INVALID_PARAMETER_VALUE,
                        "Too many tags added for queue. A queue can have at most 50 tags.");
        return;
    }
    json_decref(q->tags);
    q->tags = merged;
    sqs_queue_persist(call, q, NULL);
}

void sqs_untag_queue(aws_call *call)
{
    sqs_queue *q = sqs_queue_from_call(call);
    if (!q)
        return;
    json_t *keys = json_object_get(call->input, "TagKeys");
    if (!json_is_array(keys) || json_array_size(keys) == 0) {
        aws_reply_error(call, AWS_ERR_MISSING_PARAMETER,
                        "The request must contain the parameter TagKeys.");
        return;
    }
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k)
    {
        if (json_is_string(k))
            json_object_del(q->tags, json_string_value(k));
    }
    sqs_queue_persist(call, q, NULL);
}

void sqs_list_queue_tags(aws_call *call)
{
    sqs_queue *q = sqs_queue_from_call(call);
    if (!q)
        return;
    json_t *out = json_object();
    if (json_object_size(q->tags) > 0)
        json_object_set_new(out, "Tags", json_deep_copy(q->tags));
    aws_reply(call, out);
}

/* ---- permissions (stored in the Policy attribute) ----------------------------------- */

void sqs_add_permission(aws_call *call)
{
    sqs_queue *q = sqs_queue_from_call(call);
    if (!q)
        return;
    const char *label = sqs_str(call, "Label");
    json_t *accounts = json_object_get(call->input, "AWSAccountIds");
    json_t *actions = json_object_get(call->input, "Actions");
    if (!label || !json_is_array(accounts) || !json_is_array(actions) ||
        json_array_size(accounts) == 0 || json_array_size(actions) == 0) {
        aws_reply_error(call, AWS_ERR_MISSING_PARAMETER,
                        "The request must contain the parameters Label, AWSAccountIds and "
                        "Actions.");
        return;
    }
    const char *cur = json_string_value(json_object_get(q->attrs, "Policy"));
    json_t *policy = cur ? json_loads(cur, 0, NULL) : NULL;
    if (!json_is_object(policy)) {
        json_decref(policy);
        policy = json_pack("{s:s, s:[]}", "Version", "2012-10-17", "Statement");
    }
    json_t *stmts = json_object_get(policy, "Statement");
    size_t i;
    json_t *st;
    json_array_foreach(stmts, i, st)
    {
        const char *sid = json_string_value(json_object_get(st, "Sid"));
        if (sid && strcmp(sid, label) == 0) {
            json_decref(policy);
            aws_reply_error(call, AWS_ERR_INVALID_PARAMETER_VALUE,
                            "Value %s for parameter Label is invalid. Reason: Already exists.",
                            label);
            return;
        }
    }
    char arn[256];
    sqs_queue_arn(q->svc, q->name, arn, sizeof arn);
    json_t *principals = json_array();
    json_t *v;
    json_array_foreach(accounts, i, v)
    {
        char p[128];
        snprintf(p, sizeof p, "arn:aws:iam::%s:root",
                 json_string_value(v) ? json_string_value(v) : "");
        json_array_append_new(principals, json_string(p));
    }
    json_t *acts = json_array();
    json_array_foreach(actions, i, v)
    {
        char a[128];
        snprintf(a, sizeof a, "SQS:%s", json_string_value(v) ? json_string_value(v) : "");
        json_array_append_new(acts, json_string(a));
    }
    json_array_append_new(stmts, json_pack("{s:s, s:s, s:{s:o}, s:o, s:s}", "Sid", label, "Effect",
                                           "Allow", "Principal", "AWS", principals, "Action", acts,
                                           "Resource", arn));
    char *text = json_dumps(policy, JSON_COMPACT);
    json_object_set_new(q->attrs, "Policy", json_string(text));
    free(text);
    json_decref(policy);
    sqs_queue_persist(call, q, NULL);
}

void sqs_remove_permission(aws_call *call)
{
    sqs_queue *q = sqs_queue_from_call(call);
    if (!q)
        return;
    const char *label = sqs_str(call, "Label");
    if (!label) {
        aws_reply_error(call, AWS_ERR_MISSING_PARAMETER,
                        "The request must contain the parameter Label.");
        return;
    }
    const char *cur = json_string_value(json_object_get(q->attrs, "Policy"));
    json_t *policy = cur ? json_loads(cur, 0, NULL) : NULL;
    json_t *stmts = json_object_get(policy, "Statement");
    int found = 0;
    for (size_t i = 0; i < json_array_size(stmts); i++) {
        const char *sid = json_string_value(json_object_get(json_array_get(stmts, i), "Sid"));
        if (sid && strcmp(sid, label) == 0) {
            json_array_remove(stmts, i);
            found = 1;
            break;
        }
    }
    if (!found) {
        json_decref(policy);
        aws_reply_error(call, AWS_ERR_INVALID_PARAMETER_VALUE,
                        "Value %s for parameter Label is invalid. Reason: can't find label.",
                        label);
        return;
    }
    if (json_array_size(stmts) == 0) {
        json_object_del(q->attrs, "Policy");
    } else {
        char *text = json_dumps(policy, JSON_COMPACT);
        json_object_set_new(q->attrs, "Policy", json_string(text));
        free(text);
    }
    json_decref(policy);
    sqs_queue_persist(call, q, NULL);
}
