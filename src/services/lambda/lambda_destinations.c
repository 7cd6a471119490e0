/* The outcome of an asynchronous invocation's attempt, per the function's
 * EventInvokeConfig (lambda_eic.c): retry, or finish and send Lambda's invocation record
 * to the OnSuccess / OnFailure destination.
 *
 * A failed attempt is retried while the attempts made are below MaximumRetryAttempts
 * (default 2) and the event is younger than MaximumEventAgeInSeconds (default 6 h) at the
 * retry's time; otherwise it ends with condition RetriesExhausted or EventAgeExceeded. A
 * finished invocation with a destination for its outcome sends the record
 *   {"version":"1.0","timestamp","requestContext":{"requestId","functionArn","condition",
 *    "approximateInvokeCount"},"requestPayload","responseContext":{"statusCode",
 *    "executedVersion","functionError"?},"responsePayload"}
 * to an SQS queue, an SNS topic or another function, in the same transaction that removes
 * the delivery (one fan-out), so the record is sent exactly when the event is done. */
#include "services/lambda/lambda_internal.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"
#include "delivery/fanout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_AGE_S (6 * 3600)

static const int64_t RETRY_DELAYS_MS[LAMBDA_EVENT_RETRIES] = {1000, 2000};

/* JSON text as a value (a payload that is not JSON becomes a string). */
static json_t *as_json(const char *text, size_t len)
{
    json_t *v = len ? json_loadb(text, len, JSON_DECODE_ANY, NULL) : NULL;
    return v ? v : json_stringn(text ? text : "", len);
}

static char *record_text(lambda *l, const delivery_job *job, const lambda_fn *fn,
                         const char *request_id, const char *condition, const lambda_result *r)
{
    char when[32], arn[600];
    clock_iso8601_ms(clock_now_ms(), when);
    lambda_fn_arn(l, fn->name, arn, sizeof arn);
    strncat(arn, ":$LATEST", sizeof arn - strlen(arn) - 1);
    json_t *resp = json_pack("{s:i,s:s}", "statusCode", 200, "executedVersion", "$LATEST");
    if (r->kind != LAMBDA_RESULT_OK)
        json_object_set_new(resp, "functionError", json_string("Unhandled"));
    json_t *rec =
        json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:i},s:o,s:o,s:o}", "version", "1.0", "timestamp", when,
                  "requestContext", "requestId", request_id, "functionArn", arn, "condition",
                  condition, "approximateInvokeCount", job->rec.attempts + 1, "requestPayload",
                  as_json(job->rec.payload, job->rec.payload_len), "responseContext", resp,
                  "responsePayload", as_json(r->payload.data, r->payload.len));
    char *text = json_dumps(rec, JSON_COMPACT);
    json_decref(rec);
    return text;
}

static void sent(fanout *f, int status, void *arg)
{
    lambda *l = *(lambda **)((delivery_job *)arg)->state;
    if (status != 0)
        log_error("lambda destination record not committed: the event runs again", NULL);
    else if (fanout_deliveries(f) > 0) {
        lambda_events_committed(l);
        if (l->topics)
            sns_deliveries_committed(l->topics);
    }
    xfree(((delivery_job *)arg)->state);
    delivery_job_release(arg);
}

int lambda_destination_plan(lambda *l, fanout *f, const char *arn, const char *text, char *err,
                            size_t errlen)
{
    if (strncmp(arn, "arn:aws:sqs:", 12) == 0)
        return fanout_queue(f, arn, text, strlen(text), NULL, NULL, NULL, err, errlen);
    if (strncmp(arn, "arn:aws:sns:", 12) == 0) {
        if (!l->topics) {
            snprintf(err, errlen, "no SNS service");
            return -1;
        }
        return sns_publish_into(l->topics, f, arn, text, strlen(text), err, errlen);
    }
    if (strncmp(arn, "arn:aws:lambda:", 15) == 0) {
        json_t *target = json_pack("{s:s}", "FunctionName", arn);
        fanout_delivery(f, LAMBDA_EVENT_KIND, target, text, strlen(text));
        json_decref(target);
        return 0;
    }
    snprintf(err, errlen, "unsupported destination");
    return -1;
}

/* ---- an event bus as the destination ------------------------------------------------
 * The record is put on the bus (PutEvents, in-process) as Lambda does: source "lambda",
 * detail-type "Lambda Function Invocation Result - Success" / "- Failure". That is a call to
 * another service, not part of the delivery's transaction: the delivery is removed once the
 * bus took the event, and tried again later if it did not (at least once). */

static void bus_put(const json_t *output, const char *error, const char *message, void *arg)
{
    delivery_job *job = arg;
    int failed = error || json_integer_value(json_object_get(output, "FailedEntryCount")) > 0;
    if (failed) {
        log_warn("lambda destination: the event bus refused the record; it is sent again",
                 "error=%s message='%s'", error ? error : "FailedEntry", message ? message : "");
        delivery_job_retry(job, clock_now_ms() + 5000, 0);
        return;
    }
    delivery_job_done(job);
}

static void to_bus(lambda *l, delivery_job *job, const lambda_fn *fn, const char *bus, int ok,
                   const char *record)
{
    char arn[600];
    lambda_fn_arn(l, fn->name, arn, sizeof arn);
    strncat(arn, ":$LATEST", sizeof arn - strlen(arn) - 1);
    json_t *input = json_pack("{s:[{s:s,s:s,s:s,s:s,s:[s]}]}", "Entries", "EventBusName", bus,
                              "Source", "lambda", "DetailType",
                              ok ? "Lambda Function Invocation Result - Success"
                                 : "Lambda Function Invocation Result - Failure",
                              "Detail", record, "Resources", arn);
    if (!l->bus || aws_call_internal(l->bus, "PutEvents", input, bus_put, job) != 0) {
        log_warn("lambda destination record dropped: no EventBridge", "function=%s", fn->name);
        delivery_job_done(job);
    }
}

void lambda_set_bus(lambda *l, const aws_service_def *events_def)
{
    l->bus = events_def;
}

/* The invocation is over: send its record where the config says, then remove it. */
static void finish(lambda *l, delivery_job *job, const lambda_fn *fn, const json_t *eic,
                   const char *request_id, const char *condition, const lambda_result *r)
{
    int ok = strcmp(condition, "Success") == 0;
    const char *dest = json_string_value(json_object_get(
        json_object_get(json_object_get(eic, "DestinationConfig"), ok ? "OnSuccess" : "OnFailure"),
        "Destination"));
    if (!ok)
        log_warn("lambda event failed for good", "function=%s condition=%s error='%.*s'", fn->name,
                 condition, (int)(r->payload.len > 300 ? 300 : r->payload.len),
                 r->payload.data ? r->payload.data : "");
    if (!dest) {
        delivery_job_done(job);
        return;
    }
    char *text = record_text(l, job, fn, request_id, condition, r);
    if (strncmp(dest, "arn:aws:events:", 15) == 0) {
        to_bus(l, job, fn, dest, ok, text);
        free(text);
        return;
    }
    fanout *f = fanout_new(l->store, l->queues, clock_now_ms(), l->account);
    char err[256];
    if (lambda_destination_plan(l, f, dest, text, err, sizeof err) != 0)
        log_warn("lambda destination record dropped", "function=%s destination=%s err='%s'",
                 fn->name, dest, err);
    free(text);
    lambda **state = xcalloc(1, sizeof *state);
    *state = l;
    job->state = state;
    fanout_op(f, delivery_job_finish_op(job));
    fanout_commit(f, sent, job);
}

void lambda_event_outcome(lambda *l, delivery_job *job, const char *fn_name, const char *request_id,
                          const lambda_result *r)
{
    lambda_fn *fn = lambda_fn_find(l, fn_name);
    if (!fn) { /* deleted while running */
        delivery_job_done(job);
        return;
    }
    json_t *eic = json_object_get(fn->doc, "EventInvokeConfig");
    if (r->kind == LAMBDA_RESULT_OK) {
        finish(l, job, fn, eic, request_id, "Success", r);
        return;
    }
    json_t *mr = json_object_get(eic, "MaximumRetryAttempts");
    json_t *ma = json_object_get(eic, "MaximumEventAgeInSeconds");
    int retries = json_is_integer(mr) ? (int)json_integer_value(mr) : LAMBDA_EVENT_RETRIES;
    int64_t max_age_ms = (json_is_integer(ma) ? json_integer_value(ma) : DEFAULT_MAX_AGE_S) * 1000;
    int attempts = job->rec.attempts;
    if (attempts >= retries || attempts >= LAMBDA_EVENT_RETRIES) {
        finish(l, job, fn, eic, request_id, "RetriesExhausted", r);
        return;
    }
    int64_t due = clock_now_ms() + RETRY_DELAYS_MS[attempts];
    if (due - job->rec.created_ms > max_age_ms) {
        finish(l, job, fn, eic, request_id, "EventAgeExceeded", r);
        return;
    }
    log_info("lambda event failed: retrying", "function=%s attempt=%d", fn->name, attempts + 1);
    delivery_job_retry(job, due, 1);
}
