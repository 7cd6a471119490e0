/* The SQS service: durable standard and FIFO queues behind the SQS API. */
#ifndef SLUICE_SQS_H
#define SLUICE_SQS_H

#include "protocol/aws.h"
#include "store/store.h"

#include <uv.h>

typedef struct sqs sqs;

/* Creates the service, loading its queues and move tasks from the store (synchronously:
 * call before serving). Borrows loop, st, region and account for its lifetime. */
int sqs_create(sqs **out, uv_loop_t *loop, store *st, const char *region, const char *account);
/* The router's view of the service. */
const aws_service_def *sqs_service_def(const sqs *s);
/* Shutdown, step 1: answer every long poll (empty), stop timers. */
void sqs_shutdown(sqs *s);
/* Frees the service (after the store has delivered its last completions). Accepts NULL. */
void sqs_destroy(sqs *s);

#endif
