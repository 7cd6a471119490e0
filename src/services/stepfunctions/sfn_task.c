/* Task states: this server's Lambda functions (a bare function ARN: the function gets the
 * state's effective input, history LambdaFunction* events; or the integration
 * "arn:aws:states:::lambda:invoke": Parameters give FunctionName and Payload, the result is
 * the Invoke response with the payload parsed) and the other services' integrations
 * (sfn_integrations.c: sqs:sendMessage, sns:publish, events:putEvents, dynamodb:*,
 * states:startExecution(.sync), aws-sdk:*), HTTP Tasks (sfn_http.c: http:invoke, an HTTP
 * request through an EventBridge connection), with the .waitForTaskToken pattern
 * (SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat), Retry, Catch, ResultSelector,
 * TimeoutSeconds and HeartbeatSeconds.
 *
 * A Task is three kinds of steps, each committed before the next:
 *  1. entering: TaskStateEntered and the Scheduled event, cursor phase "task" with the
 *     effective input and a fresh token; after the commit the call is made;
 *  2. the call's end (its token must still be the cursor's: a late result of a timed out or
 *     stopped attempt is dropped): Started and Succeeded/Failed events, then the next state,
 *     or the error handling; a .waitForTaskToken task instead waits in phase "token" (for
 *     SendTaskSuccess/Failure with its task token), a .sync one in phase "sync" (for the
 *     execution it started to end);
 *  3. error handling: the first retrier whose ErrorEquals matches retries after its delay
 *     (phase "retry" until wakeMs, then Scheduled again), else the first matching catcher
 *     moves on with the error at its ResultPath, else the execution fails.
 * TimeoutSeconds and HeartbeatSeconds are deadlines on the service timer (States.Timeout,
 * States.HeartbeatTimeout). After a crash a call that was in flight is made again: a Task
 * runs at least once per attempt, as Lambda's own retries do; a task token wait and a
 * .sync wait go on waiting. */
#include "services/stepfunctions/sfn_run.h"

#include "common/alloc.h"
#include "common/base64.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/ids.h"
#include "services/lambda/lambda.h"
#include "services/stepfunctions/sfn_http.h"
#include "services/stepfunctions/sfn_integrations.h"
#include "services/stepfunctions/sfn_jsonpath.h"
#include "services/stepfunctions/sfn_template.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LAMBDA_INVOKE "arn:aws:states:::lambda:invoke"

/* What a Task's Resource names. */
typedef enum {
    RES_UNSUPPORTED,
    RES_FUNCTION,
    RES_INVOKE,
    RES_SERVICE,
    RES_ACTIVITY,
    RES_HTTP
} resource_kind;

typedef struct task_res {
    resource_kind kind;
    sfn_wait wait;
    sfn_integration in; /* RES_SERVICE */
} task_res;

static task_res resource_of(const json_t *state)
{
    task_res r;
    memset(&r, 0, sizeof r); /* RES_UNSUPPORTED, SFN_WAIT_NONE */
    const char *res = sfn_doc_str(state, "Resource");
    if (!res)
        return r;
    if (strcmp(res, LAMBDA_INVOKE) == 0) {
        r.kind = RES_INVOKE;
    } else if (strcmp(res, LAMBDA_INVOKE ".waitForTaskToken") == 0) {
        r.kind = RES_INVOKE;
        r.wait = SFN_WAIT_TOKEN;
    } else if (strncmp(res, "arn:aws:lambda:", 15) == 0 && strstr(res, ":function:")) {
        r.kind = RES_FUNCTION;
    } else if (strcmp(res, SFN_HTTP_INVOKE) == 0) {
        r.kind = RES_HTTP; /* request-response only, as on AWS */
    } else if (sfn_is_activity_arn(res)) {
        r.kind = RES_ACTIVITY;
        r.wait = SFN_WAIT_TOKEN; /* a worker answers with the task token */
    } else if (sfn_integration_parse(res, &r.in) == 0) {
        r.kind = RES_SERVICE;
        r.wait = r.in.wait;
    }
    return r;
}

/* The event details every Task* event carries: resourceType and resource. */
static json_t *task_details(const task_res *r)
{
    if (r->kind == RES_SERVICE)
        return json_pack("{s:s,s:s}", "resourceType", r->in.resource_type, "resource",
                         r->in.resource);
    if (r->kind == RES_HTTP)
        return json_pack("{s:s,s:s}", "resourceType", "http", "resource", "invoke");
    return json_pack("{s:s,s:s}", "resourceType", "lambda", "resource",
                     r->wait == SFN_WAIT_TOKEN ? "invoke.waitForTaskToken" : "invoke");
}

/* A Started / Submitted / Succeeded / Failed / TimedOut event of the state's kind. */
static void task_event(sfn_transition *t, const json_t *state, const char *what, json_t *extra)
{
    task_res r = resource_of(state);
    bool lambda_fn = r.kind == RES_FUNCTION, activity = r.kind == RES_ACTIVITY;
    char type[64], key[96];
    snprintf(type, sizeof type, "%s%s",
             lambda_fn  ? "LambdaFunction"
             : activity ? "Activity"
                        : "Task",
             what);
    snprintf(key, sizeof key, "%s%sEventDetails",
             lambda_fn  ? "lambdaFunction"
             : activity ? "activity"
                        : "task",
             what);
    json_t *d = lambda_fn || activity ? json_object() : task_details(&r);
    if (extra)
        json_object_update(d, extra);
    json_decref(extra);
    if (lambda_fn && strcmp(what, "Started") == 0) {
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

/* ---- task tokens -------------------------------------------------------------------- */

/* The task token of an attempt: base64 of "EXECUTION ARN\nTOKEN". */
static char *token_make(const sfn_exec *ex, json_int_t token)
{
    buf text = BUF_INIT, out = BUF_INIT;
    buf_printf(&text, "%s\n%" PRId64, sfn_doc_str(ex->doc, "executionArn"), (int64_t)token);
    base64_encode(&out, text.data, text.len);
    buf_free(&text);
    return buf_steal(&out, NULL);
}

/* 0 with the execution ARN (out, cap bytes) and token, or -1 if tok is not one of ours. */
static int token_parse(const char *tok, char *arn, size_t cap, json_int_t *token)
{
    buf text = BUF_INIT;
    int rc = -1;
    if (tok && strlen(tok) <= 2048 && base64_decode(&text, tok, strlen(tok)) == 0 && text.len) {
        buf_append(&text, "", 1);
        char *nl = strrchr(text.data, '\n');
        char *end = NULL;
        if (nl && (size_t)(nl - text.data) < cap) {
            *token = strtoll(nl + 1, &end, 10);
            if (end && !*end && end != nl + 1) {
                snprintf(arn, cap, "%.*s", (int)(nl - text.data), text.data);
                rc = 0;
            }
        }
    }
    buf_free(&text);
    return rc;
}

/* ---- scheduling ---------------------------------------------------------------------- */

/* The heartbeat deadline of a token wait from now, or 0. */
static int64_t heartbeat_deadline(const sfn_step_io *io, int64_t now)
{
    json_int_t hb = json_integer_value(json_object_get(io->state, "HeartbeatSeconds"));
    return hb > 0 ? now + hb * 1000 : 0;
}

/* Phase "task": a fresh token and deadline, the effective input (for a .waitForTaskToken
 * task evaluated with $$.Task.Token), and the Scheduled event. -1 (error handled) if the
 * input cannot be made. */
static int task_schedule(sfn_transition *t, sfn_step_io *io, json_t *cursor)
{
    task_res r = resource_of(io->state);
    json_int_t timeout = json_integer_value(json_object_get(io->state, "TimeoutSeconds"));
    json_int_t token = (json_int_t)(ids_random64() >> 12);
    json_object_set_new(cursor, "phase", json_string("task"));
    json_object_set_new(cursor, "token", json_integer(token));
    json_object_set_new(cursor, "deadlineMs",
                        json_integer(timeout > 0 ? t->now + timeout * 1000 : 0));
    json_object_del(cursor, "wakeMs");
    json_object_del(cursor, "heartbeatMs");
    json_object_set_new(cursor, "scheduledMs", json_integer(t->now));
    if (r.wait == SFN_WAIT_TOKEN && r.kind != RES_ACTIVITY) {
        char *tok = token_make(t->ex, token);
        json_object_set_new(io->context, "Task", json_pack("{s:s}", "Token", tok));
        xfree(tok);
        json_t *eff = sfn_effective_input(io, true);
        if (!eff) {
            sfn_state_error(t, io, io->err.name, io->err.cause);
            return -1;
        }
        json_object_set_new(cursor, "taskInput", eff);
    }
    json_t *task_input = json_object_get(cursor, "taskInput");
    json_t *d;
    json_int_t hb = json_integer_value(json_object_get(io->state, "HeartbeatSeconds"));
    if (r.kind == RES_ACTIVITY) {
        d = json_pack("{s:s,s:o,s:{s:b}}", "resource", sfn_doc_str(io->state, "Resource"), "input",
                      sfn_json_text(task_input), "inputDetails", "truncated", 0);
        if (timeout > 0)
            json_object_set_new(d, "timeoutInSeconds", json_integer(timeout));
        if (hb > 0)
            json_object_set_new(d, "heartbeatInSeconds", json_integer(hb));
        sfn_emit(t, "ActivityScheduled", "activityScheduledEventDetails", d);
    } else if (r.kind != RES_FUNCTION) {
        d = task_details(&r);
        json_object_set_new(d, "region", json_string(t->s->region));
        json_object_set_new(d, "parameters", sfn_json_text(task_input));
        if (timeout > 0)
            json_object_set_new(d, "timeoutInSeconds", json_integer(timeout));
        if (hb > 0)
            json_object_set_new(d, "heartbeatInSeconds", json_integer(hb));
        sfn_emit(t, "TaskScheduled", "taskScheduledEventDetails", d);
    } else {
        d = json_pack("{s:s,s:o,s:{s:b}}", "resource", sfn_doc_str(io->state, "Resource"), "input",
                      sfn_json_text(task_input), "inputDetails", "truncated", 0);
        if (timeout > 0)
            json_object_set_new(d, "timeoutInSeconds", json_integer(timeout));
        sfn_emit(t, "LambdaFunctionScheduled", "lambdaFunctionScheduledEventDetails", d);
    }
    return 0;
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
        sfn_inspect_handler(io, true, i, delay);
        return true;
    }
    return false;
}

/* What a catcher passes on: JSONPath, the error at its ResultPath in the raw input;
 * JSONata, its Output (default: the error) with $states.errorOutput. Its Assign is applied.
 * NULL with io->err set. */
static json_t *catch_output(sfn_step_io *io, const json_t *c, json_t *err)
{
    json_t *out = NULL;
    if (io->jsonata) {
        json_t *states = sfn_states_var(io, NULL, err);
        json_t *tmpl = json_object_get(c, "Output");
        out = tmpl ? sfn_jsonata_render(io, tmpl, "Output", states) : json_incref(err);
        if (out && sfn_assign(io, json_object_get(c, "Assign"), states, NULL) != 0) {
            json_decref(out);
            out = NULL;
        }
        json_decref(states);
        return out;
    }
    if (sfn_assign(io, json_object_get(c, "Assign"), NULL, err) != 0 ||
        sfn_result_path_apply(sfn_path_field(c, "ResultPath"), io->input, err, &out, &io->err) != 0)
        return NULL;
    return out;
}

/* A Task's (or a Parallel's, a Map's) error: retried, caught, or the execution fails. */
void sfn_state_error(sfn_transition *t, sfn_step_io *io, const char *error, const char *cause)
{
    sfn_inspect_error(io, error, cause);
    if (task_retry(t, io, error))
        return;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(io->state, "Catch"), i, c)
    {
        if (!sfn_error_equals_match(json_object_get(c, "ErrorEquals"), error))
            continue;
        sfn_inspect_handler(io, false, i, 0);
        json_t *err = json_pack("{s:s,s:s}", "Error", error, "Cause", cause ? cause : "");
        json_t *out = catch_output(io, c, err);
        if (!out)
            sfn_execution_fail(t, io->err.name, io->err.cause);
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
    task_res r = resource_of(io->state);
    if ((r.kind == RES_UNSUPPORTED ||
         (r.kind == RES_SERVICE && !sfn_integration_available(t->s, &r.in)) ||
         (r.kind == RES_HTTP && !t->s->events)) &&
        !sfn_test_is_mocked(t->ex)) { /* (a mocked resource is never called) */
        char cause[600];
        snprintf(cause, sizeof cause, "Sluice does not run the resource '%s'",
                 sfn_doc_str(io->state, "Resource"));
        sfn_execution_fail(t, "States.Runtime", cause);
        return;
    }
    json_t *eff = NULL;
    if (r.wait != SFN_WAIT_TOKEN || r.kind == RES_ACTIVITY) {
        /* (an integration's token task's input is made with each token) */
        eff = sfn_effective_input(io, true);
        if (!eff) {
            sfn_state_error(t, io, io->err.name, io->err.cause);
            return;
        }
    }
    json_t *cursor = json_pack("{s:s,s:O,s:o,s:{}}", "state", name, "stateInput", io->input,
                               "taskInput", eff ? eff : json_null(), "attempts");
    json_object_set_new(t->ex->doc, "cursor", cursor);
    task_schedule(t, io, cursor);
}

/* ---- outcomes ----------------------------------------------------------------------- */

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

/* The task's result (taken): ResultSelector, ResultPath, OutputPath, then the next state. */
static void task_succeeded(sfn_transition *t, sfn_step_io *io, const char *name, json_t *result,
                           bool wrap_invoke)
{
    task_event(t, io->state, "Succeeded",
               json_pack("{s:o,s:{s:b}}", "output", sfn_json_text(result), "outputDetails",
                         "truncated", 0));
    if (wrap_invoke)
        result = invoke_response(result);
    sfn_inspect(io, "result", result);
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
    if (!io->jsonata)
        sfn_inspect(io, "afterResultSelector", result);
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

static void task_failed(sfn_transition *t, sfn_step_io *io, const char *error, const char *cause)
{
    task_event(t, io->state, "Failed", error_details(error, cause));
    sfn_state_error(t, io, error, cause);
}

/* The call returned, for a task that now waits: phase "token" (the task token) or "sync"
 * (the execution it started). */
static void task_wait(sfn_transition *t, sfn_step_io *io, const task_res *r, json_t *result)
{
    json_t *cursor = json_object_get(t->ex->doc, "cursor");
    task_event(t, io->state, "Submitted",
               json_pack("{s:o,s:{s:b}}", "output", sfn_json_text(result), "outputDetails",
                         "truncated", 0));
    if (r->wait == SFN_WAIT_TOKEN) {
        json_object_set_new(cursor, "phase", json_string("token"));
        int64_t hb = heartbeat_deadline(io, t->now);
        if (hb)
            json_object_set_new(cursor, "heartbeatMs", json_integer(hb));
    } else {
        json_object_set_new(cursor, "phase", json_string("sync"));
        json_object_set(cursor, "syncArn", json_object_get(result, "ExecutionArn"));
    }
}

/* A step with the outcome of the current attempt: result (taken) or error. */
typedef void (*task_outcome_fn)(sfn_transition *t, sfn_step_io *io, const char *name, void *arg);

static void task_step(sfn *s, sfn_exec *ex, task_outcome_fn fn, void *arg, aws_call *call)
{
    json_t *cursor = json_incref(json_object_get(ex->doc, "cursor"));
    const char *name = sfn_doc_str(cursor, "state");
    sfn_transition *t = sfn_transition_new(s, ex);
    sfn_step_io io;
    sfn_step_io_init(&io, ex, json_object_get(json_object_get(ex->def, "States"), name),
                     json_object_get(cursor, "stateInput"), name, t->now);
    fn(t, &io, name, arg);
    json_decref(io.context);
    json_decref(cursor);
    t->call = call;
    sfn_transition_commit(t);
}

typedef struct call_outcome {
    json_t *result; /* taken */
    const char *error, *cause;
    bool started;     /* emit the Started event first */
    bool wrap_invoke; /* lambda:invoke's response shape */
} call_outcome;

static void outcome_step(sfn_transition *t, sfn_step_io *io, const char *name, void *arg)
{
    call_outcome *o = arg;
    task_res r = resource_of(io->state);
    if (o->started)
        task_event(t, io->state, "Started", NULL);
    json_t *cursor = json_object_get(t->ex->doc, "cursor");
    bool waiting = strcmp(sfn_doc_str(cursor, "phase"), "task") == 0 && r.wait != SFN_WAIT_NONE;
    if (o->error) {
        task_failed(t, io, o->error, o->cause);
        json_decref(o->result);
    } else if (waiting) {
        task_wait(t, io, &r, o->result);
        json_decref(o->result);
    } else {
        task_succeeded(t, io, name, o->result, o->wrap_invoke);
    }
}

/* A TestState's mock: the attempt's end, as the call's would be. */
static void mock_step(sfn_transition *t, sfn_step_io *io, const char *name, void *arg)
{
    call_outcome *o = arg;
    task_event(t, io->state, "Started", NULL);
    if (o->error)
        task_failed(t, io, o->error, o->cause);
    else
        task_succeeded(t, io, name, o->result, false);
}

void sfn_task_mock_answer(sfn *s, sfn_exec *ex, json_t *result, const char *error,
                          const char *cause)
{
    call_outcome o = {.result = result, .error = error, .cause = cause};
    task_step(s, ex, mock_step, &o, NULL);
}

/* ---- calls -------------------------------------------------------------------------- */

typedef struct task_call {
    sfn *s;
    sfn_exec *ex;
    json_int_t token;
    bool invoke; /* lambda:invoke */
} task_call;

/* Whether the call's answer still belongs to the execution's current attempt (an answer
 * that does not is dropped; a branch that ended meanwhile may be freed now). */
static bool still_current(task_call *c)
{
    sfn_exec *ex = c->ex;
    ex->inflight--;
    if (c->s->stopping)
        return false; /* shutting down: the restart calls again */
    json_t *cursor = json_object_get(ex->doc, "cursor");
    bool current = sfn_exec_running(ex) && cursor &&
                   strcmp(sfn_doc_str(cursor, "phase"), "task") == 0 &&
                   sfn_doc_int(cursor, "token") == c->token && !ex->committing;
    if (!current)
        sfn_exec_maybe_free(c->s, ex);
    return current;
}

static void lambda_done(int outcome, const char *payload, size_t len, void *arg)
{
    task_call *c = arg;
    bool current = still_current(c);
    sfn *s = c->s;
    sfn_exec *ex = c->ex;
    bool invoke = c->invoke;
    xfree(c);
    if (!current)
        return;
    ex->invoking = false;
    ex->wake_ms = 0;
    char *text = xstrndup(payload, len);
    call_outcome o = {.started = true, .wrap_invoke = invoke};
    json_t *err = NULL;
    if (outcome == LAMBDA_CALL_OK) {
        o.result = json_loads(text, JSON_DECODE_ANY, NULL);
        if (!o.result) {
            o.error = "States.Runtime";
            o.cause = "The function's result is not JSON";
        }
    } else {
        err = json_loads(text, 0, NULL);
        const char *type = sfn_doc_str(err, "errorType");
        o.error = type ? type : "Lambda.Unknown";
        o.cause = text;
    }
    task_step(s, ex, outcome_step, &o, NULL);
    json_decref(err);
    xfree(text);
}

static void service_done(json_t *result, const char *error, const char *cause, void *arg)
{
    task_call *c = arg;
    bool current = still_current(c);
    sfn *s = c->s;
    sfn_exec *ex = c->ex;
    xfree(c);
    if (!current) {
        json_decref(result);
        return;
    }
    ex->invoking = false;
    ex->wake_ms = 0;
    call_outcome o = {.result = result, .error = error, .cause = cause, .started = true};
    task_step(s, ex, outcome_step, &o, NULL);
}

/* A call that could not start (no such function, throttled): StartFailed. */
static void start_failed_step(sfn_transition *t, sfn_step_io *io, const char *name, void *arg)
{
    (void)name;
    call_outcome *o = arg;
    task_event(t, io->state, "StartFailed", error_details(o->error, o->cause));
    sfn_state_error(t, io, o->error, o->cause);
}

/* The next time the task must be looked at: its deadline or heartbeat deadline. */
int64_t sfn_task_deadline(const json_t *cursor)
{
    int64_t d = sfn_doc_int(cursor, "deadlineMs"), hb = sfn_doc_int(cursor, "heartbeatMs");
    if (hb && (!d || hb < d))
        d = hb;
    return d;
}

void sfn_task_start(sfn *s, sfn_exec *ex)
{
    json_t *cursor = json_object_get(ex->doc, "cursor");
    json_t *state =
        json_object_get(json_object_get(ex->def, "States"), sfn_doc_str(cursor, "state"));
    json_t *task_input = json_object_get(cursor, "taskInput");
    task_res r = resource_of(state);
    task_call *c = xcalloc(1, sizeof *c);
    *c = (task_call){s, ex, sfn_doc_int(cursor, "token"), r.kind == RES_INVOKE};
    ex->invoking = true;
    ex->wake_ms = sfn_task_deadline(cursor);
    if (r.kind == RES_ACTIVITY) { /* offered to the workers; a poll may take it now */
        xfree(c);
        sfn_timer_arm(s, ex);
        sfn_activity_offered(s, ex, sfn_doc_str(state, "Resource"));
        return;
    }
    ex->inflight++;
    if (r.kind == RES_SERVICE) {
        sfn_integration_call(s, &r.in, task_input, service_done, c);
        sfn_timer_arm(s, ex);
        return;
    }
    if (r.kind == RES_HTTP) {
        sfn_http_call(s, task_input, service_done, c);
        sfn_timer_arm(s, ex);
        return;
    }
    const char *function = sfn_doc_str(state, "Resource");
    json_t *payload = task_input;
    if (r.kind == RES_INVOKE) {
        function = sfn_doc_str(task_input, "FunctionName");
        payload = json_object_get(task_input, "Payload");
    }
    char *text = payload ? json_dumps(payload, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    int rc = lambda_call(s->lambda, function, text ? text : "{}", text ? strlen(text) : 2,
                         lambda_done, c);
    free(text);
    if (rc != LAMBDA_CALL_STARTED) {
        xfree(c);
        ex->inflight--;
        ex->invoking = false;
        ex->wake_ms = 0;
        char cause[600];
        snprintf(cause, sizeof cause,
                 rc == LAMBDA_CALL_NOT_FOUND ? "Function not found: %s" : "Rate Exceeded: %s",
                 function ? function : "(no FunctionName)");
        call_outcome o = {.error = rc == LAMBDA_CALL_NOT_FOUND ? "Lambda.ResourceNotFoundException"
                                                               : "Lambda.TooManyRequestsException",
                          .cause = cause};
        task_step(s, ex, start_failed_step, &o, NULL);
        return;
    }
    sfn_timer_arm(s, ex);
}

/* ---- waking: retry delays, deadlines, .sync ends ------------------------------------- */

/* The end of the execution a .sync task of ex started, as the task's result; NULL if it
 * runs (or is not in memory: sfn_task_ready loads it). */
static json_t *sync_result(sfn *s, sfn_exec *ex, const json_t *cursor, const task_res *r,
                           const char **error, const char **cause)
{
    sfn_exec *target = sfn_exec_find(s, sfn_doc_str(cursor, "syncArn"));
    *error = NULL;
    if (!target && !ex->sync_missing)
        return NULL;
    if (!target) {
        *error = "States.Runtime";
        *cause = "The execution the task started is gone";
        return NULL;
    }
    if (sfn_exec_running(target))
        return NULL;
    const json_t *d = target->doc;
    const char *status = sfn_doc_str(d, "status");
    if (strcmp(status, "SUCCEEDED") != 0) {
        *error = strcmp(status, "ABORTED") == 0     ? "States.TaskFailed"
                 : strcmp(status, "TIMED_OUT") == 0 ? "States.Timeout"
                                                    : "States.TaskFailed";
        *cause = sfn_doc_str(d, "cause") ? sfn_doc_str(d, "cause") : sfn_doc_str(d, "error");
        return NULL;
    }
    json_t *out = json_pack(
        "{s:O,s:O,s:O,s:O,s:I,s:I,s:O}", "ExecutionArn", json_object_get(d, "executionArn"),
        "StateMachineArn", json_object_get(d, "stateMachineArn"), "Name",
        json_object_get(d, "name"), "Status", json_object_get(d, "status"), "StartDate",
        (json_int_t)sfn_doc_int(d, "startDate"), "StopDate", (json_int_t)sfn_doc_int(d, "stopDate"),
        "Input", json_object_get(d, "input"));
    const char *output = sfn_doc_str(d, "output");
    json_t *parsed = output ? json_loads(output, JSON_DECODE_ANY, NULL) : NULL;
    if (r->wait == SFN_WAIT_SYNC2) {
        json_object_set_new(out, "Output", parsed ? parsed : json_null());
        json_t *in = json_loads(sfn_doc_str(d, "input"), JSON_DECODE_ANY, NULL);
        json_object_set_new(out, "Input", in ? in : json_null());
    } else {
        json_decref(parsed);
        json_object_set_new(out, "Output", json_string(output ? output : "null"));
    }
    return out;
}

/* The execution a .sync task waits for was loaded (it was not in memory): the task takes
 * its step if it ended; then it may leave memory again. */
static void sync_target_loaded(sfn *s, sfn_exec *target, int status, void *arg)
{
    char *waiter_arn = arg;
    sfn_exec *ex = s->stopping ? NULL : sfn_exec_find(s, waiter_arn);
    xfree(waiter_arn);
    if (!ex || status != 0)
        return;
    json_t *cursor = json_object_get(ex->doc, "cursor");
    if (strcmp(sfn_doc_str(cursor, "phase") ?: "", "sync") != 0)
        return;
    if (!target)
        ex->sync_missing = true;
    if (!target || !sfn_exec_running(target))
        sfn_exec_step(s, ex);
    if (target)
        sfn_exec_maybe_free(s, target);
}

bool sfn_task_ready(sfn *s, const sfn_exec *ex)
{
    json_t *cursor = json_object_get(ex->doc, "cursor");
    const char *phase = sfn_doc_str(cursor, "phase");
    if (!phase || strcmp(phase, "sync") != 0)
        return false;
    sfn_exec *target = sfn_exec_find(s, sfn_doc_str(cursor, "syncArn"));
    if (!target && !ex->sync_missing) { /* in the store: its end is looked at there */
        sfn_exec_load(s, sfn_doc_str(cursor, "syncArn"), sync_target_loaded,
                      xstrdup(sfn_doc_str(ex->doc, "executionArn")));
        return false;
    }
    return !target || !sfn_exec_running(target);
}

void sfn_task_wake(sfn_transition *t, sfn_step_io *io, const char *name)
{
    json_t *cursor = json_object_get(t->ex->doc, "cursor");
    const char *phase = sfn_doc_str(cursor, "phase");
    if (strcmp(phase, "retry") == 0) {
        task_schedule(t, io, cursor);
        return;
    }
    int64_t hb = sfn_doc_int(cursor, "heartbeatMs"), deadline = sfn_doc_int(cursor, "deadlineMs");
    if (strcmp(phase, "sync") == 0) {
        task_res r = resource_of(io->state);
        const char *error, *cause = NULL;
        json_t *result = sync_result(t->s, t->ex, cursor, &r, &error, &cause);
        if (result || error) {
            if (error)
                task_failed(t, io, error, cause);
            else
                task_succeeded(t, io, name, result, false);
            return;
        }
    }
    int64_t due = sfn_task_deadline(cursor);
    if (strcmp(phase, "task") != 0 && (!due || due > t->now)) { /* not late: wait on */
        t->ex->wake_ms = due;
        return;
    }
    /* a deadline passed: the late answer will find another token */
    t->ex->invoking = false;
    bool heartbeat = hb && hb <= t->now && (!deadline || hb <= deadline);
    const char *error = heartbeat ? "States.HeartbeatTimeout" : "States.Timeout";
    task_event(t, io->state, "TimedOut", error_details(error, NULL));
    json_object_set_new(cursor, "token", json_integer(0));
    sfn_state_error(t, io, error, NULL);
}

/* ---- activities: a worker takes the task ----------------------------------------------- */

typedef struct hand_over_ctx {
    const char *worker;
} hand_over_ctx;

static void hand_over_step(sfn_transition *t, sfn_step_io *io, const char *name, void *arg)
{
    (void)name;
    hand_over_ctx *h = arg;
    json_t *cursor = json_object_get(t->ex->doc, "cursor");
    json_t *d = json_object();
    if (h->worker)
        json_object_set_new(d, "workerName", json_string(h->worker));
    sfn_emit(t, "ActivityStarted", "activityStartedEventDetails", d);
    json_object_set_new(cursor, "phase", json_string("token"));
    int64_t hb = heartbeat_deadline(io, t->now);
    if (hb)
        json_object_set_new(cursor, "heartbeatMs", json_integer(hb));
    char *tok = token_make(t->ex, sfn_doc_int(cursor, "token"));
    char *input = json_dumps(json_object_get(cursor, "taskInput"), JSON_COMPACT | JSON_ENCODE_ANY);
    t->reply = json_pack("{s:s,s:s}", "taskToken", tok, "input", input ? input : "null");
    free(input);
    xfree(tok);
}

void sfn_task_hand_over(sfn *s, sfn_exec *ex, aws_call *call, const char *worker)
{
    hand_over_ctx h = {worker};
    task_step(s, ex, hand_over_step, &h, call);
}

/* ---- SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat ----------------------------- */

/* The execution waiting with the call's taskToken, or NULL (replied, or being loaded: then
 * again(call) runs once it is in memory). */
static sfn_exec *token_owner(aws_call *call, aws_op_fn again)
{
    const char *tok = sfn_str(call, "taskToken");
    char arn[1400];
    json_int_t token;
    if (!tok || token_parse(tok, arn, sizeof arn, &token) != 0) {
        aws_reply_error(call, AWS_ERR_SFN_INVALID_TOKEN, "Invalid Token: 'Invalid token'");
        return NULL;
    }
    bool pending;
    sfn_exec *ex = sfn_exec_get(call, arn, again, &pending);
    if (pending)
        return NULL;
    json_t *cursor = ex ? json_object_get(ex->doc, "cursor") : NULL;
    const char *phase = cursor ? sfn_doc_str(cursor, "phase") : NULL;
    if (!ex) {
        aws_reply_error(call, AWS_ERR_SFN_TASK_DOES_NOT_EXIST,
                        "Task Does Not Exist: 'Provided task does not exist anymore'");
        return NULL;
    }
    if (!sfn_exec_running(ex) || !phase || sfn_doc_int(cursor, "token") != token ||
        (strcmp(phase, "token") != 0 && strcmp(phase, "task") != 0)) {
        sfn *s = sfn_of(call);
        aws_reply_error(call, AWS_ERR_SFN_TASK_TIMED_OUT,
                        "Task Timed Out: 'Provided task does not exist anymore'");
        sfn_exec_maybe_free(s, ex);
        return NULL;
    }
    if (ex->committing) { /* a step of it is being committed: the call runs after it */
        sfn_exec_park(ex, call, again);
        return NULL;
    }
    return ex;
}

static void token_success_step(sfn_transition *t, sfn_step_io *io, const char *name, void *arg)
{
    if (strcmp(sfn_doc_str(json_object_get(t->ex->doc, "cursor"), "phase"), "task") == 0)
        task_event(t, io->state, "Started", NULL);
    task_succeeded(t, io, name, json_incref(arg), false);
}

void sfn_send_task_success(aws_call *call)
{
    const char *output = sfn_str(call, "output");
    if (output && strlen(output) > SFN_MAX_PAYLOAD) {
        aws_reply_error(call, AWS_ERR_SFN_INVALID_OUTPUT,
                        "Invalid Output: 'The output exceeds the maximum size of %d bytes'",
                        SFN_MAX_PAYLOAD);
        return;
    }
    json_error_t jerr;
    json_t *parsed = output ? json_loads(output, JSON_DECODE_ANY, &jerr) : NULL;
    if (!parsed) {
        aws_reply_error(call, AWS_ERR_SFN_INVALID_OUTPUT, "Invalid Output: '%s'",
                        output ? jerr.text : "Output is required");
        return;
    }
    sfn_exec *ex = token_owner(call, sfn_send_task_success);
    if (ex) {
        ex->invoking = false; /* a call still in flight answers a past attempt */
        ex->wake_ms = 0;
        task_step(sfn_of(call), ex, token_success_step, parsed, call);
    }
    json_decref(parsed);
}

static void token_failure_step(sfn_transition *t, sfn_step_io *io, const char *name, void *arg)
{
    (void)name;
    aws_call *call = arg;
    const char *error = sfn_str(call, "error"), *cause = sfn_str(call, "cause");
    task_failed(t, io, error ? error : "", cause);
}

void sfn_send_task_failure(aws_call *call)
{
    sfn_exec *ex = token_owner(call, sfn_send_task_failure);
    if (!ex)
        return;
    ex->invoking = false;
    ex->wake_ms = 0;
    task_step(sfn_of(call), ex, token_failure_step, call, call);
}

void sfn_send_task_heartbeat(aws_call *call)
{
    sfn_exec *ex = token_owner(call, sfn_send_task_heartbeat);
    if (!ex)
        return;
    json_t *cursor = json_object_get(ex->doc, "cursor");
    json_t *state =
        json_object_get(json_object_get(ex->def, "States"), sfn_doc_str(cursor, "state"));
    json_int_t hb = json_integer_value(json_object_get(state, "HeartbeatSeconds"));
    if (hb > 0 && strcmp(sfn_doc_str(cursor, "phase"), "token") == 0) {
        /* the new deadline is committed (no event): it holds after a restart, and for an
         * execution that leaves memory meanwhile */
        sfn_transition *t = sfn_transition_new(sfn_of(call), ex);
        json_object_set_new(cursor, "heartbeatMs", json_integer(t->now + hb * 1000));
        ex->wake_ms = sfn_task_deadline(cursor);
        t->call = call;
        sfn_transition_commit(t);
        return;
    }
    sfn *s = sfn_of(call);
    aws_reply(call, json_object());
    sfn_exec_maybe_free(s, ex);
}
