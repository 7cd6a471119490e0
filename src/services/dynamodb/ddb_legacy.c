/* DynamoDB's legacy (pre-expression) parameters, which older SDKs still send, rewritten into
 * the expressions they mean before anything else looks at the request:
 *   Expected + ConditionalOperator        -> ConditionExpression
 *   KeyConditions                         -> KeyConditionExpression
 *   QueryFilter/ScanFilter + ConditionalOperator -> FilterExpression
 *   AttributeUpdates                      -> UpdateExpression
 *   AttributesToGet                       -> ProjectionExpression (ddb_item.c)
 * Names and values go into ExpressionAttributeNames/Values under placeholders no client
 * can have written (#lg0, :lg0: a request may not mix both styles, which is checked here). */
#include "services/dynamodb/ddb_internal.h"

#include "common/alloc.h"

#include <stdio.h>
#include <string.h>

typedef struct rewriter {
    json_t *req;
    json_t *names, *values;
    int n; /* placeholders issued */
    char err[512];
} rewriter;

static void placeholder_name(rewriter *w, const char *attr, char out[32])
{
    snprintf(out, 32, "#lg%d", w->n);
    json_object_set_new(w->names, out, json_string(attr));
}

static void placeholder_value(rewriter *w, json_t *v, char out[32])
{
    snprintf(out, 32, ":lg%d", w->n);
    json_object_set(w->values, out, v);
}

/* Appends one Condition {ComparisonOperator, AttributeValueList} on attr. 0 or -1. */
static int append_condition(rewriter *w, buf *b, const char *attr, json_t *cond)
{
    const char *op = ddb_str(cond, "ComparisonOperator");
    json_t *list = json_object_get(cond, "AttributeValueList");
    size_t n = json_array_size(list);
    char name[32], v0[32], v1[32];
    placeholder_name(w, attr, name);
    static const struct {
        const char *op, *fmt;
        size_t nvalues;
    } ops[] = {
        {"EQ", "%s = %s", 1},
        {"NE", "%s <> %s", 1},
        {"LE", "%s <= %s", 1},
        {"LT", "%s < %s", 1},
        {"GE", "%s >= %s", 1},
        {"GT", "%s > %s", 1},
        {"NOT_NULL", "attribute_exists(%s)", 0},
        {"NULL", "attribute_not_exists(%s)", 0},
        {"CONTAINS", "contains(%s, %s)", 1},
        {"NOT_CONTAINS", "NOT contains(%s, %s)", 1},
        {"BEGINS_WITH", "begins_with(%s, %s)", 1},
        {"BETWEEN", "%s BETWEEN %s AND %s", 2},
    };
    if (op && strcmp(op, "IN") == 0 && n >= 1) {
        buf_printf(b, "%s IN (", name);
        for (size_t i = 0; i < n; i++) {
            placeholder_value(w, json_array_get(list, i), v0);
            w->n++;
            buf_printf(b, "%s%s", i ? ", " : "", v0);
        }
        buf_putc(b, ')');
        w->n++;
        return 0;
    }
    for (size_t i = 0; op && i < sizeof ops / sizeof ops[0]; i++) {
        if (strcmp(ops[i].op, op) != 0)
            continue;
        if (n != ops[i].nvalues) {
            snprintf(w->err, sizeof w->err,
                     "One or more parameter values were invalid: Invalid number of argument(s) "
                     "for the %s ComparisonOperator",
                     op);
            return -1;
        }
        if (n >= 1)
            placeholder_value(w, json_array_get(list, 0), v0);
        w->n++;
        if (n == 2) {
            placeholder_value(w, json_array_get(list, 1), v1);
            w->n++;
        }
        if (n == 0)
            buf_printf(b, ops[i].fmt, name);
        else if (n == 1)
            buf_printf(b, ops[i].fmt, name, v0);
        else
            buf_printf(b, ops[i].fmt, name, v0, v1);
        return 0;
    }
    snprintf(w->err, sizeof w->err,
             "1 validation error detected: Value '%s' at 'comparisonOperator' failed to satisfy "
             "constraint: Member must satisfy enum value set: [IN, NULL, BETWEEN, LT, "
             "NOT_CONTAINS, EQ, GT, NOT_NULL, NE, LE, BEGINS_WITH, GE, CONTAINS]",
             op ? op : "null");
    return -1;
}

/* Appends one Expected entry ({Exists, Value} or a Condition). */
static int append_expected(rewriter *w, buf *b, const char *attr, json_t *e)
{
    if (json_object_get(e, "ComparisonOperator"))
        return append_condition(w, b, attr, e);
    json_t *exists = json_object_get(e, "Exists"), *value = json_object_get(e, "Value");
    char name[32], v[32];
    placeholder_name(w, attr, name);
    if (json_is_false(exists)) {
        if (value) {
            snprintf(w->err, sizeof w->err,
                     "One or more parameter values were invalid: Value cannot be used when "
                     "Exists is false for Attribute: %s",
                     attr);
            return -1;
        }
        buf_printf(b, "attribute_not_exists(%s)", name);
    } else if (value) {
        placeholder_value(w, value, v);
        buf_printf(b, "%s = %s", name, v);
    } else {
        snprintf(w->err, sizeof w->err,
                 "One or more parameter values were invalid: Value must be provided when Exists "
                 "is true for Attribute: %s",
                 attr);
        return -1;
    }
    w->n++;
    return 0;
}

/* Rewrites the map `legacy` (attribute -> condition) into the expression `expr`. */
static int rewrite_conditions(rewriter *w, const char *legacy, const char *expr, int expected)
{
    json_t *conds = json_object_get(w->req, legacy);
    if (!conds)
        return 0;
    if (json_object_get(w->req, expr)) {
        snprintf(w->err, sizeof w->err,
                 "Can not use both expression and non-expression parameters in the same "
                 "request: Non-expression parameters: {%s} Expression parameters: {%s}",
                 legacy, expr);
        return -1;
    }
    const char *op = ddb_str(w->req, "ConditionalOperator");
    const char *joiner =
        op && strcmp(op, "OR") == 0 && strcmp(legacy, "KeyConditions") != 0 ? " OR " : " AND ";
    buf b = BUF_INIT;
    const char *attr;
    json_t *c;
    int rc = 0;
    json_object_foreach(conds, attr, c)
    {
        if (b.len)
            buf_puts(&b, joiner);
        rc = expected ? append_expected(w, &b, attr, c) : append_condition(w, &b, attr, c);
        if (rc)
            break;
    }
    if (rc == 0 && b.len)
        json_object_set_new(w->req, expr, json_stringn(b.data, b.len));
    json_object_del(w->req, legacy);
    buf_free(&b);
    return rc;
}

/* AttributeUpdates {attr: {Action, Value}} -> SET / REMOVE / ADD / DELETE clauses. */
static int rewrite_updates(rewriter *w)
{
    json_t *updates = json_object_get(w->req, "AttributeUpdates");
    if (!updates)
        return 0;
    if (json_object_get(w->req, "UpdateExpression")) {
        snprintf(w->err, sizeof w->err,
                 "Can not use both expression and non-expression parameters in the same "
                 "request: Non-expression parameters: {AttributeUpdates} Expression parameters: "
                 "{UpdateExpression}");
        return -1;
    }
    buf clause[4] = {BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT}; /* SET REMOVE ADD DELETE */
    static const char *const verbs[4] = {"SET", "REMOVE", "ADD", "DELETE"};
    const char *attr;
    json_t *u;
    json_object_foreach(updates, attr, u)
    {
        const char *action = ddb_str(u, "Action");
        json_t *value = json_object_get(u, "Value");
        int k = !action || strcmp(action, "PUT") == 0 ? 0
                : strcmp(action, "ADD") == 0          ? 2
                : value                               ? 3
                                                      : 1;
        char name[32], v[32];
        placeholder_name(w, attr, name);
        buf_puts(&clause[k], clause[k].len ? ", " : "");
        if (k == 1) {
            buf_puts(&clause[k], name);
        } else {
            if (!value) {
                snprintf(w->err, sizeof w->err,
                         "One or more parameter values were invalid: Only DELETE action is "
                         "allowed when no attribute value is specified");
                for (int i = 0; i < 4; i++)
                    buf_free(&clause[i]);
                return -1;
            }
            placeholder_value(w, value, v);
            buf_printf(&clause[k], k == 0 ? "%s = %s" : "%s %s", name, v);
        }
        w->n++;
    }
    buf expr = BUF_INIT;
    for (int i = 0; i < 4; i++) {
        if (clause[i].len)
            buf_printf(&expr, "%s%s %.*s", expr.len ? " " : "", verbs[i], (int)clause[i].len,
                       clause[i].data);
        buf_free(&clause[i]);
    }
    if (expr.len)
        json_object_set_new(w->req, "UpdateExpression", json_stringn(expr.data, expr.len));
    json_object_del(w->req, "AttributeUpdates");
    buf_free(&expr);
    return 0;
}

int ddb_legacy_rewrite(json_t *req, char *err, size_t errlen)
{
    if (!json_object_get(req, "Expected") && !json_object_get(req, "KeyConditions") &&
        !json_object_get(req, "QueryFilter") && !json_object_get(req, "ScanFilter") &&
        !json_object_get(req, "AttributeUpdates"))
        return 0;
    rewriter w = {.req = req};
    w.names = json_object_get(req, "ExpressionAttributeNames");
    w.values = json_object_get(req, "ExpressionAttributeValues");
    int had_names = w.names != NULL, had_values = w.values != NULL;
    if (!had_names)
        w.names = json_object();
    if (!had_values)
        w.values = json_object();
    int rc = rewrite_conditions(&w, "Expected", "ConditionExpression", 1);
    if (rc == 0)
        rc = rewrite_conditions(&w, "KeyConditions", "KeyConditionExpression", 0);
    if (rc == 0)
        rc = rewrite_conditions(&w, "QueryFilter", "FilterExpression", 0);
    if (rc == 0)
        rc = rewrite_conditions(&w, "ScanFilter", "FilterExpression", 0);
    if (rc == 0)
        rc = rewrite_updates(&w);
    json_object_del(req, "ConditionalOperator");
    if (!had_names && json_object_size(w.names))
        json_object_set(req, "ExpressionAttributeNames", w.names);
    if (!had_values && json_object_size(w.values))
        json_object_set(req, "ExpressionAttributeValues", w.values);
    if (!had_names)
        json_decref(w.names);
    if (!had_values)
        json_decref(w.values);
    if (rc)
        snprintf(err, errlen, "%s", w.err);
    return rc;
}
