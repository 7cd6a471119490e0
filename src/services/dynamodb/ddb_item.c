/* DynamoDB single-item operations: PutItem, GetItem, UpdateItem, DeleteItem, and the write
 * machinery BatchWriteItem and TransactWriteItems share.
 *
 * A write is validated and its expressions compiled on the loop thread; then one
 * STORE_KV_MUTATE op carries it to the commit thread, where ddb_write_apply (pure: the
 * ddb_* library only) receives the current item inside the batch's transaction, evaluates
 * the condition, computes the new item (the update expression applied to the old one) and
 * tells the store what to write. Read, evaluation and write are therefore one transaction:
 * two conditional writes of one key never interleave. The reply is sent after the commit. */
#include "services/dynamodb/ddb_internal.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "protocol/json_codec.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ---- the write, on the commit thread ------------------------------------------------ */

static int write_fail(ddb_write *w, int failure, int code, const char *msg)
{
    w->failure = failure;
    if (msg)
        snprintf(w->err, sizeof w->err, "%s", msg);
    if (w->defer_failure && code != -EIO)
        return STORE_KV_KEEP; /* the transaction's verdict op fails the group */
    return code;
}

/* The store_kv_mutate_fn of every DynamoDB write. */
static int write_apply(void *arg, const char *old, size_t old_len, store_kv_write *out)
{
    ddb_write *w = arg;
    json_decref(w->old);
    json_decref(w->new_item);
    w->old = w->new_item = NULL;
    w->failure = DDB_FAIL_NONE;
    if (old) {
        char jerr[128];
        w->old = jsonc_parse(old, old_len, jerr, sizeof jerr);
        if (!w->old)
            return write_fail(w, DDB_FAIL_VALIDATION, -EIO, "Stored item unreadable");
        w->old_size = (int64_t)ddb_item_size(w->old);
    }
    if (!ddb_condition_matches(w->exprs, DDB_EXPR_CONDITION, w->old))
        return write_fail(w, DDB_FAIL_CONDITION, -ECANCELED, "The conditional request failed");
    switch (w->kind) {
    case DDB_W_CHECK:
        return STORE_KV_KEEP;
    case DDB_W_DELETE:
        if (!w->old)
            return STORE_KV_KEEP;
        ddb_indexes_sides(w->table, w->old, NULL, out);
        ddb_stream_record(w->table, w->old, NULL, 0, out);
        return STORE_KV_DELETE;
    case DDB_W_PUT:
        w->new_item = json_incref(w->item);
        break;
    case DDB_W_UPDATE:
        if (ddb_exprs_has(w->exprs, DDB_EXPR_UPDATE))
            w->new_item =
                ddb_update_apply(w->exprs, w->old ? w->old : w->key, w->err, sizeof w->err);
        else
            w->new_item = json_deep_copy(w->old ? w->old : w->key);
        if (!w->new_item)
            return write_fail(w, DDB_FAIL_VALIDATION, -EINVAL, NULL);
        if (ddb_indexes_check_item(w->table, w->new_item, w->err, sizeof w->err))
            return write_fail(w, DDB_FAIL_VALIDATION, -EINVAL, NULL);
        break;
    }
    w->new_size = (int64_t)ddb_item_size(w->new_item);
    if (w->new_size > DDB_MAX_ITEM_SIZE)
        return write_fail(w, DDB_FAIL_VALIDATION, -EINVAL,
                          "Item size to update has exceeded the maximum allowed size");
    if (w->old && json_equal(w->old, w->new_item))
        return STORE_KV_KEEP; /* nothing changes: no write, no stream record (as AWS) */
    buf b = BUF_INIT;
    jsonc_dump(&b, w->new_item);
    out->item = buf_steal(&b, &out->len);
    out->size = w->new_size;
    ddb_indexes_sides(w->table, w->old, w->new_item, out);
    ddb_stream_record(w->table, w->old, w->new_item, 0, out);
    return STORE_KV_PUT;
}

/* ---- preparing a write, on the loop thread ------------------------------------------ */

static unsigned allowed_exprs(ddb_write_kind kind)
{
    unsigned a = DDB_ALLOW(DDB_EXPR_CONDITION);
    return kind == DDB_W_UPDATE ? a | DDB_ALLOW(DDB_EXPR_UPDATE) : a;
}

static int prepare_put(ddb_write *w, json_t *req, aws_failure *f)
{
    json_t *item = json_object_get(req, "Item");
    char err[512];
    if (!json_is_object(item))
        return aws_fail(f, DDB_ERR_VALIDATION_EXC,
                        "1 validation error detected: Value null at 'item' failed to satisfy "
                        "constraint: Member must not be null");
    int rc = ddb_item_validate(item, err, sizeof err);
    if (rc)
        return aws_fail(f,
                        rc == DDB_ERR_SERIALIZATION ? AWS_ERR_SERIALIZATION_EXCEPTION
                                                    : DDB_ERR_VALIDATION_EXC,
                        "%s", err);
    if (ddb_key_of_item(w->table, item, &w->pk, &w->sk, err, sizeof err) ||
        ddb_indexes_check_item(w->table, item, err, sizeof err))
        return aws_fail(f, DDB_ERR_VALIDATION_EXC, "%s", err);
    w->item_size = (int64_t)ddb_item_size(item);
    if (w->item_size > DDB_MAX_ITEM_SIZE)
        return aws_fail(f, DDB_ERR_VALIDATION_EXC,
                        "Item size has exceeded the maximum allowed size");
    w->item = json_incref(item);
    w->key = ddb_key_project(w->table, item);
    return 0;
}

static int prepare_key(ddb_write *w, json_t *req, aws_failure *f)
{
    json_t *key = json_object_get(req, "Key");
    char err[512];
    if (!json_is_object(key))
        return aws_fail(f, DDB_ERR_VALIDATION_EXC,
                        "1 validation error detected: Value null at 'key' failed to satisfy "
                        "constraint: Member must not be null");
    int rc = ddb_item_validate(key, err, sizeof err);
    if (rc)
        return aws_fail(f,
                        rc == DDB_ERR_SERIALIZATION ? AWS_ERR_SERIALIZATION_EXCEPTION
                                                    : DDB_ERR_VALIDATION_EXC,
                        "%s", err);
    if (ddb_key_of_key(w->table, key, &w->pk, &w->sk, err, sizeof err))
        return aws_fail(f, DDB_ERR_VALIDATION_EXC, "%s", err);
    w->key = json_incref(key);
    return 0;
}

int ddb_write_prepare(ddb_write *w, dynamodb *d, ddb_write_kind kind, json_t *req, aws_failure *f)
{
    memset(w, 0, sizeof *w);
    w->kind = kind;
    w->pk = (buf)BUF_INIT;
    w->sk = (buf)BUF_INIT;
    w->req = json_incref(req);
    const char *name = ddb_str(req, "TableName");
    w->table = name ? ddb_table_find(d, name) : NULL;
    if (!w->table)
        return aws_fail(f, DDB_ERR_NOT_FOUND, "Requested resource not found");
    char err[1024];
    if (ddb_legacy_rewrite(req, err, sizeof err))
        return aws_fail(f, DDB_ERR_VALIDATION_EXC, "%s", err);
    if ((kind == DDB_W_PUT ? prepare_put(w, req, f) : prepare_key(w, req, f)) != 0)
        return -1;
    if (ddb_compile(req, allowed_exprs(kind), &w->exprs, err, sizeof err))
        return aws_fail(f, DDB_ERR_VALIDATION_EXC, "%s", err);
    const char *keys[2] = {w->table->hash_key, w->table->range_key};
    if (kind == DDB_W_UPDATE &&
        ddb_update_check_keys(w->exprs, keys, w->table->range_key ? 2 : 1, err, sizeof err))
        return aws_fail(f, DDB_ERR_VALIDATION_EXC, "%s", err);
    w->op.kind = STORE_KV_MUTATE;
    w->op.now_ms = clock_now_ms();
    w->op.u.kv_mutate.key = (store_kv_key){w->table->id, (const unsigned char *)w->pk.data,
                                           w->pk.len, (const unsigned char *)w->sk.data, w->sk.len};
    w->op.u.kv_mutate.fn = write_apply;
    w->op.u.kv_mutate.arg = w;
    return 0;
}

void ddb_write_clear(ddb_write *w)
{
    json_decref(w->req);
    json_decref(w->item);
    json_decref(w->key);
    json_decref(w->old);
    json_decref(w->new_item);
    ddb_exprs_free(w->exprs);
    buf_free(&w->pk);
    buf_free(&w->sk);
    memset(w, 0, sizeof *w);
}

json_t *ddb_write_return_values(const ddb_write *w, const char *rv)
{
    if (!rv || strcmp(rv, "NONE") == 0)
        return NULL;
    if (strcmp(rv, "ALL_OLD") == 0)
        return w->old ? json_incref(w->old) : NULL;
    if (strcmp(rv, "ALL_NEW") == 0)
        return w->new_item ? json_incref(w->new_item) : NULL;
    const json_t *src = strcmp(rv, "UPDATED_OLD") == 0 ? w->old : w->new_item;
    if (!src)
        return NULL;
    json_t *p = ddb_update_project(w->exprs, src);
    if (json_object_size(p) == 0) {
        json_decref(p);
        return NULL;
    }
    return p;
}

/* ---- the single-item write operations ----------------------------------------------- */

typedef struct item_write {
    ddb_write w;
    aws_call *call;
} item_write;

static const char *return_values(const aws_call *call)
{
    return ddb_str(call->input, "ReturnValues");
}

static int check_return_values(aws_call *call, ddb_write_kind kind)
{
    const char *rv = return_values(call);
    if (!rv || strcmp(rv, "NONE") == 0 || strcmp(rv, "ALL_OLD") == 0)
        return 0;
    if (kind == DDB_W_UPDATE && (strcmp(rv, "ALL_NEW") == 0 || strcmp(rv, "UPDATED_OLD") == 0 ||
                                 strcmp(rv, "UPDATED_NEW") == 0))
        return 0;
    ddb_validation(call, "Return values set to invalid value");
    return -1;
}

void ddb_reply_condition_failed(aws_call *call, const json_t *req, const json_t *old)
{
    const char *rv = ddb_str(req, "ReturnValuesOnConditionCheckFailure");
    json_t *extra = NULL;
    if (rv && strcmp(rv, "ALL_OLD") == 0 && old)
        extra = json_pack("{s:O}", "Item", old);
    ddb_reply_error_with(call, AWS_ERR_DDB_CONDITIONAL_CHECK_FAILED,
                         "The conditional request failed", extra);
}

static void item_write_done(store_op *op)
{
    item_write *iw = op->ctx;
    ddb_write *w = &iw->w;
    aws_call *call = iw->call;
    if (w->failure == DDB_FAIL_CONDITION && op->status == -ECANCELED)
        ddb_reply_condition_failed(call, call->input, w->old);
    else if (w->failure == DDB_FAIL_VALIDATION && op->status == -EINVAL)
        ddb_validation(call, "%s", w->err);
    else if (op->status != 0)
        aws_reply_error(call, AWS_ERR_DDB_INTERNAL_SERVER_ERROR,
                        "The store could not commit the change.");
    else {
        json_t *out = json_object();
        json_t *attrs = ddb_write_return_values(w, return_values(call));
        if (attrs)
            json_object_set_new(out, "Attributes", attrs);
        int64_t size = w->old_size > w->new_size ? w->old_size : w->new_size;
        json_t *cap = ddb_capacity(call->input, w->table->name, ddb_write_units(size));
        if (cap)
            json_object_set_new(out, "ConsumedCapacity", cap);
        aws_reply(call, out);
    }
    ddb_write_clear(w);
    xfree(iw);
}

static void submit_item_write(aws_call *call, ddb_write_kind kind)
{
    if (!ddb_table_of(call, call->input) || check_return_values(call, kind))
        return;
    item_write *iw = xcalloc(1, sizeof *iw);
    aws_failure f;
    if (ddb_write_prepare(&iw->w, ddb_of(call), kind, call->input, &f)) {
        aws_reply_error(call, f.code, "%s", f.msg);
        ddb_write_clear(&iw->w);
        xfree(iw);
        return;
    }
    iw->call = call;
    iw->w.op.done = item_write_done;
    iw->w.op.ctx = iw;
    store_submit(ddb_of(call)->store, &iw->w.op);
}

void ddb_put_item(aws_call *call)
{
    submit_item_write(call, DDB_W_PUT);
}

void ddb_update_item(aws_call *call)
{
    submit_item_write(call, DDB_W_UPDATE);
}

void ddb_delete_item(aws_call *call)
{
    submit_item_write(call, DDB_W_DELETE);
}

/* ---- GetItem ------------------------------------------------------------------------ */

typedef struct item_read {
    store_op op;
    store_kv_key key;
    buf pk, sk;
    aws_call *call;
    ddb_table *table;
    ddb_exprs *exprs;
} item_read;

static void get_item_done(store_op *op)
{
    item_read *r = op->ctx;
    aws_call *call = r->call;
    store_kv_item *it = &op->u.kv_get.items[0];
    json_t *item = NULL;
    char jerr[128];
    if (op->status == 0 && it->item)
        item = jsonc_parse(it->item, it->len, jerr, sizeof jerr);
    if (op->status != 0 || (it->item && !item)) {
        aws_reply_error(call, AWS_ERR_DDB_INTERNAL_SERVER_ERROR, "The store could not read.");
    } else {
        json_t *out = json_object();
        if (item)
            json_object_set_new(out, "Item", ddb_projection_apply(r->exprs, item));
        int consistent = json_is_true(json_object_get(call->input, "ConsistentRead"));
        json_t *cap = ddb_capacity(call->input, r->table->name,
                                   ddb_read_units(it->item ? it->size : 0, consistent));
        if (cap)
            json_object_set_new(out, "ConsumedCapacity", cap);
        aws_reply(call, out);
    }
    json_decref(item);
    store_op_clear(op);
    ddb_exprs_free(r->exprs);
    buf_free(&r->pk);
    buf_free(&r->sk);
    xfree(r);
}

/* AttributesToGet (legacy) as the ProjectionExpression it means: "#atg0, #atg1" with names. */
int ddb_legacy_projection(json_t *req, char *err, size_t errlen)
{
    json_t *atg = json_object_get(req, "AttributesToGet");
    if (!atg)
        return 0;
    if (json_object_get(req, "ProjectionExpression")) {
        snprintf(err, errlen,
                 "Can not use both expression and non-expression parameters in "
                 "the same request: Non-expression parameters: {AttributesToGet} "
                 "Expression parameters: {ProjectionExpression}");
        return -1;
    }
    buf b = BUF_INIT;
    json_t *names = json_object();
    size_t i;
    json_t *a;
    json_array_foreach(atg, i, a)
    {
        char ph[32];
        snprintf(ph, sizeof ph, "#atg%zu", i);
        buf_printf(&b, "%s%s", i ? ", " : "", ph);
        json_object_set(names, ph, a);
    }
    if (b.len) {
        json_object_set_new(req, "ProjectionExpression", json_stringn(b.data, b.len));
        json_t *existing = json_object_get(req, "ExpressionAttributeNames");
        if (existing) /* names of the legacy conditions rewritten before */
            json_object_update(existing, names);
        else
            json_object_set(req, "ExpressionAttributeNames", names);
    }
    json_decref(names);
    json_object_del(req, "AttributesToGet");
    buf_free(&b);
    return 0;
}

void ddb_get_item(aws_call *call)
{
    ddb_table *t = ddb_table_of(call, call->input);
    if (!t)
        return;
    item_read *r = xcalloc(1, sizeof *r);
    r->pk = (buf)BUF_INIT;
    r->sk = (buf)BUF_INIT;
    char err[1024];
    json_t *key = json_object_get(call->input, "Key");
    int rc = 0;
    if (!json_is_object(key)) {
        snprintf(err, sizeof err,
                 "1 validation error detected: Value null at 'key' failed to "
                 "satisfy constraint: Member must not be null");
        rc = -1;
    }
    if (rc == 0)
        rc = ddb_item_validate(key, err, sizeof err) != 0 ? -1 : 0;
    if (rc == 0)
        rc = ddb_key_of_key(t, key, &r->pk, &r->sk, err, sizeof err);
    if (rc == 0)
        rc = ddb_legacy_projection(call->input, err, sizeof err);
    if (rc == 0)
        rc = ddb_compile(call->input, DDB_ALLOW(DDB_EXPR_PROJECTION), &r->exprs, err, sizeof err);
    if (rc != 0) {
        ddb_validation(call, "%s", err);
        ddb_exprs_free(r->exprs);
        buf_free(&r->pk);
        buf_free(&r->sk);
        xfree(r);
        return;
    }
    r->call = call;
    r->table = t;
    r->key = (store_kv_key){t->id, (const unsigned char *)r->pk.data, r->pk.len,
                            (const unsigned char *)r->sk.data, r->sk.len};
    r->op.kind = STORE_KV_GET;
    r->op.now_ms = clock_now_ms();
    r->op.u.kv_get.keys = &r->key;
    r->op.u.kv_get.n = 1;
    r->op.done = get_item_done;
    r->op.ctx = r;
    store_submit(ddb_of(call)->store, &r->op);
}
