/* CloudWatch Logs filter patterns over unstructured events: the term syntax.
 *   ""                    every event
 *   ERROR Exception       events with both terms
 *   "Failed to process"   a phrase: a quoted term holds any characters (\" and \\ escape)
 *   ?ERROR ?WARN          events with either term
 *   -DEBUG, -"x y"        events without the term
 * An event matches when it has every plain term, none of the excluded ones and, if the
 * pattern has ?terms, at least one of them. Terms match as case-sensitive substrings of the
 * message, as in CloudWatch. JSON ({...}), space-delimited ([...]) and regular-expression
 * (%...%) patterns are refused by logs_filter_compile. Pure: safe on any thread. */
#ifndef SLUICE_SERVICES_LOGS_FILTER_H
#define SLUICE_SERVICES_LOGS_FILTER_H

#include <stddef.h>

typedef struct logs_filter logs_filter;

/* Compiles pattern into *out: 0 (*out NULL when the pattern is blank: every event matches),
 * or -1 with the reason in err (and *out NULL). */
int logs_filter_compile(const char *pattern, logs_filter **out, char *err, size_t errlen);
/* Nonzero when msg (len bytes, borrowed) matches f. */
int logs_filter_match(const logs_filter *f, const char *msg, size_t len);
/* Accepts NULL. */
void logs_filter_free(logs_filter *f);

#endif
