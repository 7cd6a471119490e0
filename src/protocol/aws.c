/* Answers to AWS API calls, in the protocol the call came in.
 *
 * Success: AWS JSON 1.0/1.1 replies with the output as compact JSON (`{}` for none, written
 * by json_codec.c's writer, which is several times faster than jansson's); Query
 * replies with the XML document of xml.c. Errors come from the table in aws_errors.h:
 *   JSON   status from the table, {"__type":"<json_type_prefix><shape>","message":"..."}, and
 *          for services that were Query before JSON (SQS: svc->query_compatible) the header
 *          `x-amzn-query-error: <query code>;Sender|Receiver`. SDKs of the JSON era pick the
 *          error class from __type (after '#'); query-compatible SDKs (@aws-sdk v3's schema
 *          clients, botocore) from the header's code, so both must name the same error.
 *   Query  <ErrorResponse><Error><Type/><Code>query code</Code><Message/><Detail/></Error>
 *          <RequestId/></ErrorResponse>, which the Query SDKs map to their error classes by
 *          Code (e.g. AWS.SimpleQueueService.NonExistentQueue -> QueueDoesNotExist).
 *   REST-JSON  status, headers and body as rest_json.h says: the operation's responseCode,
 *          header-bound output members as headers, the payload or the JSON body; errors with
 *          the table's status, X-Amzn-ErrorType and {"__type","message"}.
 *   REST-XML (S3)  the service encodes its replies (aws_reply_http); errors are
 *          <Error><Code/><Message/>[extra members]<RequestId/></Error> with the table's status
 *          and x-amz-request-id (botocore's RestXMLParser reads Code and Message).
 * Every answer carries x-amzn-RequestId. Messages may quote client input, so they are escaped
 * for JSON/XML and anything not valid UTF-8 (or not allowed in XML) becomes U+FFFD. */
#include "protocol/aws.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "common/ids.h"
#include "protocol/json_codec.h"
#include "protocol/rest_json.h"
#include "protocol/xml.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const aws_error_info error_table[] = {
#define AWS_ERROR_ROW(name, shape, query_code, status, sender) {shape, query_code, status, sender},
    AWS_ERRORS(AWS_ERROR_ROW)
#undef AWS_ERROR_ROW
};

const aws_error_info *aws_error_lookup(aws_error e)
{
    if ((unsigned)e >= (unsigned)AWS_ERR__COUNT)
        e = AWS_ERR_INTERNAL_ERROR;
    return &error_table[e];
}

/* ---- encoders ----------------------------------------------------------------------- */

void aws_encode_json_error(buf *out, const aws_service_def *svc, aws_error err, const char *msg)
{
    const aws_error_info *info = aws_error_lookup(err);
    const char *prefix = svc && svc->model ? svc->model->json_type_prefix : NULL;
    buf_puts(out, "{\"__type\":\"");
    if (prefix)
        buf_puts(out, prefix);
    buf_puts(out, info->shape);
    buf_puts(out, "\",\"message\":");
    jsonc_put_string_lossy(out, msg ? msg : "", msg ? strlen(msg) : 0);
    buf_putc(out, '}');
}

void aws_encode_query_error(buf *out, const aws_service_def *svc, aws_error err, const char *msg,
                            const char *request_id)
{
    const aws_error_info *info = aws_error_lookup(err);
    const char *ns = svc && svc->model ? svc->model->xml_namespace : NULL;
    buf_puts(out, "<?xml version=\"1.0\"?><ErrorResponse");
    if (ns) {
        buf_puts(out, " xmlns=\"");
        buf_put_xml_escaped(out, ns, strlen(ns));
        buf_putc(out, '"');
    }
    buf_puts(out, "><Error><Type>");
    buf_puts(out, info->sender_fault ? "Sender" : "Receiver");
    buf_puts(out, "</Type><Code>");
    buf_puts(out, info->query_code);
    buf_puts(out, "</Code><Message>");
    if (msg)
        xml_put_text(out, msg, strlen(msg));
    buf_puts(out, "</Message><Detail/></Error><RequestId>");
    if (request_id)
        xml_put_text(out, request_id, strlen(request_id));
    buf_puts(out, "</RequestId></ErrorResponse>");
}

/* ---- calls -------------------------------------------------------------------------- */

aws_call *aws_call_create(http_request *http, const aws_service_def *svc, const model_operation *op,
                          aws_protocol proto, json_t *input)
{
    aws_call *c = xcalloc(1, sizeof *c);
    c->http = http;
    c->service = svc;
    c->op = op;
    c->protocol = proto;
    c->input = input;
    ids_uuid4(c->request_id);
    const char *host = http ? http_request_header(http, "host") : NULL;
    if (host)
        snprintf(c->host, sizeof c->host, "%s", host);
    c->received_ms = clock_now_ms();
    return c;
}

static void call_free(aws_call *call)
{
    json_decref(call->input);
    xfree(call);
}

const aws_op_def *aws_find_op(const aws_service_def *svc, const char *name)
{
    size_t lo = 0, hi = svc->nops;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(svc->ops[mid].name, name);
        if (c == 0)
            return &svc->ops[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

int aws_call_internal(const aws_service_def *svc, const char *op, json_t *input,
                      aws_internal_done_fn done, void *arg)
{
    const aws_op_def *def = svc ? aws_find_op(svc, op) : NULL;
    const model_operation *mop = def ? model_find_operation(svc->model, op, strlen(op)) : NULL;
    if (!mop) {
        json_decref(input);
        return -1;
    }
    aws_call *call = aws_call_create(NULL, svc, mop, AWS_PROTO_INTERNAL,
                                     json_is_object(input) ? input : json_object());
    if (!json_is_object(input))
        json_decref(input);
    snprintf(call->host, sizeof call->host, "localhost");
    call->internal_done = done;
    call->internal_arg = arg;
    def->fn(call);
    return 0;
}

static const char *json_content_type(const aws_call *call)
{
    return call->protocol == AWS_PROTO_JSON_1_1 ? "application/x-amz-json-1.1"
                                                : "application/x-amz-json-1.0";
}

static const model_service *call_model(const aws_call *call)
{
    return call->service ? call->service->model : NULL;
}

/* Sends a REST-JSON response built by rest_json.c, with the request id. */
static void respond_rest(aws_call *call, rest_json_response *r)
{
    rest_json_response_add_header(r, "x-amzn-RequestId", call->request_id);
    http_respond(call->http, r->status, r->headers, r->nheaders, &r->body);
    rest_json_response_free(r);
}

static void reply_rest(aws_call *call, json_t *output)
{
    rest_json_response r = {0};
    char err[256];
    int rc = rest_json_encode(call_model(call), call->op, output, &r, err, sizeof err);
    json_decref(output);
    if (rc != 0) {
        rest_json_response_free(&r);
        aws_reply_error(call, AWS_ERR_INTERNAL_ERROR, "%s", err);
        return;
    }
    respond_rest(call, &r);
    call_free(call);
}

void aws_reply_http(aws_call *call, int status, const http_header *headers, size_t nheaders,
                    buf *body)
{
    http_header *h = xcalloc(nheaders + 2, sizeof *h);
    size_t n = 0;
    for (size_t i = 0; i < nheaders; i++)
        h[n++] = headers[i];
    h[n++] = (http_header){"x-amz-request-id", call->request_id};
    h[n++] = (http_header){"x-amz-id-2", call->request_id};
    http_respond(call->http, status, h, n, body);
    xfree(h);
    call_free(call);
}

/* S3's error document; extra's string members become elements after the message. */
static void reply_xml_error(aws_call *call, aws_error err, const char *msg, const json_t *extra)
{
    const aws_error_info *info = aws_error_lookup(err);
    buf body = BUF_INIT;
    buf_puts(&body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>");
    buf_puts(&body, info->shape);
    buf_puts(&body, "</Code><Message>");
    xml_put_text(&body, msg ? msg : "", msg ? strlen(msg) : 0);
    buf_puts(&body, "</Message>");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)extra, k, v)
    {
        if (!json_is_string(v))
            continue;
        buf_printf(&body, "<%s>", k);
        xml_put_text(&body, json_string_value(v), json_string_length(v));
        buf_printf(&body, "</%s>", k);
    }
    buf_puts(&body, "<RequestId>");
    buf_puts(&body, call->request_id);
    buf_puts(&body, "</RequestId></Error>");
    http_header h[] = {{"Content-Type", "application/xml"}};
    aws_reply_http(call, info->http_status, h, 1, &body);
    buf_free(&body);
}

void aws_reply(aws_call *call, json_t *output)
{
    if (call->protocol == AWS_PROTO_REST_XML) { /* the service encodes its replies */
        json_decref(output);
        buf none = BUF_INIT;
        aws_reply_http(call, 200, NULL, 0, &none);
        return;
    }
    if (call->protocol == AWS_PROTO_INTERNAL) {
        call->internal_done(output, NULL, NULL, call->internal_arg);
        json_decref(output);
        call_free(call);
        return;
    }
    if (call->protocol == AWS_PROTO_REST_JSON) {
        reply_rest(call, output);
        return;
    }
    buf body = BUF_INIT;
    const char *ctype;
    if (call->protocol == AWS_PROTO_QUERY) {
        ctype = "text/xml";
        xml_encode_response(&body, call->service ? call->service->model : NULL, call->op, output,
                            call->request_id);
    } else {
        ctype = json_content_type(call);
        if (output)
            jsonc_dump(&body, output);
        else
            buf_append(&body, "{}", 2);
    }
    http_header h[] = {{"Content-Type", ctype}, {"x-amzn-RequestId", call->request_id}};
    http_respond(call->http, 200, h, sizeof h / sizeof h[0], &body);
    buf_free(&body);
    json_decref(output);
    call_free(call);
}

/* Appends the members of extra (an object) to the JSON error object in body. */
static void add_members(buf *body, const json_t *extra)
{
    if (json_object_size(extra) == 0 || body->len == 0 || body->data[body->len - 1] != '}')
        return;
    buf more = BUF_INIT;
    jsonc_dump(&more, extra); /* "{...}" */
    body->len--;
    buf_putc(body, ',');
    buf_append(body, more.data + 1, more.len - 1);
    buf_free(&more);
}

static void reply_error(aws_call *call, aws_error err, buf *msg, json_t *extra)
{
    const aws_error_info *info = aws_error_lookup(err);
    if (call->protocol == AWS_PROTO_INTERNAL) {
        call->internal_done(NULL, info->shape, msg->data ? msg->data : "", call->internal_arg);
        json_decref(extra);
        call_free(call);
        return;
    }
    if (call->protocol == AWS_PROTO_REST_XML) {
        reply_xml_error(call, err, msg->data, extra);
        json_decref(extra);
        return;
    }
    buf body = BUF_INIT;
    http_header h[3];
    size_t nh = 0;
    char qerr[192];
    if (call->protocol == AWS_PROTO_REST_JSON) {
        rest_json_response r = {0};
        rest_json_encode_error(call_model(call), err, msg->data, &r);
        respond_rest(call, &r);
        json_decref(extra);
        call_free(call);
        return;
    }
    if (call->protocol == AWS_PROTO_QUERY) {
        aws_encode_query_error(&body, call->service, err, msg->data, call->request_id);
        h[nh++] = (http_header){"Content-Type", "text/xml"};
    } else {
        aws_encode_json_error(&body, call->service, err, msg->data);
        add_members(&body, extra);
        h[nh++] = (http_header){"Content-Type", json_content_type(call)};
        if (call->service && call->service->query_compatible) {
            snprintf(qerr, sizeof qerr, "%s;%s", info->query_code,
                     info->sender_fault ? "Sender" : "Receiver");
            h[nh++] = (http_header){"x-amzn-query-error", qerr};
        }
    }
    h[nh++] = (http_header){"x-amzn-RequestId", call->request_id};
    http_respond(call->http, info->http_status, h, nh, &body);
    buf_free(&body);
    json_decref(extra);
    call_free(call);
}

void aws_reply_error(aws_call *call, aws_error err, const char *fmt, ...)
{
    buf msg = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    reply_error(call, err, &msg, NULL);
    buf_free(&msg);
}

void aws_reply_error_extra(aws_call *call, aws_error err, json_t *extra, const char *fmt, ...)
{
    buf msg = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    reply_error(call, err, &msg, extra);
    buf_free(&msg);
}

int aws_call_is_cancelled(const aws_call *call)
{
    return call && call->http && http_request_is_cancelled(call->http);
}

int aws_fail(aws_failure *f, aws_error code, const char *fmt, ...)
{
    f->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->msg, sizeof f->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int aws_valid_batch_entry_id(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 80)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
    }
    return 1;
}
