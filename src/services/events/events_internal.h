/* EventBridge internals shared by the files of src/services/events/. */
#ifndef SLUICE_EVENTS_INTERNAL_H
#define SLUICE_EVENTS_INTERNAL_H

#include "common/buf.h"
#include "delivery/delivery.h"
#include "net/http_client.h"
#include "pattern/pattern.h"
#include "protocol/aws.h"
#include "services/events/events.h"
#include "services/events/events_schedule.h"
#include "services/sqs/sqs.h"
#include "store/store.h"

#include <jansson.h>
#include <stdint.h>
#include <uv.h>

#define EVENTS_MAX_ENTRIES       10     /* PutEvents */
#define EVENTS_MAX_ENTRY_BYTES   262144 /* by AWS's entry-size formula */
#define EVENTS_MAX_TARGETS       5      /* per rule */
#define EVENTS_MAX_BUS_HOPS      5      /* event-bus targets followed per event */
#define EVENTS_DEFAULT_BUS       "default"
#define EVENTS_DEFAULT_RETRIES   185
#define EVENTS_DEFAULT_MAX_AGE_S 86400

typedef struct events_bus events_bus;
typedef struct events_rule events_rule;
typedef struct events_archive events_archive;
typedef struct events_replay events_replay;
typedef struct events_plan events_plan;
typedef struct events_target_type events_target_type;

/* A target as PutTargets stored it, with what delivery needs parsed out of it. */
typedef struct events_target {
    json_t *def; /* the Target object (Id, Arn, Input..., RetryPolicy, DeadLetterConfig) */
    const char *id, *arn;
    const events_target_type *type;
} events_target;

struct events_rule {
    char *name;
    events_bus *bus;
    json_t *doc; /* the stored document: the rule's fields, Tags, Targets, schedule state */
    int enabled;
    int has_pattern;
    events_target *targets;
    size_t ntargets;
    /* schedules */
    int has_schedule;
    events_schedule sched;
    int64_t next_fire_ms; /* 0: none */
    int64_t record_ms;    /* the time the next fire records as LastFire */
    int firing;           /* a fire is being committed */
    events_rule *next;    /* the bus's rules */
};

struct events_bus {
    char *name;
    json_t *doc;           /* Name, Description, DeadLetterConfig, KmsKeyIdentifier, Tags, times */
    pattern_set *patterns; /* every enabled rule with a pattern, and every archive */
    events_rule *rules;
    events_bus *next;
};

struct events_archive {
    char *name;
    json_t *doc; /* ArchiveName, EventSourceArn, Description, EventPattern, RetentionDays... */
    char *bus_name;
    events_archive *next;
};

struct events_replay {
    char *name;
    json_t *doc; /* ReplayName, EventSourceArn, Destination, times, State, progress */
    int running; /* a step is in the store */
    events_replay *next;
};

typedef struct events {
    aws_service_def def;
    uv_loop_t *loop;
    store *store;
    sqs *sqs;
    sns *sns;
    const aws_service_def *workflows; /* Step Functions: state machine targets (may be NULL) */
    const char *region;
    const char *account;
    events_bus *buses;
    events_archive *archives;
    events_replay *replays;
    json_t *connections;    /* name -> document */
    json_t *destinations;   /* name -> document */
    pattern_event *scratch; /* the event being matched (loop thread only) */
    uv_timer_t schedule_timer;
    int64_t schedule_at_ms;
    uv_timer_t replay_timer;
    uv_timer_t retention_timer;
    delivery *deliveries;
    http_client *http;
    json_t *oauth_tokens;            /* connection name -> {token, expires_ms} */
    json_t *rate_windows;            /* api destination name -> {second, count} */
    struct token_req *token_waiters; /* OAuth token requests of events_connection_params */
    int stopping;
    int open_handles;
} events;

static inline events *events_of(const aws_call *call)
{
    return (events *)call->service->ctx;
}

/* ---- names and ARNs (events_service.c) ---------------------------------------------- */
void events_bus_arn(const events *ev, const char *bus, char *out, size_t cap);
void events_rule_arn(const events *ev, const events_rule *r, char *out, size_t cap);
/* "default", a name or an event-bus ARN of ours -> the bus name (copied into out), or NULL. */
const char *events_bus_name_of(const events *ev, const char *name_or_arn, char *out, size_t cap);
const char *events_str(const aws_call *call, const char *name);
/* Persists documents (ns/key/doc triples, doc NULL deletes); replies `reply` (taken) to
 * call when committed, or InternalException. call may be NULL (no reply). */
void events_persist(events *ev, aws_call *call, json_t *reply, const store_doc *docs, size_t n);
/* The ISO 8601 UTC form AWS uses in events ("2026-11-30T08:00:00Z"). */
void events_iso_time(int64_t ms, char out[32]);
/* Names of rules, targets, archives, replays, connections and API destinations: 1 to max
 * characters of [.-_A-Za-z0-9]. */
int events_valid_name(const char *n, size_t max);
/* One page of a List* answer: the call's Limit (1..100) and NextToken (an offset we issued). */
typedef struct events_pager {
    size_t offset, limit, seen;
    int more;
    json_t *items;
} events_pager;
/* 0, or replies ValidationException and returns -1. */
int events_pager_init(aws_call *call, events_pager *pg);
/* For each item that passes the filters, in order: 1 if it belongs on this page (append it
 * to pg->items), 0 if it is before the page, -1 when the page is full (stop). */
int events_pager_want(events_pager *pg);
/* Replies {member: items, NextToken?} and frees the pager. */
void events_pager_reply(aws_call *call, events_pager *pg, const char *member);
/* Persists one document (doc NULL deletes it) and replies `reply` (taken) when committed. */
void events_persist_doc(events *ev, aws_call *call, json_t *reply, const char *ns, const char *key,
                        const json_t *doc);
/* Replies the ValidationException of a missing required member (`member` as AWS spells it
 * in messages: "name", "targetArn"). */
void events_reply_missing(aws_call *call, const char *member);
json_t *events_tags_to_list(const json_t *tags);
int events_tags_from_list(aws_call *call, const json_t *list, json_t *tags);

/* ---- buses (events_bus.c) ----------------------------------------------------------- */
events_bus *events_bus_find(events *ev, const char *name);
events_bus *events_bus_add(events *ev, const char *name, json_t *doc);
void events_bus_free_all(events *ev);
/* Adds or removes r's pattern in its bus's matcher, as r's state says. */
int events_bus_index_rule(events_bus *b, events_rule *r, char *err, size_t errlen);
void events_bus_unindex_rule(events_bus *b, events_rule *r);

/* ---- rules and targets (events_rule.c) ---------------------------------------------- */
events_rule *events_rule_find(events_bus *b, const char *name);
void events_rule_free(events_rule *r);
/* Loads a stored rule at startup. */
void events_rule_restore(const char *key, const char *doc, void *arg);
const char *events_rule_doc_key(const events_rule *r, char *out, size_t cap);

/* ---- target types (events_target.c) ------------------------------------------------- */
struct events_target_type {
    const char *name; /* "sqs", "event-bus", "api-destination" */
    /* Whether arn names a target of this type. */
    int (*matches)(const events *ev, const char *arn);
    /* PutTargets: 0, or -1 with AWS's per-entry ErrorCode and ErrorMessage. */
    int (*validate)(events *ev, const json_t *target, char *code, size_t codelen, char *msg,
                    size_t msglen);
    /* Plans the delivery of `payload` (the rendered input) of one matched event (its
     * original text: event). */
    void (*route)(events_plan *p, const events_rule *r, const events_target *t, const char *payload,
                  size_t len, const char *event, size_t event_len);
};
const events_target_type *events_target_type_of(const events *ev, const char *arn);
/* Renders what target t of rule r receives for `event_json` into out. 0, or -1. */
int events_target_render(const events *ev, const events_rule *r, const events_target *t,
                         const char *event_json, size_t event_len, const json_t *event,
                         int64_t ingest_ms, buf *out);

/* ---- routing and fan-out (events_route.c) -------------------------------------------
 * A plan collects everything a set of events causes (queue messages per queue, pending
 * deliveries, archive records, document updates) and commits it as one STORE_GROUP. */
typedef void (*events_plan_done_fn)(events_plan *p, int status, void *arg);
events_plan *events_plan_new(events *ev, int64_t now_ms);
events *events_plan_owner(const events_plan *p);
/* The fan-out under the plan (for targets that add to it themselves: SNS topics). */
fanout *events_plan_fanout(events_plan *p);
/* Matches one event (JSON text of the full envelope, borrowed) on bus b and plans every
 * matched rule's targets and every matching archive. filter: NULL, or the rule ARNs a
 * replay is limited to (archives are skipped when replaying). Returns the number of
 * rules matched. */
size_t events_plan_route(events_plan *p, events_bus *b, const char *event_json, size_t len,
                         const json_t *filter, int replay, int hops);
/* Re-routes an event on another bus (event-bus targets). -1 if there is no such bus. */
int events_route_to_bus(events_plan *p, const char *bus_name, const char *event_json, size_t len,
                        int hops);
/* Plans the targets of one rule (schedules). */
void events_plan_rule(events_plan *p, const events_rule *r, const char *event_json, size_t len);
/* Queue message to the queue with this ARN (FIFO: group/dedup ids). -1 if no such queue or
 * the message is refused (reason in err). */
int events_plan_queue(events_plan *p, const char *queue_arn, const char *body, size_t len,
                      const json_t *attrs, const char *group_id, const char *dedup_id, char *err,
                      size_t errlen);
void events_plan_delivery(events_plan *p, const char *kind, json_t *target_json,
                          const char *payload, size_t len);
/* A target that cannot receive now: dead-letters the event (per the target's
 * DeadLetterConfig) with the error, or drops it (logged). */
void events_plan_dead_letter(events_plan *p, const char *rule_arn, const json_t *target,
                             const char *event_json, size_t len, const char *code,
                             const char *message, const char *condition, int attempts);
void events_plan_doc(events_plan *p, const char *ns, const char *key, const char *doc);
size_t events_plan_size(const events_plan *p);
/* Commits the plan (one group); fn runs after the commit (status 0 or -EIO). Takes p. */
void events_plan_commit(events_plan *p, events_plan_done_fn fn, void *arg);
void events_plan_discard(events_plan *p);
/* The same, with one more op of the caller's (borrowed) in the group. */
void events_plan_commit_with(events_plan *p, store_op *extra, events_plan_done_fn fn, void *arg);
/* Builds the envelope of an event into out. detail: JSON text of the detail object. */
void events_envelope(const events *ev, buf *out, const char *id, const char *detail_type,
                     const char *source, int64_t time_ms, const json_t *resources,
                     const char *detail, size_t detail_len, const char *replay_name);

/* ---- deliveries to HTTP targets (events_deliver.c) ---------------------------------- */
int events_deliver_init(events *ev);
void events_deliver_poke(events *ev);

/* ---- archives and replays (events_archive.c) ---------------------------------------- */
void events_archive_restore(const char *key, const char *doc, void *arg);
void events_replay_restore(const char *key, const char *doc, void *arg);
events_archive *events_archive_find(events *ev, const char *name);
void events_archives_free_all(events *ev);
void events_replays_start(events *ev);

/* ---- schedules (events_scheduler.c) ------------------------------------------------- */
void events_scheduler_init(events *ev);
/* Recomputes r's next fire (after a change or a fire) and re-arms the timer. */
void events_scheduler_update(events *ev, events_rule *r);

/* ---- connections and API destinations (events_connection.c) ------------------------- */
void events_connection_restore(const char *key, const char *doc, void *arg);
void events_destination_restore(const char *key, const char *doc, void *arg);
/* Obtains an OAuth token for connection `name` now; the connection becomes AUTHORIZED (and
 * is persisted) when one is obtained. */
void events_connection_authorize(events *ev, const char *name);
/* Answers the events_connection_params callers still waiting for a token ("Cancelled"). */
void events_connection_waiters_cancel(events *ev);
/* The NAME of "arn:...<kind>NAME/uuid" (kind: ":connection/", ":api-destination/"). */
const char *events_name_from_arn(const char *arn, const char *kind, char *out, size_t cap);

/* ---- handlers ----------------------------------------------------------------------- */
void events_create_event_bus(aws_call *call);
void events_describe_event_bus(aws_call *call);
void events_update_event_bus(aws_call *call);
void events_delete_event_bus(aws_call *call);
void events_list_event_buses(aws_call *call);
void events_put_rule(aws_call *call);
void events_describe_rule(aws_call *call);
void events_list_rules(aws_call *call);
void events_delete_rule(aws_call *call);
void events_enable_rule(aws_call *call);
void events_disable_rule(aws_call *call);
void events_put_targets(aws_call *call);
void events_remove_targets(aws_call *call);
void events_list_targets_by_rule(aws_call *call);
void events_list_rule_names_by_target(aws_call *call);
void events_put_events(aws_call *call);
void events_test_event_pattern(aws_call *call);
void events_tag_resource(aws_call *call);
void events_untag_resource(aws_call *call);
void events_list_tags_for_resource(aws_call *call);
void events_create_archive(aws_call *call);
void events_describe_archive(aws_call *call);
void events_update_archive(aws_call *call);
void events_delete_archive(aws_call *call);
void events_list_archives(aws_call *call);
void events_start_replay(aws_call *call);
void events_describe_replay(aws_call *call);
void events_list_replays(aws_call *call);
void events_cancel_replay(aws_call *call);
void events_create_connection(aws_call *call);
void events_describe_connection(aws_call *call);
void events_update_connection(aws_call *call);
void events_delete_connection(aws_call *call);
void events_list_connections(aws_call *call);
void events_deauthorize_connection(aws_call *call);
void events_create_api_destination(aws_call *call);
void events_describe_api_destination(aws_call *call);
void events_update_api_destination(aws_call *call);
void events_delete_api_destination(aws_call *call);
void events_list_api_destinations(aws_call *call);

#endif
