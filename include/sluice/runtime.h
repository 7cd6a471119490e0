/* libsluice's Lambda runtime client: the C side of the Lambda Runtime API, for functions of
 * the `provided` runtimes (a zip whose `bootstrap` is a C program), in the spirit of AWS's
 * aws-lambda-cpp.
 *
 * The smallest function:
 *
 *     static int handler(const sluice_invocation *inv, const char *payload, size_t len,
 *                        sluice_response *out, void *arg)
 *     {
 *         return sluice_response_set(out, "{\"ok\":true}", 11);
 *     }
 *     int main(void) { return sluice_runtime_run(handler, NULL) == 0 ? 0 : 1; }
 *
 * sluice_runtime_run reads AWS_LAMBDA_RUNTIME_API, then loops: GET .../invocation/next,
 * call the handler, POST its payload to .../invocation/ID/response, or its error to
 * .../invocation/ID/error. The response is an error when the handler set one with
 * sluice_response_error, or returned nonzero (then, if it set none, the error is
 * "Runtime.HandlerError"). It returns 0 when the server lets the worker go (a /next that is
 * not answered 200), a negative code when it cannot reach the server.
 *
 * Cost: one keep-alive HTTP/1.1 connection on a blocking socket; the request, response and
 * payload buffers grow to the largest invocation seen and are reused, so a warm invocation
 * allocates nothing. Not thread-safe: one runtime per thread (Lambda gives a worker one
 * invocation at a time anyway).
 *
 * Errors: functions return 0 or a negative SLUICE_E* code (sluice_err_name/_message). */
#ifndef SLUICE_RUNTIME_H
#define SLUICE_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ----------------------------------------------------------------------------- */

#define SLUICE_RUNTIME_ERRORS(X)                                                                   \
    X(SLUICE_ENOMEM, -1, "out of memory")                                                          \
    X(SLUICE_ENOAPI, -2, "AWS_LAMBDA_RUNTIME_API is not set or is not HOST:PORT[/PATH]")           \
    X(SLUICE_ECONNECT, -3, "cannot connect to the Runtime API")                                    \
    X(SLUICE_EIO, -4, "the connection to the Runtime API failed")                                  \
    X(SLUICE_EPROTO, -5, "malformed HTTP response from the Runtime API")                           \
    X(SLUICE_ELIMIT, -6, "response from the Runtime API over the client's limits")                 \
    X(SLUICE_ESTATUS, -7, "the Runtime API refused the request")                                   \
    X(SLUICE_EINVAL, -8, "invalid argument")

enum {
#define SLUICE_ENUM_ROW(name, value, msg) name = value,
    SLUICE_OK = 0,
    SLUICE_RUNTIME_ERRORS(SLUICE_ENUM_ROW)
#undef SLUICE_ENUM_ROW
};

/* "SLUICE_EIO", "the connection to the Runtime API failed" (static strings). */
const char *sluice_err_name(int code);
const char *sluice_err_message(int code);

/* ---- one invocation --------------------------------------------------------------------- */

/* What the Runtime API says about the invocation (from /next's headers). The strings belong
 * to the runtime and stay valid until the handler returns; absent ones are "". */
typedef struct sluice_invocation {
    const char *request_id;       /* Lambda-Runtime-Aws-Request-Id */
    const char *function_arn;     /* Lambda-Runtime-Invoked-Function-Arn */
    const char *trace_id;         /* Lambda-Runtime-Trace-Id (not exported as _X_AMZN_TRACE_ID) */
    const char *client_context;   /* Lambda-Runtime-Client-Context (JSON) */
    const char *cognito_identity; /* Lambda-Runtime-Cognito-Identity (JSON) */
    int64_t deadline_ms;          /* Lambda-Runtime-Deadline-Ms: milliseconds since the epoch */
} sluice_invocation;

/* Milliseconds left before the invocation's deadline (0 when past it). */
int64_t sluice_remaining_ms(const sluice_invocation *inv);

/* ---- the handler's answer ------------------------------------------------------------- */

typedef struct sluice_response sluice_response;

/* A standalone response (for sluice_runtime_post); sluice_runtime_run gives the handler its
 * own. destroy accepts NULL. */
int sluice_response_create(sluice_response **out);
void sluice_response_destroy(sluice_response *r);
/* Back to empty (a success with no payload), keeping its memory. */
void sluice_response_reset(sluice_response *r);

/* The success payload, copied (replaces what was set). An empty payload is sent as `null`,
 * as Lambda does for a handler that returns nothing. */
int sluice_response_set(sluice_response *r, const char *payload, size_t len);
/* Appends to the success payload (copies), printf-style or raw; SLUICE_EINVAL once the
 * response is an error. */
int sluice_response_append(sluice_response *r, const char *data, size_t len);
int sluice_response_printf(sluice_response *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Makes the response an error: {"errorMessage":MESSAGE,"errorType":TYPE,"stackTrace":[]},
 * posted to .../error with Lambda-Runtime-Function-Error-Type: TYPE. type and the formatted
 * message are copied (JSON-escaped; characters a header cannot carry are dropped from the
 * header's copy of TYPE). Replaces any payload. */
int sluice_response_error(sluice_response *r, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Whether sluice_response_error was called since the last reset. */
int sluice_response_is_error(const sluice_response *r);
/* The payload (or the error document) as it will be posted; borrowed. */
const char *sluice_response_body(const sluice_response *r, size_t *len);

/* payload: the event, NUL-terminated, len bytes (borrowed until the handler returns).
 * Returns 0 for success, nonzero for a function error (see the file's comment). */
typedef int (*sluice_handler)(const sluice_invocation *inv, const char *payload, size_t len,
                              sluice_response *out, void *arg);

/* ---- the runtime ------------------------------------------------------------------------ */

/* Reads AWS_LAMBDA_RUNTIME_API, runs handler for every invocation until the server lets the
 * worker go (returns 0) or cannot be reached (a negative code). */
int sluice_runtime_run(sluice_handler handler, void *arg);

/* The lower-level API, for programs that drive the loop themselves. */
typedef struct sluice_runtime sluice_runtime;

/* api: "HOST:PORT[/PATH]" as in AWS_LAMBDA_RUNTIME_API (copied), or NULL to read the
 * variable. Does not connect yet. Makes stdout line-buffered: it is the invocation's log,
 * and a line printed before a timeout or a crash must reach it. */
int sluice_runtime_create(sluice_runtime **out, const char *api);
void sluice_runtime_destroy(sluice_runtime *rt);
/* Waits for the next invocation. inv's strings and *payload (NUL-terminated) stay valid
 * until the next call on rt. Returns SLUICE_ESTATUS when the server answered /next with
 * another status than 200 (it lets this worker go). */
int sluice_runtime_next(sluice_runtime *rt, sluice_invocation *inv, const char **payload,
                        size_t *len);
/* Posts r (borrowed) as the outcome of inv: to .../response or, for an error, .../error.
 * SLUICE_ESTATUS when the server did not accept it (202), e.g. a payload over 6 MB. */
int sluice_runtime_post(sluice_runtime *rt, const sluice_invocation *inv, const sluice_response *r);
/* Reports a failed initialisation (POST .../init/error); the bootstrap should exit after. */
int sluice_runtime_init_error(sluice_runtime *rt, const char *type, const char *message);
/* Runs the next -> handler -> post loop on rt (what sluice_runtime_run does). */
int sluice_runtime_loop(sluice_runtime *rt, sluice_handler handler, void *arg);

/* sluice_runtime_init_error on a runtime of its own (AWS_LAMBDA_RUNTIME_API), for a
 * bootstrap whose initialisation failed before it made one. */
int sluice_init_error(const char *type, const char *message);

#ifdef __cplusplus
}
#endif

#endif
