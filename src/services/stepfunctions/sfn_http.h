/* HTTP Tasks ("Resource": "arn:aws:states:::http:invoke"): a Task that calls an HTTP API
 * through an EventBridge connection, on the loop's HTTP client (see sfn_http.c). */
#ifndef SLUICE_SERVICES_SFN_HTTP_H
#define SLUICE_SERVICES_SFN_HTTP_H

#include "services/stepfunctions/sfn_integrations.h"

#include <jansson.h>
#include <stdbool.h>

#define SFN_HTTP_INVOKE "arn:aws:states:::http:invoke"

/* Sends the request the Task's parameters (borrowed) describe and answers done once, with
 * the result (taken) or an error and cause: maybe before this returns (parameters that
 * cannot make a request), else later on the loop. */
void sfn_http_call(sfn *s, const json_t *params, sfn_integration_done_fn done, void *arg);
/* Shutdown: the requests in flight are cancelled (their done runs now; s->stopping must be
 * set, so the answers are dropped). */
void sfn_http_stop(sfn *s);

#endif
