/* AWS Query output: the operation's JSON output -> its XML response document.
 *
 * The writer walks the model and the JSON value together, appending to one buf: members in
 * model order (JSON keys the model does not know are not written; null members are omitted),
 * element names from the model's locationNames. A flattened list repeats its element in the
 * parent, named by the list member's locationName when it has one (`<Message>` for
 * ReceiveMessageResult.Messages) and by the member's otherwise; a plain list wraps items in
 * `<member>` (or the list member's locationName). Maps are `<Name><Key>k</Key><Value>v</Value>
 * </Name>` repeated when flattened, `<Name><entry><key/><value/></entry>...</Name>` otherwise.
 * This is the layout botocore's QueryParser (and the other SDKs) read back.
 *
 * Text is escaped for element content: & < > " ' and CR (as &#xD;, which XML would otherwise
 * normalise to LF), so bodies round-trip byte for byte. Characters XML 1.0 cannot carry at all
 * (C0 controls other than TAB, LF, CR; U+FFFE, U+FFFF; invalid UTF-8) become U+FFFD, keeping
 * the document well-formed whatever the JSON holds. A JSON value whose type does not fit its
 * shape (an object for a string, ...) is left out. */
#include "protocol/xml.h"

#include "common/utf8.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_DEPTH 100

/* ---- text ------------------------------------------------------------------------- */

/* 0: copy; 1: escape; 2: not allowed in XML; 3: start of a multi-byte sequence. */
static const unsigned char text_class[256] = {
    /* 0x00 */ 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 2, 2, 1, 2, 2,
    /* 0x10 */ 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    /* 0x20 */ 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 0x30 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0,
    /* 0x40 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 0x50 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 0x60 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 0x70 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 0x80 */ 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    /* 0x90 */ 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    /* 0xa0 */ 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    /* 0xb0 */ 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    /* 0xc0 */ 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    /* 0xd0 */ 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    /* 0xe0 */ 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    /* 0xf0 */ 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
};

/* Length of the well-formed UTF-8 sequence at s (at most n bytes), or 0. *allowed says
 * whether XML may carry the character (not U+FFFE or U+FFFF). */
static size_t utf8_xml_len(const unsigned char *s, size_t n, int *allowed)
{
    uint32_t cp;
    size_t len = utf8_decode(s, n, &cp);
    *allowed = len && cp != 0xfffe && cp != 0xffff;
    return len;
}

/* Whether any byte of x is < 0x20, >= 0x80, or one of & < > " ' (SWAR: a zero byte in
 * x ^ c has its high bit set in (y - 0x01..) & ~y). */
static int special_in(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t t = (x - ones * 0x20) & ~x; /* bytes < 0x20 */
    uint64_t y;
    y = x ^ (ones * '&');
    t |= (y - ones) & ~y;
    y = x ^ (ones * '<');
    t |= (y - ones) & ~y;
    y = x ^ (ones * '>');
    t |= (y - ones) & ~y;
    y = x ^ (ones * '"');
    t |= (y - ones) & ~y;
    y = x ^ (ones * '\'');
    t |= (y - ones) & ~y;
    return ((t | x) & highs) != 0;
}

void xml_put_text(buf *b, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    buf_reserve(b, n);
    size_t start = 0, i = 0;
    while (i < n) {
        /* Skip plain ASCII eight bytes at a time: no byte < 0x20, >= 0x80 or special. */
        while (n - i >= 8) {
            uint64_t x;
            memcpy(&x, s + i, 8);
            if (special_in(x))
                break;
            i += 8;
        }
        if (i >= n)
            break;
        unsigned char k = text_class[s[i]];
        if (k == 0) {
            i++;
            continue;
        }
        size_t skip = 1;
        if (k == 3) {
            int allowed = 0;
            size_t len = utf8_xml_len(s + i, n - i, &allowed);
            if (len && allowed) {
                i += len;
                continue;
            }
            if (len)
                skip = len; /* one replacement for a whole disallowed character */
        }
        buf_append(b, s + start, i - start);
        if (k == 1) {
            switch (s[i]) {
            case '&':
                buf_append(b, "&amp;", 5);
                break;
            case '<':
                buf_append(b, "&lt;", 4);
                break;
            case '>':
                buf_append(b, "&gt;", 4);
                break;
            case '"':
                buf_append(b, "&quot;", 6);
                break;
            case '\'':
                buf_append(b, "&apos;", 6);
                break;
            default:
                buf_append(b, "&#xD;", 5);
                break;
            }
        } else {
            buf_append(b, "\xef\xbf\xbd", 3);
        }
        i += skip;
        start = i;
    }
    buf_append(b, s + start, n - start);
}

static void open_tag(buf *b, const char *name)
{
    buf_putc(b, '<');
    buf_puts(b, name);
    buf_putc(b, '>');
}

static void close_tag(buf *b, const char *name)
{
    buf_append(b, "</", 2);
    buf_puts(b, name);
    buf_putc(b, '>');
}

/* ---- scalars ------------------------------------------------------------------------ */

static void put_double(buf *b, double d)
{
    char tmp[40];
    if (!isfinite(d)) {
        buf_puts(b, isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
        return;
    }
    /* The shortest text that reads back as the same double. */
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, d);
        if (prec == 17 || strtod(tmp, NULL) == d)
            break;
    }
    buf_puts(b, tmp);
}

static void put_timestamp(buf *b, double secs)
{
    double whole = floor(secs);
    time_t t = (time_t)whole;
    struct tm tm;
    if (!isfinite(secs) || !gmtime_r(&t, &tm)) {
        put_double(b, secs);
        return;
    }
    char tmp[48];
    long ms = lround((secs - whole) * 1000);
    if (ms >= 1000)
        ms = 999;
    size_t n = strftime(tmp, sizeof tmp, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(tmp + n, sizeof tmp - n, ".%03ldZ", ms);
    buf_puts(b, tmp);
}

/* Whether a JSON value can stand for a shape. */
static int fits(const model_shape *s, const json_t *v)
{
    switch (s->type) {
    case SHAPE_STRUCTURE:
    case SHAPE_MAP:
        return json_is_object(v);
    case SHAPE_LIST:
        return json_is_array(v);
    default:
        return json_is_string(v) || json_is_number(v) || json_is_boolean(v);
    }
}

static void put_scalar(buf *b, const model_shape *s, const json_t *v)
{
    if (json_is_string(v)) {
        xml_put_text(b, json_string_value(v), json_string_length(v));
    } else if (json_is_boolean(v)) {
        buf_puts(b, json_is_true(v) ? "true" : "false");
    } else if (s->type == SHAPE_TIMESTAMP) {
        put_timestamp(b, json_number_value(v));
    } else if (json_is_integer(v)) {
        buf_put_i64(b, (int64_t)json_integer_value(v));
    } else {
        double d = json_real_value(v);
        if (s->type == SHAPE_INTEGER && d == floor(d) && fabs(d) < 9.2e18)
            buf_put_i64(b, (int64_t)d);
        else
            put_double(b, d);
    }
}

/* ---- structure ---------------------------------------------------------------------- */

static void put_members(buf *b, const model_shape *s, const json_t *obj, int depth);

/* The inside of an element standing for a value of shape s (fits(s, v) holds). */
static void put_content(buf *b, const model_shape *s, const json_t *v, int depth)
{
    if (depth > MAX_DEPTH)
        return;
    switch (s->type) {
    case SHAPE_STRUCTURE:
        put_members(b, s, v, depth + 1);
        break;
    case SHAPE_LIST: {
        for (size_t i = 0; i < json_array_size(v); i++) {
            const json_t *item = json_array_get(v, i);
            if (!fits(s->member, item))
                continue;
            open_tag(b, s->member_location_name);
            put_content(b, s->member, item, depth + 1);
            close_tag(b, s->member_location_name);
        }
        break;
    }
    case SHAPE_MAP: {
        for (void *it = json_object_iter((json_t *)v); it;
             it = json_object_iter_next((json_t *)v, it)) {
            const char *k = json_object_iter_key(it);
            size_t klen = json_object_iter_key_len(it);
            const json_t *val = json_object_iter_value(it);
            if (!fits(s->value, val))
                continue;
            buf_append(b, "<entry>", 7);
            open_tag(b, s->key_location_name);
            xml_put_text(b, k, klen);
            close_tag(b, s->key_location_name);
            open_tag(b, s->value_location_name);
            put_content(b, s->value, val, depth + 1);
            close_tag(b, s->value_location_name);
            buf_append(b, "</entry>", 8);
        }
        break;
    }
    default:
        put_scalar(b, s, v);
        break;
    }
}

/* The element(s) of a structure member named `name`. */
static void put_member(buf *b, const char *name, const model_shape *s, int flattened,
                       const json_t *v, int depth)
{
    if (!fits(s, v))
        return;
    if (flattened && s->type == SHAPE_LIST) {
        const char *item_name = name;
        if (s->member_location_name && strcmp(s->member_location_name, "member") != 0)
            item_name = s->member_location_name;
        for (size_t i = 0; i < json_array_size(v); i++) {
            const json_t *item = json_array_get(v, i);
            if (!fits(s->member, item))
                continue;
            open_tag(b, item_name);
            put_content(b, s->member, item, depth + 1);
            close_tag(b, item_name);
        }
        return;
    }
    if (flattened && s->type == SHAPE_MAP) {
        for (void *it = json_object_iter((json_t *)v); it;
             it = json_object_iter_next((json_t *)v, it)) {
            const char *k = json_object_iter_key(it);
            size_t klen = json_object_iter_key_len(it);
            const json_t *val = json_object_iter_value(it);
            if (!fits(s->value, val))
                continue;
            open_tag(b, name);
            open_tag(b, s->key_location_name);
            xml_put_text(b, k, klen);
            close_tag(b, s->key_location_name);
            open_tag(b, s->value_location_name);
            put_content(b, s->value, val, depth + 1);
            close_tag(b, s->value_location_name);
            close_tag(b, name);
        }
        return;
    }
    open_tag(b, name);
    put_content(b, s, v, depth);
    close_tag(b, name);
}

static void put_members(buf *b, const model_shape *s, const json_t *obj, int depth)
{
    if (depth > MAX_DEPTH)
        return;
    for (size_t i = 0; i < s->nmembers; i++) {
        const model_member *m = &s->members[i];
        const json_t *v = json_object_get(obj, m->name);
        if (v && !json_is_null(v))
            put_member(b, m->location_name, m->shape, m->flattened, v, depth);
    }
}

/* ---- document ----------------------------------------------------------------------- */

static void put_attr(buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            buf_append(b, "&amp;", 5);
            break;
        case '<':
            buf_append(b, "&lt;", 4);
            break;
        case '"':
            buf_append(b, "&quot;", 6);
            break;
        default:
            buf_putc(b, *s);
            break;
        }
    }
}

void xml_encode_response(buf *out, const model_service *svc, const model_operation *op,
                         const json_t *output, const char *request_id)
{
    const char *name = op ? op->name : "Unknown";
    buf_reserve(out, 256);
    buf_puts(out, "<?xml version=\"1.0\"?><");
    buf_puts(out, name);
    buf_puts(out, "Response");
    if (svc && svc->xml_namespace) {
        buf_puts(out, " xmlns=\"");
        put_attr(out, svc->xml_namespace);
        buf_putc(out, '"');
    }
    buf_putc(out, '>');
    if (op && op->output) {
        if (op->result_wrapper)
            open_tag(out, op->result_wrapper);
        if (json_is_object(output) && op->output->type == SHAPE_STRUCTURE)
            put_members(out, op->output, output, 0);
        if (op->result_wrapper)
            close_tag(out, op->result_wrapper);
    }
    buf_puts(out, "<ResponseMetadata><RequestId>");
    if (request_id)
        xml_put_text(out, request_id, strlen(request_id));
    buf_puts(out, "</RequestId></ResponseMetadata></");
    buf_puts(out, name);
    buf_puts(out, "Response>");
}
