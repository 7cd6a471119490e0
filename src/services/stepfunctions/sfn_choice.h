/* Choice state rules of the Amazon States Language (JSONPath states): compiling a rule
 * (and checking it as ValidateStateMachineDefinition does), and evaluating it.
 *
 * A rule is a comparison (a "Variable" path and exactly one operator), or a Boolean
 * combination: "And" / "Or" (non-empty arrays of rules) or "Not" (one rule). Top-level
 * rules (the elements of "Choices") carry "Next"; nested ones must not.
 *
 * Operators: String{Equals,LessThan,GreaterThan,LessThanEquals,GreaterThanEquals},
 * StringMatches (`*` matches any run of characters, `\*` a star, `\\` a backslash),
 * Numeric{Equals,...}, BooleanEquals, Timestamp{Equals,...} (RFC 3339 with an upper-case
 * 'T', and 'Z' or an offset), each of these but StringMatches with a "...Path" variant
 * whose value is a path to the operand, and IsNull, IsPresent, IsNumeric, IsString,
 * IsBoolean, IsTimestamp (true or false).
 *
 * A comparison whose Variable has the wrong type is false. A Variable (or a ...Path
 * operand) that matches nothing fails with States.Runtime, except under IsPresent. */
#ifndef SLUICE_SERVICES_SFN_CHOICE_H
#define SLUICE_SERVICES_SFN_CHOICE_H

#include "services/stepfunctions/sfn_errors.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sfn_choice_rule sfn_choice_rule;

/* Compiles rule (borrowed; nothing of it is kept). `top_level` requires "Next". Returns
 * 0 and *out (free with sfn_choice_rule_free), or -1 with a message in err. */
int sfn_choice_rule_compile(const json_t *rule, bool top_level, sfn_choice_rule **out, char *err,
                            size_t errlen);
void sfn_choice_rule_free(sfn_choice_rule *r);

/* The rule's "Next" (NULL for a nested rule); valid while r lives. */
const char *sfn_choice_rule_next(const sfn_choice_rule *r);

/* Evaluates r against input and context (borrowed; context may be NULL). Returns 0 with
 * the outcome in *matched, or -1 with States.Runtime in e. */
int sfn_choice_rule_eval(const sfn_choice_rule *r, json_t *input, json_t *context, bool *matched,
                         sfn_error *e);

/* A whole Choice state (borrowed): checks "Choices" (a non-empty array of rules) and
 * "Default". Returns 0, or -1 with a message naming the failing element in err. */
int sfn_choice_state_validate(const json_t *state, char *err, size_t errlen);

/* Runs a Choice state (borrowed, compiled on the fly): *next becomes the Next of the
 * first rule that matches, else Default (strings borrowed from state). With no match and
 * no Default fails with States.NoChoiceMatched. */
int sfn_choice_state_select(const json_t *state, json_t *input, json_t *context, const char **next,
                            sfn_error *e);

/* A point in time: seconds since the epoch and nanoseconds (years 0000 to 9999 fit, which
 * nanoseconds in one int64 would not). */
typedef struct sfn_time {
    int64_t secs;
    int32_t nanos; /* 0 .. 999,999,999 */
} sfn_time;

/* Parses an RFC 3339 timestamp as the Choice state accepts it. Returns 0, or -1 when s is
 * not one. */
int sfn_timestamp_parse(const char *s, sfn_time *t);
/* -1, 0 or 1 as a is before, at or after b. */
int sfn_time_cmp(sfn_time a, sfn_time b);

/* Does s match the StringMatches pattern? */
bool sfn_string_matches(const char *s, const char *pattern);

#endif
