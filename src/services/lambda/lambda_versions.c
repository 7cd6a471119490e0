/* Versions and aliases: PublishVersion, ListVersionsByFunction, DeleteFunction of a version,
 * Create/Get/Update/Delete/ListAliases, and the resolution of a qualified name.
 *
 * Everything lives in the function's document (lambda_functions.c), so that a change is one
 * commit: "Versions" maps each published version's number to its configuration (a snapshot
 * of $LATEST's, with CodeHex: versions run the code they were published with, whose
 * directory stays), "LastVersion" is the last number given (never reused, as on Lambda),
 * and "Aliases" maps alias names to their AliasConfiguration. Each published version is
 * also a lambda_fn of its own (sharing its snapshot), so that workers run one version.
 *
 * An alias routes an invocation to its FunctionVersion, or, with a RoutingConfig, to its
 * one additional version with that version's weight (chosen per invocation). */
#include "services/lambda/lambda_internal.h"

#include "common/alloc.h"
#include "common/ids.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- names ---------------------------------------------------------------------------- */

void lambda_qualifier_of(const char *name_or_arn, char *out, size_t cap)
{
    out[0] = '\0';
    if (!name_or_arn)
        return;
    const char *p = strstr(name_or_arn, "function:");
    p = p ? p + strlen("function:") : name_or_arn;
    const char *colon = strchr(p, ':');
    if (colon)
        snprintf(out, cap, "%s", colon + 1);
}

static int is_version_number(const char *q)
{
    if (!q[0] || strlen(q) > 10)
        return 0;
    for (const char *c = q; *c; c++)
        if (!isdigit((unsigned char)*c))
            return 0;
    return 1;
}

static int valid_alias_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 128 || is_version_number(name))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)name[i]) && name[i] != '-' && name[i] != '_')
            return 0;
    return 1;
}

static void qualified_arn(const lambda *l, const lambda_fn *fn, const char *qualifier, char *out,
                          size_t cap)
{
    char arn[512];
    lambda_fn_arn(l, fn->name, arn, sizeof arn);
    snprintf(out, cap, "%s:%s", arn, qualifier);
}

static lambda_fn *version_find(lambda_fn *latest, const char *number)
{
    for (size_t i = 0; i < latest->nversions; i++)
        if (strcmp(latest->versions[i]->version, number) == 0)
            return latest->versions[i];
    return NULL;
}

static json_t *aliases_of(lambda_fn *latest)
{
    json_t *a = json_object_get(latest->doc, "Aliases");
    if (!a) {
        a = json_object();
        json_object_set_new(latest->doc, "Aliases", a);
    }
    return a;
}

/* The version a qualifier names; for an alias, route picks between its versions. */
static lambda_fn *resolve(lambda *l, const char *name_or_arn, const char *qualifier, int route)
{
    lambda_fn *fn = lambda_fn_find(l, name_or_arn);
    if (!fn)
        return NULL;
    char in_name[130];
    lambda_qualifier_of(name_or_arn, in_name, sizeof in_name);
    if (in_name[0] && qualifier && strcmp(in_name, qualifier) != 0)
        return NULL;
    const char *q = in_name[0] ? in_name : qualifier;
    if (!q || strcmp(q, "$LATEST") == 0)
        return fn;
    if (is_version_number(q))
        return version_find(fn, q);
    json_t *alias = json_object_get(json_object_get(fn->doc, "Aliases"), q);
    if (!alias)
        return NULL;
    const char *version = json_string_value(json_object_get(alias, "FunctionVersion"));
    json_t *weights =
        json_object_get(json_object_get(alias, "RoutingConfig"), "AdditionalVersionWeights");
    const char *extra;
    json_t *w;
    json_object_foreach(weights, extra, w)
    {
        double roll = (double)(ids_random64() >> 11) / (double)(1ull << 53);
        if (route && roll < json_number_value(w))
            version = extra;
    }
    if (!version || strcmp(version, "$LATEST") == 0)
        return fn;
    return version_find(fn, version);
}

lambda_fn *lambda_fn_target(lambda *l, const char *name_or_arn, const char *qualifier)
{
    return resolve(l, name_or_arn, qualifier, 1);
}

lambda_fn *lambda_fn_version(lambda *l, const char *name_or_arn, const char *qualifier)
{
    return resolve(l, name_or_arn, qualifier, 0);
}

/* ---- version objects ------------------------------------------------------------------ */

static lambda_fn *version_attach(lambda_fn *latest, const char *number, json_t *snapshot)
{
    lambda_fn *v = xcalloc(1, sizeof *v);
    v->name = xstrdup(latest->name);
    snprintf(v->version, sizeof v->version, "%s", number);
    v->doc = json_incref(snapshot);
    v->latest = latest;
    latest->versions = xrealloc(latest->versions, (latest->nversions + 1) * sizeof *v);
    latest->versions[latest->nversions++] = v;
    return v;
}

static int by_number(const void *a, const void *b)
{
    long x = atol((*(lambda_fn *const *)a)->version), y = atol((*(lambda_fn *const *)b)->version);
    return (x > y) - (x < y);
}

void lambda_versions_load(lambda *l, lambda_fn *fn)
{
    (void)l;
    const char *number;
    json_t *snapshot;
    json_object_foreach(json_object_get(fn->doc, "Versions"), number, snapshot)
        version_attach(fn, number, snapshot);
    if (fn->nversions > 1)
        qsort(fn->versions, fn->nversions, sizeof *fn->versions, by_number);
}

static void version_drop(lambda *l, lambda_fn *v)
{
    v->deleted = 1;
    v->latest = NULL;
    lambda_workers_retire(l, v);
    lambda_fn_release(l, v);
}

void lambda_versions_delete_all(lambda *l, lambda_fn *fn)
{
    for (size_t i = 0; i < fn->nversions; i++)
        version_drop(l, fn->versions[i]);
    fn->nversions = 0;
}

void lambda_versions_free(lambda_fn *fn)
{
    for (size_t i = 0; i < fn->nversions; i++) {
        json_decref(fn->versions[i]->doc);
        xfree(fn->versions[i]->name);
        xfree(fn->versions[i]);
    }
    xfree(fn->versions);
    fn->versions = NULL;
    fn->nversions = 0;
}

/* The configuration that makes a version differ from another: all but its identity. */
static json_t *comparable(const json_t *doc)
{
    json_t *c = json_deep_copy(doc);
    static const char *const identity[] = {
        "Version",     "FunctionArn", "LastModified",      "RevisionId",
        "Description", "Tags",        "Versions",          "LastVersion",
        "Aliases",     "Policies",    "EventInvokeConfig", "ReservedConcurrentExecutions"};
    for (size_t i = 0; i < sizeof identity / sizeof identity[0]; i++)
        json_object_del(c, identity[i]);
    return c;
}

static int same_as_latest(const lambda_fn *v, const lambda_fn *latest)
{
    json_t *a = comparable(v->doc), *b = comparable(latest->doc);
    int same = json_equal(a, b);
    json_decref(a);
    json_decref(b);
    return same;
}

lambda_fn *lambda_publish(lambda *l, lambda_fn *fn, const char *description)
{
    if (fn->nversions && same_as_latest(fn->versions[fn->nversions - 1], fn))
        return fn->versions[fn->nversions - 1];
    json_int_t n = json_integer_value(json_object_get(fn->doc, "LastVersion")) + 1;
    char number[24], arn[600];
    snprintf(number, sizeof number, "%lld", (long long)n);
    json_t *snapshot = lambda_fn_configuration(fn);
    json_object_set(snapshot, "CodeHex", json_object_get(fn->doc, "CodeHex"));
    json_object_set_new(snapshot, "Version", json_string(number));
    qualified_arn(l, fn, number, arn, sizeof arn);
    json_object_set_new(snapshot, "FunctionArn", json_string(arn));
    if (description)
        json_object_set_new(snapshot, "Description", json_string(description));
    lambda_doc_touch(snapshot);
    json_t *versions = json_object_get(fn->doc, "Versions");
    if (!versions) {
        versions = json_object();
        json_object_set_new(fn->doc, "Versions", versions);
    }
    json_object_set_new(versions, number, snapshot);
    json_object_set_new(fn->doc, "LastVersion", json_integer(n));
    return version_attach(fn, number, snapshot);
}

/* ---- versions ------------------------------------------------------------------------- */

void lambda_publish_version(aws_call *call)
{
    lambda *l = call->service->ctx;
    lambda_fn *fn = lambda_fn_of_call(call);
    if (!fn || !lambda_revision_matches(call, fn->doc, "GetFunction/GetAlias"))
        return;
    const char *sha = lambda_str(call, "CodeSha256");
    const char *have = json_string_value(json_object_get(fn->doc, "CodeSha256"));
    if (sha && have && strcmp(sha, have) != 0) {
        aws_reply_error(call, LAMBDA_ERR_INVALID,
                        "CodeSHA256 (%s) is different from current CodeSHA256 in $LATEST (%s). "
                        "Please try again with the CodeSHA256 in $LATEST.",
                        sha, have);
        return;
    }
    lambda_fn *v = lambda_publish(l, fn, lambda_str(call, "Description"));
    lambda_fn_persist(l, call, lambda_fn_configuration(v), fn);
}

void lambda_list_versions(aws_call *call)
{
    lambda_fn *fn = lambda_fn_of_call(call);
    json_int_t max = fn ? lambda_max_items(call) : -1;
    if (max < 0)
        return;
    const char *marker = lambda_str(call, "Marker");
    /* Position 0 is $LATEST, then the versions in order; the marker is the last one given. */
    size_t from = 0, total = fn->nversions + 1;
    if (marker && marker[0]) {
        from = total;
        if (strcmp(marker, "$LATEST") == 0)
            from = 1;
        for (size_t i = 0; i < fn->nversions; i++)
            if (strcmp(fn->versions[i]->version, marker) == 0)
                from = i + 2;
    }
    json_t *list = json_array();
    size_t i = from;
    for (; i < total && (json_int_t)json_array_size(list) < max; i++) {
        lambda_fn *v = i == 0 ? fn : fn->versions[i - 1];
        json_t *c = lambda_fn_configuration(v);
        if (i == 0) { /* $LATEST is listed by its qualified ARN */
            char arn[600];
            qualified_arn(call->service->ctx, fn, "$LATEST", arn, sizeof arn);
            json_object_set_new(c, "FunctionArn", json_string(arn));
        }
        json_array_append_new(list, c);
    }
    json_t *out = json_pack("{s:o}", "Versions", list);
    if (i < total)
        json_object_set_new(out, "NextMarker",
                            json_string(i - 1 == 0 ? "$LATEST" : fn->versions[i - 2]->version));
    aws_reply(call, out);
}

static void version_not_found(aws_call *call, lambda_fn *fn, const char *qualifier)
{
    char arn[600];
    qualified_arn(call->service->ctx, fn, qualifier, arn, sizeof arn);
    aws_reply_error(call, LAMBDA_ERR_NOT_FOUND, "Function not found: %s", arn);
}

void lambda_delete_version(aws_call *call, lambda_fn *fn, const char *qualifier)
{
    lambda *l = call->service->ctx;
    if (strcmp(qualifier, "$LATEST") == 0) {
        aws_reply_error(call, LAMBDA_ERR_INVALID,
                        "$LATEST version cannot be deleted without deleting the function.");
        return;
    }
    if (!is_version_number(qualifier)) {
        aws_reply_error(call, LAMBDA_ERR_INVALID,
                        "Deletion of aliases is not supported by DeleteFunction: use "
                        "DeleteAlias for %s.",
                        qualifier);
        return;
    }
    lambda_fn *v = version_find(fn, qualifier);
    if (!v) {
        version_not_found(call, fn, qualifier);
        return;
    }
    buf users = BUF_INIT;
    const char *name;
    json_t *alias;
    json_object_foreach(json_object_get(fn->doc, "Aliases"), name, alias)
    {
        json_t *weights =
            json_object_get(json_object_get(alias, "RoutingConfig"), "AdditionalVersionWeights");
        const char *target = json_string_value(json_object_get(alias, "FunctionVersion"));
        if ((target && strcmp(target, qualifier) == 0) || json_object_get(weights, qualifier))
            buf_printf(&users, "%s%s", users.len ? ", " : "", name);
    }
    if (users.len) {
        aws_reply_error(call, AWS_ERR_LAMBDA_RESOURCE_CONFLICT,
                        "Unable to delete version because the following aliases reference it: "
                        "[%s]",
                        users.data);
        buf_free(&users);
        return;
    }
    size_t i = 0;
    while (fn->versions[i] != v)
        i++;
    memmove(fn->versions + i, fn->versions + i + 1, (fn->nversions - i - 1) * sizeof v);
    fn->nversions--;
    json_object_del(json_object_get(fn->doc, "Versions"), qualifier);
    version_drop(l, v);
    lambda_fn_persist(l, call, NULL, fn);
}

/* ---- aliases -------------------------------------------------------------------------- */

/* Checks FunctionVersion and RoutingConfig of the call (those given) against fn's versions. */
static int check_alias_target(aws_call *call, lambda_fn *fn, const char *version,
                              const json_t *routing)
{
    if (version && strcmp(version, "$LATEST") != 0 && !version_find(fn, version)) {
        version_not_found(call, fn, version);
        return -1;
    }
    json_t *weights = json_object_get(routing, "AdditionalVersionWeights");
    if (json_object_size(weights) > 1) {
        aws_reply_error(call, LAMBDA_ERR_INVALID,
                        "Number of items in AdditionalVersionWeights cannot be greater than 1");
        return -1;
    }
    const char *extra;
    json_t *w;
    json_object_foreach(weights, extra, w)
    {
        double x = json_number_value(w);
        if (!json_is_number(w) || x < 0 || x > 1) {
            aws_reply_error(call, LAMBDA_ERR_INVALID,
                            "1 validation error detected: Value at "
                            "'routingConfig.additionalVersionWeights' failed to satisfy "
                            "constraint: Map value must satisfy constraint: [Member must have "
                            "value less than or equal to 1.0, Member must have value greater "
                            "than or equal to 0.0]");
            return -1;
        }
        if ((version && strcmp(version, "$LATEST") == 0) || strcmp(extra, "$LATEST") == 0) {
            aws_reply_error(call, LAMBDA_ERR_INVALID,
                            "$LATEST is not supported for an alias pointing to more than 1 "
                            "version");
            return -1;
        }
        if (version && strcmp(version, extra) == 0) {
            aws_reply_error(call, LAMBDA_ERR_INVALID,
                            "Invalid function version %s. Function version %s is already "
                            "included in routing configuration.",
                            extra, extra);
            return -1;
        }
        if (!version_find(fn, extra)) {
            version_not_found(call, fn, extra);
            return -1;
        }
    }
    return 0;
}

static void alias_set(json_t *alias, aws_call *call)
{
    const char *version = lambda_str(call, "FunctionVersion");
    const char *description = lambda_str(call, "Description");
    json_t *routing = json_object_get(call->input, "RoutingConfig");
    if (version)
        json_object_set_new(alias, "FunctionVersion", json_string(version));
    if (description)
        json_object_set_new(alias, "Description", json_string(description));
    if (routing) {
        if (json_object_size(json_object_get(routing, "AdditionalVersionWeights")) > 0)
            json_object_set(alias, "RoutingConfig", routing);
        else
            json_object_del(alias, "RoutingConfig");
    }
    char rev[37];
    ids_uuid4(rev);
    json_object_set_new(alias, "RevisionId", json_string(rev));
}

static void alias_not_found(aws_call *call, lambda_fn *fn, const char *name)
{
    char arn[600];
    qualified_arn(call->service->ctx, fn, name, arn, sizeof arn);
    aws_reply_error(call, LAMBDA_ERR_NOT_FOUND, "Cannot find alias arn: %s", arn);
}

void lambda_create_alias(aws_call *call)
{
    lambda *l = call->service->ctx;
    lambda_fn *fn = lambda_fn_of_call(call);
    if (!fn)
        return;
    const char *name = lambda_str(call, "Name");
    if (!name || !valid_alias_name(name)) {
        aws_reply_error(call, LAMBDA_ERR_INVALID,
                        "1 validation error detected: Value '%s' at 'name' failed to satisfy "
                        "constraint: Member must satisfy regular expression pattern: "
                        "(?!^[0-9]+$)([a-zA-Z0-9-_]+)",
                        name ? name : "");
        return;
    }
    const char *version = lambda_str(call, "FunctionVersion");
    if (!version) {
        aws_reply_error(call, LAMBDA_ERR_INVALID,
                        "1 validation error detected: Value null at 'functionVersion' failed to "
                        "satisfy constraint: Member must not be null");
        return;
    }
    char arn[600];
    qualified_arn(l, fn, name, arn, sizeof arn);
    json_t *aliases = aliases_of(fn);
    if (json_object_get(aliases, name)) {
        aws_reply_error(call, AWS_ERR_LAMBDA_RESOURCE_CONFLICT, "Alias already exists: %s", arn);
        return;
    }
    if (check_alias_target(call, fn, version, json_object_get(call->input, "RoutingConfig")) != 0)
        return;
    json_t *alias = json_pack("{s:s,s:s,s:s}", "AliasArn", arn, "Name", name, "Description", "");
    alias_set(alias, call);
    json_object_set_new(aliases, name, alias);
    lambda_fn_persist(l, call, json_deep_copy(alias), fn);
}

void lambda_get_alias(aws_call *call)
{
    lambda_fn *fn = lambda_fn_of_call(call);
    if (!fn)
        return;
    const char *name = lambda_str(call, "Name");
    json_t *alias = json_object_get(json_object_get(fn->doc, "Aliases"), name ? name : "");
    if (!alias)
        alias_not_found(call, fn, name ? name : "");
    else
        aws_reply(call, json_deep_copy(alias));
}

void lambda_update_alias(aws_call *call)
{
    lambda_fn *fn = lambda_fn_of_call(call);
    if (!fn)
        return;
    const char *name = lambda_str(call, "Name");
    json_t *alias = json_object_get(json_object_get(fn->doc, "Aliases"), name ? name : "");
    if (!alias) {
        alias_not_found(call, fn, name ? name : "");
        return;
    }
    if (!lambda_revision_matches(call, alias, "GetFunction/GetAlias"))
        return;
    const char *version = lambda_str(call, "FunctionVersion");
    json_t *routing = json_object_get(call->input, "RoutingConfig");
    if (!version)
        version = json_string_value(json_object_get(alias, "FunctionVersion"));
    if (!routing)
        routing = json_object_get(alias, "RoutingConfig");
    if (check_alias_target(call, fn, version, routing) != 0)
        return;
    alias_set(alias, call);
    lambda_fn_persist(call->service->ctx, call, json_deep_copy(alias), fn);
}

void lambda_delete_alias(aws_call *call)
{
    lambda_fn *fn = lambda_fn_of_call(call);
    if (!fn)
        return;
    const char *name = lambda_str(call, "Name");
    json_t *aliases = json_object_get(fn->doc, "Aliases");
    if (!json_object_get(aliases, name ? name : "")) {
        alias_not_found(call, fn, name ? name : "");
        return;
    }
    json_object_del(aliases, name);
    lambda_fn_persist(call->service->ctx, call, NULL, fn);
}

void lambda_list_aliases(aws_call *call)
{
    lambda_fn *fn = lambda_fn_of_call(call);
    json_int_t max = fn ? lambda_max_items(call) : -1;
    if (max < 0)
        return;
    const char *only = lambda_str(call, "FunctionVersion");
    const char *marker = lambda_str(call, "Marker");
    /* jansson keeps insertion order; the marker is the last alias name given. */
    int past_marker = !marker || !marker[0];
    json_t *list = json_array();
    const char *name, *last = NULL;
    json_t *alias;
    int more = 0;
    json_object_foreach(json_object_get(fn->doc, "Aliases"), name, alias)
    {
        if (!past_marker) {
            past_marker = strcmp(name, marker) == 0;
            continue;
        }
        const char *v = json_string_value(json_object_get(alias, "FunctionVersion"));
        if (only && (!v || strcmp(v, only) != 0))
            continue;
        if ((json_int_t)json_array_size(list) == max) {
            more = 1;
            break;
        }
        json_array_append_new(list, json_deep_copy(alias));
        last = name;
    }
    json_t *out = json_pack("{s:o}", "Aliases", list);
    if (more && last)
        json_object_set_new(out, "NextMarker", json_string(last));
    aws_reply(call, out);
}
