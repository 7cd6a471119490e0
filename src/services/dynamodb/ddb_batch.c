/* DynamoDB multi-item operations: BatchGetItem, BatchWriteItem, TransactWriteItems and
 * TransactGetItems.
 *
 * A batch or transaction of writes is one STORE_GROUP of STORE_KV_MUTATE ops (one per item,
 * see ddb_item.c): the group commits together or not at all, so a BatchWriteItem never
 * leaves UnprocessedItems, and a transaction whose condition fails on one item changes no
 * item (TransactionCanceledException with a reason per item: every item's condition is
 * evaluated, a last "verdict" op then fails the group if one did not hold). Reads of several keys
 * are one STORE_KV_GET, a consistent snapshot. ClientRequestToken idempotency (10 minutes) is kept
 * in memory. */
#include "services/dynamodb/ddb_internal.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "protocol/json_codec.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define TOKEN_TTL_MS (10 * 60 * 1000)

/* ---- a group of writes -------------------------------------------------------------- */

typedef struct write_group {
    store_op group;
    store_op verdict; /* transactions: fails the group if any item failed */
    store_op **children;
    ddb_write *writes;
    size_t n;
    aws_call *call;
    int transact;
    char *token, *token_hash; /* TransactWriteItems' ClientRequestToken */
} write_group;

static void write_group_free(write_group *g)
{
    for (size_t i = 0; i < g->n; i++)
        ddb_write_clear(&g->writes[i]);
    xfree(g->writes);
    xfree(g->children);
    xfree(g->token);
    xfree(g->token_hash);
    xfree(g);
}

static write_group *write_group_new(aws_call *call, size_t n)
{
    write_group *g = xcalloc(1, sizeof *g);
    g->call = call;
    g->n = n;
    g->writes = xcalloc(n ? n : 1, sizeof *g->writes);
    g->children = xcalloc(n + 1, sizeof *g->children);
    return g;
}

/* 1 if two writes of the group name the same item. */
static int has_duplicate_keys(const write_group *g)
{
    for (size_t i = 0; i < g->n; i++)
        for (size_t j = 0; j < i; j++) {
            const ddb_write *a = &g->writes[i], *b = &g->writes[j];
            if (a->table == b->table && a->pk.len == b->pk.len && a->sk.len == b->sk.len &&
                memcmp(a->pk.data, b->pk.data, a->pk.len) == 0 &&
                (a->sk.len == 0 || memcmp(a->sk.data, b->sk.data, a->sk.len) == 0))
                return 1;
        }
    return 0;
}

/* ConsumedCapacity per table, for ReturnConsumedCapacity (NULL if not asked). */
static json_t *group_capacity(const write_group *g)
{
    const char *rcc = ddb_str(g->call->input, "ReturnConsumedCapacity");
    if (!rcc || strcmp(rcc, "NONE") == 0)
        return NULL;
    json_t *by_table = json_object();
    for (size_t i = 0; i < g->n; i++) {
        const ddb_write *w = &g->writes[i];
        int64_t size = w->old_size > w->new_size ? w->old_size : w->new_size;
        if (w->kind == DDB_W_PUT && size < w->item_size)
            size = w->item_size;
        double units = ddb_write_units(size) * (g->transact ? 2 : 1);
        json_t *prev = json_object_get(by_table, w->table->name);
        json_object_set_new(by_table, w->table->name,
                            json_real(units + (prev ? json_real_value(prev) : 0)));
    }
    json_t *out = json_array();
    const char *name;
    json_t *v;
    json_object_foreach(by_table, name, v)
        json_array_append_new(out, ddb_capacity(g->call->input, name, json_real_value(v)));
    json_decref(by_table);
    return out;
}

/* The store_kv_mutate_fn of a transaction's last op (on a key no item has): every item's
 * condition was evaluated before it; if one failed, the whole group is undone. */
static int transaction_verdict(void *arg, const char *old, size_t old_len, store_kv_write *out)
{
    write_group *g = arg;
    (void)old;
    (void)old_len;
    (void)out;
    for (size_t i = 0; i < g->n; i++)
        if (g->writes[i].failure != DDB_FAIL_NONE)
            return -ECANCELED;
    return STORE_KV_KEEP;
}

static void submit_group(write_group *g, store_done_fn done)
{
    size_t n = g->n;
    for (size_t i = 0; i < g->n; i++)
        g->children[i] = &g->writes[i].op;
    if (g->transact) {
        g->verdict.kind = STORE_KV_MUTATE;
        g->verdict.u.kv_mutate.key = (store_kv_key){0, (const unsigned char *)"", 0, NULL, 0};
        g->verdict.u.kv_mutate.fn = transaction_verdict;
        g->verdict.u.kv_mutate.arg = g;
        g->children[n++] = &g->verdict;
    }
    g->group.kind = STORE_GROUP;
    g->group.now_ms = clock_now_ms();
    g->group.u.group.ops = g->children;
    g->group.u.group.n = n;
    g->group.done = done;
    g->group.ctx = g;
    store_submit(ddb_of(g->call)->store, &g->group);
}

/* ---- BatchWriteItem ----------------------------------------------------------------- */

static void batch_write_done(store_op *op)
{
    write_group *g = op->ctx;
    if (op->status != 0) {
        aws_reply_error(g->call, AWS_ERR_DDB_INTERNAL_SERVER_ERROR,
                        "The store could not commit the change.");
    } else {
        json_t *out = json_pack("{s:{}}", "UnprocessedItems");
        json_t *cap = group_capacity(g);
        if (cap)
            json_object_set_new(out, "ConsumedCapacity", cap);
        aws_reply(g->call, out);
    }
    write_group_free(g);
}

/* The request of one BatchWriteItem entry as a PutItem/DeleteItem input (new object). */
static json_t *batch_entry_request(const char *table, json_t *entry, ddb_write_kind *kind,
                                   aws_failure *f)
{
    json_t *put = json_object_get(entry, "PutRequest"),
           *del = json_object_get(entry, "DeleteRequest");
    if (!put == !del || json_object_size(entry) != 1) {
        aws_fail(f, DDB_ERR_VALIDATION_EXC,
                 "Supplied AttributeValue has more than one datatypes set, must contain exactly "
                 "one of the supported datatypes");
        return NULL;
    }
    *kind = put ? DDB_W_PUT : DDB_W_DELETE;
    json_t *req = json_pack("{s:s}", "TableName", table);
    if (put)
        json_object_set(req, "Item", json_object_get(put, "Item"));
    else
        json_object_set(req, "Key", json_object_get(del, "Key"));
    return req;
}

void ddb_batch_write_item(aws_call *call)
{
    json_t *items = json_object_get(call->input, "RequestItems");
    size_t total = 0;
    const char *table;
    json_t *list;
    json_object_foreach(items, table, list) total += json_array_size(list);
    if (total == 0) {
        ddb_validation(call, "1 validation error detected: Value null at 'requestItems' failed "
                             "to satisfy constraint: Member must have length greater than or "
                             "equal to 1");
        return;
    }
    if (total > DDB_BATCH_WRITE_MAX) {
        ddb_validation(call, "Too many items requested for the BatchWriteItem call");
        return;
    }
    write_group *g = write_group_new(call, total);
    size_t k = 0;
    aws_failure f = {0};
    int rc = 0;
    json_object_foreach(items, table, list)
    {
        size_t i;
        json_t *entry;
        json_array_foreach(list, i, entry)
        {
            if (rc)
                break;
            ddb_write_kind kind;
            json_t *req = batch_entry_request(table, entry, &kind, &f);
            rc = req ? ddb_write_prepare(&g->writes[k++], ddb_of(call), kind, req, &f) : -1;
            json_decref(req);
        }
    }
    if (rc == 0 && has_duplicate_keys(g))
        rc = aws_fail(&f, DDB_ERR_VALIDATION_EXC, "Provided list of item keys contains duplicates");
    if (rc) {
        aws_reply_error(call, f.code, "%s", f.msg);
        write_group_free(g);
        return;
    }
    submit_group(g, batch_write_done);
}

/* ---- TransactWriteItems ------------------------------------------------------------- */

static void forget_old_tokens(dynamodb *d, int64_t now)
{
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(d->tokens, tmp, k, v)
    {
        if (now - json_integer_value(json_object_get(v, "at")) > TOKEN_TTL_MS)
            json_object_del(d->tokens, k);
    }
}

static json_t *cancellation_reasons(const write_group *g, buf *codes)
{
    json_t *reasons = json_array();
    for (size_t i = 0; i < g->n; i++) {
        const ddb_write *w = &g->writes[i];
        json_t *r;
        if (w->failure == DDB_FAIL_CONDITION && w->duplicate_on_condition) {
            r = json_pack("{s:s, s:s}", "Code", "DuplicateItem", "Message",
                          "Duplicate primary key exists in table");
        } else if (w->failure == DDB_FAIL_CONDITION) {
            r = json_pack("{s:s, s:s}", "Code", "ConditionalCheckFailed", "Message",
                          "The conditional request failed");
            const char *rv = ddb_str(w->req, "ReturnValuesOnConditionCheckFailure");
            if (rv && strcmp(rv, "ALL_OLD") == 0 && w->old)
                json_object_set(r, "Item", w->old);
        } else if (w->failure == DDB_FAIL_VALIDATION) {
            r = json_pack("{s:s, s:s}", "Code", "ValidationError", "Message", w->err);
        } else {
            r = json_pack("{s:s}", "Code", "None");
        }
        buf_printf(codes, "%s%s", i ? ", " : "", json_string_value(json_object_get(r, "Code")));
        json_array_append_new(reasons, r);
    }
    return reasons;
}

static void transact_write_done(store_op *op)
{
    write_group *g = op->ctx;
    aws_call *call = g->call;
    if (op->status == -ECANCELED || op->status == -EINVAL) {
        buf codes = BUF_INIT;
        json_t *reasons = cancellation_reasons(g, &codes);
        char msg[2048];
        snprintf(msg, sizeof msg,
                 "Transaction cancelled, please refer cancellation reasons for specific reasons "
                 "[%s]",
                 codes.data ? codes.data : "");
        buf_free(&codes);
        ddb_reply_error_with(call, AWS_ERR_DDB_TRANSACTION_CANCELED, msg,
                             json_pack("{s:o}", "CancellationReasons", reasons));
    } else if (op->status != 0) {
        aws_reply_error(call, AWS_ERR_DDB_INTERNAL_SERVER_ERROR,
                        "The store could not commit the change.");
    } else {
        json_t *out = json_object();
        json_t *cap = group_capacity(g);
        if (cap)
            json_object_set_new(out, "ConsumedCapacity", cap);
        if (g->token)
            json_object_set_new(ddb_of(call)->tokens, g->token,
                                json_pack("{s:s, s:I, s:O}", "hash", g->token_hash, "at",
                                          (json_int_t)clock_now_ms(), "reply", out));
        aws_reply(call, out);
    }
    write_group_free(g);
}

static const char *const transact_kinds[] = {"Put", "Update", "Delete", "ConditionCheck"};
static const ddb_write_kind transact_write_kinds[] = {DDB_W_PUT, DDB_W_UPDATE, DDB_W_DELETE,
                                                      DDB_W_CHECK};

static int prepare_transact_item(ddb_write *w, dynamodb *d, json_t *entry, aws_failure *f)
{
    int which = -1;
    for (int k = 0; k < 4; k++)
        if (json_object_get(entry, transact_kinds[k]))
            which = which < 0 ? k : 4;
    if (which < 0 || which == 4 || json_object_size(entry) != 1)
        return aws_fail(f, DDB_ERR_VALIDATION_EXC,
                        "TransactItems can only contain one of Check, Put, Update or Delete");
    json_t *req = json_object_get(entry, transact_kinds[which]);
    if (transact_write_kinds[which] == DDB_W_CHECK && !json_object_get(req, "ConditionExpression"))
        return aws_fail(f, DDB_ERR_VALIDATION_EXC,
                        "1 validation error detected: Value null at "
                        "'transactItems.1.member.conditionCheck.conditionExpression' failed to "
                        "satisfy constraint: Member must not be null");
    return ddb_write_prepare(w, d, transact_write_kinds[which], req, f);
}

/* 1 if the token was seen: the call was answered (the same reply, or a mismatch error). */
static int replay_token(aws_call *call, const char *token, const char *hash)
{
    dynamodb *d = ddb_of(call);
    forget_old_tokens(d, clock_now_ms());
    json_t *seen = json_object_get(d->tokens, token);
    if (!seen)
        return 0;
    if (strcmp(ddb_str(seen, "hash") ?: "", hash) != 0)
        aws_reply_error(call, AWS_ERR_DDB_IDEMPOTENT_PARAMETER_MISMATCH,
                        "One or more parameter values were invalid: The request with the "
                        "ClientRequestToken %s has parameters different from the original "
                        "request",
                        token);
    else
        aws_reply(call, json_deep_copy(json_object_get(seen, "reply")));
    return 1;
}

void ddb_transact_write_items(aws_call *call)
{
    ddb_transact_write_run(call, NULL);
}

void ddb_transact_write_run(aws_call *call, const unsigned char *inserts)
{
    json_t *list = json_object_get(call->input, "TransactItems");
    size_t n = json_array_size(list);
    if (n == 0 || n > DDB_TRANSACT_MAX) {
        ddb_validation(call,
                       "1 validation error detected: Value at 'transactItems' failed to satisfy "
                       "constraint: Member must have length %s",
                       n == 0 ? "greater than or equal to 1" : "less than or equal to 100");
        return;
    }
    const char *token = ddb_str(call->input, "ClientRequestToken");
    char *hash = token ? json_dumps(list, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (token && replay_token(call, token, hash)) {
        free(hash);
        return;
    }
    write_group *g = write_group_new(call, n);
    g->transact = 1;
    aws_failure f = {0};
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = prepare_transact_item(&g->writes[i], ddb_of(call), json_array_get(list, i), &f);
        g->writes[i].defer_failure = 1;
        g->writes[i].duplicate_on_condition = inserts && inserts[i];
    }
    if (rc == 0 && has_duplicate_keys(g))
        rc = aws_fail(&f, DDB_ERR_VALIDATION_EXC,
                      "Transaction request cannot include multiple operations on one item");
    if (rc) {
        aws_reply_error(call, f.code, "%s", f.msg);
        write_group_free(g);
        free(hash);
        return;
    }
    if (token) {
        g->token = xstrdup(token);
        g->token_hash = xstrdup(hash);
    }
    free(hash);
    submit_group(g, transact_write_done);
}

/* ---- reads of several keys ---------------------------------------------------------- */

typedef struct multi_get {
    store_op op;
    aws_call *call;
    store_kv_key *keys;
    buf *pks, *sks;
    ddb_table **tables;
    ddb_exprs **exprs; /* per key (borrowed from per-table compiled ones) */
    json_t **key_objs; /* borrowed from the input */
    ddb_exprs **owned;
    size_t n, nowned;
} multi_get;

static multi_get *multi_get_new(aws_call *call, size_t n)
{
    multi_get *m = xcalloc(1, sizeof *m);
    m->call = call;
    m->n = n;
    m->keys = xcalloc(n ? n : 1, sizeof *m->keys);
    m->pks = xcalloc(n ? n : 1, sizeof *m->pks);
    m->sks = xcalloc(n ? n : 1, sizeof *m->sks);
    m->tables = xcalloc(n ? n : 1, sizeof *m->tables);
    m->exprs = xcalloc(n ? n : 1, sizeof *m->exprs);
    m->key_objs = xcalloc(n ? n : 1, sizeof *m->key_objs);
    m->owned = xcalloc(n ? n : 1, sizeof *m->owned);
    return m;
}

static void multi_get_free(multi_get *m)
{
    for (size_t i = 0; i < m->n; i++) {
        buf_free(&m->pks[i]);
        buf_free(&m->sks[i]);
    }
    for (size_t i = 0; i < m->nowned; i++)
        ddb_exprs_free(m->owned[i]);
    xfree(m->keys);
    xfree(m->pks);
    xfree(m->sks);
    xfree(m->tables);
    xfree(m->exprs);
    xfree(m->key_objs);
    xfree(m->owned);
    xfree(m);
}

/* Adds key i (validated against t); 0 or -1 with f. */
static int multi_get_key(multi_get *m, size_t i, ddb_table *t, json_t *key, ddb_exprs *e,
                         aws_failure *f)
{
    char err[512];
    m->pks[i] = (buf)BUF_INIT;
    m->sks[i] = (buf)BUF_INIT;
    if (!json_is_object(key))
        return aws_fail(f, DDB_ERR_VALIDATION_EXC,
                        "The provided key element does not match the schema");
    if (ddb_item_validate(key, err, sizeof err) ||
        ddb_key_of_key(t, key, &m->pks[i], &m->sks[i], err, sizeof err))
        return aws_fail(f, DDB_ERR_VALIDATION_EXC, "%s", err);
    for (size_t j = 0; j < i; j++)
        if (m->tables[j] == t && m->pks[j].len == m->pks[i].len && m->sks[j].len == m->sks[i].len &&
            memcmp(m->pks[j].data, m->pks[i].data, m->pks[i].len) == 0 &&
            (m->sks[i].len == 0 || memcmp(m->sks[j].data, m->sks[i].data, m->sks[i].len) == 0))
            return aws_fail(f, DDB_ERR_VALIDATION_EXC,
                            "Provided list of item keys contains duplicates");
    m->tables[i] = t;
    m->exprs[i] = e;
    m->key_objs[i] = key;
    m->keys[i] = (store_kv_key){t->id, (const unsigned char *)m->pks[i].data, m->pks[i].len,
                                (const unsigned char *)m->sks[i].data, m->sks[i].len};
    return 0;
}

static ddb_exprs *multi_get_compile(multi_get *m, json_t *req, aws_failure *f)
{
    char err[1024];
    ddb_exprs *e = NULL;
    if (ddb_legacy_projection(req, err, sizeof err) ||
        ddb_compile(req, DDB_ALLOW(DDB_EXPR_PROJECTION), &e, err, sizeof err)) {
        aws_fail(f, DDB_ERR_VALIDATION_EXC, "%s", err);
        return NULL;
    }
    m->owned[m->nowned++] = e;
    return e;
}

static void multi_get_submit(multi_get *m, store_done_fn done)
{
    m->op.kind = STORE_KV_GET;
    m->op.now_ms = clock_now_ms();
    m->op.u.kv_get.keys = m->keys;
    m->op.u.kv_get.n = m->n;
    m->op.done = done;
    m->op.ctx = m;
    store_submit(ddb_of(m->call)->store, &m->op);
}

static json_t *item_of(const store_kv_item *it)
{
    char jerr[128];
    return it->item ? jsonc_parse(it->item, it->len, jerr, sizeof jerr) : NULL;
}

/* ---- BatchGetItem ------------------------------------------------------------------- */

static void batch_get_done(store_op *op)
{
    multi_get *m = op->ctx;
    aws_call *call = m->call;
    if (op->status != 0) {
        aws_reply_error(call, AWS_ERR_DDB_INTERNAL_SERVER_ERROR, "The store could not read.");
        store_op_clear(op);
        multi_get_free(m);
        return;
    }
    json_t *responses = json_object(), *unprocessed = json_object();
    json_t *requested = json_object_get(call->input, "RequestItems");
    int64_t bytes = 0;
    for (size_t i = 0; i < m->n; i++) {
        const char *name = m->tables[i]->name;
        store_kv_item *it = &op->u.kv_get.items[i];
        if (!json_object_get(responses, name))
            json_object_set_new(responses, name, json_array());
        if (bytes + (it->item ? it->size : 0) > DDB_BATCH_GET_SIZE) {
            json_t *u = json_object_get(unprocessed, name);
            if (!u) {
                u = json_deep_copy(json_object_get(requested, name));
                json_object_set_new(u, "Keys", json_array());
                json_object_set_new(unprocessed, name, u);
            }
            json_array_append(json_object_get(u, "Keys"), m->key_objs[i]);
            continue;
        }
        json_t *item = item_of(it);
        if (item) {
            bytes += it->size;
            json_array_append_new(json_object_get(responses, name),
                                  ddb_projection_apply(m->exprs[i], item));
            json_decref(item);
        }
    }
    json_t *out = json_pack("{s:o, s:o}", "Responses", responses, "UnprocessedKeys", unprocessed);
    const char *rcc = ddb_str(call->input, "ReturnConsumedCapacity");
    if (rcc && strcmp(rcc, "NONE") != 0) {
        json_t *caps = json_array();
        const char *name;
        json_t *v;
        json_object_foreach(responses, name, v)
            json_array_append_new(caps, ddb_capacity(call->input, name, ddb_read_units(bytes, 0)));
        json_object_set_new(out, "ConsumedCapacity", caps);
    }
    aws_reply(call, out);
    store_op_clear(op);
    multi_get_free(m);
}

void ddb_batch_get_item(aws_call *call)
{
    dynamodb *d = ddb_of(call);
    json_t *items = json_object_get(call->input, "RequestItems");
    size_t total = 0;
    const char *name;
    json_t *req;
    json_object_foreach(items, name, req) total += json_array_size(json_object_get(req, "Keys"));
    if (total == 0) {
        ddb_validation(call, "1 validation error detected: Value null at 'requestItems' failed "
                             "to satisfy constraint: Member must have length greater than or "
                             "equal to 1");
        return;
    }
    if (total > DDB_BATCH_GET_MAX) {
        ddb_validation(call, "Too many items requested for the BatchGetItem call");
        return;
    }
    multi_get *m = multi_get_new(call, total);
    aws_failure f = {0};
    size_t k = 0;
    int rc = 0;
    json_object_foreach(items, name, req)
    {
        if (rc)
            break;
        ddb_table *t = ddb_table_find(d, name);
        if (!t) {
            rc = aws_fail(&f, DDB_ERR_NOT_FOUND, "Requested resource not found");
            break;
        }
        ddb_exprs *e = multi_get_compile(m, req, &f);
        if (!e) {
            rc = -1;
            break;
        }
        size_t i;
        json_t *key;
        json_array_foreach(json_object_get(req, "Keys"), i, key)
        {
            if ((rc = multi_get_key(m, k++, t, key, e, &f)) != 0)
                break;
        }
    }
    if (rc) {
        m->n = k; /* only those keys' buffers were initialised */
        aws_reply_error(call, f.code, "%s", f.msg);
        multi_get_free(m);
        return;
    }
    multi_get_submit(m, batch_get_done);
}

/* ---- TransactGetItems --------------------------------------------------------------- */

static void transact_get_done(store_op *op)
{
    multi_get *m = op->ctx;
    aws_call *call = m->call;
    if (op->status != 0) {
        aws_reply_error(call, AWS_ERR_DDB_INTERNAL_SERVER_ERROR, "The store could not read.");
    } else {
        json_t *responses = json_array();
        for (size_t i = 0; i < m->n; i++) {
            json_t *item = item_of(&op->u.kv_get.items[i]);
            json_t *r = json_object();
            if (item)
                json_object_set_new(r, "Item", ddb_projection_apply(m->exprs[i], item));
            json_decref(item);
            json_array_append_new(responses, r);
        }
        aws_reply(call, json_pack("{s:o}", "Responses", responses));
    }
    store_op_clear(op);
    multi_get_free(m);
}

void ddb_transact_get_items(aws_call *call)
{
    json_t *list = json_object_get(call->input, "TransactItems");
    size_t n = json_array_size(list);
    if (n == 0 || n > DDB_TRANSACT_MAX) {
        ddb_validation(call,
                       "1 validation error detected: Value at 'transactItems' failed to satisfy "
                       "constraint: Member must have length %s",
                       n == 0 ? "greater than or equal to 1" : "less than or equal to 100");
        return;
    }
    multi_get *m = multi_get_new(call, n);
    aws_failure f = {0};
    size_t k = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        json_t *get = json_object_get(json_array_get(list, i), "Get");
        ddb_table *t = ddb_table_find(ddb_of(call), ddb_str(get, "TableName") ?: "");
        if (!t) {
            rc = aws_fail(&f, DDB_ERR_NOT_FOUND, "Requested resource not found");
            break;
        }
        ddb_exprs *e = multi_get_compile(m, get, &f);
        rc = e ? multi_get_key(m, k++, t, json_object_get(get, "Key"), e, &f) : -1;
    }
    if (rc) {
        m->n = k;
        aws_reply_error(call, f.code, "%s", f.msg);
        multi_get_free(m);
        return;
    }
    multi_get_submit(m, transact_get_done);
}
