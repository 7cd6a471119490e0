/* Wildcard patterns: '*' matches any run of bytes (including none); "\*" is a literal
 * star and "\\" a literal backslash; any other escape and two stars in a row are errors
 * (event-ruler's WildcardParser, whose positions count the opening quote of the value).
 *
 * Complexity. A field with many wildcards can leave a matcher in many states at once;
 * event-ruler's MachineComplexityEvaluator bounds this as "the maximum number of wildcard
 * rule prefixes that could match a theoretical input value": over every input, the sum
 * over the states the input can reach of the number of wildcard patterns reachable from
 * each. This file computes the same measure on an NFA built the way event-ruler shares
 * states: the bytes before each pattern's first star form a trie shared by all patterns
 * (a trie node weighs as many patterns as pass through it), and every position from the
 * first star on is the pattern's own state (weight 1). Every value is seen with its
 * quotes ("abc"), so all patterns share the state after the opening quote. The reachable
 * state sets are explored breadth first over the bytes the patterns use plus one byte
 * they do not, up to a bound on the sets explored; the largest weight is the complexity. */
#include "pattern/pattern_internal.h"

#include "common/alloc.h"

#include <stdio.h>
#include <stdlib.h>

int pwild_parse(const char *s, size_t n, pwild *out, char *msg, size_t msglen)
{
    out->tok = xmalloc((n + 1) * sizeof *out->tok);
    out->n = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '*') {
            if (i + 1 < n && s[i + 1] == '*') {
                snprintf(msg, msglen, "Consecutive wildcard characters at pos %zu", i + 1);
                goto fail;
            }
            out->tok[out->n++] = PWILD_STAR;
        } else if (c == '\\') {
            if (i + 1 < n && (s[i + 1] == '*' || s[i + 1] == '\\')) {
                out->tok[out->n++] = (unsigned char)s[++i];
                continue;
            }
            snprintf(msg, msglen, "Invalid escape character at pos %zu", i + 1);
            goto fail;
        } else {
            out->tok[out->n++] = c;
        }
    }
    return 0;
fail:
    pwild_free(out);
    return -1;
}

void pwild_free(pwild *w)
{
    xfree(w->tok);
    w->tok = NULL;
    w->n = 0;
}

bool pwild_match(const pwild *w, const char *v, size_t n)
{
    const uint16_t *t = w->tok;
    size_t tn = w->n, ti = 0, vi = 0;
    size_t star = (size_t)-1, mark = 0;
    while (vi < n) {
        if (ti < tn && t[ti] == PWILD_STAR) {
            star = ti++;
            mark = vi;
        } else if (ti < tn && t[ti] == (unsigned char)v[vi]) {
            ti++;
            vi++;
        } else if (star != (size_t)-1) {
            ti = star + 1;
            vi = ++mark;
        } else {
            return false;
        }
    }
    while (ti < tn && t[ti] == PWILD_STAR)
        ti++;
    return ti == tn;
}

/* ------------------------------------------------------------------ complexity */

#define MAX_SETS 2048

typedef struct cnode {
    int child[257]; /* by byte, -1 none; [256] unused */
    int weight;
} cnode;

typedef struct nfa {
    cnode *trie;
    int ntrie, captrie;
    /* per pattern: the trie node its prefix ends at, and its tokens from the first star
     * on, followed by the closing quote */
    int *end;
    const uint16_t **rest;
    size_t *restn;
    int *base; /* first state id of the pattern's own positions */
    int nstates;
    int npat;
} nfa;

static int trie_new(nfa *a)
{
    if (a->ntrie == a->captrie) {
        a->captrie = a->captrie ? a->captrie * 2 : 16;
        a->trie = xrealloc(a->trie, (size_t)a->captrie * sizeof *a->trie);
    }
    cnode *c = &a->trie[a->ntrie];
    for (int i = 0; i < 257; i++)
        c->child[i] = -1;
    c->weight = 0;
    return a->ntrie++;
}

/* Token of pattern p at own position i (the closing quote after the last). */
static int rest_tok(const nfa *a, int p, size_t i)
{
    return i < a->restn[p] ? a->rest[p][i] : '"';
}

static int cmp_int(const void *x, const void *y)
{
    int a = *(const int *)x, b = *(const int *)y;
    return (a > b) - (a < b);
}

/* Adds the epsilon closure: a trie node where patterns' prefixes end activates their
 * first star; a star position activates the position after it. */
static void closure(const nfa *a, int *set, int *n, char *in)
{
    for (int k = 0; k < *n; k++) {
        int s = set[k];
        if (s < a->ntrie) {
            for (int p = 0; p < a->npat; p++) {
                if (a->end[p] == s && a->restn[p] > 0 && !in[a->base[p]]) {
                    in[a->base[p]] = 1;
                    set[(*n)++] = a->base[p];
                }
            }
            continue;
        }
        int p = 0;
        while (p + 1 < a->npat && a->base[p + 1] <= s)
            p++;
        size_t i = (size_t)(s - a->base[p]);
        if (i <= a->restn[p] && rest_tok(a, p, i) == PWILD_STAR) {
            int nx = s + 1;
            if (!in[nx]) {
                in[nx] = 1;
                set[(*n)++] = nx;
            }
        }
    }
}

static int set_weight(const nfa *a, const int *set, int n)
{
    int w = 0;
    for (int k = 0; k < n; k++)
        w += set[k] < a->ntrie ? a->trie[set[k]].weight : 1;
    return w;
}

int pwild_complexity(const pwild *const *ws, size_t nw, int cap)
{
    if (nw == 0)
        return 0;
    nfa a = {0};
    a.npat = (int)nw;
    a.end = xcalloc(nw, sizeof *a.end);
    a.rest = xcalloc(nw, sizeof *a.rest);
    a.restn = xcalloc(nw, sizeof *a.restn);
    a.base = xcalloc(nw, sizeof *a.base);
    bool used[256] = {false};
    used['"'] = true;
    int root = trie_new(&a);
    int quote = trie_new(&a);
    a.trie[root].child['"'] = quote;
    a.trie[quote].weight = (int)nw;
    for (size_t p = 0; p < nw; p++) {
        const pwild *w = ws[p];
        int node = quote;
        size_t i = 0;
        for (; i < w->n && w->tok[i] != PWILD_STAR; i++) {
            int c = w->tok[i];
            used[c] = true;
            if (a.trie[node].child[c] < 0) {
                int nx = trie_new(&a);
                a.trie[node].child[c] = nx;
            }
            node = a.trie[node].child[c];
            a.trie[node].weight++;
        }
        a.end[p] = node;
        a.rest[p] = w->tok + i;
        a.restn[p] = w->n - i;
        for (size_t k = i; k < w->n; k++)
            if (w->tok[k] != PWILD_STAR)
                used[w->tok[k]] = true;
    }
    /* A pattern without a star ends inside the trie, reached by its closing quote. */
    int nstates = a.ntrie;
    for (size_t p = 0; p < nw; p++) {
        a.base[p] = nstates;
        nstates += (int)a.restn[p] + 2;
    }
    a.nstates = nstates;
    int alphabet[257], nalpha = 0, other = -1;
    for (int c = 0; c < 256; c++) {
        if (used[c])
            alphabet[nalpha++] = c;
        else if (other < 0)
            other = c;
    }
    if (other >= 0)
        alphabet[nalpha++] = other;

    /* Explored sets, each stored sorted, for de-duplication by linear probing on a hash. */
    size_t hcap = 4096;
    uint64_t *hkeys = xcalloc(hcap, sizeof *hkeys);
    int **queue = xcalloc(MAX_SETS, sizeof *queue);
    int *qlen = xcalloc(MAX_SETS, sizeof *qlen);
    int qhead = 0, qtail = 0;
    char *in = xcalloc((size_t)nstates, 1);
    int *cur = xmalloc((size_t)nstates * sizeof *cur);
    int worst = 0;

    queue[qtail] = xmalloc(sizeof(int));
    queue[qtail][0] = root;
    qlen[qtail++] = 1;
    while (qhead < qtail && worst < cap) {
        int *set = queue[qhead];
        int n = qlen[qhead++];
        for (int ai = 0; ai < nalpha && worst < cap; ai++) {
            int c = alphabet[ai], m = 0;
            for (int k = 0; k < n; k++) {
                int s = set[k], nx = -1;
                if (s < a.ntrie) {
                    nx = a.trie[s].child[c];
                } else {
                    int p = 0;
                    while (p + 1 < a.npat && a.base[p + 1] <= s)
                        p++;
                    size_t i = (size_t)(s - a.base[p]);
                    if (i <= a.restn[p]) {
                        int t = rest_tok(&a, p, i);
                        if (t == PWILD_STAR && c != '"')
                            nx = s;
                        else if (t == c)
                            nx = s + 1;
                    }
                }
                /* A prefix-only pattern leaves the trie on its closing quote. */
                if (s < a.ntrie && c == '"') {
                    for (int p = 0; p < a.npat; p++) {
                        if (a.end[p] == s && a.restn[p] == 0 && !in[a.base[p] + 1]) {
                            in[a.base[p] + 1] = 1;
                            cur[m++] = a.base[p] + 1;
                        }
                    }
                }
                if (nx >= 0 && !in[nx]) {
                    in[nx] = 1;
                    cur[m++] = nx;
                }
            }
            closure(&a, cur, &m, in);
            for (int k = 0; k < m; k++)
                in[cur[k]] = 0;
            if (m == 0)
                continue;
            qsort(cur, (size_t)m, sizeof *cur, cmp_int);
            int w = set_weight(&a, cur, m);
            if (w > worst)
                worst = w;
            uint64_t h = phash(cur, (size_t)m * sizeof *cur) | 1;
            size_t slot = h & (hcap - 1);
            while (hkeys[slot] && hkeys[slot] != h)
                slot = (slot + 1) & (hcap - 1);
            if (hkeys[slot] || qtail == MAX_SETS)
                continue;
            hkeys[slot] = h;
            queue[qtail] = xmemdup(cur, (size_t)m * sizeof *cur);
            qlen[qtail++] = m;
        }
    }
    for (int i = 0; i < qtail; i++)
        xfree(queue[i]);
    xfree(queue);
    xfree(qlen);
    xfree(hkeys);
    xfree(in);
    xfree(cur);
    xfree(a.trie);
    xfree(a.end);
    xfree(a.rest);
    xfree(a.restn);
    xfree(a.base);
    return worst < cap ? worst : cap;
}
