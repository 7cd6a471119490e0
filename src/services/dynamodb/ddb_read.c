/* DynamoDB Query and Scan.
 *
 * A Query turns its KeyConditionExpression into one partition key and a range of encoded
 * sort keys [lo, hi) (the encodings' byte order is DynamoDB's key order), and the store
 * reads that range of its primary key in order, forward or backward: no table scan. A Scan
 * reads the table in the store's hash order; Segment/TotalSegments are equal slices of the
 * hash space. Both stop at Limit items or once 1 MB of items was read (before the filter,
 * as DynamoDB counts it), and resume after ExclusiveStartKey. The filter and projection are
 * applied here, on the loop thread, to the page the store returned. */
#include "services/dynamodb/ddb_internal.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "protocol/json_codec.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

typedef struct range_read {
    store_op op;
    aws_call *call;
    ddb_table *table;
    ddb_index *index; /* IndexName's, or NULL */
    ddb_exprs *exprs;
    buf pk, lo, hi, start_pk, start_sk;
    int count_only;
    int consistent;
    ddb_page_fn shape; /* ExecuteStatement's: reshapes the page before the reply */
} range_read;

static void range_free(range_read *r)
{
    ddb_exprs_free(r->exprs);
    buf_free(&r->pk);
    buf_free(&r->lo);
    buf_free(&r->hi);
    buf_free(&r->start_pk);
    buf_free(&r->start_sk);
    xfree(r);
}

/* LastEvaluatedKey: the table's key attributes of the last item read, and the index's. */
static json_t *last_key(const range_read *r, const json_t *last)
{
    json_t *k = ddb_key_project(r->table, last);
    if (r->index) {
        json_object_set(k, r->index->hash_key, json_object_get(last, r->index->hash_key));
        if (r->index->range_key)
            json_object_set(k, r->index->range_key, json_object_get(last, r->index->range_key));
    }
    return k;
}

static void range_done(store_op *op)
{
    range_read *r = op->ctx;
    aws_call *call = r->call;
    if (op->status != 0) {
        aws_reply_error(call, AWS_ERR_DDB_INTERNAL_SERVER_ERROR, "The store could not read.");
        store_op_clear(op);
        range_free(r);
        return;
    }
    json_t *items = json_array(), *last = NULL;
    size_t count = 0, scanned = 0;
    int64_t bytes = 0;
    for (size_t i = 0; i < op->u.kv_range.n; i++) {
        store_kv_item *it = &op->u.kv_range.items[i];
        char jerr[128];
        json_t *item = jsonc_parse(it->item, it->len, jerr, sizeof jerr);
        if (!item)
            continue;
        bytes += it->size;
        json_decref(last);
        last = json_incref(item);
        if (!ddb_condition_matches(r->exprs, DDB_EXPR_KEY_CONDITION, item)) {
            json_decref(item);
            continue;
        }
        scanned++;
        if (ddb_condition_matches(r->exprs, DDB_EXPR_FILTER, item)) {
            count++;
            if (!r->count_only)
                json_array_append_new(items, ddb_projection_apply(r->exprs, item));
        }
        json_decref(item);
    }
    json_t *out =
        json_pack("{s:I, s:I}", "Count", (json_int_t)count, "ScannedCount", (json_int_t)scanned);
    if (!r->count_only)
        json_object_set_new(out, "Items", items);
    else
        json_decref(items);
    if (op->u.kv_range.more && last)
        json_object_set_new(out, "LastEvaluatedKey", last_key(r, last));
    json_decref(last);
    json_t *cap = ddb_capacity(call->input, r->table->name, ddb_read_units(bytes, r->consistent));
    if (cap)
        json_object_set_new(out, "ConsumedCapacity", cap);
    if (r->shape)
        r->shape(out);
    aws_reply(call, out);
    store_op_clear(op);
    range_free(r);
}

/* ---- the parts Query and Scan share ------------------------------------------------- */

/* Reads go to IndexName's entries. */
static int use_index(range_read *r, json_t *in, char *err, size_t errlen)
{
    const char *name = ddb_str(in, "IndexName");
    r->index = name ? ddb_index_find(r->table, name) : NULL;
    if (!r->index) {
        snprintf(err, errlen, "The table does not have the specified index: %s", name ? name : "");
        return -1;
    }
    r->op.u.kv_range.table = r->index->id;
    return 0;
}

/* ExclusiveStartKey: the table's key, and on an index the index's key attributes too. */
static int start_key(range_read *r, json_t *start, char *err, size_t errlen)
{
    char kerr[256];
    ddb_table *t = r->table;
    ddb_index *ix = r->index;
    int rc = ddb_item_validate(start, kerr, sizeof kerr);
    if (rc == 0 && !ix) {
        rc = ddb_key_of_key(t, start, &r->start_pk, &r->start_sk, kerr, sizeof kerr);
    } else if (rc == 0) {
        json_t *tkey = ddb_key_project(t, start);
        rc = ddb_key_of_key(t, tkey, &r->start_pk, &r->start_sk, kerr, sizeof kerr);
        json_decref(tkey);
        json_t *h = json_object_get(start, ix->hash_key);
        buf_reset(&r->start_pk);
        if (rc == 0 &&
            (!h || ddb_type_of(h) != ix->hash_type || ddb_key_encode(h, &r->start_pk) != 0 ||
             ddb_index_entry_sk(ix, t, start, &r->start_sk) != 0)) {
            snprintf(kerr, sizeof kerr, "The provided key element does not match the schema");
            rc = -1;
        }
    }
    if (rc) {
        snprintf(err, errlen, "The provided starting key is invalid: %s", kerr);
        return -1;
    }
    r->op.u.kv_range.start_pk = (const unsigned char *)r->start_pk.data;
    r->op.u.kv_range.start_pk_len = r->start_pk.len;
    r->op.u.kv_range.start_sk = (const unsigned char *)r->start_sk.data;
    r->op.u.kv_range.start_sk_len = r->start_sk.len;
    return 0;
}

/* Select, Limit, ExclusiveStartKey and the expressions; 0 or -1 with err. */
static int prepare_common(range_read *r, json_t *in, unsigned exprs, char *err, size_t errlen)
{
    if (json_object_get(in, "IndexName") && use_index(r, in, err, errlen))
        return -1;
    if (ddb_legacy_projection(in, err, errlen))
        return -1;
    const char *select = ddb_str(in, "Select");
    int has_projection = json_object_get(in, "ProjectionExpression") != NULL;
    if (select) {
        if (strcmp(select, "COUNT") == 0)
            r->count_only = 1;
        else if (strcmp(select, "ALL_PROJECTED_ATTRIBUTES") == 0 && !r->index) {
            snprintf(err, errlen,
                     "ALL_PROJECTED_ATTRIBUTES can be used only when Querying "
                     "using an IndexName");
            return -1;
        } else if (strcmp(select, "SPECIFIC_ATTRIBUTES") == 0 && !has_projection) {
            snprintf(err, errlen, "SPECIFIC_ATTRIBUTES requires a ProjectionExpression");
            return -1;
        } else if (strcmp(select, "ALL_ATTRIBUTES") == 0 && r->index && !r->index->local &&
                   r->index->projection != DDB_PROJ_ALL) {
            snprintf(err, errlen,
                     "One or more parameter values were invalid: Select type ALL_ATTRIBUTES is "
                     "not supported for global secondary index %s because its projection type "
                     "is not ALL",
                     r->index->name);
            return -1;
        } else if (strcmp(select, "ALL_ATTRIBUTES") != 0 &&
                   strcmp(select, "SPECIFIC_ATTRIBUTES") != 0 &&
                   strcmp(select, "ALL_PROJECTED_ATTRIBUTES") != 0) {
            snprintf(err, errlen,
                     "1 validation error detected: Value '%s' at 'select' failed to satisfy "
                     "constraint: Member must satisfy enum value set: [SPECIFIC_ATTRIBUTES, "
                     "COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]",
                     select);
            return -1;
        }
        if (has_projection && strcmp(select, "SPECIFIC_ATTRIBUTES") != 0) {
            snprintf(err, errlen,
                     "Cannot specify the ProjectionExpression when choosing to get "
                     "%s",
                     select);
            return -1;
        }
    }
    json_t *limit = json_object_get(in, "Limit");
    r->op.u.kv_range.max_items = INT_MAX - 1;
    if (limit) {
        json_int_t n = json_integer_value(limit);
        if (n < 1) {
            snprintf(err, errlen,
                     "1 validation error detected: Value '%lld' at 'limit' failed to satisfy "
                     "constraint: Member must have value greater than or equal to 1",
                     (long long)n);
            return -1;
        }
        r->op.u.kv_range.max_items = n < INT_MAX - 1 ? (int)n : INT_MAX - 1;
    }
    r->op.u.kv_range.max_bytes = DDB_PAGE_BYTES;
    json_t *start = json_object_get(in, "ExclusiveStartKey");
    if (start && start_key(r, start, err, errlen))
        return -1;
    r->consistent = json_is_true(json_object_get(in, "ConsistentRead"));
    if (r->consistent && r->index && !r->index->local) {
        snprintf(err, errlen, "Consistent reads are not supported on global secondary indexes");
        return -1;
    }
    if (r->index && r->index->creating) {
        snprintf(err, errlen, "Cannot read from backfilling global secondary index: %s",
                 r->index->name);
        return -1;
    }
    return ddb_compile(in, exprs | DDB_ALLOW(DDB_EXPR_FILTER) | DDB_ALLOW(DDB_EXPR_PROJECTION),
                       &r->exprs, err, errlen);
}

static range_read *range_new(aws_call *call, ddb_table *t)
{
    range_read *r = xcalloc(1, sizeof *r);
    r->call = call;
    r->table = t;
    r->pk = r->lo = r->hi = r->start_pk = r->start_sk = (buf)BUF_INIT;
    r->op.kind = STORE_KV_RANGE;
    r->op.now_ms = clock_now_ms();
    r->op.u.kv_range.table = t->id;
    r->op.u.kv_range.forward = 1;
    r->op.done = range_done;
    r->op.ctx = r;
    return r;
}

static void range_submit_or_fail(range_read *r, int rc, const char *err)
{
    if (rc != 0) {
        ddb_validation(r->call, "%s", err);
        range_free(r);
        return;
    }
    store_submit(ddb_of(r->call)->store, &r->op);
}

/* ---- Query -------------------------------------------------------------------------- */

/* Appends the encoding of v, or fails if v is not of the key's type. */
static int encode_bound(const json_t *v, ddb_type want, buf *out, char *err, size_t errlen)
{
    if (ddb_type_of(v) != want) {
        snprintf(err, errlen,
                 "One or more parameter values were invalid: Condition parameter "
                 "type does not match schema type");
        return -1;
    }
    buf_reset(out);
    return ddb_key_encode(v, out);
}

/* The smallest byte string greater than every string that starts with p. */
static void prefix_successor(buf *p)
{
    while (p->len > 0 && (unsigned char)p->data[p->len - 1] == 0xff)
        p->len--;
    if (p->len > 0)
        p->data[p->len - 1]++;
}

/* The first sort key whose range value is v ("at") or after v ("after"). On a table the sort
 * key is v's encoding; on an index it is escaped and followed by the table's key. */
static int bound(const range_read *r, const json_t *v, ddb_type want, int after, buf *out,
                 char *err, size_t errlen)
{
    buf enc = BUF_INIT;
    int rc = encode_bound(v, want, &enc, err, errlen);
    buf_reset(out);
    if (rc == 0 && !r->index) {
        buf_append(out, enc.data, enc.len);
        if (after)
            buf_putc(out, 0);
    } else if (rc == 0) {
        ddb_escape_append_open(out, enc.data, enc.len);
        buf_putc(out, 0);
        buf_putc(out, after ? 2 : 1);
    }
    buf_free(&enc);
    return rc;
}

/* The sort key range [lo, hi) of a resolved key condition. */
static int sort_range(range_read *r, const ddb_key_condition *kc, ddb_type type, char *err,
                      size_t errlen)
{
    buf *lo = &r->lo, *hi = &r->hi;
    int has_lo = 1, has_hi = 1, rc = 0;
    const json_t *v = kc->range_values[0];
    switch (kc->range_op) {
    case DDB_KEY_EQ:
        rc = bound(r, v, type, 0, lo, err, errlen) || bound(r, v, type, 1, hi, err, errlen);
        break;
    case DDB_KEY_LT:
        rc = bound(r, v, type, 0, hi, err, errlen);
        has_lo = 0;
        break;
    case DDB_KEY_LE:
        rc = bound(r, v, type, 1, hi, err, errlen);
        has_lo = 0;
        break;
    case DDB_KEY_GT:
        rc = bound(r, v, type, 1, lo, err, errlen);
        has_hi = 0;
        break;
    case DDB_KEY_GE:
        rc = bound(r, v, type, 0, lo, err, errlen);
        has_hi = 0;
        break;
    case DDB_KEY_BETWEEN:
        rc = bound(r, v, type, 0, lo, err, errlen) ||
             bound(r, kc->range_values[1], type, 1, hi, err, errlen);
        if (rc == 0 && ddb_key_cmp(v, kc->range_values[1]) > 0) {
            snprintf(err, errlen,
                     "Invalid KeyConditionExpression: The BETWEEN operator requires "
                     "upper bound to be greater than or equal to lower bound");
            rc = -1;
        }
        break;
    case DDB_KEY_BEGINS_WITH:
        if (type == DDB_N) {
            snprintf(err, errlen,
                     "Invalid KeyConditionExpression: Incorrect operand type for "
                     "operator or function; operator or function: begins_with, "
                     "operand type: N");
            return -1;
        }
        rc = encode_bound(v, type, hi, err, errlen);
        if (rc == 0 && r->index) { /* the escaped prefix, unterminated */
            buf enc = BUF_INIT;
            buf_append(&enc, hi->data, hi->len);
            buf_reset(hi);
            ddb_escape_append_open(hi, enc.data, enc.len);
            buf_free(&enc);
        }
        buf_reset(lo);
        buf_append(lo, hi->data, hi->len);
        prefix_successor(hi);
        break;
    }
    if (rc)
        return -1;
    r->op.u.kv_range.lo = has_lo ? (const unsigned char *)lo->data : NULL;
    r->op.u.kv_range.lo_len = has_lo ? lo->len : 0;
    r->op.u.kv_range.hi = has_hi ? (const unsigned char *)hi->data : NULL;
    r->op.u.kv_range.hi_len = has_hi ? hi->len : 0;
    return 0;
}

static int prepare_query(range_read *r, json_t *in, char *err, size_t errlen)
{
    if (ddb_legacy_rewrite(in, err, errlen))
        return -1;
    if (!json_object_get(in, "KeyConditionExpression")) {
        snprintf(err, errlen,
                 "Either the KeyConditions or KeyConditionExpression parameter "
                 "must be specified in the request.");
        return -1;
    }
    if (prepare_common(r, in, DDB_ALLOW(DDB_EXPR_KEY_CONDITION), err, errlen))
        return -1;
    ddb_key_condition kc;
    const char *hash = r->index ? r->index->hash_key : r->table->hash_key;
    const char *range = r->index ? r->index->range_key : r->table->range_key;
    ddb_type hash_type = r->index ? r->index->hash_type : r->table->hash_type;
    ddb_type range_type = r->index ? r->index->range_type : r->table->range_type;
    if (ddb_key_condition_resolve(r->exprs, hash, range, &kc, err, errlen))
        return -1;
    if (encode_bound(kc.hash_value, hash_type, &r->pk, err, errlen))
        return -1;
    r->op.u.kv_range.pk = (const unsigned char *)r->pk.data;
    r->op.u.kv_range.pk_len = r->pk.len;
    if (kc.has_range && sort_range(r, &kc, range_type, err, errlen))
        return -1;
    json_t *fwd = json_object_get(in, "ScanIndexForward");
    r->op.u.kv_range.forward = !json_is_false(fwd);
    if (r->start_pk.len &&
        (r->start_pk.len != r->pk.len || memcmp(r->start_pk.data, r->pk.data, r->pk.len) != 0)) {
        snprintf(err, errlen,
                 "The provided starting key is invalid: The provided key element "
                 "does not match the partition key of the query");
        return -1;
    }
    return 0;
}

void ddb_query(aws_call *call)
{
    ddb_range_read(call, 1, NULL);
}

/* ---- Scan --------------------------------------------------------------------------- */

static int prepare_scan(range_read *r, json_t *in, char *err, size_t errlen)
{
    json_t *seg = json_object_get(in, "Segment"), *total = json_object_get(in, "TotalSegments");
    if (seg && !total) {
        snprintf(err, errlen,
                 "The TotalSegments parameter is required but was not present in "
                 "the request when Segment parameter is present");
        return -1;
    }
    if (total && !seg) {
        snprintf(err, errlen,
                 "The Segment parameter is required but was not present in the "
                 "request when parameter TotalSegments is present");
        return -1;
    }
    if (total) {
        json_int_t s = json_integer_value(seg), n = json_integer_value(total);
        if (n < 1 || n > 1000000) {
            snprintf(err, errlen,
                     "1 validation error detected: Value '%lld' at 'totalSegments' failed to "
                     "satisfy constraint: Member must have value %s",
                     (long long)n,
                     n < 1 ? "greater than or equal to 1" : "less than or equal to 1000000");
            return -1;
        }
        if (s < 0 || s >= n) {
            snprintf(err, errlen,
                     "The Segment parameter is zero-based and must be less than parameter "
                     "TotalSegments: Segment: %lld is not less than TotalSegments: %lld",
                     (long long)s, (long long)n);
            return -1;
        }
        r->op.u.kv_range.segment = (int)s;
        r->op.u.kv_range.total_segments = (int)n;
    }
    if (ddb_legacy_rewrite(in, err, errlen))
        return -1;
    return prepare_common(r, in, 0, err, errlen);
}

void ddb_scan(aws_call *call)
{
    ddb_range_read(call, 0, NULL);
}

void ddb_range_read(aws_call *call, int query, ddb_page_fn shape)
{
    ddb_table *t = ddb_table_of(call, call->input);
    if (!t)
        return;
    range_read *r = range_new(call, t);
    r->shape = shape;
    char err[1024];
    int rc = query ? prepare_query(r, call->input, err, sizeof err)
                   : prepare_scan(r, call->input, err, sizeof err);
    range_submit_or_fail(r, rc, err);
}
