/* JSONata parser: a Pratt (top-down operator precedence) parser, then the post-parse pass
 * that gives the tree its meaning, both after jsonata-js's parser.js.
 *
 * The Pratt loop reads tokens with binding powers (. 75, [ ( @ # 80, { 70, * / % 60,
 * + - & 50, comparisons and ~> 40, and 30, or 25, ?: 20, := 10, right associative).
 * The post-parse pass then:
 *  - flattens a.b.c into one path of steps, turning string steps into names and making
 *    number, true/false/null steps an error (S0213);
 *  - moves a predicate [..] onto the step it follows (a "stage", applied per input item)
 *    or onto a non-path expression (applied to its whole result);
 *  - marks [] (keep singleton arrays), array constructors at a path's ends (not to be
 *    flattened), order-by steps ^(..), group-by {..} on a step, @$focus and #$index
 *    bindings (which switch the path to tuple streams);
 *  - resolves each parent operator % to a labelled slot on an earlier step (seekParent),
 *    the step that will bind its input to that label while the tuple stream runs;
 *  - wraps a lambda's tail call into a thunk so tail recursion runs in a loop.
 * Errors unwind with longjmp; all nodes live in the expression's arena. */
#include "jsonata/jsonata_internal.h"

#include <stdio.h>
#include <string.h>

enum { SYM_END = JN_OP_COUNT, SYM_NAME, SYM_LITERAL, SYM_REGEX };
enum { RAW_END = 200 }; /* node type of the end token, as a raw operand */

typedef struct parser {
    jn_lexer lx;
    jn_arena *a;
    jn_token tok; /* the current token */
    int sym;
    jmp_buf fail;
    char *err;
    size_t errlen;
    int depth;
    jn_slot **ancestry;
    int nancestry;
    int labels;
} parser;

_Noreturn static void perr(parser *p, const char *code, int pos, const char *token,
                           const char *value)
{
    jn_val v = {.kind = JN_STR};
    jn_err d = {.token = token};
    if (value) {
        v.u.str.s = value;
        v.u.str.len = strlen(value);
        d.value = &v;
        d.has_value = true;
    }
    jn_format_error(p->err, p->errlen, code, pos, &d);
    longjmp(p->fail, 1);
}

_Noreturn static void perr_num(parser *p, const char *code, int pos, int value)
{
    jn_val v = {.kind = JN_NUM, .u.n = value};
    jn_err d = {.value = &v, .has_value = true};
    jn_format_error(p->err, p->errlen, code, pos, &d);
    longjmp(p->fail, 1);
}

static void *palloc(parser *p, size_t n)
{
    void *m = jn_arena_alloc(p->a, n);
    if (!m)
        perr(p, "U1001", -1, NULL, NULL);
    return m;
}

static jn_node *mk(parser *p, int type, int pos)
{
    jn_node *n = palloc(p, sizeof *n);
    n->type = (uint8_t)type;
    n->pos = pos;
    return n;
}

/* Appends to an arena array whose capacity is the next power of two (at least 4). */
static void push(parser *p, jn_node ***arr, int *n, jn_node *x)
{
    if (*n == 0 || (*n >= 4 && (*n & (*n - 1)) == 0)) {
        int cap = *n ? *n * 2 : 4;
        jn_node **m = palloc(p, (size_t)cap * sizeof *m);
        if (*n)
            memcpy(m, *arr, (size_t)*n * sizeof *m);
        *arr = m;
    }
    (*arr)[(*n)++] = x;
}

static void push_slot(parser *p, jn_slot ***arr, int *n, jn_slot *x)
{
    if (*n == 0 || (*n >= 4 && (*n & (*n - 1)) == 0)) {
        int cap = *n ? *n * 2 : 4;
        jn_slot **m = palloc(p, (size_t)cap * sizeof *m);
        if (*n)
            memcpy(m, *arr, (size_t)*n * sizeof *m);
        *arr = m;
    }
    (*arr)[(*n)++] = x;
}

static void enter(parser *p, int pos)
{
    if (++p->depth > JSONATA_MAX_EXPR_DEPTH) {
        char msg[80];
        snprintf(msg, sizeof msg, "Expression nesting exceeds the limit of %d",
                 JSONATA_MAX_EXPR_DEPTH);
        jn_err d = {.message = msg};
        jn_format_error(p->err, p->errlen, "U1001", pos, &d);
        longjmp(p->fail, 1);
    }
}

/* ---------------------------------------------------------------- tokens */

static int lbp(int sym)
{
    switch (sym) {
    case JN_OP_DOT:
        return 75;
    case JN_OP_LBRACKET:
    case JN_OP_LPAREN:
    case JN_OP_AT:
    case JN_OP_HASH:
        return 80;
    case JN_OP_LBRACE:
        return 70;
    case JN_OP_STAR:
    case JN_OP_SLASH:
    case JN_OP_PERCENT:
        return 60;
    case JN_OP_PLUS:
    case JN_OP_MINUS:
    case JN_OP_AMP:
        return 50;
    case JN_OP_EQ:
    case JN_OP_LT:
    case JN_OP_GT:
    case JN_OP_NE:
    case JN_OP_LE:
    case JN_OP_GE:
    case JN_OP_CARET:
    case JN_OP_CHAIN:
    case JN_OP_IN:
    case JN_OP_COALESCE:
    case JN_OP_ELVIS:
        return 40;
    case JN_OP_AND:
        return 30;
    case JN_OP_OR:
        return 25;
    case JN_OP_QUESTION:
        return 20;
    case JN_OP_ASSIGN:
        return 10;
    default:
        return 0;
    }
}

/* The text of the current token, for messages and signatures. */
static const char *tok_text(parser *p)
{
    const jn_token *t = &p->tok;
    char buf[40];
    switch (t->type) {
    case JN_T_OP:
        return jn_op_text(t->op);
    case JN_T_NAME:
    case JN_T_STR:
    case JN_T_REGEX:
        return t->text;
    case JN_T_VAR: {
        char *s = palloc(p, t->len + 2);
        s[0] = '$';
        memcpy(s + 1, t->text, t->len);
        return s;
    }
    case JN_T_NUM: {
        jn_format_double(t->num, buf);
        char *s = palloc(p, strlen(buf) + 1);
        strcpy(s, buf);
        return s;
    }
    case JN_T_VALUE:
        return t->value_kind == JN_NULL ? "null" : t->b ? "true" : "false";
    default:
        return NULL;
    }
}

static int sym_of(const jn_token *t)
{
    switch (t->type) {
    case JN_T_END:
        return SYM_END;
    case JN_T_OP:
        return t->op;
    case JN_T_NAME:
    case JN_T_VAR:
        return SYM_NAME;
    case JN_T_REGEX:
        return SYM_REGEX;
    default:
        return SYM_LITERAL;
    }
}

/* Moves to the next token, after checking the current one is `id` (if given). */
static void advance(parser *p, int id, bool infix)
{
    if (id && p->sym != id) {
        if (p->sym == SYM_END)
            perr(p, "S0203", p->tok.pos, tok_text(p), jn_op_text(id));
        perr(p, "S0202", p->tok.pos, tok_text(p), jn_op_text(id));
    }
    if (jn_lex_next(&p->lx, infix, &p->tok) != 0)
        perr(p, p->lx.err_code, p->lx.err_pos, p->lx.err_token, NULL);
    if (p->tok.type == JN_T_OP && (p->tok.op == JN_OP_BANG || p->tok.op == JN_OP_TILDE))
        perr(p, "S0204", p->tok.pos, tok_text(p), NULL);
    p->sym = sym_of(&p->tok);
}

static jn_val *static_val(parser *p, int kind)
{
    jn_val *v = palloc(p, sizeof *v);
    v->kind = (uint8_t)kind;
    return v;
}

/* The node a token stands for as an operand. */
static jn_node *token_node(parser *p, const jn_token *t)
{
    jn_node *n;
    switch (t->type) {
    case JN_T_NAME:
        n = mk(p, JN_N_NAME, t->pos);
        n->name = t->text;
        n->name_len = t->len;
        return n;
    case JN_T_VAR:
        n = mk(p, JN_N_VARIABLE, t->pos);
        n->name = t->text;
        n->name_len = t->len;
        return n;
    case JN_T_STR:
        n = mk(p, JN_N_STRING, t->pos);
        n->lit = static_val(p, JN_STR);
        n->lit->u.str.s = t->text;
        n->lit->u.str.len = t->len;
        return n;
    case JN_T_NUM:
        n = mk(p, JN_N_NUMBER, t->pos);
        n->lit = static_val(p, JN_NUM);
        n->lit->u.n = t->num;
        return n;
    case JN_T_VALUE:
        n = mk(p, JN_N_VALUE, t->pos);
        n->lit = static_val(p, t->value_kind);
        n->lit->u.b = t->b;
        return n;
    case JN_T_REGEX: {
        n = mk(p, JN_N_REGEX, t->pos);
        char msg[128];
        n->re = jn_regex_compile(p->a, t->text, t->len, t->flags, msg, sizeof msg);
        if (!n->re) {
            jn_err d = {.message = msg};
            jn_format_error(p->err, p->errlen, "S0303", t->pos, &d);
            longjmp(p->fail, 1);
        }
        return n;
    }
    case JN_T_END:
        return mk(p, RAW_END, t->pos);
    default: /* and, or, in as operands */
        n = mk(p, JN_N_OPERATOR, t->pos);
        n->op = (uint8_t)t->op;
        return n;
    }
}

/* ---------------------------------------------------------------- Pratt parser */

static jn_node *expression(parser *p, int rbp);

static jn_node *parse_object_pairs(parser *p, jn_node *n)
{
    if (p->sym != JN_OP_RBRACE) {
        for (;;) {
            jn_node *k = expression(p, 0);
            advance(p, JN_OP_COLON, false);
            jn_node *v = expression(p, 0);
            push(p, &n->pairs, &n->npairs, k);
            push(p, &n->pairs, &n->npairs, v);
            if (p->sym != JN_OP_COMMA)
                break;
            advance(p, JN_OP_COMMA, false);
        }
    }
    advance(p, JN_OP_RBRACE, true);
    n->npairs /= 2;
    return n;
}

static jn_node *nud(parser *p, const jn_token *t)
{
    int sym = sym_of(t);
    jn_node *n;
    switch (sym) {
    case SYM_NAME:
    case SYM_LITERAL:
    case SYM_REGEX:
    case SYM_END:
    case JN_OP_AND:
    case JN_OP_OR:
    case JN_OP_IN:
        return token_node(p, t);
    case JN_OP_MINUS:
        n = mk(p, JN_N_UNARY, t->pos);
        n->op = JN_OP_MINUS;
        n->expr = expression(p, 70);
        return n;
    case JN_OP_STAR:
        return mk(p, JN_N_WILDCARD, t->pos);
    case JN_OP_STARSTAR:
        return mk(p, JN_N_DESCENDANT, t->pos);
    case JN_OP_PERCENT:
        return mk(p, JN_N_PARENT, t->pos);
    case JN_OP_LPAREN:
        n = mk(p, JN_N_BLOCK, t->pos);
        while (p->sym != JN_OP_RPAREN) {
            push(p, &n->list, &n->nlist, expression(p, 0));
            if (p->sym != JN_OP_SEMI)
                break;
            advance(p, JN_OP_SEMI, false);
        }
        advance(p, JN_OP_RPAREN, true);
        return n;
    case JN_OP_LBRACKET:
        n = mk(p, JN_N_UNARY, t->pos);
        n->op = JN_OP_LBRACKET;
        if (p->sym != JN_OP_RBRACKET) {
            for (;;) {
                jn_node *item = expression(p, 0);
                if (p->sym == JN_OP_DOTDOT) {
                    jn_node *range = mk(p, JN_N_BINARY, p->tok.pos);
                    range->op = JN_OP_DOTDOT;
                    range->lhs = item;
                    advance(p, JN_OP_DOTDOT, false);
                    range->rhs = expression(p, 0);
                    item = range;
                }
                push(p, &n->list, &n->nlist, item);
                if (p->sym != JN_OP_COMMA)
                    break;
                advance(p, JN_OP_COMMA, false);
            }
        }
        advance(p, JN_OP_RBRACKET, true);
        return n;
    case JN_OP_LBRACE:
        n = mk(p, JN_N_UNARY, t->pos);
        n->op = JN_OP_LBRACE;
        return parse_object_pairs(p, n);
    case JN_OP_PIPE:
        n = mk(p, JN_N_TRANSFORM, t->pos);
        n->pattern = expression(p, 0);
        advance(p, JN_OP_PIPE, false);
        n->update = expression(p, 0);
        if (p->sym == JN_OP_COMMA) {
            advance(p, JN_OP_COMMA, false);
            n->del = expression(p, 0);
        }
        advance(p, JN_OP_PIPE, false);
        return n;
    default:
        perr(p, "S0211", t->pos, jn_op_text(t->op), NULL);
    }
}

static void parse_signature(parser *p, jn_node *n)
{
    int sig_pos = p->tok.pos;
    int depth = 1;
    char buf[512];
    size_t len = 0;
    buf[len++] = '<';
    while (depth > 0 && p->sym != JN_OP_LBRACE && p->sym != SYM_END) {
        advance(p, 0, false);
        if (p->sym == JN_OP_GT)
            depth--;
        else if (p->sym == JN_OP_LT)
            depth++;
        const char *text = tok_text(p);
        size_t tl = text ? strlen(text) : 0;
        if (len + tl >= sizeof buf)
            perr(p, "S0402", sig_pos, NULL, NULL);
        if (tl)
            memcpy(buf + len, text, tl);
        len += tl;
    }
    advance(p, JN_OP_GT, false);
    const char *code = NULL;
    n->sig = jn_sig_parse(p->a, buf, len, &code);
    if (!n->sig)
        perr(p, code, sig_pos, NULL, NULL);
}

static jn_node *led_call(parser *p, const jn_token *t, jn_node *left)
{
    jn_node *n = mk(p, JN_N_FUNCTION, t->pos);
    n->procedure = left;
    if (p->sym != JN_OP_RPAREN) {
        for (;;) {
            if (p->tok.type == JN_T_OP && p->sym == JN_OP_QUESTION) {
                n->type = JN_N_PARTIAL;
                push(p, &n->list, &n->nlist, mk(p, JN_N_PLACEHOLDER, p->tok.pos));
                advance(p, JN_OP_QUESTION, false);
            } else {
                push(p, &n->list, &n->nlist, expression(p, 0));
            }
            if (p->sym != JN_OP_COMMA)
                break;
            advance(p, JN_OP_COMMA, false);
        }
    }
    advance(p, JN_OP_RPAREN, true);
    bool is_lambda = left->type == JN_N_NAME &&
                     ((left->name_len == 8 && memcmp(left->name, "function", 8) == 0) ||
                      (left->name_len == 2 && memcmp(left->name, "\xce\xbb", 2) == 0));
    if (!is_lambda)
        return n;
    for (int i = 0; i < n->nlist; i++)
        if (n->list[i]->type != JN_N_VARIABLE)
            perr_num(p, "S0208", n->list[i]->pos, i + 1);
    n->type = JN_N_LAMBDA;
    if (p->sym == JN_OP_LT)
        parse_signature(p, n);
    advance(p, JN_OP_LBRACE, false);
    n->body = expression(p, 0);
    advance(p, JN_OP_RBRACE, false);
    return n;
}

static jn_node *led(parser *p, const jn_token *t, jn_node *left)
{
    int sym = sym_of(t);
    jn_node *n;
    switch (sym) {
    case JN_OP_LPAREN:
        return led_call(p, t, left);
    case JN_OP_LBRACKET:
        if (p->sym == JN_OP_RBRACKET) {
            jn_node *step = left;
            while (step && step->type == JN_N_BINARY && step->op == JN_OP_LBRACKET)
                step = step->lhs;
            step->keep_array = true;
            advance(p, JN_OP_RBRACKET, false);
            return left;
        }
        n = mk(p, JN_N_BINARY, t->pos);
        n->op = JN_OP_LBRACKET;
        n->lhs = left;
        n->rhs = expression(p, 0);
        advance(p, JN_OP_RBRACKET, true);
        return n;
    case JN_OP_CARET:
        n = mk(p, JN_N_BINARY, t->pos);
        n->op = JN_OP_CARET;
        n->lhs = left;
        advance(p, JN_OP_LPAREN, false);
        for (;;) {
            jn_node *term = mk(p, JN_N_SORTTERM, p->tok.pos);
            if (p->sym == JN_OP_LT) {
                advance(p, JN_OP_LT, false);
            } else if (p->sym == JN_OP_GT) {
                term->descending = true;
                advance(p, JN_OP_GT, false);
            }
            term->expr = expression(p, 0);
            push(p, &n->list, &n->nlist, term);
            if (p->sym != JN_OP_COMMA)
                break;
            advance(p, JN_OP_COMMA, false);
        }
        advance(p, JN_OP_RPAREN, false);
        return n;
    case JN_OP_LBRACE:
        n = mk(p, JN_N_BINARY, t->pos);
        n->op = JN_OP_LBRACE;
        n->lhs = left;
        return parse_object_pairs(p, n);
    case JN_OP_ASSIGN:
        if (left->type != JN_N_VARIABLE)
            perr(p, "S0212", left->pos, left->name, NULL);
        n = mk(p, JN_N_BINARY, t->pos);
        n->op = JN_OP_ASSIGN;
        n->lhs = left;
        n->rhs = expression(p, lbp(JN_OP_ASSIGN) - 1);
        return n;
    case JN_OP_AT:
    case JN_OP_HASH:
        n = mk(p, JN_N_BINARY, t->pos);
        n->op = (uint8_t)sym;
        n->lhs = left;
        n->rhs = expression(p, lbp(sym));
        if (n->rhs->type != JN_N_VARIABLE)
            perr(p, "S0214", n->rhs->pos, jn_op_text(sym), NULL);
        return n;
    case JN_OP_QUESTION:
        n = mk(p, JN_N_CONDITION, t->pos);
        n->cond = left;
        n->then_ = expression(p, 0);
        if (p->sym == JN_OP_COLON) {
            advance(p, JN_OP_COLON, false);
            n->else_ = expression(p, 0);
        }
        return n;
    case JN_OP_COALESCE:
    case JN_OP_ELVIS:
        n = mk(p, sym == JN_OP_COALESCE ? JN_N_COALESCE : JN_N_ELVIS, t->pos);
        n->cond = left;
        n->else_ = expression(p, 0);
        return n;
    default: /* the plain binary operators */
        n = mk(p, JN_N_BINARY, t->pos);
        n->op = (uint8_t)sym;
        n->lhs = left;
        n->rhs = expression(p, lbp(sym));
        return n;
    }
}

static jn_node *expression(parser *p, int rbp)
{
    enter(p, p->tok.pos);
    jn_token t = p->tok;
    advance(p, 0, true);
    jn_node *left = nud(p, &t);
    while (rbp < lbp(p->sym)) {
        t = p->tok;
        advance(p, 0, false);
        left = led(p, &t, left);
    }
    p->depth--;
    return left;
}

/* ---------------------------------------------------------------- post-parse pass */

static jn_node *process(parser *p, jn_node *e);

static const char *type_name(int type)
{
    switch (type) {
    case JN_N_BINARY:
        return "binary";
    case JN_N_UNARY:
        return "unary";
    case JN_N_STRING:
        return "string";
    case JN_N_NUMBER:
        return "number";
    case JN_N_VALUE:
        return "value";
    case JN_N_REGEX:
        return "regex";
    case JN_N_DESCENDANT:
        return "descendant";
    case JN_N_FUNCTION:
        return "function";
    case JN_N_PARTIAL:
        return "partial";
    case JN_N_LAMBDA:
        return "lambda";
    case JN_N_CONDITION:
        return "condition";
    case JN_N_VARIABLE:
        return "variable";
    case JN_N_BIND:
        return "bind";
    case JN_N_APPLY:
        return "apply";
    case JN_N_SORT:
        return "sort";
    case JN_N_TRANSFORM:
        return "transform";
    default:
        return "expression";
    }
}

static jn_slot *seek_parent(parser *p, jn_node *node, jn_slot *slot)
{
    switch (node->type) {
    case JN_N_NAME:
    case JN_N_WILDCARD:
        slot->level--;
        if (slot->level == 0) {
            if (!node->ancestor) {
                node->ancestor = slot;
            } else {
                /* reuse the existing label */
                p->ancestry[slot->index] = slot;
                memcpy(slot->label, node->ancestor->label, sizeof slot->label);
                node->ancestor = slot;
            }
            node->tuple = true;
        }
        break;
    case JN_N_PARENT:
        slot->level++;
        break;
    case JN_N_BLOCK:
        if (node->nlist > 0) {
            node->tuple = true;
            slot = seek_parent(p, node->list[node->nlist - 1], slot);
        }
        break;
    case JN_N_PATH: {
        node->tuple = true;
        int index = node->nlist - 1;
        slot = seek_parent(p, node->list[index--], slot);
        while (slot->level > 0 && index >= 0)
            slot = seek_parent(p, node->list[index--], slot);
        break;
    }
    default:
        perr(p, "S0217", node->pos, type_name(node->type), NULL);
    }
    return slot;
}

static void push_ancestry(parser *p, jn_node *result, jn_node *value)
{
    for (int i = 0; i < value->nseeking; i++)
        push_slot(p, &result->seeking, &result->nseeking, value->seeking[i]);
    if (value->type == JN_N_PARENT)
        push_slot(p, &result->seeking, &result->nseeking, value->slot);
}

static void resolve_ancestry(parser *p, jn_node *path)
{
    jn_node *last = path->list[path->nlist - 1];
    jn_slot **slots = NULL;
    int nslots = 0;
    for (int i = 0; i < last->nseeking; i++)
        push_slot(p, &slots, &nslots, last->seeking[i]);
    if (last->type == JN_N_PARENT)
        push_slot(p, &slots, &nslots, last->slot);
    for (int s = 0; s < nslots; s++) {
        jn_slot *slot = slots[s];
        int index = path->nlist - 2;
        while (slot->level > 0) {
            if (index < 0) {
                push_slot(p, &path->seeking, &path->nseeking, slot);
                break;
            }
            jn_node *step = path->list[index--];
            /* contiguous steps that bind the focus are skipped together */
            while (index >= 0 && step->focus && path->list[index]->focus)
                step = path->list[index--];
            slot = seek_parent(p, step, slot);
        }
    }
}

static jn_node *as_path(parser *p, jn_node *step)
{
    jn_node *path = mk(p, JN_N_PATH, step->pos);
    push(p, &path->list, &path->nlist, step);
    return path;
}

static jn_node *process_dot(parser *p, jn_node *e)
{
    jn_node *lstep = process(p, e->lhs);
    jn_node *result = lstep->type == JN_N_PATH ? lstep : as_path(p, lstep);
    if (lstep->type == JN_N_PARENT) {
        result->nseeking = 0;
        push_slot(p, &result->seeking, &result->nseeking, lstep->slot);
    }
    jn_node *rest = process(p, e->rhs);
    if (rest->type == JN_N_PATH) {
        for (int i = 0; i < rest->nlist; i++)
            push(p, &result->list, &result->nlist, rest->list[i]);
    } else {
        if (rest->npreds) {
            rest->stages = rest->preds;
            rest->nstages = rest->npreds;
            rest->preds = NULL;
            rest->npreds = 0;
        }
        push(p, &result->list, &result->nlist, rest);
    }
    for (int i = 0; i < result->nlist; i++) {
        jn_node *step = result->list[i];
        if (step->type == JN_N_NUMBER || step->type == JN_N_VALUE) {
            char buf[40];
            const char *text = buf;
            if (step->type == JN_N_NUMBER)
                jn_format_double(step->lit->u.n, buf);
            else
                text = step->lit->kind == JN_NULL ? "null" : step->lit->u.b ? "true" : "false";
            perr(p, "S0213", step->pos, NULL, text);
        }
        if (step->type == JN_N_STRING) {
            step->type = JN_N_NAME;
            step->name = step->lit->u.str.s;
            step->name_len = step->lit->u.str.len;
        }
        if (step->keep_array)
            result->keep_singleton_array = true;
    }
    jn_node *first = result->list[0], *last = result->list[result->nlist - 1];
    if (first->type == JN_N_UNARY && first->op == JN_OP_LBRACKET)
        first->consarray = true;
    if (last->type == JN_N_UNARY && last->op == JN_OP_LBRACKET)
        last->consarray = true;
    resolve_ancestry(p, result);
    return result;
}

static jn_node *filter_node(parser *p, jn_node *expr, int pos)
{
    jn_node *f = mk(p, JN_N_FILTER, pos);
    f->expr = expr;
    return f;
}

static jn_node *process_predicate(parser *p, jn_node *e)
{
    jn_node *result = process(p, e->lhs);
    jn_node *step = result;
    bool stages = false;
    if (result->type == JN_N_PATH) {
        step = result->list[result->nlist - 1];
        stages = true;
    }
    if (step->group)
        perr(p, "S0209", e->pos, NULL, NULL);
    jn_node *pred = process(p, e->rhs);
    if (pred->nseeking) {
        for (int i = 0; i < pred->nseeking; i++) {
            jn_slot *slot = pred->seeking[i];
            if (slot->level == 1)
                seek_parent(p, step, slot);
            else
                slot->level--;
        }
        push_ancestry(p, step, pred);
    }
    if (stages)
        push(p, &step->stages, &step->nstages, filter_node(p, pred, e->pos));
    else
        push(p, &step->preds, &step->npreds, filter_node(p, pred, e->pos));
    return result;
}

static jn_node *process_group(parser *p, jn_node *e)
{
    jn_node *result = process(p, e->lhs);
    if (result->group)
        perr(p, "S0210", e->pos, NULL, NULL);
    jn_node *g = mk(p, JN_N_UNARY, e->pos);
    g->op = JN_OP_LBRACE;
    g->npairs = e->npairs;
    g->pairs = palloc(p, (size_t)(2 * e->npairs + 1) * sizeof(jn_node *));
    for (int i = 0; i < 2 * e->npairs; i++)
        g->pairs[i] = process(p, e->pairs[i]);
    result->group = g;
    return result;
}

static jn_node *process_sort(parser *p, jn_node *e)
{
    jn_node *result = process(p, e->lhs);
    if (result->type != JN_N_PATH)
        result = as_path(p, result);
    jn_node *sort = mk(p, JN_N_SORT, e->pos);
    for (int i = 0; i < e->nlist; i++) {
        jn_node *term = mk(p, JN_N_SORTTERM, e->list[i]->pos);
        term->descending = e->list[i]->descending;
        term->expr = process(p, e->list[i]->expr);
        push_ancestry(p, sort, term->expr);
        push(p, &sort->list, &sort->nlist, term);
    }
    push(p, &result->list, &result->nlist, sort);
    resolve_ancestry(p, result);
    return result;
}

static jn_node *process_focus(parser *p, jn_node *e)
{
    jn_node *result = process(p, e->lhs);
    jn_node *step = result->type == JN_N_PATH ? result->list[result->nlist - 1] : result;
    if (step->nstages || step->npreds)
        perr(p, "S0215", e->pos, NULL, NULL);
    if (step->type == JN_N_SORT)
        perr(p, "S0216", e->pos, NULL, NULL);
    if (e->keep_array)
        step->keep_array = true;
    step->focus = e->rhs->name;
    step->focus_len = e->rhs->name_len;
    step->tuple = true;
    return result;
}

static jn_node *process_index(parser *p, jn_node *e)
{
    jn_node *result = process(p, e->lhs);
    jn_node *step = result;
    if (result->type == JN_N_PATH) {
        step = result->list[result->nlist - 1];
    } else {
        result = as_path(p, result);
        if (step->npreds) {
            step->stages = step->preds;
            step->nstages = step->npreds;
            step->preds = NULL;
            step->npreds = 0;
        }
    }
    if (step->nstages == 0) {
        step->index_var = e->rhs->name;
        step->index_len = e->rhs->name_len;
    } else {
        jn_node *ix = mk(p, JN_N_INDEX, e->pos);
        ix->name = e->rhs->name;
        ix->name_len = e->rhs->name_len;
        push(p, &step->stages, &step->nstages, ix);
    }
    step->tuple = true;
    return result;
}

static jn_node *process_binary(parser *p, jn_node *e)
{
    jn_node *r;
    switch (e->op) {
    case JN_OP_DOT:
        return process_dot(p, e);
    case JN_OP_LBRACKET:
        return process_predicate(p, e);
    case JN_OP_LBRACE:
        return process_group(p, e);
    case JN_OP_CARET:
        return process_sort(p, e);
    case JN_OP_AT:
        return process_focus(p, e);
    case JN_OP_HASH:
        return process_index(p, e);
    case JN_OP_ASSIGN:
        r = mk(p, JN_N_BIND, e->pos);
        r->lhs = process(p, e->lhs);
        r->rhs = process(p, e->rhs);
        push_ancestry(p, r, r->rhs);
        return r;
    case JN_OP_CHAIN:
        r = mk(p, JN_N_APPLY, e->pos);
        r->op = e->op;
        r->lhs = process(p, e->lhs);
        r->rhs = process(p, e->rhs);
        return r;
    default:
        r = mk(p, JN_N_BINARY, e->pos);
        r->op = e->op;
        r->lhs = process(p, e->lhs);
        r->rhs = process(p, e->rhs);
        push_ancestry(p, r, r->lhs);
        push_ancestry(p, r, r->rhs);
        return r;
    }
}

static jn_node *tail_call_optimize(parser *p, jn_node *e)
{
    if (e->type == JN_N_FUNCTION && e->npreds == 0) {
        jn_node *thunk = mk(p, JN_N_LAMBDA, e->pos);
        thunk->thunk = true;
        thunk->body = e;
        return thunk;
    }
    if (e->type == JN_N_CONDITION) {
        e->then_ = tail_call_optimize(p, e->then_);
        if (e->else_)
            e->else_ = tail_call_optimize(p, e->else_);
    } else if (e->type == JN_N_BLOCK && e->nlist > 0) {
        e->list[e->nlist - 1] = tail_call_optimize(p, e->list[e->nlist - 1]);
    }
    return e;
}

static jn_node *process_unary(parser *p, jn_node *e)
{
    jn_node *r = mk(p, JN_N_UNARY, e->pos);
    r->op = e->op;
    if (e->op == JN_OP_LBRACKET) {
        for (int i = 0; i < e->nlist; i++) {
            jn_node *v = process(p, e->list[i]);
            push_ancestry(p, r, v);
            push(p, &r->list, &r->nlist, v);
        }
    } else if (e->op == JN_OP_LBRACE) {
        r->npairs = e->npairs;
        r->pairs = palloc(p, (size_t)(2 * e->npairs + 1) * sizeof(jn_node *));
        for (int i = 0; i < 2 * e->npairs; i++) {
            r->pairs[i] = process(p, e->pairs[i]);
            push_ancestry(p, r, r->pairs[i]);
        }
    } else {
        r->expr = process(p, e->expr);
        if (r->expr->type == JN_N_NUMBER) {
            jn_node *neg = r->expr;
            jn_val *v = static_val(p, JN_NUM);
            v->u.n = -neg->lit->u.n;
            neg->lit = v;
            return neg;
        }
        push_ancestry(p, r, r->expr);
    }
    return r;
}

static jn_node *process_inner(parser *p, jn_node *e)
{
    jn_node *r;
    switch (e->type) {
    case JN_N_BINARY:
        return process_binary(p, e);
    case JN_N_UNARY:
        return process_unary(p, e);
    case JN_N_FUNCTION:
    case JN_N_PARTIAL:
        r = mk(p, e->type, e->pos);
        for (int i = 0; i < e->nlist; i++) {
            jn_node *arg = process(p, e->list[i]);
            push_ancestry(p, r, arg);
            push(p, &r->list, &r->nlist, arg);
        }
        r->procedure = process(p, e->procedure);
        return r;
    case JN_N_LAMBDA:
        r = mk(p, JN_N_LAMBDA, e->pos);
        r->list = e->list;
        r->nlist = e->nlist;
        r->sig = e->sig;
        r->body = tail_call_optimize(p, process(p, e->body));
        return r;
    case JN_N_CONDITION:
    case JN_N_COALESCE:
    case JN_N_ELVIS:
        r = mk(p, e->type, e->pos);
        r->cond = process(p, e->cond);
        push_ancestry(p, r, r->cond);
        if (e->then_) {
            r->then_ = process(p, e->then_);
            push_ancestry(p, r, r->then_);
        }
        if (e->else_) {
            r->else_ = process(p, e->else_);
            push_ancestry(p, r, r->else_);
        }
        return r;
    case JN_N_TRANSFORM:
        r = mk(p, JN_N_TRANSFORM, e->pos);
        r->pattern = process(p, e->pattern);
        r->update = process(p, e->update);
        if (e->del)
            r->del = process(p, e->del);
        return r;
    case JN_N_BLOCK:
        r = mk(p, JN_N_BLOCK, e->pos);
        for (int i = 0; i < e->nlist; i++) {
            jn_node *part = process(p, e->list[i]);
            push_ancestry(p, r, part);
            if (part->consarray || (part->type == JN_N_PATH && part->list[0]->consarray))
                r->consarray = true;
            push(p, &r->list, &r->nlist, part);
        }
        return r;
    case JN_N_NAME:
        r = as_path(p, e);
        if (e->keep_array)
            r->keep_singleton_array = true;
        return r;
    case JN_N_PARENT:
        r = mk(p, JN_N_PARENT, e->pos);
        r->slot = palloc(p, sizeof *r->slot);
        snprintf(r->slot->label, sizeof r->slot->label, "!%d", p->labels++);
        r->slot->level = 1;
        r->slot->index = p->nancestry;
        push_slot(p, &p->ancestry, &p->nancestry, r->slot);
        return r;
    case JN_N_STRING:
    case JN_N_NUMBER:
    case JN_N_VALUE:
    case JN_N_WILDCARD:
    case JN_N_DESCENDANT:
    case JN_N_VARIABLE:
    case JN_N_REGEX:
    case JN_N_PLACEHOLDER:
        return e;
    case JN_N_OPERATOR:
        e->type = JN_N_NAME;
        e->name = jn_op_text(e->op);
        e->name_len = strlen(e->name);
        return process(p, e);
    case RAW_END:
        perr(p, "S0207", e->pos, NULL, NULL);
    default:
        perr(p, "S0206", e->pos, NULL, NULL);
    }
}

static jn_node *process(parser *p, jn_node *e)
{
    enter(p, e->pos);
    jn_node *r = process_inner(p, e);
    if (e->keep_array)
        r->keep_array = true;
    p->depth--;
    return r;
}

jn_node *jn_parse(const char *src, jn_arena *arena, char *err, size_t errlen)
{
    parser p;
    memset(&p, 0, sizeof p);
    p.lx.src = src;
    p.lx.len = strlen(src);
    p.lx.arena = arena;
    p.a = arena;
    p.err = err;
    p.errlen = errlen;
    if (setjmp(p.fail))
        return NULL;
    advance(&p, 0, false);
    jn_node *e = expression(&p, 0);
    if (p.sym != SYM_END)
        perr(&p, "S0201", p.tok.pos, tok_text(&p), NULL);
    p.depth = 0;
    e = process(&p, e);
    if (e->type == JN_N_PARENT || e->nseeking)
        perr(&p, "S0217", e->pos, type_name(e->type), NULL);
    return e;
}
