/* The fast JSON reader/writer: what it accepts, what it rejects, and that it agrees with
 * jansson on the values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "protocol/json_codec.h"

#include <string.h>

static json_t *parse(const char *s)
{
    char err[160];
    return jsonc_parse(s, strlen(s), err, sizeof err);
}

static void test_parses_like_jansson(void **state)
{
    const char *docs[] = {
        "{\"a\":1,\"b\":[1,2.5,-3e2,true,false,null],\"c\":{\"d\":\"e\"}}",
        "\"esc \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\ud83d\\ude00\"",
        "  [ ]  ",
        "{}",
        "\"caf\xc3\xa9 \xf0\x9f\x98\x80 plain bytes longer than eight\"",
        "-0",
        "12345678901234567",
        "1.5e-7",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        json_t *a = parse(docs[i]);
        json_t *b = json_loads(docs[i], JSON_DECODE_ANY, NULL);
        assert_non_null(a);
        assert_non_null(b);
        assert_true(json_equal(a, b));
        json_decref(a);
        json_decref(b);
    }
}

static void test_rejects_invalid_json(void **state)
{
    const char *bad[] = {
        "",
        "{",
        "{\"a\":}",
        "{\"a\" 1}",
        "[1,]",
        "{\"a\":1,}",
        "\"unterminated",
        "\"bad \\x escape\"",
        "\"\\ud800\"",
        "\"\\udc00 x\"",
        "01",
        "1.",
        "-",
        "tru",
        "{\"a\":1}x",
        "\"\x01\"",
        "\"\xc3\"",
        "\"\xed\xa0\x80\"",
        "{\"a\":1,\"a\":2}",
        "nul",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[160] = "";
        json_t *v = jsonc_parse(bad[i], strlen(bad[i]), err, sizeof err);
        if (v)
            fail_msg("accepted invalid JSON #%zu: %s", i, bad[i]);
        assert_true(strlen(err) > 0);
    }
}

static void test_depth_is_bounded(void **state)
{
    char deep[2 * (JSONC_MAX_DEPTH + 2) + 1];
    size_t n = JSONC_MAX_DEPTH + 1;
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    assert_null(jsonc_parse(deep, 2 * n, NULL, 0));
    n = JSONC_MAX_DEPTH;
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    json_t *v = jsonc_parse(deep, 2 * n, NULL, 0);
    assert_non_null(v);
    json_decref(v);
}

static void test_dump_escapes_and_round_trips(void **state)
{
    json_t *v = json_pack("{s:s, s:I, s:b, s:n, s:[f]}", "k", "q\" b\\ nl\n ctl\x01 \xc3\xa9 /",
                          "i", (json_int_t)-42, "t", 1, "z", "r", 0.25);
    buf out = BUF_INIT;
    jsonc_dump(&out, v);
    assert_string_equal(out.data, "{\"k\":\"q\\\" b\\\\ nl\\n ctl\\u0001 \xc3\xa9 /\",\"i\":-42,"
                                  "\"t\":true,\"z\":null,\"r\":[0.25]}");
    json_t *back = parse(out.data);
    assert_true(json_equal(v, back));
    json_decref(back);
    json_decref(v);
    buf_free(&out);
}

static void test_copy_is_deep_and_equal(void **state)
{
    json_t *v = parse("{\"a\":[1,2.5,\"x\",true,false,null,{\"b\":{}}],\"c\":\"\\u0000z\","
                      "\"d\":[]}");
    json_t *copy = jsonc_copy(v);
    assert_true(json_equal(v, copy));
    /* the same text: keys in the same order, a string with a NUL kept whole */
    buf a = BUF_INIT, b = BUF_INIT;
    jsonc_dump(&a, v);
    jsonc_dump(&b, copy);
    assert_string_equal(a.data, b.data);
    assert_int_equal(json_string_length(json_object_get(copy, "c")), 2);
    /* the copy's containers are its own: changing them leaves v as it was */
    json_t *inner = json_array_get(json_object_get(copy, "a"), 6);
    json_object_set_new(json_object_get(inner, "b"), "n", json_integer(1));
    json_array_append_new(json_object_get(copy, "d"), json_integer(7));
    buf after = BUF_INIT;
    jsonc_dump(&after, v);
    assert_string_equal(after.data, a.data);
    buf_free(&a);
    buf_free(&b);
    buf_free(&after);
    json_t *scalar = jsonc_copy(json_object_get(v, "c"));
    assert_true(json_equal(scalar, json_object_get(v, "c")));
    json_decref(scalar);
    json_decref(copy);
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parses_like_jansson),
        cmocka_unit_test(test_rejects_invalid_json),
        cmocka_unit_test(test_depth_is_bounded),
        cmocka_unit_test(test_dump_escapes_and_round_trips),
        cmocka_unit_test(test_copy_is_deep_and_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
