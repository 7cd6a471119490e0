/* Step Functions Retry/Catch: ErrorEquals matching (States.ALL, States.TaskFailed, the
 * terminal States.Runtime and States.DataLimitExceeded), the checks on Retry and Catch
 * lists, retrier fields, and the retry delay (backoff, MaxDelaySeconds, FULL jitter). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "services/stepfunctions/sfn_errors.h"

#include <stdio.h>
#include <string.h>

static json_t *js(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
    if (!v)
        fail_msg("bad test JSON: %s (%s)", text, je.text);
    return v;
}

static void test_error_equals_matching(void **state)
{
    static const struct {
        const char *equals, *error;
        bool want;
    } cases[] = {
        {"[\"PaymentFailed\"]", "PaymentFailed", true},
        {"[\"PaymentFailed\"]", "InsufficientInventory", false},
        {"[\"A\",\"InsufficientInventory\"]", "InsufficientInventory", true},
        {"[\"States.ALL\"]", "PaymentFailed", true},
        {"[\"States.ALL\"]", "States.Timeout", true},
        {"[\"States.ALL\"]", "States.TaskFailed", true},
        {"[\"States.ALL\"]", "States.Permissions", true},
        {"[\"States.ALL\"]", "States.Runtime", false},
        {"[\"States.ALL\"]", "States.DataLimitExceeded", false},
        {"[\"States.Runtime\"]", "States.Runtime", true},
        {"[\"States.TaskFailed\"]", "Lambda.ServiceException", true},
        {"[\"States.TaskFailed\"]", "States.Permissions", true},
        {"[\"States.TaskFailed\"]", "States.Timeout", false},
        {"[\"States.TaskFailed\"]", "States.Runtime", false},
        {"[\"States.Timeout\"]", "States.Timeout", true},
        {"[\"states.all\"]", "X", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *eq = js(cases[i].equals);
        if (sfn_error_equals_match(eq, cases[i].error) != cases[i].want)
            fail_msg("%s vs %s should be %d", cases[i].equals, cases[i].error, cases[i].want);
        json_decref(eq);
    }
}

static void test_retry_and_catch_lists_are_checked(void **state)
{
    static const struct {
        const char *list;
        const char *err; /* NULL: valid */
    } cases[] = {
        {"[{\"ErrorEquals\":[\"A\"]},{\"ErrorEquals\":[\"States.ALL\"]}]", NULL},
        {"[{\"ErrorEquals\":[\"States.ALL\"]},{\"ErrorEquals\":[\"A\"]}]",
         "A Retrier with States.ALL must be the last one in the Retry array at /Retry[0]"},
        {"[{\"ErrorEquals\":[\"States.ALL\",\"A\"]}]",
         "States.ALL must appear alone in the ErrorEquals array at /Retry[0]"},
        {"[{\"ErrorEquals\":[]}]",
         "The field 'ErrorEquals' should be a non-empty array of strings at /Retry[0]"},
        {"[{}]", "The field 'ErrorEquals' should be a non-empty array of strings at /Retry[0]"},
        {"[{\"ErrorEquals\":[1]}]", "The value for the field 'ErrorEquals' must be STRING"},
        {"{}", "The value for the field 'Retry' must be an ARRAY"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *list = js(cases[i].list);
        char err[256] = "";
        int rc = sfn_error_equals_validate(list, "Retry", err, sizeof err);
        if (!cases[i].err)
            assert_int_equal(rc, 0);
        else if (rc == 0 || strcmp(err, cases[i].err) != 0)
            fail_msg("%s\n  got:  %s\n  want: %s", cases[i].list, err, cases[i].err);
        json_decref(list);
    }
    json_t *list = js("[{\"ErrorEquals\":[\"States.ALL\"]},{\"ErrorEquals\":[\"A\"]}]");
    char err[256];
    assert_int_equal(sfn_error_equals_validate(list, "Catch", err, sizeof err), -1);
    assert_string_equal(err, "A Catcher with States.ALL must be the last one in the Catch array at "
                             "/Catch[0]");
    json_decref(list);
}

static void test_retrier_fields(void **state)
{
    sfn_retry_policy p;
    char err[256];
    json_t *r = js("{\"ErrorEquals\":[\"A\"]}");
    assert_int_equal(sfn_retry_policy_parse(r, &p, err, sizeof err), 0);
    assert_int_equal(p.interval_seconds, 1);
    assert_int_equal(p.max_attempts, 3);
    assert_true(p.backoff_rate == 2.0);
    assert_int_equal(p.max_delay_seconds, 0);
    assert_false(p.jitter_full);
    json_decref(r);
    static const char *bad[] = {
        "{\"IntervalSeconds\":0}",       "{\"IntervalSeconds\":1.5}",
        "{\"MaxAttempts\":-1}",          "{\"BackoffRate\":0.5}",
        "{\"BackoffRate\":\"2\"}",       "{\"MaxDelaySeconds\":0}",
        "{\"JitterStrategy\":\"HALF\"}", "{\"IntervalSeconds\":100000000}",
        "{\"MaxAttempts\":100000000}",   "{\"MaxDelaySeconds\":31622401}",
        "{\"JitterStrategy\":1}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        r = js(bad[i]);
        if (sfn_retry_policy_parse(r, &p, err, sizeof err) == 0)
            fail_msg("%s accepted", bad[i]);
        json_decref(r);
    }
}

static void test_retry_delays(void **state)
{
    sfn_retry_policy p;
    char err[256];
    json_t *r = js("{\"ErrorEquals\":[\"A\"],\"IntervalSeconds\":3,\"MaxAttempts\":4,"
                   "\"BackoffRate\":1.5}");
    assert_int_equal(sfn_retry_policy_parse(r, &p, err, sizeof err), 0);
    assert_int_equal(sfn_retry_delay_ms(&p, 0, 0.5), 3000);
    assert_int_equal(sfn_retry_delay_ms(&p, 1, 0.5), 4500);
    assert_int_equal(sfn_retry_delay_ms(&p, 2, 0.5), 6750);
    assert_int_equal(sfn_retry_delay_ms(&p, 3, 0.5), 10125);
    assert_int_equal(sfn_retry_delay_ms(&p, 4, 0.5), -1);
    json_decref(r);

    r = js("{\"ErrorEquals\":[\"A\"],\"IntervalSeconds\":1,\"MaxAttempts\":100,"
           "\"BackoffRate\":2,\"MaxDelaySeconds\":10,\"JitterStrategy\":\"FULL\"}");
    assert_int_equal(sfn_retry_policy_parse(r, &p, err, sizeof err), 0);
    assert_int_equal(sfn_retry_delay_ms(&p, 2, 0.5), 2000);    /* half of 4 s */
    assert_int_equal(sfn_retry_delay_ms(&p, 10, 0.5), 5000);   /* half of the 10 s cap */
    assert_int_equal(sfn_retry_delay_ms(&p, 99, 0.999), 9990); /* 2^99 s capped */
    assert_int_equal(sfn_retry_delay_ms(&p, 3, 0.0), 0);
    json_decref(r);

    r = js("{\"ErrorEquals\":[\"A\"],\"MaxAttempts\":0}");
    assert_int_equal(sfn_retry_policy_parse(r, &p, err, sizeof err), 0);
    assert_int_equal(sfn_retry_delay_ms(&p, 0, 0.5), -1); /* MaxAttempts 0: never retried */
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_equals_matching),
        cmocka_unit_test(test_retry_and_catch_lists_are_checked),
        cmocka_unit_test(test_retrier_fields),
        cmocka_unit_test(test_retry_delays),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
