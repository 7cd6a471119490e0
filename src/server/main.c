/* sluiced: the Sluice server.
 *
 * Start-up: configuration, the store (opened, migrated, its commit thread started), the
 * services (their state loaded from the store), the router, then the HTTP listener.
 * Shutdown on SIGINT/SIGTERM: answer long polls, stop accepting, let in-flight requests
 * finish (their commits included), then close the store and exit 0. */
#include "common/clock.h"
#include "common/log.h"
#include "net/http_server.h"
#include "server/config.h"
#include "server/health.h"
#include "server/router.h"
#include "services/events/events.h"
#include "services/sns/sns.h"
#include "services/sqs/sqs.h"
#include "store/store.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct server {
    config cfg;
    uv_loop_t *loop;
    store *store;
    sqs *sqs;
    events *events;
    sns *sns;
    router *router;
    http_server *http;
    health_info health;
    sigv4_credential cred;
    uv_signal_t sigint, sigterm;
    int stopping;
} server;

static void on_drained(void *arg)
{
    server *s = arg;
    log_info("connections drained", "pending_commits=%zu", store_pending(s->store));
    store_close(s->store);
    s->store = NULL;
    events_destroy(s->events);
    s->events = NULL;
    sns_destroy(s->sns);
    s->sns = NULL;
    sqs_destroy(s->sqs);
    s->sqs = NULL;
    uv_close((uv_handle_t *)&s->sigint, NULL);
    uv_close((uv_handle_t *)&s->sigterm, NULL);
}

static void on_signal(uv_signal_t *h, int signum)
{
    server *s = h->data;
    if (s->stopping) {
        log_warn("second signal: exiting now", "signal=%d", signum);
        exit(1);
    }
    s->stopping = 1;
    log_info("shutting down", "signal=%d", signum);
    events_shutdown(s->events);
    sns_shutdown(s->sns);
    sqs_shutdown(s->sqs);
    http_server_stop(s->http, on_drained, s);
}

int main(int argc, char **argv)
{
    static server s;
    char err[512];
    config_defaults(&s.cfg);
    int rc = config_load(&s.cfg, argc, argv, err, sizeof err);
    if (rc == 1)
        return 0;
    if (rc != 0) {
        fprintf(stderr, "sluiced: %s\n", err);
        return 2;
    }
    log_set_level(s.cfg.log_level);
    signal(SIGPIPE, SIG_IGN);
    s.loop = uv_default_loop();

    store_config sc = {.data_dir = s.cfg.data_dir, .durability = s.cfg.durability};
    if (store_open(&s.store, &sc, s.loop, err, sizeof err) != 0) {
        log_error("cannot open the store", "err='%s'", err);
        return 1;
    }
    if (sqs_create(&s.sqs, s.loop, s.store, s.cfg.region, s.cfg.account_id) != 0) {
        log_error("cannot load the SQS state", NULL);
        store_close(s.store);
        return 1;
    }
    char public_url[600];
    if (s.cfg.public_url[0])
        snprintf(public_url, sizeof public_url, "%s", s.cfg.public_url);
    else
        snprintf(public_url, sizeof public_url, "http://%s:%d", s.cfg.bind, s.cfg.port);
    sns_config snc = {.region = s.cfg.region,
                      .account = s.cfg.account_id,
                      .data_dir = s.cfg.data_dir,
                      .public_url = public_url};
    if (sns_create(&s.sns, s.loop, s.store, s.sqs, &snc) != 0) {
        log_error("cannot load the SNS state", NULL);
        sqs_shutdown(s.sqs);
        store_close(s.store);
        sqs_destroy(s.sqs);
        return 1;
    }
    if (events_create(&s.events, s.loop, s.store, s.sqs, s.sns, s.cfg.region, s.cfg.account_id) !=
        0) {
        log_error("cannot load the EventBridge state", NULL);
        sns_shutdown(s.sns);
        sqs_shutdown(s.sqs);
        store_close(s.store);
        sns_destroy(s.sns);
        sqs_destroy(s.sqs);
        return 1;
    }
    s.cred.access_key = s.cfg.access_key;
    s.cred.secret_key = s.cfg.secret_key;
    s.health.store = s.store;
    s.health.started_ms = clock_now_ms();
    s.health.durability = s.cfg.durability == STORE_DURABILITY_FULL ? "full" : "normal";
    s.router = router_create(s.cfg.access_key[0] ? &s.cred : NULL, s.cfg.access_key[0] ? 1 : 0,
                             health_handle, &s.health);
    router_add_service(s.router, sqs_service_def(s.sqs));
    router_add_service(s.router, events_service_def(s.events));
    router_add_service(s.router, sns_service_def(s.sns));
    router_add_get(s.router, SNS_GET_PREFIX, sns_handle_get, s.sns);

    http_server_config hc;
    http_server_config_defaults(&hc);
    hc.bind = s.cfg.bind;
    hc.port = s.cfg.port;
    hc.max_body_bytes = s.cfg.max_body_bytes;
    hc.max_connections = s.cfg.max_connections;
    hc.idle_timeout_ms = s.cfg.idle_timeout_ms;
    rc = http_server_start(&s.http, s.loop, &hc, router_handle, s.router);
    if (rc != 0) {
        log_error("cannot listen", "bind=%s port=%d err='%s'", s.cfg.bind, s.cfg.port,
                  uv_strerror(rc));
        events_shutdown(s.events);
        sns_shutdown(s.sns);
        sqs_shutdown(s.sqs);
        store_close(s.store);
        events_destroy(s.events);
        sns_destroy(s.sns);
        sqs_destroy(s.sqs);
        uv_run(s.loop, UV_RUN_NOWAIT);
        return 1;
    }
    s.health.http = s.http;
    uv_signal_init(s.loop, &s.sigint);
    uv_signal_init(s.loop, &s.sigterm);
    s.sigint.data = s.sigterm.data = &s;
    uv_signal_start(&s.sigint, on_signal, SIGINT);
    uv_signal_start(&s.sigterm, on_signal, SIGTERM);
    log_info("listening", "bind=%s port=%d data_dir=%s durability=%s sigv4=%s", s.cfg.bind,
             http_server_port(s.http), s.cfg.data_dir, s.health.durability,
             s.cfg.access_key[0] ? "verify" : "accept-any");

    uv_run(s.loop, UV_RUN_DEFAULT);
    http_server_destroy(s.http);
    router_destroy(s.router);
    uv_run(s.loop, UV_RUN_NOWAIT);
    uv_loop_close(s.loop);
    log_info("stopped", NULL);
    return 0;
}
