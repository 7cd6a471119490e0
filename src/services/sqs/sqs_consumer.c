/* In-server consumers of a queue (see sqs_consumer.h).
 *
 * A consumer holds a reference on its queue for its whole life. A receive is a
 * STORE_SQS_RECEIVE claim built as sqs_receive.c builds it (visibility, retention, redrive);
 * if it finds nothing, the consumer is put on the queue's list of parked consumers, which
 * sqs_wake_waiters and sqs_cancel_waiters walk (sqs_consumers_wake), and the queue's wake
 * timer is armed at the earliest future visibility the store reported. A consumer
 * destroyed while its claim or a delete is in the store is freed when the op completes. */
#include "services/sqs/sqs_consumer.h"
#include "services/sqs/sqs_internal.h"

#include "common/alloc.h"
#include "common/clock.h"

#include <string.h>

struct sqs_consumer {
    store_op op; /* the claim */
    sqs_queue *q;
    int max;
    int64_t wait_until_ms;
    sqs_consumer_fn fn;
    void *arg;
    int receiving; /* a receive is pending (claiming or parked) */
    int claiming;  /* the claim op is in the store */
    int parked;
    int ops; /* store ops in flight (claim, deletes) */
    int destroyed;
    uv_timer_t timer; /* the receive's deadline */
    sqs_consumer *next_parked;
};

typedef struct delete_ctx {
    store_op op;
    sqs_consumer *c;
    store_sqs_entry *entries;
    size_t n;
    sqs_consumer_deleted_fn done;
    void *arg;
} delete_ctx;

static void claim(sqs_consumer *c);

/* ---- lifecycle ---------------------------------------------------------------------- */

static void consumer_free(uv_handle_t *h)
{
    sqs_consumer *c = h->data;
    sqs_queue_unref(c->q);
    xfree(c);
}

static void maybe_free(sqs_consumer *c)
{
    if (c->destroyed && c->ops == 0)
        uv_close((uv_handle_t *)&c->timer, consumer_free);
}

sqs_consumer *sqs_consumer_create(sqs *s, const char *queue_arn)
{
    sqs_queue *q = queue_arn ? sqs_queue_from_arn(s, queue_arn) : NULL;
    if (!q || q->deleted)
        return NULL;
    sqs_consumer *c = xcalloc(1, sizeof *c);
    c->q = q;
    sqs_queue_ref(q);
    uv_timer_init(s->loop, &c->timer);
    c->timer.data = c;
    return c;
}

static void unpark(sqs_consumer *c)
{
    if (!c->parked)
        return;
    for (sqs_consumer **p = &c->q->consumers; *p; p = &(*p)->next_parked) {
        if (*p == c) {
            *p = c->next_parked;
            break;
        }
    }
    c->next_parked = NULL;
    c->parked = 0;
}

void sqs_consumer_destroy(sqs_consumer *c)
{
    if (!c)
        return;
    unpark(c);
    uv_timer_stop(&c->timer);
    c->receiving = 0;
    c->destroyed = 1;
    maybe_free(c);
}

int sqs_consumer_fifo(const sqs_consumer *c)
{
    return c->q->fifo;
}

int sqs_consumer_gone(const sqs_consumer *c)
{
    return c->q->deleted;
}

int sqs_consumer_visibility_timeout(const sqs_consumer *c)
{
    return c->q->visibility_timeout;
}

void sqs_consumer_receipt(const sqs_consumer *c, const store_message *m, char *out, size_t cap)
{
    sqs_receipt_encode(store_secret(c->q->svc->store), c->q->id, m->seq, m->receipt_token, out,
                       cap);
}

/* ---- receiving ---------------------------------------------------------------------- */

/* Ends the pending receive with msgs (n may be 0). */
static void deliver(sqs_consumer *c, const store_message *msgs, size_t n)
{
    unpark(c);
    uv_timer_stop(&c->timer);
    c->receiving = 0;
    c->fn(c, msgs, n, c->arg);
}

static void on_deadline(uv_timer_t *t)
{
    sqs_consumer *c = t->data;
    if (c->parked)
        deliver(c, NULL, 0);
}

static int ended(const sqs_consumer *c)
{
    return c->q->deleted || c->q->svc->stopping;
}

static void park(sqs_consumer *c, int64_t next_visible_ms)
{
    c->parked = 1;
    c->next_parked = c->q->consumers;
    c->q->consumers = c;
    if (c->wait_until_ms) {
        int64_t now = clock_now_ms();
        uv_timer_start(&c->timer, on_deadline,
                       c->wait_until_ms > now ? (uint64_t)(c->wait_until_ms - now) : 0, 0);
    }
    if (next_visible_ms)
        sqs_arm_wake_timer(c->q, next_visible_ms);
}

static void claim_done(store_op *op)
{
    sqs_consumer *c = (sqs_consumer *)op;
    c->claiming = 0;
    c->ops--;
    if (c->destroyed) {
        store_op_clear(op);
        maybe_free(c);
        return;
    }
    if (op->status == 0 && op->u.receive.nmsgs > 0) {
        store_message *msgs = op->u.receive.msgs;
        size_t n = op->u.receive.nmsgs;
        op->u.receive.msgs = NULL;
        op->u.receive.nmsgs = 0;
        store_op_clear(op);
        deliver(c, msgs, n);
        for (size_t i = 0; i < n; i++)
            store_message_clear(&msgs[i]);
        xfree(msgs);
        return;
    }
    int64_t next = op->status == 0 ? op->u.receive.next_visible_ms : 0;
    store_op_clear(op);
    if (ended(c) || (c->wait_until_ms && clock_now_ms() >= c->wait_until_ms)) {
        deliver(c, NULL, 0);
        return;
    }
    park(c, next);
}

static void claim(sqs_consumer *c)
{
    sqs_queue *q = c->q;
    sqs *s = q->svc;
    store_op *op = &c->op;
    memset(op, 0, sizeof *op);
    op->kind = STORE_SQS_RECEIVE;
    op->now_ms = clock_now_ms();
    op->done = claim_done;
    op->u.receive.queue_id = q->id;
    op->u.receive.fifo = q->fifo;
    op->u.receive.max = c->max;
    op->u.receive.visibility_ms = (int64_t)q->visibility_timeout * 1000;
    op->u.receive.retention_ms = q->retention_s * 1000;
    if (q->max_receive_count > 0 && q->dlq_name) {
        sqs_queue *dlq = sqs_queue_find(s, q->dlq_name);
        if (dlq && dlq != q) {
            op->u.receive.max_receive_count = q->max_receive_count;
            op->u.receive.dlq_id = dlq->id;
        }
    }
    c->claiming = 1;
    c->ops++;
    store_submit(s->store, op);
}

int sqs_consumer_receive(sqs_consumer *c, int max, int64_t wait_until_ms, sqs_consumer_fn fn,
                         void *arg)
{
    if (c->receiving || c->destroyed || ended(c))
        return -1;
    c->max = max < 1 ? 1 : max > SQS_MAX_BATCH ? SQS_MAX_BATCH : max;
    c->wait_until_ms = wait_until_ms;
    c->fn = fn;
    c->arg = arg;
    c->receiving = 1;
    claim(c);
    return 0;
}

void sqs_consumers_wake(sqs_queue *q, size_t hint)
{
    while (q->consumers && hint > 0) {
        sqs_consumer *c = q->consumers;
        unpark(c);
        uv_timer_stop(&c->timer);
        if (ended(c))
            deliver(c, NULL, 0);
        else
            claim(c);
        hint--;
    }
}

/* ---- deleting ----------------------------------------------------------------------- */

static void delete_done(store_op *op)
{
    delete_ctx *d = (delete_ctx *)op;
    sqs_consumer *c = d->c;
    c->ops--;
    if (d->done)
        d->done(op->status, d->arg);
    /* A FIFO group whose messages were in flight may have become receivable. */
    if (op->status == 0 && c->q->fifo && !c->q->deleted)
        sqs_wake_waiters(c->q, d->n);
    xfree(d->entries);
    xfree(d);
    maybe_free(c);
}

void sqs_consumer_delete(sqs_consumer *c, const int64_t *seqs, const int64_t *tokens, size_t n,
                         sqs_consumer_deleted_fn done, void *arg)
{
    delete_ctx *d = xcalloc(1, sizeof *d);
    d->c = c;
    d->n = n;
    d->done = done;
    d->arg = arg;
    d->entries = xcalloc(n ? n : 1, sizeof *d->entries);
    for (size_t i = 0; i < n; i++) {
        d->entries[i].seq = seqs[i];
        d->entries[i].token = tokens[i];
    }
    d->op.kind = STORE_SQS_DELETE;
    d->op.now_ms = clock_now_ms();
    d->op.done = delete_done;
    d->op.u.batch.queue_id = c->q->id;
    d->op.u.batch.fifo = c->q->fifo;
    d->op.u.batch.entries = d->entries;
    d->op.u.batch.n = n;
    c->ops++;
    store_submit(c->q->svc->store, &d->op);
}
