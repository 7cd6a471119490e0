/* SQS MD5 digests. Vectors:
 *  - published by the npm package aws-md5-of-message-attributes (its README's four examples);
 *  - the AWS CLI's SQS examples (awscli/examples/sqs/receive-message.rst and send-message.rst,
 *    digests shown abbreviated as "b8e89563...e088e74f", checked here in full);
 *  - computed by a Python transcription of the documented algorithm that reproduces all of the
 *    above (Unicode, unsorted input, custom types, the AWSTraceHeader system attribute).
 * botocore has no checker for these digests (the Java, Ruby and JS SDKs do). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "services/sqs/sqs_md5.h"

#include <string.h>

static int digest_of(const char *json_text, char out[33])
{
    json_error_t e;
    json_t *j = json_loads(json_text, 0, &e);
    if (!j)
        fail_msg("bad test JSON: %s", e.text);
    int rc = sqs_md5_message_attributes(j, out);
    json_decref(j);
    return rc;
}

static void expect_digest(const char *json_text, const char *want)
{
    char out[33] = "unset";
    assert_int_equal(digest_of(json_text, out), 0);
    assert_string_equal(out, want);
}

static void expect_invalid(const char *json_text)
{
    char out[33] = "unset";
    assert_int_equal(digest_of(json_text, out), -1);
    assert_string_equal(out, "");
}

static void test_body_digest(void **state)
{
    char out[33];
    sqs_md5_hex("", 0, out);
    assert_string_equal(out, "d41d8cd98f00b204e9800998ecf8427e");
    /* awscli send-message example: "51b0a325...39163aa0". */
    const char *body = "Information about the largest city in Any Region.";
    sqs_md5_hex(body, strlen(body), out);
    assert_string_equal(out, "51b0a3256d59467f973009b739163aa0");
    sqs_md5_hex("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 9, out);
    assert_string_equal(out, "00110af8b4393ef3f72c50be5b332bec");
}

static void test_string_attribute(void **state)
{
    expect_digest(
        "{\"attribName1\": {\"DataType\": \"String\", \"StringValue\": \"attribValue 1\"}}",
        "19e27d4e946b072f3f58da80d94fd778");
    /* awscli receive-message example. */
    expect_digest("{\"PostalCode\": {\"DataType\": \"String\", \"StringValue\": \"ABC123\"}}",
                  "b8e89563a83b6381835710c1e088e74f");
}

static void test_custom_number_type(void **state)
{
    expect_digest("{\"customNumberTypeAttrib\": {\"DataType\": \"Number.float\", \"StringValue\": "
                  "\"4563442423554324324264524243.32543234\"}}",
                  "9fe1b90bbd9965bdf77bac517c7d2495");
}

static void test_binary_attribute(void **state)
{
    /* base64("Hello binary world!") */
    expect_digest("{\"binaryAttribute\": {\"DataType\": \"Binary\", \"BinaryValue\": "
                  "\"SGVsbG8gYmluYXJ5IHdvcmxkIQ==\"}}",
                  "31a92b15d92f8db860eda32aceb656c3");
    /* base64("ab") */
    expect_digest("{\"b\": {\"DataType\": \"Binary\", \"BinaryValue\": \"YWI=\"}}",
                  "157ff23bb01d006981c7207fd0741734");
}

static void test_multiple_attributes_in_any_order(void **state)
{
    const char *want = "c932db14a896c663f83c260297d594ff";
    expect_digest(
        "{\"attribName1\": {\"DataType\": \"String\", \"StringValue\": \"attribValue 1\"},"
        " \"customNumberTypeAttrib\": {\"DataType\": \"Number.float\", \"StringValue\": "
        "\"4563442423554324324264524243.32543234\"},"
        " \"binaryAttribute\": {\"DataType\": \"Binary\", \"BinaryValue\": "
        "\"SGVsbG8gYmluYXJ5IHdvcmxkIQ==\"}}",
        want);
    expect_digest(
        "{\"binaryAttribute\": {\"BinaryValue\": \"SGVsbG8gYmluYXJ5IHdvcmxkIQ==\", "
        "\"DataType\": \"Binary\"},"
        " \"customNumberTypeAttrib\": {\"DataType\": \"Number.float\", \"StringValue\": "
        "\"4563442423554324324264524243.32543234\"},"
        " \"attribName1\": {\"DataType\": \"String\", \"StringValue\": \"attribValue 1\"}}",
        want);
    /* awscli receive-message example, City before PostalCode after sorting. */
    expect_digest("{\"PostalCode\": {\"DataType\": \"String\", \"StringValue\": \"ABC123\"},"
                  " \"City\": {\"DataType\": \"String\", \"StringValue\": \"Any City\"}}",
                  "9424c491ff2bbec06ecbc9d226bc3ae7");
}

static void test_mixed_types_sorted_by_bytes(void **state)
{
    /* Upper case sorts before '_' before lower case; custom binary and string types. */
    expect_digest(
        "{\"zeta\": {\"DataType\": \"String\", \"StringValue\": \"last\"}, \"Alpha\": "
        "{\"DataType\": "
        "\"Number\", \"StringValue\": \"-12.5e3\"}, \"_under\": {\"DataType\": \"String.custom\", "
        "\"StringValue\": \"x\"}, \"bin\": {\"DataType\": \"Binary\", \"BinaryValue\": "
        "\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+"
        "P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+"
        "AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6ChoqOkpaanqKmqq6ytrq+wsbKztLW2t7i5uru8vb6/"
        "wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g4eLj5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/"
        "w==\"}, \"Bgif\": {\"DataType\": \"Binary.gif\", \"BinaryValue\": \"R0lGODlh\"}, \"num\": "
        "{\"DataType\": \"Number.float\", \"StringValue\": \"3.14\"}}",
        "9896b4986581ed9c419002882fcac705");
}

static void test_unicode_names_and_values(void **state)
{
    expect_digest(
        "{\"caf\\u00e9\": {\"DataType\": \"String\", \"StringValue\": \"\\u65e5\\u672c"
        "\\u8a9e \\ud83d\\ude00\"}, \"cafe\": {\"DataType\": \"String\", \"StringValue\": "
        "\"plain\"}, \"\\u00c5ngstr\\u00f6m\": {\"DataType\": \"String.\\u00fc\", "
        "\"StringValue\": \"\\u00e9\"}}",
        "d121198cbea4d8b95fb58916608ec17c");
}

static void test_empty_string_value(void **state)
{
    expect_digest("{\"e\": {\"DataType\": \"String\", \"StringValue\": \"\"}}",
                  "6bc73efe9a52418a9ef9300a04f7287d");
}

static void test_system_attribute_trace_header(void **state)
{
    /* MD5OfMessageSystemAttributes: the MessageSystemAttributes map, same algorithm. */
    expect_digest(
        "{\"AWSTraceHeader\": {\"DataType\": \"String\", \"StringValue\": "
        "\"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1\"}}",
        "5ae4d5d7636402d80f4eb6d213245a88");
}

static void test_empty_map_has_no_digest(void **state)
{
    char out[33] = "unset";
    assert_int_equal(digest_of("{}", out), 1);
    assert_string_equal(out, "");
    memcpy(out, "unset", 6);
    assert_int_equal(sqs_md5_message_attributes(NULL, out), 1);
    assert_string_equal(out, "");
}

static void test_invalid_entries(void **state)
{
    expect_invalid("[]");
    expect_invalid("{\"a\": \"String\"}");
    expect_invalid("{\"a\": {\"StringValue\": \"x\"}}");
    expect_invalid("{\"a\": {\"DataType\": \"\", \"StringValue\": \"x\"}}");
    expect_invalid("{\"a\": {\"DataType\": 7, \"StringValue\": \"x\"}}");
    expect_invalid("{\"a\": {\"DataType\": \"String\"}}");
    expect_invalid("{\"a\": {\"DataType\": \"String\", \"StringValue\": 12}}");
    expect_invalid("{\"a\": {\"DataType\": \"Binary\", \"StringValue\": \"x\"}}");
    expect_invalid("{\"a\": {\"DataType\": \"Number\", \"BinaryValue\": \"YWI=\"}}");
    /* Reserved list values only. */
    expect_invalid("{\"a\": {\"DataType\": \"String\", \"StringListValues\": [\"x\"]}}");
    expect_invalid("{\"a\": {\"DataType\": \"Binary\", \"BinaryListValues\": [\"YWI=\"]}}");
    /* One bad entry spoils the map, wherever it sorts. */
    expect_invalid("{\"a\": {\"DataType\": \"String\", \"StringValue\": \"x\"}, \"b\": {}}");
    expect_invalid("{\"z\": {\"DataType\": \"String\", \"StringValue\": \"x\"}, \"b\": {}}");
}

static void test_invalid_base64(void **state)
{
    const char *bad[] = {"YWI", "YW=I", "Y===", "!!!!", "YWI=YWI=", "YW I", "YWI=\n", "=AAA"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *j = json_pack("{s:{s:s,s:s}}", "b", "DataType", "Binary", "BinaryValue", bad[i]);
        char out[33] = "unset";
        if (sqs_md5_message_attributes(j, out) != -1)
            fail_msg("accepted %s", bad[i]);
        json_decref(j);
    }
    /* Empty binary value decodes to zero bytes. */
    char out[33];
    json_t *j = json_pack("{s:{s:s,s:s}}", "b", "DataType", "Binary", "BinaryValue", "");
    assert_int_equal(sqs_md5_message_attributes(j, out), 0);
    json_decref(j);
}

static void test_failure_leaves_the_next_digest_clean(void **state)
{
    char out[33];
    expect_invalid("{\"a\": {\"DataType\": \"Binary\", \"BinaryValue\": \"!!!!\"}}");
    expect_digest("{\"PostalCode\": {\"DataType\": \"String\", \"StringValue\": \"ABC123\"}}",
                  "b8e89563a83b6381835710c1e088e74f");
    sqs_md5_hex("", 0, out);
    assert_string_equal(out, "d41d8cd98f00b204e9800998ecf8427e");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_body_digest),
        cmocka_unit_test(test_string_attribute),
        cmocka_unit_test(test_custom_number_type),
        cmocka_unit_test(test_binary_attribute),
        cmocka_unit_test(test_multiple_attributes_in_any_order),
        cmocka_unit_test(test_mixed_types_sorted_by_bytes),
        cmocka_unit_test(test_unicode_names_and_values),
        cmocka_unit_test(test_empty_string_value),
        cmocka_unit_test(test_system_attribute_trace_header),
        cmocka_unit_test(test_empty_map_has_no_digest),
        cmocka_unit_test(test_invalid_entries),
        cmocka_unit_test(test_invalid_base64),
        cmocka_unit_test(test_failure_leaves_the_next_digest_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
