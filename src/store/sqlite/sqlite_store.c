/* The embedded store: one SQLite file (data-dir/sluice.db) in WAL mode.
 *
 * Only the commit thread touches the write connection after open. Every statement is
 * prepared once. Durability: `full` runs with synchronous=FULL (the WAL is synced at every
 * commit, so one commit = one fsync for a whole batch of requests); `normal` runs with
 * synchronous=NORMAL (the WAL is synced at checkpoints only: a power loss may lose the last
 * commits, a process crash does not).
 *
 * Tuning, measured with `make bench` (docs/benchmarks.md): 16 KiB pages (fewer WAL frames
 * and write calls per group commit than 4 KiB: +15% on the send/receive/delete cycle), and
 * no checkpoint on the commit thread: a checkpoint copies up to the whole WAL into the
 * database and syncs it, which stalled every commit behind it for tens to hundreds of
 * milliseconds; the store's checkpoint thread runs them on a second connection instead.
 *
 * SQS claims ("receive") are decided here, inside the batch's transaction, so that the
 * decision and its record are one atomic step:
 *  - standard queues take the visible messages with the earliest visibility time;
 *  - FIFO queues walk the queue in send order; the first message met of each group is that
 *    group's head; a group whose head is not visible (in flight) is blocked, otherwise its
 *    visible messages are taken in order. In-flight messages of a group are thus always
 *    before its deliverable ones, which is what keeps each group strictly ordered.
 *  - a message that has already been received maxReceiveCount times is moved to the
 *    dead-letter queue instead of being delivered again (body, attributes, SentTimestamp and
 *    receive count kept). */
#include "common/alloc.h"
#include "common/log.h"
#include "store/backend.h"
#include "store/sqlite/schema.h"
#include "store/sqlite/sqlite_internal.h"

#include <errno.h>
#include <limits.h>
#include <openssl/rand.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* How far a FIFO claim walks a queue looking for deliverable groups. */
#define FIFO_SCAN_LIMIT 20000

enum {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_QUEUE_PUT,
    ST_QUEUE_DELETE,
    ST_QUEUE_DELETE_MSGS,
    ST_QUEUE_DELETE_DEDUP,
    ST_MSG_INSERT,
    ST_DEDUP_GET,
    ST_DEDUP_PUT,
    ST_CLAIM_STD,
    ST_CLAIM_FIFO_SCAN,
    ST_MSG_GET,
    ST_MSG_RECEIVED,
    ST_MSG_TO_DLQ,
    ST_NEXT_VISIBLE,
    ST_MSG_DELETE,
    ST_MSG_CHANGE_VIS,
    ST_PURGE,
    ST_COUNT_VISIBLE,
    ST_COUNT_INFLIGHT,
    ST_COUNT_DELAYED,
    ST_EXPIRE_MSGS,
    ST_EXPIRE_DEDUP,
    ST_MOVE_SCAN,
    ST_MOVE_ONE,
    ST_TASK_PUT,
    ST_COUNT_ALL,
    ST_QUEUE_GET,
    ST_MSG_SET_VISIBLE,
    ST_PAYLOAD_PUT,
    ST_PAYLOAD_REF,
    ST__COUNT
};

_Static_assert(ST__COUNT <= SQ_MAX_STMTS, "raise SQ_MAX_STMTS");

static const char *const sql_text[ST__COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_QUEUE_PUT] = "INSERT INTO sqs_queues(id, name, attrs, tags, created_ms, modified_ms) "
                     "VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(id) DO UPDATE SET "
                     "attrs = excluded.attrs, tags = excluded.tags, "
                     "modified_ms = excluded.modified_ms",
    [ST_QUEUE_DELETE] = "DELETE FROM sqs_queues WHERE id = ?1",
    [ST_QUEUE_DELETE_MSGS] = "DELETE FROM sqs_messages WHERE queue_id = ?1",
    [ST_QUEUE_DELETE_DEDUP] = "DELETE FROM sqs_dedup WHERE queue_id = ?1",
    [ST_MSG_INSERT] = "INSERT INTO sqs_messages(queue_id, visible_ms, sent_ms, message_id, "
                      "md5_body, md5_attrs, md5_sys, group_id, dedup_id, sender_id, attrs, "
                      "sys_attrs, body, payload_id) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
                      "?10, ?11, ?12, ?13, ?14)",
    [ST_DEDUP_GET] = "SELECT message_id, sequence_number FROM sqs_dedup WHERE queue_id = ?1 "
                     "AND scope = ?2 AND dedup_id = ?3 AND expires_ms > ?4",
    [ST_DEDUP_PUT] = "INSERT OR REPLACE INTO sqs_dedup(queue_id, scope, dedup_id, message_id, "
                     "sequence_number, expires_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_CLAIM_STD] = "SELECT seq FROM sqs_messages WHERE queue_id = ?1 AND visible_ms <= ?2 "
                     "AND sent_ms >= ?3 ORDER BY visible_ms LIMIT ?4",
    [ST_CLAIM_FIFO_SCAN] = "SELECT seq, group_id, visible_ms, sent_ms FROM sqs_messages "
                           "WHERE queue_id = ?1 AND group_id IS NOT NULL ORDER BY seq LIMIT ?2",
    [ST_MSG_GET] = "SELECT queue_id, visible_ms, sent_ms, receive_count, first_receive_ms, "
                   "receipt_token, dlq_source_id, message_id, md5_body, md5_attrs, md5_sys, "
                   "group_id, dedup_id, sender_id, attrs, sys_attrs, "
                   "coalesce(p.body, m.body) FROM sqs_messages m LEFT JOIN sqs_payloads p "
                   "ON p.id = m.payload_id WHERE m.seq = ?1",
    [ST_MSG_RECEIVED] = "UPDATE sqs_messages SET visible_ms = ?2, receive_count = receive_count "
                        "+ 1, first_receive_ms = CASE first_receive_ms WHEN 0 THEN ?3 ELSE "
                        "first_receive_ms END, receipt_token = ?4 WHERE seq = ?1",
    [ST_MSG_TO_DLQ] = "UPDATE sqs_messages SET queue_id = ?2, visible_ms = ?3, dlq_source_id = "
                      "?4 WHERE seq = ?1",
    [ST_NEXT_VISIBLE] = "SELECT min(visible_ms) FROM sqs_messages WHERE queue_id = ?1 AND "
                        "visible_ms > ?2",
    [ST_MSG_DELETE] = "DELETE FROM sqs_messages WHERE seq = ?1 AND queue_id = ?2",
    [ST_MSG_CHANGE_VIS] = "UPDATE sqs_messages SET visible_ms = ?4 WHERE seq = ?1 AND queue_id "
                          "= ?2 AND receipt_token = ?3 AND visible_ms > ?5",
    [ST_PURGE] = "DELETE FROM sqs_messages WHERE queue_id = ?1 AND sent_ms <= ?2",
    [ST_COUNT_VISIBLE] = "SELECT count(*) FROM sqs_messages WHERE queue_id = ?1 AND visible_ms "
                         "<= ?2 AND sent_ms >= ?3",
    [ST_COUNT_INFLIGHT] = "SELECT count(*) FROM sqs_messages WHERE queue_id = ?1 AND "
                          "visible_ms > ?2 AND receive_count > 0",
    [ST_COUNT_DELAYED] = "SELECT count(*) FROM sqs_messages WHERE queue_id = ?1 AND "
                         "visible_ms > ?2 AND receive_count = 0",
    [ST_EXPIRE_MSGS] = "DELETE FROM sqs_messages WHERE queue_id = ?1 AND sent_ms < ?2",
    [ST_EXPIRE_DEDUP] = "DELETE FROM sqs_dedup WHERE expires_ms <= ?1",
    [ST_MOVE_SCAN] = "SELECT seq, dlq_source_id FROM sqs_messages WHERE queue_id = ?1 AND "
                     "visible_ms <= ?2 ORDER BY visible_ms LIMIT ?3",
    [ST_MOVE_ONE] = "UPDATE sqs_messages SET queue_id = ?2, visible_ms = ?3, receive_count = 0, "
                    "first_receive_ms = 0, dlq_source_id = 0 WHERE seq = ?1",
    [ST_TASK_PUT] = "INSERT OR REPLACE INTO sqs_move_tasks(handle, source_id, dest_id, "
                    "source_arn, dest_arn, rate, status, moved, to_move, started_ms, failure) "
                    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [ST_COUNT_ALL] = "SELECT count(*) FROM sqs_messages WHERE queue_id = ?1",
    [ST_QUEUE_GET] = "SELECT attrs, tags, modified_ms FROM sqs_queues WHERE id = ?1",
    [ST_MSG_SET_VISIBLE] = "UPDATE sqs_messages SET visible_ms = ?2 WHERE seq = ?1",
    [ST_PAYLOAD_PUT] = "INSERT INTO sqs_payloads(refs, body) VALUES(1, ?1)",
    [ST_PAYLOAD_REF] = "UPDATE sqs_payloads SET refs = refs + 1 WHERE id = ?1",
};

/* ---- helpers ------------------------------------------------------------------------ */

static sqlite3_stmt *sq_stmt(sqlite_db *d, int which)
{
    sqlite3_stmt *s = d->st[which];
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return s;
}

int sq_step_done(sqlite_db *d, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        log_error("sqlite step failed", "err='%s'", sqlite3_errmsg(d->db));
        sqlite3_reset(s);
        return -EIO;
    }
    sqlite3_reset(s);
    return 0;
}

void sq_bind_text(sqlite3_stmt *s, int i, const char *t)
{
    if (t)
        sqlite3_bind_text(s, i, t, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, i);
}

void sq_bind_opt_text(sqlite3_stmt *s, int i, const char *t)
{
    sq_bind_text(s, i, (t && *t) ? t : NULL);
}

char *sq_col_dup(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    return t ? xstrndup((const char *)t, (size_t)sqlite3_column_bytes(s, i)) : NULL;
}

void sq_col_copy(sqlite3_stmt *s, int i, char *out, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    snprintf(out, cap, "%s", t ? (const char *)t : "");
}

static uint64_t next_token(sqlite_db *d)
{
    /* xorshift64*: receipt tokens only need to differ from the previous ones. */
    uint64_t x = d->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    d->rng = x;
    return (x * 2685821657736338717ULL) >> 1;
}

sqlite3_stmt *sq_aux(sqlite_db *d, int slot, const char *sql)
{
    if (!d->aux[slot] && sqlite3_prepare_v3(d->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
                                            &d->aux[slot], NULL) != SQLITE_OK) {
        log_error("sqlite prepare failed", "err='%s'", sqlite3_errmsg(d->db));
        d->aux[slot] = NULL;
        return NULL;
    }
    sqlite3_reset(d->aux[slot]);
    sqlite3_clear_bindings(d->aux[slot]);
    return d->aux[slot];
}

int sq_exec_sql(sqlite_db *d, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(d->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "%s", msg ? msg : "sqlite error");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* ---- open / schema ------------------------------------------------------------------ */

static int meta_get_int(sqlite_db *d, const char *key, long long *out)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(d->db, "SELECT value FROM meta WHERE key = ?1", -1, &s, NULL))
        return -1;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    int found = 0;
    if (sqlite3_step(s) == SQLITE_ROW) {
        *out = sqlite3_column_int64(s, 0);
        found = 1;
    }
    sqlite3_finalize(s);
    return found ? 0 : -1;
}

static int migrate(sqlite_db *d, char *err, size_t errlen)
{
    if (sq_exec_sql(d, "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value)", err, errlen))
        return -1;
    long long version = 0;
    if (meta_get_int(d, "schema_version", &version) != 0)
        version = 0;
    if (version > SQLITE_SCHEMA_VERSION) {
        snprintf(err, errlen, "the data dir was written by a newer sluiced (schema %lld > %d)",
                 version, SQLITE_SCHEMA_VERSION);
        return -1;
    }
    for (long long v = version; v < SQLITE_SCHEMA_VERSION; v++) {
        char sql[128];
        snprintf(sql, sizeof sql,
                 "INSERT OR REPLACE INTO meta(key, value) VALUES('schema_version', %lld)", v + 1);
        if (sq_exec_sql(d, "BEGIN", err, errlen) ||
            sq_exec_sql(d, sqlite_migrations[v], err, errlen) || sq_exec_sql(d, sql, err, errlen) ||
            sq_exec_sql(d, "COMMIT", err, errlen)) {
            char ignored[64];
            sq_exec_sql(d, "ROLLBACK", ignored, sizeof ignored);
            return -1;
        }
        log_info("store migrated", "schema_version=%lld", v + 1);
    }
    return 0;
}

static int load_secret(sqlite_db *d, char *err, size_t errlen)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(d->db, "SELECT value FROM meta WHERE key = 'secret'", -1, &s, NULL))
        goto fail;
    int found = 0;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_bytes(s, 0) == 32) {
        memcpy(d->secret, sqlite3_column_blob(s, 0), 32);
        found = 1;
    }
    sqlite3_finalize(s);
    if (found)
        return 0;
    if (RAND_bytes(d->secret, 32) != 1)
        goto fail;
    if (sqlite3_prepare_v2(d->db, "INSERT OR REPLACE INTO meta(key, value) VALUES('secret', ?1)",
                           -1, &s, NULL))
        goto fail;
    sqlite3_bind_blob(s, 1, d->secret, 32, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc == SQLITE_DONE)
        return 0;
fail:
    snprintf(err, errlen, "cannot create the store secret: %s", sqlite3_errmsg(d->db));
    return -1;
}

static void sqlite_close(void *p)
{
    sqlite_db *d = p;
    if (!d)
        return;
    for (int i = 0; i < ST__COUNT; i++)
        sqlite3_finalize(d->st[i]);
    for (int i = 0; i < SQ_MAX_AUX_STMTS; i++)
        sqlite3_finalize(d->aux[i]);
    sqlite3_close(d->ckpt);
    sqlite3_close(d->db);
    if (d->wal_fd >= 0)
        close(d->wal_fd);
    xfree(d);
}

static void *sqlite_open(const store_config *cfg, char *err, size_t errlen)
{
    sqlite_db *d = xcalloc(1, sizeof *d);
    d->wal_fd = -1;
    char path[4096];
    if (mkdir(cfg->data_dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create data dir %s: %s", cfg->data_dir, strerror(errno));
        goto fail;
    }
    snprintf(path, sizeof path, "%s/sluice.db", cfg->data_dir);
    snprintf(d->wal_path, sizeof d->wal_path, "%s-wal", path);
    if (sqlite3_open_v2(path, &d->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", path,
                 d->db ? sqlite3_errmsg(d->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(d->db, 5000);
    /* Both modes commit with synchronous=NORMAL (no sync inside COMMIT); in `full` mode the
     * store's sync thread then makes each commit durable with sqlite_sync(), off the commit
     * thread. Checkpoints sync the WAL and the database themselves in either mode. */
    const char *sync = "NORMAL";
    char pragmas[512];
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA page_size=16384; PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; "
             "PRAGMA foreign_keys=OFF; PRAGMA cache_size=-8192; PRAGMA temp_store=MEMORY; "
             "PRAGMA wal_autocheckpoint=0;",
             sync);
    if (sq_exec_sql(d, pragmas, err, errlen) || migrate(d, err, errlen) ||
        load_secret(d, err, errlen))
        goto fail;
    for (int i = 0; i < ST__COUNT; i++) {
        if (sqlite3_prepare_v3(d->db, sql_text[i], -1, SQLITE_PREPARE_PERSISTENT, &d->st[i],
                               NULL) != SQLITE_OK) {
            snprintf(err, errlen, "cannot prepare statement %d: %s", i, sqlite3_errmsg(d->db));
            goto fail;
        }
    }
    /* Checkpoints run on their own connection, off the commit thread (sqlite_checkpoint). */
    if (sqlite3_open_v2(path, &d->ckpt, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(d->ckpt, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open the checkpoint connection: %s",
                 d->ckpt ? sqlite3_errmsg(d->ckpt) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(d->ckpt, 5000);
    if (RAND_bytes((unsigned char *)&d->rng, sizeof d->rng) != 1 || d->rng == 0)
        d->rng = 0x9e3779b97f4a7c15ULL;
    return d;
fail:
    sqlite_close(d);
    return NULL;
}

static const unsigned char *sqlite_secret(void *p)
{
    return ((sqlite_db *)p)->secret;
}

/* fdatasync of the WAL through our own descriptor: syncing any descriptor of a file makes
 * all its written data durable, whoever wrote it. Reopened if SQLite ever replaced the
 * file (it keeps and reuses it while the database is open in WAL mode). */
static int sqlite_sync(void *p)
{
    sqlite_db *d = p;
    struct stat st;
    if (d->wal_fd >= 0 && (fstat(d->wal_fd, &st) != 0 || st.st_nlink == 0)) {
        close(d->wal_fd);
        d->wal_fd = -1;
    }
    if (d->wal_fd < 0) {
        d->wal_fd = open(d->wal_path, O_RDONLY | O_CLOEXEC);
        if (d->wal_fd < 0) {
            log_error("cannot open the WAL to sync it", "path=%s err='%s'", d->wal_path,
                      strerror(errno));
            return -1;
        }
    }
    return fdatasync(d->wal_fd) == 0 ? 0 : -1;
}

/* Copies committed WAL frames into the database file. PASSIVE never blocks the commit
 * thread; it keeps the WAL short at any load that leaves the checkpointer moments where it
 * catches up (the WAL then restarts from its beginning at the next write). Under sustained
 * writing the WAL would only grow, so past WAL_RESTART_FRAMES a RESTART checkpoint makes the
 * writer wait for the rest of the backfill (most of it already done by PASSIVE runs) and
 * rewinds the WAL. The checkpointer syncs the WAL before and the database after copying. */
#define WAL_RESTART_FRAMES 4096 /* 64 MiB of 16 KiB pages */

static int sqlite_checkpoint(void *p)
{
    sqlite_db *d = p;
    int log = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(d->ckpt, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    if (rc == SQLITE_OK && log > WAL_RESTART_FRAMES)
        rc = sqlite3_wal_checkpoint_v2(d->ckpt, NULL, SQLITE_CHECKPOINT_RESTART, &log, &done);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
        log_error("sqlite checkpoint failed", "err='%s'", sqlite3_errmsg(d->ckpt));
        return -1;
    }
    return 0;
}

static int sqlite_begin(void *p)
{
    sqlite_db *d = p;
    return sq_step_done(d, sq_stmt(d, ST_BEGIN));
}

static int sqlite_commit(void *p)
{
    sqlite_db *d = p;
    return sq_step_done(d, sq_stmt(d, ST_COMMIT));
}

static void sqlite_rollback(void *p)
{
    sqlite_db *d = p;
    sq_step_done(d, sq_stmt(d, ST_ROLLBACK));
}

/* ---- queues ------------------------------------------------------------------------- */

static int queue_put(sqlite_db *d, const store_queue *q)
{
    sqlite3_stmt *s = sq_stmt(d, ST_QUEUE_PUT);
    sqlite3_bind_int64(s, 1, q->id);
    sq_bind_text(s, 2, q->name);
    sq_bind_text(s, 3, q->attrs_json ? q->attrs_json : "{}");
    sq_bind_text(s, 4, q->tags_json ? q->tags_json : "{}");
    sqlite3_bind_int64(s, 5, q->created_ms);
    sqlite3_bind_int64(s, 6, q->modified_ms);
    return sq_step_done(d, s);
}

static int queue_delete(sqlite_db *d, int64_t id)
{
    static const int which[] = {ST_QUEUE_DELETE_MSGS, ST_QUEUE_DELETE_DEDUP, ST_QUEUE_DELETE};
    for (size_t i = 0; i < sizeof which / sizeof which[0]; i++) {
        sqlite3_stmt *s = sq_stmt(d, which[i]);
        sqlite3_bind_int64(s, 1, id);
        if (sq_step_done(d, s))
            return -EIO;
    }
    return 0;
}

/* ---- send --------------------------------------------------------------------------- */

static int send_one(sqlite_db *d, store_op *op, store_sqs_entry *e)
{
    store_message *m = &e->msg;
    const char *scope = "";
    if (op->u.batch.fifo && m->dedup_id) {
        scope = (op->u.batch.dedup_per_group && m->group_id) ? m->group_id : "";
        sqlite3_stmt *s = sq_stmt(d, ST_DEDUP_GET);
        sqlite3_bind_int64(s, 1, op->u.batch.queue_id);
        sq_bind_text(s, 2, scope);
        sq_bind_text(s, 3, m->dedup_id);
        sqlite3_bind_int64(s, 4, op->now_ms);
        if (sqlite3_step(s) == SQLITE_ROW) {
            sq_col_copy(s, 0, m->message_id, sizeof m->message_id);
            m->sequence_number = sqlite3_column_int64(s, 1);
            e->duplicate = 1;
            sqlite3_reset(s);
            return 0;
        }
        sqlite3_reset(s);
    }
    store_payload *sp = m->shared;
    if (sp) { /* stored once, by the first message that uses it */
        sqlite3_stmt *ps = sq_stmt(d, sp->id ? ST_PAYLOAD_REF : ST_PAYLOAD_PUT);
        if (sp->id)
            sqlite3_bind_int64(ps, 1, sp->id);
        else
            sqlite3_bind_blob(ps, 1, sp->body, (int)sp->len, SQLITE_STATIC);
        if (sq_step_done(d, ps))
            return -EIO;
        if (!sp->id)
            sp->id = sqlite3_last_insert_rowid(d->db);
    }
    sqlite3_stmt *s = sq_stmt(d, ST_MSG_INSERT);
    sqlite3_bind_int64(s, 1, op->u.batch.queue_id);
    sqlite3_bind_int64(s, 2, m->visible_ms);
    sqlite3_bind_int64(s, 3, m->sent_ms);
    sq_bind_text(s, 4, m->message_id);
    sq_bind_text(s, 5, m->md5_body);
    sq_bind_opt_text(s, 6, m->md5_attrs);
    sq_bind_opt_text(s, 7, m->md5_sys_attrs);
    sq_bind_text(s, 8, m->group_id);
    sq_bind_text(s, 9, m->dedup_id);
    sq_bind_text(s, 10, m->sender_id);
    sq_bind_text(s, 11, m->attrs_json);
    sq_bind_text(s, 12, m->sys_attrs_json);
    if (sp) {
        sqlite3_bind_blob(s, 13, "", 0, SQLITE_STATIC);
        sqlite3_bind_int64(s, 14, sp->id);
    } else {
        sqlite3_bind_blob(s, 13, m->body ? m->body : "", (int)m->body_len, SQLITE_STATIC);
    }
    if (sq_step_done(d, s))
        return -EIO;
    m->seq = sqlite3_last_insert_rowid(d->db);
    m->sequence_number = m->seq;
    if (op->u.batch.fifo && m->dedup_id) {
        s = sq_stmt(d, ST_DEDUP_PUT);
        sqlite3_bind_int64(s, 1, op->u.batch.queue_id);
        sq_bind_text(s, 2, scope);
        sq_bind_text(s, 3, m->dedup_id);
        sq_bind_text(s, 4, m->message_id);
        sqlite3_bind_int64(s, 5, m->sequence_number);
        sqlite3_bind_int64(s, 6, op->now_ms + op->u.batch.dedup_window_ms);
        if (sq_step_done(d, s))
            return -EIO;
    }
    return 0;
}

/* ---- receive ------------------------------------------------------------------------ */

static int load_message(sqlite_db *d, int64_t seq, store_message *m)
{
    sqlite3_stmt *s = sq_stmt(d, ST_MSG_GET);
    sqlite3_bind_int64(s, 1, seq);
    if (sqlite3_step(s) != SQLITE_ROW) {
        sqlite3_reset(s);
        return -1;
    }
    memset(m, 0, sizeof *m);
    m->seq = seq;
    m->queue_id = sqlite3_column_int64(s, 0);
    m->visible_ms = sqlite3_column_int64(s, 1);
    m->sent_ms = sqlite3_column_int64(s, 2);
    m->receive_count = sqlite3_column_int(s, 3);
    m->first_receive_ms = sqlite3_column_int64(s, 4);
    m->receipt_token = sqlite3_column_int64(s, 5);
    m->dlq_source_id = sqlite3_column_int64(s, 6);
    sq_col_copy(s, 7, m->message_id, sizeof m->message_id);
    sq_col_copy(s, 8, m->md5_body, sizeof m->md5_body);
    sq_col_copy(s, 9, m->md5_attrs, sizeof m->md5_attrs);
    sq_col_copy(s, 10, m->md5_sys_attrs, sizeof m->md5_sys_attrs);
    m->group_id = sq_col_dup(s, 11);
    m->dedup_id = sq_col_dup(s, 12);
    m->sender_id = sq_col_dup(s, 13);
    m->attrs_json = sq_col_dup(s, 14);
    m->sys_attrs_json = sq_col_dup(s, 15);
    m->body_len = (size_t)sqlite3_column_bytes(s, 16);
    const void *body = sqlite3_column_blob(s, 16);
    m->body = xmalloc(m->body_len + 1);
    if (m->body_len)
        memcpy(m->body, body, m->body_len);
    m->body[m->body_len] = '\0';
    m->sequence_number = m->group_id ? seq : 0;
    sqlite3_reset(s);
    return 0;
}

/* Either delivers message `seq` (marks it received and appends it to the op's results) or,
 * when it has used up its receives, moves it to the dead-letter queue. Returns 1 if
 * delivered, 0 if dead-lettered or gone, -EIO on failure. */
static int claim_one(sqlite_db *d, store_op *op, int64_t seq)
{
    store_message m;
    if (load_message(d, seq, &m) != 0)
        return 0;
    int64_t now = op->now_ms;
    if (op->u.receive.max_receive_count > 0 && op->u.receive.dlq_id > 0 &&
        m.receive_count >= op->u.receive.max_receive_count) {
        sqlite3_stmt *s = sq_stmt(d, ST_MSG_TO_DLQ);
        sqlite3_bind_int64(s, 1, seq);
        sqlite3_bind_int64(s, 2, op->u.receive.dlq_id);
        sqlite3_bind_int64(s, 3, now);
        sqlite3_bind_int64(s, 4, op->u.receive.queue_id);
        store_message_clear(&m);
        if (sq_step_done(d, s))
            return -EIO;
        op->u.receive.moved_to_dlq++;
        return 0;
    }
    m.visible_ms = now + op->u.receive.visibility_ms;
    m.receive_count++;
    if (m.first_receive_ms == 0)
        m.first_receive_ms = now;
    m.receipt_token = (int64_t)next_token(d);
    sqlite3_stmt *s = sq_stmt(d, ST_MSG_RECEIVED);
    sqlite3_bind_int64(s, 1, seq);
    sqlite3_bind_int64(s, 2, m.visible_ms);
    sqlite3_bind_int64(s, 3, now);
    sqlite3_bind_int64(s, 4, m.receipt_token);
    if (sq_step_done(d, s)) {
        store_message_clear(&m);
        return -EIO;
    }
    op->u.receive.msgs[op->u.receive.nmsgs++] = m;
    return 1;
}

static int claim_standard(sqlite_db *d, store_op *op)
{
    int64_t want = op->u.receive.max;
    int64_t min_sent = op->now_ms - op->u.receive.retention_ms;
    /* Dead-lettered candidates free their place: select again until filled or empty. */
    for (int round = 0; round < 8 && (int64_t)op->u.receive.nmsgs < want; round++) {
        int64_t seqs[32];
        int n = 0;
        int64_t need = want - (int64_t)op->u.receive.nmsgs;
        sqlite3_stmt *s = sq_stmt(d, ST_CLAIM_STD);
        sqlite3_bind_int64(s, 1, op->u.receive.queue_id);
        sqlite3_bind_int64(s, 2, op->now_ms);
        sqlite3_bind_int64(s, 3, min_sent);
        sqlite3_bind_int64(s, 4, need);
        while (n < 32 && sqlite3_step(s) == SQLITE_ROW)
            seqs[n++] = sqlite3_column_int64(s, 0);
        sqlite3_reset(s);
        if (n == 0)
            break;
        for (int i = 0; i < n; i++)
            if (claim_one(d, op, seqs[i]) < 0)
                return -EIO;
    }
    return 0;
}

typedef struct group_state {
    char *id;
    int state; /* 0 blocked, 1 taking */
} group_state;

static int claim_fifo(sqlite_db *d, store_op *op)
{
    int64_t min_sent = op->now_ms - op->u.receive.retention_ms;
    /* Pass 1: decide which messages to take, without modifying the table while scanning. */
    int64_t take[10];
    int ntake = 0;
    int want = op->u.receive.max;
    group_state *groups = NULL;
    size_t ngroups = 0, capgroups = 0;
    sqlite3_stmt *s = sq_stmt(d, ST_CLAIM_FIFO_SCAN);
    sqlite3_bind_int64(s, 1, op->u.receive.queue_id);
    sqlite3_bind_int64(s, 2, FIFO_SCAN_LIMIT);
    while (ntake < want && sqlite3_step(s) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(s, 0);
        const char *gid = (const char *)sqlite3_column_text(s, 1);
        int64_t visible = sqlite3_column_int64(s, 2);
        int64_t sent = sqlite3_column_int64(s, 3);
        if (!gid)
            continue;
        if (sent < min_sent)
            continue; /* expired: swept soon, never delivered */
        group_state *g = NULL;
        for (size_t i = 0; i < ngroups; i++) {
            if (strcmp(groups[i].id, gid) == 0) {
                g = &groups[i];
                break;
            }
        }
        int is_visible = visible <= op->now_ms;
        if (!g) {
            if (ngroups == capgroups) {
                capgroups = capgroups ? capgroups * 2 : 16;
                groups = xrealloc(groups, capgroups * sizeof *groups);
            }
            g = &groups[ngroups++];
            g->id = xstrdup(gid);
            g->state = is_visible; /* the head decides */
        } else if (g->state == 1 && !is_visible) {
            g->state = 0;
        }
        if (g->state == 1)
            take[ntake++] = seq;
    }
    sqlite3_reset(s);
    for (size_t i = 0; i < ngroups; i++)
        xfree(groups[i].id);
    xfree(groups);
    /* Pass 2: deliver (or dead-letter) in order. */
    for (int i = 0; i < ntake; i++)
        if (claim_one(d, op, take[i]) < 0)
            return -EIO;
    return 0;
}

static int receive(sqlite_db *d, store_op *op)
{
    op->u.receive.msgs = xcalloc((size_t)op->u.receive.max, sizeof(store_message));
    op->u.receive.nmsgs = 0;
    int rc = op->u.receive.fifo ? claim_fifo(d, op) : claim_standard(d, op);
    if (rc)
        return rc;
    sqlite3_stmt *s = sq_stmt(d, ST_NEXT_VISIBLE);
    sqlite3_bind_int64(s, 1, op->u.receive.queue_id);
    sqlite3_bind_int64(s, 2, op->now_ms);
    op->u.receive.next_visible_ms = 0;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
        op->u.receive.next_visible_ms = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return 0;
}

/* A FIFO receive retried with the same ReceiveRequestAttemptId: if every message the first
 * attempt returned is still there with the receipt token that attempt gave it (not deleted,
 * not received again, visibility not changed), return them again with a new deadline;
 * otherwise change nothing and report it, and the engine makes a normal receive. */
static int reclaim(sqlite_db *d, store_op *op)
{
    size_t n = op->u.receive.nreclaim;
    op->u.receive.msgs = xcalloc(n ? n : 1, sizeof(store_message));
    op->u.receive.nmsgs = 0;
    op->u.receive.reclaimed = 0;
    for (size_t i = 0; i < n; i++) {
        store_message *m = &op->u.receive.msgs[op->u.receive.nmsgs];
        if (load_message(d, op->u.receive.reclaim_seqs[i], m) != 0)
            return 0;
        op->u.receive.nmsgs++;
        if (m->queue_id != op->u.receive.queue_id ||
            m->receipt_token != op->u.receive.reclaim_tokens[i])
            return 0;
    }
    int64_t deadline = op->now_ms + op->u.receive.visibility_ms;
    for (size_t i = 0; i < n; i++) {
        sqlite3_stmt *s = sq_stmt(d, ST_MSG_SET_VISIBLE);
        sqlite3_bind_int64(s, 1, op->u.receive.reclaim_seqs[i]);
        sqlite3_bind_int64(s, 2, deadline);
        if (sq_step_done(d, s))
            return -EIO;
        op->u.receive.msgs[i].visible_ms = deadline;
    }
    op->u.receive.reclaimed = 1;
    return 0;
}

/* ---- delete / visibility / purge / counts ------------------------------------------- */

static int delete_messages(sqlite_db *d, store_op *op)
{
    for (size_t i = 0; i < op->u.batch.n; i++) {
        store_sqs_entry *e = &op->u.batch.entries[i];
        sqlite3_stmt *s = sq_stmt(d, ST_MSG_DELETE);
        sqlite3_bind_int64(s, 1, e->seq);
        sqlite3_bind_int64(s, 2, op->u.batch.queue_id);
        if (sq_step_done(d, s))
            return -EIO;
        e->found = sqlite3_changes(d->db) > 0;
    }
    return 0;
}

static int change_visibility(sqlite_db *d, store_op *op)
{
    for (size_t i = 0; i < op->u.batch.n; i++) {
        store_sqs_entry *e = &op->u.batch.entries[i];
        sqlite3_stmt *s = sq_stmt(d, ST_MSG_CHANGE_VIS);
        sqlite3_bind_int64(s, 1, e->seq);
        sqlite3_bind_int64(s, 2, op->u.batch.queue_id);
        sqlite3_bind_int64(s, 3, e->token);
        sqlite3_bind_int64(s, 4, e->visible_ms);
        sqlite3_bind_int64(s, 5, op->now_ms);
        if (sq_step_done(d, s))
            return -EIO;
        e->found = sqlite3_changes(d->db) > 0;
    }
    return 0;
}

static int64_t count_query(sqlite_db *d, int which, int64_t a, int64_t b, int64_t c, int nargs)
{
    sqlite3_stmt *s = sq_stmt(d, which);
    sqlite3_bind_int64(s, 1, a);
    if (nargs > 1)
        sqlite3_bind_int64(s, 2, b);
    if (nargs > 2)
        sqlite3_bind_int64(s, 3, c);
    int64_t n = 0;
    if (sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return n;
}

static int counts(sqlite_db *d, store_op *op)
{
    int64_t q = op->u.counts.queue_id, now = op->now_ms;
    op->u.counts.visible =
        count_query(d, ST_COUNT_VISIBLE, q, now, now - op->u.counts.retention_ms, 3);
    op->u.counts.in_flight = count_query(d, ST_COUNT_INFLIGHT, q, now, 0, 2);
    op->u.counts.delayed = count_query(d, ST_COUNT_DELAYED, q, now, 0, 2);
    return 0;
}

static int expire(sqlite_db *d, store_op *op)
{
    int64_t before = sqlite3_total_changes(d->db);
    for (size_t i = 0; i < op->u.expire.n; i++) {
        sqlite3_stmt *s = sq_stmt(d, ST_EXPIRE_MSGS);
        sqlite3_bind_int64(s, 1, op->u.expire.queue_ids[i]);
        sqlite3_bind_int64(s, 2, op->now_ms - op->u.expire.retention_ms[i]);
        if (sq_step_done(d, s))
            return -EIO;
    }
    sqlite3_stmt *s = sq_stmt(d, ST_EXPIRE_DEDUP);
    sqlite3_bind_int64(s, 1, op->u.expire.dedup_before_ms);
    if (sq_step_done(d, s))
        return -EIO;
    op->u.expire.deleted = sqlite3_total_changes(d->db) - before;
    return 0;
}

/* ---- move tasks --------------------------------------------------------------------- */

static int task_put(sqlite_db *d, const store_move_task *t)
{
    sqlite3_stmt *s = sq_stmt(d, ST_TASK_PUT);
    sq_bind_text(s, 1, t->handle);
    sqlite3_bind_int64(s, 2, t->source_id);
    sqlite3_bind_int64(s, 3, t->dest_id);
    sq_bind_text(s, 4, t->source_arn);
    sq_bind_text(s, 5, t->dest_arn);
    sqlite3_bind_int(s, 6, t->rate);
    sq_bind_text(s, 7, t->status);
    sqlite3_bind_int64(s, 8, t->moved);
    sqlite3_bind_int64(s, 9, t->to_move);
    sqlite3_bind_int64(s, 10, t->started_ms);
    sq_bind_text(s, 11, t->failure);
    return sq_step_done(d, s);
}

static void add_dest(store_op *op, int64_t id)
{
    for (size_t i = 0; i < op->u.move.ndest; i++)
        if (op->u.move.dest_ids[i] == id)
            return;
    op->u.move.dest_ids = xrealloc(op->u.move.dest_ids, (op->u.move.ndest + 1) * sizeof(int64_t));
    op->u.move.dest_ids[op->u.move.ndest++] = id;
}

static int move_step(sqlite_db *d, store_op *op)
{
    store_move_task *t = &op->u.move.task;
    int64_t remaining = t->to_move - t->moved;
    int64_t limit = op->u.move.max < remaining ? op->u.move.max : remaining;
    op->u.move.moved = 0;
    if (limit > 0) {
        int64_t(*rows)[2] = xmalloc((size_t)limit * sizeof *rows);
        int64_t n = 0;
        sqlite3_stmt *s = sq_stmt(d, ST_MOVE_SCAN);
        sqlite3_bind_int64(s, 1, t->source_id);
        sqlite3_bind_int64(s, 2, op->now_ms);
        sqlite3_bind_int64(s, 3, limit);
        while (n < limit && sqlite3_step(s) == SQLITE_ROW) {
            rows[n][0] = sqlite3_column_int64(s, 0);
            rows[n][1] = sqlite3_column_int64(s, 1);
            n++;
        }
        sqlite3_reset(s);
        for (int64_t i = 0; i < n; i++) {
            int64_t dest = t->dest_id ? t->dest_id : rows[i][1];
            if (dest <= 0)
                continue; /* no original source known: it stays */
            s = sq_stmt(d, ST_MOVE_ONE);
            sqlite3_bind_int64(s, 1, rows[i][0]);
            sqlite3_bind_int64(s, 2, dest);
            sqlite3_bind_int64(s, 3, op->now_ms);
            if (sq_step_done(d, s)) {
                xfree(rows);
                return -EIO;
            }
            add_dest(op, dest);
            op->u.move.moved++;
        }
        xfree(rows);
        if (n < limit && t->moved + op->u.move.moved < t->to_move)
            t->to_move = t->moved + op->u.move.moved; /* fewer left than counted */
    }
    t->moved += op->u.move.moved;
    if (t->moved >= t->to_move && strcmp(t->status, "RUNNING") == 0)
        snprintf(t->status, sizeof t->status, "COMPLETED");
    return task_put(d, t);
}

/* ---- dispatch ----------------------------------------------------------------------- */

int sqlite_exec_op(sqlite_db *d, store_op *op)
{
    int rc = 0;
    switch (op->kind) {
    case STORE_SQS_QUEUE_PUT:
        rc = queue_put(d, &op->u.queue);
        break;
    case STORE_SQS_QUEUE_DELETE:
        rc = queue_delete(d, op->u.queue_delete.queue_id);
        break;
    case STORE_SQS_SEND:
        for (size_t i = 0; i < op->u.batch.n && rc == 0; i++)
            rc = send_one(d, op, &op->u.batch.entries[i]);
        break;
    case STORE_SQS_RECEIVE:
        rc = receive(d, op);
        break;
    case STORE_SQS_DELETE:
        rc = delete_messages(d, op);
        break;
    case STORE_SQS_CHANGE_VISIBILITY:
        rc = change_visibility(d, op);
        break;
    case STORE_SQS_PURGE: {
        sqlite3_stmt *s = sq_stmt(d, ST_PURGE);
        sqlite3_bind_int64(s, 1, op->u.purge.queue_id);
        sqlite3_bind_int64(s, 2, op->u.purge.before_ms);
        rc = sq_step_done(d, s);
        break;
    }
    case STORE_SQS_COUNTS:
        rc = counts(d, op);
        break;
    case STORE_SQS_EXPIRE:
        rc = expire(d, op);
        break;
    case STORE_SQS_MOVE:
        rc = move_step(d, op);
        break;
    case STORE_SQS_MOVE_TASK_PUT:
        rc = task_put(d, &op->u.move_task);
        break;
    case STORE_SQS_RECLAIM:
        rc = reclaim(d, op);
        break;
    case STORE_SQS_QUEUE_GET: {
        sqlite3_stmt *st = sq_stmt(d, ST_QUEUE_GET);
        sqlite3_bind_int64(st, 1, op->u.queue_get.queue_id);
        op->u.queue_get.found = 0;
        if (sqlite3_step(st) == SQLITE_ROW) {
            op->u.queue_get.found = 1;
            op->u.queue_get.row.attrs_json = sq_col_dup(st, 0);
            op->u.queue_get.row.tags_json = sq_col_dup(st, 1);
            op->u.queue_get.row.modified_ms = sqlite3_column_int64(st, 2);
        }
        sqlite3_reset(st);
        break;
    }
    case STORE_SQS_COUNT_SOURCE:
        op->u.count_source.count =
            count_query(d, ST_COUNT_ALL, op->u.count_source.queue_id, 0, 0, 1);
        break;
    default:
        rc = sqlite_docs_exec(d, op);
        break;
    }
    op->status = rc;
    return rc;
}

static void sqlite_exec(void *p, store_op *op)
{
    sqlite_exec_op(p, op);
}

/* ---- startup loading ---------------------------------------------------------------- */

static int sqlite_load_queues(void *p, store_queue_fn fn, void *arg)
{
    sqlite_db *d = p;
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(d->db,
                           "SELECT id, name, attrs, tags, created_ms, modified_ms FROM sqs_queues "
                           "ORDER BY id",
                           -1, &s, NULL))
        return -1;
    while (sqlite3_step(s) == SQLITE_ROW) {
        store_queue q = {
            .id = sqlite3_column_int64(s, 0),
            .name = (char *)sqlite3_column_text(s, 1),
            .attrs_json = (char *)sqlite3_column_text(s, 2),
            .tags_json = (char *)sqlite3_column_text(s, 3),
            .created_ms = sqlite3_column_int64(s, 4),
            .modified_ms = sqlite3_column_int64(s, 5),
        };
        fn(&q, arg);
    }
    sqlite3_finalize(s);
    return 0;
}

static int sqlite_load_move_tasks(void *p, store_move_task_fn fn, void *arg)
{
    sqlite_db *d = p;
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(d->db,
                           "SELECT handle, source_id, dest_id, source_arn, dest_arn, rate, status, "
                           "moved, to_move, started_ms, failure FROM sqs_move_tasks "
                           "ORDER BY started_ms",
                           -1, &s, NULL))
        return -1;
    while (sqlite3_step(s) == SQLITE_ROW) {
        store_move_task t;
        memset(&t, 0, sizeof t);
        sq_col_copy(s, 0, t.handle, sizeof t.handle);
        t.source_id = sqlite3_column_int64(s, 1);
        t.dest_id = sqlite3_column_int64(s, 2);
        sq_col_copy(s, 3, t.source_arn, sizeof t.source_arn);
        sq_col_copy(s, 4, t.dest_arn, sizeof t.dest_arn);
        t.rate = sqlite3_column_int(s, 5);
        sq_col_copy(s, 6, t.status, sizeof t.status);
        t.moved = sqlite3_column_int64(s, 7);
        t.to_move = sqlite3_column_int64(s, 8);
        t.started_ms = sqlite3_column_int64(s, 9);
        sq_col_copy(s, 10, t.failure, sizeof t.failure);
        fn(&t, arg);
    }
    sqlite3_finalize(s);
    return 0;
}

const store_backend store_backend_sqlite = {
    .name = "sqlite",
    .open = sqlite_open,
    .close = sqlite_close,
    .begin = sqlite_begin,
    .exec = sqlite_exec,
    .commit = sqlite_commit,
    .rollback = sqlite_rollback,
    .sync = sqlite_sync,
    .checkpoint = sqlite_checkpoint,
    .load_sqs_queues = sqlite_load_queues,
    .load_sqs_move_tasks = sqlite_load_move_tasks,
    .load_docs = sqlite_load_docs,
    .secret = sqlite_secret,
};
