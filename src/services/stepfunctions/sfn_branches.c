/* Parallel and Map states: their branches and iterations run as child executions.
 *
 * A child is an execution document like any other (sfn_exec.c runs it, step by step, each
 * step committed), with "parent" {arn, state, index, round} and "rootArn": it writes its
 * history events into its root's history, is hidden from ListExecutions, and when it ends
 * its result goes into its parent's cursor in the same commit (its document is deleted),
 * so that after a crash either the child is still there to run, or its result is.
 *
 * The parent waits in phase "branches" with the cursor
 *   {state, stateInput, taskInput, attempts, kind, round, total, next, done, failures,
 *    results: [...], items: [...] (Map), failed: {error, cause}}
 * and takes a step whenever there is one to take (sfn_branches_ready): start more of a
 * Map's iterations (MaxConcurrency; 0 runs up to MAP_MAX_ACTIVE at once), or end the state
 * once all are done (results in order, then ResultSelector, ResultPath, OutputPath) or one
 * failed (the others are aborted; Retry re-runs them all in a new round, Catch moves on).
 * A Map's iteration failures are tolerated up to ToleratedFailureCount / Percentage (a
 * failed iteration's result is its {Error, Cause}); without them the first failure fails
 * the state with its error, as AWS does. ItemsPath, ItemSelector (or Parameters),
 * ItemBatcher and $$.Map.Item are supported; a distributed Map runs as an inline one, its
 * ItemReader and ResultWriter over S3 (sfn_map_io.c: phases "reading", "writing"), each
 * round of it a Map Run (sfn_map_run.c) whose MaxConcurrency and tolerance apply. */
#include "services/stepfunctions/sfn_run.h"

#include "common/alloc.h"
#include "services/stepfunctions/sfn_jsonpath.h"
#include "services/stepfunctions/sfn_template.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAP_MAX_ACTIVE 40

static bool is_map(const json_t *cursor)
{
    return strcmp(sfn_doc_str(cursor, "kind"), "Map") == 0;
}

static json_t *cursor_of(const sfn_exec *ex)
{
    return json_object_get(ex->doc, "cursor");
}

static json_int_t cur_int(const json_t *cursor, const char *k)
{
    return json_integer_value(json_object_get(cursor, k));
}

static void cur_set_int(json_t *cursor, const char *k, json_int_t v)
{
    json_object_set_new(cursor, k, json_integer(v));
}

/* The workflow a Map's iterations run. */
static const json_t *processor_of(const json_t *state)
{
    const json_t *p = json_object_get(state, "ItemProcessor");
    return p ? p : json_object_get(state, "Iterator");
}

/* MaxConcurrency: the Map Run's (UpdateMapRun may change it), else the state's. */
static json_int_t active_limit(const json_t *cursor, const json_t *state)
{
    json_int_t mc = sfn_map_run_limit(cursor, state);
    return mc > 0 && mc < MAP_MAX_ACTIVE ? mc : MAP_MAX_ACTIVE;
}

bool sfn_branches_ready(const sfn_exec *ex)
{
    json_t *c = cursor_of(ex);
    if (!c || strcmp(sfn_doc_str(c, "phase"), "branches") != 0)
        return false;
    if (json_object_get(c, "failed") || cur_int(c, "done") == cur_int(c, "total"))
        return true;
    if (!is_map(c))
        return false;
    json_t *state = json_object_get(json_object_get(ex->def, "States"), sfn_doc_str(c, "state"));
    json_int_t running = cur_int(c, "next") - cur_int(c, "done");
    return cur_int(c, "next") < cur_int(c, "total") && running < active_limit(c, state);
}

/* ---- children ----------------------------------------------------------------------- */

/* Starts child i of the parent's cursor: its document is written in t's commit, and it
 * runs once that commit is done. */
static void start_child(sfn_transition *t, const json_t *state, const char *name, json_int_t i)
{
    sfn_exec *parent = t->ex;
    json_t *cursor = cursor_of(parent);
    bool map = is_map(cursor);
    const json_t *def =
        map ? processor_of(state) : json_array_get(json_object_get(state, "Branches"), (size_t)i);
    json_t *input = map ? json_array_get(json_object_get(cursor, "items"), (size_t)i)
                        : json_object_get(cursor, "taskInput");
    const char *parent_arn = sfn_doc_str(parent->doc, "executionArn");
    char key[1400];
    snprintf(key, sizeof key, "%s/%s#%lld.%lld", parent_arn, name,
             (long long)cur_int(cursor, "round"), (long long)i);
    /* A branch runs in its Parallel's or Map's query language unless it says otherwise. */
    json_t *branch = json_deep_copy(def);
    if (sfn_state_is_jsonata(parent->def, state) && !json_object_get(branch, "QueryLanguage"))
        json_object_set_new(branch, "QueryLanguage", json_string("JSONata"));
    char *def_text = json_dumps(branch, JSON_COMPACT);
    json_decref(branch);
    char def_id[65];
    json_decref(sfn_definition_use(t->s, def_text ? def_text : "{}", def_id));
    free(def_text);
    json_t *doc = json_pack(
        "{s:s,s:s,s:{s:s,s:s,s:I,s:I},s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:s,s:s,s:{s:O,s:O,s:s}}",
        "executionArn", key, "rootArn", sfn_history_arn(parent), "parent", "arn", parent_arn,
        "state", name, "index", i, "round", cur_int(cursor, "round"), "name",
        json_object_get(parent->doc, "name"), "stateMachineArn",
        json_object_get(parent->doc, "stateMachineArn"), "stateMachineName",
        json_object_get(parent->doc, "stateMachineName"), "roleArn",
        json_object_get(parent->doc, "roleArn"), "type", json_object_get(parent->doc, "type"),
        "input", json_object_get(parent->doc, "input"), "startDate",
        json_object_get(parent->doc, "startDate"), "status", "RUNNING", "definitionId", def_id,
        "cursor", "state", json_object_get(def, "StartAt"), "stateInput",
        input ? input : json_null(), "phase", "enter");
    json_t *vars = json_object_get(parent->doc, "variables");
    if (vars) /* a copy of the variables: what a branch assigns stays its own */
        json_object_set_new(doc, "variables", json_deep_copy(vars));
    json_t *item = json_array_get(json_object_get(cursor, "itemValues"), (size_t)i);
    if (map)
        json_object_set_new(doc, "mapItem",
                            json_pack("{s:I,s:O}", "Index", i, "Value", item ? item : json_null()));
    sfn_transition_doc(t, key, doc);
    sfn_exec *child = sfn_exec_link(t->s, doc);
    t->spawned = xrealloc(t->spawned, (t->nspawned + 1) * sizeof *t->spawned);
    t->spawned[t->nspawned++] = child;
    if (map)
        sfn_emit(t, "MapIterationStarted", "mapIterationStartedEventDetails",
                 json_pack("{s:s,s:I}", "name", name, "index", i));
}

/* Starts what the concurrency allows. */
static void start_more(sfn_transition *t, const json_t *state, const char *name)
{
    json_t *cursor = cursor_of(t->ex);
    json_int_t total = cur_int(cursor, "total");
    json_int_t limit = is_map(cursor) ? active_limit(cursor, state) : total;
    while (cur_int(cursor, "next") < total &&
           cur_int(cursor, "next") - cur_int(cursor, "done") < limit) {
        json_int_t i = cur_int(cursor, "next");
        cur_set_int(cursor, "next", i + 1);
        start_child(t, state, name, i);
    }
}

static void abort_tree(sfn_transition *t, const char *parent_arn, int depth)
{
    if (depth > 64)
        return;
    size_t n = 0;
    for (sfn_exec *e = t->s->execs; e; e = e->next)
        n++;
    sfn_exec **found = xcalloc(n ? n : 1, sizeof *found);
    size_t k = 0;
    for (sfn_exec *e = t->s->execs; e; e = e->next) {
        json_t *p = json_object_get(e->doc, "parent");
        if (p && sfn_exec_running(e) && strcmp(sfn_doc_str(p, "arn"), parent_arn) == 0)
            found[k++] = e;
    }
    for (size_t i = 0; i < k; i++) {
        sfn_exec *e = found[i];
        abort_tree(t, sfn_doc_str(e->doc, "executionArn"), depth + 1);
        sfn_map_run_abort(t, e);
        json_object_set_new(e->doc, "status", json_string("ABORTED"));
        json_object_del(e->doc, "cursor");
        e->wake_ms = 0;
        sfn_transition_doc(t, sfn_doc_str(e->doc, "executionArn"), NULL);
    }
    xfree(found);
}

void sfn_abort_children(sfn_transition *t, const char *parent_arn)
{
    abort_tree(t, parent_arn, 0);
}

void sfn_child_end(sfn_transition *t, const json_t *output, const char *error, const char *cause)
{
    sfn_exec *child = t->ex;
    json_t *link = json_object_get(child->doc, "parent");
    json_object_set_new(child->doc, "status", json_string(output ? "SUCCEEDED" : "FAILED"));
    json_object_del(child->doc, "cursor");
    child->wake_ms = 0;
    sfn_exec *parent = sfn_exec_find(t->s, sfn_doc_str(link, "arn"));
    json_t *cursor = parent ? cursor_of(parent) : NULL;
    if (!parent || !sfn_exec_running(parent) || !cursor ||
        strcmp(sfn_doc_str(cursor, "phase"), "branches") != 0 ||
        cur_int(cursor, "round") != cur_int(link, "round") ||
        strcmp(sfn_doc_str(cursor, "state"), sfn_doc_str(link, "state")) != 0)
        return; /* the parent moved on (a failure, a stop): this result is not wanted */
    json_int_t index = cur_int(link, "index");
    bool map = is_map(cursor);
    const char *name = sfn_doc_str(link, "state");
    if (map)
        sfn_emit(t, output ? "MapIterationSucceeded" : "MapIterationFailed",
                 output ? "mapIterationSucceededEventDetails" : "mapIterationFailedEventDetails",
                 json_pack("{s:s,s:I}", "name", name, "index", index));
    json_t *results = json_object_get(cursor, "results");
    cur_set_int(cursor, "done", cur_int(cursor, "done") + 1);
    if (output) {
        json_array_set(results, (size_t)index, (json_t *)output);
    } else {
        json_array_set_new(results, (size_t)index,
                           json_pack("{s:s,s:s}", "Error", error ? error : "States.Runtime",
                                     "Cause", cause ? cause : ""));
        if (map) { /* (a ResultWriter tells failed iterations apart) */
            if (!json_object_get(cursor, "failedIdx"))
                json_object_set_new(cursor, "failedIdx", json_array());
            json_array_append_new(json_object_get(cursor, "failedIdx"), json_integer(index));
        }
        json_int_t failures = cur_int(cursor, "failures") + 1;
        cur_set_int(cursor, "failures", failures);
        /* the Map Run's tolerance (UpdateMapRun may change it), else the state's */
        const json_t *state = sfn_map_run_tolerance(
            cursor, json_object_get(json_object_get(parent->def, "States"), name));
        bool tolerant = map && (json_object_get(state, "ToleratedFailureCount") ||
                                json_object_get(state, "ToleratedFailurePercentage"));
        bool over = !tolerant || sfn_map_over_tolerance(state, failures, cur_int(cursor, "total"));
        if (over && !json_object_get(cursor, "failed")) {
            json_object_set_new(
                cursor, "failed",
                tolerant
                    ? json_pack("{s:s,s:s}", "error", "States.ExceedToleratedFailureThreshold",
                                "cause", "The specified tolerated failure threshold was exceeded")
                    : json_pack("{s:s,s:s?}", "error", error ? error : "States.Runtime", "cause",
                                cause));
        }
    }
    sfn_transition_doc(t, sfn_doc_str(parent->doc, "executionArn"), parent->doc);
}

bool sfn_map_over_tolerance(const json_t *state, json_int_t failures, json_int_t total)
{
    json_t *count = json_object_get(state, "ToleratedFailureCount");
    json_t *pct = json_object_get(state, "ToleratedFailurePercentage");
    return (count && failures > json_integer_value(count)) ||
           (pct && failures > 0 &&
            (total <= 0 || 100.0 * (double)failures / (double)total > json_number_value(pct)));
}

/* ---- the state ---------------------------------------------------------------------- */

/* A Map's iteration inputs from the effective input: the items its ItemReader read (read,
 * borrowed) or ItemsPath, then per item ItemSelector (or Parameters) with $$.Map.Item, then
 * ItemBatcher. NULL with io->err set. */
static json_t *map_items(sfn_step_io *io, json_t *eff, json_t *read, json_t **values)
{
    json_t *items = NULL;
    const char *path = sfn_doc_str(io->state, "ItemsPath");
    if (read) {
        items = json_incref(read);
    } else if (io->inspect && json_object_get(io->state, "ItemReader")) {
        items = sfn_test_reader_items(io); /* a TestState's stateConfiguration gives them */
    } else if (io->jsonata) { /* Items: a value or an expression (default: the input) */
        json_t *it = json_object_get(io->state, "Items");
        json_t *states = sfn_states_var(io, NULL, NULL);
        items = it ? sfn_jsonata_render(io, it, "Items", states) : json_incref(eff);
        json_decref(states);
        if (!items)
            return NULL;
    } else if (sfn_path_apply(path ? path : "$", eff, io->context, &items, &io->err) != 0) {
        return NULL;
    }
    if (!json_is_array(items)) {
        json_decref(items);
        sfn_error_set(&io->err, "States.Runtime",
                      "Invalid path '%s': The ItemsPath field must point to a JSON array",
                      path ? path : "$");
        return NULL;
    }
    *values = items;
    if (!io->jsonata)
        sfn_inspect(io, "afterItemsPath", items);
    const json_t *selector = json_object_get(io->state, "ItemSelector");
    if (!selector)
        selector = json_object_get(io->state, "Parameters");
    json_t *inputs = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(items, i, v)
    {
        json_t *in = NULL;
        if (selector) {
            json_t *ctx = json_deep_copy(io->context);
            json_object_set_new(
                ctx, "Map", json_pack("{s:{s:I,s:O}}", "Item", "Index", (json_int_t)i, "Value", v));
            int rc = 0;
            if (io->jsonata) { /* $states.context.Map.Item */
                json_t *keep = io->context;
                io->context = ctx;
                json_t *states = sfn_states_var(io, NULL, NULL);
                in = sfn_jsonata_render(io, selector, "ItemSelector", states);
                json_decref(states);
                io->context = keep;
                rc = in ? 0 : -1;
            } else {
                rc = sfn_template_apply(selector, eff, ctx, &in, &io->err);
            }
            json_decref(ctx);
            if (rc != 0) {
                json_decref(inputs);
                json_decref(items);
                *values = NULL;
                return NULL;
            }
        } else {
            in = json_incref(v);
        }
        json_array_append_new(inputs, in);
    }
    if (selector)
        sfn_inspect(io, "afterItemSelector", inputs);
    const json_t *batcher = json_object_get(io->state, "ItemBatcher");
    if (!batcher)
        return inputs;
    json_int_t per = json_integer_value(json_object_get(batcher, "MaxItemsPerBatch"));
    json_int_t max_bytes = json_integer_value(json_object_get(batcher, "MaxInputBytesPerBatch"));
    const json_t *batch_input = json_object_get(batcher, "BatchInput");
    json_t *batches = json_array(), *cur = NULL;
    size_t cur_bytes = 0;
    json_array_foreach(inputs, i, v)
    {
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        size_t len = text ? strlen(text) : 0;
        free(text);
        if (cur && ((per > 0 && (json_int_t)json_array_size(cur) >= per) ||
                    (max_bytes > 0 && (json_int_t)(cur_bytes + len) > max_bytes)))
            cur = NULL;
        if (!cur) {
            json_t *b = json_pack("{s:[]}", "Items");
            if (batch_input)
                json_object_set(b, "BatchInput", (json_t *)batch_input);
            json_array_append_new(batches, b);
            cur = json_object_get(b, "Items");
            cur_bytes = 0;
        }
        json_array_append(cur, v);
        cur_bytes += len;
    }
    json_decref(inputs);
    sfn_inspect(io, "afterItemBatcher", batches);
    /* $$.Map.Item.Value of a batch: its items */
    json_decref(*values);
    *values = json_array();
    json_array_foreach(batches, i, v) json_array_append(*values, json_object_get(v, "Items"));
    return batches;
}

static void state_event(sfn_transition *t, const char *type, const char *what, json_t *details)
{
    char ev[64], key[96];
    snprintf(ev, sizeof ev, "%sState%s", type, what);
    snprintf(key, sizeof key, "%sState%sEventDetails",
             strcmp(type, "Map") == 0 ? "map" : "parallel", what);
    sfn_emit(t, ev, details ? key : NULL, details);
}

/* The iterations (branches) of the state start, its cursor set: a Map's items from read
 * (borrowed; NULL: from its input). */
static void start_iterations(sfn_transition *t, sfn_step_io *io, const char *name, const char *type,
                             json_t *eff, json_t *read)
{
    bool map = strcmp(type, "Map") == 0;
    json_t *cursor = cursor_of(t->ex);
    json_t *items = NULL, *values = NULL;
    if (map) {
        items = map_items(io, eff, read, &values);
        if (!items) {
            json_decref(values);
            sfn_state_error(t, io, io->err.name, io->err.cause);
            return;
        }
    }
    size_t total =
        map ? json_array_size(items) : json_array_size(json_object_get(io->state, "Branches"));
    json_t *results = json_array();
    for (size_t i = 0; i < total; i++)
        json_array_append_new(results, json_null());
    json_object_set_new(cursor, "results", results);
    cur_set_int(cursor, "total", (json_int_t)total);
    cur_set_int(cursor, "next", 0);
    cur_set_int(cursor, "done", 0);
    cur_set_int(cursor, "failures", 0);
    if (map) {
        json_object_set_new(cursor, "items", items);
        json_object_set_new(cursor, "itemValues", values);
        cur_set_int(cursor, "startedMs", t->now);
        state_event(t, type, "Started", json_pack("{s:I}", "length", (json_int_t)total));
        if (!t->ex->test && sfn_map_distributed(io->state))
            sfn_map_run_start(t, io->state);
    } else {
        state_event(t, type, "Started", NULL);
    }
    if (t->ex->test) /* a TestState: its mock gives the results (sfn_test_state.c) */
        return;
    if (total == 0) {
        sfn_branches_step(t, io, name, type);
        return;
    }
    start_more(t, io->state, name);
}

void sfn_branches_enter(sfn_transition *t, sfn_step_io *io, const char *name, const char *type,
                        bool again)
{
    bool map = strcmp(type, "Map") == 0;
    json_t *old = cursor_of(t->ex);
    json_t *attempts = again ? json_object_get(old, "attempts") : NULL;
    json_int_t round = again ? cur_int(old, "round") + 1 : 0;
    json_t *eff = sfn_effective_input(io, !map);
    /* The cursor a retry needs (taskInput, attempts), even when the input failed. */
    json_t *cursor = json_pack("{s:s,s:O,s:O,s:o,s:s,s:s,s:I}", "state", name, "stateInput",
                               io->input, "taskInput", eff ? eff : json_null(), "attempts",
                               attempts ? json_incref(attempts) : json_object(), "phase",
                               "branches", "kind", type, "round", round);
    json_object_set_new(t->ex->doc, "cursor", cursor);
    if (!eff) {
        sfn_state_error(t, io, io->err.name, io->err.cause);
        return;
    }
    if (map && sfn_map_has_reader(t->ex, io->state)) {
        /* the items come from S3: the read starts once this step is committed */
        if (sfn_map_reader_prepare(io, eff, cursor) != 0)
            sfn_state_error(t, io, io->err.name, io->err.cause);
        json_decref(eff);
        return;
    }
    start_iterations(t, io, name, type, eff, NULL);
    json_decref(eff);
}

void sfn_branches_items(sfn_transition *t, sfn_step_io *io, const char *name, json_t *read)
{
    json_t *cursor = cursor_of(t->ex);
    json_object_set_new(cursor, "phase", json_string("branches"));
    json_object_del(cursor, "reader");
    start_iterations(t, io, name, "Map", json_object_get(cursor, "taskInput"), read);
    json_decref(read);
}

void sfn_branches_step(sfn_transition *t, sfn_step_io *io, const char *name, const char *type)
{
    json_t *cursor = cursor_of(t->ex);
    json_t *failed = json_object_get(cursor, "failed");
    if (failed) {
        char *error = xstrdup(sfn_doc_str(failed, "error")), *cause = NULL;
        if (sfn_doc_str(failed, "cause"))
            cause = xstrdup(sfn_doc_str(failed, "cause"));
        sfn_abort_children(t, sfn_doc_str(t->ex->doc, "executionArn"));
        sfn_map_run_end(t, error, cause);
        state_event(t, type, "Failed", NULL);
        json_object_del(cursor, "failed");
        json_object_set_new(cursor, "phase", json_string("failed"));
        sfn_state_error(t, io, error, cause);
        xfree(error);
        xfree(cause);
        return;
    }
    if (cur_int(cursor, "done") < cur_int(cursor, "total")) {
        start_more(t, io->state, name);
        return;
    }
    if (strcmp(type, "Map") == 0 && sfn_map_has_writer(t->ex, io->state) &&
        !json_object_get(cursor, "written")) {
        /* the results go to S3 first: the writes start once this step is committed */
        if (sfn_map_writer_prepare(t, io, cursor) != 0)
            sfn_state_error(t, io, io->err.name, io->err.cause);
        return;
    }
    sfn_map_run_end(t, NULL, NULL);
    state_event(t, type, "Succeeded", NULL);
    json_t *written = json_object_get(cursor, "written");
    json_t *result = json_incref(written ? written : json_object_get(cursor, "results"));
    json_t *selector = json_object_get(io->state, "ResultSelector");
    if (selector) {
        json_t *sel = NULL;
        int rc = sfn_template_apply(selector, result, io->context, &sel, &io->err);
        json_decref(result);
        if (rc != 0) {
            sfn_state_error(t, io, io->err.name, io->err.cause);
            return;
        }
        result = sel;
    }
    if (!io->jsonata)
        sfn_inspect(io, "afterResultSelector", result);
    json_t *out = sfn_state_output(io, result, true);
    if (!out) {
        sfn_state_error(t, io, io->err.name, io->err.cause);
        return;
    }
    if (!sfn_output_over_limit(t, name, out)) {
        sfn_state_exited(t, type, name, out);
        sfn_go_next(t, sfn_doc_str(io->state, "Next"), out);
    }
    json_decref(out);
}
