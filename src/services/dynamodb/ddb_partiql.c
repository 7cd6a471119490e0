/* PartiQL for DynamoDB: a recursive-descent parser that rewrites a statement into DynamoDB
 * expressions.
 *
 * Attribute paths become #n<i> placeholders (one per distinct name) and literals or `?`
 * parameters become :v<i> placeholders, so the expression library (ddb_expr) evaluates the
 * conditions exactly as it does for the other operations. The WHERE clause is kept as its
 * top-level conjuncts, each with what the planner needs to know about it: whether it is
 * `attr <op> value`, `attr BETWEEN v AND v` or `begins_with(attr, v)` on a top-level attribute
 * (a key condition candidate) and, for an equality, the value. The planner then moves the key
 * conjuncts to KeyConditionExpression (Query) or Key (UpdateItem, DeleteItem, GetItem) and the
 * rest to FilterExpression or ConditionExpression; placeholders no expression uses any more
 * are dropped, as DynamoDB refuses unused ones. */
#include "services/dynamodb/ddb_partiql.h"

#include "common/alloc.h"
#include "common/buf.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_DEPTH 32

typedef enum { T_END, T_IDENT, T_QIDENT, T_STRING, T_NUMBER, T_PUNCT, T_BAD } tok_kind;

typedef struct token {
    tok_kind kind;
    const char *p;
    size_t n;
} token;

enum { K_NONE, K_EQ, K_CMP, K_BETWEEN, K_BEGINS };

typedef struct conjunct {
    char *text;
    char *attr;    /* the top-level attribute it constrains, or NULL */
    int form;      /* K_*: how it constrains attr */
    json_t *value; /* K_EQ: the value (ref) */
} conjunct;

struct ddb_pq_stmt {
    ddb_pq_kind kind;
    char *table, *index;
    char *projection; /* SELECT: NULL for * */
    char *update;     /* UPDATE: "SET ... REMOVE ..." */
    json_t *item;     /* INSERT */
    conjunct *where;
    size_t nwhere;
    json_t *names, *values;
};

typedef struct parser {
    const char *p, *end;
    token tok;
    const json_t *params;
    size_t nparams_used;
    int depth;
    ddb_pq_stmt *s;
    char err[256];
} parser;

/* ---- tokens ------------------------------------------------------------------------- */

static void next(parser *ps)
{
    while (ps->p < ps->end && isspace((unsigned char)*ps->p))
        ps->p++;
    token *t = &ps->tok;
    t->p = ps->p;
    if (ps->p >= ps->end) {
        t->kind = T_END;
        t->n = 0;
        return;
    }
    char c = *ps->p;
    const char *q = ps->p + 1;
    if (isalpha((unsigned char)c) || c == '_') {
        while (q < ps->end && (isalnum((unsigned char)*q) || *q == '_'))
            q++;
        t->kind = T_IDENT;
    } else if (isdigit((unsigned char)c) ||
               (c == '.' && q < ps->end && isdigit((unsigned char)*q))) {
        while (q < ps->end && (isdigit((unsigned char)*q) || *q == '.'))
            q++;
        if (q < ps->end && (*q == 'e' || *q == 'E')) {
            q++;
            if (q < ps->end && (*q == '+' || *q == '-'))
                q++;
            while (q < ps->end && isdigit((unsigned char)*q))
                q++;
        }
        t->kind = T_NUMBER;
    } else if (c == '\'' || c == '"') {
        /* a doubled quote is the quote itself */
        for (;;) {
            if (q >= ps->end) {
                t->kind = T_BAD;
                t->n = (size_t)(ps->end - ps->p);
                ps->p = ps->end;
                return;
            }
            if (*q == c && q + 1 < ps->end && q[1] == c)
                q += 2;
            else if (*q == c)
                break;
            else
                q++;
        }
        q++;
        t->kind = c == '\'' ? T_STRING : T_QIDENT;
    } else {
        static const char *const two[] = {"<=", ">=", "<>", "!=", "<<", ">>"};
        t->kind = T_PUNCT;
        for (size_t i = 0; i < sizeof two / sizeof two[0]; i++)
            if (ps->end - ps->p >= 2 && memcmp(ps->p, two[i], 2) == 0)
                q = ps->p + 2;
        if (q == ps->p + 1 && !strchr("()[]{},.=<>+-*:?;", c))
            t->kind = T_BAD;
    }
    t->n = (size_t)(q - ps->p);
    ps->p = q;
}

static int fail(parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(parser *ps, const char *fmt, ...)
{
    if (ps->err[0])
        return -1;
    char detail[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    snprintf(ps->err, sizeof ps->err, "Statement wasn't well formed, can't be processed: %s",
             detail);
    return -1;
}

static int fail_unexpected(parser *ps)
{
    if (ps->tok.kind == T_END)
        return fail(ps, "Unexpected end of statement");
    return fail(ps, "unexpected token: %.*s", (int)(ps->tok.n > 40 ? 40 : ps->tok.n), ps->tok.p);
}

static int is_punct(const parser *ps, const char *s)
{
    return ps->tok.kind == T_PUNCT && ps->tok.n == strlen(s) &&
           memcmp(ps->tok.p, s, ps->tok.n) == 0;
}

static int is_word(const parser *ps, const char *w)
{
    return ps->tok.kind == T_IDENT && ps->tok.n == strlen(w) &&
           strncasecmp(ps->tok.p, w, ps->tok.n) == 0;
}

static int expect_punct(parser *ps, const char *s)
{
    if (!is_punct(ps, s))
        return fail_unexpected(ps);
    next(ps);
    return 0;
}

static int expect_word(parser *ps, const char *w)
{
    if (!is_word(ps, w))
        return fail_unexpected(ps);
    next(ps);
    return 0;
}

/* The text of a quoted token without its quotes, doubled quotes undone (malloc'd). */
static char *unquote(const token *t)
{
    char *out = xmalloc(t->n + 1), q = t->p[0];
    size_t k = 0;
    for (size_t i = 1; i + 1 < t->n; i++) {
        out[k++] = t->p[i];
        if (t->p[i] == q)
            i++;
    }
    out[k] = 0;
    return out;
}

static const char *const reserved_words[] = {
    "SELECT",  "FROM",   "WHERE", "AND",   "OR",     "NOT",    "IN",        "IS",
    "BETWEEN", "INSERT", "INTO",  "VALUE", "UPDATE", "SET",    "REMOVE",    "DELETE",
    "MISSING", "NULL",   "TRUE",  "FALSE", "VALUES", "EXISTS", "RETURNING",
};

static int is_reserved(const token *t)
{
    for (size_t i = 0; i < sizeof reserved_words / sizeof reserved_words[0]; i++)
        if (t->n == strlen(reserved_words[i]) && strncasecmp(t->p, reserved_words[i], t->n) == 0)
            return 1;
    return 0;
}

/* An identifier (bare or "quoted"), malloc'd, or NULL after failing. */
static char *identifier(parser *ps)
{
    char *name = NULL;
    if (ps->tok.kind == T_QIDENT)
        name = unquote(&ps->tok);
    else if (ps->tok.kind == T_IDENT && !is_reserved(&ps->tok))
        name = xstrndup(ps->tok.p, ps->tok.n);
    else {
        fail_unexpected(ps);
        return NULL;
    }
    if (!name[0]) {
        xfree(name);
        fail(ps, "empty identifier");
        return NULL;
    }
    next(ps);
    return name;
}

/* ---- placeholders ------------------------------------------------------------------- */

static void put_name(parser *ps, buf *out, const char *name)
{
    const char *key;
    json_t *v;
    json_object_foreach(ps->s->names, key, v)
    {
        if (strcmp(json_string_value(v), name) == 0) {
            buf_puts(out, key);
            return;
        }
    }
    char ph[32];
    snprintf(ph, sizeof ph, "#n%zu", json_object_size(ps->s->names));
    json_object_set_new(ps->s->names, ph, json_string(name));
    buf_puts(out, ph);
}

static void put_value(parser *ps, buf *out, json_t *value)
{
    char ph[32];
    snprintf(ph, sizeof ph, ":v%zu", json_object_size(ps->s->values));
    json_object_set_new(ps->s->values, ph, value);
    buf_puts(out, ph);
}

/* ---- literals ----------------------------------------------------------------------- */

static json_t *value(parser *ps);

static json_t *fail_value(parser *ps, json_t *partial)
{
    json_decref(partial);
    fail_unexpected(ps);
    return NULL;
}

/* { 'name' : value, ... } as an M's contents (a new object). */
static json_t *tuple_members(parser *ps)
{
    json_t *m = json_object();
    next(ps); /* { */
    while (!is_punct(ps, "}")) {
        if (json_object_size(m) && expect_punct(ps, ","))
            return fail_value(ps, m);
        if (ps->tok.kind != T_STRING && ps->tok.kind != T_QIDENT)
            return fail_value(ps, m);
        char *name = unquote(&ps->tok);
        next(ps);
        json_t *v = NULL;
        if (expect_punct(ps, ":") == 0)
            v = value(ps);
        if (!v) {
            xfree(name);
            json_decref(m);
            return NULL;
        }
        if (json_object_get(m, name)) {
            xfree(name);
            json_decref(v);
            json_decref(m);
            fail(ps, "duplicate attribute name in tuple");
            return NULL;
        }
        json_object_set_new(m, name, v);
        xfree(name);
    }
    next(ps);
    return m;
}

/* [ value, ... ] or << value, ... >> (closing `close`) as a JSON array of AttributeValues. */
static json_t *sequence(parser *ps, const char *close)
{
    json_t *a = json_array();
    next(ps);
    while (!is_punct(ps, close)) {
        if (json_array_size(a) && expect_punct(ps, ","))
            return fail_value(ps, a);
        json_t *v = value(ps);
        if (!v) {
            json_decref(a);
            return NULL;
        }
        json_array_append_new(a, v);
    }
    next(ps);
    return a;
}

/* A set literal: all strings (SS), all numbers (NS) or all binary (BS), no duplicates. */
static json_t *set_of(parser *ps, json_t *elems)
{
    char type = 0; /* 'S', 'N' or 'B' */
    json_t *out = json_array(), *e;
    size_t i;
    json_array_foreach(elems, i, e)
    {
        const char *t = json_object_iter_key(json_object_iter(e));
        if (!t || (strcmp(t, "S") && strcmp(t, "N") && strcmp(t, "B")) || (type && type != t[0])) {
            json_decref(out);
            json_decref(elems);
            fail(ps, "a set holds only strings, only numbers or only binary values");
            return NULL;
        }
        type = t[0];
        json_array_append(out, json_object_get(e, t));
    }
    json_decref(elems);
    if (!type) {
        json_decref(out);
        fail(ps, "a set cannot be empty");
        return NULL;
    }
    char settype[3] = {type, 'S', 0};
    return json_pack("{s:o}", settype, out);
}

/* A number literal's text as DynamoDB's N (leading '+' and '-' kept as written). */
static json_t *number(parser *ps, int negative)
{
    if (ps->tok.kind != T_NUMBER)
        return fail_value(ps, NULL);
    char *text = xmalloc(ps->tok.n + 2);
    snprintf(text, ps->tok.n + 2, "%s%.*s", negative ? "-" : "", (int)ps->tok.n, ps->tok.p);
    json_t *v = json_pack("{s:s}", "N", text);
    xfree(text);
    next(ps);
    return v;
}

/* A literal or a `?` parameter, as an AttributeValue (new). */
static json_t *value(parser *ps)
{
    if (++ps->depth > MAX_DEPTH) {
        fail(ps, "statement nested too deeply");
        return NULL;
    }
    json_t *v = NULL;
    if (ps->tok.kind == T_STRING) {
        char *s = unquote(&ps->tok);
        v = json_pack("{s:s}", "S", s);
        xfree(s);
        next(ps);
    } else if (ps->tok.kind == T_NUMBER) {
        v = number(ps, 0);
    } else if (is_punct(ps, "-")) {
        next(ps);
        v = number(ps, 1);
    } else if (is_punct(ps, "?")) {
        json_t *p = json_array_get(ps->params, ps->nparams_used++);
        v = p ? json_deep_copy(p) : json_null(); /* the count is checked at the end */
        next(ps);
    } else if (is_word(ps, "TRUE") || is_word(ps, "FALSE")) {
        v = json_pack("{s:b}", "BOOL", is_word(ps, "TRUE"));
        next(ps);
    } else if (is_word(ps, "NULL")) {
        v = json_pack("{s:b}", "NULL", 1);
        next(ps);
    } else if (is_punct(ps, "{")) {
        json_t *m = tuple_members(ps);
        v = m ? json_pack("{s:o}", "M", m) : NULL;
    } else if (is_punct(ps, "[")) {
        json_t *l = sequence(ps, "]");
        v = l ? json_pack("{s:o}", "L", l) : NULL;
    } else if (is_punct(ps, "<<")) {
        json_t *elems = sequence(ps, ">>");
        v = elems ? set_of(ps, elems) : NULL;
    } else {
        fail_unexpected(ps);
    }
    ps->depth--;
    return v;
}

static int starts_value(const parser *ps)
{
    return ps->tok.kind == T_STRING || ps->tok.kind == T_NUMBER || is_punct(ps, "-") ||
           is_punct(ps, "?") || is_word(ps, "TRUE") || is_word(ps, "FALSE") ||
           is_word(ps, "NULL") || is_punct(ps, "{") || is_punct(ps, "[") || is_punct(ps, "<<");
}

/* ---- paths and operands ------------------------------------------------------------- */

/* name ( .name | [n] )* as placeholders; *top (if asked) is the name when the path is a
 * single top-level attribute (malloc'd), else NULL. */
static int path(parser *ps, buf *out, char **top)
{
    char *name = identifier(ps);
    if (!name)
        return -1;
    put_name(ps, out, name);
    int simple = 1;
    for (;;) {
        if (is_punct(ps, ".")) {
            next(ps);
            char *member = identifier(ps);
            if (!member) {
                xfree(name);
                return -1;
            }
            buf_putc(out, '.');
            put_name(ps, out, member);
            xfree(member);
        } else if (is_punct(ps, "[")) {
            next(ps);
            if (ps->tok.kind != T_NUMBER || memchr(ps->tok.p, '.', ps->tok.n)) {
                xfree(name);
                return fail_unexpected(ps);
            }
            buf_printf(out, "[%.*s]", (int)ps->tok.n, ps->tok.p);
            next(ps);
            if (expect_punct(ps, "]")) {
                xfree(name);
                return -1;
            }
        } else {
            break;
        }
        simple = 0;
    }
    if (top && simple)
        *top = name;
    else
        xfree(name);
    return 0;
}

/* A path, a value, or size(path). *is_value says it was a value (its placeholder written). */
static int operand(parser *ps, buf *out, char **top, json_t **val)
{
    if (starts_value(ps)) {
        json_t *v = value(ps);
        if (!v)
            return -1;
        if (val)
            *val = json_incref(v);
        put_value(ps, out, v);
        return 0;
    }
    if (is_word(ps, "size")) {
        next(ps);
        buf_puts(out, "size(");
        if (expect_punct(ps, "(") || path(ps, out, NULL) || expect_punct(ps, ")"))
            return -1;
        buf_putc(out, ')');
        return 0;
    }
    return path(ps, out, top);
}

/* ---- conditions --------------------------------------------------------------------- */

static int condition(parser *ps, buf *out);

typedef struct pred_info {
    char *attr;
    int form;
    json_t *value;
} pred_info;

static void info_clear(pred_info *pi)
{
    xfree(pi->attr);
    json_decref(pi->value);
    memset(pi, 0, sizeof *pi);
}

/* begins_with / contains / attribute_type ( path , operand ); exists ( path ) too. */
static int function(parser *ps, buf *out, pred_info *pi)
{
    static const char *const names[] = {"begins_with", "contains", "attribute_type"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!is_word(ps, names[i]))
            continue;
        next(ps);
        buf_printf(out, "%s(", names[i]);
        char *top = NULL;
        json_t *v = NULL;
        if (expect_punct(ps, "(") || path(ps, out, &top) || expect_punct(ps, ",")) {
            xfree(top);
            return -1;
        }
        buf_puts(out, ", ");
        if (operand(ps, out, NULL, &v) || expect_punct(ps, ")")) {
            xfree(top);
            json_decref(v);
            return -1;
        }
        buf_putc(out, ')');
        if (i == 0 && top && v) {
            pi->attr = top;
            pi->form = K_BEGINS;
            top = NULL;
        }
        xfree(top);
        json_decref(v);
        return 0;
    }
    return 1; /* not a function */
}

static const char *comparator(const parser *ps)
{
    static const char *const ops[] = {"=", "<>", "!=", "<", "<=", ">", ">="};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (is_punct(ps, ops[i]))
            return strcmp(ops[i], "!=") == 0 ? "<>" : ops[i];
    return NULL;
}

/* operand IN [ operands ] or ( operands ) */
static int in_list(parser *ps, buf *out)
{
    const char *close = is_punct(ps, "[") ? "]" : is_punct(ps, "(") ? ")" : NULL;
    if (!close)
        return fail_unexpected(ps);
    next(ps);
    buf_puts(out, " IN (");
    for (int n = 0; !is_punct(ps, close); n++) {
        if (n && expect_punct(ps, ","))
            return -1;
        if (n)
            buf_puts(out, ", ");
        if (operand(ps, out, NULL, NULL))
            return -1;
    }
    next(ps);
    buf_putc(out, ')');
    return 0;
}

/* What follows a first operand: a comparison, BETWEEN, IN, IS [NOT] MISSING. */
static int predicate_rest(parser *ps, buf *out, size_t start, char *top, json_t *first_val,
                          pred_info *pi)
{
    const char *cmp = comparator(ps);
    if (cmp) {
        next(ps);
        buf_printf(out, " %s ", cmp);
        json_t *v = NULL;
        if (operand(ps, out, NULL, &v))
            return -1;
        if (top && v && !first_val && strcmp(cmp, "<>") != 0) {
            pi->attr = xstrdup(top);
            pi->form = strcmp(cmp, "=") == 0 ? K_EQ : K_CMP;
            pi->value = json_incref(v);
        }
        json_decref(v);
        return 0;
    }
    if (is_word(ps, "BETWEEN")) {
        next(ps);
        buf_puts(out, " BETWEEN ");
        json_t *lo = NULL, *hi = NULL;
        int rc = operand(ps, out, NULL, &lo) || expect_word(ps, "AND");
        if (rc == 0) {
            buf_puts(out, " AND ");
            rc = operand(ps, out, NULL, &hi);
        }
        if (rc == 0 && top && lo && hi && !first_val) {
            pi->attr = xstrdup(top);
            pi->form = K_BETWEEN;
        }
        json_decref(lo);
        json_decref(hi);
        return rc ? -1 : 0;
    }
    if (is_word(ps, "IN")) {
        next(ps);
        return in_list(ps, out);
    }
    if (is_word(ps, "IS")) {
        next(ps);
        int negated = is_word(ps, "NOT");
        if (negated)
            next(ps);
        if (!is_word(ps, "MISSING"))
            return fail_unexpected(ps);
        next(ps);
        /* rewrite "<path> IS [NOT] MISSING" as attribute_[not_]exists(<path>) */
        char *p = xstrndup(out->data + start, out->len - start);
        out->len = start;
        buf_printf(out, "attribute_%s(%s)", negated ? "exists" : "not_exists", p);
        xfree(p);
        return 0;
    }
    return fail_unexpected(ps);
}

/* A predicate: ( condition ), NOT predicate, a function, or operand followed by the rest. */
static int predicate(parser *ps, buf *out, pred_info *pi)
{
    if (++ps->depth > MAX_DEPTH)
        return fail(ps, "statement nested too deeply");
    int rc;
    if (is_word(ps, "NOT")) {
        next(ps);
        buf_puts(out, "NOT ");
        pred_info ignored = {0};
        rc = predicate(ps, out, &ignored);
        info_clear(&ignored);
    } else if (is_punct(ps, "(")) {
        next(ps);
        buf_putc(out, '(');
        rc = condition(ps, out) || expect_punct(ps, ")");
        buf_putc(out, ')');
    } else if ((rc = function(ps, out, pi)) == 1) {
        size_t start = out->len;
        char *top = NULL;
        json_t *v = NULL;
        rc = operand(ps, out, &top, &v);
        if (rc == 0)
            rc = predicate_rest(ps, out, start, top, v, pi);
        xfree(top);
        json_decref(v);
    }
    ps->depth--;
    return rc ? -1 : 0;
}

/* predicate ( AND predicate )* */
static int conjunction(parser *ps, buf *out)
{
    for (int n = 0;; n++) {
        if (n)
            buf_puts(out, " AND ");
        pred_info pi = {0};
        int rc = predicate(ps, out, &pi);
        info_clear(&pi);
        if (rc)
            return -1;
        if (!is_word(ps, "AND"))
            return 0;
        next(ps);
    }
}

/* conjunction ( OR conjunction )* */
static int condition(parser *ps, buf *out)
{
    if (conjunction(ps, out))
        return -1;
    while (is_word(ps, "OR")) {
        next(ps);
        buf_puts(out, " OR ");
        if (conjunction(ps, out))
            return -1;
    }
    return 0;
}

static void add_conjunct(ddb_pq_stmt *s, char *text, pred_info *pi)
{
    s->where = xrealloc(s->where, (s->nwhere + 1) * sizeof *s->where);
    s->where[s->nwhere++] = (conjunct){text, pi->attr, pi->form, pi->value};
    memset(pi, 0, sizeof *pi);
}

static void drop_conjuncts(ddb_pq_stmt *s)
{
    for (size_t i = 0; i < s->nwhere; i++) {
        xfree(s->where[i].text);
        xfree(s->where[i].attr);
        json_decref(s->where[i].value);
    }
    xfree(s->where);
    s->where = NULL;
    s->nwhere = 0;
}

/* WHERE: its top-level conjuncts, each with its key information; a top-level OR makes the
 * whole clause one conjunct. */
static int where_clause(parser *ps)
{
    ddb_pq_stmt *s = ps->s;
    for (;;) {
        buf b = BUF_INIT;
        pred_info pi = {0};
        if (predicate(ps, &b, &pi)) {
            buf_free(&b);
            info_clear(&pi);
            return -1;
        }
        buf_putc(&b, 0);
        add_conjunct(s, b.data, &pi);
        if (!is_word(ps, "AND"))
            break;
        next(ps);
    }
    if (!is_word(ps, "OR"))
        return 0;
    buf all = BUF_INIT;
    for (size_t i = 0; i < s->nwhere; i++)
        buf_printf(&all, "%s%s", i ? " AND " : "", s->where[i].text);
    drop_conjuncts(s);
    while (is_word(ps, "OR")) {
        next(ps);
        buf_puts(&all, " OR ");
        if (conjunction(ps, &all)) {
            buf_free(&all);
            return -1;
        }
    }
    buf_putc(&all, 0);
    pred_info none = {0};
    add_conjunct(s, all.data, &none);
    return 0;
}

/* ---- statements --------------------------------------------------------------------- */

/* "table" or "table"."index" */
static int table_name(parser *ps, int allow_index)
{
    ps->s->table = identifier(ps);
    if (!ps->s->table)
        return -1;
    if (allow_index && is_punct(ps, ".")) {
        next(ps);
        ps->s->index = identifier(ps);
        if (!ps->s->index)
            return -1;
    }
    return 0;
}

static int optional_where(parser *ps, int required)
{
    if (is_word(ps, "WHERE")) {
        next(ps);
        return where_clause(ps);
    }
    return required ? fail_unexpected(ps) : 0;
}

static int select_statement(parser *ps)
{
    ddb_pq_stmt *s = ps->s;
    s->kind = DDB_PQ_SELECT;
    if (is_punct(ps, "*")) {
        next(ps);
    } else {
        buf proj = BUF_INIT;
        for (int n = 0;; n++) {
            if (n)
                buf_puts(&proj, ", ");
            if (path(ps, &proj, NULL)) {
                buf_free(&proj);
                return -1;
            }
            if (!is_punct(ps, ","))
                break;
            next(ps);
        }
        buf_putc(&proj, 0);
        s->projection = proj.data;
    }
    if (expect_word(ps, "FROM") || table_name(ps, 1))
        return -1;
    return optional_where(ps, 0);
}

static int insert_statement(parser *ps)
{
    ddb_pq_stmt *s = ps->s;
    s->kind = DDB_PQ_INSERT;
    if (expect_word(ps, "INTO") || table_name(ps, 0) || expect_word(ps, "VALUE"))
        return -1;
    json_t *v = value(ps);
    if (!v)
        return -1;
    if (!json_is_object(json_object_get(v, "M"))) {
        json_decref(v);
        return fail(ps, "INSERT VALUE must be a tuple");
    }
    s->item = json_incref(json_object_get(v, "M"));
    json_decref(v);
    return 0;
}

/* SET path = operand [(+|-) operand] | list_append(...), ...; REMOVE path, ... */
static int set_clause(parser *ps, buf *out)
{
    for (int n = 0;; n++) {
        if (n)
            buf_puts(out, ", ");
        if (path(ps, out, NULL) || expect_punct(ps, "="))
            return -1;
        buf_puts(out, " = ");
        if (is_word(ps, "list_append") || is_word(ps, "if_not_exists")) {
            buf_append(out, ps->tok.p, ps->tok.n);
            next(ps);
            buf_putc(out, '(');
            if (expect_punct(ps, "(") || operand(ps, out, NULL, NULL) || expect_punct(ps, ","))
                return -1;
            buf_puts(out, ", ");
            if (operand(ps, out, NULL, NULL) || expect_punct(ps, ")"))
                return -1;
            buf_putc(out, ')');
        } else {
            if (operand(ps, out, NULL, NULL))
                return -1;
            if (is_punct(ps, "+") || is_punct(ps, "-")) {
                buf_printf(out, " %c ", *ps->tok.p);
                next(ps);
                if (operand(ps, out, NULL, NULL))
                    return -1;
            }
        }
        if (!is_punct(ps, ","))
            return 0;
        next(ps);
    }
}

static int update_statement(parser *ps)
{
    ddb_pq_stmt *s = ps->s;
    s->kind = DDB_PQ_UPDATE;
    if (table_name(ps, 0))
        return -1;
    buf set = BUF_INIT, remove = BUF_INIT;
    int rc = 0;
    while (rc == 0 && (is_word(ps, "SET") || is_word(ps, "REMOVE"))) {
        int is_set = is_word(ps, "SET");
        buf *b = is_set ? &set : &remove;
        next(ps);
        if (b->len)
            buf_puts(b, ", ");
        if (is_set) {
            rc = set_clause(ps, b);
            continue;
        }
        for (int n = 0; rc == 0; n++) {
            if (n)
                buf_puts(b, ", ");
            rc = path(ps, b, NULL);
            if (!is_punct(ps, ","))
                break;
            next(ps);
        }
    }
    if (rc == 0 && set.len == 0 && remove.len == 0)
        rc = fail_unexpected(ps);
    if (rc == 0) {
        buf u = BUF_INIT;
        if (set.len)
            buf_printf(&u, "SET %.*s", (int)set.len, set.data);
        if (remove.len)
            buf_printf(&u, "%sREMOVE %.*s", set.len ? " " : "", (int)remove.len, remove.data);
        buf_putc(&u, 0);
        s->update = u.data;
    }
    buf_free(&set);
    buf_free(&remove);
    return rc ? -1 : optional_where(ps, 1);
}

static int delete_statement(parser *ps)
{
    ps->s->kind = DDB_PQ_DELETE;
    if (expect_word(ps, "FROM") || table_name(ps, 0))
        return -1;
    return optional_where(ps, 1);
}

static int statement(parser *ps)
{
    next(ps);
    int rc;
    if (is_word(ps, "SELECT")) {
        next(ps);
        rc = select_statement(ps);
    } else if (is_word(ps, "INSERT")) {
        next(ps);
        rc = insert_statement(ps);
    } else if (is_word(ps, "UPDATE")) {
        next(ps);
        rc = update_statement(ps);
    } else if (is_word(ps, "DELETE")) {
        next(ps);
        rc = delete_statement(ps);
    } else if (is_word(ps, "EXISTS")) {
        next(ps);
        rc = expect_punct(ps, "(") || expect_word(ps, "SELECT") || select_statement(ps) ||
             expect_punct(ps, ")");
        ps->s->kind = DDB_PQ_EXISTS;
        if (rc == 0 && (ps->s->index || !ps->s->nwhere))
            rc = fail(ps, "EXISTS needs a SELECT on a table with a WHERE clause");
    } else {
        rc = fail_unexpected(ps);
    }
    if (rc)
        return -1;
    if (is_punct(ps, ";"))
        next(ps);
    return ps->tok.kind == T_END ? 0 : fail_unexpected(ps);
}

int ddb_pq_parse(const char *text, const json_t *params, ddb_pq_stmt **out, char *err,
                 size_t errlen)
{
    *out = NULL;
    parser ps = {.p = text, .end = text + strlen(text), .params = params};
    ps.s = xcalloc(1, sizeof *ps.s);
    ps.s->names = json_object();
    ps.s->values = json_object();
    int rc = statement(&ps);
    if (rc == 0 && ps.nparams_used != json_array_size(params)) {
        snprintf(ps.err, sizeof ps.err,
                 "Number of parameters in request and statement don't match.");
        rc = -1;
    }
    if (rc) {
        snprintf(err, errlen, "%s", ps.err);
        ddb_pq_free(ps.s);
        return -1;
    }
    *out = ps.s;
    return 0;
}

void ddb_pq_free(ddb_pq_stmt *s)
{
    if (!s)
        return;
    drop_conjuncts(s);
    xfree(s->table);
    xfree(s->index);
    xfree(s->projection);
    xfree(s->update);
    json_decref(s->item);
    json_decref(s->names);
    json_decref(s->values);
    xfree(s);
}

ddb_pq_kind ddb_pq_kind_of(const ddb_pq_stmt *s)
{
    return s->kind;
}

const char *ddb_pq_table(const ddb_pq_stmt *s)
{
    return s->table;
}

const char *ddb_pq_index(const ddb_pq_stmt *s)
{
    return s->index;
}

/* ---- planning ----------------------------------------------------------------------- */

/* 1 if text uses placeholder ph as a whole token (":v1" is not in ":v10"). */
static int uses(const char *text, const char *ph)
{
    size_t n = strlen(ph);
    for (const char *p = text; p && (p = strstr(p, ph)) != NULL; p += n)
        if (!isalnum((unsigned char)p[n]) && p[n] != '_')
            return 1;
    return 0;
}

/* Sets req's names and values to those of s its expressions use. */
static void attach_placeholders(const ddb_pq_stmt *s, json_t *req)
{
    static const char *const fields[] = {"KeyConditionExpression", "FilterExpression",
                                         "ConditionExpression", "UpdateExpression",
                                         "ProjectionExpression"};
    json_t *names = json_object(), *values = json_object();
    json_t *maps[2] = {s->names, s->values}, *outs[2] = {names, values};
    for (int m = 0; m < 2; m++) {
        const char *ph;
        json_t *v;
        json_object_foreach(maps[m], ph, v)
        {
            for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++)
                if (uses(json_string_value(json_object_get(req, fields[f])), ph)) {
                    json_object_set(outs[m], ph, v);
                    break;
                }
        }
    }
    if (json_object_size(names))
        json_object_set(req, "ExpressionAttributeNames", names);
    if (json_object_size(values))
        json_object_set(req, "ExpressionAttributeValues", values);
    json_decref(names);
    json_decref(values);
}

static void set_joined(json_t *req, const char *field, buf *b)
{
    if (b->len)
        json_object_set_new(req, field, json_stringn(b->data, b->len));
    buf_free(b);
}

static void append_and(buf *b, const char *text)
{
    buf_printf(b, "%s%s", b->len ? " AND " : "", text);
}

/* The equality conjuncts on hash and range (indexes into where, -1 if none). */
static void key_equalities(const ddb_pq_stmt *s, const char *hash, const char *range, long *h,
                           long *r)
{
    *h = *r = -1;
    for (size_t i = 0; i < s->nwhere; i++) {
        const conjunct *c = &s->where[i];
        if (c->form != K_EQ)
            continue;
        if (*h < 0 && strcmp(c->attr, hash) == 0)
            *h = (long)i;
        else if (range && *r < 0 && strcmp(c->attr, range) == 0)
            *r = (long)i;
    }
}

static const char key_missing[] =
    "Where clause does not contain a mandatory equality on all key attributes";

/* Query if the partition key has an equality and every other conjunct on a key attribute
 * can be a key condition; otherwise Scan with the whole WHERE as the filter. */
static json_t *plan_select(const ddb_pq_stmt *s, const char *hash, const char *range,
                           const char **op)
{
    json_t *req = json_pack("{s:s}", "TableName", s->table);
    if (s->index)
        json_object_set_new(req, "IndexName", json_string(s->index));
    if (s->projection)
        json_object_set_new(req, "ProjectionExpression", json_string(s->projection));
    long h, r;
    key_equalities(s, hash, range, &h, &r);
    long range_cond = -1;
    int query = h >= 0;
    for (size_t i = 0; query && i < s->nwhere; i++) {
        const conjunct *c = &s->where[i];
        if ((long)i == h || !c->attr)
            continue;
        if (strcmp(c->attr, hash) == 0)
            query = 0; /* a second condition on the partition key */
        else if (range && strcmp(c->attr, range) == 0)
            query = range_cond < 0 && c->form != K_NONE ? (range_cond = (long)i, 1) : 0;
    }
    buf key = BUF_INIT, filter = BUF_INIT;
    for (size_t i = 0; i < s->nwhere; i++) {
        int is_key = query && ((long)i == h || (long)i == range_cond);
        append_and(is_key ? &key : &filter, s->where[i].text);
    }
    *op = query ? "Query" : "Scan";
    set_joined(req, "KeyConditionExpression", &key);
    set_joined(req, "FilterExpression", &filter);
    attach_placeholders(s, req);
    return req;
}

/* Key from the equalities on hash and range; the other conjuncts in *cond. NULL if a key
 * attribute has no equality. */
static json_t *key_of_where(const ddb_pq_stmt *s, const char *hash, const char *range, buf *cond)
{
    long h, r;
    key_equalities(s, hash, range, &h, &r);
    if (h < 0 || (range && r < 0))
        return NULL;
    json_t *key = json_pack("{s:O}", hash, s->where[h].value);
    if (range)
        json_object_set(key, range, s->where[r].value);
    for (size_t i = 0; i < s->nwhere; i++)
        if ((long)i != h && (long)i != r)
            append_and(cond, s->where[i].text);
    return key;
}

/* UPDATE, DELETE and EXISTS: the item must exist (ConditionalCheckFailedException otherwise,
 * as AWS) and the statement's other conditions hold. */
static json_t *plan_keyed_write(const ddb_pq_stmt *s, const char *hash, const char *range,
                                char *err, size_t errlen)
{
    buf cond = BUF_INIT;
    json_t *key = key_of_where(s, hash, range, &cond);
    if (!key) {
        buf_free(&cond);
        snprintf(err, errlen, "%s", key_missing);
        return NULL;
    }
    buf exists = BUF_INIT;
    buf_puts(&exists, "attribute_exists(#pqkey)");
    if (cond.len)
        buf_printf(&exists, " AND %.*s", (int)cond.len, cond.data);
    buf_free(&cond);
    json_t *req = json_pack("{s:s, s:o}", "TableName", s->table, "Key", key);
    if (s->update)
        json_object_set_new(req, "UpdateExpression", json_string(s->update));
    set_joined(req, "ConditionExpression", &exists);
    attach_placeholders(s, req);
    json_t *names = json_object_get(req, "ExpressionAttributeNames");
    if (!names) {
        names = json_object();
        json_object_set_new(req, "ExpressionAttributeNames", names);
    }
    json_object_set_new(names, "#pqkey", json_string(hash));
    return req;
}

json_t *ddb_pq_plan(const ddb_pq_stmt *s, const char *hash, const char *range, const char **op,
                    char *err, size_t errlen)
{
    switch (s->kind) {
    case DDB_PQ_SELECT:
        return plan_select(s, hash, range, op);
    case DDB_PQ_INSERT:
        *op = "PutItem";
        return json_pack("{s:s, s:O, s:s, s:{s:s}}", "TableName", s->table, "Item", s->item,
                         "ConditionExpression", "attribute_not_exists(#pqkey)",
                         "ExpressionAttributeNames", "#pqkey", hash);
    case DDB_PQ_UPDATE:
        *op = "UpdateItem";
        return plan_keyed_write(s, hash, range, err, errlen);
    case DDB_PQ_DELETE:
        *op = "DeleteItem";
        return plan_keyed_write(s, hash, range, err, errlen);
    case DDB_PQ_EXISTS:
        *op = "ConditionCheck";
        return plan_keyed_write(s, hash, range, err, errlen);
    }
    return NULL;
}

json_t *ddb_pq_get_request(const ddb_pq_stmt *s, const char *hash, const char *range, char *err,
                           size_t errlen)
{
    buf rest = BUF_INIT;
    json_t *key = s->kind == DDB_PQ_SELECT ? key_of_where(s, hash, range, &rest) : NULL;
    if (!key || rest.len || s->index) {
        json_decref(key);
        buf_free(&rest);
        snprintf(err, errlen, "%s", key_missing);
        return NULL;
    }
    json_t *req = json_pack("{s:s, s:o}", "TableName", s->table, "Key", key);
    if (s->projection)
        json_object_set_new(req, "ProjectionExpression", json_string(s->projection));
    attach_placeholders(s, req);
    return req;
}
