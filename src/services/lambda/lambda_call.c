/* Synchronous invocations by other services (see lambda_call in lambda.h): a thin wrapper
 * of the worker pool's lambda_invoke for callers outside the Lambda service. */
#include "services/lambda/lambda_internal.h"

#include "common/alloc.h"
#include "common/ids.h"

typedef struct lambda_call_ctx {
    lambda_call_done_fn done;
    void *arg;
} lambda_call_ctx;

static void call_done(lambda_result *r, void *arg)
{
    lambda_call_ctx *c = arg;
    int outcome =
        r->kind == LAMBDA_RESULT_FUNCTION_ERROR ? LAMBDA_CALL_FUNCTION_ERROR : LAMBDA_CALL_OK;
    c->done(outcome, r->payload.data ? r->payload.data : "", r->payload.len, c->arg);
    xfree(c);
}

int lambda_call(lambda *l, const char *function, const char *payload, size_t len,
                lambda_call_done_fn done, void *arg)
{
    lambda_fn *fn = l && function ? lambda_fn_target(l, function, NULL) : NULL;
    if (!fn)
        return LAMBDA_CALL_NOT_FOUND;
    char id[40];
    ids_uuid4(id);
    lambda_call_ctx *c = xcalloc(1, sizeof *c);
    c->done = done;
    c->arg = arg;
    if (lambda_invoke(l, fn, id, payload, len, call_done, c) != 0) {
        xfree(c);
        return LAMBDA_CALL_THROTTLED;
    }
    return LAMBDA_CALL_STARTED;
}
