/* The SNS service: topics (standard and FIFO), subscriptions with filter policies, and
 * Publish fanned out to SQS queues (in the publish's own transaction) and HTTP endpoints
 * (signed, retried, dead-lettered). */
#ifndef SLUICE_SNS_H
#define SLUICE_SNS_H

#include "net/http_server.h"
#include "protocol/aws.h"
#include "services/sqs/sqs.h"
#include "store/store.h"

#include <uv.h>

typedef struct sns sns;

/* The HTTP SMS gateway (src/services/sns/sns_sms.c); gateway_url NULL or "": log only. */
typedef struct sns_sms_config {
    const char *gateway_url;
    const char *auth_header;   /* "Name: value" sent with each request, or NULL/"" */
    const char *body_template; /* {{phone}} {{sender}} {{message}} {{type}} {{id}} */
    const char *content_type;
} sns_sms_config;

typedef struct sns_config {
    const char *region, *account;
    const char *data_dir;   /* the signing key and certificate live here */
    const char *public_url; /* base of SigningCertURL, SubscribeURL, UnsubscribeURL */
    struct mailer *mail;    /* email and email-json subscriptions go out through it */
    sns_sms_config sms;
} sns_config;

/* Creates the service, loading its topics and subscriptions from the store (synchronously:
 * call before serving). Borrows everything. */
int sns_create(sns **out, uv_loop_t *loop, store *st, sqs *queues, const sns_config *cfg);
const aws_service_def *sns_service_def(const sns *s);
/* GET handler for the paths under SNS_GET_PREFIX (the signing certificate). ctx: the sns. */
#define SNS_GET_PREFIX "/_sluice/sns/"
/* The SMS log (paged as src/delivery/record_log.h says): every text message sent. */
#define SNS_SMS_LOG_PATH SNS_GET_PREFIX "sms"
void sns_handle_get(http_request *req, void *ctx);
void sns_shutdown(sns *s);
void sns_destroy(sns *s);

/* ---- publishing from other services (EventBridge targets) ----------------------------
 * Adds the deliveries of one message (text borrowed; no subject or attributes) on the
 * standard topic with this ARN to the caller's fan-out, so that they commit in the caller's
 * transaction. -1 (reason in err) if there is no such topic, it is a FIFO topic, or the
 * message is too large. After the fan-out committed with deliveries, call
 * sns_deliveries_committed. */
typedef struct fanout fanout;
int sns_publish_into(sns *s, fanout *f, const char *topic_arn, const char *message, size_t len,
                     char *err, size_t errlen);
void sns_deliveries_committed(sns *s);
/* The function service that lambda subscriptions invoke (borrowed; NULL: none). Its
 * dispatcher is poked whenever SNS's deliveries are. */
struct lambda;
void sns_set_lambda(sns *s, struct lambda *l);

#endif
