/* Schedule expressions: the parser and the next-fire computation.
 *
 * Parsing turns each cron field into a bitmask of the values it allows (a list is the union
 * of its items; a range or increment is expanded once), plus a small tagged form for the
 * day rules that depend on the month (L, L-n, LW, nW, nL, n#k). AWS runs Quartz's cron
 * grammar behind its own table of wildcards, so where the documentation is silent this
 * follows Quartz: a/n runs from a to the field's end, ranges wrap (22-2 is 22,23,0,1,2)
 * except in Year, increments are capped at the field's size (an increment of 60 in Minutes
 * fails, as AWS reports), the special day forms stand alone in their field, and exactly one
 * of the two day fields is '?'. Past years are accepted (AWS accepts them); such a schedule
 * simply never fires.
 *
 * Next fire (cron): start at the first whole minute after the given time and walk the
 * fields from the largest down, as an odometer does. A year or month not in its mask is
 * skipped whole, resetting the smaller fields to their minimum; inside an allowed month the
 * matching days are computed once as a 31-bit mask (the day rules need the month's length
 * and the weekday of its first day, nothing else), and the hour and minute come from
 * find-first-set on their masks. Each step moves forward and each allowed month costs one
 * day-mask computation, so the worst case (an impossible date such as 30 February) is
 * bounded by the months left before 2199, not by minutes.
 *
 * Next fire (rate): arithmetic on the anchor; k is found by one division.
 *
 * All calendar work is UTC: gmtime_r splits the start time, timegm builds the result, and a
 * day count (the civil-from-days identity) gives weekdays. Nothing reads the local zone. */
#include "services/events/events_schedule.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define MS_PER_MINUTE 60000LL
#define MAX_DIGITS    9 /* keeps every number far from int overflow */

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char upper(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* Reads a run of 1..MAX_DIGITS digits at *p (before e). Returns 0 and advances *p, or -1. */
static int read_number(const char **p, const char *e, int *out)
{
    const char *s = *p;
    int v = 0, n = 0;
    while (s < e && is_digit(*s)) {
        if (++n > MAX_DIGITS)
            return -1;
        v = v * 10 + (*s - '0');
        s++;
    }
    if (n == 0)
        return -1;
    *p = s;
    *out = v;
    return 0;
}

/* ---------------------------------------------------------------------------------------
 * rate(value unit)
 * ------------------------------------------------------------------------------------- */

static const struct {
    const char *name;
    int64_t ms;
} units[] = {
    {"minute", 60000},
    {"hour", 3600000},
    {"day", 86400000},
};

static int parse_rate(const char *p, const char *e, events_schedule *out, char *err, size_t errlen)
{
    int value;
    if (read_number(&p, e, &value) < 0 || value < 1)
        return fail(err, errlen, "rate: the value must be a positive integer below 10^9");
    if (p == e || *p != ' ')
        return fail(err, errlen, "rate: expected one space between the value and the unit");
    p++;
    size_t ulen = (size_t)(e - p);
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        size_t len = strlen(units[i].name);
        if (ulen < len || ulen > len + 1 || memcmp(p, units[i].name, len) != 0)
            continue;
        int plural = ulen == len + 1;
        if (plural && p[len] != 's')
            continue;
        if (plural != (value > 1))
            return fail(err, errlen, "rate: the unit must be %s for a value of %d",
                        value > 1 ? "plural" : "singular", value);
        out->kind = EVENTS_SCHEDULE_RATE;
        out->period_ms = (int64_t)value * units[i].ms;
        return 0;
    }
    return fail(err, errlen, "rate: the unit must be minute(s), hour(s) or day(s)");
}

/* ---------------------------------------------------------------------------------------
 * cron fields
 * ------------------------------------------------------------------------------------- */

static const char *const month_names[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
static const char *const day_names[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

typedef struct field_spec {
    const char *name;
    int min, max;
    int max_step;
    const char *const *names; /* names[i] is value min + i */
    int wrap;                 /* whether a-b with a > b wraps past max */
} field_spec;

static const field_spec f_minutes = {"Minutes", 0, 59, 59, NULL, 1};
static const field_spec f_hours = {"Hours", 0, 23, 23, NULL, 1};
static const field_spec f_dom = {"Day-of-month", 1, 31, 31, NULL, 1};
static const field_spec f_month = {"Month", 1, 12, 12, month_names, 1};
static const field_spec f_dow = {"Day-of-week", 1, 7, 7, day_names, 1};
static const field_spec f_year = {
    "Year", EVENTS_SCHEDULE_YEAR_MIN, EVENTS_SCHEDULE_YEAR_MAX, 999999999, NULL, 0};

/* Values min..max as bits 0..(max - min); Year needs 230 of them. */
typedef struct bits256 {
    uint64_t w[4];
} bits256;

static void bits_set(bits256 *b, int i)
{
    b->w[i >> 6] |= 1ULL << (i & 63);
}

/* One value (number or name) at *p. */
static int parse_value(const field_spec *f, const char **p, const char *e, int *v, char *err,
                       size_t errlen)
{
    if (*p < e && is_digit(**p)) {
        if (read_number(p, e, v) < 0 || *v < f->min || *v > f->max)
            return fail(err, errlen, "%s: values must be %d-%d", f->name, f->min, f->max);
        return 0;
    }
    if (f->names && e - *p >= 3) {
        for (int i = 0; i <= f->max - f->min; i++) {
            const char *nm = f->names[i];
            if (upper((*p)[0]) == nm[0] && upper((*p)[1]) == nm[1] && upper((*p)[2]) == nm[2]) {
                *p += 3;
                *v = f->min + i;
                return 0;
            }
        }
    }
    return fail(err, errlen, "%s: expected a value at \"%.*s\"", f->name, (int)(e - *p), *p);
}

/* One list item: * | a | a-b, then optionally /n. */
static int parse_item(const field_spec *f, const char *p, const char *e, bits256 *out, char *err,
                      size_t errlen)
{
    int lo, hi, step = 1;
    int bare = 0; /* a single value: with /n it runs to the field's end */
    if (p < e && *p == '*') {
        lo = f->min;
        hi = f->max;
        p++;
    } else {
        if (parse_value(f, &p, e, &lo, err, errlen) < 0)
            return -1;
        hi = lo;
        bare = 1;
        if (p < e && *p == '-') {
            p++;
            if (parse_value(f, &p, e, &hi, err, errlen) < 0)
                return -1;
            bare = 0;
        }
    }
    if (p < e && *p == '/') {
        p++;
        if (read_number(&p, e, &step) < 0 || step < 1 || step > f->max_step)
            return fail(err, errlen, "%s: the increment must be 1-%d", f->name, f->max_step);
        if (bare)
            hi = f->max;
    }
    if (p != e)
        return fail(err, errlen, "%s: unexpected \"%.*s\"", f->name, (int)(e - p), p);
    int span = f->max - f->min + 1;
    int end = hi;
    if (hi < lo) {
        if (!f->wrap)
            return fail(err, errlen, "%s: range %d-%d is reversed", f->name, lo, hi);
        end = hi + span;
    }
    for (int i = lo; i <= end; i += step)
        bits_set(out, (i > f->max ? i - span : i) - f->min);
    return 0;
}

/* A comma-separated list of items. Empty items are skipped, as Quartz's tokenizer skips
 * them: AWS accepts cron(0/5, 9-18, ?, *, MON-FRI, *). */
static int parse_list(const field_spec *f, const char *p, const char *e, bits256 *out, char *err,
                      size_t errlen)
{
    int items = 0;
    memset(out, 0, sizeof *out);
    while (p < e) {
        const char *q = memchr(p, ',', (size_t)(e - p));
        if (!q)
            q = e;
        if (q > p) {
            if (parse_item(f, p, q, out, err, errlen) < 0)
                return -1;
            items++;
        }
        p = q + 1;
    }
    if (items == 0)
        return fail(err, errlen, "%s: no values", f->name);
    return 0;
}

static int field_is(const char *p, const char *e, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(e - p) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (upper(p[i]) != lit[i])
            return 0;
    return 1;
}

static int parse_dom(const char *p, const char *e, events_schedule *out, char *err, size_t errlen)
{
    if (field_is(p, e, "?")) {
        out->dom_kind = EVENTS_DOM_ANY;
        return 0;
    }
    if (field_is(p, e, "L")) {
        out->dom_kind = EVENTS_DOM_LAST;
        return 0;
    }
    if (field_is(p, e, "LW")) {
        out->dom_kind = EVENTS_DOM_LAST_WEEKDAY;
        return 0;
    }
    if (e - p > 2 && upper(p[0]) == 'L' && p[1] == '-') {
        const char *s = p + 2;
        int n;
        if (read_number(&s, e, &n) < 0 || s != e || n < 1 || n > 30)
            return fail(err, errlen, "Day-of-month: L-n needs n 1-30");
        out->dom_kind = EVENTS_DOM_LAST;
        out->dom_arg = (uint8_t)n;
        return 0;
    }
    if (e - p > 1 && upper(e[-1]) == 'W') {
        const char *s = p;
        int n;
        if (read_number(&s, e - 1, &n) < 0 || s != e - 1 || n < 1 || n > 31)
            return fail(err, errlen, "Day-of-month: nW needs a single day 1-31");
        out->dom_kind = EVENTS_DOM_NEAREST;
        out->dom_arg = (uint8_t)n;
        return 0;
    }
    bits256 b;
    if (parse_list(&f_dom, p, e, &b, err, errlen) < 0)
        return -1;
    out->dom_kind = EVENTS_DOM_SET;
    out->dom_set = (uint32_t)(b.w[0] << 1);
    return 0;
}

static int parse_dow(const char *p, const char *e, events_schedule *out, char *err, size_t errlen)
{
    if (field_is(p, e, "?")) {
        out->dow_kind = EVENTS_DOW_ANY;
        return 0;
    }
    if (field_is(p, e, "L")) {
        out->dow_kind = EVENTS_DOW_SET;
        out->dow_set = 1u << 7;
        return 0;
    }
    const char *hash = memchr(p, '#', (size_t)(e - p));
    if (hash || (e - p > 1 && upper(e[-1]) == 'L')) {
        const char *s = p;
        const char *vend = hash ? hash : e - 1;
        int wd;
        if (parse_value(&f_dow, &s, vend, &wd, err, errlen) < 0)
            return -1;
        if (s != vend)
            return fail(err, errlen, "Day-of-week: L and # take a single day, alone");
        out->dow_arg = (uint8_t)wd;
        if (!hash) {
            out->dow_kind = EVENTS_DOW_LAST;
            return 0;
        }
        if (e - hash != 2 || hash[1] < '1' || hash[1] > '5')
            return fail(err, errlen, "Day-of-week: # must be followed by 1-5");
        out->dow_kind = EVENTS_DOW_NTH;
        out->dow_nth = (uint8_t)(hash[1] - '0');
        return 0;
    }
    bits256 b;
    if (parse_list(&f_dow, p, e, &b, err, errlen) < 0)
        return -1;
    out->dow_kind = EVENTS_DOW_SET;
    out->dow_set = (uint8_t)(b.w[0] << 1);
    return 0;
}

static int parse_cron(const char *p, const char *e, events_schedule *out, char *err, size_t errlen)
{
    const char *fs[6], *fe[6];
    int nf = 0;
    if (p == e || *p == ' ' || e[-1] == ' ')
        return fail(err, errlen, "cron: expected six fields separated by spaces");
    while (p < e) {
        const char *q = memchr(p, ' ', (size_t)(e - p));
        if (!q)
            q = e;
        if (nf == 6)
            return fail(err, errlen, "cron: expected six fields, found more");
        /* Commas around a lone special form ("?,") are skipped like any empty item. */
        const char *a = p, *b = q;
        while (a < b && *a == ',')
            a++;
        while (b > a && b[-1] == ',')
            b--;
        fs[nf] = a;
        fe[nf++] = b;
        p = q;
        while (p < e && *p == ' ')
            p++;
    }
    if (nf != 6)
        return fail(err, errlen, "cron: expected six fields, found %d", nf);

    bits256 b;
    if (parse_list(&f_minutes, fs[0], fe[0], &b, err, errlen) < 0)
        return -1;
    out->minutes = b.w[0];
    if (parse_list(&f_hours, fs[1], fe[1], &b, err, errlen) < 0)
        return -1;
    out->hours = (uint32_t)b.w[0];
    if (parse_dom(fs[2], fe[2], out, err, errlen) < 0)
        return -1;
    if (parse_list(&f_month, fs[3], fe[3], &b, err, errlen) < 0)
        return -1;
    out->months = (uint16_t)(b.w[0] << 1);
    if (parse_dow(fs[4], fe[4], out, err, errlen) < 0)
        return -1;
    if (parse_list(&f_year, fs[5], fe[5], &b, err, errlen) < 0)
        return -1;
    memcpy(out->years, b.w, sizeof out->years);
    if ((out->dom_kind == EVENTS_DOM_ANY) == (out->dow_kind == EVENTS_DOW_ANY))
        return fail(err, errlen, "cron: exactly one of Day-of-month and Day-of-week must be ?");
    out->kind = EVENTS_SCHEDULE_CRON;
    return 0;
}

int events_schedule_parse(const char *expr, size_t n, events_schedule *out, char *err,
                          size_t errlen)
{
    if (errlen > 0)
        err[0] = '\0';
    memset(out, 0, sizeof *out);
    int rc;
    if (n > 6 && memcmp(expr, "rate(", 5) == 0 && expr[n - 1] == ')')
        rc = parse_rate(expr + 5, expr + n - 1, out, err, errlen);
    else if (n > 6 && memcmp(expr, "cron(", 5) == 0 && expr[n - 1] == ')')
        rc = parse_cron(expr + 5, expr + n - 1, out, err, errlen);
    else
        rc = fail(err, errlen, "expected rate(...) or cron(...)");
    if (rc < 0)
        memset(out, 0, sizeof *out);
    return rc;
}

/* ---------------------------------------------------------------------------------------
 * Calendar (UTC)
 * ------------------------------------------------------------------------------------- */

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* 0 = Sunday. Days since 1970-01-01 (a Thursday) by the civil-from-days identity. */
static int weekday(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = (int64_t)era * 146097 + doe - 719468;
    int wd = (int)((days + 4) % 7);
    return wd < 0 ? wd + 7 : wd;
}

static int year_allowed(const events_schedule *s, int y)
{
    if (y < EVENTS_SCHEDULE_YEAR_MIN || y > EVENTS_SCHEDULE_YEAR_MAX)
        return 0;
    int i = y - EVENTS_SCHEDULE_YEAR_MIN;
    return (int)(s->years[i >> 6] >> (i & 63) & 1);
}

/* The days of month m of year y the two day fields allow, as bits 1..31. */
static uint32_t day_mask(const events_schedule *s, int y, int m)
{
    int dim = days_in_month(y, m);
    int wd1 = weekday(y, m, 1);
    int wdl = (wd1 + dim - 1) % 7;
    switch (s->dom_kind) {
    case EVENTS_DOM_SET:
        return s->dom_set & (uint32_t)((1ULL << (dim + 1)) - 2);
    case EVENTS_DOM_LAST:
        return s->dom_arg < dim ? 1u << (dim - s->dom_arg) : 0;
    case EVENTS_DOM_LAST_WEEKDAY:
        return 1u << (wdl == 6 ? dim - 1 : wdl == 0 ? dim - 2 : dim);
    case EVENTS_DOM_NEAREST: {
        /* Quartz: a month without day n does not fire; Saturday moves back to Friday unless
         * that leaves the month (the 1st moves on to Monday the 3rd); Sunday moves on to
         * Monday unless that leaves the month (the last day moves back to Friday). */
        int n = s->dom_arg;
        if (n > dim)
            return 0;
        int wd = (wd1 + n - 1) % 7;
        int d = n;
        if (wd == 6)
            d = n == 1 ? 3 : n - 1;
        else if (wd == 0)
            d = n == dim ? n - 2 : n + 1;
        return 1u << d;
    }
    default:
        break;
    }
    switch (s->dow_kind) {
    case EVENTS_DOW_SET: {
        /* Rotate the week's bits so bit d of the result is day d: day 1 falls on weekday
         * wd1, whose bit in dow_set is wd1 + 1. */
        uint32_t week = 0;
        for (int i = 0; i < 7; i++)
            if (s->dow_set >> ((wd1 + i) % 7 + 1) & 1)
                week |= 1u << i;
        uint32_t mask = 0;
        for (int d = 1; d <= dim; d += 7)
            mask |= week << d;
        return mask & (uint32_t)((1ULL << (dim + 1)) - 2);
    }
    case EVENTS_DOW_LAST:
        return 1u << (dim - (wdl - (s->dow_arg - 1) + 7) % 7);
    case EVENTS_DOW_NTH: {
        int d = 1 + (s->dow_arg - 1 - wd1 + 7) % 7 + 7 * (s->dow_nth - 1);
        return d <= dim ? 1u << d : 0;
    }
    default:
        return 0;
    }
}

/* The lowest set bit of mask at or above from, or -1. */
static int next_bit(uint64_t mask, int from)
{
    if (from >= 64)
        return -1;
    mask &= ~0ULL << from;
    return mask ? __builtin_ctzll(mask) : -1;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t utc_ms(int y, int mo, int d, int h, int mi)
{
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    return (int64_t)timegm(&tm) * 1000;
}

static int64_t next_cron(const events_schedule *s, int64_t after_ms)
{
    time_t secs = (time_t)((floor_div(after_ms, MS_PER_MINUTE) + 1) * 60);
    struct tm tm;
    if (!gmtime_r(&secs, &tm))
        return -1;
    int y = tm.tm_year + 1900, mo = tm.tm_mon + 1, d = tm.tm_mday;
    int h = tm.tm_hour, mi = tm.tm_min;
    if (y < EVENTS_SCHEDULE_YEAR_MIN) {
        y = EVENTS_SCHEDULE_YEAR_MIN;
        mo = d = 1;
        h = mi = 0;
    }
    /* Each loop's step resets the smaller fields, so (y, mo, d, h, mi) is always the least
     * candidate not yet ruled out. */
    for (; y <= EVENTS_SCHEDULE_YEAR_MAX; y++, mo = 1, d = 1, h = mi = 0) {
        if (!year_allowed(s, y))
            continue;
        for (; mo <= 12; mo++, d = 1, h = mi = 0) {
            if (!(s->months >> mo & 1))
                continue;
            uint32_t days = day_mask(s, y, mo) & (~0u << d);
            for (; days; days &= days - 1) {
                int dd = __builtin_ctz(days);
                if (dd != d)
                    h = mi = 0;
                for (int hh = next_bit(s->hours, h); hh >= 0; hh = next_bit(s->hours, hh + 1)) {
                    int mm = next_bit(s->minutes, hh == h ? mi : 0);
                    if (mm >= 0)
                        return utc_ms(y, mo, dd, hh, mm);
                }
            }
        }
    }
    return -1;
}

static int64_t next_rate(const events_schedule *s, int64_t anchor_ms, int64_t after_ms)
{
    int64_t period = s->period_ms, k = 1, diff, off, t;
    if (period <= 0)
        return -1;
    if (after_ms >= anchor_ms) {
        if (__builtin_sub_overflow(after_ms, anchor_ms, &diff))
            return -1;
        k = diff / period + 1;
    }
    if (__builtin_mul_overflow(k, period, &off) || __builtin_add_overflow(anchor_ms, off, &t))
        return -1;
    return t;
}

int64_t events_schedule_next(const events_schedule *s, int64_t anchor_ms, int64_t after_ms)
{
    switch (s->kind) {
    case EVENTS_SCHEDULE_RATE:
        return next_rate(s, anchor_ms, after_ms);
    case EVENTS_SCHEDULE_CRON:
        return next_cron(s, after_ms);
    default:
        return -1;
    }
}

/* ---------------------------------------------------------------------------------------
 * Direct evaluation (the reference next_cron is checked against)
 * ------------------------------------------------------------------------------------- */

static int is_weekday(int wd)
{
    return wd >= 1 && wd <= 5;
}

/* Day-of-month at day d (weekday wd) of a month of dim days, from the definitions rather
 * than from day_mask's closed forms. */
static int dom_matches(const events_schedule *s, int d, int wd, int dim)
{
    switch (s->dom_kind) {
    case EVENTS_DOM_ANY:
        return 1;
    case EVENTS_DOM_SET:
        return (int)(s->dom_set >> d & 1);
    case EVENTS_DOM_LAST:
        return d == dim - s->dom_arg;
    case EVENTS_DOM_LAST_WEEKDAY:
        /* A weekday with no weekday after it in the month. */
        if (!is_weekday(wd))
            return 0;
        for (int j = d + 1; j <= dim; j++)
            if (is_weekday((wd + j - d) % 7))
                return 0;
        return 1;
    case EVENTS_DOM_NEAREST: {
        /* The weekday of the month closest to day n (there are never ties). */
        int n = s->dom_arg;
        if (n > dim || !is_weekday(wd))
            return 0;
        int dist = d > n ? d - n : n - d;
        for (int j = 1; j <= dim; j++) {
            int wj = ((wd + j - d) % 7 + 7) % 7;
            int dj = j > n ? j - n : n - j;
            if (is_weekday(wj) && dj < dist)
                return 0;
        }
        return 1;
    }
    }
    return 0;
}

static int dow_matches(const events_schedule *s, int d, int wd, int dim)
{
    switch (s->dow_kind) {
    case EVENTS_DOW_ANY:
        return 1;
    case EVENTS_DOW_SET:
        return s->dow_set >> (wd + 1) & 1;
    case EVENTS_DOW_LAST:
        return wd + 1 == s->dow_arg && d + 7 > dim;
    case EVENTS_DOW_NTH:
        return wd + 1 == s->dow_arg && (d - 1) / 7 + 1 == s->dow_nth;
    }
    return 0;
}

int events_schedule_matches(const events_schedule *s, int64_t t_ms)
{
    if (s->kind != EVENTS_SCHEDULE_CRON)
        return -1;
    if (t_ms % MS_PER_MINUTE != 0)
        return 0;
    time_t secs = (time_t)(t_ms / 1000);
    struct tm tm;
    if (!gmtime_r(&secs, &tm))
        return 0;
    int y = tm.tm_year + 1900, mo = tm.tm_mon + 1;
    int dim = days_in_month(y, mo);
    return year_allowed(s, y) && (s->months >> mo & 1) && (s->hours >> tm.tm_hour & 1) &&
           (s->minutes >> tm.tm_min & 1) && dom_matches(s, tm.tm_mday, tm.tm_wday, dim) &&
           dow_matches(s, tm.tm_mday, tm.tm_wday, dim);
}
