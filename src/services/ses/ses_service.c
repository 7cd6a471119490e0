/* The SES service: its v1 operation table, lifecycle (state loaded from the store, the
 * mailer's outcomes routed to the statistics) and the helpers its handlers share. */
#include "services/ses/ses_internal.h"

#include "common/alloc.h"
#include "common/log.h"
#include "services/service_docs.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Sorted by name: the router searches it. */
static const aws_op_def ses_v1_ops[] = {
    {"CreateTemplate", ses_create_template_v1},
    {"DeleteIdentity", ses_delete_identity_v1},
    {"DeleteTemplate", ses_delete_template_v1},
    {"DeleteVerifiedEmailAddress", ses_delete_verified_email_address_v1},
    {"GetIdentityVerificationAttributes", ses_get_identity_verification_attributes_v1},
    {"GetSendQuota", ses_get_send_quota_v1},
    {"GetSendStatistics", ses_get_send_statistics_v1},
    {"GetTemplate", ses_get_template_v1},
    {"ListIdentities", ses_list_identities_v1},
    {"ListTemplates", ses_list_templates_v1},
    {"ListVerifiedEmailAddresses", ses_list_verified_email_addresses_v1},
    {"SendBulkTemplatedEmail", ses_send_bulk_templated_email_v1},
    {"SendEmail", ses_send_email_v1},
    {"SendRawEmail", ses_send_raw_email_v1},
    {"SendTemplatedEmail", ses_send_templated_email_v1},
    {"TestRenderTemplate", ses_test_render_template_v1},
    {"UpdateTemplate", ses_update_template_v1},
    {"VerifyDomainIdentity", ses_verify_domain_identity_v1},
    {"VerifyEmailAddress", ses_verify_email_address_v1},
    {"VerifyEmailIdentity", ses_verify_email_identity_v1},
};

/* ---- helpers -------------------------------------------------------------------------- */

int ses_fail(ses_error *e, ses_errkind kind, const char *fmt, ...)
{
    e->kind = kind;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}

const char *ses_str(const aws_call *call, const char *name)
{
    json_t *v = json_object_get(call->input, name);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

void ses_persist_doc(ses *s, aws_call *call, json_t *reply, const char *ns, const char *key,
                     const json_t *doc)
{
    service_persist_doc(s->store, call, reply, AWS_ERR_INTERNAL_ERROR, ns, key, doc);
}

void ses_reply_v1_error(aws_call *call, const ses_error *e)
{
    static const aws_error codes[] = {
        [SES_E_INVALID] = AWS_ERR_INVALID_PARAMETER_VALUE,
        [SES_E_REJECTED] = AWS_ERR_SES_MESSAGE_REJECTED,
        [SES_E_TEMPLATE_MISSING] = AWS_ERR_SES_TEMPLATE_DOES_NOT_EXIST,
        [SES_E_TEMPLATE_INVALID] = AWS_ERR_SES_INVALID_TEMPLATE,
        [SES_E_MISSING_ATTRIBUTE] = AWS_ERR_SES_MISSING_RENDERING_ATTRIBUTE,
        [SES_E_RENDERING_PARAM] = AWS_ERR_SES_INVALID_RENDERING_PARAMETER,
        [SES_E_ALREADY_EXISTS] = AWS_ERR_SES_ALREADY_EXISTS,
        [SES_E_LIMIT] = AWS_ERR_SES_LIMIT_EXCEEDED,
        [SES_E_CONFIG_SET_MISSING] = AWS_ERR_SES_CONFIGURATION_SET_DOES_NOT_EXIST,
        [SES_E_NOT_FOUND] = AWS_ERR_INVALID_PARAMETER_VALUE,
    };
    aws_reply_error(call, codes[e->kind], "%s", e->msg);
}

/* ---- lifecycle ------------------------------------------------------------------------ */

int ses_create(ses **out, uv_loop_t *loop, store *st, const ses_config *cfg)
{
    ses *s = xcalloc(1, sizeof *s);
    s->def.model = &model_ses;
    s->def.json_protocol = AWS_PROTO_JSON_1_0;
    s->def.ops = ses_v1_ops;
    s->def.nops = sizeof ses_v1_ops / sizeof ses_v1_ops[0];
    s->def.ctx = s;
    ses_v2_init(s);
    s->loop = loop;
    s->store = st;
    s->mail = cfg->mail;
    s->verify = cfg->verify;
    snprintf(s->region, sizeof s->region, "%s", cfg->region);
    snprintf(s->account, sizeof s->account, "%s", cfg->account);
    if (store_load_docs(st, SES_NS_IDENTITY, ses_identity_restore, s) != 0 ||
        store_load_docs(st, SES_NS_TEMPLATE, ses_tmpl_restore, s) != 0 ||
        store_load_docs(st, SES_NS_STATS, ses_stats_restore, s) != 0) {
        ses_destroy(s);
        *out = NULL;
        return -1;
    }
    mailer_set_owner(s->mail, "ses", ses_stats_outcome, s);
    log_info("ses ready", "identities=%zu templates=%zu verify=%s", s->nidentities, s->ntemplates,
             s->verify ? "on" : "off");
    *out = s;
    return 0;
}

const aws_service_def *ses_service_def(const ses *s)
{
    return &s->def;
}

const aws_service_def *sesv2_service_def(const ses *s)
{
    return &s->def_v2;
}

void ses_shutdown(ses *s)
{
    if (s)
        s->stopping = 1;
}

void ses_destroy(ses *s)
{
    if (!s)
        return;
    ses_identities_free(s);
    ses_templates_free(s);
    xfree(s->buckets);
    xfree(s);
}
