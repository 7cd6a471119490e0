/* EventBridge schedule expressions: what parses (and into which sets), what AWS rejects,
 * and the next fire time across month, leap-year and Year-field boundaries, checked against
 * hand-computed dates and against a day-by-day evaluation of the fields. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "services/events/events_schedule.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define MIN_MS 60000LL
#define DAY_MS 86400000LL

static int64_t T(int y, int mo, int d, int h, int mi)
{
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    return (int64_t)timegm(&tm) * 1000;
}

static const char *fmt(int64_t ms, char out[32])
{
    if (ms < 0 && ms != INT64_MIN) {
        snprintf(out, 32, "%lld", (long long)ms);
        return out;
    }
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(out, 32, "%Y-%m-%d %H:%M:%S %a", &tm);
    return out;
}

static events_schedule parse_ok(const char *expr)
{
    events_schedule s;
    char err[160] = "";
    if (events_schedule_parse(expr, strlen(expr), &s, err, sizeof err) != 0)
        fail_msg("rejected valid expression %s: %s", expr, err);
    return s;
}

static void expect_next(const char *expr, int64_t after, int64_t want)
{
    events_schedule s = parse_ok(expr);
    int64_t got = events_schedule_next(&s, 0, after);
    if (got != want) {
        char a[32], b[32], c[32];
        fail_msg("%s after %s: got %s, want %s", expr, fmt(after, a), fmt(got, b), fmt(want, c));
    }
}

/* Successive fires of expr from after: want[] in order. */
static void expect_sequence(const char *expr, int64_t after, const int64_t *want, size_t n)
{
    events_schedule s = parse_ok(expr);
    for (size_t i = 0; i < n; i++) {
        int64_t got = events_schedule_next(&s, 0, after);
        if (got != want[i]) {
            char a[32], b[32], c[32];
            fail_msg("%s fire #%zu after %s: got %s, want %s", expr, i, fmt(after, a), fmt(got, b),
                     fmt(want[i], c));
        }
        after = got;
    }
}

static void expect_rejected(const char *const *bad, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        events_schedule s;
        char err[160] = "";
        memset(&s, 0xab, sizeof s);
        if (events_schedule_parse(bad[i], strlen(bad[i]), &s, err, sizeof err) == 0)
            fail_msg("accepted invalid expression #%zu: \"%s\"", i, bad[i]);
        if (strlen(err) == 0)
            fail_msg("no reason given for \"%s\"", bad[i]);
        events_schedule zero;
        memset(&zero, 0, sizeof zero);
        if (memcmp(&s, &zero, sizeof s) != 0)
            fail_msg("output not cleared after rejecting \"%s\"", bad[i]);
    }
}

static uint64_t bits(const int *v, size_t n)
{
    uint64_t b = 0;
    for (size_t i = 0; i < n; i++)
        b |= 1ULL << v[i];
    return b;
}

#define BITS(...) bits((const int[]){__VA_ARGS__}, sizeof((const int[]){__VA_ARGS__}) / sizeof(int))

/* ---------------------------------------------------------------------------------------
 * rate()
 * ------------------------------------------------------------------------------------- */

static void test_rate_units_and_periods(void **state)
{
    struct {
        const char *expr;
        int64_t ms;
    } ok[] = {
        {"rate(1 minute)", MIN_MS},
        {"rate(5 minutes)", 5 * MIN_MS},
        {"rate(1 hour)", 60 * MIN_MS},
        {"rate(2 hours)", 120 * MIN_MS},
        {"rate(1 day)", DAY_MS},
        {"rate(7 days)", 7 * DAY_MS},
        {"rate(999999999 days)", 999999999 * DAY_MS},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        events_schedule s = parse_ok(ok[i].expr);
        assert_int_equal(s.kind, EVENTS_SCHEDULE_RATE);
        assert_int_equal(s.period_ms, ok[i].ms);
    }
}

static void test_rate_rejects_what_aws_rejects(void **state)
{
    /* The first seventeen are the ones AWS was recorded rejecting (localstack's
     * AWS-validated test_put_rule_with_invalid_schedule_rate). */
    static const char *const bad[] = {
        "rate(10 seconds)",
        "rate(10 years)",
        "rate(1 minutes)",
        "rate(1 hours)",
        "rate(1 days)",
        "rate(10 minute)",
        "rate(10 hour)",
        "rate(10 day)",
        "rate()",
        "rate(10)",
        "rate(10 minutess)",
        "rate(foo minutes)",
        "rate(0 minutes)",
        "rate(-10 minutes)",
        "rate(10 MINUTES)",
        "rate( 10 minutes )",
        " rate(10 minutes)",
        "rate(10 minutes) ",
        "rate(10  minutes)",
        "rate(10\tminutes)",
        "rate(+5 minutes)",
        "rate(1.5 hours)",
        "rate(5minutes)",
        "rate(5 minutes",
        "rate 5 minutes)",
        "RATE(5 minutes)",
        "rate(1000000000 minutes)",
        "rate(5 m)",
        "rate(1 minutex)",
        "rate(1 dayss)",
        "rate(2 hoursx)",
        "rate(5 )",
        "rate(1 minute))",
        "",
        "r",
        "rate(",
        "every 5 minutes",
    };
    expect_rejected(bad, sizeof bad / sizeof bad[0]);
}

static void test_rate_next_is_anchor_plus_whole_periods(void **state)
{
    events_schedule s = parse_ok("rate(5 minutes)");
    const int64_t a = T(2024, 3, 10, 14, 7) + 12345; /* anchors need not be whole minutes */
    const int64_t p = 5 * MIN_MS;
    assert_int_equal(events_schedule_next(&s, a, a), a + p);
    assert_int_equal(events_schedule_next(&s, a, a - 1), a + p);
    assert_int_equal(events_schedule_next(&s, a, a - 10 * DAY_MS), a + p);
    assert_int_equal(events_schedule_next(&s, a, a + p - 1), a + p);
    assert_int_equal(events_schedule_next(&s, a, a + p), a + 2 * p);
    assert_int_equal(events_schedule_next(&s, a, a + p + 1), a + 2 * p);
    /* A restart a year later lands on the same grid, neither skipping nor repeating. */
    int64_t later = a + 365 * DAY_MS + 7;
    int64_t t = events_schedule_next(&s, a, later);
    assert_true(t > later && t - p <= later);
    assert_int_equal((t - a) % p, 0);

    events_schedule d = parse_ok("rate(1 day)");
    assert_int_equal(events_schedule_next(&d, -DAY_MS / 2, 0), DAY_MS / 2);
    assert_int_equal(events_schedule_next(&d, 0, INT64_MAX - 1), -1);
    assert_int_equal(events_schedule_next(&d, INT64_MAX - DAY_MS / 2, 0), -1);
    assert_int_equal(events_schedule_next(&d, INT64_MIN + 1, INT64_MAX), -1);
}

/* ---------------------------------------------------------------------------------------
 * cron(): what parses, into what
 * ------------------------------------------------------------------------------------- */

static void test_cron_accepts_aws_examples(void **state)
{
    /* AWS's documented examples and localstack's AWS-validated ones. */
    static const char *const ok[] = {
        "cron(0 10 * * ? *)",
        "cron(15 12 * * ? *)",
        "cron(0 18 ? * MON-FRI *)",
        "cron(0 8 1 * ? *)",
        "cron(0/15 * * * ? *)",
        "cron(0/10 * ? * MON-FRI *)",
        "cron(0/5 8-17 ? * MON-FRI *)",
        "cron(0 9 ? * 2#1 *)",
        "cron(0 2 ? * SAT *)",
        "cron(0 12 * * ? *)",
        "cron(5,35 14 * * ? *)",
        "cron(15 10 ? * 6L 2002-2005)",
        "cron(0 2 ? * SAT#3 *)",
        "cron(* * ? * SAT#3 *)",
        "cron(0/5 5 ? JAN 1-5 2022)",
        "cron(0/30 20-23 ? * MON-FRI *)",
        "cron(0/30 0-2 ? * MON-FRI *)",
        "cron(0 0 LW * ? *)",
        "cron(0 18 31W * ? *)",
        "cron(0 18 ? * L *)",
        "cron(10 7/5 ? * Wed-Fri 2020)",
        "cron(* * ? * mon-sun *)",
        "cron(0 9-5 ? * MON-FRI *)",
        "cron(0 1-7/2,11-23/2 * * ? *)",
        "cron(30 0 1 JAN-APR,JUL-OCT/2,DEC ? *)",
        "cron(0,5 07/12 ? * 1,5,7 2020-2021,2028-2199)",
        "cron(0 0 L-3 * ? *)",
        "cron(0 0 l * ? *)",
        "cron(0  0   1 * ? *)",
        /* AWS accepts empty list items (boto/boto3#2876, confirmed by AWS). */
        "cron(0/5, 9-18, ?, *, MON-FRI, *)",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        events_schedule s = parse_ok(ok[i]);
        assert_int_equal(s.kind, EVENTS_SCHEDULE_CRON);
    }
}

static void test_cron_rejects_invalid_expressions(void **state)
{
    static const char *const bad[] = {
        /* Recorded AWS rejections (localstack snapshots, issue threads). */
        "cron(0 1 * * * *)",
        "cron(7 20 * * NOT *)",
        "cron(INVALID)",
        "cron(0 dummy ? * MON-FRI *)",
        "cron(71 8 1 * ? *)",
        "cron(7 20 * * 1-7 *)",
        "cron(*/60 * * * ? *)",
        "cron(* ? * * * *)",
        "cron(15 12 ? * -1 *)",
        "cron(*/1 * * * *)",
        /* Shape. */
        "cron()",
        "cron( 0 12 * * ? *)",
        "cron(0 12 * * ? * )",
        "cron(0 12 * * ? * *)",
        "cron(0 12 * * ?)",
        "cron(0\t12 * * ? *)",
        "cron(0 12 * * ? *",
        "CRON(0 12 * * ? *)",
        "cron 0 12 * * ? *",
        /* Day-of-month / Day-of-week: exactly one is '?'. */
        "cron(0 12 ? * ? *)",
        "cron(0 12 1 * MON *)",
        "cron(0 12 L * L *)",
        /* Ranges of each field. */
        "cron(60 * * * ? *)",
        "cron(-1 * * * ? *)",
        "cron(0 24 * * ? *)",
        "cron(0 0 0 * ? *)",
        "cron(0 0 32 * ? *)",
        "cron(0 0 1 0 ? *)",
        "cron(0 0 1 13 ? *)",
        "cron(0 0 ? * 0 *)",
        "cron(0 0 ? * 8 *)",
        "cron(0 0 1 * ? 1969)",
        "cron(0 0 1 * ? 2200)",
        "cron(0 0 1 * ? 2100-2200)",
        /* Increments: positive and no larger than the field. */
        "cron(0/0 * * * ? *)",
        "cron(0 */24 * * ? *)",
        "cron(0 0 */32 * ? *)",
        "cron(0 0 1 */13 ? *)",
        "cron(0 0 ? * */8 *)",
        "cron(0/ * * * ? *)",
        "cron(/5 * * * ? *)",
        "cron(5/x * * * ? *)",
        /* Lists and ranges. */
        "cron(, * * * ? *)",
        "cron(0 0 ,, * ? *)",
        "cron(0 0 ? * ,,, *)",
        "cron(1- * * * ? *)",
        "cron(1-2-3 * * * ? *)",
        "cron(*-5 * * * ? *)",
        "cron(5-* * * * ? *)",
        "cron(** * * * ? *)",
        "cron(0 0 1 * ? 2025-2020)",
        /* Wildcards in fields that do not take them. */
        "cron(? 0 1 * ? *)",
        "cron(L 0 1 * ? *)",
        "cron(0 0 1 ? ? *)",
        "cron(0 0 1 * ? ?)",
        "cron(0 0 1 * ? L)",
        "cron(0 0 1W * ? 2020W)",
        "cron(0 0 1 L ? *)",
        "cron(0 0 1#2 * ? *)",
        "cron(0 0 ? * 2W *)",
        /* Names only where names belong, and only three letters. */
        "cron(0 0 1 JANUARY ? *)",
        "cron(0 0 1 JA ? *)",
        "cron(0 0 ? * MONDAY *)",
        "cron(0 0 ? JAN MOM *)",
        "cron(0 MON ? * MON *)",
        "cron(0 0 1 MON ? *)",
        "cron(0 0 ? * JAN *)",
        "cron(0 0 ? * 2/MON *)",
        /* The special day forms, and standing alone. */
        "cron(0 0 W * ? *)",
        "cron(0 0 32W * ? *)",
        "cron(0 0 0W * ? *)",
        "cron(0 0 1-5W * ? *)",
        "cron(0 0 1W,15 * ? *)",
        "cron(0 0 L,15 * ? *)",
        "cron(0 0 3L * ? *)",
        "cron(0 0 L3 * ? *)",
        "cron(0 0 L- * ? *)",
        "cron(0 0 L-0 * ? *)",
        "cron(0 0 L-31 * ? *)",
        "cron(0 0 L-3W * ? *)",
        "cron(0 0 WL * ? *)",
        "cron(0 0 ? * 3#0 *)",
        "cron(0 0 ? * 3#6 *)",
        "cron(0 0 ? * 3#10 *)",
        "cron(0 0 ? * 3# *)",
        "cron(0 0 ? * #2 *)",
        "cron(0 0 ? * 8#2 *)",
        "cron(0 0 ? * 3#1,6#3 *)",
        "cron(0 0 ? * 3#1,5 *)",
        "cron(0 0 ? * 1-3#2 *)",
        "cron(0 0 ? * 2,6L *)",
        "cron(0 0 ? * 8L *)",
        "cron(0 0 ? * L5 *)",
        "cron(0 0 ? * LL *)",
        "cron(0 0 ? * 6L-2 *)",
        "cron(0 0 ? * 5?, *)",
        "cron(0 0 ?5 * ? *)",
        /* Bytes that are not the syntax at all. */
        "cron(0 0 1 * ? *)\n",
        "cron(0 0 1 * ? \xff)",
        "cron(\xc3\xa9 0 1 * ? *)",
    };
    expect_rejected(bad, sizeof bad / sizeof bad[0]);

    /* An embedded NUL is a byte like any other. */
    static const char nul[] = "cron(0 0 1\0 * ? *)";
    events_schedule s;
    char err[80];
    assert_int_equal(events_schedule_parse(nul, sizeof nul - 1, &s, err, sizeof err), -1);
}

static void test_minutes_and_hours_sets(void **state)
{
    struct {
        const char *expr;
        uint64_t minutes;
        uint32_t hours;
    } cases[] = {
        {"cron(0/15 * * * ? *)", BITS(0, 15, 30, 45), 0xffffff},
        {"cron(1/10 0 * * ? *)", BITS(1, 11, 21, 31, 41, 51), 1},
        {"cron(5,35 14 * * ? *)", BITS(5, 35), 1u << 14},
        {"cron(10-12 22-2 * * ? *)", BITS(10, 11, 12), (uint32_t)BITS(22, 23, 0, 1, 2)},
        {"cron(57-2 0 * * ? *)", BITS(57, 58, 59, 0, 1, 2), 1},
        {"cron(55-5/5 0 * * ? *)", BITS(55, 0, 5), 1},
        {"cron(10-40/10 11-23/4 * * ? *)", BITS(10, 20, 30, 40), (uint32_t)BITS(11, 15, 19, 23)},
        {"cron(*/20 */12 * * ? *)", BITS(0, 20, 40), (uint32_t)BITS(0, 12)},
        {"cron(59/59 23/1 * * ? *)", BITS(59), 1u << 23},
        {"cron(05,007 09 * * ? *)", BITS(5, 7), 1u << 9},
        {"cron(0,1-3,30/15 0 * * ? *)", BITS(0, 1, 2, 3, 30, 45), 1},
        {"cron(30-30 0 * * ? *)", BITS(30), 1},
        {"cron(,1,,2, 3, * * ? *)", BITS(1, 2), 1u << 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        events_schedule s = parse_ok(cases[i].expr);
        if (s.minutes != cases[i].minutes || s.hours != cases[i].hours)
            fail_msg("%s: minutes %llx hours %x", cases[i].expr, (unsigned long long)s.minutes,
                     s.hours);
    }
    assert_int_equal(parse_ok("cron(* * * * ? *)").minutes, (1ULL << 60) - 1);
}

static void test_day_month_and_weekday_sets(void **state)
{
    events_schedule s = parse_ok("cron(0 0 1-15/7,31 JAN-MAR,jul,Nov-feb ? *)");
    assert_int_equal(s.dom_kind, EVENTS_DOM_SET);
    assert_int_equal(s.dom_set, BITS(1, 8, 15, 31));
    assert_int_equal(s.months, BITS(1, 2, 3, 7, 11, 12));
    assert_int_equal(s.dow_kind, EVENTS_DOW_ANY);

    s = parse_ok("cron(0 0 25-3 */5 ? *)");
    assert_int_equal(s.dom_set, BITS(25, 26, 27, 28, 29, 30, 31, 1, 2, 3));
    assert_int_equal(s.months, BITS(1, 6, 11));

    struct {
        const char *field;
        uint8_t set;
    } dow[] = {
        {"MON-FRI", BITS(2, 3, 4, 5, 6)},
        {"mon-sun", BITS(1, 2, 3, 4, 5, 6, 7)},
        {"SAT-MON", BITS(7, 1, 2)},
        {"*/2", BITS(1, 3, 5, 7)},
        {"2/3", BITS(2, 5)},
        {"1,7", BITS(1, 7)},
        {"2-FRI", BITS(2, 3, 4, 5, 6)},
        {"L", BITS(7)},
        {"Sun", BITS(1)},
        {"*", BITS(1, 2, 3, 4, 5, 6, 7)},
    };
    for (size_t i = 0; i < sizeof dow / sizeof dow[0]; i++) {
        char expr[64];
        snprintf(expr, sizeof expr, "cron(0 0 ? * %s *)", dow[i].field);
        s = parse_ok(expr);
        assert_int_equal(s.dom_kind, EVENTS_DOM_ANY);
        assert_int_equal(s.dow_kind, EVENTS_DOW_SET);
        if (s.dow_set != dow[i].set)
            fail_msg("%s: dow_set %x, want %x", expr, s.dow_set, dow[i].set);
    }

    s = parse_ok("cron(0 0 ? * FRIL *)");
    assert_int_equal(s.dow_kind, EVENTS_DOW_LAST);
    assert_int_equal(s.dow_arg, 6);
    s = parse_ok("cron(0 0 ? * tue#2 *)");
    assert_int_equal(s.dow_kind, EVENTS_DOW_NTH);
    assert_int_equal(s.dow_arg, 3);
    assert_int_equal(s.dow_nth, 2);
    s = parse_ok("cron(0 0 15w * ? *)");
    assert_int_equal(s.dom_kind, EVENTS_DOM_NEAREST);
    assert_int_equal(s.dom_arg, 15);
    s = parse_ok("cron(0 0 L-2 * ? *)");
    assert_int_equal(s.dom_kind, EVENTS_DOM_LAST);
    assert_int_equal(s.dom_arg, 2);
}

static void test_year_field(void **state)
{
    events_schedule s = parse_ok("cron(0 0 1 1 ? 1970,2020-2022,2190/5)");
    int want[] = {1970, 2020, 2021, 2022, 2190, 2195};
    int n = 0;
    for (int y = EVENTS_SCHEDULE_YEAR_MIN; y <= EVENTS_SCHEDULE_YEAR_MAX; y++) {
        int i = y - EVENTS_SCHEDULE_YEAR_MIN;
        if (s.years[i >> 6] >> (i & 63) & 1) {
            assert_true(n < 6);
            assert_int_equal(y, want[n++]);
        }
    }
    assert_int_equal(n, 6);
    s = parse_ok("cron(0 0 1 1 ? */100)");
    assert_int_equal(events_schedule_next(&s, 0, T(1971, 1, 1, 0, 0)), T(2070, 1, 1, 0, 0));
    assert_int_equal(events_schedule_next(&s, 0, T(2070, 1, 1, 0, 0)), T(2170, 1, 1, 0, 0));
    assert_int_equal(events_schedule_next(&s, 0, T(2170, 1, 1, 0, 0)), -1);
}

static void test_parse_reads_only_n_bytes_and_bounds_err(void **state)
{
    const char buf[] = "cron(0 12 * * ? *)GARBAGE";
    events_schedule s;
    char err[8];
    assert_int_equal(events_schedule_parse(buf, 18, &s, err, sizeof err), 0);
    assert_int_equal(s.kind, EVENTS_SCHEDULE_CRON);
    assert_int_equal(events_schedule_parse(buf, sizeof buf - 1, &s, err, sizeof err), -1);
    assert_true(strlen(err) < sizeof err);
    assert_int_equal(events_schedule_parse("cron(x)", 7, &s, NULL, 0), -1);
    assert_string_equal(EVENTS_SCHEDULE_INVALID_MESSAGE,
                        "Parameter ScheduleExpression is not valid.");
}

/* ---------------------------------------------------------------------------------------
 * cron(): next fire
 * ------------------------------------------------------------------------------------- */

static void test_next_is_strictly_after_at_second_zero(void **state)
{
    const char *e = "cron(0 12 * * ? *)";
    expect_next(e, T(2024, 1, 1, 11, 59), T(2024, 1, 1, 12, 0));
    expect_next(e, T(2024, 1, 1, 11, 59) + 59999, T(2024, 1, 1, 12, 0));
    expect_next(e, T(2024, 1, 1, 12, 0), T(2024, 1, 2, 12, 0));
    expect_next(e, T(2024, 1, 1, 12, 0) - 1, T(2024, 1, 1, 12, 0));
    expect_next(e, T(2024, 1, 1, 12, 0) + 30000, T(2024, 1, 2, 12, 0));
    expect_next("cron(* * * * ? *)", T(2024, 5, 5, 5, 5) + 1, T(2024, 5, 5, 5, 6));
    expect_next("cron(0/15 * * * ? *)", T(2024, 5, 5, 23, 50), T(2024, 5, 6, 0, 0));
    expect_next("cron(30 9-5 ? * MON-FRI *)", T(2024, 5, 3, 5, 30), T(2024, 5, 3, 9, 30));
    expect_next("cron(30 9-5 ? * MON-FRI *)", T(2024, 5, 3, 23, 30), T(2024, 5, 6, 0, 30));
}

static void test_next_crosses_month_and_year_boundaries(void **state)
{
    expect_next("cron(0 0 1 * ? *)", T(2024, 12, 15, 8, 0), T(2025, 1, 1, 0, 0));
    expect_next("cron(59 23 31 12 ? *)", T(2024, 12, 31, 23, 59), T(2025, 12, 31, 23, 59));
    expect_next("cron(59 23 31 12 ? *)", T(2024, 12, 31, 23, 58), T(2024, 12, 31, 23, 59));
    expect_next("cron(0 0 * * ? *)", T(2024, 2, 29, 0, 0), T(2024, 3, 1, 0, 0));
    expect_next("cron(0 0 * * ? *)", T(2023, 2, 28, 0, 0), T(2023, 3, 1, 0, 0));
    expect_next("cron(0 0 1 JAN,JUL ? *)", T(2024, 1, 1, 0, 0), T(2024, 7, 1, 0, 0));
    expect_next("cron(0 0 ? NOV-FEB MON *)", T(2024, 2, 26, 0, 0), T(2024, 11, 4, 0, 0));
    /* Day 31 exists only in seven months. */
    int64_t d31[] = {T(2024, 3, 31, 0, 0), T(2024, 5, 31, 0, 0), T(2024, 7, 31, 0, 0),
                     T(2024, 8, 31, 0, 0), T(2024, 10, 31, 0, 0)};
    expect_sequence("cron(0 0 31 * ? *)", T(2024, 1, 31, 0, 0), d31, 5);
}

static void test_next_leap_days(void **state)
{
    int64_t feb29[] = {T(2028, 2, 29, 6, 0), T(2032, 2, 29, 6, 0)};
    expect_sequence("cron(0 6 29 2 ? *)", T(2024, 2, 29, 6, 0), feb29, 2);
    /* 2100 is not a leap year; 2000 was. */
    expect_next("cron(0 6 29 2 ? *)", T(2096, 3, 1, 0, 0), T(2104, 2, 29, 6, 0));
    expect_next("cron(0 6 29 2 ? *)", T(1999, 1, 1, 0, 0), T(2000, 2, 29, 6, 0));
    /* Last day of February. */
    expect_next("cron(0 0 L 2 ? *)", T(2023, 1, 1, 0, 0), T(2023, 2, 28, 0, 0));
    expect_next("cron(0 0 L 2 ? *)", T(2024, 1, 1, 0, 0), T(2024, 2, 29, 0, 0));
    expect_next("cron(0 0 L 2 ? *)", T(2100, 1, 1, 0, 0), T(2100, 2, 28, 0, 0));
    expect_next("cron(0 0 LW 2 ? *)", T(2025, 1, 1, 0, 0), T(2025, 2, 28, 0, 0));
    expect_next("cron(0 0 LW 2 ? *)", T(2026, 1, 1, 0, 0), T(2026, 2, 27, 0, 0)); /* Sat */
    expect_next("cron(0 0 ? 2 5L *)", T(2024, 1, 1, 0, 0), T(2024, 2, 29, 0, 0)); /* Thu */
}

static void test_next_last_day_forms(void **state)
{
    int64_t last[] = {T(2024, 1, 31, 0, 0), T(2024, 2, 29, 0, 0), T(2024, 3, 31, 0, 0),
                      T(2024, 4, 30, 0, 0)};
    expect_sequence("cron(0 0 L * ? *)", T(2024, 1, 15, 0, 0), last, 4);
    int64_t minus1[] = {T(2024, 1, 30, 0, 0), T(2024, 2, 28, 0, 0), T(2024, 3, 30, 0, 0)};
    expect_sequence("cron(0 0 L-1 * ? *)", T(2024, 1, 15, 0, 0), minus1, 3);
    /* L-30 is day 1 of 31-day months only. */
    int64_t minus30[] = {T(2024, 3, 1, 0, 0), T(2024, 5, 1, 0, 0), T(2024, 7, 1, 0, 0)};
    expect_sequence("cron(0 0 L-30 * ? *)", T(2024, 1, 15, 0, 0), minus30, 3);
    /* LW: 2024-03-31 is a Sunday, 2024-08-31 a Saturday. */
    int64_t lw[] = {T(2024, 3, 29, 0, 0), T(2024, 4, 30, 0, 0), T(2024, 5, 31, 0, 0),
                    T(2024, 6, 28, 0, 0), T(2024, 7, 31, 0, 0), T(2024, 8, 30, 0, 0)};
    expect_sequence("cron(0 0 LW * ? *)", T(2024, 3, 1, 0, 0), lw, 6);
    /* Last Friday; a bare L in Day-of-week is every Saturday. */
    int64_t fri[] = {T(2024, 5, 31, 10, 15), T(2024, 6, 28, 10, 15), T(2024, 7, 26, 10, 15)};
    expect_sequence("cron(15 10 ? * 6L *)", T(2024, 5, 1, 0, 0), fri, 3);
    int64_t sat[] = {T(2024, 6, 1, 0, 0), T(2024, 6, 8, 0, 0), T(2024, 6, 15, 0, 0)};
    expect_sequence("cron(0 0 ? * L *)", T(2024, 5, 31, 0, 0), sat, 3);
    expect_next("cron(0 0 ? * SUNL *)", T(2024, 2, 1, 0, 0), T(2024, 2, 25, 0, 0));
}

static void test_next_nearest_weekday(void **state)
{
    /* 2024-06-15 is a Saturday (back to Friday), 2024-09-15 a Sunday (on to Monday). */
    expect_next("cron(0 9 15W * ? *)", T(2024, 6, 1, 0, 0), T(2024, 6, 14, 9, 0));
    expect_next("cron(0 9 15W * ? *)", T(2024, 9, 1, 0, 0), T(2024, 9, 16, 9, 0));
    expect_next("cron(0 9 15W * ? *)", T(2024, 5, 1, 0, 0), T(2024, 5, 15, 9, 0));
    /* 1W never goes back into the previous month: Saturday the 1st becomes Monday the
     * 3rd (2024-06), Sunday the 1st Monday the 2nd (2024-09). */
    expect_next("cron(0 9 1W * ? *)", T(2024, 5, 31, 0, 0), T(2024, 6, 3, 9, 0));
    expect_next("cron(0 9 1W * ? *)", T(2024, 8, 31, 0, 0), T(2024, 9, 2, 9, 0));
    /* A Sunday last day goes back to Friday, not into next month (2024-03-31). */
    expect_next("cron(0 9 31W * ? *)", T(2024, 3, 1, 0, 0), T(2024, 3, 29, 9, 0));
    /* 31W skips the months without a 31st, as Quartz does (2027 as in Quartz's own
     * output: Jan 31, Oct 31 are Sundays, Jul 31 a Saturday). */
    int64_t w31[] = {T(2027, 1, 29, 10, 5), T(2027, 3, 31, 10, 5), T(2027, 5, 31, 10, 5),
                     T(2027, 7, 30, 10, 5), T(2027, 8, 31, 10, 5), T(2027, 10, 29, 10, 5),
                     T(2027, 12, 31, 10, 5)};
    expect_sequence("cron(5 10 31W * ? 2027)", T(2027, 1, 1, 0, 0), w31, 7);
    expect_next("cron(5 10 31W * ? 2027)", T(2027, 12, 31, 10, 5), -1);
    /* 30W does not fire in February, even in a leap year. */
    expect_next("cron(0 0 30W 2,3 ? *)", T(2024, 1, 1, 0, 0), T(2024, 3, 29, 0, 0));
    /* 29W fires in February of a leap year only (2024-02-29 is a Thursday). */
    expect_next("cron(0 0 29W 2 ? *)", T(2023, 1, 1, 0, 0), T(2024, 2, 29, 0, 0));
}

static void test_next_nth_weekday(void **state)
{
    expect_next("cron(0 0 ? * 3#2 *)", T(2024, 1, 1, 0, 0), T(2024, 1, 9, 0, 0));
    expect_next("cron(0 2 ? * SAT#3 *)", T(2024, 6, 1, 0, 0), T(2024, 6, 15, 2, 0));
    expect_next("cron(0 0 ? * 1#1 *)", T(2024, 9, 1, 0, 0), T(2024, 10, 6, 0, 0));
    expect_next("cron(0 0 ? * 1#1 *)", T(2024, 8, 31, 23, 59), T(2024, 9, 1, 0, 0));
    /* A fifth Monday exists in only some months; the others are skipped. */
    int64_t fifth[] = {T(2024, 1, 29, 0, 0), T(2024, 4, 29, 0, 0), T(2024, 7, 29, 0, 0),
                       T(2024, 9, 30, 0, 0), T(2024, 12, 30, 0, 0)};
    expect_sequence("cron(0 0 ? * MON#5 *)", T(2024, 1, 1, 0, 0), fifth, 5);
    /* A fifth Sunday in February needs a leap year starting on a Sunday (2004, 2032). */
    expect_next("cron(0 0 ? 2 1#5 *)", T(2005, 1, 1, 0, 0), T(2032, 2, 29, 0, 0));
    /* Every minute of one day only. */
    expect_next("cron(* * ? * SAT#3 *)", T(2024, 6, 15, 23, 59), T(2024, 7, 20, 0, 0));
}

static void test_next_year_limits(void **state)
{
    expect_next("cron(0 0 1 1 ? 2199)", T(2198, 6, 1, 0, 0), T(2199, 1, 1, 0, 0));
    expect_next("cron(0 0 1 1 ? 2199)", T(2199, 1, 1, 0, 0), -1);
    expect_next("cron(* * * * ? *)", T(2199, 12, 31, 23, 58), T(2199, 12, 31, 23, 59));
    expect_next("cron(* * * * ? *)", T(2199, 12, 31, 23, 59), -1);
    expect_next("cron(* * * * ? *)", T(2500, 1, 1, 0, 0), -1);
    expect_next("cron(* * * * ? *)", INT64_MAX, -1);
    /* Accepted, as AWS accepts it, but its years have passed. */
    expect_next("cron(15 10 ? * 6L 2002-2005)", T(2024, 1, 1, 0, 0), -1);
    expect_next("cron(15 10 ? * 6L 2002-2005)", T(2002, 1, 1, 0, 0), T(2002, 1, 25, 10, 15));
    /* Before 1970 the first candidate is 1970's. */
    expect_next("cron(* * * * ? *)", -1, 0);
    expect_next("cron(* * * * ? *)", -3 * 365 * DAY_MS, 0);
    expect_next("cron(* * * * ? *)", INT64_MIN, 0);
    expect_next("cron(0 0 1 1 ? 1970)", -MIN_MS, 0);
    expect_next("cron(0 0 1 1 ? 1970)", 0, -1);
}

static void test_impossible_dates_end_quickly(void **state)
{
    const char *never[] = {"cron(0 0 30 2 ? *)", "cron(0 0 31 4,6,9,11 ? *)",
                           "cron(0 0 L-29 FEB ? *)", "cron(0 0 31W 2,4,6,9,11 ? *)"};
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++) {
        events_schedule s = parse_ok(never[i]);
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        int64_t t = events_schedule_next(&s, 0, T(1970, 1, 1, 0, 0));
        clock_gettime(CLOCK_MONOTONIC, &b);
        if (t != -1) {
            char buf[32];
            fail_msg("%s fires at %s", never[i], fmt(t, buf));
        }
        double ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
        /* 230 years of month steps; generous for sanitizer builds. */
        if (ms > 50)
            fail_msg("%s took %.1f ms to find no fire", never[i], ms);
    }
}

static void test_matches_rejects_rate_and_non_minutes(void **state)
{
    events_schedule r = parse_ok("rate(1 minute)");
    assert_int_equal(events_schedule_matches(&r, 0), -1);
    events_schedule c = parse_ok("cron(* * * * ? *)");
    assert_int_equal(events_schedule_matches(&c, T(2024, 1, 1, 0, 0)), 1);
    assert_int_equal(events_schedule_matches(&c, T(2024, 1, 1, 0, 0) + 1000), 0);
    assert_int_equal(events_schedule_matches(&c, T(1969, 12, 31, 23, 59)), 0);
    events_schedule w = parse_ok("cron(0 9 15W * ? *)");
    assert_int_equal(events_schedule_matches(&w, T(2024, 6, 14, 9, 0)), 1);
    assert_int_equal(events_schedule_matches(&w, T(2024, 6, 15, 9, 0)), 0);
}

/* ---------------------------------------------------------------------------------------
 * next() against direct evaluation
 * ------------------------------------------------------------------------------------- */

/* Every fire in [from, to) found by evaluating each minute of each day whose hour and
 * minute are in the sets, compared with the chain of next() calls over the same span. */
static void cross_check(const char *expr, int64_t from, int64_t to)
{
    events_schedule s = parse_ok(expr);
    int64_t t = events_schedule_next(&s, 0, from - 1);
    size_t fires = 0;
    for (int64_t day = from; day < to; day += DAY_MS) {
        for (int h = 0; h < 24; h++) {
            if (!(s.hours >> h & 1))
                continue;
            for (int m = 0; m < 60; m++) {
                if (!(s.minutes >> m & 1))
                    continue;
                int64_t at = day + h * 3600000LL + m * MIN_MS;
                if (events_schedule_matches(&s, at) != 1)
                    continue;
                if (t != at) {
                    char a[32], b[32];
                    fail_msg("%s: next gave %s where the fields give %s", expr, fmt(t, a),
                             fmt(at, b));
                }
                fires++;
                t = events_schedule_next(&s, 0, t);
                if (t != -1 && events_schedule_matches(&s, t) != 1) {
                    char a[32];
                    fail_msg("%s: next gave %s, which does not match", expr, fmt(t, a));
                }
            }
        }
    }
    if (t != -1 && t < to) {
        char a[32];
        fail_msg("%s: next gave %s, which the fields do not", expr, fmt(t, a));
    }
    (void)fires;
}

static void test_next_agrees_with_field_evaluation(void **state)
{
    static const char *const exprs[] = {
        "cron(0 0 L * ? *)",
        "cron(30 23 L-2 * ? *)",
        "cron(0 0 LW * ? *)",
        "cron(0 12 1W * ? *)",
        "cron(0 12 15W * ? *)",
        "cron(0 12 30W * ? *)",
        "cron(0 12 31W * ? *)",
        "cron(0 0 29 2 ? *)",
        "cron(0 0 25-3 * ? *)",
        "cron(0 0 1-31/9 * ? *)",
        "cron(0 6 ? * 1L *)",
        "cron(0 6 ? * 7L *)",
        "cron(0 6 ? * 4#4 *)",
        "cron(0 6 ? * 6#5 *)",
        "cron(0 6 ? * L *)",
        "cron(15,45 8-17/3 ? * MON-FRI *)",
        "cron(0 0 ? * SAT-MON 2024-2026)",
        "cron(0 0 ? JUN-AUG */3 *)",
        "cron(0 0 1,15 JAN-MAR,OCT/2 ? *)",
        "cron(5 4 ? * 5#1 2025,2027)",
    };
    const int64_t from = T(2023, 12, 1, 0, 0), to = T(2029, 3, 1, 0, 0);
    for (size_t i = 0; i < sizeof exprs / sizeof exprs[0]; i++)
        cross_check(exprs[i], from, to);
    /* Dense schedules over shorter spans. */
    cross_check("cron(*/7 * ? * 2-6 *)", T(2024, 2, 20, 0, 0), T(2024, 3, 10, 0, 0));
    cross_check("cron(* 23 L * ? *)", T(2024, 1, 1, 0, 0), T(2024, 7, 1, 0, 0));
    cross_check("cron(59 23 31 12 ? 2199)", T(2199, 1, 1, 0, 0), T(2199, 12, 31, 0, 0) + DAY_MS);
}

/* Microbenchmark: the cost of one next() for a few shapes (printed, not asserted). */
static void test_next_cost(void **state)
{
    const char *exprs[] = {"cron(0/5 8-17 ? * MON-FRI *)", "cron(0 0 LW * ? *)",
                           "cron(0 0 ? * 6#5 *)", "cron(0 0 29 2 ? *)", "rate(5 minutes)"};
    for (size_t i = 0; i < sizeof exprs / sizeof exprs[0]; i++) {
        events_schedule s = parse_ok(exprs[i]);
        const int64_t start = T(2024, 1, 1, 0, 0);
        int64_t t = start;
        const int n = 20000;
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (int k = 0; k < n; k++) {
            int64_t nt = events_schedule_next(&s, start, t);
            t = nt < 0 ? start : nt;
        }
        clock_gettime(CLOCK_MONOTONIC, &b);
        double ns = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / n;
        print_message("    next %-30s %8.0f ns\n", exprs[i], ns);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rate_units_and_periods),
        cmocka_unit_test(test_rate_rejects_what_aws_rejects),
        cmocka_unit_test(test_rate_next_is_anchor_plus_whole_periods),
        cmocka_unit_test(test_cron_accepts_aws_examples),
        cmocka_unit_test(test_cron_rejects_invalid_expressions),
        cmocka_unit_test(test_minutes_and_hours_sets),
        cmocka_unit_test(test_day_month_and_weekday_sets),
        cmocka_unit_test(test_year_field),
        cmocka_unit_test(test_parse_reads_only_n_bytes_and_bounds_err),
        cmocka_unit_test(test_next_is_strictly_after_at_second_zero),
        cmocka_unit_test(test_next_crosses_month_and_year_boundaries),
        cmocka_unit_test(test_next_leap_days),
        cmocka_unit_test(test_next_last_day_forms),
        cmocka_unit_test(test_next_nearest_weekday),
        cmocka_unit_test(test_next_nth_weekday),
        cmocka_unit_test(test_next_year_limits),
        cmocka_unit_test(test_impossible_dates_end_quickly),
        cmocka_unit_test(test_matches_rejects_rate_and_non_minutes),
        cmocka_unit_test(test_next_agrees_with_field_evaluation),
        cmocka_unit_test(test_next_cost),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
