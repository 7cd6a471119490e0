/* The event-pattern engine: EventBridge event patterns (and, with the SNS dialect, SNS
 * filter policies) compiled into one shared automaton per set, matched against events
 * flattened into path/value pairs. The language and its limits are described in
 * docs/event-patterns.md; the algorithm in pattern_machine.c.
 *
 * Thread safety: pattern_set_match may run on any number of threads at once while one
 * thread adds or removes patterns; a set serialises its writers against its readers with
 * a writer-preferring read/write lock held only for the few microseconds of an update.
 * A pattern_event is owned by one thread at a time. */
#ifndef SLUICE_PATTERN_PATTERN_H
#define SLUICE_PATTERN_PATTERN_H

#include <stddef.h>
#include <stdint.h>

typedef enum { PATTERN_EVENTBRIDGE, PATTERN_SNS } pattern_dialect;

/* Return codes of pattern_set_add and pattern_validate. */
enum {
    PATTERN_OK = 0,
    PATTERN_EINVALID = -1, /* not a valid pattern: AWS's message is in err */
    PATTERN_ETOOLONG = -2, /* longer than the dialect's size limit (see below) */
};

/* EventBridge's EventPattern is at most 4096 characters (botocore events/2015-10-07); AWS
 * rejects a longer one with ValidationException before looking inside, so the API layer
 * should check first and map PATTERN_ETOOLONG the same way. SNS: 256 KiB. Characters are
 * counted as Unicode code points. */
#define PATTERN_EVENTBRIDGE_MAX_CHARS 4096
#define PATTERN_SNS_MAX_BYTES         (256 * 1024)
/* Nesting depth of pattern and event JSON. */
#define PATTERN_MAX_DEPTH 64
/* Most branches one pattern may expand to through nested "$or". */
#define PATTERN_MAX_OR_COMBINATIONS 1000

typedef struct pattern_set pattern_set;     /* many patterns sharing one automaton */
typedef struct pattern_event pattern_event; /* one event, flattened for matching (reusable) */

int pattern_set_create(pattern_set **out, pattern_dialect d);
void pattern_set_destroy(pattern_set *s); /* accepts NULL */

/* Compiles pattern JSON (n bytes, borrowed) and adds it under id, replacing an earlier
 * pattern with the same id (the earlier one stays if the new one is invalid). Returns 0,
 * PATTERN_EINVALID with AWS's message in err (EventBridge: "Event pattern is not valid.
 * Reason: ...", which the caller wraps in InvalidEventPatternException; SNS: "Invalid
 * parameter: FilterPolicy: ..."), or PATTERN_ETOOLONG. err may be NULL. */
int pattern_set_add(pattern_set *s, uint64_t id, const char *json, size_t n, char *err,
                    size_t errlen);
int pattern_set_remove(pattern_set *s, uint64_t id); /* 0, or -1 if absent */
size_t pattern_set_count(const pattern_set *s);

/* Validates only (PutRule, TestEventPattern). Same returns as pattern_set_add. */
int pattern_validate(pattern_dialect d, const char *json, size_t n, char *err, size_t errlen);

pattern_event *pattern_event_new(void);
void pattern_event_free(pattern_event *ev); /* accepts NULL */

/* Flattens a JSON object text (borrowed; copied as needed) into leaf path/value pairs.
 * Returns 0, or -1 if it is not one valid JSON object (RFC 8259, UTF-8, nesting at most
 * PATTERN_MAX_DEPTH). Resets ev first. */
int pattern_event_from_json(pattern_event *ev, const char *json, size_t n);

/* For the SNS MessageAttributes scope: reset, then add attributes one by one. path is a
 * NUL-terminated attribute name (copied); value_json (n bytes, copied) is the JSON text of
 * the value: a string "\"abc\"", a number "12.5", or an array of them (String.Array).
 * Returns 0, or -1 if value_json is not such a value. */
void pattern_event_reset(pattern_event *ev);
int pattern_event_add(pattern_event *ev, const char *path, const char *value_json, size_t n);

/* Number of leaf fields in ev (for tests and limits). */
size_t pattern_event_field_count(const pattern_event *ev);

typedef void (*pattern_match_fn)(uint64_t id, void *arg);

/* Calls fn once per matching pattern id (each id at most once per call, in ascending id
 * order). Returns the number of matches. Does not modify s or ev. fn must not add to or
 * remove from s. */
size_t pattern_set_match(const pattern_set *s, const pattern_event *ev, pattern_match_fn fn,
                         void *arg);

/* Convenience for TestEventPattern: does the one pattern match the one event JSON?
 * Returns 1 or 0, PATTERN_EINVALID / PATTERN_ETOOLONG for a bad pattern (message in err),
 * or -3 if the event is not a JSON object. */
int pattern_test(pattern_dialect d, const char *pattern, size_t pn, const char *event, size_t en,
                 char *err, size_t errlen);

#endif
