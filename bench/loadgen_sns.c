/* sluice-loadgen: the SNS and SES workloads (issue 5's benchmark rows).
 *
 * Requests are AWS Query forms as boto3 sends them (POST /, x-www-form-urlencoded, Action
 * and Version first); queues are set up and read through the SQS JSON protocol like the
 * other workloads.
 *
 *   sns-publish        Publish of one ~1 KiB message per request to a standard topic with
 *   sns-publish-batch  10 SQS subscriptions (PublishBatch of --batch): 5 without a filter
 *                      policy, 5 with {"shard":["v<k>","v<k+1 mod 5>"]}, while message i
 *                      carries shard=v<i mod 5>: every message goes to the 5 unfiltered
 *                      queues and to exactly 2 of the 5 filtered ones. messages/s counts
 *                      messages accepted. Afterwards every queue must hold exactly the
 *                      messages it should (GetQueueAttributes), else the run FAILED.
 *   sns-latency        open-loop Publish at --rate (the `latency` machinery: scheduled
 *                      times, safe against coordinated omission) to a topic with one raw
 *                      SQS subscription, long-polling consumers; publish -> receive.
 *   sns-http-fanout    a topic with --subs HTTP subscriptions to receivers served by this
 *                      process (RECV_PORTS ports, path /sub/<k>; they GET the SubscribeURL
 *                      of each SubscriptionConfirmation, answer 200 and count every
 *                      notification by (subscription, sequence number), so losses and
 *                      duplicates show), plus one raw SQS subscription with long-polling
 *                      consumers. Publishers run closed loop as fast as the server accepts,
 *                      held back only while more than --max-backlog deliveries are owed
 *                      (so the run measures the sustained rate, not the growth of a
 *                      queue). After the window, publishing stops and the run waits until
 *                      every delivery arrived: messages/s = deliveries received from the
 *                      window's start until the last one / that time. The latency columns
 *                      are the SQS consumer's publish -> receive during the fan-out.
 *   ses-send           SES SendEmail (Source, one To, Subject "sluice-bench <seq>", ~1 KiB
 *                      text body) closed loop, held back past --max-backlog mails accepted
 *                      but not yet received by sluice-smtp-sink (--smtp-sink HOST:PORT,
 *                      asked through its XSTAT command). After the window it waits for the
 *                      sink to hold every accepted mail; messages/s = mails the sink
 *                      received from the window's start until the last one / that time. The
 *                      sink counts distinct subjects, so lost or doubled mails show. If
 *                      SendEmail is not an action of the server, prints a "skipped" line.
 *
 * A request that got no answer (connection lost, still in flight at the end) is "in
 * doubt": its messages may or may not have been accepted, and the verification allows
 * both. */
#include "common/alloc.h"
#include "common/clock.h"
#include "loadgen.h"
#include "protocol/form.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define PUB_QUEUES     10 /* sns-publish(-batch): SQS subscriptions, the first 5 filtered */
#define FILTERED       5
#define SHARDS         5 /* values of the "shard" attribute */
#define RECV_PORTS     4 /* sns-http-fanout: listening ports of the HTTP receivers */
#define MAX_SUBS       128
#define CONFIRM_WAIT_S 60
#define SINK_POLL_MS   10

/* What became of the messages of one sns-http-fanout publish (seq) or ses-send mail. */
typedef struct seq_rec {
    uint64_t seen[MAX_SUBS / 64]; /* HTTP subscriptions that received it */
    uint8_t acked;                /* the server accepted it */
    uint8_t measured;             /* published inside the measured window */
    uint8_t queue_seen;           /* the SQS consumer received it */
    char msg_id[40];              /* the MessageId, first seen in a response or delivery */
} seq_rec;

typedef struct receiver {
    uv_tcp_t srv;
    int port;
    bench *b;
} receiver;

typedef struct rconn {
    uv_tcp_t tcp;
    struct rconn *prev, *next; /* sns_run.rconns */
    http_parser p;
    bench *b;
    buf url, body;
    char field[48];
    size_t field_len;
    int field_done; /* the header name is complete (its value is being read) */
    char type[40], id[64];
    char rbuf[65536];
} rconn;

struct sns_run {
    char topic_arn[256];
    /* sns-publish(-batch) */
    char *queue_urls[PUB_QUEUES];
    uint64_t ok_by_shard[SHARDS];    /* accepted messages per shard value */
    uint64_t doubt_by_shard[SHARDS]; /* in-doubt messages per shard value */
    buf variants[SHARDS];            /* sns-publish: one request per shard value */
    uint64_t next_variant;
    /* sns-http-fanout, ses-send */
    seq_rec *seqs;
    uint64_t nseq, seq_cap; /* issued sequence numbers: 0 .. nseq-1 */
    uint64_t acked, failed, in_doubt;
    /* sns-http-fanout */
    receiver recv[RECV_PORTS];
    char *subscribe_urls[MAX_SUBS];
    rconn *rconns; /* open receiver connections */
    int confirmations;
    uint64_t delivered, duplicates, strays, id_mismatches;
    uint64_t delivered_t0, delivered_t1; /* at the window's start and end */
    uint64_t drained_ns;                 /* when the last delivery arrived (0: never) */
    uint64_t queue_received, queue_duplicates;
    hist queue_lat;        /* publish -> SQS consumer, messages published in the window */
    double request_p99_ms; /* the Publish requests' own p99 */
    /* ses-send */
    int sink_fd;
    char sink_host[64];
    int sink_port;
    uint64_t sink_base_distinct, sink_t0, sink_t1, sink_end, sink_distinct, sink_dups,
        sink_messages;
    uint64_t sink_base_dups, sink_base_messages;
    int sink_end_read;
    uv_timer_t sink_timer;
    int sink_timer_on;
    int ses_probe; /* the setup SendEmail (seq 0) was accepted */
};

static const char form_type[] =
    "Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\n";

/* ---------------------------------------------------------------- Query requests */

static void put_query_head(bench *b, buf *out, size_t body_len)
{
    buf_printf(out, "POST / HTTP/1.1\r\nHost: %s:%d\r\n%sContent-Length: %zu\r\n\r\n", b->host,
               b->port, form_type, body_len);
}

/* A form pair "&name=value" (value percent-encoded). */
static void form_add(buf *f, const char *name, const char *value)
{
    buf_printf(f, "%s%s=", f->len ? "&" : "", name);
    form_put_escaped(f, value);
}

/* A Query call for setup or verification; dies unless the answer is 200. */
static void query_call(bench *b, const buf *form, buf *resp)
{
    int st = sync_http(b, "POST", "/", form_type, form->data, form->len, resp);
    if (st != 200)
        die("Query call failed: HTTP %d %.*s\nrequest: %.300s", st, (int)resp->len,
            resp->data ? resp->data : "", form->data);
}

/* The text of the first <tag>...</tag> of an XML answer (no entities in what we read). */
static int xml_text(const buf *x, const char *tag, char *out, size_t outlen)
{
    char open[64], close[64];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *s = x->data ? memmem(x->data, x->len, open, strlen(open)) : NULL;
    if (!s)
        return -1;
    s += strlen(open);
    const char *e = memmem(s, x->len - (size_t)(s - x->data), close, strlen(close));
    if (!e || (size_t)(e - s) >= outlen)
        return -1;
    memcpy(out, s, (size_t)(e - s));
    out[e - s] = 0;
    return 0;
}

static size_t count_of(const buf *x, const char *needle)
{
    size_t n = 0, nl = strlen(needle);
    const char *p = x->data, *end = x->data + x->len;
    while (p && (p = memmem(p, (size_t)(end - p), needle, nl)) != NULL) {
        n++;
        p += nl;
    }
    return n;
}

static void create_topic(bench *b, const char *name)
{
    buf f = BUF_INIT, r = BUF_INIT;
    form_add(&f, "Action", "CreateTopic");
    form_add(&f, "Version", "2010-03-31");
    form_add(&f, "Name", name);
    query_call(b, &f, &r);
    if (xml_text(&r, "TopicArn", b->sns->topic_arn, sizeof b->sns->topic_arn) != 0)
        die("CreateTopic: no TopicArn in %.*s", (int)r.len, r.data);
    buf_free(&f);
    buf_free(&r);
}

/* Subscribe with up to two attributes (NULL names are left out). */
static void subscribe(bench *b, const char *protocol, const char *endpoint, const char *a1,
                      const char *v1, const char *a2, const char *v2)
{
    buf f = BUF_INIT, r = BUF_INIT;
    form_add(&f, "Action", "Subscribe");
    form_add(&f, "Version", "2010-03-31");
    form_add(&f, "TopicArn", b->sns->topic_arn);
    form_add(&f, "Protocol", protocol);
    form_add(&f, "Endpoint", endpoint);
    int n = 0;
    const char *names[2] = {a1, a2}, *values[2] = {v1, v2};
    for (int i = 0; i < 2; i++) {
        if (!names[i])
            continue;
        char k[64];
        n++;
        snprintf(k, sizeof k, "Attributes.entry.%d.key", n);
        form_add(&f, k, names[i]);
        snprintf(k, sizeof k, "Attributes.entry.%d.value", n);
        form_add(&f, k, values[i]);
    }
    query_call(b, &f, &r);
    buf_free(&f);
    buf_free(&r);
}

/* A queue subscribed to the topic; returns its URL JSON-escaped (caller frees). */
static char *subscribed_queue(bench *b, const char *name, const char *policy, int raw)
{
    char *url = create_queue(b, name, 0, 0);
    char *arn = queue_arn(b, url);
    subscribe(b, "sqs", arn, "RawMessageDelivery", raw ? "true" : "false",
              policy ? "FilterPolicy" : NULL, policy);
    xfree(arn);
    return url;
}

/* ---------------------------------------------------------------- sequence records */

static seq_rec *seq_get(sns_run *s, uint64_t seq)
{
    return seq < s->nseq ? &s->seqs[seq] : NULL;
}

static uint64_t seq_new(sns_run *s)
{
    if (s->nseq == s->seq_cap) {
        s->seq_cap = s->seq_cap ? s->seq_cap * 2 : 4096;
        s->seqs = xrealloc(s->seqs, s->seq_cap * sizeof *s->seqs);
    }
    memset(&s->seqs[s->nseq], 0, sizeof *s->seqs);
    return s->nseq++;
}

/* The MessageId of a sequence number seen once more (a response or a delivery). */
static void seq_id(bench *b, seq_rec *r, const char *id, size_t len)
{
    if (len == 0 || len >= sizeof r->msg_id)
        return;
    if (!r->msg_id[0]) {
        memcpy(r->msg_id, id, len);
        r->msg_id[len] = 0;
    } else if (strlen(r->msg_id) != len || memcmp(r->msg_id, id, len) != 0) {
        b->sns->id_mismatches++;
        count_error(b, "a delivery's MessageId differs from its publish's", 0, id, len);
    }
}

/* ---------------------------------------------------------------- message bodies */

/* "<seq>:<ns>:" then [a-z0-9] up to size bytes, form-encoded (':' is %3A). */
static void put_marked_message(bench *b, buf *f, uint64_t seq, uint64_t ns)
{
    char mark[64];
    int n = snprintf(mark, sizeof mark, "%" PRIu64 ":%" PRIu64 ":", seq, ns);
    form_put_escaped(f, mark);
    put_payload(f, b->size > (size_t)n ? b->size - (size_t)n : 0);
}

static void put_shard_attribute(buf *f, const char *prefix, int shard)
{
    buf_printf(f,
               "&%sMessageAttributes.entry.1.Name=shard&%sMessageAttributes.entry.1.Value.DataType"
               "=String&%sMessageAttributes.entry.1.Value.StringValue=v%d",
               prefix, prefix, prefix, shard);
}

static void finish_query(bench *b, buf *out, const buf *f)
{
    buf_reset(out);
    put_query_head(b, out, f->len);
    buf_append(out, f->data, f->len);
}

/* sns-publish: one Publish per shard value; sns-publish-batch: one PublishBatch whose
 * entry j carries shard j mod 5 (every batch is the same request). */
static void build_publish_requests(bench *b)
{
    sns_run *s = b->sns;
    buf f = BUF_INIT;
    for (int v = 0; v < (b->w == W_SNS_PUBLISH ? SHARDS : 1); v++) {
        buf_reset(&f);
        buf_printf(&f, "Action=%s&Version=2010-03-31&TopicArn=",
                   b->w == W_SNS_PUBLISH ? "Publish" : "PublishBatch");
        form_put_escaped(&f, s->topic_arn);
        if (b->w == W_SNS_PUBLISH) {
            buf_puts(&f, "&Message=");
            put_payload(&f, b->size);
            put_shard_attribute(&f, "", v);
        } else {
            for (int j = 1; j <= b->batch; j++) {
                char prefix[64];
                snprintf(prefix, sizeof prefix, "PublishBatchRequestEntries.member.%d.", j);
                buf_printf(&f, "&%sId=m%d&%sMessage=", prefix, j, prefix);
                put_payload(&f, b->size);
                put_shard_attribute(&f, prefix, (j - 1) % SHARDS);
            }
        }
        buf_init(&s->variants[v], f.len + 256);
        finish_query(b, &s->variants[v], &f);
    }
    buf_free(&f);
}

/* A ~size-byte plain-text body in lines of 64 bytes (SMTP limits lines to 998). */
static void put_text_body(buf *f, size_t size)
{
    for (size_t done = 0; done < size;) {
        size_t n = size - done < 64 ? size - done : 64;
        if (n > 1)
            put_payload(f, n - 1);
        buf_puts(f, "%0A");
        done += n;
    }
}

static void build_send_email(bench *b, buf *out, uint64_t seq)
{
    buf f = BUF_INIT;
    char subject[64];
    snprintf(subject, sizeof subject, "sluice-bench %" PRIu64, seq);
    buf_puts(&f, "Action=SendEmail&Version=2010-12-01&Source=bench%40sluice.test"
                 "&Destination.ToAddresses.member.1=sink%40sluice.test&Message.Subject.Data=");
    form_put_escaped(&f, subject);
    buf_puts(&f, "&Message.Body.Text.Data=");
    put_text_body(&f, b->size);
    finish_query(b, out, &f);
    buf_free(&f);
}

/* ---------------------------------------------------------------- HTTP receivers */

static http_parser_settings recv_settings;

static void rconn_closed(uv_handle_t *h)
{
    rconn *rc = h->data;
    buf_free(&rc->url);
    buf_free(&rc->body);
    xfree(rc);
}

static void rconn_close(rconn *rc)
{
    sns_run *s = rc->b->sns;
    if (uv_is_closing((uv_handle_t *)&rc->tcp))
        return;
    if (rc->prev)
        rc->prev->next = rc->next;
    else
        s->rconns = rc->next;
    if (rc->next)
        rc->next->prev = rc->prev;
    uv_close((uv_handle_t *)&rc->tcp, rconn_closed);
}

static int r_begin(http_parser *p)
{
    rconn *rc = p->data;
    buf_reset(&rc->url);
    buf_reset(&rc->body);
    rc->type[0] = rc->id[0] = 0;
    rc->field_len = 0;
    rc->field_done = 0;
    return 0;
}

static int r_url(http_parser *p, const char *at, size_t len)
{
    buf_append(&((rconn *)p->data)->url, at, len);
    return 0;
}

static int r_field(http_parser *p, const char *at, size_t len)
{
    rconn *rc = p->data;
    if (rc->field_done) {
        rc->field_len = 0;
        rc->field_done = 0;
    }
    size_t room = sizeof rc->field - 1 - rc->field_len;
    size_t n = len < room ? len : room;
    memcpy(rc->field + rc->field_len, at, n);
    rc->field_len += n;
    rc->field[rc->field_len] = 0;
    return 0;
}

static void append_to(char *dst, size_t cap, const char *at, size_t len)
{
    size_t have = strlen(dst);
    if (have + len >= cap)
        len = cap - 1 - have;
    memcpy(dst + have, at, len);
    dst[have + len] = 0;
}

static int r_value(http_parser *p, const char *at, size_t len)
{
    rconn *rc = p->data;
    rc->field_done = 1;
    if (strcasecmp(rc->field, "x-amz-sns-message-type") == 0)
        append_to(rc->type, sizeof rc->type, at, len);
    else if (strcasecmp(rc->field, "x-amz-sns-message-id") == 0)
        append_to(rc->id, sizeof rc->id, at, len);
    return 0;
}

static int r_body(http_parser *p, const char *at, size_t len)
{
    buf_append(&((rconn *)p->data)->body, at, len);
    return 0;
}

static void on_confirmation(bench *b, int sub, const buf *body)
{
    sns_run *s = b->sns;
    json_t *j = json_loadb(body->data, body->len, 0, NULL);
    const char *url = json_string_value(json_object_get(j, "SubscribeURL"));
    if (!url)
        count_error(b, "SubscriptionConfirmation without a SubscribeURL", 0, body->data, body->len);
    else if (!s->subscribe_urls[sub]) {
        s->subscribe_urls[sub] = xstrdup(url);
        s->confirmations++;
    }
    json_decref(j);
}

/* A Notification's body is the envelope; its "Message" starts with "<seq>:<ns>:". */
static void on_notification(bench *b, int sub, rconn *rc)
{
    sns_run *s = b->sns;
    static const char key[] = "\"Message\":\"";
    const char *m = rc->body.data ? memmem(rc->body.data, rc->body.len, key, sizeof key - 1) : NULL;
    char *end = NULL;
    uint64_t seq = m ? strtoull(m + sizeof key - 1, &end, 10) : 0;
    seq_rec *r = m && *end == ':' ? seq_get(s, seq) : NULL;
    if (!r) {
        s->strays++;
        count_error(b, "a notification of no message published", 0, rc->body.data, rc->body.len);
        return;
    }
    uint64_t bit = 1ull << (sub % 64);
    if (r->seen[sub / 64] & bit) {
        s->duplicates++;
        return;
    }
    r->seen[sub / 64] |= bit;
    s->delivered++;
    seq_id(b, r, rc->id, strlen(rc->id));
}

static int r_complete(http_parser *p)
{
    rconn *rc = p->data;
    bench *b = rc->b;
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    int sub = -1;
    if (rc->url.len > 5 && memcmp(rc->url.data, "/sub/", 5) == 0)
        sub = atoi(rc->url.data + 5);
    if (sub < 0 || sub >= b->subs) {
        count_error(b, "a POST to an unknown receiver path", 0, rc->url.data, rc->url.len);
    } else if (strcmp(rc->type, "SubscriptionConfirmation") == 0) {
        on_confirmation(b, sub, &rc->body);
    } else if (strcmp(rc->type, "Notification") == 0) {
        on_notification(b, sub, rc);
        if (b->ph < PH_DRAIN)
            resume_publishers(b);
    } else {
        count_error(b, "a POST of an unexpected x-amz-sns-message-type", 0, rc->type,
                    strlen(rc->type));
    }
    uv_buf_t ub = uv_buf_init((char *)ok, sizeof ok - 1);
    int w = uv_try_write((uv_stream_t *)&rc->tcp, &ub, 1);
    if (w != (int)ub.len) { /* a 38-byte write on loopback: never partial in practice */
        count_error(b, "a receiver could not write its answer", 0, NULL, 0);
        rconn_close(rc);
    }
    return 0;
}

static void r_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *out)
{
    rconn *rc = h->data;
    *out = uv_buf_init(rc->rbuf, sizeof rc->rbuf);
}

static void r_read(uv_stream_t *st, ssize_t n, const uv_buf_t *ub)
{
    rconn *rc = st->data;
    if (n < 0) {
        rconn_close(rc);
        return;
    }
    if (n == 0)
        return;
    size_t used = http_parser_execute(&rc->p, &recv_settings, ub->base, (size_t)n);
    if (rc->p.http_errno != HPE_OK || used != (size_t)n) {
        count_error(rc->b, "a receiver got an unparsable request", 0, ub->base, (size_t)n);
        rconn_close(rc);
    }
}

static void r_accept(uv_stream_t *srv, int status)
{
    receiver *r = srv->data;
    if (status < 0)
        return;
    rconn *rc = xcalloc(1, sizeof *rc);
    rc->b = r->b;
    rc->next = r->b->sns->rconns;
    if (rc->next)
        rc->next->prev = rc;
    r->b->sns->rconns = rc;
    uv_tcp_init(r->b->loop, &rc->tcp);
    rc->tcp.data = rc;
    if (uv_accept(srv, (uv_stream_t *)&rc->tcp) != 0) {
        rconn_close(rc);
        return;
    }
    uv_tcp_nodelay(&rc->tcp, 1);
    http_parser_init(&rc->p, HTTP_REQUEST);
    rc->p.data = rc;
    uv_read_start((uv_stream_t *)&rc->tcp, r_alloc, r_read);
}

static void start_receivers(bench *b)
{
    http_parser_settings_init(&recv_settings);
    recv_settings.on_message_begin = r_begin;
    recv_settings.on_url = r_url;
    recv_settings.on_header_field = r_field;
    recv_settings.on_header_value = r_value;
    recv_settings.on_body = r_body;
    recv_settings.on_message_complete = r_complete;
    for (int i = 0; i < RECV_PORTS; i++) {
        receiver *r = &b->sns->recv[i];
        struct sockaddr_in sa;
        uv_ip4_addr("127.0.0.1", 0, &sa);
        r->b = b;
        uv_tcp_init(b->loop, &r->srv);
        r->srv.data = r;
        if (uv_tcp_bind(&r->srv, (const struct sockaddr *)&sa, 0) != 0 ||
            uv_listen((uv_stream_t *)&r->srv, 1024, r_accept) != 0)
            die("cannot listen for the HTTP receivers");
        struct sockaddr_storage ss;
        int len = sizeof ss;
        uv_tcp_getsockname(&r->srv, (struct sockaddr *)&ss, &len);
        r->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
}

/* Runs the loop until every HTTP subscription's confirmation came, then confirms them all
 * by GETting their SubscribeURL, and checks the topic counts them confirmed. */
static void confirm_subscriptions(bench *b)
{
    sns_run *s = b->sns;
    uint64_t deadline = clock_mono_ns() + CONFIRM_WAIT_S * 1000000000ull;
    while (s->confirmations < b->subs && clock_mono_ns() < deadline)
        uv_run(b->loop, UV_RUN_ONCE);
    if (s->confirmations < b->subs)
        die("only %d of %d SubscriptionConfirmation POSTs arrived in %d s", s->confirmations,
            b->subs, CONFIRM_WAIT_S);
    buf r = BUF_INIT;
    for (int k = 0; k < b->subs; k++) {
        const char *u = s->subscribe_urls[k];
        const char *path = strncmp(u, "http://", 7) == 0 ? strchr(u + 7, '/') : NULL;
        if (!path)
            die("SubscribeURL not on http://: %s", u);
        int st = sync_http(b, "GET", path, NULL, "", 0, &r);
        if (st != 200)
            die("GET SubscribeURL failed: HTTP %d %.*s", st, (int)r.len, r.data);
    }
    buf f = BUF_INIT;
    form_add(&f, "Action", "GetTopicAttributes");
    form_add(&f, "Version", "2010-03-31");
    form_add(&f, "TopicArn", s->topic_arn);
    query_call(b, &f, &r);
    const char *p = r.data ? strstr(r.data, "<key>SubscriptionsConfirmed</key><value>") : NULL;
    int confirmed = p ? atoi(p + strlen("<key>SubscriptionsConfirmed</key><value>")) : -1;
    if (confirmed != b->subs + 1)
        die("the topic counts %d confirmed subscriptions, not %d: %.*s", confirmed, b->subs + 1,
            (int)r.len, r.data);
    buf_free(&f);
    buf_free(&r);
    fprintf(stderr, "sluice-loadgen: %d HTTP subscriptions confirmed through their SubscribeURL\n",
            b->subs);
}

static void setup_http_fanout(bench *b)
{
    sns_run *s = b->sns;
    if (b->subs < 1 || b->subs > MAX_SUBS)
        die("--subs must be 1..%d", MAX_SUBS);
    create_topic(b, b->queue);
    b->queue_url_json = subscribed_queue(b, b->queue, NULL, 1);
    start_receivers(b);
    for (int k = 0; k < b->subs; k++) {
        char ep[96];
        snprintf(ep, sizeof ep, "http://127.0.0.1:%d/sub/%d", s->recv[k % RECV_PORTS].port, k);
        subscribe(b, "http", ep, NULL, NULL, NULL, NULL);
    }
    confirm_subscriptions(b);
}

/* ---------------------------------------------------------------- the SMTP sink */

/* One XSTAT on the sink's control connection (blocking: a loopback round trip). */
static void sink_stats(bench *b)
{
    sns_run *s = b->sns;
    static const char cmd[] = "XSTAT\r\n";
    if (write(s->sink_fd, cmd, sizeof cmd - 1) != (ssize_t)sizeof cmd - 1)
        die("the SMTP sink is gone: %s", strerror(errno));
    char line[512];
    size_t n = 0;
    while (n == 0 || line[n - 1] != '\n') {
        ssize_t r = read(s->sink_fd, line + n, sizeof line - 1 - n);
        if (r <= 0 || n + (size_t)r >= sizeof line - 1)
            die("the SMTP sink did not answer XSTAT");
        n += (size_t)r;
    }
    line[n] = 0;
    unsigned long long m, d, u;
    if (sscanf(line, "250 messages=%llu distinct=%llu duplicates=%llu", &m, &d, &u) != 3)
        die("unexpected XSTAT answer: %s", line);
    s->sink_messages = m;
    s->sink_distinct = d;
    s->sink_dups = u;
}

static void sink_connect(bench *b)
{
    sns_run *s = b->sns;
    if (!b->smtp_sink)
        die("ses-send needs --smtp-sink HOST:PORT (sluice-smtp-sink)");
    const char *colon = strrchr(b->smtp_sink, ':');
    if (!colon || (size_t)(colon - b->smtp_sink) >= sizeof s->sink_host)
        die("bad --smtp-sink %s", b->smtp_sink);
    memcpy(s->sink_host, b->smtp_sink, (size_t)(colon - b->smtp_sink));
    s->sink_port = atoi(colon + 1);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->sink_port)};
    s->sink_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(s->sink_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (inet_pton(AF_INET, s->sink_host, &sa.sin_addr) != 1 ||
        connect(s->sink_fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        die("cannot connect to the SMTP sink at %s", b->smtp_sink);
    char greeting[512];
    ssize_t r = read(s->sink_fd, greeting, sizeof greeting - 1);
    if (r < 4 || strncmp(greeting, "220", 3) != 0)
        die("the SMTP sink did not greet");
    sink_stats(b);
    s->sink_base_distinct = s->sink_distinct;
    s->sink_base_dups = s->sink_dups;
    s->sink_base_messages = s->sink_messages;
}

static uint64_t sink_received(const sns_run *s)
{
    return s->sink_distinct - s->sink_base_distinct;
}

static void on_sink_timer(uv_timer_t *t)
{
    bench *b = t->data;
    if (b->ph == PH_DONE)
        return;
    sink_stats(b);
    if (b->ph < PH_DRAIN)
        resume_publishers(b);
}

/* The setup SendEmail: tells whether the server has SES at all. */
static void setup_ses(bench *b)
{
    sns_run *s = b->sns;
    sink_connect(b);
    buf req = BUF_INIT, r = BUF_INIT;
    uint64_t seq = seq_new(s);
    build_send_email(b, &req, seq);
    const char *body = strstr(req.data, "\r\n\r\n") + 4;
    int st = sync_http(b, "POST", "/", form_type, body, req.len - (size_t)(body - req.data), &r);
    if (st >= 400 && st < 500 && r.data &&
        (strstr(r.data, "InvalidAction") || strstr(r.data, "UnknownOperation"))) {
        printf("{\"system\":\"%s\",\"workload\":\"skipped\",\"reason\":\"ses-send: SES not "
               "available (SendEmail answered HTTP %d InvalidAction)\"}\n",
               b->system, st);
        fprintf(stderr, "sluice-loadgen: ses-send skipped: SendEmail is not an action of this "
                        "server\n");
        exit(0);
    }
    if (st != 200)
        die("SendEmail failed: HTTP %d %.*s", st, (int)r.len, r.data ? r.data : "");
    s->seqs[seq].acked = 1;
    s->acked++;
    s->ses_probe = 1;
    buf_free(&req);
    buf_free(&r);
    uv_timer_init(b->loop, &s->sink_timer);
    s->sink_timer.data = b;
    uv_timer_start(&s->sink_timer, on_sink_timer, SINK_POLL_MS, SINK_POLL_MS);
    s->sink_timer_on = 1;
}

/* ---------------------------------------------------------------- the engine's hooks */

int sns_workload(const bench *b)
{
    return b->w >= W_SNS_PUBLISH && b->w <= W_SES_SEND;
}

void sns_setup(bench *b)
{
    sns_run *s = b->sns = xcalloc(1, sizeof *b->sns);
    s->sink_fd = -1;
    hist_reset(&s->queue_lat);
    char name[256];
    switch (b->w) {
    case W_SNS_PUBLISH:
    case W_SNS_PUBLISH_BATCH:
        create_topic(b, b->queue);
        for (int k = 0; k < PUB_QUEUES; k++) {
            char policy[96];
            snprintf(name, sizeof name, "%s-%d", b->queue, k + 1);
            snprintf(policy, sizeof policy, "{\"shard\":[\"v%d\",\"v%d\"]}", k, (k + 1) % SHARDS);
            s->queue_urls[k] = subscribed_queue(b, name, k < FILTERED ? policy : NULL, b->raw);
        }
        b->queue_url_json = xstrdup(s->queue_urls[0]);
        build_publish_requests(b);
        break;
    case W_SNS_LATENCY:
        create_topic(b, b->queue);
        b->queue_url_json = subscribed_queue(b, b->queue, NULL, 1);
        break;
    case W_SNS_HTTP_FANOUT:
        setup_http_fanout(b);
        break;
    case W_SES_SEND:
        setup_ses(b);
        break;
    default:
        break;
    }
}

/* Deliveries (or mails) accepted but not yet received. */
static uint64_t backlog(const bench *b)
{
    const sns_run *s = b->sns;
    uint64_t live = s->nseq - s->failed;
    if (b->w == W_SES_SEND)
        return live > sink_received(s) ? live - sink_received(s) : 0;
    uint64_t owed = live * (uint64_t)b->subs;
    return owed > s->delivered ? owed - s->delivered : 0;
}

int sns_next(conn *c)
{
    bench *b = c->b;
    sns_run *s = b->sns;
    switch (b->w) {
    case W_SNS_PUBLISH:
        c->variant = (int)(s->next_variant++ % SHARDS);
        issue(c, REQ_PUBLISH, s->variants[c->variant].data, s->variants[c->variant].len);
        return 1;
    case W_SNS_PUBLISH_BATCH:
        issue(c, REQ_PUBLISH, s->variants[0].data, s->variants[0].len);
        return 1;
    case W_SNS_HTTP_FANOUT: {
        if (backlog(b) + (uint64_t)b->subs > b->max_backlog)
            return 0;
        c->seq = seq_new(s);
        s->seqs[c->seq].measured = b->ph == PH_MEASURE;
        buf f = BUF_INIT;
        buf_puts(&f, "Action=Publish&Version=2010-03-31&TopicArn=");
        form_put_escaped(&f, s->topic_arn);
        buf_puts(&f, "&Message=");
        put_marked_message(b, &f, c->seq, clock_mono_ns());
        finish_query(b, &c->out, &f);
        buf_free(&f);
        issue(c, REQ_PUBLISH, c->out.data, c->out.len);
        return 1;
    }
    case W_SES_SEND:
        if (backlog(b) + 1 > b->max_backlog)
            return 0;
        c->seq = seq_new(s);
        build_send_email(b, &c->out, c->seq);
        issue(c, REQ_SEND_EMAIL, c->out.data, c->out.len);
        return 1;
    default:
        die("sns_next: not an SNS workload");
    }
}

void sns_latency_send(conn *c, uint64_t seq)
{
    bench *b = c->b;
    uint64_t sched = b->start_ns + (uint64_t)((double)seq * 1e9 / b->rate);
    buf f = BUF_INIT;
    buf_puts(&f, "Action=Publish&Version=2010-03-31&TopicArn=");
    form_put_escaped(&f, b->sns->topic_arn);
    buf_puts(&f, "&Message=");
    put_marked_message(b, &f, seq, sched);
    finish_query(b, &c->out, &f);
    buf_free(&f);
    issue(c, REQ_PUBLISH, c->out.data, c->out.len);
}

/* Messages a publish-row request carries, per shard value. */
static void request_shards(const conn *c, uint64_t per[SHARDS])
{
    memset(per, 0, SHARDS * sizeof *per);
    if (c->b->w == W_SNS_PUBLISH)
        per[c->variant] = 1;
    else
        for (int j = 0; j < c->b->batch; j++)
            per[j % SHARDS]++;
}

void sns_on_response(conn *c, req_kind k, uint64_t now)
{
    bench *b = c->b;
    sns_run *s = b->sns;
    int m = measuring(b);
    if (b->w == W_SNS_LATENCY)
        return; /* counted by the latency machinery */
    if (b->w == W_SNS_PUBLISH || b->w == W_SNS_PUBLISH_BATCH) {
        uint64_t per[SHARDS];
        request_shards(c, per);
        uint64_t n = 0;
        for (int v = 0; v < SHARDS; v++)
            n += per[v];
        uint64_t ok = b->w == W_SNS_PUBLISH ? 1 : count_of(&c->resp, "<MessageId>");
        if (ok != n) {
            /* Which entries failed is in the answer; the counts stop being exact, so the
             * whole request becomes in doubt rather than guessed. */
            count_error(b, "PublishBatch entries failed", c->status, c->resp.data, c->resp.len);
            for (int v = 0; v < SHARDS; v++)
                s->doubt_by_shard[v] += per[v];
        } else {
            for (int v = 0; v < SHARDS; v++)
                s->ok_by_shard[v] += per[v];
        }
        if (m) {
            b->win.messages += ok;
            hist_record(&b->win.lat, now - c->sent_ns);
        }
        return;
    }
    seq_rec *r = seq_get(s, c->seq);
    r->acked = 1;
    s->acked++;
    if (k == REQ_PUBLISH) {
        char id[64];
        if (xml_text(&c->resp, "MessageId", id, sizeof id) == 0)
            seq_id(b, r, id, strlen(id));
    }
    if (m)
        hist_record(&b->win.lat, now - c->sent_ns);
}

/* A request that got an error answer: nothing of it was accepted. */
void sns_on_failure(conn *c)
{
    bench *b = c->b;
    if (b->w == W_SNS_HTTP_FANOUT || b->w == W_SES_SEND)
        b->sns->failed++;
}

/* A request that got no answer: in doubt. */
void sns_in_doubt(conn *c)
{
    bench *b = c->b;
    sns_run *s = b->sns;
    if (b->w == W_SNS_PUBLISH || b->w == W_SNS_PUBLISH_BATCH) {
        uint64_t per[SHARDS];
        request_shards(c, per);
        for (int v = 0; v < SHARDS; v++)
            s->doubt_by_shard[v] += per[v];
    } else if (b->w == W_SNS_HTTP_FANOUT || b->w == W_SES_SEND) {
        s->in_doubt++;
        s->failed++; /* not owed for the backlog; the verification allows it either way */
    }
}

void sns_on_queue_message(bench *b, const char *body, uint64_t now)
{
    sns_run *s = b->sns;
    char *end;
    uint64_t seq = strtoull(body, &end, 10);
    uint64_t sent = *end == ':' ? strtoull(end + 1, &end, 10) : 0;
    seq_rec *r = *end == ':' ? seq_get(s, seq) : NULL;
    if (!r) {
        count_error(b, "a queue message of no message published", 0, body, strlen(body));
        return;
    }
    if (r->queue_seen) {
        s->queue_duplicates++;
        return;
    }
    r->queue_seen = 1;
    s->queue_received++;
    if (r->measured)
        hist_record(&s->queue_lat, now > sent ? now - sent : 0);
}

void sns_on_measure_start(bench *b)
{
    sns_run *s = b->sns;
    if (b->w == W_SNS_HTTP_FANOUT)
        s->delivered_t0 = s->delivered;
    if (b->w == W_SES_SEND) {
        sink_stats(b);
        s->sink_t0 = sink_received(s);
    }
}

void sns_on_measure_end(bench *b)
{
    sns_run *s = b->sns;
    if (b->w == W_SNS_HTTP_FANOUT)
        s->delivered_t1 = s->delivered;
    if (b->w == W_SES_SEND) {
        sink_stats(b);
        s->sink_t1 = sink_received(s);
    }
}

/* Every in-flight request answered, and everything accepted received. */
int sns_drained(bench *b)
{
    sns_run *s = b->sns;
    for (int i = 0; i < b->producers; i++)
        if (b->cs[i].kind != REQ_NONE)
            return 0;
    int done = 0;
    if (b->w == W_SNS_HTTP_FANOUT)
        done = s->delivered >= s->acked * (uint64_t)b->subs && s->queue_received >= s->acked;
    if (b->w == W_SES_SEND && sink_received(s) >= s->acked) {
        s->sink_end = sink_received(s);
        s->sink_end_read = 1;
        done = 1;
    }
    if (done)
        s->drained_ns = clock_mono_ns();
    return done;
}

/* Requests still in flight when the run ends are in doubt; stops the receivers and the
 * sink poll. */
void sns_on_finish(bench *b)
{
    sns_run *s = b->sns;
    for (int i = 0; i < b->producers; i++)
        if (b->cs[i].role == ROLE_PUBLISH && b->cs[i].kind != REQ_NONE)
            sns_in_doubt(&b->cs[i]);
    if (b->w == W_SNS_HTTP_FANOUT)
        for (int i = 0; i < RECV_PORTS; i++)
            uv_close((uv_handle_t *)&s->recv[i].srv, NULL);
    if (s->sink_timer_on) {
        uv_close((uv_handle_t *)&s->sink_timer, NULL);
        s->sink_timer_on = 0;
        if (!s->sink_end_read) {
            sink_stats(b);
            s->sink_end = sink_received(s);
        }
    }
    while (s->rconns)
        rconn_close(s->rconns);
}

/* ---------------------------------------------------------------- report and verification */

/* Visible + in flight + delayed messages of a queue (URL JSON-escaped); -1 if unknown. */
static long queue_depth(bench *b, const char *url_json)
{
    buf in = BUF_INIT, r = BUF_INIT;
    buf_printf(&in,
               "{\"QueueUrl\":\"%s\",\"AttributeNames\":[\"ApproximateNumberOfMessages\","
               "\"ApproximateNumberOfMessagesNotVisible\",\"ApproximateNumberOfMessagesDelayed\"]}",
               url_json);
    int st = sync_call(b, &API_SQS, "GetQueueAttributes", in.data, &r);
    json_t *j = st == 200 ? json_loadb(r.data, r.len, 0, NULL) : NULL;
    json_t *a = json_object_get(j, "Attributes");
    long n = a ? 0 : -1;
    const char *k;
    json_t *v;
    json_object_foreach(a, k, v) n += atol(json_string_value(v) ? json_string_value(v) : "0");
    json_decref(j);
    buf_free(&in);
    buf_free(&r);
    return n;
}

/* Each of the 10 queues holds exactly what the filter policies let through. */
static int verify_publish(bench *b, buf *verify)
{
    sns_run *s = b->sns;
    uint64_t all = 0, all_doubt = 0;
    for (int v = 0; v < SHARDS; v++) {
        all += s->ok_by_shard[v];
        all_doubt += s->doubt_by_shard[v];
    }
    int bad = 0;
    buf detail = BUF_INIT;
    for (int k = 0; k < PUB_QUEUES; k++) {
        uint64_t want = all, doubt = all_doubt;
        if (k < FILTERED) {
            want = s->ok_by_shard[k] + s->ok_by_shard[(k + 1) % SHARDS];
            doubt = s->doubt_by_shard[k] + s->doubt_by_shard[(k + 1) % SHARDS];
        }
        long have = queue_depth(b, s->queue_urls[k]);
        buf_printf(&detail, "%s%ld", k ? "," : "", have);
        if (have < 0 || (uint64_t)have < want || (uint64_t)have > want + doubt) {
            if (!bad)
                buf_printf(verify,
                           "FAILED: queue %d (%s) holds %ld messages, expected %" PRIu64
                           " (+%" PRIu64 " in doubt)",
                           k + 1, k < FILTERED ? "filtered" : "unfiltered", have, want, doubt);
            bad = 1;
        }
    }
    if (!bad)
        buf_printf(verify,
                   "ok: the 10 queues hold exactly the messages routed to them (%s; %" PRIu64
                   " published, %" PRIu64 " in doubt)",
                   detail.data, all, all_doubt);
    buf_free(&detail);
    return bad;
}

static int popcount_seen(const seq_rec *r)
{
    int n = 0;
    for (size_t i = 0; i < MAX_SUBS / 64; i++)
        n += __builtin_popcountll(r->seen[i]);
    return n;
}

/* Every accepted publish reached every HTTP subscription and the queue. */
static int verify_fanout(bench *b, buf *verify)
{
    sns_run *s = b->sns;
    uint64_t missing = 0, queue_missing = 0;
    for (uint64_t i = 0; i < s->nseq; i++) {
        if (!s->seqs[i].acked)
            continue;
        missing += (uint64_t)(b->subs - popcount_seen(&s->seqs[i]));
        queue_missing += !s->seqs[i].queue_seen;
    }
    int bad = missing > 0 || queue_missing > 0 || s->strays > 0 || s->id_mismatches > 0;
    buf_printf(verify,
               "%s: %" PRIu64 " publishes accepted, %" PRIu64 " HTTP deliveries missing, %" PRIu64
               " duplicated, %" PRIu64 " not ours, %" PRIu64
               " with another MessageId; queue: %" PRIu64 " missing, %" PRIu64
               " duplicated; %" PRIu64 " publishes in doubt",
               bad ? "FAILED" : "ok", s->acked, missing, s->duplicates, s->strays, s->id_mismatches,
               queue_missing, s->queue_duplicates, s->in_doubt);
    return bad;
}

/* The sink received each accepted mail exactly once. */
static int verify_ses(bench *b, buf *verify)
{
    sns_run *s = b->sns;
    sink_stats(b);
    uint64_t got = sink_received(s), dups = s->sink_dups - s->sink_base_dups;
    uint64_t unidentified = (s->sink_messages - s->sink_base_messages) - got - dups;
    int bad = got < s->acked || got > s->acked + s->in_doubt || dups > 0 || unidentified > 0;
    buf_printf(verify,
               "%s: %" PRIu64 " mails accepted (%" PRIu64 " in doubt), the sink received %" PRIu64
               " distinct, %" PRIu64 " twice, %" PRIu64 " without our subject",
               bad ? "FAILED" : "ok", s->acked, s->in_doubt, got, dups, unidentified);
    return bad;
}

void sns_adjust(bench *b, double *secs)
{
    sns_run *s = b->sns;
    if (b->w == W_SNS_HTTP_FANOUT) {
        b->win.messages = s->delivered_t1 - s->delivered_t0;
        s->request_p99_ms = hist_percentile(&b->win.lat, 99) / 1e6;
        b->win.lat = s->queue_lat;
    } else if (b->w == W_SES_SEND) {
        b->win.messages = s->sink_t1 - s->sink_t0;
    }
    (void)secs;
}

int sns_report(bench *b, buf *o)
{
    sns_run *s = b->sns;
    buf verify = BUF_INIT;
    int bad = 0;
    if (b->w == W_SNS_HTTP_FANOUT || b->w == W_SES_SEND) {
        /* How long the backlog took to drain after the window, and the rate over the whole
         * run: everything delivered / (first request .. last delivery). */
        uint64_t total = b->w == W_SES_SEND ? s->sink_end : s->delivered;
        if (s->drained_ns)
            buf_printf(o, ",\"drain_s\":%.3f,\"overall_per_s\":%.1f",
                       (double)(s->drained_ns - b->t1_ns) / 1e9,
                       (double)total / ((double)(s->drained_ns - b->start_ns) / 1e9));
        else
            buf_puts(o, ",\"drain_s\":null");
    }
    switch (b->w) {
    case W_SNS_PUBLISH:
    case W_SNS_PUBLISH_BATCH:
        buf_printf(o, ",\"subscriptions\":%d,\"filtered\":%d,\"raw\":%s", PUB_QUEUES, FILTERED,
                   b->raw ? "true" : "false");
        bad = verify_publish(b, &verify);
        break;
    case W_SNS_LATENCY:
        buf_puts(o, ",\"subscriptions\":1,\"raw\":true");
        break;
    case W_SNS_HTTP_FANOUT:
        bad = verify_fanout(b, &verify);
        buf_printf(o,
                   ",\"subs\":%d,\"published\":%" PRIu64 ",\"deliveries\":%" PRIu64
                   ",\"duplicates\":%" PRIu64 ",\"queue_received\":%" PRIu64
                   ",\"max_backlog\":%" PRIu64 ",\"publish_p99_ms\":%.3f",
                   b->subs, s->acked, s->delivered, s->duplicates, s->queue_received,
                   b->max_backlog, s->request_p99_ms);
        break;
    case W_SES_SEND:
        bad = verify_ses(b, &verify);
        buf_printf(
            o, ",\"accepted\":%" PRIu64 ",\"sink_received\":%" PRIu64 ",\"max_backlog\":%" PRIu64,
            s->acked, sink_received(s), b->max_backlog);
        break;
    default:
        break;
    }
    if (verify.len) {
        buf_puts(o, ",\"verify\":\"");
        json_escape(o, verify.data, verify.len);
        buf_putc(o, '"');
        fprintf(stderr, "sluice-loadgen: verify: %s\n", verify.data);
    }
    buf_free(&verify);
    return bad;
}

void sns_free(bench *b)
{
    sns_run *s = b->sns;
    if (!s)
        return;
    for (int k = 0; k < PUB_QUEUES; k++)
        xfree(s->queue_urls[k]);
    for (int v = 0; v < SHARDS; v++)
        buf_free(&s->variants[v]);
    for (int k = 0; k < MAX_SUBS; k++)
        xfree(s->subscribe_urls[k]);
    xfree(s->seqs);
    if (s->sink_fd >= 0)
        close(s->sink_fd);
    xfree(s);
    b->sns = NULL;
}
