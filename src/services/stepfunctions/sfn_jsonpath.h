/* JSONPath as Amazon States Language uses it (the Jayway dialect AWS runs), and the
 * InputPath / OutputPath / ResultPath steps of a state's data processing.
 *
 * Syntax: a root `$` (the state's input) or `$$` (the context object), then steps:
 * `.name`, `['name']` / `["name"]`, `[0]`, `[-1]` (from the end), `.*` / `[*]`, unions
 * `['a','b']` / `[0,2]`, slices `[start:end:step]`, deep scan `..name` / `..*` /
 * `..[0]`, a final `.length()` (the size of an array or object, the length of a
 * string), and filters `[?(@.price < 10 && @.tag == 'x')]` (operators == != < <= > >=,
 * && || !, parentheses, `@.path` or `$.path` operands, number / string / true / false /
 * null literals; a lone operand tests presence).
 *
 * A path is *definite* when every step picks at most one node (names and single
 * indexes only): it evaluates to that node, or fails when the node is missing. Any
 * other path is indefinite and evaluates to the JSON array of the nodes it matched
 * (possibly empty), as Jayway does. A *Reference Path* (ResultPath, and where ASL
 * says "reference path") is a definite path on `$` without a function.
 *
 * ResultPath: `$` replaces the input by the result; a deeper path copies the input and
 * sets the result at the path, creating missing intermediate objects; JSON null
 * (`path == NULL`) discards the result and keeps the input. */
#ifndef SLUICE_SERVICES_SFN_JSONPATH_H
#define SLUICE_SERVICES_SFN_JSONPATH_H

#include "services/stepfunctions/sfn_errors.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct sfn_path sfn_path;

/* Compiles text (copied). Returns 0 and *out (free with sfn_path_free), or -1 with a
 * message in err. */
/* Paths start with `$` (the input), `$$` (the context object) or `$name` (the workflow
 * variable name, see sfn_path_set_variables). */
int sfn_path_compile(const char *text, sfn_path **out, char *err, size_t errlen);
/* The variables `$name` paths read from now on (borrowed; NULL: none). */
void sfn_path_set_variables(const json_t *vars);
void sfn_path_free(sfn_path *p);

bool sfn_path_is_definite(const sfn_path *p);
bool sfn_path_is_reference(const sfn_path *p);
bool sfn_path_is_context(const sfn_path *p); /* starts with $$ */
const char *sfn_path_text(const sfn_path *p);

/* Evaluates p against input (for `$`) or context (for `$$`; NULL reads as {}), both
 * borrowed. Returns a new reference: the node for a definite path, an array for an
 * indefinite one; NULL when a definite path matches nothing. */
json_t *sfn_path_eval(const sfn_path *p, json_t *input, json_t *context);

/* Checks the value of a definition field that takes a path. Returns 0, or -1 with AWS's
 * validation message ("The value for the field 'ResultPath' must be a valid
 * ReferencePath") in err. */
int sfn_path_validate(const char *text, const char *field, bool reference, char *err,
                      size_t errlen);

/* InputPath / OutputPath / ItemsPath...: selects `path` (NULL: JSON null, gives {}) from
 * input (with context for `$$`), both borrowed. Returns 0 with a new reference in *out,
 * or -1 with States.Runtime "Invalid path '$.x' : No results for path: $['x']" in e. */
int sfn_path_apply(const char *path, json_t *input, json_t *context, json_t **out, sfn_error *e);

/* ResultPath: returns 0 with *out (new reference) the input with result placed at path
 * (NULL: discard the result). input and result are borrowed and never modified. Returns
 * -1 with States.Runtime in e when the path is not a reference path or cannot be applied
 * (an intermediate node that is not an object, an index out of range). */
int sfn_result_path_apply(const char *path, json_t *input, json_t *result, json_t **out,
                          sfn_error *e);

/* Appends the compact JSON of v to a C string of at most n bytes (truncated with "..."),
 * as error causes quote payloads. */
void sfn_json_quote(const json_t *v, char *out, size_t n);

#endif
