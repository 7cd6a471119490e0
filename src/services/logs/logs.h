/* The CloudWatch Logs service (AWS JSON 1.1, X-Amz-Target Logs_20140328.*): log groups,
 * streams and events, the subset `aws logs tail` and the SDKs' log readers use, and the
 * internal API through which functions' logs arrive (logs_put_invocation).
 *
 * Everything lives in the store (groups, streams, events: STORE_LOGS_*); the service keeps
 * no events in memory, only the writes in flight, and those within a bound. */
#ifndef SLUICE_SERVICES_LOGS_H
#define SLUICE_SERVICES_LOGS_H

#include "protocol/aws.h"
#include "store/store.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct logs logs;

/* The environment variable of the retention of the groups Sluice creates for functions. */
#define LOGS_LAMBDA_RETENTION_DEFAULT 7

typedef struct logs_config {
    const char *region, *account;
    /* Retention of the groups created on demand by logs_put (/aws/lambda/NAME), in days;
     * 0: their events never expire. Groups created through the API have none, as in AWS. */
    int lambda_retention_days;
} logs_config;

/* Starts the retention sweep. Borrows everything (strings copied). 0, or -1 (logged). */
int logs_create(logs **out, uv_loop_t *loop, store *st, const logs_config *cfg);
const aws_service_def *logs_service_def(const logs *lg);
/* Stops the sweep. Writes may still be handed in until logs_destroy. */
void logs_shutdown(logs *lg);
/* After the store closed (every write completed). Accepts NULL. */
void logs_destroy(logs *lg);

/* ---- writing from inside the server --------------------------------------------------
 * Fire-and-forget: the event is written by the store in the next group commit, with the
 * group and stream created if missing (the group with the configured retention); nothing
 * waits, and a failure is logged. Writes in flight are bounded: past the bound, new ones are
 * dropped and counted (logged). lg may be NULL (nothing is written). Strings are copied. */
void logs_put(logs *lg, const char *group, const char *stream, int64_t ts_ms, const char *msg,
              size_t len);

/* One function invocation's log (START ... REPORT lines, as lambda_worker.c frames it)
 * written as Lambda writes it: one event per line, to group /aws/lambda/FUNCTION, stream
 * YYYY/MM/DD/[VERSION]WORKER_ID of the worker's start date (VERSION: $LATEST or a published
 * version's number). Lines up to the START line are stamped start_ms, the rest end_ms. lg
 * may be NULL. Copies what it needs. */
/* The stream name of that log into out: YYYY/MM/DD/[VERSION]WORKER_ID (what a function
 * should also see as AWS_LAMBDA_LOG_STREAM_NAME). */
void logs_lambda_stream_name(char *out, size_t cap, const char *version, const char *worker_id,
                             int64_t worker_started_ms);
void logs_put_invocation(logs *lg, const char *function, const char *version, const char *worker_id,
                         int64_t worker_started_ms, int64_t start_ms, int64_t end_ms,
                         const char *log, size_t len);

#endif
