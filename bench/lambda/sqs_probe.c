/* The SQS -> function latency probe of `make bench` (sluice-loadgen lambda-sqs-latency): a C
 * Lambda function (BUILD/lambda-c/sqs-probe/bootstrap) that, the moment the handler starts,
 * reads CLOCK_MONOTONIC (one clock for every process of the machine) and sends, for each
 * record of the SQS event, one UDP datagram "HANDLER_NS BODY-PREFIX" to BENCH_PROBE_ADDR
 * (IPv4:PORT), where the load generator matches it with the message's scheduled send time
 * ("seq:sched_ns:" at the start of the body). */
#include <sluice/runtime.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define PREFIX_MAX 64 /* "seq:sched_ns:" fits */

typedef struct probe {
    int fd;
    struct sockaddr_in to;
} probe;

static int handle(const sluice_invocation *inv, const char *payload, size_t len,
                  sluice_response *out, void *arg)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    unsigned long long start_ns = (unsigned long long)ts.tv_sec * 1000000000ull + ts.tv_nsec;
    const probe *p = arg;
    json_t *event = json_loadb(payload, len, 0, NULL);
    json_t *records = json_object_get(event, "Records"), *r;
    size_t i;
    json_array_foreach(records, i, r)
    {
        const char *body = json_string_value(json_object_get(r, "body"));
        char dgram[128];
        int n = snprintf(dgram, sizeof dgram, "%llu %.*s", start_ns, PREFIX_MAX, body ? body : "");
        sendto(p->fd, dgram, (size_t)n, 0, (const struct sockaddr *)&p->to, sizeof p->to);
    }
    json_decref(event);
    return sluice_response_set(out, "{}", 2);
}

int main(void)
{
    probe p = {.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
    const char *addr = getenv("BENCH_PROBE_ADDR");
    char host[64];
    int port = 0;
    p.to.sin_family = AF_INET;
    if (!addr || sscanf(addr, "%63[0-9.]:%d", host, &port) != 2 ||
        inet_pton(AF_INET, host, &p.to.sin_addr) != 1 || p.fd < 0) {
        sluice_init_error("InvalidConfiguration", "BENCH_PROBE_ADDR must be IPv4:PORT");
        return 1;
    }
    p.to.sin_port = htons((unsigned short)port);
    return sluice_runtime_run(handle, &p) == 0 ? 0 : 1;
}
