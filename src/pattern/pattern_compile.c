/* Pattern JSON -> validated sub-rules.
 *
 * The checks and their messages are event-ruler's JsonRuleCompiler (the compiler behind
 * EventBridge), made in the same order over the same token stream, so the first problem
 * in the document is the one reported with the text AWS returns after "Event pattern is
 * not valid. Reason: ". A pattern becomes a list of sub-rules, each a conjunction of
 * (path, value list) fields: "$or" forks the sub-rules collected so far into one copy per
 * branch, as JsonRuleCompiler does, and a key given twice keeps its last value list.
 *
 * The SNS dialect reuses the grammar with SNS's limits (5 top-level keys, 150 value
 * combinations, numbers within +-1e9, no wildcard) and its "Invalid parameter:
 * FilterPolicy: " prefix. */
#include "pattern/pattern_internal.h"

#include "common/alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct entry {
    uint32_t path, list;
} entry;

typedef struct rule {
    entry *e;
    size_t n, cap;
} rule;

typedef struct rules {
    rule *r;
    size_t n, cap;
} rules;

typedef struct cctx {
    pattern_dialect d;
    double numlim;
    pjson j;
    buf path;
    pcompiled *out;
    size_t capspaths, caplists;
    char *err;
    size_t errlen;
} cctx;

static const char *const reserved_in_or[] = {
    "exactly",
    "equals-ignore-case",
    "prefix",
    "suffix",
    "anything-but",
    "exists",
    "wildcard",
    "numeric",
    "cidr",
    "=",
    "<",
    "<=",
    ">",
    ">=",
    "regex",
    "not-wildcard",
    "not-equals-ignore-case",
    "date-after",
    "date-on-or-after",
    "date-before",
    "date-on-or-before",
    "in-date-range",
    "ip-address-in-range",
    "ip-address-not-in-range",
};

/* ------------------------------------------------------------------ errors */

static void set_err(char *err, size_t errlen, pattern_dialect d, const char *msg)
{
    if (!err || !errlen)
        return;
    snprintf(err, errlen, "%s%s",
             d == PATTERN_SNS ? "Invalid parameter: FilterPolicy: "
                              : "Event pattern is not valid. Reason: ",
             msg);
}

/* Reports msg, or the tokenizer's error if the last token was malformed JSON. */
static int barf(cctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int barf(cctx *c, const char *fmt, ...)
{
    char msg[512];
    if (c->j.tok == PT_ERROR) {
        snprintf(msg, sizeof msg, "%s", c->j.err);
    } else {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
    }
    set_err(c->err, c->errlen, c->d, msg);
    return -1;
}

static int too_many_elements(cctx *c)
{
    return barf(c, "Too many elements in numeric expression");
}

static int only_one_key(cctx *c)
{
    return barf(c, "Only one key allowed in match expression");
}

static ptok next(cctx *c)
{
    return pjson_next(&c->j);
}

static bool is_num(ptok t)
{
    return t == PT_INT || t == PT_FLOAT;
}

static bool text_is(const cctx *c, const char *s)
{
    return strcmp(pjson_text(&c->j), s) == 0;
}

/* ------------------------------------------------------------------ matcher lists */

static pmatcher *add_matcher(pmlist *l, pm_type type)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4;
        l->m = xrealloc(l->m, l->cap * sizeof *l->m);
    }
    pmatcher *m = &l->m[l->n++];
    memset(m, 0, sizeof *m);
    m->type = type;
    return m;
}

static pstr dup_str(const char *s, size_t n)
{
    pstr p = {xmemdup(s, n + 1), n};
    p.s[n] = '\0';
    return p;
}

static pstr cur_text(const cctx *c)
{
    return dup_str(c->j.text.data ? c->j.text.data : "", c->j.text.len);
}

static pstr folded_text(const cctx *c)
{
    buf b = BUF_INIT;
    buf_init(&b, c->j.text.len + 1);
    ptext_fold(pjson_text(&c->j), c->j.text.len, &b);
    pstr p;
    p.n = b.len;
    p.s = buf_steal(&b, NULL);
    return p;
}

static void set_add(pstr **set, size_t *n, pstr v)
{
    *set = xrealloc(*set, (*n + 1) * sizeof **set);
    (*set)[(*n)++] = v;
}

static void matcher_free(pmatcher *m)
{
    xfree(m->s.s);
    pwild_free(&m->wild);
    for (size_t i = 0; i < m->nset; i++)
        xfree(m->set[i].s);
    xfree(m->set);
    xfree(m->nums);
    for (size_t i = 0; i < m->nwilds; i++)
        pwild_free(&m->wilds[i]);
    xfree(m->wilds);
}

void pmlist_free(pmlist *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        matcher_free(&l->m[i]);
    xfree(l->m);
    xfree(l->key);
    xfree(l);
}

static pwild wild_clone(const pwild *w)
{
    pwild o = {NULL, w->n};
    if (w->tok)
        o.tok = xmemdup(w->tok, (w->n + 1) * sizeof *w->tok);
    return o;
}

pmlist *pmlist_clone(const pmlist *l)
{
    pmlist *o = xcalloc(1, sizeof *o);
    o->n = o->cap = l->n;
    o->m = xcalloc(l->n ? l->n : 1, sizeof *o->m);
    for (size_t i = 0; i < l->n; i++) {
        const pmatcher *a = &l->m[i];
        pmatcher *b = &o->m[i];
        *b = *a;
        b->s = a->s.s ? dup_str(a->s.s, a->s.n) : a->s;
        b->wild = wild_clone(&a->wild);
        b->set = a->nset ? xcalloc(a->nset, sizeof *b->set) : NULL;
        for (size_t k = 0; k < a->nset; k++)
            b->set[k] = dup_str(a->set[k].s, a->set[k].n);
        b->nums = a->nnums ? xmemdup(a->nums, a->nnums * sizeof *a->nums) : NULL;
        b->wilds = a->nwilds ? xcalloc(a->nwilds, sizeof *b->wilds) : NULL;
        for (size_t k = 0; k < a->nwilds; k++)
            b->wilds[k] = wild_clone(&a->wilds[k]);
    }
    o->key = xmemdup(l->key, l->keylen + 1);
    o->keylen = l->keylen;
    return o;
}

/* ------------------------------------------------------------------ numbers */

static void limit_msg(const cctx *c, char *msg, size_t len)
{
    if (c->d == PATTERN_SNS)
        snprintf(msg, len, "Value must be between -1.0E9 and 1.0E9, inclusive");
    else
        snprintf(msg, len, "Value must be between -5.0E9 and 5.0E9, inclusive");
}

static int check_limit(cctx *c, double d)
{
    int64_t cmp;
    if (pnum_comparable(d, c->numlim, &cmp) == 0)
        return 0;
    char msg[96];
    limit_msg(c, msg, sizeof msg);
    return barf(c, "%s", msg);
}

static int64_t cmp_of(double d)
{
    int64_t v = 0;
    pnum_comparable(d, PNUM_LIMIT_EVENTBRIDGE, &v);
    return v;
}

/* ["<" / "<=", top]: the second half of a two-sided range. */
static int numeric_range_top(cctx *c, ptok t, double bottom, bool open_bottom, pmlist *l)
{
    if (t != PT_STRING)
        return barf(c, "Bad value in numeric range: %s", pjson_text(&c->j));
    bool open_top;
    if (text_is(c, "<"))
        open_top = true;
    else if (text_is(c, "<="))
        open_top = false;
    else
        return barf(c, "Bad numeric range operator: %s", pjson_text(&c->j));
    char op[3];
    snprintf(op, sizeof op, "%s", pjson_text(&c->j));
    if (!is_num(next(c)))
        return barf(c, "Value of %s must be numeric", op);
    double top = pnum_parse(c->j.text.data, c->j.text.len);
    if (next(c) != PT_END_ARRAY)
        return barf(c, "Too many terms in numeric range expression");
    if (check_limit(c, bottom) < 0 || check_limit(c, top) < 0)
        return -1;
    if (bottom >= top)
        return barf(c, "Bottom must be less than top");
    pmatcher *m = add_matcher(l, PM_NUMERIC);
    m->lo = cmp_of(bottom) + (open_bottom ? 1 : 0);
    m->hi = cmp_of(top) - (open_top ? 1 : 0);
    return 0;
}

static int numeric(cctx *c, pmlist *l)
{
    ptok t = next(c);
    if (t != PT_STRING)
        return barf(c, "Invalid member in numeric match: %s", pjson_text(&c->j));
    char op[16];
    snprintf(op, sizeof op, "%s", pjson_text(&c->j));
    bool known = !strcmp(op, "=") || !strcmp(op, ">=") || !strcmp(op, ">") || !strcmp(op, "<=") ||
                 !strcmp(op, "<");
    t = next(c);
    if (!known)
        return barf(c, "Unrecognized numeric range operator: %s", op);
    if (!is_num(t))
        return barf(c, "Value of %s must be numeric", strcmp(op, "=") ? op : "equals");
    double v = pnum_parse(c->j.text.data, c->j.text.len);
    int64_t lo = 0, hi = cmp_of(PNUM_LIMIT_EVENTBRIDGE);
    if (!strcmp(op, ">=") || !strcmp(op, ">")) {
        bool open = op[1] != '=';
        t = next(c);
        if (t != PT_END_ARRAY)
            return numeric_range_top(c, t, v, open, l);
        if (check_limit(c, v) < 0)
            return -1;
        lo = cmp_of(v) + (open ? 1 : 0);
    } else {
        if (next(c) != PT_END_ARRAY)
            return too_many_elements(c);
        if (check_limit(c, v) < 0)
            return -1;
        if (op[0] == '=') {
            lo = hi = cmp_of(v);
        } else {
            hi = cmp_of(v) - (op[1] == '=' ? 0 : 1);
            if (c->d == PATTERN_SNS)
                lo = cmp_of(-PNUM_LIMIT_SNS);
        }
    }
    if (c->d == PATTERN_SNS && hi == cmp_of(PNUM_LIMIT_EVENTBRIDGE))
        hi = cmp_of(PNUM_LIMIT_SNS);
    pmatcher *m = add_matcher(l, PM_NUMERIC);
    m->lo = lo;
    m->hi = hi;
    return 0;
}

/* ------------------------------------------------------------------ match expressions */

/* {"prefix": {"equals-ignore-case": "..."}} and the suffix twin; the outer '{' of the
 * inner object has been read. */
static int affix_ignore_case(cctx *c, pmlist *l, bool prefix)
{
    const char *what = prefix ? "Prefix" : "Suffix";
    if (next(c) != PT_FIELD_NAME)
        return barf(c, "%s expression name not found", what);
    if (!text_is(c, "equals-ignore-case"))
        return barf(c, "Unsupported %s pattern: %s", prefix ? "prefix" : "suffix",
                    pjson_text(&c->j));
    if (next(c) != PT_STRING)
        return barf(c, "equals-ignore-case match pattern must be a string");
    pmatcher *m = add_matcher(l, prefix ? PM_PREFIX_EIC : PM_SUFFIX_EIC);
    m->s = folded_text(c);
    if (next(c) != PT_END_OBJECT || next(c) != PT_END_OBJECT)
        return only_one_key(c);
    return 0;
}

static int string_operand(cctx *c, pmlist *l, pm_type type, const char *name)
{
    if (next(c) != PT_STRING)
        return barf(c, "%s match pattern must be a string", name);
    pmatcher *m = add_matcher(l, type);
    if (type == PM_EIC)
        m->s = folded_text(c);
    else
        m->s = cur_text(c);
    if (type == PM_EXACT)
        m->kind = PV_STRING;
    if (next(c) != PT_END_OBJECT)
        return only_one_key(c);
    return 0;
}

static int anything_but_value(cctx *c, ptok t, pm_type mt, pmatcher *m, bool *num, bool *str)
{
    if (mt == PM_AB_EXACT) {
        if (t == PT_STRING) {
            set_add(&m->set, &m->nset, cur_text(c));
            *str = true;
            return 0;
        }
        if (is_num(t)) {
            double d = pnum_parse(c->j.text.data, c->j.text.len);
            if (check_limit(c, d) < 0)
                return -1;
            m->nums = xrealloc(m->nums, (m->nnums + 1) * sizeof *m->nums);
            m->nums[m->nnums++] = cmp_of(d);
            *num = true;
            return 0;
        }
        return barf(c, "Inside anything but list, start|null|boolean is not supported.");
    }
    if (t != PT_STRING) {
        if (mt == PM_AB_EIC)
            return barf(c, "Inside anything-but/equals-ignore-case list, "
                           "number|start|null|boolean is not supported.");
        if (mt == PM_AB_WILDCARD)
            return barf(c, "wildcard match pattern must be a string");
        return barf(c, "prefix/suffix match pattern must be a string");
    }
    if ((mt == PM_AB_PREFIX || mt == PM_AB_SUFFIX) && c->j.text.len == 0)
        return barf(c, "Null prefix/suffix not allowed");
    if (mt == PM_AB_WILDCARD) {
        char msg[128];
        pwild w;
        if (pwild_parse(c->j.text.data, c->j.text.len, &w, msg, sizeof msg) < 0)
            return barf(c, "%s", msg);
        m->wilds = xrealloc(m->wilds, (m->nwilds + 1) * sizeof *m->wilds);
        m->wilds[m->nwilds++] = w;
        return 0;
    }
    set_add(&m->set, &m->nset, mt == PM_AB_EIC ? folded_text(c) : cur_text(c));
    return 0;
}

static int anything_but(cctx *c, pmlist *l)
{
    pm_type mt = PM_AB_EXACT;
    ptok t = next(c);
    if (t == PT_START_OBJECT) {
        if (next(c) != PT_FIELD_NAME)
            return barf(c, "Anything-But expression name not found");
        if (text_is(c, "equals-ignore-case"))
            mt = PM_AB_EIC;
        else if (text_is(c, "prefix"))
            mt = PM_AB_PREFIX;
        else if (text_is(c, "suffix"))
            mt = PM_AB_SUFFIX;
        else if (text_is(c, "wildcard") && c->d != PATTERN_SNS)
            mt = PM_AB_WILDCARD;
        else
            return barf(c, "Unsupported anything-but pattern: %s", pjson_text(&c->j));
        t = next(c);
    }
    if (t != PT_START_ARRAY && t != PT_STRING && !is_num(t))
        return barf(c, "Value of anything-but must be an array or single string/number value.");
    pmatcher *m = add_matcher(l, mt);
    bool num = false, str = false;
    if (t == PT_START_ARRAY) {
        for (;;) {
            t = next(c);
            if (t == PT_END_ARRAY)
                break;
            if (t == PT_ERROR || anything_but_value(c, t, mt, m, &num, &str) < 0)
                return t == PT_ERROR ? barf(c, "?") : -1;
        }
        if (mt == PM_AB_EXACT && num == str)
            return barf(c, "Inside anything but list, either all values are number or string, "
                           "mixed type is not supported");
    } else if (anything_but_value(c, t, mt, m, &num, &str) < 0) {
        return -1;
    }
    if (num)
        m->type = PM_AB_NUMERIC;
    if (next(c) != PT_END_OBJECT)
        return too_many_elements(c);
    if (mt != PM_AB_EXACT && next(c) != PT_END_OBJECT)
        return too_many_elements(c);
    return 0;
}

static int match_expression(cctx *c, pmlist *l)
{
    if (next(c) != PT_FIELD_NAME)
        return barf(c, "Match expression name not found");
    if (text_is(c, "exactly"))
        return string_operand(c, l, PM_EXACT, "exact");
    if (text_is(c, "prefix") || text_is(c, "suffix")) {
        bool prefix = text_is(c, "prefix");
        ptok t = next(c);
        if (t == PT_START_OBJECT)
            return affix_ignore_case(c, l, prefix);
        if (t != PT_STRING)
            return barf(c, "%s match pattern must be a string", prefix ? "prefix" : "suffix");
        pmatcher *m = add_matcher(l, prefix ? PM_PREFIX : PM_SUFFIX);
        m->s = cur_text(c);
        if (next(c) != PT_END_OBJECT)
            return only_one_key(c);
        return 0;
    }
    if (text_is(c, "numeric")) {
        if (next(c) != PT_START_ARRAY)
            return barf(c, "Value of numeric must be an array.");
        if (numeric(c, l) < 0)
            return -1;
        if (next(c) != PT_END_OBJECT)
            return too_many_elements(c);
        return 0;
    }
    if (text_is(c, "anything-but"))
        return anything_but(c, l);
    if (text_is(c, "exists")) {
        ptok t = next(c);
        if (t != PT_TRUE && t != PT_FALSE)
            return barf(c, "exists match pattern must be either true or false.");
        add_matcher(l, t == PT_TRUE ? PM_EXISTS : PM_ABSENT);
        if (next(c) != PT_END_OBJECT)
            return only_one_key(c);
        return 0;
    }
    if (text_is(c, "cidr")) {
        if (next(c) != PT_STRING)
            return barf(c, "prefix match pattern must be a string");
        pmatcher *m = add_matcher(l, PM_CIDR);
        char msg[256];
        if (pcidr_parse(c->j.text.data, c->j.text.len, &m->iplo, &m->iphi, msg, sizeof msg) < 0)
            return barf(c, "%s", msg);
        if (next(c) != PT_END_OBJECT)
            return only_one_key(c);
        return 0;
    }
    if (text_is(c, "equals-ignore-case"))
        return string_operand(c, l, PM_EIC, "equals-ignore-case");
    if (text_is(c, "wildcard") && c->d != PATTERN_SNS) {
        if (next(c) != PT_STRING)
            return barf(c, "wildcard match pattern must be a string");
        pmatcher *m = add_matcher(l, PM_WILDCARD);
        char msg[128];
        if (pwild_parse(c->j.text.data, c->j.text.len, &m->wild, msg, sizeof msg) < 0)
            return barf(c, "%s", msg);
        if (next(c) != PT_END_OBJECT)
            return only_one_key(c);
        return 0;
    }
    return barf(c, "Unrecognized match type %s", pjson_text(&c->j));
}

/* ------------------------------------------------------------------ rules */

static uint32_t intern_path(cctx *c, const char *s, size_t n)
{
    pcompiled *o = c->out;
    for (size_t i = 0; i < o->npaths; i++)
        if (o->paths[i].n == n && memcmp(o->paths[i].s, s, n) == 0)
            return (uint32_t)i;
    if (o->npaths == c->capspaths) {
        c->capspaths = c->capspaths ? c->capspaths * 2 : 8;
        o->paths = xrealloc(o->paths, c->capspaths * sizeof *o->paths);
    }
    o->paths[o->npaths] = dup_str(s, n);
    return (uint32_t)o->npaths++;
}

static uint32_t keep_list(cctx *c, pmlist *l)
{
    pcompiled *o = c->out;
    if (o->nlists == c->caplists) {
        c->caplists = c->caplists ? c->caplists * 2 : 8;
        o->lists = xrealloc(o->lists, c->caplists * sizeof *o->lists);
    }
    o->lists[o->nlists] = l;
    return (uint32_t)o->nlists++;
}

static void rule_put(rule *r, uint32_t path, uint32_t list)
{
    for (size_t i = 0; i < r->n; i++) {
        if (r->e[i].path == path) {
            r->e[i].list = list;
            return;
        }
    }
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 4;
        r->e = xrealloc(r->e, r->cap * sizeof *r->e);
    }
    r->e[r->n++] = (entry){path, list};
}

static void rules_push(rules *rs, rule r)
{
    if (rs->n == rs->cap) {
        rs->cap = rs->cap ? rs->cap * 2 : 4;
        rs->r = xrealloc(rs->r, rs->cap * sizeof *rs->r);
    }
    rs->r[rs->n++] = r;
}

static rule rule_copy(const rule *r)
{
    rule o = {NULL, r->n, r->n};
    if (r->n)
        o.e = xmemdup(r->e, r->n * sizeof *r->e);
    return o;
}

static void rules_clear(rules *rs)
{
    for (size_t i = 0; i < rs->n; i++)
        xfree(rs->r[i].e);
    rs->n = 0;
}

static void rules_free(rules *rs)
{
    rules_clear(rs);
    xfree(rs->r);
    rs->r = NULL;
    rs->cap = 0;
}

static int write_rules(cctx *c, rules *rs, const char *name, size_t namelen, double *combos)
{
    pmlist *l = xcalloc(1, sizeof *l);
    keep_list(c, l);
    size_t values = 0;
    for (;;) {
        ptok t = next(c);
        if (t == PT_END_ARRAY)
            break;
        values++;
        switch (t) {
        case PT_START_OBJECT:
            if (match_expression(c, l) < 0)
                return -1;
            break;
        case PT_STRING: {
            pmatcher *m;
            pip ip;
            if (pip_parse(c->j.text.data, c->j.text.len, &ip) == 0) {
                m = add_matcher(l, PM_CIDR);
                m->iplo = m->iphi = ip;
            } else {
                m = add_matcher(l, PM_EXACT);
                m->kind = PV_STRING;
                m->s = cur_text(c);
            }
            break;
        }
        case PT_INT:
        case PT_FLOAT: {
            double d = pnum_parse(c->j.text.data, c->j.text.len);
            int64_t cmp;
            if (pnum_comparable(d, c->numlim, &cmp) == 0) {
                pmatcher *m = add_matcher(l, PM_NUMEQ);
                m->lo = m->hi = cmp;
            }
            pmatcher *m = add_matcher(l, PM_EXACT);
            m->kind = PV_NUMBER;
            m->s = cur_text(c);
            break;
        }
        case PT_NULL:
        case PT_TRUE:
        case PT_FALSE: {
            pmatcher *m = add_matcher(l, PM_EXACT);
            m->kind = t == PT_NULL ? PV_NULL : t == PT_TRUE ? PV_TRUE : PV_FALSE;
            m->s = dup_str("", 0);
            break;
        }
        default:
            return barf(c, "Match value must be String, number, true, false, or null");
        }
    }
    if (l->n == 0)
        return barf(c, "Empty arrays are not allowed");
    *combos = (double)values;
    if (rs->n == 0)
        rules_push(rs, (rule){NULL, 0, 0});
    uint32_t p = intern_path(c, name, namelen);
    for (size_t i = 0; i < rs->n; i++)
        rule_put(&rs->r[i], p, (uint32_t)(c->out->nlists - 1));
    return 0;
}

static int parse_object(cctx *c, rules *rs, bool inside_or, int depth, double *combos);

static int parse_or(cctx *c, rules *rs, int depth, double *combos)
{
    rules current = {0};
    for (size_t i = 0; i < rs->n; i++)
        rules_push(&current, rule_copy(&rs->r[i]));
    rules_clear(rs);
    int rc = -1, branches = 0;
    double sum = 0;
    if (next(c) != PT_START_ARRAY) {
        barf(c, "It must be an Array followed with $or.");
        goto done;
    }
    for (;;) {
        ptok t = next(c);
        if (t == PT_END_ARRAY)
            break;
        branches++;
        if (t != PT_START_OBJECT) {
            barf(c, "Only JSON object is allowed in array of $or relationship.");
            goto done;
        }
        rules fresh = {0};
        for (size_t i = 0; i < current.n; i++)
            rules_push(&fresh, rule_copy(&current.r[i]));
        if (fresh.n == 0)
            rules_push(&fresh, (rule){NULL, 0, 0});
        double sub = 1;
        if (parse_object(c, &fresh, true, depth, &sub) < 0) {
            rules_free(&fresh);
            goto done;
        }
        sum += sub;
        for (size_t i = 0; i < fresh.n; i++)
            rules_push(rs, fresh.r[i]);
        xfree(fresh.r);
        if (rs->n > PATTERN_MAX_OR_COMBINATIONS) {
            barf(c, "Rule has too many $or combinations (at most %d)", PATTERN_MAX_OR_COMBINATIONS);
            goto done;
        }
    }
    if (branches < 2) {
        barf(c, "There must have at least 2 Objects in $or relationship.");
        goto done;
    }
    *combos = sum;
    rc = 0;
done:
    rules_free(&current);
    return rc;
}

static int parse_object(cctx *c, rules *rs, bool inside_or, int depth, double *combos)
{
    bool present = false;
    double product = 1;
    for (;;) {
        ptok t = next(c);
        if (t == PT_END_OBJECT)
            break;
        if (t != PT_FIELD_NAME)
            return barf(c, "?");
        present = true;
        size_t namelen = c->j.text.len;
        char *name = xmemdup(pjson_text(&c->j), namelen + 1);
        int rc = 0;
        double sub = 1;
        if (strcmp(name, "$or") == 0) {
            rc = parse_or(c, rs, depth, &sub);
            goto next_key;
        }
        if (inside_or) {
            for (size_t i = 0; i < sizeof reserved_in_or / sizeof *reserved_in_or; i++) {
                if (strcmp(name, reserved_in_or[i]) == 0) {
                    rc = barf(c, "%s is Ruler reserved fieldName which cannot be used inside $or.",
                              name);
                    goto next_key;
                }
            }
        }
        size_t mark = c->path.len;
        if (mark)
            buf_putc(&c->path, '.');
        buf_append(&c->path, name, namelen);
        t = next(c);
        if (t == PT_START_OBJECT) {
            rc = parse_object(c, rs, inside_or, depth + 1, &sub);
        } else if (t == PT_START_ARRAY) {
            rc = write_rules(c, rs, c->path.data, c->path.len, &sub);
            sub *= depth;
        } else {
            rc = barf(c, "\"%s\" must be an object or an array", name);
        }
        c->path.len = mark;
        c->path.data[mark] = '\0';
    next_key:
        xfree(name);
        if (rc < 0)
            return -1;
        product *= sub;
    }
    if (!present)
        return barf(c, "Empty objects are not allowed");
    *combos = product;
    return 0;
}

/* ------------------------------------------------------------------ canonical keys */

static void key_str(buf *b, const char *s, size_t n)
{
    buf_put_u64(b, n);
    buf_putc(b, ':');
    buf_append(b, s, n);
}

static void key_wild(buf *b, const pwild *w)
{
    buf_put_u64(b, w->n);
    buf_putc(b, ':');
    buf_append(b, w->tok, w->n * sizeof *w->tok);
}

static int cmp_pstr(const void *x, const void *y)
{
    const pstr *a = x, *b = y;
    size_t n = a->n < b->n ? a->n : b->n;
    int r = memcmp(a->s, b->s, n);
    return r ? r : (a->n > b->n) - (a->n < b->n);
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

static void matcher_key(buf *b, pmatcher *m)
{
    buf_printf(b, "%d/%d/", (int)m->type, (int)m->kind);
    switch (m->type) {
    case PM_NUMEQ:
    case PM_NUMERIC:
        buf_printf(b, "%lld,%lld", (long long)m->lo, (long long)m->hi);
        break;
    case PM_CIDR:
        buf_putc(b, (char)m->iplo.fam);
        buf_append(b, m->iplo.b, 16);
        buf_append(b, m->iphi.b, 16);
        break;
    case PM_WILDCARD:
        key_wild(b, &m->wild);
        break;
    case PM_AB_NUMERIC:
        qsort(m->nums, m->nnums, sizeof *m->nums, cmp_i64);
        for (size_t i = 0; i < m->nnums; i++)
            buf_printf(b, "%lld,", (long long)m->nums[i]);
        break;
    case PM_AB_EXACT:
    case PM_AB_PREFIX:
    case PM_AB_SUFFIX:
    case PM_AB_EIC:
        qsort(m->set, m->nset, sizeof *m->set, cmp_pstr);
        for (size_t i = 0; i < m->nset; i++)
            key_str(b, m->set[i].s, m->set[i].n);
        break;
    case PM_AB_WILDCARD:
        for (size_t i = 0; i < m->nwilds; i++)
            key_wild(b, &m->wilds[i]);
        break;
    case PM_EXISTS:
    case PM_ABSENT:
        break;
    default:
        key_str(b, m->s.s, m->s.n);
        break;
    }
}

static void make_key(pmlist *l)
{
    pstr *parts = xcalloc(l->n, sizeof *parts);
    buf b = BUF_INIT;
    for (size_t i = 0; i < l->n; i++) {
        buf_reset(&b);
        matcher_key(&b, &l->m[i]);
        parts[i] = dup_str(b.data, b.len);
    }
    qsort(parts, l->n, sizeof *parts, cmp_pstr);
    buf_reset(&b);
    for (size_t i = 0; i < l->n; i++) {
        if (i > 0 && cmp_pstr(&parts[i], &parts[i - 1]) == 0)
            continue;
        key_str(&b, parts[i].s, parts[i].n);
    }
    for (size_t i = 0; i < l->n; i++)
        xfree(parts[i].s);
    xfree(parts);
    if (!b.data)
        buf_init(&b, 1);
    l->keylen = b.len;
    l->key = buf_steal(&b, NULL);
}

static int cmp_field(const void *x, const void *y)
{
    const pfield *a = x, *b = y;
    size_t n = a->pathlen < b->pathlen ? a->pathlen : b->pathlen;
    int r = memcmp(a->path, b->path, n);
    return r ? r : (a->pathlen > b->pathlen) - (a->pathlen < b->pathlen);
}

/* ------------------------------------------------------------------ entry points */

static int count_code_points(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += ((unsigned char)s[i] & 0xc0) != 0x80;
    return k > (size_t)PATTERN_EVENTBRIDGE_MAX_CHARS;
}

/* SNS counts the keys of the policy's top level. */
static size_t sns_top_keys(const char *json, size_t n)
{
    pjson j;
    pjson_init(&j, json, n);
    size_t keys = 0;
    for (;;) {
        ptok t = pjson_next(&j);
        if (t == PT_ERROR || t == PT_EOF)
            break;
        if (t == PT_FIELD_NAME && j.depth == 1)
            keys++;
    }
    pjson_free(&j);
    return keys;
}

int pattern_compile(pattern_dialect d, const char *json, size_t n, pcompiled *out, char *err,
                    size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (err && errlen)
        err[0] = '\0';
    if (d == PATTERN_SNS ? n > PATTERN_SNS_MAX_BYTES : count_code_points(json, n)) {
        if (err && errlen)
            snprintf(err, errlen,
                     d == PATTERN_SNS
                         ? "Invalid parameter: FilterPolicy: Filter policy is too long"
                         : "1 validation error detected: Value at 'eventPattern' failed to "
                           "satisfy constraint: Member must have length less than or equal "
                           "to 4096");
        return PATTERN_ETOOLONG;
    }
    cctx c = {.d = d, .out = out, .err = err, .errlen = errlen};
    c.numlim = d == PATTERN_SNS ? PNUM_LIMIT_SNS : PNUM_LIMIT_EVENTBRIDGE;
    pjson_init(&c.j, json, n);
    buf_init(&c.path, 64);
    rules rs = {0};
    int rc = PATTERN_EINVALID;
    double combos = 1;
    if (d == PATTERN_SNS && sns_top_keys(json, n) > 5) {
        set_err(err, errlen, d, "Filter policy can not have more than 5 keys");
        goto done;
    }
    if (next(&c) != PT_START_OBJECT) {
        barf(&c, "Filter is not an object");
        goto done;
    }
    if (parse_object(&c, &rs, false, 1, &combos) < 0)
        goto done;
    if (next(&c) != PT_EOF) {
        barf(&c, "?");
        goto done;
    }
    if (d == PATTERN_SNS && combos > 150) {
        set_err(err, errlen, d, "Filter policy is too complex");
        goto done;
    }
    for (size_t i = 0; i < out->nlists; i++)
        make_key(out->lists[i]);
    out->r = xcalloc(rs.n ? rs.n : 1, sizeof *out->r);
    out->nr = rs.n;
    for (size_t i = 0; i < rs.n; i++) {
        psubrule *sr = &out->r[i];
        sr->n = rs.r[i].n;
        sr->f = xcalloc(sr->n ? sr->n : 1, sizeof *sr->f);
        for (size_t k = 0; k < sr->n; k++) {
            const pstr *p = &out->paths[rs.r[i].e[k].path];
            sr->f[k] = (pfield){p->s, p->n, out->lists[rs.r[i].e[k].list]};
        }
        qsort(sr->f, sr->n, sizeof *sr->f, cmp_field);
    }
    /* Wildcard complexity, per field path over all of the pattern's sub-rules. */
    for (size_t p = 0; p < out->npaths; p++) {
        const pwild **ws = NULL;
        size_t nw = 0;
        for (size_t i = 0; i < out->nr; i++) {
            for (size_t k = 0; k < out->r[i].n; k++) {
                const pfield *f = &out->r[i].f[k];
                if (f->path != out->paths[p].s)
                    continue;
                for (size_t m = 0; m < f->list->n; m++) {
                    if (f->list->m[m].type != PM_WILDCARD)
                        continue;
                    bool seen = false;
                    for (size_t q = 0; q < nw && !seen; q++)
                        seen = ws[q] == &f->list->m[m].wild;
                    if (!seen) {
                        ws = xrealloc(ws, (nw + 1) * sizeof *ws);
                        ws[nw++] = &f->list->m[m].wild;
                    }
                }
            }
        }
        int cx = nw ? pwild_complexity(ws, nw, PWILD_MAX_COMPLEXITY + 1) : 0;
        xfree(ws);
        if (cx > PWILD_MAX_COMPLEXITY) {
            set_err(err, errlen, d,
                    "Rule is too complex - try using fewer wildcard characters or fewer "
                    "repeating character sequences after a wildcard character");
            goto done;
        }
    }
    rc = 0;
done:
    rules_free(&rs);
    pjson_free(&c.j);
    buf_free(&c.path);
    if (rc != 0)
        pcompiled_free(out);
    return rc;
}

void pcompiled_free(pcompiled *c)
{
    for (size_t i = 0; i < c->nr; i++)
        xfree(c->r[i].f);
    xfree(c->r);
    for (size_t i = 0; i < c->npaths; i++)
        xfree(c->paths[i].s);
    xfree(c->paths);
    for (size_t i = 0; i < c->nlists; i++)
        pmlist_free(c->lists[i]);
    xfree(c->lists);
    memset(c, 0, sizeof *c);
}

int pattern_validate(pattern_dialect d, const char *json, size_t n, char *err, size_t errlen)
{
    pcompiled c;
    int rc = pattern_compile(d, json, n, &c, err, errlen);
    if (rc == 0)
        pcompiled_free(&c);
    return rc;
}
