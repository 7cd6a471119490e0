/* The parser of DynamoDB expressions, and the compile step that validates one request's
 * expressions together (see ddb_expr.h).
 *
 * Parsing is recursive descent over the lexer's tokens and only builds the tree: where the
 * grammar is ambiguous (a "(" may open a condition or an operand) it backtracks, and a
 * syntax error is reported at the furthest token any alternative reached, as a PEG parser
 * (and DynamoDB) does: Syntax error; token: "<the token>", near: "<the tokens around>".
 *
 * The checks DynamoDB makes once the text parses (undefined names and values, reserved
 * words, functions and their operands, overlapping paths...) then run as one pass over the
 * tree in expression order. Each kind of problem keeps its first occurrence, and the
 * message returned is that of the first kind in DynamoDB's order of precedence for the
 * expression, which is what a client sees when an expression has several problems.
 *
 * Grammar (keywords case-insensitive):
 *   condition  := and (OR and)*            and := not (AND not)*
 *   not        := NOT not | "(" condition ")" | comparison
 *   comparison := operand (cmp operand | BETWEEN operand AND operand
 *                          | IN "(" operand ("," operand)* ")") | function-call
 *   operand    := "(" operand ")" | :value | name "(" operand ("," operand)* ")" | path
 *   path       := (ident | #name) ("." (ident | #name) | "[" digits "]")*
 *   update     := (SET set ("," set)* | REMOVE path ("," path)* | ADD path :value (",")...
 *                 | DELETE path :value (",")...)+
 *   set        := path "=" ( "(" value ")" | value )   value := operand (("+"|"-") operand)?
 *   projection := path ("," path)* */
#include "common/alloc.h"
#include "services/dynamodb/ddb_expr_internal.h"
#include "services/dynamodb/ddb_value.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_NESTING 200 /* parentheses, NOT and nested calls */

/* ------------------------------------------------------------------------- arena */

typedef struct ddb_arena_block {
    struct ddb_arena_block *next;
    size_t used, cap;
    max_align_t data[];
} ddb_arena_block;

void *ddb_arena_alloc(ddb_arena *a, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    ddb_arena_block *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 4096 ? n : 4096;
        b = xmalloc(sizeof *b + cap);
        b->used = 0;
        b->cap = cap;
        b->next = a->head;
        a->head = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

void ddb_arena_free(ddb_arena *a)
{
    while (a->head) {
        ddb_arena_block *next = a->head->next;
        xfree(a->head);
        a->head = next;
    }
}

/* ------------------------------------------------------------------------ parser */

typedef struct parser {
    const char *src;
    size_t n;
    ddb_token *toks;
    size_t pos;
    size_t fail_pos; /* furthest token a syntax failure happened at */
    int depth;
    ddb_expr_kind kind;
    ddb_arena *arena;
    /* Update sections seen, and the first one written twice. */
    unsigned sections_seen;
    const char *dup_section;
} parser;

typedef struct node_list {
    ddb_node **items;
    size_t n, cap;
} node_list;

static void list_push(node_list *l, ddb_node *n)
{
    XGROW(l->items, l->n, l->cap);
    l->items[l->n++] = n;
}

static ddb_node **list_to_arena(parser *p, node_list *l, size_t *n)
{
    ddb_node **out = ddb_arena_alloc(p->arena, (l->n ? l->n : 1) * sizeof *out);
    if (l->n)
        memcpy(out, l->items, l->n * sizeof *out);
    *n = l->n;
    xfree(l->items);
    l->items = NULL;
    l->n = l->cap = 0;
    return out;
}

static const ddb_token *peek(const parser *p)
{
    return &p->toks[p->pos];
}

static const ddb_token *peek_at(const parser *p, size_t ahead)
{
    size_t i = p->pos;
    while (ahead-- && p->toks[i].kind != TK_EOF)
        i++;
    return &p->toks[i];
}

static void fail_here(parser *p)
{
    if (p->pos > p->fail_pos)
        p->fail_pos = p->pos;
}

static int accept(parser *p, ddb_tok_kind kind)
{
    if (peek(p)->kind != kind)
        return 0;
    p->pos++;
    return 1;
}

static int expect(parser *p, ddb_tok_kind kind)
{
    if (accept(p, kind))
        return 1;
    fail_here(p);
    return 0;
}

static int tok_is_word(const parser *p, const ddb_token *t, const char *word)
{
    return t->kind == TK_IDENT && t->len == strlen(word) &&
           strncasecmp(p->src + t->start, word, t->len) == 0;
}

/* Keywords of the expression being parsed, which cannot name attributes. */
static int is_keyword(const parser *p, const ddb_token *t)
{
    static const char *const condition_words[] = {"AND", "OR", "NOT", "BETWEEN", "IN", NULL};
    static const char *const update_words[] = {"SET", "REMOVE", "ADD", "DELETE", NULL};
    const char *const *words = p->kind == DDB_EXPR_UPDATE       ? update_words
                               : p->kind == DDB_EXPR_PROJECTION ? NULL
                                                                : condition_words;
    for (size_t i = 0; words && words[i]; i++)
        if (tok_is_word(p, t, words[i]))
            return 1;
    return 0;
}

static int accept_word(parser *p, const char *word)
{
    if (!tok_is_word(p, peek(p), word))
        return 0;
    p->pos++;
    return 1;
}

static ddb_node *new_node(parser *p, ddb_node_kind kind, uint32_t tok)
{
    ddb_node *n = ddb_arena_alloc(p->arena, sizeof *n);
    n->kind = kind;
    n->tok = tok;
    return n;
}

static ddb_node *node2(parser *p, ddb_node_kind kind, uint32_t tok, ddb_node *a, ddb_node *b)
{
    ddb_node *n = new_node(p, kind, tok);
    n->nargs = b ? 2 : 1;
    n->args = ddb_arena_alloc(p->arena, n->nargs * sizeof *n->args);
    n->args[0] = a;
    if (b)
        n->args[1] = b;
    return n;
}

static int path_name_token(const parser *p, const ddb_token *t)
{
    return t->kind == TK_NAME || (t->kind == TK_IDENT && !is_keyword(p, t));
}

static void set_elem_name(parser *p, ddb_path_elem *e, const ddb_token *t)
{
    e->name = p->src + t->start;
    e->len = t->len;
    e->is_placeholder = t->kind == TK_NAME;
    e->tok = (uint32_t)(t - p->toks);
}

/* path := (ident | #name) ("." (ident | #name) | "[" digits "]")* */
static int parse_path(parser *p, ddb_path *out)
{
    if (!path_name_token(p, peek(p))) {
        fail_here(p);
        return 0;
    }
    size_t cap = 4, n = 0;
    ddb_path_elem *elems = xcalloc(cap, sizeof *elems);
    set_elem_name(p, &elems[n++], peek(p));
    p->pos++;
    int ok = 1;
    for (;;) {
        if (peek(p)->kind != TK_DOT && peek(p)->kind != TK_LBRACK)
            break;
        XGROW(elems, n, cap);
        ddb_path_elem *e = &elems[n];
        memset(e, 0, sizeof *e);
        if (accept(p, TK_DOT)) {
            if (!path_name_token(p, peek(p))) {
                fail_here(p);
                ok = 0;
                break;
            }
            set_elem_name(p, e, peek(p));
            p->pos++;
        } else {
            p->pos++; /* [ */
            const ddb_token *t = peek(p);
            unsigned long long index = 0;
            for (uint32_t k = 0; t->kind == TK_NUMBER && k < t->len && index <= 0x7fffffffULL; k++)
                index = index * 10 + (unsigned)(p->src[t->start + k] - '0');
            if (t->kind != TK_NUMBER || index > 0x7fffffffULL) {
                fail_here(p);
                ok = 0;
                break;
            }
            p->pos++;
            if (!expect(p, TK_RBRACK)) {
                ok = 0;
                break;
            }
            e->is_index = 1;
            e->index = (uint32_t)index;
            e->tok = (uint32_t)(t - p->toks);
        }
        n++;
    }
    if (!ok) {
        xfree(elems);
        return 0;
    }
    out->elems = ddb_arena_alloc(p->arena, n * sizeof *out->elems);
    memcpy(out->elems, elems, n * sizeof *elems);
    out->n = n;
    xfree(elems);
    return 1;
}

static ddb_fn function_named(const parser *p, const ddb_token *t)
{
    static const struct {
        const char *name;
        ddb_fn fn;
        int update;
    } fns[] = {
        {"attribute_exists", FN_ATTRIBUTE_EXISTS, 0},
        {"attribute_not_exists", FN_ATTRIBUTE_NOT_EXISTS, 0},
        {"attribute_type", FN_ATTRIBUTE_TYPE, 0},
        {"begins_with", FN_BEGINS_WITH, 0},
        {"contains", FN_CONTAINS, 0},
        {"size", FN_SIZE, 0},
        {"if_not_exists", FN_IF_NOT_EXISTS, 1},
        {"list_append", FN_LIST_APPEND, 1},
    };
    int update = p->kind == DDB_EXPR_UPDATE;
    for (size_t i = 0; i < sizeof fns / sizeof *fns; i++)
        if (fns[i].update == update && strlen(fns[i].name) == t->len &&
            memcmp(fns[i].name, p->src + t->start, t->len) == 0)
            return fns[i].fn;
    return FN_UNKNOWN;
}

static ddb_node *parse_operand(parser *p);

/* name "(" operand ("," operand)* ")" with the parser at the name. */
static ddb_node *parse_call(parser *p)
{
    ddb_node *n = new_node(p, ND_CALL, (uint32_t)p->pos);
    n->op = function_named(p, peek(p));
    p->pos += 2;
    node_list args = {0};
    do {
        ddb_node *a = parse_operand(p);
        if (!a) {
            xfree(args.items);
            return NULL;
        }
        list_push(&args, a);
    } while (accept(p, TK_COMMA));
    if (!expect(p, TK_RPAREN)) {
        xfree(args.items);
        return NULL;
    }
    n->args = list_to_arena(p, &args, &n->nargs);
    return n;
}

static ddb_node *parse_operand(parser *p)
{
    const ddb_token *t = peek(p);
    if (t->kind == TK_LPAREN) {
        if (++p->depth > MAX_NESTING) {
            fail_here(p);
            return NULL;
        }
        size_t save = p->pos++;
        ddb_node *inner = parse_operand(p);
        p->depth--;
        if (inner && expect(p, TK_RPAREN)) {
            if (inner->parens)
                inner->redundant = 1;
            inner->parens = 1;
            return inner;
        }
        p->pos = save;
        return NULL;
    }
    if (t->kind == TK_VALUE) {
        ddb_node *n = new_node(p, ND_VALUE, (uint32_t)p->pos++);
        return n;
    }
    if (t->kind == TK_IDENT && peek_at(p, 1)->kind == TK_LPAREN && !is_keyword(p, t)) {
        if (++p->depth > MAX_NESTING) {
            fail_here(p);
            return NULL;
        }
        ddb_node *n = parse_call(p);
        p->depth--;
        return n;
    }
    ddb_node *n = new_node(p, ND_PATH, (uint32_t)p->pos);
    return parse_path(p, &n->path) ? n : NULL;
}

/* ---------------------------------------------------------------- conditions */

static ddb_node *parse_or(parser *p);

static int comparator(ddb_tok_kind k, ddb_cmp *op)
{
    switch (k) {
    case TK_EQ:
        *op = CMP_EQ;
        return 1;
    case TK_NE:
        *op = CMP_NE;
        return 1;
    case TK_LT:
        *op = CMP_LT;
        return 1;
    case TK_LE:
        *op = CMP_LE;
        return 1;
    case TK_GT:
        *op = CMP_GT;
        return 1;
    case TK_GE:
        *op = CMP_GE;
        return 1;
    default:
        return 0;
    }
}

static ddb_node *parse_in_list(parser *p, ddb_node *left, uint32_t tok)
{
    if (!expect(p, TK_LPAREN))
        return NULL;
    node_list args = {0};
    list_push(&args, left);
    do {
        ddb_node *a = parse_operand(p);
        if (!a) {
            xfree(args.items);
            return NULL;
        }
        list_push(&args, a);
    } while (accept(p, TK_COMMA));
    if (!expect(p, TK_RPAREN)) {
        xfree(args.items);
        return NULL;
    }
    ddb_node *n = new_node(p, ND_IN, tok);
    n->args = list_to_arena(p, &args, &n->nargs);
    return n;
}

static ddb_node *parse_comparison(parser *p)
{
    uint32_t start = (uint32_t)p->pos;
    ddb_node *a = parse_operand(p);
    if (!a)
        return NULL;
    ddb_cmp op;
    if (comparator(peek(p)->kind, &op)) {
        p->pos++;
        ddb_node *b = parse_operand(p);
        if (!b)
            return NULL;
        ddb_node *n = node2(p, ND_CMP, start, a, b);
        n->op = op;
        return n;
    }
    if (accept_word(p, "BETWEEN")) {
        ddb_node *lo = parse_operand(p);
        if (!lo)
            return NULL;
        if (!accept_word(p, "AND")) {
            fail_here(p);
            return NULL;
        }
        ddb_node *hi = parse_operand(p);
        if (!hi)
            return NULL;
        ddb_node *n = node2(p, ND_BETWEEN, start, a, lo);
        ddb_node **args = ddb_arena_alloc(p->arena, 3 * sizeof *args);
        args[0] = a;
        args[1] = lo;
        args[2] = hi;
        n->args = args;
        n->nargs = 3;
        return n;
    }
    if (accept_word(p, "IN"))
        return parse_in_list(p, a, start);
    if (a->kind == ND_CALL)
        return a;
    fail_here(p);
    return NULL;
}

static ddb_node *parse_not(parser *p)
{
    if (tok_is_word(p, peek(p), "NOT")) {
        uint32_t tok = (uint32_t)p->pos++;
        if (++p->depth > MAX_NESTING) {
            fail_here(p);
            return NULL;
        }
        ddb_node *inner = parse_not(p);
        p->depth--;
        return inner ? node2(p, ND_NOT, tok, inner, NULL) : NULL;
    }
    if (peek(p)->kind == TK_LPAREN) {
        if (++p->depth > MAX_NESTING) {
            fail_here(p);
            return NULL;
        }
        size_t save = p->pos++;
        ddb_node *inner = parse_or(p);
        p->depth--;
        ddb_cmp op;
        if (inner && expect(p, TK_RPAREN) &&
            !(inner->kind == ND_CALL &&
              (comparator(peek(p)->kind, &op) || tok_is_word(p, peek(p), "BETWEEN") ||
               tok_is_word(p, peek(p), "IN")))) {
            if (inner->parens)
                inner->redundant = 1;
            inner->parens = 1;
            return inner;
        }
        p->pos = save; /* an operand in parentheses: (a) = :v, (size(a)) > :n */
    }
    return parse_comparison(p);
}

static ddb_node *parse_and(parser *p)
{
    ddb_node *left = parse_not(p);
    while (left && tok_is_word(p, peek(p), "AND")) {
        uint32_t tok = (uint32_t)p->pos++;
        ddb_node *right = parse_not(p);
        left = right ? node2(p, ND_AND, tok, left, right) : NULL;
    }
    return left;
}

static ddb_node *parse_or(parser *p)
{
    ddb_node *left = parse_and(p);
    while (left && tok_is_word(p, peek(p), "OR")) {
        uint32_t tok = (uint32_t)p->pos++;
        ddb_node *right = parse_and(p);
        left = right ? node2(p, ND_OR, tok, left, right) : NULL;
    }
    return left;
}

/* -------------------------------------------------------------------- updates */

static ddb_node *parse_arith(parser *p)
{
    uint32_t start = (uint32_t)p->pos;
    ddb_node *a = parse_operand(p);
    if (!a)
        return NULL;
    ddb_tok_kind k = peek(p)->kind;
    if (k != TK_PLUS && k != TK_MINUS)
        return a;
    p->pos++;
    ddb_node *b = parse_operand(p);
    return b ? node2(p, k == TK_PLUS ? ND_PLUS : ND_MINUS, start, a, b) : NULL;
}

static ddb_node *parse_set_value(parser *p)
{
    if (peek(p)->kind == TK_LPAREN) {
        size_t save = p->pos++;
        ddb_node *inner = parse_arith(p);
        if (inner && expect(p, TK_RPAREN)) {
            if (inner->parens)
                inner->redundant = 1;
            inner->parens = 1;
            ddb_tok_kind k = peek(p)->kind;
            if (k != TK_PLUS && k != TK_MINUS)
                return inner;
        }
        p->pos = save; /* (a) + b */
    }
    return parse_arith(p);
}

static ddb_node *parse_action(parser *p, ddb_node_kind kind)
{
    ddb_node *n = new_node(p, kind, (uint32_t)p->pos);
    if (!parse_path(p, &n->path))
        return NULL;
    if (kind == ND_SET) {
        if (!expect(p, TK_EQ))
            return NULL;
        ddb_node *v = parse_set_value(p);
        if (!v)
            return NULL;
        n->args = ddb_arena_alloc(p->arena, sizeof *n->args);
        n->args[0] = v;
        n->nargs = 1;
    } else if (kind == ND_ADD || kind == ND_DELETE) {
        if (peek(p)->kind != TK_VALUE) {
            fail_here(p);
            return NULL;
        }
        n->args = ddb_arena_alloc(p->arena, sizeof *n->args);
        n->args[0] = new_node(p, ND_VALUE, (uint32_t)p->pos++);
        n->nargs = 1;
    }
    return n;
}

static int parse_update(parser *p, node_list *actions)
{
    static const struct {
        const char *word;
        ddb_node_kind kind;
    } sections[] = {{"SET", ND_SET}, {"REMOVE", ND_REMOVE}, {"ADD", ND_ADD}, {"DELETE", ND_DELETE}};
    do {
        size_t s = 0;
        while (s < 4 && !tok_is_word(p, peek(p), sections[s].word))
            s++;
        if (s == 4) {
            fail_here(p);
            return 0;
        }
        p->pos++;
        if ((p->sections_seen & (1u << s)) && !p->dup_section)
            p->dup_section = sections[s].word;
        p->sections_seen |= 1u << s;
        do {
            ddb_node *a = parse_action(p, sections[s].kind);
            if (!a)
                return 0;
            list_push(actions, a);
        } while (accept(p, TK_COMMA));
    } while (peek(p)->kind != TK_EOF);
    return 1;
}

/* ------------------------------------------------------------------ the checks */

typedef enum slot {
    E_PARENS,
    E_UNKNOWN_FN,
    E_SECTION,
    E_MISUSED,
    E_RESERVED,
    E_ATTR, /* a name or a value not defined (conditions) */
    E_ATTRNAME,
    E_ATTRVAL,
    E_OVERLAP,
    E_CONFLICT,
    E_ACTION_OPERAND,
    E_ARITY,
    E_DISTINCT,
    E_FUNCTION,
    NSLOTS
} slot;

static const slot condition_order[] = {E_PARENS, E_UNKNOWN_FN, E_MISUSED,  E_RESERVED,
                                       E_ATTR,   E_ARITY,      E_DISTINCT, E_FUNCTION};
static const slot update_order[] = {E_RESERVED, E_UNKNOWN_FN, E_SECTION,  E_ATTRNAME,
                                    E_ATTRVAL,  E_OVERLAP,    E_CONFLICT, E_ACTION_OPERAND,
                                    E_ARITY,    E_FUNCTION,   E_PARENS};
static const slot projection_order[] = {E_RESERVED, E_ATTRNAME, E_OVERLAP, E_CONFLICT};

typedef struct checker {
    ddb_expr_kind kind;
    const char *src;
    const ddb_token *toks;
    json_t *names, *values;
    json_t *used_names, *used_values; /* sets: key -> true */
    char msg[NSLOTS][320];
    int has[NSLOTS];
} checker;

static void record(checker *c, slot s, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void record(checker *c, slot s, const char *fmt, ...)
{
    if (c->has[s])
        return;
    c->has[s] = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->msg[s], sizeof c->msg[s], fmt, ap);
    va_end(ap);
}

static int is_condition_kind(ddb_expr_kind k)
{
    return k == DDB_EXPR_CONDITION || k == DDB_EXPR_KEY_CONDITION || k == DDB_EXPR_FILTER;
}

static const char *tok_text(const checker *c, uint32_t tok, int *len)
{
    *len = (int)c->toks[tok].len;
    return c->src + c->toks[tok].start;
}

static void check_path(checker *c, ddb_path *path)
{
    for (size_t i = 0; i < path->n; i++) {
        ddb_path_elem *e = &path->elems[i];
        if (e->is_index)
            continue;
        if (!e->is_placeholder) {
            if (ddb_is_reserved(e->name, e->len))
                record(c, E_RESERVED,
                       "Attribute name is a reserved keyword; reserved keyword: %.*s", (int)e->len,
                       e->name);
            continue;
        }
        json_t *v = c->names ? json_object_getn(c->names, e->name, e->len) : NULL;
        if (!json_is_string(v)) {
            record(c, is_condition_kind(c->kind) ? E_ATTR : E_ATTRNAME,
                   "An expression attribute name used in the document path is not defined; "
                   "attribute name: %.*s",
                   (int)e->len, e->name);
            continue;
        }
        json_object_setn_new(c->used_names, e->name, e->len, json_true());
        e->name = json_string_value(v);
        e->len = json_string_length(v);
        e->is_placeholder = 2; /* resolved */
    }
}

static void check_value(checker *c, ddb_node *n)
{
    int len;
    const char *text = tok_text(c, n->tok, &len);
    json_t *v = c->values ? json_object_getn(c->values, text, (size_t)len) : NULL;
    if (!v) {
        record(c, is_condition_kind(c->kind) ? E_ATTR : E_ATTRVAL,
               "An expression attribute value used in expression is not defined; attribute "
               "value: %.*s",
               len, text);
        return;
    }
    json_object_setn_new(c->used_values, text, (size_t)len, json_true());
    n->value = v;
}

/* "[a, b, [2]]" as DynamoDB prints a document path in its messages. */
static void path_text(const ddb_path *p, char *out, size_t outlen)
{
    buf b = BUF_INIT;
    buf_putc(&b, '[');
    for (size_t i = 0; i < p->n && b.len < 200; i++) {
        if (i)
            buf_puts(&b, ", ");
        if (p->elems[i].is_index)
            buf_printf(&b, "[%u]", p->elems[i].index);
        else
            buf_append(&b, p->elems[i].name, p->elems[i].len);
    }
    buf_putc(&b, ']');
    snprintf(out, outlen, "%s", b.data);
    buf_free(&b);
}

static int path_resolved(const ddb_path *p)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->elems[i].is_placeholder == 1)
            return 0;
    return 1;
}

static int elems_equal(const ddb_path_elem *a, const ddb_path_elem *b)
{
    if (a->is_index != b->is_index)
        return 0;
    if (a->is_index)
        return a->index == b->index;
    return a->len == b->len && memcmp(a->name, b->name, a->len) == 0;
}

static int paths_equal(const ddb_path *a, const ddb_path *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (!elems_equal(&a->elems[i], &b->elems[i]))
            return 0;
    return 1;
}

/* Overlap (one path is a prefix of the other) and conflict (a name where the other has an
 * index) between the target paths of an update or a projection. */
static void check_overlaps(checker *c, ddb_path *const *paths, size_t n)
{
    for (size_t j = 1; j < n && !c->has[E_OVERLAP]; j++) {
        if (!path_resolved(paths[j]))
            continue;
        for (size_t i = 0; i < j; i++) {
            const ddb_path *a = paths[i], *b = paths[j];
            if (!path_resolved(a))
                continue;
            size_t k = 0, common = a->n < b->n ? a->n : b->n;
            while (k < common && elems_equal(&a->elems[k], &b->elems[k]))
                k++;
            char one[256], two[256];
            if (k == common) {
                path_text(a, one, sizeof one);
                path_text(b, two, sizeof two);
                record(c, E_OVERLAP,
                       "Two document paths overlap with each other; must remove or rewrite one "
                       "of these paths; path one: %s, path two: %s",
                       one, two);
                break;
            }
            if (a->elems[k].is_index != b->elems[k].is_index) {
                path_text(a, one, sizeof one);
                path_text(b, two, sizeof two);
                record(c, E_CONFLICT,
                       "Two document paths conflict with each other; must remove or rewrite one "
                       "of these paths; path one: %s, path two: %s",
                       one, two);
            }
        }
    }
}

static const char *fn_name(const checker *c, const ddb_node *n, int *len)
{
    return tok_text(c, n->tok, len);
}

/* The type an operand is known to have before evaluation: a value's, N for size(). */
static ddb_type static_type(const ddb_node *n)
{
    if (n->kind == ND_VALUE && n->value)
        return ddb_type_of(n->value);
    if (n->kind == ND_CALL && n->op == FN_SIZE)
        return DDB_N;
    if (n->kind == ND_PLUS || n->kind == ND_MINUS)
        return DDB_N;
    if (n->kind == ND_CALL && n->op == FN_LIST_APPEND)
        return DDB_L;
    return DDB_NONE;
}

static void operand_type_error(checker *c, const char *fn, int fnlen, ddb_type t)
{
    record(c, E_FUNCTION,
           "Incorrect operand type for operator or function; operator or function: %.*s, "
           "operand type: %s",
           fnlen, fn, ddb_type_name(t));
}

static void check_operand(checker *c, ddb_node *n);

static void check_misused(checker *c, const ddb_node *n)
{
    if (is_condition_kind(c->kind) && n->kind == ND_CALL && n->op != FN_SIZE) {
        int len;
        const char *name = fn_name(c, n, &len);
        record(c, E_MISUSED,
               "The function is not allowed to be used this way in an expression; function: %.*s",
               len, name);
    }
}

static void check_distinct(checker *c, const char *op, int oplen, const ddb_node *a,
                           const ddb_node *b)
{
    if (a->kind != ND_PATH || b->kind != ND_PATH || !path_resolved(&a->path) ||
        !paths_equal(&a->path, &b->path))
        return;
    char text[256];
    path_text(&a->path, text, sizeof text);
    record(c, E_DISTINCT,
           "The first operand must be distinct from the remaining operands for this operator "
           "or function; operator: %.*s, first operand: %s",
           oplen, op, text);
}

static void check_call_types(checker *c, ddb_node *n, const char *name, int len)
{
    switch (n->op) {
    case FN_ATTRIBUTE_EXISTS:
    case FN_ATTRIBUTE_NOT_EXISTS:
    case FN_IF_NOT_EXISTS:
        if (n->args[0]->kind != ND_PATH)
            record(c, E_FUNCTION,
                   "Operator or function requires a document path; operator or function: %.*s", len,
                   name);
        break;
    case FN_BEGINS_WITH:
        for (size_t i = 0; i < n->nargs; i++) {
            ddb_type t = static_type(n->args[i]);
            if (t != DDB_NONE && t != DDB_S && t != DDB_B)
                operand_type_error(c, name, len, t);
        }
        break;
    case FN_ATTRIBUTE_TYPE: {
        ddb_type t = static_type(n->args[1]);
        if (t != DDB_S) {
            if (t == DDB_NONE)
                record(c, E_FUNCTION,
                       "Incorrect operand type for operator or function; operator or function: "
                       "%.*s, operand type: {NS,SS,L,BS,N,M,B,BOOL,NULL,S}",
                       len, name);
            else
                operand_type_error(c, name, len, t);
            break;
        }
        json_t *s = ddb_payload(n->args[1]->value);
        if (ddb_type_from_name(json_string_value(s), json_string_length(s)) == DDB_NONE)
            record(c, E_FUNCTION,
                   "Invalid attribute type name found; type: %.*s, valid types: "
                   "{B,NULL,SS,BOOL,L,BS,N,NS,S,M}",
                   (int)strnlen(json_string_value(s), 100), json_string_value(s));
        break;
    }
    case FN_SIZE: {
        ddb_type t = static_type(n->args[0]);
        if (t == DDB_N || t == DDB_BOOL || t == DDB_NULL)
            operand_type_error(c, name, len, t);
        break;
    }
    case FN_LIST_APPEND:
        for (size_t i = 0; i < n->nargs; i++) {
            ddb_type t = n->args[i]->kind == ND_VALUE ? static_type(n->args[i]) : DDB_NONE;
            if (t != DDB_NONE && t != DDB_L)
                operand_type_error(c, name, len, t);
        }
        break;
    default:
        break;
    }
}

static void check_call(checker *c, ddb_node *n)
{
    int len;
    const char *name = fn_name(c, n, &len);
    if (n->op == FN_UNKNOWN)
        record(c, E_UNKNOWN_FN, "Invalid function name; function: %.*s", len, name);
    for (size_t i = 0; i < n->nargs; i++) {
        check_misused(c, n->args[i]);
        check_operand(c, n->args[i]);
    }
    if (n->op == FN_UNKNOWN)
        return;
    size_t want =
        (n->op == FN_ATTRIBUTE_EXISTS || n->op == FN_ATTRIBUTE_NOT_EXISTS || n->op == FN_SIZE) ? 1
                                                                                               : 2;
    if (n->nargs != want) {
        record(c, E_ARITY,
               "Incorrect number of operands for operator or function; operator or function: "
               "%.*s, number of operands: %zu",
               len, name, n->nargs);
        return;
    }
    if (want == 2 && is_condition_kind(c->kind))
        check_distinct(c, name, len, n->args[0], n->args[1]);
    check_call_types(c, n, name, len);
}

static void check_arith(checker *c, ddb_node *n)
{
    const char *op = n->kind == ND_PLUS ? "+" : "-";
    for (size_t i = 0; i < 2; i++) {
        check_operand(c, n->args[i]);
        ddb_type t = n->args[i]->kind == ND_VALUE ? static_type(n->args[i]) : DDB_NONE;
        if (t != DDB_NONE && t != DDB_N)
            operand_type_error(c, op, 1, t);
    }
}

static void check_operand(checker *c, ddb_node *n)
{
    if (n->redundant)
        record(c, E_PARENS, "The expression has redundant parentheses;");
    switch (n->kind) {
    case ND_PATH:
        check_path(c, &n->path);
        break;
    case ND_VALUE:
        check_value(c, n);
        break;
    case ND_CALL:
        check_call(c, n);
        break;
    case ND_PLUS:
    case ND_MINUS:
        check_arith(c, n);
        break;
    default:
        break;
    }
}

/* "{S:a}" as DynamoDB prints a value in the BETWEEN messages. */
static void value_text(const json_t *av, char *out, size_t outlen)
{
    json_t *p = ddb_payload(av);
    if (json_is_string(p)) {
        snprintf(out, outlen, "{%s:%.*s}", ddb_type_name(ddb_type_of(av)),
                 (int)strnlen(json_string_value(p), 100), json_string_value(p));
        return;
    }
    char *dump = json_dumps(p, JSON_COMPACT | JSON_ENCODE_ANY);
    snprintf(out, outlen, "{%s:%.100s}", ddb_type_name(ddb_type_of(av)), dump ? dump : "");
    free(dump);
}

static void check_between_bounds(checker *c, const ddb_node *lo, const ddb_node *hi)
{
    if (lo->kind != ND_VALUE || hi->kind != ND_VALUE || !lo->value || !hi->value)
        return;
    ddb_type a = ddb_type_of(lo->value), b = ddb_type_of(hi->value);
    char x[160], y[160];
    value_text(lo->value, x, sizeof x);
    value_text(hi->value, y, sizeof y);
    if (a != b)
        record(c, E_FUNCTION,
               "The BETWEEN operator requires same data type for lower and upper bounds; lower "
               "bound operand: AttributeValue: %s, upper bound operand: AttributeValue: %s",
               x, y);
    else if ((a == DDB_S || a == DDB_N || a == DDB_B) && ddb_key_cmp(lo->value, hi->value) > 0)
        record(c, E_FUNCTION,
               "The BETWEEN operator requires upper bound to be greater than or equal to lower "
               "bound; lower bound operand: AttributeValue: %s, upper bound operand: "
               "AttributeValue: %s",
               x, y);
}

static void check_condition(checker *c, ddb_node *n)
{
    static const char *const cmp_text[] = {"=", "<>", "<", "<=", ">", ">="};
    if (n->redundant)
        record(c, E_PARENS, "The expression has redundant parentheses;");
    switch (n->kind) {
    case ND_AND:
    case ND_OR:
    case ND_NOT:
        for (size_t i = 0; i < n->nargs; i++)
            check_condition(c, n->args[i]);
        break;
    case ND_CALL:
        if (n->op == FN_SIZE)
            record(c, E_MISUSED,
                   "The function is not allowed to be used this way in an expression; "
                   "function: size");
        check_call(c, n);
        break;
    case ND_CMP:
    case ND_BETWEEN:
    case ND_IN:
        for (size_t i = 0; i < n->nargs; i++) {
            check_misused(c, n->args[i]);
            check_operand(c, n->args[i]);
        }
        if (n->kind == ND_CMP)
            check_distinct(c, cmp_text[n->op], (int)strlen(cmp_text[n->op]), n->args[0],
                           n->args[1]);
        if (n->kind == ND_BETWEEN)
            check_between_bounds(c, n->args[1], n->args[2]);
        if (n->kind == ND_IN && n->nargs - 1 > DDB_MAX_IN_OPERANDS)
            record(c, E_ARITY,
                   "The IN operator is provided with too many operands; number of operands: %zu",
                   n->nargs - 1);
        break;
    default:
        check_operand(c, n);
        break;
    }
}

static const char *type_word(ddb_type t)
{
    switch (t) {
    case DDB_S:
        return "STRING";
    case DDB_N:
        return "NUMBER";
    case DDB_B:
        return "BINARY";
    case DDB_NULL:
        return "NULL";
    case DDB_BOOL:
        return "BOOLEAN";
    case DDB_L:
        return "LIST";
    case DDB_M:
        return "MAP";
    default:
        return NULL;
    }
}

static void check_action(checker *c, ddb_node *a)
{
    check_path(c, &a->path);
    if (a->kind == ND_SET) {
        check_operand(c, a->args[0]);
        return;
    }
    if (a->kind != ND_ADD && a->kind != ND_DELETE)
        return;
    check_value(c, a->args[0]);
    if (!a->args[0]->value)
        return;
    ddb_type t = ddb_type_of(a->args[0]->value);
    const char *word = type_word(t);
    if (word && !(a->kind == ND_ADD && t == DDB_N))
        record(c, E_ACTION_OPERAND,
               "Incorrect operand type for operator or function; operator: %s, operand type: %s",
               a->kind == ND_ADD ? "ADD" : "DELETE", word);
}

static const char *first_error(const checker *c)
{
    const slot *order = condition_order;
    size_t n = sizeof condition_order / sizeof *condition_order;
    if (c->kind == DDB_EXPR_UPDATE) {
        order = update_order;
        n = sizeof update_order / sizeof *update_order;
    } else if (c->kind == DDB_EXPR_PROJECTION) {
        order = projection_order;
        n = sizeof projection_order / sizeof *projection_order;
    }
    for (size_t i = 0; i < n; i++)
        if (c->has[order[i]])
            return c->msg[order[i]];
    return NULL;
}

/* ------------------------------------------------------- one expression, end to end */

static const char *label(ddb_expr_kind k)
{
    static const char *const labels[] = {"ConditionExpression", "KeyConditionExpression",
                                         "FilterExpression", "UpdateExpression",
                                         "ProjectionExpression"};
    return labels[k];
}

static void syntax_error(const parser *p, char *err, size_t errlen)
{
    const ddb_token *t = &p->toks[p->fail_pos];
    size_t near_start = p->fail_pos > 0 ? p->toks[p->fail_pos - 1].start : 0;
    size_t near_end = p->n;
    if (t->kind != TK_EOF && t[1].kind != TK_EOF)
        near_end = t[1].start + t[1].len;
    int tlen = t->kind == TK_EOF ? 5 : (int)t->len;
    const char *ttext = t->kind == TK_EOF ? "<EOF>" : p->src + t->start;
    snprintf(err, errlen, "Invalid %s: Syntax error; token: \"%.*s\", near: \"%.*s\"",
             label(p->kind), tlen, ttext, (int)(near_end - near_start), p->src + near_start);
}

typedef struct compile_ctx {
    ddb_exprs *e;
    json_t *names, *values, *used_names, *used_values;
} compile_ctx;

static int compile_one(compile_ctx *cc, ddb_expr_kind kind, ddb_text text, char *err, size_t errlen)
{
    if (!text.s)
        return 0;
    if (text.n == 0) {
        snprintf(err, errlen, "Invalid %s: The expression can not be empty;", label(kind));
        return -1;
    }
    if (text.n > DDB_MAX_EXPRESSION_SIZE) {
        snprintf(err, errlen,
                 "Invalid %s: Expression size has exceeded the maximum allowed size; expression "
                 "size: %zu",
                 label(kind), text.n);
        return -1;
    }
    size_t ntoks;
    parser p = {.src = text.s, .n = text.n, .kind = kind, .arena = &cc->e->arena};
    p.toks = ddb_lex(text.s, text.n, &ntoks);
    node_list list = {0};
    ddb_node *root = NULL;
    int ok;
    if (kind == DDB_EXPR_UPDATE) {
        ok = parse_update(&p, &list);
    } else if (kind == DDB_EXPR_PROJECTION) {
        ok = 1;
        do {
            ddb_node *n = new_node(&p, ND_PATH, (uint32_t)p.pos);
            ok = parse_path(&p, &n->path);
            if (ok)
                list_push(&list, n);
        } while (ok && accept(&p, TK_COMMA));
    } else {
        root = parse_or(&p);
        ok = root != NULL;
    }
    if (ok)
        ok = expect(&p, TK_EOF);
    if (!ok) {
        syntax_error(&p, err, errlen);
        xfree(list.items);
        xfree(p.toks);
        return -1;
    }

    checker *c = xcalloc(1, sizeof *c);
    c->kind = kind;
    c->src = text.s;
    c->toks = p.toks;
    c->names = cc->names;
    c->values = cc->values;
    c->used_names = cc->used_names;
    c->used_values = cc->used_values;
    size_t n = 0;
    ddb_node **nodes = list_to_arena(&p, &list, &n);
    ddb_path **paths = xcalloc(n ? n : 1, sizeof *paths);
    if (root)
        check_condition(c, root);
    for (size_t i = 0; i < n; i++) {
        if (kind == DDB_EXPR_UPDATE)
            check_action(c, nodes[i]);
        else
            check_path(c, &nodes[i]->path);
        paths[i] = &nodes[i]->path;
    }
    if (p.dup_section)
        record(c, E_SECTION, "The \"%s\" section can only be used once in an update expression;",
               p.dup_section);
    check_overlaps(c, paths, n);
    xfree(paths);
    const char *msg = first_error(c);
    if (msg)
        snprintf(err, errlen, "Invalid %s: %s", label(kind), msg);
    xfree(c);
    xfree(p.toks);
    if (msg)
        return -1;

    ddb_exprs *e = cc->e;
    if (kind == DDB_EXPR_CONDITION)
        e->condition = root;
    else if (kind == DDB_EXPR_KEY_CONDITION)
        e->key_condition = root;
    else if (kind == DDB_EXPR_FILTER)
        e->filter = root;
    else if (kind == DDB_EXPR_UPDATE) {
        e->actions = nodes;
        e->nactions = n;
        e->update_paths = ddb_arena_alloc(&e->arena, (n ? n : 1) * sizeof *e->update_paths);
        for (size_t i = 0; i < n; i++)
            e->update_paths[i] = nodes[i]->path;
    } else {
        e->projection = ddb_arena_alloc(&e->arena, (n ? n : 1) * sizeof *e->projection);
        for (size_t i = 0; i < n; i++)
            e->projection[i] = nodes[i]->path;
        e->nprojection = n;
    }
    return 0;
}

/* ------------------------------------------------------------- names and values */

static int placeholder_key_ok(const char *k, size_t n, char sigil)
{
    if (n < 2 || k[0] != sigil)
        return 0;
    for (size_t i = 1; i < n; i++) {
        char ch = k[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_'))
            return 0;
    }
    return 1;
}

static int check_maps(const ddb_expr_input *in, char *err, size_t errlen)
{
    const char *k;
    size_t kl;
    json_t *v;
    if (in->names) {
        if (json_object_size(in->names) == 0) {
            snprintf(err, errlen, "ExpressionAttributeNames must not be empty");
            return -1;
        }
        json_object_keylen_foreach(in->names, k, kl, v)
        {
            if (!placeholder_key_ok(k, kl, '#')) {
                snprintf(
                    err, errlen,
                    "ExpressionAttributeNames contains invalid key: Syntax error; key: \"%.*s\"",
                    (int)strnlen(k, kl > 200 ? 200 : kl), k);
                return -1;
            }
        }
    }
    if (in->values) {
        if (json_object_size(in->values) == 0) {
            snprintf(err, errlen, "ExpressionAttributeValues must not be empty");
            return -1;
        }
        json_object_keylen_foreach(in->values, k, kl, v)
        {
            if (!placeholder_key_ok(k, kl, ':')) {
                snprintf(
                    err, errlen,
                    "ExpressionAttributeValues contains invalid key: Syntax error; key: \"%.*s\"",
                    (int)strnlen(k, kl > 200 ? 200 : kl), k);
                return -1;
            }
        }
        json_object_keylen_foreach(in->values, k, kl, v)
        {
            char msg[400];
            if (ddb_value_validate(v, msg, sizeof msg) != 0) {
                snprintf(err, errlen,
                         "ExpressionAttributeValues contains invalid value: %s for key %.*s", msg,
                         (int)kl, k);
                return -1;
            }
        }
    }
    return 0;
}

static int check_unused(const json_t *map, const json_t *used, const char *what, char *err,
                        size_t errlen)
{
    if (!map)
        return 0;
    buf b = BUF_INIT;
    const char *k;
    size_t kl;
    json_t *v;
    json_object_keylen_foreach((json_t *)map, k, kl, v)
    {
        if (json_object_getn(used, k, kl))
            continue;
        buf_puts(&b, b.len ? ", " : "");
        buf_append(&b, k, kl);
    }
    int rc = 0;
    if (b.len) {
        snprintf(err, errlen, "Value provided in %s unused in expressions: keys: {%s}", what,
                 b.data);
        rc = -1;
    }
    buf_free(&b);
    return rc;
}

/* ---------------------------------------------------------------- key conditions */

typedef struct key_check {
    const char *names[8];
    size_t lens[8];
    size_t n;
} key_check;

static const char *key_condition_problem(const ddb_node *n, key_check *seen)
{
    switch (n->kind) {
    case ND_AND: {
        const char *m = key_condition_problem(n->args[0], seen);
        return m ? m : key_condition_problem(n->args[1], seen);
    }
    case ND_OR:
        return "Invalid operator used in KeyConditionExpression: OR";
    case ND_NOT:
        return "Invalid operator used in KeyConditionExpression: NOT";
    case ND_IN:
        return "Invalid operator used in KeyConditionExpression: IN";
    case ND_CMP:
        if (n->op == CMP_NE)
            return "Invalid operator used in KeyConditionExpression: <>";
        break;
    case ND_CALL:
        switch (n->op) {
        case FN_ATTRIBUTE_EXISTS:
            return "Invalid operator used in KeyConditionExpression: attribute_exists";
        case FN_ATTRIBUTE_NOT_EXISTS:
            return "Invalid operator used in KeyConditionExpression: attribute_not_exists";
        case FN_ATTRIBUTE_TYPE:
            return "Invalid operator used in KeyConditionExpression: attribute_type";
        case FN_CONTAINS:
            return "Invalid operator used in KeyConditionExpression: contains";
        case FN_SIZE:
            return "KeyConditionExpressions cannot contain nested operations";
        case FN_BEGINS_WITH:
            if (n->args[0]->kind != ND_PATH)
                return "Invalid condition in KeyConditionExpression: begins_with operator must "
                       "have the key attribute as its first operand";
            break;
        default:
            break;
        }
        break;
    case ND_BETWEEN:
        if (n->args[0]->kind != ND_PATH)
            return "Invalid condition in KeyConditionExpression: BETWEEN operator must have the "
                   "key attribute as its first operand";
        break;
    default:
        break;
    }
    const ddb_path *key = NULL;
    for (size_t i = 0; i < n->nargs; i++) {
        const ddb_node *a = n->args[i];
        if (a->kind == ND_PATH) {
            if (key)
                return "Invalid condition in KeyConditionExpression: Multiple attribute names "
                       "used in one condition";
            if (a->path.n > 1)
                return "KeyConditionExpressions cannot have conditions on nested attributes";
            key = &a->path;
        } else if (a->kind == ND_CALL) {
            const char *m = key_condition_problem(a, seen);
            if (m)
                return m;
        }
    }
    if (!key)
        return "Invalid condition in KeyConditionExpression: No key attribute specified";
    for (size_t i = 0; i < seen->n; i++)
        if (seen->lens[i] == key->elems[0].len &&
            memcmp(seen->names[i], key->elems[0].name, seen->lens[i]) == 0)
            return "KeyConditionExpressions must only contain one condition per key";
    if (seen->n < 8) {
        seen->names[seen->n] = key->elems[0].name;
        seen->lens[seen->n++] = key->elems[0].len;
    }
    return NULL;
}

/* ------------------------------------------------------------------------ compile */

int ddb_exprs_compile(ddb_exprs **out, const ddb_expr_input *in, char *err, size_t errlen)
{
    *out = NULL;
    if (check_maps(in, err, errlen) != 0)
        return -1;
    ddb_exprs *e = xcalloc(1, sizeof *e);
    compile_ctx cc = {.e = e,
                      .names = in->names,
                      .values = in->values,
                      .used_names = json_object(),
                      .used_values = json_object()};
    int rc = compile_one(&cc, DDB_EXPR_UPDATE, in->update, err, errlen);
    if (rc == 0)
        rc = compile_one(&cc, DDB_EXPR_CONDITION, in->condition, err, errlen);
    if (rc == 0)
        rc = compile_one(&cc, DDB_EXPR_KEY_CONDITION, in->key_condition, err, errlen);
    if (rc == 0)
        rc = compile_one(&cc, DDB_EXPR_FILTER, in->filter, err, errlen);
    if (rc == 0)
        rc = compile_one(&cc, DDB_EXPR_PROJECTION, in->projection, err, errlen);
    if (rc == 0)
        rc = check_unused(in->names, cc.used_names, "ExpressionAttributeNames", err, errlen);
    if (rc == 0)
        rc = check_unused(in->values, cc.used_values, "ExpressionAttributeValues", err, errlen);
    if (rc == 0 && e->key_condition) {
        key_check seen = {0};
        const char *m = key_condition_problem(e->key_condition, &seen);
        if (m) {
            snprintf(err, errlen, "%s", m);
            rc = -1;
        }
    }
    json_decref(cc.used_names);
    json_decref(cc.used_values);
    if (rc != 0) {
        ddb_exprs_free(e);
        return -1;
    }
    *out = e;
    return 0;
}

void ddb_exprs_free(ddb_exprs *e)
{
    if (!e)
        return;
    ddb_arena_free(&e->arena);
    xfree(e);
}

int ddb_exprs_has(const ddb_exprs *e, ddb_expr_kind kind)
{
    switch (kind) {
    case DDB_EXPR_CONDITION:
        return e->condition != NULL;
    case DDB_EXPR_KEY_CONDITION:
        return e->key_condition != NULL;
    case DDB_EXPR_FILTER:
        return e->filter != NULL;
    case DDB_EXPR_UPDATE:
        return e->actions != NULL;
    case DDB_EXPR_PROJECTION:
        return e->projection != NULL;
    }
    return 0;
}

/* ---------------------------------------------------------- key condition resolve */

static int name_is(const ddb_path *p, const char *name)
{
    return name && p->elems[0].len == strlen(name) &&
           memcmp(p->elems[0].name, name, p->elems[0].len) == 0;
}

static void collect_key_conditions(const ddb_node *n, const ddb_node **out, size_t *count)
{
    if (n->kind == ND_AND) {
        collect_key_conditions(n->args[0], out, count);
        collect_key_conditions(n->args[1], out, count);
    } else if (*count < 8) {
        out[(*count)++] = n;
    }
}

static const ddb_path *condition_key(const ddb_node *n)
{
    for (size_t i = 0; i < n->nargs; i++)
        if (n->args[i]->kind == ND_PATH)
            return &n->args[i]->path;
    return NULL;
}

static ddb_key_op key_op(const ddb_node *n)
{
    if (n->kind == ND_BETWEEN)
        return DDB_KEY_BETWEEN;
    if (n->kind == ND_CALL)
        return DDB_KEY_BEGINS_WITH;
    static const ddb_key_op ops[] = {DDB_KEY_EQ, DDB_KEY_EQ, DDB_KEY_LT,
                                     DDB_KEY_LE, DDB_KEY_GT, DDB_KEY_GE};
    static const ddb_key_op flipped[] = {DDB_KEY_EQ, DDB_KEY_EQ, DDB_KEY_GT,
                                         DDB_KEY_GE, DDB_KEY_LT, DDB_KEY_LE};
    return n->args[0]->kind == ND_PATH ? ops[n->op] : flipped[n->op];
}

static const json_t *other_value(const ddb_node *n, size_t which)
{
    size_t seen = 0;
    for (size_t i = 0; i < n->nargs; i++) {
        if (n->args[i]->kind == ND_PATH)
            continue;
        if (seen++ == which)
            return n->args[i]->value;
    }
    return NULL;
}

int ddb_key_condition_resolve(const ddb_exprs *e, const char *hash_key, const char *range_key,
                              ddb_key_condition *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!e->key_condition) {
        snprintf(err, errlen, "Query condition missed key schema element: %s", hash_key);
        return -1;
    }
    const ddb_node *conds[8];
    size_t n = 0;
    collect_key_conditions(e->key_condition, conds, &n);
    const ddb_node *hash = NULL, *range = NULL;
    for (size_t i = 0; i < n; i++) {
        const ddb_path *k = condition_key(conds[i]);
        if (name_is(k, hash_key))
            hash = conds[i];
        else if (name_is(k, range_key))
            range = conds[i];
    }
    if (!hash) {
        snprintf(err, errlen, "Query condition missed key schema element: %s", hash_key);
        return -1;
    }
    if (hash->kind != ND_CMP || key_op(hash) != DDB_KEY_EQ) {
        snprintf(err, errlen, "Query key condition not supported");
        return -1;
    }
    if (n > (range ? 2u : 1u)) {
        if (range_key)
            snprintf(err, errlen, "Query condition missed key schema element: %s", range_key);
        else
            snprintf(err, errlen, "Query key condition not supported");
        return -1;
    }
    out->hash_value = other_value(hash, 0);
    if (range) {
        out->has_range = 1;
        out->range_op = key_op(range);
        out->range_values[0] = other_value(range, 0);
        out->range_values[1] = other_value(range, 1);
    }
    return 0;
}
