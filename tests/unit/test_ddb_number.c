/* DynamoDB numbers: canonical text, DynamoDB's errors for bad, huge, tiny and too precise
 * numbers, exact arithmetic with range checks, ordering and the order-preserving key
 * encoding, and the size a number counts for. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "services/dynamodb/ddb_number.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OVERFLOW                                                                                   \
    "Number overflow. Attempting to store a number with magnitude larger than supported range"
#define UNDERFLOW                                                                                  \
    "Number underflow. Attempting to store a number with magnitude smaller than supported range"
#define DIGITS "Attempting to store more than 38 significant digits in a Number"

static ddb_number num(const char *s)
{
    ddb_number x;
    char err[256];
    if (ddb_number_parse(&x, s, strlen(s), err, sizeof err) != 0)
        fail_msg("%s: %s", s, err);
    return x;
}

static void assert_canonical(const char *in, const char *want)
{
    buf b = BUF_INIT;
    char err[256] = "";
    if (ddb_number_canonical(in, strlen(in), &b, err, sizeof err) != 0)
        fail_msg("%s: %s", in, err);
    if (strcmp(b.data, want) != 0)
        fail_msg("%s -> %s, want %s", in, b.data, want);
    buf_free(&b);
}

static void test_canonical_text(void **state)
{
    static const char *const cases[][2] = {
        {"0", "0"},
        {"-0", "0"},
        {"+0", "0"},
        {"0.000", "0"},
        {"0e99999", "0"},
        {"01.50", "1.5"},
        {"1e3", "1000"},
        {"1E+3", "1000"},
        {"-1.5e-3", "-0.0015"},
        {"+7", "7"},
        {"123.456", "123.456"},
        {".5", "0.5"},
        {"5.", "5"},
        {"-.5e1", "-5"},
        {"100", "100"},
        {"1.0e2", "100"},
        {"12345e-2", "123.45"},
        {"0.00012", "0.00012"},
        {"-12.3400", "-12.34"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        assert_canonical(cases[i][0], cases[i][1]);

    /* 1E+125 is written out in full: a one and 125 zeros. */
    buf b = BUF_INIT;
    char err[256];
    assert_int_equal(ddb_number_canonical("1E+125", 6, &b, err, sizeof err), 0);
    assert_int_equal(b.len, 126);
    assert_int_equal(b.data[0], '1');
    assert_int_equal(strspn(b.data + 1, "0"), 125);
    /* 1E-130 is 0. followed by 129 zeros and a one. */
    assert_int_equal(ddb_number_canonical("1E-130", 6, &b, err, sizeof err), 0);
    assert_int_equal(b.len, 132);
    assert_memory_equal(b.data, "0.", 2);
    assert_int_equal(strspn(b.data + 2, "0"), 129);
    assert_int_equal(b.data[131], '1');
    /* The largest number: 38 nines and 88 zeros. */
    assert_int_equal(ddb_number_canonical("9.9999999999999999999999999999999999999E+125", 44, &b,
                                          err, sizeof err),
                     0);
    assert_int_equal(b.len, 126);
    assert_int_equal(strspn(b.data, "9"), 38);
    assert_int_equal(strspn(b.data + 38, "0"), 88);
    buf_free(&b);
}

static void test_errors_are_dynamodbs(void **state)
{
    static const char *const cases[][2] = {
        {"", "The parameter cannot be converted to a numeric value"},
        {"abc", "The parameter cannot be converted to a numeric value: abc"},
        {"b", "The parameter cannot be converted to a numeric value: b"},
        {"1.2.3", "The parameter cannot be converted to a numeric value: 1.2.3"},
        {"1e", "The parameter cannot be converted to a numeric value: 1e"},
        {"-", "The parameter cannot be converted to a numeric value: -"},
        {".", "The parameter cannot be converted to a numeric value: ."},
        {" 1", "The parameter cannot be converted to a numeric value:  1"},
        {"1 ", "The parameter cannot be converted to a numeric value: 1 "},
        {"0x10", "The parameter cannot be converted to a numeric value: 0x10"},
        {"NaN", "The parameter cannot be converted to a numeric value: NaN"},
        {"Infinity", "The parameter cannot be converted to a numeric value: Infinity"},
        {"1e126", OVERFLOW},
        {"-1e126", OVERFLOW},
        {"10E+125", OVERFLOW},
        {"1e99999999999999999999999", OVERFLOW},
        {"1e-131", UNDERFLOW},
        {"-1e-131", UNDERFLOW},
        {"0.01e-129", UNDERFLOW},
        {"1e-99999999999999999999999", UNDERFLOW},
        {"123456789012345678901234567890123456789", DIGITS},
        {"-1.23456789012345678901234567890123456789", DIGITS},
        {"1.0000000000000000000000000000000000000001", DIGITS},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ddb_number x;
        char err[256] = "";
        if (ddb_number_parse(&x, cases[i][0], strlen(cases[i][0]), err, sizeof err) == 0)
            fail_msg("%s was accepted", cases[i][0]);
        if (strcmp(err, cases[i][1]) != 0)
            fail_msg("%s: got \"%s\", want \"%s\"", cases[i][0], err, cases[i][1]);
    }
}

static void test_limits_are_accepted(void **state)
{
    static const char *const ok[] = {
        "12345678901234567890123456789012345678",         /* 38 digits */
        "1234567890123456789012345678901234567800000000", /* trailing zeros are free */
        "0.000000000012345678901234567890123456789012345678",
        "9.9999999999999999999999999999999999999E+125",
        "-9.9999999999999999999999999999999999999E+125",
        "1E-130",
        "-1E-130",
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        num(ok[i]);
}

static void test_arithmetic_is_exact(void **state)
{
    static const char *const cases[][4] = {
        /* a, op, b, result */
        {"1", "+", "2", "3"},
        {"0.1", "+", "0.2", "0.3"},
        {"1.5", "-", "1.5", "0"},
        {"-5", "+", "3", "-2"},
        {"1e10", "+", "1e-10", "10000000000.0000000001"},
        {"12345678901234567890123456789012345678", "-", "12345678901234567890123456789012345677",
         "1"},
        {"100", "-", "0.001", "99.999"},
        {"-0.5", "-", "-0.5", "0"},
        {"9.9999999999999999999999999999999999999E+125", "-",
         "9.9999999999999999999999999999999999999E+125", "0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ddb_number a = num(cases[i][0]), b = num(cases[i][2]), r;
        char err[256] = "";
        int rc = cases[i][1][0] == '+' ? ddb_number_add(&r, &a, &b, err, sizeof err)
                                       : ddb_number_sub(&r, &a, &b, err, sizeof err);
        if (rc != 0)
            fail_msg("%s %s %s: %s", cases[i][0], cases[i][1], cases[i][2], err);
        buf out = BUF_INIT;
        ddb_number_format(&r, &out);
        if (strcmp(out.data, cases[i][3]) != 0)
            fail_msg("%s %s %s = %s, want %s", cases[i][0], cases[i][1], cases[i][2], out.data,
                     cases[i][3]);
        buf_free(&out);
    }
}

static void test_arithmetic_range_errors(void **state)
{
    char err[256];
    ddb_number r;
    ddb_number big = num("9.9999999999999999999999999999999999999E+125"), one = num("1E+125");
    assert_int_equal(ddb_number_add(&r, &big, &one, err, sizeof err), -1);
    assert_string_equal(err, OVERFLOW);
    ddb_number neg = num("-9.9999999999999999999999999999999999999E+125");
    assert_int_equal(ddb_number_sub(&r, &neg, &one, err, sizeof err), -1);
    assert_string_equal(err, OVERFLOW);
    ddb_number tiny = num("1.5E-130"), tiny2 = num("1.4E-130");
    assert_int_equal(ddb_number_sub(&r, &tiny, &tiny2, err, sizeof err), -1);
    assert_string_equal(err, UNDERFLOW);
    ddb_number a = num("12345678901234567890123456789012345678"), b = num("0.1");
    assert_int_equal(ddb_number_add(&r, &a, &b, err, sizeof err), -1);
    assert_string_equal(err, DIGITS);
    /* The result may alias an operand. */
    ddb_number x = num("2");
    assert_int_equal(ddb_number_add(&x, &x, &x, err, sizeof err), 0);
    assert_int_equal(ddb_number_cmp(&x, &(ddb_number){0}) != 0, 1);
    buf out = BUF_INIT;
    ddb_number_format(&x, &out);
    assert_string_equal(out.data, "4");
    buf_free(&out);
}

/* An ascending list: comparison, and memcmp of the key encodings, must agree with it. */
static const char *const ascending[] = {
    "-9.9999999999999999999999999999999999999E+125",
    "-1e100",
    "-1000",
    "-999.99",
    "-123.45",
    "-123.4",
    "-123",
    "-12",
    "-1.23",
    "-1.2",
    "-1",
    "-0.5",
    "-1e-130",
    "0",
    "1e-130",
    "0.0001",
    "0.5",
    "1",
    "1.2",
    "1.23",
    "9",
    "10",
    "11",
    "12",
    "100",
    "123",
    "123.4",
    "123.45",
    "1000",
    "1e100",
    "9.9999999999999999999999999999999999999E+125",
};

static int memcmp_bufs(const buf *a, const buf *b)
{
    int c = memcmp(a->data, b->data, a->len < b->len ? a->len : b->len);
    if (c)
        return c;
    return a->len < b->len ? -1 : a->len > b->len;
}

static void test_order_and_key_encoding(void **state)
{
    size_t n = sizeof ascending / sizeof *ascending;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            ddb_number a = num(ascending[i]), b = num(ascending[j]);
            int want = i < j ? -1 : i > j;
            int got = ddb_number_cmp(&a, &b);
            if ((got > 0) - (got < 0) != want)
                fail_msg("cmp(%s, %s) = %d", ascending[i], ascending[j], got);
            buf x = BUF_INIT, y = BUF_INIT;
            ddb_number_encode_key(&a, &x);
            ddb_number_encode_key(&b, &y);
            int enc = memcmp_bufs(&x, &y);
            if ((enc > 0) - (enc < 0) != want)
                fail_msg("memcmp(key(%s), key(%s)) = %d", ascending[i], ascending[j], enc);
            buf_free(&x);
            buf_free(&y);
        }
    }
    /* Equal numbers written differently encode the same. */
    ddb_number a = num("1.50"), b = num("15e-1");
    assert_int_equal(ddb_number_cmp(&a, &b), 0);
    buf x = BUF_INIT, y = BUF_INIT;
    ddb_number_encode_key(&a, &x);
    ddb_number_encode_key(&b, &y);
    assert_int_equal(x.len, y.len);
    assert_memory_equal(x.data, y.data, x.len);
    buf_free(&x);
    buf_free(&y);
}

/* Random pairs: the encoding order must equal the numeric order. */
static void test_key_encoding_random(void **state)
{
    srand(7);
    for (int round = 0; round < 3000; round++) {
        char s[2][64];
        ddb_number v[2];
        for (int k = 0; k < 2; k++) {
            int digits = 1 + rand() % 20;
            int len = snprintf(s[k], sizeof s[k], "%s", rand() % 2 ? "-" : "");
            for (int d = 0; d < digits; d++)
                s[k][len++] = (char)('0' + rand() % 10);
            snprintf(s[k] + len, sizeof s[k] - (size_t)len, "e%d", rand() % 60 - 30);
            v[k] = num(s[k]);
        }
        buf x = BUF_INIT, y = BUF_INIT;
        ddb_number_encode_key(&v[0], &x);
        ddb_number_encode_key(&v[1], &y);
        int c = ddb_number_cmp(&v[0], &v[1]), e = memcmp_bufs(&x, &y);
        if ((c > 0) - (c < 0) != (e > 0) - (e < 0))
            fail_msg("%s vs %s: cmp %d, encoding %d", s[0], s[1], c, e);
        ddb_number sum, back;
        char err[256];
        if (ddb_number_add(&sum, &v[0], &v[1], err, sizeof err) == 0 &&
            ddb_number_sub(&back, &sum, &v[1], err, sizeof err) == 0 &&
            ddb_number_cmp(&back, &v[0]) != 0)
            fail_msg("(%s + %s) - %s != %s", s[0], s[1], s[1], s[0]);
        buf_free(&x);
        buf_free(&y);
    }
}

static void test_size(void **state)
{
    static const struct {
        const char *n;
        size_t size;
    } cases[] = {
        {"0", 1},
        {"1", 2},
        {"10", 2},
        {"12", 2},
        {"1.2", 3},
        {"123", 3},
        {"1234", 3},
        {"-1", 3},
        {"100000", 2},
        {"0.001", 2},
        {"12345678901234567890123456789012345678", 20},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ddb_number x = num(cases[i].n);
        if (ddb_number_size(&x) != cases[i].size)
            fail_msg("size(%s) = %zu, want %zu", cases[i].n, ddb_number_size(&x), cases[i].size);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canonical_text),
        cmocka_unit_test(test_errors_are_dynamodbs),
        cmocka_unit_test(test_limits_are_accepted),
        cmocka_unit_test(test_arithmetic_is_exact),
        cmocka_unit_test(test_arithmetic_range_errors),
        cmocka_unit_test(test_order_and_key_encoding),
        cmocka_unit_test(test_key_encoding_random),
        cmocka_unit_test(test_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
