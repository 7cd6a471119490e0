/* EventBridge schedule expressions: rate(value unit) and cron(six fields), parsed into a
 * plain value and asked for their next fire time.
 *
 * The syntax is AWS's (Quartz-derived; UTC only):
 *   rate(N unit)  N a positive integer (below 10^9 here; AWS states no bound); unit
 *                 minute|hour|day when N is 1, minutes|hours|days otherwise; one space
 *                 between them; lower case.
 *   cron(Minutes Hours Day-of-month Month Day-of-week Year)
 *     Minutes 0-59, Hours 0-23, Day-of-month 1-31, Month 1-12 or JAN-DEC, Day-of-week 1-7 or
 *     SUN-SAT (1 = Sunday), Year 1970-2199; names, L and W are case-insensitive. Fields are
 *     separated by spaces. Each is a list (,; empty items are ignored, as AWS ignores them)
 *     of *, a, or a-b (wrapping when a > b, except in Year), each optionally followed by
 *     /n: every n-th value from a (up to the field's end for a bare a). Exactly one of
 *     Day-of-month and Day-of-week is ?. Day-of-month may instead be L (last day), L-n (n
 *     days before the last), LW (last weekday) or nW (the weekday nearest day n without
 *     leaving the month); Day-of-week may be L (Saturday), nL (the month's last weekday n) or
 *     n#k (its k-th weekday n, k 1-5). Those forms stand alone in their field.
 * Anything else fails; PutRule answers every failure with EVENTS_SCHEDULE_INVALID_MESSAGE
 * (the err text names the reason, for logs). */
#ifndef SLUICE_EVENTS_SCHEDULE_H
#define SLUICE_EVENTS_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

/* AWS's ValidationException message for any malformed ScheduleExpression. */
#define EVENTS_SCHEDULE_INVALID_MESSAGE "Parameter ScheduleExpression is not valid."

#define EVENTS_SCHEDULE_YEAR_MIN 1970
#define EVENTS_SCHEDULE_YEAR_MAX 2199

typedef enum events_schedule_kind {
    EVENTS_SCHEDULE_RATE = 1,
    EVENTS_SCHEDULE_CRON = 2,
} events_schedule_kind;

/* How Day-of-month selects days. EVENTS_DOM_ANY is '?': Day-of-week decides. */
typedef enum events_dom_kind {
    EVENTS_DOM_ANY = 0,
    EVENTS_DOM_SET,          /* dom_set */
    EVENTS_DOM_LAST,         /* L, or L-n with dom_arg = n */
    EVENTS_DOM_LAST_WEEKDAY, /* LW */
    EVENTS_DOM_NEAREST,      /* nW with dom_arg = n */
} events_dom_kind;

/* How Day-of-week selects days. EVENTS_DOW_ANY is '?': Day-of-month decides. */
typedef enum events_dow_kind {
    EVENTS_DOW_ANY = 0,
    EVENTS_DOW_SET,  /* dow_set (a bare L is {7}) */
    EVENTS_DOW_LAST, /* nL with dow_arg = n */
    EVENTS_DOW_NTH,  /* n#k with dow_arg = n, dow_nth = k */
} events_dow_kind;

/* A parsed expression: a plain value (no heap), safe to copy and to compare with memcmp
 * (parse zeroes it first). Sets are bitmasks, bit v meaning value v. */
typedef struct events_schedule {
    events_schedule_kind kind;
    int64_t period_ms; /* rate */
    uint64_t minutes;  /* bits 0-59 */
    uint32_t hours;    /* bits 0-23 */
    uint32_t dom_set;  /* bits 1-31 */
    uint16_t months;   /* bits 1-12 */
    uint8_t dow_set;   /* bits 1-7, 1 = Sunday */
    uint8_t dom_kind;  /* events_dom_kind */
    uint8_t dom_arg;
    uint8_t dow_kind; /* events_dow_kind */
    uint8_t dow_arg;
    uint8_t dow_nth;
    uint64_t years[4]; /* bit (year - EVENTS_SCHEDULE_YEAR_MIN) */
} events_schedule;

/* Parses the n bytes of expr (borrowed; need not be NUL-terminated). Returns 0 and fills
 * out, or -1 with the reason in err (always NUL-terminated when errlen > 0). */
int events_schedule_parse(const char *expr, size_t n, events_schedule *out, char *err,
                          size_t errlen);

/* The first fire time strictly after after_ms (UTC, ms since the epoch), or -1 if there is
 * none.
 *   rate: anchor_ms + k * period for the least k >= 1 that is after after_ms. The anchor
 *         (when the rule was created or last enabled) is not itself a fire time: the first
 *         fire is one period later. -1 only on int64 overflow.
 *   cron: ignores anchor_ms; second 0 of the first matching minute. -1 once no matching
 *         minute remains before the end of year 2199 (or of the Year field).
 * Skips by field (year, month, day, hour, minute), so a distant or impossible match costs
 * at most one step per remaining month, never a scan by minute. */
int64_t events_schedule_next(const events_schedule *s, int64_t anchor_ms, int64_t after_ms);

/* For tests and fuzzing: whether a cron schedule fires at t_ms (1 or 0; 0 unless t_ms is a
 * whole minute). Evaluates each field directly at that minute, independently of the
 * skipping in events_schedule_next, so each can check the other. -1 for a rate. */
int events_schedule_matches(const events_schedule *s, int64_t t_ms);

#endif
