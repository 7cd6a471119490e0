/* The smallest C Lambda function: answers every event with {} (the bench's C no-op, and the
 * floor of what an invocation costs through libsluice's runtime client). */
#include <sluice/runtime.h>

static int noop(const sluice_invocation *inv, const char *payload, size_t len, sluice_response *out,
                void *arg)
{
    return sluice_response_set(out, "{}", 2);
}

int main(void)
{
    return sluice_runtime_run(noop, NULL) == 0 ? 0 : 1;
}
