/* A C Lambda function that misbehaves on request, for test_lambda_provided_c.py: built by
 * CMake as BUILD/lambda-c/faults/bootstrap on libsluice's runtime client. The event picks:
 *   {"action":"echo"}                   the event back, with the invocation's context
 *   {"action":"sleep","ms":N}           sleeps N ms, then answers (deadline tests)
 *   {"action":"crash"}                  abort(): the process dies of SIGABRT
 *   {"action":"exit","code":N}          exit(N) in the middle of the invocation
 *   {"action":"big","bytes":N}          a payload of N bytes (the 6 MB response limit)
 *   {"action":"fail","type":T}          an error of type T; "return":N returns N without one
 * Every invocation prints "faults: ACTION" first, so the test can find it in the log. */
#include <sluice/runtime.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int invocations; /* answered by this process: shows that the worker stayed warm */

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static int echo(const sluice_invocation *inv, const char *payload, size_t len, sluice_response *out)
{
    return sluice_response_printf(out,
                                  "{\"event\":%.*s,\"requestId\":\"%s\",\"functionArn\":\"%s\","
                                  "\"traceId\":\"%s\",\"remainingMs\":%lld,\"pid\":%d,"
                                  "\"invocations\":%d}",
                                  (int)len, payload, inv->request_id, inv->function_arn,
                                  inv->trace_id, (long long)sluice_remaining_ms(inv), (int)getpid(),
                                  invocations);
}

static int big(sluice_response *out, size_t bytes)
{
    sluice_response_set(out, "\"", 1);
    for (size_t i = 2; i < bytes; i++)
        if (sluice_response_append(out, "x", 1) != 0)
            return -1;
    return sluice_response_append(out, "\"", 1);
}

static int handle(const sluice_invocation *inv, const char *payload, size_t len,
                  sluice_response *out, void *arg)
{
    invocations++;
    json_t *event = json_loadb(payload, len, 0, NULL);
    const char *action = json_string_value(json_object_get(event, "action"));
    action = action ? action : "echo";
    printf("faults: %s\n", action);
    int rc = 0;
    if (strcmp(action, "sleep") == 0) {
        sleep_ms((long)json_integer_value(json_object_get(event, "ms")));
        rc = sluice_response_set(out, "{\"slept\":true}", 14);
    } else if (strcmp(action, "crash") == 0) {
        abort(); /* no flush: libsluice made stdout line-buffered */
    } else if (strcmp(action, "exit") == 0) {
        fflush(stdout);
        exit((int)json_integer_value(json_object_get(event, "code")));
    } else if (strcmp(action, "big") == 0) {
        rc = big(out, (size_t)json_integer_value(json_object_get(event, "bytes")));
    } else if (strcmp(action, "fail") == 0) {
        json_t *ret = json_object_get(event, "return");
        if (json_is_integer(ret))
            rc = (int)json_integer_value(ret);
        else
            sluice_response_error(out, json_string_value(json_object_get(event, "type")),
                                  "failing as asked, \"quoted\"\nand on two lines");
    } else {
        rc = echo(inv, payload, len, out);
    }
    json_decref(event);
    return rc;
}

int main(void)
{
    return sluice_runtime_run(handle, NULL) == 0 ? 0 : 1;
}
