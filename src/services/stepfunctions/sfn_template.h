/* Payload templates of the Amazon States Language: the Parameters, ResultSelector and
 * ItemSelector objects (JSONPath states).
 *
 * A template is copied as it is, except that a key ending in ".$" loses that suffix and
 * its value, which must be a string, is replaced by what it selects: an intrinsic
 * function call ("States.Format(...)"), or a path on the input (`$...`) or on the
 * context object (`$$...`). Objects nested in objects and arrays are templates too. A
 * path that matches nothing fails with States.Runtime "The JSONPath '$.x' specified for
 * the field 'x.$' could not be found in the input '{...}'". */
#ifndef SLUICE_SERVICES_SFN_TEMPLATE_H
#define SLUICE_SERVICES_SFN_TEMPLATE_H

#include "services/stepfunctions/sfn_errors.h"

#include <jansson.h>
#include <stddef.h>

/* Checks a template (borrowed) in a definition: every ".$" value a string holding a valid
 * path or intrinsic call. `field` ("Parameters", ...) prefixes the location in the
 * message. Returns 0, or -1 with a message in err. */
int sfn_template_validate(const json_t *tmpl, const char *field, char *err, size_t errlen);

/* Renders tmpl against input and context (all borrowed; context may be NULL). Returns 0
 * with a new reference in *out, or -1 with the error in e. */
int sfn_template_apply(const json_t *tmpl, json_t *input, json_t *context, json_t **out,
                       sfn_error *e);

#endif
