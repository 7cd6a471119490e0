/* Service integrations of Task states (see sfn_integrations.h): parsing the Resource,
 * shaping the parameters into the operation's input, calling it in-process, and shaping its
 * output and errors as Step Functions does.
 *
 * Optimized integrations take the API's parameters with conveniences (a MessageBody,
 * Message, Detail or Input that is JSON rather than text is sent as its JSON text) and
 * return the API's output with SdkHttpMetadata / SdkResponseMetadata; their errors are
 * named "SQS.<Code>", "DynamoDB.<Code>", ... AWS SDK integrations take and return the plain
 * API shapes (member names in PascalCase, as the SDKs spell them) and name errors
 * "<Service>.<Code>" ("DynamoDb.ConditionalCheckFailedException"). */
#include "services/stepfunctions/sfn_integrations.h"

#include "common/alloc.h"
#include "common/ids.h"
#include "common/log.h"
#include "protocol/json_codec.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define PREFIX     "arn:aws:states:::"
#define SDK_PREFIX "arn:aws:states:::aws-sdk:"

/* The optimized integrations: ARN service -> SDK id, allowed actions, error prefix. */
static const struct optimized {
    const char *arn_service, *sdk_id, *error_prefix;
    const char *actions[5];
} optimized[] = {
    {"sqs", "sqs", "SQS", {"sendMessage"}},
    {"sns", "sns", "SNS", {"publish"}},
    {"events", "eventbridge", "EventBridge", {"putEvents"}},
    {"dynamodb", "dynamodb", "DynamoDB", {"getItem", "putItem", "updateItem", "deleteItem"}},
    {"states", "sfn", "StepFunctions", {"startExecution"}},
};

/* The SDK ids whose error prefix is not their capitalized id. */
static const struct {
    const char *sdk_id, *prefix;
} sdk_error_prefixes[] = {
    {"dynamodb", "DynamoDb"},
    {"eventbridge", "EventBridge"},
    {"stepfunctions", "Sfn"},
};

static const struct optimized *optimized_of(const char *arn_service)
{
    for (size_t i = 0; i < sizeof optimized / sizeof optimized[0]; i++)
        if (strcmp(optimized[i].arn_service, arn_service) == 0)
            return &optimized[i];
    return NULL;
}

static const struct optimized *optimized_by_sdk(const char *sdk_id)
{
    for (size_t i = 0; i < sizeof optimized / sizeof optimized[0]; i++)
        if (strcmp(optimized[i].sdk_id, sdk_id) == 0)
            return &optimized[i];
    return NULL;
}

int sfn_integration_parse(const char *resource, sfn_integration *out)
{
    memset(out, 0, sizeof *out);
    if (!resource || strncmp(resource, PREFIX, strlen(PREFIX)) != 0)
        return -1;
    bool sdk = strncmp(resource, SDK_PREFIX, strlen(SDK_PREFIX)) == 0;
    const char *p = resource + strlen(sdk ? SDK_PREFIX : PREFIX);
    const char *colon = strchr(p, ':');
    if (!colon || (size_t)(colon - p) >= sizeof out->sdk_id)
        return -1;
    char service[24];
    snprintf(service, sizeof service, "%.*s", (int)(colon - p), p);
    const char *action = colon + 1;
    const char *dot = strchr(action, '.');
    size_t alen = dot ? (size_t)(dot - action) : strlen(action);
    if (alen == 0 || alen >= sizeof out->op)
        return -1;
    if (dot) {
        if (strcmp(dot, ".waitForTaskToken") == 0)
            out->wait = SFN_WAIT_TOKEN;
        else if (strcmp(dot, ".sync") == 0)
            out->wait = SFN_WAIT_SYNC;
        else if (strcmp(dot, ".sync:2") == 0)
            out->wait = SFN_WAIT_SYNC2;
        else
            return -1;
    }
    char act[64];
    snprintf(act, sizeof act, "%.*s", (int)alen, action);
    if (sdk) {
        if (out->wait == SFN_WAIT_SYNC || out->wait == SFN_WAIT_SYNC2)
            return -1; /* AWS SDK integrations are request-response or token only */
        snprintf(out->sdk_id, sizeof out->sdk_id, "%s", service);
        snprintf(out->resource_type, sizeof out->resource_type, "aws-sdk:%s", service);
    } else {
        const struct optimized *o = optimized_of(service);
        bool known = false;
        for (size_t i = 0; o && i < 5 && o->actions[i]; i++)
            known = known || strcmp(o->actions[i], act) == 0;
        if (!known)
            return -1;
        if ((out->wait == SFN_WAIT_SYNC || out->wait == SFN_WAIT_SYNC2) &&
            strcmp(service, "states") != 0)
            return -1;
        snprintf(out->sdk_id, sizeof out->sdk_id, "%s", o->sdk_id);
        snprintf(out->resource_type, sizeof out->resource_type, "%s", service);
    }
    out->sdk = sdk;
    snprintf(out->op, sizeof out->op, "%c%s", toupper((unsigned char)act[0]), act + 1);
    snprintf(out->resource, sizeof out->resource, "%s", action);
    return 0;
}

static const aws_service_def *service_of(const sfn *s, const char *sdk_id)
{
    if (strcmp(sdk_id, "sfn") == 0 || strcmp(sdk_id, "stepfunctions") == 0)
        return &s->def;
    for (size_t i = 0; i < s->nservices; i++)
        if (strcmp(s->services[i].sdk_id, sdk_id) == 0)
            return s->services[i].def;
    return NULL;
}

const aws_service_def *sfn_registered_service(const sfn *s, const char *sdk_id)
{
    return service_of(s, sdk_id);
}

bool sfn_integration_available(const sfn *s, const sfn_integration *in)
{
    const aws_service_def *def = service_of(s, in->sdk_id);
    return def && aws_find_op(def, in->op) != NULL;
}

const model_operation *sfn_integration_operation(const sfn *s, const sfn_integration *in)
{
    const aws_service_def *def = service_of(s, in->sdk_id);
    return def ? model_find_operation(def->model, in->op, strlen(in->op)) : NULL;
}

/* ---- shapes ------------------------------------------------------------------------- */

/* v as text: itself if a string, else its JSON text. */
static void as_text(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_string(v))
        return;
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_object_set_new(obj, key, json_string(text ? text : "null"));
    free(text);
}

/* Top-level member names with their first letter lowered (Step Functions' own API spells
 * its members in camelCase; integrations take them in PascalCase) or raised. */
static json_t *recase(const json_t *in, bool lower)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)in, k, v)
    {
        char key[128];
        snprintf(key, sizeof key, "%s", k);
        key[0] = (char)(lower ? tolower((unsigned char)key[0]) : toupper((unsigned char)key[0]));
        json_object_set(out, key, v);
    }
    return out;
}

static json_t *input_of(const sfn_integration *in, const json_t *params)
{
    json_t *input = json_is_object(params) ? json_deep_copy(params) : json_object();
    bool sfn_api = strcmp(in->sdk_id, "sfn") == 0;
    if (!in->sdk) {
        if (strcmp(in->sdk_id, "sqs") == 0)
            as_text(input, "MessageBody");
        else if (strcmp(in->sdk_id, "sns") == 0)
            as_text(input, "Message");
        else if (sfn_api)
            as_text(input, "Input");
        else if (strcmp(in->sdk_id, "eventbridge") == 0) {
            size_t i;
            json_t *e;
            json_array_foreach(json_object_get(input, "Entries"), i, e) as_text(e, "Detail");
        }
    }
    if (sfn_api) {
        json_t *lowered = recase(input, true);
        json_decref(input);
        input = lowered;
    }
    return input;
}

static json_t *output_of(const sfn_integration *in, const json_t *output)
{
    json_t *out = output ? json_deep_copy(output) : json_object();
    if (strcmp(in->sdk_id, "sfn") == 0) {
        json_t *raised = recase(out, false);
        json_decref(out);
        out = raised;
    }
    if (!in->sdk && strcmp(in->sdk_id, "sfn") != 0) {
        char rid[37];
        ids_uuid4(rid);
        json_object_set_new(out, "SdkHttpMetadata",
                            json_pack("{s:{s:s},s:i}", "HttpHeaders", "Content-Type",
                                      "application/x-amz-json-1.0", "HttpStatusCode", 200));
        json_object_set_new(out, "SdkResponseMetadata", json_pack("{s:s}", "RequestId", rid));
    }
    return out;
}

static void error_name(const sfn_integration *in, const char *code, char *out, size_t cap)
{
    char prefix[32];
    const struct optimized *o = in->sdk ? NULL : optimized_by_sdk(in->sdk_id);
    if (o) {
        snprintf(prefix, sizeof prefix, "%s", o->error_prefix);
    } else {
        snprintf(prefix, sizeof prefix, "%c%s", toupper((unsigned char)in->sdk_id[0]),
                 in->sdk_id + 1);
        for (size_t i = 0; i < sizeof sdk_error_prefixes / sizeof sdk_error_prefixes[0]; i++)
            if (strcmp(sdk_error_prefixes[i].sdk_id, in->sdk_id) == 0)
                snprintf(prefix, sizeof prefix, "%s", sdk_error_prefixes[i].prefix);
    }
    size_t n = strlen(code);
    bool has_suffix = n >= 9 && strcmp(code + n - 9, "Exception") == 0;
    snprintf(out, cap, "%s.%s%s", prefix, code, has_suffix ? "" : "Exception");
}

/* ---- status change events ----------------------------------------------------------- */

static void status_put(const json_t *output, const char *error, const char *message, void *arg)
{
    (void)output;
    (void)arg;
    if (error)
        log_warn("stepfunctions: status change event not put", "error=%s message='%s'", error,
                 message ? message : "");
}

void sfn_status_event(sfn *s, const json_t *d)
{
    const aws_service_def *bus = service_of(s, "eventbridge");
    if (!bus)
        return;
    json_t *stop = json_object_get(d, "stopDate");
    json_t *detail = json_pack(
        "{s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:{s:b},s:{s:b}}", "executionArn",
        json_object_get(d, "executionArn"), "stateMachineArn",
        json_object_get(d, "stateMachineArn"), "name", json_object_get(d, "name"), "status",
        json_object_get(d, "status"), "startDate", json_object_get(d, "startDate"), "stopDate",
        stop ? stop : json_null(), "input", json_object_get(d, "input"), "output",
        json_object_get(d, "output") ? json_object_get(d, "output") : json_null(), "inputDetails",
        "included", 1, "outputDetails", "included", 1);
    const char *keys[] = {"error", "cause"};
    for (size_t i = 0; i < 2; i++)
        json_object_set(detail, keys[i],
                        json_object_get(d, keys[i]) ? json_object_get(d, keys[i]) : json_null());
    buf text = BUF_INIT;
    jsonc_dump(&text, detail);
    json_decref(detail);
    json_t *input = json_pack("{s:[{s:s,s:s,s:s%,s:[O]}]}", "Entries", "Source", "aws.states",
                              "DetailType", "Step Functions Execution Status Change", "Detail",
                              text.data, text.len, "Resources", json_object_get(d, "executionArn"));
    buf_free(&text);
    aws_call_internal(bus, "PutEvents", input, status_put, NULL);
}

/* ---- the call ----------------------------------------------------------------------- */

typedef struct pending {
    sfn_integration in;
    sfn_integration_done_fn done;
    void *arg;
} pending;

static void call_done(const json_t *output, const char *error, const char *message, void *arg)
{
    pending *p = arg;
    if (error) {
        char name[160];
        error_name(&p->in, error, name, sizeof name);
        p->done(NULL, name, message, p->arg);
    } else {
        p->done(output_of(&p->in, output), NULL, NULL, p->arg);
    }
    xfree(p);
}

void sfn_integration_call(sfn *s, const sfn_integration *in, const json_t *params,
                          sfn_integration_done_fn done, void *arg)
{
    const aws_service_def *def = service_of(s, in->sdk_id);
    pending *p = xcalloc(1, sizeof *p);
    p->in = *in;
    p->done = done;
    p->arg = arg;
    if (!def || aws_call_internal(def, in->op, input_of(in, params), call_done, p) != 0) {
        char cause[200];
        snprintf(cause, sizeof cause, "The resource provided %s:%s is not supported by Sluice",
                 in->resource_type, in->resource);
        xfree(p);
        done(NULL, "States.Runtime", cause, arg);
    }
}
