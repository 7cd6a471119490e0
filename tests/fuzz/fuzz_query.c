/* libFuzzer target: AWS Query input decoding. The first byte picks an SQS operation, the rest
 * is a form body: form_parse, then query_to_json against the operation's input shape. The
 * decoded input must be encodable JSON (strings valid UTF-8), as handlers and the JSON
 * encoder rely on it. */
#include "protocol/form.h"
#include "protocol/model.h"
#include "protocol/query.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const model_operation *op = &model_sqs.ops[data[0] % model_sqs.nops];
    form f;
    if (form_parse(&f, (const char *)data + 1, size - 1, 4096) != 0)
        return 0;
    char err[256];
    json_t *in = query_to_json(&f, op->input, err, sizeof err);
    form_free(&f);
    if (in) {
        if (!json_is_object(in))
            abort();
        char *text = json_dumps(in, JSON_COMPACT);
        if (!text)
            abort();
        free(text);
        json_decref(in);
    } else if (!err[0]) {
        abort(); /* every failure explains itself */
    }
    return 0;
}
