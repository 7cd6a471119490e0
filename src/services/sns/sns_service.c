/* The SNS service: its operation table, lifecycle, the certificate endpoint and the helpers
 * its handlers share. */
#include "services/sns/sns_internal.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"
#include "services/service_docs.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const aws_op_def sns_ops[] = {
    {"CheckIfPhoneNumberIsOptedOut", sns_check_if_phone_number_is_opted_out},
    {"ConfirmSubscription", sns_confirm_subscription},
    {"CreateTopic", sns_create_topic},
    {"DeleteTopic", sns_delete_topic},
    {"GetSMSAttributes", sns_get_sms_attributes},
    {"GetSubscriptionAttributes", sns_get_subscription_attributes},
    {"GetTopicAttributes", sns_get_topic_attributes},
    {"ListSubscriptions", sns_list_subscriptions},
    {"ListSubscriptionsByTopic", sns_list_subscriptions_by_topic},
    {"ListTagsForResource", sns_list_tags_for_resource},
    {"ListTopics", sns_list_topics},
    {"Publish", sns_publish},
    {"PublishBatch", sns_publish_batch},
    {"SetSMSAttributes", sns_set_sms_attributes},
    {"SetSubscriptionAttributes", sns_set_subscription_attributes},
    {"SetTopicAttributes", sns_set_topic_attributes},
    {"Subscribe", sns_subscribe},
    {"TagResource", sns_tag_resource},
    {"Unsubscribe", sns_unsubscribe},
    {"UntagResource", sns_untag_resource},
};

/* ---- helpers ------------------------------------------------------------------------ */

const char *sns_str(const aws_call *call, const char *name)
{
    json_t *v = json_object_get(call->input, name);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

void sns_invalid(aws_call *call, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    aws_reply_error(call, AWS_ERR_SNS_INVALID_PARAMETER, "Invalid parameter: %s", msg);
}

void sns_persist_docs(sns *s, aws_call *call, json_t *reply, const store_doc *docs, size_t n)
{
    service_persist_docs(s->store, call, reply, AWS_ERR_INTERNAL_ERROR, docs, n);
}

void sns_persist_doc(sns *s, aws_call *call, json_t *reply, const char *ns, const char *key,
                     const json_t *doc)
{
    service_persist_doc(s->store, call, reply, AWS_ERR_INTERNAL_ERROR, ns, key, doc);
}

/* ---- the certificate endpoint ------------------------------------------------------- */

void sns_handle_get(http_request *req, void *ctx)
{
    sns *s = ctx;
    if (sns_sms_handle_get(req, s))
        return;
    buf b = BUF_INIT;
    if (strcmp(req->path, SNS_GET_PREFIX "SimpleNotificationService.pem") == 0) {
        size_t len;
        const char *pem = sns_signer_cert_pem(s->signer, &len);
        buf_append(&b, pem, len);
        http_header h[] = {{"Content-Type", "application/x-pem-file"}};
        http_respond(req, 200, h, 1, &b);
        return;
    }
    buf_puts(&b, "Not found.\n");
    http_header h[] = {{"Content-Type", "text/plain; charset=utf-8"}};
    http_respond(req, 404, h, 1, &b);
}

/* ---- account SMS settings ----------------------------------------------------------- */

static void sms_attributes_restore(const char *key, const char *doc, void *arg)
{
    sns *s = arg;
    json_t *j = json_loads(doc, 0, NULL);
    if (json_is_object(j) && strcmp(key, "attributes") == 0)
        json_object_update(s->sms_attributes, j);
    json_decref(j);
}

/* The SetSMSAttributes names SNS knows (the others are refused). */
static const char *const sms_attribute_names[] = {
    "MonthlySpendLimit", "DeliveryStatusIAMRole", "DeliveryStatusSuccessSamplingRate",
    "DefaultSenderID",   "DefaultSMSType",        "UsageReportS3Bucket",
};

void sns_set_sms_attributes(aws_call *call)
{
    sns *s = sns_of(call);
    json_t *in = json_object_get(call->input, "attributes");
    if (!json_is_object(in)) {
        sns_invalid(call, "attributes");
        return;
    }
    const char *k;
    json_t *v;
    json_object_foreach(in, k, v)
    {
        size_t i = 0, n = sizeof sms_attribute_names / sizeof sms_attribute_names[0];
        while (i < n && strcmp(sms_attribute_names[i], k) != 0)
            i++;
        if (i == n || !json_is_string(v)) {
            sns_invalid(call, "%s", k);
            return;
        }
        const char *val = json_string_value(v);
        if (strcmp(k, "DefaultSMSType") == 0 && strcmp(val, "Promotional") != 0 &&
            strcmp(val, "Transactional") != 0) {
            sns_invalid(call, "DefaultSMSType Reason: must be Promotional or Transactional");
            return;
        }
    }
    json_object_update(s->sms_attributes, in);
    sns_persist_doc(s, call, NULL, "sns.sms", "attributes", s->sms_attributes);
}

void sns_get_sms_attributes(aws_call *call)
{
    sns *s = sns_of(call);
    json_t *names = json_object_get(call->input, "attributes");
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(s->sms_attributes, k, v)
    {
        int wanted = json_array_size(names) == 0;
        for (size_t i = 0; !wanted && i < json_array_size(names); i++)
            wanted = strcmp(json_string_value(json_array_get(names, i)) ?: "", k) == 0;
        if (wanted)
            json_object_set(out, k, v);
    }
    aws_reply(call, json_pack("{s:o}", "attributes", out));
}

/* Sluice keeps no opt-out list: no number has opted out. */
void sns_check_if_phone_number_is_opted_out(aws_call *call)
{
    const char *phone = sns_str(call, "phoneNumber");
    if (!phone || !sns_valid_phone(phone)) {
        sns_invalid(call, "phoneNumber Reason: input incorrectly formatted");
        return;
    }
    aws_reply(call, json_pack("{s:b}", "isOptedOut", 0));
}

/* ---- lifecycle ---------------------------------------------------------------------- */

int sns_create(sns **out, uv_loop_t *loop, store *st, sqs *queues, const sns_config *cfg)
{
    sns *s = xcalloc(1, sizeof *s);
    s->def.model = &model_sns;
    s->def.json_protocol = AWS_PROTO_JSON_1_0;
    s->def.ops = sns_ops;
    s->def.nops = sizeof sns_ops / sizeof sns_ops[0];
    s->def.ctx = s;
    s->loop = loop;
    s->store = st;
    s->sqs = queues;
    s->region = cfg->region;
    s->account = cfg->account;
    s->mail = cfg->mail;
    s->sms.gateway_url = xstrdup(cfg->sms.gateway_url ? cfg->sms.gateway_url : "");
    s->sms.auth_header = xstrdup(cfg->sms.auth_header ? cfg->sms.auth_header : "");
    s->sms.body_template = xstrdup(cfg->sms.body_template ? cfg->sms.body_template : "");
    s->sms.content_type =
        xstrdup(cfg->sms.content_type ? cfg->sms.content_type : "application/json");
    s->sms_attributes = json_object();
    snprintf(s->public_url, sizeof s->public_url, "%s", cfg->public_url);
    size_t n = strlen(s->public_url);
    while (n > 0 && s->public_url[n - 1] == '/')
        s->public_url[--n] = '\0';
    s->scratch = pattern_event_new();
    char err[256];
    if (sns_signer_open(&s->signer, cfg->data_dir, "sluice-sns", err, sizeof err) != 0) {
        log_error("cannot open the SNS signing key", "err='%s'", err);
        goto fail;
    }
    if (store_load_docs(st, "sns.topic", sns_topic_restore, s) != 0 ||
        store_load_docs(st, "sns.sub", sns_sub_restore, s) != 0 ||
        store_load_docs(st, "sns.sms", sms_attributes_restore, s) != 0)
        goto fail;
    if (http_client_create(&s->http, loop) != 0 || sns_deliver_init(s) != 0 || sns_sms_init(s) != 0)
        goto fail;
    sns_email_init(s);
    size_t ntopics = 0, nsubs = 0;
    for (sns_topic *t = s->topics; t; t = t->next) {
        ntopics++;
        nsubs += t->nsubs;
    }
    log_info("sns ready", "topics=%zu subscriptions=%zu", ntopics, nsubs);
    *out = s;
    return 0;
fail:
    sns_destroy(s);
    *out = NULL;
    return -1;
}

const aws_service_def *sns_service_def(const sns *s)
{
    return &s->def;
}

void sns_shutdown(sns *s)
{
    if (!s)
        return;
    s->stopping = 1;
    if (s->deliveries)
        delivery_stop(s->deliveries);
    if (s->sms_deliveries)
        delivery_stop(s->sms_deliveries);
}

void sns_destroy(sns *s)
{
    if (!s)
        return;
    http_client_destroy(s->http);
    delivery_destroy(s->deliveries);
    delivery_destroy(s->sms_deliveries);
    json_decref(s->sms_attributes);
    xfree((char *)s->sms.gateway_url);
    xfree((char *)s->sms.auth_header);
    xfree((char *)s->sms.body_template);
    xfree((char *)s->sms.content_type);
    sns_topics_free(s);
    sns_signer_close(s->signer);
    pattern_event_free(s->scratch);
    xfree(s);
}
