/* application/x-www-form-urlencoded parsing (AWS Query requests). */
#ifndef SLUICE_PROTOCOL_FORM_H
#define SLUICE_PROTOCOL_FORM_H

#include "common/buf.h"

#include <stddef.h>

typedef struct form_pair {
    char *name; /* decoded, NUL-terminated */
    size_t name_len;
    char *value; /* decoded, NUL-terminated (may contain NULs: use value_len) */
    size_t value_len;
} form_pair;

typedef struct form {
    form_pair *pairs;
    size_t npairs;
} form;

/* Parses `len` bytes of `s` ('+' is a space, %XX escapes). Returns 0, or -1 on a malformed
 * escape or more than `max_pairs` pairs. On success the caller frees with form_free. */
int form_parse(form *out, const char *s, size_t len, size_t max_pairs);
void form_free(form *f);
/* First value of `name`, or NULL. */
const form_pair *form_get(const form *f, const char *name);
/* Appends s percent-encoded: everything but RFC 3986's unreserved characters. */
void form_put_escaped(buf *out, const char *s);

#endif
