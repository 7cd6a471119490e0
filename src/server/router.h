/* Routes each HTTP request to a service operation (or to an operational endpoint).
 *
 * Recognition, in order: `GET /_sluice/health` and the plain GET endpoints; `X-Amz-Target:
 * <prefix>.<Op>` (AWS JSON protocols; the prefix picks the service); a request whose SigV4
 * credential scope names a REST-XML service (S3: `.../s3/aws4_request`, in the Authorization
 * header or a presigned URL's X-Amz-Credential), decoded by the service; a POST with a form
 * content type (AWS Query); a REST-JSON operation whose method and URI template match
 * (rest_json.h; the most specific template over every REST service; never for paths under
 * /_sluice/); an AWS Query form found by sniffing (`Action=` in the body or the query
 * string). A Query request's service is the one of the SigV4 credential scope, else the one
 * whose API version is the `Version` parameter, else the first with the action (REST
 * services never answer Query). Services are rows of a table: a new service registers its
 * aws_service_def, whatever its protocol, and nothing here changes. */
#ifndef SLUICE_SERVER_ROUTER_H
#define SLUICE_SERVER_ROUTER_H

#include "net/http_server.h"
#include "protocol/aws.h"
#include "protocol/sigv4.h"

typedef struct router router;

typedef void (*router_health_fn)(http_request *req, void *arg);

/* creds may be NULL/0: any request is accepted, signed or not. Borrows everything. */
router *router_create(const sigv4_credential *creds, size_t ncreds, router_health_fn health,
                      void *health_arg);
void router_add_service(router *r, const aws_service_def *svc);
/* Plain HTTP GET endpoints a service serves (a certificate, a page): requests whose path
 * starts with `prefix` (borrowed) go to fn. */
void router_add_get(router *r, const char *prefix, http_handler_fn fn, void *arg);
/* The same for any method (GET and POST: the Lambda Runtime API under /_sluice/lambda/). */
void router_add_any(router *r, const char *prefix, http_handler_fn fn, void *arg);
void router_destroy(router *r);
/* The http_handler_fn: ctx is the router. */
void router_handle(http_request *req, void *ctx);

#endif
