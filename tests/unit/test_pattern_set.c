/* Pattern sets: many patterns in one automaton, replacement and removal, ids reported
 * once, SNS attribute events, and matching while another thread updates the set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pattern/pattern.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

typedef struct ids {
    uint64_t v[64];
    size_t n;
} ids;

static void collect(uint64_t id, void *arg)
{
    ids *r = arg;
    if (r->n < 64)
        r->v[r->n++] = id;
}

static void add(pattern_set *s, uint64_t id, const char *p)
{
    char err[256] = "";
    int rc = pattern_set_add(s, id, p, strlen(p), err, sizeof err);
    if (rc != 0)
        fail_msg("add %s: %s", p, err);
}

static ids match(pattern_set *s, pattern_event *ev, const char *json)
{
    ids r = {.n = 0};
    assert_int_equal(pattern_event_from_json(ev, json, strlen(json)), 0);
    size_t n = pattern_set_match(s, ev, collect, &r);
    assert_int_equal(n, r.n);
    return r;
}

static void test_many_patterns_share_one_automaton(void **state)
{
    pattern_set *s;
    assert_int_equal(pattern_set_create(&s, PATTERN_EVENTBRIDGE), 0);
    pattern_event *ev = pattern_event_new();
    add(s, 1, "{\"source\":[\"a\"]}");
    add(s, 2, "{\"source\":[\"a\"],\"detail\":{\"x\":[1]}}");
    add(s, 3, "{\"source\":[\"b\"]}");
    add(s, 4, "{\"source\":[{\"prefix\":\"\"}]}");
    add(s, 5, "{\"detail\":{\"x\":[{\"numeric\":[\">\",0]}]}}");
    assert_int_equal(pattern_set_count(s), 5);

    ids r = match(s, ev, "{\"source\":\"a\",\"detail\":{\"x\":1}}");
    assert_int_equal(r.n, 4);
    uint64_t want[] = {1, 2, 4, 5}; /* ascending */
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(r.v[i], want[i]);
    r = match(s, ev, "{\"source\":\"b\"}");
    assert_int_equal(r.n, 2);
    assert_int_equal(r.v[0], 3);
    r = match(s, ev, "{\"other\":1}");
    assert_int_equal(r.n, 0);
    pattern_event_free(ev);
    pattern_set_destroy(s);
}

static void test_id_reported_once_per_match(void **state)
{
    pattern_set *s;
    assert_int_equal(pattern_set_create(&s, PATTERN_EVENTBRIDGE), 0);
    pattern_event *ev = pattern_event_new();
    /* two $or branches and two array elements could each report it */
    add(s, 9, "{\"$or\":[{\"a\":[1]},{\"b\":[1]}],\"c\":[\"x\",{\"prefix\":\"x\"}]}");
    ids r = match(s, ev, "{\"a\":1,\"b\":1,\"c\":[\"x\",\"xy\"]}");
    assert_int_equal(r.n, 1);
    assert_int_equal(r.v[0], 9);
    pattern_event_free(ev);
    pattern_set_destroy(s);
}

static void test_replace_and_remove(void **state)
{
    pattern_set *s;
    assert_int_equal(pattern_set_create(&s, PATTERN_EVENTBRIDGE), 0);
    pattern_event *ev = pattern_event_new();
    add(s, 7, "{\"source\":[\"old\"]}");
    add(s, 8, "{\"source\":[\"old\"]}");
    assert_int_equal(match(s, ev, "{\"source\":\"old\"}").n, 2);

    /* replacing id 7 leaves id 8's identical path in place */
    add(s, 7, "{\"source\":[\"new\"]}");
    assert_int_equal(pattern_set_count(s), 2);
    ids r = match(s, ev, "{\"source\":\"old\"}");
    assert_int_equal(r.n, 1);
    assert_int_equal(r.v[0], 8);
    r = match(s, ev, "{\"source\":\"new\"}");
    assert_int_equal(r.n, 1);
    assert_int_equal(r.v[0], 7);

    /* an invalid replacement keeps the earlier pattern */
    char err[256];
    assert_int_equal(pattern_set_add(s, 7, "{\"source\":\"x\"}", 14, err, sizeof err),
                     PATTERN_EINVALID);
    assert_int_equal(match(s, ev, "{\"source\":\"new\"}").n, 1);

    assert_int_equal(pattern_set_remove(s, 8), 0);
    assert_int_equal(pattern_set_remove(s, 8), -1);
    assert_int_equal(match(s, ev, "{\"source\":\"old\"}").n, 0);
    assert_int_equal(pattern_set_remove(s, 7), 0);
    assert_int_equal(pattern_set_count(s), 0);
    assert_int_equal(match(s, ev, "{\"source\":\"new\"}").n, 0);

    /* everything can be added again after removal (indexes were emptied cleanly) */
    const char *all = "{\"a\":[\"s\",1,true,null,{\"prefix\":\"p\"},{\"suffix\":\"q\"},"
                      "{\"equals-ignore-case\":\"E\"},{\"wildcard\":\"w*\"},{\"numeric\":[\">\","
                      "5]},{\"cidr\":\"10.0.0.0/8\"},{\"anything-but\":\"z\"},{\"exists\":false}]}";
    for (int round = 0; round < 3; round++) {
        add(s, 1, all);
        assert_int_equal(match(s, ev, "{\"a\":\"10.1.2.3\"}").n, 1);
        assert_int_equal(match(s, ev, "{\"a\":\"z\"}").n, 0);
        assert_int_equal(match(s, ev, "{\"b\":1}").n, 1);
        assert_int_equal(pattern_set_remove(s, 1), 0);
        assert_int_equal(match(s, ev, "{\"a\":\"s\"}").n, 0);
    }
    pattern_event_free(ev);
    pattern_set_destroy(s);
}

static void test_thousands_of_rules(void **state)
{
    pattern_set *s;
    assert_int_equal(pattern_set_create(&s, PATTERN_EVENTBRIDGE), 0);
    pattern_event *ev = pattern_event_new();
    char p[256];
    for (int i = 0; i < 3000; i++) {
        switch (i % 3) {
        case 0:
            snprintf(p, sizeof p, "{\"source\":[\"src%d\"],\"detail\":{\"n\":[%d]}}", i, i);
            break;
        case 1:
            snprintf(p, sizeof p, "{\"detail\":{\"name\":[{\"prefix\":\"name%d-\"}]}}", i);
            break;
        default:
            snprintf(p, sizeof p, "{\"detail\":{\"v\":[{\"numeric\":[\">=\",%d,\"<\",%d]}]}}", i,
                     i + 10);
            break;
        }
        add(s, (uint64_t)i, p);
    }
    ids r = match(s, ev, "{\"source\":\"src300\",\"detail\":{\"n\":300}}");
    assert_int_equal(r.n, 1);
    assert_int_equal(r.v[0], 300);
    r = match(s, ev, "{\"detail\":{\"name\":\"name301-x\"}}");
    assert_int_equal(r.n, 1);
    assert_int_equal(r.v[0], 301);
    /* v = 20 is in [11,21), [14,24), [17,27), [20,30) */
    r = match(s, ev, "{\"detail\":{\"v\":20}}");
    assert_int_equal(r.n, 4);
    assert_int_equal(r.v[0], 11);
    assert_int_equal(r.v[3], 20);
    /* v = 2000: hundreds of ranges start below it (the interval tree path) */
    r = match(s, ev, "{\"detail\":{\"v\":2000}}");
    assert_int_equal(r.n, 4);
    assert_int_equal(r.v[0], 1991);
    assert_int_equal(r.v[1], 1994);
    assert_int_equal(r.v[2], 1997);
    assert_int_equal(r.v[3], 2000);
    for (int i = 0; i < 3000; i += 2)
        assert_int_equal(pattern_set_remove(s, (uint64_t)i), 0);
    r = match(s, ev, "{\"detail\":{\"v\":20}}");
    assert_int_equal(r.n, 2);
    assert_int_equal(r.v[0], 11);
    assert_int_equal(r.v[1], 17);
    r = match(s, ev, "{\"detail\":{\"v\":2000}}");
    assert_int_equal(r.n, 2);
    assert_int_equal(r.v[0], 1991);
    assert_int_equal(r.v[1], 1997);
    pattern_event_free(ev);
    pattern_set_destroy(s);
}

static void test_sns_attributes(void **state)
{
    pattern_set *s;
    assert_int_equal(pattern_set_create(&s, PATTERN_SNS), 0);
    add(s, 1, "{\"store\":[\"example_corp\"],\"price_usd\":[{\"numeric\":[\">=\",100]}]}");
    add(s, 2, "{\"customer_interests\":[\"rugby\",\"football\"]}");
    pattern_event *ev = pattern_event_new();
    pattern_event_reset(ev);
    assert_int_equal(pattern_event_add(ev, "store", "\"example_corp\"", 14), 0);
    assert_int_equal(pattern_event_add(ev, "price_usd", "210.75", 6), 0);
    assert_int_equal(pattern_event_add(ev, "customer_interests", "[\"soccer\",\"football\"]", 21),
                     0);
    assert_int_equal(pattern_event_add(ev, "bad", "{", 1), -1);
    assert_int_equal(pattern_event_field_count(ev), 4);
    ids r = {.n = 0};
    assert_int_equal(pattern_set_match(s, ev, collect, &r), 2);
    pattern_event_reset(ev);
    assert_int_equal(pattern_event_add(ev, "price_usd", "\"210.75\"", 8), 0);
    assert_int_equal(pattern_set_match(s, ev, NULL, NULL), 0);
    pattern_event_free(ev);
    pattern_set_destroy(s);
}

static void test_flatten_fields(void **state)
{
    pattern_event *ev = pattern_event_new();
    const char *e = "{\"a\":{\"b\":[1,{\"c\":\"x\"},[]],\"d\":{}},\"e\":null,\"f\":[]}";
    assert_int_equal(pattern_event_from_json(ev, e, strlen(e)), 0);
    assert_int_equal(pattern_event_field_count(ev), 3); /* a.b, a.b.c, e */
    assert_int_equal(pattern_event_from_json(ev, "{}", 2), 0);
    assert_int_equal(pattern_event_field_count(ev), 0);
    assert_int_equal(pattern_event_from_json(ev, "[]", 2), -1);
    pattern_event_free(ev);
    pattern_event_free(NULL);
    pattern_set_destroy(NULL);
}

typedef struct shared {
    pattern_set *s;
    volatile int stop;
    size_t bad;
} shared;

static void *reader(void *arg)
{
    shared *sh = arg;
    pattern_event *ev = pattern_event_new();
    const char *e = "{\"source\":\"stable\",\"detail\":{\"n\":5}}";
    pattern_event_from_json(ev, e, strlen(e));
    while (!sh->stop) {
        ids r = {.n = 0};
        pattern_set_match(sh->s, ev, collect, &r);
        if (r.n < 1 || r.v[0] != 1)
            sh->bad++;
    }
    pattern_event_free(ev);
    return NULL;
}

static void test_match_while_updating(void **state)
{
    shared sh = {.stop = 0, .bad = 0};
    assert_int_equal(pattern_set_create(&sh.s, PATTERN_EVENTBRIDGE), 0);
    add(sh.s, 1, "{\"source\":[\"stable\"]}");
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, reader, &sh), 0);
    char p[128];
    for (int i = 0; i < 2000; i++) {
        snprintf(p, sizeof p, "{\"source\":[\"stable\"],\"detail\":{\"n\":[%d]}}", i % 10);
        add(sh.s, 100 + (uint64_t)(i % 50), p);
        if (i % 3 == 0)
            pattern_set_remove(sh.s, 100 + (uint64_t)(i % 50));
    }
    sh.stop = 1;
    pthread_join(t, NULL);
    assert_int_equal(sh.bad, 0);
    pattern_set_destroy(sh.s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_patterns_share_one_automaton),
        cmocka_unit_test(test_id_reported_once_per_match),
        cmocka_unit_test(test_replace_and_remove),
        cmocka_unit_test(test_thousands_of_rules),
        cmocka_unit_test(test_sns_attributes),
        cmocka_unit_test(test_flatten_fields),
        cmocka_unit_test(test_match_while_updating),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
