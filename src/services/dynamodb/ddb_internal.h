/* DynamoDB service internals shared by src/services/dynamodb/ddb_{service,table,index,item,
 * read,batch,legacy}.c. The ddb_number/ddb_value/ddb_expr library is pure; this layer owns the
 * tables (in memory, persisted as documents "dynamodb.table") and turns requests into store ops. */
#ifndef SLUICE_DDB_INTERNAL_H
#define SLUICE_DDB_INTERNAL_H

#include "common/buf.h"
#include "protocol/aws.h"
#include "services/dynamodb/ddb_expr.h"
#include "services/dynamodb/ddb_value.h"
#include "services/dynamodb/dynamodb.h"
#include "store/store.h"

#include <jansson.h>
#include <stdint.h>

/* DynamoDB answers ValidationException and ResourceNotFoundException (400) with the same
 * shape, code and status as EventBridge: the rows are shared. */
#define DDB_ERR_VALIDATION_EXC AWS_ERR_EVENTS_VALIDATION
#define DDB_ERR_NOT_FOUND      AWS_ERR_EVENTS_RESOURCE_NOT_FOUND

#define DDB_DOC_NS          "dynamodb.table"
#define DDB_PAGE_BYTES      (1024 * 1024)      /* Query and Scan read at most 1 MB a page */
#define DDB_BATCH_GET_MAX   100                /* keys of one BatchGetItem */
#define DDB_BATCH_GET_SIZE  (16 * 1024 * 1024) /* bytes of one BatchGetItem's response */
#define DDB_BATCH_WRITE_MAX 25
#define DDB_TRANSACT_MAX    100

enum { DDB_PROJ_ALL, DDB_PROJ_KEYS_ONLY, DDB_PROJ_INCLUDE };

/* A secondary index: its entries are rows of their own store table (id), keyed by the
 * index's partition key and, as sort key, the index's sort key then the table's key, each
 * escaped (ddb_escape_append) so that the concatenation keeps the index's order. */
typedef struct ddb_index {
    char *name;
    int64_t id;
    int local;
    char *hash_key, *range_key; /* range_key NULL: partition key only */
    ddb_type hash_type, range_type;
    int projection;
    json_t *non_key; /* INCLUDE: the attribute names (borrowed from the table's doc) */
    int creating;    /* a GSI being backfilled (IndexStatus CREATING): not readable yet */
} ddb_index;

typedef struct ddb_table {
    ddb_index *indexes;
    size_t nindexes;
    char *name;
    int64_t id;                 /* the store's table number */
    char *hash_key, *range_key; /* range_key NULL: partition key only */
    ddb_type hash_type, range_type;
    json_t *doc; /* what is persisted: the description's fixed parts, Tags, TimeToLive */
    /* The enabled stream (doc's StreamId and StreamSpecification): 0 when none. */
    int64_t stream_id;
    int stream_view; /* DDB_VIEW_* */
} ddb_table;

enum { DDB_VIEW_KEYS_ONLY, DDB_VIEW_NEW_IMAGE, DDB_VIEW_OLD_IMAGE, DDB_VIEW_NEW_AND_OLD_IMAGES };

typedef struct ddb_backfill ddb_backfill;
typedef struct ddb_sweep ddb_sweep;

struct dynamodb {
    aws_service_def def;
    uv_loop_t *loop;
    store *store;
    const char *region, *account;
    ddb_table **tables; /* sorted by name */
    size_t ntables, cap;
    ddb_table **dropped; /* deleted tables: in-flight requests may still point to them */
    size_t ndropped;
    int64_t next_id;
    json_t *tokens;              /* TransactWriteItems ClientRequestToken -> {hash, at_ms, reply} */
    ddb_backfill *backfills;     /* indexes being created (ddb_update_table.c) */
    ddb_sweep *sweep;            /* TTL expiry and stream trimming (ddb_ttl.c) */
    json_t *streams;             /* stream ARN -> its document (ddb_stream.c) */
    aws_service_def streams_def; /* the DynamoDB Streams API */
    /* 15 minutes and 24 hours as AWS; SLUICE_DDB_ITERATOR_TTL_MS and
     * SLUICE_DDB_STREAM_RETENTION_MS override them (tests) */
    int64_t iterator_ttl_ms, stream_retention_ms;
    int stopping;
};

static inline dynamodb *ddb_of(const aws_call *call)
{
    return call->service->ctx;
}

/* ---- ddb_service.c: helpers --------------------------------------------------------- */
const char *ddb_str(const json_t *obj, const char *name);
void ddb_validation(aws_call *call, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An error with extra members in its JSON body (the Item of a failed condition, the
 * CancellationReasons of a transaction); extra taken. */
void ddb_reply_error_with(aws_call *call, aws_error err, const char *msg, json_t *extra);
ddb_table *ddb_table_find(dynamodb *d, const char *name);
/* The table named by obj's TableName, or NULL after replying the error. */
ddb_table *ddb_table_of(aws_call *call, const json_t *obj);
void ddb_table_insert(dynamodb *d, ddb_table *t);
void ddb_table_remove(dynamodb *d, ddb_table *t);
void ddb_table_free(ddb_table *t);
ddb_table *ddb_table_from_doc(const char *name, json_t *doc); /* doc taken */
void ddb_table_parse_stream(ddb_table *t);                /* stream_id, stream_view from t->doc */
char *ddb_table_arn(const dynamodb *d, const char *name); /* malloc'd */

/* Keys. The item's (or Key's) key attributes encoded for the store. Item form (PutItem):
 * AWS's "Missing the key" / "Type mismatch" messages; Key form (GetItem...): exactly the
 * key attributes, else "The provided key element does not match the schema". Returns 0 or
 * -1 with the message in err. */
int ddb_key_of_item(const ddb_table *t, const json_t *item, buf *pk, buf *sk, char *err,
                    size_t errlen);
int ddb_key_of_key(const ddb_table *t, const json_t *key, buf *pk, buf *sk, char *err,
                   size_t errlen);
/* The key attributes of item (a new object). */
json_t *ddb_key_project(const ddb_table *t, const json_t *item);

/* Expressions of a request object (ConditionExpression, ... ExpressionAttributeValues);
 * `allowed` says which of them the operation has. Returns 0 or -1 with the message. */
int ddb_compile(const json_t *req, unsigned allowed, ddb_exprs **out, char *err, size_t errlen);
#define DDB_ALLOW(kind) (1u << (kind))

/* ConsumedCapacity for ReturnConsumedCapacity (NULL for NONE or absent). */
json_t *ddb_capacity(const json_t *req, const char *table, double units);
double ddb_read_units(int64_t bytes, int consistent);
double ddb_write_units(int64_t bytes);

/* ---- ddb_item.c: one conditional write, run by the store's commit thread ------------- */
typedef enum { DDB_W_PUT, DDB_W_UPDATE, DDB_W_DELETE, DDB_W_CHECK } ddb_write_kind;
enum { DDB_FAIL_NONE, DDB_FAIL_CONDITION, DDB_FAIL_VALIDATION };

typedef struct ddb_write {
    store_op op;
    ddb_write_kind kind;
    ddb_table *table; /* borrowed: tables are freed only at shutdown (see dropped) */
    json_t *req;      /* the request object (ref) */
    json_t *item;     /* PUT: the item (ref) */
    json_t *key;      /* the key attributes (ref or new) */
    ddb_exprs *exprs;
    buf pk, sk;
    int64_t item_size;
    /* set on the commit thread */
    json_t *old, *new_item;
    int64_t old_size, new_size;
    int failure;
    int defer_failure; /* a transaction's: record the failure, let the others be evaluated */
    int duplicate_on_condition; /* a PartiQL INSERT's: a failed condition is DuplicateItem */
    char err[512];
} ddb_write;

/* Fills w from a request object of kind (PutItem, UpdateItem, DeleteItem's input, a
 * TransactWriteItems element, a BatchWriteItem request). Returns 0 or -1 with f set. */
int ddb_write_prepare(ddb_write *w, dynamodb *d, ddb_write_kind kind, json_t *req, aws_failure *f);
void ddb_write_clear(ddb_write *w);
/* The ReturnValues object for w (NULL when none is asked or there is nothing). */
json_t *ddb_write_return_values(const ddb_write *w, const char *rv);

/* Replies ConditionalCheckFailedException, with the old item if req asked for it. */
void ddb_reply_condition_failed(aws_call *call, const json_t *req, const json_t *old);
/* Rewrites a request's legacy AttributesToGet as a ProjectionExpression. 0 or -1 (err). */
int ddb_legacy_projection(json_t *req, char *err, size_t errlen);

/* ---- ddb_legacy.c: Expected, KeyConditions, QueryFilter, ScanFilter, ConditionalOperator
 * and AttributeUpdates rewritten in req as the expressions they mean. 0 or -1 (err). */
int ddb_legacy_rewrite(json_t *req, char *err, size_t errlen);

void ddb_put_item(aws_call *call);
void ddb_get_item(aws_call *call);
void ddb_update_item(aws_call *call);
void ddb_delete_item(aws_call *call);

/* ---- ddb_read.c --------------------------------------------------------------------- */
void ddb_query(aws_call *call);
void ddb_scan(aws_call *call);
/* A Query (query) or Scan of call->input whose page, before the reply, goes through shape
 * (may be NULL): ExecuteStatement's NextToken. */
typedef void (*ddb_page_fn)(json_t *page);
void ddb_range_read(aws_call *call, int query, ddb_page_fn shape);

/* ---- ddb_partiql_exec.c: ExecuteStatement, BatchExecuteStatement, ExecuteTransaction */
void ddb_execute_statement(aws_call *call);
void ddb_batch_execute_statement(aws_call *call);
void ddb_execute_transaction(aws_call *call);

/* ---- ddb_batch.c -------------------------------------------------------------------- */
void ddb_batch_get_item(aws_call *call);
void ddb_batch_write_item(aws_call *call);
void ddb_transact_write_items(aws_call *call);
/* TransactWriteItems of call->input; inserts (NULL, or a flag per item) marks the PartiQL
 * INSERTs, whose failed condition is reported as DuplicateItem. inserts is borrowed. */
void ddb_transact_write_run(aws_call *call, const unsigned char *inserts);
void ddb_transact_get_items(aws_call *call);

/* ---- ddb_index.c: secondary indexes ------------------------------------------------- */
/* Checks CreateTable's GlobalSecondaryIndexes/LocalSecondaryIndexes and copies them, with
 * store ids from *next_id, into doc. 0 or -1 with f. */
int ddb_indexes_check_create(aws_failure *f, const json_t *in, json_t *doc, int64_t *next_id);
/* The key attribute names the table's indexes add to its own (for the definitions count). */
void ddb_indexes_key_names(const json_t *in, json_t *names_set);
void ddb_indexes_parse(ddb_table *t);
void ddb_indexes_free(ddb_table *t);
ddb_index *ddb_index_find(const ddb_table *t, const char *name);
/* Refuses an item whose index key attributes have the wrong type or are empty. 0 or -1. */
int ddb_indexes_check_item(const ddb_table *t, const json_t *item, char *err, size_t errlen);
/* The index rows a write changes (old -> new_item, either NULL) as side rows of out. Pure
 * (runs on the commit thread). */
void ddb_indexes_sides(const ddb_table *t, const json_t *old, const json_t *new_item,
                       store_kv_write *out);
/* Appends p escaped (0x00 -> 0x00 0xFF) and terminated (0x00 0x01): order-preserving and
 * prefix-free, so escaped values concatenate in order. */
void ddb_escape_append(buf *out, const void *p, size_t n);
void ddb_escape_append_open(buf *out, const void *p, size_t n); /* without the terminator */
/* An index entry's sort key for item (index sort key then the table's key). 0 or -1. */
int ddb_index_entry_sk(const ddb_index *ix, const ddb_table *t, const json_t *item, buf *out);
/* The index's part of DescribeTable: "GlobalSecondaryIndexes"/"LocalSecondaryIndexes" set
 * in desc; counts[i] and sizes[i] per index. */
void ddb_indexes_describe(const dynamodb *d, const ddb_table *t, json_t *desc,
                          const int64_t *counts, const int64_t *sizes);

/* ---- ddb_update_table.c: UpdateTable, GSI backfill ----------------------------------- */
void ddb_update_table(aws_call *call);
/* Replaces t in the registry by a table made from doc (taken): writes already prepared keep
 * the old one (tables are immutable once shared with the commit thread). */
ddb_table *ddb_table_replace(dynamodb *d, ddb_table *t, json_t *doc);
/* Resumes the backfills a restart interrupted (indexes still CREATING). */
void ddb_backfills_resume(dynamodb *d);
void ddb_backfills_free(dynamodb *d);
/* BillingMode and ProvisionedThroughput of in checked and written into doc. 0 or -1 (f). */
int ddb_check_billing(aws_failure *f, const json_t *in, json_t *doc);
/* The attribute definitions check of CreateTable. */
int ddb_check_attribute_definitions(aws_failure *f, const json_t *defs);
/* One GlobalSecondaryIndexUpdates Create checked against `in` (AttributeDefinitions and the
 * table's KeySchema). 0 or -1 with f. */
int ddb_index_check_new(aws_failure *f, const json_t *ix, const json_t *in);
/* ix's index entry for item (if item belongs in the index) as a side row of out. */
void ddb_index_backfill_side(const ddb_index *ix, const ddb_table *t, const json_t *item,
                             store_kv_write *out);
/* A table's description (ddb_table.c), without counts. */
json_t *ddb_table_describe(const dynamodb *d, const ddb_table *t, const char *status);

/* ---- ddb_stream.c: stream records and the DynamoDB Streams API ----------------------- */
/* Sets out's stream record for a change of t's item (old -> new_item, either NULL), made by
 * the service itself (TTL) when `by_service`. Pure (commit thread). */
void ddb_stream_record(const ddb_table *t, const json_t *old, const json_t *new_item,
                       int by_service, store_kv_write *out);
/* Turns a stream on in the table document doc (a new stream: StreamId, StreamLabel,
 * StreamSpecification) and registers it. Returns the stream's document (borrowed from
 * d->streams) to persist with the table's. */
const json_t *ddb_stream_enable(dynamodb *d, const char *table, json_t *doc, const char *view);
/* Turns doc's stream off (its records stay readable for 24 hours). Returns the stream's
 * document to persist, or NULL if doc had no stream. */
const json_t *ddb_stream_disable(dynamodb *d, json_t *doc);
/* A store_doc for a stream document (text malloc'd: free doc.doc). */
store_doc ddb_stream_store_doc(const json_t *stream_doc);
int ddb_streams_load(dynamodb *d);
void ddb_streams_def_init(dynamodb *d);
/* A duration from the environment variable `name` (ms), or `fallback`. */
int64_t ddb_env_ms(const char *name, int64_t fallback);
#define DDB_STREAM_DOC_NS "dynamodb.stream"

/* ---- ddb_ttl.c: the background sweep ------------------------------------------------- */
void ddb_sweep_start(dynamodb *d);
void ddb_sweep_stop(dynamodb *d);
void ddb_sweep_free(dynamodb *d);

/* ---- ddb_table.c -------------------------------------------------------------------- */
void ddb_create_table(aws_call *call);
void ddb_describe_table(aws_call *call);
void ddb_list_tables(aws_call *call);
void ddb_delete_table(aws_call *call);
void ddb_tag_resource(aws_call *call);
void ddb_untag_resource(aws_call *call);
void ddb_list_tags_of_resource(aws_call *call);
void ddb_describe_endpoints(aws_call *call);
void ddb_describe_limits(aws_call *call);
void ddb_describe_time_to_live(aws_call *call);
void ddb_update_time_to_live(aws_call *call);

#endif
