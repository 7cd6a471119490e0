/* form_parse / form_get: application/x-www-form-urlencoded decoding. */
#include "protocol/form.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static int parse(form *f, const char *s, size_t max)
{
    return form_parse(f, s, strlen(s), max);
}

static void test_form_parses_pairs_in_order(void **state)
{
    form f;
    assert_int_equal(
        parse(&f, "Action=SendMessage&QueueUrl=http%3A%2F%2Fh%2Fq&MessageBody=a+b", 16), 0);
    assert_int_equal(f.npairs, 3);
    assert_string_equal(f.pairs[0].name, "Action");
    assert_string_equal(f.pairs[0].value, "SendMessage");
    assert_string_equal(f.pairs[1].value, "http://h/q");
    assert_int_equal(f.pairs[1].value_len, 10);
    assert_string_equal(f.pairs[2].value, "a b");
    form_free(&f);
}

static void test_form_decodes_escapes_of_both_cases_and_nul(void **state)
{
    form f;
    assert_int_equal(parse(&f, "k%2b=%e2%82%AC%00x%2B", 4), 0);
    assert_int_equal(f.npairs, 1);
    assert_string_equal(f.pairs[0].name, "k+");
    assert_int_equal(f.pairs[0].name_len, 2);
    assert_int_equal(f.pairs[0].value_len, 6);
    assert_memory_equal(f.pairs[0].value, "\xe2\x82\xac\0x+", 7); /* NUL-terminated too */
    form_free(&f);
}

static void test_form_rejects_malformed_escapes(void **state)
{
    const char *bad[] = {"a=%", "a=%4", "a=%zz", "a=%4g", "%=1", "a=1&b=%G0", "a%2=1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        form f;
        assert_int_equal(parse(&f, bad[i], 16), -1);
    }
}

static void test_form_bounds_pairs(void **state)
{
    form f;
    assert_int_equal(parse(&f, "a=1&b=2&c=3", 3), 0);
    assert_int_equal(f.npairs, 3);
    form_free(&f);
    assert_int_equal(parse(&f, "a=1&b=2&c=3&d=4", 3), -1);
    /* Empty segments do not count. */
    assert_int_equal(parse(&f, "a=1&&b=2&&&c=3&", 3), 0);
    assert_int_equal(f.npairs, 3);
    assert_string_equal(f.pairs[2].name, "c");
    form_free(&f);
}

static void test_form_handles_missing_and_extra_equals(void **state)
{
    form f;
    assert_int_equal(parse(&f, "flag&a=b=c&=v&e=", 8), 0);
    assert_int_equal(f.npairs, 4);
    assert_string_equal(f.pairs[0].name, "flag");
    assert_string_equal(f.pairs[0].value, "");
    assert_int_equal(f.pairs[0].value_len, 0);
    assert_string_equal(f.pairs[1].value, "b=c");
    assert_string_equal(f.pairs[2].name, "");
    assert_string_equal(f.pairs[2].value, "v");
    assert_string_equal(f.pairs[3].value, "");
    form_free(&f);
}

static void test_form_semicolon_is_not_a_separator(void **state)
{
    form f;
    assert_int_equal(parse(&f, "a=1;b=2", 8), 0);
    assert_int_equal(f.npairs, 1);
    assert_string_equal(f.pairs[0].value, "1;b=2");
    form_free(&f);
}

static void test_form_empty_input(void **state)
{
    form f;
    assert_int_equal(form_parse(&f, "", 0, 8), 0);
    assert_int_equal(f.npairs, 0);
    assert_null(form_get(&f, "a"));
    form_free(&f);
    assert_int_equal(parse(&f, "&&&", 0), 0);
    assert_int_equal(f.npairs, 0);
    form_free(&f);
}

static void test_form_respects_length_not_nul(void **state)
{
    form f;
    const char s[] = "a=1&b=2";
    assert_int_equal(form_parse(&f, s, 5, 8), 0); /* "a=1&b" */
    assert_int_equal(f.npairs, 2);
    assert_string_equal(f.pairs[1].name, "b");
    assert_string_equal(f.pairs[1].value, "");
    form_free(&f);
}

static void test_form_get_returns_first_value(void **state)
{
    form f;
    assert_int_equal(parse(&f, "a=1&b=2&a=3&ab=4", 8), 0);
    assert_string_equal(form_get(&f, "a")->value, "1");
    assert_string_equal(form_get(&f, "ab")->value, "4");
    assert_null(form_get(&f, "c"));
    assert_null(form_get(&f, ""));
    form_free(&f);
    form_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_form_parses_pairs_in_order),
        cmocka_unit_test(test_form_decodes_escapes_of_both_cases_and_nul),
        cmocka_unit_test(test_form_rejects_malformed_escapes),
        cmocka_unit_test(test_form_bounds_pairs),
        cmocka_unit_test(test_form_handles_missing_and_extra_equals),
        cmocka_unit_test(test_form_semicolon_is_not_a_separator),
        cmocka_unit_test(test_form_empty_input),
        cmocka_unit_test(test_form_respects_length_not_nul),
        cmocka_unit_test(test_form_get_returns_first_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
