/* Fuzz the Step Functions intrinsic functions and payload templates. The input is an
 * intrinsic call (or any text), a NUL, then a JSON document for the state input (missing
 * or invalid: {} is used). Invariants: compiling never crashes; evaluation of what
 * compiles either gives a value or an error with a name; the same text as the value of a
 * ".$" template key validates exactly when it compiles as a path or a call, and the
 * input is never modified. */
#include "protocol/json_codec.h"
#include "services/stepfunctions/sfn_intrinsic.h"
#include "services/stepfunctions/sfn_jsonpath.h"
#include "services/stepfunctions/sfn_template.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t tlen = nul ? (size_t)(nul - data) : size;
    char *text = malloc(tlen + 1);
    memcpy(text, data, tlen);
    text[tlen] = '\0';
    char err[512];
    json_t *input = NULL;
    if (nul)
        input = jsonc_parse((const char *)nul + 1, size - tlen - 1, err, sizeof err);
    if (!input)
        input = json_object();
    json_t *before = json_deep_copy(input);
    json_t *context = json_pack("{s:{s:s}}", "Task", "Token", "tok");

    sfn_intrinsic *f;
    bool compiles = sfn_intrinsic_compile(text, &f, err, sizeof err) == 0;
    if (compiles) {
        json_t *out = NULL;
        sfn_error e = {{0}, {0}};
        int rc = sfn_intrinsic_eval(f, input, context, "f.$", &out, &e);
        if ((rc == 0) != (out != NULL) || (rc != 0 && e.name[0] == '\0'))
            abort();
        json_decref(out);
        sfn_intrinsic_free(f);
    }

    json_t *value = json_stringn(text, tlen);
    if (value) {
        json_t *tmpl = json_pack("{s:o,s:[{s:O}]}", "a.$", value, "list", "b.$", value);
        sfn_path *p = NULL;
        bool is_path =
            !sfn_intrinsic_is_call(text) && sfn_path_compile(text, &p, err, sizeof err) == 0;
        sfn_path_free(p);
        bool valid = sfn_template_validate(tmpl, "Parameters", err, sizeof err) == 0;
        bool expected = strlen(text) == tlen && (sfn_intrinsic_is_call(text) ? compiles : is_path);
        if (valid != expected)
            abort();
        json_t *out = NULL;
        sfn_error e;
        if (sfn_template_apply(tmpl, input, context, &out, &e) == 0 &&
            (!json_is_object(out) || !json_object_get(out, "a")))
            abort();
        json_decref(out);
        json_decref(tmpl);
    }
    if (!json_equal(before, input))
        abort();
    json_decref(context);
    json_decref(before);
    json_decref(input);
    free(text);
    return 0;
}
