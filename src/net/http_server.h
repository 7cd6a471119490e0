/* HTTP/1.1 server on a libuv loop (http-parser underneath).
 *
 * Keep-alive, pipelining (responses leave in request order even when handlers answer out
 * of order), `Expect: 100-continue`, limits (header bytes, body bytes, connections) and
 * timeouts (idle keep-alive, slow client: a request must arrive whole within
 * `request_timeout_ms` of its first byte). Malformed or over-limit requests get a 4xx with
 * a small body and the connection is closed after it; other connections are unaffected.
 *
 * Every handler call receives one http_request. The handler answers it exactly once, now or
 * later (after a store commit, after a long poll), with http_respond(). The request stays
 * valid until then, even if its connection closes meanwhile (then the response is dropped;
 * `http_request_is_cancelled` tells a long-poller it may stop early).
 * Everything here runs on the loop's thread. */
#ifndef SLUICE_NET_HTTP_SERVER_H
#define SLUICE_NET_HTTP_SERVER_H

#include "common/buf.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct http_server http_server;

typedef struct http_header {
    const char *name; /* request headers: lower-cased by the server */
    const char *value;
} http_header;

typedef struct http_request {
    const char *method; /* "GET", "POST", ... */
    const char *path;   /* URL path, NUL-terminated, not decoded, without the query */
    const char *query;  /* the part after '?', "" if none, not decoded */
    http_header *headers;
    size_t nheaders;
    const char *body; /* NUL-terminated (the NUL is not counted in body_len) */
    size_t body_len;
    char peer[64]; /* "127.0.0.1:54321" */
    uint64_t seq;  /* monotonically increasing request number (for request ids) */
    void *user;    /* free for the handler's use */
} http_request;

typedef void (*http_handler_fn)(http_request *req, void *ctx);

/* A larger body limit for the requests whose path starts with `prefix` (Lambda's function
 * code and payloads), or, with prefix NULL, that carry header `header` (lower-case name:
 * S3's x-amz-content-sha256): everything else keeps max_body_bytes. */
typedef struct http_body_limit {
    const char *prefix;
    size_t max_bytes;
    const char *header;
} http_body_limit;

typedef struct http_server_config {
    const char *bind;            /* address to bind, IPv4 or IPv6 literal */
    int port;                    /* 0: pick a free port (see http_server_port) */
    size_t max_header_bytes;     /* default 16 KiB */
    size_t max_body_bytes;       /* default 4 MiB */
    unsigned max_connections;    /* default 10000 */
    uint64_t idle_timeout_ms;    /* keep-alive idle; default 60 s */
    uint64_t request_timeout_ms; /* whole request from its first byte; default 30 s */
    unsigned max_pipeline; /* pending requests per connection before reading pauses; default 64 */
    const http_body_limit *body_limits; /* borrowed for the server's life; may be NULL */
    size_t nbody_limits;
} http_server_config;

/* Fills cfg with the defaults above (bind 127.0.0.1, port 4566). */
void http_server_config_defaults(http_server_config *cfg);

/* Creates a server and starts listening. Borrows loop and cfg (strings copied). Returns 0
 * or a negative uv error code (e.g. UV_EADDRINUSE); on error *out is NULL. */
int http_server_start(http_server **out, uv_loop_t *loop, const http_server_config *cfg,
                      http_handler_fn handler, void *ctx);

/* The port actually bound (useful with port 0). */
int http_server_port(const http_server *s);

/* Graceful shutdown, step 1: stop accepting and close idle connections. Connections with
 * requests in progress close once their responses are written. `on_drained` is called once
 * when no connection remains (possibly before this returns if none is open). */
void http_server_stop(http_server *s, void (*on_drained)(void *arg), void *arg);

/* Frees the server. Call after on_drained, or from the loop's teardown. Accepts NULL. */
void http_server_destroy(http_server *s);

/* Header lookup by lower-case name; NULL if absent. */
const char *http_request_header(const http_request *req, const char *lower_name);

int http_request_is_cancelled(const http_request *req);

/* Answers req. `headers` are borrowed (copied into the output); `body` is taken: its memory
 * is moved out of the buf (the caller's buf is left empty). Content-Length, Date,
 * Connection and Server are added by the server. After this call req is gone. */
void http_respond(http_request *req, int status, const http_header *headers, size_t nheaders,
                  buf *body);

/* Number of open connections (for /_sluice/health and metrics). */
unsigned http_server_connections(const http_server *s);

#endif
