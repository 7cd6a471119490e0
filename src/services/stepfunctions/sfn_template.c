/* Payload templates (see sfn_template.h): a recursive copy that resolves ".$" keys. */
#include "services/stepfunctions/sfn_template.h"

#include "common/alloc.h"
#include "common/buf.h"
#include "services/stepfunctions/sfn_intrinsic.h"
#include "services/stepfunctions/sfn_jsonpath.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Templates nest no deeper than the JSON that holds them; this bounds the recursion. */
#define MAX_DEPTH 128

static bool is_dynamic_key(const char *key)
{
    size_t n = strlen(key);
    return n >= 2 && strcmp(key + n - 2, ".$") == 0;
}

/* A ".$" value: a path or an intrinsic call. */
static int validate_expression(const char *text, char *why, size_t whylen)
{
    if (sfn_intrinsic_is_call(text)) {
        sfn_intrinsic *f;
        int rc = sfn_intrinsic_compile(text, &f, why, whylen);
        sfn_intrinsic_free(f);
        return rc;
    }
    sfn_path *p;
    int rc = sfn_path_compile(text, &p, why, whylen);
    sfn_path_free(p);
    return rc;
}

static int validate_at(const json_t *t, buf *where, int depth, char *err, size_t errlen)
{
    if (depth > MAX_DEPTH) {
        snprintf(err, errlen, "The template nests too deeply at %s", where->data);
        return -1;
    }
    size_t mark = where->len;
    int rc = 0;
    if (json_is_object(t)) {
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)t, key, v)
        {
            where->len = mark;
            buf_printf(where, "/%s", key);
            if (!is_dynamic_key(key)) {
                rc = validate_at(v, where, depth + 1, err, errlen);
            } else {
                char why[256];
                if (!json_is_string(v) ||
                    validate_expression(json_string_value(v), why, sizeof why) != 0) {
                    snprintf(err, errlen,
                             "The value for the field '%s' must be a valid JSONPath or a valid "
                             "intrinsic function call at %s",
                             key, where->data);
                    rc = -1;
                }
            }
            if (rc != 0)
                break;
        }
    } else if (json_is_array(t)) {
        size_t i;
        json_t *v;
        json_array_foreach(t, i, v)
        {
            where->len = mark;
            buf_printf(where, "[%zu]", i);
            if ((rc = validate_at(v, where, depth + 1, err, errlen)) != 0)
                break;
        }
    }
    where->len = mark;
    if (where->data)
        where->data[mark] = '\0';
    return rc;
}

int sfn_template_validate(const json_t *tmpl, const char *field, char *err, size_t errlen)
{
    buf where = BUF_INIT;
    buf_printf(&where, "/%s", field);
    int rc = validate_at(tmpl, &where, 0, err, errlen);
    buf_free(&where);
    return rc;
}

/* The value of a ".$" key. */
static int resolve(const char *key, const json_t *v, json_t *input, json_t *context, json_t **out,
                   sfn_error *e)
{
    if (!json_is_string(v))
        return sfn_error_set(e, "States.Runtime",
                             "The value for the field '%s' must be a STRING that contains a "
                             "JSONPath or an intrinsic function call",
                             key);
    const char *text = json_string_value(v);
    if (sfn_intrinsic_is_call(text))
        return sfn_intrinsic_run(text, input, context, key, out, e);
    sfn_path *p;
    char why[256];
    if (sfn_path_compile(text, &p, why, sizeof why) != 0)
        return sfn_error_set(e, "States.Runtime", "Invalid path '%s' for the field '%s': %s", text,
                             key, why);
    *out = sfn_path_eval(p, input, context);
    int rc = 0;
    if (!*out) {
        char quoted[SFN_ERROR_CAUSE_MAX / 2];
        sfn_json_quote(sfn_path_is_context(p) ? context : input, quoted, sizeof quoted);
        rc = sfn_error_set(e, "States.Runtime",
                           "The JSONPath '%s' specified for the field '%s' could not be found in "
                           "the input '%s'",
                           text, key, quoted);
    }
    sfn_path_free(p);
    return rc;
}

static int apply_at(const json_t *t, json_t *input, json_t *context, int depth, json_t **out,
                    sfn_error *e)
{
    *out = NULL;
    if (depth > MAX_DEPTH)
        return sfn_error_set(e, "States.Runtime", "The payload template nests too deeply");
    if (json_is_object(t)) {
        json_t *o = json_object();
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)t, key, v)
        {
            json_t *value;
            int rc;
            char *name = xstrdup(key);
            if (is_dynamic_key(key)) {
                name[strlen(name) - 2] = '\0';
                rc = resolve(key, v, input, context, &value, e);
            } else {
                rc = apply_at(v, input, context, depth + 1, &value, e);
            }
            if (rc == 0)
                json_object_set_new(o, name, value);
            xfree(name);
            if (rc != 0) {
                json_decref(o);
                return -1;
            }
        }
        *out = o;
        return 0;
    }
    if (json_is_array(t)) {
        json_t *a = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(t, i, v)
        {
            json_t *value;
            if (apply_at(v, input, context, depth + 1, &value, e) != 0) {
                json_decref(a);
                return -1;
            }
            json_array_append_new(a, value);
        }
        *out = a;
        return 0;
    }
    *out = json_deep_copy(t);
    return 0;
}

int sfn_template_apply(const json_t *tmpl, json_t *input, json_t *context, json_t **out,
                       sfn_error *e)
{
    return apply_at(tmpl, input, context, 0, out, e);
}
