/* The delivery dispatcher: claims due deliveries from the store and runs them.
 *
 * One claim is in the store at a time. After a claim returns, the dispatcher runs what it
 * got and arms a timer for the earliest remaining due time; it claims again when that timer
 * fires, when a poke says new deliveries were committed, or when in-flight jobs finish
 * while the last claim was full (more may be due). */
#include "delivery/delivery.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"

#include <string.h>

#define CLAIM_BATCH 64

struct delivery {
    uv_loop_t *loop;
    store *store;
    const delivery_kind *kind;
    uv_timer_t timer;
    store_op claim;
    store_op release;
    int claiming;
    int again; /* poked while claiming */
    size_t in_flight;
    int stopping;
    int closed;
    int refs; /* the timer handle + outstanding store ops */
};

static void claim_now(delivery *d);

static void unref(delivery *d)
{
    if (--d->refs == 0)
        xfree(d);
}

static void on_timer(uv_timer_t *t)
{
    claim_now(t->data);
}

static void arm(delivery *d, int64_t due_ms)
{
    if (d->stopping || due_ms <= 0)
        return;
    int64_t now = clock_now_ms();
    uint64_t wait = due_ms > now ? (uint64_t)(due_ms - now) : 0;
    if (uv_is_active((uv_handle_t *)&d->timer) && uv_timer_get_due_in(&d->timer) <= wait)
        return;
    uv_timer_start(&d->timer, on_timer, wait, 0);
}

static void claim_done(store_op *op)
{
    delivery *d = op->ctx;
    d->claiming = 0;
    if (op->status != 0 || d->stopping) {
        if (op->status != 0)
            log_error("delivery claim failed", NULL);
        /* Leased rows come back when their lease ends. */
        store_op_clear(op);
        if (!d->stopping)
            arm(d, clock_now_ms() + 1000);
        unref(d);
        return;
    }
    size_t n = op->u.deliveries.n;
    int64_t next = op->u.deliveries.next_due_ms;
    for (size_t i = 0; i < n; i++) {
        store_delivery *rec = &op->u.deliveries.items[i];
        const delivery_kind *k = d->kind;
        delivery_job *job = xcalloc(1, sizeof *job);
        job->rec = *rec;
        memset(rec, 0, sizeof *rec); /* moved into the job */
        job->owner = d;
        job->kind = k;
        d->in_flight++;
        d->refs++;
        k->attempt(job, k->arg);
    }
    int full = n == (size_t)op->u.deliveries.max;
    store_op_clear(op);
    if (full || d->again) {
        d->again = 0;
        if (d->in_flight < DELIVERY_MAX_IN_FLIGHT)
            claim_now(d);
    } else {
        arm(d, next);
    }
    unref(d);
}

static void claim_now(delivery *d)
{
    if (d->stopping)
        return;
    if (d->claiming) {
        d->again = 1;
        return;
    }
    size_t room = DELIVERY_MAX_IN_FLIGHT - d->in_flight;
    if (room == 0)
        return; /* a finishing job claims again */
    memset(&d->claim, 0, sizeof d->claim);
    d->claim.kind = STORE_DELIVERY_CLAIM;
    d->claim.now_ms = clock_now_ms();
    d->claim.done = claim_done;
    d->claim.ctx = d;
    d->claim.u.deliveries.max = (int)(room < CLAIM_BATCH ? room : CLAIM_BATCH);
    d->claim.u.deliveries.lease_ms = d->kind->lease_ms ? d->kind->lease_ms : DELIVERY_LEASE_MS;
    d->claim.u.deliveries.kind = d->kind->name;
    d->claiming = 1;
    d->refs++;
    store_submit(d->store, &d->claim);
}

static void release_done(store_op *op)
{
    delivery *d = op->ctx;
    if (op->status != 0)
        log_error("releasing delivery leases failed: they are due when they run out", NULL);
    unref(d);
}

int delivery_create(delivery **out, uv_loop_t *loop, store *st, const delivery_kind *k)
{
    delivery *d = xcalloc(1, sizeof *d);
    d->kind = k;
    d->loop = loop;
    d->store = st;
    uv_timer_init(loop, &d->timer);
    d->timer.data = d;
    d->refs = 1;
    *out = d;
    /* Leases taken before a stop or crash belong to no one now: due at once. The claim
     * that follows (same batch, after it) picks up whatever was pending. */
    memset(&d->release, 0, sizeof d->release);
    d->release.kind = STORE_DELIVERY_RELEASE;
    d->release.now_ms = clock_now_ms();
    d->release.done = release_done;
    d->release.ctx = d;
    d->refs++;
    store_submit(st, &d->release);
    uv_timer_start(&d->timer, on_timer, 0, 0);
    return 0;
}

void delivery_poke(delivery *d)
{
    claim_now(d);
}

void delivery_stop(delivery *d)
{
    d->stopping = 1;
    uv_timer_stop(&d->timer);
}

static void timer_closed(uv_handle_t *h)
{
    unref(h->data);
}

void delivery_destroy(delivery *d)
{
    if (!d)
        return;
    d->stopping = 1;
    uv_close((uv_handle_t *)&d->timer, timer_closed);
}

/* ---- outcomes ----------------------------------------------------------------------- */

static void job_free(delivery_job *job)
{
    delivery *d = job->owner;
    store_delivery_clear(&job->rec);
    xfree(job);
    d->in_flight--;
    if (!d->stopping && d->in_flight == DELIVERY_MAX_IN_FLIGHT - 1)
        claim_now(d);
    unref(d);
}

static void outcome_done(store_op *op)
{
    delivery_job *job = op->ctx;
    if (op->status != 0)
        log_error("delivery outcome not recorded: the delivery runs again after its lease",
                  "id=%lld", (long long)job->rec.id);
    job_free(job);
}

store_op *delivery_job_finish_op(delivery_job *job)
{
    memset(&job->op, 0, sizeof job->op);
    job->op.kind = STORE_DELIVERY_UPDATE;
    job->op.now_ms = clock_now_ms();
    job->op.u.delivery_update.id = job->rec.id;
    job->op.u.delivery_update.due_ms = 0;
    return &job->op;
}

void delivery_job_release(delivery_job *job)
{
    job_free(job);
}

void delivery_job_done(delivery_job *job)
{
    store_op *op = delivery_job_finish_op(job);
    op->done = outcome_done;
    op->ctx = job;
    store_submit(job->owner->store, op);
}

void delivery_job_retry(delivery_job *job, int64_t due_ms, int count)
{
    memset(&job->op, 0, sizeof job->op);
    job->op.kind = STORE_DELIVERY_UPDATE;
    job->op.now_ms = clock_now_ms();
    job->op.u.delivery_update.id = job->rec.id;
    job->op.u.delivery_update.due_ms = due_ms > 0 ? due_ms : 1;
    job->op.u.delivery_update.attempts = job->rec.attempts + (count ? 1 : 0);
    job->op.done = outcome_done;
    job->op.ctx = job;
    store_submit(job->owner->store, &job->op);
    arm(job->owner, due_ms);
}
