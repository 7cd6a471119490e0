/* Step Functions internals shared by the service's files: the service state, the state
 * machine and execution records, and the helpers of the handlers.
 *
 * State machines are JSON documents (namespace "sfn.machine", keyed by ARN). An execution
 * is a JSON document too (a row keyed by its ARN, sfn_store.c): its description, the id of
 * the definition it runs (taken at start), and its cursor — the state it is in, that
 * state's input, and its phase: "enter" (run the state), "wait" (in a Wait until wakeMs),
 * "task" (a Task's invocation in flight), "retry" (a Task's retry delay), "token" (waiting
 * for a task token), "sync" (for an execution it started), "branches" (for its branches).
 * Its history events are archive records (the archive named by the execution's ARN). Every
 * transition commits the events it produced and the new document in one store group before
 * the next runs (sfn_exec.c). Only executions with something to do soon are in memory. */
#ifndef SLUICE_SERVICES_SFN_INTERNAL_H
#define SLUICE_SERVICES_SFN_INTERNAL_H

#include "services/stepfunctions/stepfunctions.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define SFN_NS_MACHINE "sfn.machine"

/* One execution in memory. */
typedef struct sfn_exec {
    json_t *doc;               /* the persisted document */
    json_t *def;               /* its definition, parsed */
    bool committing;           /* a transition's commit is in flight */
    bool invoking;             /* a Task's invocation is in flight */
    bool resume_task;          /* restarted in a Task: invoke again when the timer fires */
    bool sync_missing;         /* the execution its .sync task started is not in the store */
    unsigned inflight;         /* calls made for it and not yet answered (of any attempt) */
    aws_call *sync_call;       /* a StartSyncExecution waiting for its end */
    int64_t timeout_ms;        /* the definition's TimeoutSeconds from the start: 0 for none */
    struct sfn_parked *parked; /* calls about it that wait for its commit (SendTask*) */
    int64_t wake_ms;           /* run the next step then (a Wait's end, a resume): 0 for none */
    struct sfn_exec *next, *prev;
    struct sfn_test *test; /* TestState: the call this unlinked one-state run answers */
    json_t *input;         /* its input parsed, kept once a context object needed it */
} sfn_exec;

struct sfn {
    aws_service_def def;
    uv_loop_t *loop;
    store *store;
    struct lambda *lambda;    /* Task states' functions (may be NULL) */
    struct events *events;    /* HTTP Tasks' connections (sfn_http.c; may be NULL) */
    struct http_client *http; /* HTTP Tasks' requests: made at the first one */
    char region[64];
    char account[32];
    json_t *machines;      /* ARN -> document */
    sfn_exec *execs;       /* the executions in memory (sfn_store.c), newest first */
    size_t nhot;           /* how many */
    size_t nhot_peak;      /* the most nhot has been since the start */
    size_t hot_max;        /* the loader's cap on nhot (sfn_set_max_in_memory) */
    uv_timer_t wait_timer; /* the earliest wake_ms of the waiting executions */
    int64_t timer_at;      /* when wait_timer fires (0: stopped) */
    /* EXPRESS steps are not committed: they wait here for the next turn of the loop */
    struct sfn_transition *express_head, *express_tail;
    uv_idle_t *express_kick; /* allocated apart: it may close after the service is freed */
    json_t *exec_index;      /* execution ARN -> sfn_exec* (a json_integer): sfn_exec_find */
    bool stopping;
    json_t *activities;  /* ARN -> document (sfn_activities.c) */
    json_t *definitions; /* definition id -> [text, parsed, stored]: shared by executions */
    /* the definition text (a JSON string, held) started last and its id (sfn_exec.c) */
    json_t *started_def;
    char started_def_id[65];
    /* sfn_store.c: the executions not in memory */
    int64_t cold_due;          /* the earliest WAKE row not loaded (0: none known) */
    bool loading;              /* the loader's pass is under way */
    bool starting;             /* startup: executions are loaded, none runs yet */
    unsigned char *load_after; /* the loader's place: the WAKE key it read last */
    size_t load_after_len;
    json_t *legacy;                       /* at startup: documents of the former layout, to move */
    struct call_wait *startup_calls;      /* calls about executions that came during startup (they
                                           * run once it is done), newest first */
    struct activity_poll *activity_polls; /* workers' GetActivityTask waiting, newest first */
    struct sfn_test *tests;               /* TestState calls in flight (sfn_test_state.c) */
    /* the services Task states call (sfn_integrations.c), by their SDK id */
    struct sfn_service_ref {
        char sdk_id[24];
        const aws_service_def *def;
    } services[16];
    size_t nservices;
};

static inline sfn *sfn_of(const aws_call *call)
{
    return call->service->ctx;
}

/* The call's string member `name`, or NULL. */
const char *sfn_str(const aws_call *call, const char *name);
/* ms since the epoch as the JSON protocol's timestamp (seconds, fractional). */
json_t *sfn_time_json(int64_t ms);
/* AWS's rule for state machine and execution names. */
bool sfn_valid_name(const char *name);
/* The machine document of arn, or NULL (replies StateMachineDoesNotExist or InvalidArn). */
json_t *sfn_machine_or_reply(aws_call *call, const char *arn);
/* Is arn shaped as an ARN of this service ("arn:aws:states:")? */
bool sfn_arn_ok(const char *arn);

/* sfn_exec.c: operations, startup and timers. */
void sfn_start_execution(aws_call *call);
void sfn_start_sync_execution(aws_call *call);
void sfn_describe_execution(aws_call *call);
void sfn_list_executions(aws_call *call);
void sfn_stop_execution(aws_call *call);
void sfn_get_execution_history(aws_call *call);
/* sfn_map_run.c: Map Runs. */
void sfn_describe_map_run(aws_call *call);
void sfn_list_map_runs(aws_call *call);
void sfn_update_map_run(aws_call *call);
void sfn_describe_state_machine_for_execution(aws_call *call);
/* sfn_store.c: executions in the store, loading and eviction. */
/* Reads the definitions, moves documents of the former layout, starts loading the
 * executions due (they resume once all due at startup are in memory). */
int sfn_store_open(sfn *s);
void sfn_store_close(sfn *s);
void sfn_exec_restore(const char *key, const char *doc, void *arg);
/* sfn_versions.c: versions and aliases. */
/* What a (possibly qualified) state machine ARN runs: a new reference to the machine's
 * document, or to a view of a version (with "versionArn", and "aliasArn" when arn names an
 * alias: route picks the alias's version by weight); NULL (replied) if there is none. */
json_t *sfn_machine_target_or_reply(aws_call *call, const char *arn, bool route);
/* Publishes machine m's current definition as a new version (or gives the last one if
 * nothing changed): its ARN into arn_out and creation time; NULL at the version limit. */
const char *sfn_publish(json_t *m, const char *description, char *arn_out, size_t cap,
                        int64_t *created);
void sfn_publish_version(aws_call *call);
void sfn_list_versions(aws_call *call);
void sfn_delete_version(aws_call *call);
void sfn_create_alias(aws_call *call);
void sfn_describe_alias(aws_call *call);
void sfn_update_alias(aws_call *call);
void sfn_delete_alias(aws_call *call);
void sfn_list_aliases(aws_call *call);
void sfn_redrive_execution(aws_call *call);
/* sfn_activities.c: activities and their workers' polls. */
void sfn_activity_restore(const char *key, const char *doc, void *arg);
void sfn_create_activity(aws_call *call);
void sfn_describe_activity(aws_call *call);
void sfn_delete_activity(aws_call *call);
void sfn_list_activities(aws_call *call);
void sfn_get_activity_task(aws_call *call);
void sfn_activities_stop(sfn *s); /* answers the waiting polls */
/* sfn_task.c: task tokens. */
void sfn_send_task_success(aws_call *call);
void sfn_send_task_failure(aws_call *call);
void sfn_send_task_heartbeat(aws_call *call);
void sfn_exec_resume_all(sfn *s);
void sfn_execs_free(sfn *s);
/* EXPRESS steps not yet run (shutdown): dropped. */
void sfn_express_discard(sfn *s);
/* sfn_test_state.c: TestState, one state run apart from every execution. */
void sfn_test_state(aws_call *call);
void sfn_tests_stop(sfn *s); /* answers the calls in flight (shutdown) */
void sfn_tests_free(sfn *s);

#endif
