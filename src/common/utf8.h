/* UTF-8 decoding shared by every parser and writer that must check text (JSON, Query
 * forms, XML output, SQS message bodies). */
#ifndef SLUICE_COMMON_UTF8_H
#define SLUICE_COMMON_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decodes the multi-byte sequence at s (s[0] >= 0x80, at most n bytes available). Returns
 * its length and sets *cp, or returns 0 if it is not well-formed UTF-8 (bad lead or
 * continuation byte, truncated, overlong, a surrogate, or above U+10FFFF). */
static inline size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t v;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        v = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        v = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        v = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3f);
    }
    if ((len == 3 && (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))) ||
        (len == 4 && (v < 0x10000 || v > 0x10ffff)))
        return 0;
    *cp = v;
    return len;
}

#endif
