/* The shared automaton of a pattern set, and matching.
 *
 * Algorithm (after AWS's event-ruler and quamina). Every pattern is compiled into
 * sub-rules (one per "$or" branch), each a conjunction of fields sorted by path, each
 * field a path and a disjunction of value matchers. All sub-rules of all patterns of a set
 * form one automaton: a tree of name states. A state has, per path, a field machine (pfm)
 * holding the edges leaving the state on that path; an edge stands for one value list and
 * leads to the next state. Sub-rules share a state exactly when they share every field
 * before it (same path, same canonical value list), so a terminal state's pattern ids are
 * the patterns whose whole sub-rule led there; no candidate-set bookkeeping is needed.
 *
 * A field machine indexes its edges by matcher type so a value finds the edges it
 * satisfies without looking at the others: exact values in hash maps, prefixes and
 * suffixes in byte tries, numbers and IP addresses as intervals of comparable keys in an
 * interval set; only wildcards and anything-but (whose answers are the edges themselves)
 * are checked one by one. Adding a sub-rule walks and extends one path of the tree;
 * removing it walks the same path dropping references, freeing what nothing uses.
 *
 * Matching an event: its leaf fields are mapped to the set's interned path ids (fields on
 * paths no pattern names are dropped at once), sorted by path bytes and grouped by path.
 * A depth-first walk starts at the root with the first group: from a state, each later
 * group whose path the state has a machine for is tried; every field of the group feeds
 * its value to the machine and each edge it satisfies continues from its next state with
 * the following group. Reaching a state reports its pattern ids. The work depends on the
 * event's fields and the edges their values satisfy, not on the number of patterns.
 *
 * Array consistency: each field carries the (array, element) pairs of the arrays of
 * objects it sits in; a walk accumulates the pairs of the fields it used and refuses a
 * field naming another element of an array already used, so two fields of one rule never
 * come from different elements of the same array of objects (event-ruler's ACFinder).
 * "exists": false is an edge taken, without consuming a field, when no field of its path
 * is consistent with the walk so far; like event-ruler this is decided in path order.
 *
 * Concurrency: readers share the automaton under a read lock; add and remove compile
 * outside the lock and take the write lock only to splice the compiled sub-rules in. */
#include "pattern/pattern_internal.h"

#include "common/alloc.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct pstate pstate;
typedef struct pfm pfm;

typedef struct pedge {
    pfm *fm;
    pstate *next;
    pmlist *list; /* owned */
    uint32_t refs;
} pedge;

typedef struct mref {
    pedge *e;
    const pmatcher *m;
} mref;

typedef struct mrefs {
    mref *v;
    uint32_t n, cap;
} mrefs;

struct pfm {
    pstate *state;
    uint32_t path;
    uint32_t nedges;
    pmap edges;   /* canonical list key -> edge */
    pmap exact_s; /* string values */
    pmap exact_n; /* number literals as written */
    pvec lit[3];  /* true, false, null */
    pmap eic;
    ptrie prefix, suffix, prefix_eic, suffix_eic;
    pivset num, ip4, ip6;
    mrefs wild, ab;
    pvec exists, absent;
};

typedef struct idcount {
    uint64_t id;
    uint32_t count;
} idcount;

struct pstate {
    pfm **fms; /* sorted by path id */
    uint32_t nfms, capfms;
    uint32_t nabsent; /* machines with absent edges */
    idcount *ids;
    uint32_t nids, capids;
};

typedef struct ppath {
    char *s;
    uint32_t len;
    uint64_t hash;
    uint32_t refs;
} ppath;

typedef struct psub {
    pedge **edges;
    size_t n;
    pstate *terminal;
} psub;

typedef struct prec {
    uint64_t id;
    psub *subs;
    size_t n;
} prec;

struct pattern_set {
    pattern_dialect dialect;
    pthread_rwlock_t lock;
    pstate *root;
    /* interned paths: ids index paths[]; table maps bytes to ids (0 = empty, else id+1) */
    ppath *paths;
    uint32_t npaths, cappaths;
    uint32_t *freeids;
    uint32_t nfree, capfree;
    uint32_t *table;
    size_t tcap, tused;
    pmap recs; /* 8-byte id -> prec */
    size_t count;
    /* A bit per path hash bucket, set for every interned path: most event fields are on
     * paths no pattern names, and one bit test drops them without probing the table. */
    uint64_t bloom[64];
};

static bool bloom_has(const pattern_set *s, uint64_t h)
{
    uint32_t b = (uint32_t)(h >> 52);
    return s->bloom[b >> 6] >> (b & 63) & 1;
}

static void bloom_set(pattern_set *s, uint64_t h)
{
    uint32_t b = (uint32_t)(h >> 52);
    s->bloom[b >> 6] |= 1ull << (b & 63);
}

/* ------------------------------------------------------------------ paths */

static uint32_t *path_slot(const pattern_set *s, const char *p, size_t n, uint64_t h)
{
    size_t mask = s->tcap - 1, i = h & mask;
    for (;;) {
        uint32_t v = s->table[i];
        if (v == 0)
            return &s->table[i];
        const ppath *pp = &s->paths[v - 1];
        if (pp->hash == h && pp->len == n && memcmp(pp->s, p, n) == 0)
            return &s->table[i];
        i = (i + 1) & mask;
    }
}

static int path_find(const pattern_set *s, const char *p, size_t n, uint64_t h)
{
    if (!s->tcap)
        return -1;
    uint32_t v = *path_slot(s, p, n, h);
    return v ? (int)(v - 1) : -1;
}

static void table_rebuild(pattern_set *s, size_t cap)
{
    xfree(s->table);
    s->tcap = cap;
    s->table = xcalloc(cap, sizeof *s->table);
    s->tused = 0;
    for (uint32_t id = 0; id < s->npaths; id++) {
        if (!s->paths[id].s)
            continue;
        *path_slot(s, s->paths[id].s, s->paths[id].len, s->paths[id].hash) = id + 1;
        s->tused++;
    }
}

static uint32_t path_ref(pattern_set *s, const char *p, size_t n)
{
    uint64_t h = phash(p, n);
    int found = path_find(s, p, n, h);
    if (found >= 0) {
        s->paths[found].refs++;
        return (uint32_t)found;
    }
    if ((s->tused + 1) * 2 > s->tcap)
        table_rebuild(s, s->tcap ? s->tcap * 2 : 64);
    uint32_t id;
    if (s->nfree) {
        id = s->freeids[--s->nfree];
    } else {
        if (s->npaths == s->cappaths) {
            s->cappaths = s->cappaths ? s->cappaths * 2 : 16;
            s->paths = xrealloc(s->paths, s->cappaths * sizeof *s->paths);
        }
        id = s->npaths++;
    }
    s->paths[id] = (ppath){xmemdup(p, n + 1), (uint32_t)n, h, 1};
    bloom_set(s, h);
    *path_slot(s, p, n, h) = id + 1;
    s->tused++;
    return id;
}

static void path_unref(pattern_set *s, uint32_t id)
{
    if (--s->paths[id].refs)
        return;
    uint32_t *slot = path_slot(s, s->paths[id].s, s->paths[id].len, s->paths[id].hash);
    xfree(s->paths[id].s);
    s->paths[id].s = NULL;
    if (s->nfree == s->capfree) {
        s->capfree = s->capfree ? s->capfree * 2 : 16;
        s->freeids = xrealloc(s->freeids, s->capfree * sizeof *s->freeids);
    }
    s->freeids[s->nfree++] = id;
    memset(s->bloom, 0, sizeof s->bloom);
    for (uint32_t i = 0; i < s->npaths; i++)
        if (s->paths[i].s)
            bloom_set(s, s->paths[i].hash);
    /* Backward-shift deletion keeps probe runs intact without tombstones. */
    size_t mask = s->tcap - 1, hole = (size_t)(slot - s->table);
    s->table[hole] = 0;
    s->tused--;
    for (size_t j = (hole + 1) & mask; s->table[j]; j = (j + 1) & mask) {
        size_t home = s->paths[s->table[j] - 1].hash & mask;
        bool between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (between)
            continue;
        s->table[hole] = s->table[j];
        s->table[j] = 0;
        hole = j;
    }
}

/* ------------------------------------------------------------------ states */

static pstate *state_new(void)
{
    return xcalloc(1, sizeof(pstate));
}

static pfm *state_fm(const pstate *st, uint32_t path)
{
    uint32_t lo = 0, hi = st->nfms;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (st->fms[mid]->path < path)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < st->nfms && st->fms[lo]->path == path ? st->fms[lo] : NULL;
}

static pfm *state_fm_add(pattern_set *s, pstate *st, const char *p, size_t n)
{
    uint32_t path = path_ref(s, p, n);
    pfm *fm = state_fm(st, path);
    if (fm) {
        path_unref(s, path);
        return fm;
    }
    fm = xcalloc(1, sizeof *fm);
    fm->state = st;
    fm->path = path;
    if (st->nfms == st->capfms) {
        st->capfms = st->capfms ? st->capfms * 2 : 2;
        st->fms = xrealloc(st->fms, st->capfms * sizeof *st->fms);
    }
    uint32_t at = 0;
    while (at < st->nfms && st->fms[at]->path < path)
        at++;
    memmove(st->fms + at + 1, st->fms + at, (st->nfms - at) * sizeof *st->fms);
    st->fms[at] = fm;
    st->nfms++;
    return fm;
}

static void state_add_id(pstate *st, uint64_t id)
{
    for (uint32_t i = 0; i < st->nids; i++) {
        if (st->ids[i].id == id) {
            st->ids[i].count++;
            return;
        }
    }
    if (st->nids == st->capids) {
        st->capids = st->capids ? st->capids * 2 : 2;
        st->ids = xrealloc(st->ids, st->capids * sizeof *st->ids);
    }
    st->ids[st->nids++] = (idcount){id, 1};
}

static void state_del_id(pstate *st, uint64_t id)
{
    for (uint32_t i = 0; i < st->nids; i++) {
        if (st->ids[i].id == id) {
            if (--st->ids[i].count == 0)
                st->ids[i] = st->ids[--st->nids];
            return;
        }
    }
}

/* ------------------------------------------------------------------ edges */

static void mrefs_add(mrefs *r, pedge *e, const pmatcher *m)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 4;
        r->v = xrealloc(r->v, r->cap * sizeof *r->v);
    }
    r->v[r->n++] = (mref){e, m};
}

static void mrefs_del(mrefs *r, const pmatcher *m)
{
    for (uint32_t i = 0; i < r->n; i++) {
        if (r->v[i].m == m) {
            r->v[i] = r->v[--r->n];
            return;
        }
    }
}

static pk128 k64(int64_t v)
{
    return (pk128){0, (uint64_t)v};
}

static pk128 kip(const pip *ip)
{
    pk128 k;
    pip_key(ip, &k.hi, &k.lo);
    return k;
}

/* Adds (add=true) or removes edge e's matcher m to/from the machine's indexes. */
static void index_matcher(pfm *fm, pedge *e, const pmatcher *m, bool add)
{
    buf tmp = BUF_INIT;
    switch (m->type) {
    case PM_EXACT:
        if (m->kind == PV_STRING || m->kind == PV_NUMBER) {
            pmap *map = m->kind == PV_STRING ? &fm->exact_s : &fm->exact_n;
            if (add)
                pmap_add(map, m->s.s, m->s.n, e);
            else
                pmap_del(map, m->s.s, m->s.n, e);
        } else {
            pvec *v = &fm->lit[m->kind - PV_TRUE];
            if (add)
                pvec_add(v, e);
            else
                pvec_del(v, e);
        }
        break;
    case PM_EIC:
        if (add)
            pmap_add(&fm->eic, m->s.s, m->s.n, e);
        else
            pmap_del(&fm->eic, m->s.s, m->s.n, e);
        break;
    case PM_PREFIX:
    case PM_PREFIX_EIC: {
        ptrie *t = m->type == PM_PREFIX ? &fm->prefix : &fm->prefix_eic;
        if (add)
            ptrie_add(t, m->s.s, m->s.n, e);
        else
            ptrie_del(t, m->s.s, m->s.n, e);
        break;
    }
    case PM_SUFFIX:
    case PM_SUFFIX_EIC: {
        ptrie *t = m->type == PM_SUFFIX ? &fm->suffix : &fm->suffix_eic;
        buf_init(&tmp, m->s.n + 1);
        ptext_reverse(m->s.s, m->s.n, &tmp);
        if (add)
            ptrie_add(t, tmp.data, tmp.len, e);
        else
            ptrie_del(t, tmp.data, tmp.len, e);
        break;
    }
    case PM_NUMEQ:
    case PM_NUMERIC:
        if (add)
            pivset_add(&fm->num, k64(m->lo), k64(m->hi), e);
        else
            pivset_del(&fm->num, k64(m->lo), k64(m->hi), e);
        break;
    case PM_CIDR: {
        pivset *set = m->iplo.fam == 4 ? &fm->ip4 : &fm->ip6;
        if (add)
            pivset_add(set, kip(&m->iplo), kip(&m->iphi), e);
        else
            pivset_del(set, kip(&m->iplo), kip(&m->iphi), e);
        break;
    }
    case PM_WILDCARD:
        if (add)
            mrefs_add(&fm->wild, e, m);
        else
            mrefs_del(&fm->wild, m);
        break;
    case PM_EXISTS:
        if (add)
            pvec_add(&fm->exists, e);
        else
            pvec_del(&fm->exists, e);
        break;
    case PM_ABSENT:
        if (add) {
            if (!fm->absent.n)
                fm->state->nabsent++;
            pvec_add(&fm->absent, e);
        } else {
            pvec_del(&fm->absent, e);
            if (!fm->absent.n)
                fm->state->nabsent--;
        }
        break;
    default: /* the anything-but family */
        if (add)
            mrefs_add(&fm->ab, e, m);
        else
            mrefs_del(&fm->ab, m);
        break;
    }
    buf_free(&tmp);
}

static pedge *edge_get(pfm *fm, const pmlist *list)
{
    const pvec *v = pmap_get(&fm->edges, list->key, list->keylen, phash(list->key, list->keylen));
    if (v)
        return v->v[0];
    pedge *e = xcalloc(1, sizeof *e);
    e->fm = fm;
    e->next = state_new();
    e->list = pmlist_clone(list);
    for (size_t i = 0; i < e->list->n; i++)
        index_matcher(fm, e, &e->list->m[i], true);
    pmap_add(&fm->edges, list->key, list->keylen, e);
    fm->nedges++;
    return e;
}

static void fm_free(pfm *fm)
{
    pmap_free(&fm->edges);
    pmap_free(&fm->exact_s);
    pmap_free(&fm->exact_n);
    for (int i = 0; i < 3; i++)
        pvec_free(&fm->lit[i]);
    pmap_free(&fm->eic);
    ptrie_free(&fm->prefix);
    ptrie_free(&fm->suffix);
    ptrie_free(&fm->prefix_eic);
    ptrie_free(&fm->suffix_eic);
    pivset_free(&fm->num);
    pivset_free(&fm->ip4);
    pivset_free(&fm->ip6);
    xfree(fm->wild.v);
    xfree(fm->ab.v);
    pvec_free(&fm->exists);
    pvec_free(&fm->absent);
    xfree(fm);
}

static void state_free(pstate *st)
{
    xfree(st->fms);
    xfree(st->ids);
    xfree(st);
}

/* Drops one reference to e; frees it (and its machine, if now empty) at zero. */
static void edge_unref(pattern_set *s, pedge *e)
{
    if (--e->refs)
        return;
    pfm *fm = e->fm;
    for (size_t i = 0; i < e->list->n; i++)
        index_matcher(fm, e, &e->list->m[i], false);
    pmap_del(&fm->edges, e->list->key, e->list->keylen, e);
    state_free(e->next);
    pmlist_free(e->list);
    xfree(e);
    if (--fm->nedges)
        return;
    pstate *st = fm->state;
    uint32_t at = 0;
    while (st->fms[at] != fm)
        at++;
    memmove(st->fms + at, st->fms + at + 1, (st->nfms - at - 1) * sizeof *st->fms);
    st->nfms--;
    path_unref(s, fm->path);
    fm_free(fm);
}

static void rec_free(pattern_set *s, prec *r)
{
    for (size_t i = 0; i < r->n; i++) {
        psub *sub = &r->subs[i];
        state_del_id(sub->terminal, r->id);
        for (size_t k = sub->n; k-- > 0;)
            edge_unref(s, sub->edges[k]);
        xfree(sub->edges);
    }
    xfree(r->subs);
    xfree(r);
}

/* ------------------------------------------------------------------ set lifecycle */

int pattern_set_create(pattern_set **out, pattern_dialect d)
{
    pattern_set *s = xcalloc(1, sizeof *s);
    s->dialect = d;
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    /* Writers must get in under steady match traffic. */
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    int rc = pthread_rwlock_init(&s->lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    if (rc != 0) {
        xfree(s);
        return -1;
    }
    s->root = state_new();
    *out = s;
    return 0;
}

static prec *rec_get(const pattern_set *s, uint64_t id)
{
    const pvec *v = pmap_get(&s->recs, (const char *)&id, sizeof id, phash(&id, sizeof id));
    return v ? v->v[0] : NULL;
}

static void tree_free(pstate *st)
{
    for (uint32_t i = 0; i < st->nfms; i++) {
        pfm *fm = st->fms[i];
        for (size_t k = 0; k < fm->edges.cap; k++) {
            if (!fm->edges.e[k].key)
                continue;
            pedge *e = fm->edges.e[k].v.v[0];
            tree_free(e->next);
            pmlist_free(e->list);
            xfree(e);
        }
        fm_free(fm);
    }
    state_free(st);
}

void pattern_set_destroy(pattern_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->recs.cap; i++) {
        if (!s->recs.e[i].key)
            continue;
        prec *r = s->recs.e[i].v.v[0];
        for (size_t k = 0; k < r->n; k++)
            xfree(r->subs[k].edges);
        xfree(r->subs);
        xfree(r);
    }
    pmap_free(&s->recs);
    tree_free(s->root);
    for (uint32_t i = 0; i < s->npaths; i++)
        xfree(s->paths[i].s);
    xfree(s->paths);
    xfree(s->freeids);
    xfree(s->table);
    pthread_rwlock_destroy(&s->lock);
    xfree(s);
}

int pattern_set_add(pattern_set *s, uint64_t id, const char *json, size_t n, char *err,
                    size_t errlen)
{
    pcompiled c;
    int rc = pattern_compile(s->dialect, json, n, &c, err, errlen);
    if (rc != 0)
        return rc;
    prec *r = xcalloc(1, sizeof *r);
    r->id = id;
    r->n = c.nr;
    r->subs = xcalloc(c.nr ? c.nr : 1, sizeof *r->subs);
    pthread_rwlock_wrlock(&s->lock);
    for (size_t i = 0; i < c.nr; i++) {
        const psubrule *sr = &c.r[i];
        psub *sub = &r->subs[i];
        sub->edges = xcalloc(sr->n ? sr->n : 1, sizeof *sub->edges);
        pstate *st = s->root;
        for (size_t k = 0; k < sr->n; k++) {
            pfm *fm = state_fm_add(s, st, sr->f[k].path, sr->f[k].pathlen);
            pedge *e = edge_get(fm, sr->f[k].list);
            e->refs++;
            sub->edges[sub->n++] = e;
            st = e->next;
        }
        sub->terminal = st;
        state_add_id(st, id);
    }
    prec *old = rec_get(s, id);
    if (old) {
        pmap_del(&s->recs, (const char *)&id, sizeof id, old);
        rec_free(s, old);
    } else {
        s->count++;
    }
    pmap_add(&s->recs, (const char *)&id, sizeof id, r);
    pthread_rwlock_unlock(&s->lock);
    pcompiled_free(&c);
    return 0;
}

int pattern_set_remove(pattern_set *s, uint64_t id)
{
    pthread_rwlock_wrlock(&s->lock);
    prec *r = rec_get(s, id);
    if (r) {
        pmap_del(&s->recs, (const char *)&id, sizeof id, r);
        rec_free(s, r);
        s->count--;
    }
    pthread_rwlock_unlock(&s->lock);
    return r ? 0 : -1;
}

size_t pattern_set_count(const pattern_set *s)
{
    pthread_rwlock_t *lock = (pthread_rwlock_t *)&s->lock;
    pthread_rwlock_rdlock(lock);
    size_t n = s->count;
    pthread_rwlock_unlock(lock);
    return n;
}

/* ------------------------------------------------------------------ match scratch */

typedef struct achunk {
    struct achunk *prev;
    size_t cap, used;
} achunk;

typedef struct arena {
    achunk *cur;
} arena;

typedef struct amark {
    achunk *c;
    size_t used;
} amark;

static void *aalloc(arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (a->cur->used + n > a->cur->cap) {
        size_t cap = a->cur->cap * 2 > n ? a->cur->cap * 2 : n;
        achunk *c = xmalloc(sizeof *c + 16 + cap);
        c->prev = a->cur;
        c->cap = cap;
        c->used = 0;
        a->cur = c;
    }
    char *base = (char *)(a->cur + 1);
    base += (16 - ((uintptr_t)base & 15)) & 15;
    void *p = base + a->cur->used;
    a->cur->used += n;
    return p;
}

static amark amark_get(const arena *a)
{
    return (amark){a->cur, a->cur->used};
}

static void amark_release(arena *a, amark m)
{
    while (a->cur != m.c) {
        achunk *p = a->cur->prev;
        xfree(a->cur);
        a->cur = p;
    }
    a->cur->used = m.used;
}

typedef struct rel {
    uint32_t field, path;
} rel;

typedef struct group {
    uint32_t path, start, end;
} group;

typedef struct hits {
    pedge **v;
    size_t n, cap;
    arena *a;
} hits;

typedef struct mctx {
    const pattern_set *s;
    const pattern_event *ev;
    rel *rel;
    group *g;
    size_t ng;
    arena a;
    uint64_t *ids;
    size_t nids, capids;
    buf fold;
} mctx;

static void hit(void *edge, void *arg)
{
    hits *h = arg;
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 16;
        pedge **v = aalloc(h->a, cap * sizeof *v);
        if (h->n)
            memcpy(v, h->v, h->n * sizeof *v);
        h->v = v;
        h->cap = cap;
    }
    h->v[h->n++] = edge;
}

static void hit_all(const pvec *v, hits *h)
{
    for (uint32_t i = 0; i < v->n; i++)
        hit(v->v[i], h);
}

static int cmp_ptr(const void *x, const void *y)
{
    uintptr_t a = (uintptr_t) * (void *const *)x, b = (uintptr_t) * (void *const *)y;
    return (a > b) - (a < b);
}

static void hits_unique(hits *h)
{
    if (h->n < 2)
        return;
    if (h->n == 2) {
        if (h->v[0] == h->v[1])
            h->n = 1;
        return;
    }
    if (h->n > 16) {
        qsort(h->v, h->n, sizeof *h->v, cmp_ptr);
    } else {
        for (size_t i = 1; i < h->n; i++) {
            pedge *x = h->v[i];
            size_t k = i;
            for (; k > 0 && (uintptr_t)h->v[k - 1] > (uintptr_t)x; k--)
                h->v[k] = h->v[k - 1];
            h->v[k] = x;
        }
    }
    size_t k = 1;
    for (size_t i = 1; i < h->n; i++)
        if (h->v[i] != h->v[k - 1])
            h->v[k++] = h->v[i];
    h->n = k;
}

/* ------------------------------------------------------------------ value matching */

static const char *fval(const mctx *c, const pev_field *f)
{
    return c->ev->text.data + f->val_off;
}

static bool num_ok(const mctx *c, const pev_field *f)
{
    if (!f->num_ok)
        return false;
    return c->s->dialect != PATTERN_SNS || (f->num >= -PNUM_LIMIT_SNS && f->num <= PNUM_LIMIT_SNS);
}

static const char *folded(mctx *c, const pev_field *f, bool *have)
{
    if (!*have) {
        buf_reset(&c->fold);
        ptext_fold(fval(c, f), f->val_len, &c->fold);
        *have = true;
    }
    return c->fold.data;
}

static bool has_affix(const pstr *set, size_t n, const char *v, size_t vn, bool prefix)
{
    for (size_t i = 0; i < n; i++) {
        if (set[i].n > vn)
            continue;
        const char *at = prefix ? v : v + vn - set[i].n;
        if (memcmp(at, set[i].s, set[i].n) == 0)
            return true;
    }
    return false;
}

static bool in_set(const pstr *set, size_t n, const char *v, size_t vn)
{
    for (size_t i = 0; i < n; i++)
        if (set[i].n == vn && memcmp(set[i].s, v, vn) == 0)
            return true;
    return false;
}

/* Whether anything-but matcher m excludes the value of f. */
static bool excluded(mctx *c, const pmatcher *m, const pev_field *f, bool *have_fold)
{
    const char *v = fval(c, f);
    size_t n = f->val_len;
    if (m->type == PM_AB_NUMERIC) {
        if (f->kind != PV_NUMBER || !num_ok(c, f))
            return false;
        for (size_t i = 0; i < m->nnums; i++)
            if (m->nums[i] == f->cmp)
                return true;
        return false;
    }
    if (f->kind != PV_STRING)
        return false;
    switch (m->type) {
    case PM_AB_EXACT:
        return in_set(m->set, m->nset, v, n);
    case PM_AB_PREFIX:
        return has_affix(m->set, m->nset, v, n, true);
    case PM_AB_SUFFIX:
        return has_affix(m->set, m->nset, v, n, false);
    case PM_AB_EIC: {
        const char *fv = folded(c, f, have_fold);
        return in_set(m->set, m->nset, fv, c->fold.len);
    }
    case PM_AB_WILDCARD:
        for (size_t i = 0; i < m->nwilds; i++)
            if (pwild_match(&m->wilds[i], v, n))
                return true;
        return false;
    default:
        return false;
    }
}

static void fm_match(mctx *c, const pfm *fm, const pev_field *f, hits *h)
{
    const char *v = fval(c, f);
    size_t n = f->val_len;
    bool have_fold = false;
    if (f->kind == PV_STRING) {
        const pvec *ev;
        if (fm->exact_s.n && (ev = pmap_get(&fm->exact_s, v, n, phash(v, n))))
            hit_all(ev, h);
        if (fm->eic.n) {
            const char *fv = folded(c, f, &have_fold);
            if ((ev = pmap_get(&fm->eic, fv, c->fold.len, phash(fv, c->fold.len))))
                hit_all(ev, h);
        }
        if (fm->prefix.root)
            ptrie_walk(&fm->prefix, v, n, false, hit, h);
        if (fm->suffix.root)
            ptrie_walk(&fm->suffix, v, n, true, hit, h);
        if (fm->prefix_eic.root || fm->suffix_eic.root) {
            const char *fv = folded(c, f, &have_fold);
            if (fm->prefix_eic.root)
                ptrie_walk(&fm->prefix_eic, fv, c->fold.len, false, hit, h);
            if (fm->suffix_eic.root)
                ptrie_walk(&fm->suffix_eic, fv, c->fold.len, true, hit, h);
        }
        if (fm->ip4.n || fm->ip6.n) {
            pip ip;
            if (pip_parse(v, n, &ip) == 0)
                pivset_stab(ip.fam == 4 ? &fm->ip4 : &fm->ip6, kip(&ip), hit, h);
        }
        for (uint32_t i = 0; i < fm->wild.n; i++)
            if (pwild_match(&fm->wild.v[i].m->wild, v, n))
                hit(fm->wild.v[i].e, h);
    } else if (f->kind == PV_NUMBER) {
        const pvec *ev;
        if (fm->exact_n.n && (ev = pmap_get(&fm->exact_n, v, n, phash(v, n))))
            hit_all(ev, h);
        if (fm->num.n && num_ok(c, f))
            pivset_stab(&fm->num, k64(f->cmp), hit, h);
    } else {
        hit_all(&fm->lit[f->kind - PV_TRUE], h);
    }
    hit_all(&fm->exists, h);
    for (uint32_t i = 0; i < fm->ab.n; i++)
        if (!excluded(c, fm->ab.v[i].m, f, &have_fold))
            hit(fm->ab.v[i].e, h);
}

/* ------------------------------------------------------------------ the walk */

/* Merges sorted trail t into membership m (both increasing by array id). NULL if some
 * array appears in both with different elements. */
static uint64_t *merge(arena *a, const uint64_t *m, size_t nm, const uint64_t *t, size_t nt,
                       size_t *nout)
{
    uint64_t *o = aalloc(a, (nm + nt) * sizeof *o);
    size_t i = 0, k = 0, n = 0;
    while (i < nm || k < nt) {
        if (k == nt || (i < nm && (m[i] >> 32) < (t[k] >> 32))) {
            o[n++] = m[i++];
        } else if (i == nm || (t[k] >> 32) < (m[i] >> 32)) {
            o[n++] = t[k++];
        } else {
            if (m[i] != t[k])
                return NULL;
            o[n++] = m[i++];
            k++;
        }
    }
    *nout = n;
    return o;
}

static bool consistent(const uint64_t *m, size_t nm, const uint64_t *t, size_t nt)
{
    size_t i = 0, k = 0;
    while (i < nm && k < nt) {
        uint64_t a = m[i] >> 32, b = t[k] >> 32;
        if (a < b)
            i++;
        else if (b < a)
            k++;
        else if (m[i] != t[k])
            return false;
        else
            i++, k++;
    }
    return true;
}

static void report(mctx *c, const pstate *st)
{
    for (uint32_t i = 0; i < st->nids; i++) {
        if (c->nids == c->capids) {
            c->capids = c->capids ? c->capids * 2 : 16;
            uint64_t *v = aalloc(&c->a, c->capids * sizeof *v);
            if (c->nids)
                memcpy(v, c->ids, c->nids * sizeof *v);
            c->ids = v;
        }
        c->ids[c->nids++] = st->ids[i].id;
    }
}

static void visit(mctx *c, const pstate *st, size_t gi, const uint64_t *mem, size_t nmem);

static void follow(mctx *c, hits *h, size_t gi, const uint64_t *mem, size_t nmem)
{
    hits_unique(h);
    for (size_t k = 0; k < h->n; k++)
        visit(c, h->v[k]->next, gi, mem, nmem);
}

static void visit(mctx *c, const pstate *st, size_t gi, const uint64_t *mem, size_t nmem)
{
    if (st->nids)
        report(c, st);
    const pattern_event *ev = c->ev;
    if (st->nabsent) {
        for (uint32_t i = 0; i < st->nfms; i++) {
            const pfm *fm = st->fms[i];
            if (!fm->absent.n)
                continue;
            bool absent = true;
            for (size_t g = 0; g < c->ng && absent; g++) {
                if (c->g[g].path != fm->path)
                    continue;
                for (uint32_t r = c->g[g].start; r < c->g[g].end && absent; r++) {
                    const pev_field *f = &ev->f[c->rel[r].field];
                    absent = !consistent(mem, nmem, ev->trail + f->trail_off, f->trail_len);
                }
            }
            if (absent)
                for (uint32_t k = 0; k < fm->absent.n; k++)
                    visit(c, ((pedge *)fm->absent.v[k])->next, gi, mem, nmem);
        }
    }
    if (!st->nfms)
        return;
    for (size_t g = gi; g < c->ng; g++) {
        const pfm *fm = state_fm(st, c->g[g].path);
        if (!fm)
            continue;
        amark mark = amark_get(&c->a);
        /* Fields outside arrays of objects leave the walk's membership as it is: their
         * edges are followed once for the whole group. */
        hits h = {.a = &c->a};
        for (uint32_t r = c->g[g].start; r < c->g[g].end; r++) {
            const pev_field *f = &ev->f[c->rel[r].field];
            if (!f->trail_len)
                fm_match(c, fm, f, &h);
        }
        follow(c, &h, g + 1, mem, nmem);
        for (uint32_t r = c->g[g].start; r < c->g[g].end; r++) {
            const pev_field *f = &ev->f[c->rel[r].field];
            if (!f->trail_len)
                continue;
            size_t nm;
            uint64_t *m = merge(&c->a, mem, nmem, ev->trail + f->trail_off, f->trail_len, &nm);
            if (!m)
                continue;
            hits h2 = {.a = &c->a};
            fm_match(c, fm, f, &h2);
            follow(c, &h2, g + 1, m, nm);
        }
        amark_release(&c->a, mark);
    }
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

size_t pattern_set_match(const pattern_set *s, const pattern_event *ev, pattern_match_fn fn,
                         void *arg)
{
    _Alignas(16) char stack[8192];
    achunk *first = (achunk *)stack;
    first->prev = NULL;
    first->cap = sizeof stack - sizeof *first - 16;
    first->used = 0;
    mctx c = {.s = s, .ev = ev, .a = {first}};
    pthread_rwlock_t *lock = (pthread_rwlock_t *)&s->lock;
    pthread_rwlock_rdlock(lock);

    /* Keep the fields on paths some pattern names, sorted by path bytes (stable). */
    c.rel = aalloc(&c.a, (ev->n ? ev->n : 1) * sizeof *c.rel);
    size_t nrel = 0;
    for (size_t i = 0; i < ev->n; i++) {
        const pev_field *f = &ev->f[i];
        if (!bloom_has(s, f->hash))
            continue;
        int id = path_find(s, ev->text.data + f->path_off, f->path_len, f->hash);
        if (id < 0)
            continue;
        size_t at = nrel;
        while (at > 0) {
            const pev_field *p = &ev->f[c.rel[at - 1].field];
            size_t n = p->path_len < f->path_len ? p->path_len : f->path_len;
            int r = memcmp(ev->text.data + p->path_off, ev->text.data + f->path_off, n);
            if (r < 0 || (r == 0 && p->path_len <= f->path_len))
                break;
            c.rel[at] = c.rel[at - 1];
            at--;
        }
        c.rel[at] = (rel){(uint32_t)i, (uint32_t)id};
        nrel++;
    }
    c.g = aalloc(&c.a, (nrel ? nrel : 1) * sizeof *c.g);
    for (size_t i = 0; i < nrel; i++) {
        if (c.ng && c.g[c.ng - 1].path == c.rel[i].path)
            c.g[c.ng - 1].end = (uint32_t)i + 1;
        else
            c.g[c.ng++] = (group){c.rel[i].path, (uint32_t)i, (uint32_t)i + 1};
    }
    visit(&c, s->root, 0, NULL, 0);
    pthread_rwlock_unlock(lock);

    size_t k = 0;
    if (c.nids) {
        if (c.nids > 16) {
            qsort(c.ids, c.nids, sizeof *c.ids, cmp_u64);
        } else {
            for (size_t i = 1; i < c.nids; i++) {
                uint64_t x = c.ids[i];
                size_t k = i;
                for (; k > 0 && c.ids[k - 1] > x; k--)
                    c.ids[k] = c.ids[k - 1];
                c.ids[k] = x;
            }
        }
        for (size_t i = 0; i < c.nids; i++)
            if (i == 0 || c.ids[i] != c.ids[i - 1])
                c.ids[k++] = c.ids[i];
        for (size_t i = 0; i < k && fn; i++)
            fn(c.ids[i], arg);
    }
    buf_free(&c.fold);
    amark_release(&c.a, (amark){first, 0});
    return k;
}

/* ------------------------------------------------------------------ one-off test */

int pattern_test(pattern_dialect d, const char *pattern, size_t pn, const char *event, size_t en,
                 char *err, size_t errlen)
{
    pattern_set *s;
    if (pattern_set_create(&s, d) < 0)
        return -1;
    int rc = pattern_set_add(s, 1, pattern, pn, err, errlen);
    if (rc != 0)
        goto done;
    pattern_event *ev = pattern_event_new();
    if (pattern_event_from_json(ev, event, en) < 0)
        rc = -3;
    else
        rc = pattern_set_match(s, ev, NULL, NULL) > 0;
    pattern_event_free(ev);
done:
    pattern_set_destroy(s);
    return rc;
}
