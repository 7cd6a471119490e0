/* HTTP client: libcurl's multi interface driven by a libuv loop (see net/curl_loop.c for
 * the glue: one CURLM per client, one uv_poll_t per socket, one timer, shared TLS
 * sessions). User callbacks run only from curl_loop's done function and from destroy, so
 * a callback is never called from inside http_client_send, and never from inside libcurl
 * (callbacks may therefore send new requests or destroy the client).
 *
 * Each request gets a fresh easy handle: recycling them with curl_easy_reset saved ~3 us
 * of the ~40 us of CPU a loopback request costs (client and server on one loop), too
 * little for the state it would carry over.
 *
 * Per request (xfer): the copied body, the header list, the response body and head. The
 * head is kept as "name\0value\0" pairs of the latest response head (a 1xx head is
 * replaced by the final one), looked up linearly: responses have few headers.
 *
 * Lifetime: destroy sets `closing`, cancels the transfers in flight, and hands the
 * connections and libuv handles to curl_loop_destroy, which frees its own memory once they
 * have closed. Nothing here touches the client after a user callback returns, so the
 * client itself is freed at once, even when destroyed from inside a callback. */
#include "net/http_client.h"

#include "common/alloc.h"
#include "common/err_table.h"
#include "common/buf.h"
#include "net/curl_loop.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------------------------------
 * Types
 * --------------------------------------------------------------------------------------- */

typedef struct xfer {
    http_client_response res; /* first: the response given to callbacks converts back */
    http_client *c;
    CURL *easy;
    struct xfer *prev, *next; /* the client's in-flight list */
    http_client_done_fn fn;
    void *arg;
    struct curl_slist *hdrs;
    char *body;
    size_t max_body;
    buf rbody;
    buf rhead; /* "name\0value\0" for each header of the latest response head */
    size_t nrhead;
    unsigned body_too_big : 1;
    unsigned head_too_big : 1;
    char errbuf[CURL_ERROR_SIZE];
} xfer;

struct http_client {
    curl_loop *cl;
    xfer *flight;
    size_t nflight;
    int closing;
};

/* ---------------------------------------------------------------------------------------
 * Error codes
 * --------------------------------------------------------------------------------------- */

static const err_row errors[] = {HTTP_CLIENT_ERRORS(ERR_ROW)};
#define NERRORS (sizeof errors / sizeof errors[0])

const char *http_client_error_name(int code)
{
    return err_table_name(errors, NERRORS, code);
}

const char *http_client_error_message(int code)
{
    return err_table_message(errors, NERRORS, code);
}

/* ---------------------------------------------------------------------------------------
 * Completion
 * --------------------------------------------------------------------------------------- */

static void xfer_free(xfer *x)
{
    curl_slist_free_all(x->hdrs);
    xfree(x->body);
    buf_free(&x->rbody);
    buf_free(&x->rhead);
    xfree(x);
}

static int map_error(const xfer *x, CURLcode rc)
{
    if (rc == CURLE_OK)
        return 0;
    if (x->body_too_big || x->head_too_big)
        return HTTP_CLIENT_ETOOBIG;
    switch (rc) {
    case CURLE_FILESIZE_EXCEEDED:
        return HTTP_CLIENT_ETOOBIG;
    case CURLE_OPERATION_TIMEDOUT:
        return HTTP_CLIENT_ETIMEDOUT;
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
        return HTTP_CLIENT_ECONNECT;
    default:
        return HTTP_CLIENT_EOTHER;
    }
}

/* Takes x out of the client (and its easy handle out of libcurl), runs the callback, frees
 * x. `rc` is libcurl's result, ignored when `cancelled`. */
static void finish(xfer *x, CURLcode rc, int cancelled)
{
    http_client *c = x->c;
    if (x->prev)
        x->prev->next = x->next;
    else
        c->flight = x->next;
    if (x->next)
        x->next->prev = x->prev;
    c->nflight--;

    long code = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
    curl_loop_remove(c->cl, x->easy);
    /* Released before the callback: a destroy from inside it must find no easy handle
     * still holding the share. */
    curl_easy_cleanup(x->easy);
    x->easy = NULL;

    http_client_response *res = &x->res;
    res->error = cancelled ? HTTP_CLIENT_ECANCELLED : map_error(x, rc);
    res->status = !cancelled && code >= 200 && code <= 999 ? (int)code : 0;
    res->body = "";
    res->body_len = 0;
    res->error_message = "";
    if (res->error == 0) {
        if (x->rbody.data)
            res->body = x->rbody.data;
        res->body_len = x->rbody.len;
    } else if (res->error == HTTP_CLIENT_ETOOBIG) {
        if (x->head_too_big)
            snprintf(x->errbuf, sizeof x->errbuf, "response head larger than %d bytes",
                     HTTP_CLIENT_MAX_RESPONSE_HEAD);
        else
            snprintf(x->errbuf, sizeof x->errbuf, "response body larger than %zu bytes",
                     x->max_body);
        res->error_message = x->errbuf;
    } else if (cancelled) {
        res->error_message = http_client_error_message(HTTP_CLIENT_ECANCELLED);
    } else {
        res->error_message = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
    }
    x->fn(res, x->arg);
    xfer_free(x);
}

static void on_easy_done(CURL *easy, CURLcode rc, void *arg)
{
    char *priv = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
    finish((xfer *)priv, rc, 0);
}

/* ---------------------------------------------------------------------------------------
 * Response data
 * --------------------------------------------------------------------------------------- */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    xfer *x = ud;
    size_t len = size * n;
    if (len > x->max_body - x->rbody.len) {
        x->body_too_big = 1;
        return 0; /* anything but len aborts the transfer */
    }
    buf_append(&x->rbody, p, len);
    return len;
}

static int is_ws(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* libcurl calls this once per head line, status line included, CRLF included. */
static size_t on_head(char *p, size_t size, size_t n, void *ud)
{
    xfer *x = ud;
    size_t all = size * n, len = all;
    while (len && (p[len - 1] == '\r' || p[len - 1] == '\n'))
        len--;
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) { /* a new head: forget an interim one */
        buf_reset(&x->rhead);
        x->nrhead = 0;
        return all;
    }
    /* The pairs are walked with strlen: a NUL inside would misalign them. */
    if (len == 0 || memchr(p, '\0', len))
        return all;
    if (x->rhead.len + len + 2 > HTTP_CLIENT_MAX_RESPONSE_HEAD) {
        x->head_too_big = 1;
        return 0;
    }
    size_t i = 0;
    if (is_ws(p[0])) { /* obsolete line folding: continues the previous value */
        if (x->nrhead == 0)
            return all;
        while (i < len && is_ws(p[i]))
            i++;
        x->rhead.len--; /* reopen the previous value: drop its NUL */
        buf_putc(&x->rhead, ' ');
        buf_append(&x->rhead, p + i, len - i);
        buf_putc(&x->rhead, '\0');
        return all;
    }
    const char *colon = memchr(p, ':', len);
    if (!colon || colon == p)
        return all;
    size_t name_len = (size_t)(colon - p);
    while (name_len && is_ws(p[name_len - 1]))
        name_len--;
    size_t v = (size_t)(colon - p) + 1, vend = len;
    while (v < vend && is_ws(p[v]))
        v++;
    while (vend > v && is_ws(p[vend - 1]))
        vend--;
    buf_append(&x->rhead, p, name_len);
    buf_putc(&x->rhead, '\0');
    buf_append(&x->rhead, p + v, vend - v);
    buf_putc(&x->rhead, '\0');
    x->nrhead++;
    return all;
}

http_outcome http_client_outcome(const http_client_response *res)
{
    if (res->error == HTTP_CLIENT_ECANCELLED)
        return HTTP_OUTCOME_CANCELLED;
    if (res->error)
        return HTTP_OUTCOME_RETRYABLE;
    if (res->status >= 200 && res->status < 300)
        return HTTP_OUTCOME_DELIVERED;
    return res->status == 429 || res->status >= 500 ? HTTP_OUTCOME_RETRYABLE : HTTP_OUTCOME_REFUSED;
}

const char *http_client_response_header(const http_client_response *res, const char *name)
{
    const xfer *x = (const xfer *)res;
    const char *p = x->rhead.data;
    for (size_t i = 0; i < x->nrhead; i++) {
        const char *v = p + strlen(p) + 1;
        if (strcasecmp(p, name) == 0)
            return v;
        p = v + strlen(v) + 1;
    }
    return NULL;
}

int http_client_response_header_next(const http_client_response *res, size_t *pos,
                                     const char **name, const char **value)
{
    const xfer *x = (const xfer *)res;
    if (*pos >= x->rhead.len)
        return 0;
    *name = x->rhead.data + *pos;
    *value = *name + strlen(*name) + 1;
    *pos = (size_t)(*value + strlen(*value) + 1 - x->rhead.data);
    return 1;
}

/* ---------------------------------------------------------------------------------------
 * Requests
 * --------------------------------------------------------------------------------------- */

static int is_tchar(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

static int is_token(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_tchar((unsigned char)s[i]))
            return 0;
    return 1;
}

static int name_is(const char *line, size_t name_len, const char *name)
{
    return strlen(name) == name_len && strncasecmp(line, name, name_len) == 0;
}

static int url_ok(const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL;
    int ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
             curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
             (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0);
    curl_free(scheme);
    curl_url_cleanup(u);
    return ok;
}

/* Builds the header list libcurl sends. libcurl's "Name:" means "remove Name", so a
 * caller's empty value is sent with libcurl's "Name;" form instead. Returns 0 or EINVAL. */
static int build_headers(xfer *x, const http_client_request *req)
{
    int has_type = 0, has_expect = 0;
    buf line = BUF_INIT;
    int rc = HTTP_CLIENT_EINVAL;
    for (size_t i = 0; i < req->nheaders; i++) {
        const char *h = req->headers[i];
        if (!h || strpbrk(h, "\r\n"))
            goto fail;
        const char *colon = strchr(h, ':');
        if (!colon || !is_token(h, (size_t)(colon - h)))
            goto fail;
        size_t nlen = (size_t)(colon - h);
        if (name_is(h, nlen, "content-length") || name_is(h, nlen, "transfer-encoding"))
            goto fail;
        has_type |= name_is(h, nlen, "content-type");
        has_expect |= name_is(h, nlen, "expect");
        const char *v = colon + 1;
        while (is_ws(*v))
            v++;
        buf_reset(&line);
        if (*v) {
            buf_puts(&line, h);
        } else {
            buf_append(&line, h, nlen);
            buf_putc(&line, ';');
        }
        struct curl_slist *l = curl_slist_append(x->hdrs, line.data);
        if (!l)
            goto fail_oom;
        x->hdrs = l;
    }
    /* libcurl would add "Expect: 100-continue" to larger bodies and then wait up to a
     * second for a 100 many servers never send; and a form Content-Type to every body. */
    const char *removals[] = {has_expect ? NULL : "Expect:", has_type ? NULL : "Content-Type:"};
    for (size_t i = 0; i < 2; i++) {
        if (!removals[i])
            continue;
        struct curl_slist *l = curl_slist_append(x->hdrs, removals[i]);
        if (!l)
            goto fail_oom;
        x->hdrs = l;
    }
    buf_free(&line);
    return 0;
fail_oom:
    rc = HTTP_CLIENT_EOTHER;
fail:
    buf_free(&line);
    return rc;
}

static int check_request(const http_client_request *req, http_client_done_fn fn)
{
    if (!req || !fn || !req->method || !req->url || req->timeout_ms < 0)
        return HTTP_CLIENT_EINVAL;
    if (!is_token(req->method, strlen(req->method)))
        return HTTP_CLIENT_EINVAL;
    if ((req->body_len && !req->body) || (req->nheaders && !req->headers))
        return HTTP_CLIENT_EINVAL;
    if (req->body_len && strcmp(req->method, "HEAD") == 0)
        return HTTP_CLIENT_EINVAL;
    if (!url_ok(req->url))
        return HTTP_CLIENT_EINVAL;
    return 0;
}

#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (curl_easy_setopt(x->easy, opt, val) != CURLE_OK)                                       \
            goto fail;                                                                             \
    } while (0)

int http_client_send(http_client *c, const http_client_request *req, http_client_done_fn fn,
                     void *arg)
{
    if (c->closing)
        return HTTP_CLIENT_ECANCELLED;
    int rc = check_request(req, fn);
    if (rc != 0)
        return rc;
    xfer *x = xcalloc(1, sizeof *x);
    x->c = c;
    x->fn = fn;
    x->arg = arg;
    x->max_body = req->max_response_bytes ? req->max_response_bytes
                                          : (size_t)HTTP_CLIENT_DEFAULT_MAX_RESPONSE;
    rc = build_headers(x, req);
    if (rc != 0)
        goto fail;
    rc = HTTP_CLIENT_EOTHER;
    x->easy = curl_easy_init();
    if (!x->easy)
        goto fail;

    SET(CURLOPT_PRIVATE, x);
    SET(CURLOPT_URL, req->url);
    SET(CURLOPT_NOSIGNAL, 1L);
    /* A transfer ended while its name is being resolved would otherwise join the resolver
     * thread, stalling the loop until getaddrinfo returns; this detaches it instead. */
    SET(CURLOPT_QUICK_EXIT, 1L);
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_TIMEOUT_MS, req->timeout_ms ? req->timeout_ms : HTTP_CLIENT_DEFAULT_TIMEOUT_MS);
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->max_body);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, x);
    SET(CURLOPT_HEADERFUNCTION, on_head);
    SET(CURLOPT_HEADERDATA, x);
    SET(CURLOPT_ERRORBUFFER, x->errbuf);
    SET(CURLOPT_SHARE, curl_loop_share(c->cl));
    SET(CURLOPT_HTTPHEADER, x->hdrs);

    const char *m = req->method;
    if (strcmp(m, "HEAD") == 0) {
        SET(CURLOPT_NOBODY, 1L);
    } else if (req->body_len || strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 ||
               strcmp(m, "PATCH") == 0) {
        /* These send Content-Length even when 0, as RFC 9110 asks of methods with content. */
        x->body = xmemdup(req->body, req->body_len);
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        SET(CURLOPT_POSTFIELDS, x->body);
        if (strcmp(m, "POST") != 0)
            SET(CURLOPT_CUSTOMREQUEST, m);
    } else {
        SET(CURLOPT_HTTPGET, 1L);
        if (strcmp(m, "GET") != 0)
            SET(CURLOPT_CUSTOMREQUEST, m);
    }

    if (curl_loop_add(c->cl, x->easy) != 0)
        goto fail;
    x->next = c->flight;
    if (c->flight)
        c->flight->prev = x;
    c->flight = x;
    c->nflight++;
    return 0;
fail:
    if (x->easy)
        curl_easy_cleanup(x->easy);
    xfer_free(x);
    return rc;
}

#undef SET

size_t http_client_in_flight(const http_client *c)
{
    return c->nflight;
}

/* ---------------------------------------------------------------------------------------
 * Create and destroy
 * --------------------------------------------------------------------------------------- */

int http_client_create(http_client **out, uv_loop_t *loop)
{
    *out = NULL;
    http_client *c = xcalloc(1, sizeof *c);
    if (curl_loop_create(&c->cl, loop, on_easy_done, c) != 0) {
        xfree(c);
        return HTTP_CLIENT_EOTHER;
    }
    *out = c;
    return 0;
}

void http_client_destroy(http_client *c)
{
    if (!c || c->closing)
        return;
    c->closing = 1;
    while (c->flight)
        finish(c->flight, CURLE_OK, 1);
    curl_loop_destroy(c->cl);
    xfree(c);
}
