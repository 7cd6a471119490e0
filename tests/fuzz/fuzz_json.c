/* libFuzzer target: AWS JSON request bodies and the Query XML writer. The first byte picks an
 * SQS operation; the rest is parsed as the router parses JSON bodies (json_loadb with
 * JSON_REJECT_DUPLICATES; jansson bounds nesting itself at JSON_PARSER_MAX_DEPTH, 2048 in
 * Debian's 2.14) and the value, whatever it is, goes through xml_encode_response as that
 * operation's output. The document must stay well-formed text: valid UTF-8 without the
 * characters XML 1.0 forbids. */
#include "common/buf.h"
#include "protocol/model.h"
#include "protocol/xml.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

static void check_text(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        if (c < 0x80) {
            if (c < 0x20 && c != '\t' && c != '\n')
                abort(); /* CR must be written as &#xD; */
            i++;
            continue;
        }
        size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
        if (c < 0xc2 || c > 0xf4 || i + len > n)
            abort();
        uint32_t cp = c & (len == 2 ? 0x1f : len == 3 ? 0x0f : 0x07);
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                abort();
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) || cp == 0xfffe || cp == 0xffff)
            abort();
        i += len;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const model_operation *op = &model_sqs.ops[data[0] % model_sqs.nops];
    json_error_t err;
    json_t *v = json_loadb((const char *)data + 1, size - 1,
                           JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
    if (!v)
        return 0;
    buf b = BUF_INIT;
    xml_encode_response(&b, &model_sqs, op, v, "00000000-0000-4000-8000-000000000000");
    check_text((const unsigned char *)b.data, b.len);
    buf_free(&b);
    json_decref(v);
    return 0;
}
