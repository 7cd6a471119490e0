/* Fuzz the DynamoDB expression compiler and evaluators: any expression text with any names
 * and values either compiles or is refused with a message; what compiles can be evaluated
 * against any valid item (condition, key condition resolution, update, projection) without
 * crashing or leaking, and an update's result is itself a valid item.
 *
 * Input: a selector byte (low 3 bits: which expression field the text goes to), then up to
 * four NUL-separated parts: expression text, ExpressionAttributeNames JSON,
 * ExpressionAttributeValues JSON, item JSON. */
#include "services/dynamodb/ddb_expr.h"
#include "services/dynamodb/ddb_value.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static json_t *load(const char *p, size_t n)
{
    if (!p || n == 0)
        return NULL;
    json_error_t e;
    return json_loadb(p, n, JSON_REJECT_DUPLICATES, &e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int which = data[0] & 7;
    const char *parts[4] = {0};
    size_t lens[4] = {0};
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    for (int i = 0; i < 4 && p <= end; i++) {
        const char *nul = memchr(p, 0, (size_t)(end - p));
        parts[i] = p;
        lens[i] = nul ? (size_t)(nul - p) : (size_t)(end - p);
        if (!nul)
            break;
        p = nul + 1;
    }
    json_t *names = load(parts[1], lens[1]);
    json_t *values = load(parts[2], lens[2]);
    json_t *item = load(parts[3], lens[3]);
    if (names && !json_is_object(names)) {
        json_decref(names);
        names = NULL;
    }
    if (names) {
        const char *k;
        json_t *v;
        json_object_foreach(names, k, v) if (!json_is_string(v)) goto out;
    }
    if (values && !json_is_object(values)) {
        json_decref(values);
        values = NULL;
    }
    char err[1024];
    if (item && ddb_item_validate(item, err, sizeof err) != 0) {
        json_decref(item);
        item = NULL;
    }

    ddb_text t = {parts[0], lens[0]};
    ddb_expr_input in = {.names = names, .values = values};
    switch (which) {
    case 0:
    case 5:
        in.condition = t;
        break;
    case 1:
        in.key_condition = t;
        break;
    case 2:
        in.filter = t;
        break;
    case 3:
    case 6:
        in.update = t;
        break;
    case 4:
        in.projection = t;
        break;
    default: /* the same text as a condition and as a projection */
        in.condition = t;
        in.projection = t;
        break;
    }
    ddb_exprs *e = NULL;
    err[0] = '\0';
    if (ddb_exprs_compile(&e, &in, err, sizeof err) != 0) {
        if (err[0] == '\0' || e)
            abort(); /* a refusal always says why */
        goto out;
    }
    ddb_condition_matches(e, DDB_EXPR_CONDITION, item);
    ddb_condition_matches(e, DDB_EXPR_FILTER, item);
    ddb_condition_matches(e, DDB_EXPR_KEY_CONDITION, item);
    if (ddb_exprs_has(e, DDB_EXPR_KEY_CONDITION)) {
        ddb_key_condition kc;
        ddb_key_condition_resolve(e, "id", "sk", &kc, err, sizeof err);
        ddb_key_condition_resolve(e, "id", NULL, &kc, err, sizeof err);
    }
    json_t *empty = json_object();
    json_decref(ddb_projection_apply(e, item ? item : empty));
    json_decref(empty);
    if (ddb_exprs_has(e, DDB_EXPR_UPDATE)) {
        const char *keys[] = {"id", "sk"};
        ddb_update_check_keys(e, keys, 2, err, sizeof err);
        json_t *updated = ddb_update_apply(e, item, err, sizeof err);
        if (updated) {
            char again[1024];
            if (ddb_item_validate(updated, again, sizeof again) != 0 &&
                strstr(again, "Nesting Levels") == NULL)
                abort(); /* an update makes a valid item (depth is the caller's check) */
            ddb_item_size(updated);
            json_decref(ddb_update_project(e, updated));
            json_decref(updated);
        } else if (err[0] == '\0') {
            abort();
        }
        json_decref(ddb_update_project(e, item));
    }
    ddb_exprs_free(e);
out:
    json_decref(names);
    json_decref(values);
    json_decref(item);
    return 0;
}
