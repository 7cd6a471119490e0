/* Fuzz the Amazon States Language validator (JSONPath and JSONata definitions). The input
 * is a definition text. Invariants: validation never crashes; it returns an array of
 * diagnostics, each with a code and a message; a definition that parses to an object
 * comes back when asked for; the InvalidDefinition message of a failed one is a string. */
#include "services/stepfunctions/sfn_validate.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    json_t *parsed = NULL;
    json_t *diags = sfn_definition_validate(text, &parsed);
    if (!json_is_array(diags))
        abort();
    size_t i;
    json_t *d;
    json_array_foreach(diags, i, d)
    {
        if (!json_is_string(json_object_get(d, "code")) ||
            !json_is_string(json_object_get(d, "message")))
            abort();
    }
    if (parsed && !json_is_object(parsed))
        abort();
    if (json_array_size(diags) > 0) {
        char msg[4096];
        sfn_definition_error_message(diags, msg, sizeof msg);
        if (strncmp(msg, "Invalid State Machine Definition: '", 35) != 0)
            abort();
    }
    json_decref(parsed);
    json_decref(diags);
    free(text);
    return 0;
}
