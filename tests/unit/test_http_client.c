/* HTTP client: real requests over loopback, on one libuv loop shared with the servers.
 *
 * Two servers run on the test's loop: the project's http_server (echo, hold, sized bodies,
 * redirects) and a raw TCP server that answers every request with canned bytes (chunked
 * bodies, interim heads, folded or oversized heads, which http_server cannot produce).
 * The loop is turned by the test (UV_RUN_ONCE, woken every few ms by a ticker timer) until
 * the callbacks it waits for have run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/buf.h"
#include "net/http_client.h"
#include "net/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------------------------------
 * http_server fixture
 * --------------------------------------------------------------------------------------- */

#define MAX_HELD 256

typedef struct seen {
    char method[16];
    char path[64];
    char *body; /* malloc'd copy */
    size_t body_len;
    char content_type[64]; /* "-" when absent */
    char content_length[16];
    char custom[128];
    char empty[16];
    int has_empty;
    int has_expect;
} seen;

static uv_loop_t loop;
static uv_timer_t ticker;
static http_server *srv;
static int port;
static http_client *cli;
static http_request *held[MAX_HELD];
static int nheld;
static int nhandled;
static int drained;
static seen last;
static int ncb; /* callbacks run, all requests together */

static void copy_header(char *dst, size_t n, const http_request *r, const char *name)
{
    const char *v = http_request_header(r, name);
    snprintf(dst, n, "%s", v ? v : "-");
}

static void handler(http_request *r, void *ctx)
{
    nhandled++;
    buf b = BUF_INIT;
    if (strcmp(r->path, "/hold") == 0) {
        assert_true(nheld < MAX_HELD);
        held[nheld++] = r;
        return;
    }
    if (strcmp(r->path, "/echo") == 0) {
        free(last.body);
        memset(&last, 0, sizeof last);
        snprintf(last.method, sizeof last.method, "%s", r->method);
        snprintf(last.path, sizeof last.path, "%s", r->path);
        last.body = malloc(r->body_len + 1);
        memcpy(last.body, r->body, r->body_len);
        last.body_len = r->body_len;
        copy_header(last.content_type, sizeof last.content_type, r, "content-type");
        copy_header(last.content_length, sizeof last.content_length, r, "content-length");
        copy_header(last.custom, sizeof last.custom, r, "x-custom");
        const char *e = http_request_header(r, "x-empty");
        last.has_empty = e != NULL;
        snprintf(last.empty, sizeof last.empty, "%s", e ? e : "");
        last.has_expect = http_request_header(r, "expect") != NULL;
        buf_append(&b, r->body, r->body_len);
        http_header h[] = {{"X-Reply", "yes"}, {"X-Method", r->method}};
        http_respond(r, 201, h, 2, &b);
        return;
    }
    if (strcmp(r->path, "/peer") == 0) {
        buf_puts(&b, r->peer);
        http_respond(r, 200, NULL, 0, &b);
        return;
    }
    if (strcmp(r->path, "/big") == 0) {
        size_t n = (size_t)strtoul(r->query + 2, NULL, 10); /* "n=123" */
        buf_reserve(&b, n);
        memset(b.data, 'x', n);
        b.len = n;
        http_respond(r, 200, NULL, 0, &b);
        return;
    }
    if (strcmp(r->path, "/redirect") == 0) {
        http_header h[] = {{"Location", "/echo"}};
        http_respond(r, 302, h, 1, &b);
        return;
    }
    http_respond(r, 404, NULL, 0, &b);
}

static void on_drained(void *arg)
{
    drained = 1;
}

/* ---------------------------------------------------------------------------------------
 * Raw server: every read that holds a request head gets `canned` back
 * --------------------------------------------------------------------------------------- */

#define MAX_RAW 16

typedef struct raw_conn {
    uv_tcp_t tcp;
    int closing;
} raw_conn;

static uv_tcp_t raw_srv;
static int raw_port;
static raw_conn *raw_conns[MAX_RAW];
static int nraw;
static buf canned;
static int raw_close_after; /* close the connection after answering */

static void raw_conn_closed(uv_handle_t *h)
{
    /* freed by down(), which may still look at it */
}

static void raw_close(raw_conn *rc)
{
    if (rc->closing)
        return;
    rc->closing = 1;
    uv_close((uv_handle_t *)&rc->tcp, raw_conn_closed);
}

static void raw_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
    static char mem[65536];
    b->base = mem;
    b->len = sizeof mem;
}

static void raw_written(uv_write_t *w, int status)
{
    raw_conn *rc = w->data;
    free(w);
    if (raw_close_after)
        raw_close(rc);
}

static void raw_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    raw_conn *rc = (raw_conn *)s;
    if (n < 0) {
        uv_read_stop(s);
        return;
    }
    if (n > 0 && memmem(b->base, (size_t)n, "\r\n\r\n", 4)) {
        uv_write_t *w = malloc(sizeof *w);
        w->data = rc;
        uv_buf_t out = uv_buf_init(canned.data, (unsigned)canned.len);
        assert_int_equal(uv_write(w, s, &out, 1, raw_written), 0);
    }
}

static void raw_accept(uv_stream_t *server, int status)
{
    assert_int_equal(status, 0);
    assert_true(nraw < MAX_RAW);
    raw_conn *rc = calloc(1, sizeof *rc);
    uv_tcp_init(&loop, &rc->tcp);
    assert_int_equal(uv_accept(server, (uv_stream_t *)&rc->tcp), 0);
    raw_conns[nraw++] = rc;
    uv_read_start((uv_stream_t *)&rc->tcp, raw_alloc, raw_read);
}

/* ---------------------------------------------------------------------------------------
 * Fixture
 * --------------------------------------------------------------------------------------- */

static void tick(uv_timer_t *t) {}

static void up(void)
{
    assert_int_equal(uv_loop_init(&loop), 0);
    uv_timer_init(&loop, &ticker);
    uv_timer_start(&ticker, tick, 5, 5);

    http_server_config cfg;
    http_server_config_defaults(&cfg);
    cfg.port = 0;
    nheld = nhandled = drained = ncb = 0;
    assert_int_equal(http_server_start(&srv, &loop, &cfg, handler, NULL), 0);
    port = http_server_port(srv);

    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    uv_tcp_init(&loop, &raw_srv);
    assert_int_equal(uv_tcp_bind(&raw_srv, (struct sockaddr *)&a, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&raw_srv, 64, raw_accept), 0);
    int len = sizeof a;
    uv_tcp_getsockname(&raw_srv, (struct sockaddr *)&a, &len);
    raw_port = ntohs(a.sin_port);
    nraw = 0;
    raw_close_after = 0;
    buf_init(&canned, 0);

    assert_int_equal(http_client_create(&cli, &loop), 0);
    assert_non_null(cli);
}

static void turn(unsigned ms)
{
    uint64_t end = now_ms() + ms;
    while (now_ms() < end)
        uv_run(&loop, UV_RUN_ONCE);
}

static void run_until(const int *counter, int want, unsigned timeout_ms)
{
    uint64_t end = now_ms() + timeout_ms;
    while (*counter < want && now_ms() < end)
        uv_run(&loop, UV_RUN_ONCE);
}

static void down(void)
{
    http_client_destroy(cli);
    cli = NULL;
    for (int i = 0; i < nheld; i++) {
        buf b = BUF_INIT;
        http_respond(held[i], 200, NULL, 0, &b);
    }
    nheld = 0;
    http_server_stop(srv, on_drained, NULL);
    run_until(&drained, 1, 3000);
    assert_int_equal(drained, 1);
    http_server_destroy(srv);
    srv = NULL;
    for (int i = 0; i < nraw; i++)
        raw_close(raw_conns[i]);
    uv_close((uv_handle_t *)&raw_srv, NULL);
    uv_close((uv_handle_t *)&ticker, NULL);
    for (int i = 0; i < 1000 && uv_loop_alive(&loop); i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    for (int i = 0; i < nraw; i++)
        free(raw_conns[i]);
    buf_free(&canned);
    free(last.body);
    memset(&last, 0, sizeof last);
    assert_int_equal(uv_loop_close(&loop), 0); /* the client closed all of its handles */
}

/* ---------------------------------------------------------------------------------------
 * Requests and what came back
 * --------------------------------------------------------------------------------------- */

static const char *const looked_up[] = {"x-reply", "X-METHOD", "Location",      "x-final",
                                        "link",    "x-absent", "content-length"};
#define NLOOK (sizeof looked_up / sizeof looked_up[0])

typedef struct done {
    int calls;
    int status;
    int error;
    char msg[256];
    char *body;
    size_t body_len;
    char hdr[NLOOK][128];
    int has_hdr[NLOOK];
    uint64_t at_ms;
    int destroy_in_cb; /* destroy the client from inside the callback */
    int send_in_cb;    /* try to send from inside the callback: that send's result */
    int send_rc;
} done;

static int in_send; /* a callback must never run inside http_client_send */
static done never;  /* the callback of a send refused from inside a callback */

static void on_done(const http_client_response *res, void *arg);

static int send_req(const char *method, const char *path, const char *const *hdrs, size_t nh,
                    const char *body, size_t body_len, long timeout_ms, size_t max, done *d)
{
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    http_client_request req = {.method = method,
                               .url = url,
                               .headers = hdrs,
                               .nheaders = nh,
                               .body = body,
                               .body_len = body_len,
                               .timeout_ms = timeout_ms,
                               .max_response_bytes = max};
    in_send = 1;
    int rc = http_client_send(cli, &req, on_done, d);
    in_send = 0;
    return rc;
}

static int get_url(const char *url, size_t max, done *d)
{
    /* generous: the .invalid lookup below may wait on a slow DNS server */
    http_client_request req = {
        .method = "GET", .url = url, .max_response_bytes = max, .timeout_ms = 15000};
    in_send = 1;
    int rc = http_client_send(cli, &req, on_done, d);
    in_send = 0;
    return rc;
}

static void on_done(const http_client_response *res, void *arg)
{
    done *d = arg;
    assert_false(in_send);
    d->calls++;
    ncb++;
    d->at_ms = now_ms();
    d->status = res->status;
    d->error = res->error;
    assert_non_null(res->error_message);
    snprintf(d->msg, sizeof d->msg, "%s", res->error_message);
    assert_non_null(res->body);
    assert_int_equal(res->body[res->body_len], '\0');
    free(d->body);
    d->body = malloc(res->body_len + 1);
    memcpy(d->body, res->body, res->body_len + 1);
    d->body_len = res->body_len;
    for (size_t i = 0; i < NLOOK; i++) {
        const char *v = http_client_response_header(res, looked_up[i]);
        d->has_hdr[i] = v != NULL;
        snprintf(d->hdr[i], sizeof d->hdr[i], "%s", v ? v : "");
    }
    if (d->send_in_cb) {
        http_client_request req = {.method = "GET", .url = "http://127.0.0.1:1/"};
        d->send_rc = http_client_send(cli, &req, on_done, &never);
    }
    if (d->destroy_in_cb) {
        http_client_destroy(cli);
        cli = NULL;
    }
}

static void done_free(done *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(d[i].body);
        d[i].body = NULL;
    }
}

/* ---------------------------------------------------------------------------------------
 * Tests
 * --------------------------------------------------------------------------------------- */

static void test_post_headers_and_body_arrive_intact(void **state)
{
    up();
    /* Over 1 MiB, with NULs and high bytes: libcurl would add Expect: 100-continue here. */
    enum { BODY = 1536 * 1024 };
    char *body = malloc(BODY);
    for (size_t i = 0; i < BODY; i++)
        body[i] = (char)(i * 7 + 1);
    body[10] = '\0';
    const char *hdrs[] = {"X-Custom: hello,  world", "Content-Type: application/json", "X-Empty:"};
    done d = {0};
    assert_int_equal(send_req("POST", "/echo", hdrs, 3, body, BODY, 5000, 2 * BODY, &d), 0);
    assert_int_equal(http_client_in_flight(cli), 1);
    run_until(&d.calls, 1, 6000);
    assert_int_equal(d.calls, 1);
    assert_int_equal(http_client_in_flight(cli), 0);

    assert_string_equal(last.method, "POST");
    assert_int_equal(last.body_len, BODY);
    assert_memory_equal(last.body, body, BODY);
    assert_string_equal(last.content_type, "application/json");
    assert_string_equal(last.custom, "hello,  world");
    assert_true(last.has_empty);
    assert_string_equal(last.empty, "");
    assert_false(last.has_expect);

    assert_int_equal(d.error, 0);
    assert_string_equal(d.msg, "");
    assert_int_equal(d.status, 201);
    assert_int_equal(d.body_len, BODY);
    assert_memory_equal(d.body, body, BODY);
    assert_true(d.has_hdr[0]);
    assert_string_equal(d.hdr[0], "yes");  /* x-reply, looked up in lower case */
    assert_string_equal(d.hdr[1], "POST"); /* X-METHOD, looked up in upper case */
    assert_false(d.has_hdr[5]);            /* x-absent */
    assert_string_equal(d.hdr[6], "1572864");

    /* Without a Content-Type line none is sent (not libcurl's form type). */
    done e = {0};
    assert_int_equal(send_req("POST", "/echo", NULL, 0, "{}", 2, 2000, 0, &e), 0);
    run_until(&e.calls, 1, 3000);
    assert_int_equal(e.status, 201);
    assert_string_equal(last.content_type, "-");
    assert_string_equal(last.content_length, "2");
    done_free(&d, 1);
    done_free(&e, 1);
    free(body);
    down();
}

static void test_methods_other_than_post(void **state)
{
    up();
    done d[5] = {{0}};
    const char *const methods[] = {"GET", "PUT", "DELETE", "PATCH", "HEAD"};
    const char *const bodies[] = {NULL, "put-body", NULL, NULL, NULL};
    const char *const expect_len[] = {"-", "8", "-", "0", "-"};
    for (int i = 0; i < 5; i++) {
        size_t blen = bodies[i] ? strlen(bodies[i]) : 0;
        assert_int_equal(send_req(methods[i], "/echo", NULL, 0, bodies[i], blen, 2000, 0, &d[i]),
                         0);
        run_until(&d[i].calls, 1, 3000);
        assert_int_equal(d[i].calls, 1);
        assert_int_equal(d[i].error, 0);
        assert_int_equal(d[i].status, 201);
        assert_string_equal(last.method, methods[i]);
        assert_string_equal(last.content_length, expect_len[i]);
        assert_string_equal(d[i].hdr[1], methods[i]);
    }
    assert_string_equal(d[1].body, "put-body");
    assert_int_equal(d[4].body_len, 0); /* HEAD: the head only */
    done_free(d, 5);
    down();
}

static void test_keep_alive_reuses_the_connection(void **state)
{
    up();
    done d[3] = {{0}};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(send_req("GET", "/peer", NULL, 0, NULL, 0, 2000, 0, &d[i]), 0);
        run_until(&d[i].calls, 1, 3000);
        assert_int_equal(d[i].status, 200);
    }
    assert_true(strncmp(d[0].body, "127.0.0.1:", 10) == 0);
    assert_string_equal(d[0].body, d[1].body); /* same client port: same connection */
    assert_string_equal(d[1].body, d[2].body);
    assert_int_equal(http_server_connections(srv), 1);
    done_free(d, 3);
    down();
}

static void test_timeout_fires_on_a_server_that_never_answers(void **state)
{
    up();
    done d = {0};
    uint64_t t0 = now_ms();
    assert_int_equal(send_req("GET", "/hold", NULL, 0, NULL, 0, 200, 0, &d), 0);
    run_until(&d.calls, 1, 3000);
    assert_int_equal(d.calls, 1);
    assert_int_equal(d.error, HTTP_CLIENT_ETIMEDOUT);
    assert_int_equal(d.status, 0);
    assert_int_equal(d.body_len, 0);
    assert_non_null(strstr(d.msg, "timed out"));
    assert_int_equal(nheld, 1); /* it did reach the server */
    assert_true(d.at_ms - t0 >= 190);
    assert_true(d.at_ms - t0 < 1500);
    assert_int_equal(http_client_in_flight(cli), 0);
    turn(50);
    assert_int_equal(d.calls, 1);
    done_free(&d, 1);
    down();
}

static void test_connection_refused_is_a_transport_error(void **state)
{
    up();
    /* A bound socket that does not listen: connecting to it is refused, and the port
     * cannot be taken by anyone else meanwhile. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/x", ntohs(a.sin_port));
    done d = {0};
    assert_int_equal(get_url(url, 0, &d), 0);
    run_until(&d.calls, 1, 3000);
    close(fd);
    assert_int_equal(d.calls, 1);
    assert_int_equal(d.error, HTTP_CLIENT_ECONNECT);
    assert_int_equal(d.status, 0);
    assert_true(strlen(d.msg) > 0);

    /* A name that does not resolve is a connect failure too (.invalid never resolves). */
    done e = {0};
    assert_int_equal(get_url("http://no-such-host.invalid/", 0, &e), 0);
    run_until(&e.calls, 1, 16000);
    assert_int_equal(e.calls, 1);
    assert_int_equal(e.error, HTTP_CLIENT_ECONNECT);
    done_free(&d, 1);
    done_free(&e, 1);
    down();
}

static void test_hundred_concurrent_requests_all_complete(void **state)
{
    up();
    enum { N = 100 };
    static done d[N];
    memset(d, 0, sizeof d);
    char bodies[N][16];
    ncb = 0;
    for (int i = 0; i < N; i++) {
        snprintf(bodies[i], sizeof bodies[i], "req-%d", i);
        assert_int_equal(
            send_req("POST", "/echo", NULL, 0, bodies[i], strlen(bodies[i]), 5000, 0, &d[i]), 0);
    }
    assert_int_equal(http_client_in_flight(cli), N);
    assert_int_equal(ncb, 0);
    run_until(&ncb, N, 10000);
    assert_int_equal(ncb, N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(d[i].calls, 1);
        assert_int_equal(d[i].error, 0);
        assert_int_equal(d[i].status, 201);
        assert_string_equal(d[i].body, bodies[i]); /* each answer reached its own request */
    }
    assert_int_equal(nhandled, N);
    assert_true(http_server_connections(srv) > 1); /* in parallel, not one after another */
    assert_int_equal(http_client_in_flight(cli), 0);
    done_free(d, N);
    down();
}

static void test_destroy_cancels_each_request_once(void **state)
{
    up();
    enum { ON_SERVER = 5, NOT_SENT = 3, N = ON_SERVER + NOT_SENT };
    done d[N];
    memset(d, 0, sizeof d);
    memset(&never, 0, sizeof never);
    for (int i = 0; i < ON_SERVER; i++)
        assert_int_equal(send_req("POST", "/hold", NULL, 0, "x", 1, 5000, 0, &d[i]), 0);
    run_until(&nheld, ON_SERVER, 3000);
    assert_int_equal(nheld, ON_SERVER);
    /* These have not even connected yet. */
    for (int i = ON_SERVER; i < N; i++)
        assert_int_equal(send_req("GET", "/hold", NULL, 0, NULL, 0, 5000, 0, &d[i]), 0);
    d[0].send_in_cb = 1;
    assert_int_equal(http_client_in_flight(cli), N);

    http_client_destroy(cli);
    cli = NULL;
    for (int i = 0; i < N; i++) {
        assert_int_equal(d[i].calls, 1);
        assert_int_equal(d[i].error, HTTP_CLIENT_ECANCELLED);
        assert_int_equal(d[i].status, 0);
        assert_int_equal(d[i].body_len, 0);
        assert_string_equal(d[i].msg, "request cancelled");
    }
    assert_int_equal(d[0].send_rc, HTTP_CLIENT_ECANCELLED);
    turn(50);
    for (int i = 0; i < N; i++)
        assert_int_equal(d[i].calls, 1);
    assert_int_equal(never.calls, 0);
    http_client_destroy(NULL);
    done_free(d, N);
    down();
}

static void test_destroy_from_inside_a_callback(void **state)
{
    up();
    done first = {0}, rest[3];
    memset(rest, 0, sizeof rest);
    for (int i = 0; i < 3; i++)
        assert_int_equal(send_req("GET", "/hold", NULL, 0, NULL, 0, 5000, 0, &rest[i]), 0);
    first.destroy_in_cb = 1;
    assert_int_equal(send_req("GET", "/echo", NULL, 0, NULL, 0, 5000, 0, &first), 0);
    run_until(&first.calls, 1, 3000);
    assert_int_equal(first.calls, 1);
    assert_int_equal(first.status, 201);
    assert_null(cli);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(rest[i].calls, 1);
        assert_int_equal(rest[i].error, HTTP_CLIENT_ECANCELLED);
    }
    turn(50);
    assert_int_equal(first.calls, 1);
    done_free(&first, 1);
    done_free(rest, 3);
    down();
}

static void test_response_body_cap(void **state)
{
    up();
    done d[3] = {{0}};
    /* exactly at the cap passes */
    assert_int_equal(send_req("GET", "/big?n=1000", NULL, 0, NULL, 0, 2000, 1000, &d[0]), 0);
    /* one over: the declared length is refused before the body is read */
    assert_int_equal(send_req("GET", "/big?n=1001", NULL, 0, NULL, 0, 2000, 1000, &d[1]), 0);
    /* the default cap is 1 MiB */
    assert_int_equal(send_req("GET", "/big?n=1048577", NULL, 0, NULL, 0, 5000, 0, &d[2]), 0);
    run_until(&ncb, 3, 6000);
    assert_int_equal(d[0].error, 0);
    assert_int_equal(d[0].body_len, 1000);
    assert_int_equal(d[1].error, HTTP_CLIENT_ETOOBIG);
    assert_int_equal(d[1].status, 200); /* the head did arrive */
    assert_int_equal(d[1].body_len, 0);
    assert_non_null(strstr(d[1].msg, "1000"));
    assert_int_equal(d[2].error, HTTP_CLIENT_ETOOBIG);
    done_free(d, 3);
    down();
}

static void canned_chunked(size_t total)
{
    buf_reset(&canned);
    buf_puts(&canned, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    char chunk[1024];
    memset(chunk, 'y', sizeof chunk);
    for (size_t left = total; left;) {
        size_t n = left < sizeof chunk ? left : sizeof chunk;
        buf_printf(&canned, "%zx\r\n", n);
        buf_append(&canned, chunk, n);
        buf_puts(&canned, "\r\n");
        left -= n;
    }
    buf_puts(&canned, "0\r\n\r\n");
}

static void test_body_cap_without_a_declared_length(void **state)
{
    up();
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", raw_port);
    done d = {0}, e = {0}, f = {0};
    canned_chunked(1000);
    assert_int_equal(get_url(url, 1000, &d), 0);
    run_until(&d.calls, 1, 3000);
    assert_int_equal(d.error, 0);
    assert_int_equal(d.body_len, 1000);

    canned_chunked(2000);
    assert_int_equal(get_url(url, 1000, &e), 0);
    run_until(&e.calls, 1, 3000);
    assert_int_equal(e.error, HTTP_CLIENT_ETOOBIG);
    assert_int_equal(e.body_len, 0);

    /* a head over 64 KiB */
    buf_reset(&canned);
    buf_puts(&canned, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n");
    char v[1001];
    memset(v, 'h', 1000);
    v[1000] = '\0';
    for (int i = 0; i < 70; i++)
        buf_printf(&canned, "X-H%d: %s\r\n", i, v);
    buf_puts(&canned, "\r\n");
    assert_int_equal(get_url(url, 0, &f), 0);
    run_until(&f.calls, 1, 3000);
    assert_int_equal(f.error, HTTP_CLIENT_ETOOBIG);
    assert_non_null(strstr(f.msg, "head"));
    done_free(&d, 1);
    done_free(&e, 1);
    done_free(&f, 1);
    down();
}

static void test_interim_and_folded_heads(void **state)
{
    up();
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", raw_port);
    buf_puts(&canned, "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
                      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Final: one\r\n  two\r\n\r\nok");
    done d = {0};
    assert_int_equal(get_url(url, 0, &d), 0);
    run_until(&d.calls, 1, 3000);
    assert_int_equal(d.error, 0);
    assert_int_equal(d.status, 200);
    assert_string_equal(d.body, "ok");
    assert_string_equal(d.hdr[3], "one two"); /* x-final, unfolded */
    assert_false(d.has_hdr[4]);               /* the interim head's Link is gone */
    done_free(&d, 1);
    down();
}

static void test_server_closing_after_each_response(void **state)
{
    up();
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", raw_port);
    raw_close_after = 1;
    buf_puts(&canned, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    done d[3] = {{0}};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(get_url(url, 0, &d[i]), 0);
        run_until(&d[i].calls, 1, 3000);
        assert_int_equal(d[i].error, 0);
        assert_string_equal(d[i].body, "ok");
    }
    assert_int_equal(nraw, 3);

    /* a server that closes without answering */
    buf_reset(&canned);
    done e = {0};
    buf_puts(&canned, "");
    assert_int_equal(get_url(url, 0, &e), 0);
    run_until(&e.calls, 1, 3000);
    assert_int_equal(e.calls, 1);
    assert_int_equal(e.error, HTTP_CLIENT_EOTHER);
    assert_int_equal(e.status, 0);
    done_free(d, 3);
    done_free(&e, 1);
    down();
}

static void test_redirects_are_returned_not_followed(void **state)
{
    up();
    done d = {0};
    nhandled = 0;
    assert_int_equal(send_req("GET", "/redirect", NULL, 0, NULL, 0, 2000, 0, &d), 0);
    run_until(&d.calls, 1, 3000);
    turn(50);
    assert_int_equal(d.error, 0);
    assert_int_equal(d.status, 302);
    assert_string_equal(d.hdr[2], "/echo");
    assert_int_equal(nhandled, 1);
    done_free(&d, 1);
    down();
}

static void test_unusable_requests_are_refused_at_once(void **state)
{
    up();
    done d = {0};
    char good[64];
    snprintf(good, sizeof good, "http://127.0.0.1:%d/echo", port);
    const char *ok_hdr[] = {"X-A: b"};
    const char *crlf[] = {"X-A: b\r\nX-Injected: 1"};
    const char *no_colon[] = {"X-A b"};
    const char *bad_name[] = {"X A: b"};
    const char *clen[] = {"content-length: 5"};
    const char *te[] = {"Transfer-Encoding: chunked"};
    const char *null_line[] = {NULL};
    struct {
        http_client_request r;
    } cases[] = {
        {{.method = "GET", .url = "ftp://127.0.0.1/x"}},
        {{.method = "GET", .url = "file:///etc/passwd"}},
        {{.method = "GET", .url = "127.0.0.1/no-scheme"}},
        {{.method = "GET", .url = "http://"}},
        {{.method = "GET", .url = NULL}},
        {{.method = NULL, .url = good}},
        {{.method = "", .url = good}},
        {{.method = "GE T", .url = good}},
        {{.method = "GET\r\n", .url = good}},
        {{.method = "GET", .url = good, .headers = crlf, .nheaders = 1}},
        {{.method = "GET", .url = good, .headers = no_colon, .nheaders = 1}},
        {{.method = "GET", .url = good, .headers = bad_name, .nheaders = 1}},
        {{.method = "POST", .url = good, .headers = clen, .nheaders = 1}},
        {{.method = "POST", .url = good, .headers = te, .nheaders = 1}},
        {{.method = "GET", .url = good, .headers = null_line, .nheaders = 1}},
        {{.method = "GET", .url = good, .headers = NULL, .nheaders = 1}},
        {{.method = "POST", .url = good, .body = NULL, .body_len = 3}},
        {{.method = "HEAD", .url = good, .body = "abc", .body_len = 3}},
        {{.method = "GET", .url = good, .timeout_ms = -1}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        in_send = 1;
        int rc = http_client_send(cli, &cases[i].r, on_done, &d);
        in_send = 0;
        if (rc != HTTP_CLIENT_EINVAL)
            fail_msg("case %zu: %d", i, rc);
    }
    http_client_request fine = {.method = "GET", .url = good, .headers = ok_hdr, .nheaders = 1};
    assert_int_equal(http_client_send(cli, &fine, NULL, &d), HTTP_CLIENT_EINVAL); /* no fn */
    assert_int_equal(http_client_in_flight(cli), 0);
    turn(50);
    assert_int_equal(d.calls, 0);

    /* the same request with a callback goes through; scheme case does not matter */
    snprintf(good, sizeof good, "HTTP://127.0.0.1:%d/echo", port);
    assert_int_equal(http_client_send(cli, &fine, on_done, &d), 0);
    run_until(&d.calls, 1, 3000);
    assert_int_equal(d.status, 201);
    done_free(&d, 1);
    down();
}

static void test_error_names_and_messages(void **state)
{
    assert_string_equal(http_client_error_name(0), "OK");
    assert_string_equal(http_client_error_name(HTTP_CLIENT_ETIMEDOUT), "ETIMEDOUT");
    assert_string_equal(http_client_error_name(HTTP_CLIENT_ECONNECT), "ECONNECT");
    assert_string_equal(http_client_error_name(HTTP_CLIENT_ECANCELLED), "ECANCELLED");
    assert_string_equal(http_client_error_name(HTTP_CLIENT_ETOOBIG), "ETOOBIG");
    assert_string_equal(http_client_error_name(HTTP_CLIENT_EOTHER), "EOTHER");
    assert_string_equal(http_client_error_name(HTTP_CLIENT_EINVAL), "EINVAL");
    assert_string_equal(http_client_error_name(-999), "UNKNOWN");
    assert_string_equal(http_client_error_message(HTTP_CLIENT_ETIMEDOUT), "request timed out");
    assert_string_equal(http_client_error_message(0), "");
    assert_string_equal(http_client_error_message(12345), "unknown error");
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    /* Loopback must not go through a proxy that happens to be configured. */
    const char *proxies[] = {"http_proxy",  "HTTP_PROXY", "https_proxy",
                             "HTTPS_PROXY", "all_proxy",  "ALL_PROXY"};
    for (size_t i = 0; i < sizeof proxies / sizeof proxies[0]; i++)
        unsetenv(proxies[i]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_post_headers_and_body_arrive_intact),
        cmocka_unit_test(test_methods_other_than_post),
        cmocka_unit_test(test_keep_alive_reuses_the_connection),
        cmocka_unit_test(test_timeout_fires_on_a_server_that_never_answers),
        cmocka_unit_test(test_connection_refused_is_a_transport_error),
        cmocka_unit_test(test_hundred_concurrent_requests_all_complete),
        cmocka_unit_test(test_destroy_cancels_each_request_once),
        cmocka_unit_test(test_destroy_from_inside_a_callback),
        cmocka_unit_test(test_response_body_cap),
        cmocka_unit_test(test_body_cap_without_a_declared_length),
        cmocka_unit_test(test_interim_and_folded_heads),
        cmocka_unit_test(test_server_closing_after_each_response),
        cmocka_unit_test(test_redirects_are_returned_not_followed),
        cmocka_unit_test(test_unusable_requests_are_refused_at_once),
        cmocka_unit_test(test_error_names_and_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
