/* The EventBridge service: event buses, rules with event patterns and schedules, targets
 * with retries and dead-letter queues, archives and replays, connections and API
 * destinations. */
#ifndef SLUICE_EVENTS_H
#define SLUICE_EVENTS_H

#include "protocol/aws.h"
#include "services/sns/sns.h"
#include "services/sqs/sqs.h"
#include "store/store.h"

#include <jansson.h>
#include <uv.h>

typedef struct events events;

/* Creates the service, loading its buses, rules, archives, replays, connections and API
 * destinations from the store (synchronously: call before serving), and starts its
 * schedules, replays and delivery of pending target invocations. Borrows everything. */
int events_create(events **out, uv_loop_t *loop, store *st, sqs *queues, sns *topics,
                  const char *region, const char *account);
const aws_service_def *events_service_def(const events *ev);
/* The Step Functions service whose state machines rules may target (borrowed): a matched
 * event starts an execution (StartExecution, in-process), with the target's RetryPolicy
 * and dead-letter queue. */
void events_set_workflows(events *ev, const aws_service_def *sfn_def);
/* ---- connections, for other services' requests (Step Functions' HTTP Task) ----------
 * What a connection adds to a request made through it, as the JSON object
 * {"headers": {name: value}, "query": {name: value}, "body": {name: value}}: its
 * InvocationHttpParameters' header, query string and body parameters, and its
 * authorization among the headers (the API key header; Authorization: Basic; or
 * Authorization: Bearer with an OAuth client-credentials token, obtained from the
 * connection's authorization endpoint and cached until it expires, as for API
 * destinations). */
/* params: taken (NULL on error). error: NULL, or "ResourceNotFound" (no connection has
 * this ARN), "InvalidConnectionState" (deauthorized, or no OAuth token could be obtained)
 * or "Cancelled" (the server is stopping); message says more. */
typedef void (*events_connection_fn)(json_t *params, const char *error, const char *message,
                                     void *arg);
/* Resolves the connection `arn` (borrowed) for a request: fn runs exactly once, before this
 * returns unless an OAuth token must be fetched first (then on the loop, later; at the
 * latest from events_shutdown, with "Cancelled"). */
void events_connection_params(events *ev, const char *arn, events_connection_fn fn, void *arg);

/* Shutdown, step 1: stop timers, schedules and replays; cancel outbound requests (their
 * deliveries stay pending in the store and resume at the next start). */
void events_shutdown(events *ev);
/* Frees the service (after the store has delivered its last completions). Accepts NULL. */
void events_destroy(events *ev);

#endif
