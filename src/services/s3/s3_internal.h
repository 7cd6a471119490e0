/* Shared by the S3 service's files: the service's state, buckets, the store tables, and
 * the helpers of requests waiting for a store op. */
#ifndef SLUICE_SERVICES_S3_INTERNAL_H
#define SLUICE_SERVICES_S3_INTERNAL_H

#include "common/buf.h"
#include "services/s3/s3.h"

#include <stdbool.h>
#include <stdint.h>

/* The store's key-value tables of S3 (negative ids: DynamoDB tables never have them).
 * Both are keyed (bucket name, object key): META holds each object's metadata document
 * (s3_meta), BODY its bytes, written and deleted together in one KV_MUTATE. */
#define S3_T_META (-2001)
#define S3_T_BODY (-2002)
/* Multipart uploads (s3_multipart.c): UPLOAD keyed (bucket, key NUL upload id) holds an
 * upload's document; PART keyed (upload id, 5-digit part number) a part's metadata, PART_BODY
 * (same key) its bytes, which stay the object's bytes once the upload is completed. */
#define S3_T_UPLOAD    (-2003)
#define S3_T_PART      (-2004)
#define S3_T_PART_BODY (-2005)

#define S3_NS_BUCKET  "s3.bucket"
#define S3_XMLNS      "http://s3.amazonaws.com/doc/2006-03-01/"
#define S3_KEY_MAX    1024
#define S3_BUCKET_MAX 10000

typedef struct s3_bucket {
    char name[64];
    char region[32];
    int64_t created_ms;
    int writes;    /* object writes in flight (DeleteBucket waits for none) */
    bool deleting; /* a DeleteBucket is checking emptiness: writes are refused */
} s3_bucket;

struct s3 {
    uv_loop_t *loop;
    store *store;
    char region[32], account[16];
    s3_bucket *buckets; /* sorted by name */
    size_t nbuckets;
    aws_service_def def;
    bool stopping;
};

/* A request waiting for one store op. */
typedef struct s3_request s3_request;
typedef void (*s3_reply_fn)(s3_request *r);
struct s3_request {
    store_op op;
    aws_call *call;
    s3 *s;
    s3_reply_fn reply;
    store_kv_key keys[2];
    char *bucket, *key;
    void *extra;
    void (*extra_free)(void *);
};

s3 *s3_of(aws_call *call);
/* A request whose op (kind set, fields to fill) runs reply once done (unless the store
 * failed: then InternalError). The request is freed after reply. */
s3_request *s3_request_new(aws_call *call, store_op_kind kind, s3_reply_fn reply);
void s3_request_submit(s3_request *r);

/* The string member `name` of the input (NULL if absent or not a string). */
const char *s3_in_str(aws_call *call, const char *name);
/* The bucket named by the input, or an answered NoSuchBucket (NULL). */
s3_bucket *s3_in_bucket(aws_call *call);
s3_bucket *s3_bucket_find(s3 *s, const char *name);
/* Errors with the element S3 adds (BucketName, Key); -1 for convenience. */
int s3_error_bucket(aws_call *call, aws_error err, const char *bucket, const char *msg);
int s3_error_key(aws_call *call, aws_error err, const char *key, const char *msg);
/* The object key of the input, checked (1..1024 bytes), or an answered error (NULL). */
const char *s3_in_key(aws_call *call);

/* Time as S3 writes it: ISO 8601 in XML ("2024-01-02T03:04:05.000Z"), HTTP-date in headers. */
void s3_time_iso(int64_t ms, char out[32]);
void s3_time_http(int64_t ms, char out[40]);
/* Sends an XML document body (taken) with status 200. */
void s3_reply_xml(aws_call *call, buf *body);
/* Appends <name>text</name>, the text escaped (url-encoded first when url is set). */
void s3_xml_elem(buf *b, const char *name, const char *text, bool url);

/* Operations (s3_service.c: buckets; s3_objects.c; s3_list.c). */
void s3_create_bucket(aws_call *call);
void s3_delete_bucket(aws_call *call);
void s3_head_bucket(aws_call *call);
void s3_list_buckets(aws_call *call);
void s3_get_bucket_location(aws_call *call);
void s3_put_object(aws_call *call);
void s3_get_object(aws_call *call);
void s3_head_object(aws_call *call);
void s3_delete_object(aws_call *call);
void s3_delete_objects(aws_call *call);
void s3_copy_object(aws_call *call);
void s3_list_objects(aws_call *call);
void s3_list_objects_v2(aws_call *call);
void s3_create_multipart_upload(aws_call *call);
void s3_upload_part(aws_call *call);
void s3_upload_part_copy(aws_call *call);
void s3_complete_multipart_upload(aws_call *call);
void s3_abort_multipart_upload(aws_call *call);
void s3_list_parts(aws_call *call);
void s3_list_multipart_uploads(aws_call *call);

/* Shared by the object writes (s3_objects.c, s3_multipart.c). */
void s3_md5_hex(const char *data, size_t len, char out[33], unsigned char raw[16]);
unsigned char *s3_dup_bytes(const char *p, size_t n);
/* The metadata document of a new object from the input's members (type, user metadata,
 * representation headers). */
json_t *s3_doc_from_input(aws_call *call);
/* Content-MD5 against the body's digest: 0, or -1 (answered). */
int s3_check_md5(aws_call *call, const unsigned char raw[16]);
/* The request's body (s3_body) within S3_MAX_OBJECT_BYTES and matching its Content-MD5;
 * 0, or -1 once answered with the error. */
int s3_upload_body(aws_call *call, const char **body, size_t *len, buf *decoded);
/* The bucket an object write goes to, or an answered error (NULL). */
s3_bucket *s3_write_bucket(aws_call *call);
/* The input's CopySource as an existing bucket and a key (borrowed from the input): 0, or -1
 * (answered). */
int s3_copy_source(aws_call *call, char bucket[64], const char **key);
/* The key of part `part` of upload `id` in table, its bytes malloc'd (for a side row). */
store_kv_key s3_part_key_dup(int64_t table, const char *id, int part);
/* Appends to sides (n of them, xrealloc'd) the deletion of the part rows holding the bytes of
 * the multipart object whose metadata text is old (nothing for other objects, or old NULL). */
void s3_old_chunk_sides(const char *old, size_t old_len, store_kv_side **sides, size_t *n);

/* An object fetched: doc NULL when there is none (key: the key asked for); body its bytes
 * (whole: len is its size) when asked for. All borrowed for the call. */
typedef void (*s3_fetched_fn)(aws_call *call, const char *key, json_t *doc, const char *body,
                              size_t len, void *arg);
/* Reads object (bucket, key) (copied), with its bytes when body is set, then runs fn once
 * (unless the store failed: then InternalError). */
void s3_object_fetch(aws_call *call, const char *bucket, const char *key, bool body,
                     s3_fetched_fn fn, void *arg);

/* The object body of a PutObject: the request's (aws-chunked framing decoded into
 * `decoded`), or an in-process caller's Body member (a string, or any JSON as its text).
 * 0, or -1 (answered). *data is borrowed from the call or from decoded. */
int s3_body(aws_call *call, const char **data, size_t *len, buf *decoded);
/* Reads an HTTP request into an operation and its input (aws_service_def.decode_http). */
const char *s3_decode_http(const http_request *req, json_t **input, aws_failure *f);

#endif
