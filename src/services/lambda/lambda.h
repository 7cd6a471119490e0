/* The Lambda service: functions (REST-JSON, API 2015-03-31, /2015-03-31/functions/...) whose
 * code runs as local worker processes speaking the Lambda Runtime API, served by sluiced
 * under LAMBDA_HTTP_PREFIX on its own port. */
#ifndef SLUICE_LAMBDA_H
#define SLUICE_LAMBDA_H

#include "net/http_server.h"
#include "services/dynamodb/dynamodb.h"
#include "services/sns/sns.h"
#include "services/sqs/sqs.h"
#include "protocol/aws.h"
#include "store/store.h"

#include <stdint.h>
#include <uv.h>

/* The plain HTTP endpoints: GET .../code/NAME/SHA.zip (Code.Location) and the per-worker
 * Runtime API, .../rt/TOKEN/2018-06-01/runtime/... */
#define LAMBDA_HTTP_PREFIX "/_sluice/lambda/"

typedef struct lambda lambda;

typedef struct lambda_config {
    const char *region, *account;
    const char *data_dir;   /* code lives in DATA/lambda/ */
    const char *public_url; /* base of Code.Location; AWS_ENDPOINT_URL of the workers */
    const char *access_key; /* handed to workers ("" = "test") */
    const char *secret_key;
    const char *runtimes_dir; /* "" = found next to the executable (lambda_worker.c) */
    uint64_t idle_ms;         /* idle workers stop after this */
    unsigned concurrency;     /* cap on running workers, per function and server-wide */
    sqs *queues;              /* event source mappings read these queues (borrowed) */
    dynamodb *tables;         /* ... and these tables' streams (borrowed, may be NULL) */
} lambda_config;

/* Loads the functions from the store and starts the asynchronous-invocation dispatcher.
 * Borrows everything (strings copied). 0, or -1 (logged). */
int lambda_create(lambda **out, uv_loop_t *loop, store *st, const lambda_config *cfg);
/* The topics that asynchronous invocations' destinations may name (borrowed). */
void lambda_set_topics(lambda *l, sns *topics);
/* The CloudWatch Logs service invocations' logs are written to (borrowed; NULL: none). */
struct logs;
void lambda_set_logs(lambda *l, struct logs *lg);
/* EventBridge (borrowed): asynchronous invocations' destinations may be event buses. */
void lambda_set_bus(lambda *l, const aws_service_def *events_def);
/* The port the Runtime API is reached on (known once the listener is up). */
void lambda_set_port(lambda *l, int port);
const aws_service_def *lambda_service_def(const lambda *l);
/* The http_handler_fn of LAMBDA_HTTP_PREFIX (ctx: the lambda). */
void lambda_handle_http(http_request *req, void *ctx);
/* ---- asynchronous invocations planned by other services -----------------------------
 * An EventBridge target or an SNS subscription invokes a function asynchronously by
 * planning a pending delivery of this kind in its own transaction (fanout_delivery), with
 * the target {"FunctionName": NAME or ARN} and the event as payload, then calling
 * lambda_events_committed once that transaction committed. Optional target members:
 * "rule" and "target" (an EventBridge rule's ARN and target definition: if the function
 * does not exist, the event goes to the target's DeadLetterConfig queue). */
#define LAMBDA_EVENT_KIND "lambda-event"
void lambda_events_committed(lambda *l); /* accepts NULL */

/* ---- synchronous invocations by other services (Step Functions tasks) ----------------
 * lambda_call runs payload (copied) on the function named by name or ARN, as a
 * RequestResponse Invoke does. It returns LAMBDA_CALL_STARTED, and done is called once
 * later with LAMBDA_CALL_OK (payload: the response) or LAMBDA_CALL_FUNCTION_ERROR
 * (payload: the error JSON, {"errorMessage", "errorType", ...}); or it returns
 * LAMBDA_CALL_NOT_FOUND / LAMBDA_CALL_THROTTLED at once, and done is never called. */
enum {
    LAMBDA_CALL_STARTED = 0,
    LAMBDA_CALL_OK = 0,
    LAMBDA_CALL_FUNCTION_ERROR = 1,
    LAMBDA_CALL_NOT_FOUND = 2,
    LAMBDA_CALL_THROTTLED = 3,
};
typedef void (*lambda_call_done_fn)(int outcome, const char *payload, size_t len, void *arg);
int lambda_call(lambda *l, const char *function, const char *payload, size_t len,
                lambda_call_done_fn done, void *arg);

/* Stops every worker (pending invocations fail) and the dispatcher. */
void lambda_shutdown(lambda *l);
/* After the store closed. Accepts NULL. */
void lambda_destroy(lambda *l);

#endif
