/* Step Functions intrinsic functions: every function with the examples of the AWS
 * developer guide, string literal escapes, nesting, argument checks and their
 * States.IntrinsicFailure errors, and compile errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "services/stepfunctions/sfn_intrinsic.h"

#include <ctype.h>
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

static void test_functions_give_the_guide_results(void **state)
{
    static const struct {
        const char *expr, *input, *want;
    } cases[] = {
        {"States.Format('Hello, my name is {}.', $.name)", "{\"name\":\"Arnav\"}",
         "\"Hello, my name is Arnav.\""},
        {"States.Format($.template, $.name)",
         "{\"name\":\"Arnav\",\"template\":\"Hello, my name is {}.\"}",
         "\"Hello, my name is Arnav.\""},
        {"States.Format('{} + {} = {}', 1, 2.5, true)", "{}", "\"1 + 2.5 = true\""},
        {"States.Format('null: {}', null)", "{}", "\"null: null\""},
        {"States.Format('no placeholders')", "{}", "\"no placeholders\""},
        {"States.Format('braces \\{\\} and {}', 'x')", "{}", "\"braces {} and x\""},
        {"States.Format('It\\'s {}', $.who)", "{\"who\":\"me\"}", "\"It's me\""},
        {"States.Format('back\\\\slash {}', 1)", "{}", "\"back\\\\slash 1\""},
        {"States.StringToJson($.someString)", "{\"someString\":\"{\\\"number\\\": 20}\"}",
         "{\"number\":20}"},
        {"States.JsonToString($.foo)", "{\"foo\":{\"bar\":\"baz\"}}",
         "\"{\\\"bar\\\":\\\"baz\\\"}\""},
        {"States.Array('Foo', 2020, $.someJson, null)", "{\"someJson\":{\"random\":\"abcdefg\"}}",
         "[\"Foo\",2020,{\"random\":\"abcdefg\"},null]"},
        {"States.Array()", "{}", "[]"},
        {"States.ArrayPartition($.inputArray,4)", "{\"inputArray\":[1,2,3,4,5,6,7,8,9]}",
         "[[1,2,3,4],[5,6,7,8],[9]]"},
        {"States.ArrayPartition($.a, 5)", "{\"a\":[]}", "[]"},
        {"States.ArrayContains($.inputArray, $.lookingFor)",
         "{\"inputArray\":[1,2,3,4,5,6,7,8,9],\"lookingFor\":5}", "true"},
        {"States.ArrayContains($.a, 'x')", "{\"a\":[1,\"y\"]}", "false"},
        {"States.ArrayContains($.a, $.o)", "{\"a\":[{\"k\":[1]}],\"o\":{\"k\":[1]}}", "true"},
        {"States.ArrayRange(1, 9, 2)", "{}", "[1,3,5,7,9]"},
        {"States.ArrayRange(10, 1, -3)", "{}", "[10,7,4,1]"},
        {"States.ArrayRange(1, 0, 1)", "{}", "[]"},
        {"States.ArrayGetItem($.inputArray, $.index)",
         "{\"inputArray\":[1,2,3,4,5,6,7,8,9],\"index\":5}", "6"},
        {"States.ArrayLength($.inputArray)", "{\"inputArray\":[1,2,3,4,5,6,7,8,9]}", "9"},
        {"States.ArrayUnique($.inputArray)", "{\"inputArray\":[1,2,3,3,3,3,3,3,4]}", "[1,2,3,4]"},
        {"States.Base64Encode($.input)", "{\"input\":\"Data to encode\"}",
         "\"RGF0YSB0byBlbmNvZGU=\""},
        {"States.Base64Decode($.base64)", "{\"base64\":\"RGF0YSB0byBlbmNvZGU=\"}",
         "\"Data to encode\""},
        {"States.Base64Decode('YWI=')", "{}", "\"ab\""},
        {"States.Base64Encode('')", "{}", "\"\""},
        {"States.Hash($.Data, $.Algorithm)", "{\"Data\":\"input data\",\"Algorithm\":\"SHA-1\"}",
         "\"aaff4a450a104cd177d28d18d74485e8cae074b7\""},
        {"States.Hash('abc', 'MD5')", "{}", "\"900150983cd24fb0d6963f7d28e17f72\""},
        {"States.Hash('abc', 'SHA-256')", "{}",
         "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\""},
        {"States.Hash('abc', 'SHA-384')", "{}",
         "\"cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358ba"
         "eca134c825a7\""},
        {"States.Hash('abc', 'SHA-512')", "{}",
         "\"ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c"
         "23a3feebbd454d4423643ce80e2a9ac94fa54ca49f\""},
        {"States.JsonMerge($.json1, $.json2, false)",
         "{\"json1\":{\"a\":{\"a1\":1,\"a2\":2},\"b\":2},\"json2\":{\"a\":{\"a3\":1,\"a4\":2},"
         "\"c\":3}}",
         "{\"a\":{\"a3\":1,\"a4\":2},\"b\":2,\"c\":3}"},
        {"States.MathAdd($.value1, $.step)", "{\"value1\":111,\"step\":-1}", "110"},
        {"States.MathAdd(-3, 3)", "{}", "0"},
        {"States.MathRandom(5, 5)", "{}", "5"},
        /* non-integers are rounded to the nearest integer, halves up (Java's Math.round) */
        {"States.MathAdd(1.5, 1)", "{}", "3"},
        {"States.MathAdd(-1.5, 0)", "{}", "-1"},
        {"States.MathAdd(2.4, 0.6)", "{}", "3"},
        {"States.MathRandom(4.6, 5.4)", "{}", "5"},
        {"States.StringSplit($.inputString, $.splitter)",
         "{\"inputString\":\"1,2,3,4,5\",\"splitter\":\",\"}", "[\"1\",\"2\",\"3\",\"4\",\"5\"]"},
        {"States.StringSplit($.inputString, $.splitter)",
         "{\"inputString\":\"This.is+a,test=string\",\"splitter\":\".+,=\"}",
         "[\"This\",\"is\",\"a\",\"test\",\"string\"]"},
        {"States.StringSplit('a,,b,', ',')", "{}", "[\"a\",\"b\"]"},
        {"States.StringSplit($.s, $.d)", "{\"s\":\"\u00e9t\u00e9\u2014\u00e0\",\"d\":\"\u2014\"}",
         "[\"\u00e9t\u00e9\",\"\u00e0\"]"},
        {"States.StringSplit($.s, $.d)", "{\"s\":\"\u00e9\u00e8\",\"d\":\"\u00e8\"}",
         "[\"\u00e9\"]"},
        {"States.StringSplit('abc', '')", "{}", "[\"abc\"]"},
        /* nesting, paths with spaces and brackets, $$ */
        {"States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit("
         "$.Arn, '/'), 2), '.'), 1)",
         "{\"Arn\":\"arn:aws:imagebuilder:us-east-1:1:image-recipe/my-recipe/1.0.1\"}", "\"0\""},
        {"States.Format('{}-{}', $['a b'], $.list[1])", "{\"a b\":\"x\",\"list\":[0,9]}",
         "\"x-9\""},
        {"States.Array($.a[*].b)", "{\"a\":[{\"b\":1},{\"b\":2}]}", "[[1,2]]"},
        {"  States.ArrayLength( States.Array( 1 , 2 ) )  ", "{}", "2"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *input = js(cases[i].input), *out = NULL, *want = js(cases[i].want);
        sfn_error e;
        if (sfn_intrinsic_run(cases[i].expr, input, NULL, "f.$", &out, &e) != 0)
            fail_msg("%s failed: %s: %s", cases[i].expr, e.name, e.cause);
        if (!json_equal(out, want))
            fail_msg("%s\n  got:  %s\n  want: %s", cases[i].expr,
                     json_dumps(out, JSON_ENCODE_ANY | JSON_COMPACT), cases[i].want);
        json_decref(out);
        json_decref(want);
        json_decref(input);
    }
}

static void test_context_and_random_functions(void **state)
{
    json_t *input = js("{\"start\":1,\"end\":999}"), *out;
    json_t *ctx = js("{\"Execution\":{\"Name\":\"run-1\"}}");
    sfn_error e;
    assert_int_equal(sfn_intrinsic_run("States.Format('exec {}', $$.Execution.Name)", input, ctx,
                                       "x.$", &out, &e),
                     0);
    assert_string_equal(json_string_value(out), "exec run-1");
    json_decref(out);
    for (int i = 0; i < 50; i++) {
        assert_int_equal(
            sfn_intrinsic_run("States.MathRandom($.start, $.end)", input, NULL, "x.$", &out, &e),
            0);
        assert_true(json_is_integer(out));
        assert_in_range(json_integer_value(out), 1, 999);
        json_decref(out);
    }
    /* a seed makes it repeatable */
    json_t *a, *b;
    assert_int_equal(
        sfn_intrinsic_run("States.MathRandom(0, 1000000, 42)", input, NULL, "x.$", &a, &e), 0);
    assert_int_equal(
        sfn_intrinsic_run("States.MathRandom(0, 1000000, 42)", input, NULL, "x.$", &b, &e), 0);
    assert_true(json_equal(a, b));
    json_decref(a);
    json_decref(b);
    assert_int_equal(sfn_intrinsic_run("States.UUID()", input, NULL, "x.$", &out, &e), 0);
    const char *u = json_string_value(out);
    assert_int_equal(strlen(u), 36);
    assert_int_equal(u[14], '4');
    assert_non_null(strchr("89ab", u[19]));
    for (int i = 0; i < 36; i++)
        assert_true(i == 8 || i == 13 || i == 18 || i == 23 ? u[i] == '-'
                                                            : isxdigit((unsigned char)u[i]));
    json_decref(out);
    json_decref(ctx);
    json_decref(input);
}

static void test_bad_arguments_fail_with_intrinsic_failure(void **state)
{
    static const struct {
        const char *expr, *input, *error;
    } cases[] = {
        {"States.Format('{} {}', 1)", "{}", "States.IntrinsicFailure"},
        {"States.Format('{}', 1, 2)", "{}", "States.IntrinsicFailure"},
        {"States.Format('{}', $.o)", "{\"o\":{}}", "States.IntrinsicFailure"},
        {"States.Format($.s, 1)", "{\"s\":7}", "States.IntrinsicFailure"},
        {"States.StringToJson('{not json')", "{}", "States.IntrinsicFailure"},
        {"States.StringToJson(1)", "{}", "States.IntrinsicFailure"},
        {"States.ArrayPartition($.a, 0)", "{\"a\":[1]}", "States.IntrinsicFailure"},
        {"States.ArrayPartition($.a, 1.5)", "{\"a\":[1]}", "States.IntrinsicFailure"},
        {"States.ArrayPartition('x', 1)", "{}", "States.IntrinsicFailure"},
        {"States.ArrayRange(1, 2000, 1)", "{}", "States.IntrinsicFailure"},
        {"States.ArrayRange(1, 10, 0)", "{}", "States.IntrinsicFailure"},
        {"States.ArrayRange('1', 10, 1)", "{}", "States.IntrinsicFailure"},
        {"States.ArrayGetItem($.a, 3)", "{\"a\":[1,2,3]}", "States.IntrinsicFailure"},
        {"States.ArrayGetItem($.a, -1)", "{\"a\":[1,2,3]}", "States.IntrinsicFailure"},
        {"States.ArrayLength('abc')", "{}", "States.IntrinsicFailure"},
        {"States.ArrayUnique(1)", "{}", "States.IntrinsicFailure"},
        {"States.Base64Decode('###=')", "{}", "States.IntrinsicFailure"},
        {"States.Base64Decode('abc')", "{}", "States.IntrinsicFailure"},
        {"States.Base64Encode(5)", "{}", "States.IntrinsicFailure"},
        {"States.Hash('a', 'SHA-3')", "{}", "States.IntrinsicFailure"},
        {"States.Hash(null, 'MD5')", "{}", "States.IntrinsicFailure"},
        {"States.JsonMerge($.a, $.b, true)", "{\"a\":{},\"b\":{}}", "States.IntrinsicFailure"},
        {"States.JsonMerge($.a, 1, false)", "{\"a\":{}}", "States.IntrinsicFailure"},
        {"States.MathAdd('1', 1)", "{}", "States.IntrinsicFailure"},
        {"States.MathRandom(1, $.o)", "{\"o\":{}}", "States.IntrinsicFailure"},
        {"States.MathAdd(9223372036854775807, 1)", "{}", "States.IntrinsicFailure"},
        {"States.MathRandom(10, 1)", "{}", "States.IntrinsicFailure"},
        {"States.StringSplit(1, ',')", "{}", "States.IntrinsicFailure"},
        {"States.Array($.missing)", "{}", "States.Runtime"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *input = js(cases[i].input), *out = NULL;
        sfn_error e;
        if (sfn_intrinsic_run(cases[i].expr, input, NULL, "f.$", &out, &e) == 0)
            fail_msg("%s succeeded", cases[i].expr);
        assert_null(out);
        if (strcmp(e.name, cases[i].error) != 0)
            fail_msg("%s failed with %s, not %s", cases[i].expr, e.name, cases[i].error);
        json_decref(input);
    }
    /* the over-long input of an encoder */
    json_t *input = json_pack("{s:s%}", "s", "", (size_t)0);
    char *big = calloc(1, 10002);
    memset(big, 'a', 10001);
    json_object_set_new(input, "s", json_string(big));
    json_t *out;
    sfn_error e;
    assert_int_equal(sfn_intrinsic_run("States.Base64Encode($.s)", input, NULL, "f.$", &out, &e),
                     -1);
    assert_int_equal(sfn_intrinsic_run("States.Hash($.s, 'MD5')", input, NULL, "f.$", &out, &e),
                     -1);
    free(big);
    json_decref(input);
}

static void test_missing_path_argument_names_the_field(void **state)
{
    json_t *input = js("{\"a\":1}"), *out;
    sfn_error e;
    assert_int_equal(
        sfn_intrinsic_run("States.Format('{}', $.x)", input, NULL, "greeting.$", &out, &e), -1);
    assert_string_equal(e.name, "States.Runtime");
    assert_string_equal(e.cause, "The JSONPath '$.x' specified for the field 'greeting.$' could "
                                 "not be found in the input '{\"a\":1}'");
    json_decref(input);
}

static void test_malformed_calls_do_not_compile(void **state)
{
    static const char *bad[] = {
        "States.Nope(1)",
        "States.Format",
        "States.Format(",
        "States.Format('x'",
        "States.Format('x)",
        "States.Format('x' 'y')",
        "States.Format('\\n')",
        "States.Format('x'))",
        "States.ArrayLength()",
        "States.ArrayLength(1, 2)",
        "States.UUID(1)",
        "States.MathRandom(1)",
        "States.JsonMerge(1, 2)",
        "States.Array(foo)",
        "States.Array($.)",
        "States.Array(+1)",
        "Format('x')",
        "$.a",
        "States.Array(1,)",
        /* eleven nested functions */
        "States.Array(States.Array(States.Array(States.Array(States.Array(States.Array("
        "States.Array(States.Array(States.Array(States.Array(States.Array())))))))))))",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        sfn_intrinsic *f = NULL;
        char err[256];
        if (sfn_intrinsic_compile(bad[i], &f, err, sizeof err) == 0)
            fail_msg("'%s' compiled", bad[i]);
        assert_null(f);
    }
    /* ten are allowed */
    sfn_intrinsic *f;
    char err[256];
    assert_int_equal(
        sfn_intrinsic_compile("States.Array(States.Array(States.Array(States.Array(States.Array("
                              "States.Array(States.Array(States.Array(States.Array(States.Array("
                              "))))))))))",
                              &f, err, sizeof err),
        0);
    sfn_intrinsic_free(f);
    assert_true(sfn_intrinsic_is_call("States.Format('x')"));
    assert_false(sfn_intrinsic_is_call("$.States"));
    assert_false(sfn_intrinsic_is_call("States.Format"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_functions_give_the_guide_results),
        cmocka_unit_test(test_context_and_random_functions),
        cmocka_unit_test(test_bad_arguments_fail_with_intrinsic_failure),
        cmocka_unit_test(test_missing_path_argument_names_the_field),
        cmocka_unit_test(test_malformed_calls_do_not_compile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
