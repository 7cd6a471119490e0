/* Input, InputPath and InputTransformer: the checks PutTargets makes and the rendering done
 * at delivery (the rules, as AWS states them, are in events_input.h).
 *
 * Paths are read step by step from their text each time they are used: they are at most
 * 256 bytes, so a compiled form would save nothing worth its bookkeeping. Evaluation is
 * breadth-first over a set of borrowed nodes: each step replaces every node of the set by
 * the child it names (a wildcard: by all its children), so there is no recursion however
 * many wildcards a path has, and the set never holds a node twice (a node has one parent), so
 * it never outgrows the event. A path without wildcards names at most one node, so it is
 * walked directly, as it is read, without the set.
 *
 * Templates are rendered in one left-to-right scan that copies literal text in runs and
 * tracks one bit of state: whether the scan is inside a JSON string literal (a '"' that no
 * backslash escapes toggles it). That bit alone decides how a placeholder renders, so the
 * template is never parsed as JSON: AWS renders string templates and malformed JSON alike,
 * and its output need not be valid JSON (it does not escape values it puts inside strings).
 * A placeholder is '<', one or more bytes other than '<', '>', '"' and white space, then
 * '>'. AWS documents that '<' and '>' cannot be escaped, so every such span is a placeholder
 * and PutTargets refuses one whose name it does not know. */
#include "services/events/events_input.h"

#include "common/alloc.h"
#include "protocol/json_codec.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Predefined placeholders -------------------------------------------------------------- */

enum {
    PRE_NONE,
    PRE_RULE_ARN,
    PRE_RULE_NAME,
    PRE_INGESTION_TIME,
    PRE_EVENT,
    PRE_EVENT_JSON,
};

static const struct {
    const char *name;
    int json_only; /* AWS takes it only in a template that is a JSON object */
} predefined[] = {
    [PRE_RULE_ARN] = {"aws.events.rule-arn", 0},
    [PRE_RULE_NAME] = {"aws.events.rule-name", 0},
    [PRE_INGESTION_TIME] = {"aws.events.event.ingestion-time", 0},
    [PRE_EVENT] = {"aws.events.event", 1},
    [PRE_EVENT_JSON] = {"aws.events.event.json", 1},
};

static int predefined_find(const char *name, size_t n)
{
    for (int i = PRE_RULE_ARN; i <= PRE_EVENT_JSON; i++)
        if (strlen(predefined[i].name) == n && memcmp(predefined[i].name, name, n) == 0)
            return i;
    return PRE_NONE;
}

/* ---- Small helpers ------------------------------------------------------------------------ */

/* A member that is absent or JSON null is not set (the JSON protocols treat both alike). */
static const json_t *member(const json_t *obj, const char *name)
{
    const json_t *v = json_object_get(obj, name);
    return json_is_null(v) ? NULL : v;
}

/* Length as the service model counts it: UTF-16 code units. */
static size_t utf16_len(const char *s, size_t n)
{
    size_t units = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c & 0xc0) != 0x80)
            units += c >= 0xf0 ? 2 : 1;
    }
    return units;
}

static int json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* A template AWS treats as JSON ("surrounded by curly braces"). */
static int template_is_object(const char *t)
{
    while (json_space(*t))
        t++;
    return *t == '{';
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* " for target t1" when the target is known, "" when it is not. */
static void for_target(char *out, size_t outlen, const char *target_id)
{
    if (target_id)
        snprintf(out, outlen, " for target %s", target_id);
    else
        out[0] = '\0';
}

/* ---- Paths -------------------------------------------------------------------------------- */

typedef enum { STEP_KEY, STEP_INDEX, STEP_ALL } step_kind;

typedef struct step {
    step_kind kind;
    const char *key;
    size_t keylen;
    size_t index; /* saturates at SIZE_MAX: such an index never matches */
} step;

/* Bytes a dot-notation name may hold. The documented set is letters, digits, '-', '_' and
 * '/'; other printable bytes are let through (event keys such as "aws:cloudformation:stack"
 * exist), but not those that mean something else in JSONPath. */
static int name_byte(unsigned char c)
{
    switch (c) {
    case '.':
    case '[':
    case ']':
    case '*':
    case '\'':
    case '"':
    case '(':
    case ')':
    case '?':
    case ',':
        return 0;
    default:
        return c > ' ' && c != 0x7f;
    }
}

/* Reads the step at *pp: 1 (and advances) if there is one, 0 at the end of the path, -1 if
 * the text there is not a step. */
static int next_step(const char **pp, step *st)
{
    const char *p = *pp;
    if (*p == '\0')
        return 0;
    if (*p == '.') {
        p++;
        if (*p == '*') {
            st->kind = STEP_ALL;
            *pp = p + 1;
            return 1;
        }
        const char *start = p;
        while (name_byte((unsigned char)*p))
            p++;
        if (p == start)
            return -1;
        st->kind = STEP_KEY;
        st->key = start;
        st->keylen = (size_t)(p - start);
        *pp = p;
        return 1;
    }
    if (*p == '[') {
        p++;
        if (p[0] == '*' && p[1] == ']') {
            st->kind = STEP_ALL;
            *pp = p + 2;
            return 1;
        }
        if (*p < '0' || *p > '9')
            return -1;
        size_t v = 0;
        for (; *p >= '0' && *p <= '9'; p++)
            v = v > (SIZE_MAX - 9) / 10 ? SIZE_MAX : v * 10 + (size_t)(*p - '0');
        if (*p != ']')
            return -1;
        st->kind = STEP_INDEX;
        st->index = v;
        *pp = p + 1;
        return 1;
    }
    return -1;
}

/* 0 if path is valid, -1 if not. */
static int path_check(const char *path)
{
    if (!path || path[0] != '$')
        return -1;
    const char *p = path + 1;
    step st;
    int r;
    while ((r = next_step(&p, &st)) == 1)
        ;
    return r;
}

typedef struct nodeset {
    const json_t **v;
    size_t n, cap;
} nodeset;

static void nodeset_add(nodeset *s, const json_t *v)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 8;
        s->v = xrealloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = v;
}

/* The child a key or index step names, or NULL. */
static const json_t *step_child(const json_t *node, const step *st)
{
    if (st->kind == STEP_KEY)
        return json_is_object(node) ? json_object_getn(node, st->key, st->keylen) : NULL;
    if (st->kind == STEP_INDEX && json_is_array(node) && st->index < json_array_size(node))
        return json_array_get(node, st->index);
    return NULL;
}

static void step_apply(const json_t *node, const step *st, nodeset *next)
{
    if (st->kind != STEP_ALL) {
        const json_t *child = step_child(node, st);
        if (child)
            nodeset_add(next, child);
    } else if (json_is_array(node)) {
        for (size_t i = 0; i < json_array_size(node); i++)
            nodeset_add(next, json_array_get(node, i));
    } else if (json_is_object(node)) {
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)node, k, x)
        {
            nodeset_add(next, x);
        }
    }
}

/* A path with a wildcard: the array of its matches, or NULL if the path is not valid. */
static json_t *select_all(const json_t *root, const char *path)
{
    nodeset cur = {0}, next = {0};
    nodeset_add(&cur, root);
    const char *p = path + 1;
    step st;
    int r;
    while ((r = next_step(&p, &st)) == 1) {
        next.n = 0;
        for (size_t i = 0; i < cur.n; i++)
            step_apply(cur.v[i], &st, &next);
        nodeset t = cur;
        cur = next;
        next = t;
    }
    json_t *result = NULL;
    if (r == 0) {
        result = json_array();
        for (size_t i = 0; i < cur.n; i++)
            json_array_append(result, (json_t *)cur.v[i]);
    }
    xfree(cur.v);
    xfree(next.v);
    return result;
}

/* A new reference to what path selects in root: with a wildcard, an array of the matches
 * (in document order, possibly empty); without, the one match. NULL if the path is not valid
 * or (without a wildcard) matches nothing. The path is read once while it is walked, and the
 * walk starts over as a set only when a wildcard turns up. */
static json_t *path_select(const json_t *root, const char *path)
{
    if (!root || !path || path[0] != '$')
        return NULL;
    const char *p = path + 1;
    const json_t *node = root;
    step st;
    int r;
    while ((r = next_step(&p, &st)) == 1) {
        if (st.kind == STEP_ALL)
            return select_all(root, path);
        if (node)
            node = step_child(node, &st);
    }
    return r == 0 && node ? json_incref((json_t *)node) : NULL;
}

/* ---- Rendering values --------------------------------------------------------------------- */

/* Appends JSON text with its quotes removed, as AWS does to an object or array placed inside
 * a string: string delimiters and escaped quotes go, other escapes stay as they are (they
 * are still valid inside the enclosing string). */
static void put_unquoted(buf *out, const char *s, size_t n)
{
    size_t run = 0, i = 0;
    while (i < n) {
        if (s[i] == '"' || (s[i] == '\\' && i + 1 < n && s[i + 1] == '"')) {
            buf_append(out, s + run, i - run);
            i += s[i] == '"' ? 1 : 2;
            run = i;
        } else {
            i += s[i] == '\\' && i + 1 < n ? 2 : 1;
        }
    }
    buf_append(out, s + run, n - run);
}

/* One value where a placeholder stood: v is NULL when its path matched nothing. */
static void put_value(buf *out, const json_t *v, int in_string)
{
    if (!v) {
        if (!in_string)
            buf_puts(out, "\"\"");
        return;
    }
    if (!in_string) {
        jsonc_dump(out, v);
        return;
    }
    if (json_is_string(v)) {
        buf_append(out, json_string_value(v), json_string_length(v));
    } else if (json_is_object(v) || json_is_array(v)) {
        buf tmp = BUF_INIT;
        jsonc_dump(&tmp, v);
        put_unquoted(out, tmp.data, tmp.len);
        buf_free(&tmp);
    } else {
        jsonc_dump(out, v);
    }
}

static void put_text(buf *out, const char *s, int in_string)
{
    if (!s)
        s = "";
    if (in_string)
        buf_puts(out, s);
    else
        jsonc_put_string_lossy(out, s, strlen(s));
}

/* The event as the target would receive it whole. */
static void put_event_json(const events_input_ctx *ctx, buf *out, int in_string)
{
    buf tmp = BUF_INIT;
    const char *s = ctx->event_json;
    size_t n = ctx->event_len;
    if (!s || n == 0) {
        jsonc_dump(&tmp, ctx->event);
        s = tmp.data;
        n = tmp.len;
    }
    if (in_string)
        put_unquoted(out, s, n);
    else
        buf_append(out, s, n);
    buf_free(&tmp);
}

/* <aws.events.event>: the event's envelope without `detail`, built as AWS builds it (these
 * members in this order, `detail-type` named `detailType`). */
static json_t *event_envelope(const json_t *event)
{
    static const char *const from[] = {"id",     "account", "detail-type", "time",
                                       "source", "region",  "resources",   "version"};
    static const char *const to[] = {"id",     "account", "detailType", "time",
                                     "source", "region",  "resources",  "version"};
    json_t *o = json_object();
    for (size_t i = 0; i < sizeof from / sizeof from[0]; i++) {
        json_t *v = json_object_get(event, from[i]);
        if (v)
            json_object_set(o, to[i], v);
    }
    return o;
}

/* ---- Templates ---------------------------------------------------------------------------- */

/* If a placeholder starts at t[i] (a '<'), the length of its name; else 0. */
static size_t placeholder_at(const char *t, size_t i)
{
    size_t j = i + 1;
    while (t[j] && t[j] != '<' && t[j] != '>' && t[j] != '"' && !json_space(t[j]))
        j++;
    return t[j] == '>' && j > i + 1 ? j - i - 1 : 0;
}

typedef int (*placeholder_fn)(void *arg, const char *name, size_t n, int in_string);

/* Walks the template; literal text goes to out (if not NULL), each placeholder to fn. Stops
 * at the first negative return of fn and returns it. */
static int scan_template(const char *t, buf *out, placeholder_fn fn, void *arg)
{
    int in_string = 0;
    size_t i = 0, run = 0;
    while (t[i]) {
        char c = t[i];
        if (c == '<') {
            size_t n = placeholder_at(t, i);
            if (n) {
                if (out)
                    buf_append(out, t + run, i - run);
                int r = fn(arg, t + i + 1, n, in_string);
                if (r < 0)
                    return r;
                i += n + 2;
                run = i;
                continue;
            }
        } else if (in_string && c == '\\' && (t[i + 1] == '"' || t[i + 1] == '\\')) {
            i += 2;
            continue;
        } else if (c == '"') {
            in_string = !in_string;
        }
        i++;
    }
    if (out)
        buf_append(out, t + run, i - run);
    return 0;
}

typedef struct render_state {
    const events_input_ctx *ctx;
    const json_t *paths_map;
    buf *out;
} render_state;

static int render_placeholder(void *arg, const char *name, size_t n, int in_string)
{
    render_state *rs = arg;
    const events_input_ctx *ctx = rs->ctx;
    json_t *v;
    switch (predefined_find(name, n)) {
    case PRE_RULE_ARN:
        put_text(rs->out, ctx->rule_arn, in_string);
        return 0;
    case PRE_RULE_NAME:
        put_text(rs->out, ctx->rule_name, in_string);
        return 0;
    case PRE_INGESTION_TIME:
        put_text(rs->out, ctx->ingestion_time, in_string);
        return 0;
    case PRE_EVENT:
        v = event_envelope(ctx->event);
        put_value(rs->out, v, in_string);
        json_decref(v);
        return 0;
    case PRE_EVENT_JSON:
        put_event_json(ctx, rs->out, in_string);
        return 0;
    default:
        break;
    }
    const json_t *path = rs->paths_map ? json_object_getn(rs->paths_map, name, n) : NULL;
    if (!json_is_string(path)) {
        buf_append(rs->out, name - 1, n + 2);
        return 0;
    }
    v = path_select(ctx->event, json_string_value(path));
    put_value(rs->out, v, in_string);
    json_decref(v);
    return 0;
}

int events_input_render_transformer(const events_input_ctx *ctx, const json_t *paths_map,
                                    const char *template, buf *out)
{
    if (!ctx || !ctx->event || !template)
        return -1;
    render_state rs = {ctx, paths_map, out};
    return scan_template(template, out, render_placeholder, &rs);
}

int events_input_render_path(const events_input_ctx *ctx, const char *path, buf *out)
{
    if (!ctx || !ctx->event || !path)
        return -1;
    if (strcmp(path, "$") == 0) {
        put_event_json(ctx, out, 0);
        return 0;
    }
    json_t *v = path_select(ctx->event, path);
    if (!v)
        return -1;
    jsonc_dump(out, v);
    json_decref(v);
    return 0;
}

/* ---- Service-model constraints ------------------------------------------------------------ */

static void violation(buf *list, int *count)
{
    if (list->len > 0)
        buf_puts(list, "; ");
    (*count)++;
}

static void too_long(buf *list, int *count, const char *value, const char *prefix,
                     const char *member_name, int max)
{
    violation(list, count);
    buf_printf(list,
               "Value '%s' at '%s%s' failed to satisfy constraint: Member must have length less "
               "than or equal to %d",
               value, prefix, member_name, max);
}

/* Java's Map.toString, which is how AWS quotes a map in a constraint message. */
static void put_map(buf *list, const json_t *map)
{
    const char *k;
    json_t *v;
    int first = 1;
    buf_putc(list, '{');
    json_object_foreach((json_t *)map, k, v)
    {
        buf_printf(list, "%s%s=%s", first ? "" : ", ", k, json_string_value(v));
        first = 0;
    }
    buf_putc(list, '}');
}

static int key_ok(const char *k, size_t n)
{
    if (n == 0 || utf16_len(k, n) > EVENTS_INPUT_KEY_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)k[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* The InputTransformer's constraints; `transformer` is set (not NULL). */
static int model_transformer(const json_t *transformer, const char *prefix, buf *list, int *count)
{
    if (!json_is_object(transformer)) {
        buf_puts(list, "InputTransformer is not an object");
        return -1;
    }
    const json_t *map = member(transformer, "InputPathsMap");
    const json_t *tmpl = member(transformer, "InputTemplate");
    if ((map && !json_is_object(map)) || (tmpl && !json_is_string(tmpl))) {
        buf_puts(list, "InputTransformer member of the wrong type");
        return -1;
    }
    if (map) {
        const char *k;
        size_t klen;
        json_t *v;
        int bad_key = 0, bad_value = 0;
        json_object_keylen_foreach((json_t *)map, k, klen, v)
        {
            if (!json_is_string(v)) {
                buf_puts(list, "InputPathsMap value that is not a string");
                return -1;
            }
            bad_key |= !key_ok(k, klen);
            bad_value |=
                utf16_len(json_string_value(v), json_string_length(v)) > EVENTS_INPUT_PATH_MAX;
        }
        static const char *const constraint[] = {
            "Member must have length less than or equal to 100",
            ("Map keys must satisfy constraint: [Member must have length less than or equal to "
             "256, Member must have length greater than or equal to 1, Member must satisfy "
             "regular expression pattern: [A-Za-z0-9\\_\\-]+]"),
            ("Map value must satisfy constraint: [Member must have length less than or equal to "
             "256]"),
        };
        int failed[] = {json_object_size(map) > EVENTS_INPUT_PATHS_MAX, bad_key, bad_value};
        for (size_t i = 0; i < sizeof failed / sizeof failed[0]; i++) {
            if (!failed[i])
                continue;
            violation(list, count);
            buf_puts(list, "Value '");
            put_map(list, map);
            buf_printf(list,
                       "' at '%sinputTransformer.inputPathsMap' failed to satisfy "
                       "constraint: %s",
                       prefix, constraint[i]);
        }
    }
    if (!tmpl) {
        violation(list, count);
        buf_printf(list,
                   "Value null at '%sinputTransformer.inputTemplate' failed to satisfy "
                   "constraint: Member must not be null",
                   prefix);
    } else if (json_string_length(tmpl) == 0) {
        violation(list, count);
        buf_printf(list,
                   "Value '' at '%sinputTransformer.inputTemplate' failed to satisfy constraint: "
                   "Member must have length greater than or equal to 1",
                   prefix);
    } else if (utf16_len(json_string_value(tmpl), json_string_length(tmpl)) >
               EVENTS_INPUT_TEMPLATE_MAX) {
        too_long(list, count, json_string_value(tmpl), prefix, "inputTransformer.inputTemplate",
                 EVENTS_INPUT_TEMPLATE_MAX);
    }
    return 0;
}

int events_input_model_errors(const json_t *target, size_t index, buf *list)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "targets.%zu.member.", index);
    const json_t *input = member(target, "Input");
    const json_t *path = member(target, "InputPath");
    const json_t *transformer = member(target, "InputTransformer");
    if ((input && !json_is_string(input)) || (path && !json_is_string(path))) {
        buf_puts(list, "Input or InputPath is not a string");
        return -1;
    }
    int count = 0;
    if (input && utf16_len(json_string_value(input), json_string_length(input)) > EVENTS_INPUT_MAX)
        too_long(list, &count, json_string_value(input), prefix, "input", EVENTS_INPUT_MAX);
    if (path &&
        utf16_len(json_string_value(path), json_string_length(path)) > EVENTS_INPUT_PATH_MAX)
        too_long(list, &count, json_string_value(path), prefix, "inputPath", EVENTS_INPUT_PATH_MAX);
    if (transformer && model_transformer(transformer, prefix, list, &count) < 0)
        return -1;
    return count;
}

/* "<n> validation error(s) detected: <list>" into err. */
static void model_message(char *err, size_t errlen, int count, const buf *list)
{
    set_err(err, errlen, "%d validation error%s detected: %s", count, count == 1 ? "" : "s",
            list->data);
}

/* ---- Service checks ----------------------------------------------------------------------- */

typedef struct check_state {
    const json_t *paths_map;
    int is_object;
    const char *target_id;
    char *err;
    size_t errlen;
} check_state;

static int check_placeholder(void *arg, const char *name, size_t n, int in_string)
{
    check_state *cs = arg;
    char ft[300];
    int pre = predefined_find(name, n);
    if (pre != PRE_NONE) {
        if (predefined[pre].json_only && !cs->is_object) {
            for_target(ft, sizeof ft, cs->target_id);
            set_err(cs->err, cs->errlen,
                    "InputTemplate%s contains placeholder %s valid only for JSON template.", ft,
                    predefined[pre].name);
            return -1;
        }
        return 0;
    }
    if (cs->paths_map && json_object_getn(cs->paths_map, name, n))
        return 0;
    for_target(ft, sizeof ft, cs->target_id);
    set_err(cs->err, cs->errlen, "InputTemplate%s contains invalid placeholder %.*s.", ft, (int)n,
            name);
    return -1;
}

static int check_path(const char *path, const char *target_id, char *err, size_t errlen)
{
    if (path_check(path) == 0)
        return 0;
    char ft[300];
    for_target(ft, sizeof ft, target_id);
    set_err(err, errlen, "InputPath%s is invalid.", ft);
    return -1;
}

/* paths_map and template passed the model's constraints. */
static int check_transformer(const json_t *paths_map, const char *template, const char *target_id,
                             char *err, size_t errlen)
{
    if (!template) {
        set_err(err, errlen, "InputTemplate is missing");
        return -1;
    }
    if (paths_map) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)paths_map, k, v)
        {
            if (check_path(json_string_value(v), target_id, err, errlen) < 0)
                return -1;
        }
    }
    check_state cs = {paths_map, template_is_object(template), target_id, err, errlen};
    return scan_template(template, NULL, check_placeholder, &cs);
}

/* Where jsonc_parse failed, as Jackson (whose message AWS passes on) reports it. */
static void put_syntax_error(char *err, size_t errlen, const char *target_id, const char *input,
                             const char *why)
{
    size_t at = 0, len = strlen(input);
    const char *p = strstr(why, "at byte ");
    if (p)
        at = strtoul(p + 8, NULL, 10);
    if (at > len)
        at = len;
    size_t line = 1, col = 1;
    for (size_t i = 0; i < at; i++) {
        if (input[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    set_err(err, errlen,
            "JSON syntax error in input for target %s: [Source: (String)\"%s\"; line: %zu, "
            "column: %zu]",
            target_id, input, line, col);
}

int events_input_validate_target(const json_t *target, char *err, size_t errlen)
{
    const char *id = json_string_value(json_object_get(target, "Id"));
    if (!id)
        id = "";
    const json_t *input = member(target, "Input");
    const json_t *path = member(target, "InputPath");
    const json_t *transformer = member(target, "InputTransformer");
    if (!!input + !!path + !!transformer > 1) {
        set_err(err, errlen,
                "Only one of Input, InputPath, or InputTransformer must be provided for target "
                "%s.",
                id);
        return -1;
    }
    if (input) {
        char why[160] = "";
        json_t *v =
            jsonc_parse(json_string_value(input), json_string_length(input), why, sizeof why);
        if (!v) {
            put_syntax_error(err, errlen, id, json_string_value(input), why);
            return -1;
        }
        json_decref(v);
    }
    if (path && check_path(json_string_value(path), id, err, errlen) < 0)
        return -1;
    if (transformer)
        return check_transformer(member(transformer, "InputPathsMap"),
                                 json_string_value(member(transformer, "InputTemplate")), id, err,
                                 errlen);
    return 0;
}

int events_input_path_validate(const char *path, char *err, size_t errlen)
{
    if (!path)
        path = "";
    size_t n = strlen(path);
    if (utf16_len(path, n) > EVENTS_INPUT_PATH_MAX) {
        buf list = BUF_INIT;
        int count = 0;
        too_long(&list, &count, path, "", "inputPath", EVENTS_INPUT_PATH_MAX);
        model_message(err, errlen, count, &list);
        buf_free(&list);
        return -1;
    }
    return check_path(path, NULL, err, errlen);
}

int events_input_transformer_validate(const json_t *paths_map, const char *template, char *err,
                                      size_t errlen)
{
    json_t *transformer = json_object();
    if (paths_map)
        json_object_set(transformer, "InputPathsMap", (json_t *)paths_map);
    if (template)
        json_object_set_new(transformer, "InputTemplate", json_string(template));
    buf list = BUF_INIT;
    int count = 0, rc = 0;
    if (template && !json_object_get(transformer, "InputTemplate")) {
        set_err(err, errlen, "InputTemplate is not valid UTF-8");
        rc = -1;
    } else if (model_transformer(transformer, "", &list, &count) < 0) {
        set_err(err, errlen, "%s", list.data);
        rc = -1;
    } else if (count > 0) {
        model_message(err, errlen, count, &list);
        rc = -1;
    } else {
        rc = check_transformer(paths_map, template, NULL, err, errlen);
    }
    buf_free(&list);
    json_decref(transformer);
    return rc;
}
