/* libFuzzer target: REST-JSON request decoding and response encoding.
 *
 * Input: byte 0 picks the model (even: sesv2, odd: lambda), byte 1 an operation of it; the
 * rest is a request as text: "METHOD /path?query\n", header lines "name: value\n" (names
 * lower-cased as the HTTP server gives them), an empty line, then the body (bytes).
 * The request is matched against every template of the model, then decoded as the matched
 * operation and as the picked one (whose template usually does not match); decoded inputs
 * must be JSON objects with valid UTF-8, and every failure must explain itself. A decoded
 * input is then encoded as the operation's output (which exercises the encoder with
 * arbitrary values). */
#include "common/alloc.h"
#include "protocol/model.h"
#include "protocol/rest_json.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HEADERS 16

static void decode_and_encode(const model_service *svc, const model_operation *op,
                              const http_request *req)
{
    char err[512];
    err[0] = 0;
    json_t *in = rest_json_decode(svc, op, req, err, sizeof err);
    if (!in) {
        if (!err[0])
            abort();
        return;
    }
    if (!json_is_object(in))
        abort();
    char *text = json_dumps(in, JSON_COMPACT);
    if (!text)
        abort();
    free(text);
    rest_json_response r = {0};
    rest_json_encode(svc, op, in, &r, err, sizeof err);
    for (size_t i = 0; i < r.nheaders; i++)
        for (const char *p = r.headers[i].value; *p; p++)
            if (*p == '\r' || *p == '\n')
                abort();
    rest_json_response_free(&r);
    json_decref(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    const model_service *svc = data[0] % 2 ? &model_lambda : &model_sesv2;
    const model_operation *picked = &svc->ops[data[1] % svc->nops];
    char *text = xmalloc(size - 2 + 1);
    memcpy(text, data + 2, size - 2);
    text[size - 2] = 0;
    size_t len = size - 2;

    /* Request line. */
    char *eol = memchr(text, '\n', len);
    char *end = text + len;
    char *line_end = eol ? eol : end;
    *line_end = 0;
    char *sp = strchr(text, ' ');
    if (!sp)
        goto done;
    *sp = 0;
    char *target = sp + 1;
    char *qm = strchr(target, '?');
    if (qm)
        *qm = 0;
    http_header headers[MAX_HEADERS];
    size_t nheaders = 0;
    char *p = eol ? eol + 1 : end;
    /* Header lines until an empty one. */
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *le = nl ? nl : end;
        if (le == p) {
            p = nl ? nl + 1 : end;
            break;
        }
        *le = 0;
        char *colon = strchr(p, ':');
        if (colon && nheaders < MAX_HEADERS) {
            *colon = 0;
            for (char *c = p; *c; c++)
                *c = (char)tolower((unsigned char)*c);
            char *v = colon + 1;
            while (*v == ' ')
                v++;
            headers[nheaders].name = p;
            headers[nheaders].value = v;
            nheaders++;
        }
        p = nl ? nl + 1 : end;
    }
    http_request req = {.method = text,
                        .path = target,
                        .query = qm ? qm + 1 : "",
                        .headers = headers,
                        .nheaders = nheaders,
                        .body = p,
                        .body_len = (size_t)(end - p)};
    rest_json_rank rank;
    const model_operation *op = rest_json_match(svc, &req, &rank);
    if (op)
        decode_and_encode(svc, op, &req);
    decode_and_encode(svc, picked, &req);
done:
    xfree(text);
    return 0;
}
