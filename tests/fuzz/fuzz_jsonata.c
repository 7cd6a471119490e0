/* Fuzz the JSONata compiler and evaluator: the input is an expression, evaluated against
 * a small fixed document with a variable binding. Invariants: nothing crashes, leaks or
 * runs past the limits; a failure always carries a message that starts with an error
 * code; the input document and the bindings are never modified. */
#include "jsonata/jsonata.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char DOCUMENT[] =
    "{\"Account\":{\"Name\":\"Firefly\",\"Order\":[{\"OrderID\":\"o1\",\"Product\":["
    "{\"Name\":\"Hat\",\"Price\":34.45,\"Quantity\":2,\"Tags\":[\"a\",\"b\"]},"
    "{\"Name\":\"Cloak\",\"Price\":107.99,\"Quantity\":1,\"Tags\":[]}]},"
    "{\"OrderID\":\"o2\",\"Product\":{\"Name\":\"Hat\",\"Price\":34.45,\"Quantity\":4}}]},"
    "\"list\":[1,2,3,null,true,\"x\",{\"k\":[1,[2]]}],\"empty\":{},\"s\":\"Hello World\"}";

static int has_code(const char *err)
{
    return strlen(err) >= 6 && err[0] >= 'A' && err[0] <= 'Z' && err[5] == ':';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *src = malloc(size + 1);
    memcpy(src, data, size);
    src[size] = '\0';
    char err[512];
    jsonata_expr *e = jsonata_compile(src, err, sizeof err);
    if (!e) {
        if (!has_code(err))
            abort();
        free(src);
        return 0;
    }
    json_t *doc = json_loads(DOCUMENT, 0, NULL);
    json_t *before = json_deep_copy(doc);
    json_t *bindings = json_pack("{s:{s:[i,i]},s:s}", "states", "input", 1, 2, "name", "x");
    json_t *bindings_before = json_deep_copy(bindings);
    int failed;
    json_t *r = jsonata_evaluate(e, doc, bindings, err, sizeof err, &failed);
    if (failed && (r || !has_code(err)))
        abort();
    if (r) {
        char *text = json_dumps(r, JSON_ENCODE_ANY | JSON_COMPACT);
        if (!text)
            abort();
        free(text);
    }
    if (!json_equal(doc, before) || !json_equal(bindings, bindings_before))
        abort();
    json_decref(r);
    json_decref(doc);
    json_decref(before);
    json_decref(bindings);
    json_decref(bindings_before);
    jsonata_free(e);
    free(src);
    return 0;
}
