/* Map Runs: the resource a distributed Map state's run is on AWS (DescribeMapRun,
 * ListMapRuns, UpdateMapRun, the MapRun* history events).
 *
 * A Map Run starts when a distributed Map's iterations start (its items read): each round
 * of the state (a Retry, a redrive) is a Map Run of its own, with a new id. It lives in two
 * places, always written in the same store commit:
 *   - the Map's cursor in its execution's document: "mapRunId" and "mapRun", the run's
 *     configuration (MaxConcurrency, ToleratedFailureCount, ToleratedFailurePercentage:
 *     the state's, as UpdateMapRun changed them) that the interpreter uses while it runs
 *     (sfn_branches.c); its counts are the cursor's (total, next, done, failures);
 *   - its document in the store's table SFN_T_MAPRUN (ARN -> document) and a summary in
 *     SFN_T_MAPRUN_LIST ((execution ARN, start time, ARN) -> summary, for ListMapRuns),
 *     written when it starts, when UpdateMapRun changes it and when it ends (then with its
 *     final counts and stop date): an ended Map Run costs storage, not memory.
 * DescribeMapRun of a running one reads its counts from the cursor of the execution that
 * runs it (which is in memory while its iterations run: its WAKE row is due at once).
 *
 * The execution a Map Run names is the root execution (the one ListExecutions shows, whose
 * history has the events), also for a distributed Map inside a Parallel's branch. Item
 * counts are the iterations' counts (with an ItemBatcher, a batch counts as one item). */
#include "services/stepfunctions/sfn_run.h"

#include "common/alloc.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/hex.h"
#include "common/ids.h"
#include "protocol/aws.h"
#include "protocol/json_codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SFN_T_MAPRUN      (-1004)
#define SFN_T_MAPRUN_LIST (-1005)

static json_t *cursor_of(const sfn_exec *ex)
{
    return json_object_get(ex->doc, "cursor");
}

static const json_t *state_of(const sfn_exec *ex)
{
    return json_object_get(json_object_get(ex->def, "States"), sfn_doc_str(cursor_of(ex), "state"));
}

bool sfn_map_distributed(const json_t *state)
{
    const json_t *config =
        json_object_get(json_object_get(state, "ItemProcessor"), "ProcessorConfig");
    const char *mode = sfn_doc_str(config, "Mode");
    return mode && strcmp(mode, "DISTRIBUTED") == 0;
}

static bool is_map_run_arn(const char *arn)
{
    return sfn_arn_ok(arn) && strstr(arn, ":mapRun:") != NULL;
}

/* ---- the document -------------------------------------------------------------------- */

/* MapRunItemCounts / MapRunExecutionCounts of the cursor's run (status: how it ended, or
 * RUNNING): iterations still running when it failed or was aborted count as aborted. */
static json_t *counts_of(const json_t *cursor, const char *status)
{
    json_int_t total = sfn_doc_int(cursor, "total"), next = sfn_doc_int(cursor, "next");
    json_int_t done = sfn_doc_int(cursor, "done"), failed = sfn_doc_int(cursor, "failures");
    json_int_t running = next - done, aborted = 0;
    if (strcmp(status, "RUNNING") != 0 && strcmp(status, "SUCCEEDED") != 0) {
        aborted = running;
        running = 0;
    }
    /* AWS counts the results of the iterations that ended, with or without a ResultWriter */
    json_int_t written = done;
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "pending", total - next,
                     "running", running, "succeeded", done - failed, "failed", failed, "timedOut",
                     (json_int_t)0, "aborted", aborted, "total", total, "resultsWritten", written,
                     "failuresNotRedrivable", (json_int_t)0, "pendingRedrive", (json_int_t)0);
}

/* The document of ex's running Map Run (its cursor has "mapRun") as of t, with status:
 * counts when it ended. A new object. */
static json_t *run_doc(const sfn_transition *t, const sfn_exec *ex, const char *status)
{
    const sfn *s = t->s;
    json_t *cursor = cursor_of(ex), *config = json_object_get(cursor, "mapRun");
    char *arn = sfn_map_run_arn(s, ex);
    const char *label = sfn_doc_str(state_of(ex), "Label");
    buf machine = BUF_INIT;
    buf_printf(&machine, "arn:aws:states:%s:%s:stateMachine:%s/%s", s->region, s->account,
               sfn_doc_str(ex->doc, "stateMachineName") ?: "",
               label ? label : sfn_doc_str(cursor, "state"));
    json_t *doc = json_pack("{s:s,s:s,s:s,s:s%,s:s,s:I,s:I,s:O}", "mapRunArn", arn, "executionArn",
                            sfn_history_arn(ex), "owner", sfn_doc_str(ex->doc, "executionArn"),
                            "stateMachineArn", machine.data, machine.len, "status", status,
                            "startDate", (json_int_t)sfn_doc_int(config, "startMs"), "total",
                            (json_int_t)sfn_doc_int(cursor, "total"), "config", config);
    if (strcmp(status, "RUNNING") != 0) {
        json_object_set_new(doc, "stopDate", json_integer(t->now));
        json_object_set_new(doc, "counts", counts_of(cursor, status));
    }
    buf_free(&machine);
    xfree(arn);
    return doc;
}

/* The document goes into t's commit (sfn_transition_commit: sfn_map_run_row). */
static void run_write(sfn_transition *t, json_t *doc)
{
    if (!t->map_runs)
        t->map_runs = json_array();
    json_array_append_new(t->map_runs, doc);
}

static void be64(unsigned char out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        out[i] = (unsigned char)(v & 0xff);
}

/* The SFN_T_MAPRUN_LIST sort key of a run: its start time (8 bytes) and its ARN. */
static unsigned char *list_sk(const json_t *doc, size_t *len)
{
    const char *arn = sfn_doc_str(doc, "mapRunArn");
    size_t n = strlen(arn);
    unsigned char *sk = xmalloc(8 + n);
    be64(sk, (uint64_t)sfn_doc_int(doc, "startDate"));
    memcpy(sk + 8, arn, n);
    *len = 8 + n;
    return sk;
}

static int run_row_write(void *arg, const char *old, size_t old_len, store_kv_write *out)
{
    (void)old;
    (void)old_len;
    sfn_row *r = arg;
    out->sides = r->sides;
    out->nsides = r->nsides;
    r->sides = NULL;
    r->nsides = 0;
    out->item = r->item;
    out->len = r->len;
    out->size = (int64_t)r->len;
    r->item = NULL;
    return STORE_KV_PUT;
}

sfn_row *sfn_map_run_row(const json_t *doc)
{
    sfn_row *r = xcalloc(1, sizeof *r);
    r->key = xstrdup(sfn_doc_str(doc, "mapRunArn"));
    buf b = BUF_INIT;
    jsonc_dump(&b, doc);
    r->item = buf_steal(&b, &r->len);
    json_t *summary = json_object();
    const char *fields[] = {"executionArn", "mapRunArn", "stateMachineArn", "startDate",
                            "stopDate"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (json_object_get(doc, fields[i]))
            json_object_set(summary, fields[i], json_object_get(doc, fields[i]));
    jsonc_dump(&b, summary);
    json_decref(summary);
    size_t sk_len, len;
    unsigned char *sk = list_sk(doc, &sk_len);
    char *item = buf_steal(&b, &len);
    const char *exec = sfn_doc_str(doc, "executionArn");
    r->sides = xcalloc(1, sizeof *r->sides);
    r->sides[0] = (store_kv_side){
        .key = {SFN_T_MAPRUN_LIST, (unsigned char *)xstrdup(exec), strlen(exec), sk, sk_len},
        .item = item,
        .len = len,
        .size = (int64_t)len};
    r->nsides = 1;
    r->op.kind = STORE_KV_MUTATE;
    r->op.u.kv_mutate.key =
        (store_kv_key){SFN_T_MAPRUN, (const unsigned char *)r->key, strlen(r->key), NULL, 0};
    r->op.u.kv_mutate.fn = run_row_write;
    r->op.u.kv_mutate.arg = r;
    return r;
}

/* ---- the run's life: start, end, abort ------------------------------------------------ */

void sfn_map_run_start(sfn_transition *t, const json_t *state)
{
    json_t *cursor = cursor_of(t->ex);
    char id[37];
    ids_uuid4(id);
    json_object_set_new(cursor, "mapRunId", json_string(id));
    json_t *config = json_pack("{s:I,s:I}", "MaxConcurrency",
                               json_integer_value(json_object_get(state, "MaxConcurrency")),
                               "startMs", (json_int_t)t->now);
    const char *tolerance[] = {"ToleratedFailureCount", "ToleratedFailurePercentage"};
    for (size_t i = 0; i < 2; i++)
        if (json_object_get(state, tolerance[i]))
            json_object_set(config, tolerance[i], json_object_get(state, tolerance[i]));
    json_object_set_new(cursor, "mapRun", config);
    json_t *doc = run_doc(t, t->ex, "RUNNING");
    sfn_emit(t, "MapRunStarted", "mapRunStartedEventDetails",
             json_pack("{s:O}", "mapRunArn", json_object_get(doc, "mapRunArn")));
    run_write(t, doc);
}

/* Ends ex's running Map Run (if its cursor has one) with status: its final document and
 * its event go into t. */
static void run_end(sfn_transition *t, sfn_exec *ex, const char *status, const char *error,
                    const char *cause)
{
    json_t *cursor = cursor_of(ex);
    if (!cursor || !json_object_get(cursor, "mapRun"))
        return;
    run_write(t, run_doc(t, ex, status));
    json_object_del(cursor, "mapRun");
    if (strcmp(status, "FAILED") == 0)
        sfn_emit(t, "MapRunFailed", "mapRunFailedEventDetails",
                 json_pack("{s:s?,s:s?}", "error", error, "cause", cause));
    else
        sfn_emit(t, strcmp(status, "SUCCEEDED") == 0 ? "MapRunSucceeded" : "MapRunAborted", NULL,
                 NULL);
}

void sfn_map_run_end(sfn_transition *t, const char *error, const char *cause)
{
    run_end(t, t->ex, error ? "FAILED" : "SUCCEEDED", error, cause);
}

void sfn_map_run_abort(sfn_transition *t, sfn_exec *ex)
{
    run_end(t, ex, "ABORTED", NULL, NULL);
}

json_int_t sfn_map_run_limit(const json_t *cursor, const json_t *state)
{
    const json_t *config = json_object_get(cursor, "mapRun");
    return json_integer_value(json_object_get(config ? config : state, "MaxConcurrency"));
}

const json_t *sfn_map_run_tolerance(const json_t *cursor, const json_t *state)
{
    const json_t *config = json_object_get(cursor, "mapRun");
    return config ? config : state;
}

/* ---- reading a run ------------------------------------------------------------------- */

typedef struct run_read {
    store_op op;
    store_kv_key key;
    aws_call *call;
    char *arn;
    json_t *doc;
    aws_op_fn fn; /* the operation, run again when the execution is busy */
    void (*then)(struct run_read *r, sfn_exec *owner);
} run_read;

static void run_read_free(run_read *r)
{
    json_decref(r->doc);
    xfree(r->arn);
    xfree(r);
}

/* The owner's cursor runs r's Map Run (it is RUNNING). */
static bool owner_runs(const run_read *r, const sfn_exec *owner)
{
    json_t *cursor = owner && sfn_exec_running(owner) ? cursor_of(owner) : NULL;
    if (!cursor || !json_object_get(cursor, "mapRun"))
        return false;
    char *arn = sfn_map_run_arn(sfn_of(r->call), owner);
    bool same = strcmp(arn, r->arn) == 0;
    xfree(arn);
    return same;
}

static void owner_loaded(sfn *s, sfn_exec *ex, int status, void *arg)
{
    run_read *r = arg;
    if (s->stopping || status != 0) {
        aws_reply_error(r->call, s->stopping ? AWS_ERR_SERVICE_UNAVAILABLE : AWS_ERR_INTERNAL_ERROR,
                        s->stopping ? "The server is stopping." : "The store could not be read.");
        run_read_free(r);
        return;
    }
    r->then(r, ex);
}

static void run_read_done(store_op *op)
{
    run_read *r = op->ctx;
    sfn *s = sfn_of(r->call);
    if (op->status != 0 || !op->u.kv_get.items[0].item) {
        if (op->status != 0)
            aws_reply_error(r->call, AWS_ERR_INTERNAL_ERROR, "The store could not be read.");
        else
            aws_reply_error(r->call, AWS_ERR_SFN_RESOURCE_NOT_FOUND, "Map Run Does Not Exist: '%s'",
                            r->arn);
        store_op_clear(op);
        run_read_free(r);
        return;
    }
    char err[128];
    r->doc = jsonc_parse(op->u.kv_get.items[0].item, op->u.kv_get.items[0].len, err, sizeof err);
    store_op_clear(op);
    const char *owner = sfn_doc_str(r->doc, "owner");
    if (strcmp(sfn_doc_str(r->doc, "status") ?: "", "RUNNING") != 0 || !owner) {
        r->then(r, NULL);
        return;
    }
    sfn_exec *ex = sfn_exec_find(s, owner);
    if (ex)
        r->then(r, ex);
    else
        sfn_exec_load(s, owner, owner_loaded, r);
}

/* Reads the Map Run of the call's mapRunArn (replies InvalidArn, ResourceNotFound), then
 * then(r, the execution running it, or NULL once it ended). */
static void run_read_start(aws_call *call, aws_op_fn fn, void (*then)(run_read *, sfn_exec *))
{
    sfn *s = sfn_of(call);
    const char *arn = sfn_str(call, "mapRunArn");
    if (!is_map_run_arn(arn)) {
        aws_reply_error(call, AWS_ERR_SFN_INVALID_ARN, "Invalid Arn: 'Invalid ARN prefix: %s'",
                        arn ? arn : "");
        return;
    }
    if (s->starting) { /* the runs' executions are being loaded: after startup */
        bool pending;
        sfn_exec_get(call, arn, fn, &pending);
        return;
    }
    run_read *r = xcalloc(1, sizeof *r);
    r->call = call;
    r->arn = xstrdup(arn);
    r->fn = fn;
    r->then = then;
    r->key = (store_kv_key){SFN_T_MAPRUN, (const unsigned char *)r->arn, strlen(r->arn), NULL, 0};
    r->op.kind = STORE_KV_GET;
    r->op.u.kv_get.keys = &r->key;
    r->op.u.kv_get.n = 1;
    r->op.done = run_read_done;
    r->op.ctx = r;
    r->op.now_ms = clock_now_ms();
    store_submit(s->store, &r->op);
}

/* ---- DescribeMapRun ------------------------------------------------------------------- */

static void describe_reply(run_read *r, sfn_exec *owner)
{
    sfn *s = sfn_of(r->call);
    json_t *d = r->doc;
    bool live = owner_runs(r, owner);
    json_t *cursor = live ? cursor_of(owner) : NULL;
    const json_t *config = live ? json_object_get(cursor, "mapRun") : json_object_get(d, "config");
    json_t *counts =
        live ? counts_of(cursor, "RUNNING") : json_incref(json_object_get(d, "counts"));
    if (!counts) /* running, but its execution is not found: as it started */
        counts =
            json_pack("{s:I,s:i,s:i,s:i,s:i,s:i,s:I,s:i,s:i,s:i}", "pending",
                      (json_int_t)sfn_doc_int(d, "total"), "running", 0, "succeeded", 0, "failed",
                      0, "timedOut", 0, "aborted", 0, "total", (json_int_t)sfn_doc_int(d, "total"),
                      "resultsWritten", 0, "failuresNotRedrivable", 0, "pendingRedrive", 0);
    json_t *pct = json_object_get(config, "ToleratedFailurePercentage");
    json_t *out = json_pack(
        "{s:O,s:O,s:O,s:o,s:I,s:f,s:I,s:O,s:o}", "mapRunArn", json_object_get(d, "mapRunArn"),
        "executionArn", json_object_get(d, "executionArn"), "status", json_object_get(d, "status"),
        "startDate", sfn_time_json(sfn_doc_int(d, "startDate")), "maxConcurrency",
        (json_int_t)sfn_doc_int(config, "MaxConcurrency"), "toleratedFailurePercentage",
        pct ? json_number_value(pct) : 0.0, "toleratedFailureCount",
        (json_int_t)sfn_doc_int(config, "ToleratedFailureCount"), "itemCounts", counts,
        "executionCounts", counts);
    if (json_object_get(d, "stopDate"))
        json_object_set_new(out, "stopDate", sfn_time_json(sfn_doc_int(d, "stopDate")));
    aws_reply(r->call, out);
    run_read_free(r);
    if (owner)
        sfn_exec_maybe_free(s, owner);
}

void sfn_describe_map_run(aws_call *call)
{
    run_read_start(call, sfn_describe_map_run, describe_reply);
}

/* ---- UpdateMapRun --------------------------------------------------------------------- */

static bool update_valid(aws_call *call)
{
    json_t *in = call->input;
    json_t *mc = json_object_get(in, "maxConcurrency");
    json_t *count = json_object_get(in, "toleratedFailureCount");
    json_t *pct = json_object_get(in, "toleratedFailurePercentage");
    const char *bad = NULL, *rule = NULL;
    char value[64] = "";
    if (mc && (!json_is_integer(mc) || json_integer_value(mc) < 0)) {
        bad = "maxConcurrency";
        rule = "Member must have value greater than or equal to 0";
        snprintf(value, sizeof value, "%lld", (long long)json_integer_value(mc));
    } else if (count && (!json_is_integer(count) || json_integer_value(count) < 0)) {
        bad = "toleratedFailureCount";
        rule = "Member must have value greater than or equal to 0";
        snprintf(value, sizeof value, "%lld", (long long)json_integer_value(count));
    } else if (pct && (!json_is_number(pct) || json_number_value(pct) < 0 ||
                       json_number_value(pct) > 100)) {
        bad = "toleratedFailurePercentage";
        rule = json_number_value(pct) < 0 ? "Member must have value greater than or equal to 0"
                                          : "Member must have value less than or equal to 100";
        snprintf(value, sizeof value, "%g", json_number_value(pct));
    }
    if (!bad)
        return true;
    aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                    "1 validation error detected: Value '%s' at '%s' failed to satisfy "
                    "constraint: %s",
                    value, bad, rule);
    return false;
}

static void update_apply(run_read *r, sfn_exec *owner)
{
    aws_call *call = r->call;
    sfn *s = sfn_of(call);
    if (owner && owner->committing && owner_runs(r, owner)) {
        /* a step of it is being committed: the update comes after it */
        run_read_free(r);
        sfn_exec_park(owner, call, sfn_update_map_run);
        return;
    }
    json_t *cursor = owner_runs(r, owner) ? cursor_of(owner) : NULL;
    if (!cursor || strcmp(sfn_doc_str(cursor, "phase"), "branches") != 0) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "Map Run '%s' is not running: its configuration cannot be updated", r->arn);
        run_read_free(r);
        if (owner)
            sfn_exec_maybe_free(s, owner);
        return;
    }
    json_t *config = json_object_get(cursor, "mapRun");
    json_t *in = call->input;
    if (json_object_get(in, "maxConcurrency"))
        json_object_set(config, "MaxConcurrency", json_object_get(in, "maxConcurrency"));
    if (json_object_get(in, "toleratedFailureCount"))
        json_object_set(config, "ToleratedFailureCount",
                        json_object_get(in, "toleratedFailureCount"));
    if (json_object_get(in, "toleratedFailurePercentage"))
        json_object_set_new(
            config, "ToleratedFailurePercentage",
            json_real(json_number_value(json_object_get(in, "toleratedFailurePercentage"))));
    json_int_t failures = sfn_doc_int(cursor, "failures");
    if (failures > 0 && !json_object_get(cursor, "failed") &&
        sfn_map_over_tolerance(config, failures, sfn_doc_int(cursor, "total")))
        json_object_set_new(cursor, "failed",
                            json_pack("{s:s,s:s}", "error",
                                      "States.ExceedToleratedFailureThreshold", "cause",
                                      "The specified tolerated failure threshold was exceeded"));
    sfn_transition *t = sfn_transition_new(s, owner);
    run_write(t, run_doc(t, owner, "RUNNING"));
    t->call = call;
    t->reply = json_object();
    run_read_free(r);
    sfn_transition_commit(t); /* its next step (more iterations, the failure) follows */
}

void sfn_update_map_run(aws_call *call)
{
    if (update_valid(call))
        run_read_start(call, sfn_update_map_run, update_apply);
}

/* ---- ListMapRuns ---------------------------------------------------------------------- */

typedef struct list_read {
    store_op op;
    aws_call *call;
    char *exec;
    unsigned char *after;
    size_t after_len;
    json_int_t max;
} list_read;

static void list_free(list_read *r)
{
    xfree(r->exec);
    xfree(r->after);
    xfree(r);
}

/* A token (a sort key in hex: start time, then the Map Run's ARN) of a listing: NULL if it
 * is not one. */
static unsigned char *token_key(const char *s, size_t *n)
{
    unsigned char *out = hex_decode(s, n);
    if (!out || *n <= 8)
        goto bad;
    char *arn = xmalloc(*n - 8 + 1);
    memcpy(arn, out + 8, *n - 8);
    arn[*n - 8] = '\0';
    bool ok = strlen(arn) == *n - 8 && is_map_run_arn(arn);
    xfree(arn);
    if (ok)
        return out;
bad:
    xfree(out);
    return NULL;
}

static void list_done(store_op *op)
{
    list_read *r = op->ctx;
    if (op->status != 0) {
        aws_reply_error(r->call, AWS_ERR_INTERNAL_ERROR, "The store could not be read.");
        store_op_clear(op);
        list_free(r);
        return;
    }
    json_t *runs = json_array();
    size_t n = op->u.kv_range.n;
    char *next = NULL;
    for (size_t i = 0; i < n && (json_int_t)i < r->max; i++) {
        char err[128];
        json_t *sum =
            jsonc_parse(op->u.kv_range.items[i].item, op->u.kv_range.items[i].len, err, sizeof err);
        if (!json_is_object(sum)) {
            json_decref(sum);
            continue;
        }
        json_t *item =
            json_pack("{s:O,s:O,s:O,s:o}", "executionArn", json_object_get(sum, "executionArn"),
                      "mapRunArn", json_object_get(sum, "mapRunArn"), "stateMachineArn",
                      json_object_get(sum, "stateMachineArn"), "startDate",
                      sfn_time_json(sfn_doc_int(sum, "startDate")));
        if (json_object_get(sum, "stopDate"))
            json_object_set_new(item, "stopDate", sfn_time_json(sfn_doc_int(sum, "stopDate")));
        json_array_append_new(runs, item);
        if ((json_int_t)i + 1 == r->max && (n > i + 1 || op->u.kv_range.more)) {
            size_t len;
            unsigned char *sk = list_sk(sum, &len);
            next = hex_string(sk, len);
            xfree(sk);
        }
        json_decref(sum);
    }
    store_op_clear(op);
    json_t *out = json_pack("{s:o}", "mapRuns", runs);
    if (next)
        json_object_set_new(out, "nextToken", json_string(next));
    xfree(next);
    aws_reply(r->call, out);
    list_free(r);
}

void sfn_list_map_runs(aws_call *call)
{
    sfn *s = sfn_of(call);
    const char *arn = sfn_str(call, "executionArn"), *token = sfn_str(call, "nextToken");
    if (!sfn_arn_ok(arn) || !strstr(arn, ":execution:")) {
        aws_reply_error(call, AWS_ERR_SFN_INVALID_ARN, "Invalid Arn: 'Invalid ARN prefix: %s'",
                        arn ? arn : "");
        return;
    }
    size_t after_len = 0;
    unsigned char *after = token ? token_key(token, &after_len) : NULL;
    if (token && !after) {
        aws_reply_error(call, AWS_ERR_SFN_INVALID_TOKEN, "Invalid Token: '%s'", token);
        return;
    }
    bool pending;
    sfn_exec *ex = sfn_exec_get(call, arn, sfn_list_map_runs, &pending);
    if (pending) {
        xfree(after);
        return;
    }
    if (!ex || sfn_is_child(ex)) {
        xfree(after);
        aws_reply_error(call, AWS_ERR_SFN_EXECUTION_DOES_NOT_EXIST,
                        "Execution Does Not Exist: '%s'", arn);
        return;
    }
    sfn_exec_maybe_free(s, ex);
    list_read *r = xcalloc(1, sizeof *r);
    r->call = call;
    r->exec = xstrdup(arn);
    r->after = after;
    r->after_len = after_len;
    r->max = json_integer_value(json_object_get(call->input, "maxResults"));
    if (r->max <= 0 || r->max > 1000)
        r->max = 100;
    store_op *op = &r->op;
    op->kind = STORE_KV_RANGE;
    op->u.kv_range.table = SFN_T_MAPRUN_LIST;
    op->u.kv_range.pk = (const unsigned char *)r->exec;
    op->u.kv_range.pk_len = strlen(r->exec);
    op->u.kv_range.forward = 1;
    op->u.kv_range.max_items = (int)r->max + 1;
    op->u.kv_range.max_bytes = INT64_MAX;
    if (r->after) {
        op->u.kv_range.start_pk = op->u.kv_range.pk;
        op->u.kv_range.start_pk_len = op->u.kv_range.pk_len;
        op->u.kv_range.start_sk = r->after;
        op->u.kv_range.start_sk_len = r->after_len;
    }
    op->done = list_done;
    op->ctx = r;
    op->now_ms = clock_now_ms();
    store_submit(s->store, op);
}
