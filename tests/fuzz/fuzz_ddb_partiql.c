/* Fuzz the PartiQL parser and planner: any statement text with any parameters either parses
 * or is refused with a message; what parses plans for a hash-only and a hash+range key
 * schema (or is refused with a message), and the planned request's expressions go through
 * the expression compiler without crashing or leaking.
 *
 * Input: statement text, then optionally a NUL and the Parameters JSON array. */
#include "services/dynamodb/ddb_expr.h"
#include "services/dynamodb/ddb_partiql.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static ddb_text text_of(const json_t *req, const char *field)
{
    const char *s = json_string_value(json_object_get(req, field));
    return (ddb_text){s, s ? strlen(s) : 0};
}

static void compile(const json_t *req)
{
    ddb_expr_input in = {
        .condition = text_of(req, "ConditionExpression"),
        .key_condition = text_of(req, "KeyConditionExpression"),
        .filter = text_of(req, "FilterExpression"),
        .update = text_of(req, "UpdateExpression"),
        .projection = text_of(req, "ProjectionExpression"),
        .names = json_object_get(req, "ExpressionAttributeNames"),
        .values = json_object_get(req, "ExpressionAttributeValues"),
    };
    ddb_exprs *e = NULL;
    char err[1024];
    if (ddb_exprs_compile(&e, &in, err, sizeof err) == 0)
        ddb_exprs_free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    size_t tlen = strlen(text);
    json_t *params = NULL;
    if (tlen + 1 < size) {
        json_error_t je;
        params = json_loadb((const char *)data + tlen + 1, size - tlen - 1, 0, &je);
        if (params && !json_is_array(params)) {
            json_decref(params);
            params = NULL;
        }
    }
    ddb_pq_stmt *s = NULL;
    char err[512];
    if (ddb_pq_parse(text, params, &s, err, sizeof err) == 0) {
        static const char *const ranges[] = {NULL, "sk"};
        for (int i = 0; i < 2; i++) {
            const char *op;
            json_t *req = ddb_pq_plan(s, "pk", ranges[i], &op, err, sizeof err);
            if (req)
                compile(req);
            json_decref(req);
            req = ddb_pq_get_request(s, "pk", ranges[i], err, sizeof err);
            if (req)
                compile(req);
            json_decref(req);
        }
        ddb_pq_free(s);
    }
    json_decref(params);
    free(text);
    return 0;
}
