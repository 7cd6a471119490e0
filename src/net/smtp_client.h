/* Asynchronous SMTP submission on a libuv loop (libcurl's smtp/smtps over net/curl_loop).
 *
 * SNS email subscriptions and SES hand finished messages (common/mime.h, or a caller's raw
 * message) to one smtp_client per loop, configured with the server from --smtp-url; the
 * loop never blocks on the network or DNS. Connections to the server are kept open and
 * reused for later messages. Each message is one SMTP transaction: MAIL FROM, one RCPT TO
 * per envelope recipient (To, Cc and Bcc alike), DATA; libcurl does the dot-stuffing.
 *
 * A failed send says whether it is worth retrying: `temporary` is 0 only when the server
 * refused this message with a 5xx reply (at MAIL, RCPT or DATA), which the caller
 * dead-letters; 4xx replies, connection failures, timeouts, TLS and authentication
 * problems (the server's or our configuration's, not the message's) are temporary.
 *
 * Everything here runs on the loop's thread: create, send, destroy and the callbacks. */
#ifndef SLUICE_NET_SMTP_CLIENT_H
#define SLUICE_NET_SMTP_CLIENT_H

#include <stddef.h>
#include <uv.h>

/* Error codes, one row each: X(NAME, value, message). A send's outcome is one of:
 *   0           the server accepted the message for delivery (250 after DATA)
 *   EREFUSED    the server answered a command with 4xx or 5xx: see smtp_code/temporary
 *   ECONNECT    no connection (DNS, TCP connect, TLS handshake, greeting): not delivered
 *   ETIMEDOUT   the transaction did not finish within timeout_ms
 *   EAUTH       the server refused our credentials, or wants some we were not given
 *   ETLS        STARTTLS was required and the server does not offer it
 *   ECANCELLED  smtp_client_destroy ran while the message was in flight
 *   EOTHER      anything else (connection lost, malformed reply)
 *   EINVAL      only returned by smtp_client_send/create: unusable message or config */
#define SMTP_CLIENT_ERRORS(X)                                                                      \
    X(ETIMEDOUT, -1, "SMTP transaction timed out")                                                 \
    X(ECONNECT, -2, "could not connect to the SMTP server")                                        \
    X(ECANCELLED, -3, "send cancelled")                                                            \
    X(EREFUSED, -4, "the SMTP server refused the message")                                         \
    X(EAUTH, -5, "SMTP authentication failed")                                                     \
    X(ETLS, -6, "the SMTP server does not offer STARTTLS")                                         \
    X(EOTHER, -7, "SMTP transfer failed")                                                          \
    X(EINVAL, -8, "invalid message or configuration")

enum {
#define SMTP_CLIENT_ERROR_ENUM(name, value, msg) SMTP_CLIENT_##name = value,
    SMTP_CLIENT_ERRORS(SMTP_CLIENT_ERROR_ENUM)
#undef SMTP_CLIENT_ERROR_ENUM
};

/* "ETIMEDOUT", ... ("OK" for 0, "UNKNOWN" for other values). Static strings. */
const char *smtp_client_error_name(int code);
/* "SMTP transaction timed out", ... Static strings. */
const char *smtp_client_error_message(int code);

typedef struct smtp_client smtp_client;

#define SMTP_CLIENT_DEFAULT_TIMEOUT_MS         30000
#define SMTP_CLIENT_DEFAULT_CONNECT_TIMEOUT_MS 10000
#define SMTP_CLIENT_DEFAULT_MAX_CONNECTIONS    8

typedef enum {
    SMTP_STARTTLS_NONE = 0, /* plain smtp:// (smtps:// is TLS from the first byte anyway) */
    SMTP_STARTTLS_TRY,      /* upgrade when the server offers STARTTLS */
    SMTP_STARTTLS_REQUIRED  /* fail with ETLS when it does not */
} smtp_starttls;

typedef struct smtp_client_config {
    /* smtp://HOST[:PORT][/EHLO-NAME] or smtps://...; copied. */
    const char *url;
    const char *username; /* NULL: no AUTH; copied */
    const char *password; /* copied */
    smtp_starttls starttls;
    int tls_no_verify;       /* accept any server certificate (test servers only) */
    long timeout_ms;         /* per message; 0 = SMTP_CLIENT_DEFAULT_TIMEOUT_MS */
    long connect_timeout_ms; /* 0 = SMTP_CLIENT_DEFAULT_CONNECT_TIMEOUT_MS */
    /* Connections open at once; more messages wait in line for one. 0 = the default. */
    long max_connections;
} smtp_client_config;

typedef struct smtp_client_message {
    /* Envelope sender (MAIL FROM), a bare address "local@domain"; copied. Bounces go here. */
    const char *mail_from;
    /* Envelope recipients (RCPT TO), bare addresses: To, Cc and Bcc together; copied. At
     * least one. A single refused recipient fails the whole message (EREFUSED with its
     * reply code): nothing is sent to the others. */
    const char *const *rcpt;
    size_t nrcpt;
    /* The message (headers, blank line, body) as sent after DATA; copied. Bare LF line ends
     * are sent as CRLF; everything else is passed through untouched. */
    const char *data;
    size_t len;
    long timeout_ms; /* 0 = the client's */
} smtp_client_message;

typedef struct smtp_client_result {
    int error; /* 0 or a negative SMTP_CLIENT_E* code */
    /* The server's last reply code (250 on success; the refusing reply on EREFUSED), 0 if
     * none arrived. */
    int smtp_code;
    int temporary;             /* when error is not 0: 1 if sending again later may work */
    const char *error_message; /* "" when error is 0; else curl's words or ours. Borrowed:
                                  valid during the callback */
} smtp_client_result;

/* Called exactly once per message that smtp_client_send accepted, on the loop thread. */
typedef void (*smtp_client_done_fn)(const smtp_client_result *res, void *arg);

/* Creates a client on `loop` (borrowed; it must outlive the client); cfg is copied.
 * Returns 0, SMTP_CLIENT_EINVAL for an unusable config (URL not smtp:// or smtps://, a CR
 * or LF in the credentials), or SMTP_CLIENT_EOTHER if libcurl cannot be initialised; on
 * error *out is NULL. */
int smtp_client_create(smtp_client **out, uv_loop_t *loop, const smtp_client_config *cfg);

/* Starts sending a message; everything in msg is copied. fn is called exactly once, on the
 * loop thread, later: never from inside this call. Returns 0, or a negative code and then
 * never calls fn: SMTP_CLIENT_EINVAL for an unusable message (no recipient; an address
 * empty or with white space, control characters or angle brackets; no data),
 * SMTP_CLIENT_ECANCELLED when the client is being destroyed, SMTP_CLIENT_EOTHER if libcurl
 * refuses the transfer. `arg` is passed to fn untouched. */
int smtp_client_send(smtp_client *c, const smtp_client_message *msg, smtp_client_done_fn fn,
                     void *arg);

/* Whether `addr` can be an envelope address (MAIL FROM, RCPT TO) as given to
 * smtp_client_send: not empty, no white space, control characters or angle brackets. */
int smtp_mailbox_ok(const char *addr);

/* Messages accepted and not yet completed (their callbacks not yet called). */
size_t smtp_client_in_flight(const smtp_client *c);

/* Cancels everything in flight: each callback runs now, inside this call, with
 * SMTP_CLIENT_ECANCELLED (temporary); sends made from those callbacks are refused. Then
 * closes the connections and the libuv handles; some memory is freed once the handles
 * have closed, so the loop must run again afterwards. May be called from inside a
 * callback. Accepts NULL. */
void smtp_client_destroy(smtp_client *c);

#endif
