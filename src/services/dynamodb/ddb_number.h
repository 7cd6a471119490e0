/* DynamoDB numbers: parsing and validation of the wire text, the canonical text DynamoDB
 * returns, exact addition and subtraction, comparison, the item-size cost and an
 * order-preserving byte encoding for keys.
 *
 * A valid number has at most 38 significant digits and a magnitude of 1E-130 up to
 * 9.9999999999999999999999999999999999999E+125 (or is zero). It is held normalised: the
 * significant digits without leading or trailing zeros and the decimal exponent of the
 * first digit, so that two equal numbers have equal structs ("1.50", "15e-1" and "+1.5"
 * are one number). Arithmetic goes through GMP (integers scaled by a power of ten).
 *
 * Errors are written to err as DynamoDB words them (the service returns them as a
 * ValidationException), e.g. "Number overflow. Attempting to store a number with magnitude
 * larger than supported range". */
#ifndef SLUICE_DDB_NUMBER_H
#define SLUICE_DDB_NUMBER_H

#include "common/buf.h"

#include <stddef.h>

#define DDB_NUMBER_MAX_DIGITS 38
#define DDB_NUMBER_MAX_EXP    125
#define DDB_NUMBER_MIN_EXP    (-130)

typedef struct ddb_number {
    int sign;                               /* -1, 0 or 1 */
    int exp;                                /* value = d1.d2d3...dn x 10^exp (0 for zero) */
    int ndigits;                            /* 1..38 (zero is the one digit "0") */
    char digits[DDB_NUMBER_MAX_DIGITS + 1]; /* ASCII digits, NUL-terminated */
} ddb_number;

/* Parses the n bytes of s: an optional sign, digits with at most one decimal point, an
 * optional exponent (e or E, optional sign, digits). Returns 0, or -1 with DynamoDB's
 * message in err (not a number, overflow, underflow, more than 38 significant digits). */
int ddb_number_parse(ddb_number *out, const char *s, size_t n, char *err, size_t errlen);

/* Appends the canonical text DynamoDB returns for x: plain notation, no exponent, no
 * leading or trailing zeros, no "+" and no "-0" ("1e3" -> "1000", "-0.50" -> "-0.5"). */
void ddb_number_format(const ddb_number *x, buf *out);

/* Parses s and writes its canonical text to out (replacing out's content). Returns 0, or
 * -1 with the message in err. */
int ddb_number_canonical(const char *s, size_t n, buf *out, char *err, size_t errlen);

/* <0, 0 or >0 as a is numerically less than, equal to or greater than b. */
int ddb_number_cmp(const ddb_number *a, const ddb_number *b);

/* out = a + b, or out = a - b, computed exactly; the result must itself be a valid number.
 * Returns 0, or -1 with DynamoDB's message in err (overflow, underflow, too many digits).
 * out may alias a or b. */
int ddb_number_add(ddb_number *out, const ddb_number *a, const ddb_number *b, char *err,
                   size_t errlen);
int ddb_number_sub(ddb_number *out, const ddb_number *a, const ddb_number *b, char *err,
                   size_t errlen);

/* Sets out to the integer v. */
void ddb_number_from_u64(ddb_number *out, unsigned long long v);

/* Appends a byte string whose memcmp order is the numeric order of the numbers. It is
 * prefix-free (no encoding is a prefix of another), so values may be concatenated. */
void ddb_number_encode_key(const ddb_number *x, buf *out);

/* The bytes x counts toward an item's size. DynamoDB documents "about one byte per two
 * significant digits plus one"; this is the exact cost DynamoDB charges (digit pairs are
 * aligned on the exponent's parity, negatives take one more byte, zero takes one). */
size_t ddb_number_size(const ddb_number *x);

#endif
