/* DynamoDB expressions: parse and validation errors with DynamoDB's exact messages,
 * condition evaluation, key conditions, updates (new item, runtime errors, UPDATED_*
 * attributes) and projections. Table-driven. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "services/dynamodb/ddb_expr.h"
#include "services/dynamodb/ddb_expr_internal.h"
#include "services/dynamodb/ddb_value.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *parse(const char *text)
{
    if (!text)
        return NULL;
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);
    if (!v)
        fail_msg("bad test JSON %s: %s", text, e.text);
    return v;
}

static ddb_text text(const char *s)
{
    return (ddb_text){s, s ? strlen(s) : 0};
}

typedef struct request {
    const char *condition, *key_condition, *filter, *update, *projection;
    const char *names, *values; /* JSON */
} request;

typedef struct compiled {
    ddb_exprs *e;
    json_t *names, *values;
    int rc;
    char err[1024];
} compiled;

static compiled compile(const request *r)
{
    compiled c = {0};
    c.names = parse(r->names);
    c.values = parse(r->values);
    ddb_expr_input in = {.condition = text(r->condition),
                         .key_condition = text(r->key_condition),
                         .filter = text(r->filter),
                         .update = text(r->update),
                         .projection = text(r->projection),
                         .names = c.names,
                         .values = c.values};
    c.rc = ddb_exprs_compile(&c.e, &in, c.err, sizeof c.err);
    return c;
}

static void release(compiled *c)
{
    ddb_exprs_free(c->e);
    json_decref(c->names);
    json_decref(c->values);
}

/* ----------------------------------------------------------- validation errors */

typedef struct error_case {
    request r;
    const char *msg;
} error_case;

#define V1 "{\":v\":{\"S\":\"x\"}}"

static const error_case error_cases[] = {
    /* Syntax errors: the token and the text around it. */
    {{.update = "SETT a = :v", .values = V1},
     "Invalid UpdateExpression: Syntax error; token: \"SETT\", near: \"SETT a\""},
    {{.update = "SET", .values = NULL},
     "Invalid UpdateExpression: Syntax error; token: \"<EOF>\", near: \"SET\""},
    {{.update = "SET a = ", .values = NULL},
     "Invalid UpdateExpression: Syntax error; token: \"<EOF>\", near: \"= \""},
    {{.update = "SET a = :v,", .values = V1},
     "Invalid UpdateExpression: Syntax error; token: \"<EOF>\", near: \",\""},
    {{.update = "SET a = :v + :v + :v", .values = V1},
     "Invalid UpdateExpression: Syntax error; token: \"+\", near: \":v + :v\""},
    {{.update = "ADD a 1"}, "Invalid UpdateExpression: Syntax error; token: \"1\", near: \"a 1\""},
    {{.condition = "whatever"},
     "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"whatever\""},
    {{.condition = "a = 1"},
     "Invalid ConditionExpression: Syntax error; token: \"1\", near: \"= 1\""},
    {{.condition = "attribute_type()"},
     "Invalid ConditionExpression: Syntax error; token: \")\", near: \"()\""},
    {{.condition = "a = :v AND", .values = V1},
     "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"AND\""},
    {{.condition = "a @ :v", .values = V1},
     "Invalid ConditionExpression: Syntax error; token: \"@\", near: \"a @ :v\""},
    {{.condition = "(a = :v", .values = V1},
     "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \":v\""},
    {{.condition = "a BETWEEN :v", .values = V1},
     "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \":v\""},
    {{.condition = "and = :v", .values = V1},
     "Invalid ConditionExpression: Syntax error; token: \"and\", near: \"and =\""},
    {{.projection = "l[a]"},
     "Invalid ProjectionExpression: Syntax error; token: \"a\", near: \"[a]\""},
    {{.projection = "a,"},
     "Invalid ProjectionExpression: Syntax error; token: \"<EOF>\", near: \",\""},
    /* Empty and oversized expressions. */
    {{.condition = ""}, "Invalid ConditionExpression: The expression can not be empty;"},
    {{.update = ""}, "Invalid UpdateExpression: The expression can not be empty;"},
    {{.projection = ""}, "Invalid ProjectionExpression: The expression can not be empty;"},
    /* Names and values. */
    {{.condition = "a = :x", .values = V1},
     "Invalid ConditionExpression: An expression attribute value used in expression is not "
     "defined; attribute value: :x"},
    {{.condition = "#a = :v", .values = V1},
     "Invalid ConditionExpression: An expression attribute name used in the document path is "
     "not defined; attribute name: #a"},
    {{.update = "SET a = :x"},
     "Invalid UpdateExpression: An expression attribute value used in expression is not "
     "defined; attribute value: :x"},
    {{.condition = "a = :v", .values = "{\":v\":{\"S\":\"x\"},\":w\":{\"S\":\"y\"}}"},
     "Value provided in ExpressionAttributeValues unused in expressions: keys: {:w}"},
    {{.update = "SET a = :v", .values = "{\":v\":{\"S\":\"x\"}}", .names = "{\"#n\":\"b\"}"},
     "Value provided in ExpressionAttributeNames unused in expressions: keys: {#n}"},
    {{.update = "SET a = :v", .values = V1, .names = "{}"},
     "ExpressionAttributeNames must not be empty"},
    {{.update = "SET a = :v", .values = "{}"}, "ExpressionAttributeValues must not be empty"},
    {{.update = "SET a = :v", .values = "{\":v\":{\"S\":\"x\"},\"b\":{\"S\":\"a\"}}"},
     "ExpressionAttributeValues contains invalid key: Syntax error; key: \"b\""},
    {{.update = "SET a = #v", .names = "{\"v\":\"x\"}"},
     "ExpressionAttributeNames contains invalid key: Syntax error; key: \"v\""},
    {{.update = "SET a = :v", .values = "{\":v\":{\"SS\":[]}}"},
     "ExpressionAttributeValues contains invalid value: One or more parameter values were "
     "invalid: An string set  may not be empty for key :v"},
    {{.update = "SET a = :v", .values = "{\":v\":{\"N\":\"x\"}}"},
     "ExpressionAttributeValues contains invalid value: The parameter cannot be converted to a "
     "numeric value: x for key :v"},
    /* Reserved words. */
    {{.condition = "status = :v", .values = V1},
     "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: status"},
    {{.update = "SET a.Name = :v", .values = V1},
     "Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: Name"},
    {{.projection = "id, size"},
     "Invalid ProjectionExpression: Attribute name is a reserved keyword; reserved keyword: size"},
    /* Functions. */
    {{.condition = "foo(a)"}, "Invalid ConditionExpression: Invalid function name; function: foo"},
    {{.update = "SET a = size(b)"},
     "Invalid UpdateExpression: Invalid function name; function: size"},
    {{.condition = "size(a)"},
     "Invalid ConditionExpression: The function is not allowed to be used this way in an "
     "expression; function: size"},
    {{.condition = "attribute_exists(a) = :v", .values = V1},
     "Invalid ConditionExpression: The function is not allowed to be used this way in an "
     "expression; function: attribute_exists"},
    {{.condition = "begins_with(a, :v, :v)", .values = V1},
     "Invalid ConditionExpression: Incorrect number of operands for operator or function; "
     "operator or function: begins_with, number of operands: 3"},
    {{.condition = "attribute_exists(a, b)"},
     "Invalid ConditionExpression: Incorrect number of operands for operator or function; "
     "operator or function: attribute_exists, number of operands: 2"},
    {{.condition = "attribute_exists(:v)", .values = V1},
     "Invalid ConditionExpression: Operator or function requires a document path; operator or "
     "function: attribute_exists"},
    {{.condition = "begins_with(a, :n)", .values = "{\":n\":{\"N\":\"1\"}}"},
     "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or "
     "function: begins_with, operand type: N"},
    {{.condition = "size(:n) > :n", .values = "{\":n\":{\"N\":\"1\"}}"},
     "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or "
     "function: size, operand type: N"},
    {{.condition = "attribute_type(a, :t)", .values = "{\":t\":{\"S\":\"X\"}}"},
     "Invalid ConditionExpression: Invalid attribute type name found; type: X, valid types: "
     "{B,NULL,SS,BOOL,L,BS,N,NS,S,M}"},
    {{.condition = "attribute_type(a, :t)", .values = "{\":t\":{\"N\":\"1\"}}"},
     "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or "
     "function: attribute_type, operand type: N"},
    {{.condition = "attribute_type(a, b)"},
     "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or "
     "function: attribute_type, operand type: {NS,SS,L,BS,N,M,B,BOOL,NULL,S}"},
    {{.condition = "a = a"},
     "Invalid ConditionExpression: The first operand must be distinct from the remaining "
     "operands for this operator or function; operator: =, first operand: [a]"},
    {{.condition = "contains(a.b, a.b)"},
     "Invalid ConditionExpression: The first operand must be distinct from the remaining "
     "operands for this operator or function; operator: contains, first operand: [a, b]"},
    {{.condition = "a between :b and :a", .values = "{\":a\":{\"S\":\"a\"},\":b\":{\"N\":\"1\"}}"},
     "Invalid ConditionExpression: The BETWEEN operator requires same data type for lower and "
     "upper bounds; lower bound operand: AttributeValue: {N:1}, upper bound operand: "
     "AttributeValue: {S:a}"},
    {{.condition = "a between :b and :a", .values = "{\":a\":{\"S\":\"a\"},\":b\":{\"S\":\"b\"}}"},
     "Invalid ConditionExpression: The BETWEEN operator requires upper bound to be greater than "
     "or equal to lower bound; lower bound operand: AttributeValue: {S:b}, upper bound operand: "
     "AttributeValue: {S:a}"},
    {{.condition = "((a = :v))", .values = V1},
     "Invalid ConditionExpression: The expression has redundant parentheses;"},
    /* Update checks. */
    {{.update = "SET a = :v SET b = :v", .values = V1},
     "Invalid UpdateExpression: The \"SET\" section can only be used once in an update "
     "expression;"},
    {{.update = "SET a = :v, a.b = :v", .values = V1},
     "Invalid UpdateExpression: Two document paths overlap with each other; must remove or "
     "rewrite one of these paths; path one: [a], path two: [a, b]"},
    {{.update = "SET #a = :v REMOVE a", .values = V1, .names = "{\"#a\":\"a\"}"},
     "Invalid UpdateExpression: Two document paths overlap with each other; must remove or "
     "rewrite one of these paths; path one: [a], path two: [a]"},
    {{.update = "SET a.b = :v REMOVE a[1]", .values = V1},
     "Invalid UpdateExpression: Two document paths conflict with each other; must remove or "
     "rewrite one of these paths; path one: [a, b], path two: [a, [1]]"},
    {{.update = "ADD a :v", .values = V1},
     "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, "
     "operand type: STRING"},
    {{.update = "DELETE a :n", .values = "{\":n\":{\"N\":\"1\"}}"},
     "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: "
     "DELETE, operand type: NUMBER"},
    {{.update = "SET a = :v + :v", .values = V1},
     "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or "
     "function: +, operand type: S"},
    {{.update = "SET a = list_append(a, :v)", .values = V1},
     "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or "
     "function: list_append, operand type: S"},
    {{.update = "SET a = if_not_exists(:v, a)", .values = V1},
     "Invalid UpdateExpression: Operator or function requires a document path; operator or "
     "function: if_not_exists"},
    {{.update = "SET a = if_not_exists(a)"},
     "Invalid UpdateExpression: Incorrect number of operands for operator or function; operator "
     "or function: if_not_exists, number of operands: 1"},
    /* Projection overlap. */
    {{.projection = "a, a.b"},
     "Invalid ProjectionExpression: Two document paths overlap with each other; must remove or "
     "rewrite one of these paths; path one: [a], path two: [a, b]"},
    /* Key conditions. */
    {{.key_condition = "id = :v OR sk = :v", .values = V1},
     "Invalid operator used in KeyConditionExpression: OR"},
    {{.key_condition = "NOT id = :v", .values = V1},
     "Invalid operator used in KeyConditionExpression: NOT"},
    {{.key_condition = "id <> :v", .values = V1},
     "Invalid operator used in KeyConditionExpression: <>"},
    {{.key_condition = "id IN (:v)", .values = V1},
     "Invalid operator used in KeyConditionExpression: IN"},
    {{.key_condition = "id = :v AND contains(sk, :v)", .values = V1},
     "Invalid operator used in KeyConditionExpression: contains"},
    {{.key_condition = "size(id) = :v", .values = V1},
     "KeyConditionExpressions cannot contain nested operations"},
    {{.key_condition = "id = sk"},
     "Invalid condition in KeyConditionExpression: Multiple attribute names used in one "
     "condition"},
    {{.key_condition = "id.x = :v", .values = V1},
     "KeyConditionExpressions cannot have conditions on nested attributes"},
    {{.key_condition = ":v = :v", .values = V1},
     "Invalid condition in KeyConditionExpression: No key attribute specified"},
    {{.key_condition = "id = :v AND id = :v", .values = V1},
     "KeyConditionExpressions must only contain one condition per key"},
    {{.key_condition = "begins_with(:v, id)", .values = V1},
     "Invalid condition in KeyConditionExpression: begins_with operator must have the key "
     "attribute as its first operand"},
    /* Errors across expressions: each name must be used by some expression. */
    {{.condition = "attribute_exists(#a)",
      .projection = "#b",
      .names = "{\"#a\":\"x\",\"#b\":\"y\",\"#c\":\"z\"}"},
     "Value provided in ExpressionAttributeNames unused in expressions: keys: {#c}"},
};

static void test_errors_have_dynamodbs_messages(void **state)
{
    for (size_t i = 0; i < sizeof error_cases / sizeof *error_cases; i++) {
        compiled c = compile(&error_cases[i].r);
        if (c.rc == 0)
            fail_msg("case %zu was accepted, want: %s", i, error_cases[i].msg);
        if (strcmp(c.err, error_cases[i].msg) != 0)
            fail_msg("case %zu:\n got: %s\nwant: %s", i, c.err, error_cases[i].msg);
        assert_null(c.e);
        release(&c);
    }
}

static void test_size_limits(void **state)
{
    char big[4200];
    memset(big, 'a', sizeof big);
    memcpy(big, "attribute_exists(", 17);
    big[4096] = ')';
    big[4097] = '\0';
    request r = {.condition = big};
    compiled c = compile(&r);
    assert_int_equal(c.rc, -1);
    assert_string_equal(c.err, "Invalid ConditionExpression: Expression size has exceeded the "
                               "maximum allowed size; expression size: 4097");
    release(&c);
    big[4095] = ')';
    big[4096] = '\0';
    r.condition = big;
    c = compile(&r);
    assert_int_equal(c.rc, 0);
    release(&c);

    /* IN takes up to 100 operands. */
    buf in = BUF_INIT;
    buf_puts(&in, "a IN (:v");
    for (int i = 1; i < 101; i++)
        buf_puts(&in, ", :v");
    buf_puts(&in, ")");
    r = (request){.condition = in.data, .values = V1};
    c = compile(&r);
    assert_int_equal(c.rc, -1);
    assert_string_equal(c.err, "Invalid ConditionExpression: The IN operator is provided with too "
                               "many operands; number of operands: 101");
    release(&c);
    in.len -= 5; /* drop the last ", :v" */
    buf_puts(&in, ")");
    r.condition = in.data;
    c = compile(&r);
    assert_int_equal(c.rc, 0);
    release(&c);
    buf_free(&in);
}

static void test_reserved_words_table_is_sorted_and_complete(void **state)
{
    assert_int_equal(ddb_reserved_count(), 573);
    for (size_t i = 1; i < ddb_reserved_count(); i++)
        assert_true(strcmp(ddb_reserved_at(i - 1), ddb_reserved_at(i)) < 0);
    for (size_t i = 0; i < ddb_reserved_count(); i++)
        assert_true(ddb_is_reserved(ddb_reserved_at(i), strlen(ddb_reserved_at(i))));
    assert_true(ddb_is_reserved("status", 6));
    assert_true(ddb_is_reserved("ZoNe", 4));
    assert_false(ddb_is_reserved("statuses", 8));
    assert_false(ddb_is_reserved("order_id", 8));
}

/* ------------------------------------------------------------------ evaluation */

static const char *const eval_item =
    "{\"id\":{\"S\":\"k1\"},\"n\":{\"N\":\"10\"},\"f\":{\"N\":\"-2.5\"},\"s\":{\"S\":\"hello\"},"
    "\"b\":{\"B\":\"AAEC\"},\"t\":{\"BOOL\":true},\"z\":{\"NULL\":true},"
    "\"ss\":{\"SS\":[\"x\",\"y\"]},\"ns\":{\"NS\":[\"1\",\"2.5\"]},\"bs\":{\"BS\":[\"AQ==\"]},"
    "\"l\":{\"L\":[{\"S\":\"e0\"},{\"N\":\"1\"},{\"M\":{\"deep\":{\"S\":\"v\"}}}]},"
    "\"m\":{\"M\":{\"a\":{\"N\":\"1\"},\"b c\":{\"S\":\"q\"},\"lst\":{\"L\":[{\"N\":\"5\"}]}}},"
    "\"status\":{\"S\":\"open\"}}";

static const char *const eval_values =
    "{\":n10\":{\"N\":\"10\"},\":n10b\":{\"N\":\"1e1\"},\":n5\":{\"N\":\"5\"},"
    "\":n20\":{\"N\":\"20\"},\":s\":{\"S\":\"hello\"},\":he\":{\"S\":\"he\"},"
    "\":ll\":{\"S\":\"ll\"},\":x\":{\"S\":\"x\"},\":S\":{\"S\":\"S\"},\":N\":{\"S\":\"N\"},"
    "\":SS\":{\"S\":\"SS\"},\":L\":{\"S\":\"L\"},\":M\":{\"S\":\"M\"},\":NULL\":{\"S\":\"NULL\"},"
    "\":BOOL\":{\"S\":\"BOOL\"},\":true\":{\"BOOL\":true},\":b01\":{\"B\":\"AAE=\"},"
    "\":b1\":{\"B\":\"AQ==\"},\":one\":{\"N\":\"1\"},\":two5\":{\"N\":\"2.50\"},"
    "\":e0\":{\"S\":\"e0\"},\":ssxy\":{\"SS\":[\"y\",\"x\"]},\":three\":{\"N\":\"3\"},"
    "\":v\":{\"S\":\"v\"},\":open\":{\"S\":\"open\"},\":a\":{\"S\":\"a\"},\":z\":{\"S\":\"z\"},"
    "\":neg\":{\"N\":\"-3\"},\":zero\":{\"N\":\"0\"},\":q\":{\"S\":\"q\"}}";

typedef struct eval_case {
    const char *condition;
    int want;
} eval_case;

static const eval_case eval_cases[] = {
    {"n = :n10", 1},
    {"n = :n10b", 1},
    {"n <> :n10", 0},
    {"n <> :s", 1}, /* different types are not equal */
    {"n = :s", 0},
    {"n < :n20", 1},
    {"n <= :n10", 1},
    {"n > :n5", 1},
    {"n >= :n20", 0},
    {"f < :zero", 1},
    {"f > :neg", 1},
    {"s > :he", 1},
    {"s < :he", 0},
    {"s < :n5", 0}, /* comparing different types is false, not an error */
    {"absent = :s", 0},
    {"absent <> :s", 1},
    {"absent < :s", 0},
    {"b > :b01", 1},
    {"t = :true", 1},
    {"t < :true", 0},
    {"n BETWEEN :n5 AND :n20", 1},
    {"n BETWEEN :n10 AND :n10b", 1},
    {"n between :n20 and :n20", 0},
    {"s BETWEEN :a AND :z", 1},
    {"s BETWEEN :n5 AND :n20", 0},
    {"n IN (:n5, :n10b)", 1},
    {"n IN (:n5, :n20)", 0},
    {"s IN (:s)", 1},
    {"absent IN (:s)", 0},
    {"attribute_exists(n)", 1},
    {"attribute_exists(absent)", 0},
    {"attribute_not_exists(absent)", 1},
    {"attribute_exists(l[2].deep)", 1},
    {"attribute_exists(l[3])", 0},
    {"attribute_exists(m.a)", 1},
    {"attribute_exists(m.a.b)", 0},
    {"attribute_exists(n[0])", 0},
    {"attribute_type(s, :S)", 1},
    {"attribute_type(n, :N)", 1},
    {"attribute_type(ss, :SS)", 1},
    {"attribute_type(l, :L)", 1},
    {"attribute_type(m, :M)", 1},
    {"attribute_type(z, :NULL)", 1},
    {"attribute_type(t, :BOOL)", 1},
    {"attribute_type(s, :N)", 0},
    {"attribute_type(absent, :S)", 0},
    {"begins_with(s, :he)", 1},
    {"begins_with(s, :ll)", 0},
    {"begins_with(b, :b01)", 1},
    {"begins_with(n, :he)", 0},
    {"contains(s, :ll)", 1},
    {"contains(s, :x)", 0},
    {"contains(ss, :x)", 1},
    {"contains(ss, :s)", 0},
    {"contains(ns, :two5)", 1},
    {"contains(ns, :three)", 0},
    {"contains(bs, :b1)", 1},
    {"contains(b, :b1)", 1},
    {"contains(l, :e0)", 1},
    {"contains(l, :one)", 1},
    {"contains(l, :s)", 0},
    {"contains(ns, :s)", 0},
    {"size(s) = :n5", 1},
    {"size(ss) < :three", 1},
    {"size(l) = :three", 1},
    {"size(m) = :three", 1},
    {"size(b) = :three", 1},
    {"size(n) = :one", 0}, /* size of a number has no value */
    {"size(absent) = :zero", 0},
    {"size(m.lst) = :one", 1},
    {"ss = :ssxy", 1},
    {"m.lst[0] = :n5", 1},
    {"m.#bc = :q", 1},
    {"#st = :open", 1},
    {"n = :n10 AND s = :s", 1},
    {"n = :n5 AND s = :s", 0},
    {"n = :n5 OR s = :s", 1},
    {"NOT n = :n5", 1},
    {"NOT (n = :n10 OR s = :x)", 0},
    {"n = :n5 OR n = :n10 AND s = :x", 0}, /* AND binds tighter than OR */
    {"(n = :n5 OR n = :n10) AND s = :s", 1},
    {"not not n = :n10", 1},
    {"(n) = :n10", 1},
    {"(size(s)) = :n5", 1},
};

static void test_condition_evaluation(void **state)
{
    json_t *item = parse(eval_item);
    char err[256];
    assert_int_equal(ddb_item_validate(item, err, sizeof err), 0);
    /* Each condition uses some of the names and values; a filter uses them all, as the
     * unused check spans every expression of a request. */
    json_t *values = parse(eval_values);
    buf all = BUF_INIT;
    buf_puts(&all, "attribute_exists(#st) OR attribute_exists(#bc) OR id IN (");
    const char *k;
    json_t *v;
    int first = 1;
    json_object_foreach(values, k, v)
    {
        buf_printf(&all, "%s%s", first ? "" : ", ", k);
        first = 0;
    }
    buf_puts(&all, ")");
    json_t *names = json_pack("{s:s,s:s}", "#bc", "b c", "#st", "status");
    for (size_t i = 0; i < sizeof eval_cases / sizeof *eval_cases; i++) {
        ddb_expr_input in = {.condition = text(eval_cases[i].condition),
                             .filter = text(all.data),
                             .names = names,
                             .values = values};
        ddb_exprs *e;
        char msg[512];
        if (ddb_exprs_compile(&e, &in, msg, sizeof msg) != 0)
            fail_msg("%s: %s", eval_cases[i].condition, msg);
        int got = ddb_condition_matches(e, DDB_EXPR_CONDITION, item);
        if (got != eval_cases[i].want)
            fail_msg("%s: got %d, want %d", eval_cases[i].condition, got, eval_cases[i].want);
        ddb_exprs_free(e);
    }
    buf_free(&all);
    json_decref(values);
    json_decref(names);
    json_decref(item);
}

static void test_condition_without_item(void **state)
{
    request r = {.condition = "attribute_not_exists(id)"};
    compiled c = compile(&r);
    assert_int_equal(c.rc, 0);
    assert_int_equal(ddb_condition_matches(c.e, DDB_EXPR_CONDITION, NULL), 1);
    assert_int_equal(ddb_condition_matches(c.e, DDB_EXPR_FILTER, NULL), 1); /* no filter */
    json_t *item = parse("{\"id\":{\"S\":\"1\"}}");
    assert_int_equal(ddb_condition_matches(c.e, DDB_EXPR_CONDITION, item), 0);
    json_decref(item);
    release(&c);
}

/* -------------------------------------------------------------- key conditions */

static void test_key_condition_resolve(void **state)
{
    static const struct {
        const char *expr;
        const char *range_key;
        const char *err;
        ddb_key_op op;
        int has_range;
    } cases[] = {
        {"id = :a", "sk", NULL, DDB_KEY_EQ, 0},
        {"id = :a AND sk > :b", "sk", NULL, DDB_KEY_GT, 1},
        {"sk <= :b AND id = :a", "sk", NULL, DDB_KEY_LE, 1},
        {":b < sk AND id = :a", "sk", NULL, DDB_KEY_GT, 1},
        {"id = :a AND sk BETWEEN :a AND :b", "sk", NULL, DDB_KEY_BETWEEN, 1},
        {"id = :a AND begins_with(sk, :a)", "sk", NULL, DDB_KEY_BEGINS_WITH, 1},
        {"#i = :a", NULL, NULL, DDB_KEY_EQ, 0},
        {"sk = :a", "sk", "Query condition missed key schema element: id", 0, 0},
        {"id > :a", "sk", "Query key condition not supported", 0, 0},
        {"id = :a AND extra = :b", "sk", "Query condition missed key schema element: sk", 0, 0},
        {"id = :a AND sk = :b", NULL, "Query key condition not supported", 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *values = parse("{\":a\":{\"S\":\"a\"},\":b\":{\"S\":\"b\"}}");
        json_t *names = strstr(cases[i].expr, "#i") ? json_pack("{s:s}", "#i", "id") : NULL;
        ddb_expr_input in = {
            .key_condition = text(cases[i].expr), .values = values, .names = names};
        if (!strstr(cases[i].expr, ":b"))
            in.filter = text("x = :b");
        ddb_exprs *e;
        char err[512];
        if (ddb_exprs_compile(&e, &in, err, sizeof err) != 0)
            fail_msg("%s: %s", cases[i].expr, err);
        ddb_key_condition kc;
        int rc = ddb_key_condition_resolve(e, "id", cases[i].range_key, &kc, err, sizeof err);
        if (cases[i].err) {
            if (rc == 0 || strcmp(err, cases[i].err) != 0)
                fail_msg("%s: got %s, want %s", cases[i].expr, rc ? err : "success", cases[i].err);
        } else {
            if (rc != 0)
                fail_msg("%s: %s", cases[i].expr, err);
            assert_ptr_equal(kc.hash_value, json_object_get(values, ":a"));
            assert_int_equal(kc.has_range, cases[i].has_range);
            if (kc.has_range)
                assert_int_equal(kc.range_op, cases[i].op);
        }
        ddb_exprs_free(e);
        json_decref(values);
        json_decref(names);
    }
}

/* --------------------------------------------------------------------- updates */

typedef struct update_case {
    const char *item; /* NULL: no item */
    const char *update;
    const char *values, *names;
    const char *want; /* new item, or NULL when err is set */
    const char *err;
} update_case;

static const update_case update_cases[] = {
    {"{\"id\":{\"S\":\"1\"}}", "SET a = :v", "{\":v\":{\"S\":\"x\"}}", NULL,
     "{\"id\":{\"S\":\"1\"},\"a\":{\"S\":\"x\"}}", NULL},
    {NULL, "SET a = :v", "{\":v\":{\"N\":\"1.50\"}}", NULL, "{\"a\":{\"N\":\"1.5\"}}", NULL},
    {"{\"n\":{\"N\":\"1\"}}", "SET n = n + :v", "{\":v\":{\"N\":\"2\"}}", NULL,
     "{\"n\":{\"N\":\"3\"}}", NULL},
    {"{\"n\":{\"N\":\"1\"}}", "SET n = :v - n", "{\":v\":{\"N\":\"0.5\"}}", NULL,
     "{\"n\":{\"N\":\"-0.5\"}}", NULL},
    {"{\"a\":{\"N\":\"1\"},\"b\":{\"N\":\"2\"}}", "SET a = b, b = a", NULL, NULL,
     "{\"a\":{\"N\":\"2\"},\"b\":{\"N\":\"1\"}}", NULL}, /* values read before any change */
    {"{}", "SET n = absent + :v", "{\":v\":{\"N\":\"2\"}}", NULL, NULL,
     "The provided expression refers to an attribute that does not exist in the item"},
    {"{\"s\":{\"S\":\"x\"}}", "SET n = s + :v", "{\":v\":{\"N\":\"2\"}}", NULL, NULL,
     "An operand in the update expression has an incorrect data type"},
    {"{\"n\":{\"N\":\"9.9999999999999999999999999999999999999E+125\"}}", "SET n = n + n", NULL,
     NULL, NULL,
     "Number overflow. Attempting to store a number with magnitude larger than supported range"},
    {"{}", "SET c = if_not_exists(c, :z)", "{\":z\":{\"N\":\"0\"}}", NULL, "{\"c\":{\"N\":\"0\"}}",
     NULL},
    {"{\"c\":{\"N\":\"4\"}}", "SET c = if_not_exists(c, :z) + :one",
     "{\":z\":{\"N\":\"0\"},\":one\":{\"N\":\"1\"}}", NULL, "{\"c\":{\"N\":\"5\"}}", NULL},
    {"{\"l\":{\"L\":[{\"N\":\"1\"}]}}", "SET l = list_append(l, :v)",
     "{\":v\":{\"L\":[{\"N\":\"2\"}]}}", NULL, "{\"l\":{\"L\":[{\"N\":\"1\"},{\"N\":\"2\"}]}}",
     NULL},
    {"{}", "SET l = list_append(if_not_exists(l, :e), :v)",
     "{\":v\":{\"L\":[{\"N\":\"2\"}]},\":e\":{\"L\":[]}}", NULL, "{\"l\":{\"L\":[{\"N\":\"2\"}]}}",
     NULL},
    {"{\"l\":{\"S\":\"x\"}}", "SET l = list_append(l, :v)", "{\":v\":{\"L\":[]}}", NULL, NULL,
     "An operand in the update expression has an incorrect data type"},
    {"{\"l\":{\"L\":[{\"N\":\"0\"},{\"N\":\"1\"},{\"N\":\"2\"}]}}", "SET l[1] = :v",
     "{\":v\":{\"S\":\"x\"}}", NULL, "{\"l\":{\"L\":[{\"N\":\"0\"},{\"S\":\"x\"},{\"N\":\"2\"}]}}",
     NULL},
    {"{\"l\":{\"L\":[{\"N\":\"0\"}]}}", "SET l[9] = :v, l[5] = :w",
     "{\":v\":{\"S\":\"v\"},\":w\":{\"S\":\"w\"}}", NULL,
     "{\"l\":{\"L\":[{\"N\":\"0\"},{\"S\":\"w\"},{\"S\":\"v\"}]}}", NULL},
    {"{\"l\":{\"L\":[{\"N\":\"0\"},{\"N\":\"1\"},{\"N\":\"2\"}]}}", "REMOVE l[0], l[1]", NULL, NULL,
     "{\"l\":{\"L\":[{\"N\":\"2\"}]}}", NULL},
    {"{\"l\":{\"L\":[{\"N\":\"0\"}]}}", "REMOVE l[7]", NULL, NULL,
     "{\"l\":{\"L\":[{\"N\":\"0\"}]}}", NULL},
    {"{\"a\":{\"S\":\"x\"},\"b\":{\"S\":\"y\"}}", "REMOVE a, absent", NULL, NULL,
     "{\"b\":{\"S\":\"y\"}}", NULL},
    {"{\"m\":{\"M\":{\"x\":{\"N\":\"1\"}}}}", "SET m.y = :v REMOVE m.x", "{\":v\":{\"S\":\"v\"}}",
     NULL, "{\"m\":{\"M\":{\"y\":{\"S\":\"v\"}}}}", NULL},
    {"{}", "SET m.y = :v", "{\":v\":{\"S\":\"v\"}}", NULL, NULL,
     "The document path provided in the update expression is invalid for update"},
    {"{\"m\":{\"M\":{}}}", "SET m[0] = :v", "{\":v\":{\"S\":\"v\"}}", NULL, NULL,
     "The document path provided in the update expression is invalid for update"},
    {"{\"m\":{\"S\":\"x\"}}", "REMOVE m.y", NULL, NULL, NULL,
     "The document path provided in the update expression is invalid for update"},
    {"{\"#odd\":{\"N\":\"1\"}}", "SET #k = :v", "{\":v\":{\"S\":\"v\"}}", "{\"#k\":\"a.b\"}",
     "{\"#odd\":{\"N\":\"1\"},\"a.b\":{\"S\":\"v\"}}", NULL},
    /* ADD */
    {"{}", "ADD n :v", "{\":v\":{\"N\":\"5\"}}", NULL, "{\"n\":{\"N\":\"5\"}}", NULL},
    {"{\"n\":{\"N\":\"5\"}}", "ADD n :v", "{\":v\":{\"N\":\"-5\"}}", NULL, "{\"n\":{\"N\":\"0\"}}",
     NULL},
    {"{\"s\":{\"SS\":[\"a\"]}}", "ADD s :v", "{\":v\":{\"SS\":[\"b\",\"a\"]}}", NULL,
     "{\"s\":{\"SS\":[\"a\",\"b\"]}}", NULL},
    {"{\"s\":{\"NS\":[\"1\"]}}", "ADD s :v", "{\":v\":{\"NS\":[\"1.0\",\"2\"]}}", NULL,
     "{\"s\":{\"NS\":[\"1\",\"2\"]}}", NULL},
    {"{}", "ADD s :v", "{\":v\":{\"BS\":[\"AQ==\"]}}", NULL, "{\"s\":{\"BS\":[\"AQ==\"]}}", NULL},
    {"{\"s\":{\"SS\":[\"a\"]}}", "ADD s :v", "{\":v\":{\"NS\":[\"1\"]}}", NULL, NULL,
     "An operand in the update expression has an incorrect data type"},
    {"{\"s\":{\"S\":\"a\"}}", "ADD s :v", "{\":v\":{\"N\":\"1\"}}", NULL, NULL,
     "An operand in the update expression has an incorrect data type"},
    {"{\"m\":{\"M\":{}}}", "ADD m.c :v", "{\":v\":{\"N\":\"1\"}}", NULL,
     "{\"m\":{\"M\":{\"c\":{\"N\":\"1\"}}}}", NULL},
    /* DELETE */
    {"{\"s\":{\"SS\":[\"a\",\"b\",\"c\"]}}", "DELETE s :v", "{\":v\":{\"SS\":[\"c\",\"a\",\"z\"]}}",
     NULL, "{\"s\":{\"SS\":[\"b\"]}}", NULL},
    {"{\"s\":{\"NS\":[\"1\",\"2\"]}}", "DELETE s :v", "{\":v\":{\"NS\":[\"2.0\",\"1\"]}}", NULL,
     "{}", NULL}, /* an emptied set is removed */
    {"{}", "DELETE s :v", "{\":v\":{\"SS\":[\"a\"]}}", NULL, "{}", NULL},
    {"{\"s\":{\"SS\":[\"a\"]}}", "DELETE s :v", "{\":v\":{\"BS\":[\"AQ==\"]}}", NULL, NULL,
     "An operand in the update expression has an incorrect data type"},
    /* All four clauses at once, in any order and case. */
    {"{\"id\":{\"S\":\"1\"},\"r\":{\"S\":\"x\"},\"c\":{\"N\":\"1\"},\"t\":{\"SS\":[\"a\",\"b\"]}}",
     "remove r add c :one delete t :a set s = :s",
     "{\":one\":{\"N\":\"1\"},\":a\":{\"SS\":[\"a\"]},\":s\":{\"S\":\"new\"}}", NULL,
     "{\"id\":{\"S\":\"1\"},\"c\":{\"N\":\"2\"},\"t\":{\"SS\":[\"b\"]},\"s\":{\"S\":\"new\"}}",
     NULL},
};

static void test_updates(void **state)
{
    for (size_t i = 0; i < sizeof update_cases / sizeof *update_cases; i++) {
        const update_case *u = &update_cases[i];
        request r = {.update = u->update, .values = u->values, .names = u->names};
        compiled c = compile(&r);
        if (c.rc != 0)
            fail_msg("%s: %s", u->update, c.err);
        json_t *item = parse(u->item);
        char err[512] = "";
        json_t *got = ddb_update_apply(c.e, item, err, sizeof err);
        if (u->err) {
            if (got || strcmp(err, u->err) != 0)
                fail_msg("%s: got %s, want error %s", u->update, got ? "an item" : err, u->err);
        } else {
            json_t *want = parse(u->want);
            if (!got)
                fail_msg("%s: %s", u->update, err);
            if (!json_equal(got, want)) {
                char *g = json_dumps(got, JSON_SORT_KEYS);
                fail_msg("%s: got %s, want %s", u->update, g, u->want);
            }
            json_decref(want);
        }
        /* The input item is never modified. */
        if (item) {
            json_t *again = parse(u->item);
            assert_true(json_equal(item, again));
            json_decref(again);
        }
        json_decref(got);
        json_decref(item);
        release(&c);
    }
}

static void test_update_key_attributes_refused(void **state)
{
    request r = {.update = "SET a = :v, #k = :v", .values = V1, .names = "{\"#k\":\"sk\"}"};
    compiled c = compile(&r);
    assert_int_equal(c.rc, 0);
    const char *keys[] = {"id", "sk"};
    char err[512];
    assert_int_equal(ddb_update_check_keys(c.e, keys, 2, err, sizeof err), -1);
    assert_string_equal(err, "One or more parameter values were invalid: Cannot update attribute "
                             "sk. This attribute is part of the key");
    assert_int_equal(ddb_update_check_keys(c.e, keys, 1, err, sizeof err), 0);
    release(&c);
}

static void test_updated_old_and_new(void **state)
{
    request r = {.update = "SET m.a = :v, n = n + :one REMOVE gone",
                 .values = "{\":v\":{\"S\":\"new\"},\":one\":{\"N\":\"1\"}}"};
    compiled c = compile(&r);
    assert_int_equal(c.rc, 0);
    json_t *old = parse("{\"id\":{\"S\":\"1\"},\"m\":{\"M\":{\"a\":{\"S\":\"old\"},\"b\":{\"S\":"
                        "\"keep\"}}},\"n\":{\"N\":\"1\"},\"gone\":{\"S\":\"bye\"}}");
    char err[256];
    json_t *new_item = ddb_update_apply(c.e, old, err, sizeof err);
    assert_non_null(new_item);
    json_t *updated_old = ddb_update_project(c.e, old);
    json_t *updated_new = ddb_update_project(c.e, new_item);
    json_t *want_old = parse("{\"m\":{\"M\":{\"a\":{\"S\":\"old\"}}},\"n\":{\"N\":\"1\"},"
                             "\"gone\":{\"S\":\"bye\"}}");
    json_t *want_new = parse("{\"m\":{\"M\":{\"a\":{\"S\":\"new\"}}},\"n\":{\"N\":\"2\"}}");
    assert_true(json_equal(updated_old, want_old));
    assert_true(json_equal(updated_new, want_new));
    json_decref(want_old);
    json_decref(want_new);
    json_decref(updated_old);
    json_decref(updated_new);
    json_decref(new_item);
    json_decref(old);
    release(&c);
}

/* ------------------------------------------------------------------ projections */

static void test_projections(void **state)
{
    static const struct {
        const char *projection, *names, *want;
    } cases[] = {
        {"id", NULL, "{\"id\":{\"S\":\"k1\"}}"},
        {"id, absent", NULL, "{\"id\":{\"S\":\"k1\"}}"},
        {"m.a", NULL, "{\"m\":{\"M\":{\"a\":{\"N\":\"1\"}}}}"},
        {"m.lst[0], id", NULL,
         "{\"m\":{\"M\":{\"lst\":{\"L\":[{\"N\":\"5\"}]}}},\"id\":{\"S\":\"k1\"}}"},
        {"l[2], l[0]", NULL, "{\"l\":{\"L\":[{\"S\":\"e0\"},{\"M\":{\"deep\":{\"S\":\"v\"}}}]}}"},
        {"l[2].deep", NULL, "{\"l\":{\"L\":[{\"M\":{\"deep\":{\"S\":\"v\"}}}]}}"},
        {"l[7], n.x, m.zz", NULL, "{}"},
        {"#s, m.#bc", "{\"#s\":\"status\",\"#bc\":\"b c\"}",
         "{\"status\":{\"S\":\"open\"},\"m\":{\"M\":{\"b c\":{\"S\":\"q\"}}}}"},
    };
    json_t *item = parse(eval_item);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        request r = {.projection = cases[i].projection, .names = cases[i].names};
        compiled c = compile(&r);
        if (c.rc != 0)
            fail_msg("%s: %s", cases[i].projection, c.err);
        json_t *got = ddb_projection_apply(c.e, item), *want = parse(cases[i].want);
        if (!json_equal(got, want)) {
            char *g = json_dumps(got, JSON_SORT_KEYS);
            fail_msg("%s: got %s, want %s", cases[i].projection, g, cases[i].want);
        }
        json_decref(got);
        json_decref(want);
        release(&c);
    }
    json_decref(item);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors_have_dynamodbs_messages),
        cmocka_unit_test(test_size_limits),
        cmocka_unit_test(test_reserved_words_table_is_sorted_and_complete),
        cmocka_unit_test(test_condition_evaluation),
        cmocka_unit_test(test_condition_without_item),
        cmocka_unit_test(test_key_condition_resolve),
        cmocka_unit_test(test_updates),
        cmocka_unit_test(test_update_key_attributes_refused),
        cmocka_unit_test(test_updated_old_and_new),
        cmocka_unit_test(test_projections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
