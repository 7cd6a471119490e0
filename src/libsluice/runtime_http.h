/* The HTTP/1.1 response parser of libsluice's runtime client (runtime_http.c): strict,
 * incremental over a buffer the caller grows, and allocation-free. Private to libsluice;
 * codes are the SLUICE_E* of include/sluice/runtime.h. */
#ifndef SLUICE_LIBSLUICE_RUNTIME_HTTP_H
#define SLUICE_LIBSLUICE_RUNTIME_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define RUNTIME_HTTP_MAX_HEADERS 32
#define RUNTIME_HTTP_DONE        1

typedef struct runtime_http_limits {
    size_t max_head;   /* status line and headers (and, separately, the trailers) */
    size_t max_body;   /* the body, decoded */
    unsigned max_hdrs; /* header fields, at most RUNTIME_HTTP_MAX_HEADERS */
} runtime_http_limits;

typedef struct runtime_http_header {
    const char *name; /* NUL-terminated, as received (compare case-insensitively) */
    const char *value;
} runtime_http_header;

typedef struct runtime_http_parser {
    runtime_http_limits lim;
    /* progress: offsets into the caller's buffer, which may move between calls */
    int stage;
    size_t pos;        /* raw bytes examined */
    size_t body_start; /* the decoded body is written from here */
    size_t content_length;
    size_t chunk_left;
    size_t trailer_bytes;
    unsigned nhdrs;
    uint32_t name_off[RUNTIME_HTTP_MAX_HEADERS], value_off[RUNTIME_HTTP_MAX_HEADERS];
    /* the response, complete once parse returned RUNTIME_HTTP_DONE */
    int status;     /* 100..599 */
    int keep_alive; /* the connection may carry the next request */
    int chunked;
    size_t head_len; /* status line + headers + blank line */
    size_t end;      /* raw bytes of the whole response */
    char *body;      /* decoded, NUL-terminated, in the caller's buffer */
    size_t body_len;
    runtime_http_header hdrs[RUNTIME_HTTP_MAX_HEADERS];
} runtime_http_parser;

/* Starts a response (limits copied; max_hdrs capped at RUNTIME_HTTP_MAX_HEADERS). */
void runtime_http_init(runtime_http_parser *p, const runtime_http_limits *lim);

/* buf holds the len bytes received so far for this response, and has room for one more
 * byte (buf[len] may be written). Call again with the same buffer, grown, after each read.
 * Returns RUNTIME_HTTP_DONE (the fields above are set; header names and values, the body
 * are NUL-terminated in buf), 0 (more bytes needed), SLUICE_EPROTO (malformed) or
 * SLUICE_ELIMIT (over a limit). Chunked bodies are decoded in place: after DONE, the bytes
 * of buf between the body's end and p->end are no longer the raw response. Rejected: other
 * versions than HTTP/1.0 and 1.1, 1xx responses, obsolete line folding, bare CR or LF,
 * control characters in fields, whitespace before a colon, a Content-Length that is not
 * digits or appears twice, Transfer-Encoding other than chunked or beside Content-Length,
 * and a body framed by neither (a close-delimited body). */
int runtime_http_parse(runtime_http_parser *p, char *buf, size_t len);

/* The value of header name (case-insensitive) in a complete response, or NULL. */
const char *runtime_http_header_get(const runtime_http_parser *p, const char *name);

#endif
