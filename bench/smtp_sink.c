/* sluice-smtp-sink: the SMTP server of `make bench`'s ses-send row. It accepts every mail
 * and keeps nothing but counts.
 *
 *   sluice-smtp-sink [--bind ADDR] --port PORT
 *
 * One libuv loop; per connection a line reader and the SMTP state machine of RFC 5321's
 * minimum: a 220 greeting, EHLO (advertising PIPELINING, 8BITMIME and SIZE) or HELO, MAIL,
 * RCPT, DATA up to the line ".", RSET, NOOP, QUIT. Pipelined commands are answered in
 * order, as they are read. A mail is counted when its final "." is read, then answered 250.
 *
 * Counts: messages, bytes of DATA, sessions, and the mails' identities: a mail whose
 * Subject header is "sluice-bench <N>" (what sluice-loadgen ses-send sends) marks N in a
 * bitmap, so the sink tells distinct mails from duplicates. Asked by the non-standard
 * command XSTAT (on any connection, any time), it answers one line
 *   250 messages=M distinct=D duplicates=U bytes=B sessions=S
 * and on SIGTERM or SIGINT it prints the same figures as a JSON line on stdout and exits. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

#define MAX_LINE        (1 << 20) /* longer lines end the session */
#define ADVERTISED_SIZE 52428800  /* the SIZE limit EHLO announces */

typedef enum { S_COMMAND, S_DATA } sink_state;

typedef struct session {
    uv_tcp_t tcp;
    sink_state state;
    int have_from; /* MAIL seen */
    int rcpts;
    int in_headers; /* DATA: before the blank line ending the header */
    int64_t subject_seq;
    uint64_t data_bytes;
    char *line; /* the partial line being read */
    size_t line_len;
    char rbuf[65536];
} session;

static struct {
    uint64_t messages, distinct, duplicates, bytes, sessions;
    uint8_t *seen; /* bitmap of subject sequence numbers */
    size_t seen_bytes;
} stats;

static uv_loop_t *loop;

/* ---------------------------------------------------------------- counting */

static void mark_seq(int64_t seq)
{
    if (seq < 0)
        return;
    size_t byte = (size_t)seq / 8;
    if (byte >= stats.seen_bytes) {
        size_t n = stats.seen_bytes ? stats.seen_bytes : 4096;
        while (n <= byte)
            n *= 2;
        uint8_t *p = realloc(stats.seen, n);
        if (!p) {
            fputs("sluice-smtp-sink: out of memory\n", stderr);
            exit(1);
        }
        memset(p + stats.seen_bytes, 0, n - stats.seen_bytes);
        stats.seen = p;
        stats.seen_bytes = n;
    }
    uint8_t bit = (uint8_t)(1u << (seq % 8));
    if (stats.seen[byte] & bit) {
        stats.duplicates++;
    } else {
        stats.seen[byte] |= bit;
        stats.distinct++;
    }
}

static void print_stats(void)
{
    printf("{\"messages\":%" PRIu64 ",\"distinct\":%" PRIu64 ",\"duplicates\":%" PRIu64
           ",\"bytes\":%" PRIu64 ",\"sessions\":%" PRIu64 "}\n",
           stats.messages, stats.distinct, stats.duplicates, stats.bytes, stats.sessions);
    fflush(stdout);
}

/* ---------------------------------------------------------------- replies */

typedef struct wreq {
    uv_write_t w;
    char data[];
} wreq;

static void on_written(uv_write_t *w, int status)
{
    free(w);
}

static void on_closed(uv_handle_t *h)
{
    session *s = h->data;
    free(s->line);
    free(s);
}

static void end_session(session *s)
{
    if (!uv_is_closing((uv_handle_t *)&s->tcp))
        uv_close((uv_handle_t *)&s->tcp, on_closed);
}

static void reply(session *s, const char *text)
{
    size_t len = strlen(text);
    uv_buf_t b = uv_buf_init((char *)text, (unsigned)len);
    int n = uv_try_write((uv_stream_t *)&s->tcp, &b, 1);
    if (n == (int)len)
        return;
    if (n < 0 && n != UV_EAGAIN) {
        end_session(s);
        return;
    }
    size_t done = n > 0 ? (size_t)n : 0;
    wreq *w = malloc(sizeof *w + len - done);
    if (!w) {
        end_session(s);
        return;
    }
    memcpy(w->data, text + done, len - done);
    b = uv_buf_init(w->data, (unsigned)(len - done));
    if (uv_write(&w->w, (uv_stream_t *)&s->tcp, &b, 1, on_written) != 0) {
        free(w);
        end_session(s);
    }
}

/* ---------------------------------------------------------------- the state machine */

static int verb_is(const char *line, const char *verb)
{
    size_t n = strlen(verb);
    return strncasecmp(line, verb, n) == 0 && (line[n] == 0 || line[n] == ' ' || line[n] == ':');
}

static void reset_mail(session *s)
{
    s->have_from = 0;
    s->rcpts = 0;
}

static void on_command(session *s, const char *line)
{
    char out[256];
    if (verb_is(line, "EHLO")) {
        reset_mail(s);
        snprintf(out, sizeof out,
                 "250-sluice-smtp-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE %d\r\n",
                 ADVERTISED_SIZE);
        reply(s, out);
    } else if (verb_is(line, "HELO")) {
        reset_mail(s);
        reply(s, "250 sluice-smtp-sink\r\n");
    } else if (verb_is(line, "MAIL")) {
        reset_mail(s);
        s->have_from = 1;
        reply(s, "250 2.1.0 OK\r\n");
    } else if (verb_is(line, "RCPT")) {
        if (!s->have_from) {
            reply(s, "503 5.5.1 MAIL first\r\n");
            return;
        }
        s->rcpts++;
        reply(s, "250 2.1.5 OK\r\n");
    } else if (verb_is(line, "DATA")) {
        if (!s->rcpts) {
            reply(s, "503 5.5.1 RCPT first\r\n");
            return;
        }
        s->state = S_DATA;
        s->in_headers = 1;
        s->subject_seq = -1;
        s->data_bytes = 0;
        reply(s, "354 End data with <CR><LF>.<CR><LF>\r\n");
    } else if (verb_is(line, "RSET")) {
        reset_mail(s);
        reply(s, "250 2.0.0 OK\r\n");
    } else if (verb_is(line, "NOOP")) {
        reply(s, "250 2.0.0 OK\r\n");
    } else if (verb_is(line, "QUIT")) {
        reply(s, "221 2.0.0 Bye\r\n");
        end_session(s);
    } else if (verb_is(line, "XSTAT")) {
        snprintf(out, sizeof out,
                 "250 messages=%" PRIu64 " distinct=%" PRIu64 " duplicates=%" PRIu64
                 " bytes=%" PRIu64 " sessions=%" PRIu64 "\r\n",
                 stats.messages, stats.distinct, stats.duplicates, stats.bytes, stats.sessions);
        reply(s, out);
    } else {
        reply(s, "502 5.5.2 Command not recognized\r\n");
    }
}

static void on_data_line(session *s, const char *line, size_t len)
{
    if (len == 1 && line[0] == '.') {
        stats.messages++;
        stats.bytes += s->data_bytes;
        mark_seq(s->subject_seq);
        s->state = S_COMMAND;
        reset_mail(s);
        reply(s, "250 2.0.0 OK queued\r\n");
        return;
    }
    s->data_bytes += len + 2;
    if (!s->in_headers)
        return;
    if (len == 0) {
        s->in_headers = 0;
        return;
    }
    static const char subject[] = "Subject: sluice-bench ";
    if (len > sizeof subject - 1 && strncasecmp(line, subject, sizeof subject - 1) == 0)
        s->subject_seq = strtoll(line + sizeof subject - 1, NULL, 10);
}

/* One line without its CRLF (or bare LF). */
static void on_line(session *s, char *line, size_t len)
{
    if (len > 0 && line[len - 1] == '\r')
        line[--len] = 0;
    if (s->state == S_DATA)
        on_data_line(s, line, len);
    else
        on_command(s, line);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *out)
{
    session *s = h->data;
    *out = uv_buf_init(s->rbuf, sizeof s->rbuf);
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    session *s = st->data;
    if (n < 0) {
        end_session(s);
        return;
    }
    const char *p = b->base, *end = b->base + n;
    while (p < end && !uv_is_closing((uv_handle_t *)&s->tcp)) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t take = (size_t)((nl ? nl : end) - p);
        if (s->line_len + take >= MAX_LINE) {
            reply(s, "500 5.5.6 Line too long\r\n");
            end_session(s);
            return;
        }
        char *grown = realloc(s->line, s->line_len + take + 1);
        if (!grown) {
            end_session(s);
            return;
        }
        s->line = grown;
        memcpy(s->line + s->line_len, p, take);
        s->line_len += take;
        s->line[s->line_len] = 0;
        if (!nl)
            break;
        on_line(s, s->line, s->line_len);
        s->line_len = 0;
        p = nl + 1;
    }
}

static void on_connection(uv_stream_t *srv, int status)
{
    if (status < 0)
        return;
    session *s = calloc(1, sizeof *s);
    if (!s)
        return;
    uv_tcp_init(loop, &s->tcp);
    s->tcp.data = s;
    if (uv_accept(srv, (uv_stream_t *)&s->tcp) != 0) {
        end_session(s);
        return;
    }
    stats.sessions++;
    uv_tcp_nodelay(&s->tcp, 1);
    reply(s, "220 sluice-smtp-sink ESMTP\r\n");
    uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_read);
}

static void on_signal(uv_signal_t *sig, int signum)
{
    print_stats();
    exit(0);
}

int main(int argc, char **argv)
{
    const char *bind = "127.0.0.1";
    int port = 0;
    static const struct option opts[] = {
        {"bind", required_argument, 0, 'b'}, {"port", required_argument, 0, 'p'}, {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (o == 'b')
            bind = optarg;
        else if (o == 'p')
            port = atoi(optarg);
        else {
            fputs("usage: sluice-smtp-sink [--bind ADDR] --port PORT\n", stderr);
            return 2;
        }
    }
    if (port <= 0 || port > 65535) {
        fputs("usage: sluice-smtp-sink [--bind ADDR] --port PORT\n", stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    loop = uv_default_loop();
    uv_tcp_t srv;
    struct sockaddr_in sa;
    uv_tcp_init(loop, &srv);
    int r = uv_ip4_addr(bind, port, &sa);
    if (r == 0)
        r = uv_tcp_bind(&srv, (const struct sockaddr *)&sa, 0);
    if (r == 0)
        r = uv_listen((uv_stream_t *)&srv, 1024, on_connection);
    if (r != 0) {
        fprintf(stderr, "sluice-smtp-sink: cannot listen on %s:%d: %s\n", bind, port,
                uv_strerror(r));
        return 1;
    }
    uv_signal_t term, intr;
    uv_signal_init(loop, &term);
    uv_signal_start(&term, on_signal, SIGTERM);
    uv_signal_init(loop, &intr);
    uv_signal_start(&intr, on_signal, SIGINT);
    fprintf(stderr, "sluice-smtp-sink: listening on %s:%d\n", bind, port);
    return uv_run(loop, UV_RUN_DEFAULT);
}
