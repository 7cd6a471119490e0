/* SES v2 (REST-JSON, API 2019-09-27, /v2/email/...): a thin adapter on the core that SES v1
 * uses, over the same stored templates and identities (AWS shares them between the two
 * APIs): SendEmail (Simple, Raw or Template content), CreateEmailTemplate, GetEmailTemplate,
 * UpdateEmailTemplate, DeleteEmailTemplate, ListEmailTemplates, TestRenderEmailTemplate,
 * CreateEmailIdentity, GetEmailIdentity and ListEmailIdentities. The router decodes the
 * URI labels, querystring and JSON body into call->input; errors are the AWS_ERR_SESV2_* rows
 * (NotFoundException, BadRequestException, AlreadyExistsException, MessageRejected, ...).
 * Identities are verified at once, as in v1 (see ses_identity.c). */
#include "services/ses/ses_internal.h"

#include "common/base64.h"
#include "common/alloc.h"

#include <string.h>
#include <strings.h>

#define TEMPLATES_PAGE_DEFAULT  10
#define TEMPLATES_PAGE_MAX      100
#define IDENTITIES_PAGE_DEFAULT 100
#define IDENTITIES_PAGE_MAX     1000

void ses_reply_v2_error(aws_call *call, const ses_error *e)
{
    static const aws_error codes[] = {
        [SES_E_INVALID] = AWS_ERR_SESV2_BAD_REQUEST,
        [SES_E_REJECTED] = AWS_ERR_SES_MESSAGE_REJECTED, /* the same wire error in v2 */
        [SES_E_TEMPLATE_MISSING] = AWS_ERR_SESV2_NOT_FOUND,
        [SES_E_TEMPLATE_INVALID] = AWS_ERR_SESV2_BAD_REQUEST,
        [SES_E_MISSING_ATTRIBUTE] = AWS_ERR_SESV2_BAD_REQUEST,
        [SES_E_RENDERING_PARAM] = AWS_ERR_SESV2_BAD_REQUEST,
        [SES_E_ALREADY_EXISTS] = AWS_ERR_SESV2_ALREADY_EXISTS,
        [SES_E_LIMIT] = AWS_ERR_SES_LIMIT_EXCEEDED, /* REST-JSON writes its shape */
        [SES_E_CONFIG_SET_MISSING] = AWS_ERR_SESV2_NOT_FOUND,
        [SES_E_NOT_FOUND] = AWS_ERR_SESV2_NOT_FOUND,
    };
    aws_reply_error(call, codes[e->kind], "%s", e->msg);
}

static void bad_request(aws_call *call, const char *msg)
{
    aws_reply_error(call, AWS_ERR_SESV2_BAD_REQUEST, "%s", msg);
}

static const char *path_str(const json_t *o, const char *a, const char *b, const char *c)
{
    const json_t *v = json_object_get(o, a);
    if (b)
        v = json_object_get(v, b);
    if (c)
        v = json_object_get(v, c);
    return json_string_value(v);
}

/* The page size of a List call: its default when absent, -1 (answered) when out of range. */
static json_int_t page_size(aws_call *call, json_int_t dflt, json_int_t min, json_int_t max)
{
    json_t *v = json_object_get(call->input, "PageSize");
    if (!v)
        return dflt;
    json_int_t n = json_integer_value(v);
    if (!json_is_integer(v) || n < min || n > max) {
        aws_reply_error(call, AWS_ERR_SESV2_BAD_REQUEST, "PageSize must be between %lld and %lld.",
                        (long long)min, (long long)max);
        return -1;
    }
    return n == 0 ? dflt : n;
}

/* ---- SendEmail ------------------------------------------------------------------------ */

/* TemplateName, or the name at the end of a TemplateArn (arn:...:template/NAME). */
static const char *template_name(const json_t *tpl)
{
    const char *name = json_string_value(json_object_get(tpl, "TemplateName"));
    const char *arn = json_string_value(json_object_get(tpl, "TemplateArn"));
    if (!name && arn && strstr(arn, ":template/"))
        name = strstr(arn, ":template/") + strlen(":template/");
    return name;
}

static void send_email(aws_call *call)
{
    json_t *in = call->input;
    json_t *content = json_object_get(in, "Content");
    json_t *simple = json_object_get(content, "Simple");
    json_t *raw = json_object_get(content, "Raw");
    json_t *tpl = json_object_get(content, "Template");
    if (!!simple + !!raw + !!tpl != 1) {
        bad_request(call, "Content must have exactly one of Simple, Raw or Template.");
        return;
    }
    json_t *dest = json_object_get(in, "Destination");
    ses_email m = {
        .source = json_string_value(json_object_get(in, "FromEmailAddress")),
        .to = json_object_get(dest, "ToAddresses"),
        .cc = json_object_get(dest, "CcAddresses"),
        .bcc = json_object_get(dest, "BccAddresses"),
        .reply_to = json_object_get(in, "ReplyToAddresses"),
        .return_path = json_string_value(json_object_get(in, "FeedbackForwardingEmailAddress")),
        .configuration_set = json_string_value(json_object_get(in, "ConfigurationSetName")),
    };
    if (simple) {
        m.subject = path_str(simple, "Subject", "Data", NULL);
        m.text = path_str(simple, "Body", "Text", "Data");
        m.html = path_str(simple, "Body", "Html", "Data");
        if (!m.subject) {
            bad_request(call, "Content.Simple.Subject is required.");
            return;
        }
        ses_send_and_reply(call, &m, ses_reply_v2_error);
        return;
    }
    if (raw) {
        const char *data = json_string_value(json_object_get(raw, "Data"));
        buf bytes = BUF_INIT;
        if (!data || base64_decode_mime(&bytes, data, strlen(data)) != 0) {
            buf_free(&bytes);
            bad_request(call, "Content.Raw.Data must be a base64-encoded message.");
            return;
        }
        ses_email r = {.source = m.source,
                       .configuration_set = m.configuration_set,
                       .raw = bytes.data ? bytes.data : "",
                       .raw_len = bytes.len};
        json_t *all = json_array(); /* v2 takes the envelope from Destination when given */
        const json_t *lists[] = {m.to, m.cc, m.bcc};
        for (size_t i = 0; i < 3; i++)
            if (json_is_array(lists[i]))
                json_array_extend(all, (json_t *)lists[i]);
        r.destinations = all;
        ses_send_and_reply(call, &r, ses_reply_v2_error);
        json_decref(all);
        buf_free(&bytes);
        return;
    }
    m.template_name = template_name(tpl);
    m.template_data_text = json_string_value(json_object_get(tpl, "TemplateData"));
    if (!m.template_name) {
        bad_request(call, "Content.Template needs a TemplateName or a TemplateArn.");
        return;
    }
    ses_error e;
    json_t *data = ses_template_data(m.template_data_text, &e);
    if (!data) {
        ses_reply_v2_error(call, &e);
        return;
    }
    m.template_data = data;
    ses_send_and_reply(call, &m, ses_reply_v2_error);
    json_decref(data);
}

/* ---- email templates ------------------------------------------------------------------ */

static void put_template(aws_call *call, int create)
{
    const char *name = json_string_value(json_object_get(call->input, "TemplateName"));
    json_t *c = json_object_get(call->input, "TemplateContent");
    ses_tmpl *t;
    ses_error e;
    if (!c) {
        bad_request(call, "TemplateContent is required.");
        return;
    }
    if (ses_tmpl_put(ses_of(call), name, path_str(c, "Subject", NULL, NULL),
                     path_str(c, "Text", NULL, NULL), path_str(c, "Html", NULL, NULL), create, &t,
                     &e) != 0) {
        ses_reply_v2_error(call, &e);
        return;
    }
    json_t *doc = ses_tmpl_doc(t);
    ses_persist_doc(ses_of(call), call, NULL, SES_NS_TEMPLATE, t->name, doc);
    json_decref(doc);
}

static void create_email_template(aws_call *call)
{
    put_template(call, 1);
}

static void update_email_template(aws_call *call)
{
    put_template(call, 0);
}

static ses_tmpl *template_or_404(aws_call *call)
{
    const char *name = json_string_value(json_object_get(call->input, "TemplateName"));
    ses_tmpl *t = ses_tmpl_find(ses_of(call), name);
    if (!t)
        aws_reply_error(call, AWS_ERR_SESV2_NOT_FOUND, "Template %s does not exist.",
                        name ? name : "");
    return t;
}

static void get_email_template(aws_call *call)
{
    ses_tmpl *t = template_or_404(call);
    if (!t)
        return;
    json_t *c = json_object();
    if (t->subject)
        json_object_set_new(c, "Subject", json_string(t->subject));
    if (t->text)
        json_object_set_new(c, "Text", json_string(t->text));
    if (t->html)
        json_object_set_new(c, "Html", json_string(t->html));
    aws_reply(call, json_pack("{s:s, s:o}", "TemplateName", t->name, "TemplateContent", c));
}

static void delete_email_template(aws_call *call)
{
    ses_tmpl *t = template_or_404(call);
    if (!t)
        return;
    char *name = xstrdup(t->name);
    ses_tmpl_remove(ses_of(call), name);
    ses_persist_doc(ses_of(call), call, NULL, SES_NS_TEMPLATE, name, NULL);
    xfree(name);
}

static void list_email_templates(aws_call *call)
{
    json_int_t max = page_size(call, TEMPLATES_PAGE_DEFAULT, 1, TEMPLATES_PAGE_MAX);
    if (max < 0)
        return;
    const char *after = json_string_value(json_object_get(call->input, "NextToken"));
    const ses_tmpl *t = ses_of(call)->templates;
    while (t && after && *after && strcmp(t->name, after) <= 0)
        t = t->next;
    json_t *list = json_array();
    const ses_tmpl *last = NULL;
    for (; t && (json_int_t)json_array_size(list) < max; t = t->next) {
        json_array_append_new(list, json_pack("{s:s, s:f}", "TemplateName", t->name,
                                              "CreatedTimestamp", t->created_ms / 1000.0));
        last = t;
    }
    json_t *out = json_pack("{s:o}", "TemplatesMetadata", list);
    if (t && last)
        json_object_set_new(out, "NextToken", json_string(last->name));
    aws_reply(call, out);
}

static void test_render_email_template(aws_call *call)
{
    buf out = BUF_INIT;
    ses_error e;
    if (ses_test_render(
            ses_of(call), json_string_value(json_object_get(call->input, "TemplateName")),
            json_string_value(json_object_get(call->input, "TemplateData")), &out, &e) != 0) {
        buf_free(&out);
        ses_reply_v2_error(call, &e);
        return;
    }
    aws_reply(call, json_pack("{s:s%}", "RenderedTemplate", out.data ? out.data : "", out.len));
    buf_free(&out);
}

/* ---- email identities ----------------------------------------------------------------- */

static const char *identity_type(const ses_identity *id)
{
    return id->domain ? "DOMAIN" : "EMAIL_ADDRESS";
}

static json_t *dkim_attributes(void)
{
    return json_pack("{s:b, s:s, s:s}", "SigningEnabled", 0, "Status", "NOT_STARTED",
                     "SigningAttributesOrigin", "AWS_SES");
}

static void create_email_identity(aws_call *call)
{
    ses *s = ses_of(call);
    const char *name = json_string_value(json_object_get(call->input, "EmailIdentity"));
    if (!name || !*name) {
        bad_request(call, "EmailIdentity is required.");
        return;
    }
    int domain = strchr(name, '@') == NULL;
    if (ses_identity_find(s, name)) {
        aws_reply_error(call, AWS_ERR_SESV2_ALREADY_EXISTS, "Email identity %s already exists.",
                        name);
        return;
    }
    ses_identity *id;
    ses_error e;
    if (ses_identity_add(s, name, domain, &id, &e) < 0) {
        ses_reply_v2_error(call, &e);
        return;
    }
    json_t *reply = json_pack("{s:s, s:b, s:o}", "IdentityType", identity_type(id),
                              "VerifiedForSendingStatus", 1, "DkimAttributes", dkim_attributes());
    char key[320];
    size_t i = 0;
    for (; id->name[i] && i + 1 < sizeof key; i++)
        key[i] = (char)(id->name[i] >= 'A' && id->name[i] <= 'Z' ? id->name[i] + 32 : id->name[i]);
    key[i] = '\0';
    json_t *doc = ses_identity_doc(id);
    ses_persist_doc(s, call, reply, SES_NS_IDENTITY, key, doc);
    json_decref(doc);
}

static void get_email_identity(aws_call *call)
{
    const char *name = json_string_value(json_object_get(call->input, "EmailIdentity"));
    ses_identity *id = name ? ses_identity_find(ses_of(call), name) : NULL;
    if (!id) {
        aws_reply_error(call, AWS_ERR_SESV2_NOT_FOUND, "Email identity %s does not exist.",
                        name ? name : "");
        return;
    }
    aws_reply(call, json_pack("{s:s, s:b, s:b, s:s, s:o, s:{}, s:[]}", "IdentityType",
                              identity_type(id), "FeedbackForwardingStatus", 1,
                              "VerifiedForSendingStatus", 1, "VerificationStatus", "SUCCESS",
                              "DkimAttributes", dkim_attributes(), "Policies", "Tags"));
}

static void list_email_identities(aws_call *call)
{
    json_int_t max = page_size(call, IDENTITIES_PAGE_DEFAULT, 0, IDENTITIES_PAGE_MAX);
    if (max < 0)
        return;
    const char *after = json_string_value(json_object_get(call->input, "NextToken"));
    const ses_identity *id = ses_of(call)->identities;
    while (id && after && *after && strcasecmp(id->name, after) <= 0)
        id = id->next;
    json_t *list = json_array();
    const ses_identity *last = NULL;
    for (; id && (json_int_t)json_array_size(list) < max; id = id->next) {
        json_array_append_new(list,
                              json_pack("{s:s, s:s, s:b, s:s}", "IdentityType", identity_type(id),
                                        "IdentityName", id->name, "SendingEnabled", 1,
                                        "VerificationStatus", "SUCCESS"));
        last = id;
    }
    json_t *out = json_pack("{s:o}", "EmailIdentities", list);
    if (id && last)
        json_object_set_new(out, "NextToken", json_string(last->name));
    aws_reply(call, out);
}

/* ---- the service ---------------------------------------------------------------------- */

/* Sorted by name: the router searches it. */
static const aws_op_def ses_v2_ops[] = {
    {"CreateEmailIdentity", create_email_identity},
    {"CreateEmailTemplate", create_email_template},
    {"DeleteEmailTemplate", delete_email_template},
    {"GetEmailIdentity", get_email_identity},
    {"GetEmailTemplate", get_email_template},
    {"ListEmailIdentities", list_email_identities},
    {"ListEmailTemplates", list_email_templates},
    {"SendEmail", send_email},
    {"TestRenderEmailTemplate", test_render_email_template},
    {"UpdateEmailTemplate", update_email_template},
};

void ses_v2_init(ses *s)
{
    s->def_v2.model = &model_sesv2;
    s->def_v2.json_protocol = AWS_PROTO_JSON_1_0;
    s->def_v2.ops = ses_v2_ops;
    s->def_v2.nops = sizeof ses_v2_ops / sizeof ses_v2_ops[0];
    s->def_v2.ctx = s;
    s->def_v2.rest_input_error = AWS_ERR_SESV2_BAD_REQUEST;
}
