/* The store's CloudWatch Logs operations (STORE_LOGS_*), run through the real commit
 * pipeline on a temp dir: groups and streams, appends with on-demand creation and retention,
 * reads in (timestamp, seq) order forward and backward with their bounds and filter, listings,
 * the retention sweep, deletes and their byte counts, and a reopen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/alloc.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "store_fixture.h"

#define DAY_MS (24LL * 3600 * 1000)
#define NOW    (1000 * DAY_MS)

static int change(fixture *f, int action, const char *group, const char *stream, int days)
{
    store_op op = {.kind = STORE_LOGS_CHANGE, .now_ms = NOW};
    op.u.logs_change.action = action;
    op.u.logs_change.group = group;
    op.u.logs_change.stream = stream;
    op.u.logs_change.retention_days = days;
    assert_int_equal(run_op(f, &op), 0);
    return op.u.logs_change.outcome;
}

/* Appends messages (NULL-terminated) at ts, ts + step, ...; returns the outcome. */
static int put(fixture *f, const char *group, const char *stream, int create, int64_t ts,
               int64_t step, const char *const *msgs, size_t *expired)
{
    store_log_event ev[16];
    size_t n = 0;
    for (; msgs[n]; n++)
        ev[n] = (store_log_event){
            .ts_ms = ts + (int64_t)n * step, .message = (char *)msgs[n], .len = strlen(msgs[n])};
    store_op op = {.kind = STORE_LOGS_PUT, .now_ms = NOW};
    op.u.logs_put.group = group;
    op.u.logs_put.stream = stream;
    op.u.logs_put.events = ev;
    op.u.logs_put.n = n;
    op.u.logs_put.create = create;
    op.u.logs_put.retention_days = 7;
    assert_int_equal(run_op(f, &op), 0);
    if (expired)
        *expired = op.u.logs_put.expired;
    return op.u.logs_put.outcome;
}

/* Reads into out ("a,b,c" of the messages) and returns the op (cleared by the caller). */
static void read_into(fixture *f, store_op *op, char *out, size_t cap)
{
    op->kind = STORE_LOGS_READ;
    op->now_ms = NOW;
    if (!op->u.logs_read.to_ms)
        op->u.logs_read.to_ms = INT64_MAX;
    if (!op->u.logs_read.max)
        op->u.logs_read.max = 100;
    assert_int_equal(run_op(f, op), 0);
    out[0] = '\0';
    for (size_t i = 0; i < op->u.logs_read.n; i++) {
        strncat(out, op->u.logs_read.items[i].message, cap - strlen(out) - 2);
        if (i + 1 < op->u.logs_read.n)
            strcat(out, ",");
    }
}

static void list_names(fixture *f, store_op *op, char *out, size_t cap)
{
    op->kind = STORE_LOGS_LIST;
    op->now_ms = NOW;
    assert_int_equal(run_op(f, op), 0);
    out[0] = '\0';
    for (size_t i = 0; i < op->u.logs_list.n; i++) {
        strncat(out, op->u.logs_list.items[i].name, cap - strlen(out) - 2);
        if (i + 1 < op->u.logs_list.n)
            strcat(out, ",");
    }
}

static int64_t group_bytes(fixture *f, const char *group)
{
    store_op op = {0};
    op.u.logs_list.prefix = group;
    op.u.logs_list.max = 1;
    char names[256];
    list_names(f, &op, names, sizeof names);
    assert_string_equal(names, group);
    int64_t bytes = op.u.logs_list.items[0].bytes;
    store_op_clear(&op);
    return bytes;
}

static void test_groups_and_streams(void **state)
{
    fixture *f = *state;
    assert_int_equal(change(f, STORE_LOGS_CREATE_GROUP, "g", NULL, 0), STORE_LOGS_OK);
    assert_int_equal(change(f, STORE_LOGS_CREATE_GROUP, "g", NULL, 0), STORE_LOGS_EXISTS);
    assert_int_equal(change(f, STORE_LOGS_CREATE_STREAM, "g", "s", 0), STORE_LOGS_OK);
    assert_int_equal(change(f, STORE_LOGS_CREATE_STREAM, "g", "s", 0), STORE_LOGS_EXISTS);
    assert_int_equal(change(f, STORE_LOGS_CREATE_STREAM, "nope", "s", 0), STORE_LOGS_NO_GROUP);
    assert_int_equal(change(f, STORE_LOGS_DELETE_STREAM, "g", "nope", 0), STORE_LOGS_NO_STREAM);
    assert_int_equal(change(f, STORE_LOGS_SET_RETENTION, "g", NULL, 5), STORE_LOGS_OK);
    const char *const none[] = {"x", NULL};
    assert_int_equal(put(f, "g", "other", 0, NOW, 0, none, NULL), STORE_LOGS_NO_STREAM);
    assert_int_equal(put(f, "h", "s", 0, NOW, 0, none, NULL), STORE_LOGS_NO_GROUP);
    assert_int_equal(change(f, STORE_LOGS_DELETE_GROUP, "g", NULL, 0), STORE_LOGS_OK);
    assert_int_equal(change(f, STORE_LOGS_DELETE_GROUP, "g", NULL, 0), STORE_LOGS_NO_GROUP);
}

static void test_put_creates_and_reads_in_order(void **state)
{
    fixture *f = *state;
    const char *const a[] = {"a1", "a2", "a3", NULL};
    const char *const b[] = {"b1", "b2", NULL};
    assert_int_equal(put(f, "/aws/lambda/fn", "s-a", 1, NOW - 5000, 2000, a, NULL), 0);
    assert_int_equal(put(f, "/aws/lambda/fn", "s-b", 1, NOW - 4000, 2000, b, NULL), 0);
    char got[256];
    /* the group, interleaved: a1(-5000) b1(-4000) a2(-3000) b2(-2000) a3(-1000) */
    store_op op = {0};
    op.u.logs_read.group = "/aws/lambda/fn";
    read_into(f, &op, got, sizeof got);
    assert_string_equal(got, "a1,b1,a2,b2,a3");
    assert_string_equal(op.u.logs_read.items[1].stream, "s-b");
    assert_false(op.u.logs_read.more);
    store_op_clear(&op);
    /* one stream, forward in pages of 2 */
    memset(&op, 0, sizeof op);
    op.u.logs_read.group = "/aws/lambda/fn";
    op.u.logs_read.stream = "s-a";
    op.u.logs_read.max = 2;
    read_into(f, &op, got, sizeof got);
    assert_string_equal(got, "a1,a2");
    assert_true(op.u.logs_read.more);
    store_log_pos after = op.u.logs_read.last;
    store_op_clear(&op);
    memset(&op, 0, sizeof op);
    op.u.logs_read.group = "/aws/lambda/fn";
    op.u.logs_read.stream = "s-a";
    op.u.logs_read.pos = after;
    op.u.logs_read.max = 2;
    read_into(f, &op, got, sizeof got);
    assert_string_equal(got, "a3");
    assert_false(op.u.logs_read.more);
    store_op_clear(&op);
    /* backward from the end: the latest 2, ascending */
    memset(&op, 0, sizeof op);
    op.u.logs_read.group = "/aws/lambda/fn";
    op.u.logs_read.stream = "s-a";
    op.u.logs_read.pos = (store_log_pos){INT64_MAX, 0};
    op.u.logs_read.backward = 1;
    op.u.logs_read.max = 2;
    read_into(f, &op, got, sizeof got);
    assert_string_equal(got, "a2,a3");
    store_op_clear(&op);
    /* a window [from, to) */
    memset(&op, 0, sizeof op);
    op.u.logs_read.group = "/aws/lambda/fn";
    op.u.logs_read.from_ms = NOW - 4000;
    op.u.logs_read.to_ms = NOW - 2000;
    op.u.logs_read.max = 10;
    read_into(f, &op, got, sizeof got);
    assert_string_equal(got, "b1,a2");
    store_op_clear(&op);
    /* the group made on demand has the retention asked for */
    memset(&op, 0, sizeof op);
    op.u.logs_list.max = 10;
    list_names(f, &op, got, sizeof got);
    assert_string_equal(got, "/aws/lambda/fn");
    assert_int_equal(op.u.logs_list.items[0].retention_days, 7);
    assert_int_equal(op.u.logs_list.items[0].bytes, 10);
    store_op_clear(&op);
}

static int keep_twos(void *arg, const char *stream, const char *msg, size_t len)
{
    (*(int *)arg)++;
    return len > 1 && msg[1] == '2';
}

static void test_filtered_read_stops_at_the_scan_bound(void **state)
{
    fixture *f = *state;
    const char *const m[] = {"x1", "x2", "x3", "x4", "x5", "y2", NULL};
    assert_int_equal(put(f, "g", "s", 1, NOW - 1000, 10, m, NULL), 0);
    int calls = 0;
    char got[128];
    store_op op = {0};
    op.u.logs_read.group = "g";
    op.u.logs_read.keep = keep_twos;
    op.u.logs_read.keep_arg = &calls;
    op.u.logs_read.max = 10;
    op.u.logs_read.max_scan = 4;
    read_into(f, &op, got, sizeof got);
    assert_string_equal(got, "x2");
    assert_int_equal(calls, 4);
    assert_true(op.u.logs_read.more);
    assert_int_equal(op.u.logs_read.last.ts_ms, NOW - 1000 + 30); /* x4, examined last */
    store_log_pos resume = op.u.logs_read.last;
    store_op_clear(&op);
    memset(&op, 0, sizeof op);
    op.u.logs_read.group = "g";
    op.u.logs_read.keep = keep_twos;
    op.u.logs_read.keep_arg = &calls;
    op.u.logs_read.max = 10;
    op.u.logs_read.max_scan = 4;
    op.u.logs_read.pos = resume;
    read_into(f, &op, got, sizeof got);
    assert_string_equal(got, "y2");
    assert_false(op.u.logs_read.more);
    store_op_clear(&op);
}

static void test_listing_orders_and_resumes(void **state)
{
    fixture *f = *state;
    const char *const one[] = {"x", NULL};
    put(f, "g", "b", 1, NOW - 3000, 0, one, NULL);
    put(f, "g", "a", 1, NOW - 1000, 0, one, NULL);
    put(f, "g", "c", 1, NOW - 2000, 0, one, NULL);
    char got[128];
    store_op op = {0};
    op.u.logs_list.group = "g";
    op.u.logs_list.max = 2;
    list_names(f, &op, got, sizeof got);
    assert_string_equal(got, "a,b");
    assert_true(op.u.logs_list.more);
    store_op_clear(&op);
    memset(&op, 0, sizeof op);
    op.u.logs_list.group = "g";
    op.u.logs_list.max = 2;
    op.u.logs_list.after_name = "b";
    list_names(f, &op, got, sizeof got);
    assert_string_equal(got, "c");
    assert_false(op.u.logs_list.more);
    store_op_clear(&op);
    memset(&op, 0, sizeof op);
    op.u.logs_list.group = "g";
    op.u.logs_list.max = 5;
    op.u.logs_list.by_last_event = 1;
    op.u.logs_list.descending = 1;
    list_names(f, &op, got, sizeof got);
    assert_string_equal(got, "a,c,b");
    store_op_clear(&op);
    memset(&op, 0, sizeof op);
    op.u.logs_list.group = "g";
    op.u.logs_list.max = 5;
    op.u.logs_list.descending = 1;
    op.u.logs_list.after_name = "c";
    list_names(f, &op, got, sizeof got);
    assert_string_equal(got, "b,a");
    store_op_clear(&op);
    memset(&op, 0, sizeof op);
    op.u.logs_list.group = "nope";
    op.u.logs_list.max = 5;
    list_names(f, &op, got, sizeof got);
    assert_int_equal(op.u.logs_list.outcome, STORE_LOGS_NO_GROUP);
    store_op_clear(&op);
}

static void test_retention_expires_and_refuses_old_events(void **state)
{
    fixture *f = *state;
    const char *const old[] = {"old1", "old2", NULL};
    const char *const fresh[] = {"fresh", NULL};
    size_t expired;
    assert_int_equal(put(f, "g", "s", 1, NOW - 3 * DAY_MS, 1, old, &expired), 0);
    assert_int_equal(expired, 0); /* retention 7 days */
    assert_int_equal(put(f, "g", "s", 1, NOW, 0, fresh, NULL), 0);
    assert_int_equal(group_bytes(f, "g"), 13);
    assert_int_equal(change(f, STORE_LOGS_SET_RETENTION, "g", NULL, 1), 0);
    store_op op = {.kind = STORE_LOGS_EXPIRE, .now_ms = NOW};
    op.u.logs_expire.max = 1;
    assert_int_equal(run_op(f, &op), 0);
    assert_int_equal(op.u.logs_expire.deleted, 1); /* bounded */
    op.u.logs_expire.max = 100;
    assert_int_equal(run_op(f, &op), 0);
    assert_int_equal(op.u.logs_expire.deleted, 1);
    assert_int_equal(run_op(f, &op), 0);
    assert_int_equal(op.u.logs_expire.deleted, 0);
    assert_int_equal(group_bytes(f, "g"), 5);
    assert_int_equal(put(f, "g", "s", 1, NOW - 2 * DAY_MS, DAY_MS + 1, old, &expired), 0);
    assert_int_equal(expired, 1);
    assert_int_equal(group_bytes(f, "g"), 9);
    /* deleting the stream takes its bytes out of the group */
    assert_int_equal(change(f, STORE_LOGS_DELETE_STREAM, "g", "s", 0), 0);
    assert_int_equal(group_bytes(f, "g"), 0);
}

static void test_events_survive_reopen(void **state)
{
    fixture *f = *state;
    const char *const m[] = {"kept", NULL};
    assert_int_equal(put(f, "g", "s", 1, NOW, 0, m, NULL), 0);
    close_store(f);
    open_store(f);
    char got[64];
    store_op op = {0};
    op.u.logs_read.group = "g";
    op.u.logs_read.stream = "s";
    op.u.logs_read.max = 5;
    read_into(f, &op, got, sizeof got);
    assert_string_equal(got, "kept");
    assert_true(op.u.logs_read.items[0].seq > 0);
    assert_int_equal(op.u.logs_read.items[0].ingest_ms, NOW);
    store_op_clear(&op);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_groups_and_streams, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_creates_and_reads_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filtered_read_stops_at_the_scan_bound, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_listing_orders_and_resumes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention_expires_and_refuses_old_events, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_events_survive_reopen, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
