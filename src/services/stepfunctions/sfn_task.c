/* Task states that invoke this server's Lambda functions: a bare function ARN (the
 * function gets the state's effective input; history LambdaFunction* events) or the
 * integration "arn:aws:states:::lambda:invoke" (Parameters give FunctionName and Payload;
 * the result is the Invoke response with the payload parsed; history Task* events), with
 * Retry, Catch, ResultSelector and TimeoutSeconds.
 *
 * A Task is three kinds of steps, each committed before the next:
 *  1. entering: TaskStateEntered and the Scheduled event, cursor phase "task" with the
 *     effective input and a fresh token; after the commit the function is invoked;
 *  2. the invocation's end (its token must still be the cursor's: a late result of a
 *     timed out or stopped attempt is dropped): Started and Succeeded/Failed events, then
 *     the next state, or the error handling;
 *  3. error handling: the first retrier whose ErrorEquals matches retries after its delay
 *     (phase "retry" until wakeMs, then Scheduled again), else the first matching catcher
 *     moves on with the error at its ResultPath, else the execution fails.
 * TimeoutSeconds is a deadline on the service timer: States.Timeout.
 * After a crash an invocation that was in flight is made again: a Task's function runs
 * at least once per attempt, as Lambda's own retries do (functions should be idempotent). */
#include "services/stepfunctions/sfn_run.h"

#include "common/alloc.h"
#include "common/ids.h"
#include "services/lambda/lambda.h"
#include "services/stepfunctions/sfn_jsonpath.h"
#include "services/stepfunctions/sfn_template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LAMBDA_INVOKE "arn:aws:states:::lambda:invoke"

/* What a Task's Resource names. */
typedef enum { RES_UNSUPPORTED, RES_FUNCTION, RES_INVOKE } resource_kind;

static resource_kind resource_of(const json_t *state)
{
    const char *r = sfn_doc_str(state, "Resource");
    if (!r)
        return RES_UNSUPPORTED;
    if (strcmp(r, LAMBDA_INVOKE) == 0)
        return RES_INVOKE;
    if (strncmp(r, "arn:aws:lambda:", 15) == 0 && strstr(r, ":function:"))
        return RES_FUNCTION;
    return RES_UNSUPPORTED;
}

/* The event details every Task* event of the integration carries. */
static json_t *task_details(void)
{
    return json_pack("{s:s,s:s}", "resourceType", "lambda", "resource", "invoke");
}

/* A Started / Succeeded / Failed / TimedOut event of the state's kind. */
static void task_event(sfn_transition *t, const json_t *state, const char *what, json_t *extra)
{
    bool invoke = resource_of(state) == RES_INVOKE;
    char type[64], key[96];
    snprintf(type, sizeof type, "%s%s", invoke ? "Task" : "LambdaFunction", what);
    snprintf(key, sizeof key, "%s%sEventDetails", invoke ? "task" : "lambdaFunction", what);
    json_t *d = invoke ? task_details() : json_object();
    if (extra)
        json_object_update(d, extra);
    json_decref(extra);
    if (!invoke && strcmp(what, "Started") == 0) {
        json_decref(d);
        sfn_emit(t, type, NULL, NULL);
        return;
    }
    sfn_emit(t, type, key, d);
}

static json_t *error_details(const char *error, const char *cause)
{
    json_t *d = json_object();
    if (error)
        json_object_set_new(d, "error", json_string(error));
    if (cause)
        json_object_set_new(d, "cause", json_string(cause));
    return d;
}

/* Phase "task": a fresh token and deadline, and the Scheduled event. */
static void task_schedule(sfn_transition *t, sfn_step_io *io, json_t *cursor)
{
    json_t *task_input = json_object_get(cursor, "taskInput");
    json_int_t timeout = json_integer_value(json_object_get(io->state, "TimeoutSeconds"));
    json_object_set_new(cursor, "phase", json_string("task"));
    json_object_set_new(cursor, "token", json_integer((json_int_t)(ids_random64() >> 12)));
    json_object_set_new(cursor, "deadlineMs",
                        json_integer(timeout > 0 ? t->now + timeout * 1000 : 0));
    json_object_del(cursor, "wakeMs");
    json_t *d;
    if (resource_of(io->state) == RES_INVOKE) {
        d = task_details();
        json_object_set_new(d, "region", json_string(t->s->region));
        json_object_set_new(d, "parameters", sfn_json_text(task_input));
        if (timeout > 0)
            json_object_set_new(d, "timeoutInSeconds", json_integer(timeout));
        sfn_emit(t, "TaskScheduled", "taskScheduledEventDetails", d);
    } else {
        d = json_pack("{s:s,s:o,s:{s:b}}", "resource", sfn_doc_str(io->state, "Resource"), "input",
                      sfn_json_text(task_input), "inputDetails", "truncated", 0);
        if (timeout > 0)
            json_object_set_new(d, "timeoutInSeconds", json_integer(timeout));
        sfn_emit(t, "LambdaFunctionScheduled", "lambdaFunctionScheduledEventDetails", d);
    }
}

static double random01(void)
{
    return (double)(ids_random64() >> 11) / 9007199254740992.0;
}

/* A retrier that matches error and still has attempts: the cursor waits its delay. */
static bool task_retry(sfn_transition *t, sfn_step_io *io, const char *error)
{
    json_t *cursor = json_object_get(t->ex->doc, "cursor");
    if (!json_object_get(cursor, "taskInput"))
        return false;
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(io->state, "Retry"), i, r)
    {
        if (!sfn_error_equals_match(json_object_get(r, "ErrorEquals"), error))
            continue;
        sfn_retry_policy p;
        char why[256];
        if (sfn_retry_policy_parse(r, &p, why, sizeof why) != 0)
            return false;
        json_t *attempts = json_object_get(cursor, "attempts");
        char key[24];
        snprintf(key, sizeof key, "%zu", i);
        json_int_t done = json_integer_value(json_object_get(attempts, key));
        int64_t delay = sfn_retry_delay_ms(&p, done, random01());
        if (delay < 0)
            return false; /* the first matching retrier is exhausted: to the catchers */
        json_object_set_new(attempts, key, json_integer(done + 1));
        json_object_set_new(cursor, "phase", json_string("retry"));
        json_object_set_new(cursor, "wakeMs", json_integer(t->now + delay));
        return true;
    }
    return false;
}

/* A Task's (or a Parallel's, a Map's) error: retried, caught, or the execution fails. */
void sfn_state_error(sfn_transition *t, sfn_step_io *io, const char *error, const char *cause)
{
    if (task_retry(t, io, error))
        return;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(io->state, "Catch"), i, c)
    {
        if (!sfn_error_equals_match(json_object_get(c, "ErrorEquals"), error))
            continue;
        json_t *err = json_pack("{s:s,s:s}", "Error", error, "Cause", cause ? cause : "");
        json_t *out = NULL;
        sfn_error e;
        if (sfn_result_path_apply(sfn_path_field(c, "ResultPath"), io->input, err, &out, &e) != 0)
            sfn_execution_fail(t, e.name, e.cause);
        else
            sfn_go_next(t, sfn_doc_str(c, "Next"), out);
        json_decref(out);
        json_decref(err);
        return;
    }
    sfn_execution_fail(t, error, cause);
}

void sfn_task_enter(sfn_transition *t, sfn_step_io *io, const char *name)
{
    if (resource_of(io->state) == RES_UNSUPPORTED) {
        char cause[600];
        snprintf(cause, sizeof cause, "Sluice does not run the resource '%s' yet",
                 sfn_doc_str(io->state, "Resource"));
        sfn_execution_fail(t, "States.Runtime", cause);
        return;
    }
    json_t *eff = sfn_effective_input(io, true);
    if (!eff) {
        sfn_state_error(t, io, io->err.name, io->err.cause);
        return;
    }
    json_t *cursor = json_pack("{s:s,s:O,s:o,s:{}}", "state", name, "stateInput", io->input,
                               "taskInput", eff, "attempts");
    json_object_set_new(t->ex->doc, "cursor", cursor);
    task_schedule(t, io, cursor);
}

void sfn_task_wake(sfn_transition *t, sfn_step_io *io, const char *name)
{
    (void)name;
    json_t *cursor = json_object_get(t->ex->doc, "cursor");
    if (strcmp(sfn_doc_str(cursor, "phase"), "retry") == 0) {
        task_schedule(t, io, cursor);
        return;
    }
    /* the deadline passed while invoking: the late result will find another token */
    t->ex->invoking = false;
    task_event(t, io->state, "TimedOut", error_details("States.Timeout", NULL));
    json_object_set_new(cursor, "token", json_integer(0));
    sfn_state_error(t, io, "States.Timeout", NULL);
}

/* ---- the invocation ------------------------------------------------------------------ */

typedef struct task_call {
    sfn *s;
    sfn_exec *ex;
    json_int_t token;
} task_call;

/* The integration's result: Lambda's Invoke response, its payload parsed. */
static json_t *invoke_response(json_t *payload)
{
    char rid[37];
    ids_uuid4(rid);
    return json_pack("{s:s,s:o,s:{s:{s:s},s:i},s:{s:s},s:i}", "ExecutedVersion", "$LATEST",
                     "Payload", payload, "SdkHttpMetadata", "HttpHeaders", "Content-Type",
                     "application/json", "HttpStatusCode", 200, "SdkResponseMetadata", "RequestId",
                     rid, "StatusCode", 200);
}

/* The function returned: ResultSelector, ResultPath, OutputPath, then the next state. */
static void task_succeeded(sfn_transition *t, sfn_step_io *io, const char *name, json_t *result)
{
    task_event(t, io->state, "Succeeded",
               json_pack("{s:o,s:{s:b}}", "output", sfn_json_text(result), "outputDetails",
                         "truncated", 0));
    if (resource_of(io->state) == RES_INVOKE)
        result = invoke_response(result);
    json_t *selector = json_object_get(io->state, "ResultSelector");
    if (selector) {
        json_t *sel = NULL;
        int rc = sfn_template_apply(selector, result, io->context, &sel, &io->err);
        json_decref(result);
        if (rc != 0) {
            sfn_state_error(t, io, io->err.name, io->err.cause);
            return;
        }
        result = sel;
    }
    json_t *out = sfn_state_output(io, result, true);
    if (!out) {
        sfn_state_error(t, io, io->err.name, io->err.cause);
        return;
    }
    if (!sfn_output_over_limit(t, name, out)) {
        sfn_state_exited(t, "Task", name, out);
        sfn_go_next(t, sfn_doc_str(io->state, "Next"), out);
    }
    json_decref(out);
}

static void task_function_failed(sfn_transition *t, sfn_step_io *io, const char *payload)
{
    json_t *err = json_loads(payload, 0, NULL);
    const char *type = sfn_doc_str(err, "errorType");
    char *error = xstrdup(type ? type : "Lambda.Unknown");
    json_decref(err);
    task_event(t, io->state, "Failed", error_details(error, payload));
    sfn_state_error(t, io, error, payload);
    xfree(error);
}

/* The invocation's outcome, as one step. */
static void task_finish(sfn *s, sfn_exec *ex, int outcome, const char *payload)
{
    json_t *cursor = json_incref(json_object_get(ex->doc, "cursor"));
    const char *name = sfn_doc_str(cursor, "state");
    sfn_transition *t = sfn_transition_new(s, ex);
    sfn_step_io io = {.state = json_object_get(json_object_get(ex->def, "States"), name),
                      .input = json_object_get(cursor, "stateInput"),
                      .context = sfn_context_object(ex, name, t->now)};
    if (outcome == LAMBDA_CALL_NOT_FOUND || outcome == LAMBDA_CALL_THROTTLED) {
        const char *error = outcome == LAMBDA_CALL_NOT_FOUND ? "Lambda.ResourceNotFoundException"
                                                             : "Lambda.TooManyRequestsException";
        task_event(t, io.state, "StartFailed", error_details(error, payload));
        sfn_state_error(t, &io, error, payload);
    } else {
        task_event(t, io.state, "Started", NULL);
        json_t *result =
            outcome == LAMBDA_CALL_OK ? json_loads(payload, JSON_DECODE_ANY, NULL) : NULL;
        if (outcome == LAMBDA_CALL_OK && result)
            task_succeeded(t, &io, name, result);
        else if (outcome == LAMBDA_CALL_OK)
            sfn_state_error(t, &io, "States.Runtime", "The function's result is not JSON");
        else
            task_function_failed(t, &io, payload);
    }
    json_decref(io.context);
    json_decref(cursor);
    sfn_transition_commit(t);
}

static void task_call_done(int outcome, const char *payload, size_t len, void *arg)
{
    task_call *c = arg;
    sfn *s = c->s;
    sfn_exec *ex = c->ex;
    json_int_t token = c->token;
    xfree(c);
    if (s->stopping || !sfn_exec_running(ex))
        return; /* stopped; or shutting down: the restart invokes again */
    json_t *cursor = json_object_get(ex->doc, "cursor");
    if (!cursor || strcmp(sfn_doc_str(cursor, "phase"), "task") != 0 ||
        sfn_doc_int(cursor, "token") != token || ex->committing)
        return; /* a late result of an attempt that timed out */
    ex->invoking = false;
    ex->wake_ms = 0;
    char *text = xstrndup(payload, len);
    task_finish(s, ex, outcome, text);
    xfree(text);
}

void sfn_task_start(sfn *s, sfn_exec *ex)
{
    json_t *cursor = json_object_get(ex->doc, "cursor");
    json_t *state =
        json_object_get(json_object_get(ex->def, "States"), sfn_doc_str(cursor, "state"));
    json_t *task_input = json_object_get(cursor, "taskInput");
    const char *function = sfn_doc_str(state, "Resource");
    json_t *payload = task_input;
    if (resource_of(state) == RES_INVOKE) {
        function = sfn_doc_str(task_input, "FunctionName");
        payload = json_object_get(task_input, "Payload");
    }
    char *text = payload ? json_dumps(payload, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    task_call *c = xcalloc(1, sizeof *c);
    *c = (task_call){s, ex, sfn_doc_int(cursor, "token")};
    int rc = lambda_call(s->lambda, function, text ? text : "{}", text ? strlen(text) : 2,
                         task_call_done, c);
    free(text);
    if (rc != LAMBDA_CALL_STARTED) {
        xfree(c);
        char cause[600];
        snprintf(cause, sizeof cause,
                 rc == LAMBDA_CALL_NOT_FOUND ? "Function not found: %s" : "Rate Exceeded: %s",
                 function ? function : "(no FunctionName)");
        task_finish(s, ex, rc, cause);
        return;
    }
    ex->invoking = true;
    ex->wake_ms = sfn_doc_int(cursor, "deadlineMs");
    sfn_timer_arm(s);
}
