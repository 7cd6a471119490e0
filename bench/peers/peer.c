/* The peer clients' harness: threads, phases, counting and the honesty checks described in
 * peer.h. The clock is CLOCK_MONOTONIC of this one process, so the scheduled time carried in
 * a message body and its receipt time are directly comparable.
 *
 * Invariants: a sequence number is handed out once (atomic counter); a consumer counts a
 * message the first time its bit is set in `seen` (atomic or), so `consumed` never counts a
 * redelivery twice; per-thread histograms are merged under `mu` when a thread ends. */
#include "peer.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "hist.h"
#include "procstat.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

enum { PH_WARMUP, PH_MEASURE, PH_DRAIN };

/* Messages tracked in the seen bitmap; calloc'ed pages are only touched where written. */
#define SEEN_BITS (1ull << 28)
/* A consumer's wait for messages: short enough to notice the end of a run quickly. */
#define CONSUME_WAIT_MS 1000
/* How long the cycle drain may go without progress, and the latency tail's limit. */
#define DRAIN_IDLE_NS  (15ull * 1000000000ull)
#define LAT_TAIL_NS    (10ull * 1000000000ull)
#define JOIN_GRACE_SEC 30

static const char *const workload_names[] = {"send", "send-batch", "cycle", "latency"};

static struct {
    peer_opts o;
    const peer_ops *ops;
    atomic_int phase;
    atomic_int stop_producers;
    atomic_int stop_consumers;
    uint64_t start_ns, t0_ns, t1_ns;
    double srv_cpu0, srv_cpu1, cli_cpu0, cli_cpu1;

    atomic_uint_fast64_t next_seq;
    atomic_uint_fast64_t win_requests, win_messages, win_produced;
    atomic_uint_fast64_t confirmed; /* whole run */
    atomic_uint_fast64_t consumed;  /* whole run, distinct */
    atomic_uint_fast64_t dups;
    atomic_uint_fast64_t errors;
    atomic_uint_fast64_t untracked; /* seq beyond SEEN_BITS */
    _Atomic uint64_t *seen;

    /* latency */
    uint64_t lat_first, lat_end;
    atomic_uint_fast64_t lat_received;
    atomic_uint_fast64_t lat_sent; /* measured messages published and confirmed */
    atomic_int producers_left;

    pthread_mutex_t mu;
    hist lat;
} g = {.mu = PTHREAD_MUTEX_INITIALIZER};

void peer_warn(const char *fmt, ...)
{
    /* Errors under load repeat by the thousand; the first few say what happened. */
    static atomic_int printed;
    if (atomic_fetch_add(&printed, 1) >= 5)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("peer: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void sleep_until(uint64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
                          .tv_nsec = (long)(ns % 1000000000u)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

/* ---------------------------------------------------------------- messages */

static void fill_body(char *body, size_t size, uint64_t seq, uint64_t sched)
{
    int n = snprintf(body, size + 1, "%" PRIu64 ":%" PRIu64 ":", seq, sched);
    if (n < 0)
        n = 0;
    if ((size_t)n < size)
        memset(body + n, 'x', size - (size_t)n);
    body[size] = 0;
}

typedef struct consumer_state {
    hist lat;
} consumer_state;

static void on_message(void *ctx, const char *body, size_t len)
{
    consumer_state *cs = ctx;
    uint64_t now = clock_mono_ns();
    char tmp[48];
    size_t n = len < sizeof tmp - 1 ? len : sizeof tmp - 1;
    memcpy(tmp, body, n);
    tmp[n] = 0;
    char *end;
    uint64_t seq = strtoull(tmp, &end, 10);
    if (*end != ':') {
        atomic_fetch_add(&g.errors, 1);
        peer_warn("a message without a sequence number");
        return;
    }
    uint64_t sched = strtoull(end + 1, &end, 10);
    if (seq >= SEEN_BITS) {
        atomic_fetch_add(&g.untracked, 1);
        atomic_fetch_add(&g.consumed, 1);
        return;
    }
    uint64_t bit = 1ull << (seq % 64);
    if (atomic_fetch_or(&g.seen[seq / 64], bit) & bit) {
        atomic_fetch_add(&g.dups, 1);
        return;
    }
    atomic_fetch_add(&g.consumed, 1);
    if (g.o.w == PW_LATENCY && seq >= g.lat_first && seq < g.lat_end) {
        hist_record(&cs->lat, now > sched ? now - sched : 0);
        atomic_fetch_add(&g.lat_received, 1);
    }
}

/* ---------------------------------------------------------------- threads */

static void merge_locked(const hist *h)
{
    if (h->total == 0)
        return;
    for (unsigned i = 0; i < HIST_BUCKETS; i++)
        g.lat.counts[i] += h->counts[i];
    if (g.lat.total == 0 || h->min < g.lat.min)
        g.lat.min = h->min;
    if (h->max > g.lat.max)
        g.lat.max = h->max;
    g.lat.total += h->total;
}

static void *reopen(void *c, int consumer)
{
    if (c)
        g.ops->close(c);
    for (;;) {
        c = g.ops->open(&g.o, consumer);
        if (c)
            return c;
        atomic_fetch_add(&g.errors, 1);
        if (consumer ? atomic_load(&g.stop_consumers) : atomic_load(&g.stop_producers))
            return NULL;
        usleep(100000);
    }
}

static void *producer(void *arg)
{
    int n = g.o.w == PW_SEND_BATCH || g.o.w == PW_CYCLE ? g.o.batch : 1;
    char **bodies = xcalloc((size_t)n, sizeof *bodies);
    for (int i = 0; i < n; i++)
        bodies[i] = xmalloc(g.o.size + 1);
    hist *h = xmalloc(sizeof *h);
    hist_reset(h);
    void *c = reopen(NULL, 0);
    while (c && !atomic_load(&g.stop_producers)) {
        uint64_t t;
        if (g.o.w == PW_LATENCY) {
            uint64_t seq = atomic_fetch_add(&g.next_seq, 1);
            if (seq >= g.lat_end)
                break;
            uint64_t sched = g.start_ns + (uint64_t)((double)seq * 1e9 / g.o.rate);
            sleep_until(sched);
            fill_body(bodies[0], g.o.size, seq, sched);
            t = sched;
        } else {
            uint64_t seq = atomic_fetch_add(&g.next_seq, (uint64_t)n);
            t = clock_mono_ns();
            for (int i = 0; i < n; i++)
                fill_body(bodies[i], g.o.size, seq + (uint64_t)i, t);
        }
        int r = g.ops->publish(c, bodies, g.o.size, n);
        uint64_t done = clock_mono_ns();
        if (r < 0) {
            atomic_fetch_add(&g.errors, (uint64_t)n);
            c = reopen(c, 0);
            continue;
        }
        if (r < n)
            atomic_fetch_add(&g.errors, (uint64_t)(n - r));
        atomic_fetch_add(&g.confirmed, (uint64_t)r);
        if (g.o.w == PW_LATENCY && r == 1 && t >= g.start_ns + (uint64_t)(g.o.warmup * 1e9))
            atomic_fetch_add(&g.lat_sent, 1);
        if (atomic_load(&g.phase) != PH_MEASURE)
            continue;
        atomic_fetch_add(&g.win_requests, 1);
        if (g.o.w == PW_CYCLE)
            atomic_fetch_add(&g.win_produced, (uint64_t)r);
        else if (g.o.w != PW_LATENCY)
            atomic_fetch_add(&g.win_messages, (uint64_t)r);
        if (g.o.w != PW_LATENCY)
            hist_record(h, done - t);
    }
    if (c)
        g.ops->close(c);
    pthread_mutex_lock(&g.mu);
    merge_locked(h);
    pthread_mutex_unlock(&g.mu);
    for (int i = 0; i < n; i++)
        xfree(bodies[i]);
    xfree(bodies);
    xfree(h);
    atomic_fetch_sub(&g.producers_left, 1);
    return NULL;
}

static void *consumer(void *arg)
{
    consumer_state *cs = xmalloc(sizeof *cs);
    hist_reset(&cs->lat);
    void *c = reopen(NULL, 1);
    while (c && !atomic_load(&g.stop_consumers)) {
        int r = g.ops->consume(c, g.o.batch, CONSUME_WAIT_MS, on_message, cs);
        if (r < 0) {
            atomic_fetch_add(&g.errors, 1);
            c = reopen(c, 1);
            continue;
        }
        if (r > 0 && g.o.w == PW_CYCLE && atomic_load(&g.phase) == PH_MEASURE) {
            atomic_fetch_add(&g.win_requests, 1);
            atomic_fetch_add(&g.win_messages, (uint64_t)r);
        }
    }
    if (c)
        g.ops->close(c);
    pthread_mutex_lock(&g.mu);
    merge_locked(&cs->lat); /* empty unless latency */
    pthread_mutex_unlock(&g.mu);
    xfree(cs);
    return NULL;
}

/* ---------------------------------------------------------------- options */

static void usage(const peer_ops *ops)
{
    fprintf(stderr,
            "usage: %s-bench WORKLOAD [options]   (WORKLOAD: send, send-batch, cycle, latency)\n"
            "  --url URL         broker (default %s)\n"
            "  --queue NAME      queue / stream (default bench-WORKLOAD)\n"
            "  --kind KIND       broker-specific variant (rabbitmq: classic, quorum)\n"
            "  --system NAME     label of the JSON line (default %s)\n"
            "  --conns N         connections (default 32); cycle: half producers, half "
            "consumers;\n"
            "                    latency: producers\n"
            "  --consumers N     consumer connections (cycle: conns/2, latency: 4)\n"
            "  --duration S      measured seconds (default 10)\n"
            "  --warmup S        warm-up seconds, discarded (default 2)\n"
            "  --size BYTES      message size (default 1024)\n"
            "  --batch N         messages per publish (send-batch, cycle) and per fetch "
            "(default 10)\n"
            "  --rate N          latency: messages per second (default 1000)\n"
            "  --server-pid PID  report the broker's CPU time and RSS\n",
            ops->system, ops->url, ops->system);
    exit(2);
}

static int parse(int argc, char **argv, const peer_ops *ops)
{
    static const struct option longs[] = {
        {"url", 1, 0, 'u'},      {"queue", 1, 0, 'q'},  {"kind", 1, 0, 'k'},
        {"system", 1, 0, 's'},   {"conns", 1, 0, 'c'},  {"consumers", 1, 0, 'C'},
        {"duration", 1, 0, 'd'}, {"warmup", 1, 0, 'w'}, {"size", 1, 0, 'S'},
        {"batch", 1, 0, 'b'},    {"rate", 1, 0, 'r'},   {"server-pid", 1, 0, 'p'},
        {"help", 0, 0, 'h'},     {0, 0, 0, 0}};
    peer_opts *o = &g.o;
    if (argc < 2 || argv[1][0] == '-')
        usage(ops);
    o->workload_name = argv[1];
    int found = 0;
    for (int i = 0; i < 4; i++)
        if (strcmp(argv[1], workload_names[i]) == 0) {
            o->w = (peer_workload)i;
            found = 1;
        }
    if (!found)
        usage(ops);
    o->system = ops->system;
    o->url = ops->url;
    o->kind = "";
    o->duration = 10;
    o->warmup = 2;
    o->size = 1024;
    o->batch = 10;
    o->rate = 1000;
    int conns = 32, consumers = -1;
    optind = 2;
    int ch;
    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (ch) {
        case 'u':
            o->url = optarg;
            break;
        case 'q':
            o->queue = optarg;
            break;
        case 'k':
            o->kind = optarg;
            break;
        case 's':
            o->system = optarg;
            break;
        case 'c':
            conns = atoi(optarg);
            break;
        case 'C':
            consumers = atoi(optarg);
            break;
        case 'd':
            o->duration = atof(optarg);
            break;
        case 'w':
            o->warmup = atof(optarg);
            break;
        case 'S':
            o->size = (size_t)strtoull(optarg, NULL, 10);
            break;
        case 'b':
            o->batch = atoi(optarg);
            break;
        case 'r':
            o->rate = atof(optarg);
            break;
        case 'p':
            o->server_pid = atoi(optarg);
            break;
        default:
            usage(ops);
        }
    }
    if (conns < 1 || o->duration <= 0 || o->warmup < 0 || o->batch < 1 || o->batch > 1000 ||
        o->rate <= 0 || o->size < 48 || o->size > (1u << 20))
        usage(ops);
    switch (o->w) {
    case PW_SEND:
    case PW_SEND_BATCH:
        o->producers = conns;
        o->consumers = 0;
        break;
    case PW_CYCLE:
        o->consumers = consumers > 0 ? consumers : (conns + 1) / 2;
        o->producers = conns - o->consumers > 0 ? conns - o->consumers : 1;
        break;
    case PW_LATENCY:
        o->producers = conns;
        o->consumers = consumers > 0 ? consumers : 4;
        break;
    }
    static char qn[64];
    if (!o->queue) {
        snprintf(qn, sizeof qn, "bench-%s", o->workload_name);
        o->queue = qn;
    }
    return 0;
}

/* ---------------------------------------------------------------- run */

static void mark(int phase)
{
    uint64_t now = clock_mono_ns();
    double cli = self_cpu_s(), srv = g.o.server_pid ? proc_cpu_s(g.o.server_pid) : 0;
    if (phase == PH_MEASURE) {
        g.t0_ns = now;
        g.cli_cpu0 = cli;
        g.srv_cpu0 = srv;
    } else {
        g.t1_ns = now;
        g.cli_cpu1 = cli;
        g.srv_cpu1 = srv;
    }
    atomic_store(&g.phase, phase);
}

/* Joins t, giving it JOIN_GRACE_SEC; a thread stuck in a broker call is left behind (the
 * process exits right after the report). Returns 0, or -1 if it did not end. */
static int join(pthread_t t)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += JOIN_GRACE_SEC;
    return pthread_timedjoin_np(t, NULL, &ts) == 0 ? 0 : -1;
}

int peer_main(int argc, char **argv, const peer_ops *ops)
{
    g.ops = ops;
    parse(argc, argv, ops);
    peer_opts *o = &g.o;
    int rc = 0, stuck = 0;
    char verify[256] = "ok";
    pthread_t *prod = NULL, *cons = NULL;

    g.seen = xcalloc(SEEN_BITS / 64, sizeof *g.seen);
    hist_reset(&g.lat);
    if (ops->setup(o) < 0) {
        fprintf(stderr, "peer: %s: setting up queue %s failed\n", o->system, o->queue);
        rc = 1;
        goto fail;
    }
    if (o->w == PW_LATENCY) {
        g.lat_first = (uint64_t)(o->warmup * o->rate);
        g.lat_end = (uint64_t)((o->warmup + o->duration) * o->rate);
    }
    prod = xcalloc((size_t)o->producers, sizeof *prod);
    cons = xcalloc((size_t)(o->consumers ? o->consumers : 1), sizeof *cons);
    atomic_store(&g.producers_left, o->producers);
    /* Consumers first, so that a latency run's first message finds one waiting; the
     * schedule starts once every connection had a moment to open. */
    g.start_ns = clock_mono_ns() + 500000000u;
    for (int i = 0; i < o->consumers; i++)
        pthread_create(&cons[i], NULL, consumer, NULL);
    for (int i = 0; i < o->producers; i++)
        pthread_create(&prod[i], NULL, producer, NULL);
    sleep_until(g.start_ns);
    sleep_until(g.start_ns + (uint64_t)(o->warmup * 1e9));
    mark(PH_MEASURE);
    sleep_until(g.start_ns + (uint64_t)((o->warmup + o->duration) * 1e9));
    mark(PH_DRAIN);

    if (o->w == PW_LATENCY) {
        uint64_t expected = g.lat_end - g.lat_first, deadline = clock_mono_ns() + LAT_TAIL_NS;
        while (atomic_load(&g.lat_received) < expected && clock_mono_ns() < deadline)
            usleep(10000);
    }
    atomic_store(&g.stop_producers, 1);
    for (int i = 0; i < o->producers; i++)
        stuck += join(prod[i]) < 0;
    if (o->w == PW_CYCLE) {
        uint64_t last = atomic_load(&g.consumed), progress = clock_mono_ns();
        while (atomic_load(&g.consumed) < atomic_load(&g.confirmed)) {
            usleep(10000);
            uint64_t now = clock_mono_ns(), c = atomic_load(&g.consumed);
            if (c != last) {
                last = c;
                progress = now;
            } else if (now - progress > DRAIN_IDLE_NS) {
                break;
            }
        }
    }
    atomic_store(&g.stop_consumers, 1);
    for (int i = 0; i < o->consumers; i++)
        stuck += join(cons[i]) < 0;
    if (stuck) {
        snprintf(verify, sizeof verify, "FAILED: %d threads stuck in the client library", stuck);
        rc = 3;
    }

    /* ------------------------------------------------ honesty checks */
    uint64_t confirmed = atomic_load(&g.confirmed), consumed = atomic_load(&g.consumed);
    uint64_t stored = 0, missing = 0, lost = 0;
    if (o->w == PW_SEND || o->w == PW_SEND_BATCH) {
        if (ops->depth(o, &stored) < 0) {
            snprintf(verify, sizeof verify, "FAILED: could not read the queue depth");
            rc = 3;
        } else if (stored < confirmed) {
            missing = confirmed - stored;
            snprintf(verify, sizeof verify,
                     "FAILED: %" PRIu64 " confirmed messages are not in the queue (%" PRIu64
                     " stored)",
                     missing, stored);
            rc = 3;
        }
    } else if (o->w == PW_CYCLE && consumed < confirmed) {
        missing = confirmed - consumed;
        snprintf(verify, sizeof verify,
                 "FAILED: %" PRIu64 " of %" PRIu64 " confirmed messages never consumed", missing,
                 confirmed);
        rc = 3;
    } else if (o->w == PW_LATENCY) {
        /* A broker that cannot keep up with the rate leaves messages unpublished (producers
         * behind schedule) or queued after the tail: that is saturation, reported as such.
         * Only published messages that are neither received nor still queued are lost. */
        uint64_t expected = g.lat_end - g.lat_first, got = atomic_load(&g.lat_received);
        uint64_t sent = atomic_load(&g.lat_sent), queued = 0;
        uint64_t unsent = expected > sent ? expected - sent : 0;
        uint64_t pending = sent > got ? sent - got : 0;
        if (pending > 0) {
            usleep(300000); /* a closed consumer's unacknowledged messages go back first */
            if (ops->depth(o, &queued) < 0)
                queued = 0;
        }
        lost = pending > queued ? pending - queued : 0;
        if (lost > 0) {
            snprintf(verify, sizeof verify,
                     "FAILED: %" PRIu64 " of %" PRIu64
                     " measured messages were confirmed but are neither received nor queued",
                     lost, expected);
            rc = 3;
        } else if (unsent + pending > 0) {
            snprintf(verify, sizeof verify,
                     "saturated: of %" PRIu64 " scheduled messages %" PRIu64
                     " were not published and %" PRIu64 " not received within the tail (%" PRIu64
                     " queued)",
                     expected, unsent, pending, queued);
        }
    }

    ops->teardown(o);

    /* ------------------------------------------------ report */
    double secs = o->w == PW_LATENCY ? o->duration : (double)(g.t1_ns - g.t0_ns) / 1e9;
    uint64_t msgs =
        o->w == PW_LATENCY ? atomic_load(&g.lat_received) : atomic_load(&g.win_messages);
    uint64_t errors = atomic_load(&g.errors) + missing + lost;
    double cli_cpu = g.cli_cpu1 - g.cli_cpu0;
    printf("{\"system\":\"%s\",\"workload\":\"%s\",\"conns\":%d,\"seconds\":%.3f,"
           "\"requests_per_s\":%.1f,\"messages_per_s\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
           "\"p999_ms\":%.3f,\"max_ms\":%.3f,\"errors\":%" PRIu64 ",\"size\":%zu",
           o->system, o->workload_name, o->producers + o->consumers, secs,
           (double)atomic_load(&g.win_requests) / secs, (double)msgs / secs,
           (double)hist_percentile(&g.lat, 50) / 1e6, (double)hist_percentile(&g.lat, 99) / 1e6,
           (double)hist_percentile(&g.lat, 99.9) / 1e6, (double)hist_percentile(&g.lat, 100) / 1e6,
           errors, o->size);
    if (o->w == PW_SEND_BATCH || o->w == PW_CYCLE)
        printf(",\"batch\":%d", o->batch);
    if (o->w == PW_CYCLE)
        printf(",\"producers\":%d,\"consumers\":%d,\"produced_per_s\":%.1f", o->producers,
               o->consumers, (double)atomic_load(&g.win_produced) / secs);
    if (o->w == PW_LATENCY)
        printf(",\"rate\":%.0f,\"producers\":%d,\"consumers\":%d,\"expected\":%" PRIu64
               ",\"received\":%" PRIu64 ",\"missing\":%" PRIu64 ",\"sent\":%" PRIu64
               ",\"lost\":%" PRIu64,
               o->rate, o->producers, o->consumers, g.lat_end - g.lat_first,
               atomic_load(&g.lat_received), g.lat_end - g.lat_first - atomic_load(&g.lat_received),
               atomic_load(&g.lat_sent), lost);
    printf(",\"duplicates\":%" PRIu64 ",\"confirmed\":%" PRIu64, atomic_load(&g.dups), confirmed);
    if (o->w == PW_SEND || o->w == PW_SEND_BATCH)
        printf(",\"stored\":%" PRIu64, stored);
    else
        printf(",\"consumed\":%" PRIu64, consumed);
    if (*o->kind)
        printf(",\"kind\":\"%s\"", o->kind);
    printf(",\"verify\":\"%s\",\"loadgen_cpu_pct\":%.1f", verify, 100.0 * cli_cpu / secs);
    if (o->server_pid) {
        double cpu = g.srv_cpu1 - g.srv_cpu0;
        printf(",\"server_cpu_s\":%.3f,\"server_cpu_pct\":%.1f", cpu, 100.0 * cpu / secs);
        if (msgs > 0)
            printf(",\"server_cpu_s_per_100k\":%.3f", cpu / (double)msgs * 100000.0);
        printf(",\"server_rss_kib\":%ld,\"server_hwm_kib\":%ld",
               proc_status_kib(o->server_pid, "VmRSS"), proc_status_kib(o->server_pid, "VmHWM"));
    }
    printf("}\n");
    fflush(stdout);
    fprintf(stderr,
            "%-16s %-10s conns=%-3d %7.2fs  %10.0f msg/s  p50 %.3f  p99 %.3f  p99.9 %.3f ms  "
            "errors %" PRIu64 "  verify: %s\n",
            o->system, o->workload_name, o->producers + o->consumers, secs, (double)msgs / secs,
            (double)hist_percentile(&g.lat, 50) / 1e6, (double)hist_percentile(&g.lat, 99) / 1e6,
            (double)hist_percentile(&g.lat, 99.9) / 1e6, errors, verify);
    if (stuck) /* threads inside the library still use the globals: do not free or return */
        _exit(rc);
fail:
    xfree(prod);
    xfree(cons);
    xfree((void *)g.seen);
    return rc;
}
