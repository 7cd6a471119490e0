/* The SES service: email identities, templates and sending (SES v1, AWS Query 2010-12-01),
 * with real delivery through the mailer (src/delivery/mail.h): every accepted send is a
 * durable mail before the caller is answered, sent to --smtp-url, retried on temporary
 * failures and counted in the sending statistics. */
#ifndef SLUICE_SES_H
#define SLUICE_SES_H

#include "protocol/aws.h"
#include "store/store.h"

#include <uv.h>

typedef struct ses ses;
struct mailer;

typedef struct ses_config {
    const char *region, *account;
    int verify;          /* 1: only verified identities may send (SES's sandbox rule) */
    struct mailer *mail; /* mail goes out through it; SES registers as its owner "ses" */
} ses_config;

/* Creates the service, loading its identities, templates and statistics from the store
 * (synchronously: call before serving). Borrows everything. 0, or -1 (logged). */
int ses_create(ses **out, uv_loop_t *loop, store *st, const ses_config *cfg);
/* SES v1 (AWS Query, Version 2010-12-01). */
const aws_service_def *ses_service_def(const ses *s);
/* SES v2 (REST-JSON, /v2/email/...): the same templates, identities and sending. */
const aws_service_def *sesv2_service_def(const ses *s);
void ses_shutdown(ses *s);
/* After the store closed. Accepts NULL. */
void ses_destroy(ses *s);

#endif
