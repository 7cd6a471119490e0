/* Routing: PutEvents, TestEventPattern, and the plan that turns matched events into one
 * atomic store group.
 *
 * An event is built into its envelope text once, flattened once, and matched once against
 * its bus's shared matcher (src/pattern/); each matched rule's targets then add to the
 * plan: messages for queue targets (grouped per queue), pending deliveries for HTTP
 * targets, the same event re-routed on another bus for event-bus targets, a record for
 * each archive. The plan is a fan-out (src/delivery/fanout.h), archive records included:
 * it commits as one STORE_GROUP, so an event's whole fan-out is durable before PutEvents
 * answers, or none of it is. */
#include "services/events/events_internal.h"

#include "delivery/fanout.h"
#include "common/alloc.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/utf8.h"
#include "protocol/json_codec.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* ---- the plan ----------------------------------------------------------------------- */

/* The events side of a fan-out (src/delivery/fanout.h): dead-lettering
 * and the rules matched for the event being routed. */
struct events_plan {
    events *ev;
    fanout *f;
    events_plan_done_fn fn;
    void *arg;
    uint64_t *matches; /* routing scratch */
    size_t nmatches, capmatches;
};

events_plan *events_plan_new(events *ev, int64_t now_ms)
{
    events_plan *p = xcalloc(1, sizeof *p);
    p->ev = ev;
    p->f = fanout_new(ev->store, ev->sqs, now_ms, ev->account);
    return p;
}

events *events_plan_owner(const events_plan *p)
{
    return p->ev;
}

fanout *events_plan_fanout(events_plan *p)
{
    return p->f;
}

size_t events_plan_size(const events_plan *p)
{
    return fanout_size(p->f);
}

int events_plan_queue(events_plan *p, const char *queue_arn, const char *body, size_t len,
                      const json_t *attrs, const char *group_id, const char *dedup_id, char *err,
                      size_t errlen)
{
    return fanout_queue(p->f, queue_arn, body, len, attrs, group_id, dedup_id, err, errlen);
}

void events_plan_delivery(events_plan *p, const char *kind, json_t *target_json,
                          const char *payload, size_t len)
{
    fanout_delivery(p->f, kind, target_json, payload, len);
}

void events_plan_doc(events_plan *p, const char *ns, const char *key, const char *doc)
{
    fanout_doc(p->f, ns, key, doc);
}

static json_t *dlq_attr(const char *v)
{
    return json_pack("{s:s, s:s}", "DataType", "String", "StringValue", v);
}

void events_plan_dead_letter(events_plan *p, const char *rule_arn, const json_t *target,
                             const char *event_json, size_t len, const char *code,
                             const char *message, const char *condition, int attempts)
{
    const char *target_arn = json_string_value(json_object_get(target, "Arn"));
    const char *dlq =
        json_string_value(json_object_get(json_object_get(target, "DeadLetterConfig"), "Arn"));
    if (!dlq) {
        log_warn("event dropped: target failed and has no dead-letter queue",
                 "rule=%s target=%s code=%s", rule_arn, target_arn ? target_arn : "", code);
        return;
    }
    char n[16];
    snprintf(n, sizeof n, "%d", attempts);
    json_t *attrs = json_object();
    json_object_set_new(attrs, "RULE_ARN", dlq_attr(rule_arn));
    json_object_set_new(attrs, "TARGET_ARN", dlq_attr(target_arn ? target_arn : ""));
    json_object_set_new(attrs, "ERROR_CODE", dlq_attr(code));
    json_object_set_new(attrs, "ERROR_MESSAGE", dlq_attr(message && *message ? message : code));
    if (condition)
        json_object_set_new(attrs, "EXHAUSTED_RETRY_CONDITION", dlq_attr(condition));
    json_object_set_new(attrs, "RETRY_ATTEMPTS", dlq_attr(n));
    char err[256];
    if (events_plan_queue(p, dlq, event_json, len, attrs, "dead-letter", NULL, err, sizeof err))
        log_warn("event dropped: its dead-letter queue refused it", "rule=%s dlq=%s err='%s'",
                 rule_arn, dlq, err);
    json_decref(attrs);
}

static void plan_free(events_plan *p)
{
    xfree(p->matches);
    xfree(p);
}

void events_plan_discard(events_plan *p)
{
    if (!p)
        return;
    fanout_discard(p->f);
    plan_free(p);
}

static void plan_done(fanout *f, int status, void *arg)
{
    events_plan *p = arg;
    if (status == 0 && fanout_deliveries(f) > 0) { /* its own, or an SNS target's */
        events_deliver_poke(p->ev);
        if (p->ev->sns)
            sns_deliveries_committed(p->ev->sns);
    }
    if (p->fn)
        p->fn(p, status, p->arg);
    plan_free(p);
}

void events_plan_commit_with(events_plan *p, store_op *extra, events_plan_done_fn fn, void *arg)
{
    fanout_op(p->f, extra);
    events_plan_commit(p, fn, arg);
}

void events_plan_commit(events_plan *p, events_plan_done_fn fn, void *arg)
{
    p->fn = fn;
    p->arg = arg;
    fanout *f = p->f;
    p->f = NULL;
    fanout_commit(f, plan_done, p);
}

/* ---- routing ------------------------------------------------------------------------ */

static void on_match(uint64_t id, void *arg)
{
    events_plan *p = arg;
    XGROW(p->matches, p->nmatches, p->capmatches);
    p->matches[p->nmatches++] = id;
}

static int in_filter(const json_t *filter, const char *arn)
{
    size_t i;
    json_t *v;
    json_array_foreach(filter, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), arn) == 0)
            return 1;
    }
    return 0;
}

void events_plan_rule(events_plan *p, const events_rule *r, const char *event_json, size_t len)
{
    events *ev = p->ev;
    json_t *event = NULL;
    buf payload = BUF_INIT;
    char rule_arn[700];
    events_rule_arn(ev, r, rule_arn, sizeof rule_arn);
    for (size_t i = 0; i < r->ntargets; i++) {
        const events_target *t = &r->targets[i];
        if (!t->type) {
            events_plan_dead_letter(p, rule_arn, t->def, event_json, len, "UNSUPPORTED_TARGET",
                                    "Sluice does not deliver to this kind of target.", NULL, 0);
            continue;
        }
        int transformed = json_object_get(t->def, "Input") ||
                          json_object_get(t->def, "InputPath") ||
                          json_object_get(t->def, "InputTransformer");
        if (!transformed) { /* the event itself, as it is */
            t->type->route(p, r, t, event_json, len, event_json, len);
            continue;
        }
        int needs_event =
            json_object_get(t->def, "InputPath") || json_object_get(t->def, "InputTransformer");
        if (needs_event && !event) {
            char err[128];
            event = jsonc_parse(event_json, len, err, sizeof err);
        }
        buf_reset(&payload);
        if (events_target_render(ev, r, t, event_json, len, event, fanout_now(p->f), &payload) !=
            0) {
            events_plan_dead_letter(
                p, rule_arn, t->def, event_json, len, "INPUT_TRANSFORMATION_FAILED",
                "The target's input could not be rendered for this event.", NULL, 0);
            continue;
        }
        t->type->route(p, r, t, payload.data ? payload.data : "", payload.len, event_json, len);
    }
    json_decref(event);
    buf_free(&payload);
}

size_t events_plan_route(events_plan *p, events_bus *b, const char *event_json, size_t len,
                         const json_t *filter, int replay, int hops)
{
    events *ev = p->ev;
    if (hops > EVENTS_MAX_BUS_HOPS)
        return 0;
    if (pattern_event_from_json(ev->scratch, event_json, len) != 0)
        return 0;
    fanout_set_body(p->f, event_json, len);
    p->nmatches = 0;
    pattern_set_match(b->patterns, ev->scratch, on_match, p);
    /* Targets may route on again (event-bus targets) and reuse the scratch: copy the ids. */
    size_t n = p->nmatches;
    uint64_t small[16];
    uint64_t *ids = n <= 16 ? small : xmalloc(n * sizeof *ids);
    if (n)
        memcpy(ids, p->matches, n * sizeof *ids);
    size_t rules = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] & 1) {
            if (!replay)
                fanout_archive(p->f, ((events_archive *)(uintptr_t)(ids[i] & ~(uint64_t)1))->name,
                               event_json, len);
            continue;
        }
        events_rule *r = (events_rule *)(uintptr_t)ids[i];
        if (!r->enabled)
            continue;
        if (filter) {
            char arn[700];
            events_rule_arn(ev, r, arn, sizeof arn);
            if (!in_filter(filter, arn))
                continue;
        }
        rules++;
        events_plan_rule(p, r, event_json, len);
    }
    if (ids != small)
        xfree(ids);
    /* Archives without a pattern take every event of their bus. */
    if (!replay) {
        for (events_archive *a = ev->archives; a; a = a->next)
            if (strcmp(a->bus_name, b->name) == 0 && !json_object_get(a->doc, "EventPattern"))
                fanout_archive(p->f, a->name, event_json, len);
    }
    return rules;
}

/* Re-routes the event on another bus (an event-bus target). */
int events_route_to_bus(events_plan *p, const char *bus_name, const char *event_json, size_t len,
                        int hops)
{
    events_bus *b = events_bus_find(p->ev, bus_name);
    if (!b)
        return -1;
    events_plan_route(p, b, event_json, len, NULL, 0, hops);
    return 0;
}

/* ---- the envelope ------------------------------------------------------------------- */

void events_envelope(const events *ev, buf *out, const char *id, const char *detail_type,
                     const char *source, int64_t time_ms, const json_t *resources,
                     const char *detail, size_t detail_len, const char *replay_name)
{
    char when[32];
    events_iso_time(time_ms, when);
    buf_puts(out, "{\"version\":\"0\",\"id\":\"");
    buf_puts(out, id);
    buf_puts(out, "\",\"detail-type\":");
    jsonc_put_string_lossy(out, detail_type, strlen(detail_type));
    buf_puts(out, ",\"source\":");
    jsonc_put_string_lossy(out, source, strlen(source));
    buf_printf(out, ",\"account\":\"%s\",\"time\":\"%s\",\"region\":\"%s\",\"resources\":[",
               ev->account, when, ev->region);
    size_t i;
    json_t *r;
    json_array_foreach(resources, i, r)
    {
        if (i)
            buf_putc(out, ',');
        const char *s = json_string_value(r);
        jsonc_put_string_lossy(out, s ? s : "", s ? strlen(s) : 0);
    }
    buf_puts(out, "],\"detail\":");
    buf_append(out, detail, detail_len);
    if (replay_name) {
        buf_puts(out, ",\"replay-name\":");
        jsonc_put_string_lossy(out, replay_name, strlen(replay_name));
    }
    buf_putc(out, '}');
}

/* ---- PutEvents ---------------------------------------------------------------------- */

typedef struct put_ctx {
    aws_call *call;
    json_t *results;
    int failed;
} put_ctx;

static void put_done(events_plan *p, int status, void *arg)
{
    (void)p;
    put_ctx *c = arg;
    if (status != 0) {
        aws_reply_error(c->call, AWS_ERR_EVENTS_INTERNAL, "The store could not commit the events.");
    } else {
        aws_reply(c->call,
                  json_pack("{s:i, s:o}", "FailedEntryCount", c->failed, "Entries", c->results));
        c->results = NULL;
    }
    json_decref(c->results);
    xfree(c);
}

static json_t *entry_error(const char *code, const char *msg)
{
    return json_pack("{s:s, s:s}", "ErrorCode", code, "ErrorMessage", msg);
}

/* Validates one entry; on success fills the event's parts and returns NULL, else returns
 * the entry's error object. Sources "aws.*" are AWS services' own: only this server's
 * services may put them (aws_call_internal). */
static json_t *check_entry(events *ev, json_t *e, events_bus **bus, json_t **detail,
                           int64_t *time_ms, int64_t now, bool internal)
{
    const char *source = json_string_value(json_object_get(e, "Source"));
    const char *type = json_string_value(json_object_get(e, "DetailType"));
    const char *det = json_string_value(json_object_get(e, "Detail"));
    if (!source || !*source)
        return entry_error("InvalidArgument",
                           "Parameter Source is not valid. Reason: Source is a required argument.");
    if (!type || !*type)
        return entry_error(
            "InvalidArgument",
            "Parameter DetailType is not valid. Reason: DetailType is a required argument.");
    if (!det || !*det)
        return entry_error("InvalidArgument",
                           "Parameter Detail is not valid. Reason: Detail is a required argument.");
    if (strlen(source) > 256 || strlen(type) > 128)
        return entry_error("InvalidArgument", strlen(source) > 256
                                                  ? "Parameter Source is not valid. Reason: Source "
                                                    "must be at most 256 characters."
                                                  : "Parameter DetailType is not valid. Reason: "
                                                    "DetailType must be at most 128 characters.");
    if (strncmp(source, "aws.", 4) == 0 && !internal)
        return entry_error("NotAuthorizedForSourceException", "Not authorized for the source.");
    json_t *res = json_object_get(e, "Resources");
    size_t size = strlen(source) + strlen(type) + strlen(det);
    if (json_object_get(e, "Time"))
        size += 14;
    if (res) {
        if (!json_is_array(res) || json_array_size(res) > 100)
            return entry_error("InvalidArgument", "Parameter Resources is not valid.");
        size_t i;
        json_t *r;
        json_array_foreach(res, i, r)
        {
            if (!json_is_string(r) || json_string_length(r) > 2048)
                return entry_error("InvalidArgument", "Parameter Resources is not valid.");
            size += json_string_length(r);
        }
    }
    if (size > EVENTS_MAX_ENTRY_BYTES)
        return entry_error("InvalidArgument",
                           "Parameter Detail is not valid. Reason: the entry is larger than "
                           "262144 bytes.");
    char err[160];
    json_t *d = jsonc_parse(det, strlen(det), err, sizeof err);
    if (!json_is_object(d)) {
        json_decref(d);
        return entry_error("MalformedDetail", "Detail is malformed.");
    }
    char name[512];
    const char *given = json_string_value(json_object_get(e, "EventBusName"));
    events_bus *b = NULL;
    if (events_bus_name_of(ev, given, name, sizeof name))
        b = events_bus_find(ev, name);
    if (!b) {
        json_decref(d);
        char msg[700];
        snprintf(msg, sizeof msg, "Event bus %s does not exist.", given ? given : "default");
        return entry_error("ResourceNotFoundException", msg);
    }
    json_t *t = json_object_get(e, "Time");
    *time_ms = now;
    if (json_is_number(t))
        *time_ms = (int64_t)(json_number_value(t) * 1000.0);
    *bus = b;
    *detail = d;
    return NULL;
}

void events_put_events(aws_call *call)
{
    events *ev = events_of(call);
    json_t *entries = json_object_get(call->input, "Entries");
    size_t n = json_array_size(entries);
    if (!json_is_array(entries) || n < 1 || n > EVENTS_MAX_ENTRIES) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "1 validation error detected: Value at 'entries' failed to satisfy "
                        "constraint: Member must have length between 1 and 10");
        return;
    }
    int64_t now = clock_now_ms();
    events_plan *p = events_plan_new(ev, now);
    put_ctx *c = xcalloc(1, sizeof *c);
    c->call = call;
    c->results = json_array();
    buf envelope = BUF_INIT, detail = BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(entries, i);
        events_bus *b;
        json_t *d = NULL;
        int64_t time_ms;
        json_t *err = json_is_object(e) ? check_entry(ev, e, &b, &d, &time_ms, now,
                                                      call->protocol == AWS_PROTO_INTERNAL)
                                        : entry_error("InvalidArgument", "Entry is not valid.");
        if (err) {
            c->failed++;
            json_array_append_new(c->results, err);
            continue;
        }
        char id[40];
        ids_uuid4(id);
        buf_reset(&detail);
        jsonc_dump(&detail, d);
        json_decref(d);
        buf_reset(&envelope);
        events_envelope(ev, &envelope, id, json_string_value(json_object_get(e, "DetailType")),
                        json_string_value(json_object_get(e, "Source")), time_ms,
                        json_object_get(e, "Resources"), detail.data, detail.len, NULL);
        events_plan_route(p, b, envelope.data, envelope.len, NULL, 0, 0);
        json_array_append_new(c->results, json_pack("{s:s}", "EventId", id));
    }
    buf_free(&envelope);
    buf_free(&detail);
    if (events_plan_size(p) == 0) { /* nothing matched: nothing to make durable */
        events_plan_discard(p);
        put_done(NULL, 0, c);
        return;
    }
    events_plan_commit(p, put_done, c);
}

/* ---- TestEventPattern --------------------------------------------------------------- */

static void ignore_match(uint64_t id, void *arg)
{
    (void)id;
    (void)arg;
}

void events_test_event_pattern(aws_call *call)
{
    const char *pattern = events_str(call, "EventPattern");
    const char *event = events_str(call, "Event");
    if (!pattern || !event) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "1 validation error detected: Value null at '%s' failed to satisfy "
                        "constraint: Member must not be null",
                        pattern ? "event" : "eventPattern");
        return;
    }
    char err[512];
    json_t *e = jsonc_parse(event, strlen(event), err, sizeof err);
    static const char *const required[] = {"id",   "account", "source",
                                           "time", "region",  "detail-type"};
    int ok = json_is_object(e);
    for (size_t i = 0; ok && i < sizeof required / sizeof required[0]; i++)
        if (!json_object_get(e, required[i]))
            ok = 0;
    json_decref(e);
    if (!ok) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION, "Parameter Event is not valid.");
        return;
    }
    pattern_set *set;
    pattern_set_create(&set, PATTERN_EVENTBRIDGE);
    if (pattern_set_add(set, 2, pattern, strlen(pattern), err, sizeof err) != 0) {
        pattern_set_destroy(set);
        aws_reply_error(call, AWS_ERR_EVENTS_INVALID_EVENT_PATTERN, "%s", err);
        return;
    }
    pattern_event *pe = pattern_event_new();
    int result = pattern_event_from_json(pe, event, strlen(event)) == 0 &&
                 pattern_set_match(set, pe, ignore_match, NULL) > 0;
    pattern_event_free(pe);
    pattern_set_destroy(set);
    aws_reply(call, json_pack("{s:b}", "Result", result));
}
