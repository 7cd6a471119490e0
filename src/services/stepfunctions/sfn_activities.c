/* Activities: tasks done by the caller's own workers. CreateActivity, DescribeActivity,
 * DeleteActivity, ListActivities, and GetActivityTask, the workers' long poll.
 *
 * An activity is a document ("sfn.activity", keyed by ARN). A Task state whose Resource is
 * an activity's ARN waits in phase "task" (ex->invoking: offered) until a worker's
 * GetActivityTask takes it: that step (ActivityStarted, the cursor's phase "token") commits,
 * then the worker gets the task token and the input, and answers with SendTaskSuccess /
 * SendTaskFailure / SendTaskHeartbeat like any task token (sfn_task.c). Tasks are handed out
 * oldest first; a poll waits up to 60 s, then is answered with no task, as AWS does. After a
 * restart offered tasks are offered again and tasks a worker took keep waiting for it. */
#include "services/stepfunctions/sfn_run.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "services/service_docs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POLL_MS     60000
#define LIST_MAX    1000
#define NS_ACTIVITY "sfn.activity"

typedef struct activity_poll {
    aws_call *call;
    sfn *s;
    char arn[300];
    char worker[96];
    uv_timer_t timer;
    struct activity_poll *next;
} activity_poll;

/* ---- documents ---------------------------------------------------------------------- */

void sfn_activity_restore(const char *key, const char *doc, void *arg)
{
    sfn *s = arg;
    json_t *d = json_loads(doc, 0, NULL);
    if (json_is_object(d))
        json_object_set_new(s->activities, key, d);
    else
        json_decref(d);
}

bool sfn_is_activity_arn(const char *arn)
{
    return arn && strncmp(arn, "arn:aws:states:", 15) == 0 && strstr(arn, ":activity:");
}

static json_t *activity_or_reply(aws_call *call)
{
    const char *arn = sfn_str(call, "activityArn");
    if (!sfn_is_activity_arn(arn)) {
        aws_reply_error(call, AWS_ERR_SFN_INVALID_ARN, "Invalid Arn: 'Invalid ARN prefix: %s'",
                        arn ? arn : "");
        return NULL;
    }
    json_t *a = json_object_get(sfn_of(call)->activities, arn);
    if (!a)
        aws_reply_error(call, AWS_ERR_SFN_ACTIVITY_DOES_NOT_EXIST, "Activity Does Not Exist: '%s'",
                        arn);
    return a;
}

static json_t *describe(const json_t *a)
{
    return json_pack("{s:O,s:O,s:o}", "activityArn", json_object_get(a, "activityArn"), "name",
                     json_object_get(a, "name"), "creationDate",
                     sfn_time_json(json_integer_value(json_object_get(a, "created"))));
}

void sfn_create_activity(aws_call *call)
{
    sfn *s = sfn_of(call);
    const char *name = sfn_str(call, "name");
    if (!sfn_valid_name(name)) {
        aws_reply_error(call, AWS_ERR_SFN_INVALID_NAME, "Invalid Name: '%s'", name ? name : "");
        return;
    }
    char arn[300];
    snprintf(arn, sizeof arn, "arn:aws:states:%s:%s:activity:%s", s->region, s->account, name);
    json_t *a = json_object_get(s->activities, arn);
    if (a) { /* idempotent, as AWS */
        aws_reply(call,
                  json_pack("{s:s,s:o}", "activityArn", arn, "creationDate",
                            sfn_time_json(json_integer_value(json_object_get(a, "created")))));
        return;
    }
    json_t *tags = json_object_get(call->input, "tags");
    a = json_pack("{s:s,s:s,s:I,s:o}", "activityArn", arn, "name", name, "created",
                  (json_int_t)clock_now_ms(), "tags", tags ? json_incref(tags) : json_array());
    json_object_set_new(s->activities, arn, a);
    service_persist_doc(s->store, call,
                        json_pack("{s:s,s:o}", "activityArn", arn, "creationDate",
                                  sfn_time_json(json_integer_value(json_object_get(a, "created")))),
                        AWS_ERR_INTERNAL_ERROR, NS_ACTIVITY, arn, a);
}

void sfn_describe_activity(aws_call *call)
{
    json_t *a = activity_or_reply(call);
    if (a)
        aws_reply(call, describe(a));
}

void sfn_delete_activity(aws_call *call)
{
    sfn *s = sfn_of(call);
    const char *arn = sfn_str(call, "activityArn");
    if (!sfn_is_activity_arn(arn)) {
        aws_reply_error(call, AWS_ERR_SFN_INVALID_ARN, "Invalid Arn: 'Invalid ARN prefix: %s'",
                        arn ? arn : "");
        return;
    }
    char key[300];
    snprintf(key, sizeof key, "%s", arn);
    json_object_del(s->activities, key); /* deleting a missing activity succeeds, as AWS */
    service_persist_doc(s->store, call, NULL, AWS_ERR_INTERNAL_ERROR, NS_ACTIVITY, key, NULL);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "name")),
                  json_string_value(json_object_get(*(json_t *const *)b, "name")));
}

void sfn_list_activities(aws_call *call)
{
    sfn *s = sfn_of(call);
    size_t n = json_object_size(s->activities), i = 0;
    json_t **v = xcalloc(n ? n : 1, sizeof *v);
    const char *k;
    json_t *a;
    json_object_foreach(s->activities, k, a) v[i++] = a;
    qsort(v, n, sizeof *v, by_name);
    const char *token = sfn_str(call, "nextToken");
    char *end = NULL;
    long start = token ? strtol(token, &end, 10) : 0;
    if (token && (*end || start < 0)) {
        xfree(v);
        aws_reply_error(call, AWS_ERR_SFN_INVALID_TOKEN, "Invalid Token: '%s'", token);
        return;
    }
    json_int_t max = json_integer_value(json_object_get(call->input, "maxResults"));
    if (max <= 0 || max > LIST_MAX)
        max = 100;
    json_t *list = json_array();
    for (i = (size_t)start; i < n && (json_int_t)json_array_size(list) < max; i++)
        json_array_append_new(list, describe(v[i]));
    json_t *out = json_pack("{s:o}", "activities", list);
    if (i < n)
        json_object_set_new(out, "nextToken", json_sprintf("%zu", i));
    xfree(v);
    aws_reply(call, out);
}

/* ---- handing tasks to workers --------------------------------------------------------- */

/* The oldest task offered to this activity, or NULL. */
static sfn_exec *oldest_offered(sfn *s, const char *arn)
{
    sfn_exec *best = NULL;
    int64_t best_ms = 0;
    for (sfn_exec *e = s->execs; e; e = e->next) {
        json_t *cursor = json_object_get(e->doc, "cursor");
        if (!e->invoking || e->committing || !sfn_exec_running(e) ||
            strcmp(sfn_doc_str(cursor, "phase") ? sfn_doc_str(cursor, "phase") : "", "task") != 0)
            continue;
        json_t *state =
            json_object_get(json_object_get(e->def, "States"), sfn_doc_str(cursor, "state"));
        const char *res = sfn_doc_str(state, "Resource");
        int64_t at = sfn_doc_int(cursor, "scheduledMs");
        if (res && strcmp(res, arn) == 0 && (!best || at < best_ms)) {
            best = e;
            best_ms = at;
        }
    }
    return best;
}

static void poll_closed(uv_handle_t *h)
{
    xfree(h->data);
}

static void poll_unlink(activity_poll *p)
{
    for (activity_poll **pp = &p->s->activity_polls; *pp; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    }
    uv_timer_stop(&p->timer);
    uv_close((uv_handle_t *)&p->timer, poll_closed);
}

static void poll_expired(uv_timer_t *t)
{
    activity_poll *p = t->data;
    aws_call *call = p->call;
    poll_unlink(p);
    aws_reply(call, json_object()); /* no task: the worker polls again */
}

/* A worker takes ex's task: ActivityStarted and phase "token" commit, then the worker gets
 * the token and input (the reply of its call). */
static void hand_over(sfn *s, sfn_exec *ex, aws_call *call, const char *worker)
{
    ex->invoking = false;
    ex->wake_ms = 0;
    sfn_task_hand_over(s, ex, call, worker);
}

void sfn_get_activity_task(aws_call *call)
{
    sfn *s = sfn_of(call);
    json_t *a = activity_or_reply(call);
    if (!a)
        return;
    const char *arn = sfn_doc_str(a, "activityArn");
    const char *worker = sfn_str(call, "workerName");
    sfn_exec *ex = oldest_offered(s, arn);
    if (ex) {
        hand_over(s, ex, call, worker);
        return;
    }
    activity_poll *p = xcalloc(1, sizeof *p);
    p->call = call;
    p->s = s;
    snprintf(p->arn, sizeof p->arn, "%s", arn);
    snprintf(p->worker, sizeof p->worker, "%s", worker ? worker : "");
    uv_timer_init(s->loop, &p->timer);
    p->timer.data = p;
    uv_timer_start(&p->timer, poll_expired, POLL_MS, 0);
    p->next = s->activity_polls;
    s->activity_polls = p;
}

void sfn_activity_offered(sfn *s, sfn_exec *ex, const char *arn)
{
    /* the oldest waiting worker whose connection is still there */
    activity_poll *pick = NULL;
    for (activity_poll *p = s->activity_polls; p; p = p->next)
        if (strcmp(p->arn, arn) == 0 && !aws_call_is_cancelled(p->call))
            pick = p; /* the list is newest first: the last match is the oldest */
    if (!pick)
        return;
    aws_call *call = pick->call;
    char worker[96];
    snprintf(worker, sizeof worker, "%s", pick->worker);
    poll_unlink(pick);
    hand_over(s, ex, call, worker[0] ? worker : NULL);
}

void sfn_activities_stop(sfn *s)
{
    while (s->activity_polls) {
        activity_poll *p = s->activity_polls;
        aws_call *call = p->call;
        poll_unlink(p);
        aws_reply(call, json_object());
    }
}
