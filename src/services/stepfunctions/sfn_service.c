/* The Step Functions service: its operation table, lifecycle, the state machine
 * operations (create, describe, list, update, delete, validate) and tags. Executions are
 * in sfn_exec.c. */
#include "services/stepfunctions/sfn_internal.h"
#include "services/stepfunctions/sfn_run.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/log.h"
#include "services/service_docs.h"
#include "services/stepfunctions/sfn_http.h"
#include "services/stepfunctions/sfn_validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TAGS 50

static void create_state_machine(aws_call *call);
static void describe_state_machine(aws_call *call);
static void list_state_machines(aws_call *call);
static void update_state_machine(aws_call *call);
static void delete_state_machine(aws_call *call);
static void validate_state_machine_definition(aws_call *call);
static void tag_resource(aws_call *call);
static void untag_resource(aws_call *call);
static void list_tags_for_resource(aws_call *call);

static const aws_op_def sfn_ops[] = {
    {"CreateActivity", sfn_create_activity},
    {"CreateStateMachine", create_state_machine},
    {"CreateStateMachineAlias", sfn_create_alias},
    {"DeleteActivity", sfn_delete_activity},
    {"DeleteStateMachine", delete_state_machine},
    {"DeleteStateMachineAlias", sfn_delete_alias},
    {"DeleteStateMachineVersion", sfn_delete_version},
    {"DescribeActivity", sfn_describe_activity},
    {"DescribeExecution", sfn_describe_execution},
    {"DescribeMapRun", sfn_describe_map_run},
    {"DescribeStateMachine", describe_state_machine},
    {"DescribeStateMachineAlias", sfn_describe_alias},
    {"DescribeStateMachineForExecution", sfn_describe_state_machine_for_execution},
    {"GetActivityTask", sfn_get_activity_task},
    {"GetExecutionHistory", sfn_get_execution_history},
    {"ListActivities", sfn_list_activities},
    {"ListExecutions", sfn_list_executions},
    {"ListMapRuns", sfn_list_map_runs},
    {"ListStateMachineAliases", sfn_list_aliases},
    {"ListStateMachineVersions", sfn_list_versions},
    {"ListStateMachines", list_state_machines},
    {"ListTagsForResource", list_tags_for_resource},
    {"PublishStateMachineVersion", sfn_publish_version},
    {"RedriveExecution", sfn_redrive_execution},
    {"SendTaskFailure", sfn_send_task_failure},
    {"SendTaskHeartbeat", sfn_send_task_heartbeat},
    {"SendTaskSuccess", sfn_send_task_success},
    {"StartExecution", sfn_start_execution},
    {"StartSyncExecution", sfn_start_sync_execution},
    {"StopExecution", sfn_stop_execution},
    {"TagResource", tag_resource},
    {"TestState", sfn_test_state},
    {"UntagResource", untag_resource},
    {"UpdateMapRun", sfn_update_map_run},
    {"UpdateStateMachine", update_state_machine},
    {"UpdateStateMachineAlias", sfn_update_alias},
    {"ValidateStateMachineDefinition", validate_state_machine_definition},
};

/* ---- helpers ------------------------------------------------------------------------ */

void sfn_add_service(sfn *s, const char *sdk_id, const aws_service_def *def)
{
    if (!def || s->nservices == sizeof s->services / sizeof s->services[0])
        return;
    struct sfn_service_ref *r = &s->services[s->nservices++];
    snprintf(r->sdk_id, sizeof r->sdk_id, "%s", sdk_id);
    r->def = def;
}

void sfn_set_connections(sfn *s, struct events *connections)
{
    s->events = connections;
}

const char *sfn_str(const aws_call *call, const char *name)
{
    return json_string_value(json_object_get(call->input, name));
}

json_t *sfn_time_json(int64_t ms)
{
    return json_real((double)ms / 1000.0);
}

/* 1 to 80 characters, none of: white space, brackets, wildcards, the special characters
 * " # % \ ^ | ~ ` $ & , ; : /, control characters. */
bool sfn_valid_name(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 80)
        return false;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (*p <= 0x20 || *p == 0x7f || strchr("<>{}[]?*\"#%\\^|~`$&,;:/", *p))
            return false;
        if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) /* U+0080-009F */
            return false;
    }
    return true;
}

bool sfn_arn_ok(const char *arn)
{
    return arn && strncmp(arn, "arn:aws:states:", 15) == 0;
}

json_t *sfn_machine_or_reply(aws_call *call, const char *arn)
{
    sfn *s = sfn_of(call);
    if (!sfn_arn_ok(arn)) {
        aws_reply_error(call, AWS_ERR_SFN_INVALID_ARN, "Invalid Arn: 'Invalid ARN prefix: %s'",
                        arn ? arn : "");
        return NULL;
    }
    json_t *m = json_object_get(s->machines, arn);
    if (!m)
        aws_reply_error(call, AWS_ERR_SFN_STATE_MACHINE_DOES_NOT_EXIST,
                        "State Machine Does Not Exist: '%s'", arn);
    return m;
}

/* Pagination: nextToken is the index of the next item (decimal). -1 if it is not one. */
static long page_start(aws_call *call)
{
    const char *tok = sfn_str(call, "nextToken");
    if (!tok)
        return 0;
    char *end;
    long v = strtol(tok, &end, 10);
    return (*end || v < 0) ? -1 : v;
}

static void persist_machine(aws_call *call, json_t *reply, const char *arn, const json_t *doc)
{
    service_persist_doc(sfn_of(call)->store, call, reply, AWS_ERR_INTERNAL_ERROR, SFN_NS_MACHINE,
                        arn, doc);
}

/* Checks definition text; replies InvalidDefinition and returns -1 when it is refused. */
static int definition_or_reply(aws_call *call, const char *text)
{
    json_t *diags = sfn_definition_validate(text, NULL);
    int rc = 0;
    if (json_array_size(diags) > 0) {
        char msg[4096];
        sfn_definition_error_message(diags, msg, sizeof msg);
        aws_reply_error(call, AWS_ERR_SFN_INVALID_DEFINITION, "%s", msg);
        rc = -1;
    }
    json_decref(diags);
    return rc;
}

/* Tags given as [{key, value}] into obj. -1 (replied) when malformed or too many. */
static int tags_merge_or_reply(aws_call *call, json_t *obj, const json_t *list)
{
    size_t i;
    json_t *t;
    json_array_foreach(list, i, t)
    {
        const char *k = json_string_value(json_object_get(t, "key"));
        const char *v = json_string_value(json_object_get(t, "value"));
        if (!k || !*k) {
            aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION, "Invalid tag key");
            return -1;
        }
        json_object_set_new(obj, k, json_string(v ? v : ""));
    }
    if (json_object_size(obj) > MAX_TAGS) {
        aws_reply_error(call, AWS_ERR_SFN_TOO_MANY_TAGS,
                        "Too many tags: a resource can have at most %d tags", MAX_TAGS);
        return -1;
    }
    return 0;
}

/* ---- state machines ----------------------------------------------------------------- */

static bool same_machine_request(const json_t *m, aws_call *call)
{
    const char *type = sfn_str(call, "type") ? sfn_str(call, "type") : "STANDARD";
    return strcmp(json_string_value(json_object_get(m, "definition")),
                  sfn_str(call, "definition")) == 0 &&
           strcmp(json_string_value(json_object_get(m, "roleArn")), sfn_str(call, "roleArn")) ==
               0 &&
           strcmp(json_string_value(json_object_get(m, "type")), type) == 0;
}

/* publish: true (CreateStateMachine, UpdateStateMachine): a version, named in the reply. */
static void publish_if_asked(aws_call *call, json_t *m, json_t *reply)
{
    if (!json_is_true(json_object_get(call->input, "publish")))
        return;
    char varn[900];
    int64_t created;
    if (sfn_publish(m, sfn_str(call, "versionDescription"), varn, sizeof varn, &created))
        json_object_set_new(reply, "stateMachineVersionArn", json_string(varn));
}

static void create_state_machine(aws_call *call)
{
    sfn *s = sfn_of(call);
    const char *name = sfn_str(call, "name"), *definition = sfn_str(call, "definition");
    const char *role = sfn_str(call, "roleArn"), *type = sfn_str(call, "type");
    if (!name || !definition || !role) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "name, definition and roleArn are required");
        return;
    }
    if (!sfn_valid_name(name)) {
        aws_reply_error(call, AWS_ERR_SFN_INVALID_NAME, "Invalid Name: '%s'", name);
        return;
    }
    if (type && strcmp(type, "STANDARD") != 0 && strcmp(type, "EXPRESS") != 0) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "1 validation error detected: Value '%s' at 'type' failed to satisfy "
                        "constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]",
                        type);
        return;
    }
    if (definition_or_reply(call, definition) != 0)
        return;
    char arn[512];
    snprintf(arn, sizeof arn, "arn:aws:states:%s:%s:stateMachine:%s", s->region, s->account, name);
    json_t *old = json_object_get(s->machines, arn);
    if (old) {
        if (!same_machine_request(old, call)) {
            aws_reply_error(call, AWS_ERR_SFN_STATE_MACHINE_ALREADY_EXISTS,
                            "State Machine Already Exists: '%s'", arn);
            return;
        }
        aws_reply(call, json_pack("{s:s,s:O}", "stateMachineArn", arn, "creationDate",
                                  json_object_get(old, "creationDateJson")));
        return;
    }
    json_t *tags = json_object();
    if (tags_merge_or_reply(call, tags, json_object_get(call->input, "tags")) != 0) {
        json_decref(tags);
        return;
    }
    int64_t now = clock_now_ms();
    char rev[37];
    ids_uuid4(rev);
    json_t *m = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:o,s:o,s:s}", "stateMachineArn", arn,
                          "name", name, "status", "ACTIVE", "definition", definition, "roleArn",
                          role, "type", type ? type : "STANDARD", "creationDate", (json_int_t)now,
                          "creationDateJson", sfn_time_json(now), "tags", tags, "revisionId", rev);
    const char *opt[] = {"loggingConfiguration", "tracingConfiguration", "description"};
    for (size_t i = 0; i < 3; i++)
        if (json_object_get(call->input, opt[i]))
            json_object_set(m, opt[i], json_object_get(call->input, opt[i]));
    json_object_set_new(s->machines, arn, m);
    json_t *reply =
        json_pack("{s:s,s:o}", "stateMachineArn", arn, "creationDate", sfn_time_json(now));
    publish_if_asked(call, m, reply);
    persist_machine(call, reply, arn, m);
}

/* The machine as Describe returns it. */
static json_t *machine_description(const json_t *m)
{
    json_t *out = json_object();
    const char *copy[] = {"stateMachineArn",     "name",        "status",
                          "definition",          "roleArn",     "type",
                          "revisionId",          "description", "loggingConfiguration",
                          "tracingConfiguration"};
    for (size_t i = 0; i < sizeof copy / sizeof copy[0]; i++)
        if (json_object_get(m, copy[i]))
            json_object_set(out, copy[i], json_object_get(m, copy[i]));
    if (!json_object_get(out, "loggingConfiguration"))
        json_object_set_new(out, "loggingConfiguration",
                            json_pack("{s:s,s:b}", "level", "OFF", "includeExecutionData", 0));
    if (!json_object_get(out, "tracingConfiguration"))
        json_object_set_new(out, "tracingConfiguration", json_pack("{s:b}", "enabled", 0));
    json_object_set_new(out, "creationDate",
                        sfn_time_json(json_integer_value(json_object_get(m, "creationDate"))));
    return out;
}

static void describe_state_machine(aws_call *call)
{
    json_t *m = sfn_machine_target_or_reply(call, sfn_str(call, "stateMachineArn"), false);
    if (!m)
        return;
    json_t *out = machine_description(m);
    if (json_object_get(m, "versionArn")) /* a version describes itself */
        json_object_set(out, "stateMachineArn", json_object_get(m, "versionArn"));
    json_decref(m);
    aws_reply(call, out);
}

static int by_name(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    return strcmp(json_string_value(json_object_get(x, "name")),
                  json_string_value(json_object_get(y, "name")));
}

static void list_state_machines(aws_call *call)
{
    sfn *s = sfn_of(call);
    long start = page_start(call);
    json_int_t max = json_integer_value(json_object_get(call->input, "maxResults"));
    if (start < 0) {
        aws_reply_error(call, AWS_ERR_SFN_INVALID_TOKEN, "Invalid Token: '%s'",
                        sfn_str(call, "nextToken"));
        return;
    }
    if (max <= 0 || max > 1000)
        max = 100;
    size_t n = json_object_size(s->machines), i = 0;
    json_t **all = xcalloc(n ? n : 1, sizeof *all);
    const char *k;
    json_t *m;
    json_object_foreach(s->machines, k, m) all[i++] = m;
    qsort(all, n, sizeof *all, by_name);
    json_t *list = json_array();
    for (i = (size_t)start; i < n && (json_int_t)json_array_size(list) < max; i++)
        json_array_append_new(
            list,
            json_pack("{s:O,s:O,s:O,s:o}", "stateMachineArn",
                      json_object_get(all[i], "stateMachineArn"), "name",
                      json_object_get(all[i], "name"), "type", json_object_get(all[i], "type"),
                      "creationDate",
                      sfn_time_json(json_integer_value(json_object_get(all[i], "creationDate")))));
    json_t *out = json_pack("{s:o}", "stateMachines", list);
    if (i < n)
        json_object_set_new(out, "nextToken", json_sprintf("%zu", i));
    xfree(all);
    aws_reply(call, out);
}

static void update_state_machine(aws_call *call)
{
    json_t *m = sfn_machine_or_reply(call, sfn_str(call, "stateMachineArn"));
    if (!m)
        return;
    const char *definition = sfn_str(call, "definition"), *role = sfn_str(call, "roleArn");
    json_t *logging = json_object_get(call->input, "loggingConfiguration");
    json_t *tracing = json_object_get(call->input, "tracingConfiguration");
    if (!definition && !role && !logging && !tracing) {
        aws_reply_error(call, AWS_ERR_SFN_MISSING_REQUIRED_PARAMETER,
                        "Either the definition, the role ARN, the LoggingConfiguration, or the "
                        "TracingConfiguration must be specified");
        return;
    }
    if (definition && definition_or_reply(call, definition) != 0)
        return;
    if (definition)
        json_object_set_new(m, "definition", json_string(definition));
    if (role)
        json_object_set_new(m, "roleArn", json_string(role));
    if (logging)
        json_object_set(m, "loggingConfiguration", logging);
    if (tracing)
        json_object_set(m, "tracingConfiguration", tracing);
    char rev[37];
    ids_uuid4(rev);
    json_object_set_new(m, "revisionId", json_string(rev));
    json_t *reply =
        json_pack("{s:o,s:s}", "updateDate", sfn_time_json(clock_now_ms()), "revisionId", rev);
    publish_if_asked(call, m, reply);
    persist_machine(call, reply, json_string_value(json_object_get(m, "stateMachineArn")), m);
}

/* Executions keep the definition they started with, so they finish after a delete. */
static void delete_state_machine(aws_call *call)
{
    sfn *s = sfn_of(call);
    const char *arn = sfn_str(call, "stateMachineArn");
    if (!sfn_arn_ok(arn)) {
        aws_reply_error(call, AWS_ERR_SFN_INVALID_ARN, "Invalid Arn: 'Invalid ARN prefix: %s'",
                        arn ? arn : "");
        return;
    }
    if (!json_object_get(s->machines, arn)) {
        aws_reply(call, NULL);
        return;
    }
    char *key = xstrdup(arn);
    json_object_del(s->machines, key);
    persist_machine(call, NULL, key, NULL);
    xfree(key);
}

static void validate_state_machine_definition(aws_call *call)
{
    const char *definition = sfn_str(call, "definition");
    if (!definition) {
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION, "definition is required");
        return;
    }
    json_int_t max = json_integer_value(json_object_get(call->input, "maxResults"));
    json_t *diags = sfn_definition_validate(definition, NULL);
    bool truncated = max > 0 && (json_int_t)json_array_size(diags) > max;
    while (max > 0 && (json_int_t)json_array_size(diags) > max)
        json_array_remove(diags, json_array_size(diags) - 1);
    aws_reply(call, json_pack("{s:s,s:o,s:b}", "result", json_array_size(diags) ? "FAIL" : "OK",
                              "diagnostics", diags, "truncated", truncated));
}

/* ---- tags --------------------------------------------------------------------------- */

/* The tagged machine, or NULL (replied ResourceNotFound / InvalidArn). */
static json_t *tagged_or_reply(aws_call *call)
{
    sfn *s = sfn_of(call);
    const char *arn = sfn_str(call, "resourceArn");
    if (!sfn_arn_ok(arn)) {
        aws_reply_error(call, AWS_ERR_SFN_INVALID_ARN, "Invalid Arn: 'Invalid ARN prefix: %s'",
                        arn ? arn : "");
        return NULL;
    }
    json_t *m = json_object_get(s->machines, arn);
    if (!m)
        aws_reply_error(call, AWS_ERR_SFN_RESOURCE_NOT_FOUND, "Resource not found: '%s'", arn);
    return m;
}

static void tag_resource(aws_call *call)
{
    json_t *m = tagged_or_reply(call);
    if (!m)
        return;
    json_t *tags = json_deep_copy(json_object_get(m, "tags"));
    if (tags_merge_or_reply(call, tags, json_object_get(call->input, "tags")) != 0) {
        json_decref(tags);
        return;
    }
    json_object_set_new(m, "tags", tags);
    persist_machine(call, NULL, json_string_value(json_object_get(m, "stateMachineArn")), m);
}

static void untag_resource(aws_call *call)
{
    json_t *m = tagged_or_reply(call);
    if (!m)
        return;
    json_t *tags = json_object_get(m, "tags");
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(call->input, "tagKeys"), i, k)
        json_object_del(tags, json_string_value(k) ? json_string_value(k) : "");
    persist_machine(call, NULL, json_string_value(json_object_get(m, "stateMachineArn")), m);
}

static void list_tags_for_resource(aws_call *call)
{
    json_t *m = tagged_or_reply(call);
    if (!m)
        return;
    json_t *list = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(m, "tags"), k, v)
        json_array_append_new(list, json_pack("{s:s,s:O}", "key", k, "value", v));
    aws_reply(call, json_pack("{s:o}", "tags", list));
}

/* ---- lifecycle ---------------------------------------------------------------------- */

static void machine_restore(const char *key, const char *doc, void *arg)
{
    sfn *s = arg;
    json_t *m = json_loads(doc, 0, NULL);
    if (json_is_object(m))
        json_object_set_new(s->machines, key, m);
    else
        json_decref(m);
}

int sfn_create(sfn **out, uv_loop_t *loop, store *st, const char *region, const char *account,
               struct lambda *functions)
{
    sfn *s = xcalloc(1, sizeof *s);
    s->def.model = &model_stepfunctions;
    s->def.json_protocol = AWS_PROTO_JSON_1_0;
    s->def.ops = sfn_ops;
    s->def.nops = sizeof sfn_ops / sizeof sfn_ops[0];
    s->def.ctx = s;
    s->loop = loop;
    s->store = st;
    s->lambda = functions;
    snprintf(s->region, sizeof s->region, "%s", region);
    snprintf(s->account, sizeof s->account, "%s", account);
    s->machines = json_object();
    s->activities = json_object();
    s->definitions = json_object();
    s->exec_index = json_object();
    uv_timer_init(loop, &s->wait_timer);
    s->wait_timer.data = s;
    if (store_load_docs(st, SFN_NS_MACHINE, machine_restore, s) != 0 ||
        store_load_docs(st, "sfn.activity", sfn_activity_restore, s) != 0 ||
        sfn_store_open(s) != 0) {
        sfn_destroy(s);
        *out = NULL;
        return -1;
    }
    log_info("stepfunctions ready", "state_machines=%zu", json_object_size(s->machines));
    *out = s;
    return 0;
}

size_t sfn_executions_in_memory(const sfn *s)
{
    return s ? s->nhot : 0;
}

size_t sfn_executions_in_memory_peak(const sfn *s)
{
    return s ? s->nhot_peak : 0;
}

const aws_service_def *sfn_service_def(const sfn *s)
{
    return &s->def;
}

void sfn_shutdown(sfn *s)
{
    if (!s)
        return;
    s->stopping = true;
    uv_timer_stop(&s->wait_timer);
    sfn_activities_stop(s);
    sfn_tests_stop(s);
    sfn_http_stop(s);
    for (sfn_exec *e = s->execs; e; e = e->next) {
        sfn_exec_unpark_all(e);
        if (e->sync_call) { /* the execution goes on after the restart; the caller may not */
            aws_reply_error(e->sync_call, AWS_ERR_SERVICE_UNAVAILABLE,
                            "The server is stopping; the execution resumes when it restarts.");
            e->sync_call = NULL;
        }
    }
}

static void free_after_close(uv_handle_t *h)
{
    xfree(h->data);
}

static void free_handle(uv_handle_t *h)
{
    xfree(h);
}

/* The service's memory goes with its timer's close callback (the loop runs it). */
void sfn_destroy(sfn *s)
{
    if (!s)
        return;
    sfn_express_discard(s);
    sfn_tests_free(s);
    sfn_execs_free(s);
    sfn_store_close(s);
    json_decref(s->machines);
    s->machines = NULL;
    json_decref(s->activities);
    s->activities = NULL;
    json_decref(s->definitions);
    s->definitions = NULL;
    json_decref(s->started_def);
    s->started_def = NULL;
    json_decref(s->exec_index);
    s->exec_index = NULL;
    sfn_jsonata_cache_free();
    if (s->express_kick)
        uv_close((uv_handle_t *)s->express_kick, free_handle);
    uv_close((uv_handle_t *)&s->wait_timer, free_after_close);
}
