/* JSONata internals shared by the lexer, parser, evaluator and function library.
 *
 * Memory: everything an evaluation creates lives in one arena freed when it ends, so no
 * value is reference counted (closures and the frames they capture may form cycles)
 * and an error unwinds with longjmp without leaking. The compiled tree lives in the
 * expression's own arena.
 *
 * Values: JSONata's data model is JavaScript's, so values are our own tagged structs
 * (a function can sit inside an object; arrays carry JSONata's sequence flags), built
 * from json_t on the way in and turned back into json_t on the way out. NULL is
 * "undefined". */
#ifndef SLUICE_JSONATA_INTERNAL_H
#define SLUICE_JSONATA_INTERNAL_H

#include "jsonata/jsonata.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------- arena */

typedef struct jn_chunk jn_chunk;
typedef struct jn_arena {
    jn_chunk *head;
    size_t used;  /* bytes handed out, all chunks */
    size_t limit; /* 0: no limit */
} jn_arena;

/* Returns zeroed memory, or NULL when the limit would be passed. */
void *jn_arena_alloc(jn_arena *a, size_t n);
void jn_arena_free(jn_arena *a);

/* ---------------------------------------------------------------- values */

enum jn_kind { JN_NULL, JN_BOOL, JN_NUM, JN_STR, JN_ARR, JN_OBJ, JN_FUNC };

/* Flags of arrays (jsonata-js keeps them as properties of the JS array). */
enum {
    JN_SEQ = 1,    /* a sequence: singletons collapse to their item */
    JN_KEEP = 2,   /* keepSingleton: the [] operator keeps it an array */
    JN_CONS = 4,   /* built by an array constructor: not flattened into paths */
    JN_OUTER = 8,  /* outerWrapper: the input array wrapped so $ is the whole array */
    JN_TUPLES = 16 /* a stream of tuples (objects of bindings) for @, # and % */
};

typedef struct jn_val jn_val;
typedef struct jn_obj jn_obj;
typedef struct jn_func jn_func;

struct jn_val {
    uint8_t kind;
    uint8_t flags;
    uint16_t depth; /* nesting: 0 for scalars, 1 + the deepest item for containers */
    union {
        bool b;
        double n;
        struct {
            const char *s;
            size_t len;
        } str;
        struct {
            jn_val **items;
            size_t len, cap;
        } arr;
        jn_obj *obj;
        jn_func *fn;
    } u;
};

/* Objects keep insertion order; an index is built once they grow. */
struct jn_obj {
    size_t len, cap;
    const char **keys;
    size_t *klens;
    jn_val **vals;
    uint32_t *index; /* open addressing, slot = position + 1, 0 empty */
    size_t index_cap;
};

/* ---------------------------------------------------------------- tree */

typedef struct jn_node jn_node;
typedef struct jn_sig jn_sig;
typedef struct jn_regex jn_regex;

enum jn_node_type {
    /* produced by the parser, rewritten by the post-parse pass */
    JN_N_BINARY,
    JN_N_UNARY, /* op '-', '[' (array constructor), '{' (object constructor) */
    JN_N_NAME,
    JN_N_VARIABLE,
    JN_N_STRING,
    JN_N_NUMBER,
    JN_N_VALUE, /* true, false, null */
    JN_N_REGEX,
    JN_N_WILDCARD,
    JN_N_DESCENDANT,
    JN_N_PARENT,
    JN_N_FUNCTION,
    JN_N_PARTIAL,
    JN_N_PLACEHOLDER, /* the ? of a partial application */
    JN_N_LAMBDA,
    JN_N_CONDITION,
    JN_N_COALESCE, /* a ?? b */
    JN_N_ELVIS,    /* a ?: b */
    JN_N_BLOCK,
    JN_N_TRANSFORM,
    JN_N_OPERATOR, /* and/or/in used as names, before the post-parse pass */
    /* only after the post-parse pass */
    JN_N_PATH,
    JN_N_BIND,
    JN_N_APPLY,
    JN_N_SORT,
    JN_N_FILTER, /* a stage: predicate expression in ->expr */
    JN_N_INDEX,  /* a stage: #$var binding in ->name */
    JN_N_SORTTERM
};

/* Operators (tokens). */
enum jn_op {
    JN_OP_NONE,
    JN_OP_DOT,
    JN_OP_LBRACKET,
    JN_OP_RBRACKET,
    JN_OP_LBRACE,
    JN_OP_RBRACE,
    JN_OP_LPAREN,
    JN_OP_RPAREN,
    JN_OP_COMMA,
    JN_OP_AT,
    JN_OP_HASH,
    JN_OP_SEMI,
    JN_OP_COLON,
    JN_OP_QUESTION,
    JN_OP_PLUS,
    JN_OP_MINUS,
    JN_OP_STAR,
    JN_OP_SLASH,
    JN_OP_PERCENT,
    JN_OP_PIPE,
    JN_OP_EQ,
    JN_OP_LT,
    JN_OP_GT,
    JN_OP_CARET,
    JN_OP_STARSTAR,
    JN_OP_DOTDOT,
    JN_OP_ASSIGN,
    JN_OP_NE,
    JN_OP_LE,
    JN_OP_GE,
    JN_OP_CHAIN,
    JN_OP_AND,
    JN_OP_OR,
    JN_OP_IN,
    JN_OP_AMP,
    JN_OP_BANG,
    JN_OP_TILDE,
    JN_OP_COALESCE,
    JN_OP_ELVIS,
    JN_OP_COUNT
};
const char *jn_op_text(int op);

/* The parent operator % resolves to a slot: a label bound in the tuple stream. */
typedef struct jn_slot {
    char label[16];
    int level;
    int index;
} jn_slot;

struct jn_node {
    uint8_t type;
    uint8_t op; /* binary and unary operators */
    int pos;
    jn_val *lit;      /* string, number and value literals */
    const char *name; /* name, variable; focus and index names below */
    size_t name_len;
    jn_node *lhs, *rhs, *expr;
    jn_node *cond, *then_, *else_;
    jn_node *procedure, *body;
    jn_node *pattern, *update, *del;
    jn_node **list; /* array items, block, call arguments, path steps, lambda params,
                       sort terms */
    int nlist;
    jn_node **pairs; /* object constructor: key, value, key, value... */
    int npairs;
    jn_node **stages; /* filters and index bindings of a step, or predicates */
    int nstages;
    jn_node **preds; /* predicates of a non-step expression */
    int npreds;
    jn_node *group; /* a unary '{' node holding the grouping pairs */
    const char *focus, *index_var;
    size_t focus_len, index_len;
    jn_slot *slot;     /* parent */
    jn_slot *ancestor; /* label to bind this step's input to */
    jn_slot **seeking; /* parents still looking for their step */
    int nseeking;
    jn_sig *sig;
    jn_regex *re;
    bool keep_array, consarray, keep_singleton_array, tuple, thunk, descending;
};

/* ---------------------------------------------------------------- evaluation */

typedef struct jn_frame jn_frame;
struct jn_frame {
    jn_frame *parent;
    const char **names;
    size_t *nlens;
    jn_val **vals;
    int n, cap;
};

typedef struct jn_ctx jn_ctx;
typedef jn_val *(*jn_builtin_fn)(jn_ctx *c, jn_val **args, int nargs, jn_val *focus);

typedef struct jn_builtin {
    const char *name;
    const char *signature;
    jn_builtin_fn fn;
    int arity; /* what jsonata-js's Function.length would say */
} jn_builtin;

enum jn_func_kind {
    JN_F_BUILTIN,
    JN_F_LAMBDA,
    JN_F_PARTIAL,
    JN_F_REGEX,
    JN_F_TRANSFORM,
    JN_F_CHAIN
};

struct jn_func {
    uint8_t kind;
    bool thunk;
    int arity;
    const jn_sig *sig;
    const jn_builtin *builtin; /* builtin */
    const jn_node *node;       /* lambda (params, body), transform */
    jn_frame *env;             /* lambda, transform: the closure */
    jn_val *input;             /* lambda: the focus when it was defined */
    jn_val *target;            /* partial: the function; chain: first */
    jn_val *second;            /* chain: second */
    jn_val **bound;            /* partial: arguments, NULL where a ? was */
    int nbound;
    const jn_regex *re; /* regex */
};

struct jn_ctx {
    jn_arena arena;
    jmp_buf fail;
    char *err;
    size_t errlen;
    int depth;
    uint64_t steps;
    int64_t deadline_ms;
    double now_ms; /* $now() and $millis() are the same within one evaluation */
    uint64_t rng;
    uint64_t next_clock_check;
    jn_frame *global;
    jn_frame *env;    /* the frame a builtin was called from ($eval) */
    size_t out_nodes; /* result conversion budget */
};

/* Error details for the message templates (jsonata-js's err fields). */
typedef struct jn_err {
    const char *token;
    const jn_val *value, *value2;
    bool has_value, has_value2;
    int index;
    const char *type;
    const char *message;
} jn_err;

_Noreturn void jn_throw(jn_ctx *c, const char *code, int pos, const jn_err *d);
/* Shorthands: code with no details; code with a value. */
_Noreturn void jn_fail(jn_ctx *c, const char *code, int pos);
_Noreturn void jn_fail_value(jn_ctx *c, const char *code, int pos, const jn_val *v);
/* Formats code's message into out (used by compile errors too). */
void jn_format_error(char *out, size_t outlen, const char *code, int pos, const jn_err *d);

/* Charges n steps to the budget; fails with U1001 when it is spent or time is up. */
void jn_charge(jn_ctx *c, uint64_t n);

/* ---------------------------------------------------------------- value helpers */

void *jn_alloc(jn_ctx *c, size_t n);
extern jn_val jn_null_val, jn_true_val, jn_false_val;
jn_val *jn_bool(bool b);
jn_val *jn_num(jn_ctx *c, double n);                  /* fails D1001 when n is not finite */
jn_val *jn_str(jn_ctx *c, const char *s, size_t len); /* copies */
jn_val *jn_str0(jn_ctx *c, const char *s);
jn_val *jn_str_take(jn_ctx *c, char *s, size_t len); /* s already in the arena */
jn_val *jn_arr(jn_ctx *c, size_t cap);
jn_val *jn_seq(jn_ctx *c); /* an empty sequence */
void jn_push(jn_ctx *c, jn_val *arr, jn_val *v);
/* Recomputes an array's depth after its items were written directly. */
void jn_arr_depth(jn_ctx *c, jn_val *arr);
jn_val *jn_obj_new(jn_ctx *c);
jn_val *jn_obj_get(const jn_val *o, const char *k, size_t klen);
bool jn_obj_has(const jn_val *o, const char *k, size_t klen);
void jn_obj_set(jn_ctx *c, jn_val *o, const char *k, size_t klen, jn_val *v);
void jn_obj_del(jn_ctx *c, jn_val *o, const char *k, size_t klen);
jn_val *jn_func_new(jn_ctx *c, int kind);

static inline bool jn_is_arr(const jn_val *v)
{
    return v && v->kind == JN_ARR;
}
static inline bool jn_is_seq(const jn_val *v)
{
    return v && v->kind == JN_ARR && (v->flags & JN_SEQ);
}
static inline bool jn_is_num(const jn_val *v)
{
    return v && v->kind == JN_NUM;
}
static inline bool jn_is_str(const jn_val *v)
{
    return v && v->kind == JN_STR;
}
static inline bool jn_is_func(const jn_val *v)
{
    return v && v->kind == JN_FUNC;
}
static inline bool jn_is_obj(const jn_val *v)
{
    return v && v->kind == JN_OBJ;
}

jn_val *jn_from_json(jn_ctx *c, json_t *j);
/* NULL for undefined and functions; fails U1001 past the result size or depth limits. */
json_t *jn_to_json(jn_ctx *c, const jn_val *v);
bool jn_deep_equal(jn_ctx *c, const jn_val *a, const jn_val *b);
/* Values nest at most this deep (results, copies, comparisons, text). */
#define JN_MAX_VALUE_DEPTH 1000
void jn_check_value_depth(jn_ctx *c, int depth);
/* Effective boolean value; false for undefined. */
bool jn_truthy(const jn_val *v);
/* fn.append: concatenates, wrapping non-arrays; NULL operands are skipped. */
jn_val *jn_append(jn_ctx *c, jn_val *a, jn_val *b);
jn_val *jn_deep_copy(jn_ctx *c, const jn_val *v);
bool jn_is_array_of_numbers(const jn_val *v);
bool jn_is_array_of_strings(const jn_val *v);

/* Numbers as JavaScript prints them (Number.prototype.toString). out >= 32 bytes. */
void jn_format_double(double d, char *out);
/* $string(): JSON text with numbers to 15 significant digits; strings as they are. */
jn_val *jn_stringify(jn_ctx *c, const jn_val *v, bool pretty);
/* JSON.stringify, for error messages: appends to a malloc'd buffer. */
char *jn_json_text(const jn_val *v);

/* UTF-8 helpers: the number of code points; the byte offset of code point i. */
size_t jn_utf8_len(const char *s, size_t n);
size_t jn_utf8_offset(const char *s, size_t n, size_t cp);
/* Decodes one code point at s (n bytes left), returning its byte length (1 on bad
 * bytes, with *cp the byte). */
size_t jn_utf8_next(const char *s, size_t n, uint32_t *cp);
size_t jn_utf8_put(char *out, uint32_t cp);
/* Simple case mapping (Latin, Greek, Cyrillic), as the regex i flag and $lowercase /
 * $uppercase use it. */
uint32_t jn_fold_lower(uint32_t c);
uint32_t jn_fold_upper(uint32_t c);

/* ---------------------------------------------------------------- growable text */

typedef struct jn_sb {
    jn_ctx *c;
    char *s;
    size_t len, cap;
} jn_sb;
void jn_sb_init(jn_sb *b, jn_ctx *c);
void jn_sb_add(jn_sb *b, const char *s, size_t n);
void jn_sb_addc(jn_sb *b, char ch);
void jn_sb_adds(jn_sb *b, const char *s);
void jn_sb_addcp(jn_sb *b, uint32_t cp);
jn_val *jn_sb_val(jn_sb *b);

/* ---------------------------------------------------------------- lexer and parser */

enum jn_tok_type {
    JN_T_END,
    JN_T_OP,
    JN_T_NAME,
    JN_T_VAR,
    JN_T_STR,
    JN_T_NUM,
    JN_T_VALUE,
    JN_T_REGEX
};

typedef struct jn_token {
    int type;
    int op;
    const char *text; /* name, variable, string (decoded), regex pattern */
    size_t len;
    double num;
    int value_kind; /* JN_NULL, JN_BOOL with b */
    bool b;
    const char *flags; /* regex flags */
    int pos;
} jn_token;

typedef struct jn_lexer {
    const char *src;
    size_t len, pos;
    jn_arena *arena;
    const char *err_code; /* set on a lexical error */
    int err_pos;
    const char *err_token;
} jn_lexer;

/* Reads the next token; infix: a '/' is division, not a regex. Returns 0, or -1 with
 * err_code set. */
int jn_lex_next(jn_lexer *lx, bool infix, jn_token *t);

/* Parses src into a tree in arena. Returns the tree or NULL with the message in err. */
jn_node *jn_parse(const char *src, jn_arena *arena, char *err, size_t errlen);

/* ---------------------------------------------------------------- signatures */

/* Parses "<s-nn?:s>"; NULL with *code set (S0401, S0402) if malformed. */
jn_sig *jn_sig_parse(jn_arena *a, const char *text, size_t len, const char **code);
/* Validates args against sig and returns the argument list to pass (context
 * substituted, singletons wrapped into arrays). Fails with T0410/T0411/T0412. */
jn_val **jn_sig_validate(jn_ctx *c, const jn_sig *sig, jn_val **args, int nargs, jn_val *context,
                         const char *fname, int pos, int *out_n);
int jn_sig_arity(const jn_sig *sig);

/* ---------------------------------------------------------------- regex */

/* Compiles a JavaScript regular expression. NULL with a message in err if not. */
jn_regex *jn_regex_compile(jn_arena *a, const char *pattern, size_t len, const char *flags,
                           char *err, size_t errlen);
typedef struct jn_match {
    size_t start, end;
    int ngroups;
    long *groups; /* 2 per group: start, end (-1 when unmatched) */
} jn_match;
/* Finds the first match in s at or after byte from. Returns 1, 0 for none. */
int jn_regex_exec(jn_ctx *c, const jn_regex *re, const char *s, size_t len, size_t from,
                  jn_match *m);
const char *jn_regex_source(const jn_regex *re);

/* ---------------------------------------------------------------- evaluator */

jn_val *jn_eval(jn_ctx *c, const jn_node *e, jn_val *input, jn_frame *env);
/* Applies a function value to arguments; focus is the context for '-' parameters. */
jn_val *jn_apply(jn_ctx *c, jn_val *fn, jn_val **args, int nargs, jn_val *focus, int pos);
int jn_func_arity(const jn_val *fn);
jn_frame *jn_frame_new(jn_ctx *c, jn_frame *parent);
void jn_frame_bind(jn_ctx *c, jn_frame *f, const char *name, size_t len, jn_val *v);
/* Looks name up through the frames, then the builtins. *found tells undefined bindings
 * from missing ones. */
jn_val *jn_lookup(jn_ctx *c, jn_frame *f, const char *name, size_t len, bool *found);

/* Stable merge sort (jsonata-js's fn.sort) of an array's items into a new array; swap says
 * when a must come after b. Arrays of fewer than two items come back as they are. */
typedef bool (*jn_swap_fn)(void *ud, jn_val *a, jn_val *b);
jn_val *jn_sort_values(jn_ctx *c, jn_val *arr, jn_swap_fn swap, void *ud);

/* ---------------------------------------------------------------- library */

const jn_builtin *jn_builtin_find(const char *name, size_t len);
const jn_sig *jn_builtin_sig(const jn_builtin *b);
/* Calls a matcher (regex) function on s from byte offset from. */
int jn_call_matcher(jn_ctx *c, jn_val *matcher, const char *s, size_t len, size_t from, jn_match *m,
                    const char *fname);
/* $eval support: compiles and evaluates text with the caller's frames. */
jn_val *jn_eval_text(jn_ctx *c, const char *text, size_t len, jn_val *focus);

/* Date and number formatting (jsonata_format.c). */
jn_val *jn_fn_format_number(jn_ctx *c, jn_val **a, int n, jn_val *focus);
jn_val *jn_fn_format_base(jn_ctx *c, jn_val **a, int n, jn_val *focus);
jn_val *jn_fn_format_integer(jn_ctx *c, jn_val **a, int n, jn_val *focus);
jn_val *jn_fn_parse_integer(jn_ctx *c, jn_val **a, int n, jn_val *focus);
jn_val *jn_fn_from_millis(jn_ctx *c, jn_val **a, int n, jn_val *focus);
jn_val *jn_fn_to_millis(jn_ctx *c, jn_val **a, int n, jn_val *focus);
jn_val *jn_fn_now(jn_ctx *c, jn_val **a, int n, jn_val *focus);
/* XPath fn:round half to even, at precision decimal places. */
double jn_round_half_even(double v, int precision);

#endif
