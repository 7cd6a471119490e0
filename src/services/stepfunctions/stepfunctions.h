/* The Step Functions service (AWS JSON 1.0, X-Amz-Target AWSStepFunctions.*): state
 * machines, and durable executions of their states. */
#ifndef SLUICE_SERVICES_STEPFUNCTIONS_H
#define SLUICE_SERVICES_STEPFUNCTIONS_H

#include "protocol/aws.h"
#include "store/store.h"

#include <uv.h>

typedef struct sfn sfn;
struct lambda;
struct events;

/* Loads the state machines and executions (resuming the running ones). Task states invoke
 * the functions of `functions` (borrowed; NULL: none). 0, or -1 (logged). */
int sfn_create(sfn **out, uv_loop_t *loop, store *st, const char *region, const char *account,
               struct lambda *functions);
const aws_service_def *sfn_service_def(const sfn *s);
/* A service that Task states may call, by its SDK id as in aws-sdk ARNs ("sqs", "sns",
 * "eventbridge", "dynamodb", "lambda", "sesv2", ...; this service is "sfn"). Borrowed. */
void sfn_add_service(sfn *s, const char *sdk_id, const aws_service_def *def);
/* The loader stops bringing due executions into memory while n are there (default 20000):
 * the others wait in the store (calls and running executions are not limited). */
void sfn_set_max_in_memory(sfn *s, size_t n);
/* How many executions are in memory (the others are only in the store). */
size_t sfn_executions_in_memory(const sfn *s);
/* The most executions that were in memory at once since the start. */
size_t sfn_executions_in_memory_peak(const sfn *s);
/* The EventBridge service whose connections authorise HTTP Tasks
 * (arn:aws:states:::http:invoke). Borrowed; without it HTTP Tasks fail (States.Runtime). */
void sfn_set_connections(sfn *s, struct events *connections);
/* Stops the timers; executions stay where their last commit left them. */
void sfn_shutdown(sfn *s);
void sfn_destroy(sfn *s);

#endif
