/* Step Functions JSONPath: selection (the Paths, InputPath and context object examples of
 * the AWS developer guide, Jayway's wildcards, slices, unions, deep scan and filters),
 * reference-path validation, AWS's States.Runtime messages, and ResultPath merging. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "services/stepfunctions/sfn_jsonpath.h"

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

static void assert_json(json_t *got, const char *want, const char *what)
{
    json_t *w = js(want);
    if (!got || !json_equal(got, w)) {
        char *g = got ? json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
        fail_msg("%s\n  got:  %s\n  want: %s", what, g ? g : "(nothing)", want);
    }
    json_decref(w);
}

static const char *BOOKS =
    "{\"store\":{\"book\":["
    "{\"category\":\"reference\",\"author\":\"Nigel Rees\",\"title\":\"Sayings\",\"price\":8.95},"
    "{\"category\":\"fiction\",\"author\":\"Evelyn Waugh\",\"title\":\"Sword\",\"price\":12.99},"
    "{\"category\":\"fiction\",\"author\":\"Herman Melville\",\"title\":\"Moby Dick\","
    "\"isbn\":\"0-553-21311-3\",\"price\":8.99}],"
    "\"bicycle\":{\"color\":\"red\",\"price\":19.95}},\"expensive\":10}";

static void test_paths_select_as_the_guide_shows(void **state)
{
    static const struct {
        const char *path, *input, *want; /* want NULL: no match */
    } cases[] = {
        /* "Paths" in the developer guide */
        {"$.foo", "{\"foo\":123,\"bar\":[\"a\",\"b\",\"c\"],\"car\":{\"cdr\":true}}", "123"},
        {"$.bar", "{\"foo\":123,\"bar\":[\"a\",\"b\",\"c\"],\"car\":{\"cdr\":true}}",
         "[\"a\",\"b\",\"c\"]"},
        {"$.car.cdr", "{\"foo\":123,\"bar\":[\"a\",\"b\",\"c\"],\"car\":{\"cdr\":true}}", "true"},
        {"$", "{\"a\":1}", "{\"a\":1}"},
        {"$['a b']", "{\"a b\":{\"c\":2}}", "{\"c\":2}"},
        {"$[\"a b\"].c", "{\"a b\":{\"c\":2}}", "2"},
        {"$['it\\'s']", "{\"it's\":3}", "3"},
        {"$.a[0]", "{\"a\":[5,6,7]}", "5"},
        {"$.a[-1]", "{\"a\":[5,6,7]}", "7"},
        {"$.a[3]", "{\"a\":[5,6,7]}", NULL},
        {"$.a[-4]", "{\"a\":[5,6,7]}", NULL},
        {"$.a.b", "{\"a\":[1]}", NULL},
        {"$.x", "{\"a\":1}", NULL},
        {"$.a[0]", "{\"a\":{\"0\":1}}", NULL},
        {"$.a.b", "{\"a\":{\"b\":null}}", "null"},
        {"$.a-b.c_d", "{\"a-b\":{\"c_d\":1}}", "1"},
        /* indefinite paths give arrays */
        {"$.a[*]", "{\"a\":[1,2]}", "[1,2]"},
        {"$.a.*", "{\"a\":{\"x\":1,\"y\":2}}", "[1,2]"},
        {"$.a[*].b", "{\"a\":[{\"b\":1},{\"c\":2},{\"b\":3}]}", "[1,3]"},
        {"$.a[1:3]", "{\"a\":[0,1,2,3,4]}", "[1,2]"},
        {"$.a[:2]", "{\"a\":[0,1,2,3,4]}", "[0,1]"},
        {"$.a[-2:]", "{\"a\":[0,1,2,3,4]}", "[3,4]"},
        {"$.a[::2]", "{\"a\":[0,1,2,3,4]}", "[0,2,4]"},
        {"$.a[0,2]", "{\"a\":[0,1,2,3,4]}", "[0,2]"},
        {"$['x','y']", "{\"x\":1,\"y\":2,\"z\":3}", "[1,2]"},
        {"$.none[*]", "{}", "[]"},
        {"$..price", NULL, "[8.95,12.99,8.99,19.95]"},
        {"$.store.book[*].author", NULL, "[\"Nigel Rees\",\"Evelyn Waugh\",\"Herman Melville\"]"},
        {"$.store.book[?(@.price < 10)].title", NULL, "[\"Sayings\",\"Moby Dick\"]"},
        {"$.store.book[?(@.isbn)].title", NULL, "[\"Moby Dick\"]"},
        {"$.store.book[?(!@.isbn)].title", NULL, "[\"Sayings\",\"Sword\"]"},
        {"$.store.book[?(@.category == 'fiction' && @.price > 10)].title", NULL, "[\"Sword\"]"},
        {"$.store.book[?(@.category == \"reference\" || @.price > 12)].title", NULL,
         "[\"Sayings\",\"Sword\"]"},
        {"$.store.book[?(@.price <= $.expensive)].title", NULL, "[\"Sayings\",\"Moby Dick\"]"},
        {"$.store.book[?(@.author != 'Nigel Rees')].price", NULL, "[12.99,8.99]"},
        {"$..book[0].title", NULL, "[\"Sayings\"]"},
        {"$..book[-1:].title", NULL, "[\"Moby Dick\"]"},
        {"$.store.book.length()", NULL, "3"},
        {"$.store.bicycle.length()", NULL, "2"},
        {"$.store.bicycle.color.length()", NULL, "3"},
        {"$.store.book[*].length()", NULL, "3"},
        {"$.length()", NULL, "2"},
        {"$.store.book[?(@.title.length() > 5)].title", NULL, "[\"Sayings\",\"Moby Dick\"]"},
        {"$.expensive.length()", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        sfn_path *p;
        char err[256];
        if (sfn_path_compile(cases[i].path, &p, err, sizeof err) != 0)
            fail_msg("%s does not compile: %s", cases[i].path, err);
        json_t *input = js(cases[i].input ? cases[i].input : BOOKS);
        json_t *got = sfn_path_eval(p, input, NULL);
        if (cases[i].want)
            assert_json(got, cases[i].want, cases[i].path);
        else if (got)
            fail_msg("%s matched something in %s", cases[i].path, cases[i].input);
        json_decref(got);
        json_decref(input);
        sfn_path_free(p);
    }
}

static void test_context_object_paths(void **state)
{
    json_t *input = js("{\"a\":1}");
    json_t *ctx = js("{\"Execution\":{\"Id\":\"arn:aws:states:us-east-1:1:execution:sm:e\","
                     "\"Input\":{\"a\":1}},\"State\":{\"Name\":\"S\",\"RetryCount\":0},"
                     "\"Task\":{\"Token\":\"tok\"}}");
    json_t *out;
    sfn_error e;
    assert_int_equal(sfn_path_apply("$$.Execution.Id", input, ctx, &out, &e), 0);
    assert_json(out, "\"arn:aws:states:us-east-1:1:execution:sm:e\"", "$$.Execution.Id");
    json_decref(out);
    assert_int_equal(sfn_path_apply("$$.Task.Token", input, ctx, &out, &e), 0);
    assert_json(out, "\"tok\"", "$$.Task.Token");
    json_decref(out);
    assert_int_equal(sfn_path_apply("$$", input, ctx, &out, &e), 0);
    assert_true(json_equal(out, ctx));
    json_decref(out);
    /* a path on the context object without one reads an empty object */
    assert_int_equal(sfn_path_apply("$$.State.Name", input, NULL, &out, &e), -1);
    json_decref(input);
    json_decref(ctx);
}

static void test_input_path_example_and_null(void **state)
{
    /* "InputPath" example of the developer guide */
    json_t *input = js("{\"comment\":\"Example for InputPath.\","
                       "\"dataset1\":{\"val1\":1,\"val2\":2,\"val3\":3},"
                       "\"dataset2\":{\"val1\":\"a\",\"val2\":\"b\",\"val3\":\"c\"}}");
    json_t *out;
    sfn_error e;
    assert_int_equal(sfn_path_apply("$.dataset2", input, NULL, &out, &e), 0);
    assert_json(out, "{\"val1\":\"a\",\"val2\":\"b\",\"val3\":\"c\"}", "InputPath $.dataset2");
    json_decref(out);
    /* "InputPath": null gives an empty object */
    assert_int_equal(sfn_path_apply(NULL, input, NULL, &out, &e), 0);
    assert_json(out, "{}", "InputPath null");
    json_decref(out);
    json_decref(input);
}

static void test_missing_path_errors_word_as_aws(void **state)
{
    json_t *input = js("{\"a\":{\"b\":1}}");
    json_t *out = NULL;
    sfn_error e;
    assert_int_equal(sfn_path_apply("$.x", input, NULL, &out, &e), -1);
    assert_null(out);
    assert_string_equal(e.name, "States.Runtime");
    assert_string_equal(e.cause, "Invalid path '$.x' : No results for path: $['x']");
    assert_int_equal(sfn_path_apply("$.a.c", input, NULL, &out, &e), -1);
    assert_string_equal(e.cause, "Invalid path '$.a.c' : No results for path: $['a']['c']");
    assert_int_equal(sfn_path_apply("$.x.y", input, NULL, &out, &e), -1);
    assert_string_equal(e.cause, "Invalid path '$.x.y' : Missing property in path $['x']");
    json_decref(input);
}

static void test_invalid_paths_do_not_compile(void **state)
{
    static const char *bad[] = {
        "",
        "a.b",
        "$.",
        "$[",
        "$['a'",
        "$.a[",
        "$.a[x]",
        "$.a[?(@.x <)]",
        "$..",
        "$.length().a",
        "$..length()",
        "$[?(((((((((((((((((((@.a)))))))))))))))))))]",
        "$[?(!!!!!!!!!!!!!!!!!!!@.a)]",
        "$[?(@.a || !(!(!(!(!(!(!(!(!(!(!(!(!(!(!(!(!(@.b)))))))))))))))))]",
        "$.a]",
        "$ .a",
        "$[1:2:0]",
        "$[?(1)]",
        "@.a",
        "$['a'x]",
        "$.a[?(@.b == 'x)]"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        sfn_path *p = NULL;
        char err[256];
        if (sfn_path_compile(bad[i], &p, err, sizeof err) == 0)
            fail_msg("'%s' compiled", bad[i]);
        assert_null(p);
    }
}

static void test_reference_paths_are_single_nodes(void **state)
{
    static const struct {
        const char *path;
        bool reference;
    } cases[] = {
        {"$", true},           {"$.a.b", true},    {"$['a b'].c", true},    {"$.a[0]", true},
        {"$.a[*]", false},     {"$..a", false},    {"$.a[0:1]", false},     {"$.a[0,1]", false},
        {"$['a','b']", false}, {"$$.Task", false}, {"$.a.length()", false}, {"$.a[?(@.x)]", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char err[256] = "";
        int rc = sfn_path_validate(cases[i].path, "ResultPath", true, err, sizeof err);
        if ((rc == 0) != cases[i].reference)
            fail_msg("%s: reference path check gave %d", cases[i].path, rc);
        if (rc != 0)
            assert_string_equal(
                err, "The value for the field 'ResultPath' must be a valid ReferencePath");
        /* every one of them is a valid Path */
        assert_int_equal(sfn_path_validate(cases[i].path, "InputPath", false, err, sizeof err), 0);
    }
    char err[256];
    assert_int_equal(sfn_path_validate("nope", "OutputPath", false, err, sizeof err), -1);
    assert_string_equal(err, "The value for the field 'OutputPath' must be a valid JSONPath");
}

/* The "ResultPath" examples of the developer guide. */
static void test_result_path_examples(void **state)
{
    static const char *INPUT = "{\"comment\":\"This is a test of the input and output of a Task "
                               "state.\",\"details\":\"Default example\",\"who\":\"AWS Step "
                               "Functions\"}";
    static const struct {
        const char *path, *want;
    } cases[] = {
        {"$", "\"Hello, AWS Step Functions!\""},
        {"$.taskresult", "{\"comment\":\"This is a test of the input and output of a Task state.\","
                         "\"details\":\"Default example\",\"who\":\"AWS Step Functions\","
                         "\"taskresult\":\"Hello, AWS Step Functions!\"}"},
        {"$.strings.lambdaresult",
         "{\"comment\":\"This is a test of the input and output of a Task state.\","
         "\"details\":\"Default example\",\"who\":\"AWS Step Functions\","
         "\"strings\":{\"lambdaresult\":\"Hello, AWS Step Functions!\"}}"},
        {"$.who", "{\"comment\":\"This is a test of the input and output of a Task state.\","
                  "\"details\":\"Default example\",\"who\":\"Hello, AWS Step Functions!\"}"},
        {"$['new key'].x[\"y\"]",
         "{\"comment\":\"This is a test of the input and output of a Task state.\","
         "\"details\":\"Default example\",\"who\":\"AWS Step Functions\","
         "\"new key\":{\"x\":{\"y\":\"Hello, AWS Step Functions!\"}}}"},
    };
    json_t *input = js(INPUT);
    json_t *result = json_string("Hello, AWS Step Functions!");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *out;
        sfn_error e;
        if (sfn_result_path_apply(cases[i].path, input, result, &out, &e) != 0)
            fail_msg("ResultPath %s failed: %s", cases[i].path, e.cause);
        assert_json(out, cases[i].want, cases[i].path);
        json_decref(out);
    }
    /* null discards the result; the input is never modified */
    json_t *out;
    sfn_error e;
    assert_int_equal(sfn_result_path_apply(NULL, input, result, &out, &e), 0);
    assert_json(out, INPUT, "ResultPath null");
    json_decref(out);
    assert_json(input, INPUT, "input untouched");
    json_decref(result);
    json_decref(input);
}

static void test_result_path_into_arrays_and_conflicts(void **state)
{
    json_t *input = js("{\"list\":[{\"a\":1},{\"a\":2}],\"s\":\"text\"}");
    json_t *result = js("{\"r\":true}");
    json_t *out;
    sfn_error e;
    assert_int_equal(sfn_result_path_apply("$.list[1].res", input, result, &out, &e), 0);
    assert_json(out, "{\"list\":[{\"a\":1},{\"a\":2,\"res\":{\"r\":true}}],\"s\":\"text\"}",
                "into an array element");
    json_decref(out);
    assert_int_equal(sfn_result_path_apply("$.list[0]", input, result, &out, &e), 0);
    assert_json(out, "{\"list\":[{\"r\":true},{\"a\":2}],\"s\":\"text\"}", "replace element");
    json_decref(out);
    /* a string cannot hold a field, an index past the end cannot be set */
    assert_int_equal(sfn_result_path_apply("$.s.x", input, result, &out, &e), -1);
    assert_null(out);
    assert_string_equal(e.name, "States.Runtime");
    assert_non_null(strstr(e.cause, "Unable to apply ReferencePath $.s.x to input"));
    assert_int_equal(sfn_result_path_apply("$.list[5]", input, result, &out, &e), -1);
    assert_int_equal(sfn_result_path_apply("$.list[*]", input, result, &out, &e), -1);
    /* a name that is not UTF-8 cannot be created (found by fuzzing) */
    assert_int_equal(sfn_result_path_apply("$.\xff.x", input, result, &out, &e), -1);
    assert_int_equal(sfn_result_path_apply("$.\xff", input, result, &out, &e), -1);
    /* on a non-object input */
    json_t *scalar = json_integer(3);
    assert_int_equal(sfn_result_path_apply("$.x", scalar, result, &out, &e), -1);
    assert_int_equal(sfn_result_path_apply("$", scalar, result, &out, &e), 0);
    assert_json(out, "{\"r\":true}", "ResultPath $ on a scalar");
    json_decref(out);
    json_decref(scalar);
    json_decref(result);
    json_decref(input);
}

static void test_quote_truncates(void **state)
{
    char small[8];
    json_t *v = js("{\"abcdef\":123456}");
    sfn_json_quote(v, small, sizeof small);
    assert_string_equal(small, "{\"ab...");
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths_select_as_the_guide_shows),
        cmocka_unit_test(test_context_object_paths),
        cmocka_unit_test(test_input_path_example_and_null),
        cmocka_unit_test(test_missing_path_errors_word_as_aws),
        cmocka_unit_test(test_invalid_paths_do_not_compile),
        cmocka_unit_test(test_reference_paths_are_single_nodes),
        cmocka_unit_test(test_result_path_examples),
        cmocka_unit_test(test_result_path_into_arrays_and_conflicts),
        cmocka_unit_test(test_quote_truncates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
