/* DynamoDB's background sweep: time-to-live expiry and stream trimming, on a loop timer.
 *
 * Every SWEEP_INTERVAL_MS (SLUICE_DDB_SWEEP_MS overrides it) a pass walks, one page at a
 * time, each table with TimeToLive enabled: a Scan page (KV_RANGE of SWEEP_PAGE items), then
 * one group of KV_MUTATEs for the page's expired items, each re-checking inside the commit
 * that the item is still expired before deleting it (with its index entries and, if the
 * table has a stream, a REMOVE record whose userIdentity is the DynamoDB service, as AWS
 * marks TTL deletions). An item is expired when its TTL attribute is a number of epoch
 * seconds in the past (and not more than five years past, as AWS); items without it, or with
 * another type, are kept. Only one store op of the sweep is in flight at a time, each a short
 * commit: the loop and the commit thread are never held long. With no TTL table and no
 * stream a tick costs a walk of the table list and nothing else.
 *
 * The same tick trims stream records older than 24 hours (d->stream_retention_ms),
 * SWEEP_TRIM_MAX at a time. */
#include "services/dynamodb/ddb_internal.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"
#include "protocol/json_codec.h"

#include <stdlib.h>
#include <string.h>

#define SWEEP_INTERVAL_MS 1000
#define SWEEP_PAGE        100
#define SWEEP_TRIM_MAX    1000
#define TTL_MAX_AGE_S     (5LL * 365 * 24 * 3600)

typedef struct ttl_item {
    const ddb_table *table;
    const char *attr; /* the sweep's page_attr */
    double now_s;
    buf pk, sk;
} ttl_item;

struct ddb_sweep {
    dynamodb *d;
    uv_timer_t timer;
    int busy, trim_busy;
    int64_t trim_at_ms;          /* the next trim (sooner after one that hit SWEEP_TRIM_MAX) */
    int closing, closed, orphan; /* the timer's close; orphan: free when it completes */
    char *table;                 /* the table the pass is at, NULL between passes */
    buf start_pk, start_sk;
    int resumed;
    store_op scan, group, trim;
    ttl_item *items;
    char *page_attr; /* the TTL attribute, copied: UpdateTimeToLive may change the doc */
    store_op *muts;
    store_op **children;
    size_t n;
    int more;
};

static void sweep_next(ddb_sweep *s);

/* The TTL attribute's value is a number of seconds in the past (and within five years). */
static int ttl_expired(const json_t *item, const char *attr, double now_s)
{
    json_t *av = json_object_get(item, attr);
    const char *n = ddb_str(av, "N");
    if (!n || json_object_size(av) != 1)
        return 0;
    char *end;
    double at = strtod(n, &end);
    return *end == '\0' && at < now_s && at > now_s - (double)TTL_MAX_AGE_S;
}

/* The store_kv_mutate_fn of one TTL deletion (commit thread). */
static int ttl_apply(void *arg, const char *old, size_t old_len, store_kv_write *out)
{
    ttl_item *it = arg;
    if (!old)
        return STORE_KV_KEEP;
    char jerr[128];
    json_t *item = jsonc_parse(old, old_len, jerr, sizeof jerr);
    if (!item || !ttl_expired(item, it->attr, it->now_s)) { /* rewritten since the scan */
        json_decref(item);
        return STORE_KV_KEEP;
    }
    ddb_indexes_sides(it->table, item, NULL, out);
    ddb_stream_record(it->table, item, NULL, 1, out);
    json_decref(item);
    return STORE_KV_DELETE;
}

static void page_clear(ddb_sweep *s)
{
    for (size_t i = 0; i < s->n; i++) {
        buf_free(&s->items[i].pk);
        buf_free(&s->items[i].sk);
    }
    xfree(s->items);
    xfree(s->muts);
    xfree(s->children);
    xfree(s->page_attr);
    s->page_attr = NULL;
    s->items = NULL;
    s->muts = NULL;
    s->children = NULL;
    s->n = 0;
    store_op_clear(&s->scan);
}

/* The next table (in name order) after `after` (NULL: the first) with TTL enabled. */
static ddb_table *next_ttl_table(dynamodb *d, const char *after)
{
    for (size_t i = 0; i < d->ntables; i++)
        if ((!after || strcmp(d->tables[i]->name, after) > 0) &&
            ddb_str(d->tables[i]->doc, "TimeToLiveAttribute"))
            return d->tables[i];
    return NULL;
}

static void move_to(ddb_sweep *s, const char *table)
{
    xfree(s->table);
    s->table = table ? xstrdup(table) : NULL;
    s->resumed = 0;
    buf_reset(&s->start_pk);
    buf_reset(&s->start_sk);
}

static void group_done(store_op *op)
{
    ddb_sweep *s = op->ctx;
    if (op->status != 0)
        log_error("dynamodb TTL deletions failed", "table='%s'", s->table ? s->table : "");
    int more = s->more;
    page_clear(s);
    if (!more) {
        ddb_table *next = next_ttl_table(s->d, s->table);
        move_to(s, next ? next->name : NULL);
    }
    if (s->d->stopping || !s->table) {
        s->busy = 0;
        return;
    }
    sweep_next(s);
}

/* The expired items of the scanned page, each a guarded delete, in one group. */
static void page_delete(ddb_sweep *s, ddb_table *t, const char *doc_attr)
{
    s->page_attr = xstrdup(doc_attr);
    const char *attr = s->page_attr;
    typeof(s->scan.u.kv_range) *r = &s->scan.u.kv_range;
    size_t cap = r->n ? r->n : 1;
    s->items = xcalloc(cap, sizeof *s->items);
    s->muts = xcalloc(cap, sizeof *s->muts);
    s->children = xcalloc(cap, sizeof *s->children);
    s->n = 0;
    int64_t now = clock_now_ms();
    double now_s = (double)now / 1000.0;
    char jerr[128];
    for (size_t i = 0; i < r->n; i++) {
        json_t *item = jsonc_parse(r->items[i].item, r->items[i].len, jerr, sizeof jerr);
        int last = i + 1 == r->n;
        if (!item || (!last && !ttl_expired(item, attr, now_s))) {
            json_decref(item);
            continue;
        }
        ttl_item *it = &s->items[s->n];
        it->pk = (buf)BUF_INIT;
        it->sk = (buf)BUF_INIT;
        int keyed = ddb_key_of_item(t, item, &it->pk, &it->sk, jerr, sizeof jerr) == 0;
        if (keyed && last) { /* the resume point */
            buf_reset(&s->start_pk);
            buf_reset(&s->start_sk);
            buf_append(&s->start_pk, it->pk.data, it->pk.len);
            buf_append(&s->start_sk, it->sk.data, it->sk.len);
            s->resumed = 1;
        }
        if (!keyed || !ttl_expired(item, attr, now_s)) {
            json_decref(item);
            buf_free(&it->pk);
            buf_free(&it->sk);
            continue;
        }
        json_decref(item);
        it->table = t;
        it->attr = attr;
        it->now_s = now_s;
        store_op *m = &s->muts[s->n];
        m->kind = STORE_KV_MUTATE;
        m->now_ms = now;
        m->u.kv_mutate.key = (store_kv_key){t->id, (const unsigned char *)it->pk.data, it->pk.len,
                                            (const unsigned char *)it->sk.data, it->sk.len};
        m->u.kv_mutate.fn = ttl_apply;
        m->u.kv_mutate.arg = it;
        s->children[s->n] = m;
        s->n++;
    }
    s->more = r->more;
    s->group = (store_op){.kind = STORE_GROUP, .now_ms = now, .done = group_done, .ctx = s};
    s->group.u.group.ops = s->children;
    s->group.u.group.n = s->n;
    if (s->n == 0) { /* nothing expired on this page */
        group_done(&s->group);
        return;
    }
    store_submit(s->d->store, &s->group);
}

static void scan_done(store_op *op)
{
    ddb_sweep *s = op->ctx;
    ddb_table *t = ddb_table_find(s->d, s->table);
    const char *attr = t ? ddb_str(t->doc, "TimeToLiveAttribute") : NULL;
    if (op->status != 0 || !attr || s->d->stopping) {
        /* the table went away or lost its TTL (or the read failed): the next table */
        store_op_clear(&s->scan);
        ddb_table *next = s->d->stopping ? NULL : next_ttl_table(s->d, s->table);
        move_to(s, next ? next->name : NULL);
        if (!s->table) {
            s->busy = 0;
            return;
        }
        sweep_next(s);
        return;
    }
    page_delete(s, t, attr);
}

/* Scans the next page of the current table. */
static void sweep_next(ddb_sweep *s)
{
    ddb_table *t = ddb_table_find(s->d, s->table);
    if (!t) {
        ddb_table *next = next_ttl_table(s->d, s->table);
        move_to(s, next ? next->name : NULL);
        if (!next) {
            s->busy = 0;
            return;
        }
        t = next;
    }
    s->scan =
        (store_op){.kind = STORE_KV_RANGE, .now_ms = clock_now_ms(), .done = scan_done, .ctx = s};
    typeof(s->scan.u.kv_range) *r = &s->scan.u.kv_range;
    r->table = t->id;
    r->forward = 1;
    r->max_items = SWEEP_PAGE;
    r->max_bytes = DDB_PAGE_BYTES;
    if (s->resumed) {
        r->start_pk = (const unsigned char *)s->start_pk.data;
        r->start_pk_len = s->start_pk.len;
        r->start_sk = (const unsigned char *)(s->start_sk.data ? s->start_sk.data : "");
        r->start_sk_len = s->start_sk.len;
    }
    store_submit(s->d->store, &s->scan);
}

static void trim_done(store_op *op)
{
    ddb_sweep *s = op->ctx;
    if (op->status != 0)
        log_error("dynamodb stream trim failed", "status=%d", op->status);
    s->trim_busy = 0;
    /* A full trim continues at the next tick; otherwise wait an eighth of the retention (at
     * most a minute): an idle server does not commit a trim every tick. */
    int64_t wait = s->d->stream_retention_ms / 8;
    if (wait > 60000)
        wait = 60000;
    if (op->status == 0 && op->u.kv_trim.deleted >= SWEEP_TRIM_MAX)
        wait = 0;
    s->trim_at_ms = op->now_ms + wait;
}

static void sweep_tick(uv_timer_t *timer)
{
    ddb_sweep *s = timer->data;
    if (s->d->stopping)
        return;
    if (!s->trim_busy && json_object_size(s->d->streams) > 0 && clock_now_ms() >= s->trim_at_ms) {
        s->trim_busy = 1;
        s->trim = (store_op){
            .kind = STORE_KV_STREAM_TRIM, .now_ms = clock_now_ms(), .done = trim_done, .ctx = s};
        s->trim.u.kv_trim.before_ms = s->trim.now_ms - s->d->stream_retention_ms;
        s->trim.u.kv_trim.max = SWEEP_TRIM_MAX;
        store_submit(s->d->store, &s->trim);
    }
    if (s->busy)
        return;
    ddb_table *first = next_ttl_table(s->d, NULL);
    if (!first)
        return;
    s->busy = 1;
    move_to(s, first->name);
    sweep_next(s);
}

void ddb_sweep_start(dynamodb *d)
{
    ddb_sweep *s = xcalloc(1, sizeof *s);
    s->d = d;
    s->start_pk = (buf)BUF_INIT;
    s->start_sk = (buf)BUF_INIT;
    int64_t interval = ddb_env_ms("SLUICE_DDB_SWEEP_MS", SWEEP_INTERVAL_MS);
    uv_timer_init(d->loop, &s->timer);
    s->timer.data = s;
    uv_timer_start(&s->timer, sweep_tick, (uint64_t)interval, (uint64_t)interval);
    d->sweep = s;
}

static void sweep_free(ddb_sweep *s)
{
    page_clear(s);
    xfree(s->table);
    buf_free(&s->start_pk);
    buf_free(&s->start_sk);
    xfree(s);
}

static void sweep_closed(uv_handle_t *h)
{
    ddb_sweep *s = h->data;
    s->closed = 1;
    if (s->orphan)
        sweep_free(s);
}

static void sweep_close(ddb_sweep *s)
{
    if (s->closing)
        return;
    s->closing = 1;
    uv_timer_stop(&s->timer);
    uv_close((uv_handle_t *)&s->timer, sweep_closed);
}

void ddb_sweep_stop(dynamodb *d)
{
    if (d->sweep)
        sweep_close(d->sweep);
}

void ddb_sweep_free(dynamodb *d)
{
    ddb_sweep *s = d->sweep;
    d->sweep = NULL;
    if (!s)
        return;
    sweep_close(s);
    if (s->closed)
        sweep_free(s);
    else
        s->orphan = 1; /* freed by the close callback, when the loop runs it */
}
