/* HTTP/1.1 server: a real listener on loopback, driven by raw POSIX sockets.
 *
 * Single-threaded: the test owns the uv loop and turns it (UV_RUN_NOWAIT) while it waits
 * for client bytes, so the handler can hold requests and the test can answer them later,
 * in any order, from the same thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/buf.h"
#include "net/http_conn_internal.h"
#include "net/http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------------------------------
 * Server fixture
 * --------------------------------------------------------------------------------------- */

#define MAX_HELD 64

static uv_loop_t loop;
static http_server *srv;
static http_request *held[MAX_HELD];
static int nheld;
static int handled;
static int drained;
static char last_peer[64];

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Echo: "<METHOD> <path>?<query> h=<x-custom>\n<body>". Paths under /hold are kept for
 * the test to answer. */
static void echo(http_request *r, int status)
{
    buf b = BUF_INIT;
    const char *h = http_request_header(r, "x-custom");
    buf_printf(&b, "%s %s?%s h=%s\n", r->method, r->path, r->query, h ? h : "-");
    buf_append(&b, r->body, r->body_len);
    assert_int_equal(r->body[r->body_len], '\0');
    http_header hd[] = {{"Content-Type", "text/plain"}, {"X-Echo", "1"}};
    http_respond(r, status, hd, 2, &b);
    assert_null(b.data); /* the body was taken */
}

static void on_drained(void *arg);

static void handler(http_request *r, void *ctx)
{
    handled++;
    snprintf(last_peer, sizeof last_peer, "%s", r->peer);
    if (strcmp(r->path, "/stop") == 0)
        http_server_stop(srv, on_drained, NULL);
    if (strncmp(r->path, "/hold", 5) == 0) {
        assert_true(nheld < MAX_HELD);
        held[nheld++] = r;
        return;
    }
    echo(r, 200);
}

static void on_drained(void *arg)
{
    drained++;
}

static void pump(void)
{
    uv_run(&loop, UV_RUN_NOWAIT);
}

static void pump_ms(unsigned ms)
{
    uint64_t end = now_ms() + ms;
    while (now_ms() < end) {
        pump();
        usleep(1000);
    }
}

static int server_up(const http_server_config *cfg_in)
{
    http_server_config cfg;
    if (cfg_in)
        cfg = *cfg_in;
    else
        http_server_config_defaults(&cfg);
    cfg.port = 0;
    assert_int_equal(uv_loop_init(&loop), 0);
    nheld = handled = drained = 0;
    assert_int_equal(http_server_start(&srv, &loop, &cfg, handler, NULL), 0);
    assert_non_null(srv);
    int port = http_server_port(srv);
    assert_true(port > 0);
    return port;
}

static void server_down(void)
{
    for (int i = 0; i < nheld; i++)
        if (held[i])
            echo(held[i], 200);
    nheld = 0;
    if (srv) {
        http_server_stop(srv, on_drained, NULL);
        uint64_t end = now_ms() + 3000;
        while (!drained && now_ms() < end) {
            pump();
            usleep(1000);
        }
        assert_int_equal(drained, 1);
        http_server_destroy(srv);
        srv = NULL;
    }
    for (int i = 0; i < 100 && uv_loop_alive(&loop); i++)
        pump();
    assert_int_equal(uv_loop_close(&loop), 0); /* every handle was closed */
}

static void default_cfg(http_server_config *cfg)
{
    http_server_config_defaults(cfg);
}

/* ---------------------------------------------------------------------------------------
 * Client: raw socket plus a response parser
 * --------------------------------------------------------------------------------------- */

typedef struct resp {
    int status;
    char body[8192];
    size_t body_len;
    char connection[32];
    int has_date, has_server, has_length;
} resp;

typedef struct client {
    int fd;
    http_parser p;
    char field[64];
    resp r[32];
    int n;      /* complete responses */
    int eof;    /* the server closed */
    int failed; /* the response stream did not parse */
} client;

static int on_resp_field(http_parser *p, const char *at, size_t len)
{
    client *c = p->data;
    snprintf(c->field, sizeof c->field, "%.*s", (int)len, at);
    return 0;
}

static int on_resp_value(http_parser *p, const char *at, size_t len)
{
    client *c = p->data;
    resp *r = &c->r[c->n];
    if (strcasecmp(c->field, "connection") == 0)
        snprintf(r->connection, sizeof r->connection, "%.*s", (int)len, at);
    else if (strcasecmp(c->field, "date") == 0)
        r->has_date = 1;
    else if (strcasecmp(c->field, "server") == 0)
        r->has_server = len == 6 && memcmp(at, "sluice", 6) == 0;
    else if (strcasecmp(c->field, "content-length") == 0)
        r->has_length = 1;
    return 0;
}

static int on_resp_body(http_parser *p, const char *at, size_t len)
{
    client *c = p->data;
    resp *r = &c->r[c->n];
    assert_true(r->body_len + len < sizeof r->body);
    memcpy(r->body + r->body_len, at, len);
    r->body_len += len;
    return 0;
}

static int on_resp_headers_complete(http_parser *p)
{
    client *c = p->data;
    c->r[c->n].status = p->status_code;
    return 0;
}

static int on_resp_complete(http_parser *p)
{
    client *c = p->data;
    assert_true(c->n < 31);
    c->n++;
    return 0;
}

static const http_parser_settings resp_settings = {
    .on_header_field = on_resp_field,
    .on_header_value = on_resp_value,
    .on_headers_complete = on_resp_headers_complete,
    .on_body = on_resp_body,
    .on_message_complete = on_resp_complete,
};

static int try_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static client *client_open(int port)
{
    client *c = calloc(1, sizeof *c);
    c->fd = try_connect(port);
    assert_true(c->fd >= 0);
    http_parser_init(&c->p, HTTP_RESPONSE);
    c->p.data = c;
    return c;
}

static void client_close(client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c);
}

static void client_send(client *c, const char *s, size_t n)
{
    size_t off = 0;
    while (off < n) {
        ssize_t w = send(c->fd, s + off, n - off, MSG_NOSIGNAL);
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            pump();
            continue;
        }
        assert_true(w > 0);
        off += (size_t)w;
    }
}

static void client_sends(client *c, const char *s)
{
    client_send(c, s, strlen(s));
}

/* Turns the loop and reads until `want` responses, EOF, or the timeout. */
static void client_wait(client *c, int want, unsigned timeout_ms)
{
    uint64_t end = now_ms() + timeout_ms;
    while (c->n < want && !c->eof && !c->failed && now_ms() < end) {
        pump();
        char tmp[16384];
        ssize_t r = recv(c->fd, tmp, sizeof tmp, 0);
        if (r > 0) {
            size_t got = http_parser_execute(&c->p, &resp_settings, tmp, (size_t)r);
            if (got != (size_t)r)
                c->failed = 1;
        } else if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
            c->eof = 1;
        } else {
            struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
            poll(&pfd, 1, 1);
        }
    }
}

static void client_wait_eof(client *c, unsigned timeout_ms)
{
    client_wait(c, 1000, timeout_ms);
}

static void assert_body(const resp *r, const char *expect)
{
    char got[8200];
    snprintf(got, sizeof got, "%.*s", (int)r->body_len, r->body);
    assert_string_equal(got, expect);
}

/* ---------------------------------------------------------------------------------------
 * Tests
 * --------------------------------------------------------------------------------------- */

static void test_get_and_post_are_echoed_with_standard_headers(void **state)
{
    int port = server_up(NULL);
    client *c = client_open(port);
    client_sends(c, "GET /hello?a=1&b=2 HTTP/1.1\r\nHost: x\r\nX-CUSTOM: Val\r\n\r\n");
    client_wait(c, 1, 2000);
    assert_int_equal(c->n, 1);
    assert_int_equal(c->r[0].status, 200);
    assert_body(&c->r[0], "GET /hello?a=1&b=2 h=Val\n");
    assert_string_equal(c->r[0].connection, "keep-alive");
    assert_true(c->r[0].has_date && c->r[0].has_server && c->r[0].has_length);

    client_sends(c, "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world");
    client_wait(c, 2, 2000);
    assert_int_equal(c->n, 2);
    assert_body(&c->r[1], "POST /p? h=-\nhello world");
    assert_false(c->eof);
    assert_true(strncmp(last_peer, "127.0.0.1:", 10) == 0);
    client_close(c);
    server_down();
}

static void test_keep_alive_reuse_and_http10_close(void **state)
{
    int port = server_up(NULL);
    client *c = client_open(port);
    for (int i = 0; i < 5; i++) {
        client_sends(c, "GET /k HTTP/1.1\r\n\r\n");
        client_wait(c, i + 1, 2000);
        assert_int_equal(c->n, i + 1);
    }
    assert_int_equal(http_server_connections(srv), 1);
    assert_int_equal(handled, 5);

    /* HTTP/1.0 with keep-alive stays open; without, closes */
    client_sends(c, "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    client_wait(c, 6, 2000);
    assert_string_equal(c->r[5].connection, "keep-alive");
    client_sends(c, "GET /b HTTP/1.0\r\n\r\n");
    client_wait_eof(c, 2000);
    assert_int_equal(c->n, 7);
    assert_string_equal(c->r[6].connection, "close");
    assert_true(c->eof);
    client_close(c);

    /* Connection: close on HTTP/1.1 */
    c = client_open(port);
    client_sends(c, "GET /c HTTP/1.1\r\nConnection: close\r\n\r\n");
    client_wait_eof(c, 2000);
    assert_int_equal(c->n, 1);
    assert_string_equal(c->r[0].connection, "close");
    assert_true(c->eof);
    client_close(c);
    server_down();
}

static void test_pipelined_responses_leave_in_request_order(void **state)
{
    int port = server_up(NULL);
    client *c = client_open(port);
    client_sends(c, "GET /hold/1 HTTP/1.1\r\n\r\n"
                    "POST /hold/2 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
                    "GET /hold/3 HTTP/1.1\r\n\r\n");
    for (int i = 0; i < 200 && nheld < 3; i++)
        pump_ms(1);
    assert_int_equal(nheld, 3);
    assert_string_equal(held[0]->path, "/hold/1");
    assert_string_equal(held[2]->path, "/hold/3");
    assert_true(held[1]->seq > held[0]->seq && held[2]->seq > held[1]->seq);

    /* answered 3, 2 first: nothing may leave before 1 */
    echo(held[2], 200);
    echo(held[1], 201);
    held[2] = held[1] = NULL;
    client_wait(c, 1, 100);
    assert_int_equal(c->n, 0);

    echo(held[0], 202);
    held[0] = NULL;
    client_wait(c, 3, 2000);
    assert_int_equal(c->n, 3);
    assert_int_equal(c->r[0].status, 202);
    assert_body(&c->r[0], "GET /hold/1? h=-\n");
    assert_int_equal(c->r[1].status, 201);
    assert_body(&c->r[1], "POST /hold/2? h=-\nabc");
    assert_int_equal(c->r[2].status, 200);
    assert_body(&c->r[2], "GET /hold/3? h=-\n");
    nheld = 0;
    client_close(c);
    server_down();
}

static void test_pipeline_limit_pauses_reading(void **state)
{
    http_server_config cfg;
    default_cfg(&cfg);
    cfg.max_pipeline = 2;
    int port = server_up(&cfg);
    client *c = client_open(port);
    client_sends(c, "GET /hold/1 HTTP/1.1\r\n\r\nGET /hold/2 HTTP/1.1\r\n\r\n"
                    "GET /hold/3 HTTP/1.1\r\n\r\nGET /hold/4 HTTP/1.1\r\n\r\n"
                    "GET /hold/5 HTTP/1.1\r\n\r\n");
    pump_ms(50);
    assert_int_equal(nheld, 3); /* more than 2 pending: parsing stopped */
    for (int i = 0; i < 3; i++) {
        echo(held[i], 200);
        held[i] = NULL;
    }
    pump_ms(50);
    assert_int_equal(nheld, 5);
    for (int i = 3; i < 5; i++) {
        echo(held[i], 200);
        held[i] = NULL;
    }
    nheld = 0;
    client_wait(c, 5, 2000);
    assert_int_equal(c->n, 5);
    assert_body(&c->r[4], "GET /hold/5? h=-\n");
    client_close(c);
    server_down();
}

static void test_expect_100_continue(void **state)
{
    http_server_config cfg;
    default_cfg(&cfg);
    cfg.max_body_bytes = 100;
    int port = server_up(&cfg);
    client *c = client_open(port);
    client_sends(c, "POST /e HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    client_wait(c, 1, 2000);
    assert_int_equal(c->n, 1);
    assert_int_equal(c->r[0].status, 100);
    assert_int_equal(handled, 0);
    client_sends(c, "abcde");
    client_wait(c, 2, 2000);
    assert_int_equal(c->n, 2);
    assert_int_equal(c->r[1].status, 200);
    assert_body(&c->r[1], "POST /e? h=-\nabcde");
    client_close(c);

    /* declared body over the limit: 413 instead of 100, then close */
    c = client_open(port);
    client_sends(c, "POST /e HTTP/1.1\r\nContent-Length: 500\r\nExpect: 100-continue\r\n\r\n");
    client_wait_eof(c, 2000);
    assert_int_equal(c->n, 1);
    assert_int_equal(c->r[0].status, 413);
    assert_true(c->eof);
    client_close(c);
    server_down();
}

static void test_chunked_body_is_dechunked(void **state)
{
    int port = server_up(NULL);
    client *c = client_open(port);
    client_sends(c, "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "5\r\nhello\r\n");
    pump_ms(20);
    client_sends(c, "6\r\n world\r\n0\r\n\r\n");
    client_wait(c, 1, 2000);
    assert_int_equal(c->n, 1);
    assert_body(&c->r[0], "POST /c? h=-\nhello world");
    client_close(c);
    server_down();
}

static void test_header_too_large_is_431(void **state)
{
    http_server_config cfg;
    default_cfg(&cfg);
    cfg.max_header_bytes = 1024;
    int port = server_up(&cfg);
    client *c = client_open(port);
    char big[4096];
    memset(big, 'a', 2000);
    big[2000] = '\0';
    char req[4200];
    snprintf(req, sizeof req, "GET / HTTP/1.1\r\nX-Big: %s\r\n\r\n", big);
    client_sends(c, req);
    client_wait_eof(c, 2000);
    assert_int_equal(c->n, 1);
    assert_int_equal(c->r[0].status, 431);
    assert_string_equal(c->r[0].connection, "close");
    assert_true(c->eof);
    assert_int_equal(handled, 0);
    client_close(c);

    /* just under the limit passes */
    c = client_open(port);
    memset(big, 'a', 900);
    big[900] = '\0';
    snprintf(req, sizeof req, "GET / HTTP/1.1\r\nX-Big: %s\r\n\r\n", big);
    client_sends(c, req);
    client_wait(c, 1, 2000);
    assert_int_equal(c->n, 1);
    assert_int_equal(c->r[0].status, 200);
    client_close(c);
    server_down();
}

static void test_body_too_large_is_413(void **state)
{
    http_server_config cfg;
    default_cfg(&cfg);
    cfg.max_body_bytes = 100;
    int port = server_up(&cfg);
    client *c = client_open(port);
    char body[1001];
    memset(body, 'b', 1000);
    body[1000] = '\0';
    client_sends(c, "POST / HTTP/1.1\r\nContent-Length: 1000\r\n\r\n");
    client_sends(c, body);
    client_wait_eof(c, 2000);
    assert_int_equal(c->n, 1);
    assert_int_equal(c->r[0].status, 413);
    assert_true(c->eof);
    client_close(c);

    /* chunked: the limit applies to the bytes received */
    c = client_open(port);
    client_sends(c, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "40\r\n");
    client_sends(c, body + 1000 - 64);
    client_sends(c, "\r\n40\r\n");
    client_sends(c, body + 1000 - 64);
    client_sends(c, "\r\n0\r\n\r\n");
    client_wait_eof(c, 2000);
    assert_int_equal(c->n, 1);
    assert_int_equal(c->r[0].status, 413);
    assert_int_equal(handled, 0);
    client_close(c);
    server_down();
}

static void test_a_path_prefix_may_allow_larger_bodies(void **state)
{
    static const http_body_limit limits[] = {{"/big/", 2000, NULL}};
    http_server_config cfg;
    default_cfg(&cfg);
    cfg.max_body_bytes = 100;
    cfg.body_limits = limits;
    cfg.nbody_limits = 1;
    int port = server_up(&cfg);
    char body[1001];
    memset(body, 'b', 1000);
    body[1000] = '\0';
    /* under the prefix, in origin and absolute form: accepted */
    const char *heads[] = {"POST /big/upload HTTP/1.1\r\nContent-Length: 1000\r\n\r\n",
                           "POST http://h.test/big/x HTTP/1.1\r\nContent-Length: 1000\r\n\r\n"};
    for (int i = 0; i < 2; i++) {
        client *c = client_open(port);
        client_sends(c, heads[i]);
        client_sends(c, body);
        client_wait(c, 1, 2000);
        assert_int_equal(c->n, 1);
        assert_int_equal(c->r[0].status, 200);
        client_close(c);
    }
    /* elsewhere (even a path that only starts alike): the server-wide limit */
    client *c = client_open(port);
    client_sends(c, "POST /bigger HTTP/1.1\r\nContent-Length: 1000\r\n\r\n");
    client_sends(c, body);
    client_wait_eof(c, 2000);
    assert_int_equal(c->n, 1);
    assert_int_equal(c->r[0].status, 413);
    client_close(c);
    server_down();
}

static void test_malformed_is_400_and_server_keeps_serving(void **state)
{
    int port = server_up(NULL);
    client *c = client_open(port);
    client_sends(c, "GET / HTTP/1.1\r\n\r\nBLAH\x01 nonsense\r\n\r\n");
    client_wait_eof(c, 2000);
    assert_int_equal(c->n, 2); /* the good request first, then 400 */
    assert_int_equal(c->r[0].status, 200);
    assert_int_equal(c->r[1].status, 400);
    assert_string_equal(c->r[1].connection, "close");
    assert_true(c->r[1].body_len > 0);
    assert_true(c->eof);
    client_close(c);

    c = client_open(port);
    client_sends(c, "GET /again HTTP/1.1\r\n\r\n");
    client_wait(c, 1, 2000);
    assert_int_equal(c->n, 1);
    assert_int_equal(c->r[0].status, 200);
    client_close(c);
    server_down();
}

static void test_connection_cap_closes_extra_connections(void **state)
{
    http_server_config cfg;
    default_cfg(&cfg);
    cfg.max_connections = 2;
    int port = server_up(&cfg);
    client *a = client_open(port), *b = client_open(port);
    for (int i = 0; i < 500 && http_server_connections(srv) < 2; i++)
        pump_ms(1);
    assert_int_equal(http_server_connections(srv), 2);
    client *x = client_open(port);
    client_sends(x, "GET / HTTP/1.1\r\n\r\n");
    client_wait_eof(x, 2000);
    assert_true(x->eof);
    assert_int_equal(x->n, 0);
    assert_int_equal(handled, 0);
    client_close(x);

    /* the admitted ones work; closing one makes room */
    client_sends(a, "GET / HTTP/1.1\r\n\r\n");
    client_wait(a, 1, 2000);
    assert_int_equal(a->n, 1);
    client_close(a);
    for (int i = 0; i < 500 && http_server_connections(srv) > 1; i++)
        pump_ms(1);
    client *y = client_open(port);
    client_sends(y, "GET / HTTP/1.1\r\n\r\n");
    client_wait(y, 1, 2000);
    assert_int_equal(y->n, 1);
    client_close(y);
    client_close(b);
    server_down();
}

static void test_request_timeout_is_408_and_idle_closes(void **state)
{
    http_server_config cfg;
    default_cfg(&cfg);
    cfg.request_timeout_ms = 150;
    cfg.idle_timeout_ms = 300;
    int port = server_up(&cfg);

    client *c = client_open(port);
    uint64_t t0 = now_ms();
    client_sends(c, "GET / HTTP/1.1\r\nHost:");
    client_wait_eof(c, 2000);
    assert_int_equal(c->n, 1);
    assert_int_equal(c->r[0].status, 408);
    assert_true(now_ms() - t0 >= 140);
    client_close(c);

    /* idle keep-alive connection: closed without a response */
    c = client_open(port);
    client_sends(c, "GET / HTTP/1.1\r\n\r\n");
    client_wait(c, 1, 2000);
    t0 = now_ms();
    client_wait_eof(c, 2000);
    assert_true(c->eof);
    assert_int_equal(c->n, 1);
    assert_true(now_ms() - t0 >= 250);
    client_close(c);

    /* waiting for the handler is not a timeout */
    c = client_open(port);
    client_sends(c, "GET /hold HTTP/1.1\r\n\r\n");
    client_wait(c, 1, 700);
    assert_false(c->eof);
    assert_int_equal(nheld, 1);
    assert_false(http_request_is_cancelled(held[0]));
    echo(held[0], 200);
    nheld = 0;
    client_wait(c, 1, 2000);
    assert_int_equal(c->n, 1);
    assert_int_equal(c->r[0].status, 200);
    client_close(c);
    server_down();
}

static void test_graceful_stop_answers_pending_then_drains(void **state)
{
    int port = server_up(NULL);
    client *busy = client_open(port), *idle = client_open(port);
    client_sends(busy, "GET /hold HTTP/1.1\r\n\r\n");
    client_sends(idle, "GET / HTTP/1.1\r\n\r\n");
    client_wait(idle, 1, 2000);
    for (int i = 0; i < 500 && nheld < 1; i++)
        pump_ms(1);
    assert_int_equal(nheld, 1);

    http_server_stop(srv, on_drained, NULL);
    client_wait_eof(idle, 2000);
    assert_true(idle->eof);
    assert_int_equal(drained, 0);
    assert_int_equal(try_connect(port), -1); /* not listening any more */

    echo(held[0], 200);
    nheld = 0;
    client_wait_eof(busy, 2000);
    assert_int_equal(busy->n, 1);
    assert_int_equal(busy->r[0].status, 200);
    assert_string_equal(busy->r[0].connection, "close");
    assert_true(busy->eof);
    for (int i = 0; i < 2000 && !drained; i++)
        pump_ms(1);
    assert_int_equal(drained, 1);
    assert_int_equal(http_server_connections(srv), 0);
    http_server_destroy(srv);
    srv = NULL;
    client_close(busy);
    client_close(idle);
    server_down();
}

static void test_stop_with_no_connection_drains_at_once(void **state)
{
    server_up(NULL);
    http_server_stop(srv, on_drained, NULL);
    assert_int_equal(drained, 1);
    http_server_destroy(srv);
    srv = NULL;
    server_down();
}

static void test_stop_from_a_handler_ends_the_pipeline(void **state)
{
    int port = server_up(NULL);
    client *c = client_open(port);
    client_sends(c, "GET /stop HTTP/1.1\r\n\r\nGET /after HTTP/1.1\r\n\r\n");
    client_wait_eof(c, 2000);
    assert_int_equal(c->n, 1);
    assert_string_equal(c->r[0].connection, "close");
    assert_int_equal(handled, 1);
    for (int i = 0; i < 2000 && !drained; i++)
        pump_ms(1);
    assert_int_equal(drained, 1);
    http_server_destroy(srv);
    srv = NULL;
    client_close(c);
    server_down();
}

static void test_cancelled_when_client_disconnects(void **state)
{
    int port = server_up(NULL);
    client *c = client_open(port);
    client_sends(c, "POST /hold HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody");
    for (int i = 0; i < 500 && nheld < 1; i++)
        pump_ms(1);
    assert_int_equal(nheld, 1);
    http_request *r = held[0];
    pump_ms(20);
    assert_false(http_request_is_cancelled(r));
    client_close(c);
    for (int i = 0; i < 500 && !http_request_is_cancelled(r); i++)
        pump_ms(1);
    assert_true(http_request_is_cancelled(r));
    assert_int_equal(http_server_connections(srv), 0);
    /* the request is still readable and answering it just frees it */
    assert_string_equal(r->body, "body");
    echo(r, 200);
    nheld = 0;
    server_down();
}

static void test_head_has_no_body_and_bad_bind_fails(void **state)
{
    int port = server_up(NULL);
    client *c = client_open(port);
    client_sends(c, "HEAD /h HTTP/1.1\r\n\r\nGET /g HTTP/1.1\r\n\r\n");
    /* the response parser does not know the first was HEAD: check the raw bytes */
    char raw[4096] = {0};
    size_t len = 0;
    uint64_t end = now_ms() + 2000;
    while (now_ms() < end && !strstr(raw, "GET /g")) {
        pump();
        ssize_t r = recv(c->fd, raw + len, sizeof raw - 1 - len, 0);
        if (r > 0)
            len += (size_t)r;
        else
            usleep(1000);
    }
    char *second = strstr(raw + 1, "HTTP/1.1 200");
    assert_non_null(second);
    assert_non_null(strstr(raw, "Content-Length: 13\r\n")); /* "HEAD /h? h=-\n" */
    assert_memory_equal(second - 4, "\r\n\r\n", 4);         /* no body bytes in between */
    client_close(c);

    http_server *other = NULL;
    http_server_config cfg;
    default_cfg(&cfg);
    cfg.port = port;
    assert_int_equal(http_server_start(&other, &loop, &cfg, handler, NULL), UV_EADDRINUSE);
    assert_null(other);
    cfg.bind = "not-an-address";
    assert_int_equal(http_server_start(&other, &loop, &cfg, handler, NULL), UV_EINVAL);
    assert_null(other);
    server_down();
}

static void test_ipv6_bind(void **state)
{
    http_server_config cfg;
    default_cfg(&cfg);
    cfg.bind = "::1";
    cfg.port = 0;
    assert_int_equal(uv_loop_init(&loop), 0);
    drained = 0;
    int rc = http_server_start(&srv, &loop, &cfg, handler, NULL);
    if (rc == UV_EADDRNOTAVAIL || rc == UV_EAFNOSUPPORT) {
        srv = NULL; /* no IPv6 loopback here */
        server_down();
        skip();
    }
    assert_int_equal(rc, 0);
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6,
                             .sin6_port = htons((uint16_t)http_server_port(srv))};
    a.sin6_addr = in6addr_loopback;
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    client *c = calloc(1, sizeof *c);
    c->fd = fd;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    http_parser_init(&c->p, HTTP_RESPONSE);
    c->p.data = c;
    client_sends(c, "GET /6 HTTP/1.1\r\n\r\n");
    client_wait(c, 1, 2000);
    assert_int_equal(c->n, 1);
    assert_true(strncmp(last_peer, "[::1]:", 6) == 0);
    client_close(c);
    server_down();
}

/* The socket-free hook used by the fuzzer: byte-at-a-time reads and out-of-order answers
 * give the same bytes as one read answered at once (Date aside). */
static void test_feed_hook_split_reads_match(void **state)
{
    const char *in = "POST /a?q HTTP/1.1\r\nContent-Length: 3\r\nX-Test: t\r\n\r\nxyz"
                     "GET /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"
                     "GET /c HTTP/1.1\r\nConnection: close\r\n\r\nGET /ignored HTTP/1.1\r\n\r\n";
    http_server_config cfg;
    default_cfg(&cfg);
    cfg.max_pipeline = 1;
    buf a = BUF_INIT, b = BUF_INIT;
    http_feed_result ra, rb;
    http_conn_feed(&cfg, (const uint8_t *)in, strlen(in), 0, 0, &a, &ra);
    http_conn_feed(&cfg, (const uint8_t *)in, strlen(in), 1, 1, &b, &rb);
    assert_int_equal(ra.requests, 3);
    assert_int_equal(rb.requests, 3);
    assert_int_equal(ra.responses, 3);
    assert_int_equal(rb.responses, 3);
    assert_true(ra.closed && rb.closed);
    assert_int_equal(a.len, b.len);
    assert_non_null(strstr(b.data, "POST /a?q\nxyz"));
    assert_true(strstr(b.data, "GET /b?\nhi") > strstr(b.data, "POST /a?q"));
    assert_true(strstr(b.data, "GET /c?\n") > strstr(b.data, "GET /b?"));
    assert_null(strstr(b.data, "ignored"));
    buf_free(&a);
    buf_free(&b);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_and_post_are_echoed_with_standard_headers),
        cmocka_unit_test(test_keep_alive_reuse_and_http10_close),
        cmocka_unit_test(test_pipelined_responses_leave_in_request_order),
        cmocka_unit_test(test_pipeline_limit_pauses_reading),
        cmocka_unit_test(test_expect_100_continue),
        cmocka_unit_test(test_chunked_body_is_dechunked),
        cmocka_unit_test(test_header_too_large_is_431),
        cmocka_unit_test(test_body_too_large_is_413),
        cmocka_unit_test(test_a_path_prefix_may_allow_larger_bodies),
        cmocka_unit_test(test_malformed_is_400_and_server_keeps_serving),
        cmocka_unit_test(test_connection_cap_closes_extra_connections),
        cmocka_unit_test(test_request_timeout_is_408_and_idle_closes),
        cmocka_unit_test(test_graceful_stop_answers_pending_then_drains),
        cmocka_unit_test(test_stop_with_no_connection_drains_at_once),
        cmocka_unit_test(test_stop_from_a_handler_ends_the_pipeline),
        cmocka_unit_test(test_cancelled_when_client_disconnects),
        cmocka_unit_test(test_head_has_no_body_and_bad_bind_fails),
        cmocka_unit_test(test_ipv6_bind),
        cmocka_unit_test(test_feed_hook_split_reads_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
