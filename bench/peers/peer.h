/* The harness shared by the peer clients of `make bench` (sluice-peer-rabbitmq,
 * sluice-peer-nats): the same workloads, options and JSON result line as sluice-loadgen, with
 * the broker-specific part reduced to a few blocking calls (peer_ops).
 *
 * Threads, one connection each (the native client libraries are blocking APIs):
 *   send        --conns producers; each publishes one message and waits for its confirm
 *   send-batch  --conns producers; each publishes --batch messages, then waits for all confirms
 *   cycle       conns/2 producers as send-batch, conns/2 consumers that fetch up to --batch
 *               messages and acknowledge them; messages/s counts messages acknowledged
 *   latency     open loop: message i is due at start + i/rate; a producer takes the next
 *               sequence number, sleeps until it is due (or sends at once when late) and
 *               publishes it with a confirm; consumers wait on the queue. The latency is
 *               taken from the *scheduled* time to the receipt, so a stalled broker shows up
 *               in every message that should have been sent meanwhile (coordinated omission).
 *
 * Every message body starts "seq:sched_ns:" (the rest is filler up to --size); consumers
 * mark each seq in a bitmap, which finds duplicates and, at the end, messages never
 * consumed. Counting: a warm-up (discarded), then the measured window; an operation counts
 * when it completes inside the window.
 *
 * Honesty checks, which make the run exit non-zero:
 *   send, send-batch  after the run, the queue must hold at least every confirmed message
 *   cycle             producers stop after the window; consumers drain until every
 *                     confirmed message has been consumed (or 15 s without progress)
 *   latency           every message scheduled in the window must arrive (10 s for the tail);
 *                     those not published in time or still queued make the run "saturated"
 *                     (its percentiles are then lower bounds), only the rest count as lost */
#ifndef SLUICE_BENCH_PEER_H
#define SLUICE_BENCH_PEER_H

#include <stddef.h>
#include <stdint.h>

typedef enum { PW_SEND, PW_SEND_BATCH, PW_CYCLE, PW_LATENCY } peer_workload;

typedef struct peer_opts {
    peer_workload w;
    const char *workload_name;
    const char *system; /* label of the JSON line */
    const char *url;    /* broker address, in the client library's form */
    const char *queue;  /* queue / stream name */
    const char *kind;   /* broker-specific variant (rabbitmq: classic, quorum) */
    int producers, consumers;
    double duration, warmup;
    size_t size;
    int batch;
    double rate;
    int server_pid;
} peer_opts;

/* Called by a consumer for each message it received (the body is borrowed). */
typedef void (*peer_msg_fn)(void *ctx, const char *body, size_t len);

typedef struct peer_ops {
    const char *system; /* default --system */
    const char *url;    /* default --url */
    /* Deletes and declares the queue (or stream + durable consumer): 0, or -1. */
    int (*setup)(const peer_opts *o);
    /* Deletes the queue, so that the next workload does not share the disk with it. */
    void (*teardown)(const peer_opts *o);
    /* Messages stored and not yet acknowledged, into *n: 0, or -1. */
    int (*depth)(const peer_opts *o, uint64_t *n);
    /* One connection for a producer or a consumer thread; NULL on failure. */
    void *(*open)(const peer_opts *o, int consumer);
    void (*close)(void *c);
    /* Publishes the n bodies (borrowed, len bytes each) and returns once the broker has
     * confirmed them: the number confirmed (n on success), or -1 when the connection is
     * unusable (the caller reopens it). */
    int (*publish)(void *c, char *const *bodies, size_t len, int n);
    /* Waits up to timeout_ms for messages, passes up to max of them to fn and acknowledges
     * them before returning: the number acknowledged, or -1 when the connection is
     * unusable. */
    int (*consume)(void *c, int max, int timeout_ms, peer_msg_fn fn, void *ctx);
} peer_ops;

/* Parses the options, runs the workload, prints the JSON line. Returns the exit status. */
int peer_main(int argc, char **argv, const peer_ops *ops);

/* For the clients' error messages: prints once per distinct call site and kind. */
void peer_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
