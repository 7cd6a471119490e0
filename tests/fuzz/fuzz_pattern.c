/* Fuzz the event-pattern compiler (and, when the input also carries an event, the
 * flattener and matcher): any input is either refused with a message or compiles; a
 * compiled pattern can be added, matched, replaced and removed without leaks, and the set
 * is empty afterwards.
 *
 * Input: pattern bytes, optionally followed by a NUL byte and event JSON bytes. The first
 * byte's low bit picks the dialect and is skipped. */
#include "pattern/pattern.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    pattern_dialect d = (data[0] & 1) ? PATTERN_SNS : PATTERN_EVENTBRIDGE;
    data++;
    size--;
    const uint8_t *nul = memchr(data, 0, size);
    size_t pn = nul ? (size_t)(nul - data) : size;
    const char *pattern = (const char *)data;
    const char *event = nul ? (const char *)nul + 1 : NULL;
    size_t en = nul ? size - pn - 1 : 0;

    char err[512];
    int valid = pattern_validate(d, pattern, pn, err, sizeof err);
    if (valid != 0 && err[0] == '\0')
        abort(); /* a refusal always says why */

    pattern_set *s;
    if (pattern_set_create(&s, d) != 0)
        abort();
    int rc = pattern_set_add(s, 1, pattern, pn, err, sizeof err);
    if (rc != valid)
        abort();
    if (rc == 0) {
        if (pattern_set_add(s, 2, pattern, pn, err, sizeof err) != 0 || pattern_set_count(s) != 2)
            abort();
        if (event) {
            pattern_event *ev = pattern_event_new();
            if (pattern_event_from_json(ev, event, en) == 0) {
                size_t both = pattern_set_match(s, ev, NULL, NULL);
                if (both != 0 && both != 2)
                    abort(); /* one pattern twice matches twice or not at all */
                int one = pattern_test(d, pattern, pn, event, en, NULL, 0);
                if (one != (both == 2))
                    abort();
            }
            pattern_event_free(ev);
        }
        if (pattern_set_add(s, 1, pattern, pn, err, sizeof err) != 0)
            abort();
        if (pattern_set_remove(s, 1) != 0 || pattern_set_remove(s, 2) != 0 ||
            pattern_set_count(s) != 0)
            abort();
    }
    pattern_set_destroy(s);
    return 0;
}
