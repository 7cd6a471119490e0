/* PartiQL for DynamoDB: the statements of ExecuteStatement, BatchExecuteStatement and
 * ExecuteTransaction (SELECT, INSERT, UPDATE, DELETE) parsed and rewritten as the internal
 * requests the other operations take (Query, Scan, PutItem, UpdateItem, DeleteItem), their
 * conditions as DynamoDB expressions with #name and :value placeholders. Pure: no service
 * state, so the parser is unit-tested and fuzzed on its own. */
#ifndef SLUICE_DDB_PARTIQL_H
#define SLUICE_DDB_PARTIQL_H

#include <jansson.h>
#include <stddef.h>

/* EXISTS(SELECT ...): a transaction's condition check on one item. */
typedef enum {
    DDB_PQ_SELECT,
    DDB_PQ_INSERT,
    DDB_PQ_UPDATE,
    DDB_PQ_DELETE,
    DDB_PQ_EXISTS
} ddb_pq_kind;

typedef struct ddb_pq_stmt ddb_pq_stmt;

/* Parses text, binding its `?` in order to params (a JSON array of AttributeValues,
 * borrowed; NULL for none). Returns 0, or -1 with DynamoDB's ValidationException message in
 * err. */
int ddb_pq_parse(const char *text, const json_t *params, ddb_pq_stmt **out, char *err,
                 size_t errlen);
void ddb_pq_free(ddb_pq_stmt *s);

ddb_pq_kind ddb_pq_kind_of(const ddb_pq_stmt *s);
const char *ddb_pq_table(const ddb_pq_stmt *s);
const char *ddb_pq_index(const ddb_pq_stmt *s); /* SELECT FROM "t"."index", else NULL */

/* The internal request of s (a new object with TableName and the expressions), for a table
 * (or index, for a SELECT) whose key attributes are hash and range (NULL: none). *op is set to
 * "Query", "Scan", "PutItem", "UpdateItem", "DeleteItem" or "ConditionCheck" (EXISTS: the
 * item exists and the WHERE holds). NULL with the message in err. */
json_t *ddb_pq_plan(const ddb_pq_stmt *s, const char *hash, const char *range, const char **op,
                    char *err, size_t errlen);

/* A SELECT naming exactly one item (equality on every key attribute and nothing else): its
 * GetItem request (TableName, Key, ProjectionExpression). NULL with the message otherwise. */
json_t *ddb_pq_get_request(const ddb_pq_stmt *s, const char *hash, const char *range, char *err,
                           size_t errlen);

#endif
