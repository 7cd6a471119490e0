/* aws.c: the error table, the JSON and Query error encoders, and the replies of aws_reply /
 * aws_reply_error as an HTTP response (http_respond is faked here and records what it gets).
 *
 * `test_aws_errors --driver` reads JSON lines {"err": "SQS_QUEUE_DOES_NOT_EXIST", "msg": "..."}
 * (or {"list": true}) and writes, for tests/unit/xml_roundtrip.py, the status, headers and
 * bodies of the error in both protocols (or the whole table). */
#include "protocol/aws.h"

#include "common/alloc.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

/* ---- fake HTTP server --------------------------------------------------------------- */

static struct {
    int calls;
    int status;
    size_t nheaders;
    char names[8][64];
    char values[8][256];
    char *body;
    size_t body_len;
} resp;

static int cancelled;

void http_respond(http_request *req, int status, const http_header *headers, size_t nheaders,
                  buf *body)
{
    resp.calls++;
    resp.status = status;
    resp.nheaders = nheaders < 8 ? nheaders : 8;
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
    return cancelled;
}

static const char *header(const char *name)
{
    for (size_t i = 0; i < resp.nheaders; i++)
        if (strcasecmp(resp.names[i], name) == 0)
            return resp.values[i];
    return NULL;
}

static http_header req_headers[] = {{"host", "localhost:4566"}, {"content-type", "x"}};
static http_request req = {.method = "POST",
                           .path = "/",
                           .query = "",
                           .headers = req_headers,
                           .nheaders = 2,
                           .body = "",
                           .body_len = 0};

static aws_service_def sqs_json = {
    .model = &model_sqs, .json_protocol = AWS_PROTO_JSON_1_0, .query_compatible = 1};
static aws_service_def plain_json = {.model = &model_sqs, .json_protocol = AWS_PROTO_JSON_1_1};

static aws_call *call(const aws_service_def *svc, aws_protocol proto, const char *op)
{
    const model_operation *o = op ? model_find_operation(&model_sqs, op, strlen(op)) : NULL;
    return aws_call_create(&req, svc, o, proto, json_pack("{s:s}", "QueueUrl", "u"));
}

static int teardown(void **state)
{
    xfree(resp.body);
    memset(&resp, 0, sizeof resp);
    return 0;
}

/* ---- table -------------------------------------------------------------------------- */

static void test_aws_error_lookup_rows(void **state)
{
    const aws_error_info *e = aws_error_lookup(AWS_ERR_SQS_QUEUE_DOES_NOT_EXIST);
    assert_string_equal(e->shape, "QueueDoesNotExist");
    assert_string_equal(e->query_code, "AWS.SimpleQueueService.NonExistentQueue");
    assert_int_equal(e->http_status, 400);
    assert_true(e->sender_fault);
    e = aws_error_lookup(AWS_ERR_SQS_QUEUE_NAME_EXISTS);
    assert_string_equal(e->query_code, "QueueAlreadyExists");
    e = aws_error_lookup(AWS_ERR_SQS_RESOURCE_NOT_FOUND);
    assert_int_equal(e->http_status, 404);
    e = aws_error_lookup(AWS_ERR_INTERNAL_ERROR);
    assert_int_equal(e->http_status, 500);
    assert_false(e->sender_fault);
    /* Out of range: InternalError rather than a wild read. */
    assert_ptr_equal(aws_error_lookup(AWS_ERR__COUNT), aws_error_lookup(AWS_ERR_INTERNAL_ERROR));
    assert_ptr_equal(aws_error_lookup((aws_error)-1), aws_error_lookup(AWS_ERR_INTERNAL_ERROR));
}

static void test_aws_error_table_is_well_formed(void **state)
{
    for (int i = 0; i < AWS_ERR__COUNT; i++) {
        const aws_error_info *e = aws_error_lookup((aws_error)i);
        assert_true(e->shape[0] && e->query_code[0]);
        /* S3 answers a matching If-None-Match with 304, which SDKs raise as an error */
        if (i != AWS_ERR_S3_NOT_MODIFIED)
            assert_true(e->http_status >= 400 && e->http_status < 600);
        assert_true(e->sender_fault == (e->http_status < 500));
        /* Both the header value and XML element text are written without escaping. */
        assert_null(strpbrk(e->query_code, ";<>&\"\r\n"));
        /* Services may share a shape name (ResourceNotFoundException is 404 in SQS, 400 in
         * EventBridge), but no two rows may be the same error. */
        for (int j = 0; j < i; j++) {
            const aws_error_info *o = aws_error_lookup((aws_error)j);
            assert_false(strcmp(e->shape, o->shape) == 0 && e->http_status == o->http_status &&
                         strcmp(e->query_code, o->query_code) == 0);
        }
    }
}

/* ---- encoders ----------------------------------------------------------------------- */

static void test_aws_encode_json_error(void **state)
{
    buf b = BUF_INIT;
    aws_encode_json_error(&b, &sqs_json, AWS_ERR_SQS_QUEUE_DOES_NOT_EXIST,
                          "The specified queue does not exist.");
    assert_string_equal(b.data, "{\"__type\":\"com.amazonaws.sqs#QueueDoesNotExist\","
                                "\"message\":\"The specified queue does not exist.\"}");
    buf_reset(&b);
    aws_encode_json_error(&b, &sqs_json, AWS_ERR_INVALID_PARAMETER_VALUE,
                          "q\"\\\n\r\t\x01\x1f\xe2\x82\xac\xff/");
    assert_string_equal(b.data, "{\"__type\":\"com.amazonaws.sqs#InvalidParameterValue\","
                                "\"message\":\"q\\\"\\\\\\n\\r\\t\\u0001\\u001f\xe2\x82\xac"
                                "\xef\xbf\xbd/\"}");
    json_error_t e;
    json_t *j = json_loads(b.data, JSON_REJECT_DUPLICATES, &e);
    assert_non_null(j);
    json_decref(j);
    buf_reset(&b);
    aws_encode_json_error(&b, NULL, AWS_ERR_ACCESS_DENIED, NULL);
    assert_string_equal(b.data, "{\"__type\":\"AccessDenied\",\"message\":\"\"}");
    buf_free(&b);
}

static void test_aws_encode_query_error(void **state)
{
    buf b = BUF_INIT;
    aws_encode_query_error(&b, &sqs_json, AWS_ERR_SQS_QUEUE_DOES_NOT_EXIST,
                           "The specified queue does not exist.", "rid");
    assert_string_equal(b.data, "<?xml version=\"1.0\"?><ErrorResponse "
                                "xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\"><Error>"
                                "<Type>Sender</Type>"
                                "<Code>AWS.SimpleQueueService.NonExistentQueue</Code>"
                                "<Message>The specified queue does not exist.</Message>"
                                "<Detail/></Error><RequestId>rid</RequestId></ErrorResponse>");
    buf_reset(&b);
    aws_encode_query_error(&b, &sqs_json, AWS_ERR_INTERNAL_ERROR, "a<b>&'\"\r\n\x01\xc3", "r");
    assert_non_null(strstr(b.data, "<Type>Receiver</Type><Code>InternalError</Code>"
                                   "<Message>a&lt;b&gt;&amp;&apos;&quot;&#xD;\n"
                                   "\xef\xbf\xbd\xef\xbf\xbd</Message>"));
    buf_free(&b);
}

/* ---- replies ------------------------------------------------------------------------ */

static void test_aws_reply_error_json_query_compatible(void **state)
{
    aws_call *c = call(&sqs_json, AWS_PROTO_JSON_1_0, "GetQueueUrl");
    char rid[40];
    strcpy(rid, c->request_id);
    aws_reply_error(c, AWS_ERR_SQS_QUEUE_DOES_NOT_EXIST, "Queue %s does not exist.", "q1");
    assert_int_equal(resp.calls, 1);
    assert_int_equal(resp.status, 400);
    assert_string_equal(header("Content-Type"), "application/x-amz-json-1.0");
    assert_string_equal(header("x-amzn-query-error"),
                        "AWS.SimpleQueueService.NonExistentQueue;Sender");
    assert_string_equal(header("x-amzn-RequestId"), rid);
    assert_string_equal(resp.body, "{\"__type\":\"com.amazonaws.sqs#QueueDoesNotExist\","
                                   "\"message\":\"Queue q1 does not exist.\"}");
    c = call(&sqs_json, AWS_PROTO_JSON_1_0, NULL);
    aws_reply_error(c, AWS_ERR_SERVICE_UNAVAILABLE, "down");
    assert_int_equal(resp.status, 503);
    assert_string_equal(header("x-amzn-query-error"), "ServiceUnavailable;Receiver");
}

static void test_aws_reply_error_json_plain_has_no_query_header(void **state)
{
    aws_call *c = call(&plain_json, AWS_PROTO_JSON_1_1, "GetQueueUrl");
    aws_reply_error(c, AWS_ERR_ACCESS_DENIED, "no");
    assert_int_equal(resp.status, 403);
    assert_string_equal(header("Content-Type"), "application/x-amz-json-1.1");
    assert_null(header("x-amzn-query-error"));
    assert_non_null(header("x-amzn-RequestId"));
}

static void test_aws_reply_error_query(void **state)
{
    aws_call *c = call(&sqs_json, AWS_PROTO_QUERY, "PurgeQueue");
    char want[512];
    snprintf(want, sizeof want,
             "<?xml version=\"1.0\"?><ErrorResponse "
             "xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\"><Error><Type>Sender</Type>"
             "<Code>AWS.SimpleQueueService.PurgeQueueInProgress</Code><Message>busy 60</Message>"
             "<Detail/></Error><RequestId>%s</RequestId></ErrorResponse>",
             c->request_id);
    aws_reply_error(c, AWS_ERR_SQS_PURGE_QUEUE_IN_PROGRESS, "busy %d", 60);
    assert_int_equal(resp.status, 403);
    assert_string_equal(header("Content-Type"), "text/xml");
    assert_null(header("x-amzn-query-error"));
    assert_string_equal(resp.body, want);
}

static void test_aws_reply_json_and_query(void **state)
{
    aws_call *c = call(&sqs_json, AWS_PROTO_JSON_1_0, "CreateQueue");
    aws_reply(c, json_pack("{s:s, s:i}", "QueueUrl", "http://h/0/q", "n", 1));
    assert_int_equal(resp.status, 200);
    assert_string_equal(header("Content-Type"), "application/x-amz-json-1.0");
    assert_string_equal(resp.body, "{\"QueueUrl\":\"http://h/0/q\",\"n\":1}");
    c = call(&sqs_json, AWS_PROTO_JSON_1_0, "DeleteQueue");
    aws_reply(c, NULL);
    assert_string_equal(resp.body, "{}");
    c = call(&sqs_json, AWS_PROTO_QUERY, "CreateQueue");
    char want[512];
    snprintf(want, sizeof want,
             "<?xml version=\"1.0\"?><CreateQueueResponse "
             "xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\"><CreateQueueResult>"
             "<QueueUrl>http://h/0/q</QueueUrl></CreateQueueResult><ResponseMetadata>"
             "<RequestId>%s</RequestId></ResponseMetadata></CreateQueueResponse>",
             c->request_id);
    aws_reply(c, json_pack("{s:s}", "QueueUrl", "http://h/0/q"));
    assert_int_equal(resp.status, 200);
    assert_string_equal(header("Content-Type"), "text/xml");
    assert_string_equal(resp.body, want);
    assert_int_equal(resp.calls, 3);
}

static void test_aws_call_create_fills_the_call(void **state)
{
    aws_call *a = call(&sqs_json, AWS_PROTO_QUERY, "SendMessage");
    aws_call *b = call(&sqs_json, AWS_PROTO_QUERY, "SendMessage");
    assert_string_equal(a->host, "localhost:4566");
    assert_string_equal(a->access_key, "");
    assert_ptr_equal(a->op, model_find_operation(&model_sqs, "SendMessage", 11));
    assert_int_equal(a->protocol, AWS_PROTO_QUERY);
    assert_true(a->received_ms > 1600000000000LL);
    assert_string_not_equal(a->request_id, b->request_id);
    const char *id = a->request_id;
    assert_int_equal(strlen(id), 36);
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            assert_int_equal(id[i], '-');
        else
            assert_non_null(strchr("0123456789abcdef", id[i]));
    }
    assert_int_equal(id[14], '4');
    assert_non_null(strchr("89ab", id[19]));
    assert_false(aws_call_is_cancelled(a));
    cancelled = 1;
    assert_true(aws_call_is_cancelled(a));
    cancelled = 0;
    aws_reply(a, NULL);
    aws_reply(b, NULL);
}

/* ---- driver for xml_roundtrip.py ---------------------------------------------------- */

static const struct {
    const char *name;
    aws_error err;
} names[] = {
#define AWS_ERROR_NAME(name, shape, query_code, status, sender) {#name, AWS_ERR_##name},
    AWS_ERRORS(AWS_ERROR_NAME)
#undef AWS_ERROR_NAME
};

static json_t *headers_json(void)
{
    json_t *h = json_object();
    for (size_t i = 0; i < resp.nheaders; i++)
        json_object_set_new(h, resp.names[i], json_string(resp.values[i]));
    return h;
}

static json_t *render(aws_error err, const char *msg)
{
    json_t *out = json_object();
    aws_reply_error(call(&sqs_json, AWS_PROTO_QUERY, "GetQueueUrl"), err, "%s", msg);
    json_object_set_new(out, "status", json_integer(resp.status));
    json_object_set_new(out, "query_body", json_stringn(resp.body, resp.body_len));
    json_object_set_new(out, "query_headers", headers_json());
    aws_reply_error(call(&sqs_json, AWS_PROTO_JSON_1_0, "GetQueueUrl"), err, "%s", msg);
    json_object_set_new(out, "json_body", json_stringn(resp.body, resp.body_len));
    json_object_set_new(out, "json_headers", headers_json());
    return out;
}

static int driver(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        json_error_t e;
        json_t *rq = json_loadb(line, (size_t)n, 0, &e);
        json_t *out = NULL;
        if (json_is_true(json_object_get(rq, "list"))) {
            out = json_array();
            for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
                const aws_error_info *info = aws_error_lookup(names[i].err);
                json_array_append_new(
                    out, json_pack("{s:s, s:s, s:s, s:i, s:b}", "name", names[i].name, "shape",
                                   info->shape, "query_code", info->query_code, "status",
                                   info->http_status, "sender", info->sender_fault));
            }
        } else {
            const char *name = json_string_value(json_object_get(rq, "err"));
            const char *msg = json_string_value(json_object_get(rq, "msg"));
            for (size_t i = 0; name && i < sizeof names / sizeof names[0]; i++)
                if (strcmp(names[i].name, name) == 0)
                    out = render(names[i].err, msg ? msg : "");
            if (!out)
                out = json_pack("{s:s}", "error", "unknown error name");
        }
        char *text = json_dumps(out, JSON_COMPACT);
        printf("%s\n", text);
        free(text);
        json_decref(out);
        json_decref(rq);
    }
    free(line);
    xfree(resp.body);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--driver") == 0)
        return driver();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aws_error_lookup_rows),
        cmocka_unit_test(test_aws_error_table_is_well_formed),
        cmocka_unit_test(test_aws_encode_json_error),
        cmocka_unit_test(test_aws_encode_query_error),
        cmocka_unit_test_teardown(test_aws_reply_error_json_query_compatible, teardown),
        cmocka_unit_test_teardown(test_aws_reply_error_json_plain_has_no_query_header, teardown),
        cmocka_unit_test_teardown(test_aws_reply_error_query, teardown),
        cmocka_unit_test_teardown(test_aws_reply_json_and_query, teardown),
        cmocka_unit_test_teardown(test_aws_call_create_fills_the_call, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
