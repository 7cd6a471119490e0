/* Target types: one row per kind of target, chosen by the target's ARN. A new kind of
 * target (SNS topics, Lambda functions, Step Functions state machines) is a new row: how
 * to recognise its ARN, what PutTargets checks, and how a matched event is planned (a
 * message in the same transaction, or a durable pending delivery).
 *
 * Also here: rendering what a target receives (Input, InputPath, InputTransformer). */
#include "services/events/events_internal.h"

#include "common/alloc.h"
#include "services/events/events_input.h"
#include "services/lambda/lambda.h"

#include <stdio.h>
#include <string.h>

static int arn_has(const events *ev, const char *arn, const char *service, const char *resource)
{
    char prefix[300];
    snprintf(prefix, sizeof prefix, "arn:aws:%s:%s:%s:%s", service, ev->region, ev->account,
             resource);
    return arn && strncmp(arn, prefix, strlen(prefix)) == 0;
}

/* ---- SQS queues --------------------------------------------------------------------- */

static int sqs_matches(const events *ev, const char *arn)
{
    return arn_has(ev, arn, "sqs", "");
}

static int sqs_validate(events *ev, const json_t *t, char *code, size_t codelen, char *msg,
                        size_t msglen)
{
    (void)ev;
    const char *arn = json_string_value(json_object_get(t, "Arn"));
    size_t n = strlen(arn);
    const char *group =
        json_string_value(json_object_get(json_object_get(t, "SqsParameters"), "MessageGroupId"));
    if (n > 5 && strcmp(arn + n - 5, ".fifo") == 0 && !group) {
        snprintf(code, codelen, "ValidationException");
        snprintf(msg, msglen, "Parameter(s) SqsParameters must be specified for target: %s.",
                 json_string_value(json_object_get(t, "Id")));
        return -1;
    }
    return 0;
}

static void sqs_route(events_plan *p, const events_rule *r, const events_target *t,
                      const char *payload, size_t len, const char *event, size_t event_len)
{
    const char *group = json_string_value(
        json_object_get(json_object_get(t->def, "SqsParameters"), "MessageGroupId"));
    char err[256];
    if (events_plan_queue(p, t->arn, payload, len, NULL, group, NULL, err, sizeof err) != 0) {
        char rule_arn[700];
        events_rule_arn(events_plan_owner(p), r, rule_arn, sizeof rule_arn);
        events_plan_dead_letter(p, rule_arn, t->def, event, event_len, "RESOURCE_NOT_FOUND", err,
                                NULL, 0);
    }
}

/* ---- event buses -------------------------------------------------------------------- */

static int bus_matches(const events *ev, const char *arn)
{
    return arn_has(ev, arn, "events", "event-bus/");
}

static void bus_route(events_plan *p, const events_rule *r, const events_target *t,
                      const char *payload, size_t len, const char *event, size_t event_len)
{
    (void)payload;
    (void)len;
    events *ev = events_plan_owner(p);
    char name[512];
    /* The event goes on as it is (its id, its envelope), through the other bus's rules. */
    if (!events_bus_name_of(ev, t->arn, name, sizeof name) ||
        events_route_to_bus(p, name, event, event_len, 1) != 0) {
        char rule_arn[700];
        events_rule_arn(ev, r, rule_arn, sizeof rule_arn);
        events_plan_dead_letter(p, rule_arn, t->def, event, event_len, "RESOURCE_NOT_FOUND",
                                "The target event bus does not exist.", NULL, 0);
    }
}

/* ---- API destinations (durable deliveries, see events_deliver.c) ------------------- */

static int destination_matches(const events *ev, const char *arn)
{
    return arn_has(ev, arn, "events", "api-destination/");
}

static void destination_route(events_plan *p, const events_rule *r, const events_target *t,
                              const char *payload, size_t len, const char *event, size_t event_len)
{
    char rule_arn[700];
    events_rule_arn(events_plan_owner(p), r, rule_arn, sizeof rule_arn);
    json_t *target = json_pack("{s:s, s:O}", "rule", rule_arn, "target", t->def);
    if (len != event_len || memcmp(payload, event, len) != 0)
        json_object_set_new(target, "event", json_stringn(event, event_len));
    events_plan_delivery(p, "events", target, payload, len);
    json_decref(target);
}

/* ---- SNS topics (in the same transaction as the event) ------------------------------ */

static int topic_matches(const events *ev, const char *arn)
{
    return ev->sns && arn_has(ev, arn, "sns", "");
}

static void topic_route(events_plan *p, const events_rule *r, const events_target *t,
                        const char *payload, size_t len, const char *event, size_t event_len)
{
    events *ev = events_plan_owner(p);
    char err[256];
    if (sns_publish_into(ev->sns, events_plan_fanout(p), t->arn, payload, len, err, sizeof err) !=
        0) {
        char rule_arn[700];
        events_rule_arn(ev, r, rule_arn, sizeof rule_arn);
        events_plan_dead_letter(p, rule_arn, t->def, event, event_len, "RESOURCE_NOT_FOUND", err,
                                NULL, 0);
    }
}

/* ---- Lambda functions (asynchronous invocations: services/lambda/lambda.h) ---------
 * The invocation is a pending delivery in the PutEvents transaction; the function service
 * runs it with Lambda's asynchronous retries, and sends the event to the target's
 * dead-letter queue if the function does not exist. */

static int function_matches(const events *ev, const char *arn)
{
    return arn_has(ev, arn, "lambda", "function:");
}

static void function_route(events_plan *p, const events_rule *r, const events_target *t,
                           const char *payload, size_t len, const char *event, size_t event_len)
{
    char rule_arn[700];
    events_rule_arn(events_plan_owner(p), r, rule_arn, sizeof rule_arn);
    json_t *target =
        json_pack("{s:s, s:s, s:O}", "FunctionName", t->arn, "rule", rule_arn, "target", t->def);
    if (len != event_len || memcmp(payload, event, len) != 0)
        json_object_set_new(target, "event", json_stringn(event, event_len));
    events_plan_delivery(p, LAMBDA_EVENT_KIND, target, payload, len);
    json_decref(target);
}

/* ---- Step Functions state machines (durable deliveries, see events_deliver.c) ------- */

static int machine_matches(const events *ev, const char *arn)
{
    return ev->workflows && arn_has(ev, arn, "states", "stateMachine:");
}

/* ---- the table ---------------------------------------------------------------------- */

static const events_target_type target_types[] = {
    {"sqs", sqs_matches, sqs_validate, sqs_route},
    {"event-bus", bus_matches, NULL, bus_route},
    {"api-destination", destination_matches, NULL, destination_route},
    {"sns", topic_matches, NULL, topic_route},
    {"lambda", function_matches, NULL, function_route},
    /* a durable "events" delivery, like an API destination's: the same retries and DLQ */
    {"states", machine_matches, NULL, destination_route},
};

const events_target_type *events_target_type_of(const events *ev, const char *arn)
{
    for (size_t i = 0; i < sizeof target_types / sizeof target_types[0]; i++)
        if (target_types[i].matches(ev, arn))
            return &target_types[i];
    return NULL;
}

/* ---- input -------------------------------------------------------------------------- */

int events_target_render(const events *ev, const events_rule *r, const events_target *t,
                         const char *event_json, size_t event_len, const json_t *event,
                         int64_t ingest_ms, buf *out)
{
    const char *input = json_string_value(json_object_get(t->def, "Input"));
    if (input) {
        buf_puts(out, input);
        return 0;
    }
    char rule_arn[700], when[32];
    events_rule_arn(ev, r, rule_arn, sizeof rule_arn);
    events_iso_time(ingest_ms, when);
    events_input_ctx ctx = {
        .rule_arn = rule_arn,
        .rule_name = r->name,
        .ingestion_time = when,
        .event_json = event_json,
        .event_len = event_len,
        .event = event,
    };
    const char *path = json_string_value(json_object_get(t->def, "InputPath"));
    if (path)
        return event ? events_input_render_path(&ctx, path, out) : -1;
    json_t *tr = json_object_get(t->def, "InputTransformer");
    if (tr)
        return event ? events_input_render_transformer(
                           &ctx, json_object_get(tr, "InputPathsMap"),
                           json_string_value(json_object_get(tr, "InputTemplate")), out)
                     : -1;
    buf_append(out, event_json, event_len);
    return 0;
}
