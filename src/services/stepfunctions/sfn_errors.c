/* Step Functions errors: the error value, ErrorEquals matching and the retry delay (see
 * sfn_errors.h for the rules). */
#include "services/stepfunctions/sfn_errors.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int sfn_error_set(sfn_error *e, const char *name, const char *fmt, ...)
{
    if (!e)
        return -1;
    snprintf(e->name, sizeof e->name, "%s", name);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->cause, sizeof e->cause, fmt, ap);
    va_end(ap);
    return -1;
}

/* Errors no wildcard catches: only naming them explicitly does. */
static bool is_terminal(const char *name)
{
    return strcmp(name, "States.Runtime") == 0 || strcmp(name, "States.DataLimitExceeded") == 0;
}

static bool name_matches(const char *pattern, const char *name)
{
    if (strcmp(pattern, name) == 0)
        return true;
    if (is_terminal(name))
        return false;
    if (strcmp(pattern, "States.ALL") == 0)
        return true;
    if (strcmp(pattern, "States.TaskFailed") == 0)
        return strcmp(name, "States.Timeout") != 0;
    return false;
}

bool sfn_error_equals_match(const json_t *error_equals, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(error_equals, i, v)
    {
        if (json_is_string(v) && name_matches(json_string_value(v), name))
            return true;
    }
    return false;
}

int sfn_error_equals_validate(const json_t *list, const char *field, char *err, size_t errlen)
{
    if (!json_is_array(list)) {
        snprintf(err, errlen, "The value for the field '%s' must be an ARRAY", field);
        return -1;
    }
    size_t n = json_array_size(list);
    for (size_t i = 0; i < n; i++) {
        json_t *eq = json_object_get(json_array_get(list, i), "ErrorEquals");
        if (!json_is_array(eq) || json_array_size(eq) == 0) {
            snprintf(err, errlen,
                     "The field 'ErrorEquals' should be a non-empty array of strings at /%s[%zu]",
                     field, i);
            return -1;
        }
        size_t j;
        json_t *v;
        json_array_foreach(eq, j, v)
        {
            if (!json_is_string(v)) {
                snprintf(err, errlen, "The value for the field 'ErrorEquals' must be STRING");
                return -1;
            }
            if (strcmp(json_string_value(v), "States.ALL") != 0)
                continue;
            if (json_array_size(eq) != 1) {
                snprintf(err, errlen,
                         "States.ALL must appear alone in the ErrorEquals array at /%s[%zu]", field,
                         i);
                return -1;
            }
            if (i != n - 1) {
                snprintf(err, errlen,
                         "A %s with States.ALL must be the last one in the %s array at /%s[%zu]",
                         strcmp(field, "Retry") == 0 ? "Retrier" : "Catcher", field, field, i);
                return -1;
            }
        }
    }
    return 0;
}

/* An optional integer field in [min, max]. */
static int int_field(const json_t *o, const char *key, int64_t min, int64_t max, int64_t *out,
                     char *err, size_t errlen)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        snprintf(err, errlen,
                 "The value for the field '%s' must be an INTEGER between %lld and %lld", key,
                 (long long)min, (long long)max);
        return -1;
    }
    *out = json_integer_value(v);
    return 0;
}

int sfn_retry_policy_parse(const json_t *retrier, sfn_retry_policy *p, char *err, size_t errlen)
{
    *p = (sfn_retry_policy){1, 3, 2.0, 0, false};
    if (int_field(retrier, "IntervalSeconds", 1, 99999999, &p->interval_seconds, err, errlen) ||
        int_field(retrier, "MaxAttempts", 0, 99999999, &p->max_attempts, err, errlen) ||
        int_field(retrier, "MaxDelaySeconds", 1, 31622400, &p->max_delay_seconds, err, errlen))
        return -1;
    json_t *rate = json_object_get(retrier, "BackoffRate");
    if (rate) {
        if (!json_is_number(rate) || json_number_value(rate) < 1.0) {
            snprintf(err, errlen, "The value for the field 'BackoffRate' must be >= 1.0");
            return -1;
        }
        p->backoff_rate = json_number_value(rate);
    }
    json_t *jitter = json_object_get(retrier, "JitterStrategy");
    if (jitter) {
        const char *s = json_string_value(jitter);
        if (!s || (strcmp(s, "FULL") != 0 && strcmp(s, "NONE") != 0)) {
            snprintf(err, errlen,
                     "The value for the field 'JitterStrategy' must be one of [FULL, NONE]");
            return -1;
        }
        p->jitter_full = strcmp(s, "FULL") == 0;
    }
    return 0;
}

int64_t sfn_retry_delay_ms(const sfn_retry_policy *p, int64_t attempt, double random01)
{
    if (attempt < 0 || attempt >= p->max_attempts)
        return -1;
    double ms = (double)p->interval_seconds * 1000.0 * pow(p->backoff_rate, (double)attempt);
    double cap = p->max_delay_seconds > 0 ? (double)p->max_delay_seconds * 1000.0 : 1e15;
    if (!(ms < cap)) /* also catches overflow to inf */
        ms = cap;
    if (p->jitter_full)
        ms *= random01;
    return (int64_t)ms;
}
