/* Scheduled rules: firing rate() and cron() rules at their times.
 *
 * Each enabled rule with a schedule knows its next fire time; one timer is armed for the
 * earliest. A fire builds the scheduled event (source "aws.events", detail-type "Scheduled
 * Event", the rule's ARN as its resource), plans the rule's targets, and commits them in
 * one group with the rule's document recording that fire as its LastFire. The next fire is
 * computed from LastFire, so after a restart a fire that committed is not repeated, and one
 * that did not commit happens again.
 *
 * Fires missed while the server was stopped: the first one missed happens once, at
 * startup (as soon as the store is open); the others are skipped, as a cron daemon that
 * was down would. */
#include "services/events/events_internal.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void rearm(events *ev);

static int64_t compute_next(events_rule *r)
{
    if (!r->has_schedule || !r->enabled)
        return 0;
    int64_t anchor = json_integer_value(json_object_get(r->doc, "Anchor"));
    json_t *last = json_object_get(r->doc, "LastFire");
    int64_t after = last ? json_integer_value(last) : anchor;
    if (!last && r->sched.kind == EVENTS_SCHEDULE_RATE)
        after = anchor; /* the first rate fire is one period after creation */
    int64_t next = events_schedule_next(&r->sched, anchor, after);
    /* Fires missed while stopped: one fire happens at once, for the latest missed time,
     * and records that time, so the next fire is the first one after now. */
    int64_t now = clock_now_ms();
    r->record_ms = next;
    if (next > 0 && next < now - 1000) {
        int64_t latest = next;
        if (r->sched.kind == EVENTS_SCHEDULE_RATE) {
            int64_t after_now = events_schedule_next(&r->sched, anchor, now);
            if (after_now > 0)
                latest = after_now - r->sched.period_ms;
        }
        /* cron: walk (at most a few hundred thousand minutes, at startup only) */
        for (int i = 0; r->sched.kind == EVENTS_SCHEDULE_CRON && i < 1000000; i++) {
            int64_t n = events_schedule_next(&r->sched, anchor, latest);
            if (n <= 0 || n > now)
                break;
            latest = n;
        }
        r->record_ms = latest;
        return latest;
    }
    return next < 0 ? 0 : next;
}

typedef struct fire_ctx {
    events *ev;
    events_rule *rule;
    char key[600];
} fire_ctx;

static events_rule *rule_by_key(events *ev, const char *key)
{
    for (events_bus *b = ev->buses; b; b = b->next)
        for (events_rule *r = b->rules; r; r = r->next) {
            char k[600];
            if (strcmp(events_rule_doc_key(r, k, sizeof k), key) == 0)
                return r;
        }
    return NULL;
}

static void fired(events_plan *p, int status, void *arg)
{
    (void)p;
    fire_ctx *c = arg;
    /* The rule may have been deleted or changed meanwhile: look it up again. */
    events_rule *r = rule_by_key(c->ev, c->key);
    if (r && r == c->rule) {
        r->firing = 0;
        if (status != 0) {
            log_error("scheduled fire not committed: retried", "rule=%s", r->name);
            json_object_del(r->doc, "LastFire");
        }
        events_scheduler_update(c->ev, r);
    }
    xfree(c);
}

static void fire(events *ev, events_rule *r, int64_t at_ms)
{
    char id[40], arn[700];
    ids_uuid4(id);
    events_rule_arn(ev, r, arn, sizeof arn);
    json_t *resources = json_pack("[s]", arn);
    buf e = BUF_INIT;
    events_envelope(ev, &e, id, "Scheduled Event", "aws.events", at_ms, resources, "{}", 2, NULL);
    json_decref(resources);
    events_plan *p = events_plan_new(ev, clock_now_ms());
    events_plan_rule(p, r, e.data, e.len);
    buf_free(&e);
    json_object_set_new(r->doc, "LastFire", json_integer(r->record_ms ? r->record_ms : at_ms));
    char *text = json_dumps(r->doc, JSON_COMPACT);
    fire_ctx *c = xcalloc(1, sizeof *c);
    c->ev = ev;
    c->rule = r;
    events_rule_doc_key(r, c->key, sizeof c->key);
    events_plan_doc(p, "events.rule", c->key, text);
    free(text);
    r->firing = 1;
    r->next_fire_ms = 0;
    log_debug("scheduled rule fired", "rule=%s at=%lld", r->name, (long long)at_ms);
    events_plan_commit(p, fired, c);
}

static void on_timer(uv_timer_t *t)
{
    events *ev = t->data;
    int64_t now = clock_now_ms();
    for (events_bus *b = ev->buses; b; b = b->next)
        for (events_rule *r = b->rules; r; r = r->next)
            if (r->next_fire_ms && r->next_fire_ms <= now && !r->firing)
                fire(ev, r, r->next_fire_ms);
    rearm(ev);
}

static void rearm(events *ev)
{
    if (ev->stopping)
        return;
    int64_t earliest = 0;
    for (events_bus *b = ev->buses; b; b = b->next)
        for (events_rule *r = b->rules; r; r = r->next)
            if (r->next_fire_ms && !r->firing && (!earliest || r->next_fire_ms < earliest))
                earliest = r->next_fire_ms;
    if (!earliest) {
        uv_timer_stop(&ev->schedule_timer);
        return;
    }
    int64_t now = clock_now_ms();
    uv_timer_start(&ev->schedule_timer, on_timer, earliest > now ? (uint64_t)(earliest - now) : 0,
                   0);
}

void events_scheduler_update(events *ev, events_rule *r)
{
    if (r && !r->firing)
        r->next_fire_ms = compute_next(r);
    rearm(ev);
}

void events_scheduler_init(events *ev)
{
    uv_timer_init(ev->loop, &ev->schedule_timer);
    ev->schedule_timer.data = ev;
    for (events_bus *b = ev->buses; b; b = b->next)
        for (events_rule *r = b->rules; r; r = r->next)
            r->next_fire_ms = compute_next(r);
    rearm(ev);
}
