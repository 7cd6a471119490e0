/* The storage seam: semantic operations of the services, executed by a backend (sqlite
 * today, postgres later) on the commit thread. No code outside src/store/ knows which
 * backend is in use.
 *
 * The engine (the libuv loop thread) fills a store_op and hands it to store_submit(); it
 * never waits. The commit thread takes every op that is ready, runs them in order in ONE
 * transaction, syncs once (group commit), then hands them back to the loop, where each op's
 * `done` callback runs (on the loop thread) with its results filled in. A reply that depends
 * on a mutation is therefore sent only after the mutation is durable.
 *
 * Ownership: the op and its inputs belong to the submitter; results allocated by the
 * backend (messages, lists) are freed by store_op_clear(). */
#ifndef SLUICE_STORE_STORE_H
#define SLUICE_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct store store;

typedef enum { STORE_DURABILITY_FULL, STORE_DURABILITY_NORMAL } store_durability;

typedef struct store_config {
    const char *data_dir;
    store_durability durability;
} store_config;

/* ---- SQS records -------------------------------------------------------------------- */

/* A queue as stored: its attributes and tags are JSON objects in text form. */
typedef struct store_queue {
    int64_t id;
    char *name;
    char *attrs_json; /* {"VisibilityTimeout":"30",...}: every value a string, as AWS has it */
    char *tags_json;  /* {"k":"v"} */
    int64_t created_ms;
    int64_t modified_ms;
} store_queue;

/* A body several messages share (SEND inputs): stored once, in the first SEND that uses
 * it; the store counts its messages and drops it with the last. */
typedef struct store_payload {
    const char *body; /* borrowed until the ops using it complete */
    size_t len;
    int64_t id; /* the store's key, 0 until stored (set by the backend) */
} store_payload;

typedef struct store_message {
    int64_t seq;           /* the store's key, assigned by STORE_SQS_SEND */
    store_payload *shared; /* SEND: the body is this shared one (body is then NULL) */
    int64_t queue_id;
    char message_id[40];
    char *body;
    size_t body_len;
    char *attrs_json;     /* MessageAttributes as JSON, NULL if none */
    char *sys_attrs_json; /* MessageSystemAttributes (AWSTraceHeader), NULL if none */
    char md5_body[33];
    char md5_attrs[33]; /* "" if no attributes */
    char md5_sys_attrs[33];
    char *group_id; /* FIFO: MessageGroupId, else NULL */
    char *dedup_id; /* FIFO: MessageDeduplicationId (given or content hash), else NULL */
    char *sender_id;
    int64_t sequence_number; /* FIFO: SequenceNumber, else 0 */
    int64_t sent_ms;
    int64_t visible_ms;       /* the message is visible when now >= visible_ms */
    int64_t first_receive_ms; /* 0 until first received */
    int receive_count;
    int64_t receipt_token; /* changes at every receive: stale receipt handles are detectable */
    int64_t dlq_source_id; /* the queue it was dead-lettered from, 0 if none */
} store_message;

typedef struct store_move_task {
    char handle[512];
    int64_t source_id;
    int64_t dest_id; /* 0: back to each message's original source queue */
    char source_arn[300];
    char dest_arn[300];
    int rate;        /* messages per second, 0 = system-optimised */
    char status[16]; /* RUNNING, COMPLETED, CANCELLING, CANCELLED, FAILED */
    int64_t moved;
    int64_t to_move;
    int64_t started_ms;
    char failure[200];
} store_move_task;

/* ---- documents, deliveries, archives ------------------------------------------------ */

/* Control-plane objects (event buses, rules and their targets, archives, connections...)
 * are JSON documents keyed by (namespace, key): they change rarely, are loaded whole at
 * startup, and their shape belongs to the service that owns them. */
typedef struct store_doc {
    const char *ns;  /* "events.rule" */
    const char *key; /* unique within ns */
    const char *doc; /* JSON text; NULL in a DOC_PUT deletes the document */
} store_doc;

/* A pending delivery to a target that is not a queue (an HTTP endpoint, a function...):
 * durable from the transaction that produced it until delivered or dead-lettered. */
typedef struct store_delivery {
    int64_t id;        /* assigned by DELIVERY_PUT */
    char *kind;        /* the target type ("api-destination"), owned */
    char *target_json; /* what the type needs to deliver (ARNs, parameters), owned */
    char *payload;     /* the rendered input, owned */
    size_t payload_len;
    int attempts;       /* attempts made so far */
    int64_t due_ms;     /* next attempt */
    int64_t created_ms; /* for the maximum event age */
} store_delivery;

/* An event recorded by an archive. */
typedef struct store_archived {
    int64_t seq; /* assigned by ARCHIVE_APPEND */
    char *archive;
    int64_t time_ms; /* the event's ingestion time */
    char *event;     /* the event's JSON text, owned */
    size_t len;
} store_archived;

/* ---- key-value items (DynamoDB tables) ---------------------------------------------
 * An item is an opaque text (the service's JSON) stored under (table, partition key, sort
 * key): byte strings whose memcmp order is the service's key order (a table without a sort
 * key uses an empty sort key). The store also keeps, per table, the item count and the sum
 * of the items' sizes (a size the service computes), in the same transaction as the items. */
typedef struct store_kv_key {
    int64_t table;
    const unsigned char *pk; /* borrowed until the op completes */
    size_t pk_len;
    const unsigned char *sk; /* NULL/0: the empty sort key */
    size_t sk_len;
} store_kv_key;

/* An item read back (owned by the op's results; freed by store_op_clear). */
typedef struct store_kv_item {
    char *item; /* NUL-terminated text; NULL: no such item (KV_GET) */
    size_t len;
    int64_t size;
} store_kv_item;

/* A row written beside the item, in the same transaction (a secondary index's entry). The
 * key's bytes and the item are malloc'd (xmalloc) by the callback and freed by the store. */
typedef struct store_kv_side {
    store_kv_key key;
    char *item; /* NULL: delete the row (if it exists) */
    size_t len;
    int64_t size;
} store_kv_side;

/* What a KV_MUTATE callback decided. SIDES: the item stays as it is, only the side rows are
 * written (an index being backfilled). */
enum { STORE_KV_KEEP = 0, STORE_KV_PUT = 1, STORE_KV_DELETE = 2, STORE_KV_SIDES = 3 };
typedef struct store_kv_write {
    char *item; /* PUT: the new text, malloc'd (xmalloc); the store frees it */
    size_t len;
    int64_t size;         /* PUT: the size counted in the table's statistics */
    store_kv_side *sides; /* PUT/DELETE/SIDES: rows of other tables to write too (xmalloc'd) */
    size_t nsides;
    /* PUT/DELETE: a change record appended to stream `stream` (> 0) in the same transaction,
     * numbered with the stream's next sequence number (record malloc'd, freed by the store;
     * not appended when a DELETE finds no item). */
    int64_t stream;
    char *record;
    size_t record_len;
} store_kv_write;

/* A stream record read back (owned by the op's results). */
typedef struct store_kv_record {
    int64_t seq;
    int64_t created_ms; /* the engine's clock when the change was submitted */
    char *record;       /* NUL-terminated */
    size_t len;
} store_kv_record;
/* Runs on the commit thread, inside the batch's transaction, between the read of the
 * current item (old: its text, NUL-terminated, or NULL if there is none) and the write: it
 * must be pure (no loop state, no I/O). Returns STORE_KV_KEEP, STORE_KV_PUT (out filled) or
 * STORE_KV_DELETE, or a negative code that becomes the op's status (nothing written; in a
 * GROUP the whole group is undone). */
typedef int (*store_kv_mutate_fn)(void *arg, const char *old, size_t old_len, store_kv_write *out);

/* ---- log groups, streams and events (CloudWatch Logs) --------------------------------
 * A group (a unique name) has a retention in days (0: its events never expire) and counts
 * the bytes of its events' messages; a stream (a name unique in its group) keeps its
 * creation time, its first and last event timestamps and its last ingestion time (0 until
 * it has an event). An event is (stream, timestamp, seq, ingestion time, message): seq
 * numbers the events in the order they were stored and is never reused. Events are read in
 * (timestamp, seq) order, one stream's or a whole group's interleaved; a store_log_pos is a
 * place in that order. Nothing of this is kept in memory: every read is an op. */
typedef struct store_log_pos {
    int64_t ts_ms;
    int64_t seq;
} store_log_pos;

typedef struct store_log_event {
    int64_t ts_ms;
    int64_t seq;       /* reads: the event's id */
    int64_t ingest_ms; /* reads */
    char *message;     /* PUT: borrowed until the op completes; reads: owned, NUL-terminated */
    size_t len;
    char *stream; /* reads of a whole group: the event's stream (owned) */
} store_log_event;

/* A group or a stream as listed (owned by the op's results). */
typedef struct store_log_item {
    char *name;
    int64_t created_ms;
    int retention_days;                   /* groups */
    int64_t bytes;                        /* groups */
    int64_t first_ms, last_ms, ingest_ms; /* streams; 0: no event yet */
} store_log_item;

/* What a LOGS_* op found (its `outcome`; status stays for I/O failures). */
enum { STORE_LOGS_OK = 0, STORE_LOGS_NO_GROUP, STORE_LOGS_NO_STREAM, STORE_LOGS_EXISTS };
/* What a LOGS_CHANGE does. */
enum {
    STORE_LOGS_CREATE_GROUP,
    STORE_LOGS_DELETE_GROUP, /* its streams and events too */
    STORE_LOGS_CREATE_STREAM,
    STORE_LOGS_DELETE_STREAM, /* its events too */
    STORE_LOGS_SET_RETENTION,
};
/* A LOGS_READ filter: runs on the commit thread for every event read, so it must be pure;
 * stream is the event's stream. Nonzero keeps the event. */
typedef int (*store_log_keep_fn)(void *arg, const char *stream, const char *msg, size_t len);

/* ---- operations --------------------------------------------------------------------- */

typedef enum {
    STORE_SQS_QUEUE_PUT,    /* insert or replace a queue row (create, attributes, tags) */
    STORE_SQS_QUEUE_DELETE, /* delete the queue and all its messages */
    STORE_SQS_SEND,         /* insert messages (FIFO dedup applied) */
    STORE_SQS_RECEIVE,      /* claim up to max visible messages, redrive to a DLQ */
    STORE_SQS_DELETE,       /* delete messages by (seq, queue) */
    STORE_SQS_CHANGE_VISIBILITY,
    STORE_SQS_PURGE,         /* delete messages sent up to a time */
    STORE_SQS_COUNTS,        /* visible / in flight / delayed counts */
    STORE_SQS_EXPIRE,        /* delete messages past retention, and old dedup entries */
    STORE_SQS_MOVE,          /* move up to N messages of a move task; updates the task */
    STORE_SQS_MOVE_TASK_PUT, /* insert or update a move task */
    STORE_SQS_COUNT_SOURCE,  /* count messages in a queue (move task's to_move) */
    STORE_SQS_QUEUE_GET,     /* read a queue row back (resync after a failed commit) */
    STORE_SQS_RECLAIM,       /* FIFO receive retry: the same messages again, if unchanged */
    STORE_GROUP,             /* child ops that commit together or not at all */
    STORE_DOC_PUT,           /* insert, replace or delete documents */
    STORE_DELIVERY_PUT,      /* insert pending deliveries */
    STORE_DELIVERY_CLAIM,    /* take due deliveries, leasing them until an update */
    STORE_DELIVERY_UPDATE,   /* a delivery's outcome: delete it, or reschedule it */
    STORE_DELIVERY_RELEASE,  /* at startup: every lease's holder is gone, all are due now */
    STORE_ARCHIVE_APPEND,    /* record events in archives */
    STORE_ARCHIVE_READ,      /* read an archive's events of a time window, in order */
    STORE_ARCHIVE_TRIM,      /* delete an archive's events before a time (all: INT64_MAX) */
    STORE_ARCHIVE_STATS,     /* an archive's event count and size */
    STORE_KV_MUTATE,         /* read an item, let a callback decide, write: one transaction */
    STORE_KV_GET,            /* read items by key */
    STORE_KV_RANGE,          /* read a partition's sort key range in order, or scan a table */
    STORE_KV_DROP,           /* delete a table's items and statistics */
    STORE_KV_STATS,          /* a table's item count and total size */
    STORE_KV_STREAM_READ,    /* a stream's records after a sequence number, and its bounds */
    STORE_KV_STREAM_TRIM,    /* delete stream records older than a time, a bounded number */
    STORE_LOGS_PUT,          /* append events to a log stream (creating it if asked) */
    STORE_LOGS_CHANGE,       /* create or delete a log group or stream, set a retention */
    STORE_LOGS_LIST,         /* a page of log groups, or of a group's streams */
    STORE_LOGS_READ,         /* a page of a stream's or a group's events, in order */
    STORE_LOGS_EXPIRE,       /* delete events past their group's retention, a bounded number */
} store_op_kind;

typedef struct store_op store_op;
typedef void (*store_done_fn)(store_op *op);

/* One entry of a send, delete or change-visibility batch. */
typedef struct store_sqs_entry {
    store_message msg;  /* SEND: input (seq, sequence_number, message_id outputs) */
    int64_t seq;        /* DELETE / CHANGE_VISIBILITY: which message */
    int64_t token;      /* CHANGE_VISIBILITY: the receipt token it must still have */
    int64_t visible_ms; /* CHANGE_VISIBILITY: new deadline */
    int duplicate; /* SEND output: deduplicated (message_id/sequence_number are the original's) */
    int found;     /* DELETE / CHANGE_VISIBILITY output */
} store_sqs_entry;

struct store_op {
    store_op_kind kind;
    int status; /* result: 0, or a negative code (-EIO: the commit failed) */
    store_done_fn done;
    void *ctx;
    store_op *next; /* the queue to the commit thread (internal) */
    int64_t now_ms; /* the engine's clock at submit: all time decisions use it */

    union {
        store_queue queue; /* QUEUE_PUT (in) */
        struct {
            int64_t queue_id;
        } queue_delete;
        struct { /* SEND, DELETE, CHANGE_VISIBILITY */
            int64_t queue_id;
            int fifo;
            int dedup_per_group; /* FIFO dedup scope messageGroup */
            int64_t dedup_window_ms;
            store_sqs_entry *entries;
            size_t n;
        } batch;
        struct {
            int64_t queue_id;
            int fifo;
            int max;
            int64_t visibility_ms; /* new deadline = now + this */
            int64_t retention_ms;
            int max_receive_count; /* 0: no redrive */
            int64_t dlq_id;
            /* out */
            store_message *msgs;
            size_t nmsgs;
            int64_t next_visible_ms; /* earliest future visibility in the queue, 0 if none */
            size_t moved_to_dlq;
            /* RECLAIM (in): the messages and receipt tokens an earlier receive returned;
             * (out) reclaimed: all were still as that receive left them, and are returned
             * again in msgs with the same tokens and a new deadline. */
            int64_t reclaim_seqs[10];
            int64_t reclaim_tokens[10];
            size_t nreclaim;
            int reclaimed;
        } receive;
        struct {
            int64_t queue_id;
            int64_t before_ms;
        } purge;
        struct {
            int64_t queue_id;
            int64_t retention_ms;
            /* out */
            int64_t visible, in_flight, delayed;
        } counts;
        struct {
            int64_t dedup_before_ms;
            int64_t attempts_before_ms;
            /* queue retention is per queue: arrays of (id, retention) */
            int64_t *queue_ids;
            int64_t *retention_ms;
            size_t n;
            int64_t deleted; /* out */
        } expire;
        struct {
            store_move_task task; /* in/out: moved, status updated */
            int max;              /* at most this many now */
            int64_t moved;        /* out: moved by this step */
            int64_t *dest_ids;    /* out: queues that received messages (to wake) */
            size_t ndest;
        } move;
        store_move_task move_task;
        struct {
            int64_t queue_id;
            int64_t count; /* out */
        } count_source;
        struct {
            int64_t queue_id;
            int found;       /* out */
            store_queue row; /* out: attrs_json, tags_json, modified_ms (freed by clear) */
        } queue_get;
        /* GROUP: the children run in order inside a savepoint; if one fails, none of them
         * took effect and all carry the failure. The children's done callbacks are not
         * called: the group's is (children belong to the group's submitter). */
        struct {
            store_op **ops;
            size_t n;
        } group;
        struct {
            store_doc *docs;
            size_t n;
        } docs;
        struct {
            store_delivery *items; /* PUT: in (id out); CLAIM: out (freed by clear) */
            size_t n;
            int max;             /* CLAIM: at most this many */
            int64_t lease_ms;    /* CLAIM: claimed ones are due again after this */
            const char *kind;    /* CLAIM: only deliveries of this kind */
            int64_t next_due_ms; /* CLAIM out: earliest due time left, 0 if none */
        } deliveries;
        struct {
            int64_t id;
            int64_t due_ms; /* 0: delivered or given up, delete it */
            int attempts;
        } delivery_update;
        struct {
            store_archived *items;
            size_t n;
        } archive_append;
        struct {
            const char *archive;
            int64_t from_ms, to_ms; /* READ: [from, to); TRIM: to_ms only */
            int64_t after_seq;      /* READ: resume after this event */
            int max;
            store_archived *items; /* READ out (freed by clear) */
            size_t n;
            int64_t count, bytes; /* STATS out */
        } archive;
        struct {
            store_kv_key key;
            store_kv_mutate_fn fn;
            void *arg;
        } kv_mutate;
        struct {
            store_kv_key *keys;
            size_t n;
            store_kv_item *items; /* out: n of them, in the order of keys */
        } kv_get;
        /* RANGE: a Query when pk is set (sort keys in [lo, hi), in order or reversed), a Scan
         * otherwise (segment `segment` of `total_segments`, in the store's hash order).
         * Reading resumes after the item with key (start_pk, start_sk) when start_pk is set;
         * it stops after max_items items or once max_bytes of item sizes were read. */
        struct {
            int64_t table;
            const unsigned char *pk, *lo, *hi; /* lo/hi NULL: unbounded */
            size_t pk_len, lo_len, hi_len;
            int forward;
            int segment, total_segments; /* Scan; total 0 or 1: the whole table */
            const unsigned char *start_pk, *start_sk;
            size_t start_pk_len, start_sk_len;
            int max_items;
            int64_t max_bytes;
            /* out */
            store_kv_item *items;
            size_t n;
            int more; /* items remain after the last one returned */
        } kv_range;
        struct {
            int64_t table;
            int64_t items, bytes; /* STATS out */
        } kv_table;
        /* STREAM_READ: up to max records with seq > after_seq, in order (max 0: only the
         * bounds); last_seq is the stream's latest sequence number, trimmed_seq the latest
         * trimmed (0 and 0 for a stream with no record yet). */
        struct {
            int64_t stream;
            int64_t after_seq;
            int max;
            store_kv_record *items; /* out (freed by clear) */
            size_t n;
            int64_t last_seq, trimmed_seq; /* out */
        } kv_stream;
        /* STREAM_TRIM: deletes up to max records (any stream) created before before_ms. */
        struct {
            int64_t before_ms;
            int max;
            int64_t deleted; /* out */
        } kv_trim;
        /* LOGS_PUT: events (in timestamp order) appended to group/stream (borrowed). With
         * create, a missing group (given retention_days) and stream are created; without, the
         * outcome says which is missing. expired (out): the leading events older than the
         * group's retention, not stored. */
        struct {
            const char *group, *stream;
            store_log_event *events;
            size_t n;
            int create;
            int retention_days;
            int outcome;    /* out */
            size_t expired; /* out */
        } logs_put;
        /* LOGS_CHANGE: action (STORE_LOGS_CREATE_GROUP...) on group or group/stream;
         * retention_days for CREATE_GROUP and SET_RETENTION (0: never expire). */
        struct {
            int action;
            const char *group, *stream;
            int retention_days;
            int outcome; /* out: NO_GROUP, NO_STREAM, EXISTS */
        } logs_change;
        /* LOGS_LIST: groups (group NULL) in name order, or the streams of group in name order
         * or by last event time (then name), ascending or not; names starting with prefix
         * (NULL: all); after the item (after_name, after_last_ms) when after_name is set. */
        struct {
            const char *group;
            const char *prefix;
            int by_last_event;
            int descending;
            const char *after_name;
            int64_t after_last_ms;
            int max;
            int outcome;           /* out: NO_GROUP */
            store_log_item *items; /* out (freed by clear) */
            size_t n;
            int more; /* out: items remain after the last one returned */
        } logs_list;
        /* LOGS_READ: events with timestamps in [from_ms, to_ms) of group/stream (stream
         * NULL: all the group's streams, interleaved), after pos, or (backward) the latest
         * ones before pos; returned in ascending order either way. It stops after max kept
         * events, max_bytes of kept messages, or max_scan examined ones (0: no such bound);
         * keep (NULL: keep all) decides which examined events are kept. */
        struct {
            const char *group, *stream;
            int64_t from_ms, to_ms;
            store_log_pos pos;
            int backward;
            int max;
            int64_t max_bytes;
            int max_scan;
            store_log_keep_fn keep;
            void *keep_arg;
            int outcome;            /* out: NO_GROUP, NO_STREAM */
            store_log_event *items; /* out (freed by clear) */
            size_t n;
            int more;           /* out: events remain past the last one examined */
            store_log_pos last; /* out: the last event examined (n > 0 or more) */
        } logs_read;
        /* LOGS_EXPIRE: deletes up to max events older than their group's retention (at
         * now_ms), and counts their bytes out of the groups. */
        struct {
            int max;
            int64_t deleted; /* out */
        } logs_expire;
    } u;
};

/* ---- lifecycle ---------------------------------------------------------------------- */

/* Opens (creating or migrating) the store in cfg->data_dir and starts its commit thread,
 * whose completions are delivered on `loop`. Returns 0, or -1 with a message in err. */
int store_open(store **out, const store_config *cfg, uv_loop_t *loop, char *err, size_t errlen);

/* Waits for every submitted op to complete (their callbacks run), stops the thread and closes
 * the database. Call on the loop thread, after the loop stopped submitting. Accepts NULL. */
void store_close(store *s);

/* Hands op to the commit thread (borrowed until its done callback has run). */
void store_submit(store *s, store_op *op);

/* Ops submitted and not yet completed. */
size_t store_pending(const store *s);

/* Totals since open: transactions committed and ops they carried (ops / batches is the
 * group-commit factor). */
typedef struct store_stats {
    uint64_t batches;
    uint64_t ops;
    uint64_t failed_batches;
    uint64_t syncs;     /* durability syncs (each covers one or more batches) */
    uint64_t commit_ns; /* time spent running batches (begin..commit) */
    uint64_t sync_ns;   /* time spent in syncs */
} store_stats;
void store_get_stats(const store *s, store_stats *out);

/* Frees what the backend allocated in op's results (messages, arrays). */
void store_op_clear(store_op *op);
void store_message_clear(store_message *m);
void store_delivery_clear(store_delivery *d);

/* ---- startup loading (synchronous, before the loop serves requests) ---------------- */

typedef void (*store_queue_fn)(const store_queue *q, void *arg);
typedef void (*store_doc_fn)(const char *key, const char *doc, void *arg);
/* Every document of namespace ns, in key order. */
int store_load_docs(store *s, const char *ns, store_doc_fn fn, void *arg);
typedef void (*store_move_task_fn)(const store_move_task *t, void *arg);
int store_load_sqs_queues(store *s, store_queue_fn fn, void *arg);
int store_load_sqs_move_tasks(store *s, store_move_task_fn fn, void *arg);
/* The install's random secret (32 bytes), created at first open: receipt-handle MACs. */
const unsigned char *store_secret(const store *s);

#endif
