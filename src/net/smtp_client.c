/* SMTP client: one libcurl smtp/smtps upload per message, on net/curl_loop.
 *
 * libcurl runs the SMTP dialogue (EHLO, STARTTLS, AUTH, MAIL FROM, RCPT TO per
 * recipient, DATA with dot-stuffing, the final reply) and keeps connections in the multi
 * handle's cache, so consecutive messages to the same server reuse one connection and skip
 * the greeting, EHLO and AUTH. The per-host connection limit (CURLMOPT_MAX_HOST_CONNECTIONS)
 * keeps many parallel sends from opening more connections than SMTP servers tolerate from
 * one client; the rest wait inside libcurl.
 *
 * Classification of failures: libcurl records the last SMTP reply code it read
 * (CURLINFO_RESPONSE_CODE) before failing a command, so a 4xx/5xx code at the end of a
 * failed transfer is the server's refusal of this message; without one the failure was
 * the connection's. Only a 5xx refusal is permanent (RFC 5321 4.2.1: the same transaction
 * will fail again), except during AUTH, where it is about the credentials, not the message.
 *
 * Per message (xfer): the copied message with bare LFs widened to CRLF (libcurl's own
 * CURLOPT_CRLF would also widen the CRLFs that are already there), its read offset, and
 * the recipient list. Callbacks run only from curl_loop's done function and from destroy,
 * never inside smtp_client_send nor inside libcurl; nothing touches the client after a
 * callback returns, so a callback may destroy it. */
#include "net/smtp_client.h"

#include "common/alloc.h"
#include "common/err_table.h"
#include "common/buf.h"
#include "net/curl_loop.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

typedef struct xfer {
    smtp_client_result res; /* first: what the callback gets */
    struct smtp_client *c;
    CURL *easy;
    struct xfer *prev, *next; /* the client's in-flight list */
    smtp_client_done_fn fn;
    void *arg;
    struct curl_slist *rcpt;
    char *data;
    size_t len, off;
    char errbuf[CURL_ERROR_SIZE];
} xfer;

struct smtp_client {
    curl_loop *cl;
    char *url, *username, *password;
    smtp_starttls starttls;
    int tls_no_verify;
    long timeout_ms, connect_timeout_ms;
    xfer *flight;
    size_t nflight;
    int closing;
};

/* ---------------------------------------------------------------------------------------
 * Error codes
 * --------------------------------------------------------------------------------------- */

static const err_row errors[] = {SMTP_CLIENT_ERRORS(ERR_ROW)};
#define NERRORS (sizeof errors / sizeof errors[0])

const char *smtp_client_error_name(int code)
{
    return err_table_name(errors, NERRORS, code);
}

const char *smtp_client_error_message(int code)
{
    return err_table_message(errors, NERRORS, code);
}

/* ---------------------------------------------------------------------------------------
 * Completion
 * --------------------------------------------------------------------------------------- */

static void xfer_free(xfer *x)
{
    curl_slist_free_all(x->rcpt);
    xfree(x->data);
    xfree(x);
}

/* Sets error and temporary from libcurl's result and the last reply code. */
static void classify(smtp_client_result *res, CURLcode rc, long code)
{
    res->temporary = 1;
    switch (rc) {
    case CURLE_OK:
        res->error = 0;
        res->temporary = 0;
        return;
    case CURLE_OPERATION_TIMEDOUT:
        res->error = SMTP_CLIENT_ETIMEDOUT;
        return;
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
        res->error = SMTP_CLIENT_ECONNECT;
        return;
    case CURLE_LOGIN_DENIED:
    case CURLE_AUTH_ERROR:
        res->error = SMTP_CLIENT_EAUTH;
        return;
    case CURLE_USE_SSL_FAILED:
        res->error = SMTP_CLIENT_ETLS;
        return;
    default:
        break;
    }
    if (code >= 400 && code <= 599) {
        res->error = SMTP_CLIENT_EREFUSED;
        res->temporary = code < 500;
        return;
    }
    res->error = SMTP_CLIENT_EOTHER;
}

/* Takes x out of the client (and its easy handle out of libcurl), runs the callback, frees
 * x. `rc` is libcurl's result, ignored when `cancelled`. */
static void finish(xfer *x, CURLcode rc, int cancelled)
{
    smtp_client *c = x->c;
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

    smtp_client_result *res = &x->res;
    res->smtp_code = code >= 100 && code <= 999 ? (int)code : 0;
    if (cancelled) {
        res->error = SMTP_CLIENT_ECANCELLED;
        res->temporary = 1;
        res->error_message = smtp_client_error_message(SMTP_CLIENT_ECANCELLED);
    } else {
        classify(res, rc, code);
        res->error_message = res->error == 0 ? ""
                             : x->errbuf[0]  ? x->errbuf
                                             : curl_easy_strerror(rc);
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

static size_t on_read(char *p, size_t size, size_t n, void *ud)
{
    xfer *x = ud;
    size_t k = size * n, left = x->len - x->off;
    if (k > left)
        k = left;
    memcpy(p, x->data + x->off, k);
    x->off += k;
    return k;
}

/* ---------------------------------------------------------------------------------------
 * Sending
 * --------------------------------------------------------------------------------------- */

/* A bare mailbox as libcurl puts it between angle brackets: no white space, controls or
 * brackets that would end the command or the path early. */
int smtp_mailbox_ok(const char *s)
{
    if (!s || !*s)
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p == 0x7f || *p == '<' || *p == '>')
            return 0;
    return 1;
}

/* Copies the message, sending each bare LF as CRLF. */
static void copy_crlf(xfer *x, const char *s, size_t n)
{
    buf b = BUF_INIT;
    buf_reserve(&b, n + n / 32 + 2);
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\n' || (i > 0 && s[i - 1] == '\r'))
            continue;
        buf_append(&b, s + start, i - start);
        buf_puts(&b, "\r\n");
        start = i + 1;
    }
    buf_append(&b, s + start, n - start);
    x->data = buf_steal(&b, &x->len);
}

#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (curl_easy_setopt(x->easy, opt, val) != CURLE_OK)                                       \
            goto fail;                                                                             \
    } while (0)

int smtp_client_send(smtp_client *c, const smtp_client_message *msg, smtp_client_done_fn fn,
                     void *arg)
{
    if (c->closing)
        return SMTP_CLIENT_ECANCELLED;
    if (!msg || !fn || !smtp_mailbox_ok(msg->mail_from) || msg->nrcpt == 0 || !msg->rcpt ||
        !msg->data || msg->len == 0 || msg->timeout_ms < 0)
        return SMTP_CLIENT_EINVAL;
    for (size_t i = 0; i < msg->nrcpt; i++)
        if (!smtp_mailbox_ok(msg->rcpt[i]))
            return SMTP_CLIENT_EINVAL;

    int rc = SMTP_CLIENT_EOTHER;
    xfer *x = xcalloc(1, sizeof *x);
    x->c = c;
    x->fn = fn;
    x->arg = arg;
    for (size_t i = 0; i < msg->nrcpt; i++) {
        struct curl_slist *l = curl_slist_append(x->rcpt, msg->rcpt[i]);
        if (!l)
            goto fail;
        x->rcpt = l;
    }
    copy_crlf(x, msg->data, msg->len);
    x->easy = curl_easy_init();
    if (!x->easy)
        goto fail;

    SET(CURLOPT_PRIVATE, x);
    SET(CURLOPT_URL, c->url);
    SET(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    SET(CURLOPT_NOSIGNAL, 1L);
    /* A transfer ended while its name is being resolved would otherwise join the resolver
     * thread, stalling the loop until getaddrinfo returns; this detaches it instead. */
    SET(CURLOPT_QUICK_EXIT, 1L);
    SET(CURLOPT_TIMEOUT_MS, msg->timeout_ms ? msg->timeout_ms : c->timeout_ms);
    SET(CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    SET(CURLOPT_ERRORBUFFER, x->errbuf);
    SET(CURLOPT_SHARE, curl_loop_share(c->cl));
    SET(CURLOPT_MAIL_FROM, msg->mail_from);
    SET(CURLOPT_MAIL_RCPT, x->rcpt);
    SET(CURLOPT_UPLOAD, 1L);
    SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)x->len);
    SET(CURLOPT_READFUNCTION, on_read);
    SET(CURLOPT_READDATA, x);
    if (c->starttls != SMTP_STARTTLS_NONE)
        SET(CURLOPT_USE_SSL,
            c->starttls == SMTP_STARTTLS_REQUIRED ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_TRY);
    if (c->tls_no_verify) {
        SET(CURLOPT_SSL_VERIFYPEER, 0L);
        SET(CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (c->username) {
        SET(CURLOPT_USERNAME, c->username);
        SET(CURLOPT_PASSWORD, c->password ? c->password : "");
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

size_t smtp_client_in_flight(const smtp_client *c)
{
    return c->nflight;
}

/* ---------------------------------------------------------------------------------------
 * Create and destroy
 * --------------------------------------------------------------------------------------- */

static int url_ok(const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL;
    int ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
             curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
             (strcmp(scheme, "smtp") == 0 || strcmp(scheme, "smtps") == 0);
    curl_free(scheme);
    curl_url_cleanup(u);
    return ok;
}

static void client_free(smtp_client *c)
{
    xfree(c->url);
    xfree(c->username);
    xfree(c->password);
    xfree(c);
}

int smtp_client_create(smtp_client **out, uv_loop_t *loop, const smtp_client_config *cfg)
{
    *out = NULL;
    if (!cfg || !cfg->url || (cfg->username && strpbrk(cfg->username, "\r\n")) ||
        (cfg->password && strpbrk(cfg->password, "\r\n")) || cfg->timeout_ms < 0 ||
        cfg->connect_timeout_ms < 0 || cfg->max_connections < 0 ||
        cfg->starttls > SMTP_STARTTLS_REQUIRED)
        return SMTP_CLIENT_EINVAL;
    if (curl_loop_global_init() != 0)
        return SMTP_CLIENT_EOTHER;
    if (!url_ok(cfg->url))
        return SMTP_CLIENT_EINVAL;
    smtp_client *c = xcalloc(1, sizeof *c);
    c->url = xstrdup(cfg->url);
    c->username = cfg->username ? xstrdup(cfg->username) : NULL;
    c->password = cfg->password ? xstrdup(cfg->password) : NULL;
    c->starttls = cfg->starttls;
    c->tls_no_verify = cfg->tls_no_verify;
    c->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : SMTP_CLIENT_DEFAULT_TIMEOUT_MS;
    c->connect_timeout_ms =
        cfg->connect_timeout_ms ? cfg->connect_timeout_ms : SMTP_CLIENT_DEFAULT_CONNECT_TIMEOUT_MS;
    if (curl_loop_create(&c->cl, loop, on_easy_done, c) != 0) {
        client_free(c);
        return SMTP_CLIENT_EOTHER;
    }
    long maxc = cfg->max_connections ? cfg->max_connections : SMTP_CLIENT_DEFAULT_MAX_CONNECTIONS;
    curl_multi_setopt(curl_loop_multi(c->cl), CURLMOPT_MAX_HOST_CONNECTIONS, maxc);
    *out = c;
    return 0;
}

void smtp_client_destroy(smtp_client *c)
{
    if (!c || c->closing)
        return;
    c->closing = 1;
    if (c->flight) {
        /* Taking an unfinished SMTP transfer out of libcurl would run its end of the
         * DATA phase, which waits for the server's reply with a blocking wait of up to a
         * minute. An expired transfer timeout makes that wait return at once and closes
         * the connection instead: every transfer gets a 1 ms budget, which they have all
         * spent once a millisecond has passed. */
        for (xfer *x = c->flight; x; x = x->next)
            curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, 1L);
        uv_sleep(2);
    }
    while (c->flight)
        finish(c->flight, CURLE_OK, 1);
    curl_loop_destroy(c->cl);
    client_free(c);
}
