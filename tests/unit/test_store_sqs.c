/* The store's SQS operations, run through the real commit pipeline on a temp dir. */
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
#include <sqlite3.h>
#include <uv.h>

#include "store_fixture.h"

/* Runs op; it must succeed. */
static void run(fixture *f, store_op *op)
{
    assert_int_equal(run_op(f, op), 0);
}

static void put_queue(fixture *f, int64_t id, const char *name)
{
    store_op op = {.kind = STORE_SQS_QUEUE_PUT, .now_ms = 1000};
    op.u.queue.id = id;
    op.u.queue.name = (char *)name;
    op.u.queue.attrs_json = (char *)"{\"VisibilityTimeout\":\"30\"}";
    op.u.queue.tags_json = (char *)"{}";
    op.u.queue.created_ms = op.u.queue.modified_ms = 1000;
    run(f, &op);
}

/* Sends one message with `body` (and FIFO group/dedup when given) at time `now`. */
static int64_t send_msg(fixture *f, int64_t queue, int fifo, const char *body, const char *group,
                        const char *dedup, int64_t now, int *duplicate)
{
    store_sqs_entry e;
    memset(&e, 0, sizeof e);
    snprintf(e.msg.message_id, sizeof e.msg.message_id, "id-%s", body);
    e.msg.body = (char *)body;
    e.msg.body_len = strlen(body);
    snprintf(e.msg.md5_body, sizeof e.msg.md5_body, "md5");
    e.msg.group_id = (char *)group;
    e.msg.dedup_id = (char *)dedup;
    e.msg.sent_ms = now;
    e.msg.visible_ms = now;
    store_op op = {.kind = STORE_SQS_SEND, .now_ms = now};
    op.u.batch.queue_id = queue;
    op.u.batch.fifo = fifo;
    op.u.batch.dedup_window_ms = 300000;
    op.u.batch.entries = &e;
    op.u.batch.n = 1;
    run(f, &op);
    if (duplicate)
        *duplicate = e.duplicate;
    return e.msg.seq;
}

static store_op receive(fixture *f, int64_t queue, int fifo, int max, int64_t now, int64_t vis_ms,
                        int max_receives, int64_t dlq)
{
    store_op op = {.kind = STORE_SQS_RECEIVE, .now_ms = now};
    op.u.receive.queue_id = queue;
    op.u.receive.fifo = fifo;
    op.u.receive.max = max;
    op.u.receive.visibility_ms = vis_ms;
    op.u.receive.retention_ms = 345600000;
    op.u.receive.max_receive_count = max_receives;
    op.u.receive.dlq_id = dlq;
    run(f, &op);
    return op;
}

static void test_send_receive_delete_roundtrip(void **state)
{
    fixture *f = *state;
    put_queue(f, 1, "q");
    int64_t seq = send_msg(f, 1, 0, "hello", NULL, NULL, 10000, NULL);
    assert_true(seq > 0);
    store_op r = receive(f, 1, 0, 10, 10001, 30000, 0, 0);
    assert_int_equal(r.u.receive.nmsgs, 1);
    store_message *m = &r.u.receive.msgs[0];
    assert_string_equal(m->body, "hello");
    assert_int_equal(m->receive_count, 1);
    assert_int_equal(m->first_receive_ms, 10001);
    assert_int_equal(m->visible_ms, 40001);
    int64_t token = m->receipt_token;
    store_op_clear(&r);

    /* In flight: not received again, and the next visibility is reported. */
    r = receive(f, 1, 0, 10, 20000, 30000, 0, 0);
    assert_int_equal(r.u.receive.nmsgs, 0);
    assert_int_equal(r.u.receive.next_visible_ms, 40001);
    store_op_clear(&r);

    /* A stale token cannot change visibility; the current one can. */
    store_sqs_entry e = {.seq = seq, .token = token + 1, .visible_ms = 20000};
    store_op cv = {.kind = STORE_SQS_CHANGE_VISIBILITY, .now_ms = 20000};
    cv.u.batch.queue_id = 1;
    cv.u.batch.entries = &e;
    cv.u.batch.n = 1;
    run(f, &cv);
    assert_false(e.found);
    e.token = token;
    run(f, &cv);
    assert_true(e.found);

    r = receive(f, 1, 0, 10, 20000, 30000, 0, 0);
    assert_int_equal(r.u.receive.nmsgs, 1);
    assert_int_equal(r.u.receive.msgs[0].receive_count, 2);
    assert_int_equal(r.u.receive.msgs[0].first_receive_ms, 10001);
    store_op_clear(&r);

    store_sqs_entry d = {.seq = seq};
    store_op del = {.kind = STORE_SQS_DELETE, .now_ms = 20001};
    del.u.batch.queue_id = 1;
    del.u.batch.entries = &d;
    del.u.batch.n = 1;
    run(f, &del);
    assert_true(d.found);
    r = receive(f, 1, 0, 10, 100000, 30000, 0, 0);
    assert_int_equal(r.u.receive.nmsgs, 0);
    store_op_clear(&r);
}

static void test_fifo_group_blocked_while_in_flight(void **state)
{
    fixture *f = *state;
    put_queue(f, 2, "q.fifo");
    send_msg(f, 2, 1, "a1", "A", "d1", 1000, NULL);
    send_msg(f, 2, 1, "b1", "B", "d2", 1001, NULL);
    send_msg(f, 2, 1, "a2", "A", "d3", 1002, NULL);

    /* One message: the head of group A. */
    store_op r = receive(f, 2, 1, 1, 2000, 30000, 0, 0);
    assert_int_equal(r.u.receive.nmsgs, 1);
    assert_string_equal(r.u.receive.msgs[0].body, "a1");
    store_op_clear(&r);

    /* A is blocked while a1 is in flight: only B's message comes, not a2. */
    r = receive(f, 2, 1, 10, 2001, 30000, 0, 0);
    assert_int_equal(r.u.receive.nmsgs, 1);
    assert_string_equal(r.u.receive.msgs[0].body, "b1");
    store_op_clear(&r);

    /* After a1's visibility expires, a1 comes again before a2, in order. */
    r = receive(f, 2, 1, 10, 40000, 30000, 0, 0);
    assert_int_equal(r.u.receive.nmsgs, 3);
    assert_string_equal(r.u.receive.msgs[0].body, "a1");
    assert_string_equal(r.u.receive.msgs[1].body, "b1");
    assert_string_equal(r.u.receive.msgs[2].body, "a2");
    store_op_clear(&r);
}

static void test_fifo_dedup_returns_original(void **state)
{
    fixture *f = *state;
    put_queue(f, 3, "d.fifo");
    int dup = -1;
    int64_t s1 = send_msg(f, 3, 1, "x", "G", "same", 1000, &dup);
    assert_int_equal(dup, 0);
    send_msg(f, 3, 1, "y", "G", "same", 2000, &dup);
    assert_int_equal(dup, 1);
    store_op r = receive(f, 3, 1, 10, 3000, 30000, 0, 0);
    assert_int_equal(r.u.receive.nmsgs, 1);
    assert_string_equal(r.u.receive.msgs[0].body, "x");
    assert_int_equal(r.u.receive.msgs[0].seq, s1);
    store_op_clear(&r);
    /* After the 5-minute window the same id is a new message. */
    send_msg(f, 3, 1, "z", "G", "same", 1000 + 300001, &dup);
    assert_int_equal(dup, 0);
}

static void test_redrive_moves_after_max_receives(void **state)
{
    fixture *f = *state;
    put_queue(f, 4, "src");
    put_queue(f, 5, "dlq");
    send_msg(f, 4, 0, "poison", NULL, NULL, 1000, NULL);
    int64_t now = 2000;
    for (int i = 1; i <= 2; i++) {
        store_op r = receive(f, 4, 0, 1, now, 1000, 2, 5);
        assert_int_equal(r.u.receive.nmsgs, 1);
        assert_int_equal(r.u.receive.msgs[0].receive_count, i);
        store_op_clear(&r);
        now += 2000;
    }
    store_op r = receive(f, 4, 0, 1, now, 1000, 2, 5);
    assert_int_equal(r.u.receive.nmsgs, 0);
    assert_int_equal(r.u.receive.moved_to_dlq, 1);
    store_op_clear(&r);
    r = receive(f, 5, 0, 1, now, 1000, 0, 0);
    assert_int_equal(r.u.receive.nmsgs, 1);
    assert_string_equal(r.u.receive.msgs[0].body, "poison");
    assert_int_equal(r.u.receive.msgs[0].sent_ms, 1000);
    assert_int_equal(r.u.receive.msgs[0].dlq_source_id, 4);
    store_op_clear(&r);
}

static void count_queue(const store_queue *q, void *arg)
{
    (*(int *)arg)++;
}

static void test_state_survives_reopen(void **state)
{
    fixture *f = *state;
    put_queue(f, 6, "persist");
    send_msg(f, 6, 0, "m1", NULL, NULL, 1000, NULL);
    store_op r = receive(f, 6, 0, 1, 2000, 60000, 0, 0);
    assert_int_equal(r.u.receive.nmsgs, 1);
    store_op_clear(&r);
    close_store(f);
    open_store(f);
    int queues = 0;
    assert_int_equal(store_load_sqs_queues(f->st, count_queue, &queues), 0);
    assert_int_equal(queues, 1);
    /* Still in flight until 62000, with its receive count. */
    r = receive(f, 6, 0, 1, 3000, 1000, 0, 0);
    assert_int_equal(r.u.receive.nmsgs, 0);
    assert_int_equal(r.u.receive.next_visible_ms, 62000);
    store_op_clear(&r);
    r = receive(f, 6, 0, 1, 62000, 1000, 0, 0);
    assert_int_equal(r.u.receive.nmsgs, 1);
    assert_int_equal(r.u.receive.msgs[0].receive_count, 2);
    store_op_clear(&r);
}

static void test_counts_split_visible_inflight_delayed(void **state)
{
    fixture *f = *state;
    put_queue(f, 7, "counts");
    send_msg(f, 7, 0, "v1", NULL, NULL, 1000, NULL);
    send_msg(f, 7, 0, "v2", NULL, NULL, 1000, NULL);
    store_op r = receive(f, 7, 0, 1, 1500, 30000, 0, 0);
    store_op_clear(&r);
    /* A delayed message: visible only at 100000. */
    store_sqs_entry e;
    memset(&e, 0, sizeof e);
    e.msg.body = (char *)"late";
    e.msg.body_len = 4;
    e.msg.sent_ms = 1000;
    e.msg.visible_ms = 100000;
    snprintf(e.msg.message_id, sizeof e.msg.message_id, "late");
    store_op s = {.kind = STORE_SQS_SEND, .now_ms = 1000};
    s.u.batch.queue_id = 7;
    s.u.batch.entries = &e;
    s.u.batch.n = 1;
    run(f, &s);
    store_op c = {.kind = STORE_SQS_COUNTS, .now_ms = 2000};
    c.u.counts.queue_id = 7;
    c.u.counts.retention_ms = 345600000;
    run(f, &c);
    assert_int_equal(c.u.counts.visible, 1);
    assert_int_equal(c.u.counts.in_flight, 1);
    assert_int_equal(c.u.counts.delayed, 1);
}

/* Rows of sqs_payloads, read with a connection of the test's own. */
static int payload_rows(fixture *f)
{
    char path[300];
    snprintf(path, sizeof path, "%s/sluice.db", f->dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM sqs_payloads", -1, &s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    int n = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
}

/* One body shared by messages of two queues: stored once, each queue receives it, and it
 * goes when the last message referencing it is deleted (whatever deletes it: purge here). */
static void test_shared_body_stored_once_dropped_with_last_message(void **state)
{
    fixture *f = *state;
    put_queue(f, 1, "a");
    put_queue(f, 2, "b");
    store_payload sp = {.body = "{\"event\":1}", .len = 11};
    store_sqs_entry e[2];
    store_op ops[2];
    store_op *children[2];
    for (int i = 0; i < 2; i++) {
        memset(&e[i], 0, sizeof e[i]);
        snprintf(e[i].msg.message_id, sizeof e[i].msg.message_id, "m%d", i);
        e[i].msg.shared = &sp;
        e[i].msg.body_len = sp.len;
        snprintf(e[i].msg.md5_body, sizeof e[i].msg.md5_body, "md5");
        e[i].msg.sent_ms = e[i].msg.visible_ms = 10000;
        memset(&ops[i], 0, sizeof ops[i]);
        ops[i].kind = STORE_SQS_SEND;
        ops[i].now_ms = 10000;
        ops[i].u.batch.queue_id = i + 1;
        ops[i].u.batch.entries = &e[i];
        ops[i].u.batch.n = 1;
        children[i] = &ops[i];
    }
    store_op group = {.kind = STORE_GROUP, .now_ms = 10000};
    group.u.group.ops = children;
    group.u.group.n = 2;
    run(f, &group);
    assert_true(sp.id > 0);
    assert_int_equal(payload_rows(f), 1);

    for (int q = 1; q <= 2; q++) {
        store_op r = receive(f, q, 0, 10, 10001, 30000, 0, 0);
        assert_int_equal(r.u.receive.nmsgs, 1);
        assert_string_equal(r.u.receive.msgs[0].body, "{\"event\":1}");
        assert_int_equal(r.u.receive.msgs[0].body_len, 11);
        if (q == 1) { /* deleted by receipt */
            store_sqs_entry d = {.seq = r.u.receive.msgs[0].seq};
            store_op del = {.kind = STORE_SQS_DELETE, .now_ms = 10002};
            del.u.batch.queue_id = 1;
            del.u.batch.entries = &d;
            del.u.batch.n = 1;
            run(f, &del);
            assert_true(d.found);
        }
        store_op_clear(&r);
        assert_int_equal(payload_rows(f), 1); /* queue 2 still holds it */
    }
    store_op purge = {.kind = STORE_SQS_PURGE, .now_ms = 20000};
    purge.u.purge.queue_id = 2;
    purge.u.purge.before_ms = 20000;
    run(f, &purge);
    assert_int_equal(payload_rows(f), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_send_receive_delete_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_body_stored_once_dropped_with_last_message,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_fifo_group_blocked_while_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fifo_dedup_returns_original, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redrive_moves_after_max_receives, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_survives_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counts_split_visible_inflight_delayed, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
