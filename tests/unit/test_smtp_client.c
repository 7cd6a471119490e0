/* SMTP client: real transactions with a real SMTP server on loopback.
 *
 * The server is Debian's python3-aiosmtpd, run from a small script written by the group
 * setup: it accepts everything except recipients whose local part starts with "temp"
 * (450), "perm" (550) or "slow" (no answer for 30 s), and saves each message it accepts as
 * N.json in a temporary directory: the envelope, the connection's peer and what Python's
 * email parser (policy.default) makes of the message, so the decoding checked here is an
 * independent implementation's. The loop is turned by the test (UV_RUN_ONCE, woken every
 * few ms by a ticker timer) until the callbacks it waits for have run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/buf.h"
#include "common/mime.h"
#include "net/smtp_client.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char server_py[] =
    "import asyncio, email, json, os, sys\n"
    "from email import policy\n"
    "from aiosmtpd.smtp import SMTP\n"
    "outdir = sys.argv[1]\n"
    "def summary(env, session):\n"
    "    msg = email.message_from_bytes(env.content, policy=policy.default)\n"
    "    parts = []\n"
    "    for p in msg.walk():\n"
    "        if p.is_multipart():\n"
    "            continue\n"
    "        parts.append({'type': p.get_content_type(), 'charset': p.get_content_charset(),\n"
    "                      'cte': p.get('Content-Transfer-Encoding', ''),\n"
    "                      'content': p.get_content().replace('\\r\\n', '\\n')})\n"
    "    defects = [type(d).__name__ for p in msg.walk() for d in p.defects]\n"
    "    for h in ('subject', 'from', 'to', 'cc', 'reply-to'):\n"
    "        if msg[h] is not None:\n"
    "            defects += [type(d).__name__ for d in msg[h].defects]\n"
    "    lines = env.content.split(b'\\r\\n')\n"
    "    return {'mail_from': env.mail_from, 'rcpt': env.rcpt_tos, 'peer': session.peer[1],\n"
    "            'subject': msg['subject'], 'from': msg['from'], 'to': msg['to'],\n"
    "            'cc': msg['cc'], 'reply_to': msg['reply-to'], 'has_bcc': 'bcc' in msg,\n"
    "            'message_id': msg['message-id'], 'date': msg['date'],\n"
    "            'type': msg.get_content_type(), 'parts': parts, 'defects': defects,\n"
    "            'raw': env.content.decode('utf-8', 'replace'),\n"
    "            'bare_lf': b'\\n' in env.content.replace(b'\\r\\n', b''),\n"
    "            'max_line': max(len(l) for l in lines)}\n"
    "class Handler:\n"
    "    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):\n"
    "        local = address.split('@')[0]\n"
    "        if local.startswith('temp'):\n"
    "            return '450 4.2.1 Mailbox busy, try again later'\n"
    "        if local.startswith('perm'):\n"
    "            return '550 5.1.1 No such user here'\n"
    "        if local.startswith('slow'):\n"
    "            await asyncio.sleep(30)\n"
    "        envelope.rcpt_tos.append(address)\n"
    "        return '250 OK'\n"
    "    async def handle_DATA(self, server, session, envelope):\n"
    "        count = len([f for f in os.listdir(outdir) if f.endswith('.json')]) + 1\n"
    "        tmp = os.path.join(outdir, '.%d.json' % count)\n"
    "        with open(tmp, 'w') as f:\n"
    "            json.dump(summary(envelope, session), f)\n"
    "        os.rename(tmp, os.path.join(outdir, '%d.json' % count))\n"
    "        return '250 Message accepted for delivery'\n"
    "async def main():\n"
    "    loop = asyncio.get_running_loop()\n"
    "    srv = await loop.create_server(lambda: SMTP(Handler(), decode_data=False,\n"
    "        enable_SMTPUTF8=True, hostname='sink.test'), '127.0.0.1', 0)\n"
    "    print(srv.sockets[0].getsockname()[1], flush=True)\n"
    "    await srv.serve_forever()\n"
    "asyncio.run(main())\n";

static char dir[64];
static pid_t server_pid;
static int smtp_port;

static uv_loop_t loop;
static uv_timer_t ticker;
static smtp_client *cli;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------------------------------
 * The SMTP server process
 * --------------------------------------------------------------------------------------- */

static int start_server(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/sluice-smtp-test.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    char script[128];
    snprintf(script, sizeof script, "%s/server.py", dir);
    FILE *f = fopen(script, "w");
    if (!f)
        return -1;
    fputs(server_py, f);
    fclose(f);
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    server_pid = fork();
    if (server_pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl("/usr/bin/python3", "python3", script, dir, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    /* The port, one line; it may come in more than one write. */
    char line[32] = {0};
    size_t got = 0;
    while (got < sizeof line - 1 && !strchr(line, '\n')) {
        ssize_t n = read(fds[0], line + got, sizeof line - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fds[0]);
    smtp_port = strchr(line, '\n') ? atoi(line) : 0;
    if (smtp_port <= 0) {
        fprintf(stderr, "the SMTP test server did not start (is python3-aiosmtpd installed?)\n");
        return -1;
    }
    return 0;
}

static void clear_dir(void)
{
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -f %s/*.json", dir);
    assert_int_equal(system(cmd), 0);
}

static int stop_server(void **state)
{
    if (server_pid > 0) {
        kill(server_pid, SIGTERM);
        waitpid(server_pid, NULL, 0);
    }
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* The n-th message the server accepted (1-based), or NULL. Caller json_decref's. */
static json_t *received(int n)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%d.json", dir, n);
    return json_load_file(path, 0, NULL);
}

static const char *jstr(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* ---------------------------------------------------------------------------------------
 * Loop fixture
 * --------------------------------------------------------------------------------------- */

static void tick(uv_timer_t *t) {}

static smtp_client *make_client(const char *url, smtp_starttls tls)
{
    smtp_client_config cfg = {.url = url, .starttls = tls};
    smtp_client *c = NULL;
    assert_int_equal(smtp_client_create(&c, &loop, &cfg), 0);
    assert_non_null(c);
    return c;
}

static int up(void **state)
{
    assert_int_equal(uv_loop_init(&loop), 0);
    uv_timer_init(&loop, &ticker);
    uv_timer_start(&ticker, tick, 5, 5);
    clear_dir();
    char url[64];
    snprintf(url, sizeof url, "smtp://127.0.0.1:%d", smtp_port);
    cli = make_client(url, SMTP_STARTTLS_NONE);
    return 0;
}

static void run_until(const int *counter, int want, unsigned timeout_ms)
{
    uint64_t end = now_ms() + timeout_ms;
    while (*counter < want && now_ms() < end)
        uv_run(&loop, UV_RUN_ONCE);
}

static int down(void **state)
{
    smtp_client_destroy(cli);
    cli = NULL;
    uv_close((uv_handle_t *)&ticker, NULL);
    for (int i = 0; i < 1000 && uv_loop_alive(&loop); i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(uv_loop_close(&loop), 0); /* the client closed all of its handles */
    return 0;
}

/* ---------------------------------------------------------------------------------------
 * Sending and what came back
 * --------------------------------------------------------------------------------------- */

typedef struct done {
    int calls;
    int error;
    int smtp_code;
    int temporary;
    char msg[256];
    int destroy_in_cb;
    int send_rc; /* a send attempted from inside the callback */
} done;

static int ncb;
static int in_send; /* a callback must never run inside smtp_client_send */

static const char *const one_rcpt[] = {"alice@example.test"};
static const char plain_msg[] = "From: a@example.test\r\nSubject: hi\r\n\r\nhello\r\n";

static void on_done(const smtp_client_result *res, void *arg)
{
    assert_false(in_send);
    done *d = arg;
    d->calls++;
    ncb++;
    d->error = res->error;
    d->smtp_code = res->smtp_code;
    d->temporary = res->temporary;
    assert_non_null(res->error_message);
    assert_int_equal(res->error == 0, res->error_message[0] == '\0');
    snprintf(d->msg, sizeof d->msg, "%s", res->error_message);
    if (d->destroy_in_cb) {
        smtp_client_destroy(cli);
    }
    if (res->error == SMTP_CLIENT_ECANCELLED) {
        smtp_client_message m = {
            .mail_from = "a@example.test", .rcpt = one_rcpt, .nrcpt = 1, .data = "x", .len = 1};
        d->send_rc = smtp_client_send(cli, &m, on_done, d);
    }
}

static int send_to(smtp_client *c, const char *const *rcpt, size_t n, const char *data, size_t len,
                   long timeout_ms, done *d)
{
    smtp_client_message m = {.mail_from = "sender@example.test",
                             .rcpt = rcpt,
                             .nrcpt = n,
                             .data = data,
                             .len = len,
                             .timeout_ms = timeout_ms};
    in_send = 1;
    int rc = smtp_client_send(c, &m, on_done, d);
    in_send = 0;
    return rc;
}

static void send_and_wait(const char *const *rcpt, size_t n, const char *data, size_t len, done *d)
{
    ncb = 0;
    assert_int_equal(send_to(cli, rcpt, n, data, len, 0, d), 0);
    run_until(&d->calls, 1, 10000);
    assert_int_equal(d->calls, 1);
}

static void test_mime_message_arrives_intact_with_every_recipient(void **state)
{
    const char *to[] = {"Zoë Ærø <zoe@example.test>", "bob@example.test"};
    const char *cc[] = {"\"Doe, Carol\" <carol@example.test>"};
    const char *reply[] = {"replies@example.test"};
    const char *subject = "Grüße aus Köln — 日本語のテキスト ✓ and a long enough tail to need "
                          "several encoded-words";
    const char *text = "Hallo Zoë,\n\n.a line starting with a dot\n..two dots\n.\nthe end €\n";
    const char *html = "<p>Hallo <b>Zoë</b></p>\n<p>€ 10</p>\n";
    mime_message m = {.from = "Sluice <sender@example.test>",
                      .to = to,
                      .nto = 2,
                      .cc = cc,
                      .ncc = 1,
                      .reply_to = reply,
                      .nreply_to = 1,
                      .subject = subject,
                      .text = text,
                      .text_len = strlen(text),
                      .html = html,
                      .html_len = strlen(html)};
    buf b = BUF_INIT;
    const char *err = NULL;
    assert_int_equal(mime_build(&b, &m, &err), 0);
    /* Envelope: every To, Cc and Bcc recipient; the Bcc one appears nowhere in the data. */
    const char *rcpt[] = {"zoe@example.test", "bob@example.test", "carol@example.test",
                          "hidden@example.test"};
    done d = {0};
    send_and_wait(rcpt, 4, b.data, b.len, &d);
    assert_int_equal(d.error, 0);
    assert_int_equal(d.smtp_code, 250);
    assert_false(d.temporary);

    json_t *j = received(1);
    assert_non_null(j);
    assert_string_equal(jstr(j, "mail_from"), "sender@example.test");
    json_t *r = json_object_get(j, "rcpt");
    assert_int_equal(json_array_size(r), 4);
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(json_string_value(json_array_get(r, i)), rcpt[i]);
    assert_string_equal(jstr(j, "subject"), subject);
    assert_string_equal(jstr(j, "from"), "Sluice <sender@example.test>");
    assert_string_equal(jstr(j, "to"), "Zoë Ærø <zoe@example.test>, bob@example.test");
    assert_string_equal(jstr(j, "cc"), "\"Doe, Carol\" <carol@example.test>");
    assert_string_equal(jstr(j, "reply_to"), "replies@example.test");
    assert_false(json_is_true(json_object_get(j, "has_bcc")));
    assert_null(strstr(jstr(j, "raw"), "hidden"));
    assert_int_equal(json_array_size(json_object_get(j, "defects")), 0);
    assert_true(json_integer_value(json_object_get(j, "max_line")) <= 78);
    assert_false(json_is_true(json_object_get(j, "bare_lf")));
    assert_non_null(jstr(j, "date"));
    assert_non_null(strstr(jstr(j, "message_id"), "@example.test>"));

    assert_string_equal(jstr(j, "type"), "multipart/alternative");
    json_t *parts = json_object_get(j, "parts");
    assert_int_equal(json_array_size(parts), 2);
    json_t *p0 = json_array_get(parts, 0), *p1 = json_array_get(parts, 1);
    assert_string_equal(jstr(p0, "type"), "text/plain");
    assert_string_equal(jstr(p0, "charset"), "utf-8");
    assert_string_equal(jstr(p0, "content"), text);
    assert_string_equal(jstr(p1, "type"), "text/html");
    assert_string_equal(jstr(p1, "content"), html);
    json_decref(j);
    buf_free(&b);
}

static void test_raw_message_passes_through_with_bare_lf_widened(void **state)
{
    /* Lines starting with dots must survive the dot-stuffing; bare LFs arrive as CRLF. */
    const char raw[] = "From: a@example.test\nTo: alice@example.test\nSubject: raw\n"
                       "X-Custom: kept\n\n.\n..\n.leading dot\nlast line";
    done d = {0};
    send_and_wait(one_rcpt, 1, raw, strlen(raw), &d);
    assert_int_equal(d.error, 0);
    json_t *j = received(1);
    assert_non_null(j);
    assert_false(json_is_true(json_object_get(j, "bare_lf")));
    const char *got = jstr(j, "raw");
    assert_non_null(strstr(got, "X-Custom: kept\r\n\r\n.\r\n..\r\n.leading dot\r\nlast line"));
    assert_string_equal(jstr(j, "subject"), "raw");
    json_decref(j);
}

static void test_450_is_a_temporary_refusal(void **state)
{
    const char *rcpt[] = {"temp@example.test"};
    done d = {0};
    send_and_wait(rcpt, 1, plain_msg, strlen(plain_msg), &d);
    assert_int_equal(d.error, SMTP_CLIENT_EREFUSED);
    assert_int_equal(d.smtp_code, 450);
    assert_true(d.temporary);
    assert_null(received(1));
}

static void test_550_is_a_permanent_refusal(void **state)
{
    const char *rcpt[] = {"perm@example.test"};
    done d = {0};
    send_and_wait(rcpt, 1, plain_msg, strlen(plain_msg), &d);
    assert_int_equal(d.error, SMTP_CLIENT_EREFUSED);
    assert_int_equal(d.smtp_code, 550);
    assert_false(d.temporary);
    assert_true(strlen(d.msg) > 0);
    assert_null(received(1));
}

static void test_one_refused_recipient_fails_the_whole_message(void **state)
{
    const char *rcpt[] = {"alice@example.test", "perm@example.test", "bob@example.test"};
    done d = {0};
    send_and_wait(rcpt, 3, plain_msg, strlen(plain_msg), &d);
    assert_int_equal(d.error, SMTP_CLIENT_EREFUSED);
    assert_int_equal(d.smtp_code, 550);
    assert_null(received(1));
    /* The connection is still good for the next message. */
    done d2 = {0};
    send_and_wait(one_rcpt, 1, plain_msg, strlen(plain_msg), &d2);
    assert_int_equal(d2.error, 0);
    json_t *j = received(1);
    assert_non_null(j);
    json_decref(j);
}

static void test_connection_refused_is_temporary(void **state)
{
    /* A bound socket that does not listen: connects to it are refused, and the port
     * cannot be taken by anyone else meanwhile. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    char url[64];
    snprintf(url, sizeof url, "smtp://127.0.0.1:%d", ntohs(a.sin_port));
    smtp_client *c = make_client(url, SMTP_STARTTLS_NONE);
    done d = {0};
    assert_int_equal(send_to(c, one_rcpt, 1, plain_msg, strlen(plain_msg), 0, &d), 0);
    run_until(&d.calls, 1, 10000);
    assert_int_equal(d.calls, 1);
    assert_int_equal(d.error, SMTP_CLIENT_ECONNECT);
    assert_int_equal(d.smtp_code, 0);
    assert_true(d.temporary);
    smtp_client_destroy(c);
    close(fd);
}

static void test_silent_server_times_out_as_temporary(void **state)
{
    const char *rcpt[] = {"slow@example.test"};
    done d = {0};
    uint64_t t0 = now_ms();
    assert_int_equal(send_to(cli, rcpt, 1, plain_msg, strlen(plain_msg), 300, &d), 0);
    run_until(&d.calls, 1, 10000);
    uint64_t took = now_ms() - t0;
    assert_int_equal(d.calls, 1);
    assert_int_equal(d.error, SMTP_CLIENT_ETIMEDOUT);
    assert_true(d.temporary);
    assert_true(took >= 250 && took < 3000);
}

static void test_starttls_required_but_not_offered(void **state)
{
    char url[64];
    snprintf(url, sizeof url, "smtp://127.0.0.1:%d", smtp_port);
    smtp_client *c = make_client(url, SMTP_STARTTLS_REQUIRED);
    done d = {0};
    assert_int_equal(send_to(c, one_rcpt, 1, plain_msg, strlen(plain_msg), 0, &d), 0);
    run_until(&d.calls, 1, 10000);
    assert_int_equal(d.error, SMTP_CLIENT_ETLS);
    assert_true(d.temporary);
    assert_null(received(1));
    smtp_client_destroy(c);
}

static void test_sequential_sends_reuse_one_connection(void **state)
{
    for (int i = 0; i < 3; i++) {
        done d = {0};
        send_and_wait(one_rcpt, 1, plain_msg, strlen(plain_msg), &d);
        assert_int_equal(d.error, 0);
    }
    json_int_t peer = -1;
    for (int i = 1; i <= 3; i++) {
        json_t *j = received(i);
        assert_non_null(j);
        json_int_t p = json_integer_value(json_object_get(j, "peer"));
        if (peer >= 0)
            assert_int_equal(p, peer);
        peer = p;
        json_decref(j);
    }
}

static void test_parallel_sends_all_arrive(void **state)
{
    enum { N = 20 };
    done d[N];
    memset(d, 0, sizeof d);
    ncb = 0;
    for (int i = 0; i < N; i++)
        assert_int_equal(send_to(cli, one_rcpt, 1, plain_msg, strlen(plain_msg), 0, &d[i]), 0);
    assert_int_equal(smtp_client_in_flight(cli), N);
    run_until(&ncb, N, 20000);
    assert_int_equal(ncb, N);
    assert_int_equal(smtp_client_in_flight(cli), 0);
    for (int i = 0; i < N; i++) {
        assert_int_equal(d[i].calls, 1);
        assert_int_equal(d[i].error, 0);
        json_t *j = received(i + 1);
        assert_non_null(j);
        json_decref(j);
    }
}

static void test_destroy_with_sends_in_flight_calls_every_callback_once(void **state)
{
    enum { N = 5 };
    const char *rcpt[] = {"slow@example.test"};
    done d[N];
    memset(d, 0, sizeof d);
    ncb = 0;
    for (int i = 0; i < N; i++)
        assert_int_equal(send_to(cli, rcpt, 1, plain_msg, strlen(plain_msg), 0, &d[i]), 0);
    uint64_t end = now_ms() + 300; /* far enough for RCPT to be waiting on the server */
    while (now_ms() < end)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(ncb, 0);
    smtp_client_destroy(cli);
    cli = NULL;
    assert_int_equal(ncb, N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(d[i].calls, 1);
        assert_int_equal(d[i].error, SMTP_CLIENT_ECANCELLED);
        assert_true(d[i].temporary);
        assert_int_equal(d[i].send_rc, SMTP_CLIENT_ECANCELLED);
    }
    /* Nothing more arrives while the handles close. */
    for (int i = 0; i < 50; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(ncb, N);
}

static void test_destroy_from_inside_a_callback(void **state)
{
    const char *slow[] = {"slow@example.test"};
    done first = {.destroy_in_cb = 1}, other = {0};
    ncb = 0;
    assert_int_equal(send_to(cli, one_rcpt, 1, plain_msg, strlen(plain_msg), 0, &first), 0);
    assert_int_equal(send_to(cli, slow, 1, plain_msg, strlen(plain_msg), 0, &other), 0);
    run_until(&ncb, 2, 10000);
    cli = NULL; /* destroyed by the first callback */
    assert_int_equal(first.calls, 1);
    assert_int_equal(first.error, 0);
    assert_int_equal(other.calls, 1);
    assert_int_equal(other.error, SMTP_CLIENT_ECANCELLED);
}

static void test_unusable_messages_and_configs_are_refused_at_once(void **state)
{
    done d = {0};
    const char *bad[][1] = {{""},
                            {"a b@example.test"},
                            {"a@example.test>\r\nRCPT TO:<x@y"},
                            {"<a@example.test>"},
                            {"a@example.test\n"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(send_to(cli, bad[i], 1, plain_msg, strlen(plain_msg), 0, &d),
                         SMTP_CLIENT_EINVAL);
    assert_int_equal(send_to(cli, one_rcpt, 0, plain_msg, strlen(plain_msg), 0, &d),
                     SMTP_CLIENT_EINVAL);
    assert_int_equal(send_to(cli, one_rcpt, 1, plain_msg, 0, 0, &d), SMTP_CLIENT_EINVAL);
    smtp_client_message m = {
        .mail_from = "x\r\n@y", .rcpt = one_rcpt, .nrcpt = 1, .data = "x", .len = 1};
    assert_int_equal(smtp_client_send(cli, &m, on_done, &d), SMTP_CLIENT_EINVAL);
    assert_int_equal(smtp_client_in_flight(cli), 0);
    assert_int_equal(d.calls, 0);

    smtp_client *c = (smtp_client *)1;
    smtp_client_config cfg = {.url = "http://127.0.0.1:25"};
    assert_int_equal(smtp_client_create(&c, &loop, &cfg), SMTP_CLIENT_EINVAL);
    assert_null(c);
    cfg.url = "smtp://127.0.0.1:25";
    cfg.username = "u";
    cfg.password = "p\r\nQUIT";
    assert_int_equal(smtp_client_create(&c, &loop, &cfg), SMTP_CLIENT_EINVAL);
    cfg.url = "smtps://127.0.0.1:465";
    cfg.password = "p";
    assert_int_equal(smtp_client_create(&c, &loop, &cfg), 0);
    smtp_client_destroy(c);
}

static void test_error_names_and_messages(void **state)
{
    assert_string_equal(smtp_client_error_name(0), "OK");
    assert_string_equal(smtp_client_error_name(SMTP_CLIENT_EREFUSED), "EREFUSED");
    assert_string_equal(smtp_client_error_name(SMTP_CLIENT_EINVAL), "EINVAL");
    assert_string_equal(smtp_client_error_name(-99), "UNKNOWN");
    assert_string_equal(smtp_client_error_message(SMTP_CLIENT_ETIMEDOUT),
                        "SMTP transaction timed out");
    assert_string_equal(smtp_client_error_message(0), "");
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mime_message_arrives_intact_with_every_recipient, up,
                                        down),
        cmocka_unit_test_setup_teardown(test_raw_message_passes_through_with_bare_lf_widened, up,
                                        down),
        cmocka_unit_test_setup_teardown(test_450_is_a_temporary_refusal, up, down),
        cmocka_unit_test_setup_teardown(test_550_is_a_permanent_refusal, up, down),
        cmocka_unit_test_setup_teardown(test_one_refused_recipient_fails_the_whole_message, up,
                                        down),
        cmocka_unit_test_setup_teardown(test_connection_refused_is_temporary, up, down),
        cmocka_unit_test_setup_teardown(test_silent_server_times_out_as_temporary, up, down),
        cmocka_unit_test_setup_teardown(test_starttls_required_but_not_offered, up, down),
        cmocka_unit_test_setup_teardown(test_sequential_sends_reuse_one_connection, up, down),
        cmocka_unit_test_setup_teardown(test_parallel_sends_all_arrive, up, down),
        cmocka_unit_test_setup_teardown(test_destroy_with_sends_in_flight_calls_every_callback_once,
                                        up, down),
        cmocka_unit_test_setup_teardown(test_destroy_from_inside_a_callback, up, down),
        cmocka_unit_test_setup_teardown(test_unusable_messages_and_configs_are_refused_at_once, up,
                                        down),
        cmocka_unit_test(test_error_names_and_messages),
    };
    return cmocka_run_group_tests(tests, start_server, stop_server);
}
