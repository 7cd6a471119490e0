/* Delivering events to API destinations and state machines: the "events" kind of durable
 * delivery. (A state machine target starts an execution in-process, StartExecution through
 * aws_call_internal; its failures follow the same retry and dead-letter rules.)
 *
 * Each pending delivery (planned in the PutEvents transaction, see events_target.c) holds
 * the rule ARN, the target definition and the rendered payload. An attempt resolves the
 * target's API destination and connection as they are now, waits for the destination's
 * invocation rate (a one-second window per destination), obtains an OAuth token when the
 * connection needs one (cached until it expires), and sends the request on the loop's
 * HTTP client, so a slow or dead endpoint delays nothing else.
 *
 * Outcomes, as EventBridge documents them: 2xx delivered; 429, 5xx and transport errors
 * are retried with exponential backoff and jitter while the target's RetryPolicy allows
 * (MaximumRetryAttempts, MaximumEventAgeInSeconds; defaults 185 and 24 h); other 4xx are
 * not retried. A delivery that cannot succeed goes to the target's dead-letter queue (with
 * RULE_ARN, TARGET_ARN, ERROR_CODE, ERROR_MESSAGE, EXHAUSTED_RETRY_CONDITION and
 * RETRY_ATTEMPTS attributes) in the same transaction that removes it, or is dropped when
 * the target has none.
 *
 * The same connection logic serves other services' requests (Step Functions' HTTP Task):
 * events_connection_params gives what a connection adds to a request, fetching and caching
 * an OAuth token as a delivery does. */
#include "services/events/events_internal.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/log.h"
#include "protocol/form.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RETRY_BASE_MS 1000
#define RETRY_MAX_MS  (5 * 60 * 1000)
#define TIMEOUT_MS    5000

typedef struct attempt {
    delivery_job *job;
    events *ev;
    json_t *target_json; /* {rule, target, event?} */
    json_t *destination; /* borrowed documents, copied at start */
    json_t *connection;
    events_plan *plan; /* dead-lettering */
} attempt;

static void attempt_free(attempt *a)
{
    json_decref(a->target_json);
    json_decref(a->destination);
    json_decref(a->connection);
    xfree(a);
}

/* ---- outcomes ----------------------------------------------------------------------- */

static void dead_letter_done(events_plan *p, int status, void *arg)
{
    (void)p;
    attempt *a = arg;
    if (status != 0)
        log_error("dead-lettering failed: the delivery runs again after its lease", NULL);
    delivery_job_release(a->job);
    attempt_free(a);
}

/* Gives up on the delivery: dead-letter (or drop) and remove it, in one transaction. */
static void give_up(attempt *a, const char *code, const char *message, const char *condition)
{
    json_t *target = json_object_get(a->target_json, "target");
    const char *rule = json_string_value(json_object_get(a->target_json, "rule"));
    json_t *event = json_object_get(a->target_json, "event");
    const char *body = event ? json_string_value(event) : a->job->rec.payload;
    size_t len = event ? json_string_length(event) : a->job->rec.payload_len;
    events_plan *p = events_plan_new(a->ev, clock_now_ms());
    events_plan_dead_letter(p, rule ? rule : "", target, body, len, code, message, condition,
                            a->job->rec.attempts);
    events_plan_commit_with(p, delivery_job_finish_op(a->job), dead_letter_done, a);
}

static void failed(attempt *a, int retryable, const char *code, const char *message)
{
    json_t *target = json_object_get(a->target_json, "target");
    json_t *policy = json_object_get(target, "RetryPolicy");
    json_t *n = json_object_get(policy, "MaximumRetryAttempts");
    json_t *age = json_object_get(policy, "MaximumEventAgeInSeconds");
    int max_retries = n ? (int)json_integer_value(n) : EVENTS_DEFAULT_RETRIES;
    int64_t max_age_ms = (age ? json_integer_value(age) : EVENTS_DEFAULT_MAX_AGE_S) * 1000;
    int done_attempts = a->job->rec.attempts + 1;
    int64_t now = clock_now_ms();
    log_debug("api destination delivery failed", "code=%s attempts=%d msg='%s'", code,
              done_attempts, message);
    if (!retryable) {
        a->job->rec.attempts = done_attempts - 1;
        give_up(a, code, message, NULL);
        return;
    }
    if (done_attempts > max_retries) {
        a->job->rec.attempts = done_attempts - 1;
        give_up(a, code, message, "MaximumRetryAttempts");
        return;
    }
    uint64_t backoff = (uint64_t)RETRY_BASE_MS << (done_attempts - 1 < 20 ? done_attempts - 1 : 20);
    if (backoff > RETRY_MAX_MS)
        backoff = RETRY_MAX_MS;
    uint64_t r = ids_random64();
    int64_t wait = (int64_t)(backoff / 2 + r % (backoff / 2 + 1));
    if (now + wait - a->job->rec.created_ms > max_age_ms) {
        a->job->rec.attempts = done_attempts - 1;
        give_up(a, code, message, "MaximumEventAgeInSeconds");
        return;
    }
    delivery_job_retry(a->job, now + wait, 1);
    attempt_free(a);
}

/* ---- the request -------------------------------------------------------------------- */

static void add_params(json_t *headers, buf *query, const json_t *params, int from_connection)
{
    /* HeaderParameters {k: v}; QueryStringParameters {k: v} (targets); connections keep
     * lists of {Key, Value}. */
    (void)from_connection;
    json_t *h = json_object_get(params, "HeaderParameters");
    json_t *q = json_object_get(params, "QueryStringParameters");
    const char *k;
    json_t *v;
    size_t i;
    if (json_is_object(h)) {
        json_object_foreach(h, k, v)
        {
            json_object_set(headers, k, v);
        }
    } else if (json_is_array(h)) {
        json_array_foreach(h, i, v)
        {
            json_t *key = json_object_get(v, "Key");
            if (json_is_string(key))
                json_object_set(headers, json_string_value(key), json_object_get(v, "Value"));
        }
    }
    json_t *pairs = json_object();
    if (json_is_object(q)) {
        json_object_foreach(q, k, v)
        {
            json_object_set(pairs, k, v);
        }
    } else if (json_is_array(q)) {
        json_array_foreach(q, i, v)
        {
            json_t *key = json_object_get(v, "Key");
            if (json_is_string(key))
                json_object_set(pairs, json_string_value(key), json_object_get(v, "Value"));
        }
    }
    json_object_foreach(pairs, k, v)
    {
        if (!json_is_string(v))
            continue;
        buf_putc(query, query->len ? '&' : '?');
        form_put_escaped(query, k);
        buf_putc(query, '=');
        form_put_escaped(query, json_string_value(v));
    }
    json_decref(pairs);
}

/* The connection's authorization header (API key, Basic, or Bearer with the OAuth token
 * `bearer`) into headers ({name: value}). */
static void put_authorization(json_t *headers, const json_t *connection, const char *bearer)
{
    json_t *auth = json_object_get(connection, "AuthParameters");
    const char *type = json_string_value(json_object_get(connection, "AuthorizationType"));
    char value[1024];
    if (type && strcmp(type, "BASIC") == 0) {
        json_t *b = json_object_get(auth, "BasicAuthParameters");
        char plain[512];
        unsigned char enc[800];
        int n = snprintf(plain, sizeof plain, "%s:%s",
                         json_string_value(json_object_get(b, "Username")) ?: "",
                         json_string_value(json_object_get(b, "Password")) ?: "");
        EVP_EncodeBlock(enc, (const unsigned char *)plain, n < 0 ? 0 : n);
        snprintf(value, sizeof value, "Basic %s", enc);
        json_object_set_new(headers, "Authorization", json_string(value));
    } else if (type && strcmp(type, "API_KEY") == 0) {
        json_t *k = json_object_get(auth, "ApiKeyAuthParameters");
        const char *name = json_string_value(json_object_get(k, "ApiKeyName"));
        if (name)
            json_object_set(headers, name, json_object_get(k, "ApiKeyValue"));
    } else if (bearer) {
        snprintf(value, sizeof value, "Bearer %s", bearer);
        json_object_set_new(headers, "Authorization", json_string(value));
    }
}

static void on_response(const http_client_response *res, void *arg)
{
    attempt *a = arg;
    char msg[512];
    switch (http_client_outcome(res)) {
    case HTTP_OUTCOME_CANCELLED: /* shutting down: due again after the lease */
        delivery_job_release(a->job);
        attempt_free(a);
        return;
    case HTTP_OUTCOME_DELIVERED:
        delivery_job_done(a->job);
        attempt_free(a);
        return;
    case HTTP_OUTCOME_RETRYABLE:
    case HTTP_OUTCOME_REFUSED:
        break;
    }
    if (res->error)
        snprintf(msg, sizeof msg, "Unable to invoke ApiDestination endpoint: %s",
                 res->error_message);
    else
        snprintf(msg, sizeof msg,
                 "Unable to invoke ApiDestination endpoint: The endpoint responded with %d.",
                 res->status);
    failed(a, http_client_outcome(res) == HTTP_OUTCOME_RETRYABLE, "SDK_CLIENT_ERROR", msg);
}

static void send_request(attempt *a, const char *bearer)
{
    json_t *target = json_object_get(a->target_json, "target");
    json_t *http = json_object_get(target, "HttpParameters");
    const char *method = json_string_value(json_object_get(a->destination, "HttpMethod"));
    const char *endpoint = json_string_value(json_object_get(a->destination, "InvocationEndpoint"));
    /* Path parameters replace the endpoint's '*'s, in order. */
    buf url = BUF_INIT;
    json_t *path_values = json_object_get(http, "PathParameterValues");
    size_t pv = 0;
    for (const char *c = endpoint; *c; c++) {
        if (*c == '*' && pv < json_array_size(path_values))
            buf_puts(&url, json_string_value(json_array_get(path_values, pv++)) ?: "");
        else
            buf_putc(&url, *c);
    }
    json_t *headers = json_object();
    json_object_set_new(headers, "Content-Type", json_string("application/json; charset=utf-8"));
    json_object_set_new(headers, "User-Agent", json_string("Amazon/EventBridge/ApiDestinations"));
    buf query = BUF_INIT;
    json_t *auth = json_object_get(a->connection, "AuthParameters");
    add_params(headers, &query, json_object_get(auth, "InvocationHttpParameters"), 1);
    add_params(headers, &query, http, 0);
    put_authorization(headers, a->connection, bearer);
    buf_append(&url, query.data ? query.data : "", query.len);
    size_t nh = json_object_size(headers), i = 0;
    char **lines = xcalloc(nh ? nh : 1, sizeof *lines);
    const char *k;
    json_t *v;
    json_object_foreach(headers, k, v)
    {
        buf line = BUF_INIT;
        buf_printf(&line, "%s: %s", k, json_is_string(v) ? json_string_value(v) : "");
        lines[i++] = buf_steal(&line, NULL);
    }
    int has_body = method && strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
    http_client_request req = {
        .method = method ? method : "POST",
        .url = url.data,
        .headers = (const char *const *)lines,
        .nheaders = i,
        .body = has_body ? a->job->rec.payload : NULL,
        .body_len = has_body ? a->job->rec.payload_len : 0,
        .timeout_ms = TIMEOUT_MS,
    };
    int rc = http_client_send(a->ev->http, &req, on_response, a);
    for (size_t j = 0; j < i; j++)
        xfree(lines[j]);
    xfree(lines);
    json_decref(headers);
    buf_free(&url);
    buf_free(&query);
    if (rc != 0) /* EINVAL: the request can never be sent (a header with CR/LF, ...) */
        failed(a, rc != HTTP_CLIENT_EINVAL, "SDK_CLIENT_ERROR",
               "Unable to invoke ApiDestination endpoint: the request is not valid.");
}

/* ---- OAuth client credentials ------------------------------------------------------- */

/* One token request: for a delivery (a != NULL), for another service's request through the
 * connection (fn != NULL: linked in ev->token_waiters until answered), or to authorise a
 * new connection. */
typedef struct token_req {
    events *ev;
    attempt *a;
    events_connection_fn fn;
    void *fn_arg;
    struct token_req *next; /* ev->token_waiters */
    char conn[128];
} token_req;

/* {Key: Value} of a connection's [{Key, Value}] parameter list. */
static json_t *pairs_object(const json_t *list)
{
    json_t *out = json_object();
    size_t i;
    json_t *p;
    json_array_foreach(list, i, p)
    {
        const char *k = json_string_value(json_object_get(p, "Key"));
        json_t *v = json_object_get(p, "Value");
        if (k && json_is_string(v))
            json_object_set(out, k, v);
    }
    return out;
}

/* What the connection adds to a request: {headers, query, body} (see events.h). */
static json_t *connection_params(const json_t *connection, const char *bearer)
{
    json_t *inv =
        json_object_get(json_object_get(connection, "AuthParameters"), "InvocationHttpParameters");
    json_t *headers = pairs_object(json_object_get(inv, "HeaderParameters"));
    put_authorization(headers, connection, bearer);
    return json_pack("{s:o,s:o,s:o}", "headers", headers, "query",
                     pairs_object(json_object_get(inv, "QueryStringParameters")), "body",
                     pairs_object(json_object_get(inv, "BodyParameters")));
}

/* Answers a waiting token request's caller (once): params taken, or error. */
static void waiter_answer(token_req *t, json_t *params, const char *error, const char *message)
{
    for (token_req **p = &t->ev->token_waiters; *p; p = &(*p)->next) {
        if (*p == t) {
            *p = t->next;
            break;
        }
    }
    events_connection_fn fn = t->fn;
    t->fn = NULL;
    t->next = NULL;
    if (fn)
        fn(params, error, message, t->fn_arg);
    else
        json_decref(params);
}

/* Marks the connection AUTHORIZED (persisted) the first time a token is obtained. */
static void authorized(events *ev, const char *name)
{
    json_t *doc = json_object_get(ev->connections, name);
    const char *state = json_string_value(json_object_get(doc, "ConnectionState"));
    if (!doc || (state && strcmp(state, "AUTHORIZED") == 0))
        return;
    int64_t now = clock_now_ms();
    json_object_set_new(doc, "ConnectionState", json_string("AUTHORIZED"));
    json_object_del(doc, "StateReason");
    json_object_set_new(doc, "LastAuthorizedTime", json_integer(now));
    char *text = json_dumps(doc, JSON_COMPACT);
    store_doc d = {"events.connection", name, text};
    events_persist(ev, NULL, NULL, &d, 1);
    free(text);
}

static void token_failed(token_req *t, const char *why)
{
    if (t->a) {
        failed(t->a, 1, "SDK_CLIENT_ERROR", why);
    } else if (t->fn) {
        waiter_answer(t, NULL, "InvalidConnectionState", why);
    } else {
        json_t *doc = json_object_get(t->ev->connections, t->conn);
        if (doc)
            json_object_set_new(doc, "StateReason", json_string(why));
        log_warn("connection not authorized yet", "connection=%s reason='%s'", t->conn, why);
    }
    xfree(t);
}

static void on_token(const http_client_response *res, void *arg)
{
    token_req *t = arg;
    if (res->error == HTTP_CLIENT_ECANCELLED) {
        if (t->a) {
            delivery_job_release(t->a->job);
            attempt_free(t->a);
        }
        waiter_answer(t, NULL, "Cancelled", "The server is stopping.");
        xfree(t);
        return;
    }
    if (res->error || res->status < 200 || res->status >= 300) {
        token_failed(t, "Unable to obtain an OAuth token from the connection's authorization "
                        "endpoint.");
        return;
    }
    json_error_t jerr;
    json_t *body = json_loadb(res->body, res->body_len, 0, &jerr);
    const char *token = json_string_value(json_object_get(body, "access_token"));
    if (!token) {
        json_decref(body);
        token_failed(t, "The connection's authorization endpoint returned no access_token.");
        return;
    }
    json_int_t expires = json_integer_value(json_object_get(body, "expires_in"));
    json_object_set_new(
        t->ev->oauth_tokens, t->conn,
        json_pack("{s:s, s:I}", "token", token, "expires",
                  (json_int_t)(clock_now_ms() + (expires > 0 ? expires : 3600) * 1000)));
    authorized(t->ev, t->conn);
    if (t->a)
        send_request(t->a, token);
    if (t->fn) {
        json_t *doc = json_object_get(t->ev->connections, t->conn);
        if (doc)
            waiter_answer(t, connection_params(doc, token), NULL, NULL);
        else
            waiter_answer(t, NULL, "ResourceNotFound", "The connection was deleted.");
    }
    json_decref(body);
    xfree(t);
}

/* Requests a token for the connection: for the delivery a, for the caller fn, or (both
 * NULL) to authorise it. */
static void fetch_token(events *ev, const json_t *connection, attempt *a, events_connection_fn fn,
                        void *fn_arg)
{
    json_t *oauth =
        json_object_get(json_object_get(connection, "AuthParameters"), "OAuthParameters");
    json_t *client = json_object_get(oauth, "ClientParameters");
    const char *endpoint = json_string_value(json_object_get(oauth, "AuthorizationEndpoint"));
    const char *method = json_string_value(json_object_get(oauth, "HttpMethod"));
    char plain[512], header[900];
    unsigned char enc[800];
    int n = snprintf(plain, sizeof plain, "%s:%s",
                     json_string_value(json_object_get(client, "ClientID")) ?: "",
                     json_string_value(json_object_get(client, "ClientSecret")) ?: "");
    EVP_EncodeBlock(enc, (const unsigned char *)plain, n < 0 ? 0 : n);
    snprintf(header, sizeof header, "Authorization: Basic %s", enc);
    buf body = BUF_INIT;
    buf_puts(&body, "grant_type=client_credentials");
    json_t *params =
        json_object_get(json_object_get(oauth, "OAuthHttpParameters"), "BodyParameters");
    size_t i;
    json_t *p;
    json_array_foreach(params, i, p)
    {
        const char *k = json_string_value(json_object_get(p, "Key"));
        const char *v = json_string_value(json_object_get(p, "Value"));
        if (k && v) {
            buf_putc(&body, '&');
            form_put_escaped(&body, k);
            buf_putc(&body, '=');
            form_put_escaped(&body, v);
        }
    }
    const char *headers[] = {header, "Content-Type: application/x-www-form-urlencoded"};
    http_client_request req = {
        .method = method ? method : "POST",
        .url = endpoint ? endpoint : "",
        .headers = headers,
        .nheaders = 2,
        .body = body.data,
        .body_len = body.len,
        .timeout_ms = TIMEOUT_MS,
    };
    token_req *t = xcalloc(1, sizeof *t);
    t->ev = ev;
    t->a = a;
    t->fn = fn;
    t->fn_arg = fn_arg;
    if (fn) {
        t->next = ev->token_waiters;
        ev->token_waiters = t;
    }
    snprintf(t->conn, sizeof t->conn, "%s",
             json_string_value(json_object_get(connection, "Name")) ?: "");
    int rc = http_client_send(ev->http, &req, on_token, t);
    buf_free(&body);
    if (rc != 0)
        token_failed(t, "Unable to reach the connection's authorization endpoint.");
}

void events_connection_authorize(events *ev, const char *name)
{
    json_t *doc = json_object_get(ev->connections, name);
    if (doc && ev->http && !ev->stopping)
        fetch_token(ev, doc, NULL, NULL, NULL);
}

/* ---- requests of other services through a connection -------------------------------- */

void events_connection_params(events *ev, const char *arn, events_connection_fn fn, void *arg)
{
    char name[128];
    json_t *doc = events_name_from_arn(arn, ":connection/", name, sizeof name)
                      ? json_object_get(ev->connections, name)
                      : NULL;
    const char *doc_arn = json_string_value(json_object_get(doc, "ConnectionArn"));
    char message[700];
    if (!doc_arn || strcmp(doc_arn, arn) != 0) {
        snprintf(message, sizeof message, "Connection '%.600s' does not exist.", arn ? arn : "");
        fn(NULL, "ResourceNotFound", message, arg);
        return;
    }
    const char *state = json_string_value(json_object_get(doc, "ConnectionState"));
    if (state && strcmp(state, "DEAUTHORIZED") == 0) {
        snprintf(message, sizeof message, "Connection '%.600s' is deauthorized.", arn);
        fn(NULL, "InvalidConnectionState", message, arg);
        return;
    }
    if (ev->stopping || !ev->http) {
        fn(NULL, "Cancelled", "The server is stopping.", arg);
        return;
    }
    const char *type = json_string_value(json_object_get(doc, "AuthorizationType"));
    if (type && strcmp(type, "OAUTH_CLIENT_CREDENTIALS") == 0) {
        json_t *tok = json_object_get(ev->oauth_tokens, name);
        if (!tok || json_integer_value(json_object_get(tok, "expires")) <= clock_now_ms() + 5000) {
            fetch_token(ev, doc, NULL, fn, arg);
            return;
        }
        fn(connection_params(doc, json_string_value(json_object_get(tok, "token"))), NULL, NULL,
           arg);
        return;
    }
    fn(connection_params(doc, NULL), NULL, NULL, arg);
}

void events_connection_waiters_cancel(events *ev)
{
    while (ev->token_waiters)
        waiter_answer(ev->token_waiters, NULL, "Cancelled", "The server is stopping.");
}

/* ---- the attempt -------------------------------------------------------------------- */

/* Whether the destination's rate allows one more invocation this second; if not, *wait_ms
 * says when the next second starts. */
static int rate_allows(events *ev, const char *name, int64_t limit, int64_t *wait_ms)
{
    int64_t now = clock_now_ms(), second = now / 1000;
    json_t *w = json_object_get(ev->rate_windows, name);
    if (!w || json_integer_value(json_object_get(w, "second")) != second) {
        json_object_set_new(
            ev->rate_windows, name,
            json_pack("{s:I, s:I}", "second", (json_int_t)second, "count", (json_int_t)1));
        return 1;
    }
    json_int_t count = json_integer_value(json_object_get(w, "count"));
    if (count >= limit) {
        *wait_ms = (second + 1) * 1000 - now;
        return 0;
    }
    json_object_set_new(w, "count", json_integer(count + 1));
    return 1;
}

/* ---- state machine targets: an execution started in-process ------------------------ */

static void execution_started(const json_t *output, const char *error, const char *message,
                              void *arg)
{
    (void)output;
    attempt *a = arg;
    if (!error) {
        delivery_job_done(a->job);
        attempt_free(a);
    } else if (strcmp(error, "StateMachineDoesNotExist") == 0 || strcmp(error, "InvalidArn") == 0) {
        failed(a, 0, "RESOURCE_NOT_FOUND", message);
    } else {
        failed(a, strcmp(error, "InvalidExecutionInput") != 0, error, message);
    }
}

static void start_execution(attempt *a, const char *machine_arn)
{
    json_t *input =
        json_pack("{s:s,s:s%}", "stateMachineArn", machine_arn, "input",
                  a->job->rec.payload ? a->job->rec.payload : "", a->job->rec.payload_len);
    if (!a->ev->workflows ||
        aws_call_internal(a->ev->workflows, "StartExecution", input, execution_started, a) != 0)
        give_up(a, "RESOURCE_NOT_FOUND", "Step Functions is not available.", NULL);
}

void events_set_workflows(events *ev, const aws_service_def *sfn_def)
{
    ev->workflows = sfn_def;
}

static void attempt_delivery(delivery_job *job, void *arg)
{
    events *ev = arg;
    attempt *a = xcalloc(1, sizeof *a);
    a->job = job;
    a->ev = ev;
    a->target_json = json_loads(job->rec.target_json, 0, NULL);
    json_t *target = json_object_get(a->target_json, "target");
    const char *arn = json_string_value(json_object_get(target, "Arn"));
    if (arn && strstr(arn, ":states:") && strstr(arn, ":stateMachine:")) {
        start_execution(a, arn);
        return;
    }
    char name[128], conn_name[128];
    json_t *dest = events_name_from_arn(arn, ":api-destination/", name, sizeof name)
                       ? json_object_get(ev->destinations, name)
                       : NULL;
    json_t *conn = NULL;
    if (dest)
        conn = events_name_from_arn(json_string_value(json_object_get(dest, "ConnectionArn")),
                                    ":connection/", conn_name, sizeof conn_name)
                   ? json_object_get(ev->connections, conn_name)
                   : NULL;
    if (!dest || !conn) {
        give_up(a, "RESOURCE_NOT_FOUND",
                !dest ? "The API destination does not exist." : "The connection does not exist.",
                NULL);
        return;
    }
    a->destination = json_incref(dest);
    a->connection = json_incref(conn);
    const char *state = json_string_value(json_object_get(conn, "ConnectionState"));
    if (state && strcmp(state, "DEAUTHORIZED") == 0) {
        give_up(a, "NO_PERMISSIONS", "The connection is deauthorized.", NULL);
        return;
    }
    int64_t wait;
    json_int_t limit = json_integer_value(json_object_get(dest, "InvocationRateLimitPerSecond"));
    if (!rate_allows(ev, name, limit > 0 ? limit : 300, &wait)) {
        delivery_job_retry(job, clock_now_ms() + wait, 0);
        attempt_free(a);
        return;
    }
    const char *type = json_string_value(json_object_get(conn, "AuthorizationType"));
    if (type && strcmp(type, "OAUTH_CLIENT_CREDENTIALS") == 0) {
        json_t *tok = json_object_get(ev->oauth_tokens, conn_name);
        if (!tok || json_integer_value(json_object_get(tok, "expires")) <= clock_now_ms() + 5000) {
            fetch_token(ev, conn, a, NULL, NULL);
            return;
        }
        send_request(a, json_string_value(json_object_get(tok, "token")));
        return;
    }
    send_request(a, NULL);
}

static delivery_kind events_kind = {"events", attempt_delivery, NULL, 0};

int events_deliver_init(events *ev)
{
    events_kind.arg = ev;
    return delivery_create(&ev->deliveries, ev->loop, ev->store, &events_kind);
}

void events_deliver_poke(events *ev)
{
    if (!ev->stopping)
        delivery_poke(ev->deliveries);
}
