/* The fan-out: see fanout.h. */
#include "delivery/fanout.h"

#include "common/alloc.h"
#include "services/sqs/sqs_md5.h"

#include <stdio.h>
#include <string.h>

typedef struct fanout_queue {
    char *arn;
    sqs_outbound *out;
} fanout_queue_t;

struct fanout {
    store *store;
    sqs *sqs;
    int64_t now_ms;
    char *sender_id;
    fanout_queue_t *queues;
    size_t nqueues, capqueues;
    store_delivery *deliveries;
    size_t ndeliveries, capdeliveries;
    store_doc *docs;
    size_t ndocs, capdocs;
    store_archived *archived;
    size_t narchived, caparchived;
    store_op **extra;
    size_t nextra, capextra;
    /* the declared body: stored once for all its queues */
    const char *body;
    size_t body_len;
    store_payload *shared; /* NULL until a queue takes the declared body */
    char digest[33];
    store_payload **payloads; /* every shared body (own allocations: messages point at them) */
    size_t npayloads, cappayloads;
    /* the commit */
    store_op group;
    store_op **children;
    store_op delivery_op, doc_op, archive_op;
    fanout_done_fn fn;
    void *arg;
};

fanout *fanout_new(store *st, sqs *queues, int64_t now_ms, const char *sender_id)
{
    fanout *f = xcalloc(1, sizeof *f);
    f->store = st;
    f->sqs = queues;
    f->now_ms = now_ms;
    f->sender_id = xstrdup(sender_id);
    return f;
}

int64_t fanout_now(const fanout *f)
{
    return f->now_ms;
}

void fanout_set_body(fanout *f, const char *body, size_t len)
{
    f->body = body;
    f->body_len = len;
    f->shared = NULL;
}

int fanout_queue(fanout *f, const char *queue_arn, const char *body, size_t len,
                 const json_t *attrs, const char *group_id, const char *dedup_id, char *err,
                 size_t errlen)
{
    fanout_queue_t *q = NULL;
    for (size_t i = 0; i < f->nqueues; i++)
        if (strcmp(f->queues[i].arn, queue_arn) == 0)
            q = &f->queues[i];
    if (!q) {
        sqs_outbound *o = sqs_outbound_begin(f->sqs, queue_arn, f->now_ms);
        if (!o) {
            snprintf(err, errlen, "The queue %s does not exist.", queue_arn);
            return -1;
        }
        XGROW(f->queues, f->nqueues, f->capqueues);
        q = &f->queues[f->nqueues++];
        q->arn = xstrdup(queue_arn);
        q->out = o;
    }
    if (body != f->body || len != f->body_len)
        return sqs_outbound_add(q->out, body, len, attrs, group_id, dedup_id, f->sender_id, err,
                                errlen);
    if (!f->shared) {
        sqs_md5_hex(body, len, f->digest);
        f->shared = xcalloc(1, sizeof *f->shared);
        f->shared->body = xmemdup(body, len ? len : 1);
        f->shared->len = len;
        XGROW(f->payloads, f->npayloads, f->cappayloads);
        f->payloads[f->npayloads++] = f->shared;
    }
    return sqs_outbound_add_shared(q->out, f->shared, f->digest, attrs, group_id, dedup_id,
                                   f->sender_id, err, errlen);
}

void fanout_delivery(fanout *f, const char *kind, const json_t *target, const char *payload,
                     size_t len)
{
    XGROW(f->deliveries, f->ndeliveries, f->capdeliveries);
    store_delivery *d = &f->deliveries[f->ndeliveries++];
    memset(d, 0, sizeof *d);
    d->kind = xstrdup(kind);
    d->target_json = json_dumps(target, JSON_COMPACT);
    d->payload = xmemdup(payload, len + 1);
    d->payload[len] = '\0';
    d->payload_len = len;
    d->due_ms = f->now_ms;
    d->created_ms = f->now_ms;
}

void fanout_doc(fanout *f, const char *ns, const char *key, const char *doc)
{
    XGROW(f->docs, f->ndocs, f->capdocs);
    f->docs[f->ndocs++] = (store_doc){xstrdup(ns), xstrdup(key), doc ? xstrdup(doc) : NULL};
}

void fanout_archive(fanout *f, const char *archive, const char *text, size_t len)
{
    XGROW(f->archived, f->narchived, f->caparchived);
    store_archived *a = &f->archived[f->narchived++];
    memset(a, 0, sizeof *a);
    a->archive = xstrdup(archive);
    a->time_ms = f->now_ms;
    a->event = xmemdup(text, len + 1);
    a->event[len] = '\0';
    a->len = len;
}

void fanout_op(fanout *f, store_op *op)
{
    XGROW(f->extra, f->nextra, f->capextra);
    f->extra[f->nextra++] = op;
}

size_t fanout_size(const fanout *f)
{
    size_t n = f->ndeliveries + f->ndocs + f->narchived + f->nextra;
    for (size_t i = 0; i < f->nqueues; i++)
        n += sqs_outbound_count(f->queues[i].out);
    return n;
}

size_t fanout_deliveries(const fanout *f)
{
    return f->ndeliveries;
}

void fanout_discard(fanout *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->nqueues; i++) {
        xfree(f->queues[i].arn);
        if (f->queues[i].out)
            sqs_outbound_discard(f->queues[i].out);
    }
    xfree(f->queues);
    for (size_t i = 0; i < f->ndeliveries; i++)
        store_delivery_clear(&f->deliveries[i]);
    xfree(f->deliveries);
    for (size_t i = 0; i < f->ndocs; i++) {
        xfree((char *)f->docs[i].ns);
        xfree((char *)f->docs[i].key);
        xfree((char *)f->docs[i].doc);
    }
    xfree(f->docs);
    for (size_t i = 0; i < f->narchived; i++) {
        xfree(f->archived[i].archive);
        xfree(f->archived[i].event);
    }
    xfree(f->archived);
    xfree(f->extra);
    for (size_t i = 0; i < f->npayloads; i++) {
        xfree((char *)f->payloads[i]->body);
        xfree(f->payloads[i]);
    }
    xfree(f->payloads);
    xfree(f->children);
    xfree(f->sender_id);
    xfree(f);
}

static void committed(store_op *op)
{
    fanout *f = op->ctx;
    for (size_t i = 0; i < f->nqueues; i++) {
        /* A failed batch marks only the group: its children share its outcome. */
        sqs_outbound_op(f->queues[i].out)->status = op->status;
        sqs_outbound_finish(f->queues[i].out);
        f->queues[i].out = NULL;
    }
    if (f->fn)
        f->fn(f, op->status, f->arg);
    fanout_discard(f);
}

void fanout_commit(fanout *f, fanout_done_fn fn, void *arg)
{
    f->fn = fn;
    f->arg = arg;
    f->children = xcalloc(f->nqueues + f->nextra + 3, sizeof *f->children);
    size_t n = 0;
    for (size_t i = 0; i < f->nextra; i++)
        f->children[n++] = f->extra[i];
    for (size_t i = 0; i < f->nqueues; i++)
        f->children[n++] = sqs_outbound_op(f->queues[i].out);
    if (f->ndeliveries) {
        f->delivery_op.kind = STORE_DELIVERY_PUT;
        f->delivery_op.now_ms = f->now_ms;
        f->delivery_op.u.deliveries.items = f->deliveries;
        f->delivery_op.u.deliveries.n = f->ndeliveries;
        f->children[n++] = &f->delivery_op;
    }
    if (f->ndocs) {
        f->doc_op.kind = STORE_DOC_PUT;
        f->doc_op.now_ms = f->now_ms;
        f->doc_op.u.docs.docs = f->docs;
        f->doc_op.u.docs.n = f->ndocs;
        f->children[n++] = &f->doc_op;
    }
    if (f->narchived) {
        f->archive_op.kind = STORE_ARCHIVE_APPEND;
        f->archive_op.now_ms = f->now_ms;
        f->archive_op.u.archive_append.items = f->archived;
        f->archive_op.u.archive_append.n = f->narchived;
        f->children[n++] = &f->archive_op;
    }
    f->group.kind = STORE_GROUP;
    f->group.now_ms = f->now_ms;
    f->group.u.group.ops = f->children;
    f->group.u.group.n = n;
    f->group.done = committed;
    f->group.ctx = f;
    store_submit(f->store, &f->group);
}
