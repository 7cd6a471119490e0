/* DynamoDB numbers (see ddb_number.h).
 *
 * Parsing never goes through floating point: the text is scanned once, the significant
 * digits (leading and trailing zeros dropped) are kept as ASCII and the exponent of the
 * first digit is computed with clamped integer arithmetic, so "1e999999999999999999" is an
 * overflow and not an undefined behaviour. The range checks are DynamoDB's, in its order:
 * overflow, underflow, then digit count.
 *
 * Addition and subtraction convert both operands to GMP integers scaled to the smaller of
 * their last-digit exponents (value = coef x 10^q), add exactly, and normalise the result
 * back, where the same range checks apply. Exponents stay within a few hundred, so the
 * scaled integers stay small. */
#include "services/dynamodb/ddb_number.h"

#include <gmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MSG_NAN "The parameter cannot be converted to a numeric value"
#define MSG_OVERFLOW                                                                               \
    "Number overflow. Attempting to store a number with magnitude larger than supported range"
#define MSG_UNDERFLOW                                                                              \
    "Number underflow. Attempting to store a number with magnitude smaller than supported range"
#define MSG_DIGITS "Attempting to store more than 38 significant digits in a Number"

/* Large enough to hold any exponent a number of valid size can carry, small enough that
 * sums of a few of them cannot overflow a long long. */
#define EXP_CLAMP 1000000000000LL

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (errlen)
        snprintf(err, errlen, "%s", msg);
}

static void set_zero(ddb_number *x)
{
    x->sign = 0;
    x->exp = 0;
    x->ndigits = 1;
    x->digits[0] = '0';
    x->digits[1] = '\0';
}

static int not_a_number(const char *s, size_t n, char *err, size_t errlen)
{
    if (errlen == 0)
        return -1;
    if (n == 0) {
        set_err(err, errlen, MSG_NAN);
        return -1;
    }
    /* Quote at most 200 bytes of the input, and never a NUL. */
    size_t show = n > 200 ? 200 : n;
    const char *nul = memchr(s, '\0', show);
    if (nul)
        show = (size_t)(nul - s);
    snprintf(err, errlen, MSG_NAN ": %.*s", (int)show, s);
    return -1;
}

/* Checks the range and digit count of a normalised number given by its significant digits
 * (without leading or trailing zeros) and the exponent of its first digit. */
static int check_range(long long exp, size_t ndigits, char *err, size_t errlen)
{
    if (exp > DDB_NUMBER_MAX_EXP) {
        set_err(err, errlen, MSG_OVERFLOW);
        return -1;
    }
    if (exp < DDB_NUMBER_MIN_EXP) {
        set_err(err, errlen, MSG_UNDERFLOW);
        return -1;
    }
    if (ndigits > DDB_NUMBER_MAX_DIGITS) {
        set_err(err, errlen, MSG_DIGITS);
        return -1;
    }
    return 0;
}

int ddb_number_parse(ddb_number *out, const char *s, size_t n, char *err, size_t errlen)
{
    size_t i = 0;
    int negative = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        negative = s[i++] == '-';
    size_t mant_start = i, int_digits = 0, all_digits = 0;
    int seen_point = 0;
    for (; i < n; i++) {
        if (s[i] >= '0' && s[i] <= '9') {
            all_digits++;
            if (!seen_point)
                int_digits++;
        } else if (s[i] == '.' && !seen_point) {
            seen_point = 1;
        } else {
            break;
        }
    }
    size_t mant_end = i;
    if (all_digits == 0)
        return not_a_number(s, n, err, errlen);
    long long exp10 = 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        int exp_negative = 0;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            exp_negative = s[i++] == '-';
        size_t exp_start = i;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            if (exp10 < EXP_CLAMP)
                exp10 = exp10 * 10 + (s[i] - '0');
        if (i == exp_start)
            return not_a_number(s, n, err, errlen);
        if (exp_negative)
            exp10 = -exp10;
    }
    if (i != n)
        return not_a_number(s, n, err, errlen);

    /* Positions below count digits only (the point is skipped). */
    size_t first = (size_t)-1, last = 0, pos = 0;
    for (size_t k = mant_start; k < mant_end; k++) {
        if (s[k] == '.')
            continue;
        if (s[k] != '0') {
            if (first == (size_t)-1)
                first = pos;
            last = pos;
        }
        pos++;
    }
    if (first == (size_t)-1) {
        set_zero(out);
        return 0;
    }
    size_t ndigits = last - first + 1;
    long long exp = (long long)int_digits - 1 - (long long)first + exp10;
    if (check_range(exp, ndigits, err, errlen) != 0)
        return -1;
    out->sign = negative ? -1 : 1;
    out->exp = (int)exp;
    out->ndigits = (int)ndigits;
    size_t w = 0;
    pos = 0;
    for (size_t k = mant_start; k < mant_end; k++) {
        if (s[k] == '.')
            continue;
        if (pos >= first && pos <= last)
            out->digits[w++] = s[k];
        pos++;
    }
    out->digits[w] = '\0';
    return 0;
}

static void put_zeros(buf *out, long long count)
{
    for (long long k = 0; k < count; k++)
        buf_putc(out, '0');
}

void ddb_number_format(const ddb_number *x, buf *out)
{
    if (x->sign == 0) {
        buf_putc(out, '0');
        return;
    }
    if (x->sign < 0)
        buf_putc(out, '-');
    int n = x->ndigits;
    if (x->exp < 0) {
        buf_puts(out, "0.");
        put_zeros(out, -(long long)x->exp - 1);
        buf_append(out, x->digits, (size_t)n);
    } else if (x->exp >= n - 1) {
        buf_append(out, x->digits, (size_t)n);
        put_zeros(out, (long long)x->exp - (n - 1));
    } else {
        buf_append(out, x->digits, (size_t)x->exp + 1);
        buf_putc(out, '.');
        buf_append(out, x->digits + x->exp + 1, (size_t)(n - x->exp - 1));
    }
}

int ddb_number_canonical(const char *s, size_t n, buf *out, char *err, size_t errlen)
{
    ddb_number x;
    if (ddb_number_parse(&x, s, n, err, errlen) != 0)
        return -1;
    buf_reset(out);
    ddb_number_format(&x, out);
    return 0;
}

int ddb_number_cmp(const ddb_number *a, const ddb_number *b)
{
    if (a->sign != b->sign)
        return a->sign < b->sign ? -1 : 1;
    if (a->sign == 0)
        return 0;
    int magnitude;
    if (a->exp != b->exp)
        magnitude = a->exp < b->exp ? -1 : 1;
    else
        magnitude = strcmp(a->digits, b->digits); /* a prefix is the smaller */
    if (magnitude != 0)
        magnitude = magnitude < 0 ? -1 : 1;
    return a->sign * magnitude;
}

/* ----------------------------------------------------------------- arithmetic (GMP) */

/* Exponent of the last significant digit: x = coef x 10^q. */
static int last_digit_exp(const ddb_number *x)
{
    return x->exp - (x->ndigits - 1);
}

/* coef = |x| x 10^(q(x) - q) with q <= q(x), signed. */
static void to_scaled(mpz_t coef, const ddb_number *x, int q)
{
    mpz_set_str(coef, x->digits, 10);
    if (x->sign == 0)
        return;
    mpz_t scale;
    mpz_init(scale);
    mpz_ui_pow_ui(scale, 10, (unsigned long)(last_digit_exp(x) - q));
    mpz_mul(coef, coef, scale);
    mpz_clear(scale);
    if (x->sign < 0)
        mpz_neg(coef, coef);
}

/* out = coef x 10^q, normalised and range checked. */
static int from_scaled(ddb_number *out, const mpz_t coef, int q, char *err, size_t errlen)
{
    int sign = mpz_sgn(coef);
    if (sign == 0) {
        set_zero(out);
        return 0;
    }
    char *text = mpz_get_str(NULL, 10, coef);
    const char *digits = text + (text[0] == '-');
    size_t len = strlen(digits);
    size_t trimmed = len;
    while (trimmed > 1 && digits[trimmed - 1] == '0')
        trimmed--;
    long long exp = (long long)q + (long long)len - 1;
    int rc = check_range(exp, trimmed, err, errlen);
    if (rc == 0) {
        out->sign = sign;
        out->exp = (int)exp;
        out->ndigits = (int)trimmed;
        memcpy(out->digits, digits, trimmed);
        out->digits[trimmed] = '\0';
    }
    void (*free_fn)(void *, size_t);
    mp_get_memory_functions(NULL, NULL, &free_fn);
    free_fn(text, strlen(text) + 1);
    return rc;
}

static int add_signed(ddb_number *out, const ddb_number *a, const ddb_number *b, int negate_b,
                      char *err, size_t errlen)
{
    int qa = last_digit_exp(a), qb = last_digit_exp(b);
    int q = qa < qb ? qa : qb;
    mpz_t x, y;
    mpz_inits(x, y, NULL);
    to_scaled(x, a, q);
    to_scaled(y, b, q);
    if (negate_b)
        mpz_sub(x, x, y);
    else
        mpz_add(x, x, y);
    int rc = from_scaled(out, x, q, err, errlen);
    mpz_clears(x, y, NULL);
    return rc;
}

int ddb_number_add(ddb_number *out, const ddb_number *a, const ddb_number *b, char *err,
                   size_t errlen)
{
    return add_signed(out, a, b, 0, err, errlen);
}

int ddb_number_sub(ddb_number *out, const ddb_number *a, const ddb_number *b, char *err,
                   size_t errlen)
{
    return add_signed(out, a, b, 1, err, errlen);
}

void ddb_number_from_u64(ddb_number *out, unsigned long long v)
{
    char text[32];
    int n = snprintf(text, sizeof text, "%llu", v);
    char err[8];
    if (ddb_number_parse(out, text, (size_t)n, err, sizeof err) != 0)
        set_zero(out); /* unreachable: 20 digits fit */
}

/* ------------------------------------------------------------------ encoding and size */

/* Layout: a class byte (1 negative, 2 zero, 3 positive); then, for positives, the biased
 * exponent (exp + 130, 0..255) and each digit as d + 1 followed by a 0 terminator; for
 * negatives, everything complemented: 255 - biased exponent, 10 - d per digit and a 255
 * terminator. The terminators make a shorter digit string (which is the smaller magnitude
 * once exponents are equal, as trailing zeros are dropped) sort first for positives and
 * last for negatives. */
void ddb_number_encode_key(const ddb_number *x, buf *out)
{
    if (x->sign == 0) {
        buf_putc(out, 2);
        return;
    }
    int biased = x->exp - DDB_NUMBER_MIN_EXP;
    if (x->sign > 0) {
        buf_putc(out, 3);
        buf_putc(out, (char)(unsigned char)biased);
        for (int i = 0; i < x->ndigits; i++)
            buf_putc(out, (char)(x->digits[i] - '0' + 1));
        buf_putc(out, 0);
    } else {
        buf_putc(out, 1);
        buf_putc(out, (char)(unsigned char)(255 - biased));
        for (int i = 0; i < x->ndigits; i++)
            buf_putc(out, (char)(10 - (x->digits[i] - '0')));
        buf_putc(out, (char)0xff);
    }
}

size_t ddb_number_size(const ddb_number *x)
{
    if (x->sign == 0)
        return 1;
    size_t n = (size_t)x->ndigits;
    size_t size = 1 + (n + 1) / 2;
    if (n % 2 == 0 && x->exp % 2 == 0)
        size++; /* the first digit sits alone in its base-100 byte */
    if (x->sign < 0)
        size++;
    return size;
}
