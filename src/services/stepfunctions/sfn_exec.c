/* Step Functions executions: the operations (start, describe, list, stop, history) and the
 * interpreter that runs Pass, Choice, Wait, Succeed and Fail states durably.
 *
 * An execution advances one state at a time. A step computes, in memory, what the state
 * does (its history events, the next state and its input, or the end of the execution),
 * then commits the events (archive records of the archive named by the execution's ARN)
 * and the execution's new document in ONE store group; the next step runs only from that
 * commit's completion. A Wait state commits its entry with the time it ends ("wait"
 * phase) and the service's single timer wakes the execution then, so nothing sleeps and a
 * waiting execution holds no handle. After a crash the documents say where every running
 * execution stopped: "enter" (run that state now) or "wait" (until wakeMs, which may have
 * passed), and as the document and the events of a step commit together, no step is lost
 * or done twice — an execution finishes exactly once.
 *
 * Task states are in sfn_task.c; Parallel and Map states in sfn_branches.c (their branches
 * and iterations are child executions, run by this same interpreter). */
#include "services/stepfunctions/sfn_run.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/log.h"
#include "protocol/json_codec.h"
#include "services/stepfunctions/sfn_choice.h"
#include "services/stepfunctions/sfn_integrations.h"
#include "services/stepfunctions/sfn_intrinsic.h"
#include "services/stepfunctions/sfn_jsonpath.h"
#include "services/stepfunctions/sfn_template.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* AWS's hard quota of events in an execution's history: once it has 24,999, the next
 * event may only end the execution (ExecutionSucceeded); otherwise it fails (States.Runtime)
 * with ExecutionFailed as event 25,000. Counted per execution document ("eventCount"); a
 * Parallel or Map branch counts its own events, which it writes into its root's history. */
#define MAX_HISTORY 25000

/* ---- lookups ------------------------------------------------------------------------ */

sfn_exec *sfn_exec_find(const sfn *s, const char *arn)
{
    json_t *at = arn ? json_object_get(s->exec_index, arn) : NULL;
    return at ? (sfn_exec *)(intptr_t)json_integer_value(at) : NULL;
}

/* The execution named by the call's executionArn, or NULL (replied, or loading it: then
 * again(call) runs once it is in memory). */
static sfn_exec *exec_or_reply(aws_call *call, aws_op_fn again)
{
    const char *arn = sfn_str(call, "executionArn");
    if (!sfn_arn_ok(arn) || !strstr(arn, ":execution:")) {
        aws_reply_error(call, AWS_ERR_SFN_INVALID_ARN, "Invalid Arn: 'Invalid ARN prefix: %s'",
                        arn ? arn : "");
        return NULL;
    }
    bool pending;
    sfn_exec *e = sfn_exec_get(call, arn, again, &pending);
    if (pending)
        return NULL;
    if (e && sfn_is_child(e))
        e = NULL;
    if (!e)
        aws_reply_error(call, AWS_ERR_SFN_EXECUTION_DOES_NOT_EXIST,
                        "Execution Does Not Exist: '%s'", arn);
    return e;
}

/* ---- a transition: its events and its commit --------------------------------------- */

sfn_transition *sfn_transition_new(sfn *s, sfn_exec *ex)
{
    sfn_transition *t = xcalloc(1, sizeof *t);
    t->s = s;
    t->ex = ex;
    t->now = clock_now_ms();
    t->no_history = sfn_exec_ephemeral(ex); /* EXPRESS: no history (see express_commit) */
    return t;
}

static void transition_free(sfn_transition *t)
{
    for (size_t i = 0; i < t->archive_op.u.archive_append.n; i++)
        xfree(t->records[i].event);
    xfree(t->records);
    for (size_t i = 0; i < t->nrows; i++)
        sfn_row_free(t->rows[i]);
    xfree(t->rows);
    for (size_t i = 0; i < json_array_size(t->definition_ids); i++) {
        xfree((char *)t->def_docs[i].key);
        xfree((char *)t->def_docs[i].doc);
    }
    xfree(t->def_docs);
    json_decref(t->definition_ids);
    xfree(t->children);
    xfree(t->spawned);
    json_decref(t->more_docs);
    json_decref(t->map_runs);
    buf_free(&t->events);
    buf_free(&t->data);
    json_decref(t->last_data);
    json_decref(t->reply);
    xfree(t);
}

void sfn_transition_free(sfn_transition *t)
{
    transition_free(t);
}

json_t *sfn_json_text(const json_t *v)
{
    buf b = BUF_INIT;
    jsonc_dump(&b, v);
    json_t *out = json_stringn_nocheck(b.data ? b.data : "", b.len);
    buf_free(&b);
    return out;
}

/* Starts an event of `type` (and suffix): its common members. GetExecutionHistory numbers
 * the events (id, previousEventId) in the order they were committed. */
static void event_open(sfn_transition *t, const char *type, const char *suffix)
{
    buf *b = &t->events;
    if (t->nevents++ == 0) {
        buf_reserve(b, 4096);
        t->started = strcmp(type, "ExecutionStarted") == 0;
    } else {
        buf_putc(b, ',');
    }
    buf_puts(b, "{\"timestamp\":");
    buf_put_i64(b, t->now);
    buf_puts(b, ",\"type\":\"");
    buf_puts(b, type); /* names of ours: nothing to escape */
    buf_puts(b, suffix);
    buf_putc(b, '"');
}

/* Appends an event of `type` with its details object (taken; NULL: none) under key. */
void sfn_emit(sfn_transition *t, const char *type, const char *key, json_t *details)
{
    if (!t->no_history) {
        event_open(t, type, "");
        if (key && details) {
            buf_puts(&t->events, ",\"");
            buf_puts(&t->events, key);
            buf_puts(&t->events, "\":");
            jsonc_dump(&t->events, details);
        }
        buf_putc(&t->events, '}');
    }
    json_decref(details);
}

/* data's place in the record's data: a new one, or the last one again if it is the same
 * value (or its text is the same). */
static size_t data_ref(sfn_transition *t, const json_t *data)
{
    if (t->ndata && data == t->last_data) {
#ifndef NDEBUG /* (debug and sanitized builds: the tests check that values stay unchanged) */
        buf now = BUF_INIT;
        jsonc_dump(&now, data);
        assert(now.len == t->last_len &&
               memcmp(now.data, t->data.data + t->last_off, now.len) == 0);
        buf_free(&now);
#endif
        return t->ndata - 1;
    }
    json_decref(t->last_data);
    t->last_data = json_incref((json_t *)data);
    buf *b = &t->data;
    size_t mark = b->len;
    if (t->ndata)
        buf_putc(b, ',');
    size_t start = b->len;
    jsonc_dump(b, data);
    size_t len = b->len - start;
    if (t->ndata && len == t->last_len &&
        memcmp(b->data + start, b->data + t->last_off, len) == 0) {
        b->len = mark;
        b->data[mark] = 0;
        return t->ndata - 1;
    }
    t->last_off = start;
    t->last_len = len;
    return t->ndata++;
}

/* An event whose details carry a state's data: {field: its place in the record's data,
 * fieldDetails: {truncated: false}, name} (GetExecutionHistory puts the data's JSON text in
 * the place of the number). */
static void emit_data(sfn_transition *t, const char *type, const char *suffix, const char *key,
                      const char *name, const char *field, const json_t *data)
{
    size_t ref = data_ref(t, data);
    event_open(t, type, suffix);
    buf *b = &t->events;
    buf_puts(b, ",\"");
    buf_puts(b, key);
    buf_puts(b, "\":{\"");
    buf_puts(b, field);
    buf_puts(b, "\":");
    buf_put_u64(b, ref);
    buf_puts(b, ",\"");
    buf_puts(b, field);
    buf_puts(b, "Details\":{\"truncated\":false}");
    if (name) {
        buf_puts(b, ",\"name\":");
        jsonc_put_string(b, name, strlen(name));
    }
    buf_puts(b, "}}");
}

void sfn_state_entered(sfn_transition *t, const char *type, const char *name, const json_t *input)
{
    if (!t->no_history) /* (EXPRESS: the event's JSON text of input would go unused) */
        emit_data(t, type, "StateEntered", "stateEnteredEventDetails", name, "input", input);
}

void sfn_state_exited(sfn_transition *t, const char *type, const char *name, const json_t *output)
{
    if (!t->no_history)
        emit_data(t, type, "StateExited", "stateExitedEventDetails", name, "output", output);
}

static void execution_end(sfn_transition *t, const char *status)
{
    json_t *cursor = json_object_get(t->ex->doc, "cursor");
    if (cursor && strcmp(status, "SUCCEEDED") != 0) /* where a redrive starts again */
        json_object_set_new(t->ex->doc, "redriveFrom",
                            json_pack("{s:O,s:O}", "state", json_object_get(cursor, "state"),
                                      "stateInput", json_object_get(cursor, "stateInput")));
    json_object_set_new(t->ex->doc, "status", json_string(status));
    json_object_set_new(t->ex->doc, "stopDate", json_integer(t->now));
    json_object_del(t->ex->doc, "cursor");
    t->ex->wake_ms = 0;
    t->ex->timeout_ms = 0;
}

static void execution_succeed(sfn_transition *t, const json_t *output)
{
    if (sfn_is_child(t->ex)) {
        sfn_child_end(t, output, NULL, NULL);
        return;
    }
    execution_end(t, "SUCCEEDED");
    json_object_set_new(t->ex->doc, "output", sfn_json_text(output));
    if (!t->no_history)
        emit_data(t, "ExecutionSucceeded", "", "executionSucceededEventDetails", NULL, "output",
                  output);
}

void sfn_execution_fail(sfn_transition *t, const char *error, const char *cause)
{
    if (sfn_is_child(t->ex)) {
        sfn_child_end(t, NULL, error, cause);
        return;
    }
    execution_end(t, "FAILED");
    json_t *d = json_object();
    if (error) {
        json_object_set_new(t->ex->doc, "error", json_string(error));
        json_object_set_new(d, "error", json_string(error));
    }
    if (cause) {
        json_object_set_new(t->ex->doc, "cause", json_string(cause));
        json_object_set_new(d, "cause", json_string(cause));
    }
    sfn_emit(t, "ExecutionFailed", "executionFailedEventDetails", d);
}

static void commit_done(store_op *op);
static void sync_reply(sfn_exec *ex);
static void unpark(sfn_exec *ex);

const char *sfn_history_arn(const sfn_exec *ex)
{
    const char *root = sfn_doc_str(ex->doc, "rootArn");
    return root ? root : sfn_doc_str(ex->doc, "executionArn");
}

void sfn_transition_doc(sfn_transition *t, const char *key, const json_t *doc)
{
    if (!t->more_docs)
        t->more_docs = json_array();
    json_t *d = json_pack("{s:s}", "key", key);
    if (doc)
        json_object_set_new(d, "doc", json_deep_copy(doc));
    json_array_append_new(t->more_docs, d);
}

/* ---- EXPRESS executions: in memory --------------------------------------------------
 * As on AWS, an EXPRESS execution is at-least-once and keeps no history: its steps are not
 * committed to the store. A step "commits" on the loop's next turn (a queue drained by an
 * idle handle, at most EXPRESS_BATCH steps or EXPRESS_TURN_NS a turn: the loop polls its
 * sockets between turns,
 * so a looping machine cannot starve the other clients), then goes on exactly as a
 * committed one. An EXPRESS execution that ended is freed;
 * after a crash it is gone (StartSyncExecution's caller got no answer). */

#define EXPRESS_BATCH   256
#define EXPRESS_TURN_NS 20000000 /* and at most 20 ms of them a turn */

bool sfn_exec_ephemeral(const sfn_exec *ex)
{
    const char *type = sfn_doc_str(ex->doc, "type");
    return type && strcmp(type, "EXPRESS") == 0;
}

static void express_drain(uv_idle_t *idle)
{
    sfn *s = idle->data;
    uint64_t start = uv_hrtime();
    for (int i = 0; i < EXPRESS_BATCH && s->express_head && uv_hrtime() - start < EXPRESS_TURN_NS;
         i++) {
        sfn_transition *t = s->express_head;
        s->express_head = t->next_express;
        if (!s->express_head)
            s->express_tail = NULL;
        commit_done(&t->group);
    }
    if (!s->express_head)
        uv_idle_stop(idle);
}

void sfn_express_discard(sfn *s)
{
    while (s->express_head) {
        sfn_transition *t = s->express_head;
        s->express_head = t->next_express;
        t->ex->committing = false;
        if (t->call)
            aws_reply_error(t->call, AWS_ERR_SERVICE_UNAVAILABLE, "The server is stopping.");
        transition_free(t);
    }
    s->express_tail = NULL;
}

static void express_commit(sfn_transition *t)
{
    sfn *s = t->s;
    t->ex->committing = true;
    t->group.status = 0;
    t->group.done = commit_done;
    t->group.ctx = t;
    if (s->express_tail)
        s->express_tail->next_express = t;
    else
        s->express_head = t;
    s->express_tail = t;
    if (!s->express_kick) {
        s->express_kick = xcalloc(1, sizeof *s->express_kick);
        uv_idle_init(s->loop, s->express_kick);
        s->express_kick->data = s;
    }
    if (!uv_is_active((uv_handle_t *)s->express_kick))
        uv_idle_start(s->express_kick, express_drain);
}

/* Commits the step's events and the execution's document as one group (with the other
 * documents the step changed: a parent's, branches'). An ended branch's document goes.
 * EXPRESS steps are not committed (express_commit). */
void sfn_transition_commit(sfn_transition *t)
{
    if (t->ex->test) { /* a TestState's step: nothing is kept */
        sfn_test_step_done(t);
        return;
    }
    if (sfn_exec_ephemeral(t->ex)) {
        express_commit(t);
        return;
    }
    /* the step's events: one archive record (one event, or an array of them) */
    const char *arn = sfn_history_arn(t->ex);
    if (t->nevents)
        json_object_set_new(t->ex->doc, "eventCount",
                            json_integer(sfn_history_count(t->ex->doc) + (json_int_t)t->nevents));
    size_t n = t->nevents ? 1 : 0;
    t->records = xcalloc(1, sizeof *t->records);
    if (n) {
        buf rec = BUF_INIT;
        buf_reserve(&rec, t->data.len + t->events.len + 24);
        buf_puts(&rec, "{\"data\":[");
        buf_append(&rec, t->data.data, t->data.len);
        buf_puts(&rec, "],\"events\":[");
        buf_append(&rec, t->events.data, t->events.len);
        buf_puts(&rec, "]}");
        size_t len;
        char *text = buf_steal(&rec, &len);
        t->records[0] =
            (store_archived){.archive = (char *)arn, .time_ms = t->now, .event = text, .len = len};
    }
    t->archive_op.kind = STORE_ARCHIVE_APPEND;
    t->archive_op.u.archive_append.items = t->records;
    t->archive_op.u.archive_append.n = n;
    /* the rows: this execution's, then the other documents the step changed */
    sfn *s = t->s;
    size_t more = json_array_size(t->more_docs);
    size_t nruns = json_array_size(t->map_runs);
    t->rows = xcalloc(1 + more + nruns, sizeof *t->rows);
    t->definition_ids = json_array();
    bool gone = sfn_is_child(t->ex) && !sfn_exec_running(t->ex);
    t->rows[t->nrows++] =
        sfn_row_new(sfn_doc_str(t->ex->doc, "executionArn"), gone ? NULL : t->ex->doc, t->ex->doc);
    sfn_commit_definitions(t, gone ? NULL : t->ex->doc);
    for (size_t i = 0; i < more; i++) {
        json_t *d = json_array_get(t->more_docs, i);
        json_t *doc = json_object_get(d, "doc");
        sfn_exec *other = sfn_exec_find(s, sfn_doc_str(d, "key"));
        t->rows[t->nrows++] = sfn_row_new(sfn_doc_str(d, "key"), doc, other ? other->doc : NULL);
        sfn_commit_definitions(t, doc);
    }
    for (size_t i = 0; i < nruns; i++)
        t->rows[t->nrows++] = sfn_map_run_row(json_array_get(t->map_runs, i));
    size_t ndefs = json_array_size(t->definition_ids);
    t->children = xcalloc(2 + t->nrows, sizeof *t->children);
    size_t k = 0;
    t->children[k++] = &t->archive_op;
    if (ndefs) {
        t->def_op.kind = STORE_DOC_PUT;
        t->def_op.u.docs.docs = t->def_docs;
        t->def_op.u.docs.n = ndefs;
        t->children[k++] = &t->def_op;
    }
    for (size_t i = 0; i < t->nrows; i++)
        t->children[k++] = &t->rows[i]->op;
    t->group.kind = STORE_GROUP;
    t->group.u.group.ops = t->children;
    t->group.u.group.n = k;
    t->group.done = commit_done;
    t->group.ctx = t;
    t->group.now_ms = t->now;
    t->ex->committing = true;
    store_submit(t->s->store, &t->group);
}

/* ---- the timer ---------------------------------------------------------------------- */

static void exec_step(sfn *s, sfn_exec *ex);
static void timer_fired(uv_timer_t *timer);
static void execution_timed_out(sfn *s, sfn_exec *ex);

/* The next time e needs the timer: its wake, or its execution's timeout; 0 for none. */
static int64_t due_ms(const sfn_exec *e)
{
    int64_t due = e->wake_ms;
    if (e->timeout_ms && (!due || e->timeout_ms < due))
        due = e->timeout_ms;
    return e->committing ? 0 : due;
}

static void timer_set(sfn *s, int64_t at)
{
    int64_t loader = sfn_loader_due(s);
    if (loader && (!at || loader < at))
        at = loader;
    s->timer_at = at;
    if (!at) {
        uv_timer_stop(&s->wait_timer);
        return;
    }
    int64_t delay = at - clock_now_ms();
    uv_timer_start(&s->wait_timer, timer_fired, delay > 0 ? (uint64_t)delay : 0, 0);
}

/* The timer on the earliest due time of all executions: one pass over them (when the timer
 * fires, and at startup). */
void sfn_timer_rearm(sfn *s)
{
    if (s->stopping)
        return;
    int64_t next = 0;
    for (sfn_exec *e = s->execs; e; e = e->next)
        if (due_ms(e) && (!next || due_ms(e) < next))
            next = due_ms(e);
    timer_set(s, next);
}

/* ex's due time changed: the timer comes earlier if it must (a later or cleared time lets
 * the timer fire early, and that pass re-arms it): no pass over every execution here. */
void sfn_timer_arm(sfn *s, const sfn_exec *ex)
{
    int64_t due = due_ms(ex);
    if (!s->stopping && due && (!s->timer_at || due < s->timer_at))
        timer_set(s, due);
}

void sfn_timer_wake_by(sfn *s, int64_t at)
{
    if (!s->stopping && at && (!s->timer_at || at < s->timer_at))
        timer_set(s, at);
}

/* A Map reading its items from S3 or writing its results there (sfn_map_io.c). */
static bool map_io_phase(const char *phase)
{
    return phase && (strcmp(phase, "reading") == 0 || strcmp(phase, "writing") == 0);
}

/* Starts the call a committed cursor waits for: a Task's invocation, a Map's S3 reads or
 * writes. */
static void start_call(sfn *s, sfn_exec *e)
{
    if (map_io_phase(sfn_doc_str(json_object_get(e->doc, "cursor"), "phase")))
        sfn_map_io_start(s, e);
    else
        sfn_task_start(s, e);
}

/* Wakes the executions due, evicts the idle ones, and lets the loader bring in those that
 * come due. */
static void timer_fired(uv_timer_t *timer)
{
    sfn *s = timer->data;
    int64_t now = clock_now_ms();
    sfn_loader_tick(s, now);
    for (sfn_exec *e = s->execs, *next; e && !s->stopping; e = next) {
        next = e->next;
        if (e->committing)
            continue;
        if (e->timeout_ms && e->timeout_ms <= now && sfn_exec_running(e)) {
            execution_timed_out(s, e);
        } else if (e->wake_ms && e->wake_ms <= now && sfn_exec_running(e)) {
            e->wake_ms = 0;
            if (e->resume_task) {
                e->resume_task = false;
                start_call(s, e);
            } else {
                exec_step(s, e);
            }
        } else {
            sfn_exec_maybe_free(s, e); /* idle for a while: out of memory */
        }
    }
    sfn_timer_rearm(s);
}

/* ---- calls waiting for a commit -------------------------------------------------------- */

typedef struct sfn_parked {
    aws_call *call;
    aws_op_fn fn;
    struct sfn_parked *next;
} sfn_parked;

void sfn_exec_park(sfn_exec *ex, aws_call *call, aws_op_fn fn)
{
    sfn_parked *p = xcalloc(1, sizeof *p), **tail = &ex->parked;
    p->call = call;
    p->fn = fn;
    while (*tail)
        tail = &(*tail)->next;
    *tail = p;
}

/* The commit is done: the parked calls run again, in order (one may start another step:
 * the rest park again behind it). */
static void unpark(sfn_exec *ex)
{
    sfn_parked *p = ex->parked;
    ex->parked = NULL;
    while (p) {
        sfn_parked *next = p->next;
        p->fn(p->call);
        xfree(p);
        p = next;
    }
}

void sfn_exec_unpark_all(sfn_exec *ex)
{
    while (ex->parked) {
        sfn_parked *p = ex->parked;
        ex->parked = p->next;
        aws_reply_error(p->call, AWS_ERR_SERVICE_UNAVAILABLE,
                        "The server is stopping: send it again.");
        xfree(p);
    }
}

void sfn_exec_unlink(sfn *s, sfn_exec *ex)
{
    /* out of the index first: the parked calls that run now look it up, and must find it gone
     * (they read the store), not this memory about to be freed (and freed twice) */
    json_object_del(s->exec_index, sfn_doc_str(ex->doc, "executionArn"));
    unpark(ex);
    s->nhot--;
    if (ex->prev)
        ex->prev->next = ex->next;
    else
        s->execs = ex->next;
    if (ex->next)
        ex->next->prev = ex->prev;
    json_decref(ex->doc);
    json_decref(ex->def);
    json_decref(ex->input);
    xfree(ex);
}

/* A branch's end committed: its parent may take its next step; the branch is forgotten
 * (once no call of it is in flight). */
static void child_ended(sfn *s, sfn_exec *ex)
{
    json_t *parent_of = json_object_get(ex->doc, "parent");
    sfn_exec *parent = sfn_exec_find(s, sfn_doc_str(parent_of, "arn"));
    sfn_exec_maybe_free(s, ex);
    if (parent && !parent->committing && sfn_exec_running(parent) && sfn_branches_ready(parent))
        exec_step(s, parent);
}

/* An execution ended: a StartSyncExecution is answered, the .sync tasks that wait for it
 * take their step. */
static void execution_ended(sfn *s, sfn_exec *ex)
{
    if (ex->sync_call)
        sync_reply(ex);
    const char *arn = sfn_doc_str(ex->doc, "executionArn");
    for (sfn_exec *e = s->execs; e; e = e->next) {
        json_t *cursor = json_object_get(e->doc, "cursor");
        const char *phase = sfn_doc_str(cursor, "phase");
        if (phase && strcmp(phase, "sync") == 0 && !e->committing && sfn_exec_running(e) &&
            strcmp(sfn_doc_str(cursor, "syncArn") ? sfn_doc_str(cursor, "syncArn") : "", arn) == 0)
            exec_step(s, e);
    }
}

/* The branches t aborted (their documents deleted in its commit) leave memory, those that
 * are idle: nothing else would wake them. */
static void aborted_branches_free(sfn_transition *t)
{
    size_t i;
    json_t *d;
    json_array_foreach(t->more_docs, i, d)
    {
        sfn_exec *c = json_object_get(d, "doc") ? NULL : sfn_exec_find(t->s, sfn_doc_str(d, "key"));
        if (c && c != t->ex && !sfn_exec_running(c))
            sfn_exec_maybe_free(t->s, c);
    }
}

/* What follows a committed step. false if the execution was a branch that ended (it may
 * be freed: its parked calls ran then). */
/* The status change events of a STANDARD execution that started or ended in a commit
 * (both when its first states ended it). */
static void status_events(sfn *s, const sfn_exec *ex, bool started)
{
    bool ended = !sfn_exec_running(ex) && !sfn_is_child(ex);
    if (started && ended) { /* RUNNING first, as it was before its states ran */
        json_t *running = json_copy(ex->doc);
        json_object_set_new(running, "status", json_string("RUNNING"));
        static const char *const later[] = {"stopDate", "output", "error", "cause"};
        for (size_t i = 0; i < sizeof later / sizeof later[0]; i++)
            json_object_del(running, later[i]);
        sfn_status_event(s, running);
        json_decref(running);
    }
    if (started || ended)
        sfn_status_event(s, ex->doc);
}

static bool commit_continue(store_op *op)
{
    sfn_transition *t = op->ctx;
    sfn_exec *ex = t->ex;
    int status = op->status; /* op is part of t */
    ex->committing = false;
    if (status != 0)
        log_error("stepfunctions: a transition could not be committed", "execution='%s'",
                  sfn_doc_str(ex->doc, "executionArn"));
    if (t->call) {
        if (status != 0)
            aws_reply_error(t->call, AWS_ERR_INTERNAL_ERROR,
                            "The store could not commit the change.");
        else
            aws_reply(t->call, t->reply ? json_incref(t->reply) : json_object());
    }
    sfn *s = t->s;
    bool started = status == 0 && !sfn_is_child(ex) && t->started;
    sfn_exec **spawned = t->spawned;
    size_t nspawned = t->nspawned;
    t->spawned = NULL;
    if (status == 0) {
        sfn_definitions_saved(s, t->definition_ids);
        aborted_branches_free(t);
    }
    transition_free(t);
    /* (an execution that was aborted meanwhile aborted these too: they may be freed) */
    for (size_t i = 0; status == 0 && !s->stopping && sfn_exec_running(ex) && i < nspawned; i++)
        exec_step(s, spawned[i]);
    xfree(spawned);
    if (status != 0 || s->stopping)
        return true;
    if (!sfn_exec_ephemeral(ex)) /* as AWS: for STANDARD executions */
        status_events(s, ex, started);
    if (ex->timeout_ms) /* its timeout was left out while it committed */
        sfn_timer_arm(s, ex);
    if (!sfn_exec_running(ex)) {
        if (sfn_is_child(ex)) {
            child_ended(s, ex);
            return false;
        }
        execution_ended(s, ex);
        if (sfn_exec_ephemeral(ex) && !ex->inflight) { /* an EXPRESS execution is not kept */
            sfn_exec_unlink(s, ex);
            return false;
        }
        return true;
    }
    json_t *cursor = json_object_get(ex->doc, "cursor");
    const char *phase = sfn_doc_str(cursor, "phase");
    if (strcmp(phase, "branches") == 0) {
        if (sfn_branches_ready(ex))
            exec_step(s, ex);
    } else if (strcmp(phase, "token") == 0 || strcmp(phase, "sync") == 0) {
        if (sfn_task_ready(s, ex)) {
            exec_step(s, ex);
        } else {
            ex->wake_ms = sfn_task_deadline(cursor);
            sfn_timer_arm(s, ex);
        }
    } else if (strcmp(phase, "wait") == 0 || strcmp(phase, "retry") == 0) {
        ex->wake_ms = sfn_doc_int(cursor, "wakeMs");
        sfn_timer_arm(s, ex);
    } else if (strcmp(phase, "task") == 0 || map_io_phase(phase)) {
        if (!ex->invoking)
            start_call(s, ex);
    } else {
        /* the calls that waited for this step (StopExecution) come before the next one: an
         * execution that steps on and on would otherwise never let them in */
        unpark(ex);
        exec_step(s, ex);
    }
    return true;
}

static void commit_done(store_op *op)
{
    sfn_transition *t = op->ctx;
    sfn_exec *ex = t->ex;
    sfn *s = t->s;
    if (!commit_continue(op) || ex->committing)
        return;
    unpark(ex); /* (a step it started: they wait for that one too) */
    if (!ex->committing && !sfn_is_child(ex))
        sfn_exec_maybe_free(s, ex); /* it ended, or waits long: it lives in the store */
}

/* ---- running one state -------------------------------------------------------------- */

static void iso_time(int64_t ms, char out[32])
{
    clock_iso8601_ms(ms, out);
}

/* The execution's input as a value ($$.Execution.Input): parsed once and kept, as values
 * are not changed once made (ResultPath and the rest build new ones); a TestState's is
 * parsed each time, as its context may be laid over. A new reference, or NULL. */
static json_t *execution_input(sfn_exec *ex)
{
    if (ex->input && !ex->test)
        return json_incref(ex->input);
    json_t *input = json_loads(sfn_doc_str(ex->doc, "input"), JSON_DECODE_ANY, NULL);
    if (input && !ex->test)
        ex->input = json_incref(input);
    return input;
}

/* The context object ($$) of the state `name` entered now. */
json_t *sfn_context_object(sfn_exec *ex, const char *name, int64_t now)
{
    char started[32], entered[32];
    iso_time(sfn_doc_int(ex->doc, "startDate"), started);
    iso_time(now, entered);
    json_t *input = execution_input(ex);
    json_t *item = json_object_get(ex->doc, "mapItem");
    json_t *ctx =
        json_pack("{s:{s:s,s:o,s:s,s:s?,s:s},s:{s:s,s:s,s:i},s:{s:s,s:s}}", "Execution", "Id",
                  sfn_history_arn(ex), "Input", input ? input : json_object(), "Name",
                  sfn_doc_str(ex->doc, "name"), "RoleArn", sfn_doc_str(ex->doc, "roleArn"),
                  "StartTime", started, "State", "EnteredTime", entered, "Name", name, "RetryCount",
                  0, "StateMachine", "Id", sfn_doc_str(ex->doc, "stateMachineArn"), "Name",
                  sfn_doc_str(ex->doc, "stateMachineName"));
    if (item) /* an iteration of a Map: $$.Map.Item.Index and .Value */
        json_object_set_new(ctx, "Map", json_pack("{s:O}", "Item", item));
    return ctx;
}

/* A path field of a state: its text, "$" when absent, NULL for JSON null. */
const char *sfn_path_field(const json_t *state, const char *field)
{
    json_t *v = json_object_get(state, field);
    return v ? json_string_value(v) : "$";
}

/* Whether a string in v (a state's definition) mentions "$$": every JSONPath path, template
 * or intrinsic argument that reads the context object does. */
static bool mentions_context(const json_t *v)
{
    if (json_is_string(v))
        return strstr(json_string_value(v), "$$") != NULL;
    const json_t *item;
    if (json_is_object(v)) {
        const char *key;
        json_object_foreach((json_t *)v, key, item) if (mentions_context(item)) return true;
    } else if (json_is_array(v)) {
        size_t i;
        json_array_foreach(v, i, item) if (mentions_context(item)) return true;
    }
    return false;
}

/* Whether a step of this state needs its context object: JSONPath Pass, Choice, Succeed,
 * Fail and Wait states read it only through a "$$" path; JSONata states ($states.context),
 * Task, Map and Parallel states (task tokens, items) and TestState runs always get it. */
static bool needs_context(const sfn_exec *ex, const json_t *state, bool jsonata)
{
    if (jsonata || ex->test)
        return true;
    const char *type = sfn_doc_str(state, "Type") ?: "";
    if (strcmp(type, "Pass") != 0 && strcmp(type, "Choice") != 0 && strcmp(type, "Succeed") != 0 &&
        strcmp(type, "Fail") != 0 && strcmp(type, "Wait") != 0)
        return true;
    return mentions_context(state);
}

void sfn_step_io_init(sfn_step_io *io, sfn_exec *ex, const json_t *state, json_t *input,
                      const char *name, int64_t now)
{
    memset(io, 0, sizeof *io);
    io->state = state;
    io->input = input;
    io->jsonata = sfn_state_is_jsonata(ex->def, state);
    /* building it (the execution's input parsed again) costs more than a Pass state */
    io->context = needs_context(ex, state, io->jsonata) ? sfn_context_object(ex, name, now) : NULL;
    io->vars = json_object_get(ex->doc, "variables");
    io->doc = ex->doc;
    sfn_path_set_variables(io->vars); /* what JSONPath's $name reads during this step */
    if (ex->test)
        sfn_test_step_begin(ex, io);
}

/* InputPath, then Parameters (JSONata: Arguments). New reference, or NULL with io->err. */
json_t *sfn_effective_input(sfn_step_io *io, bool parameters)
{
    if (io->jsonata) {
        json_t *args = parameters ? json_object_get(io->state, "Arguments") : NULL;
        if (!args)
            return json_incref(io->input);
        json_t *states = sfn_states_var(io, NULL, NULL);
        json_t *out = sfn_jsonata_render(io, args, "Arguments", states);
        json_decref(states);
        if (out)
            sfn_inspect(io, "afterArguments", out);
        return out;
    }
    json_t *eff = NULL, *out = NULL;
    if (sfn_path_apply(sfn_path_field(io->state, "InputPath"), io->input, io->context, &eff,
                       &io->err) != 0)
        return NULL;
    sfn_inspect(io, "afterInputPath", eff);
    json_t *tmpl = json_object_get(io->state, "Parameters");
    if (!parameters || !tmpl) {
        if (parameters)
            sfn_inspect(io, "afterParameters", eff);
        return eff;
    }
    int rc = sfn_template_apply(tmpl, eff, io->context, &out, &io->err);
    json_decref(eff);
    if (rc == 0)
        sfn_inspect(io, "afterParameters", out);
    return rc == 0 ? out : NULL;
}

/* JSONata: Output (default: result), and Assign, both with $states.result = result. */
static json_t *jsonata_output(sfn_step_io *io, json_t *result, bool has_result)
{
    json_t *states = sfn_states_var(io, has_result ? result : NULL, NULL);
    json_t *tmpl = json_object_get(io->state, "Output");
    json_t *out = tmpl ? sfn_jsonata_render(io, tmpl, "Output", states) : json_incref(result);
    if (out && sfn_assign(io, json_object_get(io->state, "Assign"), states, NULL) != 0) {
        json_decref(out);
        out = NULL;
    }
    json_decref(states);
    json_decref(result);
    return out;
}

/* ResultPath (on the raw input), then OutputPath; and Assign (on the result). Takes result.
 * JSONata: Output and Assign. */
json_t *sfn_state_output(sfn_step_io *io, json_t *result, bool result_path)
{
    if (io->jsonata)
        return jsonata_output(io, result, result_path);
    if (sfn_assign(io, json_object_get(io->state, "Assign"), NULL, result) != 0) {
        json_decref(result);
        return NULL;
    }
    json_t *merged = result, *out = NULL;
    if (result_path) {
        merged = NULL;
        int rc = sfn_result_path_apply(sfn_path_field(io->state, "ResultPath"), io->input, result,
                                       &merged, &io->err);
        json_decref(result);
        if (rc != 0)
            return NULL;
        sfn_inspect(io, "afterResultPath", merged);
    }
    int rc = sfn_path_apply(sfn_path_field(io->state, "OutputPath"), merged, io->context, &out,
                            &io->err);
    json_decref(merged);
    return rc == 0 ? out : NULL;
}

/* A bound on the size of v's compact JSON text, found without writing it: a character of a
 * string takes at most 6 bytes ("\u001f"), a number at most 32. Adds to *bytes; stops once
 * it passes SFN_MAX_PAYLOAD. */
static void json_size_bound(const json_t *v, size_t *bytes)
{
    const char *key;
    json_t *item;
    size_t i;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        *bytes += 2 + json_object_size(v);
        json_object_foreach((json_t *)v, key, item)
        {
            *bytes += 6 * strlen(key) + 3;
            json_size_bound(item, bytes);
            if (*bytes > SFN_MAX_PAYLOAD)
                return;
        }
        break;
    case JSON_ARRAY:
        *bytes += 2 + json_array_size(v);
        json_array_foreach(v, i, item)
        {
            json_size_bound(item, bytes);
            if (*bytes > SFN_MAX_PAYLOAD)
                return;
        }
        break;
    case JSON_STRING:
        *bytes += 6 * json_string_length(v) + 2;
        break;
    default: /* numbers, true, false, null */
        *bytes += 32;
        break;
    }
}

bool sfn_output_over_limit(sfn_transition *t, const char *name, const json_t *output)
{
    size_t bound = 0;
    json_size_bound(output, &bound);
    bool over = false;
    if (bound > SFN_MAX_PAYLOAD) { /* it may be over: the exact size of its text */
        char *text = json_dumps(output, JSON_COMPACT | JSON_ENCODE_ANY);
        over = text && strlen(text) > SFN_MAX_PAYLOAD;
        free(text);
    }
    if (over) {
        char cause[400];
        snprintf(cause, sizeof cause,
                 "The state/task '%s' returned a result with a size exceeding the maximum number "
                 "of bytes service limit.",
                 name);
        sfn_execution_fail(t, "States.DataLimitExceeded", cause);
    }
    return over;
}

/* Moves on from a state that produced `output` (borrowed): to Next, or the end. */
void sfn_go_next(sfn_transition *t, const char *next, json_t *output)
{
    if (!next) {
        execution_succeed(t, output);
        return;
    }
    json_object_set_new(
        t->ex->doc, "cursor",
        json_pack("{s:s,s:O,s:s}", "state", next, "stateInput", output, "phase", "enter"));
}

/* sfn_go_next from a state entered with the execution's cursor `cursor`: that "enter"
 * cursor (as sfn_go_next makes it: state, stateInput, phase, in this order) is reused for
 * the next state rather than built anew, which cost more than running a Pass state; its
 * values are replaced in place (through iterators: no key is hashed again). The name of
 * the next state is the definition's string `named` (the state's Next) when next is its
 * text. The strings the caller borrowed from the cursor (the state's name, its input) may
 * be gone after it. */
static void go_next_from_entered(sfn_transition *t, json_t *cursor, const json_t *named,
                                 const char *next, json_t *output)
{
    void *at_state = json_object_iter(cursor);
    void *at_input = at_state ? json_object_iter_next(cursor, at_state) : NULL;
    void *at_phase = at_input ? json_object_iter_next(cursor, at_input) : NULL;
    if (!next || !at_phase || json_object_size(cursor) != 3 ||
        strcmp(json_object_iter_key(at_state), "state") != 0 ||
        strcmp(json_object_iter_key(at_input), "stateInput") != 0 ||
        strcmp(json_object_iter_key(at_phase), "phase") != 0 ||
        strcmp(json_string_value(json_object_iter_value(at_phase)) ?: "", "enter") != 0 ||
        json_object_get(t->ex->doc, "cursor") != cursor) {
        sfn_go_next(t, next, output);
        return;
    }
    json_object_iter_set_new(cursor, at_state,
                             json_string_value(named) == next ? json_incref((json_t *)named)
                                                              : json_string(next));
    json_object_iter_set(cursor, at_input, output);
}

static json_t *run_pass(sfn_step_io *io)
{
    json_t *eff = sfn_effective_input(io, true);
    if (!eff)
        return NULL;
    json_t *result = json_object_get(io->state, "Result");
    if (result) {
        json_decref(eff);
        eff = jsonc_copy(result);
    }
    return sfn_state_output(io, eff, true);
}

/* The end of a Wait state (ms since the epoch), or -1 with io->err set. */
static int64_t wait_until(sfn_step_io *io, json_t *eff, int64_t now)
{
    json_t *v;
    if (io->jsonata) { /* Seconds or Timestamp: a value or an expression */
        json_t *sec = json_object_get(io->state, "Seconds");
        json_t *states = sfn_states_var(io, NULL, NULL);
        v = sfn_jsonata_render(io, sec ? sec : json_object_get(io->state, "Timestamp"),
                               sec ? "Seconds" : "Timestamp", states);
        json_decref(states);
        int64_t at = -1;
        sfn_time when;
        if (!v)
            return -1;
        if (sec && json_is_number(v) && json_number_value(v) >= 0)
            at = now + (int64_t)(json_number_value(v) * 1000);
        else if (!sec && json_is_string(v) && sfn_timestamp_parse(json_string_value(v), &when) == 0)
            at = when.secs * 1000 + when.nanos / 1000000;
        else
            sfn_error_set(&io->err, "States.QueryEvaluationError",
                          sec ? "The Seconds field must be a non-negative number"
                              : "The Timestamp field must be an ISO-8601 extended offset "
                                "date-time string");
        json_decref(v);
        return at;
    }
    if ((v = json_object_get(io->state, "Seconds")))
        return now + json_integer_value(v) * 1000;
    const char *ts = sfn_doc_str(io->state, "Timestamp");
    const char *sp = sfn_doc_str(io->state, "SecondsPath"),
               *tp = sfn_doc_str(io->state, "TimestampPath");
    json_t *picked = NULL;
    if (sp || tp) {
        if (sfn_path_apply(sp ? sp : tp, eff, io->context, &picked, &io->err) != 0)
            return -1;
    }
    int64_t at = -1;
    if (sp) {
        if (json_is_integer(picked) && json_integer_value(picked) >= 0)
            at = now + json_integer_value(picked) * 1000;
        else
            sfn_error_set(&io->err, "States.Runtime",
                          "The SecondsPath parameter does not reference a valid integer value: %s",
                          sp);
    } else {
        const char *text = tp ? json_string_value(picked) : ts;
        sfn_time when;
        if (text && sfn_timestamp_parse(text, &when) == 0)
            at = when.secs * 1000 + when.nanos / 1000000;
        else
            sfn_error_set(&io->err, "States.Runtime",
                          "The TimestampPath parameter does not reference a valid ISO-8601 "
                          "extended offset date-time format string: %s",
                          tp ? tp : "Timestamp");
    }
    json_decref(picked);
    return at;
}

/* Fail: Error/Cause, or ErrorPath/CausePath on the raw input. 0, or -1 with io->err. */
static int fail_field(sfn_step_io *io, const char *field, const char *path_field_name, char **out)
{
    *out = NULL;
    const char *lit = sfn_doc_str(io->state, field),
               *path = sfn_doc_str(io->state, path_field_name);
    if (lit && io->jsonata) {
        json_t *states = sfn_states_var(io, NULL, NULL);
        json_t *v = sfn_jsonata_render(io, json_object_get(io->state, field), field, states);
        json_decref(states);
        if (!v)
            return -1;
        if (!json_is_string(v)) {
            json_decref(v);
            return sfn_error_set(&io->err, "States.QueryEvaluationError",
                                 "The %s field must evaluate to a string", field);
        }
        *out = xstrdup(json_string_value(v));
        json_decref(v);
        return 0;
    }
    if (lit) {
        *out = xstrdup(lit);
        return 0;
    }
    if (!path)
        return 0;
    json_t *v = NULL;
    int rc = sfn_intrinsic_is_call(path)
                 ? sfn_intrinsic_run(path, io->input, io->context, path_field_name, &v, &io->err)
                 : sfn_path_apply(path, io->input, io->context, &v, &io->err);
    if (rc != 0)
        return -1;
    if (!json_is_string(v)) {
        json_decref(v);
        return sfn_error_set(&io->err, "States.Runtime",
                             "The %s field must reference a string value: %s", path_field_name,
                             path);
    }
    *out = xstrdup(json_string_value(v));
    json_decref(v);
    return 0;
}

static void run_fail(sfn_transition *t, sfn_step_io *io)
{
    char *error = NULL, *cause = NULL;
    if (fail_field(io, "Error", "ErrorPath", &error) != 0 ||
        fail_field(io, "Cause", "CausePath", &cause) != 0)
        sfn_execution_fail(t, io->err.name, io->err.cause);
    else
        sfn_execution_fail(t, error, cause);
    xfree(error);
    xfree(cause);
}

/* Enters the Wait state: done now if its time has come, else the "wait" phase. */
static int run_wait_enter(sfn_transition *t, sfn_step_io *io, const char *name)
{
    json_t *eff = sfn_effective_input(io, false);
    if (!eff)
        return -1;
    int64_t until = wait_until(io, eff, t->now);
    json_t *output = until < 0 ? NULL : sfn_state_output(io, json_incref(eff), false);
    json_decref(eff);
    if (!output)
        return -1;
    if (until <= t->now) {
        sfn_state_exited(t, "Wait", name, output);
        sfn_go_next(t, sfn_doc_str(io->state, "Next"), output);
    } else {
        json_object_set_new(t->ex->doc, "cursor",
                            json_pack("{s:s,s:O,s:s,s:I,s:O}", "state", name, "stateInput",
                                      io->input, "phase", "wait", "wakeMs", (json_int_t)until,
                                      "waitOutput", output));
    }
    json_decref(output);
    return 0;
}

/* A JSONata Choice: the first rule whose Condition is true (its Output and Assign, else the
 * state's), else Default. The output, or NULL with io->err. */
static json_t *run_choice_jsonata(sfn_step_io *io, const char **next)
{
    json_t *states = sfn_states_var(io, NULL, NULL);
    const json_t *chosen = NULL;
    size_t i;
    json_t *rule;
    json_array_foreach(json_object_get(io->state, "Choices"), i, rule)
    {
        json_t *v = sfn_jsonata_render(io, json_object_get(rule, "Condition"), "Condition", states);
        if (!v || !json_is_boolean(v)) {
            if (v)
                sfn_error_set(&io->err, "States.QueryEvaluationError",
                              "The Condition field of Choices[%zu] must evaluate to a boolean", i);
            json_decref(v);
            json_decref(states);
            return NULL;
        }
        bool yes = json_is_true(v);
        json_decref(v);
        if (yes) {
            chosen = rule;
            break;
        }
    }
    if (!chosen && !sfn_doc_str(io->state, "Default")) {
        sfn_error_set(&io->err, "States.NoChoiceMatched",
                      "No Choice rule matched and no Default is specified");
        json_decref(states);
        return NULL;
    }
    *next = chosen ? sfn_doc_str(chosen, "Next") : sfn_doc_str(io->state, "Default");
    const json_t *tmpl = chosen && json_object_get(chosen, "Output")
                             ? json_object_get(chosen, "Output")
                             : json_object_get(io->state, "Output");
    json_t *out = tmpl ? sfn_jsonata_render(io, tmpl, "Output", states) : json_incref(io->input);
    if (out && (sfn_assign(io, json_object_get(io->state, "Assign"), states, NULL) != 0 ||
                (chosen && sfn_assign(io, json_object_get(chosen, "Assign"), states, NULL) != 0))) {
        json_decref(out);
        out = NULL;
    }
    json_decref(states);
    return out;
}

/* Whether entering `state` passes its input on unchanged, with nothing to evaluate: a Pass
 * or Succeed state with no field but Type, Next, End and Comment (its InputPath, ResultPath
 * and OutputPath are "$"; in JSONata its Output is the input), outside a TestState (which
 * records each stage). */
static bool passes_input_on(const sfn_exec *ex, const json_t *state, const char *type,
                            const char *phase)
{
    if (ex->test || strcmp(phase, "enter") != 0 ||
        (strcmp(type, "Pass") != 0 && strcmp(type, "Succeed") != 0))
        return false;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)state, key, v)
    {
        if (strcmp(key, "Type") != 0 && strcmp(key, "Next") != 0 && strcmp(key, "End") != 0 &&
            strcmp(key, "Comment") != 0)
            return false;
    }
    return true;
}

/* Where an execution's cursor stands: looked up once a step. */
typedef struct cursor_at {
    json_t *cursor;    /* the execution's (borrowed) */
    const char *name;  /* the state it names */
    json_t *state;     /* that state's definition (NULL: the definition lacks it) */
    const char *type;  /* its Type */
    const char *phase; /* "enter", "wait", "task"... */
} cursor_at;

static void cursor_read(const sfn_exec *ex, cursor_at *at)
{
    at->cursor = json_object_get(ex->doc, "cursor");
    at->name = sfn_doc_str(at->cursor, "state");
    at->state = json_object_get(json_object_get(ex->def, "States"), at->name);
    at->type = sfn_doc_str(at->state, "Type");
    at->phase = sfn_doc_str(at->cursor, "phase");
}

/* Runs the state the cursor names (phase "enter"), or ends its Wait (phase "wait"); `at`
 * is where the cursor stands (cursor_read, just before). */
static void run_state(sfn_transition *t, const cursor_at *at)
{
    sfn_exec *ex = t->ex;
    json_t *cursor = json_incref(at->cursor);
    const char *name = at->name;
    json_t *state = at->state;
    const char *type = at->type;
    if (!type) {
        sfn_execution_fail(t, "States.Runtime",
                           "The execution reached a state the definition lacks");
        json_decref(cursor);
        return;
    }
    const char *phase = at->phase;
    if (passes_input_on(ex, state, type, phase)) { /* what the steps below come to for it */
        json_t *input = json_object_get(cursor, "stateInput");
        json_t *output = input ? json_incref(input) : json_object();
        json_t *named = json_object_get(state, "Next");
        sfn_state_entered(t, type, name, input);
        if (!sfn_output_over_limit(t, name, output)) {
            sfn_state_exited(t, type, name, output);
            go_next_from_entered(t, cursor, named,
                                 strcmp(type, "Pass") == 0 ? json_string_value(named) : NULL,
                                 output);
        }
        json_decref(output);
        json_decref(cursor);
        return;
    }
    sfn_step_io io;
    sfn_step_io_init(&io, ex, state, json_object_get(cursor, "stateInput"), name, t->now);
    bool branches = strcmp(type, "Parallel") == 0 || strcmp(type, "Map") == 0;
    if (strcmp(phase, "branches") == 0) {
        sfn_branches_step(t, &io, name, type);
        goto done;
    }
    if (map_io_phase(phase)) /* its S3 calls are in flight (sfn_map_io.c): they take the step */
        goto done;
    if (branches && strcmp(phase, "retry") == 0) {
        sfn_branches_enter(t, &io, name, type, true);
        goto done;
    }
    if (strcmp(phase, "task") == 0 || strcmp(phase, "retry") == 0 || strcmp(phase, "token") == 0 ||
        strcmp(phase, "sync") == 0) {
        sfn_task_wake(t, &io, name);
        goto done;
    }
    if (strcmp(phase, "wait") == 0) {
        json_t *output = json_object_get(cursor, "waitOutput");
        sfn_state_exited(t, "Wait", name, output);
        sfn_go_next(t, sfn_doc_str(state, "Next"), output);
        goto done;
    }
    sfn_state_entered(t, type, name, io.input);
    json_t *output = NULL;
    const char *next = sfn_doc_str(state, "Next");
    if (strcmp(type, "Pass") == 0) {
        output = run_pass(&io);
    } else if (strcmp(type, "Choice") == 0 && io.jsonata) {
        output = run_choice_jsonata(&io, &next);
    } else if (strcmp(type, "Choice") == 0) {
        json_t *eff = sfn_effective_input(&io, false);
        if (eff && sfn_choice_state_select(state, eff, io.context, &next, &io.err) == 0)
            output = sfn_state_output(&io, json_incref(eff), false);
        json_decref(eff);
    } else if (strcmp(type, "Succeed") == 0) {
        json_t *eff = sfn_effective_input(&io, false);
        output = eff ? sfn_state_output(&io, eff, false) : NULL;
        next = NULL;
    } else if (strcmp(type, "Wait") == 0) {
        if (run_wait_enter(t, &io, name) != 0)
            sfn_execution_fail(t, io.err.name, io.err.cause);
        goto done;
    } else if (strcmp(type, "Fail") == 0) {
        run_fail(t, &io);
        goto done;
    } else if (strcmp(type, "Task") == 0) {
        sfn_task_enter(t, &io, name);
        goto done;
    } else if (branches) {
        sfn_branches_enter(t, &io, name, type, false);
        goto done;
    } else {
        sfn_error_set(&io.err, "States.Runtime", "Sluice does not run %s states yet", type);
    }
    if (!output) {
        sfn_execution_fail(t, io.err.name, io.err.cause);
        goto done;
    }
    if (!sfn_output_over_limit(t, name, output)) {
        sfn_state_exited(t, type, name, output);
        go_next_from_entered(t, cursor, json_object_get(state, "Next"), next, output);
    }
    json_decref(output);
done:
    json_decref(io.context);
    json_decref(cursor);
}

void sfn_exec_step(sfn *s, sfn_exec *ex)
{
    exec_step(s, ex);
}

/* Whether the cursor (at) is about to enter a state that has no effect outside the
 * execution (Pass, Choice, Succeed, Fail). */
static bool entering_inner_state(const cursor_at *at)
{
    if (strcmp(at->phase ?: "", "enter") != 0)
        return false;
    const char *type = at->type ?: "";
    return strcmp(type, "Pass") == 0 || strcmp(type, "Choice") == 0 ||
           strcmp(type, "Succeed") == 0 || strcmp(type, "Fail") == 0;
}

/* One step: the state the cursor names, then the states after it that have no effect
 * outside the execution, all committed together (at most INNER_RUN_MAX states, or until
 * the step's record reaches INNER_RUN_BYTES). Nothing outside the execution sees a
 * state's outcome before its commit (history, replies, tasks, status events all follow
 * it), so after a crash such a run is simply run again: every transition is still durable
 * before anything depends on it. */
#define INNER_RUN_MAX   256
#define INNER_RUN_BYTES (256 * 1024)

/* Whether the execution's history has MAX_HISTORY - 1 events (with t's): the next state
 * may not run. */
static bool history_full(const sfn_transition *t)
{
    return !t->no_history && !t->ex->test &&
           sfn_history_count(t->ex->doc) + (int64_t)t->nevents >= MAX_HISTORY - 1;
}

/* Runs the states that have no effect outside the execution into t, the (n+1)th on. */
static void run_inner_states(sfn_transition *t, int n)
{
    sfn_exec *ex = t->ex;
    for (;
         n < INNER_RUN_MAX && !ex->test && sfn_exec_running(ex) && !json_array_size(t->more_docs) &&
         t->events.len + t->data.len < INNER_RUN_BYTES && !history_full(t);
         n++) {
        cursor_at at;
        cursor_read(ex, &at);
        if (!entering_inner_state(&at))
            break;
        run_state(t, &at);
    }
}

static void exec_step(sfn *s, sfn_exec *ex)
{
    if (s->stopping || ex->committing || !sfn_exec_running(ex))
        return;
    sfn_transition *t = sfn_transition_new(s, ex);
    if (history_full(t)) {
        sfn_execution_fail(t, "States.Runtime",
                           "The execution reached the maximum number of history events (25000).");
    } else {
        cursor_at at;
        cursor_read(ex, &at);
        run_state(t, &at);
        run_inner_states(t, 1);
    }
    sfn_transition_commit(t);
}

void sfn_exec_run_step(sfn *s, sfn_exec *ex)
{
    exec_step(s, ex);
}

/* ---- operations --------------------------------------------------------------------- */

/* The parsed definition of an execution's document ("definitionId"), shared by every
 * execution of the same definition: a million executions of one machine hold one. */
sfn_exec *sfn_exec_link(sfn *s, json_t *doc)
{
    sfn_exec *ex = xcalloc(1, sizeof *ex);
    ex->doc = doc;
    ex->def = sfn_definition_parsed(s, sfn_doc_str(doc, "definitionId"));
    json_object_set_new(s->exec_index, sfn_doc_str(doc, "executionArn"),
                        json_integer((json_int_t)(intptr_t)ex));
    if (sfn_exec_running(ex))
        ex->timeout_ms = sfn_doc_int(doc, "timeoutMs");
    ex->next = s->execs;
    if (s->execs)
        s->execs->prev = ex;
    s->execs = ex;
    if (++s->nhot > s->nhot_peak)
        s->nhot_peak = s->nhot;
    return ex;
}

/* The parsed definition of machine m (a new reference) and its id. Its id is a hash of
 * its text: the machine started last has its text (the same JSON string while the machine
 * is not updated) remembered with its id, so that a run of starts does not hash it each
 * time. */
static json_t *machine_definition(sfn *s, const json_t *m, char id[65])
{
    json_t *text = json_object_get(m, "definition");
    json_t *def =
        text && text == s->started_def ? sfn_definition_parsed(s, s->started_def_id) : NULL;
    if (def) {
        memcpy(id, s->started_def_id, sizeof s->started_def_id);
        return def;
    }
    def = sfn_definition_use(s, json_string_value(text), id);
    json_decref(s->started_def);
    s->started_def = json_incref(text);
    memcpy(s->started_def_id, id, sizeof s->started_def_id);
    return def;
}

/* StartExecution, and StartSyncExecution (sync: the call is answered when the execution
 * ends, see sync_reply). */
static void start_with(aws_call *call, const json_t *m, bool sync)
{
    sfn *s = sfn_of(call);
    bool express = strcmp(sfn_doc_str(m, "type") ? sfn_doc_str(m, "type") : "", "EXPRESS") == 0;
    if (sync && !express) {
        aws_reply_error(call, AWS_ERR_SFN_STATE_MACHINE_TYPE_NOT_SUPPORTED,
                        "This operation is not supported by this type of state machine");
        return;
    }
    const char *name = sfn_str(call, "name"), *input = sfn_str(call, "input");
    char uuid[37];
    bool named = name != NULL;
    if (!name) {
        ids_uuid4(uuid);
        name = uuid;
    }
    if (!sfn_valid_name(name)) {
        aws_reply_error(call, AWS_ERR_SFN_INVALID_NAME, "Invalid Name: '%s'", name);
        return;
    }
    if (!input)
        input = "{}";
    if (strlen(input) > SFN_MAX_PAYLOAD) {
        aws_reply_error(call, AWS_ERR_SFN_INVALID_EXECUTION_INPUT,
                        "Invalid State Machine Execution Input: 'The input exceeds the maximum "
                        "size of %d bytes'",
                        SFN_MAX_PAYLOAD);
        return;
    }
    json_error_t jerr;
    json_t *parsed = json_loads(input, JSON_DECODE_ANY, &jerr);
    if (!parsed) {
        aws_reply_error(call, AWS_ERR_SFN_INVALID_EXECUTION_INPUT,
                        "Invalid State Machine Execution Input: '%s'", jerr.text);
        return;
    }
    char arn[600];
    snprintf(arn, sizeof arn, "arn:aws:states:%s:%s:execution:%s:%s", s->region, s->account,
             sfn_doc_str(m, "name"), name);
    /* a name given may be an execution's in the store (a generated one is new; EXPRESS
     * executions are only in memory) */
    bool pending = false;
    sfn_exec *old =
        named && !express
            ? sfn_exec_get(call, arn, sync ? sfn_start_sync_execution : sfn_start_execution,
                           &pending)
            : sfn_exec_find(s, arn);
    if (pending) {
        json_decref(parsed);
        return;
    }
    if (old) {
        json_decref(parsed);
        /* AWS: the same name and input on a running execution is the same call */
        if (sfn_exec_running(old) && strcmp(sfn_doc_str(old->doc, "input"), input) == 0)
            aws_reply(call, json_pack("{s:s,s:o}", "executionArn", arn, "startDate",
                                      sfn_time_json(sfn_doc_int(old->doc, "startDate"))));
        else
            aws_reply_error(call, AWS_ERR_SFN_EXECUTION_ALREADY_EXISTS,
                            "Execution Already Exists: '%s'", arn);
        sfn_exec_maybe_free(s, old);
        return;
    }
    char def_id[65];
    json_t *def = machine_definition(s, m, def_id);
    int64_t now = clock_now_ms();
    json_t *doc =
        json_pack("{s:s,s:O,s:s,s:O,s:s,s:I,s:s,s:s,s:O,s:O,s:{s:O,s:o,s:s}}", "executionArn", arn,
                  "stateMachineArn", json_object_get(m, "stateMachineArn"), "name", name,
                  "stateMachineName", json_object_get(m, "name"), "status", "RUNNING", "startDate",
                  (json_int_t)now, "input", input, "definitionId", def_id, "roleArn",
                  json_object_get(m, "roleArn"), "type", json_object_get(m, "type"), "cursor",
                  "state", json_object_get(def, "StartAt"), "stateInput", parsed, "phase", "enter");
    json_int_t timeout = json_integer_value(json_object_get(def, "TimeoutSeconds"));
    if (timeout > 0)
        json_object_set_new(doc, "timeoutMs", json_integer(now + timeout * 1000));
    if (json_object_get(m, "versionArn")) /* started through a version or an alias */
        json_object_set(doc, "stateMachineVersionArn", json_object_get(m, "versionArn"));
    if (json_object_get(m, "aliasArn"))
        json_object_set(doc, "stateMachineAliasArn", json_object_get(m, "aliasArn"));
    json_decref(def);
    sfn_exec_link(s, doc);
    sfn_transition *t = sfn_transition_new(s, s->execs);
    t->now = now;
    sfn_emit(t, "ExecutionStarted", "executionStartedEventDetails",
             json_pack("{s:s,s:{s:b},s:O}", "input", input, "inputDetails", "truncated", 0,
                       "roleArn", json_object_get(m, "roleArn")));
    if (sync) {
        s->execs->sync_call = call; /* answered when it ends */
    } else {
        t->call = call;
        t->reply = json_pack("{s:s,s:o}", "executionArn", arn, "startDate", sfn_time_json(now));
    }
    if (!sfn_exec_ephemeral(s->execs)) /* the first states commit with the start */
        run_inner_states(t, 0);
    sfn_transition_commit(t);
}

static void start_execution(aws_call *call, bool sync)
{
    json_t *m = sfn_machine_target_or_reply(call, sfn_str(call, "stateMachineArn"), true);
    if (!m)
        return;
    start_with(call, m, sync);
    json_decref(m);
}

void sfn_start_execution(aws_call *call)
{
    start_execution(call, false);
}

void sfn_start_sync_execution(aws_call *call)
{
    start_execution(call, true);
}

/* A StartSyncExecution's answer: the execution as it ended. */
static void sync_reply(sfn_exec *ex)
{
    aws_call *call = ex->sync_call;
    ex->sync_call = NULL;
    json_t *d = ex->doc, *out = json_object();
    const char *copy[] = {"executionArn", "stateMachineArn", "name",  "status",
                          "input",        "output",          "error", "cause"};
    for (size_t i = 0; i < sizeof copy / sizeof copy[0]; i++)
        if (json_object_get(d, copy[i]))
            json_object_set(out, copy[i], json_object_get(d, copy[i]));
    int64_t start = sfn_doc_int(d, "startDate"), stop = sfn_doc_int(d, "stopDate");
    json_object_set_new(out, "startDate", sfn_time_json(start));
    json_object_set_new(out, "stopDate", sfn_time_json(stop));
    json_object_set_new(out, "inputDetails", json_pack("{s:b}", "included", 1));
    json_object_set_new(out, "outputDetails", json_pack("{s:b}", "included", 1));
    json_int_t billed = (json_int_t)((stop - start + 99) / 100 * 100);
    json_object_set_new(out, "billingDetails",
                        json_pack("{s:i,s:I}", "billedMemoryUsedInMB", 64,
                                  "billedDurationInMilliseconds", billed < 100 ? 100 : billed));
    aws_reply(call, out);
}

static bool redrivable(const json_t *d, char *why, size_t cap);

void sfn_describe_execution(aws_call *call)
{
    sfn_exec *ex = exec_or_reply(call, sfn_describe_execution);
    if (!ex)
        return;
    json_t *d = ex->doc, *out = json_object();
    const char *copy[] = {"executionArn",
                          "stateMachineArn",
                          "name",
                          "status",
                          "input",
                          "output",
                          "error",
                          "cause",
                          "stateMachineVersionArn",
                          "stateMachineAliasArn",
                          "redriveCount"};
    for (size_t i = 0; i < sizeof copy / sizeof copy[0]; i++)
        if (json_object_get(d, copy[i]))
            json_object_set(out, copy[i], json_object_get(d, copy[i]));
    if (json_object_get(d, "redriveDate"))
        json_object_set_new(out, "redriveDate", sfn_time_json(sfn_doc_int(d, "redriveDate")));
    json_object_set_new(out, "redriveStatus",
                        json_string(redrivable(d, NULL, 0) ? "REDRIVABLE" : "NOT_REDRIVABLE"));
    json_object_set_new(out, "inputDetails", json_pack("{s:b}", "included", 1));
    if (json_object_get(d, "output"))
        json_object_set_new(out, "outputDetails", json_pack("{s:b}", "included", 1));
    json_object_set_new(out, "startDate", sfn_time_json(sfn_doc_int(d, "startDate")));
    if (json_object_get(d, "stopDate"))
        json_object_set_new(out, "stopDate", sfn_time_json(sfn_doc_int(d, "stopDate")));
    sfn *s = sfn_of(call);
    aws_reply(call, out);
    sfn_exec_maybe_free(s, ex);
}

void sfn_describe_state_machine_for_execution(aws_call *call)
{
    sfn_exec *ex = exec_or_reply(call, sfn_describe_state_machine_for_execution);
    if (!ex)
        return;
    sfn *s = sfn_of(call);
    const char *text = sfn_definition_text(s, sfn_doc_str(ex->doc, "definitionId"));
    aws_reply(call, json_pack("{s:O,s:O,s:s,s:O,s:o,s:{s:s,s:b},s:{s:b}}", "stateMachineArn",
                              json_object_get(ex->doc, "stateMachineArn"), "name",
                              json_object_get(ex->doc, "stateMachineName"), "definition",
                              text ? text : "{}", "roleArn", json_object_get(ex->doc, "roleArn"),
                              "updateDate", sfn_time_json(sfn_doc_int(ex->doc, "startDate")),
                              "loggingConfiguration", "level", "OFF", "includeExecutionData", 0,
                              "tracingConfiguration", "enabled", 0));
    sfn_exec_maybe_free(s, ex);
}

/* The definition's TimeoutSeconds passed: the execution ends TIMED_OUT (its branches
 * aborted; a task's late answer is dropped). */
static void execution_timed_out(sfn *s, sfn_exec *ex)
{
    sfn_transition *t = sfn_transition_new(s, ex);
    sfn_abort_children(t, sfn_doc_str(ex->doc, "executionArn"));
    sfn_map_run_abort(t, ex);
    execution_end(t, "TIMED_OUT");
    ex->timeout_ms = 0;
    json_object_set_new(ex->doc, "error", json_string("States.Timeout"));
    json_object_set_new(ex->doc, "cause", json_string("The execution timed out."));
    sfn_emit(
        t, "ExecutionTimedOut", "executionTimedOutEventDetails",
        json_pack("{s:s,s:s}", "error", "States.Timeout", "cause", "The execution timed out."));
    sfn_transition_commit(t);
}

void sfn_stop_execution(aws_call *call)
{
    sfn *s = sfn_of(call);
    sfn_exec *ex = exec_or_reply(call, sfn_stop_execution);
    if (!ex)
        return;
    if (!sfn_exec_running(ex)) {
        aws_reply(call,
                  json_pack("{s:o}", "stopDate", sfn_time_json(sfn_doc_int(ex->doc, "stopDate"))));
        sfn_exec_maybe_free(s, ex);
        return;
    }
    if (ex->committing) { /* a step of it is being committed: the stop comes after it */
        sfn_exec_park(ex, call, sfn_stop_execution);
        return;
    }
    sfn_transition *t = sfn_transition_new(s, ex);
    sfn_abort_children(t, sfn_doc_str(ex->doc, "executionArn"));
    sfn_map_run_abort(t, ex);
    execution_end(t, "ABORTED");
    json_t *d = json_object();
    const char *error = sfn_str(call, "error"), *cause = sfn_str(call, "cause");
    if (error) {
        json_object_set_new(ex->doc, "error", json_string(error));
        json_object_set_new(d, "error", json_string(error));
    }
    if (cause) {
        json_object_set_new(ex->doc, "cause", json_string(cause));
        json_object_set_new(d, "cause", json_string(cause));
    }
    sfn_emit(t, "ExecutionAborted", "executionAbortedEventDetails", d);
    t->call = call;
    t->reply = json_pack("{s:o}", "stopDate", sfn_time_json(t->now));
    sfn_transition_commit(t);
}

/* ---- RedriveExecution ---------------------------------------------------------------- */

#define REDRIVE_DAYS 14

/* Whether the execution d can be redriven; why not into why. */
static bool redrivable(const json_t *d, char *why, size_t cap)
{
    const char *status = sfn_doc_str(d, "status");
    const char *reason = NULL;
    if (strcmp(status, "FAILED") != 0 && strcmp(status, "TIMED_OUT") != 0 &&
        strcmp(status, "ABORTED") != 0)
        reason = "Execution is RUNNING or SUCCEEDED";
    else if (strcmp(sfn_doc_str(d, "type") ? sfn_doc_str(d, "type") : "STANDARD", "EXPRESS") == 0)
        reason = "Executions of EXPRESS state machines cannot be redriven";
    else if (!json_object_get(d, "redriveFrom"))
        reason = "The execution did not stop in a state";
    else if (clock_now_ms() - sfn_doc_int(d, "stopDate") > (int64_t)REDRIVE_DAYS * 86400000)
        reason = "The execution stopped more than 14 days ago";
    if (reason && why)
        snprintf(why, cap, "%s", reason);
    return reason == NULL;
}

void sfn_redrive_execution(aws_call *call)
{
    sfn *s = sfn_of(call);
    sfn_exec *ex = exec_or_reply(call, sfn_redrive_execution);
    if (!ex)
        return;
    char why[200];
    if (!redrivable(ex->doc, why, sizeof why)) {
        aws_reply_error(call, AWS_ERR_SFN_EXECUTION_NOT_REDRIVABLE,
                        "Execution is not redrivable: '%s'. %s",
                        sfn_doc_str(ex->doc, "executionArn"), why);
        sfn_exec_maybe_free(s, ex);
        return;
    }
    if (ex->committing) {
        sfn_exec_park(ex, call, sfn_redrive_execution);
        return;
    }
    json_t *d = ex->doc;
    json_t *from = json_incref(json_object_get(d, "redriveFrom"));
    const char *gone[] = {"stopDate", "error", "cause", "output", "redriveFrom"};
    for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++)
        json_object_del(d, gone[i]);
    sfn_transition *t = sfn_transition_new(s, ex);
    json_int_t count = sfn_doc_int(d, "redriveCount") + 1;
    json_object_set_new(d, "status", json_string("RUNNING"));
    json_object_set_new(d, "redriveCount", json_integer(count));
    json_object_set_new(d, "redriveDate", json_integer(t->now));
    /* AWS: the state machine's timeout starts again from 0 (its end is in the row's WAKE time
     * and holds after a restart) */
    json_int_t timeout = json_integer_value(json_object_get(ex->def, "TimeoutSeconds"));
    json_object_del(d, "timeoutMs");
    ex->timeout_ms = timeout > 0 ? t->now + timeout * 1000 : 0;
    if (ex->timeout_ms)
        json_object_set_new(d, "timeoutMs", json_integer(ex->timeout_ms));
    json_object_set_new(d, "cursor",
                        json_pack("{s:O,s:O,s:s}", "state", json_object_get(from, "state"),
                                  "stateInput", json_object_get(from, "stateInput"), "phase",
                                  "enter"));
    json_decref(from);
    sfn_emit(t, "ExecutionRedriven", "executionRedrivenEventDetails",
             json_pack("{s:I}", "redriveCount", count));
    t->call = call;
    t->reply = json_pack("{s:o}", "redriveDate", sfn_time_json(t->now));
    sfn_transition_commit(t);
}

/* ---- history ------------------------------------------------------------------------ */

typedef struct history_read {
    store_op op;
    aws_call *call;
    char *arn;
} history_read;

static int by_seq(const void *a, const void *b)
{
    int64_t x = ((const store_archived *)a)->seq, y = ((const store_archived *)b)->seq;
    return (x > y) - (x < y);
}

/* An event as the API returns it: the timestamp in seconds, the data left out on request. */
static json_t *event_out(json_t *ev, bool include_data)
{
    json_object_set_new(ev, "timestamp", sfn_time_json(sfn_doc_int(ev, "timestamp")));
    if (json_integer_value(json_object_get(ev, "previousEventId")) == 0)
        json_object_set_new(ev, "previousEventId", json_integer(0));
    if (!include_data) {
        const char *k;
        json_t *v;
        json_object_foreach(ev, k, v) if (json_is_object(v))
        {
            json_object_del(v, "input");
            json_object_del(v, "output");
        }
    }
    return ev;
}

/* An event of a record: its details' input or output, a place in the record's data,
 * becomes that data's JSON text. */
static void event_data(json_t *ev, const json_t *data)
{
    static const char *const fields[] = {"input", "output"};
    const char *k;
    json_t *details;
    json_object_foreach(ev, k, details) if (json_is_object(details))
    {
        for (size_t f = 0; f < 2; f++) {
            json_t *ref = json_object_get(details, fields[f]);
            if (json_is_integer(ref))
                json_object_set_new(details, fields[f],
                                    sfn_json_text(json_array_get(data, json_integer_value(ref))));
        }
    }
}

static void history_done(store_op *op)
{
    history_read *h = op->ctx;
    aws_call *call = h->call;
    if (op->status != 0) {
        aws_reply_error(call, AWS_ERR_INTERNAL_ERROR, "The store could not read the history.");
        goto out;
    }
    /* In commit order (branches write into the same history), numbered in that order; a
     * record holds a step's events ({"data", "events"}; before: an event, or an array of
     * them). Only the page's events are numbered and given their data. */
    json_t *include = json_object_get(call->input, "includeExecutionData");
    bool include_data = !include || json_is_true(include);
    size_t nrec = op->u.archive.n, n = 0, cap = nrec ? nrec : 1;
    qsort(op->u.archive.items, nrec, sizeof *op->u.archive.items, by_seq);
    json_t **recs = xcalloc(nrec ? nrec : 1, sizeof *recs);
    struct {
        json_t *ev, *data; /* borrowed from recs */
    } *events = xcalloc(cap, sizeof *events);
    for (size_t r = 0; r < nrec; r++) {
        char err[128];
        recs[r] =
            jsonc_parse(op->u.archive.items[r].event, op->u.archive.items[r].len, err, sizeof err);
        json_t *list = json_object_get(recs[r], "events");
        json_t *data = list ? json_object_get(recs[r], "data") : NULL;
        if (!list)
            list = recs[r];
        if (!list)
            continue;
        size_t k = json_is_array(list) ? json_array_size(list) : 1;
        if (n + k > cap) {
            cap = (n + k) * 2;
            events = xrealloc(events, cap * sizeof *events);
        }
        for (size_t j = 0; j < k; j++) {
            events[n].ev = json_is_array(list) ? json_array_get(list, j) : list;
            events[n++].data = data;
        }
    }
    bool reverse = json_is_true(json_object_get(call->input, "reverseOrder"));
    json_int_t max = json_integer_value(json_object_get(call->input, "maxResults"));
    if (max <= 0 || max > 1000)
        max = 100;
    const char *token = sfn_str(call, "nextToken");
    char *end = NULL;
    long start = token ? strtol(token, &end, 10) : 0;
    if (token && (*end || start < 0)) {
        aws_reply_error(call, AWS_ERR_SFN_INVALID_TOKEN, "Invalid Token: '%s'", token);
    } else {
        json_t *list = json_array();
        size_t i = (size_t)start;
        for (; i < n && (json_int_t)json_array_size(list) < max; i++) {
            size_t at = reverse ? n - 1 - i : i;
            json_t *ev = events[at].ev;
            json_object_set_new(ev, "id", json_integer((json_int_t)at + 1));
            json_object_set_new(ev, "previousEventId", json_integer((json_int_t)at));
            if (events[at].data && include_data)
                event_data(ev, events[at].data);
            json_array_append(list, event_out(ev, include_data));
        }
        json_t *out = json_pack("{s:o}", "events", list);
        if (i < n)
            json_object_set_new(out, "nextToken", json_sprintf("%zu", i));
        aws_reply(call, out);
    }
    for (size_t r = 0; r < nrec; r++)
        json_decref(recs[r]);
    xfree(recs);
    xfree(events);
out:
    store_op_clear(op);
    xfree(h->arn);
    xfree(h);
}

void sfn_get_execution_history(aws_call *call)
{
    sfn_exec *ex = exec_or_reply(call, sfn_get_execution_history);
    if (!ex)
        return;
    history_read *h = xcalloc(1, sizeof *h);
    h->call = call;
    h->arn = xstrdup(sfn_doc_str(ex->doc, "executionArn"));
    sfn_exec_maybe_free(sfn_of(call), ex);
    h->op.kind = STORE_ARCHIVE_READ;
    h->op.u.archive.archive = h->arn;
    h->op.u.archive.from_ms = 0;
    h->op.u.archive.to_ms = INT64_MAX;
    h->op.u.archive.max = MAX_HISTORY;
    h->op.done = history_done;
    h->op.ctx = h;
    h->op.now_ms = clock_now_ms();
    store_submit(sfn_of(call)->store, &h->op);
}

/* ---- startup and shutdown ----------------------------------------------------------- */

/* A running execution just loaded continues where its last commit left it: a Wait at its
 * end time (now, if it passed while the server was down), any other state now. */
void sfn_exec_resume(sfn *s, sfn_exec *e, int64_t now)
{
    if (!sfn_exec_running(e) || e->committing || e->invoking)
        return;
    json_t *cursor = json_object_get(e->doc, "cursor");
    const char *phase = sfn_doc_str(cursor, "phase");
    bool timed = phase && (strcmp(phase, "wait") == 0 || strcmp(phase, "retry") == 0);
    e->wake_ms = timed ? sfn_doc_int(cursor, "wakeMs") : now;
    if (phase && strcmp(phase, "branches") == 0) /* its branches run; it waits for them */
        e->wake_ms = sfn_branches_ready(e) ? now : 0;
    if (phase && (strcmp(phase, "token") == 0 || strcmp(phase, "sync") == 0))
        e->wake_ms = sfn_task_ready(s, e) ? now : sfn_task_deadline(cursor);
    /* a Task's invocation (a Map's S3 reads or writes) was in flight: it runs again (at
     * least once) */
    e->resume_task = phase && (strcmp(phase, "task") == 0 || map_io_phase(phase));
}

/* Startup: every execution due by now is in memory; they go on. */
void sfn_exec_resume_all(sfn *s)
{
    size_t running = 0;
    int64_t now = clock_now_ms();
    for (sfn_exec *e = s->execs; e; e = e->next) {
        if (!sfn_exec_running(e))
            continue;
        sfn_exec_resume(s, e, now);
        running++;
    }
    if (running)
        log_info("stepfunctions: resuming executions", "running=%zu", running);
    sfn_timer_rearm(s);
}

void sfn_execs_free(sfn *s)
{
    while (s->execs) {
        sfn_exec *e = s->execs;
        s->execs = e->next;
        json_decref(e->doc);
        json_decref(e->def);
        json_decref(e->input);
        xfree(e);
    }
}
