/* Publish and PublishBatch: filter policies, the SNS envelope, and the fan-out.
 *
 * A message is matched once against its topic's two matchers (filter policies on message
 * attributes, and on the message body when it is a JSON object); subscriptions without a
 * policy take every message. Every matching confirmed subscription then adds to one
 * fan-out (src/delivery/fanout.h): SQS subscriptions get their message in the same
 * transaction as the publish (the envelope, or the raw message with its attributes as SQS
 * message attributes; FIFO topics pass their group and deduplication ids on), HTTP(S)
 * subscriptions get a durable pending delivery (sns_deliver.c). Publish answers once all
 * of it is committed. The envelope is signed once per message; each subscription's copy
 * differs only in its UnsubscribeURL, which the signature does not cover. */
#include "services/sns/sns_internal.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/log.h"
#include "delivery/fanout.h"
#include "protocol/json_codec.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- validation --------------------------------------------------------------------- */

/* AWS. and Amazon. names are reserved, except those SNS itself defines (the SMS and mobile
 * push settings: AWS.SNS.SMS.SenderID, AWS.SNS.SMS.SMSType, AWS.MM.SMS.OriginationNumber...). */
static int valid_attribute_name(const char *n)
{
    size_t len = strlen(n);
    int sns_own = strncmp(n, "AWS.SNS.", 8) == 0 || strncmp(n, "AWS.MM.SMS.", 11) == 0;
    if (len == 0 || len > 256 || n[0] == '.' || n[len - 1] == '.' || strstr(n, "..") ||
        (!sns_own && (strncasecmp(n, "AWS.", 4) == 0 || strncasecmp(n, "Amazon.", 7) == 0)))
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = n[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

/* Checks MessageAttributes; adds their size to *size. */
static int check_attributes(const json_t *attrs, size_t *size, aws_failure *err)
{
    const char *name;
    json_t *a;
    if (json_object_size(attrs) > 10)
        return aws_fail(err, AWS_ERR_SNS_PARAMETER_VALUE_INVALID,
                        "Number of message attributes [%zu] exceeds the allowed maximum [10].",
                        json_object_size(attrs));
    json_object_foreach((json_t *)attrs, name, a)
    {
        const char *type = json_string_value(json_object_get(a, "DataType"));
        const char *sv = json_string_value(json_object_get(a, "StringValue"));
        const char *bv = json_string_value(json_object_get(a, "BinaryValue"));
        if (!valid_attribute_name(name))
            return aws_fail(err, AWS_ERR_SNS_PARAMETER_VALUE_INVALID,
                            "The message attribute name '%s' is invalid: it must be 1 to 256 "
                            "characters of [A-Za-z0-9_.-], not start or end with a period nor hold "
                            "two in a row, and not start with AWS. or Amazon.",
                            name);
        if (!type || !*type)
            return aws_fail(err, AWS_ERR_SNS_PARAMETER_VALUE_INVALID,
                            "The message attribute '%s' must contain non-empty message attribute "
                            "type.",
                            name);
        int binary = strncmp(type, "Binary", 6) == 0;
        if (!binary && strncmp(type, "String", 6) != 0 && strncmp(type, "Number", 6) != 0)
            return aws_fail(err, AWS_ERR_SNS_PARAMETER_VALUE_INVALID,
                            "The message attribute '%s' has an invalid message attribute type, the "
                            "set of supported type prefixes is Binary, Number, and String.",
                            name);
        if ((binary && (!bv || !*bv)) || (!binary && (!sv || !*sv)))
            return aws_fail(err, AWS_ERR_SNS_PARAMETER_VALUE_INVALID,
                            "The message attribute '%s' must contain non-empty message attribute "
                            "value for message attribute type '%s'.",
                            name, type);
        if (strcmp(type, "Number") == 0 || strncmp(type, "Number.", 7) == 0) {
            char *end;
            strtod(sv, &end);
            if (*end || end == sv)
                return aws_fail(err, AWS_ERR_SNS_PARAMETER_VALUE_INVALID,
                                "Could not cast message attribute '%s' value to number.", name);
        }
        if (strcmp(type, "String.Array") == 0) {
            char jerr[64];
            json_t *arr = jsonc_parse(sv, strlen(sv), jerr, sizeof jerr);
            int ok = json_is_array(arr);
            json_decref(arr);
            if (!ok)
                return aws_fail(
                    err, AWS_ERR_SNS_PARAMETER_VALUE_INVALID,
                    "The message attribute '%s' with type 'String.Array' has an invalid "
                    "value: it must be a JSON array.",
                    name);
        }
        *size += strlen(name) + strlen(type) + (binary ? strlen(bv) : strlen(sv));
    }
    return 0;
}

/* One message to publish, validated. */
typedef struct pub_msg {
    const char *message;
    const char *subject;
    json_t *structure; /* MessageStructure=json: the per-protocol messages */
    const json_t *attrs;
    const char *group_id;
    char dedup_id[129];
    char message_id[40];
    int64_t sequence;
} pub_msg;

static int check_message(const sns_topic *t, const json_t *in, pub_msg *m, aws_failure *err)
{
    memset(m, 0, sizeof *m);
    m->message = json_string_value(json_object_get(in, "Message"));
    m->subject = json_string_value(json_object_get(in, "Subject"));
    m->attrs = json_object_get(in, "MessageAttributes");
    m->group_id = json_string_value(json_object_get(in, "MessageGroupId"));
    const char *dedup = json_string_value(json_object_get(in, "MessageDeduplicationId"));
    const char *structure = json_string_value(json_object_get(in, "MessageStructure"));
    if (!m->message || !*m->message)
        return aws_fail(err, AWS_ERR_SNS_INVALID_PARAMETER, "Invalid parameter: Empty message");
    size_t size = strlen(m->message);
    if (m->subject) {
        size_t n = strlen(m->subject);
        if (n == 0 || n > 100)
            return aws_fail(err, AWS_ERR_SNS_INVALID_PARAMETER,
                            "Invalid parameter: Subject must be 1 to 100 characters long");
        for (const char *p = m->subject; *p; p++)
            if (*p == '\n' || *p == '\r')
                return aws_fail(err, AWS_ERR_SNS_INVALID_PARAMETER,
                                "Invalid parameter: Subject must not contain line breaks");
    }
    if (structure) {
        if (strcmp(structure, "json") != 0)
            return aws_fail(err, AWS_ERR_SNS_INVALID_PARAMETER,
                            "Invalid parameter: MessageStructure");
        char jerr[64];
        m->structure = jsonc_parse(m->message, strlen(m->message), jerr, sizeof jerr);
        if (!json_is_object(m->structure)) {
            json_decref(m->structure);
            m->structure = NULL;
            return aws_fail(err, AWS_ERR_SNS_INVALID_PARAMETER,
                            "Invalid parameter: Message Structure - JSON message body failed to "
                            "parse");
        }
        if (!json_is_string(json_object_get(m->structure, "default"))) {
            json_decref(m->structure);
            m->structure = NULL;
            return aws_fail(
                err, AWS_ERR_SNS_INVALID_PARAMETER,
                "Invalid parameter: Message Structure - No default entry in JSON message "
                "body");
        }
    }
    if (check_attributes(m->attrs, &size, err) != 0)
        goto fail;
    if (size > SNS_MAX_MESSAGE_BYTES) {
        aws_fail(err, AWS_ERR_SNS_INVALID_PARAMETER, "Invalid parameter: Message too long");
        goto fail;
    }
    if (t && t->fifo) {
        if (!m->group_id) {
            aws_fail(err, AWS_ERR_SNS_INVALID_PARAMETER,
                     "Invalid parameter: The MessageGroupId parameter is required for FIFO topics");
            goto fail;
        }
        if (dedup) {
            snprintf(m->dedup_id, sizeof m->dedup_id, "%s", dedup);
        } else if (t->content_dedup) {
            unsigned char h[SHA256_DIGEST_LENGTH];
            SHA256((const unsigned char *)m->message, strlen(m->message), h);
            for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
                snprintf(m->dedup_id + 2 * i, 3, "%02x", h[i]);
        } else {
            aws_fail(err, AWS_ERR_SNS_INVALID_PARAMETER,
                     "Invalid parameter: The topic should either have ContentBasedDeduplication "
                     "enabled or MessageDeduplicationId provided explicitly");
            goto fail;
        }
    } else if (dedup) {
        aws_fail(err, AWS_ERR_SNS_INVALID_PARAMETER,
                 "Invalid parameter: MessageDeduplicationId Reason: The request includes "
                 "MessageDeduplicationId parameter that is not valid for this topic type");
        goto fail;
    }
    ids_uuid4(m->message_id);
    return 0;
fail:
    json_decref(m->structure);
    m->structure = NULL;
    return -1;
}

/* ---- matching ----------------------------------------------------------------------- */

typedef struct matches {
    uint64_t *ids;
    size_t n, cap;
} matches;

static void on_match(uint64_t id, void *arg)
{
    matches *m = arg;
    XGROW(m->ids, m->n, m->cap);
    m->ids[m->n++] = id;
}

static int matched(const matches *m, const sns_sub *sub)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->ids[i] == (uint64_t)(uintptr_t)sub)
            return 1;
    return 0;
}

/* Flattens the message attributes the way SNS filter policies see them. */
static void attributes_event(pattern_event *ev, const json_t *attrs)
{
    pattern_event_reset(ev);
    const char *name;
    json_t *a;
    json_object_foreach((json_t *)attrs, name, a)
    {
        const char *type = json_string_value(json_object_get(a, "DataType"));
        const char *sv = json_string_value(json_object_get(a, "StringValue"));
        if (!type || !sv)
            continue; /* binary attributes are not matched */
        if (strncmp(type, "Number", 6) == 0) {
            pattern_event_add(ev, name, sv, strlen(sv));
        } else if (strcmp(type, "String.Array") == 0) {
            pattern_event_add(ev, name, sv, strlen(sv));
        } else {
            buf q = BUF_INIT;
            jsonc_put_string_lossy(&q, sv, strlen(sv));
            pattern_event_add(ev, name, q.data, q.len);
            buf_free(&q);
        }
    }
}

/* ---- the envelope ------------------------------------------------------------------- */

static json_t *envelope_attributes(const json_t *attrs)
{
    json_t *o = json_object();
    const char *name;
    json_t *a;
    json_object_foreach((json_t *)attrs, name, a)
    {
        const char *type = json_string_value(json_object_get(a, "DataType"));
        const char *v = json_string_value(json_object_get(a, "StringValue"));
        if (!v)
            v = json_string_value(json_object_get(a, "BinaryValue"));
        json_object_set_new(
            o, name, json_pack("{s:s, s:s}", "Type", type ? type : "String", "Value", v ? v : ""));
    }
    return o;
}

/* The message a protocol gets (MessageStructure=json: its own entry, else "default"). */
static const char *message_for(const pub_msg *m, const char *protocol)
{
    if (!m->structure)
        return m->message;
    const char *own = json_string_value(json_object_get(m->structure, protocol));
    return own ? own : json_string_value(json_object_get(m->structure, "default"));
}

/* The signature version the topic asks for (1 unless SignatureVersion is "2"). */
static int signature_version(const sns_topic *t)
{
    const char *v = json_string_value(
        json_object_get(json_object_get(t->doc, "Attributes"), "SignatureVersion"));
    return v && strcmp(v, "2") == 0 ? 2 : 1;
}

static void sign_envelope(const sns *s, json_t *e, int version)
{
    if (sns_sign(s->signer, e, version) != 0)
        log_error("sns message not signed: its signature fields are missing", "message=%s",
                  json_string_value(json_object_get(e, "MessageId")));
}

/* The envelope of message m as every subscription gets it but for its UnsubscribeURL;
 * signed unless `sign` is 0 (then the caller signs it, perhaps on another thread). */
static json_t *base_envelope(sns *s, const sns_topic *t, const pub_msg *m, const char *message,
                             int64_t now, int sign)
{
    char ts[32];
    clock_iso8601_ms(now, ts);
    json_t *e = json_pack("{s:s, s:s}", "Type", "Notification", "MessageId", m->message_id);
    if (t->fifo) {
        char seq[32];
        snprintf(seq, sizeof seq, "%020lld", (long long)m->sequence);
        json_object_set_new(e, "SequenceNumber", json_string(seq));
    }
    json_object_set_new(e, "TopicArn", json_string(t->arn));
    if (m->subject)
        json_object_set_new(e, "Subject", json_string(m->subject));
    json_object_set_new(e, "Message", json_string(message));
    json_object_set_new(e, "Timestamp", json_string(ts));
    if (sign)
        sign_envelope(s, e, signature_version(t));
    buf url = BUF_INIT;
    buf_printf(&url, "%s%sSimpleNotificationService.pem", s->public_url, SNS_GET_PREFIX);
    json_object_set_new(e, "SigningCertURL", json_string(url.data));
    buf_free(&url);
    return e;
}

/* The envelope text one subscription receives. */
static char *envelope_for(sns *s, const json_t *base, const sns_sub *sub, const json_t *attrs)
{
    json_t *e = json_deep_copy(base);
    buf url = BUF_INIT;
    sns_subscription_url(s, "Unsubscribe", sub->arn, NULL, NULL, &url);
    json_object_set_new(e, "UnsubscribeURL", json_string(url.data));
    buf_free(&url);
    if (json_object_size(attrs) > 0)
        json_object_set_new(e, "MessageAttributes", envelope_attributes(attrs));
    buf out = BUF_INIT;
    jsonc_dump(&out, e);
    json_decref(e);
    return buf_steal(&out, NULL);
}

/* SNS attributes as SQS message attributes (raw delivery). */
static json_t *sqs_attributes(const json_t *attrs)
{
    if (json_object_size(attrs) == 0)
        return NULL;
    json_t *o = json_object();
    const char *name;
    json_t *a;
    json_object_foreach((json_t *)attrs, name, a)
    {
        json_t *c = json_object();
        json_object_set(c, "DataType", json_object_get(a, "DataType"));
        if (json_object_get(a, "StringValue"))
            json_object_set(c, "StringValue", json_object_get(a, "StringValue"));
        if (json_object_get(a, "BinaryValue"))
            json_object_set(c, "BinaryValue", json_object_get(a, "BinaryValue"));
        json_object_set_new(o, name, c);
    }
    return o;
}

/* ---- planning one message ----------------------------------------------------------- */

/* Adds the deliveries of message m on topic t to f. `signed_base`: m's envelope, already
 * signed (borrowed), or NULL to build and sign it here if a subscription needs it. */
static void plan_message(sns *s, sns_topic *t, pub_msg *m, fanout *f, json_t *signed_base)
{
    matches am = {0}, bm = {0};
    if (pattern_set_count(t->attr_policies) > 0) {
        attributes_event(s->scratch, m->attrs);
        pattern_set_match(t->attr_policies, s->scratch, on_match, &am);
    }
    if (pattern_set_count(t->body_policies) > 0 &&
        pattern_event_from_json(s->scratch, m->message, strlen(m->message)) == 0)
        pattern_set_match(t->body_policies, s->scratch, on_match, &bm);
    json_t *base = NULL;
    for (sns_sub *sub = t->subs; sub; sub = sub->next) {
        if (!sub->confirmed)
            continue;
        if (sub->has_policy && !matched(sub->body_scope ? &bm : &am, sub))
            continue;
        int sqs = strcmp(sub->protocol, "sqs") == 0;
        int http = strcmp(sub->protocol, "http") == 0 || strcmp(sub->protocol, "https") == 0;
        int email = sns_is_email(sub->protocol);
        int function = strcmp(sub->protocol, "lambda") == 0;
        const char *message = message_for(m, sqs ? "sqs" : sub->protocol);
        if (strcmp(sub->protocol, "sms") == 0) {
            sns_sms_plan(s, f, sub->endpoint, message, m->attrs, m->message_id, sub);
            continue;
        }
        if (!sqs && !http && !email && !function)
            continue;
        char *body = NULL;
        if (!sub->raw) {
            if (!base)
                base = signed_base ? json_incref(signed_base)
                                   : base_envelope(s, t, m, m->message, fanout_now(f), 1);
            if (m->structure) {
                json_t *own = base_envelope(s, t, m, message, fanout_now(f), 1);
                body = envelope_for(s, own, sub, m->attrs);
                json_decref(own);
            } else {
                body = envelope_for(s, base, sub, m->attrs);
            }
        }
        const char *text = body ? body : message;
        if (function) {
            sns_lambda_plan(s, f, sub, text);
        } else if (email) {
            sns_email_notification(s, f, sub, m->subject, message, text, m->message_id);
        } else if (sqs) {
            json_t *attrs = sub->raw ? sqs_attributes(m->attrs) : NULL;
            char err[256];
            if (fanout_queue(f, sub->endpoint, text, strlen(text), attrs,
                             t->fifo ? m->group_id : NULL, t->fifo ? m->dedup_id : NULL, err,
                             sizeof err) != 0)
                log_warn("sns message not delivered to its queue", "subscription=%s err='%s'",
                         sub->arn, err);
            json_decref(attrs);
        } else {
            json_t *target =
                json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "type", "Notification", "sub",
                          sub->id, "sub_arn", sub->arn, "topic_arn", t->arn, "endpoint",
                          sub->endpoint, "message_id", m->message_id, "raw", sub->raw);
            fanout_delivery(f, "sns", target, text, strlen(text));
            json_decref(target);
        }
        free(body);
    }
    json_decref(base);
    xfree(am.ids);
    xfree(bm.ids);
}

/* ---- Publish ------------------------------------------------------------------------ */

typedef struct pub_ctx {
    aws_call *call;
    sns *s;
    json_t *reply;
    char topic[300];
    int64_t sequence; /* FIFO: the topic's sequence after this publish */
} pub_ctx;

static void published(fanout *f, int status, void *arg)
{
    pub_ctx *c = arg;
    if (status == 0 && fanout_deliveries(f) > 0)
        sns_deliver_poke(c->s);
    if (status != 0) {
        json_decref(c->reply);
        aws_reply_error(c->call, AWS_ERR_INTERNAL_ERROR, "The store could not commit the message.");
    } else {
        aws_reply(c->call, c->reply);
    }
    xfree(c);
}

/* Commits f (the topic's FIFO sequence rides along) and replies `reply` (taken). */
static void commit(aws_call *call, sns_topic *t, fanout *f, json_t *reply)
{
    pub_ctx *c = xcalloc(1, sizeof *c);
    c->call = call;
    c->s = sns_of(call);
    c->reply = reply;
    if (t->fifo) {
        json_object_set_new(t->doc, "Sequence", json_integer(t->sequence));
        char *text = json_dumps(t->doc, JSON_COMPACT);
        fanout_doc(f, "sns.topic", t->name, text);
        free(text);
    }
    fanout_commit(f, published, c);
}

/* Publish to a phone number: one text message, no topic. */
static void publish_sms(aws_call *call, const char *phone, int has_arn)
{
    sns *s = sns_of(call);
    if (has_arn) {
        sns_invalid(call, "TopicArn or TargetArn Reason: Only one of TopicArn, TargetArn or "
                          "PhoneNumber may be given");
        return;
    }
    if (!sns_valid_phone(phone)) {
        sns_invalid(call, "PhoneNumber Reason: %s is not valid to publish to", phone);
        return;
    }
    pub_msg m;
    aws_failure err;
    if (check_message(NULL, call->input, &m, &err) != 0 || sns_sms_check(s, m.attrs, &err) != 0) {
        json_decref(m.structure);
        aws_reply_error(call, err.code, "%s", err.msg);
        return;
    }
    fanout *f = fanout_new(s->store, s->sqs, clock_now_ms(), s->account);
    sns_sms_plan(s, f, phone, message_for(&m, "sms"), m.attrs, m.message_id, NULL);
    json_decref(m.structure);
    pub_ctx *c = xcalloc(1, sizeof *c);
    c->call = call;
    c->s = s;
    c->reply = json_pack("{s:s}", "MessageId", m.message_id);
    fanout_commit(f, published, c);
}

/* ---- signing off the loop ----------------------------------------------------------- */

/* A Publish or PublishBatch whose messages are valid, on its way to the fan-out. An RSA
 * signature costs about half a millisecond: when the topic has subscriptions that receive
 * envelopes, the envelopes are signed on libuv's thread pool, so the loop keeps serving
 * meanwhile and both cores sign. FIFO topics sign on the loop: their publishes must reach
 * the store in the order of their sequence numbers. */
typedef struct pub_job {
    uv_work_t work;
    aws_call *call;
    sns *s;
    char topic[300]; /* the topic's name: found again after signing (it may be gone) */
    int version;
    size_t n;
    pub_msg msgs[SNS_MAX_BATCH];
    json_t *base[SNS_MAX_BATCH]; /* envelopes signed by the pool, or NULL */
    json_t *reply;
} pub_job;

static void job_free(pub_job *j)
{
    for (size_t i = 0; i < j->n; i++) {
        json_decref(j->msgs[i].structure);
        json_decref(j->base[i]);
    }
    json_decref(j->reply);
    xfree(j);
}

/* Some confirmed subscription gets the envelope (not every message may match it). */
static int needs_envelope(const sns_topic *t)
{
    for (const sns_sub *sub = t->subs; sub; sub = sub->next)
        if (sub->confirmed && !sub->raw && strcmp(sub->protocol, "sms") != 0)
            return 1;
    return 0;
}

/* Plans every message of the job and commits; replies. */
static void job_finish(pub_job *j)
{
    sns *s = j->s;
    sns_topic *t = sns_topic_find(s, j->topic);
    if (!t) { /* deleted while its envelopes were signed */
        aws_reply_error(j->call, AWS_ERR_SNS_NOT_FOUND, "Topic does not exist");
        job_free(j);
        return;
    }
    fanout *f = fanout_new(s->store, s->sqs, clock_now_ms(), s->account);
    for (size_t i = 0; i < j->n; i++)
        plan_message(s, t, &j->msgs[i], f, j->base[i]);
    json_t *reply = j->reply;
    j->reply = NULL;
    if (fanout_size(f) == 0 && !t->fifo) /* nothing to make durable */ {
        fanout_discard(f);
        aws_reply(j->call, reply);
    } else {
        commit(j->call, t, f, reply);
    }
    job_free(j);
}

static void job_sign(uv_work_t *w)
{
    pub_job *j = w->data;
    for (size_t i = 0; i < j->n; i++)
        if (j->base[i] && sns_sign(j->s->signer, j->base[i], j->version) != 0) {
            json_decref(j->base[i]); /* planned on the loop instead */
            j->base[i] = NULL;
        }
}

static void job_signed(uv_work_t *w, int status)
{
    pub_job *j = w->data;
    if (status != 0) /* cancelled before it ran: sign on the loop */
        for (size_t i = 0; i < j->n; i++) {
            json_decref(j->base[i]);
            j->base[i] = NULL;
        }
    job_finish(j);
}

static pub_job *job_new(aws_call *call, const sns_topic *t)
{
    pub_job *j = xcalloc(1, sizeof *j);
    j->call = call;
    j->s = sns_of(call);
    snprintf(j->topic, sizeof j->topic, "%s", t->name);
    j->version = signature_version(t);
    return j;
}

/* Takes the job's validated messages to the fan-out, through the pool when envelopes need
 * signing. */
static void job_start(pub_job *j, const sns_topic *t)
{
    if (t->fifo || j->n == 0 || !needs_envelope(t)) {
        job_finish(j);
        return;
    }
    int64_t now = clock_now_ms();
    for (size_t i = 0; i < j->n; i++)
        j->base[i] = base_envelope(j->s, t, &j->msgs[i], j->msgs[i].message, now, 0);
    j->work.data = j;
    if (uv_queue_work(j->s->loop, &j->work, job_sign, job_signed) != 0)
        job_signed(&j->work, -1);
}

/* ---- Publish and PublishBatch ------------------------------------------------------- */

void sns_publish(aws_call *call)
{
    const char *arn = sns_str(call, "TopicArn");
    const char *target = sns_str(call, "TargetArn");
    const char *phone = sns_str(call, "PhoneNumber");
    if (phone) {
        publish_sms(call, phone, arn || target);
        return;
    }
    if (arn && target) {
        sns_invalid(call, "TopicArn or TargetArn Reason: Only one of them may be given");
        return;
    }
    if (!arn && !target) {
        sns_invalid(call, "TopicArn or TargetArn Reason: no value for required parameter");
        return;
    }
    sns_topic *t = sns_topic_of(call, arn ? arn : target);
    if (!t)
        return;
    pub_job *j = job_new(call, t);
    pub_msg *m = &j->msgs[0];
    aws_failure err;
    if (check_message(t, call->input, m, &err) != 0) {
        aws_reply_error(call, err.code, "%s", err.msg);
        job_free(j);
        return;
    }
    j->n = 1;
    j->reply = json_pack("{s:s}", "MessageId", m->message_id);
    if (t->fifo) {
        m->sequence = ++t->sequence;
        char seq[32];
        snprintf(seq, sizeof seq, "%020lld", (long long)m->sequence);
        json_object_set_new(j->reply, "SequenceNumber", json_string(seq));
    }
    job_start(j, t);
}

void sns_publish_batch(aws_call *call)
{
    sns_topic *t = sns_topic_of(call, sns_str(call, "TopicArn"));
    if (!t)
        return;
    json_t *entries = json_object_get(call->input, "PublishBatchRequestEntries");
    size_t n = json_array_size(entries);
    if (n == 0) {
        aws_reply_error(call, AWS_ERR_SNS_EMPTY_BATCH_REQUEST,
                        "The batch request doesn't contain any entries");
        return;
    }
    if (n > SNS_MAX_BATCH) {
        aws_reply_error(call, AWS_ERR_SNS_TOO_MANY_ENTRIES_IN_BATCH_REQUEST,
                        "The batch request contains more entries than permissible");
        return;
    }
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(entries, i);
        const char *id = json_string_value(json_object_get(e, "Id"));
        if (!id || !aws_valid_batch_entry_id(id)) {
            aws_reply_error(call, AWS_ERR_SNS_INVALID_BATCH_ENTRY_ID,
                            "The Id of a batch entry in a batch request doesn't abide by the "
                            "specification");
            return;
        }
        for (size_t k = 0; k < i; k++) {
            const char *o = json_string_value(json_object_get(json_array_get(entries, k), "Id"));
            if (o && strcmp(o, id) == 0) {
                aws_reply_error(call, AWS_ERR_SNS_BATCH_ENTRY_IDS_NOT_DISTINCT,
                                "Two or more batch entries in the request have the same Id.");
                return;
            }
        }
        const char *msg = json_string_value(json_object_get(e, "Message"));
        total += msg ? strlen(msg) : 0;
    }
    if (total > SNS_MAX_MESSAGE_BYTES) {
        aws_reply_error(call, AWS_ERR_SNS_BATCH_REQUEST_TOO_LONG,
                        "The length of all the messages put together is more than the limit");
        return;
    }
    pub_job *j = job_new(call, t);
    json_t *ok = json_array(), *failed = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(entries, i);
        const char *id = json_string_value(json_object_get(e, "Id"));
        pub_msg *m = &j->msgs[j->n];
        aws_failure err;
        if (check_message(t, e, m, &err) != 0) {
            const aws_error_info *info = aws_error_lookup(err.code);
            json_array_append_new(failed, json_pack("{s:s, s:s, s:s, s:b}", "Id", id, "Code",
                                                    info->query_code, "Message", err.msg,
                                                    "SenderFault", 1));
            continue;
        }
        j->n++;
        if (t->fifo)
            m->sequence = ++t->sequence;
        json_t *r = json_pack("{s:s, s:s}", "Id", id, "MessageId", m->message_id);
        if (t->fifo) {
            char seq[32];
            snprintf(seq, sizeof seq, "%020lld", (long long)m->sequence);
            json_object_set_new(r, "SequenceNumber", json_string(seq));
        }
        json_array_append_new(ok, r);
    }
    j->reply = json_pack("{s:o, s:o}", "Successful", ok, "Failed", failed);
    job_start(j, t);
}

/* ---- publishing from other services ------------------------------------------------- */

int sns_publish_into(sns *s, fanout *f, const char *topic_arn, const char *message, size_t len,
                     char *err, size_t errlen)
{
    const char *colon = topic_arn ? strrchr(topic_arn, ':') : NULL;
    sns_topic *t = colon ? sns_topic_find(s, colon + 1) : NULL;
    if (!t || strcmp(t->arn, topic_arn) != 0) {
        snprintf(err, errlen, "Topic %s does not exist.", topic_arn ? topic_arn : "");
        return -1;
    }
    if (t->fifo) {
        snprintf(err, errlen, "FIFO topics need a message group: not supported as a target yet.");
        return -1;
    }
    if (len == 0 || len > SNS_MAX_MESSAGE_BYTES) {
        snprintf(err, errlen, "Invalid parameter: %s", len ? "Message too long" : "Empty message");
        return -1;
    }
    pub_msg m;
    memset(&m, 0, sizeof m);
    char *text = xstrndup(message, len);
    m.message = text;
    ids_uuid4(m.message_id);
    plan_message(s, t, &m, f, NULL);
    xfree(text);
    return 0;
}

void sns_deliveries_committed(sns *s)
{
    sns_deliver_poke(s);
}

/* ---- subscription confirmation ------------------------------------------------------ */

static void confirmation_planned(fanout *f, int status, void *arg)
{
    pub_ctx *c = arg;
    if (status == 0 && fanout_deliveries(f) > 0)
        sns_deliver_poke(c->s);
    if (c->call) {
        if (status != 0)
            aws_reply_error(c->call, AWS_ERR_INTERNAL_ERROR, "The store could not commit.");
        else
            aws_reply(c->call, c->reply);
        c->reply = NULL;
    }
    json_decref(c->reply);
    xfree(c);
}

void sns_confirmation_send(sns *s, sns_sub *sub, aws_call *call, json_t *reply)
{
    char id[40], ts[32];
    ids_uuid4(id);
    int64_t now = clock_now_ms();
    clock_iso8601_ms(now, ts);
    const char *token = json_string_value(json_object_get(sub->doc, "Token"));
    buf url = BUF_INIT, text = BUF_INIT;
    sns_subscription_url(s, "ConfirmSubscription", sub->topic->arn, "Token", token, &url);
    buf_printf(&text,
               "You have chosen to subscribe to the topic %s.\nTo confirm the subscription, visit "
               "the SubscribeURL included in this message.",
               sub->topic->arn);
    json_t *e = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Type", "SubscriptionConfirmation",
                          "MessageId", id, "Token", token, "TopicArn", sub->topic->arn, "Message",
                          text.data, "SubscribeURL", url.data, "Timestamp", ts);
    sign_envelope(s, e, signature_version(sub->topic));
    buf cert = BUF_INIT;
    buf_printf(&cert, "%s%sSimpleNotificationService.pem", s->public_url, SNS_GET_PREFIX);
    json_object_set_new(e, "SigningCertURL", json_string(cert.data));
    buf body = BUF_INIT;
    jsonc_dump(&body, e);
    json_decref(e);
    fanout *f = fanout_new(s->store, s->sqs, now, s->account);
    char *doc = json_dumps(sub->doc, JSON_COMPACT);
    fanout_doc(f, "sns.sub", sub->id, doc);
    free(doc);
    if (sns_is_email(sub->protocol)) {
        sns_email_confirmation(s, f, sub, url.data, body.data, id);
    } else {
        json_t *target =
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "type", "SubscriptionConfirmation",
                      "sub", sub->id, "sub_arn", sub->arn, "topic_arn", sub->topic->arn, "endpoint",
                      sub->endpoint, "message_id", id, "raw", 0);
        fanout_delivery(f, "sns", target, body.data, body.len);
        json_decref(target);
    }
    buf_free(&url);
    buf_free(&text);
    buf_free(&cert);
    buf_free(&body);
    pub_ctx *c = xcalloc(1, sizeof *c);
    c->s = s;
    c->call = call;
    c->reply = reply;
    fanout_commit(f, confirmation_planned, c);
}
