/* sluiced: the Sluice server.
 *
 * Start-up: configuration, the store (opened, migrated, its commit thread started), the
 * services (their state loaded from the store), the router, then the HTTP listener.
 * Shutdown on SIGINT/SIGTERM: answer long polls, stop accepting, let in-flight requests
 * finish (their commits included), then close the store and exit 0. */
#include "common/clock.h"
#include "common/log.h"
#include "delivery/mail.h"
#include "net/http_server.h"
#include "server/config.h"
#include "server/health.h"
#include "server/router.h"
#include "services/dynamodb/dynamodb.h"
#include "services/events/events.h"
#include "services/lambda/lambda.h"
#include "services/logs/logs.h"
#include "services/s3/s3.h"
#include "services/ses/ses.h"
#include "services/sns/sns.h"
#include "services/sqs/sqs.h"
#include "services/stepfunctions/stepfunctions.h"
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
    mailer *mail;
    events *events;
    dynamodb *dynamodb;
    sns *sns;
    ses *ses;
    lambda *lambda;
    logs *logs;
    s3 *s3;
    sfn *sfn;
    router *router;
    http_server *http;
    health_info health;
    sigv4_credential cred;
    char public_url[600];
    uv_signal_t sigint, sigterm;
    int stopping;
} server;

/* Shutdown, step 1, in the reverse order of start: answer long polls, stop timers and
 * dispatchers (what they have in flight stays due in the store). Safe on a partial start. */
static void services_shutdown(server *s)
{
    sfn_shutdown(s->sfn);
    s3_shutdown(s->s3);
    dynamodb_shutdown(s->dynamodb);
    lambda_shutdown(s->lambda);
    logs_shutdown(s->logs);
    events_shutdown(s->events);
    ses_shutdown(s->ses);
    sns_shutdown(s->sns);
    mailer_shutdown(s->mail);
    sqs_shutdown(s->sqs);
}

/* Shutdown, step 2, once the store completed its last op (store_close). */
static void services_destroy(server *s)
{
    sfn_destroy(s->sfn);
    s->sfn = NULL;
    s3_destroy(s->s3);
    s->s3 = NULL;
    dynamodb_destroy(s->dynamodb);
    s->dynamodb = NULL;
    lambda_destroy(s->lambda);
    s->lambda = NULL;
    logs_destroy(s->logs);
    s->logs = NULL;
    events_destroy(s->events);
    s->events = NULL;
    ses_destroy(s->ses);
    s->ses = NULL;
    sns_destroy(s->sns);
    s->sns = NULL;
    mailer_destroy(s->mail);
    s->mail = NULL;
    sqs_destroy(s->sqs);
    s->sqs = NULL;
}

/* Loads every service's state from the store, in dependency order. 0, or -1 (logged). */
static int services_create(server *s)
{
    char err[512];
    if (sqs_create(&s->sqs, s->loop, s->store, s->cfg.region, s->cfg.account_id) != 0) {
        log_error("cannot load the SQS state", NULL);
        return -1;
    }
    mailer_config mc = {.smtp_url = s->cfg.smtp_url,
                        .from = s->cfg.smtp_from,
                        .username = s->cfg.smtp_user,
                        .password = s->cfg.smtp_password,
                        .starttls = s->cfg.smtp_starttls,
                        .tls_no_verify = s->cfg.smtp_insecure,
                        .account = s->cfg.account_id};
    if (mailer_create(&s->mail, s->loop, s->store, s->sqs, &mc, err, sizeof err) != 0) {
        log_error("cannot start the mailer", "err='%s'", err);
        return -1;
    }
    sns_config snc = {.region = s->cfg.region,
                      .account = s->cfg.account_id,
                      .data_dir = s->cfg.data_dir,
                      .public_url = s->public_url,
                      .mail = s->mail,
                      .sms = {.gateway_url = s->cfg.sms_gateway_url,
                              .auth_header = s->cfg.sms_gateway_auth,
                              .body_template = s->cfg.sms_gateway_body,
                              .content_type = s->cfg.sms_gateway_content_type}};
    if (sns_create(&s->sns, s->loop, s->store, s->sqs, &snc) != 0) {
        log_error("cannot load the SNS state", NULL);
        return -1;
    }
    ses_config sec = {.region = s->cfg.region,
                      .account = s->cfg.account_id,
                      .verify = strcmp(s->cfg.ses_verify, "off") != 0,
                      .mail = s->mail};
    if (ses_create(&s->ses, s->loop, s->store, &sec) != 0) {
        log_error("cannot load the SES state", NULL);
        return -1;
    }
    if (events_create(&s->events, s->loop, s->store, s->sqs, s->sns, s->cfg.region,
                      s->cfg.account_id) != 0) {
        log_error("cannot load the EventBridge state", NULL);
        return -1;
    }
    if (dynamodb_create(&s->dynamodb, s->loop, s->store, s->cfg.region, s->cfg.account_id) != 0) {
        log_error("cannot load the DynamoDB state", NULL);
        return -1;
    }
    if (s3_create(&s->s3, s->loop, s->store, s->cfg.region, s->cfg.account_id) != 0) {
        log_error("cannot load the S3 state", NULL);
        return -1;
    }
    logs_config lgc = {.region = s->cfg.region,
                       .account = s->cfg.account_id,
                       .lambda_retention_days = s->cfg.lambda_log_retention_days};
    if (logs_create(&s->logs, s->loop, s->store, &lgc) != 0) {
        log_error("cannot start the CloudWatch Logs service", NULL);
        return -1;
    }
    lambda_config lc = {.region = s->cfg.region,
                        .account = s->cfg.account_id,
                        .data_dir = s->cfg.data_dir,
                        .public_url = s->public_url,
                        .access_key = s->cfg.access_key,
                        .secret_key = s->cfg.secret_key,
                        .runtimes_dir = s->cfg.lambda_runtimes_dir,
                        .idle_ms = s->cfg.lambda_idle_ms,
                        .concurrency = s->cfg.lambda_concurrency,
                        .queues = s->sqs,
                        .tables = s->dynamodb};
    if (lambda_create(&s->lambda, s->loop, s->store, &lc) != 0) {
        log_error("cannot load the Lambda state", NULL);
        return -1;
    }
    if (sfn_create(&s->sfn, s->loop, s->store, s->cfg.region, s->cfg.account_id, s->lambda) != 0) {
        log_error("cannot load the Step Functions state", NULL);
        return -1;
    }
    /* the services Step Functions' Task states call (aws-sdk ids) */
    sfn_set_max_in_memory(s->sfn, (size_t)s->cfg.sfn_max_in_memory);
    sfn_add_service(s->sfn, "sqs", sqs_service_def(s->sqs));
    sfn_add_service(s->sfn, "sns", sns_service_def(s->sns));
    sfn_add_service(s->sfn, "eventbridge", events_service_def(s->events));
    sfn_add_service(s->sfn, "dynamodb", dynamodb_service_def(s->dynamodb));
    sfn_add_service(s->sfn, "lambda", lambda_service_def(s->lambda));
    sfn_add_service(s->sfn, "ses", ses_service_def(s->ses));
    sfn_add_service(s->sfn, "sesv2", sesv2_service_def(s->ses));
    sfn_add_service(s->sfn, "s3", s3_service_def(s->s3));
    sfn_set_connections(s->sfn, s->events);
    events_set_workflows(s->events, sfn_service_def(s->sfn));
    lambda_set_bus(s->lambda, events_service_def(s->events));
    /* lambda subscriptions and EventBridge targets; asynchronous invocations' destinations */
    sns_set_lambda(s->sns, s->lambda);
    lambda_set_topics(s->lambda, s->sns);
    lambda_set_logs(s->lambda, s->logs);
    return 0;
}

static void routes_add(server *s)
{
    router_add_service(s->router, sqs_service_def(s->sqs));
    router_add_service(s->router, events_service_def(s->events));
    router_add_service(s->router, dynamodb_service_def(s->dynamodb));
    router_add_service(s->router, dynamodb_streams_service_def(s->dynamodb));
    router_add_service(s->router, sns_service_def(s->sns));
    router_add_get(s->router, SNS_GET_PREFIX, sns_handle_get, s->sns);
    router_add_service(s->router, ses_service_def(s->ses));
    router_add_service(s->router, sesv2_service_def(s->ses));
    router_add_get(s->router, MAIL_LOG_PATH, mailer_handle_get, s->mail);
    router_add_service(s->router, lambda_service_def(s->lambda));
    router_add_any(s->router, LAMBDA_HTTP_PREFIX, lambda_handle_http, s->lambda);
    router_add_service(s->router, logs_service_def(s->logs));
    router_add_service(s->router, sfn_service_def(s->sfn));
    router_add_service(s->router, s3_service_def(s->s3));
}

/* Stops what a failed start left running, then lets the loop close the handles. */
static int start_failed(server *s)
{
    services_shutdown(s);
    store_close(s->store);
    services_destroy(s);
    uv_run(s->loop, UV_RUN_NOWAIT);
    return 1;
}

static void on_drained(void *arg)
{
    server *s = arg;
    log_info("connections drained", "pending_commits=%zu", store_pending(s->store));
    store_close(s->store);
    s->store = NULL;
    services_destroy(s);
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
    services_shutdown(s);
    http_server_stop(s->http, on_drained, s);
}

/* Bodies larger than --max-body-bytes that AWS accepts: Lambda's function code (a 50 MB zip,
 * base64 in JSON) and payloads (6 MB, also as a worker's response), S3's objects (requests
 * signed for S3 carry x-amz-content-sha256), whatever the limit. */
static const http_body_limit body_limits[] = {
    {"/2015-03-31/functions", 70u << 20, NULL},
    {LAMBDA_HTTP_PREFIX, 8u << 20, NULL},
    {NULL, S3_MAX_REQUEST_BYTES, "x-amz-content-sha256"},
};

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
    if (s.cfg.public_url[0])
        snprintf(s.public_url, sizeof s.public_url, "%s", s.cfg.public_url);
    else
        snprintf(s.public_url, sizeof s.public_url, "http://%s:%d", s.cfg.bind, s.cfg.port);

    store_config sc = {.data_dir = s.cfg.data_dir, .durability = s.cfg.durability};
    if (store_open(&s.store, &sc, s.loop, err, sizeof err) != 0) {
        log_error("cannot open the store", "err='%s'", err);
        return 1;
    }
    if (services_create(&s) != 0)
        return start_failed(&s);
    s.cred.access_key = s.cfg.access_key;
    s.cred.secret_key = s.cfg.secret_key;
    s.health.store = s.store;
    s.health.sfn = s.sfn;
    s.health.started_ms = clock_now_ms();
    s.health.durability = s.cfg.durability == STORE_DURABILITY_FULL ? "full" : "normal";
    s.router = router_create(s.cfg.access_key[0] ? &s.cred : NULL, s.cfg.access_key[0] ? 1 : 0,
                             health_handle, &s.health);
    routes_add(&s);

    http_server_config hc;
    http_server_config_defaults(&hc);
    hc.bind = s.cfg.bind;
    hc.port = s.cfg.port;
    hc.max_body_bytes = s.cfg.max_body_bytes;
    hc.max_connections = s.cfg.max_connections;
    hc.idle_timeout_ms = s.cfg.idle_timeout_ms;
    hc.body_limits = body_limits;
    hc.nbody_limits = sizeof body_limits / sizeof body_limits[0];
    rc = http_server_start(&s.http, s.loop, &hc, router_handle, s.router);
    if (rc != 0) {
        log_error("cannot listen", "bind=%s port=%d err='%s'", s.cfg.bind, s.cfg.port,
                  uv_strerror(rc));
        router_destroy(s.router);
        return start_failed(&s);
    }
    s.health.http = s.http;
    lambda_set_port(s.lambda, http_server_port(s.http));
    uv_signal_init(s.loop, &s.sigint);
    uv_signal_init(s.loop, &s.sigterm);
    s.sigint.data = s.sigterm.data = &s;
    uv_signal_start(&s.sigint, on_signal, SIGINT);
    uv_signal_start(&s.sigterm, on_signal, SIGTERM);
    log_info("listening", "bind=%s port=%d data_dir=%s durability=%s sigv4=%s mail=%s", s.cfg.bind,
             http_server_port(s.http), s.cfg.data_dir, s.health.durability,
             s.cfg.access_key[0] ? "verify" : "accept-any",
             mailer_sends(s.mail) ? "smtp" : "log-only");

    uv_run(s.loop, UV_RUN_DEFAULT);
    http_server_destroy(s.http);
    router_destroy(s.router);
    uv_run(s.loop, UV_RUN_NOWAIT);
    uv_loop_close(s.loop);
    log_info("stopped", NULL);
    return 0;
}
