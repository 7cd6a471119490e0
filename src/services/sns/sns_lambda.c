/* The lambda subscription protocol: a publish invokes the subscribed function
 * asynchronously with the SNS event Lambda documents,
 *   {"Records":[{"EventSource":"aws:sns","EventVersion":"1.0","EventSubscriptionArn",
 *                "Sns":{Type, MessageId, TopicArn, Subject, Message, Timestamp,
 *                       SignatureVersion, Signature, SigningCertUrl, UnsubscribeUrl,
 *                       MessageAttributes}}]}
 * built from the signed envelope an HTTP subscriber would get (AWS spells the two URLs
 * ...Url there, and Subject is null when the publish had none). The invocation is a
 * pending "lambda-event" delivery in the publish's own fan-out (src/services/lambda/
 * lambda.h): durable with the publish, retried by Lambda's asynchronous rules. Lambda
 * subscriptions are confirmed at once, as on AWS. */
#include "services/sns/sns_internal.h"

#include "common/log.h"
#include "delivery/fanout.h"
#include "services/lambda/lambda.h"

#include <stdlib.h>
#include <string.h>

static void rename_member(json_t *o, const char *from, const char *to)
{
    json_t *v = json_object_get(o, from);
    if (!v)
        return;
    json_object_set(o, to, v);
    json_object_del(o, from);
}

void sns_lambda_plan(sns *s, fanout *f, const sns_sub *sub, const char *envelope)
{
    (void)s;
    json_t *e = json_loads(envelope, 0, NULL);
    if (!e) {
        log_warn("sns lambda delivery skipped: unreadable envelope", "subscription=%s", sub->arn);
        return;
    }
    json_t *sns = json_object();
    const char *order[] = {"Type",           "MessageId",      "TopicArn",         "Subject",
                           "Message",        "Timestamp",      "SignatureVersion", "Signature",
                           "SigningCertUrl", "UnsubscribeUrl", "MessageAttributes"};
    rename_member(e, "SigningCertURL", "SigningCertUrl");
    rename_member(e, "UnsubscribeURL", "UnsubscribeUrl");
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        json_t *v = json_object_get(e, order[i]);
        if (v)
            json_object_set(sns, order[i], v);
        else if (strcmp(order[i], "Subject") == 0)
            json_object_set_new(sns, "Subject", json_null());
        else if (strcmp(order[i], "MessageAttributes") == 0)
            json_object_set_new(sns, "MessageAttributes", json_object());
    }
    json_decref(e);
    json_t *event = json_pack("{s:[{s:s,s:s,s:s,s:o}]}", "Records", "EventSource", "aws:sns",
                              "EventVersion", "1.0", "EventSubscriptionArn", sub->arn, "Sns", sns);
    char *text = json_dumps(event, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(event);
    json_t *target = json_pack("{s:s}", "FunctionName", sub->endpoint);
    fanout_delivery(f, LAMBDA_EVENT_KIND, target, text, strlen(text));
    json_decref(target);
    free(text);
}

void sns_set_lambda(sns *s, struct lambda *l)
{
    s->lambda = l;
}
