/* Fuzz DynamoDB number parsing, formatting and arithmetic: any text is either refused with
 * a message or parsed; the canonical text parses back to the same number; the key
 * encoding orders like the comparison; a + b - b == a whenever both steps succeed.
 *
 * Input: two numbers separated by a NUL byte (the second optional). */
#include "services/dynamodb/ddb_number.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int sign(int x)
{
    return (x > 0) - (x < 0);
}

static int parse_checked(const char *s, size_t n, ddb_number *x)
{
    char err[512] = "";
    if (ddb_number_parse(x, s, n, err, sizeof err) != 0) {
        if (err[0] == '\0')
            abort();
        return -1;
    }
    buf text = BUF_INIT;
    ddb_number_format(x, &text);
    ddb_number back;
    if (ddb_number_parse(&back, text.data, text.len, err, sizeof err) != 0 ||
        ddb_number_cmp(&back, x) != 0 || back.sign != x->sign || back.exp != x->exp ||
        strcmp(back.digits, x->digits) != 0)
        abort();
    buf again = BUF_INIT;
    ddb_number_format(&back, &again);
    if (again.len != text.len || memcmp(again.data, text.data, text.len) != 0)
        abort(); /* canonical text is a fixed point */
    buf_free(&text);
    buf_free(&again);
    if (ddb_number_size(x) < 1 || ddb_number_size(x) > 22)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    const char *nul = memchr(s, 0, size);
    size_t n1 = nul ? (size_t)(nul - s) : size;
    ddb_number a, b;
    if (parse_checked(s, n1, &a) != 0)
        return 0;
    if (!nul || parse_checked(nul + 1, size - n1 - 1, &b) != 0)
        b = a;
    buf x = BUF_INIT, y = BUF_INIT;
    ddb_number_encode_key(&a, &x);
    ddb_number_encode_key(&b, &y);
    size_t m = x.len < y.len ? x.len : y.len;
    int enc = memcmp(x.data, y.data, m);
    if (enc == 0)
        enc = x.len < y.len ? -1 : x.len > y.len;
    if (sign(enc) != sign(ddb_number_cmp(&a, &b)))
        abort();
    buf_free(&x);
    buf_free(&y);
    char err[512];
    ddb_number sum, back;
    if (ddb_number_add(&sum, &a, &b, err, sizeof err) == 0 &&
        ddb_number_sub(&back, &sum, &b, err, sizeof err) == 0 && ddb_number_cmp(&back, &a) != 0)
        abort();
    return 0;
}
