/* Event source mappings from DynamoDB streams: a reader per mapping that invokes the
 * function with the stream's records, in order, as Lambda does.
 *
 * The reader reads the stream's one shard from its checkpoint (the document's member
 * "Checkpoint": the last store sequence number done; a new mapping starts at the oldest
 * record, TRIM_HORIZON, or after the newest, LATEST) four times a second while the stream
 * is quiet (as Lambda polls), at once while it has a backlog:
 *   read up to BatchSize records (waiting up to MaximumBatchingWindowInSeconds for more)
 *   -> drop those FilterCriteria rejects
 *   -> invoke the function with {"Records":[...]} (Lambda's DynamoDB event shape)
 *   -> success: the checkpoint moves past the batch (committed before the next read);
 *      with ReportBatchItemFailures, to just before the first reported sequence number,
 *      and the rest is retried;
 *   -> failure: the batch is retried (backoff 0.2 s doubling to 10 s), split in halves
 *      first with BisectBatchOnFunctionError, until MaximumRetryAttempts (-1: until the
 *      records expire) or MaximumRecordAgeInSeconds; then the batch's description goes to
 *      the DestinationConfig.OnFailure queue or topic, in the transaction that moves the
 *      checkpoint past it.
 * A batch is at-least-once: a crash before its checkpoint commits runs it again. */
#include "services/lambda/lambda_internal.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/log.h"

#include <stdio.h>
#include <string.h>

#define IDLE_POLL_MS       250
#define RETRY_FIRST_MS     200
#define RETRY_MAX_MS       10000
#define STREAM_GONE_MS     5000
#define STREAM_BATCH_MAX   10000
#define STREAM_BATCH_DEF   100
#define STREAM_WINDOW_MAX  300
#define STREAM_RETRIES_MAX 10000
#define STREAM_AGE_MIN     60
#define STREAM_AGE_MAX     604800

struct esm_stream {
    lambda *l;
    lambda_esm *m;
    uv_timer_t timer;
    store_op op; /* the read in flight */
    int reading, invoking, committing, stopped;
    int64_t pos;         /* last sequence number done; -1: not known yet (LATEST) */
    int64_t window_end;  /* the batching window of the batch being gathered (0: none) */
    int attempts;        /* failed invocations of the current batch */
    size_t limit;        /* records per invocation: BatchSize, or less while bisecting */
    json_t *batch;       /* the records read (Lambda's shape) */
    int64_t *seqs;       /* their store sequence numbers */
    int64_t *created_ms; /* and times */
    size_t n;
    int64_t pending_pos;  /* checkpoint being committed */
    int64_t invoked_last; /* last sequence number of the records invoked */
    size_t invoked_n;
    char request_id[40];
};

static void stream_read(esm_stream *s);
static void invoke_batch(esm_stream *s);

/* ---- configuration ---------------------------------------------------------------------- */

int lambda_esm_is_stream(const char *source_arn)
{
    return source_arn && strncmp(source_arn, "arn:aws:dynamodb:", 17) == 0 &&
           strstr(source_arn, "/stream/") != NULL;
}

void lambda_esm_stream_defaults(json_t *doc)
{
    json_object_set_new(doc, "BatchSize", json_integer(STREAM_BATCH_DEF));
    json_object_set_new(doc, "MaximumRetryAttempts", json_integer(-1));
    json_object_set_new(doc, "MaximumRecordAgeInSeconds", json_integer(-1));
    json_object_set_new(doc, "BisectBatchOnFunctionError", json_false());
    json_object_set_new(doc, "ParallelizationFactor", json_integer(1));
    json_object_set_new(doc, "TumblingWindowInSeconds", json_integer(0));
    json_object_set_new(doc, "DestinationConfig", json_pack("{s:{}}", "OnFailure"));
}

static json_int_t int_of(const json_t *doc, const char *k)
{
    return json_integer_value(json_object_get(doc, k));
}

static int invalid(aws_call *call, const char *msg)
{
    aws_reply_error(call, LAMBDA_ERR_INVALID, "%s", msg);
    return -1;
}

int lambda_esm_stream_validate(aws_call *call, lambda *l, const json_t *doc)
{
    const char *arn = json_string_value(json_object_get(doc, "EventSourceArn"));
    dynamodb_stream_info info;
    if (!l->tables || dynamodb_stream_lookup(l->tables, arn, &info) != 0) {
        aws_reply_error(call, LAMBDA_ERR_INVALID,
                        "Stream not found: %s (no DynamoDB stream with this ARN).", arn);
        return -1;
    }
    const char *start = json_string_value(json_object_get(doc, "StartingPosition"));
    if (!start)
        return invalid(call, "1 validation error detected: Value null at 'startingPosition' "
                             "failed to satisfy constraint: Member must not be null");
    if (strcmp(start, "TRIM_HORIZON") != 0 && strcmp(start, "LATEST") != 0)
        return invalid(call, "Unsupported starting position for DynamoDB streams: use "
                             "TRIM_HORIZON or LATEST.");
    json_int_t batch = int_of(doc, "BatchSize"),
               window = int_of(doc, "MaximumBatchingWindowInSeconds");
    if (batch < 1 || batch > STREAM_BATCH_MAX)
        return invalid(call, "BatchSize must be between 1 and 10000.");
    if (window < 0 || window > STREAM_WINDOW_MAX)
        return invalid(call, "MaximumBatchingWindowInSeconds must be between 0 and 300.");
    json_int_t retries = int_of(doc, "MaximumRetryAttempts");
    if (retries < -1 || retries > STREAM_RETRIES_MAX)
        return invalid(call, "1 validation error detected: Value at 'maximumRetryAttempts' "
                             "failed to satisfy constraint: Member must have value between -1 "
                             "and 10000");
    json_int_t age = int_of(doc, "MaximumRecordAgeInSeconds");
    if (age != -1 && (age < STREAM_AGE_MIN || age > STREAM_AGE_MAX))
        return invalid(call, "1 validation error detected: Value at 'maximumRecordAgeInSeconds' "
                             "failed to satisfy constraint: Member must have value between 60 "
                             "and 604800, or be -1");
    json_int_t pf = int_of(doc, "ParallelizationFactor");
    if (pf < 1 || pf > 10)
        return invalid(call, "ParallelizationFactor must be between 1 and 10.");
    const char *dest = json_string_value(json_object_get(
        json_object_get(json_object_get(doc, "DestinationConfig"), "OnFailure"), "Destination"));
    if (dest && strncmp(dest, "arn:aws:sqs:", 12) != 0 && strncmp(dest, "arn:aws:sns:", 12) != 0)
        return invalid(call, "The provided destination config DestinationConfig(onSuccess=null, "
                             "onFailure=OnFailure) is invalid: an on-failure destination of a "
                             "stream is an SQS queue or an SNS topic.");
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(doc, "FunctionResponseTypes"), i, v)
    {
        if (!json_is_string(v) || strcmp(json_string_value(v), "ReportBatchItemFailures") != 0)
            return invalid(call, "1 validation error detected: Value at 'functionResponseTypes' "
                                 "failed to satisfy constraint: Member must satisfy enum value "
                                 "set: [ReportBatchItemFailures]");
    }
    return 0;
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

static void batch_clear(esm_stream *s)
{
    json_array_clear(s->batch);
    s->n = 0;
    s->window_end = 0;
}

static void on_closed(uv_handle_t *h)
{
    esm_stream *s = h->data;
    lambda_esm *m = s->m;
    json_decref(s->batch);
    xfree(s->seqs);
    xfree(s->created_ms);
    xfree(s);
    lambda_esm_poller_gone(m);
}

/* Frees s once nothing of it is in flight. */
static int maybe_close(esm_stream *s)
{
    if (!s->stopped)
        return 0;
    if (!s->reading && !s->invoking && !s->committing)
        uv_close((uv_handle_t *)&s->timer, on_closed);
    return 1;
}

static void on_timer(uv_timer_t *t)
{
    stream_read(t->data);
}

static void again_in(esm_stream *s, uint64_t ms)
{
    if (!maybe_close(s))
        uv_timer_start(&s->timer, on_timer, ms, 0);
}

esm_stream *lambda_esm_stream_start(lambda *l, lambda_esm *m)
{
    esm_stream *s = xcalloc(1, sizeof *s);
    s->l = l;
    s->m = m;
    s->batch = json_array();
    s->pos = -1;
    json_t *cp = json_object_get(lambda_esm_doc(m), "Checkpoint");
    if (json_is_integer(cp))
        s->pos = json_integer_value(cp);
    else if (strcmp(json_string_value(json_object_get(lambda_esm_doc(m), "StartingPosition")),
                    "TRIM_HORIZON") == 0)
        s->pos = 0;
    uv_timer_init(l->loop, &s->timer);
    s->timer.data = s;
    again_in(s, 0);
    return s;
}

void lambda_esm_stream_stop(esm_stream *s)
{
    s->stopped = 1;
    uv_timer_stop(&s->timer);
    maybe_close(s);
}

/* ---- the checkpoint ----------------------------------------------------------------------- */

static void committed(fanout *f, int status, void *arg)
{
    esm_stream *s = arg;
    s->committing = 0;
    if (status != 0) {
        log_error("lambda stream mapping: checkpoint not committed: the batch runs again",
                  "mapping=%s", lambda_esm_uuid(s->m));
        again_in(s, RETRY_FIRST_MS);
        return;
    }
    if (fanout_deliveries(f) > 0 && s->l->topics)
        sns_deliveries_committed(s->l->topics);
    s->pos = s->pending_pos;
    again_in(s, 0);
}

/* Moves the checkpoint to pos (with what f holds: a failure record), then reads on. */
static void checkpoint(esm_stream *s, int64_t pos, fanout *f)
{
    /* Never called once stopped: a deleted mapping's document stays deleted. */
    json_t *doc = lambda_esm_doc(s->m);
    json_object_set_new(doc, "Checkpoint", json_integer(pos));
    if (!f)
        f = fanout_new(s->l->store, s->l->queues, clock_now_ms(), s->l->account);
    char *text = json_dumps(doc, JSON_COMPACT);
    fanout_doc(f, LAMBDA_NS_ESM, lambda_esm_uuid(s->m), text);
    free(text);
    s->pending_pos = pos;
    s->committing = 1;
    batch_clear(s);
    s->attempts = 0;
    s->limit = 0;
    fanout_commit(f, committed, s);
}

/* ---- reading ------------------------------------------------------------------------------ */

static void on_read(store_op *op)
{
    esm_stream *s = op->ctx;
    s->reading = 0;
    typeof(op->u.kv_stream) *k = &op->u.kv_stream;
    if (op->status != 0 || s->stopped) {
        int failed = op->status != 0;
        store_op_clear(op);
        again_in(s, failed ? RETRY_FIRST_MS : 0);
        return;
    }
    if (s->pos < 0) { /* LATEST: start after the newest record */
        int64_t last = k->last_seq;
        store_op_clear(op);
        checkpoint(s, last, NULL);
        return;
    }
    if (s->pos < k->trimmed_seq) /* records expired unread (24 h): go on from the oldest */
        s->pos = k->trimmed_seq;
    const char *arn = json_string_value(json_object_get(lambda_esm_doc(s->m), "EventSourceArn"));
    for (size_t i = 0; i < k->n; i++) {
        if (i < s->n)
            continue; /* already gathered (a batching window re-reads from the checkpoint) */
        json_t *rec = dynamodb_stream_event(s->l->tables, arn, &k->items[i]);
        if (!rec)
            rec = json_null();
        s->seqs = xrealloc(s->seqs, (s->n + 1) * sizeof *s->seqs);
        s->created_ms = xrealloc(s->created_ms, (s->n + 1) * sizeof *s->created_ms);
        s->seqs[s->n] = k->items[i].seq;
        s->created_ms[s->n] = k->items[i].created_ms;
        json_array_append_new(s->batch, rec);
        s->n++;
    }
    store_op_clear(op);
    json_t *doc = lambda_esm_doc(s->m);
    size_t want = (size_t)int_of(doc, "BatchSize");
    if (s->n == 0) {
        again_in(s, IDLE_POLL_MS);
        return;
    }
    int64_t now = clock_now_ms();
    if (s->n < want && s->attempts == 0) {
        if (!s->window_end)
            s->window_end = now + int_of(doc, "MaximumBatchingWindowInSeconds") * 1000;
        if (s->window_end > now) {
            int64_t wait = s->window_end - now;
            again_in(s, (uint64_t)(wait < IDLE_POLL_MS ? wait : IDLE_POLL_MS));
            return;
        }
    }
    invoke_batch(s);
}

static void stream_read(esm_stream *s)
{
    if (maybe_close(s))
        return;
    json_t *doc = lambda_esm_doc(s->m);
    const char *arn = json_string_value(json_object_get(doc, "EventSourceArn"));
    dynamodb_stream_info info;
    if (!s->l->tables || dynamodb_stream_lookup(s->l->tables, arn, &info) != 0) {
        lambda_esm_set_result(s->m, "PROBLEM: Stream not found");
        again_in(s, STREAM_GONE_MS);
        return;
    }
    if (s->n > 0 && (s->attempts > 0 || s->limit || s->n >= (size_t)int_of(doc, "BatchSize"))) {
        invoke_batch(s); /* a retry, or a bisected batch's first half: records in hand */
        return;
    }
    memset(&s->op, 0, sizeof s->op);
    s->op.kind = STORE_KV_STREAM_READ;
    s->op.now_ms = clock_now_ms();
    s->op.u.kv_stream.stream = info.id;
    s->op.u.kv_stream.after_seq = s->pos < 0 ? 0 : s->pos;
    s->op.u.kv_stream.max = s->pos < 0 ? 0 : (int)int_of(doc, "BatchSize");
    s->op.done = on_read;
    s->op.ctx = s;
    s->reading = 1;
    store_submit(s->l->store, &s->op);
}

/* ---- invoking ----------------------------------------------------------------------------- */

static int reports_failures(const json_t *doc)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(doc, "FunctionResponseTypes"), i, v)
    {
        if (strcmp(json_string_value(v), "ReportBatchItemFailures") == 0)
            return 1;
    }
    return 0;
}

/* With ReportBatchItemFailures: the store sequence number of the first failed record
 * reported (0: none), or -1 if the report is unreadable (the whole batch failed). */
static int64_t first_failure(esm_stream *s, const lambda_result *r)
{
    json_t *resp =
        r->payload.len ? json_loadb(r->payload.data, r->payload.len, JSON_DECODE_ANY, NULL) : NULL;
    json_t *list = json_is_object(resp) ? json_object_get(resp, "batchItemFailures") : NULL;
    int64_t first = 0;
    size_t i;
    json_t *f;
    if (list && !json_is_null(list) && !json_is_array(list))
        first = -1;
    json_array_foreach(list, i, f)
    {
        const char *id = json_string_value(json_object_get(f, "itemIdentifier"));
        int64_t seq = -1;
        for (size_t j = 0; id && j < s->invoked_n; j++) {
            char text[32];
            dynamodb_stream_seq(s->seqs[j], text);
            if (strcmp(text, id) == 0)
                seq = s->seqs[j];
        }
        if (seq < 0) { /* not a record of the batch: the whole batch failed */
            first = -1;
            break;
        }
        if (first == 0 || seq < first)
            first = seq;
    }
    json_decref(resp);
    return first;
}

static void iso_time(int64_t ms, char out[32])
{
    clock_iso8601_ms(ms, out);
}

/* Gives up the invoked records: their description goes to the OnFailure destination in the
 * transaction that moves the checkpoint past them. */
static void give_up(esm_stream *s, const char *condition, const lambda_result *r)
{
    json_t *doc = lambda_esm_doc(s->m);
    const char *arn = json_string_value(json_object_get(doc, "EventSourceArn"));
    const char *dest = json_string_value(json_object_get(
        json_object_get(json_object_get(doc, "DestinationConfig"), "OnFailure"), "Destination"));
    log_warn("lambda stream mapping: batch given up", "mapping=%s condition=%s records=%zu",
             lambda_esm_uuid(s->m), condition, s->invoked_n);
    fanout *f = fanout_new(s->l->store, s->l->queues, clock_now_ms(), s->l->account);
    dynamodb_stream_info info;
    if (dest && dynamodb_stream_lookup(s->l->tables, arn, &info) == 0) {
        char first[32], last[32], t0[32], t1[32], now[32];
        dynamodb_stream_seq(s->seqs[0], first);
        dynamodb_stream_seq(s->invoked_last, last);
        iso_time(s->created_ms[0], t0);
        iso_time(s->created_ms[s->invoked_n - 1], t1);
        iso_time(clock_now_ms(), now);
        json_t *resp = json_pack("{s:i,s:s}", "statusCode", 200, "executedVersion", "$LATEST");
        if (r && r->kind != LAMBDA_RESULT_OK)
            json_object_set_new(resp, "functionError", json_string("Unhandled"));
        json_t *rec = json_pack(
            "{s:{s:s,s:O,s:s,s:i},s:o,s:s,s:s,s:{s:s,s:s,s:s,s:s,s:s,s:I,s:s}}", "requestContext",
            "requestId", s->request_id, "functionArn", json_object_get(doc, "FunctionArn"),
            "condition", condition, "approximateInvokeCount", s->attempts, "responseContext", resp,
            "version", "1.0", "timestamp", now, "DDBStreamBatchInfo", "shardId", info.shard_id,
            "startSequenceNumber", first, "endSequenceNumber", last,
            "approximateArrivalOfFirstRecord", t0, "approximateArrivalOfLastRecord", t1,
            "batchSize", (json_int_t)s->invoked_n, "streamArn", arn);
        char *text = json_dumps(rec, JSON_COMPACT);
        json_decref(rec);
        char err[256];
        if (lambda_destination_plan(s->l, f, dest, text, err, sizeof err) != 0)
            log_warn("lambda stream mapping: failure record dropped", "destination=%s err='%s'",
                     dest, err);
        free(text);
    }
    checkpoint(s, s->invoked_last, f);
}

static int64_t retry_delay(int attempts)
{
    int64_t ms = RETRY_FIRST_MS;
    for (int i = 1; i < attempts && ms < RETRY_MAX_MS; i++)
        ms *= 2;
    return ms < RETRY_MAX_MS ? ms : RETRY_MAX_MS;
}

static void on_invoked(lambda_result *r, void *arg)
{
    esm_stream *s = arg;
    s->invoking = 0;
    if (maybe_close(s))
        return;
    json_t *doc = lambda_esm_doc(s->m);
    int64_t failed_from = -1; /* -1: all failed; 0: none */
    if (r->kind == LAMBDA_RESULT_OK)
        failed_from = reports_failures(doc) ? first_failure(s, r) : 0;
    if (failed_from == 0) {
        lambda_esm_set_result(s->m, "OK");
        /* Only the invoked records are done; with bisection, the rest follow. */
        checkpoint(s, s->invoked_last, NULL);
        return;
    }
    lambda_esm_set_result(s->m, "PROBLEM: Function call failed");
    if (failed_from > 0 && failed_from > s->seqs[0]) {
        /* The records before the first failure are done: commit them, retry the rest. */
        checkpoint(s, failed_from - 1, NULL);
        return;
    }
    s->attempts++;
    json_int_t max_retries = int_of(doc, "MaximumRetryAttempts");
    json_int_t max_age = int_of(doc, "MaximumRecordAgeInSeconds");
    if (max_age > 0 && clock_now_ms() - s->created_ms[0] > max_age * 1000) {
        give_up(s, "RecordAgeExceeded", r);
        return;
    }
    if (json_is_true(json_object_get(doc, "BisectBatchOnFunctionError")) && s->invoked_n > 1) {
        s->limit = s->invoked_n / 2; /* splitting does not count against the retries */
        s->attempts--;
        again_in(s, 0);
        return;
    }
    if (max_retries >= 0 && s->attempts > max_retries) {
        give_up(s, "RetryAttemptsExhausted", r);
        return;
    }
    again_in(s, (uint64_t)retry_delay(s->attempts));
}

static void invoke_batch(esm_stream *s)
{
    json_t *doc = lambda_esm_doc(s->m);
    const char *fn_arn = json_string_value(json_object_get(doc, "FunctionArn"));
    size_t n = s->limit && s->limit < s->n ? s->limit : s->n;
    /* Records the filters reject are done without an invocation. */
    json_t *records = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *rec = json_array_get(s->batch, i);
        if (!json_is_null(rec) && lambda_esm_passes_filters(s->m, rec))
            json_array_append(records, rec);
    }
    s->invoked_n = n;
    s->invoked_last = s->seqs[n - 1];
    if (json_array_size(records) == 0) {
        json_decref(records);
        checkpoint(s, s->invoked_last, NULL);
        return;
    }
    lambda_fn *fn = lambda_fn_target(s->l, fn_arn, NULL);
    if (!fn) {
        json_decref(records);
        lambda_esm_set_result(s->m, "PROBLEM: Function not found");
        again_in(s, STREAM_GONE_MS);
        return;
    }
    json_t *event = json_pack("{s:o}", "Records", records);
    char *text = json_dumps(event, JSON_COMPACT);
    json_decref(event);
    ids_uuid4(s->request_id);
    s->invoking = 1;
    if (lambda_invoke(s->l, fn, s->request_id, text, strlen(text), on_invoked, s) != 0) {
        s->invoking = 0;
        again_in(s, 100); /* throttled */
    }
    free(text);
}
