/* CloudWatch Logs filter patterns (the term syntax, see logs_filter.h).
 *
 * Compiling splits the pattern into terms, each a byte string with a role: required (plain),
 * optional (?term) or excluded (-term); a quoted term is taken literally, escapes removed.
 * Matching is then a substring search per term (memmem), stopping at the first term that
 * decides: cost O(terms x message), no allocation, no state, so the store's commit thread
 * may run it on every event a FilterLogEvents page examines. */
#include "services/logs/logs_filter.h"

#include "common/alloc.h"

#include <stdio.h>
#include <string.h>

#define MAX_TERMS 64

typedef enum { TERM_REQUIRED, TERM_OPTIONAL, TERM_EXCLUDED } term_role;

typedef struct term {
    term_role role;
    char *text;
    size_t len;
} term;

struct logs_filter {
    term terms[MAX_TERMS];
    size_t n;
    int has_optional;
};

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Reads a quoted term starting after its opening quote; *p ends after the closing one. */
static int read_quoted(const char **p, term *t)
{
    const char *s = *p;
    t->text = xmalloc(strlen(s) + 1);
    t->len = 0;
    for (; *s && *s != '"'; s++) {
        if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
            s++;
        t->text[t->len++] = *s;
    }
    t->text[t->len] = '\0';
    if (*s != '"')
        return -1;
    *p = s + 1;
    return 0;
}

static void read_bare(const char **p, term *t)
{
    const char *s = *p;
    while (*s && !is_blank(*s))
        s++;
    t->len = (size_t)(s - *p);
    t->text = xstrndup(*p, t->len);
    *p = s;
}

static int fail(logs_filter *f, char *err, size_t errlen, const char *why)
{
    snprintf(err, errlen, "Invalid filter pattern: %s", why);
    logs_filter_free(f);
    return -1;
}

int logs_filter_compile(const char *pattern, logs_filter **out, char *err, size_t errlen)
{
    *out = NULL;
    logs_filter *f = xcalloc(1, sizeof *f);
    const char *p = pattern ? pattern : "";
    while (is_blank(*p))
        p++;
    if (*p == '{' || *p == '[' || *p == '%')
        return fail(f, err, errlen,
                    "JSON, space-delimited and regular-expression patterns are not supported");
    while (*p) {
        if (f->n == MAX_TERMS)
            return fail(f, err, errlen, "too many terms");
        term *t = &f->terms[f->n];
        t->role = TERM_REQUIRED;
        if (*p == '?' || *p == '-') {
            t->role = *p == '?' ? TERM_OPTIONAL : TERM_EXCLUDED;
            p++;
        }
        if (*p == '"') {
            p++;
            int bad = read_quoted(&p, t);
            f->n++;
            if (bad)
                return fail(f, err, errlen, "a quoted term is not closed");
            if (*p && !is_blank(*p))
                return fail(f, err, errlen, "a quoted term must be followed by a space");
        } else {
            read_bare(&p, t);
            f->n++;
        }
        if (t->len == 0)
            return fail(f, err, errlen, "empty term");
        if (t->role == TERM_OPTIONAL)
            f->has_optional = 1;
        while (is_blank(*p))
            p++;
    }
    if (f->n == 0) { /* matches everything: no filter at all */
        logs_filter_free(f);
        return 0;
    }
    *out = f;
    return 0;
}

int logs_filter_match(const logs_filter *f, const char *msg, size_t len)
{
    if (!f)
        return 1;
    int any_optional = 0;
    for (size_t i = 0; i < f->n; i++) {
        const term *t = &f->terms[i];
        int found = memmem(msg, len, t->text, t->len) != NULL;
        if (t->role == TERM_REQUIRED && !found)
            return 0;
        if (t->role == TERM_EXCLUDED && found)
            return 0;
        if (t->role == TERM_OPTIONAL && found)
            any_optional = 1;
    }
    return !f->has_optional || any_optional;
}

void logs_filter_free(logs_filter *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++)
        xfree(f->terms[i].text);
    xfree(f);
}
