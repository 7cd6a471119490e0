/* Types shared by the files of the pattern engine (private to src/pattern/).
 *
 * pattern_json.c      a pull tokenizer for pattern JSON (duplicate keys allowed, as AWS)
 * pattern_compile.c   pattern JSON -> validated sub-rules (JsonRuleCompiler's checks)
 * pattern_flatten.c   event JSON -> leaf path/value fields with array membership
 * pattern_machine.c   the shared automaton: add, remove, match
 * pattern_index.c     the value indexes the automaton uses (hash, trie, interval set)
 * pattern_text.c      hashing, case folding, numbers
 * pattern_cidr.c      IP addresses and CIDR blocks
 * pattern_wildcard.c  wildcard parsing, matching and complexity */
#ifndef SLUICE_PATTERN_INTERNAL_H
#define SLUICE_PATTERN_INTERNAL_H

#include "common/buf.h"
#include "pattern/pattern.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ------------------------------------------------------------------ text and numbers */

/* Kinds of a leaf value, in an event field and in an exact matcher. */
enum { PV_STRING, PV_NUMBER, PV_TRUE, PV_FALSE, PV_NULL };

static inline uint64_t phash(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * 0xff51afd7ed558ccdull);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
        s += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, s, n);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 29;
    return h;
}

/* Appends the simple lower-case folding of UTF-8 text s (invalid bytes copied as is). */
void ptext_fold(const char *s, size_t n, buf *out);
/* Appends s with its bytes in reverse order. */
void ptext_reverse(const char *s, size_t n, buf *out);

/* Numbers are compared as event-ruler's ComparableNumber does: (long)(1e6 * (5e9 + x)),
 * so to six decimal places, for |x| <= limit (5e9 for EventBridge, 1e9 for SNS). */
#define PNUM_LIMIT_EVENTBRIDGE 5e9
#define PNUM_LIMIT_SNS         1e9
/* Parses JSON number text (already validated) into *d. */
double pnum_parse(const char *s, size_t n);
/* 0 and the comparable form of d, or -1 if |d| is beyond limit. */
int pnum_comparable(double d, double limit, int64_t *out);

/* ------------------------------------------------------------------ IP addresses */

typedef struct pip {
    uint8_t fam; /* 4 or 6 */
    uint8_t b[16];
} pip;

/* Parses an IP literal as event-ruler does (dotted quad or hex-and-colons IPv6; an
 * IPv4-mapped IPv6 address becomes IPv4). 0, -1 if it does not look like an address, -2
 * if it looks like one but is not valid. */
int pip_parse(const char *s, size_t n, pip *out);
/* The 128-bit key of an address for interval matching (IPv4 in the low 32 bits). */
void pip_key(const pip *ip, uint64_t *hi, uint64_t *lo);
/* Parses "addr/bits" into the inclusive range [lo, hi] event-ruler uses (lo is the address
 * as written, hi has the host bits set). 0, or -1 with event-ruler's message in msg. */
int pcidr_parse(const char *s, size_t n, pip *lo, pip *hi, char *msg, size_t msglen);

/* ------------------------------------------------------------------ wildcards */

/* A wildcard pattern: literal bytes with '*' for any run of bytes; a star is stored as
 * 0x100 in the 16-bit token array. */
typedef struct pwild {
    uint16_t *tok;
    size_t n;
} pwild;

#define PWILD_STAR 0x100
/* The most simultaneously live wildcard states AWS accepts for one field of one rule. */
#define PWILD_MAX_COMPLEXITY 10

/* Parses wildcard text s (the unescaped JSON string). 0, or -1 with event-ruler's message
 * (position counted as in the quoted string) in msg. */
int pwild_parse(const char *s, size_t n, pwild *out, char *msg, size_t msglen);
void pwild_free(pwild *w);
bool pwild_match(const pwild *w, const char *v, size_t n);
/* The complexity of a set of wildcard patterns matched on one field (see the note in
 * pattern_wildcard.c); stops counting past cap. */
int pwild_complexity(const pwild *const *ws, size_t n, int cap);

/* ------------------------------------------------------------------ compiled patterns */

typedef enum {
    PM_EXACT,       /* kind + s (strings unescaped, numbers as written) */
    PM_NUMEQ,       /* a number literal in range: lo == hi comparable */
    PM_PREFIX,      /* s */
    PM_SUFFIX,      /* s */
    PM_EIC,         /* s folded */
    PM_PREFIX_EIC,  /* s folded */
    PM_SUFFIX_EIC,  /* s folded */
    PM_WILDCARD,    /* wild */
    PM_NUMERIC,     /* [lo, hi] comparables, inclusive */
    PM_CIDR,        /* [iplo, iphi] */
    PM_EXISTS,      /* any value */
    PM_ABSENT,      /* exists: false */
    PM_AB_EXACT,    /* anything-but strings: set */
    PM_AB_NUMERIC,  /* anything-but numbers: nums */
    PM_AB_PREFIX,   /* set */
    PM_AB_SUFFIX,   /* set */
    PM_AB_EIC,      /* set, folded */
    PM_AB_WILDCARD, /* wilds */
} pm_type;

typedef struct pstr {
    char *s;
    size_t n;
} pstr;

typedef struct pmatcher {
    pm_type type;
    uint8_t kind;
    pstr s;
    int64_t lo, hi;
    pip iplo, iphi;
    pwild wild;
    pstr *set;
    size_t nset;
    int64_t *nums;
    size_t nnums;
    pwild *wilds;
    size_t nwilds;
} pmatcher;

/* The value list of one field of a rule: a disjunction of matchers. key is a canonical
 * text of the list, so that rules with the same field and list share automaton states. */
typedef struct pmlist {
    pmatcher *m;
    size_t n, cap;
    char *key;
    size_t keylen;
} pmlist;

typedef struct pfield {
    const char *path; /* borrowed from the pcompiled */
    size_t pathlen;
    const pmlist *list;
} pfield;

/* One conjunction of fields, sorted by path bytes (an $or pattern has several). */
typedef struct psubrule {
    pfield *f;
    size_t n;
} psubrule;

typedef struct pcompiled {
    psubrule *r;
    size_t nr;
    pstr *paths;
    size_t npaths;
    pmlist **lists;
    size_t nlists;
} pcompiled;

int pattern_compile(pattern_dialect d, const char *json, size_t n, pcompiled *out, char *err,
                    size_t errlen);
void pcompiled_free(pcompiled *c);
void pmlist_free(pmlist *l);
pmlist *pmlist_clone(const pmlist *l);

/* ------------------------------------------------------------------ pattern JSON tokens */

typedef enum {
    PT_ERROR,
    PT_EOF,
    PT_START_OBJECT,
    PT_END_OBJECT,
    PT_START_ARRAY,
    PT_END_ARRAY,
    PT_FIELD_NAME,
    PT_STRING,
    PT_INT,
    PT_FLOAT,
    PT_TRUE,
    PT_FALSE,
    PT_NULL,
} ptok;

typedef struct pjson {
    const unsigned char *s;
    size_t n, pos;
    int depth;
    char stack[PATTERN_MAX_DEPTH + 2]; /* 'o' or 'a' per open container */
    int need;                          /* what the grammar expects next (pattern_json.c) */
    ptok tok;
    buf text; /* the current token: unescaped string or name, number or literal text */
    char err[192];
} pjson;

void pjson_init(pjson *j, const char *s, size_t n);
void pjson_free(pjson *j);
ptok pjson_next(pjson *j);
/* The text of the current token as Jackson's getText() gives it. */
const char *pjson_text(const pjson *j);

/* ------------------------------------------------------------------ events */

typedef struct pev_field {
    uint32_t path_off, path_len;
    uint32_t val_off, val_len;
    uint64_t hash; /* of the path */
    uint32_t trail_off, trail_len;
    uint8_t kind;
    uint8_t num_ok; /* NUMBER within PNUM_LIMIT_EVENTBRIDGE */
    double num;
    int64_t cmp;
} pev_field;

struct pattern_event {
    buf text; /* paths and values */
    pev_field *f;
    size_t n, cap;
    /* Array membership: (array id << 32 | element index), increasing array id along each
     * field's trail; only elements that are objects or arrays are recorded, since only
     * they can give two different fields of one rule. */
    uint64_t *trail;
    size_t ntrail, trailcap;
    uint32_t arrays;
    buf path; /* scratch for building paths, kept between events */
};

/* ------------------------------------------------------------------ value indexes */

/* A list of automaton edges (pattern_machine.c's pedge, opaque here). */
typedef struct pvec {
    void **v;
    uint32_t n, cap;
} pvec;

void pvec_add(pvec *v, void *e);
void pvec_del(pvec *v, void *e); /* removes one occurrence */
void pvec_free(pvec *v);

typedef void (*pvisit_fn)(void *edge, void *arg);

/* Bytes -> edges, open addressing. */
typedef struct pmap_ent {
    char *key;
    uint32_t len;
    uint64_t hash;
    pvec v;
} pmap_ent;

typedef struct pmap {
    pmap_ent *e;
    size_t cap, n;
} pmap;

const pvec *pmap_get(const pmap *m, const char *k, size_t n, uint64_t h);
void pmap_add(pmap *m, const char *k, size_t n, void *edge);
void pmap_del(pmap *m, const char *k, size_t n, void *edge);
void pmap_free(pmap *m);

/* A byte trie whose nodes carry edges: walking a value visits the edges of every node on
 * its path, which is prefix matching (suffix matching walks reversed keys and values). */
typedef struct ptnode {
    uint8_t *keys;
    struct ptnode **kids;
    uint16_t nkids, capkids;
    pvec v;
} ptnode;

typedef struct ptrie {
    ptnode *root;
} ptrie;

void ptrie_add(ptrie *t, const char *k, size_t n, void *edge);
void ptrie_del(ptrie *t, const char *k, size_t n, void *edge);
void ptrie_walk(const ptrie *t, const char *v, size_t n, bool reverse, pvisit_fn fn, void *arg);
void ptrie_free(ptrie *t);

/* Closed intervals over 128-bit keys -> edges, answering "which intervals hold x" in
 * O(log n + answers): intervals sorted by lower bound, with a max-upper-bound tree. */
typedef struct pk128 {
    uint64_t hi, lo;
} pk128;

typedef struct piv {
    pk128 lo, hi;
    void *edge;
} piv;

typedef struct pivset {
    piv *a;
    size_t n, cap;
    pk128 *mx;
    size_t size; /* leaves in mx */
} pivset;

void pivset_add(pivset *s, pk128 lo, pk128 hi, void *edge);
void pivset_del(pivset *s, pk128 lo, pk128 hi, void *edge);
void pivset_stab(const pivset *s, pk128 x, pvisit_fn fn, void *arg);
void pivset_free(pivset *s);

#endif
