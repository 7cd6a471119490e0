/* Asynchronous HTTP/1.1 and HTTP/2 client on a libuv loop (libcurl's multi interface).
 *
 * Outbound deliveries (EventBridge API destinations, later SNS HTTP subscriptions, SMS
 * gateways, OAuth token endpoints) go through one http_client per loop; the engine thread
 * never blocks on the network or on DNS. Connections to the same host are kept alive and
 * reused across requests; redirects are not followed (a 3xx is returned like any status);
 * only http:// and https:// URLs are accepted. TLS peers are verified against the system
 * CA store. Proxies named by the usual environment variables (http_proxy, https_proxy,
 * no_proxy) are honoured, as libcurl does by default.
 *
 * Everything here runs on the loop's thread: create, send, destroy and the callbacks. */
#ifndef SLUICE_NET_HTTP_CLIENT_H
#define SLUICE_NET_HTTP_CLIENT_H

#include <stddef.h>
#include <uv.h>

/* Error codes, one row each: X(NAME, value, message). A request's outcome is one of:
 *   0           a complete response arrived (any status: 2xx, 3xx, 4xx, 5xx)
 *   ECONNECT    no connection could be established (DNS, TCP connect, TLS handshake):
 *               the request was certainly not delivered
 *   ETIMEDOUT   the whole exchange did not finish within timeout_ms: it may have been
 *               delivered
 *   ETOOBIG     the response body is over max_response_bytes (or its head over 64 KiB)
 *   ECANCELLED  http_client_destroy ran while the request was in flight
 *   EOTHER      anything else after connecting (reset, malformed reply, empty reply)
 *   EINVAL      only returned by http_client_send: the request itself is unusable */
#define HTTP_CLIENT_ERRORS(X)                                                                      \
    X(ETIMEDOUT, -1, "request timed out")                                                          \
    X(ECONNECT, -2, "could not connect")                                                           \
    X(ECANCELLED, -3, "request cancelled")                                                         \
    X(ETOOBIG, -4, "response too large")                                                           \
    X(EOTHER, -5, "transfer failed")                                                               \
    X(EINVAL, -6, "invalid request")

enum {
#define HTTP_CLIENT_ERROR_ENUM(name, value, msg) HTTP_CLIENT_##name = value,
    HTTP_CLIENT_ERRORS(HTTP_CLIENT_ERROR_ENUM)
#undef HTTP_CLIENT_ERROR_ENUM
};

/* "ETIMEDOUT", ... ("OK" for 0, "UNKNOWN" for other values). Static strings. */
const char *http_client_error_name(int code);
/* "request timed out", ... Static strings. */
const char *http_client_error_message(int code);

typedef struct http_client http_client;

#define HTTP_CLIENT_DEFAULT_TIMEOUT_MS   5000
#define HTTP_CLIENT_DEFAULT_MAX_RESPONSE (1024 * 1024)
#define HTTP_CLIENT_MAX_RESPONSE_HEAD    (64 * 1024)

typedef struct http_client_request {
    const char *method; /* "POST", "GET", "HEAD", "PUT", ... (an HTTP token; copied) */
    const char *url;    /* absolute http:// or https:// URL (copied) */
    /* "Name: value" lines, copied and sent as given (an empty value is sent empty). Not
     * allowed: CR or LF anywhere, a line without a name and colon, Content-Length and
     * Transfer-Encoding (the body length decides those). Without a Content-Type line none
     * is sent. May be NULL when nheaders is 0. */
    const char *const *headers;
    size_t nheaders;
    const char *body; /* copied; may be NULL when body_len is 0; must be empty for HEAD */
    size_t body_len;
    long timeout_ms;           /* the whole exchange; 0 = HTTP_CLIENT_DEFAULT_TIMEOUT_MS */
    size_t max_response_bytes; /* body limit; 0 = HTTP_CLIENT_DEFAULT_MAX_RESPONSE */
} http_client_request;

typedef struct http_client_response {
    /* Status of the final response head (>= 200), or 0 if none arrived. Set even when
     * `error` is not 0 but a head did arrive (ETOOBIG, or ETIMEDOUT while the body was
     * coming): check `error` first. */
    int status;
    int error;                 /* 0 or a negative HTTP_CLIENT_E* code */
    const char *error_message; /* "" when error is 0; else curl's words or ours */
    /* The response body, NUL-terminated (the NUL not counted); "" when error is not 0. */
    const char *body;
    size_t body_len;
    /* Everything above, and what http_client_response_header returns, is borrowed: valid
     * only during the callback. */
} http_client_response;

/* Called exactly once per request that http_client_send accepted, on the loop thread. */
typedef void (*http_client_done_fn)(const http_client_response *res, void *arg);

/* Creates a client on `loop` (borrowed; it must outlive the client). Returns 0, or
 * HTTP_CLIENT_EOTHER if libcurl cannot be initialised (then *out is NULL). */
int http_client_create(http_client **out, uv_loop_t *loop);

/* Starts a request; everything in req is copied. fn is called exactly once, on the loop
 * thread, later: never from inside this call. Returns 0, or a negative code and then never
 * calls fn: HTTP_CLIENT_EINVAL for an unusable request (see http_client_request),
 * HTTP_CLIENT_ECANCELLED when the client is being destroyed, HTTP_CLIENT_EOTHER if libcurl
 * refuses the transfer. `arg` is passed to fn untouched. */
int http_client_send(http_client *c, const http_client_request *req, http_client_done_fn fn,
                     void *arg);

/* The value of a response header, by case-insensitive name; the first one if repeated;
 * NULL if absent. Borrowed: valid during the callback. */
const char *http_client_response_header(const http_client_response *res, const char *name);

/* Walks the response's headers in the order they arrived (a repeated one each time):
 * start with *pos = 0; each call sets *name and *value (borrowed: valid during the
 * callback) and returns 1, or returns 0 after the last. */
int http_client_response_header_next(const http_client_response *res, size_t *pos,
                                     const char **name, const char **value);

/* What a finished exchange means to a durable delivery (src/delivery/delivery.h):
 * cancelled (the client is shutting down: the delivery stays due), delivered (a 2xx),
 * worth retrying (no answer, a 429 or a 5xx), or refused for good (any other status). */
typedef enum {
    HTTP_OUTCOME_CANCELLED,
    HTTP_OUTCOME_DELIVERED,
    HTTP_OUTCOME_RETRYABLE,
    HTTP_OUTCOME_REFUSED,
} http_outcome;
http_outcome http_client_outcome(const http_client_response *res);

/* Requests accepted and not yet completed (their callbacks not yet called). */
size_t http_client_in_flight(const http_client *c);

/* Cancels everything in flight: each callback runs now, inside this call, with
 * HTTP_CLIENT_ECANCELLED (status 0); sends made from those callbacks are refused. Then
 * closes the connections and the libuv handles; the memory is freed once the handles have
 * closed, so the loop must run again afterwards. May be called from inside a callback.
 * Accepts NULL. */
void http_client_destroy(http_client *c);

#endif
