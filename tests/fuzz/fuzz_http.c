/* Fuzz target for the HTTP server's request path: arbitrary bytes as one connection's
 * input, through parsing, limits, pipelining and response ordering (no sockets).
 *
 * The first input byte picks the read size and whether the handler answers at once or
 * holds requests and answers them out of order; the second picks small or default limits. */
#include "net/http_conn_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint8_t mode = data[0], limits = data[1];
    data += 2;
    size -= 2;

    static const size_t chunks[] = {0, 1, 2, 3, 7, 16, 64, 512};
    http_server_config cfg;
    http_server_config_defaults(&cfg);
    if (limits & 1) {
        cfg.max_header_bytes = 64 + (limits >> 1) * 8;
        cfg.max_body_bytes = 16 + (limits >> 1);
        cfg.max_pipeline = 1 + (limits >> 5);
    }
    buf out = BUF_INIT;
    http_feed_result res;
    http_conn_feed(&cfg, data, size, chunks[mode & 7], (mode >> 3) & 1, &out, &res);

    /* one response per request handed to the handler, plus at most one error */
    if (res.responses < res.requests || res.responses > res.requests + 1)
        abort();
    /* every response starts a status line */
    if (res.responses && (out.len < 9 || memcmp(out.data, "HTTP/1.1 ", 9) != 0))
        abort();
    buf_free(&out);
    return 0;
}
