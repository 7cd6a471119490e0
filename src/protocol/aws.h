/* One AWS API call, whatever protocol carried it.
 *
 * The router (src/server/router.c) recognises the protocol of an HTTP request (AWS JSON by
 * X-Amz-Target, AWS Query by its form `Action`, REST-JSON by method and URI template),
 * verifies SigV4 when credentials are configured, decodes the input into the JSON shape of
 * the operation (Query and REST-JSON input is turned into the same JSON the JSON protocol
 * carries, using the service model), and calls the operation's handler with an aws_call.
 * The handler answers exactly once, now or later, with aws_reply() or aws_reply_error(); the
 * reply is encoded in the caller's protocol (JSON, XML for Query, REST-JSON's headers, status
 * and body: rest_json.h) with the x-amzn-RequestId header. */
#ifndef SLUICE_PROTOCOL_AWS_H
#define SLUICE_PROTOCOL_AWS_H

#include "net/http_server.h"
#include "protocol/aws_errors.h"
#include "protocol/model.h"

#include <jansson.h>
#include <stdint.h>

typedef enum {
    AWS_PROTO_JSON_1_0,
    AWS_PROTO_JSON_1_1,
    AWS_PROTO_QUERY,
    AWS_PROTO_REST_JSON,
    AWS_PROTO_REST_XML, /* S3: replies by aws_reply_http, errors as S3's <Error> document */
    AWS_PROTO_INTERNAL, /* a call made by another service (aws_call_internal) */
} aws_protocol;

typedef struct aws_call aws_call;
typedef void (*aws_op_fn)(aws_call *call);

/* A validation failure found before replying (a batch entry's, or a call's): the error
 * and its message. aws_fail (below) fills it
 * and returns -1. */
typedef struct aws_failure {
    aws_error code;
    char msg[512];
} aws_failure;

/* A row of a service's operation table. */
typedef struct aws_op_def {
    const char *name; /* as in the model: "SendMessage" */
    aws_op_fn fn;
} aws_op_def;

/* A service as the router sees it: its wire model, its handlers, its state. */
typedef struct aws_service_def {
    const model_service *model;
    aws_protocol json_protocol; /* AWS_PROTO_JSON_1_0 or _1_1 for X-Amz-Target calls */
    int query_compatible;       /* JSON errors carry x-amzn-query-error (SQS) */
    const aws_op_def *ops;
    size_t nops;
    void *ctx; /* the service's state, for handlers (call->service->ctx) */
    /* REST-JSON models: the error for a request the codec cannot decode (a body that is not
     * JSON, a member or parameter of the wrong type). 0 (which would be InternalError) means
     * AWS_ERR_SERIALIZATION_EXCEPTION, what Smithy-built services answer; SES v2 answers
     * AWS_ERR_SESV2_BAD_REQUEST. */
    aws_error rest_input_error;
    /* REST-XML services (S3), whose requests no model template describes: reads req
     * (borrowed) into the operation's name (static) and input (*input, new). Returns NULL with
     * the error in *f (and *input NULL) when the request names no operation it serves. */
    const char *(*decode_http)(const http_request *req, json_t **input, aws_failure *f);
} aws_service_def;

struct aws_call {
    http_request *http;
    const aws_service_def *service;
    const model_operation *op;
    aws_protocol protocol;
    json_t *input;        /* owned by the call: the operation's input in JSON shape */
    char request_id[40];  /* UUID */
    char access_key[128]; /* from the SigV4 credential, "" when unsigned */
    char host[256];       /* the Host header, for building queue URLs */
    int64_t received_ms;
    void *state; /* free for the handler (a long poll's state, ...) */
    /* AWS_PROTO_INTERNAL: where the outcome goes */
    void (*internal_done)(const json_t *output, const char *error, const char *message, void *arg);
    void *internal_arg;
};

/* Answers with `output` (taken; NULL means an empty result). */
void aws_reply(aws_call *call, json_t *output);
/* REST-XML calls (S3): answers with a response the service encoded itself; headers are
 * borrowed, body taken (as http_respond); the request id header is added. */
void aws_reply_http(aws_call *call, int status, const http_header *headers, size_t nheaders,
                    buf *body);
/* Answers with an error of the table in aws_errors.h; the message is printf-formatted. */
void aws_reply_error(aws_call *call, aws_error err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same, with more members in the error object of the JSON protocols (DynamoDB's Item,
 * CancellationReasons); extra (an object, or NULL) is taken. Query and REST-JSON errors
 * leave them out; REST-XML errors write its string members as elements (S3's BucketName). */
void aws_reply_error_extra(aws_call *call, aws_error err, json_t *extra, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int aws_fail(aws_failure *f, aws_error code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Batch entry ids (SQS, SNS): 1 to 80 characters of [A-Za-z0-9_-]. */
int aws_valid_batch_entry_id(const char *id);

/* The call's connection went away (a long poll may give up early). */
int aws_call_is_cancelled(const aws_call *call);

/* Encoders, exposed for tests and fuzzing. Each appends to `out`. */
void aws_encode_json_error(buf *out, const aws_service_def *svc, aws_error err, const char *msg);
void aws_encode_query_error(buf *out, const aws_service_def *svc, aws_error err, const char *msg,
                            const char *request_id);

/* Creates a call for `http` (borrowed until the reply). Takes ownership of input. */
aws_call *aws_call_create(http_request *http, const aws_service_def *svc, const model_operation *op,
                          aws_protocol proto, json_t *input);
/* The handler row of operation `name` in svc's table (sorted by name), or NULL. */
const aws_op_def *aws_find_op(const aws_service_def *svc, const char *name);

/* ---- calls made by other services (Step Functions' service integrations, EventBridge's
 * state machine targets) ----
 * Runs operation `op` ("SendMessage") of svc with input (taken: the operation's input in
 * JSON shape) as a client's call would run, unsigned. done is called exactly once, maybe
 * before this returns: with the output (borrowed; NULL for an empty one) and NULL error,
 * or with the error's code (the error shape's name, "QueueDoesNotExist") and message.
 * Returns -1 (done not called, input freed) if svc has no such operation. */
typedef void (*aws_internal_done_fn)(const json_t *output, const char *error, const char *message,
                                     void *arg);
int aws_call_internal(const aws_service_def *svc, const char *op, json_t *input,
                      aws_internal_done_fn done, void *arg);

#endif
