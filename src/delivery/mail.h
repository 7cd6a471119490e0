/* Outbound email: the "mail" kind of durable delivery, shared by SNS email subscriptions
 * and SES.
 *
 * A service plans a mail inside its own fan-out (mailer_plan), so the mail is durable
 * together with whatever caused it (a Publish, a SendEmail) before the caller is answered.
 * The mailer's dispatcher then claims it and submits it through net/smtp_client to the
 * server of --smtp-url. A temporary failure (a 4xx reply, no connection, a timeout) is
 * retried with exponential backoff (1 s doubling up to 5 min) until the mail is
 * MAIL_MAX_AGE_MS old; a permanent one (a 5xx reply to this message) is not retried. Each
 * finished mail is reported to the service that planned it (its `owner`), with a fan-out
 * that already holds the removal of the delivery: what the owner adds to it (a dead-letter
 * message, a statistics document) commits together with that removal.
 *
 * Every planned mail is also written to the mail log (an archive in the store, written in
 * the same transaction), which GET /_sluice/ses/messages returns, so tests and developers
 * can see what went out. Without --smtp-url nothing is sent: mail is logged and reported
 * as delivered.
 *
 * Everything runs on the loop's thread. */
#ifndef SLUICE_DELIVERY_MAIL_H
#define SLUICE_DELIVERY_MAIL_H

#include "delivery/fanout.h"
#include "net/http_server.h"
#include "services/sqs/sqs.h"
#include "store/store.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define MAIL_MAX_AGE_MS (12LL * 3600 * 1000)
/* The archive holding the mail log (a name EventBridge archives cannot have). */
#define MAIL_LOG_ARCHIVE "sluice:mail"
/* The path of the mail log (GET, paged as src/delivery/record_log.h says). */
#define MAIL_LOG_PATH "/_sluice/ses/messages"

typedef struct mailer mailer;

typedef struct mailer_config {
    const char *smtp_url; /* smtp://HOST:PORT or smtps://...; NULL or "": log only */
    const char *from;     /* envelope sender when a mail names none, and SNS's From */
    const char *username; /* NULL: no AUTH */
    const char *password; /* NULL: none */
    const char *starttls; /* "off", "try" (default when NULL) or "required" */
    int tls_no_verify;    /* accept any server certificate (test servers only) */
    const char *account;  /* SenderId of dead-letter messages owners send */
} mailer_config;

/* Creates the mailer: its SMTP client (if a URL is configured) and its dispatcher.
 * Returns 0, or -1 with a message in err (an unusable SMTP URL or setting). Borrows loop,
 * st and queues; copies cfg. */
int mailer_create(mailer **out, uv_loop_t *loop, store *st, sqs *queues, const mailer_config *cfg,
                  char *err, size_t errlen);
/* The configured sender address ("" if none). */
const char *mailer_from(const mailer *m);
/* Whether mail is actually sent (an SMTP URL is configured). */
int mailer_sends(const mailer *m);

/* ---- planning ---------------------------------------------------------------------- */

typedef struct mail_msg {
    const char *owner;       /* who is told the outcome: "ses", "sns" (see mailer_set_owner) */
    const json_t *meta;      /* the owner's data, handed back with the outcome (copied) */
    const char *mail_from;   /* envelope sender (bare address); NULL: the configured from */
    const char *const *rcpt; /* envelope recipients (bare addresses): To, Cc, Bcc */
    size_t nrcpt;
    const char *data; /* the whole message, headers and body, CRLF or LF line ends */
    size_t len;
    /* The mail log's record of this mail (copied), conventionally {"Id", "Source",
     * "Destination": {"ToAddresses", "CcAddresses", "BccAddresses"}, "Subject", "Body":
     * {"text_part", "html_part"}, "Template", "TemplateData", ...}: the mailer adds
     * "Timestamp", "Owner" and "RawData" (the message). NULL: not logged. */
    const json_t *record;
} mail_msg;

/* Adds the delivery of one mail (and its log record) to the caller's fan-out. Returns 0,
 * or -1 with a reason in err: no recipient, an unusable address, an empty message. After
 * the fan-out committed, call mailer_poke. */
int mailer_plan(mailer *m, fanout *f, const mail_msg *msg, char *err, size_t errlen);
/* New mail was committed: send the due ones now. */
void mailer_poke(mailer *m);

/* ---- outcomes ---------------------------------------------------------------------- */

typedef enum {
    MAIL_DELIVERED, /* the server accepted it (or, without --smtp-url, it was logged) */
    MAIL_REJECTED,  /* the server refused it for good (5xx) */
    MAIL_EXPIRED,   /* temporary failures until it was MAIL_MAX_AGE_MS old */
} mail_result;

typedef struct mail_outcome {
    mail_result result;
    int smtp_code;       /* the server's last reply code, 0 if none */
    const char *message; /* "" when delivered; else the failure in words */
    const json_t *meta;  /* mail_msg.meta as planned */
    const char *data;    /* the message as planned */
    size_t len;
    int attempts; /* attempts made, this one included */
} mail_outcome;

/* Called once per finished mail of `owner`, on the loop thread. f already holds the
 * removal of the delivery and is committed by the mailer after fn returns; fn must not
 * commit or discard it. */
typedef void (*mailer_outcome_fn)(const mail_outcome *o, fanout *f, void *arg);
/* Registers an owner (name borrowed: a string literal). Mail of an unregistered owner is
 * still sent; its outcome is only logged. At most 8 owners. */
void mailer_set_owner(mailer *m, const char *owner, mailer_outcome_fn fn, void *arg);

/* ---- the mail log ------------------------------------------------------------------ */

/* GET handler for MAIL_LOG_PATH (ctx: the mailer): {"messages": [record, ...], "next"}. */
void mailer_handle_get(http_request *req, void *ctx);

/* Stops claiming (sends in flight finish or are cancelled and run again after a restart). */
void mailer_shutdown(mailer *m);
/* After the store closed. Accepts NULL. */
void mailer_destroy(mailer *m);

#endif
