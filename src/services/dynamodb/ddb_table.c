/* DynamoDB tables: CreateTable (with secondary indexes: ddb_index.c), DescribeTable,
 * ListTables, DeleteTable (its items and index entries dropped in the same transaction),
 * tags, time to live (stored here; expiry: ddb_ttl.c), DescribeEndpoints and
 * DescribeLimits. UpdateTable: ddb_update_table.c.
 *
 * A table is a document of namespace "dynamodb.table" keyed by its name: AttributeDefinitions,
 * KeySchema, BillingMode, ProvisionedThroughput, StreamSpecification, Tags, TimeToLive,
 * CreationDateTime, TableId, its indexes and Id, the store's number for its items (each index
 * has an Id of its own). Tables are ACTIVE as soon as their creation commits. */
#include "services/dynamodb/ddb_internal.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "common/ids.h"
#include "services/service_docs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- descriptions ------------------------------------------------------------------- */

static json_t *throughput(const json_t *doc)
{
    json_t *pt = json_object_get(doc, "ProvisionedThroughput");
    return json_pack("{s:i, s:I, s:I}", "NumberOfDecreasesToday", 0, "ReadCapacityUnits",
                     json_integer_value(json_object_get(pt, "ReadCapacityUnits")),
                     "WriteCapacityUnits",
                     json_integer_value(json_object_get(pt, "WriteCapacityUnits")));
}

/* counts/sizes: the table's at [0], its indexes' after (NULL: all 0). */
static json_t *describe(const dynamodb *d, const ddb_table *t, const char *status,
                        const int64_t *counts, const int64_t *sizes)
{
    int64_t items = counts ? counts[0] : 0, bytes = sizes ? sizes[0] : 0;
    const json_t *doc = t->doc;
    char *arn = ddb_table_arn(d, t->name);
    json_t *o = json_pack(
        "{s:O, s:s, s:O, s:s, s:O, s:o, s:I, s:I, s:s, s:O, s:{s:O, s:O}, s:b}",
        "AttributeDefinitions", json_object_get(doc, "AttributeDefinitions"), "TableName", t->name,
        "KeySchema", json_object_get(doc, "KeySchema"), "TableStatus", status, "CreationDateTime",
        json_object_get(doc, "CreationDateTime"), "ProvisionedThroughput", throughput(doc),
        "TableSizeBytes", (json_int_t)bytes, "ItemCount", (json_int_t)items, "TableArn", arn,
        "TableId", json_object_get(doc, "TableId"), "BillingModeSummary", "BillingMode",
        json_object_get(doc, "BillingMode"), "LastUpdateToPayPerRequestDateTime",
        json_object_get(doc, "CreationDateTime"), "DeletionProtectionEnabled", 0);
    json_t *stream = json_object_get(doc, "StreamSpecification");
    if (json_is_true(json_object_get(stream, "StreamEnabled"))) {
        json_object_set(o, "StreamSpecification", stream);
        const char *label = ddb_str(doc, "StreamLabel");
        json_object_set_new(o, "LatestStreamLabel", json_string(label ? label : ""));
        char sarn[1024];
        snprintf(sarn, sizeof sarn, "%s/stream/%s", arn, label ? label : "");
        json_object_set_new(o, "LatestStreamArn", json_string(sarn));
    }
    xfree(arn);
    ddb_indexes_describe(d, t, o, counts ? counts + 1 : NULL, sizes ? sizes + 1 : NULL);
    return o;
}

json_t *ddb_table_describe(const dynamodb *d, const ddb_table *t, const char *status)
{
    return describe(d, t, status, NULL, NULL);
}

/* ---- CreateTable -------------------------------------------------------------------- */

static int valid_table_name(const char *name)
{
    size_t n = strlen(name);
    if (n < 3 || n > 255)
        return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-' || *p == '.'))
            return 0;
    return 1;
}

static int check_table_name(aws_failure *f, const char *name)
{
    if (!name)
        return aws_fail(f, DDB_ERR_VALIDATION_EXC,
                        "1 validation error detected: Value null at 'tableName' failed to "
                        "satisfy constraint: Member must not be null");
    if (!valid_table_name(name))
        return aws_fail(f, DDB_ERR_VALIDATION_EXC,
                        "1 validation error detected: Value '%s' at 'tableName' failed to "
                        "satisfy constraint: Member must satisfy regular expression pattern: "
                        "[a-zA-Z0-9_.-]+ and have length between 3 and 255",
                        name);
    return 0;
}

int ddb_check_attribute_definitions(aws_failure *f, const json_t *defs)
{
    if (!json_is_array(defs) || json_array_size(defs) == 0)
        return aws_fail(f, DDB_ERR_VALIDATION_EXC,
                        "1 validation error detected: Value null at 'attributeDefinitions' "
                        "failed to satisfy constraint: Member must not be null");
    size_t i;
    json_t *def;
    json_array_foreach(defs, i, def)
    {
        const char *n = ddb_str(def, "AttributeName"), *ty = ddb_str(def, "AttributeType");
        if (!n || !ty)
            return aws_fail(f, DDB_ERR_VALIDATION_EXC,
                            "1 validation error detected: Value null at "
                            "'attributeDefinitions.%zu.member.%s' failed to satisfy constraint: "
                            "Member must not be null",
                            i + 1, n ? "attributeType" : "attributeName");
        if (strcmp(ty, "S") != 0 && strcmp(ty, "N") != 0 && strcmp(ty, "B") != 0)
            return aws_fail(f, DDB_ERR_VALIDATION_EXC,
                            "1 validation error detected: Value '%s' at "
                            "'attributeDefinitions.%zu.member.attributeType' failed to satisfy "
                            "constraint: Member must satisfy enum value set: [B, N, S]",
                            ty, i + 1);
        for (size_t j = 0; j < i; j++)
            if (strcmp(ddb_str(json_array_get(defs, j), "AttributeName"), n) == 0)
                return aws_fail(f, DDB_ERR_VALIDATION_EXC,
                                "Cannot have two attributes with the same name");
    }
    return 0;
}

static int check_key_schema(aws_failure *f, const json_t *in, const json_t *ks, const json_t *defs)
{
    if (!json_is_array(ks) || json_array_size(ks) == 0 || json_array_size(ks) > 2)
        return aws_fail(f, DDB_ERR_VALIDATION_EXC,
                        "1 validation error detected: Value '%s' at 'keySchema' failed to "
                        "satisfy constraint: Member must have length less than or equal to 2",
                        json_is_array(ks) ? "[...]" : "null");
    for (size_t i = 0; i < json_array_size(ks); i++) {
        json_t *e = json_array_get(ks, i);
        const char *n = ddb_str(e, "AttributeName"), *ty = ddb_str(e, "KeyType");
        if (!n || !ty)
            return aws_fail(f, DDB_ERR_VALIDATION_EXC,
                            "1 validation error detected: Value null at 'keySchema.%zu.member' "
                            "failed to satisfy constraint: Member must not be null",
                            i + 1);
        if (strcmp(ty, i == 0 ? "HASH" : "RANGE") != 0)
            return aws_fail(f, DDB_ERR_VALIDATION_EXC,
                            i == 0 ? "Invalid KeySchema: The first KeySchemaElement is not a HASH "
                                     "key type"
                                   : "Invalid KeySchema: The second KeySchemaElement is not a "
                                     "RANGE key type");
        if (i == 1 && strcmp(n, ddb_str(json_array_get(ks, 0), "AttributeName")) == 0)
            return aws_fail(f, DDB_ERR_VALIDATION_EXC,
                            "Both the Hash Key and the Range Key element in the KeySchema have "
                            "the same name");
        size_t j;
        json_t *def;
        int defined = 0;
        json_array_foreach(defs, j, def) defined |= strcmp(ddb_str(def, "AttributeName"), n) == 0;
        if (!defined)
            return aws_fail(f, DDB_ERR_VALIDATION_EXC,
                            "One or more parameter values were invalid: Some index key "
                            "attributes are not defined in AttributeDefinitions. Keys: [%s], "
                            "AttributeDefinitions: [...]",
                            n);
    }
    json_t *used = json_object();
    for (size_t i = 0; i < json_array_size(ks); i++)
        json_object_set_new(used, ddb_str(json_array_get(ks, i), "AttributeName"), json_true());
    ddb_indexes_key_names(in, used);
    size_t nused = json_object_size(used);
    json_decref(used);
    if (json_array_size(defs) != nused)
        return aws_fail(f, DDB_ERR_VALIDATION_EXC,
                        "One or more parameter values were invalid: Number of attributes in "
                        "KeySchema does not exactly match number of attributes defined in "
                        "AttributeDefinitions");
    return 0;
}

/* BillingMode and ProvisionedThroughput as AWS pairs them; fills the doc's. */
int ddb_check_billing(aws_failure *f, const json_t *in, json_t *doc)
{
    const char *mode = ddb_str(in, "BillingMode");
    json_t *pt = json_object_get(in, "ProvisionedThroughput");
    if (mode && strcmp(mode, "PROVISIONED") != 0 && strcmp(mode, "PAY_PER_REQUEST") != 0)
        return aws_fail(f, DDB_ERR_VALIDATION_EXC,
                        "1 validation error detected: Value '%s' at 'billingMode' failed to "
                        "satisfy constraint: Member must satisfy enum value set: [PROVISIONED, "
                        "PAY_PER_REQUEST]",
                        mode);
    if (mode && strcmp(mode, "PAY_PER_REQUEST") == 0) {
        if (pt)
            return aws_fail(f, DDB_ERR_VALIDATION_EXC,
                            "One or more parameter values were invalid: Neither "
                            "ReadCapacityUnits nor WriteCapacityUnits can be specified when "
                            "BillingMode is PAY_PER_REQUEST");
        json_object_set_new(doc, "BillingMode", json_string("PAY_PER_REQUEST"));
        json_object_set_new(
            doc, "ProvisionedThroughput",
            json_pack("{s:i, s:i}", "ReadCapacityUnits", 0, "WriteCapacityUnits", 0));
        return 0;
    }
    json_int_t r = json_integer_value(json_object_get(pt, "ReadCapacityUnits"));
    json_int_t w = json_integer_value(json_object_get(pt, "WriteCapacityUnits"));
    if (!pt || r < 1 || w < 1)
        return aws_fail(f, DDB_ERR_VALIDATION_EXC,
                        "One or more parameter values were invalid: ReadCapacityUnits and "
                        "WriteCapacityUnits must both be specified when BillingMode is "
                        "PROVISIONED");
    json_object_set_new(doc, "BillingMode", json_string("PROVISIONED"));
    json_object_set_new(doc, "ProvisionedThroughput",
                        json_pack("{s:I, s:I}", "ReadCapacityUnits", r, "WriteCapacityUnits", w));
    return 0;
}

static int check_create(aws_failure *f, const json_t *in, json_t *doc, int64_t first_index_id)
{
    if (check_table_name(f, ddb_str(in, "TableName")))
        return -1;
    json_t *defs = json_object_get(in, "AttributeDefinitions"),
           *ks = json_object_get(in, "KeySchema");
    if (ddb_check_attribute_definitions(f, defs) || check_key_schema(f, in, ks, defs) ||
        ddb_check_billing(f, in, doc) || ddb_indexes_check_create(f, in, doc, &first_index_id))
        return -1;
    json_t *stream = json_object_get(in, "StreamSpecification");
    if (json_is_true(json_object_get(stream, "StreamEnabled")) &&
        !ddb_str(stream, "StreamViewType"))
        return aws_fail(f, DDB_ERR_VALIDATION_EXC,
                        "One or more parameter values were invalid: StreamViewType is required "
                        "when StreamEnabled is true");
    const char *view = ddb_str(stream, "StreamViewType");
    if (json_is_true(json_object_get(stream, "StreamEnabled")) && strcmp(view, "KEYS_ONLY") &&
        strcmp(view, "NEW_IMAGE") && strcmp(view, "OLD_IMAGE") &&
        strcmp(view, "NEW_AND_OLD_IMAGES"))
        return aws_fail(f, DDB_ERR_VALIDATION_EXC,
                        "1 validation error detected: Value '%s' at "
                        "'streamSpecification.streamViewType' failed to satisfy constraint: "
                        "Member must satisfy enum value set: [NEW_IMAGE, OLD_IMAGE, "
                        "NEW_AND_OLD_IMAGES, KEYS_ONLY]",
                        view);
    json_t *tags = json_object_get(in, "Tags");
    if (tags && !json_is_array(tags))
        return aws_fail(f, DDB_ERR_VALIDATION_EXC, "Tags must be a list");
    json_object_set(doc, "AttributeDefinitions", defs);
    json_object_set(doc, "KeySchema", ks);
    if (stream)
        json_object_set(doc, "StreamSpecification", stream);
    json_object_set_new(doc, "Tags", tags ? json_deep_copy(tags) : json_array());
    return 0;
}

typedef struct table_commit {
    store_op group, doc_op;
    store_op drops_group;
    store_op *drops;
    store_op **drop_children;
    store_op *children[2];
    store_doc docs[2]; /* the table's; its stream's */
    size_t ndocs;
    aws_call *call;
    ddb_table *table;
    json_t *reply;
} table_commit;

static void table_commit_done(store_op *op)
{
    table_commit *c = op->ctx;
    if (op->status != 0) {
        /* A table whose creation did not commit does not exist. (A deletion that did not
         * commit leaves the table out of the registry until the next start.) */
        if (op->kind == STORE_DOC_PUT)
            ddb_table_remove(ddb_of(c->call), c->table);
        aws_reply_error(c->call, AWS_ERR_DDB_INTERNAL_SERVER_ERROR,
                        "The store could not commit the change.");
        json_decref(c->reply);
    } else {
        aws_reply(c->call, c->reply);
    }
    for (size_t i = 0; i < c->ndocs; i++)
        xfree((char *)c->docs[i].doc);
    xfree(c->drops);
    xfree(c->drop_children);
    xfree(c);
}

void ddb_create_table(aws_call *call)
{
    dynamodb *d = ddb_of(call);
    aws_failure f;
    json_t *doc = json_object();
    if (check_create(&f, call->input, doc, d->next_id + 1)) {
        json_decref(doc);
        aws_reply_error(call, f.code, "%s", f.msg);
        return;
    }
    const char *name = ddb_str(call->input, "TableName");
    if (ddb_table_find(d, name)) {
        json_decref(doc);
        aws_reply_error(call, AWS_ERR_DDB_RESOURCE_IN_USE, "Table already exists: %s", name);
        return;
    }
    char uuid[37];
    ids_uuid4(uuid);
    json_object_set_new(doc, "TableId", json_string(uuid));
    json_object_set_new(doc, "Id", json_integer(d->next_id));
    double now = (double)clock_now_ms() / 1000.0;
    json_object_set_new(doc, "CreationDateTime", json_real(now));
    char label[64];
    snprintf(label, sizeof label, "%.3f", now);
    json_object_set_new(doc, "StreamLabel", json_string(label));
    ddb_table *t = ddb_table_from_doc(name, doc);
    ddb_table_insert(d, t);
    table_commit *c = xcalloc(1, sizeof *c);
    json_t *spec = json_object_get(doc, "StreamSpecification");
    if (json_is_true(json_object_get(spec, "StreamEnabled"))) {
        /* after the insert: the stream's number follows the table's and its indexes' */
        char *view = xstrdup(ddb_str(spec, "StreamViewType"));
        c->docs[1] = ddb_stream_store_doc(ddb_stream_enable(d, name, doc, view));
        c->ndocs = 1;
        xfree(view);
        ddb_table_parse_stream(t);
    }
    c->call = call;
    c->table = t;
    c->reply = json_pack("{s:o}", "TableDescription", describe(d, t, "ACTIVE", NULL, NULL));
    c->docs[0] = (store_doc){DDB_DOC_NS, t->name, json_dumps(doc, JSON_COMPACT)};
    c->ndocs++;
    c->group.kind = STORE_DOC_PUT;
    c->group.now_ms = clock_now_ms();
    c->group.u.docs.docs = c->docs;
    c->group.u.docs.n = c->ndocs;
    c->group.done = table_commit_done;
    c->group.ctx = c;
    store_submit(d->store, &c->group);
}

/* ---- DescribeTable ------------------------------------------------------------------ */

/* The statistics of the table and of each index: one STATS op each, in one group. */
typedef struct stats_read {
    store_op group;
    store_op *ops;
    store_op **children;
    size_t n;
    aws_call *call;
    ddb_table *table;
} stats_read;

static void describe_done(store_op *op)
{
    stats_read *r = op->ctx;
    if (op->status != 0) {
        aws_reply_error(r->call, AWS_ERR_DDB_INTERNAL_SERVER_ERROR, "The store could not read.");
    } else {
        int64_t *counts = xcalloc(r->n, sizeof *counts), *sizes = xcalloc(r->n, sizeof *sizes);
        for (size_t i = 0; i < r->n; i++) {
            counts[i] = r->ops[i].u.kv_table.items;
            sizes[i] = r->ops[i].u.kv_table.bytes;
        }
        aws_reply(r->call, json_pack("{s:o}", "Table",
                                     describe(ddb_of(r->call), r->table, "ACTIVE", counts, sizes)));
        xfree(counts);
        xfree(sizes);
    }
    xfree(r->ops);
    xfree(r->children);
    xfree(r);
}

/* A group of one op of `kind` per store table of t (the table's, then its indexes'). */
static void table_ops(store_op *group, store_op **ops, store_op ***children, const ddb_table *t,
                      store_op_kind kind)
{
    size_t n = 1 + t->nindexes;
    *ops = xcalloc(n, sizeof **ops);
    *children = xcalloc(n, sizeof **children);
    int64_t now = clock_now_ms();
    for (size_t i = 0; i < n; i++) {
        (*ops)[i].kind = kind;
        (*ops)[i].now_ms = now;
        (*ops)[i].u.kv_table.table = i == 0 ? t->id : t->indexes[i - 1].id;
        (*children)[i] = &(*ops)[i];
    }
    group->kind = STORE_GROUP;
    group->now_ms = now;
    group->u.group.ops = *children;
    group->u.group.n = n;
}

void ddb_describe_table(aws_call *call)
{
    const char *name = ddb_str(call->input, "TableName");
    ddb_table *t = name ? ddb_table_find(ddb_of(call), name) : NULL;
    if (!t) {
        aws_reply_error(call, DDB_ERR_NOT_FOUND,
                        "Requested resource not found: Table: %s not found", name ? name : "null");
        return;
    }
    stats_read *r = xcalloc(1, sizeof *r);
    r->call = call;
    r->table = t;
    r->n = 1 + t->nindexes;
    table_ops(&r->group, &r->ops, &r->children, t, STORE_KV_STATS);
    r->group.done = describe_done;
    r->group.ctx = r;
    store_submit(ddb_of(call)->store, &r->group);
}

/* ---- ListTables --------------------------------------------------------------------- */

void ddb_list_tables(aws_call *call)
{
    dynamodb *d = ddb_of(call);
    json_t *lim = json_object_get(call->input, "Limit");
    json_int_t limit = lim ? json_integer_value(lim) : 100;
    if (limit < 1 || limit > 100) {
        ddb_validation(call,
                       "1 validation error detected: Value '%lld' at 'limit' failed to satisfy "
                       "constraint: Member must have value %s",
                       (long long)limit,
                       limit < 1 ? "greater than or equal to 1" : "less than or equal to 100");
        return;
    }
    const char *start = ddb_str(call->input, "ExclusiveStartTableName");
    json_t *names = json_array();
    size_t i = 0;
    while (i < d->ntables && start && strcmp(d->tables[i]->name, start) <= 0)
        i++;
    for (; i < d->ntables && (json_int_t)json_array_size(names) < limit; i++)
        json_array_append_new(names, json_string(d->tables[i]->name));
    json_t *out = json_pack("{s:o}", "TableNames", names);
    if (i < d->ntables && json_array_size(names) > 0)
        json_object_set(out, "LastEvaluatedTableName",
                        json_array_get(names, json_array_size(names) - 1));
    aws_reply(call, out);
}

/* ---- DeleteTable -------------------------------------------------------------------- */

void ddb_delete_table(aws_call *call)
{
    dynamodb *d = ddb_of(call);
    const char *name = ddb_str(call->input, "TableName");
    ddb_table *t = name ? ddb_table_find(d, name) : NULL;
    if (!t) {
        aws_reply_error(call, DDB_ERR_NOT_FOUND,
                        "Requested resource not found: Table: %s not found", name ? name : "null");
        return;
    }
    ddb_table_remove(d, t);
    table_commit *c = xcalloc(1, sizeof *c);
    c->call = call;
    c->table = t;
    /* The item count is not read back: the description says what is being deleted. */
    c->reply = json_pack("{s:o}", "TableDescription", describe(d, t, "DELETING", NULL, NULL));
    c->docs[0] = (store_doc){DDB_DOC_NS, t->name, NULL};
    c->ndocs = 1;
    if (t->stream_id) { /* the stream is disabled, its records readable until trimmed */
        json_t *copy = json_deep_copy(t->doc);
        const json_t *sd = ddb_stream_disable(d, copy);
        if (sd)
            c->docs[c->ndocs++] = ddb_stream_store_doc(sd);
        json_decref(copy);
    }
    c->doc_op.kind = STORE_DOC_PUT;
    c->doc_op.u.docs.docs = c->docs;
    c->doc_op.u.docs.n = c->ndocs;
    table_ops(&c->drops_group, &c->drops, &c->drop_children, t, STORE_KV_DROP);
    c->children[0] = &c->doc_op;
    c->children[1] = &c->drops_group;
    c->group.kind = STORE_GROUP;
    c->group.now_ms = c->doc_op.now_ms = clock_now_ms();
    c->group.u.group.ops = c->children;
    c->group.u.group.n = 2;
    c->group.done = table_commit_done;
    c->group.ctx = c;
    store_submit(d->store, &c->group);
}

/* ---- tags --------------------------------------------------------------------------- */

/* The table an ARN names, or NULL after replying the error. */
static ddb_table *table_of_arn(aws_call *call)
{
    dynamodb *d = ddb_of(call);
    const char *arn = ddb_str(call->input, "ResourceArn");
    if (!arn) {
        ddb_validation(call, "1 validation error detected: Value null at 'resourceArn' failed "
                             "to satisfy constraint: Member must not be null");
        return NULL;
    }
    const char *slash = strstr(arn, ":table/");
    ddb_table *t = slash ? ddb_table_find(d, slash + 7) : NULL;
    if (t) {
        char *want = ddb_table_arn(d, t->name);
        int same = strcmp(want, arn) == 0;
        xfree(want);
        if (same)
            return t;
    }
    if (strncmp(arn, "arn:", 4) != 0)
        ddb_validation(call, "Invalid TableArn: Invalid ResourceArn provided as input %s", arn);
    else
        aws_reply_error(call, DDB_ERR_NOT_FOUND,
                        "Requested resource not found: ResourcArn: %s "
                        "not found",
                        arn);
    return NULL;
}

static void persist_table(aws_call *call, ddb_table *t, json_t *reply)
{
    service_persist_doc(ddb_of(call)->store, call, reply, AWS_ERR_DDB_INTERNAL_SERVER_ERROR,
                        DDB_DOC_NS, t->name, t->doc);
}

static void remove_tag(json_t *tags, const char *key)
{
    for (size_t i = 0; i < json_array_size(tags); i++)
        if (strcmp(ddb_str(json_array_get(tags, i), "Key") ?: "", key) == 0) {
            json_array_remove(tags, i);
            return;
        }
}

void ddb_tag_resource(aws_call *call)
{
    ddb_table *t = table_of_arn(call);
    if (!t)
        return;
    json_t *in = json_object_get(call->input, "Tags");
    size_t i;
    json_t *tag;
    json_array_foreach(in, i, tag)
    {
        const char *k = ddb_str(tag, "Key"), *v = ddb_str(tag, "Value");
        if (!k || !v || strlen(k) == 0 || strlen(k) > 128 || strlen(v) > 256) {
            ddb_validation(call, "One or more parameter values were invalid: Tag key or value "
                                 "is invalid");
            return;
        }
    }
    json_t *tags = json_object_get(t->doc, "Tags");
    json_array_foreach(in, i, tag)
    {
        remove_tag(tags, ddb_str(tag, "Key"));
        json_array_append(tags, tag);
    }
    if (json_array_size(tags) > 50) {
        aws_reply_error(call, AWS_ERR_LIMIT_EXCEEDED_EXCEPTION,
                        "One or more parameter values were invalid: The number of tags exceeds "
                        "the limit of 50");
        return;
    }
    persist_table(call, t, NULL);
}

void ddb_untag_resource(aws_call *call)
{
    ddb_table *t = table_of_arn(call);
    if (!t)
        return;
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(call->input, "TagKeys"), i, k)
        remove_tag(json_object_get(t->doc, "Tags"), json_string_value(k) ?: "");
    persist_table(call, t, NULL);
}

void ddb_list_tags_of_resource(aws_call *call)
{
    ddb_table *t = table_of_arn(call);
    if (t)
        aws_reply(call, json_pack("{s:O}", "Tags", json_object_get(t->doc, "Tags")));
}

/* ---- time to live ------------------------------------------------------------------- */

void ddb_describe_time_to_live(aws_call *call)
{
    const char *name = ddb_str(call->input, "TableName");
    ddb_table *t = name ? ddb_table_find(ddb_of(call), name) : NULL;
    if (!t) {
        aws_reply_error(call, DDB_ERR_NOT_FOUND,
                        "Requested resource not found: Table: %s not found", name ? name : "null");
        return;
    }
    const char *attr = ddb_str(t->doc, "TimeToLiveAttribute");
    json_t *desc =
        attr ? json_pack("{s:s, s:s}", "TimeToLiveStatus", "ENABLED", "AttributeName", attr)
             : json_pack("{s:s}", "TimeToLiveStatus", "DISABLED");
    aws_reply(call, json_pack("{s:o}", "TimeToLiveDescription", desc));
}

void ddb_update_time_to_live(aws_call *call)
{
    ddb_table *t = ddb_table_of(call, call->input);
    if (!t)
        return;
    json_t *spec = json_object_get(call->input, "TimeToLiveSpecification");
    const char *attr = ddb_str(spec, "AttributeName");
    json_t *enabled = json_object_get(spec, "Enabled");
    if (!json_is_boolean(enabled) || !attr || !*attr) {
        ddb_validation(call, "1 validation error detected: Value null at "
                             "'timeToLiveSpecification' failed to satisfy constraint: Member "
                             "must not be null");
        return;
    }
    const char *current = ddb_str(t->doc, "TimeToLiveAttribute");
    if (json_is_true(enabled) && current) {
        ddb_validation(call, "TimeToLive is already enabled");
        return;
    }
    if (!json_is_true(enabled) && !current) {
        ddb_validation(call, "TimeToLive is already disabled");
        return;
    }
    if (json_is_true(enabled))
        json_object_set_new(t->doc, "TimeToLiveAttribute", json_string(attr));
    else
        json_object_del(t->doc, "TimeToLiveAttribute");
    persist_table(call, t, json_pack("{s:O}", "TimeToLiveSpecification", spec));
}

/* ---- account ------------------------------------------------------------------------ */

void ddb_describe_endpoints(aws_call *call)
{
    dynamodb *d = ddb_of(call);
    char addr[300];
    if (call->host[0])
        snprintf(addr, sizeof addr, "%s", call->host);
    else
        snprintf(addr, sizeof addr, "dynamodb.%s.amazonaws.com", d->region);
    aws_reply(call, json_pack("{s:[{s:s, s:i}]}", "Endpoints", "Address", addr,
                              "CachePeriodInMinutes", 1440));
}

void ddb_describe_limits(aws_call *call)
{
    aws_reply(call, json_pack("{s:i, s:i, s:i, s:i}", "AccountMaxReadCapacityUnits", 80000,
                              "AccountMaxWriteCapacityUnits", 80000, "TableMaxReadCapacityUnits",
                              40000, "TableMaxWriteCapacityUnits", 40000));
}
