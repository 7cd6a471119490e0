/* SES v1's sending operations (AWS Query): SendEmail, SendRawEmail, SendTemplatedEmail and
 * SendBulkTemplatedEmail. Each decodes its input into ses_email values, plans them with the
 * core (ses_send.c) into one fan-out and answers once that is committed: the MessageId, or
 * for a bulk send one status per destination (the destinations that failed are reported,
 * not sent; the others go out). */
#include "services/ses/ses_internal.h"

#include "common/base64.h"
#include "common/alloc.h"

#include <string.h>

typedef struct send_ctx {
    aws_call *call;
    json_t *reply;
} send_ctx;

static void sent(int status, void *arg)
{
    send_ctx *c = arg;
    if (status != 0) {
        json_decref(c->reply);
        aws_reply_error(c->call, AWS_ERR_INTERNAL_ERROR, "The store could not commit the message.");
    } else {
        aws_reply(c->call, c->reply);
    }
    xfree(c);
}

static void commit_and_reply(ses *s, fanout *f, aws_call *call, json_t *reply)
{
    send_ctx *c = xcalloc(1, sizeof *c);
    c->call = call;
    c->reply = reply;
    ses_send_commit(s, f, sent, c);
}

void ses_send_and_reply(aws_call *call, const ses_email *m, ses_error_reply_fn on_error)
{
    ses *s = ses_of(call);
    fanout *f = ses_send_begin(s);
    char id[SES_MESSAGE_ID_LEN];
    ses_error e;
    if (ses_send_plan(s, f, m, id, &e) != 0) {
        fanout_discard(f);
        on_error(call, &e);
        return;
    }
    commit_and_reply(s, f, call, json_pack("{s:s}", "MessageId", id));
}

static const char *data_of(const json_t *content)
{
    return json_string_value(json_object_get(content, "Data"));
}

/* The members SendEmail, SendTemplatedEmail and SendBulkTemplatedEmail share. */
static void common_fields(const aws_call *call, ses_email *m)
{
    json_t *dest = json_object_get(call->input, "Destination");
    m->source = ses_str(call, "Source");
    m->to = json_object_get(dest, "ToAddresses");
    m->cc = json_object_get(dest, "CcAddresses");
    m->bcc = json_object_get(dest, "BccAddresses");
    m->reply_to = json_object_get(call->input, "ReplyToAddresses");
    m->return_path = ses_str(call, "ReturnPath");
    m->configuration_set = ses_str(call, "ConfigurationSetName");
}

void ses_send_email_v1(aws_call *call)
{
    ses_email m = {0};
    common_fields(call, &m);
    json_t *msg = json_object_get(call->input, "Message");
    json_t *body = json_object_get(msg, "Body");
    m.subject = data_of(json_object_get(msg, "Subject"));
    m.text = data_of(json_object_get(body, "Text"));
    m.html = data_of(json_object_get(body, "Html"));
    if (!m.subject) {
        aws_reply_error(call, AWS_ERR_INVALID_PARAMETER_VALUE, "Message.Subject is required.");
        return;
    }
    ses_send_and_reply(call, &m, ses_reply_v1_error);
}

void ses_send_raw_email_v1(aws_call *call)
{
    const char *data = data_of(json_object_get(call->input, "RawMessage"));
    if (!data) {
        aws_reply_error(call, AWS_ERR_INVALID_PARAMETER_VALUE, "RawMessage.Data is required.");
        return;
    }
    buf raw = BUF_INIT;
    if (base64_decode_mime(&raw, data, strlen(data)) != 0) {
        buf_free(&raw);
        aws_reply_error(call, AWS_ERR_INVALID_PARAMETER_VALUE,
                        "RawMessage.Data is not valid base64.");
        return;
    }
    ses_email m = {
        .source = ses_str(call, "Source"),
        .configuration_set = ses_str(call, "ConfigurationSetName"),
        .raw = raw.data ? raw.data : "",
        .raw_len = raw.len,
        .destinations = json_object_get(call->input, "Destinations"),
    };
    ses_send_and_reply(call, &m, ses_reply_v1_error);
    buf_free(&raw);
}

void ses_send_templated_email_v1(aws_call *call)
{
    ses_email m = {0};
    common_fields(call, &m);
    m.template_name = ses_str(call, "Template");
    m.template_data_text = ses_str(call, "TemplateData");
    if (!m.template_name || !*m.template_name) {
        aws_reply_error(call, AWS_ERR_INVALID_PARAMETER_VALUE, "Template is required.");
        return;
    }
    ses_error e;
    json_t *data = ses_template_data(m.template_data_text, &e);
    if (!data) {
        ses_reply_v1_error(call, &e);
        return;
    }
    m.template_data = data;
    ses_send_and_reply(call, &m, ses_reply_v1_error);
    json_decref(data);
}

/* ---- SendBulkTemplatedEmail ----------------------------------------------------------- */

static const char *bulk_status(ses_errkind k)
{
    switch (k) {
    case SES_E_INVALID:
        return "InvalidParameterValue";
    case SES_E_REJECTED:
        return "MessageRejected";
    case SES_E_TEMPLATE_MISSING:
        return "TemplateDoesNotExist";
    case SES_E_CONFIG_SET_MISSING:
        return "ConfigurationSetDoesNotExist";
    default:
        return "Failed";
    }
}

/* The request-wide checks: 0, or -1 (answered). *defaults is the DefaultTemplateData. */
static int bulk_check(aws_call *call, const ses_email *m, size_t n, json_t **defaults)
{
    ses *s = ses_of(call);
    ses_error e;
    *defaults = NULL;
    if (n == 0 || n > SES_MAX_BULK_DESTINATIONS) {
        aws_reply_error(call, AWS_ERR_INVALID_PARAMETER_VALUE,
                        "The number of destinations must be between 1 and %d.",
                        SES_MAX_BULK_DESTINATIONS);
        return -1;
    }
    if (m->configuration_set && *m->configuration_set) {
        aws_reply_error(call, AWS_ERR_SES_CONFIGURATION_SET_DOES_NOT_EXIST,
                        "Configuration set <%s> does not exist.", m->configuration_set);
        return -1;
    }
    if (!m->template_name || !ses_tmpl_find(s, m->template_name)) {
        aws_reply_error(call, AWS_ERR_SES_TEMPLATE_DOES_NOT_EXIST, "Template %s does not exist.",
                        m->template_name ? m->template_name : "");
        return -1;
    }
    if (ses_check_source(s, m->source, &e) != 0) {
        ses_reply_v1_error(call, &e);
        return -1;
    }
    const char *dflt = ses_str(call, "DefaultTemplateData");
    *defaults = dflt ? ses_template_data(dflt, &e) : json_object();
    if (!*defaults) {
        ses_reply_v1_error(call, &e);
        return -1;
    }
    return 0;
}

/* Plans one destination; returns its BulkEmailDestinationStatus. */
static json_t *bulk_one(ses *s, fanout *f, ses_email m, const json_t *dest, const json_t *defaults,
                        int *planned)
{
    json_t *d = json_object_get(dest, "Destination");
    m.to = json_object_get(d, "ToAddresses");
    m.cc = json_object_get(d, "CcAddresses");
    m.bcc = json_object_get(d, "BccAddresses");
    const char *repl = json_string_value(json_object_get(dest, "ReplacementTemplateData"));
    ses_error e;
    json_t *data = json_deep_copy(defaults);
    if (repl) {
        json_t *r = ses_template_data(repl, &e);
        if (!r) {
            json_decref(data);
            return json_pack("{s:s, s:s}", "Status", bulk_status(e.kind), "Error", e.msg);
        }
        json_object_update(data, r); /* per destination values win over the defaults */
        json_decref(r);
    }
    m.template_data = data;
    m.template_data_text = NULL;
    char id[SES_MESSAGE_ID_LEN];
    json_t *status;
    if (ses_send_plan(s, f, &m, id, &e) != 0) {
        status = json_pack("{s:s, s:s}", "Status", bulk_status(e.kind), "Error", e.msg);
    } else {
        status = json_pack("{s:s, s:s}", "Status", "Success", "MessageId", id);
        (*planned)++;
    }
    json_decref(data);
    return status;
}

void ses_send_bulk_templated_email_v1(aws_call *call)
{
    ses *s = ses_of(call);
    ses_email m = {0};
    common_fields(call, &m);
    m.template_name = ses_str(call, "Template");
    json_t *dests = json_object_get(call->input, "Destinations");
    json_t *defaults;
    if (bulk_check(call, &m, json_array_size(dests), &defaults) != 0)
        return;
    fanout *f = ses_send_begin(s);
    json_t *statuses = json_array();
    int planned = 0;
    size_t i;
    json_t *dest;
    json_array_foreach(dests, i, dest)
    {
        json_array_append_new(statuses, bulk_one(s, f, m, dest, defaults, &planned));
    }
    json_decref(defaults);
    json_t *reply = json_pack("{s:o}", "Status", statuses);
    if (planned == 0) {
        fanout_discard(f);
        aws_reply(call, reply);
        return;
    }
    commit_and_reply(s, f, call, reply);
}
