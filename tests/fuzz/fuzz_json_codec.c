/* Fuzz the AWS JSON protocol reader: any input either fails cleanly or yields a value whose
 * dump parses back to an equal value. */
#include "protocol/json_codec.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[160];
    json_t *v = jsonc_parse((const char *)data, size, err, sizeof err);
    if (!v)
        return 0;
    buf out = BUF_INIT;
    jsonc_dump(&out, v);
    json_t *again = jsonc_parse(out.data, out.len, err, sizeof err);
    if (!again || !json_equal(v, again))
        abort();
    json_decref(again);
    json_decref(v);
    buf_free(&out);
    return 0;
}
