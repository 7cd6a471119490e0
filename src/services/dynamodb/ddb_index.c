/* DynamoDB secondary indexes (global and local), maintained in the write's transaction.
 *
 * Each index has a store table of its own. An item that has the index's key attributes has
 * one entry there: partition key = the index partition key's encoding; sort key = the index
 * sort key's encoding (if any), then the table's partition and sort keys, each escaped and
 * terminated so the concatenation sorts by the index sort key first (index keys need not be
 * unique); the entry's text is the item projected as the index says. A write computes, on
 * the commit thread, the entries of the old and new item and hands the store the rows to
 * delete and put as side rows of its KV_MUTATE, so an index never disagrees with its table
 * (AWS's GSIs are eventually consistent; consistent is allowed). Items without an index key
 * are not in that index (sparse indexes). */
#include "services/dynamodb/ddb_internal.h"

#include "common/alloc.h"
#include "protocol/json_codec.h"

#include <stdio.h>
#include <string.h>

#define MAX_GSI 20
#define MAX_LSI 5

/* ---- creation ----------------------------------------------------------------------- */

static int attr_defined(const json_t *defs, const char *name)
{
    size_t i;
    json_t *d;
    json_array_foreach(defs, i,
                       d) if (strcmp(ddb_str(d, "AttributeName") ?: "", name) == 0) return 1;
    return 0;
}

static int check_projection(aws_failure *f, const json_t *p, const char *index)
{
    const char *type = ddb_str(p, "ProjectionType");
    if (!p || !type)
        return aws_fail(f, DDB_ERR_VALIDATION_EXC,
                        "One or more parameter values were invalid: Unknown ProjectionType: null "
                        "for index: %s",
                        index);
    if (strcmp(type, "ALL") != 0 && strcmp(type, "KEYS_ONLY") != 0 && strcmp(type, "INCLUDE") != 0)
        return aws_fail(f, DDB_ERR_VALIDATION_EXC,
                        "1 validation error detected: Value '%s' at 'projection.projectionType' "
                        "failed to satisfy constraint: Member must satisfy enum value set: "
                        "[ALL, INCLUDE, KEYS_ONLY]",
                        type);
    int include = strcmp(type, "INCLUDE") == 0;
    if (!include && json_object_get(p, "NonKeyAttributes"))
        return aws_fail(f, DDB_ERR_VALIDATION_EXC,
                        "One or more parameter values were invalid: ProjectionType is %s, but "
                        "NonKeyAttributes is specified",
                        type);
    if (include && json_array_size(json_object_get(p, "NonKeyAttributes")) == 0)
        return aws_fail(f, DDB_ERR_VALIDATION_EXC,
                        "One or more parameter values were invalid: ProjectionType is INCLUDE, "
                        "but NonKeyAttributes is not specified");
    return 0;
}

static int check_index(aws_failure *f, const json_t *ix, const json_t *in, int local)
{
    const char *name = ddb_str(ix, "IndexName");
    json_t *ks = json_object_get(ix, "KeySchema");
    json_t *defs = json_object_get(in, "AttributeDefinitions");
    if (!name || strlen(name) < 3 || strlen(name) > 255)
        return aws_fail(f, DDB_ERR_VALIDATION_EXC,
                        "1 validation error detected: Value '%s' at 'indexName' failed to "
                        "satisfy constraint: Member must have length between 3 and 255",
                        name ? name : "null");
    size_t n = json_array_size(ks);
    if (n < 1 || n > 2)
        return aws_fail(f, DDB_ERR_VALIDATION_EXC,
                        "1 validation error detected: Value at 'keySchema' of index %s failed "
                        "to satisfy constraint: Member must have length between 1 and 2",
                        name);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(ks, i);
        const char *a = ddb_str(e, "AttributeName"), *ty = ddb_str(e, "KeyType");
        if (!a || !ty || strcmp(ty, i == 0 ? "HASH" : "RANGE") != 0)
            return aws_fail(f, DDB_ERR_VALIDATION_EXC,
                            "Invalid KeySchema: The %s KeySchemaElement is not a %s key type",
                            i == 0 ? "first" : "second", i == 0 ? "HASH" : "RANGE");
        if (!attr_defined(defs, a))
            return aws_fail(f, DDB_ERR_VALIDATION_EXC,
                            "One or more parameter values were invalid: Some index key "
                            "attributes are not defined in AttributeDefinitions. Keys: [%s], "
                            "AttributeDefinitions: [...]",
                            a);
    }
    if (local) {
        json_t *tks = json_object_get(in, "KeySchema");
        const char *table_hash = ddb_str(json_array_get(tks, 0), "AttributeName");
        if (n != 2 || !table_hash ||
            strcmp(ddb_str(json_array_get(ks, 0), "AttributeName"), table_hash) != 0)
            return aws_fail(f, DDB_ERR_VALIDATION_EXC,
                            "One or more parameter values were invalid: Index KeySchema does not "
                            "have the same leading hash key as table KeySchema for index: %s. "
                            "index hash key: %s, table hash key: %s",
                            name, ddb_str(json_array_get(ks, 0), "AttributeName"),
                            table_hash ? table_hash : "");
        if (json_array_size(tks) != 2)
            return aws_fail(f, DDB_ERR_VALIDATION_EXC,
                            "One or more parameter values were invalid: Table KeySchema does not "
                            "have a range key, which is required when specifying a "
                            "LocalSecondaryIndex");
    }
    return check_projection(f, json_object_get(ix, "Projection"), name);
}

int ddb_index_check_new(aws_failure *f, const json_t *ix, const json_t *in)
{
    return check_index(f, ix, in, 0);
}

int ddb_indexes_check_create(aws_failure *f, const json_t *in, json_t *doc, int64_t *next_id)
{
    static const char *const kinds[2] = {"GlobalSecondaryIndexes", "LocalSecondaryIndexes"};
    json_t *names = json_object();
    int rc = 0;
    for (int local = 0; local < 2 && rc == 0; local++) {
        json_t *list = json_object_get(in, kinds[local]);
        if (!list)
            continue;
        size_t n = json_array_size(list);
        if (n == 0 || n > (size_t)(local ? MAX_LSI : MAX_GSI)) {
            rc = aws_fail(f, DDB_ERR_VALIDATION_EXC,
                          "One or more parameter values were invalid: %s must have between 1 "
                          "and %d entries",
                          kinds[local], local ? MAX_LSI : MAX_GSI);
            break;
        }
        json_t *out = json_array();
        size_t i;
        json_t *ix;
        json_array_foreach(list, i, ix)
        {
            if ((rc = check_index(f, ix, in, local)) != 0)
                break;
            const char *name = ddb_str(ix, "IndexName");
            if (json_object_get(names, name)) {
                rc = aws_fail(f, DDB_ERR_VALIDATION_EXC,
                              "One or more parameter values were invalid: Duplicate index name: "
                              "%s",
                              name);
                break;
            }
            json_object_set_new(names, name, json_true());
            json_t *copy =
                json_pack("{s:s, s:O, s:O, s:I}", "IndexName", name, "KeySchema",
                          json_object_get(ix, "KeySchema"), "Projection",
                          json_object_get(ix, "Projection"), "Id", (json_int_t)(*next_id)++);
            json_array_append_new(out, copy);
        }
        json_object_set_new(doc, kinds[local], out);
    }
    json_decref(names);
    return rc;
}

void ddb_indexes_key_names(const json_t *in, json_t *set)
{
    static const char *const kinds[2] = {"GlobalSecondaryIndexes", "LocalSecondaryIndexes"};
    for (int k = 0; k < 2; k++) {
        size_t i, j;
        json_t *ix, *e;
        json_array_foreach(json_object_get(in, kinds[k]), i, ix)
            json_array_foreach(json_object_get(ix, "KeySchema"), j, e)
        {
            const char *a = ddb_str(e, "AttributeName");
            if (a)
                json_object_set_new(set, a, json_true());
        }
    }
}

/* ---- the registry ------------------------------------------------------------------- */

static ddb_type defined_type(const json_t *doc, const char *name)
{
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(doc, "AttributeDefinitions"), i, d)
    {
        const char *ty = ddb_str(d, "AttributeType");
        if (strcmp(ddb_str(d, "AttributeName") ?: "", name) == 0 && ty)
            return ddb_type_from_name(ty, strlen(ty));
    }
    return DDB_NONE;
}

void ddb_indexes_parse(ddb_table *t)
{
    static const char *const kinds[2] = {"GlobalSecondaryIndexes", "LocalSecondaryIndexes"};
    size_t total = 0;
    for (int k = 0; k < 2; k++)
        total += json_array_size(json_object_get(t->doc, kinds[k]));
    t->indexes = xcalloc(total ? total : 1, sizeof *t->indexes);
    for (int k = 0; k < 2; k++) {
        size_t i;
        json_t *ix;
        json_array_foreach(json_object_get(t->doc, kinds[k]), i, ix)
        {
            ddb_index *x = &t->indexes[t->nindexes++];
            x->name = xstrdup(ddb_str(ix, "IndexName") ?: "");
            x->id = json_integer_value(json_object_get(ix, "Id"));
            x->local = k == 1;
            json_t *ks = json_object_get(ix, "KeySchema");
            x->hash_key = xstrdup(ddb_str(json_array_get(ks, 0), "AttributeName") ?: "");
            x->hash_type = defined_type(t->doc, x->hash_key);
            if (json_array_size(ks) > 1) {
                x->range_key = xstrdup(ddb_str(json_array_get(ks, 1), "AttributeName") ?: "");
                x->range_type = defined_type(t->doc, x->range_key);
            }
            json_t *p = json_object_get(ix, "Projection");
            const char *type = ddb_str(p, "ProjectionType") ?: "ALL";
            x->projection = strcmp(type, "KEYS_ONLY") == 0 ? DDB_PROJ_KEYS_ONLY
                            : strcmp(type, "INCLUDE") == 0 ? DDB_PROJ_INCLUDE
                                                           : DDB_PROJ_ALL;
            x->non_key = json_object_get(p, "NonKeyAttributes");
            x->creating = strcmp(ddb_str(ix, "IndexStatus") ?: "", "CREATING") == 0;
        }
    }
}

void ddb_indexes_free(ddb_table *t)
{
    for (size_t i = 0; i < t->nindexes; i++) {
        xfree(t->indexes[i].name);
        xfree(t->indexes[i].hash_key);
        xfree(t->indexes[i].range_key);
    }
    xfree(t->indexes);
    t->indexes = NULL;
    t->nindexes = 0;
}

ddb_index *ddb_index_find(const ddb_table *t, const char *name)
{
    for (size_t i = 0; i < t->nindexes; i++)
        if (strcmp(t->indexes[i].name, name) == 0)
            return &t->indexes[i];
    return NULL;
}

/* ---- entries ------------------------------------------------------------------------ */

void ddb_escape_append_open(buf *out, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        buf_putc(out, (char)s[i]);
        if (s[i] == 0)
            buf_putc(out, (char)0xff);
    }
}

void ddb_escape_append(buf *out, const void *p, size_t n)
{
    ddb_escape_append_open(out, p, n);
    buf_putc(out, 0);
    buf_putc(out, 1);
}

/* Appends the escaped encoding of item's attribute name; -1 if absent or not a key type. */
static int append_key_attr(buf *out, const json_t *item, const char *name)
{
    json_t *v = json_object_get(item, name);
    buf enc = BUF_INIT;
    int rc = v ? ddb_key_encode(v, &enc) : -1;
    if (rc == 0)
        ddb_escape_append(out, enc.data, enc.len);
    buf_free(&enc);
    return rc;
}

int ddb_index_entry_sk(const ddb_index *ix, const ddb_table *t, const json_t *item, buf *out)
{
    buf_reset(out);
    if (ix->range_key && append_key_attr(out, item, ix->range_key))
        return -1;
    if (append_key_attr(out, item, t->hash_key))
        return -1;
    if (t->range_key && append_key_attr(out, item, t->range_key))
        return -1;
    return 0;
}

/* 1 if item has the index's key attributes with their defined types. */
static int in_index(const ddb_index *ix, const json_t *item)
{
    if (!item)
        return 0;
    json_t *h = json_object_get(item, ix->hash_key);
    json_t *r = ix->range_key ? json_object_get(item, ix->range_key) : NULL;
    return h && ddb_type_of(h) == ix->hash_type &&
           (!ix->range_key || (r && ddb_type_of(r) == ix->range_type));
}

int ddb_indexes_check_item(const ddb_table *t, const json_t *item, char *err, size_t errlen)
{
    for (size_t i = 0; i < t->nindexes; i++) {
        const ddb_index *ix = &t->indexes[i];
        const char *names[2] = {ix->hash_key, ix->range_key};
        ddb_type types[2] = {ix->hash_type, ix->range_type};
        for (int k = 0; k < 2 && names[k]; k++) {
            json_t *v = json_object_get(item, names[k]);
            if (!v)
                continue;
            ddb_type ty = ddb_type_of(v);
            if (ty != types[k]) {
                snprintf(err, errlen,
                         "One or more parameter values were invalid: Type mismatch for Index Key "
                         "%s Expected: %s Actual: %s IndexName: %s",
                         names[k], ddb_type_name(types[k]), ddb_type_name(ty), ix->name);
                return -1;
            }
            if ((ty == DDB_S || ty == DDB_B) && json_string_length(ddb_payload(v)) == 0) {
                snprintf(err, errlen,
                         "One or more parameter values are not valid. A value specified for a "
                         "secondary index key is not supported. The AttributeValue for a key "
                         "attribute cannot contain an empty %s value. IndexName: %s, IndexKey: %s",
                         ty == DDB_S ? "string" : "binary", ix->name, names[k]);
                return -1;
            }
        }
    }
    return 0;
}

/* The item as the index projects it (new object). */
static json_t *project(const ddb_index *ix, const ddb_table *t, const json_t *item)
{
    if (ix->projection == DDB_PROJ_ALL)
        return json_incref((json_t *)item);
    json_t *out = json_object();
    const char *keys[4] = {t->hash_key, t->range_key, ix->hash_key, ix->range_key};
    for (int k = 0; k < 4; k++)
        if (keys[k] && json_object_get(item, keys[k]))
            json_object_set(out, keys[k], json_object_get(item, keys[k]));
    size_t i;
    json_t *a;
    json_array_foreach(ix->non_key, i, a)
    {
        json_t *v = json_object_get(item, json_string_value(a) ?: "");
        if (v)
            json_object_set(out, json_string_value(a), v);
    }
    return out;
}

/* The side row of item's entry in ix (item NULL: a delete of old's entry). */
static void entry_side(const ddb_index *ix, const ddb_table *t, const json_t *keys_of,
                       const json_t *item, store_kv_side *s)
{
    buf pk = BUF_INIT, sk = BUF_INIT;
    ddb_key_encode(json_object_get(keys_of, ix->hash_key), &pk);
    ddb_index_entry_sk(ix, t, keys_of, &sk);
    memset(s, 0, sizeof *s);
    s->key.table = ix->id;
    s->key.pk = (const unsigned char *)buf_steal(&pk, &s->key.pk_len);
    s->key.sk = (const unsigned char *)buf_steal(&sk, &s->key.sk_len);
    if (item) {
        json_t *p = project(ix, t, item);
        buf text = BUF_INIT;
        jsonc_dump(&text, p);
        s->size = (int64_t)ddb_item_size(p);
        s->item = buf_steal(&text, &s->len);
        json_decref(p);
    }
}

static int same_entry(const ddb_index *ix, const ddb_table *t, const json_t *a, const json_t *b)
{
    const char *keys[4] = {ix->hash_key, ix->range_key, t->hash_key, t->range_key};
    for (int k = 0; k < 4; k++)
        if (keys[k] && !ddb_value_equal(json_object_get(a, keys[k]), json_object_get(b, keys[k])))
            return 0;
    return 1;
}

void ddb_indexes_sides(const ddb_table *t, const json_t *old, const json_t *new_item,
                       store_kv_write *out)
{
    if (t->nindexes == 0)
        return;
    out->sides = xcalloc(2 * t->nindexes, sizeof *out->sides);
    out->nsides = 0;
    for (size_t i = 0; i < t->nindexes; i++) {
        const ddb_index *ix = &t->indexes[i];
        int had = in_index(ix, old), has = in_index(ix, new_item);
        if (had && !(has && same_entry(ix, t, old, new_item)))
            entry_side(ix, t, old, NULL, &out->sides[out->nsides++]);
        if (has)
            entry_side(ix, t, new_item, new_item, &out->sides[out->nsides++]);
    }
}

/* ---- description -------------------------------------------------------------------- */

void ddb_index_backfill_side(const ddb_index *ix, const ddb_table *t, const json_t *item,
                             store_kv_write *out)
{
    if (!in_index(ix, item))
        return;
    out->sides = xcalloc(1, sizeof *out->sides);
    entry_side(ix, t, item, item, &out->sides[0]);
    out->nsides = 1;
}

void ddb_indexes_describe(const dynamodb *d, const ddb_table *t, json_t *desc,
                          const int64_t *counts, const int64_t *sizes)
{
    static const char *const kinds[2] = {"GlobalSecondaryIndexes", "LocalSecondaryIndexes"};
    char *table_arn = ddb_table_arn(d, t->name);
    size_t at = 0;
    for (int k = 0; k < 2; k++) {
        json_t *list = json_object_get(t->doc, kinds[k]);
        if (!list)
            continue;
        json_t *out = json_array();
        size_t i;
        json_t *ix;
        json_array_foreach(list, i, ix)
        {
            char arn[1024];
            snprintf(arn, sizeof arn, "%s/index/%s", table_arn, ddb_str(ix, "IndexName") ?: "");
            json_t *e = json_pack("{s:O, s:O, s:O, s:I, s:I, s:s}", "IndexName",
                                  json_object_get(ix, "IndexName"), "KeySchema",
                                  json_object_get(ix, "KeySchema"), "Projection",
                                  json_object_get(ix, "Projection"), "IndexSizeBytes",
                                  (json_int_t)(sizes ? sizes[at] : 0), "ItemCount",
                                  (json_int_t)(counts ? counts[at] : 0), "IndexArn", arn);
            if (k == 0) {
                const char *status = ddb_str(ix, "IndexStatus") ?: "ACTIVE";
                json_object_set_new(e, "IndexStatus", json_string(status));
                if (strcmp(status, "CREATING") == 0)
                    json_object_set_new(e, "Backfilling", json_true());
                json_object_set_new(e, "ProvisionedThroughput",
                                    json_pack("{s:i, s:i, s:i}", "NumberOfDecreasesToday", 0,
                                              "ReadCapacityUnits", 0, "WriteCapacityUnits", 0));
            }
            json_array_append_new(out, e);
            at++;
        }
        json_object_set_new(desc, kinds[k], out);
    }
    xfree(table_arn);
}
