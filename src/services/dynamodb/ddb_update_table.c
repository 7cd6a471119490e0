/* DynamoDB UpdateTable: billing mode and provisioned throughput, stream on/off, and global
 * secondary indexes created (with a backfill) or deleted.
 *
 * A table shared with the commit thread is never changed in place where that thread reads
 * it (its indexes, its stream): UpdateTable makes a new ddb_table from a changed copy of the
 * document and swaps it into the registry (ddb_table_replace); writes already prepared keep
 * the old one, which lives on in d->dropped. Writes prepared after the swap maintain a new
 * index from then on.
 *
 * A new index starts CREATING (Backfilling in its description, unreadable by Query). Its
 * backfill walks the table in pages of BACKFILL_PAGE items: a Scan page (KV_RANGE), then one
 * group of KV_MUTATEs that re-read each item inside the commit and write its index entry
 * only (STORE_KV_SIDES), so an item changed meanwhile is indexed as it now is. Each page is
 * one short commit: a large table never holds the commit thread for long. When the walk
 * ends the index becomes ACTIVE. A restart resumes CREATING indexes from the beginning. */
#include "services/dynamodb/ddb_internal.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"
#include "protocol/json_codec.h"
#include "services/service_docs.h"

#include <string.h>

#define MAX_GSI       20
#define BACKFILL_PAGE 100

/* ---- the registry swap -------------------------------------------------------------- */

ddb_table *ddb_table_replace(dynamodb *d, ddb_table *t, json_t *doc)
{
    ddb_table *n = ddb_table_from_doc(t->name, doc);
    ddb_table_remove(d, t);
    ddb_table_insert(d, n);
    return n;
}

/* ---- backfill ----------------------------------------------------------------------- */

typedef struct backfill_item {
    const ddb_table *table;
    const ddb_index *index;
    buf pk, sk;
} backfill_item;

struct ddb_backfill {
    ddb_backfill *next;
    dynamodb *d;
    char *table, *index;
    buf start_pk, start_sk;
    int resumed; /* start_* hold the last key done */
    store_op scan, group;
    store_op *muts;
    store_op **children;
    backfill_item *items;
    size_t n;
    int more;
};

static void backfill_scan(ddb_backfill *b);

/* The store_kv_mutate_fn of one item's backfill: its entry in the new index, nothing else. */
static int backfill_apply(void *arg, const char *old, size_t old_len, store_kv_write *out)
{
    backfill_item *it = arg;
    if (!old)
        return STORE_KV_KEEP; /* deleted since the scan */
    char jerr[128];
    json_t *item = jsonc_parse(old, old_len, jerr, sizeof jerr);
    if (!item)
        return STORE_KV_KEEP;
    ddb_index_backfill_side(it->index, it->table, item, out);
    json_decref(item);
    return out->nsides ? STORE_KV_SIDES : STORE_KV_KEEP;
}

static void backfill_clear_page(ddb_backfill *b)
{
    for (size_t i = 0; i < b->n; i++) {
        buf_free(&b->items[i].pk);
        buf_free(&b->items[i].sk);
    }
    xfree(b->items);
    xfree(b->muts);
    xfree(b->children);
    b->items = NULL;
    b->muts = NULL;
    b->children = NULL;
    b->n = 0;
    store_op_clear(&b->scan);
}

static void backfill_free(ddb_backfill *b)
{
    backfill_clear_page(b);
    xfree(b->table);
    xfree(b->index);
    buf_free(&b->start_pk);
    buf_free(&b->start_sk);
    xfree(b);
}

static void backfill_unlink(ddb_backfill *b)
{
    for (ddb_backfill **p = &b->d->backfills; *p; p = &(*p)->next)
        if (*p == b) {
            *p = b->next;
            return;
        }
}

/* The index of the backfill's table still being created, or NULL (table or index gone). */
static ddb_index *backfill_index(ddb_backfill *b, ddb_table **t)
{
    *t = ddb_table_find(b->d, b->table);
    ddb_index *ix = *t ? ddb_index_find(*t, b->index) : NULL;
    return ix && ix->creating ? ix : NULL;
}

/* The walk is over: the index becomes ACTIVE. */
static void backfill_finish(ddb_backfill *b)
{
    ddb_table *t;
    if (backfill_index(b, &t)) {
        json_t *doc = json_deep_copy(t->doc);
        size_t i;
        json_t *ix;
        json_array_foreach(json_object_get(doc, "GlobalSecondaryIndexes"), i,
                           ix) if (strcmp(ddb_str(ix, "IndexName") ?: "", b->index) == 0)
            json_object_del(ix, "IndexStatus");
        t = ddb_table_replace(b->d, t, doc);
        service_persist_doc(b->d->store, NULL, NULL, AWS_ERR_DDB_INTERNAL_SERVER_ERROR, DDB_DOC_NS,
                            t->name, t->doc);
        log_info("dynamodb index backfilled", "table='%s' index='%s'", b->table, b->index);
    }
    backfill_unlink(b);
    backfill_free(b);
}

static void backfill_group_done(store_op *op)
{
    ddb_backfill *b = op->ctx;
    int failed = op->status != 0, more = b->more;
    backfill_clear_page(b);
    if (b->d->stopping) {
        backfill_unlink(b);
        backfill_free(b);
    } else if (failed) {
        log_error("dynamodb backfill page failed, retrying", "table='%s' index='%s'", b->table,
                  b->index);
        backfill_scan(b);
    } else if (more) {
        backfill_scan(b);
    } else {
        backfill_finish(b);
    }
}

/* One KV_MUTATE per scanned item, in one group. */
static void backfill_page(ddb_backfill *b, ddb_table *t, ddb_index *ix)
{
    typeof(b->scan.u.kv_range) *r = &b->scan.u.kv_range;
    b->items = xcalloc(r->n ? r->n : 1, sizeof *b->items);
    b->muts = xcalloc(r->n ? r->n : 1, sizeof *b->muts);
    b->children = xcalloc(r->n ? r->n : 1, sizeof *b->children);
    int64_t now = clock_now_ms();
    b->n = 0;
    for (size_t i = 0; i < r->n; i++) {
        char jerr[128];
        json_t *item = jsonc_parse(r->items[i].item, r->items[i].len, jerr, sizeof jerr);
        backfill_item *it = &b->items[b->n];
        it->pk = (buf)BUF_INIT;
        it->sk = (buf)BUF_INIT;
        if (!item || ddb_key_of_item(t, item, &it->pk, &it->sk, jerr, sizeof jerr)) {
            json_decref(item);
            buf_free(&it->pk);
            buf_free(&it->sk);
            continue;
        }
        json_decref(item);
        it->table = t;
        it->index = ix;
        store_op *m = &b->muts[b->n];
        m->kind = STORE_KV_MUTATE;
        m->now_ms = now;
        m->u.kv_mutate.key = (store_kv_key){t->id, (const unsigned char *)it->pk.data, it->pk.len,
                                            (const unsigned char *)it->sk.data, it->sk.len};
        m->u.kv_mutate.fn = backfill_apply;
        m->u.kv_mutate.arg = it;
        b->children[b->n] = m;
        b->n++;
    }
    if (b->n > 0) { /* the resume point: the page's last key */
        buf_reset(&b->start_pk);
        buf_reset(&b->start_sk);
        buf_append(&b->start_pk, b->items[b->n - 1].pk.data, b->items[b->n - 1].pk.len);
        buf_append(&b->start_sk, b->items[b->n - 1].sk.data, b->items[b->n - 1].sk.len);
        b->resumed = 1;
    }
    b->more = r->more;
    b->group =
        (store_op){.kind = STORE_GROUP, .now_ms = now, .done = backfill_group_done, .ctx = b};
    b->group.u.group.ops = b->children;
    b->group.u.group.n = b->n;
    if (b->n == 0) { /* an empty page (an empty table) */
        backfill_group_done(&b->group);
        return;
    }
    store_submit(b->d->store, &b->group);
}

static void backfill_scan_done(store_op *op)
{
    ddb_backfill *b = op->ctx;
    ddb_table *t;
    ddb_index *ix = backfill_index(b, &t);
    if (!ix || b->d->stopping) {
        backfill_unlink(b);
        backfill_free(b);
        return;
    }
    if (op->status != 0) {
        store_op_clear(&b->scan);
        log_error("dynamodb backfill scan failed, retrying", "table='%s'", b->table);
        backfill_scan(b);
        return;
    }
    backfill_page(b, t, ix);
}

static void backfill_scan(ddb_backfill *b)
{
    ddb_table *t;
    if (!backfill_index(b, &t)) {
        backfill_unlink(b);
        backfill_free(b);
        return;
    }
    b->scan = (store_op){
        .kind = STORE_KV_RANGE, .now_ms = clock_now_ms(), .done = backfill_scan_done, .ctx = b};
    typeof(b->scan.u.kv_range) *r = &b->scan.u.kv_range;
    r->table = t->id;
    r->forward = 1;
    r->max_items = BACKFILL_PAGE;
    r->max_bytes = DDB_PAGE_BYTES;
    if (b->resumed) {
        r->start_pk = (const unsigned char *)b->start_pk.data;
        r->start_pk_len = b->start_pk.len;
        r->start_sk = (const unsigned char *)(b->start_sk.data ? b->start_sk.data : "");
        r->start_sk_len = b->start_sk.len;
    }
    store_submit(b->d->store, &b->scan);
}

static void backfill_start(dynamodb *d, const char *table, const char *index)
{
    ddb_backfill *b = xcalloc(1, sizeof *b);
    b->d = d;
    b->table = xstrdup(table);
    b->index = xstrdup(index);
    b->start_pk = (buf)BUF_INIT;
    b->start_sk = (buf)BUF_INIT;
    b->next = d->backfills;
    d->backfills = b;
    backfill_scan(b);
}

void ddb_backfills_resume(dynamodb *d)
{
    for (size_t i = 0; i < d->ntables; i++)
        for (size_t k = 0; k < d->tables[i]->nindexes; k++)
            if (d->tables[i]->indexes[k].creating)
                backfill_start(d, d->tables[i]->name, d->tables[i]->indexes[k].name);
}

void ddb_backfills_free(dynamodb *d)
{
    while (d->backfills) {
        ddb_backfill *b = d->backfills;
        d->backfills = b->next;
        backfill_free(b);
    }
}

/* ---- UpdateTable -------------------------------------------------------------------- */

static int table_creating_index(const ddb_table *t)
{
    for (size_t i = 0; i < t->nindexes; i++)
        if (t->indexes[i].creating)
            return 1;
    return 0;
}

/* BillingMode / ProvisionedThroughput into doc (the current mode when only the throughput
 * changes). */
static int update_billing(aws_failure *f, const json_t *in, json_t *doc)
{
    json_t *mode = json_object_get(in, "BillingMode");
    json_t *pt = json_object_get(in, "ProvisionedThroughput");
    if (!mode && !pt)
        return 0;
    json_t *req =
        json_pack("{s:O}", "BillingMode", mode ? mode : json_object_get(doc, "BillingMode"));
    if (pt)
        json_object_set(req, "ProvisionedThroughput", pt);
    else if (strcmp(ddb_str(req, "BillingMode") ?: "", "PROVISIONED") == 0 &&
             strcmp(ddb_str(doc, "BillingMode") ?: "", "PROVISIONED") == 0)
        json_object_set(req, "ProvisionedThroughput",
                        json_object_get(doc, "ProvisionedThroughput"));
    int rc = ddb_check_billing(f, req, doc);
    json_decref(req);
    return rc;
}

/* Merges the request's AttributeDefinitions into doc's (a redefinition must keep its type). */
static int merge_definitions(aws_failure *f, const json_t *in, json_t *doc)
{
    json_t *defs = json_object_get(in, "AttributeDefinitions");
    if (!defs)
        return 0;
    if (ddb_check_attribute_definitions(f, defs))
        return -1;
    json_t *have = json_object_get(doc, "AttributeDefinitions");
    size_t i, j;
    json_t *def, *old;
    json_array_foreach(defs, i, def)
    {
        int found = 0;
        json_array_foreach(have, j, old) if (strcmp(ddb_str(old, "AttributeName"),
                                                    ddb_str(def, "AttributeName")) == 0)
        {
            found = 1;
            if (strcmp(ddb_str(old, "AttributeType"), ddb_str(def, "AttributeType")) != 0)
                return aws_fail(f, DDB_ERR_VALIDATION_EXC,
                                "Cannot change the type of an existing attribute: %s",
                                ddb_str(def, "AttributeName"));
        }
        if (!found)
            json_array_append(have, def);
    }
    return 0;
}

/* Keeps only the definitions a key of the table or of an index uses. */
static void prune_definitions(json_t *doc)
{
    json_t *used = json_object();
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(doc, "KeySchema"), i, e)
        json_object_set_new(used, ddb_str(e, "AttributeName"), json_true());
    ddb_indexes_key_names(doc, used);
    json_t *defs = json_object_get(doc, "AttributeDefinitions");
    for (i = json_array_size(defs); i-- > 0;)
        if (!json_object_get(used, ddb_str(json_array_get(defs, i), "AttributeName")))
            json_array_remove(defs, i);
    json_decref(used);
}

static int gsi_create(aws_failure *f, dynamodb *d, const json_t *ix, json_t *doc,
                      const char **created)
{
    json_t *in = json_pack("{s:O, s:O}", "AttributeDefinitions",
                           json_object_get(doc, "AttributeDefinitions"), "KeySchema",
                           json_object_get(doc, "KeySchema"));
    int rc = ddb_index_check_new(f, ix, in);
    json_decref(in);
    if (rc)
        return -1;
    const char *name = ddb_str(ix, "IndexName");
    json_t *gsis = json_object_get(doc, "GlobalSecondaryIndexes");
    json_t *lsis = json_object_get(doc, "LocalSecondaryIndexes");
    size_t i;
    json_t *e;
    json_array_foreach(gsis, i, e) if (strcmp(ddb_str(e, "IndexName"), name) == 0) return aws_fail(
        f, DDB_ERR_VALIDATION_EXC, "Attempting to create an index which already exists");
    json_array_foreach(lsis, i, e) if (strcmp(ddb_str(e, "IndexName"), name) == 0) return aws_fail(
        f, DDB_ERR_VALIDATION_EXC, "Attempting to create an index which already exists");
    if (json_array_size(gsis) >= MAX_GSI)
        return aws_fail(f, AWS_ERR_LIMIT_EXCEEDED_EXCEPTION,
                        "Subscriber limit exceeded: The number of global secondary indexes "
                        "exceeds the per-table limit of %d",
                        MAX_GSI);
    if (!gsis) {
        gsis = json_array();
        json_object_set_new(doc, "GlobalSecondaryIndexes", gsis);
    }
    json_array_append_new(gsis, json_pack("{s:s, s:O, s:O, s:I, s:s}", "IndexName", name,
                                          "KeySchema", json_object_get(ix, "KeySchema"),
                                          "Projection", json_object_get(ix, "Projection"), "Id",
                                          (json_int_t)d->next_id++, "IndexStatus", "CREATING"));
    *created = name;
    return 0;
}

static int gsi_delete(aws_failure *f, const char *table, const json_t *del, json_t *doc,
                      int64_t *dropped_id)
{
    const char *name = ddb_str(del, "IndexName");
    json_t *gsis = json_object_get(doc, "GlobalSecondaryIndexes");
    for (size_t i = 0; name && i < json_array_size(gsis); i++)
        if (strcmp(ddb_str(json_array_get(gsis, i), "IndexName"), name) == 0) {
            *dropped_id = json_integer_value(json_object_get(json_array_get(gsis, i), "Id"));
            json_array_remove(gsis, i);
            if (json_array_size(gsis) == 0)
                json_object_del(doc, "GlobalSecondaryIndexes");
            return 0;
        }
    return aws_fail(f, DDB_ERR_NOT_FOUND,
                    "Requested resource not found: Table: %s, Index: %s not found", table,
                    name ? name : "null");
}

/* GlobalSecondaryIndexUpdates: at most one Create or Delete (Update: throughput, ignored). */
static int update_indexes(aws_failure *f, dynamodb *d, const ddb_table *t, const json_t *in,
                          json_t *doc, const char **created, int64_t *dropped_id)
{
    json_t *updates = json_object_get(in, "GlobalSecondaryIndexUpdates");
    if (!updates)
        return 0;
    if (table_creating_index(t))
        return aws_fail(f, AWS_ERR_DDB_RESOURCE_IN_USE,
                        "Attempt to change a resource which is still in use: Table is being "
                        "updated: %s",
                        t->name);
    size_t structural = 0, i;
    json_t *u;
    json_array_foreach(updates, i, u) structural +=
        (json_object_get(u, "Create") != NULL) + (json_object_get(u, "Delete") != NULL);
    if (structural > 1)
        return aws_fail(f, DDB_ERR_VALIDATION_EXC,
                        "One or more parameter values were invalid: Only 1 online index can be "
                        "created or deleted simultaneously per table");
    json_array_foreach(updates, i, u)
    {
        json_t *c = json_object_get(u, "Create"), *del = json_object_get(u, "Delete");
        json_t *upd = json_object_get(u, "Update");
        if (c && gsi_create(f, d, c, doc, created))
            return -1;
        if (del && gsi_delete(f, t->name, del, doc, dropped_id))
            return -1;
        if (upd && !ddb_index_find(t, ddb_str(upd, "IndexName") ?: ""))
            return aws_fail(f, DDB_ERR_NOT_FOUND,
                            "Requested resource not found: Table: %s, Index: %s not found", t->name,
                            ddb_str(upd, "IndexName") ?: "null");
    }
    return 0;
}

/* StreamSpecification: a new stream, or the current one disabled. */
static int update_stream(aws_failure *f, dynamodb *d, const ddb_table *t, const json_t *in,
                         json_t *doc, const json_t **stream_doc)
{
    json_t *spec = json_object_get(in, "StreamSpecification");
    if (!spec)
        return 0;
    json_t *enabled = json_object_get(spec, "StreamEnabled");
    const char *view = ddb_str(spec, "StreamViewType");
    if (!json_is_boolean(enabled))
        return aws_fail(f, DDB_ERR_VALIDATION_EXC,
                        "1 validation error detected: Value null at "
                        "'streamSpecification.streamEnabled' failed to satisfy constraint: "
                        "Member must not be null");
    if (json_is_true(enabled)) {
        if (t->stream_id)
            return aws_fail(f, DDB_ERR_VALIDATION_EXC, "Table already has an enabled stream: %s",
                            t->name);
        if (!view)
            return aws_fail(f, DDB_ERR_VALIDATION_EXC,
                            "One or more parameter values were invalid: StreamViewType is "
                            "required when StreamEnabled is true");
        if (strcmp(view, "KEYS_ONLY") && strcmp(view, "NEW_IMAGE") && strcmp(view, "OLD_IMAGE") &&
            strcmp(view, "NEW_AND_OLD_IMAGES"))
            return aws_fail(f, DDB_ERR_VALIDATION_EXC,
                            "1 validation error detected: Value '%s' at "
                            "'streamSpecification.streamViewType' failed to satisfy constraint: "
                            "Member must satisfy enum value set: [NEW_IMAGE, OLD_IMAGE, "
                            "NEW_AND_OLD_IMAGES, KEYS_ONLY]",
                            view);
        *stream_doc = ddb_stream_enable(d, t->name, doc, view);
        return 0;
    }
    if (view)
        return aws_fail(f, DDB_ERR_VALIDATION_EXC,
                        "One or more parameter values were invalid: StreamViewType cannot be "
                        "specified when StreamEnabled is false");
    if (!t->stream_id)
        return aws_fail(f, DDB_ERR_VALIDATION_EXC, "Table does not have an enabled stream: %s",
                        t->name);
    *stream_doc = ddb_stream_disable(d, doc);
    return 0;
}

static int has_update(const json_t *in)
{
    static const char *const members[] = {"BillingMode",
                                          "ProvisionedThroughput",
                                          "GlobalSecondaryIndexUpdates",
                                          "StreamSpecification",
                                          "SSESpecification",
                                          "ReplicaUpdates",
                                          "DeletionProtectionEnabled",
                                          "TableClass"};
    for (size_t i = 0; i < sizeof members / sizeof *members; i++)
        if (json_object_get(in, members[i]))
            return 1;
    return 0;
}

static void drop_done(store_op *op)
{
    xfree(op);
}

/* The rows of a deleted index's store table, dropped after the table document commits. */
static void drop_index_rows(dynamodb *d, int64_t id)
{
    store_op *op = xcalloc(1, sizeof *op);
    op->kind = STORE_KV_DROP;
    op->now_ms = clock_now_ms();
    op->u.kv_table.table = id;
    op->done = drop_done;
    store_submit(d->store, op);
}

void ddb_update_table(aws_call *call)
{
    dynamodb *d = ddb_of(call);
    ddb_table *t = ddb_table_of(call, call->input);
    if (!t)
        return;
    aws_failure f;
    if (!has_update(call->input)) {
        ddb_validation(call, "At least one of ProvisionedThroughput, BillingMode, "
                             "UpdateStreamEnabled, GlobalSecondaryIndexUpdates or "
                             "SSESpecification or ReplicaUpdates is required");
        return;
    }
    json_t *doc = json_deep_copy(t->doc);
    const char *created = NULL;
    const json_t *stream_doc = NULL;
    int64_t dropped_id = 0;
    if (update_billing(&f, call->input, doc) || merge_definitions(&f, call->input, doc) ||
        update_indexes(&f, d, t, call->input, doc, &created, &dropped_id) ||
        update_stream(&f, d, t, call->input, doc, &stream_doc)) {
        json_decref(doc);
        aws_reply_error(call, f.code, "%s", f.msg);
        return;
    }
    prune_definitions(doc);
    char *created_name = created ? xstrdup(created) : NULL;
    t = ddb_table_replace(d, t, doc);
    store_doc docs[2] = {{DDB_DOC_NS, t->name, json_dumps(t->doc, JSON_COMPACT)}};
    size_t ndocs = 1;
    if (stream_doc)
        docs[ndocs++] = ddb_stream_store_doc(stream_doc);
    json_t *reply = json_pack("{s:o}", "TableDescription",
                              ddb_table_describe(d, t, created ? "UPDATING" : "ACTIVE"));
    service_persist_docs(d->store, call, reply, AWS_ERR_DDB_INTERNAL_SERVER_ERROR, docs, ndocs);
    for (size_t i = 0; i < ndocs; i++)
        xfree((char *)docs[i].doc);
    if (dropped_id)
        drop_index_rows(d, dropped_id);
    if (created_name)
        backfill_start(d, t->name, created_name);
    xfree(created_name);
}
