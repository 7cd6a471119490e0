/* libsluice's runtime client: the strict HTTP response parser (src/libsluice/runtime_http.c)
 * fed whole and byte by byte, what it rejects and where its limits are; then the client
 * (src/libsluice/runtime.c) against a scripted Runtime API on loopback: the invocation loop,
 * error posts, a dropped keep-alive connection, malformed answers, AWS_LAMBDA_RUNTIME_API. */
#include "libsluice/runtime_http.h"
#include "sluice/runtime.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

/* Every allocation of the program's own objects (libsluice's included) goes through these:
 * the link wraps malloc, calloc and realloc (CMakeLists.txt). */
static volatile long allocations;
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n)
{
    allocations++;
    return __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t size)
{
    allocations++;
    return __real_calloc(n, size);
}
void *__wrap_realloc(void *p, size_t n)
{
    allocations++;
    return __real_realloc(p, n);
}

/* ---- the parser ------------------------------------------------------------------------- */

static const runtime_http_limits LIMITS = {1024, 4096, 8};

typedef struct parsed {
    runtime_http_parser p;
    char buf[8192];
    int rc;
} parsed;

/* Parses text whole (step 0) or fed step bytes at a time; the last return code in out->rc. */
static void parse(parsed *out, const char *text, size_t step)
{
    size_t n = strlen(text);
    assert_true(n < sizeof out->buf);
    runtime_http_init(&out->p, &LIMITS);
    memset(out->buf, '#', sizeof out->buf);
    size_t have = 0;
    do {
        size_t more = step ? step : n;
        if (more > n - have)
            more = n - have;
        memcpy(out->buf + have, text + have, more);
        have += more;
        out->rc = runtime_http_parse(&out->p, out->buf, have);
    } while (out->rc == 0 && have < n);
}

static int parse_rc(const char *text)
{
    parsed r;
    parse(&r, text, 0);
    return r.rc;
}

static const char CL_RESPONSE[] = "HTTP/1.1 200 OK\r\n"
                                  "Content-Type: application/json\r\n"
                                  "lambda-runtime-aws-request-id:   abc-123  \r\n"
                                  "Content-Length: 13\r\n"
                                  "\r\n"
                                  "{\"k\":[1,2,3]}";

static void test_content_length_response_whole_and_byte_by_byte(void **state)
{
    for (size_t step = 0; step <= 1; step++) {
        parsed r;
        parse(&r, CL_RESPONSE, step);
        assert_int_equal(r.rc, RUNTIME_HTTP_DONE);
        assert_int_equal(r.p.status, 200);
        assert_true(r.p.keep_alive);
        assert_int_equal(r.p.end, strlen(CL_RESPONSE));
        assert_int_equal(r.p.body_len, 13);
        assert_string_equal(r.p.body, "{\"k\":[1,2,3]}"); /* NUL-terminated */
        assert_string_equal(runtime_http_header_get(&r.p, "Lambda-Runtime-Aws-Request-Id"),
                            "abc-123");
        assert_string_equal(runtime_http_header_get(&r.p, "content-type"), "application/json");
        assert_null(runtime_http_header_get(&r.p, "Trailer"));
    }
}

static const char CHUNKED_RESPONSE[] = "HTTP/1.1 202 Accepted\r\n"
                                       "Transfer-Encoding: Chunked\r\n"
                                       "\r\n"
                                       "5\r\nhello\r\n"
                                       "1;name=value\r\n,\r\n"
                                       "00006 ; ext\r\n world\r\n"
                                       "0\r\n"
                                       "X-Checksum: 42\r\n"
                                       "\r\n";

static void test_chunked_response_decoded_in_place(void **state)
{
    for (size_t step = 0; step <= 3; step++) {
        parsed r;
        parse(&r, CHUNKED_RESPONSE, step);
        assert_int_equal(r.rc, RUNTIME_HTTP_DONE);
        assert_int_equal(r.p.status, 202);
        assert_int_equal(r.p.end, strlen(CHUNKED_RESPONSE));
        assert_int_equal(r.p.body_len, 12);
        assert_string_equal(r.p.body, "hello, world");
    }
}

static void test_incomplete_responses_ask_for_more(void **state)
{
    const char *parts[] = {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n",
                           "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc",
                           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
                           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n",
                           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: b\r\n"};
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++)
        assert_int_equal(parse_rc(parts[i]), 0);
}

static void test_connection_semantics(void **state)
{
    parsed r;
    parse(&r, "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 0);
    assert_int_equal(r.rc, RUNTIME_HTTP_DONE);
    assert_false(r.p.keep_alive);
    parse(&r, "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n", 0);
    assert_true(r.p.keep_alive);
    parse(&r, "HTTP/1.1 200 OK\r\nConnection: foo, close\r\nContent-Length: 0\r\n\r\n", 0);
    assert_false(r.p.keep_alive);
    parse(&r, "HTTP/1.1 204\r\n\r\n", 0); /* no reason phrase, no body */
    assert_int_equal(r.rc, RUNTIME_HTTP_DONE);
    assert_int_equal(r.p.body_len, 0);
    assert_string_equal(r.p.body, "");
}

static void test_malformed_responses_are_rejected(void **state)
{
    static const char *const bad[] = {
        "HTTP/2 200 OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.2 200 OK\r\nContent-Length: 0\r\n\r\n",
        "http/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 100 Continue\r\n\r\n",
        "HTTP/1.1 600 Nope\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 O\x01K\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n",           /* space before the colon */
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n folded\r\n\r\n", /* obsolete folding */
        "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n",              /* bare LF */
        "HTTP/1.1 200 OK\r\nA: b\rc\r\nContent-Length: 0\r\n\r\n", /* bare CR */
        "HTTP/1.1 200 OK\r\nA: \x7f\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\n: empty\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nNo colon\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello",
        "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close", /* no framing */
        "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\nabc",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n;x\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 x\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nBad trailer\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n folded\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = parse_rc(bad[i]);
        if (rc != SLUICE_EPROTO)
            fail_msg("accepted (%d) case %zu: %s", rc, i, bad[i]);
    }
}

static void test_limits(void **state)
{
    char text[6000];
    /* A head over max_head (1024), with or without its end in sight. */
    snprintf(text, sizeof text, "HTTP/1.1 200 OK\r\nX: %01100d\r\nContent-Length: 0\r\n\r\n", 0);
    assert_int_equal(parse_rc(text), SLUICE_ELIMIT);
    snprintf(text, sizeof text, "HTTP/1.1 200 OK\r\nX: %01100d", 0);
    assert_int_equal(parse_rc(text), SLUICE_ELIMIT);
    /* More header fields than max_hdrs (8). */
    strcpy(text, "HTTP/1.1 200 OK\r\n");
    for (int i = 0; i < 9; i++)
        sprintf(text + strlen(text), "H%d: v\r\n", i);
    strcat(text, "\r\n");
    assert_int_equal(parse_rc(text), SLUICE_ELIMIT);
    /* Bodies over max_body (4096): declared, chunked, or a size that overflows. */
    assert_int_equal(parse_rc("HTTP/1.1 200 OK\r\nContent-Length: 4097\r\n\r\n"), SLUICE_ELIMIT);
    assert_int_equal(
        parse_rc("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999999\r\n\r\n"),
        SLUICE_ELIMIT);
    assert_int_equal(parse_rc("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "800\r\n"),
                     0); /* 2048: fine so far */
    snprintf(text, sizeof text,
             "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n%02048d\r\n801\r\n", 0);
    assert_int_equal(parse_rc(text), SLUICE_ELIMIT);
    assert_int_equal(parse_rc("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "ffffffffffffffffffffffff\r\n"),
                     SLUICE_ELIMIT);
    /* Exactly at the limits is fine. */
    snprintf(text, sizeof text, "HTTP/1.1 200 OK\r\nContent-Length: 4096\r\n\r\n%04096d", 7);
    parsed r;
    parse(&r, text, 0);
    assert_int_equal(r.rc, RUNTIME_HTTP_DONE);
    assert_int_equal(r.p.body_len, 4096);
    /* Trailers over max_head, and a chunk line longer than any sane one. */
    snprintf(text, sizeof text,
             "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: %01100d\r\n\r\n", 0);
    assert_int_equal(parse_rc(text), SLUICE_ELIMIT);
    snprintf(text, sizeof text, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;%01100d",
             0);
    assert_int_equal(parse_rc(text), SLUICE_ELIMIT);
}

/* ---- a scripted Runtime API ------------------------------------------------------------- */

typedef struct fake_api {
    int listen_fd;
    int port;
    const char *const *script; /* responses, one per request, NULL-terminated */
    int close_after;           /* drop the connection after answering this request (1-based) */
    char requests[48][1024];   /* what arrived (head and body) */
    int nrequests;
    pthread_t thread;
} fake_api;

/* One request (head and Content-Length body) into out; 0 at EOF. */
static int read_request(int fd, char *out, size_t cap)
{
    size_t n = 0;
    char *end = NULL;
    while (!(end = memmem(out, n, "\r\n\r\n", 4))) {
        ssize_t got = recv(fd, out + n, cap - n - 1, 0);
        if (got <= 0)
            return 0;
        n += (size_t)got;
    }
    out[n] = 0;
    const char *cl = strcasestr(out, "Content-Length:");
    size_t want = (size_t)(end - out) + 4 + (cl && cl < end ? strtoul(cl + 15, NULL, 10) : 0);
    while (n < want) {
        ssize_t got = recv(fd, out + n, cap - n - 1, 0);
        if (got <= 0)
            return 0;
        n += (size_t)got;
    }
    out[n] = 0;
    return 1;
}

static void *fake_api_serve(void *arg)
{
    fake_api *f = arg;
    int fd = -1;
    for (int i = 0; f->script[i]; i++) {
        if (fd < 0)
            fd = accept(f->listen_fd, NULL, NULL);
        if (!read_request(fd, f->requests[f->nrequests], sizeof f->requests[0]))
            break;
        f->nrequests++;
        send(fd, f->script[i], strlen(f->script[i]), MSG_NOSIGNAL);
        if (f->close_after == i + 1) {
            close(fd);
            fd = -1;
        }
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

static void fake_api_start(fake_api *f, const char *const *script)
{
    memset(f, 0, sizeof *f);
    f->script = script;
    f->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(f->listen_fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(f->listen_fd, 4), 0);
    socklen_t len = sizeof sa;
    getsockname(f->listen_fd, (struct sockaddr *)&sa, &len);
    f->port = ntohs(sa.sin_port);
}

static void fake_api_run(fake_api *f)
{
    pthread_create(&f->thread, NULL, fake_api_serve, f);
}

static void fake_api_stop(fake_api *f)
{
    pthread_join(f->thread, NULL);
    close(f->listen_fd);
}

#define NEXT_HEADERS                                                                               \
    "Lambda-Runtime-Deadline-Ms: 4102444800000\r\n"                                                \
    "Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:000000000000:function:f\r\n"    \
    "Lambda-Runtime-Trace-Id: Root=1-2-3\r\n"

static const char ACCEPTED[] =
    "HTTP/1.1 202 Accepted\r\nContent-Length: 15\r\n\r\n{\"status\":\"OK\"}";
static const char GONE[] = "HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\n{}";

typedef struct seen {
    int calls;
    char ids[4][64];
    char payloads[4][64];
    int64_t remaining;
    char arn[128];
} seen;

/* Echoes the event on the first call, fails with an error type on the second, returns 7
 * (an error it did not describe) on the third. */
static int scripted_handler(const sluice_invocation *inv, const char *payload, size_t len,
                            sluice_response *out, void *arg)
{
    seen *s = arg;
    int call = s->calls++;
    snprintf(s->ids[call], sizeof s->ids[call], "%s", inv->request_id);
    snprintf(s->payloads[call], sizeof s->payloads[call], "%s", payload);
    s->remaining = sluice_remaining_ms(inv);
    snprintf(s->arn, sizeof s->arn, "%s", inv->function_arn);
    if (call == 0)
        return sluice_response_printf(out, "{\"echo\":%.*s}", (int)len, payload);
    if (call == 1)
        return sluice_response_error(out, "Order\r\nInvalid", "bad \"order\" %d\n", 42);
    return 7;
}

static void test_loop_posts_outcomes_until_the_server_lets_go(void **state)
{
    static const char *const script[] = {
        "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: id-1\r\n" NEXT_HEADERS
        "Transfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n",
        ACCEPTED,
        "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: id-2\r\n" NEXT_HEADERS
        "Content-Length: 2\r\n\r\n[]",
        ACCEPTED,
        "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: id-3\r\n" NEXT_HEADERS
        "Content-Length: 4\r\n\r\nnull",
        ACCEPTED,
        GONE,
        NULL};
    fake_api f;
    fake_api_start(&f, script);
    fake_api_run(&f);
    char api[64];
    snprintf(api, sizeof api, "127.0.0.1:%d/_sluice/lambda/rt/tok/", f.port);
    sluice_runtime *rt;
    assert_int_equal(sluice_runtime_create(&rt, api), 0);
    seen s = {0};
    assert_int_equal(sluice_runtime_loop(rt, scripted_handler, &s), 0);
    sluice_runtime_destroy(rt);
    fake_api_stop(&f);

    assert_int_equal(s.calls, 3);
    assert_string_equal(s.ids[0], "id-1");
    assert_string_equal(s.payloads[0], "{\"a\":1}");
    assert_string_equal(s.payloads[1], "[]");
    assert_true(s.remaining > 0);
    assert_string_equal(s.arn, "arn:aws:lambda:us-east-1:000000000000:function:f");
    assert_int_equal(f.nrequests, 7);
    assert_non_null(strstr(f.requests[0], "GET /_sluice/lambda/rt/tok/2018-06-01/runtime/"
                                          "invocation/next HTTP/1.1\r\n"));
    assert_non_null(strstr(f.requests[1], "POST /_sluice/lambda/rt/tok/2018-06-01/runtime/"
                                          "invocation/id-1/response HTTP/1.1\r\n"));
    assert_non_null(strstr(f.requests[1], "\r\n\r\n{\"echo\":{\"a\":1}}"));
    assert_non_null(strstr(f.requests[3], "/invocation/id-2/error HTTP/1.1\r\n"));
    assert_non_null(strstr(f.requests[3], "\r\nLambda-Runtime-Function-Error-Type: "
                                          "OrderInvalid\r\n"));
    assert_non_null(strstr(f.requests[3],
                           "\r\n\r\n{\"errorMessage\":\"bad \\\"order\\\" 42\\n\","
                           "\"errorType\":\"Order\\r\\nInvalid\",\"stackTrace\":[]}"));
    assert_non_null(strstr(f.requests[5], "/invocation/id-3/error HTTP/1.1\r\n"));
    assert_non_null(strstr(f.requests[5], "\"errorType\":\"Runtime.HandlerError\""));
}

/* The server drops the keep-alive connection after answering: the next request is sent
 * again on a new one. */
static void test_dropped_keep_alive_connection_is_reopened(void **state)
{
    static const char *const script[] = {
        "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: id-1\r\n" NEXT_HEADERS
        "Content-Length: 2\r\n\r\n{}",
        ACCEPTED, GONE, NULL};
    fake_api f;
    fake_api_start(&f, script);
    f.close_after = 2;
    fake_api_run(&f);
    char api[64];
    snprintf(api, sizeof api, "127.0.0.1:%d", f.port);
    sluice_runtime *rt;
    assert_int_equal(sluice_runtime_create(&rt, api), 0);
    seen s = {0};
    assert_int_equal(sluice_runtime_loop(rt, scripted_handler, &s), 0);
    sluice_runtime_destroy(rt);
    fake_api_stop(&f);
    assert_int_equal(s.calls, 1);
    assert_int_equal(f.nrequests, 3);
    assert_non_null(strstr(f.requests[2], "GET /2018-06-01/runtime/invocation/next"));
}

static void test_malformed_next_ends_the_loop(void **state)
{
    static const char *const answers[] = {
        /* not HTTP */
        "SSH-2.0-OpenSSH_9.2\r\n\r\n",
        /* no request id */
        "HTTP/1.1 200 OK\r\n" NEXT_HEADERS "Content-Length: 2\r\n\r\n{}",
        /* a request id that would break out of the path */
        "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: ../x\r\n" NEXT_HEADERS
        "Content-Length: 2\r\n\r\n{}",
        /* a deadline that is not a number */
        "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: id\r\n"
        "Lambda-Runtime-Deadline-Ms: soon\r\nContent-Length: 2\r\n\r\n{}",
        /* bytes after the response */
        "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: id\r\n" NEXT_HEADERS
        "Content-Length: 2\r\n\r\n{}HTTP/1.1 200 OK\r\n",
    };
    for (size_t i = 0; i < sizeof answers / sizeof *answers; i++) {
        const char *script[] = {answers[i], NULL};
        fake_api f;
        fake_api_start(&f, script);
        fake_api_run(&f);
        char api[64];
        snprintf(api, sizeof api, "127.0.0.1:%d", f.port);
        sluice_runtime *rt;
        assert_int_equal(sluice_runtime_create(&rt, api), 0);
        seen s = {0};
        int rc = sluice_runtime_loop(rt, scripted_handler, &s);
        sluice_runtime_destroy(rt);
        fake_api_stop(&f);
        if (rc != SLUICE_EPROTO)
            fail_msg("answer %zu: %d (%s)", i, rc, sluice_err_name(rc));
        assert_int_equal(s.calls, 0);
    }
}

typedef struct alloc_probe {
    int calls;
    long at_third, at_last;
} alloc_probe;

static int counting_handler(const sluice_invocation *inv, const char *payload, size_t len,
                            sluice_response *out, void *arg)
{
    alloc_probe *a = arg;
    if (++a->calls == 3)
        a->at_third = allocations;
    a->at_last = allocations;
    if (a->calls % 2)
        return sluice_response_printf(out, "{\"echo\":%.*s,\"n\":%d}", (int)len, payload, 100);
    return sluice_response_error(out, "Some.Error", "call %d failed", 100);
}

/* Once the buffers have grown to the invocations' size, an invocation (next, handler,
 * success or error post) allocates nothing. */
static void test_warm_invocations_allocate_nothing(void **state)
{
    enum { N = 20 };
    static const char next[] =
        "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: id-00\r\n" NEXT_HEADERS
        "Content-Length: 13\r\n\r\n{\"k\":[1,2,3]}";
    static const char *script[2 * N + 2];
    for (int i = 0; i < N; i++) {
        script[2 * i] = next;
        script[2 * i + 1] = ACCEPTED;
    }
    script[2 * N] = GONE;
    fake_api f;
    fake_api_start(&f, script);
    fake_api_run(&f);
    char api[64];
    snprintf(api, sizeof api, "127.0.0.1:%d", f.port);
    sluice_runtime *rt;
    assert_int_equal(sluice_runtime_create(&rt, api), 0);
    alloc_probe a = {0};
    assert_int_equal(sluice_runtime_loop(rt, counting_handler, &a), 0);
    sluice_runtime_destroy(rt);
    fake_api_stop(&f);
    assert_int_equal(a.calls, N);
    assert_true(a.at_third > 0);
    assert_int_equal(a.at_last, a.at_third);
}

static void test_init_error_is_posted(void **state)
{
    static const char *const script[] = {ACCEPTED, NULL};
    fake_api f;
    fake_api_start(&f, script);
    fake_api_run(&f);
    char api[64];
    snprintf(api, sizeof api, "127.0.0.1:%d", f.port);
    setenv("AWS_LAMBDA_RUNTIME_API", api, 1);
    assert_int_equal(sluice_init_error("Config.Missing", "no \"TABLE\" set"), 0);
    fake_api_stop(&f);
    assert_non_null(strstr(f.requests[0], "POST /2018-06-01/runtime/init/error HTTP/1.1\r\n"));
    assert_non_null(strstr(f.requests[0], "Lambda-Runtime-Function-Error-Type: Config.Missing"));
    assert_non_null(strstr(f.requests[0], "{\"errorMessage\":\"no \\\"TABLE\\\" set\","
                                          "\"errorType\":\"Config.Missing\""));
}

static void test_runtime_api_values(void **state)
{
    static const char *const bad[] = {
        "",      "localhost",     "localhost:",      ":9001",   "localhost:0",   "localhost:65536",
        "a b:1", "localhost:12x", "localhost:1/a b", "h:1/a?b", "host/name:9001"};
    sluice_runtime *rt;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (sluice_runtime_create(&rt, bad[i]) != SLUICE_ENOAPI)
            fail_msg("accepted AWS_LAMBDA_RUNTIME_API=%s", bad[i]);
    unsetenv("AWS_LAMBDA_RUNTIME_API");
    assert_int_equal(sluice_runtime_create(&rt, NULL), SLUICE_ENOAPI);
    assert_null(rt);
    const char *good[] = {"127.0.0.1:9001", "localhost:1/x/y/", "[::1]:65535"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        assert_int_equal(sluice_runtime_create(&rt, good[i]), 0);
        sluice_runtime_destroy(rt);
    }
    assert_int_equal(sluice_runtime_run(scripted_handler, NULL), SLUICE_ENOAPI);
}

static void test_responses_and_error_names(void **state)
{
    sluice_response *r;
    size_t len;
    assert_int_equal(sluice_response_create(&r), 0);
    assert_string_equal(sluice_response_body(r, &len), "null"); /* nothing set */
    assert_int_equal(sluice_response_printf(r, "{\"n\":%d", 1), 0);
    assert_int_equal(sluice_response_append(r, "}", 1), 0);
    assert_string_equal(sluice_response_body(r, &len), "{\"n\":1}");
    assert_false(sluice_response_is_error(r));
    assert_int_equal(sluice_response_error(r, "", "%s", "ctl \x01 here"), 0);
    assert_true(sluice_response_is_error(r));
    assert_int_equal(sluice_response_append(r, "x", 1), SLUICE_EINVAL);
    assert_string_equal(sluice_response_body(r, &len),
                        "{\"errorMessage\":\"ctl \\u0001 here\",\"errorType\":\"\","
                        "\"stackTrace\":[]}");
    sluice_response_reset(r);
    assert_false(sluice_response_is_error(r));
    assert_string_equal(sluice_response_body(r, &len), "null");
    sluice_response_destroy(r);
    sluice_response_destroy(NULL);
    sluice_runtime_destroy(NULL);
    assert_string_equal(sluice_err_name(SLUICE_EPROTO), "SLUICE_EPROTO");
    assert_string_equal(sluice_err_message(SLUICE_ELIMIT),
                        "response from the Runtime API over the client's limits");
    assert_string_equal(sluice_err_name(0), "OK");
    assert_string_equal(sluice_err_name(-999), "UNKNOWN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_length_response_whole_and_byte_by_byte),
        cmocka_unit_test(test_chunked_response_decoded_in_place),
        cmocka_unit_test(test_incomplete_responses_ask_for_more),
        cmocka_unit_test(test_connection_semantics),
        cmocka_unit_test(test_malformed_responses_are_rejected),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_loop_posts_outcomes_until_the_server_lets_go),
        cmocka_unit_test(test_dropped_keep_alive_connection_is_reopened),
        cmocka_unit_test(test_malformed_next_ends_the_loop),
        cmocka_unit_test(test_warm_invocations_allocate_nothing),
        cmocka_unit_test(test_init_error_is_posted),
        cmocka_unit_test(test_runtime_api_values),
        cmocka_unit_test(test_responses_and_error_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
