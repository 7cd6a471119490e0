/* SES email templates: the Handlebars subset SES renders SubjectPart, TextPart and HtmlPart
 * with (SendTemplatedEmail, SendBulkTemplatedEmail, TestRenderTemplate, SES v2 SendEmail and
 * SendBulkEmail with a Template).
 *
 * What is supported, as Handlebars defines it:
 *   {{path}} {{{path}}} {{&path}}   a value; paths are a.b.c or a/b, this, ., this.x, ./x, ../x,
 *                                   [segment literal], @root.x, @index, @key, @first, @last
 *   {{#if x}} {{else}} {{else if y}} {{/if}}, {{#unless x}}, {{#each x}} (arrays and objects,
 *   with `as |item idx|` block params), {{#with x}}, {{#x}} / {{^x}} sections,
 *   {{lookup obj key}}, {{log ...}}, {{! c }} {{!-- c --}}, {{#*inline "p"}}..{{/inline}} with
 *   {{> p}} / {{> p ctx key=value}}, \{{ escapes, ~ whitespace control and standalone lines.
 *
 * SES's own rules, where it differs from stock Handlebars:
 *   - Nothing is HTML-escaped: AWS documents that SES does not escape HTML content, so {{x}} and
 *     {{{x}}} render alike in every part.
 *   - A value mustache whose path resolves to nothing ({{name}} with no `name`) fails the render
 *     with MissingRenderingAttribute, "Attribute 'name' is not present in the rendering data."
 *     (a null value is present and renders as nothing). A mustache or block with parameters whose
 *     head is not a built-in helper fails the same way, naming the head ({{IF x}} -> 'IF'), as
 *     SES does. Parameters of helpers may be missing: {{#if x}} is how templates test presence.
 *   - A partial that is not defined inline fails with InvalidTemplate.
 *
 * Not supported (refused as SES_TEMPLATE_INVALID): sub-expressions `(helper ...)`, raw blocks
 * `{{{{raw}}}}`, decorators other than *inline, @../index.
 *
 * Values print as Handlebars.js prints them: strings as-is, numbers in JavaScript's shortest
 * form (1.0 -> "1", 1e21 -> "1e+21"), booleans as true/false, null as nothing, arrays as their
 * elements joined by ",", objects as "[object Object]".
 *
 * Work is bounded: block nesting at most SES_TEMPLATE_MAX_DEPTH, partial calls and blocks
 * together at most SES_TEMPLATE_MAX_RENDER_DEPTH deep, at most SES_TEMPLATE_MAX_STEPS
 * evaluation steps and SES_TEMPLATE_MAX_OUTPUT bytes of output per render. */
#ifndef SLUICE_SES_TEMPLATE_H
#define SLUICE_SES_TEMPLATE_H

#include "common/buf.h"

#include <jansson.h>
#include <stddef.h>

typedef enum {
    SES_TEMPLATE_OK = 0,
    SES_TEMPLATE_INVALID = -1,  /* syntax or limits: InvalidTemplate */
    SES_TEMPLATE_MISSING = -2,  /* MissingRenderingAttribute */
    SES_TEMPLATE_BAD_DATA = -3, /* TemplateData not a JSON object: InvalidRenderingParameter */
} ses_template_status;

#define SES_TEMPLATE_MAX_DEPTH        64
#define SES_TEMPLATE_MAX_RENDER_DEPTH 128
#define SES_TEMPLATE_MAX_STEPS        4000000
#define SES_TEMPLATE_MAX_OUTPUT       (10u * 1024 * 1024)

/* Checks a template part's syntax (CreateTemplate/UpdateTemplate): 0, or SES_TEMPLATE_INVALID
 * with a message naming the line in err. text is borrowed; it need not be NUL-terminated. */
int ses_template_validate(const char *text, size_t n, char *err, size_t errlen);

/* Renders text (n bytes, borrowed) with data (a JSON object, borrowed) and appends the result
 * to out. html says whether this is the HtmlPart; SES renders every part the same way (no
 * escaping), so it changes nothing today and is kept so callers need not change if that does.
 * Returns 0, or a negative ses_template_status with AWS's message in err; on error out holds
 * what it held before the call. */
int ses_template_render(const char *text, size_t n, const json_t *data, int html, buf *out,
                        char *err, size_t errlen);

/* The AWS error code for a status ("InvalidTemplate", "MissingRenderingAttribute",
 * "InvalidRenderingParameter"), or NULL for SES_TEMPLATE_OK. */
const char *ses_template_error_code(int status);

#endif
