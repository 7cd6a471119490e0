/* Text and number helpers of the pattern engine.
 *
 * Case folding: equals-ignore-case compares values after mapping each code point to lower
 * case. event-ruler uses Java's full Unicode tables; here the scripts with simple
 * one-to-one case pairs are covered (ASCII, Latin-1, Latin Extended-A and Additional,
 * Greek, Cyrillic, Armenian, fullwidth Latin) and other code points compare exactly.
 *
 * Numbers: event-ruler turns a number into a fixed-width comparable integer,
 * (long)(1e6 * (5e9 + x)), for |x| <= 5e9; equality and ranges are decided on that
 * integer, so numbers compare to six decimal places and 300, 300.0 and 3e2 are equal. */
#include "pattern/pattern_internal.h"

#include "common/alloc.h"
#include "common/utf8.h"

#include <math.h>
#include <stdlib.h>

static uint32_t fold_cp(uint32_t c)
{
    if (c < 0x80)
        return (c >= 'A' && c <= 'Z') ? c + 32 : c;
    if (c >= 0xc0 && c <= 0xde && c != 0xd7)
        return c + 32;
    if (c >= 0x100 && c <= 0x17f) {
        if ((c <= 0x137 || (c >= 0x14a && c <= 0x177)) && !(c & 1))
            return c + 1;
        if (((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e)) && (c & 1))
            return c + 1;
        if (c == 0x178)
            return 0xff;
        return c;
    }
    if (c >= 0x386 && c <= 0x3ab) {
        if (c >= 0x391 && c <= 0x3a9 && c != 0x3a2)
            return c + 32;
        if (c == 0x3aa || c == 0x3ab)
            return c + 32;
        if (c == 0x386)
            return 0x3ac;
        if (c >= 0x388 && c <= 0x38a)
            return c + 37;
        if (c == 0x38c)
            return 0x3cc;
        if (c == 0x38e || c == 0x38f)
            return c + 63;
        return c;
    }
    if (c >= 0x400 && c <= 0x40f)
        return c + 80;
    if (c >= 0x410 && c <= 0x42f)
        return c + 32;
    if (c >= 0x460 && c <= 0x4ff && !(c & 1) && !(c >= 0x482 && c <= 0x489) && c != 0x4c0)
        return c + 1;
    if (c >= 0x531 && c <= 0x556)
        return c + 48;
    if (c >= 0x1e00 && c <= 0x1eff && !(c & 1) && !(c >= 0x1e96 && c <= 0x1e9f))
        return c + 1;
    if (c >= 0xff21 && c <= 0xff3a)
        return c + 32;
    return c;
}

static void put_cp(buf *out, uint32_t c)
{
    char b[4];
    size_t n;
    if (c < 0x80) {
        b[0] = (char)c;
        n = 1;
    } else if (c < 0x800) {
        b[0] = (char)(0xc0 | (c >> 6));
        b[1] = (char)(0x80 | (c & 0x3f));
        n = 2;
    } else if (c < 0x10000) {
        b[0] = (char)(0xe0 | (c >> 12));
        b[1] = (char)(0x80 | ((c >> 6) & 0x3f));
        b[2] = (char)(0x80 | (c & 0x3f));
        n = 3;
    } else {
        b[0] = (char)(0xf0 | (c >> 18));
        b[1] = (char)(0x80 | ((c >> 12) & 0x3f));
        b[2] = (char)(0x80 | ((c >> 6) & 0x3f));
        b[3] = (char)(0x80 | (c & 0x3f));
        n = 4;
    }
    buf_append(out, b, n);
}

void ptext_fold(const char *s, size_t n, buf *out)
{
    const unsigned char *p = (const unsigned char *)s;
    buf_reserve(out, n);
    for (size_t i = 0; i < n;) {
        if (p[i] < 0x80) {
            char c = (char)p[i];
            if (c >= 'A' && c <= 'Z')
                c += 32;
            out->data[out->len++] = c;
            i++;
            continue;
        }
        uint32_t cp;
        size_t len = utf8_decode(p + i, n - i, &cp);
        if (!len) {
            buf_putc(out, (char)p[i]);
            i++;
            continue;
        }
        put_cp(out, fold_cp(cp));
        i += len;
    }
    out->data[out->len] = '\0';
}

void ptext_reverse(const char *s, size_t n, buf *out)
{
    buf_reserve(out, n);
    for (size_t i = 0; i < n; i++)
        out->data[out->len + i] = s[n - 1 - i];
    out->len += n;
    out->data[out->len] = '\0';
}

double pnum_parse(const char *s, size_t n)
{
    /* Most numbers in events are short integers: exact without strtod. */
    if (n > 0 && n <= 15) {
        size_t i = s[0] == '-';
        uint64_t v = 0;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            v = v * 10 + (uint64_t)(s[i] - '0');
        if (i == n && n > (size_t)(s[0] == '-'))
            return s[0] == '-' ? -(double)v : (double)v;
    }
    char small[64];
    char *tmp = n < sizeof small ? small : xmalloc(n + 1);
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    double d = strtod(tmp, NULL);
    if (tmp != small)
        xfree(tmp);
    return d;
}

int pnum_comparable(double d, double limit, int64_t *out)
{
    if (!(d >= -limit && d <= limit))
        return -1;
    *out = (int64_t)(1e6 * (PNUM_LIMIT_EVENTBRIDGE + d));
    return 0;
}
