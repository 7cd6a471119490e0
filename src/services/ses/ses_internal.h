/* SES internals shared by the files of src/services/ses/.
 *
 * The service is two layers:
 *  - a protocol-independent core working on plain C data and JSON: identities
 *    (ses_identity.c), templates and rendering (ses_template_ops.c), sending (ses_send.c:
 *    validate, render, build the MIME message, plan the mail, count it) and statistics
 *    (ses_stats.c). Its failures are ses_error values, not wire errors;
 *  - adapters that decode a call, run the core and answer in their protocol: SES v1's
 *    handlers (the *_v1 functions below, AWS Query), mapping ses_error to AWS_ERR_SES_*.
 * SES v2 (REST-JSON) is meant to be another adapter on the same core, over the same stored
 * templates and identities (AWS shares them between the two APIs). */
#ifndef SLUICE_SES_INTERNAL_H
#define SLUICE_SES_INTERNAL_H

#include "common/buf.h"
#include "delivery/fanout.h"
#include "delivery/mail.h"
#include "protocol/aws.h"
#include "services/ses/ses.h"
#include "store/store.h"

#include <jansson.h>
#include <stdint.h>

#define SES_MAX_RECIPIENTS        50 /* To + Cc + Bcc of one message */
#define SES_MAX_MESSAGE_BYTES     (10 * 1024 * 1024)
#define SES_MAX_TEMPLATE_BYTES    (500 * 1024)
#define SES_MAX_TEMPLATES         10000
#define SES_MAX_TEMPLATE_NAME     64
#define SES_MAX_BULK_DESTINATIONS 50
#define SES_MAX_IDENTITIES        10000
#define SES_STATS_BUCKET_MS       (15LL * 60 * 1000)
#define SES_STATS_KEEP_MS         (14LL * 24 * 3600 * 1000)
#define SES_MESSAGE_ID_LEN        64 /* buffer size of a MessageId */

/* Namespaces of the stored documents. */
#define SES_NS_IDENTITY "ses.identity"
#define SES_NS_TEMPLATE "ses.template"
#define SES_NS_STATS    "ses.stats"

/* ---- errors of the core --------------------------------------------------------------- */

typedef enum {
    SES_E_INVALID,            /* a bad parameter: InvalidParameterValue / BadRequest */
    SES_E_REJECTED,           /* MessageRejected (an unverified sender, ...) */
    SES_E_TEMPLATE_MISSING,   /* TemplateDoesNotExist / NotFound */
    SES_E_TEMPLATE_INVALID,   /* InvalidTemplate */
    SES_E_MISSING_ATTRIBUTE,  /* MissingRenderingAttribute */
    SES_E_RENDERING_PARAM,    /* InvalidRenderingParameter: TemplateData is not a JSON object */
    SES_E_ALREADY_EXISTS,     /* AlreadyExists */
    SES_E_LIMIT,              /* LimitExceeded */
    SES_E_CONFIG_SET_MISSING, /* ConfigurationSetDoesNotExist */
    SES_E_NOT_FOUND,          /* an identity that does not exist (v2's NotFound) */
} ses_errkind;

typedef struct ses_error {
    ses_errkind kind;
    char msg[512];
} ses_error;

/* Fills e and returns -1. */
int ses_fail(ses_error *e, ses_errkind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- state ---------------------------------------------------------------------------- */

typedef struct ses_identity {
    char *name;  /* an address or a domain, as given */
    int domain;  /* 1: a domain identity */
    char *token; /* domains: the VerificationToken */
    int64_t created_ms;
    struct ses_identity *next; /* by name */
} ses_identity;

typedef struct ses_tmpl {
    char *name;
    char *subject, *text, *html; /* NULL when absent */
    int64_t created_ms;
    struct ses_tmpl *next; /* by name */
} ses_tmpl;

/* Sending activity of one 15-minute period (GetSendStatistics' SendDataPoint). */
typedef struct ses_bucket {
    int64_t start_ms;
    int64_t attempts, bounces, complaints, rejects;
} ses_bucket;

struct ses {
    aws_service_def def;    /* v1 */
    aws_service_def def_v2; /* v2 (ses_v2.c) */
    uv_loop_t *loop;
    store *store;
    mailer *mail;
    char region[64], account[32];
    int verify;
    ses_identity *identities;
    size_t nidentities;
    ses_tmpl *templates;
    size_t ntemplates;
    ses_bucket *buckets; /* oldest first */
    size_t nbuckets, bucket_cap;
    int stopping;
};

static inline ses *ses_of(const aws_call *call)
{
    return (ses *)call->service->ctx;
}

/* ---- service helpers (ses_service.c) -------------------------------------------------- */
const char *ses_str(const aws_call *call, const char *name);
/* Persists one document (copied; NULL deletes) and replies `reply` (taken; NULL: empty) to
 * call (may be NULL) once it is committed. */
void ses_persist_doc(ses *s, aws_call *call, json_t *reply, const char *ns, const char *key,
                     const json_t *doc);
/* Answers call with e as SES v1 (Query) reports it. */
void ses_reply_v1_error(aws_call *call, const ses_error *e);

/* ---- addresses (ses_address.c) -------------------------------------------------------- */
/* The bare address of "addr" or "Display Name <addr>" into out (cap bytes). 0, or -1 with
 * SES's message ("Missing final '@domain'", "Illegal address", ...) in e. */
int ses_address_parse(const char *in, char *out, size_t cap, ses_error *e);
/* Whether a domain name is usable: labels of letters, digits and '-', dots between. */
int ses_domain_ok(const char *d);
/* The addresses of a header field's address list (RFC 5322: "a@b, Name <c@d>, group: e@f;"),
 * appended as bare addresses to `out` (a JSON array). -1 if one is not an address. */
int ses_address_list(const char *value, size_t n, json_t *out);
/* The unfolded value of the first header field `name` of a message's header (n bytes: the
 * header stops at the first empty line), or NULL. Caller frees. */
char *ses_header_get(const char *msg, size_t n, const char *name);

/* ---- identities (ses_identity.c) ------------------------------------------------------ */
ses_identity *ses_identity_find(const ses *s, const char *name);
/* Adds the identity (verified at once: see ses_identity.c) unless it exists. *out is the
 * identity; returns 1 if it is new (persist ses_identity_doc), 0 if it existed, -1 with e
 * for a name that is not an address (domain 0) or a domain (domain 1). */
int ses_identity_add(ses *s, const char *name, int domain, ses_identity **out, ses_error *e);
/* Removes it from memory; 0, or -1 if there was none. */
int ses_identity_remove(ses *s, const char *name);
json_t *ses_identity_doc(const ses_identity *id);
void ses_identity_restore(const char *key, const char *doc, void *arg);
void ses_identities_free(ses *s);
/* With verification on, every bare address of addrs (n of them) must be a verified identity
 * or be in a verified domain (or a subdomain of one): else MessageRejected naming those that
 * are not. 0 or -1. */
int ses_check_senders(const ses *s, const char *const *addrs, size_t n, ses_error *e);

/* ---- templates (ses_template_ops.c) --------------------------------------------------- */
ses_tmpl *ses_tmpl_find(const ses *s, const char *name);
/* Creates (create 1: AlreadyExists if it exists) or replaces (create 0: TemplateDoesNotExist
 * if it does not) a template after checking its name, size and syntax. Strings borrowed
 * (NULL: no such part). 0 and *out, or -1 with e. */
int ses_tmpl_put(ses *s, const char *name, const char *subject, const char *text, const char *html,
                 int create, ses_tmpl **out, ses_error *e);
/* 0, or -1 if there was none. */
int ses_tmpl_remove(ses *s, const char *name);
json_t *ses_tmpl_doc(const ses_tmpl *t);
void ses_tmpl_restore(const char *key, const char *doc, void *arg);
void ses_templates_free(ses *s);
/* TemplateData text -> a JSON object (new reference), or NULL with e
 * (InvalidRenderingParameter). */
json_t *ses_template_data(const char *text, ses_error *e);

typedef struct ses_rendered {
    buf subject, text, html;
    int has_text, has_html;
} ses_rendered;
/* Renders every part of t with data. 0, or -1 with e (MissingRenderingAttribute, ...);
 * ses_rendered_free either way. */
int ses_render(const ses_tmpl *t, const json_t *data, ses_rendered *out, ses_error *e);
void ses_rendered_free(ses_rendered *r);
/* TestRenderTemplate: the MIME message (no From/To) the template renders to with the data
 * (JSON text), appended to out. 0 or -1 with e. */
int ses_test_render(ses *s, const char *name, const char *data, buf *out, ses_error *e);

/* ---- sending (ses_send.c) ------------------------------------------------------------- */

/* One email to send, whatever API carried it. Everything is borrowed. Exactly one of: a
 * simple message (subject/text/html), a template (template_name + template_data), or a
 * raw message. */
typedef struct ses_email {
    const char *source;          /* "addr" or "Name <addr>"; raw mail: NULL takes the From header */
    const json_t *to, *cc, *bcc; /* arrays of address strings, or NULL */
    const json_t *reply_to;      /* array, or NULL */
    const char *return_path;     /* the envelope sender; NULL: the source's address */
    const char *configuration_set;
    /* simple */
    const char *subject, *text, *html;
    /* templated: data is a JSON object; data_text what the caller sent (for the log) */
    const char *template_name;
    const json_t *template_data;
    const char *template_data_text;
    /* raw: the decoded message; recipients from `destinations` (an array) or else the
     * To, Cc and Bcc headers */
    const char *raw;
    size_t raw_len;
    const json_t *destinations;
} ses_email;

/* Checks the source address (and, with verification on, that it may send). 0 or -1. */
int ses_check_source(const ses *s, const char *source, ses_error *e);
/* Validates, renders and builds the message of m and adds its mail to f, and counts it in
 * the statistics (in f). Writes the MessageId. 0, or -1 with e (then f is unchanged). */
int ses_send_plan(ses *s, fanout *f, const ses_email *m, char message_id[SES_MESSAGE_ID_LEN],
                  ses_error *e);
fanout *ses_send_begin(ses *s);
/* status: 0 once everything planned in f is durable (the mailer has been poked), or the
 * store's error. Takes f. */
typedef void (*ses_sent_fn)(int status, void *arg);
void ses_send_commit(ses *s, fanout *f, ses_sent_fn fn, void *arg);

/* ---- adapters' shared steps ----------------------------------------------------------- */
typedef void (*ses_error_reply_fn)(aws_call *call, const ses_error *e);
/* Plans m alone, commits it and answers {"MessageId"} (or on_error). (ses_send_ops.c) */
void ses_send_and_reply(aws_call *call, const ses_email *m, ses_error_reply_fn on_error);

/* ---- statistics (ses_stats.c) --------------------------------------------------------- */
/* Adds counts to the period of now_ms; the period's document goes into f (NULL: written on
 * its own). */
void ses_stats_count(ses *s, fanout *f, int64_t now_ms, int attempts, int bounces);
void ses_stats_restore(const char *key, const char *doc, void *arg);
/* The mailer's outcome callback for owner "ses": bounces are counted. */
void ses_stats_outcome(const mail_outcome *o, fanout *f, void *arg);
/* GetSendQuota's and GetSendStatistics' results (new JSON). */
json_t *ses_stats_quota(ses *s, int64_t now_ms);
json_t *ses_stats_points(ses *s, int64_t now_ms);

/* ---- SES v2 (ses_v2.c) --------------------------------------------------------------- */
void ses_v2_init(ses *s);
void ses_reply_v2_error(aws_call *call, const ses_error *e);

/* ---- SES v1 handlers ------------------------------------------------------------------ */
void ses_verify_email_identity_v1(aws_call *call);
void ses_verify_email_address_v1(aws_call *call);
void ses_verify_domain_identity_v1(aws_call *call);
void ses_list_identities_v1(aws_call *call);
void ses_get_identity_verification_attributes_v1(aws_call *call);
void ses_delete_identity_v1(aws_call *call);
void ses_list_verified_email_addresses_v1(aws_call *call);
void ses_delete_verified_email_address_v1(aws_call *call);
void ses_create_template_v1(aws_call *call);
void ses_update_template_v1(aws_call *call);
void ses_get_template_v1(aws_call *call);
void ses_delete_template_v1(aws_call *call);
void ses_list_templates_v1(aws_call *call);
void ses_test_render_template_v1(aws_call *call);
void ses_send_email_v1(aws_call *call);
void ses_send_raw_email_v1(aws_call *call);
void ses_send_templated_email_v1(aws_call *call);
void ses_send_bulk_templated_email_v1(aws_call *call);
void ses_get_send_quota_v1(aws_call *call);
void ses_get_send_statistics_v1(aws_call *call);

#endif
