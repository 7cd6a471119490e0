/* GET /_sluice/health: liveness and a few gauges, as JSON. */
#ifndef SLUICE_SERVER_HEALTH_H
#define SLUICE_SERVER_HEALTH_H

#include "net/http_server.h"
#include "services/stepfunctions/stepfunctions.h"
#include "store/store.h"

#include <stdint.h>

typedef struct health_info {
    http_server *http;
    store *store;
    int64_t started_ms;
    const char *durability;
    const sfn *sfn; /* may be NULL */
} health_info;

void health_handle(http_request *req, void *arg);

#endif
