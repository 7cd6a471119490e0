/* Intrinsic functions of the Amazon States Language (JSONPath states): the parser of a
 * call such as `States.Format('Hello, {}!', $.name)` and every function.
 *
 * Arguments are string literals in single quotes (escapes `\'`, `\\`, `\{`, `\}`; an
 * escaped brace is never a States.Format placeholder), numbers, true / false / null,
 * paths on `$` or `$$`, and nested calls (at most 10 functions in one field, as AWS).
 * Compiling checks the function name and its number of arguments; evaluating checks
 * the argument types and values and fails with States.IntrinsicFailure (a path that
 * matches nothing fails with States.Runtime, as in any payload template).
 *
 * Functions: Format, StringToJson, JsonToString, Array, ArrayPartition, ArrayContains,
 * ArrayRange (at most 1000 elements), ArrayGetItem, ArrayLength, ArrayUnique,
 * Base64Encode / Base64Decode (input at most 10,000 characters), Hash (MD5, SHA-1,
 * SHA-256, SHA-384, SHA-512; lower-case hex; input at most 10,000 characters),
 * JsonMerge (shallow only: the third argument must be false), MathRandom (start <= n <=
 * end, optional seed), MathAdd (these two round non-integers to the nearest integer), StringSplit
 * (every character of the second argument is a delimiter; empty pieces are dropped), UUID (version
 * 4). */
#ifndef SLUICE_SERVICES_SFN_INTRINSIC_H
#define SLUICE_SERVICES_SFN_INTRINSIC_H

#include "services/stepfunctions/sfn_errors.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define SFN_INTRINSIC_MAX_FUNCTIONS 10

typedef struct sfn_intrinsic sfn_intrinsic;

/* Does s look like an intrinsic call (a name "States.X" then '(')? */
bool sfn_intrinsic_is_call(const char *s);

/* Compiles text (copied). Returns 0 and *out (free with sfn_intrinsic_free), or -1 with a
 * message in err. */
int sfn_intrinsic_compile(const char *text, sfn_intrinsic **out, char *err, size_t errlen);
void sfn_intrinsic_free(sfn_intrinsic *f);

/* Evaluates f against input and context (borrowed; context may be NULL). `field` names
 * the template field in error causes (e.g. "greeting.$"). Returns 0 with a new
 * reference in *out, or -1 with the error in e. */
int sfn_intrinsic_eval(const sfn_intrinsic *f, json_t *input, json_t *context, const char *field,
                       json_t **out, sfn_error *e);

/* Compiles and evaluates text once; a compile error fails with States.IntrinsicFailure. */
int sfn_intrinsic_run(const char *text, json_t *input, json_t *context, const char *field,
                      json_t **out, sfn_error *e);

#endif
