/* JSONata states ("QueryLanguage": "JSONata") and variables (Assign).
 *
 * In a JSONata state every string of the form "{% expression %}" in Arguments, Output,
 * Assign, Items, ItemSelector, a Choice rule's Condition, Wait's Seconds / Timestamp and
 * Fail's Error / Cause is a JSONata expression (src/jsonata/), evaluated with the variable
 * $states = {input, context, result (after a task), errorOutput (in a Catch)} and the
 * execution's variables as $name; other values are literal. An expression that fails, or
 * that yields nothing where a value is needed, fails the state with
 * States.QueryEvaluationError.
 *
 * Variables live in the execution's document ("variables"), so they are committed with the
 * step that assigns them. A state's Assign is evaluated with the same $states as its Output,
 * against the variables as they were before the state, and takes effect for the states that
 * follow. Branches of a Parallel and iterations of a Map start with a copy of the variables
 * (what they assign stays theirs). Compiled expressions are kept in a bounded cache. */
#include "services/stepfunctions/sfn_run.h"

#include "common/alloc.h"
#include "jsonata/jsonata.h"
#include "services/stepfunctions/sfn_jsonpath.h"
#include "services/stepfunctions/sfn_template.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define CACHE_MAX 4096

/* expression text -> compiled expression (a json_integer holding the pointer) */
static json_t *cache;

static void cache_clear(void)
{
    const char *k;
    json_t *v;
    json_object_foreach(cache, k, v) jsonata_free((jsonata_expr *)(intptr_t)json_integer_value(v));
    json_object_clear(cache);
}

void sfn_jsonata_cache_free(void)
{
    if (cache)
        cache_clear();
    json_decref(cache);
    cache = NULL;
}

/* The compiled expression of text, or NULL with the compiler's message in msg. */
static const jsonata_expr *compiled(const char *text, char *msg, size_t cap)
{
    if (!cache)
        cache = json_object();
    json_t *hit = json_object_get(cache, text);
    if (hit)
        return (const jsonata_expr *)(intptr_t)json_integer_value(hit);
    jsonata_expr *e = jsonata_compile(text, msg, cap);
    if (!e)
        return NULL;
    if (json_object_size(cache) >= CACHE_MAX)
        cache_clear();
    json_object_set_new(cache, text, json_integer((json_int_t)(intptr_t)e));
    return e;
}

bool sfn_state_is_jsonata(const json_t *workflow, const json_t *state)
{
    const char *lang = sfn_doc_str(state, "QueryLanguage");
    if (!lang)
        lang = sfn_doc_str(workflow, "QueryLanguage");
    return lang && strcmp(lang, "JSONata") == 0;
}

/* The text of "{% ... %}", or NULL if s is not an expression (out: the text, trimmed). */
static bool expression_of(const char *s, char *out, size_t cap)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 4 || strncmp(s, "{%", 2) != 0 || strcmp(s + n - 2, "%}") != 0)
        return false;
    snprintf(out, cap, "%.*s", (int)(n - 4), s + 2);
    return true;
}

/* Evaluates one expression; NULL with err set on failure or nothing. */
static json_t *evaluate(const char *text, const char *field, sfn_step_io *io, json_t *states)
{
    char msg[512];
    const jsonata_expr *e = compiled(text, msg, sizeof msg);
    if (!e) {
        sfn_error_set(&io->err, "States.QueryEvaluationError",
                      "The JSONata expression '%.200s' specified for the field '%s' is not "
                      "valid: %s",
                      text, field, msg);
        return NULL;
    }
    /* The variables themselves are the bindings, with $states added for this evaluation
     * ("states" is a reserved name: no variable has it). No copy per expression. */
    json_t *bindings = io->vars ? json_incref(io->vars) : json_object();
    json_object_set(bindings, "states", states);
    int failed = 0;
    json_t *v =
        jsonata_evaluate(e, json_object_get(states, "input"), bindings, msg, sizeof msg, &failed);
    json_object_del(bindings, "states");
    json_decref(bindings);
    if (failed) {
        sfn_error_set(&io->err, "States.QueryEvaluationError",
                      "An error occurred while evaluating the JSONata expression '%.200s' "
                      "specified for the field '%s': %s",
                      text, field, msg);
        return NULL;
    }
    if (!v)
        sfn_error_set(&io->err, "States.QueryEvaluationError",
                      "The JSONata expression '%.200s' specified for the field '%s' returned "
                      "nothing (undefined).",
                      text, field);
    return v;
}

/* tmpl with its expressions evaluated (a new value), or NULL with io->err set. Inside
 * objects and arrays, an expression yielding nothing leaves the member out. */
static json_t *render(const json_t *tmpl, const char *field, sfn_step_io *io, json_t *states,
                      int depth)
{
    char text[8192];
    if (json_is_string(tmpl) && expression_of(json_string_value(tmpl), text, sizeof text))
        return evaluate(text, field, io, states);
    if (depth > 64) {
        sfn_error_set(&io->err, "States.QueryEvaluationError", "The field '%s' is nested too deep",
                      field);
        return NULL;
    }
    if (json_is_object(tmpl)) {
        json_t *out = json_object();
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)tmpl, k, v)
        {
            json_t *r = render(v, field, io, states, depth + 1);
            if (!r) {
                if (strstr(io->err.cause, "returned nothing")) { /* undefined: left out */
                    io->err.name[0] = io->err.cause[0] = '\0';
                    continue;
                }
                json_decref(out);
                return NULL;
            }
            json_object_set_new(out, k, r);
        }
        return out;
    }
    if (json_is_array(tmpl)) {
        json_t *out = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(tmpl, i, v)
        {
            json_t *r = render(v, field, io, states, depth + 1);
            if (!r) {
                if (strstr(io->err.cause, "returned nothing")) {
                    io->err.name[0] = io->err.cause[0] = '\0';
                    continue;
                }
                json_decref(out);
                return NULL;
            }
            json_array_append_new(out, r);
        }
        return out;
    }
    return json_deep_copy(tmpl);
}

json_t *sfn_states_var(const sfn_step_io *io, const json_t *result, const json_t *error_output)
{
    json_t *st = json_pack("{s:O,s:o}", "input", io->input ? io->input : json_null(), "context",
                           io->context ? json_incref(io->context) : json_object());
    if (result)
        json_object_set(st, "result", (json_t *)result);
    if (error_output)
        json_object_set(st, "errorOutput", (json_t *)error_output);
    return st;
}

json_t *sfn_jsonata_render(sfn_step_io *io, const json_t *tmpl, const char *field, json_t *states)
{
    return render(tmpl, field, io, states, 0);
}

/* ---- variables ------------------------------------------------------------------------ */

int sfn_assign(sfn_step_io *io, const json_t *assign, json_t *states, const json_t *jsonpath_root)
{
    if (!json_is_object(assign))
        return 0;
    if (!io->vars && io->doc) {
        io->vars = json_object();
        json_object_set_new(io->doc, "variables", io->vars);
        sfn_path_set_variables(io->vars);
    }
    if (!io->vars)
        return 0;
    json_t *values = NULL;
    if (io->jsonata) {
        values = render(assign, "Assign", io, states, 0);
    } else if (sfn_template_apply(assign, (json_t *)jsonpath_root, io->context, &values,
                                  &io->err) != 0) {
        values = NULL;
    }
    if (!values)
        return -1;
    json_object_update(io->vars, values); /* all computed first: none sees another's new value */
    json_decref(values);
    return 0;
}
