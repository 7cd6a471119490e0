/* Fuzz the schedule-expression parser and the next-fire computation: any input either
 * fails with a reason or parses into a schedule whose next fire, from a start time derived
 * from the input, is after the start, on the schedule, and not preceded by an earlier
 * matching minute (checked minute by minute over a bounded window). */
#include "services/events/events_schedule.h"

#include <stdint.h>
#include <stdlib.h>

#define MIN_MS    60000LL
#define WINDOW    1500 /* minutes checked by brute force before a fire */
#define SPAN_2200 7258118400000LL

static uint64_t hash(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

static void check_rate(const events_schedule *s, uint64_t h)
{
    int64_t anchor = (int64_t)(h % SPAN_2200);
    int64_t after = anchor + (int64_t)((h >> 20) % (400 * 86400000ULL)) - 86400000LL;
    int64_t t = events_schedule_next(s, anchor, after);
    if (t < 0)
        abort();
    int64_t p = s->period_ms;
    if (t <= after || t <= anchor || (t - anchor) % p != 0)
        abort();
    if (t - p > after && t - p > anchor)
        abort();
}

static void check_cron(const events_schedule *s, uint64_t h)
{
    /* Starts from 1960 to 2210, not always on a whole minute. */
    int64_t after = (int64_t)(h % (SPAN_2200 + 40 * 31556952000LL)) - 10 * 31556952000LL;
    int64_t t = events_schedule_next(s, 0, after);
    int64_t first = (after >= 0 ? after / MIN_MS : (after - MIN_MS + 1) / MIN_MS) + 1;
    if (t == -1) {
        for (int64_t m = first; m < first + WINDOW; m++)
            if (events_schedule_matches(s, m * MIN_MS) == 1)
                abort();
        return;
    }
    if (t <= after || t % MIN_MS != 0 || events_schedule_matches(s, t) != 1)
        abort();
    int64_t lo = t / MIN_MS - WINDOW;
    for (int64_t m = lo > first ? lo : first; m < t / MIN_MS; m++)
        if (events_schedule_matches(s, m * MIN_MS) == 1)
            abort();
    if (events_schedule_next(s, 0, t - 1) != t)
        abort();
    int64_t t2 = events_schedule_next(s, 0, t);
    if (t2 != -1 && (t2 <= t || events_schedule_matches(s, t2) != 1))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    events_schedule s;
    char err[128];
    if (events_schedule_parse((const char *)data, size, &s, err, sizeof err) != 0) {
        if (err[0] == '\0')
            abort();
        return 0;
    }
    uint64_t h = hash(data, size);
    if (s.kind == EVENTS_SCHEDULE_RATE)
        check_rate(&s, h);
    else if (s.kind == EVENTS_SCHEDULE_CRON)
        check_cron(&s, h);
    else
        abort();
    return 0;
}
