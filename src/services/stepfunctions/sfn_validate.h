/* The Amazon States Language validator: what CreateStateMachine, UpdateStateMachine and
 * ValidateStateMachineDefinition check before a definition is accepted, for JSONPath and
 * JSONata states and workflow variables.
 *
 * Diagnostics are objects {severity, code, message, location} as
 * ValidateStateMachineDefinition returns them, with AWS's codes:
 *  - INVALID_JSON_DESCRIPTION: the text is not a JSON object;
 *  - SCHEMA_VALIDATION_FAILED: a missing, unsupported or malformed field (each state
 *    type's required and allowed fields, paths through sfn_jsonpath, templates through
 *    sfn_template, Choice rules through sfn_choice, Retry/Catch through sfn_errors);
 *  - MISSING_TRANSITION_TARGET: a Next / Default / StartAt naming no state of its scope,
 *    and a state nothing reaches ("State \"X\" is not reachable.");
 *  - MISSING_END_STATE: a workflow without a terminal state (no location; it suppresses
 *    the reachability diagnostics, as AWS does).
 * Locations are JSON-pointer-like: "/States/A/Next", "/States/P/Branches[0]/States/B",
 * "/States/A/Arguments/payload" for a value inside a field.
 *
 * Query languages: "QueryLanguage" ("JSONPath", the default, or "JSONata") at the top
 * level sets the machine's, a state may set its own; a JSONata machine admits no JSONPath
 * state. Nested workflows (Parallel branches, Map processors) inherit the machine's. A
 * field of the other language is reported as "The QueryLanguage is set to 'JSONata', but
 * field 'Parameters' is only supported for the 'JSONPath' QueryLanguage". In a JSONata
 * state every string "{% expression %}" must compile (jsonata_compile); a string that
 * opens with "{%" must close with "%}".
 *
 * Variables: "Assign" (Pass, Task, Choice and its rules, Wait, Parallel, Map, catchers)
 * is an object whose keys are variable names: a letter or '_' first, then letters, digits
 * and '_' (any non-ASCII character counts as a letter), at most 80 characters, not
 * "states". In JSONPath states a key may end in ".$" (its value a path, a "$variable"
 * reference or an intrinsic function call). */
#ifndef SLUICE_SERVICES_SFN_VALIDATE_H
#define SLUICE_SERVICES_SFN_VALIDATE_H

#include <jansson.h>
#include <stddef.h>

/* Validates the definition text. Returns a new array of diagnostics (empty: valid) and,
 * when the text parses, the parsed definition in *parsed (new reference; NULL allowed). */
json_t *sfn_definition_validate(const char *text, json_t **parsed);

/* The InvalidDefinition message for diagnostics (non-empty): "Invalid State Machine
 * Definition: 'CODE: message at location, CODE: ...'". */
void sfn_definition_error_message(const json_t *diagnostics, char *out, size_t n);

#endif
