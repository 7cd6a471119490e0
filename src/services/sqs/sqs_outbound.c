/* Messages that other services put into queues (event-bus targets, topic subscriptions,
 * dead-letter queues), committed in those services' own transactions. The validation is
 * the part of SendMessage's that applies to a message no client wrote: size against the
 * queue's MaximumMessageSize, a group id for FIFO queues, deduplication. */
#include "services/sqs/sqs_internal.h"

#include "common/alloc.h"
#include "common/ids.h"
#include "services/sqs/sqs_md5.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

struct sqs_outbound {
    store_op op;
    sqs_queue *q;
    store_sqs_entry *entries;
    size_t n, cap;
};

sqs_outbound *sqs_outbound_begin(sqs *s, const char *queue_arn, int64_t now_ms)
{
    sqs_queue *q = sqs_queue_from_arn(s, queue_arn);
    if (!q || q->deleted)
        return NULL;
    sqs_outbound *o = xcalloc(1, sizeof *o);
    o->q = q;
    sqs_queue_ref(q);
    o->op.kind = STORE_SQS_SEND;
    o->op.now_ms = now_ms;
    o->op.u.batch.queue_id = q->id;
    o->op.u.batch.fifo = q->fifo;
    o->op.u.batch.dedup_per_group = q->dedup_per_group;
    o->op.u.batch.dedup_window_ms = SQS_DEDUP_WINDOW_MS;
    return o;
}

size_t sqs_outbound_count(const sqs_outbound *o)
{
    return o->n;
}

/* Adds one message; shared: its body is stored once for all its queues (body/len are then
 * shared's). md5_body: the body's digest when the caller knows it, else NULL. */
static int add(sqs_outbound *o, const char *body, size_t len, store_payload *shared,
               const char *md5_body, const json_t *attrs, const char *group_id,
               const char *dedup_id, const char *sender_id, char *err, size_t errlen)
{
    sqs_queue *q = o->q;
    if (len > (size_t)q->max_message_size) {
        snprintf(err, errlen, "Message must be shorter than %d bytes.", q->max_message_size);
        return -1;
    }
    if (q->fifo && (!group_id || !*group_id)) {
        snprintf(err, errlen, "The request must contain the parameter MessageGroupId.");
        return -1;
    }
    char md5_attrs[33] = "";
    if (attrs && json_object_size(attrs) > 0 && sqs_md5_message_attributes(attrs, md5_attrs) < 0) {
        snprintf(err, errlen, "The message attributes are not valid.");
        return -1;
    }
    if (o->n == o->cap) {
        o->cap = o->cap ? 2 * o->cap : 4;
        o->entries = xrealloc(o->entries, o->cap * sizeof *o->entries);
    }
    store_sqs_entry *e = &o->entries[o->n++];
    memset(e, 0, sizeof *e);
    store_message *m = &e->msg;
    ids_uuid4(m->message_id);
    if (shared) {
        m->shared = shared;
    } else {
        m->body = xmemdup(body, len + 1);
        m->body[len] = '\0';
    }
    m->body_len = len;
    if (md5_body)
        memcpy(m->md5_body, md5_body, sizeof m->md5_body);
    else
        sqs_md5_hex(body, len, m->md5_body);
    memcpy(m->md5_attrs, md5_attrs, sizeof md5_attrs);
    if (md5_attrs[0])
        m->attrs_json = json_dumps(attrs, JSON_COMPACT);
    if (q->fifo) {
        m->group_id = xstrdup(group_id);
        if (dedup_id) {
            m->dedup_id = xstrdup(dedup_id);
        } else {
            unsigned char h[SHA256_DIGEST_LENGTH];
            char hex[2 * SHA256_DIGEST_LENGTH + 1];
            SHA256((const unsigned char *)body, len, h);
            for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
                snprintf(hex + 2 * i, 3, "%02x", h[i]);
            m->dedup_id = xstrdup(hex);
        }
    }
    m->sender_id = xstrdup(sender_id ? sender_id : q->svc->account);
    m->sent_ms = o->op.now_ms;
    m->visible_ms = o->op.now_ms + (q->fifo ? 0 : (int64_t)q->delay_seconds * 1000);
    return 0;
}

int sqs_outbound_add(sqs_outbound *o, const char *body, size_t len, const json_t *attrs,
                     const char *group_id, const char *dedup_id, const char *sender_id, char *err,
                     size_t errlen)
{
    return add(o, body, len, NULL, NULL, attrs, group_id, dedup_id, sender_id, err, errlen);
}

int sqs_outbound_add_shared(sqs_outbound *o, store_payload *shared, const char md5_body[33],
                            const json_t *attrs, const char *group_id, const char *dedup_id,
                            const char *sender_id, char *err, size_t errlen)
{
    return add(o, shared->body, shared->len, shared, md5_body, attrs, group_id, dedup_id, sender_id,
               err, errlen);
}

store_op *sqs_outbound_op(sqs_outbound *o)
{
    o->op.u.batch.entries = o->entries;
    o->op.u.batch.n = o->n;
    return &o->op;
}

void sqs_outbound_discard(sqs_outbound *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->n; i++)
        store_message_clear(&o->entries[i].msg);
    xfree(o->entries);
    sqs_queue_unref(o->q);
    xfree(o);
}

void sqs_outbound_finish(sqs_outbound *o)
{
    sqs_queue *q = o->q;
    if (o->op.status == 0 && !q->deleted) {
        size_t visible_now = 0;
        int64_t later = 0;
        for (size_t i = 0; i < o->n; i++) {
            const store_sqs_entry *e = &o->entries[i];
            if (e->duplicate)
                continue;
            if (e->msg.visible_ms <= o->op.now_ms)
                visible_now++;
            else if (!later || e->msg.visible_ms < later)
                later = e->msg.visible_ms;
        }
        if (visible_now)
            sqs_wake_waiters(q, visible_now);
        if (later && q->waiters)
            sqs_arm_wake_timer(q, later);
    }
    sqs_outbound_discard(o);
}
