/* xml_encode_response: exact XML of the SQS responses, escaping, the non-flattened layouts,
 * and a round trip through botocore's QueryParser run by
 * tests/unit/xml_roundtrip.py.
 *
 * `test_xml --driver` reads JSON lines {"op": "SendMessage", "output": {...}} and writes
 * {"xml": "..."} lines for that script. */
#include "common/buf.h"
#include "protocol/model.h"
#include "protocol/xml.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define PROLOG "<?xml version=\"1.0\"?>"
#define NS     " xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\""
#define META   "<ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata>"

static void expect_xml_for(const model_service *svc, const model_operation *op, const char *json,
                           const char *want)
{
    json_t *out = NULL;
    if (json) {
        json_error_t e;
        out = json_loads(json, 0, &e);
        if (!out)
            fail_msg("bad JSON %s: %s", json, e.text);
    }
    buf b = BUF_INIT;
    xml_encode_response(&b, svc, op, out, "req-1");
    if (strcmp(b.data, want) != 0) {
        print_error("got  %s\nwant %s\n", b.data, want);
        fail();
    }
    buf_free(&b);
    json_decref(out);
}

static void expect_xml(const char *opname, const char *json, const char *want)
{
    const model_operation *op = model_find_operation(&model_sqs, opname, strlen(opname));
    assert_non_null(op);
    expect_xml_for(&model_sqs, op, json, want);
}

static void test_xml_send_message(void **state)
{
    expect_xml("SendMessage",
               "{\"MD5OfMessageBody\":\"5d41402abc4b2a76b9719d911017c592\","
               "\"MessageId\":\"6b9e5f1c-0000-4000-8000-000000000001\","
               "\"MD5OfMessageAttributes\":\"e2\",\"SequenceNumber\":\"1\"}",
               PROLOG "<SendMessageResponse" NS "><SendMessageResult>"
                      "<MD5OfMessageBody>5d41402abc4b2a76b9719d911017c592</MD5OfMessageBody>"
                      "<MD5OfMessageAttributes>e2</MD5OfMessageAttributes>"
                      "<MessageId>6b9e5f1c-0000-4000-8000-000000000001</MessageId>"
                      "<SequenceNumber>1</SequenceNumber>"
                      "</SendMessageResult>" META "</SendMessageResponse>");
}

static void test_xml_receive_message(void **state)
{
    expect_xml(
        "ReceiveMessage",
        "{\"Messages\":[{\"MessageId\":\"m1\",\"ReceiptHandle\":\"r1\",\"MD5OfBody\":\"d1\","
        "\"Body\":\"<a href=\\\"x\\\">&'</a>\\r\\n\","
        "\"Attributes\":{\"SenderId\":\"000000000000\",\"ApproximateReceiveCount\":\"1\"},"
        "\"MD5OfMessageAttributes\":\"d2\","
        "\"MessageAttributes\":{\"s\":{\"DataType\":\"String\",\"StringValue\":\"v\"},"
        "\"b\":{\"DataType\":\"Binary\",\"BinaryValue\":\"AAEC\"}}},"
        "{\"MessageId\":\"m2\",\"ReceiptHandle\":\"r2\",\"MD5OfBody\":\"d3\",\"Body\":\"\"}]}",
        PROLOG "<ReceiveMessageResponse" NS "><ReceiveMessageResult>"
               "<Message><MessageId>m1</MessageId><ReceiptHandle>r1</ReceiptHandle>"
               "<MD5OfBody>d1</MD5OfBody>"
               "<Body>&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;&#xD;\n</Body>"
               "<Attribute><Name>SenderId</Name><Value>000000000000</Value></Attribute>"
               "<Attribute><Name>ApproximateReceiveCount</Name><Value>1</Value></Attribute>"
               "<MD5OfMessageAttributes>d2</MD5OfMessageAttributes>"
               "<MessageAttribute><Name>s</Name><Value><StringValue>v</StringValue>"
               "<DataType>String</DataType></Value></MessageAttribute>"
               "<MessageAttribute><Name>b</Name><Value><BinaryValue>AAEC</BinaryValue>"
               "<DataType>Binary</DataType></Value></MessageAttribute>"
               "</Message>"
               "<Message><MessageId>m2</MessageId><ReceiptHandle>r2</ReceiptHandle>"
               "<MD5OfBody>d3</MD5OfBody><Body></Body></Message>"
               "</ReceiveMessageResult>" META "</ReceiveMessageResponse>");
    expect_xml("ReceiveMessage", "{\"Messages\":[]}",
               PROLOG "<ReceiveMessageResponse" NS
                      "><ReceiveMessageResult></ReceiveMessageResult>" META
                      "</ReceiveMessageResponse>");
}

static void test_xml_get_queue_attributes(void **state)
{
    expect_xml("GetQueueAttributes",
               "{\"Attributes\":{\"VisibilityTimeout\":\"30\",\"QueueArn\":\"arn:aws:sqs:r:0:q\"}}",
               PROLOG "<GetQueueAttributesResponse" NS "><GetQueueAttributesResult>"
                      "<Attribute><Name>VisibilityTimeout</Name><Value>30</Value></Attribute>"
                      "<Attribute><Name>QueueArn</Name><Value>arn:aws:sqs:r:0:q</Value></Attribute>"
                      "</GetQueueAttributesResult>" META "</GetQueueAttributesResponse>");
}

static void test_xml_list_queues(void **state)
{
    expect_xml("ListQueues",
               "{\"QueueUrls\":[\"http://h/0/a\",\"http://h/0/b\"],\"NextToken\":\"t\"}",
               PROLOG "<ListQueuesResponse" NS "><ListQueuesResult>"
                      "<QueueUrl>http://h/0/a</QueueUrl><QueueUrl>http://h/0/b</QueueUrl>"
                      "<NextToken>t</NextToken></ListQueuesResult>" META "</ListQueuesResponse>");
    expect_xml("ListDeadLetterSourceQueues", "{\"queueUrls\":[\"u\"]}",
               PROLOG "<ListDeadLetterSourceQueuesResponse" NS "><ListDeadLetterSourceQueuesResult>"
                      "<QueueUrl>u</QueueUrl></ListDeadLetterSourceQueuesResult>" META
                      "</ListDeadLetterSourceQueuesResponse>");
}

static void test_xml_send_message_batch(void **state)
{
    expect_xml("SendMessageBatch",
               "{\"Successful\":[{\"Id\":\"a\",\"MessageId\":\"m\",\"MD5OfMessageBody\":\"d\"}],"
               "\"Failed\":[{\"Id\":\"b\",\"SenderFault\":true,\"Code\":\"InvalidParameterValue\","
               "\"Message\":\"bad\"},{\"Id\":\"c\",\"SenderFault\":false,\"Code\":\"X\"}]}",
               PROLOG "<SendMessageBatchResponse" NS "><SendMessageBatchResult>"
                      "<SendMessageBatchResultEntry><Id>a</Id><MessageId>m</MessageId>"
                      "<MD5OfMessageBody>d</MD5OfMessageBody></SendMessageBatchResultEntry>"
                      "<BatchResultErrorEntry><Id>b</Id><SenderFault>true</SenderFault>"
                      "<Code>InvalidParameterValue</Code><Message>bad</Message>"
                      "</BatchResultErrorEntry>"
                      "<BatchResultErrorEntry><Id>c</Id><SenderFault>false</SenderFault>"
                      "<Code>X</Code></BatchResultErrorEntry>"
                      "</SendMessageBatchResult>" META "</SendMessageBatchResponse>");
}

static void test_xml_list_queue_tags_and_create_queue(void **state)
{
    expect_xml("ListQueueTags", "{\"Tags\":{\"team\":\"a&b\",\"env\":\"\"}}",
               PROLOG "<ListQueueTagsResponse" NS "><ListQueueTagsResult>"
                      "<Tag><Key>team</Key><Value>a&amp;b</Value></Tag>"
                      "<Tag><Key>env</Key><Value></Value></Tag>"
                      "</ListQueueTagsResult>" META "</ListQueueTagsResponse>");
    expect_xml("CreateQueue", "{\"QueueUrl\":\"http://localhost:4566/000000000000/q\"}",
               PROLOG "<CreateQueueResponse" NS "><CreateQueueResult>"
                      "<QueueUrl>http://localhost:4566/000000000000/q</QueueUrl>"
                      "</CreateQueueResult>" META "</CreateQueueResponse>");
}

static void test_xml_operation_without_output(void **state)
{
    expect_xml("DeleteQueue", NULL,
               PROLOG "<DeleteQueueResponse" NS ">" META "</DeleteQueueResponse>");
    expect_xml("DeleteQueue", "{\"Ignored\":1}",
               PROLOG "<DeleteQueueResponse" NS ">" META "</DeleteQueueResponse>");
    /* An operation with an output but nothing in it. */
    expect_xml("CreateQueue", NULL,
               PROLOG "<CreateQueueResponse" NS "><CreateQueueResult></CreateQueueResult>" META
                      "</CreateQueueResponse>");
}

static void test_xml_message_move_tasks(void **state)
{
    expect_xml("ListMessageMoveTasks",
               "{\"Results\":[{\"TaskHandle\":\"h\",\"Status\":\"RUNNING\",\"SourceArn\":\"s\","
               "\"ApproximateNumberOfMessagesMoved\":5,\"ApproximateNumberOfMessagesToMove\":10,"
               "\"MaxNumberOfMessagesPerSecond\":2,\"StartedTimestamp\":1700000000000}]}",
               PROLOG "<ListMessageMoveTasksResponse" NS "><ListMessageMoveTasksResult>"
                      "<ListMessageMoveTasksResultEntry><TaskHandle>h</TaskHandle>"
                      "<Status>RUNNING</Status><SourceArn>s</SourceArn>"
                      "<MaxNumberOfMessagesPerSecond>2</MaxNumberOfMessagesPerSecond>"
                      "<ApproximateNumberOfMessagesMoved>5</ApproximateNumberOfMessagesMoved>"
                      "<ApproximateNumberOfMessagesToMove>10</ApproximateNumberOfMessagesToMove>"
                      "<StartedTimestamp>1700000000000</StartedTimestamp>"
                      "</ListMessageMoveTasksResultEntry>"
                      "</ListMessageMoveTasksResult>" META "</ListMessageMoveTasksResponse>");
    expect_xml("CancelMessageMoveTask", "{\"ApproximateNumberOfMessagesMoved\":3}",
               PROLOG "<CancelMessageMoveTaskResponse" NS "><CancelMessageMoveTaskResult>"
                      "<ApproximateNumberOfMessagesMoved>3</ApproximateNumberOfMessagesMoved>"
                      "</CancelMessageMoveTaskResult>" META "</CancelMessageMoveTaskResponse>");
}

static void test_xml_replaces_what_xml_cannot_carry(void **state)
{
    json_t *out = json_object();
    /* NUL, a C0 control, U+FFFE, then valid multi-byte text and TAB/LF kept as they are. */
    json_object_set_new(out, "QueueUrl",
                        json_stringn("a\0b\x01"
                                     "c\xef\xbf\xbe"
                                     "d\xe2\x82\xac\xf0\x9f\x98\x80\t\n",
                                     18));
    buf b = BUF_INIT;
    const model_operation *op = model_find_operation(&model_sqs, "CreateQueue", 11);
    xml_encode_response(&b, &model_sqs, op, out, "r");
    assert_non_null(strstr(b.data, "<QueueUrl>a\xef\xbf\xbd"
                                   "b\xef\xbf\xbd"
                                   "c\xef\xbf\xbd"
                                   "d\xe2\x82\xac\xf0\x9f\x98\x80\t\n</QueueUrl>"));
    buf_free(&b);
    json_decref(out);
    /* Invalid UTF-8 (built without jansson's check) is replaced byte by byte. */
    out = json_object();
    json_object_set_new(out, "QueueUrl", json_stringn_nocheck("x\xff\xc3(\xed\xa0\x80y", 8));
    xml_encode_response(&b, &model_sqs, op, out, "r");
    assert_non_null(strstr(b.data, "<QueueUrl>x\xef\xbf\xbd\xef\xbf\xbd(\xef\xbf\xbd\xef\xbf\xbd"
                                   "\xef\xbf\xbdy</QueueUrl>"));
    buf_free(&b);
    json_decref(out);
}

static void test_xml_skips_nulls_and_mismatched_types(void **state)
{
    expect_xml("SendMessageBatch",
               "{\"Successful\":[{\"Id\":null,\"MessageId\":{\"x\":1}},5,null],"
               "\"Failed\":{\"not\":\"a list\"},\"Unknown\":[1]}",
               PROLOG "<SendMessageBatchResponse" NS "><SendMessageBatchResult>"
                      "<SendMessageBatchResultEntry></SendMessageBatchResultEntry>"
                      "</SendMessageBatchResult>" META "</SendMessageBatchResponse>");
    /* Numbers and booleans where strings are modelled are written as text. */
    expect_xml("GetQueueAttributes", "{\"Attributes\":{\"A\":30,\"B\":true,\"C\":[1]}}",
               PROLOG "<GetQueueAttributesResponse" NS "><GetQueueAttributesResult>"
                      "<Attribute><Name>A</Name><Value>30</Value></Attribute>"
                      "<Attribute><Name>B</Name><Value>true</Value></Attribute>"
                      "</GetQueueAttributesResult>" META "</GetQueueAttributesResponse>");
}

/* ---- a model with the non-flattened layouts ----------------------------------------- */

static const model_shape t_string = {.name = "String", .type = SHAPE_STRING};
static const model_shape t_int = {.name = "Integer", .type = SHAPE_INTEGER};
static const model_shape t_double = {.name = "Double", .type = SHAPE_DOUBLE};
static const model_shape t_bool = {.name = "Boolean", .type = SHAPE_BOOLEAN};
static const model_shape t_time = {.name = "Timestamp", .type = SHAPE_TIMESTAMP};
static const model_shape t_list = {
    .name = "Names", .type = SHAPE_LIST, .member = &t_string, .member_location_name = "member"};
static const model_shape t_map = {.name = "Map",
                                  .type = SHAPE_MAP,
                                  .key = &t_string,
                                  .key_location_name = "key",
                                  .value = &t_int,
                                  .value_location_name = "value"};
static const model_shape t_grid = {
    .name = "Grid", .type = SHAPE_LIST, .member = &t_list, .member_location_name = "row"};
static const model_member t_members[] = {
    {"Names", "Names", &t_list, 0},   {"Counts", "Counts", &t_map, 0}, {"Grid", "Grid", &t_grid, 0},
    {"Ratio", "Ratio", &t_double, 0}, {"On", "On", &t_bool, 0},        {"When", "When", &t_time, 0},
    {"Big", "Big", &t_int, 0},
};
static const model_shape t_output = {
    .name = "Out", .type = SHAPE_STRUCTURE, .members = t_members, .nmembers = 7};
static const model_operation t_op = {"Describe", NULL, &t_output, "DescribeResult"};
static const model_service t_svc = {.name = "t", .xml_namespace = "urn:t&\"x\""};

static void test_xml_non_flattened_lists_maps_and_numbers(void **state)
{
    expect_xml_for(&t_svc, &t_op,
                   "{\"Names\":[\"a\",\"b\"],\"Counts\":{\"x\":1,\"y\":2},"
                   "\"Grid\":[[\"p\"],[]],\"Ratio\":0.1,\"On\":false,"
                   "\"When\":1704164645.25,\"Big\":-9007199254740993}",
                   PROLOG "<DescribeResponse xmlns=\"urn:t&amp;&quot;x&quot;\"><DescribeResult>"
                          "<Names><member>a</member><member>b</member></Names>"
                          "<Counts><entry><key>x</key><value>1</value></entry>"
                          "<entry><key>y</key><value>2</value></entry></Counts>"
                          "<Grid><row><member>p</member></row><row></row></Grid>"
                          "<Ratio>0.1</Ratio><On>false</On>"
                          "<When>2024-01-02T03:04:05.250Z</When>"
                          "<Big>-9007199254740993</Big>"
                          "</DescribeResult><ResponseMetadata><RequestId>req-1</RequestId>"
                          "</ResponseMetadata></DescribeResponse>");
    expect_xml_for(&t_svc, &t_op, "{\"Names\":[],\"Ratio\":1e300,\"When\":0,\"Big\":2.0}",
                   PROLOG "<DescribeResponse xmlns=\"urn:t&amp;&quot;x&quot;\"><DescribeResult>"
                          "<Names></Names><Ratio>1e+300</Ratio>"
                          "<When>1970-01-01T00:00:00.000Z</When><Big>2</Big>"
                          "</DescribeResult><ResponseMetadata><RequestId>req-1</RequestId>"
                          "</ResponseMetadata></DescribeResponse>");
}

/* ---- botocore round trip ------------------------------------------------------------ */

static char self_path[4096];

static void test_xml_round_trips_through_botocore(void **state)
{
    /* The script sits next to this file (CMake compiles it by absolute path). */
    char script[4096];
    snprintf(script, sizeof script, "%s", __FILE__);
    char *base = strrchr(script, '/');
    snprintf(base ? base + 1 : script, sizeof script - (size_t)(base ? base + 1 - script : 0),
             "xml_roundtrip.py");
    if (access("/usr/bin/python3", X_OK) != 0 || access(script, R_OK) != 0 ||
        system("/usr/bin/python3 -c 'import botocore' 2>/dev/null") != 0) {
        /* make test installs python3-botocore (scripts/install-deps.sh test): its absence is
         * a broken setup, not a reason to pass without checking. */
        fail_msg("/usr/bin/python3 with botocore, or %s, is not available", script);
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", self_path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' --bin-dir '%s'", script, dir);
    int rc = system(cmd);
    assert_true(WIFEXITED(rc));
    assert_int_equal(WEXITSTATUS(rc), 0);
}

/* ---- driver for xml_roundtrip.py ---------------------------------------------------- */

static int driver(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        json_error_t e;
        json_t *req = json_loadb(line, (size_t)n, 0, &e);
        const char *opname = json_string_value(json_object_get(req, "op"));
        const model_operation *op =
            opname ? model_find_operation(&model_sqs, opname, strlen(opname)) : NULL;
        json_t *resp;
        if (!op) {
            resp = json_pack("{s:s}", "error", "unknown op");
        } else {
            buf b = BUF_INIT;
            xml_encode_response(&b, &model_sqs, op, json_object_get(req, "output"), "req-1");
            resp = json_pack("{s:s%}", "xml", b.data, b.len);
            buf_free(&b);
        }
        char *out = json_dumps(resp, JSON_COMPACT);
        printf("%s\n", out);
        free(out);
        json_decref(resp);
        json_decref(req);
    }
    free(line);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--driver") == 0)
        return driver();
    ssize_t n = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
    self_path[n > 0 ? n : 0] = '\0';
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xml_send_message),
        cmocka_unit_test(test_xml_receive_message),
        cmocka_unit_test(test_xml_get_queue_attributes),
        cmocka_unit_test(test_xml_list_queues),
        cmocka_unit_test(test_xml_send_message_batch),
        cmocka_unit_test(test_xml_list_queue_tags_and_create_queue),
        cmocka_unit_test(test_xml_operation_without_output),
        cmocka_unit_test(test_xml_message_move_tasks),
        cmocka_unit_test(test_xml_replaces_what_xml_cannot_carry),
        cmocka_unit_test(test_xml_skips_nulls_and_mismatched_types),
        cmocka_unit_test(test_xml_non_flattened_lists_maps_and_numbers),
        cmocka_unit_test(test_xml_round_trips_through_botocore),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
