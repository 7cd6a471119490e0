/* sluice-loadgen: the load generator behind `make bench`.
 *
 * One libuv loop, N keep-alive HTTP/1.1 connections. Closed-loop workloads keep exactly one
 * request in flight per connection and count what completes inside the measured window
 * (after a warm-up, which is discarded). The `latency` workload is open-loop instead: a
 * timerfd schedules message i at start + i/rate, whether or not the server keeps up; a
 * message waits for a free producer connection if none is idle, and its latency is taken
 * from its *scheduled* time (carried in its body) to the moment a long-polling consumer
 * receives it, so a stalled server shows up in the tail instead of silently slowing the
 * producer down (coordinated omission).
 *
 * Workloads (see usage()):
 *   post        POST a fixed body to --url (the nginx baseline)
 *   send        SQS SendMessage, one message per request
 *   send-batch  SQS SendMessageBatch of --batch messages
 *   cycle       producers SendMessageBatch while consumers ReceiveMessage + DeleteMessageBatch;
 *               messages/s counts messages deleted (fully consumed)
 *   latency     open-loop SendMessage at --rate, consumers long-poll; end-to-end percentiles
 *   fill        SendMessageBatch until --count messages are enqueued (backlog for RSS)
 *   fsync       write + fdatasync probe of --dir (no network)
 *   put-events  EventBridge PutEvents of --batch ~1 KiB entries, routed by one rule to 3
 *               queues; messages/s counts events accepted (entries minus FailedEntryCount)
 *   events-latency  open-loop PutEvents of 1 entry at --rate, consumers long-poll one of the
 *               3 target queues; end-to-end percentiles as `latency`
 *   sns-publish, sns-publish-batch, sns-latency, sns-http-fanout, ses-send
 *               SNS and SES (AWS Query): see bench/loadgen_sns.c
 *   ddb-put-item, ddb-get-item, ddb-query, ddb-load
 *               DynamoDB (AWS JSON 1.0): see bench/loadgen_ddb.c
 *   lambda-invoke, lambda-cold, lambda-sqs-latency
 *               Lambda (REST-JSON): see bench/loadgen_lambda.c
 *   sfn-express, sfn-standard, sfn-saga, sfn-park
 *               Step Functions (AWS JSON 1.0): see bench/loadgen_sfn.c
 *
 * The EventBridge workloads set up their own rules on the default bus: besides the rule that
 * routes to the 3 queues (pattern {"source":["bench"]}), --rules (default 100) rules that never
 * match, half on another source and half on source "bench" with another detail-type, so the
 * matcher has real work and routing is not the trivially empty case. Each workload expects a
 * fresh server: the rules of an earlier one (source "bench" too) would also match.
 *
 * Output: one JSON line per run on stdout, one human line on stderr. Any non-2xx response,
 * failed batch entry, or connection lost with a request in flight counts as an error; the
 * first error body is printed once on stderr. Exit status 3: the run's verification found
 * messages lost (the JSON line is printed all the same, with its "verify"). */
#include "common/alloc.h"
#include "common/buf.h"
#include "common/clock.h"
#include "hist.h"
#include "loadgen.h"
#include "procstat.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <http_parser.h>
#include <inttypes.h>
#include <signal.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <uv.h>

/* ---------------------------------------------------------------- types */

static const char *const workload_names[] = {"post",
                                             "send",
                                             "send-batch",
                                             "cycle",
                                             "latency",
                                             "fill",
                                             "fsync",
                                             "put-events",
                                             "events-latency",
                                             "sns-publish",
                                             "sns-publish-batch",
                                             "sns-latency",
                                             "sns-http-fanout",
                                             "ses-send",
                                             "ddb-put-item",
                                             "ddb-get-item",
                                             "ddb-query",
                                             "ddb-load",
                                             "lambda-invoke",
                                             "lambda-cold",
                                             "lambda-sqs-latency",
                                             "sfn-express",
                                             "sfn-standard",
                                             "sfn-saga",
                                             "sfn-park"};
static const char *const req_names[] = {"none",           "post",
                                        "SendMessage",    "SendMessageBatch",
                                        "ReceiveMessage", "DeleteMessageBatch",
                                        "PutEvents",      "Publish",
                                        "SendEmail",      "DynamoDB",
                                        "StepFunctions"};

const api API_SQS = {"AmazonSQS", "application/x-amz-json-1.0"};
const api API_EVENTS = {"AWSEvents", "application/x-amz-json-1.1"};

/* EventBridge workloads: the one matching rule routes every event to this many queues. */
#define EVENTS_QUEUES 3
/* Marks the "seq:sched_ns:" of events-latency inside the queue message, which is the
 * EventBridge envelope (JSON) around the Detail that carries it. */
#define EVENTS_MARKER "lat~"

static void conn_next(conn *c);
static void conn_close(conn *c);

/* ---------------------------------------------------------------- small helpers */

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("sluice-loadgen: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

void json_escape(buf *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            buf_putc(out, '\\');
            buf_putc(out, (char)ch);
        } else if (ch < 0x20) {
            buf_printf(out, "\\u%04x", ch);
        } else {
            buf_putc(out, (char)ch);
        }
    }
}

/* A body of exactly n bytes of [a-z0-9], safe inside a JSON string unescaped. */
void put_payload(buf *out, size_t n)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    for (size_t i = 0; i < n; i++)
        buf_putc(out, alphabet[i % 36]);
}

static double now_s(uint64_t ns)
{
    return (double)ns / 1e9;
}

/* Parses http://host[:port][/path]. */
static void parse_url(bench *b, const char *url)
{
    const char *p = url;
    if (strncmp(p, "http://", 7) != 0)
        die("only http:// URLs are supported: %s", url);
    p += 7;
    const char *hend = p + strcspn(p, ":/");
    size_t hl = (size_t)(hend - p);
    if (hl == 0 || hl >= sizeof b->host)
        die("bad host in %s", url);
    memcpy(b->host, p, hl);
    b->host[hl] = 0;
    if (strcmp(b->host, "localhost") == 0)
        strcpy(b->host, "127.0.0.1");
    b->port = 80;
    p = hend;
    if (*p == ':') {
        b->port = (int)strtol(p + 1, (char **)&p, 10);
        if (b->port <= 0 || b->port > 65535)
            die("bad port in %s", url);
    }
    snprintf(b->path, sizeof b->path, "%s", *p ? p : "/");
}

/* ---------------------------------------------------------------- errors */

void count_error(bench *b, const char *what, int status, const char *body, size_t len)
{
    b->errors++;
    if (b->error_printed)
        return;
    b->error_printed = 1;
    if (len > 600)
        len = 600;
    fprintf(stderr, "sluice-loadgen: first error: %s", what);
    if (status)
        fprintf(stderr, " HTTP %d", status);
    if (body && len)
        fprintf(stderr, ": %.*s", (int)len, body);
    fputc('\n', stderr);
}

/* ---------------------------------------------------------------- requests */

/* An AWS JSON request head when target is set (of protocol a), else the plain POST. */
static void put_head(bench *b, buf *out, const api *a, const char *target, size_t body_len)
{
    if (target) {
        buf_printf(out,
                   "POST / HTTP/1.1\r\nHost: %s:%d\r\n"
                   "Content-Type: %s\r\n"
                   "X-Amz-Target: %s.%s\r\nContent-Length: %zu\r\n\r\n",
                   b->host, b->port, a->content_type, a->prefix, target, body_len);
    } else {
        buf_printf(out,
                   "POST %s HTTP/1.1\r\nHost: %s:%d\r\n"
                   "Content-Type: application/octet-stream\r\nContent-Length: %zu\r\n\r\n",
                   b->path, b->host, b->port, body_len);
    }
}

static void build_call(bench *b, buf *out, const api *a, const char *target, const buf *body)
{
    buf_reset(out);
    put_head(b, out, a, target, body->len);
    buf_append(out, body->data, body->len);
}

void build_sqs(bench *b, buf *out, const char *target, const buf *body)
{
    build_call(b, out, &API_SQS, target, body);
}

/* One PutEvents entry whose size by AWS's formula (Source + DetailType + Detail bytes) is
 * --size: Detail is {"data":"<marker><filler>"}, the marker (may be empty) included. */
static void put_event_entry(bench *b, buf *out, const char *marker)
{
    static const char source[] = "bench", type[] = "bench.event";
    size_t fixed = strlen(source) + strlen(type) + strlen("{\"data\":\"\"}") + strlen(marker);
    buf_printf(out, "{\"Source\":\"%s\",\"DetailType\":\"%s\",\"Detail\":\"{\\\"data\\\":\\\"%s",
               source, type, marker);
    put_payload(out, b->size > fixed ? b->size - fixed : 0);
    buf_puts(out, "\\\"}\"}");
}

static void build_fixed_requests(bench *b)
{
    buf body = BUF_INIT;
    buf_init(&b->req_fixed, 256);
    buf_init(&b->req_recv, 256);
    switch (b->w) {
    case W_POST:
        put_payload(&body, b->size);
        put_head(b, &b->req_fixed, NULL, NULL, body.len);
        buf_append(&b->req_fixed, body.data, body.len);
        break;
    case W_SEND:
        buf_printf(&body, "{\"QueueUrl\":\"%s\",\"MessageBody\":\"", b->queue_url_json);
        put_payload(&body, b->size);
        buf_puts(&body, "\"}");
        build_sqs(b, &b->req_fixed, "SendMessage", &body);
        break;
    case W_SEND_BATCH:
    case W_CYCLE:
    case W_FILL:
        buf_printf(&body, "{\"QueueUrl\":\"%s\",\"Entries\":[", b->queue_url_json);
        for (int i = 0; i < b->batch; i++) {
            buf_printf(&body, "%s{\"Id\":\"%d\",\"MessageBody\":\"", i ? "," : "", i);
            put_payload(&body, b->size);
            buf_puts(&body, "\"}");
        }
        buf_puts(&body, "]}");
        build_sqs(b, &b->req_fixed, "SendMessageBatch", &body);
        break;
    case W_PUT_EVENTS:
        buf_puts(&body, "{\"Entries\":[");
        for (int i = 0; i < b->batch; i++) {
            if (i)
                buf_putc(&body, ',');
            put_event_entry(b, &body, "");
        }
        buf_puts(&body, "]}");
        build_call(b, &b->req_fixed, &API_EVENTS, "PutEvents", &body);
        break;
    case W_LAMBDA_INVOKE:
        lambda_build_invoke(b, &b->req_fixed);
        break;
    default:
        break;
    }
    buf_reset(&body);
    buf_printf(&body,
               "{\"QueueUrl\":\"%s\",\"MaxNumberOfMessages\":10,\"WaitTimeSeconds\":%d,"
               "\"VisibilityTimeout\":30}",
               b->queue_url_json, b->wait_s);
    build_sqs(b, &b->req_recv, "ReceiveMessage", &body);
    buf_free(&body);
}

/* ---------------------------------------------------------------- blocking setup client */

typedef struct sync_resp {
    buf body;
    int done;
} sync_resp;

static int sync_on_body(http_parser *p, const char *at, size_t len)
{
    buf_append(&((sync_resp *)p->data)->body, at, len);
    return 0;
}

static int sync_on_complete(http_parser *p)
{
    ((sync_resp *)p->data)->done = 1;
    return 0;
}

/* One request on a fresh connection, for setup (CreateQueue, PurgeQueue, PutRule...). */
int sync_call(bench *b, const api *a, const char *target, const char *json, buf *out)
{
    char headers[256];
    snprintf(headers, sizeof headers, "Content-Type: %s\r\nX-Amz-Target: %s.%s\r\n",
             a->content_type, a->prefix, target);
    return sync_http(b, "POST", "/", headers, json, strlen(json), out);
}

int sync_http(bench *b, const char *method, const char *path, const char *headers, const char *body,
              size_t body_len, buf *out)
{
    buf req = BUF_INIT;
    buf_printf(&req, "%s %s HTTP/1.1\r\nHost: %s:%d\r\n%sContent-Length: %zu\r\n\r\n", method, path,
               b->host, b->port, headers ? headers : "", body_len);
    buf_append(&req, body, body_len);

    int status = -1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)b->port)};
    struct timeval tv = {.tv_sec = 30};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (inet_pton(AF_INET, b->host, &sa.sin_addr) != 1 ||
        connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        goto out;
    for (size_t off = 0; off < req.len;) {
        ssize_t w = write(fd, req.data + off, req.len - off);
        if (w <= 0)
            goto out;
        off += (size_t)w;
    }
    http_parser_settings st;
    http_parser_settings_init(&st);
    st.on_body = sync_on_body;
    st.on_message_complete = sync_on_complete;
    http_parser p;
    http_parser_init(&p, HTTP_RESPONSE);
    sync_resp r = {BUF_INIT, 0};
    p.data = &r;
    char tmp[16384];
    while (!r.done) {
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n <= 0) {
            http_parser_execute(&p, &st, tmp, 0);
            break;
        }
        if (http_parser_execute(&p, &st, tmp, (size_t)n) != (size_t)n)
            break;
    }
    if (r.done)
        status = p.status_code;
    buf_reset(out);
    buf_append(out, r.body.data ? r.body.data : "", r.body.len);
    buf_free(&r.body);
out:
    close(fd);
    buf_free(&req);
    return status;
}

/* CreateQueue (and PurgeQueue if purge) of `name`; returns its URL JSON-escaped, without
 * quotes (caller frees with xfree). A failed purge ends the run if purge_fatal, else warns:
 * AWS allows one purge a minute, so a second run within the minute on the same server may
 * be refused one it does not need on an idle queue. */
char *create_queue(bench *b, const char *name, int purge, int purge_fatal)
{
    buf resp = BUF_INIT, in = BUF_INIT;
    buf_puts(&in, "{\"QueueName\":\"");
    json_escape(&in, name, strlen(name));
    buf_puts(&in, "\"}");
    int st = sync_call(b, &API_SQS, "CreateQueue", in.data, &resp);
    if (st != 200)
        die("CreateQueue %s failed: HTTP %d %s", name, st, resp.data ? resp.data : "");
    json_error_t jerr;
    json_t *j = json_loadb(resp.data, resp.len, 0, &jerr);
    const char *url = j ? json_string_value(json_object_get(j, "QueueUrl")) : NULL;
    if (!url)
        die("CreateQueue: no QueueUrl in %s", resp.data);
    buf u = BUF_INIT;
    json_escape(&u, url, strlen(url));
    char *url_json = buf_steal(&u, NULL);
    json_decref(j);
    if (purge) {
        buf_reset(&in);
        buf_printf(&in, "{\"QueueUrl\":\"%s\"}", url_json);
        st = sync_call(b, &API_SQS, "PurgeQueue", in.data, &resp);
        if (st != 200 && purge_fatal)
            die("PurgeQueue failed: HTTP %d %s", st, resp.data ? resp.data : "");
        if (st != 200)
            fprintf(stderr, "sluice-loadgen: PurgeQueue %s failed (continuing): HTTP %d %s\n", name,
                    st, resp.data ? resp.data : "");
    }
    buf_free(&resp);
    buf_free(&in);
    return url_json;
}

static void setup_queue(bench *b)
{
    b->queue_url_json = create_queue(b, b->queue, b->purge, 1);
}

char *queue_arn(bench *b, const char *url_json)
{
    buf in = BUF_INIT, resp = BUF_INIT;
    buf_printf(&in, "{\"QueueUrl\":\"%s\",\"AttributeNames\":[\"QueueArn\"]}", url_json);
    int st = sync_call(b, &API_SQS, "GetQueueAttributes", in.data, &resp);
    json_t *j = st == 200 ? json_loadb(resp.data, resp.len, 0, NULL) : NULL;
    const char *arn =
        json_string_value(json_object_get(json_object_get(j, "Attributes"), "QueueArn"));
    if (!arn)
        die("GetQueueAttributes %s: no QueueArn: HTTP %d %s", url_json, st,
            resp.data ? resp.data : "");
    char *out = xstrdup(arn);
    json_decref(j);
    buf_free(&in);
    buf_free(&resp);
    return out;
}

/* An EventBridge setup call that must succeed, entries and all. */
static void events_call(bench *b, const char *target, const buf *in)
{
    buf resp = BUF_INIT;
    int st = sync_call(b, &API_EVENTS, target, in->data, &resp);
    if (st != 200)
        die("%s failed: HTTP %d %s", target, st, resp.data ? resp.data : "");
    json_t *j = json_loadb(resp.data, resp.len, 0, NULL);
    if (!j || json_integer_value(json_object_get(j, "FailedEntryCount")) != 0)
        die("%s failed: %s", target, resp.data ? resp.data : "");
    json_decref(j);
    buf_free(&resp);
}

/* The EventBridge workloads' world: queues QUEUE-1..3 (purged), --rules rules that never
 * match, and rule QUEUE ({"source":["bench"]}) targeting the 3 queues. b->queue_url_json is
 * QUEUE-1, the one events-latency consumes. */
static void setup_events(bench *b)
{
    buf in = BUF_INIT, resp = BUF_INIT, targets = BUF_INIT;
    char name[256];
    for (int k = 1; k <= EVENTS_QUEUES; k++) {
        snprintf(name, sizeof name, "%s-%d", b->queue, k);
        char *url = create_queue(b, name, 1, 0);
        char *arn = queue_arn(b, url);
        buf_printf(&targets, "%s{\"Id\":\"q%d\",\"Arn\":\"", k > 1 ? "," : "", k);
        json_escape(&targets, arn, strlen(arn));
        buf_puts(&targets, "\"}");
        xfree(arn);
        if (k == 1)
            b->queue_url_json = url;
        else
            xfree(url);
    }
    for (int i = 0; i < b->rules; i++) {
        buf_reset(&in);
        if (i % 2 == 0)
            buf_printf(&in,
                       "{\"Name\":\"bench-other-%d\",\"EventPattern\":"
                       "\"{\\\"source\\\":[\\\"other-%d\\\"]}\"}",
                       i, i);
        else
            buf_printf(
                &in,
                "{\"Name\":\"bench-other-%d\",\"EventPattern\":"
                "\"{\\\"source\\\":[\\\"bench\\\"],\\\"detail-type\\\":[\\\"other-%d\\\"]}\"}",
                i, i);
        events_call(b, "PutRule", &in);
    }
    buf_reset(&in);
    buf_puts(&in, "{\"Name\":\"");
    json_escape(&in, b->queue, strlen(b->queue));
    buf_puts(&in,
             "\",\"EventPattern\":\"{\\\"source\\\":[\\\"bench\\\"]}\",\"State\":\"ENABLED\"}");
    events_call(b, "PutRule", &in);
    buf_reset(&in);
    buf_puts(&in, "{\"Rule\":\"");
    json_escape(&in, b->queue, strlen(b->queue));
    buf_printf(&in, "\",\"Targets\":[%s]}", targets.data);
    events_call(b, "PutTargets", &in);
    buf_free(&in);
    buf_free(&resp);
    buf_free(&targets);
}

/* ---------------------------------------------------------------- responses */

int measuring(const bench *b)
{
    return b->ph == PH_MEASURE;
}

/* Failed entries of a batch response (0 when the response has none). */
static int count_failed(const conn *c, json_t **parsed)
{
    if (!memmem(c->resp.data, c->resp.len, "Failed", 6))
        return 0;
    json_t *j = json_loadb(c->resp.data, c->resp.len, 0, NULL);
    if (!j)
        return -1;
    int n = (int)json_array_size(json_object_get(j, "Failed"));
    if (parsed)
        *parsed = j;
    else
        json_decref(j);
    return n;
}

/* FailedEntryCount of a PutEvents response, read in place (jansson would cost the load
 * generator more CPU than the count is worth); -1 if absent or unreadable. */
static int failed_entry_count(const conn *c)
{
    static const char key[] = "\"FailedEntryCount\"";
    const char *p = c->resp.data ? memmem(c->resp.data, c->resp.len, key, sizeof key - 1) : NULL;
    if (!p)
        return -1;
    p += sizeof key - 1;
    while (*p == ' ' || *p == ':' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    char *end;
    long n = strtol(p, &end, 10);
    return end == p || n < 0 ? -1 : (int)n;
}

/* Whether the workload schedules its own sends (latency, events-latency). */
static int open_loop(const bench *b)
{
    return b->w == W_LATENCY || b->w == W_EVENTS_LATENCY || b->w == W_SNS_LATENCY ||
           b->w == W_LAMBDA_SQS_LATENCY || b->w == W_SFN_SAGA;
}

/* Whether the run ends only once everything accepted was delivered (sns-http-fanout,
 * ses-send), rather than when the last request of the window is answered. Their rate is
 * still the window's: deliveries between its start and its end, when the publishers keep
 * the backlog full (see loadgen_sns.c). */
static int waits_for_delivery(const bench *b)
{
    return b->w == W_SNS_HTTP_FANOUT || b->w == W_SES_SEND;
}

/* Whether the queue consumers keep polling after the window (to collect the tail). */
static int consumes_after_window(const bench *b)
{
    return open_loop(b) || b->w == W_SNS_HTTP_FANOUT;
}

void on_latency_message(bench *b, const char *body, uint64_t recv_ns)
{
    char *end;
    uint64_t seq = strtoull(body, &end, 10);
    if (*end != ':')
        return;
    uint64_t sched = strtoull(end + 1, &end, 10);
    if (*end != ':' || seq >= b->lat_end)
        return;
    if (b->lat_seen[seq]) {
        b->lat_dups++;
        return;
    }
    b->lat_seen[seq] = 1;
    if (seq < b->lat_first)
        return;
    b->lat_received++;
    hist_record(&b->e2e, recv_ns > sched ? recv_ns - sched : 0);
}

static void handle_receive(conn *c, uint64_t now)
{
    bench *b = c->b;
    json_t *j = json_loadb(c->resp.data, c->resp.len, 0, NULL);
    if (!j) {
        count_error(b, "unparsable ReceiveMessage response", c->status, c->resp.data, c->resp.len);
        return;
    }
    json_t *msgs = json_object_get(j, "Messages");
    size_t n = json_array_size(msgs);
    if (n > 0) {
        buf body = BUF_INIT;
        buf_printf(&body, "{\"QueueUrl\":\"%s\",\"Entries\":[", b->queue_url_json);
        for (size_t i = 0; i < n; i++) {
            json_t *m = json_array_get(msgs, i);
            const char *rh = json_string_value(json_object_get(m, "ReceiptHandle"));
            const char *mb = json_string_value(json_object_get(m, "Body"));
            if (!rh || !mb) {
                count_error(b, "message without ReceiptHandle or Body", 0, NULL, 0);
                continue;
            }
            if (b->w == W_LATENCY || b->w == W_SNS_LATENCY) {
                on_latency_message(b, mb, now);
            } else if (b->w == W_SNS_HTTP_FANOUT) {
                sns_on_queue_message(b, mb, now);
            } else if (b->w == W_EVENTS_LATENCY) {
                const char *mark = strstr(mb, EVENTS_MARKER);
                if (mark)
                    on_latency_message(b, mark + strlen(EVENTS_MARKER), now);
                else
                    count_error(b, "queue message without the latency marker", 0, mb, strlen(mb));
            }
            buf_printf(&body, "%s{\"Id\":\"%zu\",\"ReceiptHandle\":\"", i ? "," : "", i);
            json_escape(&body, rh, strlen(rh));
            buf_puts(&body, "\"}");
        }
        buf_puts(&body, "]}");
        build_sqs(b, &c->out, "DeleteMessageBatch", &body);
        buf_free(&body);
        c->pending_delete = 1;
    }
    json_decref(j);
}

static void handle_delete(conn *c)
{
    bench *b = c->b;
    json_t *j = json_loadb(c->resp.data, c->resp.len, 0, NULL);
    if (!j) {
        count_error(b, "unparsable DeleteMessageBatch response", c->status, c->resp.data,
                    c->resp.len);
        return;
    }
    size_t ok = json_array_size(json_object_get(j, "Successful"));
    size_t failed = json_array_size(json_object_get(j, "Failed"));
    if (failed)
        count_error(b, "DeleteMessageBatch entries failed", c->status, c->resp.data, c->resp.len);
    b->errors += failed > 0 ? failed - 1 : 0;
    if (measuring(b) && b->w == W_CYCLE)
        b->win.messages += ok;
    json_decref(j);
}

/* A complete response for the request in flight on c. */
static void handle_response(conn *c)
{
    bench *b = c->b;
    uint64_t now = clock_mono_ns();
    req_kind k = c->kind;
    c->kind = REQ_NONE;
    if (c->status < 200 || c->status > 299) {
        count_error(b, req_names[k], c->status, c->resp.data, c->resp.len);
        if (k == REQ_BATCH && b->w == W_FILL)
            b->fill_done++;
        if (k == REQ_PUBLISH || k == REQ_SEND_EMAIL)
            sns_on_failure(c);
        if (k == REQ_DDB)
            ddb_on_failure(c);
        if (k == REQ_SFN)
            sfn_on_failure(c);
        return;
    }
    int m = measuring(b);
    if (m)
        b->win.requests++;
    if (c->role == ROLE_LAT_SEND && c->lat_seq >= b->lat_first && c->lat_seq < b->lat_end &&
        (k == REQ_SEND || k == REQ_PUBLISH || k == REQ_SFN ||
         (k == REQ_PUT_EVENTS && failed_entry_count(c) == 0)))
        b->lat_sent++;
    switch (k) {
    case REQ_POST:
    case REQ_SEND:
        if (b->w == W_LAMBDA_INVOKE && lambda_check_answer(c) != 0)
            break;
        if (m && c->role != ROLE_LAT_SEND) {
            b->win.messages++;
            hist_record(&b->win.lat, now - c->sent_ns);
        }
        break;
    case REQ_BATCH: {
        int failed = count_failed(c, NULL);
        if (failed != 0) {
            count_error(b, "SendMessageBatch entries failed", c->status, c->resp.data, c->resp.len);
            b->errors += failed > 0 ? (uint64_t)failed - 1 : 0;
            if (failed < 0)
                failed = b->batch;
        }
        uint64_t okn = (uint64_t)(b->batch - failed);
        if (b->w == W_FILL)
            b->fill_done++;
        if (m) {
            if (b->w == W_CYCLE)
                b->win.produced += okn;
            else
                b->win.messages += okn;
            hist_record(&b->win.lat, now - c->sent_ns);
        }
        break;
    }
    case REQ_PUT_EVENTS: {
        int n = c->role == ROLE_LAT_SEND ? 1 : b->batch;
        int failed = failed_entry_count(c);
        if (failed != 0) {
            count_error(b, "PutEvents entries failed", c->status, c->resp.data, c->resp.len);
            if (failed < 0 || failed > n)
                failed = n;
            b->errors += (uint64_t)failed - 1;
        }
        if (m && c->role != ROLE_LAT_SEND) {
            b->win.messages += (uint64_t)(n - failed);
            hist_record(&b->win.lat, now - c->sent_ns);
        }
        break;
    }
    case REQ_PUBLISH:
    case REQ_SEND_EMAIL:
        sns_on_response(c, k, now);
        break;
    case REQ_RECV:
        handle_receive(c, now);
        break;
    case REQ_DELETE:
        handle_delete(c);
        break;
    case REQ_DDB:
        ddb_on_response(c, now);
        break;
    case REQ_SFN:
        sfn_on_response(c, now);
        break;
    case REQ_NONE:
        break;
    }
}

/* ---------------------------------------------------------------- connections */

static void on_write(uv_write_t *wr, int status)
{
    conn *c = wr->data;
    c->write_pending = 0;
    if (status < 0) {
        if (status != UV_ECANCELED)
            conn_close(c);
        return;
    }
    if (c->next_after_write) {
        c->next_after_write = 0;
        conn_next(c);
    }
}

void issue(conn *c, req_kind kind, const char *p, size_t len)
{
    c->kind = kind;
    c->sent_ns = clock_mono_ns();
    c->got_response = 0;
    buf_reset(&c->resp);
    uv_buf_t ub = uv_buf_init((char *)p, (unsigned)len);
    int w = uv_try_write((uv_stream_t *)&c->tcp, &ub, 1);
    if (w == (int)len)
        return;
    if (w < 0 && w != UV_EAGAIN) {
        conn_close(c);
        return;
    }
    if (w > 0) {
        ub.base += w;
        ub.len -= (unsigned)w;
    }
    c->write_pending = 1;
    c->wreq.data = c;
    if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &ub, 1, on_write) != 0) {
        c->write_pending = 0;
        conn_close(c);
    }
}

static void latency_send(conn *c, uint64_t seq)
{
    bench *b = c->b;
    c->lat_seq = seq;
    if (b->w == W_SNS_LATENCY) {
        sns_latency_send(c, seq);
        return;
    }
    if (b->w == W_SFN_SAGA) {
        sfn_latency_send(c, seq);
        return;
    }
    uint64_t sched = b->start_ns + (uint64_t)((double)seq * 1e9 / b->rate);
    buf body = BUF_INIT;
    if (b->w == W_EVENTS_LATENCY) {
        char marker[80];
        snprintf(marker, sizeof marker, EVENTS_MARKER "%" PRIu64 ":%" PRIu64 ":", seq, sched);
        buf_puts(&body, "{\"Entries\":[");
        put_event_entry(b, &body, marker);
        buf_puts(&body, "]}");
        build_call(b, &c->out, &API_EVENTS, "PutEvents", &body);
        buf_free(&body);
        issue(c, REQ_PUT_EVENTS, c->out.data, c->out.len);
        return;
    }
    buf_printf(&body, "{\"QueueUrl\":\"%s\",\"MessageBody\":\"", b->queue_url_json);
    size_t before = body.len;
    buf_printf(&body, "%" PRIu64 ":%" PRIu64 ":", seq, sched);
    size_t used = body.len - before;
    put_payload(&body, b->size > used ? b->size - used : 0);
    buf_puts(&body, "\"}");
    build_sqs(b, &c->out, "SendMessage", &body);
    buf_free(&body);
    issue(c, REQ_SEND, c->out.data, c->out.len);
}

static int all_idle(const bench *b)
{
    for (int i = 0; i < b->ncs; i++)
        if (b->cs[i].kind != REQ_NONE)
            return 0;
    return 1;
}

void resume_publishers(bench *b)
{
    while (b->nidle > 0 && b->ph < PH_DRAIN) {
        conn *c = b->idle[--b->nidle];
        if (!sns_next(c)) {
            b->idle[b->nidle++] = c;
            break;
        }
    }
}

/* Decides what an idle, connected connection does next. */
static void conn_next(conn *c)
{
    bench *b = c->b;
    if (b->ph == PH_DONE || !c->connected)
        return;
    int running = b->ph < PH_DRAIN;
    switch (c->role) {
    case ROLE_POST:
        if (running)
            issue(c, REQ_POST, b->req_fixed.data, b->req_fixed.len);
        break;
    case ROLE_SEND:
        if (running)
            issue(c, REQ_SEND, b->req_fixed.data, b->req_fixed.len);
        break;
    case ROLE_PUT_EVENTS:
        if (running)
            issue(c, REQ_PUT_EVENTS, b->req_fixed.data, b->req_fixed.len);
        break;
    case ROLE_PUBLISH:
        if (running && !sns_next(c))
            b->idle[b->nidle++] = c; /* held back: resume_publishers */
        break;
    case ROLE_BATCH:
        if (b->w == W_FILL) {
            if (b->fill_issued * (uint64_t)b->batch < b->count) {
                b->fill_issued++;
                issue(c, REQ_BATCH, b->req_fixed.data, b->req_fixed.len);
            }
        } else if (running) {
            issue(c, REQ_BATCH, b->req_fixed.data, b->req_fixed.len);
        }
        break;
    case ROLE_RECV:
        /* Latency consumers keep going through the drain to collect the tail. */
        if (!running && !consumes_after_window(b))
            break;
        if (c->pending_delete) {
            c->pending_delete = 0;
            issue(c, REQ_DELETE, c->out.data, c->out.len);
        } else {
            issue(c, REQ_RECV, b->req_recv.data, b->req_recv.len);
        }
        break;
    case ROLE_DDB:
        if (running || b->w == W_DDB_LOAD)
            ddb_next(c);
        break;
    case ROLE_SFN:
        if (running)
            sfn_next(c);
        break;
    case ROLE_LAT_SEND:
        if (b->lat_next < b->lat_sched)
            latency_send(c, b->lat_next++);
        else
            b->idle[b->nidle++] = c;
        break;
    }
    if (c->kind == REQ_NONE) {
        if (b->w == W_FILL && b->fill_done * (uint64_t)b->batch >= b->count && all_idle(b)) {
            finish(b);
        } else if ((ddb_load_done(b) || sfn_park_done(b)) && all_idle(b)) {
            finish(b);
        } else if (b->ph == PH_DRAIN && !open_loop(b) && !waits_for_delivery(b) && all_idle(b)) {
            finish(b);
        }
    }
}

static void conn_start(conn *c);

static void on_close(uv_handle_t *h)
{
    conn *c = h->data;
    if (c->b->ph != PH_DONE)
        conn_start(c);
}

static void conn_close(conn *c)
{
    if (uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    if (c->kind != REQ_NONE && c->b->ph != PH_DONE) {
        count_error(c->b, "connection lost with a request in flight", 0, NULL, 0);
        if (c->kind == REQ_BATCH && c->b->w == W_FILL)
            c->b->fill_issued--; /* enqueue those again */
        if (c->kind == REQ_PUBLISH || c->kind == REQ_SEND_EMAIL)
            sns_in_doubt(c);
        if (c->kind == REQ_DDB)
            ddb_in_doubt(c);
        if (c->kind == REQ_SFN)
            sfn_in_doubt(c);
    }
    c->kind = REQ_NONE;
    c->connected = 0;
    c->pending_delete = 0;
    c->next_after_write = 0;
    if (c->role == ROLE_LAT_SEND || c->role == ROLE_PUBLISH) {
        bench *b = c->b;
        for (int i = 0; i < b->nidle; i++)
            if (b->idle[i] == c)
                b->idle[i] = b->idle[--b->nidle];
    }
    uv_close((uv_handle_t *)&c->tcp, on_close);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *out)
{
    conn *c = h->data;
    *out = uv_buf_init(c->rbuf, sizeof c->rbuf);
}

static int on_headers_complete(http_parser *p)
{
    ((conn *)p->data)->status = p->status_code;
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    buf_append(&((conn *)p->data)->resp, at, len);
    return 0;
}

static int on_message_complete(http_parser *p)
{
    conn *c = p->data;
    c->got_response = 1;
    c->keep_alive = http_should_keep_alive(p);
    return 0;
}

static http_parser_settings parser_settings;

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *ub)
{
    conn *c = s->data;
    if (n < 0) {
        conn_close(c);
        return;
    }
    if (n == 0)
        return;
    if (c->kind == REQ_NONE) {
        count_error(c->b, "unexpected bytes from the server", 0, ub->base, (size_t)n);
        conn_close(c);
        return;
    }
    size_t used = http_parser_execute(&c->parser, &parser_settings, ub->base, (size_t)n);
    if (c->parser.http_errno != HPE_OK || used != (size_t)n) {
        count_error(c->b, "unparsable HTTP response", 0, ub->base, (size_t)n);
        conn_close(c);
        return;
    }
    if (!c->got_response)
        return;
    handle_response(c);
    if (c->b->ph == PH_DONE)
        return;
    if (!c->keep_alive) {
        conn_close(c); /* reconnects: the server chose to close, not an error */
        return;
    }
    if (c->write_pending)
        c->next_after_write = 1;
    else
        conn_next(c);
}

static void on_connect(uv_connect_t *cr, int status)
{
    conn *c = cr->data;
    if (c->b->ph == PH_DONE)
        return;
    if (status < 0) {
        if (!c->ever_connected)
            die("cannot connect to %s:%d: %s", c->b->host, c->b->port, uv_strerror(status));
        count_error(c->b, "reconnect failed", 0, uv_strerror(status), strlen(uv_strerror(status)));
        if (++c->b->connect_failures > 1000)
            die("the server at %s:%d is gone: %s", c->b->host, c->b->port, uv_strerror(status));
        uv_close((uv_handle_t *)&c->tcp, on_close);
        return;
    }
    c->ever_connected = 1;
    c->connected = 1;
    c->b->connect_failures = 0;
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    conn_next(c);
}

static void conn_start(conn *c)
{
    bench *b = c->b;
    struct sockaddr_in sa;
    uv_ip4_addr(b->host, b->port, &sa);
    uv_tcp_init(b->loop, &c->tcp);
    uv_tcp_nodelay(&c->tcp, 1);
    c->tcp.data = c;
    c->creq.data = c;
    c->connected = 0;
    c->kind = REQ_NONE;
    http_parser_init(&c->parser, HTTP_RESPONSE);
    c->parser.data = c;
    int r = uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&sa, on_connect);
    if (r != 0)
        die("connect: %s", uv_strerror(r));
}

/* ---------------------------------------------------------------- latency scheduler */

static void arm_tfd(bench *b)
{
    if (b->lat_sched >= b->lat_end)
        return;
    uint64_t at = b->start_ns + (uint64_t)((double)b->lat_sched * 1e9 / b->rate);
    struct itimerspec its = {
        .it_value = {.tv_sec = (time_t)(at / 1000000000u), .tv_nsec = (long)(at % 1000000000u)}};
    if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
        its.it_value.tv_nsec = 1;
    timerfd_settime(b->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void on_tfd(uv_poll_t *p, int status, int events)
{
    bench *b = p->data;
    uint64_t exp;
    if (read(b->tfd, &exp, sizeof exp) < 0 && errno != EAGAIN)
        return;
    if (b->ph == PH_DONE)
        return;
    uint64_t now = clock_mono_ns();
    uint64_t due = (uint64_t)((double)(now - b->start_ns) * b->rate / 1e9) + 1;
    if (due > b->lat_end)
        due = b->lat_end;
    if (due > b->lat_sched)
        b->lat_sched = due;
    while (b->nidle > 0 && b->lat_next < b->lat_sched) {
        conn *c = b->idle[--b->nidle];
        latency_send(c, b->lat_next++);
    }
    arm_tfd(b);
}

/* ---------------------------------------------------------------- phases */

static void on_handle_closed(uv_handle_t *h) {}

void finish(bench *b)
{
    if (b->ph == PH_DONE)
        return;
    if (b->t1_ns == 0) {
        b->t1_ns = clock_mono_ns();
        b->cli_cpu1 = self_cpu_s();
        if (b->server_pid)
            b->srv_cpu1 = proc_cpu_s(b->server_pid);
    }
    b->ph = PH_DONE;
    for (int i = 0; i < b->ncs; i++)
        if (!uv_is_closing((uv_handle_t *)&b->cs[i].tcp))
            uv_close((uv_handle_t *)&b->cs[i].tcp, on_handle_closed);
    uv_close((uv_handle_t *)&b->phase_timer, on_handle_closed);
    uv_close((uv_handle_t *)&b->hard_timer, on_handle_closed);
    if (open_loop(b))
        uv_close((uv_handle_t *)&b->tpoll, on_handle_closed);
    if (sns_workload(b))
        sns_on_finish(b);
    if (lambda_workload(b))
        lambda_on_finish(b);
    if (sfn_workload(b))
        sfn_on_finish(b);
}

static void on_drain_timeout(uv_timer_t *t)
{
    finish(t->data);
}

static void on_phase(uv_timer_t *t)
{
    bench *b = t->data;
    uint64_t now = clock_mono_ns();
    if (b->ph == PH_WARMUP) {
        b->ph = PH_MEASURE;
        b->t0_ns = now;
        memset(&b->win, 0, sizeof b->win);
        b->cli_cpu0 = self_cpu_s();
        if (b->server_pid)
            b->srv_cpu0 = proc_cpu_s(b->server_pid);
        uint64_t end_ns = b->start_ns + (uint64_t)((b->warmup + b->duration) * 1e9);
        uv_timer_start(t, on_phase, end_ns > now ? (end_ns - now) / 1000000 : 0, 0);
        if (sns_workload(b))
            sns_on_measure_start(b);
    } else if (b->ph == PH_MEASURE) {
        b->ph = PH_DRAIN;
        b->t1_ns = now;
        b->cli_cpu1 = self_cpu_s();
        if (b->server_pid)
            b->srv_cpu1 = proc_cpu_s(b->server_pid);
        if (waits_for_delivery(b)) {
            /* Publishing stops; the run ends once everything accepted was delivered. */
            sns_on_measure_end(b);
            uv_timer_start(t, on_drain_timeout, (uint64_t)(b->drain_timeout * 1000), 0);
            return;
        }
        if (open_loop(b)) {
            /* Wait for the tail: every measured message received, or 10 s. */
            if (b->lat_received >= b->lat_end - b->lat_first) {
                finish(b);
                return;
            }
            uv_timer_start(t, on_drain_timeout, 10000, 0);
        } else {
            if (all_idle(b)) {
                finish(b);
                return;
            }
            /* In-flight requests (a 1 s long poll at most) get 3 s to complete. */
            uv_timer_start(t, on_drain_timeout, 3000, 0);
        }
    }
}

static void on_hard_timeout(uv_timer_t *t)
{
    bench *b = t->data;
    fprintf(stderr, "sluice-loadgen: hard timeout (%.0f s) reached, stopping\n", b->timeout);
    count_error(b, "hard timeout", 0, NULL, 0);
    finish(b);
}

/* After every loop iteration: latency runs end early once the tail is in, delivery runs
 * once everything accepted was delivered. */
static void on_check_drained(uv_check_t *chk)
{
    bench *b = chk->data;
    if (b->ph == PH_DRAIN && open_loop(b) && b->lat_received >= b->lat_end - b->lat_first)
        finish(b);
    if (b->ph == PH_DRAIN && waits_for_delivery(b) && sns_drained(b))
        finish(b);
    if (b->ph == PH_DONE && !uv_is_closing((uv_handle_t *)chk))
        uv_close((uv_handle_t *)chk, on_handle_closed);
}

/* ---------------------------------------------------------------- report */

/* Prints the run's JSON line (stdout) and human line (stderr). Returns nonzero when the
 * run's verification failed (the SNS and SES workloads verify their deliveries). */
static int report(bench *b)
{
    double secs = b->w == W_FILL ? now_s(b->t1_ns - b->start_ns) : now_s(b->t1_ns - b->t0_ns);
    if (open_loop(b)) {
        secs = b->duration;
        b->win.lat = b->e2e;
        b->win.messages = b->lat_received;
    }
    if (sns_workload(b))
        sns_adjust(b, &secs);
    if (secs <= 0)
        secs = 1e-9;
    double rps = (double)b->win.requests / secs;
    double mps = (double)b->win.messages / secs;
    double p50 = hist_percentile(&b->win.lat, 50) / 1e6;
    double p99 = hist_percentile(&b->win.lat, 99) / 1e6;
    double p999 = hist_percentile(&b->win.lat, 99.9) / 1e6;
    double pmax = hist_percentile(&b->win.lat, 100) / 1e6;
    int conns = b->producers + b->consumers;
    double cli_cpu = b->cli_cpu1 - b->cli_cpu0;

    buf o = BUF_INIT;
    buf_printf(&o,
               "{\"system\":\"%s\",\"workload\":\"%s\",\"conns\":%d,\"seconds\":%.3f,"
               "\"requests_per_s\":%.1f,\"messages_per_s\":%.1f,\"p50_ms\":%.3f,"
               "\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f,\"errors\":%" PRIu64
               ",\"size\":%zu",
               b->system, workload_names[b->w], conns, secs, rps, mps, p50, p99, p999, pmax,
               b->errors, b->size);
    if (b->w == W_SEND_BATCH || b->w == W_CYCLE || b->w == W_FILL || b->w == W_PUT_EVENTS ||
        b->w == W_SNS_PUBLISH_BATCH)
        buf_printf(&o, ",\"batch\":%d", b->batch);
    if (b->w == W_PUT_EVENTS || b->w == W_EVENTS_LATENCY)
        buf_printf(&o, ",\"targets\":%d,\"rules\":%d", EVENTS_QUEUES, b->rules + 1);
    if (b->w == W_CYCLE)
        buf_printf(&o, ",\"producers\":%d,\"consumers\":%d,\"produced_per_s\":%.1f", b->producers,
                   b->consumers, (double)b->win.produced / secs);
    if (open_loop(b)) {
        uint64_t expected = b->lat_end - b->lat_first;
        buf_printf(&o,
                   ",\"rate\":%.0f,\"producers\":%d,\"consumers\":%d,\"expected\":%" PRIu64
                   ",\"received\":%" PRIu64 ",\"missing\":%" PRIu64 ",\"duplicates\":%" PRIu64
                   ",\"sent\":%" PRIu64,
                   b->rate, b->producers, b->consumers, expected, b->lat_received,
                   expected - b->lat_received, b->lat_dups, b->lat_sent);
    }
    if (b->w == W_FILL)
        buf_printf(&o, ",\"count\":%" PRIu64, b->fill_done * (uint64_t)b->batch);
    buf_printf(&o, ",\"loadgen_cpu_pct\":%.1f", 100.0 * cli_cpu / secs);
    if (b->server_pid) {
        double cpu = b->srv_cpu1 - b->srv_cpu0;
        double msgs = (double)b->win.messages;
        buf_printf(&o, ",\"server_cpu_s\":%.3f,\"server_cpu_pct\":%.1f", cpu, 100.0 * cpu / secs);
        if (msgs > 0)
            buf_printf(&o, ",\"server_cpu_s_per_100k\":%.3f", cpu / msgs * 100000.0);
        long rss = proc_status_kib(b->server_pid, "VmRSS");
        long hwm = proc_status_kib(b->server_pid, "VmHWM");
        buf_printf(&o, ",\"server_rss_kib\":%ld,\"server_hwm_kib\":%ld", rss, hwm);
    }
    if (lambda_workload(b))
        lambda_report(b, &o);
    int failed = sns_workload(b)   ? sns_report(b, &o)
                 : ddb_workload(b) ? ddb_report(b, &o, secs)
                 : sfn_workload(b) ? sfn_report(b, &o, secs)
                                   : 0;
    buf_puts(&o, "}\n");
    fputs(o.data, stdout);
    fflush(stdout);
    buf_free(&o);

    fprintf(stderr,
            "%-16s %-10s conns=%-3d %7.2fs  %10.0f req/s %10.0f msg/s  p50 %.3f  p99 %.3f  "
            "p99.9 %.3f  max %.3f ms  errors %" PRIu64 "%s\n",
            b->system, workload_names[b->w], conns, secs, rps, mps, p50, p99, p999, pmax, b->errors,
            cli_cpu / secs > 0.95 ? "  (loadgen CPU-bound)" : "");
    if (open_loop(b) && b->lat_received < b->lat_end - b->lat_first)
        fprintf(stderr, "sluice-loadgen: %" PRIu64 " measured messages never received\n",
                b->lat_end - b->lat_first - b->lat_received);
    return failed;
}

/* ---------------------------------------------------------------- fsync probe */

/* write + fdatasync of 4 KiB blocks in --dir: appends (file grows, so the journal commits
 * metadata too) and overwrites of a preallocated file (a WAL's steady state). */
static void fsync_probe(bench *b)
{
    static const char *const modes[] = {"fsync-append", "fsync-overwrite"};
    char path[4096];
    snprintf(path, sizeof path, "%s/.sluice-fsync-probe", b->dir);
    char block[4096];
    memset(block, 'x', sizeof block);
    uint64_t n = b->count;
    for (int mode = 0; mode < 2; mode++) {
        int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
        if (fd < 0)
            die("open %s: %s", path, strerror(errno));
        if (mode == 1) {
            for (uint64_t i = 0; i < 256; i++)
                if (write(fd, block, sizeof block) != (ssize_t)sizeof block)
                    die("write: %s", strerror(errno));
            fsync(fd);
        }
        hist h;
        hist_reset(&h);
        uint64_t t0 = clock_mono_ns();
        for (uint64_t i = 0; i < n; i++) {
            uint64_t s = clock_mono_ns();
            ssize_t w = mode == 0 ? write(fd, block, sizeof block)
                                  : pwrite(fd, block, sizeof block, (off_t)(i % 256) * 4096);
            if (w != (ssize_t)sizeof block || fdatasync(fd) != 0)
                die("write/fdatasync: %s", strerror(errno));
            hist_record(&h, clock_mono_ns() - s);
        }
        double secs = now_s(clock_mono_ns() - t0);
        close(fd);
        printf("{\"system\":\"disk\",\"workload\":\"%s\",\"conns\":1,\"seconds\":%.3f,"
               "\"requests_per_s\":%.1f,\"messages_per_s\":%.1f,\"p50_ms\":%.3f,"
               "\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f,\"errors\":0,\"size\":4096,"
               "\"mean_ms\":%.3f}\n",
               modes[mode], secs, n / secs, n / secs, hist_percentile(&h, 50) / 1e6,
               hist_percentile(&h, 99) / 1e6, hist_percentile(&h, 99.9) / 1e6,
               hist_percentile(&h, 100) / 1e6, secs * 1000.0 / (double)n);
        fprintf(stderr, "disk %-16s %6" PRIu64 " x 4 KiB  %8.0f syncs/s  p50 %.3f  p99 %.3f ms\n",
                modes[mode], n, n / secs, hist_percentile(&h, 50) / 1e6,
                hist_percentile(&h, 99) / 1e6);
    }
    fflush(stdout);
    unlink(path);
}

/* ---------------------------------------------------------------- main */

static void usage(void)
{
    fputs("usage: sluice-loadgen WORKLOAD [options]\n"
          "workloads: post send send-batch cycle latency fill fsync put-events events-latency\n"
          "           sns-publish sns-publish-batch sns-latency sns-http-fanout ses-send\n"
          "           ddb-put-item ddb-get-item ddb-query ddb-load (DynamoDB: --queue is the\n"
          "           table, default bench-ddb; --count its items, default 1000000)\n"
          "           lambda-invoke lambda-cold lambda-sqs-latency (Lambda: --queue is the\n"
          "           function, and lambda-sqs-latency's queue; --zip, --runtime, --handler)\n"
          "           sfn-express sfn-standard sfn-saga sfn-park (Step Functions: --queue is\n"
          "           the state machine; --count the Pass chain's states (100), sfn-park's\n"
          "           executions (100000); --batch sfn-standard's executions per connection;\n"
          "           sfn-saga: --rate, and --zip, --runtime, --handler of its steps)\n"
          "  --url URL         post: target (http://127.0.0.1:8080/)\n"
          "  --endpoint URL    SQS endpoint (default http://127.0.0.1:4566)\n"
          "  --queue NAME      queue name (default bench-WORKLOAD); put-events, events-latency:\n"
          "                    the rule's name and its queues' NAME-1..3 (bench-events,\n"
          "                    bench-events-lat); SNS: the topic and its queues' base name\n"
          "                    (bench-WORKLOAD; sns-publish*: queues NAME-1..10)\n"
          "  --purge           PurgeQueue before the run\n"
          "  --system NAME     label of the JSON line (default nginx for post, else sluiced)\n"
          "  --conns N         connections (default 32); cycle: half producers, half consumers;\n"
          "                    latency, events-latency: producer connections (default 32)\n"
          "  --consumers N     consumer connections (cycle: conns/2, latencies: 4)\n"
          "  --duration S      measured seconds (default 10)\n"
          "  --warmup S        warm-up seconds, discarded (default 2)\n"
          "  --size BYTES      body / message / event entry size (default 1024)\n"
          "  --batch N         entries per SendMessageBatch or PutEvents (default 10)\n"
          "  --rate N          latency, events-latency: messages per second (default 1000)\n"
          "  --rules N         put-events, events-latency: rules that never match, added\n"
          "                    besides the one routing to the queues (default 100)\n"
          "  --count N         fill: messages to enqueue (default 1000000); fsync: syncs (500)\n"
          "                    lambda-cold: cold starts to measure (20)\n"
          "  --wait S          ReceiveMessage WaitTimeSeconds (cycle 1, latencies 20)\n"
          "  --subs N          sns-http-fanout: HTTP subscriptions (default 100, at most 128)\n"
          "  --max-backlog N   sns-http-fanout: deliveries, ses-send: mails accepted but not\n"
          "                    yet received before publishers wait (5000, 2000)\n"
          "  --drain-timeout S sns-http-fanout, ses-send: wait for the deliveries (120)\n"
          "  --smtp-sink H:P   ses-send: the sluice-smtp-sink the server sends to\n"
          "  --raw             sns-publish*: raw delivery to the queues (default: envelope)\n"
          "  --zip FILE        lambda-*: the function's code (lambda-sqs-latency: the probe)\n"
          "  --runtime R       lambda-*: its Runtime (python3.11, nodejs20.x, provided.al2023)\n"
          "  --handler H       lambda-*: its Handler\n"
          "  --server-pid PID  report the server's CPU time and RSS\n"
          "  --dir DIR         fsync: directory to probe (default .)\n"
          "  --timeout S       hard limit of the whole run (default 900)\n",
          stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 2 || argv[1][0] == '-')
        usage();
    static bench bb;
    bench *b = &bb;
    int wi = -1;
    for (int i = 0; i < (int)(sizeof workload_names / sizeof *workload_names); i++)
        if (strcmp(argv[1], workload_names[i]) == 0)
            wi = i;
    if (wi < 0)
        usage();
    b->w = (workload)wi;
    b->duration = 10;
    b->warmup = 2;
    b->size = 1024;
    b->batch = 10;
    b->rate = 1000;
    b->count = 0;
    b->wait_s = -1;
    b->dir = ".";
    b->timeout = 900;
    b->rules = 100;
    b->subs = 100;
    b->max_backlog = 0;
    b->drain_timeout = 120;
    int conns = -1, consumers = -1;
    const char *url = NULL, *endpoint = "http://127.0.0.1:4566";

    static const struct option opts[] = {{"url", required_argument, 0, 'u'},
                                         {"endpoint", required_argument, 0, 'e'},
                                         {"queue", required_argument, 0, 'q'},
                                         {"purge", no_argument, 0, 'P'},
                                         {"system", required_argument, 0, 'S'},
                                         {"conns", required_argument, 0, 'c'},
                                         {"consumers", required_argument, 0, 'C'},
                                         {"duration", required_argument, 0, 'd'},
                                         {"warmup", required_argument, 0, 'w'},
                                         {"size", required_argument, 0, 's'},
                                         {"batch", required_argument, 0, 'b'},
                                         {"rate", required_argument, 0, 'r'},
                                         {"count", required_argument, 0, 'n'},
                                         {"wait", required_argument, 0, 'W'},
                                         {"server-pid", required_argument, 0, 'p'},
                                         {"dir", required_argument, 0, 'D'},
                                         {"timeout", required_argument, 0, 'T'},
                                         {"rules", required_argument, 0, 'R'},
                                         {"subs", required_argument, 0, 'N'},
                                         {"max-backlog", required_argument, 0, 'B'},
                                         {"drain-timeout", required_argument, 0, 'X'},
                                         {"smtp-sink", required_argument, 0, 'M'},
                                         {"raw", no_argument, 0, 'A'},
                                         {"zip", required_argument, 0, 'Z'},
                                         {"runtime", required_argument, 0, 'E'},
                                         {"handler", required_argument, 0, 'H'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc - 1, argv + 1, "", opts, NULL)) != -1) {
        switch (o) {
        case 'u':
            url = optarg;
            break;
        case 'e':
            endpoint = optarg;
            break;
        case 'q':
            b->queue = optarg;
            break;
        case 'P':
            b->purge = 1;
            break;
        case 'S':
            b->system = optarg;
            break;
        case 'c':
            conns = atoi(optarg);
            break;
        case 'C':
            consumers = atoi(optarg);
            break;
        case 'd':
            b->duration = atof(optarg);
            break;
        case 'w':
            b->warmup = atof(optarg);
            break;
        case 's':
            b->size = (size_t)strtoull(optarg, NULL, 10);
            break;
        case 'b':
            b->batch = atoi(optarg);
            break;
        case 'r':
            b->rate = atof(optarg);
            break;
        case 'n':
            b->count = strtoull(optarg, NULL, 10);
            break;
        case 'W':
            b->wait_s = atoi(optarg);
            break;
        case 'p':
            b->server_pid = atoi(optarg);
            break;
        case 'D':
            b->dir = optarg;
            break;
        case 'T':
            b->timeout = atof(optarg);
            break;
        case 'R':
            b->rules = atoi(optarg);
            break;
        case 'N':
            b->subs = atoi(optarg);
            break;
        case 'B':
            b->max_backlog = strtoull(optarg, NULL, 10);
            break;
        case 'X':
            b->drain_timeout = atof(optarg);
            break;
        case 'M':
            b->smtp_sink = optarg;
            break;
        case 'A':
            b->raw = 1;
            break;
        case 'Z':
            b->zip = optarg;
            break;
        case 'E':
            b->runtime = optarg;
            break;
        case 'H':
            b->handler = optarg;
            break;
        default:
            usage();
        }
    }
    if (b->duration <= 0 || b->warmup < 0 || b->batch < 1 || b->batch > 10 || b->rate <= 0 ||
        b->rules < 0)
        die("bad --duration, --warmup, --batch (1..10), --rate or --rules");

    if (b->w == W_FSYNC) {
        if (!b->count)
            b->count = 500;
        fsync_probe(b);
        return 0;
    }

    if (!b->system)
        b->system = b->w == W_POST ? "nginx" : "sluiced";
    if (b->w == W_POST) {
        if (!url)
            die("post needs --url");
        parse_url(b, url);
    } else {
        parse_url(b, endpoint);
    }
    if (!b->queue) {
        static char qn[64];
        snprintf(qn, sizeof qn, "bench-%s", workload_names[b->w]);
        if (b->w == W_PUT_EVENTS)
            snprintf(qn, sizeof qn, "bench-events");
        else if (b->w == W_EVENTS_LATENCY)
            snprintf(qn, sizeof qn, "bench-events-lat");
        else if (ddb_workload(b))
            snprintf(qn, sizeof qn, "bench-ddb");
        b->queue = qn;
    }
    if (b->w == W_FILL && !b->count)
        b->count = 1000000;
    if (b->w == W_LAMBDA_COLD)
        return lambda_cold(b);
    if (!b->max_backlog)
        b->max_backlog = b->w == W_SES_SEND ? 2000 : 5000;
    if (b->wait_s < 0)
        b->wait_s = consumes_after_window(b) ? 20 : 1;

    switch (b->w) {
    case W_CYCLE:
        if (conns < 0)
            conns = 32;
        b->consumers = consumers >= 0 ? consumers : conns / 2;
        b->producers = conns - b->consumers;
        break;
    case W_LAMBDA_SQS_LATENCY: /* the probe's UDP reports stand in for queue consumers */
    case W_SFN_SAGA:           /* the StartSyncExecution answer ends the measurement */
        b->producers = conns > 0 ? conns : 4;
        b->consumers = 0;
        break;
    case W_LATENCY:
    case W_EVENTS_LATENCY:
    case W_SNS_LATENCY:
    case W_SNS_HTTP_FANOUT:
        b->producers = conns > 0 ? conns : 32;
        b->consumers = consumers > 0 ? consumers : 4;
        break;
    default:
        b->producers = conns > 0 ? conns : 32;
        b->consumers = 0;
    }
    if (b->producers < 1 || (b->w == W_CYCLE && b->consumers < 1))
        die("need at least one producer (and one consumer for cycle)");

    signal(SIGPIPE, SIG_IGN);
    b->loop = uv_default_loop();
    if (sns_workload(b))
        sns_setup(b);
    else if (ddb_workload(b))
        ddb_setup(b);
    else if (lambda_workload(b))
        lambda_setup(b);
    else if (sfn_workload(b))
        sfn_setup(b);
    else if (b->w == W_PUT_EVENTS || b->w == W_EVENTS_LATENCY)
        setup_events(b);
    else if (b->w != W_POST)
        setup_queue(b);
    build_fixed_requests(b);

    http_parser_settings_init(&parser_settings);
    parser_settings.on_headers_complete = on_headers_complete;
    parser_settings.on_body = on_body;
    parser_settings.on_message_complete = on_message_complete;

    b->ncs = b->producers + b->consumers;
    b->cs = calloc((size_t)b->ncs, sizeof *b->cs);
    b->idle = calloc((size_t)b->ncs, sizeof *b->idle);
    if (!b->cs || !b->idle)
        die("out of memory");
    for (int i = 0; i < b->ncs; i++) {
        conn *c = &b->cs[i];
        c->b = b;
        if (i >= b->producers)
            c->role = ROLE_RECV;
        else if (b->w == W_POST || b->w == W_LAMBDA_INVOKE)
            c->role = ROLE_POST;
        else if (b->w == W_SEND)
            c->role = ROLE_SEND;
        else if (open_loop(b))
            c->role = ROLE_LAT_SEND;
        else if (sns_workload(b))
            c->role = ROLE_PUBLISH;
        else if (ddb_workload(b))
            c->role = ROLE_DDB;
        else if (sfn_workload(b))
            c->role = ROLE_SFN;
        else if (b->w == W_PUT_EVENTS)
            c->role = ROLE_PUT_EVENTS;
        else
            c->role = ROLE_BATCH;
    }

    b->start_ns = clock_mono_ns();
    uv_timer_init(b->loop, &b->phase_timer);
    b->phase_timer.data = b;
    uv_timer_init(b->loop, &b->hard_timer);
    b->hard_timer.data = b;
    uv_timer_start(&b->hard_timer, on_hard_timeout, (uint64_t)(b->timeout * 1000), 0);
    uv_check_t chk;
    if (b->w == W_FILL || b->w == W_DDB_LOAD || b->w == W_SFN_PARK) {
        b->ph = PH_MEASURE;
        b->t0_ns = b->start_ns;
        b->cli_cpu0 = self_cpu_s();
        if (b->server_pid)
            b->srv_cpu0 = proc_cpu_s(b->server_pid);
    } else {
        b->ph = PH_WARMUP;
        uv_timer_start(&b->phase_timer, on_phase, (uint64_t)(b->warmup * 1000), 0);
    }
    if (open_loop(b)) {
        /* A little lead so the consumers' first long polls are waiting before seq 0. */
        b->start_ns += 200 * 1000000ull;
        b->lat_first = (uint64_t)(b->warmup * b->rate);
        b->lat_end = (uint64_t)((b->warmup + b->duration) * b->rate);
        b->lat_seen = calloc(b->lat_end + 1, 1);
        if (!b->lat_seen)
            die("out of memory");
        uv_timer_stop(&b->phase_timer);
        uv_timer_start(&b->phase_timer, on_phase, (uint64_t)(b->warmup * 1000) + 200, 0);
        b->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (b->tfd < 0)
            die("timerfd_create: %s", strerror(errno));
        uv_poll_init(b->loop, &b->tpoll, b->tfd);
        b->tpoll.data = b;
        uv_poll_start(&b->tpoll, UV_READABLE, on_tfd);
        arm_tfd(b);
    }
    if (open_loop(b) || waits_for_delivery(b)) {
        uv_check_init(b->loop, &chk);
        chk.data = b;
        uv_check_start(&chk, on_check_drained);
    }
    for (int i = 0; i < b->ncs; i++)
        conn_start(&b->cs[i]);

    uv_run(b->loop, UV_RUN_DEFAULT);
    int failed = report(b);

    for (int i = 0; i < b->ncs; i++) {
        buf_free(&b->cs[i].out);
        buf_free(&b->cs[i].resp);
    }
    buf_free(&b->req_fixed);
    buf_free(&b->req_recv);
    free(b->cs);
    free(b->idle);
    free(b->lat_seen);
    xfree(b->queue_url_json);
    if (open_loop(b))
        close(b->tfd);
    sns_free(b);
    ddb_free(b);
    lambda_free(b);
    sfn_free(b);
    uv_loop_close(b->loop);
    return failed ? 3 : 0; /* 3: the run lost messages (as the peer clients exit) */
}
