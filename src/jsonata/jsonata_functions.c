/* The JSONata function library (jsonata-js's functions.js): aggregation, strings,
 * regular expressions, numbers, booleans, arrays, objects, higher-order functions,
 * encodings, $eval and $clone; plus the functions Step Functions adds: $partition,
 * $range, $hash, $random(seed), $uuid and $parse.
 *
 * One table maps each name to its signature and implementation. Arguments arrive
 * validated against the signature (see jsonata_signature.c): a '-' parameter already
 * holds the context value, an 'a' parameter an array. An undefined first argument
 * makes most functions return undefined, as in jsonata-js. */
#include "common/ids.h"
#include "jsonata/jsonata_internal.h"

#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARG(i) ((i) < n ? a[i] : NULL)

static jn_val *num(jn_ctx *c, double d)
{
    return jn_num(c, d);
}

_Noreturn static void fail_arg(jn_ctx *c, const char *code, const char *fname, const jn_val *v,
                               int index)
{
    jn_err d = {.token = fname, .value = v, .has_value = true, .index = index};
    jn_throw(c, code, -1, &d);
}

/* ---------------------------------------------------------------- aggregation */

static jn_val *fn_sum(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *arr = ARG(0);
    if (!arr)
        return NULL;
    double total = 0;
    for (size_t i = 0; i < arr->u.arr.len; i++)
        total += arr->u.arr.items[i]->u.n;
    return num(c, total);
}

static jn_val *fn_count(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *arr = ARG(0);
    return num(c, arr ? (double)arr->u.arr.len : 0);
}

static jn_val *extreme(jn_ctx *c, jn_val *arr, bool want_max)
{
    if (!arr || arr->u.arr.len == 0)
        return NULL;
    double best = arr->u.arr.items[0]->u.n;
    for (size_t i = 1; i < arr->u.arr.len; i++) {
        double v = arr->u.arr.items[i]->u.n;
        if (want_max ? v > best : v < best)
            best = v;
    }
    return num(c, best);
}

static jn_val *fn_max(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    return extreme(c, ARG(0), true);
}

static jn_val *fn_min(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    return extreme(c, ARG(0), false);
}

static jn_val *fn_average(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *arr = ARG(0);
    if (!arr || arr->u.arr.len == 0)
        return NULL;
    double total = 0;
    for (size_t i = 0; i < arr->u.arr.len; i++)
        total += arr->u.arr.items[i]->u.n;
    return num(c, total / (double)arr->u.arr.len);
}

/* ---------------------------------------------------------------- strings */

static jn_val *fn_string(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *v = ARG(0);
    return v ? jn_stringify(c, v, ARG(1) && ARG(1)->u.b) : NULL;
}

/* Array.prototype.slice over code points. */
static jn_val *slice_cp(jn_ctx *c, const jn_val *s, double start, double end, bool has_end)
{
    double len = (double)jn_utf8_len(s->u.str.s, s->u.str.len);
    start = trunc(start);
    if (start < 0)
        start = fmax(len + start, 0);
    if (start > len)
        start = len;
    end = has_end ? trunc(end) : len;
    if (end < 0)
        end = fmax(len + end, 0);
    if (end > len)
        end = len;
    if (end <= start)
        return jn_str(c, "", 0);
    size_t from = jn_utf8_offset(s->u.str.s, s->u.str.len, (size_t)start);
    size_t to = jn_utf8_offset(s->u.str.s, s->u.str.len, (size_t)end);
    return jn_str(c, s->u.str.s + from, to - from);
}

static jn_val *fn_substring(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *s = ARG(0);
    if (!s)
        return NULL;
    double len = (double)jn_utf8_len(s->u.str.s, s->u.str.len);
    double start = ARG(1) ? ARG(1)->u.n : 0;
    if (len + start < 0)
        start = 0;
    if (ARG(2)) {
        double length = ARG(2)->u.n;
        if (length <= 0)
            return jn_str(c, "", 0);
        double end = start >= 0 ? start + length : len + start + length;
        return slice_cp(c, s, start, end, true);
    }
    return slice_cp(c, s, start, 0, false);
}

static const char *find_bytes(const char *h, size_t hn, const char *nd, size_t nn)
{
    if (nn == 0)
        return h;
    if (nn > hn)
        return NULL;
    return memmem(h, hn, nd, nn);
}

static jn_val *fn_substring_before(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *s = ARG(0), *chars = ARG(1);
    if (!s || !chars)
        return s;
    const char *p = find_bytes(s->u.str.s, s->u.str.len, chars->u.str.s, chars->u.str.len);
    return p ? jn_str(c, s->u.str.s, (size_t)(p - s->u.str.s)) : s;
}

static jn_val *fn_substring_after(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *s = ARG(0), *chars = ARG(1);
    if (!s || !chars)
        return s;
    const char *p = find_bytes(s->u.str.s, s->u.str.len, chars->u.str.s, chars->u.str.len);
    if (!p)
        return s;
    size_t off = (size_t)(p - s->u.str.s) + chars->u.str.len;
    return jn_str(c, s->u.str.s + off, s->u.str.len - off);
}

static jn_val *change_case(jn_ctx *c, jn_val *s, bool upper)
{
    if (!s)
        return NULL;
    jn_sb b;
    jn_sb_init(&b, c);
    for (size_t i = 0; i < s->u.str.len;) {
        uint32_t cp;
        i += jn_utf8_next(s->u.str.s + i, s->u.str.len - i, &cp);
        if (upper && cp == 0xdf) {
            jn_sb_add(&b, "SS", 2);
            continue;
        }
        jn_sb_addcp(&b, upper ? jn_fold_upper(cp) : jn_fold_lower(cp));
    }
    return jn_sb_val(&b);
}

static jn_val *fn_lowercase(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    return change_case(c, ARG(0), false);
}

static jn_val *fn_uppercase(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    return change_case(c, ARG(0), true);
}

static jn_val *fn_length(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *s = ARG(0);
    return s ? num(c, (double)jn_utf8_len(s->u.str.s, s->u.str.len)) : NULL;
}

static jn_val *fn_trim(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *s = ARG(0);
    if (!s)
        return NULL;
    jn_sb b;
    jn_sb_init(&b, c);
    bool in_space = false;
    for (size_t i = 0; i < s->u.str.len; i++) {
        char ch = s->u.str.s[i];
        if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
            if (!in_space)
                jn_sb_addc(&b, ' ');
            in_space = true;
        } else {
            jn_sb_addc(&b, ch);
            in_space = false;
        }
    }
    jn_val *r = jn_sb_val(&b);
    const char *p = r->u.str.s;
    size_t len = r->u.str.len;
    if (len && p[0] == ' ') {
        p++;
        len--;
    }
    if (len && p[len - 1] == ' ')
        len--;
    return jn_str(c, p, len);
}

static jn_val *fn_pad(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *s = ARG(0), *ch = ARG(2);
    if (!s || !ARG(1))
        return s;
    double width = ARG(1)->u.n;
    const char *pad = " ";
    size_t plen = 1;
    if (ch && ch->u.str.len > 0) {
        pad = ch->u.str.s;
        plen = ch->u.str.len;
    }
    double missing = fabs(width) - (double)jn_utf8_len(s->u.str.s, s->u.str.len);
    if (missing <= 0)
        return s;
    size_t count = missing > 1e10 ? (size_t)1e10 : (size_t)missing;
    jn_charge(c, count);
    jn_sb b;
    jn_sb_init(&b, c);
    size_t pad_cps = jn_utf8_len(pad, plen), done = 0;
    if (width > 0)
        jn_sb_add(&b, s->u.str.s, s->u.str.len);
    while (done < count) {
        size_t take = count - done < pad_cps ? count - done : pad_cps;
        jn_sb_add(&b, pad, jn_utf8_offset(pad, plen, take));
        done += take;
    }
    if (width <= 0)
        jn_sb_add(&b, s->u.str.s, s->u.str.len);
    return jn_sb_val(&b);
}

/* ---------------------------------------------------------------- regular expressions */

int jn_call_matcher(jn_ctx *c, jn_val *matcher, const char *s, size_t len, size_t from, jn_match *m,
                    const char *fname)
{
    if (!jn_is_func(matcher) || matcher->u.fn->kind != JN_F_REGEX) {
        jn_err d = {.token = fname};
        jn_throw(c, "T1010", -1, &d);
    }
    return jn_regex_exec(c, matcher->u.fn->re, s, len, from, m);
}

/* Successive matches as jsonata-js's matcher closures give them: after a match the
 * search resumes at its end; reaching the end stops; an empty match after the first
 * is error D1004 (it would never progress). */
typedef struct match_iter {
    jn_ctx *c;
    jn_val *matcher;
    const jn_val *str;
    const char *fname;
    bool first, done;
    jn_match m;
} match_iter;

static bool next_match(match_iter *it)
{
    if (it->done)
        return false;
    const char *s = it->str->u.str.s;
    size_t len = it->str->u.str.len;
    if (it->first) {
        it->first = false;
        if (!jn_call_matcher(it->c, it->matcher, s, len, 0, &it->m, it->fname))
            return !(it->done = true);
        return true;
    }
    if (it->m.end >= len)
        return !(it->done = true);
    if (!jn_call_matcher(it->c, it->matcher, s, len, it->m.end, &it->m, it->fname))
        return !(it->done = true);
    if (it->m.end == it->m.start)
        jn_fail(it->c, "D1004", -1);
    return true;
}

static jn_val *match_groups(jn_ctx *c, const char *s, const jn_match *m)
{
    jn_val *groups = jn_arr(c, (size_t)m->ngroups);
    for (int g = 0; g < m->ngroups; g++) {
        long from = m->groups[2 * g], to = m->groups[2 * g + 1];
        jn_push(c, groups, from < 0 || to < 0 ? NULL : jn_str(c, s + from, (size_t)(to - from)));
    }
    return groups;
}

static jn_val *fn_contains(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *s = ARG(0), *token = ARG(1);
    if (!s)
        return NULL;
    if (jn_is_str(token))
        return jn_bool(find_bytes(s->u.str.s, s->u.str.len, token->u.str.s, token->u.str.len));
    jn_match m;
    return jn_bool(jn_call_matcher(c, token, s->u.str.s, s->u.str.len, 0, &m, "contains"));
}

static jn_val *fn_match(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *s = ARG(0), *limit = ARG(2);
    if (!s)
        return NULL;
    if (limit && limit->u.n < 0)
        fail_arg(c, "D3040", "match", limit, 3);
    jn_val *result = jn_seq(c);
    if (limit && limit->u.n == 0)
        return result;
    match_iter it = {c, ARG(1), s, "match", true, false, {0}};
    double count = 0;
    while ((!limit || count < limit->u.n) && next_match(&it)) {
        jn_val *o = jn_obj_new(c);
        jn_obj_set(c, o, "match", 5, jn_str(c, s->u.str.s + it.m.start, it.m.end - it.m.start));
        jn_obj_set(c, o, "index", 5, num(c, (double)jn_utf8_len(s->u.str.s, it.m.start)));
        jn_obj_set(c, o, "groups", 6, match_groups(c, s->u.str.s, &it.m));
        jn_push(c, result, o);
        count++;
    }
    return result;
}

/* The replacement text for one match: $0, $1..$n, $$ as jsonata-js reads them. */
static void substitute(jn_sb *b, const jn_val *repl, const char *s, const jn_match *m)
{
    const char *r = repl->u.str.s;
    size_t rn = repl->u.str.len, pos = 0;
    int ng = m->ngroups;
    while (pos < rn) {
        const char *dollar = memchr(r + pos, '$', rn - pos);
        if (!dollar)
            break;
        size_t at = (size_t)(dollar - r);
        jn_sb_add(b, r + pos, at - pos);
        pos = at + 1;
        char next = pos < rn ? r[pos] : '\0';
        if (next == '$') {
            jn_sb_addc(b, '$');
            pos++;
        } else if (next == '0') {
            jn_sb_add(b, s + m->start, m->end - m->start);
            pos++;
        } else {
            int max_digits = ng == 0 ? 1 : (int)floor(log10((double)ng)) + 1;
            int digits = 0, index = 0;
            while (digits < max_digits && pos + (size_t)digits < rn &&
                   r[pos + (size_t)digits] >= '0' && r[pos + (size_t)digits] <= '9') {
                index = index * 10 + (r[pos + (size_t)digits] - '0');
                digits++;
            }
            if (max_digits > 1 && digits == max_digits && index > ng) {
                index /= 10;
                digits--;
            }
            if (digits == 0) {
                jn_sb_addc(b, '$');
                continue;
            }
            if (ng > 0 && index >= 1 && index <= ng) {
                long from = m->groups[2 * (index - 1)], to = m->groups[2 * (index - 1) + 1];
                if (from >= 0 && to >= 0)
                    jn_sb_add(b, s + from, (size_t)(to - from));
            }
            char tmp[16];
            pos += (size_t)snprintf(tmp, sizeof tmp, "%d", index);
        }
    }
    jn_sb_add(b, r + pos, rn - pos);
}

static jn_val *fn_replace(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *s = ARG(0), *pattern = ARG(1), *repl = ARG(2), *limit = ARG(3);
    if (!s)
        return NULL;
    if (jn_is_str(pattern) && pattern->u.str.len == 0)
        fail_arg(c, "D3010", "replace", pattern, 2);
    if (limit && limit->u.n < 0)
        fail_arg(c, "D3011", "replace", limit, 4);
    if (limit && limit->u.n == 0)
        return s;
    jn_sb b;
    jn_sb_init(&b, c);
    double count = 0;
    size_t pos = 0;
    if (jn_is_str(pattern)) {
        const char *p;
        while ((!limit || count < limit->u.n) &&
               (p = find_bytes(s->u.str.s + pos, s->u.str.len - pos, pattern->u.str.s,
                               pattern->u.str.len))) {
            size_t at = (size_t)(p - s->u.str.s);
            jn_sb_add(&b, s->u.str.s + pos, at - pos);
            if (jn_is_str(repl))
                jn_sb_add(&b, repl->u.str.s, repl->u.str.len);
            pos = at + pattern->u.str.len;
            count++;
        }
        jn_sb_add(&b, s->u.str.s + pos, s->u.str.len - pos);
        return jn_sb_val(&b);
    }
    match_iter it = {c, pattern, s, "replace", true, false, {0}};
    bool any = false;
    while ((!limit || count < limit->u.n) && next_match(&it)) {
        any = true;
        jn_sb_add(&b, s->u.str.s + pos, it.m.start - pos);
        if (jn_is_str(repl)) {
            substitute(&b, repl, s->u.str.s, &it.m);
        } else {
            jn_val *o = jn_obj_new(c);
            jn_obj_set(c, o, "match", 5, jn_str(c, s->u.str.s + it.m.start, it.m.end - it.m.start));
            jn_obj_set(c, o, "start", 5, num(c, (double)jn_utf8_len(s->u.str.s, it.m.start)));
            jn_obj_set(c, o, "end", 3, num(c, (double)jn_utf8_len(s->u.str.s, it.m.end)));
            jn_obj_set(c, o, "groups", 6, match_groups(c, s->u.str.s, &it.m));
            jn_val *r = jn_apply(c, repl, &o, 1, NULL, -1);
            if (!jn_is_str(r))
                fail_arg(c, "D3012", "replace", r, 3);
            jn_sb_add(&b, r->u.str.s, r->u.str.len);
        }
        pos = it.m.end;
        count++;
    }
    if (!any)
        return s;
    jn_sb_add(&b, s->u.str.s + pos, s->u.str.len - pos);
    return jn_sb_val(&b);
}

static jn_val *fn_split(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *s = ARG(0), *sep = ARG(1), *limit = ARG(2);
    if (!s)
        return NULL;
    if (limit && limit->u.n < 0)
        fail_arg(c, "D3020", "split", limit, 3);
    jn_val *result = jn_arr(c, 0);
    if (limit && limit->u.n == 0)
        return result;
    double max = limit ? limit->u.n : 1e18;
    const char *str = s->u.str.s;
    size_t len = s->u.str.len;
    if (jn_is_str(sep)) {
        if (sep->u.str.len == 0) {
            for (size_t i = 0; i < len && (double)result->u.arr.len < max;) {
                uint32_t cp;
                size_t w = jn_utf8_next(str + i, len - i, &cp);
                jn_push(c, result, jn_str(c, str + i, w));
                i += w;
            }
            return result;
        }
        size_t pos = 0;
        for (;;) {
            if ((double)result->u.arr.len >= max)
                break;
            const char *p = find_bytes(str + pos, len - pos, sep->u.str.s, sep->u.str.len);
            if (!p) {
                jn_push(c, result, jn_str(c, str + pos, len - pos));
                break;
            }
            jn_push(c, result, jn_str(c, str + pos, (size_t)(p - (str + pos))));
            pos = (size_t)(p - str) + sep->u.str.len;
        }
        return result;
    }
    match_iter it = {c, sep, s, "split", true, false, {0}};
    size_t start = 0;
    double count = 0;
    bool any = false;
    while (count < max && next_match(&it)) {
        any = true;
        jn_push(c, result, jn_str(c, str + start, it.m.start - start));
        start = it.m.end;
        count++;
    }
    if (!any || count < max)
        jn_push(c, result, jn_str(c, str + start, len - start));
    return result;
}

static jn_val *fn_join(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *arr = ARG(0), *sep = ARG(1);
    if (!arr)
        return NULL;
    jn_sb b;
    jn_sb_init(&b, c);
    for (size_t i = 0; i < arr->u.arr.len; i++) {
        if (i && sep)
            jn_sb_add(&b, sep->u.str.s, sep->u.str.len);
        jn_val *s = arr->u.arr.items[i];
        jn_sb_add(&b, s->u.str.s, s->u.str.len);
    }
    return jn_sb_val(&b);
}

/* ---------------------------------------------------------------- encodings */

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static jn_val *fn_base64encode(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *s = ARG(0);
    if (!s)
        return NULL;
    const unsigned char *p = (const unsigned char *)s->u.str.s;
    size_t len = s->u.str.len;
    jn_sb b;
    jn_sb_init(&b, c);
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < len)
            v |= p[i + 2];
        char out[4] = {B64[v >> 18], B64[(v >> 12) & 63], i + 1 < len ? B64[(v >> 6) & 63] : '=',
                       i + 2 < len ? B64[v & 63] : '='};
        jn_sb_add(&b, out, 4);
    }
    return jn_sb_val(&b);
}

static bool valid_utf8(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        if ((unsigned char)s[i] < 0x80) {
            i++;
            continue;
        }
        size_t w = jn_utf8_next(s + i, n - i, &cp);
        if (w == 1 || (w == 2 && cp < 0x80) ||
            (w == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (w == 4 && (cp < 0x10000 || cp > 0x10ffff)))
            return false;
        i += w;
    }
    return true;
}

/* Node's Buffer.from(s, 'base64') is lenient: other characters are skipped, padding is
 * optional. The bytes are read as UTF-8, or as Latin-1 when they are not UTF-8. */
static jn_val *fn_base64decode(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *s = ARG(0);
    if (!s)
        return NULL;
    char *bytes = jn_alloc(c, s->u.str.len + 1);
    size_t nb = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < s->u.str.len; i++) {
        char ch = s->u.str.s[i];
        if (ch == '=')
            break;
        const char *p = ch ? strchr(B64, ch) : NULL;
        if (!p && (ch == '-' || ch == '_'))
            p = strchr(B64, ch == '-' ? '+' : '/');
        if (!p)
            continue;
        acc = acc << 6 | (uint32_t)(p - B64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            bytes[nb++] = (char)((acc >> bits) & 0xff);
        }
    }
    if (valid_utf8(bytes, nb))
        return jn_str_take(c, bytes, nb);
    jn_sb b;
    jn_sb_init(&b, c);
    for (size_t i = 0; i < nb; i++)
        jn_sb_addcp(&b, (unsigned char)bytes[i]);
    return jn_sb_val(&b);
}

static jn_val *url_encode(jn_ctx *c, jn_val *s, const char *keep, const char *fname)
{
    if (!s)
        return NULL;
    if (!valid_utf8(s->u.str.s, s->u.str.len))
        fail_arg(c, "D3140", fname, s, 1);
    jn_sb b;
    jn_sb_init(&b, c);
    for (size_t i = 0; i < s->u.str.len; i++) {
        unsigned char ch = (unsigned char)s->u.str.s[i];
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            (ch && strchr(keep, ch))) {
            jn_sb_addc(&b, (char)ch);
        } else {
            char esc[4];
            snprintf(esc, sizeof esc, "%%%02X", ch);
            jn_sb_add(&b, esc, 3);
        }
    }
    return jn_sb_val(&b);
}

static jn_val *fn_encode_url_component(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    return url_encode(c, ARG(0), "-_.!~*'()", "encodeUrlComponent");
}

static jn_val *fn_encode_url(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    return url_encode(c, ARG(0), "-_.!~*'();,/?:@&=+$#", "encodeUrl");
}

static int hexdig(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if ((ch | 32) >= 'a' && (ch | 32) <= 'f')
        return (ch | 32) - 'a' + 10;
    return -1;
}

/* decodeURIComponent / decodeURI: %XX sequences must spell UTF-8; decodeURI leaves the
 * escapes of reserved characters as they are. */
static jn_val *url_decode(jn_ctx *c, jn_val *s, const char *reserved, const char *fname)
{
    if (!s)
        return NULL;
    const char *p = s->u.str.s;
    size_t len = s->u.str.len;
    jn_sb b;
    jn_sb_init(&b, c);
    for (size_t i = 0; i < len;) {
        if (p[i] != '%') {
            jn_sb_addc(&b, p[i++]);
            continue;
        }
        unsigned char bytes[4];
        size_t nbytes = 0, total = 0, start = i;
        do {
            if (i + 2 >= len || hexdig(p[i + 1]) < 0 || hexdig(p[i + 2]) < 0)
                fail_arg(c, "D3140", fname, s, 1);
            unsigned char byte = (unsigned char)(hexdig(p[i + 1]) * 16 + hexdig(p[i + 2]));
            if (nbytes == 0) {
                total = byte < 0x80    ? 1
                        : byte >= 0xf8 ? 0
                        : byte >= 0xf0 ? 4
                        : byte >= 0xe0 ? 3
                        : byte >= 0xc2 ? 2
                                       : 0;
                if (!total)
                    fail_arg(c, "D3140", fname, s, 1);
            } else if ((byte & 0xc0) != 0x80) {
                fail_arg(c, "D3140", fname, s, 1);
            }
            bytes[nbytes++] = byte;
            i += 3;
            if (nbytes < total && (i >= len || p[i] != '%'))
                fail_arg(c, "D3140", fname, s, 1);
        } while (nbytes < total);
        if (!valid_utf8((const char *)bytes, nbytes))
            fail_arg(c, "D3140", fname, s, 1);
        if (nbytes == 1 && reserved && bytes[0] && strchr(reserved, bytes[0]))
            jn_sb_add(&b, p + start, 3);
        else
            jn_sb_add(&b, (const char *)bytes, nbytes);
    }
    return jn_sb_val(&b);
}

static jn_val *fn_decode_url_component(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    return url_decode(c, ARG(0), NULL, "decodeUrlComponent");
}

static jn_val *fn_decode_url(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    return url_decode(c, ARG(0), ";/?:@&=+$,#", "decodeUrl");
}

/* ---------------------------------------------------------------- numbers */

static bool is_decimal_text(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && s[i] == '-')
        i++;
    size_t d = i;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    if (i == d)
        return false;
    if (i < n && s[i] == '.') {
        size_t f = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == f)
            return false;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t e = i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == e)
            return false;
    }
    return i == n;
}

/* 0x.., 0o.., 0b.. */
static bool radix_number(const char *s, size_t n, double *out)
{
    if (n < 3 || s[0] != '0')
        return false;
    int base = (s[1] | 32) == 'x' ? 16 : (s[1] | 32) == 'o' ? 8 : (s[1] | 32) == 'b' ? 2 : 0;
    if (!base)
        return false;
    double v = 0;
    for (size_t i = 2; i < n; i++) {
        int d = hexdig(s[i]);
        if (d < 0 || d >= base)
            return false;
        v = v * base + d;
    }
    *out = v;
    return true;
}

static jn_val *fn_number(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *v = ARG(0);
    if (!v)
        return NULL;
    if (v->kind == JN_NUM)
        return v;
    if (v->kind == JN_BOOL)
        return num(c, v->u.b ? 1 : 0);
    if (v->kind == JN_STR) {
        double d;
        if (is_decimal_text(v->u.str.s, v->u.str.len)) {
            char *text = jn_alloc(c, v->u.str.len + 1);
            memcpy(text, v->u.str.s, v->u.str.len);
            d = strtod(text, NULL);
            if (isfinite(d))
                return num(c, d);
        } else if (radix_number(v->u.str.s, v->u.str.len, &d) && isfinite(d)) {
            return num(c, d);
        }
    }
    fail_arg(c, "D3030", "number", v, 1);
}

static jn_val *fn_abs(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    return ARG(0) ? num(c, fabs(ARG(0)->u.n)) : NULL;
}

static jn_val *fn_floor(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    return ARG(0) ? num(c, floor(ARG(0)->u.n)) : NULL;
}

static jn_val *fn_ceil(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    return ARG(0) ? num(c, ceil(ARG(0)->u.n)) : NULL;
}

/* Moves the decimal point by `shift` places through the text form, as jsonata-js does
 * to avoid binary rounding errors. */
static double shift_decimal(double v, int shift)
{
    char buf[48], out[64];
    jn_format_double(v, buf);
    char *e = strchr(buf, 'e');
    int exp = 0;
    if (e) {
        exp = atoi(e + 1);
        *e = '\0';
    }
    snprintf(out, sizeof out, "%se%d", buf, exp + shift);
    return strtod(out, NULL);
}

double jn_round_half_even(double v, int precision)
{
    if (precision)
        v = shift_decimal(v, precision);
    double r = floor(v + 0.5); /* Math.round */
    double diff = r - v;
    if (fabs(diff) == 0.5 && fabs(fmod(r, 2)) == 1)
        r -= 1;
    if (precision)
        r = shift_decimal(r, -precision);
    return r == 0 ? 0 : r;
}

static jn_val *fn_round(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    if (!ARG(0))
        return NULL;
    double p = ARG(1) ? ARG(1)->u.n : 0;
    int precision = p > 400 ? 400 : p < -400 ? -400 : (int)p;
    return num(c, jn_round_half_even(ARG(0)->u.n, precision));
}

static jn_val *fn_sqrt(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    if (!ARG(0))
        return NULL;
    if (ARG(0)->u.n < 0)
        fail_arg(c, "D3060", "sqrt", ARG(0), 1);
    return num(c, sqrt(ARG(0)->u.n));
}

static jn_val *fn_power(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    if (!ARG(0))
        return NULL;
    double r = ARG(1) ? pow(ARG(0)->u.n, ARG(1)->u.n) : NAN;
    if (!isfinite(r)) {
        jn_err d = {.token = "power",
                    .value = ARG(0),
                    .has_value = true,
                    .value2 = ARG(1),
                    .has_value2 = true};
        jn_throw(c, "D3061", -1, &d);
    }
    return num(c, r);
}

static uint64_t splitmix(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double unit_random(uint64_t *state)
{
    return (double)(splitmix(state) >> 11) / 9007199254740992.0;
}

/* $random() as JSONata has it; $random(seed) as Step Functions adds it: the same seed
 * always gives the same number. */
static jn_val *fn_random(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    if (ARG(0)) {
        double seed = ARG(0)->u.n;
        uint64_t bits;
        memcpy(&bits, &seed, sizeof bits);
        uint64_t state = bits;
        return num(c, unit_random(&state));
    }
    return num(c, unit_random(&c->rng));
}

/* ---------------------------------------------------------------- booleans */

static jn_val *fn_boolean(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    return ARG(0) ? jn_bool(jn_truthy(ARG(0))) : NULL;
}

static jn_val *fn_not(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    return ARG(0) ? jn_bool(!jn_truthy(ARG(0))) : NULL;
}

static jn_val *fn_exists(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    return jn_bool(ARG(0) != NULL);
}

/* ---------------------------------------------------------------- higher-order functions */

/* Calls f with (value, index, array) cut to the arguments f takes (hofFuncArgs). */
static jn_val *call_hof(jn_ctx *c, jn_val *f, jn_val *v, jn_val *key, jn_val *whole)
{
    jn_val *args[3] = {v, key, whole};
    int arity = jn_func_arity(f);
    int n = arity >= 3 ? 3 : arity >= 2 ? 2 : 1;
    return jn_apply(c, f, args, n, NULL, -1);
}

static jn_val *fn_map(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *arr = ARG(0), *f = ARG(1);
    if (!arr)
        return NULL;
    jn_val *result = jn_seq(c);
    for (size_t i = 0; i < arr->u.arr.len; i++) {
        jn_val *r = call_hof(c, f, arr->u.arr.items[i], num(c, (double)i), arr);
        if (r)
            jn_push(c, result, r);
    }
    return result;
}

static jn_val *fn_filter(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *arr = ARG(0), *f = ARG(1);
    if (!arr)
        return NULL;
    jn_val *result = jn_seq(c);
    for (size_t i = 0; i < arr->u.arr.len; i++)
        if (jn_truthy(call_hof(c, f, arr->u.arr.items[i], num(c, (double)i), arr)))
            jn_push(c, result, arr->u.arr.items[i]);
    return result;
}

static jn_val *fn_single(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *arr = ARG(0), *f = ARG(1);
    if (!arr)
        return NULL;
    jn_val *found = NULL;
    bool any = false;
    for (size_t i = 0; i < arr->u.arr.len; i++) {
        jn_val *entry = arr->u.arr.items[i];
        bool ok = !f || jn_truthy(call_hof(c, f, entry, num(c, (double)i), arr));
        if (!ok)
            continue;
        if (any)
            jn_fail(c, "D3138", -1);
        found = entry;
        any = true;
    }
    if (!any)
        jn_fail(c, "D3139", -1);
    return found;
}

static jn_val *fn_reduce(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *arr = ARG(0), *f = ARG(1), *init = ARG(2);
    if (!arr)
        return NULL;
    int arity = jn_func_arity(f);
    if (arity < 2)
        jn_fail(c, "D3050", -1);
    size_t i = 0;
    jn_val *acc = init;
    if (!init && arr->u.arr.len > 0) {
        acc = arr->u.arr.items[0];
        i = 1;
    }
    for (; i < arr->u.arr.len; i++) {
        jn_val *args[4] = {acc, arr->u.arr.items[i], num(c, (double)i), arr};
        acc = jn_apply(c, f, args, arity >= 4 ? 4 : arity >= 3 ? 3 : 2, NULL, -1);
    }
    return acc;
}

static jn_val *fn_sift(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *o = ARG(0), *f = ARG(1);
    if (!jn_is_obj(o) || !f)
        return NULL;
    jn_val *result = jn_obj_new(c);
    for (size_t i = 0; i < o->u.obj->len; i++) {
        jn_val *key = jn_str(c, o->u.obj->keys[i], o->u.obj->klens[i]);
        if (jn_truthy(call_hof(c, f, o->u.obj->vals[i], key, o)))
            jn_obj_set(c, result, o->u.obj->keys[i], o->u.obj->klens[i], o->u.obj->vals[i]);
    }
    return result->u.obj->len ? result : NULL;
}

static jn_val *fn_each(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *o = ARG(0), *f = ARG(1);
    jn_val *result = jn_seq(c);
    if (!jn_is_obj(o))
        return result;
    for (size_t i = 0; i < o->u.obj->len; i++) {
        jn_val *key = jn_str(c, o->u.obj->keys[i], o->u.obj->klens[i]);
        jn_val *r = call_hof(c, f, o->u.obj->vals[i], key, o);
        if (r)
            jn_push(c, result, r);
    }
    return result;
}

static jn_val *fn_zip(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    size_t len = (size_t)-1;
    for (int i = 0; i < n; i++) {
        size_t l = jn_is_arr(a[i]) ? a[i]->u.arr.len : 0;
        if (l < len)
            len = l;
    }
    if (n == 0)
        len = 0;
    jn_val *result = jn_arr(c, len);
    for (size_t k = 0; k < len; k++) {
        jn_val *tuple = jn_arr(c, (size_t)n);
        for (int i = 0; i < n; i++)
            jn_push(c, tuple, a[i]->u.arr.items[k]);
        jn_push(c, result, tuple);
    }
    return result;
}

/* JavaScript truthiness, for $sort's comparator result. */
static bool js_truthy(const jn_val *v)
{
    if (!v || v->kind == JN_NULL)
        return false;
    if (v->kind == JN_BOOL)
        return v->u.b;
    if (v->kind == JN_NUM)
        return v->u.n != 0;
    if (v->kind == JN_STR)
        return v->u.str.len > 0;
    return true;
}

typedef struct user_sort {
    jn_ctx *c;
    jn_val *f;
} user_sort;

static bool user_swap(void *ud, jn_val *x, jn_val *y)
{
    user_sort *u = ud;
    jn_val *args[2] = {x, y};
    return js_truthy(jn_apply(u->c, u->f, args, 2, NULL, -1));
}

static bool default_swap(void *ud, jn_val *x, jn_val *y)
{
    if (x->kind == JN_NUM)
        return x->u.n > y->u.n;
    size_t n = x->u.str.len < y->u.str.len ? x->u.str.len : y->u.str.len;
    int r = memcmp(x->u.str.s, y->u.str.s, n);
    return r > 0 || (r == 0 && x->u.str.len > y->u.str.len);
}

static jn_val *fn_sort(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *arr = ARG(0), *f = ARG(1);
    if (!arr)
        return NULL;
    if (arr->u.arr.len <= 1)
        return arr;
    if (!f) {
        if (!jn_is_array_of_numbers(arr) && !jn_is_array_of_strings(arr))
            jn_fail(c, "D3070", -1);
        return jn_sort_values(c, arr, default_swap, NULL);
    }
    user_sort u = {c, f};
    return jn_sort_values(c, arr, user_swap, &u);
}

static jn_val *fn_shuffle(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *arr = ARG(0);
    if (!arr)
        return NULL;
    if (arr->u.arr.len <= 1)
        return arr;
    size_t len = arr->u.arr.len;
    jn_val *r = jn_arr(c, len);
    for (size_t i = 0; i < len; i++) {
        size_t j = (size_t)(unit_random(&c->rng) * (double)(i + 1));
        if (i != j)
            r->u.arr.items[i] = r->u.arr.items[j];
        r->u.arr.items[j] = arr->u.arr.items[i];
    }
    r->u.arr.len = len;
    r->depth = arr->depth;
    return r;
}

static jn_val *fn_distinct(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *arr = ARG(0);
    if (!arr)
        return NULL;
    if (!jn_is_arr(arr) || arr->u.arr.len <= 1)
        return arr;
    jn_val *result = jn_is_seq(arr) ? jn_seq(c) : jn_arr(c, 0);
    for (size_t i = 0; i < arr->u.arr.len; i++) {
        jn_val *v = arr->u.arr.items[i];
        bool seen = false;
        for (size_t k = 0; k < result->u.arr.len && !seen; k++)
            seen = jn_deep_equal(c, v, result->u.arr.items[k]);
        if (!seen)
            jn_push(c, result, v);
    }
    return result;
}

static jn_val *fn_reverse(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *arr = ARG(0);
    if (!arr)
        return NULL;
    if (arr->u.arr.len <= 1)
        return arr;
    size_t len = arr->u.arr.len;
    jn_val *r = jn_arr(c, len);
    for (size_t i = 0; i < len; i++)
        r->u.arr.items[len - 1 - i] = arr->u.arr.items[i];
    r->u.arr.len = len;
    r->depth = arr->depth;
    return r;
}

static jn_val *fn_append(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    return jn_append(c, ARG(0), ARG(1));
}

/* ---------------------------------------------------------------- objects */

static void collect_keys(jn_ctx *c, jn_val *v, jn_val *seen, jn_val *out, int depth)
{
    jn_check_value_depth(c, depth);
    if (jn_is_arr(v)) {
        for (size_t i = 0; i < v->u.arr.len; i++)
            collect_keys(c, v->u.arr.items[i], seen, out, depth + 1);
        return;
    }
    if (!jn_is_obj(v))
        return;
    for (size_t i = 0; i < v->u.obj->len; i++) {
        const char *k = v->u.obj->keys[i];
        size_t kl = v->u.obj->klens[i];
        if (jn_obj_has(seen, k, kl))
            continue;
        jn_obj_set(c, seen, k, kl, &jn_true_val);
        jn_push(c, out, jn_str(c, k, kl));
    }
}

static jn_val *fn_keys(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *out = jn_seq(c);
    collect_keys(c, ARG(0), jn_obj_new(c), out, 0);
    return out;
}

static jn_val *lookup_in(jn_ctx *c, jn_val *input, const char *k, size_t kl)
{
    if (jn_is_arr(input)) {
        jn_val *r = jn_seq(c);
        for (size_t i = 0; i < input->u.arr.len; i++) {
            jn_val *res = lookup_in(c, input->u.arr.items[i], k, kl);
            if (jn_is_arr(res))
                for (size_t j = 0; j < res->u.arr.len; j++)
                    jn_push(c, r, res->u.arr.items[j]);
            else if (res)
                jn_push(c, r, res);
        }
        return r;
    }
    return jn_obj_get(input, k, kl);
}

static jn_val *fn_lookup(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    if (!ARG(1))
        return NULL;
    return lookup_in(c, ARG(0), ARG(1)->u.str.s, ARG(1)->u.str.len);
}

static jn_val *spread(jn_ctx *c, jn_val *v)
{
    if (jn_is_arr(v)) {
        jn_val *r = jn_seq(c);
        for (size_t i = 0; i < v->u.arr.len; i++)
            r = jn_append(c, r, spread(c, v->u.arr.items[i]));
        return r;
    }
    if (jn_is_obj(v)) {
        jn_val *r = jn_seq(c);
        for (size_t i = 0; i < v->u.obj->len; i++) {
            jn_val *o = jn_obj_new(c);
            jn_obj_set(c, o, v->u.obj->keys[i], v->u.obj->klens[i], v->u.obj->vals[i]);
            jn_push(c, r, o);
        }
        return r;
    }
    return v;
}

static jn_val *fn_spread(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    return spread(c, ARG(0));
}

static jn_val *fn_merge(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *arr = ARG(0);
    if (!arr)
        return NULL;
    jn_val *r = jn_obj_new(c);
    for (size_t i = 0; i < arr->u.arr.len; i++) {
        jn_val *o = arr->u.arr.items[i];
        if (jn_is_obj(o))
            for (size_t k = 0; k < o->u.obj->len; k++)
                jn_obj_set(c, r, o->u.obj->keys[k], o->u.obj->klens[k], o->u.obj->vals[k]);
    }
    return r;
}

static jn_val *fn_error(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *m = ARG(0);
    char *msg = "$error() function evaluated";
    if (m && m->u.str.len) {
        msg = jn_alloc(c, m->u.str.len + 1);
        memcpy(msg, m->u.str.s, m->u.str.len);
    }
    jn_err d = {.message = msg};
    jn_throw(c, "D3137", -1, &d);
}

static jn_val *fn_assert(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *cond = ARG(0), *m = ARG(1);
    if (cond && cond->u.b)
        return NULL;
    char *msg = "$assert() statement failed";
    if (m && m->u.str.len) {
        msg = jn_alloc(c, m->u.str.len + 1);
        memcpy(msg, m->u.str.s, m->u.str.len);
    }
    jn_err d = {.message = msg};
    jn_throw(c, "D3141", -1, &d);
}

static jn_val *fn_type(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *v = ARG(0);
    if (!v)
        return NULL;
    static const char *const NAMES[] = {"null",  "boolean", "number",  "string",
                                        "array", "object",  "function"};
    return jn_str0(c, NAMES[v->kind]);
}

static jn_val *fn_clone(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    return jn_deep_copy(c, ARG(0));
}

/* ---------------------------------------------------------------- $eval */

jn_val *jn_eval_text(jn_ctx *c, const char *text, size_t len, jn_val *focus)
{
    char *src = jn_alloc(c, len + 1);
    memcpy(src, text, len);
    char msg[512];
    jn_node *tree = jn_parse(src, &c->arena, msg, sizeof msg);
    if (!tree) {
        jn_val *m = jn_str0(c, msg);
        jn_fail_value(c, "D3120", -1, m);
    }
    jmp_buf outer;
    memcpy(&outer, &c->fail, sizeof outer);
    int depth = c->depth;
    jn_frame *env = c->env ? c->env : c->global;
    jn_val *r = NULL;
    if (setjmp(c->fail) == 0) {
        r = jn_eval(c, tree, focus, env);
        memcpy(&c->fail, &outer, sizeof outer);
        return r;
    }
    memcpy(&c->fail, &outer, sizeof outer);
    c->depth = depth;
    if (strncmp(c->err, "U1001", 5) == 0) /* limits are not the expression's error */
        longjmp(c->fail, 1);
    jn_val *m = jn_str0(c, c->err);
    jn_fail_value(c, "D3121", -1, m);
}

static jn_val *fn_eval(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *s = ARG(0);
    if (!s)
        return NULL;
    jn_val *input = focus;
    if (n > 1 && a[1]) {
        input = a[1];
        if (jn_is_arr(input) && !jn_is_seq(input)) {
            jn_val *wrap = jn_seq(c);
            jn_push(c, wrap, input);
            wrap->flags |= JN_OUTER;
            input = wrap;
        }
    }
    return jn_eval_text(c, s->u.str.s, s->u.str.len, input);
}

/* ---------------------------------------------------------------- Step Functions */

static jn_val *fn_partition(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *arr = ARG(0), *size = ARG(1);
    if (!arr)
        return NULL;
    double k = size ? size->u.n : 0;
    if (k < 1 || k != floor(k))
        fail_arg(c, "D3150", "partition", size, 2);
    jn_val *result = jn_arr(c, 0);
    size_t chunk = k > 1e9 ? (size_t)1e9 : (size_t)k;
    for (size_t i = 0; i < arr->u.arr.len; i += chunk) {
        size_t m = arr->u.arr.len - i < chunk ? arr->u.arr.len - i : chunk;
        jn_val *part = jn_arr(c, m);
        memcpy(part->u.arr.items, arr->u.arr.items + i, m * sizeof(jn_val *));
        part->u.arr.len = m;
        jn_arr_depth(c, part);
        jn_push(c, result, part);
    }
    return result;
}

static jn_val *fn_range(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *start = ARG(0), *end = ARG(1), *step = ARG(2);
    if (!start || !end)
        return NULL;
    double s = start->u.n, e = end->u.n, st = step ? step->u.n : 1;
    if (st == 0)
        fail_arg(c, "D3150", "range", step, 3);
    double count = floor((e - s) / st) + 1;
    if (count < 0)
        count = 0;
    if (count > 1e7)
        fail_arg(c, "D2014", "range", num(c, count), 1);
    jn_charge(c, (uint64_t)count);
    jn_val *result = jn_arr(c, (size_t)count);
    for (size_t i = 0; i < (size_t)count; i++)
        jn_push(c, result, num(c, s + st * (double)i));
    return result;
}

static jn_val *fn_hash(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *data = ARG(0), *alg = ARG(1);
    if (!data)
        return NULL;
    static const struct {
        const char *name;
        const EVP_MD *(*md)(void);
    } ALGS[] = {{"MD5", EVP_md5},
                {"SHA-1", EVP_sha1},
                {"SHA-256", EVP_sha256},
                {"SHA-384", EVP_sha384},
                {"SHA-512", EVP_sha512}};
    const char *name = "SHA-256";
    size_t nlen = 7;
    if (alg) {
        name = alg->u.str.s;
        nlen = alg->u.str.len;
    }
    for (size_t k = 0; k < sizeof ALGS / sizeof ALGS[0]; k++) {
        if (strlen(ALGS[k].name) != nlen || memcmp(ALGS[k].name, name, nlen) != 0)
            continue;
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        EVP_Digest(data->u.str.s, data->u.str.len, md, &mdlen, ALGS[k].md(), NULL);
        char *hex = jn_alloc(c, 2 * mdlen + 1);
        for (unsigned int i = 0; i < mdlen; i++)
            snprintf(hex + 2 * i, 3, "%02x", md[i]);
        return jn_str_take(c, hex, 2 * mdlen);
    }
    fail_arg(c, "D3150", "hash", alg, 2);
}

static jn_val *fn_uuid(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    char id[37];
    ids_uuid4(id);
    return jn_str(c, id, 36);
}

static jn_val *fn_parse(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    jn_val *s = ARG(0);
    if (!s)
        return NULL;
    json_error_t je;
    json_t *j = json_loadb(s->u.str.s, s->u.str.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (!j)
        fail_arg(c, "D3151", "parse", s, 1);
    jn_val *v = NULL;
    jmp_buf outer;
    memcpy(&outer, &c->fail, sizeof outer);
    if (setjmp(c->fail) == 0) {
        v = jn_from_json(c, j);
        memcpy(&c->fail, &outer, sizeof outer);
        json_decref(j);
        return v;
    }
    memcpy(&c->fail, &outer, sizeof outer);
    json_decref(j);
    longjmp(c->fail, 1);
}

static jn_val *fn_millis(jn_ctx *c, jn_val **a, int n, jn_val *focus)
{
    return num(c, c->now_ms);
}

/* ---------------------------------------------------------------- the table */

static const jn_builtin BUILTINS[] = {
    {"sum", "<a<n>:n>", fn_sum, 1},
    {"count", "<a:n>", fn_count, 1},
    {"max", "<a<n>:n>", fn_max, 1},
    {"min", "<a<n>:n>", fn_min, 1},
    {"average", "<a<n>:n>", fn_average, 1},
    {"string", "<x-b?:s>", fn_string, 1},
    {"substring", "<s-nn?:s>", fn_substring, 3},
    {"substringBefore", "<s-s:s>", fn_substring_before, 2},
    {"substringAfter", "<s-s:s>", fn_substring_after, 2},
    {"lowercase", "<s-:s>", fn_lowercase, 1},
    {"uppercase", "<s-:s>", fn_uppercase, 1},
    {"length", "<s-:n>", fn_length, 1},
    {"trim", "<s-:s>", fn_trim, 1},
    {"pad", "<s-ns?:s>", fn_pad, 3},
    {"match", "<s-f<s:o>n?:a<o>>", fn_match, 3},
    {"contains", "<s-(sf):b>", fn_contains, 2},
    {"replace", "<s-(sf)(sf)n?:s>", fn_replace, 4},
    {"split", "<s-(sf)n?:a<s>>", fn_split, 3},
    {"join", "<a<s>s?:s>", fn_join, 2},
    {"formatNumber", "<n-so?:s>", jn_fn_format_number, 3},
    {"formatBase", "<n-n?:s>", jn_fn_format_base, 2},
    {"formatInteger", "<n-s:s>", jn_fn_format_integer, 2},
    {"parseInteger", "<s-s:n>", jn_fn_parse_integer, 2},
    {"number", "<(nsb)-:n>", fn_number, 1},
    {"floor", "<n-:n>", fn_floor, 1},
    {"ceil", "<n-:n>", fn_ceil, 1},
    {"round", "<n-n?:n>", fn_round, 2},
    {"abs", "<n-:n>", fn_abs, 1},
    {"sqrt", "<n-:n>", fn_sqrt, 1},
    {"power", "<n-n:n>", fn_power, 2},
    {"random", "<n?:n>", fn_random, 0},
    {"boolean", "<x-:b>", fn_boolean, 1},
    {"not", "<x-:b>", fn_not, 1},
    {"map", "<af>", fn_map, 2},
    {"zip", "<a+>", fn_zip, 0},
    {"filter", "<af>", fn_filter, 2},
    {"single", "<af?>", fn_single, 2},
    {"reduce", "<afj?:j>", fn_reduce, 3},
    {"sift", "<o-f?:o>", fn_sift, 2},
    {"keys", "<x-:a<s>>", fn_keys, 1},
    {"lookup", "<x-s:x>", fn_lookup, 2},
    {"append", "<xx:a>", fn_append, 2},
    {"exists", "<x:b>", fn_exists, 1},
    {"spread", "<x-:a<o>>", fn_spread, 1},
    {"merge", "<a<o>:o>", fn_merge, 1},
    {"reverse", "<a:a>", fn_reverse, 1},
    {"each", "<o-f:a>", fn_each, 2},
    {"error", "<s?:x>", fn_error, 1},
    {"assert", "<bs?:x>", fn_assert, 2},
    {"type", "<x:s>", fn_type, 1},
    {"sort", "<af?:a>", fn_sort, 2},
    {"shuffle", "<a:a>", fn_shuffle, 1},
    {"distinct", "<x:x>", fn_distinct, 1},
    {"base64encode", "<s-:s>", fn_base64encode, 1},
    {"base64decode", "<s-:s>", fn_base64decode, 1},
    {"encodeUrlComponent", "<s-:s>", fn_encode_url_component, 1},
    {"encodeUrl", "<s-:s>", fn_encode_url, 1},
    {"decodeUrlComponent", "<s-:s>", fn_decode_url_component, 1},
    {"decodeUrl", "<s-:s>", fn_decode_url, 1},
    {"eval", "<sx?:x>", fn_eval, 2},
    {"toMillis", "<s-s?:n>", jn_fn_to_millis, 2},
    {"fromMillis", "<n-s?s?:s>", jn_fn_from_millis, 3},
    {"clone", "<(oa)-:o>", fn_clone, 1},
    {"now", "<s?s?:s>", jn_fn_now, 2},
    {"millis", "<:n>", fn_millis, 0},
    /* Step Functions */
    {"partition", "<an:a>", fn_partition, 2},
    {"range", "<nnn?:a>", fn_range, 3},
    {"hash", "<ss?:s>", fn_hash, 2},
    {"uuid", "<:s>", fn_uuid, 0},
    {"parse", "<s-:j>", fn_parse, 1},
};

#define NBUILTINS (sizeof BUILTINS / sizeof BUILTINS[0])

/* Signatures are parsed once, on first use, into memory that lives for the process. */
static jn_sig *SIGS[NBUILTINS];
static jn_arena SIG_ARENA;

const jn_builtin *jn_builtin_find(const char *name, size_t len)
{
    for (size_t i = 0; i < NBUILTINS; i++)
        if (strlen(BUILTINS[i].name) == len && memcmp(BUILTINS[i].name, name, len) == 0)
            return &BUILTINS[i];
    return NULL;
}

const jn_sig *jn_builtin_sig(const jn_builtin *b)
{
    size_t i = (size_t)(b - BUILTINS);
    if (!SIGS[i]) {
        const char *code;
        SIGS[i] = jn_sig_parse(&SIG_ARENA, b->signature, strlen(b->signature), &code);
    }
    return SIGS[i];
}
