/* query_to_json: AWS Query forms -> operation input JSON, against the generated SQS model and a
 * small hand-written model with the non-flattened (SNS-style) layouts.
 *
 * `test_query --driver` reads JSON lines {"op": "SendMessage", "body": "<form>"} and writes
 * {"input": {...}} or {"error": "..."} lines: tests/unit/xml_roundtrip.py uses it to check
 * forms serialized by botocore. */
#include "protocol/form.h"
#include "protocol/model.h"
#include "protocol/query.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

static char err[256];

static json_t *decode_shape(const model_shape *in, const char *body)
{
    form f;
    assert_int_equal(form_parse(&f, body, strlen(body), 100000), 0);
    json_t *j = query_to_json(&f, in, err, sizeof err);
    form_free(&f);
    return j;
}

static json_t *decode(const char *op, const char *body)
{
    const model_operation *o = model_find_operation(&model_sqs, op, strlen(op));
    assert_non_null(o);
    return decode_shape(o->input, body);
}

static void expect(json_t *got, const char *want_text)
{
    json_error_t e;
    json_t *want = json_loads(want_text, 0, &e);
    if (!want)
        fail_msg("bad expectation %s: %s", want_text, e.text);
    if (!got)
        fail_msg("decode failed: %s", err);
    if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
        char *w = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
        print_error("got  %s\nwant %s\n", g, w);
        free(g);
        free(w);
        fail();
    }
    json_decref(got);
    json_decref(want);
}

/* ---- SQS shapes --------------------------------------------------------------------- */

static void test_query_scalars_and_integers(void **state)
{
    expect(decode("SendMessage", "Action=SendMessage&Version=2012-11-05&QueueUrl=http%3A%2F%2Fq"
                                 "&MessageBody=hi&DelaySeconds=5"),
           "{\"QueueUrl\":\"http://q\",\"MessageBody\":\"hi\",\"DelaySeconds\":5}");
    json_t *j = decode("ReceiveMessage", "QueueUrl=u&MaxNumberOfMessages=-3&WaitTimeSeconds=%2B20");
    assert_true(json_is_integer(json_object_get(j, "MaxNumberOfMessages")));
    expect(j, "{\"QueueUrl\":\"u\",\"MaxNumberOfMessages\":-3,\"WaitTimeSeconds\":20}");
}

static void test_query_rejects_bad_integers(void **state)
{
    const char *bad[] = {"DelaySeconds=abc",
                         "DelaySeconds=",
                         "DelaySeconds=1.5",
                         "DelaySeconds=%205",
                         "DelaySeconds=99999999999999999999",
                         "DelaySeconds=-"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char body[128];
        snprintf(body, sizeof body, "QueueUrl=u&MessageBody=b&%s", bad[i]);
        assert_null(decode("SendMessage", body));
        assert_non_null(strstr(err, "DelaySeconds"));
    }
    expect(decode("SendMessage", "DelaySeconds=9223372036854775807"),
           "{\"DelaySeconds\":9223372036854775807}");
    expect(decode("SendMessage", "DelaySeconds=-9223372036854775808"),
           "{\"DelaySeconds\":-9223372036854775808}");
    assert_null(decode("SendMessage", "DelaySeconds=9223372036854775808"));
}

static void test_query_flattened_lists_of_strings(void **state)
{
    expect(decode("ReceiveMessage",
                  "QueueUrl=u&AttributeName.1=All&AttributeName.2=SenderId"
                  "&MessageAttributeName.1=a.b&MessageSystemAttributeName.1=SentTimestamp"),
           "{\"QueueUrl\":\"u\",\"AttributeNames\":[\"All\",\"SenderId\"],"
           "\"MessageAttributeNames\":[\"a.b\"],"
           "\"MessageSystemAttributeNames\":[\"SentTimestamp\"]}");
    expect(decode("GetQueueAttributes", "QueueUrl=u&AttributeName.1=All"),
           "{\"QueueUrl\":\"u\",\"AttributeNames\":[\"All\"]}");
    expect(decode("UntagQueue", "QueueUrl=u&TagKey.1=a&TagKey.2=b"),
           "{\"QueueUrl\":\"u\",\"TagKeys\":[\"a\",\"b\"]}");
    expect(decode("AddPermission", "AWSAccountId.1=1&ActionName.1=SendMessage&Label=l"),
           "{\"AWSAccountIds\":[\"1\"],\"Actions\":[\"SendMessage\"],\"Label\":\"l\"}");
}

static void test_query_list_order_follows_index_with_gaps(void **state)
{
    expect(decode("GetQueueAttributes", "AttributeName.10=c&AttributeName.2=a&AttributeName.3=b"),
           "{\"AttributeNames\":[\"a\",\"b\",\"c\"]}");
}

static void test_query_rejects_bad_indices(void **state)
{
    const char *bad[] = {"AttributeName.0=x",          "AttributeName.-1=x", "AttributeName.a=x",
                         "AttributeName.=x",           "AttributeName.1x=x", "Attribute.0.Name=x",
                         "AttributeName.99999999999=x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *op = strncmp(bad[i], "Attribute.", 10) == 0 ? "CreateQueue" : "ReceiveMessage";
        assert_null(decode(op, bad[i]));
        assert_non_null(strstr(err, "index"));
    }
}

static void test_query_explicit_empty_list(void **state)
{
    expect(decode("GetQueueAttributes", "QueueUrl=u&AttributeNames="),
           "{\"QueueUrl\":\"u\",\"AttributeNames\":[]}");
}

static void test_query_flattened_maps(void **state)
{
    expect(decode("CreateQueue", "QueueName=q&Attribute.1.Name=DelaySeconds&Attribute.1.Value=5"
                                 "&Attribute.2.Name=FifoQueue&Attribute.2.Value=true"
                                 "&Tag.1.Key=team&Tag.1.Value=a%20b&Tag.2.Key=empty&Tag.2.Value="),
           "{\"QueueName\":\"q\",\"Attributes\":{\"DelaySeconds\":\"5\",\"FifoQueue\":\"true\"},"
           "\"tags\":{\"team\":\"a b\",\"empty\":\"\"}}");
    expect(decode("TagQueue", "QueueUrl=u&Tag.1.Key=k&Tag.1.Value=v"),
           "{\"QueueUrl\":\"u\",\"Tags\":{\"k\":\"v\"}}");
    /* Value before Name, entries without a key or a value are dropped. */
    expect(decode("SetQueueAttributes", "Attribute.2.Value=v2&Attribute.2.Name=n2"
                                        "&Attribute.1.Name=onlyname&Attribute.3.Value=onlyvalue"),
           "{\"Attributes\":{\"n2\":\"v2\"}}");
}

static void test_query_maps_of_structures(void **state)
{
    expect(decode("SendMessage",
                  "QueueUrl=u&MessageBody=b"
                  "&MessageAttribute.1.Name=s&MessageAttribute.1.Value.DataType=String"
                  "&MessageAttribute.1.Value.StringValue=x"
                  "&MessageAttribute.2.Name=bin&MessageAttribute.2.Value.DataType=Binary"
                  "&MessageAttribute.2.Value.BinaryValue=AAEC%2F%2B%3D%3D"
                  "&MessageSystemAttribute.1.Name=AWSTraceHeader"
                  "&MessageSystemAttribute.1.Value.DataType=String"
                  "&MessageSystemAttribute.1.Value.StringValue=Root%3D1"),
           "{\"QueueUrl\":\"u\",\"MessageBody\":\"b\","
           "\"MessageAttributes\":{\"s\":{\"DataType\":\"String\",\"StringValue\":\"x\"},"
           "\"bin\":{\"DataType\":\"Binary\",\"BinaryValue\":\"AAEC/+==\"}},"
           "\"MessageSystemAttributes\":{\"AWSTraceHeader\":{\"DataType\":\"String\","
           "\"StringValue\":\"Root=1\"}}}");
    /* Flattened lists inside the attribute value. */
    expect(
        decode("SendMessage", "MessageAttribute.1.Name=l&MessageAttribute.1.Value.DataType=S"
                              "&MessageAttribute.1.Value.StringListValue.2=b"
                              "&MessageAttribute.1.Value.StringListValue.1=a"),
        "{\"MessageAttributes\":{\"l\":{\"DataType\":\"S\",\"StringListValues\":[\"a\",\"b\"]}}}");
}

static void test_query_flattened_lists_of_structures(void **state)
{
    expect(
        decode("SendMessageBatch",
               "QueueUrl=u"
               "&SendMessageBatchRequestEntry.2.Id=b&SendMessageBatchRequestEntry.2.MessageBody=B"
               "&SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=A"
               "&SendMessageBatchRequestEntry.1.DelaySeconds=3"
               "&SendMessageBatchRequestEntry.1.MessageAttribute.1.Name=n"
               "&SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType=Number"
               "&SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue=1"
               "&SendMessageBatchRequestEntry.5.Id=e&SendMessageBatchRequestEntry.5.MessageBody=E"),
        "{\"QueueUrl\":\"u\",\"Entries\":["
        "{\"Id\":\"a\",\"MessageBody\":\"A\",\"DelaySeconds\":3,"
        "\"MessageAttributes\":{\"n\":{\"DataType\":\"Number\",\"StringValue\":\"1\"}}},"
        "{\"Id\":\"b\",\"MessageBody\":\"B\"},{\"Id\":\"e\",\"MessageBody\":\"E\"}]}");
    expect(decode("DeleteMessageBatch", "DeleteMessageBatchRequestEntry.1.Id=x"
                                        "&DeleteMessageBatchRequestEntry.1.ReceiptHandle=r"),
           "{\"Entries\":[{\"Id\":\"x\",\"ReceiptHandle\":\"r\"}]}");
    expect(decode("ChangeMessageVisibilityBatch",
                  "ChangeMessageVisibilityBatchRequestEntry.1.Id=x"
                  "&ChangeMessageVisibilityBatchRequestEntry.1.ReceiptHandle=r"
                  "&ChangeMessageVisibilityBatchRequestEntry.1.VisibilityTimeout=30"),
           "{\"Entries\":[{\"Id\":\"x\",\"ReceiptHandle\":\"r\",\"VisibilityTimeout\":30}]}");
}

static void test_query_ignores_unknown_keys(void **state)
{
    expect(decode("SendMessageBatch",
                  "Action=SendMessageBatch&Version=2012-11-05&Foo=1&QueueUrl.x=1"
                  "&SendMessageBatchRequestEntry.1.Nope=1&SendMessageBatchRequestEntry.2.Id=b"
                  "&SendMessageBatchRequestEntry.2.Id.deeper=1&SendMessageBatchRequestEntry=x"
                  "&SendMessageBatchRequestEntry.3.MessageAttribute.1.Bogus=1"
                  "&SendMessageBatchRequestEntry.4.MessageAttribute.1.Value.Bogus=1"),
           "{\"Entries\":[{\"Id\":\"b\"}]}");
    expect(decode("DeleteQueue", "QueueUrl=u&X-Amz-Date=20240101T000000Z"), "{\"QueueUrl\":\"u\"}");
}

static void test_query_first_duplicate_wins(void **state)
{
    expect(decode("CreateQueue", "QueueName=a&QueueName=b&Attribute.1.Name=x&Attribute.1.Name=y"
                                 "&Attribute.1.Value=1"),
           "{\"QueueName\":\"a\",\"Attributes\":{\"x\":\"1\"}}");
}

static void test_query_strings_keep_their_bytes(void **state)
{
    json_t *j = decode("SendMessage", "MessageBody=%E2%82%AC%F0%9F%98%80+%0D%0A%00%09%3C%26");
    assert_non_null(j);
    json_t *b = json_object_get(j, "MessageBody");
    assert_int_equal(json_string_length(b), 14);
    assert_memory_equal(json_string_value(b), "\xe2\x82\xac\xf0\x9f\x98\x80 \r\n\0\t<&", 14);
    json_decref(j);
    assert_null(decode("SendMessage", "MessageBody=%FF%FE"));
    assert_non_null(strstr(err, "UTF-8"));
    /* Boundaries of RFC 3629: U+7FF, U+800, U+FFFF, U+10000, U+10FFFF are fine. */
    expect(decode("SendMessage", "MessageBody=%DF%BF%E0%A0%80%EF%BF%BF%F0%90%80%80%F4%8F%BF%BF"),
           "{\"MessageBody\":\"\\u07ff\\u0800\\uffff\\ud800\\udc00\\udbff\\udfff\"}");
    /* Overlongs, surrogates, above U+10FFFF, truncated or stray continuation bytes are not,
     * also past a run of ASCII. */
    const char *bad[] = {"%C0%80",
                         "%C1%BF",
                         "%E0%9F%BF",
                         "%ED%A0%80",
                         "%ED%BF%BF",
                         "%F0%8F%BF%BF",
                         "%F4%90%80%80",
                         "%F5%80%80%80",
                         "%E2%82",
                         "%80",
                         "abcdefghijklmnop%E2%82",
                         "abcdefgh%BF12345678"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char body[128];
        snprintf(body, sizeof body, "MessageBody=%s", bad[i]);
        assert_null(decode("SendMessage", body));
    }
    assert_null(decode("CreateQueue", "Attribute.1.Name=%C3&Attribute.1.Value=1"));
}

static void test_query_batch_of_thousands_in_reverse_order(void **state)
{
    enum { N = 3000 };
    char *body = malloc((size_t)N * 120);
    size_t len = 0;
    for (int i = N; i >= 1; i--)
        len += (size_t)sprintf(body + len,
                               "%sSendMessageBatchRequestEntry.%d.Id=e%d"
                               "&SendMessageBatchRequestEntry.%d.MessageBody=m",
                               len ? "&" : "", i, i, i);
    json_t *j = decode("SendMessageBatch", body);
    assert_non_null(j);
    json_t *entries = json_object_get(j, "Entries");
    assert_int_equal(json_array_size(entries), N);
    for (int i = 0; i < N; i++) {
        char id[16];
        snprintf(id, sizeof id, "e%d", i + 1);
        assert_string_equal(json_string_value(json_object_get(json_array_get(entries, i), "Id")),
                            id);
        assert_int_equal(json_object_size(json_array_get(entries, i)), 2);
    }
    json_decref(j);
    free(body);
}

static void test_query_operation_without_input_members(void **state)
{
    expect(decode("ListQueues", "Action=ListQueues"), "{}");
    expect(decode("ListQueues", "QueueNamePrefix=p&MaxResults=10&NextToken=t"),
           "{\"QueueNamePrefix\":\"p\",\"MaxResults\":10,\"NextToken\":\"t\"}");
    expect(decode("StartMessageMoveTask", "SourceArn=a&DestinationArn=b"
                                          "&MaxNumberOfMessagesPerSecond=50"),
           "{\"SourceArn\":\"a\",\"DestinationArn\":\"b\",\"MaxNumberOfMessagesPerSecond\":50}");
}

/* ---- model lookups ------------------------------------------------------------------ */

static void test_model_finds_operations_and_members(void **state)
{
    for (size_t i = 0; i < model_sqs.nops; i++) {
        const char *name = model_sqs.ops[i].name;
        if (i)
            assert_true(strcmp(model_sqs.ops[i - 1].name, name) < 0);
        assert_ptr_equal(model_find_operation(&model_sqs, name, strlen(name)), &model_sqs.ops[i]);
    }
    assert_int_equal(model_sqs.nops, 23);
    assert_null(model_find_operation(&model_sqs, "Send", 4));
    assert_null(model_find_operation(&model_sqs, "SendMessageX", 12));
    assert_null(model_find_operation(&model_sqs, "", 0));
    assert_null(model_find_operation(&model_sqs, "SendMessage\0x", 13));
    const model_operation *op = model_find_operation(&model_sqs, "SendMessageBatch", 11);
    assert_non_null(op);
    assert_string_equal(op->name, "SendMessage");
    assert_string_equal(op->result_wrapper, "SendMessageResult");
    assert_null(model_find_operation(&model_sqs, "DeleteQueue", 11)->output);
    assert_string_equal(model_sqs.json_target_prefix, "AmazonSQS");
    assert_string_equal(model_sqs.json_type_prefix, "com.amazonaws.sqs#");
    assert_string_equal(model_sqs.xml_namespace, "http://queue.amazonaws.com/doc/2012-11-05/");

    const model_member *m = model_find_member(op->input, "MessageAttributes", 17);
    assert_non_null(m);
    assert_string_equal(m->location_name, "MessageAttribute");
    assert_true(m->flattened);
    assert_string_equal(m->shape->key_location_name, "Name");
    assert_string_equal(m->shape->value_location_name, "Value");
    assert_null(model_find_member(op->input, "MessageAttribute", 16));
    assert_null(model_find_member(op->input, "MessageAttributesX", 18));
    assert_null(model_find_member(m->shape, "x", 1)); /* not a structure */
    op = model_find_operation(&model_sqs, "ReceiveMessage", 14);
    m = model_find_member(op->input, "MessageSystemAttributeNames", 27);
    assert_non_null(m);
    assert_true(m->flattened);
    assert_string_equal(m->shape->member_location_name, "MessageSystemAttributeName");
    m = model_find_member(model_find_operation(&model_sqs, "TagQueue", 8)->input, "Tags", 4);
    assert_string_equal(m->location_name, "Tag"); /* from the TagMap shape */
}

/* ---- a model with the other layouts ------------------------------------------------- */

static const model_shape t_string = {.name = "String", .type = SHAPE_STRING};
static const model_shape t_bool = {.name = "Boolean", .type = SHAPE_BOOLEAN};
static const model_shape t_double = {.name = "Double", .type = SHAPE_DOUBLE};
static const model_shape t_time = {.name = "Timestamp", .type = SHAPE_TIMESTAMP};
static const model_shape t_blob = {.name = "Blob", .type = SHAPE_BLOB};
static const model_shape t_list = {
    .name = "Names", .type = SHAPE_LIST, .member = &t_string, .member_location_name = "member"};
static const model_shape t_list_named = {
    .name = "Named", .type = SHAPE_LIST, .member = &t_string, .member_location_name = "Item"};
static const model_shape t_map = {.name = "Map",
                                  .type = SHAPE_MAP,
                                  .key = &t_string,
                                  .key_location_name = "key",
                                  .value = &t_string,
                                  .value_location_name = "value"};
static const model_shape t_list_of_lists = {
    .name = "Grid", .type = SHAPE_LIST, .member = &t_list, .member_location_name = "member"};
static const model_member t_entry_members[] = {
    {"Flag", "Flag", &t_bool, 0},
    {"Tags", "Tags", &t_list, 0},
};
static const model_shape t_entry = {
    .name = "Entry", .type = SHAPE_STRUCTURE, .members = t_entry_members, .nmembers = 2};
static const model_shape t_entries = {
    .name = "Entries", .type = SHAPE_LIST, .member = &t_entry, .member_location_name = "member"};
static const model_member t_members[] = {
    {"Names", "Names", &t_list, 0},        {"Named", "Named", &t_list_named, 0},
    {"Attrs", "Attributes", &t_map, 0},    {"Grid", "Grid", &t_list_of_lists, 0},
    {"Entries", "Entries", &t_entries, 0}, {"Flag", "Flag", &t_bool, 0},
    {"Ratio", "Ratio", &t_double, 0},      {"When", "When", &t_time, 0},
    {"Data", "Data", &t_blob, 0},
};
static const model_shape t_input = {
    .name = "Input", .type = SHAPE_STRUCTURE, .members = t_members, .nmembers = 9};

static void test_query_non_flattened_lists_and_maps(void **state)
{
    expect(decode_shape(&t_input, "Names.member.2=b&Names.member.1=a&Named.Item.1=x"
                                  "&Attributes.entry.1.key=k&Attributes.entry.1.value=v"
                                  "&Attributes.entry.2.value=w&Attributes.entry.2.key=l"
                                  "&Grid.member.1.member.2=y&Grid.member.1.member.1=x"
                                  "&Grid.member.2.member.1=z"
                                  "&Entries.member.1.Flag=true&Entries.member.1.Tags.member.1=t"),
           "{\"Names\":[\"a\",\"b\"],\"Named\":[\"x\"],\"Attrs\":{\"k\":\"v\",\"l\":\"w\"},"
           "\"Grid\":[[\"x\",\"y\"],[\"z\"]],\"Entries\":[{\"Flag\":true,\"Tags\":[\"t\"]}]}");
    /* The wrong wrapper names mean nothing. */
    expect(decode_shape(&t_input,
                        "Names.1=a&Names.item.1=b&Attributes.1.key=k&Attributes.entry.1.Key=k"),
           "{}");
    assert_null(decode_shape(&t_input, "Names.member.0=a"));
    expect(decode_shape(&t_input, "Names="), "{\"Names\":[]}");
}

static void test_query_booleans_doubles_timestamps_blobs(void **state)
{
    expect(decode_shape(&t_input, "Flag=TRUE&Ratio=0.25&When=2024-01-02T03:04:05Z&Data=AAE%3D"),
           "{\"Flag\":true,\"Ratio\":0.25,\"When\":1704164645,\"Data\":\"AAE=\"}");
    expect(decode_shape(&t_input, "Flag=false&Ratio=-3&When=1704164645.5"),
           "{\"Flag\":false,\"Ratio\":-3.0,\"When\":1704164645.5}");
    expect(decode_shape(&t_input, "When=2024-01-02T04:04:05.250%2B01:00"),
           "{\"When\":1704164645.25}");
    const char *bad[] = {"Flag=yes",
                         "Flag=",
                         "Ratio=abc",
                         "Ratio=1e999",
                         "Ratio=%201",
                         "When=yesterday",
                         "When=2024-13-01T00:00:00Z",
                         "When=2024-01-01"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_null(decode_shape(&t_input, bad[i]));
        assert_non_null(strstr(err, "is invalid"));
    }
}

/* ---- performance -------------------------------------------------------------------- */

static void test_query_send_message_1k_decodes_in_microseconds(void **state)
{
    char body[2048];
    int n = snprintf(body, sizeof body,
                     "Action=SendMessage&Version=2012-11-05&QueueUrl="
                     "http%%3A%%2F%%2Flocalhost%%3A4566%%2F000000000000%%2Fq"
                     "&MessageBody=");
    memset(body + n, 'x', 1024);
    strcpy(body + n + 1024, "&DelaySeconds=0");
    size_t len = strlen(body);
    const model_operation *op = model_find_operation(&model_sqs, "SendMessage", 11);
    enum { ITER = 20000 };
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < ITER; i++) {
        form f;
        assert_int_equal(form_parse(&f, body, len, 4096), 0);
        json_t *j = query_to_json(&f, op->input, err, sizeof err);
        form_free(&f);
        assert_non_null(j);
        json_decref(j);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double us =
        ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / ITER / 1000.0;
    print_message("SendMessage (1 KiB body): form_parse + query_to_json = %.2f us\n", us);
    assert_true(us < 200.0); /* generous: sanitizer builds on a shared machine */
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
        json_t *body = json_object_get(req, "body");
        json_t *resp;
        const model_operation *op =
            opname ? model_find_operation(&model_sqs, opname, strlen(opname)) : NULL;
        form f;
        if (!op || !json_is_string(body)) {
            resp = json_pack("{s:s}", "error", "bad request line");
        } else if (form_parse(&f, json_string_value(body), json_string_length(body), 100000)) {
            resp = json_pack("{s:s}", "error", "malformed form");
        } else {
            json_t *in = query_to_json(&f, op->input, err, sizeof err);
            form_free(&f);
            resp = in ? json_pack("{s:o}", "input", in) : json_pack("{s:s}", "error", err);
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
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_scalars_and_integers),
        cmocka_unit_test(test_query_rejects_bad_integers),
        cmocka_unit_test(test_query_flattened_lists_of_strings),
        cmocka_unit_test(test_query_list_order_follows_index_with_gaps),
        cmocka_unit_test(test_query_rejects_bad_indices),
        cmocka_unit_test(test_query_explicit_empty_list),
        cmocka_unit_test(test_query_flattened_maps),
        cmocka_unit_test(test_query_maps_of_structures),
        cmocka_unit_test(test_query_flattened_lists_of_structures),
        cmocka_unit_test(test_query_ignores_unknown_keys),
        cmocka_unit_test(test_query_first_duplicate_wins),
        cmocka_unit_test(test_query_strings_keep_their_bytes),
        cmocka_unit_test(test_query_batch_of_thousands_in_reverse_order),
        cmocka_unit_test(test_query_operation_without_input_members),
        cmocka_unit_test(test_model_finds_operations_and_members),
        cmocka_unit_test(test_query_non_flattened_lists_and_maps),
        cmocka_unit_test(test_query_booleans_doubles_timestamps_blobs),
        cmocka_unit_test(test_query_send_message_1k_decodes_in_microseconds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
