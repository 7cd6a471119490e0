/* Step Functions payload templates (Parameters, ResultSelector, ItemSelector): the
 * developer guide's examples, ".$" keys with paths, the context object and intrinsics,
 * nesting in objects and arrays, AWS's missing-path error, and definition checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "services/stepfunctions/sfn_template.h"

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

static void expect(const char *tmpl, const char *input, const char *context, const char *want)
{
    json_t *t = js(tmpl), *in = js(input), *cx = context ? js(context) : NULL, *w = js(want);
    json_t *out = NULL;
    sfn_error e;
    char err[256];
    if (sfn_template_validate(t, "Parameters", err, sizeof err) != 0)
        fail_msg("%s is invalid: %s", tmpl, err);
    if (sfn_template_apply(t, in, cx, &out, &e) != 0)
        fail_msg("%s failed: %s: %s", tmpl, e.name, e.cause);
    if (!json_equal(out, w))
        fail_msg("%s\n  got:  %s\n  want: %s", tmpl, json_dumps(out, JSON_COMPACT), want);
    json_decref(out);
    json_decref(w);
    json_decref(cx);
    json_decref(in);
    json_decref(t);
}

static void test_parameters_example(void **state)
{
    expect("{\"comment\":\"Selecting what I care about.\",\"MyDetails\":{"
           "\"size.$\":\"$.product.details.size\",\"exists.$\":\"$.product.availability\","
           "\"StaticValue\":\"foo\"}}",
           "{\"comment\":\"Example for Parameters.\",\"product\":{\"details\":{\"color\":"
           "\"blue\",\"size\":\"small\",\"material\":\"cotton\"},\"availability\":\"in stock\","
           "\"sku\":\"2317\",\"cost\":\"$23\"}}",
           NULL,
           "{\"comment\":\"Selecting what I care about.\",\"MyDetails\":{\"size\":\"small\","
           "\"exists\":\"in stock\",\"StaticValue\":\"foo\"}}");
}

static void test_result_selector_example(void **state)
{
    expect("{\"ClusterId.$\":\"$.output.ClusterId\",\"ResourceType.$\":\"$.resourceType\"}",
           "{\"resourceType\":\"elasticmapreduce\",\"resource\":\"createCluster.sync\","
           "\"output\":{\"SdkHttpMetadata\":{\"HttpStatusCode\":200},\"SdkResponseMetadata\":{"
           "\"RequestId\":\"1234\"},\"ClusterId\":\"AKIAIOSFODNN7EXAMPLE\"}}",
           NULL, "{\"ClusterId\":\"AKIAIOSFODNN7EXAMPLE\",\"ResourceType\":\"elasticmapreduce\"}");
}

static void test_context_intrinsics_arrays_and_literals(void **state)
{
    expect("{\"TaskToken.$\":\"$$.Task.Token\",\"whole.$\":\"$\",\"list\":[1,{\"x.$\":\"$.a\"},"
           "[{\"y.$\":\"States.Format('{}!', $.a)\"}]],\"n\":null,\"t\":true,\"s\":\"$.a\","
           "\"o\":{},\"dollar$\":\"$.a\",\"ids.$\":\"$.items[*].id\"}",
           "{\"a\":\"hi\",\"items\":[{\"id\":1},{\"id\":2}]}", "{\"Task\":{\"Token\":\"tok-1\"}}",
           "{\"TaskToken\":\"tok-1\",\"whole\":{\"a\":\"hi\",\"items\":[{\"id\":1},{\"id\":2}]},"
           "\"list\":[1,{\"x\":\"hi\"},[{\"y\":\"hi!\"}]],\"n\":null,\"t\":true,\"s\":\"$.a\","
           "\"o\":{},\"dollar$\":\"$.a\",\"ids\":[1,2]}");
    /* ItemSelector over a Map item: $$.Map.Item.Value */
    expect("{\"index.$\":\"$$.Map.Item.Index\",\"value.$\":\"$$.Map.Item.Value\"}", "{}",
           "{\"Map\":{\"Item\":{\"Index\":3,\"Value\":{\"k\":\"v\"}}}}",
           "{\"index\":3,\"value\":{\"k\":\"v\"}}");
}

static void test_missing_path_fails_as_aws(void **state)
{
    json_t *t = js("{\"JobName.$\":\"$.JobName\"}"), *in = js("{}"), *out = NULL;
    sfn_error e;
    assert_int_equal(sfn_template_apply(t, in, NULL, &out, &e), -1);
    assert_null(out);
    assert_string_equal(e.name, "States.Runtime");
    assert_string_equal(e.cause, "The JSONPath '$.JobName' specified for the field 'JobName.$' "
                                 "could not be found in the input '{}'");
    json_decref(t);
    t = js("{\"a\":{\"b\":[{\"c.$\":\"States.ArrayGetItem($.l, 9)\"}]}}");
    assert_int_equal(sfn_template_apply(t, in, NULL, &out, &e), -1);
    assert_string_equal(e.name, "States.Runtime"); /* $.l is missing */
    json_decref(t);
    json_decref(in);
}

static void test_validation_names_the_field(void **state)
{
    static const struct {
        const char *tmpl, *err;
    } cases[] = {
        {"{\"a.$\":1}", "The value for the field 'a.$' must be a valid JSONPath or a valid "
                        "intrinsic function call at /Parameters/a.$"},
        {"{\"x\":{\"a.$\":\"nope\"}}", "The value for the field 'a.$' must be a valid JSONPath "
                                       "or a valid intrinsic function call at /Parameters/x/a.$"},
        {"{\"x\":[0,{\"a.$\":\"States.Bad()\"}]}",
         "The value for the field 'a.$' must be a valid JSONPath or a valid intrinsic function "
         "call at /Parameters/x[1]/a.$"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *t = js(cases[i].tmpl);
        char err[512];
        assert_int_equal(sfn_template_validate(t, "Parameters", err, sizeof err), -1);
        assert_string_equal(err, cases[i].err);
        json_decref(t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parameters_example),
        cmocka_unit_test(test_result_selector_example),
        cmocka_unit_test(test_context_intrinsics_arrays_and_literals),
        cmocka_unit_test(test_missing_path_fails_as_aws),
        cmocka_unit_test(test_validation_names_the_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
