/* Configuration: one table of settings, each reachable as a flag (--name), an environment
 * variable (SLUICE_NAME) and a config-file line (name = value). */
#include "server/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { K_STR, K_INT, K_SIZE, K_DURABILITY, K_LOGLEVEL, K_MS } kind;

typedef struct setting {
    const char *flag; /* without "--" */
    const char *env;
    kind kind;
    size_t offset;
    size_t cap; /* K_STR: buffer size */
    long long min, max;
    const char *help;
} setting;

#define STR(field, flag, env, help)                                                                \
    {                                                                                              \
        flag, env, K_STR, offsetof(config, field), sizeof(((config *)0)->field), 0, 0, help        \
    }

static const setting settings[] = {
    STR(bind, "bind", "SLUICE_BIND", "address to listen on (default 127.0.0.1)"),
    {"port", "SLUICE_PORT", K_INT, offsetof(config, port), 0, 0, 65535,
     "TCP port (default 4566; 0 picks a free one)"},
    STR(data_dir, "data-dir", "SLUICE_DATA_DIR",
        "directory of the embedded store (default ./data)"),
    STR(region, "region", "SLUICE_REGION", "AWS region of ARNs (default us-east-1)"),
    STR(account_id, "account-id", "SLUICE_ACCOUNT_ID", "AWS account id (default 000000000000)"),
    {"durability", "SLUICE_DURABILITY", K_DURABILITY, offsetof(config, durability), 0, 0, 0,
     "full (sync every commit, default) or normal (the OS syncs)"},
    {"log-level", "SLUICE_LOG_LEVEL", K_LOGLEVEL, offsetof(config, log_level), 0, 0, 0,
     "debug, info (default), warn or error"},
    {"max-body-bytes", "SLUICE_MAX_BODY_BYTES", K_SIZE, offsetof(config, max_body_bytes), 0, 1024,
     1LL << 30, "largest request body accepted (default 4194304)"},
    {"max-connections", "SLUICE_MAX_CONNECTIONS", K_INT, offsetof(config, max_connections), 0, 1,
     1000000, "connection cap (default 10000)"},
    {"idle-timeout-ms", "SLUICE_IDLE_TIMEOUT_MS", K_MS, offsetof(config, idle_timeout_ms), 0, 100,
     86400000, "close idle keep-alive connections after this (default 60000)"},
    STR(access_key, "access-key", "SLUICE_ACCESS_KEY_ID",
        "verify SigV4 signatures made with this access key (default: accept any)"),
    STR(secret_key, "secret-key", "SLUICE_SECRET_ACCESS_KEY", "the secret of --access-key"),
    STR(public_url, "public-url", "SLUICE_PUBLIC_URL",
        "base of the URLs sluiced hands out (SNS certificate, subscribe and unsubscribe links; "
        "default http://BIND:PORT)"),
    STR(smtp_url, "smtp-url", "SLUICE_SMTP_URL",
        "SMTP server mail is sent through: smtp://HOST:PORT or smtps://HOST:PORT (default: none, "
        "mail is only kept at /_sluice/ses/messages)"),
    STR(smtp_from, "smtp-from", "SLUICE_SMTP_FROM",
        "sender of SNS mail and envelope sender by default (default no-reply@sns.sluice.local)"),
    STR(smtp_user, "smtp-user", "SLUICE_SMTP_USER", "SMTP AUTH user name (default: no AUTH)"),
    STR(smtp_password, "smtp-password", "SLUICE_SMTP_PASSWORD", "SMTP AUTH password"),
    STR(smtp_starttls, "smtp-starttls", "SLUICE_SMTP_STARTTLS",
        "STARTTLS on smtp:// URLs: off, try (default) or required"),
    {"smtp-insecure", "SLUICE_SMTP_INSECURE", K_INT, offsetof(config, smtp_insecure), 0, 0, 1,
     "1: accept any certificate from the SMTP server (test servers only; default 0)"},
    STR(ses_verify, "ses-verify", "SLUICE_SES_VERIFY",
        "on (default): SES refuses to send from unverified identities, as its sandbox does; off"),
    STR(sms_gateway_url, "sms-gateway-url", "SLUICE_SMS_GATEWAY_URL",
        "HTTP(S) SMS gateway SMS is POSTed to (default: none, SMS is only logged)"),
    STR(sms_gateway_auth, "sms-gateway-auth", "SLUICE_SMS_GATEWAY_AUTH",
        "a header sent to the gateway, e.g. 'Authorization: Bearer TOKEN' (default none)"),
    STR(sms_gateway_body, "sms-gateway-body", "SLUICE_SMS_GATEWAY_BODY",
        "request body template; {{phone}}, {{sender}}, {{message}}, {{type}}, {{id}} are "
        "replaced, escaped for the content type (default a JSON object of them)"),
    STR(sms_gateway_content_type, "sms-gateway-content-type", "SLUICE_SMS_GATEWAY_CONTENT_TYPE",
        "content type of the body (default application/json)"),
    {"lambda-idle-ms", "SLUICE_LAMBDA_IDLE_MS", K_MS, offsetof(config, lambda_idle_ms), 0, 100,
     86400000, "stop a function's idle worker after this (default 600000)"},
    {"lambda-concurrency", "SLUICE_LAMBDA_CONCURRENCY", K_INT, offsetof(config, lambda_concurrency),
     0, 1, 100000, "server-wide cap on concurrently running function workers (default 64)"},
    {"lambda-log-retention-days", "SLUICE_LAMBDA_LOG_RETENTION_DAYS", K_INT,
     offsetof(config, lambda_log_retention_days), 0, 0, 3653,
     "days the log groups made for functions keep their events; 0: forever (default 7)"},
    {"sfn-max-in-memory", "SLUICE_SFN_MAX_IN_MEMORY", K_INT, offsetof(config, sfn_max_in_memory), 0,
     10, 10000000,
     "Step Functions executions the loader keeps in memory at most; the others wait in the "
     "store (default 20000)"},
    STR(lambda_runtimes_dir, "lambda-runtimes-dir", "SLUICE_LAMBDA_RUNTIMES_DIR",
        "directory of the python/ and nodejs/ bootstraps (default: found next to sluiced)"),
};
#define NSETTINGS (sizeof settings / sizeof settings[0])

void config_defaults(config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->bind, sizeof c->bind, "127.0.0.1");
    c->port = 4566;
    snprintf(c->data_dir, sizeof c->data_dir, "./data");
    snprintf(c->region, sizeof c->region, "us-east-1");
    snprintf(c->account_id, sizeof c->account_id, "000000000000");
    c->durability = STORE_DURABILITY_FULL;
    c->log_level = LOG_INFO;
    c->max_body_bytes = 4 * 1024 * 1024;
    c->max_connections = 10000;
    c->idle_timeout_ms = 60000;
    snprintf(c->smtp_from, sizeof c->smtp_from, "no-reply@sns.sluice.local");
    snprintf(c->smtp_starttls, sizeof c->smtp_starttls, "try");
    snprintf(c->ses_verify, sizeof c->ses_verify, "on");
    snprintf(c->sms_gateway_body, sizeof c->sms_gateway_body,
             "{\"to\":\"{{phone}}\",\"from\":\"{{sender}}\",\"text\":\"{{message}}\","
             "\"type\":\"{{type}}\",\"id\":\"{{id}}\"}");
    snprintf(c->sms_gateway_content_type, sizeof c->sms_gateway_content_type, "application/json");
    c->lambda_idle_ms = 600000;
    c->lambda_concurrency = 64;
    c->lambda_log_retention_days = 7; /* LOGS_LAMBDA_RETENTION_DEFAULT */
    c->sfn_max_in_memory = 20000;
}

static int apply(config *c, const setting *s, const char *value, char *err, size_t errlen)
{
    char *field = (char *)c + s->offset;
    char *end;
    long long n;
    switch (s->kind) {
    case K_STR:
        if (strlen(value) >= s->cap) {
            snprintf(err, errlen, "%s: value too long", s->flag);
            return -1;
        }
        snprintf(field, s->cap, "%s", value);
        return 0;
    case K_INT:
    case K_SIZE:
    case K_MS:
        errno = 0;
        n = strtoll(value, &end, 10);
        if (errno || end == value || *end || n < s->min || n > s->max) {
            snprintf(err, errlen, "%s: expected an integer from %lld to %lld, got '%s'", s->flag,
                     s->min, s->max, value);
            return -1;
        }
        if (s->kind == K_INT)
            *(int *)field = (int)n;
        else if (s->kind == K_SIZE)
            *(size_t *)field = (size_t)n;
        else
            *(uint64_t *)field = (uint64_t)n;
        return 0;
    case K_DURABILITY:
        if (strcmp(value, "full") == 0)
            *(store_durability *)field = STORE_DURABILITY_FULL;
        else if (strcmp(value, "normal") == 0)
            *(store_durability *)field = STORE_DURABILITY_NORMAL;
        else {
            snprintf(err, errlen, "durability: expected full or normal, got '%s'", value);
            return -1;
        }
        return 0;
    case K_LOGLEVEL:
        if (log_parse_level(value, (log_level *)field) != 0) {
            snprintf(err, errlen, "log-level: expected debug, info, warn or error, got '%s'",
                     value);
            return -1;
        }
        return 0;
    }
    return -1;
}

static const setting *find_flag(const char *name, size_t len)
{
    for (size_t i = 0; i < NSETTINGS; i++)
        if (strlen(settings[i].flag) == len && strncmp(settings[i].flag, name, len) == 0)
            return &settings[i];
    return NULL;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

static int load_file(config *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot open config file %s: %s", path, strerror(errno));
        return -1;
    }
    char line[2048];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        char *l = trim(line);
        if (*l == '\0' || *l == '#')
            continue;
        char *eq = strchr(l, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%d: expected 'name = value'", path, lineno);
            rc = -1;
            break;
        }
        *eq = '\0';
        char *name = trim(l), *value = trim(eq + 1);
        size_t vlen = strlen(value);
        if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
            value[vlen - 1] = '\0';
            value++;
        }
        const setting *s = find_flag(name, strlen(name));
        if (!s) {
            snprintf(err, errlen, "%s:%d: unknown setting '%s'", path, lineno, name);
            rc = -1;
            break;
        }
        rc = apply(c, s, value, err, errlen);
    }
    fclose(f);
    return rc;
}

void config_usage(FILE *out)
{
    fprintf(out, "usage: sluiced [options]\n\n"
                 "  --config FILE         read settings from FILE (name = value lines; env "
                 "SLUICE_CONFIG)\n");
    for (size_t i = 0; i < NSETTINGS; i++) {
        char flag[64];
        snprintf(flag, sizeof flag, "--%s %s", settings[i].flag,
                 settings[i].kind == K_STR ? "S" : "N");
        fprintf(out, "  %-21s %s (env %s)\n", flag, settings[i].help, settings[i].env);
    }
    fprintf(out, "  --help                this text\n  --version             print the version\n");
}

static int one_of(const char *v, const char *a, const char *b, const char *c)
{
    return strcmp(v, a) == 0 || strcmp(v, b) == 0 || strcmp(v, c) == 0;
}

int config_load(config *c, int argc, char **argv, char *err, size_t errlen)
{
    const char *file = getenv("SLUICE_CONFIG");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            config_usage(stdout);
            return 1;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("sluiced %s\n", SLUICE_VERSION);
            return 1;
        }
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            file = argv[i + 1];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            file = argv[i] + 9;
    }
    if (file && *file && load_file(c, file, err, errlen) != 0)
        return -1;
    for (size_t i = 0; i < NSETTINGS; i++) {
        const char *v = getenv(settings[i].env);
        if (v && apply(c, &settings[i], v, err, errlen) != 0)
            return -1;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            snprintf(err, errlen, "unexpected argument '%s' (see --help)", a);
            return -1;
        }
        a += 2;
        const char *eq = strchr(a, '=');
        size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
        const char *value;
        if (nlen == 6 && strncmp(a, "config", 6) == 0) {
            if (!eq)
                i++;
            continue;
        }
        const setting *s = find_flag(a, nlen);
        if (!s) {
            snprintf(err, errlen, "unknown option '--%.*s' (see --help)", (int)nlen, a);
            return -1;
        }
        if (eq) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            snprintf(err, errlen, "option '--%s' needs a value", s->flag);
            return -1;
        }
        if (apply(c, s, value, err, errlen) != 0)
            return -1;
    }
    if (c->access_key[0] && !c->secret_key[0]) {
        snprintf(err, errlen, "--access-key needs --secret-key");
        return -1;
    }
    if (!one_of(c->smtp_starttls, "off", "try", "required")) {
        snprintf(err, errlen, "smtp-starttls: expected off, try or required, got '%s'",
                 c->smtp_starttls);
        return -1;
    }
    if (!one_of(c->ses_verify, "on", "off", "off")) {
        snprintf(err, errlen, "ses-verify: expected on or off, got '%s'", c->ses_verify);
        return -1;
    }
    return 0;
}
