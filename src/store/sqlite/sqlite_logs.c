/* The SQLite backend's CloudWatch Logs storage (STORE_LOGS_*): log groups, their streams
 * and their events.
 *
 * Events are rows of logs_events keyed by seq (AUTOINCREMENT: storing order, never reused)
 * with two indexes, (stream_id, ts, seq) and (group_id, ts, seq): GetLogEvents reads a range
 * of one stream's in either direction, FilterLogEvents a range of one group's forward (the
 * events of all its streams interleaved by time), and the retention sweep deletes from the
 * front of a group's. A read resumes from a position (ts, seq) by a row-value comparison on
 * the index, so a page costs its own rows however deep it is. Group and stream metadata
 * (ids, retention, event times, byte counts) changes in the same op as the events, inside
 * the batch's transaction; nothing of it is cached here or in the engine. */
#include "common/alloc.h"
#include "common/log.h"
#include "store/sqlite/sqlite_internal.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

enum {
    LG_GROUP_GET = SQ_AUX_LOGS_FIRST,
    LG_GROUP_INSERT,
    LG_GROUP_BYTES,
    LG_GROUP_RETENTION,
    LG_GROUP_DELETE,
    LG_GROUP_DELETE_STREAMS,
    LG_GROUP_DELETE_EVENTS,
    LG_STREAM_GET,
    LG_STREAM_INSERT,
    LG_STREAM_TOUCH,
    LG_STREAM_BYTES,
    LG_STREAM_DELETE,
    LG_STREAM_DELETE_EVENTS,
    LG_EVENT_INSERT,
    LG_LIST_GROUPS,
    LG_LIST_BY_NAME,
    LG_LIST_BY_NAME_DESC,
    LG_LIST_BY_LAST,
    LG_LIST_BY_LAST_DESC,
    LG_READ_STREAM,
    LG_READ_STREAM_BACK,
    LG_READ_GROUP,
    LG_EXPIRING_GROUPS,
    LG_EXPIRE,
    LG__END
};

_Static_assert(LG__END <= SQ_MAX_AUX_STMTS, "raise SQ_MAX_AUX_STMTS");

#define STREAM_COLUMNS "name, created_ms, first_ms, last_ms, ingest_ms FROM logs_streams "
#define EVENT_COLUMNS  "ts, seq, ingest_ms, message FROM logs_events "

static const char *const lg_sql[LG__END - SQ_AUX_LOGS_FIRST] = {
#define SQL(k) [k - SQ_AUX_LOGS_FIRST]
    SQL(LG_GROUP_GET) = "SELECT id, retention_days FROM logs_groups WHERE name = ?1",
    SQL(LG_GROUP_INSERT) =
        "INSERT INTO logs_groups(name, created_ms, retention_days) VALUES(?1, ?2, ?3)",
    SQL(LG_GROUP_BYTES) = "UPDATE logs_groups SET bytes = max(0, bytes + ?2) WHERE id = ?1",
    SQL(LG_GROUP_RETENTION) = "UPDATE logs_groups SET retention_days = ?2 WHERE id = ?1",
    SQL(LG_GROUP_DELETE) = "DELETE FROM logs_groups WHERE id = ?1",
    SQL(LG_GROUP_DELETE_STREAMS) = "DELETE FROM logs_streams WHERE group_id = ?1",
    SQL(LG_GROUP_DELETE_EVENTS) = "DELETE FROM logs_events WHERE group_id = ?1",
    SQL(LG_STREAM_GET) = "SELECT id FROM logs_streams WHERE group_id = ?1 AND name = ?2",
    SQL(LG_STREAM_INSERT) =
        "INSERT INTO logs_streams(group_id, name, created_ms) VALUES(?1, ?2, ?3)",
    SQL(LG_STREAM_TOUCH) = "UPDATE logs_streams SET first_ms = CASE WHEN first_ms = 0 OR "
                           "first_ms > ?2 THEN ?2 ELSE first_ms END, last_ms = max(last_ms, ?3), "
                           "ingest_ms = ?4 WHERE id = ?1",
    SQL(LG_STREAM_BYTES) =
        "SELECT coalesce(sum(length(message)), 0) FROM logs_events WHERE stream_id = ?1",
    SQL(LG_STREAM_DELETE) = "DELETE FROM logs_streams WHERE id = ?1",
    SQL(LG_STREAM_DELETE_EVENTS) = "DELETE FROM logs_events WHERE stream_id = ?1",
    SQL(LG_EVENT_INSERT) = "INSERT INTO logs_events(group_id, stream_id, ts, ingest_ms, message) "
                           "VALUES(?1, ?2, ?3, ?4, ?5)",
    /* ?1: resume after this name ("" from the start), ?2: the prefix ("" for all) */
    SQL(LG_LIST_GROUPS) = "SELECT name, created_ms, retention_days, bytes FROM logs_groups "
                          "WHERE name > ?1 AND name >= ?2 AND substr(name, 1, length(?2)) = ?2 "
                          "ORDER BY name LIMIT ?3",
    SQL(LG_LIST_BY_NAME) =
        "SELECT " STREAM_COLUMNS "WHERE group_id = ?1 AND name > ?2 AND name >= ?3 AND "
        "substr(name, 1, length(?3)) = ?3 ORDER BY name LIMIT ?4",
    /* ?2 NULL: from the end */
    SQL(LG_LIST_BY_NAME_DESC) =
        "SELECT " STREAM_COLUMNS "WHERE group_id = ?1 AND (?2 IS NULL OR name < ?2) AND "
        "substr(name, 1, length(?3)) = ?3 ORDER BY name DESC LIMIT ?4",
    SQL(LG_LIST_BY_LAST) = "SELECT " STREAM_COLUMNS "WHERE group_id = ?1 AND (last_ms, name) > "
                           "(?2, ?3) ORDER BY last_ms, name LIMIT ?4",
    SQL(LG_LIST_BY_LAST_DESC) =
        "SELECT " STREAM_COLUMNS "WHERE group_id = ?1 AND (last_ms, name) < (?2, ?3) ORDER BY "
        "last_ms DESC, name DESC LIMIT ?4",
    SQL(LG_READ_STREAM) = "SELECT " EVENT_COLUMNS "WHERE stream_id = ?1 AND (ts, seq) > (?2, ?3) "
                          "AND ts >= ?4 AND ts < ?5 ORDER BY ts, seq LIMIT ?6",
    SQL(LG_READ_STREAM_BACK) =
        "SELECT " EVENT_COLUMNS "WHERE stream_id = ?1 AND (ts, seq) < (?2, ?3) AND ts >= ?4 AND "
        "ts < ?5 ORDER BY ts DESC, seq DESC LIMIT ?6",
    /* CROSS JOIN keeps the events' index as the outer loop: rows come in (ts, seq) order
     * without a sort, and a page stops early. */
    SQL(LG_READ_GROUP) = "SELECT e.ts, e.seq, e.ingest_ms, e.message, s.name FROM logs_events e "
                         "CROSS JOIN logs_streams s ON s.id = e.stream_id WHERE e.group_id = ?1 "
                         "AND (e.ts, e.seq) > (?2, ?3) AND e.ts >= ?4 AND e.ts < ?5 "
                         "ORDER BY e.ts, e.seq LIMIT ?6",
    SQL(LG_EXPIRING_GROUPS) =
        "SELECT id, retention_days FROM logs_groups WHERE retention_days > 0 ORDER BY id",
    SQL(LG_EXPIRE) = "DELETE FROM logs_events WHERE seq IN (SELECT seq FROM logs_events WHERE "
                     "group_id = ?1 AND ts < ?2 ORDER BY ts LIMIT ?3) RETURNING length(message)",
#undef SQL
};

#define DAY_MS (24LL * 3600 * 1000)

static sqlite3_stmt *lg_stmt(sqlite_db *d, int which)
{
    return sq_aux(d, which, lg_sql[which - SQ_AUX_LOGS_FIRST]);
}

/* Runs a statement whose parameters 1 and 2 are two integers. */
static int exec_ids(sqlite_db *d, int which, int64_t a, int64_t b)
{
    sqlite3_stmt *s = lg_stmt(d, which);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, a);
    sqlite3_bind_int64(s, 2, b);
    return sq_step_done(d, s);
}

static int exec_id(sqlite_db *d, int which, int64_t id)
{
    sqlite3_stmt *s = lg_stmt(d, which);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, id);
    return sq_step_done(d, s);
}

/* ---- groups and streams --------------------------------------------------------------- */

/* The group's id (0 if there is none) and retention; -EIO on a failure. */
static int group_find(sqlite_db *d, const char *name, int64_t *id, int *retention_days)
{
    sqlite3_stmt *s = lg_stmt(d, LG_GROUP_GET);
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, name);
    *id = 0;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(s, 0);
        if (retention_days)
            *retention_days = sqlite3_column_int(s, 1);
    }
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}

static int group_insert(sqlite_db *d, const char *name, int64_t now, int retention_days,
                        int64_t *id)
{
    sqlite3_stmt *s = lg_stmt(d, LG_GROUP_INSERT);
    if (!s)
        return -EIO;
    sq_bind_text(s, 1, name);
    sqlite3_bind_int64(s, 2, now);
    sqlite3_bind_int(s, 3, retention_days);
    if (sq_step_done(d, s))
        return -EIO;
    *id = sqlite3_last_insert_rowid(d->db);
    return 0;
}

static int stream_find(sqlite_db *d, int64_t group, const char *name, int64_t *id)
{
    sqlite3_stmt *s = lg_stmt(d, LG_STREAM_GET);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, group);
    sq_bind_text(s, 2, name);
    *id = 0;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}

static int stream_insert(sqlite_db *d, int64_t group, const char *name, int64_t now, int64_t *id)
{
    sqlite3_stmt *s = lg_stmt(d, LG_STREAM_INSERT);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, group);
    sq_bind_text(s, 2, name);
    sqlite3_bind_int64(s, 3, now);
    if (sq_step_done(d, s))
        return -EIO;
    *id = sqlite3_last_insert_rowid(d->db);
    return 0;
}

static int delete_stream(sqlite_db *d, int64_t group, int64_t stream)
{
    sqlite3_stmt *s = lg_stmt(d, LG_STREAM_BYTES);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, stream);
    int64_t bytes = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    if (exec_id(d, LG_STREAM_DELETE_EVENTS, stream) || exec_id(d, LG_STREAM_DELETE, stream))
        return -EIO;
    return exec_ids(d, LG_GROUP_BYTES, group, -bytes);
}

static int delete_group(sqlite_db *d, int64_t group)
{
    if (exec_id(d, LG_GROUP_DELETE_EVENTS, group) || exec_id(d, LG_GROUP_DELETE_STREAMS, group))
        return -EIO;
    return exec_id(d, LG_GROUP_DELETE, group);
}

static int change(sqlite_db *d, store_op *op)
{
    typeof(op->u.logs_change) *c = &op->u.logs_change;
    int64_t group, stream = 0;
    c->outcome = STORE_LOGS_OK;
    if (group_find(d, c->group, &group, NULL))
        return -EIO;
    if (c->action == STORE_LOGS_CREATE_GROUP) {
        if (group) {
            c->outcome = STORE_LOGS_EXISTS;
            return 0;
        }
        return group_insert(d, c->group, op->now_ms, c->retention_days, &group);
    }
    if (!group) {
        c->outcome = STORE_LOGS_NO_GROUP;
        return 0;
    }
    if (c->stream && stream_find(d, group, c->stream, &stream))
        return -EIO;
    switch (c->action) {
    case STORE_LOGS_DELETE_GROUP:
        return delete_group(d, group);
    case STORE_LOGS_SET_RETENTION:
        return exec_ids(d, LG_GROUP_RETENTION, group, c->retention_days);
    case STORE_LOGS_CREATE_STREAM:
        if (stream) {
            c->outcome = STORE_LOGS_EXISTS;
            return 0;
        }
        return stream_insert(d, group, c->stream, op->now_ms, &stream);
    case STORE_LOGS_DELETE_STREAM:
        if (!stream) {
            c->outcome = STORE_LOGS_NO_STREAM;
            return 0;
        }
        return delete_stream(d, group, stream);
    default:
        return -EINVAL;
    }
}

/* ---- appending events ----------------------------------------------------------------- */

/* The group and stream of a PUT, created when asked; 0 ids (and the outcome) when missing. */
static int put_target(sqlite_db *d, store_op *op, int64_t *group, int64_t *stream,
                      int *retention_days)
{
    typeof(op->u.logs_put) *p = &op->u.logs_put;
    *stream = 0;
    *retention_days = 0;
    if (group_find(d, p->group, group, retention_days))
        return -EIO;
    if (!*group) {
        if (!p->create) {
            p->outcome = STORE_LOGS_NO_GROUP;
            return 0;
        }
        *retention_days = p->retention_days;
        if (group_insert(d, p->group, op->now_ms, p->retention_days, group))
            return -EIO;
    }
    if (stream_find(d, *group, p->stream, stream))
        return -EIO;
    if (!*stream) {
        if (!p->create) {
            p->outcome = STORE_LOGS_NO_STREAM;
            return 0;
        }
        if (stream_insert(d, *group, p->stream, op->now_ms, stream))
            return -EIO;
    }
    return 0;
}

static int put(sqlite_db *d, store_op *op)
{
    typeof(op->u.logs_put) *p = &op->u.logs_put;
    int64_t group, stream;
    int retention;
    p->outcome = STORE_LOGS_OK;
    p->expired = 0;
    if (put_target(d, op, &group, &stream, &retention))
        return -EIO;
    if (!stream)
        return 0;
    int64_t oldest_kept = retention > 0 ? op->now_ms - retention * DAY_MS : INT64_MIN;
    while (p->expired < p->n && p->events[p->expired].ts_ms < oldest_kept)
        p->expired++;
    if (p->expired == p->n)
        return 0;
    int64_t bytes = 0;
    for (size_t i = p->expired; i < p->n; i++) {
        const store_log_event *e = &p->events[i];
        sqlite3_stmt *s = lg_stmt(d, LG_EVENT_INSERT);
        if (!s)
            return -EIO;
        sqlite3_bind_int64(s, 1, group);
        sqlite3_bind_int64(s, 2, stream);
        sqlite3_bind_int64(s, 3, e->ts_ms);
        sqlite3_bind_int64(s, 4, op->now_ms);
        sqlite3_bind_blob(s, 5, e->message ? e->message : "", (int)e->len, SQLITE_STATIC);
        if (sq_step_done(d, s))
            return -EIO;
        bytes += (int64_t)e->len;
    }
    sqlite3_stmt *s = lg_stmt(d, LG_STREAM_TOUCH);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, stream);
    sqlite3_bind_int64(s, 2, p->events[p->expired].ts_ms);
    sqlite3_bind_int64(s, 3, p->events[p->n - 1].ts_ms);
    sqlite3_bind_int64(s, 4, op->now_ms);
    if (sq_step_done(d, s))
        return -EIO;
    return exec_ids(d, LG_GROUP_BYTES, group, bytes);
}

/* ---- listing groups and streams ------------------------------------------------------- */

static void col_group(sqlite3_stmt *s, store_log_item *it)
{
    it->name = sq_col_dup(s, 0);
    it->created_ms = sqlite3_column_int64(s, 1);
    it->retention_days = sqlite3_column_int(s, 2);
    it->bytes = sqlite3_column_int64(s, 3);
}

static void col_stream(sqlite3_stmt *s, store_log_item *it)
{
    it->name = sq_col_dup(s, 0);
    it->created_ms = sqlite3_column_int64(s, 1);
    it->first_ms = sqlite3_column_int64(s, 2);
    it->last_ms = sqlite3_column_int64(s, 3);
    it->ingest_ms = sqlite3_column_int64(s, 4);
}

/* The statement of a LIST, bound (its LIMIT included); NULL on a failure. */
static sqlite3_stmt *list_stmt(sqlite_db *d, store_op *op, int64_t group)
{
    typeof(op->u.logs_list) *l = &op->u.logs_list;
    const char *prefix = l->prefix ? l->prefix : "";
    const char *after = l->after_name;
    sqlite3_stmt *s;
    if (!l->group) {
        if (!(s = lg_stmt(d, LG_LIST_GROUPS)))
            return NULL;
        sq_bind_text(s, 1, after ? after : "");
        sq_bind_text(s, 2, prefix);
        sqlite3_bind_int(s, 3, l->max + 1);
        return s;
    }
    if (l->by_last_event) {
        if (!(s = lg_stmt(d, l->descending ? LG_LIST_BY_LAST_DESC : LG_LIST_BY_LAST)))
            return NULL;
        sqlite3_bind_int64(s, 2, after ? l->after_last_ms : l->descending ? INT64_MAX : -1);
        sq_bind_text(s, 3, after ? after : "");
    } else if (l->descending) {
        if (!(s = lg_stmt(d, LG_LIST_BY_NAME_DESC)))
            return NULL;
        sq_bind_text(s, 2, after);
        sq_bind_text(s, 3, prefix);
    } else {
        if (!(s = lg_stmt(d, LG_LIST_BY_NAME)))
            return NULL;
        sq_bind_text(s, 2, after ? after : "");
        sq_bind_text(s, 3, prefix);
    }
    sqlite3_bind_int64(s, 1, group);
    sqlite3_bind_int(s, 4, l->max + 1);
    return s;
}

static int list(sqlite_db *d, store_op *op)
{
    typeof(op->u.logs_list) *l = &op->u.logs_list;
    l->outcome = STORE_LOGS_OK;
    l->n = 0;
    l->more = 0;
    int64_t group = 0;
    if (l->group) {
        if (group_find(d, l->group, &group, NULL))
            return -EIO;
        if (!group) {
            l->outcome = STORE_LOGS_NO_GROUP;
            return 0;
        }
    }
    sqlite3_stmt *s = list_stmt(d, op, group);
    if (!s)
        return -EIO;
    l->items = xcalloc((size_t)(l->max > 0 ? l->max : 1), sizeof *l->items);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if ((int)l->n == l->max) {
            l->more = 1;
            break;
        }
        store_log_item *it = &l->items[l->n++];
        if (l->group)
            col_stream(s, it);
        else
            col_group(s, it);
    }
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}

/* ---- reading events ------------------------------------------------------------------- */

/* The bound statement of a READ of group (and stream, 0 for the whole group). */
static sqlite3_stmt *read_stmt(sqlite_db *d, store_op *op, int64_t group, int64_t stream)
{
    typeof(op->u.logs_read) *r = &op->u.logs_read;
    int which = !stream ? LG_READ_GROUP : r->backward ? LG_READ_STREAM_BACK : LG_READ_STREAM;
    sqlite3_stmt *s = lg_stmt(d, which);
    if (!s)
        return NULL;
    /* One row past the bound tells whether more remain; a filtered read without a scan
     * bound reads on until it has its events. */
    int64_t limit = r->max_scan > 0 ? (int64_t)r->max_scan + 1 : r->keep ? -1 : (int64_t)r->max + 1;
    sqlite3_bind_int64(s, 1, stream ? stream : group);
    sqlite3_bind_int64(s, 2, r->pos.ts_ms);
    sqlite3_bind_int64(s, 3, r->pos.seq);
    sqlite3_bind_int64(s, 4, r->from_ms);
    sqlite3_bind_int64(s, 5, r->to_ms);
    sqlite3_bind_int64(s, 6, limit);
    return s;
}

static void take_event(sqlite3_stmt *s, store_log_event *e, int with_stream)
{
    e->ts_ms = sqlite3_column_int64(s, 0);
    e->seq = sqlite3_column_int64(s, 1);
    e->ingest_ms = sqlite3_column_int64(s, 2);
    e->len = (size_t)sqlite3_column_bytes(s, 3);
    e->message = xmalloc(e->len + 1);
    if (e->len)
        memcpy(e->message, sqlite3_column_blob(s, 3), e->len);
    e->message[e->len] = '\0';
    e->stream = with_stream ? sq_col_dup(s, 4) : NULL;
}

static void reverse(store_log_event *items, size_t n)
{
    for (size_t i = 0; i < n / 2; i++) {
        store_log_event t = items[i];
        items[i] = items[n - 1 - i];
        items[n - 1 - i] = t;
    }
}

/* Steps s, keeping what r->keep accepts, until a bound is reached. */
static int read_rows(sqlite3_stmt *s, store_op *op, int whole_group)
{
    typeof(op->u.logs_read) *r = &op->u.logs_read;
    size_t cap = 0;
    int64_t bytes = 0;
    int scanned = 0, rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        size_t len = (size_t)sqlite3_column_bytes(s, 3);
        int full = (int)r->n >= r->max || (r->max_scan > 0 && scanned >= r->max_scan) ||
                   (r->n > 0 && r->max_bytes > 0 && bytes + (int64_t)len > r->max_bytes);
        if (full) {
            r->more = 1;
            break;
        }
        scanned++;
        r->last.ts_ms = sqlite3_column_int64(s, 0);
        r->last.seq = sqlite3_column_int64(s, 1);
        const char *stream = whole_group ? (const char *)sqlite3_column_text(s, 4) : r->stream;
        const char *msg = (const char *)sqlite3_column_blob(s, 3);
        if (r->keep && !r->keep(r->keep_arg, stream ? stream : "", msg ? msg : "", len))
            continue;
        XGROW(r->items, r->n, cap);
        take_event(s, &r->items[r->n++], whole_group);
        bytes += (int64_t)len;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return -EIO;
    if (r->backward)
        reverse(r->items, r->n);
    return 0;
}

static int read_events(sqlite_db *d, store_op *op)
{
    typeof(op->u.logs_read) *r = &op->u.logs_read;
    r->outcome = STORE_LOGS_OK;
    r->items = NULL;
    r->n = 0;
    r->more = 0;
    r->last = r->pos;
    int64_t group, stream = 0;
    if (group_find(d, r->group, &group, NULL))
        return -EIO;
    if (!group) {
        r->outcome = STORE_LOGS_NO_GROUP;
        return 0;
    }
    if (r->stream) {
        if (stream_find(d, group, r->stream, &stream))
            return -EIO;
        if (!stream) {
            r->outcome = STORE_LOGS_NO_STREAM;
            return 0;
        }
    } else if (r->backward) {
        return -EINVAL; /* a group is only read forward */
    }
    sqlite3_stmt *s = read_stmt(d, op, group, stream);
    if (!s)
        return -EIO;
    return read_rows(s, op, stream == 0);
}

/* ---- retention ------------------------------------------------------------------------ */

typedef struct expiring {
    int64_t group;
    int days;
} expiring;

/* Deletes up to max of group's events older than before; adds their number to *deleted. */
static int expire_group(sqlite_db *d, int64_t group, int64_t before, int max, int64_t *deleted)
{
    sqlite3_stmt *s = lg_stmt(d, LG_EXPIRE);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, group);
    sqlite3_bind_int64(s, 2, before);
    sqlite3_bind_int(s, 3, max);
    int64_t bytes = 0, n = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        bytes += sqlite3_column_int64(s, 0);
        n++;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return -EIO;
    *deleted += n;
    return n ? exec_ids(d, LG_GROUP_BYTES, group, -bytes) : 0;
}

static int expire(sqlite_db *d, store_op *op)
{
    op->u.logs_expire.deleted = 0;
    expiring *groups = NULL;
    size_t n = 0, cap = 0;
    sqlite3_stmt *s = lg_stmt(d, LG_EXPIRING_GROUPS);
    if (!s)
        return -EIO;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        XGROW(groups, n, cap);
        groups[n++] = (expiring){sqlite3_column_int64(s, 0), sqlite3_column_int(s, 1)};
    }
    sqlite3_reset(s);
    rc = rc == SQLITE_DONE ? 0 : -EIO;
    for (size_t i = 0; i < n && rc == 0; i++) {
        int64_t left = op->u.logs_expire.max - op->u.logs_expire.deleted;
        if (left <= 0)
            break;
        rc = expire_group(d, groups[i].group, op->now_ms - groups[i].days * DAY_MS, (int)left,
                          &op->u.logs_expire.deleted);
    }
    xfree(groups);
    return rc;
}

/* ---- dispatch ------------------------------------------------------------------------- */

int sqlite_logs_exec(sqlite_db *d, store_op *op)
{
    switch (op->kind) {
    case STORE_LOGS_PUT:
        return put(d, op);
    case STORE_LOGS_CHANGE:
        return change(d, op);
    case STORE_LOGS_LIST:
        return list(d, op);
    case STORE_LOGS_READ:
        return read_events(d, op);
    case STORE_LOGS_EXPIRE:
        return expire(d, op);
    default:
        log_error("not a logs op", "kind=%d", (int)op->kind);
        return -EINVAL;
    }
}
