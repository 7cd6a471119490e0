/* Archives and replays.
 *
 * An archive is a document plus the events it recorded (store table archive_events, in
 * the same transaction as the event's fan-out). An archive with a pattern sits in its
 * bus's matcher under its own id (the archive's address with the low bit set, so it never
 * collides with a rule's); one without a pattern records every event of its bus. Replayed
 * events are never archived again.
 *
 * A replay walks its archive's window in (time, seq) order, REPLAY_CHUNK events per step.
 * Each step routes its events on the destination bus (to every rule, or the FilterArns
 * rules), each event carrying "replay-name", and commits them together with the replay's
 * progress (the last event's seq): a restart resumes after the last committed step, so a
 * replay neither skips nor repeats events. Steps run one at a time from a zero-delay timer,
 * so live requests are served between steps. */
#include "services/events/events_internal.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPLAY_CHUNK        100
#define RETENTION_PERIOD_MS (60 * 60 * 1000)

/* ---- archives ----------------------------------------------------------------------- */

events_archive *events_archive_find(events *ev, const char *name)
{
    for (events_archive *a = ev->archives; a; a = a->next)
        if (strcmp(a->name, name) == 0)
            return a;
    return NULL;
}

static uint64_t match_id(const events_archive *a)
{
    return (uint64_t)(uintptr_t)a | 1;
}

static int index_archive(events *ev, events_archive *a, char *err, size_t errlen)
{
    events_bus *b = events_bus_find(ev, a->bus_name);
    if (!b)
        return 0;
    pattern_set_remove(b->patterns, match_id(a));
    const char *p = json_string_value(json_object_get(a->doc, "EventPattern"));
    if (!p)
        return 0;
    return pattern_set_add(b->patterns, match_id(a), p, strlen(p), err, errlen);
}

static void unindex_archive(events *ev, events_archive *a)
{
    events_bus *b = events_bus_find(ev, a->bus_name);
    if (b)
        pattern_set_remove(b->patterns, match_id(a));
}

static events_archive *archive_add(events *ev, const char *name, json_t *doc)
{
    events_archive *a = xcalloc(1, sizeof *a);
    a->name = xstrdup(name);
    a->doc = doc;
    char bus[512];
    if (!events_bus_name_of(ev, json_string_value(json_object_get(doc, "EventSourceArn")), bus,
                            sizeof bus))
        snprintf(bus, sizeof bus, "%s", EVENTS_DEFAULT_BUS);
    a->bus_name = xstrdup(bus);
    events_archive **pp = &ev->archives;
    while (*pp && strcmp((*pp)->name, name) < 0)
        pp = &(*pp)->next;
    a->next = *pp;
    *pp = a;
    return a;
}

static void archive_free(events_archive *a)
{
    json_decref(a->doc);
    xfree(a->name);
    xfree(a->bus_name);
    xfree(a);
}

void events_archives_free_all(events *ev)
{
    while (ev->archives) {
        events_archive *a = ev->archives;
        ev->archives = a->next;
        archive_free(a);
    }
    while (ev->replays) {
        events_replay *r = ev->replays;
        ev->replays = r->next;
        json_decref(r->doc);
        xfree(r->name);
        xfree(r);
    }
}

void events_archive_restore(const char *key, const char *doc, void *arg)
{
    events *ev = arg;
    json_t *d = json_loads(doc, 0, NULL);
    if (!json_is_object(d)) {
        json_decref(d);
        return;
    }
    events_archive *a = archive_add(ev, key, d);
    char err[512];
    if (index_archive(ev, a, err, sizeof err) != 0)
        log_warn("stored archive's pattern no longer compiles", "archive=%s err='%s'", key, err);
}

static void archive_arn(const events *ev, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "arn:aws:events:%s:%s:archive/%s", ev->region, ev->account, name);
}

static void persist_archive(aws_call *call, events_archive *a, json_t *reply)
{
    events_persist_doc(events_of(call), call, reply, "events.archive", a->name, a->doc);
}

static int check_pattern(aws_call *call, const char *pattern)
{
    char err[512];
    if (pattern &&
        pattern_validate(PATTERN_EVENTBRIDGE, pattern, strlen(pattern), err, sizeof err) != 0) {
        aws_reply_error(call, AWS_ERR_EVENTS_INVALID_EVENT_PATTERN, "%s", err);
        return -1;
    }
    return 0;
}

static int check_retention(aws_call *call)
{
    json_t *r = json_object_get(call->input, "RetentionDays");
    if (r && (!json_is_integer(r) || json_integer_value(r) < 0)) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "1 validation error detected: Value at 'retentionDays' failed to satisfy "
                        "constraint: Member must have value greater than or equal to 0");
        return -1;
    }
    return 0;
}

static void put_time(json_t *out, const char *k, const json_t *doc, const char *field)
{
    json_t *v = json_object_get(doc, field);
    if (v && json_integer_value(v) > 0)
        json_object_set_new(out, k, json_real(json_integer_value(v) / 1000.0));
}

void events_create_archive(aws_call *call)
{
    events *ev = events_of(call);
    const char *name = events_str(call, "ArchiveName");
    const char *source = events_str(call, "EventSourceArn");
    if (!name || !events_valid_name(name, 48)) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "1 validation error detected: Value '%s' at 'archiveName' failed to "
                        "satisfy constraint: Member must satisfy regular expression pattern: "
                        "[\\.\\-_A-Za-z0-9]+ and have length between 1 and 48",
                        name ? name : "null");
        return;
    }
    char bus[512];
    if (!source || strncmp(source, "arn:", 4) != 0 ||
        !events_bus_name_of(ev, source, bus, sizeof bus) || !events_bus_find(ev, bus)) {
        const char *slash = source ? strrchr(source, '/') : NULL;
        aws_reply_error(call, AWS_ERR_EVENTS_RESOURCE_NOT_FOUND, "Event bus %s does not exist.",
                        slash    ? slash + 1
                        : source ? source
                                 : "null");
        return;
    }
    if (events_archive_find(ev, name)) {
        aws_reply_error(call, AWS_ERR_EVENTS_RESOURCE_ALREADY_EXISTS, "Archive %s already exists.",
                        name);
        return;
    }
    const char *pattern = events_str(call, "EventPattern");
    if (check_pattern(call, pattern) != 0 || check_retention(call) != 0)
        return;
    int64_t now = clock_now_ms();
    json_t *doc =
        json_pack("{s:s, s:s, s:s, s:I, s:I}", "ArchiveName", name, "EventSourceArn", source,
                  "State", "ENABLED", "RetentionDays",
                  (json_int_t)json_integer_value(json_object_get(call->input, "RetentionDays")),
                  "CreationTime", (json_int_t)now);
    if (pattern)
        json_object_set_new(doc, "EventPattern", json_string(pattern));
    const char *desc = events_str(call, "Description");
    if (desc)
        json_object_set_new(doc, "Description", json_string(desc));
    events_archive *a = archive_add(ev, name, doc);
    char err[512];
    index_archive(ev, a, err, sizeof err);
    char arn[512];
    archive_arn(ev, name, arn, sizeof arn);
    json_t *reply = json_pack("{s:s, s:s}", "ArchiveArn", arn, "State", "ENABLED");
    put_time(reply, "CreationTime", doc, "CreationTime");
    persist_archive(call, a, reply);
}

static events_archive *archive_of(aws_call *call)
{
    const char *name = events_str(call, "ArchiveName");
    events_archive *a = name ? events_archive_find(events_of(call), name) : NULL;
    if (!a)
        aws_reply_error(call, AWS_ERR_EVENTS_RESOURCE_NOT_FOUND, "Archive %s does not exist.",
                        name ? name : "null");
    return a;
}

static json_t *archive_json(const events *ev, const events_archive *a, int full)
{
    char arn[512];
    archive_arn(ev, a->name, arn, sizeof arn);
    json_t *o = json_pack("{s:s, s:O, s:O, s:O}", "ArchiveName", a->name, "EventSourceArn",
                          json_object_get(a->doc, "EventSourceArn"), "State",
                          json_object_get(a->doc, "State"), "RetentionDays",
                          json_object_get(a->doc, "RetentionDays"));
    if (full) {
        json_object_set_new(o, "ArchiveArn", json_string(arn));
        json_t *d = json_object_get(a->doc, "Description");
        json_t *p = json_object_get(a->doc, "EventPattern");
        if (d)
            json_object_set(o, "Description", d);
        if (p)
            json_object_set(o, "EventPattern", p);
    }
    put_time(o, "CreationTime", a->doc, "CreationTime");
    return o;
}

typedef struct stats_ctx {
    store_op op;
    aws_call *call;
    json_t *reply;
    char name[64];
} stats_ctx;

static void stats_done(store_op *op)
{
    stats_ctx *c = op->ctx;
    if (op->status != 0) {
        json_decref(c->reply);
        aws_reply_error(c->call, AWS_ERR_EVENTS_INTERNAL, "The store could not be read.");
    } else {
        json_object_set_new(c->reply, "EventCount", json_integer(op->u.archive.count));
        json_object_set_new(c->reply, "SizeBytes", json_integer(op->u.archive.bytes));
        aws_reply(c->call, c->reply);
    }
    xfree(c);
}

void events_describe_archive(aws_call *call)
{
    events_archive *a = archive_of(call);
    if (!a)
        return;
    stats_ctx *c = xcalloc(1, sizeof *c);
    c->call = call;
    c->reply = archive_json(events_of(call), a, 1);
    snprintf(c->name, sizeof c->name, "%s", a->name);
    c->op.kind = STORE_ARCHIVE_STATS;
    c->op.now_ms = clock_now_ms();
    c->op.done = stats_done;
    c->op.ctx = c;
    c->op.u.archive.archive = c->name;
    store_submit(events_of(call)->store, &c->op);
}

void events_update_archive(aws_call *call)
{
    events *ev = events_of(call);
    events_archive *a = archive_of(call);
    if (!a)
        return;
    const char *pattern = events_str(call, "EventPattern");
    if (check_pattern(call, pattern) != 0 || check_retention(call) != 0)
        return;
    if (pattern)
        json_object_set_new(a->doc, "EventPattern", json_string(pattern));
    const char *desc = events_str(call, "Description");
    if (desc)
        json_object_set_new(a->doc, "Description", json_string(desc));
    json_t *r = json_object_get(call->input, "RetentionDays");
    if (r)
        json_object_set(a->doc, "RetentionDays", r);
    char err[512];
    index_archive(ev, a, err, sizeof err);
    char arn[512];
    archive_arn(ev, a->name, arn, sizeof arn);
    json_t *reply =
        json_pack("{s:s, s:O}", "ArchiveArn", arn, "State", json_object_get(a->doc, "State"));
    put_time(reply, "CreationTime", a->doc, "CreationTime");
    persist_archive(call, a, reply);
}

typedef struct delete_ctx {
    aws_call *call;
    store_op trim;
    char name[64];
} delete_ctx;

static void archive_deleted(events_plan *p, int status, void *arg)
{
    (void)p;
    delete_ctx *c = arg;
    if (status != 0)
        aws_reply_error(c->call, AWS_ERR_EVENTS_INTERNAL, "The store could not commit.");
    else
        aws_reply(c->call, NULL);
    xfree(c);
}

void events_delete_archive(aws_call *call)
{
    events *ev = events_of(call);
    events_archive *a = archive_of(call);
    if (!a)
        return;
    delete_ctx *c = xcalloc(1, sizeof *c);
    c->call = call;
    snprintf(c->name, sizeof c->name, "%s", a->name);
    c->trim.kind = STORE_ARCHIVE_TRIM;
    c->trim.u.archive.archive = c->name;
    c->trim.u.archive.to_ms = INT64_MAX;
    events_plan *p = events_plan_new(ev, clock_now_ms());
    events_plan_doc(p, "events.archive", a->name, NULL);
    unindex_archive(ev, a);
    for (events_archive **pp = &ev->archives; *pp; pp = &(*pp)->next) {
        if (*pp == a) {
            *pp = a->next;
            break;
        }
    }
    archive_free(a);
    events_plan_commit_with(p, &c->trim, archive_deleted, c);
}

void events_list_archives(aws_call *call)
{
    events *ev = events_of(call);
    const char *prefix = events_str(call, "NamePrefix");
    const char *source = events_str(call, "EventSourceArn");
    const char *state = events_str(call, "State");
    char bus[512];
    if (source && (!events_bus_name_of(ev, source, bus, sizeof bus) || !events_bus_find(ev, bus))) {
        const char *slash = strrchr(source, '/');
        aws_reply_error(call, AWS_ERR_EVENTS_RESOURCE_NOT_FOUND, "Event bus %s does not exist.",
                        slash ? slash + 1 : source);
        return;
    }
    events_pager pg;
    if (events_pager_init(call, &pg) != 0)
        return;
    for (events_archive *a = ev->archives; a; a = a->next) {
        if (prefix && strncmp(a->name, prefix, strlen(prefix)) != 0)
            continue;
        if (source &&
            strcmp(json_string_value(json_object_get(a->doc, "EventSourceArn")), source) != 0)
            continue;
        if (state && strcmp(json_string_value(json_object_get(a->doc, "State")), state) != 0)
            continue;
        int want = events_pager_want(&pg);
        if (want < 0)
            break;
        if (want)
            json_array_append_new(pg.items, archive_json(ev, a, 0));
    }
    events_pager_reply(call, &pg, "Archives");
}

/* ---- retention ---------------------------------------------------------------------- */

typedef struct trim_ctx {
    store_op op;
    char name[64];
} trim_ctx;

static void trim_done(store_op *op)
{
    xfree(op->ctx);
}

static void on_retention(uv_timer_t *t)
{
    events *ev = t->data;
    int64_t now = clock_now_ms();
    for (events_archive *a = ev->archives; a; a = a->next) {
        json_int_t days = json_integer_value(json_object_get(a->doc, "RetentionDays"));
        if (days <= 0)
            continue;
        trim_ctx *c = xcalloc(1, sizeof *c);
        snprintf(c->name, sizeof c->name, "%s", a->name);
        c->op.kind = STORE_ARCHIVE_TRIM;
        c->op.now_ms = now;
        c->op.done = trim_done;
        c->op.ctx = c;
        c->op.u.archive.archive = c->name;
        c->op.u.archive.to_ms = now - (int64_t)days * 86400000;
        store_submit(ev->store, &c->op);
    }
}

/* ---- replays ------------------------------------------------------------------------ */

static void replay_arn(const events *ev, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "arn:aws:events:%s:%s:replay/%s", ev->region, ev->account, name);
}

static events_replay *replay_find(events *ev, const char *name)
{
    for (events_replay *r = ev->replays; r; r = r->next)
        if (strcmp(r->name, name) == 0)
            return r;
    return NULL;
}

static events_replay *replay_add(events *ev, const char *name, json_t *doc)
{
    events_replay *r = xcalloc(1, sizeof *r);
    r->name = xstrdup(name);
    r->doc = doc;
    events_replay **pp = &ev->replays;
    while (*pp && strcmp((*pp)->name, name) < 0)
        pp = &(*pp)->next;
    r->next = *pp;
    *pp = r;
    return r;
}

void events_replay_restore(const char *key, const char *doc, void *arg)
{
    json_t *d = json_loads(doc, 0, NULL);
    if (json_is_object(d))
        replay_add(arg, key, d);
    else
        json_decref(d);
}

static const char *replay_state(const events_replay *r)
{
    return json_string_value(json_object_get(r->doc, "State"));
}

static int replay_active(const events_replay *r)
{
    const char *s = replay_state(r);
    return strcmp(s, "STARTING") == 0 || strcmp(s, "RUNNING") == 0 || strcmp(s, "CANCELLING") == 0;
}

typedef struct step_ctx {
    store_op read;
    events *ev;
    events_replay *replay;
    char archive[64];
} step_ctx;

static void schedule_step(events *ev);

static void step_committed(events_plan *p, int status, void *arg)
{
    (void)p;
    step_ctx *c = arg;
    c->replay->running = 0;
    if (status != 0)
        log_error("replay step failed: retried", "replay=%s", c->replay->name);
    schedule_step(c->ev);
    xfree(c);
}

static void finish(events_replay *r, const char *state, const char *reason, int64_t now)
{
    json_object_set_new(r->doc, "State", json_string(state));
    if (reason)
        json_object_set_new(r->doc, "StateReason", json_string(reason));
    json_object_set_new(r->doc, "ReplayEndTime", json_integer(now));
}

static void step_read(store_op *op)
{
    step_ctx *c = op->ctx;
    events *ev = c->ev;
    events_replay *r = c->replay;
    int64_t now = clock_now_ms();
    if (op->status != 0 || ev->stopping) {
        store_op_clear(op);
        r->running = 0;
        if (!ev->stopping)
            schedule_step(ev);
        xfree(c);
        return;
    }
    events_plan *p = events_plan_new(ev, now);
    json_t *dest = json_object_get(r->doc, "Destination");
    char bus_name[512];
    events_bus *b = events_bus_name_of(ev, json_string_value(json_object_get(dest, "Arn")),
                                       bus_name, sizeof bus_name)
                        ? events_bus_find(ev, bus_name)
                        : NULL;
    json_t *filter = json_object_get(dest, "FilterArns");
    if (json_array_size(filter) == 0)
        filter = NULL;
    buf e = BUF_INIT;
    for (size_t i = 0; b && i < op->u.archive.n; i++) {
        store_archived *a = &op->u.archive.items[i];
        /* The archived envelope with "replay-name" added as its last member. */
        buf_reset(&e);
        size_t end = a->len;
        while (end > 0 && a->event[end - 1] != '}')
            end--;
        if (end == 0)
            continue;
        buf_append(&e, a->event, end - 1);
        buf_puts(&e, ",\"replay-name\":\"");
        buf_puts(&e, r->name);
        buf_puts(&e, "\"}");
        events_plan_route(p, b, e.data, e.len, filter, 1, 0);
        json_object_set_new(r->doc, "AfterSeq", json_integer(a->seq));
        json_object_set_new(r->doc, "EventLastReplayedTime", json_integer(a->time_ms));
    }
    buf_free(&e);
    if (!b)
        finish(r, "FAILED", "The destination event bus no longer exists.", now);
    else if (op->u.archive.n < (size_t)op->u.archive.max)
        finish(r, "COMPLETED", NULL, now);
    else if (strcmp(replay_state(r), "STARTING") == 0)
        json_object_set_new(r->doc, "State", json_string("RUNNING"));
    store_op_clear(op);
    char *text = json_dumps(r->doc, JSON_COMPACT);
    events_plan_doc(p, "events.replay", r->name, text);
    free(text);
    events_plan_commit(p, step_committed, c);
}

static void step(events *ev, events_replay *r)
{
    int64_t now = clock_now_ms();
    if (strcmp(replay_state(r), "CANCELLING") == 0) {
        finish(r, "CANCELLED", "Cancelled.", now);
        events_persist_doc(ev, NULL, NULL, "events.replay", r->name, r->doc);
        schedule_step(ev);
        return;
    }
    char archive[64];
    if (!events_name_from_arn(json_string_value(json_object_get(r->doc, "EventSourceArn")),
                              ":archive/", archive, sizeof archive) ||
        !events_archive_find(ev, archive)) {
        finish(r, "FAILED", "The archive no longer exists.", now);
        events_persist_doc(ev, NULL, NULL, "events.replay", r->name, r->doc);
        schedule_step(ev);
        return;
    }
    step_ctx *c = xcalloc(1, sizeof *c);
    c->ev = ev;
    c->replay = r;
    snprintf(c->archive, sizeof c->archive, "%s", archive);
    c->read.kind = STORE_ARCHIVE_READ;
    c->read.now_ms = now;
    c->read.done = step_read;
    c->read.ctx = c;
    c->read.u.archive.archive = c->archive;
    c->read.u.archive.from_ms = json_integer_value(json_object_get(r->doc, "EventStartTime"));
    c->read.u.archive.to_ms = json_integer_value(json_object_get(r->doc, "EventEndTime"));
    c->read.u.archive.after_seq = json_integer_value(json_object_get(r->doc, "AfterSeq"));
    c->read.u.archive.max = REPLAY_CHUNK;
    r->running = 1;
    store_submit(ev->store, &c->read);
}

static void on_replay_timer(uv_timer_t *t)
{
    events *ev = t->data;
    for (events_replay *r = ev->replays; r; r = r->next) {
        if (replay_active(r) && !r->running) {
            step(ev, r);
            return;
        }
    }
}

static void schedule_step(events *ev)
{
    if (ev->stopping)
        return;
    for (events_replay *r = ev->replays; r; r = r->next) {
        if (r->running)
            return; /* one step at a time */
    }
    for (events_replay *r = ev->replays; r; r = r->next) {
        if (replay_active(r)) {
            uv_timer_start(&ev->replay_timer, on_replay_timer, 0, 0);
            return;
        }
    }
}

void events_replays_start(events *ev)
{
    uv_timer_init(ev->loop, &ev->replay_timer);
    ev->replay_timer.data = ev;
    uv_timer_init(ev->loop, &ev->retention_timer);
    ev->retention_timer.data = ev;
    uv_timer_start(&ev->retention_timer, on_retention, 1000, RETENTION_PERIOD_MS);
    schedule_step(ev);
}

static int64_t time_input(const json_t *v)
{
    return json_is_number(v) ? (int64_t)(json_number_value(v) * 1000.0) : -1;
}

void events_start_replay(aws_call *call)
{
    events *ev = events_of(call);
    const char *name = events_str(call, "ReplayName");
    if (!name || !events_valid_name(name, 64)) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "1 validation error detected: Value '%s' at 'replayName' failed to "
                        "satisfy constraint: Member must satisfy regular expression pattern: "
                        "[\\.\\-_A-Za-z0-9]+ and have length between 1 and 64",
                        name ? name : "null");
        return;
    }
    if (replay_find(ev, name)) {
        aws_reply_error(call, AWS_ERR_EVENTS_RESOURCE_ALREADY_EXISTS, "Replay %s already exists.",
                        name);
        return;
    }
    const char *source = events_str(call, "EventSourceArn");
    char archive[64];
    events_archive *a = source && events_name_from_arn(source, ":archive/", archive, sizeof archive)
                            ? events_archive_find(ev, archive)
                            : NULL;
    if (!a) {
        const char *slash = source ? strrchr(source, '/') : NULL;
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "Parameter EventSourceArn is not valid. Reason: Archive %s does not exist.",
                        slash    ? slash + 1
                        : source ? source
                                 : "null");
        return;
    }
    int64_t start = time_input(json_object_get(call->input, "EventStartTime"));
    int64_t end = time_input(json_object_get(call->input, "EventEndTime"));
    if (start < 0 || end < 0) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "1 validation error detected: Value null at '%s' failed to satisfy "
                        "constraint: Member must not be null",
                        start < 0 ? "eventStartTime" : "eventEndTime");
        return;
    }
    if (start >= end) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "Parameter EventEndTime is not valid. Reason: EventStartTime must be "
                        "before EventEndTime.");
        return;
    }
    json_t *dest = json_object_get(call->input, "Destination");
    const char *dest_arn = json_string_value(json_object_get(dest, "Arn"));
    char bus[512];
    if (!dest_arn || !events_bus_name_of(ev, dest_arn, bus, sizeof bus)) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "Parameter Destination.Arn is not valid. Reason: it must be an event bus "
                        "ARN.");
        return;
    }
    if (!events_bus_find(ev, bus)) {
        aws_reply_error(call, AWS_ERR_EVENTS_RESOURCE_NOT_FOUND, "Event bus %s does not exist.",
                        bus);
        return;
    }
    if (strcmp(bus, a->bus_name) != 0) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "Parameter Destination.Arn is not valid. Reason: Cross event bus replay "
                        "is not permitted.");
        return;
    }
    int64_t now = clock_now_ms();
    char arn[512];
    replay_arn(ev, name, arn, sizeof arn);
    json_t *doc =
        json_pack("{s:s, s:s, s:s, s:O, s:I, s:I, s:s, s:I, s:I}", "ReplayName", name, "ReplayArn",
                  arn, "EventSourceArn", source, "Destination", dest, "EventStartTime",
                  (json_int_t)start, "EventEndTime", (json_int_t)end, "State", "STARTING",
                  "ReplayStartTime", (json_int_t)now, "AfterSeq", (json_int_t)0);
    const char *desc = events_str(call, "Description");
    if (desc)
        json_object_set_new(doc, "Description", json_string(desc));
    events_replay *r = replay_add(ev, name, doc);
    json_t *reply = json_pack("{s:s, s:s}", "ReplayArn", arn, "State", "STARTING");
    put_time(reply, "ReplayStartTime", doc, "ReplayStartTime");
    events_persist_doc(ev, call, reply, "events.replay", name, r->doc);
    schedule_step(ev);
}

static json_t *replay_json(const events_replay *r, int full)
{
    json_t *o = json_pack("{s:s, s:O, s:O}", "ReplayName", r->name, "EventSourceArn",
                          json_object_get(r->doc, "EventSourceArn"), "State",
                          json_object_get(r->doc, "State"));
    json_t *reason = json_object_get(r->doc, "StateReason");
    if (reason)
        json_object_set(o, "StateReason", reason);
    put_time(o, "EventStartTime", r->doc, "EventStartTime");
    put_time(o, "EventEndTime", r->doc, "EventEndTime");
    put_time(o, "EventLastReplayedTime", r->doc, "EventLastReplayedTime");
    put_time(o, "ReplayStartTime", r->doc, "ReplayStartTime");
    put_time(o, "ReplayEndTime", r->doc, "ReplayEndTime");
    if (full) {
        json_object_set(o, "ReplayArn", json_object_get(r->doc, "ReplayArn"));
        json_object_set(o, "Destination", json_object_get(r->doc, "Destination"));
        json_t *d = json_object_get(r->doc, "Description");
        if (d)
            json_object_set(o, "Description", d);
    }
    return o;
}

void events_describe_replay(aws_call *call)
{
    const char *name = events_str(call, "ReplayName");
    events_replay *r = name ? replay_find(events_of(call), name) : NULL;
    if (!r) {
        aws_reply_error(call, AWS_ERR_EVENTS_RESOURCE_NOT_FOUND, "Replay %s does not exist.",
                        name ? name : "null");
        return;
    }
    aws_reply(call, replay_json(r, 1));
}

void events_list_replays(aws_call *call)
{
    events *ev = events_of(call);
    events_pager pg;
    if (events_pager_init(call, &pg) != 0)
        return;
    const char *prefix = events_str(call, "NamePrefix");
    const char *state = events_str(call, "State");
    const char *source = events_str(call, "EventSourceArn");
    for (events_replay *r = ev->replays; r; r = r->next) {
        if (prefix && strncmp(r->name, prefix, strlen(prefix)) != 0)
            continue;
        if (state && strcmp(replay_state(r), state) != 0)
            continue;
        if (source &&
            strcmp(json_string_value(json_object_get(r->doc, "EventSourceArn")), source) != 0)
            continue;
        int want = events_pager_want(&pg);
        if (want < 0)
            break;
        if (want)
            json_array_append_new(pg.items, replay_json(r, 0));
    }
    events_pager_reply(call, &pg, "Replays");
}

void events_cancel_replay(aws_call *call)
{
    events *ev = events_of(call);
    const char *name = events_str(call, "ReplayName");
    events_replay *r = name ? replay_find(ev, name) : NULL;
    if (!r) {
        aws_reply_error(call, AWS_ERR_EVENTS_RESOURCE_NOT_FOUND, "Replay %s does not exist.",
                        name ? name : "null");
        return;
    }
    const char *s = replay_state(r);
    if (strcmp(s, "STARTING") != 0 && strcmp(s, "RUNNING") != 0) {
        aws_reply_error(call, AWS_ERR_EVENTS_ILLEGAL_STATUS,
                        "Replay %s is not in a state that can be cancelled.", name);
        return;
    }
    json_object_set_new(r->doc, "State", json_string("CANCELLING"));
    json_t *reply = json_pack("{s:O, s:s}", "ReplayArn", json_object_get(r->doc, "ReplayArn"),
                              "State", "CANCELLING");
    events_persist_doc(ev, call, reply, "events.replay", r->name, r->doc);
    schedule_step(ev);
}
