/* sluice-loadgen: the DynamoDB workloads (issue 9's benchmark rows).
 *
 * Requests are AWS JSON 1.0 (`X-Amz-Target: DynamoDB_20120810.<Op>`) as the SDKs send them,
 * with an Authorization header whose credential scope names the service (.../dynamodb/
 * aws4_request) and a placeholder signature: sluiced accepts any signature by default, and
 * moto's server routes a request to its service by that scope.
 *
 * One table layout serves every row: partition key pk (S), sort key sk (N). Item i
 * (0 <= i < --count) lives in partition "p<i / 100>" (8 digits) with sk = i mod 100, so every
 * partition holds 100 items; an attribute "data" pads the item to --size bytes by
 * DynamoDB's size formula (attribute names plus values). The table (--queue NAME, default
 * bench-ddb) is created on demand, PAY_PER_REQUEST.
 *
 *   ddb-load      BatchWriteItem of 25 items (one quarter of a partition) on every
 *                 connection until items 0 .. --count-1 are stored; UnprocessedItems and
 *                 requests that got no answer are sent again (a put is idempotent).
 *                 messages/s = items stored per second over the whole load. Afterwards
 *                 DescribeTable's ItemCount must be at least --count.
 *   ddb-put-item  PutItem of one --size item per request, every key new (partition
 *                 "w<n>", sk 0, n counting up from the table's ItemCount at the start);
 *                 messages/s = items written. Afterwards ItemCount must have grown by the
 *                 puts acknowledged (plus at most those in doubt).
 *   ddb-get-item  GetItem of uniformly random existing keys (items 0 .. --count-1, loaded
 *                 before by ddb-load); every answer must carry the Item.
 *   ddb-query     Query (KeyConditionExpression pk = :p) of a uniformly random full
 *                 partition: every answer must count exactly 100 items. messages/s =
 *                 queries/s; items and response bytes per second are reported beside.
 *
 * All are closed loop, one request in flight per connection (the engine's rule); get-item
 * and query refuse to start unless the table holds --count items. */
#include "common/alloc.h"
#include "common/clock.h"
#include "loadgen.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PER_PARTITION 100 /* items per partition: what a Query returns */
#define LOAD_BATCH    25  /* BatchWriteItem's limit */
#define KEY_DIGITS    8   /* "p%08" PRIu64: every partition key has the same length */
#define TABLE_WAIT_S  30

static const char ddb_head[] = "Content-Type: application/x-amz-json-1.0\r\n"
                               "Authorization: AWS4-HMAC-SHA256 Credential=bench/20260101/"
                               "us-east-1/dynamodb/aws4_request, SignedHeaders=host, "
                               "Signature=0000000000000000000000000000000000000000000000000000000"
                               "000000000\r\n";

struct ddb_run {
    char table[256]; /* JSON-escaped */
    uint64_t items;  /* the key space: items 0 .. items-1 */
    uint64_t rng;
    buf payload; /* the "data" attribute's value */
    buf body;    /* scratch: the request being built */
    /* ddb-load */
    uint64_t next_batch; /* batches of the sequence issued so far */
    uint64_t *retry;     /* batches to send again */
    size_t nretry, retry_cap;
    uint64_t loaded, resent, next_progress;
    /* ddb-put-item */
    uint64_t next_put, acked, in_doubt;
    int64_t count_before;
    /* ddb-get-item, ddb-query */
    uint64_t missing;           /* gets without their item, queries without 100 items */
    uint64_t items_read, bytes; /* in the measured window */
};

/* ---------------------------------------------------------------- requests */

static uint64_t next_random(ddb_run *s)
{
    s->rng ^= s->rng >> 12; /* xorshift64* */
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return s->rng * 2685821657736338717ull;
}

static void put_key(buf *out, char prefix, uint64_t partition, uint64_t sk)
{
    buf_printf(out, "\"pk\":{\"S\":\"%c%0*" PRIu64 "\"},\"sk\":{\"N\":\"%" PRIu64 "\"}", prefix,
               KEY_DIGITS, partition, sk);
}

/* An item of --size bytes: names pk, sk, data (8) + pk's value + sk's number (at most 2) +
 * data's value. */
static void put_item(ddb_run *s, buf *out, char prefix, uint64_t partition, uint64_t sk)
{
    buf_putc(out, '{');
    put_key(out, prefix, partition, sk);
    buf_puts(out, ",\"data\":{\"S\":\"");
    buf_append(out, s->payload.data, s->payload.len);
    buf_puts(out, "\"}}");
}

/* The HTTP request for target with s->body, into out. */
static void finish_request(bench *b, buf *out, const char *target)
{
    ddb_run *s = b->ddb;
    buf_reset(out);
    buf_printf(out,
               "POST / HTTP/1.1\r\nHost: %s:%d\r\n%sX-Amz-Target: DynamoDB_20120810.%s\r\n"
               "Content-Length: %zu\r\n\r\n",
               b->host, b->port, ddb_head, target, s->body.len);
    buf_append(out, s->body.data, s->body.len);
}

/* One blocking call for setup and verification: the HTTP status, the body in out. */
static int ddb_call(bench *b, const char *target, const char *json, buf *out)
{
    char headers[512];
    snprintf(headers, sizeof headers, "%sX-Amz-Target: DynamoDB_20120810.%s\r\n", ddb_head, target);
    return sync_http(b, "POST", "/", headers, json, strlen(json), out);
}

/* The table's description ("Table" of DescribeTable; new reference), or NULL if absent. */
static json_t *describe_table(bench *b)
{
    buf in = BUF_INIT, r = BUF_INIT;
    buf_printf(&in, "{\"TableName\":\"%s\"}", b->ddb->table);
    int st = ddb_call(b, "DescribeTable", in.data, &r);
    json_t *j = st == 200 ? json_loadb(r.data, r.len, 0, NULL) : NULL;
    json_t *t = json_incref(json_object_get(j, "Table"));
    if (st != 200 && !(r.data && strstr(r.data, "ResourceNotFoundException")))
        die("DescribeTable failed: HTTP %d %.*s", st, (int)r.len, r.data ? r.data : "");
    json_decref(j);
    buf_free(&in);
    buf_free(&r);
    return t;
}

static int64_t item_count(bench *b)
{
    json_t *t = describe_table(b);
    int64_t n = t ? json_integer_value(json_object_get(t, "ItemCount")) : -1;
    json_decref(t);
    return n;
}

/* CreateTable unless the table exists, then waits for it to be ACTIVE. */
static void ensure_table(bench *b)
{
    json_t *t = describe_table(b);
    if (!t) {
        buf in = BUF_INIT, r = BUF_INIT;
        buf_printf(&in,
                   "{\"TableName\":\"%s\",\"BillingMode\":\"PAY_PER_REQUEST\","
                   "\"KeySchema\":[{\"AttributeName\":\"pk\",\"KeyType\":\"HASH\"},"
                   "{\"AttributeName\":\"sk\",\"KeyType\":\"RANGE\"}],"
                   "\"AttributeDefinitions\":[{\"AttributeName\":\"pk\",\"AttributeType\":\"S\"},"
                   "{\"AttributeName\":\"sk\",\"AttributeType\":\"N\"}]}",
                   b->ddb->table);
        int st = ddb_call(b, "CreateTable", in.data, &r);
        if (st != 200 && !(r.data && strstr(r.data, "ResourceInUseException")))
            die("CreateTable failed: HTTP %d %.*s", st, (int)r.len, r.data ? r.data : "");
        buf_free(&in);
        buf_free(&r);
    }
    for (int i = 0; i < TABLE_WAIT_S * 10; i++) {
        json_decref(t);
        t = describe_table(b);
        const char *status = json_string_value(json_object_get(t, "TableStatus"));
        if (status && strcmp(status, "ACTIVE") == 0) {
            json_decref(t);
            return;
        }
        usleep(100000);
    }
    die("table %s not ACTIVE after %d s", b->ddb->table, TABLE_WAIT_S);
}

/* ---------------------------------------------------------------- the engine's hooks */

int ddb_workload(const bench *b)
{
    return b->w >= W_DDB_PUT_ITEM && b->w <= W_DDB_LOAD;
}

void ddb_setup(bench *b)
{
    ddb_run *s = b->ddb = xcalloc(1, sizeof *b->ddb);
    buf t = BUF_INIT;
    json_escape(&t, b->queue, strlen(b->queue));
    if (t.len >= sizeof s->table)
        die("table name too long");
    memcpy(s->table, t.data, t.len + 1);
    buf_free(&t);
    s->items = b->count ? b->count : 1000000;
    s->rng = 0x9e3779b97f4a7c15ull;
    size_t fixed = 8 + 1 + KEY_DIGITS + 2;
    put_payload(&s->payload, b->size > fixed ? b->size - fixed : 0);
    if (b->w == W_DDB_LOAD || b->w == W_DDB_PUT_ITEM) {
        ensure_table(b);
        s->count_before = item_count(b);
        s->next_put = (uint64_t)s->count_before;
        s->next_progress = s->items / 10;
        return;
    }
    int64_t have = item_count(b);
    if (have < 0 || (uint64_t)have < s->items)
        die("table %s holds %" PRId64 " items, %s needs %" PRIu64
            ": load it first (sluice-loadgen ddb-load --count %" PRIu64 ")",
            b->queue, have, b->w == W_DDB_QUERY ? "ddb-query" : "ddb-get-item", s->items, s->items);
    if (b->w == W_DDB_QUERY && s->items < PER_PARTITION)
        die("ddb-query needs --count >= %d (one full partition)", PER_PARTITION);
}

/* Whether the load has stored every item (always 0 for the other workloads). */
int ddb_load_done(const bench *b)
{
    return b->w == W_DDB_LOAD && b->ddb->loaded >= b->ddb->items;
}

static void issue_load(conn *c, uint64_t batch)
{
    ddb_run *s = c->b->ddb;
    uint64_t first = batch * LOAD_BATCH;
    uint64_t end = first + LOAD_BATCH < s->items ? first + LOAD_BATCH : s->items;
    c->seq = batch;
    buf_reset(&s->body);
    buf_printf(&s->body, "{\"RequestItems\":{\"%s\":[", s->table);
    for (uint64_t i = first; i < end; i++) {
        buf_puts(&s->body,
                 i > first ? ",{\"PutRequest\":{\"Item\":" : "{\"PutRequest\":{\"Item\":");
        put_item(s, &s->body, 'p', i / PER_PARTITION, i % PER_PARTITION);
        buf_puts(&s->body, "}}");
    }
    buf_puts(&s->body, "]}}");
    finish_request(c->b, &c->out, "BatchWriteItem");
    issue(c, REQ_DDB, c->out.data, c->out.len);
}

int ddb_next(conn *c)
{
    bench *b = c->b;
    ddb_run *s = b->ddb;
    buf_reset(&s->body);
    switch (b->w) {
    case W_DDB_LOAD:
        if (s->nretry > 0) {
            issue_load(c, s->retry[--s->nretry]);
            return 1;
        }
        if (s->next_batch * LOAD_BATCH >= s->items)
            return 0;
        issue_load(c, s->next_batch++);
        return 1;
    case W_DDB_PUT_ITEM:
        buf_printf(&s->body, "{\"TableName\":\"%s\",\"Item\":", s->table);
        put_item(s, &s->body, 'w', s->next_put++, 0);
        buf_putc(&s->body, '}');
        finish_request(b, &c->out, "PutItem");
        break;
    case W_DDB_GET_ITEM: {
        uint64_t i = next_random(s) % s->items;
        buf_printf(&s->body, "{\"TableName\":\"%s\",\"Key\":{", s->table);
        put_key(&s->body, 'p', i / PER_PARTITION, i % PER_PARTITION);
        buf_puts(&s->body, "}}");
        finish_request(b, &c->out, "GetItem");
        break;
    }
    case W_DDB_QUERY: {
        uint64_t p = next_random(s) % (s->items / PER_PARTITION);
        buf_printf(&s->body,
                   "{\"TableName\":\"%s\",\"KeyConditionExpression\":\"pk = :p\","
                   "\"ExpressionAttributeValues\":{\":p\":{\"S\":\"p%0*" PRIu64 "\"}}}",
                   s->table, KEY_DIGITS, p);
        finish_request(b, &c->out, "Query");
        break;
    }
    default:
        die("ddb_next: not a DynamoDB workload");
    }
    issue(c, REQ_DDB, c->out.data, c->out.len);
    return 1;
}

static void retry_load(ddb_run *s, uint64_t batch)
{
    if (s->nretry == s->retry_cap) {
        s->retry_cap = s->retry_cap ? s->retry_cap * 2 : 64;
        s->retry = xrealloc(s->retry, s->retry_cap * sizeof *s->retry);
    }
    s->retry[s->nretry++] = batch;
    s->resent++;
}

/* The integer after "key": in a response (-1 if absent): cheaper than parsing 100 items. */
static long long json_count(const buf *r, const char *key)
{
    const char *p = r->data ? memmem(r->data, r->len, key, strlen(key)) : NULL;
    if (!p)
        return -1;
    p += strlen(key);
    while (*p == ' ' || *p == ':')
        p++;
    char *end;
    long long n = strtoll(p, &end, 10);
    return end == p ? -1 : n;
}

/* A BatchWriteItem answer with items left unprocessed (AWS's "UnprocessedItems":{} when
 * none): the whole batch is sent again. */
static int has_unprocessed(const buf *r)
{
    return r->data && memmem(r->data, r->len, "PutRequest", 10) != NULL;
}

static void load_progress(bench *b)
{
    ddb_run *s = b->ddb;
    if (s->loaded < s->next_progress || s->items < 100000)
        return;
    double secs = (double)(clock_mono_ns() - b->start_ns) / 1e9;
    fprintf(stderr,
            "sluice-loadgen: ddb-load: %" PRIu64 " of %" PRIu64 " items in %.0f s (%.0f/s)\n",
            s->loaded, s->items, secs, (double)s->loaded / secs);
    s->next_progress += s->items / 10;
}

void ddb_on_response(conn *c, uint64_t now)
{
    bench *b = c->b;
    ddb_run *s = b->ddb;
    int m = measuring(b);
    uint64_t n = 0; /* what the request counts for: items stored or read, queries */
    switch (b->w) {
    case W_DDB_LOAD: {
        if (has_unprocessed(&c->resp)) {
            retry_load(s, c->seq);
            return;
        }
        uint64_t first = c->seq * LOAD_BATCH;
        n = (first + LOAD_BATCH < s->items ? first + LOAD_BATCH : s->items) - first;
        s->loaded += n;
        load_progress(b);
        break;
    }
    case W_DDB_PUT_ITEM:
        s->acked++;
        n = 1;
        break;
    case W_DDB_GET_ITEM:
        n = c->resp.data && memmem(c->resp.data, c->resp.len, "\"Item\"", 6) != NULL;
        if (!n) {
            s->missing++;
            count_error(b, "GetItem of an existing key found no item", c->status, c->resp.data,
                        c->resp.len);
        }
        if (m)
            s->items_read += n;
        break;
    case W_DDB_QUERY: {
        long long got = json_count(&c->resp, "\"Count\"");
        n = got == PER_PARTITION;
        if (!n) {
            s->missing++;
            count_error(b, "Query of a full partition did not count 100 items", c->status,
                        c->resp.data, c->resp.len);
        }
        if (m && got > 0)
            s->items_read += (uint64_t)got;
        break;
    }
    default:
        break;
    }
    if (m) {
        b->win.messages += n;
        s->bytes += c->resp.len;
        hist_record(&b->win.lat, now - c->sent_ns);
    }
}

void ddb_on_failure(conn *c)
{
    if (c->b->w == W_DDB_LOAD)
        retry_load(c->b->ddb, c->seq);
}

void ddb_in_doubt(conn *c)
{
    if (c->b->w == W_DDB_LOAD)
        retry_load(c->b->ddb, c->seq);
    else if (c->b->w == W_DDB_PUT_ITEM)
        c->b->ddb->in_doubt++;
}

/* ---------------------------------------------------------------- report */

static int verify(bench *b, buf *v)
{
    ddb_run *s = b->ddb;
    int64_t have = item_count(b);
    int bad = 0;
    switch (b->w) {
    case W_DDB_LOAD:
        bad = have < 0 || (uint64_t)have < s->items;
        buf_printf(v,
                   "%s: the table holds %" PRId64 " items, %" PRIu64 " loaded (%" PRIu64
                   " batches sent again)",
                   bad ? "FAILED" : "ok", have, s->items, s->resent);
        break;
    case W_DDB_PUT_ITEM: {
        int64_t grown = have - s->count_before;
        bad = have < 0 || grown < (int64_t)s->acked || grown > (int64_t)(s->acked + s->in_doubt);
        buf_printf(v,
                   "%s: the table grew by %" PRId64 " items, %" PRIu64
                   " puts acknowledged, %" PRIu64 " in doubt",
                   bad ? "FAILED" : "ok", grown, s->acked, s->in_doubt);
        break;
    }
    default:
        bad = s->missing > 0;
        buf_printf(v, "%s: %" PRIu64 " %s", bad ? "FAILED" : "ok", s->missing,
                   b->w == W_DDB_QUERY ? "queries of a full partition without its 100 items"
                                       : "GetItem of an existing key without the item");
        break;
    }
    return bad;
}

int ddb_report(bench *b, buf *o, double secs)
{
    ddb_run *s = b->ddb;
    if (b->w != W_DDB_PUT_ITEM)
        buf_printf(o, ",\"table_items\":%" PRIu64, s->items);
    if (b->w == W_DDB_LOAD)
        buf_printf(o, ",\"batch\":%d,\"count\":%" PRIu64, LOAD_BATCH, s->loaded);
    if (b->w == W_DDB_QUERY || b->w == W_DDB_GET_ITEM)
        buf_printf(o, ",\"items_per_s\":%.1f,\"response_mib_per_s\":%.1f",
                   (double)s->items_read / secs, (double)s->bytes / secs / 1048576.0);
    if (b->w == W_DDB_QUERY)
        buf_printf(o, ",\"items_per_query\":%d", PER_PARTITION);
    buf v = BUF_INIT;
    int bad = verify(b, &v);
    buf_puts(o, ",\"verify\":\"");
    json_escape(o, v.data, v.len);
    buf_putc(o, '"');
    fprintf(stderr, "sluice-loadgen: verify: %s\n", v.data);
    buf_free(&v);
    return bad;
}

void ddb_free(bench *b)
{
    ddb_run *s = b->ddb;
    if (!s)
        return;
    buf_free(&s->payload);
    buf_free(&s->body);
    xfree(s->retry);
    xfree(s);
    b->ddb = NULL;
}
