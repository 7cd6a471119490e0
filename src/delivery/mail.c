/* Outbound email: see mail.h.
 *
 * A planned mail is a delivery of kind "mail": its target is {"owner", "meta", "from",
 * "rcpt"}, its payload the message. An attempt hands it to the SMTP client; the reply
 * decides: accepted, refused for good, or tried again later (backoff from 1 s doubling up
 * to 5 min, until the mail is MAIL_MAX_AGE_MS old). Finished mail is removed in a fan-out
 * that its owner's outcome function may add to. */
#include "delivery/mail.h"

#include "common/alloc.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "delivery/delivery.h"
#include "net/smtp_client.h"
#include "delivery/record_log.h"

#include <stdlib.h>
#include <string.h>

#define MAX_OWNERS       8
#define FIRST_RETRY_MS   1000
#define MAX_RETRY_MS     (5 * 60 * 1000)
#define LOG_PAGE_DEFAULT 1000
#define LOG_PAGE_MAX     1000

typedef struct owner {
    const char *name;
    mailer_outcome_fn fn;
    void *arg;
} owner;

struct mailer {
    uv_loop_t *loop;
    store *store;
    sqs *sqs;
    smtp_client *smtp; /* NULL: log only */
    char *from, *account;
    delivery *deliveries;
    delivery_kind kind;
    owner owners[MAX_OWNERS];
    size_t nowners;
    int stopping;
};

/* One attempt of one mail. */
typedef struct attempt {
    mailer *m;
    delivery_job *job;
    json_t *target;
} attempt;

/* ---- planning ------------------------------------------------------------------------ */

int mailer_plan(mailer *m, fanout *f, const mail_msg *msg, char *err, size_t errlen)
{
    const char *from = msg->mail_from ? msg->mail_from : m->from;
    if (!smtp_mailbox_ok(from)) {
        snprintf(err, errlen, "The sender address is not usable: <%s>.", from ? from : "");
        return -1;
    }
    if (msg->nrcpt == 0) {
        snprintf(err, errlen, "A message needs at least one recipient.");
        return -1;
    }
    if (!msg->data || msg->len == 0) {
        snprintf(err, errlen, "The message is empty.");
        return -1;
    }
    json_t *rcpt = json_array();
    for (size_t i = 0; i < msg->nrcpt; i++) {
        if (!smtp_mailbox_ok(msg->rcpt[i])) {
            snprintf(err, errlen, "The recipient address is not usable: <%s>.", msg->rcpt[i]);
            json_decref(rcpt);
            return -1;
        }
        json_array_append_new(rcpt, json_string(msg->rcpt[i]));
    }
    json_t *target = json_pack("{s:s, s:O?, s:s, s:o}", "owner", msg->owner ? msg->owner : "",
                               "meta", msg->meta, "from", from, "rcpt", rcpt);
    fanout_delivery(f, "mail", target, msg->data, msg->len);
    json_decref(target);

    if (msg->record) {
        json_t *rec = json_deep_copy(msg->record);
        char ts[32];
        clock_iso8601_ms(fanout_now(f), ts);
        json_object_set_new(rec, "Timestamp", json_string(ts));
        json_object_set_new(rec, "Owner", json_string(msg->owner ? msg->owner : ""));
        json_object_set_new(rec, "RawData", json_stringn(msg->data, msg->len));
        char *text = json_dumps(rec, JSON_COMPACT);
        json_decref(rec);
        if (text) {
            fanout_archive(f, MAIL_LOG_ARCHIVE, text, strlen(text));
            free(text);
        }
    }
    return 0;
}

void mailer_poke(mailer *m)
{
    if (!m->stopping)
        delivery_poke(m->deliveries);
}

/* ---- outcomes ------------------------------------------------------------------------ */

void mailer_set_owner(mailer *m, const char *name, mailer_outcome_fn fn, void *arg)
{
    if (m->nowners < MAX_OWNERS)
        m->owners[m->nowners++] = (owner){name, fn, arg};
}

static const owner *owner_of(const mailer *m, const char *name)
{
    for (size_t i = 0; name && i < m->nowners; i++)
        if (strcmp(m->owners[i].name, name) == 0)
            return &m->owners[i];
    return NULL;
}

static void attempt_free(attempt *a)
{
    json_decref(a->target);
    xfree(a);
}

static void finished(fanout *f, int status, void *arg)
{
    (void)f;
    attempt *a = arg;
    if (status != 0)
        log_error("recording a mail's outcome failed: it is attempted again after a restart", NULL);
    delivery_job_release(a->job);
    attempt_free(a);
}

/* Removes the delivery and tells its owner, in one commit. */
static void finish(attempt *a, mail_result result, int code, const char *message)
{
    mailer *m = a->m;
    fanout *f = fanout_new(m->store, m->sqs, clock_now_ms(), m->account);
    fanout_op(f, delivery_job_finish_op(a->job));
    const char *name = json_string_value(json_object_get(a->target, "owner"));
    const owner *o = owner_of(m, name);
    if (result != MAIL_DELIVERED)
        log_warn("mail not delivered", "owner=%s result=%s code=%d err='%s'", name ? name : "",
                 result == MAIL_REJECTED ? "rejected" : "expired", code, message);
    if (o) {
        mail_outcome out = {
            .result = result,
            .smtp_code = code,
            .message = message,
            .meta = json_object_get(a->target, "meta"),
            .data = a->job->rec.payload,
            .len = a->job->rec.payload_len,
            .attempts = a->job->rec.attempts + 1,
        };
        o->fn(&out, f, o->arg);
    }
    fanout_commit(f, finished, a);
}

/* Backoff before the attempt after `attempts` failed ones. */
static int64_t retry_delay_ms(int attempts)
{
    int64_t d = FIRST_RETRY_MS;
    for (int i = 1; i < attempts && d < MAX_RETRY_MS; i++)
        d *= 2;
    return d < MAX_RETRY_MS ? d : MAX_RETRY_MS;
}

static void on_sent(const smtp_client_result *res, void *arg)
{
    attempt *a = arg;
    if (res->error == SMTP_CLIENT_ECANCELLED) { /* shutting down: due again at the next start */
        delivery_job_release(a->job);
        attempt_free(a);
        return;
    }
    if (res->error == 0) {
        finish(a, MAIL_DELIVERED, res->smtp_code, "");
        return;
    }
    if (!res->temporary) {
        finish(a, MAIL_REJECTED, res->smtp_code, res->error_message);
        return;
    }
    int64_t now = clock_now_ms();
    int64_t due = now + retry_delay_ms(a->job->rec.attempts + 1);
    if (due - a->job->rec.created_ms > MAIL_MAX_AGE_MS) {
        finish(a, MAIL_EXPIRED, res->smtp_code, res->error_message);
        return;
    }
    log_info("mail deferred", "code=%d err='%s' attempts=%d", res->smtp_code, res->error_message,
             a->job->rec.attempts + 1);
    delivery_job_retry(a->job, due, 1);
    attempt_free(a);
}

static void attempt_mail(delivery_job *job, void *arg)
{
    mailer *m = arg;
    if (m->stopping) {
        delivery_job_release(job);
        return;
    }
    attempt *a = xcalloc(1, sizeof *a);
    a->m = m;
    a->job = job;
    a->target = json_loads(job->rec.target_json, 0, NULL);
    if (!m->smtp) { /* no server configured: the mail log is all there is */
        finish(a, MAIL_DELIVERED, 0, "");
        return;
    }
    json_t *rcpt = json_object_get(a->target, "rcpt");
    size_t n = json_array_size(rcpt);
    const char **list = xcalloc(n ? n : 1, sizeof *list);
    for (size_t i = 0; i < n; i++)
        list[i] = json_string_value(json_array_get(rcpt, i));
    smtp_client_message msg = {
        .mail_from = json_string_value(json_object_get(a->target, "from")),
        .rcpt = list,
        .nrcpt = n,
        .data = job->rec.payload,
        .len = job->rec.payload_len,
    };
    int rc = smtp_client_send(m->smtp, &msg, on_sent, a);
    xfree(list);
    if (rc == SMTP_CLIENT_ECANCELLED) {
        delivery_job_release(job);
        attempt_free(a);
    } else if (rc != 0) { /* a stored mail that cannot be sent will never be */
        finish(a, MAIL_REJECTED, 0, smtp_client_error_message(rc));
    }
}

/* ---- the mail log -------------------------------------------------------------------- */

void mailer_handle_get(http_request *req, void *ctx)
{
    mailer *m = ctx;
    record_log_serve(req, m->store, MAIL_LOG_ARCHIVE, "messages");
}

/* ---- lifecycle ----------------------------------------------------------------------- */

const char *mailer_from(const mailer *m)
{
    return m->from;
}

int mailer_sends(const mailer *m)
{
    return m->smtp != NULL;
}

int mailer_create(mailer **out, uv_loop_t *loop, store *st, sqs *queues, const mailer_config *cfg,
                  char *err, size_t errlen)
{
    *out = NULL;
    if (cfg->from && *cfg->from && !smtp_mailbox_ok(cfg->from)) {
        snprintf(err, errlen, "smtp-from: not a usable address: '%s'", cfg->from);
        return -1;
    }
    mailer *m = xcalloc(1, sizeof *m);
    m->loop = loop;
    m->store = st;
    m->sqs = queues;
    m->from = xstrdup(cfg->from ? cfg->from : "");
    m->account = xstrdup(cfg->account ? cfg->account : "");
    if (cfg->smtp_url && *cfg->smtp_url) {
        const char *tls = cfg->starttls ? cfg->starttls : "try";
        smtp_client_config sc = {
            .url = cfg->smtp_url,
            .username = cfg->username && *cfg->username ? cfg->username : NULL,
            .password = cfg->password,
            .starttls = strcmp(tls, "off") == 0        ? SMTP_STARTTLS_NONE
                        : strcmp(tls, "required") == 0 ? SMTP_STARTTLS_REQUIRED
                                                       : SMTP_STARTTLS_TRY,
            .tls_no_verify = cfg->tls_no_verify,
        };
        int rc = smtp_client_create(&m->smtp, loop, &sc);
        if (rc != 0) {
            snprintf(err, errlen, "smtp-url: %s (expected smtp://HOST:PORT or smtps://HOST:PORT)",
                     smtp_client_error_message(rc));
            mailer_destroy(m);
            return -1;
        }
    }
    m->kind = (delivery_kind){"mail", attempt_mail, m, 0};
    if (delivery_create(&m->deliveries, loop, st, &m->kind) != 0) {
        snprintf(err, errlen, "cannot start the mail dispatcher");
        mailer_destroy(m);
        return -1;
    }
    *out = m;
    return 0;
}

void mailer_shutdown(mailer *m)
{
    if (!m || m->stopping)
        return;
    m->stopping = 1;
    delivery_stop(m->deliveries);
    smtp_client_destroy(m->smtp); /* cancels what is in flight: due again after a restart */
    m->smtp = NULL;
}

void mailer_destroy(mailer *m)
{
    if (!m)
        return;
    smtp_client_destroy(m->smtp);
    delivery_destroy(m->deliveries);
    xfree(m->from);
    xfree(m->account);
    xfree(m);
}
