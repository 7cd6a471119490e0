/* CloudWatch Logs internals shared by its files: logs_service.c (operation table,
 * lifecycle, the retention sweep, request helpers), logs_groups.c (groups, streams,
 * retention policies), logs_events.c (PutLogEvents, GetLogEvents, FilterLogEvents and their
 * tokens), logs_put.c (writes from inside the server), logs_filter.c (filter patterns). */
#ifndef SLUICE_LOGS_INTERNAL_H
#define SLUICE_LOGS_INTERNAL_H

#include "services/logs/logs.h"

#include <jansson.h>
#include <stdbool.h>

/* CloudWatch Logs answers with wire errors that other services' rows already describe
 * (the same shape name and status; the JSON protocol carries nothing else). */
#define LOGS_ERR_NOT_FOUND AWS_ERR_EVENTS_RESOURCE_NOT_FOUND      /* ResourceNotFoundException */
#define LOGS_ERR_EXISTS    AWS_ERR_EVENTS_RESOURCE_ALREADY_EXISTS /* ResourceAlreadyExists... */
#define LOGS_ERR_INVALID   AWS_ERR_SNS_INVALID_PARAMETER          /* InvalidParameterException */

#define LOGS_NAME_MAX 512
#define LOGS_DAY_MS   (24LL * 3600 * 1000)

struct logs {
    aws_service_def def;
    uv_loop_t *loop;
    store *store;
    char region[64], account[32];
    int lambda_retention_days;
    uv_timer_t sweep;
    store_op sweep_op; /* the expire op (one at a time) */
    int sweeping;      /* sweep_op is in flight */
    int sweep_again;   /* a sweep was asked for while one was in flight */
    int stopping;
    size_t put_bytes_in_flight; /* logs_put writes not yet completed */
    uint64_t put_dropped;       /* events dropped over the bound since the last warning */
};

/* A call's state while its store op runs: the op, the call, and whatever the operation
 * needs to reply (allocated with the request, freed by logs_request_free). */
typedef struct logs_request logs_request;
typedef void (*logs_reply_fn)(logs_request *r);
struct logs_request {
    store_op op;
    aws_call *call;
    logs *lg;
    logs_reply_fn reply; /* runs once the op completed (-EIO answered already) */
    void *extra;         /* the operation's own state */
    void (*extra_free)(void *extra);
};

static inline logs *logs_of(const aws_call *call)
{
    return call->service->ctx;
}

/* ---- requests (logs_service.c) ------------------------------------------------------- */

/* A request for call whose op is of kind (the caller fills op.u, then submits). */
logs_request *logs_request_new(aws_call *call, store_op_kind kind, logs_reply_fn reply);
/* Submits r's op; reply runs when it completed, r is then freed. */
void logs_request_submit(logs_request *r);
/* Answers the STORE_LOGS_NO_GROUP/NO_STREAM/EXISTS outcome as AWS does; 0 if outcome is OK. */
int logs_reply_outcome(aws_call *call, int outcome);

/* ---- input (logs_service.c): each replies and returns -1 when the member is invalid ---- */

/* A string member (NULL when absent); min/max bound its length when present. */
int logs_in_str(aws_call *call, const char *name, bool required, size_t min, size_t max,
                const char **out);
/* An integer member in [min, max] (dflt when absent). */
int logs_in_int(aws_call *call, const char *name, int64_t min, int64_t max, int64_t dflt,
                int64_t *out);
int logs_in_bool(aws_call *call, const char *name, bool dflt, bool *out);
/* logGroupName, or the name in logGroupIdentifier (a name or an ARN) when allowed. */
int logs_in_group(aws_call *call, bool identifier_allowed, const char **out);
/* The group and stream name rules of CreateLogGroup / CreateLogStream. */
bool logs_valid_group_name(const char *name);
bool logs_valid_stream_name(const char *name);

/* ---- operations ---------------------------------------------------------------------- */

void logs_create_log_group(aws_call *call);
void logs_delete_log_group(aws_call *call);
void logs_describe_log_groups(aws_call *call);
void logs_put_retention_policy(aws_call *call);
void logs_delete_retention_policy(aws_call *call);
void logs_create_log_stream(aws_call *call);
void logs_delete_log_stream(aws_call *call);
void logs_describe_log_streams(aws_call *call);
void logs_put_log_events(aws_call *call);
void logs_get_log_events(aws_call *call);
void logs_filter_log_events(aws_call *call);

/* ---- the retention sweep (logs_service.c) -------------------------------------------- */

/* Runs a sweep soon (a retention was shortened). */
void logs_sweep_soon(logs *lg);

#endif
