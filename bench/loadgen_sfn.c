/* sluice-loadgen: the Step Functions workloads (issue 8's benchmark rows).
 *
 * Requests are AWS JSON 1.0 (`X-Amz-Target: AWSStepFunctions.<Op>`). Every workload creates
 * its own state machine (named --queue, default bench-WORKLOAD), so each expects a fresh
 * server. The execution input is {"data":"..."} of --size bytes.
 *
 *   sfn-express   closed loop: every connection calls StartSyncExecution of an EXPRESS
 *                 machine that is a chain of --count Pass states (default 100) and checks
 *                 that the answer says SUCCEEDED. messages/s = state transitions/s (states
 *                 run by the executions completed in the window); executions/s beside.
 *   sfn-standard  a STANDARD machine, the same chain. Every connection keeps --batch
 *                 executions running (default 10): StartExecution until it has that many,
 *                 then DescribeExecution of its oldest until it has ended (when it is still
 *                 RUNNING the connection waits before asking again: see poll_delay_ms), then
 *                 starts another. messages/s = state transitions/s of the
 *                 executions seen SUCCEEDED in the window; latencies are start -> seen ended.
 *                 The polls are part of the load (their count per execution is reported).
 *   sfn-saga      open loop like `latency`: StartSyncExecution at --rate of an EXPRESS saga
 *                 of four Task states, each a Lambda function created from --zip (--runtime,
 *                 --handler; run.sh uses the C no-op), each with a Catch to compensation
 *                 states that are never reached; latency = scheduled start -> the SUCCEEDED
 *                 answer, so a stalled server shows in the tail.
 *   sfn-park      StartExecution of --count executions (default 100000) of a STANDARD
 *                 machine whose first state is a Wait of a day: they stay parked. Runs until
 *                 every start is answered (like fill); run.sh reads the server's RSS before
 *                 and after. messages/s = starts/s; afterwards the last one must be RUNNING.
 *
 * loadgen.c calls in through the sfn_* hooks of loadgen.h. */
#include "common/alloc.h"
#include "common/base64.h"
#include "common/clock.h"
#include "loadgen.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROLE_ARN       "arn:aws:iam::000000000000:role/bench"
#define FUNCTIONS_PATH "/2015-03-31/functions"
#define MAX_PIPELINE   10 /* sfn-standard: executions per connection (--batch) */
#define SAGA_STEPS     4
#define PARK_SECONDS   86400

static const api API_SFN = {"AWSStepFunctions", "application/x-amz-json-1.0"};

/* sfn-standard: the executions one connection keeps running. */
typedef struct sfn_pipe {
    char *arn[MAX_PIPELINE]; /* oldest first */
    uint64_t started_ns[MAX_PIPELINE];
    int n;
    int polling;     /* the request in flight is a DescribeExecution (else a start) */
    int wait_before; /* the oldest was RUNNING: wait before polling again */
    uv_timer_t timer;
    int timer_open;
} sfn_pipe;

struct sfn_run {
    char machine_arn[512];
    int states; /* the Pass chain's length */
    buf input;  /* the execution input, JSON-escaped as a string value */
    buf req;    /* sfn-express: the fixed StartSyncExecution request */
    buf body;   /* scratch */
    sfn_pipe *pipes;
    int npipes;
    /* counters (window) */
    uint64_t executions, not_succeeded, polls;
    /* sfn-standard, all time */
    uint64_t started, lost_arns;
    uint64_t typical_ns; /* how long the last executions took, start -> seen ended (EWMA) */
    /* sfn-park */
    uint64_t park_issued, park_done;
    char last_arn[600];
    char verify[256];
    int verify_failed;
};

int sfn_workload(const bench *b)
{
    return b->w >= W_SFN_EXPRESS && b->w <= W_SFN_PARK;
}

/* ---- requests ---------------------------------------------------------------------------- */

static void put_request(bench *b, buf *out, const char *target, const buf *body)
{
    buf_reset(out);
    buf_printf(out,
               "POST / HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: %s\r\n"
               "X-Amz-Target: %s.%s\r\nContent-Length: %zu\r\n\r\n",
               b->host, b->port, API_SFN.content_type, API_SFN.prefix, target, body->len);
    buf_append(out, body->data, body->len);
}

/* The string value of "key" in a flat JSON answer, copied into out; 0, or -1 if absent. */
static int json_str_field(const buf *r, const char *key, char *out, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *p = r->data ? memmem(r->data, r->len, pat, strlen(pat)) : NULL;
    if (!p)
        return -1;
    const char *end = r->data + r->len;
    p += strlen(pat);
    while (p < end && (*p == ' ' || *p == ':'))
        p++;
    if (p >= end || *p != '"')
        return -1;
    p++;
    const char *q = memchr(p, '"', (size_t)(end - p));
    if (!q || (size_t)(q - p) >= cap)
        return -1;
    memcpy(out, p, (size_t)(q - p));
    out[q - p] = 0;
    return 0;
}

static int answer_status_is(const buf *r, const char *status)
{
    char got[32];
    return json_str_field(r, "status", got, sizeof got) == 0 && strcmp(got, status) == 0;
}

/* {"stateMachineArn":...,"input":"<input>"} (plus "name" if name) into r->body. */
static void put_start_body(sfn_run *r, const char *name)
{
    buf_reset(&r->body);
    buf_printf(&r->body, "{\"stateMachineArn\":\"%s\",", r->machine_arn);
    if (name)
        buf_printf(&r->body, "\"name\":\"%s\",", name);
    buf_puts(&r->body, "\"input\":\"");
    buf_append(&r->body, r->input.data, r->input.len);
    buf_puts(&r->body, "\"}");
}

/* ---- setup ------------------------------------------------------------------------------- */

/* A state machine of the given type and definition (JSON text); its ARN into r. */
static void create_machine(bench *b, const char *type, const buf *definition)
{
    buf in = BUF_INIT, resp = BUF_INIT;
    buf_puts(&in, "{\"name\":\"");
    json_escape(&in, b->queue, strlen(b->queue));
    buf_printf(&in, "\",\"type\":\"%s\",\"roleArn\":\"" ROLE_ARN "\",\"definition\":\"", type);
    json_escape(&in, definition->data, definition->len);
    buf_puts(&in, "\"}");
    int st = sync_call(b, &API_SFN, "CreateStateMachine", in.data, &resp);
    if (st != 200 || json_str_field(&resp, "stateMachineArn", b->sfn->machine_arn,
                                    sizeof b->sfn->machine_arn) != 0)
        die("CreateStateMachine %s: HTTP %d %s", b->queue, st, resp.data ? resp.data : "");
    buf_free(&in);
    buf_free(&resp);
}

/* S0 -> S1 -> ... -> S<n-1>, all Pass. */
static void chain_definition(buf *def, int n)
{
    buf_printf(def, "{\"Comment\":\"bench: %d Pass states\",\"StartAt\":\"S0\",\"States\":{", n);
    for (int i = 0; i < n; i++) {
        buf_printf(def, "%s\"S%d\":{\"Type\":\"Pass\",", i ? "," : "", i);
        if (i + 1 < n)
            buf_printf(def, "\"Next\":\"S%d\"}", i + 1);
        else
            buf_puts(def, "\"End\":true}");
    }
    buf_puts(def, "}}");
}

static void park_definition(buf *def)
{
    buf_printf(def,
               "{\"StartAt\":\"Park\",\"States\":{\"Park\":{\"Type\":\"Wait\",\"Seconds\":%d,"
               "\"Next\":\"Done\"},\"Done\":{\"Type\":\"Succeed\"}}}",
               PARK_SECONDS);
}

static void read_file_b64(const char *path, buf *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("cannot open %s", path);
    buf raw = BUF_INIT;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(&raw, chunk, n);
    fclose(f);
    base64_encode(out, raw.data, raw.len);
    buf_free(&raw);
}

/* CreateFunction NAME from the zip, then one Invoke that must succeed (the worker warm). */
static void create_saga_function(bench *b, const char *name, const buf *zip_b64, char *arn,
                                 size_t cap)
{
    buf in = BUF_INIT, resp = BUF_INIT, path = BUF_INIT;
    buf_printf(&in,
               "{\"FunctionName\":\"%s\",\"Runtime\":\"%s\",\"Role\":\"" ROLE_ARN
               "\",\"Handler\":\"%s\",\"Timeout\":30,\"MemorySize\":256,\"Code\":{\"ZipFile\":\"",
               name, b->runtime, b->handler);
    buf_append(&in, zip_b64->data, zip_b64->len);
    buf_puts(&in, "\"}}");
    int st = sync_http(b, "POST", FUNCTIONS_PATH, "Content-Type: application/json\r\n", in.data,
                       in.len, &resp);
    if (st != 201 || json_str_field(&resp, "FunctionArn", arn, cap) != 0)
        die("CreateFunction %s: HTTP %d %s", name, st, resp.data ? resp.data : "");
    buf_printf(&path, FUNCTIONS_PATH "/%s/invocations", name);
    st = sync_http(b, "POST", path.data, "Content-Type: application/json\r\n", "{}", 2, &resp);
    if (st != 200 || (resp.data && strstr(resp.data, "errorType")))
        die("Invoke %s: HTTP %d %s", name, st, resp.data ? resp.data : "");
    buf_free(&in);
    buf_free(&resp);
    buf_free(&path);
}

/* ValidateOrder -> ReserveInventory -> ProcessPayment -> ConfirmOrder, each a function
 * whose result goes under its own ResultPath; a failure of a later step is caught and
 * compensated (RefundPayment, ReleaseInventory, then OrderFailed). */
static void saga_definition(bench *b, buf *def)
{
    if (!b->zip || !b->runtime || !b->handler)
        die("sfn-saga needs --zip, --runtime and --handler (the steps' function)");
    static const char *const steps[SAGA_STEPS] = {"ValidateOrder", "ReserveInventory",
                                                  "ProcessPayment", "ConfirmOrder"};
    static const char *const undo[SAGA_STEPS] = {"OrderFailed", "OrderFailed", "ReleaseInventory",
                                                 "RefundPayment"};
    static const char *const comp[] = {"RefundPayment", "ReleaseInventory"};
    buf zip = BUF_INIT;
    read_file_b64(b->zip, &zip);
    char arn[SAGA_STEPS + 2][512], name[200];
    for (int i = 0; i < SAGA_STEPS; i++) {
        snprintf(name, sizeof name, "%s-%s", b->queue, steps[i]);
        create_saga_function(b, name, &zip, arn[i], sizeof arn[i]);
    }
    for (int i = 0; i < 2; i++) {
        snprintf(name, sizeof name, "%s-%s", b->queue, comp[i]);
        create_saga_function(b, name, &zip, arn[SAGA_STEPS + i], sizeof arn[0]);
    }
    buf_puts(def, "{\"Comment\":\"bench: a four-step order saga\",\"StartAt\":\"ValidateOrder\","
                  "\"States\":{");
    for (int i = 0; i < SAGA_STEPS; i++) {
        buf_printf(def,
                   "\"%s\":{\"Type\":\"Task\",\"Resource\":\"%s\",\"ResultPath\":\"$.%s\","
                   "\"Catch\":[{\"ErrorEquals\":[\"States.ALL\"],\"ResultPath\":\"$.error\","
                   "\"Next\":\"%s\"}],",
                   steps[i], arn[i], steps[i], undo[i]);
        if (i + 1 < SAGA_STEPS)
            buf_printf(def, "\"Next\":\"%s\"},", steps[i + 1]);
        else
            buf_puts(def, "\"End\":true},");
    }
    buf_printf(def,
               "\"RefundPayment\":{\"Type\":\"Task\",\"Resource\":\"%s\",\"ResultPath\":null,"
               "\"Next\":\"ReleaseInventory\"},"
               "\"ReleaseInventory\":{\"Type\":\"Task\",\"Resource\":\"%s\",\"ResultPath\":null,"
               "\"Next\":\"OrderFailed\"},"
               "\"OrderFailed\":{\"Type\":\"Fail\",\"Error\":\"OrderFailed\"}}}",
               arn[SAGA_STEPS], arn[SAGA_STEPS + 1]);
    buf_free(&zip);
}

void sfn_setup(bench *b)
{
    sfn_run *r = b->sfn = xcalloc(1, sizeof *b->sfn);
    size_t fixed = strlen("{\"data\":\"\"}");
    buf_puts(&r->input, "{\\\"data\\\":\\\"");
    put_payload(&r->input, b->size > fixed ? b->size - fixed : 0);
    buf_puts(&r->input, "\\\"}");
    buf def = BUF_INIT;
    switch (b->w) {
    case W_SFN_EXPRESS:
    case W_SFN_STANDARD:
        r->states = b->count ? (int)b->count : 100;
        chain_definition(&def, r->states);
        create_machine(b, b->w == W_SFN_EXPRESS ? "EXPRESS" : "STANDARD", &def);
        break;
    case W_SFN_SAGA:
        r->states = SAGA_STEPS;
        saga_definition(b, &def);
        create_machine(b, "EXPRESS", &def);
        break;
    case W_SFN_PARK:
        if (!b->count)
            b->count = 100000;
        park_definition(&def);
        create_machine(b, "STANDARD", &def);
        break;
    default:
        die("sfn_setup: not a Step Functions workload");
    }
    buf_free(&def);
    if (b->w == W_SFN_EXPRESS) {
        put_start_body(r, NULL);
        put_request(b, &r->req, "StartSyncExecution", &r->body);
    }
    if (b->w == W_SFN_STANDARD && (b->batch < 1 || b->batch > MAX_PIPELINE))
        die("sfn-standard: --batch (executions per connection) must be 1..%d", MAX_PIPELINE);
}

/* ---- sfn-standard: each connection's pipeline --------------------------------------------- */

static sfn_pipe *pipe_of(conn *c)
{
    bench *b = c->b;
    sfn_run *r = b->sfn;
    if (!r->pipes) {
        r->npipes = b->ncs;
        r->pipes = xcalloc((size_t)r->npipes, sizeof *r->pipes);
    }
    return &r->pipes[c - b->cs];
}

static void pipe_poll(conn *c, sfn_pipe *p)
{
    sfn_run *r = c->b->sfn;
    buf_reset(&r->body);
    buf_printf(&r->body, "{\"executionArn\":\"%s\"}", p->arn[0]);
    put_request(c->b, &c->out, "DescribeExecution", &r->body);
    p->polling = 1;
    if (measuring(c->b))
        r->polls++;
    issue(c, REQ_SFN, c->out.data, c->out.len);
}

static void on_pipe_timer(uv_timer_t *t)
{
    conn *c = t->data;
    if (c->b->ph < PH_DRAIN && c->connected && c->kind == REQ_NONE)
        pipe_poll(c, pipe_of(c));
}

static void pipe_pop(sfn_pipe *p)
{
    xfree(p->arn[0]);
    memmove(p->arn, p->arn + 1, (size_t)(p->n - 1) * sizeof *p->arn);
    memmove(p->started_ns, p->started_ns + 1, (size_t)(p->n - 1) * sizeof *p->started_ns);
    p->n--;
}

/* How long to wait before asking again about an execution of that age that was RUNNING:
 * until it is as old as the recent ones were when seen ended, then an eighth of its age
 * (1..50 ms), so an execution costs a few polls whatever its length. */
static uint64_t poll_delay_ms(const sfn_run *r, uint64_t age_ns)
{
    uint64_t expected = r->typical_ns * 9 / 10;
    if (age_ns + 1000000 < expected)
        return (expected - age_ns) / 1000000;
    uint64_t d = age_ns / 8000000;
    return d < 1 ? 1 : d > 50 ? 50 : d;
}

static int standard_next(conn *c)
{
    bench *b = c->b;
    sfn_pipe *p = pipe_of(c);
    if (p->n < b->batch) {
        put_start_body(b->sfn, NULL);
        put_request(b, &c->out, "StartExecution", &b->sfn->body);
        p->polling = 0;
        issue(c, REQ_SFN, c->out.data, c->out.len);
        return 1;
    }
    if (p->wait_before) {
        p->wait_before = 0;
        uint64_t delay = poll_delay_ms(b->sfn, clock_mono_ns() - p->started_ns[0]);
        if (!p->timer_open) {
            uv_timer_init(b->loop, &p->timer);
            p->timer.data = c;
            p->timer_open = 1;
        }
        uv_timer_start(&p->timer, on_pipe_timer, delay, 0);
        return 0;
    }
    pipe_poll(c, p);
    return 1;
}

static void standard_answer(conn *c, uint64_t now)
{
    bench *b = c->b;
    sfn_run *r = b->sfn;
    sfn_pipe *p = pipe_of(c);
    if (!p->polling) {
        char arn[600];
        if (json_str_field(&c->resp, "executionArn", arn, sizeof arn) != 0) {
            count_error(b, "StartExecution: no executionArn", c->status, c->resp.data, c->resp.len);
            return;
        }
        p->arn[p->n] = xstrdup(arn);
        p->started_ns[p->n++] = c->sent_ns;
        r->started++;
        return;
    }
    if (answer_status_is(&c->resp, "RUNNING")) {
        p->wait_before = 1;
        return;
    }
    if (answer_status_is(&c->resp, "SUCCEEDED")) {
        uint64_t took = now - p->started_ns[0];
        r->typical_ns = r->typical_ns ? (r->typical_ns * 7 + took) / 8 : took;
        if (measuring(b)) {
            r->executions++;
            b->win.messages += (uint64_t)r->states;
            hist_record(&b->win.lat, now - p->started_ns[0]);
        }
    } else {
        r->not_succeeded++;
        count_error(b, "an execution did not succeed", c->status, c->resp.data, c->resp.len);
    }
    pipe_pop(p);
}

/* ---- the engine's hooks -------------------------------------------------------------------- */

int sfn_next(conn *c)
{
    bench *b = c->b;
    sfn_run *r = b->sfn;
    switch (b->w) {
    case W_SFN_EXPRESS:
        issue(c, REQ_SFN, r->req.data, r->req.len);
        return 1;
    case W_SFN_STANDARD:
        return standard_next(c);
    case W_SFN_PARK: {
        if (r->park_issued >= b->count)
            return 0;
        char name[32];
        snprintf(name, sizeof name, "park-%" PRIu64, r->park_issued++);
        put_start_body(r, name);
        put_request(b, &c->out, "StartExecution", &r->body);
        c->seq = r->park_issued - 1;
        issue(c, REQ_SFN, c->out.data, c->out.len);
        return 1;
    }
    default:
        return 0;
    }
}

int sfn_park_done(const bench *b)
{
    return b->w == W_SFN_PARK && b->sfn->park_done >= b->count;
}

void sfn_latency_send(conn *c, uint64_t seq)
{
    sfn_run *r = c->b->sfn;
    char name[32];
    snprintf(name, sizeof name, "saga-%" PRIu64, seq);
    put_start_body(r, name);
    put_request(c->b, &c->out, "StartSyncExecution", &r->body);
    issue(c, REQ_SFN, c->out.data, c->out.len);
}

void sfn_on_response(conn *c, uint64_t now)
{
    bench *b = c->b;
    sfn_run *r = b->sfn;
    switch (b->w) {
    case W_SFN_EXPRESS:
        if (!answer_status_is(&c->resp, "SUCCEEDED")) {
            r->not_succeeded++;
            count_error(b, "StartSyncExecution did not succeed", c->status, c->resp.data,
                        c->resp.len);
        } else if (measuring(b)) {
            r->executions++;
            b->win.messages += (uint64_t)r->states;
            hist_record(&b->win.lat, now - c->sent_ns);
        }
        break;
    case W_SFN_STANDARD:
        standard_answer(c, now);
        break;
    case W_SFN_SAGA: {
        if (!answer_status_is(&c->resp, "SUCCEEDED")) {
            r->not_succeeded++;
            count_error(b, "the saga did not succeed", c->status, c->resp.data, c->resp.len);
            break;
        }
        /* the latency machinery's "seq:sched:" of the execution this answer ends */
        char mark[64];
        uint64_t sched = b->start_ns + (uint64_t)((double)c->lat_seq * 1e9 / b->rate);
        snprintf(mark, sizeof mark, "%" PRIu64 ":%" PRIu64 ":", c->lat_seq, sched);
        on_latency_message(b, mark, now);
        if (c->lat_seq >= b->lat_first)
            r->executions++;
        break;
    }
    case W_SFN_PARK:
        r->park_done++;
        if (json_str_field(&c->resp, "executionArn", r->last_arn, sizeof r->last_arn) != 0)
            count_error(b, "StartExecution: no executionArn", c->status, c->resp.data, c->resp.len);
        b->win.messages++;
        if (r->park_done % 10000 == 0 && b->count >= 100000)
            fprintf(stderr, "sluice-loadgen: sfn-park: %" PRIu64 " of %" PRIu64 " started\n",
                    r->park_done, b->count);
        break;
    default:
        break;
    }
}

void sfn_on_failure(conn *c)
{
    if (c->b->w == W_SFN_PARK)
        c->b->sfn->park_done++; /* counted as an error; not retried */
}

void sfn_in_doubt(conn *c)
{
    sfn_run *r = c->b->sfn;
    if (c->b->w == W_SFN_PARK)
        r->park_done++;
    else if (c->b->w == W_SFN_STANDARD && !pipe_of(c)->polling)
        r->lost_arns++;
}

static void on_timer_closed(uv_handle_t *h) {}

void sfn_on_finish(bench *b)
{
    sfn_run *r = b->sfn;
    for (int i = 0; r && i < r->npipes; i++)
        if (r->pipes[i].timer_open && !uv_is_closing((uv_handle_t *)&r->pipes[i].timer))
            uv_close((uv_handle_t *)&r->pipes[i].timer, on_timer_closed);
}

/* sfn-park: the last execution started must be parked (RUNNING). */
static void verify_park(bench *b)
{
    sfn_run *r = b->sfn;
    buf in = BUF_INIT, resp = BUF_INIT;
    buf_printf(&in, "{\"executionArn\":\"%s\"}", r->last_arn);
    int st = sync_call(b, &API_SFN, "DescribeExecution", in.data, &resp);
    r->verify_failed = st != 200 || !answer_status_is(&resp, "RUNNING") || b->errors;
    snprintf(r->verify, sizeof r->verify,
             "%s: %" PRIu64 " starts answered, %" PRIu64 " errors, the last one %s",
             r->verify_failed ? "FAILED" : "ok", r->park_done, b->errors,
             answer_status_is(&resp, "RUNNING") ? "RUNNING" : "not RUNNING");
    buf_free(&in);
    buf_free(&resp);
}

int sfn_report(bench *b, buf *o, double secs)
{
    sfn_run *r = b->sfn;
    buf_printf(o, ",\"states\":%d,\"executions_per_s\":%.1f,\"not_succeeded\":%" PRIu64, r->states,
               (double)r->executions / secs, r->not_succeeded);
    if (b->w == W_SFN_STANDARD)
        buf_printf(o,
                   ",\"per_conn\":%d,\"started\":%" PRIu64 ",\"polls_per_execution\":%.2f"
                   ",\"lost_arns\":%" PRIu64,
                   b->batch, r->started,
                   r->executions ? (double)r->polls / (double)r->executions : 0.0, r->lost_arns);
    if (b->w == W_SFN_PARK) {
        verify_park(b);
        buf_printf(o, ",\"count\":%" PRIu64 ",\"verify\":\"%s\"", r->park_done, r->verify);
    }
    if (b->w == W_SFN_SAGA)
        buf_printf(o, ",\"runtime\":\"%s\"", b->runtime);
    return r->verify_failed;
}

void sfn_free(bench *b)
{
    sfn_run *r = b->sfn;
    if (!r)
        return;
    for (int i = 0; i < r->npipes; i++)
        for (int k = 0; k < r->pipes[i].n; k++)
            xfree(r->pipes[i].arn[k]);
    xfree(r->pipes);
    buf_free(&r->input);
    buf_free(&r->req);
    buf_free(&r->body);
    xfree(r);
    b->sfn = NULL;
}
