/* State machine versions and aliases: PublishStateMachineVersion (and publish on create /
 * update), ListStateMachineVersions, DeleteStateMachineVersion, Create/Describe/Update/
 * Delete/ListStateMachineAliases, and the resolution of a qualified state machine ARN
 * (NAME:VERSION or NAME:ALIAS) for StartExecution and DescribeStateMachine.
 *
 * Both live in the machine's document: "versions" maps a version number to what it froze
 * (definition, roleArn, description, revisionId, creationDate), "lastVersion" is the last
 * number given (never reused), "aliases" maps an alias name to its description and
 * routingConfiguration ([{stateMachineVersionArn, weight}], one or two versions whose weights
 * add up to 100; a StartExecution on the alias picks one by weight). */
#include "services/stepfunctions/sfn_run.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "common/ids.h"
#include "services/service_docs.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_VERSIONS 1000
#define LIST_MAX     1000

/* ---- ARNs ----------------------------------------------------------------------------- */

/* Splits a state machine ARN into its base (unqualified) ARN and its qualifier ("" if
 * none). -1 if arn is not a state machine ARN. */
static int split_arn(const char *arn, char *base, size_t cap, char *qualifier, size_t qcap)
{
    if (!arn || strncmp(arn, "arn:aws:states:", 15) != 0 || !strstr(arn, ":stateMachine:"))
        return -1;
    const char *name = strstr(arn, ":stateMachine:") + strlen(":stateMachine:");
    const char *colon = strchr(name, ':');
    size_t n = colon ? (size_t)(colon - arn) : strlen(arn);
    snprintf(base, cap, "%.*s", (int)n, arn);
    snprintf(qualifier, qcap, "%s", colon ? colon + 1 : "");
    return 0;
}

static bool is_number(const char *q)
{
    if (!*q || strlen(q) > 9)
        return false;
    for (const char *c = q; *c; c++)
        if (!isdigit((unsigned char)*c))
            return false;
    return true;
}

static json_t *versions_of(json_t *m)
{
    json_t *v = json_object_get(m, "versions");
    if (!v) {
        v = json_object();
        json_object_set_new(m, "versions", v);
    }
    return v;
}

static json_t *aliases_of(json_t *m)
{
    json_t *a = json_object_get(m, "aliases");
    if (!a) {
        a = json_object();
        json_object_set_new(m, "aliases", a);
    }
    return a;
}

/* What a version runs: the machine's document with the version's frozen fields. */
static json_t *version_view(const json_t *m, const char *base, const char *number, const json_t *v)
{
    json_t *view = json_deep_copy(m);
    json_object_del(view, "versions");
    json_object_del(view, "aliases");
    json_object_update(view, (json_t *)v);
    char arn[900];
    snprintf(arn, sizeof arn, "%s:%s", base, number);
    json_object_set_new(view, "versionArn", json_string(arn));
    json_object_set_new(view, "stateMachineArn", json_string(base));
    return view;
}

json_t *sfn_machine_target_or_reply(aws_call *call, const char *arn, bool route)
{
    sfn *s = sfn_of(call);
    char base[600], q[200];
    if (!sfn_arn_ok(arn) || split_arn(arn, base, sizeof base, q, sizeof q) != 0) {
        aws_reply_error(call, AWS_ERR_SFN_INVALID_ARN, "Invalid Arn: 'Invalid ARN prefix: %s'",
                        arn ? arn : "");
        return NULL;
    }
    json_t *m = json_object_get(s->machines, base);
    if (m && !q[0])
        return json_incref(m);
    json_t *versions = json_object_get(m, "versions");
    if (m && is_number(q) && json_object_get(versions, q))
        return version_view(m, base, q, json_object_get(versions, q));
    json_t *alias = m && !is_number(q) ? json_object_get(json_object_get(m, "aliases"), q) : NULL;
    if (alias) {
        json_t *routes = json_object_get(alias, "routingConfiguration");
        size_t pick = 0;
        if (route && json_array_size(routes) == 2) {
            json_int_t w0 =
                json_integer_value(json_object_get(json_array_get(routes, 0), "weight"));
            pick = (json_int_t)(ids_random64() % 100) < w0 ? 0 : 1;
        }
        char vbase[600], number[200];
        split_arn(json_string_value(
                      json_object_get(json_array_get(routes, pick), "stateMachineVersionArn")),
                  vbase, sizeof vbase, number, sizeof number);
        json_t *v = json_object_get(versions, number);
        if (v) {
            json_t *view = version_view(m, base, number, v);
            json_object_set_new(view, "aliasArn", json_string(arn));
            return view;
        }
    }
    aws_reply_error(
        call, q[0] ? AWS_ERR_SFN_RESOURCE_NOT_FOUND : AWS_ERR_SFN_STATE_MACHINE_DOES_NOT_EXIST,
        q[0] ? "Resource not found: '%s'" : "State Machine Does Not Exist: '%s'", arn);
    return NULL;
}

/* ---- versions ------------------------------------------------------------------------- */

const char *sfn_publish(json_t *m, const char *description, char *arn_out, size_t cap,
                        int64_t *created)
{
    const char *base = sfn_doc_str(m, "stateMachineArn");
    json_t *versions = versions_of(m);
    json_int_t last = json_integer_value(json_object_get(m, "lastVersion"));
    char number[24];
    snprintf(number, sizeof number, "%lld", (long long)last);
    json_t *prev = last ? json_object_get(versions, number) : NULL;
    if (prev && strcmp(sfn_doc_str(prev, "definition"), sfn_doc_str(m, "definition")) == 0 &&
        strcmp(sfn_doc_str(prev, "roleArn"), sfn_doc_str(m, "roleArn")) == 0) {
        snprintf(arn_out, cap, "%s:%s", base, number); /* nothing changed: the last version */
        *created = sfn_doc_int(prev, "creationDate");
        return arn_out;
    }
    if (json_object_size(versions) >= MAX_VERSIONS)
        return NULL;
    snprintf(number, sizeof number, "%lld", (long long)(last + 1));
    *created = clock_now_ms();
    json_t *v = json_pack("{s:O,s:O,s:O,s:I}", "definition", json_object_get(m, "definition"),
                          "roleArn", json_object_get(m, "roleArn"), "revisionId",
                          json_object_get(m, "revisionId"), "creationDate", (json_int_t)*created);
    if (description)
        json_object_set_new(v, "description", json_string(description));
    json_object_set_new(versions, number, v);
    json_object_set_new(m, "lastVersion", json_integer(last + 1));
    snprintf(arn_out, cap, "%s:%s", base, number);
    return arn_out;
}

static void persist(aws_call *call, json_t *reply, json_t *m)
{
    service_persist_doc(sfn_of(call)->store, call, reply, AWS_ERR_INTERNAL_ERROR, SFN_NS_MACHINE,
                        sfn_doc_str(m, "stateMachineArn"), m);
}

/* The machine of an unqualified ARN member, or NULL (replied). */
static json_t *machine_of(aws_call *call, const char *member)
{
    const char *arn = sfn_str(call, member);
    char base[600], q[200];
    if (!sfn_arn_ok(arn) || split_arn(arn, base, sizeof base, q, sizeof q) != 0 || q[0]) {
        aws_reply_error(call, AWS_ERR_SFN_INVALID_ARN, "Invalid Arn: 'Invalid ARN prefix: %s'",
                        arn ? arn : "");
        return NULL;
    }
    json_t *m = json_object_get(sfn_of(call)->machines, base);
    if (!m)
        aws_reply_error(call, AWS_ERR_SFN_STATE_MACHINE_DOES_NOT_EXIST,
                        "State Machine Does Not Exist: '%s'", arn);
    return m;
}

void sfn_publish_version(aws_call *call)
{
    json_t *m = machine_of(call, "stateMachineArn");
    if (!m)
        return;
    const char *rev = sfn_str(call, "revisionId");
    if (rev && strcmp(rev, sfn_doc_str(m, "revisionId")) != 0) {
        aws_reply_error(call, AWS_ERR_SFN_CONFLICT,
                        "Failed to publish the State Machine version for revision %s. The "
                        "current State Machine revision is %s.",
                        rev, sfn_doc_str(m, "revisionId"));
        return;
    }
    char arn[900];
    int64_t created;
    if (!sfn_publish(m, sfn_str(call, "description"), arn, sizeof arn, &created)) {
        aws_reply_error(call, AWS_ERR_SFN_SERVICE_QUOTA_EXCEEDED,
                        "The state machine has %d versions: delete some first", MAX_VERSIONS);
        return;
    }
    persist(call,
            json_pack("{s:o,s:s}", "creationDate", sfn_time_json(created), "stateMachineVersionArn",
                      arn),
            m);
}

static int by_number_desc(const void *a, const void *b)
{
    long x = atol(*(const char *const *)a), y = atol(*(const char *const *)b);
    return (x < y) - (x > y);
}

void sfn_list_versions(aws_call *call)
{
    json_t *m = machine_of(call, "stateMachineArn");
    if (!m)
        return;
    json_t *versions = json_object_get(m, "versions");
    size_t n = json_object_size(versions), i = 0;
    const char **keys = xcalloc(n ? n : 1, sizeof *keys);
    const char *k;
    json_t *v;
    json_object_foreach(versions, k, v) keys[i++] = k;
    qsort(keys, n, sizeof *keys, by_number_desc);
    const char *token = sfn_str(call, "nextToken");
    long start = token ? atol(token) : 0;
    json_int_t max = json_integer_value(json_object_get(call->input, "maxResults"));
    if (max <= 0 || max > LIST_MAX)
        max = 100;
    json_t *list = json_array();
    for (i = start > 0 ? (size_t)start : 0; i < n && (json_int_t)json_array_size(list) < max; i++)
        json_array_append_new(
            list, json_pack("{s:s++,s:o}", "stateMachineVersionArn",
                            sfn_doc_str(m, "stateMachineArn"), ":", keys[i], "creationDate",
                            sfn_time_json(
                                sfn_doc_int(json_object_get(versions, keys[i]), "creationDate"))));
    json_t *out = json_pack("{s:o}", "stateMachineVersions", list);
    if (i < n)
        json_object_set_new(out, "nextToken", json_sprintf("%zu", i));
    xfree(keys);
    aws_reply(call, out);
}

/* The aliases of m that route to version ARN varn, as "[a, b]" in out; 0 if none. */
static size_t aliases_using(json_t *m, const char *varn, buf *out)
{
    size_t n = 0;
    const char *name;
    json_t *alias;
    json_object_foreach(json_object_get(m, "aliases"), name, alias)
    {
        size_t i;
        json_t *r;
        json_array_foreach(json_object_get(alias, "routingConfiguration"), i, r)
        {
            if (strcmp(sfn_doc_str(r, "stateMachineVersionArn"), varn) == 0) {
                buf_printf(out, "%s%s", n++ ? ", " : "", name);
                break;
            }
        }
    }
    return n;
}

void sfn_delete_version(aws_call *call)
{
    sfn *s = sfn_of(call);
    const char *arn = sfn_str(call, "stateMachineVersionArn");
    char base[600], q[200];
    if (split_arn(arn, base, sizeof base, q, sizeof q) != 0 || !is_number(q)) {
        aws_reply_error(call, AWS_ERR_SFN_INVALID_ARN, "Invalid Arn: 'Invalid ARN prefix: %s'",
                        arn ? arn : "");
        return;
    }
    json_t *m = json_object_get(s->machines, base);
    if (!m || !json_object_get(json_object_get(m, "versions"), q)) {
        aws_reply(call, NULL); /* deleting what is not there succeeds, as AWS */
        return;
    }
    buf users = BUF_INIT;
    if (aliases_using(m, arn, &users)) {
        aws_reply_error(call, AWS_ERR_SFN_CONFLICT,
                        "Version to be deleted must not be referenced by an alias. Current list "
                        "of aliases referencing this version: [%s]",
                        users.data);
        buf_free(&users);
        return;
    }
    json_object_del(json_object_get(m, "versions"), q);
    persist(call, NULL, m);
}

/* ---- aliases -------------------------------------------------------------------------- */

static bool valid_alias_name(const char *n)
{
    size_t len = n ? strlen(n) : 0;
    if (!len || len > 80 || is_number(n))
        return false;
    for (const char *c = n; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_')
            return false;
    return true;
}

/* Checks a routingConfiguration for machine m: 1 or 2 distinct existing versions, weights
 * 0..100 adding up to 100. -1 (replied) if not. */
static int check_routing(aws_call *call, json_t *m, const json_t *routes)
{
    size_t n = json_array_size(routes);
    if (n < 1 || n > 2) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "1 validation error detected: Value at 'routingConfiguration' failed to "
                        "satisfy constraint: Member must have length between 1 and 2");
        return -1;
    }
    json_int_t total = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *r = json_array_get(routes, i);
        const char *varn = sfn_doc_str(r, "stateMachineVersionArn");
        char base[600], q[200];
        json_int_t w = json_integer_value(json_object_get(r, "weight"));
        if (!varn || split_arn(varn, base, sizeof base, q, sizeof q) != 0 || !is_number(q) ||
            strcmp(base, sfn_doc_str(m, "stateMachineArn")) != 0) {
            aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                            "Routing configuration must contain state machine version ARNs "
                            "of this state machine: %s",
                            varn ? varn : "");
            return -1;
        }
        if (!json_object_get(json_object_get(m, "versions"), q)) {
            aws_reply_error(call, AWS_ERR_SFN_RESOURCE_NOT_FOUND, "Resource not found: '%s'", varn);
            return -1;
        }
        if (w < 0 || w > 100) {
            aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                            "Routing configuration weights must be between 0 and 100");
            return -1;
        }
        total += w;
    }
    if (n == 2 && strcmp(sfn_doc_str(json_array_get(routes, 0), "stateMachineVersionArn"),
                         sfn_doc_str(json_array_get(routes, 1), "stateMachineVersionArn")) == 0) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "Routing configuration must contain distinct state machine versions");
        return -1;
    }
    if (total != 100) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "Sum of routing configuration weights must be equal to 100");
        return -1;
    }
    return 0;
}

/* The alias an alias ARN member names: its machine and name, or NULL (replied). */
static json_t *alias_of(aws_call *call, json_t **machine, char *name, size_t cap)
{
    const char *arn = sfn_str(call, "stateMachineAliasArn");
    char base[600], q[200];
    if (split_arn(arn, base, sizeof base, q, sizeof q) != 0 || !q[0] || is_number(q)) {
        aws_reply_error(call, AWS_ERR_SFN_INVALID_ARN, "Invalid Arn: 'Invalid ARN prefix: %s'",
                        arn ? arn : "");
        return NULL;
    }
    *machine = json_object_get(sfn_of(call)->machines, base);
    json_t *a = json_object_get(json_object_get(*machine, "aliases"), q);
    if (!a)
        aws_reply_error(call, AWS_ERR_SFN_RESOURCE_NOT_FOUND, "Resource not found: '%s'", arn);
    snprintf(name, cap, "%s", q);
    return a;
}

void sfn_create_alias(aws_call *call)
{
    const char *name = sfn_str(call, "name");
    json_t *routes = json_object_get(call->input, "routingConfiguration");
    if (!valid_alias_name(name)) {
        aws_reply_error(call, AWS_ERR_SFN_INVALID_NAME, "Invalid Name: '%s'", name ? name : "");
        return;
    }
    /* the machine is the one of the routing's versions */
    const char *varn = sfn_doc_str(json_array_get(routes, 0), "stateMachineVersionArn");
    char base[600], q[200];
    if (split_arn(varn, base, sizeof base, q, sizeof q) != 0) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "Routing configuration must contain state machine version ARNs");
        return;
    }
    json_t *m = json_object_get(sfn_of(call)->machines, base);
    if (!m) {
        aws_reply_error(call, AWS_ERR_SFN_RESOURCE_NOT_FOUND, "Resource not found: '%s'", varn);
        return;
    }
    if (check_routing(call, m, routes) != 0)
        return;
    char arn[900];
    snprintf(arn, sizeof arn, "%s:%s", base, name);
    json_t *aliases = aliases_of(m);
    json_t *old = json_object_get(aliases, name);
    const char *description = sfn_str(call, "description");
    if (old) { /* the same request again is the same alias, as AWS */
        if (json_equal(json_object_get(old, "routingConfiguration"), routes) &&
            strcmp(sfn_doc_str(old, "description") ? sfn_doc_str(old, "description") : "",
                   description ? description : "") == 0) {
            aws_reply(call, json_pack("{s:s,s:o}", "stateMachineAliasArn", arn, "creationDate",
                                      sfn_time_json(sfn_doc_int(old, "creationDate"))));
            return;
        }
        aws_reply_error(call, AWS_ERR_SFN_CONFLICT,
                        "Failed to create alias because an alias with the same name and a "
                        "different routing configuration already exists.");
        return;
    }
    int64_t now = clock_now_ms();
    json_t *a = json_pack("{s:O,s:I,s:I}", "routingConfiguration", routes, "creationDate",
                          (json_int_t)now, "updateDate", (json_int_t)now);
    if (description)
        json_object_set_new(a, "description", json_string(description));
    json_object_set_new(aliases, name, a);
    persist(call,
            json_pack("{s:s,s:o}", "stateMachineAliasArn", arn, "creationDate", sfn_time_json(now)),
            m);
}

void sfn_describe_alias(aws_call *call)
{
    json_t *m;
    char name[200];
    json_t *a = alias_of(call, &m, name, sizeof name);
    if (!a)
        return;
    json_t *out = json_pack("{s:s,s:s,s:O,s:o,s:o}", "stateMachineAliasArn",
                            sfn_str(call, "stateMachineAliasArn"), "name", name,
                            "routingConfiguration", json_object_get(a, "routingConfiguration"),
                            "creationDate", sfn_time_json(sfn_doc_int(a, "creationDate")),
                            "updateDate", sfn_time_json(sfn_doc_int(a, "updateDate")));
    if (json_object_get(a, "description"))
        json_object_set(out, "description", json_object_get(a, "description"));
    aws_reply(call, out);
}

void sfn_update_alias(aws_call *call)
{
    json_t *m;
    char name[200];
    json_t *a = alias_of(call, &m, name, sizeof name);
    if (!a)
        return;
    json_t *routes = json_object_get(call->input, "routingConfiguration");
    const char *description = sfn_str(call, "description");
    if (!routes && !description) {
        aws_reply_error(call, AWS_ERR_SFN_MISSING_REQUIRED_PARAMETER,
                        "Either the description or the RoutingConfiguration must be specified");
        return;
    }
    if (routes && check_routing(call, m, routes) != 0)
        return;
    if (routes)
        json_object_set(a, "routingConfiguration", routes);
    if (description)
        json_object_set_new(a, "description", json_string(description));
    int64_t now = clock_now_ms();
    json_object_set_new(a, "updateDate", json_integer(now));
    persist(call, json_pack("{s:o}", "updateDate", sfn_time_json(now)), m);
}

void sfn_delete_alias(aws_call *call)
{
    json_t *m;
    char name[200];
    json_t *a = alias_of(call, &m, name, sizeof name);
    if (!a)
        return;
    json_object_del(json_object_get(m, "aliases"), name);
    persist(call, NULL, m);
}

void sfn_list_aliases(aws_call *call)
{
    json_t *m = machine_of(call, "stateMachineArn");
    if (!m)
        return;
    json_t *list = json_array();
    const char *name;
    json_t *a;
    json_object_foreach(json_object_get(m, "aliases"), name, a) json_array_append_new(
        list, json_pack("{s:s++,s:o}", "stateMachineAliasArn", sfn_doc_str(m, "stateMachineArn"),
                        ":", name, "creationDate", sfn_time_json(sfn_doc_int(a, "creationDate"))));
    aws_reply(call, json_pack("{s:o}", "stateMachineAliases", list));
}
