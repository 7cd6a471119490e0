/* DynamoDB Streams: the change records writes append, and the DynamoDB Streams API (AWS JSON
 * 1.0, X-Amz-Target DynamoDBStreams_20120810.*: ListStreams, DescribeStream,
 * GetShardIterator, GetRecords).
 *
 * A stream is a document of namespace "dynamodb.stream" keyed by its ARN (Id: the store's
 * stream number, label, table, view type, key schema, when it was disabled), kept in memory in
 * d->streams. Enabling a table's stream always starts a new stream (a new label); a disabled
 * stream stays readable until its records are trimmed (24 hours, ddb_ttl.c's sweep).
 *
 * Every write whose table has a stream builds its record on the commit thread
 * (ddb_stream_record, from the old and new items, with the images its view type keeps) and
 * the store appends it in the same transaction as the write, numbered with the stream's next
 * sequence number. What is stored is the record without the parts the reader adds: eventID,
 * SequenceNumber, ApproximateCreationDateTime (the store's created_ms), region, version.
 *
 * Each stream has one shard (ShardId derived from the stream's Id) holding all its records:
 * AWS splits shards as throughput grows; one shard per stream keeps order total. Shard
 * iterators are opaque base64 of "v1|stream id|last sequence number read|issued ms|ARN",
 * valid 15 minutes as AWS's. Sequence numbers are 21 digits: "1" then the stream's sequence
 * number zero-padded to 20, so they compare as numbers and as strings. A TTL deletion's
 * userIdentity is {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}: the API's
 * member names (Lambda's stream events spell them "type" and "principalId"). */
#include "services/dynamodb/ddb_internal.h"

#include "common/alloc.h"
#include "common/base64.h"
#include "common/clock.h"
#include "common/log.h"
#include "protocol/json_codec.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ITERATOR_TTL_MS  (15 * 60 * 1000)
#define RETENTION_MS     (24LL * 3600 * 1000)
#define GET_RECORDS_MAX  1000
#define STREAMS_LIST_MAX 100

static const char *const view_names[] = {"KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE",
                                         "NEW_AND_OLD_IMAGES"};

/* ---- records, on the commit thread -------------------------------------------------- */

void ddb_stream_record(const ddb_table *t, const json_t *old, const json_t *new_item,
                       int by_service, store_kv_write *out)
{
    if (!t->stream_id || (!old && !new_item))
        return;
    const char *event = old && new_item ? "MODIFY" : new_item ? "INSERT" : "REMOVE";
    json_t *keys = ddb_key_project(t, new_item ? new_item : old);
    size_t size = ddb_item_size(keys);
    json_t *db =
        json_pack("{s:o, s:s}", "Keys", keys, "StreamViewType", view_names[t->stream_view]);
    int want_new =
        t->stream_view == DDB_VIEW_NEW_IMAGE || t->stream_view == DDB_VIEW_NEW_AND_OLD_IMAGES;
    int want_old =
        t->stream_view == DDB_VIEW_OLD_IMAGE || t->stream_view == DDB_VIEW_NEW_AND_OLD_IMAGES;
    if (want_new && new_item) {
        json_object_set(db, "NewImage", (json_t *)new_item);
        size += ddb_item_size(new_item);
    }
    if (want_old && old) {
        json_object_set(db, "OldImage", (json_t *)old);
        size += ddb_item_size(old);
    }
    json_object_set_new(db, "SizeBytes", json_integer((json_int_t)size));
    json_t *rec = json_pack("{s:s, s:o}", "eventName", event, "dynamodb", db);
    if (by_service)
        json_object_set_new(
            rec, "userIdentity",
            json_pack("{s:s, s:s}", "Type", "Service", "PrincipalId", "dynamodb.amazonaws.com"));
    buf b = BUF_INIT;
    jsonc_dump(&b, rec);
    json_decref(rec);
    out->stream = t->stream_id;
    out->record = buf_steal(&b, &out->record_len);
}

/* ---- the registry ------------------------------------------------------------------- */

const json_t *ddb_stream_enable(dynamodb *d, const char *table, json_t *doc, const char *view)
{
    int64_t ms = clock_now_ms();
    char iso[32];
    clock_iso8601_ms(ms, iso);
    iso[strlen(iso) - 1] = '\0'; /* AWS's labels: "2026-11-30T12:00:00.123" */
    char *tarn = ddb_table_arn(d, table);
    char arn[1024];
    snprintf(arn, sizeof arn, "%s/stream/%s", tarn, iso);
    xfree(tarn);
    int64_t id = d->next_id++;
    json_object_set_new(doc, "StreamId", json_integer(id));
    json_object_set_new(doc, "StreamLabel", json_string(iso));
    json_object_set_new(doc, "StreamSpecification",
                        json_pack("{s:b, s:s}", "StreamEnabled", 1, "StreamViewType", view));
    json_t *s = json_pack("{s:s, s:s, s:s, s:s, s:O, s:I, s:f, s:b}", "StreamArn", arn,
                          "StreamLabel", iso, "TableName", table, "StreamViewType", view,
                          "KeySchema", json_object_get(doc, "KeySchema"), "Id", (json_int_t)id,
                          "Created", (double)ms / 1000.0, "Enabled", 1);
    json_object_set_new(d->streams, arn, s);
    return s;
}

static json_t *stream_by_id(const dynamodb *d, int64_t id)
{
    const char *arn;
    json_t *s;
    json_object_foreach(d->streams, arn,
                        s) if (json_integer_value(json_object_get(s, "Id")) == id) return s;
    return NULL;
}

const json_t *ddb_stream_disable(dynamodb *d, json_t *doc)
{
    json_t *s = stream_by_id(d, json_integer_value(json_object_get(doc, "StreamId")));
    json_object_del(doc, "StreamId");
    json_object_set_new(doc, "StreamSpecification", json_pack("{s:b}", "StreamEnabled", 0));
    if (!s)
        return NULL;
    json_object_set_new(s, "Enabled", json_false());
    return s;
}

store_doc ddb_stream_store_doc(const json_t *s)
{
    return (store_doc){DDB_STREAM_DOC_NS, ddb_str(s, "StreamArn"), json_dumps(s, JSON_COMPACT)};
}

static void stream_restore(const char *key, const char *doc, void *arg)
{
    dynamodb *d = arg;
    json_error_t jerr;
    json_t *j = json_loads(doc, 0, &jerr);
    if (!json_is_object(j)) {
        log_error("unreadable DynamoDB stream document", "stream='%s'", key);
        json_decref(j);
        return;
    }
    int64_t id = json_integer_value(json_object_get(j, "Id"));
    if (id >= d->next_id)
        d->next_id = id + 1;
    json_object_set_new(d->streams, key, j);
}

int ddb_streams_load(dynamodb *d)
{
    return store_load_docs(d->store, DDB_STREAM_DOC_NS, stream_restore, d);
}

/* ---- the API: helpers --------------------------------------------------------------- */

static void seq_format(int64_t seq, char out[32])
{
    snprintf(out, 32, "1%020" PRId64, seq);
}

/* A sequence number's stream number, or -1 if s is not one of ours. */
static int64_t seq_parse(const char *s)
{
    if (!s || strlen(s) != 21 || s[0] != '1')
        return -1;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9')
            return -1;
    return strtoll(s + 1, NULL, 10);
}

static void shard_id(const json_t *s, char out[64])
{
    snprintf(out, 64, "shardId-00000001000000000000-%08" PRIx64,
             (uint64_t)json_integer_value(json_object_get(s, "Id")));
}

/* The stream named by the input's StreamArn, or NULL after replying the error. */
static json_t *stream_of(aws_call *call)
{
    const char *arn = ddb_str(call->input, "StreamArn");
    json_t *s = arn ? json_object_get(ddb_of(call)->streams, arn) : NULL;
    if (!s)
        aws_reply_error(call, DDB_ERR_NOT_FOUND,
                        "Requested resource not found: Stream: %s not found", arn ? arn : "null");
    return s;
}

/* A stream's bounds or records read for a call; `then` continues on the loop. */
typedef struct stream_read {
    store_op op;
    aws_call *call;
    json_t *stream; /* ref */
    int64_t after;
    char type[32];
    void (*then)(struct stream_read *r);
} stream_read;

static void stream_read_done(store_op *op)
{
    stream_read *r = op->ctx;
    if (op->status != 0)
        aws_reply_error(r->call, AWS_ERR_DDB_INTERNAL_SERVER_ERROR, "The store could not read.");
    else
        r->then(r);
    store_op_clear(op);
    json_decref(r->stream);
    xfree(r);
}

static void stream_read_submit(aws_call *call, json_t *s, int64_t after, int max, const char *type,
                               void (*then)(stream_read *r))
{
    stream_read *r = xcalloc(1, sizeof *r);
    snprintf(r->type, sizeof r->type, "%s", type);
    r->call = call;
    r->stream = json_incref(s);
    r->after = after;
    r->then = then;
    r->op.kind = STORE_KV_STREAM_READ;
    r->op.now_ms = clock_now_ms();
    r->op.u.kv_stream.stream = json_integer_value(json_object_get(s, "Id"));
    r->op.u.kv_stream.after_seq = after;
    r->op.u.kv_stream.max = max;
    r->op.done = stream_read_done;
    r->op.ctx = r;
    store_submit(ddb_of(call)->store, &r->op);
}

static char *iterator_make(const json_t *s, int64_t after)
{
    char text[1200];
    snprintf(text, sizeof text, "v1|%" PRId64 "|%" PRId64 "|%" PRId64 "|%s",
             (int64_t)json_integer_value(json_object_get(s, "Id")), after, clock_now_ms(),
             ddb_str(s, "StreamArn"));
    buf b = BUF_INIT;
    base64_encode(&b, text, strlen(text));
    size_t n;
    return buf_steal(&b, &n);
}

/* Decodes an iterator: 0, or -1 if it is not one. arn points into text. */
static int iterator_parse(const char *it, char *text, size_t cap, int64_t *after, int64_t *issued,
                          const char **arn)
{
    buf b = BUF_INIT;
    if (!it || base64_decode(&b, it, strlen(it)) || b.len == 0 || b.len >= cap) {
        buf_free(&b);
        return -1;
    }
    memcpy(text, b.data, b.len);
    text[b.len] = '\0';
    buf_free(&b);
    long long id, a, i;
    int off = 0;
    if (sscanf(text, "v1|%lld|%lld|%lld|%n", &id, &a, &i, &off) != 3 || off == 0)
        return -1;
    *after = a;
    *issued = i;
    *arn = text + off;
    return 0;
}

/* ---- ListStreams -------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void list_streams(aws_call *call)
{
    dynamodb *d = ddb_of(call);
    json_t *lim = json_object_get(call->input, "Limit");
    json_int_t limit = lim ? json_integer_value(lim) : STREAMS_LIST_MAX;
    if (limit < 1 || limit > STREAMS_LIST_MAX) {
        ddb_validation(call,
                       "1 validation error detected: Value '%lld' at 'limit' failed to satisfy "
                       "constraint: Member must have value %s",
                       (long long)limit,
                       limit < 1 ? "greater than or equal to 1" : "less than or equal to 100");
        return;
    }
    const char *table = ddb_str(call->input, "TableName");
    const char *start = ddb_str(call->input, "ExclusiveStartStreamArn");
    size_t n = json_object_size(d->streams), k = 0;
    const char **arns = xcalloc(n ? n : 1, sizeof *arns);
    const char *arn;
    json_t *s;
    json_object_foreach(d->streams, arn, s) arns[k++] = arn;
    qsort(arns, n, sizeof *arns, cmp_str);
    json_t *out = json_array();
    size_t i = 0;
    while (i < n && start && strcmp(arns[i], start) <= 0)
        i++;
    for (; i < n && (json_int_t)json_array_size(out) < limit; i++) {
        s = json_object_get(d->streams, arns[i]);
        if (table && strcmp(ddb_str(s, "TableName"), table) != 0)
            continue;
        json_array_append_new(out, json_pack("{s:O, s:O, s:O}", "StreamArn",
                                             json_object_get(s, "StreamArn"), "TableName",
                                             json_object_get(s, "TableName"), "StreamLabel",
                                             json_object_get(s, "StreamLabel")));
    }
    int more = 0;
    for (; i < n && !more; i++)
        more = !table ||
               strcmp(ddb_str(json_object_get(d->streams, arns[i]), "TableName"), table) == 0;
    json_t *reply = json_pack("{s:o}", "Streams", out);
    if (more && json_array_size(out) > 0)
        json_object_set(
            reply, "LastEvaluatedStreamArn",
            json_object_get(json_array_get(out, json_array_size(out) - 1), "StreamArn"));
    xfree(arns);
    aws_reply(call, reply);
}

/* ---- DescribeStream ----------------------------------------------------------------- */

static void describe_stream_reply(stream_read *r)
{
    json_t *s = r->stream;
    int enabled = json_is_true(json_object_get(s, "Enabled"));
    char sid[64], first[32], last[32];
    shard_id(s, sid);
    seq_format(r->op.u.kv_stream.trimmed_seq + 1, first);
    json_t *range = json_pack("{s:s}", "StartingSequenceNumber", first);
    if (!enabled) {
        seq_format(r->op.u.kv_stream.last_seq, last);
        json_object_set_new(range, "EndingSequenceNumber", json_string(last));
    }
    json_t *desc = json_pack(
        "{s:O, s:O, s:s, s:O, s:O, s:O, s:O, s:[{s:s, s:o}]}", "StreamArn",
        json_object_get(s, "StreamArn"), "StreamLabel", json_object_get(s, "StreamLabel"),
        "StreamStatus", enabled ? "ENABLED" : "DISABLED", "StreamViewType",
        json_object_get(s, "StreamViewType"), "CreationRequestDateTime",
        json_object_get(s, "Created"), "TableName", json_object_get(s, "TableName"), "KeySchema",
        json_object_get(s, "KeySchema"), "Shards", "ShardId", sid, "SequenceNumberRange", range);
    const char *start = ddb_str(r->call->input, "ExclusiveStartShardId");
    if (start && strcmp(start, sid) >= 0)
        json_array_clear(json_object_get(desc, "Shards"));
    aws_reply(r->call, json_pack("{s:o}", "StreamDescription", desc));
}

static void describe_stream(aws_call *call)
{
    json_t *s = stream_of(call);
    if (s)
        stream_read_submit(call, s, 0, 0, "", describe_stream_reply);
}

/* ---- GetShardIterator --------------------------------------------------------------- */

static void shard_iterator_reply(stream_read *r)
{
    int64_t trimmed = r->op.u.kv_stream.trimmed_seq, last = r->op.u.kv_stream.last_seq;
    int64_t after;
    if (strcmp(r->type, "TRIM_HORIZON") == 0) {
        after = trimmed;
    } else if (strcmp(r->type, "LATEST") == 0) {
        after = last;
    } else {
        int at = strcmp(r->type, "AT_SEQUENCE_NUMBER") == 0;
        if (r->after > last + (at ? 1 : 0) || r->after < 1) {
            ddb_validation(r->call, "Invalid SequenceNumber: %s is beyond the end of the shard",
                           ddb_str(r->call->input, "SequenceNumber"));
            return;
        }
        if (r->after <= trimmed) {
            aws_reply_error(r->call, AWS_ERR_DDB_TRIMMED_DATA_ACCESS,
                            "The operation attempted to read past the oldest stream record in "
                            "a shard.");
            return;
        }
        after = at ? r->after - 1 : r->after;
    }
    char *it = iterator_make(r->stream, after);
    aws_reply(r->call, json_pack("{s:s}", "ShardIterator", it));
    xfree(it);
}

static void get_shard_iterator(aws_call *call)
{
    json_t *s = stream_of(call);
    if (!s)
        return;
    char sid[64];
    shard_id(s, sid);
    const char *shard = ddb_str(call->input, "ShardId");
    if (!shard || strcmp(shard, sid) != 0) {
        aws_reply_error(call, DDB_ERR_NOT_FOUND,
                        "Requested resource not found: Shard does not exist");
        return;
    }
    const char *type = ddb_str(call->input, "ShardIteratorType") ?: "";
    const char *seqs = ddb_str(call->input, "SequenceNumber");
    int by_seq =
        strcmp(type, "AT_SEQUENCE_NUMBER") == 0 || strcmp(type, "AFTER_SEQUENCE_NUMBER") == 0;
    if (!by_seq && strcmp(type, "TRIM_HORIZON") != 0 && strcmp(type, "LATEST") != 0) {
        ddb_validation(call,
                       "1 validation error detected: Value '%s' at 'shardIteratorType' failed "
                       "to satisfy constraint: Member must satisfy enum value set: "
                       "[AFTER_SEQUENCE_NUMBER, LATEST, AT_SEQUENCE_NUMBER, TRIM_HORIZON]",
                       type);
        return;
    }
    int64_t seq = 0;
    if (by_seq && (seq = seq_parse(seqs)) < 0) {
        ddb_validation(call, "Invalid SequenceNumber: %s", seqs ? seqs : "null");
        return;
    }
    if (!by_seq && seqs) {
        ddb_validation(call, "Invalid Request: SequenceNumber is only valid with "
                             "AT_SEQUENCE_NUMBER and AFTER_SEQUENCE_NUMBER");
        return;
    }
    stream_read_submit(call, s, seq, 0, type, shard_iterator_reply);
}

/* ---- GetRecords --------------------------------------------------------------------- */

static json_t *record_out(const dynamodb *d, const json_t *s, const store_kv_record *rec)
{
    char jerr[128];
    json_t *j = jsonc_parse(rec->record, rec->len, jerr, sizeof jerr);
    if (!j)
        return NULL;
    char id[40], seq[32];
    snprintf(id, sizeof id, "%016" PRIx64 "%016" PRIx64,
             (uint64_t)json_integer_value(json_object_get(s, "Id")), (uint64_t)rec->seq);
    seq_format(rec->seq, seq);
    json_t *db = json_object_get(j, "dynamodb");
    json_object_set_new(db, "ApproximateCreationDateTime",
                        json_integer((json_int_t)(rec->created_ms / 1000)));
    json_object_set_new(db, "SequenceNumber", json_string(seq));
    json_object_set_new(j, "eventID", json_string(id));
    json_object_set_new(j, "eventVersion", json_string("1.1"));
    json_object_set_new(j, "eventSource", json_string("aws:dynamodb"));
    json_object_set_new(j, "awsRegion", json_string(d->region));
    return j;
}

static void get_records_reply(stream_read *r)
{
    typeof(r->op.u.kv_stream) *k = &r->op.u.kv_stream;
    if (r->after < k->trimmed_seq) {
        aws_reply_error(r->call, AWS_ERR_DDB_TRIMMED_DATA_ACCESS,
                        "The operation attempted to read past the oldest stream record in a "
                        "shard.");
        return;
    }
    json_t *records = json_array();
    int64_t after = r->after;
    for (size_t i = 0; i < k->n; i++) {
        json_t *rec = record_out(ddb_of(r->call), r->stream, &k->items[i]);
        if (rec)
            json_array_append_new(records, rec);
        after = k->items[i].seq;
    }
    json_t *reply = json_pack("{s:o}", "Records", records);
    int closed = !json_is_true(json_object_get(r->stream, "Enabled")) && after >= k->last_seq;
    if (!closed) {
        char *it = iterator_make(r->stream, after);
        json_object_set_new(reply, "NextShardIterator", json_string(it));
        xfree(it);
    }
    aws_reply(r->call, reply);
}

static void get_records(aws_call *call)
{
    dynamodb *d = ddb_of(call);
    json_t *lim = json_object_get(call->input, "Limit");
    json_int_t limit = lim ? json_integer_value(lim) : GET_RECORDS_MAX;
    if (limit < 1 || limit > GET_RECORDS_MAX) {
        ddb_validation(call,
                       "1 validation error detected: Value '%lld' at 'limit' failed to satisfy "
                       "constraint: Member must have value %s",
                       (long long)limit,
                       limit < 1 ? "greater than or equal to 1" : "less than or equal to 1000");
        return;
    }
    char text[1300];
    int64_t after, issued;
    const char *arn;
    if (iterator_parse(ddb_str(call->input, "ShardIterator"), text, sizeof text, &after, &issued,
                       &arn)) {
        ddb_validation(call, "Invalid ShardIterator");
        return;
    }
    int64_t now = clock_now_ms();
    if (now - issued > d->iterator_ttl_ms) {
        char a[32], b[32];
        clock_iso8601_ms(issued, a);
        clock_iso8601_ms(now, b);
        aws_reply_error(call, AWS_ERR_DDB_EXPIRED_ITERATOR,
                        "Iterator expired. The iterator was created at time %s while right now "
                        "it is %s which is further in the future than the tolerated delay of "
                        "%lld milliseconds.",
                        a, b, (long long)d->iterator_ttl_ms);
        return;
    }
    json_t *s = json_object_get(d->streams, arn);
    if (!s) {
        aws_reply_error(call, DDB_ERR_NOT_FOUND,
                        "Requested resource not found: Stream: %s not found", arn);
        return;
    }
    stream_read_submit(call, s, after, (int)limit, "", get_records_reply);
}

/* ---- readers outside the API (Lambda event source mappings) --------------------------- */

int dynamodb_stream_lookup(const dynamodb *d, const char *stream_arn, dynamodb_stream_info *out)
{
    json_t *s = stream_arn ? json_object_get(d->streams, stream_arn) : NULL;
    if (!s)
        return -1;
    out->id = json_integer_value(json_object_get(s, "Id"));
    out->enabled = json_is_true(json_object_get(s, "Enabled"));
    shard_id(s, out->shard_id);
    return 0;
}

json_t *dynamodb_stream_event(const dynamodb *d, const char *stream_arn, const store_kv_record *rec)
{
    json_t *s = json_object_get(d->streams, stream_arn);
    json_t *j = s ? record_out(d, s, rec) : NULL;
    if (!j)
        return NULL;
    json_object_set_new(j, "eventSourceARN", json_string(stream_arn));
    json_t *who = json_object_get(j, "userIdentity");
    if (who) /* Lambda's events spell the members in lower camel case */
        json_object_set_new(j, "userIdentity",
                            json_pack("{s:O,s:O}", "type", json_object_get(who, "Type"),
                                      "principalId", json_object_get(who, "PrincipalId")));
    return j;
}

void dynamodb_stream_seq(int64_t seq, char *out)
{
    seq_format(seq, out);
}

/* ---- the service -------------------------------------------------------------------- */

static const aws_op_def streams_ops[] = {
    {"DescribeStream", describe_stream},
    {"GetRecords", get_records},
    {"GetShardIterator", get_shard_iterator},
    {"ListStreams", list_streams},
};

int64_t ddb_env_ms(const char *name, int64_t fallback)
{
    const char *v = getenv(name);
    long long ms = v ? atoll(v) : 0;
    return ms > 0 ? (int64_t)ms : fallback;
}

void ddb_streams_def_init(dynamodb *d)
{
    d->iterator_ttl_ms = ddb_env_ms("SLUICE_DDB_ITERATOR_TTL_MS", ITERATOR_TTL_MS);
    d->stream_retention_ms = ddb_env_ms("SLUICE_DDB_STREAM_RETENTION_MS", RETENTION_MS);
    d->streams_def.model = &model_dynamodbstreams;
    d->streams_def.json_protocol = AWS_PROTO_JSON_1_0;
    d->streams_def.ops = streams_ops;
    d->streams_def.nops = sizeof streams_ops / sizeof streams_ops[0];
    d->streams_def.ctx = d;
}

const aws_service_def *dynamodb_streams_service_def(const dynamodb *d)
{
    return &d->streams_def;
}
