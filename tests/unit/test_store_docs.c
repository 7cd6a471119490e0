/* The store's documents, pending deliveries, archived events and groups, run through the
 * real commit pipeline on a temp dir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/alloc.h"
#include "store/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "store_fixture.h"

static int run(fixture *f, store_op *op)
{
    return run_op(f, op);
}

typedef struct seen {
    char keys[8][64];
    char docs[8][128];
    int n;
} seen;

static void collect(const char *key, const char *doc, void *arg)
{
    seen *s = arg;
    if (s->n < 8) {
        snprintf(s->keys[s->n], sizeof s->keys[0], "%s", key);
        snprintf(s->docs[s->n], sizeof s->docs[0], "%s", doc);
        s->n++;
    }
}

static void put_doc(fixture *f, const char *ns, const char *key, const char *doc)
{
    store_doc d = {ns, key, doc};
    store_op op = {.kind = STORE_DOC_PUT, .now_ms = 1};
    op.u.docs.docs = &d;
    op.u.docs.n = 1;
    assert_int_equal(run(f, &op), 0);
}

static void test_docs_put_replace_delete_and_survive_reopen(void **state)
{
    fixture *f = *state;
    put_doc(f, "events.rule", "default/b", "{\"v\":1}");
    put_doc(f, "events.rule", "default/a", "{\"v\":2}");
    put_doc(f, "events.bus", "default/a", "{\"other\":true}");
    put_doc(f, "events.rule", "default/b", "{\"v\":3}"); /* replaces */
    put_doc(f, "events.rule", "default/gone", "{}");
    put_doc(f, "events.rule", "default/gone", NULL); /* deletes */
    close_store(f);
    open_store(f);
    seen s = {0};
    assert_int_equal(store_load_docs(f->st, "events.rule", collect, &s), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.keys[0], "default/a"); /* key order */
    assert_string_equal(s.docs[0], "{\"v\":2}");
    assert_string_equal(s.keys[1], "default/b");
    assert_string_equal(s.docs[1], "{\"v\":3}");
}

static store_delivery delivery(const char *payload, int64_t due)
{
    store_delivery d = {0};
    d.kind = (char *)"events";
    d.target_json = (char *)"{\"t\":1}";
    d.payload = (char *)payload;
    d.payload_len = strlen(payload);
    d.due_ms = due;
    d.created_ms = due;
    return d;
}

static void test_deliveries_claim_lease_retry_and_delete(void **state)
{
    fixture *f = *state;
    store_delivery in[3] = {delivery("one", 100), delivery("two", 200), delivery("later", 5000)};
    store_op put = {.kind = STORE_DELIVERY_PUT, .now_ms = 100};
    put.u.deliveries.items = in;
    put.u.deliveries.n = 3;
    assert_int_equal(run(f, &put), 0);
    assert_true(in[0].id > 0 && in[1].id > in[0].id);

    /* At 1000 two are due; they are leased for 60 s. */
    store_op claim = {.kind = STORE_DELIVERY_CLAIM, .now_ms = 1000};
    claim.u.deliveries.max = 10;
    claim.u.deliveries.lease_ms = 60000;
    claim.u.deliveries.kind = "events";
    assert_int_equal(run(f, &claim), 0);
    assert_int_equal(claim.u.deliveries.n, 2);
    assert_string_equal(claim.u.deliveries.items[0].payload, "one");
    assert_string_equal(claim.u.deliveries.items[1].kind, "events");
    assert_int_equal(claim.u.deliveries.next_due_ms, 5000);
    int64_t first = claim.u.deliveries.items[0].id, second = claim.u.deliveries.items[1].id;
    store_op_clear(&claim);

    /* Leased: not claimable again before the lease ends (only `later` is due at 6000). */
    store_op again = {.kind = STORE_DELIVERY_CLAIM, .now_ms = 6000};
    again.u.deliveries.max = 10;
    again.u.deliveries.lease_ms = 60000;
    again.u.deliveries.kind = "events";
    assert_int_equal(run(f, &again), 0);
    assert_int_equal(again.u.deliveries.n, 1);
    assert_string_equal(again.u.deliveries.items[0].payload, "later");
    store_op_clear(&again);

    /* One delivered (deleted), one rescheduled with its attempt counted. */
    store_op del = {.kind = STORE_DELIVERY_UPDATE, .now_ms = 7000};
    del.u.delivery_update.id = first;
    assert_int_equal(run(f, &del), 0);
    store_op retry = {.kind = STORE_DELIVERY_UPDATE, .now_ms = 7000};
    retry.u.delivery_update.id = second;
    retry.u.delivery_update.due_ms = 8000;
    retry.u.delivery_update.attempts = 1;
    assert_int_equal(run(f, &retry), 0);

    /* After a restart the rescheduled one is due at its time; the leased `later` only when
     * its lease runs out (at-least-once after a crash). */
    close_store(f);
    open_store(f);
    store_op after = {.kind = STORE_DELIVERY_CLAIM, .now_ms = 8000};
    after.u.deliveries.max = 10;
    after.u.deliveries.lease_ms = 60000;
    after.u.deliveries.kind = "events";
    assert_int_equal(run(f, &after), 0);
    assert_int_equal(after.u.deliveries.n, 1);
    assert_int_equal(after.u.deliveries.items[0].id, second);
    assert_int_equal(after.u.deliveries.items[0].attempts, 1);
    store_op_clear(&after);
    store_op late = {.kind = STORE_DELIVERY_CLAIM, .now_ms = 66001};
    late.u.deliveries.max = 10;
    late.u.deliveries.lease_ms = 60000;
    late.u.deliveries.kind = "events";
    assert_int_equal(run(f, &late), 0);
    assert_int_equal(late.u.deliveries.n, 1);
    assert_string_equal(late.u.deliveries.items[0].payload, "later");
    store_op_clear(&late);

    /* A restart releases leases (their holder is gone): due at once, not after the lease. */
    close_store(f);
    open_store(f);
    store_op release = {.kind = STORE_DELIVERY_RELEASE, .now_ms = 70000};
    assert_int_equal(run(f, &release), 0);
    store_op now = {.kind = STORE_DELIVERY_CLAIM, .now_ms = 70000};
    now.u.deliveries.max = 10;
    now.u.deliveries.lease_ms = 60000;
    now.u.deliveries.kind = "events";
    assert_int_equal(run(f, &now), 0);
    assert_int_equal(now.u.deliveries.n, 2); /* `later` and `second`, both leased until 126001 */
    store_op_clear(&now);
}

static void append(fixture *f, const char *archive, int64_t t, const char *event)
{
    store_archived a = {0};
    a.archive = (char *)archive;
    a.time_ms = t;
    a.event = (char *)event;
    a.len = strlen(event);
    store_op op = {.kind = STORE_ARCHIVE_APPEND, .now_ms = t};
    op.u.archive_append.items = &a;
    op.u.archive_append.n = 1;
    assert_int_equal(run(f, &op), 0);
}

static void test_archive_reads_window_in_order_and_resumes(void **state)
{
    fixture *f = *state;
    append(f, "a", 100, "{\"e\":1}");
    append(f, "a", 200, "{\"e\":2}");
    append(f, "b", 200, "{\"other\":1}");
    append(f, "a", 200, "{\"e\":3}");
    append(f, "a", 300, "{\"e\":4}");
    store_op read = {.kind = STORE_ARCHIVE_READ, .now_ms = 1};
    read.u.archive.archive = "a";
    read.u.archive.from_ms = 150;
    read.u.archive.to_ms = 300; /* exclusive */
    read.u.archive.max = 1;
    assert_int_equal(run(f, &read), 0);
    assert_int_equal(read.u.archive.n, 1);
    assert_string_equal(read.u.archive.items[0].event, "{\"e\":2}");
    int64_t last = read.u.archive.items[0].seq;
    store_op_clear(&read);
    read.u.archive.after_seq = last;
    read.u.archive.max = 10;
    assert_int_equal(run(f, &read), 0);
    assert_int_equal(read.u.archive.n, 1);
    assert_string_equal(read.u.archive.items[0].event, "{\"e\":3}");
    store_op_clear(&read);

    store_op stats = {.kind = STORE_ARCHIVE_STATS, .now_ms = 1};
    stats.u.archive.archive = "a";
    assert_int_equal(run(f, &stats), 0);
    assert_int_equal(stats.u.archive.count, 4);
    assert_int_equal(stats.u.archive.bytes, 4 * 7);

    store_op trim = {.kind = STORE_ARCHIVE_TRIM, .now_ms = 1};
    trim.u.archive.archive = "a";
    trim.u.archive.to_ms = 250;
    assert_int_equal(run(f, &trim), 0);
    assert_int_equal(run(f, &stats), 0);
    assert_int_equal(stats.u.archive.count, 1);
}

/* A child of a group fails: none of the group's effects remain, and ops outside the group
 * in the same batch still commit. */
static void test_group_is_all_or_nothing(void **state)
{
    fixture *f = *state;
    store_doc d1 = {"g", "kept-out", "{}"};
    store_op ok = {.kind = STORE_DOC_PUT, .now_ms = 1};
    ok.u.docs.docs = &d1;
    ok.u.docs.n = 1;

    store_doc d2 = {"g", "in-group", "{}"};
    store_op child1 = {.kind = STORE_DOC_PUT, .now_ms = 1};
    child1.u.docs.docs = &d2;
    child1.u.docs.n = 1;
    store_doc bad = {"g", NULL, "{}"}; /* violates NOT NULL: the child fails */
    store_op child2 = {.kind = STORE_DOC_PUT, .now_ms = 1};
    child2.u.docs.docs = &bad;
    child2.u.docs.n = 1;
    store_op *children[] = {&child1, &child2};
    store_op group = {.kind = STORE_GROUP, .now_ms = 1};
    group.u.group.ops = children;
    group.u.group.n = 2;

    int a = 0, b = 0;
    ok.done = fixture_done_cb;
    ok.ctx = &a;
    group.done = fixture_done_cb;
    group.ctx = &b;
    store_submit(f->st, &ok);
    store_submit(f->st, &group); /* same loop iteration: same batch */
    while (!a || !b)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_int_equal(ok.status, 0);
    assert_int_not_equal(group.status, 0);
    assert_int_not_equal(child1.status, 0);

    seen s = {0};
    assert_int_equal(store_load_docs(f->st, "g", collect, &s), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.keys[0], "kept-out");

    /* The same group without the failing child commits. */
    group.u.group.n = 1;
    assert_int_equal(run(f, &group), 0);
    memset(&s, 0, sizeof s);
    assert_int_equal(store_load_docs(f->st, "g", collect, &s), 0);
    assert_int_equal(s.n, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_docs_put_replace_delete_and_survive_reopen, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_deliveries_claim_lease_retry_and_delete, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_archive_reads_window_in_order_and_resumes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_group_is_all_or_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
