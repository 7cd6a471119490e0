#include "common/hex.h"

#include "common/alloc.h"

#include <string.h>

char *hex_string(const unsigned char *in, size_t n)
{
    char *out = xmalloc(2 * n + 1);
    hex_encode(in, n, out);
    return out;
}

unsigned char *hex_decode(const char *s, size_t *n)
{
    size_t len = strlen(s);
    if (len % 2)
        return NULL;
    unsigned char *out = xmalloc(len / 2 + 1);
    for (size_t i = 0; i < len / 2; i++) {
        int hi = hex_digit((unsigned char)s[2 * i]), lo = hex_digit((unsigned char)s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            xfree(out);
            return NULL;
        }
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    *n = len / 2;
    return out;
}
