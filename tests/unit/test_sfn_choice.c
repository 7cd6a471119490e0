/* Step Functions Choice rules: every comparison operator and its ...Path form, the type
 * tests, And / Or / Not, StringMatches wildcards and escapes, RFC 3339 timestamps, the
 * States.Runtime of a missing Variable, whole-state selection with Default and
 * States.NoChoiceMatched, and the definition checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "services/stepfunctions/sfn_choice.h"

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

static const char *INPUT =
    "{\"s\":\"beta\",\"s2\":\"beta\",\"a\":\"alpha\",\"n\":5,\"f\":5.0,\"big\":7.5,\"b\":true,"
    "\"t\":\"2026-11-30T12:00:00Z\",\"t2\":\"2026-11-30T13:00:00+01:00\","
    "\"tlate\":\"2026-11-30T12:00:00.5Z\",\"nul\":null,\"o\":{\"x\":1},\"file\":"
    "\"log-2021.txt\",\"star\":\"a*b\",\"emoji\":\"\\ud83d\\ude00\"}";

/* rule (nested form, no Next) -> expected outcome */
static const struct {
    const char *rule;
    int want; /* 1 match, 0 no match, -1 runtime error */
} CASES[] = {
    {"{\"Variable\":\"$.s\",\"StringEquals\":\"beta\"}", 1},
    {"{\"Variable\":\"$.s\",\"StringEquals\":\"Beta\"}", 0},
    {"{\"Variable\":\"$.n\",\"StringEquals\":\"5\"}", 0},
    {"{\"Variable\":\"$.s\",\"StringEqualsPath\":\"$.s2\"}", 1},
    {"{\"Variable\":\"$.s\",\"StringLessThan\":\"gamma\"}", 1},
    /* Java's compareTo: U+1F600 (surrogates D83D DE00) sorts before U+FF01 */
    {"{\"Variable\":\"$.emoji\",\"StringLessThan\":\"\\uff01\"}", 1},
    {"{\"Variable\":\"$.emoji\",\"StringGreaterThan\":\"\\u00e9\"}", 1},
    {"{\"Variable\":\"$.s\",\"StringLessThan\":\"beta2\"}", 1},
    {"{\"Variable\":\"$.s\",\"StringLessThanPath\":\"$.a\"}", 0},
    {"{\"Variable\":\"$.s\",\"StringGreaterThan\":\"alpha\"}", 1},
    {"{\"Variable\":\"$.s\",\"StringGreaterThanPath\":\"$.a\"}", 1},
    {"{\"Variable\":\"$.s\",\"StringLessThanEquals\":\"beta\"}", 1},
    {"{\"Variable\":\"$.s\",\"StringLessThanEqualsPath\":\"$.a\"}", 0},
    {"{\"Variable\":\"$.s\",\"StringGreaterThanEquals\":\"beta\"}", 1},
    {"{\"Variable\":\"$.a\",\"StringGreaterThanEqualsPath\":\"$.s\"}", 0},
    {"{\"Variable\":\"$.file\",\"StringMatches\":\"log-*.txt\"}", 1},
    {"{\"Variable\":\"$.file\",\"StringMatches\":\"*.log\"}", 0},
    {"{\"Variable\":\"$.file\",\"StringMatches\":\"*\"}", 1},
    {"{\"Variable\":\"$.star\",\"StringMatches\":\"a\\\\*b\"}", 1},
    {"{\"Variable\":\"$.file\",\"StringMatches\":\"log\\\\*\"}", 0},
    {"{\"Variable\":\"$.n\",\"NumericEquals\":5}", 1},
    {"{\"Variable\":\"$.f\",\"NumericEquals\":5}", 1},
    {"{\"Variable\":\"$.n\",\"NumericEqualsPath\":\"$.f\"}", 1},
    {"{\"Variable\":\"$.s\",\"NumericEquals\":5}", 0},
    {"{\"Variable\":\"$.n\",\"NumericLessThan\":5.5}", 1},
    {"{\"Variable\":\"$.n\",\"NumericLessThanPath\":\"$.big\"}", 1},
    {"{\"Variable\":\"$.n\",\"NumericGreaterThan\":5}", 0},
    {"{\"Variable\":\"$.big\",\"NumericGreaterThanPath\":\"$.n\"}", 1},
    {"{\"Variable\":\"$.n\",\"NumericLessThanEquals\":5}", 1},
    {"{\"Variable\":\"$.big\",\"NumericLessThanEqualsPath\":\"$.n\"}", 0},
    {"{\"Variable\":\"$.n\",\"NumericGreaterThanEquals\":5}", 1},
    {"{\"Variable\":\"$.n\",\"NumericGreaterThanEqualsPath\":\"$.big\"}", 0},
    {"{\"Variable\":\"$.b\",\"BooleanEquals\":true}", 1},
    {"{\"Variable\":\"$.b\",\"BooleanEquals\":false}", 0},
    {"{\"Variable\":\"$.s\",\"BooleanEquals\":true}", 0},
    {"{\"Variable\":\"$.b\",\"BooleanEqualsPath\":\"$.b\"}", 1},
    {"{\"Variable\":\"$.t\",\"TimestampEquals\":\"2026-11-30T12:00:00Z\"}", 1},
    {"{\"Variable\":\"$.t\",\"TimestampEqualsPath\":\"$.t2\"}", 1},
    {"{\"Variable\":\"$.t\",\"TimestampLessThan\":\"2026-11-30T12:00:00.001Z\"}", 1},
    {"{\"Variable\":\"$.t\",\"TimestampLessThanPath\":\"$.tlate\"}", 1},
    {"{\"Variable\":\"$.t\",\"TimestampGreaterThan\":\"2026-11-30T11:59:59Z\"}", 1},
    {"{\"Variable\":\"$.t\",\"TimestampGreaterThanPath\":\"$.tlate\"}", 0},
    {"{\"Variable\":\"$.t\",\"TimestampLessThanEquals\":\"2026-11-30T07:00:00-05:00\"}", 1},
    {"{\"Variable\":\"$.tlate\",\"TimestampLessThanEqualsPath\":\"$.t\"}", 0},
    {"{\"Variable\":\"$.t\",\"TimestampGreaterThanEquals\":\"2026-11-30T12:00:00Z\"}", 1},
    {"{\"Variable\":\"$.t\",\"TimestampGreaterThanEqualsPath\":\"$.tlate\"}", 0},
    {"{\"Variable\":\"$.s\",\"TimestampEquals\":\"2026-11-30T12:00:00Z\"}", 0},
    {"{\"Variable\":\"$.nul\",\"IsNull\":true}", 1},
    {"{\"Variable\":\"$.s\",\"IsNull\":true}", 0},
    {"{\"Variable\":\"$.s\",\"IsNull\":false}", 1},
    {"{\"Variable\":\"$.s\",\"IsPresent\":true}", 1},
    {"{\"Variable\":\"$.missing\",\"IsPresent\":true}", 0},
    {"{\"Variable\":\"$.missing\",\"IsPresent\":false}", 1},
    {"{\"Variable\":\"$.nul\",\"IsPresent\":true}", 1},
    {"{\"Variable\":\"$.n\",\"IsNumeric\":true}", 1},
    {"{\"Variable\":\"$.s\",\"IsNumeric\":true}", 0},
    {"{\"Variable\":\"$.s\",\"IsString\":true}", 1},
    {"{\"Variable\":\"$.o\",\"IsString\":false}", 1},
    {"{\"Variable\":\"$.b\",\"IsBoolean\":true}", 1},
    {"{\"Variable\":\"$.t\",\"IsTimestamp\":true}", 1},
    {"{\"Variable\":\"$.s\",\"IsTimestamp\":true}", 0},
    {"{\"Variable\":\"$.o.x\",\"NumericEquals\":1}", 1},
    {"{\"Variable\":\"$$.Execution.Name\",\"StringEquals\":\"exec\"}", 1},
    {"{\"And\":[{\"Variable\":\"$.n\",\"NumericGreaterThanEquals\":1},"
     "{\"Variable\":\"$.n\",\"NumericLessThan\":10}]}",
     1},
    {"{\"And\":[{\"Variable\":\"$.n\",\"NumericGreaterThanEquals\":6},"
     "{\"Variable\":\"$.missing\",\"NumericLessThan\":10}]}",
     0}, /* short-circuits before the missing path */
    {"{\"Or\":[{\"Variable\":\"$.s\",\"StringEquals\":\"x\"},"
     "{\"Not\":{\"Variable\":\"$.b\",\"BooleanEquals\":false}}]}",
     1},
    {"{\"Not\":{\"Or\":[{\"Variable\":\"$.s\",\"StringEquals\":\"x\"}]}}", 1},
    /* a missing Variable is a runtime error, except under IsPresent */
    {"{\"Variable\":\"$.missing\",\"StringEquals\":\"x\"}", -1},
    {"{\"Variable\":\"$.missing\",\"IsNull\":true}", -1},
    {"{\"Variable\":\"$.s\",\"StringEqualsPath\":\"$.missing\"}", -1},
};

static void test_every_operator(void **state)
{
    json_t *input = js(INPUT), *ctx = js("{\"Execution\":{\"Name\":\"exec\"}}");
    for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++) {
        json_t *rule = js(CASES[i].rule);
        sfn_choice_rule *r;
        char err[256];
        if (sfn_choice_rule_compile(rule, false, &r, err, sizeof err) != 0)
            fail_msg("%s does not compile: %s", CASES[i].rule, err);
        bool matched;
        sfn_error e;
        int rc = sfn_choice_rule_eval(r, input, ctx, &matched, &e);
        int got = rc != 0 ? -1 : matched;
        if (got != CASES[i].want)
            fail_msg("%s gave %d, want %d", CASES[i].rule, got, CASES[i].want);
        if (rc != 0) {
            assert_string_equal(e.name, "States.Runtime");
            assert_non_null(strstr(e.cause, "Invalid path '$.missing'"));
        }
        sfn_choice_rule_free(r);
        json_decref(rule);
    }
    json_decref(ctx);
    json_decref(input);
}

static void test_string_matches_wildcards(void **state)
{
    static const struct {
        const char *s, *pattern;
        bool want;
    } cases[] = {
        {"log-2021.txt", "log-*.txt", true},
        {"log.txt", "log-*.txt", false},
        {"", "*", true},
        {"", "", true},
        {"a", "", false},
        {"abc", "a*c", true},
        {"abc", "*b*", true},
        {"abcbd", "*b*d", true},
        {"abc", "a*d", false},
        {"a*c", "a\\*c", true},
        {"abc", "a\\*c", false},
        {"a\\c", "a\\\\c", true},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaab", "*a*a*a*a*a*a*a*a*c", false},
        {"x.log", "*.log", true},
        {"a.log.gz", "*.log", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        if (sfn_string_matches(cases[i].s, cases[i].pattern) != cases[i].want)
            fail_msg("'%s' matching '%s' should be %d", cases[i].s, cases[i].pattern,
                     cases[i].want);
}

static void test_timestamps(void **state)
{
    static const char *good[] = {"2016-03-14T01:59:00Z", "2016-03-14T01:59:00.123Z",
                                 "2016-03-14T01:59:00+05:30", "2024-02-29T00:00:00Z",
                                 "1969-12-31T23:59:59.999999999-00:00"};
    static const char *bad[] = {"2016-03-14 01:59:00Z",
                                "2016-03-14t01:59:00Z",
                                "2016-03-14T01:59:00z",
                                "2016-03-14T01:59:00",
                                "2023-02-29T00:00:00Z",
                                "2016-13-01T00:00:00Z",
                                "2016-03-14T24:00:00Z",
                                "2016-03-14T01:59:00.Z",
                                "2016-03-14T01:59:00+0530",
                                "2016-03-14",
                                "",
                                "2016-03-14T01:59:00Zjunk"};
    sfn_time t, u;
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        if (sfn_timestamp_parse(good[i], &t) != 0)
            fail_msg("%s should parse", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (sfn_timestamp_parse(bad[i], &t) == 0)
            fail_msg("%s should not parse", bad[i]);
    assert_int_equal(sfn_timestamp_parse("1970-01-01T00:00:01.5Z", &t), 0);
    assert_int_equal(t.secs, 1);
    assert_int_equal(t.nanos, 500000000);
    assert_int_equal(sfn_timestamp_parse("1970-01-01T01:00:00+01:00", &t), 0);
    assert_int_equal(t.secs, 0);
    assert_int_equal(t.nanos, 0);
    /* far years (found by fuzzing: nanoseconds in one int64 overflow after 2262) */
    assert_int_equal(sfn_timestamp_parse("9999-12-31T23:59:59.999999999Z", &t), 0);
    assert_int_equal(sfn_timestamp_parse("2826-11-30T12:00:00Z", &u), 0);
    assert_int_equal(sfn_time_cmp(u, t), -1);
    assert_int_equal(sfn_time_cmp(t, u), 1);
    assert_int_equal(sfn_time_cmp(t, t), 0);
}

static void test_invalid_rules_are_rejected(void **state)
{
    static const struct {
        const char *rule;
        bool top;
        const char *err;
    } cases[] = {
        {"{\"Variable\":\"$.a\",\"StringEquals\":\"x\"}", true,
         "The field 'Next' should be a STRING in a top-level Choice rule"},
        {"{\"Variable\":\"$.a\",\"StringEquals\":\"x\",\"Next\":\"N\"}", false,
         "The field 'Next' is not allowed in a nested Choice rule"},
        {"{\"Variable\":\"$.a\",\"Next\":\"N\"}", true,
         "A Choice rule must have exactly one comparison operator, not 0"},
        {"{\"Variable\":\"$.a\",\"StringEquals\":\"x\",\"IsNull\":true}", false,
         "A Choice rule must have exactly one comparison operator, not 2"},
        {"{\"StringEquals\":\"x\"}", false,
         "The value for the field 'Variable' must be a valid JSONPath"},
        {"{\"Variable\":\"a\",\"StringEquals\":\"x\"}", false,
         "The value for the field 'Variable' must be a valid JSONPath"},
        {"{\"Variable\":\"$.a\",\"StringEquals\":1}", false,
         "The value for the field 'StringEquals' must be a STRING"},
        {"{\"Variable\":\"$.a\",\"NumericEquals\":\"1\"}", false,
         "The value for the field 'NumericEquals' must be a NUMBER"},
        {"{\"Variable\":\"$.a\",\"BooleanEquals\":\"true\"}", false,
         "The value for the field 'BooleanEquals' must be a BOOLEAN"},
        {"{\"Variable\":\"$.a\",\"IsNull\":1}", false,
         "The value for the field 'IsNull' must be a BOOLEAN"},
        {"{\"Variable\":\"$.a\",\"TimestampEquals\":\"yesterday\"}", false,
         "The value for the field 'TimestampEquals' must be a valid RFC 3339 TIMESTAMP"},
        {"{\"Variable\":\"$.a\",\"StringEqualsPath\":\"x\"}", false,
         "The value for the field 'StringEqualsPath' must be a valid JSONPath"},
        {"{\"And\":[]}", false, "The value for the field 'And' must be a non-empty ARRAY"},
        {"{\"Or\":{}}", false, "The value for the field 'Or' must be a non-empty ARRAY"},
        {"{\"Not\":[]}", false, "The value for the field 'Not' must be an OBJECT"},
        {"{\"And\":[{\"Variable\":\"$.a\",\"IsNull\":true}],\"Variable\":\"$.a\"}", false,
         "A Choice rule must be exactly one of a comparison, 'And', 'Or' or 'Not'"},
        {"{\"And\":[{\"Variable\":\"$.a\",\"IsNull\":true,\"Next\":\"X\"}],\"Next\":\"N\"}", true,
         "The field 'Next' is not allowed in a nested Choice rule"},
        {"[]", false, "A Choice rule must be an OBJECT"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *rule = js(cases[i].rule);
        sfn_choice_rule *r = NULL;
        char err[256];
        if (sfn_choice_rule_compile(rule, cases[i].top, &r, err, sizeof err) == 0)
            fail_msg("%s compiled", cases[i].rule);
        assert_null(r);
        if (strcmp(err, cases[i].err) != 0)
            fail_msg("%s\n  got:  %s\n  want: %s", cases[i].rule, err, cases[i].err);
        json_decref(rule);
    }
}

/* The Choice state example of the developer guide. */
static void test_choice_state_selects_next(void **state)
{
    json_t *st =
        js("{\"Type\":\"Choice\",\"Choices\":["
           "{\"Not\":{\"Variable\":\"$.type\",\"StringEquals\":\"Private\"},\"Next\":\"Public\"},"
           "{\"Variable\":\"$.value\",\"NumericEquals\":0,\"Next\":\"ValueIsZero\"},"
           "{\"And\":[{\"Variable\":\"$.value\",\"NumericGreaterThanEquals\":20},"
           "{\"Variable\":\"$.value\",\"NumericLessThan\":30}],\"Next\":\"ValueInTwenties\"}],"
           "\"Default\":\"DefaultState\"}");
    char err[256];
    assert_int_equal(sfn_choice_state_validate(st, err, sizeof err), 0);
    static const struct {
        const char *input, *next;
    } cases[] = {
        {"{\"type\":\"Public\",\"value\":0}", "Public"},
        {"{\"type\":\"Private\",\"value\":0}", "ValueIsZero"},
        {"{\"type\":\"Private\",\"value\":25}", "ValueInTwenties"},
        {"{\"type\":\"Private\",\"value\":35}", "DefaultState"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *in = js(cases[i].input);
        const char *next;
        sfn_error e;
        assert_int_equal(sfn_choice_state_select(st, in, NULL, &next, &e), 0);
        assert_string_equal(next, cases[i].next);
        json_decref(in);
    }
    json_object_del(st, "Default");
    json_t *in = js("{\"type\":\"Private\",\"value\":35}");
    const char *next;
    sfn_error e;
    assert_int_equal(sfn_choice_state_select(st, in, NULL, &next, &e), -1);
    assert_string_equal(e.name, "States.NoChoiceMatched");
    json_decref(in);
    in = js("{\"type\":\"Private\"}");
    assert_int_equal(sfn_choice_state_select(st, in, NULL, &next, &e), -1);
    assert_string_equal(e.name, "States.Runtime");
    json_decref(in);
    json_decref(st);

    st = js("{\"Type\":\"Choice\",\"Choices\":[{\"Variable\":\"$.a\",\"IsNull\":true,"
            "\"Next\":\"A\"},{\"Variable\":\"$.a\"}]}");
    assert_int_equal(sfn_choice_state_validate(st, err, sizeof err), -1);
    assert_string_equal(err, "The field 'Next' should be a STRING in a top-level Choice rule at "
                             "/Choices[1]");
    json_decref(st);
    st = js("{\"Type\":\"Choice\",\"Choices\":[]}");
    assert_int_equal(sfn_choice_state_validate(st, err, sizeof err), -1);
    json_decref(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_operator),
        cmocka_unit_test(test_string_matches_wildcards),
        cmocka_unit_test(test_timestamps),
        cmocka_unit_test(test_invalid_rules_are_rejected),
        cmocka_unit_test(test_choice_state_selects_next),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
