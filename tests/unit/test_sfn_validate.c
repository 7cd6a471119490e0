/* The Amazon States Language validator: JSONPath machines as before, JSONata states
 * ("QueryLanguage" at the top level and per state, the fields each language allows, every
 * "{% %}" expression compiled), variables (Assign and AWS's variable name rules), and the
 * codes, messages and locations of the diagnostics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "services/stepfunctions/sfn_validate.h"

#include <stdio.h>
#include <string.h>

static void print_diags(const json_t *diags)
{
    char *s = json_dumps(diags, JSON_INDENT(1));
    print_message("diagnostics: %s\n", s);
    free(s);
}

static void assert_valid(const char *definition)
{
    json_t *diags = sfn_definition_validate(definition, NULL);
    if (json_array_size(diags) != 0) {
        print_diags(diags);
        fail_msg("expected a valid definition: %s", definition);
    }
    json_decref(diags);
}

/* Asserts that validating `definition` yields a diagnostic with this code, message and
 * location (NULL: none). */
static void assert_diag(const char *definition, const char *code, const char *message,
                        const char *location)
{
    json_t *diags = sfn_definition_validate(definition, NULL);
    size_t i;
    json_t *d;
    json_array_foreach(diags, i, d)
    {
        const char *loc = json_string_value(json_object_get(d, "location"));
        if (strcmp(json_string_value(json_object_get(d, "code")), code) == 0 &&
            strcmp(json_string_value(json_object_get(d, "message")), message) == 0 &&
            (location ? loc && strcmp(loc, location) == 0 : loc == NULL)) {
            json_decref(diags);
            return;
        }
    }
    print_diags(diags);
    fail_msg("expected %s '%s' at %s for %s", code, message, location ? location : "(none)",
             definition);
}

/* Asserts a SCHEMA_VALIDATION_FAILED whose message starts with `prefix`, at location. */
static void assert_schema_prefix(const char *definition, const char *prefix, const char *location)
{
    json_t *diags = sfn_definition_validate(definition, NULL);
    size_t i;
    json_t *d;
    json_array_foreach(diags, i, d)
    {
        const char *loc = json_string_value(json_object_get(d, "location"));
        const char *msg = json_string_value(json_object_get(d, "message"));
        if (strncmp(msg, prefix, strlen(prefix)) == 0 && loc && strcmp(loc, location) == 0) {
            json_decref(diags);
            return;
        }
    }
    print_diags(diags);
    fail_msg("expected '%s...' at %s for %s", prefix, location, definition);
}

static size_t diag_count(const char *definition)
{
    json_t *diags = sfn_definition_validate(definition, NULL);
    size_t n = json_array_size(diags);
    json_decref(diags);
    return n;
}

#define SCHEMA "SCHEMA_VALIDATION_FAILED"

/* A one-state JSONata machine around the state object text. */
static const char *jsonata_machine(const char *state, char *out, size_t n)
{
    snprintf(out, n, "{\"QueryLanguage\":\"JSONata\",\"StartAt\":\"S\",\"States\":{\"S\":%s}}",
             state);
    return out;
}

/* A one-state JSONPath machine (no QueryLanguage: the default). */
static const char *jsonpath_machine(const char *state, char *out, size_t n)
{
    snprintf(out, n, "{\"StartAt\":\"S\",\"States\":{\"S\":%s}}", state);
    return out;
}

/* ---------------------------------------------------------------- valid machines */

static void test_jsonpath_machine_unchanged(void **state)
{
    (void)state;
    assert_valid("{\"StartAt\":\"P\",\"States\":{"
                 "\"P\":{\"Type\":\"Pass\",\"InputPath\":\"$.a\",\"Result\":{\"x\":1},"
                 "\"ResultPath\":\"$.r\",\"Next\":\"C\"},"
                 "\"C\":{\"Type\":\"Choice\",\"Choices\":[{\"Variable\":\"$.n\","
                 "\"NumericGreaterThan\":1,\"Next\":\"W\"}],\"Default\":\"T\"},"
                 "\"W\":{\"Type\":\"Wait\",\"SecondsPath\":\"$.s\",\"Next\":\"T\"},"
                 "\"T\":{\"Type\":\"Task\",\"Resource\":\"arn:aws:states:::lambda:invoke\","
                 "\"Parameters\":{\"FunctionName\":\"f\",\"Payload.$\":\"$\"},"
                 "\"TimeoutSeconds\":5,\"Catch\":[{\"ErrorEquals\":[\"States.ALL\"],"
                 "\"ResultPath\":\"$.err\",\"Next\":\"F\"}],\"Next\":\"M\"},"
                 "\"M\":{\"Type\":\"Map\",\"ItemsPath\":\"$.items\",\"ItemProcessor\":{"
                 "\"StartAt\":\"I\",\"States\":{\"I\":{\"Type\":\"Succeed\"}}},\"Next\":\"Par\"},"
                 "\"Par\":{\"Type\":\"Parallel\",\"Branches\":[{\"StartAt\":\"B\",\"States\":{"
                 "\"B\":{\"Type\":\"Pass\",\"End\":true}}}],\"Next\":\"Done\"},"
                 "\"Done\":{\"Type\":\"Succeed\",\"OutputPath\":\"$.r\"},"
                 "\"F\":{\"Type\":\"Fail\",\"ErrorPath\":\"$.err.Error\"}}}");
    assert_valid("{\"QueryLanguage\":\"JSONPath\",\"StartAt\":\"P\",\"States\":{"
                 "\"P\":{\"Type\":\"Pass\",\"End\":true}}}");
}

static void test_jsonata_machine_every_state_type(void **state)
{
    (void)state;
    assert_valid(
        "{\"QueryLanguage\":\"JSONata\",\"StartAt\":\"P\",\"States\":{"
        "\"P\":{\"Type\":\"Pass\",\"Output\":{\"n\":\"{% $states.input.n + 1 %}\"},"
        "\"Assign\":{\"count\":\"{% $states.input.n %}\",\"label\":\"plain\"},\"Next\":\"C\"},"
        "\"C\":{\"Type\":\"Choice\",\"Choices\":[{\"Condition\":\"{% $count > 1 %}\","
        "\"Next\":\"W\",\"Output\":\"{% $states.input %}\",\"Assign\":{\"big\":true}},"
        "{\"Condition\":true,\"Next\":\"T\"}],\"Default\":\"T\",\"Assign\":{\"seen\":1}},"
        "\"W\":{\"Type\":\"Wait\",\"Seconds\":\"{% $count * 2 %}\",\"Output\":{\"w\":1},"
        "\"Assign\":{\"waited\":true},\"Next\":\"W2\"},"
        "\"W2\":{\"Type\":\"Wait\",\"Timestamp\":\"2026-11-30T12:00:00Z\",\"Next\":\"T\"},"
        "\"T\":{\"Type\":\"Task\",\"Resource\":\"arn:aws:states:::lambda:invoke\","
        "\"Arguments\":{\"FunctionName\":\"f\",\"Payload\":\"{% $states.input %}\"},"
        "\"Output\":\"{% $states.result.Payload %}\",\"Assign\":{\"r\":\"{% $states.result %}\"},"
        "\"TimeoutSeconds\":\"{% $count + 10 %}\",\"HeartbeatSeconds\":5,"
        "\"Credentials\":{\"RoleArn\":\"{% 'arn:aws:iam::1:role/' & $label %}\"},"
        "\"Retry\":[{\"ErrorEquals\":[\"States.Timeout\"],\"MaxAttempts\":2}],"
        "\"Catch\":[{\"ErrorEquals\":[\"States.ALL\"],\"Output\":\"{% $states.errorOutput %}\","
        "\"Assign\":{\"failed\":true},\"Next\":\"F\"}],\"Next\":\"M\"},"
        "\"M\":{\"Type\":\"Map\",\"Items\":\"{% $states.input.items %}\","
        "\"ItemSelector\":{\"item\":\"{% $states.context.Map.Item.Value %}\"},"
        "\"MaxConcurrency\":2,\"ToleratedFailurePercentage\":10,\"Label\":\"m\","
        "\"ItemProcessor\":{\"ProcessorConfig\":{\"Mode\":\"INLINE\"},\"StartAt\":\"I\","
        "\"States\":{\"I\":{\"Type\":\"Pass\",\"Output\":\"{% $states.input.item %}\","
        "\"End\":true}}},\"Output\":\"{% $states.result %}\",\"Assign\":{\"mapped\":1},"
        "\"Next\":\"Par\"},"
        "\"Par\":{\"Type\":\"Parallel\",\"Arguments\":{\"x\":\"{% $count %}\"},"
        "\"Branches\":[{\"StartAt\":\"B\",\"States\":{\"B\":{\"Type\":\"Succeed\","
        "\"Output\":\"{% $states.input.x %}\"}}}],\"Output\":\"{% $states.result[0] %}\","
        "\"Assign\":{\"par\":1},\"Next\":\"Done\"},"
        "\"Done\":{\"Type\":\"Succeed\",\"Output\":{\"total\":\"{% $count %}\"}},"
        "\"F\":{\"Type\":\"Fail\",\"Error\":\"{% 'Custom.' & $states.input.kind %}\","
        "\"Cause\":\"plain cause\"}}}");
}

static void test_jsonata_state_in_jsonpath_machine(void **state)
{
    (void)state;
    /* A state may opt into JSONata inside a JSONPath machine, also in a branch. */
    assert_valid("{\"StartAt\":\"A\",\"States\":{"
                 "\"A\":{\"Type\":\"Pass\",\"QueryLanguage\":\"JSONata\","
                 "\"Output\":\"{% $states.input %}\",\"Next\":\"B\"},"
                 "\"B\":{\"Type\":\"Parallel\",\"Branches\":[{\"StartAt\":\"X\",\"States\":{"
                 "\"X\":{\"Type\":\"Pass\",\"QueryLanguage\":\"JSONata\",\"Output\":1,"
                 "\"End\":true}}}],\"ResultPath\":\"$.p\",\"End\":true}}}");
    /* A JSONata state's Catch may lead to a JSONPath state. */
    assert_valid("{\"QueryLanguage\":\"JSONPath\",\"StartAt\":\"A\",\"States\":{"
                 "\"A\":{\"Type\":\"Task\",\"QueryLanguage\":\"JSONata\",\"Resource\":\"r\","
                 "\"Catch\":[{\"ErrorEquals\":[\"States.ALL\"],\"Next\":\"B\"}],\"End\":true},"
                 "\"B\":{\"Type\":\"Pass\",\"ResultPath\":\"$.x\",\"End\":true}}}");
}

/* ---------------------------------------------------------------- QueryLanguage */

static void test_query_language_values(void **state)
{
    (void)state;
    char buf[2048];
    assert_diag("{\"QueryLanguage\":\"XPath\",\"StartAt\":\"A\",\"States\":{"
                "\"A\":{\"Type\":\"Pass\",\"End\":true}}}",
                SCHEMA,
                "The field 'QueryLanguage' should have one of these values: [JSONPath, JSONata]",
                "/QueryLanguage");
    assert_diag(jsonpath_machine("{\"Type\":\"Pass\",\"QueryLanguage\":\"jsonata\",\"End\":true}",
                                 buf, sizeof buf),
                SCHEMA,
                "The field 'QueryLanguage' should have one of these values: [JSONPath, JSONata]",
                "/States/S/QueryLanguage");
    assert_diag(
        jsonpath_machine("{\"Type\":\"Pass\",\"QueryLanguage\":1,\"End\":true}", buf, sizeof buf),
        SCHEMA, "The field 'QueryLanguage' should have one of these values: [JSONPath, JSONata]",
        "/States/S/QueryLanguage");
}

static void test_jsonpath_state_in_jsonata_machine_is_an_error(void **state)
{
    (void)state;
    const char *msg =
        "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine";
    char buf[2048];
    assert_diag(jsonata_machine("{\"Type\":\"Pass\",\"QueryLanguage\":\"JSONPath\",\"End\":true}",
                                buf, sizeof buf),
                SCHEMA, msg, "/States/S/QueryLanguage");
    /* Nested workflows inherit the machine's language. */
    assert_diag("{\"QueryLanguage\":\"JSONata\",\"StartAt\":\"P\",\"States\":{"
                "\"P\":{\"Type\":\"Parallel\",\"Branches\":[{\"StartAt\":\"X\",\"States\":{"
                "\"X\":{\"Type\":\"Pass\",\"QueryLanguage\":\"JSONPath\",\"End\":true}}}],"
                "\"End\":true}}}",
                SCHEMA, msg, "/States/P/Branches[0]/States/X/QueryLanguage");
    assert_diag("{\"QueryLanguage\":\"JSONata\",\"StartAt\":\"P\",\"States\":{"
                "\"P\":{\"Type\":\"Parallel\",\"Branches\":[{\"StartAt\":\"X\",\"States\":{"
                "\"X\":{\"Type\":\"Pass\",\"InputPath\":\"$.a\",\"End\":true}}}],"
                "\"End\":true}}}",
                SCHEMA,
                "The QueryLanguage is set to 'JSONata', but field 'InputPath' is only supported "
                "for the 'JSONPath' QueryLanguage",
                "/States/P/Branches[0]/States/X");
    /* QueryLanguage belongs to the machine and its states, not to a branch. */
    assert_diag("{\"StartAt\":\"P\",\"States\":{"
                "\"P\":{\"Type\":\"Parallel\",\"Branches\":[{\"QueryLanguage\":\"JSONata\","
                "\"StartAt\":\"X\",\"States\":{\"X\":{\"Type\":\"Pass\",\"End\":true}}}],"
                "\"End\":true}}}",
                SCHEMA, "Field 'QueryLanguage' is not supported", "/States/P/Branches[0]");
}

/* ---------------------------------------------------------------- fields per language */

static void assert_foreign(const char *machine, const char *lang, const char *field,
                           const char *other, const char *location)
{
    char msg[512];
    snprintf(msg, sizeof msg,
             "The QueryLanguage is set to '%s', but field '%s' is only supported for the '%s' "
             "QueryLanguage",
             lang, field, other);
    assert_diag(machine, SCHEMA, msg, location);
}

static void test_jsonpath_fields_in_jsonata_states(void **state)
{
    (void)state;
    static const struct {
        const char *state;
        const char *field;
    } cases[] = {
        {"{\"Type\":\"Pass\",\"InputPath\":\"$.a\",\"End\":true}", "InputPath"},
        {"{\"Type\":\"Pass\",\"OutputPath\":\"$.a\",\"End\":true}", "OutputPath"},
        {"{\"Type\":\"Pass\",\"ResultPath\":\"$.a\",\"End\":true}", "ResultPath"},
        {"{\"Type\":\"Pass\",\"Parameters\":{\"a\":1},\"End\":true}", "Parameters"},
        {"{\"Type\":\"Pass\",\"Result\":{\"a\":1},\"End\":true}", "Result"},
        {"{\"Type\":\"Task\",\"Resource\":\"r\",\"ResultSelector\":{},\"End\":true}",
         "ResultSelector"},
        {"{\"Type\":\"Task\",\"Resource\":\"r\",\"TimeoutSecondsPath\":\"$.t\",\"End\":true}",
         "TimeoutSecondsPath"},
        {"{\"Type\":\"Task\",\"Resource\":\"r\",\"HeartbeatSecondsPath\":\"$.t\",\"End\":true}",
         "HeartbeatSecondsPath"},
        {"{\"Type\":\"Wait\",\"SecondsPath\":\"$.s\",\"End\":true}", "SecondsPath"},
        {"{\"Type\":\"Wait\",\"TimestampPath\":\"$.s\",\"End\":true}", "TimestampPath"},
        {"{\"Type\":\"Fail\",\"ErrorPath\":\"$.e\"}", "ErrorPath"},
        {"{\"Type\":\"Fail\",\"CausePath\":\"$.e\"}", "CausePath"},
        {"{\"Type\":\"Succeed\",\"InputPath\":\"$.e\"}", "InputPath"},
        {"{\"Type\":\"Map\",\"ItemsPath\":\"$.i\",\"ItemProcessor\":{\"StartAt\":\"I\","
         "\"States\":{\"I\":{\"Type\":\"Succeed\"}}},\"End\":true}",
         "ItemsPath"},
        {"{\"Type\":\"Map\",\"MaxConcurrencyPath\":\"$.i\",\"ItemProcessor\":{\"StartAt\":\"I\","
         "\"States\":{\"I\":{\"Type\":\"Succeed\"}}},\"End\":true}",
         "MaxConcurrencyPath"},
        {"{\"Type\":\"Parallel\",\"Parameters\":{},\"Branches\":[{\"StartAt\":\"I\","
         "\"States\":{\"I\":{\"Type\":\"Succeed\"}}}],\"End\":true}",
         "Parameters"},
    };
    char buf[2048];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_foreign(jsonata_machine(cases[i].state, buf, sizeof buf), "JSONata", cases[i].field,
                       "JSONPath", "/States/S");

    /* Variable-style Choice rules. */
    const char *choice = "{\"Type\":\"Choice\",\"Choices\":[{\"Variable\":\"$.a\","
                         "\"StringEquals\":\"x\",\"Next\":\"S\"}]}";
    assert_foreign(jsonata_machine(choice, buf, sizeof buf), "JSONata", "Variable", "JSONPath",
                   "/States/S/Choices[0]");
    assert_foreign(jsonata_machine(choice, buf, sizeof buf), "JSONata", "StringEquals", "JSONPath",
                   "/States/S/Choices[0]");
    assert_diag(jsonata_machine(choice, buf, sizeof buf), SCHEMA,
                "These fields are required: [Condition]", "/States/S/Choices[0]");
    assert_foreign(jsonata_machine("{\"Type\":\"Choice\",\"Choices\":[{\"Condition\":true,"
                                   "\"And\":[],\"Next\":\"S\"}]}",
                                   buf, sizeof buf),
                   "JSONata", "And", "JSONPath", "/States/S/Choices[0]");

    /* Catchers take Output, not ResultPath. */
    assert_foreign(jsonata_machine("{\"Type\":\"Task\",\"Resource\":\"r\",\"Catch\":[{"
                                   "\"ErrorEquals\":[\"States.ALL\"],\"ResultPath\":\"$.e\","
                                   "\"Next\":\"S\"}],\"End\":true}",
                                   buf, sizeof buf),
                   "JSONata", "ResultPath", "JSONPath", "/States/S/Catch[0]");
}

static void test_jsonata_fields_in_jsonpath_states(void **state)
{
    (void)state;
    char buf[2048];
    assert_foreign(
        jsonpath_machine("{\"Type\":\"Pass\",\"Output\":{},\"End\":true}", buf, sizeof buf),
        "JSONPath", "Output", "JSONata", "/States/S");
    assert_foreign(
        jsonpath_machine("{\"Type\":\"Task\",\"Resource\":\"r\",\"Arguments\":{},\"End\":true}",
                         buf, sizeof buf),
        "JSONPath", "Arguments", "JSONata", "/States/S");
    assert_foreign(jsonpath_machine("{\"Type\":\"Map\",\"Items\":[1],\"ItemProcessor\":{"
                                    "\"StartAt\":\"I\",\"States\":{\"I\":{\"Type\":\"Succeed\"}}},"
                                    "\"End\":true}",
                                    buf, sizeof buf),
                   "JSONPath", "Items", "JSONata", "/States/S");
    /* A Condition rule in a JSONPath Choice is reported as such, not as a malformed rule. */
    const char *choice = "{\"StartAt\":\"S\",\"States\":{\"S\":{\"Type\":\"Choice\","
                         "\"Choices\":[{\"Condition\":true,\"Next\":\"E\"}]},"
                         "\"E\":{\"Type\":\"Succeed\"}}}";
    assert_foreign(choice, "JSONPath", "Condition", "JSONata", "/States/S/Choices[0]");
    assert_int_equal(diag_count(choice), 1);
    assert_foreign(jsonpath_machine("{\"Type\":\"Task\",\"Resource\":\"r\",\"Catch\":[{"
                                    "\"ErrorEquals\":[\"States.ALL\"],\"Output\":{},"
                                    "\"Next\":\"S\"}],\"End\":true}",
                                    buf, sizeof buf),
                   "JSONPath", "Output", "JSONata", "/States/S/Catch[0]");
    /* Fields of neither language keep their message. */
    assert_diag(jsonata_machine("{\"Type\":\"Pass\",\"Catch\":[],\"End\":true}", buf, sizeof buf),
                SCHEMA, "Field 'Catch' is not supported", "/States/S");
    assert_diag(jsonata_machine("{\"Type\":\"Succeed\",\"Assign\":{\"a\":1}}", buf, sizeof buf),
                SCHEMA, "Field 'Assign' is not supported", "/States/S");
    assert_diag(jsonpath_machine("{\"Type\":\"Fail\",\"Assign\":{\"a\":1}}", buf, sizeof buf),
                SCHEMA, "Field 'Assign' is not supported", "/States/S");
    assert_diag(jsonata_machine("{\"Type\":\"Map\",\"Arguments\":{},\"ItemProcessor\":{"
                                "\"StartAt\":\"I\",\"States\":{\"I\":{\"Type\":\"Succeed\"}}},"
                                "\"End\":true}",
                                buf, sizeof buf),
                SCHEMA, "Field 'Arguments' is not supported", "/States/S");
}

/* ---------------------------------------------------------------- JSONata expressions */

static void test_expressions_compile(void **state)
{
    (void)state;
    static const struct {
        const char *state;
        const char *field;
        const char *location;
    } cases[] = {
        {"{\"Type\":\"Pass\",\"Output\":\"{% $states.input.( %}\",\"End\":true}", "Output",
         "/States/S/Output"},
        {"{\"Type\":\"Pass\",\"Output\":{\"a\":[1,{\"b\":\"{% 1 + %}\"}]},\"End\":true}", "Output",
         "/States/S/Output/a[1]/b"},
        {"{\"Type\":\"Pass\",\"Assign\":{\"v\":\"{% ) %}\"},\"End\":true}", "Assign",
         "/States/S/Assign/v"},
        {"{\"Type\":\"Task\",\"Resource\":\"r\",\"Arguments\":{\"p\":\"{% [1, %}\"},"
         "\"End\":true}",
         "Arguments", "/States/S/Arguments/p"},
        {"{\"Type\":\"Task\",\"Resource\":\"r\",\"TimeoutSeconds\":\"{% 1 + %}\",\"End\":true}",
         "TimeoutSeconds", "/States/S/TimeoutSeconds"},
        {"{\"Type\":\"Task\",\"Resource\":\"r\",\"HeartbeatSeconds\":\"{% ( %}\",\"End\":true}",
         "HeartbeatSeconds", "/States/S/HeartbeatSeconds"},
        {"{\"Type\":\"Wait\",\"Seconds\":\"{% (1 %}\",\"End\":true}", "Seconds",
         "/States/S/Seconds"},
        {"{\"Type\":\"Wait\",\"Timestamp\":\"{% $now( %}\",\"End\":true}", "Timestamp",
         "/States/S/Timestamp"},
        {"{\"Type\":\"Fail\",\"Error\":\"{% 'a' & %}\"}", "Error", "/States/S/Error"},
        {"{\"Type\":\"Fail\",\"Cause\":\"{% } %}\"}", "Cause", "/States/S/Cause"},
        {"{\"Type\":\"Choice\",\"Choices\":[{\"Condition\":\"{% $x > %}\",\"Next\":\"S\"}]}",
         "Condition", "/States/S/Choices[0]/Condition"},
        {"{\"Type\":\"Choice\",\"Choices\":[{\"Condition\":true,\"Next\":\"S\","
         "\"Assign\":{\"a\":\"{% ( %}\"}}]}",
         "Assign", "/States/S/Choices[0]/Assign/a"},
        {"{\"Type\":\"Map\",\"Items\":\"{% [ %}\",\"ItemProcessor\":{\"StartAt\":\"I\","
         "\"States\":{\"I\":{\"Type\":\"Succeed\"}}},\"End\":true}",
         "Items", "/States/S/Items"},
        {"{\"Type\":\"Map\",\"ItemSelector\":{\"v\":\"{% . %}\"},\"ItemProcessor\":{"
         "\"StartAt\":\"I\",\"States\":{\"I\":{\"Type\":\"Succeed\"}}},\"End\":true}",
         "ItemSelector", "/States/S/ItemSelector/v"},
        {"{\"Type\":\"Task\",\"Resource\":\"r\",\"Catch\":[{\"ErrorEquals\":[\"States.ALL\"],"
         "\"Output\":\"{% ( %}\",\"Next\":\"S\"}],\"End\":true}",
         "Output", "/States/S/Catch[0]/Output"},
    };
    char buf[2048], prefix[256];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(
            prefix, sizeof prefix,
            "The value for the field '%s' must be a valid JSONata expression: ", cases[i].field);
        assert_schema_prefix(jsonata_machine(cases[i].state, buf, sizeof buf), prefix,
                             cases[i].location);
    }
}

static void test_unterminated_expressions(void **state)
{
    (void)state;
    const char *msg = "JSONata string must start with {% and end with %}";
    char buf[2048];
    assert_diag(jsonata_machine("{\"Type\":\"Pass\",\"Output\":\"{% $states.input\","
                                "\"End\":true}",
                                buf, sizeof buf),
                SCHEMA, msg, "/States/S/Output");
    assert_diag(jsonata_machine("{\"Type\":\"Pass\",\"Output\":{\"x\":\"{%}\"},\"End\":true}", buf,
                                sizeof buf),
                SCHEMA, msg, "/States/S/Output/x");
    /* An empty expression does not compile. */
    assert_schema_prefix(
        jsonata_machine("{\"Type\":\"Pass\",\"Output\":\"{%  %}\",\"End\":true}", buf, sizeof buf),
        "The value for the field 'Output' must be a valid JSONata expression", "/States/S/Output");
    /* Other strings are literals; in JSONPath states "{%" means nothing. */
    assert_valid(jsonata_machine("{\"Type\":\"Pass\",\"Output\":\"50% {done} %}\",\"End\":true}",
                                 buf, sizeof buf));
    assert_valid(jsonpath_machine("{\"Type\":\"Pass\",\"Result\":\"{% oops\",\"End\":true}", buf,
                                  sizeof buf));
}

static void test_jsonata_field_shapes(void **state)
{
    (void)state;
    char buf[2048];
    assert_diag(jsonata_machine("{\"Type\":\"Task\",\"Resource\":\"r\",\"TimeoutSeconds\":\"10\","
                                "\"End\":true}",
                                buf, sizeof buf),
                SCHEMA,
                "The value for the field 'TimeoutSeconds' must be an INTEGER of at least 1 or a "
                "JSONata expression",
                "/States/S");
    assert_diag(jsonata_machine("{\"Type\":\"Task\",\"Resource\":\"r\",\"HeartbeatSeconds\":0,"
                                "\"End\":true}",
                                buf, sizeof buf),
                SCHEMA,
                "The value for the field 'HeartbeatSeconds' must be an INTEGER of at least 1 or "
                "a JSONata expression",
                "/States/S");
    assert_diag(
        jsonata_machine("{\"Type\":\"Task\",\"Resource\":\"r\",\"Arguments\":[1],\"End\":true}",
                        buf, sizeof buf),
        SCHEMA, "The value for the field 'Arguments' must be an OBJECT or a JSONata expression",
        "/States/S");
    assert_valid(jsonata_machine("{\"Type\":\"Task\",\"Resource\":\"r\","
                                 "\"Arguments\":\"{% $states.input %}\",\"End\":true}",
                                 buf, sizeof buf));
    assert_diag(jsonata_machine("{\"Type\":\"Map\",\"Items\":{\"a\":1},\"ItemProcessor\":{"
                                "\"StartAt\":\"I\",\"States\":{\"I\":{\"Type\":\"Succeed\"}}},"
                                "\"End\":true}",
                                buf, sizeof buf),
                SCHEMA, "The value for the field 'Items' must be an ARRAY or a JSONata expression",
                "/States/S");
    assert_valid(jsonata_machine("{\"Type\":\"Map\",\"Items\":[1,2],\"ItemProcessor\":{"
                                 "\"StartAt\":\"I\",\"States\":{\"I\":{\"Type\":\"Succeed\"}}},"
                                 "\"End\":true}",
                                 buf, sizeof buf));
    assert_diag(jsonata_machine("{\"Type\":\"Wait\",\"Seconds\":-1,\"End\":true}", buf, sizeof buf),
                SCHEMA,
                "The value for the field 'Seconds' must be an INTEGER of at least 0 or a JSONata "
                "expression",
                "/States/S");
    assert_diag(jsonata_machine("{\"Type\":\"Wait\",\"Timestamp\":\"tomorrow\",\"End\":true}", buf,
                                sizeof buf),
                SCHEMA, "The value for the field 'Timestamp' must be a valid ISO-8601 timestamp",
                "/States/S");
    assert_diag(jsonata_machine("{\"Type\":\"Wait\",\"End\":true}", buf, sizeof buf), SCHEMA,
                "Exactly one of the fields 'Seconds' and 'Timestamp' is required", "/States/S");
    assert_diag(jsonata_machine("{\"Type\":\"Choice\",\"Choices\":[{\"Condition\":\"yes\","
                                "\"Next\":\"S\"}]}",
                                buf, sizeof buf),
                SCHEMA,
                "The value for the field 'Condition' must be a JSONata expression or a BOOLEAN",
                "/States/S/Choices[0]");
    assert_diag(jsonata_machine("{\"Type\":\"Choice\",\"Choices\":[{\"Condition\":true}]}", buf,
                                sizeof buf),
                SCHEMA, "The field 'Next' should be a STRING in a top-level Choice rule",
                "/States/S/Choices[0]");
    assert_diag(jsonata_machine("{\"Type\":\"Choice\",\"Choices\":[]}", buf, sizeof buf), SCHEMA,
                "The field 'Choices' should be a non-empty ARRAY", "/States/S");
    assert_diag(jsonata_machine("{\"Type\":\"Fail\",\"Error\":7}", buf, sizeof buf), SCHEMA,
                "The value for the field 'Error' must be a STRING", "/States/S");
    assert_diag(jsonata_machine("{\"Type\":\"Task\",\"Resource\":\"r\",\"Catch\":[{"
                                "\"ErrorEquals\":[\"States.ALL\"]}],\"End\":true}",
                                buf, sizeof buf),
                SCHEMA, "These fields are required: [Next]", "/States/S/Catch[0]");
}

/* ---------------------------------------------------------------- variables */

static void assert_bad_name(const char *assign_key_json, const char *name, const char *why)
{
    char state[512], buf[2048], msg[512];
    snprintf(state, sizeof state, "{\"Type\":\"Pass\",\"Assign\":{%s:1},\"End\":true}",
             assign_key_json);
    snprintf(msg, sizeof msg, "The variable name '%s' is not valid: %s", name, why);
    assert_diag(jsonata_machine(state, buf, sizeof buf), SCHEMA, msg, "/States/S/Assign");
    assert_diag(jsonpath_machine(state, buf, sizeof buf), SCHEMA, msg, "/States/S/Assign");
}

static void test_variable_names(void **state)
{
    (void)state;
    char buf[4096];
    assert_valid(jsonata_machine("{\"Type\":\"Pass\",\"Assign\":{\"x\":1,\"_y\":2,\"a1_b2\":3,"
                                 "\"\\u00e9t\\u00e9\":4,\"States\":5,\"statesX\":6},"
                                 "\"End\":true}",
                                 buf, sizeof buf));
    assert_bad_name("\"1x\"", "1x", "it must start with a letter or an underscore");
    assert_bad_name("\"\"", "", "it must start with a letter or an underscore");
    assert_bad_name("\"a-b\"", "a-b", "it may contain only letters, digits and underscores");
    assert_bad_name("\"a b\"", "a b", "it may contain only letters, digits and underscores");
    assert_bad_name("\"$x\"", "$x", "it must start with a letter or an underscore");
    assert_bad_name("\"states\"", "states", "'states' is reserved");
    char name[100], key[110];
    memset(name, 'v', 81);
    name[81] = '\0';
    snprintf(key, sizeof key, "\"%s\"", name);
    assert_bad_name(key, name, "it must be at most 80 characters long");
    name[80] = '\0';
    char st[512];
    snprintf(st, sizeof st, "{\"Type\":\"Pass\",\"Assign\":{\"%s\":1},\"End\":true}", name);
    assert_valid(jsonata_machine(st, buf, sizeof buf));
    /* 80 two-byte characters are 80 characters. */
    char wide[512] = "";
    for (int i = 0; i < 80; i++)
        strcat(wide, "\\u00e9");
    char st2[1024];
    snprintf(st2, sizeof st2, "{\"Type\":\"Pass\",\"Assign\":{\"%s\":1},\"End\":true}", wide);
    assert_valid(jsonata_machine(st2, buf, sizeof buf));
}

static void test_assign_in_jsonpath_states(void **state)
{
    (void)state;
    char buf[4096];
    /* ".$" keys select: a path, a variable, an intrinsic function, at any depth. */
    assert_valid(
        "{\"StartAt\":\"P\",\"States\":{"
        "\"P\":{\"Type\":\"Pass\",\"Assign\":{\"a.$\":\"$.x\",\"b.$\":\"$$.Execution.Id\","
        "\"c.$\":\"$a.field\",\"d.$\":\"States.Format('{}', $.x)\",\"e\":{\"f.$\":\"$.y\"},"
        "\"g\":\"literal\"},\"Next\":\"C\"},"
        "\"C\":{\"Type\":\"Choice\",\"Choices\":[{\"Variable\":\"$.x\",\"IsPresent\":true,"
        "\"Assign\":{\"chosen\":true},\"Next\":\"W\"}],\"Default\":\"W\",\"Assign\":{\"z\":1}},"
        "\"W\":{\"Type\":\"Wait\",\"Seconds\":0,\"Assign\":{\"w\":1},\"Next\":\"T\"},"
        "\"T\":{\"Type\":\"Task\",\"Resource\":\"r\",\"Assign\":{\"r.$\":\"$.Payload\"},"
        "\"Catch\":[{\"ErrorEquals\":[\"States.ALL\"],\"Assign\":{\"err.$\":\"$.Error\"},"
        "\"ResultPath\":\"$.e\",\"Next\":\"M\"}],\"Next\":\"M\"},"
        "\"M\":{\"Type\":\"Map\",\"Assign\":{\"m\":1},\"ItemProcessor\":{\"StartAt\":\"I\","
        "\"States\":{\"I\":{\"Type\":\"Succeed\"}}},\"Next\":\"Par\"},"
        "\"Par\":{\"Type\":\"Parallel\",\"Assign\":{\"p\":1},\"Branches\":[{\"StartAt\":\"B\","
        "\"States\":{\"B\":{\"Type\":\"Succeed\"}}}],\"End\":true}}}");
    assert_diag(jsonpath_machine("{\"Type\":\"Pass\",\"Assign\":{\"a.$\":\"nope\"},\"End\":true}",
                                 buf, sizeof buf),
                SCHEMA,
                "The value for the field 'a.$' must be a valid JSONPath or a valid intrinsic "
                "function call",
                "/States/S/Assign/a.$");
    assert_diag(jsonpath_machine("{\"Type\":\"Pass\",\"Assign\":{\"o\":{\"a.$\":5}},\"End\":true}",
                                 buf, sizeof buf),
                SCHEMA,
                "The value for the field 'a.$' must be a valid JSONPath or a valid intrinsic "
                "function call",
                "/States/S/Assign/o/a.$");
    assert_diag(
        jsonpath_machine("{\"Type\":\"Pass\",\"Assign\":[1],\"End\":true}", buf, sizeof buf),
        SCHEMA, "The value for the field 'Assign' must be an OBJECT", "/States/S/Assign");
    /* In JSONata ".$" is no part of a name. */
    assert_diag(jsonata_machine("{\"Type\":\"Pass\",\"Assign\":{\"a.$\":\"$.x\"},\"End\":true}",
                                buf, sizeof buf),
                SCHEMA,
                "The variable name 'a.$' is not valid: it may contain only letters, digits and "
                "underscores",
                "/States/S/Assign");
    /* Bad names in catchers and Choice rules are located there. */
    assert_diag(jsonpath_machine("{\"Type\":\"Task\",\"Resource\":\"r\",\"Catch\":[{"
                                 "\"ErrorEquals\":[\"States.ALL\"],\"Assign\":{\"9\":1},"
                                 "\"Next\":\"S\"}],\"End\":true}",
                                 buf, sizeof buf),
                SCHEMA,
                "The variable name '9' is not valid: it must start with a letter or an underscore",
                "/States/S/Catch[0]/Assign");
    assert_diag(jsonata_machine("{\"Type\":\"Choice\",\"Choices\":[{\"Condition\":true,"
                                "\"Assign\":{\"states\":1},\"Next\":\"S\"}]}",
                                buf, sizeof buf),
                SCHEMA, "The variable name 'states' is not valid: 'states' is reserved",
                "/States/S/Choices[0]/Assign");
}

/* ---------------------------------------------------------------- messages */

static void test_error_message_names_code_and_location(void **state)
{
    (void)state;
    char buf[2048], msg[4096];
    json_t *diags = sfn_definition_validate(
        jsonata_machine("{\"Type\":\"Pass\",\"Parameters\":{},\"End\":true}", buf, sizeof buf),
        NULL);
    assert_int_equal(json_array_size(diags), 1);
    sfn_definition_error_message(diags, msg, sizeof msg);
    assert_string_equal(msg, "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: The "
                             "QueryLanguage is set to 'JSONata', but field 'Parameters' is only "
                             "supported for the 'JSONPath' QueryLanguage at /States/S'");
    json_decref(diags);
    /* The parsed definition comes back for a valid JSONata machine. */
    json_t *parsed = NULL;
    diags = sfn_definition_validate(
        jsonata_machine("{\"Type\":\"Pass\",\"Output\":\"{% 1 %}\",\"End\":true}", buf, sizeof buf),
        &parsed);
    assert_int_equal(json_array_size(diags), 0);
    assert_string_equal(json_string_value(json_object_get(parsed, "QueryLanguage")), "JSONata");
    json_decref(parsed);
    json_decref(diags);
}

static void test_graph_checks_apply_to_jsonata_machines(void **state)
{
    (void)state;
    assert_diag("{\"QueryLanguage\":\"JSONata\",\"StartAt\":\"C\",\"States\":{"
                "\"C\":{\"Type\":\"Choice\",\"Choices\":[{\"Condition\":true,\"Next\":\"Nope\"}],"
                "\"Default\":\"D\"},\"D\":{\"Type\":\"Succeed\"}}}",
                "MISSING_TRANSITION_TARGET", "Missing 'Next' target: Nope",
                "/States/C/Choices[0]/Next");
    assert_diag("{\"QueryLanguage\":\"JSONata\",\"StartAt\":\"A\",\"States\":{"
                "\"A\":{\"Type\":\"Pass\",\"End\":true},\"B\":{\"Type\":\"Pass\",\"End\":true}}}",
                "MISSING_TRANSITION_TARGET", "State \"B\" is not reachable.", "/States/B");
}

/* HTTP Tasks: request-response only; ApiEndpoint, Method and a connection are required
 * (unless a path or an expression gives them at run time). */
#define HTTP_STATE(params)                                                                         \
    "{\"StartAt\":\"H\",\"States\":{\"H\":{\"Type\":\"Task\",\"Resource\":"                        \
    "\"arn:aws:states:::http:invoke\",\"Parameters\":" params ",\"End\":true}}}"
#define CONN                                                                                       \
    "arn:aws:events:us-east-1:000000000000:connection/c/0b8bc9e2-4bb4-4b6c-9e53-6f0b0c2e7d61"

static void test_http_task_parameters(void **state)
{
    (void)state;
    assert_valid(HTTP_STATE("{\"ApiEndpoint\":\"https://example.com\",\"Method\":\"GET\","
                            "\"Authentication\":{\"ConnectionArn\":\"" CONN "\"}}"));
    assert_valid(HTTP_STATE("{\"ApiEndpoint.$\":\"$.u\",\"Method.$\":\"$.m\","
                            "\"InvocationConfig\":{\"ConnectionArn.$\":\"$.c\"}}"));
    assert_diag(
        HTTP_STATE("{\"Method\":\"GET\",\"Authentication\":{\"ConnectionArn\":\"" CONN "\"}}"),
        "SCHEMA_VALIDATION_FAILED", "The field \"ApiEndpoint\" is required but was missing",
        "/States/H/Parameters");
    assert_diag(
        HTTP_STATE("{\"ApiEndpoint\":\"https://example.com\",\"Method\":\"GET\"}"),
        "SCHEMA_VALIDATION_FAILED",
        "The field \"Authentication\" (or \"InvocationConfig\") is required but was missing",
        "/States/H/Parameters");
    assert_diag(HTTP_STATE("{\"ApiEndpoint\":\"https://example.com\",\"Method\":\"GET\","
                           "\"Authentication\":{}}"),
                "SCHEMA_VALIDATION_FAILED",
                "The field \"ConnectionArn\" is required but was missing",
                "/States/H/Parameters/Authentication");
    assert_diag(HTTP_STATE("{\"ApiEndpoint\":\"https://example.com\",\"Method\":\"GET\","
                           "\"Authentication\":{\"ConnectionArn\":\"arn:aws:sqs:us-east-1:0:q\"}}"),
                "SCHEMA_VALIDATION_FAILED",
                "The value for the field 'ConnectionArn' must be an EventBridge connection ARN",
                "/States/H/Parameters/Authentication");
    assert_diag(HTTP_STATE("{\"ApiEndpoint\":\"https://example.com\",\"Method\":\"FETCH\","
                           "\"Authentication\":{\"ConnectionArn\":\"" CONN "\"}}"),
                "SCHEMA_VALIDATION_FAILED",
                "The value for the field 'Method' must be one of: GET, POST, PUT, DELETE, PATCH, "
                "OPTIONS, HEAD",
                "/States/H/Parameters");
    assert_diag("{\"StartAt\":\"H\",\"States\":{\"H\":{\"Type\":\"Task\",\"Resource\":"
                "\"arn:aws:states:::http:invoke.waitForTaskToken\",\"End\":true}}}",
                "SCHEMA_VALIDATION_FAILED",
                "The resource provided arn:aws:states:::http:invoke.waitForTaskToken is not "
                "recognized. The value is not a valid resource ARN, or the resource is not "
                "available in this region.",
                "/States/H/Resource");
    char buf[2048];
    assert_diag(jsonata_machine("{\"Type\":\"Task\",\"Resource\":\"arn:aws:states:::http:invoke\","
                                "\"End\":true}",
                                buf, sizeof buf),
                "SCHEMA_VALIDATION_FAILED", "The field \"Arguments\" is required but was missing",
                "/States/S");
    assert_valid(jsonata_machine("{\"Type\":\"Task\",\"Resource\":\"arn:aws:states:::http:invoke\","
                                 "\"Arguments\":{\"ApiEndpoint\":\"{% $states.input.u %}\","
                                 "\"Method\":\"{% 'GET' %}\",\"Authentication\":{"
                                 "\"ConnectionArn\":\"{% $states.input.c %}\"}},\"End\":true}",
                                 buf, sizeof buf));
}

static void test_distributed_map_item_reader_and_result_writer(void **state)
{
    (void)state;
    char buf[2048];
#define DMAP(FIELDS)                                                                               \
    jsonpath_machine(                                                                              \
        "{\"Type\":\"Map\"," FIELDS ",\"ItemProcessor\":{\"ProcessorConfig\":"                     \
        "{\"Mode\":\"DISTRIBUTED\",\"ExecutionType\":\"STANDARD\"},\"StartAt\":\"I\","             \
        "\"States\":{\"I\":{\"Type\":\"Succeed\"}}},\"End\":true}",                                \
        buf, sizeof buf)
    assert_valid(DMAP("\"ItemReader\":{\"Resource\":\"arn:aws:states:::s3:getObject\","
                      "\"ReaderConfig\":{\"InputType\":\"CSV\",\"CSVHeaderLocation\":\"GIVEN\","
                      "\"CSVHeaders\":[\"a\"],\"MaxItems\":3},"
                      "\"Parameters\":{\"Bucket\":\"b\",\"Key.$\":\"$.k\"}},"
                      "\"ItemBatcher\":{\"MaxItemsPerBatch\":2},\"ToleratedFailureCount\":1,"
                      "\"ResultWriter\":{\"Resource\":\"arn:aws:states:::s3:putObject\","
                      "\"Parameters\":{\"Bucket\":\"b\",\"Prefix\":\"p\"}}"));
    assert_valid(DMAP("\"ItemReader\":{\"Resource\":\"arn:aws:states:::s3:listObjectsV2\","
                      "\"Parameters\":{\"Bucket\":\"b\",\"Prefix\":\"p/\"}}"));
    assert_diag(DMAP("\"ItemReader\":{\"Parameters\":{\"Bucket\":\"b\"}}"), SCHEMA,
                "These fields are required: [Resource]", "/States/S/ItemReader");
    assert_diag(DMAP("\"ItemReader\":{\"Resource\":\"arn:aws:states:::s3:putObject\"}"), SCHEMA,
                "The ItemReader's Resource 'arn:aws:states:::s3:putObject' is not supported",
                "/States/S/ItemReader");
    assert_diag(DMAP("\"ItemReader\":{\"Resource\":\"arn:aws:states:::s3:getObject\","
                     "\"ReaderConfig\":{\"InputType\":\"XML\"}}"),
                SCHEMA, "InputType must be one of CSV, JSON, JSONL, MANIFEST, PARQUET",
                "/States/S/ItemReader");
    assert_diag(DMAP("\"ItemReader\":{\"Resource\":\"arn:aws:states:::s3:getObject\","
                     "\"ReaderConfig\":{\"InputType\":\"CSV\",\"CSVHeaderLocation\":\"GIVEN\"}}"),
                SCHEMA, "CSVHeaderLocation GIVEN requires CSVHeaders", "/States/S/ItemReader");
    assert_diag(DMAP("\"ResultWriter\":{\"Resource\":\"arn:aws:states:::s3:getObject\"}"), SCHEMA,
                "The ResultWriter's Resource 'arn:aws:states:::s3:getObject' is not supported",
                "/States/S/ResultWriter");
#undef DMAP
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jsonpath_machine_unchanged),
        cmocka_unit_test(test_jsonata_machine_every_state_type),
        cmocka_unit_test(test_jsonata_state_in_jsonpath_machine),
        cmocka_unit_test(test_query_language_values),
        cmocka_unit_test(test_jsonpath_state_in_jsonata_machine_is_an_error),
        cmocka_unit_test(test_jsonpath_fields_in_jsonata_states),
        cmocka_unit_test(test_jsonata_fields_in_jsonpath_states),
        cmocka_unit_test(test_expressions_compile),
        cmocka_unit_test(test_unterminated_expressions),
        cmocka_unit_test(test_jsonata_field_shapes),
        cmocka_unit_test(test_variable_names),
        cmocka_unit_test(test_assign_in_jsonpath_states),
        cmocka_unit_test(test_error_message_names_code_and_location),
        cmocka_unit_test(test_graph_checks_apply_to_jsonata_machines),
        cmocka_unit_test(test_http_task_parameters),
        cmocka_unit_test(test_distributed_map_item_reader_and_result_writer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
