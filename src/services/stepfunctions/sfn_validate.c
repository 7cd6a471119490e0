/* The Amazon States Language validator (see sfn_validate.h).
 *
 * One pass per workflow scope (the top level, each Parallel branch, each Map processor):
 * the scope's fields, then each state's fields by a table of the fields each state type
 * allows, then the transitions (every target exists), then the graph (a terminal state
 * exists, every state is reachable from StartAt). */
#include "services/stepfunctions/sfn_validate.h"

#include "services/stepfunctions/sfn_choice.h"
#include "services/stepfunctions/sfn_errors.h"
#include "services/stepfunctions/sfn_intrinsic.h"
#include "services/stepfunctions/sfn_jsonpath.h"
#include "services/stepfunctions/sfn_template.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* A diagnostic's location ("/States/X/Next"): truncated if absurdly deep, never an error. */
__attribute__((format(printf, 3, 4))) static void loc_printf(char *out, size_t n, const char *fmt,
                                                             ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, n, fmt, ap);
    va_end(ap);
}

#define MAX_NESTING 16

typedef struct checker {
    json_t *diags;
} checker;

static void diag(checker *c, const char *code, const char *location, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void diag(checker *c, const char *code, const char *location, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *d = json_pack("{s:s,s:s,s:s}", "severity", "ERROR", "code", code, "message", msg);
    if (location)
        json_object_set_new(d, "location", json_string(location));
    json_array_append_new(c->diags, d);
}

/* A library message that may end in " at /sub/location": split it onto the state's. */
static void diag_lib(checker *c, const char *where, const char *msg)
{
    const char *at = strstr(msg, " at /");
    char loc[1024];
    if (!at) {
        diag(c, "SCHEMA_VALIDATION_FAILED", where, "%s", msg);
        return;
    }
    loc_printf(loc, sizeof loc, "%s%s", where, at + 4);
    diag(c, "SCHEMA_VALIDATION_FAILED", loc, "%.*s", (int)(at - msg), msg);
}

/* ---- fields each state type allows ------------------------------------------------ */

typedef struct state_type {
    const char *name;
    bool transitions; /* takes Next / End */
    const char *const *fields;
} state_type;

static const char *const pass_fields[] = {"InputPath",  "OutputPath", "ResultPath",
                                          "Parameters", "Result",     NULL};
static const char *const task_fields[] = {"InputPath",
                                          "OutputPath",
                                          "ResultPath",
                                          "Parameters",
                                          "ResultSelector",
                                          "Resource",
                                          "Retry",
                                          "Catch",
                                          "TimeoutSeconds",
                                          "TimeoutSecondsPath",
                                          "Credentials",
                                          "HeartbeatSeconds",
                                          "HeartbeatSecondsPath",
                                          NULL};
static const char *const choice_fields[] = {"InputPath", "OutputPath", "Choices", "Default", NULL};
static const char *const wait_fields[] = {"InputPath",   "OutputPath",    "Seconds", "Timestamp",
                                          "SecondsPath", "TimestampPath", NULL};
static const char *const succeed_fields[] = {"InputPath", "OutputPath", NULL};
static const char *const fail_fields[] = {"Error", "Cause", "ErrorPath", "CausePath", NULL};
static const char *const parallel_fields[] = {"InputPath",  "OutputPath",     "ResultPath",
                                              "Parameters", "ResultSelector", "Branches",
                                              "Retry",      "Catch",          NULL};
static const char *const map_fields[] = {"InputPath",
                                         "OutputPath",
                                         "ResultPath",
                                         "Parameters",
                                         "ResultSelector",
                                         "ItemsPath",
                                         "ItemSelector",
                                         "ItemProcessor",
                                         "Iterator",
                                         "ItemReader",
                                         "ItemBatcher",
                                         "ResultWriter",
                                         "MaxConcurrency",
                                         "MaxConcurrencyPath",
                                         "ToleratedFailurePercentage",
                                         "ToleratedFailurePercentagePath",
                                         "ToleratedFailureCount",
                                         "ToleratedFailureCountPath",
                                         "Label",
                                         "Retry",
                                         "Catch",
                                         NULL};

static const state_type state_types[] = {
    {"Pass", true, pass_fields},         {"Task", true, task_fields},
    {"Choice", false, choice_fields},    {"Wait", true, wait_fields},
    {"Succeed", false, succeed_fields},  {"Fail", false, fail_fields},
    {"Parallel", true, parallel_fields}, {"Map", true, map_fields},
};

static const state_type *state_type_find(const char *name)
{
    for (size_t i = 0; i < sizeof state_types / sizeof state_types[0]; i++)
        if (strcmp(state_types[i].name, name) == 0)
            return &state_types[i];
    return NULL;
}

static bool field_allowed(const state_type *t, const char *field)
{
    if (strcmp(field, "Type") == 0 || strcmp(field, "Comment") == 0)
        return true;
    if (t->transitions && (strcmp(field, "Next") == 0 || strcmp(field, "End") == 0))
        return true;
    for (const char *const *f = t->fields; *f; f++)
        if (strcmp(*f, field) == 0)
            return true;
    return false;
}

/* ---- field checks ------------------------------------------------------------------ */

/* A path field: absent, JSON null (InputPath/OutputPath/ResultPath), or a valid path. */
static void check_path(checker *c, const json_t *state, const char *field, bool reference,
                       bool null_ok, const char *where)
{
    json_t *v = json_object_get(state, field);
    if (!v || (null_ok && json_is_null(v)))
        return;
    char err[512];
    if (!json_is_string(v)) {
        diag(c, "SCHEMA_VALIDATION_FAILED", where, "The value for the field '%s' must be a STRING",
             field);
        return;
    }
    if (sfn_path_validate(json_string_value(v), field, reference, err, sizeof err) != 0)
        diag(c, "SCHEMA_VALIDATION_FAILED", where, "%s", err);
}

/* ErrorPath / CausePath: a reference path or an intrinsic function. */
static void check_path_or_intrinsic(checker *c, const json_t *state, const char *field,
                                    const char *where)
{
    json_t *v = json_object_get(state, field);
    if (!v)
        return;
    const char *s = json_string_value(v);
    char err[512];
    if (s && sfn_intrinsic_is_call(s)) {
        sfn_intrinsic *f;
        if (sfn_intrinsic_compile(s, &f, err, sizeof err) != 0)
            diag(c, "SCHEMA_VALIDATION_FAILED", where, "%s", err);
        else
            sfn_intrinsic_free(f);
        return;
    }
    if (!s || sfn_path_validate(s, field, true, err, sizeof err) != 0)
        diag(c, "SCHEMA_VALIDATION_FAILED", where,
             "The value for the field '%s' must be a valid ReferencePath or intrinsic function",
             field);
}

static void check_template(checker *c, const json_t *state, const char *field, const char *where)
{
    json_t *v = json_object_get(state, field);
    if (!v)
        return;
    char err[512];
    if (!json_is_object(v))
        diag(c, "SCHEMA_VALIDATION_FAILED", where, "The value for the field '%s' must be an OBJECT",
             field);
    else if (sfn_template_validate(v, field, err, sizeof err) != 0)
        diag_lib(c, where, err);
}

static void check_string(checker *c, const json_t *state, const char *field, const char *where)
{
    json_t *v = json_object_get(state, field);
    if (v && !json_is_string(v))
        diag(c, "SCHEMA_VALIDATION_FAILED", where, "The value for the field '%s' must be a STRING",
             field);
}

static void check_exclusive(checker *c, const json_t *state, const char *a, const char *b,
                            const char *where)
{
    if (json_object_get(state, a) && json_object_get(state, b))
        diag(c, "SCHEMA_VALIDATION_FAILED", where,
             "Only one of the fields '%s' and '%s' may be given", a, b);
}

static void check_positive_int(checker *c, const json_t *state, const char *field, int64_t min,
                               const char *where)
{
    json_t *v = json_object_get(state, field);
    if (v && (!json_is_integer(v) || json_integer_value(v) < min))
        diag(c, "SCHEMA_VALIDATION_FAILED", where,
             "The value for the field '%s' must be an INTEGER of at least %lld", field,
             (long long)min);
}

static void check_transition(checker *c, const json_t *state, const char *where)
{
    json_t *next = json_object_get(state, "Next"), *end = json_object_get(state, "End");
    if (next && end)
        diag(c, "SCHEMA_VALIDATION_FAILED", where,
             "Only one of the fields 'Next' and 'End' may be given");
    else if (!next && !end)
        diag(c, "SCHEMA_VALIDATION_FAILED", where, "These fields are required: [Next, End]");
    else if (next && !json_is_string(next))
        diag(c, "SCHEMA_VALIDATION_FAILED", where,
             "The value for the field 'Next' must be a STRING");
    else if (end && !json_is_true(end))
        diag(c, "SCHEMA_VALIDATION_FAILED", where, "The value for the field 'End' must be true");
}

static void check_wait(checker *c, const json_t *state, const char *where)
{
    static const char *const modes[] = {"Seconds", "Timestamp", "SecondsPath", "TimestampPath"};
    int n = 0;
    for (size_t i = 0; i < 4; i++)
        n += json_object_get(state, modes[i]) != NULL;
    if (n != 1) {
        diag(c, "SCHEMA_VALIDATION_FAILED", where,
             "Exactly one of the fields 'Seconds', 'Timestamp', 'SecondsPath' and "
             "'TimestampPath' is required");
        return;
    }
    check_positive_int(c, state, "Seconds", 0, where);
    json_t *ts = json_object_get(state, "Timestamp");
    sfn_time t;
    if (ts && (!json_is_string(ts) || sfn_timestamp_parse(json_string_value(ts), &t) != 0))
        diag(c, "SCHEMA_VALIDATION_FAILED", where,
             "The value for the field 'Timestamp' must be a valid ISO-8601 timestamp");
    check_path(c, state, "SecondsPath", true, false, where);
    check_path(c, state, "TimestampPath", true, false, where);
}

static void check_retry_catch(checker *c, const json_t *state, const char *where)
{
    char err[512];
    json_t *retry = json_object_get(state, "Retry"), *catch = json_object_get(state, "Catch");
    if (retry) {
        if (sfn_error_equals_validate(retry, "Retry", err, sizeof err) != 0)
            diag_lib(c, where, err);
        size_t i;
        json_t *r;
        json_array_foreach(retry, i, r)
        {
            sfn_retry_policy p;
            if (json_is_object(r) && sfn_retry_policy_parse(r, &p, err, sizeof err) != 0)
                diag_lib(c, where, err);
        }
    }
    if (catch) {
        if (sfn_error_equals_validate(catch, "Catch", err, sizeof err) != 0)
            diag_lib(c, where, err);
        size_t i;
        json_t *k;
        json_array_foreach(catch, i, k)
        {
            char loc[1024];
            loc_printf(loc, sizeof loc, "%s/Catch[%zu]", where, i);
            if (!json_is_string(json_object_get(k, "Next")))
                diag(c, "SCHEMA_VALIDATION_FAILED", loc, "These fields are required: [Next]");
            check_path(c, k, "ResultPath", true, true, loc);
        }
    }
}

static void check_workflow(checker *c, const json_t *wf, const char *where, int depth);

/* Parallel branches and Map processors: nested workflows. */
static void check_nested(checker *c, const json_t *state, const char *type, const char *where,
                         int depth)
{
    if (strcmp(type, "Parallel") == 0) {
        json_t *branches = json_object_get(state, "Branches");
        if (!json_is_array(branches) || json_array_size(branches) == 0) {
            diag(c, "SCHEMA_VALIDATION_FAILED", where,
                 "The field 'Branches' should be a non-empty ARRAY");
            return;
        }
        size_t i;
        json_t *b;
        json_array_foreach(branches, i, b)
        {
            char loc[1024];
            loc_printf(loc, sizeof loc, "%s/Branches[%zu]", where, i);
            check_workflow(c, b, loc, depth + 1);
        }
    } else if (strcmp(type, "Map") == 0) {
        const char *field = json_object_get(state, "ItemProcessor") ? "ItemProcessor" : "Iterator";
        json_t *proc = json_object_get(state, field);
        if (!proc) {
            diag(c, "SCHEMA_VALIDATION_FAILED", where,
                 "These fields are required: [ItemProcessor]");
            return;
        }
        char loc[1024];
        loc_printf(loc, sizeof loc, "%s/%s", where, field);
        check_workflow(c, proc, loc, depth + 1);
        check_path(c, state, "ItemsPath", true, true, where);
        check_template(c, state, "ItemSelector", where);
    }
}

static void check_state(checker *c, const char *name, const json_t *state, const char *where,
                        int depth)
{
    if (strlen(name) > 80)
        diag(c, "SCHEMA_VALIDATION_FAILED", where, "State names must be at most 80 characters");
    if (!json_is_object(state)) {
        diag(c, "SCHEMA_VALIDATION_FAILED", where, "The value of a state must be an OBJECT");
        return;
    }
    json_t *tv = json_object_get(state, "Type");
    if (!tv) {
        diag(c, "SCHEMA_VALIDATION_FAILED", where, "These fields are required: [Type]");
        return;
    }
    const state_type *t = json_is_string(tv) ? state_type_find(json_string_value(tv)) : NULL;
    if (!t) {
        diag(c, "SCHEMA_VALIDATION_FAILED", where,
             "The value for the field 'Type' must be one of: Pass, Task, Choice, Wait, Succeed, "
             "Fail, Parallel, Map");
        return;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)state, k, v) if (!field_allowed(t, k))
        diag(c, "SCHEMA_VALIDATION_FAILED", where, "Field '%s' is not supported", k);
    if (t->transitions)
        check_transition(c, state, where);
    check_string(c, state, "Comment", where);
    check_path(c, state, "InputPath", false, true, where);
    check_path(c, state, "OutputPath", false, true, where);
    check_path(c, state, "ResultPath", true, true, where);
    check_template(c, state, "Parameters", where);
    check_template(c, state, "ResultSelector", where);
    char err[512];
    if (strcmp(t->name, "Choice") == 0 && sfn_choice_state_validate(state, err, sizeof err) != 0)
        diag_lib(c, where, err);
    if (strcmp(t->name, "Wait") == 0)
        check_wait(c, state, where);
    if (strcmp(t->name, "Fail") == 0) {
        check_exclusive(c, state, "Error", "ErrorPath", where);
        check_exclusive(c, state, "Cause", "CausePath", where);
        check_string(c, state, "Error", where);
        check_string(c, state, "Cause", where);
        check_path_or_intrinsic(c, state, "ErrorPath", where);
        check_path_or_intrinsic(c, state, "CausePath", where);
    }
    if (strcmp(t->name, "Task") == 0) {
        if (!json_is_string(json_object_get(state, "Resource")))
            diag(c, "SCHEMA_VALIDATION_FAILED", where, "These fields are required: [Resource]");
        check_positive_int(c, state, "TimeoutSeconds", 1, where);
        check_positive_int(c, state, "HeartbeatSeconds", 1, where);
        check_path(c, state, "TimeoutSecondsPath", true, false, where);
        check_path(c, state, "HeartbeatSecondsPath", true, false, where);
    }
    check_retry_catch(c, state, where);
    check_nested(c, state, t->name, where, depth);
}

/* ---- transitions and the graph ----------------------------------------------------- */

/* Calls fn for each transition target of state: (target, location suffix). */
typedef void (*target_fn)(const char *target, const char *loc, void *arg);

static void for_each_target(const json_t *state, const char *where, target_fn fn, void *arg)
{
    char loc[1024];
    const char *next = json_string_value(json_object_get(state, "Next"));
    if (next) {
        loc_printf(loc, sizeof loc, "%s/Next", where);
        fn(next, loc, arg);
    }
    const char *def = json_string_value(json_object_get(state, "Default"));
    if (def) {
        loc_printf(loc, sizeof loc, "%s/Default", where);
        fn(def, loc, arg);
    }
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(state, "Choices"), i, v)
    {
        const char *n = json_string_value(json_object_get(v, "Next"));
        loc_printf(loc, sizeof loc, "%s/Choices[%zu]/Next", where, i);
        if (n)
            fn(n, loc, arg);
    }
    json_array_foreach(json_object_get(state, "Catch"), i, v)
    {
        const char *n = json_string_value(json_object_get(v, "Next"));
        loc_printf(loc, sizeof loc, "%s/Catch[%zu]/Next", where, i);
        if (n)
            fn(n, loc, arg);
    }
}

typedef struct target_check {
    checker *c;
    const json_t *states;
} target_check;

static void check_one_target(const char *target, const char *loc, void *arg)
{
    target_check *t = arg;
    if (!json_object_get(t->states, target))
        diag(t->c, "MISSING_TRANSITION_TARGET", loc, "Missing 'Next' target: %s", target);
}

typedef struct reach {
    const json_t *states;
    json_t *seen; /* name -> true */
} reach;

static void visit(const char *target, const char *loc, void *arg);

static void visit_state(reach *r, const char *name)
{
    json_t *st = json_object_get(r->states, name);
    if (!st || json_object_get(r->seen, name))
        return;
    json_object_set_new(r->seen, name, json_true());
    for_each_target(st, "", visit, r);
}

static void visit(const char *target, const char *loc, void *arg)
{
    (void)loc;
    visit_state(arg, target);
}

static bool is_terminal(const json_t *state)
{
    const char *type = json_string_value(json_object_get(state, "Type"));
    return json_is_true(json_object_get(state, "End")) ||
           (type && (strcmp(type, "Succeed") == 0 || strcmp(type, "Fail") == 0));
}

static void check_graph(checker *c, const json_t *wf, const json_t *states, const char *where)
{
    char loc[1024];
    const char *start = json_string_value(json_object_get(wf, "StartAt"));
    target_check tc = {c, states};
    if (start && !json_object_get(states, start)) {
        loc_printf(loc, sizeof loc, "%s/StartAt", where);
        check_one_target(start, loc, &tc);
    }
    const char *name;
    json_t *st;
    bool terminal = false;
    json_object_foreach((json_t *)states, name, st)
    {
        loc_printf(loc, sizeof loc, "%s/States/%s", where, name);
        for_each_target(st, loc, check_one_target, &tc);
        terminal = terminal || is_terminal(st);
    }
    if (!terminal) {
        diag(c, "MISSING_END_STATE", NULL, "Workflow has no terminal state");
        return;
    }
    reach r = {states, json_object()};
    if (start)
        visit_state(&r, start);
    json_object_foreach((json_t *)states, name, st) if (!json_object_get(r.seen, name))
    {
        loc_printf(loc, sizeof loc, "%s/States/%s", where, name);
        diag(c, "MISSING_TRANSITION_TARGET", loc, "State \"%s\" is not reachable.", name);
    }
    json_decref(r.seen);
}

static void check_workflow(checker *c, const json_t *wf, const char *where, int depth)
{
    const char *at = where[0] ? where : "/";
    if (depth > MAX_NESTING) {
        diag(c, "SCHEMA_VALIDATION_FAILED", at, "Workflows are nested too deeply");
        return;
    }
    if (!json_is_object(wf)) {
        diag(c, "SCHEMA_VALIDATION_FAILED", at, "The value must be an OBJECT");
        return;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)wf, k, v)
    {
        static const char *const allowed[] = {"Comment", "StartAt",        "States",
                                              "Version", "TimeoutSeconds", "ProcessorConfig"};
        bool ok = false;
        for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
            ok = ok || strcmp(allowed[i], k) == 0;
        if (!ok)
            diag(c, "SCHEMA_VALIDATION_FAILED", at, "Field '%s' is not supported", k);
    }
    json_t *start = json_object_get(wf, "StartAt"), *states = json_object_get(wf, "States");
    if (!json_is_string(start) || !json_is_object(states) || json_object_size(states) == 0) {
        diag(c, "SCHEMA_VALIDATION_FAILED", at, "These fields are required: [StartAt, States]");
        return;
    }
    check_positive_int(c, wf, "TimeoutSeconds", 1, at);
    const char *name;
    json_t *st;
    char loc[1024];
    json_object_foreach(states, name, st)
    {
        loc_printf(loc, sizeof loc, "%s/States/%s", where, name);
        check_state(c, name, st, loc, depth);
    }
    check_graph(c, wf, states, where);
}

json_t *sfn_definition_validate(const char *text, json_t **parsed)
{
    checker c = {json_array()};
    if (parsed)
        *parsed = NULL;
    json_error_t jerr;
    json_t *def = json_loads(text ? text : "", JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(def)) {
        diag(&c, "INVALID_JSON_DESCRIPTION", NULL, "%s",
             def ? "The definition must be a JSON object" : jerr.text);
        json_decref(def);
        return c.diags;
    }
    check_workflow(&c, def, "", 0);
    if (parsed)
        *parsed = def;
    else
        json_decref(def);
    return c.diags;
}

void sfn_definition_error_message(const json_t *diagnostics, char *out, size_t n)
{
    size_t len = (size_t)snprintf(out, n, "Invalid State Machine Definition: '");
    size_t i;
    json_t *d;
    json_array_foreach(diagnostics, i, d)
    {
        const char *loc = json_string_value(json_object_get(d, "location"));
        if (len < n)
            len += (size_t)snprintf(out + len, n - len, "%s%s: %s%s%s", i ? ", " : "",
                                    json_string_value(json_object_get(d, "code")),
                                    json_string_value(json_object_get(d, "message")),
                                    loc ? " at " : "", loc ? loc : "");
    }
    if (len < n)
        snprintf(out + len, n - len, "'");
}
