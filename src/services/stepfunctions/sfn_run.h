/* The interpreter's shared pieces (sfn_exec.c runs states and commits transitions;
 * sfn_task.c runs Task states through them): a transition — the history events of one
 * step and its commit with the execution's document — and the data-flow helpers of a
 * state (InputPath, Parameters, ResultPath, OutputPath, the context object). */
#ifndef SLUICE_SERVICES_SFN_RUN_H
#define SLUICE_SERVICES_SFN_RUN_H

#include "services/stepfunctions/sfn_errors.h"
#include "services/stepfunctions/sfn_internal.h"

#include <jansson.h>
#include <string.h>

static inline const char *sfn_doc_str(const json_t *doc, const char *name)
{
    return json_string_value(json_object_get(doc, name));
}

static inline int64_t sfn_doc_int(const json_t *doc, const char *name)
{
    return json_integer_value(json_object_get(doc, name));
}

static inline bool sfn_exec_running(const sfn_exec *e)
{
    return strcmp(sfn_doc_str(e->doc, "status"), "RUNNING") == 0;
}

/* One step of an execution: its events, then one store group with the document. */
typedef struct sfn_transition {
    sfn *s;
    sfn_exec *ex;
    aws_call *call; /* answered after the commit (StartExecution, StopExecution) */
    json_t *reply;
    int64_t now;
    json_t *events; /* the events of this step, in order */
    /* the commit */
    store_op group, archive_op, doc_op;
    store_op *children[2];
    store_archived *records;
    store_doc doc;
    char *doc_text;
} sfn_transition;

sfn_transition *sfn_transition_new(sfn *s, sfn_exec *ex);
/* Commits t's events and the execution's document; takes t. The execution's next step
 * runs from the commit's completion, as its cursor's phase says. */
void sfn_transition_commit(sfn_transition *t);
/* An event of `type` with its details (taken; NULL: none) under key. */
void sfn_emit(sfn_transition *t, const char *type, const char *key, json_t *details);
void sfn_state_entered(sfn_transition *t, const char *type, const char *name, const json_t *input);
void sfn_state_exited(sfn_transition *t, const char *type, const char *name, const json_t *output);
void sfn_execution_fail(sfn_transition *t, const char *error, const char *cause);
/* Moves on with output (borrowed): to the state `next`, or (NULL) ends the execution. */
void sfn_go_next(sfn_transition *t, const char *next, json_t *output);
/* A state's output over the 256 KiB payload limit fails the execution with
 * States.DataLimitExceeded (returns true). */
#define SFN_MAX_PAYLOAD 262144
bool sfn_output_over_limit(sfn_transition *t, const char *name, const json_t *output);
/* Compact JSON text of v, as a JSON string. */
json_t *sfn_json_text(const json_t *v);
/* Re-arms the service timer on the earliest wake_ms. */
void sfn_timer_arm(sfn *s);

/* The data of one state being run. */
typedef struct sfn_step_io {
    const json_t *state;
    json_t *input;   /* the state's raw input (borrowed) */
    json_t *context; /* owned */
    sfn_error err;
} sfn_step_io;

json_t *sfn_context_object(const sfn_exec *ex, const char *name, int64_t now);
/* A path field of a state: its text, "$" when absent, NULL for JSON null. */
const char *sfn_path_field(const json_t *state, const char *field);
/* InputPath, then Parameters (when asked). New reference, or NULL with io->err set. */
json_t *sfn_effective_input(sfn_step_io *io, bool parameters);
/* ResultPath on the raw input (when asked), then OutputPath. Takes result; NULL with
 * io->err set. */
json_t *sfn_state_output(sfn_step_io *io, json_t *result, bool result_path);

/* sfn_task.c: Task states. */
/* Enters the Task state (TaskStateEntered emitted): schedules the invocation. */
void sfn_task_enter(sfn_transition *t, sfn_step_io *io, const char *name);
/* A Task's cursor came back to the step loop: its retry delay ended ("retry": schedules
 * again) or its deadline passed while invoking ("task": States.Timeout). */
void sfn_task_wake(sfn_transition *t, sfn_step_io *io, const char *name);
/* Starts the invocation a committed "task" cursor describes. */
void sfn_task_start(sfn *s, sfn_exec *ex);

#endif
