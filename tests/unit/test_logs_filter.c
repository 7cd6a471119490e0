/* CloudWatch Logs filter patterns (the term syntax): the examples of AWS's "Filter pattern
 * syntax for metric filters, subscription filters, filter log events" page for unstructured
 * events, and the refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "services/logs/logs_filter.h"

#include <string.h>

/* 1 if pattern compiles and matches msg, 0 if it compiles and does not; fails otherwise. */
static int matches(const char *pattern, const char *msg)
{
    logs_filter *f = NULL;
    char err[200];
    if (logs_filter_compile(pattern, &f, err, sizeof err) != 0)
        fail_msg("pattern '%s' refused: %s", pattern ? pattern : "(null)", err);
    int m = logs_filter_match(f, msg, strlen(msg));
    logs_filter_free(f);
    return m;
}

static void expect_refused(const char *pattern)
{
    logs_filter *f = (logs_filter *)1;
    char err[200] = "";
    assert_int_equal(logs_filter_compile(pattern, &f, err, sizeof err), -1);
    assert_null(f);
    assert_non_null(strstr(err, "Invalid filter pattern"));
}

static void test_blank_pattern_matches_everything(void **state)
{
    logs_filter *f = (logs_filter *)1;
    char err[64];
    assert_int_equal(logs_filter_compile("  ", &f, err, sizeof err), 0);
    assert_null(f);
    assert_true(logs_filter_match(NULL, "anything", 8));
    assert_true(matches("", "anything"));
    assert_true(matches(NULL, ""));
}

static void test_terms_are_all_required_substrings(void **state)
{
    assert_true(matches("ERROR", "[ERROR] disk full"));
    assert_true(matches("ERROR", "ERRORS happened")); /* a substring, as CloudWatch matches */
    assert_false(matches("ERROR", "error: lower case"));
    assert_true(matches("ERROR Exception", "ERROR: NullPointerException at x"));
    assert_false(matches("ERROR Exception", "ERROR: timeout"));
    assert_true(matches("  ERROR \t Exception  ", "Exception then ERROR"));
}

static void test_quoted_phrases(void **state)
{
    assert_true(matches("\"Failed to process\"", "job 7: Failed to process order"));
    assert_false(matches("\"Failed to process\"", "Failed: to process"));
    assert_true(matches("\"a \\\"quoted\\\" word\"", "has a \"quoted\" word"));
    assert_true(matches("\"back\\\\slash\"", "a back\\slash"));
    assert_true(matches("\"user:42\" ERROR", "ERROR for user:42"));
}

static void test_optional_terms(void **state)
{
    assert_true(matches("?ERROR ?WARN", "WARN slow"));
    assert_true(matches("?ERROR ?WARN", "ERROR broken"));
    assert_false(matches("?ERROR ?WARN", "INFO fine"));
    /* plain terms stay required beside optional ones */
    assert_true(matches("job ?ERROR ?WARN", "job WARN"));
    assert_false(matches("job ?ERROR ?WARN", "task WARN"));
    assert_false(matches("job ?ERROR ?WARN", "job INFO"));
    assert_true(matches("?\"not found\" ?denied", "access denied"));
}

static void test_excluded_terms(void **state)
{
    assert_true(matches("-DEBUG", "INFO started"));
    assert_false(matches("-DEBUG", "DEBUG details"));
    assert_true(matches("ERROR -Exiting", "ERROR retrying"));
    assert_false(matches("ERROR -Exiting", "ERROR Exiting now"));
    assert_false(matches("-\"health check\"", "GET / health check ok"));
}

static void test_message_with_nul_bytes(void **state)
{
    logs_filter *f;
    char err[64];
    assert_int_equal(logs_filter_compile("needle", &f, err, sizeof err), 0);
    const char msg[] = "hay\0needle";
    assert_true(logs_filter_match(f, msg, sizeof msg - 1));
    assert_false(logs_filter_match(f, msg, 3));
    logs_filter_free(f);
}

static void test_refusals(void **state)
{
    expect_refused("{ $.level = \"error\" }");
    expect_refused("[ip, user, status=500]");
    expect_refused("%ERR.*%");
    expect_refused("\"unclosed phrase");
    expect_refused("\"phrase\"glued");
    expect_refused("? ERROR");
    expect_refused("ERROR -");
    char many[64 * 3 + 10] = "";
    for (int i = 0; i < 65; i++)
        strcat(many, "a ");
    expect_refused(many);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blank_pattern_matches_everything),
        cmocka_unit_test(test_terms_are_all_required_substrings),
        cmocka_unit_test(test_quoted_phrases),
        cmocka_unit_test(test_optional_terms),
        cmocka_unit_test(test_excluded_terms),
        cmocka_unit_test(test_message_with_nul_bytes),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
