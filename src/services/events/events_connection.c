/* Connections (how to authorise against an HTTP endpoint: API key, basic, OAuth client
 * credentials) and API destinations (an endpoint, a method and a rate limit, through a
 * connection). Both are stored documents; secrets are kept but never returned. */
#include "services/events/events_internal.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void restore_into(json_t *table, const char *key, const char *doc)
{
    json_t *d = json_loads(doc, 0, NULL);
    if (json_is_object(d))
        json_object_set_new(table, key, d);
    else
        json_decref(d);
}

void events_connection_restore(const char *key, const char *doc, void *arg)
{
    restore_into(((events *)arg)->connections, key, doc);
}

void events_destination_restore(const char *key, const char *doc, void *arg)
{
    restore_into(((events *)arg)->destinations, key, doc);
}

static const char *name_input(aws_call *call)
{
    const char *name = events_str(call, "Name");
    if (!name || !events_valid_name(name, 64)) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "1 validation error detected: Value '%s' at 'name' failed to satisfy "
                        "constraint: Member must satisfy regular expression pattern: "
                        "[\\.\\-_A-Za-z0-9]+",
                        name ? name : "null");
        return NULL;
    }
    return name;
}

static void put_time(json_t *out, const char *k, const json_t *doc, const char *field)
{
    json_t *v = json_object_get(doc, field);
    if (v)
        json_object_set_new(out, k, json_real(json_integer_value(v) / 1000.0));
}

/* "arn:...:connection/NAME/uuid" -> NAME */
const char *events_name_from_arn(const char *arn, const char *kind, char *out, size_t cap)
{
    const char *p = arn ? strstr(arn, kind) : NULL;
    if (!p)
        return NULL;
    p += strlen(kind);
    const char *slash = strchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : strlen(p);
    snprintf(out, cap, "%.*s", (int)n, p);
    return out;
}

/* ---- connections -------------------------------------------------------------------- */

/* AuthParameters without their secrets. */
static json_t *public_auth(const json_t *auth)
{
    json_t *o = json_deep_copy(auth ? auth : json_object());
    json_t *basic = json_object_get(o, "BasicAuthParameters");
    if (basic)
        json_object_del(basic, "Password");
    json_t *key = json_object_get(o, "ApiKeyAuthParameters");
    if (key)
        json_object_del(key, "ApiKeyValue");
    json_t *client = json_object_get(json_object_get(o, "OAuthParameters"), "ClientParameters");
    if (client)
        json_object_del(client, "ClientSecret");
    return o;
}

static int check_auth(aws_call *call, const char *type, const json_t *auth, int creating)
{
    if (creating && !type) {
        events_reply_missing(call, "authorizationType");
        return -1;
    }
    if (type && strcmp(type, "BASIC") != 0 && strcmp(type, "API_KEY") != 0 &&
        strcmp(type, "OAUTH_CLIENT_CREDENTIALS") != 0) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "1 validation error detected: Value '%s' at 'authorizationType' failed to "
                        "satisfy constraint: Member must satisfy enum value set: "
                        "[BASIC, OAUTH_CLIENT_CREDENTIALS, API_KEY]",
                        type);
        return -1;
    }
    if (!creating || !type)
        return 0;
    const char *need = strcmp(type, "BASIC") == 0     ? "BasicAuthParameters"
                       : strcmp(type, "API_KEY") == 0 ? "ApiKeyAuthParameters"
                                                      : "OAuthParameters";
    if (!json_is_object(json_object_get(auth, need))) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "%s is required for authorization type %s.", need, type);
        return -1;
    }
    return 0;
}

void events_create_connection(aws_call *call)
{
    events *ev = events_of(call);
    const char *name = name_input(call);
    if (!name)
        return;
    if (json_object_get(ev->connections, name)) {
        aws_reply_error(call, AWS_ERR_EVENTS_RESOURCE_ALREADY_EXISTS,
                        "Connection %s already exists.", name);
        return;
    }
    const char *type = events_str(call, "AuthorizationType");
    json_t *auth = json_object_get(call->input, "AuthParameters");
    if (check_auth(call, type, auth, 1) != 0)
        return;
    char uuid[40], arn[512];
    ids_uuid4(uuid);
    snprintf(arn, sizeof arn, "arn:aws:events:%s:%s:connection/%s/%s", ev->region, ev->account,
             name, uuid);
    int64_t now = clock_now_ms();
    /* OAuth connections authorise by obtaining a token first (events_deliver.c). */
    const char *state =
        strcmp(type, "OAUTH_CLIENT_CREDENTIALS") == 0 ? "AUTHORIZING" : "AUTHORIZED";
    json_t *doc =
        json_pack("{s:s, s:s, s:s, s:O, s:s, s:I, s:I}", "Name", name, "ConnectionArn", arn,
                  "AuthorizationType", type, "AuthParameters", auth, "ConnectionState", state,
                  "CreationTime", (json_int_t)now, "LastModifiedTime", (json_int_t)now);
    if (strcmp(state, "AUTHORIZED") == 0)
        json_object_set_new(doc, "LastAuthorizedTime", json_integer(now));
    const char *desc = events_str(call, "Description");
    if (desc)
        json_object_set_new(doc, "Description", json_string(desc));
    json_object_set_new(ev->connections, name, doc);
    json_t *reply = json_pack("{s:s, s:s}", "ConnectionArn", arn, "ConnectionState", state);
    if (strcmp(state, "AUTHORIZING") == 0)
        events_connection_authorize(ev, name);
    put_time(reply, "CreationTime", doc, "CreationTime");
    put_time(reply, "LastModifiedTime", doc, "LastModifiedTime");
    events_persist_doc(events_of(call), call, reply, "events.connection", name, doc);
}

static json_t *connection_of(aws_call *call)
{
    const char *name = events_str(call, "Name");
    json_t *doc = name ? json_object_get(events_of(call)->connections, name) : NULL;
    if (!doc)
        aws_reply_error(call, AWS_ERR_EVENTS_RESOURCE_NOT_FOUND,
                        "Failed to describe the connection(s). Connection '%s' does not exist.",
                        name ? name : "");
    return doc;
}

static json_t *connection_summary(const json_t *doc, int full)
{
    json_t *o = json_object();
    static const char *const fields[] = {"ConnectionArn",     "Name",
                                         "ConnectionState",   "StateReason",
                                         "AuthorizationType", "Description"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        json_t *v = json_object_get(doc, fields[i]);
        if (v && (full || i < 5))
            json_object_set(o, fields[i], v);
    }
    put_time(o, "CreationTime", doc, "CreationTime");
    put_time(o, "LastModifiedTime", doc, "LastModifiedTime");
    put_time(o, "LastAuthorizedTime", doc, "LastAuthorizedTime");
    if (full)
        json_object_set_new(o, "AuthParameters",
                            public_auth(json_object_get(doc, "AuthParameters")));
    return o;
}

void events_describe_connection(aws_call *call)
{
    json_t *doc = connection_of(call);
    if (doc)
        aws_reply(call, connection_summary(doc, 1));
}

static json_t *merge_objects(json_t *base, const json_t *over)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)over, k, v)
    {
        json_t *b = json_object_get(base, k);
        if (json_is_object(b) && json_is_object(v))
            merge_objects(b, v);
        else
            json_object_set(base, k, v);
    }
    return base;
}

/* The connection gets `state` (its cached OAuth token is dropped); replies with its
 * summary once persisted. */
static void set_state(aws_call *call, json_t *doc, const char *state)
{
    events *ev = events_of(call);
    json_object_set_new(doc, "ConnectionState", json_string(state));
    json_object_set_new(doc, "LastModifiedTime", json_integer(clock_now_ms()));
    const char *name = json_string_value(json_object_get(doc, "Name"));
    json_object_del(ev->oauth_tokens, name);
    json_t *reply = connection_summary(doc, 0);
    json_object_del(reply, "Name");
    json_object_del(reply, "AuthorizationType");
    events_persist_doc(ev, call, reply, "events.connection", name, doc);
}

void events_update_connection(aws_call *call)
{
    json_t *doc = connection_of(call);
    if (!doc)
        return;
    const char *type = events_str(call, "AuthorizationType");
    if (check_auth(call, type, NULL, 0) != 0)
        return;
    if (type)
        json_object_set_new(doc, "AuthorizationType", json_string(type));
    json_t *auth = json_object_get(call->input, "AuthParameters");
    if (json_is_object(auth))
        merge_objects(json_object_get(doc, "AuthParameters"), auth);
    const char *desc = events_str(call, "Description");
    if (desc)
        json_object_set_new(doc, "Description", json_string(desc));
    set_state(call, doc, "AUTHORIZED");
}

void events_deauthorize_connection(aws_call *call)
{
    json_t *doc = connection_of(call);
    if (doc)
        set_state(call, doc, "DEAUTHORIZED");
}

void events_delete_connection(aws_call *call)
{
    events *ev = events_of(call);
    json_t *doc = connection_of(call);
    if (!doc)
        return;
    json_t *reply = connection_summary(doc, 0);
    json_object_del(reply, "Name");
    json_object_del(reply, "AuthorizationType");
    json_object_set_new(reply, "ConnectionState", json_string("DELETING"));
    char name[128];
    snprintf(name, sizeof name, "%s", json_string_value(json_object_get(doc, "Name")));
    json_object_del(ev->connections, name);
    json_object_del(ev->oauth_tokens, name);
    events_persist_doc(events_of(call), call, reply, "events.connection", name, NULL);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Lists the documents of `table` (jansson objects are unordered: in name order). */
static void list_page(aws_call *call, json_t *table, const char *member, const char *filter_field,
                      const char *filter, json_t *(*summary)(const json_t *, int))
{
    events_pager pg;
    if (events_pager_init(call, &pg) != 0)
        return;
    const char *prefix = events_str(call, "NamePrefix");
    size_t n = json_object_size(table), k = 0;
    const char **names = xcalloc(n ? n : 1, sizeof *names);
    const char *key;
    json_t *v;
    json_object_foreach(table, key, v)
    {
        names[k++] = key;
    }
    qsort(names, k, sizeof *names, by_name);
    for (size_t i = 0; i < k; i++) {
        json_t *doc = json_object_get(table, names[i]);
        if (prefix && strncmp(names[i], prefix, strlen(prefix)) != 0)
            continue;
        const char *f = json_string_value(json_object_get(doc, filter_field));
        if (filter && (!f || strcmp(f, filter) != 0))
            continue;
        int want = events_pager_want(&pg);
        if (want < 0)
            break;
        if (want)
            json_array_append_new(pg.items, summary(doc, 0));
    }
    xfree(names);
    events_pager_reply(call, &pg, member);
}

void events_list_connections(aws_call *call)
{
    list_page(call, events_of(call)->connections, "Connections", "ConnectionState",
              events_str(call, "ConnectionState"), connection_summary);
}

/* ---- API destinations --------------------------------------------------------------- */

static int valid_method(const char *m)
{
    static const char *const methods[] = {"POST", "GET",   "HEAD",  "OPTIONS",
                                          "PUT",  "PATCH", "DELETE"};
    for (size_t i = 0; m && i < sizeof methods / sizeof methods[0]; i++)
        if (strcmp(m, methods[i]) == 0)
            return 1;
    return 0;
}

static int check_destination(aws_call *call, json_t *in, int creating, json_t **connection)
{
    events *ev = events_of(call);
    const char *conn = json_string_value(json_object_get(in, "ConnectionArn"));
    const char *endpoint = json_string_value(json_object_get(in, "InvocationEndpoint"));
    const char *method = json_string_value(json_object_get(in, "HttpMethod"));
    if (creating && (!conn || !endpoint || !method)) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "1 validation error detected: Value null at '%s' failed to satisfy "
                        "constraint: Member must not be null",
                        !conn       ? "connectionArn"
                        : !endpoint ? "invocationEndpoint"
                                    : "httpMethod");
        return -1;
    }
    if (method && !valid_method(method)) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "1 validation error detected: Value '%s' at 'httpMethod' failed to "
                        "satisfy constraint: Member must satisfy enum value set: [POST, GET, "
                        "HEAD, OPTIONS, PUT, PATCH, DELETE]",
                        method);
        return -1;
    }
    if (endpoint && strncmp(endpoint, "https://", 8) != 0 && strncmp(endpoint, "http://", 7) != 0) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "1 validation error detected: Value '%s' at 'invocationEndpoint' failed "
                        "to satisfy constraint: Member must satisfy regular expression pattern: "
                        "^((%%[0-9A-Fa-f]{2}|[-()_.!~*';/?:@\\x26=+$,A-Za-z0-9])+)([).!';/?:,])?$",
                        endpoint);
        return -1;
    }
    json_t *rate = json_object_get(in, "InvocationRateLimitPerSecond");
    if (rate && (!json_is_integer(rate) || json_integer_value(rate) < 1 ||
                 json_integer_value(rate) > 300)) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "1 validation error detected: Value at 'invocationRateLimitPerSecond' "
                        "failed to satisfy constraint: Member must have value between 1 and 300");
        return -1;
    }
    if (conn) {
        char name[128];
        *connection = events_name_from_arn(conn, ":connection/", name, sizeof name)
                          ? json_object_get(ev->connections, name)
                          : NULL;
        if (!*connection) {
            aws_reply_error(call, AWS_ERR_EVENTS_RESOURCE_NOT_FOUND,
                            "Connection '%s' does not exist.", conn);
            return -1;
        }
    }
    return 0;
}

static json_t *destination_summary(const json_t *doc, int full)
{
    (void)full;
    json_t *o = json_object();
    static const char *const fields[] = {
        "ApiDestinationArn",  "Name",       "ApiDestinationState",          "ConnectionArn",
        "InvocationEndpoint", "HttpMethod", "InvocationRateLimitPerSecond", "Description"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        json_t *v = json_object_get(doc, fields[i]);
        if (v)
            json_object_set(o, fields[i], v);
    }
    put_time(o, "CreationTime", doc, "CreationTime");
    put_time(o, "LastModifiedTime", doc, "LastModifiedTime");
    return o;
}

void events_create_api_destination(aws_call *call)
{
    events *ev = events_of(call);
    const char *name = name_input(call);
    if (!name)
        return;
    if (json_object_get(ev->destinations, name)) {
        aws_reply_error(call, AWS_ERR_EVENTS_RESOURCE_ALREADY_EXISTS,
                        "Api destination %s already exists.", name);
        return;
    }
    json_t *conn = NULL;
    if (check_destination(call, call->input, 1, &conn) != 0)
        return;
    char uuid[40], arn[512];
    ids_uuid4(uuid);
    snprintf(arn, sizeof arn, "arn:aws:events:%s:%s:api-destination/%s/%s", ev->region, ev->account,
             name, uuid);
    int64_t now = clock_now_ms();
    json_t *doc = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "Name", name, "ApiDestinationArn", arn,
        "ApiDestinationState", "ACTIVE", "ConnectionArn", events_str(call, "ConnectionArn"),
        "InvocationEndpoint", events_str(call, "InvocationEndpoint"), "HttpMethod",
        events_str(call, "HttpMethod"), "InvocationRateLimitPerSecond",
        json_is_integer(json_object_get(call->input, "InvocationRateLimitPerSecond"))
            ? (json_int_t)json_integer_value(
                  json_object_get(call->input, "InvocationRateLimitPerSecond"))
            : (json_int_t)300,
        "CreationTime", (json_int_t)now, "LastModifiedTime", (json_int_t)now);
    const char *desc = events_str(call, "Description");
    if (desc)
        json_object_set_new(doc, "Description", json_string(desc));
    json_object_set_new(ev->destinations, name, doc);
    json_t *reply =
        json_pack("{s:s, s:s}", "ApiDestinationArn", arn, "ApiDestinationState", "ACTIVE");
    put_time(reply, "CreationTime", doc, "CreationTime");
    put_time(reply, "LastModifiedTime", doc, "LastModifiedTime");
    events_persist_doc(events_of(call), call, reply, "events.destination", name, doc);
}

static json_t *destination_of(aws_call *call)
{
    const char *name = events_str(call, "Name");
    json_t *doc = name ? json_object_get(events_of(call)->destinations, name) : NULL;
    if (!doc)
        aws_reply_error(call, AWS_ERR_EVENTS_RESOURCE_NOT_FOUND,
                        "Failed to describe the api-destination(s). An api-destination '%s' does "
                        "not exist.",
                        name ? name : "");
    return doc;
}

void events_describe_api_destination(aws_call *call)
{
    json_t *doc = destination_of(call);
    if (doc)
        aws_reply(call, destination_summary(doc, 1));
}

void events_update_api_destination(aws_call *call)
{
    json_t *doc = destination_of(call);
    if (!doc)
        return;
    json_t *conn = NULL;
    if (check_destination(call, call->input, 0, &conn) != 0)
        return;
    static const char *const fields[] = {"ConnectionArn", "InvocationEndpoint", "HttpMethod",
                                         "InvocationRateLimitPerSecond", "Description"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        json_t *v = json_object_get(call->input, fields[i]);
        if (v)
            json_object_set(doc, fields[i], v);
    }
    json_object_set_new(doc, "LastModifiedTime", json_integer(clock_now_ms()));
    json_t *reply =
        json_pack("{s:O, s:O}", "ApiDestinationArn", json_object_get(doc, "ApiDestinationArn"),
                  "ApiDestinationState", json_object_get(doc, "ApiDestinationState"));
    put_time(reply, "CreationTime", doc, "CreationTime");
    put_time(reply, "LastModifiedTime", doc, "LastModifiedTime");
    events_persist_doc(events_of(call), call, reply, "events.destination",
                       json_string_value(json_object_get(doc, "Name")), doc);
}

void events_delete_api_destination(aws_call *call)
{
    events *ev = events_of(call);
    json_t *doc = destination_of(call);
    if (!doc)
        return;
    char name[128];
    snprintf(name, sizeof name, "%s", json_string_value(json_object_get(doc, "Name")));
    json_object_del(ev->destinations, name);
    json_object_del(ev->rate_windows, name);
    events_persist_doc(events_of(call), call, NULL, "events.destination", name, NULL);
}

void events_list_api_destinations(aws_call *call)
{
    list_page(call, events_of(call)->destinations, "ApiDestinations", "ConnectionArn",
              events_str(call, "ConnectionArn"), destination_summary);
}
