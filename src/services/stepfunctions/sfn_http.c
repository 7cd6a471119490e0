/* HTTP Tasks: "Resource": "arn:aws:states:::http:invoke" calls an HTTP API through an
 * EventBridge connection, as Step Functions documents it ("Call HTTPS APIs in Step
 * Functions workflows").
 *
 * The request, from the Task's parameters (Parameters or Arguments):
 *  - ApiEndpoint and Method (GET, POST, PUT, DELETE, PATCH, OPTIONS, HEAD);
 *  - QueryParameters appended to the URL: an object (a scalar value is key=value, an array
 *    repeats the key), percent-encoded; or a string, appended as it is;
 *  - Headers (an object; an array value is sent comma-separated);
 *  - RequestBody: its JSON text (a string is sent as it is), or with
 *    Transform.RequestBodyEncoding URL_ENCODED a form: nested objects as a[b]=v, arrays as
 *    Transform.RequestEncodingOptions.ArrayFormat says (INDICES a[0]=x, the default;
 *    REPEAT a=x&a=y; COMMAS a=x,y; BRACKETS a[]=x&a[]=y).
 * The connection (Authentication.ConnectionArn, or InvocationConfig.ConnectionArn) adds
 * its header, query string and body parameters, which win over the Task's on the same key,
 * and its authorization (events_connection_params: API key, Basic, OAuth client
 * credentials). A string RequestBody cannot take the connection's body parameters
 * (States.Runtime). Step Functions sets User-Agent (Amazon|StepFunctions|HttpInvoke|REGION)
 * and Range (bytes=0-262144) itself; the headers AWS forbids in a definition (Authorization,
 * Host, Connection, x-amz-*, ...) fail the Task with States.Runtime.
 *
 * The result: {"Headers": {lower-case name: [values]}, "ResponseBody": the body parsed when
 * the response is JSON (application/json, +json), else its text, "StatusCode", "StatusText"}.
 * A status outside 2xx fails the Task with States.Http.StatusCode.NNN and the result's JSON
 * text as the cause. No response within 60 s, or no connection to the endpoint:
 * States.Http.Socket. A binary response (application/octet-stream, an image, video or
 * audio type, or a body that is not UTF-8): States.Runtime. A response over 256 KiB:
 * States.DataLimitExceeded. The connection's problems: Events.ConnectionResource.*.
 *
 * Sluice also accepts http:// endpoints (AWS only calls https://), so local services can
 * be called. Everything runs on the loop: the request on the loop's HTTP client, an OAuth
 * token on EventBridge's. */
#include "services/stepfunctions/sfn_http.h"

#include "common/alloc.h"
#include "common/buf.h"
#include "net/http_client.h"
#include "protocol/form.h"
#include "services/events/events.h"
#include "services/stepfunctions/sfn_internal.h"

#include <ctype.h>
#include <http_parser.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define HTTP_TIMEOUT_MS   60000
#define RESPONSE_MAX      262145 /* Range: bytes=0-262144 */
#define CAUSE_MAX         32768  /* a history event's cause */
#define CONNECTION_ERRORS "Events.ConnectionResource."

/* One HTTP Task call, from its parameters to its answer. */
typedef struct http_call {
    sfn *s;
    json_t *params; /* the Task's parameters (a copy) */
    sfn_integration_done_fn done;
    void *arg;
} http_call;

static void call_end(http_call *c, json_t *result, const char *error, const char *cause)
{
    c->done(result, error, cause, c->arg);
    json_decref(c->params);
    xfree(c);
}

/* ---- the parameters ------------------------------------------------------------------ */

static const char *const methods[] = {"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"};

/* The headers a definition may not set (AWS: the Task fails with States.Runtime). */
/* clang-format off */
static const char *const forbidden_headers[] = {
    "A-IM", "Accept-Charset", "Accept-Datetime", "Accept-Encoding", "Authorization",
    "Cache-Control", "Connection", "Content-Encoding", "Content-MD5", "Date", "Expect",
    "Forwarded", "From", "Host", "HTTP2-Settings", "If-Match", "If-Modified-Since",
    "If-None-Match", "If-Range", "If-Unmodified-Since", "Max-Forwards", "Origin", "Pragma",
    "Proxy-Authorization", "Referer", "Server", "TE", "Trailer", "Transfer-Encoding", "Upgrade",
    "Via", "Warning"};
/* clang-format on */
static const char *const forbidden_prefixes[] = {"x-forwarded-", "x-amz-", "x-amzn-"};

static const char *const body_encodings[] = {"NONE", "URL_ENCODED"};
static const char *const array_formats[] = {"INDICES", "REPEAT", "COMMAS", "BRACKETS"};

static bool in_table(const char *s, const char *const *table, size_t n, bool nocase)
{
    for (size_t i = 0; s && i < n; i++)
        if ((nocase ? strcasecmp(s, table[i]) : strcmp(s, table[i])) == 0)
            return true;
    return false;
}

#define IN(s, table, nocase) in_table(s, table, sizeof table / sizeof table[0], nocase)

static bool header_forbidden(const char *name)
{
    if (IN(name, forbidden_headers, true))
        return true;
    for (size_t i = 0; i < sizeof forbidden_prefixes / sizeof forbidden_prefixes[0]; i++)
        if (strncasecmp(name, forbidden_prefixes[i], strlen(forbidden_prefixes[i])) == 0)
            return true;
    return false;
}

/* The connection's ARN: InvocationConfig's, else Authentication's. */
static const char *connection_arn(const json_t *p)
{
    const char *arn =
        json_string_value(json_object_get(json_object_get(p, "InvocationConfig"), "ConnectionArn"));
    return arn ? arn
               : json_string_value(
                     json_object_get(json_object_get(p, "Authentication"), "ConnectionArn"));
}

static bool scalar(const json_t *v)
{
    return json_is_string(v) || json_is_number(v) || json_is_boolean(v) || json_is_null(v);
}

/* A scalar or an array of scalars. */
static bool flat_value(const json_t *v)
{
    if (!json_is_array(v))
        return scalar(v);
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) if (!scalar(e)) return false;
    return true;
}

static int check_headers(const json_t *h, char *why, size_t cap)
{
    if (!h)
        return 0;
    if (!json_is_object(h)) {
        snprintf(why, cap, "The value of the field 'Headers' must be an object");
        return -1;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)h, k, v)
    {
        if (header_forbidden(k)) {
            snprintf(why, cap, "The header '%.200s' is not allowed in an HTTP Task", k);
            return -1;
        }
        if (!flat_value(v)) {
            snprintf(why, cap, "The value of the header '%.200s' must be a string or an array", k);
            return -1;
        }
    }
    return 0;
}

static int check_query(const json_t *q, char *why, size_t cap)
{
    if (!q || json_is_string(q))
        return 0;
    if (!json_is_object(q)) {
        snprintf(why, cap,
                 "The value of the field 'QueryParameters' must be an object or a string");
        return -1;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)q, k, v)
    {
        if (!flat_value(v)) {
            snprintf(why, cap,
                     "The value of the query parameter '%.200s' must be a string or an array", k);
            return -1;
        }
    }
    return 0;
}

static int check_transform(const json_t *t, char *why, size_t cap)
{
    if (!t)
        return 0;
    const char *enc = json_string_value(json_object_get(t, "RequestBodyEncoding"));
    json_t *opts = json_object_get(t, "RequestEncodingOptions");
    const char *fmt = json_string_value(json_object_get(opts, "ArrayFormat"));
    if (!json_is_object(t) ||
        (json_object_get(t, "RequestBodyEncoding") && !IN(enc, body_encodings, false))) {
        snprintf(why, cap, "The field 'Transform.RequestBodyEncoding' must be NONE or URL_ENCODED");
        return -1;
    }
    if (json_object_get(opts, "ArrayFormat") && !IN(fmt, array_formats, false)) {
        snprintf(why, cap,
                 "The field 'Transform.RequestEncodingOptions.ArrayFormat' must be one "
                 "of INDICES, REPEAT, COMMAS, BRACKETS");
        return -1;
    }
    return 0;
}

/* 0 if the parameters make a request; else -1 with why (States.Runtime's cause). */
static int check_params(const json_t *p, char *why, size_t cap)
{
    if (!json_is_object(p)) {
        snprintf(why, cap, "The parameters of an HTTP Task must be an object");
        return -1;
    }
    const char *endpoint = json_string_value(json_object_get(p, "ApiEndpoint"));
    const char *method = json_string_value(json_object_get(p, "Method"));
    if (!endpoint ||
        (strncmp(endpoint, "https://", 8) != 0 && strncmp(endpoint, "http://", 7) != 0)) {
        snprintf(why, cap, "The field 'ApiEndpoint' must be an https:// or http:// URL");
        return -1;
    }
    if (!IN(method, methods, false)) {
        snprintf(why, cap,
                 "The field 'Method' must be one of GET, POST, PUT, DELETE, PATCH, OPTIONS, HEAD");
        return -1;
    }
    if (!connection_arn(p)) {
        snprintf(why, cap,
                 "An HTTP Task needs the field 'Authentication' (or 'InvocationConfig') with a "
                 "'ConnectionArn'");
        return -1;
    }
    if (check_headers(json_object_get(p, "Headers"), why, cap) != 0 ||
        check_query(json_object_get(p, "QueryParameters"), why, cap) != 0)
        return -1;
    return check_transform(json_object_get(p, "Transform"), why, cap);
}

/* ---- the request --------------------------------------------------------------------- */

/* The text of a scalar: a string as it is, others as JSON (null: empty). */
static void put_scalar(buf *out, const json_t *v, bool escaped)
{
    char *text = NULL;
    const char *s = json_string_value(v);
    if (!s && !json_is_null(v))
        s = text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s && escaped)
        form_put_escaped(out, s);
    else if (s)
        buf_puts(out, s);
    free(text);
}

/* key=value (both escaped), after a '&' unless out is empty. */
static void put_pair(buf *out, const char *key, const json_t *v)
{
    if (out->len)
        buf_putc(out, '&');
    form_put_escaped(out, key);
    buf_putc(out, '=');
    put_scalar(out, v, true);
}

/* One query parameter: an array repeats the key. */
static void put_query(buf *out, const char *key, const json_t *v)
{
    if (!json_is_array(v)) {
        put_pair(out, key, v);
        return;
    }
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) put_pair(out, key, e);
}

/* The URL: the endpoint, then the Task's query parameters, then the connection's (which
 * replace the Task's of the same name). */
static void build_url(buf *url, const json_t *p, const json_t *conn_query)
{
    const char *endpoint = json_string_value(json_object_get(p, "ApiEndpoint"));
    json_t *q = json_object_get(p, "QueryParameters");
    buf qs = BUF_INIT;
    if (json_is_string(q))
        buf_puts(&qs, json_string_value(q));
    const char *k;
    json_t *v;
    json_object_foreach(q, k, v)
    {
        if (!json_object_get(conn_query, k))
            put_query(&qs, k, v);
    }
    json_object_foreach((json_t *)conn_query, k, v) put_query(&qs, k, v);
    buf_puts(url, endpoint);
    if (qs.len) {
        const char *mark = strchr(endpoint, '?');
        char last = url->data[url->len - 1];
        if (!mark)
            buf_putc(url, '?');
        else if (last != '?' && last != '&')
            buf_putc(url, '&');
        buf_append(url, qs.data, qs.len);
    }
    buf_free(&qs);
}

/* A header's value: an array's elements comma-separated. */
static char *header_value(const json_t *v)
{
    buf b = BUF_INIT;
    if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            if (i)
                buf_puts(&b, ", ");
            put_scalar(&b, e, false);
        }
    } else {
        put_scalar(&b, v, false);
    }
    return buf_steal(&b, NULL);
}

/* A header name in lower case (header names are case-insensitive). */
static void lower_name(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s", name);
    for (char *c = out; *c; c++)
        *c = (char)tolower((unsigned char)*c);
}

/* Sets a header in hs ({lower-case name: "Name: value"}), replacing one of the same name. */
static void set_header(json_t *hs, const char *name, const char *value)
{
    char lower[256];
    lower_name(lower, sizeof lower, name);
    buf line = BUF_INIT;
    buf_printf(&line, "%s: %s", name, value);
    json_object_set_new(hs, lower, json_string(line.data));
    buf_free(&line);
}

static void set_headers(json_t *hs, const json_t *from)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)from, k, v)
    {
        char *value = header_value(v);
        set_header(hs, k, value);
        xfree(value);
    }
}

/* A form field (Transform URL_ENCODED): objects as key[name], arrays as fmt says. */
static void put_form(buf *out, const char *key, const json_t *v, const char *fmt)
{
    char sub[1024];
    const char *k;
    json_t *e;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, e)
        {
            if (key)
                snprintf(sub, sizeof sub, "%s[%s]", key, k);
            else
                snprintf(sub, sizeof sub, "%s", k);
            put_form(out, sub, e, fmt);
        }
        return;
    }
    if (!json_is_array(v)) {
        put_pair(out, key ? key : "", v);
        return;
    }
    if (strcmp(fmt, "COMMAS") == 0) {
        if (out->len)
            buf_putc(out, '&');
        form_put_escaped(out, key);
        buf_putc(out, '=');
        json_array_foreach(v, i, e)
        {
            if (i)
                buf_putc(out, ',');
            put_scalar(out, e, true);
        }
        return;
    }
    json_array_foreach(v, i, e)
    {
        if (strcmp(fmt, "REPEAT") == 0)
            snprintf(sub, sizeof sub, "%s", key);
        else if (strcmp(fmt, "BRACKETS") == 0)
            snprintf(sub, sizeof sub, "%s[]", key);
        else
            snprintf(sub, sizeof sub, "%s[%zu]", key, i);
        put_form(out, sub, e, fmt);
    }
}

/* The body: the RequestBody merged with the connection's body parameters, encoded as the
 * Transform says, and its Content-Type unless the headers give one (*type: NULL when there
 * is no body). 0, or -1 with why. */
static int build_body(buf *body, const char **type, const json_t *p, const json_t *conn_body,
                      char *why, size_t cap)
{
    json_t *rb = json_object_get(p, "RequestBody");
    *type = NULL;
    if (!rb && !json_object_size(conn_body))
        return 0;
    *type = "application/json; charset=UTF-8";
    if (json_is_string(rb)) {
        if (json_object_size(conn_body)) {
            snprintf(why, cap,
                     "The RequestBody is a string: the connection's body parameters "
                     "cannot be merged into it");
            return -1;
        }
        buf_puts(body, json_string_value(rb));
        return 0;
    }
    if (rb && !json_is_object(rb) && json_object_size(conn_body)) {
        snprintf(why, cap,
                 "The RequestBody is not an object: the connection's body parameters "
                 "cannot be merged into it");
        return -1;
    }
    json_t *merged = rb ? json_deep_copy(rb) : json_object();
    if (json_is_object(merged))
        json_object_update(merged, (json_t *)conn_body);
    json_t *t = json_object_get(p, "Transform");
    const char *enc = json_string_value(json_object_get(t, "RequestBodyEncoding"));
    if (enc && strcmp(enc, "URL_ENCODED") == 0 && json_is_object(merged)) {
        const char *fmt = json_string_value(
            json_object_get(json_object_get(t, "RequestEncodingOptions"), "ArrayFormat"));
        put_form(body, NULL, merged, fmt ? fmt : "INDICES");
        *type = "application/x-www-form-urlencoded";
    } else {
        char *text = json_dumps(merged, JSON_COMPACT | JSON_ENCODE_ANY);
        buf_puts(body, text ? text : "null");
        free(text);
    }
    json_decref(merged);
    return 0;
}

/* ---- the response -------------------------------------------------------------------- */

/* The media type of a Content-Type value, lower-case, without parameters. */
static void media_type(const char *content_type, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *c = content_type ? content_type : ""; *c && *c != ';' && n + 1 < cap; c++)
        if (*c != ' ' && *c != '\t')
            out[n++] = (char)tolower((unsigned char)*c);
    out[n] = '\0';
}

static bool binary_media(const char *m)
{
    return strcmp(m, "application/octet-stream") == 0 || strncmp(m, "image/", 6) == 0 ||
           strncmp(m, "video/", 6) == 0 || strncmp(m, "audio/", 6) == 0;
}

static bool json_media(const char *m)
{
    size_t n = strlen(m);
    return strcmp(m, "application/json") == 0 || (n > 5 && strcmp(m + n - 5, "+json") == 0);
}

static json_t *response_headers(const http_client_response *res)
{
    json_t *hs = json_object();
    size_t pos = 0;
    const char *name, *value;
    while (http_client_response_header_next(res, &pos, &name, &value)) {
        char lower[256];
        lower_name(lower, sizeof lower, name);
        json_t *list = json_object_get(hs, lower);
        if (!list)
            json_object_set_new(hs, lower, list = json_array());
        json_array_append_new(list, json_string(value));
    }
    return hs;
}

/* The Task's result, or NULL with why (States.Runtime's cause). */
static json_t *response_result(const http_client_response *res, char *why, size_t cap)
{
    char media[128];
    media_type(http_client_response_header(res, "Content-Type"), media, sizeof media);
    if (binary_media(media)) {
        snprintf(why, cap, "The HTTP Task does not support responses of content type '%s'", media);
        return NULL;
    }
    json_t *text = json_stringn(res->body, res->body_len); /* NULL: not UTF-8 */
    if (!text) {
        snprintf(why, cap, "The response body cannot be read as text");
        return NULL;
    }
    json_t *body = json_media(media) && res->body_len
                       ? json_loadb(res->body, res->body_len, JSON_DECODE_ANY, NULL)
                       : NULL;
    if (body)
        json_decref(text);
    const char *status = http_status_str((enum http_status)res->status);
    return json_pack("{s:o,s:o,s:i,s:s}", "Headers", response_headers(res), "ResponseBody",
                     body ? body : text, "StatusCode", res->status, "StatusText",
                     strcmp(status, "<unknown>") == 0 ? "" : status);
}

/* The result's JSON text as a cause: at most CAUSE_MAX bytes, cut between characters. */
static char *result_cause(const json_t *result)
{
    char *text = json_dumps(result, JSON_COMPACT);
    size_t n = text ? strlen(text) : 0;
    if (n > CAUSE_MAX) {
        n = CAUSE_MAX;
        while (n && ((unsigned char)text[n] & 0xc0) == 0x80)
            n--;
        text[n] = '\0';
    }
    return text;
}

static void on_response(const http_client_response *res, void *arg)
{
    http_call *c = arg;
    char why[512];
    if (res->error == HTTP_CLIENT_ETOOBIG) {
        snprintf(why, sizeof why, "The response exceeds the maximum size of %d bytes",
                 RESPONSE_MAX - 1);
        call_end(c, NULL, "States.DataLimitExceeded", why);
        return;
    }
    if (res->error) {
        snprintf(why, sizeof why, "Unable to complete the request to the API endpoint: %s",
                 res->error_message);
        call_end(c, NULL,
                 res->error == HTTP_CLIENT_ECANCELLED ? "States.Runtime" : "States.Http.Socket",
                 why);
        return;
    }
    json_t *result = response_result(res, why, sizeof why);
    if (!result) {
        call_end(c, NULL, "States.Runtime", why);
        return;
    }
    if (res->status >= 200 && res->status < 300) {
        call_end(c, result, NULL, NULL);
        return;
    }
    char error[64];
    snprintf(error, sizeof error, "States.Http.StatusCode.%d", res->status);
    char *cause = result_cause(result);
    json_decref(result);
    call_end(c, NULL, error, cause ? cause : "");
    free(cause);
}

/* The request's header lines into lines (borrowed from hs, which must outlive them). */
static size_t header_lines(const json_t *hs, const char **lines)
{
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)hs, k, v) lines[n++] = json_string_value(v);
    return n;
}

/* Builds the request from the Task's parameters and what the connection adds (conn:
 * {headers, query, body}) and sends it. 0, or -1 with why (States.Runtime's cause). */
static int send_call(http_call *c, const json_t *conn, char *why, size_t cap)
{
    sfn *s = c->s;
    const json_t *p = c->params;
    const char *method = json_string_value(json_object_get(p, "Method"));
    const char *body_type;
    buf url = BUF_INIT, body = BUF_INIT;
    int rc = -1;
    build_url(&url, p, json_object_get(conn, "query"));
    if (build_body(&body, &body_type, p, json_object_get(conn, "body"), why, cap) != 0) {
        buf_free(&url);
        return -1;
    }
    bool has_body = body_type && strcmp(method, "HEAD") != 0;
    json_t *hs = json_object();
    if (has_body)
        set_header(hs, "Content-Type", body_type);
    set_headers(hs, json_object_get(p, "Headers"));
    set_headers(hs, json_object_get(conn, "headers"));
    char agent[128];
    snprintf(agent, sizeof agent, "Amazon|StepFunctions|HttpInvoke|%s", s->region);
    set_header(hs, "User-Agent", agent);
    set_header(hs, "Range", "bytes=0-262144");
    const char **lines = xcalloc(json_object_size(hs), sizeof *lines);
    http_client_request req = {
        .method = method,
        .url = url.data,
        .headers = lines,
        .nheaders = header_lines(hs, lines),
        .body = has_body ? (body.data ? body.data : "") : NULL,
        .body_len = has_body ? body.len : 0,
        .timeout_ms = HTTP_TIMEOUT_MS,
        .max_response_bytes = RESPONSE_MAX,
    };
    if (s->stopping || (!s->http && http_client_create(&s->http, s->loop) != 0)) {
        snprintf(why, cap, "The HTTP client is not available");
    } else if ((rc = http_client_send(s->http, &req, on_response, c)) != 0) {
        snprintf(why, cap,
                 "The request cannot be sent (%s): check the endpoint URL, the query parameters "
                 "and the headers",
                 http_client_error_message(rc));
        rc = -1;
    }
    xfree(lines);
    json_decref(hs);
    buf_free(&url);
    buf_free(&body);
    return rc;
}

/* The connection said what it adds (params, taken), or why it cannot serve: the request is
 * sent, or the call ends. */
static void on_connection(json_t *params, const char *error, const char *message, void *arg)
{
    http_call *c = arg;
    char why[512];
    if (error) {
        char name[96] = "States.Runtime"; /* "Cancelled": the answer is dropped */
        if (strcmp(error, "Cancelled") != 0)
            snprintf(name, sizeof name, "%s%s", CONNECTION_ERRORS, error);
        call_end(c, NULL, name, message);
        return;
    }
    int rc = send_call(c, params, why, sizeof why);
    json_decref(params);
    if (rc != 0)
        call_end(c, NULL, "States.Runtime", why);
}

void sfn_http_call(sfn *s, const json_t *params, sfn_integration_done_fn done, void *arg)
{
    char why[512];
    if (check_params(params, why, sizeof why) != 0) {
        done(NULL, "States.Runtime", why, arg);
        return;
    }
    if (!s->events) {
        done(NULL, "States.Runtime", "EventBridge connections are not available", arg);
        return;
    }
    http_call *c = xcalloc(1, sizeof *c);
    c->s = s;
    c->params = json_deep_copy(params);
    c->done = done;
    c->arg = arg;
    events_connection_params(s->events, connection_arn(c->params), on_connection, c);
}

void sfn_http_stop(sfn *s)
{
    http_client_destroy(s->http);
    s->http = NULL;
}
