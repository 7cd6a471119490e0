/* DynamoDB AttributeValues: validation with DynamoDB's messages, number canonicalisation in
 * place, item sizes, deep equality, key ordering and the key encoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "services/dynamodb/ddb_value.h"

#include <stdio.h>
#include <string.h>

#define INVALID "One or more parameter values were invalid: "

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
    if (!v)
        fail_msg("bad test JSON %s: %s", text, e.text);
    return v;
}

static void test_invalid_values_get_dynamodbs_messages(void **state)
{
    static const struct {
        const char *av;
        int code;
        const char *msg;
    } cases[] = {
        {"{}", DDB_ERR_VALIDATION,
         "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"},
        {"{\"a\":\"\"}", DDB_ERR_VALIDATION,
         "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"},
        {"{\"M\":{\"a\":{}}}", DDB_ERR_VALIDATION,
         "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"},
        {"{\"L\":[{}]}", DDB_ERR_VALIDATION,
         "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"},
        {"{\"S\":\"a\",\"N\":\"1\"}", DDB_ERR_VALIDATION,
         "Supplied AttributeValue has more than one datatypes set, must contain exactly one of "
         "the supported datatypes"},
        {"{\"S\":\"a\",\"N\":\"b\"}", DDB_ERR_VALIDATION,
         "The parameter cannot be converted to a numeric value: b"},
        {"{\"NULL\":false}", DDB_ERR_VALIDATION,
         INVALID "Null attribute value types must have the value of true"},
        {"{\"SS\":[]}", DDB_ERR_VALIDATION, INVALID "An string set  may not be empty"},
        {"{\"NS\":[]}", DDB_ERR_VALIDATION, INVALID "An number set  may not be empty"},
        {"{\"BS\":[]}", DDB_ERR_VALIDATION, INVALID "Binary sets should not be empty"},
        {"{\"SS\":[\"a\",\"a\"]}", DDB_ERR_VALIDATION,
         INVALID "Input collection [a, a] contains duplicates."},
        {"{\"BS\":[\"Yg==\",\"Yg==\"]}", DDB_ERR_VALIDATION,
         INVALID "Input collection [Yg==, Yg==]of type BS contains duplicates."},
        {"{\"NS\":[\"1\",\"1\"]}", DDB_ERR_VALIDATION, "Input collection contains duplicates"},
        {"{\"NS\":[\"1\",\"1.0\"]}", DDB_ERR_VALIDATION, "Input collection contains duplicates"},
        {"{\"NS\":[\"1\",\"\"]}", DDB_ERR_VALIDATION,
         "The parameter cannot be converted to a numeric value"},
        {"{\"NS\":[\"1\",\"b\"]}", DDB_ERR_VALIDATION,
         "The parameter cannot be converted to a numeric value: b"},
        {"{\"N\":\"1e126\"}", DDB_ERR_VALIDATION,
         "Number overflow. Attempting to store a number with magnitude larger than supported "
         "range"},
        {"{\"M\":{\"x\":{\"L\":[{\"N\":\"1e-131\"}]}}}", DDB_ERR_VALIDATION,
         "Number underflow. Attempting to store a number with magnitude smaller than supported "
         "range"},
        {"{\"S\":5}", DDB_ERR_SERIALIZATION, "NUMBER_VALUE cannot be converted to String"},
        {"{\"S\":{}}", DDB_ERR_SERIALIZATION,
         "Start of structure or map found where not expected."},
        {"{\"BOOL\":\"x\"}", DDB_ERR_SERIALIZATION, "STRING_VALUE cannot be converted to Boolean"},
        {"{\"B\":\"abc\"}", DDB_ERR_SERIALIZATION,
         "Base64 encoded length is expected a multiple of 4 bytes but found: 3"},
        {"{\"B\":\"ab$=\"}", DDB_ERR_SERIALIZATION, "Invalid Base64 character: '$'"},
        {"{\"B\":\"YR==\"}", DDB_ERR_SERIALIZATION,
         "Invalid last non-pad Base64 character dectected"},
        {"{\"L\":{}}", DDB_ERR_SERIALIZATION, "Expected list or null"},
        {"{\"M\":[]}", DDB_ERR_SERIALIZATION, "Expected map or null"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *v = parse(cases[i].av);
        char err[512] = "";
        int rc = ddb_value_validate(v, err, sizeof err);
        if (rc != cases[i].code || strcmp(err, cases[i].msg) != 0)
            fail_msg("%s: rc %d \"%s\", want %d \"%s\"", cases[i].av, rc, err, cases[i].code,
                     cases[i].msg);
        json_decref(v);
    }
}

static void test_valid_values_and_canonical_numbers(void **state)
{
    static const char *const cases[][2] = {
        {"{\"S\":\"\"}", "{\"S\": \"\"}"},
        {"{\"B\":\"\"}", "{\"B\": \"\"}"},
        {"{\"N\":\"01.50\"}", "{\"N\": \"1.5\"}"},
        {"{\"NS\":[\"1e3\",\"-0\"]}", "{\"NS\": [\"1000\", \"0\"]}"},
        {"{\"SS\":[\"\",\"a\"]}", "{\"SS\": [\"\", \"a\"]}"},
        {"{\"M\":{\"a\":{\"L\":[{\"N\":\"+2\"},{\"NULL\":true}]}}}",
         "{\"M\": {\"a\": {\"L\": [{\"N\": \"2\"}, {\"NULL\": true}]}}}"},
        {"{\"S\":\"x\",\"Q\":1}", "{\"S\": \"x\"}"}, /* unknown members are ignored */
        {"{\"S\":\"x\",\"N\":null}", "{\"S\": \"x\"}"},
        {"{\"BS\":[\"YQ==\",\"Yg==\"]}", "{\"BS\": [\"YQ==\", \"Yg==\"]}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *v = parse(cases[i][0]);
        char err[512] = "";
        if (ddb_value_validate(v, err, sizeof err) != 0)
            fail_msg("%s: %s", cases[i][0], err);
        char *got = json_dumps(v, JSON_SORT_KEYS);
        if (strcmp(got, cases[i][1]) != 0)
            fail_msg("%s became %s, want %s", cases[i][0], got, cases[i][1]);
        free(got);
        json_decref(v);
    }
}

static json_t *nested_maps(int depth)
{
    json_t *v = json_pack("{s:s}", "S", "leaf");
    for (int i = 0; i < depth; i++)
        v = json_pack("{s:{s:o}}", "M", "n", v);
    return v;
}

static void test_nesting_limit(void **state)
{
    char err[512];
    json_t *ok = nested_maps(31); /* 31 maps and the string: 32 levels */
    assert_int_equal(ddb_value_validate(ok, err, sizeof err), 0);
    json_decref(ok);
    json_t *deep = nested_maps(32);
    assert_int_equal(ddb_value_validate(deep, err, sizeof err), DDB_ERR_VALIDATION);
    assert_string_equal(err, "Nesting Levels have exceeded supported limits: Attributes in the "
                             "item have nested levels beyond supported limit");
    json_decref(deep);
}

static void test_item_validation(void **state)
{
    char err[512];
    json_t *item = parse("{\"id\":{\"S\":\"1\"},\"n\":{\"N\":\"007\"}}");
    assert_int_equal(ddb_item_validate(item, err, sizeof err), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(item, "n"), "N")), "7");
    json_decref(item);
    item = parse("{\"id\":{\"S\":\"1\"},\"bad\":{\"SS\":[]}}");
    assert_int_equal(ddb_item_validate(item, err, sizeof err), DDB_ERR_VALIDATION);
    assert_string_equal(err, INVALID "An string set  may not be empty");
    json_decref(item);
}

static void test_sizes(void **state)
{
    static const struct {
        const char *item;
        size_t size;
    } cases[] = {
        {"{\"a\":{\"S\":\"abc\"}}", 4},
        {"{\"a\":{\"S\":\"\\u00e9\"}}", 3}, /* é is two UTF-8 bytes */
        {"{\"ab\":{\"N\":\"123\"}}", 5},
        {"{\"a\":{\"B\":\"YWJj\"}}", 4},
        {"{\"a\":{\"B\":\"YQ==\"}}", 2},
        {"{\"a\":{\"BOOL\":true},\"b\":{\"NULL\":true}}", 4},
        {"{\"a\":{\"L\":[]}}", 4},
        {"{\"a\":{\"M\":{}}}", 4},
        {"{\"a\":{\"L\":[{\"S\":\"xy\"},{\"N\":\"1\"}]}}", 1 + 3 + (1 + 2) + (1 + 2)},
        {"{\"a\":{\"M\":{\"k\":{\"S\":\"xy\"}}}}", 1 + 3 + (1 + 1 + 2)},
        {"{\"a\":{\"SS\":[\"x\",\"yz\"]}}", 1 + 3},
        {"{\"a\":{\"NS\":[\"1\",\"-1\"]}}", 1 + 2 + 3},
        {"{\"a\":{\"BS\":[\"YQ==\",\"YWJj\"]}}", 1 + 4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *item = parse(cases[i].item);
        char err[256];
        if (ddb_item_validate(item, err, sizeof err) != 0)
            fail_msg("%s: %s", cases[i].item, err);
        if (ddb_item_size(item) != cases[i].size)
            fail_msg("size of %s = %zu, want %zu", cases[i].item, ddb_item_size(item),
                     cases[i].size);
        json_decref(item);
    }
}

static void test_equality(void **state)
{
    static const struct {
        const char *a, *b;
        int equal;
    } cases[] = {
        {"{\"S\":\"a\"}", "{\"S\":\"a\"}", 1},
        {"{\"S\":\"a\"}", "{\"S\":\"b\"}", 0},
        {"{\"S\":\"1\"}", "{\"N\":\"1\"}", 0},
        {"{\"N\":\"1\"}", "{\"N\":\"1.0\"}", 1},
        {"{\"N\":\"1\"}", "{\"N\":\"2\"}", 0},
        {"{\"SS\":[\"a\",\"b\"]}", "{\"SS\":[\"b\",\"a\"]}", 1},
        {"{\"SS\":[\"a\",\"b\"]}", "{\"SS\":[\"a\"]}", 0},
        {"{\"NS\":[\"1\",\"2.50\"]}", "{\"NS\":[\"2.5\",\"1e0\"]}", 1},
        {"{\"BS\":[\"YQ==\"]}", "{\"BS\":[\"YQ==\"]}", 1},
        {"{\"L\":[{\"S\":\"a\"},{\"N\":\"1\"}]}", "{\"L\":[{\"S\":\"a\"},{\"N\":\"1\"}]}", 1},
        {"{\"L\":[{\"S\":\"a\"},{\"N\":\"1\"}]}", "{\"L\":[{\"N\":\"1\"},{\"S\":\"a\"}]}", 0},
        {"{\"M\":{\"x\":{\"N\":\"1\"},\"y\":{\"S\":\"\"}}}",
         "{\"M\":{\"y\":{\"S\":\"\"},\"x\":{\"N\":\"1.000\"}}}", 1},
        {"{\"M\":{\"x\":{\"N\":\"1\"}}}", "{\"M\":{\"x\":{\"N\":\"1\"},\"y\":{\"NULL\":true}}}", 0},
        {"{\"BOOL\":true}", "{\"BOOL\":false}", 0},
        {"{\"NULL\":true}", "{\"NULL\":true}", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *a = parse(cases[i].a), *b = parse(cases[i].b);
        if (ddb_value_equal(a, b) != cases[i].equal || ddb_value_equal(b, a) != cases[i].equal)
            fail_msg("%s == %s should be %d", cases[i].a, cases[i].b, cases[i].equal);
        json_decref(a);
        json_decref(b);
    }
}

static int memcmp_bufs(const buf *a, const buf *b)
{
    int c = memcmp(a->data, b->data, a->len < b->len ? a->len : b->len);
    if (c)
        return c < 0 ? -1 : 1;
    return a->len < b->len ? -1 : a->len > b->len;
}

/* Each list is in DynamoDB's order; ddb_key_cmp and memcmp of the encodings agree. */
static void test_key_order_and_encoding(void **state)
{
    static const char *const lists[][8] = {
        {"{\"S\":\"\"}", "{\"S\":\"A\"}", "{\"S\":\"B\"}", "{\"S\":\"a\"}", "{\"S\":\"ab\"}",
         "{\"S\":\"b\"}", "{\"S\":\"\\u00e9\"}", "{\"S\":\"\\ud83d\\ude00\"}"},
        {"{\"N\":\"-100\"}", "{\"N\":\"-2\"}", "{\"N\":\"-1.5\"}", "{\"N\":\"0\"}",
         "{\"N\":\"0.5\"}", "{\"N\":\"2\"}", "{\"N\":\"10\"}", "{\"N\":\"1e20\"}"},
        {"{\"B\":\"\"}", "{\"B\":\"AA==\"}", "{\"B\":\"AAA=\"}", "{\"B\":\"AQ==\"}",
         "{\"B\":\"fw==\"}", "{\"B\":\"gA==\"}", "{\"B\":\"/w==\"}", "{\"B\":\"//8=\"}"},
    };
    for (size_t l = 0; l < 3; l++) {
        for (size_t i = 0; i < 8; i++) {
            for (size_t j = 0; j < 8; j++) {
                json_t *a = parse(lists[l][i]), *b = parse(lists[l][j]);
                int want = i < j ? -1 : i > j;
                int got = ddb_key_cmp(a, b);
                if ((got > 0) - (got < 0) != want)
                    fail_msg("cmp(%s, %s) = %d", lists[l][i], lists[l][j], got);
                buf x = BUF_INIT, y = BUF_INIT;
                assert_int_equal(ddb_key_encode(a, &x), 0);
                assert_int_equal(ddb_key_encode(b, &y), 0);
                if (memcmp_bufs(&x, &y) != want)
                    fail_msg("encoding order of %s, %s", lists[l][i], lists[l][j]);
                buf_free(&x);
                buf_free(&y);
                json_decref(a);
                json_decref(b);
            }
        }
    }
    json_t *m = parse("{\"M\":{}}");
    buf b = BUF_INIT;
    assert_int_equal(ddb_key_encode(m, &b), -1);
    buf_free(&b);
    json_decref(m);
}

static void test_types(void **state)
{
    json_t *v = parse("{\"NS\":[\"1\"]}");
    assert_int_equal(ddb_type_of(v), DDB_NS);
    assert_string_equal(ddb_type_name(DDB_NS), "NS");
    assert_int_equal(ddb_type_from_name("BOOL", 4), DDB_BOOL);
    assert_int_equal(ddb_type_from_name("X", 1), DDB_NONE);
    assert_true(json_is_array(ddb_payload(v)));
    json_decref(v);
    buf out = BUF_INIT;
    assert_int_equal(ddb_base64_decode("aGVsbG8=", 8, &out), 0);
    assert_int_equal(out.len, 5);
    assert_memory_equal(out.data, "hello", 5);
    assert_int_equal(ddb_base64_decode("aGVsbG8", 7, &out), -1);
    buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invalid_values_get_dynamodbs_messages),
        cmocka_unit_test(test_valid_values_and_canonical_numbers),
        cmocka_unit_test(test_nesting_limit),
        cmocka_unit_test(test_item_validation),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_equality),
        cmocka_unit_test(test_key_order_and_encoding),
        cmocka_unit_test(test_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
