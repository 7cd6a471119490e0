/* See json_codec.h for why this exists. Recursive descent over a byte range; the only
 * allocations are the jansson values themselves (and a scratch buffer for strings that
 * contain escapes). */
#include "protocol/json_codec.h"

#include "common/hex.h"
#include "common/utf8.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct reader {
    const unsigned char *p, *start, *end;
    char *err;
    size_t errlen;
    buf scratch;
} reader;

static json_t *fail(reader *r, const char *what)
{
    if (r->err && r->err[0] == '\0')
        snprintf(r->err, r->errlen, "invalid JSON at byte %zu: %s", (size_t)(r->p - r->start),
                 what);
    return NULL;
}

static void skip_ws(reader *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t'))
        r->p++;
}

/* 8 bytes at a time: true if none is '"', '\\', < 0x20 or >= 0x80. */
static inline int plain8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t quote = x ^ (ones * '"');
    uint64_t bslash = x ^ (ones * '\\');
    uint64_t t = ((quote - ones) & ~quote) | ((bslash - ones) & ~bslash) | (x - ones * 0x20) | x;
    return (t & highs) == 0;
}

static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    uint32_t cp;
    return utf8_decode(p, (size_t)(end - p), &cp);
}

static int hex4(const unsigned char *p, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        int d = hex_digit(p[i]);
        if (d < 0)
            return -1;
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return 0;
}

static void put_utf8(buf *b, uint32_t cp)
{
    char t[4];
    size_t n;
    if (cp < 0x80) {
        t[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        t[0] = (char)(0xc0 | (cp >> 6));
        t[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        t[0] = (char)(0xe0 | (cp >> 12));
        t[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        t[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        t[0] = (char)(0xf0 | (cp >> 18));
        t[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        t[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        t[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    buf_append(b, t, n);
}

/* Reads a string after its opening quote. On success points *s and *n at the decoded bytes:
 * into the input when there were no escapes, else into r->scratch. */
static int read_string(reader *r, const char **s, size_t *n)
{
    const unsigned char *p = r->p, *end = r->end;
    const unsigned char *run = p;
    int escaped = 0;
    for (;;) {
        while (end - p >= 8) {
            uint64_t x;
            memcpy(&x, p, 8);
            if (!plain8(x))
                break;
            p += 8;
        }
        if (p >= end) {
            r->p = p;
            return fail(r, "unterminated string"), -1;
        }
        unsigned c = *p;
        if (c == '"') {
            if (escaped) {
                buf_append(&r->scratch, run, (size_t)(p - run));
                *s = r->scratch.data;
                *n = r->scratch.len;
            } else {
                *s = (const char *)run;
                *n = (size_t)(p - run);
            }
            r->p = p + 1;
            return 0;
        }
        if (c < 0x20) {
            r->p = p;
            return fail(r, "control character in string"), -1;
        }
        if (c >= 0x80) {
            size_t l = utf8_len(p, end);
            if (!l) {
                r->p = p;
                return fail(r, "invalid UTF-8"), -1;
            }
            p += l;
            continue;
        }
        if (c != '\\') {
            p++;
            continue;
        }
        /* An escape: move to the scratch buffer. */
        if (!escaped) {
            escaped = 1;
            buf_reset(&r->scratch);
        }
        buf_append(&r->scratch, run, (size_t)(p - run));
        if (end - p < 2) {
            r->p = p;
            return fail(r, "unterminated escape"), -1;
        }
        unsigned e = p[1];
        p += 2;
        switch (e) {
        case '"':
            buf_putc(&r->scratch, '"');
            break;
        case '\\':
            buf_putc(&r->scratch, '\\');
            break;
        case '/':
            buf_putc(&r->scratch, '/');
            break;
        case 'b':
            buf_putc(&r->scratch, '\b');
            break;
        case 'f':
            buf_putc(&r->scratch, '\f');
            break;
        case 'n':
            buf_putc(&r->scratch, '\n');
            break;
        case 'r':
            buf_putc(&r->scratch, '\r');
            break;
        case 't':
            buf_putc(&r->scratch, '\t');
            break;
        case 'u': {
            uint32_t cp;
            if (end - p < 4 || hex4(p, &cp) != 0) {
                r->p = p;
                return fail(r, "bad \\u escape"), -1;
            }
            p += 4;
            if (cp >= 0xd800 && cp <= 0xdbff) {
                uint32_t lo;
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &lo) != 0 ||
                    lo < 0xdc00 || lo > 0xdfff) {
                    r->p = p;
                    return fail(r, "lone surrogate"), -1;
                }
                p += 6;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                r->p = p;
                return fail(r, "lone surrogate"), -1;
            }
            put_utf8(&r->scratch, cp);
            break;
        }
        default:
            r->p = p - 1;
            return fail(r, "bad escape"), -1;
        }
        run = p;
    }
}

static json_t *read_number(reader *r)
{
    const unsigned char *p = r->p, *end = r->end, *start = p;
    int is_real = 0;
    if (p < end && *p == '-')
        p++;
    if (p >= end)
        return fail(r, "bad number");
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    } else {
        return fail(r, "bad number");
    }
    if (p < end && *p == '.') {
        is_real = 1;
        p++;
        if (p >= end || *p < '0' || *p > '9')
            return fail(r, "bad number");
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        is_real = 1;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || *p < '0' || *p > '9')
            return fail(r, "bad number");
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    char tmp[64];
    size_t len = (size_t)(p - start);
    if (len >= sizeof tmp)
        return fail(r, "number too long");
    memcpy(tmp, start, len);
    tmp[len] = '\0';
    r->p = p;
    if (!is_real) {
        errno = 0;
        long long v = strtoll(tmp, NULL, 10);
        if (errno == 0)
            return json_integer(v);
    }
    errno = 0;
    double d = strtod(tmp, NULL);
    if (errno == ERANGE && (d > 1 || d < -1))
        return fail(r, "number out of range");
    return json_real(d);
}

static int literal(reader *r, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
        return -1;
    r->p += n;
    return 0;
}

static json_t *read_value(reader *r, int depth);

static json_t *read_object(reader *r, int depth)
{
    json_t *o = json_object();
    r->p++; /* '{' */
    skip_ws(r);
    if (r->p < r->end && *r->p == '}') {
        r->p++;
        return o;
    }
    for (;;) {
        skip_ws(r);
        if (r->p >= r->end || *r->p != '"')
            goto bad_key;
        r->p++;
        const char *k;
        size_t kn;
        if (read_string(r, &k, &kn) != 0)
            goto fail;
        if (memchr(k, '\0', kn)) {
            fail(r, "NUL in object key");
            goto fail;
        }
        /* The key may live in the scratch buffer, which the value can reuse: copy it. */
        char kbuf[256];
        char *key = kn < sizeof kbuf ? kbuf : malloc(kn + 1);
        if (!key)
            abort();
        memcpy(key, k, kn);
        key[kn] = '\0';
        if (json_object_getn(o, key, kn)) {
            if (key != kbuf)
                free(key);
            fail(r, "duplicate object key");
            goto fail;
        }
        skip_ws(r);
        if (r->p >= r->end || *r->p != ':') {
            if (key != kbuf)
                free(key);
            fail(r, "expected ':'");
            goto fail;
        }
        r->p++;
        json_t *v = read_value(r, depth);
        if (!v) {
            if (key != kbuf)
                free(key);
            goto fail;
        }
        json_object_setn_new_nocheck(o, key, kn, v);
        if (key != kbuf)
            free(key);
        skip_ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        if (r->p < r->end && *r->p == '}') {
            r->p++;
            return o;
        }
        fail(r, "expected ',' or '}'");
        goto fail;
    }
bad_key:
    fail(r, "expected a string key");
fail:
    json_decref(o);
    return NULL;
}

static json_t *read_array(reader *r, int depth)
{
    json_t *a = json_array();
    r->p++; /* '[' */
    skip_ws(r);
    if (r->p < r->end && *r->p == ']') {
        r->p++;
        return a;
    }
    for (;;) {
        json_t *v = read_value(r, depth);
        if (!v)
            goto fail;
        json_array_append_new(a, v);
        skip_ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        if (r->p < r->end && *r->p == ']') {
            r->p++;
            return a;
        }
        fail(r, "expected ',' or ']'");
        goto fail;
    }
fail:
    json_decref(a);
    return NULL;
}

static json_t *read_value(reader *r, int depth)
{
    skip_ws(r);
    if (r->p >= r->end)
        return fail(r, "unexpected end");
    switch (*r->p) {
    case '{':
        if (depth >= JSONC_MAX_DEPTH)
            return fail(r, "nesting too deep");
        return read_object(r, depth + 1);
    case '[':
        if (depth >= JSONC_MAX_DEPTH)
            return fail(r, "nesting too deep");
        return read_array(r, depth + 1);
    case '"': {
        r->p++;
        const char *s;
        size_t n;
        if (read_string(r, &s, &n) != 0)
            return NULL;
        return json_stringn_nocheck(s, n);
    }
    case 't':
        if (literal(r, "true") == 0)
            return json_true();
        break;
    case 'f':
        if (literal(r, "false") == 0)
            return json_false();
        break;
    case 'n':
        if (literal(r, "null") == 0)
            return json_null();
        break;
    default:
        if (*r->p == '-' || (*r->p >= '0' && *r->p <= '9'))
            return read_number(r);
        break;
    }
    return fail(r, "unexpected character");
}

json_t *jsonc_parse(const char *s, size_t n, char *err, size_t errlen)
{
    reader r = {.p = (const unsigned char *)s,
                .start = (const unsigned char *)s,
                .end = (const unsigned char *)s + n,
                .err = err,
                .errlen = errlen};
    if (err && errlen)
        err[0] = '\0';
    buf_init(&r.scratch, 0);
    json_t *v = read_value(&r, 0);
    if (v) {
        skip_ws(&r);
        if (r.p != r.end) {
            json_decref(v);
            v = fail(&r, "trailing characters");
        }
    }
    buf_free(&r.scratch);
    return v;
}

/* ---- writer ------------------------------------------------------------------------- */

static void dump_string(buf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    buf_reserve(out, n + 2);
    buf_putc(out, '"');
    const unsigned char *p = (const unsigned char *)s, *end = p + n, *run = p;
    while (p < end) {
        while (end - p >= 8) {
            uint64_t x;
            memcpy(&x, p, 8);
            /* Bytes >= 0x80 pass (valid UTF-8 is copied as is): `& ~x` drops them. */
            const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
            uint64_t quote = x ^ (ones * '"'), bslash = x ^ (ones * '\\');
            uint64_t t =
                ((quote - ones) & ~quote) | ((bslash - ones) & ~bslash) | ((x - ones * 0x20) & ~x);
            if (t & highs)
                break;
            p += 8;
        }
        if (p >= end)
            break;
        unsigned c = *p;
        if (c == '"' || c == '\\' || c < 0x20) {
            buf_append(out, run, (size_t)(p - run));
            char e[6] = {'\\', 0};
            size_t el = 2;
            switch (c) {
            case '"':
                e[1] = '"';
                break;
            case '\\':
                e[1] = '\\';
                break;
            case '\n':
                e[1] = 'n';
                break;
            case '\r':
                e[1] = 'r';
                break;
            case '\t':
                e[1] = 't';
                break;
            case '\b':
                e[1] = 'b';
                break;
            case '\f':
                e[1] = 'f';
                break;
            default:
                e[1] = 'u';
                e[2] = '0';
                e[3] = '0';
                e[4] = hex[c >> 4];
                e[5] = hex[c & 15];
                el = 6;
                break;
            }
            buf_append(out, e, el);
            run = p + 1;
        }
        p++;
    }
    buf_append(out, run, (size_t)(end - run));
    buf_putc(out, '"');
}

void jsonc_put_string(buf *out, const char *s, size_t n)
{
    dump_string(out, s, n);
}

void jsonc_put_string_lossy(buf *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    buf clean = BUF_INIT;
    const unsigned char *run = p;
    while (p < end) {
        if (*p < 0x80) {
            p++;
            continue;
        }
        size_t l = utf8_len(p, end);
        if (l) {
            p += l;
            continue;
        }
        buf_append(&clean, run, (size_t)(p - run));
        buf_append(&clean, "\xef\xbf\xbd", 3);
        run = ++p;
    }
    if (clean.data) {
        buf_append(&clean, run, (size_t)(end - run));
        dump_string(out, clean.data, clean.len);
    } else {
        dump_string(out, s, n);
    }
    buf_free(&clean);
}

void jsonc_dump(buf *out, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        buf_putc(out, '{');
        const char *k;
        json_t *x;
        int first = 1;
        json_object_foreach((json_t *)v, k, x)
        {
            if (!first)
                buf_putc(out, ',');
            first = 0;
            dump_string(out, k, strlen(k));
            buf_putc(out, ':');
            jsonc_dump(out, x);
        }
        buf_putc(out, '}');
        break;
    }
    case JSON_ARRAY: {
        buf_putc(out, '[');
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                buf_putc(out, ',');
            jsonc_dump(out, json_array_get(v, i));
        }
        buf_putc(out, ']');
        break;
    }
    case JSON_STRING:
        dump_string(out, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        buf_put_i64(out, (int64_t)json_integer_value(v));
        break;
    case JSON_REAL: {
        /* The shortest form that reads back as the same double (0.1, not
         * 0.10000000000000001), as JavaScript and Python print numbers. */
        char tmp[40];
        double d = json_real_value(v);
        int n = 0;
        for (int prec = 15; prec <= 17; prec++) {
            n = snprintf(tmp, sizeof tmp, "%.*g", prec, d);
            if (strtod(tmp, NULL) == d)
                break;
        }
        buf_append(out, tmp, (size_t)n);
        if (!strpbrk(tmp, ".eE"))
            buf_puts(out, ".0"); /* stays a real when read back */
        break;
    }
    case JSON_TRUE:
        buf_puts(out, "true");
        break;
    case JSON_FALSE:
        buf_puts(out, "false");
        break;
    case JSON_NULL:
        buf_puts(out, "null");
        break;
    }
}

json_t *jsonc_copy(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        json_t *out = json_object(), *x;
        const char *k;
        size_t klen;
        json_object_keylen_foreach((json_t *)v, k, klen, x)
        {
            json_object_setn_new_nocheck(out, k, klen, jsonc_copy(x));
        }
        return out;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        json_t *out = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(out, jsonc_copy(json_array_get(v, i)));
        return out;
    }
    case JSON_STRING:
        return json_stringn_nocheck(json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return json_integer(json_integer_value(v));
    case JSON_REAL:
        return json_real(json_real_value(v));
    default: /* true, false, null: jansson's singletons */
        return json_incref((json_t *)v);
    }
}
