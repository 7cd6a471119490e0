/* The CloudWatch Logs service: its operation table, lifecycle, the retention sweep, and the
 * helpers its operations share (requests that wait for a store op, input members read with
 * AWS's errors, names). Groups and streams are in logs_groups.c, events in logs_events.c.
 *
 * Every operation is one store op (STORE_LOGS_*): the service holds no state of its own
 * beyond the sweep timer, so two calls can never see different views, and nothing grows in
 * memory with the number of groups, streams or events. */
#include "services/logs/logs_internal.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SWEEP_INTERVAL_MS 60000
#define SWEEP_BATCH       5000 /* events deleted per op: one commit stays short */
#define SWEEP_AGAIN_MS    50   /* when a batch was full, the next one follows soon */

/* Sorted by name: the router searches it. */
static const aws_op_def logs_ops[] = {
    {"CreateLogGroup", logs_create_log_group},
    {"CreateLogStream", logs_create_log_stream},
    {"DeleteLogGroup", logs_delete_log_group},
    {"DeleteLogStream", logs_delete_log_stream},
    {"DeleteRetentionPolicy", logs_delete_retention_policy},
    {"DescribeLogGroups", logs_describe_log_groups},
    {"DescribeLogStreams", logs_describe_log_streams},
    {"FilterLogEvents", logs_filter_log_events},
    {"GetLogEvents", logs_get_log_events},
    {"PutLogEvents", logs_put_log_events},
    {"PutRetentionPolicy", logs_put_retention_policy},
};

/* ---- requests ------------------------------------------------------------------------- */

static void request_done(store_op *op)
{
    logs_request *r = op->ctx;
    if (op->status != 0)
        aws_reply_error(r->call, AWS_ERR_INTERNAL_ERROR, "The store could not complete the call.");
    else
        r->reply(r);
    store_op_clear(op);
    if (r->extra_free)
        r->extra_free(r->extra);
    xfree(r);
}

logs_request *logs_request_new(aws_call *call, store_op_kind kind, logs_reply_fn reply)
{
    logs_request *r = xcalloc(1, sizeof *r);
    r->call = call;
    r->lg = logs_of(call);
    r->reply = reply;
    r->op.kind = kind;
    r->op.ctx = r;
    r->op.done = request_done;
    r->op.now_ms = clock_now_ms();
    return r;
}

void logs_request_submit(logs_request *r)
{
    store_submit(r->lg->store, &r->op);
}

int logs_reply_outcome(aws_call *call, int outcome)
{
    switch (outcome) {
    case STORE_LOGS_OK:
        return 0;
    case STORE_LOGS_NO_GROUP:
        aws_reply_error(call, LOGS_ERR_NOT_FOUND, "The specified log group does not exist.");
        break;
    case STORE_LOGS_NO_STREAM:
        aws_reply_error(call, LOGS_ERR_NOT_FOUND, "The specified log stream does not exist.");
        break;
    default:
        aws_reply_error(call, LOGS_ERR_EXISTS, "%s",
                        strcmp(call->op->name, "CreateLogStream") == 0
                            ? "The specified log stream already exists"
                            : "The specified log group already exists");
        break;
    }
    return -1;
}

/* ---- input ---------------------------------------------------------------------------- */

static int wrong_type(aws_call *call, const char *name, const char *type)
{
    aws_reply_error(call, AWS_ERR_SERIALIZATION_EXCEPTION, "%s must be %s.", name, type);
    return -1;
}

int logs_in_str(aws_call *call, const char *name, bool required, size_t min, size_t max,
                const char **out)
{
    json_t *v = json_object_get(call->input, name);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (!required)
            return 0;
        aws_reply_error(call, LOGS_ERR_INVALID,
                        "1 validation error detected: Value null at '%s' failed to satisfy "
                        "constraint: Member must not be null",
                        name);
        return -1;
    }
    if (!json_is_string(v))
        return wrong_type(call, name, "a string");
    size_t len = json_string_length(v);
    if (len < min || len > max) {
        aws_reply_error(call, LOGS_ERR_INVALID,
                        "1 validation error detected: Value '%.200s' at '%s' failed to satisfy "
                        "constraint: Member must have length %s %zu",
                        json_string_value(v), name,
                        len < min ? "greater than or equal to" : "less than or equal to",
                        len < min ? min : max);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

int logs_in_int(aws_call *call, const char *name, int64_t min, int64_t max, int64_t dflt,
                int64_t *out)
{
    json_t *v = json_object_get(call->input, name);
    *out = dflt;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v))
        return wrong_type(call, name, "an integer");
    int64_t x = json_integer_value(v);
    if (x < min || x > max) {
        aws_reply_error(call, LOGS_ERR_INVALID,
                        "1 validation error detected: Value '%lld' at '%s' failed to satisfy "
                        "constraint: Member must have value %s %lld",
                        (long long)x, name,
                        x < min ? "greater than or equal to" : "less than or equal to",
                        (long long)(x < min ? min : max));
        return -1;
    }
    *out = x;
    return 0;
}

int logs_in_bool(aws_call *call, const char *name, bool dflt, bool *out)
{
    json_t *v = json_object_get(call->input, name);
    *out = dflt;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_boolean(v))
        return wrong_type(call, name, "a boolean");
    *out = json_is_true(v);
    return 0;
}

/* The log group name inside an ARN arn:aws:logs:REGION:ACCOUNT:log-group:NAME[:*]. */
static const char *name_in_arn(const char *arn, char *out, size_t cap)
{
    const char *p = strstr(arn, ":log-group:");
    if (strncmp(arn, "arn:", 4) != 0 || !p)
        return NULL;
    p += strlen(":log-group:");
    size_t n = strcspn(p, ":");
    if (n == 0 || n >= cap)
        return NULL;
    memcpy(out, p, n);
    out[n] = '\0';
    return out;
}

int logs_in_group(aws_call *call, bool identifier_allowed, const char **out)
{
    const char *name, *ident = NULL;
    if (logs_in_str(call, "logGroupName", false, 1, LOGS_NAME_MAX, &name) != 0)
        return -1;
    if (identifier_allowed && logs_in_str(call, "logGroupIdentifier", false, 1, 2048, &ident) != 0)
        return -1;
    if (name && ident) {
        aws_reply_error(call, LOGS_ERR_INVALID,
                        "LogGroup name and LogGroup ARN are mutually exclusive parameters.");
        return -1;
    }
    if (ident && strncmp(ident, "arn:", 4) == 0) {
        /* the name lives in the call's state, so it outlives this function */
        char *buf = xmalloc(LOGS_NAME_MAX + 1);
        if (!name_in_arn(ident, buf, LOGS_NAME_MAX + 1)) {
            xfree(buf);
            aws_reply_error(call, LOGS_ERR_INVALID, "Invalid log group identifier: %.300s", ident);
            return -1;
        }
        json_object_set_new(call->input, "logGroupName", json_string(buf));
        xfree(buf);
        name = json_string_value(json_object_get(call->input, "logGroupName"));
    } else if (ident) {
        name = ident;
    }
    if (!name) {
        aws_reply_error(call, LOGS_ERR_INVALID,
                        "1 validation error detected: Value null at 'logGroupName' failed to "
                        "satisfy constraint: Member must not be null");
        return -1;
    }
    *out = name;
    return 0;
}

bool logs_valid_group_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > LOGS_NAME_MAX)
        return false;
    for (const char *p = name; *p; p++)
        if (!strchr("._-/#", *p) && !(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') &&
            !(*p >= '0' && *p <= '9'))
            return false;
    return true;
}

bool logs_valid_stream_name(const char *name)
{
    size_t n = strlen(name);
    return n > 0 && n <= LOGS_NAME_MAX && !strpbrk(name, ":*");
}

/* ---- the retention sweep -------------------------------------------------------------- */

static void on_sweep(uv_timer_t *t);

static void sweep_done(store_op *op)
{
    logs *lg = op->ctx;
    lg->sweeping = 0;
    if (op->status != 0)
        log_warn("logs retention sweep failed", "status=%d", op->status);
    else if (op->u.logs_expire.deleted > 0)
        log_debug("logs retention sweep", "deleted=%lld", (long long)op->u.logs_expire.deleted);
    int full = op->status == 0 && op->u.logs_expire.deleted >= SWEEP_BATCH;
    if ((full || lg->sweep_again) && !lg->stopping)
        uv_timer_start(&lg->sweep, on_sweep, SWEEP_AGAIN_MS, SWEEP_INTERVAL_MS);
}

static void on_sweep(uv_timer_t *t)
{
    logs *lg = t->data;
    if (lg->stopping)
        return;
    if (lg->sweeping) {
        lg->sweep_again = 1;
        return;
    }
    lg->sweeping = 1;
    lg->sweep_again = 0;
    store_op *op = &lg->sweep_op;
    memset(op, 0, sizeof *op);
    op->kind = STORE_LOGS_EXPIRE;
    op->now_ms = clock_now_ms();
    op->done = sweep_done;
    op->ctx = lg;
    op->u.logs_expire.max = SWEEP_BATCH;
    store_submit(lg->store, op);
}

void logs_sweep_soon(logs *lg)
{
    if (!lg->stopping)
        uv_timer_start(&lg->sweep, on_sweep, 0, SWEEP_INTERVAL_MS);
}

/* ---- lifecycle ------------------------------------------------------------------------ */

int logs_create(logs **out, uv_loop_t *loop, store *st, const logs_config *cfg)
{
    logs *lg = xcalloc(1, sizeof *lg);
    lg->def.model = &model_logs;
    lg->def.json_protocol = AWS_PROTO_JSON_1_1;
    lg->def.ops = logs_ops;
    lg->def.nops = sizeof logs_ops / sizeof logs_ops[0];
    lg->def.ctx = lg;
    lg->loop = loop;
    lg->store = st;
    snprintf(lg->region, sizeof lg->region, "%s", cfg->region);
    snprintf(lg->account, sizeof lg->account, "%s", cfg->account);
    lg->lambda_retention_days = cfg->lambda_retention_days;
    uv_timer_init(loop, &lg->sweep);
    lg->sweep.data = lg;
    uv_timer_start(&lg->sweep, on_sweep, 1000, SWEEP_INTERVAL_MS);
    log_info("logs ready", "lambda_retention_days=%d", lg->lambda_retention_days);
    *out = lg;
    return 0;
}

const aws_service_def *logs_service_def(const logs *lg)
{
    return &lg->def;
}

void logs_shutdown(logs *lg)
{
    if (!lg)
        return;
    lg->stopping = 1;
    uv_timer_stop(&lg->sweep);
}

static void free_after_close(uv_handle_t *h)
{
    xfree(h->data);
}

void logs_destroy(logs *lg)
{
    if (!lg)
        return;
    uv_close((uv_handle_t *)&lg->sweep, free_after_close);
}
