/* Fuzz the CloudWatch Logs filter-pattern compiler and matcher: any pattern either compiles
 * or is refused with a message; what compiles matches any message without crashing, reading
 * past it or leaking; a blank pattern and the pattern made of a message's own bytes (quoted)
 * both match that message.
 *
 * Input: the pattern, a NUL byte, then the message (any bytes). */
#include "services/logs/logs_filter.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The message as one quoted term: quotes and backslashes escaped. */
static char *quoted(const char *msg, size_t len)
{
    char *out = malloc(2 * len + 3), *p = out;
    *p++ = '"';
    for (size_t i = 0; i < len; i++) {
        if (msg[i] == '"' || msg[i] == '\\')
            *p++ = '\\';
        *p++ = msg[i];
    }
    *p++ = '"';
    *p = '\0';
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *nul = memchr(data, 0, size);
    size_t plen = nul ? (size_t)(nul - (const char *)data) : size;
    char *pattern = malloc(plen + 1);
    memcpy(pattern, data, plen);
    pattern[plen] = '\0';
    const char *msg = nul ? nul + 1 : "";
    size_t mlen = nul ? size - plen - 1 : 0;
    /* the message in a buffer of its own size: reads past it are caught */
    char *copy = malloc(mlen ? mlen : 1);
    memcpy(copy, msg, mlen);

    logs_filter *f = NULL;
    char err[256] = "";
    if (logs_filter_compile(pattern, &f, err, sizeof err) == 0)
        logs_filter_match(f, copy, mlen);
    else if (err[0] == '\0' || f)
        abort(); /* a refusal says why and yields nothing */
    logs_filter_free(f);

    /* the message's own text, quoted, matches it (when it has no NUL to end the pattern) */
    if (mlen > 0 && !memchr(copy, 0, mlen)) {
        char *q = quoted(copy, mlen);
        f = NULL;
        if (logs_filter_compile(q, &f, err, sizeof err) != 0 || !logs_filter_match(f, copy, mlen))
            abort();
        logs_filter_free(f);
        free(q);
    }
    free(copy);
    free(pattern);
    return 0;
}
