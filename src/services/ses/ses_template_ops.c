/* Templates: CreateTemplate, UpdateTemplate, GetTemplate, DeleteTemplate, ListTemplates and
 * TestRenderTemplate, and the rendering every templated send goes through. The Handlebars
 * engine is ses_template.c; this file keeps the templates (one stored document each,
 * SES_NS_TEMPLATE keyed by name: {"TemplateName", "SubjectPart", "TextPart", "HtmlPart",
 * "CreatedMs"}) and applies SES's rules around it: names of 1 to 64 letters, digits, '-' and
 * '_'; at most 500 KB of parts; every part's syntax checked when the template is stored;
 * TemplateData a JSON object of at most 256 KiB. */
#include "services/ses/ses_internal.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/mime.h"
#include "services/ses/ses_template.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_DEFAULT            10
#define LIST_MAX                100
#define MAX_TEMPLATE_DATA       262144
#define RENDER_PLACEHOLDER_FROM "render@test.invalid"

/* ---- the store of templates ----------------------------------------------------------- */

ses_tmpl *ses_tmpl_find(const ses *s, const char *name)
{
    for (ses_tmpl *t = s->templates; t && name; t = t->next)
        if (strcmp(t->name, name) == 0)
            return t;
    return NULL;
}

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static void tmpl_set(ses_tmpl *t, const char *subject, const char *text, const char *html)
{
    xfree(t->subject);
    xfree(t->text);
    xfree(t->html);
    t->subject = dup_or_null(subject);
    t->text = dup_or_null(text);
    t->html = dup_or_null(html);
}

static ses_tmpl *link_tmpl(ses *s, const char *name, int64_t created_ms)
{
    ses_tmpl *t = xcalloc(1, sizeof *t);
    t->name = xstrdup(name);
    t->created_ms = created_ms;
    ses_tmpl **pp = &s->templates;
    while (*pp && strcmp((*pp)->name, name) < 0)
        pp = &(*pp)->next;
    t->next = *pp;
    *pp = t;
    s->ntemplates++;
    return t;
}

static void tmpl_free(ses_tmpl *t)
{
    tmpl_set(t, NULL, NULL, NULL);
    xfree(t->name);
    xfree(t);
}

static int valid_name(const char *n)
{
    size_t len = n ? strlen(n) : 0;
    if (len == 0 || len > SES_MAX_TEMPLATE_NAME)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)n[i]) && n[i] != '-' && n[i] != '_')
            return 0;
    return 1;
}

static int check_part(const char *what, const char *text, ses_error *e)
{
    char err[256];
    if (text && ses_template_validate(text, strlen(text), err, sizeof err) != 0)
        return ses_fail(e, SES_E_TEMPLATE_INVALID, "%s is invalid: %s", what, err);
    return 0;
}

int ses_tmpl_put(ses *s, const char *name, const char *subject, const char *text, const char *html,
                 int create, ses_tmpl **out, ses_error *e)
{
    if (!name || !*name)
        return ses_fail(e, SES_E_INVALID, "Template name is required.");
    if (!valid_name(name))
        return ses_fail(e, SES_E_INVALID,
                        "Template name %s is invalid: it must be 1 to %d characters of letters, "
                        "digits, '-' and '_'.",
                        name, SES_MAX_TEMPLATE_NAME);
    ses_tmpl *t = ses_tmpl_find(s, name);
    if (create && t)
        return ses_fail(e, SES_E_ALREADY_EXISTS, "Template %s already exists.", name);
    if (!create && !t)
        return ses_fail(e, SES_E_TEMPLATE_MISSING, "Template %s does not exist.", name);
    if (create && s->ntemplates >= SES_MAX_TEMPLATES)
        return ses_fail(e, SES_E_LIMIT, "Maximum number of templates (%d) exceeded.",
                        SES_MAX_TEMPLATES);
    size_t size =
        (subject ? strlen(subject) : 0) + (text ? strlen(text) : 0) + (html ? strlen(html) : 0);
    if (size > SES_MAX_TEMPLATE_BYTES)
        return ses_fail(e, SES_E_INVALID, "Template size is larger than the limit of %d bytes.",
                        SES_MAX_TEMPLATE_BYTES);
    if (check_part("SubjectPart", subject, e) != 0 || check_part("TextPart", text, e) != 0 ||
        check_part("HtmlPart", html, e) != 0)
        return -1;
    if (!t)
        t = link_tmpl(s, name, clock_now_ms());
    tmpl_set(t, subject, text, html);
    *out = t;
    return 0;
}

int ses_tmpl_remove(ses *s, const char *name)
{
    for (ses_tmpl **pp = &s->templates; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->name, name) == 0) {
            ses_tmpl *t = *pp;
            *pp = t->next;
            tmpl_free(t);
            s->ntemplates--;
            return 0;
        }
    }
    return -1;
}

json_t *ses_tmpl_doc(const ses_tmpl *t)
{
    json_t *d =
        json_pack("{s:s, s:I}", "TemplateName", t->name, "CreatedMs", (json_int_t)t->created_ms);
    if (t->subject)
        json_object_set_new(d, "SubjectPart", json_string(t->subject));
    if (t->text)
        json_object_set_new(d, "TextPart", json_string(t->text));
    if (t->html)
        json_object_set_new(d, "HtmlPart", json_string(t->html));
    return d;
}

void ses_tmpl_restore(const char *key, const char *doc, void *arg)
{
    json_t *d = json_loads(doc, 0, NULL);
    const char *name = json_string_value(json_object_get(d, "TemplateName"));
    if (!name) {
        log_warn("unreadable SES template document skipped", "key=%s", key);
    } else {
        ses_tmpl *t = link_tmpl(arg, name, json_integer_value(json_object_get(d, "CreatedMs")));
        tmpl_set(t, json_string_value(json_object_get(d, "SubjectPart")),
                 json_string_value(json_object_get(d, "TextPart")),
                 json_string_value(json_object_get(d, "HtmlPart")));
    }
    json_decref(d);
}

void ses_templates_free(ses *s)
{
    while (s->templates) {
        ses_tmpl *t = s->templates;
        s->templates = t->next;
        tmpl_free(t);
    }
    s->ntemplates = 0;
}

/* ---- rendering ------------------------------------------------------------------------ */

json_t *ses_template_data(const char *text, ses_error *e)
{
    if (!text) {
        ses_fail(e, SES_E_INVALID, "TemplateData is required.");
        return NULL;
    }
    if (strlen(text) > MAX_TEMPLATE_DATA) {
        ses_fail(e, SES_E_INVALID, "TemplateData is longer than %d characters.", MAX_TEMPLATE_DATA);
        return NULL;
    }
    json_error_t jerr;
    json_t *d = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (!d) {
        ses_fail(e, SES_E_RENDERING_PARAM, "Template data is not valid JSON: %s", jerr.text);
        return NULL;
    }
    if (!json_is_object(d)) {
        json_decref(d);
        ses_fail(e, SES_E_RENDERING_PARAM, "Template data must be a JSON object.");
        return NULL;
    }
    return d;
}

static int render_part(const char *text, const json_t *data, int html, buf *out, int *has,
                       ses_error *e)
{
    if (!text)
        return 0;
    char err[512];
    int rc = ses_template_render(text, strlen(text), data, html, out, err, sizeof err);
    if (rc == SES_TEMPLATE_OK) {
        *has = 1;
        return 0;
    }
    ses_errkind kind = rc == SES_TEMPLATE_MISSING    ? SES_E_MISSING_ATTRIBUTE
                       : rc == SES_TEMPLATE_BAD_DATA ? SES_E_RENDERING_PARAM
                                                     : SES_E_TEMPLATE_INVALID;
    return ses_fail(e, kind, "%s", err);
}

int ses_render(const ses_tmpl *t, const json_t *data, ses_rendered *out, ses_error *e)
{
    memset(out, 0, sizeof *out);
    int has_subject = 0;
    if (render_part(t->subject, data, 0, &out->subject, &has_subject, e) != 0 ||
        render_part(t->text, data, 0, &out->text, &out->has_text, e) != 0 ||
        render_part(t->html, data, 1, &out->html, &out->has_html, e) != 0)
        return -1;
    buf_putc(&out->subject, '\0'); /* the subject is used as a C string */
    out->subject.len--;
    return 0;
}

void ses_rendered_free(ses_rendered *r)
{
    buf_free(&r->subject);
    buf_free(&r->text);
    buf_free(&r->html);
}

/* Drops the From field mime_build had to write (a rendered template has no sender yet). */
static void drop_from(buf *m)
{
    const char *p = m->data;
    size_t n = m->len;
    for (size_t i = 0; i + 5 < n; i++) {
        if ((i == 0 || p[i - 1] == '\n') && strncmp(p + i, "From:", 5) == 0) {
            size_t end = i;
            do { /* the field and its continuation lines */
                while (end < n && p[end] != '\n')
                    end++;
                end++;
            } while (end < n && (p[end] == ' ' || p[end] == '\t'));
            memmove(m->data + i, m->data + end, n - end);
            m->len -= end - i;
            return;
        }
        if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n' && i + 2 < n && p[i + 2] == '\r')
            return; /* the end of the header */
    }
}

int ses_test_render(ses *s, const char *name, const char *data, buf *out, ses_error *e)
{
    if (!name || !*name)
        return ses_fail(e, SES_E_INVALID, "TemplateName is required.");
    const ses_tmpl *t = ses_tmpl_find(s, name);
    if (!t)
        return ses_fail(e, SES_E_TEMPLATE_MISSING, "Template %s does not exist.", name);
    json_t *d = ses_template_data(data, e);
    if (!d)
        return -1;
    ses_rendered r;
    int rc = ses_render(t, d, &r, e);
    json_decref(d);
    if (rc == 0) {
        mime_message m = {
            .from = RENDER_PLACEHOLDER_FROM,
            .subject = r.subject.data,
            .text = r.has_text ? (r.text.data ? r.text.data : "") : NULL,
            .text_len = r.text.len,
            .html = r.has_html ? (r.html.data ? r.html.data : "") : NULL,
            .html_len = r.html.len,
        };
        const char *why = NULL;
        buf msg = BUF_INIT;
        if (mime_build(&msg, &m, &why) != 0) {
            rc = ses_fail(e, SES_E_TEMPLATE_INVALID,
                          "The rendered template is not a valid "
                          "message: %s",
                          why ? why : "");
        } else {
            drop_from(&msg);
            buf_append(out, msg.data, msg.len);
        }
        buf_free(&msg);
    }
    ses_rendered_free(&r);
    return rc;
}

/* ---- SES v1 handlers ------------------------------------------------------------------ */

static void put_template(aws_call *call, int create)
{
    json_t *in = json_object_get(call->input, "Template");
    const char *name = json_string_value(json_object_get(in, "TemplateName"));
    ses_tmpl *t;
    ses_error e;
    if (ses_tmpl_put(ses_of(call), name, json_string_value(json_object_get(in, "SubjectPart")),
                     json_string_value(json_object_get(in, "TextPart")),
                     json_string_value(json_object_get(in, "HtmlPart")), create, &t, &e) != 0) {
        ses_reply_v1_error(call, &e);
        return;
    }
    json_t *doc = ses_tmpl_doc(t);
    ses_persist_doc(ses_of(call), call, NULL, SES_NS_TEMPLATE, t->name, doc);
    json_decref(doc);
}

void ses_create_template_v1(aws_call *call)
{
    put_template(call, 1);
}

void ses_update_template_v1(aws_call *call)
{
    put_template(call, 0);
}

void ses_get_template_v1(aws_call *call)
{
    const char *name = ses_str(call, "TemplateName");
    ses_tmpl *t = ses_tmpl_find(ses_of(call), name);
    if (!t) {
        aws_reply_error(call, AWS_ERR_SES_TEMPLATE_DOES_NOT_EXIST, "Template %s does not exist.",
                        name ? name : "");
        return;
    }
    json_t *doc = ses_tmpl_doc(t);
    json_object_del(doc, "CreatedMs");
    aws_reply(call, json_pack("{s:o}", "Template", doc));
}

void ses_delete_template_v1(aws_call *call)
{
    ses *s = ses_of(call);
    const char *name = ses_str(call, "TemplateName");
    if (!name || ses_tmpl_remove(s, name) != 0) { /* nothing to delete: success, as on AWS */
        aws_reply(call, NULL);
        return;
    }
    ses_persist_doc(s, call, NULL, SES_NS_TEMPLATE, name, NULL);
}

void ses_list_templates_v1(aws_call *call)
{
    ses *s = ses_of(call);
    const char *after = ses_str(call, "NextToken");
    json_t *mi = json_object_get(call->input, "MaxItems");
    json_int_t max = json_is_integer(mi) ? json_integer_value(mi) : LIST_DEFAULT;
    if (max < 1) /* as documented: at least 1 (else the default), more than 100 is 100 */
        max = LIST_DEFAULT;
    if (max > LIST_MAX)
        max = LIST_MAX;
    const ses_tmpl *t = s->templates;
    while (t && after && *after && strcmp(t->name, after) <= 0)
        t = t->next;
    json_t *list = json_array();
    for (; t && (json_int_t)json_array_size(list) < max; t = t->next)
        json_array_append_new(list, json_pack("{s:s, s:f}", "Name", t->name, "CreatedTimestamp",
                                              (double)t->created_ms / 1000.0));
    json_t *out = json_pack("{s:o}", "TemplatesMetadata", list);
    if (t) /* the last name listed: the next page starts after it */
        json_object_set(out, "NextToken",
                        json_object_get(json_array_get(list, json_array_size(list) - 1), "Name"));
    aws_reply(call, out);
}

void ses_test_render_template_v1(aws_call *call)
{
    buf out = BUF_INIT;
    ses_error e;
    if (ses_test_render(ses_of(call), ses_str(call, "TemplateName"), ses_str(call, "TemplateData"),
                        &out, &e) != 0) {
        buf_free(&out);
        ses_reply_v1_error(call, &e);
        return;
    }
    aws_reply(call, json_pack("{s:s%}", "RenderedTemplate", out.data ? out.data : "", out.len));
    buf_free(&out);
}
