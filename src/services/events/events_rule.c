/* Rules and their targets: PutRule, DescribeRule, ListRules, DeleteRule, EnableRule,
 * DisableRule, PutTargets, RemoveTargets, ListTargetsByRule, ListRuleNamesByTarget.
 *
 * A rule is one stored document (its fields, tags, targets and schedule state) keyed by
 * "bus/name". Its pattern lives in the bus's shared matcher while it is enabled. */
#include "services/events/events_internal.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"
#include "services/events/events_input.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the table ---------------------------------------------------------------------- */

events_rule *events_rule_find(events_bus *b, const char *name)
{
    for (events_rule *r = b->rules; r; r = r->next)
        if (strcmp(r->name, name) == 0)
            return r;
    return NULL;
}

const char *events_rule_doc_key(const events_rule *r, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", r->bus->name, r->name);
    return out;
}

static void targets_free(events_rule *r)
{
    for (size_t i = 0; i < r->ntargets; i++)
        json_decref(r->targets[i].def);
    xfree(r->targets);
    r->targets = NULL;
    r->ntargets = 0;
}

void events_rule_free(events_rule *r)
{
    if (!r)
        return;
    targets_free(r);
    json_decref(r->doc);
    xfree(r->name);
    xfree(r);
}

/* Rebuilds r's parsed view (state, schedule, targets) from r->doc. */
static void rule_parse(events *ev, events_rule *r)
{
    const char *state = json_string_value(json_object_get(r->doc, "State"));
    r->enabled = !state || strncmp(state, "ENABLED", 7) == 0;
    r->has_pattern = json_is_string(json_object_get(r->doc, "EventPattern"));
    const char *sched = json_string_value(json_object_get(r->doc, "ScheduleExpression"));
    char err[256];
    r->has_schedule =
        sched && events_schedule_parse(sched, strlen(sched), &r->sched, err, sizeof err) == 0;
    targets_free(r);
    json_t *targets = json_object_get(r->doc, "Targets");
    r->ntargets = json_array_size(targets);
    r->targets = xcalloc(r->ntargets ? r->ntargets : 1, sizeof *r->targets);
    for (size_t i = 0; i < r->ntargets; i++) {
        events_target *t = &r->targets[i];
        t->def = json_incref(json_array_get(targets, i));
        t->id = json_string_value(json_object_get(t->def, "Id"));
        t->arn = json_string_value(json_object_get(t->def, "Arn"));
        t->type = events_target_type_of(ev, t->arn);
    }
}

static events_rule *rule_add(events *ev, events_bus *b, const char *name, json_t *doc)
{
    events_rule *r = xcalloc(1, sizeof *r);
    r->name = xstrdup(name);
    r->bus = b;
    r->doc = doc;
    events_rule **pp = &b->rules;
    while (*pp && strcmp((*pp)->name, name) < 0)
        pp = &(*pp)->next;
    r->next = *pp;
    *pp = r;
    rule_parse(ev, r);
    return r;
}

void events_rule_restore(const char *key, const char *doc, void *arg)
{
    events *ev = arg;
    json_t *d = json_loads(doc, 0, NULL);
    const char *bus = json_string_value(json_object_get(d, "EventBusName"));
    const char *name = json_string_value(json_object_get(d, "Name"));
    events_bus *b = bus ? events_bus_find(ev, bus) : NULL;
    if (!b || !name) {
        log_warn("stored rule without its bus skipped", "key=%s", key);
        json_decref(d);
        return;
    }
    events_rule *r = rule_add(ev, b, name, d);
    char err[512];
    if (events_bus_index_rule(b, r, err, sizeof err) != 0)
        log_warn("stored rule's pattern no longer compiles: not matched", "key=%s err='%s'", key,
                 err);
}

static void persist_rule(aws_call *call, events_rule *r, json_t *reply)
{
    char key[600];
    events_persist_doc(events_of(call), call, reply, "events.rule",
                       events_rule_doc_key(r, key, sizeof key), r->doc);
}

/* ---- input helpers ------------------------------------------------------------------ */

static events_bus *bus_of_call(aws_call *call)
{
    events *ev = events_of(call);
    char name[512];
    const char *given = events_str(call, "EventBusName");
    if (!events_bus_name_of(ev, given, name, sizeof name)) {
        aws_reply_error(call, AWS_ERR_EVENTS_RESOURCE_NOT_FOUND, "Event bus %s does not exist.",
                        given);
        return NULL;
    }
    events_bus *b = events_bus_find(ev, name);
    if (!b)
        aws_reply_error(call, AWS_ERR_EVENTS_RESOURCE_NOT_FOUND, "Event bus %s does not exist.",
                        name);
    return b;
}

/* The rule named by input member `member` on the call's bus; replies if absent. */
static events_rule *rule_of_call(aws_call *call, const char *member, events_bus **bus)
{
    events_bus *b = bus_of_call(call);
    if (!b)
        return NULL;
    const char *name = events_str(call, member);
    if (!name) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "1 validation error detected: Value null at '%c%s' failed to satisfy "
                        "constraint: Member must not be null",
                        member[0] + 32, member + 1);
        return NULL;
    }
    events_rule *r = events_rule_find(b, name);
    if (!r)
        aws_reply_error(call, AWS_ERR_EVENTS_RESOURCE_NOT_FOUND,
                        "Rule %s does not exist on EventBus %s.", name, b->name);
    if (bus)
        *bus = b;
    return r;
}

static json_t *rule_json(const events *ev, const events_rule *r, int describe)
{
    char arn[700];
    events_rule_arn(ev, r, arn, sizeof arn);
    json_t *o =
        json_pack("{s:s, s:s, s:s}", "Name", r->name, "Arn", arn, "EventBusName", r->bus->name);
    static const char *const fields[] = {
        "EventPattern", "ScheduleExpression", "State", "Description", "RoleArn", "ManagedBy"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        json_t *v = json_object_get(r->doc, fields[i]);
        if (v)
            json_object_set(o, fields[i], v);
    }
    if (describe)
        json_object_set_new(o, "CreatedBy", json_string(ev->account));
    return o;
}

/* ---- PutRule / DescribeRule / ListRules / DeleteRule / Enable / Disable ------------- */

void events_put_rule(aws_call *call)
{
    events *ev = events_of(call);
    const char *name = events_str(call, "Name");
    if (!name) {
        events_reply_missing(call, "name");
        return;
    }
    if (!events_valid_name(name, 64)) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "1 validation error detected: Value '%s' at 'name' failed to satisfy "
                        "constraint: Member must satisfy regular expression pattern: "
                        "[\\.\\-_A-Za-z0-9]+ and have length between 1 and 64",
                        name);
        return;
    }
    events_bus *b = bus_of_call(call);
    if (!b)
        return;
    const char *pattern = events_str(call, "EventPattern");
    const char *sched = events_str(call, "ScheduleExpression");
    if (!pattern && !sched) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "Parameter(s) EventPattern or ScheduleExpression must be specified.");
        return;
    }
    char err[512];
    if (pattern) {
        int rc = pattern_validate(PATTERN_EVENTBRIDGE, pattern, strlen(pattern), err, sizeof err);
        if (rc == PATTERN_ETOOLONG) {
            aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                            "1 validation error detected: Value at 'eventPattern' failed to "
                            "satisfy constraint: Member must have length less than or equal to "
                            "4096");
            return;
        }
        if (rc != 0) {
            aws_reply_error(call, AWS_ERR_EVENTS_INVALID_EVENT_PATTERN, "%s", err);
            return;
        }
    }
    if (sched) {
        events_schedule s;
        if (strlen(sched) > 256 ||
            events_schedule_parse(sched, strlen(sched), &s, err, sizeof err)) {
            aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                            "Parameter ScheduleExpression is not valid.");
            return;
        }
        if (strcmp(b->name, EVENTS_DEFAULT_BUS) != 0) {
            aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                            "ScheduleExpression is supported only on the default event bus.");
            return;
        }
    }
    const char *state = events_str(call, "State");
    if (state && strcmp(state, "ENABLED") != 0 && strcmp(state, "DISABLED") != 0 &&
        strcmp(state, "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS") != 0) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "1 validation error detected: Value '%s' at 'state' failed to satisfy "
                        "constraint: Member must satisfy enum value set: [ENABLED, DISABLED, "
                        "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]",
                        state);
        return;
    }
    const char *desc = events_str(call, "Description");
    if (desc && strlen(desc) > 512) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "1 validation error detected: Value at 'description' failed to satisfy "
                        "constraint: Member must have length less than or equal to 512");
        return;
    }
    events_rule *r = events_rule_find(b, name);
    json_t *tags = r ? json_incref(json_object_get(r->doc, "Tags")) : json_object();
    if (!tags)
        tags = json_object();
    if (!r && events_tags_from_list(call, json_object_get(call->input, "Tags"), tags) != 0) {
        json_decref(tags);
        return;
    }
    int64_t now = clock_now_ms();
    json_t *doc = json_pack("{s:s, s:s, s:s, s:o}", "Name", name, "EventBusName", b->name, "State",
                            state ? state : "ENABLED", "Tags", tags);
    if (pattern)
        json_object_set_new(doc, "EventPattern", json_string(pattern));
    if (sched)
        json_object_set_new(doc, "ScheduleExpression", json_string(sched));
    if (desc)
        json_object_set_new(doc, "Description", json_string(desc));
    const char *role = events_str(call, "RoleArn");
    if (role)
        json_object_set_new(doc, "RoleArn", json_string(role));
    json_object_set_new(doc, "Targets",
                        r ? json_incref(json_object_get(r->doc, "Targets")) : json_array());
    /* A schedule restarts from now when it changes or the rule is (re)enabled. */
    json_t *old_sched = r ? json_object_get(r->doc, "ScheduleExpression") : NULL;
    int keep_anchor =
        r && r->enabled && old_sched && sched && strcmp(json_string_value(old_sched), sched) == 0;
    json_object_set_new(doc, "Anchor",
                        keep_anchor ? json_incref(json_object_get(r->doc, "Anchor"))
                                    : json_integer(now));
    if (keep_anchor && json_object_get(r->doc, "LastFire"))
        json_object_set(doc, "LastFire", json_object_get(r->doc, "LastFire"));
    if (r) {
        json_decref(r->doc);
        r->doc = doc;
        rule_parse(ev, r);
    } else {
        r = rule_add(ev, b, name, doc);
    }
    if (events_bus_index_rule(b, r, err, sizeof err) != 0) {
        /* validated above: only a resource limit of the matcher can refuse it now */
        aws_reply_error(call, AWS_ERR_EVENTS_INVALID_EVENT_PATTERN, "%s", err);
        return;
    }
    events_scheduler_update(ev, r);
    char arn[700];
    events_rule_arn(ev, r, arn, sizeof arn);
    persist_rule(call, r, json_pack("{s:s}", "RuleArn", arn));
}

void events_describe_rule(aws_call *call)
{
    events_rule *r = rule_of_call(call, "Name", NULL);
    if (r)
        aws_reply(call, rule_json(events_of(call), r, 1));
}

void events_list_rules(aws_call *call)
{
    events *ev = events_of(call);
    events_bus *b = bus_of_call(call);
    events_pager pg;
    if (!b || events_pager_init(call, &pg) != 0)
        return;
    const char *prefix = events_str(call, "NamePrefix");
    for (events_rule *r = b->rules; r; r = r->next) {
        if (prefix && strncmp(r->name, prefix, strlen(prefix)) != 0)
            continue;
        int want = events_pager_want(&pg);
        if (want < 0)
            break;
        if (want)
            json_array_append_new(pg.items, rule_json(ev, r, 0));
    }
    events_pager_reply(call, &pg, "Rules");
}

void events_delete_rule(aws_call *call)
{
    events *ev = events_of(call);
    events_bus *b = bus_of_call(call);
    if (!b)
        return;
    const char *name = events_str(call, "Name");
    events_rule *r = name ? events_rule_find(b, name) : NULL;
    if (!r) {
        aws_reply(call, NULL); /* AWS: deleting a rule that does not exist succeeds */
        return;
    }
    if (r->ntargets > 0) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "Rule can't be deleted since it has targets.");
        return;
    }
    char key[600];
    events_rule_doc_key(r, key, sizeof key);
    events_bus_unindex_rule(b, r);
    for (events_rule **pp = &b->rules; *pp; pp = &(*pp)->next) {
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    }
    r->has_schedule = 0;
    events_scheduler_update(ev, NULL);
    store_doc d = {"events.rule", key, NULL};
    events_persist(ev, call, NULL, &d, 1);
    events_rule_free(r);
}

static void set_state(aws_call *call, const char *state)
{
    events *ev = events_of(call);
    events_bus *b;
    events_rule *r = rule_of_call(call, "Name", &b);
    if (!r)
        return;
    int was = r->enabled;
    json_object_set_new(r->doc, "State", json_string(state));
    rule_parse(ev, r);
    if (!was && r->enabled) {
        json_object_set_new(r->doc, "Anchor", json_integer(clock_now_ms()));
        json_object_del(r->doc, "LastFire");
    }
    char err[512];
    events_bus_index_rule(b, r, err, sizeof err);
    events_scheduler_update(ev, r);
    persist_rule(call, r, NULL);
}

void events_enable_rule(aws_call *call)
{
    set_state(call, "ENABLED");
}

void events_disable_rule(aws_call *call)
{
    set_state(call, "DISABLED");
}

/* ---- targets ------------------------------------------------------------------------ */

static json_t *failed_entry(const char *id, const char *code, const char *msg)
{
    return json_pack("{s:s, s:s, s:s}", "TargetId", id ? id : "", "ErrorCode", code, "ErrorMessage",
                     msg);
}

/* Request-level checks of the targets (AWS answers them with one ValidationException for
 * the whole request, not per entry); replies and returns -1. */
static int check_targets(aws_call *call, const json_t *targets)
{
    buf list = BUF_INIT;
    int count = 0;
    size_t i;
    json_t *t;
    json_array_foreach(targets, i, t)
    {
        const char *id = json_string_value(json_object_get(t, "Id"));
        const char *arn = json_string_value(json_object_get(t, "Arn"));
        if (!id || !events_valid_name(id, 64)) {
            buf_printf(&list,
                       "%sValue '%s' at 'targets.%zu.member.id' failed to satisfy constraint: "
                       "Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+",
                       count ? "; " : "", id ? id : "null", i + 1);
            count++;
        }
        if (!arn || !*arn || strlen(arn) > 1600) {
            buf_printf(&list,
                       "%sValue at 'targets.%zu.member.arn' failed to satisfy constraint: Member "
                       "must have length between 1 and 1600",
                       count ? "; " : "", i + 1);
            count++;
        }
        if (count)
            buf_puts(&list, "; ");
        size_t before = list.len;
        int n = events_input_model_errors(t, i + 1, &list);
        if (n < 0) {
            aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION, "%s", list.data ? list.data : "");
            buf_free(&list);
            return -1;
        }
        if (n == 0 && count)
            list.len = before - 2, list.data[list.len] = '\0';
        count += n;
    }
    if (count) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION, "%d validation error%s detected: %s",
                        count, count > 1 ? "s" : "", list.data);
        buf_free(&list);
        return -1;
    }
    buf_free(&list);
    char err[1024];
    json_array_foreach(targets, i, t)
    {
        if (events_input_validate_target(t, err, sizeof err) != 0) {
            aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION, "%s", err);
            return -1;
        }
        json_t *rp = json_object_get(t, "RetryPolicy");
        json_t *n = json_object_get(rp, "MaximumRetryAttempts");
        json_t *a = json_object_get(rp, "MaximumEventAgeInSeconds");
        if ((n &&
             (!json_is_integer(n) || json_integer_value(n) < 0 || json_integer_value(n) > 185)) ||
            (a && (!json_is_integer(a) || json_integer_value(a) < 60 ||
                   json_integer_value(a) > 86400))) {
            aws_reply_error(
                call, AWS_ERR_EVENTS_VALIDATION,
                "1 validation error detected: Value at 'targets.%zu.member.retryPolicy' "
                "failed to satisfy constraint: MaximumRetryAttempts must be between 0 "
                "and 185 and MaximumEventAgeInSeconds between 60 and 86400",
                i + 1);
            return -1;
        }
        json_t *dlc = json_object_get(t, "DeadLetterConfig");
        const char *dlq = json_string_value(json_object_get(dlc, "Arn"));
        if (dlc && (!dlq || strncmp(dlq, "arn:aws:sqs:", 12) != 0)) {
            aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                            "Parameter DeadLetterConfig.Arn is not valid for target %s: it must "
                            "be the ARN of an SQS queue.",
                            json_string_value(json_object_get(t, "Id")));
            return -1;
        }
    }
    return 0;
}

void events_put_targets(aws_call *call)
{
    events *ev = events_of(call);
    events_bus *b;
    events_rule *r = rule_of_call(call, "Rule", &b);
    if (!r)
        return;
    json_t *targets = json_object_get(call->input, "Targets");
    size_t n = json_array_size(targets);
    if (!json_is_array(targets) || n < 1 || n > 10) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "1 validation error detected: Value at 'targets' failed to satisfy "
                        "constraint: Member must have length between 1 and 10");
        return;
    }
    if (check_targets(call, targets) != 0)
        return;
    json_t *current = json_deep_copy(json_object_get(r->doc, "Targets"));
    json_t *failed = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *t = json_array_get(targets, i);
        const char *id = json_string_value(json_object_get(t, "Id"));
        const char *arn = json_string_value(json_object_get(t, "Arn"));
        const events_target_type *type = events_target_type_of(ev, arn);
        char code[64], msg[512];
        if (!type) {
            json_array_append_new(failed, failed_entry(id, "ValidationException",
                                                       "Sluice does not deliver to this kind of "
                                                       "target (supported: SQS queues, SNS topics, "
                                                       "event buses, API destinations)."));
            continue;
        }
        if (type->validate && type->validate(ev, t, code, sizeof code, msg, sizeof msg) != 0) {
            json_array_append_new(failed, failed_entry(id, code, msg));
            continue;
        }
        size_t j;
        json_t *old;
        int replaced = 0;
        json_array_foreach(current, j, old)
        {
            if (strcmp(json_string_value(json_object_get(old, "Id")), id) == 0) {
                json_array_set(current, j, t);
                replaced = 1;
                break;
            }
        }
        if (!replaced) {
            if (json_array_size(current) >= EVENTS_MAX_TARGETS) {
                json_decref(current);
                json_decref(failed);
                aws_reply_error(call, AWS_ERR_LIMIT_EXCEEDED_EXCEPTION,
                                "The requested resource exceeds the maximum number allowed.");
                return;
            }
            json_array_append(current, t);
        }
    }
    json_object_set_new(r->doc, "Targets", current);
    rule_parse(ev, r);
    json_t *reply = json_pack("{s:i, s:o}", "FailedEntryCount", (int)json_array_size(failed),
                              "FailedEntries", failed);
    persist_rule(call, r, reply);
}

void events_remove_targets(aws_call *call)
{
    events *ev = events_of(call);
    events_rule *r = rule_of_call(call, "Rule", NULL);
    if (!r)
        return;
    json_t *ids = json_object_get(call->input, "Ids");
    size_t n = json_array_size(ids);
    if (!json_is_array(ids) || n < 1 || n > 100) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "1 validation error detected: Value at 'ids' failed to satisfy "
                        "constraint: Member must have length between 1 and 100");
        return;
    }
    json_t *current = json_object_get(r->doc, "Targets");
    json_t *kept = json_array();
    size_t j;
    json_t *t;
    json_array_foreach(current, j, t)
    {
        const char *id = json_string_value(json_object_get(t, "Id"));
        int removed = 0;
        for (size_t i = 0; i < n; i++)
            if (strcmp(json_string_value(json_array_get(ids, i)) ?: "", id) == 0)
                removed = 1;
        if (!removed)
            json_array_append(kept, t);
    }
    json_object_set_new(r->doc, "Targets", kept);
    rule_parse(ev, r);
    persist_rule(call, r, json_pack("{s:i, s:[]}", "FailedEntryCount", 0, "FailedEntries"));
}

void events_list_targets_by_rule(aws_call *call)
{
    events_rule *r = rule_of_call(call, "Rule", NULL);
    events_pager pg;
    if (!r || events_pager_init(call, &pg) != 0)
        return;
    json_t *all = json_object_get(r->doc, "Targets");
    for (size_t i = 0; i < json_array_size(all); i++) {
        int want = events_pager_want(&pg);
        if (want < 0)
            break;
        if (want)
            json_array_append(pg.items, json_array_get(all, i));
    }
    events_pager_reply(call, &pg, "Targets");
}

void events_list_rule_names_by_target(aws_call *call)
{
    events_bus *b = bus_of_call(call);
    if (!b)
        return;
    const char *arn = events_str(call, "TargetArn");
    if (!arn) {
        events_reply_missing(call, "targetArn");
        return;
    }
    events_pager pg;
    if (events_pager_init(call, &pg) != 0)
        return;
    for (events_rule *r = b->rules; r; r = r->next) {
        size_t i = 0;
        while (i < r->ntargets && !(r->targets[i].arn && strcmp(r->targets[i].arn, arn) == 0))
            i++;
        if (i == r->ntargets)
            continue;
        int want = events_pager_want(&pg);
        if (want < 0)
            break;
        if (want)
            json_array_append_new(pg.items, json_string(r->name));
    }
    events_pager_reply(call, &pg, "RuleNames");
}
