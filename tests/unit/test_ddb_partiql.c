/* PartiQL for DynamoDB: statements parsed and planned into the internal requests (Query or
 * Scan, PutItem, UpdateItem, DeleteItem, GetItem) with their expressions and placeholders,
 * and the statements refused with DynamoDB's messages. Table-driven. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "services/dynamodb/ddb_partiql.h"

#include <stdio.h>
#include <string.h>

static json_t *parse_json(const char *text)
{
    if (!text)
        return NULL;
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);
    if (!v)
        fail_msg("bad test JSON %s: %s", text, e.text);
    return v;
}

/* Plans statement (params JSON) for a table keyed pk (+ sk) and compares with want. */
static void check_plan(const char *statement, const char *params, const char *range,
                       const char *want_op, const char *want)
{
    json_t *p = parse_json(params);
    ddb_pq_stmt *s;
    char err[512] = "";
    if (ddb_pq_parse(statement, p, &s, err, sizeof err))
        fail_msg("%s: %s", statement, err);
    const char *op = NULL;
    json_t *req = ddb_pq_plan(s, "pk", range, &op, err, sizeof err);
    if (!req)
        fail_msg("%s: plan: %s", statement, err);
    json_t *w = parse_json(want);
    if (!json_equal(req, w) || strcmp(op, want_op) != 0) {
        char *got = json_dumps(req, JSON_SORT_KEYS | JSON_COMPACT);
        fail_msg("%s:\n got %s %s\nwant %s %s", statement, op, got, want_op, want);
    }
    json_decref(w);
    json_decref(req);
    json_decref(p);
    ddb_pq_free(s);
}

static void test_select_plans(void **state)
{
    (void)state;
    check_plan("SELECT * FROM \"t\" WHERE pk = 'a'", NULL, NULL, "Query",
               "{\"TableName\":\"t\",\"KeyConditionExpression\":\"#n0 = :v0\","
               "\"ExpressionAttributeNames\":{\"#n0\":\"pk\"},"
               "\"ExpressionAttributeValues\":{\":v0\":{\"S\":\"a\"}}}");
    check_plan("select a, b.c[2] from t where pk = ? and sk > 3 and a <> 'x'", "[{\"S\":\"p\"}]",
               "sk", "Query",
               "{\"TableName\":\"t\",\"ProjectionExpression\":\"#n0, #n1.#n2[2]\","
               "\"KeyConditionExpression\":\"#n3 = :v0 AND #n4 > :v1\","
               "\"FilterExpression\":\"#n0 <> :v2\","
               "\"ExpressionAttributeNames\":{\"#n0\":\"a\",\"#n1\":\"b\",\"#n2\":\"c\","
               "\"#n3\":\"pk\",\"#n4\":\"sk\"},"
               "\"ExpressionAttributeValues\":{\":v0\":{\"S\":\"p\"},\":v1\":{\"N\":\"3\"},"
               "\":v2\":{\"S\":\"x\"}}}");
    /* two conditions on the sort key: a Scan filters them all */
    check_plan("SELECT * FROM t WHERE pk = 'a' AND sk > 1 AND sk < 4", NULL, "sk", "Scan",
               "{\"TableName\":\"t\",\"FilterExpression\":\"#n0 = :v0 AND #n1 > :v1 AND "
               "#n1 < :v2\",\"ExpressionAttributeNames\":{\"#n0\":\"pk\",\"#n1\":\"sk\"},"
               "\"ExpressionAttributeValues\":{\":v0\":{\"S\":\"a\"},\":v1\":{\"N\":\"1\"},"
               "\":v2\":{\"N\":\"4\"}}}");
    check_plan("SELECT * FROM \"t\".\"ix\" WHERE x IS MISSING OR begins_with(y, 'p')", NULL, NULL,
               "Scan",
               "{\"TableName\":\"t\",\"IndexName\":\"ix\","
               "\"FilterExpression\":\"attribute_not_exists(#n0) OR begins_with(#n1, :v0)\","
               "\"ExpressionAttributeNames\":{\"#n0\":\"x\",\"#n1\":\"y\"},"
               "\"ExpressionAttributeValues\":{\":v0\":{\"S\":\"p\"}}}");
    check_plan("SELECT * FROM t WHERE a IN [1, 'b'] AND NOT (size(c) BETWEEN -1 AND 2.5e3)", NULL,
               NULL, "Scan",
               "{\"TableName\":\"t\",\"FilterExpression\":\"#n0 IN (:v0, :v1) AND NOT "
               "(size(#n1) BETWEEN :v2 AND :v3)\","
               "\"ExpressionAttributeNames\":{\"#n0\":\"a\",\"#n1\":\"c\"},"
               "\"ExpressionAttributeValues\":{\":v0\":{\"N\":\"1\"},\":v1\":{\"S\":\"b\"},"
               "\":v2\":{\"N\":\"-1\"},\":v3\":{\"N\":\"2.5e3\"}}}");
}

static void test_write_plans(void **state)
{
    (void)state;
    check_plan("INSERT INTO \"t\" VALUE {'pk': 'it''s', 'n': [TRUE, NULL], 's': <<1, 2>>}", NULL,
               NULL, "PutItem",
               "{\"TableName\":\"t\",\"Item\":{\"pk\":{\"S\":\"it's\"},\"n\":{\"L\":[{\"BOOL\":"
               "true},{\"NULL\":true}]},\"s\":{\"NS\":[\"1\",\"2\"]}},"
               "\"ConditionExpression\":\"attribute_not_exists(#pqkey)\","
               "\"ExpressionAttributeNames\":{\"#pqkey\":\"pk\"}}");
    check_plan("UPDATE t SET a = a + 1, b = ? REMOVE c WHERE pk = 'k' AND sk = 2 AND a < 9",
               "[{\"S\":\"v\"}]", "sk", "UpdateItem",
               "{\"TableName\":\"t\",\"Key\":{\"pk\":{\"S\":\"k\"},\"sk\":{\"N\":\"2\"}},"
               "\"UpdateExpression\":\"SET #n0 = #n0 + :v0, #n1 = :v1 REMOVE #n2\","
               "\"ConditionExpression\":\"attribute_exists(#pqkey) AND #n0 < :v4\","
               "\"ExpressionAttributeNames\":{\"#n0\":\"a\",\"#n1\":\"b\",\"#n2\":\"c\","
               "\"#pqkey\":\"pk\"},\"ExpressionAttributeValues\":{\":v0\":{\"N\":\"1\"},"
               "\":v1\":{\"S\":\"v\"},\":v4\":{\"N\":\"9\"}}}");
    check_plan("EXISTS(SELECT * FROM \"t\" WHERE pk = 'k' AND n > 1)", NULL, NULL, "ConditionCheck",
               "{\"TableName\":\"t\",\"Key\":{\"pk\":{\"S\":\"k\"}},"
               "\"ConditionExpression\":\"attribute_exists(#pqkey) AND #n1 > :v1\","
               "\"ExpressionAttributeNames\":{\"#n1\":\"n\",\"#pqkey\":\"pk\"},"
               "\"ExpressionAttributeValues\":{\":v1\":{\"N\":\"1\"}}}");
    check_plan("DELETE FROM t WHERE pk = 'k';", NULL, NULL, "DeleteItem",
               "{\"TableName\":\"t\",\"Key\":{\"pk\":{\"S\":\"k\"}},"
               "\"ConditionExpression\":\"attribute_exists(#pqkey)\","
               "\"ExpressionAttributeNames\":{\"#pqkey\":\"pk\"}}");
}

static void test_get_requests(void **state)
{
    (void)state;
    ddb_pq_stmt *s;
    char err[512];
    assert_int_equal(
        ddb_pq_parse("SELECT a FROM t WHERE sk = 1 AND pk = 'x'", NULL, &s, err, sizeof err), 0);
    json_t *req = ddb_pq_get_request(s, "pk", "sk", err, sizeof err);
    json_t *want = parse_json("{\"TableName\":\"t\",\"Key\":{\"pk\":{\"S\":\"x\"},\"sk\":{\"N\":"
                              "\"1\"}},\"ProjectionExpression\":\"#n0\","
                              "\"ExpressionAttributeNames\":{\"#n0\":\"a\"}}");
    assert_true(json_equal(req, want));
    json_decref(req);
    json_decref(want);
    assert_null(ddb_pq_get_request(s, "pk", "other", err, sizeof err));
    assert_string_equal(err,
                        "Where clause does not contain a mandatory equality on all key attributes");
    ddb_pq_free(s);
}

static void test_refused_statements(void **state)
{
    (void)state;
    static const struct {
        const char *statement, *params, *message;
    } cases[] = {
        {"SELEC * FROM t", NULL, "Statement wasn't well formed, can't be processed: "},
        {"SELECT * FROM", NULL, "Statement wasn't well formed, can't be processed: "},
        {"SELECT * FROM t WHERE", NULL, "Statement wasn't well formed, can't be processed: "},
        {"SELECT * FROM t WHERE a = 'unterminated", NULL,
         "Statement wasn't well formed, can't be processed: "},
        {"SELECT * FROM t extra", NULL, "Statement wasn't well formed, can't be processed: "},
        {"INSERT INTO t VALUE 'x'", NULL, "Statement wasn't well formed, can't be processed: "},
        {"INSERT INTO t VALUE {'a': 1, 'a': 2}", NULL,
         "Statement wasn't well formed, can't be processed: "},
        {"INSERT INTO t VALUE {'a': <<1, 'x'>>}", NULL,
         "Statement wasn't well formed, can't be processed: "},
        {"UPDATE t WHERE pk = 1", NULL, "Statement wasn't well formed, can't be processed: "},
        {"DELETE FROM t", NULL, "Statement wasn't well formed, can't be processed: "},
        {"EXISTS(SELECT * FROM t)", NULL, "Statement wasn't well formed, can't be processed: "},
        {"EXISTS(DELETE FROM t WHERE pk = 1)", NULL,
         "Statement wasn't well formed, can't be processed: "},
        {"SELECT * FROM t WHERE a = ?", NULL,
         "Number of parameters in request and statement don't match."},
        {"SELECT * FROM t", "[{\"S\":\"x\"}]",
         "Number of parameters in request and statement don't match."},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *p = parse_json(cases[i].params);
        ddb_pq_stmt *s = NULL;
        char err[512] = "";
        if (ddb_pq_parse(cases[i].statement, p, &s, err, sizeof err) == 0)
            fail_msg("accepted: %s", cases[i].statement);
        if (strncmp(err, cases[i].message, strlen(cases[i].message)) != 0)
            fail_msg("%s: %s", cases[i].statement, err);
        json_decref(p);
    }
    /* a write without equality on every key attribute */
    ddb_pq_stmt *s;
    char err[512];
    assert_int_equal(
        ddb_pq_parse("DELETE FROM t WHERE pk = 'a' OR pk = 'b'", NULL, &s, err, sizeof err), 0);
    const char *op;
    assert_null(ddb_pq_plan(s, "pk", NULL, &op, err, sizeof err));
    assert_string_equal(err,
                        "Where clause does not contain a mandatory equality on all key attributes");
    ddb_pq_free(s);
}

static void test_deep_nesting_is_refused(void **state)
{
    (void)state;
    char text[512] = "INSERT INTO t VALUE {'pk': ";
    for (int i = 0; i < 40; i++)
        strcat(text, "[");
    for (int i = 0; i < 40; i++)
        strcat(text, "]");
    strcat(text, "}");
    ddb_pq_stmt *s;
    char err[512];
    assert_int_equal(ddb_pq_parse(text, NULL, &s, err, sizeof err), -1);
    assert_non_null(strstr(err, "nested too deeply"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_select_plans),
        cmocka_unit_test(test_write_plans),
        cmocka_unit_test(test_get_requests),
        cmocka_unit_test(test_refused_statements),
        cmocka_unit_test(test_deep_nesting_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
