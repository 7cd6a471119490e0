/* Identities: the email addresses and domains SES may send from (VerifyEmailIdentity,
 * VerifyEmailAddress, VerifyDomainIdentity, ListIdentities,
 * GetIdentityVerificationAttributes, DeleteIdentity, and the old ListVerifiedEmailAddresses
 * and DeleteVerifiedEmailAddress).
 *
 * Design decision: an identity is verified the moment it is created (VerificationStatus
 * "Success"). On AWS an address is verified by clicking a link mailed to it and a domain by
 * publishing a TXT record; a self-hosted server has no inbox to click and no DNS to watch,
 * and the point of verification here is the sandbox rule, not proving ownership. A domain
 * still gets a VerificationToken (random, kept across repeated calls) so that code which
 * publishes it keeps working.
 *
 * With verification on (--ses-verify on, the default) a send is refused with
 * MessageRejected unless its sender's address is an identity, or its domain (or a parent
 * domain: SES lets a verified domain's subdomains send) is one. Off, anyone may send.
 *
 * Each identity is one stored document (SES_NS_IDENTITY, keyed by its name in lower case):
 * {"Name", "Type": "EmailAddress" | "Domain", "Token", "CreatedMs"}. */
#include "services/ses/ses_internal.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/log.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LIST_MAX 1000
#define GET_MAX  100

/* ---- the core ------------------------------------------------------------------------- */

ses_identity *ses_identity_find(const ses *s, const char *name)
{
    for (ses_identity *id = s->identities; id; id = id->next)
        if (strcasecmp(id->name, name) == 0)
            return id;
    return NULL;
}

static void lower_key(const char *name, char *out, size_t cap)
{
    size_t i = 0;
    for (; name[i] && i + 1 < cap; i++)
        out[i] = (char)tolower((unsigned char)name[i]);
    out[i] = '\0';
}

static ses_identity *link_identity(ses *s, const char *name, int domain, const char *token,
                                   int64_t created_ms)
{
    ses_identity *id = xcalloc(1, sizeof *id);
    id->name = xstrdup(name);
    id->domain = domain;
    id->token = token ? xstrdup(token) : NULL;
    id->created_ms = created_ms;
    ses_identity **pp = &s->identities;
    while (*pp && strcasecmp((*pp)->name, name) < 0)
        pp = &(*pp)->next;
    id->next = *pp;
    *pp = id;
    s->nidentities++;
    return id;
}

static void identity_free(ses_identity *id)
{
    xfree(id->name);
    xfree(id->token);
    xfree(id);
}

/* 32 random bytes in base64: the shape of SES's domain verification tokens. */
static void new_token(char out[48])
{
    unsigned char raw[32];
    for (size_t i = 0; i < sizeof raw; i += 8) {
        uint64_t r = ids_random64();
        memcpy(raw + i, &r, 8);
    }
    EVP_EncodeBlock((unsigned char *)out, raw, sizeof raw);
}

int ses_identity_add(ses *s, const char *name, int domain, ses_identity **out, ses_error *e)
{
    char addr[320];
    if (!name || !*name)
        return ses_fail(e, SES_E_INVALID,
                        domain ? "Domain is required." : "Email address is required.");
    if (domain) {
        if (strlen(name) >= sizeof addr || !ses_domain_ok(name))
            return ses_fail(e, SES_E_INVALID, "Invalid domain name %s.", name);
        snprintf(addr, sizeof addr, "%s", name);
    } else {
        ses_error why;
        if (ses_address_parse(name, addr, sizeof addr, &why) != 0 || strcmp(addr, name) != 0)
            return ses_fail(e, SES_E_INVALID, "Invalid email address <%s>.", name);
    }
    ses_identity *id = ses_identity_find(s, addr);
    if (id && id->domain == domain) {
        *out = id;
        return 0;
    }
    if (id)
        return ses_fail(e, SES_E_INVALID, "Identity %s already exists with another type.", addr);
    if (s->nidentities >= SES_MAX_IDENTITIES)
        return ses_fail(e, SES_E_LIMIT, "Maximum number of identities (%d) exceeded.",
                        SES_MAX_IDENTITIES);
    char token[48] = "";
    if (domain)
        new_token(token);
    *out = link_identity(s, addr, domain, domain ? token : NULL, clock_now_ms());
    return 1;
}

int ses_identity_remove(ses *s, const char *name)
{
    for (ses_identity **pp = &s->identities; *pp; pp = &(*pp)->next) {
        if (strcasecmp((*pp)->name, name) == 0) {
            ses_identity *id = *pp;
            *pp = id->next;
            identity_free(id);
            s->nidentities--;
            return 0;
        }
    }
    return -1;
}

json_t *ses_identity_doc(const ses_identity *id)
{
    json_t *d =
        json_pack("{s:s, s:s, s:I}", "Name", id->name, "Type",
                  id->domain ? "Domain" : "EmailAddress", "CreatedMs", (json_int_t)id->created_ms);
    if (id->token)
        json_object_set_new(d, "Token", json_string(id->token));
    return d;
}

void ses_identity_restore(const char *key, const char *doc, void *arg)
{
    json_t *d = json_loads(doc, 0, NULL);
    const char *name = json_string_value(json_object_get(d, "Name"));
    const char *type = json_string_value(json_object_get(d, "Type"));
    if (!name || !type) {
        log_warn("unreadable SES identity document skipped", "key=%s", key);
    } else {
        link_identity(arg, name, strcmp(type, "Domain") == 0,
                      json_string_value(json_object_get(d, "Token")),
                      json_integer_value(json_object_get(d, "CreatedMs")));
    }
    json_decref(d);
}

void ses_identities_free(ses *s)
{
    while (s->identities) {
        ses_identity *id = s->identities;
        s->identities = id->next;
        identity_free(id);
    }
    s->nidentities = 0;
}

/* Whether addr's domain, or one of its parent domains, is a verified domain. */
static int domain_verified(const ses *s, const char *domain)
{
    for (const char *d = domain; d; d = strchr(d, '.') ? strchr(d, '.') + 1 : NULL) {
        ses_identity *id = ses_identity_find(s, d);
        if (id && id->domain)
            return 1;
    }
    return 0;
}

int ses_check_senders(const ses *s, const char *const *addrs, size_t n, ses_error *e)
{
    if (!s->verify)
        return 0;
    buf failed = BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        const char *a = addrs[i];
        const char *at = strrchr(a, '@');
        ses_identity *id = ses_identity_find(s, a);
        if ((id && !id->domain) || (at && domain_verified(s, at + 1)))
            continue;
        buf_printf(&failed, "%s%s", failed.len ? ", " : "", a);
    }
    int rc = 0;
    if (failed.len) {
        char region[64];
        size_t i = 0;
        for (; s->region[i] && i + 1 < sizeof region; i++)
            region[i] = (char)toupper((unsigned char)s->region[i]);
        region[i] = '\0';
        rc = ses_fail(e, SES_E_REJECTED,
                      "Email address is not verified. The following identities failed the check "
                      "in region %s: %.*s",
                      region, (int)failed.len, failed.data);
    }
    buf_free(&failed);
    return rc;
}

/* ---- SES v1 handlers ------------------------------------------------------------------ */

static void persist_identity(aws_call *call, const ses_identity *id, json_t *reply)
{
    char key[320];
    lower_key(id->name, key, sizeof key);
    json_t *doc = ses_identity_doc(id);
    ses_persist_doc(ses_of(call), call, reply, SES_NS_IDENTITY, key, doc);
    json_decref(doc);
}

static void verify(aws_call *call, const char *param, int domain)
{
    ses_identity *id;
    ses_error e;
    int rc = ses_identity_add(ses_of(call), ses_str(call, param), domain, &id, &e);
    if (rc < 0) {
        ses_reply_v1_error(call, &e);
        return;
    }
    json_t *reply = domain ? json_pack("{s:s}", "VerificationToken", id->token) : NULL;
    if (rc == 1)
        persist_identity(call, id, reply);
    else
        aws_reply(call, reply);
}

void ses_verify_email_identity_v1(aws_call *call)
{
    verify(call, "EmailAddress", 0);
}

void ses_verify_email_address_v1(aws_call *call)
{
    verify(call, "EmailAddress", 0);
}

void ses_verify_domain_identity_v1(aws_call *call)
{
    verify(call, "Domain", 1);
}

static void delete_identity(aws_call *call, const char *name)
{
    ses *s = ses_of(call);
    if (!name || !*name) {
        aws_reply_error(call, AWS_ERR_INVALID_PARAMETER_VALUE, "Identity is required.");
        return;
    }
    if (ses_identity_remove(s, name) != 0) { /* deleting what is not there succeeds */
        aws_reply(call, NULL);
        return;
    }
    char key[320];
    lower_key(name, key, sizeof key);
    ses_persist_doc(s, call, NULL, SES_NS_IDENTITY, key, NULL);
}

void ses_delete_identity_v1(aws_call *call)
{
    delete_identity(call, ses_str(call, "Identity"));
}

void ses_delete_verified_email_address_v1(aws_call *call)
{
    delete_identity(call, ses_str(call, "EmailAddress"));
}

void ses_list_identities_v1(aws_call *call)
{
    ses *s = ses_of(call);
    const char *type = ses_str(call, "IdentityType");
    const char *after = ses_str(call, "NextToken");
    json_t *mi = json_object_get(call->input, "MaxItems");
    json_int_t max = json_is_integer(mi) ? json_integer_value(mi) : LIST_MAX;
    if (type && strcmp(type, "EmailAddress") != 0 && strcmp(type, "Domain") != 0) {
        aws_reply_error(call, AWS_ERR_INVALID_PARAMETER_VALUE,
                        "Invalid IdentityType %s: expected EmailAddress or Domain.", type);
        return;
    }
    if (max < 1 || max > LIST_MAX) {
        aws_reply_error(call, AWS_ERR_INVALID_PARAMETER_VALUE, "MaxItems must be between 1 and %d.",
                        LIST_MAX);
        return;
    }
    int want_domain = type && strcmp(type, "Domain") == 0;
    json_t *list = json_array();
    const ses_identity *id = s->identities;
    while (id && after && *after && strcasecmp(id->name, after) <= 0)
        id = id->next;
    const ses_identity *last = NULL;
    for (; id; id = id->next) {
        if (type && id->domain != want_domain)
            continue;
        if ((json_int_t)json_array_size(list) == max)
            break;
        json_array_append_new(list, json_string(id->name));
        last = id;
    }
    json_t *out = json_pack("{s:o}", "Identities", list);
    if (id && last)
        json_object_set_new(out, "NextToken", json_string(last->name));
    aws_reply(call, out);
}

void ses_get_identity_verification_attributes_v1(aws_call *call)
{
    ses *s = ses_of(call);
    json_t *names = json_object_get(call->input, "Identities");
    if (json_array_size(names) > GET_MAX) {
        aws_reply_error(call, AWS_ERR_INVALID_PARAMETER_VALUE,
                        "At most %d identities can be asked for at once.", GET_MAX);
        return;
    }
    json_t *attrs = json_object();
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v)
    {
        const char *name = json_string_value(v);
        ses_identity *id = name ? ses_identity_find(s, name) : NULL;
        if (!id) /* unknown identities are left out, as SES leaves them */
            continue;
        json_t *a = json_pack("{s:s}", "VerificationStatus", "Success");
        if (id->token)
            json_object_set_new(a, "VerificationToken", json_string(id->token));
        json_object_set_new(attrs, name, a);
    }
    aws_reply(call, json_pack("{s:o}", "VerificationAttributes", attrs));
}

void ses_list_verified_email_addresses_v1(aws_call *call)
{
    ses *s = ses_of(call);
    json_t *list = json_array();
    for (ses_identity *id = s->identities; id; id = id->next)
        if (!id->domain)
            json_array_append_new(list, json_string(id->name));
    aws_reply(call, json_pack("{s:o}", "VerifiedEmailAddresses", list));
}
