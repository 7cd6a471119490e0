/* CloudWatch Logs groups and streams: create, delete, describe (paginated), and retention
 * policies. Each call is one store op; the reply is built from what the op found.
 *
 * Describe pages resume after the last item returned: the nextToken carries that item's
 * name (and, for streams ordered by LastEventTime, its last event time), so pages stay
 * consistent while groups and streams come and go between calls. */
#include "services/logs/logs_internal.h"

#include "common/alloc.h"
#include "common/base64.h"
#include "common/buf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DESCRIBE_LIMIT 50

/* The retention periods AWS accepts, in days. */
static const int retention_values[] = {1,    3,    5,    7,    14,   30,  60,  90,
                                       120,  150,  180,  365,  400,  545, 731, 1096,
                                       1827, 2192, 2557, 2922, 3288, 3653};

/* ---- changes -------------------------------------------------------------------------- */

static void reply_changed(logs_request *r)
{
    if (logs_reply_outcome(r->call, r->op.u.logs_change.outcome) == 0)
        aws_reply(r->call, NULL);
}

/* Submits a LOGS_CHANGE of group (and stream) for call. */
static logs_request *change(aws_call *call, int action, const char *group, const char *stream,
                            int retention_days)
{
    logs_request *r = logs_request_new(call, STORE_LOGS_CHANGE, reply_changed);
    r->op.u.logs_change.action = action;
    r->op.u.logs_change.group = group;
    r->op.u.logs_change.stream = stream;
    r->op.u.logs_change.retention_days = retention_days;
    logs_request_submit(r);
    return r;
}

static int invalid_pattern(aws_call *call, const char *member, const char *value,
                           const char *pattern)
{
    aws_reply_error(call, LOGS_ERR_INVALID,
                    "1 validation error detected: Value '%.600s' at '%s' failed to satisfy "
                    "constraint: Member must satisfy regular expression pattern: %s",
                    value, member, pattern);
    return -1;
}

void logs_create_log_group(aws_call *call)
{
    const char *group;
    if (logs_in_str(call, "logGroupName", true, 1, LOGS_NAME_MAX, &group) != 0)
        return;
    if (!logs_valid_group_name(group)) {
        invalid_pattern(call, "logGroupName", group, "[\\.\\-_/#A-Za-z0-9]+");
        return;
    }
    change(call, STORE_LOGS_CREATE_GROUP, group, NULL, 0);
}

void logs_delete_log_group(aws_call *call)
{
    const char *group;
    if (logs_in_str(call, "logGroupName", true, 1, LOGS_NAME_MAX, &group) == 0)
        change(call, STORE_LOGS_DELETE_GROUP, group, NULL, 0);
}

static void reply_retention_set(logs_request *r)
{
    if (logs_reply_outcome(r->call, r->op.u.logs_change.outcome) != 0)
        return;
    logs_sweep_soon(r->lg);
    aws_reply(r->call, NULL);
}

void logs_put_retention_policy(aws_call *call)
{
    const char *group;
    int64_t days;
    if (logs_in_str(call, "logGroupName", true, 1, LOGS_NAME_MAX, &group) != 0 ||
        logs_in_int(call, "retentionInDays", INT32_MIN, INT32_MAX, 0, &days) != 0)
        return;
    size_t n = sizeof retention_values / sizeof retention_values[0];
    size_t i = 0;
    while (i < n && retention_values[i] != days)
        i++;
    if (i == n) {
        buf set = BUF_INIT;
        for (i = 0; i < n; i++)
            buf_printf(&set, "%s%d", i ? ", " : "", retention_values[i]);
        aws_reply_error(call, LOGS_ERR_INVALID,
                        "1 validation error detected: Value '%lld' at 'retentionInDays' failed "
                        "to satisfy constraint: Member must satisfy enum value set: [%s]",
                        (long long)days, set.data);
        buf_free(&set);
        return;
    }
    logs_request *r = change(call, STORE_LOGS_SET_RETENTION, group, NULL, (int)days);
    r->reply = reply_retention_set;
}

void logs_delete_retention_policy(aws_call *call)
{
    const char *group;
    if (logs_in_str(call, "logGroupName", true, 1, LOGS_NAME_MAX, &group) == 0)
        change(call, STORE_LOGS_SET_RETENTION, group, NULL, 0);
}

void logs_create_log_stream(aws_call *call)
{
    const char *group, *stream;
    if (logs_in_str(call, "logGroupName", true, 1, LOGS_NAME_MAX, &group) != 0 ||
        logs_in_str(call, "logStreamName", true, 1, LOGS_NAME_MAX, &stream) != 0)
        return;
    if (!logs_valid_stream_name(stream)) {
        invalid_pattern(call, "logStreamName", stream, "[^:*]*");
        return;
    }
    change(call, STORE_LOGS_CREATE_STREAM, group, stream, 0);
}

void logs_delete_log_stream(aws_call *call)
{
    const char *group, *stream;
    if (logs_in_str(call, "logGroupName", true, 1, LOGS_NAME_MAX, &group) == 0 &&
        logs_in_str(call, "logStreamName", true, 1, LOGS_NAME_MAX, &stream) == 0)
        change(call, STORE_LOGS_DELETE_STREAM, group, stream, 0);
}

/* ---- describe: tokens ----------------------------------------------------------------- */

/* A describe token: "<kind>/<last event time>/<base64 of the name>"; kind 'g' or 's'. */
static json_t *describe_token(char kind, const store_log_item *last)
{
    buf b = BUF_INIT;
    buf_printf(&b, "%c/%" PRId64 "/", kind, last->last_ms);
    base64_encode(&b, last->name, strlen(last->name));
    json_t *t = json_stringn(b.data, b.len);
    buf_free(&b);
    return t;
}

/* The resume point of a describe token of kind: 0 (*name NULL without a token; else owned
 * by the caller), or -1 (replied) when the token is not one. */
static int parse_describe_token(aws_call *call, char kind, const char *token, char **name,
                                int64_t *last_ms)
{
    char *end;
    *name = NULL;
    if (!token)
        return 0;
    if (token[0] != kind || token[1] != '/')
        goto bad;
    *last_ms = strtoll(token + 2, &end, 10);
    if (end == token + 2 || *end != '/')
        goto bad;
    buf b = BUF_INIT;
    if (base64_decode(&b, end + 1, strlen(end + 1)) != 0 || b.len == 0 ||
        memchr(b.data, 0, b.len)) {
        buf_free(&b);
        goto bad;
    }
    *name = buf_steal(&b, NULL);
    return 0;
bad:
    aws_reply_error(call, LOGS_ERR_INVALID, "The specified nextToken is invalid.");
    return -1;
}

/* A LOGS_LIST request resuming after (name, last_ms) (name taken). */
static logs_request *list_request(aws_call *call, logs_reply_fn reply, int limit, char *name,
                                  int64_t last_ms)
{
    logs_request *r = logs_request_new(call, STORE_LOGS_LIST, reply);
    r->op.u.logs_list.max = limit;
    r->op.u.logs_list.after_name = name;
    r->op.u.logs_list.after_last_ms = last_ms;
    r->extra = name;
    r->extra_free = xfree;
    return r;
}

/* ---- describe: groups ----------------------------------------------------------------- */

static json_t *group_json(const logs *lg, const store_log_item *g)
{
    json_t *o = json_pack("{s:s,s:I,s:i,s:I}", "logGroupName", g->name, "creationTime",
                          (json_int_t)g->created_ms, "metricFilterCount", 0, "storedBytes",
                          (json_int_t)g->bytes);
    if (g->retention_days > 0)
        json_object_set_new(o, "retentionInDays", json_integer(g->retention_days));
    json_object_set_new(
        o, "arn",
        json_sprintf("arn:aws:logs:%s:%s:log-group:%s:*", lg->region, lg->account, g->name));
    json_object_set_new(
        o, "logGroupArn",
        json_sprintf("arn:aws:logs:%s:%s:log-group:%s", lg->region, lg->account, g->name));
    return o;
}

static void reply_groups(logs_request *r)
{
    typeof(r->op.u.logs_list) *l = &r->op.u.logs_list;
    json_t *list = json_array();
    for (size_t i = 0; i < l->n; i++)
        json_array_append_new(list, group_json(r->lg, &l->items[i]));
    json_t *out = json_pack("{s:o}", "logGroups", list);
    if (l->more && l->n > 0)
        json_object_set_new(out, "nextToken", describe_token('g', &l->items[l->n - 1]));
    aws_reply(r->call, out);
}

void logs_describe_log_groups(aws_call *call)
{
    const char *prefix, *pattern, *token;
    int64_t limit;
    if (logs_in_str(call, "logGroupNamePrefix", false, 1, LOGS_NAME_MAX, &prefix) != 0 ||
        logs_in_str(call, "logGroupNamePattern", false, 0, LOGS_NAME_MAX, &pattern) != 0 ||
        logs_in_str(call, "nextToken", false, 1, 4096, &token) != 0 ||
        logs_in_int(call, "limit", 1, DESCRIBE_LIMIT, DESCRIBE_LIMIT, &limit) != 0)
        return;
    if (pattern) {
        aws_reply_error(call, LOGS_ERR_INVALID,
                        "logGroupNamePattern is not supported here: use logGroupNamePrefix.");
        return;
    }
    char *after;
    int64_t after_ms = 0;
    if (parse_describe_token(call, 'g', token, &after, &after_ms) != 0)
        return;
    logs_request *r = list_request(call, reply_groups, (int)limit, after, after_ms);
    r->op.u.logs_list.prefix = prefix;
    logs_request_submit(r);
}

/* ---- describe: streams ---------------------------------------------------------------- */

static json_t *stream_json(const logs *lg, const char *group, const store_log_item *s)
{
    json_t *o = json_pack("{s:s,s:I,s:I}", "logStreamName", s->name, "creationTime",
                          (json_int_t)s->created_ms, "storedBytes", (json_int_t)0);
    if (s->last_ms) {
        json_object_set_new(o, "firstEventTimestamp", json_integer(s->first_ms));
        json_object_set_new(o, "lastEventTimestamp", json_integer(s->last_ms));
        json_object_set_new(o, "lastIngestionTime", json_integer(s->ingest_ms));
    }
    json_object_set_new(o, "arn",
                        json_sprintf("arn:aws:logs:%s:%s:log-group:%s:log-stream:%s", lg->region,
                                     lg->account, group, s->name));
    return o;
}

static void reply_streams(logs_request *r)
{
    typeof(r->op.u.logs_list) *l = &r->op.u.logs_list;
    if (logs_reply_outcome(r->call, l->outcome) != 0)
        return;
    json_t *list = json_array();
    for (size_t i = 0; i < l->n; i++)
        json_array_append_new(list, stream_json(r->lg, l->group, &l->items[i]));
    json_t *out = json_pack("{s:o}", "logStreams", list);
    if (l->more && l->n > 0)
        json_object_set_new(out, "nextToken", describe_token('s', &l->items[l->n - 1]));
    aws_reply(r->call, out);
}

void logs_describe_log_streams(aws_call *call)
{
    const char *group, *prefix, *order, *token;
    int64_t limit;
    bool descending;
    if (logs_in_group(call, true, &group) != 0 ||
        logs_in_str(call, "logStreamNamePrefix", false, 1, LOGS_NAME_MAX, &prefix) != 0 ||
        logs_in_str(call, "orderBy", false, 1, 64, &order) != 0 ||
        logs_in_bool(call, "descending", false, &descending) != 0 ||
        logs_in_str(call, "nextToken", false, 1, 4096, &token) != 0 ||
        logs_in_int(call, "limit", 1, DESCRIBE_LIMIT, DESCRIBE_LIMIT, &limit) != 0)
        return;
    bool by_last = order && strcmp(order, "LastEventTime") == 0;
    if (order && !by_last && strcmp(order, "LogStreamName") != 0) {
        aws_reply_error(call, LOGS_ERR_INVALID,
                        "1 validation error detected: Value '%.100s' at 'orderBy' failed to "
                        "satisfy constraint: Member must satisfy enum value set: "
                        "[LogStreamName, LastEventTime]",
                        order);
        return;
    }
    if (by_last && prefix) {
        aws_reply_error(call, LOGS_ERR_INVALID,
                        "Cannot order by LastEventTime with a logStreamNamePrefix.");
        return;
    }
    char *after;
    int64_t after_ms = 0;
    if (parse_describe_token(call, 's', token, &after, &after_ms) != 0)
        return;
    logs_request *r = list_request(call, reply_streams, (int)limit, after, after_ms);
    r->op.u.logs_list.group = group;
    r->op.u.logs_list.prefix = prefix;
    r->op.u.logs_list.by_last_event = by_last;
    r->op.u.logs_list.descending = descending;
    logs_request_submit(r);
}
