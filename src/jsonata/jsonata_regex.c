/* Regular expressions with JavaScript's syntax and matching rules, for JSONata's /re/
 * literals ($match, $replace, $split, $contains). Debian has no PCRE2 headers here and
 * POSIX regex differs from JavaScript's (no \d \w \s, lazy quantifiers, lookahead,
 * leftmost-first alternation), so this is a small engine of our own.
 *
 * The pattern is parsed into a tree, then compiled to a program for a backtracking
 * machine (the "recursive backtracking" of Thompson/Pike VM literature, with an explicit
 * stack): CHAR, ANY, CLASS, SPLIT (try x, then y), JMP, SAVE (capture), assertions,
 * BACKREF, LOOK (a sub-program run at the same position) and MATCH. Quantifiers are
 * SPLIT loops, greedy or lazy by branch order; {n,m} repeats the body's code. Each loop
 * iteration must consume input (MARK/CHECK), as JavaScript stops an empty iteration.
 * Captures are undone on backtracking through undo records on the same stack.
 *
 * Matching is bounded: every instruction executed is charged to the evaluation's step
 * budget, so catastrophic backtracking ends in U1001, and programs are capped in size.
 * Text is UTF-8 and matched by code point; the i flag folds case for Latin, Greek and
 * Cyrillic letters; the m flag makes ^ and $ match at line ends. */
#include "jsonata/jsonata_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PROGRAM 20000
#define MAX_DEPTH   100
#define INF         (-1)

enum rx_node_type {
    RX_EMPTY,
    RX_CHAR,
    RX_ANY,
    RX_CLASS,
    RX_BOL,
    RX_EOL,
    RX_WORDB,
    RX_NWORDB,
    RX_GROUP,
    RX_LOOK,
    RX_BACKREF,
    RX_CAT,
    RX_ALT,
    RX_REPEAT
};

typedef struct rx_range {
    uint32_t lo, hi;
} rx_range;

typedef struct rx_class {
    rx_range *ranges;
    int n;
    bool negated;
    bool not_digit, not_word, not_space; /* \D \W \S inside brackets */
} rx_class;

typedef struct rx_node rx_node;
struct rx_node {
    int type;
    uint32_t cp;
    rx_class *cls;
    int group; /* capture index, -1 for (?:) */
    bool negative, greedy;
    int min, max;
    rx_node *child;
    rx_node **kids;
    int nkids, capkids;
};

enum rx_op {
    OP_CHAR,
    OP_ANY,
    OP_CLASS,
    OP_SPLIT,
    OP_JMP,
    OP_SAVE,
    OP_BOL,
    OP_EOL,
    OP_WORDB,
    OP_NWORDB,
    OP_BACKREF,
    OP_LOOK,
    OP_MARK,
    OP_CHECK,
    OP_MATCH
};

typedef struct rx_inst {
    uint8_t op;
    bool neg;
    int x, y;
    uint32_t cp;
    const rx_class *cls;
} rx_inst;

struct jn_regex {
    rx_inst *prog;
    int nprog;
    int ngroups; /* capturing groups, not counting the whole match */
    int nregs;   /* loop progress registers */
    bool icase, multiline;
    const char *source;
};

const char *jn_regex_source(const jn_regex *re)
{
    return re->source;
}

/* ---------------------------------------------------------------- case folding */

uint32_t jn_fold_lower(uint32_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c + 32;
    if (c < 0xc0)
        return c;
    if ((c >= 0xc0 && c <= 0xde && c != 0xd7) || (c >= 0x391 && c <= 0x3ab && c != 0x3a2) ||
        (c >= 0x410 && c <= 0x42f))
        return c + 32;
    if (c >= 0x400 && c <= 0x40f)
        return c + 80;
    if (((c >= 0x100 && c <= 0x137) || (c >= 0x14a && c <= 0x177) || (c >= 0x460 && c <= 0x481) ||
         (c >= 0x48a && c <= 0x4bf) || (c >= 0x4d0 && c <= 0x52f)) &&
        c % 2 == 0)
        return c + 1;
    if (((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e)) && c % 2 == 1)
        return c + 1;
    if (c == 0x178)
        return 0xff;
    return c;
}

uint32_t jn_fold_upper(uint32_t c)
{
    if (c >= 'a' && c <= 'z')
        return c - 32;
    if (c < 0xb5)
        return c;
    if (c == 0xb5)
        return 0x39c;
    if ((c >= 0xe0 && c <= 0xfe && c != 0xf7) || (c >= 0x3b1 && c <= 0x3cb && c != 0x3c2) ||
        (c >= 0x430 && c <= 0x44f))
        return c - 32;
    if (c == 0x3c2)
        return 0x3a3;
    if (c == 0xff)
        return 0x178;
    if (c >= 0x450 && c <= 0x45f)
        return c - 80;
    if (((c >= 0x101 && c <= 0x137) || (c >= 0x14b && c <= 0x177) || (c >= 0x461 && c <= 0x481) ||
         (c >= 0x48b && c <= 0x4bf) || (c >= 0x4d1 && c <= 0x52f)) &&
        c % 2 == 1)
        return c - 1;
    if (((c >= 0x13a && c <= 0x148) || (c >= 0x17a && c <= 0x17e)) && c % 2 == 0)
        return c - 1;
    return c;
}

/* ---------------------------------------------------------------- parser */

typedef struct rx_parser {
    const char *s;
    size_t len, pos;
    jn_arena *a;
    int ngroups;
    int depth;
    const char *error;
} rx_parser;

static void *rx_alloc(rx_parser *p, size_t n)
{
    void *m = jn_arena_alloc(p->a, n);
    if (!m && !p->error)
        p->error = "out of memory";
    return m;
}

static rx_node *rx_new(rx_parser *p, int type)
{
    rx_node *n = rx_alloc(p, sizeof *n);
    if (n)
        n->type = type;
    return n;
}

static void rx_add_kid(rx_parser *p, rx_node *n, rx_node *kid)
{
    if (n->nkids == n->capkids) {
        int cap = n->capkids ? n->capkids * 2 : 4;
        rx_node **k = rx_alloc(p, (size_t)cap * sizeof *k);
        if (!k)
            return;
        if (n->nkids)
            memcpy(k, n->kids, (size_t)n->nkids * sizeof *k);
        n->kids = k;
        n->capkids = cap;
    }
    n->kids[n->nkids++] = kid;
}

static void class_add(rx_parser *p, rx_class *c, uint32_t lo, uint32_t hi)
{
    if (c->n % 8 == 0) {
        rx_range *r = rx_alloc(p, (size_t)(c->n + 8) * sizeof *r);
        if (!r)
            return;
        if (c->n)
            memcpy(r, c->ranges, (size_t)c->n * sizeof *r);
        c->ranges = r;
    }
    c->ranges[c->n].lo = lo;
    c->ranges[c->n].hi = hi;
    c->n++;
}

static void class_add_digit(rx_parser *p, rx_class *c)
{
    class_add(p, c, '0', '9');
}

static void class_add_word(rx_parser *p, rx_class *c)
{
    class_add(p, c, 'a', 'z');
    class_add(p, c, 'A', 'Z');
    class_add(p, c, '0', '9');
    class_add(p, c, '_', '_');
}

static void class_add_space(rx_parser *p, rx_class *c)
{
    static const rx_range SPACE[] = {
        {9, 13},          {32, 32},         {0xa0, 0xa0},     {0x1680, 0x1680}, {0x2000, 0x200a},
        {0x2028, 0x2029}, {0x202f, 0x202f}, {0x205f, 0x205f}, {0x3000, 0x3000}, {0xfeff, 0xfeff}};
    for (size_t i = 0; i < sizeof SPACE / sizeof SPACE[0]; i++)
        class_add(p, c, SPACE[i].lo, SPACE[i].hi);
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static uint32_t read_cp(rx_parser *p)
{
    uint32_t cp;
    p->pos += jn_utf8_next(p->s + p->pos, p->len - p->pos, &cp);
    return cp;
}

static bool read_hex(rx_parser *p, int digits, uint32_t *out)
{
    if (p->pos + (size_t)digits > p->len)
        return false;
    uint32_t v = 0;
    for (int i = 0; i < digits; i++) {
        int h = hexval(p->s[p->pos + (size_t)i]);
        if (h < 0)
            return false;
        v = v * 16 + (uint32_t)h;
    }
    p->pos += (size_t)digits;
    *out = v;
    return true;
}

/* An escape after '\' that stands for one character; in_class: \b is a backspace. */
static uint32_t escape_char(rx_parser *p, char ch, bool in_class)
{
    uint32_t v;
    switch (ch) {
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    case 'f':
        return '\f';
    case 'v':
        return '\v';
    case '0':
        return 0;
    case 'b':
        return in_class ? '\b' : 'b';
    case 'x':
        if (read_hex(p, 2, &v))
            return v;
        return 'x';
    case 'u':
        if (read_hex(p, 4, &v))
            return v;
        return 'u';
    case 'c':
        if (p->pos < p->len && ((p->s[p->pos] | 32) >= 'a' && (p->s[p->pos] | 32) <= 'z'))
            return (uint32_t)(p->s[p->pos++] % 32);
        return 'c';
    default:
        p->pos--;
        return read_cp(p);
    }
}

static rx_node *parse_class(rx_parser *p)
{
    rx_node *n = rx_new(p, RX_CLASS);
    rx_class *c = rx_alloc(p, sizeof *c);
    if (!n || !c)
        return NULL;
    n->cls = c;
    if (p->pos < p->len && p->s[p->pos] == '^') {
        c->negated = true;
        p->pos++;
    }
    for (;;) {
        if (p->pos >= p->len) {
            p->error = "missing terminating ] for character class";
            return NULL;
        }
        if (p->s[p->pos] == ']') {
            p->pos++;
            return n;
        }
        uint32_t lo;
        bool single = true;
        if (p->s[p->pos] == '\\' && p->pos + 1 < p->len) {
            char e = p->s[p->pos + 1];
            p->pos += 2;
            switch (e) {
            case 'd':
                class_add_digit(p, c);
                single = false;
                break;
            case 'w':
                class_add_word(p, c);
                single = false;
                break;
            case 's':
                class_add_space(p, c);
                single = false;
                break;
            case 'D':
                c->not_digit = true;
                single = false;
                break;
            case 'W':
                c->not_word = true;
                single = false;
                break;
            case 'S':
                c->not_space = true;
                single = false;
                break;
            default:
                lo = escape_char(p, e, true);
            }
            if (!single)
                continue;
        } else {
            lo = read_cp(p);
        }
        uint32_t hi = lo;
        if (p->pos + 1 < p->len && p->s[p->pos] == '-' && p->s[p->pos + 1] != ']') {
            p->pos++;
            if (p->s[p->pos] == '\\' && p->pos + 1 < p->len) {
                char e = p->s[p->pos + 1];
                p->pos += 2;
                if (strchr("dwsDWS", e)) {
                    /* [a-\d]: the '-' is literal */
                    class_add(p, c, lo, lo);
                    class_add(p, c, '-', '-');
                    p->pos -= 2;
                    continue;
                }
                hi = escape_char(p, e, true);
            } else {
                hi = read_cp(p);
            }
            if (hi < lo) {
                p->error = "range out of order in character class";
                return NULL;
            }
        }
        class_add(p, c, lo, hi);
    }
}

static rx_node *parse_alt(rx_parser *p);

static bool parse_int(rx_parser *p, int *out)
{
    size_t start = p->pos;
    long v = 0;
    while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
        v = v * 10 + (p->s[p->pos] - '0');
        if (v > 100000)
            v = 100000;
        p->pos++;
    }
    *out = (int)v;
    return p->pos > start;
}

/* {n}, {n,}, {n,m}; anything else leaves pos unchanged and returns false. */
static bool parse_braces(rx_parser *p, int *min, int *max)
{
    size_t save = p->pos;
    p->pos++;
    if (!parse_int(p, min)) {
        p->pos = save;
        return false;
    }
    *max = *min;
    if (p->pos < p->len && p->s[p->pos] == ',') {
        p->pos++;
        if (!parse_int(p, max))
            *max = INF;
    }
    if (p->pos >= p->len || p->s[p->pos] != '}') {
        p->pos = save;
        return false;
    }
    p->pos++;
    return true;
}

static rx_node *parse_atom(rx_parser *p)
{
    char ch = p->s[p->pos];
    rx_node *n;
    switch (ch) {
    case '^':
        p->pos++;
        return rx_new(p, RX_BOL);
    case '$':
        p->pos++;
        return rx_new(p, RX_EOL);
    case '.':
        p->pos++;
        return rx_new(p, RX_ANY);
    case '[':
        p->pos++;
        return parse_class(p);
    case '(': {
        p->pos++;
        if (++p->depth > MAX_DEPTH) {
            p->error = "pattern nested too deeply";
            return NULL;
        }
        n = rx_new(p, RX_GROUP);
        if (!n)
            return NULL;
        n->group = -1;
        if (p->pos + 1 < p->len && p->s[p->pos] == '?') {
            char k = p->s[p->pos + 1];
            if (k == ':') {
                p->pos += 2;
            } else if (k == '=' || k == '!') {
                n->type = RX_LOOK;
                n->negative = k == '!';
                p->pos += 2;
            } else if (k == '<' && p->pos + 2 < p->len && p->s[p->pos + 2] != '=' &&
                       p->s[p->pos + 2] != '!') {
                const char *end = memchr(p->s + p->pos, '>', p->len - p->pos);
                if (!end) {
                    p->error = "invalid capture group name";
                    return NULL;
                }
                p->pos = (size_t)(end - p->s) + 1;
                n->group = ++p->ngroups;
            } else {
                p->error = "lookbehind and inline flags are not supported";
                return NULL;
            }
        } else {
            n->group = ++p->ngroups;
        }
        n->child = parse_alt(p);
        if (!n->child)
            return NULL;
        if (p->pos >= p->len || p->s[p->pos] != ')') {
            p->error = "missing )";
            return NULL;
        }
        p->pos++;
        p->depth--;
        return n;
    }
    case ')':
        p->error = "unmatched )";
        return NULL;
    case '*':
    case '+':
    case '?':
        p->error = "nothing to repeat";
        return NULL;
    case '{': {
        int a, b;
        if (parse_braces(p, &a, &b)) {
            p->error = "nothing to repeat";
            return NULL;
        }
        p->pos++;
        n = rx_new(p, RX_CHAR);
        if (n)
            n->cp = '{';
        return n;
    }
    case '\\': {
        if (p->pos + 1 >= p->len) {
            p->error = "\\ at end of pattern";
            return NULL;
        }
        char e = p->s[p->pos + 1];
        p->pos += 2;
        if (e == 'b' || e == 'B')
            return rx_new(p, e == 'b' ? RX_WORDB : RX_NWORDB);
        if (strchr("dwsDWS", e)) {
            n = rx_new(p, RX_CLASS);
            rx_class *c = rx_alloc(p, sizeof *c);
            if (!n || !c)
                return NULL;
            n->cls = c;
            char lower = (char)(e | 32);
            if (lower == 'd')
                class_add_digit(p, c);
            else if (lower == 'w')
                class_add_word(p, c);
            else
                class_add_space(p, c);
            c->negated = e != lower;
            return n;
        }
        if (e >= '1' && e <= '9') {
            int v = e - '0';
            while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9' && v < 1000)
                v = v * 10 + (p->s[p->pos++] - '0');
            n = rx_new(p, RX_BACKREF);
            if (n)
                n->group = v;
            return n;
        }
        n = rx_new(p, RX_CHAR);
        if (n)
            n->cp = escape_char(p, e, false);
        return n;
    }
    default:
        n = rx_new(p, RX_CHAR);
        if (n)
            n->cp = read_cp(p);
        return n;
    }
}

static rx_node *parse_quantified(rx_parser *p)
{
    rx_node *atom = parse_atom(p);
    if (!atom)
        return NULL;
    while (p->pos < p->len) {
        char ch = p->s[p->pos];
        int min, max;
        if (ch == '*') {
            min = 0, max = INF;
            p->pos++;
        } else if (ch == '+') {
            min = 1, max = INF;
            p->pos++;
        } else if (ch == '?') {
            min = 0, max = 1;
            p->pos++;
        } else if (ch == '{' && parse_braces(p, &min, &max)) {
            if (max != INF && max < min) {
                p->error = "numbers out of order in {} quantifier";
                return NULL;
            }
        } else {
            break;
        }
        if (atom->type == RX_BOL || atom->type == RX_EOL || atom->type == RX_WORDB ||
            atom->type == RX_NWORDB || (atom->type == RX_REPEAT)) {
            p->error = "nothing to repeat";
            return NULL;
        }
        rx_node *r = rx_new(p, RX_REPEAT);
        if (!r)
            return NULL;
        r->child = atom;
        r->min = min;
        r->max = max;
        r->greedy = true;
        if (p->pos < p->len && p->s[p->pos] == '?') {
            r->greedy = false;
            p->pos++;
        }
        atom = r;
    }
    return atom;
}

static rx_node *parse_cat(rx_parser *p)
{
    rx_node *cat = rx_new(p, RX_CAT);
    if (!cat)
        return NULL;
    while (p->pos < p->len && p->s[p->pos] != '|' && p->s[p->pos] != ')') {
        rx_node *q = parse_quantified(p);
        if (!q)
            return NULL;
        rx_add_kid(p, cat, q);
    }
    return cat;
}

static rx_node *parse_alt(rx_parser *p)
{
    rx_node *first = parse_cat(p);
    if (!first || p->pos >= p->len || p->s[p->pos] != '|')
        return first;
    rx_node *alt = rx_new(p, RX_ALT);
    if (!alt)
        return NULL;
    rx_add_kid(p, alt, first);
    while (p->pos < p->len && p->s[p->pos] == '|') {
        p->pos++;
        rx_node *next = parse_cat(p);
        if (!next)
            return NULL;
        rx_add_kid(p, alt, next);
    }
    return alt;
}

/* ---------------------------------------------------------------- compiler */

typedef struct rx_compiler {
    rx_inst *prog;
    int n, cap;
    int nregs;
    jn_arena *a;
    const char *error;
} rx_compiler;

static int emit(rx_compiler *k, int op)
{
    if (k->error)
        return 0;
    if (k->n >= MAX_PROGRAM) {
        k->error = "pattern too large";
        return 0;
    }
    if (k->n == k->cap) {
        int cap = k->cap ? k->cap * 2 : 64;
        rx_inst *p = jn_arena_alloc(k->a, (size_t)cap * sizeof *p);
        if (!p) {
            k->error = "out of memory";
            return 0;
        }
        if (k->n)
            memcpy(p, k->prog, (size_t)k->n * sizeof *p);
        k->prog = p;
        k->cap = cap;
    }
    memset(&k->prog[k->n], 0, sizeof k->prog[k->n]);
    k->prog[k->n].op = (uint8_t)op;
    return k->n++;
}

static void compile_node(rx_compiler *k, const rx_node *n);

static void compile_star(rx_compiler *k, const rx_node *child, bool greedy)
{
    int reg = k->nregs++;
    int split = emit(k, OP_SPLIT);
    int mark = emit(k, OP_MARK);
    k->prog[mark].x = reg;
    compile_node(k, child);
    int check = emit(k, OP_CHECK);
    k->prog[check].x = reg;
    int jmp = emit(k, OP_JMP);
    if (k->error)
        return;
    k->prog[jmp].x = split;
    k->prog[split].x = greedy ? mark : k->n;
    k->prog[split].y = greedy ? k->n : mark;
}

static void compile_repeat(rx_compiler *k, const rx_node *n)
{
    for (int i = 0; i < n->min && !k->error; i++)
        compile_node(k, n->child);
    if (n->max == INF) {
        compile_star(k, n->child, n->greedy);
        return;
    }
    int optional = n->max - n->min;
    int *splits = optional > 0 ? jn_arena_alloc(k->a, (size_t)optional * sizeof *splits) : NULL;
    if (optional > 0 && !splits) {
        k->error = "out of memory";
        return;
    }
    for (int i = 0; i < optional && !k->error; i++) {
        splits[i] = emit(k, OP_SPLIT);
        compile_node(k, n->child);
    }
    if (k->error)
        return;
    for (int i = 0; i < optional; i++) {
        int s = splits[i];
        k->prog[s].x = n->greedy ? s + 1 : k->n;
        k->prog[s].y = n->greedy ? k->n : s + 1;
    }
}

static void compile_node(rx_compiler *k, const rx_node *n)
{
    if (k->error)
        return;
    int i;
    switch (n->type) {
    case RX_EMPTY:
        break;
    case RX_CHAR:
        i = emit(k, OP_CHAR);
        if (!k->error)
            k->prog[i].cp = n->cp;
        break;
    case RX_ANY:
        emit(k, OP_ANY);
        break;
    case RX_CLASS:
        i = emit(k, OP_CLASS);
        if (!k->error)
            k->prog[i].cls = n->cls;
        break;
    case RX_BOL:
        emit(k, OP_BOL);
        break;
    case RX_EOL:
        emit(k, OP_EOL);
        break;
    case RX_WORDB:
        emit(k, OP_WORDB);
        break;
    case RX_NWORDB:
        emit(k, OP_NWORDB);
        break;
    case RX_BACKREF:
        i = emit(k, OP_BACKREF);
        if (!k->error)
            k->prog[i].x = n->group;
        break;
    case RX_GROUP:
        if (n->group < 0) {
            compile_node(k, n->child);
            break;
        }
        i = emit(k, OP_SAVE);
        if (!k->error)
            k->prog[i].x = 2 * n->group;
        compile_node(k, n->child);
        i = emit(k, OP_SAVE);
        if (!k->error)
            k->prog[i].x = 2 * n->group + 1;
        break;
    case RX_LOOK: {
        int look = emit(k, OP_LOOK);
        compile_node(k, n->child);
        emit(k, OP_MATCH);
        if (!k->error) {
            k->prog[look].neg = n->negative;
            k->prog[look].x = k->n;
        }
        break;
    }
    case RX_CAT:
        for (int j = 0; j < n->nkids; j++)
            compile_node(k, n->kids[j]);
        break;
    case RX_ALT: {
        int *jumps = jn_arena_alloc(k->a, (size_t)n->nkids * sizeof *jumps);
        if (!jumps) {
            k->error = "out of memory";
            return;
        }
        for (int j = 0; j < n->nkids; j++) {
            int split = -1;
            if (j < n->nkids - 1)
                split = emit(k, OP_SPLIT);
            compile_node(k, n->kids[j]);
            jumps[j] = j < n->nkids - 1 ? emit(k, OP_JMP) : -1;
            if (split >= 0 && !k->error) {
                k->prog[split].x = split + 1;
                k->prog[split].y = k->n;
            }
        }
        for (int j = 0; j < n->nkids - 1 && !k->error; j++)
            k->prog[jumps[j]].x = k->n;
        break;
    }
    case RX_REPEAT:
        compile_repeat(k, n);
        break;
    }
}

jn_regex *jn_regex_compile(jn_arena *a, const char *pattern, size_t len, const char *flags,
                           char *err, size_t errlen)
{
    rx_parser p = {.s = pattern, .len = len, .a = a};
    rx_node *root = parse_alt(&p);
    if (root && p.pos < p.len && !p.error)
        p.error = "unmatched )";
    if (!root || p.error) {
        snprintf(err, errlen, "%s", p.error ? p.error : "invalid pattern");
        return NULL;
    }
    rx_compiler k = {.a = a};
    int save = emit(&k, OP_SAVE);
    compile_node(&k, root);
    int save_end = emit(&k, OP_SAVE);
    emit(&k, OP_MATCH);
    if (k.error) {
        snprintf(err, errlen, "%s", k.error);
        return NULL;
    }
    k.prog[save].x = 0;
    k.prog[save_end].x = 1;
    jn_regex *re = jn_arena_alloc(a, sizeof *re);
    char *src = jn_arena_alloc(a, len + 1);
    if (!re || !src) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    memcpy(src, pattern, len);
    re->prog = k.prog;
    re->nprog = k.n;
    re->ngroups = p.ngroups;
    re->nregs = k.nregs;
    re->source = src;
    re->icase = flags && strchr(flags, 'i');
    re->multiline = flags && strchr(flags, 'm');
    return re;
}

/* ---------------------------------------------------------------- machine */

static bool is_word(uint32_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static bool is_line_end(uint32_t c)
{
    return c == '\n' || c == '\r' || c == 0x2028 || c == 0x2029;
}

static bool in_ranges(const rx_class *c, uint32_t cp)
{
    for (int i = 0; i < c->n; i++)
        if (cp >= c->ranges[i].lo && cp <= c->ranges[i].hi)
            return true;
    if (c->not_digit && !(cp >= '0' && cp <= '9'))
        return true;
    if (c->not_word && !is_word(cp))
        return true;
    if (c->not_space) {
        rx_class sp = {0};
        static const rx_range SPACE[] = {{9, 13},          {32, 32},         {0xa0, 0xa0},
                                         {0x1680, 0x1680}, {0x2000, 0x200a}, {0x2028, 0x2029},
                                         {0x202f, 0x202f}, {0x205f, 0x205f}, {0x3000, 0x3000},
                                         {0xfeff, 0xfeff}};
        sp.ranges = (rx_range *)SPACE;
        sp.n = (int)(sizeof SPACE / sizeof SPACE[0]);
        if (!in_ranges(&sp, cp))
            return true;
    }
    return false;
}

static bool class_match(const jn_regex *re, const rx_class *c, uint32_t cp)
{
    bool in = in_ranges(c, cp);
    if (!in && re->icase)
        in = in_ranges(c, jn_fold_lower(cp)) || in_ranges(c, jn_fold_upper(cp));
    return in != c->negated;
}

static uint32_t prev_cp(const char *s, size_t pos)
{
    if (pos == 0)
        return 0;
    size_t i = pos - 1;
    while (i > 0 && ((unsigned char)s[i] & 0xc0) == 0x80)
        i--;
    uint32_t cp;
    jn_utf8_next(s + i, pos - i, &cp);
    return cp;
}

typedef struct bt_entry {
    int kind; /* 0 branch, 1 capture undo, 2 register undo */
    int pc;
    size_t pos;
    long old;
} bt_entry;

typedef struct machine {
    jn_ctx *c;
    const jn_regex *re;
    const char *s;
    size_t len;
    bt_entry *stack;
    size_t sp, cap;
    uint32_t budget; /* steps not yet charged */
} machine;

static void bt_push(machine *m, int kind, int pc, size_t pos, long old)
{
    if (m->sp == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        bt_entry *st = jn_alloc(m->c, cap * sizeof *st);
        if (m->sp)
            memcpy(st, m->stack, m->sp * sizeof *st);
        m->stack = st;
        m->cap = cap;
    }
    m->stack[m->sp++] = (bt_entry){kind, pc, pos, old};
}

static bool backref_match(machine *m, long *caps, int group, size_t *pos)
{
    if (group > m->re->ngroups || caps[2 * group] < 0 || caps[2 * group + 1] < 0)
        return true; /* an unset group matches the empty string */
    size_t start = (size_t)caps[2 * group], n = (size_t)caps[2 * group + 1] - start;
    if (*pos + n > m->len)
        return false;
    if (!m->re->icase) {
        if (memcmp(m->s + start, m->s + *pos, n) != 0)
            return false;
        *pos += n;
        return true;
    }
    size_t i = 0, j = *pos;
    while (i < n) {
        uint32_t a, b;
        i += jn_utf8_next(m->s + start + i, n - i, &a);
        if (j >= m->len)
            return false;
        j += jn_utf8_next(m->s + j, m->len - j, &b);
        if (jn_fold_lower(a) != jn_fold_lower(b))
            return false;
    }
    *pos = j;
    return true;
}

/* Runs the program from pc at pos until its MATCH. Returns 1 with caps set, or 0. */
static int run(machine *m, int pc, size_t pos, long *caps, long *regs)
{
    const jn_regex *re = m->re;
    size_t base = m->sp;
    for (;;) {
        if (++m->budget >= 1024) {
            jn_charge(m->c, m->budget);
            m->budget = 0;
        }
        const rx_inst *in = &re->prog[pc];
        uint32_t cp;
        size_t w;
        switch (in->op) {
        case OP_CHAR:
            if (pos >= m->len)
                goto fail;
            w = jn_utf8_next(m->s + pos, m->len - pos, &cp);
            if (cp != in->cp && !(re->icase && jn_fold_lower(cp) == jn_fold_lower(in->cp)))
                goto fail;
            pos += w;
            pc++;
            continue;
        case OP_ANY:
            if (pos >= m->len)
                goto fail;
            w = jn_utf8_next(m->s + pos, m->len - pos, &cp);
            if (is_line_end(cp))
                goto fail;
            pos += w;
            pc++;
            continue;
        case OP_CLASS:
            if (pos >= m->len)
                goto fail;
            w = jn_utf8_next(m->s + pos, m->len - pos, &cp);
            if (!class_match(re, in->cls, cp))
                goto fail;
            pos += w;
            pc++;
            continue;
        case OP_SPLIT:
            bt_push(m, 0, in->y, pos, 0);
            pc = in->x;
            continue;
        case OP_JMP:
            pc = in->x;
            continue;
        case OP_SAVE:
            bt_push(m, 1, in->x, 0, caps[in->x]);
            caps[in->x] = (long)pos;
            pc++;
            continue;
        case OP_BOL:
            if (pos == 0 || (re->multiline && is_line_end(prev_cp(m->s, pos)))) {
                pc++;
                continue;
            }
            goto fail;
        case OP_EOL:
            if (pos == m->len) {
                pc++;
                continue;
            }
            jn_utf8_next(m->s + pos, m->len - pos, &cp);
            if (re->multiline && is_line_end(cp)) {
                pc++;
                continue;
            }
            goto fail;
        case OP_WORDB:
        case OP_NWORDB: {
            bool before = pos > 0 && is_word(prev_cp(m->s, pos));
            bool after = false;
            if (pos < m->len) {
                jn_utf8_next(m->s + pos, m->len - pos, &cp);
                after = is_word(cp);
            }
            if ((before != after) == (in->op == OP_WORDB)) {
                pc++;
                continue;
            }
            goto fail;
        }
        case OP_BACKREF:
            if (!backref_match(m, caps, in->x, &pos))
                goto fail;
            pc++;
            continue;
        case OP_LOOK: {
            size_t ncaps = 2 * (size_t)(re->ngroups + 1);
            long *sub = jn_alloc(m->c, ncaps * sizeof *sub);
            memcpy(sub, caps, ncaps * sizeof *sub);
            int ok = run(m, pc + 1, pos, sub, regs);
            if (ok == in->neg)
                goto fail;
            if (ok) {
                for (size_t i = 2; i < ncaps; i++)
                    if (sub[i] != caps[i]) {
                        bt_push(m, 1, (int)i, 0, caps[i]);
                        caps[i] = sub[i];
                    }
            }
            pc = in->x;
            continue;
        }
        case OP_MARK:
            bt_push(m, 2, in->x, 0, regs[in->x]);
            regs[in->x] = (long)pos;
            pc++;
            continue;
        case OP_CHECK:
            if (regs[in->x] == (long)pos)
                goto fail; /* an iteration that matched nothing ends the loop */
            pc++;
            continue;
        case OP_MATCH:
            caps[1] = caps[1] < 0 ? (long)pos : caps[1];
            m->sp = base; /* a match commits: drop the alternatives */
            return 1;
        }
    fail:
        for (;;) {
            if (m->sp == base)
                return 0;
            bt_entry e = m->stack[--m->sp];
            if (e.kind == 1) {
                caps[e.pc] = e.old;
            } else if (e.kind == 2) {
                regs[e.pc] = e.old;
            } else {
                pc = e.pc;
                pos = e.pos;
                break;
            }
        }
    }
}

int jn_regex_exec(jn_ctx *c, const jn_regex *re, const char *s, size_t len, size_t from,
                  jn_match *m)
{
    size_t ncaps = 2 * (size_t)(re->ngroups + 1);
    long *caps = jn_alloc(c, ncaps * sizeof *caps);
    long *regs = jn_alloc(c, ((size_t)re->nregs + 1) * sizeof *regs);
    machine mc = {.c = c, .re = re, .s = s, .len = len};
    for (size_t start = from; start <= len;) {
        for (size_t i = 0; i < ncaps; i++)
            caps[i] = -1;
        for (int i = 0; i < re->nregs; i++)
            regs[i] = -1;
        if (run(&mc, 0, start, caps, regs)) {
            jn_charge(c, mc.budget);
            m->start = (size_t)caps[0];
            m->end = (size_t)caps[1];
            m->ngroups = re->ngroups;
            m->groups = caps + 2;
            return 1;
        }
        if (start == len)
            break;
        uint32_t cp;
        start += jn_utf8_next(s + start, len - start, &cp);
    }
    jn_charge(c, mc.budget);
    return 0;
}
