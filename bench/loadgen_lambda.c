/* sluice-loadgen's Lambda workloads (issue 7). Each creates its own function from --zip
 * (--runtime, --handler) through the Lambda REST API, so each expects a fresh server.
 *
 *   lambda-invoke        closed loop: every connection POSTs Invoke (RequestResponse) of a
 *                        --size event to one function and checks that the answer is the
 *                        no-op's `{}`; messages/s = invocations/s, latencies per request.
 *                        Connections beyond --lambda-concurrency would be throttled (429,
 *                        counted as errors): run.sh keeps them below it.
 *   lambda-cold          --count times, one after another: CreateFunction of a new function,
 *                        then Invoke until the first response (the worker starts cold),
 *                        then DeleteFunction; percentiles of create -> first response, and
 *                        the medians of its two halves. A sequential driver in C rather than
 *                        a Python one: the figure is tens of milliseconds, and a client that
 *                        spends ~1 ms of its own per boto3 call would blur it.
 *   lambda-sqs-latency   open loop like `latency`: SendMessage at --rate to a queue whose
 *                        event source mapping (BatchSize 10, no batching window) invokes the
 *                        C probe (bench/lambda/sqs_probe.c), which reports each record's
 *                        "seq:sched:" and the moment its handler started (CLOCK_MONOTONIC) in
 *                        a UDP datagram; the latency is scheduled send -> handler start.
 *
 * loadgen.c calls in through the lambda_* hooks of loadgen.h. */
#include "common/base64.h"
#include "common/clock.h"
#include "loadgen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROLE_ARN        "arn:aws:iam::000000000000:role/bench"
#define JSON_HEADERS    "Content-Type: application/json\r\n"
#define FUNCTIONS_PATH  "/2015-03-31/functions"
#define SETUP_TIMEOUT_S 30

struct lambda_run {
    char function[128];
    buf zip_b64;
    uv_udp_t udp; /* lambda-sqs-latency: the probe's reports */
    int udp_open;
    uint64_t bad_reports;
};

int lambda_workload(const bench *b)
{
    return b->w == W_LAMBDA_INVOKE || b->w == W_LAMBDA_COLD || b->w == W_LAMBDA_SQS_LATENCY;
}

/* ---- the REST API ----------------------------------------------------------------------- */

static void read_zip(bench *b, lambda_run *r)
{
    if (!b->zip)
        die("%s needs --zip (a function zip)", b->w == W_LAMBDA_COLD ? "lambda-cold" : "this");
    FILE *f = fopen(b->zip, "rb");
    if (!f)
        die("cannot open %s: %s", b->zip, strerror(errno));
    buf raw = BUF_INIT;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(&raw, chunk, n);
    fclose(f);
    base64_encode(&r->zip_b64, raw.data, raw.len);
    buf_free(&raw);
}

/* CreateFunction NAME from the zip; env_json: the Variables object, or NULL. */
static int create_function(bench *b, const char *name, const char *env_json, buf *resp)
{
    buf in = BUF_INIT;
    buf_printf(&in,
               "{\"FunctionName\":\"%s\",\"Runtime\":\"%s\",\"Role\":\"" ROLE_ARN
               "\",\"Handler\":\"%s\",\"Timeout\":30,\"MemorySize\":256,\"Code\":{\"ZipFile\":\"",
               name, b->runtime, b->handler);
    buf_append(&in, b->lam->zip_b64.data, b->lam->zip_b64.len);
    buf_puts(&in, "\"}");
    if (env_json)
        buf_printf(&in, ",\"Environment\":{\"Variables\":%s}", env_json);
    buf_puts(&in, "}");
    int st = sync_http(b, "POST", FUNCTIONS_PATH, JSON_HEADERS, in.data, in.len, resp);
    buf_free(&in);
    return st;
}

static void put_invoke_path(buf *out, const char *name)
{
    buf_printf(out, FUNCTIONS_PATH "/%s/invocations", name);
}

/* The event the invocations carry: {"data":"..."} of --size bytes. */
static void put_event(bench *b, buf *out)
{
    size_t fixed = strlen("{\"data\":\"\"}");
    buf_puts(out, "{\"data\":\"");
    put_payload(out, b->size > fixed ? b->size - fixed : 0);
    buf_puts(out, "\"}");
}

static int invoke_once(bench *b, const char *name, buf *resp)
{
    buf path = BUF_INIT, event = BUF_INIT;
    put_invoke_path(&path, name);
    put_event(b, &event);
    int st = sync_http(b, "POST", path.data, JSON_HEADERS, event.data, event.len, resp);
    buf_free(&path);
    buf_free(&event);
    return st;
}

static void delete_function(bench *b, const char *name)
{
    buf path = BUF_INIT, resp = BUF_INIT;
    buf_printf(&path, FUNCTIONS_PATH "/%s", name);
    int st = sync_http(b, "DELETE", path.data, NULL, "", 0, &resp);
    if (st != 204)
        fprintf(stderr, "sluice-loadgen: DeleteFunction %s: HTTP %d %s\n", name, st,
                resp.data ? resp.data : "");
    buf_free(&path);
    buf_free(&resp);
}

static int is_noop_answer(const char *body, size_t len)
{
    return len == 2 && memcmp(body, "{}", 2) == 0;
}

/* ---- lambda-sqs-latency: the probe's reports -------------------------------------------- */

static void on_udp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *out)
{
    static char dgram[512];
    *out = uv_buf_init(dgram, sizeof dgram - 1);
}

/* "HANDLER_NS seq:sched:..." */
static void on_udp_recv(uv_udp_t *u, ssize_t n, const uv_buf_t *ub, const struct sockaddr *from,
                        unsigned flags)
{
    bench *b = u->data;
    if (n <= 0)
        return;
    ub->base[n] = 0;
    char *end;
    uint64_t handler_ns = strtoull(ub->base, &end, 10);
    if (*end != ' ' || handler_ns == 0) {
        b->lam->bad_reports++;
        return;
    }
    on_latency_message(b, end + 1, handler_ns);
}

static int start_probe_socket(bench *b)
{
    lambda_run *r = b->lam;
    struct sockaddr_in sa;
    uv_ip4_addr("127.0.0.1", 0, &sa);
    uv_udp_init(b->loop, &r->udp);
    r->udp.data = b;
    r->udp_open = 1;
    if (uv_udp_bind(&r->udp, (const struct sockaddr *)&sa, 0) != 0)
        die("cannot bind the probe's UDP socket");
    int len = sizeof sa;
    uv_udp_getsockname(&r->udp, (struct sockaddr *)&sa, &len);
    uv_udp_recv_start(&r->udp, on_udp_alloc, on_udp_recv);
    return ntohs(sa.sin_port);
}

static void setup_sqs_trigger(bench *b)
{
    lambda_run *r = b->lam;
    int port = start_probe_socket(b);
    b->queue_url_json = create_queue(b, b->queue, 0, 0);
    char *arn = queue_arn(b, b->queue_url_json);
    char env[96];
    snprintf(env, sizeof env, "{\"BENCH_PROBE_ADDR\":\"127.0.0.1:%d\"}", port);
    buf resp = BUF_INIT, in = BUF_INIT;
    int st = create_function(b, r->function, env, &resp);
    if (st != 201)
        die("CreateFunction %s: HTTP %d %s", r->function, st, resp.data ? resp.data : "");
    buf_printf(&in,
               "{\"EventSourceArn\":\"%s\",\"FunctionName\":\"%s\",\"BatchSize\":10,"
               "\"MaximumBatchingWindowInSeconds\":0,\"Enabled\":true}",
               arn, r->function);
    st = sync_http(b, "POST", "/2015-03-31/event-source-mappings/", JSON_HEADERS, in.data, in.len,
                   &resp);
    if (st != 202)
        die("CreateEventSourceMapping: HTTP %d %s", st, resp.data ? resp.data : "");
    free(arn);
    buf_free(&in);
    buf_free(&resp);
}

/* ---- hooks ------------------------------------------------------------------------------ */

void lambda_setup(bench *b)
{
    lambda_run *r = b->lam = calloc(1, sizeof *b->lam);
    if (!r)
        die("out of memory");
    if (!b->runtime || !b->handler)
        die("the lambda workloads need --runtime and --handler");
    snprintf(r->function, sizeof r->function, "%s", b->queue);
    read_zip(b, r);
    if (b->w == W_LAMBDA_SQS_LATENCY) {
        setup_sqs_trigger(b);
        return;
    }
    if (b->w != W_LAMBDA_INVOKE)
        return;
    buf resp = BUF_INIT;
    int st = create_function(b, r->function, NULL, &resp);
    if (st != 201)
        die("CreateFunction %s: HTTP %d %s", r->function, st, resp.data ? resp.data : "");
    st = invoke_once(b, r->function, &resp);
    if (st != 200 || !is_noop_answer(resp.data, resp.len))
        die("the function does not answer {}: HTTP %d %s", st, resp.data ? resp.data : "");
    buf_free(&resp);
}

void lambda_build_invoke(bench *b, buf *out)
{
    buf path = BUF_INIT, event = BUF_INIT;
    put_invoke_path(&path, b->lam->function);
    put_event(b, &event);
    buf_printf(out,
               "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
               "Content-Length: %zu\r\n\r\n",
               path.data, b->host, b->port, event.len);
    buf_append(out, event.data, event.len);
    buf_free(&path);
    buf_free(&event);
}

int lambda_check_answer(conn *c)
{
    if (is_noop_answer(c->resp.data, c->resp.len))
        return 0;
    count_error(c->b, "Invoke: not the no-op's answer", c->status, c->resp.data, c->resp.len);
    return -1;
}

static void on_udp_closed(uv_handle_t *h) {}

void lambda_on_finish(bench *b)
{
    if (b->lam && b->lam->udp_open && !uv_is_closing((uv_handle_t *)&b->lam->udp))
        uv_close((uv_handle_t *)&b->lam->udp, on_udp_closed);
}

void lambda_report(bench *b, buf *o)
{
    buf_printf(o, ",\"runtime\":\"%s\",\"function\":\"%s\"", b->runtime, b->lam->function);
    if (b->lam->bad_reports)
        buf_printf(o, ",\"bad_reports\":%" PRIu64, b->lam->bad_reports);
}

void lambda_free(bench *b)
{
    if (!b->lam)
        return;
    buf_free(&b->lam->zip_b64);
    free(b->lam);
    b->lam = NULL;
}

/* ---- lambda-cold -------------------------------------------------------------------------- */

int lambda_cold(bench *b)
{
    lambda_run *r = b->lam = calloc(1, sizeof *b->lam);
    if (!r || !b->runtime || !b->handler)
        die("lambda-cold needs --zip, --runtime and --handler");
    read_zip(b, r);
    uint64_t count = b->count ? b->count : 20;
    hist total, create, first;
    hist_reset(&total);
    hist_reset(&create);
    hist_reset(&first);
    buf resp = BUF_INIT;
    uint64_t errors = 0;
    uint64_t t_start = clock_mono_ns();
    for (uint64_t i = 0; i < count; i++) {
        char name[160];
        snprintf(name, sizeof name, "%s-%" PRIu64, b->queue, i);
        uint64_t t0 = clock_mono_ns();
        int st = create_function(b, name, NULL, &resp);
        uint64_t t1 = clock_mono_ns();
        if (st != 201) {
            count_error(b, "CreateFunction", st, resp.data, resp.len);
            errors++;
            continue;
        }
        st = invoke_once(b, name, &resp);
        uint64_t t2 = clock_mono_ns();
        if (st != 200 || !is_noop_answer(resp.data, resp.len)) {
            count_error(b, "Invoke (cold)", st, resp.data, resp.len);
            errors++;
        } else {
            hist_record(&total, t2 - t0);
            hist_record(&create, t1 - t0);
            hist_record(&first, t2 - t1);
        }
        delete_function(b, name);
    }
    double secs = (double)(clock_mono_ns() - t_start) / 1e9;
    uint64_t ok = count - errors;
    printf("{\"system\":\"%s\",\"workload\":\"lambda-cold\",\"conns\":1,\"seconds\":%.3f,"
           "\"requests_per_s\":%.1f,\"messages_per_s\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
           "\"p999_ms\":%.3f,\"max_ms\":%.3f,\"errors\":%" PRIu64 ",\"size\":%zu,\"count\":%" PRIu64
           ",\"create_p50_ms\":%.3f,\"first_invoke_p50_ms\":%.3f,\"zip_bytes\":%zu,"
           "\"runtime\":\"%s\"}\n",
           b->system, secs, (double)ok / secs, (double)ok / secs, hist_percentile(&total, 50) / 1e6,
           hist_percentile(&total, 99) / 1e6, hist_percentile(&total, 99.9) / 1e6,
           hist_percentile(&total, 100) / 1e6, errors, b->size, ok,
           hist_percentile(&create, 50) / 1e6, hist_percentile(&first, 50) / 1e6,
           base64_decoded_len(r->zip_b64.data, r->zip_b64.len), b->runtime);
    fprintf(stderr,
            "%-16s lambda-cold %-16s x%" PRIu64 "  create -> first response p50 %.2f  p99 %.2f  "
            "max %.2f ms (create %.2f + first invoke %.2f)  errors %" PRIu64 "\n",
            b->system, b->runtime, ok, hist_percentile(&total, 50) / 1e6,
            hist_percentile(&total, 99) / 1e6, hist_percentile(&total, 100) / 1e6,
            hist_percentile(&create, 50) / 1e6, hist_percentile(&first, 50) / 1e6, errors);
    fflush(stdout);
    buf_free(&resp);
    lambda_free(b);
    return ok ? 0 : 1; /* failures are in the line's "errors" */
}
