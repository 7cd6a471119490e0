/* The SQLite backend's operations on documents, pending deliveries and archived events,
 * and groups (several ops that commit together or not at all).
 *
 * A group runs inside a SAVEPOINT: if a child fails, the savepoint is rolled back, so the
 * rest of the batch's transaction (other requests' ops) still commits while none of the
 * group's effects do. This is what makes a fan-out atomic: an event's queue messages,
 * pending deliveries and archive records are one group.
 *
 * Deliveries are leased, not removed, when claimed: a claim moves due_ms forward by the
 * lease, and the outcome (delete, or reschedule) is a later op. A crash between the two
 * leaves the delivery leased; the next start releases every lease (their holder is gone),
 * so it is due again at once: at-least-once. */
#include "common/alloc.h"
#include "common/log.h"
#include "store/sqlite/sqlite_internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum {
    AUX_DOC_PUT,
    AUX_DOC_DELETE,
    AUX_DELIVERY_PUT,
    AUX_DELIVERY_DUE,
    AUX_DELIVERY_LEASE,
    AUX_DELIVERY_NEXT,
    AUX_DELIVERY_DELETE,
    AUX_DELIVERY_RESCHEDULE,
    AUX_DELIVERY_RELEASE,
    AUX_ARCHIVE_PUT,
    AUX_ARCHIVE_READ,
    AUX_ARCHIVE_TRIM,
    AUX_ARCHIVE_STATS,
    AUX_SAVEPOINT,
    AUX_RELEASE,
    AUX_ROLLBACK_TO,
    AUX__COUNT
};

_Static_assert(AUX__COUNT <= SQ_AUX_KV_FIRST, "raise SQ_AUX_KV_FIRST (and SQ_MAX_AUX_STMTS)");

static const char *const aux_sql[AUX__COUNT] = {
    [AUX_DOC_PUT] = "INSERT OR REPLACE INTO docs(ns, key, doc) VALUES(?1, ?2, ?3)",
    [AUX_DOC_DELETE] = "DELETE FROM docs WHERE ns = ?1 AND key = ?2",
    [AUX_DELIVERY_PUT] = "INSERT INTO deliveries(kind, target, payload, attempts, due_ms, "
                         "created_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
    [AUX_DELIVERY_DUE] = "SELECT id, kind, target, payload, attempts, due_ms, created_ms "
                         "FROM deliveries WHERE due_ms <= ?1 AND kind = ?3 ORDER BY due_ms "
                         "LIMIT ?2",
    [AUX_DELIVERY_LEASE] = "UPDATE deliveries SET due_ms = ?2, leased = 1 WHERE id = ?1",
    [AUX_DELIVERY_NEXT] = "SELECT min(due_ms) FROM deliveries WHERE due_ms > ?1 AND kind = ?2",
    [AUX_DELIVERY_DELETE] = "DELETE FROM deliveries WHERE id = ?1",
    [AUX_DELIVERY_RESCHEDULE] =
        "UPDATE deliveries SET due_ms = ?2, attempts = ?3, leased = 0 WHERE id = ?1",
    [AUX_DELIVERY_RELEASE] = "UPDATE deliveries SET due_ms = ?1, leased = 0 WHERE leased = 1",
    [AUX_ARCHIVE_PUT] = "INSERT INTO archive_events(archive, time_ms, event) VALUES(?1, ?2, ?3)",
    [AUX_ARCHIVE_READ] = "SELECT seq, time_ms, event FROM archive_events WHERE archive = ?1 AND "
                         "time_ms >= ?2 AND time_ms < ?3 AND (time_ms > ?4 OR (time_ms = ?4 "
                         "AND seq > ?5)) ORDER BY time_ms, seq LIMIT ?6",
    [AUX_ARCHIVE_TRIM] = "DELETE FROM archive_events WHERE archive = ?1 AND time_ms < ?2",
    [AUX_ARCHIVE_STATS] = "SELECT count(*), coalesce(sum(length(event)), 0) FROM "
                          "archive_events WHERE archive = ?1",
    [AUX_SAVEPOINT] = "SAVEPOINT grp",
    [AUX_RELEASE] = "RELEASE grp",
    [AUX_ROLLBACK_TO] = "ROLLBACK TO grp",
};

static sqlite3_stmt *aux(sqlite_db *d, int which)
{
    return sq_aux(d, which, aux_sql[which]);
}

/* ---- documents ---------------------------------------------------------------------- */

static int doc_put(sqlite_db *d, const store_doc *doc)
{
    sqlite3_stmt *s = aux(d, doc->doc ? AUX_DOC_PUT : AUX_DOC_DELETE);
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, doc->ns);
    sq_bind_text(s, 2, doc->key);
    if (doc->doc)
        sq_bind_text(s, 3, doc->doc);
    return sq_step_done(d, s);
}

int sqlite_load_docs(void *p, const char *ns, store_doc_fn fn, void *arg)
{
    sqlite_db *d = p;
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(d->db, "SELECT key, doc FROM docs WHERE ns = ?1 ORDER BY key", -1, &s,
                           NULL))
        return -1;
    sqlite3_bind_text(s, 1, ns, -1, SQLITE_STATIC);
    while (sqlite3_step(s) == SQLITE_ROW)
        fn((const char *)sqlite3_column_text(s, 0), (const char *)sqlite3_column_text(s, 1), arg);
    sqlite3_finalize(s);
    return 0;
}

/* ---- deliveries --------------------------------------------------------------------- */

static int delivery_put(sqlite_db *d, store_op *op)
{
    for (size_t i = 0; i < op->u.deliveries.n; i++) {
        store_delivery *dl = &op->u.deliveries.items[i];
        sqlite3_stmt *s = aux(d, AUX_DELIVERY_PUT);
        if (!s)
            return -EIO;
        sq_bind_text(s, 1, dl->kind);
        sq_bind_text(s, 2, dl->target_json);
        sqlite3_bind_blob(s, 3, dl->payload ? dl->payload : "", (int)dl->payload_len,
                          SQLITE_STATIC);
        sqlite3_bind_int(s, 4, dl->attempts);
        sqlite3_bind_int64(s, 5, dl->due_ms);
        sqlite3_bind_int64(s, 6, dl->created_ms);
        if (sq_step_done(d, s))
            return -EIO;
        dl->id = sqlite3_last_insert_rowid(d->db);
    }
    return 0;
}

static int delivery_claim(sqlite_db *d, store_op *op)
{
    int max = op->u.deliveries.max > 0 ? op->u.deliveries.max : 1;
    op->u.deliveries.items = xcalloc((size_t)max, sizeof(store_delivery));
    op->u.deliveries.n = 0;
    sqlite3_stmt *s = aux(d, AUX_DELIVERY_DUE);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, op->now_ms);
    sqlite3_bind_int(s, 2, max);
    sq_bind_text(s, 3, op->u.deliveries.kind ? op->u.deliveries.kind : "");
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        store_delivery *dl = &op->u.deliveries.items[op->u.deliveries.n++];
        dl->id = sqlite3_column_int64(s, 0);
        dl->kind = sq_col_dup(s, 1);
        dl->target_json = sq_col_dup(s, 2);
        dl->payload_len = (size_t)sqlite3_column_bytes(s, 3);
        dl->payload = xmemdup(sqlite3_column_blob(s, 3) ? sqlite3_column_blob(s, 3) : "",
                              dl->payload_len + 1);
        dl->payload[dl->payload_len] = '\0';
        dl->attempts = sqlite3_column_int(s, 4);
        dl->due_ms = sqlite3_column_int64(s, 5);
        dl->created_ms = sqlite3_column_int64(s, 6);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return -EIO;
    int64_t lease_until = op->now_ms + op->u.deliveries.lease_ms;
    for (size_t i = 0; i < op->u.deliveries.n; i++) {
        s = aux(d, AUX_DELIVERY_LEASE);
        if (!s)
            return -EIO;
        sqlite3_bind_int64(s, 1, op->u.deliveries.items[i].id);
        sqlite3_bind_int64(s, 2, lease_until);
        if (sq_step_done(d, s))
            return -EIO;
    }
    s = aux(d, AUX_DELIVERY_NEXT);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, op->now_ms);
    sq_bind_text(s, 2, op->u.deliveries.kind ? op->u.deliveries.kind : "");
    op->u.deliveries.next_due_ms = 0;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
        op->u.deliveries.next_due_ms = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return 0;
}

static int delivery_update(sqlite_db *d, store_op *op)
{
    int del = op->u.delivery_update.due_ms == 0;
    sqlite3_stmt *s = aux(d, del ? AUX_DELIVERY_DELETE : AUX_DELIVERY_RESCHEDULE);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, op->u.delivery_update.id);
    if (!del) {
        sqlite3_bind_int64(s, 2, op->u.delivery_update.due_ms);
        sqlite3_bind_int(s, 3, op->u.delivery_update.attempts);
    }
    return sq_step_done(d, s);
}

/* ---- archives ----------------------------------------------------------------------- */

static int archive_append(sqlite_db *d, store_op *op)
{
    for (size_t i = 0; i < op->u.archive_append.n; i++) {
        store_archived *a = &op->u.archive_append.items[i];
        sqlite3_stmt *s = aux(d, AUX_ARCHIVE_PUT);
        if (!s)
            return -EIO;
        sq_bind_text(s, 1, a->archive);
        sqlite3_bind_int64(s, 2, a->time_ms);
        sqlite3_bind_blob(s, 3, a->event, (int)a->len, SQLITE_STATIC);
        if (sq_step_done(d, s))
            return -EIO;
        a->seq = sqlite3_last_insert_rowid(d->db);
    }
    return 0;
}

static int archive_read(sqlite_db *d, store_op *op)
{
    int max = op->u.archive.max > 0 ? op->u.archive.max : 1;
    op->u.archive.items = xcalloc((size_t)max, sizeof(store_archived));
    op->u.archive.n = 0;
    sqlite3_stmt *s = aux(d, AUX_ARCHIVE_READ);
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, op->u.archive.archive);
    sqlite3_bind_int64(s, 2, op->u.archive.from_ms);
    sqlite3_bind_int64(s, 3, op->u.archive.to_ms);
    /* Resume point: the last event returned (time, seq); from_ms - 1 before the first. */
    int64_t after_time = op->u.archive.from_ms - 1, after_seq = op->u.archive.after_seq;
    if (after_seq > 0) {
        sqlite3_stmt *t;
        if (sqlite3_prepare_v2(d->db, "SELECT time_ms FROM archive_events WHERE seq = ?1", -1, &t,
                               NULL) == SQLITE_OK) {
            sqlite3_bind_int64(t, 1, after_seq);
            if (sqlite3_step(t) == SQLITE_ROW)
                after_time = sqlite3_column_int64(t, 0);
            sqlite3_finalize(t);
        }
    }
    sqlite3_bind_int64(s, 4, after_time);
    sqlite3_bind_int64(s, 5, after_seq);
    sqlite3_bind_int(s, 6, max);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        store_archived *a = &op->u.archive.items[op->u.archive.n++];
        a->seq = sqlite3_column_int64(s, 0);
        a->time_ms = sqlite3_column_int64(s, 1);
        a->len = (size_t)sqlite3_column_bytes(s, 2);
        a->event = xmemdup(sqlite3_column_blob(s, 2) ? sqlite3_column_blob(s, 2) : "", a->len + 1);
        a->event[a->len] = '\0';
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

static int archive_trim(sqlite_db *d, store_op *op)
{
    sqlite3_stmt *s = aux(d, AUX_ARCHIVE_TRIM);
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, op->u.archive.archive);
    sqlite3_bind_int64(s, 2, op->u.archive.to_ms);
    return sq_step_done(d, s);
}

static int archive_stats(sqlite_db *d, store_op *op)
{
    sqlite3_stmt *s = aux(d, AUX_ARCHIVE_STATS);
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, op->u.archive.archive);
    op->u.archive.count = op->u.archive.bytes = 0;
    if (sqlite3_step(s) == SQLITE_ROW) {
        op->u.archive.count = sqlite3_column_int64(s, 0);
        op->u.archive.bytes = sqlite3_column_int64(s, 1);
    }
    sqlite3_reset(s);
    return 0;
}

/* ---- groups ------------------------------------------------------------------------- */

static int group(sqlite_db *d, store_op *op)
{
    if (sq_step_done(d, aux(d, AUX_SAVEPOINT)))
        return -EIO;
    int rc = 0;
    for (size_t i = 0; i < op->u.group.n && rc == 0; i++)
        rc = sqlite_exec_op(d, op->u.group.ops[i]);
    if (rc != 0) {
        sq_step_done(d, aux(d, AUX_ROLLBACK_TO));
        for (size_t i = 0; i < op->u.group.n; i++)
            op->u.group.ops[i]->status = rc;
    }
    if (sq_step_done(d, aux(d, AUX_RELEASE)))
        return -EIO;
    return rc;
}

int sqlite_docs_exec(sqlite_db *d, store_op *op)
{
    switch (op->kind) {
    case STORE_GROUP:
        return group(d, op);
    case STORE_DOC_PUT:
        for (size_t i = 0; i < op->u.docs.n; i++)
            if (doc_put(d, &op->u.docs.docs[i]))
                return -EIO;
        return 0;
    case STORE_DELIVERY_PUT:
        return delivery_put(d, op);
    case STORE_DELIVERY_CLAIM:
        return delivery_claim(d, op);
    case STORE_DELIVERY_UPDATE:
        return delivery_update(d, op);
    case STORE_DELIVERY_RELEASE: {
        sqlite3_stmt *s = aux(d, AUX_DELIVERY_RELEASE);
        if (!s)
            return -EIO;
        sqlite3_bind_int64(s, 1, op->now_ms);
        return sq_step_done(d, s);
    }
    case STORE_ARCHIVE_APPEND:
        return archive_append(d, op);
    case STORE_ARCHIVE_READ:
        return archive_read(d, op);
    case STORE_ARCHIVE_TRIM:
        return archive_trim(d, op);
    case STORE_ARCHIVE_STATS:
        return archive_stats(d, op);
    case STORE_KV_MUTATE:
    case STORE_KV_GET:
    case STORE_KV_RANGE:
    case STORE_KV_DROP:
    case STORE_KV_STATS:
    case STORE_KV_STREAM_READ:
    case STORE_KV_STREAM_TRIM:
        return sqlite_kv_exec(d, op);
    case STORE_LOGS_PUT:
    case STORE_LOGS_CHANGE:
    case STORE_LOGS_LIST:
    case STORE_LOGS_READ:
    case STORE_LOGS_EXPIRE:
        return sqlite_logs_exec(d, op);
    default:
        log_error("store op not supported by the sqlite backend", "kind=%d", (int)op->kind);
        return -EINVAL;
    }
}
