/* The value indexes behind each field of the automaton (see pattern_internal.h):
 *
 * pmap   exact values -> edges: open addressing with linear probing and backward-shift
 *        deletion, so lookups never wade through tombstones.
 * ptrie  prefix (and reversed suffix) values -> edges: a byte trie with sorted child
 *        arrays; deleting the last edge below a node prunes it.
 * pivset numeric ranges and CIDR blocks -> edges: intervals sorted by lower bound plus an
 *        implicit segment tree of the maximum upper bound, so a stabbing query descends
 *        only into subtrees holding an answer: O(log n) per interval reported, whatever
 *        the number of intervals. Updates rebuild the tree in O(n); they are rare next to
 *        queries. */
#include "pattern/pattern_internal.h"

#include "common/alloc.h"

/* ------------------------------------------------------------------ pvec */

void pvec_add(pvec *v, void *e)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 2;
        v->v = xrealloc(v->v, v->cap * sizeof *v->v);
    }
    v->v[v->n++] = e;
}

void pvec_del(pvec *v, void *e)
{
    for (uint32_t i = 0; i < v->n; i++) {
        if (v->v[i] == e) {
            v->v[i] = v->v[--v->n];
            return;
        }
    }
}

void pvec_free(pvec *v)
{
    xfree(v->v);
    v->v = NULL;
    v->n = v->cap = 0;
}

/* ------------------------------------------------------------------ pmap */

static size_t slot_of(const pmap *m, const char *k, size_t n, uint64_t h)
{
    size_t mask = m->cap - 1, i = h & mask;
    while (m->e[i].key) {
        if (m->e[i].hash == h && m->e[i].len == n && memcmp(m->e[i].key, k, n) == 0)
            return i;
        i = (i + 1) & mask;
    }
    return i;
}

const pvec *pmap_get(const pmap *m, const char *k, size_t n, uint64_t h)
{
    if (!m->n)
        return NULL;
    size_t i = slot_of(m, k, n, h);
    return m->e[i].key ? &m->e[i].v : NULL;
}

static void grow(pmap *m)
{
    pmap old = *m;
    m->cap = old.cap ? old.cap * 2 : 8;
    m->e = xcalloc(m->cap, sizeof *m->e);
    for (size_t i = 0; i < old.cap; i++) {
        if (!old.e[i].key)
            continue;
        size_t s = slot_of(m, old.e[i].key, old.e[i].len, old.e[i].hash);
        m->e[s] = old.e[i];
    }
    xfree(old.e);
}

void pmap_add(pmap *m, const char *k, size_t n, void *edge)
{
    if ((m->n + 1) * 4 > m->cap * 3)
        grow(m);
    uint64_t h = phash(k, n);
    size_t i = slot_of(m, k, n, h);
    if (!m->e[i].key) {
        m->e[i].key = xmalloc(n + 1);
        memcpy(m->e[i].key, k, n);
        m->e[i].key[n] = '\0';
        m->e[i].len = (uint32_t)n;
        m->e[i].hash = h;
        m->e[i].v = (pvec){0};
        m->n++;
    }
    pvec_add(&m->e[i].v, edge);
}

void pmap_del(pmap *m, const char *k, size_t n, void *edge)
{
    if (!m->n)
        return;
    uint64_t h = phash(k, n);
    size_t i = slot_of(m, k, n, h);
    if (!m->e[i].key)
        return;
    pvec_del(&m->e[i].v, edge);
    if (m->e[i].v.n)
        return;
    pvec_free(&m->e[i].v);
    xfree(m->e[i].key);
    m->e[i].key = NULL;
    m->n--;
    /* Backward shift: move later entries of the probe run into the hole when their home
     * slot is not between the hole and themselves. */
    size_t mask = m->cap - 1, hole = i, j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!m->e[j].key)
            break;
        size_t home = m->e[j].hash & mask;
        bool between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (between)
            continue;
        m->e[hole] = m->e[j];
        m->e[j].key = NULL;
        hole = j;
    }
}

void pmap_free(pmap *m)
{
    for (size_t i = 0; i < m->cap; i++) {
        if (m->e[i].key) {
            xfree(m->e[i].key);
            pvec_free(&m->e[i].v);
        }
    }
    xfree(m->e);
    memset(m, 0, sizeof *m);
}

/* ------------------------------------------------------------------ ptrie */

static int find_kid(const ptnode *nd, uint8_t c, bool *found)
{
    int lo = 0, hi = nd->nkids;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (nd->keys[mid] < c)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < nd->nkids && nd->keys[lo] == c;
    return lo;
}

static ptnode *kid(const ptnode *nd, uint8_t c)
{
    if (nd->nkids <= 8) {
        for (int i = 0; i < nd->nkids; i++)
            if (nd->keys[i] == c)
                return nd->kids[i];
        return NULL;
    }
    bool found;
    int i = find_kid(nd, c, &found);
    return found ? nd->kids[i] : NULL;
}

void ptrie_add(ptrie *t, const char *k, size_t n, void *edge)
{
    if (!t->root)
        t->root = xcalloc(1, sizeof *t->root);
    ptnode *nd = t->root;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)k[i];
        bool found;
        int at = find_kid(nd, c, &found);
        if (!found) {
            if (nd->nkids == nd->capkids) {
                nd->capkids = nd->capkids ? (uint16_t)(nd->capkids * 2) : 2;
                nd->keys = xrealloc(nd->keys, nd->capkids);
                nd->kids = xrealloc(nd->kids, nd->capkids * sizeof *nd->kids);
            }
            memmove(nd->keys + at + 1, nd->keys + at, (size_t)(nd->nkids - at));
            memmove(nd->kids + at + 1, nd->kids + at, (size_t)(nd->nkids - at) * sizeof(ptnode *));
            nd->keys[at] = c;
            nd->kids[at] = xcalloc(1, sizeof(ptnode));
            nd->nkids++;
        }
        nd = nd->kids[at];
    }
    pvec_add(&nd->v, edge);
}

static void node_free(ptnode *nd)
{
    for (int i = 0; i < nd->nkids; i++)
        node_free(nd->kids[i]);
    xfree(nd->keys);
    xfree(nd->kids);
    pvec_free(&nd->v);
    xfree(nd);
}

/* Returns true if nd is now empty and was freed. */
static bool del_at(ptnode *nd, const unsigned char *k, size_t n, void *edge)
{
    if (n == 0) {
        pvec_del(&nd->v, edge);
    } else {
        bool found;
        int at = find_kid(nd, k[0], &found);
        if (found && del_at(nd->kids[at], k + 1, n - 1, edge)) {
            memmove(nd->keys + at, nd->keys + at + 1, (size_t)(nd->nkids - at - 1));
            memmove(nd->kids + at, nd->kids + at + 1,
                    (size_t)(nd->nkids - at - 1) * sizeof(ptnode *));
            nd->nkids--;
        }
    }
    if (nd->v.n || nd->nkids)
        return false;
    node_free(nd);
    return true;
}

void ptrie_del(ptrie *t, const char *k, size_t n, void *edge)
{
    if (t->root && del_at(t->root, (const unsigned char *)k, n, edge))
        t->root = NULL;
}

void ptrie_walk(const ptrie *t, const char *v, size_t n, bool reverse, pvisit_fn fn, void *arg)
{
    const ptnode *nd = t->root;
    for (size_t i = 0; nd; i++) {
        for (uint32_t k = 0; k < nd->v.n; k++)
            fn(nd->v.v[k], arg);
        if (i == n)
            break;
        nd = kid(nd, (uint8_t)(reverse ? v[n - 1 - i] : v[i]));
    }
}

void ptrie_free(ptrie *t)
{
    if (t->root)
        node_free(t->root);
    t->root = NULL;
}

/* ------------------------------------------------------------------ pivset */

static int kcmp(pk128 a, pk128 b)
{
    if (a.hi != b.hi)
        return a.hi < b.hi ? -1 : 1;
    if (a.lo != b.lo)
        return a.lo < b.lo ? -1 : 1;
    return 0;
}

static void rebuild(pivset *s)
{
    size_t size = 1;
    while (size < s->n)
        size *= 2;
    if (size != s->size) {
        xfree(s->mx);
        s->mx = xcalloc(2 * size, sizeof *s->mx);
        s->size = size;
    }
    for (size_t i = 0; i < size; i++)
        s->mx[size + i] = i < s->n ? s->a[i].hi : (pk128){0, 0};
    for (size_t i = size - 1; i >= 1; i--) {
        pk128 l = s->mx[2 * i], r = s->mx[2 * i + 1];
        s->mx[i] = kcmp(l, r) >= 0 ? l : r;
    }
}

void pivset_add(pivset *s, pk128 lo, pk128 hi, void *edge)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4;
        s->a = xrealloc(s->a, s->cap * sizeof *s->a);
    }
    size_t l = 0, r = s->n;
    while (l < r) {
        size_t mid = (l + r) / 2;
        if (kcmp(s->a[mid].lo, lo) <= 0)
            l = mid + 1;
        else
            r = mid;
    }
    memmove(s->a + l + 1, s->a + l, (s->n - l) * sizeof *s->a);
    s->a[l] = (piv){lo, hi, edge};
    s->n++;
    rebuild(s);
}

void pivset_del(pivset *s, pk128 lo, pk128 hi, void *edge)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->a[i].edge == edge && kcmp(s->a[i].lo, lo) == 0 && kcmp(s->a[i].hi, hi) == 0) {
            memmove(s->a + i, s->a + i + 1, (s->n - i - 1) * sizeof *s->a);
            s->n--;
            if (s->n)
                rebuild(s);
            return;
        }
    }
}

static void stab(const pivset *s, size_t node, size_t l, size_t r, size_t p, pk128 x, pvisit_fn fn,
                 void *arg)
{
    if (l >= p || kcmp(s->mx[node], x) < 0)
        return;
    if (r - l == 1) {
        fn(s->a[l].edge, arg);
        return;
    }
    size_t mid = (l + r) / 2;
    stab(s, 2 * node, l, mid, p, x, fn, arg);
    stab(s, 2 * node + 1, mid, r, p, x, fn, arg);
}

void pivset_stab(const pivset *s, pk128 x, pvisit_fn fn, void *arg)
{
    if (!s->n)
        return;
    size_t l = 0, r = s->n;
    while (l < r) {
        size_t mid = (l + r) / 2;
        if (kcmp(s->a[mid].lo, x) <= 0)
            l = mid + 1;
        else
            r = mid;
    }
    /* Few intervals start at or below x: checking them directly beats a tree descent. */
    if (l <= 32) {
        for (size_t i = 0; i < l; i++)
            if (kcmp(s->a[i].hi, x) >= 0)
                fn(s->a[i].edge, arg);
        return;
    }
    stab(s, 1, 0, s->size, l, x, fn, arg);
}

void pivset_free(pivset *s)
{
    xfree(s->a);
    xfree(s->mx);
    memset(s, 0, sizeof *s);
}
