/* The AWS REST-JSON protocol: routing by URI template, request decoding into the JSON input
 * shape, response and error encoding. The rules are in rest_json.h.
 *
 * Templates are matched as written in the model, with no compilation step: a request is
 * split into path segments once, then each operation of the service whose method matches
 * walks its template (a few dozen bytes) against them. Literal segments are compared with
 * the request's segments percent-decoded on the fly, so nothing is allocated until an
 * operation is chosen. Decoding matches the chosen template again to read its labels. */
#include "protocol/rest_json.h"

#include "common/base64.h"
#include "common/alloc.h"
#include "common/hex.h"
#include "common/utf8.h"
#include "protocol/form.h"
#include "protocol/json_codec.h"

#include <ctype.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_QUERY_PAIRS 1000
#define MAX_QUERY_ITEMS 8

typedef struct span {
    const char *p;
    size_t n;
} span;

static void fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int utf8_valid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    uint32_t cp;
    for (size_t i = 0; i < n;) {
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        size_t len = utf8_decode(u + i, n - i, &cp);
        if (!len)
            return 0;
        i += len;
    }
    return 1;
}

/* Percent-decodes n bytes into out (room for n); malformed escapes stay literal. */
static size_t pct_decode(const char *p, size_t n, char *out)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (p[i] == '%' && i + 2 < n && (hi = hex_digit((unsigned char)p[i + 1])) >= 0 &&
            (lo = hex_digit((unsigned char)p[i + 2])) >= 0) {
            out[w++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[w++] = p[i];
        }
    }
    return w;
}

/* ===================================================================== templates */

/* A URI template or request path split into segments. */
typedef struct segments {
    span seg[REST_JSON_MAX_SEGMENTS];
    size_t n;
} segments;

/* Splits a path at '/': the leading slash is skipped and one trailing slash ignored.
 * Returns 0, or -1 if there are more segments than fit. */
static int split_path(const char *p, size_t n, segments *out)
{
    out->n = 0;
    if (n && p[0] == '/') {
        p++;
        n--;
    }
    if (n && p[n - 1] == '/')
        n--;
    if (n == 0)
        return 0;
    const char *end = p + n;
    while (1) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        if (out->n == REST_JSON_MAX_SEGMENTS)
            return -1;
        out->seg[out->n].p = p;
        out->seg[out->n].n = slash ? (size_t)(slash - p) : (size_t)(end - p);
        out->n++;
        if (!slash)
            return 0;
        p = slash + 1;
    }
}

static int is_label(span s)
{
    return s.n >= 3 && s.p[0] == '{' && s.p[s.n - 1] == '}';
}

static int is_greedy(span s)
{
    return is_label(s) && s.p[s.n - 2] == '+';
}

/* The label's name: "{Key+}" -> "Key". */
static span label_name(span s)
{
    span r = {s.p + 1, s.n - 2 - (size_t)is_greedy(s)};
    return r;
}

/* Whether the raw (percent-encoded) segment decodes to the literal. */
static int segment_is(span raw, span lit)
{
    size_t j = 0;
    for (size_t i = 0; i < raw.n; i++, j++) {
        char c = raw.p[i];
        int hi, lo;
        if (c == '%' && i + 2 < raw.n && (hi = hex_digit((unsigned char)raw.p[i + 1])) >= 0 &&
            (lo = hex_digit((unsigned char)raw.p[i + 2])) >= 0) {
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (j >= lit.n || lit.p[j] != c)
            return 0;
    }
    return j == lit.n;
}

/* A label's value: its raw span in the request path. */
typedef struct label {
    span name;
    span raw;
} label;

/* Matches the template's path segments against the request's. Fills rank, and labels when
 * not NULL (room for REST_JSON_MAX_SEGMENTS). Returns the number of labels, or -1. */
static int match_path(const segments *t, const segments *r, rest_json_rank *rank, label *labels)
{
    size_t greedy = t->n;
    for (size_t i = 0; i < t->n; i++)
        if (is_greedy(t->seg[i])) {
            greedy = i;
            break;
        }
    if (greedy == t->n ? r->n != t->n : r->n < t->n)
        return -1;
    int nlabels = 0;
    rank->nseg = t->n;
    for (size_t i = 0; i < t->n; i++) {
        span ts = t->seg[i];
        if (i == greedy) {
            size_t last = r->n - (t->n - i); /* the greedy label ends at segment `last` */
            span raw = {r->seg[i].p, (size_t)(r->seg[last].p + r->seg[last].n - r->seg[i].p)};
            if (raw.n == 0)
                return -1;
            rank->seg[i] = 0;
            if (labels)
                labels[nlabels] = (label){label_name(ts), raw};
            nlabels++;
            continue;
        }
        span rs = i < greedy ? r->seg[i] : r->seg[r->n - (t->n - i)];
        if (is_label(ts)) {
            if (rs.n == 0)
                return -1;
            rank->seg[i] = 1;
            if (labels)
                labels[nlabels] = (label){label_name(ts), rs};
            nlabels++;
        } else {
            if (!segment_is(rs, ts))
                return -1;
            rank->seg[i] = 2;
        }
    }
    return nlabels;
}

/* The request's query, decoded on first use. */
typedef struct lazy_query {
    const char *raw;
    int state; /* 0 not parsed, 1 parsed, -1 malformed */
    form f;
} lazy_query;

static const form *query_get(lazy_query *q)
{
    if (q->state == 0)
        q->state = form_parse(&q->f, q->raw, strlen(q->raw), MAX_QUERY_PAIRS) == 0 ? 1 : -1;
    return q->state == 1 ? &q->f : NULL;
}

static void query_free(lazy_query *q)
{
    if (q->state == 1)
        form_free(&q->f);
}

/* The literal items of a template's query ("versions", "List=ALL"), each a key and an
 * optional value. Returns their number. */
typedef struct query_item {
    span key, value;
    int has_value;
} query_item;

static size_t template_query(const char *q, query_item *items)
{
    size_t n = 0;
    while (q && *q && n < MAX_QUERY_ITEMS) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        const char *eq = memchr(q, '=', len);
        if (len) {
            items[n].key = (span){q, eq ? (size_t)(eq - q) : len};
            items[n].has_value = eq != NULL;
            items[n].value = eq ? (span){eq + 1, len - (size_t)(eq - q) - 1} : (span){"", 0};
            n++;
        }
        q = amp ? amp + 1 : NULL;
    }
    return n;
}

static const form_pair *form_find(const form *f, span key)
{
    for (size_t i = 0; f && i < f->npairs; i++)
        if (f->pairs[i].name_len == key.n && memcmp(f->pairs[i].name, key.p, key.n) == 0)
            return &f->pairs[i];
    return NULL;
}

static int query_items_present(const query_item *items, size_t n, lazy_query *q)
{
    if (n == 0)
        return 1;
    const form *f = query_get(q);
    for (size_t i = 0; i < n; i++) {
        const form_pair *p = form_find(f, items[i].key);
        if (!p || (items[i].has_value && (p->value_len != items[i].value.n ||
                                          memcmp(p->value, items[i].value.p, p->value_len))))
            return 0;
    }
    return 1;
}

/* A template split at '?': its path segments and literal query items. */
typedef struct tmpl {
    segments path;
    query_item query[MAX_QUERY_ITEMS];
    size_t nquery;
} tmpl;

static int template_parse(const char *uri, tmpl *t)
{
    const char *qm = strchr(uri, '?');
    size_t plen = qm ? (size_t)(qm - uri) : strlen(uri);
    if (split_path(uri, plen, &t->path) != 0)
        return -1;
    t->nquery = template_query(qm ? qm + 1 : NULL, t->query);
    return 0;
}

int rest_json_rank_cmp(const rest_json_rank *a, const rest_json_rank *b)
{
    size_t n = a->nseg < b->nseg ? a->nseg : b->nseg;
    for (size_t i = 0; i < n; i++)
        if (a->seg[i] != b->seg[i])
            return a->seg[i] > b->seg[i] ? 1 : -1;
    if (a->nquery != b->nquery)
        return a->nquery > b->nquery ? 1 : -1;
    return 0;
}

const model_operation *rest_json_match(const model_service *svc, const http_request *req,
                                       rest_json_rank *rank)
{
    if (!svc || svc->protocol != MODEL_PROTO_REST_JSON || !svc->http)
        return NULL;
    segments path;
    if (split_path(req->path, strlen(req->path), &path) != 0)
        return NULL;
    lazy_query q = {.raw = req->query ? req->query : ""};
    const model_operation *best = NULL;
    for (size_t i = 0; i < svc->nops; i++) {
        const model_http *h = &svc->http[i];
        if (strcmp(h->method, req->method) != 0)
            continue;
        tmpl t;
        rest_json_rank r;
        if (template_parse(h->uri, &t) != 0 || match_path(&t.path, &path, &r, NULL) < 0 ||
            !query_items_present(t.query, t.nquery, &q))
            continue;
        r.nquery = t.nquery;
        if (!best || rest_json_rank_cmp(&r, rank) > 0) {
            best = &svc->ops[i];
            *rank = r;
        }
    }
    query_free(&q);
    return best;
}

/* ===================================================================== text values */

static int parse_int64(const char *s, size_t n, json_int_t *out)
{
    size_t i = 0;
    int neg = 0;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    if (i == n || n - i > 19)
        return -1;
    uint64_t v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > (uint64_t)INT64_MAX + (uint64_t)neg)
        return -1;
    *out = neg ? (json_int_t)(0 - v) : (json_int_t)v;
    return 0;
}

static int parse_double(const char *s, size_t n, double *out)
{
    char tmp[64];
    if (n == 0 || n >= sizeof tmp)
        return -1;
    memcpy(tmp, s, n);
    tmp[n] = 0;
    if (!(tmp[0] == '-' || tmp[0] == '+' || tmp[0] == '.' || isdigit((unsigned char)tmp[0])))
        return -1;
    char *end;
    double d = strtod(tmp, &end);
    if (*end || !isfinite(d))
        return -1;
    *out = d;
    return 0;
}

static int parse_digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int valid_civil(int y, int mo, int d, int h, int mi, int s)
{
    static const int dm[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    (void)y;
    return mo >= 1 && mo <= 12 && d >= 1 && d <= dm[mo - 1] && h <= 23 && mi <= 59 && s <= 60;
}

static double epoch_of(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = s};
    return (double)timegm(&tm);
}

/* "2024-01-02T03:04:05Z", with optional fractional seconds and a "+hh:mm" offset. */
static int parse_iso8601(const char *s, size_t n, double *out)
{
    int y, mo, d, h, mi, sec;
    if (n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
        s[16] != ':' || parse_digits(s, 4, &y) || parse_digits(s + 5, 2, &mo) ||
        parse_digits(s + 8, 2, &d) || parse_digits(s + 11, 2, &h) || parse_digits(s + 14, 2, &mi) ||
        parse_digits(s + 17, 2, &sec) || !valid_civil(y, mo, d, h, mi, sec))
        return -1;
    size_t i = 19;
    double frac = 0, scale = 0.1;
    if (i < n && s[i] == '.') {
        if (++i == n || !isdigit((unsigned char)s[i]))
            return -1;
        for (; i < n && isdigit((unsigned char)s[i]); i++, scale /= 10)
            frac += (s[i] - '0') * scale;
    }
    int offset = 0;
    if (i + 1 == n && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        int oh, om;
        if (parse_digits(s + i + 1, 2, &oh) || parse_digits(s + i + 4, 2, &om))
            return -1;
        offset = (oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
        i += 6;
    }
    if (i != n)
        return -1;
    *out = epoch_of(y, mo, d, h, mi, sec) - offset + frac;
    return 0;
}

static const char *const MONTHS[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const char *const WEEKDAYS[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

/* RFC 7231 IMF-fixdate, "Tue, 02 Jan 2024 03:04:05 GMT" (botocore's rfc822 headers). */
static int parse_http_date(const char *s, size_t n, double *out)
{
    int y, mo = 0, d, h, mi, sec;
    if (n != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
        s[19] != ':' || s[22] != ':' || memcmp(s + 25, " GMT", 4) != 0)
        return -1;
    for (int i = 0; i < 12; i++)
        if (memcmp(s + 8, MONTHS[i], 3) == 0)
            mo = i + 1;
    if (!mo || parse_digits(s + 5, 2, &d) || parse_digits(s + 12, 4, &y) ||
        parse_digits(s + 17, 2, &h) || parse_digits(s + 20, 2, &mi) ||
        parse_digits(s + 23, 2, &sec) || !valid_civil(y, mo, d, h, mi, sec))
        return -1;
    *out = epoch_of(y, mo, d, h, mi, sec);
    return 0;
}

static json_t *epoch_number(double d)
{
    if (d == floor(d) && fabs(d) < 9007199254740992.0)
        return json_integer((json_int_t)d);
    return json_real(d);
}

/* A scalar of shape s written as text (a label, parameter or header). NULL if it does not
 * parse; `what` names it in the message ("header x-amz-foo"). */
static json_t *text_scalar(const model_shape *s, const char *v, size_t n, const char *what,
                           char *err, size_t errlen)
{
    json_int_t i;
    double d;
    switch (s->type) {
    case SHAPE_INTEGER:
        if (parse_int64(v, n, &i) == 0)
            return json_integer(i);
        fail(err, errlen, "The value of %s must be an integer.", what);
        return NULL;
    case SHAPE_BOOLEAN:
        if (n == 4 && strncasecmp(v, "true", 4) == 0)
            return json_true();
        if (n == 5 && strncasecmp(v, "false", 5) == 0)
            return json_false();
        fail(err, errlen, "The value of %s must be true or false.", what);
        return NULL;
    case SHAPE_DOUBLE:
        if (parse_double(v, n, &d) == 0)
            return json_real(d);
        fail(err, errlen, "The value of %s must be a number.", what);
        return NULL;
    case SHAPE_TIMESTAMP:
        if (parse_double(v, n, &d) == 0 || parse_iso8601(v, n, &d) == 0 ||
            parse_http_date(v, n, &d) == 0)
            return epoch_number(d);
        fail(err, errlen, "The value of %s must be a timestamp.", what);
        return NULL;
    case SHAPE_STRING:
    case SHAPE_BLOB: /* already base64 in text */
        if (!utf8_valid(v, n)) {
            fail(err, errlen, "The value of %s is not valid UTF-8.", what);
            return NULL;
        }
        return json_stringn_nocheck(v, n);
    default:
        fail(err, errlen, "The model gives %s a shape text cannot carry.", what);
        return NULL;
    }
}

/* ===================================================================== decoding */

static const char *type_name(shape_type t)
{
    switch (t) {
    case SHAPE_STRING:
    case SHAPE_BLOB:
        return "a string";
    case SHAPE_INTEGER:
        return "an integer";
    case SHAPE_BOOLEAN:
        return "a boolean";
    case SHAPE_DOUBLE:
    case SHAPE_TIMESTAMP:
        return "a number";
    case SHAPE_LIST:
        return "an array";
    default:
        return "an object";
    }
}

/* Checks a JSON value of the body against its shape (null stands for absent). */
static int check_value(const json_t *v, const model_shape *s, const char *path, char *err,
                       size_t errlen)
{
    int ok;
    if (json_is_null(v))
        return 0;
    switch (s->type) {
    case SHAPE_STRING:
    case SHAPE_BLOB:
        ok = json_is_string(v);
        break;
    case SHAPE_INTEGER:
        ok = json_is_integer(v);
        break;
    case SHAPE_BOOLEAN:
        ok = json_is_boolean(v);
        break;
    case SHAPE_DOUBLE:
    case SHAPE_TIMESTAMP:
        ok = json_is_number(v);
        break;
    case SHAPE_LIST:
        ok = json_is_array(v);
        break;
    default:
        ok = json_is_object(v);
    }
    if (!ok) {
        fail(err, errlen, "The value of %s must be %s.", path, type_name(s->type));
        return -1;
    }
    if (s->type == SHAPE_LIST) {
        size_t i;
        const json_t *e;
        json_array_foreach(v, i, e)
        {
            if (check_value(e, s->member, path, err, errlen) != 0)
                return -1;
        }
    } else if (s->type == SHAPE_MAP) {
        const char *k;
        const json_t *e;
        json_object_foreach((json_t *)v, k, e)
        {
            if (check_value(e, s->value, path, err, errlen) != 0)
                return -1;
        }
    } else if (s->type == SHAPE_STRUCTURE) {
        for (size_t i = 0; i < s->nmembers; i++) {
            const json_t *m = json_object_get(v, s->members[i].name);
            if (m && check_value(m, s->members[i].shape, s->members[i].name, err, errlen) != 0)
                return -1;
        }
    }
    return 0;
}

static json_t *parse_json_body(const http_request *req, char *err, size_t errlen)
{
    char jerr[160] = "";
    json_t *v = jsonc_parse(req->body, req->body_len, jerr, sizeof jerr);
    if (!v)
        fail(err, errlen, "The request body is not valid JSON (%s).", jerr);
    return v;
}

/* The body as the input object (no payload member): members bound elsewhere are dropped. */
static json_t *decode_body_members(const model_shape *in, const http_request *req, char *err,
                                   size_t errlen)
{
    if (req->body_len == 0)
        return json_object();
    json_t *body = parse_json_body(req, err, errlen);
    if (!body)
        return NULL;
    if (!json_is_object(body)) {
        fail(err, errlen, "The request body must be a JSON object.");
        goto fail;
    }
    for (size_t i = 0; in && i < in->nmembers; i++) {
        const model_member *m = &in->members[i];
        if (model_member_location(in, i) != MODEL_LOC_BODY)
            json_object_del(body, m->name);
        else if (json_object_get(body, m->name) &&
                 check_value(json_object_get(body, m->name), m->shape, m->name, err, errlen) != 0)
            goto fail;
    }
    return body;
fail:
    json_decref(body);
    return NULL;
}

/* The payload member's value from the whole body; NULL with *absent set when the body is
 * empty. */
static json_t *decode_payload(const model_member *m, const http_request *req, int *absent,
                              char *err, size_t errlen)
{
    *absent = req->body_len == 0;
    if (*absent)
        return NULL;
    if (m->shape->type == SHAPE_BLOB) {
        buf b = BUF_INIT;
        base64_encode(&b, req->body, req->body_len);
        json_t *v = json_stringn_nocheck(b.data, b.len);
        buf_free(&b);
        return v;
    }
    if (m->shape->type == SHAPE_STRING) {
        if (!utf8_valid(req->body, req->body_len)) {
            fail(err, errlen, "The request body is not valid UTF-8.");
            return NULL;
        }
        return json_stringn_nocheck(req->body, req->body_len);
    }
    json_t *v = parse_json_body(req, err, errlen);
    if (v && check_value(v, m->shape, m->name, err, errlen) != 0) {
        json_decref(v);
        return NULL;
    }
    return v;
}

static json_t *decode_label(const model_member *m, const label *labels, int nlabels, char *err,
                            size_t errlen)
{
    for (int i = 0; i < nlabels; i++) {
        const label *l = &labels[i];
        if (l->name.n != strlen(m->location_name) ||
            memcmp(l->name.p, m->location_name, l->name.n) != 0)
            continue;
        char *dec = xmalloc(l->raw.n + 1);
        size_t n = pct_decode(l->raw.p, l->raw.n, dec);
        char what[160];
        snprintf(what, sizeof what, "URI label %s", m->location_name);
        json_t *v = text_scalar(m->shape, dec, n, what, err, errlen);
        xfree(dec);
        return v;
    }
    return json_null(); /* a label the template lacks: nothing to read */
}

/* Whether key is named by a querystring member of `in` or by the template's literal query. */
static int query_key_claimed(const model_shape *in, const tmpl *t, const char *key, size_t n)
{
    for (size_t i = 0; i < in->nmembers; i++) {
        const model_member *m = &in->members[i];
        if (model_member_location(in, i) == MODEL_LOC_QUERY && m->shape->type != SHAPE_MAP &&
            strlen(m->location_name) == n && memcmp(m->location_name, key, n) == 0)
            return 1;
    }
    for (size_t i = 0; i < t->nquery; i++)
        if (t->query[i].key.n == n && memcmp(t->query[i].key.p, key, n) == 0)
            return 1;
    return 0;
}

/* A querystring map: every parameter no other member names (a map of lists collects the
 * repeated values). */
static json_t *decode_query_map(const model_shape *in, const model_member *m, const tmpl *t,
                                const form *f, char *err, size_t errlen)
{
    const model_shape *vs = m->shape->value;
    json_t *map = json_object();
    for (size_t i = 0; i < f->npairs; i++) {
        const form_pair *p = &f->pairs[i];
        if (query_key_claimed(in, t, p->name, p->name_len))
            continue;
        if (!utf8_valid(p->name, p->name_len) || memchr(p->name, 0, p->name_len)) {
            fail(err, errlen, "A querystring parameter name is not valid UTF-8.");
            goto fail;
        }
        char what[160];
        snprintf(what, sizeof what, "querystring parameter %.64s", p->name);
        const model_shape *es = vs->type == SHAPE_LIST ? vs->member : vs;
        json_t *v = text_scalar(es, p->value, p->value_len, what, err, errlen);
        if (!v)
            goto fail;
        if (vs->type == SHAPE_LIST) {
            json_t *list = json_object_get(map, p->name);
            if (!list)
                json_object_set_new_nocheck(map, p->name, list = json_array());
            json_array_append_new(list, v);
        } else if (!json_object_get(map, p->name)) {
            json_object_set_new_nocheck(map, p->name, v);
        } else {
            json_decref(v);
        }
    }
    if (json_object_size(map) == 0) {
        json_decref(map);
        return json_null();
    }
    return map;
fail:
    json_decref(map);
    return NULL;
}

static json_t *decode_query(const model_shape *in, const model_member *m, const tmpl *t,
                            lazy_query *q, char *err, size_t errlen)
{
    const form *f = query_get(q);
    if (!f) {
        fail(err, errlen, "The query string is malformed.");
        return NULL;
    }
    if (m->shape->type == SHAPE_MAP)
        return decode_query_map(in, m, t, f, err, errlen);
    char what[160];
    snprintf(what, sizeof what, "querystring parameter %s", m->location_name);
    if (m->shape->type != SHAPE_LIST) {
        const form_pair *p = form_get(f, m->location_name);
        return p ? text_scalar(m->shape, p->value, p->value_len, what, err, errlen) : json_null();
    }
    json_t *list = NULL;
    for (size_t i = 0; i < f->npairs; i++) {
        const form_pair *p = &f->pairs[i];
        if (strcmp(p->name, m->location_name) != 0 || p->name_len != strlen(p->name))
            continue;
        json_t *v = text_scalar(m->shape->member, p->value, p->value_len, what, err, errlen);
        if (!v) {
            json_decref(list);
            return NULL;
        }
        if (!list)
            list = json_array();
        json_array_append_new(list, v);
    }
    return list ? list : json_null();
}

/* A header's value: a jsonvalue header is base64 JSON, a list is comma-separated (repeated
 * headers joined), a scalar is typed text. */
static json_t *header_value(const model_member *m, int jsonvalue, const char *v, char *err,
                            size_t errlen)
{
    char what[160];
    snprintf(what, sizeof what, "header %s", m->location_name);
    if (jsonvalue) {
        buf dec = BUF_INIT;
        char jerr[160];
        json_t *j = NULL;
        if (base64_decode(&dec, v, strlen(v)) == 0)
            j = jsonc_parse(dec.data ? dec.data : "", dec.len, jerr, sizeof jerr);
        buf_free(&dec);
        if (!j)
            fail(err, errlen, "The value of %s must be base64-encoded JSON.", what);
        return j;
    }
    if (m->shape->type != SHAPE_LIST)
        return text_scalar(m->shape, v, strlen(v), what, err, errlen);
    json_t *list = json_array();
    const char *p = v;
    while (1) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        const char *e = end;
        while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        json_t *item = text_scalar(m->shape->member, p, (size_t)(e - p), what, err, errlen);
        if (!item) {
            json_decref(list);
            return NULL;
        }
        json_array_append_new(list, item);
        if (!comma)
            return list;
        p = comma + 1;
    }
}

static json_t *decode_header(const model_member *m, int jsonvalue, const http_request *req,
                             char *err, size_t errlen)
{
    buf joined = BUF_INIT;
    for (size_t i = 0; i < req->nheaders; i++) {
        const http_header *h = &req->headers[i];
        if (!h->name || !h->value || strcasecmp(h->name, m->location_name) != 0)
            continue;
        if (joined.len)
            buf_putc(&joined, ',');
        buf_puts(&joined, h->value);
        if (m->shape->type != SHAPE_LIST)
            break;
    }
    json_t *v = joined.data ? header_value(m, jsonvalue, joined.data, err, errlen) : json_null();
    buf_free(&joined);
    return v;
}

/* A header-prefix map: the headers whose (lower-cased) name starts with the prefix, keyed
 * by the rest of the name. */
static json_t *decode_header_map(const model_member *m, const http_request *req, char *err,
                                 size_t errlen)
{
    size_t plen = strlen(m->location_name);
    json_t *map = NULL;
    for (size_t i = 0; i < req->nheaders; i++) {
        const http_header *h = &req->headers[i];
        if (!h->name || !h->value || strncasecmp(h->name, m->location_name, plen) != 0 ||
            !h->name[plen])
            continue;
        char what[160];
        snprintf(what, sizeof what, "header %.64s", h->name);
        json_t *v = text_scalar(m->shape->value, h->value, strlen(h->value), what, err, errlen);
        if (!v) {
            json_decref(map);
            return NULL;
        }
        if (!map)
            map = json_object();
        json_object_set_new(map, h->name + plen, v);
    }
    return map ? map : json_null();
}

json_t *rest_json_decode(const model_service *svc, const model_operation *op,
                         const http_request *req, char *err, size_t errlen)
{
    const model_http *http = model_operation_http(svc, op);
    const model_shape *in = op ? op->input : NULL;
    json_t *input = NULL;
    lazy_query q = {.raw = req->query ? req->query : ""};
    err[0] = 0;
    if (!http) {
        fail(err, errlen, "The operation has no REST binding.");
        return NULL;
    }
    tmpl t;
    segments path;
    label labels[REST_JSON_MAX_SEGMENTS];
    rest_json_rank rank;
    int nlabels;
    if (template_parse(http->uri, &t) != 0 ||
        split_path(req->path, strlen(req->path), &path) != 0 ||
        (nlabels = match_path(&t.path, &path, &rank, labels)) < 0) {
        fail(err, errlen, "The request URI does not match operation %s.", op->name);
        return NULL;
    }
    if (!in)
        return json_object();
    int absent = 1;
    if (in->payload) {
        input = json_object();
        const model_member *pm = model_find_member(in, in->payload, strlen(in->payload));
        json_t *v = pm ? decode_payload(pm, req, &absent, err, errlen) : NULL;
        if (!v && !absent)
            goto fail;
        if (v)
            json_object_set_new(input, pm->name, v);
    } else if (!(input = decode_body_members(in, req, err, errlen))) {
        goto fail;
    }
    for (size_t i = 0; i < in->nmembers; i++) {
        const model_member *m = &in->members[i];
        json_t *v;
        switch (model_member_location(in, i)) {
        case MODEL_LOC_URI:
            v = decode_label(m, labels, nlabels, err, errlen);
            break;
        case MODEL_LOC_QUERY:
            v = decode_query(in, m, &t, &q, err, errlen);
            break;
        case MODEL_LOC_HEADER:
            v = decode_header(m, in->bindings[i].jsonvalue, req, err, errlen);
            break;
        case MODEL_LOC_HEADERS:
            v = decode_header_map(m, req, err, errlen);
            break;
        default:
            continue;
        }
        if (!v)
            goto fail;
        if (json_is_null(v))
            json_decref(v);
        else
            json_object_set_new(input, m->name, v);
    }
    query_free(&q);
    return input;
fail:
    query_free(&q);
    json_decref(input);
    if (!err[0])
        fail(err, errlen, "The request cannot be decoded.");
    return NULL;
}

/* ===================================================================== encoding */

void rest_json_response_add_header(rest_json_response *r, const char *name, const char *value)
{
    if (r->nheaders == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 8;
        r->headers = xrealloc(r->headers, r->cap * sizeof *r->headers);
    }
    r->headers[r->nheaders].name = xstrdup(name);
    r->headers[r->nheaders].value = xstrdup(value);
    r->nheaders++;
}

void rest_json_response_free(rest_json_response *r)
{
    for (size_t i = 0; i < r->nheaders; i++) {
        xfree((char *)r->headers[i].name);
        xfree((char *)r->headers[i].value);
    }
    xfree(r->headers);
    buf_free(&r->body);
    memset(r, 0, sizeof *r);
}

static int has_header(const rest_json_response *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return 1;
    return 0;
}

/* "Tue, 02 Jan 2024 03:04:05 GMT" */
static void put_http_date(buf *b, double t)
{
    time_t s = (time_t)floor(t);
    struct tm tm;
    if (!gmtime_r(&s, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) {
        buf_puts(b, "Thu, 01 Jan 1970 00:00:00 GMT");
        return;
    }
    buf_printf(b, "%s, %02d %s %04d %02d:%02d:%02d GMT", WEEKDAYS[tm.tm_wday], tm.tm_mday,
               MONTHS[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* A scalar as header text. */
static void put_header_scalar(buf *b, const model_shape *s, const json_t *v)
{
    if (json_is_string(v))
        buf_append(b, json_string_value(v), json_string_length(v));
    else if (json_is_boolean(v))
        buf_puts(b, json_is_true(v) ? "true" : "false");
    else if (s->type == SHAPE_TIMESTAMP && json_is_number(v))
        put_http_date(b, json_number_value(v));
    else if (json_is_integer(v))
        buf_put_i64(b, (int64_t)json_integer_value(v));
    else if (json_is_real(v))
        buf_printf(b, "%.17g", json_real_value(v));
}

/* Header values cannot hold line breaks or other controls: they become spaces. */
static void add_safe_header(rest_json_response *r, const char *name, buf *value)
{
    for (size_t i = 0; i < value->len; i++)
        if ((unsigned char)value->data[i] < 0x20 || value->data[i] == 0x7f)
            value->data[i] = ' ';
    rest_json_response_add_header(r, name, value->data ? value->data : "");
}

static void encode_header(rest_json_response *r, const model_member *m, int jsonvalue,
                          const json_t *v)
{
    buf b = BUF_INIT;
    if (jsonvalue) {
        buf j = BUF_INIT;
        jsonc_dump(&j, v);
        base64_encode(&b, j.data, j.len);
        buf_free(&j);
    } else if (json_is_array(v)) {
        size_t i;
        const json_t *e;
        json_array_foreach(v, i, e)
        {
            if (i)
                buf_putc(&b, ',');
            put_header_scalar(&b, m->shape->member, e);
        }
    } else {
        put_header_scalar(&b, m->shape, v);
    }
    add_safe_header(r, m->location_name, &b);
    buf_free(&b);
}

static void encode_header_map(rest_json_response *r, const model_member *m, const json_t *map)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)map, k, v)
    {
        buf name = BUF_INIT, val = BUF_INIT;
        buf_puts(&name, m->location_name);
        buf_puts(&name, k);
        put_header_scalar(&val, m->shape->value, v);
        add_safe_header(r, name.data, &val);
        buf_free(&name);
        buf_free(&val);
    }
}

static int encode_payload(rest_json_response *r, const model_member *m, const json_t *v, char *err,
                          size_t errlen)
{
    const char *ctype = "application/json";
    if (!v || json_is_null(v))
        return 0;
    if (m->shape->type == SHAPE_BLOB && json_is_string(v)) {
        if (base64_decode(&r->body, json_string_value(v), json_string_length(v)) != 0) {
            fail(err, errlen, "The payload %s is not base64.", m->name);
            return -1;
        }
        ctype = "application/octet-stream";
    } else if (m->shape->type == SHAPE_STRING && json_is_string(v)) {
        buf_append(&r->body, json_string_value(v), json_string_length(v));
        ctype = "text/plain; charset=utf-8";
    } else {
        jsonc_dump(&r->body, v);
    }
    if (!has_header(r, "content-type"))
        rest_json_response_add_header(r, "Content-Type", ctype);
    return 0;
}

int rest_json_encode(const model_service *svc, const model_operation *op, const json_t *output,
                     rest_json_response *out, char *err, size_t errlen)
{
    const model_http *http = model_operation_http(svc, op);
    const model_shape *s = op ? op->output : NULL;
    out->status = http && http->status ? http->status : 200;
    json_t *body = json_is_object(output) ? json_copy((json_t *)output) : json_object();
    for (size_t i = 0; s && i < s->nmembers; i++) {
        const model_member *m = &s->members[i];
        model_location loc = model_member_location(s, i);
        const json_t *v = json_object_get(output, m->name);
        if (loc == MODEL_LOC_BODY)
            continue;
        if (v && !json_is_null(v)) {
            if (loc == MODEL_LOC_HEADER)
                encode_header(out, m, s->bindings[i].jsonvalue, v);
            else if (loc == MODEL_LOC_HEADERS && json_is_object(v))
                encode_header_map(out, m, v);
            else if (loc == MODEL_LOC_STATUS && json_is_integer(v) &&
                     json_integer_value(v) >= 100 && json_integer_value(v) <= 599)
                out->status = (int)json_integer_value(v);
        }
        json_object_del(body, m->name);
    }
    int rc = 0;
    if (out->status == 204 || out->status == 304) {
        /* no body */
    } else if (s && s->payload) {
        const model_member *pm = model_find_member(s, s->payload, strlen(s->payload));
        if (pm)
            rc = encode_payload(out, pm, json_object_get(output, pm->name), err, errlen);
    } else {
        jsonc_dump(&out->body, body);
        rest_json_response_add_header(out, "Content-Type", "application/json");
    }
    json_decref(body);
    return rc;
}

void rest_json_encode_error(const model_service *svc, aws_error e, const char *msg,
                            rest_json_response *out)
{
    const aws_error_info *info = aws_error_lookup(e);
    const char *prefix = svc && svc->json_type_prefix ? svc->json_type_prefix : "";
    out->status = info->http_status;
    rest_json_response_add_header(out, "Content-Type", "application/json");
    rest_json_response_add_header(out, "X-Amzn-ErrorType", info->shape);
    buf_puts(&out->body, "{\"__type\":\"");
    buf_puts(&out->body, prefix);
    buf_puts(&out->body, info->shape);
    buf_puts(&out->body, "\",\"message\":");
    jsonc_put_string_lossy(&out->body, msg ? msg : "", msg ? strlen(msg) : 0);
    buf_putc(&out->body, '}');
}
