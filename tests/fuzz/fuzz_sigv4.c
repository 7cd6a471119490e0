/* libFuzzer target for SigV4: scope parsing and verification of arbitrary requests.
 *
 * Input format (HTTP-like, so seeds are readable):
 *   line 1: method, line 2: path, line 3: query,
 *   then "name: value" header lines (names lower-cased, as the server delivers them)
 *   up to an empty line; the rest is the body.
 * Verification runs with one fixed credential at the seeds' signing time
 * (2024-05-27T12:00:00Z), so valid seeds reach the signature comparison. */
#include "protocol/sigv4.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HEADERS 32

static char *take_line(const char **p, const char *end)
{
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    const char *stop = nl ? nl : end;
    size_t n = (size_t)(stop - *p);
    char *s = malloc(n + 1);
    memcpy(s, *p, n);
    s[n] = 0;
    *p = nl ? nl + 1 : end;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    char *method = take_line(&p, end);
    char *path = take_line(&p, end);
    char *query = take_line(&p, end);
    char *lines[MAX_HEADERS];
    http_header headers[MAX_HEADERS];
    size_t nh = 0;
    while (p < end && nh < MAX_HEADERS) {
        char *line = take_line(&p, end);
        if (!*line) {
            free(line);
            break;
        }
        lines[nh] = line;
        char *colon = strchr(line, ':');
        if (colon) {
            *colon = 0;
            char *v = colon + 1;
            while (*v == ' ')
                v++;
            headers[nh].value = v;
        } else {
            headers[nh].value = "";
        }
        for (char *c = line; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        headers[nh].name = line;
        nh++;
    }
    size_t body_len = (size_t)(end - p);
    char *body = malloc(body_len + 1);
    memcpy(body, p, body_len);
    body[body_len] = 0;

    http_request req;
    memset(&req, 0, sizeof req);
    req.method = method;
    req.path = path;
    req.query = query;
    req.headers = headers;
    req.nheaders = nh;
    req.body = body;
    req.body_len = body_len;

    sigv4_scope scope;
    if (sigv4_parse_scope(&req, &scope) == 0) {
        if (strlen(scope.access_key) >= sizeof scope.access_key ||
            strlen(scope.service) >= sizeof scope.service)
            abort();
    }
    static const sigv4_credential creds[] = {
        {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}};
    aws_error err = AWS_ERR_INTERNAL_ERROR;
    char msg[512];
    if (sigv4_verify(&req, creds, 1, 1716811200000LL, &err, msg, sizeof msg) != 0) {
        if (err != AWS_ERR_MISSING_AUTHENTICATION_TOKEN && err != AWS_ERR_INCOMPLETE_SIGNATURE &&
            err != AWS_ERR_INVALID_CLIENT_TOKEN_ID && err != AWS_ERR_SIGNATURE_DOES_NOT_MATCH &&
            err != AWS_ERR_REQUEST_EXPIRED)
            abort();
        if (strnlen(msg, sizeof msg) == sizeof msg)
            abort();
    }
    /* A tiny message buffer must stay terminated. */
    char small[4];
    sigv4_verify(&req, creds, 1, 1716811200000LL, &err, small, sizeof small);
    if (strnlen(small, sizeof small) == sizeof small)
        abort();

    for (size_t i = 0; i < nh; i++)
        free(lines[i]);
    free(method);
    free(path);
    free(query);
    free(body);
    return 0;
}
