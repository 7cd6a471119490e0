/* Topics: CreateTopic, DeleteTopic, ListTopics, Get/SetTopicAttributes, and tags. A topic
 * is one stored document (its name, attributes and tags); its subscriptions are documents
 * of their own (sns_subscription.c). */
#include "services/sns/sns_internal.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Attributes a client may set, at creation or later. */
static const char *const settable[] = {"DisplayName",
                                       "Policy",
                                       "DeliveryPolicy",
                                       "TracingConfig",
                                       "KmsMasterKeyId",
                                       "SignatureVersion",
                                       "ContentBasedDeduplication",
                                       "FifoTopic",
                                       "ArchivePolicy",
                                       "DataProtectionPolicy",
                                       "HTTPSuccessFeedbackRoleArn",
                                       "HTTPFailureFeedbackRoleArn",
                                       "HTTPSuccessFeedbackSampleRate",
                                       "SQSSuccessFeedbackRoleArn",
                                       "SQSFailureFeedbackRoleArn",
                                       "SQSSuccessFeedbackSampleRate"};

static int settable_name(const char *n)
{
    for (size_t i = 0; i < sizeof settable / sizeof settable[0]; i++)
        if (strcmp(settable[i], n) == 0)
            return 1;
    return 0;
}

sns_topic *sns_topic_find(sns *s, const char *name)
{
    for (sns_topic *t = s->topics; t; t = t->next)
        if (strcmp(t->name, name) == 0)
            return t;
    return NULL;
}

static const char *name_of_arn(const sns *s, const char *arn, char *out, size_t cap)
{
    char prefix[256];
    snprintf(prefix, sizeof prefix, "arn:aws:sns:%s:%s:", s->region, s->account);
    size_t n = strlen(prefix);
    if (!arn || strncmp(arn, prefix, n) != 0 || strchr(arn + n, ':'))
        return NULL;
    snprintf(out, cap, "%s", arn + n);
    return out;
}

sns_topic *sns_topic_of(aws_call *call, const char *arn)
{
    sns *s = sns_of(call);
    char name[300];
    if (!arn) {
        sns_invalid(call, "TopicArn");
        return NULL;
    }
    if (strncmp(arn, "arn:aws:sns:", 12) != 0) {
        sns_invalid(call, "TopicArn");
        return NULL;
    }
    sns_topic *t = name_of_arn(s, arn, name, sizeof name) ? sns_topic_find(s, name) : NULL;
    if (!t)
        aws_reply_error(call, AWS_ERR_SNS_NOT_FOUND, "Topic does not exist");
    return t;
}

static void apply_attrs(sns_topic *t)
{
    json_t *a = json_object_get(t->doc, "Attributes");
    const char *fifo = json_string_value(json_object_get(a, "FifoTopic"));
    const char *cbd = json_string_value(json_object_get(a, "ContentBasedDeduplication"));
    t->fifo = fifo && strcasecmp(fifo, "true") == 0;
    t->content_dedup = cbd && strcasecmp(cbd, "true") == 0;
}

static sns_topic *topic_add(sns *s, const char *name, json_t *doc)
{
    sns_topic *t = xcalloc(1, sizeof *t);
    t->name = xstrdup(name);
    char arn[400];
    snprintf(arn, sizeof arn, "arn:aws:sns:%s:%s:%s", s->region, s->account, name);
    t->arn = xstrdup(arn);
    t->doc = doc;
    pattern_set_create(&t->attr_policies, PATTERN_SNS);
    pattern_set_create(&t->body_policies, PATTERN_SNS);
    apply_attrs(t);
    sns_topic **pp = &s->topics;
    while (*pp && strcmp((*pp)->name, name) < 0)
        pp = &(*pp)->next;
    t->next = *pp;
    *pp = t;
    return t;
}

static void topic_free(sns_topic *t)
{
    while (t->subs) {
        sns_sub *sub = t->subs;
        t->subs = sub->next;
        sns_sub_free(sub);
    }
    pattern_set_destroy(t->attr_policies);
    pattern_set_destroy(t->body_policies);
    json_decref(t->doc);
    xfree(t->name);
    xfree(t->arn);
    xfree(t);
}

void sns_topics_free(sns *s)
{
    while (s->topics) {
        sns_topic *t = s->topics;
        s->topics = t->next;
        topic_free(t);
    }
}

void sns_topic_restore(const char *key, const char *doc, void *arg)
{
    json_t *d = json_loads(doc, 0, NULL);
    if (!json_is_object(d)) {
        json_decref(d);
        log_warn("unreadable topic document skipped", "key=%s", key);
        return;
    }
    sns_topic *t = topic_add(arg, key, d);
    t->sequence = json_integer_value(json_object_get(d, "Sequence"));
}

static void persist_topic(aws_call *call, sns_topic *t, json_t *reply)
{
    sns_persist_doc(sns_of(call), call, reply, "sns.topic", t->name, t->doc);
}

/* ---- attribute checks --------------------------------------------------------------- */

static int check_attr(aws_call *call, int fifo, const char *name, const char *value)
{
    if (!settable_name(name)) {
        sns_invalid(call, "AttributeName");
        return -1;
    }
    if ((strcmp(name, "FifoTopic") == 0 || strcmp(name, "ContentBasedDeduplication") == 0) &&
        strcasecmp(value, "true") != 0 && strcasecmp(value, "false") != 0) {
        sns_invalid(call, "Attributes Reason: %s must be true or false", name);
        return -1;
    }
    if (strcmp(name, "ContentBasedDeduplication") == 0 && !fifo && strcasecmp(value, "true") == 0) {
        sns_invalid(call, "Attributes Reason: Content-based deduplication can only be set for "
                          "FIFO topics");
        return -1;
    }
    if (strcmp(name, "SignatureVersion") == 0 && strcmp(value, "1") != 0 &&
        strcmp(value, "2") != 0) {
        sns_invalid(call, "Attributes Reason: SignatureVersion must be 1 or 2");
        return -1;
    }
    if ((strcmp(name, "Policy") == 0 || strcmp(name, "DeliveryPolicy") == 0) && *value) {
        json_t *j = json_loads(value, 0, NULL);
        int ok = json_is_object(j);
        json_decref(j);
        if (!ok) {
            sns_invalid(call, "Attributes Reason: %s: Invalid JSON", name);
            return -1;
        }
    }
    return 0;
}

static int tags_merge(aws_call *call, json_t *tags, const json_t *list)
{
    size_t i;
    json_t *t;
    json_array_foreach(list, i, t)
    {
        const char *k = json_string_value(json_object_get(t, "Key"));
        const char *v = json_string_value(json_object_get(t, "Value"));
        if (!k || !v || !*k || strlen(k) > 128 || strlen(v) > 256) {
            sns_invalid(call, "Tags Reason: Keys must be 1 to 128 and values at most 256 "
                              "characters long");
            return -1;
        }
        json_object_set_new(tags, k, json_string(v));
    }
    if (json_object_size(tags) > 50) {
        aws_reply_error(call, AWS_ERR_SNS_TAG_LIMIT_EXCEEDED,
                        "Could not complete request: tag quota of per resource exceeded");
        return -1;
    }
    return 0;
}

/* ---- handlers ----------------------------------------------------------------------- */

static int valid_topic_name(const char *n, int fifo)
{
    size_t len = strlen(n), end = len;
    if (fifo) {
        if (len < 5 || strcmp(n + len - 5, ".fifo") != 0)
            return 0;
        end = len - 5;
    }
    if (end == 0 || len > 256)
        return 0;
    for (size_t i = 0; i < end; i++) {
        char c = n[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

void sns_create_topic(aws_call *call)
{
    sns *s = sns_of(call);
    const char *name = sns_str(call, "Name");
    json_t *in = json_object_get(call->input, "Attributes");
    const char *fifo_attr = json_string_value(json_object_get(in, "FifoTopic"));
    int fifo = fifo_attr && strcasecmp(fifo_attr, "true") == 0;
    if (!name || !valid_topic_name(name, fifo)) {
        if (name && !fifo && strlen(name) > 5 && strcmp(name + strlen(name) - 5, ".fifo") == 0)
            sns_invalid(call, "Topic Name: FIFO topic names must end with .fifo and need the "
                              "FifoTopic attribute set to true");
        else
            sns_invalid(call, "Topic Name");
        return;
    }
    json_t *attrs = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(in, k, v)
    {
        if (!json_is_string(v)) {
            json_decref(attrs);
            sns_invalid(call, "Attributes");
            return;
        }
        if (check_attr(call, fifo, k, json_string_value(v)) != 0) {
            json_decref(attrs);
            return;
        }
        json_object_set(attrs, k, v);
    }
    sns_topic *t = sns_topic_find(s, name);
    if (t) { /* idempotent: the same topic, unless the attributes differ */
        json_t *have = json_object_get(t->doc, "Attributes");
        json_object_foreach(attrs, k, v)
        {
            json_t *h = json_object_get(have, k);
            if (!h || strcmp(json_string_value(h), json_string_value(v)) != 0) {
                json_decref(attrs);
                sns_invalid(call, "Attributes Reason: Topic already exists with different "
                                  "attributes");
                return;
            }
        }
        json_decref(attrs);
        json_t *tags = json_object();
        int ok = tags_merge(call, tags, json_object_get(call->input, "Tags")) == 0;
        if (ok && json_object_size(tags) > 0 &&
            !json_equal(tags, json_object_get(t->doc, "Tags"))) {
            sns_invalid(call, "Tags Reason: Topic already exists with different tags");
            ok = 0;
        } else if (ok) {
            aws_reply(call, json_pack("{s:s}", "TopicArn", t->arn));
        }
        json_decref(tags);
        return;
    }
    json_t *tags = json_object();
    if (tags_merge(call, tags, json_object_get(call->input, "Tags")) != 0) {
        json_decref(tags);
        json_decref(attrs);
        return;
    }
    json_t *doc = json_pack("{s:s, s:o, s:o, s:I}", "Name", name, "Attributes", attrs, "Tags", tags,
                            "CreatedMs", (json_int_t)clock_now_ms());
    t = topic_add(s, name, doc);
    persist_topic(call, t, json_pack("{s:s}", "TopicArn", t->arn));
}

void sns_delete_topic(aws_call *call)
{
    sns *s = sns_of(call);
    const char *arn = sns_str(call, "TopicArn");
    char name[300];
    if (!arn || strncmp(arn, "arn:aws:sns:", 12) != 0) {
        sns_invalid(call, "TopicArn");
        return;
    }
    sns_topic *t = name_of_arn(s, arn, name, sizeof name) ? sns_topic_find(s, name) : NULL;
    if (!t) { /* deleting a topic that does not exist succeeds, as on AWS */
        aws_reply(call, NULL);
        return;
    }
    /* The topic and its subscriptions go in one transaction (one DOC_PUT). */
    size_t n = 1 + t->nsubs, i = 0;
    store_doc *docs = xcalloc(n, sizeof *docs);
    docs[i++] = (store_doc){"sns.topic", t->name, NULL};
    for (sns_sub *sub = t->subs; sub; sub = sub->next)
        docs[i++] = (store_doc){"sns.sub", sub->id, NULL};
    sns_persist_docs(s, call, NULL, docs, n);
    xfree(docs);
    for (sns_topic **pp = &s->topics; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    topic_free(t);
}

void sns_list_topics(aws_call *call)
{
    sns *s = sns_of(call);
    const char *tok = sns_str(call, "NextToken");
    const char *after = tok && *tok ? tok : NULL;
    if (after && !valid_topic_name(after, strlen(after) > 5 &&
                                              strcmp(after + strlen(after) - 5, ".fifo") == 0)) {
        sns_invalid(call, "NextToken");
        return;
    }
    json_t *list = json_array();
    sns_topic *t = s->topics;
    while (t && after && strcmp(t->name, after) <= 0)
        t = t->next;
    for (; t && json_array_size(list) < SNS_PAGE_SIZE; t = t->next)
        json_array_append_new(list, json_pack("{s:s}", "TopicArn", t->arn));
    json_t *out = json_pack("{s:o}", "Topics", list);
    if (t) {
        /* the last name listed: the next page starts after it */
        json_t *last = json_array_get(list, json_array_size(list) - 1);
        const char *arn = json_string_value(json_object_get(last, "TopicArn"));
        json_object_set_new(out, "NextToken", json_string(strrchr(arn, ':') + 1));
    }
    aws_reply(call, out);
}

static void put_count(json_t *a, const char *k, size_t n)
{
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%zu", n);
    json_object_set_new(a, k, json_string(tmp));
}

void sns_get_topic_attributes(aws_call *call)
{
    sns *s = sns_of(call);
    sns_topic *t = sns_topic_of(call, sns_str(call, "TopicArn"));
    if (!t)
        return;
    json_t *a = json_deep_copy(json_object_get(t->doc, "Attributes"));
    json_object_set_new(a, "TopicArn", json_string(t->arn));
    json_object_set_new(a, "Owner", json_string(s->account));
    if (!json_object_get(a, "DisplayName"))
        json_object_set_new(a, "DisplayName", json_string(""));
    if (!json_object_get(a, "Policy")) {
        char policy[1024];
        snprintf(policy, sizeof policy,
                 "{\"Version\":\"2008-10-17\",\"Id\":\"__default_policy_ID\",\"Statement\":[{"
                 "\"Sid\":\"__default_statement_ID\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":"
                 "\"*\"},\"Action\":[\"SNS:GetTopicAttributes\",\"SNS:SetTopicAttributes\","
                 "\"SNS:AddPermission\",\"SNS:RemovePermission\",\"SNS:DeleteTopic\","
                 "\"SNS:Subscribe\",\"SNS:ListSubscriptionsByTopic\",\"SNS:Publish\"],"
                 "\"Resource\":\"%s\",\"Condition\":{\"StringEquals\":{\"AWS:SourceOwner\":\"%s\""
                 "}}}]}",
                 t->arn, s->account);
        json_object_set_new(a, "Policy", json_string(policy));
    }
    json_t *dp = json_object_get(a, "DeliveryPolicy");
    if (dp && *json_string_value(dp))
        json_object_set(a, "EffectiveDeliveryPolicy", dp);
    else
        json_object_set_new(
            a, "EffectiveDeliveryPolicy",
            json_string("{\"http\":{\"defaultHealthyRetryPolicy\":{\"minDelayTarget\":20,"
                        "\"maxDelayTarget\":20,\"numRetries\":3,\"numMaxDelayRetries\":0,"
                        "\"numNoDelayRetries\":0,\"numMinDelayRetries\":0,\"backoffFunction\":"
                        "\"linear\"},\"disableSubscriptionOverrides\":false,"
                        "\"defaultRequestPolicy\":{\"headerContentType\":\"text/plain; "
                        "charset=UTF-8\"}}}"));
    size_t confirmed = 0, pending = 0;
    for (sns_sub *sub = t->subs; sub; sub = sub->next) {
        if (sub->confirmed)
            confirmed++;
        else
            pending++;
    }
    put_count(a, "SubscriptionsConfirmed", confirmed);
    put_count(a, "SubscriptionsPending", pending);
    put_count(a, "SubscriptionsDeleted", 0);
    if (t->fifo && !json_object_get(a, "ContentBasedDeduplication"))
        json_object_set_new(a, "ContentBasedDeduplication", json_string("false"));
    aws_reply(call, json_pack("{s:o}", "Attributes", a));
}

void sns_set_topic_attributes(aws_call *call)
{
    sns_topic *t = sns_topic_of(call, sns_str(call, "TopicArn"));
    if (!t)
        return;
    const char *name = sns_str(call, "AttributeName");
    const char *value = sns_str(call, "AttributeValue");
    if (!name || strcmp(name, "FifoTopic") == 0) {
        sns_invalid(call, "AttributeName");
        return;
    }
    if (check_attr(call, t->fifo, name, value ? value : "") != 0)
        return;
    json_object_set_new(json_object_get(t->doc, "Attributes"), name,
                        json_string(value ? value : ""));
    apply_attrs(t);
    persist_topic(call, t, NULL);
}

/* ---- tags --------------------------------------------------------------------------- */

static sns_topic *tagged(aws_call *call)
{
    sns *s = sns_of(call);
    char name[300];
    const char *arn = sns_str(call, "ResourceArn");
    sns_topic *t = arn && name_of_arn(s, arn, name, sizeof name) ? sns_topic_find(s, name) : NULL;
    if (!t)
        aws_reply_error(call, AWS_ERR_SNS_RESOURCE_NOT_FOUND, "Resource does not exist");
    return t;
}

void sns_tag_resource(aws_call *call)
{
    sns_topic *t = tagged(call);
    if (!t)
        return;
    json_t *tags = json_deep_copy(json_object_get(t->doc, "Tags"));
    if (tags_merge(call, tags, json_object_get(call->input, "Tags")) != 0) {
        json_decref(tags);
        return;
    }
    json_object_set_new(t->doc, "Tags", tags);
    persist_topic(call, t, NULL);
}

void sns_untag_resource(aws_call *call)
{
    sns_topic *t = tagged(call);
    if (!t)
        return;
    json_t *tags = json_object_get(t->doc, "Tags");
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(call->input, "TagKeys"), i, k)
    {
        if (json_is_string(k))
            json_object_del(tags, json_string_value(k));
    }
    persist_topic(call, t, NULL);
}

void sns_list_tags_for_resource(aws_call *call)
{
    sns_topic *t = tagged(call);
    if (!t)
        return;
    json_t *list = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(t->doc, "Tags"), k, v)
    {
        json_array_append_new(list, json_pack("{s:s, s:O}", "Key", k, "Value", v));
    }
    aws_reply(call, json_pack("{s:o}", "Tags", list));
}
