/* Receipt handles: round trip, tamper detection, and the operation table's order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "services/sqs/sqs_internal.h"

#include <string.h>

static const unsigned char secret[32] = "0123456789abcdef0123456789abcde";

static void test_receipt_roundtrip(void **state)
{
    char h[128];
    sqs_receipt_encode(secret, 7, 123456789012LL, -42, h, sizeof h);
    assert_int_equal(strlen(h), 48);
    int64_t q, seq, token;
    assert_int_equal(sqs_receipt_decode(secret, h, &q, &seq, &token), 0);
    assert_int_equal(q, 7);
    assert_int_equal(seq, 123456789012LL);
    assert_int_equal(token, -42);
}

static void test_receipt_rejects_tampering_and_garbage(void **state)
{
    char h[128];
    int64_t q, seq, token;
    sqs_receipt_encode(secret, 1, 2, 3, h, sizeof h);
    h[10] = h[10] == 'A' ? 'B' : 'A';
    assert_int_equal(sqs_receipt_decode(secret, h, &q, &seq, &token), -1);
    assert_int_equal(sqs_receipt_decode(secret, "", &q, &seq, &token), -1);
    assert_int_equal(sqs_receipt_decode(secret, "not a handle", &q, &seq, &token), -1);
    assert_int_equal(sqs_receipt_decode(secret, NULL, &q, &seq, &token), -1);
    char other[32];
    memcpy(other, secret, 32);
    other[0] ^= 1;
    sqs_receipt_encode(secret, 1, 2, 3, h, sizeof h);
    assert_int_equal(sqs_receipt_decode((unsigned char *)other, h, &q, &seq, &token), -1);
    /* 48 characters outside the alphabet. */
    char bad[49];
    memset(bad, '!', 48);
    bad[48] = 0;
    assert_int_equal(sqs_receipt_decode(secret, bad, &q, &seq, &token), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_receipt_roundtrip),
        cmocka_unit_test(test_receipt_rejects_tampering_and_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
