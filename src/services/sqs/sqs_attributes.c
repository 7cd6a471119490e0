/* Queue attributes: one table row per attribute (name, kind, range, FIFO-only, settable),
 * validated as SQS validates them, with SQS's error codes and messages. */
#include "services/sqs/sqs_internal.h"

#include "common/alloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { A_INT, A_BOOL, A_ENUM, A_JSON, A_STRING, A_COMPUTED } attr_kind;

typedef struct attr_rule {
    const char *name;
    attr_kind kind;
    long long min, max;
    const char *def_std;  /* default on a standard queue (NULL: none) */
    const char *def_fifo; /* default on a FIFO queue */
    int fifo_only;
    const char *enum_values; /* "a|b" for A_ENUM */
} attr_rule;

static const attr_rule rules[] = {
    {"DelaySeconds", A_INT, 0, 900, "0", "0", 0, NULL},
    {"MaximumMessageSize", A_INT, 1024, SQS_MAX_MESSAGE_SIZE, "262144", "262144", 0, NULL},
    {"MessageRetentionPeriod", A_INT, 60, 1209600, "345600", "345600", 0, NULL},
    {"ReceiveMessageWaitTimeSeconds", A_INT, 0, 20, "0", "0", 0, NULL},
    {"VisibilityTimeout", A_INT, 0, 43200, "30", "30", 0, NULL},
    {"Policy", A_JSON, 0, 0, NULL, NULL, 0, NULL},
    {"RedrivePolicy", A_JSON, 0, 0, NULL, NULL, 0, NULL},
    {"RedriveAllowPolicy", A_JSON, 0, 0, NULL, NULL, 0, NULL},
    {"KmsMasterKeyId", A_STRING, 0, 0, NULL, NULL, 0, NULL},
    {"KmsDataKeyReusePeriodSeconds", A_INT, 60, 86400, NULL, NULL, 0, NULL},
    {"SqsManagedSseEnabled", A_BOOL, 0, 0, "false", "false", 0, NULL},
    {"FifoQueue", A_BOOL, 0, 0, NULL, "true", 1, NULL},
    {"ContentBasedDeduplication", A_BOOL, 0, 0, NULL, "false", 1, NULL},
    {"DeduplicationScope", A_ENUM, 0, 0, NULL, "queue", 1, "messageGroup|queue"},
    {"FifoThroughputLimit", A_ENUM, 0, 0, NULL, "perQueue", 1, "perQueue|perMessageGroupId"},
    {"ApproximateNumberOfMessages", A_COMPUTED, 0, 0, NULL, NULL, 0, NULL},
    {"ApproximateNumberOfMessagesNotVisible", A_COMPUTED, 0, 0, NULL, NULL, 0, NULL},
    {"ApproximateNumberOfMessagesDelayed", A_COMPUTED, 0, 0, NULL, NULL, 0, NULL},
    {"CreatedTimestamp", A_COMPUTED, 0, 0, NULL, NULL, 0, NULL},
    {"LastModifiedTimestamp", A_COMPUTED, 0, 0, NULL, NULL, 0, NULL},
    {"QueueArn", A_COMPUTED, 0, 0, NULL, NULL, 0, NULL},
};

static const attr_rule *find_rule(const char *name)
{
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (strcmp(rules[i].name, name) == 0)
            return &rules[i];
    return NULL;
}

int sqs_attr_name_known(const char *name)
{
    return find_rule(name) != NULL || strcmp(name, "All") == 0;
}

json_t *sqs_attrs_defaults(int fifo)
{
    json_t *o = json_object();
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        const char *d = fifo ? rules[i].def_fifo : rules[i].def_std;
        if (d)
            json_object_set_new(o, rules[i].name, json_string(d));
    }
    return o;
}

static int parse_ll(const char *s, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

static int invalid(aws_call *call, const char *name, const char *why)
{
    if (why)
        aws_reply_error(call, AWS_ERR_SQS_INVALID_ATTRIBUTE_VALUE,
                        "Invalid value for the parameter %s. Reason: %s", name, why);
    else
        aws_reply_error(call, AWS_ERR_SQS_INVALID_ATTRIBUTE_VALUE,
                        "Invalid value for the parameter %s.", name);
    return -1;
}

static int bad_redrive(aws_call *call, const char *value, const char *why)
{
    aws_reply_error(call, AWS_ERR_INVALID_PARAMETER_VALUE,
                    "Value %s for parameter RedrivePolicy is invalid. Reason: %s", value, why);
    return -1;
}

static int check_redrive_policy(aws_call *call, sqs *s, int fifo, const char *value)
{
    if (*value == '\0')
        return 0; /* "" removes the policy */
    json_error_t jerr;
    json_t *p = json_loads(value, 0, &jerr);
    int rc = -1;
    if (!json_is_object(p)) {
        rc = bad_redrive(call, value, "Redrive policy is not a valid JSON map.");
        goto out;
    }
    json_t *arn = json_object_get(p, "deadLetterTargetArn");
    json_t *mrc = json_object_get(p, "maxReceiveCount");
    if (!json_is_string(arn) || !mrc) {
        rc = bad_redrive(call, value,
                         "Redrive policy does not contain mandatory attribute: "
                         "deadLetterTargetArn, maxReceiveCount.");
        goto out;
    }
    long long n = -1;
    if (json_is_integer(mrc))
        n = json_integer_value(mrc);
    else if (json_is_string(mrc) && parse_ll(json_string_value(mrc), &n) != 0)
        n = -1;
    if (n < 1 || n > 1000) {
        rc = bad_redrive(call, value,
                         "Invalid value for maxReceiveCount: must be an integer from 1 to 1000.");
        goto out;
    }
    sqs_queue *dlq = sqs_queue_from_arn(s, json_string_value(arn));
    if (!dlq) {
        rc = bad_redrive(call, value, "Dead letter target does not exist.");
        goto out;
    }
    if (dlq->fifo != fifo) {
        rc = bad_redrive(call, value,
                         fifo ? "Dead-letter queue must be the same type of queue as the source "
                                "queue: a FIFO queue."
                              : "Dead-letter queue must be the same type of queue as the source "
                                "queue: a standard queue.");
        goto out;
    }
    rc = 0;
out:
    json_decref(p);
    return rc;
}

int sqs_attrs_validate(aws_call *call, sqs *s, int fifo, int creating, const json_t *in,
                       json_t *attrs)
{
    const char *name;
    json_t *v;
    /* Validate everything before changing anything. */
    json_object_foreach((json_t *)in, name, v)
    {
        const attr_rule *r = find_rule(name);
        if (!r || r->kind == A_COMPUTED) {
            aws_reply_error(call, AWS_ERR_SQS_INVALID_ATTRIBUTE_NAME, "Unknown Attribute %s.",
                            name);
            return -1;
        }
        if (!json_is_string(v))
            return invalid(call, name, NULL);
        const char *val = json_string_value(v);
        if (r->fifo_only && !fifo) {
            if (strcmp(name, "FifoQueue") == 0 && strcmp(val, "false") == 0)
                continue;
            aws_reply_error(call, AWS_ERR_SQS_INVALID_ATTRIBUTE_NAME, "Unknown Attribute %s.",
                            name);
            return -1;
        }
        long long n;
        switch (r->kind) {
        case A_INT:
            if (parse_ll(val, &n) != 0 || n < r->min || n > r->max)
                return invalid(call, name, NULL);
            break;
        case A_BOOL:
            if (strcmp(val, "true") != 0 && strcmp(val, "false") != 0)
                return invalid(call, name, NULL);
            if (strcmp(name, "FifoQueue") == 0 && !creating && strcmp(val, fifo ? "true" : "false"))
                return invalid(call, name, "Modifying queue type is not supported.");
            break;
        case A_ENUM: {
            size_t len = strlen(val);
            const char *p = r->enum_values;
            int ok = 0;
            while (p && *p) {
                const char *bar = strchr(p, '|');
                size_t l = bar ? (size_t)(bar - p) : strlen(p);
                if (l == len && strncmp(p, val, l) == 0)
                    ok = 1;
                p = bar ? bar + 1 : NULL;
            }
            if (!ok)
                return invalid(call, name, NULL);
            break;
        }
        case A_JSON:
            if (strcmp(name, "RedrivePolicy") == 0) {
                if (check_redrive_policy(call, s, fifo, val) != 0)
                    return -1;
            } else if (*val) {
                json_t *j = json_loads(val, 0, NULL);
                int ok = json_is_object(j);
                json_decref(j);
                if (!ok)
                    return invalid(call, name, NULL);
            }
            break;
        default:
            break;
        }
    }
    /* High-throughput FIFO: perMessageGroupId needs messageGroup scope. */
    const char *scope = json_string_value(json_object_get(in, "DeduplicationScope"));
    const char *limit = json_string_value(json_object_get(in, "FifoThroughputLimit"));
    if (!scope)
        scope = json_string_value(json_object_get(attrs, "DeduplicationScope"));
    if (!limit)
        limit = json_string_value(json_object_get(attrs, "FifoThroughputLimit"));
    if (fifo && scope && limit && strcmp(limit, "perMessageGroupId") == 0 &&
        strcmp(scope, "queue") == 0)
        return invalid(call, "FifoThroughputLimit",
                       "The perMessageGroupId value is allowed only when the value for "
                       "DeduplicationScope is messageGroup.");
    json_object_foreach((json_t *)in, name, v)
    {
        const attr_rule *r = find_rule(name);
        const char *val = json_string_value(v);
        if (r->fifo_only && !fifo)
            continue;
        if (r->kind == A_JSON && *val == '\0')
            json_object_del(attrs, name);
        else
            json_object_set(attrs, name, v);
    }
    return 0;
}

static int attr_int(const sqs_queue *q, const char *name, int def)
{
    const char *v = json_string_value(json_object_get(q->attrs, name));
    long long n;
    return (v && parse_ll(v, &n) == 0) ? (int)n : def;
}

static int attr_true(const sqs_queue *q, const char *name)
{
    const char *v = json_string_value(json_object_get(q->attrs, name));
    return v && strcmp(v, "true") == 0;
}

void sqs_queue_apply_attrs(sqs_queue *q)
{
    q->visibility_timeout = attr_int(q, "VisibilityTimeout", 30);
    q->delay_seconds = attr_int(q, "DelaySeconds", 0);
    q->wait_seconds = attr_int(q, "ReceiveMessageWaitTimeSeconds", 0);
    q->max_message_size = attr_int(q, "MaximumMessageSize", SQS_DEFAULT_MSG_SIZE);
    q->retention_s = attr_int(q, "MessageRetentionPeriod", 345600);
    q->content_dedup = attr_true(q, "ContentBasedDeduplication");
    const char *scope = json_string_value(json_object_get(q->attrs, "DeduplicationScope"));
    q->dedup_per_group = scope && strcmp(scope, "messageGroup") == 0;
    q->max_receive_count = 0;
    xfree(q->dlq_name);
    q->dlq_name = NULL;
    const char *rp = json_string_value(json_object_get(q->attrs, "RedrivePolicy"));
    if (rp && *rp) {
        json_t *p = json_loads(rp, 0, NULL);
        json_t *arn = json_object_get(p, "deadLetterTargetArn");
        json_t *mrc = json_object_get(p, "maxReceiveCount");
        long long n = 0;
        if (json_is_integer(mrc))
            n = json_integer_value(mrc);
        else if (json_is_string(mrc))
            parse_ll(json_string_value(mrc), &n);
        const char *a = json_string_value(arn);
        const char *colon = a ? strrchr(a, ':') : NULL;
        if (colon && n > 0) {
            q->dlq_name = xstrdup(colon + 1);
            q->max_receive_count = (int)n;
        }
        json_decref(p);
    }
}
