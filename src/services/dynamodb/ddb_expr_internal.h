/* Shared by the DynamoDB expression files (lexer, parser, evaluator, update applier):
 * tokens, the syntax tree and the arena it lives in. Not for the service: it uses
 * ddb_expr.h. */
#ifndef SLUICE_DDB_EXPR_INTERNAL_H
#define SLUICE_DDB_EXPR_INTERNAL_H

#include "services/dynamodb/ddb_expr.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------------ tokens */

typedef enum ddb_tok_kind {
    TK_EOF,
    TK_IDENT,  /* [A-Za-z_][A-Za-z0-9_]* (keywords too) */
    TK_NAME,   /* #[A-Za-z0-9_]+ */
    TK_VALUE,  /* :[A-Za-z0-9_]+ */
    TK_NUMBER, /* [0-9]+ */
    TK_LPAREN,
    TK_RPAREN,
    TK_LBRACK,
    TK_RBRACK,
    TK_COMMA,
    TK_DOT,
    TK_EQ,
    TK_NE,
    TK_LT,
    TK_LE,
    TK_GT,
    TK_GE,
    TK_PLUS,
    TK_MINUS,
    TK_BAD, /* any other character (one UTF-8 sequence) */
} ddb_tok_kind;

typedef struct ddb_token {
    ddb_tok_kind kind;
    uint32_t start, len; /* bytes in the source */
} ddb_token;

/* Splits s into tokens, whitespace dropped, always ending with one TK_EOF (at s + n).
 * Returns an array the caller frees with xfree; *count includes the TK_EOF. */
ddb_token *ddb_lex(const char *s, size_t n, size_t *count);

/* 1 if s (n bytes) is a DynamoDB reserved word, in any letter case. */
int ddb_is_reserved(const char *s, size_t n);
size_t ddb_reserved_count(void);
const char *ddb_reserved_at(size_t i);

/* ------------------------------------------------------------------------- arena */

typedef struct ddb_arena {
    struct ddb_arena_block *head;
} ddb_arena;

void *ddb_arena_alloc(ddb_arena *a, size_t n); /* zeroed, aligned; aborts on OOM */
void ddb_arena_free(ddb_arena *a);

/* ------------------------------------------------------------------------- paths */

typedef struct ddb_path_elem {
    const char *name; /* resolved attribute name (not NUL-terminated) */
    size_t len;
    uint32_t index; /* list index when is_index */
    uint8_t is_index;
    uint8_t is_placeholder; /* written #name in the expression */
    uint32_t tok;           /* its token */
} ddb_path_elem;

typedef struct ddb_path {
    ddb_path_elem *elems;
    size_t n;
} ddb_path;

/* --------------------------------------------------------------------- the tree */

typedef enum ddb_node_kind {
    ND_PATH,
    ND_VALUE,
    ND_CALL,  /* op: ddb_fn */
    ND_PLUS,  /* update SET value a + b */
    ND_MINUS, /* update SET value a - b */
    ND_CMP,   /* op: ddb_cmp */
    ND_BETWEEN,
    ND_IN,
    ND_AND,
    ND_OR,
    ND_NOT,
    ND_SET, /* update actions: path = the target, args[0] the value */
    ND_REMOVE,
    ND_ADD,
    ND_DELETE,
} ddb_node_kind;

typedef enum ddb_cmp { CMP_EQ, CMP_NE, CMP_LT, CMP_LE, CMP_GT, CMP_GE } ddb_cmp;

typedef enum ddb_fn {
    FN_UNKNOWN,
    FN_ATTRIBUTE_EXISTS,
    FN_ATTRIBUTE_NOT_EXISTS,
    FN_ATTRIBUTE_TYPE,
    FN_BEGINS_WITH,
    FN_CONTAINS,
    FN_SIZE,
    FN_IF_NOT_EXISTS,
    FN_LIST_APPEND,
} ddb_fn;

typedef struct ddb_node {
    ddb_node_kind kind;
    int op;
    uint32_t tok;      /* first token (value/function name token for ND_VALUE/ND_CALL) */
    uint8_t parens;    /* written in parentheses */
    uint8_t redundant; /* written in two pairs of parentheses */
    ddb_path path;
    const json_t *value; /* ND_VALUE, once resolved */
    struct ddb_node **args;
    size_t nargs;
} ddb_node;

struct ddb_exprs {
    ddb_arena arena;
    ddb_node *condition, *key_condition, *filter;
    ddb_node **actions; /* update actions in expression order */
    size_t nactions;
    ddb_path *projection;
    size_t nprojection;
    ddb_path *update_paths; /* the targets of the actions */
};

/* ---------------------------------------------------------------- evaluation */

/* The value at path in item (borrowed), or NULL. */
json_t *ddb_path_get(const json_t *item, const ddb_path *path);
/* Evaluates a condition tree. */
int ddb_eval_condition(const ddb_node *n, const json_t *item);
/* The projection of item on the paths (see ddb_projection_apply). */
json_t *ddb_project_paths(const ddb_path *paths, size_t n, const json_t *item);
/* Removes the JSON nulls the update and projection code leaves as list holes. */
void ddb_squash_holes(json_t *v);

#endif
