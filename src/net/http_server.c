/* HTTP/1.1 server: libuv TCP plus http-parser.
 *
 * Per connection, requests live in one FIFO queue, oldest first. A request enters the queue
 * when its first byte is parsed (message_begin), is handed to the handler when complete
 * (DISPATCHED), becomes READY when the handler answers, and leaves the queue only from the
 * head, when it and everything before it are READY: that is how responses go out in request
 * order whatever order handlers answer in. `npending` counts the requests of a connection
 * from message_begin until their response bytes are written; above max_pipeline the parser
 * is paused (unparsed bytes are kept aside) and reading stops until responses drain.
 *
 * Memory per request: one arena buf holding "url\0name\0value\0...body\0"; header pointers
 * are stored as arena offsets while parsing (the arena may move as it grows) and turned
 * into pointers when the request is complete. Request objects, with their arenas, header
 * arrays and response head buffers, are recycled through a per-server free list, so a
 * steady keep-alive load allocates nothing but the handler's response body. Reads land in
 * one server-wide 64 KiB buffer (libuv calls alloc_cb and read_cb back to back and every
 * read is parsed, or its tail copied aside, before read_cb returns).
 *
 * Writes: every READY request at the head of the queue is sent in one writev (head + body
 * buffers, body memory taken from the handler's buf), tried synchronously first
 * (uv_try_write); only a remainder is queued with uv_write.
 *
 * Timers: one per connection, lazily re-armed. While a request is being received it is due
 * `request_timeout_ms` after the request's first byte (408); with nothing pending it is due
 * `idle_timeout_ms` after the last response (close); while handlers hold requests it is off.
 *
 * Lifetime: a connection is freed when its two handles are closed and no handler still
 * holds one of its requests (those become cancelled orphans; answering them frees them).
 * After http_server_destroy, surviving connections and orphans no longer reference the
 * server. */
#include "net/http_server.h"

#include "common/alloc.h"
#include "net/http_conn_internal.h"

#include <http_parser.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define READ_BUF_SIZE      (64 * 1024)
#define FLUSH_MAX          32   /* responses per writev */
#define FREE_REQS_MAX      1024 /* recycled request objects kept per server */
#define FREE_BATCHES_MAX   64
#define ARENA_KEEP_MAX     (64 * 1024) /* larger arenas are freed, not recycled */
#define BODY_PREALLOC_MAX  (256 * 1024)
#define LINGER_MS          1000 /* read-and-discard after the last response, before close */
#define REQUEST_LINE_EXTRA 12   /* " HTTP/1.1\r\n" plus a space, counted against the limit */

static const char CONTINUE_100[] = "HTTP/1.1 100 Continue\r\n\r\n";

/* ---------------------------------------------------------------------------------------
 * Types
 * --------------------------------------------------------------------------------------- */

typedef struct conn conn;

enum req_state { REQ_PARSING, REQ_DISPATCHED, REQ_READY };
enum parse_part { PART_URL, PART_FIELD, PART_VALUE };

typedef struct hreq {
    http_request pub; /* first: http_request* and hreq* convert */
    conn *c;
    struct hreq *next; /* queue, write chain or free list */
    buf arena;
    http_header *hdrs;
    size_t hdr_cap;
    size_t url_len;
    size_t max_body; /* this request's limit (set when its headers are complete) */
    size_t body_off;
    size_t hdr_bytes;
    uint64_t started_ms;
    enum req_state state;
    enum parse_part part;
    unsigned keep_alive : 1;
    unsigned close : 1;         /* Connection: close after this response */
    unsigned want_continue : 1; /* 100 Continue not yet written */
    unsigned is_head : 1;
    unsigned orphan : 1;
    buf out; /* response head, without the Connection line */
    char *body;
    size_t body_len;
} hreq;

typedef struct wbatch {
    uv_write_t w;
    conn *c;
    hreq *chain;
    struct wbatch *next;
} wbatch;

struct conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_shutdown_t shut;
    http_server *srv;
    conn *prev, *next; /* server's list of connection objects still in memory */
    http_parser parser;
    hreq *qhead, *qtail;
    hreq *cur; /* request being received (also the queue's tail) */
    unsigned npending;
    buf inbuf;          /* unparsed bytes kept while paused */
    uint64_t timer_due; /* loop ms; 0 when not armed */
    uint64_t last_active;
    int err_status; /* set by a parser callback that fails the request */
    unsigned refs;  /* open handles + orphaned requests */
    unsigned handles;
    char peer[64];
    unsigned fake : 1; /* test hook: no socket, no loop */
    unsigned closed : 1;
    unsigned reading : 1;
    unsigned paused : 1;    /* pipeline full: parser paused, reading stopped */
    unsigned read_done : 1; /* no further request will be read */
    unsigned draining : 1;  /* server stopping: the request being read is the last */
    unsigned lingering : 1;
    unsigned in_parse : 1;
    unsigned in_progress : 1;
    /* fake connections only */
    buf *sink;
    unsigned responses;
};

struct http_server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    http_server_config cfg;
    char bind[64];
    http_handler_fn handler;
    void *ctx;
    int port;
    unsigned nconns;
    conn *conns;
    uint64_t seq;
    char *rbuf;
    hreq *free_reqs;
    unsigned nfree_reqs;
    wbatch *free_batches;
    unsigned nfree_batches;
    time_t date_sec;
    char date[40];
    void (*on_drained)(void *);
    void *drained_arg;
    unsigned has_listener : 1;
    unsigned listener_closing : 1;
    unsigned listener_closed : 1;
    unsigned stopping : 1;
    unsigned drained_called : 1;
    unsigned destroyed : 1;
};

static void conn_abort(conn *c);
static void conn_progress(conn *c);
static void conn_fail(conn *c, int status);
static void conn_read_start(conn *c);
static void conn_read_stop(conn *c);
static void timer_arm(conn *c, uint64_t due);

/* ---------------------------------------------------------------------------------------
 * Configuration
 * --------------------------------------------------------------------------------------- */

void http_server_config_defaults(http_server_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->bind = "127.0.0.1";
    cfg->port = 4566;
    cfg->max_header_bytes = 16 * 1024;
    cfg->max_body_bytes = 4 * 1024 * 1024;
    cfg->max_connections = 10000;
    cfg->idle_timeout_ms = 60000;
    cfg->request_timeout_ms = 30000;
    cfg->max_pipeline = 64;
}

/* Copies cfg; zero fields take their defaults. */
static void config_copy(http_server *s, const http_server_config *cfg)
{
    http_server_config d;
    http_server_config_defaults(&d);
    if (!cfg)
        cfg = &d;
    s->cfg = *cfg;
    snprintf(s->bind, sizeof s->bind, "%s", cfg->bind ? cfg->bind : d.bind);
    s->cfg.bind = s->bind;
    if (!s->cfg.max_header_bytes)
        s->cfg.max_header_bytes = d.max_header_bytes;
    if (!s->cfg.max_body_bytes)
        s->cfg.max_body_bytes = d.max_body_bytes;
    if (!s->cfg.max_connections)
        s->cfg.max_connections = d.max_connections;
    if (!s->cfg.idle_timeout_ms)
        s->cfg.idle_timeout_ms = d.idle_timeout_ms;
    if (!s->cfg.request_timeout_ms)
        s->cfg.request_timeout_ms = d.request_timeout_ms;
    if (!s->cfg.max_pipeline)
        s->cfg.max_pipeline = d.max_pipeline;
}

/* ---------------------------------------------------------------------------------------
 * Request objects
 * --------------------------------------------------------------------------------------- */

static hreq *hreq_get(conn *c)
{
    http_server *s = c->srv;
    hreq *e;
    if (s && s->free_reqs) {
        e = s->free_reqs;
        s->free_reqs = e->next;
        s->nfree_reqs--;
    } else {
        e = xcalloc(1, sizeof *e);
    }
    memset(&e->pub, 0, sizeof e->pub);
    e->c = c;
    e->next = NULL;
    buf_reset(&e->arena);
    buf_reset(&e->out);
    e->url_len = e->body_off = e->hdr_bytes = 0;
    e->started_ms = 0;
    e->state = REQ_PARSING;
    e->part = PART_URL;
    e->keep_alive = e->close = e->want_continue = e->is_head = e->orphan = 0;
    e->body = NULL;
    e->body_len = 0;
    return e;
}

static void hreq_free(hreq *e)
{
    buf_free(&e->arena);
    buf_free(&e->out);
    xfree(e->hdrs);
    xfree(e->body);
    xfree(e);
}

/* Gives e back to s's free list (or frees it when s is gone or the list is full). */
static void hreq_recycle(http_server *s, hreq *e)
{
    xfree(e->body);
    e->body = NULL;
    if (!s || s->nfree_reqs >= FREE_REQS_MAX) {
        hreq_free(e);
        return;
    }
    if (e->arena.cap > ARENA_KEEP_MAX)
        buf_free(&e->arena);
    if (e->out.cap > ARENA_KEEP_MAX)
        buf_free(&e->out);
    e->c = NULL;
    e->next = s->free_reqs;
    s->free_reqs = e;
    s->nfree_reqs++;
}

/* A request of c is finished with (written, dropped or failed). */
static void conn_release_req(conn *c, hreq *e)
{
    c->npending--;
    hreq_recycle(c->srv, e);
}

static void conn_enqueue(conn *c, hreq *e)
{
    if (c->qtail)
        c->qtail->next = e;
    else
        c->qhead = e;
    c->qtail = e;
    c->npending++;
}

/* ---------------------------------------------------------------------------------------
 * Response heads
 * --------------------------------------------------------------------------------------- */

static const char *date_now(http_server *s)
{
    time_t now = time(NULL);
    if (now != s->date_sec) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(s->date, sizeof s->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        s->date_sec = now;
    }
    return s->date;
}

static void put_lit(buf *b, const char *s, size_t n)
{
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

#define PUT_LIT(b, s) put_lit((b), (s), sizeof(s) - 1)

static void put_uint(buf *b, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        b->data[b->len++] = tmp[--n];
}

/* Formats the head of e's response into e->out, all but the Connection line and the blank
 * line (decided when written). Takes body. */
static void format_response(http_server *s, hreq *e, int status, const http_header *headers,
                            size_t nheaders, char *body, size_t body_len)
{
    if (status < 100 || status > 999)
        status = 500;
    const char *reason = http_status_str((enum http_status)status);
    size_t rlen = strlen(reason);
    size_t need = 128 + rlen; /* status line, Server, Date, Content-Length */
    for (size_t i = 0; i < nheaders; i++)
        need += strlen(headers[i].name) + strlen(headers[i].value) + 4;
    buf *b = &e->out;
    buf_reset(b);
    buf_reserve(b, need);
    PUT_LIT(b, "HTTP/1.1 ");
    put_uint(b, (uint64_t)status);
    b->data[b->len++] = ' ';
    put_lit(b, reason, rlen);
    PUT_LIT(b, "\r\nServer: sluice\r\nDate: ");
    const char *date = date_now(s);
    put_lit(b, date, strlen(date));
    int bodyless = status < 200 || status == 204 || status == 304;
    /* a HEAD answer may state the length its GET would have (S3's HeadObject) */
    int own_length = 0;
    for (size_t i = 0; e->is_head && i < nheaders; i++)
        own_length = own_length || strcasecmp(headers[i].name, "Content-Length") == 0;
    if (!bodyless && !own_length) {
        PUT_LIT(b, "\r\nContent-Length: ");
        put_uint(b, body_len);
    }
    PUT_LIT(b, "\r\n");
    b->data[b->len] = '\0';
    for (size_t i = 0; i < nheaders; i++) {
        buf_puts(b, headers[i].name);
        buf_append(b, ": ", 2);
        buf_puts(b, headers[i].value);
        buf_append(b, "\r\n", 2);
    }
    if (bodyless || e->is_head) {
        xfree(body);
        body = NULL;
        body_len = 0;
    }
    e->body = body;
    e->body_len = body_len;
    e->state = REQ_READY;
}

/* ---------------------------------------------------------------------------------------
 * Parser callbacks: copy the request into its arena
 * --------------------------------------------------------------------------------------- */

static int hdr_bytes_add(conn *c, hreq *e, size_t n)
{
    e->hdr_bytes += n;
    if (e->hdr_bytes > c->srv->cfg.max_header_bytes) {
        c->err_status = 431;
        return -1;
    }
    return 0;
}

static uint64_t loop_now(conn *c)
{
    return c->fake ? 0 : uv_now(c->srv->loop);
}

static int on_message_begin(http_parser *p)
{
    conn *c = p->data;
    hreq *e = hreq_get(c);
    conn_enqueue(c, e);
    c->cur = e;
    if (!c->fake) {
        e->started_ms = loop_now(c);
        uint64_t due = e->started_ms + c->srv->cfg.request_timeout_ms;
        if (!c->timer_due || c->timer_due > due)
            timer_arm(c, due);
    }
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
    conn *c = p->data;
    hreq *e = c->cur;
    if (hdr_bytes_add(c, e, n + (e->arena.len ? 0 : REQUEST_LINE_EXTRA + 8)))
        return -1;
    buf_append(&e->arena, at, n);
    return 0;
}

static void end_url(hreq *e)
{
    e->url_len = e->arena.len;
    buf_putc(&e->arena, '\0');
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
    conn *c = p->data;
    hreq *e = c->cur;
    if (e->part != PART_FIELD) {
        if (hdr_bytes_add(c, e, n + 4))
            return -1;
        if (e->part == PART_URL)
            end_url(e);
        else
            buf_putc(&e->arena, '\0');
        if (e->pub.nheaders == e->hdr_cap) {
            e->hdr_cap = e->hdr_cap ? e->hdr_cap * 2 : 16;
            e->hdrs = xrealloc(e->hdrs, e->hdr_cap * sizeof *e->hdrs);
        }
        http_header *h = &e->hdrs[e->pub.nheaders++];
        h->name = (const char *)(uintptr_t)e->arena.len; /* offset until complete */
        h->value = NULL;
        e->part = PART_FIELD;
    } else if (hdr_bytes_add(c, e, n)) {
        return -1;
    }
    buf_reserve(&e->arena, n);
    char *d = e->arena.data + e->arena.len;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)at[i];
        d[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
    }
    e->arena.len += n;
    e->arena.data[e->arena.len] = '\0';
    return 0;
}

static void start_value(hreq *e)
{
    buf_putc(&e->arena, '\0');
    e->hdrs[e->pub.nheaders - 1].value = (const char *)(uintptr_t)e->arena.len;
    e->part = PART_VALUE;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
    conn *c = p->data;
    hreq *e = c->cur;
    if (hdr_bytes_add(c, e, n))
        return -1;
    if (e->part == PART_FIELD)
        start_value(e);
    buf_append(&e->arena, at, n);
    return 0;
}

static const char *arena_str(const hreq *e, const char *off)
{
    return e->arena.data + (uintptr_t)off;
}

/* The body limit of request e for `url` (origin or absolute form, not NUL-terminated). */
static size_t body_limit(const http_server *s, const hreq *e, const char *url, size_t len)
{
    for (size_t i = 0; i < s->cfg.nbody_limits; i++) {
        const char *want = s->cfg.body_limits[i].header;
        for (size_t h = 0; want && h < e->pub.nheaders; h++)
            if (strcmp(arena_str(e, e->hdrs[h].name), want) == 0 &&
                s->cfg.body_limits[i].max_bytes > s->cfg.max_body_bytes)
                return s->cfg.body_limits[i].max_bytes;
    }
    const char *sch = len > 3 ? memmem(url, len, "://", 3) : NULL;
    if (sch && url[0] != '/') { /* absolute form: the path starts after the host */
        const char *slash = memchr(sch + 3, '/', len - (size_t)(sch + 3 - url));
        len = slash ? len - (size_t)(slash - url) : 0;
        url = slash;
    }
    for (size_t i = 0; i < s->cfg.nbody_limits; i++) {
        if (!s->cfg.body_limits[i].prefix)
            continue;
        size_t n = strlen(s->cfg.body_limits[i].prefix);
        if (len >= n && memcmp(url, s->cfg.body_limits[i].prefix, n) == 0 &&
            s->cfg.body_limits[i].max_bytes > s->cfg.max_body_bytes)
            return s->cfg.body_limits[i].max_bytes;
    }
    return s->cfg.max_body_bytes;
}

static int on_headers_complete(http_parser *p)
{
    conn *c = p->data;
    hreq *e = c->cur;
    if (e->part == PART_URL)
        end_url(e);
    else if (e->part == PART_FIELD)
        start_value(e);
    buf_putc(&e->arena, '\0');
    e->body_off = e->arena.len;
    e->is_head = p->method == HTTP_HEAD;

    e->max_body = body_limit(c->srv, e, e->arena.data, e->url_len);
    uint64_t cl = p->content_length;
    int has_cl = cl != UINT64_MAX;
    if (has_cl && cl > e->max_body) {
        c->err_status = 413;
        return -1;
    }
    if (has_cl && cl > 0)
        buf_reserve(&e->arena, cl < BODY_PREALLOC_MAX ? (size_t)cl : BODY_PREALLOC_MAX);
    int http11 = p->http_major > 1 || (p->http_major == 1 && p->http_minor >= 1);
    if (http11 && ((has_cl && cl > 0) || (p->flags & F_CHUNKED))) {
        for (size_t i = 0; i < e->pub.nheaders; i++) {
            if (strcmp(arena_str(e, e->hdrs[i].name), "expect") == 0 &&
                strcasecmp(arena_str(e, e->hdrs[i].value), "100-continue") == 0)
                e->want_continue = 1;
        }
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    conn *c = p->data;
    hreq *e = c->cur;
    if (e->arena.len - e->body_off + n > e->max_body) {
        c->err_status = 413;
        return -1;
    }
    e->want_continue = 0; /* the client sent the body anyway */
    buf_append(&e->arena, at, n);
    return 0;
}

/* Turns arena offsets into the pointers the handler sees. */
static void request_finish(conn *c, hreq *e)
{
    http_request *r = &e->pub;
    char *a = e->arena.data;
    r->method = http_method_str((enum http_method)c->parser.method);
    char *url = a;
    char *q = memchr(url, '?', e->url_len);
    if (q) {
        *q = '\0';
        r->query = q + 1;
    } else {
        r->query = a + e->url_len;
    }
    /* absolute-form (http://host/path): keep only the path */
    if (url[0] != '/' && url[0] != '*') {
        char *sch = strstr(url, "://");
        char *slash = sch ? strchr(sch + 3, '/') : NULL;
        url = slash ? slash : (char *)"/";
    }
    r->path = url;
    for (size_t i = 0; i < r->nheaders; i++) {
        e->hdrs[i].name = arena_str(e, e->hdrs[i].name);
        e->hdrs[i].value = arena_str(e, e->hdrs[i].value);
    }
    r->headers = e->hdrs;
    r->body = a + e->body_off;
    r->body_len = e->arena.len - e->body_off;
    memcpy(r->peer, c->peer, sizeof r->peer);
    r->seq = ++c->srv->seq;
}

static int on_message_complete(http_parser *p)
{
    conn *c = p->data;
    hreq *e = c->cur;
    http_server *s = c->srv;
    c->cur = NULL;
    e->want_continue = 0;
    request_finish(c, e);
    e->keep_alive = http_should_keep_alive(p) && !p->upgrade;
    if (!e->keep_alive || c->draining) {
        e->close = 1;
        c->read_done = 1;
    }
    e->state = REQ_DISPATCHED;
    s->handler(&e->pub, s->ctx);
    if (c->closed || c->read_done) {
        http_parser_pause(p, 1);
    } else if (c->npending > s->cfg.max_pipeline) {
        c->paused = 1;
        http_parser_pause(p, 1);
    }
    return 0;
}

static const http_parser_settings parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---------------------------------------------------------------------------------------
 * Reading
 * --------------------------------------------------------------------------------------- */

/* Parses data (the shared read buffer or c->inbuf). Keeps an unparsed tail aside when the
 * pipeline is full; turns parser errors into an error response. */
static void conn_process(conn *c, const char *data, size_t len)
{
    c->in_parse = 1;
    size_t got = http_parser_execute(&c->parser, &parser_settings, data, len);
    c->in_parse = 0;
    if (c->closed)
        return;
    enum http_errno err = HTTP_PARSER_ERRNO(&c->parser);
    int from_inbuf = data == c->inbuf.data;
    if (err == HPE_PAUSED) {
        http_parser_pause(&c->parser, 0);
        if (c->read_done || !c->paused) {
            buf_free(&c->inbuf);
            conn_read_stop(c);
            return;
        }
        size_t rest = len - got;
        if (from_inbuf) {
            memmove(c->inbuf.data, c->inbuf.data + got, rest);
            c->inbuf.len = rest;
        } else {
            buf_reset(&c->inbuf);
            buf_append(&c->inbuf, data + got, rest);
        }
        conn_read_stop(c);
        return;
    }
    if (from_inbuf)
        buf_free(&c->inbuf);
    if (err != HPE_OK) {
        int status = c->err_status;
        if (!status)
            status = err == HPE_HEADER_OVERFLOW ? 431 : 400;
        conn_fail(c, status);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    conn *c = h->data;
    b->base = c->srv->rbuf;
    b->len = READ_BUF_SIZE;
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    conn *c = st->data;
    if (n < 0) {
        conn_abort(c); /* EOF or error: the client is gone */
        return;
    }
    if (n == 0 || c->lingering || c->read_done)
        return;
    conn_process(c, b->base, (size_t)n);
    conn_progress(c);
}

static void conn_read_start(conn *c)
{
    if (c->reading || c->closed)
        return;
    c->reading = 1;
    if (!c->fake && uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
        conn_abort(c);
}

static void conn_read_stop(conn *c)
{
    if (!c->reading)
        return;
    c->reading = 0;
    if (!c->fake)
        uv_read_stop((uv_stream_t *)&c->tcp);
}

/* ---------------------------------------------------------------------------------------
 * Writing
 * --------------------------------------------------------------------------------------- */

static void release_chain(conn *c, hreq *chain)
{
    while (chain) {
        hreq *next = chain->next;
        conn_release_req(c, chain);
        chain = next;
    }
}

static void on_write(uv_write_t *w, int status)
{
    wbatch *b = w->data;
    conn *c = b->c;
    http_server *s = c->srv;
    release_chain(c, b->chain);
    if (s && s->nfree_batches < FREE_BATCHES_MAX) {
        b->next = s->free_batches;
        s->free_batches = b;
        s->nfree_batches++;
    } else {
        xfree(b);
    }
    if (c->closed)
        return;
    if (status < 0)
        conn_abort(c);
    else
        conn_progress(c);
}

/* Writes bufs (total bytes), then releases chain: now if the kernel took everything,
 * else from on_write. */
static void conn_write(conn *c, uv_buf_t *bufs, unsigned nb, size_t total, hreq *chain)
{
    if (c->fake) {
        for (unsigned i = 0; i < nb; i++)
            if (c->sink)
                buf_append(c->sink, bufs[i].base, bufs[i].len);
        release_chain(c, chain);
        return;
    }
    int n = uv_try_write((uv_stream_t *)&c->tcp, bufs, nb);
    if (n == UV_EAGAIN || n == UV_ENOSYS)
        n = 0;
    if (n < 0) {
        release_chain(c, chain);
        conn_abort(c);
        return;
    }
    if ((size_t)n == total) {
        release_chain(c, chain);
        return;
    }
    size_t skip = (size_t)n;
    unsigned i = 0;
    while (skip >= bufs[i].len) {
        skip -= bufs[i].len;
        i++;
    }
    bufs[i].base += skip;
    bufs[i].len -= skip;
    http_server *s = c->srv;
    wbatch *b;
    if (s->free_batches) {
        b = s->free_batches;
        s->free_batches = b->next;
        s->nfree_batches--;
    } else {
        b = xmalloc(sizeof *b);
    }
    b->c = c;
    b->chain = chain;
    b->w.data = b;
    if (uv_write(&b->w, (uv_stream_t *)&c->tcp, bufs + i, nb - i, on_write) != 0) {
        b->chain = NULL;
        xfree(b);
        release_chain(c, chain);
        conn_abort(c);
    }
}

/* Sends every response that is due: READY requests at the head of the queue, and a pending
 * 100 Continue of the first request still waiting. */
static void conn_flush(conn *c)
{
    while (!c->closed) {
        uv_buf_t bufs[2 * FLUSH_MAX + 1];
        unsigned nb = 0, ne = 0;
        size_t total = 0;
        hreq *chain = NULL, **tailp = &chain;
        int last = 0;
        hreq *e = c->qhead;
        while (e && ne < FLUSH_MAX) {
            if (e->want_continue) {
                e->want_continue = 0;
                bufs[nb++] = uv_buf_init((char *)CONTINUE_100, sizeof CONTINUE_100 - 1);
                total += sizeof CONTINUE_100 - 1;
            }
            if (e->state != REQ_READY)
                break;
            hreq *next = e->next;
            last = e->close || (c->read_done && !next && !c->cur);
            if (last)
                buf_append(&e->out, "Connection: close\r\n\r\n", 21);
            else
                buf_append(&e->out, "Connection: keep-alive\r\n\r\n", 26);
            bufs[nb++] = uv_buf_init(e->out.data, (unsigned)e->out.len);
            total += e->out.len;
            if (e->body_len) {
                bufs[nb++] = uv_buf_init(e->body, (unsigned)e->body_len);
                total += e->body_len;
            }
            c->qhead = next;
            if (!next)
                c->qtail = NULL;
            e->next = NULL;
            *tailp = e;
            tailp = &e->next;
            ne++;
            c->responses++;
            if (last) {
                c->read_done = 1;
                break;
            }
            e = next;
        }
        if (!nb)
            return;
        conn_write(c, bufs, nb, total, chain);
        if (ne < FLUSH_MAX || last)
            return;
    }
}

/* ---------------------------------------------------------------------------------------
 * Progress, errors, timers
 * --------------------------------------------------------------------------------------- */

static void conn_shutdown(conn *c);

/* Called whenever something may have become writable or resumable: flushes due responses,
 * resumes a paused pipeline, closes a finished connection, arms the idle timer. */
static void conn_progress(conn *c)
{
    if (c->closed || c->in_parse || c->in_progress)
        return;
    c->in_progress = 1;
    for (;;) {
        conn_flush(c);
        if (c->closed || !c->paused || c->read_done || c->npending > c->srv->cfg.max_pipeline)
            break;
        c->paused = 0;
        if (c->inbuf.len) {
            conn_process(c, c->inbuf.data, c->inbuf.len);
            continue;
        }
        conn_read_start(c);
        break;
    }
    if (!c->closed && c->npending == 0) {
        if (c->read_done) {
            conn_shutdown(c);
        } else if (!c->fake) {
            c->last_active = loop_now(c);
            if (!c->timer_due)
                timer_arm(c, c->last_active + c->srv->cfg.idle_timeout_ms);
        }
    }
    c->in_progress = 0;
}

static const char *error_text(int status)
{
    switch (status) {
    case 408:
        return "Request Timeout: the request did not arrive in time.\n";
    case 413:
        return "Payload Too Large: the request body exceeds the limit.\n";
    case 431:
        return "Request Header Fields Too Large.\n";
    default:
        return "Bad Request: malformed HTTP.\n";
    }
}

/* Answers the request being received (or a new one) with an error, after the responses
 * already due, and closes the connection once it is written. */
static void conn_fail(conn *c, int status)
{
    hreq *e = c->cur;
    if (!e) {
        e = hreq_get(c);
        conn_enqueue(c, e);
    }
    c->cur = NULL;
    e->want_continue = 0;
    e->is_head = 0;
    e->close = 1;
    c->read_done = 1;
    c->paused = 0;
    buf_free(&c->inbuf);
    conn_read_stop(c);
    const char *text = error_text(status);
    size_t n = strlen(text);
    http_header h[] = {{"Content-Type", "text/plain; charset=utf-8"}};
    format_response(c->srv, e, status, h, 1, xmemdup(text, n), n);
}

static void on_timer(uv_timer_t *t)
{
    conn *c = t->data;
    c->timer_due = 0;
    if (c->closed)
        return;
    if (c->lingering) {
        conn_abort(c);
        return;
    }
    const http_server_config *cfg = &c->srv->cfg;
    uint64_t now = loop_now(c);
    if (c->cur && c->cur->state == REQ_PARSING && !c->read_done) {
        uint64_t due = c->cur->started_ms + cfg->request_timeout_ms;
        if (now >= due) {
            conn_fail(c, 408);
            conn_progress(c);
        } else {
            timer_arm(c, due);
        }
    } else if (c->npending == 0) {
        uint64_t due = c->last_active + cfg->idle_timeout_ms;
        if (now >= due)
            conn_abort(c);
        else
            timer_arm(c, due);
    }
    /* else the handler holds requests: no timeout until they are answered */
}

static void timer_arm(conn *c, uint64_t due)
{
    if (c->fake || c->closed)
        return;
    uint64_t now = uv_now(c->srv->loop);
    c->timer_due = due;
    uv_timer_start(&c->timer, on_timer, due > now ? due - now : 0, 0);
}

/* ---------------------------------------------------------------------------------------
 * Connection lifetime
 * --------------------------------------------------------------------------------------- */

static void server_check_drained(http_server *s)
{
    if (s->stopping && s->nconns == 0 && !s->drained_called) {
        s->drained_called = 1;
        if (s->on_drained)
            s->on_drained(s->drained_arg);
    }
}

static void conn_free(conn *c)
{
    http_server *s = c->srv;
    if (s) {
        if (c->prev)
            c->prev->next = c->next;
        else
            s->conns = c->next;
        if (c->next)
            c->next->prev = c->prev;
    }
    buf_free(&c->inbuf);
    xfree(c);
}

static void conn_unref(conn *c)
{
    if (--c->refs == 0)
        conn_free(c);
}

static void conn_handle_closed(conn *c)
{
    if (--c->handles == 0 && c->srv) {
        c->srv->nconns--;
        server_check_drained(c->srv);
    }
    conn_unref(c);
}

static void on_handle_close(uv_handle_t *h)
{
    conn_handle_closed(h->data);
}

/* Closes now: drops responses not yet written; requests the handler still holds become
 * cancelled orphans. */
static void conn_abort(conn *c)
{
    if (c->closed)
        return;
    c->closed = 1;
    c->reading = 0;
    hreq *e = c->qhead;
    c->qhead = c->qtail = c->cur = NULL;
    while (e) {
        hreq *next = e->next;
        if (e->state == REQ_DISPATCHED) {
            e->orphan = 1;
            e->next = NULL;
            c->npending--;
            c->refs++;
        } else {
            conn_release_req(c, e);
        }
        e = next;
    }
    buf_free(&c->inbuf);
    if (c->fake) {
        conn_handle_closed(c);
        conn_handle_closed(c);
        return;
    }
    uv_close((uv_handle_t *)&c->tcp, on_handle_close);
    uv_close((uv_handle_t *)&c->timer, on_handle_close);
}

static void on_shutdown(uv_shutdown_t *r, int status)
{
    conn *c = r->data;
    if (status < 0)
        conn_abort(c);
}

/* Everything is written and nothing more will be read: send FIN, then read and discard
 * until the client closes (or LINGER_MS), so that unread request bytes do not turn our
 * close into a reset that destroys the response in flight. */
static void conn_shutdown(conn *c)
{
    if (c->lingering || c->closed)
        return;
    if (c->fake) {
        conn_abort(c);
        return;
    }
    c->lingering = 1;
    c->shut.data = c;
    if (uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
        conn_abort(c);
        return;
    }
    conn_read_start(c);
    uint64_t linger =
        c->srv->cfg.idle_timeout_ms < LINGER_MS ? c->srv->cfg.idle_timeout_ms : LINGER_MS;
    timer_arm(c, uv_now(c->srv->loop) + linger);
}

static conn *conn_new(http_server *s)
{
    conn *c = xcalloc(1, sizeof *c);
    c->srv = s;
    c->refs = 2;
    c->handles = 2;
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    return c;
}

static void peer_name(conn *c)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
            uv_ip6_name(a, ip, sizeof ip);
            port = ntohs(a->sin6_port);
            snprintf(c->peer, sizeof c->peer, "[%s]:%d", ip, port);
            return;
        }
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        uv_ip4_name(a, ip, sizeof ip);
        port = ntohs(a->sin_port);
    }
    snprintf(c->peer, sizeof c->peer, "%s:%d", ip, port);
}

static void on_reject_close(uv_handle_t *h)
{
    xfree(h);
}

static void on_connection(uv_stream_t *l, int status)
{
    http_server *s = l->data;
    if (status < 0 || s->stopping)
        return;
    if (s->nconns >= s->cfg.max_connections) {
        uv_tcp_t *t = xmalloc(sizeof *t);
        uv_tcp_init(s->loop, t);
        uv_accept(l, (uv_stream_t *)t);
        uv_close((uv_handle_t *)t, on_reject_close);
        return;
    }
    conn *c = conn_new(s);
    uv_tcp_init(s->loop, &c->tcp);
    uv_timer_init(s->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0) {
        conn_abort(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    peer_name(c);
    c->last_active = uv_now(s->loop);
    timer_arm(c, c->last_active + s->cfg.idle_timeout_ms);
    conn_read_start(c);
}

/* ---------------------------------------------------------------------------------------
 * Server
 * --------------------------------------------------------------------------------------- */

static http_server *server_new(uv_loop_t *loop, const http_server_config *cfg,
                               http_handler_fn handler, void *ctx)
{
    http_server *s = xcalloc(1, sizeof *s);
    s->loop = loop;
    config_copy(s, cfg);
    s->handler = handler;
    s->ctx = ctx;
    s->rbuf = xmalloc(READ_BUF_SIZE);
    s->date_sec = (time_t)-1;
    return s;
}

static void server_free(http_server *s)
{
    while (s->free_reqs) {
        hreq *e = s->free_reqs;
        s->free_reqs = e->next;
        hreq_free(e);
    }
    while (s->free_batches) {
        wbatch *b = s->free_batches;
        s->free_batches = b->next;
        xfree(b);
    }
    xfree(s->rbuf);
    xfree(s);
}

static void on_listener_close(uv_handle_t *h)
{
    http_server *s = h->data;
    s->listener_closed = 1;
    if (s->destroyed)
        server_free(s);
}

static void listener_close(http_server *s)
{
    if (s->has_listener && !s->listener_closing) {
        s->listener_closing = 1;
        uv_close((uv_handle_t *)&s->listener, on_listener_close);
    }
}

int http_server_start(http_server **out, uv_loop_t *loop, const http_server_config *cfg,
                      http_handler_fn handler, void *ctx)
{
    *out = NULL;
    http_server *s = server_new(loop, cfg, handler, ctx);
    union {
        struct sockaddr sa;
        struct sockaddr_in in4;
        struct sockaddr_in6 in6;
        struct sockaddr_storage ss;
    } addr;
    int rc = uv_tcp_init(loop, &s->listener);
    if (rc != 0) {
        server_free(s);
        return rc;
    }
    s->listener.data = s;
    s->has_listener = 1;
    if (uv_ip4_addr(s->bind, s->cfg.port, &addr.in4) != 0 &&
        uv_ip6_addr(s->bind, s->cfg.port, &addr.in6) != 0) {
        rc = UV_EINVAL;
        goto fail;
    }
    rc = uv_tcp_bind(&s->listener, &addr.sa, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&s->listener, 1024, on_connection);
    if (rc != 0)
        goto fail;
    int len = sizeof addr;
    rc = uv_tcp_getsockname(&s->listener, &addr.sa, &len);
    if (rc != 0)
        goto fail;
    s->port = ntohs(addr.sa.sa_family == AF_INET6 ? addr.in6.sin6_port : addr.in4.sin_port);
    *out = s;
    return 0;
fail:
    s->destroyed = 1; /* freed when the listener's close completes */
    listener_close(s);
    return rc;
}

int http_server_port(const http_server *s)
{
    return s->port;
}

unsigned http_server_connections(const http_server *s)
{
    return s->nconns;
}

void http_server_stop(http_server *s, void (*on_drained)(void *arg), void *arg)
{
    if (s->stopping)
        return;
    s->stopping = 1;
    s->on_drained = on_drained;
    s->drained_arg = arg;
    listener_close(s);
    for (conn *c = s->conns; c; c = c->next) {
        if (c->closed || c->lingering)
            continue;
        if (c->npending == 0) {
            conn_abort(c);
        } else if (c->cur) {
            c->draining = 1; /* finish receiving this request, then stop */
        } else if (c->in_parse) {
            c->read_done = 1; /* stop() from its handler: the parse ends itself */
        } else {
            c->read_done = 1;
            c->paused = 0;
            buf_free(&c->inbuf);
            conn_read_stop(c);
            conn_progress(c);
        }
    }
    server_check_drained(s);
}

void http_server_destroy(http_server *s)
{
    if (!s)
        return;
    s->destroyed = 1;
    conn *c = s->conns;
    while (c) {
        conn *next = c->next;
        conn_abort(c);
        c->srv = NULL;
        c->prev = c->next = NULL;
        c = next;
    }
    s->conns = NULL;
    s->nconns = 0;
    if (s->has_listener && !s->listener_closed) {
        listener_close(s); /* frees s when the close completes */
        return;
    }
    server_free(s);
}

/* ---------------------------------------------------------------------------------------
 * Requests
 * --------------------------------------------------------------------------------------- */

const char *http_request_header(const http_request *req, const char *lower_name)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (strcmp(req->headers[i].name, lower_name) == 0)
            return req->headers[i].value;
    return NULL;
}

int http_request_is_cancelled(const http_request *req)
{
    const hreq *e = (const hreq *)req;
    return e->orphan || !e->c || e->c->closed;
}

void http_respond(http_request *req, int status, const http_header *headers, size_t nheaders,
                  buf *body)
{
    hreq *e = (hreq *)req;
    conn *c = e->c;
    size_t blen = 0;
    char *bdata = body ? buf_steal(body, &blen) : NULL;
    if (e->orphan) {
        xfree(bdata);
        http_server *s = c->srv;
        e->orphan = 0;
        hreq_recycle(s, e);
        conn_unref(c);
        return;
    }
    format_response(c->srv, e, status, headers, nheaders, bdata, blen);
    if (c->qhead == e)
        conn_progress(c); /* only the head can unblock writes */
}

/* ---------------------------------------------------------------------------------------
 * Test hook: one connection without sockets
 * --------------------------------------------------------------------------------------- */

typedef struct feed_state {
    http_request *held[512];
    unsigned nheld;
    int defer;
    unsigned requests;
} feed_state;

static void feed_answer(http_request *r)
{
    buf b = BUF_INIT;
    buf_printf(&b, "%s %s?%s\n", r->method, r->path, r->query);
    buf_append(&b, r->body, r->body_len);
    const char *ka = http_request_header(r, "x-test");
    http_header h[] = {{"Content-Type", "text/plain"}, {"X-Test", ka ? ka : "-"}};
    http_respond(r, 200, h, 2, &b);
    buf_free(&b);
}

static void feed_handler(http_request *r, void *ctx)
{
    feed_state *st = ctx;
    st->requests++;
    if (st->defer && st->nheld < sizeof st->held / sizeof st->held[0])
        st->held[st->nheld++] = r;
    else
        feed_answer(r);
}

static void feed_answer_held(feed_state *st)
{
    while (st->nheld)
        feed_answer(st->held[--st->nheld]);
}

void http_conn_feed(const http_server_config *cfg, const uint8_t *data, size_t len, size_t chunk,
                    int defer, buf *out, http_feed_result *res)
{
    feed_state st = {.defer = defer};
    http_server *s = server_new(NULL, cfg, feed_handler, &st);
    conn *c = conn_new(s);
    c->refs++; /* ours: c stays readable after it closes */
    c->fake = 1;
    c->sink = out;
    c->reading = 1;
    snprintf(c->peer, sizeof c->peer, "test:0");
    if (!chunk)
        chunk = len ? len : 1;
    size_t off = 0;
    while (off < len && !c->closed) {
        if (c->read_done)
            break;
        if (!c->reading) {
            /* paused: only answers can make room */
            if (!st.nheld)
                break;
            feed_answer_held(&st);
            continue;
        }
        size_t n = len - off < chunk ? len - off : chunk;
        if (n > READ_BUF_SIZE)
            n = READ_BUF_SIZE;
        /* the real read path parses from the server's read buffer */
        memcpy(s->rbuf, data + off, n);
        off += n;
        conn_process(c, s->rbuf, n);
        conn_progress(c);
        feed_answer_held(&st);
    }
    while (st.nheld)
        feed_answer_held(&st); /* answers may resume parsing, which may hold more */
    if (res) {
        res->requests = st.requests;
        res->responses = c->responses;
        res->closed = c->closed || c->read_done;
    }
    conn_abort(c);
    conn_unref(c);
    server_free(s);
}
