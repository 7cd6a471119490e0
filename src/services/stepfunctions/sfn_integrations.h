/* Task states that call other services of this server: the optimized integrations
 * (arn:aws:states:::sqs:sendMessage, sns:publish, events:putEvents, dynamodb:getItem /
 * putItem / updateItem / deleteItem, states:startExecution) and the AWS SDK integrations
 * (arn:aws:states:::aws-sdk:SERVICE:action, any operation of a registered service), with
 * the .sync, .sync:2 and .waitForTaskToken patterns. The calls run in-process
 * (aws_call_internal), exactly as a client's call of the same operation. */
#ifndef SLUICE_SERVICES_SFN_INTEGRATIONS_H
#define SLUICE_SERVICES_SFN_INTEGRATIONS_H

#include "services/stepfunctions/sfn_internal.h"

#include <jansson.h>
#include <stdbool.h>

typedef enum {
    SFN_WAIT_NONE,  /* request-response: the call's output is the result */
    SFN_WAIT_SYNC,  /* .sync: a started execution's end is the result */
    SFN_WAIT_SYNC2, /* .sync:2: the same, its output as JSON */
    SFN_WAIT_TOKEN, /* .waitForTaskToken: SendTaskSuccess / SendTaskFailure give it */
} sfn_wait;

typedef struct sfn_integration {
    char sdk_id[24];        /* the service: "sqs", "eventbridge", "sfn", ... */
    char op[64];            /* the API operation: "SendMessage" */
    char resource_type[32]; /* history events' resourceType: "sqs", "aws-sdk:dynamodb" */
    char resource[96];      /* and resource: "sendMessage.waitForTaskToken" */
    bool sdk;               /* an aws-sdk integration (plain API shapes) */
    sfn_wait wait;
} sfn_integration;

/* 0 if resource names an integration (arn:aws:states:::...), -1 if not. */
int sfn_integration_parse(const char *resource, sfn_integration *out);
/* Whether the integration's service is registered (sfn_add_service). */
bool sfn_integration_available(const sfn *s, const sfn_integration *in);
/* The registered service whose SDK id is sdk_id ("s3"), or NULL. */
const aws_service_def *sfn_registered_service(const sfn *s, const char *sdk_id);
/* The model of the integration's operation (its output shape: what the call returns), or
 * NULL if its service is not registered. */
const model_operation *sfn_integration_operation(const sfn *s, const sfn_integration *in);

/* result: taken (NULL on error); error/cause: the Task's error name and cause. */
typedef void (*sfn_integration_done_fn)(json_t *result, const char *error, const char *cause,
                                        void *arg);
/* Calls the integration with the Task's parameters (borrowed). done runs once, maybe
 * before this returns. */
void sfn_integration_call(sfn *s, const sfn_integration *in, const json_t *params,
                          sfn_integration_done_fn done, void *arg);

/* Publishes the execution's status (RUNNING at start, then how it ended) to the default
 * event bus, as Step Functions does: source "aws.states", detail-type "Step Functions
 * Execution Status Change". Nothing if EventBridge is not registered. */
void sfn_status_event(sfn *s, const json_t *execution_doc);

#endif
