/* Invoke: RequestResponse (the caller waits for the worker's answer), DryRun (checks only)
 * and Event (asynchronous and durable).
 *
 * An Event invocation is a pending delivery of kind LAMBDA_EVENT_KIND (src/delivery/): the
 * 202 is sent only once it is committed, so an acknowledged event survives kill -9 (a
 * lease taken before a crash is released at the next start). The dispatcher runs it on a
 * worker like any invocation; what follows an attempt (retries after 1 and 2 s, shorter
 * than Lambda's one and two minutes so that tests and local runs see them, the maximum
 * event age, OnSuccess/OnFailure destinations) is decided by lambda_destinations.c from the
 * function's EventInvokeConfig; a throttled attempt (the function at its concurrency cap) is
 * retried without counting. Other services plan "lambda-event" deliveries in their own
 * transactions (lambda.h): an EventBridge target whose function does not exist has its
 * event sent to the target's dead-letter queue, as EventBridge does. */
#include "services/lambda/lambda_internal.h"

#include "common/base64.h"
#include "common/alloc.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/log.h"
#include "delivery/fanout.h"

#include <stdio.h>
#include <string.h>

#define THROTTLE_RETRY_MS 200

/* ---- RequestResponse ------------------------------------------------------------------ */

typedef struct sync_invoke {
    aws_call *call;
    int tail;
    char version[16]; /* ExecutedVersion */
} sync_invoke;

static void sync_done(lambda_result *r, void *arg)
{
    sync_invoke *s = arg;
    json_t *out = json_pack("{s:i,s:s}", "StatusCode", 200, "ExecutedVersion", s->version);
    buf b64 = BUF_INIT;
    base64_encode(&b64, r->payload.data ? r->payload.data : "", r->payload.len);
    json_object_set_new(out, "Payload", json_string(b64.data ? b64.data : ""));
    buf_reset(&b64);
    if (r->kind == LAMBDA_RESULT_FUNCTION_ERROR)
        json_object_set_new(out, "FunctionError", json_string("Unhandled"));
    if (s->tail) {
        size_t from = r->log.len > LAMBDA_LOG_TAIL_BYTES ? r->log.len - LAMBDA_LOG_TAIL_BYTES : 0;
        base64_encode(&b64, r->log.data ? r->log.data + from : "", r->log.len - from);
        json_object_set_new(out, "LogResult", json_string(b64.data ? b64.data : ""));
    }
    buf_free(&b64);
    aws_reply(s->call, out);
    xfree(s);
}

static void throttled(aws_call *call)
{
    aws_reply_error(call, LAMBDA_ERR_TOO_MANY, "Rate Exceeded.");
}

/* The Payload as bytes: the REST codec gives the raw body base64-encoded. */
static int payload_bytes(aws_call *call, buf *out)
{
    const char *p = lambda_str(call, "Payload");
    if (!p || !p[0]) {
        buf_puts(out, "{}");
        return 0;
    }
    return base64_decode(out, p, strlen(p));
}

static int payload_is_json(const buf *b)
{
    json_error_t e;
    json_t *v = json_loadb(b->data, b->len, JSON_DECODE_ANY, &e);
    json_decref(v);
    return v != NULL;
}

/* ---- Event ---------------------------------------------------------------------------- */

typedef struct event_put {
    store_op op;
    store_delivery item;
    aws_call *call;
    lambda *l;
} event_put;

static void event_committed(store_op *op)
{
    event_put *e = op->ctx;
    if (op->status != 0) {
        aws_reply_error(e->call, AWS_ERR_LAMBDA_SERVICE, "The store could not commit the event.");
    } else {
        aws_reply(e->call, json_pack("{s:i}", "StatusCode", 202));
        delivery_poke(e->l->events);
    }
    xfree(e->item.kind);
    xfree(e->item.target_json);
    xfree(e->item.payload);
    xfree(e);
}

/* The qualifier is kept as given: an alias routes each attempt anew. */
static void event_enqueue(aws_call *call, lambda_fn *fn, const char *qualifier, buf *payload)
{
    lambda *l = call->service->ctx;
    event_put *e = xcalloc(1, sizeof *e);
    e->call = call;
    e->l = l;
    json_t *target =
        json_pack("{s:s,s:s}", "FunctionName", fn->name, "RequestId", call->request_id);
    if (qualifier[0])
        json_object_set_new(target, "Qualifier", json_string(qualifier));
    e->item.kind = xstrdup(LAMBDA_EVENT_KIND);
    e->item.target_json = json_dumps(target, JSON_COMPACT);
    json_decref(target);
    e->item.payload_len = payload->len;
    e->item.payload = buf_steal(payload, NULL);
    e->item.created_ms = clock_now_ms();
    e->item.due_ms = e->item.created_ms;
    e->op.kind = STORE_DELIVERY_PUT;
    e->op.now_ms = e->item.created_ms;
    e->op.done = event_committed;
    e->op.ctx = e;
    e->op.u.deliveries.items = &e->item;
    e->op.u.deliveries.n = 1;
    store_submit(l->store, &e->op);
}

typedef struct event_run {
    delivery_job *job;
    lambda *l;
    char fn_name[128];
    char request_id[40];
} event_run;

static void event_done(lambda_result *r, void *arg)
{
    event_run *run = arg;
    lambda_event_outcome(run->l, run->job, run->fn_name, run->request_id, r);
    xfree(run);
}

static void dead_lettered(fanout *f, int status, void *arg)
{
    (void)f;
    if (status != 0)
        log_error("lambda event not dead-lettered: it runs again after its lease", NULL);
    delivery_job_release(arg);
}

static json_t *string_attr(const char *v)
{
    return json_pack("{s:s,s:s}", "DataType", "String", "StringValue", v ? v : "");
}

/* An EventBridge target's function does not exist: the event goes to the target's
 * dead-letter queue (with the attributes EventBridge sets), in the transaction that
 * removes the delivery; without one it is dropped. */
static void event_function_missing(lambda *l, delivery_job *job, json_t *target)
{
    const char *name = json_string_value(json_object_get(target, "FunctionName"));
    json_t *def = json_object_get(target, "target");
    const char *dlq =
        json_string_value(json_object_get(json_object_get(def, "DeadLetterConfig"), "Arn"));
    if (!dlq || !l->queues) {
        log_warn("lambda event dropped: no such function", "function=%s", name ? name : "");
        delivery_job_done(job);
        return;
    }
    json_t *ev = json_object_get(target, "event");
    const char *body = ev ? json_string_value(ev) : job->rec.payload;
    size_t len = ev ? json_string_length(ev) : job->rec.payload_len;
    json_t *attrs =
        json_pack("{s:o,s:o,s:o,s:o}", "RULE_ARN",
                  string_attr(json_string_value(json_object_get(target, "rule"))), "TARGET_ARN",
                  string_attr(name), "ERROR_CODE", string_attr("RESOURCE_NOT_FOUND"),
                  "ERROR_MESSAGE", string_attr("Function does not exist"));
    fanout *f = fanout_new(l->store, l->queues, clock_now_ms(), l->account);
    char err[256];
    if (fanout_queue(f, dlq, body, len, attrs, NULL, NULL, err, sizeof err) != 0)
        log_warn("lambda event dropped: its dead-letter queue refused it", "function=%s err='%s'",
                 name ? name : "", err);
    json_decref(attrs);
    fanout_op(f, delivery_job_finish_op(job));
    fanout_commit(f, dead_lettered, job);
}

static void event_attempt(delivery_job *job, void *arg)
{
    lambda *l = arg;
    json_t *target = json_loads(job->rec.target_json, 0, NULL);
    const char *name = json_string_value(json_object_get(target, "FunctionName"));
    const char *qualifier = json_string_value(json_object_get(target, "Qualifier"));
    lambda_fn *fn = name ? lambda_fn_target(l, name, qualifier) : NULL;
    if (!fn) { /* deleted since, or never there */
        event_function_missing(l, job, target);
        json_decref(target);
        return;
    }
    char id[40];
    ids_uuid4(id); /* each attempt has its own request id, as on Lambda */
    event_run *run = xcalloc(1, sizeof *run);
    run->job = job;
    run->l = l;
    snprintf(run->fn_name, sizeof run->fn_name, "%s", fn->name);
    /* The destination record names the invocation: Invoke's request id, else this one's. */
    const char *rid = json_string_value(json_object_get(target, "RequestId"));
    snprintf(run->request_id, sizeof run->request_id, "%s", rid ? rid : id);
    json_decref(target);
    if (lambda_invoke(l, fn, id, job->rec.payload, job->rec.payload_len, event_done, run) != 0) {
        xfree(run);
        delivery_job_retry(job, clock_now_ms() + THROTTLE_RETRY_MS, 0);
    }
}

void lambda_events_committed(lambda *l)
{
    if (l && !l->stopping)
        delivery_poke(l->events);
}

int lambda_events_start(lambda *l)
{
    /* An attempt lasts up to the longest Timeout (900 s), plus a cold start: the lease
     * outlasts it, so that a long invocation is not claimed and run a second time. */
    l->event_kind = (delivery_kind){.name = LAMBDA_EVENT_KIND,
                                    .attempt = event_attempt,
                                    .arg = l,
                                    .lease_ms = LAMBDA_EVENT_LEASE_MS};
    return delivery_create(&l->events, l->loop, l->store, &l->event_kind);
}

/* ---- Invoke --------------------------------------------------------------------------- */

void lambda_invoke_op(aws_call *call)
{
    lambda *l = call->service->ctx;
    const char *name = lambda_str(call, "FunctionName");
    char qualifier[130];
    lambda_qualifier_of(name, qualifier, sizeof qualifier);
    if (!qualifier[0] && lambda_str(call, "Qualifier"))
        snprintf(qualifier, sizeof qualifier, "%s", lambda_str(call, "Qualifier"));
    lambda_fn *fn = lambda_fn_target(l, name, lambda_str(call, "Qualifier"));
    if (!fn) {
        lambda_reply_not_found_q(call, qualifier);
        return;
    }
    const char *type = lambda_str(call, "InvocationType");
    type = type ? type : "RequestResponse";
    const char *log_type = lambda_str(call, "LogType");
    buf payload = BUF_INIT;
    if (payload_bytes(call, &payload) != 0 || !payload_is_json(&payload)) {
        buf_free(&payload);
        aws_reply_error(
            call, AWS_ERR_LAMBDA_INVALID_REQUEST_CONTENT,
            "Could not parse request body into json: Could not parse payload into json");
        return;
    }
    int is_event = strcmp(type, "Event") == 0;
    size_t max = is_event ? LAMBDA_ASYNC_PAYLOAD_MAX : LAMBDA_PAYLOAD_MAX;
    if (payload.len > max) {
        aws_reply_error(
            call, AWS_ERR_LAMBDA_REQUEST_TOO_LARGE,
            "%zu byte payload is too large for the %s invocation type (limit %zu bytes)",
            payload.len, is_event ? "Event" : "RequestResponse", max);
    } else if (strcmp(type, "DryRun") == 0) {
        aws_reply(call, json_pack("{s:i}", "StatusCode", 204));
    } else if (is_event) {
        event_enqueue(call, fn, qualifier, &payload);
    } else if (strcmp(type, "RequestResponse") != 0) {
        aws_reply_error(call, LAMBDA_ERR_INVALID,
                        "1 validation error detected: Value '%s' at 'invocationType' failed to "
                        "satisfy constraint: Member must satisfy enum value set: [Event, "
                        "RequestResponse, DryRun]",
                        type);
    } else {
        sync_invoke *s = xcalloc(1, sizeof *s);
        s->call = call;
        s->tail = log_type && strcmp(log_type, "Tail") == 0;
        snprintf(s->version, sizeof s->version, "%s", fn->version);
        if (lambda_invoke(l, fn, call->request_id, payload.data, payload.len, sync_done, s) != 0) {
            xfree(s);
            throttled(call);
        }
    }
    buf_free(&payload);
}
