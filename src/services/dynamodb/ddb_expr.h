/* DynamoDB expressions: ConditionExpression, KeyConditionExpression, FilterExpression,
 * UpdateExpression and ProjectionExpression, with the ExpressionAttributeNames and
 * ExpressionAttributeValues of the same request.
 *
 * Use: fill a ddb_expr_input with the expressions a request carries, compile them once
 * (every syntax and validation error DynamoDB reports before touching data is reported
 * here, with its message), then evaluate the compiled expressions against items as often
 * as needed. Messages are DynamoDB's, e.g.
 *   Invalid UpdateExpression: Syntax error; token: "SETT", near: "SETT a"
 *   Value provided in ExpressionAttributeValues unused in expressions: keys: {:v}
 * and the service returns them as a ValidationException (the message is complete: it
 * carries the "Invalid <Expression>: " prefix where DynamoDB has one).
 *
 * Lifetime: the compiled expressions borrow the names and values objects of the input
 * (resolved names and values point into them): keep both alive until ddb_exprs_free. */
#ifndef SLUICE_DDB_EXPR_H
#define SLUICE_DDB_EXPR_H

#include <jansson.h>
#include <stddef.h>

#define DDB_MAX_EXPRESSION_SIZE 4096 /* bytes of one expression string */
#define DDB_MAX_IN_OPERANDS     100

typedef struct ddb_exprs ddb_exprs;

typedef enum ddb_expr_kind {
    DDB_EXPR_CONDITION,
    DDB_EXPR_KEY_CONDITION,
    DDB_EXPR_FILTER,
    DDB_EXPR_UPDATE,
    DDB_EXPR_PROJECTION,
} ddb_expr_kind;

typedef struct ddb_text {
    const char *s; /* NULL: the request does not have this expression */
    size_t n;
} ddb_text;

typedef struct ddb_expr_input {
    ddb_text condition;     /* ConditionExpression */
    ddb_text key_condition; /* KeyConditionExpression */
    ddb_text filter;        /* FilterExpression */
    ddb_text update;        /* UpdateExpression */
    ddb_text projection;    /* ProjectionExpression */
    json_t *names;          /* ExpressionAttributeNames object, or NULL (borrowed) */
    json_t *values;         /* ExpressionAttributeValues object, or NULL (borrowed; its
                               numbers are rewritten canonical in place) */
} ddb_expr_input;

/* Validates the names and values maps, parses and checks every expression present (names
 * and values used but not defined, reserved words, functions and their operands, paths
 * that overlap...) and then that every name and value is used by some expression of the
 * request. On success sets *out (caller owns it) and returns 0; otherwise returns -1 with
 * DynamoDB's message in err. The request-level rule "ExpressionAttributeNames can only be
 * specified when using expressions" needs the operation's list of expressions and is left
 * to the caller. */
int ddb_exprs_compile(ddb_exprs **out, const ddb_expr_input *in, char *err, size_t errlen);
void ddb_exprs_free(ddb_exprs *e); /* accepts NULL */

/* 1 if the request had this expression. */
int ddb_exprs_has(const ddb_exprs *e, ddb_expr_kind kind);

/* Evaluates the condition, filter or key condition against item (borrowed; NULL or an
 * empty object when there is no item). Returns 1 if it holds, 0 if not; 1 when the request
 * has no such expression. Comparisons of different types are false, not errors. */
int ddb_condition_matches(const ddb_exprs *e, ddb_expr_kind kind, const json_t *item);

/* ------------------------------------------------------------------ key conditions */

typedef enum ddb_key_op {
    DDB_KEY_EQ,
    DDB_KEY_LT,
    DDB_KEY_LE,
    DDB_KEY_GT,
    DDB_KEY_GE,
    DDB_KEY_BETWEEN,
    DDB_KEY_BEGINS_WITH,
} ddb_key_op;

typedef struct ddb_key_condition {
    const json_t *hash_value; /* the partition key's value (borrowed from the values) */
    int has_range;            /* 1 if there is a sort key condition */
    ddb_key_op range_op;
    const json_t *range_values[2]; /* [1] only for BETWEEN */
} ddb_key_condition;

/* Matches the compiled KeyConditionExpression (whose form was checked by compile:
 * equality on the partition key AND an optional sort key condition) against the key schema
 * of the table or index queried (range_key NULL for a partition key only). Returns 0, or
 * -1 with DynamoDB's message ("Query condition missed key schema element: id", "Query key
 * condition not supported"). Type checks of the values against the attribute definitions
 * are the caller's. */
int ddb_key_condition_resolve(const ddb_exprs *e, const char *hash_key, const char *range_key,
                              ddb_key_condition *out, char *err, size_t errlen);

/* ---------------------------------------------------------------------- projection */

/* The item DynamoDB returns for the ProjectionExpression: the requested paths that exist,
 * nested maps rebuilt around them, requested list elements kept in list order. Returns a
 * new object (caller owns it); a copy of item if there is no projection. */
json_t *ddb_projection_apply(const ddb_exprs *e, const json_t *item);

/* ------------------------------------------------------------------------- updates */

/* Refuses an update expression that touches a key attribute: key_names are the table's
 * key attribute names (nkeys of them). Returns 0, or -1 with "One or more parameter values
 * were invalid: Cannot update attribute id. This attribute is part of the key". */
int ddb_update_check_keys(const ddb_exprs *e, const char *const *key_names, size_t nkeys, char *err,
                          size_t errlen);

/* Applies the UpdateExpression to item (borrowed: the existing item, or the Key object
 * when there is none) and returns the new item (caller owns it), or NULL with DynamoDB's
 * runtime message in err ("The provided expression refers to an attribute that does not
 * exist in the item", "An operand in the update expression has an incorrect data type",
 * "The document path provided in the update expression is invalid for update", number
 * overflow...). All SET values are computed from the item before any change, as DynamoDB
 * does. The 400 KB check of the result is the caller's (ddb_item_size). */
json_t *ddb_update_apply(const ddb_exprs *e, const json_t *item, char *err, size_t errlen);

/* The attributes an update touched, as ReturnValues UPDATED_OLD (pass the old item) and
 * UPDATED_NEW (pass the new one) return them: the projection of item on the paths of
 * every SET, REMOVE, ADD and DELETE action. Returns a new object (caller owns it). */
json_t *ddb_update_project(const ddb_exprs *e, const json_t *item);

#endif
