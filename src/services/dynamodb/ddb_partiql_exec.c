/* DynamoDB PartiQL operations: ExecuteStatement, BatchExecuteStatement, ExecuteTransaction.
 *
 * Each statement is parsed and planned (ddb_partiql.c) into the request another operation
 * takes, which then runs through that operation's path: a SELECT is a Query or Scan (its
 * page given a NextToken), INSERT/UPDATE/DELETE are conditional writes (ddb_write), a
 * transaction is a TransactWriteItems or TransactGetItems request. */
#include "services/dynamodb/ddb_internal.h"
#include "services/dynamodb/ddb_partiql.h"

#include "common/alloc.h"
#include "common/base64.h"
#include "common/clock.h"
#include "protocol/json_codec.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define BATCH_STATEMENTS_MAX 25

/* ---- one statement planned ---------------------------------------------------------- */

typedef struct planned {
    ddb_pq_stmt *stmt;
    json_t *req;
    const char *op; /* "Query", "Scan", "PutItem", ... */
    aws_error code;
    char err[512];
} planned;

static const ddb_write_kind write_kinds[] = {[DDB_PQ_INSERT] = DDB_W_PUT,
                                             [DDB_PQ_UPDATE] = DDB_W_UPDATE,
                                             [DDB_PQ_DELETE] = DDB_W_DELETE,
                                             [DDB_PQ_EXISTS] = DDB_W_CHECK};

/* Parses and plans a statement object's Statement and Parameters; `get` asks a SELECT for
 * its GetItem request. 0, or -1 with code and err. */
static int plan(dynamodb *d, const json_t *obj, int get, planned *p)
{
    memset(p, 0, sizeof *p);
    p->code = DDB_ERR_VALIDATION_EXC;
    const char *text = ddb_str(obj, "Statement");
    if (!text) {
        snprintf(p->err, sizeof p->err,
                 "1 validation error detected: Value null at 'statement' failed to satisfy "
                 "constraint: Member must not be null");
        return -1;
    }
    if (ddb_pq_parse(text, json_object_get(obj, "Parameters"), &p->stmt, p->err, sizeof p->err))
        return -1;
    ddb_table *t = ddb_table_find(d, ddb_pq_table(p->stmt));
    if (!t) {
        p->code = DDB_ERR_NOT_FOUND;
        snprintf(p->err, sizeof p->err, "Requested resource not found");
        return -1;
    }
    const char *hash = t->hash_key, *range = t->range_key;
    if (ddb_pq_index(p->stmt)) {
        ddb_index *ix = ddb_index_find(t, ddb_pq_index(p->stmt));
        if (!ix) {
            snprintf(p->err, sizeof p->err, "The table does not have the specified index: %s",
                     ddb_pq_index(p->stmt));
            return -1;
        }
        hash = ix->hash_key;
        range = ix->range_key;
    }
    if (get && ddb_pq_kind_of(p->stmt) == DDB_PQ_SELECT) {
        p->op = "GetItem";
        p->req = ddb_pq_get_request(p->stmt, hash, range, p->err, sizeof p->err);
    } else {
        p->req = ddb_pq_plan(p->stmt, hash, range, &p->op, p->err, sizeof p->err);
    }
    return p->req ? 0 : -1;
}

static void planned_clear(planned *p)
{
    ddb_pq_free(p->stmt);
    json_decref(p->req);
    memset(p, 0, sizeof *p);
}

static int is_read(const planned *p)
{
    return ddb_pq_kind_of(p->stmt) == DDB_PQ_SELECT;
}

/* ---- ExecuteStatement --------------------------------------------------------------- */

static const char exists_outside_transaction[] =
    "EXISTS function can only be used in transactions (ExecuteTransaction)";

/* NextToken: the page's LastEvaluatedKey, as base64 JSON. */
static void add_next_token(json_t *page)
{
    json_t *last = json_object_get(page, "LastEvaluatedKey");
    if (last) {
        buf json = BUF_INIT, b64 = BUF_INIT;
        jsonc_dump(&json, last);
        base64_encode(&b64, json.data, json.len);
        json_object_set_new(page, "NextToken", json_stringn(b64.data, b64.len));
        buf_free(&json);
        buf_free(&b64);
    }
    json_object_del(page, "Count");
    json_object_del(page, "ScannedCount");
}

/* The ExclusiveStartKey a NextToken stands for, or NULL if it is not one of ours. */
static json_t *start_key_of(const char *token)
{
    buf raw = BUF_INIT;
    json_t *key = NULL;
    if (base64_decode(&raw, token, strlen(token)) == 0 && raw.len) {
        char jerr[128];
        key = jsonc_parse(raw.data, raw.len, jerr, sizeof jerr);
        if (key && !json_is_object(key)) {
            json_decref(key);
            key = NULL;
        }
    }
    buf_free(&raw);
    return key;
}

static void run_select(aws_call *call, planned *p)
{
    json_t *in = call->input, *req = p->req;
    static const char *const carried[] = {"ConsistentRead", "Limit", "ReturnConsumedCapacity"};
    for (size_t i = 0; i < sizeof carried / sizeof carried[0]; i++)
        if (json_object_get(in, carried[i]))
            json_object_set(req, carried[i], json_object_get(in, carried[i]));
    const char *token = ddb_str(in, "NextToken");
    if (token) {
        json_t *start = start_key_of(token);
        if (!start) {
            ddb_validation(call, "Given NextToken is not valid");
            return;
        }
        json_object_set_new(req, "ExclusiveStartKey", start);
    }
    call->input = json_incref(req);
    json_decref(in);
    ddb_range_read(call, strcmp(p->op, "Query") == 0, add_next_token);
}

typedef struct statement_write {
    ddb_write w;
    aws_call *call;
    int insert;
} statement_write;

static void statement_write_done(store_op *op)
{
    statement_write *sw = op->ctx;
    ddb_write *w = &sw->w;
    aws_call *call = sw->call;
    if (w->failure == DDB_FAIL_CONDITION && op->status == -ECANCELED && sw->insert)
        aws_reply_error(call, AWS_ERR_DDB_DUPLICATE_ITEM, "Duplicate primary key exists in table");
    else if (w->failure == DDB_FAIL_CONDITION && op->status == -ECANCELED)
        ddb_reply_condition_failed(call, call->input, w->old);
    else if (w->failure == DDB_FAIL_VALIDATION && op->status == -EINVAL)
        ddb_validation(call, "%s", w->err);
    else if (op->status != 0)
        aws_reply_error(call, AWS_ERR_DDB_INTERNAL_SERVER_ERROR,
                        "The store could not commit the change.");
    else
        aws_reply(call, json_pack("{s:[]}", "Items"));
    ddb_write_clear(w);
    xfree(sw);
}

static void run_write(aws_call *call, planned *p)
{
    statement_write *sw = xcalloc(1, sizeof *sw);
    aws_failure f;
    json_t *rv = json_object_get(call->input, "ReturnValuesOnConditionCheckFailure");
    if (rv)
        json_object_set(p->req, "ReturnValuesOnConditionCheckFailure", rv);
    ddb_pq_kind kind = ddb_pq_kind_of(p->stmt);
    if (ddb_write_prepare(&sw->w, ddb_of(call), write_kinds[kind], p->req, &f)) {
        aws_reply_error(call, f.code, "%s", f.msg);
        ddb_write_clear(&sw->w);
        xfree(sw);
        return;
    }
    sw->call = call;
    sw->insert = kind == DDB_PQ_INSERT;
    sw->w.op.done = statement_write_done;
    sw->w.op.ctx = sw;
    store_submit(ddb_of(call)->store, &sw->w.op);
}

void ddb_execute_statement(aws_call *call)
{
    planned p;
    if (plan(ddb_of(call), call->input, 0, &p)) {
        aws_reply_error(call, p.code, "%s", p.err);
    } else if (ddb_pq_kind_of(p.stmt) == DDB_PQ_EXISTS) {
        ddb_validation(call, "%s", exists_outside_transaction);
    } else if (is_read(&p)) {
        run_select(call, &p);
    } else {
        if (json_object_get(call->input, "NextToken") || json_object_get(call->input, "Limit"))
            ddb_validation(call, "Limit and NextToken are only supported for SELECT statements");
        else
            run_write(call, &p);
    }
    planned_clear(&p);
}

/* ---- BatchExecuteStatement ---------------------------------------------------------- */

typedef struct batch batch;

typedef struct batch_entry {
    batch *b;
    size_t index;
    int insert;
    ddb_write w;  /* a write */
    store_op get; /* a read */
    store_kv_key key;
    ddb_table *table;
    ddb_exprs *projection;
} batch_entry;

struct batch {
    aws_call *call;
    batch_entry *entries;
    size_t n, pending;
    json_t *responses;
};

static void entry_error(batch *b, size_t i, const char *code, const char *msg)
{
    json_t *r = json_array_get(b->responses, i);
    json_object_set_new(r, "Error", json_pack("{s:s, s:s}", "Code", code, "Message", msg));
}

static void batch_finish_one(batch *b)
{
    if (--b->pending > 0)
        return;
    aws_reply(b->call, json_pack("{s:O}", "Responses", b->responses));
    for (size_t i = 0; i < b->n; i++) {
        ddb_write_clear(&b->entries[i].w);
        ddb_exprs_free(b->entries[i].projection);
    }
    json_decref(b->responses);
    xfree(b->entries);
    xfree(b);
}

static void batch_write_done(store_op *op)
{
    batch_entry *e = op->ctx;
    ddb_write *w = &e->w;
    if (w->failure == DDB_FAIL_CONDITION && op->status == -ECANCELED)
        entry_error(e->b, e->index, e->insert ? "DuplicateItem" : "ConditionalCheckFailed",
                    e->insert ? "Duplicate primary key exists in table"
                              : "The conditional request failed");
    else if (w->failure == DDB_FAIL_VALIDATION && op->status == -EINVAL)
        entry_error(e->b, e->index, "ValidationError", w->err);
    else if (op->status != 0)
        entry_error(e->b, e->index, "InternalServerError",
                    "The store could not commit the change.");
    batch_finish_one(e->b);
}

static void batch_read_done(store_op *op)
{
    batch_entry *e = op->ctx;
    store_kv_item *it = &op->u.kv_get.items[0];
    char jerr[128];
    json_t *item =
        op->status == 0 && it->item ? jsonc_parse(it->item, it->len, jerr, sizeof jerr) : NULL;
    if (op->status != 0)
        entry_error(e->b, e->index, "InternalServerError", "The store could not read.");
    else if (item)
        json_object_set_new(json_array_get(e->b->responses, e->index), "Item",
                            ddb_projection_apply(e->projection, item));
    json_decref(item);
    store_op_clear(op);
    batch_finish_one(e->b);
}

/* Prepares entry e's read (a GetItem request); 0 or -1 with the message in err. */
static int prepare_read(dynamodb *d, batch_entry *e, json_t *req, char *err, size_t errlen)
{
    e->table = ddb_table_find(d, ddb_str(req, "TableName"));
    e->w.pk = (buf)BUF_INIT;
    e->w.sk = (buf)BUF_INIT;
    json_t *key = json_object_get(req, "Key");
    if (ddb_item_validate(key, err, errlen) ||
        ddb_key_of_key(e->table, key, &e->w.pk, &e->w.sk, err, errlen) ||
        ddb_compile(req, DDB_ALLOW(DDB_EXPR_PROJECTION), &e->projection, err, errlen))
        return -1;
    e->key = (store_kv_key){e->table->id, (const unsigned char *)e->w.pk.data, e->w.pk.len,
                            (const unsigned char *)e->w.sk.data, e->w.sk.len};
    e->get.kind = STORE_KV_GET;
    e->get.now_ms = clock_now_ms();
    e->get.u.kv_get.keys = &e->key;
    e->get.u.kv_get.n = 1;
    e->get.done = batch_read_done;
    e->get.ctx = e;
    return 0;
}

/* Prepares statement i; returns the op to submit, or NULL after recording its error. */
static store_op *batch_prepare(batch *b, size_t i, planned *p, int reads)
{
    batch_entry *e = &b->entries[i];
    e->b = b;
    e->index = i;
    char err[512];
    if (reads) {
        if (prepare_read(ddb_of(b->call), e, p->req, err, sizeof err)) {
            buf_free(&e->w.sk);
            entry_error(b, i, "ValidationError", err);
            return NULL;
        }
        return &e->get;
    }
    aws_failure f;
    e->insert = ddb_pq_kind_of(p->stmt) == DDB_PQ_INSERT;
    if (ddb_write_prepare(&e->w, ddb_of(b->call), write_kinds[ddb_pq_kind_of(p->stmt)], p->req,
                          &f)) {
        entry_error(b, i, f.code == DDB_ERR_NOT_FOUND ? "ResourceNotFound" : "ValidationError",
                    f.msg);
        return NULL;
    }
    e->w.op.done = batch_write_done;
    e->w.op.ctx = e;
    return &e->w.op;
}

void ddb_batch_execute_statement(aws_call *call)
{
    json_t *list = json_object_get(call->input, "Statements");
    size_t n = json_array_size(list);
    if (n == 0 || n > BATCH_STATEMENTS_MAX) {
        ddb_validation(call,
                       "1 validation error detected: Value at 'statements' failed to satisfy "
                       "constraint: Member must have length %s",
                       n == 0 ? "greater than or equal to 1" : "less than or equal to 25");
        return;
    }
    planned *ps = xcalloc(n, sizeof *ps);
    int reads = 0, writes = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = plan(ddb_of(call), json_array_get(list, i), 1, &ps[i]);
        if (ps[i].stmt && ddb_pq_kind_of(ps[i].stmt) == DDB_PQ_SELECT)
            reads++;
        else if (ps[i].stmt)
            writes++;
        (void)rc;
    }
    if (reads && writes) {
        ddb_validation(call, "Batch must consist of either all read or all write statements");
        for (size_t i = 0; i < n; i++)
            planned_clear(&ps[i]);
        xfree(ps);
        return;
    }
    batch *b = xcalloc(1, sizeof *b);
    b->call = call;
    b->n = n;
    b->pending = 1; /* released after submitting */
    b->entries = xcalloc(n, sizeof *b->entries);
    b->responses = json_array();
    store_op **ops = xcalloc(n, sizeof *ops);
    for (size_t i = 0; i < n; i++) {
        const char *name = ps[i].stmt ? ddb_pq_table(ps[i].stmt) : NULL;
        json_array_append_new(b->responses,
                              name ? json_pack("{s:s}", "TableName", name) : json_object());
        if (ps[i].req && ddb_pq_kind_of(ps[i].stmt) == DDB_PQ_EXISTS) {
            entry_error(b, i, "ValidationError", exists_outside_transaction);
            continue;
        }
        if (!ps[i].req) {
            entry_error(b, i,
                        ps[i].code == DDB_ERR_NOT_FOUND ? "ResourceNotFound" : "ValidationError",
                        ps[i].err);
            continue;
        }
        ops[i] = batch_prepare(b, i, &ps[i], reads > 0);
        if (ops[i])
            b->pending++;
    }
    for (size_t i = 0; i < n; i++)
        planned_clear(&ps[i]);
    xfree(ps);
    for (size_t i = 0; i < n; i++)
        if (ops[i])
            store_submit(ddb_of(call)->store, ops[i]);
    xfree(ops);
    batch_finish_one(b);
}

/* ---- ExecuteTransaction ------------------------------------------------------------- */

static const char *transact_member(const planned *p)
{
    switch (ddb_pq_kind_of(p->stmt)) {
    case DDB_PQ_SELECT:
        return "Get";
    case DDB_PQ_INSERT:
        return "Put";
    case DDB_PQ_UPDATE:
        return "Update";
    case DDB_PQ_DELETE:
        return "Delete";
    case DDB_PQ_EXISTS:
        return "ConditionCheck";
    }
    return "Get";
}

void ddb_execute_transaction(aws_call *call)
{
    json_t *list = json_object_get(call->input, "TransactStatements");
    size_t n = json_array_size(list);
    if (n == 0 || n > DDB_TRANSACT_MAX) {
        ddb_validation(call,
                       "1 validation error detected: Value at 'transactStatements' failed to "
                       "satisfy constraint: Member must have length %s",
                       n == 0 ? "greater than or equal to 1" : "less than or equal to 100");
        return;
    }
    json_t *items = json_array();
    unsigned char inserts[DDB_TRANSACT_MAX];
    size_t reads = 0;
    planned p;
    for (size_t i = 0; i < n; i++) {
        if (plan(ddb_of(call), json_array_get(list, i), 1, &p)) {
            aws_reply_error(call, p.code, "%s", p.err);
            planned_clear(&p);
            json_decref(items);
            return;
        }
        reads += is_read(&p);
        inserts[i] = ddb_pq_kind_of(p.stmt) == DDB_PQ_INSERT;
        json_array_append_new(items, json_pack("{s:O}", transact_member(&p), p.req));
        planned_clear(&p);
    }
    if (reads && reads != n) {
        json_decref(items);
        ddb_validation(call, "Transaction must consist of either all read or all write "
                             "statements");
        return;
    }
    json_t *req = json_pack("{s:o}", "TransactItems", items);
    static const char *const carried[] = {"ClientRequestToken", "ReturnConsumedCapacity"};
    for (size_t i = 0; i < sizeof carried / sizeof carried[0]; i++)
        if (json_object_get(call->input, carried[i]))
            json_object_set(req, carried[i], json_object_get(call->input, carried[i]));
    json_decref(call->input);
    call->input = req;
    if (reads)
        ddb_transact_get_items(call);
    else
        ddb_transact_write_run(call, inserts);
}
