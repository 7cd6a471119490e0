/* SMS: Publish to a PhoneNumber and sms subscriptions, delivered through an HTTP SMS
 * gateway (the "sms" kind of durable delivery).
 *
 * A text message is planned in the Publish's own transaction, like every other delivery,
 * together with its record in the SMS log (GET SNS_SMS_LOG_PATH). An attempt POSTs the
 * gateway's request: --sms-gateway-body with {{phone}}, {{sender}}, {{message}}, {{type}}
 * and {{id}} replaced by the values escaped for --sms-gateway-content-type (JSON string
 * content, form encoding, or as they are), plus the --sms-gateway-auth header. A 2xx
 * delivers it; a 429, a 5xx or no answer is retried 1, 5 and 20 s later; then, or at once
 * on another 4xx, the message goes to the subscription's dead-letter queue (a direct
 * Publish to a number has none: it is logged and dropped). Without a gateway the SMS log is
 * all there is.
 *
 * The sender id and type come from the AWS.SNS.SMS.SenderID and AWS.SNS.SMS.SMSType message
 * attributes, else from the account's SetSMSAttributes (DefaultSenderID, DefaultSMSType),
 * else "" and "Promotional", as on AWS. */
#include "services/sns/sns_internal.h"

#include "common/alloc.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "delivery/fanout.h"
#include "delivery/record_log.h"
#include "protocol/form.h"
#include "protocol/json_codec.h"

#include <stdio.h>
#include <string.h>

#define SMS_LOG_ARCHIVE "sluice:sms"
#define TIMEOUT_MS      10000
static const int retry_delays_s[] = {1, 5, 20};
#define MAX_RETRIES (int)(sizeof retry_delays_s / sizeof retry_delays_s[0])

int sns_valid_phone(const char *p)
{
    if (!p || p[0] != '+' || p[1] < '1' || p[1] > '9')
        return 0;
    size_t n = 0;
    for (p++; *p; p++, n++)
        if (*p < '0' || *p > '9')
            return 0;
    return n >= 2 && n <= 15;
}

/* A message attribute's string value, else the account default, else `def`. */
static const char *sms_setting(const sns *s, const json_t *attrs, const char *attr,
                               const char *account_key, const char *def)
{
    const char *v = json_string_value(json_object_get(json_object_get(attrs, attr), "StringValue"));
    if (!v)
        v = json_string_value(json_object_get(s->sms_attributes, account_key));
    return v && *v ? v : def;
}

int sns_sms_check(const sns *s, const json_t *attrs, aws_failure *err)
{
    const char *type = sms_setting(s, attrs, "AWS.SNS.SMS.SMSType", "DefaultSMSType", NULL);
    if (type && strcmp(type, "Promotional") != 0 && strcmp(type, "Transactional") != 0)
        return aws_fail(err, AWS_ERR_SNS_INVALID_PARAMETER,
                        "Invalid parameter: The SMSType must be Promotional or Transactional");
    const char *sender = sms_setting(s, attrs, "AWS.SNS.SMS.SenderID", "DefaultSenderID", NULL);
    if (sender) {
        size_t n = strlen(sender), letters = 0;
        for (const char *p = sender; *p; p++) {
            int alpha = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z');
            if (!alpha && !(*p >= '0' && *p <= '9') && *p != '-')
                n = 0;
            letters += alpha;
        }
        if (n < 1 || n > 11 || letters == 0)
            return aws_fail(err, AWS_ERR_SNS_INVALID_PARAMETER,
                            "Invalid parameter: The SenderID must be 1-11 alphanumeric or "
                            "hyphen characters with at least one letter");
    }
    return 0;
}

void sns_sms_plan(sns *s, fanout *f, const char *phone, const char *message, const json_t *attrs,
                  const char *message_id, const sns_sub *sub)
{
    const char *sender = sms_setting(s, attrs, "AWS.SNS.SMS.SenderID", "DefaultSenderID", "");
    const char *type =
        sms_setting(s, attrs, "AWS.SNS.SMS.SMSType", "DefaultSMSType", "Promotional");
    json_t *target = json_pack("{s:s, s:s, s:s, s:s}", "phone", phone, "sender", sender, "type",
                               type, "message_id", message_id);
    if (sub) {
        json_object_set_new(target, "topic_arn", json_string(sub->topic->arn));
        json_object_set_new(target, "sub", json_string(sub->id));
        json_object_set_new(target, "sub_arn", json_string(sub->arn));
    }
    fanout_delivery(f, "sms", target, message, strlen(message));
    json_t *rec = json_pack("{s:s, s:s, s:s, s:s, s:s}", "Id", message_id, "PhoneNumber", phone,
                            "SenderID", sender, "SMSType", type, "Message", message);
    char ts[32];
    clock_iso8601_ms(fanout_now(f), ts);
    json_object_set_new(rec, "Timestamp", json_string(ts));
    if (sub) {
        json_object_set_new(rec, "TopicArn", json_string(sub->topic->arn));
        json_object_set_new(rec, "SubscriptionArn", json_string(sub->arn));
    }
    buf text = BUF_INIT;
    jsonc_dump(&text, rec);
    fanout_archive(f, SMS_LOG_ARCHIVE, text.data, text.len);
    buf_free(&text);
    json_decref(rec);
    json_decref(target);
}

/* ---- delivery ------------------------------------------------------------------------ */

typedef struct attempt {
    delivery_job *job;
    sns *s;
    json_t *target;
} attempt;

static void attempt_free(attempt *a)
{
    json_decref(a->target);
    xfree(a);
}

/* Appends v escaped for the gateway's content type. */
static void put_value(const sns *s, buf *out, const char *v)
{
    const char *type = s->sms.content_type ? s->sms.content_type : "";
    if (strstr(type, "json")) {
        buf tmp = BUF_INIT;
        jsonc_put_string_lossy(&tmp, v, strlen(v));
        buf_append(out, tmp.data + 1, tmp.len - 2); /* without the quotes */
        buf_free(&tmp);
    } else if (strstr(type, "x-www-form-urlencoded")) {
        form_put_escaped(out, v);
    } else {
        buf_puts(out, v);
    }
}

/* The gateway request body: the template with its placeholders replaced. */
static void render_body(const sns *s, const json_t *target, const char *message, buf *out)
{
    static const char *const names[] = {"phone", "sender", "message", "type", "id"};
    const char *tpl = s->sms.body_template ? s->sms.body_template : "";
    while (*tpl) {
        const char *open = strstr(tpl, "{{");
        if (!open) {
            buf_puts(out, tpl);
            break;
        }
        buf_append(out, tpl, (size_t)(open - tpl));
        const char *close = strstr(open + 2, "}}");
        size_t i = 0, n = close ? (size_t)(close - open - 2) : 0;
        for (; close && i < sizeof names / sizeof names[0]; i++)
            if (strlen(names[i]) == n && strncmp(open + 2, names[i], n) == 0)
                break;
        if (!close || i == sizeof names / sizeof names[0]) { /* not ours: as it is */
            buf_puts(out, "{{");
            tpl = open + 2;
            continue;
        }
        const char *v = i == 2   ? message
                        : i == 4 ? json_string_value(json_object_get(target, "message_id"))
                                 : json_string_value(json_object_get(target, names[i]));
        put_value(s, out, v ? v : "");
        tpl = close + 2;
    }
}

static void dead_lettered(fanout *f, int status, void *arg)
{
    (void)f;
    attempt *a = arg;
    if (status != 0)
        log_error("dead-lettering failed: the SMS is sent again after a restart", NULL);
    delivery_job_release(a->job);
    attempt_free(a);
}

static void give_up(attempt *a, const char *code, const char *message)
{
    fanout *f = fanout_new(a->s->store, a->s->sqs, clock_now_ms(), a->s->account);
    fanout_op(f, delivery_job_finish_op(a->job));
    const char *sub_arn = json_string_value(json_object_get(a->target, "sub_arn"));
    if (sub_arn)
        sns_dead_letter(a->s, f, sns_sub_of_target(a->s, a->target), sub_arn, a->job->rec.payload,
                        a->job->rec.payload_len,
                        json_string_value(json_object_get(a->target, "message_id")), code, message);
    else
        log_warn("sms dropped: the gateway did not take it", "phone=%s code=%s err='%s'",
                 json_string_value(json_object_get(a->target, "phone")), code, message);
    fanout_commit(f, dead_lettered, a);
}

static void failed(attempt *a, int retryable, const char *code, const char *message)
{
    int n = a->job->rec.attempts; /* retries made so far */
    if (!retryable || n >= MAX_RETRIES) {
        give_up(a, code, message);
        return;
    }
    delivery_job_retry(a->job, clock_now_ms() + retry_delays_s[n] * 1000LL, 1);
    attempt_free(a);
}

static void on_response(const http_client_response *res, void *arg)
{
    attempt *a = arg;
    char msg[512];
    switch (http_client_outcome(res)) {
    case HTTP_OUTCOME_CANCELLED: /* shutting down: due again at the next start */
        delivery_job_release(a->job);
        attempt_free(a);
        return;
    case HTTP_OUTCOME_DELIVERED:
        delivery_job_done(a->job);
        attempt_free(a);
        return;
    case HTTP_OUTCOME_RETRYABLE:
    case HTTP_OUTCOME_REFUSED:
        break;
    }
    if (res->error)
        snprintf(msg, sizeof msg, "%s", res->error_message);
    else
        snprintf(msg, sizeof msg, "The SMS gateway responded with HTTP %d.", res->status);
    failed(a, http_client_outcome(res) == HTTP_OUTCOME_RETRYABLE,
           res->error ? "GatewayUnavailable" : "GatewayError", msg);
}

static void attempt_sms(delivery_job *job, void *arg)
{
    sns *s = arg;
    if (!s->sms.gateway_url || !*s->sms.gateway_url) { /* no gateway: the log is all */
        delivery_job_done(job);
        return;
    }
    attempt *a = xcalloc(1, sizeof *a);
    a->job = job;
    a->s = s;
    a->target = json_loads(job->rec.target_json, 0, NULL);
    buf body = BUF_INIT, type = BUF_INIT;
    render_body(s, a->target, job->rec.payload, &body);
    buf_printf(&type, "Content-Type: %s", s->sms.content_type ? s->sms.content_type : "");
    const char *headers[2] = {type.data, s->sms.auth_header};
    http_client_request req = {
        .method = "POST",
        .url = s->sms.gateway_url,
        .headers = headers,
        .nheaders = s->sms.auth_header && *s->sms.auth_header ? 2 : 1,
        .body = body.data,
        .body_len = body.len,
        .timeout_ms = TIMEOUT_MS,
    };
    int rc = http_client_send(s->http, &req, on_response, a);
    buf_free(&body);
    buf_free(&type);
    if (rc != 0)
        failed(a, rc != HTTP_CLIENT_EINVAL, "GatewayError", "The request could not be sent.");
}

int sns_sms_init(sns *s)
{
    s->sms_kind = (delivery_kind){"sms", attempt_sms, s, 0};
    return delivery_create(&s->sms_deliveries, s->loop, s->store, &s->sms_kind);
}

int sns_sms_handle_get(http_request *req, sns *s)
{
    if (strcmp(req->path, SNS_SMS_LOG_PATH) != 0)
        return 0;
    record_log_serve(req, s->store, SMS_LOG_ARCHIVE, "messages");
    return 1;
}
