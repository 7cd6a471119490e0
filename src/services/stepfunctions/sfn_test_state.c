/* TestState: one state run on its own, as AWS's TestState API runs it, and answered with its
 * outcome: SUCCEEDED (its output, and the next state it names), FAILED (an error and cause),
 * CAUGHT_ERROR (a catcher took the error: its output and Next) or RETRIABLE (a retrier would
 * run it again: errorDetails says which and after how long), with the inspection data of
 * DEBUG and TRACE (input, afterInputPath, afterParameters / afterArguments, result,
 * afterResultSelector, afterResultPath, variables, a Map's afterItemsPath, afterItemSelector,
 * afterItemBatcher, maxConcurrency and tolerated failures).
 *
 * How: the state runs through the interpreter every execution runs through (sfn_exec.c,
 * sfn_task.c, sfn_branches.c), as an execution of its own that is linked nowhere: no
 * ListExecutions or DescribeExecution finds it, and its steps are never committed — the
 * commit hook (sfn_transition_commit) hands each finished step here, where its events are
 * dropped and the next action is taken on the loop's next turn (so a call that answers at
 * once never re-enters the step that made it). No history, no status change event, no store
 * write: a TestState leaves no trace. The run stops after the tested state: its cursor then
 * says what happened (moved on to a state, waiting in a Wait, waiting out a retry, ended).
 * A Wait does not wait; a Task really calls its resource (a Lambda function, an integration),
 * unless a mock answers in its place (mock.result, mock.errorOutput); a Map's or Parallel's
 * branches never run: they need a mock, which gives their results. The interpreter's data
 * flow functions record the inspection fields through sfn_inspect when a step runs for a
 * TestState (io->inspect), and the error handling records the error and the handler that
 * took it.
 *
 * The definition is one state (its transition targets need not exist; it is checked inside a
 * machine of its own and named "StateName", as AWS names it in $$.State.Name), or a whole
 * state machine with stateName naming the state to test (at any depth: inside a Parallel's
 * branches or a Map's processor). stateConfiguration sets the retries already made
 * (retrierRetryCount: the first matching retrier's attempts; a retrier that is exhausted
 * hands the error to the catchers), a Map's iteration failures (mapIterationFailureCount,
 * against ToleratedFailureCount / Percentage) and the data its ItemReader reads
 * (mapItemReaderData). A mocked service integration's result is checked against the
 * operation's output shape in the service model (fieldValidationMode STRICT or PRESENT:
 * member types; the models carry no required-member lists, so STRICT checks what PRESENT
 * does). The run is limited to five minutes (States.Timeout), as on AWS. */
#include "services/stepfunctions/sfn_run.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "common/ids.h"
#include "services/stepfunctions/sfn_integrations.h"
#include "services/stepfunctions/sfn_validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TESTED_NAME    "StateName"     /* a state given alone is named this */
#define TEST_LIMIT_MS  (5 * 60 * 1000) /* AWS: a TestState runs for up to five minutes */
#define MAX_DEFINITION 1048576
#define MAX_DATA       262144

typedef struct sfn_test {
    sfn *s;
    aws_call *call;  /* answered once the outcome is known; NULL after */
    sfn_exec ex;     /* the one-state run (ex.test points back here) */
    json_t *state;   /* the tested state (a reference into ex.def) */
    json_t *inspect; /* the inspection data, and "_error" / "_cause" of the last error */
    json_t *mock;    /* {"result": value} or {"error", "cause"}; NULL: not mocked */
    json_t *context; /* the caller's context object, laid over the run's; or NULL */
    json_t *config;  /* stateConfiguration, or NULL */
    bool debug;      /* inspectionLevel DEBUG or TRACE */
    bool started;    /* its first step ran */
    bool called;     /* its Task's call (or mock) was made */
    bool kicked;     /* the timer runs the next action (not the deadline) */
    int64_t limit_ms;
    uv_timer_t *timer;
    struct sfn_test *next, *prev;
} sfn_test;

/* ---- helpers ---------------------------------------------------------------------------- */

static json_t *member(const json_t *obj, const char *name)
{
    return json_object_get(obj, name);
}

static const char *type_of(const json_t *state)
{
    const char *t = sfn_doc_str(state, "Type");
    return t ? t : "";
}

static bool is_type(const json_t *state, const char *type)
{
    return strcmp(type_of(state), type) == 0;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void set_text(json_t *obj, const char *key, const json_t *v)
{
    if (v)
        json_object_set_new(obj, key, sfn_json_text(v));
}

/* A request member longer than max: the ValidationException AWS's model checks give. */
static int too_long_or_reply(aws_call *call, const char *field, const char *v, size_t min,
                             size_t max)
{
    size_t n = v ? strlen(v) : min;
    if (n >= min && n <= max)
        return 0;
    aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                    "1 validation error detected: Value at '%s' failed to satisfy constraint: "
                    "Member must have length %s %zu",
                    field, n < min ? "greater than or equal to" : "less than or equal to",
                    n < min ? min : max);
    return -1;
}

static int enum_or_reply(aws_call *call, const char *field, const char *v,
                         const char *const *values, const char *set)
{
    for (size_t i = 0; v && values[i]; i++)
        if (strcmp(values[i], v) == 0)
            return 0;
    if (!v)
        return 0;
    aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                    "1 validation error detected: Value '%s' at '%s' failed to satisfy "
                    "constraint: Member must satisfy enum value set: [%s]",
                    v, field, set);
    return -1;
}

static void reply_invalid_definition(aws_call *call, const json_t *diags)
{
    char msg[4096];
    sfn_definition_error_message(diags, msg, sizeof msg);
    aws_reply_error(call, AWS_ERR_SFN_INVALID_DEFINITION, "%s", msg);
}

/* Lays over (a deep merge: objects member by member, anything else replaced). */
static void lay_over(json_t *dst, const json_t *src, int depth)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)src, k, v)
    {
        json_t *d = json_object_get(dst, k);
        if (json_is_object(d) && json_is_object(v) && depth < 16)
            lay_over(d, v, depth + 1);
        else
            json_object_set_new(dst, k, json_deep_copy(v));
    }
}

/* ---- the definition ------------------------------------------------------------------- */

/* Calls fn for every transition target of state (Next, Default, Choices, Catch). */
static void each_target(const json_t *state, void (*fn)(const char *, void *), void *arg)
{
    const char *fields[] = {"Next", "Default"};
    for (size_t i = 0; i < 2; i++)
        if (sfn_doc_str(state, fields[i]))
            fn(sfn_doc_str(state, fields[i]), arg);
    const char *lists[] = {"Choices", "Catch"};
    for (size_t l = 0; l < 2; l++) {
        size_t i;
        json_t *r;
        json_array_foreach(member(state, lists[l]), i, r)
        {
            if (sfn_doc_str(r, "Next"))
                fn(sfn_doc_str(r, "Next"), arg);
        }
    }
}

static void add_stub(const char *target, void *states)
{
    if (!json_object_get(states, target))
        json_object_set_new(states, target, json_pack("{s:s}", "Type", "Succeed"));
}

/* What the validator says of one state: it is checked as the start of a machine of its own
 * whose other states are its transition targets; only what concerns it is kept, located
 * from the state ("/" itself, "/Parameters/x" inside it). A new array. */
static json_t *state_diagnostics(const json_t *state)
{
    json_t *states = json_object();
    if (json_is_object(state))
        each_target(state, add_stub, states);
    json_object_set(states, TESTED_NAME, (json_t *)state);
    json_t *machine = json_pack("{s:s,s:o}", "StartAt", TESTED_NAME, "States", states);
    char *text = json_dumps(machine, JSON_COMPACT);
    json_decref(machine);
    json_t *all = sfn_definition_validate(text, NULL), *kept = json_array();
    free(text);
    const char *prefix = "/States/" TESTED_NAME;
    size_t n = strlen(prefix), i;
    json_t *d;
    json_array_foreach(all, i, d)
    {
        const char *loc = sfn_doc_str(d, "location");
        if (!loc || strncmp(loc, prefix, n) != 0 || (loc[n] && loc[n] != '/'))
            continue; /* about the machine around it */
        json_t *copy = json_deep_copy(d);
        json_object_set_new(copy, "location", json_string(loc[n] ? loc + n : "/"));
        json_array_append_new(kept, copy);
    }
    json_decref(all);
    return kept;
}

/* The state named name in workflow wf or in its nested workflows; *ql: the query language
 * it inherits there ("JSONata" or NULL). Borrowed, or NULL. */
static json_t *find_state(const json_t *wf, const char *name, const char *inherited,
                          const char **ql, int depth)
{
    json_t *states = member(wf, "States");
    json_t *found = json_object_get(states, name);
    if (found || depth > 32) {
        *ql = inherited;
        return found;
    }
    const char *k;
    json_t *st;
    json_object_foreach(states, k, st)
    {
        const char *own = sfn_doc_str(st, "QueryLanguage");
        const char *inner = own ? (strcmp(own, "JSONata") == 0 ? "JSONata" : NULL) : inherited;
        json_t *processor =
            member(st, "ItemProcessor") ? member(st, "ItemProcessor") : member(st, "Iterator");
        if (processor && (found = find_state(processor, name, inner, ql, depth + 1)))
            return found;
        size_t i;
        json_t *b;
        json_array_foreach(member(st, "Branches"), i, b)
        {
            if ((found = find_state(b, name, inner, ql, depth + 1)))
                return found;
        }
    }
    return NULL;
}

/* The tested state (ts->state) and its name; the run's definition (a new reference: that
 * state alone, in the query language it inherits) into def_out. -1 when replied. */
static int definition_or_reply(aws_call *call, sfn_test *ts, json_t **def_out,
                               const char **name_out)
{
    const char *text = sfn_str(call, "definition"), *name = sfn_str(call, "stateName");
    json_t *parsed = NULL, *diags;
    const char *ql = NULL;
    if (name) {
        diags = sfn_definition_validate(text, &parsed);
        if (json_array_size(diags) == 0) {
            const char *machine_ql = sfn_doc_str(parsed, "QueryLanguage");
            ts->state = find_state(
                parsed, name, machine_ql && strcmp(machine_ql, "JSONata") == 0 ? "JSONata" : NULL,
                &ql, 0);
        }
    } else {
        json_error_t jerr;
        parsed = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
        if (!json_is_object(parsed)) {
            diags = json_pack("[{s:s,s:s,s:s}]", "severity", "ERROR", "code",
                              "INVALID_JSON_DESCRIPTION", "message",
                              parsed ? "The definition must be a JSON object" : jerr.text);
        } else {
            diags = state_diagnostics(parsed);
            ts->state = parsed;
        }
        name = TESTED_NAME;
    }
    if (json_array_size(diags) > 0) {
        reply_invalid_definition(call, diags);
        json_decref(diags);
        json_decref(parsed);
        ts->state = NULL;
        return -1;
    }
    json_decref(diags);
    if (!ts->state) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "State not found in definition: '%s' names no state of the state "
                        "machine",
                        name);
        json_decref(parsed);
        return -1;
    }
    json_t *def = json_pack("{s:{s:O}}", "States", name, ts->state);
    if (ql)
        json_object_set_new(def, "QueryLanguage", json_string(ql));
    ts->state = json_object_get(member(def, "States"), name);
    json_decref(parsed);
    *def_out = def;
    *name_out = name;
    return 0;
}

/* ---- the mock ------------------------------------------------------------------------- */

static int shape_error(char *msg, size_t cap, const char *field, const char *what)
{
    snprintf(msg, cap, "Mock result schema validation error: Field '%s' must be %s",
             field ? field : "result", what);
    return -1;
}

/* The member of structure sh named as a Task's result names it (the first letter in either
 * case: Step Functions' own API spells its members in camelCase, integrations in PascalCase). */
static const model_member *result_member(const model_shape *sh, const char *name)
{
    for (size_t i = 0; i < sh->nmembers; i++) {
        const char *m = sh->members[i].name;
        if (m[0] && name[0] && (m[0] | 0x20) == (name[0] | 0x20) && strcmp(m + 1, name + 1) == 0)
            return &sh->members[i];
    }
    return NULL;
}

/* fieldValidationMode: v against shape sh, member by member (members the model does not
 * know are let through, as AWS lets them). 0, or -1 with the message. */
static int shape_check(const model_shape *sh, const json_t *v, const char *field, char *msg,
                       size_t cap, int depth)
{
    if (!sh || depth > 32)
        return 0;
    size_t i;
    json_t *item;
    const char *k;
    switch (sh->type) {
    case SHAPE_STRUCTURE:
        if (!json_is_object(v))
            return shape_error(msg, cap, field, "an object");
        json_object_foreach((json_t *)v, k, item)
        {
            const model_member *m = result_member(sh, k);
            if (m && shape_check(m->shape, item, k, msg, cap, depth + 1) != 0)
                return -1;
        }
        return 0;
    case SHAPE_LIST:
        if (!json_is_array(v))
            return shape_error(msg, cap, field, "an array");
        json_array_foreach(v, i, item)
        {
            if (shape_check(sh->member, item, field, msg, cap, depth + 1) != 0)
                return -1;
        }
        return 0;
    case SHAPE_MAP:
        if (!json_is_object(v))
            return shape_error(msg, cap, field, "an object");
        json_object_foreach((json_t *)v, k, item)
        {
            if (shape_check(sh->value, item, field, msg, cap, depth + 1) != 0)
                return -1;
        }
        return 0;
    case SHAPE_STRING:
    case SHAPE_TIMESTAMP:
        return json_is_string(v) ? 0 : shape_error(msg, cap, field, "a string");
    case SHAPE_INTEGER:
        return json_is_integer(v) ? 0 : shape_error(msg, cap, field, "a number");
    case SHAPE_DOUBLE:
        return json_is_number(v) ? 0 : shape_error(msg, cap, field, "a number");
    case SHAPE_BOOLEAN:
        return json_is_boolean(v) ? 0 : shape_error(msg, cap, field, "a boolean");
    case SHAPE_BLOB: /* base64 text; lambda:invoke's Payload is the function's JSON */
        return json_is_number(v) || json_is_boolean(v) ? shape_error(msg, cap, field, "a string")
                                                       : 0;
    }
    return 0;
}

/* The output shape of the operation a Task's Resource calls, or NULL (a function ARN, an
 * activity, a service this server does not run). */
static const model_shape *task_output_shape(const sfn *s, const json_t *state)
{
    const char *res = sfn_doc_str(state, "Resource");
    sfn_integration in;
    if (res && strncmp(res, "arn:aws:states:::lambda:invoke", 30) == 0)
        res = "arn:aws:states:::aws-sdk:lambda:invoke";
    if (!res || sfn_integration_parse(res, &in) != 0)
        return NULL;
    const model_operation *op = sfn_integration_operation(s, &in);
    return op ? op->output : NULL;
}

/* Checks the mock against the tested state; ts->mock: {"result": value} or {error, cause}. */
static int mock_or_reply(aws_call *call, sfn_test *ts, const json_t *mock)
{
    const json_t *state = ts->state;
    if (!is_type(state, "Task") && !is_type(state, "Map") && !is_type(state, "Parallel")) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "State type '%s' is not supported when a mock is specified",
                        type_of(state));
        return -1;
    }
    if (json_is_true(member(call->input, "revealSecrets"))) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "TestState does not support RevealSecrets when a mock is specified.");
        return -1;
    }
    const char *text = sfn_doc_str(mock, "result");
    json_t *error_output = member(mock, "errorOutput");
    if ((text != NULL) == (error_output != NULL)) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "A test mock should have %s of the following fields: [result, "
                        "errorOutput].",
                        text ? "only one" : "one");
        return -1;
    }
    static const char *const modes[] = {"STRICT", "PRESENT", "NONE", NULL};
    const char *mode = sfn_doc_str(mock, "fieldValidationMode");
    if (too_long_or_reply(call, "mock.result", text, 0, MAX_DATA) != 0 ||
        enum_or_reply(call, "mock.fieldValidationMode", mode, modes, "STRICT, PRESENT, NONE") != 0)
        return -1;
    if (error_output) {
        const char *error = sfn_doc_str(error_output, "error");
        ts->mock = json_pack("{s:s,s:s?}", "error", error ? error : "", "cause",
                             sfn_doc_str(error_output, "cause"));
        return 0;
    }
    json_t *result = json_loads(text, JSON_DECODE_ANY, NULL);
    char msg[512] = "";
    if (!result)
        snprintf(msg, sizeof msg, "Mocked result must be valid JSON");
    else if (is_type(state, "Map") && member(state, "ResultWriter") && !json_is_object(result))
        snprintf(msg, sizeof msg, "Mocked result must be a JSON object.");
    else if ((is_type(state, "Map") && !member(state, "ResultWriter")) ||
             is_type(state, "Parallel")) {
        if (!json_is_array(result))
            snprintf(msg, sizeof msg, "Mocked result must be an array.");
        else if (is_type(state, "Parallel") &&
                 json_array_size(result) != json_array_size(member(state, "Branches")))
            snprintf(msg, sizeof msg,
                     "Mocked result must contain the same number of items as number of "
                     "Parallel branches.");
    } else if (is_type(state, "Task") && (!mode || strcmp(mode, "NONE") != 0)) {
        const model_shape *shape = task_output_shape(ts->s, state);
        if (shape && !json_is_object(result))
            snprintf(msg, sizeof msg,
                     "Mock result schema validation error: The result must be a JSON object");
        else
            shape_check(shape, result, NULL, msg, sizeof msg, 0);
    }
    if (msg[0]) {
        json_decref(result);
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION, "%s", msg);
        return -1;
    }
    ts->mock = json_pack("{s:o}", "result", result);
    return 0;
}

/* ---- the request -------------------------------------------------------------------- */

/* A JSON document member (input, variables, context): parsed into *out, or -1 (replied). */
static int document_or_reply(aws_call *call, const char *field, aws_error err, bool object,
                             json_t **out)
{
    const char *text = sfn_str(call, field);
    *out = NULL;
    if (!text)
        return 0;
    json_error_t jerr;
    json_t *v = strlen(text) <= MAX_DATA ? json_loads(text, JSON_DECODE_ANY, &jerr) : NULL;
    const char *why = strlen(text) > MAX_DATA ? "The value exceeds the maximum size of 262144 bytes"
                      : !v                    ? jerr.text
                      : object && !json_is_object(v) ? "The value must be a JSON object"
                                                     : NULL;
    if (why) {
        json_decref(v);
        if (err == AWS_ERR_SFN_INVALID_EXECUTION_INPUT)
            aws_reply_error(call, err, "Invalid State Machine Execution Input: '%s'", why);
        else
            aws_reply_error(call, err, "Invalid %s: '%s'", field, why);
        return -1;
    }
    *out = v;
    return 0;
}

/* A state nested in a Map's or Parallel's workflows. */
static bool holds_state(const json_t *state, const char *name)
{
    const char *ql;
    const json_t *p =
        member(state, "ItemProcessor") ? member(state, "ItemProcessor") : member(state, "Iterator");
    if (p && find_state(p, name, NULL, &ql, 0))
        return true;
    size_t i;
    json_t *b;
    json_array_foreach(member(state, "Branches"), i, b)
    {
        if (find_state(b, name, NULL, &ql, 0))
            return true;
    }
    return false;
}

/* The Items a Map's ItemReader reads, from mapItemReaderData: a JSON array, or JSON Lines
 * (ReaderConfig.InputType "JSONL"); other sources read as nothing. */
static json_t *reader_items(const json_t *state, const char *data)
{
    const char *input_type =
        sfn_doc_str(member(member(state, "ItemReader"), "ReaderConfig"), "InputType");
    json_t *items = json_array();
    if (!data)
        return items;
    if (!input_type || strcmp(input_type, "JSON") == 0) {
        json_t *v = json_loads(data, JSON_DECODE_ANY, NULL);
        if (json_is_array(v))
            json_array_extend(items, v);
        json_decref(v);
    } else if (strcmp(input_type, "JSONL") == 0) {
        const char *p = data;
        while (*p) {
            const char *nl = strchr(p, '\n');
            size_t n = nl ? (size_t)(nl - p) : strlen(p);
            json_t *v = json_loadb(p, n, JSON_DECODE_ANY, NULL);
            if (v)
                json_array_append_new(items, v);
            p += n + (nl ? 1 : 0);
        }
    }
    return items;
}

/* stateConfiguration: what applies to which state. */
static int config_or_reply(aws_call *call, sfn_test *ts)
{
    json_t *c = member(call->input, "stateConfiguration");
    if (!c)
        return 0;
    const json_t *state = ts->state;
    const char *caused = sfn_doc_str(c, "errorCausedByState");
    const char *why = NULL;
    json_t *retries = member(c, "retrierRetryCount"),
           *failures = member(c, "mapIterationFailureCount");
    if ((retries && json_integer_value(retries) < 0) ||
        (failures && json_integer_value(failures) < 0))
        why = "retrierRetryCount and mapIterationFailureCount must not be negative";
    else if ((failures || member(c, "mapItemReaderData")) && !is_type(state, "Map"))
        why = "mapIterationFailureCount and mapItemReaderData apply to Map states only";
    else if (member(c, "mapItemReaderData") && !member(state, "ItemReader"))
        why = "mapItemReaderData applies to a Map state with an ItemReader";
    else if (caused && !is_type(state, "Map") && !is_type(state, "Parallel"))
        why = "errorCausedByState applies to Map and Parallel states only";
    else if (caused && (!ts->mock || !member(ts->mock, "error")))
        why = "errorCausedByState requires a mocked errorOutput";
    else if (caused && !holds_state(state, caused))
        why = "errorCausedByState must name a state inside the tested Map or Parallel state";
    if (why) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION, "%s", why);
        return -1;
    }
    ts->config = json_incref(c);
    return 0;
}

/* What a Task needs to run without a mock. */
static int unmocked_task_or_reply(aws_call *call, const json_t *state)
{
    const char *res = sfn_doc_str(state, "Resource");
    if (res && (sfn_is_activity_arn(res) || ends_with(res, ".sync") || ends_with(res, ".sync:2") ||
                ends_with(res, ".waitForTaskToken"))) {
        aws_reply_error(call, AWS_ERR_SFN_INVALID_DEFINITION,
                        "TestState API does not support Activity tasks, .sync or "
                        ".waitForTaskToken integration patterns without a mock");
        return -1;
    }
    if (!sfn_str(call, "roleArn")) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "RoleArn must be specified when testing a Task state");
        return -1;
    }
    return 0;
}

/* The request's members, each as AWS's model constrains it. */
static int members_or_reply(aws_call *call)
{
    static const char *const levels[] = {"INFO", "DEBUG", "TRACE", NULL};
    const char *def = sfn_str(call, "definition"), *role = sfn_str(call, "roleArn");
    if (!def) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "1 validation error detected: Value null at 'definition' failed to "
                        "satisfy constraint: Member must not be null");
        return -1;
    }
    if (too_long_or_reply(call, "definition", def, 1, MAX_DEFINITION) != 0 ||
        too_long_or_reply(call, "roleArn", role, 1, 256) != 0 ||
        too_long_or_reply(call, "stateName", sfn_str(call, "stateName"), 1, 80) != 0 ||
        enum_or_reply(call, "inspectionLevel", sfn_str(call, "inspectionLevel"), levels,
                      "INFO, DEBUG, TRACE") != 0)
        return -1;
    if (role && strncmp(role, "arn:", 4) != 0) {
        aws_reply_error(call, AWS_ERR_SFN_INVALID_ARN, "Invalid Arn: 'Invalid ARN prefix: %s'",
                        role);
        return -1;
    }
    return 0;
}

/* The run's document: an EXPRESS-like execution of a machine of its own (their names as
 * AWS's TestState gives them: an "express" execution ARN), never stored. */
static json_t *run_document(const sfn *s, aws_call *call, json_t *input, json_t *vars,
                            const char *name)
{
    char machine[37], exec[37], arn[300], machine_arn[300];
    ids_uuid4(machine);
    ids_uuid4(exec);
    snprintf(machine_arn, sizeof machine_arn, "arn:aws:states:%s:%s:stateMachine:%s", s->region,
             s->account, machine);
    snprintf(arn, sizeof arn, "arn:aws:states:%s:%s:express:%s:%s", s->region, s->account, machine,
             exec);
    const char *text = sfn_str(call, "input");
    json_t *doc = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:{s:s,s:o,s:s}}", "executionArn", arn,
                            "stateMachineArn", machine_arn, "name", exec, "stateMachineName",
                            machine, "status", "RUNNING", "startDate", (json_int_t)clock_now_ms(),
                            "input", text ? text : "{}", "cursor", "state", name, "stateInput",
                            input ? input : json_object(), "phase", "enter");
    if (sfn_str(call, "roleArn"))
        json_object_set_new(doc, "roleArn", json_string(sfn_str(call, "roleArn")));
    if (vars)
        json_object_set_new(doc, "variables", vars);
    return doc;
}

/* Everything the call asks, checked; ts ready to run. -1 when replied. */
static int prepare_or_reply(aws_call *call, sfn_test *ts)
{
    json_t *def = NULL, *input = NULL, *vars = NULL, *context = NULL;
    json_t *mock = member(call->input, "mock");
    const char *name = NULL;
    if (members_or_reply(call) != 0 || definition_or_reply(call, ts, &def, &name) != 0)
        return -1;
    ts->ex.def = def;
    const json_t *state = ts->state;
    if (!mock && (is_type(state, "Map") || is_type(state, "Parallel"))) {
        aws_reply_error(call, AWS_ERR_SFN_INVALID_DEFINITION,
                        "TestState API does not support Map or Parallel states. Supported state "
                        "types include: [Task, Wait, Pass, Succeed, Fail, Choice]");
        return -1;
    }
    if ((mock && mock_or_reply(call, ts, mock) != 0) ||
        (!mock && is_type(state, "Task") && unmocked_task_or_reply(call, state) != 0) ||
        config_or_reply(call, ts) != 0)
        return -1;
    if (sfn_str(call, "context") && !mock) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "The context field may only be specified when a mock is specified");
        return -1;
    }
    if (document_or_reply(call, "input", AWS_ERR_SFN_INVALID_EXECUTION_INPUT, false, &input) != 0 ||
        document_or_reply(call, "variables", AWS_ERR_EVENTS_VALIDATION, true, &vars) != 0 ||
        document_or_reply(call, "context", AWS_ERR_EVENTS_VALIDATION, true, &context) != 0) {
        json_decref(input);
        json_decref(vars);
        return -1;
    }
    ts->context = context;
    const char *level = sfn_str(call, "inspectionLevel");
    ts->debug = level && strcmp(level, "INFO") != 0;
    ts->ex.doc = run_document(ts->s, call, input, vars, name);
    if (is_type(state, "Map") && member(state, "ItemReader"))
        json_object_set_new(ts->ex.doc, "readerItems",
                            reader_items(state, sfn_doc_str(ts->config, "mapItemReaderData")));
    set_text(ts->inspect, "input", member(member(ts->ex.doc, "cursor"), "stateInput"));
    return 0;
}

/* ---- running ---------------------------------------------------------------------------- */

static void on_timer(uv_timer_t *timer);

static void kick(sfn_test *ts)
{
    ts->kicked = true;
    uv_timer_start(ts->timer, on_timer, 0, 0);
}

static void free_handle(uv_handle_t *h)
{
    xfree(h);
}

static void test_free(sfn_test *ts)
{
    sfn *s = ts->s;
    if (ts->prev)
        ts->prev->next = ts->next;
    else if (s->tests == ts)
        s->tests = ts->next;
    if (ts->next)
        ts->next->prev = ts->prev;
    if (ts->timer) {
        ts->timer->data = NULL;
        uv_close((uv_handle_t *)ts->timer, free_handle);
    }
    json_decref(ts->ex.doc);
    json_decref(ts->ex.def);
    json_decref(ts->inspect);
    json_decref(ts->mock);
    json_decref(ts->context);
    json_decref(ts->config);
    xfree(ts);
}

/* stateConfiguration.retrierRetryCount: the retries already made, as the cursor counts them
 * (the first matching retrier is the one that counts). */
static void set_retries_made(sfn_test *ts, json_t *cursor)
{
    json_t *n = member(ts->config, "retrierRetryCount");
    json_t *attempts = member(cursor, "attempts");
    if (!n || !json_is_object(attempts))
        return;
    for (size_t i = 0; i < json_array_size(member(ts->state, "Retry")); i++) {
        char key[24];
        snprintf(key, sizeof key, "%zu", i);
        json_object_set_new(attempts, key, json_integer(json_integer_value(n)));
    }
}

/* A Map's or Parallel's branches, as the mock says they ended. */
static void mock_branches(sfn_test *ts, json_t *cursor)
{
    json_t *result = member(ts->mock, "result");
    json_int_t failures = json_integer_value(member(ts->config, "mapIterationFailureCount"));
    if (!result)
        json_object_set_new(cursor, "failed",
                            json_pack("{s:O,s:O?}", "error", member(ts->mock, "error"), "cause",
                                      member(ts->mock, "cause")));
    else if (is_type(ts->state, "Map") && failures > 0 &&
             sfn_map_over_tolerance(ts->state, failures,
                                    json_integer_value(member(cursor, "total"))))
        json_object_set_new(cursor, "failed",
                            json_pack("{s:s,s:s}", "error",
                                      "States.ExceedToleratedFailureThreshold", "cause",
                                      "The specified tolerated failure threshold was exceeded"));
    else
        json_object_set_new(cursor, "results", json_deep_copy(result));
    json_object_set(cursor, "done", member(cursor, "total"));
}

/* A Task's attempt: the mock's answer, or the real call (limited by the state's
 * TimeoutSeconds and by the five minutes of a TestState). */
static void run_task(sfn_test *ts, json_t *cursor)
{
    sfn_exec *ex = &ts->ex;
    ts->called = true;
    if (ts->mock) {
        json_t *result = member(ts->mock, "result");
        sfn_task_mock_answer(ts->s, ex, result ? json_deep_copy(result) : NULL,
                             sfn_doc_str(ts->mock, "error"), sfn_doc_str(ts->mock, "cause"));
        return;
    }
    int64_t deadline = sfn_doc_int(cursor, "deadlineMs");
    if (!deadline || deadline > ts->limit_ms)
        deadline = ts->limit_ms;
    int64_t delay = deadline - clock_now_ms();
    ts->kicked = false; /* (a call that answers at once kicks it again) */
    uv_timer_start(ts->timer, on_timer, delay > 0 ? (uint64_t)delay : 0, 0);
    sfn_task_start(ts->s, ex);
}

static void finish(sfn_test *ts);

/* The next action, after a step: the state's next step, or the answer. */
static void advance(sfn_test *ts)
{
    sfn_exec *ex = &ts->ex;
    if (!ts->started) {
        ts->started = true;
        sfn_exec_run_step(ts->s, ex);
        return;
    }
    json_t *cursor = member(ex->doc, "cursor");
    const char *phase = sfn_exec_running(ex) ? sfn_doc_str(cursor, "phase") : "";
    if (strcmp(phase, "task") == 0 && !ts->called) {
        set_retries_made(ts, cursor);
        run_task(ts, cursor);
    } else if (strcmp(phase, "branches") == 0 && !ts->called) {
        ts->called = true;
        set_retries_made(ts, cursor);
        mock_branches(ts, cursor);
        sfn_exec_run_step(ts->s, ex);
    } else {
        finish(ts);
    }
}

static void on_timer(uv_timer_t *timer)
{
    sfn_test *ts = timer->data;
    if (!ts || !ts->call || ts->s->stopping)
        return;
    if (ts->kicked) {
        ts->kicked = false;
        advance(ts);
        return;
    }
    /* the deadline of the Task's call: it times out (its late answer is dropped) */
    json_t *cursor = member(ts->ex.doc, "cursor");
    if (sfn_exec_running(&ts->ex) && strcmp(sfn_doc_str(cursor, "phase"), "task") == 0)
        sfn_exec_run_step(ts->s, &ts->ex);
}

/* ---- the answer ------------------------------------------------------------------------- */

/* The inspection fields AWS shows that no step records (or records otherwise). */
static void inspection_by_type(sfn_test *ts)
{
    json_t *in = ts->inspect, *state = ts->state;
    bool jsonpath = !sfn_state_is_jsonata(ts->ex.def, state);
    if (jsonpath && is_type(state, "Pass")) {
        json_t *result = member(state, "Result");
        if (result) { /* the Result replaces the input: no input processing is shown */
            json_object_del(in, "afterInputPath");
            json_object_del(in, "afterParameters");
            set_text(in, "result", result);
            set_text(in, "afterResultSelector", result);
        } else if (member(in, "afterParameters")) {
            json_object_set(in, "afterResultSelector", member(in, "afterParameters"));
        }
    }
    if (jsonpath && is_type(state, "Fail"))
        json_object_set(in, "afterInputPath", member(in, "input"));
    if (is_type(state, "Map")) {
        json_t *mc = member(state, "MaxConcurrency");
        json_object_set_new(in, "maxConcurrency",
                            json_integer(json_is_integer(mc) ? json_integer_value(mc) : 0));
        json_t *count = member(state, "ToleratedFailureCount");
        json_t *pct = member(state, "ToleratedFailurePercentage");
        if (json_is_integer(count))
            json_object_set(in, "toleratedFailureCount", count);
        if (json_is_number(pct))
            json_object_set_new(in, "toleratedFailurePercentage",
                                json_real(json_number_value(pct)));
    }
    if (sfn_doc_str(ts->config, "errorCausedByState")) { /* the error came from inside */
        const char *drop[] = {"afterInputPath", "afterParameters",   "afterArguments",
                              "afterItemsPath", "afterItemSelector", "afterItemBatcher"};
        for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++)
            json_object_del(in, drop[i]);
    }
    json_t *vars = member(ts->ex.doc, "variables");
    if (json_object_size(vars) > 0)
        set_text(in, "variables", vars);
}

/* The run stopped after its state: what its cursor (or its end) says, as TestState's output. */
static json_t *outcome(sfn_test *ts)
{
    json_t *doc = ts->ex.doc, *out = json_object();
    json_t *cursor = member(doc, "cursor");
    const char *phase = sfn_exec_running(&ts->ex) ? sfn_doc_str(cursor, "phase") : NULL;
    const char *status;
    bool with_error = false;
    if (!phase) {
        bool ok = strcmp(sfn_doc_str(doc, "status"), "SUCCEEDED") == 0;
        status = ok ? "SUCCEEDED" : "FAILED";
        const char *keys[] = {"output", "error", "cause"};
        for (size_t i = 0; i < 3; i++)
            if (member(doc, keys[i]))
                json_object_set(out, keys[i], member(doc, keys[i]));
    } else if (strcmp(phase, "enter") == 0) { /* moved on: to its Next, or a catcher's */
        bool caught = member(member(ts->inspect, "errorDetails"), "catchIndex") != NULL;
        status = caught ? "CAUGHT_ERROR" : "SUCCEEDED";
        with_error = caught;
        set_text(out, "output", member(cursor, "stateInput"));
        json_object_set(out, "nextState", member(cursor, "state"));
    } else if (strcmp(phase, "wait") == 0) { /* a Wait: done at once */
        status = "SUCCEEDED";
        set_text(out, "output", member(cursor, "waitOutput"));
        if (member(ts->state, "Next"))
            json_object_set(out, "nextState", member(ts->state, "Next"));
    } else if (strcmp(phase, "retry") == 0) {
        status = "RETRIABLE";
        with_error = true;
    } else {
        status = "FAILED";
        json_object_set_new(out, "error", json_string("States.Runtime"));
        json_object_set_new(out, "cause",
                            json_string("The state stopped where a TestState cannot follow it"));
    }
    if (with_error) {
        json_object_set(out, "error", member(ts->inspect, "_error"));
        if (member(ts->inspect, "_cause"))
            json_object_set(out, "cause", member(ts->inspect, "_cause"));
    }
    json_object_set_new(out, "status", json_string(status));
    return out;
}

static void finish(sfn_test *ts)
{
    json_t *out = outcome(ts);
    if (ts->debug) {
        inspection_by_type(ts);
        json_t *data = json_object();
        const char *k;
        json_t *v;
        json_object_foreach(ts->inspect, k, v)
        {
            if (k[0] != '_') /* "_error", "_cause": not inspection data */
                json_object_set(data, k, v);
        }
        json_object_set_new(out, "inspectionData", data);
    }
    aws_reply(ts->call, out);
    ts->call = NULL;
    if (sfn_exec_running(&ts->ex)) /* a call still out finds it over */
        json_object_set_new(ts->ex.doc, "status", json_string("ABORTED"));
    if (!ts->ex.inflight)
        test_free(ts);
}

/* ---- the operation and the hooks --------------------------------------------------------- */

void sfn_test_state(aws_call *call)
{
    sfn *s = sfn_of(call);
    if (s->stopping) {
        aws_reply_error(call, AWS_ERR_SERVICE_UNAVAILABLE, "The server is stopping.");
        return;
    }
    sfn_test *ts = xcalloc(1, sizeof *ts);
    ts->s = s;
    ts->call = call;
    ts->inspect = json_object();
    ts->ex.test = ts;
    if (prepare_or_reply(call, ts) != 0) {
        test_free(ts);
        return;
    }
    ts->limit_ms = sfn_doc_int(ts->ex.doc, "startDate") + TEST_LIMIT_MS;
    ts->timer = xcalloc(1, sizeof *ts->timer);
    uv_timer_init(s->loop, ts->timer);
    ts->timer->data = ts;
    ts->next = s->tests;
    if (s->tests)
        s->tests->prev = ts;
    s->tests = ts;
    kick(ts);
}

void sfn_test_step_begin(sfn_exec *ex, sfn_step_io *io)
{
    sfn_test *ts = ex->test;
    io->inspect = ts->inspect;
    json_t *retries = member(ts->config, "retrierRetryCount");
    if (retries && json_is_object(member(io->context, "State")))
        json_object_set(member(io->context, "State"), "RetryCount", retries);
    if (ts->context)
        lay_over(io->context, ts->context, 0);
}

void sfn_test_step_done(sfn_transition *t)
{
    sfn_test *ts = t->ex->test;
    sfn_transition_free(t);
    kick(ts);
}

void sfn_test_release(sfn *s, sfn_exec *ex)
{
    (void)s;
    if (!ex->test->call && !ex->inflight)
        test_free(ex->test);
}

bool sfn_test_is_mocked(const sfn_exec *ex)
{
    return ex->test && ex->test->mock;
}

json_t *sfn_test_reader_items(sfn_step_io *io)
{
    json_t *items = member(io->doc, "readerItems");
    return items ? json_incref(items) : json_array();
}

void sfn_inspect(sfn_step_io *io, const char *key, const json_t *value)
{
    if (io && io->inspect && value)
        json_object_set_new(io->inspect, key, sfn_json_text(value));
}

void sfn_inspect_error(sfn_step_io *io, const char *error, const char *cause)
{
    if (!io || !io->inspect)
        return;
    json_object_set_new(io->inspect, "_error", json_string(error ? error : ""));
    if (cause)
        json_object_set_new(io->inspect, "_cause", json_string(cause));
    else
        json_object_del(io->inspect, "_cause");
}

void sfn_inspect_handler(sfn_step_io *io, bool retry, size_t index, int64_t delay_ms)
{
    if (!io || !io->inspect)
        return;
    json_object_set_new(io->inspect, "errorDetails",
                        retry ? json_pack("{s:I,s:I}", "retryIndex", (json_int_t)index,
                                          "retryBackoffIntervalSeconds",
                                          (json_int_t)(delay_ms / 1000))
                              : json_pack("{s:I}", "catchIndex", (json_int_t)index));
}

void sfn_tests_stop(sfn *s)
{
    for (sfn_test *ts = s->tests; ts; ts = ts->next) {
        if (ts->timer)
            uv_timer_stop(ts->timer);
        if (ts->call) {
            aws_reply_error(ts->call, AWS_ERR_SERVICE_UNAVAILABLE, "The server is stopping.");
            ts->call = NULL;
        }
    }
}

void sfn_tests_free(sfn *s)
{
    while (s->tests)
        test_free(s->tests);
}
