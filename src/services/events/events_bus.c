/* Event buses: the `default` bus and custom ones, their matchers, and resource tags. */
#include "services/events/events_internal.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"

#include <stdio.h>
#include <string.h>

/* ---- the table ---------------------------------------------------------------------- */

events_bus *events_bus_find(events *ev, const char *name)
{
    for (events_bus *b = ev->buses; b; b = b->next)
        if (strcmp(b->name, name) == 0)
            return b;
    return NULL;
}

events_bus *events_bus_add(events *ev, const char *name, json_t *doc)
{
    events_bus *b = xcalloc(1, sizeof *b);
    b->name = xstrdup(name);
    b->doc = doc;
    pattern_set_create(&b->patterns, PATTERN_EVENTBRIDGE);
    events_bus **pp = &ev->buses;
    while (*pp && strcmp((*pp)->name, name) < 0)
        pp = &(*pp)->next;
    b->next = *pp;
    *pp = b;
    return b;
}

static void bus_free(events_bus *b)
{
    while (b->rules) {
        events_rule *r = b->rules;
        b->rules = r->next;
        events_rule_free(r);
    }
    pattern_set_destroy(b->patterns);
    json_decref(b->doc);
    xfree(b->name);
    xfree(b);
}

void events_bus_free_all(events *ev)
{
    while (ev->buses) {
        events_bus *b = ev->buses;
        ev->buses = b->next;
        bus_free(b);
    }
}

int events_bus_index_rule(events_bus *b, events_rule *r, char *err, size_t errlen)
{
    pattern_set_remove(b->patterns, (uint64_t)(uintptr_t)r);
    if (!r->enabled || !r->has_pattern)
        return 0;
    const char *p = json_string_value(json_object_get(r->doc, "EventPattern"));
    return pattern_set_add(b->patterns, (uint64_t)(uintptr_t)r, p, strlen(p), err, errlen);
}

void events_bus_unindex_rule(events_bus *b, events_rule *r)
{
    pattern_set_remove(b->patterns, (uint64_t)(uintptr_t)r);
}

/* ---- handlers ----------------------------------------------------------------------- */

static json_t *bus_json(const events *ev, const events_bus *b, int full)
{
    char arn[512];
    events_bus_arn(ev, b->name, arn, sizeof arn);
    json_t *o = json_pack("{s:s, s:s}", "Name", b->name, "Arn", arn);
    static const char *const fields[] = {"Description", "KmsKeyIdentifier", "DeadLetterConfig",
                                         "Policy"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (!full && i > 0 && i < 3)
            continue;
        json_t *v = json_object_get(b->doc, fields[i]);
        if (v)
            json_object_set(o, fields[i], v);
    }
    json_t *c = json_object_get(b->doc, "CreationTime");
    json_t *m = json_object_get(b->doc, "LastModifiedTime");
    if (c)
        json_object_set_new(o, "CreationTime", json_real(json_integer_value(c) / 1000.0));
    if (m)
        json_object_set_new(o, "LastModifiedTime", json_real(json_integer_value(m) / 1000.0));
    return o;
}

static void persist_bus(events *ev, aws_call *call, const events_bus *b, json_t *reply)
{
    events_persist_doc(ev, call, reply, "events.bus", b->name, b->doc);
}

static int check_dead_letter_config(aws_call *call, const json_t *dlc)
{
    if (!dlc)
        return 0;
    const char *arn = json_string_value(json_object_get(dlc, "Arn"));
    if (!json_is_object(dlc) || (json_object_get(dlc, "Arn") && !arn) ||
        (arn && strncmp(arn, "arn:aws:sqs:", 12) != 0)) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "Parameter DeadLetterConfig.Arn is not valid. Reason: it must be the ARN "
                        "of an SQS queue.");
        return -1;
    }
    return 0;
}

void events_create_event_bus(aws_call *call)
{
    events *ev = events_of(call);
    const char *name = events_str(call, "Name");
    if (!name) {
        events_reply_missing(call, "name");
        return;
    }
    if (events_str(call, "EventSourceName")) {
        aws_reply_error(call, AWS_ERR_EVENTS_RESOURCE_NOT_FOUND, "Event source %s does not exist.",
                        events_str(call, "EventSourceName"));
        return;
    }
    if (!events_valid_name(name, 256)) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "Event bus name %s is not valid: it must be 1 to 256 characters from "
                        "[.-_A-Za-z0-9].",
                        name);
        return;
    }
    if (events_bus_find(ev, name)) {
        aws_reply_error(call, AWS_ERR_EVENTS_RESOURCE_ALREADY_EXISTS,
                        "Event bus %s already exists.", name);
        return;
    }
    const char *desc = events_str(call, "Description");
    if (desc && strlen(desc) > 512) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "1 validation error detected: Value at 'description' failed to satisfy "
                        "constraint: Member must have length less than or equal to 512");
        return;
    }
    json_t *dlc = json_object_get(call->input, "DeadLetterConfig");
    if (check_dead_letter_config(call, dlc) != 0)
        return;
    json_t *tags = json_object();
    if (events_tags_from_list(call, json_object_get(call->input, "Tags"), tags) != 0) {
        json_decref(tags);
        return;
    }
    int64_t now = clock_now_ms();
    json_t *doc = json_pack("{s:s, s:I, s:I, s:o}", "Name", name, "CreationTime", (json_int_t)now,
                            "LastModifiedTime", (json_int_t)now, "Tags", tags);
    if (desc)
        json_object_set_new(doc, "Description", json_string(desc));
    if (dlc)
        json_object_set(doc, "DeadLetterConfig", dlc);
    const char *kms = events_str(call, "KmsKeyIdentifier");
    if (kms)
        json_object_set_new(doc, "KmsKeyIdentifier", json_string(kms));
    events_bus *b = events_bus_add(ev, name, doc);
    char arn[512];
    events_bus_arn(ev, name, arn, sizeof arn);
    json_t *reply = json_pack("{s:s}", "EventBusArn", arn);
    if (desc)
        json_object_set_new(reply, "Description", json_string(desc));
    if (dlc)
        json_object_set(reply, "DeadLetterConfig", dlc);
    if (kms)
        json_object_set_new(reply, "KmsKeyIdentifier", json_string(kms));
    persist_bus(ev, call, b, reply);
}

static events_bus *bus_from_input(aws_call *call, const char *member, int reply_missing)
{
    events *ev = events_of(call);
    char name[512];
    if (!events_bus_name_of(ev, events_str(call, member), name, sizeof name)) {
        aws_reply_error(call, AWS_ERR_EVENTS_RESOURCE_NOT_FOUND, "Event bus %s does not exist.",
                        events_str(call, member));
        return NULL;
    }
    events_bus *b = events_bus_find(ev, name);
    if (!b && reply_missing)
        aws_reply_error(call, AWS_ERR_EVENTS_RESOURCE_NOT_FOUND, "Event bus %s does not exist.",
                        name);
    return b;
}

void events_describe_event_bus(aws_call *call)
{
    events_bus *b = bus_from_input(call, "Name", 1);
    if (b)
        aws_reply(call, bus_json(events_of(call), b, 1));
}

void events_update_event_bus(aws_call *call)
{
    events *ev = events_of(call);
    events_bus *b = bus_from_input(call, "Name", 1);
    if (!b)
        return;
    json_t *dlc = json_object_get(call->input, "DeadLetterConfig");
    if (check_dead_letter_config(call, dlc) != 0)
        return;
    const char *desc = events_str(call, "Description");
    if (desc)
        json_object_set_new(b->doc, "Description", json_string(desc));
    if (dlc)
        json_object_set(b->doc, "DeadLetterConfig", dlc);
    const char *kms = events_str(call, "KmsKeyIdentifier");
    if (kms)
        json_object_set_new(b->doc, "KmsKeyIdentifier", json_string(kms));
    json_object_set_new(b->doc, "LastModifiedTime", json_integer(clock_now_ms()));
    json_t *reply = bus_json(ev, b, 1);
    json_object_del(reply, "CreationTime");
    json_object_del(reply, "LastModifiedTime");
    json_object_del(reply, "Policy");
    persist_bus(ev, call, b, reply);
}

void events_delete_event_bus(aws_call *call)
{
    events *ev = events_of(call);
    const char *name = events_str(call, "Name");
    if (!name) {
        events_reply_missing(call, "name");
        return;
    }
    if (strcmp(name, EVENTS_DEFAULT_BUS) == 0) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION, "Cannot delete event bus default.");
        return;
    }
    events_bus *b = events_bus_find(ev, name);
    if (!b) { /* deleting a bus that does not exist succeeds, as on AWS */
        aws_reply(call, NULL);
        return;
    }
    /* Its rules go with it. */
    size_t n = 1;
    for (events_rule *r = b->rules; r; r = r->next)
        n++;
    store_doc *docs = xcalloc(n, sizeof *docs);
    char(*keys)[600] = xcalloc(n, sizeof *keys);
    size_t i = 0;
    docs[i++] = (store_doc){"events.bus", name, NULL};
    for (events_rule *r = b->rules; r; r = r->next, i++) {
        events_rule_doc_key(r, keys[i], sizeof keys[i]);
        docs[i] = (store_doc){"events.rule", keys[i], NULL};
    }
    for (events_bus **pp = &ev->buses; *pp; pp = &(*pp)->next) {
        if (*pp == b) {
            *pp = b->next;
            break;
        }
    }
    events_persist(ev, call, NULL, docs, n);
    xfree(docs);
    xfree(keys);
    for (events_rule *r = b->rules; r; r = r->next)
        r->has_schedule = 0;
    bus_free(b);
    events_scheduler_update(ev, NULL);
}

void events_list_event_buses(aws_call *call)
{
    events *ev = events_of(call);
    events_pager pg;
    if (events_pager_init(call, &pg) != 0)
        return;
    const char *prefix = events_str(call, "NamePrefix");
    for (events_bus *b = ev->buses; b; b = b->next) {
        if (prefix && strncmp(b->name, prefix, strlen(prefix)) != 0)
            continue;
        int want = events_pager_want(&pg);
        if (want < 0)
            break;
        if (want)
            json_array_append_new(pg.items, bus_json(ev, b, 0));
    }
    events_pager_reply(call, &pg, "EventBuses");
}

/* ---- tags (buses and rules) --------------------------------------------------------- */

/* The document holding the tags of the resource named by arn, and its key; NULL if none. */
static json_t *tagged(aws_call *call, events_bus **bus, events_rule **rule)
{
    events *ev = events_of(call);
    const char *arn = events_str(call, "ResourceARN");
    *bus = NULL;
    *rule = NULL;
    if (!arn) {
        events_reply_missing(call, "resourceARN");
        return NULL;
    }
    char prefix[256];
    snprintf(prefix, sizeof prefix, "arn:aws:events:%s:%s:", ev->region, ev->account);
    size_t n = strlen(prefix);
    if (strncmp(arn, prefix, n) == 0) {
        const char *rest = arn + n;
        if (strncmp(rest, "event-bus/", 10) == 0) {
            *bus = events_bus_find(ev, rest + 10);
            if (*bus)
                return (*bus)->doc;
        } else if (strncmp(rest, "rule/", 5) == 0) {
            rest += 5;
            const char *slash = strchr(rest, '/');
            char bname[300];
            const char *rname = rest;
            if (slash) {
                snprintf(bname, sizeof bname, "%.*s", (int)(slash - rest), rest);
                rname = slash + 1;
            } else {
                snprintf(bname, sizeof bname, "%s", EVENTS_DEFAULT_BUS);
            }
            events_bus *b = events_bus_find(ev, bname);
            *rule = b ? events_rule_find(b, rname) : NULL;
            if (*rule)
                return (*rule)->doc;
            aws_reply_error(call, AWS_ERR_EVENTS_RESOURCE_NOT_FOUND,
                            "Rule %s does not exist on EventBus %s.", rname, bname);
            return NULL;
        }
    }
    aws_reply_error(call, AWS_ERR_EVENTS_RESOURCE_NOT_FOUND, "Resource %s does not exist.", arn);
    return NULL;
}

static void persist_tagged(aws_call *call, events_bus *b, events_rule *r)
{
    events *ev = events_of(call);
    if (b) {
        persist_bus(ev, call, b, NULL);
        return;
    }
    char key[600];
    events_persist_doc(ev, call, NULL, "events.rule", events_rule_doc_key(r, key, sizeof key),
                       r->doc);
}

void events_tag_resource(aws_call *call)
{
    events_bus *b;
    events_rule *r;
    json_t *doc = tagged(call, &b, &r);
    if (!doc)
        return;
    json_t *tags = json_object_get(doc, "Tags");
    if (!tags) {
        tags = json_object();
        json_object_set_new(doc, "Tags", tags);
    }
    json_t *merged = json_deep_copy(tags);
    if (events_tags_from_list(call, json_object_get(call->input, "Tags"), merged) != 0) {
        json_decref(merged);
        return;
    }
    json_object_set_new(doc, "Tags", merged);
    persist_tagged(call, b, r);
}

void events_untag_resource(aws_call *call)
{
    events_bus *b;
    events_rule *r;
    json_t *doc = tagged(call, &b, &r);
    if (!doc)
        return;
    json_t *tags = json_object_get(doc, "Tags");
    json_t *keys = json_object_get(call->input, "TagKeys");
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k)
    {
        if (tags && json_is_string(k))
            json_object_del(tags, json_string_value(k));
    }
    persist_tagged(call, b, r);
}

void events_list_tags_for_resource(aws_call *call)
{
    events_bus *b;
    events_rule *r;
    json_t *doc = tagged(call, &b, &r);
    if (!doc)
        return;
    json_t *tags = json_object_get(doc, "Tags");
    json_t *empty = json_object();
    aws_reply(call, json_pack("{s:o}", "Tags", events_tags_to_list(tags ? tags : empty)));
    json_decref(empty);
}
