/* EventBridge target input: InputPath selection, InputTransformer rendering (the examples in
 * AWS's documentation and responses recorded from AWS), and what PutTargets refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "protocol/json_codec.h"
#include "services/events/events_input.h"

#include <stdio.h>
#include <string.h>

/* The EC2 example event of AWS's input transformation page, plus members for the other
 * value types. */
static const char EVENT[] =
    "{\"version\":\"0\",\"id\":\"7bf73129-1428-4cd3-a780-95db273d1602\","
    "\"detail-type\":\"EC2 Instance State-change Notification\",\"source\":\"aws.ec2\","
    "\"account\":\"123456789012\",\"time\":\"2015-11-11T21:29:54Z\",\"region\":\"us-east-1\","
    "\"resources\":[\"arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111\"],"
    "\"detail\":{\"instance-id\":\"i-0123456789\",\"state\":\"RUNNING\",\"count\":3,"
    "\"ratio\":0.5,\"on\":true,\"off\":false,\"nothing\":null,"
    "\"tags\":{\"team\":\"blue\",\"cost\":7},\"items\":[{\"id\":\"a\"},{\"id\":\"b\"},{\"x\":1}],"
    "\"quote\":\"say \\\"hi\\\"\\nbye\",\"path/with_odd-chars\":\"ok\"}}";

typedef struct fixture {
    json_t *event;
    events_input_ctx ctx;
} fixture;

static int setup(void **state)
{
    static fixture f;
    char err[160];
    f.event = jsonc_parse(EVENT, strlen(EVENT), err, sizeof err);
    assert_non_null(f.event);
    f.ctx = (events_input_ctx){
        .rule_arn = "arn:aws:events:us-east-2:123456789012:rule/example",
        .rule_name = "example",
        .ingestion_time = "2026-11-30T08:00:00Z",
        .event_json = EVENT,
        .event_len = strlen(EVENT),
        .event = f.event,
    };
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    json_decref(f->event);
    return 0;
}

static json_t *parse(const char *s)
{
    char err[160];
    json_t *v = jsonc_parse(s, strlen(s), err, sizeof err);
    if (!v)
        fail_msg("bad test JSON (%s): %s", err, s);
    return v;
}

/* Renders `template` with the paths map given as JSON text and checks the output. */
static void expect_render(fixture *f, const char *map_json, const char *template, const char *want)
{
    json_t *map = map_json ? parse(map_json) : NULL;
    buf out = BUF_INIT;
    assert_int_equal(events_input_render_transformer(&f->ctx, map, template, &out), 0);
    if (strcmp(out.data ? out.data : "", want) != 0)
        fail_msg("template %s\n  rendered %s\n  expected %s", template, out.data, want);
    buf_free(&out);
    json_decref(map);
}

static void expect_path(fixture *f, const char *path, const char *want)
{
    buf out = BUF_INIT;
    int rc = events_input_render_path(&f->ctx, path, &out);
    if (!want) {
        assert_int_equal(rc, -1);
        assert_int_equal(out.len, 0);
    } else {
        assert_int_equal(rc, 0);
        assert_string_equal(out.data, want);
    }
    buf_free(&out);
}

/* ---- InputPath ---------------------------------------------------------------------------- */

static void test_input_path_selects_members_elements_and_wildcards(void **state)
{
    fixture *f = *state;
    expect_path(f, "$.detail.state", "\"RUNNING\"");
    expect_path(f, "$.detail.count", "3");
    expect_path(f, "$.detail.tags", "{\"team\":\"blue\",\"cost\":7}");
    expect_path(f, "$.detail.items[1].id", "\"b\"");
    expect_path(f, "$.resources[0]", "\"arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111\"");
    expect_path(f, "$.detail-type", "\"EC2 Instance State-change Notification\"");
    expect_path(f, "$.detail.path/with_odd-chars", "\"ok\"");
    expect_path(f, "$.detail.nothing", "null");
    /* A wildcard yields the matches as an array, skipping elements without the member. */
    expect_path(f, "$.detail.items[*].id", "[\"a\",\"b\"]");
    expect_path(f, "$.detail.tags.*", "[\"blue\",7]");
    expect_path(f, "$.detail.missing[*]", "[]");
    /* The whole event is the event's own text. */
    expect_path(f, "$", EVENT);
}

static void test_input_path_that_matches_nothing_fails(void **state)
{
    fixture *f = *state;
    expect_path(f, "$.detail.absent", NULL);
    expect_path(f, "$.detail.items[3]", NULL);
    expect_path(f, "$.detail.state.deeper", NULL);
    expect_path(f, "$.detail[0]", NULL);
    expect_path(f, "$.detail.items[99999999999999999999999]", NULL);
    expect_path(f, "detail", NULL); /* not a path at all */
}

static void test_path_syntax(void **state)
{
    const char *ok[] = {
        "$",
        "$.detail",
        "$.detail.status",
        "$.detail.items[0].id",
        "$.a-b.c_d",
        "$.a/b",
        "$.detail.*",
        "$.detail.items[*].id",
        "$[0]",
        "$.aws:cloudformation:stack-name",
        "$.@timestamp",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char err[200] = "";
        if (events_input_path_validate(ok[i], err, sizeof err) != 0)
            fail_msg("refused %s: %s", ok[i], err);
    }
    const char *bad[] = {
        "",       "detail",  "$.",       "$..detail",   "$.detail['key']", "$['detail']", "$.a[",
        "$.a[x]", "$.a[-1]", "$.a[0:2]", "$.a[0,1]",    "$.a b",           "$.length()",  "$.a.*b",
        "$.a*",   "$ .a",    "$.a]",     "$.a[?(@.b)]", ".detail",         "$.a\"b",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[200] = "";
        if (events_input_path_validate(bad[i], err, sizeof err) != -1)
            fail_msg("accepted %s", bad[i]);
        assert_string_equal(err, "InputPath is invalid.");
    }
}

/* ---- InputTransformer: AWS's documented examples ------------------------------------------ */

#define EC2_MAP "{\"instance\":\"$.detail.instance-id\",\"state\":\"$.detail.state\"}"

static void test_documented_string_templates(void **state)
{
    fixture *f = *state;
    expect_render(f, EC2_MAP, "\"instance <instance> is in <state>\"",
                  "\"instance i-0123456789 is in RUNNING\"");
    expect_render(f, EC2_MAP, "\"instance \\\"<instance>\\\" is in <state>\"",
                  "\"instance \\\"i-0123456789\\\" is in RUNNING\"");
    expect_render(f, NULL, "\"<aws.events.rule-name> triggered\"", "\"example triggered\"");
}

static void test_documented_json_templates(void **state)
{
    fixture *f = *state;
    expect_render(f, EC2_MAP, "{\n  \"instance\" : <instance>,\n  \"state\": <state>\n}",
                  "{\n  \"instance\" : \"i-0123456789\",\n  \"state\": \"RUNNING\"\n}");
    expect_render(f, EC2_MAP,
                  "{\"instance\" : <instance>, \"state\": \"<state>\", "
                  "\"instanceStatus\": \"instance \\\"<instance>\\\" is in <state>\"}",
                  "{\"instance\" : \"i-0123456789\", \"state\": \"RUNNING\", "
                  "\"instanceStatus\": \"instance \\\"i-0123456789\\\" is in RUNNING\"}");
    expect_render(f, EC2_MAP,
                  "{\"instance\" : <instance>, \"state\": [ 9, <state>, true ], "
                  "\"Transformed\" : \"Yes\"}",
                  "{\"instance\" : \"i-0123456789\", \"state\": [ 9, \"RUNNING\", true ], "
                  "\"Transformed\" : \"Yes\"}");
    expect_render(f, EC2_MAP,
                  "{\"ruleArn\" : <aws.events.rule-arn>, \"ruleName\" : <aws.events.rule-name>}",
                  "{\"ruleArn\" : \"arn:aws:events:us-east-2:123456789012:rule/example\", "
                  "\"ruleName\" : \"example\"}");
}

/* Responses recorded from AWS (localstack's snapshot of test_events_inputs.py): a path that
 * is not in the event renders as nothing inside a string and as "" outside one. */
static void test_missing_path_renders_empty(void **state)
{
    fixture *f = *state;
    const char *map = "{\"detail-type\":\"$.detail-type\",\"command\":\"$.detail.notinmessage\"}";
    expect_render(f, map, "\"Event of <detail-type> type, info <command>\"",
                  "\"Event of EC2 Instance State-change Notification type, info \"");
    expect_render(
        f, map, "{\"detailType\": <detail-type>, \"command\": <command>}",
        "{\"detailType\": \"EC2 Instance State-change Notification\", \"command\": \"\"}");
    expect_render(f, map, "{\"command\": \"<command>\"}", "{\"command\": \"\"}");
}

/* ---- Value types, inside and outside strings ---------------------------------------------- */

#define TYPES_MAP                                                                                  \
    "{\"s\":\"$.detail.state\",\"n\":\"$.detail.count\",\"r\":\"$.detail.ratio\","                 \
    "\"t\":\"$.detail.on\",\"f\":\"$.detail.off\",\"z\":\"$.detail.nothing\","                     \
    "\"o\":\"$.detail.tags\",\"a\":\"$.detail.items\",\"w\":\"$.detail.items[*].id\"}"

static void test_placeholder_outside_quotes_is_json(void **state)
{
    fixture *f = *state;
    expect_render(f, TYPES_MAP, "[<s>,<n>,<r>,<t>,<f>,<z>,<o>,<a>,<w>]",
                  "[\"RUNNING\",3,0.5,true,false,null,{\"team\":\"blue\",\"cost\":7},"
                  "[{\"id\":\"a\"},{\"id\":\"b\"},{\"x\":1}],[\"a\",\"b\"]]");
    expect_render(f, TYPES_MAP, "{\"k\": <o>}", "{\"k\": {\"team\":\"blue\",\"cost\":7}}");
}

static void test_placeholder_inside_quotes_is_text(void **state)
{
    fixture *f = *state;
    expect_render(f, TYPES_MAP, "\"<s> <n> <r> <t> <f> <z>\"", "\"RUNNING 3 0.5 true false null\"");
    /* Objects and arrays inside a string lose their quotes ("EventBridge removes any
     * internal quotes to ensure a valid string"). */
    expect_render(f, TYPES_MAP, "{\"k\": \"tags <o>\"}", "{\"k\": \"tags {team:blue,cost:7}\"}");
    expect_render(f, TYPES_MAP, "\"<a> / <w>\"", "\"[{id:a},{id:b},{x:1}] / [a,b]\"");
}

static void test_substituted_strings_escaping(void **state)
{
    fixture *f = *state;
    const char *map = "{\"q\":\"$.detail.quote\",\"o\":\"$.detail\"}";
    /* As a JSON value the string is escaped... */
    expect_render(f, map, "{\"q\": <q>}", "{\"q\": \"say \\\"hi\\\"\\nbye\"}");
    /* ...inside a string it is not: AWS documents that it "doesn't escape values extracted by
     * Input Path when populating the Input Template". */
    expect_render(f, map, "{\"q\": \"<q>\"}", "{\"q\": \"say \"hi\"\nbye\"}");
    /* An object's escaped quotes go with its other quotes; its other escapes stay. */
    expect_render(f, map, "\"<o>\"",
                  "\"{instance-id:i-0123456789,state:RUNNING,count:3,ratio:0.5,on:true,"
                  "off:false,nothing:null,tags:{team:blue,cost:7},items:[{id:a},{id:b},{x:1}],"
                  "quote:say hi\\nbye,path/with_odd-chars:ok}\"");
}

static void test_quote_tracking(void **state)
{
    fixture *f = *state;
    const char *map = "{\"s\":\"$.detail.state\"}";
    /* An escaped backslash ends before the closing quote, so <s> is outside the string. */
    expect_render(f, map, "[\"a\\\\\", <s>]", "[\"a\\\\\", \"RUNNING\"]");
    expect_render(f, map, "[\"a\\\"\", \"<s>\"]", "[\"a\\\"\", \"RUNNING\"]");
    /* A template that is not JSON at all is still rendered the same way. */
    expect_render(f, map, "state <s>", "state \"RUNNING\"");
}

static void test_text_that_is_not_a_placeholder_is_copied(void **state)
{
    fixture *f = *state;
    const char *map = "{\"s\":\"$.detail.state\"}";
    expect_render(f, map, "\"a < b and c > d, <s>\"", "\"a < b and c > d, RUNNING\"");
    expect_render(f, map, "\"<> <<s>> <s\"", "\"<> <RUNNING> <s\"");
    expect_render(f, map, "no placeholders {}", "no placeholders {}");
    /* Unknown names (PutTargets refuses them) are left as they are. */
    expect_render(f, map, "\"<unknown>\"", "\"<unknown>\"");
}

/* ---- Predefined placeholders -------------------------------------------------------------- */

static void test_predefined_variables(void **state)
{
    fixture *f = *state;
    expect_render(f, NULL,
                  "\"<aws.events.rule-arn> <aws.events.rule-name> "
                  "<aws.events.event.ingestion-time>\"",
                  "\"arn:aws:events:us-east-2:123456789012:rule/example example "
                  "2026-11-30T08:00:00Z\"");
    expect_render(f, NULL, "{\"t\": <aws.events.event.ingestion-time>}",
                  "{\"t\": \"2026-11-30T08:00:00Z\"}");

    /* The event as delivered, verbatim. */
    buf want = BUF_INIT;
    buf_printf(&want, "{\"e\": %s}", EVENT);
    expect_render(f, NULL, "{\"e\": <aws.events.event.json>}", want.data);
    buf_free(&want);

    /* The envelope without detail, as AWS shapes it (recorded: detail-type as detailType). */
    expect_render(f, NULL, "{\"e\": <aws.events.event>}",
                  "{\"e\": {\"id\":\"7bf73129-1428-4cd3-a780-95db273d1602\","
                  "\"account\":\"123456789012\","
                  "\"detailType\":\"EC2 Instance State-change Notification\","
                  "\"time\":\"2015-11-11T21:29:54Z\",\"source\":\"aws.ec2\","
                  "\"region\":\"us-east-1\","
                  "\"resources\":[\"arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111\"],"
                  "\"version\":\"0\"}}");
}

static void test_event_json_without_text_is_dumped(void **state)
{
    fixture *f = *state;
    events_input_ctx ctx = f->ctx;
    ctx.event_json = NULL;
    ctx.event_len = 0;
    ctx.rule_name = NULL;
    buf out = BUF_INIT, dump = BUF_INIT, want = BUF_INIT;
    jsonc_dump(&dump, f->event);
    assert_int_equal(
        events_input_render_transformer(
            &ctx, NULL, "{\"e\":<aws.events.event.json>,\"n\":\"<aws.events.rule-name>\"}", &out),
        0);
    buf_printf(&want, "{\"e\":%s,\"n\":\"\"}", dump.data);
    assert_string_equal(out.data, want.data);
    buf_reset(&out);
    assert_int_equal(events_input_render_path(&ctx, "$", &out), 0);
    assert_string_equal(out.data, dump.data);
    buf_free(&out);
    buf_free(&dump);
    buf_free(&want);

    ctx.event = NULL;
    buf_init(&out, 16);
    assert_int_equal(events_input_render_transformer(&ctx, NULL, "\"x\"", &out), -1);
    assert_int_equal(events_input_render_path(&ctx, "$", &out), -1);
    buf_free(&out);
}

/* ---- PutTargets: the service's checks ----------------------------------------------------- */

static int validate(const char *target_json, char *err, size_t errlen)
{
    json_t *t = parse(target_json);
    buf list = BUF_INIT;
    int n = events_input_model_errors(t, 1, &list);
    assert_int_equal(n, 0);
    err[0] = '\0';
    int rc = events_input_validate_target(t, err, errlen);
    buf_free(&list);
    json_decref(t);
    return rc;
}

static void expect_refused(const char *target_json, const char *message)
{
    char err[512];
    assert_int_equal(validate(target_json, err, sizeof err), -1);
    assert_string_equal(err, message);
}

static void expect_accepted(const char *target_json)
{
    char err[512];
    if (validate(target_json, err, sizeof err) != 0)
        fail_msg("refused %s: %s", target_json, err);
}

static void test_target_checks_accept_valid_input(void **state)
{
    expect_accepted("{\"Id\":\"t1\",\"Arn\":\"a\"}");
    expect_accepted("{\"Id\":\"t1\",\"Input\":\"{\\\"a\\\":[1,2]}\"}");
    expect_accepted("{\"Id\":\"t1\",\"Input\":\"\\\"just a string\\\"\"}");
    expect_accepted("{\"Id\":\"t1\",\"InputPath\":\"$.detail\"}");
    expect_accepted("{\"Id\":\"t1\",\"InputPath\":\"$.detail\",\"Input\":null}");
    expect_accepted("{\"Id\":\"t1\",\"InputTransformer\":{\"InputPathsMap\":{\"a\":\"$.x\"},"
                    "\"InputTemplate\":\"\\\"<a> <aws.events.rule-arn>\\\"\"}}");
    expect_accepted("{\"Id\":\"t1\",\"InputTransformer\":{\"InputTemplate\":"
                    "\"{\\\"e\\\": <aws.events.event.json>, \\\"f\\\": <aws.events.event>}\"}}");
    expect_accepted("{\"Id\":\"t1\",\"InputTransformer\":{\"InputTemplate\":"
                    "\"  {\\\"e\\\": \\\"in a string <aws.events.event.json>\\\"}\"}}");
    expect_accepted("{\"Id\":\"t1\",\"InputTransformer\":{\"InputTemplate\":\"\\\"a < b\\\"\"}}");
    expect_accepted("{\"Id\":\"t1\",\"InputTransformer\":{\"InputTemplate\":\"\\\"a <> b\\\"\"}}");
    expect_accepted("{\"Id\":\"t1\",\"InputTransformer\":{\"InputTemplate\":\"\\\"<a b>\\\"\"}}");
}

static void test_target_checks_refuse_as_aws_does(void **state)
{
    expect_refused("{\"Id\":\"t1\",\"InputPath\":\"$.detail\",\"InputTransformer\":"
                   "{\"InputTemplate\":\"\\\"x\\\"\"}}",
                   "Only one of Input, InputPath, or InputTransformer must be provided for "
                   "target t1.");
    expect_refused("{\"Id\":\"t2\",\"Input\":\"{}\",\"InputPath\":\"$\"}",
                   "Only one of Input, InputPath, or InputTransformer must be provided for "
                   "target t2.");
    expect_refused("{\"Id\":\"1\",\"Input\":\"env:dev\"}",
                   "JSON syntax error in input for target 1: [Source: (String)\"env:dev\"; "
                   "line: 1, column: 1]");
    expect_refused("{\"Id\":\"1\",\"Input\":\"{\\n\\\"a\\\": tru}\"}",
                   "JSON syntax error in input for target 1: [Source: (String)\"{\n\"a\": "
                   "tru}\"; line: 2, column: 6]");
    expect_refused("{\"Id\":\"t1\",\"InputPath\":\"detail\"}",
                   "InputPath for target t1 is invalid.");
    expect_refused("{\"Id\":\"t1\",\"InputPath\":\"$.detail['key']\"}",
                   "InputPath for target t1 is invalid.");
    expect_refused("{\"Id\":\"t1\",\"InputTransformer\":{\"InputPathsMap\":{\"a\":\"$.x['y']\"},"
                   "\"InputTemplate\":\"\\\"<a>\\\"\"}}",
                   "InputPath for target t1 is invalid.");
    expect_refused(
        "{\"Id\":\"t1\",\"InputTransformer\":{\"InputPathsMap\":{\"a\":\"$.x\"},"
        "\"InputTemplate\":\"\\\"Event <a>, with not defined key <notdefinedkey>\\\"\"}}",
        "InputTemplate for target t1 contains invalid placeholder notdefinedkey.");
    /* '<' cannot be escaped: markup reads as a placeholder. */
    expect_refused("{\"Id\":\"t1\",\"InputTransformer\":{\"InputTemplate\":\"\\\"<b>x</b>\\\"\"}}",
                   "InputTemplate for target t1 contains invalid placeholder b.");
    expect_refused("{\"Id\":\"t1\",\"InputTransformer\":{\"InputTemplate\":"
                   "\"[<aws.events.event.json>]\"}}",
                   "InputTemplate for target t1 contains placeholder aws.events.event.json valid "
                   "only for JSON template.");
    expect_refused("{\"Id\":\"t1\",\"InputTransformer\":{\"InputTemplate\":"
                   "\"\\\"<aws.events.event>\\\"\"}}",
                   "InputTemplate for target t1 contains placeholder aws.events.event valid "
                   "only for JSON template.");
    /* Names are case-sensitive. */
    expect_refused("{\"Id\":\"t1\",\"InputTransformer\":{\"InputPathsMap\":{\"a\":\"$.x\"},"
                   "\"InputTemplate\":\"\\\"<A>\\\"\"}}",
                   "InputTemplate for target t1 contains invalid placeholder A.");
}

static void test_transformer_validate_without_target(void **state)
{
    char err[512] = "";
    json_t *map = parse("{\"instance\":\"$.detail.instance-id\",\"state\":\"$.detail.state\"}");
    assert_int_equal(events_input_transformer_validate(map,
                                                       "{\"i\": <instance>, \"s\": "
                                                       "\"<state>\"}",
                                                       err, sizeof err),
                     0);
    assert_int_equal(events_input_transformer_validate(map, "\"<other>\"", err, sizeof err), -1);
    assert_string_equal(err, "InputTemplate contains invalid placeholder other.");
    assert_int_equal(events_input_transformer_validate(NULL, "\"<instance>\"", err, sizeof err),
                     -1);
    assert_string_equal(err, "InputTemplate contains invalid placeholder instance.");
    assert_int_equal(
        events_input_transformer_validate(NULL, "\"<aws.events.rule-arn>\"", err, sizeof err), 0);
    assert_int_equal(events_input_transformer_validate(map, NULL, err, sizeof err), -1);
    assert_string_equal(err, "1 validation error detected: Value null at "
                             "'inputTransformer.inputTemplate' failed to satisfy constraint: "
                             "Member must not be null");
    json_decref(map);
}

/* ---- PutTargets: the model's limits ------------------------------------------------------- */

static char *repeat(char c, size_t n)
{
    char *s = test_malloc(n + 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* Runs events_input_model_errors on `t` (consumed) and checks the count and the list. */
static void expect_model(json_t *t, int count, const char *want)
{
    buf list = BUF_INIT;
    assert_int_equal(events_input_model_errors(t, 2, &list), count);
    if (want && strcmp(list.data ? list.data : "", want) != 0)
        fail_msg("got      %s\nexpected %s", list.data, want);
    buf_free(&list);
    json_decref(t);
}

static void test_model_length_limits(void **state)
{
    /* Input: 8192 units pass, 8193 fail; "{}" padded to size with spaces is valid JSON. */
    char *s = repeat(' ', EVENTS_INPUT_MAX);
    s[0] = '{';
    s[1] = '}';
    expect_model(json_pack("{s:s}", "Input", s), 0, "");
    test_free(s);
    s = repeat(' ', EVENTS_INPUT_MAX + 1);
    expect_model(json_pack("{s:s}", "Input", s), 1, NULL);
    test_free(s);

    /* Lengths count UTF-16 units: U+1F600 is two. 4096 of them are 8192 units. */
    buf b = BUF_INIT;
    for (int i = 0; i < 4096; i++)
        buf_puts(&b, "\xf0\x9f\x98\x80");
    expect_model(json_pack("{s:s}", "Input", b.data), 0, "");
    buf_puts(&b, "x");
    expect_model(json_pack("{s:s}", "Input", b.data), 1, NULL);
    buf_free(&b);

    s = repeat('a', EVENTS_INPUT_PATH_MAX);
    s[0] = '$';
    s[1] = '.';
    expect_model(json_pack("{s:s}", "InputPath", s), 0, "");
    test_free(s);
    s = repeat('a', EVENTS_INPUT_PATH_MAX + 1);
    s[0] = '$';
    s[1] = '.';
    buf want = BUF_INIT;
    buf_printf(&want,
               "Value '%s' at 'targets.2.member.inputPath' failed to satisfy constraint: Member "
               "must have length less than or equal to 256",
               s);
    expect_model(json_pack("{s:s}", "InputPath", s), 1, want.data);
    char err[1024];
    assert_int_equal(events_input_path_validate(s, err, sizeof err), -1);
    assert_true(strncmp(err, "1 validation error detected: Value '$.aaa", 41) == 0);
    buf_free(&want);
    test_free(s);

    s = repeat('x', EVENTS_INPUT_TEMPLATE_MAX);
    expect_model(json_pack("{s:{s:s}}", "InputTransformer", "InputTemplate", s), 0, "");
    test_free(s);
    s = repeat('x', EVENTS_INPUT_TEMPLATE_MAX + 1);
    expect_model(json_pack("{s:{s:s}}", "InputTransformer", "InputTemplate", s), 1, NULL);
    test_free(s);
    expect_model(json_pack("{s:{s:s}}", "InputTransformer", "InputTemplate", ""), 1,
                 "Value '' at 'targets.2.member.inputTransformer.inputTemplate' failed to satisfy "
                 "constraint: Member must have length greater than or equal to 1");
    expect_model(json_pack("{s:{}}", "InputTransformer"), 1,
                 "Value null at 'targets.2.member.inputTransformer.inputTemplate' failed to "
                 "satisfy constraint: Member must not be null");
}

static void test_model_paths_map_limits(void **state)
{
    json_t *map = json_object();
    char key[16];
    for (int i = 0; i < EVENTS_INPUT_PATHS_MAX; i++) {
        snprintf(key, sizeof key, "k%d", i);
        json_object_set_new(map, key, json_string("$.detail"));
    }
    json_t *t = json_pack("{s:{s:O,s:s}}", "InputTransformer", "InputPathsMap", map,
                          "InputTemplate", "\"<k0>\"");
    expect_model(json_deep_copy(t), 0, "");
    char err[256];
    assert_int_equal(events_input_validate_target(t, err, sizeof err), 0);
    json_decref(t);

    json_object_set_new(map, "k100", json_string("$.detail"));
    buf list = BUF_INIT;
    t = json_pack("{s:{s:O,s:s}}", "InputTransformer", "InputPathsMap", map, "InputTemplate",
                  "\"x\"");
    assert_int_equal(events_input_model_errors(t, 1, &list), 1);
    assert_non_null(strstr(list.data, "' at 'targets.1.member.inputTransformer.inputPathsMap' "
                                      "failed to satisfy constraint: Member must have length "
                                      "less than or equal to 100"));
    assert_int_equal(events_input_transformer_validate(map, "\"x\"", err, sizeof err), -1);
    assert_true(strncmp(err, "1 validation error detected: Value '{k0=$.detail, k1=", 52) == 0);
    buf_free(&list);
    json_decref(t);
    json_decref(map);

    /* Keys: [A-Za-z0-9_-]+, 1 to 256 long; reserved aws.events.* names fail the pattern. A key
     * merely starting with AWS is fine. */
    const char *good_keys[] = {"AWSthing", "a-b_C9", "x"};
    for (size_t i = 0; i < sizeof good_keys / sizeof good_keys[0]; i++)
        expect_model(json_pack("{s:{s:{s:s},s:s}}", "InputTransformer", "InputPathsMap",
                               good_keys[i], "$.a", "InputTemplate", "\"x\""),
                     0, "");
    char *long_key = repeat('k', EVENTS_INPUT_KEY_MAX + 1);
    const char *bad_keys[] = {"aws.events.rule-name", "a b", "", "caf\xc3\xa9", long_key};
    for (size_t i = 0; i < sizeof bad_keys / sizeof bad_keys[0]; i++)
        expect_model(json_pack("{s:{s:{s:s},s:s}}", "InputTransformer", "InputPathsMap",
                               bad_keys[i], "$.a", "InputTemplate", "\"x\""),
                     1, NULL);
    test_free(long_key);
    expect_model(json_pack("{s:{s:{s:s},s:s}}", "InputTransformer", "InputPathsMap",
                           "aws.events.rule-name", "$.a", "InputTemplate", "\"x\""),
                 1,
                 "Value '{aws.events.rule-name=$.a}' at "
                 "'targets.2.member.inputTransformer.inputPathsMap' failed to satisfy constraint: "
                 "Map keys must satisfy constraint: [Member must have length less than or equal "
                 "to 256, Member must have length greater than or equal to 1, Member must satisfy "
                 "regular expression pattern: [A-Za-z0-9\\_\\-]+]");

    /* Values: at most 256 long. Several violations are all listed. */
    char *long_path = repeat('a', EVENTS_INPUT_PATH_MAX + 1);
    expect_model(json_pack("{s:s,s:{s:{s:s},s:s}}", "InputPath", long_path, "InputTransformer",
                           "InputPathsMap", "a.b", long_path, "InputTemplate", ""),
                 4, NULL);
    test_free(long_path);
}

static void test_model_wrong_types(void **state)
{
    const char *bad[] = {
        "{\"Input\":{}}",
        "{\"InputPath\":1}",
        "{\"InputTransformer\":\"x\"}",
        "{\"InputTransformer\":{\"InputTemplate\":1}}",
        "{\"InputTransformer\":{\"InputTemplate\":\"x\",\"InputPathsMap\":[]}}",
        "{\"InputTransformer\":{\"InputTemplate\":\"x\",\"InputPathsMap\":{\"a\":1}}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        buf list = BUF_INIT;
        json_t *t = parse(bad[i]);
        assert_int_equal(events_input_model_errors(t, 1, &list), -1);
        assert_true(list.len > 0);
        buf_free(&list);
        json_decref(t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_input_path_selects_members_elements_and_wildcards),
        cmocka_unit_test(test_input_path_that_matches_nothing_fails),
        cmocka_unit_test(test_path_syntax),
        cmocka_unit_test(test_documented_string_templates),
        cmocka_unit_test(test_documented_json_templates),
        cmocka_unit_test(test_missing_path_renders_empty),
        cmocka_unit_test(test_placeholder_outside_quotes_is_json),
        cmocka_unit_test(test_placeholder_inside_quotes_is_text),
        cmocka_unit_test(test_substituted_strings_escaping),
        cmocka_unit_test(test_quote_tracking),
        cmocka_unit_test(test_text_that_is_not_a_placeholder_is_copied),
        cmocka_unit_test(test_predefined_variables),
        cmocka_unit_test(test_event_json_without_text_is_dumped),
        cmocka_unit_test(test_target_checks_accept_valid_input),
        cmocka_unit_test(test_target_checks_refuse_as_aws_does),
        cmocka_unit_test(test_transformer_validate_without_target),
        cmocka_unit_test(test_model_length_limits),
        cmocka_unit_test(test_model_paths_map_limits),
        cmocka_unit_test(test_model_wrong_types),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
