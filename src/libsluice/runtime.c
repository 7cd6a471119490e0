/* libsluice's Lambda runtime client (include/sluice/runtime.h).
 *
 * One blocking TCP connection to the Runtime API, kept alive across invocations: a warm
 * invocation is one GET .../invocation/next (answered when sluiced hands this worker an
 * event) and one POST of the outcome, each a single sendmsg of head and body and as many
 * recv as the response needs. The request heads, the receive buffer and the handler's
 * response are growing buffers owned by the runtime and reused, so after the first
 * invocations of a given size nothing is allocated. Responses go through the strict parser
 * of runtime_http.c; any malformed response or I/O failure drops the connection. A request
 * that fails on a reused connection before any byte of its response arrived (the server
 * closed the idle connection as the request left) is sent once more on a new one.
 *
 * The invocation's strings and payload point into the receive buffer: they are valid until
 * the next request, which is why the outcome's path is built before it is sent. */
#include "sluice/runtime.h"

#include "common/err_table.h"
#include "libsluice/runtime_http.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#ifndef SLUICE_VERSION
#define SLUICE_VERSION "0"
#endif

#define API_PATH         "/2018-06-01/runtime"
#define HOST_MAX         256
#define PREFIX_MAX       512
#define REQUEST_ID_MAX   128
#define ERROR_TYPE_MAX   128
#define RECV_CHUNK       (64 * 1024)
#define MAX_HEAD         (16 * 1024)
#define MAX_PAYLOAD      (16u * 1024 * 1024) /* above Lambda's 6 MB: the server enforces that */
#define MAX_RAW_RESPONSE (MAX_PAYLOAD + 4 * MAX_HEAD + RECV_CHUNK) /* with chunked framing */

/* ---- errors ----------------------------------------------------------------------------- */

static const err_row error_rows[] = {SLUICE_RUNTIME_ERRORS(ERR_ROW)};

const char *sluice_err_name(int code)
{
    return err_table_name(error_rows, sizeof error_rows / sizeof *error_rows, code);
}

const char *sluice_err_message(int code)
{
    return err_table_message(error_rows, sizeof error_rows / sizeof *error_rows, code);
}

/* ---- growing buffers (the client returns ENOMEM where the server would abort) ---------- */

typedef struct gbuf {
    char *data;
    size_t len, cap;
} gbuf;

/* Room for n more bytes and a NUL. */
static int gbuf_reserve(gbuf *b, size_t n)
{
    if (b->len + n + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d)
        return SLUICE_ENOMEM;
    b->data = d;
    b->cap = cap;
    return 0;
}

static int gbuf_append(gbuf *b, const char *p, size_t n)
{
    if (gbuf_reserve(b, n) != 0)
        return SLUICE_ENOMEM;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
    return 0;
}

static int gbuf_puts(gbuf *b, const char *s)
{
    return gbuf_append(b, s, strlen(s));
}

static int gbuf_vprintf(gbuf *b, const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(b->data ? b->data + b->len : NULL, b->data ? b->cap - b->len : 0, fmt, ap);
    if (n < 0) {
        va_end(again);
        return SLUICE_EINVAL;
    }
    if (!b->data || (size_t)n >= b->cap - b->len) {
        if (gbuf_reserve(b, (size_t)n) != 0) {
            va_end(again);
            return SLUICE_ENOMEM;
        }
        vsnprintf(b->data + b->len, b->cap - b->len, fmt, again);
    }
    va_end(again);
    b->len += (size_t)n;
    return 0;
}

static int gbuf_printf(gbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int gbuf_printf(gbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = gbuf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

/* s as the inside of a JSON string. */
static int gbuf_json_escape(gbuf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int rc;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            rc = gbuf_append(b, esc, 2);
        } else if (c == '\n') {
            rc = gbuf_append(b, "\\n", 2);
        } else if (c == '\r') {
            rc = gbuf_append(b, "\\r", 2);
        } else if (c == '\t') {
            rc = gbuf_append(b, "\\t", 2);
        } else if (c < 0x20 || c == 0x7f) {
            rc = gbuf_printf(b, "\\u%04x", c);
        } else {
            rc = gbuf_append(b, (const char *)&c, 1);
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- responses -------------------------------------------------------------------------- */

/* Posted when building the real error document ran out of memory. */
static const char OOM_ERROR[] =
    "{\"errorMessage\":\"out of memory while reporting an error\",\"errorType\":"
    "\"Runtime.OutOfMemory\",\"stackTrace\":[]}";

struct sluice_response {
    gbuf body;    /* the payload, or the error document */
    gbuf scratch; /* the error message being formatted */
    int is_error;
    int oom; /* the error document could not be built: OOM_ERROR is posted */
    char error_type[ERROR_TYPE_MAX];
};

int sluice_response_create(sluice_response **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? 0 : SLUICE_ENOMEM;
}

void sluice_response_destroy(sluice_response *r)
{
    if (!r)
        return;
    free(r->body.data);
    free(r->scratch.data);
    free(r);
}

void sluice_response_reset(sluice_response *r)
{
    r->body.len = 0;
    r->is_error = 0;
    r->oom = 0;
    r->error_type[0] = 0;
}

int sluice_response_set(sluice_response *r, const char *payload, size_t len)
{
    sluice_response_reset(r);
    return gbuf_append(&r->body, payload, len);
}

int sluice_response_append(sluice_response *r, const char *data, size_t len)
{
    if (r->is_error)
        return SLUICE_EINVAL;
    return gbuf_append(&r->body, data, len);
}

int sluice_response_printf(sluice_response *r, const char *fmt, ...)
{
    if (r->is_error)
        return SLUICE_EINVAL;
    va_list ap;
    va_start(ap, fmt);
    int rc = gbuf_vprintf(&r->body, fmt, ap);
    va_end(ap);
    return rc;
}

/* The header's copy of an error type: printable ASCII only, trimmed. */
static void header_safe_type(char *out, const char *type)
{
    size_t n = 0;
    for (const char *s = type; *s && n < ERROR_TYPE_MAX - 1; s++)
        if (*s >= 0x21 && *s <= 0x7e)
            out[n++] = *s;
    out[n] = 0;
    if (n == 0)
        snprintf(out, ERROR_TYPE_MAX, "%s", "Runtime.Unknown");
}

int sluice_response_error(sluice_response *r, const char *type, const char *fmt, ...)
{
    sluice_response_reset(r);
    r->is_error = 1;
    if (!type)
        type = "";
    header_safe_type(r->error_type, type);
    r->scratch.len = 0;
    va_list ap;
    va_start(ap, fmt);
    int rc = gbuf_vprintf(&r->scratch, fmt, ap);
    va_end(ap);
    if (rc == 0)
        rc = gbuf_puts(&r->body, "{\"errorMessage\":\"");
    if (rc == 0)
        rc = gbuf_json_escape(&r->body, r->scratch.data, r->scratch.len);
    if (rc == 0)
        rc = gbuf_puts(&r->body, "\",\"errorType\":\"");
    if (rc == 0)
        rc = gbuf_json_escape(&r->body, type, strlen(type));
    if (rc == 0)
        rc = gbuf_puts(&r->body, "\",\"stackTrace\":[]}");
    r->oom = rc != 0;
    return rc;
}

int sluice_response_is_error(const sluice_response *r)
{
    return r->is_error;
}

const char *sluice_response_body(const sluice_response *r, size_t *len)
{
    if (r->oom) {
        *len = sizeof OOM_ERROR - 1;
        return OOM_ERROR;
    }
    if (r->body.len == 0) {
        *len = 4;
        return "null";
    }
    *len = r->body.len;
    return r->body.data;
}

int64_t sluice_remaining_ms(const sluice_invocation *inv)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    return inv->deadline_ms > now ? inv->deadline_ms - now : 0;
}

/* ---- the runtime: AWS_LAMBDA_RUNTIME_API ------------------------------------------------ */

struct sluice_runtime {
    char host[HOST_MAX];
    char port[24];
    char prefix[PREFIX_MAX]; /* the path before /2018-06-01 ("" or "/..."), checked */
    int fd;
    int reused; /* the connection carried a request already */
    gbuf next_req;
    gbuf head; /* the head of a POST */
    gbuf in;
    runtime_http_parser resp;
    sluice_response *out; /* the handler's, for sluice_runtime_loop */
};

/* "HOST:PORT[/PATH]": host a name or IPv4 address (or [IPv6]), port 1..65535, a path of
 * printable characters without spaces. */
static int parse_api(sluice_runtime *rt, const char *api)
{
    if (!api || !*api)
        return SLUICE_ENOAPI;
    const char *slash = strchr(api, '/');
    size_t hp = slash ? (size_t)(slash - api) : strlen(api);
    const char *colon = NULL;
    for (size_t i = 0; i < hp; i++)
        if (api[i] == ':')
            colon = api + i; /* the last one: [::1]:9001 */
    if (!colon || colon == api)
        return SLUICE_ENOAPI;
    size_t hl = (size_t)(colon - api), pl = hp - hl - 1;
    const char *h = api;
    if (h[0] == '[' && hl > 2 && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (hl >= sizeof rt->host)
        return SLUICE_ENOAPI;
    for (size_t i = 0; i < hl; i++)
        if (!(h[i] == '.' || h[i] == '-' || h[i] == ':' || h[i] == '_' ||
              (h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'z') ||
              (h[i] >= 'A' && h[i] <= 'Z')))
            return SLUICE_ENOAPI;
    memcpy(rt->host, h, hl);
    rt->host[hl] = 0;
    long port = 0;
    for (size_t i = 0; i < pl; i++) {
        char c = colon[1 + i];
        if (c < '0' || c > '9' || (port = port * 10 + (c - '0')) > 65535)
            return SLUICE_ENOAPI;
    }
    if (pl == 0 || port == 0)
        return SLUICE_ENOAPI;
    snprintf(rt->port, sizeof rt->port, "%ld", port);
    const char *path = slash ? slash : "";
    size_t n = strlen(path);
    while (n > 0 && path[n - 1] == '/')
        n--;
    if (n >= sizeof rt->prefix)
        return SLUICE_ENOAPI;
    for (size_t i = 0; i < n; i++)
        if (path[i] <= 0x20 || path[i] >= 0x7f || path[i] == '?' || path[i] == '#')
            return SLUICE_ENOAPI;
    memcpy(rt->prefix, path, n);
    rt->prefix[n] = 0;
    return 0;
}

/* "Host: " line value: host:port, with brackets back around an IPv6 address. */
static int put_common_headers(sluice_runtime *rt, gbuf *b)
{
    int v6 = strchr(rt->host, ':') != NULL;
    return gbuf_printf(b, "Host: %s%s%s:%s\r\nUser-Agent: libsluice/%s\r\n", v6 ? "[" : "",
                       rt->host, v6 ? "]" : "", rt->port, SLUICE_VERSION);
}

int sluice_runtime_create(sluice_runtime **out, const char *api)
{
    *out = NULL;
    sluice_runtime *rt = calloc(1, sizeof *rt);
    if (!rt)
        return SLUICE_ENOMEM;
    rt->fd = -1;
    /* stdout is the invocation's log (a pipe to sluiced): line by line, so that what a
     * handler printed survives its timeout or crash, as in Lambda's own runtimes. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    int rc = parse_api(rt, api ? api : getenv("AWS_LAMBDA_RUNTIME_API"));
    if (rc == 0)
        rc = gbuf_printf(&rt->next_req, "GET %s" API_PATH "/invocation/next HTTP/1.1\r\n",
                         rt->prefix);
    if (rc == 0)
        rc = put_common_headers(rt, &rt->next_req);
    if (rc == 0)
        rc = gbuf_puts(&rt->next_req, "\r\n");
    if (rc == 0)
        rc = gbuf_reserve(&rt->in, RECV_CHUNK);
    if (rc == 0)
        rc = sluice_response_create(&rt->out);
    if (rc != 0) {
        sluice_runtime_destroy(rt);
        return rc;
    }
    *out = rt;
    return 0;
}

static void disconnect(sluice_runtime *rt)
{
    if (rt->fd >= 0)
        close(rt->fd);
    rt->fd = -1;
    rt->reused = 0;
}

void sluice_runtime_destroy(sluice_runtime *rt)
{
    if (!rt)
        return;
    disconnect(rt);
    free(rt->next_req.data);
    free(rt->head.data);
    free(rt->in.data);
    sluice_response_destroy(rt->out);
    free(rt);
}

/* ---- the connection --------------------------------------------------------------------- */

static int connect_api(sluice_runtime *rt)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai, *a;
    if (getaddrinfo(rt->host, rt->port, &hints, &ai) != 0)
        return SLUICE_ECONNECT;
    int fd = -1;
    for (a = ai; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        int rc;
        do
            rc = connect(fd, a->ai_addr, a->ai_addrlen);
        while (rc != 0 && errno == EINTR);
        if (rc != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(ai);
    if (fd < 0)
        return SLUICE_ECONNECT;
    int one = 1; /* a request is one write; the reply must not wait for a delayed ACK */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    rt->fd = fd;
    rt->reused = 0;
    return 0;
}

/* Writes head and body entirely (SIGPIPE suppressed: a closed peer is an error). */
static int send_all(int fd, const char *head, size_t hlen, const char *body, size_t blen)
{
    struct iovec iov[2] = {{(void *)head, hlen}, {(void *)body, blen}};
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = blen ? 2 : 1};
    while (msg.msg_iovlen > 0) {
        ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return SLUICE_EIO;
        while (msg.msg_iovlen > 0 && (size_t)n >= msg.msg_iov->iov_len) {
            n -= (ssize_t)msg.msg_iov->iov_len;
            msg.msg_iov++;
            msg.msg_iovlen--;
        }
        if (msg.msg_iovlen > 0) {
            msg.msg_iov->iov_base = (char *)msg.msg_iov->iov_base + n;
            msg.msg_iov->iov_len -= (size_t)n;
        }
    }
    return 0;
}

/* Reads one whole response into rt->in and parses it into rt->resp. *got: bytes received. */
static int read_response(sluice_runtime *rt, size_t *got)
{
    static const runtime_http_limits limits = {MAX_HEAD, MAX_PAYLOAD, RUNTIME_HTTP_MAX_HEADERS};
    runtime_http_init(&rt->resp, &limits);
    rt->in.len = 0;
    *got = 0;
    for (;;) {
        if (rt->in.len >= MAX_RAW_RESPONSE)
            return SLUICE_ELIMIT;
        if (gbuf_reserve(&rt->in, RECV_CHUNK) != 0)
            return SLUICE_ENOMEM;
        ssize_t n = recv(rt->fd, rt->in.data + rt->in.len, rt->in.cap - rt->in.len - 1, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return SLUICE_EIO;
        rt->in.len += (size_t)n;
        *got += (size_t)n;
        int rc = runtime_http_parse(&rt->resp, rt->in.data, rt->in.len);
        if (rc == RUNTIME_HTTP_DONE)
            /* One request, one response: anything after it means the framing is lost. */
            return rt->resp.end == rt->in.len ? 0 : SLUICE_EPROTO;
        if (rc != 0)
            return rc;
    }
}

/* Sends a request and reads its response (rt->resp), reconnecting as needed. */
static int exchange(sluice_runtime *rt, const char *head, size_t hlen, const char *body,
                    size_t blen)
{
    for (int attempt = 0;; attempt++) {
        if (rt->fd < 0) {
            int rc = connect_api(rt);
            if (rc != 0)
                return rc;
        }
        int reused = rt->reused;
        size_t got = 0;
        int rc = send_all(rt->fd, head, hlen, body, blen);
        if (rc == 0)
            rc = read_response(rt, &got);
        if (rc == 0) {
            rt->reused = 1;
            if (!rt->resp.keep_alive)
                disconnect(rt);
            return 0;
        }
        disconnect(rt);
        if (!(rc == SLUICE_EIO && reused && got == 0 && attempt == 0))
            return rc;
    }
}

/* ---- the Runtime API -------------------------------------------------------------------- */

/* A request id goes into a path: letters, digits, '-', '_', '.'. */
static int valid_request_id(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > REQUEST_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(id[i] == '-' || id[i] == '_' || id[i] == '.' || (id[i] >= '0' && id[i] <= '9') ||
              (id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z')))
            return 0;
    return 1;
}

static const char *header_or_empty(const runtime_http_parser *p, const char *name)
{
    const char *v = runtime_http_header_get(p, name);
    return v ? v : "";
}

int sluice_runtime_next(sluice_runtime *rt, sluice_invocation *inv, const char **payload,
                        size_t *len)
{
    int rc = exchange(rt, rt->next_req.data, rt->next_req.len, NULL, 0);
    if (rc != 0)
        return rc;
    const runtime_http_parser *p = &rt->resp;
    if (p->status != 200)
        return SLUICE_ESTATUS;
    const char *id = runtime_http_header_get(p, "Lambda-Runtime-Aws-Request-Id");
    const char *deadline = runtime_http_header_get(p, "Lambda-Runtime-Deadline-Ms");
    char *end;
    if (!id || !valid_request_id(id) || !deadline || !*deadline)
        goto malformed;
    errno = 0;
    long long ms = strtoll(deadline, &end, 10);
    if (*end || errno || ms < 0)
        goto malformed;
    inv->request_id = id;
    inv->deadline_ms = ms;
    inv->function_arn = header_or_empty(p, "Lambda-Runtime-Invoked-Function-Arn");
    inv->trace_id = header_or_empty(p, "Lambda-Runtime-Trace-Id");
    inv->client_context = header_or_empty(p, "Lambda-Runtime-Client-Context");
    inv->cognito_identity = header_or_empty(p, "Lambda-Runtime-Cognito-Identity");
    *payload = p->body;
    *len = p->body_len;
    return 0;
malformed:
    disconnect(rt);
    return SLUICE_EPROTO;
}

/* POST PATH with an error type header (NULL: none) and body. */
static int post(sluice_runtime *rt, const char *path, const char *error_type, const char *body,
                size_t len)
{
    gbuf *h = &rt->head;
    h->len = 0;
    int rc = gbuf_printf(h, "POST %s" API_PATH "%s HTTP/1.1\r\n", rt->prefix, path);
    if (rc == 0)
        rc = put_common_headers(rt, h);
    if (rc == 0)
        rc = gbuf_printf(h, "Content-Type: application/json\r\nContent-Length: %zu\r\n", len);
    if (rc == 0 && error_type)
        rc = gbuf_printf(h, "Lambda-Runtime-Function-Error-Type: %s\r\n", error_type);
    if (rc == 0)
        rc = gbuf_puts(h, "\r\n");
    if (rc == 0)
        rc = exchange(rt, h->data, h->len, body, len);
    if (rc == 0 && (rt->resp.status < 200 || rt->resp.status > 299))
        rc = SLUICE_ESTATUS;
    return rc;
}

int sluice_runtime_post(sluice_runtime *rt, const sluice_invocation *inv, const sluice_response *r)
{
    if (!valid_request_id(inv->request_id))
        return SLUICE_EINVAL;
    char path[REQUEST_ID_MAX + 32];
    snprintf(path, sizeof path, "/invocation/%s/%s", inv->request_id,
             r->is_error ? "error" : "response");
    size_t len;
    const char *body = sluice_response_body(r, &len);
    return post(rt, path, r->is_error ? r->error_type : NULL, body, len);
}

int sluice_runtime_init_error(sluice_runtime *rt, const char *type, const char *message)
{
    sluice_response_error(rt->out, type, "%s", message ? message : ""); /* else OOM_ERROR */
    size_t len;
    const char *body = sluice_response_body(rt->out, &len);
    return post(rt, "/init/error", rt->out->error_type, body, len);
}

int sluice_init_error(const char *type, const char *message)
{
    sluice_runtime *rt;
    int rc = sluice_runtime_create(&rt, NULL);
    if (rc == 0)
        rc = sluice_runtime_init_error(rt, type, message);
    sluice_runtime_destroy(rt);
    return rc;
}

/* ---- the loop --------------------------------------------------------------------------- */

int sluice_runtime_loop(sluice_runtime *rt, sluice_handler handler, void *arg)
{
    for (;;) {
        sluice_invocation inv;
        const char *payload;
        size_t len;
        int rc = sluice_runtime_next(rt, &inv, &payload, &len);
        if (rc == SLUICE_ESTATUS)
            return 0; /* the server let this worker go */
        if (rc != 0)
            return rc;
        sluice_response_reset(rt->out);
        int hrc = handler(&inv, payload, len, rt->out, arg);
        if (hrc != 0 && !rt->out->is_error)
            sluice_response_error(rt->out, "Runtime.HandlerError", "the handler returned %d", hrc);
        /* What the handler printed belongs to this invocation's log, which sluiced closes
         * when the outcome arrives. */
        fflush(stdout);
        fflush(stderr);
        rc = sluice_runtime_post(rt, &inv, rt->out);
        if (rc == SLUICE_ESTATUS) {
            /* The server refused the outcome (too large, or the invocation already ended
             * by its deadline) and has ended the invocation itself. */
            fprintf(stderr, "libsluice: the Runtime API answered %d to the outcome\n",
                    rt->resp.status);
            continue;
        }
        if (rc != 0)
            return rc;
    }
}

int sluice_runtime_run(sluice_handler handler, void *arg)
{
    sluice_runtime *rt;
    int rc = sluice_runtime_create(&rt, NULL);
    if (rc == 0)
        rc = sluice_runtime_loop(rt, handler, arg);
    if (rc != 0)
        fprintf(stderr, "libsluice: %s (%s)\n", sluice_err_message(rc), sluice_err_name(rc));
    sluice_runtime_destroy(rt);
    return rc;
}
