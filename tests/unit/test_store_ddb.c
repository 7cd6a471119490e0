/* The store's key-value ops (STORE_KV_*, DynamoDB's items) through the real commit
 * pipeline: a mutation's callback sees the current item and its decision is written in the
 * same transaction; statistics follow; Query ranges in both directions with resume points;
 * Scan segments partition the table; a failing callback in a group undoes the group; items
 * survive a reopen; a drop removes a table's items only; side rows (index entries) are
 * written and deleted with their item. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store_fixture.h"

#include <errno.h>
#include <string.h>

/* A mutation callback: records what it saw, then puts `put` (or deletes, or fails). */
typedef struct mut {
    const char *put; /* NULL: delete */
    int fail;        /* return -ECANCELED */
    int keep;        /* return KEEP */
    char seen[64];   /* the old item, "" if none */
    int calls;
} mut;

static int mut_fn(void *arg, const char *old, size_t old_len, store_kv_write *out)
{
    mut *m = arg;
    m->calls++;
    snprintf(m->seen, sizeof m->seen, "%.*s", old ? (int)old_len : 0, old ? old : "");
    if (m->fail)
        return -ECANCELED;
    if (m->keep)
        return STORE_KV_KEEP;
    if (!m->put)
        return STORE_KV_DELETE;
    out->len = strlen(m->put);
    out->item = xmemdup(m->put, out->len);
    out->size = (int64_t)out->len;
    return STORE_KV_PUT;
}

static store_kv_key key(int64_t table, const char *pk, const char *sk)
{
    return (store_kv_key){table, (const unsigned char *)pk, strlen(pk), (const unsigned char *)sk,
                          sk ? strlen(sk) : 0};
}

/* A callback that writes its item and one side row (table 11, key "Sside"): put with the
 * item, deleted when the item is. */
static int side_fn(void *arg, const char *old, size_t old_len, store_kv_write *out)
{
    mut *m = arg;
    (void)old;
    (void)old_len;
    out->sides = xcalloc(1, sizeof *out->sides);
    out->nsides = 1;
    out->sides[0].key = (store_kv_key){11, xmemdup("Sside", 5), 5, NULL, 0};
    if (!m->put)
        return STORE_KV_DELETE;
    out->sides[0].item = xmemdup("entry", 5);
    out->sides[0].len = 5;
    out->sides[0].size = 5;
    out->len = strlen(m->put);
    out->item = xmemdup(m->put, out->len);
    out->size = (int64_t)out->len;
    return STORE_KV_PUT;
}

static int mutate(fixture *f, store_kv_key k, mut *m)
{
    store_op op = {.kind = STORE_KV_MUTATE};
    op.u.kv_mutate.key = k;
    op.u.kv_mutate.fn = mut_fn;
    op.u.kv_mutate.arg = m;
    return run_op(f, &op);
}

static int put(fixture *f, int64_t table, const char *pk, const char *sk, const char *item)
{
    mut m = {.put = item};
    return mutate(f, key(table, pk, sk), &m);
}

/* The item at (table, pk, sk) copied into out ("" if none). */
static void get(fixture *f, int64_t table, const char *pk, const char *sk, char *out, size_t cap)
{
    store_kv_key k = key(table, pk, sk);
    store_op op = {.kind = STORE_KV_GET};
    op.u.kv_get.keys = &k;
    op.u.kv_get.n = 1;
    assert_int_equal(run_op(f, &op), 0);
    snprintf(out, cap, "%s", op.u.kv_get.items[0].item ? op.u.kv_get.items[0].item : "");
    store_op_clear(&op);
}

static void stats(fixture *f, int64_t table, int64_t *items, int64_t *bytes)
{
    store_op op = {.kind = STORE_KV_STATS};
    op.u.kv_table.table = table;
    assert_int_equal(run_op(f, &op), 0);
    *items = op.u.kv_table.items;
    *bytes = op.u.kv_table.bytes;
}

static void test_mutate_sees_current_item(void **state)
{
    fixture *f = *state;
    mut m = {.put = "v1"};
    assert_int_equal(mutate(f, key(1, "Sa", NULL), &m), 0);
    assert_string_equal(m.seen, "");
    mut m2 = {.put = "value-two"};
    assert_int_equal(mutate(f, key(1, "Sa", NULL), &m2), 0);
    assert_string_equal(m2.seen, "v1");
    char out[64];
    get(f, 1, "Sa", NULL, out, sizeof out);
    assert_string_equal(out, "value-two");
    int64_t items, bytes;
    stats(f, 1, &items, &bytes);
    assert_int_equal(items, 1);
    assert_int_equal(bytes, 9);

    mut fail = {.put = "x", .fail = 1};
    assert_int_equal(mutate(f, key(1, "Sa", NULL), &fail), -ECANCELED);
    mut keep = {.keep = 1};
    assert_int_equal(mutate(f, key(1, "Sa", NULL), &keep), 0);
    get(f, 1, "Sa", NULL, out, sizeof out);
    assert_string_equal(out, "value-two");

    mut del = {.put = NULL};
    assert_int_equal(mutate(f, key(1, "Sa", NULL), &del), 0);
    assert_string_equal(del.seen, "value-two");
    get(f, 1, "Sa", NULL, out, sizeof out);
    assert_string_equal(out, "");
    stats(f, 1, &items, &bytes);
    assert_int_equal(items, 0);
    assert_int_equal(bytes, 0);
    /* Deleting what is not there changes nothing. */
    assert_int_equal(mutate(f, key(1, "Sa", NULL), &del), 0);
    stats(f, 1, &items, &bytes);
    assert_int_equal(items, 0);
}

/* Two mutations of one key in one batch: the second sees the first's write. */
static void test_mutations_in_one_batch_serialise(void **state)
{
    fixture *f = *state;
    mut a = {.put = "first"}, b = {.put = "second"};
    store_op ops[2] = {{.kind = STORE_KV_MUTATE}, {.kind = STORE_KV_MUTATE}};
    mut *ms[2] = {&a, &b};
    int finished[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        ops[i].u.kv_mutate.key = key(2, "Sk", NULL);
        ops[i].u.kv_mutate.fn = mut_fn;
        ops[i].u.kv_mutate.arg = ms[i];
        ops[i].done = fixture_done_cb;
        ops[i].ctx = &finished[i];
        store_submit(f->st, &ops[i]);
    }
    while (!finished[0] || !finished[1])
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_string_equal(a.seen, "");
    assert_string_equal(b.seen, "first");
}

static void test_group_failure_undoes_all(void **state)
{
    fixture *f = *state;
    assert_int_equal(put(f, 3, "Sa", NULL, "a0"), 0);
    mut ok = {.put = "a1"}, bad = {.put = "b1", .fail = 1};
    store_op c1 = {.kind = STORE_KV_MUTATE}, c2 = {.kind = STORE_KV_MUTATE};
    c1.u.kv_mutate.key = key(3, "Sa", NULL);
    c1.u.kv_mutate.fn = mut_fn;
    c1.u.kv_mutate.arg = &ok;
    c2.u.kv_mutate.key = key(3, "Sb", NULL);
    c2.u.kv_mutate.fn = mut_fn;
    c2.u.kv_mutate.arg = &bad;
    store_op *children[2] = {&c1, &c2};
    store_op g = {.kind = STORE_GROUP};
    g.u.group.ops = children;
    g.u.group.n = 2;
    assert_int_equal(run_op(f, &g), -ECANCELED);
    char out[64];
    get(f, 3, "Sa", NULL, out, sizeof out);
    assert_string_equal(out, "a0");
    int64_t items, bytes;
    stats(f, 3, &items, &bytes);
    assert_int_equal(items, 1);
}

/* Query of partition "Sp" of table 4: sort keys in [lo, hi), resume after start_sk. */
static size_t query(fixture *f, const char *lo, const char *hi, int forward, const char *start_sk,
                    int max, char out[][16], int *more)
{
    store_op op = {.kind = STORE_KV_RANGE};
    op.u.kv_range.table = 4;
    op.u.kv_range.pk = (const unsigned char *)"Sp";
    op.u.kv_range.pk_len = 2;
    op.u.kv_range.lo = (const unsigned char *)lo;
    op.u.kv_range.lo_len = lo ? strlen(lo) : 0;
    op.u.kv_range.hi = (const unsigned char *)hi;
    op.u.kv_range.hi_len = hi ? strlen(hi) : 0;
    op.u.kv_range.forward = forward;
    if (start_sk) {
        op.u.kv_range.start_pk = (const unsigned char *)"Sp";
        op.u.kv_range.start_pk_len = 2;
        op.u.kv_range.start_sk = (const unsigned char *)start_sk;
        op.u.kv_range.start_sk_len = strlen(start_sk);
    }
    op.u.kv_range.max_items = max;
    assert_int_equal(run_op(f, &op), 0);
    size_t n = op.u.kv_range.n;
    for (size_t i = 0; i < n; i++)
        snprintf(out[i], 16, "%s", op.u.kv_range.items[i].item);
    *more = op.u.kv_range.more;
    store_op_clear(&op);
    return n;
}

static void test_query_ranges(void **state)
{
    fixture *f = *state;
    const char *sks[] = {"Sa", "Sab", "Sb", "Sc", "Sd"};
    for (int i = 0; i < 5; i++)
        assert_int_equal(put(f, 4, "Sp", sks[i], sks[i] + 1), 0);
    assert_int_equal(put(f, 4, "Sq", "Sa", "other"), 0);
    char out[10][16];
    int more;
    assert_int_equal(query(f, NULL, NULL, 1, NULL, 10, out, &more), 5);
    assert_string_equal(out[0], "a");
    assert_string_equal(out[1], "ab");
    assert_string_equal(out[4], "d");
    assert_int_equal(more, 0);
    assert_int_equal(query(f, NULL, NULL, 0, NULL, 2, out, &more), 2);
    assert_string_equal(out[0], "d");
    assert_string_equal(out[1], "c");
    assert_int_equal(more, 1);
    assert_int_equal(query(f, NULL, NULL, 0, "Sc", 10, out, &more), 3);
    assert_string_equal(out[0], "b");
    /* [Sab, Sc) resumed after Sab */
    assert_int_equal(query(f, "Sab", "Sc", 1, "Sab", 10, out, &more), 1);
    assert_string_equal(out[0], "b");
    assert_int_equal(query(f, "Sa", "Sb", 1, NULL, 10, out, &more), 2);
    assert_string_equal(out[1], "ab");
}

static void test_scan_segments_partition(void **state)
{
    fixture *f = *state;
    char pk[16];
    for (int i = 0; i < 200; i++) {
        snprintf(pk, sizeof pk, "S%d", i);
        assert_int_equal(put(f, 5, pk, NULL, pk), 0);
    }
    assert_int_equal(put(f, 6, "Sx", NULL, "other table"), 0);
    int seen[200] = {0};
    size_t total = 0;
    for (int seg = 0; seg < 4; seg++) {
        size_t in_seg = 0;
        char start[16] = "";
        for (;;) {
            store_op op = {.kind = STORE_KV_RANGE};
            op.u.kv_range.table = 5;
            op.u.kv_range.segment = seg;
            op.u.kv_range.total_segments = 4;
            op.u.kv_range.max_items = 7;
            if (start[0]) {
                op.u.kv_range.start_pk = (const unsigned char *)start;
                op.u.kv_range.start_pk_len = strlen(start);
            }
            assert_int_equal(run_op(f, &op), 0);
            for (size_t i = 0; i < op.u.kv_range.n; i++) {
                int k = atoi(op.u.kv_range.items[i].item + 1);
                assert_int_equal(seen[k], 0);
                seen[k] = 1;
            }
            in_seg += op.u.kv_range.n;
            int more = op.u.kv_range.more;
            if (op.u.kv_range.n)
                snprintf(start, sizeof start, "%s", op.u.kv_range.items[op.u.kv_range.n - 1].item);
            store_op_clear(&op);
            if (!more)
                break;
        }
        assert_true(in_seg > 20); /* roughly even: 50 expected */
        total += in_seg;
    }
    assert_int_equal(total, 200);
}

static void test_page_stops_at_max_bytes(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 10; i++) {
        char sk[8];
        snprintf(sk, sizeof sk, "S%d", i);
        assert_int_equal(put(f, 7, "Sp", sk, "0123456789"), 0); /* size 10 each */
    }
    store_op op = {.kind = STORE_KV_RANGE};
    op.u.kv_range.table = 7;
    op.u.kv_range.pk = (const unsigned char *)"Sp";
    op.u.kv_range.pk_len = 2;
    op.u.kv_range.forward = 1;
    op.u.kv_range.max_items = 100;
    op.u.kv_range.max_bytes = 25;
    assert_int_equal(run_op(f, &op), 0);
    assert_int_equal(op.u.kv_range.n, 3); /* 10, 20, 30 >= 25: stop */
    assert_int_equal(op.u.kv_range.more, 1);
    store_op_clear(&op);
}

static void test_drop_and_reopen(void **state)
{
    fixture *f = *state;
    assert_int_equal(put(f, 8, "Sa", NULL, "keep"), 0);
    assert_int_equal(put(f, 9, "Sa", NULL, "drop"), 0);
    store_op op = {.kind = STORE_KV_DROP};
    op.u.kv_table.table = 9;
    assert_int_equal(run_op(f, &op), 0);
    close_store(f);
    open_store(f);
    char out[64];
    get(f, 8, "Sa", NULL, out, sizeof out);
    assert_string_equal(out, "keep");
    get(f, 9, "Sa", NULL, out, sizeof out);
    assert_string_equal(out, "");
    int64_t items, bytes;
    stats(f, 9, &items, &bytes);
    assert_int_equal(items, 0);
    stats(f, 8, &items, &bytes);
    assert_int_equal(items, 1);
    assert_int_equal(bytes, 4);
}

static void test_side_rows_follow_the_item(void **state)
{
    fixture *f = *state;
    store_op op = {.kind = STORE_KV_MUTATE};
    mut m = {.put = "item"};
    op.u.kv_mutate.key = key(10, "Sa", NULL);
    op.u.kv_mutate.fn = side_fn;
    op.u.kv_mutate.arg = &m;
    assert_int_equal(run_op(f, &op), 0);
    char out[64];
    get(f, 11, "Sside", NULL, out, sizeof out);
    assert_string_equal(out, "entry");
    int64_t items, bytes;
    stats(f, 11, &items, &bytes);
    assert_int_equal(items, 1);
    assert_int_equal(bytes, 5);
    mut del = {.put = NULL};
    op = (store_op){.kind = STORE_KV_MUTATE};
    op.u.kv_mutate.key = key(10, "Sa", NULL);
    op.u.kv_mutate.fn = side_fn;
    op.u.kv_mutate.arg = &del;
    assert_int_equal(run_op(f, &op), 0);
    get(f, 11, "Sside", NULL, out, sizeof out);
    assert_string_equal(out, "");
    get(f, 10, "Sa", NULL, out, sizeof out);
    assert_string_equal(out, "");
    stats(f, 11, &items, &bytes);
    assert_int_equal(items, 0);
}

/* A callback that puts (or deletes, or only writes a side row) with a stream record. */
typedef struct rec_mut {
    const char *put; /* NULL: delete */
    int sides_only;
    int fail;
    int64_t stream;
} rec_mut;

static int rec_fn(void *arg, const char *old, size_t old_len, store_kv_write *out)
{
    rec_mut *m = arg;
    (void)old_len;
    if (m->fail)
        return -ECANCELED;
    if (m->sides_only) {
        out->sides = xcalloc(1, sizeof *out->sides);
        out->nsides = 1;
        out->sides[0].key = (store_kv_key){21, xmemdup("Sx", 2), 2, NULL, 0};
        out->sides[0].item = xmemdup("ix", 2);
        out->sides[0].len = out->sides[0].size = 2;
        return old ? STORE_KV_SIDES : STORE_KV_KEEP;
    }
    char text[64];
    snprintf(text, sizeof text, "%s:%s", m->put ? "put" : "del", m->put ? m->put : "");
    out->stream = m->stream;
    out->record_len = strlen(text);
    out->record = xmemdup(text, out->record_len);
    if (!m->put)
        return STORE_KV_DELETE;
    out->len = strlen(m->put);
    out->item = xmemdup(m->put, out->len);
    out->size = (int64_t)out->len;
    return STORE_KV_PUT;
}

static int rec_mutate(fixture *f, const char *pk, rec_mut *m, int64_t now_ms)
{
    store_op op = {.kind = STORE_KV_MUTATE, .now_ms = now_ms};
    op.u.kv_mutate.key = key(20, pk, NULL);
    op.u.kv_mutate.fn = rec_fn;
    op.u.kv_mutate.arg = m;
    return run_op(f, &op);
}

/* Reads stream records after `after` into out ("seq=text;..."); bounds out. */
static void stream_read(fixture *f, int64_t stream, int64_t after, int max, char *out, size_t cap,
                        int64_t *last, int64_t *trimmed)
{
    store_op op = {.kind = STORE_KV_STREAM_READ};
    op.u.kv_stream.stream = stream;
    op.u.kv_stream.after_seq = after;
    op.u.kv_stream.max = max;
    assert_int_equal(run_op(f, &op), 0);
    out[0] = '\0';
    for (size_t i = 0; i < op.u.kv_stream.n; i++)
        snprintf(out + strlen(out), cap - strlen(out), "%lld=%s;",
                 (long long)op.u.kv_stream.items[i].seq, op.u.kv_stream.items[i].record);
    *last = op.u.kv_stream.last_seq;
    *trimmed = op.u.kv_stream.trimmed_seq;
    store_op_clear(&op);
}

static void test_stream_records_follow_changes(void **state)
{
    fixture *f = *state;
    char out[256];
    int64_t last, trimmed;
    stream_read(f, 5, 0, 10, out, sizeof out, &last, &trimmed);
    assert_string_equal(out, "");
    assert_int_equal(last, 0);
    rec_mut a = {.put = "A", .stream = 5}, b = {.put = "B", .stream = 5};
    assert_int_equal(rec_mutate(f, "Sa", &a, 1000), 0);
    assert_int_equal(rec_mutate(f, "Sb", &b, 2000), 0);
    /* A failed mutation appends nothing; a delete of nothing appends nothing. */
    rec_mut bad = {.put = "C", .stream = 5, .fail = 1};
    assert_int_equal(rec_mutate(f, "Sa", &bad, 2500), -ECANCELED);
    rec_mut none = {.put = NULL, .stream = 5};
    assert_int_equal(rec_mutate(f, "Snone", &none, 2600), 0);
    rec_mut del = {.put = NULL, .stream = 5};
    assert_int_equal(rec_mutate(f, "Sa", &del, 3000), 0);
    rec_mut other = {.put = "O", .stream = 6};
    assert_int_equal(rec_mutate(f, "So", &other, 3000), 0);
    stream_read(f, 5, 0, 10, out, sizeof out, &last, &trimmed);
    assert_string_equal(out, "1=put:A;2=put:B;3=del:;");
    assert_int_equal(last, 3);
    assert_int_equal(trimmed, 0);
    stream_read(f, 5, 1, 1, out, sizeof out, &last, &trimmed);
    assert_string_equal(out, "2=put:B;");
    stream_read(f, 6, 0, 10, out, sizeof out, &last, &trimmed);
    assert_string_equal(out, "1=put:O;");

    /* Trimming is bounded and moves the trim point; numbers are never reused. */
    store_op trim = {.kind = STORE_KV_STREAM_TRIM};
    trim.u.kv_trim.before_ms = 2500;
    trim.u.kv_trim.max = 1;
    assert_int_equal(run_op(f, &trim), 0);
    assert_int_equal(trim.u.kv_trim.deleted, 1);
    stream_read(f, 5, 0, 10, out, sizeof out, &last, &trimmed);
    assert_string_equal(out, "2=put:B;3=del:;");
    assert_int_equal(trimmed, 1);
    trim.u.kv_trim.max = 100;
    trim.u.kv_trim.before_ms = 99999;
    assert_int_equal(run_op(f, &trim), 0);
    assert_int_equal(trim.u.kv_trim.deleted, 3);
    close_store(f);
    open_store(f);
    stream_read(f, 5, 0, 10, out, sizeof out, &last, &trimmed);
    assert_string_equal(out, "");
    assert_int_equal(last, 3);
    assert_int_equal(trimmed, 3);
    assert_int_equal(rec_mutate(f, "Sd", &a, 4000), 0);
    stream_read(f, 5, 0, 10, out, sizeof out, &last, &trimmed);
    assert_string_equal(out, "4=put:A;");
}

static void test_sides_only_keeps_the_item(void **state)
{
    fixture *f = *state;
    assert_int_equal(put(f, 20, "Sx", NULL, "item"), 0);
    rec_mut m = {.sides_only = 1};
    assert_int_equal(rec_mutate(f, "Sx", &m, 0), 0);
    char out[64];
    get(f, 20, "Sx", NULL, out, sizeof out);
    assert_string_equal(out, "item");
    get(f, 21, "Sx", NULL, out, sizeof out);
    assert_string_equal(out, "ix");
    int64_t items, bytes;
    stats(f, 20, &items, &bytes);
    assert_int_equal(items, 1);
    assert_int_equal(bytes, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mutate_sees_current_item, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mutations_in_one_batch_serialise, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_failure_undoes_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_segments_partition, setup, teardown),
        cmocka_unit_test_setup_teardown(test_page_stops_at_max_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drop_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_side_rows_follow_the_item, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_records_follow_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sides_only_keeps_the_item, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
