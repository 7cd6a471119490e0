/* S3's HTTP requests, path-style (/BUCKET/KEY?subresource): which operation a request is,
 * and its input in the botocore shapes' member names, read from the path, the query string,
 * the headers and (DeleteObjects, CreateBucket) the XML body. Subresources Sluice does not
 * serve (?acl, ?uploads, ?tagging, ...) answer NotImplemented rather than being mistaken for
 * the plain operation. Multipart uploads are told apart by ?uploads, ?uploadId and
 * ?partNumber; CompleteMultipartUpload's part list is read from its XML body. Object bodies
 * are not copied into the input: PutObject and UploadPart read them from the request
 * (s3_body), decoding aws-chunked framing when the client streams. */
#include "services/s3/s3_internal.h"

#include "common/alloc.h"
#include "common/hex.h"
#include "protocol/form.h"
#include "protocol/xml_read.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_QUERY_PAIRS    64
#define MAX_DELETE_OBJECTS 1000

static const char *const unsupported_subresources[] = {
    "accelerate",
    "acl",
    "analytics",
    "attributes",
    "cors",
    "encryption",
    "intelligent-tiering",
    "inventory",
    "legal-hold",
    "lifecycle",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "ownershipControls",
    "policy",
    "policyStatus",
    "publicAccessBlock",
    "replication",
    "requestPayment",
    "restore",
    "retention",
    "select",
    "tagging",
    "torrent",
    "versionId",
    "versioning",
    "versions",
    "website",
};

/* Percent-decodes s[0..n) ('+' stays '+': S3 paths are not forms). NULL on a bad escape or
 * a NUL byte. */
static char *pct_decode(const char *s, size_t n)
{
    char *out = xmalloc(n + 1), *w = out;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            if (i + 2 >= n) {
                xfree(out);
                return NULL;
            }
            int a = hex_digit((unsigned char)s[i + 1]), b = hex_digit((unsigned char)s[i + 2]);
            if (a < 0 || b < 0 || (a == 0 && b == 0)) {
                xfree(out);
                return NULL;
            }
            *w++ = (char)(a * 16 + b);
            i += 2;
        } else {
            *w++ = s[i];
        }
    }
    *w = '\0';
    return out;
}

static int set_text(json_t *input, const char *name, const char *text, aws_failure *f)
{
    json_t *v = json_string(text);
    if (!v)
        return aws_fail(f, AWS_ERR_S3_INVALID_ARGUMENT, "%s is not valid UTF-8.", name);
    json_object_set_new(input, name, v);
    return 0;
}

/* Header `lower` as member `name`, when present. */
static int from_header(json_t *input, const http_request *req, const char *lower, const char *name,
                       aws_failure *f)
{
    const char *v = http_request_header(req, lower);
    return v ? set_text(input, name, v, f) : 0;
}

static int object_headers(json_t *input, const http_request *req, aws_failure *f)
{
    static const char *const map[][2] = {
        {"content-type", "ContentType"},
        {"content-md5", "ContentMD5"},
        {"cache-control", "CacheControl"},
        {"content-disposition", "ContentDisposition"},
        {"content-language", "ContentLanguage"},
        {"expires", "Expires"},
        {"range", "Range"},
        {"if-match", "IfMatch"},
        {"if-none-match", "IfNoneMatch"},
        {"x-amz-metadata-directive", "MetadataDirective"},
        {"x-amz-copy-source-range", "CopySourceRange"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (from_header(input, req, map[i][0], map[i][1], f) != 0)
            return -1;
    const char *enc = http_request_header(req, "content-encoding");
    if (enc) { /* aws-chunked is the transfer's, not the object's */
        char tmp[256];
        snprintf(tmp, sizeof tmp, "%s", enc);
        char *p = strstr(tmp, "aws-chunked");
        if (p) {
            memmove(p, p + 11, strlen(p + 11) + 1);
            while (tmp[0] == ',' || tmp[0] == ' ')
                memmove(tmp, tmp + 1, strlen(tmp));
        }
        if (tmp[0] && set_text(input, "ContentEncoding", tmp, f) != 0)
            return -1;
    }
    json_t *meta = json_object();
    for (size_t i = 0; i < req->nheaders; i++) {
        const char *n = req->headers[i].name;
        if (strncmp(n, "x-amz-meta-", 11) != 0 || !n[11])
            continue;
        json_t *v = json_string(req->headers[i].value);
        if (!v) {
            json_decref(meta);
            return aws_fail(f, AWS_ERR_S3_INVALID_ARGUMENT, "Metadata is not valid UTF-8.");
        }
        json_object_set_new(meta, n + 11, v);
    }
    json_object_set_new(input, "Metadata", meta);
    const char *src = http_request_header(req, "x-amz-copy-source");
    if (src) {
        char *dec = pct_decode(src, strlen(src));
        if (!dec)
            return aws_fail(f, AWS_ERR_S3_INVALID_ARGUMENT, "Invalid copy source encoding.");
        int rc = set_text(input, "CopySource", dec, f);
        xfree(dec);
        return rc;
    }
    return 0;
}

static int list_params(json_t *input, const form *q, aws_failure *f)
{
    static const char *const map[][2] = {
        {"prefix", "Prefix"},
        {"delimiter", "Delimiter"},
        {"continuation-token", "ContinuationToken"},
        {"start-after", "StartAfter"},
        {"encoding-type", "EncodingType"},
        {"marker", "Marker"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        const form_pair *p = form_get(q, map[i][0]);
        if (p && set_text(input, map[i][1], p->value, f) != 0)
            return -1;
    }
    const form_pair *mk = form_get(q, "max-keys");
    if (mk) {
        char *end;
        long v = strtol(mk->value, &end, 10);
        if (!mk->value[0] || *end || v < 0 || v > 2147483647L)
            return aws_fail(f, AWS_ERR_S3_INVALID_ARGUMENT,
                            "Provided max-keys not an integer or within integer range");
        json_object_set_new(input, "MaxKeys", json_integer(v));
    }
    const form_pair *fo = form_get(q, "fetch-owner");
    if (fo)
        json_object_set_new(input, "FetchOwner", json_boolean(strcmp(fo->value, "true") == 0));
    return 0;
}

/* <Delete><Object><Key>k</Key></Object>...<Quiet>true</Quiet></Delete> */
static int delete_body(json_t *input, const http_request *req, aws_failure *f)
{
    char err[200];
    xml_node *root = xml_read(req->body, req->body_len, err, sizeof err);
    if (!root || strcmp(xml_local_name(root), "Delete") != 0) {
        xml_free(root);
        return aws_fail(f, AWS_ERR_S3_MALFORMED_XML,
                        "The XML you provided was not well-formed or did not validate against "
                        "our published schema");
    }
    json_t *objects = json_array();
    int rc = 0;
    for (const xml_node *o = root->child; o && rc == 0; o = o->next) {
        if (strcmp(xml_local_name(o), "Object") != 0)
            continue;
        const xml_node *k = xml_child(o, "Key");
        if (!k || json_array_size(objects) >= MAX_DELETE_OBJECTS)
            rc = aws_fail(f, AWS_ERR_S3_MALFORMED_XML,
                          "The XML you provided was not well-formed or did not validate against "
                          "our published schema");
        else
            json_array_append_new(objects, json_pack("{s:s}", "Key", k->text));
    }
    const xml_node *quiet = xml_child(root, "Quiet");
    json_object_set_new(input, "Delete",
                        json_pack("{s:o,s:b}", "Objects", objects, "Quiet",
                                  quiet && strcmp(quiet->text, "true") == 0));
    xml_free(root);
    return rc;
}

static int create_body(json_t *input, const http_request *req, aws_failure *f)
{
    if (req->body_len == 0)
        return 0;
    char err[200];
    xml_node *root = xml_read(req->body, req->body_len, err, sizeof err);
    if (!root || strcmp(xml_local_name(root), "CreateBucketConfiguration") != 0) {
        xml_free(root);
        return aws_fail(f, AWS_ERR_S3_MALFORMED_XML,
                        "The XML you provided was not well-formed or did not validate against "
                        "our published schema");
    }
    const xml_node *lc = xml_child(root, "LocationConstraint");
    json_object_set_new(input, "CreateBucketConfiguration",
                        lc ? json_pack("{s:s}", "LocationConstraint", lc->text) : json_object());
    xml_free(root);
    return 0;
}

/* Query parameters as members: integers as integers (text that is no integer stays text, for
 * the operation to refuse), the others as text. */
static int query_params(json_t *input, const form *q, const char *const (*map)[2], size_t n,
                        bool integers, aws_failure *f)
{
    for (size_t i = 0; i < n; i++) {
        const form_pair *p = form_get(q, map[i][0]);
        if (!p)
            continue;
        char *end;
        long long v = strtoll(p->value, &end, 10);
        if (integers && p->value[0] && !*end && v >= -2147483648LL && v <= 2147483647LL)
            json_object_set_new(input, map[i][1], json_integer(v));
        else if (set_text(input, map[i][1], p->value, f) != 0)
            return -1;
    }
    return 0;
}

/* <CompleteMultipartUpload><Part><PartNumber>n</PartNumber><ETag>e</ETag></Part>...
 * </CompleteMultipartUpload> */
static int complete_body(json_t *input, const http_request *req, aws_failure *f)
{
    char err[200];
    xml_node *root = xml_read(req->body, req->body_len, err, sizeof err);
    if (!root || strcmp(xml_local_name(root), "CompleteMultipartUpload") != 0) {
        xml_free(root);
        return aws_fail(f, AWS_ERR_S3_MALFORMED_XML,
                        "The XML you provided was not well-formed or did not validate against "
                        "our published schema");
    }
    json_t *parts = json_array();
    int rc = 0;
    for (const xml_node *p = root->child; p && rc == 0; p = p->next) {
        if (strcmp(xml_local_name(p), "Part") != 0)
            continue;
        const xml_node *num = xml_child(p, "PartNumber"), *etag = xml_child(p, "ETag");
        char *end = NULL;
        long n = num ? strtol(num->text, &end, 10) : 0;
        if (!num || !etag || !num->text[0] || *end || n < 1 || n > 10000 ||
            json_array_size(parts) >= 10000)
            rc = aws_fail(f, AWS_ERR_S3_MALFORMED_XML,
                          "The XML you provided was not well-formed or did not validate against "
                          "our published schema");
        else
            json_array_append_new(parts,
                                  json_pack("{s:i,s:s}", "PartNumber", (int)n, "ETag", etag->text));
    }
    json_object_set_new(input, "MultipartUpload", json_pack("{s:o}", "Parts", parts));
    xml_free(root);
    return rc;
}

/* An object request naming a multipart upload (?uploads, ?uploadId, ?partNumber), or NULL
 * with *handled false when it names none. */
static const char *upload_op(const http_request *req, const form *q, json_t *input, aws_failure *f,
                             bool *handled)
{
    static const char *const ints[][2] = {
        {"partNumber", "PartNumber"},
        {"max-parts", "MaxParts"},
        {"part-number-marker", "PartNumberMarker"},
    };
    const char *m = req->method;
    const form_pair *uploads = form_get(q, "uploads"), *id = form_get(q, "uploadId"),
                    *part = form_get(q, "partNumber");
    *handled = uploads || id || part;
    if (!*handled)
        return NULL;
    if (query_params(input, q, ints, sizeof ints / sizeof ints[0], true, f) != 0 ||
        (id && set_text(input, "UploadId", id->value, f) != 0))
        return NULL;
    if (uploads && !id && !part && strcmp(m, "POST") == 0)
        return "CreateMultipartUpload";
    if (id && part && strcmp(m, "PUT") == 0)
        return json_object_get(input, "CopySource") ? "UploadPartCopy" : "UploadPart";
    if (id && !part && strcmp(m, "POST") == 0)
        return complete_body(input, req, f) == 0 ? "CompleteMultipartUpload" : NULL;
    if (id && !part && strcmp(m, "DELETE") == 0)
        return "AbortMultipartUpload";
    if (id && !part && strcmp(m, "GET") == 0)
        return "ListParts";
    aws_fail(f, AWS_ERR_S3_NOT_IMPLEMENTED,
             "%s on an object with ?%s is not implemented by Sluice.", m,
             uploads ? "uploads" : (part ? "partNumber" : "uploadId"));
    return NULL;
}

static const char *list_uploads_op(json_t *input, const form *q, aws_failure *f)
{
    static const char *const texts[][2] = {
        {"prefix", "Prefix"},
        {"delimiter", "Delimiter"},
        {"key-marker", "KeyMarker"},
        {"upload-id-marker", "UploadIdMarker"},
        {"encoding-type", "EncodingType"},
    };
    static const char *const ints[][2] = {{"max-uploads", "MaxUploads"}};
    if (query_params(input, q, texts, sizeof texts / sizeof texts[0], false, f) != 0 ||
        query_params(input, q, ints, 1, true, f) != 0)
        return NULL;
    return "ListMultipartUploads";
}

static const char *bucket_op(const http_request *req, const form *q, json_t *input, aws_failure *f)
{
    const char *m = req->method;
    if (form_get(q, "uploadId") || form_get(q, "partNumber")) {
        aws_fail(f, AWS_ERR_S3_NOT_IMPLEMENTED,
                 "?uploadId and ?partNumber name an object's upload: a key is required.");
        return NULL;
    }
    if (strcmp(m, "PUT") == 0)
        return create_body(input, req, f) == 0 ? "CreateBucket" : NULL;
    if (strcmp(m, "DELETE") == 0)
        return "DeleteBucket";
    if (strcmp(m, "HEAD") == 0)
        return "HeadBucket";
    if (strcmp(m, "POST") == 0 && form_get(q, "delete"))
        return delete_body(input, req, f) == 0 ? "DeleteObjects" : NULL;
    if (strcmp(m, "GET") == 0) {
        if (form_get(q, "location"))
            return "GetBucketLocation";
        if (form_get(q, "uploads"))
            return list_uploads_op(input, q, f);
        const form_pair *lt = form_get(q, "list-type");
        if (list_params(input, q, f) != 0)
            return NULL;
        return lt && strcmp(lt->value, "2") == 0 ? "ListObjectsV2" : "ListObjects";
    }
    aws_fail(f, AWS_ERR_S3_NOT_IMPLEMENTED, "%s on a bucket is not implemented by Sluice.", m);
    return NULL;
}

static const char *object_op(const http_request *req, const form *q, json_t *input, aws_failure *f)
{
    const char *m = req->method;
    if (object_headers(input, req, f) != 0)
        return NULL;
    bool handled;
    const char *op = upload_op(req, q, input, f, &handled);
    if (handled)
        return op;
    if (strcmp(m, "PUT") == 0)
        return json_object_get(input, "CopySource") ? "CopyObject" : "PutObject";
    if (strcmp(m, "GET") == 0)
        return "GetObject";
    if (strcmp(m, "HEAD") == 0)
        return "HeadObject";
    if (strcmp(m, "DELETE") == 0)
        return "DeleteObject";
    aws_fail(f, AWS_ERR_S3_NOT_IMPLEMENTED, "%s on an object is not implemented by Sluice.", m);
    return NULL;
}

const char *s3_decode_http(const http_request *req, json_t **input, aws_failure *f)
{
    *input = json_object();
    form q;
    if (form_parse(&q, req->query, strlen(req->query), MAX_QUERY_PAIRS) != 0) {
        aws_fail(f, AWS_ERR_S3_INVALID_ARGUMENT, "The query string is malformed.");
        goto fail;
    }
    for (size_t i = 0; i < sizeof unsupported_subresources / sizeof unsupported_subresources[0];
         i++) {
        if (form_get(&q, unsupported_subresources[i])) {
            aws_fail(f, AWS_ERR_S3_NOT_IMPLEMENTED,
                     "The ?%s subresource is not implemented by Sluice.",
                     unsupported_subresources[i]);
            form_free(&q);
            goto fail;
        }
    }
    const char *path = req->path[0] == '/' ? req->path + 1 : req->path;
    const char *slash = strchr(path, '/');
    size_t blen = slash ? (size_t)(slash - path) : strlen(path);
    const char *op = NULL;
    if (blen == 0) {
        if (strcmp(req->method, "GET") == 0)
            op = "ListBuckets";
        else
            aws_fail(f, AWS_ERR_S3_NOT_IMPLEMENTED, "%s / is not implemented by Sluice.",
                     req->method);
        form_free(&q);
        if (!op)
            goto fail;
        return op;
    }
    char *bucket = pct_decode(path, blen);
    char *key = slash && slash[1] ? pct_decode(slash + 1, strlen(slash + 1)) : NULL;
    if (!bucket || (slash && slash[1] && !key)) {
        aws_fail(f, AWS_ERR_S3_INVALID_ARGUMENT, "The request path is not validly encoded.");
    } else if (set_text(*input, "Bucket", bucket, f) == 0 &&
               (!key || set_text(*input, "Key", key, f) == 0)) {
        op = key ? object_op(req, &q, *input, f) : bucket_op(req, &q, *input, f);
    }
    xfree(bucket);
    xfree(key);
    form_free(&q);
    if (op)
        return op;
fail:
    json_decref(*input);
    *input = NULL;
    return NULL;
}

/* ---- bodies --------------------------------------------------------------------------- */

/* Decodes aws-chunked framing (hex-size[;chunk-signature=...]\r\n data \r\n ... 0\r\n
 * trailers \r\n) into out. 0, or -1. */
static int aws_chunked(const char *p, size_t n, buf *out)
{
    const char *end = p + n;
    while (p < end) {
        const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
        if (!eol)
            return -1;
        size_t size = 0;
        const char *q = p;
        for (; q < eol && hex_digit((unsigned char)*q) >= 0; q++) {
            if (size > S3_MAX_REQUEST_BYTES)
                return -1;
            size = size * 16 + (size_t)hex_digit((unsigned char)*q);
        }
        if (q == p || (q < eol && *q != ';'))
            return -1;
        p = eol + 2;
        if (size == 0)
            return 0; /* trailers (checksums) follow: not checked */
        if ((size_t)(end - p) < size + 2 || memcmp(p + size, "\r\n", 2) != 0)
            return -1;
        buf_append(out, p, size);
        p += size + 2;
    }
    return -1;
}

int s3_body(aws_call *call, const char **data, size_t *len, buf *decoded)
{
    if (!call->http) {
        json_t *b = json_object_get(call->input, "Body");
        if (json_is_string(b)) {
            *data = json_string_value(b);
            *len = json_string_length(b);
        } else if (b && !json_is_null(b)) {
            char *text = json_dumps(b, JSON_COMPACT | JSON_ENCODE_ANY);
            buf_puts(decoded, text ? text : "");
            free(text);
            *data = decoded->data ? decoded->data : "";
            *len = decoded->len;
        } else {
            *data = "";
            *len = 0;
        }
        return 0;
    }
    const char *sha = http_request_header(call->http, "x-amz-content-sha256");
    const char *enc = http_request_header(call->http, "content-encoding");
    if ((sha && strncmp(sha, "STREAMING-", 10) == 0) || (enc && strstr(enc, "aws-chunked"))) {
        if (aws_chunked(call->http->body, call->http->body_len, decoded) != 0) {
            aws_reply_error(call, AWS_ERR_S3_INVALID_REQUEST,
                            "The aws-chunked request body is malformed.");
            return -1;
        }
        const char *dlen = http_request_header(call->http, "x-amz-decoded-content-length");
        if (dlen && strtoull(dlen, NULL, 10) != decoded->len) {
            aws_reply_error(call, AWS_ERR_S3_INVALID_REQUEST,
                            "The decoded body's length is not x-amz-decoded-content-length.");
            return -1;
        }
        *data = decoded->data ? decoded->data : "";
        *len = decoded->len;
        return 0;
    }
    *data = call->http->body ? call->http->body : "";
    *len = call->http->body_len;
    return 0;
}
