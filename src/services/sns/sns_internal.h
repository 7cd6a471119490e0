/* SNS internals shared by the files of src/services/sns/. */
#ifndef SLUICE_SNS_INTERNAL_H
#define SLUICE_SNS_INTERNAL_H

#include "delivery/delivery.h"
#include "net/http_client.h"
#include "pattern/pattern.h"
#include "protocol/aws.h"
#include "services/sns/sns.h"
#include "services/sns/sns_sign.h"
#include "store/store.h"

#include <jansson.h>
#include <stdint.h>

#define SNS_MAX_MESSAGE_BYTES 262144
#define SNS_MAX_BATCH         10
#define SNS_PAGE_SIZE         100

typedef struct sns_topic sns_topic;

typedef struct sns_sub {
    char *id;  /* the subscription's UUID: the document key */
    char *arn; /* TopicArn:id */
    sns_topic *topic;
    json_t *doc; /* Protocol, Endpoint, Owner, Attributes{}, Confirmed, Token, TopicArn */
    const char *protocol, *endpoint; /* in doc */
    int confirmed;
    int raw;        /* RawMessageDelivery */
    int body_scope; /* FilterPolicyScope MessageBody */
    int has_policy;
    struct sns_sub *next;
} sns_sub;

struct sns_topic {
    char *name, *arn;
    int fifo;
    int content_dedup;
    json_t *doc; /* Name, Attributes{}, Tags{}, CreatedMs */
    pattern_set *attr_policies, *body_policies;
    sns_sub *subs;
    size_t nsubs;
    int64_t sequence; /* FIFO SequenceNumber */
    sns_topic *next;
};

struct sns {
    aws_service_def def;
    uv_loop_t *loop;
    store *store;
    sqs *sqs;
    const char *region, *account;
    char public_url[512];
    sns_topic *topics; /* by name */
    sns_signer *signer;
    delivery *deliveries;
    http_client *http;
    struct mailer *mail; /* email subscriptions' mail goes out through it */
    sns_sms_config sms;  /* strings owned */
    delivery *sms_deliveries;
    delivery_kind sms_kind;
    json_t *sms_attributes; /* SetSMSAttributes: DefaultSenderID, DefaultSMSType, ... */
    pattern_event *scratch;
    struct lambda *lambda; /* lambda subscriptions' invocations (sns_lambda.c), or NULL */
    int stopping;
};

static inline sns *sns_of(const aws_call *call)
{
    return (sns *)call->service->ctx;
}

/* ---- helpers (sns_service.c) -------------------------------------------------------- */
const char *sns_str(const aws_call *call, const char *name);
/* Replies InvalidParameter with SNS's wording: "Invalid parameter: <what>". */
void sns_invalid(aws_call *call, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Persists documents (copied; doc NULL deletes) in one op and replies `reply` (taken) to
 * call (may be NULL) once committed. */
void sns_persist_docs(sns *s, aws_call *call, json_t *reply, const store_doc *docs, size_t n);
void sns_persist_doc(sns *s, aws_call *call, json_t *reply, const char *ns, const char *key,
                     const json_t *doc);
/* "2026-11-30T09:00:00.000Z" */

/* ---- topics (sns_topic.c) ----------------------------------------------------------- */
sns_topic *sns_topic_find(sns *s, const char *name);
/* The topic of an ARN; replies NotFound ("Topic does not exist") and returns NULL if none. */
sns_topic *sns_topic_of(aws_call *call, const char *arn);
void sns_topic_restore(const char *key, const char *doc, void *arg);
void sns_topics_free(sns *s);

/* ---- subscriptions (sns_subscription.c) --------------------------------------------- */
void sns_sub_restore(const char *key, const char *doc, void *arg);
void sns_sub_free(sns_sub *sub);
/* Removes sub from its topic (and its policy from the matchers). */
void sns_sub_unlink(sns_sub *sub);
void sns_subscription_url(const sns *s, const char *action, const char *topic_arn,
                          const char *param, const char *value, buf *out);

/* ---- publishing (sns_publish.c) and delivery (sns_deliver.c) ------------------------ */
int sns_deliver_init(sns *s);
void sns_deliver_poke(sns *s);
/* A lambda subscription: plans the asynchronous invocation of its function with the SNS
 * event built from the subscription's envelope text (borrowed) (sns_lambda.c). */
void sns_lambda_plan(sns *s, fanout *f, const sns_sub *sub, const char *envelope);
/* The subscription a delivery's target ({topic_arn, sub}) names, if it still exists. */
sns_sub *sns_sub_of_target(sns *s, const json_t *target);
/* Adds to f what happens to a delivery that failed for good: its body goes to the
 * subscription's RedrivePolicy dead-letter queue with ErrorCode and ErrorMessage
 * attributes, or (no such policy, or sub NULL) it is logged and dropped. */
typedef struct fanout fanout;
void sns_dead_letter(sns *s, fanout *f, const sns_sub *sub, const char *sub_arn, const char *body,
                     size_t len, const char *message_id, const char *code, const char *message);
/* Commits a pending HTTP or email subscription together with its SubscriptionConfirmation
 * (a POST, or a mail), then replies `reply` (taken) to call (may be NULL). */
void sns_confirmation_send(sns *s, sns_sub *sub, aws_call *call, json_t *reply);

/* ---- email subscriptions (sns_email.c) ---------------------------------------------- */
int sns_is_email(const char *protocol);
void sns_email_init(sns *s);
/* Plans the mail of one notification (email: the message and an unsubscribe link;
 * email-json: the envelope) in f. */
void sns_email_notification(sns *s, fanout *f, const sns_sub *sub, const char *subject,
                            const char *message, const char *envelope, const char *message_id);
/* Plans the confirmation mail of a new email subscription in f. */
void sns_email_confirmation(sns *s, fanout *f, const sns_sub *sub, const char *subscribe_url,
                            const char *envelope, const char *message_id);

/* ---- SMS (sns_sms.c) ----------------------------------------------------------------- */
/* E.164: '+', a non-zero digit, 2 to 15 digits in all. */
int sns_valid_phone(const char *phone);
/* Checks the SMS message attributes (SMSType, SenderID); -1 with the error in err. */
int sns_sms_check(const sns *s, const json_t *attrs, aws_failure *err);
/* Plans one text message (and its SMS log record) in f; sub NULL for a direct Publish. */
void sns_sms_plan(sns *s, fanout *f, const char *phone, const char *message, const json_t *attrs,
                  const char *message_id, const sns_sub *sub);
int sns_sms_init(sns *s);
/* Serves the SMS log if req is for it: 1, else 0. */
int sns_sms_handle_get(http_request *req, sns *s);

/* ---- handlers ----------------------------------------------------------------------- */
void sns_create_topic(aws_call *call);
void sns_delete_topic(aws_call *call);
void sns_list_topics(aws_call *call);
void sns_get_topic_attributes(aws_call *call);
void sns_set_topic_attributes(aws_call *call);
void sns_tag_resource(aws_call *call);
void sns_untag_resource(aws_call *call);
void sns_list_tags_for_resource(aws_call *call);
void sns_subscribe(aws_call *call);
void sns_confirm_subscription(aws_call *call);
void sns_unsubscribe(aws_call *call);
void sns_list_subscriptions(aws_call *call);
void sns_list_subscriptions_by_topic(aws_call *call);
void sns_get_subscription_attributes(aws_call *call);
void sns_set_subscription_attributes(aws_call *call);
void sns_publish(aws_call *call);
void sns_publish_batch(aws_call *call);
void sns_set_sms_attributes(aws_call *call);
void sns_get_sms_attributes(aws_call *call);
void sns_check_if_phone_number_is_opted_out(aws_call *call);

#endif
