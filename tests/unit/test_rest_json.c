/* rest_json.c and the REST-JSON path through router.c and aws.c: URI template matching
 * (labels, greedy labels, literal query items, precedence, percent-decoding), decoding of
 * every member location against the generated sesv2 and lambda models (and a small
 * hand-written model for what those lack: greedy labels, querystring maps and booleans,
 * header-prefix maps, jsonvalue and timestamp headers), encoding of replies and errors, and
 * SigV4 verification of REST requests signed by botocore.
 *
 * http_respond is faked here and records the response, so router_handle and aws_reply run
 * as in the server. */
#include "common/alloc.h"
#include "protocol/aws.h"
#include "protocol/rest_json.h"
#include "protocol/sigv4.h"
#include "server/router.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cmocka.h>

/* ---- fake HTTP server --------------------------------------------------------------- */

static struct {
    int calls;
    int status;
    size_t nheaders;
    char names[16][64];
    char values[16][512];
    char *body;
    size_t body_len;
} resp;

void http_respond(http_request *req, int status, const http_header *headers, size_t nheaders,
                  buf *body)
{
    resp.calls++;
    resp.status = status;
    resp.nheaders = nheaders < 16 ? nheaders : 16;
    for (size_t i = 0; i < resp.nheaders; i++) {
        snprintf(resp.names[i], sizeof resp.names[i], "%s", headers[i].name);
        snprintf(resp.values[i], sizeof resp.values[i], "%s", headers[i].value);
    }
    xfree(resp.body);
    resp.body = buf_steal(body, &resp.body_len);
}

const char *http_request_header(const http_request *req, const char *lower_name)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (strcmp(req->headers[i].name, lower_name) == 0)
            return req->headers[i].value;
    return NULL;
}

int http_request_is_cancelled(const http_request *req)
{
    return 0;
}

static const char *resp_header(const char *name)
{
    for (size_t i = 0; i < resp.nheaders; i++)
        if (strcasecmp(resp.names[i], name) == 0)
            return resp.values[i];
    return NULL;
}

static int teardown(void **state)
{
    xfree(resp.body);
    memset(&resp, 0, sizeof resp);
    return 0;
}

/* ---- requests ----------------------------------------------------------------------- */

typedef struct fake_req {
    http_request req;
    http_header headers[8];
    char path[512];
    char query[512];
} fake_req;

/* "METHOD /path?query", headers as "name", "value" pairs ending with NULL. */
static http_request *make_req(fake_req *f, const char *line, const char *body, size_t body_len, ...)
{
    memset(f, 0, sizeof *f);
    char method[16];
    const char *sp = strchr(line, ' ');
    snprintf(method, sizeof method, "%.*s", (int)(sp - line), line);
    const char *target = sp + 1;
    const char *qm = strchr(target, '?');
    snprintf(f->path, sizeof f->path, "%.*s", (int)(qm ? qm - target : (long)strlen(target)),
             target);
    snprintf(f->query, sizeof f->query, "%s", qm ? qm + 1 : "");
    f->req.method = strcmp(method, "GET") == 0      ? "GET"
                    : strcmp(method, "PUT") == 0    ? "PUT"
                    : strcmp(method, "POST") == 0   ? "POST"
                    : strcmp(method, "DELETE") == 0 ? "DELETE"
                                                    : "PATCH";
    f->req.path = f->path;
    f->req.query = f->query;
    f->req.body = body ? body : "";
    f->req.body_len = body ? (body_len ? body_len : strlen(body)) : 0;
    va_list ap;
    va_start(ap, body_len);
    const char *name;
    while ((name = va_arg(ap, const char *)) && f->req.nheaders < 8) {
        f->headers[f->req.nheaders].name = name;
        f->headers[f->req.nheaders].value = va_arg(ap, const char *);
        f->req.nheaders++;
    }
    va_end(ap);
    f->req.headers = f->headers;
    return &f->req;
}

static const char *matched(const model_service *svc, const char *line)
{
    fake_req f;
    rest_json_rank rank;
    const model_operation *op = rest_json_match(svc, make_req(&f, line, NULL, 0, NULL), &rank);
    return op ? op->name : "(none)";
}

static void expect_json(json_t *got, const char *want_text, const char *err)
{
    json_error_t e;
    json_t *want = json_loads(want_text, 0, &e);
    if (!want)
        fail_msg("bad expectation %s: %s", want_text, e.text);
    if (!got)
        fail_msg("decode failed: %s", err);
    if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
        print_error("got  %s\nwant %s\n", g, want_text);
        free(g);
        fail();
    }
    json_decref(got);
    json_decref(want);
}

static const model_operation *op_named(const model_service *svc, const char *name)
{
    const model_operation *op = model_find_operation(svc, name, strlen(name));
    assert_non_null(op);
    return op;
}

static char err[512];

static json_t *decode(const model_service *svc, const char *op, http_request *req)
{
    err[0] = 0;
    json_t *j = rest_json_decode(svc, op_named(svc, op), req, err, sizeof err);
    if (!j)
        assert_true(err[0] != 0); /* every failure explains itself */
    return j;
}

/* ---- a hand-written model: what sesv2 and lambda do not exercise -------------------- */

static const model_shape t_string = {.name = "S", .type = SHAPE_STRING};
static const model_shape t_int = {.name = "I", .type = SHAPE_INTEGER};
static const model_shape t_bool = {.name = "B", .type = SHAPE_BOOLEAN};
static const model_shape t_double = {.name = "D", .type = SHAPE_DOUBLE};
static const model_shape t_time = {.name = "T", .type = SHAPE_TIMESTAMP};
static const model_shape t_blob = {.name = "Bl", .type = SHAPE_BLOB};
static const model_shape t_ints = {
    .name = "Is", .type = SHAPE_LIST, .member = &t_int, .member_location_name = "member"};
static const model_shape t_strings = {
    .name = "Ss", .type = SHAPE_LIST, .member = &t_string, .member_location_name = "member"};
static const model_shape t_map = {.name = "M",
                                  .type = SHAPE_MAP,
                                  .key = &t_string,
                                  .key_location_name = "key",
                                  .value = &t_string,
                                  .value_location_name = "value"};
static const model_shape t_map_lists = {.name = "ML",
                                        .type = SHAPE_MAP,
                                        .key = &t_string,
                                        .key_location_name = "key",
                                        .value = &t_strings,
                                        .value_location_name = "value"};
static const model_shape t_doc = {.name = "Doc", .type = SHAPE_STRUCTURE};

static const model_member in_members[] = {
    {"Key", "Key", &t_string, 0},      {"Id", "Id", &t_int, 0},
    {"Force", "force", &t_bool, 0},    {"Ratio", "ratio", &t_double, 0},
    {"Since", "since", &t_time, 0},    {"Ids", "id", &t_ints, 0},
    {"Rest", "Rest", &t_map, 0},       {"Meta", "x-meta-", &t_map, 0},
    {"Ctx", "X-Ctx", &t_doc, 0},       {"When", "X-When", &t_time, 0},
    {"Tags", "X-Tags", &t_strings, 0}, {"Note", "Note", &t_string, 0},
    {"Count", "X-Count", &t_int, 0},
};
static const model_binding in_bindings[] = {
    {MODEL_LOC_URI, 0},    {MODEL_LOC_URI, 0},    {MODEL_LOC_QUERY, 0},  {MODEL_LOC_QUERY, 0},
    {MODEL_LOC_QUERY, 0},  {MODEL_LOC_QUERY, 0},  {MODEL_LOC_QUERY, 0},  {MODEL_LOC_HEADERS, 0},
    {MODEL_LOC_HEADER, 1}, {MODEL_LOC_HEADER, 0}, {MODEL_LOC_HEADER, 0}, {MODEL_LOC_BODY, 0},
    {MODEL_LOC_HEADER, 0},
};
static const model_shape t_in = {.name = "In",
                                 .type = SHAPE_STRUCTURE,
                                 .members = in_members,
                                 .nmembers = 13,
                                 .bindings = in_bindings};

static const model_member grouped_members[] = {{"Group", "Group", &t_map_lists, 0}};
static const model_binding grouped_bindings[] = {{MODEL_LOC_QUERY, 0}};
static const model_shape t_grouped = {.name = "Grouped",
                                      .type = SHAPE_STRUCTURE,
                                      .members = grouped_members,
                                      .nmembers = 1,
                                      .bindings = grouped_bindings};

static const model_member out_members[] = {
    {"Code", "Code", &t_int, 0},    {"Ctx", "X-Ctx", &t_doc, 0},
    {"When", "X-When", &t_time, 0}, {"Tags", "X-Tags", &t_strings, 0},
    {"Meta", "x-meta-", &t_map, 0}, {"Ratio", "X-Ratio", &t_double, 0},
    {"Data", "Data", &t_blob, 0},
};
static const model_binding out_bindings[] = {
    {MODEL_LOC_STATUS, 0},  {MODEL_LOC_HEADER, 1}, {MODEL_LOC_HEADER, 0}, {MODEL_LOC_HEADER, 0},
    {MODEL_LOC_HEADERS, 0}, {MODEL_LOC_HEADER, 0}, {MODEL_LOC_BODY, 0},
};
static const model_shape t_out = {.name = "Out",
                                  .type = SHAPE_STRUCTURE,
                                  .members = out_members,
                                  .nmembers = 7,
                                  .bindings = out_bindings,
                                  .payload = "Data"};

/* Sorted by name, as the generator sorts them. */
static const model_operation t_ops[] = {
    {"FileMeta", &t_in, NULL, NULL},     {"GetFile", &t_in, &t_out, NULL},
    {"GetSpecial", NULL, NULL, NULL},    {"GetThing", &t_in, &t_out, NULL},
    {"Grouped", &t_grouped, NULL, NULL}, {"ListVersions", NULL, NULL, NULL},
    {"Root", NULL, NULL, NULL},
};
static const model_http t_http[] = {
    {"GET", "/files/{Key+}/meta", 200},
    {"GET", "/files/{Key+}", 200},
    {"GET", "/things/special", 200},
    {"GET", "/things/{Id}/{Key}", 200},
    {"GET", "/grouped", 200},
    {"GET", "/files/{Key+}?versions", 200},
    {"GET", "/", 200},
};
static const model_service t_svc = {.name = "t",
                                    .protocol = MODEL_PROTO_REST_JSON,
                                    .api_version = "2020-01-01",
                                    .ops = t_ops,
                                    .http = t_http,
                                    .nops = 7};

/* ---- matching ----------------------------------------------------------------------- */

static void test_match_labels_and_methods(void **state)
{
    assert_string_equal(matched(&model_sesv2, "GET /v2/email/templates/welcome"),
                        "GetEmailTemplate");
    assert_string_equal(matched(&model_sesv2, "PUT /v2/email/templates/welcome"),
                        "UpdateEmailTemplate");
    assert_string_equal(matched(&model_sesv2, "DELETE /v2/email/templates/welcome"),
                        "DeleteEmailTemplate");
    assert_string_equal(matched(&model_sesv2, "GET /v2/email/templates"), "ListEmailTemplates");
    assert_string_equal(matched(&model_sesv2, "GET /v2/email/templates/"), "ListEmailTemplates");
    assert_string_equal(matched(&model_sesv2, "POST /v2/email/templates"), "CreateEmailTemplate");
    assert_string_equal(matched(&model_sesv2, "POST /v2/email/templates/w%20x/render"),
                        "TestRenderEmailTemplate");
    assert_string_equal(matched(&model_sesv2, "POST /v2/email/outbound-emails"), "SendEmail");
    assert_string_equal(
        matched(&model_sesv2, "GET /v2/email/contact-lists/news/contacts/a%40b.example"),
        "GetContact");
    assert_string_equal(matched(&model_lambda, "POST /2015-03-31/functions/f/invocations"),
                        "Invoke");
    assert_string_equal(matched(&model_lambda, "GET /2015-03-31/functions/"), "ListFunctions");
    assert_string_equal(matched(&model_lambda, "GET /2018-10-31/layers/L/versions/3"),
                        "GetLayerVersion");
}

static void test_match_nothing(void **state)
{
    assert_string_equal(matched(&model_sesv2, "PATCH /v2/email/templates/welcome"), "(none)");
    assert_string_equal(matched(&model_sesv2, "GET /v2/email/templates/a/b"), "(none)");
    assert_string_equal(matched(&model_sesv2, "GET /v2/email/nothing-here"), "(none)");
    assert_string_equal(matched(&model_sesv2, "GET /"), "(none)");
    assert_string_equal(matched(&model_sesv2, "POST /v2/email/templates//render"), "(none)");
    assert_string_equal(matched(&model_lambda, "GET /2015-03-31/functions/f/invocations"),
                        "(none)");
    /* A non-REST model never matches. */
    assert_string_equal(matched(&model_sqs, "POST /"), "(none)");
    /* More segments than a template can have. */
    char deep[512] = "GET /files";
    for (int i = 0; i < 40; i++)
        strcat(deep, "/x");
    assert_string_equal(matched(&t_svc, deep), "(none)");
}

static void test_match_literal_query_items(void **state)
{
    assert_string_equal(
        matched(&model_lambda,
                "GET /2018-10-31/layers?find=LayerVersion&Arn=arn%3Aaws%3Alambda%3Ax"),
        "GetLayerVersionByArn");
    assert_string_equal(matched(&model_lambda, "GET /2018-10-31/layers"), "ListLayers");
    /* The literal's value must be the template's. */
    assert_string_equal(matched(&model_lambda, "GET /2018-10-31/layers?find=Other"), "ListLayers");
    assert_string_equal(
        matched(&model_lambda, "GET /2019-09-30/functions/f/provisioned-concurrency?List=ALL"),
        "ListProvisionedConcurrencyConfigs");
    assert_string_equal(
        matched(&model_lambda, "GET /2019-09-30/functions/f/provisioned-concurrency?Qualifier=1"),
        "GetProvisionedConcurrencyConfig");
    /* A key-only literal ("?versions") needs the key, whatever its value. */
    assert_string_equal(matched(&t_svc, "GET /files/a/b?versions"), "ListVersions");
    assert_string_equal(matched(&t_svc, "GET /files/a/b?versions=&x=1"), "ListVersions");
    assert_string_equal(matched(&t_svc, "GET /files/a/b?x=versions"), "GetFile");
}

static void test_match_precedence_and_greedy_labels(void **state)
{
    /* A literal segment beats a label. */
    assert_string_equal(matched(&t_svc, "GET /things/special"), "GetSpecial");
    assert_string_equal(matched(&t_svc, "GET /things/7/k"), "GetThing");
    /* Percent-decoded before comparing with a literal. */
    assert_string_equal(matched(&t_svc, "GET /things/speci%61l"), "GetSpecial");
    /* Greedy labels span slashes; a literal after them is more specific. */
    assert_string_equal(matched(&t_svc, "GET /files/a"), "GetFile");
    assert_string_equal(matched(&t_svc, "GET /files/a/b/c"), "GetFile");
    assert_string_equal(matched(&t_svc, "GET /files/a/b/meta"), "FileMeta");
    assert_string_equal(matched(&t_svc, "GET /files/meta"), "GetFile");
    assert_string_equal(matched(&t_svc, "GET /files"), "(none)");
    assert_string_equal(matched(&t_svc, "GET /"), "Root");
    /* Ranks: literal > label > greedy, then more literal query items. */
    rest_json_rank a = {.seg = {2, 2}, .nseg = 2}, b = {.seg = {2, 1}, .nseg = 2};
    assert_true(rest_json_rank_cmp(&a, &b) > 0);
    assert_true(rest_json_rank_cmp(&b, &a) < 0);
    b.seg[1] = 2;
    b.nquery = 1;
    assert_true(rest_json_rank_cmp(&a, &b) < 0);
    a.nquery = 1;
    assert_int_equal(rest_json_rank_cmp(&a, &b), 0);
}

/* ---- decoding ----------------------------------------------------------------------- */

static void test_decode_labels_and_json_body(void **state)
{
    fake_req f;
    expect_json(decode(&model_sesv2, "GetEmailTemplate",
                       make_req(&f, "GET /v2/email/templates/my%20tpl%3Ax%2Fy", NULL, 0, NULL)),
                "{\"TemplateName\":\"my tpl:x/y\"}", err);
    const char *body = "{\"TemplateName\":\"t1\",\"TemplateContent\":{\"Subject\":\"Hi\","
                       "\"Text\":\"Action=x\"},\"Unknown\":[1]}";
    expect_json(decode(&model_sesv2, "CreateEmailTemplate",
                       make_req(&f, "POST /v2/email/templates", body, 0, NULL)),
                "{\"TemplateName\":\"t1\",\"TemplateContent\":{\"Subject\":\"Hi\","
                "\"Text\":\"Action=x\"},\"Unknown\":[1]}",
                err);
    /* The label wins over a body member of the same name. */
    expect_json(decode(&model_sesv2, "UpdateEmailTemplate",
                       make_req(&f, "PUT /v2/email/templates/real",
                                "{\"TemplateName\":\"body\",\"TemplateContent\":{}}", 0, NULL)),
                "{\"TemplateName\":\"real\",\"TemplateContent\":{}}", err);
    /* An empty body is {}; a typed label. */
    expect_json(decode(&model_lambda, "GetLayerVersion",
                       make_req(&f, "GET /2018-10-31/layers/L%2B1/versions/3", NULL, 0, NULL)),
                "{\"LayerName\":\"L+1\",\"VersionNumber\":3}", err);
    assert_null(decode(&model_lambda, "GetLayerVersion",
                       make_req(&f, "GET /2018-10-31/layers/L/versions/three", NULL, 0, NULL)));
    assert_non_null(strstr(err, "VersionNumber"));
    /* Labels must be UTF-8. */
    assert_null(decode(&model_sesv2, "GetEmailTemplate",
                       make_req(&f, "GET /v2/email/templates/%FF", NULL, 0, NULL)));
    /* The path must be the operation's. */
    assert_null(decode(&model_sesv2, "GetEmailTemplate",
                       make_req(&f, "GET /v2/email/other/x", NULL, 0, NULL)));
}

static void test_decode_bad_bodies(void **state)
{
    fake_req f;
    const char *bad[] = {
        "{",
        "[1]",
        "\"s\"",
        "{\"TemplateName\":5}",
        "{\"TemplateContent\":\"x\"}",
        "{\"TemplateContent\":{\"Subject\":[]}}",
        "{\"a\":1,\"a\":2}",
        "{\"x\":\"\xff\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (decode(&model_sesv2, "CreateEmailTemplate",
                   make_req(&f, "POST /v2/email/templates", bad[i], 0, NULL)))
            fail_msg("accepted %s", bad[i]);
    }
    /* Nested lists and maps are checked too; null stands for absent. */
    assert_null(decode(&model_sesv2, "SendEmail",
                       make_req(&f, "POST /v2/email/outbound-emails",
                                "{\"Destination\":{\"ToAddresses\":[\"a@b\",7]}}", 0, NULL)));
    assert_non_null(strstr(err, "ToAddresses"));
    expect_json(decode(&model_sesv2, "SendEmail",
                       make_req(&f, "POST /v2/email/outbound-emails",
                                "{\"FromEmailAddress\":null,\"EmailTags\":[{\"Name\":\"n\","
                                "\"Value\":\"v\"}]}",
                                0, NULL)),
                "{\"FromEmailAddress\":null,\"EmailTags\":[{\"Name\":\"n\",\"Value\":\"v\"}]}",
                err);
}

static void test_decode_querystring(void **state)
{
    fake_req f;
    expect_json(decode(&model_sesv2, "ListSuppressedDestinations",
                       make_req(&f,
                                "GET /v2/email/suppression/addresses?Reason=BOUNCE&Reason="
                                "COMPLAINT&StartDate=2024-01-02T03%3A04%3A05Z&PageSize=5"
                                "&EndDate=1704164645.5&NextToken=a%2Bb+c&Other=1",
                                NULL, 0, NULL)),
                "{\"Reasons\":[\"BOUNCE\",\"COMPLAINT\"],\"StartDate\":1704164645,"
                "\"EndDate\":1704164645.5,\"PageSize\":5,\"NextToken\":\"a+b c\"}",
                err);
    const char *bad[] = {"PageSize=x",          "PageSize=1.5",
                         "StartDate=yesterday", "StartDate=2024-13-01T00:00:00Z",
                         "NextToken=%FF",       "PageSize=%"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char line[128];
        snprintf(line, sizeof line, "GET /v2/email/suppression/addresses?%s", bad[i]);
        if (decode(&model_sesv2, "ListSuppressedDestinations", make_req(&f, line, NULL, 0, NULL)))
            fail_msg("accepted %s", bad[i]);
    }
    /* Booleans, doubles, integer lists, and a map of the parameters nobody else names (the
     * template's literal keys excluded). */
    expect_json(decode(&t_svc, "ListVersions",
                       make_req(&f,
                                "GET /files/a%2Fb/c?versions&force=TRUE&ratio=0.25&id=1&id=2"
                                "&k1=v1&k1=ignored&k2=",
                                NULL, 0, NULL)),
                "{}", err); /* ListVersions has no input: nothing is read */
    expect_json(decode(&t_svc, "GetFile",
                       make_req(&f,
                                "GET /files/a%2Fb/c?force=false&ratio=0.25&id=1&id=2"
                                "&k1=v1&k1=ignored&k2=",
                                NULL, 0, NULL)),
                "{\"Key\":\"a/b/c\",\"Force\":false,\"Ratio\":0.25,\"Ids\":[1,2],"
                "\"Rest\":{\"k1\":\"v1\",\"k2\":\"\"}}",
                err);
    assert_null(decode(&t_svc, "GetFile", make_req(&f, "GET /files/a?force=yes", NULL, 0, NULL)));
    assert_null(decode(&t_svc, "GetFile", make_req(&f, "GET /files/a?id=1&id=x", NULL, 0, NULL)));
    assert_null(decode(&t_svc, "GetFile", make_req(&f, "GET /files/a?ratio=nan", NULL, 0, NULL)));
    expect_json(decode(&t_svc, "Grouped", make_req(&f, "GET /grouped?a=1&b=2&a=3", NULL, 0, NULL)),
                "{\"Group\":{\"a\":[\"1\",\"3\"],\"b\":[\"2\"]}}", err);
}

static void test_decode_headers(void **state)
{
    fake_req f;
    /* {"a":[1,true]} in base64 */
    expect_json(
        decode(&t_svc, "GetThing",
               make_req(&f, "GET /things/42/k%20ey", "{\"Note\":\"n\",\"Key\":\"no\"}", 0, "x-ctx",
                        "eyJhIjpbMSx0cnVlXX0=", "x-when", "Tue, 02 Jan 2024 03:04:05 GMT", "x-tags",
                        "a, b ,c", "x-meta-One", "1", "x-meta-two", "2", "x-count", "-3", "x-meta-",
                        "skipped", NULL)),
        "{\"Id\":42,\"Key\":\"k ey\",\"Note\":\"n\",\"Ctx\":{\"a\":[1,true]},"
        "\"When\":1704164645,\"Tags\":[\"a\",\"b\",\"c\"],"
        "\"Meta\":{\"One\":\"1\",\"two\":\"2\"},\"Count\":-3}",
        err);
    assert_null(decode(&t_svc, "GetThing",
                       make_req(&f, "GET /things/1/k", NULL, 0, "x-ctx", "not base64!", NULL)));
    assert_null(decode(&t_svc, "GetThing",
                       make_req(&f, "GET /things/1/k", NULL, 0, "x-ctx", "bm90IGpzb24=", NULL)));
    assert_null(decode(&t_svc, "GetThing",
                       make_req(&f, "GET /things/1/k", NULL, 0, "x-when", "Someday", NULL)));
    assert_null(decode(&t_svc, "GetThing",
                       make_req(&f, "GET /things/1/k", NULL, 0, "x-count", "3x", NULL)));
    expect_json(decode(&t_svc, "GetThing",
                       make_req(&f, "GET /things/1/k", NULL, 0, "x-when",
                                "2024-01-02T04:04:05.5+01:00", NULL)),
                "{\"Id\":1,\"Key\":\"k\",\"When\":1704164645.5}", err);
}

static void test_decode_blob_payload_and_lambda_headers(void **state)
{
    fake_req f;
    expect_json(decode(&model_lambda, "Invoke",
                       make_req(&f,
                                "POST /2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A0%3A"
                                "function%3Af/invocations?Qualifier=prod",
                                "\x00\x01\xff{", 4, "x-amz-invocation-type", "Event",
                                "x-amz-log-type", "Tail", "x-amz-client-context", "e30=", NULL)),
                "{\"FunctionName\":\"arn:aws:lambda:us-east-1:0:function:f\","
                "\"Qualifier\":\"prod\",\"InvocationType\":\"Event\",\"LogType\":\"Tail\","
                "\"ClientContext\":\"e30=\",\"Payload\":\"AAH/ew==\"}",
                err);
    /* No body: no payload member. */
    expect_json(decode(&model_lambda, "Invoke",
                       make_req(&f, "POST /2015-03-31/functions/f/invocations", NULL, 0, NULL)),
                "{\"FunctionName\":\"f\"}", err);
    /* A blob payload that happens to be JSON stays bytes. */
    expect_json(
        decode(&model_lambda, "Invoke",
               make_req(&f, "POST /2015-03-31/functions/f/invocations", "{\"a\":1}", 0, NULL)),
        "{\"FunctionName\":\"f\",\"Payload\":\"eyJhIjoxfQ==\"}", err);
}

/* ---- encoding ----------------------------------------------------------------------- */

static const char *r_header(const rest_json_response *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

static void test_encode_json_body_and_status(void **state)
{
    rest_json_response r = {0};
    json_t *out =
        json_pack("{s:s,s:{s:s}}", "TemplateName", "t", "TemplateContent", "Subject", "Hi");
    assert_int_equal(rest_json_encode(&model_sesv2, op_named(&model_sesv2, "GetEmailTemplate"), out,
                                      &r, err, sizeof err),
                     0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r_header(&r, "Content-Type"), "application/json");
    expect_json(json_loads(r.body.data, 0, NULL),
                "{\"TemplateName\":\"t\",\"TemplateContent\":{\"Subject\":\"Hi\"}}", "");
    rest_json_response_free(&r);
    json_decref(out);
    /* No output: {} (botocore and the SDKs read an empty object). */
    assert_int_equal(rest_json_encode(&model_sesv2, op_named(&model_sesv2, "DeleteEmailTemplate"),
                                      NULL, &r, err, sizeof err),
                     0);
    assert_string_equal(r.body.data, "{}");
    rest_json_response_free(&r);
    /* responseCode: 201 with a body, 204 without one. */
    out = json_pack("{s:s}", "FunctionName", "f");
    assert_int_equal(rest_json_encode(&model_lambda, op_named(&model_lambda, "CreateFunction"), out,
                                      &r, err, sizeof err),
                     0);
    assert_int_equal(r.status, 201);
    assert_string_equal(r.body.data, "{\"FunctionName\":\"f\"}");
    rest_json_response_free(&r);
    assert_int_equal(rest_json_encode(&model_lambda, op_named(&model_lambda, "DeleteFunction"), out,
                                      &r, err, sizeof err),
                     0);
    assert_int_equal(r.status, 204);
    assert_int_equal(r.body.len, 0);
    assert_null(r_header(&r, "Content-Type"));
    rest_json_response_free(&r);
    json_decref(out);
}

static void test_encode_headers_status_and_blob_payload(void **state)
{
    rest_json_response r = {0};
    json_t *out = json_pack("{s:i,s:s,s:s,s:s,s:s}", "StatusCode", 202, "FunctionError",
                            "Unhandled\r\nX-Evil: 1", "LogResult", "bG9n", "ExecutedVersion",
                            "$LATEST", "Payload", "AAH/ew==");
    assert_int_equal(rest_json_encode(&model_lambda, op_named(&model_lambda, "Invoke"), out, &r,
                                      err, sizeof err),
                     0);
    assert_int_equal(r.status, 202);
    assert_string_equal(r_header(&r, "X-Amz-Function-Error"), "Unhandled  X-Evil: 1");
    assert_string_equal(r_header(&r, "X-Amz-Log-Result"), "bG9n");
    assert_string_equal(r_header(&r, "X-Amz-Executed-Version"), "$LATEST");
    assert_string_equal(r_header(&r, "Content-Type"), "application/octet-stream");
    assert_int_equal(r.body.len, 4);
    assert_memory_equal(r.body.data, "\x00\x01\xff{", 4);
    rest_json_response_free(&r);
    /* A blob payload the handler did not base64: an error, not a garbled body. */
    json_object_set_new(out, "Payload", json_string("not base64"));
    assert_int_equal(rest_json_encode(&model_lambda, op_named(&model_lambda, "Invoke"), out, &r,
                                      err, sizeof err),
                     -1);
    rest_json_response_free(&r);
    json_decref(out);
    /* Typed headers, header maps, jsonvalue headers; a status member out of range is ignored. */
    out = json_pack("{s:i,s:{s:b},s:f,s:[s,s],s:{s:s},s:f,s:s}", "Code", 42, "Ctx", "a", 1, "When",
                    1704164645.9, "Tags", "a", "b", "Meta", "k", "v", "Ratio", 0.5, "Data", "");
    assert_int_equal(
        rest_json_encode(&t_svc, op_named(&t_svc, "GetThing"), out, &r, err, sizeof err), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r_header(&r, "X-Ctx"), "eyJhIjp0cnVlfQ=="); /* {"a":true} */
    assert_string_equal(r_header(&r, "X-When"), "Tue, 02 Jan 2024 03:04:05 GMT");
    assert_string_equal(r_header(&r, "X-Tags"), "a,b");
    assert_string_equal(r_header(&r, "x-meta-k"), "v");
    assert_string_equal(r_header(&r, "X-Ratio"), "0.5");
    assert_int_equal(r.body.len, 0);
    rest_json_response_free(&r);
    json_decref(out);
}

static void test_encode_errors(void **state)
{
    rest_json_response r = {0};
    rest_json_encode_error(&model_sesv2, AWS_ERR_SESV2_NOT_FOUND, "Template \"x\" does not exist.",
                           &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(r_header(&r, "X-Amzn-ErrorType"), "NotFoundException");
    assert_string_equal(r_header(&r, "Content-Type"), "application/json");
    assert_string_equal(r.body.data, "{\"__type\":\"NotFoundException\","
                                     "\"message\":\"Template \\\"x\\\" does not exist.\"}");
    rest_json_response_free(&r);
    rest_json_encode_error(&model_sesv2, AWS_ERR_SESV2_TOO_MANY_REQUESTS, NULL, &r);
    assert_int_equal(r.status, 429);
    assert_string_equal(r.body.data, "{\"__type\":\"TooManyRequestsException\",\"message\":\"\"}");
    rest_json_response_free(&r);
}

/* ---- the router and aws_reply ------------------------------------------------------- */

static void echo_input(aws_call *call)
{
    json_t *in = json_incref(call->input);
    aws_reply(call, in);
}

static void fail_not_found(aws_call *call)
{
    aws_reply_error(call, AWS_ERR_SESV2_NOT_FOUND, "No template %s.",
                    json_string_value(json_object_get(call->input, "TemplateName")));
}

static const aws_op_def sesv2_ops[] = {
    {"CreateEmailTemplate", echo_input},
    {"GetEmailTemplate", fail_not_found},
    {"SendEmail", echo_input},
};
static const aws_service_def sesv2_def = {.model = &model_sesv2,
                                          .ops = sesv2_ops,
                                          .nops = 3,
                                          .rest_input_error = AWS_ERR_SESV2_BAD_REQUEST};
static const aws_op_def lambda_ops[] = {{"Invoke", echo_input}};
static const aws_service_def lambda_def = {.model = &model_lambda, .ops = lambda_ops, .nops = 1};
static const aws_service_def sqs_def = {.model = &model_sqs, .json_protocol = AWS_PROTO_JSON_1_0};

static router *test_router(void)
{
    router *r = router_create(NULL, 0, NULL, NULL);
    router_add_service(r, &sqs_def);
    router_add_service(r, &sesv2_def);
    router_add_service(r, &lambda_def);
    return r;
}

static void test_router_routes_rest_requests(void **state)
{
    router *r = test_router();
    fake_req f;
    const char *body = "{\"TemplateName\":\"t\",\"TemplateContent\":{\"Text\":\"Action=Send\"}}";
    router_handle(
        make_req(&f, "POST /v2/email/templates", body, 0, "content-type", "application/json", NULL),
        r);
    assert_int_equal(resp.calls, 1);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp_header("Content-Type"), "application/json");
    assert_int_equal(strlen(resp_header("x-amzn-RequestId")), 36);
    expect_json(json_loads(resp.body, 0, NULL), body, "");
    /* Errors in REST-JSON shape. */
    router_handle(make_req(&f, "GET /v2/email/templates/a%20b", NULL, 0, NULL), r);
    assert_int_equal(resp.status, 404);
    assert_string_equal(resp_header("X-Amzn-ErrorType"), "NotFoundException");
    assert_non_null(resp_header("x-amzn-RequestId"));
    assert_string_equal(resp.body, "{\"__type\":\"NotFoundException\",\"message\":\"No template "
                                   "a b.\"}");
    /* Undecodable input: the service's error (SES v2: BadRequestException), the default
     * SerializationException otherwise. */
    router_handle(make_req(&f, "POST /v2/email/outbound-emails", "{\"Content\":1}", 0, NULL), r);
    assert_int_equal(resp.status, 400);
    assert_string_equal(resp_header("X-Amzn-ErrorType"), "BadRequestException");
    router_handle(
        make_req(&f, "POST /2015-03-31/functions/f/invocations?Qualifier=%", NULL, 0, NULL), r);
    assert_int_equal(resp.status, 400);
    assert_string_equal(resp_header("X-Amzn-ErrorType"), "SerializationException");
    /* An operation the service does not implement. */
    router_handle(make_req(&f, "DELETE /v2/email/templates/x", NULL, 0, NULL), r);
    assert_int_equal(resp.status, 400);
    assert_string_equal(resp_header("X-Amzn-ErrorType"), "UnknownOperationException");
    /* Blob payloads round-trip as bytes. */
    router_handle(make_req(&f, "POST /2015-03-31/functions/f/invocations", "\x00\xfe", 2, NULL), r);
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.body_len, 2);
    assert_memory_equal(resp.body, "\x00\xfe", 2);
    router_destroy(r);
}

static void test_router_keeps_other_protocols_and_unknown_paths(void **state)
{
    router *r = test_router();
    fake_req f;
    /* No template matches: today's plain 404. */
    router_handle(make_req(&f, "GET /v2/email/nothing", NULL, 0, NULL), r);
    assert_int_equal(resp.status, 404);
    assert_non_null(strstr(resp_header("Content-Type"), "text/plain"));
    router_handle(make_req(&f, "PUT /_sluice/x", NULL, 0, NULL), r);
    assert_int_equal(resp.status, 404);
    /* A form body is Query, whatever the path. */
    router_handle(make_req(&f, "POST /v2/email/templates", "Action=Nope&Version=2012-11-05", 0,
                           "content-type", "application/x-www-form-urlencoded", NULL),
                  r);
    assert_int_equal(resp.status, 400);
    assert_string_equal(resp_header("Content-Type"), "text/xml");
    assert_non_null(strstr(resp.body, "<Code>InvalidAction</Code>"));
    /* Sniffed Query (no content type) still works where no template matches... */
    router_handle(make_req(&f, "POST /", "Action=Nope", 0, NULL), r);
    assert_string_equal(resp_header("Content-Type"), "text/xml");
    /* ...and X-Amz-Target still picks the JSON protocol. */
    router_handle(
        make_req(&f, "POST /v2/email/templates", "{}", 0, "x-amz-target", "AmazonSQS.Nope", NULL),
        r);
    assert_string_equal(resp_header("Content-Type"), "application/x-amz-json-1.0");
    router_destroy(r);
}

/* ---- SigV4 on REST requests signed by botocore -------------------------------------- */

typedef struct vector {
    const char *name, *method, *path, *query, *body;
    size_t body_len;
    http_header headers[6];
} vector;

/* Produced by botocore 1.29 (Debian) signing sesv2 and lambda calls for
 * http://localhost:4566 with AKIDEXAMPLE; user-agent and amz-sdk-* headers (unsigned) left
 * out. */
static const vector vectors[] = {
    /* sesv2_get_template */
    {"sesv2_get_template",
     "GET",
     "/v2/email/templates/my%20tpl%3Ax%2Fy",
     "",
     "",
     0,
     {{"host", "localhost:4566"},
      {"x-amz-date", "20261130T114938Z"},
      {"authorization",
       "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261130/us-east-1/ses/aws4_request, "
       "SignedHeaders=host;x-amz-date, "
       "Signature=860c9270afa299450f23f4bcc69ac643b9bdf69741d7fb1e70a8d9f632ca6746"}}},
    /* sesv2_list_suppressed */
    {"sesv2_list_suppressed",
     "GET",
     "/v2/email/suppression/addresses",
     "Reason=BOUNCE&Reason=COMPLAINT&StartDate=2024-01-02T03%3A04%3A05Z&PageSize=5",
     "",
     0,
     {{"host", "localhost:4566"},
      {"x-amz-date", "20261130T114938Z"},
      {"authorization",
       "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261130/us-east-1/ses/aws4_request, "
       "SignedHeaders=host;x-amz-date, "
       "Signature=2bd63d7be5dd38ef9fa9520f7ae27198d9b5a1e936d671f91558d00da2e8f534"}}},
    /* sesv2_create_template */
    {"sesv2_create_template",
     "POST",
     "/v2/email/templates",
     "",
     "{\"TemplateName\": \"t1\", \"TemplateContent\": {\"Subject\": \"Hi {{name}}\", \"Text\": "
     "\"Action=x & more\"}}",
     96,
     {{"content-type", "application/json"},
      {"host", "localhost:4566"},
      {"x-amz-date", "20261130T114938Z"},
      {"authorization",
       "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261130/us-east-1/ses/aws4_request, "
       "SignedHeaders=content-type;host;x-amz-date, "
       "Signature=853d23865233209775beaa2ca501d54ea25cc5e13732f2c41e5e147f7917ecbd"},
      {"content-length", "96"}}},
    /* lambda_invoke */
    {"lambda_invoke",
     "POST",
     "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Af/"
     "invocations",
     "Qualifier=prod",
     "\000\001binary\377",
     9,
     {{"x-amz-invocation-type", "Event"},
      {"host", "localhost:4566"},
      {"x-amz-date", "20261130T114938Z"},
      {"authorization",
       "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261130/us-east-1/lambda/aws4_request, "
       "SignedHeaders=host;x-amz-date;x-amz-invocation-type, "
       "Signature=703641937a9391fb1b480dc28315a9a5fbdebe3fa2f30276c6be5bd15a1c986a"},
      {"content-length", "9"}}},
};

static int64_t amz_date_ms(const vector *v)
{
    for (size_t i = 0; i < 6 && v->headers[i].name; i++) {
        if (strcmp(v->headers[i].name, "x-amz-date") == 0) {
            struct tm tm = {0};
            strptime(v->headers[i].value, "%Y%m%dT%H%M%SZ", &tm);
            return (int64_t)timegm(&tm) * 1000;
        }
    }
    return 0;
}

static void test_sigv4_verifies_rest_requests(void **state)
{
    static const sigv4_credential creds[] = {
        {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}};
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        const vector *v = &vectors[i];
        http_header h[6];
        size_t n = 0;
        for (; n < 6 && v->headers[n].name; n++)
            h[n] = v->headers[n];
        http_request req = {.method = v->method,
                            .path = v->path,
                            .query = v->query,
                            .headers = h,
                            .nheaders = n,
                            .body = v->body,
                            .body_len = v->body_len};
        aws_error e;
        char msg[512];
        if (sigv4_verify(&req, creds, 1, amz_date_ms(v), &e, msg, sizeof msg) != 0)
            fail_msg("%s: %s", v->name, msg);
        /* And the request routes and decodes. */
        const model_service *svc =
            strncmp(v->name, "lambda", 6) == 0 ? &model_lambda : &model_sesv2;
        rest_json_rank rank;
        const model_operation *op = rest_json_match(svc, &req, &rank);
        assert_non_null(op);
        json_t *in = rest_json_decode(svc, op, &req, err, sizeof err);
        if (!in)
            fail_msg("%s: %s", v->name, err);
        json_decref(in);
        /* A changed label breaks the signature. */
        char path[256];
        snprintf(path, sizeof path, "%sx", v->path);
        req.path = path;
        assert_int_not_equal(sigv4_verify(&req, creds, 1, amz_date_ms(v), &e, msg, sizeof msg), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match_labels_and_methods),
        cmocka_unit_test(test_match_nothing),
        cmocka_unit_test(test_match_literal_query_items),
        cmocka_unit_test(test_match_precedence_and_greedy_labels),
        cmocka_unit_test(test_decode_labels_and_json_body),
        cmocka_unit_test(test_decode_bad_bodies),
        cmocka_unit_test(test_decode_querystring),
        cmocka_unit_test(test_decode_headers),
        cmocka_unit_test(test_decode_blob_payload_and_lambda_headers),
        cmocka_unit_test(test_encode_json_body_and_status),
        cmocka_unit_test(test_encode_headers_status_and_blob_payload),
        cmocka_unit_test(test_encode_errors),
        cmocka_unit_test_teardown(test_router_routes_rest_requests, teardown),
        cmocka_unit_test_teardown(test_router_keeps_other_protocols_and_unknown_paths, teardown),
        cmocka_unit_test(test_sigv4_verifies_rest_requests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
