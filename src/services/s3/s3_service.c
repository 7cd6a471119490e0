/* The S3 service: its operation table and wire model, lifecycle, buckets (documents
 * "s3.bucket", also held in memory sorted by name), and the helpers its operations share.
 *
 * S3 speaks REST-XML, which no generated model describes here: s3_http.c reads requests into
 * the operations' inputs (the botocore shapes' member names: Bucket, Key, ContentType...),
 * and each operation encodes its own reply for HTTP callers (headers, XML or the object's
 * bytes) or returns the output shape's JSON to in-process callers (AWS_PROTO_INTERNAL). */
#include "services/s3/s3_internal.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"
#include "protocol/form.h"
#include "protocol/xml.h"
#include "services/service_docs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Sorted by name: the router and aws_call_internal search them. */
static const aws_op_def s3_ops[] = {
    {"AbortMultipartUpload", s3_abort_multipart_upload},
    {"CompleteMultipartUpload", s3_complete_multipart_upload},
    {"CopyObject", s3_copy_object},
    {"CreateBucket", s3_create_bucket},
    {"CreateMultipartUpload", s3_create_multipart_upload},
    {"DeleteBucket", s3_delete_bucket},
    {"DeleteObject", s3_delete_object},
    {"DeleteObjects", s3_delete_objects},
    {"GetBucketLocation", s3_get_bucket_location},
    {"GetObject", s3_get_object},
    {"HeadBucket", s3_head_bucket},
    {"HeadObject", s3_head_object},
    {"ListBuckets", s3_list_buckets},
    {"ListMultipartUploads", s3_list_multipart_uploads},
    {"ListObjects", s3_list_objects},
    {"ListObjectsV2", s3_list_objects_v2},
    {"ListParts", s3_list_parts},
    {"PutObject", s3_put_object},
    {"UploadPart", s3_upload_part},
    {"UploadPartCopy", s3_upload_part_copy},
};

static const model_operation s3_model_ops[] = {
    {"AbortMultipartUpload", NULL, NULL, NULL},
    {"CompleteMultipartUpload", NULL, NULL, NULL},
    {"CopyObject", NULL, NULL, NULL},
    {"CreateBucket", NULL, NULL, NULL},
    {"CreateMultipartUpload", NULL, NULL, NULL},
    {"DeleteBucket", NULL, NULL, NULL},
    {"DeleteObject", NULL, NULL, NULL},
    {"DeleteObjects", NULL, NULL, NULL},
    {"GetBucketLocation", NULL, NULL, NULL},
    {"GetObject", NULL, NULL, NULL},
    {"HeadBucket", NULL, NULL, NULL},
    {"HeadObject", NULL, NULL, NULL},
    {"ListBuckets", NULL, NULL, NULL},
    {"ListMultipartUploads", NULL, NULL, NULL},
    {"ListObjects", NULL, NULL, NULL},
    {"ListObjectsV2", NULL, NULL, NULL},
    {"ListParts", NULL, NULL, NULL},
    {"PutObject", NULL, NULL, NULL},
    {"UploadPart", NULL, NULL, NULL},
    {"UploadPartCopy", NULL, NULL, NULL},
};

static const model_service model_s3 = {
    .name = "s3",
    .protocol = MODEL_PROTO_REST_XML,
    .api_version = "2006-03-01",
    .xml_namespace = S3_XMLNS,
    .ops = s3_model_ops,
    .nops = sizeof s3_model_ops / sizeof s3_model_ops[0],
};

/* ---- requests ------------------------------------------------------------------------- */

s3 *s3_of(aws_call *call)
{
    return call->service->ctx;
}

static void request_done(store_op *op)
{
    s3_request *r = op->ctx;
    if (op->status != 0)
        aws_reply_error(r->call, AWS_ERR_INTERNAL_ERROR, "The store could not complete the call.");
    else
        r->reply(r);
    store_op_clear(op);
    if (r->extra_free)
        r->extra_free(r->extra);
    xfree(r->bucket);
    xfree(r->key);
    xfree(r);
}

s3_request *s3_request_new(aws_call *call, store_op_kind kind, s3_reply_fn reply)
{
    s3_request *r = xcalloc(1, sizeof *r);
    r->call = call;
    r->s = s3_of(call);
    r->reply = reply;
    r->op.kind = kind;
    r->op.ctx = r;
    r->op.done = request_done;
    r->op.now_ms = clock_now_ms();
    return r;
}

void s3_request_submit(s3_request *r)
{
    store_submit(r->s->store, &r->op);
}

/* ---- input and errors ----------------------------------------------------------------- */

const char *s3_in_str(aws_call *call, const char *name)
{
    return json_string_value(json_object_get(call->input, name));
}

int s3_error_bucket(aws_call *call, aws_error err, const char *bucket, const char *msg)
{
    aws_reply_error_extra(call, err, json_pack("{s:s}", "BucketName", bucket ? bucket : ""), "%s",
                          msg);
    return -1;
}

int s3_error_key(aws_call *call, aws_error err, const char *key, const char *msg)
{
    aws_reply_error_extra(call, err, json_pack("{s:s}", "Key", key ? key : ""), "%s", msg);
    return -1;
}

static int bucket_cmp(const void *a, const void *b)
{
    return strcmp(((const s3_bucket *)a)->name, ((const s3_bucket *)b)->name);
}

s3_bucket *s3_bucket_find(s3 *s, const char *name)
{
    if (!name || !s->nbuckets || strlen(name) >= sizeof s->buckets[0].name)
        return NULL; /* (bsearch may not be given a NULL array) */
    s3_bucket k;
    snprintf(k.name, sizeof k.name, "%s", name);
    return bsearch(&k, s->buckets, s->nbuckets, sizeof k, bucket_cmp);
}

s3_bucket *s3_in_bucket(aws_call *call)
{
    const char *name = s3_in_str(call, "Bucket");
    if (!name || !name[0]) {
        aws_reply_error(call, AWS_ERR_S3_INVALID_ARGUMENT, "A bucket name is required.");
        return NULL;
    }
    s3_bucket *b = s3_bucket_find(s3_of(call), name);
    if (!b)
        s3_error_bucket(call, AWS_ERR_S3_NO_SUCH_BUCKET, name,
                        "The specified bucket does not exist");
    return b;
}

const char *s3_in_key(aws_call *call)
{
    const char *key = s3_in_str(call, "Key");
    if (!key || !key[0]) {
        aws_reply_error(call, AWS_ERR_S3_INVALID_ARGUMENT, "An object key is required.");
        return NULL;
    }
    if (strlen(key) > S3_KEY_MAX) {
        s3_error_key(call, AWS_ERR_S3_KEY_TOO_LONG, key, "Your key is too long");
        return NULL;
    }
    return key;
}

/* ---- encoding ------------------------------------------------------------------------- */

void s3_time_iso(int64_t ms, char out[32])
{
    clock_iso8601_ms(ms, out);
}

void s3_time_http(int64_t ms, char out[40])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 40, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

void s3_reply_xml(aws_call *call, buf *body)
{
    http_header h[] = {{"Content-Type", "application/xml"}};
    aws_reply_http(call, 200, h, 1, body);
}

void s3_xml_elem(buf *b, const char *name, const char *text, bool url)
{
    buf_printf(b, "<%s>", name);
    if (url) {
        buf enc = BUF_INIT;
        form_put_escaped(&enc, text);
        if (enc.len)
            buf_append(b, enc.data, enc.len);
        buf_free(&enc);
    } else {
        xml_put_text(b, text, strlen(text));
    }
    buf_printf(b, "</%s>", name);
}

/* ---- buckets -------------------------------------------------------------------------- */

/* AWS's rules for new buckets: 3-63 characters of a-z 0-9 . -, beginning and ending with a
 * letter or digit, no "..", not an IPv4 address. */
static bool bucket_name_valid(const char *n)
{
    size_t len = strlen(n);
    if (len < 3 || len > 63)
        return false;
    int dots = 0, digits_only = 1;
    for (size_t i = 0; i < len; i++) {
        char c = n[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && c != '.' && c != '-')
            return false;
        if ((i == 0 || i == len - 1) && !alnum)
            return false;
        if (c == '.' && n[i + 1] == '.')
            return false;
        dots += c == '.';
        digits_only = digits_only && ((c >= '0' && c <= '9') || c == '.');
    }
    return !(dots == 3 && digits_only);
}

static json_t *bucket_doc(const s3_bucket *b)
{
    return json_pack("{s:s,s:s,s:I}", "Name", b->name, "Region", b->region, "CreationDate",
                     (json_int_t)b->created_ms);
}

static void bucket_insert(s3 *s, const s3_bucket *b)
{
    s->buckets = xrealloc(s->buckets, (s->nbuckets + 1) * sizeof *s->buckets);
    size_t i = 0;
    while (i < s->nbuckets && strcmp(s->buckets[i].name, b->name) < 0)
        i++;
    memmove(&s->buckets[i + 1], &s->buckets[i], (s->nbuckets - i) * sizeof *s->buckets);
    s->buckets[i] = *b;
    s->nbuckets++;
}

static void bucket_remove(s3 *s, s3_bucket *b)
{
    size_t i = (size_t)(b - s->buckets);
    memmove(&s->buckets[i], &s->buckets[i + 1], (s->nbuckets - i - 1) * sizeof *s->buckets);
    s->nbuckets--;
}

/* CreateBucketConfiguration's LocationConstraint: the region the bucket says it is in. */
static const char *location_constraint(aws_call *call)
{
    json_t *cfg = json_object_get(call->input, "CreateBucketConfiguration");
    return json_string_value(json_object_get(cfg, "LocationConstraint"));
}

void s3_create_bucket(aws_call *call)
{
    s3 *s = s3_of(call);
    const char *name = s3_in_str(call, "Bucket");
    if (!name || !bucket_name_valid(name)) {
        s3_error_bucket(call, AWS_ERR_S3_INVALID_BUCKET_NAME, name,
                        "The specified bucket is not valid.");
        return;
    }
    if (s3_bucket_find(s, name)) {
        s3_error_bucket(call, AWS_ERR_S3_BUCKET_ALREADY_OWNED_BY_YOU, name,
                        "Your previous request to create the named bucket succeeded and you "
                        "already own it.");
        return;
    }
    if (s->nbuckets >= S3_BUCKET_MAX) {
        aws_reply_error(call, AWS_ERR_S3_TOO_MANY_BUCKETS,
                        "You have attempted to create more buckets than allowed");
        return;
    }
    const char *lc = location_constraint(call);
    if (lc && lc[0] && (strlen(lc) >= 32 || strcmp(lc, "us-east-1") == 0)) {
        aws_reply_error(call, AWS_ERR_S3_INVALID_LOCATION_CONSTRAINT,
                        "The specified location-constraint is not valid");
        return;
    }
    s3_bucket b = {.created_ms = clock_now_ms()};
    snprintf(b.name, sizeof b.name, "%s", name);
    snprintf(b.region, sizeof b.region, "%s", lc && lc[0] ? lc : s->region);
    bucket_insert(s, &b);
    json_t *doc = bucket_doc(&b);
    json_t *out = json_pack("{s:s+}", "Location", "/", name);
    if (call->protocol == AWS_PROTO_REST_XML) {
        json_decref(out);
        out = NULL;
    }
    service_persist_doc(s->store, call, out, AWS_ERR_INTERNAL_ERROR, S3_NS_BUCKET, name, doc);
    json_decref(doc);
}

static void bucket_deleted(s3_request *r)
{
    if (r->call->protocol != AWS_PROTO_REST_XML) {
        aws_reply(r->call, NULL);
        return;
    }
    buf none = BUF_INIT;
    aws_reply_http(r->call, 204, NULL, 0, &none);
}

static void delete_check_submit(aws_call *call, const char *bucket, int64_t table, void *check);

static void delete_checked(s3_request *r)
{
    s3_bucket *b = s3_bucket_find(r->s, r->bucket);
    if (!b) { /* deleted meanwhile */
        s3_error_bucket(r->call, AWS_ERR_S3_NO_SUCH_BUCKET, r->bucket,
                        "The specified bucket does not exist");
        return;
    }
    if (r->op.u.kv_range.n > 0) {
        s3_error_bucket(r->call, AWS_ERR_S3_BUCKET_NOT_EMPTY, r->bucket,
                        r->op.u.kv_range.table == S3_T_META
                            ? "The bucket you tried to delete is not empty"
                            : "The bucket you tried to delete is not empty: it has multipart "
                              "uploads in progress (abort them first)");
        return;
    }
    if (r->op.u.kv_range.table == S3_T_META) { /* no object: nor any upload in progress? */
        delete_check_submit(r->call, r->bucket, S3_T_UPLOAD, r->extra);
        r->extra = NULL;
        return;
    }
    bucket_remove(r->s, b);
    /* the document's deletion commits before the answer */
    s3_request *d = s3_request_new(r->call, STORE_DOC_PUT, bucket_deleted);
    store_doc *doc = xcalloc(1, sizeof *doc);
    doc->ns = S3_NS_BUCKET;
    doc->key = d->bucket = xstrdup(r->bucket);
    d->extra = doc;
    d->extra_free = xfree;
    d->op.u.docs.docs = doc;
    d->op.u.docs.n = 1;
    s3_request_submit(d);
}

/* Ends a DeleteBucket's check, whatever its outcome (the store's failure included). */
typedef struct delete_check {
    s3 *s;
    char name[64];
} delete_check;

static void delete_check_end(void *arg)
{
    delete_check *c = arg;
    if (!c)
        return;
    s3_bucket *b = s3_bucket_find(c->s, c->name);
    if (b)
        b->deleting = false;
    xfree(c);
}

void s3_delete_bucket(aws_call *call)
{
    s3_bucket *b = s3_in_bucket(call);
    if (!b)
        return;
    if (b->writes > 0 || b->deleting) {
        s3_error_bucket(call, AWS_ERR_S3_OPERATION_ABORTED, b->name,
                        "A conflicting conditional operation is currently in progress against "
                        "this resource. Please try again.");
        return;
    }
    b->deleting = true;
    delete_check *c = xcalloc(1, sizeof *c);
    c->s = s3_of(call);
    snprintf(c->name, sizeof c->name, "%s", b->name);
    delete_check_submit(call, b->name, S3_T_META, c);
}

/* Reads one row of the bucket's partition of table; delete_checked goes on. */
static void delete_check_submit(aws_call *call, const char *bucket, int64_t table, void *check)
{
    s3_request *r = s3_request_new(call, STORE_KV_RANGE, delete_checked);
    r->bucket = xstrdup(bucket);
    r->extra = check;
    r->extra_free = delete_check_end;
    r->op.u.kv_range.table = table;
    r->op.u.kv_range.pk = (const unsigned char *)r->bucket;
    r->op.u.kv_range.pk_len = strlen(r->bucket);
    r->op.u.kv_range.forward = 1;
    r->op.u.kv_range.max_items = 1;
    r->op.u.kv_range.max_bytes = INT64_MAX;
    s3_request_submit(r);
}

void s3_head_bucket(aws_call *call)
{
    s3_bucket *b = s3_in_bucket(call);
    if (!b)
        return;
    if (call->protocol != AWS_PROTO_REST_XML) {
        aws_reply(call, json_pack("{s:s}", "BucketRegion", b->region));
        return;
    }
    http_header h[] = {{"x-amz-bucket-region", b->region}};
    buf none = BUF_INIT;
    aws_reply_http(call, 200, h, 1, &none);
}

void s3_get_bucket_location(aws_call *call)
{
    s3_bucket *b = s3_in_bucket(call);
    if (!b)
        return;
    /* us-east-1 is the null location */
    const char *loc = strcmp(b->region, "us-east-1") == 0 ? "" : b->region;
    if (call->protocol != AWS_PROTO_REST_XML) {
        aws_reply(call, loc[0] ? json_pack("{s:s}", "LocationConstraint", loc) : json_object());
        return;
    }
    buf x = BUF_INIT;
    buf_puts(&x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint xmlns=\"" S3_XMLNS
                 "\">");
    xml_put_text(&x, loc, strlen(loc));
    buf_puts(&x, "</LocationConstraint>");
    s3_reply_xml(call, &x);
}

void s3_list_buckets(aws_call *call)
{
    s3 *s = s3_of(call);
    char t[32];
    if (call->protocol != AWS_PROTO_REST_XML) {
        json_t *list = json_array();
        for (size_t i = 0; i < s->nbuckets; i++) {
            s3_time_iso(s->buckets[i].created_ms, t);
            json_array_append_new(
                list, json_pack("{s:s,s:s}", "Name", s->buckets[i].name, "CreationDate", t));
        }
        aws_reply(call, json_pack("{s:o,s:{s:s,s:s}}", "Buckets", list, "Owner", "ID", s->account,
                                  "DisplayName", "sluice"));
        return;
    }
    buf x = BUF_INIT;
    buf_puts(&x,
             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListAllMyBucketsResult xmlns=\"" S3_XMLNS
             "\"><Owner>");
    s3_xml_elem(&x, "ID", s->account, false);
    buf_puts(&x, "<DisplayName>sluice</DisplayName></Owner><Buckets>");
    for (size_t i = 0; i < s->nbuckets; i++) {
        s3_time_iso(s->buckets[i].created_ms, t);
        buf_puts(&x, "<Bucket>");
        s3_xml_elem(&x, "Name", s->buckets[i].name, false);
        s3_xml_elem(&x, "CreationDate", t, false);
        buf_puts(&x, "</Bucket>");
    }
    buf_puts(&x, "</Buckets></ListAllMyBucketsResult>");
    s3_reply_xml(call, &x);
}

/* ---- lifecycle ------------------------------------------------------------------------ */

static void bucket_restore(const char *key, const char *text, void *arg)
{
    s3 *s = arg;
    json_t *doc = json_loads(text, 0, NULL);
    const char *region = json_string_value(json_object_get(doc, "Region"));
    if (!doc || strlen(key) >= sizeof s->buckets[0].name) {
        log_warn("s3: a bucket document is unreadable", "bucket='%s'", key);
        json_decref(doc);
        return;
    }
    s3_bucket b = {.created_ms = json_integer_value(json_object_get(doc, "CreationDate"))};
    snprintf(b.name, sizeof b.name, "%s", key);
    snprintf(b.region, sizeof b.region, "%s", region ? region : s->region);
    bucket_insert(s, &b);
    json_decref(doc);
}

int s3_create(s3 **out, uv_loop_t *loop, store *st, const char *region, const char *account)
{
    s3 *s = xcalloc(1, sizeof *s);
    s->loop = loop;
    s->store = st;
    snprintf(s->region, sizeof s->region, "%s", region);
    snprintf(s->account, sizeof s->account, "%s", account);
    s->def = (aws_service_def){.model = &model_s3,
                               .ops = s3_ops,
                               .nops = sizeof s3_ops / sizeof s3_ops[0],
                               .ctx = s,
                               .decode_http = s3_decode_http};
    if (store_load_docs(st, S3_NS_BUCKET, bucket_restore, s) != 0) {
        log_error("s3: the buckets could not be loaded", NULL);
        s3_destroy(s);
        return -1;
    }
    *out = s;
    return 0;
}

const aws_service_def *s3_service_def(const s3 *s)
{
    return s ? &s->def : NULL;
}

void s3_shutdown(s3 *s)
{
    if (s)
        s->stopping = true;
}

void s3_destroy(s3 *s)
{
    if (!s)
        return;
    xfree(s->buckets);
    xfree(s);
}
