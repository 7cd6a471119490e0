/* The DynamoDB service: its operation table, lifecycle, the table registry and the helpers
 * its handlers share (errors, keys, expressions, consumed capacity). */
#include "services/dynamodb/ddb_internal.h"

#include "common/alloc.h"
#include "common/log.h"
#include "protocol/json_codec.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const aws_op_def ddb_ops[] = {
    {"BatchExecuteStatement", ddb_batch_execute_statement},
    {"BatchGetItem", ddb_batch_get_item},
    {"BatchWriteItem", ddb_batch_write_item},
    {"CreateTable", ddb_create_table},
    {"DeleteItem", ddb_delete_item},
    {"DeleteTable", ddb_delete_table},
    {"DescribeEndpoints", ddb_describe_endpoints},
    {"DescribeLimits", ddb_describe_limits},
    {"DescribeTable", ddb_describe_table},
    {"DescribeTimeToLive", ddb_describe_time_to_live},
    {"ExecuteStatement", ddb_execute_statement},
    {"ExecuteTransaction", ddb_execute_transaction},
    {"GetItem", ddb_get_item},
    {"ListTables", ddb_list_tables},
    {"ListTagsOfResource", ddb_list_tags_of_resource},
    {"PutItem", ddb_put_item},
    {"Query", ddb_query},
    {"Scan", ddb_scan},
    {"TagResource", ddb_tag_resource},
    {"TransactGetItems", ddb_transact_get_items},
    {"TransactWriteItems", ddb_transact_write_items},
    {"UntagResource", ddb_untag_resource},
    {"UpdateItem", ddb_update_item},
    {"UpdateTable", ddb_update_table},
    {"UpdateTimeToLive", ddb_update_time_to_live},
};

/* ---- errors ------------------------------------------------------------------------- */

const char *ddb_str(const json_t *obj, const char *name)
{
    json_t *v = json_object_get(obj, name);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

void ddb_validation(aws_call *call, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    aws_reply_error(call, DDB_ERR_VALIDATION_EXC, "%s", msg);
}

void ddb_reply_error_with(aws_call *call, aws_error err, const char *msg, json_t *extra)
{
    aws_reply_error_extra(call, err, extra, "%s", msg);
}

/* ---- tables ------------------------------------------------------------------------- */

static size_t table_index(const dynamodb *d, const char *name, int *found)
{
    size_t lo = 0, hi = d->ntables;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(d->tables[mid]->name, name);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

ddb_table *ddb_table_find(dynamodb *d, const char *name)
{
    int found;
    size_t i = table_index(d, name, &found);
    return found ? d->tables[i] : NULL;
}

ddb_table *ddb_table_of(aws_call *call, const json_t *obj)
{
    const char *name = ddb_str(obj, "TableName");
    if (!name) {
        ddb_validation(call, "1 validation error detected: Value null at 'tableName' failed to "
                             "satisfy constraint: Member must not be null");
        return NULL;
    }
    ddb_table *t = ddb_table_find(ddb_of(call), name);
    if (!t)
        aws_reply_error(call, DDB_ERR_NOT_FOUND, "Requested resource not found");
    return t;
}

void ddb_table_insert(dynamodb *d, ddb_table *t)
{
    int found;
    size_t i = table_index(d, t->name, &found);
    if (d->ntables == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 16;
        d->tables = xrealloc(d->tables, d->cap * sizeof *d->tables);
    }
    memmove(d->tables + i + 1, d->tables + i, (d->ntables - i) * sizeof *d->tables);
    d->tables[i] = t;
    d->ntables++;
    if (t->id >= d->next_id)
        d->next_id = t->id + 1;
    for (size_t k = 0; k < t->nindexes; k++)
        if (t->indexes[k].id >= d->next_id)
            d->next_id = t->indexes[k].id + 1;
}

void ddb_table_remove(dynamodb *d, ddb_table *t)
{
    int found;
    size_t i = table_index(d, t->name, &found);
    if (!found || d->tables[i] != t)
        return;
    memmove(d->tables + i, d->tables + i + 1, (d->ntables - i - 1) * sizeof *d->tables);
    d->ntables--;
    d->dropped = xrealloc(d->dropped, (d->ndropped + 1) * sizeof *d->dropped);
    d->dropped[d->ndropped++] = t;
}

void ddb_table_free(ddb_table *t)
{
    if (!t)
        return;
    xfree(t->name);
    xfree(t->hash_key);
    xfree(t->range_key);
    ddb_indexes_free(t);
    json_decref(t->doc);
    xfree(t);
}

static ddb_type attribute_type(const json_t *defs, const char *name)
{
    size_t i;
    json_t *def;
    json_array_foreach(defs, i, def)
    {
        const char *n = ddb_str(def, "AttributeName"), *ty = ddb_str(def, "AttributeType");
        if (n && ty && strcmp(n, name) == 0)
            return ddb_type_from_name(ty, strlen(ty));
    }
    return DDB_NONE;
}

ddb_table *ddb_table_from_doc(const char *name, json_t *doc)
{
    ddb_table *t = xcalloc(1, sizeof *t);
    t->name = xstrdup(name);
    t->doc = doc;
    t->id = json_integer_value(json_object_get(doc, "Id"));
    json_t *defs = json_object_get(doc, "AttributeDefinitions");
    size_t i;
    json_t *ks;
    json_array_foreach(json_object_get(doc, "KeySchema"), i, ks)
    {
        const char *n = ddb_str(ks, "AttributeName"), *ty = ddb_str(ks, "KeyType");
        if (!n || !ty)
            continue;
        if (strcmp(ty, "HASH") == 0) {
            t->hash_key = xstrdup(n);
            t->hash_type = attribute_type(defs, n);
        } else {
            t->range_key = xstrdup(n);
            t->range_type = attribute_type(defs, n);
        }
    }
    ddb_indexes_parse(t);
    ddb_table_parse_stream(t);
    return t;
}

void ddb_table_parse_stream(ddb_table *t)
{
    json_t *doc = t->doc;
    json_t *spec = json_object_get(doc, "StreamSpecification");
    t->stream_id = json_integer_value(json_object_get(doc, "StreamId"));
    if (!json_is_true(json_object_get(spec, "StreamEnabled")))
        t->stream_id = 0;
    const char *view = ddb_str(spec, "StreamViewType") ?: "";
    t->stream_view = strcmp(view, "NEW_IMAGE") == 0            ? DDB_VIEW_NEW_IMAGE
                     : strcmp(view, "OLD_IMAGE") == 0          ? DDB_VIEW_OLD_IMAGE
                     : strcmp(view, "NEW_AND_OLD_IMAGES") == 0 ? DDB_VIEW_NEW_AND_OLD_IMAGES
                                                               : DDB_VIEW_KEYS_ONLY;
}

char *ddb_table_arn(const dynamodb *d, const char *name)
{
    size_t n = strlen(name) + strlen(d->region) + strlen(d->account) + 64;
    char *arn = xmalloc(n);
    snprintf(arn, n, "arn:aws:dynamodb:%s:%s:table/%s", d->region, d->account, name);
    return arn;
}

/* ---- keys --------------------------------------------------------------------------- */

/* Encodes one key attribute value; msg_* say what to answer. */
static int encode_key_value(const json_t *av, ddb_type want, const char *name, int item_form,
                            buf *out, char *err, size_t errlen)
{
    ddb_type ty = ddb_type_of(av);
    if (ty != want) {
        if (item_form)
            snprintf(err, errlen,
                     "One or more parameter values were invalid: Type mismatch for key %s "
                     "expected: %s actual: %s",
                     name, ddb_type_name(want), ddb_type_name(ty));
        else
            snprintf(err, errlen, "The provided key element does not match the schema");
        return -1;
    }
    json_t *p = ddb_payload(av);
    if ((ty == DDB_S && json_string_length(p) == 0) ||
        (ty == DDB_B && json_string_length(p) == 0)) {
        snprintf(err, errlen,
                 "One or more parameter values are not valid. The AttributeValue for a key "
                 "attribute cannot contain an empty %s value. Key: %s",
                 ty == DDB_S ? "string" : "binary", name);
        return -1;
    }
    if (ty == DDB_S && json_string_length(p) > 2048) {
        snprintf(err, errlen,
                 "One or more parameter values were invalid: Size of hashkey has exceeded the "
                 "maximum size limit of2048 bytes");
        return -1;
    }
    buf_reset(out);
    return ddb_key_encode(av, out) == 0 ? 0 : -1;
}

int ddb_key_of_item(const ddb_table *t, const json_t *item, buf *pk, buf *sk, char *err,
                    size_t errlen)
{
    const char *names[2] = {t->hash_key, t->range_key};
    ddb_type types[2] = {t->hash_type, t->range_type};
    buf *outs[2] = {pk, sk};
    buf_reset(sk);
    for (int i = 0; i < 2 && names[i]; i++) {
        json_t *av = json_object_get(item, names[i]);
        if (!av) {
            snprintf(err, errlen,
                     "One or more parameter values were invalid: Missing the key %s in the item",
                     names[i]);
            return -1;
        }
        if (encode_key_value(av, types[i], names[i], 1, outs[i], err, errlen))
            return -1;
    }
    return 0;
}

int ddb_key_of_key(const ddb_table *t, const json_t *key, buf *pk, buf *sk, char *err,
                   size_t errlen)
{
    size_t want = t->range_key ? 2 : 1;
    if (!json_is_object(key) || json_object_size(key) != want ||
        !json_object_get(key, t->hash_key) ||
        (t->range_key && !json_object_get(key, t->range_key))) {
        snprintf(err, errlen, "The provided key element does not match the schema");
        return -1;
    }
    buf_reset(sk);
    if (encode_key_value(json_object_get(key, t->hash_key), t->hash_type, t->hash_key, 0, pk, err,
                         errlen))
        return -1;
    if (t->range_key && encode_key_value(json_object_get(key, t->range_key), t->range_type,
                                         t->range_key, 0, sk, err, errlen))
        return -1;
    return 0;
}

json_t *ddb_key_project(const ddb_table *t, const json_t *item)
{
    json_t *k = json_object();
    json_object_set(k, t->hash_key, json_object_get(item, t->hash_key));
    if (t->range_key)
        json_object_set(k, t->range_key, json_object_get(item, t->range_key));
    return k;
}

/* ---- expressions -------------------------------------------------------------------- */

static ddb_text text_of(const json_t *req, const char *name)
{
    json_t *v = json_object_get(req, name);
    return json_is_string(v) ? (ddb_text){json_string_value(v), json_string_length(v)}
                             : (ddb_text){NULL, 0};
}

int ddb_compile(const json_t *req, unsigned allowed, ddb_exprs **out, char *err, size_t errlen)
{
    ddb_expr_input in = {0};
    if (allowed & DDB_ALLOW(DDB_EXPR_CONDITION))
        in.condition = text_of(req, "ConditionExpression");
    if (allowed & DDB_ALLOW(DDB_EXPR_KEY_CONDITION))
        in.key_condition = text_of(req, "KeyConditionExpression");
    if (allowed & DDB_ALLOW(DDB_EXPR_FILTER))
        in.filter = text_of(req, "FilterExpression");
    if (allowed & DDB_ALLOW(DDB_EXPR_UPDATE))
        in.update = text_of(req, "UpdateExpression");
    if (allowed & DDB_ALLOW(DDB_EXPR_PROJECTION))
        in.projection = text_of(req, "ProjectionExpression");
    in.names = json_object_get(req, "ExpressionAttributeNames");
    in.values = json_object_get(req, "ExpressionAttributeValues");
    int any = in.condition.s || in.key_condition.s || in.filter.s || in.update.s || in.projection.s;
    if (!any && in.names) {
        snprintf(err, errlen,
                 "ExpressionAttributeNames can only be specified when using "
                 "expressions");
        return -1;
    }
    if (!any && in.values) {
        snprintf(err, errlen,
                 "ExpressionAttributeValues can only be specified when using "
                 "expressions");
        return -1;
    }
    return ddb_exprs_compile(out, &in, err, errlen);
}

/* ---- consumed capacity -------------------------------------------------------------- */

double ddb_read_units(int64_t bytes, int consistent)
{
    double units = bytes <= 0 ? 1 : ceil((double)bytes / 4096.0);
    return consistent ? units : units / 2;
}

double ddb_write_units(int64_t bytes)
{
    return bytes <= 0 ? 1 : ceil((double)bytes / 1024.0);
}

json_t *ddb_capacity(const json_t *req, const char *table, double units)
{
    const char *rcc = ddb_str(req, "ReturnConsumedCapacity");
    if (!rcc || strcmp(rcc, "NONE") == 0)
        return NULL;
    json_t *c = json_pack("{s:s, s:f}", "TableName", table, "CapacityUnits", units);
    if (strcmp(rcc, "INDEXES") == 0)
        json_object_set_new(c, "Table", json_pack("{s:f}", "CapacityUnits", units));
    return c;
}

/* ---- lifecycle ---------------------------------------------------------------------- */

static void table_restore(const char *key, const char *doc, void *arg)
{
    dynamodb *d = arg;
    json_error_t jerr;
    json_t *j = json_loads(doc, 0, &jerr);
    if (!json_is_object(j)) {
        log_error("unreadable DynamoDB table document", "table='%s'", key);
        json_decref(j);
        return;
    }
    ddb_table_insert(d, ddb_table_from_doc(key, j));
}

int dynamodb_create(dynamodb **out, uv_loop_t *loop, store *st, const char *region,
                    const char *account)
{
    dynamodb *d = xcalloc(1, sizeof *d);
    d->def.model = &model_dynamodb;
    d->def.json_protocol = AWS_PROTO_JSON_1_0;
    d->def.ops = ddb_ops;
    d->def.nops = sizeof ddb_ops / sizeof ddb_ops[0];
    d->def.ctx = d;
    d->loop = loop;
    d->store = st;
    d->region = region;
    d->account = account;
    d->next_id = 1;
    d->tokens = json_object();
    d->streams = json_object();
    ddb_streams_def_init(d);
    if (ddb_streams_load(d) != 0 || store_load_docs(st, DDB_DOC_NS, table_restore, d) != 0) {
        dynamodb_destroy(d);
        *out = NULL;
        return -1;
    }
    log_info("dynamodb ready", "tables=%zu", d->ntables);
    ddb_backfills_resume(d);
    ddb_sweep_start(d);
    *out = d;
    return 0;
}

const aws_service_def *dynamodb_service_def(const dynamodb *d)
{
    return &d->def;
}

void dynamodb_shutdown(dynamodb *d)
{
    /* In-flight ops complete through the store; backfills and the sweep stop at their next
     * step. */
    d->stopping = 1;
    ddb_sweep_stop(d);
}

void dynamodb_destroy(dynamodb *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->ntables; i++)
        ddb_table_free(d->tables[i]);
    xfree(d->tables);
    for (size_t i = 0; i < d->ndropped; i++)
        ddb_table_free(d->dropped[i]);
    xfree(d->dropped);
    json_decref(d->tokens);
    json_decref(d->streams);
    ddb_backfills_free(d);
    ddb_sweep_free(d);
    xfree(d);
}
