/* Lambda service internals shared by its files: lambda_service.c (table, lifecycle,
 * helpers), lambda_functions.c (the function API), lambda_invoke.c (Invoke, the durable
 * Event queue), lambda_worker.c (worker processes, the Runtime API, logs), lambda_code.c
 * (zip safety). */
#ifndef SLUICE_LAMBDA_INTERNAL_H
#define SLUICE_LAMBDA_INTERNAL_H

#include "common/buf.h"
#include "delivery/delivery.h"
#include "delivery/fanout.h"
#include "services/lambda/lambda.h"

#include <jansson.h>

#define LAMBDA_NS_FUNCTION       "lambda.function"  /* key: name; doc: see lambda_functions.c */
#define LAMBDA_NS_ESM            "lambda.esm"       /* key: UUID; doc: see lambda_esm.c */
#define LAMBDA_PAYLOAD_MAX       (6u * 1024 * 1024) /* synchronous request and response */
#define LAMBDA_ASYNC_PAYLOAD_MAX (256u * 1024)
#define LAMBDA_LOG_TAIL_BYTES    4096
#define LAMBDA_EVENT_RETRIES     2 /* Lambda retries a failed asynchronous invocation twice */
#define LAMBDA_EVENT_LEASE_MS    (20 * 60 * 1000)

/* Lambda answers these with wire errors that other services' rows already describe. */
#define LAMBDA_ERR_NOT_FOUND AWS_ERR_SQS_RESOURCE_NOT_FOUND  /* 404 */
#define LAMBDA_ERR_TOO_MANY  AWS_ERR_SESV2_TOO_MANY_REQUESTS /* 429 */
#define LAMBDA_ERR_INVALID   AWS_ERR_LAMBDA_INVALID_PARAMETER_VALUE

typedef struct lambda_worker lambda_worker;
typedef struct lambda_esm lambda_esm;

/* A function's $LATEST, or one of its published versions (lambda_versions.c). Workers run
 * one lambda_fn's code and configuration. */
typedef struct lambda_fn {
    char *name;
    char version[16];    /* "$LATEST", or the published version's number */
    json_t *doc;         /* $LATEST: the stored document (FunctionConfiguration members, Tags,
                          * CodeHex: the code directory's name, Versions, Aliases, Policy,
                          * ReservedConcurrentExecutions); a version: its configuration with
                          * CodeHex (a member of $LATEST's Versions, shared) */
    unsigned generation; /* bumped by every change: workers of older ones retire */
    unsigned workers;    /* live workers (the fn is freed when deleted and this is 0) */
    int deleted;
    struct lambda_fn *latest;    /* $LATEST of the function (itself for $LATEST) */
    struct lambda_fn **versions; /* $LATEST only: the published versions, ascending */
    size_t nversions;
} lambda_fn;

struct lambda {
    aws_service_def def;
    uv_loop_t *loop;
    store *store;
    char region[64], account[32];
    char data_dir[1024], public_url[600], runtimes_dir[1024];
    char access_key[128], secret_key[128];
    uint64_t idle_ms;
    unsigned concurrency;
    int port;
    lambda_fn **fns; /* sorted by name */
    size_t nfns, cap;
    lambda_worker *workers; /* every live worker */
    unsigned nworkers;
    unsigned allocated_workers; /* not yet freed (their handles may still be closing) */
    int destroyed;              /* lambda_destroy ran: free when the last worker is freed */
    delivery *events;           /* asynchronous invocations */
    delivery_kind event_kind;
    sqs *queues;                /* event sources, destinations (borrowed) */
    dynamodb *tables;           /* event sources: their streams (borrowed, may be NULL) */
    const aws_service_def *bus; /* EventBridge: destinations that are event buses (may be NULL) */
    sns *topics;                /* destinations (borrowed, may be NULL) */
    struct logs *logs;          /* invocations' logs go there (borrowed, may be NULL) */
    lambda_esm *esms;           /* event source mappings, in creation order */
    int esms_started;
    int stopping;
};

/* ---- functions (lambda_functions.c, lambda_service.c) --------------------------------- */

lambda_fn *lambda_fn_find(lambda *l, const char *name_or_arn);
void lambda_fn_arn(const lambda *l, const char *name, char *out, size_t cap);
/* The Runtime's code directory: DATA/lambda/NAME/HEX/code. */
void lambda_fn_code_dir(const lambda *l, const lambda_fn *fn, char *out, size_t cap);
/* Replies ResourceNotFoundException for the function named in the call's input. */
void lambda_reply_not_found(aws_call *call);
/* The function ($LATEST) the call's FunctionName names, or NULL (replied not found). */
lambda_fn *lambda_fn_of_call(aws_call *call);
/* 1 if the call gives no RevisionId or doc's; else replies PreconditionFailedException
 * (naming api, the call that reads the revision) and returns 0. */
int lambda_revision_matches(aws_call *call, const json_t *doc, const char *api);
/* The call's MaxItems (default 50), or -1 if out of 1..10000 (replied). */
json_int_t lambda_max_items(aws_call *call);
/* The same, naming the function's ARN with qualifier (NULL or "": none). */
void lambda_reply_not_found_q(aws_call *call, const char *qualifier);
void lambda_fn_release(lambda *l, lambda_fn *fn); /* frees a deleted fn with no workers */

/* FunctionConfiguration of fn (a new object). */
json_t *lambda_fn_configuration(const lambda_fn *fn);
/* Commits fn's function document (fn->latest's) and answers reply (taken; NULL: empty). */
void lambda_fn_persist(lambda *l, aws_call *call, json_t *reply, lambda_fn *fn);
/* Stamps LastModified and a new RevisionId on a document. */
void lambda_doc_touch(json_t *doc);

void lambda_create_function(aws_call *call);
void lambda_get_function(aws_call *call);
void lambda_get_function_configuration(aws_call *call);
void lambda_list_functions(aws_call *call);
void lambda_update_function_code(aws_call *call);
void lambda_update_function_configuration(aws_call *call);
void lambda_delete_function(aws_call *call);
void lambda_tag_resource(aws_call *call);
void lambda_untag_resource(aws_call *call);
void lambda_list_tags(aws_call *call);
int lambda_functions_load(lambda *l);
void lambda_functions_free(lambda *l);
/* GET .../code/NAME/HEX.zip */
void lambda_serve_code(lambda *l, http_request *req, const char *rest);

/* ---- versions, aliases, concurrency, permissions (lambda_versions.c, lambda_policy.c) ----- */

/* The version that a call names, from name_or_arn (NAME, NAME:QUALIFIER, or a function ARN,
 * qualified or not) and qualifier (may be NULL): $LATEST, a published version, or, for an
 * alias, the version its routing picks for this invocation. NULL if there is none. */
lambda_fn *lambda_fn_target(lambda *l, const char *name_or_arn, const char *qualifier);
/* The same without routing: an alias names its FunctionVersion (GetFunction and the like). */
lambda_fn *lambda_fn_version(lambda *l, const char *name_or_arn, const char *qualifier);
/* The qualifier in name_or_arn (after NAME:), or "" (out: at least 130 bytes). */
void lambda_qualifier_of(const char *name_or_arn, char *out, size_t cap);
/* Rebuilds the version objects of a $LATEST from its document (load). */
void lambda_versions_load(lambda *l, lambda_fn *fn);
/* Publishes $LATEST as a new version unless the last one has the same code and
 * configuration; returns that version. */
lambda_fn *lambda_publish(lambda *l, lambda_fn *fn, const char *description);
/* The function is deleted: so are its versions (workers retire). */
void lambda_versions_delete_all(lambda *l, lambda_fn *fn);
void lambda_versions_free(lambda_fn *fn); /* at shutdown */
void lambda_publish_version(aws_call *call);
void lambda_list_versions(aws_call *call);
/* DeleteFunction with a version Qualifier. */
void lambda_delete_version(aws_call *call, lambda_fn *fn, const char *qualifier);
void lambda_create_alias(aws_call *call);
void lambda_get_alias(aws_call *call);
void lambda_update_alias(aws_call *call);
void lambda_delete_alias(aws_call *call);
void lambda_list_aliases(aws_call *call);
void lambda_put_concurrency(aws_call *call);
void lambda_get_concurrency(aws_call *call);
void lambda_delete_concurrency(aws_call *call);
void lambda_add_permission(aws_call *call);
void lambda_remove_permission(aws_call *call);
void lambda_get_policy(aws_call *call);
/* Reserved concurrency of fn's function, or -1 if it has none. */
long lambda_reserved_concurrency(const lambda_fn *fn);
/* The sum of every function's reserved concurrency. */
unsigned long lambda_reserved_total(const lambda *l);

/* ---- invocation (lambda_invoke.c) ------------------------------------------------------ */

void lambda_invoke_op(aws_call *call);
int lambda_events_start(lambda *l);

/* ---- asynchronous outcomes and destinations (lambda_destinations.c) -------------------- */

typedef struct lambda_result lambda_result;
/* An attempt of the "lambda-event" delivery job ended with r: retry it, or finish it (and
 * send the record to the OnSuccess/OnFailure destination), per the function's
 * EventInvokeConfig. Ends the job (done, retry or finish op). */
/* Plans the record (JSON text) for destination arn (an SQS queue, SNS topic or function)
 * into f; -1 (reason in err) if it cannot. */
int lambda_destination_plan(lambda *l, fanout *f, const char *arn, const char *text, char *err,
                            size_t errlen);
void lambda_event_outcome(lambda *l, delivery_job *job, const char *fn_name, const char *request_id,
                          const lambda_result *r);

/* ---- event source mappings (lambda_esm.c) -------------------------------------------- */

void lambda_create_esm(aws_call *call);
void lambda_get_esm(aws_call *call);
void lambda_update_esm(aws_call *call);
void lambda_delete_esm(aws_call *call);
void lambda_list_esms(aws_call *call);
int lambda_esms_load(lambda *l);
void lambda_esms_start(lambda *l); /* once the Runtime API's port is known */
void lambda_esms_stop(lambda *l);
void lambda_esms_free(lambda *l);

/* The mapping's configuration (its document: read it at each batch, it changes). */
json_t *lambda_esm_doc(lambda_esm *m);
const char *lambda_esm_uuid(const lambda_esm *m);
void lambda_esm_set_result(lambda_esm *m, const char *result);
/* Whether record passes the mapping's FilterCriteria (none: all pass). */
int lambda_esm_passes_filters(const lambda_esm *m, const json_t *record);
/* A source's poller has ended (after its last invocation): m may be freed. */
void lambda_esm_poller_gone(lambda_esm *m);

/* ---- event source mappings from DynamoDB streams (lambda_esm_stream.c) ---------------- */

typedef struct esm_stream esm_stream;
/* Checks a stream mapping's configuration as Lambda does; replies and returns -1 if not. */
int lambda_esm_stream_validate(aws_call *call, lambda *l, const json_t *doc);
/* Members of a stream mapping's configuration that CreateEventSourceMapping defaults. */
void lambda_esm_stream_defaults(json_t *doc);
int lambda_esm_is_stream(const char *source_arn);
esm_stream *lambda_esm_stream_start(lambda *l, lambda_esm *m);
/* Stops reading; ends now, or after the invocation running (then lambda_esm_poller_gone). */
void lambda_esm_stream_stop(esm_stream *s);

/* ---- asynchronous invocation settings (lambda_eic.c) ---------------------------------- */

void lambda_put_eic(aws_call *call);
void lambda_update_eic(aws_call *call);
void lambda_get_eic(aws_call *call);
void lambda_delete_eic(aws_call *call);
void lambda_list_eics(aws_call *call);

/* ---- workers (lambda_worker.c) --------------------------------------------------------- */

typedef enum {
    LAMBDA_RESULT_OK,             /* payload: the handler's response */
    LAMBDA_RESULT_FUNCTION_ERROR, /* payload: the error JSON (X-Amz-Function-Error) */
} lambda_result_kind;

struct lambda_result {
    lambda_result_kind kind;
    buf payload;
    buf log; /* START ... REPORT */
};

/* Called once with the outcome (borrowed for the call). */
typedef void (*lambda_done_fn)(lambda_result *r, void *arg);

/* Runs payload (copied) on a warm worker of fn, or a new one. Returns 0 (done will be
 * called), or -1 when fn is at its concurrency cap (done is not called). */
int lambda_invoke(lambda *l, lambda_fn *fn, const char *request_id, const char *payload, size_t len,
                  lambda_done_fn done, void *arg);
/* fn changed or was deleted: idle workers stop now, busy ones after their invocation. */
void lambda_workers_retire(lambda *l, lambda_fn *fn);
void lambda_workers_stop_all(lambda *l);
/* The Runtime API: rest is the path after ".../rt/". */
void lambda_runtime_api(lambda *l, http_request *req, const char *rest);

/* ---- helpers (lambda_service.c) -------------------------------------------------------- */

const char *lambda_str(const aws_call *call, const char *name);
/* A worker was freed: after lambda_destroy, the last one frees the service. */
void lambda_worker_freed(lambda *l);

#endif
