/* Fuzz SES template validation and rendering. The input is the rendering data (JSON), a NUL
 * byte, then the template; without a NUL byte it is all template, rendered with fixed data of
 * every JSON type. Any input must either fail cleanly or render within the bounds, and:
 * a template validate refuses must not render; a failed render leaves the output as it was. */
#include "protocol/json_codec.h"
#include "services/ses/ses_template.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char fixed[] =
    "{\"name\":\"n\",\"num\":1.5,\"int\":0,\"t\":true,\"f\":false,\"nil\":null,"
    "\"list\":[1,\"two\",{\"name\":\"x\",\"list\":[[]]},null],\"obj\":{\"a\":{\"b\":\"c\"},\"e\":[]"
    "}}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    const char *in = (const char *)data;
    const char *nul = memchr(in, '\0', size);
    json_t *d = NULL;
    const char *tpl = in;
    size_t n = size;
    if (nul) {
        d = jsonc_parse(in, (size_t)(nul - in), err, sizeof err);
        tpl = nul + 1;
        n = size - (size_t)(nul - in) - 1;
    }
    if (!d)
        d = jsonc_parse(fixed, sizeof fixed - 1, err, sizeof err);

    int valid = ses_template_validate(tpl, n, err, sizeof err);
    if (valid != 0 && valid != SES_TEMPLATE_INVALID)
        abort();
    buf out = BUF_INIT;
    buf_puts(&out, "keep");
    int rc = ses_template_render(tpl, n, d, 1, &out, err, sizeof err);
    if (rc > 0 || rc < SES_TEMPLATE_BAD_DATA)
        abort();
    if (valid != 0 && rc != SES_TEMPLATE_INVALID && rc != SES_TEMPLATE_BAD_DATA)
        abort();
    if (rc != 0 && (out.len != 4 || memcmp(out.data, "keep", 4) != 0))
        abort();
    if (out.len - 4 > SES_TEMPLATE_MAX_OUTPUT)
        abort();
    if (rc != 0 && !ses_template_error_code(rc))
        abort();
    buf_free(&out);
    json_decref(d);
    return 0;
}
