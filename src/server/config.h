/* sluiced's configuration: defaults, then a config file (--config FILE or SLUICE_CONFIG),
 * then SLUICE_* environment variables, then command-line flags (later wins). */
#ifndef SLUICE_SERVER_CONFIG_H
#define SLUICE_SERVER_CONFIG_H

#include "common/log.h"
#include "store/store.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct config {
    char bind[64];
    int port;
    char data_dir[1024];
    char region[64];
    char account_id[32];
    store_durability durability;
    log_level log_level;
    size_t max_body_bytes;
    unsigned max_connections;
    uint64_t idle_timeout_ms;
    char access_key[128]; /* when set, SigV4 signatures are verified */
    char secret_key[128];
    char public_url[512]; /* base of URLs handed out (SNS SigningCertURL, SubscribeURL...);
                           * "" = http://BIND:PORT */
    /* Outbound mail (SNS email subscriptions, SES): "" smtp_url = log only, send nothing */
    char smtp_url[512];
    char smtp_from[256];
    char smtp_user[256];
    char smtp_password[256];
    char smtp_starttls[16]; /* off | try | required */
    int smtp_insecure;      /* 1: accept any TLS certificate of the SMTP server */
    char ses_verify[8];     /* on: SES refuses unverified senders (the sandbox); off */
    /* SMS (SNS sms subscriptions, Publish to PhoneNumber): "" url = log only */
    char sms_gateway_url[512];
    char sms_gateway_auth[512];         /* a header line sent with each request, or "" */
    char sms_gateway_body[1024];        /* request body template ({{phone}}, {{message}}...) */
    char sms_gateway_content_type[128]; /* of that body */
    /* Lambda workers */
    uint64_t lambda_idle_ms;        /* an idle worker is stopped after this */
    unsigned lambda_concurrency;    /* server-wide cap on running workers */
    int lambda_log_retention_days;  /* of the log groups made for functions; 0: forever */
    char lambda_runtimes_dir[1024]; /* bootstraps; "" = found next to sluiced */
    /* Step Functions */
    int sfn_max_in_memory; /* the loader's cap on executions in memory */
} config;

void config_defaults(config *c);
/* Applies file, environment and flags. Returns 0; 1 if --help/--version was printed;
 * -1 with a message in err on a bad value or unknown flag. */
int config_load(config *c, int argc, char **argv, char *err, size_t errlen);
void config_usage(FILE *out);

#endif
