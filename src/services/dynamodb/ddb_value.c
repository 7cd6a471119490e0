/* DynamoDB AttributeValues (see ddb_value.h).
 *
 * Validation follows the order in which DynamoDB reports problems: each type key of the
 * value is checked in turn (numbers, NULL, empty sets, set members, duplicates, nested
 * values), and only then "more than one datatype". Set duplicates are found by sorting a
 * copy of the members (numbers are canonical by then, so equal numbers have equal text),
 * which keeps a 100,000-member set linear-logarithmic. */
#include "services/dynamodb/ddb_value.h"

#include "common/base64.h"

#include "common/alloc.h"
#include "services/dynamodb/ddb_number.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INVALID "One or more parameter values were invalid: "

static const char *const type_names[] = {"",  "S", "N",  "B",  "BOOL", "NULL",
                                         "M", "L", "SS", "NS", "BS"};

const char *ddb_type_name(ddb_type t)
{
    return (unsigned)t < sizeof type_names / sizeof *type_names ? type_names[t] : "";
}

ddb_type ddb_type_from_name(const char *name, size_t n)
{
    for (size_t t = DDB_S; t <= DDB_BS; t++)
        if (strlen(type_names[t]) == n && memcmp(type_names[t], name, n) == 0)
            return (ddb_type)t;
    return DDB_NONE;
}

ddb_type ddb_type_of(const json_t *av)
{
    if (!json_is_object(av) || json_object_size(av) != 1)
        return DDB_NONE;
    const char *key;
    size_t key_len;
    json_t *v;
    json_object_keylen_foreach((json_t *)av, key, key_len, v)
    {
        return ddb_type_from_name(key, key_len);
    }
    return DDB_NONE;
}

json_t *ddb_payload(const json_t *av)
{
    ddb_type t = ddb_type_of(av);
    return t == DDB_NONE ? NULL : json_object_get(av, ddb_type_name(t));
}

static int fail(int code, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(int code, char *err, size_t errlen, const char *fmt, ...)
{
    if (errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* ------------------------------------------------------------------------ base64 */

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Checks s is strict base64; returns the decoded length, or -1 with the reason in err. */
static long b64_check(const char *s, size_t n, char *err, size_t errlen)
{
    if (n % 4 != 0) {
        fail(0, err, errlen,
             "Base64 encoded length is expected a multiple of 4 bytes but found: %zu", n);
        return -1;
    }
    size_t pad = 0;
    if (n >= 1 && s[n - 1] == '=')
        pad++;
    if (n >= 2 && s[n - 2] == '=')
        pad++;
    for (size_t i = 0; i < n - pad; i++) {
        if (b64_value((unsigned char)s[i]) < 0) {
            unsigned char c = (unsigned char)s[i];
            if (c >= 0x20 && c < 0x7f)
                fail(0, err, errlen, "Invalid Base64 character: '%c'", c);
            else
                fail(0, err, errlen, "Invalid Base64 character: 0x%02x", c);
            return -1;
        }
    }
    if (pad) {
        int last = b64_value((unsigned char)s[n - pad - 1]);
        int unused_mask = pad == 2 ? 0x0f : 0x03;
        if (last & unused_mask) {
            fail(0, err, errlen, "Invalid last non-pad Base64 character dectected");
            return -1;
        }
    }
    return (long)(n / 4 * 3 - pad);
}

int ddb_base64_decode(const char *s, size_t n, buf *out)
{
    char err[8];
    return b64_check(s, n, err, sizeof err) < 0 ? -1 : base64_decode(out, s, n);
}

static size_t b64_len(const json_t *s)
{
    return base64_decoded_len(json_string_value(s), json_string_length(s));
}

/* -------------------------------------------------------------------- validation */

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_INTEGER:
    case JSON_REAL:
        return "NUMBER_VALUE";
    case JSON_STRING:
        return "STRING_VALUE";
    case JSON_TRUE:
    case JSON_FALSE:
        return "BOOLEAN_VALUE";
    default:
        return "NULL_VALUE";
    }
}

/* The SerializationException for a JSON value that is not of the type target needs. */
static int wrong_json(const json_t *v, const char *target, char *err, size_t errlen)
{
    if (json_is_object(v))
        return fail(DDB_ERR_SERIALIZATION, err, errlen,
                    "Start of structure or map found where not expected.");
    if (json_is_array(v))
        return fail(DDB_ERR_SERIALIZATION, err, errlen, "Start of list found where not expected");
    return fail(DDB_ERR_SERIALIZATION, err, errlen, "%s cannot be converted to %s", json_kind(v),
                target);
}

static int validate_at(json_t *av, int depth, char *err, size_t errlen);

static int canonicalize_number(json_t *s, char *err, size_t errlen)
{
    ddb_number x;
    if (ddb_number_parse(&x, json_string_value(s), json_string_length(s), err, errlen) != 0)
        return DDB_ERR_VALIDATION;
    buf b = BUF_INIT;
    ddb_number_format(&x, &b);
    if (b.len != json_string_length(s) || memcmp(b.data, json_string_value(s), b.len) != 0)
        json_string_setn_nocheck(s, b.data, b.len);
    buf_free(&b);
    return 0;
}

static int cmp_json_strings(const void *pa, const void *pb)
{
    const json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
    size_t na = json_string_length(a), nb = json_string_length(b);
    int c = memcmp(json_string_value(a), json_string_value(b), na < nb ? na : nb);
    return c ? c : (na < nb ? -1 : na > nb);
}

static int has_duplicate(const json_t *arr)
{
    size_t n = json_array_size(arr);
    if (n < 2)
        return 0;
    json_t **sorted = xmalloc(n * sizeof *sorted);
    for (size_t i = 0; i < n; i++)
        sorted[i] = json_array_get(arr, i);
    qsort(sorted, n, sizeof *sorted, cmp_json_strings);
    int dup = 0;
    for (size_t i = 1; i < n && !dup; i++)
        dup = cmp_json_strings(&sorted[i - 1], &sorted[i]) == 0;
    xfree(sorted);
    return dup;
}

/* "[a, b, c]" as DynamoDB quotes a set in its duplicate message (long sets cut short). */
static void list_members(const json_t *arr, char *out, size_t outlen)
{
    buf b = BUF_INIT;
    buf_putc(&b, '[');
    for (size_t i = 0; i < json_array_size(arr) && b.len < 400; i++) {
        if (i)
            buf_puts(&b, ", ");
        buf_append(&b, json_string_value(json_array_get(arr, i)),
                   strnlen(json_string_value(json_array_get(arr, i)),
                           json_string_length(json_array_get(arr, i))));
    }
    buf_putc(&b, ']');
    snprintf(out, outlen, "%s", b.data);
    buf_free(&b);
}

static int validate_set(ddb_type t, json_t *arr, char *err, size_t errlen)
{
    static const char *const empty[] = {[DDB_SS] = INVALID "An string set  may not be empty",
                                        [DDB_NS] = INVALID "An number set  may not be empty",
                                        [DDB_BS] = INVALID "Binary sets should not be empty"};
    if (json_array_size(arr) == 0)
        return fail(DDB_ERR_VALIDATION, err, errlen, "%s", empty[t]);
    size_t i;
    json_t *m;
    json_array_foreach(arr, i, m)
    {
        if (!json_is_string(m))
            return wrong_json(m, t == DDB_BS ? "Blob" : "String", err, errlen);
        if (t == DDB_NS && canonicalize_number(m, err, errlen) != 0)
            return DDB_ERR_VALIDATION;
        if (t == DDB_BS && b64_check(json_string_value(m), json_string_length(m), err, errlen) < 0)
            return DDB_ERR_SERIALIZATION;
    }
    if (!has_duplicate(arr))
        return 0;
    if (t == DDB_NS)
        return fail(DDB_ERR_VALIDATION, err, errlen, "Input collection contains duplicates");
    char members[512];
    list_members(arr, members, sizeof members);
    return fail(DDB_ERR_VALIDATION, err, errlen,
                t == DDB_SS ? INVALID "Input collection %s contains duplicates."
                            : INVALID "Input collection %sof type BS contains duplicates.",
                members);
}

/* Checks one type key's payload. */
static int validate_payload(ddb_type t, json_t *v, int depth, char *err, size_t errlen)
{
    switch (t) {
    case DDB_S:
        return json_is_string(v) ? 0 : wrong_json(v, "String", err, errlen);
    case DDB_N:
        if (!json_is_string(v))
            return wrong_json(v, "String", err, errlen);
        return canonicalize_number(v, err, errlen);
    case DDB_B:
        if (!json_is_string(v))
            return wrong_json(v, "Blob", err, errlen);
        return b64_check(json_string_value(v), json_string_length(v), err, errlen) < 0
                   ? DDB_ERR_SERIALIZATION
                   : 0;
    case DDB_BOOL:
        return json_is_boolean(v) ? 0 : wrong_json(v, "Boolean", err, errlen);
    case DDB_NULL:
        if (!json_is_boolean(v))
            return wrong_json(v, "Boolean", err, errlen);
        if (!json_is_true(v))
            return fail(DDB_ERR_VALIDATION, err, errlen,
                        INVALID "Null attribute value types must have the value of true");
        return 0;
    case DDB_SS:
    case DDB_NS:
    case DDB_BS:
        if (!json_is_array(v))
            return fail(DDB_ERR_SERIALIZATION, err, errlen, "Expected list or null");
        return validate_set(t, v, err, errlen);
    case DDB_M: {
        if (!json_is_object(v))
            return fail(DDB_ERR_SERIALIZATION, err, errlen, "Expected map or null");
        const char *k;
        json_t *child;
        json_object_foreach(v, k, child)
        {
            int rc = validate_at(child, depth + 1, err, errlen);
            if (rc)
                return rc;
        }
        return 0;
    }
    case DDB_L: {
        if (!json_is_array(v))
            return fail(DDB_ERR_SERIALIZATION, err, errlen, "Expected list or null");
        size_t i;
        json_t *child;
        json_array_foreach(v, i, child)
        {
            int rc = validate_at(child, depth + 1, err, errlen);
            if (rc)
                return rc;
        }
        return 0;
    }
    default:
        return 0;
    }
}

static int validate_at(json_t *av, int depth, char *err, size_t errlen)
{
    if (depth > DDB_MAX_DEPTH)
        return fail(DDB_ERR_VALIDATION, err, errlen,
                    "Nesting Levels have exceeded supported limits: Attributes in the item "
                    "have nested levels beyond supported limit");
    if (!json_is_object(av))
        return json_is_array(av) ? fail(DDB_ERR_SERIALIZATION, err, errlen,
                                        "Start of list found where not expected")
                                 : fail(DDB_ERR_SERIALIZATION, err, errlen, "Expected null");
    size_t types = 0;
    const char *key;
    size_t key_len;
    json_t *v;
    json_object_keylen_foreach(av, key, key_len, v)
    {
        ddb_type t = ddb_type_from_name(key, key_len);
        if (t == DDB_NONE || json_is_null(v))
            continue; /* unknown members and nulls are absent, as in AWS's JSON protocol */
        types++;
        int rc = validate_payload(t, v, depth, err, errlen);
        if (rc)
            return rc;
    }
    if (types == 0)
        return fail(DDB_ERR_VALIDATION, err, errlen,
                    "Supplied AttributeValue is empty, must contain exactly one of the "
                    "supported datatypes");
    if (types > 1)
        return fail(DDB_ERR_VALIDATION, err, errlen,
                    "Supplied AttributeValue has more than one datatypes set, must contain "
                    "exactly one of the supported datatypes");
    if (json_object_size(av) != 1) {
        /* Drop the ignored members so that ddb_type_of sees the one type. */
        void *it = json_object_iter(av);
        while (it) {
            const char *k = json_object_iter_key(it);
            size_t kl = json_object_iter_key_len(it);
            json_t *val = json_object_iter_value(it);
            it = json_object_iter_next(av, it);
            if (ddb_type_from_name(k, kl) == DDB_NONE || json_is_null(val))
                json_object_deln(av, k, kl);
        }
    }
    return 0;
}

int ddb_value_validate(json_t *av, char *err, size_t errlen)
{
    return validate_at(av, 1, err, errlen);
}

int ddb_item_validate(json_t *item, char *err, size_t errlen)
{
    if (!json_is_object(item))
        return fail(DDB_ERR_SERIALIZATION, err, errlen, "Expected map or null");
    const char *k;
    json_t *v;
    json_object_foreach(item, k, v)
    {
        int rc = ddb_value_validate(v, err, errlen);
        if (rc)
            return rc;
    }
    return 0;
}

/* -------------------------------------------------------------------------- size */

static size_t number_size(const json_t *s)
{
    ddb_number x;
    char err[8];
    if (ddb_number_parse(&x, json_string_value(s), json_string_length(s), err, sizeof err) != 0)
        return json_string_length(s);
    return ddb_number_size(&x);
}

size_t ddb_value_size(const json_t *av)
{
    ddb_type t = ddb_type_of(av);
    json_t *v = ddb_payload(av);
    size_t size = 0, i;
    json_t *m;
    switch (t) {
    case DDB_S:
        return json_string_length(v);
    case DDB_N:
        return number_size(v);
    case DDB_B:
        return b64_len(v);
    case DDB_BOOL:
    case DDB_NULL:
        return 1;
    case DDB_SS:
        json_array_foreach(v, i, m) size += json_string_length(m);
        return size;
    case DDB_NS:
        json_array_foreach(v, i, m) size += number_size(m);
        return size;
    case DDB_BS:
        json_array_foreach(v, i, m) size += b64_len(m);
        return size;
    case DDB_L:
        size = 3;
        json_array_foreach(v, i, m) size += 1 + ddb_value_size(m);
        return size;
    case DDB_M: {
        size = 3;
        const char *k;
        size_t kl;
        json_object_keylen_foreach(v, k, kl, m) size += 1 + kl + ddb_value_size(m);
        return size;
    }
    default:
        return 0;
    }
}

size_t ddb_item_size(const json_t *item)
{
    size_t size = 0;
    const char *k;
    size_t kl;
    json_t *v;
    json_object_keylen_foreach((json_t *)item, k, kl, v) size += kl + ddb_value_size(v);
    return size;
}

/* ---------------------------------------------------------- equality and ordering */

static int parse_number(const json_t *s, ddb_number *x)
{
    char err[8];
    return ddb_number_parse(x, json_string_value(s), json_string_length(s), err, sizeof err);
}

static int numbers_equal(const json_t *a, const json_t *b)
{
    ddb_number x, y;
    if (parse_number(a, &x) != 0 || parse_number(b, &y) != 0)
        return json_equal(a, b);
    return ddb_number_cmp(&x, &y) == 0;
}

static int cmp_numbers(const void *pa, const void *pb)
{
    return ddb_number_cmp(pa, pb);
}

static int sets_equal(ddb_type t, const json_t *a, const json_t *b)
{
    size_t n = json_array_size(a);
    if (n != json_array_size(b))
        return 0;
    int equal = 1;
    if (t == DDB_NS) {
        ddb_number *x = xmalloc(2 * n * sizeof *x), *y = x + n;
        for (size_t i = 0; i < n && equal; i++)
            equal = parse_number(json_array_get(a, i), &x[i]) == 0 &&
                    parse_number(json_array_get(b, i), &y[i]) == 0;
        if (equal) {
            qsort(x, n, sizeof *x, cmp_numbers);
            qsort(y, n, sizeof *y, cmp_numbers);
            for (size_t i = 0; i < n && equal; i++)
                equal = ddb_number_cmp(&x[i], &y[i]) == 0;
        }
        xfree(x);
        return equal;
    }
    json_t **x = xmalloc(2 * n * sizeof *x), **y = x + n;
    for (size_t i = 0; i < n; i++) {
        x[i] = json_array_get(a, i);
        y[i] = json_array_get(b, i);
    }
    qsort(x, n, sizeof *x, cmp_json_strings);
    qsort(y, n, sizeof *y, cmp_json_strings);
    for (size_t i = 0; i < n && equal; i++)
        equal = cmp_json_strings(&x[i], &y[i]) == 0;
    xfree(x);
    return equal;
}

int ddb_value_equal(const json_t *a, const json_t *b)
{
    ddb_type t = ddb_type_of(a);
    if (t == DDB_NONE || t != ddb_type_of(b))
        return 0;
    json_t *x = ddb_payload(a), *y = ddb_payload(b);
    switch (t) {
    case DDB_N:
        return numbers_equal(x, y);
    case DDB_SS:
    case DDB_NS:
    case DDB_BS:
        return sets_equal(t, x, y);
    case DDB_L: {
        if (json_array_size(x) != json_array_size(y))
            return 0;
        for (size_t i = 0; i < json_array_size(x); i++)
            if (!ddb_value_equal(json_array_get(x, i), json_array_get(y, i)))
                return 0;
        return 1;
    }
    case DDB_M: {
        if (json_object_size(x) != json_object_size(y))
            return 0;
        const char *k;
        size_t kl;
        json_t *v;
        json_object_keylen_foreach(x, k, kl, v)
        {
            json_t *w = json_object_getn(y, k, kl);
            if (!w || !ddb_value_equal(v, w))
                return 0;
        }
        return 1;
    }
    default:
        return json_equal(x, y); /* S and B (canonical base64), BOOL, NULL */
    }
}

static int cmp_bytes(const char *a, size_t na, const char *b, size_t nb)
{
    int c = memcmp(a, b, na < nb ? na : nb);
    if (c)
        return c < 0 ? -1 : 1;
    return na < nb ? -1 : na > nb;
}

int ddb_key_cmp(const json_t *a, const json_t *b)
{
    ddb_type ta = ddb_type_of(a), tb = ddb_type_of(b);
    if (ta != tb)
        return ta < tb ? -1 : 1;
    json_t *x = ddb_payload(a), *y = ddb_payload(b);
    if (ta == DDB_S)
        return cmp_bytes(json_string_value(x), json_string_length(x), json_string_value(y),
                         json_string_length(y));
    if (ta == DDB_N) {
        ddb_number p, q;
        if (parse_number(x, &p) != 0 || parse_number(y, &q) != 0)
            return 0;
        return ddb_number_cmp(&p, &q);
    }
    if (ta == DDB_B) {
        buf p = BUF_INIT, q = BUF_INIT;
        ddb_base64_decode(json_string_value(x), json_string_length(x), &p);
        ddb_base64_decode(json_string_value(y), json_string_length(y), &q);
        int c = cmp_bytes(p.data ? p.data : "", p.len, q.data ? q.data : "", q.len);
        buf_free(&p);
        buf_free(&q);
        return c;
    }
    return 0;
}

int ddb_key_encode(const json_t *av, buf *out)
{
    ddb_type t = ddb_type_of(av);
    json_t *v = ddb_payload(av);
    if (t == DDB_S) {
        buf_putc(out, 'S');
        buf_append(out, json_string_value(v), json_string_length(v));
        return 0;
    }
    if (t == DDB_N) {
        ddb_number x;
        if (parse_number(v, &x) != 0)
            return -1;
        buf_putc(out, 'N');
        ddb_number_encode_key(&x, out);
        return 0;
    }
    if (t == DDB_B) {
        buf_putc(out, 'B');
        return ddb_base64_decode(json_string_value(v), json_string_length(v), out);
    }
    return -1;
}
