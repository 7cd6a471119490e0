/* SES template rendering: a Handlebars parser and interpreter for the subset SES renders
 * (see ses_template.h for the language and SES's rules).
 *
 * The algorithm follows Handlebars.js in three passes over one template part:
 *
 *   1. Parse. One left-to-right scan splits the text into content and `{{...}}` tags and builds
 *      a tree of programs (lists of nodes); open blocks sit on an explicit stack, so nesting is
 *      bounded by SES_TEMPLATE_MAX_DEPTH without recursion. Content nodes are slices of the
 *      source, never copies.
 *   2. Whitespace control, as Handlebars' WhitespaceControl visitor does it: `~` strips all
 *      whitespace on its side; a block, else, comment or partial tag alone on its line
 *      ("standalone") removes that line's indentation and newline. Both only move the ends of
 *      content slices, and the checks look at the text as written (not as already stripped),
 *      exactly as Handlebars does, so output matches Handlebars byte for byte.
 *   3. Render. A recursive walk of the tree with a stack of contexts (pushed by each, with,
 *      sections and partials, which is what `../` counts), the innermost #each's @data, and a
 *      chain of block-parameter scopes. Recursion is bounded by SES_TEMPLATE_MAX_RENDER_DEPTH
 *      (blocks and partial calls together, so recursive partials terminate); total work by
 *      SES_TEMPLATE_MAX_STEPS (nodes plus iterations, so nested #each over large arrays cannot
 *      run away even when they print nothing); output by SES_TEMPLATE_MAX_OUTPUT.
 *
 * Lookups follow Handlebars' strict mode, which is how SES behaves: the path at the head of a
 * mustache or section must resolve (else MissingRenderingAttribute), while helper parameters
 * may be missing and are then falsy. */
#include "services/ses/ses_template.h"

#include "common/alloc.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== AST ================================================================================= */

typedef struct seg {
    const char *p;
    size_t n;
} seg;

enum { E_PATH, E_LIT, E_UNDEF };

typedef struct expr {
    int kind;
    bool data;   /* @name */
    bool scoped; /* this / . prefix: plain context lookup, never a helper or block param */
    unsigned up; /* ../ count */
    seg *segs;   /* path segments (for E_PATH) */
    size_t nseg;
    json_t *lit; /* E_LIT value (owned) */
    seg src;     /* as written, for messages and close-tag matching */
} expr;

typedef struct hashp {
    seg key;
    expr val;
} hashp;

#define MAX_BLOCK_PARAMS 8

typedef struct call {
    expr head;
    expr *params;
    size_t nparams;
    hashp *hash;
    size_t nhash;
    seg bp[MAX_BLOCK_PARAMS];
    size_t nbp;
} call;

enum { N_TEXT, N_VAR, N_BLOCK, N_PARTIAL, N_COMMENT, N_INLINE };
enum { H_NONE, H_IF, H_UNLESS, H_EACH, H_WITH, H_LOOKUP, H_LOG };

typedef struct node node;

typedef struct program {
    node **v;
    size_t n, cap;
    bool chained; /* holds the one block of an {{else if ...}} */
} program;

typedef struct strip {
    bool open, close;
} strip;

struct node {
    int kind;
    size_t pos; /* offset of the tag, for messages */
    /* N_TEXT: [ostart, oend) as written, [start, end) after whitespace control */
    size_t ostart, oend, start, end;
    bool lstripped, rstripped;
    /* tags */
    call c;
    int helper;
    bool inverted; /* {{^x}}: the main body is in inv, an {{else}} body in prog */
    bool has_else;
    program *prog, *inv;
    strip open_strip, close_strip, inv_strip; /* mustaches, comments, partials use open_strip */
    seg name;                                 /* N_PARTIAL / N_INLINE */
    seg indent;                               /* standalone partial indentation */
};

typedef struct tmpl {
    const char *src;
    size_t n;
    program root;
    node **inl; /* inline partials, in definition order */
    size_t ninl, capinl;
} tmpl;

static void free_program(program *p);

static void free_expr(expr *e)
{
    xfree(e->segs);
    if (e->lit)
        json_decref(e->lit);
}

static void free_node(node *nd)
{
    if (!nd)
        return;
    free_expr(&nd->c.head);
    for (size_t i = 0; i < nd->c.nparams; i++)
        free_expr(&nd->c.params[i]);
    xfree(nd->c.params);
    for (size_t i = 0; i < nd->c.nhash; i++)
        free_expr(&nd->c.hash[i].val);
    xfree(nd->c.hash);
    if (nd->prog) {
        free_program(nd->prog);
        xfree(nd->prog);
    }
    if (nd->inv) {
        free_program(nd->inv);
        xfree(nd->inv);
    }
    xfree(nd);
}

static void free_program(program *p)
{
    for (size_t i = 0; i < p->n; i++)
        free_node(p->v[i]);
    xfree(p->v);
}

static void prog_add(program *p, node *nd)
{
    XGROW(p->v, p->n, p->cap);
    p->v[p->n++] = nd;
}

static program *new_program(void)
{
    return xcalloc(1, sizeof(program));
}

/* ==== errors ============================================================================== */

static size_t line_of(const char *src, size_t pos)
{
    size_t line = 1;
    for (size_t i = 0; i < pos; i++)
        line += src[i] == '\n';
    return line;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ==== lexing inside a tag ================================================================= */

typedef struct lexer {
    const char *s;
    size_t i, n;
    size_t tag; /* offset of the tag's "{{" */
    char *err;
    size_t errlen;
} lexer;

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Handlebars' ID: anything but whitespace and these punctuation characters. */
static bool is_id_char(char c)
{
    if (is_ws(c) || c == '\0')
        return false;
    return !strchr("!\"#%&'()*+,./;<=>@[\\]^`{|}~", c);
}

static void skip_ws(lexer *lx)
{
    while (lx->i < lx->n && is_ws(lx->s[lx->i]))
        lx->i++;
}

static bool at(const lexer *lx, const char *lit)
{
    size_t k = strlen(lit);
    return lx->n - lx->i >= k && memcmp(lx->s + lx->i, lit, k) == 0;
}

static int lex_fail(lexer *lx, const char *what)
{
    set_err(lx->err, lx->errlen, "Template syntax error on line %zu: %s", line_of(lx->s, lx->tag),
            what);
    return -1;
}

/* The characters that may follow a literal (true, 12, "x") for it to be one. */
static bool literal_end(const lexer *lx, size_t j)
{
    if (j >= lx->n)
        return true;
    char c = lx->s[j];
    return is_ws(c) || c == '~' || c == '}' || c == ')';
}

static bool id_end_ok(const lexer *lx, size_t j)
{
    if (j >= lx->n)
        return true;
    char c = lx->s[j];
    return is_ws(c) || strchr("=~}/.)|", c) != NULL;
}

/* One path segment: an ID, a [segment literal], ".." or ".". */
static int lex_segment(lexer *lx, seg *out)
{
    const char *s = lx->s;
    size_t i = lx->i;
    if (i < lx->n && s[i] == '[') {
        size_t j = i + 1;
        while (j < lx->n && s[j] != ']')
            j++;
        if (j >= lx->n)
            return lex_fail(lx, "unterminated [segment]");
        *out = (seg){s + i + 1, j - i - 1};
        lx->i = j + 1;
        return 0;
    }
    if (lx->n - i >= 2 && s[i] == '.' && s[i + 1] == '.') {
        *out = (seg){s + i, 2};
        lx->i = i + 2;
        return 0;
    }
    if (i < lx->n && s[i] == '.') {
        *out = (seg){s + i, 1};
        lx->i = i + 1;
        return 0;
    }
    size_t j = i;
    while (j < lx->n && is_id_char(s[j]))
        j++;
    if (j == i || !id_end_ok(lx, j))
        return lex_fail(lx, "invalid expression");
    *out = (seg){s + i, j - i};
    lx->i = j;
    return 0;
}

static bool seg_is(seg g, const char *lit)
{
    return g.n == strlen(lit) && memcmp(g.p, lit, g.n) == 0;
}

static bool seg_eq(seg a, seg b)
{
    return a.n == b.n && memcmp(a.p, b.p, a.n) == 0;
}

/* A path as Handlebars' preparePath sees it: leading ../ raise the depth, a leading this or .
 * makes it scoped, and neither may appear after a name. */
static int lex_path(lexer *lx, expr *e)
{
    size_t start = lx->i;
    seg *parts = NULL;
    size_t n = 0, cap = 0;
    if (lx->i < lx->n && lx->s[lx->i] == '@') {
        e->data = true;
        lx->i++;
    }
    for (;;) {
        seg g;
        if (lex_segment(lx, &g) < 0)
            goto fail;
        if (seg_is(g, "..") || seg_is(g, ".") || seg_is(g, "this")) {
            if (n > 0) {
                lex_fail(lx, "invalid path");
                goto fail;
            }
            if (seg_is(g, ".."))
                e->up++;
            else
                e->scoped = true;
        } else {
            XGROW(parts, n, cap);
            parts[n++] = g;
        }
        if (lx->i + 1 < lx->n && (lx->s[lx->i] == '.' || lx->s[lx->i] == '/') &&
            (is_id_char(lx->s[lx->i + 1]) || lx->s[lx->i + 1] == '[' || lx->s[lx->i + 1] == '.')) {
            lx->i++;
            continue;
        }
        break;
    }
    if (e->data && n == 0) {
        lex_fail(lx, "invalid @ expression");
        goto fail;
    }
    if (e->up)
        e->scoped = false;
    e->kind = E_PATH;
    e->segs = parts;
    e->nseg = n;
    e->src = (seg){lx->s + start, lx->i - start};
    return 0;
fail:
    xfree(parts);
    return -1;
}

static int lex_string(lexer *lx, expr *e)
{
    char q = lx->s[lx->i];
    size_t j = lx->i + 1;
    buf b = BUF_INIT;
    while (j < lx->n && lx->s[j] != q) {
        if (lx->s[j] == '\\' && j + 1 < lx->n && lx->s[j + 1] == q)
            j++;
        buf_putc(&b, lx->s[j]);
        j++;
    }
    if (j >= lx->n || !literal_end(lx, j + 1)) {
        buf_free(&b);
        return lex_fail(lx, "unterminated string");
    }
    e->kind = E_LIT;
    e->lit = json_stringn_nocheck(b.data ? b.data : "", b.len);
    buf_free(&b);
    e->src = (seg){lx->s + lx->i, j + 1 - lx->i};
    lx->i = j + 1;
    return 0;
}

/* A literal keyword or number if one starts here (and ends as a literal must); 1 if lexed. */
static int lex_keyword_or_number(lexer *lx, expr *e)
{
    static const char *const words[] = {"true", "false", "null", "undefined"};
    for (size_t w = 0; w < 4; w++) {
        size_t k = strlen(words[w]);
        if (at(lx, words[w]) && literal_end(lx, lx->i + k)) {
            e->src = (seg){lx->s + lx->i, k};
            lx->i += k;
            if (w == 3) {
                e->kind = E_UNDEF;
                return 1;
            }
            e->kind = E_LIT;
            e->lit = w == 0 ? json_true() : w == 1 ? json_false() : json_null();
            return 1;
        }
    }
    size_t j = lx->i;
    if (j < lx->n && lx->s[j] == '-')
        j++;
    size_t d = j;
    while (j < lx->n && lx->s[j] >= '0' && lx->s[j] <= '9')
        j++;
    if (j == d)
        return 0;
    bool real = false;
    if (j + 1 < lx->n && lx->s[j] == '.' && lx->s[j + 1] >= '0' && lx->s[j + 1] <= '9') {
        real = true;
        j++;
        while (j < lx->n && lx->s[j] >= '0' && lx->s[j] <= '9')
            j++;
    }
    if (!literal_end(lx, j))
        return 0;
    char tmp[64];
    size_t len = j - lx->i < sizeof tmp - 1 ? j - lx->i : sizeof tmp - 1;
    memcpy(tmp, lx->s + lx->i, len);
    tmp[len] = '\0';
    double v = strtod(tmp, NULL);
    e->kind = E_LIT;
    /* Handlebars numbers are JavaScript numbers; an integral one prints without ".0". */
    e->lit = !real && len < 16 ? json_integer(strtoll(tmp, NULL, 10)) : json_real(v);
    e->src = (seg){lx->s + lx->i, j - lx->i};
    lx->i = j;
    return 1;
}

static int lex_expr(lexer *lx, expr *e)
{
    memset(e, 0, sizeof *e);
    char c = lx->s[lx->i];
    if (c == '(')
        return lex_fail(lx, "sub-expressions are not supported");
    if (c == '"' || c == '\'')
        return lex_string(lx, e);
    int r = lex_keyword_or_number(lx, e);
    if (r)
        return 0;
    return lex_path(lx, e);
}

/* Where the tag's closing braces start, after an optional '~'. */
static bool at_close(const lexer *lx, bool triple, bool *tilde)
{
    size_t i = lx->i;
    bool t = false;
    if (i < lx->n && lx->s[i] == '~') {
        t = true;
        i++;
    }
    const char *cl = triple ? "}}}" : "}}";
    size_t k = strlen(cl);
    if (lx->n - i >= k && memcmp(lx->s + i, cl, k) == 0) {
        if (tilde)
            *tilde = t;
        return true;
    }
    return false;
}

static void consume_close(lexer *lx, bool triple)
{
    if (lx->s[lx->i] == '~')
        lx->i++;
    lx->i += triple ? 3 : 2;
}

/* The head, parameters, hash and block parameters of a tag, up to its closing braces. */
static int lex_call(lexer *lx, call *c, bool triple, bool allow_empty, bool *tilde)
{
    size_t capp = 0, caph = 0;
    bool have_head = false;
    for (;;) {
        skip_ws(lx);
        if (lx->i >= lx->n)
            return lex_fail(lx, "unclosed tag");
        if (at_close(lx, triple, tilde))
            break;
        if (!have_head) {
            if (lex_expr(lx, &c->head) < 0)
                return -1;
            have_head = true;
            continue;
        }
        if (c->nbp)
            return lex_fail(lx, "unexpected text after block parameters");
        if (at(lx, "as") && lx->i + 2 < lx->n && is_ws(lx->s[lx->i + 2])) {
            size_t save = lx->i;
            lx->i += 2;
            skip_ws(lx);
            if (lx->i < lx->n && lx->s[lx->i] == '|') {
                lx->i++;
                for (;;) {
                    skip_ws(lx);
                    if (lx->i < lx->n && lx->s[lx->i] == '|') {
                        lx->i++;
                        break;
                    }
                    size_t j = lx->i;
                    while (j < lx->n && is_id_char(lx->s[j]))
                        j++;
                    if (j == lx->i || c->nbp == MAX_BLOCK_PARAMS)
                        return lex_fail(lx, "invalid block parameters");
                    c->bp[c->nbp++] = (seg){lx->s + lx->i, j - lx->i};
                    lx->i = j;
                }
                if (c->nbp == 0)
                    return lex_fail(lx, "invalid block parameters");
                continue;
            }
            lx->i = save;
        }
        /* key=value */
        size_t j = lx->i;
        while (j < lx->n && is_id_char(lx->s[j]))
            j++;
        if (j > lx->i && j < lx->n && lx->s[j] == '=') {
            hashp h = {.key = {lx->s + lx->i, j - lx->i}};
            lx->i = j + 1;
            skip_ws(lx);
            if (lx->i >= lx->n || at_close(lx, triple, NULL))
                return lex_fail(lx, "missing hash value");
            if (lex_expr(lx, &h.val) < 0)
                return -1;
            XGROW(c->hash, c->nhash, caph);
            c->hash[c->nhash++] = h;
            continue;
        }
        if (c->nhash)
            return lex_fail(lx, "parameters must come before hash arguments");
        XGROW(c->params, c->nparams, capp);
        if (lex_expr(lx, &c->params[c->nparams]) < 0)
            return -1;
        c->nparams++;
    }
    if (!have_head && !allow_empty)
        return lex_fail(lx, "empty expression");
    return 0;
}

/* A literal in head position is looked up as a property of that name, as Handlebars does. */
static void literal_to_path(expr *e)
{
    if (e->kind == E_PATH)
        return;
    seg g = e->src;
    if (e->kind == E_LIT && json_is_string(e->lit))
        g = (seg){json_string_value(e->lit), json_string_length(e->lit)};
    e->segs = xmalloc(sizeof(seg));
    e->segs[0] = g;
    e->nseg = 1;
    e->kind = E_PATH;
}

static int helper_of(const expr *e)
{
    if (e->kind != E_PATH || e->data || e->scoped || e->up || e->nseg != 1)
        return H_NONE;
    seg g = e->segs[0];
    if (seg_is(g, "if"))
        return H_IF;
    if (seg_is(g, "unless"))
        return H_UNLESS;
    if (seg_is(g, "each"))
        return H_EACH;
    if (seg_is(g, "with"))
        return H_WITH;
    if (seg_is(g, "lookup"))
        return H_LOOKUP;
    if (seg_is(g, "log"))
        return H_LOG;
    return H_NONE;
}

static int check_helper(lexer *lx, node *nd, bool block)
{
    nd->helper = helper_of(&nd->c.head);
    size_t np = nd->c.nparams;
    char msg[96];
    switch (nd->helper) {
    case H_IF:
    case H_UNLESS:
    case H_EACH:
    case H_WITH:
        if (np != 1) {
            snprintf(msg, sizeof msg, "#%.*s requires exactly one argument", (int)nd->c.head.src.n,
                     nd->c.head.src.p);
            return lex_fail(lx, msg);
        }
        return 0;
    case H_LOOKUP:
        if (block || np != 2)
            return lex_fail(lx, "lookup requires two arguments and is not a block helper");
        return 0;
    case H_LOG:
        if (block)
            return lex_fail(lx, "log is not a block helper");
        return 0;
    }
    return 0;
}

/* ==== parser ============================================================================== */

typedef struct open_block {
    node *blk;
    bool chained; /* opened by {{else x}}: closed together with the block before it */
    program *cur;
} open_block;

typedef struct parser {
    tmpl *t;
    open_block stack[SES_TEMPLATE_MAX_DEPTH];
    size_t depth;
    char *err;
    size_t errlen;
} parser;

static program *cur_prog(parser *ps)
{
    return ps->depth ? ps->stack[ps->depth - 1].cur : &ps->t->root;
}

static void add_text(parser *ps, size_t a, size_t b)
{
    if (b <= a)
        return;
    node *nd = xcalloc(1, sizeof *nd);
    nd->kind = N_TEXT;
    nd->pos = a;
    nd->ostart = nd->start = a;
    nd->oend = nd->end = b;
    prog_add(cur_prog(ps), nd);
}

static int push_block(parser *ps, lexer *lx, node *nd, bool chained, program *cur)
{
    if (ps->depth == SES_TEMPLATE_MAX_DEPTH)
        return lex_fail(lx, "blocks are nested too deeply");
    ps->stack[ps->depth++] = (open_block){nd, chained, cur};
    return 0;
}

/* Parses the tag starting at lx->tag ("{{"); lx->i is left after it. */
static int parse_tag(parser *ps, lexer *lx)
{
    const char *s = lx->s;
    node *nd = NULL;
    lx->i = lx->tag + 2;
    if (lx->i < lx->n && s[lx->i] == '{' && lx->i + 1 < lx->n && s[lx->i + 1] == '{')
        return lex_fail(lx, "raw blocks are not supported");
    bool triple = lx->i < lx->n && s[lx->i] == '{';
    if (triple)
        lx->i++;
    strip st = {0};
    if (lx->i < lx->n && s[lx->i] == '~') {
        st.open = true;
        lx->i++;
    }
    char sigil = lx->i < lx->n && !triple ? s[lx->i] : '\0';

    if (sigil == '!') {
        bool dash = lx->n - lx->i >= 3 && memcmp(s + lx->i, "!--", 3) == 0;
        const char *end = dash ? "--" : "";
        size_t j = lx->i + (dash ? 3 : 1);
        for (;; j++) {
            if (j >= lx->n)
                return lex_fail(lx, "unclosed comment");
            size_t k = strlen(end);
            if (lx->n - j >= k + 2 && memcmp(s + j, end, k) == 0) {
                size_t m = j + k;
                bool tl = s[m] == '~';
                if (lx->n - m - tl >= 2 && s[m + tl] == '}' && s[m + tl + 1] == '}') {
                    st.close = tl;
                    lx->i = m + tl + 2;
                    break;
                }
            }
        }
        nd = xcalloc(1, sizeof *nd);
        nd->kind = N_COMMENT;
        nd->pos = lx->tag;
        nd->open_strip = st;
        prog_add(cur_prog(ps), nd);
        return 0;
    }

    nd = xcalloc(1, sizeof *nd);
    nd->pos = lx->tag;
    bool tl = false;

    if (sigil == '/') {
        lx->i++;
        skip_ws(lx);
        expr e = {0};
        if (lx->i >= lx->n || lex_path(lx, &e) < 0)
            goto fail;
        free_expr(&e);
        skip_ws(lx);
        if (!at_close(lx, false, &tl)) {
            lex_fail(lx, "invalid close tag");
            goto fail;
        }
        consume_close(lx, false);
        free_node(nd);
        nd = NULL;
        if (!ps->depth)
            return lex_fail(lx, "close tag without an open block");
        strip cs = {st.open, tl};
        while (ps->depth && ps->stack[ps->depth - 1].chained)
            ps->stack[--ps->depth].blk->close_strip = cs;
        if (!ps->depth)
            return lex_fail(lx, "close tag without an open block");
        node *open = ps->stack[ps->depth - 1].blk;
        if (!seg_eq(open->c.head.src, e.src)) {
            char msg[160];
            snprintf(msg, sizeof msg, "%.*s doesn't match %.*s", (int)open->c.head.src.n,
                     open->c.head.src.p, (int)e.src.n, e.src.p);
            return lex_fail(lx, msg);
        }
        open->close_strip = cs;
        ps->depth--;
        return 0;
    }

    /* {{else}}, {{^}}, {{else helper args}} */
    bool is_else = false;
    if (sigil == '^') {
        size_t save = lx->i;
        lx->i++;
        skip_ws(lx);
        if (at_close(lx, false, &tl)) {
            is_else = true;
        } else {
            lx->i = save;
        }
    } else if (!triple && sigil != '#' && sigil != '>' && sigil != '&') {
        size_t save = lx->i;
        skip_ws(lx);
        if (at(lx, "else") && (lx->i + 4 >= lx->n || is_ws(s[lx->i + 4]) || s[lx->i + 4] == '~' ||
                               s[lx->i + 4] == '}')) {
            lx->i += 4;
            is_else = true;
        } else {
            lx->i = save;
        }
    }
    if (is_else) {
        if (!ps->depth) {
            lex_fail(lx, "{{else}} outside a block");
            goto fail;
        }
        open_block *ob = &ps->stack[ps->depth - 1];
        node *blk = ob->blk;
        if (blk->kind == N_INLINE || blk->has_else) {
            lex_fail(lx, "unexpected {{else}}");
            goto fail;
        }
        if (lex_call(lx, &nd->c, false, true, &tl) < 0)
            goto fail;
        consume_close(lx, false);
        blk->has_else = true;
        blk->inv_strip = (strip){st.open, tl};
        program *p = new_program();
        if (blk->inverted)
            blk->prog = p;
        else
            blk->inv = p;
        if (!nd->c.head.src.p) { /* a plain {{else}} */
            free_node(nd);
            ob->cur = p;
            return 0;
        }
        /* {{else if x}}: the rest of the block is a block of its own inside the inverse. */
        literal_to_path(&nd->c.head);
        if (check_helper(lx, nd, true) < 0)
            goto fail;
        nd->kind = N_BLOCK;
        nd->open_strip = blk->inv_strip;
        nd->prog = new_program();
        p->chained = true;
        prog_add(p, nd);
        ob->cur = p;
        return push_block(ps, lx, nd, true, nd->prog);
    }

    if (sigil == '#' || sigil == '^') {
        lx->i++;
        bool deco = sigil == '#' && lx->i < lx->n && s[lx->i] == '*';
        if (sigil == '#' && lx->i < lx->n && s[lx->i] == '>') {
            lex_fail(lx, "partial blocks are not supported");
            goto fail;
        }
        if (deco)
            lx->i++;
        if (lex_call(lx, &nd->c, false, false, &tl) < 0)
            goto fail;
        consume_close(lx, false);
        nd->open_strip = (strip){st.open, tl};
        if (deco) {
            if (!(nd->c.head.kind == E_PATH && nd->c.head.nseg == 1 &&
                  seg_is(nd->c.head.segs[0], "inline")) ||
                nd->c.nparams != 1 || nd->c.params[0].kind != E_LIT ||
                !json_is_string(nd->c.params[0].lit)) {
                lex_fail(lx, "the only decorator is {{#*inline \"name\"}}");
                goto fail;
            }
            nd->kind = N_INLINE;
            nd->name = (seg){json_string_value(nd->c.params[0].lit),
                             json_string_length(nd->c.params[0].lit)};
            nd->prog = new_program();
            tmpl *t = ps->t;
            XGROW(t->inl, t->ninl, t->capinl);
            t->inl[t->ninl++] = nd;
            prog_add(cur_prog(ps), nd);
            return push_block(ps, lx, nd, false, nd->prog);
        }
        literal_to_path(&nd->c.head);
        if (check_helper(lx, nd, true) < 0)
            goto fail;
        nd->kind = N_BLOCK;
        nd->inverted = sigil == '^';
        program *p = new_program();
        if (nd->inverted)
            nd->inv = p;
        else
            nd->prog = p;
        prog_add(cur_prog(ps), nd);
        return push_block(ps, lx, nd, false, p);
    }

    if (sigil == '>') {
        lx->i++;
        skip_ws(lx);
        if (lex_call(lx, &nd->c, false, false, &tl) < 0)
            goto fail;
        consume_close(lx, false);
        if (nd->c.nparams > 1) {
            lex_fail(lx, "a partial takes at most one context argument");
            goto fail;
        }
        if (nd->c.nbp) {
            lex_fail(lx, "block parameters on a partial");
            goto fail;
        }
        expr *h = &nd->c.head;
        nd->name = h->kind == E_LIT && json_is_string(h->lit)
                       ? (seg){json_string_value(h->lit), json_string_length(h->lit)}
                       : h->src;
        nd->kind = N_PARTIAL;
        nd->open_strip = (strip){st.open, tl};
        prog_add(cur_prog(ps), nd);
        return 0;
    }

    if (sigil == '&')
        lx->i++;
    if (lex_call(lx, &nd->c, triple, false, &tl) < 0)
        goto fail;
    consume_close(lx, triple);
    if (nd->c.nbp) {
        lex_fail(lx, "block parameters outside a block");
        goto fail;
    }
    literal_to_path(&nd->c.head);
    if (check_helper(lx, nd, false) < 0)
        goto fail;
    nd->kind = N_VAR;
    nd->open_strip = (strip){st.open, tl};
    prog_add(cur_prog(ps), nd);
    return 0;
fail:
    free_node(nd);
    return -1;
}

static int parse(tmpl *t, const char *src, size_t n, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    t->src = src;
    t->n = n;
    parser ps = {.t = t, .err = err, .errlen = errlen};
    lexer lx = {.s = src, .n = n, .err = err, .errlen = errlen};
    size_t text = 0, i = 0;
    while (i + 1 < n) {
        if (src[i] != '{' || src[i + 1] != '{') {
            i++;
            continue;
        }
        /* \{{ is a literal "{{"; \\{{ is a backslash and then a tag. */
        if (i > text && src[i - 1] == '\\') {
            if (i - 1 > text && src[i - 2] == '\\') {
                add_text(&ps, text, i - 1);
            } else {
                add_text(&ps, text, i - 1);
                text = i;
                i += 2;
                continue;
            }
        } else {
            add_text(&ps, text, i);
        }
        lx.tag = i;
        if (parse_tag(&ps, &lx) < 0)
            return -1;
        i = text = lx.i;
    }
    add_text(&ps, text, n);
    if (ps.depth) {
        node *open = ps.stack[0].blk;
        for (size_t k = ps.depth; k-- > 0;) {
            if (!ps.stack[k].chained) {
                open = ps.stack[k].blk;
                break;
            }
        }
        set_err(err, errlen, "Template syntax error on line %zu: unclosed {{#%.*s}} block",
                line_of(src, open->pos), (int)open->c.head.src.n, open->c.head.src.p);
        return -1;
    }
    return 0;
}

static void free_tmpl(tmpl *t)
{
    free_program(&t->root);
    xfree(t->inl);
}

/* ==== whitespace control (Handlebars' WhitespaceControl) ================================== */

static node *text_at(const program *p, size_t i)
{
    return i < p->n && p->v[i]->kind == N_TEXT ? p->v[i] : NULL;
}

/* Whether the whitespace at the end of [a, b) contains a newline; or, with `all`, whether the
 * text is whitespace only. */
static bool ends_line(const char *s, size_t a, size_t b, bool all)
{
    size_t j = b;
    while (j > a && is_ws(s[j - 1])) {
        if (s[j - 1] == '\n')
            return true;
        j--;
    }
    return all && j == a;
}

static bool starts_line(const char *s, size_t a, size_t b, bool all)
{
    size_t j = a;
    while (j < b && is_ws(s[j])) {
        if (s[j] == '\n')
            return true;
        j++;
    }
    return all && j == b;
}

/* i: index of the node, or p->n to ask about the end of the program. */
static bool prev_ws(const char *s, const program *p, size_t i, bool root)
{
    if (i == 0)
        return root;
    node *prev = p->v[i - 1];
    if (prev->kind != N_TEXT)
        return false;
    bool sibling = i >= 2;
    return ends_line(s, prev->ostart, prev->oend, !(sibling || !root));
}

/* i: index of the node, or SIZE_MAX to ask about the start of the program. */
static bool next_ws(const char *s, const program *p, size_t i, bool root)
{
    size_t nx = i == SIZE_MAX ? 0 : i + 1;
    if (nx >= p->n)
        return root;
    node *next = p->v[nx];
    if (next->kind != N_TEXT)
        return false;
    bool sibling = nx + 1 < p->n;
    return starts_line(s, next->ostart, next->oend, !(sibling || !root));
}

static void omit_right(const char *s, program *p, size_t i, bool multiple)
{
    node *t = text_at(p, i == SIZE_MAX ? 0 : i + 1);
    if (!t || (!multiple && t->rstripped))
        return;
    size_t a = t->start;
    if (multiple) {
        while (a < t->end && is_ws(s[a]))
            a++;
    } else {
        while (a < t->end && (s[a] == ' ' || s[a] == '\t'))
            a++;
        if (a < t->end && s[a] == '\r' && a + 1 < t->end && s[a + 1] == '\n')
            a += 2;
        else if (a < t->end && s[a] == '\n')
            a++;
    }
    t->rstripped = a != t->start;
    t->start = a;
}

static bool omit_left(const char *s, program *p, size_t i, bool multiple)
{
    node *t = i == SIZE_MAX ? (p->n ? text_at(p, p->n - 1) : NULL) : (i ? text_at(p, i - 1) : NULL);
    if (!t || (!multiple && t->lstripped))
        return false;
    size_t b = t->end;
    if (multiple) {
        while (b > t->start && is_ws(s[b - 1]))
            b--;
    } else {
        while (b > t->start && (s[b - 1] == ' ' || s[b - 1] == '\t'))
            b--;
    }
    t->lstripped = b != t->end;
    t->end = b;
    return t->lstripped;
}

typedef struct ws_strip {
    bool any, open, close, open_sa, close_sa, inline_sa;
} ws_strip;

static void ws_program(const char *s, program *p, bool root);

static ws_strip ws_block(const char *s, node *b)
{
    if (b->prog)
        ws_program(s, b->prog, false);
    if (b->inv)
        ws_program(s, b->inv, false);
    program *prog = b->prog ? b->prog : b->inv;
    program *inv = b->prog ? b->inv : NULL;
    program *first_inv = inv, *last_inv = inv;
    if (inv && inv->chained) {
        first_inv = inv->v[0]->prog ? inv->v[0]->prog : inv->v[0]->inv;
        while (last_inv->chained) {
            /* Handlebars walks to the last chained block's main program (not its inverse). */
            node *c = last_inv->v[last_inv->n - 1];
            if (!c->prog)
                break;
            last_inv = c->prog;
        }
    }
    program *cs = first_inv ? first_inv : prog;
    ws_strip r = {
        .any = true,
        .open = b->open_strip.open,
        .close = b->close_strip.close,
        .open_sa = next_ws(s, prog, SIZE_MAX, false),
        .close_sa = prev_ws(s, cs, cs->n, false),
    };
    if (b->open_strip.close)
        omit_right(s, prog, SIZE_MAX, true);
    if (inv) {
        if (b->inv_strip.open)
            omit_left(s, prog, SIZE_MAX, true);
        if (b->inv_strip.close && first_inv)
            omit_right(s, first_inv, SIZE_MAX, true);
        if (b->close_strip.open && last_inv)
            omit_left(s, last_inv, SIZE_MAX, true);
        if (first_inv && prev_ws(s, prog, prog->n, false) &&
            next_ws(s, first_inv, SIZE_MAX, false)) {
            omit_left(s, prog, SIZE_MAX, false);
            omit_right(s, first_inv, SIZE_MAX, false);
        }
    } else if (b->close_strip.open) {
        omit_left(s, prog, SIZE_MAX, true);
    }
    return r;
}

static void ws_program(const char *s, program *p, bool root)
{
    for (size_t i = 0; i < p->n; i++) {
        node *c = p->v[i];
        ws_strip st = {0};
        switch (c->kind) {
        case N_TEXT:
            continue;
        case N_VAR:
            st = (ws_strip){.any = true, .open = c->open_strip.open, .close = c->open_strip.close};
            break;
        case N_COMMENT:
        case N_PARTIAL:
            st = (ws_strip){.any = true,
                            .open = c->open_strip.open,
                            .close = c->open_strip.close,
                            .inline_sa = true};
            break;
        case N_BLOCK:
        case N_INLINE:
            st = ws_block(s, c);
            break;
        }
        bool pw = prev_ws(s, p, i, root), nw = next_ws(s, p, i, root);
        bool open_sa = st.open_sa && pw, close_sa = st.close_sa && nw;
        bool inline_sa = st.inline_sa && pw && nw;
        if (st.close)
            omit_right(s, p, i, true);
        if (st.open)
            omit_left(s, p, i, true);
        if (inline_sa) {
            omit_right(s, p, i, false);
            if (omit_left(s, p, i, false) && c->kind == N_PARTIAL) {
                node *prev = p->v[i - 1];
                size_t b = prev->oend, a = b;
                while (a > prev->ostart && (s[a - 1] == ' ' || s[a - 1] == '\t'))
                    a--;
                c->indent = (seg){s + a, b - a};
            }
        }
        if (open_sa) {
            omit_right(s, c->prog ? c->prog : c->inv, SIZE_MAX, false);
            omit_left(s, p, i, false);
        }
        if (close_sa) {
            omit_right(s, p, i, false);
            omit_left(s, c->inv ? c->inv : c->prog, SIZE_MAX, false);
        }
    }
}

/* ==== values ============================================================================== */

enum { V_UNDEF, V_JSON, V_INT, V_BOOL, V_STR };

typedef struct val {
    int k;
    const json_t *j;
    long long i;
    const char *s;
    size_t n;
} val;

static const val UNDEF = {V_UNDEF, NULL, 0, NULL, 0};

static val vjson(const json_t *j)
{
    return j ? (val){V_JSON, j, 0, NULL, 0} : UNDEF;
}

/* JavaScript's Number.prototype.toString: the shortest digits that read back to the same
 * double, in fixed notation from 1e-7 up to 1e21 and exponent notation outside. */
static void put_js_number(buf *b, double d)
{
    if (d == 0) {
        buf_putc(b, '0');
        return;
    }
    char tmp[40];
    for (int p = 1; p <= 17; p++) {
        snprintf(tmp, sizeof tmp, "%.*e", p - 1, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    const char *q = tmp;
    if (*q == '-') {
        buf_putc(b, '-');
        q++;
    }
    char dig[24];
    int k = 0;
    for (; *q && *q != 'e'; q++)
        if (*q >= '0' && *q <= '9' && k < 20)
            dig[k++] = *q;
    int e = *q == 'e' ? atoi(q + 1) : 0;
    while (k > 1 && dig[k - 1] == '0')
        k--;
    int n = e + 1;
    if (k <= n && n <= 21) {
        buf_append(b, dig, (size_t)k);
        for (int z = 0; z < n - k; z++)
            buf_putc(b, '0');
    } else if (0 < n && n <= 21) {
        buf_append(b, dig, (size_t)n);
        buf_putc(b, '.');
        buf_append(b, dig + n, (size_t)(k - n));
    } else if (-6 < n && n <= 0) {
        buf_puts(b, "0.");
        for (int z = 0; z < -n; z++)
            buf_putc(b, '0');
        buf_append(b, dig, (size_t)k);
    } else {
        buf_putc(b, dig[0]);
        if (k > 1) {
            buf_putc(b, '.');
            buf_append(b, dig + 1, (size_t)(k - 1));
        }
        buf_printf(b, "e%c%d", n - 1 >= 0 ? '+' : '-', abs(n - 1));
    }
}

/* JavaScript's String(value) for a JSON value: what Handlebars appends for a mustache. */
static void put_json(buf *b, const json_t *j, int depth)
{
    switch (json_typeof(j)) {
    case JSON_STRING:
        buf_append(b, json_string_value(j), json_string_length(j));
        break;
    case JSON_INTEGER:
        buf_printf(b, "%lld", (long long)json_integer_value(j));
        break;
    case JSON_REAL:
        put_js_number(b, json_real_value(j));
        break;
    case JSON_TRUE:
        buf_puts(b, "true");
        break;
    case JSON_FALSE:
        buf_puts(b, "false");
        break;
    case JSON_NULL:
        break;
    case JSON_OBJECT:
        buf_puts(b, "[object Object]");
        break;
    case JSON_ARRAY:
        /* Array.prototype.join: nested arrays flatten, null elements are empty. */
        if (depth >= SES_TEMPLATE_MAX_DEPTH)
            break;
        for (size_t i = 0; i < json_array_size(j); i++) {
            if (i)
                buf_putc(b, ',');
            put_json(b, json_array_get(j, i), depth + 1);
        }
        break;
    }
}

static void put_val(buf *b, val v)
{
    switch (v.k) {
    case V_JSON:
        put_json(b, v.j, 0);
        break;
    case V_INT:
        buf_printf(b, "%lld", v.i);
        break;
    case V_BOOL:
        buf_puts(b, v.i ? "true" : "false");
        break;
    case V_STR:
        buf_append(b, v.s, v.n);
        break;
    }
}

/* Handlebars' Utils.isEmpty: undefined, null, false, "", NaN and [] (but not 0). */
static bool is_empty(val v)
{
    switch (v.k) {
    case V_UNDEF:
        return true;
    case V_INT:
        return false;
    case V_BOOL:
        return !v.i;
    case V_STR:
        return v.n == 0;
    }
    switch (json_typeof(v.j)) {
    case JSON_NULL:
    case JSON_FALSE:
        return true;
    case JSON_STRING:
        return json_string_length(v.j) == 0;
    case JSON_ARRAY:
        return json_array_size(v.j) == 0;
    default:
        return false;
    }
}

static bool is_zero(val v)
{
    if (v.k == V_INT)
        return v.i == 0;
    if (v.k != V_JSON)
        return false;
    if (json_is_integer(v.j))
        return json_integer_value(v.j) == 0;
    return json_is_real(v.j) && json_real_value(v.j) == 0;
}

/* ==== render ============================================================================== */

typedef struct iter_data {
    long long index;
    const char *key;
    size_t keylen;
    bool is_key, first, last;
} iter_data;

typedef struct bp_scope {
    const seg *names;
    size_t n;
    val v[2];
    const struct bp_scope *up;
} bp_scope;

typedef struct rs {
    const tmpl *t;
    buf *out;
    size_t base;
    const json_t *root;
    const json_t *ctx[SES_TEMPLATE_MAX_RENDER_DEPTH + 2];
    size_t nctx;
    const iter_data *data;
    const bp_scope *bps;
    size_t depth;
    size_t steps;
    json_t **tmps; /* values made during the render (contexts, partial hashes) */
    size_t ntmps, captmps;
    char *err;
    size_t errlen;
} rs;

static json_t *keep(rs *r, json_t *j)
{
    XGROW(r->tmps, r->ntmps, r->captmps);
    r->tmps[r->ntmps++] = j;
    return j;
}

static const json_t *val_json(rs *r, val v)
{
    switch (v.k) {
    case V_JSON:
        return v.j;
    case V_INT:
        return keep(r, json_integer(v.i));
    case V_BOOL:
        return v.i ? json_true() : json_false();
    case V_STR:
        return keep(r, json_stringn_nocheck(v.s, v.n));
    }
    return NULL;
}

static val step(val v, seg g)
{
    if (v.k != V_JSON)
        return UNDEF;
    if (json_is_object(v.j))
        return vjson(json_object_getn(v.j, g.p, g.n));
    if (json_is_array(v.j)) {
        if (seg_is(g, "length"))
            return (val){V_INT, NULL, (long long)json_array_size(v.j), NULL, 0};
        size_t idx = 0;
        if (g.n == 0 || g.n > 9)
            return UNDEF;
        for (size_t i = 0; i < g.n; i++) {
            if (g.p[i] < '0' || g.p[i] > '9')
                return UNDEF;
            idx = idx * 10 + (size_t)(g.p[i] - '0');
        }
        return vjson(json_array_get(v.j, idx));
    }
    return UNDEF;
}

static val eval(rs *r, const expr *e)
{
    if (e->kind == E_UNDEF)
        return UNDEF;
    if (e->kind == E_LIT)
        return vjson(e->lit);
    size_t i = 0;
    val v;
    if (e->data) {
        seg g = e->segs[0];
        i = 1;
        const iter_data *d = r->data;
        if (seg_is(g, "root"))
            v = vjson(r->root);
        else if (!d)
            return UNDEF;
        else if (seg_is(g, "index"))
            v = (val){V_INT, NULL, d->index, NULL, 0};
        else if (seg_is(g, "key"))
            v = d->is_key ? (val){V_STR, NULL, 0, d->key, d->keylen}
                          : (val){V_INT, NULL, d->index, NULL, 0};
        else if (seg_is(g, "first"))
            v = (val){V_BOOL, NULL, d->first, NULL, 0};
        else if (seg_is(g, "last"))
            v = (val){V_BOOL, NULL, d->last, NULL, 0};
        else
            return UNDEF;
    } else {
        bool found = false;
        if (!e->scoped && !e->up && e->nseg) {
            for (const bp_scope *b = r->bps; b && !found; b = b->up) {
                for (size_t k = 0; k < b->n; k++) {
                    if (seg_eq(b->names[k], e->segs[0])) {
                        v = k < 2 ? b->v[k] : UNDEF;
                        found = true;
                        i = 1;
                        break;
                    }
                }
            }
        }
        if (!found) {
            if (e->up >= r->nctx)
                return UNDEF;
            v = vjson(r->ctx[r->nctx - 1 - e->up]);
        }
    }
    for (; i < e->nseg && v.k != V_UNDEF; i++)
        v = step(v, e->segs[i]);
    return v;
}

static int rfail(rs *r, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int rfail(rs *r, int status, const char *fmt, ...)
{
    if (r->err && r->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->err, r->errlen, fmt, ap);
        va_end(ap);
    }
    return status;
}

static int missing(rs *r, seg name)
{
    return rfail(r, SES_TEMPLATE_MISSING, "Attribute '%.*s' is not present in the rendering data.",
                 (int)name.n, name.p);
}

static int check_out(rs *r)
{
    if (r->out->len - r->base > SES_TEMPLATE_MAX_OUTPUT)
        return rfail(r, SES_TEMPLATE_INVALID, "The rendered template is larger than %u bytes.",
                     SES_TEMPLATE_MAX_OUTPUT);
    return 0;
}

static int tick(rs *r)
{
    if (++r->steps > SES_TEMPLATE_MAX_STEPS)
        return rfail(r, SES_TEMPLATE_INVALID,
                     "The template takes too long to render (more than %u steps).",
                     SES_TEMPLATE_MAX_STEPS);
    return 0;
}

static int render_program(rs *r, const program *p);

/* Renders p (may be NULL: nothing) with ctx as the context (pushed when it differs from the
 * current one, as Handlebars pushes depths), data as @data and bps as the innermost scope. */
static int render_with(rs *r, const program *p, const json_t *ctx, bool push, const iter_data *data,
                       const bp_scope *bps)
{
    if (!p)
        return 0;
    if (r->depth >= SES_TEMPLATE_MAX_RENDER_DEPTH)
        return rfail(r, SES_TEMPLATE_INVALID, "Blocks and partials are nested more than %d deep.",
                     SES_TEMPLATE_MAX_RENDER_DEPTH);
    const iter_data *sd = r->data;
    const bp_scope *sb = r->bps;
    size_t sn = r->nctx;
    if (push && ctx != r->ctx[r->nctx - 1])
        r->ctx[r->nctx++] = ctx;
    r->data = data;
    r->bps = bps;
    r->depth++;
    int rc = render_program(r, p);
    r->depth--;
    r->nctx = sn;
    r->data = sd;
    r->bps = sb;
    return rc;
}

static const json_t *cur_ctx(const rs *r)
{
    return r->ctx[r->nctx - 1];
}

static bool include_zero(rs *r, const node *nd)
{
    for (size_t i = 0; i < nd->c.nhash; i++) {
        if (seg_is(nd->c.hash[i].key, "includeZero"))
            return !is_empty(eval(r, &nd->c.hash[i].val));
    }
    return false;
}

/* Handlebars' each: arrays by index, objects by key; the inverse when nothing iterates. */
static int render_each(rs *r, const node *nd, val v, const program *fn, const program *inverse)
{
    bp_scope scope = {nd->c.bp, nd->c.nbp, {UNDEF, UNDEF}, r->bps};
    const bp_scope *bs = nd->c.nbp ? &scope : r->bps;
    size_t count = 0;
    int rc;
    if (v.k == V_JSON && json_is_array(v.j)) {
        size_t n = json_array_size(v.j);
        for (size_t i = 0; i < n; i++, count++) {
            if ((rc = tick(r)) < 0)
                return rc;
            const json_t *item = json_array_get(v.j, i);
            iter_data d = {.index = (long long)i, .first = i == 0, .last = i + 1 == n};
            scope.v[0] = vjson(item);
            scope.v[1] = (val){V_INT, NULL, (long long)i, NULL, 0};
            if ((rc = render_with(r, fn, item, true, &d, bs)) < 0)
                return rc;
        }
    } else if (v.k == V_JSON && json_is_object(v.j)) {
        json_t *o = (json_t *)v.j;
        void *it = json_object_iter(o);
        for (long long i = 0; it; i++, count++) {
            if ((rc = tick(r)) < 0)
                return rc;
            void *next = json_object_iter_next(o, it);
            const json_t *item = json_object_iter_value(it);
            iter_data d = {.index = i,
                           .key = json_object_iter_key(it),
                           .keylen = json_object_iter_key_len(it),
                           .is_key = true,
                           .first = i == 0,
                           .last = next == NULL};
            scope.v[0] = vjson(item);
            scope.v[1] = (val){V_STR, NULL, 0, d.key, d.keylen};
            if ((rc = render_with(r, fn, item, true, &d, bs)) < 0)
                return rc;
            it = next;
        }
    }
    if (count == 0)
        return render_with(r, inverse, cur_ctx(r), false, r->data, r->bps);
    return 0;
}

static int render_block(rs *r, const node *nd)
{
    const program *fn = nd->prog, *inverse = nd->inv;
    if (nd->helper == H_NONE) {
        if (nd->c.nparams || nd->c.nhash)
            return missing(r, nd->c.head.src);
        /* A section: Handlebars' blockHelperMissing. */
        val v = eval(r, &nd->c.head);
        if (v.k == V_UNDEF)
            return missing(r, nd->c.head.src);
        if (v.k == V_JSON && json_is_array(v.j)) {
            if (json_array_size(v.j) == 0)
                return render_with(r, inverse, cur_ctx(r), false, r->data, r->bps);
            return render_each(r, nd, v, fn, inverse);
        }
        if ((v.k == V_JSON && json_is_true(v.j)) || (v.k == V_BOOL && v.i))
            return render_with(r, fn, cur_ctx(r), false, r->data, r->bps);
        if ((v.k == V_JSON && (json_is_false(v.j) || json_is_null(v.j))) || v.k == V_BOOL)
            return render_with(r, inverse, cur_ctx(r), false, r->data, r->bps);
        return render_with(r, fn, val_json(r, v), true, r->data, r->bps);
    }
    val v = eval(r, &nd->c.params[0]);
    switch (nd->helper) {
    case H_IF:
    case H_UNLESS: {
        bool falsy = (!include_zero(r, nd) && (is_zero(v) || is_empty(v))) || is_empty(v);
        bool take = nd->helper == H_IF ? !falsy : falsy;
        return render_with(r, take ? fn : inverse, cur_ctx(r), false, r->data, r->bps);
    }
    case H_WITH: {
        if (is_empty(v))
            return render_with(r, inverse, cur_ctx(r), false, r->data, r->bps);
        const json_t *ctx = val_json(r, v);
        bp_scope scope = {nd->c.bp, nd->c.nbp, {vjson(ctx), UNDEF}, r->bps};
        return render_with(r, fn, ctx, true, r->data, nd->c.nbp ? &scope : r->bps);
    }
    case H_EACH:
        return render_each(r, nd, v, fn, inverse);
    }
    return 0;
}

static const node *find_inline(const tmpl *t, seg name)
{
    for (size_t i = t->ninl; i-- > 0;)
        if (seg_eq(t->inl[i]->name, name))
            return t->inl[i];
    return NULL;
}

static int render_partial(rs *r, const node *nd)
{
    const node *def = find_inline(r->t, nd->name);
    if (!def)
        return rfail(r, SES_TEMPLATE_INVALID, "The partial %.*s could not be found",
                     (int)nd->name.n, nd->name.p);
    const json_t *ctx = cur_ctx(r);
    if (nd->c.nparams)
        ctx = val_json(r, eval(r, &nd->c.params[0]));
    if (nd->c.nhash) {
        json_t *o = keep(r, json_object());
        if (json_is_object(ctx))
            json_object_update(o, (json_t *)ctx);
        for (size_t i = 0; i < nd->c.nhash; i++) {
            const json_t *hv = val_json(r, eval(r, &nd->c.hash[i].val));
            if (hv)
                json_object_setn_nocheck(o, nd->c.hash[i].key.p, nd->c.hash[i].key.n, (json_t *)hv);
        }
        ctx = o;
    }
    if (!nd->indent.n)
        return render_with(r, def->prog, ctx, true, r->data, NULL);
    /* A standalone partial's indentation prefixes every line it renders. */
    size_t from = r->out->len;
    int rc = render_with(r, def->prog, ctx, true, r->data, NULL);
    if (rc < 0)
        return rc;
    size_t len = r->out->len - from;
    char *copy = xmemdup(r->out->data + from, len);
    r->out->len = from;
    size_t a = 0;
    while (a < len) {
        size_t b = a;
        while (b < len && copy[b] != '\n')
            b++;
        buf_append(r->out, nd->indent.p, nd->indent.n);
        buf_append(r->out, copy + a, b - a + (b < len));
        a = b + 1;
    }
    xfree(copy);
    return check_out(r);
}

static int render_node(rs *r, const node *nd)
{
    int rc = tick(r);
    if (rc < 0)
        return rc;
    switch (nd->kind) {
    case N_TEXT:
        buf_append(r->out, r->t->src + nd->start, nd->end - nd->start);
        return check_out(r);
    case N_COMMENT:
    case N_INLINE:
        return 0;
    case N_PARTIAL:
        return render_partial(r, nd);
    case N_BLOCK:
        return render_block(r, nd);
    case N_VAR:
        break;
    }
    val v;
    switch (nd->helper) {
    case H_NONE:
        if (nd->c.nparams || nd->c.nhash)
            return missing(r, nd->c.head.src);
        v = eval(r, &nd->c.head);
        if (v.k == V_UNDEF)
            return missing(r, nd->c.head.src);
        break;
    case H_LOOKUP: {
        val o = eval(r, &nd->c.params[0]), k = eval(r, &nd->c.params[1]);
        char num[24];
        seg g;
        if (k.k == V_STR) {
            g = (seg){k.s, k.n};
        } else if (k.k == V_INT) {
            g = (seg){num, (size_t)snprintf(num, sizeof num, "%lld", k.i)};
        } else if (k.k == V_JSON && json_is_string(k.j)) {
            g = (seg){json_string_value(k.j), json_string_length(k.j)};
        } else if (k.k == V_JSON && json_is_integer(k.j)) {
            g = (seg){
                num, (size_t)snprintf(num, sizeof num, "%lld", (long long)json_integer_value(k.j))};
        } else {
            return 0;
        }
        v = step(o, g);
        break;
    }
    default:
        /* if/unless/each/with used inline have no block to render; log writes nowhere. */
        return 0;
    }
    put_val(r->out, v);
    return check_out(r);
}

static int render_program(rs *r, const program *p)
{
    for (size_t i = 0; i < p->n; i++) {
        int rc = render_node(r, p->v[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ==== API ================================================================================= */

static int compile(tmpl *t, const char *text, size_t n, char *err, size_t errlen)
{
    if (!text)
        text = "";
    if (parse(t, text, n, err, errlen) < 0) {
        free_tmpl(t);
        return SES_TEMPLATE_INVALID;
    }
    ws_program(t->src, &t->root, true);
    return 0;
}

int ses_template_validate(const char *text, size_t n, char *err, size_t errlen)
{
    tmpl t;
    int rc = compile(&t, text, n, err, errlen);
    if (rc < 0)
        return rc;
    free_tmpl(&t);
    return 0;
}

int ses_template_render(const char *text, size_t n, const json_t *data, int html, buf *out,
                        char *err, size_t errlen)
{
    (void)html;
    if (!json_is_object(data)) {
        set_err(err, errlen, "Template rendering data must be a JSON object.");
        return SES_TEMPLATE_BAD_DATA;
    }
    tmpl t;
    int rc = compile(&t, text, n, err, errlen);
    if (rc < 0)
        return rc;
    rs *r = xcalloc(1, sizeof *r);
    r->t = &t;
    r->out = out;
    r->base = out->len;
    r->root = data;
    r->ctx[0] = data;
    r->nctx = 1;
    r->err = err;
    r->errlen = errlen;
    rc = render_program(r, &t.root);
    if (rc < 0) {
        out->len = r->base;
        if (out->data)
            out->data[out->len] = '\0';
    }
    for (size_t i = 0; i < r->ntmps; i++)
        json_decref(r->tmps[i]);
    xfree(r->tmps);
    xfree(r);
    free_tmpl(&t);
    return rc;
}

const char *ses_template_error_code(int status)
{
    switch (status) {
    case SES_TEMPLATE_INVALID:
        return "InvalidTemplate";
    case SES_TEMPLATE_MISSING:
        return "MissingRenderingAttribute";
    case SES_TEMPLATE_BAD_DATA:
        return "InvalidRenderingParameter";
    }
    return NULL;
}
