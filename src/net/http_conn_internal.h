/* Test and fuzz hook into the HTTP server's per-connection request path.
 *
 * Private to src/net/http_server.c and its tests: runs one connection's parsing, limits,
 * pipelining and response ordering over a byte array, without sockets, loop or timers. */
#ifndef SLUICE_NET_HTTP_CONN_INTERNAL_H
#define SLUICE_NET_HTTP_CONN_INTERNAL_H

#include "common/buf.h"
#include "net/http_server.h"

#include <stddef.h>
#include <stdint.h>

typedef struct http_feed_result {
    unsigned requests;  /* requests handed to the handler */
    unsigned responses; /* responses written, server-generated errors included */
    int closed;         /* the connection decided to close (error, Connection: close) */
} http_feed_result;

/* Feeds `data` to one fake connection in reads of `chunk` bytes (0: all at once). The
 * handler echoes "<method> <path>?<query>\n<body>" with status 200. With `defer` set, the
 * handler holds requests and answers them newest first after each read, exercising the
 * out-of-order path. Borrows cfg (NULL: defaults) and data; appends every byte the
 * connection writes to `out` if not NULL. Frees everything before returning. */
void http_conn_feed(const http_server_config *cfg, const uint8_t *data, size_t len, size_t chunk,
                    int defer, buf *out, http_feed_result *res);

#endif
