/* The S3 service: an S3-compatible object store (REST-XML, path-style addressing:
 * http://HOST:PORT/BUCKET/KEY), recognised by the router through the SigV4 credential scope's
 * service `s3`. Buckets are control-plane documents; objects (metadata and bodies) live only
 * in the store's key-value tables, read per request and never cached.
 *
 * Operations: CreateBucket, DeleteBucket, HeadBucket, ListBuckets, GetBucketLocation,
 * PutObject, GetObject (ranges, If-Match/If-None-Match), HeadObject, DeleteObject,
 * DeleteObjects, CopyObject, ListObjects and ListObjectsV2, and multipart uploads
 * (CreateMultipartUpload, UploadPart, UploadPartCopy, CompleteMultipartUpload,
 * AbortMultipartUpload, ListParts, ListMultipartUploads). Other services (Step Functions'
 * aws-sdk:s3 tasks, ItemReader and ResultWriter) call them in-process with aws_call_internal:
 * inputs and outputs are the API's shapes, an object's Body a string. */
#ifndef SLUICE_SERVICES_S3_H
#define SLUICE_SERVICES_S3_H

#include "protocol/aws.h"
#include "store/store.h"

#include <uv.h>

/* The largest object a PutObject, CopyObject, UploadPart or CompleteMultipartUpload may store
 * (EntityTooLarge beyond): GetObject answers an object from one buffer (the HTTP server does
 * not stream responses), so an object, multipart or not, is kept to what a request may hold. */
#define S3_MAX_OBJECT_BYTES (16u << 20)
/* The request body limit S3 requests get from the HTTP server (aws-chunked framing included). */
#define S3_MAX_REQUEST_BYTES (S3_MAX_OBJECT_BYTES + (1u << 20))

typedef struct s3 s3;

/* Loads the buckets. Borrows everything (strings copied). 0, or -1 (logged). */
int s3_create(s3 **out, uv_loop_t *loop, store *st, const char *region, const char *account);
const aws_service_def *s3_service_def(const s3 *s);
void s3_shutdown(s3 *s);
/* After the store closed. Accepts NULL. */
void s3_destroy(s3 *s);

#endif
