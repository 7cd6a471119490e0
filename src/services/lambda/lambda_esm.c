/* Event source mappings: the API (Create/Get/Update/Delete/List), and the pollers that run
 * the mappings from SQS queues (those from DynamoDB streams: lambda_esm_stream.c).
 *
 * A mapping is one document (LAMBDA_NS_ESM, keyed by UUID) in the shape of Lambda's
 * EventSourceMappingConfiguration. An enabled mapping runs pollers; each poller owns an
 * sqs_consumer (src/services/sqs/sqs_consumer.h) and loops:
 *   receive (parked on the queue while it is empty: no polling)
 *   -> gather up to BatchSize messages (more receives, until the batching window closes)
 *   -> drop the messages FilterCriteria rejects (deleted, as Lambda does)
 *   -> invoke the function with {"Records":[...]} (the SQS event shape)
 *   -> delete what succeeded: the whole batch, or with ReportBatchItemFailures all but the
 *      reported itemIdentifiers; a function error deletes nothing, so the messages become
 *      visible again after the queue's visibility timeout and the queue's own redrive
 *      policy moves them to its DLQ after maxReceiveCount receives.
 * Scaling: a mapping starts with one poller and adds one each time a poller receives a
 * full batch, up to ESM_MAX_POLLERS (or ScalingConfig.MaximumConcurrency if lower); the
 * server-wide and per-function worker caps still apply (a throttled batch waits and is
 * invoked again). Pollers of a mapping that is disabled or deleted stop; one whose
 * invocation is running finishes it first (its outcome still deletes what succeeded). */
#include "services/lambda/lambda_internal.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/log.h"
#include "pattern/pattern.h"
#include "services/service_docs.h"
#include "services/sqs/sqs_consumer.h"

#include <stdio.h>
#include <string.h>

#define ESM_MAX_POLLERS    5
#define ESM_THROTTLE_MS    100
#define ESM_RETRY_GONE_MS  5000
#define ESM_MAX_BATCH      10000
#define ESM_MAX_FIFO_BATCH 10
#define ESM_MAX_WINDOW_S   300
#define ESM_LIST_MAX       10000
#define ESM_DEFAULT_BATCH  10

typedef struct esm_poller esm_poller;

struct lambda_esm {
    lambda *l;
    char uuid[40];
    json_t *doc;
    int running; /* pollers are wanted */
    int deleted;
    unsigned npollers;   /* alive (running or finishing) */
    unsigned generation; /* bumped when the config changes: pollers reread it */
    esm_poller *pollers;
    esm_stream *stream; /* a DynamoDB stream's reader (lambda_esm_stream.c) */
    lambda_esm *next;
};

/* One message of the batch being gathered. */
typedef struct esm_item {
    char message_id[40];
    int64_t seq, token;
    json_t *record;
} esm_item;

struct esm_poller {
    lambda_esm *m;
    sqs_consumer *consumer;
    uv_timer_t timer; /* throttled batch, or the queue gone */
    esm_item *items;
    size_t n, cap;
    int64_t window_end_ms;
    int invoking;
    int stopped;
    esm_poller *next;
};

static void poller_receive(esm_poller *p);
static void poller_invoke(esm_poller *p);
static void esm_start(lambda_esm *m);
static void esm_stop(lambda_esm *m);

/* ---- the configuration ---------------------------------------------------------------- */

static const char *doc_str(const lambda_esm *m, const char *k)
{
    return json_string_value(json_object_get(m->doc, k));
}

static int doc_int(const lambda_esm *m, const char *k)
{
    return (int)json_integer_value(json_object_get(m->doc, k));
}

static int reports_failures(const lambda_esm *m)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(m->doc, "FunctionResponseTypes"), i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), "ReportBatchItemFailures") == 0)
            return 1;
    }
    return 0;
}

static unsigned max_pollers(const lambda_esm *m)
{
    json_t *mc = json_object_get(json_object_get(m->doc, "ScalingConfig"), "MaximumConcurrency");
    unsigned cap = ESM_MAX_POLLERS;
    if (json_is_integer(mc) && json_integer_value(mc) > 0 && json_integer_value(mc) < cap)
        cap = (unsigned)json_integer_value(mc);
    return cap;
}

json_t *lambda_esm_doc(lambda_esm *m)
{
    return m->doc;
}

const char *lambda_esm_uuid(const lambda_esm *m)
{
    return m->uuid;
}

static lambda_esm *esm_find(lambda *l, const char *uuid)
{
    for (lambda_esm *m = l->esms; uuid && m; m = m->next)
        if (strcmp(m->uuid, uuid) == 0)
            return m;
    return NULL;
}

/* ---- pollers: lifecycle --------------------------------------------------------------- */

static void items_clear(esm_poller *p)
{
    for (size_t i = 0; i < p->n; i++)
        json_decref(p->items[i].record);
    p->n = 0;
}

static void esm_free(lambda_esm *m)
{
    json_decref(m->doc);
    xfree(m);
}

void lambda_esm_poller_gone(lambda_esm *m)
{
    if (--m->npollers == 0 && m->deleted)
        esm_free(m);
}

static void poller_closed(uv_handle_t *h)
{
    esm_poller *p = h->data;
    lambda_esm *m = p->m;
    items_clear(p);
    xfree(p->items);
    xfree(p);
    lambda_esm_poller_gone(m);
}

static void poller_unlink(esm_poller *p)
{
    for (esm_poller **pp = &p->m->pollers; *pp; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            return;
        }
    }
}

/* Ends the poller now, or after its running invocation. */
static void poller_stop(esm_poller *p)
{
    if (p->stopped)
        return;
    p->stopped = 1;
    poller_unlink(p);
    sqs_consumer_destroy(p->consumer);
    p->consumer = NULL;
    uv_timer_stop(&p->timer);
    if (!p->invoking)
        uv_close((uv_handle_t *)&p->timer, poller_closed);
}

static void poller_start(lambda_esm *m)
{
    lambda *l = m->l;
    sqs_consumer *c =
        l->queues ? sqs_consumer_create(l->queues, doc_str(m, "EventSourceArn")) : NULL;
    esm_poller *p = xcalloc(1, sizeof *p);
    p->m = m;
    p->consumer = c;
    uv_timer_init(l->loop, &p->timer);
    p->timer.data = p;
    p->next = m->pollers;
    m->pollers = p;
    m->npollers++;
    poller_receive(p);
}

/* ---- pollers: receiving --------------------------------------------------------------- */

static void on_timer(uv_timer_t *t)
{
    esm_poller *p = t->data;
    if (p->n > 0)
        poller_invoke(p);
    else
        poller_receive(p);
}

void lambda_esm_set_result(lambda_esm *m, const char *result)
{
    json_object_set_new(m->doc, "LastProcessingResult", json_string(result));
}

/* The queue is gone (deleted, or never there after a restart): look again later. */
static void wait_for_queue(esm_poller *p)
{
    lambda_esm_set_result(p->m, "PROBLEM: Function call failed");
    if (p->consumer && sqs_consumer_gone(p->consumer)) {
        sqs_consumer_destroy(p->consumer);
        p->consumer = NULL;
    }
    uv_timer_start(&p->timer, on_timer, ESM_RETRY_GONE_MS, 0);
}

static void put_attr(json_t *o, const char *k, int64_t v)
{
    char s[32];
    snprintf(s, sizeof s, "%lld", (long long)v);
    json_object_set_new(o, k, json_string(s));
}

/* MessageAttributes as SendMessage stored them -> Lambda's record shape. */
static json_t *message_attributes(const char *attrs_json)
{
    json_t *out = json_object();
    json_t *in = attrs_json ? json_loads(attrs_json, 0, NULL) : NULL;
    const char *k;
    json_t *v;
    json_object_foreach(in, k, v)
    {
        json_t *a = json_pack("{s:[],s:[],s:O?}", "stringListValues", "binaryListValues",
                              "dataType", json_object_get(v, "DataType"));
        json_t *sv = json_object_get(v, "StringValue"), *bv = json_object_get(v, "BinaryValue");
        if (sv)
            json_object_set(a, "stringValue", sv);
        if (bv)
            json_object_set(a, "binaryValue", bv);
        json_object_set_new(out, k, a);
    }
    json_decref(in);
    return out;
}

static json_t *record_of(esm_poller *p, const store_message *m)
{
    lambda *l = p->m->l;
    char handle[160];
    sqs_consumer_receipt(p->consumer, m, handle, sizeof handle);
    json_t *attrs = json_object();
    put_attr(attrs, "ApproximateReceiveCount", m->receive_count);
    put_attr(attrs, "SentTimestamp", m->sent_ms);
    if (m->sender_id)
        json_object_set_new(attrs, "SenderId", json_string(m->sender_id));
    put_attr(attrs, "ApproximateFirstReceiveTimestamp", m->first_receive_ms);
    if (m->group_id) {
        char seq[32];
        snprintf(seq, sizeof seq, "%020lld", (long long)m->sequence_number);
        json_object_set_new(attrs, "SequenceNumber", json_string(seq));
        json_object_set_new(attrs, "MessageGroupId", json_string(m->group_id));
        if (m->dedup_id)
            json_object_set_new(attrs, "MessageDeduplicationId", json_string(m->dedup_id));
    }
    return json_pack("{s:s,s:s,s:s%,s:o,s:o,s:s,s:s,s:s,s:s}", "messageId", m->message_id,
                     "receiptHandle", handle, "body", m->body ? m->body : "", m->body_len,
                     "attributes", attrs, "messageAttributes", message_attributes(m->attrs_json),
                     "md5OfBody", m->md5_body, "eventSource", "aws:sqs", "eventSourceARN",
                     doc_str(p->m, "EventSourceArn"), "awsRegion", l->region);
}

static int batch_size(const lambda_esm *m)
{
    return doc_int(m, "BatchSize");
}

static int batch_ready(esm_poller *p, size_t got, int asked)
{
    if ((int)p->n >= batch_size(p->m))
        return 1;
    if (got < (size_t)asked) /* the queue had no more visible messages */
        return p->window_end_ms <= clock_now_ms();
    return 0;
}

static void on_messages(sqs_consumer *c, const store_message *msgs, size_t n, void *arg)
{
    (void)c;
    esm_poller *p = arg;
    int asked = batch_size(p->m) - (int)p->n;
    asked = asked > 10 ? 10 : asked;
    if (p->n == 0 && n > 0)
        p->window_end_ms =
            clock_now_ms() + (int64_t)doc_int(p->m, "MaximumBatchingWindowInSeconds") * 1000;
    for (size_t i = 0; i < n; i++) {
        /* Received again while the batch was gathering (its visibility timeout shorter
         * than the batching window): the newer receipt replaces the older. */
        esm_item *again = NULL;
        for (size_t j = 0; j < p->n && !again; j++)
            if (p->items[j].seq == msgs[i].seq)
                again = &p->items[j];
        if (again) {
            again->token = msgs[i].receipt_token;
            json_decref(again->record);
            again->record = record_of(p, &msgs[i]);
            continue;
        }
        if (p->n == p->cap) {
            p->cap = p->cap ? 2 * p->cap : 16;
            p->items = xrealloc(p->items, p->cap * sizeof *p->items);
        }
        esm_item *it = &p->items[p->n++];
        snprintf(it->message_id, sizeof it->message_id, "%s", msgs[i].message_id);
        it->seq = msgs[i].seq;
        it->token = msgs[i].receipt_token;
        it->record = record_of(p, &msgs[i]);
    }
    if (p->n == 0) { /* the wait ended empty: the queue deleted, or a deadline */
        poller_receive(p);
        return;
    }
    if (!batch_ready(p, n, asked) && n > 0) {
        poller_receive(p);
        return;
    }
    if (n == (size_t)asked && (int)p->n >= batch_size(p->m) && p->m->npollers < max_pollers(p->m) &&
        p->m->running)
        poller_start(p->m); /* a full batch: the queue has a backlog, scale up */
    poller_invoke(p);
}

static void poller_receive(esm_poller *p)
{
    if (p->stopped)
        return;
    lambda_esm *m = p->m;
    if (!p->consumer)
        p->consumer =
            m->l->queues ? sqs_consumer_create(m->l->queues, doc_str(m, "EventSourceArn")) : NULL;
    if (!p->consumer || sqs_consumer_gone(p->consumer)) {
        wait_for_queue(p);
        return;
    }
    int want = batch_size(m) - (int)p->n;
    /* The first message waits as long as it takes; the rest of a batch until the window
     * closes (a window of 0 takes what is visible now). */
    int64_t until =
        p->n == 0 ? 0 : (p->window_end_ms > clock_now_ms() ? p->window_end_ms : clock_now_ms());
    if (sqs_consumer_receive(p->consumer, want > 10 ? 10 : want, until, on_messages, p) != 0) {
        if (p->n > 0)
            poller_invoke(p);
        else
            wait_for_queue(p);
    }
}

/* ---- pollers: invoking ---------------------------------------------------------------- */

/* Whether the record passes FilterCriteria (none: all pass). The body is matched as JSON
 * when it is a JSON object, as Lambda does. */
int lambda_esm_passes_filters(const lambda_esm *m, const json_t *record)
{
    json_t *filters = json_object_get(json_object_get(m->doc, "FilterCriteria"), "Filters");
    if (json_array_size(filters) == 0)
        return 1;
    json_t *r = json_deep_copy(record);
    const char *body = json_string_value(json_object_get(r, "body"));
    json_t *parsed = body ? json_loads(body, 0, NULL) : NULL;
    if (json_is_object(parsed))
        json_object_set(r, "body", parsed);
    json_decref(parsed);
    char *text = json_dumps(r, JSON_COMPACT);
    json_decref(r);
    int pass = 0;
    size_t i;
    json_t *f;
    json_array_foreach(filters, i, f)
    {
        const char *pat = json_string_value(json_object_get(f, "Pattern"));
        char err[256];
        if (pat && pattern_test(PATTERN_EVENTBRIDGE, pat, strlen(pat), text, strlen(text), err,
                                sizeof err) == 1) {
            pass = 1;
            break;
        }
    }
    free(text);
    return pass;
}

static void delete_items(esm_poller *p, const esm_item *const *items, size_t n)
{
    if (n == 0 || !p->consumer)
        return;
    int64_t *seqs = xcalloc(n, sizeof *seqs), *tokens = xcalloc(n, sizeof *tokens);
    for (size_t i = 0; i < n; i++) {
        seqs[i] = items[i]->seq;
        tokens[i] = items[i]->token;
    }
    sqs_consumer_delete(p->consumer, seqs, tokens, n, NULL, NULL);
    xfree(seqs);
    xfree(tokens);
}

/* The itemIdentifiers the response lists as failed; -1 if the whole batch failed (a
 * response Lambda cannot read as a batch item failure report). */
static int failed_ids(const lambda_result *r, json_t **out)
{
    *out = NULL;
    json_t *resp =
        r->payload.len ? json_loadb(r->payload.data, r->payload.len, JSON_DECODE_ANY, NULL) : NULL;
    if (!resp || json_is_null(resp) || !json_is_object(resp)) {
        json_decref(resp);
        return 0; /* null or not an object: success */
    }
    json_t *list = json_object_get(resp, "batchItemFailures");
    if (!list || json_is_null(list)) {
        json_decref(resp);
        return 0;
    }
    if (!json_is_array(list)) {
        json_decref(resp);
        return -1;
    }
    size_t i;
    json_t *f;
    json_array_foreach(list, i, f)
    {
        json_t *id = json_object_get(f, "itemIdentifier");
        if (!json_is_string(id) || json_string_length(id) == 0) {
            json_decref(resp);
            return -1;
        }
    }
    *out = json_incref(list);
    json_decref(resp);
    return 0;
}

static int listed(const json_t *failures, const char *id, int *known)
{
    size_t i;
    json_t *f;
    json_array_foreach(failures, i, f)
    {
        if (strcmp(json_string_value(json_object_get(f, "itemIdentifier")), id) == 0) {
            (*known)++;
            return 1;
        }
    }
    return 0;
}

static void on_invoked(lambda_result *r, void *arg)
{
    esm_poller *p = arg;
    lambda_esm *m = p->m;
    p->invoking = 0;
    const esm_item **ok = xcalloc(p->n ? p->n : 1, sizeof *ok);
    size_t nok = 0;
    if (r->kind == LAMBDA_RESULT_OK) {
        json_t *failures = NULL;
        int whole = reports_failures(m) ? failed_ids(r, &failures) : 0;
        int known = 0;
        for (size_t i = 0; whole == 0 && i < p->n; i++)
            if (!failures || !listed(failures, p->items[i].message_id, &known))
                ok[nok++] = &p->items[i];
        /* An identifier that is not in the batch fails the whole batch. */
        if (failures && (size_t)known != json_array_size(failures))
            nok = 0;
        json_decref(failures);
        lambda_esm_set_result(m, "OK");
    } else {
        lambda_esm_set_result(m, "PROBLEM: Function call failed");
        log_info("lambda event source: batch failed", "mapping=%s function=%s messages=%zu",
                 m->uuid, doc_str(m, "FunctionArn"), p->n);
    }
    delete_items(p, ok, nok);
    xfree(ok);
    items_clear(p);
    if (p->stopped) {
        uv_close((uv_handle_t *)&p->timer, poller_closed);
        return;
    }
    poller_receive(p);
}

static void poller_invoke(esm_poller *p)
{
    lambda_esm *m = p->m;
    lambda *l = m->l;
    /* Messages the filters reject are deleted without an invocation. */
    int64_t *seqs = xcalloc(p->n ? p->n : 1, sizeof *seqs);
    int64_t *tokens = xcalloc(p->n ? p->n : 1, sizeof *tokens);
    size_t ndropped = 0, kept = 0;
    for (size_t i = 0; i < p->n; i++) {
        if (lambda_esm_passes_filters(m, p->items[i].record)) {
            p->items[kept++] = p->items[i];
            continue;
        }
        seqs[ndropped] = p->items[i].seq;
        tokens[ndropped++] = p->items[i].token;
        json_decref(p->items[i].record);
    }
    if (ndropped && p->consumer)
        sqs_consumer_delete(p->consumer, seqs, tokens, ndropped, NULL, NULL);
    xfree(seqs);
    xfree(tokens);
    p->n = kept;
    if (p->n == 0) {
        poller_receive(p);
        return;
    }
    lambda_fn *fn = lambda_fn_target(l, doc_str(m, "FunctionArn"), NULL);
    if (!fn) { /* the function was deleted: the messages go back to the queue */
        lambda_esm_set_result(m, "PROBLEM: Function not found");
        items_clear(p);
        uv_timer_start(&p->timer, on_timer, ESM_RETRY_GONE_MS, 0);
        return;
    }
    json_t *records = json_array();
    for (size_t i = 0; i < p->n; i++)
        json_array_append(records, p->items[i].record);
    json_t *event = json_pack("{s:o}", "Records", records);
    char *text = json_dumps(event, JSON_COMPACT);
    json_decref(event);
    char id[40];
    ids_uuid4(id);
    p->invoking = 1;
    if (lambda_invoke(l, fn, id, text, strlen(text), on_invoked, p) != 0) {
        p->invoking = 0;
        uv_timer_start(&p->timer, on_timer, ESM_THROTTLE_MS, 0);
    }
    free(text);
}

/* ---- running or not ------------------------------------------------------------------- */

static void esm_start(lambda_esm *m)
{
    m->running = 1;
    if (lambda_esm_is_stream(doc_str(m, "EventSourceArn"))) {
        if (!m->stream) {
            m->npollers++;
            m->stream = lambda_esm_stream_start(m->l, m);
        }
    } else if (!m->pollers) {
        poller_start(m);
    }
}

static void esm_stop(lambda_esm *m)
{
    m->running = 0;
    while (m->pollers)
        poller_stop(m->pollers);
    if (m->stream) {
        lambda_esm_stream_stop(m->stream);
        m->stream = NULL;
    }
}

static int enabled(const lambda_esm *m)
{
    return strcmp(doc_str(m, "State"), "Enabled") == 0;
}

static void esm_apply(lambda_esm *m)
{
    if (enabled(m) && !m->l->stopping)
        esm_start(m);
    else
        esm_stop(m);
}

static lambda_esm *esm_add(lambda *l, const char *uuid, json_t *doc)
{
    lambda_esm *m = xcalloc(1, sizeof *m);
    m->l = l;
    snprintf(m->uuid, sizeof m->uuid, "%s", uuid);
    m->doc = doc;
    lambda_esm **tail = &l->esms;
    while (*tail)
        tail = &(*tail)->next;
    *tail = m;
    return m;
}

static void esm_remove(lambda_esm *m)
{
    for (lambda_esm **pp = &m->l->esms; *pp; pp = &(*pp)->next) {
        if (*pp == m) {
            *pp = m->next;
            break;
        }
    }
    esm_stop(m);
    m->deleted = 1;
    if (m->npollers == 0)
        esm_free(m);
}

/* ---- the API -------------------------------------------------------------------------- */

static json_t *configuration(const lambda_esm *m, const char *state)
{
    json_t *out = json_deep_copy(m->doc);
    json_object_del(out, "Checkpoint"); /* a stream mapping's position (lambda_esm_stream.c) */
    if (state)
        json_object_set_new(out, "State", json_string(state));
    return out;
}

static void persist(lambda *l, aws_call *call, json_t *reply, const lambda_esm *m)
{
    service_persist_doc(l->store, call, reply, AWS_ERR_LAMBDA_SERVICE, LAMBDA_NS_ESM, m->uuid,
                        m->deleted ? NULL : m->doc);
}

static void not_found(aws_call *call)
{
    aws_reply_error(call, LAMBDA_ERR_NOT_FOUND, "The resource you requested does not exist.");
}

static int is_fifo_arn(const char *arn)
{
    size_t n = strlen(arn);
    return n > 5 && strcmp(arn + n - 5, ".fifo") == 0;
}

/* Checks the candidate configuration doc as Lambda does; replies and returns -1 if not. */
static int validate(aws_call *call, lambda *l, const json_t *doc)
{
    const char *arn = json_string_value(json_object_get(doc, "EventSourceArn"));
    if (arn && lambda_esm_is_stream(arn))
        return lambda_esm_stream_validate(call, l, doc);
    char prefix[128];
    snprintf(prefix, sizeof prefix, "arn:aws:sqs:%s:%s:", l->region, l->account);
    if (!arn || strncmp(arn, prefix, strlen(prefix)) != 0) {
        aws_reply_error(call, LAMBDA_ERR_INVALID, "Unrecognized event source.");
        return -1;
    }
    sqs_consumer *probe = l->queues ? sqs_consumer_create(l->queues, arn) : NULL;
    if (!probe) {
        aws_reply_error(call, LAMBDA_ERR_INVALID,
                        "Error occurred while ReceiveMessage. SQS Error Code: "
                        "AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: The "
                        "specified queue does not exist or you do not have access to it.");
        return -1;
    }
    sqs_consumer_destroy(probe);
    int fifo = is_fifo_arn(arn);
    json_int_t batch = json_integer_value(json_object_get(doc, "BatchSize"));
    json_int_t window = json_integer_value(json_object_get(doc, "MaximumBatchingWindowInSeconds"));
    if (batch < 1 || batch > (fifo ? ESM_MAX_FIFO_BATCH : ESM_MAX_BATCH)) {
        aws_reply_error(call, LAMBDA_ERR_INVALID,
                        fifo ? "BatchSize must be between 1 and 10 for FIFO queues."
                             : "BatchSize must be between 1 and 10000.");
        return -1;
    }
    if (window < 0 || window > ESM_MAX_WINDOW_S) {
        aws_reply_error(call, LAMBDA_ERR_INVALID,
                        "MaximumBatchingWindowInSeconds must be between 0 and 300.");
        return -1;
    }
    if (fifo && window > 0) {
        aws_reply_error(call, LAMBDA_ERR_INVALID,
                        "Batching window is not supported for FIFO queues.");
        return -1;
    }
    if (batch > 10 && window < 1) {
        aws_reply_error(call, LAMBDA_ERR_INVALID,
                        "Maximum batch window in seconds must be greater than 0 if maximum batch "
                        "size is greater than 10");
        return -1;
    }
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(doc, "FunctionResponseTypes"), i, v)
    {
        if (!json_is_string(v) || strcmp(json_string_value(v), "ReportBatchItemFailures") != 0) {
            aws_reply_error(call, LAMBDA_ERR_INVALID,
                            "1 validation error detected: Value '[%s]' at 'functionResponseTypes' "
                            "failed to satisfy constraint: Member must satisfy constraint: "
                            "[Member must satisfy enum value set: [ReportBatchItemFailures]]",
                            json_is_string(v) ? json_string_value(v) : "");
            return -1;
        }
    }
    json_array_foreach(json_object_get(json_object_get(doc, "FilterCriteria"), "Filters"), i, v)
    {
        const char *pat = json_string_value(json_object_get(v, "Pattern"));
        char err[256];
        if (!pat || pattern_validate(PATTERN_EVENTBRIDGE, pat, strlen(pat), err, sizeof err) != 0) {
            aws_reply_error(call, LAMBDA_ERR_INVALID, "Invalid filter pattern definition.");
            return -1;
        }
    }
    return 0;
}

/* Copies the settable members of the call's input into doc (FunctionName as FunctionArn);
 * -1 (replied) if the function does not exist. */
static int merge_input(aws_call *call, lambda *l, json_t *doc)
{
    const char *fname = lambda_str(call, "FunctionName");
    if (fname) {
        lambda_fn *fn = lambda_fn_version(l, fname, NULL);
        if (!fn) {
            aws_reply_error(call, LAMBDA_ERR_NOT_FOUND, "Function does not exist");
            return -1;
        }
        char arn[512], qualifier[130];
        lambda_fn_arn(l, fn->name, arn, sizeof arn);
        lambda_qualifier_of(fname, qualifier, sizeof qualifier);
        if (qualifier[0]) { /* an alias or a version: the mapping invokes it */
            strncat(arn, ":", sizeof arn - strlen(arn) - 1);
            strncat(arn, qualifier, sizeof arn - strlen(arn) - 1);
        }
        json_object_set_new(doc, "FunctionArn", json_string(arn));
    }
    const char *members[] = {"BatchSize", "MaximumBatchingWindowInSeconds", "FunctionResponseTypes",
                             "FilterCriteria", "ScalingConfig",
                             /* streams */
                             "StartingPosition", "StartingPositionTimestamp",
                             "BisectBatchOnFunctionError", "MaximumRetryAttempts",
                             "MaximumRecordAgeInSeconds", "DestinationConfig",
                             "ParallelizationFactor", "TumblingWindowInSeconds"};
    for (size_t i = 0; i < sizeof members / sizeof members[0]; i++) {
        json_t *v = json_object_get(call->input, members[i]);
        if (v)
            json_object_set(doc, members[i], v);
    }
    json_t *en = json_object_get(call->input, "Enabled");
    if (json_is_boolean(en))
        json_object_set_new(doc, "State", json_string(json_is_true(en) ? "Enabled" : "Disabled"));
    json_object_set_new(doc, "LastModified", json_real((double)clock_now_ms() / 1000.0));
    return 0;
}

void lambda_create_esm(aws_call *call)
{
    lambda *l = call->service->ctx;
    char uuid[40], esm_arn[256];
    ids_uuid4(uuid);
    snprintf(esm_arn, sizeof esm_arn, "arn:aws:lambda:%s:%s:event-source-mapping:%s", l->region,
             l->account, uuid);
    const char *source = lambda_str(call, "EventSourceArn");
    json_t *doc = json_pack(
        "{s:s,s:i,s:i,s:s?,s:s,s:s,s:s,s:[],s:s}", "UUID", uuid, "BatchSize", ESM_DEFAULT_BATCH,
        "MaximumBatchingWindowInSeconds", 0, "EventSourceArn", source, "LastProcessingResult",
        "No records processed", "State", "Enabled", "StateTransitionReason", "USER_INITIATED",
        "FunctionResponseTypes", "EventSourceMappingArn", esm_arn);
    if (source && lambda_esm_is_stream(source))
        lambda_esm_stream_defaults(doc);
    if (!lambda_str(call, "FunctionName")) {
        json_decref(doc);
        aws_reply_error(call, LAMBDA_ERR_INVALID, "FunctionName is required.");
        return;
    }
    if (merge_input(call, l, doc) != 0 || validate(call, l, doc) != 0) {
        json_decref(doc);
        return;
    }
    const char *fn_arn = json_string_value(json_object_get(doc, "FunctionArn"));
    for (lambda_esm *m = l->esms; m; m = m->next) {
        if (strcmp(doc_str(m, "EventSourceArn"), source) == 0 &&
            strcmp(doc_str(m, "FunctionArn"), fn_arn) == 0) {
            aws_reply_error(call, AWS_ERR_LAMBDA_RESOURCE_CONFLICT,
                            "The event source arn (\" %s \") and function (\" %s \") provided "
                            "mapping already exists. Please update or delete the existing "
                            "mapping with UUID %s",
                            source, fn_arn, m->uuid);
            json_decref(doc);
            return;
        }
    }
    lambda_esm *m = esm_add(l, uuid, doc);
    persist(l, call, configuration(m, "Creating"), m);
    esm_apply(m);
}

void lambda_get_esm(aws_call *call)
{
    lambda_esm *m = esm_find(call->service->ctx, lambda_str(call, "UUID"));
    if (!m)
        not_found(call);
    else
        aws_reply(call, configuration(m, NULL));
}

void lambda_update_esm(aws_call *call)
{
    lambda *l = call->service->ctx;
    lambda_esm *m = esm_find(l, lambda_str(call, "UUID"));
    if (!m) {
        not_found(call);
        return;
    }
    json_t *doc = json_deep_copy(m->doc);
    if (merge_input(call, l, doc) != 0 || validate(call, l, doc) != 0) {
        json_decref(doc);
        return;
    }
    json_decref(m->doc);
    m->doc = doc;
    persist(l, call, configuration(m, "Updating"), m);
    esm_apply(m);
}

void lambda_delete_esm(aws_call *call)
{
    lambda *l = call->service->ctx;
    lambda_esm *m = esm_find(l, lambda_str(call, "UUID"));
    if (!m) {
        not_found(call);
        return;
    }
    json_t *reply = configuration(m, "Deleting");
    esm_remove(m); /* m->deleted: persist deletes the document */
    service_persist_doc(l->store, call, reply, AWS_ERR_LAMBDA_SERVICE, LAMBDA_NS_ESM,
                        json_string_value(json_object_get(reply, "UUID")), NULL);
}

void lambda_list_esms(aws_call *call)
{
    lambda *l = call->service->ctx;
    const char *source = lambda_str(call, "EventSourceArn");
    const char *fname = lambda_str(call, "FunctionName");
    const char *marker = lambda_str(call, "Marker");
    json_t *mi = json_object_get(call->input, "MaxItems");
    json_int_t max = json_is_integer(mi) ? json_integer_value(mi) : 100;
    if (max < 1 || max > ESM_LIST_MAX) {
        aws_reply_error(call, LAMBDA_ERR_INVALID,
                        "1 validation error detected: Value '%lld' at 'maxItems' failed to "
                        "satisfy constraint: Member must have value less than or equal to 10000",
                        (long long)max);
        return;
    }
    char fn_arn[512] = "";
    if (fname) {
        lambda_fn *fn = lambda_fn_find(l, fname);
        char name[128];
        const char *p = strstr(fname, "function:");
        p = p ? p + strlen("function:") : fname;
        snprintf(name, sizeof name, "%.*s", (int)strcspn(p, ":"), p);
        lambda_fn_arn(l, fn ? fn->name : name, fn_arn, sizeof fn_arn);
    }
    json_t *list = json_array();
    json_t *out = json_object();
    int started = marker == NULL;
    for (lambda_esm *m = l->esms; m; m = m->next) {
        if (!started && strcmp(m->uuid, marker) != 0)
            continue;
        started = 1;
        if (source && strcmp(doc_str(m, "EventSourceArn"), source) != 0)
            continue;
        if (fname && strcmp(doc_str(m, "FunctionArn"), fn_arn) != 0)
            continue;
        if ((json_int_t)json_array_size(list) == max) {
            json_object_set_new(out, "NextMarker", json_string(m->uuid));
            break;
        }
        json_array_append_new(list, configuration(m, NULL));
    }
    json_object_set_new(out, "EventSourceMappings", list);
    aws_reply(call, out);
}

/* ---- lifecycle ------------------------------------------------------------------------ */

static void restore(const char *key, const char *text, void *arg)
{
    lambda *l = arg;
    json_t *doc = json_loads(text, 0, NULL);
    if (doc)
        esm_add(l, key, doc);
}

int lambda_esms_load(lambda *l)
{
    return store_load_docs(l->store, LAMBDA_NS_ESM, restore, l);
}

void lambda_esms_start(lambda *l)
{
    for (lambda_esm *m = l->esms; m; m = m->next)
        esm_apply(m);
}

void lambda_esms_stop(lambda *l)
{
    for (lambda_esm *m = l->esms; m; m = m->next)
        esm_stop(m);
}

void lambda_esms_free(lambda *l)
{
    while (l->esms) {
        lambda_esm *m = l->esms;
        l->esms = m->next;
        m->deleted = 1;
        if (m->npollers == 0)
            esm_free(m);
    }
}
