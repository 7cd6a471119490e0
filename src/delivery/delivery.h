/* Durable deliveries to targets that are not queues (HTTP endpoints now; functions,
 * topics and workflows later), with leases and retries.
 *
 * A service plans a delivery as a STORE_DELIVERY_PUT in the same transaction as whatever
 * caused it (an event, a publish), then pokes the dispatcher. The dispatcher claims due
 * deliveries from the store in small batches (a claim leases them: after a crash they are
 * due again when the lease runs out), hands each to its kind's `attempt` callback, and
 * records the outcome the kind reports: delivered (deleted), retry at a time, or finished
 * together with other ops (dead-lettering: the deletion and the dead-letter message commit
 * in one group). Memory stays bounded: at most DELIVERY_MAX_IN_FLIGHT deliveries are out of
 * the store at once, whatever the backlog. */
#ifndef SLUICE_DELIVERY_H
#define SLUICE_DELIVERY_H

#include "store/store.h"

#include <stdint.h>
#include <uv.h>

#define DELIVERY_MAX_IN_FLIGHT 256
#define DELIVERY_LEASE_MS      60000

typedef struct delivery delivery;
typedef struct delivery_job delivery_job;

typedef struct delivery_kind {
    const char *name; /* matches store_delivery.kind */
    /* Attempts the delivery; must end with exactly one of delivery_job_done/_retry, or
     * delivery_job_finish_op + delivery_job_release, now or later (on the loop thread). */
    void (*attempt)(delivery_job *job, void *arg);
    void *arg;
    /* How long a claimed delivery stays claimed: longer than an attempt can last, or it is
     * claimed again while running (0: DELIVERY_LEASE_MS). Every lease is released at
     * startup, so this only matters while the server runs. */
    int64_t lease_ms;
} delivery_kind;

struct delivery_job {
    store_delivery rec; /* what was stored (attempts = attempts made before this one) */
    delivery *owner;
    const delivery_kind *kind;
    store_op op; /* the outcome's op */
    void *state; /* free for the kind */
};

/* A dispatcher for the deliveries of one kind (k, borrowed for its lifetime): services
 * that deliver differently have a dispatcher each, sharing the store's table. */
int delivery_create(delivery **out, uv_loop_t *loop, store *st, const delivery_kind *k);
/* New deliveries were committed: claim the due ones now. */
void delivery_poke(delivery *d);
/* Stops claiming; jobs in flight still report their outcomes. */
void delivery_stop(delivery *d);
/* Frees the dispatcher (after the store has completed its last op). Accepts NULL. */
void delivery_destroy(delivery *d);

/* Outcomes. */
void delivery_job_done(delivery_job *job);
/* Tries again at due_ms; count: whether this attempt counts against the retry policy. */
void delivery_job_retry(delivery_job *job, int64_t due_ms, int count);
/* The op deleting the delivery, for the caller's own group (owned by the job). */
store_op *delivery_job_finish_op(delivery_job *job);
/* After that group completed: frees the job. */
void delivery_job_release(delivery_job *job);

#endif
