/* Email addresses as SES takes them: "local@domain" or "Display Name <local@domain>", with
 * the local part in 7-bit ASCII (SES does not support SMTPUTF8) and the domain in ASCII
 * (Punycode). Also the little of RFC 5322 that SendRawEmail needs: reading a header field
 * of a message and the addresses of an address list (with quoted names, comments and
 * groups). The messages of the errors are the ones SES returns. */
#include "services/ses/ses_internal.h"

#include "common/alloc.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static void trim(const char **s, size_t *n)
{
    while (*n && isspace((unsigned char)**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n && isspace((unsigned char)(*s)[*n - 1]))
        (*n)--;
}

int ses_domain_ok(const char *d)
{
    size_t n = strlen(d), label = 0;
    if (n == 0 || n > 253 || d[0] == '.' || d[n - 1] == '.' || d[0] == '-')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = d[i];
        if (c == '.') {
            if (label == 0 || d[i - 1] == '-')
                return 0;
            label = 0;
            continue;
        }
        if (!(isalnum((unsigned char)c) || c == '-') || ++label > 63)
            return 0;
        if (c == '-' && label == 1)
            return 0;
    }
    return 1;
}

/* Checks a bare address (n bytes). 0, or -1 with SES's message. */
static int bare_ok(const char *a, size_t n, ses_error *e)
{
    const char *at = memrchr(a, '@', n);
    if (!at || at == a + n - 1)
        return ses_fail(e, SES_E_INVALID, "Missing final '@domain'");
    if (at == a)
        return ses_fail(e, SES_E_INVALID, "Missing local name");
    for (const char *p = a; p < at; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= 0x20 || c == 0x7f)
            return ses_fail(e, SES_E_INVALID, "Local address contains control or whitespace");
        if (c >= 0x80)
            return ses_fail(e, SES_E_INVALID, "Local address contains non-ASCII characters");
        if (strchr("<>,;\"()[]\\@", c))
            return ses_fail(e, SES_E_INVALID, "Local address contains illegal character");
    }
    char dom[256];
    size_t dn = (size_t)(a + n - at - 1);
    if (dn >= sizeof dom)
        return ses_fail(e, SES_E_INVALID, "Illegal address");
    memcpy(dom, at + 1, dn);
    dom[dn] = '\0';
    if (!ses_domain_ok(dom))
        return ses_fail(e, SES_E_INVALID, "Domain contains illegal character");
    return 0;
}

int ses_address_parse(const char *in, char *out, size_t cap, ses_error *e)
{
    if (!in)
        return ses_fail(e, SES_E_INVALID, "Illegal address");
    if (strpbrk(in, "\r\n"))
        return ses_fail(e, SES_E_INVALID, "Illegal address");
    const char *s = in;
    size_t n = strlen(in);
    trim(&s, &n);
    if (n && s[n - 1] == '>') {
        const char *lt = memrchr(s, '<', n);
        if (!lt)
            return ses_fail(e, SES_E_INVALID, "Illegal address");
        const char *gt = s + n - 1;
        s = lt + 1;
        n = (size_t)(gt - s);
        trim(&s, &n);
    }
    if (n == 0)
        return ses_fail(e, SES_E_INVALID, "Missing final '@domain'");
    if (bare_ok(s, n, e) != 0)
        return -1;
    if (n >= cap)
        return ses_fail(e, SES_E_INVALID, "Illegal address");
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

/* ---- raw messages --------------------------------------------------------------------- */

char *ses_header_get(const char *msg, size_t n, const char *name)
{
    size_t nl = strlen(name);
    size_t i = 0;
    while (i < n) {
        size_t eol = i;
        while (eol < n && msg[eol] != '\n')
            eol++;
        size_t len = eol - i;
        if (len && msg[i + len - 1] == '\r')
            len--;
        if (len == 0)
            return NULL; /* the end of the header */
        if (len > nl && msg[i + nl] == ':' && strncasecmp(msg + i, name, nl) == 0) {
            buf v = BUF_INIT;
            buf_append(&v, msg + i + nl + 1, len - nl - 1);
            /* continuation lines start with white space */
            size_t j = eol + 1;
            while (j < n && (msg[j] == ' ' || msg[j] == '\t')) {
                size_t e2 = j;
                while (e2 < n && msg[e2] != '\n')
                    e2++;
                size_t l2 = e2 - j;
                if (l2 && msg[j + l2 - 1] == '\r')
                    l2--;
                buf_append(&v, msg + j, l2);
                j = e2 + 1;
            }
            buf_putc(&v, '\0');
            return buf_steal(&v, NULL);
        }
        i = eol + 1;
    }
    return NULL;
}

/* One mailbox of a list (s, n: its text, a display name and comments included). */
static int add_mailbox(const char *s, size_t n, json_t *out)
{
    trim(&s, &n);
    if (n == 0)
        return 0; /* an empty element of a list ("a@b, , c@d") */
    char *copy = xstrndup(s, n);
    char addr[320];
    ses_error e;
    int rc = ses_address_parse(copy, addr, sizeof addr, &e);
    xfree(copy);
    if (rc != 0)
        return -1;
    json_array_append_new(out, json_string(addr));
    return 0;
}

int ses_address_list(const char *v, size_t n, json_t *out)
{
    int quoted = 0, depth = 0, angle = 0;
    buf cur = BUF_INIT; /* the current mailbox without its comments */
    int rc = 0;
    for (size_t i = 0; i <= n && rc == 0; i++) {
        char c = i < n ? v[i] : ',';
        if (quoted) {
            if (c == '\\' && i + 1 < n)
                buf_putc(&cur, v[i++]);
            else if (c == '"')
                quoted = 0;
            buf_putc(&cur, c);
            continue;
        }
        if (depth) { /* a comment: dropped */
            if (c == '(')
                depth++;
            else if (c == ')')
                depth--;
            continue;
        }
        if (c == '(') {
            depth = 1;
            continue;
        }
        if (c == '"')
            quoted = 1;
        if (c == '<')
            angle = 1;
        if (c == '>')
            angle = 0;
        if (c == ':' && !angle) { /* a group's name: its members follow */
            buf_reset(&cur);
            continue;
        }
        if ((c == ',' || c == ';') && !angle) {
            rc = add_mailbox(cur.data ? cur.data : "", cur.len, out);
            buf_reset(&cur);
            continue;
        }
        buf_putc(&cur, c);
    }
    buf_free(&cur);
    return rc;
}
