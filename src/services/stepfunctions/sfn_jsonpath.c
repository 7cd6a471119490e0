/* JSONPath for the Amazon States Language (see sfn_jsonpath.h for the dialect).
 *
 * A path compiles to a list of steps. Evaluation keeps a list of matched nodes (borrowed
 * pointers into the input, which is never modified while a path runs) and maps each
 * step over it; a definite path is instead walked node by node so that a miss can be
 * reported at the step where it happened, in Jayway's words. Filters compile to a small
 * expression tree whose operands are themselves compiled paths (on `@` or `$`). */
#include "services/stepfunctions/sfn_jsonpath.h"

#include "common/alloc.h"
#include "common/buf.h"
#include "protocol/json_codec.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Guards recursion in filter expressions, and the work of filters nested in filters
 * (each level multiplies the work by the size of the input). */
#define MAX_NESTING        16
#define MAX_FILTER_NESTING 2

typedef enum { STEP_NAMES, STEP_INDEXES, STEP_WILDCARD, STEP_SLICE, STEP_FILTER } step_kind;

typedef struct filter filter;

typedef struct step {
    step_kind kind;
    bool deep; /* preceded by `..` */
    char **names;
    size_t nnames;
    long long *indexes;
    size_t nindexes;
    long long start, end, stride;
    bool has_start, has_end;
    filter *filter;
} step;

struct sfn_path {
    char *text;
    bool context;
    char *variable; /* `$name`: the workflow variable name is the root */
    bool relative;  /* `@` (inside a filter) */
    bool length;    /* ends with the Jayway function `.length()` */
    step *steps;
    size_t nsteps;
    size_t cap;
};

typedef enum { OPERAND_LITERAL, OPERAND_PATH } operand_kind;

typedef struct operand {
    operand_kind kind;
    json_t *literal;
    sfn_path *path;
} operand;

typedef enum { F_OR, F_AND, F_NOT, F_CMP, F_EXISTS } filter_kind;
typedef enum { CMP_EQ, CMP_NE, CMP_LT, CMP_LE, CMP_GT, CMP_GE } cmp_op;

struct filter {
    filter_kind kind;
    filter *left, *right;
    operand a, b;
    cmp_op op;
};

typedef struct parser {
    const char *s;
    size_t i;
    char *err;
    size_t errlen;
    int depth;
    int filters;    /* filters open around the current position */
    bool in_filter; /* names also end at spaces and operators */
} parser;

static void filter_free(filter *f);

/* ---------------------------------------------------------------- freeing */

static void step_clear(step *st)
{
    for (size_t i = 0; i < st->nnames; i++)
        xfree(st->names[i]);
    xfree(st->names);
    xfree(st->indexes);
    filter_free(st->filter);
}

void sfn_path_free(sfn_path *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nsteps; i++)
        step_clear(&p->steps[i]);
    xfree(p->steps);
    xfree(p->text);
    xfree(p->variable);
    xfree(p);
}

/* The variables `$name` paths read: those of the step being run (the interpreter sets them
 * before it evaluates anything of a step; the service runs on one thread). */
static const json_t *current_vars;

void sfn_path_set_variables(const json_t *vars)
{
    current_vars = vars;
}

static void operand_clear(operand *o)
{
    json_decref(o->literal);
    sfn_path_free(o->path);
}

static void filter_free(filter *f)
{
    if (!f)
        return;
    filter_free(f->left);
    filter_free(f->right);
    operand_clear(&f->a);
    operand_clear(&f->b);
    xfree(f);
}

/* ---------------------------------------------------------------- parsing */

static int fail(parser *ps, const char *what)
{
    snprintf(ps->err, ps->errlen, "%s at position %zu", what, ps->i);
    return -1;
}

static char peek(const parser *ps)
{
    return ps->s[ps->i];
}

static void skip_spaces(parser *ps)
{
    while (peek(ps) == ' ' || peek(ps) == '\t')
        ps->i++;
}

static step *add_step(sfn_path *p, step_kind kind, bool deep)
{
    XGROW(p->steps, p->nsteps, p->cap);
    step *st = &p->steps[p->nsteps++];
    memset(st, 0, sizeof *st);
    st->kind = kind;
    st->deep = deep;
    return st;
}

static void add_name(step *st, char *name)
{
    st->names = xrealloc(st->names, (st->nnames + 1) * sizeof *st->names);
    st->names[st->nnames++] = name;
}

static void add_index(step *st, long long v)
{
    st->indexes = xrealloc(st->indexes, (st->nindexes + 1) * sizeof *st->indexes);
    st->indexes[st->nindexes++] = v;
}

static bool ends_name(const parser *ps, char c)
{
    if (c == '\0' || c == '.' || c == '[' || c == ']')
        return true;
    return ps->in_filter && strchr(" \t)=!<>&|", c) != NULL;
}

/* A quoted string ('...' or "...") with backslash escapes; the quote is at ps->i. */
static int parse_quoted(parser *ps, char **out)
{
    char quote = ps->s[ps->i++];
    buf b = BUF_INIT;
    for (;;) {
        char c = ps->s[ps->i];
        if (c == '\0') {
            buf_free(&b);
            return fail(ps, "Unterminated string");
        }
        ps->i++;
        if (c == quote)
            break;
        if (c == '\\' && ps->s[ps->i] != '\0')
            c = ps->s[ps->i++];
        buf_putc(&b, c);
    }
    *out = b.data ? buf_steal(&b, NULL) : xstrdup("");
    return 0;
}

static int parse_int(parser *ps, long long *out)
{
    const char *start = ps->s + ps->i;
    char *end;
    errno = 0;
    long long v = strtoll(start, &end, 10);
    if (end == start || errno == ERANGE || !(isdigit((unsigned char)*start) || *start == '-'))
        return fail(ps, "Expected an integer");
    ps->i += (size_t)(end - start);
    *out = v;
    return 0;
}

static int parse_filter_or(parser *ps, filter **out);

/* `[...]` after the `[`: names, indexes, `*`, a slice or a filter. */
static int parse_bracket(parser *ps, sfn_path *p, bool deep)
{
    skip_spaces(ps);
    char c = peek(ps);
    if (c == '*') {
        ps->i++;
        add_step(p, STEP_WILDCARD, deep);
    } else if (c == '?') {
        ps->i++;
        skip_spaces(ps);
        if (peek(ps) != '(')
            return fail(ps, "Expected '(' after '?'");
        ps->i++;
        step *st = add_step(p, STEP_FILTER, deep);
        if (++ps->filters > MAX_FILTER_NESTING)
            return fail(ps, "Filters nested too deeply");
        int rc = parse_filter_or(ps, &st->filter);
        ps->filters--;
        if (rc != 0)
            return -1;
        skip_spaces(ps);
        if (peek(ps) != ')')
            return fail(ps, "Expected ')' closing the filter");
        ps->i++;
    } else if (c == '\'' || c == '"') {
        step *st = add_step(p, STEP_NAMES, deep);
        for (;;) {
            char *name;
            if (peek(ps) != '\'' && peek(ps) != '"')
                return fail(ps, "Expected a quoted property name");
            if (parse_quoted(ps, &name) != 0)
                return -1;
            add_name(st, name);
            skip_spaces(ps);
            if (peek(ps) != ',')
                break;
            ps->i++;
            skip_spaces(ps);
        }
    } else if (c == ':' || c == '-' || isdigit((unsigned char)c)) {
        long long first = 0;
        bool has_first = c != ':';
        if (has_first && parse_int(ps, &first) != 0)
            return -1;
        skip_spaces(ps);
        if (peek(ps) == ':') {
            step *st = add_step(p, STEP_SLICE, deep);
            st->has_start = has_first;
            st->start = first;
            st->stride = 1;
            ps->i++;
            skip_spaces(ps);
            if (peek(ps) != ']' && peek(ps) != ':') {
                if (parse_int(ps, &st->end) != 0)
                    return -1;
                st->has_end = true;
            }
            skip_spaces(ps);
            if (peek(ps) == ':') {
                ps->i++;
                skip_spaces(ps);
                if (peek(ps) != ']' && parse_int(ps, &st->stride) != 0)
                    return -1;
                if (st->stride == 0)
                    return fail(ps, "Slice step cannot be zero");
            }
        } else {
            step *st = add_step(p, STEP_INDEXES, deep);
            add_index(st, first);
            while (peek(ps) == ',') {
                ps->i++;
                skip_spaces(ps);
                long long v;
                if (parse_int(ps, &v) != 0)
                    return -1;
                add_index(st, v);
                skip_spaces(ps);
            }
        }
    } else {
        return fail(ps, "Unexpected character in brackets");
    }
    skip_spaces(ps);
    if (peek(ps) != ']')
        return fail(ps, "Expected ']'");
    ps->i++;
    return 0;
}

/* The steps after the root, until the end of the path (or of an operand in a filter). */
static int parse_steps(parser *ps, sfn_path *p)
{
    for (;;) {
        char c = peek(ps);
        bool deep = false;
        if (c == '.') {
            ps->i++;
            if (peek(ps) == '.') {
                deep = true;
                ps->i++;
            }
            if (peek(ps) == '[') {
                if (!deep)
                    return fail(ps, "Unexpected '[' after '.'");
                ps->i++;
                if (parse_bracket(ps, p, deep) != 0)
                    return -1;
                continue;
            }
            if (peek(ps) == '*') {
                ps->i++;
                add_step(p, STEP_WILDCARD, deep);
                continue;
            }
            size_t start = ps->i;
            if (strncmp(ps->s + ps->i, "length()", 8) == 0 && !deep) {
                ps->i += 8;
                if (peek(ps) == '.' || peek(ps) == '[')
                    return fail(ps, "length() must end the path");
                p->length = true;
                return 0;
            }
            while (!ends_name(ps, peek(ps)))
                ps->i++;
            if (ps->i == start)
                return fail(ps, "Expected a property name");
            if (peek(ps) == '(' || memchr(ps->s + start, '(', ps->i - start))
                return fail(ps, "Functions are not supported");
            add_name(add_step(p, STEP_NAMES, deep), xstrndup(ps->s + start, ps->i - start));
        } else if (c == '[') {
            ps->i++;
            if (parse_bracket(ps, p, false) != 0)
                return -1;
        } else {
            return 0;
        }
    }
}

/* A root (`$`, `$$`, or `@` inside filters) and its steps, from ps->i. */
static int parse_path_at(parser *ps, sfn_path **out)
{
    sfn_path *p = xcalloc(1, sizeof *p);
    size_t start = ps->i;
    if (peek(ps) == '@' && ps->in_filter) {
        p->relative = true;
        ps->i++;
    } else if (peek(ps) == '$') {
        ps->i++;
        if (peek(ps) == '$') {
            p->context = true;
            ps->i++;
        } else if (isalpha((unsigned char)peek(ps)) || peek(ps) == '_') {
            size_t from = ps->i; /* a variable: $name */
            while (isalnum((unsigned char)peek(ps)) || peek(ps) == '_')
                ps->i++;
            p->variable = xstrndup(ps->s + from, ps->i - from);
        }
    } else {
        xfree(p);
        return fail(ps, "A path must start with '$'");
    }
    if (parse_steps(ps, p) != 0) {
        sfn_path_free(p);
        return -1;
    }
    p->text = xstrndup(ps->s + start, ps->i - start);
    *out = p;
    return 0;
}

static int parse_operand(parser *ps, operand *o)
{
    skip_spaces(ps);
    char c = peek(ps);
    if (c == '@' || c == '$') {
        o->kind = OPERAND_PATH;
        return parse_path_at(ps, &o->path);
    }
    o->kind = OPERAND_LITERAL;
    if (c == '\'' || c == '"') {
        char *s;
        if (parse_quoted(ps, &s) != 0)
            return -1;
        o->literal = json_string(s);
        xfree(s);
        if (!o->literal) /* not UTF-8 */
            return fail(ps, "Invalid string literal");
        return 0;
    }
    static const struct {
        const char *word;
        json_t *(*make)(void);
    } words[] = {{"true", json_true}, {"false", json_false}, {"null", json_null}};
    for (size_t k = 0; k < sizeof words / sizeof *words; k++) {
        size_t n = strlen(words[k].word);
        if (strncmp(ps->s + ps->i, words[k].word, n) == 0) {
            ps->i += n;
            o->literal = words[k].make();
            return 0;
        }
    }
    const char *start = ps->s + ps->i;
    char *end;
    double d = strtod(start, &end);
    if (end == start || !(isdigit((unsigned char)*start) || *start == '-') || !isfinite(d))
        return fail(ps, "Expected a value in the filter");
    ps->i += (size_t)(end - start);
    bool integral = !memchr(start, '.', (size_t)(end - start)) &&
                    !memchr(start, 'e', (size_t)(end - start)) &&
                    !memchr(start, 'E', (size_t)(end - start)) && fabs(d) < 9e15;
    o->literal = integral ? json_integer((json_int_t)d) : json_real(d);
    return 0;
}

static bool take(parser *ps, const char *tok)
{
    skip_spaces(ps);
    size_t n = strlen(tok);
    if (strncmp(ps->s + ps->i, tok, n) != 0)
        return false;
    ps->i += n;
    return true;
}

static int parse_filter_unary(parser *ps, filter **out)
{
    *out = NULL; /* the caller frees whatever *out holds, even on failure */
    if (++ps->depth > MAX_NESTING)
        return fail(ps, "Filter nested too deeply");
    filter *f = xcalloc(1, sizeof *f);
    *out = f;
    int rc = 0;
    if (take(ps, "!")) {
        f->kind = F_NOT;
        rc = parse_filter_unary(ps, &f->left);
    } else if (take(ps, "(")) {
        xfree(f);
        *out = NULL;
        rc = parse_filter_or(ps, out);
        if (rc == 0 && !take(ps, ")"))
            rc = fail(ps, "Expected ')'");
    } else {
        static const struct {
            const char *tok;
            cmp_op op;
        } ops[] = {{"==", CMP_EQ}, {"!=", CMP_NE}, {"<=", CMP_LE},
                   {">=", CMP_GE}, {"<", CMP_LT},  {">", CMP_GT}};
        rc = parse_operand(ps, &f->a);
        f->kind = F_EXISTS;
        for (size_t k = 0; rc == 0 && k < sizeof ops / sizeof *ops; k++) {
            if (take(ps, ops[k].tok)) {
                f->kind = F_CMP;
                f->op = ops[k].op;
                rc = parse_operand(ps, &f->b);
                break;
            }
        }
        if (rc == 0 && f->kind == F_EXISTS && f->a.kind != OPERAND_PATH)
            rc = fail(ps, "Expected a comparison");
    }
    ps->depth--;
    return rc;
}

static int parse_filter_binary(parser *ps, filter **out, const char *tok, filter_kind kind,
                               int (*next)(parser *, filter **))
{
    if (next(ps, out) != 0)
        return -1;
    while (take(ps, tok)) {
        filter *f = xcalloc(1, sizeof *f);
        f->kind = kind;
        f->left = *out;
        *out = f;
        if (next(ps, &f->right) != 0)
            return -1;
    }
    return 0;
}

static int parse_filter_and(parser *ps, filter **out)
{
    return parse_filter_binary(ps, out, "&&", F_AND, parse_filter_unary);
}

static int parse_filter_or(parser *ps, filter **out)
{
    bool outer = ps->in_filter;
    ps->in_filter = true;
    int rc = parse_filter_binary(ps, out, "||", F_OR, parse_filter_and);
    ps->in_filter = outer;
    return rc;
}

int sfn_path_compile(const char *text, sfn_path **out, char *err, size_t errlen)
{
    parser ps = {text, 0, err, errlen, 0, 0, false};
    *out = NULL;
    if (text[0] != '$')
        return fail(&ps, "A path must start with '$'");
    sfn_path *p;
    if (parse_path_at(&ps, &p) != 0)
        return -1;
    if (ps.s[ps.i] != '\0') {
        sfn_path_free(p);
        return fail(&ps, "Unexpected character");
    }
    *out = p;
    return 0;
}

/* ---------------------------------------------------------------- properties */

static bool step_is_single(const step *st)
{
    return !st->deep && ((st->kind == STEP_NAMES && st->nnames == 1) ||
                         (st->kind == STEP_INDEXES && st->nindexes == 1));
}

bool sfn_path_is_definite(const sfn_path *p)
{
    for (size_t i = 0; i < p->nsteps; i++)
        if (!step_is_single(&p->steps[i]))
            return false;
    return true;
}

bool sfn_path_is_reference(const sfn_path *p)
{
    return !p->context && !p->variable && !p->length && sfn_path_is_definite(p);
}
bool sfn_path_is_context(const sfn_path *p)
{
    return p->context;
}
const char *sfn_path_text(const sfn_path *p)
{
    return p->text;
}

int sfn_path_validate(const char *text, const char *field, bool reference, char *err, size_t errlen)
{
    sfn_path *p;
    char why[256];
    int rc = sfn_path_compile(text, &p, why, sizeof why);
    if (rc == 0 && reference && !sfn_path_is_reference(p))
        rc = -1;
    sfn_path_free(p);
    if (rc != 0)
        snprintf(err, errlen, "The value for the field '%s' must be a valid %s", field,
                 reference ? "ReferencePath" : "JSONPath");
    return rc;
}

/* ---------------------------------------------------------------- evaluation */

typedef struct nodes {
    json_t **v;
    size_t n, cap;
} nodes;

static void push(nodes *ns, json_t *v)
{
    XGROW(ns->v, ns->n, ns->cap);
    ns->v[ns->n++] = v;
}

static bool filter_holds(const filter *f, json_t *node, json_t *root, json_t *context);

/* Array index i of an array of n elements, negative counting from the end; -1 if out. */
static long long resolve_index(long long i, size_t n)
{
    if (i < 0)
        i += (long long)n;
    return i >= 0 && i < (long long)n ? i : -1;
}

static void select_slice(const step *st, json_t *arr, nodes *out)
{
    long long n = (long long)json_array_size(arr);
    long long stride = st->stride;
    long long lo = st->has_start ? st->start : (stride > 0 ? 0 : n - 1);
    long long hi = st->has_end ? st->end : (stride > 0 ? n : -n - 1);
    if (lo < 0)
        lo += n;
    if (hi < 0)
        hi += n;
    if (stride > 0) {
        lo = lo < 0 ? 0 : lo;
        hi = hi > n ? n : hi;
        for (long long i = lo; i < hi; i += stride)
            push(out, json_array_get(arr, (size_t)i));
    } else {
        lo = lo >= n ? n - 1 : lo;
        for (long long i = lo; i > hi && i >= 0; i += stride)
            push(out, json_array_get(arr, (size_t)i));
    }
}

/* The children of node that the step selects (ignoring its `..`). */
static void select_one(const step *st, json_t *node, json_t *root, json_t *context, nodes *out)
{
    switch (st->kind) {
    case STEP_NAMES:
        for (size_t k = 0; k < st->nnames && json_is_object(node); k++) {
            json_t *v = json_object_get(node, st->names[k]);
            if (v)
                push(out, v);
        }
        break;
    case STEP_INDEXES:
        for (size_t k = 0; k < st->nindexes && json_is_array(node); k++) {
            long long i = resolve_index(st->indexes[k], json_array_size(node));
            if (i >= 0)
                push(out, json_array_get(node, (size_t)i));
        }
        break;
    case STEP_WILDCARD: {
        const char *key;
        json_t *v;
        size_t i;
        if (json_is_object(node))
            json_object_foreach(node, key, v) push(out, v);
        else if (json_is_array(node))
            json_array_foreach(node, i, v) push(out, v);
        break;
    }
    case STEP_SLICE:
        if (json_is_array(node))
            select_slice(st, node, out);
        break;
    case STEP_FILTER: {
        size_t i;
        json_t *v;
        if (json_is_array(node)) {
            json_array_foreach(node, i, v) if (filter_holds(st->filter, v, root, context))
                push(out, v);
        } else if (json_is_object(node) && filter_holds(st->filter, node, root, context)) {
            push(out, node);
        }
        break;
    }
    }
}

/* node and all its descendants, parents first. */
static void collect_all(json_t *node, nodes *out)
{
    push(out, node);
    const char *key;
    json_t *v;
    size_t i;
    if (json_is_object(node))
        json_object_foreach(node, key, v) collect_all(v, out);
    else if (json_is_array(node))
        json_array_foreach(node, i, v) collect_all(v, out);
}

static void apply_step(const step *st, const nodes *in, json_t *root, json_t *context, nodes *out)
{
    for (size_t k = 0; k < in->n; k++) {
        if (!st->deep) {
            select_one(st, in->v[k], root, context, out);
            continue;
        }
        nodes all = {0};
        collect_all(in->v[k], &all);
        for (size_t j = 0; j < all.n; j++)
            select_one(st, all.v[j], root, context, out);
        xfree(all.v);
    }
}

/* Definite walk: the node, or NULL with *missing_at the index of the failing step. */
static json_t *walk_definite(const sfn_path *p, json_t *node, size_t *missing_at)
{
    for (size_t i = 0; i < p->nsteps; i++) {
        const step *st = &p->steps[i];
        json_t *next = NULL;
        if (st->kind == STEP_NAMES)
            next = json_is_object(node) ? json_object_get(node, st->names[0]) : NULL;
        else if (json_is_array(node)) {
            long long k = resolve_index(st->indexes[0], json_array_size(node));
            next = k >= 0 ? json_array_get(node, (size_t)k) : NULL;
        }
        if (!next) {
            *missing_at = i;
            return NULL;
        }
        node = next;
    }
    return node;
}

static json_t *root_of(const sfn_path *p, json_t *input, json_t *context, json_t *current)
{
    if (p->relative)
        return current;
    if (p->variable)
        return json_object_get(current_vars, p->variable);
    return p->context ? context : input;
}

/* Jayway's length(): the size of an array or object, the characters of a string. */
static json_t *length_of(json_t *v)
{
    json_t *n = NULL;
    if (json_is_array(v))
        n = json_integer((json_int_t)json_array_size(v));
    else if (json_is_object(v))
        n = json_integer((json_int_t)json_object_size(v));
    else if (json_is_string(v)) {
        json_int_t chars = 0;
        for (const char *c = json_string_value(v); *c; c++)
            chars += ((unsigned char)*c & 0xC0) != 0x80;
        n = json_integer(chars);
    }
    json_decref(v);
    return n;
}

static json_t *eval_steps(const sfn_path *p, json_t *root, json_t *input, json_t *context);

static json_t *eval_from(const sfn_path *p, json_t *root, json_t *input, json_t *context)
{
    json_t *v = eval_steps(p, root, input, context);
    return p->length && v ? length_of(v) : v;
}

static json_t *eval_steps(const sfn_path *p, json_t *root, json_t *input, json_t *context)
{
    if (sfn_path_is_definite(p)) {
        size_t at;
        json_t *v = walk_definite(p, root, &at);
        return v ? json_incref(v) : NULL;
    }
    nodes cur = {0}, next = {0};
    push(&cur, root);
    for (size_t i = 0; i < p->nsteps; i++) {
        next.n = 0;
        apply_step(&p->steps[i], &cur, input, context, &next);
        nodes t = cur;
        cur = next;
        next = t;
    }
    json_t *arr = json_array();
    for (size_t k = 0; k < cur.n; k++)
        json_array_append(arr, cur.v[k]);
    xfree(cur.v);
    xfree(next.v);
    return arr;
}

/* Evaluates with `@` bound to current (for filters). A missing root reads as {}. */
static json_t *eval_at(const sfn_path *p, json_t *input, json_t *context, json_t *current)
{
    json_t *root = root_of(p, input, context, current);
    if (root)
        return eval_from(p, root, input, context);
    json_t *empty = json_object();
    json_t *v = eval_from(p, empty, input, context);
    json_decref(empty);
    return v;
}

json_t *sfn_path_eval(const sfn_path *p, json_t *input, json_t *context)
{
    return eval_at(p, input, context, input);
}

/* ---------------------------------------------------------------- filters */

static json_t *operand_value(const operand *o, json_t *node, json_t *root, json_t *context)
{
    if (o->kind == OPERAND_LITERAL)
        return json_incref(o->literal);
    return eval_at(o->path, root, context, node);
}

static bool values_equal(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    return json_equal(a, b);
}

static bool compare(cmp_op op, const json_t *a, const json_t *b)
{
    if (!a || !b)
        return op == CMP_NE && (a || b);
    if (op == CMP_EQ)
        return values_equal(a, b);
    if (op == CMP_NE)
        return !values_equal(a, b);
    int c;
    if (json_is_number(a) && json_is_number(b)) {
        double x = json_number_value(a), y = json_number_value(b);
        c = x < y ? -1 : x > y ? 1 : 0;
    } else if (json_is_string(a) && json_is_string(b)) {
        c = strcmp(json_string_value(a), json_string_value(b));
    } else {
        return false;
    }
    switch (op) {
    case CMP_LT:
        return c < 0;
    case CMP_LE:
        return c <= 0;
    case CMP_GT:
        return c > 0;
    default:
        return c >= 0;
    }
}

static bool filter_holds(const filter *f, json_t *node, json_t *root, json_t *context)
{
    switch (f->kind) {
    case F_OR:
        return filter_holds(f->left, node, root, context) ||
               filter_holds(f->right, node, root, context);
    case F_AND:
        return filter_holds(f->left, node, root, context) &&
               filter_holds(f->right, node, root, context);
    case F_NOT:
        return !filter_holds(f->left, node, root, context);
    case F_EXISTS: {
        json_t *v = operand_value(&f->a, node, root, context);
        bool present =
            v && !(json_is_array(v) && !sfn_path_is_definite(f->a.path) && json_array_size(v) == 0);
        json_decref(v);
        return present;
    }
    case F_CMP: {
        json_t *a = operand_value(&f->a, node, root, context);
        json_t *b = operand_value(&f->b, node, root, context);
        bool r = compare(f->op, a, b);
        json_decref(a);
        json_decref(b);
        return r;
    }
    }
    return false;
}

/* ---------------------------------------------------------------- InputPath, ResultPath */

void sfn_json_quote(const json_t *v, char *out, size_t n)
{
    buf b = BUF_INIT;
    jsonc_dump(&b, v);
    if (b.len < n) {
        memcpy(out, b.data, b.len + 1);
    } else if (n > 0) {
        size_t keep = n > 4 ? n - 4 : 0;
        memcpy(out, b.data, keep);
        snprintf(out + keep, n - keep, "...");
    }
    buf_free(&b);
}

/* Jayway's normalized form of the first `count` steps of a definite path: $['a'][0]. */
static void normalized(const sfn_path *p, size_t count, buf *out)
{
    buf_puts(out, p->context ? "$$" : "$");
    if (p->variable)
        buf_puts(out, p->variable);
    for (size_t i = 0; i < count && i < p->nsteps; i++) {
        const step *st = &p->steps[i];
        if (st->kind == STEP_NAMES)
            buf_printf(out, "['%s']", st->names[0]);
        else
            buf_printf(out, "[%lld]", st->indexes[0]);
    }
}

int sfn_path_apply(const char *path, json_t *input, json_t *context, json_t **out, sfn_error *e)
{
    if (!path) {
        *out = json_object();
        return 0;
    }
    if (strcmp(path, "$") == 0) { /* the default InputPath and OutputPath: the input itself */
        *out = input ? json_incref(input) : json_object();
        return 0;
    }
    char why[256];
    sfn_path *p;
    if (sfn_path_compile(path, &p, why, sizeof why) != 0)
        return sfn_error_set(e, "States.Runtime", "Invalid path '%s' : %s", path, why);
    *out = sfn_path_eval(p, input, context);
    int rc = 0;
    size_t at = 0;
    if (!*out && p->length &&
        (!sfn_path_is_definite(p) || walk_definite(p, root_of(p, input, context, NULL), &at))) {
        rc = sfn_error_set(e, "States.Runtime",
                           "Invalid path '%s' : length() applies to arrays, objects and strings",
                           path);
    } else if (!*out) {
        walk_definite(p, root_of(p, input, context, NULL), &at);
        buf b = BUF_INIT;
        normalized(p, at + 1, &b);
        if (at + 1 == p->nsteps)
            rc = sfn_error_set(e, "States.Runtime", "Invalid path '%s' : No results for path: %s",
                               path, b.data);
        else
            rc = sfn_error_set(e, "States.Runtime",
                               "Invalid path '%s' : Missing property in path %s", path, b.data);
        buf_free(&b);
    }
    sfn_path_free(p);
    return rc;
}

/* Sets value (a new reference, consumed) at step st of container, which it must fit. */
static int place(json_t *container, const step *st, json_t *value)
{
    if (st->kind == STEP_NAMES && json_is_object(container))
        return json_object_set_new(container, st->names[0], value) == 0 ? 0 : -1;
    if (st->kind == STEP_INDEXES && json_is_array(container)) {
        long long k = resolve_index(st->indexes[0], json_array_size(container));
        if (k >= 0)
            return json_array_set_new(container, (size_t)k, value);
    }
    json_decref(value);
    return -1;
}

int sfn_result_path_apply(const char *path, json_t *input, json_t *result, json_t **out,
                          sfn_error *e)
{
    if (!path) {
        *out = json_incref(input);
        return 0;
    }
    if (strcmp(path, "$") == 0) { /* the default: the result replaces the input */
        *out = json_incref(result);
        return 0;
    }
    char why[256];
    sfn_path *p;
    if (sfn_path_compile(path, &p, why, sizeof why) != 0 || !sfn_path_is_reference(p)) {
        sfn_path_free(p);
        return sfn_error_set(e, "States.Runtime", "Invalid path '%s' : not a ReferencePath", path);
    }
    if (p->nsteps == 0) {
        sfn_path_free(p);
        *out = json_incref(result);
        return 0;
    }
    json_t *copy = jsonc_copy(input);
    json_t *node = copy;
    int rc = 0;
    for (size_t i = 0; i + 1 < p->nsteps && rc == 0; i++) {
        size_t at;
        sfn_path one = *p;
        one.steps = &p->steps[i];
        one.nsteps = 1;
        json_t *child = walk_definite(&one, node, &at);
        if (!child && p->steps[i].kind == STEP_NAMES && json_is_object(node)) {
            child = json_object();
            if (json_object_set_new(node, p->steps[i].names[0], child) != 0)
                child = NULL; /* a name that is not UTF-8: freed by jansson */
        }
        if (!child || (!json_is_object(child) && !json_is_array(child)))
            rc = -1;
        node = child;
    }
    if (rc == 0)
        rc = place(node, &p->steps[p->nsteps - 1], jsonc_copy(result));
    if (rc != 0) {
        char quoted[SFN_ERROR_CAUSE_MAX / 2];
        sfn_json_quote(input, quoted, sizeof quoted);
        sfn_error_set(e, "States.Runtime", "Unable to apply ReferencePath %s to input '%s'", path,
                      quoted);
        json_decref(copy);
        copy = NULL;
    }
    sfn_path_free(p);
    *out = copy;
    return rc;
}
