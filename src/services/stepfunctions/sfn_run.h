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

/* How many events the execution's history has (committed; documents written before it was
 * counted had lastEventId). */
static inline int64_t sfn_history_count(const json_t *doc)
{
    json_t *n = json_object_get(doc, "eventCount");
    return json_integer_value(n ? n : json_object_get(doc, "lastEventId"));
}

static inline bool sfn_exec_running(const sfn_exec *e)
{
    return strcmp(sfn_doc_str(e->doc, "status"), "RUNNING") == 0;
}

/* An execution's row written by a commit (sfn_store.c), with its side rows (WAKE, LIST). */
typedef struct sfn_row {
    store_op op; /* a KV_MUTATE */
    char *key;
    char *item; /* NULL: delete */
    size_t len;
    store_kv_side *sides;
    size_t nsides;
} sfn_row;

/* One step of an execution: its events, then one store group with the document. */
typedef struct sfn_transition {
    sfn *s;
    sfn_exec *ex;
    aws_call *call; /* answered after the commit (StartExecution, StopExecution) */
    json_t *reply;
    int64_t now;
    /* The step's history record (sfn_emit), written as JSON text directly (jansson trees
     * dumped twice made up most of a step): {"data": [...], "events": [...]}. A state's
     * input or output is not repeated in each event: an event names its place in data,
     * where a run of events with the same data (a Pass state's input and output, the next
     * state's input) has it once. GetExecutionHistory expands the record. */
    buf events, data;
    size_t nevents, ndata;
    size_t last_off, last_len; /* where the last data is in data */
    json_t *last_data;         /* and that value (held: values are not changed once made) */
    bool started;              /* the first event is ExecutionStarted */
    bool no_history;           /* EXPRESS: no events are made (sfn_emit drops them) */
    json_t *more_docs;         /* other executions' documents: [{"key", "doc" (absent: delete)}] */
    json_t *map_runs;          /* Map Run documents to write (sfn_map_run.c) */
    struct sfn_exec **spawned; /* branches this step starts: stepped once it commits */
    size_t nspawned;
    /* the commit */
    store_op group, archive_op, def_op;
    store_op **children;
    store_archived *records;
    sfn_row **rows; /* the executions' rows */
    size_t nrows;
    store_doc *def_docs;                 /* definitions not yet stored */
    json_t *definition_ids;              /* their ids */
    struct sfn_transition *next_express; /* the queue of uncommitted EXPRESS steps */
} sfn_transition;

sfn_transition *sfn_transition_new(sfn *s, sfn_exec *ex);
/* Frees t without committing it (a TestState's steps are never committed). */
void sfn_transition_free(sfn_transition *t);
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
/* ex's wake or timeout time changed: the service timer fires by then. */
void sfn_timer_arm(sfn *s, const sfn_exec *ex);
/* The timer fires by `at` (ms; 0: no change). */
void sfn_timer_wake_by(sfn *s, int64_t at);
/* The timer on the earliest due time (one pass over the executions in memory). */
void sfn_timer_rearm(sfn *s);
/* Links an execution document (taken) into memory. */
sfn_exec *sfn_exec_link(sfn *s, json_t *doc);
/* Frees ex's memory (its parked calls run first, and find it gone). */
void sfn_exec_unlink(sfn *s, sfn_exec *ex);
/* Sets the wake time of a running execution just loaded, as its cursor's phase says. */
void sfn_exec_resume(sfn *s, sfn_exec *ex, int64_t now);
/* Runs ex's next step (if it may: running, nothing committing). */
void sfn_exec_step(sfn *s, sfn_exec *ex);
/* The execution in memory with this ARN, or NULL. */
sfn_exec *sfn_exec_find(const sfn *s, const char *arn);
/* EXPRESS: in memory only. */
bool sfn_exec_ephemeral(const sfn_exec *ex);

/* sfn_store.c */
typedef void (*sfn_load_fn)(sfn *s, sfn_exec *ex, int status, void *arg);
/* Loads the execution arn into memory (if it is not there) and calls done with it (NULL if
 * there is none; status != 0 if the store failed). */
void sfn_exec_load(sfn *s, const char *arn, sfn_load_fn done, void *arg);
/* The execution arn for a call: in memory, or loaded first — then NULL is returned with
 * *pending set, and again(call) runs once it is loaded (NULL then: there is none). During
 * startup every call waits (pending) until it is done. */
sfn_exec *sfn_exec_get(aws_call *call, const char *arn, aws_op_fn again, bool *pending);
/* The row write of execution arn: doc (NULL: delete) as it is committed, mem the document in
 * memory (may be doc or NULL), which records where its WAKE and LIST rows are. */
sfn_row *sfn_row_new(const char *arn, json_t *doc, json_t *mem);
void sfn_row_free(sfn_row *r);
/* The definition of doc goes into t's commit if it is not stored yet. */
void sfn_commit_definitions(sfn_transition *t, const json_t *doc);
/* t's commit stored these definitions (a JSON array of ids). */
void sfn_definitions_saved(sfn *s, const json_t *ids);
/* The parsed definition (new reference, NULL if not JSON) of text, its id into id. */
json_t *sfn_definition_use(sfn *s, const char *text, char id[65]);
json_t *sfn_definition_parsed(sfn *s, const char *id);
const char *sfn_definition_text(const sfn *s, const char *id);
/* The loader: due executions come into memory (called by the timer); when it needs the
 * timer next (0: not). */
void sfn_loader_tick(sfn *s, int64_t now);
int64_t sfn_loader_due(const sfn *s);
/* The archive holding ex's history: its root execution's ARN (branches write there). */
const char *sfn_history_arn(const sfn_exec *ex);
/* Writes doc (NULL: deletes) of the execution `key` in t's commit. */
void sfn_transition_doc(sfn_transition *t, const char *key, const json_t *doc);

/* The data of one state being run. */
typedef struct sfn_step_io {
    const json_t *state;
    json_t *input;   /* the state's raw input (borrowed) */
    json_t *context; /* owned; NULL when the state cannot read it (sfn_step_io_init) */
    sfn_error err;
    bool jsonata; /* the state's QueryLanguage is JSONata (sfn_jsonata.c) */
    json_t *vars; /* the execution's variables (its document's object, or NULL) */
    json_t *doc;  /* the execution's document (where Assign creates "variables") */
    /* TestState: the inspection data being collected (sfn_inspect); NULL otherwise */
    json_t *inspect;
} sfn_step_io;

/* Fills io for `state` (named name) of ex entered with input, at now. */
void sfn_step_io_init(sfn_step_io *io, sfn_exec *ex, const json_t *state, json_t *input,
                      const char *name, int64_t now);

/* Runs ex's next step now (what a committed step's completion does). */
void sfn_exec_run_step(sfn *s, sfn_exec *ex);

/* sfn_test_state.c: the hooks of a TestState run (ex->test set) in the interpreter. */
/* A step of it begins: io collects its inspection data; its context object as asked. */
void sfn_test_step_begin(sfn_exec *ex, sfn_step_io *io);
/* A step of it is done (in place of the commit): takes t. */
void sfn_test_step_done(sfn_transition *t);
/* Its last call in flight came back after it was answered: it may go. */
void sfn_test_release(sfn *s, sfn_exec *ex);
/* Whether ex is a TestState run whose state is mocked (its Task calls nothing). */
bool sfn_test_is_mocked(const sfn_exec *ex);
/* Records value (borrowed) as the JSON text of the inspection field key ("afterInputPath",
 * "result", ...). Nothing outside a TestState. */
void sfn_inspect(sfn_step_io *io, const char *key, const json_t *value);
/* The error a state's handlers were given, and the one that took it: retrier `index`, to
 * run again after delay_ms, or catcher `index`. */
void sfn_inspect_error(sfn_step_io *io, const char *error, const char *cause);
void sfn_inspect_handler(sfn_step_io *io, bool retry, size_t index, int64_t delay_ms);
/* The items a tested Map's ItemReader reads (stateConfiguration.mapItemReaderData): a new
 * array. */
json_t *sfn_test_reader_items(sfn_step_io *io);

/* sfn_jsonata.c: JSONata states and variables. */
bool sfn_state_is_jsonata(const json_t *workflow, const json_t *state);
/* $states: {input, context, result?, errorOutput?} (a new object). */
json_t *sfn_states_var(const sfn_step_io *io, const json_t *result, const json_t *error_output);
/* tmpl (a field's value) with its "{% %}" expressions evaluated: a new value, or NULL with
 * io->err set (States.QueryEvaluationError). */
json_t *sfn_jsonata_render(sfn_step_io *io, const json_t *tmpl, const char *field, json_t *states);
/* Evaluates assign (a state's or a rule's Assign; JSONata with states, or a JSONPath
 * template applied to jsonpath_root) and sets the variables. 0, or -1 with io->err. */
int sfn_assign(sfn_step_io *io, const json_t *assign, json_t *states, const json_t *jsonpath_root);
void sfn_jsonata_cache_free(void);

/* The context object ($$) of the state `name` of ex entered at now (a new object). */
json_t *sfn_context_object(sfn_exec *ex, const char *name, int64_t now);
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
/* A TestState's mock answers the task of a "task" cursor: its result (taken) or its error
 * ends the attempt, whatever the resource's pattern (.sync, .waitForTaskToken, activity). */
void sfn_task_mock_answer(sfn *s, sfn_exec *ex, json_t *result, const char *error,
                          const char *cause);
/* Activities (sfn_activities.c): is arn an activity's; a task of it is offered to the
 * workers (one waiting may take it now). */
bool sfn_is_activity_arn(const char *arn);
void sfn_activity_offered(sfn *s, sfn_exec *ex, const char *arn);
/* A worker (its GetActivityTask call; worker may be NULL) takes ex's offered task: the
 * call is answered with the task token and input once ActivityStarted commits. */
void sfn_task_hand_over(sfn *s, sfn_exec *ex, aws_call *call, const char *worker);
/* A task in phase "sync" whose execution has ended (its step can run). */
bool sfn_task_ready(sfn *s, const sfn_exec *ex);
/* The earliest deadline (TimeoutSeconds, HeartbeatSeconds) of a task's cursor, or 0. */
int64_t sfn_task_deadline(const json_t *cursor);
/* Holds call until ex's commit in flight is done, then runs fn(call) again. */
void sfn_exec_park(sfn_exec *ex, aws_call *call, aws_op_fn fn);
/* Answers the parked calls of ex (the server stops, or ex goes). */
void sfn_exec_unpark_all(sfn_exec *ex);
/* An execution that ended, or a branch, whose memory is no longer needed is freed (once no
 * call of it is in flight and nothing of it is being committed). */
void sfn_exec_maybe_free(sfn *s, sfn_exec *ex);
/* A state's error (cursor with "taskInput" and "attempts"): retried after the first matching
 * retrier's delay (phase "retry"), caught (to the catcher's Next), or the execution fails. */
void sfn_state_error(sfn_transition *t, sfn_step_io *io, const char *error, const char *cause);

/* sfn_branches.c: Parallel and Map states, whose branches and iterations run as child
 * executions (documents with "parent") that write into their root's history. */
static inline bool sfn_is_child(const sfn_exec *e)
{
    return json_object_get(e->doc, "parent") != NULL;
}
/* Enters (or, after a retry delay, re-enters) a Parallel or Map state. */
void sfn_branches_enter(sfn_transition *t, sfn_step_io *io, const char *name, const char *type,
                        bool again);
/* Phase "branches": starts more iterations, or ends the state when all are done or one
 * failed. */
void sfn_branches_step(sfn_transition *t, sfn_step_io *io, const char *name, const char *type);
/* Whether `failures` failed iterations of a Map of `total` exceed its ToleratedFailureCount
 * or ToleratedFailurePercentage (false when it has neither). */
bool sfn_map_over_tolerance(const json_t *state, json_int_t failures, json_int_t total);
/* Whether a parent in phase "branches" has a step to take. */
bool sfn_branches_ready(const sfn_exec *ex);
/* A child execution ended (output, or error and cause): its result goes to its parent's
 * cursor, in t's commit. */
void sfn_child_end(sfn_transition *t, const json_t *output, const char *error, const char *cause);
/* Aborts the running children (and theirs) of the execution parent_arn, in t's commit. */
void sfn_abort_children(sfn_transition *t, const char *parent_arn);
/* A distributed Map's ItemReader read these items (taken): its iterations start. */
void sfn_branches_items(sfn_transition *t, sfn_step_io *io, const char *name, json_t *read);

/* sfn_map_io.c: a distributed Map's ItemReader and ResultWriter over S3 (phases "reading"
 * and "writing"). Whether the Map reads its items from S3 / writes its results there. */
bool sfn_map_has_reader(const sfn_exec *ex, const json_t *state);
bool sfn_map_has_writer(const sfn_exec *ex, const json_t *state);
/* Phase "reading" (the reader's arguments evaluated on eff, borrowed, into cursor), or
 * "writing" (the writer's): 0, or -1 with io->err set. */
int sfn_map_reader_prepare(sfn_step_io *io, json_t *eff, json_t *cursor);
int sfn_map_writer_prepare(sfn_transition *t, sfn_step_io *io, json_t *cursor);
/* Starts the S3 calls a committed "reading" or "writing" cursor describes; their answer is
 * the Map's next step. */
void sfn_map_io_start(sfn *s, sfn_exec *ex);
/* The result of a Map whose ResultWriter wrote: {MapRunArn, ResultWriterDetails} (new). */
json_t *sfn_map_written(const sfn *s, const sfn_exec *ex);
/* The ARN of the Map Run of ex's cursor: arn:aws:states:REGION:ACCOUNT:mapRun:MACHINE/LABEL:ID
 * (malloc'd). */
char *sfn_map_run_arn(const sfn *s, const sfn_exec *ex);

/* sfn_map_run.c: the Map Runs of distributed Maps. Is the Map state a distributed one? */
bool sfn_map_distributed(const json_t *state);
/* The iterations of t->ex's distributed Map start: its Map Run starts (MapRunStarted). */
void sfn_map_run_start(sfn_transition *t, const json_t *state);
/* t->ex's Map Run ends: SUCCEEDED (error NULL) or FAILED (MapRunSucceeded / MapRunFailed).
 * Nothing if its cursor runs none. */
void sfn_map_run_end(sfn_transition *t, const char *error, const char *cause);
/* ex (t->ex, or a branch t aborts) stops while its Map Run runs: ABORTED (MapRunAborted). */
void sfn_map_run_abort(sfn_transition *t, sfn_exec *ex);
/* The MaxConcurrency a Map's cursor runs with (its Map Run's, as UpdateMapRun set it, else
 * the state's), and the object whose ToleratedFailureCount / Percentage apply. */
json_int_t sfn_map_run_limit(const json_t *cursor, const json_t *state);
const json_t *sfn_map_run_tolerance(const json_t *cursor, const json_t *state);
/* The row write of a Map Run document (borrowed), in a transition's commit. */
sfn_row *sfn_map_run_row(const json_t *doc);

#endif
