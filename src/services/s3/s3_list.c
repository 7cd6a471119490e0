/* ListObjects and ListObjectsV2: a bucket's keys in UTF-8 byte order, under a prefix, with
 * keys sharing a delimiter-terminated part after the prefix rolled into CommonPrefixes.
 *
 * The listing walks the metadata table's (bucket) partition from a lower bound `lo` with
 * KV_RANGE pages. A key under a common prefix CP rolls into CP, and the walk jumps past every
 * key beginning with CP (lo = CP + 0xFF: no UTF-8 key has that byte), so a prefix holding a
 * million keys costs one read. The walk stops once MaxKeys entries (keys and common prefixes)
 * are collected; the place to resume is the `lo` after the last entry, which is what the
 * continuation token carries (base64, opaque to clients). StartAfter and Marker raise the
 * first bound; common prefixes not after them are skipped. */
#include "services/s3/s3_internal.h"

#include "common/alloc.h"
#include "common/base64.h"
#include "common/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_MAX 1000

typedef struct listing {
    aws_call *call;
    s3 *s;
    bool v2, url;
    char bucket[64];
    const char *prefix, *delimiter, *floor; /* borrowed from the call's input */
    size_t prefix_len, delimiter_len;
    int max_keys;
    buf lo, hi;       /* the current lower bound (inclusive), the prefix's upper bound */
    json_t *contents; /* metadata documents */
    json_t *prefixes; /* strings */
    bool truncated;
    store_op op;
} listing;

static void listing_free(listing *l)
{
    buf_free(&l->lo);
    buf_free(&l->hi);
    json_decref(l->contents);
    json_decref(l->prefixes);
    xfree(l);
}

static int entries(const listing *l)
{
    return (int)(json_array_size(l->contents) + json_array_size(l->prefixes));
}

static void set_lo(listing *l, const char *p, size_t n, char suffix)
{
    buf_reset(&l->lo);
    buf_append(&l->lo, p, n);
    buf_putc(&l->lo, suffix);
}

static void read_page(listing *l);
static void reply(listing *l);

/* memcmp order of two byte strings, a shorter one first on a tie. */
static int bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

/* Takes one key; false when the listing is full. */
static bool take_key(listing *l, json_t *doc, const char *key, bool *jumped)
{
    size_t klen = strlen(key);
    const char *cut =
        l->delimiter_len && klen > l->prefix_len ? strstr(key + l->prefix_len, l->delimiter) : NULL;
    if (cut) {
        size_t cplen = (size_t)(cut - key) + l->delimiter_len;
        bool skip = l->floor && bytes_cmp(key, cplen, l->floor, strlen(l->floor)) <= 0;
        if (!skip) {
            if (entries(l) >= l->max_keys) {
                l->truncated = true;
                return false;
            }
            json_array_append_new(l->prefixes, json_stringn(key, cplen));
        }
        set_lo(l, key, cplen, '\xff');
        *jumped = true;
        return true;
    }
    if (entries(l) >= l->max_keys) {
        l->truncated = true;
        return false;
    }
    json_array_append(l->contents, doc);
    set_lo(l, key, klen, '\0');
    return true;
}

static void page_read(store_op *op)
{
    listing *l = op->ctx;
    if (op->status != 0) {
        aws_reply_error(l->call, AWS_ERR_INTERNAL_ERROR, "The store could not list the bucket.");
        store_op_clear(op);
        listing_free(l);
        return;
    }
    bool full = false, jumped = false;
    size_t i;
    for (i = 0; i < op->u.kv_range.n && !full && !jumped; i++) {
        store_kv_item *it = &op->u.kv_range.items[i];
        json_t *doc = json_loadb(it->item, it->len, 0, NULL);
        const char *key = json_string_value(json_object_get(doc, "k"));
        if (key)
            full = !take_key(l, doc, key, &jumped);
        json_decref(doc);
    }
    bool more = op->u.kv_range.more;
    store_op_clear(op);
    if (!full && (jumped || more)) {
        read_page(l);
        return;
    }
    reply(l);
}

static void read_page(listing *l)
{
    memset(&l->op, 0, sizeof l->op);
    l->op.kind = STORE_KV_RANGE;
    l->op.u.kv_range.table = S3_T_META;
    l->op.u.kv_range.pk = (const unsigned char *)l->bucket;
    l->op.u.kv_range.pk_len = strlen(l->bucket);
    l->op.u.kv_range.lo = (const unsigned char *)(l->lo.data ? l->lo.data : "");
    l->op.u.kv_range.lo_len = l->lo.len;
    if (l->hi.len) {
        l->op.u.kv_range.hi = (const unsigned char *)l->hi.data;
        l->op.u.kv_range.hi_len = l->hi.len;
    }
    l->op.u.kv_range.forward = 1;
    int want = l->max_keys - entries(l) + 1;
    l->op.u.kv_range.max_items = want > PAGE_MAX ? PAGE_MAX : want;
    l->op.u.kv_range.max_bytes = INT64_MAX;
    l->op.done = page_read;
    l->op.ctx = l;
    l->op.now_ms = clock_now_ms();
    store_submit(l->s->store, &l->op);
}

/* ---- the answer ------------------------------------------------------------------------- */

static void token_of(const listing *l, buf *out)
{
    base64_encode(out, l->lo.data ? l->lo.data : "", l->lo.len);
    buf_putc(out, '\0');
    out->len--;
}

static json_t *json_answer(listing *l, const char *token)
{
    json_t *contents = json_array(), *prefixes = json_array();
    size_t i;
    json_t *doc, *p;
    char iso[32], etag[40];
    json_array_foreach(l->contents, i, doc)
    {
        s3_time_iso(json_integer_value(json_object_get(doc, "m")), iso);
        snprintf(etag, sizeof etag, "\"%s\"", json_string_value(json_object_get(doc, "e")));
        json_array_append_new(contents,
                              json_pack("{s:O,s:s,s:s,s:O,s:s}", "Key", json_object_get(doc, "k"),
                                        "LastModified", iso, "ETag", etag, "Size",
                                        json_object_get(doc, "s"), "StorageClass", "STANDARD"));
    }
    json_array_foreach(l->prefixes, i, p)
        json_array_append_new(prefixes, json_pack("{s:O}", "Prefix", p));
    json_t *out =
        json_pack("{s:s,s:s,s:i,s:b,s:i}", "Name", l->bucket, "Prefix", l->prefix, "MaxKeys",
                  l->max_keys, "IsTruncated", l->truncated, "KeyCount", entries(l));
    if (json_array_size(contents))
        json_object_set(out, "Contents", contents);
    if (json_array_size(prefixes))
        json_object_set(out, "CommonPrefixes", prefixes);
    json_decref(contents);
    json_decref(prefixes);
    if (l->delimiter_len)
        json_object_set_new(out, "Delimiter", json_string(l->delimiter));
    if (l->truncated && l->v2)
        json_object_set_new(out, "NextContinuationToken", json_string(token));
    return out;
}

static void xml_contents(listing *l, buf *x)
{
    size_t i;
    json_t *doc, *p;
    char iso[32], etag[40], size[24];
    json_array_foreach(l->contents, i, doc)
    {
        s3_time_iso(json_integer_value(json_object_get(doc, "m")), iso);
        snprintf(etag, sizeof etag, "\"%s\"", json_string_value(json_object_get(doc, "e")));
        snprintf(size, sizeof size, "%lld",
                 (long long)json_integer_value(json_object_get(doc, "s")));
        buf_puts(x, "<Contents>");
        s3_xml_elem(x, "Key", json_string_value(json_object_get(doc, "k")), l->url);
        s3_xml_elem(x, "LastModified", iso, false);
        s3_xml_elem(x, "ETag", etag, false);
        s3_xml_elem(x, "Size", size, false);
        if (!l->v2 || json_is_true(json_object_get(l->call->input, "FetchOwner"))) {
            buf_puts(x, "<Owner>");
            s3_xml_elem(x, "ID", l->s->account, false);
            buf_puts(x, "<DisplayName>sluice</DisplayName></Owner>");
        }
        buf_puts(x, "<StorageClass>STANDARD</StorageClass></Contents>");
    }
    json_array_foreach(l->prefixes, i, p)
    {
        buf_puts(x, "<CommonPrefixes>");
        s3_xml_elem(x, "Prefix", json_string_value(p), l->url);
        buf_puts(x, "</CommonPrefixes>");
    }
}

static void xml_answer(listing *l, const char *token, buf *x)
{
    char n[24];
    buf_puts(x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"" S3_XMLNS
                "\">");
    s3_xml_elem(x, "Name", l->bucket, false);
    s3_xml_elem(x, "Prefix", l->prefix, l->url);
    const char *start = s3_in_str(l->call, l->v2 ? "StartAfter" : "Marker");
    const char *ctoken = s3_in_str(l->call, "ContinuationToken");
    if (l->v2) {
        if (start)
            s3_xml_elem(x, "StartAfter", start, l->url);
        if (ctoken)
            s3_xml_elem(x, "ContinuationToken", ctoken, false);
        snprintf(n, sizeof n, "%d", entries(l));
        s3_xml_elem(x, "KeyCount", n, false);
    } else {
        s3_xml_elem(x, "Marker", start ? start : "", l->url);
    }
    snprintf(n, sizeof n, "%d", l->max_keys);
    s3_xml_elem(x, "MaxKeys", n, false);
    if (l->delimiter_len)
        s3_xml_elem(x, "Delimiter", l->delimiter, l->url);
    if (l->url)
        buf_puts(x, "<EncodingType>url</EncodingType>");
    buf_puts(x,
             l->truncated ? "<IsTruncated>true</IsTruncated>" : "<IsTruncated>false</IsTruncated>");
    if (l->truncated && l->v2)
        s3_xml_elem(x, "NextContinuationToken", token, false);
    if (l->truncated && !l->v2 && l->delimiter_len) {
        /* the last entry returned, key or common prefix */
        const char *last_key = json_string_value(
            json_object_get(json_array_get(l->contents, json_array_size(l->contents) - 1), "k"));
        const char *last_cp =
            json_string_value(json_array_get(l->prefixes, json_array_size(l->prefixes) - 1));
        const char *last =
            !last_cp || (last_key && strcmp(last_key, last_cp) > 0) ? last_key : last_cp;
        if (last)
            s3_xml_elem(x, "NextMarker", last, l->url);
    }
    xml_contents(l, x);
    buf_puts(x, "</ListBucketResult>");
}

static void reply(listing *l)
{
    buf token = BUF_INIT;
    token_of(l, &token);
    if (l->call->protocol != AWS_PROTO_REST_XML) {
        aws_reply(l->call, json_answer(l, token.data ? token.data : ""));
    } else {
        buf x = BUF_INIT;
        xml_answer(l, token.data ? token.data : "", &x);
        s3_reply_xml(l->call, &x);
    }
    buf_free(&token);
    listing_free(l);
}

/* ---- the operations --------------------------------------------------------------------- */

static void list(aws_call *call, bool v2)
{
    s3_bucket *b = s3_in_bucket(call);
    if (!b)
        return;
    json_t *mk = json_object_get(call->input, "MaxKeys");
    json_int_t max = mk ? json_integer_value(mk) : 1000;
    if (mk && (!json_is_integer(mk) || max < 0)) {
        aws_reply_error(call, AWS_ERR_S3_INVALID_ARGUMENT,
                        "Provided max-keys not an integer or within integer range");
        return;
    }
    const char *enc = s3_in_str(call, "EncodingType");
    if (enc && strcmp(enc, "url") != 0) {
        aws_reply_error(call, AWS_ERR_S3_INVALID_ARGUMENT,
                        "Invalid Encoding Method specified in Request");
        return;
    }
    listing *l = xcalloc(1, sizeof *l);
    l->call = call;
    l->s = s3_of(call);
    l->v2 = v2;
    l->url = enc != NULL;
    snprintf(l->bucket, sizeof l->bucket, "%s", b->name);
    l->prefix = s3_in_str(call, "Prefix") ? s3_in_str(call, "Prefix") : "";
    l->delimiter = s3_in_str(call, "Delimiter") ? s3_in_str(call, "Delimiter") : "";
    l->prefix_len = strlen(l->prefix);
    l->delimiter_len = strlen(l->delimiter);
    l->max_keys = max > 1000 ? 1000 : (int)max;
    l->contents = json_array();
    l->prefixes = json_array();
    buf_append(&l->lo, l->prefix, l->prefix_len);
    if (l->prefix_len) {
        buf_append(&l->hi, l->prefix, l->prefix_len);
        buf_putc(&l->hi, '\xff');
    }
    const char *token = v2 ? s3_in_str(call, "ContinuationToken") : NULL;
    if (token) {
        buf lo = BUF_INIT;
        if (!token[0] || base64_decode(&lo, token, strlen(token)) != 0) {
            buf_free(&lo);
            listing_free(l);
            aws_reply_error(call, AWS_ERR_S3_INVALID_ARGUMENT,
                            "The continuation token provided is incorrect");
            return;
        }
        buf_free(&l->lo);
        l->lo = lo;
    } else {
        l->floor = s3_in_str(call, v2 ? "StartAfter" : "Marker");
        if (l->floor && !l->floor[0])
            l->floor = NULL;
        size_t fl = l->floor ? strlen(l->floor) : 0;
        if (l->floor && bytes_cmp(l->floor, fl, l->lo.data ? l->lo.data : "", l->lo.len) >= 0)
            set_lo(l, l->floor, fl, '\0');
    }
    if (l->max_keys == 0) {
        reply(l);
        return;
    }
    read_page(l);
}

void s3_list_objects(aws_call *call)
{
    list(call, false);
}

void s3_list_objects_v2(aws_call *call)
{
    list(call, true);
}
