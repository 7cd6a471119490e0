/* application/x-www-form-urlencoded parsing.
 *
 * One allocation holds the pair array followed by every decoded name and value: decoding
 * never grows a string ('%XX' is three bytes in, one out), so the input length plus a NUL
 * per string bounds the text. Splitting is on '&' (and ';' is not a separator, as in AWS);
 * the first '=' of a pair separates its name from its value. Empty segments ("a=1&&b=2",
 * a trailing '&') are skipped. */
#include "protocol/form.h"

#include "common/alloc.h"

#include "common/hex.h"

#include <stdint.h>
#include <string.h>

/* Whether any byte of x is '%' or '+' (a zero byte of x ^ c sets its high bit in
 * (y - 0x01..) & ~y). */
static int has_escape(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t p = x ^ (ones * '%'), q = x ^ (ones * '+');
    return (((p - ones) & ~p) | ((q - ones) & ~q)) & highs ? 1 : 0;
}

/* Decodes s[0..n) into out (NUL-terminated). Returns the decoded length or -1. */
static long decode(char *out, const char *s, size_t n)
{
    char *o = out;
    size_t i = 0;
    while (i < n) {
        /* Copy the run without escapes in one go, finding its end eight bytes at a time. */
        size_t run = i;
        while (n - run >= 8) {
            uint64_t x;
            memcpy(&x, s + run, 8);
            if (has_escape(x))
                break;
            run += 8;
        }
        while (run < n && s[run] != '%' && s[run] != '+')
            run++;
        memcpy(o, s + i, run - i);
        o += run - i;
        i = run;
        if (i >= n)
            break;
        if (s[i] == '+') {
            *o++ = ' ';
            i++;
            continue;
        }
        if (n - i < 3) /* fewer than two characters after the '%' */
            return -1;
        int hi = hex_digit((unsigned char)s[i + 1]), lo = hex_digit((unsigned char)s[i + 2]);
        if (hi < 0 || lo < 0)
            return -1;
        *o++ = (char)(hi << 4 | lo);
        i += 3;
    }
    *o = '\0';
    return (long)(o - out);
}

int form_parse(form *out, const char *s, size_t len, size_t max_pairs)
{
    out->pairs = NULL;
    out->npairs = 0;
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        const char *amp = memchr(s + i, '&', len - i);
        size_t end = amp ? (size_t)(amp - s) : len;
        if (end > i)
            n++;
        i = end + 1;
    }
    if (n > max_pairs)
        return -1;
    if (n == 0)
        return 0;
    form_pair *pairs = xmalloc(n * sizeof *pairs + len + 2 * n);
    char *text = (char *)(pairs + n);
    size_t k = 0;
    for (size_t i = 0; i < len;) {
        const char *amp = memchr(s + i, '&', len - i);
        size_t end = amp ? (size_t)(amp - s) : len;
        if (end > i) {
            const char *eq = memchr(s + i, '=', end - i);
            size_t name_end = eq ? (size_t)(eq - s) : end;
            form_pair *p = &pairs[k++];
            long nl = decode(text, s + i, name_end - i);
            if (nl < 0)
                goto fail;
            p->name = text;
            p->name_len = (size_t)nl;
            text += nl + 1;
            size_t vstart = eq ? name_end + 1 : end;
            long vl = decode(text, s + vstart, end - vstart);
            if (vl < 0)
                goto fail;
            p->value = text;
            p->value_len = (size_t)vl;
            text += vl + 1;
        }
        i = end + 1;
    }
    out->pairs = pairs;
    out->npairs = n;
    return 0;
fail:
    xfree(pairs);
    return -1;
}

void form_free(form *f)
{
    if (!f)
        return;
    xfree(f->pairs);
    f->pairs = NULL;
    f->npairs = 0;
}

const form_pair *form_get(const form *f, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < f->npairs; i++) {
        const form_pair *p = &f->pairs[i];
        if (p->name_len == len && memcmp(p->name, name, len) == 0)
            return p;
    }
    return NULL;
}

void form_put_escaped(buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            buf_putc(out, (char)*p);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            buf_append(out, e, 3);
        }
    }
}
