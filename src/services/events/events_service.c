/* The EventBridge service: its operation table, lifecycle, and the helpers its handlers
 * share (ARNs, persistence of documents, pagination, tags). */
#include "services/events/events_internal.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"
#include "services/service_docs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const aws_op_def events_ops[] = {
    {"CancelReplay", events_cancel_replay},
    {"CreateApiDestination", events_create_api_destination},
    {"CreateArchive", events_create_archive},
    {"CreateConnection", events_create_connection},
    {"CreateEventBus", events_create_event_bus},
    {"DeauthorizeConnection", events_deauthorize_connection},
    {"DeleteApiDestination", events_delete_api_destination},
    {"DeleteArchive", events_delete_archive},
    {"DeleteConnection", events_delete_connection},
    {"DeleteEventBus", events_delete_event_bus},
    {"DeleteRule", events_delete_rule},
    {"DescribeApiDestination", events_describe_api_destination},
    {"DescribeArchive", events_describe_archive},
    {"DescribeConnection", events_describe_connection},
    {"DescribeEventBus", events_describe_event_bus},
    {"DescribeReplay", events_describe_replay},
    {"DescribeRule", events_describe_rule},
    {"DisableRule", events_disable_rule},
    {"EnableRule", events_enable_rule},
    {"ListApiDestinations", events_list_api_destinations},
    {"ListArchives", events_list_archives},
    {"ListConnections", events_list_connections},
    {"ListEventBuses", events_list_event_buses},
    {"ListReplays", events_list_replays},
    {"ListRuleNamesByTarget", events_list_rule_names_by_target},
    {"ListRules", events_list_rules},
    {"ListTagsForResource", events_list_tags_for_resource},
    {"ListTargetsByRule", events_list_targets_by_rule},
    {"PutEvents", events_put_events},
    {"PutRule", events_put_rule},
    {"PutTargets", events_put_targets},
    {"RemoveTargets", events_remove_targets},
    {"StartReplay", events_start_replay},
    {"TagResource", events_tag_resource},
    {"TestEventPattern", events_test_event_pattern},
    {"UntagResource", events_untag_resource},
    {"UpdateApiDestination", events_update_api_destination},
    {"UpdateArchive", events_update_archive},
    {"UpdateConnection", events_update_connection},
    {"UpdateEventBus", events_update_event_bus},
};

/* ---- names and ARNs ----------------------------------------------------------------- */

void events_bus_arn(const events *ev, const char *bus, char *out, size_t cap)
{
    snprintf(out, cap, "arn:aws:events:%s:%s:event-bus/%s", ev->region, ev->account, bus);
}

void events_rule_arn(const events *ev, const events_rule *r, char *out, size_t cap)
{
    if (strcmp(r->bus->name, EVENTS_DEFAULT_BUS) == 0)
        snprintf(out, cap, "arn:aws:events:%s:%s:rule/%s", ev->region, ev->account, r->name);
    else
        snprintf(out, cap, "arn:aws:events:%s:%s:rule/%s/%s", ev->region, ev->account, r->bus->name,
                 r->name);
}

const char *events_bus_name_of(const events *ev, const char *name_or_arn, char *out, size_t cap)
{
    if (!name_or_arn || !*name_or_arn)
        name_or_arn = EVENTS_DEFAULT_BUS;
    if (strncmp(name_or_arn, "arn:", 4) == 0) {
        char prefix[256];
        snprintf(prefix, sizeof prefix, "arn:aws:events:%s:%s:event-bus/", ev->region, ev->account);
        size_t n = strlen(prefix);
        if (strncmp(name_or_arn, prefix, n) != 0)
            return NULL;
        name_or_arn += n;
    }
    snprintf(out, cap, "%s", name_or_arn);
    return out;
}

const char *events_str(const aws_call *call, const char *name)
{
    json_t *v = json_object_get(call->input, name);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

void events_iso_time(int64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int events_valid_name(const char *n, size_t max)
{
    size_t len = strlen(n);
    if (len == 0 || len > max)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = n[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

void events_reply_missing(aws_call *call, const char *member)
{
    aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                    "1 validation error detected: Value null at '%s' failed to satisfy "
                    "constraint: Member must not be null",
                    member);
}

int events_pager_init(aws_call *call, events_pager *pg)
{
    memset(pg, 0, sizeof *pg);
    json_t *l = json_object_get(call->input, "Limit");
    pg->limit = 100;
    if (l && !json_is_null(l)) {
        if (!json_is_integer(l) || json_integer_value(l) < 1 || json_integer_value(l) > 100) {
            aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                            "1 validation error detected: Value at 'limit' failed to satisfy "
                            "constraint: Member must have value between 1 and 100");
            return -1;
        }
        pg->limit = (size_t)json_integer_value(l);
    }
    const char *tok = events_str(call, "NextToken");
    if (tok) {
        char *end;
        unsigned long long v = strtoull(tok, &end, 10);
        if (*end || end == tok) {
            aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION, "The nextToken is not valid.");
            return -1;
        }
        pg->offset = (size_t)v;
    }
    pg->items = json_array();
    return 0;
}

int events_pager_want(events_pager *pg)
{
    if (pg->seen++ < pg->offset)
        return 0;
    if (json_array_size(pg->items) == pg->limit) {
        pg->more = 1;
        return -1;
    }
    return 1;
}

void events_pager_reply(aws_call *call, events_pager *pg, const char *member)
{
    json_t *out = json_pack("{s:o}", member, pg->items);
    if (pg->more) {
        char tok[32];
        snprintf(tok, sizeof tok, "%zu", pg->offset + pg->limit);
        json_object_set_new(out, "NextToken", json_string(tok));
    }
    pg->items = NULL;
    aws_reply(call, out);
}

json_t *events_tags_to_list(const json_t *tags)
{
    json_t *list = json_array();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)tags, k, v)
    {
        json_array_append_new(list, json_pack("{s:s, s:O}", "Key", k, "Value", v));
    }
    return list;
}

int events_tags_from_list(aws_call *call, const json_t *list, json_t *tags)
{
    size_t i;
    json_t *t;
    if (!list)
        return 0;
    if (!json_is_array(list)) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION, "Tags must be a list.");
        return -1;
    }
    json_array_foreach(list, i, t)
    {
        const char *k = json_string_value(json_object_get(t, "Key"));
        const char *v = json_string_value(json_object_get(t, "Value"));
        if (!k || !v || !*k || strlen(k) > 128 || strlen(v) > 256) {
            aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                            "1 validation error detected: Value at 'tags.%zu.member' failed to "
                            "satisfy constraint: Key must have length between 1 and 128 and "
                            "Value at most 256",
                            i + 1);
            return -1;
        }
        json_object_set_new(tags, k, json_string(v));
    }
    if (json_object_size(tags) > 50) {
        aws_reply_error(call, AWS_ERR_LIMIT_EXCEEDED_EXCEPTION,
                        "The request exceeds the maximum number of tags (50).");
        return -1;
    }
    return 0;
}

/* ---- persistence of documents ------------------------------------------------------- */

void events_persist(events *ev, aws_call *call, json_t *reply, const store_doc *docs, size_t n)
{
    service_persist_docs(ev->store, call, reply, AWS_ERR_EVENTS_INTERNAL, docs, n);
}

void events_persist_doc(events *ev, aws_call *call, json_t *reply, const char *ns, const char *key,
                        const json_t *doc)
{
    service_persist_doc(ev->store, call, reply, AWS_ERR_EVENTS_INTERNAL, ns, key, doc);
}

/* ---- lifecycle ---------------------------------------------------------------------- */

static void bus_restore(const char *key, const char *doc, void *arg)
{
    events *ev = arg;
    json_t *d = json_loads(doc, 0, NULL);
    if (!json_is_object(d)) {
        log_warn("unreadable event bus document skipped", "key=%s", key);
        json_decref(d);
        return;
    }
    events_bus *b = events_bus_find(ev, key);
    if (b) {
        json_decref(b->doc);
        b->doc = d;
    } else {
        events_bus_add(ev, key, d);
    }
}

int events_create(events **out, uv_loop_t *loop, store *st, sqs *queues, sns *topics,
                  const char *region, const char *account)
{
    events *ev = xcalloc(1, sizeof *ev);
    ev->def.model = &model_events;
    ev->def.json_protocol = AWS_PROTO_JSON_1_1;
    ev->def.ops = events_ops;
    ev->def.nops = sizeof events_ops / sizeof events_ops[0];
    ev->def.ctx = ev;
    ev->loop = loop;
    ev->store = st;
    ev->sqs = queues;
    ev->sns = topics;
    ev->region = region;
    ev->account = account;
    ev->connections = json_object();
    ev->destinations = json_object();
    ev->oauth_tokens = json_object();
    ev->rate_windows = json_object();
    ev->scratch = pattern_event_new();
    int64_t now = clock_now_ms();
    events_bus_add(ev, EVENTS_DEFAULT_BUS,
                   json_pack("{s:s, s:I, s:I, s:{}}", "Name", EVENTS_DEFAULT_BUS, "CreationTime",
                             (json_int_t)now, "LastModifiedTime", (json_int_t)now, "Tags"));
    if (store_load_docs(st, "events.bus", bus_restore, ev) != 0 ||
        store_load_docs(st, "events.rule", events_rule_restore, ev) != 0 ||
        store_load_docs(st, "events.archive", events_archive_restore, ev) != 0 ||
        store_load_docs(st, "events.replay", events_replay_restore, ev) != 0 ||
        store_load_docs(st, "events.connection", events_connection_restore, ev) != 0 ||
        store_load_docs(st, "events.destination", events_destination_restore, ev) != 0) {
        events_destroy(ev);
        *out = NULL;
        return -1;
    }
    if (http_client_create(&ev->http, loop) != 0 || events_deliver_init(ev) != 0) {
        events_destroy(ev);
        *out = NULL;
        return -1;
    }
    events_scheduler_init(ev);
    events_replays_start(ev);
    size_t nbuses = 0, nrules = 0;
    for (events_bus *b = ev->buses; b; b = b->next) {
        nbuses++;
        for (events_rule *r = b->rules; r; r = r->next)
            nrules++;
    }
    log_info("events ready", "buses=%zu rules=%zu", nbuses, nrules);
    *out = ev;
    return 0;
}

const aws_service_def *events_service_def(const events *ev)
{
    return &ev->def;
}

void events_shutdown(events *ev)
{
    if (!ev)
        return;
    ev->stopping = 1;
    events_connection_waiters_cancel(ev);
    uv_timer_stop(&ev->schedule_timer);
    uv_timer_stop(&ev->replay_timer);
    uv_timer_stop(&ev->retention_timer);
    if (ev->deliveries)
        delivery_stop(ev->deliveries);
}

static void handle_closed(uv_handle_t *h)
{
    events *ev = h->data;
    if (--ev->open_handles == 0)
        xfree(ev);
}

static void close_timer(events *ev, uv_timer_t *t)
{
    if (!t->loop)
        return;
    t->data = ev;
    ev->open_handles++;
    uv_close((uv_handle_t *)t, handle_closed);
}

void events_destroy(events *ev)
{
    if (!ev)
        return;
    http_client_destroy(ev->http);
    delivery_destroy(ev->deliveries);
    events_bus_free_all(ev);
    events_archives_free_all(ev);
    pattern_event_free(ev->scratch);
    json_decref(ev->connections);
    json_decref(ev->destinations);
    json_decref(ev->oauth_tokens);
    json_decref(ev->rate_windows);
    /* The timers are embedded in ev: it is freed when the last one has closed. */
    ev->open_handles = 1;
    close_timer(ev, &ev->schedule_timer);
    close_timer(ev, &ev->replay_timer);
    close_timer(ev, &ev->retention_timer);
    if (--ev->open_handles == 0)
        xfree(ev);
}
