/* Delivering to HTTP(S) subscriptions: the "sns" kind of durable delivery.
 *
 * A pending delivery (planned in the Publish or Subscribe transaction) holds the
 * subscription, the endpoint and the body (the signed envelope, or the raw message). An
 * attempt POSTs it with SNS's headers on the loop's HTTP client; a 2xx delivers it. A 5xx,
 * a 429 or no answer is retried as the subscription's (else the topic's) DeliveryPolicy
 * says (healthyRetryPolicy: numRetries, numNoDelayRetries, numMinDelayRetries,
 * minDelayTarget, maxDelayTarget, backoffFunction; AWS's default: 3 retries 20 s apart).
 * Another 4xx is not retried. A delivery that cannot succeed goes to the subscription's
 * RedrivePolicy dead-letter queue (the body, with ErrorCode and ErrorMessage attributes)
 * in the same transaction that removes it, or is dropped (logged). */
#include "services/sns/sns_internal.h"

#include "services/lambda/lambda.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"
#include "delivery/fanout.h"
#include "delivery/mail.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define TIMEOUT_MS 15000

typedef struct attempt {
    delivery_job *job;
    sns *s;
    json_t *target; /* {type, sub, sub_arn, topic_arn, endpoint, message_id, raw} */
} attempt;

static void attempt_free(attempt *a)
{
    json_decref(a->target);
    xfree(a);
}

sns_sub *sns_sub_of_target(sns *s, const json_t *target)
{
    const char *topic_arn = json_string_value(json_object_get(target, "topic_arn"));
    const char *id = json_string_value(json_object_get(target, "sub"));
    const char *colon = topic_arn ? strrchr(topic_arn, ':') : NULL;
    sns_topic *t = colon ? sns_topic_find(s, colon + 1) : NULL;
    for (sns_sub *sub = t ? t->subs : NULL; sub; sub = sub->next)
        if (id && strcmp(sub->id, id) == 0)
            return sub;
    return NULL;
}

/* The healthyRetryPolicy that applies: the subscription's, else the topic's, else AWS's. */
static json_t *retry_policy(const sns_sub *sub)
{
    const char *own = sub ? json_string_value(json_object_get(
                                json_object_get(sub->doc, "Attributes"), "DeliveryPolicy"))
                          : NULL;
    const char *topic = sub ? json_string_value(json_object_get(
                                  json_object_get(sub->topic->doc, "Attributes"), "DeliveryPolicy"))
                            : NULL;
    json_t *p = own ? json_loads(own, 0, NULL) : NULL;
    json_t *r = json_incref(json_object_get(p, "healthyRetryPolicy"));
    json_decref(p);
    if (!r && topic) {
        p = json_loads(topic, 0, NULL);
        json_t *http = json_object_get(p, "http");
        r = json_incref(json_object_get(http, "defaultHealthyRetryPolicy"));
        json_decref(p);
    }
    return r ? r : json_object();
}

static int policy_int(const json_t *p, const char *k, int def)
{
    json_t *v = json_object_get(p, k);
    return json_is_integer(v) ? (int)json_integer_value(v) : def;
}

/* Seconds before retry number n (1-based), or -1 when the policy allows no more. */
static double retry_delay(const json_t *p, int n)
{
    int retries = policy_int(p, "numRetries", 3);
    int no_delay = policy_int(p, "numNoDelayRetries", 0);
    int min_retries = policy_int(p, "numMinDelayRetries", 0);
    int max_retries = policy_int(p, "numMaxDelayRetries", 0);
    double min = policy_int(p, "minDelayTarget", 20), max = policy_int(p, "maxDelayTarget", 20);
    if (n > retries)
        return -1;
    if (n <= no_delay)
        return 0;
    if (n <= no_delay + min_retries)
        return min;
    int backoff = retries - no_delay - min_retries - max_retries; /* retries between min, max */
    int i = n - no_delay - min_retries;                           /* 1..backoff, then max */
    if (backoff <= 0 || i > backoff)
        return max;
    const char *fn = json_string_value(json_object_get(p, "backoffFunction"));
    double f = backoff == 1 ? 1.0 : (double)(i - 1) / (backoff - 1);
    if (fn && strcmp(fn, "exponential") == 0 && min > 0)
        return min * pow(max / min, f);
    if (fn && strcmp(fn, "geometric") == 0)
        return min + (max - min) * f * f;
    return min + (max - min) * f; /* linear, arithmetic */
}

static void dead_lettered(fanout *f, int status, void *arg)
{
    (void)f;
    attempt *a = arg;
    if (status != 0)
        log_error("dead-lettering failed: the delivery runs again after a restart", NULL);
    delivery_job_release(a->job);
    attempt_free(a);
}

static json_t *attr(const char *v)
{
    return json_pack("{s:s, s:s}", "DataType", "String", "StringValue", v);
}

void sns_dead_letter(sns *s, fanout *f, const sns_sub *sub, const char *sub_arn, const char *body,
                     size_t len, const char *message_id, const char *code, const char *message)
{
    const char *policy = sub ? json_string_value(json_object_get(
                                   json_object_get(sub->doc, "Attributes"), "RedrivePolicy"))
                             : NULL;
    json_t *p = policy ? json_loads(policy, 0, NULL) : NULL;
    const char *dlq = json_string_value(json_object_get(p, "deadLetterTargetArn"));
    if (dlq) {
        json_t *attrs = json_object();
        json_object_set_new(attrs, "ErrorCode", attr(code));
        json_object_set_new(attrs, "ErrorMessage", attr(message));
        char err[256];
        if (fanout_queue(f, dlq, body, len, attrs, sub->topic->fifo ? message_id : NULL, NULL, err,
                         sizeof err) != 0)
            log_warn("sns delivery dropped: its dead-letter queue refused it",
                     "subscription=%s err='%s'", sub_arn ? sub_arn : "", err);
        json_decref(attrs);
    } else {
        log_warn("sns delivery dropped: it failed and the subscription has no dead-letter queue",
                 "subscription=%s code=%s", sub_arn ? sub_arn : "", code);
    }
    json_decref(p);
}

static void give_up(attempt *a, const char *code, const char *message)
{
    fanout *f = fanout_new(a->s->store, a->s->sqs, clock_now_ms(), a->s->account);
    fanout_op(f, delivery_job_finish_op(a->job));
    const char *type = json_string_value(json_object_get(a->target, "type"));
    if (type && strcmp(type, "Notification") != 0) /* a confirmation is not a message */
        log_warn("sns subscription confirmation not delivered", "subscription=%s code=%s",
                 json_string_value(json_object_get(a->target, "sub_arn")), code);
    else
        sns_dead_letter(a->s, f, sns_sub_of_target(a->s, a->target),
                        json_string_value(json_object_get(a->target, "sub_arn")),
                        a->job->rec.payload, a->job->rec.payload_len,
                        json_string_value(json_object_get(a->target, "message_id")), code, message);
    fanout_commit(f, dead_lettered, a);
}

static void failed(attempt *a, int retryable, const char *code, const char *message)
{
    sns_sub *sub = sns_sub_of_target(a->s, a->target);
    if (!sub || !retryable) {
        give_up(a, code, message);
        return;
    }
    json_t *p = retry_policy(sub);
    double delay = retry_delay(p, a->job->rec.attempts + 1);
    json_decref(p);
    if (delay < 0) {
        give_up(a, code, message);
        return;
    }
    delivery_job_retry(a->job, clock_now_ms() + (int64_t)(delay * 1000), 1);
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
        snprintf(msg, sizeof msg, "The endpoint responded with HTTP %d.", res->status);
    failed(a, http_client_outcome(res) == HTTP_OUTCOME_RETRYABLE,
           res->error ? "EndpointUnavailable" : "EndpointError", msg);
}

static void attempt_delivery(delivery_job *job, void *arg)
{
    sns *s = arg;
    attempt *a = xcalloc(1, sizeof *a);
    a->job = job;
    a->s = s;
    a->target = json_loads(job->rec.target_json, 0, NULL);
    const char *type = json_string_value(json_object_get(a->target, "type"));
    sns_sub *sub = sns_sub_of_target(s, a->target);
    if (!sub) { /* unsubscribed meanwhile: nothing to deliver to */
        delivery_job_done(job);
        attempt_free(a);
        return;
    }
    char h_type[64], h_id[96], h_topic[400], h_sub[600];
    snprintf(h_type, sizeof h_type, "x-amz-sns-message-type: %s", type ? type : "Notification");
    snprintf(h_id, sizeof h_id, "x-amz-sns-message-id: %s",
             json_string_value(json_object_get(a->target, "message_id")) ?: "");
    snprintf(h_topic, sizeof h_topic, "x-amz-sns-topic-arn: %s", sub->topic->arn);
    snprintf(h_sub, sizeof h_sub, "x-amz-sns-subscription-arn: %s", sub->arn);
    const char *headers[7] = {h_type, h_id, h_topic, "Content-Type: text/plain; charset=UTF-8",
                              "User-Agent: Amazon Simple Notification Service Agent"};
    size_t nh = 5;
    if (type && strcmp(type, "Notification") == 0)
        headers[nh++] = h_sub;
    if (json_is_true(json_object_get(a->target, "raw")))
        headers[nh++] = "x-amz-sns-rawdelivery: true";
    http_client_request req = {
        .method = "POST",
        .url = sub->endpoint,
        .headers = headers,
        .nheaders = nh,
        .body = job->rec.payload,
        .body_len = job->rec.payload_len,
        .timeout_ms = TIMEOUT_MS,
    };
    int rc = http_client_send(s->http, &req, on_response, a);
    if (rc != 0)
        failed(a, rc != HTTP_CLIENT_EINVAL, "EndpointError", "The request could not be sent.");
}

static delivery_kind sns_kind = {"sns", attempt_delivery, NULL, 0};

int sns_deliver_init(sns *s)
{
    sns_kind.arg = s;
    return delivery_create(&s->deliveries, s->loop, s->store, &sns_kind);
}

void sns_deliver_poke(sns *s)
{
    if (s->stopping)
        return;
    delivery_poke(s->deliveries);
    delivery_poke(s->sms_deliveries);
    mailer_poke(s->mail);
    lambda_events_committed(s->lambda);
}
