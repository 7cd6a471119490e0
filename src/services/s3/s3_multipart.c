/* S3 multipart uploads: CreateMultipartUpload, UploadPart, UploadPartCopy,
 * CompleteMultipartUpload, AbortMultipartUpload, ListParts and ListMultipartUploads.
 *
 * Rows (s3_internal.h): an upload is a document in S3_T_UPLOAD under (bucket, key NUL id):
 * {"k": key, "i": id, "c": initiated ms, "v": version, "t", "u", "h": the object's type, user
 * metadata and headers to be}. A part is a metadata row in S3_T_PART ({"n": number, "s":
 * size, "e": MD5 hex, "m": ms}) with its bytes as the side row in S3_T_PART_BODY, both under
 * (id, number as 5 digits). UploadPart commits the part and a bump of the upload's version in
 * one group, so an answered part is durable and never lands in an upload already aborted or
 * completed (the group fails: NoSuchUpload).
 *
 * Completing (and aborting) reads the upload, then its parts' metadata, checks the part list
 * sent, then commits one group: the upload's row and its parts' metadata deleted with the
 * bytes of the parts left out, and the object's metadata written naming the upload and its
 * parts (s3_objects.c): the parts' body rows become the object's bytes, none is copied. The
 * version read first must be unchanged at that commit; a part written meanwhile makes the
 * completion start over. A completed object is at most S3_MAX_OBJECT_BYTES (EntityTooLarge):
 * GetObject answers from one buffer, the HTTP server having no streamed responses. */
#include "services/s3/s3_internal.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "common/hex.h"
#include "common/ids.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PART_MIN_BYTES (5u << 20)
#define PARTS_MAX      10000
#define LIST_MAX       1000
#define FINISH_TRIES   8
#define UPLOAD_ID_LEN  32

static const char *const malformed_xml =
    "The XML you provided was not well-formed or did not validate against our published schema";

/* ---- shared ------------------------------------------------------------------------------ */

/* The upload row's sort key: key NUL id. */
static void upload_sk(buf *sk, const char *key, const char *id)
{
    buf_reset(sk);
    buf_puts(sk, key);
    buf_putc(sk, '\0');
    buf_puts(sk, id);
}

/* The input's UploadId when it can name an upload (ids are 32 hex digits), or an answered
 * NoSuchUpload (NULL). */
static const char *in_upload_id(aws_call *call)
{
    const char *id = s3_in_str(call, "UploadId");
    bool ok = id && strlen(id) == UPLOAD_ID_LEN;
    for (size_t i = 0; ok && i < UPLOAD_ID_LEN; i++)
        ok = hex_digit((unsigned char)id[i]) >= 0;
    if (!ok) {
        aws_reply_error_extra(call, AWS_ERR_S3_NO_SUCH_UPLOAD,
                              json_pack("{s:s}", "UploadId", id ? id : ""),
                              "The specified upload does not exist. The upload ID may be invalid, "
                              "or the upload may have been aborted or completed.");
        return NULL;
    }
    return id;
}

static void no_such_upload(aws_call *call, const char *id)
{
    aws_reply_error_extra(call, AWS_ERR_S3_NO_SUCH_UPLOAD, json_pack("{s:s}", "UploadId", id),
                          "The specified upload does not exist. The upload ID may be invalid, or "
                          "the upload may have been aborted or completed.");
}

/* The input's integer member name (absent: dflt), or -1 (answered) outside [lo, hi]. */
static long in_int(aws_call *call, const char *name, long dflt, long lo, long hi, const char *msg)
{
    json_t *v = json_object_get(call->input, name);
    if (!v)
        return dflt;
    long n = json_is_integer(v) ? (long)json_integer_value(v) : lo - 1;
    if (n < lo || n > hi) {
        aws_reply_error(call, AWS_ERR_S3_INVALID_ARGUMENT, "%s", msg);
        return -1;
    }
    return n;
}

static void count_write(s3 *s, const char *bucket, int delta)
{
    s3_bucket *b = s3_bucket_find(s, bucket);
    if (b)
        b->writes += delta;
}

static void owner_xml(buf *x, const s3 *s, const char *element)
{
    buf_printf(x, "<%s>", element);
    s3_xml_elem(x, "ID", s->account, false);
    buf_printf(x, "<DisplayName>sluice</DisplayName></%s>", element);
}

/* ---- CreateMultipartUpload --------------------------------------------------------------- */

typedef struct created {
    s3 *s;
    char bucket[64];
    char id[UPLOAD_ID_LEN + 1];
    char *doc;
    buf sk;
} created;

static void created_free(void *arg)
{
    created *c = arg;
    count_write(c->s, c->bucket, -1);
    xfree(c->doc);
    buf_free(&c->sk);
    xfree(c);
}

static int create_write(void *arg, const char *old, size_t old_len, store_kv_write *out)
{
    (void)old_len;
    created *c = arg;
    if (old)
        return -EEXIST; /* 128 random bits met again: never in practice */
    out->item = c->doc;
    out->len = strlen(c->doc);
    out->size = (int64_t)out->len;
    c->doc = NULL;
    return STORE_KV_PUT;
}

static void create_done(s3_request *r)
{
    created *c = r->extra;
    if (r->call->protocol != AWS_PROTO_REST_XML) {
        aws_reply(r->call, json_pack("{s:s,s:s,s:s}", "Bucket", r->bucket, "Key", r->key,
                                     "UploadId", c->id));
        return;
    }
    buf x = BUF_INIT;
    buf_puts(&x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<InitiateMultipartUploadResult "
                 "xmlns=\"" S3_XMLNS "\">");
    s3_xml_elem(&x, "Bucket", r->bucket, false);
    s3_xml_elem(&x, "Key", r->key, false);
    s3_xml_elem(&x, "UploadId", c->id, false);
    buf_puts(&x, "</InitiateMultipartUploadResult>");
    s3_reply_xml(r->call, &x);
}

void s3_create_multipart_upload(aws_call *call)
{
    s3_bucket *b = s3_write_bucket(call);
    const char *key = b ? s3_in_key(call) : NULL;
    if (!key)
        return;
    created *c = xcalloc(1, sizeof *c);
    c->s = s3_of(call);
    snprintf(c->bucket, sizeof c->bucket, "%s", b->name);
    snprintf(c->id, sizeof c->id, "%016llx%016llx", (unsigned long long)ids_random64(),
             (unsigned long long)ids_random64());
    json_t *doc = s3_doc_from_input(call);
    json_object_set_new(doc, "k", json_string(key));
    json_object_set_new(doc, "i", json_string(c->id));
    json_object_set_new(doc, "c", json_integer(clock_now_ms()));
    json_object_set_new(doc, "v", json_integer(0));
    c->doc = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    upload_sk(&c->sk, key, c->id);
    s3_request *r = s3_request_new(call, STORE_KV_MUTATE, create_done);
    r->bucket = xstrdup(b->name);
    r->key = xstrdup(key);
    r->extra = c;
    r->extra_free = created_free;
    r->op.u.kv_mutate.key =
        (store_kv_key){S3_T_UPLOAD, (const unsigned char *)r->bucket, strlen(r->bucket),
                       (const unsigned char *)c->sk.data, c->sk.len};
    r->op.u.kv_mutate.fn = create_write;
    r->op.u.kv_mutate.arg = c;
    b->writes++;
    s3_request_submit(r);
}

/* ---- UploadPart, UploadPartCopy ---------------------------------------------------------- */

typedef struct part_put {
    aws_call *call;
    s3 *s;
    char bucket[64];
    char id[UPLOAD_ID_LEN + 1];
    int number;
    bool copy; /* UploadPartCopy: the answer is a CopyPartResult */
    buf sk;
    char part_sk[12];
    char *meta, *body;
    size_t meta_len, body_len;
    char etag[33];
    int64_t mtime;
    store_op group, ops[2];
    store_op *children[2];
} part_put;

/* The upload must exist: its version goes up. */
static int upload_bump(void *arg, const char *old, size_t old_len, store_kv_write *out)
{
    (void)arg;
    if (!old)
        return -ENOENT;
    json_t *doc = json_loadb(old, old_len, 0, NULL);
    if (!doc)
        return -EIO;
    json_object_set_new(doc, "v", json_integer(json_integer_value(json_object_get(doc, "v")) + 1));
    out->item = json_dumps(doc, JSON_COMPACT);
    out->len = strlen(out->item);
    out->size = (int64_t)out->len;
    json_decref(doc);
    return STORE_KV_PUT;
}

static int part_write(void *arg, const char *old, size_t old_len, store_kv_write *out)
{
    (void)old;
    (void)old_len;
    part_put *p = arg;
    store_kv_side *side = xcalloc(1, sizeof *side);
    side->key = s3_part_key_dup(S3_T_PART_BODY, p->id, p->number);
    side->item = p->body ? p->body : xmalloc(1);
    side->len = p->body_len;
    side->size = (int64_t)p->body_len;
    out->sides = side;
    out->nsides = 1;
    out->item = p->meta;
    out->len = p->meta_len;
    out->size = (int64_t)p->body_len;
    p->meta = p->body = NULL;
    return STORE_KV_PUT;
}

static void part_reply(part_put *p)
{
    char etag[40], iso[32];
    snprintf(etag, sizeof etag, "\"%s\"", p->etag);
    s3_time_iso(p->mtime, iso);
    aws_call *call = p->call;
    if (call->protocol != AWS_PROTO_REST_XML) {
        aws_reply(call, p->copy ? json_pack("{s:{s:s,s:s}}", "CopyPartResult", "ETag", etag,
                                            "LastModified", iso)
                                : json_pack("{s:s}", "ETag", etag));
        return;
    }
    if (!p->copy) {
        http_header h[] = {{"ETag", etag}};
        buf none = BUF_INIT;
        aws_reply_http(call, 200, h, 1, &none);
        return;
    }
    buf x = BUF_INIT;
    buf_puts(&x,
             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CopyPartResult xmlns=\"" S3_XMLNS "\">");
    s3_xml_elem(&x, "LastModified", iso, false);
    s3_xml_elem(&x, "ETag", etag, false);
    buf_puts(&x, "</CopyPartResult>");
    s3_reply_xml(call, &x);
}

static void part_done(store_op *op)
{
    part_put *p = op->ctx;
    if (op->status == -ENOENT)
        no_such_upload(p->call, p->id);
    else if (op->status != 0)
        aws_reply_error(p->call, AWS_ERR_INTERNAL_ERROR, "The store could not write the part.");
    else
        part_reply(p);
    store_op_clear(&p->group);
    count_write(p->s, p->bucket, -1);
    buf_free(&p->sk);
    xfree(p->meta);
    xfree(p->body);
    xfree(p);
}

/* Writes part `number` of upload id of (bucket b, key) with data[0..len) (copied). */
static void part_put_start(aws_call *call, s3_bucket *b, const char *key, const char *id,
                           int number, const char *data, size_t len, bool copy)
{
    part_put *p = xcalloc(1, sizeof *p);
    p->call = call;
    p->s = s3_of(call);
    p->number = number;
    p->copy = copy;
    snprintf(p->bucket, sizeof p->bucket, "%s", b->name);
    snprintf(p->id, sizeof p->id, "%s", id);
    snprintf(p->part_sk, sizeof p->part_sk, "%05d", number);
    upload_sk(&p->sk, key, id);
    unsigned char raw[16];
    s3_md5_hex(data, len, p->etag, raw);
    p->mtime = clock_now_ms();
    json_t *meta = json_pack("{s:i,s:I,s:s,s:I}", "n", number, "s", (json_int_t)len, "e", p->etag,
                             "m", (json_int_t)p->mtime);
    p->meta = json_dumps(meta, JSON_COMPACT);
    p->meta_len = strlen(p->meta);
    json_decref(meta);
    p->body = (char *)s3_dup_bytes(data, len);
    p->body_len = len;
    for (int i = 0; i < 2; i++) {
        p->ops[i].kind = STORE_KV_MUTATE;
        p->ops[i].now_ms = p->mtime;
        p->ops[i].u.kv_mutate.arg = p;
        p->children[i] = &p->ops[i];
    }
    p->ops[0].u.kv_mutate.key =
        (store_kv_key){S3_T_UPLOAD, (const unsigned char *)p->bucket, strlen(p->bucket),
                       (const unsigned char *)p->sk.data, p->sk.len};
    p->ops[0].u.kv_mutate.fn = upload_bump;
    p->ops[1].u.kv_mutate.key =
        (store_kv_key){S3_T_PART, (const unsigned char *)p->id, strlen(p->id),
                       (const unsigned char *)p->part_sk, strlen(p->part_sk)};
    p->ops[1].u.kv_mutate.fn = part_write;
    p->group.kind = STORE_GROUP;
    p->group.now_ms = p->mtime;
    p->group.u.group.ops = p->children;
    p->group.u.group.n = 2;
    p->group.done = part_done;
    p->group.ctx = p;
    b->writes++;
    store_submit(p->s->store, &p->group);
}

/* The part's bucket, key, upload id and number from the input, or NULL (answered). */
static s3_bucket *part_target(aws_call *call, const char **key, const char **id, int *number)
{
    s3_bucket *b = s3_write_bucket(call);
    *key = b ? s3_in_key(call) : NULL;
    if (!*key)
        return NULL;
    long n = in_int(call, "PartNumber", -1, 1, PARTS_MAX,
                    "Part number must be an integer between 1 and 10000, inclusive");
    if (n < 0)
        return NULL;
    if (!json_object_get(call->input, "PartNumber")) {
        aws_reply_error(call, AWS_ERR_S3_INVALID_ARGUMENT,
                        "Part number must be an integer between 1 and 10000, inclusive");
        return NULL;
    }
    *number = (int)n;
    *id = in_upload_id(call);
    return *id ? b : NULL;
}

void s3_upload_part(aws_call *call)
{
    const char *key, *id;
    int number;
    s3_bucket *b = part_target(call, &key, &id, &number);
    if (!b)
        return;
    buf decoded = BUF_INIT;
    const char *body;
    size_t len;
    if (s3_upload_body(call, &body, &len, &decoded) == 0)
        part_put_start(call, b, key, id, number, body, len, false);
    buf_free(&decoded);
}

/* x-amz-copy-source-range "bytes=first-last" (inclusive, within the source). 0, or -1
 * (answered). Absent: the whole source. */
static int copy_range(aws_call *call, size_t size, size_t *first, size_t *count)
{
    const char *h = s3_in_str(call, "CopySourceRange");
    *first = 0;
    *count = size;
    if (!h)
        return 0;
    unsigned long long a, z;
    char tail;
    if (sscanf(h, "bytes=%llu-%llu%c", &a, &z, &tail) != 2 || a > z) {
        aws_reply_error(call, AWS_ERR_S3_INVALID_ARGUMENT,
                        "The x-amz-copy-source-range value must be of the form bytes=first-last "
                        "where first and last are the zero-based offsets of the first and last "
                        "bytes to copy");
        return -1;
    }
    if (z >= size) {
        aws_reply_error(call, AWS_ERR_S3_INVALID_REQUEST,
                        "The specified copy source is not supported as a byte-range copy "
                        "source (range %llu-%llu, object size %zu).",
                        a, z, size);
        return -1;
    }
    *first = (size_t)a;
    *count = (size_t)(z - a + 1);
    return 0;
}

static void part_copy_read(aws_call *call, const char *src_key, json_t *src, const char *body,
                           size_t len, void *arg)
{
    (void)arg;
    if (!src) {
        s3_error_key(call, AWS_ERR_S3_NO_SUCH_KEY, src_key, "The specified key does not exist.");
        return;
    }
    const char *key, *id;
    int number;
    s3_bucket *b = part_target(call, &key, &id, &number);
    size_t first, count;
    if (b && copy_range(call, len, &first, &count) == 0)
        part_put_start(call, b, key, id, number, body + first, count, true);
}

void s3_upload_part_copy(aws_call *call)
{
    const char *key, *id;
    int number;
    char sbucket[64];
    const char *skey;
    if (!part_target(call, &key, &id, &number) || s3_copy_source(call, sbucket, &skey) != 0)
        return;
    s3_object_fetch(call, sbucket, skey, true, part_copy_read, NULL);
}

/* ---- CompleteMultipartUpload, AbortMultipartUpload, ListParts ----------------------------
 * Each reads the upload's row, then its parts' metadata; completing and aborting then commit
 * the group that ends the upload. */

typedef enum { UP_COMPLETE, UP_ABORT, UP_LIST_PARTS } upload_verb;

typedef struct upload_op {
    aws_call *call;
    s3 *s;
    upload_verb verb;
    char bucket[64];
    char *key;
    char id[UPLOAD_ID_LEN + 1];
    buf sk;
    int tries;
    int step; /* 1: the upload's row read, 2: its parts read, 3: the group committed */
    store_op op;
    store_kv_key keys[1];
    char lo[12];
    json_t *upload;  /* the upload's document */
    int64_t version; /* its version when read */
    int marker, max_parts;
    /* the group: the upload's rows deleted, and (completing) the object written */
    int *parts; /* the upload's part numbers */
    bool *used;
    size_t nparts;
    char *obj_meta;
    int64_t obj_size;
    json_t *doc; /* the object's metadata (completing) */
    store_op gops[2];
    store_op *children[2];
    bool counted; /* a bucket write is counted */
} upload_op;

static void upload_op_free(upload_op *u)
{
    store_op_clear(&u->op);
    if (u->counted)
        count_write(u->s, u->bucket, -1);
    xfree(u->key);
    buf_free(&u->sk);
    json_decref(u->upload);
    json_decref(u->doc);
    xfree(u->parts);
    xfree(u->used);
    xfree(u->obj_meta);
    xfree(u);
}

static void upload_step(store_op *op);

static void read_upload(upload_op *u)
{
    store_op_clear(&u->op);
    memset(&u->op, 0, sizeof u->op);
    u->step = 1;
    u->keys[0] = (store_kv_key){S3_T_UPLOAD, (const unsigned char *)u->bucket, strlen(u->bucket),
                                (const unsigned char *)u->sk.data, u->sk.len};
    u->op.kind = STORE_KV_GET;
    u->op.u.kv_get.keys = u->keys;
    u->op.u.kv_get.n = 1;
    u->op.done = upload_step;
    u->op.ctx = u;
    u->op.now_ms = clock_now_ms();
    store_submit(u->s->store, &u->op);
}

static void read_parts(upload_op *u)
{
    store_op_clear(&u->op);
    memset(&u->op, 0, sizeof u->op);
    u->step = 2;
    u->op.kind = STORE_KV_RANGE;
    u->op.u.kv_range.table = S3_T_PART;
    u->op.u.kv_range.pk = (const unsigned char *)u->id;
    u->op.u.kv_range.pk_len = strlen(u->id);
    if (u->verb == UP_LIST_PARTS) {
        snprintf(u->lo, sizeof u->lo, "%05d", u->marker + 1);
        u->op.u.kv_range.lo = (const unsigned char *)u->lo;
        u->op.u.kv_range.lo_len = strlen(u->lo);
    }
    u->op.u.kv_range.forward = 1;
    u->op.u.kv_range.max_items = u->verb == UP_LIST_PARTS ? u->max_parts : PARTS_MAX;
    u->op.u.kv_range.max_bytes = INT64_MAX;
    u->op.done = upload_step;
    u->op.ctx = u;
    u->op.now_ms = clock_now_ms();
    store_submit(u->s->store, &u->op);
}

/* Child 1: the upload still is as read; its row and parts' metadata go, with the bytes of
 * the parts the object does not use. */
static int upload_end(void *arg, const char *old, size_t old_len, store_kv_write *out)
{
    upload_op *u = arg;
    if (!old)
        return -ENOENT;
    json_t *doc = json_loadb(old, old_len, 0, NULL);
    int64_t v = json_integer_value(json_object_get(doc, "v"));
    json_decref(doc);
    if (v != u->version)
        return -EAGAIN;
    store_kv_side *sides = xcalloc(2 * u->nparts + 1, sizeof *sides);
    size_t n = 0;
    for (size_t i = 0; i < u->nparts; i++) {
        sides[n++].key = s3_part_key_dup(S3_T_PART, u->id, u->parts[i]);
        if (!u->used[i])
            sides[n++].key = s3_part_key_dup(S3_T_PART_BODY, u->id, u->parts[i]);
    }
    out->sides = sides;
    out->nsides = n;
    return STORE_KV_DELETE;
}

/* Child 2 (completing): the object's metadata, replacing an object's bytes. */
static int object_end(void *arg, const char *old, size_t old_len, store_kv_write *out)
{
    upload_op *u = arg;
    store_kv_side *side = xcalloc(1, sizeof *side);
    side->key =
        (store_kv_key){S3_T_BODY, s3_dup_bytes(u->bucket, strlen(u->bucket)), strlen(u->bucket),
                       s3_dup_bytes(u->key, strlen(u->key)), strlen(u->key)};
    out->sides = side;
    out->nsides = 1;
    s3_old_chunk_sides(old, old_len, &out->sides, &out->nsides);
    out->item = u->obj_meta;
    out->len = strlen(u->obj_meta);
    out->size = u->obj_size;
    u->obj_meta = NULL;
    return STORE_KV_PUT;
}

static void commit_end(upload_op *u)
{
    store_op_clear(&u->op);
    memset(&u->op, 0, sizeof u->op);
    memset(u->gops, 0, sizeof u->gops);
    u->step = 3;
    size_t n = u->verb == UP_COMPLETE ? 2 : 1;
    for (size_t i = 0; i < n; i++) {
        u->gops[i].kind = STORE_KV_MUTATE;
        u->gops[i].now_ms = clock_now_ms();
        u->gops[i].u.kv_mutate.arg = u;
        u->children[i] = &u->gops[i];
    }
    u->gops[0].u.kv_mutate.key = u->keys[0];
    u->gops[0].u.kv_mutate.fn = upload_end;
    if (n == 2) {
        u->gops[1].u.kv_mutate.key =
            (store_kv_key){S3_T_META, (const unsigned char *)u->bucket, strlen(u->bucket),
                           (const unsigned char *)u->key, strlen(u->key)};
        u->gops[1].u.kv_mutate.fn = object_end;
    }
    u->op.kind = STORE_GROUP;
    u->op.u.group.ops = u->children;
    u->op.u.group.n = n;
    u->op.done = upload_step;
    u->op.ctx = u;
    u->op.now_ms = clock_now_ms();
    store_submit(u->s->store, &u->op);
}

/* The ETag in a part list, without its quotes. */
static void bare_etag(const char *e, char out[64])
{
    size_t n = strlen(e);
    if (n >= 2 && e[0] == '"' && e[n - 1] == '"') {
        e++;
        n -= 2;
    }
    snprintf(out, 64, "%.*s", (int)(n < 63 ? n : 63), e);
}

static int part_error(aws_call *call, aws_error err, json_t *extra, const char *msg)
{
    aws_reply_error_extra(call, err, extra, "%s", msg);
    return -1;
}

/* Checks the part list sent against the parts read and makes the object's metadata. 0, or
 * -1 (answered). */
static int plan_object(upload_op *u)
{
    aws_call *call = u->call;
    json_t *want = json_object_get(json_object_get(call->input, "MultipartUpload"), "Parts");
    size_t nw = json_array_size(want), nread = u->op.u.kv_range.n;
    store_kv_item *items = u->op.u.kv_range.items;
    if (nw == 0 || nw > PARTS_MAX)
        return part_error(call, AWS_ERR_S3_MALFORMED_XML, NULL, malformed_xml);
    for (size_t i = 1; i < nw; i++) /* the order first, as S3 */
        if (json_integer_value(json_object_get(json_array_get(want, i), "PartNumber")) <=
            json_integer_value(json_object_get(json_array_get(want, i - 1), "PartNumber")))
            return part_error(call, AWS_ERR_S3_INVALID_PART_ORDER, NULL,
                              "The list of parts was not in ascending order. The parts list "
                              "must be specified in order by part number.");
    json_t **found = xcalloc(PARTS_MAX + 1, sizeof *found); /* by part number */
    json_t *read = json_array();
    u->parts = xcalloc(nread + 1, sizeof *u->parts);
    u->used = xcalloc(nread + 1, sizeof *u->used);
    for (size_t i = 0; i < nread; i++) {
        json_t *m = json_loadb(items[i].item, items[i].len, 0, NULL);
        int n = (int)json_integer_value(json_object_get(m, "n"));
        if (n >= 1 && n <= PARTS_MAX) {
            found[n] = m;
            u->parts[u->nparts++] = n;
        }
        json_array_append_new(read, m ? m : json_null());
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_md5(), NULL);
    json_t *layout = json_array();
    int rc = 0;
    uint64_t total = 0;
    for (size_t i = 0; i < nw && rc == 0; i++) {
        json_t *w = json_array_get(want, i);
        int n = (int)json_integer_value(json_object_get(w, "PartNumber"));
        const char *etag = json_string_value(json_object_get(w, "ETag"));
        char bare[64];
        bare_etag(etag ? etag : "", bare);
        json_t *m = n >= 1 && n <= PARTS_MAX ? found[n] : NULL;
        char num[16];
        snprintf(num, sizeof num, "%d", n);
        if (!m || strcmp(bare, json_string_value(json_object_get(m, "e"))) != 0) {
            rc = part_error(call, AWS_ERR_S3_INVALID_PART,
                            json_pack("{s:s,s:s,s:s}", "UploadId", u->id, "PartNumber", num, "ETag",
                                      etag ? etag : ""),
                            "One or more of the specified parts could not be found. The part "
                            "may not have been uploaded, or the specified entity tag may not "
                            "match the part's entity tag.");
        } else {
            uint64_t size = (uint64_t)json_integer_value(json_object_get(m, "s"));
            if (i + 1 < nw && size < PART_MIN_BYTES) {
                char ps[24], ms[24];
                snprintf(ps, sizeof ps, "%llu", (unsigned long long)size);
                snprintf(ms, sizeof ms, "%u", PART_MIN_BYTES);
                rc = part_error(call, AWS_ERR_S3_ENTITY_TOO_SMALL,
                                json_pack("{s:s,s:s,s:s,s:s}", "ProposedSize", ps, "MinSizeAllowed",
                                          ms, "PartNumber", num, "ETag", bare),
                                "Your proposed upload is smaller than the minimum allowed size");
            }
            total += size;
            unsigned char raw[16];
            for (int k = 0; k < 16; k++)
                raw[k] = (unsigned char)(hex_digit((unsigned char)bare[2 * k]) * 16 +
                                         hex_digit((unsigned char)bare[2 * k + 1]));
            EVP_DigestUpdate(md, raw, 16);
            json_array_append_new(layout, json_pack("[i,I]", n, (json_int_t)size));
            for (size_t k = 0; k < u->nparts; k++)
                if (u->parts[k] == n)
                    u->used[k] = true;
        }
    }
    if (rc == 0 && total > S3_MAX_OBJECT_BYTES)
        rc = part_error(call, AWS_ERR_S3_ENTITY_TOO_LARGE, NULL,
                        "Your proposed upload exceeds the maximum allowed object size: Sluice "
                        "stores objects of at most 16777216 bytes (16 MiB), multipart or not.");
    unsigned char digest[16];
    unsigned int dlen = 0;
    EVP_DigestFinal_ex(md, digest, &dlen);
    EVP_MD_CTX_free(md);
    xfree(found);
    json_decref(read);
    if (rc != 0) {
        json_decref(layout);
        return rc;
    }
    char etag[48];
    hex_encode(digest, 16, etag);
    snprintf(etag + 32, sizeof etag - 32, "-%zu", nw);
    json_t *doc = json_pack("{s:O,s:O,s:O}", "t", json_object_get(u->upload, "t"), "u",
                            json_object_get(u->upload, "u"), "h", json_object_get(u->upload, "h"));
    json_object_set_new(doc, "k", json_string(u->key));
    json_object_set_new(doc, "s", json_integer((json_int_t)total));
    json_object_set_new(doc, "e", json_string(etag));
    json_object_set_new(doc, "m", json_integer(clock_now_ms()));
    json_object_set_new(doc, "up", json_string(u->id));
    json_object_set_new(doc, "p", layout);
    xfree(u->obj_meta);
    u->obj_meta = json_dumps(doc, JSON_COMPACT);
    u->obj_size = (int64_t)total;
    json_decref(u->doc);
    u->doc = doc;
    return 0;
}

/* Abort: every part read goes. */
static void plan_abort(upload_op *u)
{
    size_t n = u->op.u.kv_range.n;
    store_kv_item *items = u->op.u.kv_range.items;
    u->parts = xcalloc(n + 1, sizeof *u->parts);
    u->used = xcalloc(n + 1, sizeof *u->used);
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_loadb(items[i].item, items[i].len, 0, NULL);
        u->parts[u->nparts++] = (int)json_integer_value(json_object_get(m, "n"));
        json_decref(m);
    }
}

static void reply_completed(upload_op *u)
{
    char etag[64];
    snprintf(etag, sizeof etag, "\"%s\"", json_string_value(json_object_get(u->doc, "e")));
    buf loc = BUF_INIT;
    buf_printf(&loc, "/%s/%s", u->bucket, u->key);
    aws_call *call = u->call;
    if (call->protocol != AWS_PROTO_REST_XML) {
        aws_reply(call, json_pack("{s:s,s:s,s:s,s:s}", "Location", loc.data, "Bucket", u->bucket,
                                  "Key", u->key, "ETag", etag));
        buf_free(&loc);
        return;
    }
    buf x = BUF_INIT;
    buf_puts(&x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CompleteMultipartUploadResult "
                 "xmlns=\"" S3_XMLNS "\">");
    s3_xml_elem(&x, "Location", loc.data, false);
    s3_xml_elem(&x, "Bucket", u->bucket, false);
    s3_xml_elem(&x, "Key", u->key, false);
    s3_xml_elem(&x, "ETag", etag, false);
    buf_puts(&x, "</CompleteMultipartUploadResult>");
    buf_free(&loc);
    s3_reply_xml(call, &x);
}

static void reply_parts(upload_op *u)
{
    aws_call *call = u->call;
    size_t n = u->op.u.kv_range.n;
    store_kv_item *items = u->op.u.kv_range.items;
    bool more = u->op.u.kv_range.more;
    json_t *parts = json_array();
    int next = u->marker;
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_loadb(items[i].item, items[i].len, 0, NULL);
        char etag[40], iso[32];
        snprintf(etag, sizeof etag, "\"%s\"", json_string_value(json_object_get(m, "e")));
        s3_time_iso(json_integer_value(json_object_get(m, "m")), iso);
        next = (int)json_integer_value(json_object_get(m, "n"));
        json_array_append_new(parts, json_pack("{s:i,s:s,s:s,s:I}", "PartNumber", next,
                                               "LastModified", iso, "ETag", etag, "Size",
                                               json_integer_value(json_object_get(m, "s"))));
        json_decref(m);
    }
    if (call->protocol != AWS_PROTO_REST_XML) {
        aws_reply(call, json_pack("{s:s,s:s,s:s,s:i,s:i,s:i,s:b,s:o,s:s}", "Bucket", u->bucket,
                                  "Key", u->key, "UploadId", u->id, "PartNumberMarker", u->marker,
                                  "NextPartNumberMarker", next, "MaxParts", u->max_parts,
                                  "IsTruncated", more, "Parts", parts, "StorageClass", "STANDARD"));
        return;
    }
    buf x = BUF_INIT;
    buf_puts(&x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListPartsResult xmlns=\"" S3_XMLNS
                 "\">");
    s3_xml_elem(&x, "Bucket", u->bucket, false);
    s3_xml_elem(&x, "Key", u->key, false);
    s3_xml_elem(&x, "UploadId", u->id, false);
    buf_printf(&x,
               "<PartNumberMarker>%d</PartNumberMarker><NextPartNumberMarker>%d"
               "</NextPartNumberMarker><MaxParts>%d</MaxParts><IsTruncated>%s</IsTruncated>",
               u->marker, next, u->max_parts, more ? "true" : "false");
    size_t i;
    json_t *p;
    json_array_foreach(parts, i, p)
    {
        buf_printf(&x, "<Part><PartNumber>%d</PartNumber>",
                   (int)json_integer_value(json_object_get(p, "PartNumber")));
        s3_xml_elem(&x, "LastModified", json_string_value(json_object_get(p, "LastModified")),
                    false);
        s3_xml_elem(&x, "ETag", json_string_value(json_object_get(p, "ETag")), false);
        buf_printf(&x, "<Size>%lld</Size></Part>",
                   (long long)json_integer_value(json_object_get(p, "Size")));
    }
    owner_xml(&x, u->s, "Initiator");
    owner_xml(&x, u->s, "Owner");
    buf_puts(&x, "<StorageClass>STANDARD</StorageClass></ListPartsResult>");
    json_decref(parts);
    s3_reply_xml(call, &x);
}

static void reply_ended(upload_op *u)
{
    if (u->verb == UP_COMPLETE) {
        reply_completed(u);
        return;
    }
    if (u->call->protocol != AWS_PROTO_REST_XML) {
        aws_reply(u->call, NULL);
        return;
    }
    buf none = BUF_INIT;
    aws_reply_http(u->call, 204, NULL, 0, &none);
}

static void upload_step(store_op *op)
{
    upload_op *u = op->ctx;
    if (u->step == 3 && op->status == -EAGAIN && ++u->tries < FINISH_TRIES) {
        read_upload(u); /* a part was written meanwhile: start over */
        return;
    }
    if (op->status == -ENOENT) {
        no_such_upload(u->call, u->id);
    } else if (op->status != 0) {
        aws_reply_error(u->call, AWS_ERR_INTERNAL_ERROR, "The store could not complete the call.");
    } else if (u->step == 1) {
        store_kv_item *it = &op->u.kv_get.items[0];
        json_decref(u->upload);
        u->upload = it->item ? json_loadb(it->item, it->len, 0, NULL) : NULL;
        if (!u->upload) {
            no_such_upload(u->call, u->id);
        } else {
            u->version = json_integer_value(json_object_get(u->upload, "v"));
            read_parts(u);
            return;
        }
    } else if (u->step == 2) {
        if (u->verb == UP_LIST_PARTS) {
            reply_parts(u);
        } else {
            xfree(u->parts);
            xfree(u->used);
            u->parts = NULL;
            u->used = NULL;
            u->nparts = 0;
            if (u->verb == UP_ABORT || plan_object(u) == 0) {
                if (u->verb == UP_ABORT)
                    plan_abort(u);
                commit_end(u);
                return;
            }
        }
    } else {
        reply_ended(u);
    }
    upload_op_free(u);
}

static void upload_op_start(aws_call *call, upload_verb verb)
{
    s3_bucket *b = verb == UP_LIST_PARTS ? s3_in_bucket(call) : s3_write_bucket(call);
    const char *key = b ? s3_in_key(call) : NULL;
    const char *id = key ? in_upload_id(call) : NULL;
    if (!id)
        return;
    long marker = 0, max_parts = LIST_MAX;
    if (verb == UP_LIST_PARTS) {
        max_parts = in_int(call, "MaxParts", LIST_MAX, 0, 2147483647L,
                           "Argument max-parts must be an integer between 0 and 2147483647");
        marker = max_parts < 0 ? -1
                               : in_int(call, "PartNumberMarker", 0, 0, 2147483647L,
                                        "Argument part-number-marker must be an integer between "
                                        "0 and 2147483647");
        if (max_parts < 0 || marker < 0)
            return;
    }
    upload_op *u = xcalloc(1, sizeof *u);
    u->call = call;
    u->s = s3_of(call);
    u->verb = verb;
    snprintf(u->bucket, sizeof u->bucket, "%s", b->name);
    u->key = xstrdup(key);
    snprintf(u->id, sizeof u->id, "%s", id);
    upload_sk(&u->sk, key, id);
    u->marker = marker > PARTS_MAX ? PARTS_MAX : (int)marker;
    u->max_parts = max_parts > LIST_MAX ? LIST_MAX : (max_parts < 1 ? 1 : (int)max_parts);
    if (verb == UP_COMPLETE) {
        b->writes++;
        u->counted = true;
    }
    read_upload(u);
}

void s3_complete_multipart_upload(aws_call *call)
{
    upload_op_start(call, UP_COMPLETE);
}

void s3_abort_multipart_upload(aws_call *call)
{
    upload_op_start(call, UP_ABORT);
}

void s3_list_parts(aws_call *call)
{
    upload_op_start(call, UP_LIST_PARTS);
}

/* ---- ListMultipartUploads ----------------------------------------------------------------
 * The bucket's upload rows in (key, upload id) order from the markers on, under the prefix. */

typedef struct upload_listing {
    buf lo, hi;
    int max;
} upload_listing;

static void upload_listing_free(void *arg)
{
    upload_listing *l = arg;
    buf_free(&l->lo);
    buf_free(&l->hi);
    xfree(l);
}

static void uploads_reply(s3_request *r)
{
    upload_listing *l = r->extra;
    aws_call *call = r->call;
    size_t n = r->op.u.kv_range.n;
    store_kv_item *items = r->op.u.kv_range.items;
    bool more = r->op.u.kv_range.more, url = false;
    const char *enc = s3_in_str(call, "EncodingType");
    url = enc && strcmp(enc, "url") == 0;
    const char *prefix = s3_in_str(call, "Prefix"), *km = s3_in_str(call, "KeyMarker"),
               *im = s3_in_str(call, "UploadIdMarker");
    json_t *uploads = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *d = json_loadb(items[i].item, items[i].len, 0, NULL);
        char iso[32];
        s3_time_iso(json_integer_value(json_object_get(d, "c")), iso);
        json_array_append_new(uploads,
                              json_pack("{s:O,s:O,s:s,s:s}", "Key", json_object_get(d, "k"),
                                        "UploadId", json_object_get(d, "i"), "Initiated", iso,
                                        "StorageClass", "STANDARD"));
        json_decref(d);
    }
    json_t *last = json_array_get(uploads, json_array_size(uploads) - 1);
    const char *next_key = more && last ? json_string_value(json_object_get(last, "Key")) : "";
    const char *next_id = more && last ? json_string_value(json_object_get(last, "UploadId")) : "";
    if (call->protocol != AWS_PROTO_REST_XML) {
        json_t *out = json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:b,s:o}", "Bucket", r->bucket,
                                "KeyMarker", km ? km : "", "UploadIdMarker", im ? im : "",
                                "NextKeyMarker", next_key, "NextUploadIdMarker", next_id,
                                "MaxUploads", l->max, "IsTruncated", more, "Uploads", uploads);
        if (prefix)
            json_object_set_new(out, "Prefix", json_string(prefix));
        aws_reply(call, out);
        return;
    }
    buf x = BUF_INIT;
    buf_puts(&x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListMultipartUploadsResult "
                 "xmlns=\"" S3_XMLNS "\">");
    s3_xml_elem(&x, "Bucket", r->bucket, false);
    s3_xml_elem(&x, "KeyMarker", km ? km : "", url);
    s3_xml_elem(&x, "UploadIdMarker", im ? im : "", false);
    s3_xml_elem(&x, "NextKeyMarker", next_key, url);
    s3_xml_elem(&x, "NextUploadIdMarker", next_id, false);
    if (prefix)
        s3_xml_elem(&x, "Prefix", prefix, url);
    if (url)
        buf_puts(&x, "<EncodingType>url</EncodingType>");
    buf_printf(&x, "<MaxUploads>%d</MaxUploads><IsTruncated>%s</IsTruncated>", l->max,
               more ? "true" : "false");
    size_t i;
    json_t *up;
    json_array_foreach(uploads, i, up)
    {
        buf_puts(&x, "<Upload>");
        s3_xml_elem(&x, "Key", json_string_value(json_object_get(up, "Key")), url);
        s3_xml_elem(&x, "UploadId", json_string_value(json_object_get(up, "UploadId")), false);
        owner_xml(&x, r->s, "Initiator");
        owner_xml(&x, r->s, "Owner");
        buf_puts(&x, "<StorageClass>STANDARD</StorageClass>");
        s3_xml_elem(&x, "Initiated", json_string_value(json_object_get(up, "Initiated")), false);
        buf_puts(&x, "</Upload>");
    }
    buf_puts(&x, "</ListMultipartUploadsResult>");
    json_decref(uploads);
    s3_reply_xml(call, &x);
}

void s3_list_multipart_uploads(aws_call *call)
{
    s3_bucket *b = s3_in_bucket(call);
    if (!b)
        return;
    if (s3_in_str(call, "Delimiter")) {
        aws_reply_error(call, AWS_ERR_S3_NOT_IMPLEMENTED,
                        "ListMultipartUploads with a delimiter is not implemented by Sluice.");
        return;
    }
    long max = in_int(call, "MaxUploads", LIST_MAX, 0, 2147483647L,
                      "Argument max-uploads must be an integer between 0 and 2147483647");
    if (max < 0)
        return;
    const char *prefix = s3_in_str(call, "Prefix"), *km = s3_in_str(call, "KeyMarker"),
               *im = s3_in_str(call, "UploadIdMarker");
    upload_listing *l = xcalloc(1, sizeof *l);
    l->max = max > LIST_MAX ? LIST_MAX : (max < 1 ? 1 : (int)max);
    /* after (key-marker, upload-id-marker): the smallest row key past it */
    if (km && km[0]) {
        buf_puts(&l->lo, km);
        if (im && im[0]) {
            buf_putc(&l->lo, '\0');
            buf_puts(&l->lo, im);
            buf_putc(&l->lo, '\0');
        } else {
            buf_putc(&l->lo, '\1'); /* past every upload of key-marker */
        }
    }
    if (prefix && prefix[0]) {
        size_t pl = strlen(prefix), common = l->lo.len < pl ? l->lo.len : pl;
        int c = common ? memcmp(l->lo.data, prefix, common) : 0;
        if (c < 0 || (c == 0 && l->lo.len < pl)) { /* the prefix is the higher bound */
            buf_reset(&l->lo);
            buf_puts(&l->lo, prefix);
        }
        buf_puts(&l->hi, prefix);
        buf_putc(&l->hi, '\xff'); /* no UTF-8 key has that byte */
    }
    s3_request *r = s3_request_new(call, STORE_KV_RANGE, uploads_reply);
    r->bucket = xstrdup(b->name);
    r->extra = l;
    r->extra_free = upload_listing_free;
    r->op.u.kv_range.table = S3_T_UPLOAD;
    r->op.u.kv_range.pk = (const unsigned char *)r->bucket;
    r->op.u.kv_range.pk_len = strlen(r->bucket);
    if (l->lo.len) {
        r->op.u.kv_range.lo = (const unsigned char *)l->lo.data;
        r->op.u.kv_range.lo_len = l->lo.len;
    }
    if (l->hi.len) {
        r->op.u.kv_range.hi = (const unsigned char *)l->hi.data;
        r->op.u.kv_range.hi_len = l->hi.len;
    }
    r->op.u.kv_range.forward = 1;
    r->op.u.kv_range.max_items = l->max;
    r->op.u.kv_range.max_bytes = INT64_MAX;
    s3_request_submit(r);
}
