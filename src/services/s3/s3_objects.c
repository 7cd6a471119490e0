/* S3 objects: PutObject, GetObject, HeadObject, DeleteObject, DeleteObjects, CopyObject.
 *
 * An object is two rows of the store under (bucket, key): its metadata document in S3_T_META
 * ({"k": key, "s": size, "e": MD5 hex, "t": content type, "m": last modified ms, "u": user
 * metadata, "h": the other representation headers}) and its bytes in S3_T_BODY. A write is
 * one KV_MUTATE of the metadata row with the body as its side row, so both commit together;
 * a delete removes both the same way. An object made by a multipart upload (s3_multipart.c)
 * has no BODY row: its metadata also names the upload ("up") and its parts ("p": [[number,
 * size]...]), whose rows in S3_T_PART_BODY are its bytes; overwriting or deleting the object
 * deletes them in the same commit. Reads take the rows they need in one KV_GET (two for a
 * multipart object: s3_object_fetch); nothing of an object stays in memory after its
 * request. */
#include "services/s3/s3_internal.h"

#include "common/alloc.h"
#include "common/base64.h"
#include "common/clock.h"
#include "common/hex.h"
#include "common/utf8.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Stored representation headers: input member -> HTTP header. */
static const char *const rep_headers[][2] = {
    {"CacheControl", "Cache-Control"},
    {"ContentDisposition", "Content-Disposition"},
    {"ContentEncoding", "Content-Encoding"},
    {"ContentLanguage", "Content-Language"},
    {"Expires", "Expires"},
};

void s3_md5_hex(const char *data, size_t len, char out[33], unsigned char raw[16])
{
    unsigned int n = 0;
    EVP_Digest(data, len, raw, &n, EVP_md5(), NULL);
    hex_encode(raw, 16, out);
}

static void quoted_etag(const json_t *meta, char out[40])
{
    snprintf(out, 40, "\"%s\"", json_string_value(json_object_get(meta, "e")));
}

/* ---- writing ---------------------------------------------------------------------------- */

/* One object write in flight: the rows the store takes, and the bucket's write count. */
typedef struct put_plan {
    s3 *s;
    char bucket[64];
    char *meta, *body; /* handed to the store by the callback */
    size_t meta_len, body_len;
    json_t *doc; /* the metadata document, for the reply */
} put_plan;

unsigned char *s3_dup_bytes(const char *p, size_t n)
{
    unsigned char *c = xmalloc(n ? n : 1);
    if (n)
        memcpy(c, p, n);
    return c;
}

/* The key of part `part` of upload `id` in table (S3_T_PART or S3_T_PART_BODY), its bytes
 * malloc'd (for a side row). */
store_kv_key s3_part_key_dup(int64_t table, const char *id, int part)
{
    char sk[12];
    snprintf(sk, sizeof sk, "%05d", part);
    return (store_kv_key){table, s3_dup_bytes(id, strlen(id)), strlen(id),
                          s3_dup_bytes(sk, strlen(sk)), strlen(sk)};
}

void s3_old_chunk_sides(const char *old, size_t old_len, store_kv_side **sides, size_t *n)
{
    if (!old || !strstr(old, "\"up\""))
        return;
    json_t *doc = json_loadb(old, old_len, 0, NULL);
    const char *up = json_string_value(json_object_get(doc, "up"));
    json_t *parts = json_object_get(doc, "p");
    size_t k = up ? json_array_size(parts) : 0;
    if (k) {
        *sides = xrealloc(*sides, (*n + k) * sizeof **sides);
        for (size_t i = 0; i < k; i++) {
            int part = (int)json_integer_value(json_array_get(json_array_get(parts, i), 0));
            (*sides)[(*n)++] = (store_kv_side){.key = s3_part_key_dup(S3_T_PART_BODY, up, part)};
        }
    }
    json_decref(doc);
}

static int put_write(void *arg, const char *old, size_t old_len, store_kv_write *out)
{
    s3_request *r = arg;
    put_plan *p = r->extra;
    store_kv_side *side = xcalloc(1, sizeof *side);
    side->key =
        (store_kv_key){S3_T_BODY, s3_dup_bytes(r->bucket, strlen(r->bucket)), strlen(r->bucket),
                       s3_dup_bytes(r->key, strlen(r->key)), strlen(r->key)};
    side->item = p->body ? p->body : xmalloc(1);
    side->len = p->body_len;
    side->size = (int64_t)p->body_len;
    out->sides = side;
    out->nsides = 1;
    s3_old_chunk_sides(old, old_len, &out->sides, &out->nsides);
    out->item = p->meta;
    out->len = p->meta_len;
    out->size = (int64_t)p->body_len;
    p->meta = p->body = NULL;
    return STORE_KV_PUT;
}

static void put_plan_free(void *arg)
{
    put_plan *p = arg;
    s3_bucket *b = s3_bucket_find(p->s, p->bucket);
    if (b)
        b->writes--;
    xfree(p->meta);
    xfree(p->body);
    json_decref(p->doc);
    xfree(p);
}

static void key_of(s3_request *r, int i, int64_t table)
{
    r->keys[i] = (store_kv_key){table, (const unsigned char *)r->bucket, strlen(r->bucket),
                                (const unsigned char *)r->key, strlen(r->key)};
}

/* Writes object (bucket, key) with body and metadata document doc (taken; its size, ETag and
 * time are set here), then runs reply (r->extra is the put_plan). */
static void object_write(aws_call *call, s3_bucket *b, const char *key, const char *body,
                         size_t len, json_t *doc, s3_reply_fn reply)
{
    char etag[33];
    unsigned char raw[16];
    s3_md5_hex(body, len, etag, raw);
    json_object_set_new(doc, "k", json_string(key));
    json_object_set_new(doc, "s", json_integer((json_int_t)len));
    json_object_set_new(doc, "e", json_string(etag));
    json_object_set_new(doc, "m", json_integer(clock_now_ms()));
    put_plan *p = xcalloc(1, sizeof *p);
    p->s = s3_of(call);
    snprintf(p->bucket, sizeof p->bucket, "%s", b->name);
    p->meta = json_dumps(doc, JSON_COMPACT);
    p->meta_len = strlen(p->meta);
    p->body = (char *)s3_dup_bytes(body, len);
    p->body_len = len;
    p->doc = doc;
    b->writes++;
    s3_request *r = s3_request_new(call, STORE_KV_MUTATE, reply);
    r->bucket = xstrdup(b->name);
    r->key = xstrdup(key);
    r->extra = p;
    r->extra_free = put_plan_free;
    key_of(r, 0, S3_T_META);
    r->op.u.kv_mutate.key = r->keys[0];
    r->op.u.kv_mutate.fn = put_write;
    r->op.u.kv_mutate.arg = r;
    s3_request_submit(r);
}

/* The metadata document of a new object from the input's members. */
json_t *s3_doc_from_input(aws_call *call)
{
    const char *ct = s3_in_str(call, "ContentType");
    json_t *doc = json_pack("{s:s}", "t", ct && ct[0] ? ct : "binary/octet-stream");
    json_t *meta = json_object_get(call->input, "Metadata");
    json_t *u = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(meta, k, v) if (json_is_string(v)) json_object_set(u, k, v);
    json_object_set_new(doc, "u", u);
    json_t *h = json_object();
    for (size_t i = 0; i < sizeof rep_headers / sizeof rep_headers[0]; i++) {
        const char *val = s3_in_str(call, rep_headers[i][0]);
        if (val)
            json_object_set_new(h, rep_headers[i][1], json_string(val));
    }
    json_object_set_new(doc, "h", h);
    return doc;
}

static void put_done(s3_request *r)
{
    put_plan *p = r->extra;
    char etag[40];
    quoted_etag(p->doc, etag);
    if (r->call->protocol != AWS_PROTO_REST_XML) {
        aws_reply(r->call, json_pack("{s:s}", "ETag", etag));
        return;
    }
    http_header h[] = {{"ETag", etag}};
    buf none = BUF_INIT;
    aws_reply_http(r->call, 200, h, 1, &none);
}

/* Content-MD5: base64 of the 16-byte digest. 0, or -1 (answered). */
int s3_check_md5(aws_call *call, const unsigned char raw[16])
{
    const char *want = s3_in_str(call, "ContentMD5");
    if (!want)
        return 0;
    buf d = BUF_INIT;
    int ok = base64_decode(&d, want, strlen(want)) == 0 && d.len == 16;
    int same = ok && memcmp(d.data, raw, 16) == 0;
    buf_free(&d);
    if (!ok) {
        aws_reply_error(call, AWS_ERR_S3_INVALID_DIGEST,
                        "The Content-MD5 you specified was invalid.");
        return -1;
    }
    if (!same) {
        aws_reply_error(call, AWS_ERR_S3_BAD_DIGEST,
                        "The Content-MD5 you specified did not match what we received.");
        return -1;
    }
    return 0;
}

/* The bucket an object write goes to, or an answered error. */
s3_bucket *s3_write_bucket(aws_call *call)
{
    s3_bucket *b = s3_in_bucket(call);
    if (b && b->deleting) {
        s3_error_bucket(call, AWS_ERR_S3_OPERATION_ABORTED, b->name,
                        "A conflicting conditional operation is currently in progress against "
                        "this resource. Please try again.");
        return NULL;
    }
    return b;
}

int s3_upload_body(aws_call *call, const char **body, size_t *len, buf *decoded)
{
    if (s3_body(call, body, len, decoded) != 0)
        return -1;
    if (*len > S3_MAX_OBJECT_BYTES) {
        aws_reply_error(call, AWS_ERR_S3_ENTITY_TOO_LARGE,
                        "Your proposed upload exceeds the maximum allowed size (%u bytes in "
                        "Sluice).",
                        S3_MAX_OBJECT_BYTES);
        return -1;
    }
    char etag[33];
    unsigned char raw[16];
    s3_md5_hex(*body, *len, etag, raw);
    return s3_check_md5(call, raw);
}

void s3_put_object(aws_call *call)
{
    s3_bucket *b = s3_write_bucket(call);
    const char *key = b ? s3_in_key(call) : NULL;
    if (!key)
        return;
    buf decoded = BUF_INIT;
    const char *body;
    size_t len;
    if (s3_upload_body(call, &body, &len, &decoded) != 0)
        goto out;
    object_write(call, b, key, body, len, s3_doc_from_input(call), put_done);
out:
    buf_free(&decoded);
}

/* ---- reading ---------------------------------------------------------------------------- */

typedef struct range {
    bool set;
    size_t first, last; /* inclusive */
} range;

/* "bytes=a-b", "bytes=a-", "bytes=-n" against size. 0 (r->set when it applies), or -1 when
 * the range cannot be satisfied. Syntax S3 does not understand is ignored, as S3 does. */
static int parse_range(const char *h, size_t size, range *r)
{
    r->set = false;
    if (!h || strncmp(h, "bytes=", 6) != 0 || strchr(h, ','))
        return 0;
    const char *p = h + 6, *dash = strchr(p, '-');
    if (!dash)
        return 0;
    char *end;
    if (dash == p) { /* suffix */
        unsigned long long n = strtoull(dash + 1, &end, 10);
        if (*end || !dash[1])
            return 0;
        if (n == 0)
            return -1;
        r->first = n >= size ? 0 : size - (size_t)n;
        r->last = size ? size - 1 : 0;
        r->set = size > 0;
        return size > 0 ? 0 : -1;
    }
    unsigned long long a = strtoull(p, &end, 10);
    if (end != dash)
        return 0;
    unsigned long long z = size ? size - 1 : 0;
    if (dash[1]) {
        z = strtoull(dash + 1, &end, 10);
        if (*end || z < a)
            return 0;
    }
    if (a >= size)
        return -1;
    r->first = (size_t)a;
    r->last = z >= size ? size - 1 : (size_t)z;
    r->set = true;
    return 0;
}

/* Whether an If-Match / If-None-Match list names the ETag (hex, unquoted). */
static bool etag_listed(const char *list, const char *etag)
{
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == '*')
            return true;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        if (*p == '"')
            p++;
        size_t n = strcspn(p, "\",");
        if (n == strlen(etag) && strncmp(p, etag, n) == 0)
            return true;
        p += n;
        if (*p == '"')
            p++;
    }
    return false;
}

/* Text of body for a JSON caller: invalid UTF-8 sequences become U+FFFD. */
static json_t *body_text(const char *p, size_t n)
{
    json_t *s = json_stringn(p, n);
    if (s)
        return s;
    buf b = BUF_INIT;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t l = utf8_decode((const unsigned char *)p + i, n - i, &cp);
        if (l == 0 || cp == 0) {
            buf_puts(&b, "\xef\xbf\xbd");
            i += l ? l : 1;
        } else {
            buf_append(&b, p + i, l);
            i += l;
        }
    }
    s = json_stringn(b.data ? b.data : "", b.len);
    buf_free(&b);
    return s ? s : json_string("");
}

/* ---- fetching: an object's metadata and bytes ---------------------------------------- */

/* The bytes of a single-part object are its S3_T_BODY row, read with the metadata; those of a
 * completed multipart upload (metadata members "up": upload id, "p": [[part, size]...]) are
 * its parts' rows in S3_T_PART_BODY, read by a second KV_GET that reads the metadata again:
 * if another write replaced the object meanwhile, the fetch starts over. */
#define FETCH_TRIES 4

typedef struct fetch {
    aws_call *call;
    bool body;
    int tries;
    s3_fetched_fn fn;
    void *arg;
    char *up; /* the multipart object's upload id, from the first read */
    store_kv_key *keys;
    char (*sks)[12];
} fetch;

static void fetch_free(void *arg)
{
    fetch *f = arg;
    if (!f)
        return;
    xfree(f->up);
    xfree(f->keys);
    xfree(f->sks);
    xfree(f);
}

static void fetch_start(fetch *f, const char *bucket, const char *key);

static json_t *doc_of(const store_kv_item *item)
{
    return item->item ? json_loadb(item->item, item->len, 0, NULL) : NULL;
}

/* The second read: the metadata again and the parts' rows. */
static void fetch_parts_read(s3_request *r)
{
    fetch *f = r->extra;
    store_kv_item *items = r->op.u.kv_get.items;
    json_t *doc = doc_of(&items[0]);
    const char *up = json_string_value(json_object_get(doc, "up"));
    if (!up || strcmp(up, f->up) != 0) { /* replaced or deleted meanwhile */
        json_decref(doc);
        if (++f->tries >= FETCH_TRIES) {
            aws_reply_error(r->call, AWS_ERR_INTERNAL_ERROR,
                            "The object kept changing while it was read; try again.");
            return;
        }
        r->extra = NULL; /* the new read takes it */
        fetch_start(f, r->bucket, r->key);
        return;
    }
    buf bytes = BUF_INIT;
    size_t n = r->op.u.kv_get.n;
    for (size_t i = 1; i < n; i++) {
        if (!items[i].item) {
            buf_free(&bytes);
            json_decref(doc);
            aws_reply_error(r->call, AWS_ERR_INTERNAL_ERROR, "A part of the object is missing.");
            return;
        }
        buf_append(&bytes, items[i].item, items[i].len);
        xfree(items[i].item); /* hold the object once, not twice */
        items[i].item = NULL;
    }
    f->fn(r->call, r->key, doc, bytes.data ? bytes.data : "", bytes.len, f->arg);
    buf_free(&bytes);
    json_decref(doc);
}

static void fetch_read(s3_request *r)
{
    fetch *f = r->extra;
    store_kv_item *items = r->op.u.kv_get.items;
    json_t *doc = doc_of(&items[0]);
    const char *up = json_string_value(json_object_get(doc, "up"));
    if (!doc || !f->body || !up) {
        if (doc && f->body && !items[1].item) {
            json_decref(doc);
            doc = NULL;
        }
        f->fn(r->call, r->key, doc, f->body && doc ? items[1].item : NULL,
              f->body && doc ? items[1].len : 0, f->arg);
        json_decref(doc);
        return;
    }
    json_t *parts = json_object_get(doc, "p");
    size_t n = json_array_size(parts);
    xfree(f->up);
    xfree(f->keys);
    xfree(f->sks);
    f->up = xstrdup(up);
    f->keys = xcalloc(n + 1, sizeof *f->keys);
    f->sks = xcalloc(n + 1, sizeof *f->sks);
    s3_request *p = s3_request_new(r->call, STORE_KV_GET, fetch_parts_read);
    p->bucket = xstrdup(r->bucket);
    p->key = xstrdup(r->key);
    p->keys[0] = (store_kv_key){S3_T_META, (const unsigned char *)p->bucket, strlen(p->bucket),
                                (const unsigned char *)p->key, strlen(p->key)};
    f->keys[0] = p->keys[0];
    for (size_t i = 0; i < n; i++) {
        int part = (int)json_integer_value(json_array_get(json_array_get(parts, i), 0));
        snprintf(f->sks[i], sizeof f->sks[i], "%05d", part);
        f->keys[i + 1] = (store_kv_key){S3_T_PART_BODY, (const unsigned char *)f->up, strlen(f->up),
                                        (const unsigned char *)f->sks[i], strlen(f->sks[i])};
    }
    json_decref(doc);
    p->op.u.kv_get.keys = f->keys;
    p->op.u.kv_get.n = n + 1;
    p->extra = f;
    p->extra_free = fetch_free;
    r->extra = NULL; /* the second read takes it */
    s3_request_submit(p);
}

static void fetch_start(fetch *f, const char *bucket, const char *key)
{
    s3_request *r = s3_request_new(f->call, STORE_KV_GET, fetch_read);
    r->bucket = xstrdup(bucket);
    r->key = xstrdup(key);
    key_of(r, 0, S3_T_META);
    key_of(r, 1, S3_T_BODY);
    r->op.u.kv_get.keys = r->keys;
    r->op.u.kv_get.n = f->body ? 2 : 1;
    r->extra = f;
    r->extra_free = fetch_free;
    s3_request_submit(r);
}

void s3_object_fetch(aws_call *call, const char *bucket, const char *key, bool body,
                     s3_fetched_fn fn, void *arg)
{
    fetch *f = xcalloc(1, sizeof *f);
    f->call = call;
    f->body = body;
    f->fn = fn;
    f->arg = arg;
    fetch_start(f, bucket, key);
}

/* ---- GetObject, HeadObject ------------------------------------------------------------ */

/* The answer to GetObject/HeadObject from the object fetched. */
static void object_read(aws_call *call, const char *key, json_t *doc, const char *body,
                        size_t body_len, void *arg)
{
    (void)arg;
    bool head = strcmp(call->op->name, "HeadObject") == 0;
    if (!doc) {
        s3_error_key(call, AWS_ERR_S3_NO_SUCH_KEY, key, "The specified key does not exist.");
        return;
    }
    const char *etag_hex = json_string_value(json_object_get(doc, "e"));
    size_t size = (size_t)json_integer_value(json_object_get(doc, "s"));
    if (!head && body_len != size) {
        aws_reply_error(call, AWS_ERR_INTERNAL_ERROR, "The object's stored size is inconsistent.");
        return;
    }
    const char *im = s3_in_str(call, "IfMatch"), *inm = s3_in_str(call, "IfNoneMatch");
    if (im && !etag_listed(im, etag_hex)) {
        aws_reply_error(call, AWS_ERR_S3_PRECONDITION_FAILED,
                        "At least one of the pre-conditions you specified did not hold");
        return;
    }
    if (inm && etag_listed(inm, etag_hex)) {
        aws_reply_error(call, AWS_ERR_S3_NOT_MODIFIED, "Not Modified");
        return;
    }
    range rg;
    if (parse_range(s3_in_str(call, "Range"), size, &rg) != 0) {
        aws_reply_error_extra(call, AWS_ERR_S3_INVALID_RANGE,
                              json_pack("{s:s}", "RangeRequested", s3_in_str(call, "Range")),
                              "The requested range is not satisfiable");
        return;
    }
    size_t first = rg.set ? rg.first : 0, count = rg.set ? rg.last - rg.first + 1 : size;
    char etag[40], lm[40], iso[32], clen[24], crange[80];
    quoted_etag(doc, etag);
    int64_t mtime = json_integer_value(json_object_get(doc, "m"));
    s3_time_http(mtime, lm);
    s3_time_iso(mtime, iso);
    snprintf(clen, sizeof clen, "%zu", count);
    snprintf(crange, sizeof crange, "bytes %zu-%zu/%zu", first, first + count - 1, size);
    const char *ctype = json_string_value(json_object_get(doc, "t"));
    json_t *u = json_object_get(doc, "u"), *hdrs = json_object_get(doc, "h");
    if (call->protocol != AWS_PROTO_REST_XML) {
        json_t *out = json_pack("{s:I,s:s,s:s,s:s,s:O,s:s}", "ContentLength", (json_int_t)count,
                                "ContentType", ctype ? ctype : "", "ETag", etag, "LastModified",
                                iso, "Metadata", u, "AcceptRanges", "bytes");
        if (rg.set)
            json_object_set_new(out, "ContentRange", json_string(crange));
        if (!head)
            json_object_set_new(out, "Body", body_text(body + first, count));
        aws_reply(call, out);
        return;
    }
    size_t cap = 8 + json_object_size(u) + json_object_size(hdrs), n = 0;
    http_header *h = xcalloc(cap, sizeof *h);
    char **names = xcalloc(json_object_size(u) + 1, sizeof *names);
    h[n++] = (http_header){"Content-Type", ctype ? ctype : "binary/octet-stream"};
    h[n++] = (http_header){"ETag", etag};
    h[n++] = (http_header){"Last-Modified", lm};
    h[n++] = (http_header){"Accept-Ranges", "bytes"};
    if (rg.set)
        h[n++] = (http_header){"Content-Range", crange};
    if (head)
        h[n++] = (http_header){"Content-Length", clen};
    const char *k;
    json_t *v;
    size_t nn = 0;
    json_object_foreach(u, k, v)
    {
        names[nn] = xmalloc(strlen(k) + 12);
        sprintf(names[nn], "x-amz-meta-%s", k);
        h[n++] = (http_header){names[nn++], json_string_value(v)};
    }
    json_object_foreach(hdrs, k, v) h[n++] = (http_header){k, json_string_value(v)};
    buf reply = BUF_INIT;
    if (!head && count)
        buf_append(&reply, body + first, count);
    aws_reply_http(call, rg.set ? 206 : 200, h, n, &reply);
    buf_free(&reply);
    for (size_t i = 0; i < nn; i++)
        xfree(names[i]);
    xfree(names);
    xfree(h);
}

static void read_object(aws_call *call, bool with_body)
{
    s3_bucket *b = s3_in_bucket(call);
    const char *key = b ? s3_in_key(call) : NULL;
    if (!key)
        return;
    s3_object_fetch(call, b->name, key, with_body, object_read, NULL);
}

void s3_get_object(aws_call *call)
{
    read_object(call, true);
}

void s3_head_object(aws_call *call)
{
    read_object(call, false);
}

/* ---- deleting --------------------------------------------------------------------------- */

static int delete_write(void *arg, const char *old, size_t old_len, store_kv_write *out)
{
    store_kv_key *k = arg;
    if (!old)
        return STORE_KV_KEEP;
    store_kv_side *side = xcalloc(1, sizeof *side);
    side->key = (store_kv_key){S3_T_BODY, s3_dup_bytes((const char *)k->pk, k->pk_len), k->pk_len,
                               s3_dup_bytes((const char *)k->sk, k->sk_len), k->sk_len};
    out->sides = side;
    out->nsides = 1;
    s3_old_chunk_sides(old, old_len, &out->sides, &out->nsides);
    return STORE_KV_DELETE;
}

static void delete_done(s3_request *r)
{
    if (r->call->protocol != AWS_PROTO_REST_XML) {
        aws_reply(r->call, NULL);
        return;
    }
    buf none = BUF_INIT;
    aws_reply_http(r->call, 204, NULL, 0, &none);
}

void s3_delete_object(aws_call *call)
{
    s3_bucket *b = s3_write_bucket(call);
    const char *key = b ? s3_in_key(call) : NULL;
    if (!key)
        return;
    s3_request *r = s3_request_new(call, STORE_KV_MUTATE, delete_done);
    r->bucket = xstrdup(b->name);
    r->key = xstrdup(key);
    key_of(r, 0, S3_T_META);
    r->op.u.kv_mutate.key = r->keys[0];
    r->op.u.kv_mutate.fn = delete_write;
    r->op.u.kv_mutate.arg = &r->keys[0];
    s3_request_submit(r);
}

/* DeleteObjects: one KV_MUTATE per key, submitted together (they share the batch's commit);
 * the answer lists them once all completed. */
typedef struct multi_delete {
    aws_call *call;
    char bucket[64];
    size_t n, pending;
    bool quiet;
    struct one_delete {
        store_op op;
        store_kv_key key;
        char *name;
        struct multi_delete *parent;
    } * ops;
} multi_delete;

static void multi_reply(multi_delete *m)
{
    aws_call *call = m->call;
    if (call->protocol != AWS_PROTO_REST_XML) {
        json_t *deleted = json_array(), *errors = json_array();
        for (size_t i = 0; i < m->n; i++)
            json_array_append_new(m->ops[i].op.status ? errors : deleted,
                                  m->ops[i].op.status
                                      ? json_pack("{s:s,s:s,s:s}", "Key", m->ops[i].name, "Code",
                                                  "InternalError", "Message",
                                                  "The store could not delete the object.")
                                      : json_pack("{s:s}", "Key", m->ops[i].name));
        aws_reply(call, json_pack("{s:o,s:o}", "Deleted", deleted, "Errors", errors));
        return;
    }
    buf x = BUF_INIT;
    buf_puts(&x,
             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DeleteResult xmlns=\"" S3_XMLNS "\">");
    for (size_t i = 0; i < m->n; i++) {
        if (m->ops[i].op.status) {
            buf_puts(&x, "<Error>");
            s3_xml_elem(&x, "Key", m->ops[i].name, false);
            buf_puts(&x, "<Code>InternalError</Code><Message>The store could not delete the "
                         "object.</Message></Error>");
        } else if (!m->quiet) {
            buf_puts(&x, "<Deleted>");
            s3_xml_elem(&x, "Key", m->ops[i].name, false);
            buf_puts(&x, "</Deleted>");
        }
    }
    buf_puts(&x, "</DeleteResult>");
    s3_reply_xml(call, &x);
}

static void one_deleted(store_op *op)
{
    struct one_delete *d = op->ctx;
    multi_delete *m = d->parent;
    if (--m->pending > 0)
        return;
    multi_reply(m);
    for (size_t i = 0; i < m->n; i++) {
        store_op_clear(&m->ops[i].op);
        xfree(m->ops[i].name);
    }
    xfree(m->ops);
    xfree(m);
}

void s3_delete_objects(aws_call *call)
{
    s3_bucket *b = s3_write_bucket(call);
    if (!b)
        return;
    json_t *del = json_object_get(call->input, "Delete");
    json_t *objects = json_object_get(del, "Objects");
    size_t n = json_array_size(objects);
    if (n == 0 || n > 1000) {
        aws_reply_error(call, AWS_ERR_S3_MALFORMED_XML,
                        "The XML you provided was not well-formed or did not validate against "
                        "our published schema");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const char *k = json_string_value(json_object_get(json_array_get(objects, i), "Key"));
        if (!k || !k[0] || strlen(k) > S3_KEY_MAX) {
            s3_error_key(call, k && k[0] ? AWS_ERR_S3_KEY_TOO_LONG : AWS_ERR_S3_INVALID_ARGUMENT,
                         k ? k : "", "Every object to delete needs a key of 1 to 1024 bytes.");
            return;
        }
    }
    multi_delete *m = xcalloc(1, sizeof *m);
    m->call = call;
    snprintf(m->bucket, sizeof m->bucket, "%s", b->name);
    m->quiet = json_is_true(json_object_get(del, "Quiet"));
    m->n = m->pending = n;
    m->ops = xcalloc(n, sizeof *m->ops);
    for (size_t i = 0; i < n; i++) {
        struct one_delete *d = &m->ops[i];
        d->parent = m;
        d->name = xstrdup(json_string_value(json_object_get(json_array_get(objects, i), "Key")));
        d->key = (store_kv_key){S3_T_META, (const unsigned char *)m->bucket, strlen(m->bucket),
                                (const unsigned char *)d->name, strlen(d->name)};
        d->op.kind = STORE_KV_MUTATE;
        d->op.u.kv_mutate.key = d->key;
        d->op.u.kv_mutate.fn = delete_write;
        d->op.u.kv_mutate.arg = &d->key;
        d->op.done = one_deleted;
        d->op.ctx = d;
        d->op.now_ms = clock_now_ms();
    }
    for (size_t i = 0; i < n; i++)
        store_submit(s3_of(call)->store, &m->ops[i].op);
}

/* ---- copying ---------------------------------------------------------------------------- */

static void copy_done(s3_request *r)
{
    put_plan *p = r->extra;
    char etag[40], iso[32];
    quoted_etag(p->doc, etag);
    s3_time_iso(json_integer_value(json_object_get(p->doc, "m")), iso);
    if (r->call->protocol != AWS_PROTO_REST_XML) {
        aws_reply(r->call, json_pack("{s:{s:s,s:s}}", "CopyObjectResult", "ETag", etag,
                                     "LastModified", iso));
        return;
    }
    buf x = BUF_INIT;
    buf_puts(&x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CopyObjectResult xmlns=\"" S3_XMLNS
                 "\">");
    s3_xml_elem(&x, "LastModified", iso, false);
    s3_xml_elem(&x, "ETag", etag, false);
    buf_puts(&x, "</CopyObjectResult>");
    s3_reply_xml(r->call, &x);
}

/* The source was read: write it to the destination. */
static void copy_read(aws_call *call, const char *src_key, json_t *src, const char *body,
                      size_t len, void *arg)
{
    (void)arg;
    if (!src) {
        s3_error_key(call, AWS_ERR_S3_NO_SUCH_KEY, src_key, "The specified key does not exist.");
        return;
    }
    s3_bucket *b = s3_write_bucket(call);
    const char *key = b ? s3_in_key(call) : NULL;
    if (!key)
        return;
    const char *directive = s3_in_str(call, "MetadataDirective");
    bool replace = directive && strcmp(directive, "REPLACE") == 0;
    json_t *doc;
    if (replace) {
        doc = s3_doc_from_input(call);
    } else {
        doc = json_pack("{s:O,s:O,s:O}", "t", json_object_get(src, "t"), "u",
                        json_object_get(src, "u"), "h", json_object_get(src, "h"));
    }
    object_write(call, b, key, body, len, doc, copy_done);
}

int s3_copy_source(aws_call *call, char bucket[64], const char **key)
{
    const char *src = s3_in_str(call, "CopySource");
    if (src && src[0] == '/')
        src++;
    const char *slash = src ? strchr(src, '/') : NULL;
    if (!slash || slash == src || !slash[1] || strchr(slash, '?')) {
        aws_reply_error(call, AWS_ERR_S3_INVALID_ARGUMENT,
                        "Copy Source must mention the source bucket and key: "
                        "sourcebucket/sourcekey");
        return -1;
    }
    bucket[0] = '\0';
    if ((size_t)(slash - src) < 64)
        snprintf(bucket, 64, "%.*s", (int)(slash - src), src);
    if (!s3_bucket_find(s3_of(call), bucket)) {
        s3_error_bucket(call, AWS_ERR_S3_NO_SUCH_BUCKET, src,
                        "The specified bucket does not exist");
        return -1;
    }
    *key = slash + 1;
    return 0;
}

void s3_copy_object(aws_call *call)
{
    s3_bucket *b = s3_write_bucket(call);
    const char *key = b ? s3_in_key(call) : NULL;
    if (!key)
        return;
    const char *directive = s3_in_str(call, "MetadataDirective");
    if (directive && strcmp(directive, "COPY") != 0 && strcmp(directive, "REPLACE") != 0) {
        aws_reply_error(call, AWS_ERR_S3_INVALID_ARGUMENT, "Unknown metadata directive.");
        return;
    }
    char sbucket[64];
    const char *skey;
    if (s3_copy_source(call, sbucket, &skey) != 0)
        return;
    if (strcmp(sbucket, b->name) == 0 && strcmp(skey, key) == 0 &&
        !(directive && strcmp(directive, "REPLACE") == 0)) {
        aws_reply_error(call, AWS_ERR_S3_INVALID_REQUEST,
                        "This copy request is illegal because it is trying to copy an object to "
                        "itself without changing the object's metadata, storage class, website "
                        "redirect location or encryption attributes.");
        return;
    }
    s3_object_fetch(call, sbucket, skey, true, copy_read, NULL);
}
