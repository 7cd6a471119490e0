/* The AWS REST-JSON protocol (botocore "rest-json": SES v2, Lambda): requests are routed by
 * HTTP method and URI template, and an operation's input is spread over the URI's labels,
 * the querystring, headers and a JSON (or raw) body, as the model's bindings say
 * (model.h: model_http, model_binding).
 *
 * Routing: an operation matches when its method is the request's, its template's path
 * segments match the request's (a literal equals the percent-decoded segment, a {Label} takes
 * one non-empty segment, a greedy {Label+} one or more, slashes included), and every literal
 * query item of the template ("?versions", "?List=ALL") is in the request's query. One
 * trailing slash is ignored on both sides. When several operations match, the most specific
 * wins: path segments compared from the left, a literal beats a label, which beats a greedy
 * label; then the one requiring more literal query items.
 *
 * Decoding gives the same JSON object the AWS JSON protocols carry, keyed by member name:
 * labels, querystring values and headers are typed by their shapes (integers, booleans,
 * doubles; timestamps as epoch seconds, read from ISO 8601, epoch or HTTP-date text; lists
 * from repeated parameters or comma-separated headers; querystring maps from the parameters
 * no other member names; header-prefix maps; jsonvalue headers decoded from base64 JSON).
 * The body is a JSON object whose members are checked against their shapes (unknown members
 * are ignored, as AWS ignores them; a member bound elsewhere is taken from there, not the
 * body), or, for an operation with a payload member, that member alone: a blob payload is
 * the raw body (base64 in the JSON), a string payload the raw text, a structure payload the
 * JSON body. An empty body is {}.
 *
 * Encoding follows the output shape: header members become response headers, a statusCode
 * member sets the status, a payload member is the whole body (a blob is sent decoded), the
 * other members make the JSON body; the status is the operation's responseCode (204 and 304
 * carry no body). Errors carry the table's status, `X-Amzn-ErrorType: <Code>` and
 * {"__type":"<Code>","message":"..."}: botocore's RestJSONParser and the AWS SDK v3 take the
 * code from the header (then from the body's `code` or `__type`), the message from the body's
 * `message`. */
#ifndef SLUICE_PROTOCOL_REST_JSON_H
#define SLUICE_PROTOCOL_REST_JSON_H

#include "common/buf.h"
#include "net/http_server.h"
#include "protocol/aws_errors.h"
#include "protocol/model.h"

#include <jansson.h>
#include <stddef.h>

#define REST_JSON_MAX_SEGMENTS 32

/* How specifically a template matched a request (see rest_json_rank_cmp). */
typedef struct rest_json_rank {
    unsigned char seg[REST_JSON_MAX_SEGMENTS]; /* per segment: 2 literal, 1 label, 0 greedy */
    size_t nseg;
    size_t nquery; /* literal query items the template requires */
} rest_json_rank;

/* The operation of svc (a REST model) that the request's method, path and query match, the
 * most specific one if several do, with its rank in *rank; NULL if none (or svc is not a
 * REST model). Borrows everything. */
const model_operation *rest_json_match(const model_service *svc, const http_request *req,
                                       rest_json_rank *rank);

/* > 0 if a is more specific than b, < 0 if less, 0 if equally. */
int rest_json_rank_cmp(const rest_json_rank *a, const rest_json_rank *b);

/* Decodes req into the input of op (an operation of the REST model svc). Borrows both.
 * Returns a new JSON object (caller owns it), or NULL with the reason in err: a body that is
 * not JSON or has a member of the wrong type, a label, parameter or header that does not
 * parse as its shape, text that is not UTF-8, a path that does not match op's template. */
json_t *rest_json_decode(const model_service *svc, const model_operation *op,
                         const http_request *req, char *err, size_t errlen);

/* An HTTP response being built: headers and body owned by it. */
typedef struct rest_json_response {
    int status;
    http_header *headers; /* names and values owned (free with rest_json_response_free) */
    size_t nheaders, cap;
    buf body;
} rest_json_response;

/* Encodes output (borrowed; NULL means no members) as op's response into out (which must
 * be zeroed). Returns 0, or -1 with the reason in err (a blob payload that is not base64);
 * out is to be freed either way. */
int rest_json_encode(const model_service *svc, const model_operation *op, const json_t *output,
                     rest_json_response *out, char *err, size_t errlen);

/* Encodes an error of the table (aws_errors.h) into out (zeroed). msg is borrowed. */
void rest_json_encode_error(const model_service *svc, aws_error e, const char *msg,
                            rest_json_response *out);

/* Adds a header (name and value copied). */
void rest_json_response_add_header(rest_json_response *r, const char *name, const char *value);
void rest_json_response_free(rest_json_response *r);

#endif
