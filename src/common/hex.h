/* Hexadecimal digits: the decoders of %XX escapes (forms, SigV4 paths) and \uXXXX escapes
 * (JSON), and lowercase hex text of bytes (digests, paging tokens). */
#ifndef SLUICE_COMMON_HEX_H
#define SLUICE_COMMON_HEX_H

#include <stddef.h>

/* The value of hex digit c (either case), or -1. */
static inline int hex_digit(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Writes the n bytes of in as 2n lowercase hex digits and a NUL to out (2n + 1 bytes). */
static inline void hex_encode(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

/* The n bytes of in as a new string of hex digits (free with xfree). */
char *hex_string(const unsigned char *in, size_t n);

/* The bytes whose hex text is s (either case; an even number of digits), malloc'd, their
 * count into *n; NULL if s is not such a text. */
unsigned char *hex_decode(const char *s, size_t *n);

#endif
