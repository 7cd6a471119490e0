/* Sending: the protocol-independent core of SendEmail, SendRawEmail, SendTemplatedEmail and
 * SendBulkTemplatedEmail (and of SES v2's SendEmail).
 *
 * ses_send_plan takes one email as plain data (ses_email) and, in order: refuses a
 * configuration set (none exist here), gathers and checks the recipients (at most 50 across
 * To, Cc and Bcc), checks the sender (an address; with verification on, a verified identity),
 * renders the template when there is one, builds the MIME message (common/mime.c: multipart
 * text + HTML, UTF-8 subject, Reply-To, Cc; Bcc only in the envelope) or takes the raw one
 * as it is, checks the 10 MB limit, and plans the mail into the caller's fan-out together
 * with its record in the mail log and its count in the statistics. The caller commits the
 * fan-out (ses_send_commit) before it answers: an acknowledged send is durable, and a crash
 * before the SMTP delivery only delays it.
 *
 * MessageIds have the shape of SES's: 16 hex digits ("0100" and the time in ms), a UUID and
 * "-000000"; the message's Message-ID header is <MessageId@email.amazonses.com>, as SES
 * writes it. */
#include "services/ses/ses_internal.h"

#include "common/base64.h"
#include "common/alloc.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/mime.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define ADDR_MAX 320

enum { TO, CC, BCC, NKINDS };
static const char *const kind_names[NKINDS] = {"ToAddresses", "CcAddresses", "BccAddresses"};

/* The recipients of one message. */
typedef struct rcpts {
    const char *shown[NKINDS][SES_MAX_RECIPIENTS]; /* as given (names included): headers */
    size_t n[NKINDS];
    char bare[SES_MAX_RECIPIENTS][ADDR_MAX];
    const char *envelope[SES_MAX_RECIPIENTS]; /* distinct bare addresses */
    size_t nenv;
    json_t *record; /* {"ToAddresses": [...], ...} as given */
} rcpts;

static void new_message_id(int64_t now_ms, char out[SES_MESSAGE_ID_LEN])
{
    char uuid[37];
    ids_uuid4(uuid);
    snprintf(out, SES_MESSAGE_ID_LEN, "0100%012llx-%s-000000",
             (unsigned long long)now_ms & 0xffffffffffffULL, uuid);
}

static void add_envelope(rcpts *r, const char *bare)
{
    for (size_t i = 0; i < r->nenv; i++)
        if (strcasecmp(r->envelope[i], bare) == 0)
            return;
    char *slot = r->bare[r->nenv];
    snprintf(slot, ADDR_MAX, "%s", bare);
    r->envelope[r->nenv++] = slot;
}

/* To, Cc and Bcc of a simple or templated email. */
static int gather_destination(const ses_email *m, rcpts *r, ses_error *e)
{
    const json_t *lists[NKINDS] = {m->to, m->cc, m->bcc};
    size_t total = 0;
    for (int k = 0; k < NKINDS; k++)
        total += json_array_size(lists[k]);
    if (total > SES_MAX_RECIPIENTS)
        return ses_fail(e, SES_E_INVALID, "Recipient count exceeds %d.", SES_MAX_RECIPIENTS);
    for (int k = 0; k < NKINDS; k++) {
        json_t *copy = json_array();
        json_object_set_new(r->record, kind_names[k], copy);
        size_t i;
        json_t *v;
        json_array_foreach(lists[k], i, v)
        {
            char bare[ADDR_MAX];
            const char *a = json_string_value(v);
            if (ses_address_parse(a, bare, sizeof bare, e) != 0)
                return -1;
            r->shown[k][r->n[k]++] = a;
            json_array_append(copy, v);
            add_envelope(r, bare);
        }
    }
    return 0;
}

/* The recipients of a raw message: Destinations, else its To, Cc and Bcc fields. */
static int gather_raw(const ses_email *m, rcpts *r, ses_error *e)
{
    json_t *all = json_array();
    int rc = 0;
    if (json_array_size(m->destinations) > 0) {
        json_array_extend(all, (json_t *)m->destinations);
    } else {
        static const char *const fields[] = {"To", "Cc", "Bcc"};
        for (size_t k = 0; k < 3 && rc == 0; k++) {
            char *v = ses_header_get(m->raw, m->raw_len, fields[k]);
            if (v && ses_address_list(v, strlen(v), all) != 0)
                rc = ses_fail(e, SES_E_INVALID, "Illegal address in the %s header.", fields[k]);
            xfree(v);
        }
    }
    if (rc == 0 && json_array_size(all) > SES_MAX_RECIPIENTS)
        rc = ses_fail(e, SES_E_INVALID, "Recipient count exceeds %d.", SES_MAX_RECIPIENTS);
    size_t i;
    json_t *v;
    json_array_foreach(all, i, v)
    {
        char bare[ADDR_MAX];
        if (rc == 0 && ses_address_parse(json_string_value(v), bare, sizeof bare, e) != 0)
            rc = -1;
        if (rc == 0)
            add_envelope(r, bare);
    }
    json_object_set_new(r->record, "ToAddresses", all);
    json_object_set_new(r->record, "CcAddresses", json_array());
    json_object_set_new(r->record, "BccAddresses", json_array());
    return rc;
}

int ses_check_source(const ses *s, const char *source, ses_error *e)
{
    char addr[ADDR_MAX];
    if (!source || !*source)
        return ses_fail(e, SES_E_INVALID, "Missing required header 'From'.");
    if (ses_address_parse(source, addr, sizeof addr, e) != 0)
        return -1;
    const char *list[] = {addr};
    return ses_check_senders(s, list, 1, e);
}

/* The sender of a raw message: Source and the From field are both checked; the envelope
 * sender is Source's address, else From's. */
static int raw_sender(const ses *s, const ses_email *m, char envelope[ADDR_MAX], ses_error *e)
{
    char src[ADDR_MAX] = "", from[ADDR_MAX] = "";
    if (m->source && *m->source && ses_address_parse(m->source, src, sizeof src, e) != 0)
        return -1;
    char *hdr = ses_header_get(m->raw, m->raw_len, "From");
    if (hdr) {
        json_t *list = json_array();
        if (ses_address_list(hdr, strlen(hdr), list) == 0 && json_array_size(list) > 0)
            snprintf(from, sizeof from, "%s", json_string_value(json_array_get(list, 0)));
        json_decref(list);
        xfree(hdr);
    }
    if (!*src && !*from)
        return ses_fail(e, SES_E_INVALID, "Missing required header 'From'.");
    const char *check[2];
    size_t n = 0;
    if (*src)
        check[n++] = src;
    if (*from && (!*src || strcasecmp(src, from) != 0))
        check[n++] = from;
    if (ses_check_senders(s, check, n, e) != 0)
        return -1;
    snprintf(envelope, ADDR_MAX, "%s", *src ? src : from);
    return 0;
}

/* The parts of a simple or templated message (rendered into r when templated). */
typedef struct content {
    const char *subject, *text, *html;
    size_t text_len, html_len;
} content;

static int make_content(ses *s, const ses_email *m, ses_rendered *r, content *c, ses_error *e)
{
    memset(c, 0, sizeof *c);
    if (!m->template_name) {
        c->subject = m->subject;
        c->text = m->text;
        c->text_len = m->text ? strlen(m->text) : 0;
        c->html = m->html;
        c->html_len = m->html ? strlen(m->html) : 0;
        return 0;
    }
    const ses_tmpl *t = ses_tmpl_find(s, m->template_name);
    if (!t)
        return ses_fail(e, SES_E_TEMPLATE_MISSING, "Template %s does not exist.", m->template_name);
    if (ses_render(t, m->template_data, r, e) != 0)
        return -1;
    c->subject = r->subject.data;
    c->text = r->has_text ? (r->text.data ? r->text.data : "") : NULL;
    c->text_len = r->text.len;
    c->html = r->has_html ? (r->html.data ? r->html.data : "") : NULL;
    c->html_len = r->html.len;
    return 0;
}

static const char **string_vector(const json_t *a, size_t *n)
{
    *n = json_array_size(a);
    const char **v = xcalloc(*n ? *n : 1, sizeof *v);
    for (size_t i = 0; i < *n; i++)
        v[i] = json_string_value(json_array_get(a, i));
    return v;
}

static int build_mime(const ses_email *m, const rcpts *r, const content *c, const char *id,
                      int64_t now_ms, buf *out, ses_error *e)
{
    size_t nreply;
    const char **reply = string_vector(m->reply_to, &nreply);
    for (size_t i = 0; i < nreply; i++) {
        char bare[ADDR_MAX];
        if (ses_address_parse(reply[i], bare, sizeof bare, e) != 0) {
            xfree(reply);
            return -1;
        }
    }
    char message_id[SES_MESSAGE_ID_LEN + 32];
    snprintf(message_id, sizeof message_id, "%s@email.amazonses.com", id);
    mime_message mm = {
        .from = m->source,
        .to = r->shown[TO],
        .nto = r->n[TO],
        .cc = r->shown[CC],
        .ncc = r->n[CC],
        .reply_to = reply,
        .nreply_to = nreply,
        .subject = c->subject,
        .text = c->text,
        .text_len = c->text_len,
        .html = c->html,
        .html_len = c->html_len,
        .message_id = message_id,
        .date_ms = now_ms,
    };
    const char *why = NULL;
    int rc = mime_build(out, &mm, &why);
    xfree(reply);
    if (rc != 0)
        return ses_fail(e, SES_E_INVALID, "%s", why ? why : "The message could not be built.");
    return 0;
}

static json_t *log_record(const ses_email *m, const rcpts *r, const content *c, const char *id,
                          const char *source)
{
    json_t *rec =
        json_pack("{s:s, s:s, s:O}", "Id", id, "Source", source, "Destination", r->record);
    if (m->raw) {
        char *subject = ses_header_get(m->raw, m->raw_len, "Subject");
        json_object_set_new(rec, "Subject", json_string(subject ? subject : ""));
        xfree(subject);
        json_object_set_new(rec, "Raw", json_true());
        return rec;
    }
    json_object_set_new(rec, "Subject", json_string(c->subject ? c->subject : ""));
    json_t *body = json_object();
    if (c->text)
        json_object_set_new(body, "text_part", json_stringn(c->text, c->text_len));
    if (c->html)
        json_object_set_new(body, "html_part", json_stringn(c->html, c->html_len));
    json_object_set_new(rec, "Body", body);
    if (m->template_name) {
        json_object_set_new(rec, "Template", json_string(m->template_name));
        json_object_set_new(rec, "TemplateData",
                            m->template_data_text ? json_string(m->template_data_text)
                                                  : json_deep_copy(m->template_data));
    }
    if (json_array_size(m->reply_to) > 0)
        json_object_set(rec, "ReplyToAddresses", (json_t *)m->reply_to);
    return rec;
}

int ses_send_plan(ses *s, fanout *f, const ses_email *m, char message_id[SES_MESSAGE_ID_LEN],
                  ses_error *e)
{
    if (m->configuration_set && *m->configuration_set)
        return ses_fail(e, SES_E_CONFIG_SET_MISSING, "Configuration set <%s> does not exist.",
                        m->configuration_set);
    rcpts *r = xcalloc(1, sizeof *r);
    r->record = json_object();
    ses_rendered rendered;
    memset(&rendered, 0, sizeof rendered);
    content c = {0};
    buf built = BUF_INIT;
    json_t *rec = NULL, *meta = NULL;
    char envelope[ADDR_MAX];
    int64_t now = fanout_now(f);
    int rc = -1;

    if (m->raw) {
        if (m->raw_len == 0) {
            ses_fail(e, SES_E_INVALID, "Empty raw message.");
            goto done;
        }
        if (gather_raw(m, r, e) != 0 || raw_sender(s, m, envelope, e) != 0)
            goto done;
    } else {
        if (gather_destination(m, r, e) != 0 || ses_check_source(s, m->source, e) != 0)
            goto done;
        ses_address_parse(m->source, envelope, sizeof envelope, e);
    }
    if (r->nenv == 0) {
        ses_fail(e, SES_E_INVALID, "Missing required header 'To'.");
        goto done;
    }
    if (m->return_path && *m->return_path &&
        ses_address_parse(m->return_path, envelope, sizeof envelope, e) != 0)
        goto done;
    new_message_id(now, message_id);
    const char *data;
    size_t len;
    if (m->raw) {
        data = m->raw;
        len = m->raw_len;
    } else {
        if (make_content(s, m, &rendered, &c, e) != 0 ||
            build_mime(m, r, &c, message_id, now, &built, e) != 0)
            goto done;
        data = built.data;
        len = built.len;
    }
    if (len > SES_MAX_MESSAGE_BYTES) {
        ses_fail(e, SES_E_INVALID, "Message length is more than %d bytes long: '%zu'.",
                 SES_MAX_MESSAGE_BYTES, len);
        goto done;
    }
    rec = log_record(m, r, &c, message_id, m->source ? m->source : envelope);
    meta = json_pack("{s:s, s:I}", "MessageId", message_id, "Recipients", (json_int_t)r->nenv);
    mail_msg mail = {
        .owner = "ses",
        .meta = meta,
        .mail_from = envelope,
        .rcpt = r->envelope,
        .nrcpt = r->nenv,
        .data = data,
        .len = len,
        .record = rec,
    };
    char err[256];
    if (mailer_plan(s->mail, f, &mail, err, sizeof err) != 0) {
        ses_fail(e, SES_E_INVALID, "%s", err);
        goto done;
    }
    ses_stats_count(s, f, now, (int)r->nenv, 0);
    rc = 0;
done:
    json_decref(rec);
    json_decref(meta);
    json_decref(r->record);
    xfree(r);
    ses_rendered_free(&rendered);
    buf_free(&built);
    return rc;
}

/* ---- commit --------------------------------------------------------------------------- */

fanout *ses_send_begin(ses *s)
{
    return fanout_new(s->store, NULL, clock_now_ms(), s->account);
}

typedef struct commit_ctx {
    ses *s;
    ses_sent_fn fn;
    void *arg;
} commit_ctx;

static void committed(fanout *f, int status, void *arg)
{
    (void)f;
    commit_ctx *c = arg;
    if (status == 0)
        mailer_poke(c->s->mail);
    c->fn(status, c->arg);
    xfree(c);
}

void ses_send_commit(ses *s, fanout *f, ses_sent_fn fn, void *arg)
{
    commit_ctx *c = xcalloc(1, sizeof *c);
    c->s = s;
    c->fn = fn;
    c->arg = arg;
    fanout_commit(f, committed, c);
}
