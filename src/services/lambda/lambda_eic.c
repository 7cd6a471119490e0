/* Asynchronous invocation settings: Put/Update/Get/Delete/ListFunctionEventInvokeConfig(s).
 *
 * A function's EventInvokeConfig lives in its document (member "EventInvokeConfig", not
 * part of FunctionConfiguration): MaximumRetryAttempts (0..2), MaximumEventAgeInSeconds
 * (60..21600) and DestinationConfig {OnSuccess, OnFailure: {Destination: ARN}}. The
 * "lambda-event" dispatcher (lambda_invoke.c) reads it at each outcome. Destinations may
 * be SQS queues, SNS topics, functions or event buses of this server. */
#include "services/lambda/lambda_internal.h"

#include "common/clock.h"
#include "services/service_docs.h"

#include <stdio.h>
#include <string.h>

static const char EIC[] = "EventInvokeConfig";

static lambda_fn *target_fn(aws_call *call)
{
    lambda *l = call->service->ctx;
    lambda_fn *fn = lambda_fn_find(l, lambda_str(call, "FunctionName"));
    const char *qualifier = lambda_str(call, "Qualifier");
    if (!fn || (qualifier && strcmp(qualifier, "$LATEST") != 0)) {
        lambda_reply_not_found(call);
        return NULL;
    }
    return fn;
}

static json_t *output(lambda *l, const lambda_fn *fn, const json_t *eic)
{
    json_t *out = json_deep_copy(eic);
    char arn[512];
    lambda_fn_arn(l, fn->name, arn, sizeof arn);
    strncat(arn, ":$LATEST", sizeof arn - strlen(arn) - 1);
    json_object_set_new(out, "FunctionArn", json_string(arn));
    return out;
}

static int check_range(aws_call *call, const json_t *in, const char *member, const char *wire,
                       json_int_t lo, json_int_t hi)
{
    json_t *v = json_object_get(in, member);
    if (!v)
        return 0;
    json_int_t n = json_integer_value(v);
    if (json_is_integer(v) && n >= lo && n <= hi)
        return 0;
    aws_reply_error(call, LAMBDA_ERR_INVALID,
                    "1 validation error detected: Value '%lld' at '%s' failed to satisfy "
                    "constraint: Member must have value %s %lld",
                    (long long)n, wire,
                    n < lo ? "greater than or equal to" : "less than or equal to",
                    (long long)(n < lo ? lo : hi));
    return -1;
}

static int check_destination(aws_call *call, const lambda *l, const json_t *dc, const char *which)
{
    const char *arn = json_string_value(json_object_get(json_object_get(dc, which), "Destination"));
    if (!arn)
        return 0;
    const char *kinds[] = {"sqs", "sns", "lambda", "events"};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        char prefix[160];
        snprintf(prefix, sizeof prefix, "arn:aws:%s:%s:%s:", kinds[i], l->region, l->account);
        if (strncmp(arn, prefix, strlen(prefix)) == 0)
            return 0;
    }
    aws_reply_error(call, LAMBDA_ERR_INVALID, "The destination ARN %s is invalid.", arn);
    return -1;
}

/* Put (replace) or Update (merge) the function's config from the call's input. */
static void put(aws_call *call, int merge)
{
    lambda *l = call->service->ctx;
    lambda_fn *fn = target_fn(call);
    if (!fn)
        return;
    json_t *in = call->input;
    json_t *dc = json_object_get(in, "DestinationConfig");
    if (check_range(call, in, "MaximumRetryAttempts", "maximumRetryAttempts", 0, 2) != 0 ||
        check_range(call, in, "MaximumEventAgeInSeconds", "maximumEventAgeInSeconds", 60, 21600) !=
            0 ||
        check_destination(call, l, dc, "OnSuccess") != 0 ||
        check_destination(call, l, dc, "OnFailure") != 0)
        return;
    json_t *old = json_object_get(fn->doc, EIC);
    if (merge && !old) {
        aws_reply_error(call, LAMBDA_ERR_NOT_FOUND,
                        "The function %s doesn't have an EventInvokeConfig", fn->name);
        return;
    }
    json_t *eic = merge ? json_deep_copy(old) : json_object();
    const char *members[] = {"MaximumRetryAttempts", "MaximumEventAgeInSeconds",
                             "DestinationConfig"};
    for (size_t i = 0; i < 3; i++) {
        json_t *v = json_object_get(in, members[i]);
        if (v)
            json_object_set(eic, members[i], v);
    }
    json_object_set_new(eic, "LastModified", json_real((double)clock_now_ms() / 1000.0));
    json_object_set_new(fn->doc, EIC, eic);
    service_persist_doc(l->store, call, output(l, fn, eic), AWS_ERR_LAMBDA_SERVICE,
                        LAMBDA_NS_FUNCTION, fn->name, fn->doc);
}

void lambda_put_eic(aws_call *call)
{
    put(call, 0);
}

void lambda_update_eic(aws_call *call)
{
    put(call, 1);
}

void lambda_get_eic(aws_call *call)
{
    lambda_fn *fn = target_fn(call);
    if (!fn)
        return;
    json_t *eic = json_object_get(fn->doc, EIC);
    if (!eic) {
        char arn[512];
        lambda_fn_arn(call->service->ctx, fn->name, arn, sizeof arn);
        aws_reply_error(call, LAMBDA_ERR_NOT_FOUND,
                        "The function %s:$LATEST doesn't have an EventInvokeConfig", arn);
        return;
    }
    aws_reply(call, output(call->service->ctx, fn, eic));
}

void lambda_delete_eic(aws_call *call)
{
    lambda *l = call->service->ctx;
    lambda_fn *fn = target_fn(call);
    if (!fn)
        return;
    if (!json_object_get(fn->doc, EIC)) {
        char arn[512];
        lambda_fn_arn(l, fn->name, arn, sizeof arn);
        aws_reply_error(call, LAMBDA_ERR_NOT_FOUND,
                        "The function %s:$LATEST doesn't have an EventInvokeConfig", arn);
        return;
    }
    json_object_del(fn->doc, EIC);
    service_persist_doc(l->store, call, NULL, AWS_ERR_LAMBDA_SERVICE, LAMBDA_NS_FUNCTION, fn->name,
                        fn->doc);
}

void lambda_list_eics(aws_call *call)
{
    lambda_fn *fn = target_fn(call);
    if (!fn)
        return;
    json_t *list = json_array();
    json_t *eic = json_object_get(fn->doc, EIC);
    if (eic)
        json_array_append_new(list, output(call->service->ctx, fn, eic));
    aws_reply(call, json_pack("{s:o}", "FunctionEventInvokeConfigs", list));
}
