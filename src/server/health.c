#include "server/health.h"

#include "common/clock.h"

#include <stdio.h>
#include <string.h>

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            sscanf(line + 6, "%ld", &kib);
    fclose(f);
    return kib;
}

void health_handle(http_request *req, void *arg)
{
    health_info *h = arg;
    store_stats st = {0};
    if (h->store)
        store_get_stats(h->store, &st);
    buf b = BUF_INIT;
    buf_printf(&b,
               "{\"status\":\"ok\",\"version\":\"%s\",\"uptime_ms\":%lld,\"durability\":\"%s\","
               "\"connections\":%u,\"store_pending\":%zu,\"store_batches\":%llu,"
               "\"store_ops\":%llu,\"store_syncs\":%llu,\"store_failed_batches\":%llu,"
               "\"store_commit_us\":%llu,\"store_sync_us\":%llu,\"rss_kib\":%ld,"
               "\"sfn_executions_in_memory\":%zu,\"sfn_executions_in_memory_peak\":%zu}\n",
               SLUICE_VERSION, (long long)(clock_now_ms() - h->started_ms), h->durability,
               h->http ? http_server_connections(h->http) : 0u,
               h->store ? store_pending(h->store) : (size_t)0, (unsigned long long)st.batches,
               (unsigned long long)st.ops, (unsigned long long)st.syncs,
               (unsigned long long)st.failed_batches, (unsigned long long)(st.commit_ns / 1000),
               (unsigned long long)(st.sync_ns / 1000), rss_kib(), sfn_executions_in_memory(h->sfn),
               sfn_executions_in_memory_peak(h->sfn));
    http_header hd[] = {{"Content-Type", "application/json"}};
    http_respond(req, 200, hd, 1, &b);
}
