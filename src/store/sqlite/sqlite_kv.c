/* The SQLite backend's key-value items (STORE_KV_*), the storage of DynamoDB tables.
 *
 * Rows of kv_items are keyed (tbl, h, pk, sk), h being a 32-bit hash of pk computed here:
 * a Query reads the rows of one (tbl, h, pk) in sk order (a range of the primary key, in
 * either direction), a Scan reads (tbl, h, pk, sk) in order from a resume point, its
 * segments being ranges of h. A mutation reads the current row, hands it to the caller's
 * pure callback and writes what it decides, all inside the batch's transaction: a
 * conditional write cannot interleave with another write of the same key. kv_stats keeps
 * each table's item count and total item size, updated in the same statement sequence.
 * A mutation may also append a stream record (kv_stream_records, numbered per stream by
 * kv_streams) in the same savepoint as its writes: no change without its record. */
#include "common/alloc.h"
#include "common/log.h"
#include "store/sqlite/sqlite_internal.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

enum {
    KV_GET = SQ_AUX_KV_FIRST,
    KV_PUT,
    KV_DELETE,
    KV_STATS_ADD,
    KV_QUERY_FWD,
    KV_QUERY_BACK,
    KV_SCAN,
    KV_DROP_ITEMS,
    KV_DROP_STATS,
    KV_STATS_GET,
    KV_STREAM_NEXT,
    KV_STREAM_APPEND,
    KV_STREAM_BOUNDS,
    KV_STREAM_READ,
    KV_STREAM_OLDEST,
    KV_STREAM_DELETE,
    KV_STREAM_TRIMMED,
    KV__END
};

_Static_assert(KV__END <= SQ_AUX_LOGS_FIRST, "raise SQ_AUX_LOGS_FIRST (and SQ_MAX_AUX_STMTS)");

static const char *const kv_sql[KV__END - SQ_AUX_KV_FIRST] = {
    [KV_GET - SQ_AUX_KV_FIRST] =
        "SELECT item, size FROM kv_items WHERE tbl = ?1 AND h = ?2 AND pk = ?3 AND sk = ?4",
    [KV_PUT - SQ_AUX_KV_FIRST] = "INSERT OR REPLACE INTO kv_items(tbl, h, pk, sk, size, item) "
                                 "VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
    [KV_DELETE - SQ_AUX_KV_FIRST] =
        "DELETE FROM kv_items WHERE tbl = ?1 AND h = ?2 AND pk = ?3 AND sk = ?4",
    [KV_STATS_ADD - SQ_AUX_KV_FIRST] =
        "INSERT INTO kv_stats(tbl, items, bytes) VALUES(?1, ?2, ?3) ON CONFLICT(tbl) DO "
        "UPDATE SET items = items + excluded.items, bytes = bytes + excluded.bytes",
    [KV_QUERY_FWD - SQ_AUX_KV_FIRST] =
        "SELECT item, size FROM kv_items WHERE tbl = ?1 AND h = ?2 AND pk = ?3 AND sk >= ?4 "
        "AND sk < ?5 ORDER BY sk ASC LIMIT ?6",
    [KV_QUERY_BACK - SQ_AUX_KV_FIRST] =
        "SELECT item, size FROM kv_items WHERE tbl = ?1 AND h = ?2 AND pk = ?3 AND sk >= ?4 "
        "AND sk < ?5 ORDER BY sk DESC LIMIT ?6",
    [KV_SCAN - SQ_AUX_KV_FIRST] =
        "SELECT item, size FROM kv_items WHERE tbl = ?1 AND (h, pk, sk) > (?2, ?3, ?4) AND "
        "h < ?5 ORDER BY h, pk, sk LIMIT ?6",
    [KV_DROP_ITEMS - SQ_AUX_KV_FIRST] = "DELETE FROM kv_items WHERE tbl = ?1",
    [KV_DROP_STATS - SQ_AUX_KV_FIRST] = "DELETE FROM kv_stats WHERE tbl = ?1",
    [KV_STATS_GET - SQ_AUX_KV_FIRST] = "SELECT items, bytes FROM kv_stats WHERE tbl = ?1",
    [KV_STREAM_NEXT - SQ_AUX_KV_FIRST] =
        "INSERT INTO kv_streams(stream, last_seq) VALUES(?1, 1) ON CONFLICT(stream) DO "
        "UPDATE SET last_seq = last_seq + 1 RETURNING last_seq",
    [KV_STREAM_APPEND - SQ_AUX_KV_FIRST] =
        "INSERT INTO kv_stream_records(stream, seq, created_ms, record) VALUES(?1, ?2, ?3, ?4)",
    [KV_STREAM_BOUNDS - SQ_AUX_KV_FIRST] =
        "SELECT last_seq, trimmed_seq FROM kv_streams WHERE stream = ?1",
    [KV_STREAM_READ - SQ_AUX_KV_FIRST] =
        "SELECT seq, created_ms, record FROM kv_stream_records WHERE stream = ?1 AND seq > ?2 "
        "ORDER BY seq LIMIT ?3",
    [KV_STREAM_OLDEST - SQ_AUX_KV_FIRST] =
        "SELECT stream, seq FROM kv_stream_records WHERE created_ms < ?1 ORDER BY created_ms "
        "LIMIT ?2",
    [KV_STREAM_DELETE - SQ_AUX_KV_FIRST] =
        "DELETE FROM kv_stream_records WHERE stream = ?1 AND seq = ?2",
    [KV_STREAM_TRIMMED - SQ_AUX_KV_FIRST] =
        "UPDATE kv_streams SET trimmed_seq = max(trimmed_seq, ?2) WHERE stream = ?1",
};

static sqlite3_stmt *kv_stmt(sqlite_db *d, int which)
{
    return sq_aux(d, which, kv_sql[which - SQ_AUX_KV_FIRST]);
}

/* FNV-1a with murmur3's finaliser, 32 bits: spreads partition keys evenly over the scan
 * order, high bits included (segments are ranges of the high bits). Stored: never change it. */
static int64_t kv_hash(const unsigned char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return (int64_t)h;
}

static void bind_blob(sqlite3_stmt *s, int i, const unsigned char *p, size_t n)
{
    sqlite3_bind_blob(s, i, p ? (const void *)p : "", (int)n, SQLITE_STATIC);
}

/* Binds (tbl, h, pk, sk) to parameters 1..4. */
static void bind_key(sqlite3_stmt *s, const store_kv_key *k)
{
    sqlite3_bind_int64(s, 1, k->table);
    sqlite3_bind_int64(s, 2, kv_hash(k->pk, k->pk_len));
    bind_blob(s, 3, k->pk, k->pk_len);
    bind_blob(s, 4, k->sk, k->sk_len);
}

static void col_item(sqlite3_stmt *s, store_kv_item *out)
{
    const void *p = sqlite3_column_blob(s, 0);
    out->len = (size_t)sqlite3_column_bytes(s, 0);
    out->item = xmalloc(out->len + 1);
    if (out->len)
        memcpy(out->item, p, out->len);
    out->item[out->len] = '\0';
    out->size = sqlite3_column_int64(s, 1);
}

/* Reads the item at k into out (out->item NULL if there is none). */
static int kv_read(sqlite_db *d, const store_kv_key *k, store_kv_item *out)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *s = kv_stmt(d, KV_GET);
    if (!s)
        return -EIO;
    bind_key(s, k);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        col_item(s, out);
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}

static int stats_add(sqlite_db *d, int64_t table, int64_t items, int64_t bytes)
{
    if (items == 0 && bytes == 0)
        return 0;
    sqlite3_stmt *s = kv_stmt(d, KV_STATS_ADD);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, table);
    sqlite3_bind_int64(s, 2, items);
    sqlite3_bind_int64(s, 3, bytes);
    return sq_step_done(d, s);
}

static int kv_write(sqlite_db *d, const store_kv_key *k, const store_kv_item *old, int decision,
                    const store_kv_write *w)
{
    int had = old->item != NULL;
    sqlite3_stmt *s = kv_stmt(d, decision == STORE_KV_PUT ? KV_PUT : KV_DELETE);
    if (!s)
        return -EIO;
    bind_key(s, k);
    if (decision == STORE_KV_PUT) {
        sqlite3_bind_int64(s, 5, w->size);
        sqlite3_bind_blob(s, 6, w->item ? w->item : "", (int)w->len, SQLITE_STATIC);
    }
    if (sq_step_done(d, s))
        return -EIO;
    if (decision == STORE_KV_PUT)
        return stats_add(d, k->table, had ? 0 : 1, w->size - (had ? old->size : 0));
    return had ? stats_add(d, k->table, -1, -old->size) : 0;
}

/* Writes a side row (put or delete), keeping its table's statistics. */
static int kv_side(sqlite_db *d, const store_kv_side *side)
{
    store_kv_item old;
    if (kv_read(d, &side->key, &old))
        return -EIO;
    int rc = 0;
    if (side->item) {
        store_kv_write w = {.item = side->item, .len = side->len, .size = side->size};
        rc = kv_write(d, &side->key, &old, STORE_KV_PUT, &w);
    } else if (old.item) {
        rc = kv_write(d, &side->key, &old, STORE_KV_DELETE, NULL);
    }
    xfree(old.item);
    return rc;
}

static void sides_free(store_kv_write *w)
{
    for (size_t i = 0; i < w->nsides; i++) {
        xfree((void *)w->sides[i].key.pk);
        xfree((void *)w->sides[i].key.sk);
        xfree(w->sides[i].item);
    }
    xfree(w->sides);
}

/* Appends w's stream record with its stream's next sequence number. */
static int stream_append(sqlite_db *d, const store_kv_write *w, int64_t now_ms)
{
    sqlite3_stmt *s = kv_stmt(d, KV_STREAM_NEXT);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, w->stream);
    int rc = sqlite3_step(s);
    int64_t seq = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    if (rc == SQLITE_ROW)
        rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE || seq <= 0)
        return -EIO;
    s = kv_stmt(d, KV_STREAM_APPEND);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, w->stream);
    sqlite3_bind_int64(s, 2, seq);
    sqlite3_bind_int64(s, 3, now_ms);
    sqlite3_bind_blob(s, 4, w->record, (int)w->record_len, SQLITE_STATIC);
    return sq_step_done(d, s) ? -EIO : 0;
}

static int kv_mutate(sqlite_db *d, store_op *op)
{
    const store_kv_key *k = &op->u.kv_mutate.key;
    store_kv_item old;
    if (kv_read(d, k, &old))
        return -EIO;
    store_kv_write w = {0};
    int decision = op->u.kv_mutate.fn(op->u.kv_mutate.arg, old.item, old.len, &w);
    int rc = decision < 0 ? decision : 0;
    /* With side rows the op's writes are all or nothing: a savepoint around them. */
    char err[200];
    int changes = decision == STORE_KV_PUT || (decision == STORE_KV_DELETE && old.item);
    int record = changes && w.stream > 0 && w.record;
    int guarded = decision > 0 && (w.nsides > 0 || record);
    if (guarded && sq_exec_sql(d, "SAVEPOINT kv_mutate", err, sizeof err))
        rc = -EIO;
    if (rc == 0 && changes)
        rc = kv_write(d, k, &old, decision, &w);
    for (size_t i = 0; rc == 0 && decision > 0 && i < w.nsides; i++)
        rc = kv_side(d, &w.sides[i]);
    if (rc == 0 && record)
        rc = stream_append(d, &w, op->now_ms);
    if (guarded && rc != 0)
        sq_exec_sql(d, "ROLLBACK TO kv_mutate", err, sizeof err);
    if (guarded && sq_exec_sql(d, "RELEASE kv_mutate", err, sizeof err) && rc == 0)
        rc = -EIO;
    sides_free(&w);
    xfree(w.item);
    xfree(w.record);
    xfree(old.item);
    return rc;
}

static int kv_get(sqlite_db *d, store_op *op)
{
    op->u.kv_get.items = xcalloc(op->u.kv_get.n ? op->u.kv_get.n : 1, sizeof(store_kv_item));
    for (size_t i = 0; i < op->u.kv_get.n; i++)
        if (kv_read(d, &op->u.kv_get.keys[i], &op->u.kv_get.items[i]))
            return -EIO;
    return 0;
}

/* a < b in memcmp order (a shorter prefix first). */
static int blob_less(const unsigned char *a, size_t an, const unsigned char *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    int c = n ? memcmp(a, b, n) : 0;
    return c < 0 || (c == 0 && an < bn);
}

/* Binds the statement of a Query: sort keys in [lo, hi) narrowed by the resume point. */
static sqlite3_stmt *bind_query(sqlite_db *d, store_op *op, unsigned char **after)
{
    typeof(op->u.kv_range) *r = &op->u.kv_range;
    sqlite3_stmt *s = kv_stmt(d, r->forward ? KV_QUERY_FWD : KV_QUERY_BACK);
    if (!s)
        return NULL;
    static const unsigned char top = 0xff;
    const unsigned char *lo = r->lo ? r->lo : (const unsigned char *)"", *hi = r->hi ? r->hi : &top;
    size_t lo_len = r->lo ? r->lo_len : 0, hi_len = r->hi ? r->hi_len : 1;
    if (r->start_pk && r->forward) {
        /* The first key after start_sk is start_sk followed by a zero byte. */
        *after = xmalloc(r->start_sk_len + 1);
        if (r->start_sk_len)
            memcpy(*after, r->start_sk, r->start_sk_len);
        (*after)[r->start_sk_len] = 0;
        if (blob_less(lo, lo_len, *after, r->start_sk_len + 1)) {
            lo = *after;
            lo_len = r->start_sk_len + 1;
        }
    } else if (r->start_pk) {
        const unsigned char *ssk = r->start_sk ? r->start_sk : (const unsigned char *)"";
        if (blob_less(ssk, r->start_sk_len, hi, hi_len)) {
            hi = ssk;
            hi_len = r->start_sk_len;
        }
    }
    sqlite3_bind_int64(s, 1, r->table);
    sqlite3_bind_int64(s, 2, kv_hash(r->pk, r->pk_len));
    bind_blob(s, 3, r->pk, r->pk_len);
    bind_blob(s, 4, lo, lo_len);
    bind_blob(s, 5, hi, hi_len);
    return s;
}

/* Binds the statement of a Scan: the segment's hash range, from the resume point. */
static sqlite3_stmt *bind_scan(sqlite_db *d, store_op *op)
{
    typeof(op->u.kv_range) *r = &op->u.kv_range;
    sqlite3_stmt *s = kv_stmt(d, KV_SCAN);
    if (!s)
        return NULL;
    int64_t total = r->total_segments > 1 ? r->total_segments : 1;
    int64_t seg = r->total_segments > 1 ? r->segment : 0;
    int64_t h_lo = (int64_t)(((uint64_t)seg << 32) / (uint64_t)total);
    int64_t h_hi = (int64_t)(((uint64_t)(seg + 1) << 32) / (uint64_t)total);
    sqlite3_bind_int64(s, 1, r->table);
    if (r->start_pk) {
        sqlite3_bind_int64(s, 2, kv_hash(r->start_pk, r->start_pk_len));
        bind_blob(s, 3, r->start_pk, r->start_pk_len);
        bind_blob(s, 4, r->start_sk, r->start_sk_len);
    } else { /* every pk is longer than "": (h_lo, "", "") precedes the segment's first row */
        sqlite3_bind_int64(s, 2, h_lo);
        bind_blob(s, 3, NULL, 0);
        bind_blob(s, 4, NULL, 0);
    }
    sqlite3_bind_int64(s, 5, h_hi);
    return s;
}

static int kv_range(sqlite_db *d, store_op *op)
{
    typeof(op->u.kv_range) *r = &op->u.kv_range;
    int max = r->max_items > 0 ? r->max_items : 1;
    unsigned char *after = NULL;
    sqlite3_stmt *s = r->pk ? bind_query(d, op, &after) : bind_scan(d, op);
    if (!s) {
        xfree(after);
        return -EIO;
    }
    sqlite3_bind_int(s, 6, max + 1); /* one more: are there items after the page? */
    size_t cap = 16;
    r->items = xcalloc(cap, sizeof(store_kv_item));
    r->n = 0;
    r->more = 0;
    int64_t bytes = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if ((int)r->n >= max || (r->max_bytes > 0 && bytes >= r->max_bytes)) {
            r->more = 1;
            break;
        }
        if (r->n == cap) {
            cap *= 2;
            r->items = xrealloc(r->items, cap * sizeof(store_kv_item));
        }
        col_item(s, &r->items[r->n]);
        bytes += r->items[r->n].size;
        r->n++;
    }
    sqlite3_reset(s);
    xfree(after);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}

static int kv_drop(sqlite_db *d, int64_t table)
{
    for (int which = KV_DROP_ITEMS; which <= KV_DROP_STATS; which++) {
        sqlite3_stmt *s = kv_stmt(d, which);
        if (!s)
            return -EIO;
        sqlite3_bind_int64(s, 1, table);
        if (sq_step_done(d, s))
            return -EIO;
    }
    return 0;
}

static int kv_stats(sqlite_db *d, store_op *op)
{
    sqlite3_stmt *s = kv_stmt(d, KV_STATS_GET);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, op->u.kv_table.table);
    op->u.kv_table.items = op->u.kv_table.bytes = 0;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        op->u.kv_table.items = sqlite3_column_int64(s, 0);
        op->u.kv_table.bytes = sqlite3_column_int64(s, 1);
    }
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}

/* ---- stream records ------------------------------------------------------------------ */

static int stream_bounds(sqlite_db *d, store_op *op)
{
    sqlite3_stmt *s = kv_stmt(d, KV_STREAM_BOUNDS);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, op->u.kv_stream.stream);
    op->u.kv_stream.last_seq = op->u.kv_stream.trimmed_seq = 0;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        op->u.kv_stream.last_seq = sqlite3_column_int64(s, 0);
        op->u.kv_stream.trimmed_seq = sqlite3_column_int64(s, 1);
    }
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}

static int stream_read(sqlite_db *d, store_op *op)
{
    typeof(op->u.kv_stream) *r = &op->u.kv_stream;
    r->items = NULL;
    r->n = 0;
    if (stream_bounds(d, op))
        return -EIO;
    if (r->max <= 0)
        return 0;
    sqlite3_stmt *s = kv_stmt(d, KV_STREAM_READ);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, r->stream);
    sqlite3_bind_int64(s, 2, r->after_seq);
    sqlite3_bind_int(s, 3, r->max);
    r->items = xcalloc((size_t)r->max, sizeof *r->items);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && (int)r->n < r->max) {
        store_kv_record *rec = &r->items[r->n++];
        rec->seq = sqlite3_column_int64(s, 0);
        rec->created_ms = sqlite3_column_int64(s, 1);
        const void *p = sqlite3_column_blob(s, 2);
        rec->len = (size_t)sqlite3_column_bytes(s, 2);
        rec->record = xmalloc(rec->len + 1);
        if (rec->len)
            memcpy(rec->record, p, rec->len);
        rec->record[rec->len] = '\0';
    }
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}

/* Deletes one record and moves its stream's trim point past it. */
static int stream_delete(sqlite_db *d, int64_t stream, int64_t seq)
{
    for (int which = KV_STREAM_DELETE; which <= KV_STREAM_TRIMMED; which++) {
        sqlite3_stmt *s = kv_stmt(d, which);
        if (!s)
            return -EIO;
        sqlite3_bind_int64(s, 1, stream);
        sqlite3_bind_int64(s, 2, seq);
        if (sq_step_done(d, s))
            return -EIO;
    }
    return 0;
}

static int stream_trim(sqlite_db *d, store_op *op)
{
    int max = op->u.kv_trim.max > 0 ? op->u.kv_trim.max : 1;
    sqlite3_stmt *s = kv_stmt(d, KV_STREAM_OLDEST);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, op->u.kv_trim.before_ms);
    sqlite3_bind_int(s, 2, max);
    int64_t *keys = xcalloc((size_t)max * 2, sizeof *keys);
    size_t n = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && (int)n < max) {
        keys[2 * n] = sqlite3_column_int64(s, 0);
        keys[2 * n + 1] = sqlite3_column_int64(s, 1);
        n++;
    }
    sqlite3_reset(s);
    int out = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
    for (size_t i = 0; out == 0 && i < n; i++)
        out = stream_delete(d, keys[2 * i], keys[2 * i + 1]);
    op->u.kv_trim.deleted = out == 0 ? (int64_t)n : 0;
    xfree(keys);
    return out;
}

int sqlite_kv_exec(sqlite_db *d, store_op *op)
{
    switch (op->kind) {
    case STORE_KV_MUTATE:
        return kv_mutate(d, op);
    case STORE_KV_GET:
        return kv_get(d, op);
    case STORE_KV_RANGE:
        return kv_range(d, op);
    case STORE_KV_DROP:
        return kv_drop(d, op->u.kv_table.table);
    case STORE_KV_STATS:
        return kv_stats(d, op);
    case STORE_KV_STREAM_READ:
        return stream_read(d, op);
    case STORE_KV_STREAM_TRIM:
        return stream_trim(d, op);
    default:
        log_error("not a key-value op", "kind=%d", (int)op->kind);
        return -EINVAL;
    }
}
