/* AWS Signature Version 4 verification (Authorization header and presigned query form).
 *
 * Parses the credential scope (access key, date, region, service) even when verification
 * is off, because the router uses the scope's service to route Query requests. */
#ifndef SLUICE_PROTOCOL_SIGV4_H
#define SLUICE_PROTOCOL_SIGV4_H

#include "net/http_server.h"
#include "protocol/aws_errors.h"

#include <stddef.h>
#include <stdint.h>

typedef struct sigv4_credential {
    const char *access_key;
    const char *secret_key;
} sigv4_credential;

typedef struct sigv4_scope {
    char access_key[128];
    char date[16]; /* YYYYMMDD */
    char region[64];
    char service[64];
} sigv4_scope;

/* Reads the scope from `Authorization: AWS4-HMAC-SHA256 Credential=AK/DATE/REGION/SERVICE/
 * aws4_request, ...`. Returns 0, or -1 if the request carries no (parsable) SigV4 header. */
int sigv4_parse_scope(const http_request *req, sigv4_scope *out);

/* Verifies the request against `creds` (n entries). Returns 0 if valid; otherwise sets *err
 * (MISSING_AUTHENTICATION_TOKEN, INCOMPLETE_SIGNATURE, INVALID_CLIENT_TOKEN_ID,
 * SIGNATURE_DOES_NOT_MATCH, REQUEST_EXPIRED) and writes AWS's message into msg.
 * `now_ms` is the wall clock; requests more than 15 minutes off are expired. */
int sigv4_verify(const http_request *req, const sigv4_credential *creds, size_t n, int64_t now_ms,
                 aws_error *err, char *msg, size_t msglen);

#endif
