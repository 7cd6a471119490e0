/* Sending, deleting and changing the visibility of messages, single and batched.
 *
 * A single call and a batch share one path: each entry is validated into a store entry (or
 * a per-entry failure), the valid ones go to the store as one op, and the reply is built
 * when that op has committed. A single call is a batch of one whose failure is the call's
 * error. */
#include "services/sqs/sqs_internal.h"

#include "common/base64.h"
#include "common/alloc.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/utf8.h"
#include "services/sqs/sqs_md5.h"

#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The batch being built: entries[i] belongs to input entry index[i]. */
typedef struct batch_ctx {
    store_op op;
    aws_call *call;
    sqs_queue *q;
    int single;
    json_t *failed; /* per-entry failures found before the store */
    char **ids;     /* batch entry Ids of entries[] */
    store_sqs_entry *entries;
    size_t n;
} batch_ctx;

static batch_ctx *batch_new(aws_call *call, sqs_queue *q, store_op_kind kind, size_t cap,
                            int single)
{
    batch_ctx *c = xcalloc(1, sizeof *c);
    c->call = call;
    c->q = q;
    c->single = single;
    c->failed = json_array();
    c->ids = xcalloc(cap ? cap : 1, sizeof *c->ids);
    c->entries = xcalloc(cap ? cap : 1, sizeof *c->entries);
    c->op.kind = kind;
    c->op.now_ms = clock_now_ms();
    c->op.u.batch.queue_id = q->id;
    c->op.u.batch.fifo = q->fifo;
    c->op.u.batch.dedup_per_group = q->dedup_per_group;
    c->op.u.batch.dedup_window_ms = SQS_DEDUP_WINDOW_MS;
    sqs_queue_ref(q);
    return c;
}

static void batch_free(batch_ctx *c)
{
    for (size_t i = 0; i < c->n; i++) {
        xfree(c->ids[i]);
        store_message_clear(&c->entries[i].msg);
    }
    xfree(c->ids);
    xfree(c->entries);
    json_decref(c->failed);
    sqs_queue_unref(c->q);
    xfree(c);
}

static void batch_add_failure(batch_ctx *c, const char *id, const aws_failure *e)
{
    const aws_error_info *info = aws_error_lookup(e->code);
    json_array_append_new(c->failed,
                          sqs_batch_failure(id, info->shape, info->sender_fault, "%s", e->msg));
}

/* Replies to a batch whose every entry failed validation, or a single call's error. */
static int batch_reply_if_nothing_to_store(batch_ctx *c, const aws_failure *single_err)
{
    if (c->single && single_err) {
        aws_reply_error(c->call, single_err->code, "%s", single_err->msg);
        batch_free(c);
        return 1;
    }
    if (c->n == 0) {
        json_t *out = json_pack("{s:[], s:O}", "Successful", "Failed", c->failed);
        aws_reply(c->call, out);
        batch_free(c);
        return 1;
    }
    return 0;
}

/* ---- message validation ------------------------------------------------------------- */

/* Checks that s[0..n) is UTF-8 of characters SQS allows:
 * #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF. Returns the offending
 * code point (or 0xFFFFFFFF for bad UTF-8), or 0 if valid. */
static uint32_t invalid_char(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        /* Fast path: 8 printable ASCII bytes (none < 0x20, none >= 0x80). */
        while (n - i >= 8) {
            uint64_t x;
            memcpy(&x, p + i, 8);
            if (((x - 0x2020202020202020ULL) | x) & 0x8080808080808080ULL)
                break;
            i += 8;
        }
        if (i >= n)
            break;
        uint32_t c = p[i];
        size_t len = 1;
        if (c >= 0x80) {
            len = utf8_decode(p + i, n - i, &c);
            if (!len)
                return 0xffffffffu;
        }
        if (!(c == 0x9 || c == 0xa || c == 0xd || (c >= 0x20 && c <= 0xd7ff) ||
              (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff)))
            return c ? c : 0xfffffffe;
        i += len;
    }
    return 0;
}

static int check_chars(aws_failure *err, const char *s, size_t n, const char *what)
{
    uint32_t bad = invalid_char(s, n);
    if (!bad)
        return 0;
    if (bad == 0xffffffffu)
        return aws_fail(err, AWS_ERR_SQS_INVALID_MESSAGE_CONTENTS,
                        "Invalid UTF-8 was found in the %s.", what);
    return aws_fail(
        err, AWS_ERR_SQS_INVALID_MESSAGE_CONTENTS,
        "Invalid binary character '#x%X' was found in the %s, the set of allowed "
        "characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to "
        "#x10FFFF",
        bad == 0xfffffffe ? 0 : bad, what);
}

static int valid_attr_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 256 || name[0] == '.' || name[n - 1] == '.')
        return 0;
    if (strncasecmp(name, "AWS.", 4) == 0 || strncasecmp(name, "Amazon.", 7) == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return 0;
        if (c == '.' && name[i + 1] == '.')
            return 0;
    }
    return 1;
}

static int valid_number(const char *s)
{
    const char *p = s;
    if (*p == '-' || *p == '+')
        p++;
    int digits = 0, dot = 0;
    for (; *p && *p != 'e' && *p != 'E'; p++) {
        if (*p == '.') {
            if (dot++)
                return 0;
        } else if (*p >= '0' && *p <= '9') {
            digits++;
        } else {
            return 0;
        }
    }
    if (!digits)
        return 0;
    if (*p) {
        p++;
        if (*p == '-' || *p == '+')
            p++;
        if (!*p)
            return 0;
        for (; *p; p++)
            if (*p < '0' || *p > '9')
                return 0;
    }
    return 1;
}

/* Validates MessageAttributes (or MessageSystemAttributes when `system`) into a normalised
 * copy; adds their size to *size. */
static int check_attributes(aws_failure *err, json_t *in, int system, json_t **out, size_t *size)
{
    *out = NULL;
    if (!in || json_is_null(in))
        return 0;
    if (!json_is_object(in))
        return aws_fail(err, AWS_ERR_INVALID_PARAMETER_VALUE, "Message attributes must be a map.");
    if (json_object_size(in) > SQS_MAX_ATTRIBUTES)
        return aws_fail(err, AWS_ERR_INVALID_PARAMETER_VALUE,
                        "Number of message attributes [%zu] exceeds the allowed maximum [%d].",
                        json_object_size(in), SQS_MAX_ATTRIBUTES);
    json_t *norm = json_object();
    const char *name;
    json_t *v;
    json_object_foreach(in, name, v)
    {
        if (system && strcmp(name, "AWSTraceHeader") != 0) {
            aws_fail(err, AWS_ERR_INVALID_PARAMETER_VALUE,
                     "Message system attribute name '%s' is invalid.", name);
            goto bad;
        }
        if (!system && !valid_attr_name(name)) {
            aws_fail(
                err, AWS_ERR_INVALID_PARAMETER_VALUE,
                "Message (user) attribute name '%s' is invalid. The attribute name can contain "
                "alphanumeric characters, underscore (_), hyphen (-) and period (.), must not "
                "start or end with a period or contain successive periods, and must not start "
                "with AWS. or Amazon.",
                name);
            goto bad;
        }
        const char *type = json_string_value(json_object_get(v, "DataType"));
        if (!type || !*type) {
            aws_fail(err, AWS_ERR_INVALID_PARAMETER_VALUE,
                     "The message attribute '%s' must contain non-empty message attribute type.",
                     name);
            goto bad;
        }
        int is_string = strncmp(type, "String", 6) == 0 && (type[6] == 0 || type[6] == '.');
        int is_number = strncmp(type, "Number", 6) == 0 && (type[6] == 0 || type[6] == '.');
        int is_binary = strncmp(type, "Binary", 6) == 0 && (type[6] == 0 || type[6] == '.');
        if ((!is_string && !is_number && !is_binary) || strlen(type) > 256 ||
            (system && !is_string)) {
            aws_fail(err, AWS_ERR_INVALID_PARAMETER_VALUE,
                     "The type of message (user) attribute '%s' is invalid. You must use only the "
                     "following supported type prefixes: Binary, Number, String.",
                     name);
            goto bad;
        }
        json_t *entry = json_pack("{s:s}", "DataType", type);
        *size += strlen(name) + strlen(type);
        if (is_binary) {
            const char *b = json_string_value(json_object_get(v, "BinaryValue"));
            if (!b || !*b) {
                json_decref(entry);
                aws_fail(
                    err, AWS_ERR_INVALID_PARAMETER_VALUE,
                    "The message attribute '%s' must contain non-empty message attribute value "
                    "for message attribute type '%s'.",
                    name, type);
                goto bad;
            }
            json_object_set_new(entry, "BinaryValue", json_string(b));
            *size += base64_decoded_len(b, strlen(b));
        } else {
            json_t *sv = json_object_get(v, "StringValue");
            const char *s = json_string_value(sv);
            if (!s || !*s) {
                json_decref(entry);
                aws_fail(
                    err, AWS_ERR_INVALID_PARAMETER_VALUE,
                    "The message attribute '%s' must contain non-empty message attribute value "
                    "for message attribute type '%s'.",
                    name, type);
                goto bad;
            }
            size_t slen = json_string_length(sv);
            if (check_chars(err, s, slen, "message attribute value") != 0) {
                json_decref(entry);
                goto bad;
            }
            if (is_number && !valid_number(s)) {
                json_decref(entry);
                aws_fail(err, AWS_ERR_INVALID_PARAMETER_VALUE,
                         "Can't cast the value of message (user) attribute '%s' to a number.",
                         name);
                goto bad;
            }
            json_object_set_new(entry, "StringValue", json_stringn(s, slen));
            *size += slen;
        }
        json_object_set_new(norm, name, entry);
    }
    *out = norm;
    return 0;
bad:
    json_decref(norm);
    return -1;
}

static int valid_fifo_token(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x21 || s[i] > 0x7e)
            return 0;
    return 1;
}

/* Builds store message `m` from a SendMessage input (or batch entry) `e`. */
static int build_message(aws_call *call, sqs_queue *q, json_t *e, int64_t now, store_message *m,
                         size_t *size, aws_failure *err)
{
    json_t *body = json_object_get(e, "MessageBody");
    if (!json_is_string(body))
        return aws_fail(err, AWS_ERR_MISSING_PARAMETER,
                        "The request must contain the parameter MessageBody.");
    size_t blen = json_string_length(body);
    const char *b = json_string_value(body);
    if (blen == 0)
        return aws_fail(err, AWS_ERR_MISSING_PARAMETER,
                        "The request must contain the parameter MessageBody.");
    if (check_chars(err, b, blen, "message body") != 0)
        return -1;
    *size = blen;

    json_t *attrs = NULL, *sys = NULL;
    if (check_attributes(err, json_object_get(e, "MessageAttributes"), 0, &attrs, size) != 0)
        return -1;
    if (check_attributes(err, json_object_get(e, "MessageSystemAttributes"), 1, &sys, size) != 0) {
        json_decref(attrs);
        return -1;
    }
    if (*size > (size_t)q->max_message_size) {
        json_decref(attrs);
        json_decref(sys);
        return aws_fail(
            err, AWS_ERR_INVALID_PARAMETER_VALUE,
            "One or more parameters are invalid. Reason: Message must be shorter than %d "
            "bytes.",
            q->max_message_size);
    }

    int64_t delay = q->delay_seconds;
    json_t *d = json_object_get(e, "DelaySeconds");
    const char *group = json_string_value(json_object_get(e, "MessageGroupId"));
    const char *dedup = json_string_value(json_object_get(e, "MessageDeduplicationId"));
    int rc = -1;
    if (d && !json_is_null(d)) {
        if (!json_is_integer(d) || json_integer_value(d) < 0 || json_integer_value(d) > 900) {
            aws_fail(err, AWS_ERR_INVALID_PARAMETER_VALUE,
                     "Value %lld for parameter DelaySeconds is invalid. Reason: must be between 0 "
                     "and 900.",
                     json_is_integer(d) ? (long long)json_integer_value(d) : -1LL);
            goto out;
        }
        if (q->fifo) {
            aws_fail(
                err, AWS_ERR_INVALID_PARAMETER_VALUE,
                "Value %lld for parameter DelaySeconds is invalid. Reason: The request include "
                "parameter that is not valid for this queue type.",
                (long long)json_integer_value(d));
            goto out;
        }
        delay = json_integer_value(d);
    }
    char content_hash[65];
    if (q->fifo) {
        if (!group) {
            aws_fail(err, AWS_ERR_MISSING_PARAMETER,
                     "The request must contain the parameter MessageGroupId.");
            goto out;
        }
        if (!valid_fifo_token(group)) {
            aws_fail(err, AWS_ERR_INVALID_PARAMETER_VALUE,
                     "Value %s for parameter MessageGroupId is invalid. Reason: MessageGroupId can "
                     "only include alphanumeric and punctuation characters. 1 to 128 in length.",
                     group);
            goto out;
        }
        if (dedup && !valid_fifo_token(dedup)) {
            aws_fail(err, AWS_ERR_INVALID_PARAMETER_VALUE,
                     "Value %s for parameter MessageDeduplicationId is invalid. Reason: "
                     "MessageDeduplicationId can only include alphanumeric and punctuation "
                     "characters. 1 to 128 in length.",
                     dedup);
            goto out;
        }
        if (!dedup) {
            if (!q->content_dedup) {
                aws_fail(err, AWS_ERR_INVALID_PARAMETER_VALUE,
                         "The queue should either have ContentBasedDeduplication enabled or "
                         "MessageDeduplicationId provided explicitly");
                goto out;
            }
            unsigned char h[SHA256_DIGEST_LENGTH];
            SHA256((const unsigned char *)b, blen, h);
            for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
                snprintf(content_hash + 2 * i, 3, "%02x", h[i]);
            dedup = content_hash;
        }
    } else if (dedup) {
        aws_fail(err, AWS_ERR_INVALID_PARAMETER_VALUE,
                 "Value %s for parameter MessageDeduplicationId is invalid. Reason: The request "
                 "includes a parameter that is not valid for this queue type.",
                 dedup);
        goto out;
    } else if (group && !valid_fifo_token(group)) {
        aws_fail(
            err, AWS_ERR_INVALID_PARAMETER_VALUE,
            "Value %s for parameter MessageGroupId is invalid. Reason: MessageGroupId can only "
            "include alphanumeric and punctuation characters. 1 to 128 in length.",
            group);
        goto out;
    }

    memset(m, 0, sizeof *m);
    if ((attrs && sqs_md5_message_attributes(attrs, m->md5_attrs) < 0) ||
        (sys && sqs_md5_message_attributes(sys, m->md5_sys_attrs) < 0)) {
        aws_fail(err, AWS_ERR_INVALID_PARAMETER_VALUE,
                 "A BinaryValue of the message attributes is not valid base64.");
        goto out;
    }
    ids_uuid4(m->message_id);
    m->body = xstrndup(b, blen);
    m->body_len = blen;
    sqs_md5_hex(b, blen, m->md5_body);
    if (attrs && json_object_size(attrs) > 0)
        m->attrs_json = json_dumps(attrs, JSON_COMPACT);
    if (sys && json_object_size(sys) > 0)
        m->sys_attrs_json = json_dumps(sys, JSON_COMPACT);
    /* Standard queues keep a MessageGroupId too (fair queues) but do not order by it; the
     * store orders only messages of FIFO queues by group. */
    m->group_id = q->fifo && group ? xstrdup(group) : NULL;
    m->dedup_id = q->fifo ? xstrdup(dedup) : NULL;
    m->sender_id = xstrdup(call->access_key[0] ? call->access_key : sqs_of(call)->account);
    m->sent_ms = now;
    m->visible_ms = now + delay * 1000;
    rc = 0;
out:
    json_decref(attrs);
    json_decref(sys);
    return rc;
}

/* ---- SendMessage / SendMessageBatch ------------------------------------------------- */

static json_t *send_result(const store_sqs_entry *e, int fifo)
{
    const store_message *m = &e->msg;
    json_t *r =
        json_pack("{s:s, s:s}", "MessageId", m->message_id, "MD5OfMessageBody", m->md5_body);
    if (m->md5_attrs[0])
        json_object_set_new(r, "MD5OfMessageAttributes", json_string(m->md5_attrs));
    if (m->md5_sys_attrs[0])
        json_object_set_new(r, "MD5OfMessageSystemAttributes", json_string(m->md5_sys_attrs));
    if (fifo) {
        char seq[32];
        snprintf(seq, sizeof seq, "%020lld", (long long)m->sequence_number);
        json_object_set_new(r, "SequenceNumber", json_string(seq));
    }
    return r;
}

static void send_done(store_op *op)
{
    batch_ctx *c = (batch_ctx *)op;
    sqs_queue *q = c->q;
    if (op->status != 0) {
        aws_reply_error(c->call, AWS_ERR_INTERNAL_ERROR, "The store could not commit the message.");
        batch_free(c);
        return;
    }
    size_t visible_now = 0;
    int64_t earliest_later = 0;
    for (size_t i = 0; i < c->n; i++) {
        store_sqs_entry *e = &c->entries[i];
        if (e->duplicate)
            continue;
        if (e->msg.visible_ms <= op->now_ms)
            visible_now++;
        else if (!earliest_later || e->msg.visible_ms < earliest_later)
            earliest_later = e->msg.visible_ms;
    }
    if (!q->deleted) {
        if (visible_now)
            sqs_wake_waiters(q, visible_now);
        if (earliest_later && q->waiters)
            sqs_arm_wake_timer(q, earliest_later);
    }
    json_t *out;
    if (c->single) {
        out = send_result(&c->entries[0], q->fifo);
    } else {
        json_t *ok = json_array();
        for (size_t i = 0; i < c->n; i++) {
            json_t *r = send_result(&c->entries[i], q->fifo);
            json_object_set_new(r, "Id", json_string(c->ids[i]));
            json_array_append_new(ok, r);
        }
        out = json_pack("{s:o, s:O}", "Successful", ok, "Failed", c->failed);
    }
    aws_reply(c->call, out);
    batch_free(c);
}

void sqs_send_message(aws_call *call)
{
    sqs_queue *q = sqs_queue_from_call(call);
    if (!q)
        return;
    batch_ctx *c = batch_new(call, q, STORE_SQS_SEND, 1, 1);
    aws_failure err;
    size_t size;
    if (build_message(call, q, call->input, c->op.now_ms, &c->entries[0].msg, &size, &err) != 0) {
        batch_reply_if_nothing_to_store(c, &err);
        return;
    }
    c->n = 1;
    c->op.done = send_done;
    c->op.u.batch.entries = c->entries;
    c->op.u.batch.n = c->n;
    store_submit(sqs_of(call)->store, &c->op);
}

void sqs_send_message_batch(aws_call *call)
{
    sqs_queue *q = sqs_queue_from_call(call);
    if (!q)
        return;
    json_t *entries = sqs_batch_entries(call);
    if (!entries)
        return;
    size_t n = json_array_size(entries);
    for (size_t i = 0; q->fifo && i < n; i++) {
        if (!json_is_string(json_object_get(json_array_get(entries, i), "MessageGroupId"))) {
            aws_reply_error(call, AWS_ERR_INVALID_PARAMETER_VALUE,
                            "The request must contain the parameter MessageGroupId.");
            return;
        }
    }
    batch_ctx *c = batch_new(call, q, STORE_SQS_SEND, n, 0);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(entries, i);
        const char *id = json_string_value(json_object_get(e, "Id"));
        aws_failure err;
        size_t size = 0;
        if (build_message(call, q, e, c->op.now_ms, &c->entries[c->n].msg, &size, &err) != 0) {
            batch_add_failure(c, id, &err);
            continue;
        }
        total += size;
        c->ids[c->n++] = xstrdup(id);
    }
    if (total > SQS_MAX_MESSAGE_SIZE) {
        aws_reply_error(call, AWS_ERR_SQS_BATCH_REQUEST_TOO_LONG,
                        "Batch requests cannot be longer than %d bytes. You have sent %zu bytes.",
                        SQS_MAX_MESSAGE_SIZE, total);
        batch_free(c);
        return;
    }
    if (batch_reply_if_nothing_to_store(c, NULL))
        return;
    c->op.done = send_done;
    c->op.u.batch.entries = c->entries;
    c->op.u.batch.n = c->n;
    store_submit(sqs_of(call)->store, &c->op);
}

/* ---- DeleteMessage(Batch) / ChangeMessageVisibility(Batch) -------------------------- */

static int decode_handle(aws_call *call, sqs_queue *q, const char *handle, store_sqs_entry *e,
                         aws_failure *err)
{
    if (!handle || !*handle)
        return aws_fail(err, AWS_ERR_MISSING_PARAMETER,
                        "The request must contain the parameter ReceiptHandle.");
    int64_t queue_id, seq, token;
    const unsigned char *secret = store_secret(sqs_of(call)->store);
    if (sqs_receipt_decode(secret, handle, &queue_id, &seq, &token) != 0 || queue_id != q->id)
        return aws_fail(err, AWS_ERR_SQS_RECEIPT_HANDLE_IS_INVALID,
                        "The input receipt handle \"%.200s\" is not a valid receipt handle.",
                        handle);
    e->seq = seq;
    e->token = token;
    return 0;
}

static void delete_done(store_op *op)
{
    batch_ctx *c = (batch_ctx *)op;
    if (op->status != 0) {
        aws_reply_error(c->call, AWS_ERR_INTERNAL_ERROR, "The store could not commit the change.");
    } else if (c->single) {
        aws_reply(c->call, NULL);
    } else {
        json_t *ok = json_array();
        for (size_t i = 0; i < c->n; i++)
            json_array_append_new(ok, json_pack("{s:s}", "Id", c->ids[i]));
        aws_reply(c->call, json_pack("{s:o, s:O}", "Successful", ok, "Failed", c->failed));
    }
    batch_free(c);
}

static void not_available(aws_failure *err, const char *handle)
{
    aws_fail(
        err, AWS_ERR_INVALID_PARAMETER_VALUE,
        "Value %.200s for parameter ReceiptHandle is invalid. Reason: Message does not exist or "
        "is not available for visibility timeout change.",
        handle);
}

static void visibility_done(store_op *op)
{
    batch_ctx *c = (batch_ctx *)op;
    if (op->status != 0) {
        aws_reply_error(c->call, AWS_ERR_INTERNAL_ERROR, "The store could not commit the change.");
        batch_free(c);
        return;
    }
    int64_t earliest = 0;
    size_t now_visible = 0;
    json_t *ok = json_array();
    for (size_t i = 0; i < c->n; i++) {
        store_sqs_entry *e = &c->entries[i];
        if (!e->found) {
            aws_failure err;
            not_available(&err, e->msg.body ? e->msg.body : "");
            if (c->single) {
                json_decref(ok);
                aws_reply_error(c->call, err.code, "%s", err.msg);
                batch_free(c);
                return;
            }
            batch_add_failure(c, c->ids[i], &err);
            continue;
        }
        if (e->visible_ms <= op->now_ms)
            now_visible++;
        else if (!earliest || e->visible_ms < earliest)
            earliest = e->visible_ms;
        json_array_append_new(ok, json_pack("{s:s}", "Id", c->ids[i]));
    }
    if (!c->q->deleted) {
        if (now_visible)
            sqs_wake_waiters(c->q, now_visible);
        if (earliest && c->q->waiters)
            sqs_arm_wake_timer(c->q, earliest);
    }
    if (c->single) {
        json_decref(ok);
        aws_reply(c->call, NULL);
    } else {
        aws_reply(c->call, json_pack("{s:o, s:O}", "Successful", ok, "Failed", c->failed));
    }
    batch_free(c);
}

/* Shared by the four calls: `entries` is the batch's Entries, or NULL for a single call
 * whose fields are in the input itself. */
static void handle_entries(aws_call *call, sqs_queue *q, json_t *entries, int visibility)
{
    int single = entries == NULL;
    size_t n = single ? 1 : json_array_size(entries);
    batch_ctx *c =
        batch_new(call, q, visibility ? STORE_SQS_CHANGE_VISIBILITY : STORE_SQS_DELETE, n, single);
    for (size_t i = 0; i < n; i++) {
        json_t *e = single ? call->input : json_array_get(entries, i);
        const char *id = single ? "" : json_string_value(json_object_get(e, "Id"));
        const char *handle = json_string_value(json_object_get(e, "ReceiptHandle"));
        store_sqs_entry *se = &c->entries[c->n];
        aws_failure err;
        if (decode_handle(call, q, handle, se, &err) != 0) {
            if (single) {
                batch_reply_if_nothing_to_store(c, &err);
                return;
            }
            batch_add_failure(c, id, &err);
            continue;
        }
        if (visibility) {
            json_t *v = json_object_get(e, "VisibilityTimeout");
            if (!v || (!json_is_integer(v))) {
                aws_fail(&err, AWS_ERR_MISSING_PARAMETER,
                         "The request must contain the parameter VisibilityTimeout.");
            } else if (json_integer_value(v) < 0 || json_integer_value(v) > 43200) {
                aws_fail(&err, AWS_ERR_INVALID_PARAMETER_VALUE,
                         "Value %lld for parameter VisibilityTimeout is invalid. Reason: Must be "
                         "between 0 and 43200, if provided.",
                         (long long)json_integer_value(v));
            } else {
                err.code = AWS_ERR__COUNT;
            }
            if (err.code != AWS_ERR__COUNT) {
                if (single) {
                    batch_reply_if_nothing_to_store(c, &err);
                    return;
                }
                batch_add_failure(c, id, &err);
                continue;
            }
            se->visible_ms = c->op.now_ms + json_integer_value(v) * 1000;
            se->msg.body = xstrdup(handle); /* kept for the error message */
        }
        c->ids[c->n++] = xstrdup(id);
    }
    if (batch_reply_if_nothing_to_store(c, NULL))
        return;
    c->op.done = visibility ? visibility_done : delete_done;
    c->op.u.batch.entries = c->entries;
    c->op.u.batch.n = c->n;
    store_submit(sqs_of(call)->store, &c->op);
}

void sqs_delete_message(aws_call *call)
{
    sqs_queue *q = sqs_queue_from_call(call);
    if (q)
        handle_entries(call, q, NULL, 0);
}

void sqs_delete_message_batch(aws_call *call)
{
    sqs_queue *q = sqs_queue_from_call(call);
    if (!q)
        return;
    json_t *entries = sqs_batch_entries(call);
    if (entries)
        handle_entries(call, q, entries, 0);
}

void sqs_change_message_visibility(aws_call *call)
{
    sqs_queue *q = sqs_queue_from_call(call);
    if (q)
        handle_entries(call, q, NULL, 1);
}

void sqs_change_message_visibility_batch(aws_call *call)
{
    sqs_queue *q = sqs_queue_from_call(call);
    if (!q)
        return;
    json_t *entries = sqs_batch_entries(call);
    if (entries)
        handle_entries(call, q, entries, 1);
}
