/* The Amazon States Language validator (see sfn_validate.h).
 *
 * One pass per workflow scope (the top level, each Parallel branch, each Map processor):
 * the scope's fields, then each state's fields, then the transitions (every target
 * exists), then the graph (a terminal state exists, every state is reachable from
 * StartAt).
 *
 * Each state is checked in its query language: its own "QueryLanguage", else the
 * machine's (top-level "QueryLanguage", JSONPath by default; nested workflows inherit
 * the machine's). A table lists, per state type, the fields each language allows, so a
 * field of the other language gets AWS's "only supported for the 'X' QueryLanguage"
 * rather than "not supported". In a JSONata state every string of the form
 * "{% expression %}" is compiled with the JSONata library; in a JSONPath state paths,
 * templates and Choice rules go through the sfn_ libraries as before. Assign (both
 * languages) names variables: its keys are checked against AWS's variable name rules. */
#include "services/stepfunctions/sfn_validate.h"

#include "common/alloc.h"
#include "jsonata/jsonata.h"
#include "services/stepfunctions/sfn_choice.h"
#include "services/stepfunctions/sfn_errors.h"
#include "services/stepfunctions/sfn_http.h"
#include "services/stepfunctions/sfn_intrinsic.h"
#include "services/stepfunctions/sfn_jsonpath.h"
#include "services/stepfunctions/sfn_template.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
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
/* Nesting of the JSON values walked for JSONata strings (Arguments, Output, ...). */
#define MAX_VALUE_DEPTH 128
/* AWS: a variable name is at most 80 characters. */
#define VARIABLE_NAME_MAX 80

#define SCHEMA "SCHEMA_VALIDATION_FAILED"

typedef enum query_language { QL_JSONPATH, QL_JSONATA } query_language;

static const char *const ql_names[] = {"JSONPath", "JSONata"};

typedef struct checker {
    json_t *diags;
    query_language machine; /* the top-level QueryLanguage */
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
        diag(c, SCHEMA, where, "%s", msg);
        return;
    }
    loc_printf(loc, sizeof loc, "%s%s", where, at + 4);
    diag(c, SCHEMA, loc, "%.*s", (int)(at - msg), msg);
}

/* A location grown and shrunk while walking nested values, so deep values cost no
 * stack per level: push appends ("/key", "[3]") and returns the mark to pop back to. */
typedef struct where_buf {
    char text[1024];
    size_t len;
} where_buf;

__attribute__((format(printf, 2, 3))) static size_t where_push(where_buf *w, const char *fmt, ...)
{
    size_t mark = w->len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(w->text + w->len, sizeof w->text - w->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        w->len += (size_t)n < sizeof w->text - w->len ? (size_t)n : sizeof w->text - w->len - 1;
    return mark;
}

static void where_pop(where_buf *w, size_t mark)
{
    w->len = mark;
    w->text[mark] = '\0';
}

static void where_init(where_buf *w, const char *where)
{
    w->len = 0;
    w->text[0] = '\0';
    where_push(w, "%s", where);
}

/* ---- fields each state type allows, per query language ------------------------------ */

typedef struct state_type {
    const char *name;
    bool transitions;             /* takes Next / End */
    const char *const *fields[2]; /* indexed by query_language */
} state_type;

static const char *const pass_jsonpath[] = {"InputPath", "OutputPath", "ResultPath", "Parameters",
                                            "Result",    "Assign",     NULL};
static const char *const pass_jsonata[] = {"Output", "Assign", NULL};
static const char *const task_jsonpath[] = {"InputPath",
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
                                            "Assign",
                                            NULL};
static const char *const task_jsonata[] = {
    "Resource", "Arguments",      "Output",           "Assign",      "Retry",
    "Catch",    "TimeoutSeconds", "HeartbeatSeconds", "Credentials", NULL};
static const char *const choice_jsonpath[] = {"InputPath", "OutputPath", "Choices",
                                              "Default",   "Assign",     NULL};
static const char *const choice_jsonata[] = {"Choices", "Default", "Output", "Assign", NULL};
static const char *const wait_jsonpath[] = {"InputPath",   "OutputPath",    "Seconds", "Timestamp",
                                            "SecondsPath", "TimestampPath", "Assign",  NULL};
static const char *const wait_jsonata[] = {"Seconds", "Timestamp", "Output", "Assign", NULL};
static const char *const succeed_jsonpath[] = {"InputPath", "OutputPath", NULL};
static const char *const succeed_jsonata[] = {"Output", NULL};
static const char *const fail_jsonpath[] = {"Error", "Cause", "ErrorPath", "CausePath", NULL};
static const char *const fail_jsonata[] = {"Error", "Cause", NULL};
static const char *const parallel_jsonpath[] = {
    "InputPath", "OutputPath", "ResultPath", "Parameters", "ResultSelector",
    "Branches",  "Retry",      "Catch",      "Assign",     NULL};
static const char *const parallel_jsonata[] = {"Arguments", "Output", "Assign", "Branches",
                                               "Retry",     "Catch",  NULL};
static const char *const map_jsonpath[] = {"InputPath",
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
                                           "Assign",
                                           NULL};
static const char *const map_jsonata[] = {"Items",
                                          "ItemSelector",
                                          "ItemProcessor",
                                          "ItemReader",
                                          "ItemBatcher",
                                          "ResultWriter",
                                          "MaxConcurrency",
                                          "ToleratedFailurePercentage",
                                          "ToleratedFailureCount",
                                          "Label",
                                          "Output",
                                          "Assign",
                                          "Retry",
                                          "Catch",
                                          NULL};

static const state_type state_types[] = {
    {"Pass", true, {pass_jsonpath, pass_jsonata}},
    {"Task", true, {task_jsonpath, task_jsonata}},
    {"Choice", false, {choice_jsonpath, choice_jsonata}},
    {"Wait", true, {wait_jsonpath, wait_jsonata}},
    {"Succeed", false, {succeed_jsonpath, succeed_jsonata}},
    {"Fail", false, {fail_jsonpath, fail_jsonata}},
    {"Parallel", true, {parallel_jsonpath, parallel_jsonata}},
    {"Map", true, {map_jsonpath, map_jsonata}},
};

static const state_type *state_type_find(const char *name)
{
    for (size_t i = 0; i < sizeof state_types / sizeof state_types[0]; i++)
        if (strcmp(state_types[i].name, name) == 0)
            return &state_types[i];
    return NULL;
}

static bool in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return true;
    return false;
}

typedef enum field_status { FIELD_OK, FIELD_OTHER_LANGUAGE, FIELD_UNKNOWN } field_status;

static field_status field_check(const state_type *t, const char *field, query_language ql)
{
    if (strcmp(field, "Type") == 0 || strcmp(field, "Comment") == 0 ||
        strcmp(field, "QueryLanguage") == 0)
        return FIELD_OK;
    if (t->transitions && (strcmp(field, "Next") == 0 || strcmp(field, "End") == 0))
        return FIELD_OK;
    if (in_list(t->fields[ql], field))
        return FIELD_OK;
    return in_list(t->fields[!ql], field) ? FIELD_OTHER_LANGUAGE : FIELD_UNKNOWN;
}

static void diag_other_language(checker *c, query_language ql, const char *field, const char *where)
{
    diag(c, SCHEMA, where,
         "The QueryLanguage is set to '%s', but field '%s' is only supported for the '%s' "
         "QueryLanguage",
         ql_names[ql], field, ql_names[!ql]);
}

static void check_fields(checker *c, const state_type *t, const json_t *state, query_language ql,
                         const char *where)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)state, k, v)
    {
        field_status s = field_check(t, k, ql);
        if (s == FIELD_OTHER_LANGUAGE)
            diag_other_language(c, ql, k, where);
        else if (s == FIELD_UNKNOWN)
            diag(c, SCHEMA, where, "Field '%s' is not supported", k);
    }
}

/* ---- query languages ---------------------------------------------------------------- */

/* Reads obj's "QueryLanguage" into *out. Returns false when it is absent or invalid (the
 * latter reported at where/QueryLanguage). */
static bool read_query_language(checker *c, const json_t *obj, const char *where,
                                query_language *out)
{
    json_t *v = json_object_get(obj, "QueryLanguage");
    if (!v)
        return false;
    const char *s = json_string_value(v);
    for (int i = 0; s && i < 2; i++) {
        if (strcmp(s, ql_names[i]) == 0) {
            *out = (query_language)i;
            return true;
        }
    }
    char loc[1024];
    loc_printf(loc, sizeof loc, "%s/QueryLanguage", where);
    diag(c, SCHEMA, loc,
         "The field 'QueryLanguage' should have one of these values: [JSONPath, "
         "JSONata]");
    return false;
}

/* A state's language: its own, else the machine's. A JSONata machine admits no JSONPath
 * state (the reverse is allowed). */
static query_language state_language(checker *c, const json_t *state, const char *where)
{
    query_language own;
    if (!read_query_language(c, state, where, &own))
        return c->machine;
    if (own == QL_JSONPATH && c->machine == QL_JSONATA) {
        char loc[1024];
        loc_printf(loc, sizeof loc, "%s/QueryLanguage", where);
        diag(c, SCHEMA, loc,
             "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine");
        return QL_JSONATA;
    }
    return own;
}

/* ---- JSONata expressions -------------------------------------------------------------- */

static bool is_jsonata_string(const json_t *v)
{
    const char *s = json_string_value(v);
    return s && strncmp(s, "{%", 2) == 0;
}

/* A string that opens with "{%": it must close with "%}" and what is between must
 * compile. `field` is the state field it sits in (named in the message). */
static void check_jsonata_string(checker *c, const char *field, const char *s, const char *where)
{
    size_t n = strlen(s);
    if (n < 4 || strcmp(s + n - 2, "%}") != 0) {
        diag(c, SCHEMA, where, "JSONata string must start with {%% and end with %%}");
        return;
    }
    char *src = xmalloc(n - 3);
    memcpy(src, s + 2, n - 4);
    src[n - 4] = '\0';
    char err[512];
    jsonata_expr *e = jsonata_compile(src, err, sizeof err);
    if (!e)
        diag(c, SCHEMA, where,
             "The value for the field '%s' must be a valid JSONata expression: %s", field, err);
    jsonata_free(e);
    free(src);
}

/* Every JSONata string in v (objects and arrays walked), located below w. */
static void walk_jsonata(checker *c, const char *field, const json_t *v, where_buf *w, int depth)
{
    if (is_jsonata_string(v)) {
        check_jsonata_string(c, field, json_string_value(v), w->text);
        return;
    }
    if (depth >= MAX_VALUE_DEPTH)
        return;
    if (json_is_object(v)) {
        const char *k;
        json_t *m;
        json_object_foreach((json_t *)v, k, m)
        {
            size_t mark = where_push(w, "/%s", k);
            walk_jsonata(c, field, m, w, depth + 1);
            where_pop(w, mark);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *m;
        json_array_foreach(v, i, m)
        {
            size_t mark = where_push(w, "[%zu]", i);
            walk_jsonata(c, field, m, w, depth + 1);
            where_pop(w, mark);
        }
    }
}

/* Fields whose values are structure (names, nested workflows, retriers), not data. */
static bool holds_no_expressions(const char *field)
{
    static const char *const structural[] = {"Type",     "Comment",  "QueryLanguage", "Next",
                                             "End",      "Branches", "ItemProcessor", "Retry",
                                             "Resource", "Default",  "Label",         NULL};
    return in_list(structural, field);
}

/* The fields of Choice rules and catchers that hold expressions. */
static void walk_elements(checker *c, const char *field, const json_t *list, where_buf *w)
{
    static const char *const subfields[] = {"Condition", "Output", "Assign"};
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        for (size_t k = 0; k < 3; k++) {
            json_t *v = json_object_get(e, subfields[k]);
            if (!v)
                continue;
            size_t mark = where_push(w, "/%s[%zu]/%s", field, i, subfields[k]);
            walk_jsonata(c, subfields[k], v, w, 0);
            where_pop(w, mark);
        }
    }
}

/* Compiles every JSONata string in a JSONata state's data fields. */
static void check_jsonata_fields(checker *c, const state_type *t, const json_t *state,
                                 const char *where)
{
    where_buf w;
    where_init(&w, where);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)state, k, v)
    {
        if (field_check(t, k, QL_JSONATA) != FIELD_OK || holds_no_expressions(k))
            continue;
        if (strcmp(k, "Choices") == 0 || strcmp(k, "Catch") == 0) {
            walk_elements(c, k, v, &w);
            continue;
        }
        size_t mark = where_push(&w, "/%s", k);
        walk_jsonata(c, k, v, &w, 0);
        where_pop(&w, mark);
    }
}

/* ---- variables ---------------------------------------------------------------------- */

static bool name_start_char(unsigned char ch)
{
    /* Bytes of non-ASCII characters count as letters (Unicode identifiers). */
    return ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch >= 0x80;
}

static bool name_char(unsigned char ch)
{
    return name_start_char(ch) || (ch >= '0' && ch <= '9');
}

/* Why the first len bytes of name cannot name a variable, or NULL when they can. */
static const char *variable_name_problem(const char *name, size_t len)
{
    if (len == 0 || !name_start_char((unsigned char)name[0]))
        return "it must start with a letter or an underscore";
    size_t chars = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (!name_char(ch))
            return "it may contain only letters, digits and underscores";
        chars += (ch & 0xC0) != 0x80; /* count UTF-8 lead bytes */
    }
    if (chars > VARIABLE_NAME_MAX)
        return "it must be at most 80 characters long";
    if (len == 6 && memcmp(name, "states", 6) == 0)
        return "'states' is reserved";
    return NULL;
}

/* A ".$" value of a JSONPath Assign: a path, a variable reference ("$name.x") or an
 * intrinsic function call. */
static bool jsonpath_assign_expression_ok(const char *s)
{
    char err[512];
    if (sfn_intrinsic_is_call(s)) {
        sfn_intrinsic *f;
        if (sfn_intrinsic_compile(s, &f, err, sizeof err) != 0)
            return false;
        sfn_intrinsic_free(f);
        return true;
    }
    if (s[0] == '$' && name_start_char((unsigned char)s[1]))
        return true;
    return sfn_path_validate(s, "Assign", false, err, sizeof err) == 0;
}

static bool is_dynamic_key(const char *key)
{
    size_t n = strlen(key);
    return n >= 2 && strcmp(key + n - 2, ".$") == 0;
}

/* The values of a JSONPath Assign: like a payload template, ".$" keys (at any depth)
 * take a path, a variable reference or an intrinsic function call. */
static void walk_jsonpath_assign(checker *c, const char *key, const json_t *v, where_buf *w,
                                 int depth)
{
    if (key && is_dynamic_key(key)) {
        if (!json_is_string(v) || !jsonpath_assign_expression_ok(json_string_value(v)))
            diag(c, SCHEMA, w->text,
                 "The value for the field '%s' must be a valid JSONPath or a valid intrinsic "
                 "function call",
                 key);
        return;
    }
    if (depth >= MAX_VALUE_DEPTH)
        return;
    if (json_is_object(v)) {
        const char *k;
        json_t *m;
        json_object_foreach((json_t *)v, k, m)
        {
            size_t mark = where_push(w, "/%s", k);
            walk_jsonpath_assign(c, k, m, w, depth + 1);
            where_pop(w, mark);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *m;
        json_array_foreach(v, i, m)
        {
            size_t mark = where_push(w, "[%zu]", i);
            walk_jsonpath_assign(c, NULL, m, w, depth + 1);
            where_pop(w, mark);
        }
    }
}

/* obj's "Assign" (a state, a Choice rule or a catcher at `where`): an object whose keys
 * name variables (in JSONPath a key may end in ".$", its value then being selected). */
static void check_assign(checker *c, const json_t *obj, query_language ql, const char *where)
{
    json_t *assign = json_object_get(obj, "Assign");
    if (!assign)
        return;
    where_buf w;
    where_init(&w, where);
    where_push(&w, "/Assign");
    if (!json_is_object(assign)) {
        diag(c, SCHEMA, w.text, "The value for the field 'Assign' must be an OBJECT");
        return;
    }
    const char *k;
    json_t *v;
    json_object_foreach(assign, k, v)
    {
        size_t len = strlen(k);
        if (ql == QL_JSONPATH && is_dynamic_key(k))
            len -= 2;
        const char *problem = variable_name_problem(k, len);
        if (problem)
            diag(c, SCHEMA, w.text, "The variable name '%.*s' is not valid: %s",
                 (int)(len > 200 ? 200 : len), k, problem);
        if (ql == QL_JSONPATH) {
            size_t mark = where_push(&w, "/%s", k);
            walk_jsonpath_assign(c, k, v, &w, 0);
            where_pop(&w, mark);
        }
    }
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
        diag(c, SCHEMA, where, "The value for the field '%s' must be a STRING", field);
        return;
    }
    if (sfn_path_validate(json_string_value(v), field, reference, err, sizeof err) != 0)
        diag(c, SCHEMA, where, "%s", err);
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
            diag(c, SCHEMA, where, "%s", err);
        else
            sfn_intrinsic_free(f);
        return;
    }
    if (!s || sfn_path_validate(s, field, true, err, sizeof err) != 0)
        diag(c, SCHEMA, where,
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
        diag(c, SCHEMA, where, "The value for the field '%s' must be an OBJECT", field);
    else if (sfn_template_validate(v, field, err, sizeof err) != 0)
        diag_lib(c, where, err);
}

static void check_string(checker *c, const json_t *state, const char *field, const char *where)
{
    json_t *v = json_object_get(state, field);
    if (v && !json_is_string(v))
        diag(c, SCHEMA, where, "The value for the field '%s' must be a STRING", field);
}

static void check_exclusive(checker *c, const json_t *state, const char *a, const char *b,
                            const char *where)
{
    if (json_object_get(state, a) && json_object_get(state, b))
        diag(c, SCHEMA, where, "Only one of the fields '%s' and '%s' may be given", a, b);
}

static void check_positive_int(checker *c, const json_t *state, const char *field, int64_t min,
                               const char *where)
{
    json_t *v = json_object_get(state, field);
    if (v && (!json_is_integer(v) || json_integer_value(v) < min))
        diag(c, SCHEMA, where, "The value for the field '%s' must be an INTEGER of at least %lld",
             field, (long long)min);
}

/* JSONata states: an integer field may instead hold an expression (compiled elsewhere). */
static void check_int_or_expression(checker *c, const json_t *state, const char *field, int64_t min,
                                    const char *where)
{
    json_t *v = json_object_get(state, field);
    if (v && !is_jsonata_string(v) && (!json_is_integer(v) || json_integer_value(v) < min))
        diag(c, SCHEMA, where,
             "The value for the field '%s' must be an INTEGER of at least %lld or a JSONata "
             "expression",
             field, (long long)min);
}

/* JSONata states: Arguments, ItemSelector (an object) and Items (an array) may instead be
 * one expression. */
static void check_shape_or_expression(checker *c, const json_t *state, const char *field,
                                      bool array, const char *where)
{
    json_t *v = json_object_get(state, field);
    if (v && !is_jsonata_string(v) && !(array ? json_is_array(v) : json_is_object(v)))
        diag(c, SCHEMA, where, "The value for the field '%s' must be an %s or a JSONata expression",
             field, array ? "ARRAY" : "OBJECT");
}

static void check_transition(checker *c, const json_t *state, const char *where)
{
    json_t *next = json_object_get(state, "Next"), *end = json_object_get(state, "End");
    if (next && end)
        diag(c, SCHEMA, where, "Only one of the fields 'Next' and 'End' may be given");
    else if (!next && !end)
        diag(c, SCHEMA, where, "These fields are required: [Next, End]");
    else if (next && !json_is_string(next))
        diag(c, SCHEMA, where, "The value for the field 'Next' must be a STRING");
    else if (end && !json_is_true(end))
        diag(c, SCHEMA, where, "The value for the field 'End' must be true");
}

static void check_timestamp(checker *c, const json_t *state, query_language ql, const char *where)
{
    json_t *ts = json_object_get(state, "Timestamp");
    sfn_time t;
    if (!ts || (ql == QL_JSONATA && is_jsonata_string(ts)))
        return;
    if (!json_is_string(ts) || sfn_timestamp_parse(json_string_value(ts), &t) != 0)
        diag(c, SCHEMA, where,
             "The value for the field 'Timestamp' must be a valid ISO-8601 timestamp");
}

static void check_wait(checker *c, const json_t *state, query_language ql, const char *where)
{
    static const char *const modes[] = {"Seconds", "Timestamp", "SecondsPath", "TimestampPath"};
    size_t nmodes = ql == QL_JSONATA ? 2 : 4;
    int n = 0;
    for (size_t i = 0; i < nmodes; i++)
        n += json_object_get(state, modes[i]) != NULL;
    if (n != 1) {
        diag(c, SCHEMA, where, "%s",
             ql == QL_JSONATA ? "Exactly one of the fields 'Seconds' and 'Timestamp' is required"
                              : "Exactly one of the fields 'Seconds', 'Timestamp', 'SecondsPath' "
                                "and 'TimestampPath' is required");
        return;
    }
    check_timestamp(c, state, ql, where);
    if (ql == QL_JSONATA) {
        check_int_or_expression(c, state, "Seconds", 0, where);
        return;
    }
    check_positive_int(c, state, "Seconds", 0, where);
    check_path(c, state, "SecondsPath", true, false, where);
    check_path(c, state, "TimestampPath", true, false, where);
}

/* A catcher: Next, and the output fields of its language (ResultPath for JSONPath,
 * Output for JSONata; the JSONata strings are compiled with the state's). */
static void check_catcher(checker *c, const json_t *k, query_language ql, const char *loc)
{
    if (!json_is_string(json_object_get(k, "Next")))
        diag(c, SCHEMA, loc, "These fields are required: [Next]");
    const char *foreign = ql == QL_JSONATA ? "ResultPath" : "Output";
    if (json_object_get(k, foreign))
        diag_other_language(c, ql, foreign, loc);
    if (ql == QL_JSONPATH)
        check_path(c, k, "ResultPath", true, true, loc);
    check_assign(c, k, ql, loc);
}

static void check_retry_catch(checker *c, const json_t *state, query_language ql, const char *where)
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
            check_catcher(c, k, ql, loc);
        }
    }
}

/* ---- Choice states ---------------------------------------------------------------------- */

/* Fields of JSONPath Choice rules: Variable, the combinators and the comparison
 * operators (String..., Numeric..., Boolean..., Timestamp..., Is...). */
static bool is_jsonpath_rule_field(const char *k)
{
    static const char *const prefixes[] = {"Variable", "And",     "Or",        "Not", "String",
                                           "Numeric",  "Boolean", "Timestamp", "Is",  NULL};
    for (const char *const *p = prefixes; *p; p++)
        if (strncmp(k, *p, strlen(*p)) == 0)
            return true;
    return false;
}

/* A JSONata Choice rule: Condition (an expression or a boolean) and Next, with optional
 * Output, Assign and Comment. */
static void check_jsonata_rule(checker *c, const json_t *rule, const char *loc)
{
    if (!json_is_object(rule)) {
        diag(c, SCHEMA, loc, "A Choice rule must be an OBJECT");
        return;
    }
    static const char *const allowed[] = {"Condition", "Next", "Output", "Assign", "Comment", NULL};
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)rule, k, v)
    {
        if (in_list(allowed, k))
            continue;
        if (is_jsonpath_rule_field(k))
            diag_other_language(c, QL_JSONATA, k, loc);
        else
            diag(c, SCHEMA, loc, "Field '%s' is not supported", k);
    }
    json_t *cond = json_object_get(rule, "Condition");
    if (!cond)
        diag(c, SCHEMA, loc, "These fields are required: [Condition]");
    else if (!json_is_boolean(cond) && !is_jsonata_string(cond))
        diag(c, SCHEMA, loc,
             "The value for the field 'Condition' must be a JSONata expression or a BOOLEAN");
    if (!json_is_string(json_object_get(rule, "Next")))
        diag(c, SCHEMA, loc, "The field 'Next' should be a STRING in a top-level Choice rule");
    check_assign(c, rule, QL_JSONATA, loc);
}

static void check_choice(checker *c, const json_t *state, query_language ql, const char *where)
{
    json_t *choices = json_object_get(state, "Choices");
    if (!json_is_array(choices) || json_array_size(choices) == 0) {
        diag(c, SCHEMA, where, "The field 'Choices' should be a non-empty ARRAY");
        return;
    }
    check_string(c, state, "Default", where);
    bool foreign = false;
    size_t i;
    json_t *rule;
    json_array_foreach(choices, i, rule)
    {
        char loc[1024];
        loc_printf(loc, sizeof loc, "%s/Choices[%zu]", where, i);
        if (ql == QL_JSONATA) {
            check_jsonata_rule(c, rule, loc);
            continue;
        }
        static const char *const jsonata_only[] = {"Condition", "Output"};
        for (size_t k = 0; k < 2; k++) {
            if (json_object_get(rule, jsonata_only[k])) {
                diag_other_language(c, ql, jsonata_only[k], loc);
                foreign = true;
            }
        }
        check_assign(c, rule, ql, loc);
    }
    char err[512];
    /* A JSONata rule in a JSONPath state is reported above, not as a malformed rule. */
    if (ql == QL_JSONPATH && !foreign && sfn_choice_state_validate(state, err, sizeof err) != 0)
        diag_lib(c, where, err);
}

/* ---- states ------------------------------------------------------------------------- */

static void check_workflow(checker *c, const json_t *wf, const char *where, int depth);

/* A Map's ItemReader and ResultWriter: the S3 resources Step Functions reads and writes,
 * and the reader's config values. */
static void check_map_io(checker *c, const json_t *state, const char *where)
{
    static const char *const readers[] = {"arn:aws:states:::s3:getObject",
                                          "arn:aws:states:::s3:listObjectsV2"};
    static const char *const inputs[] = {"CSV", "JSON", "JSONL", "MANIFEST", "PARQUET"};
    const json_t *reader = json_object_get(state, "ItemReader");
    char loc[1024];
    if (reader) {
        loc_printf(loc, sizeof loc, "%s/ItemReader", where);
        const char *res = json_string_value(json_object_get(reader, "Resource"));
        bool known = false;
        for (size_t i = 0; res && i < sizeof readers / sizeof readers[0]; i++)
            known = known || strcmp(res, readers[i]) == 0;
        if (!json_is_object(reader) || !res)
            diag(c, SCHEMA, loc, "These fields are required: [Resource]");
        else if (!known)
            diag(c, SCHEMA, loc, "The ItemReader's Resource '%s' is not supported", res);
        const json_t *config = json_object_get(reader, "ReaderConfig");
        const char *type = json_string_value(json_object_get(config, "InputType"));
        bool input_ok = !type;
        for (size_t i = 0; type && i < sizeof inputs / sizeof inputs[0]; i++)
            input_ok = input_ok || strcmp(type, inputs[i]) == 0;
        if (!input_ok)
            diag(c, SCHEMA, loc, "InputType must be one of CSV, JSON, JSONL, MANIFEST, PARQUET");
        const char *header = json_string_value(json_object_get(config, "CSVHeaderLocation"));
        if (header && strcmp(header, "FIRST_ROW") != 0 && strcmp(header, "GIVEN") != 0)
            diag(c, SCHEMA, loc, "CSVHeaderLocation must be FIRST_ROW or GIVEN");
        if (header && strcmp(header, "GIVEN") == 0 &&
            !json_is_array(json_object_get(config, "CSVHeaders")))
            diag(c, SCHEMA, loc, "CSVHeaderLocation GIVEN requires CSVHeaders");
        if (json_object_get(config, "MaxItems") && json_object_get(config, "MaxItemsPath"))
            diag(c, SCHEMA, loc, "MaxItems and MaxItemsPath are mutually exclusive");
    }
    const json_t *writer = json_object_get(state, "ResultWriter");
    const char *wres = json_string_value(json_object_get(writer, "Resource"));
    if (wres && strcmp(wres, "arn:aws:states:::s3:putObject") != 0) {
        loc_printf(loc, sizeof loc, "%s/ResultWriter", where);
        diag(c, SCHEMA, loc, "The ResultWriter's Resource '%s' is not supported", wres);
    }
}

/* Parallel branches and Map processors: nested workflows. */
static void check_nested(checker *c, const json_t *state, const char *type, query_language ql,
                         const char *where, int depth)
{
    if (strcmp(type, "Parallel") == 0) {
        json_t *branches = json_object_get(state, "Branches");
        if (!json_is_array(branches) || json_array_size(branches) == 0) {
            diag(c, SCHEMA, where, "The field 'Branches' should be a non-empty ARRAY");
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
        const char *field = json_object_get(state, "ItemProcessor") || ql == QL_JSONATA
                                ? "ItemProcessor"
                                : "Iterator";
        json_t *proc = json_object_get(state, field);
        if (!proc) {
            diag(c, SCHEMA, where, "These fields are required: [ItemProcessor]");
            return;
        }
        char loc[1024];
        loc_printf(loc, sizeof loc, "%s/%s", where, field);
        check_workflow(c, proc, loc, depth + 1);
        check_map_io(c, state, where);
        if (ql == QL_JSONATA) {
            check_shape_or_expression(c, state, "Items", true, where);
            check_shape_or_expression(c, state, "ItemSelector", false, where);
        } else {
            check_path(c, state, "ItemsPath", true, true, where);
            check_template(c, state, "ItemSelector", where);
        }
    }
}

/* The JSONPath input/output fields: paths and payload templates. */
static void check_jsonpath_io(checker *c, const json_t *state, const char *where)
{
    check_path(c, state, "InputPath", false, true, where);
    check_path(c, state, "OutputPath", false, true, where);
    check_path(c, state, "ResultPath", true, true, where);
    check_template(c, state, "Parameters", where);
    check_template(c, state, "ResultSelector", where);
}

static void check_fail(checker *c, const json_t *state, const char *where)
{
    check_exclusive(c, state, "Error", "ErrorPath", where);
    check_exclusive(c, state, "Cause", "CausePath", where);
    check_string(c, state, "Error", where);
    check_string(c, state, "Cause", where);
    check_path_or_intrinsic(c, state, "ErrorPath", where);
    check_path_or_intrinsic(c, state, "CausePath", where);
}

/* ---- HTTP Tasks -------------------------------------------------------------------- */

/* A parameter of an HTTP Task: the value of `name` in p, or (JSONPath) whether "name.$"
 * gives it at run time (*dynamic). NULL if neither. */
static const json_t *http_param(const json_t *p, const char *name, query_language ql, bool *dynamic)
{
    char key[64];
    const json_t *v = json_object_get(p, name);
    *dynamic = is_jsonata_string(v);
    if (v || ql == QL_JSONATA)
        return v;
    snprintf(key, sizeof key, "%s.$", name);
    v = json_object_get(p, key);
    *dynamic = v != NULL;
    return v;
}

/* An EventBridge connection ARN: arn:PARTITION:events:REGION:ACCOUNT:connection/NAME/ID. */
static bool connection_arn_ok(const char *arn)
{
    const char *c = arn ? strstr(arn, ":connection/") : NULL;
    if (!c || strncmp(arn, "arn:aws", 7) != 0 || !strstr(arn, ":events:"))
        return false;
    const char *name = c + 12, *slash = strchr(name, '/');
    return slash && slash > name && slash[1] && !strchr(slash + 1, '/');
}

static void check_http_connection(checker *c, const json_t *p, query_language ql, const char *loc)
{
    bool dynamic;
    const char *holder = "InvocationConfig";
    const json_t *cfg = http_param(p, holder, ql, &dynamic);
    if (!cfg) {
        holder = "Authentication";
        cfg = http_param(p, holder, ql, &dynamic);
    }
    if (!cfg) {
        diag(c, SCHEMA, loc,
             "The field \"Authentication\" (or \"InvocationConfig\") is required but was "
             "missing");
        return;
    }
    if (dynamic)
        return;
    char sub[1100];
    loc_printf(sub, sizeof sub, "%s/%s", loc, holder);
    const json_t *arn = json_is_object(cfg) ? http_param(cfg, "ConnectionArn", ql, &dynamic) : NULL;
    if (!arn)
        diag(c, SCHEMA, sub, "The field \"ConnectionArn\" is required but was missing");
    else if (!dynamic && !connection_arn_ok(json_string_value(arn)))
        diag(c, SCHEMA, sub,
             "The value for the field 'ConnectionArn' must be an EventBridge connection ARN");
}

/* arn:aws:states:::http:invoke takes no .waitForTaskToken or .sync, and needs ApiEndpoint,
 * Method and a connection (checked where the definition writes them out). */
static void check_http_task(checker *c, const json_t *state, const char *resource,
                            query_language ql, const char *where)
{
    char loc[1100];
    if (strcmp(resource, SFN_HTTP_INVOKE) != 0) {
        loc_printf(loc, sizeof loc, "%s/Resource", where);
        diag(c, SCHEMA, loc,
             "The resource provided %.300s is not recognized. The value is not a valid resource "
             "ARN, or the resource is not available in this region.",
             resource);
        return;
    }
    const char *field = ql == QL_JSONATA ? "Arguments" : "Parameters";
    const json_t *p = json_object_get(state, field);
    if (!p) {
        diag(c, SCHEMA, where, "The field \"%s\" is required but was missing", field);
        return;
    }
    if (!json_is_object(p))
        return; /* an expression, or reported as not an OBJECT */
    loc_printf(loc, sizeof loc, "%s/%s", where, field);
    static const char *const required[] = {"ApiEndpoint", "Method"};
    bool dynamic;
    for (size_t i = 0; i < 2; i++)
        if (!http_param(p, required[i], ql, &dynamic))
            diag(c, SCHEMA, loc, "The field \"%s\" is required but was missing", required[i]);
    const json_t *m = http_param(p, "Method", ql, &dynamic);
    static const char *const methods[] = {"GET",   "POST",    "PUT",  "DELETE",
                                          "PATCH", "OPTIONS", "HEAD", NULL};
    if (m && !dynamic && (!json_is_string(m) || !in_list(methods, json_string_value(m))))
        diag(c, SCHEMA, loc,
             "The value for the field 'Method' must be one of: GET, POST, PUT, DELETE, PATCH, "
             "OPTIONS, HEAD");
    check_http_connection(c, p, ql, loc);
}

static void check_task(checker *c, const json_t *state, query_language ql, const char *where)
{
    const char *resource = json_string_value(json_object_get(state, "Resource"));
    if (!resource)
        diag(c, SCHEMA, where, "These fields are required: [Resource]");
    else if (strncmp(resource, "arn:aws:states:::http:", 22) == 0)
        check_http_task(c, state, resource, ql, where);
    if (ql == QL_JSONATA) {
        check_int_or_expression(c, state, "TimeoutSeconds", 1, where);
        check_int_or_expression(c, state, "HeartbeatSeconds", 1, where);
        return;
    }
    check_positive_int(c, state, "TimeoutSeconds", 1, where);
    check_positive_int(c, state, "HeartbeatSeconds", 1, where);
    check_path(c, state, "TimeoutSecondsPath", true, false, where);
    check_path(c, state, "HeartbeatSecondsPath", true, false, where);
}

static void check_state(checker *c, const char *name, const json_t *state, const char *where,
                        int depth)
{
    if (strlen(name) > 80)
        diag(c, SCHEMA, where, "State names must be at most 80 characters");
    if (!json_is_object(state)) {
        diag(c, SCHEMA, where, "The value of a state must be an OBJECT");
        return;
    }
    json_t *tv = json_object_get(state, "Type");
    if (!tv) {
        diag(c, SCHEMA, where, "These fields are required: [Type]");
        return;
    }
    const state_type *t = json_is_string(tv) ? state_type_find(json_string_value(tv)) : NULL;
    if (!t) {
        diag(c, SCHEMA, where,
             "The value for the field 'Type' must be one of: Pass, Task, Choice, Wait, Succeed, "
             "Fail, Parallel, Map");
        return;
    }
    query_language ql = state_language(c, state, where);
    check_fields(c, t, state, ql, where);
    if (t->transitions)
        check_transition(c, state, where);
    check_string(c, state, "Comment", where);
    if (ql == QL_JSONPATH) {
        check_jsonpath_io(c, state, where);
    } else {
        check_jsonata_fields(c, t, state, where);
        if (strcmp(t->name, "Task") == 0 || strcmp(t->name, "Parallel") == 0)
            check_shape_or_expression(c, state, "Arguments", false, where);
    }
    check_assign(c, state, ql, where);
    if (strcmp(t->name, "Choice") == 0)
        check_choice(c, state, ql, where);
    if (strcmp(t->name, "Wait") == 0)
        check_wait(c, state, ql, where);
    if (strcmp(t->name, "Fail") == 0)
        check_fail(c, state, where);
    if (strcmp(t->name, "Task") == 0)
        check_task(c, state, ql, where);
    check_retry_catch(c, state, ql, where);
    check_nested(c, state, t->name, ql, where, depth);
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
        diag(c, SCHEMA, at, "Workflows are nested too deeply");
        return;
    }
    if (!json_is_object(wf)) {
        diag(c, SCHEMA, at, "The value must be an OBJECT");
        return;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)wf, k, v)
    {
        static const char *const allowed[] = {"Comment", "StartAt",        "States",
                                              "Version", "TimeoutSeconds", "ProcessorConfig"};
        /* QueryLanguage belongs to the machine, not to branches and processors. */
        bool ok = depth == 0 && strcmp(k, "QueryLanguage") == 0;
        for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
            ok = ok || strcmp(allowed[i], k) == 0;
        if (!ok)
            diag(c, SCHEMA, at, "Field '%s' is not supported", k);
    }
    json_t *start = json_object_get(wf, "StartAt"), *states = json_object_get(wf, "States");
    if (!json_is_string(start) || !json_is_object(states) || json_object_size(states) == 0) {
        diag(c, SCHEMA, at, "These fields are required: [StartAt, States]");
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
    checker c = {json_array(), QL_JSONPATH};
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
    query_language machine;
    if (read_query_language(&c, def, "", &machine))
        c.machine = machine;
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
