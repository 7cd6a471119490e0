/* Subscriptions: Subscribe, ConfirmSubscription, Unsubscribe, ListSubscriptions(ByTopic),
 * Get/SetSubscriptionAttributes.
 *
 * A subscription is one stored document. SQS subscriptions are confirmed at once; HTTP(S)
 * ones are pending until the endpoint confirms (ConfirmSubscription with the token we
 * POSTed, or a GET of the SubscribeURL, which is the same Query action); email ones wait
 * for a mailed link (a later step of the SNS work). A subscription's filter policy lives
 * in its topic's matcher for the policy's scope (message attributes or body) under the
 * subscription's address. */
#include "services/sns/sns_internal.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/log.h"
#include "protocol/form.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const sub_attrs[] = {"DeliveryPolicy",    "FilterPolicy",
                                        "FilterPolicyScope", "RawMessageDelivery",
                                        "RedrivePolicy",     "SubscriptionRoleArn"};

static int known_attr(const char *n)
{
    for (size_t i = 0; i < sizeof sub_attrs / sizeof sub_attrs[0]; i++)
        if (strcmp(sub_attrs[i], n) == 0)
            return 1;
    return 0;
}

void sns_subscription_url(const sns *s, const char *action, const char *topic_arn,
                          const char *param, const char *value, buf *out)
{
    buf_printf(out, "%s/?Action=%s&%s=", s->public_url, action,
               strcmp(action, "Unsubscribe") == 0 ? "SubscriptionArn" : "TopicArn");
    form_put_escaped(out, topic_arn);
    if (param) {
        buf_printf(out, "&%s=", param);
        form_put_escaped(out, value);
    }
}

/* ---- the table ---------------------------------------------------------------------- */

static void index_policy(sns_sub *sub)
{
    sns_topic *t = sub->topic;
    uint64_t id = (uint64_t)(uintptr_t)sub;
    pattern_set_remove(t->attr_policies, id);
    pattern_set_remove(t->body_policies, id);
    json_t *a = json_object_get(sub->doc, "Attributes");
    const char *policy = json_string_value(json_object_get(a, "FilterPolicy"));
    const char *scope = json_string_value(json_object_get(a, "FilterPolicyScope"));
    sub->body_scope = scope && strcmp(scope, "MessageBody") == 0;
    const char *raw = json_string_value(json_object_get(a, "RawMessageDelivery"));
    sub->raw = raw && strcasecmp(raw, "true") == 0;
    sub->has_policy = policy && *policy && strcmp(policy, "{}") != 0;
    if (sub->has_policy) {
        char err[512];
        if (pattern_set_add(sub->body_scope ? t->body_policies : t->attr_policies, id, policy,
                            strlen(policy), err, sizeof err) != 0) {
            log_warn("stored filter policy no longer compiles: matches nothing", "sub=%s err='%s'",
                     sub->arn, err);
        }
    }
}

static sns_sub *sub_add(sns_topic *t, const char *id, json_t *doc)
{
    sns_sub *sub = xcalloc(1, sizeof *sub);
    sub->id = xstrdup(id);
    char arn[512];
    snprintf(arn, sizeof arn, "%s:%s", t->arn, id);
    sub->arn = xstrdup(arn);
    sub->topic = t;
    sub->doc = doc;
    sub->protocol = json_string_value(json_object_get(doc, "Protocol"));
    sub->endpoint = json_string_value(json_object_get(doc, "Endpoint"));
    sub->confirmed = json_is_true(json_object_get(doc, "Confirmed"));
    sub->next = t->subs;
    t->subs = sub;
    t->nsubs++;
    index_policy(sub);
    return sub;
}

void sns_sub_free(sns_sub *sub)
{
    json_decref(sub->doc);
    xfree(sub->id);
    xfree(sub->arn);
    xfree(sub);
}

void sns_sub_unlink(sns_sub *sub)
{
    sns_topic *t = sub->topic;
    pattern_set_remove(t->attr_policies, (uint64_t)(uintptr_t)sub);
    pattern_set_remove(t->body_policies, (uint64_t)(uintptr_t)sub);
    for (sns_sub **pp = &t->subs; *pp; pp = &(*pp)->next) {
        if (*pp == sub) {
            *pp = sub->next;
            t->nsubs--;
            break;
        }
    }
}

void sns_sub_restore(const char *key, const char *doc, void *arg)
{
    sns *s = arg;
    json_t *d = json_loads(doc, 0, NULL);
    const char *topic_arn = json_string_value(json_object_get(d, "TopicArn"));
    const char *colon = topic_arn ? strrchr(topic_arn, ':') : NULL;
    sns_topic *t = colon ? sns_topic_find(s, colon + 1) : NULL;
    if (!t) {
        log_warn("stored subscription without its topic skipped", "key=%s", key);
        json_decref(d);
        return;
    }
    sub_add(t, key, d);
}

/* The subscription an ARN names, or NULL after replying (InvalidParameter / NotFound). */
static sns_sub *sub_of(aws_call *call, const char *arn)
{
    sns *s = sns_of(call);
    if (!arn || strncmp(arn, "arn:aws:sns:", 12) != 0) {
        sns_invalid(call, "SubscriptionArn");
        return NULL;
    }
    const char *colon = strrchr(arn, ':');
    char topic_arn[512];
    snprintf(topic_arn, sizeof topic_arn, "%.*s", (int)(colon - arn), arn);
    const char *tcolon = strrchr(topic_arn, ':');
    sns_topic *t = tcolon ? sns_topic_find(s, tcolon + 1) : NULL;
    for (sns_sub *sub = t ? t->subs : NULL; sub; sub = sub->next)
        if (strcmp(sub->arn, arn) == 0)
            return sub;
    aws_reply_error(call, AWS_ERR_SNS_NOT_FOUND, "Subscription does not exist");
    return NULL;
}

static void persist_sub(aws_call *call, sns_sub *sub, json_t *reply)
{
    sns_persist_doc(sns_of(call), call, reply, "sns.sub", sub->id, sub->doc);
}

/* ---- attribute checks --------------------------------------------------------------- */

/* Checks one attribute; on Subscribe (subscribing) AWS words the errors "Invalid parameter:
 * Attributes Reason: <name>: ...", on SetSubscriptionAttributes "Invalid parameter: <name>: ...".
 */
static int check_attr(aws_call *call, int subscribing, const char *protocol, const char *scope,
                      const char *name, const char *value)
{
    const char *pre = subscribing ? "Attributes Reason: " : "";
    if (!known_attr(name)) {
        sns_invalid(call, "AttributeName");
        return -1;
    }
    char err[512];
    if (strcmp(name, "FilterPolicy") == 0 && *value) {
        json_t *j = json_loads(value, 0, NULL);
        int object = json_is_object(j), nested = 0;
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v)
        {
            if (json_is_object(v))
                nested = 1;
        }
        json_decref(j);
        if (!object) {
            sns_invalid(call, "%sFilterPolicy: failed to parse JSON.", pre);
            return -1;
        }
        if (pattern_validate(PATTERN_SNS, value, strlen(value), err, sizeof err) != 0) {
            const char *reason = strncmp(err, "Invalid parameter: ", 19) == 0 ? err + 19 : err;
            sns_invalid(call, "%s%s", pre, reason);
            return -1;
        }
        if (nested && (!scope || strcmp(scope, "MessageBody") != 0)) {
            sns_invalid(call,
                        "%sFilter policy scope MessageAttributes does not support nested "
                        "filter policy",
                        pre);
            return -1;
        }
    } else if (strcmp(name, "FilterPolicyScope") == 0) {
        if (strcmp(value, "MessageAttributes") != 0 && strcmp(value, "MessageBody") != 0) {
            sns_invalid(call,
                        "%sFilterPolicyScope: Invalid value [%s]. Please use either MessageBody "
                        "or MessageAttributes",
                        pre, value);
            return -1;
        }
    } else if (strcmp(name, "RawMessageDelivery") == 0) {
        if (strcasecmp(value, "true") != 0 && strcasecmp(value, "false") != 0) {
            sns_invalid(call, "%sRawMessageDelivery: Invalid value [%s]. Must be true or false.",
                        pre, value);
            return -1;
        }
        if (strcasecmp(value, "true") == 0 && protocol && strcmp(protocol, "sqs") != 0 &&
            strcmp(protocol, "http") != 0 && strcmp(protocol, "https") != 0 &&
            strcmp(protocol, "firehose") != 0) {
            sns_invalid(call, "%sDelivery protocol [%s] does not support raw message delivery.",
                        pre, protocol);
            return -1;
        }
    } else if (strcmp(name, "RedrivePolicy") == 0 || strcmp(name, "DeliveryPolicy") == 0) {
        json_t *j = *value ? json_loads(value, 0, NULL) : json_object();
        int ok = json_is_object(j);
        const char *dlq = json_string_value(json_object_get(j, "deadLetterTargetArn"));
        int dlq_ok = dlq && strncmp(dlq, "arn:aws:sqs:", 12) == 0;
        json_decref(j);
        if (!ok) {
            sns_invalid(call, "%s: Invalid JSON", name);
            return -1;
        }
        if (strcmp(name, "RedrivePolicy") == 0 && *value && !dlq_ok) {
            sns_invalid(call, "RedrivePolicy: deadLetterTargetArn is invalid");
            return -1;
        }
    }
    return 0;
}

static int check_endpoint(aws_call *call, const sns_topic *t, const char *protocol,
                          const char *endpoint)
{
    if (strcmp(protocol, "sqs") == 0) {
        if (!endpoint || strncmp(endpoint, "arn:aws:sqs:", 12) != 0) {
            sns_invalid(call, "SQS endpoint ARN");
            return -1;
        }
        size_t n = strlen(endpoint);
        int fifo_queue = n > 5 && strcmp(endpoint + n - 5, ".fifo") == 0;
        if (fifo_queue && !t->fifo) {
            sns_invalid(call, "Invalid parameter: Endpoint Reason: FIFO SQS Queues can not be "
                              "subscribed to standard SNS topics");
            return -1;
        }
        return 0;
    }
    if (strcmp(protocol, "http") == 0 || strcmp(protocol, "https") == 0) {
        size_t plen = strlen(protocol);
        if (!endpoint || strncasecmp(endpoint, protocol, plen) != 0 ||
            strncmp(endpoint + plen, "://", 3) != 0) {
            sns_invalid(call, "Endpoint must match the specified protocol");
            return -1;
        }
        return 0;
    }
    if (strcmp(protocol, "email") == 0 || strcmp(protocol, "email-json") == 0) {
        if (!endpoint || !strchr(endpoint, '@') || strchr(endpoint, ' ')) {
            sns_invalid(call, "Email address");
            return -1;
        }
        return 0;
    }
    if (strcmp(protocol, "lambda") == 0) {
        if (!endpoint || strncmp(endpoint, "arn:aws:lambda:", 15) != 0 ||
            !strstr(endpoint, ":function:")) {
            sns_invalid(call, "Lambda endpoint ARN");
            return -1;
        }
        return 0;
    }
    if (strcmp(protocol, "sms") == 0) {
        const char *p = endpoint ? endpoint : "";
        if (*p == '+')
            p++;
        size_t digits = 0;
        for (; *p; p++) {
            if (*p < '0' || *p > '9') {
                digits = 0;
                break;
            }
            digits++;
        }
        if (digits < 7 || digits > 15) {
            sns_invalid(call, "Invalid SMS endpoint, an endpoint must be a valid phone number");
            return -1;
        }
        return 0;
    }
    sns_invalid(call, "Amazon SNS does not support this protocol string: %s", protocol);
    return -1;
}

/* ---- handlers ----------------------------------------------------------------------- */

static json_t *token_new(void)
{
    unsigned char raw[32];
    char hex[65];
    for (int i = 0; i < 4; i++) {
        uint64_t r = ids_random64();
        memcpy(raw + 8 * i, &r, 8);
    }
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    return json_string(hex);
}

void sns_subscribe(aws_call *call)
{
    sns *s = sns_of(call);
    sns_topic *t = sns_topic_of(call, sns_str(call, "TopicArn"));
    if (!t)
        return;
    const char *protocol = sns_str(call, "Protocol");
    const char *endpoint = sns_str(call, "Endpoint");
    if (!protocol) {
        sns_invalid(call, "Protocol");
        return;
    }
    if (check_endpoint(call, t, protocol, endpoint) != 0)
        return;
    json_t *in = json_object_get(call->input, "Attributes");
    const char *k;
    json_t *v;
    json_object_foreach(in, k, v)
    {
        if (!json_is_string(v)) {
            sns_invalid(call, "Attributes");
            return;
        }
        const char *scope = json_string_value(json_object_get(in, "FilterPolicyScope"));
        if (check_attr(call, 1, protocol, scope, k, json_string_value(v)) != 0) {
            return;
        }
    }
    int want_arn = json_is_true(json_object_get(call->input, "ReturnSubscriptionArn"));
    /* The same endpoint again: the same subscription (different attributes: an error). */
    for (sns_sub *sub = t->subs; sub; sub = sub->next) {
        if (strcmp(sub->protocol, protocol) != 0 || strcmp(sub->endpoint, endpoint) != 0)
            continue;
        json_t *have = json_object_get(sub->doc, "Attributes");
        json_object_foreach(in, k, v)
        {
            json_t *h = json_object_get(have, k);
            if (!h || strcmp(json_string_value(h), json_string_value(v)) != 0) {
                sns_invalid(call, "Attributes Reason: Subscription already exists with different "
                                  "attributes");
                return;
            }
        }
        aws_reply(call, json_pack("{s:s}", "SubscriptionArn",
                                  sub->confirmed || want_arn ? sub->arn : "pending confirmation"));
        return;
    }
    char id[40];
    ids_uuid4(id);
    int confirmed = strcmp(protocol, "sqs") == 0 || strcmp(protocol, "sms") == 0 ||
                    strcmp(protocol, "lambda") == 0;
    json_t *doc =
        json_pack("{s:s, s:s, s:s, s:s, s:o, s:b, s:o, s:I}", "TopicArn", t->arn, "Protocol",
                  protocol, "Endpoint", endpoint, "Owner", s->account, "Attributes",
                  in ? json_deep_copy(in) : json_object(), "Confirmed", confirmed, "Token",
                  token_new(), "CreatedMs", (json_int_t)clock_now_ms());
    sns_sub *sub = sub_add(t, id, doc);
    json_t *reply = json_pack("{s:s}", "SubscriptionArn",
                              confirmed || want_arn ? sub->arn : "pending confirmation");
    if (strcmp(protocol, "http") == 0 || strcmp(protocol, "https") == 0 || sns_is_email(protocol)) {
        sns_confirmation_send(s, sub, call, reply); /* the subscription and its POST or mail */
        return;
    }
    persist_sub(call, sub, reply);
}

void sns_confirm_subscription(aws_call *call)
{
    sns_topic *t = sns_topic_of(call, sns_str(call, "TopicArn"));
    if (!t)
        return;
    const char *token = sns_str(call, "Token");
    if (!token) {
        sns_invalid(call, "Token");
        return;
    }
    for (sns_sub *sub = t->subs; sub; sub = sub->next) {
        const char *have = json_string_value(json_object_get(sub->doc, "Token"));
        if (!have || strcmp(have, token) != 0)
            continue;
        if (!sub->confirmed) {
            sub->confirmed = 1;
            json_object_set_new(sub->doc, "Confirmed", json_true());
            const char *auth = sns_str(call, "AuthenticateOnUnsubscribe");
            json_object_set_new(sub->doc, "ConfirmationWasAuthenticated",
                                json_boolean(auth && strcasecmp(auth, "true") == 0));
        }
        persist_sub(call, sub, json_pack("{s:s}", "SubscriptionArn", sub->arn));
        return;
    }
    sns_invalid(call, "Invalid token");
}

void sns_unsubscribe(aws_call *call)
{
    sns *s = sns_of(call);
    sns_sub *sub = sub_of(call, sns_str(call, "SubscriptionArn"));
    if (!sub)
        return;
    sns_sub_unlink(sub);
    sns_persist_doc(s, call, NULL, "sns.sub", sub->id, NULL);
    sns_sub_free(sub);
}

static json_t *sub_summary(const sns_sub *sub)
{
    return json_pack("{s:s, s:O, s:s, s:s, s:s}", "SubscriptionArn",
                     sub->confirmed ? sub->arn : "PendingConfirmation", "Owner",
                     json_object_get(sub->doc, "Owner"), "Protocol", sub->protocol, "Endpoint",
                     sub->endpoint, "TopicArn", sub->topic->arn);
}

/* Lists subscriptions (of one topic, or all) after the NextToken (a subscription ARN). */
static void list_subs(aws_call *call, sns_topic *only)
{
    sns *s = sns_of(call);
    const char *after = sns_str(call, "NextToken");
    if (after && !*after)
        after = NULL;
    int started = after == NULL;
    json_t *list = json_array();
    const char *last = NULL;
    int more = 0;
    for (sns_topic *t = only ? only : s->topics; t && !more; t = only ? NULL : t->next) {
        for (sns_sub *sub = t->subs; sub; sub = sub->next) {
            if (!started) {
                started = strcmp(sub->arn, after) == 0;
                continue;
            }
            if (json_array_size(list) == SNS_PAGE_SIZE) {
                more = 1;
                break;
            }
            json_array_append_new(list, sub_summary(sub));
            last = sub->arn;
        }
    }
    json_t *out = json_pack("{s:o}", "Subscriptions", list);
    if (more && last)
        json_object_set_new(out, "NextToken", json_string(last));
    aws_reply(call, out);
}

void sns_list_subscriptions(aws_call *call)
{
    list_subs(call, NULL);
}

void sns_list_subscriptions_by_topic(aws_call *call)
{
    sns_topic *t = sns_topic_of(call, sns_str(call, "TopicArn"));
    if (t)
        list_subs(call, t);
}

void sns_get_subscription_attributes(aws_call *call)
{
    sns_sub *sub = sub_of(call, sns_str(call, "SubscriptionArn"));
    if (!sub)
        return;
    json_t *a = json_deep_copy(json_object_get(sub->doc, "Attributes"));
    json_object_set_new(a, "SubscriptionArn", json_string(sub->arn));
    json_object_set_new(a, "TopicArn", json_string(sub->topic->arn));
    json_object_set(a, "Owner", json_object_get(sub->doc, "Owner"));
    json_object_set_new(a, "Protocol", json_string(sub->protocol));
    json_object_set_new(a, "Endpoint", json_string(sub->endpoint));
    json_object_set_new(a, "PendingConfirmation", json_string(sub->confirmed ? "false" : "true"));
    json_object_set_new(
        a, "ConfirmationWasAuthenticated",
        json_string(json_is_true(json_object_get(sub->doc, "ConfirmationWasAuthenticated"))
                        ? "true"
                        : (strcmp(sub->protocol, "sqs") == 0 ? "true" : "false")));
    if (!json_object_get(a, "RawMessageDelivery"))
        json_object_set_new(a, "RawMessageDelivery", json_string("false"));
    if (sub->has_policy && !json_object_get(a, "FilterPolicyScope"))
        json_object_set_new(a, "FilterPolicyScope", json_string("MessageAttributes"));
    char principal[128];
    snprintf(principal, sizeof principal, "arn:aws:iam::%s:user/sluice",
             json_string_value(json_object_get(sub->doc, "Owner")));
    json_object_set_new(a, "SubscriptionPrincipal", json_string(principal));
    aws_reply(call, json_pack("{s:o}", "Attributes", a));
}

void sns_set_subscription_attributes(aws_call *call)
{
    sns_sub *sub = sub_of(call, sns_str(call, "SubscriptionArn"));
    if (!sub)
        return;
    const char *name = sns_str(call, "AttributeName");
    const char *value = sns_str(call, "AttributeValue");
    if (!name) {
        sns_invalid(call, "AttributeName");
        return;
    }
    json_t *a0 = json_object_get(sub->doc, "Attributes");
    const char *scope = strcmp(name, "FilterPolicyScope") == 0
                            ? value
                            : json_string_value(json_object_get(a0, "FilterPolicyScope"));
    if (check_attr(call, 0, sub->protocol, scope, name, value ? value : "") != 0)
        return;
    /* Changing the scope re-checks the policy against it. */
    const char *policy = json_string_value(json_object_get(a0, "FilterPolicy"));
    if (strcmp(name, "FilterPolicyScope") == 0 && policy &&
        check_attr(call, 0, sub->protocol, scope, "FilterPolicy", policy) != 0)
        return;
    json_t *a = json_object_get(sub->doc, "Attributes");
    if (!value || !*value)
        json_object_del(a, name);
    else
        json_object_set_new(a, name, json_string(value));
    index_policy(sub);
    persist_sub(call, sub, NULL);
}
