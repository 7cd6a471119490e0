/* Email and email-json subscriptions: their mail, sent by the mailer (src/delivery/mail.h).
 *
 * As on AWS, an email subscription starts with a confirmation mail holding the
 * SubscribeURL (a GET of it confirms); until then nothing else is mailed. A notification
 * mail comes From the topic's DisplayName (else "AWS Notifications") at --smtp-from, with
 * the Subject of the Publish (else "AWS Notification Message"). `email` mails the message
 * text followed by the unsubscribe link; `email-json` mails the signed JSON envelope, as an
 * HTTP endpoint would receive it. A mail the SMTP server refuses for good, or that cannot
 * be delivered within the mailer's retry window, goes to the subscription's dead-letter
 * queue as its envelope, like a failed HTTP delivery (a confirmation mail is only logged:
 * it is not a message of the topic's). */
#include "services/sns/sns_internal.h"

#include "common/buf.h"
#include "common/log.h"
#include "common/mime.h"
#include "delivery/mail.h"

#include <stdio.h>
#include <string.h>

#define DEFAULT_DISPLAY_NAME "AWS Notifications"
#define DEFAULT_SUBJECT      "AWS Notification Message"
#define CONFIRM_SUBJECT      "AWS Notification - Subscription Confirmation"
#define NO_REPLY_LINE                                                                              \
    "Please do not reply directly to this email. It was sent by Sluice on behalf of the topic's "  \
    "owner."

int sns_is_email(const char *protocol)
{
    return strcmp(protocol, "email") == 0 || strcmp(protocol, "email-json") == 0;
}

/* "Display Name <address>" of the topic's mail. */
static void from_of(const sns *s, const sns_topic *t, buf *out)
{
    const char *name =
        json_string_value(json_object_get(json_object_get(t->doc, "Attributes"), "DisplayName"));
    buf_printf(out, "%s <%s>", name && *name ? name : DEFAULT_DISPLAY_NAME, mailer_from(s->mail));
}

/* Builds the mail and plans it in f. meta: what the outcome needs (taken). */
static void plan_mail(sns *s, fanout *f, const sns_sub *sub, const char *subject, const char *text,
                      const char *message_id, json_t *meta)
{
    buf from = BUF_INIT, data = BUF_INIT;
    from_of(s, sub->topic, &from);
    const char *to[] = {sub->endpoint};
    char list_unsub[700];
    buf url = BUF_INIT;
    sns_subscription_url(s, "Unsubscribe", sub->arn, NULL, NULL, &url);
    snprintf(list_unsub, sizeof list_unsub, "List-Unsubscribe: <%s>", url.data);
    const char *headers[] = {list_unsub};
    mime_message m = {
        .from = from.data,
        .to = to,
        .nto = 1,
        .subject = subject,
        .text = text,
        .text_len = strlen(text),
        .headers = headers,
        .nheaders = strlen(list_unsub) <= 900 ? 1 : 0,
    };
    const char *why = NULL;
    if (mime_build(&data, &m, &why) != 0) {
        log_warn("sns mail not sent: it cannot be built", "subscription=%s err='%s'", sub->arn,
                 why ? why : "");
        goto out;
    }
    json_t *record = json_pack("{s:s, s:s, s:{s:[s]}, s:s, s:{s:s}, s:s, s:s}", "Id", message_id,
                               "Source", from.data, "Destination", "ToAddresses", sub->endpoint,
                               "Subject", subject, "Body", "text_part", text, "TopicArn",
                               sub->topic->arn, "SubscriptionArn", sub->arn);
    mail_msg msg = {
        .owner = "sns",
        .meta = meta,
        .rcpt = to,
        .nrcpt = 1,
        .data = data.data,
        .len = data.len,
        .record = record,
    };
    char err[256];
    if (mailer_plan(s->mail, f, &msg, err, sizeof err) != 0)
        log_warn("sns mail not sent", "subscription=%s err='%s'", sub->arn, err);
    json_decref(record);
out:
    json_decref(meta);
    buf_free(&from);
    buf_free(&data);
    buf_free(&url);
}

static json_t *meta_of(const char *type, const sns_sub *sub, const char *message_id,
                       const char *envelope)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", type, "topic_arn", sub->topic->arn,
                     "sub", sub->id, "sub_arn", sub->arn, "message_id", message_id, "envelope",
                     envelope);
}

void sns_email_notification(sns *s, fanout *f, const sns_sub *sub, const char *subject,
                            const char *message, const char *envelope, const char *message_id)
{
    if (!subject || !*subject)
        subject = DEFAULT_SUBJECT;
    buf text = BUF_INIT, url = BUF_INIT;
    if (strcmp(sub->protocol, "email-json") == 0) {
        buf_puts(&text, envelope);
    } else {
        sns_subscription_url(s, "Unsubscribe", sub->arn, NULL, NULL, &url);
        buf_printf(&text,
                   "%s\n\n--\nIf you wish to stop receiving notifications from this topic, please "
                   "click or visit the link below to unsubscribe:\n%s\n\n" NO_REPLY_LINE "\n",
                   message, url.data);
    }
    plan_mail(s, f, sub, subject, text.data, message_id,
              meta_of("Notification", sub, message_id, envelope));
    buf_free(&text);
    buf_free(&url);
}

void sns_email_confirmation(sns *s, fanout *f, const sns_sub *sub, const char *subscribe_url,
                            const char *envelope, const char *message_id)
{
    buf text = BUF_INIT;
    if (strcmp(sub->protocol, "email-json") == 0)
        buf_puts(&text, envelope);
    else
        buf_printf(&text,
                   "You have chosen to subscribe to the topic:\n%s\n\nTo confirm this "
                   "subscription, click or visit the link below (If this was in error no action "
                   "is necessary):\n%s\n\n" NO_REPLY_LINE "\n",
                   sub->topic->arn, subscribe_url);
    plan_mail(s, f, sub, CONFIRM_SUBJECT, text.data, message_id,
              meta_of("SubscriptionConfirmation", sub, message_id, envelope));
    buf_free(&text);
}

/* The mailer's report on a mail of ours: a failure is dead-lettered as its envelope. */
static void on_outcome(const mail_outcome *o, fanout *f, void *arg)
{
    sns *s = arg;
    if (o->result == MAIL_DELIVERED)
        return;
    const char *type = json_string_value(json_object_get(o->meta, "type"));
    if (type && strcmp(type, "Notification") != 0) { /* a confirmation is not a message */
        log_warn("sns subscription confirmation not delivered", "subscription=%s err='%s'",
                 json_string_value(json_object_get(o->meta, "sub_arn")), o->message);
        return;
    }
    const char *envelope = json_string_value(json_object_get(o->meta, "envelope"));
    char message[600];
    snprintf(message, sizeof message, "%s%s",
             o->result == MAIL_EXPIRED ? "Delivery gave up after temporary failures: " : "",
             o->message);
    sns_dead_letter(s, f, sns_sub_of_target(s, o->meta),
                    json_string_value(json_object_get(o->meta, "sub_arn")),
                    envelope ? envelope : "", envelope ? strlen(envelope) : 0,
                    json_string_value(json_object_get(o->meta, "message_id")),
                    o->result == MAIL_REJECTED ? "EmailRejected" : "EmailUndeliverable", message);
}

void sns_email_init(sns *s)
{
    mailer_set_owner(s->mail, "sns", on_outcome, s);
}
