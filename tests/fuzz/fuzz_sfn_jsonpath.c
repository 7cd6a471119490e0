/* Fuzz the Step Functions JSONPath compiler and evaluator, InputPath and ResultPath. The
 * input is a path, a NUL, then a JSON document (missing or invalid: {} is used).
 * Invariants: a path that compiles evaluates without crashing; a definite path gives
 * the same node through sfn_path_apply; after ResultPath with a reference path, the path
 * reads back exactly the result placed; the input is never modified. */
#include "protocol/json_codec.h"
#include "services/stepfunctions/sfn_jsonpath.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t plen = nul ? (size_t)(nul - data) : size;
    char *path = malloc(plen + 1);
    memcpy(path, data, plen);
    path[plen] = '\0';
    char err[256];
    json_t *input = NULL;
    if (nul)
        input = jsonc_parse((const char *)nul + 1, size - plen - 1, err, sizeof err);
    if (!input)
        input = json_object();
    json_t *before = json_deep_copy(input);
    json_t *context = json_pack("{s:{s:s},s:{s:i}}", "Execution", "Id", "e", "State", "N", 1);

    sfn_path *p;
    if (sfn_path_compile(path, &p, err, sizeof err) == 0) {
        json_t *v = sfn_path_eval(p, input, context);
        json_t *applied = NULL;
        sfn_error e;
        int rc = sfn_path_apply(path, input, context, &applied, &e);
        if ((rc == 0) != (v != NULL))
            abort();
        if (v && !json_equal(v, applied))
            abort();
        if (!sfn_path_is_definite(p) && !strstr(path, "length()") && v && !json_is_array(v))
            abort();
        json_decref(v);
        json_decref(applied);

        json_t *result = json_pack("{s:[i,s]}", "fuzz", 1, "r");
        json_t *out = NULL;
        rc = sfn_result_path_apply(path, input, result, &out, &e);
        if (rc == 0 && !sfn_path_is_reference(p))
            abort();
        if (rc == 0) {
            json_t *back = sfn_path_eval(p, out, NULL);
            if (!back || !json_equal(back, result))
                abort();
            json_decref(back);
        }
        json_decref(out);
        json_decref(result);
        sfn_path_free(p);
    }
    sfn_path_validate(path, "ResultPath", true, err, sizeof err);
    if (!json_equal(before, input))
        abort();
    json_decref(context);
    json_decref(before);
    json_decref(input);
    free(path);
    return 0;
}
