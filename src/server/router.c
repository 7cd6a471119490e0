#include "server/router.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"
#include "protocol/form.h"
#include "protocol/json_codec.h"
#include "protocol/query.h"
#include "protocol/rest_json.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_SERVICES   16
#define MAX_GETS       8
#define MAX_FORM_PAIRS 4096

struct router {
    const aws_service_def *services[MAX_SERVICES];
    size_t nservices;
    const sigv4_credential *creds;
    size_t ncreds;
    router_health_fn health;
    void *health_arg;
    struct {
        const char *prefix;
        http_handler_fn fn;
        void *arg;
        int any_method; /* 0: GET only */
    } gets[MAX_GETS];
    size_t ngets;
};

router *router_create(const sigv4_credential *creds, size_t ncreds, router_health_fn health,
                      void *health_arg)
{
    router *r = xcalloc(1, sizeof *r);
    r->creds = creds;
    r->ncreds = ncreds;
    r->health = health;
    r->health_arg = health_arg;
    return r;
}

void router_add_service(router *r, const aws_service_def *svc)
{
    if (r->nservices < MAX_SERVICES)
        r->services[r->nservices++] = svc;
}

static void add_path(router *r, const char *prefix, http_handler_fn fn, void *arg, int any)
{
    if (r->ngets < MAX_GETS) {
        r->gets[r->ngets].prefix = prefix;
        r->gets[r->ngets].fn = fn;
        r->gets[r->ngets].arg = arg;
        r->gets[r->ngets].any_method = any;
        r->ngets++;
    }
}

void router_add_get(router *r, const char *prefix, http_handler_fn fn, void *arg)
{
    add_path(r, prefix, fn, arg, 0);
}

void router_add_any(router *r, const char *prefix, http_handler_fn fn, void *arg)
{
    add_path(r, prefix, fn, arg, 1);
}

void router_destroy(router *r)
{
    xfree(r);
}

/* ---- plain HTTP answers (no service recognised) ------------------------------------- */

static void respond_text(http_request *req, int status, const char *text)
{
    buf b = BUF_INIT;
    buf_puts(&b, text);
    http_header h[] = {{"Content-Type", "text/plain; charset=utf-8"}};
    http_respond(req, status, h, 1, &b);
}

/* ---- dispatch ----------------------------------------------------------------------- */

/* Verifies the signature (when credentials are configured) and records the access key.
 * On failure replies and returns -1. */
static int authenticate(router *r, aws_call *call)
{
    sigv4_scope scope;
    if (sigv4_parse_scope(call->http, &scope) == 0)
        snprintf(call->access_key, sizeof call->access_key, "%s", scope.access_key);
    if (r->ncreds == 0)
        return 0;
    aws_error err;
    char msg[512];
    if (sigv4_verify(call->http, r->creds, r->ncreds, clock_now_ms(), &err, msg, sizeof msg) != 0) {
        aws_reply_error(call, err, "%s", msg);
        return -1;
    }
    return 0;
}

/* Calls the operation's handler, or answers that there is none. */
static void invoke(aws_call *call, const char *op_name)
{
    const aws_op_def *def = aws_find_op(call->service, op_name);
    if (!def || !call->op) {
        if (call->protocol == AWS_PROTO_QUERY)
            aws_reply_error(call, AWS_ERR_INVALID_ACTION,
                            "The action %s is not valid for this web service.", op_name);
        else
            aws_reply_error(call, AWS_ERR_UNKNOWN_OPERATION, "Unknown operation %s.", op_name);
        return;
    }
    def->fn(call);
}

static void dispatch(router *r, aws_call *call, const char *op_name)
{
    if (authenticate(r, call) != 0)
        return;
    invoke(call, op_name);
}

static void handle_json(router *r, http_request *req, const char *target)
{
    const char *dot = strrchr(target, '.');
    const aws_service_def *svc = NULL;
    if (dot) {
        size_t plen = (size_t)(dot - target);
        for (size_t i = 0; i < r->nservices; i++) {
            const char *p = r->services[i]->model->json_target_prefix;
            if (p && strlen(p) == plen && strncmp(p, target, plen) == 0)
                svc = r->services[i];
        }
    }
    if (!svc) {
        respond_text(req, 400, "Unknown X-Amz-Target.\n");
        return;
    }
    const char *op_name = dot + 1;
    const model_operation *op = model_find_operation(svc->model, op_name, strlen(op_name));
    json_t *input = NULL;
    char jerr[160];
    int bad = 0;
    if (req->body_len == 0) {
        input = json_object();
    } else {
        input = jsonc_parse(req->body, req->body_len, jerr, sizeof jerr);
        if (!json_is_object(input)) {
            json_decref(input);
            input = json_object();
            bad = 1;
        }
    }
    aws_call *call = aws_call_create(req, svc, op, svc->json_protocol, input);
    if (bad) {
        aws_reply_error(call, AWS_ERR_SERIALIZATION_EXCEPTION,
                        "The request body is not a valid JSON object (%s).",
                        jerr[0] ? jerr : "not an object");
        return;
    }
    dispatch(r, call, op_name);
}

/* REST services (JSON or XML) never answer Query requests. */
static int is_rest(const aws_service_def *svc)
{
    return svc->model->protocol == MODEL_PROTO_REST_JSON ||
           svc->model->protocol == MODEL_PROTO_REST_XML;
}

/* The REST operation whose method and URI template match the request, the most specific
 * over all REST services (the first registered wins a tie); NULL if none. */
static const model_operation *rest_route(router *r, const http_request *req,
                                         const aws_service_def **svc)
{
    const model_operation *best = NULL;
    rest_json_rank best_rank, rank;
    if (strncmp(req->path, "/_sluice/", 9) == 0)
        return NULL;
    for (size_t i = 0; i < r->nservices; i++) {
        if (!is_rest(r->services[i]))
            continue;
        const model_operation *op = rest_json_match(r->services[i]->model, req, &rank);
        if (op && (!best || rest_json_rank_cmp(&rank, &best_rank) > 0)) {
            best = op;
            best_rank = rank;
            *svc = r->services[i];
        }
    }
    return best;
}

/* Authenticates before decoding (AWS checks the signature first), then decodes the
 * request into the operation's input and calls its handler. */
static void handle_rest(router *r, http_request *req, const aws_service_def *svc,
                        const model_operation *op)
{
    aws_call *call = aws_call_create(req, svc, op, AWS_PROTO_REST_JSON, NULL);
    if (authenticate(r, call) != 0)
        return;
    char err[512];
    call->input = rest_json_decode(svc->model, op, req, err, sizeof err);
    if (!call->input) {
        call->input = json_object();
        aws_reply_error(
            call, svc->rest_input_error ? svc->rest_input_error : AWS_ERR_SERIALIZATION_EXCEPTION,
            "%s", err);
        return;
    }
    invoke(call, op->name);
}

/* The REST-XML service (S3) the request's SigV4 credential scope names, or NULL. */
static const aws_service_def *rest_xml_service(router *r, const http_request *req)
{
    sigv4_scope scope;
    if (sigv4_parse_scope(req, &scope) != 0)
        return NULL;
    for (size_t i = 0; i < r->nservices; i++) {
        const aws_service_def *svc = r->services[i];
        if (svc->model->protocol == MODEL_PROTO_REST_XML && svc->decode_http &&
            strcmp(svc->model->name, scope.service) == 0)
            return svc;
    }
    return NULL;
}

/* A REST-XML request: authenticated first, then decoded by the service itself. */
static void handle_rest_xml(router *r, http_request *req, const aws_service_def *svc)
{
    aws_call *call = aws_call_create(req, svc, NULL, AWS_PROTO_REST_XML, NULL);
    if (authenticate(r, call) != 0)
        return;
    aws_failure f = {0};
    json_t *input = NULL;
    const char *op_name = svc->decode_http(req, &input, &f);
    if (!op_name) {
        json_decref(input);
        call->input = json_object();
        aws_reply_error(call, f.code, "%s", f.msg);
        return;
    }
    call->input = input;
    call->op = model_find_operation(svc->model, op_name, strlen(op_name));
    invoke(call, op_name);
}

/* The service that answers Query requests no other rule places (SQS). */
static const aws_service_def *first_query_service(router *r)
{
    for (size_t i = 0; i < r->nservices; i++)
        if (!is_rest(r->services[i]))
            return r->services[i];
    return NULL;
}

static const aws_service_def *query_service(router *r, http_request *req, const form *f)
{
    sigv4_scope scope;
    if (sigv4_parse_scope(req, &scope) == 0) {
        for (size_t i = 0; i < r->nservices; i++)
            if (!is_rest(r->services[i]) && strcmp(r->services[i]->model->name, scope.service) == 0)
                return r->services[i];
    }
    const form_pair *v = form_get(f, "Version");
    if (v) {
        for (size_t i = 0; i < r->nservices; i++)
            if (!is_rest(r->services[i]) &&
                strcmp(r->services[i]->model->api_version, v->value) == 0)
                return r->services[i];
    }
    /* Unsigned links without a Version (SNS's SubscribeURL and UnsubscribeURL): the first
     * service that has the action. */
    const form_pair *action = form_get(f, "Action");
    for (size_t i = 0; action && i < r->nservices; i++)
        if (!is_rest(r->services[i]) &&
            model_find_operation(r->services[i]->model, action->value, action->value_len))
            return r->services[i];
    return first_query_service(r);
}

static void handle_query(router *r, http_request *req, const char *text, size_t len)
{
    form f;
    if (form_parse(&f, text, len, MAX_FORM_PAIRS) != 0) {
        const aws_service_def *svc = first_query_service(r);
        if (!svc) {
            respond_text(req, 400, "Malformed form body.\n");
            return;
        }
        aws_call *call = aws_call_create(req, svc, NULL, AWS_PROTO_QUERY, json_object());
        aws_reply_error(call, AWS_ERR_MALFORMED_QUERY_STRING,
                        "The request body is not valid application/x-www-form-urlencoded.");
        return;
    }
    const aws_service_def *svc = query_service(r, req, &f);
    const form_pair *action = form_get(&f, "Action");
    if (!svc) {
        form_free(&f);
        respond_text(req, 400, "No service.\n");
        return;
    }
    if (!action || action->value_len == 0) {
        form_free(&f);
        aws_call *call = aws_call_create(req, svc, NULL, AWS_PROTO_QUERY, json_object());
        aws_reply_error(call, AWS_ERR_MISSING_PARAMETER,
                        "The request must contain the parameter Action.");
        return;
    }
    const model_operation *op = model_find_operation(svc->model, action->value, action->value_len);
    char op_name[128];
    snprintf(op_name, sizeof op_name, "%s", action->value);
    json_t *input = NULL;
    char err[256] = "";
    if (op && op->input)
        input = query_to_json(&f, op->input, err, sizeof err);
    else if (op)
        input = json_object();
    form_free(&f);
    if (op && !input) {
        aws_call *call = aws_call_create(req, svc, op, AWS_PROTO_QUERY, json_object());
        aws_reply_error(call, AWS_ERR_INVALID_PARAMETER_VALUE, "%s", err);
        return;
    }
    aws_call *call = aws_call_create(req, svc, op, AWS_PROTO_QUERY, input ? input : json_object());
    dispatch(r, call, op_name);
}

void router_handle(http_request *req, void *ctx)
{
    router *r = ctx;
    if (strcmp(req->path, "/_sluice/health") == 0) {
        r->health(req, r->health_arg);
        return;
    }
    int is_get = strcmp(req->method, "GET") == 0;
    for (size_t i = 0; i < r->ngets; i++) {
        if ((is_get || r->gets[i].any_method) &&
            strncmp(req->path, r->gets[i].prefix, strlen(r->gets[i].prefix)) == 0) {
            r->gets[i].fn(req, r->gets[i].arg);
            return;
        }
    }
    const char *target = http_request_header(req, "x-amz-target");
    if (target && strcmp(req->method, "POST") == 0) {
        handle_json(r, req, target);
        return;
    }
    /* S3 is recognised by its credential scope: its paths are anybody's bucket and key */
    const aws_service_def *xml_svc = rest_xml_service(r, req);
    if (xml_svc) {
        handle_rest_xml(r, req, xml_svc);
        return;
    }
    const char *ctype = http_request_header(req, "content-type");
    int form_body = ctype && strncasecmp(ctype, "application/x-www-form-urlencoded", 33) == 0;
    if (strcmp(req->method, "POST") == 0 && form_body) {
        handle_query(r, req, req->body, req->body_len);
        return;
    }
    /* A REST request's body or query may well contain "Action=" (an email's text): the
     * sniffing below is for Query requests sent without their content type, and a REST
     * template that matches comes first. */
    const aws_service_def *rest_svc = NULL;
    const model_operation *rest_op = rest_route(r, req, &rest_svc);
    if (rest_op) {
        handle_rest(r, req, rest_svc, rest_op);
        return;
    }
    if (strcmp(req->method, "POST") == 0 && req->body_len > 7 && strstr(req->body, "Action=")) {
        handle_query(r, req, req->body, req->body_len);
        return;
    }
    if ((strcmp(req->method, "GET") == 0 || strcmp(req->method, "POST") == 0) &&
        strstr(req->query, "Action=")) {
        handle_query(r, req, req->query, strlen(req->query));
        return;
    }
    if (strcmp(req->method, "GET") == 0 && strcmp(req->path, "/") == 0) {
        respond_text(req, 200, "sluice\n");
        return;
    }
    respond_text(req, 404,
                 "Not found: Sluice serves AWS JSON (X-Amz-Target) and AWS Query "
                 "(Action=...) requests, and GET /_sluice/health.\n");
}
