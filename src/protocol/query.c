/* AWS Query input -> the operation's input in JSON shape.
 *
 * A Query request is a flat list of pairs whose names are paths through the input shape:
 *   QueueName=q                                        scalar member
 *   AttributeName.1=All                                flattened list (the list member's
 *                                                      locationName replaces the member's)
 *   Names.member.2=x                                   non-flattened list
 *   Attribute.1.Name=DelaySeconds&Attribute.1.Value=5  flattened map (key/value names from
 *                                                      the model: Name/Value, Key/Value)
 *   Map.entry.1.key=k&Map.entry.1.value=v              non-flattened map
 *   SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue=x   nesting
 *
 * One pass over the pairs walks each name down the model and records the pair at the node it
 * names, building a small tree of nodes (allocated from a per-call arena): structures hold a
 * node per member, lists and maps hold (index, node) entries in arrival order. Finding the
 * entry of index N is O(1) on the usual paths (the last entry, or an index above every index
 * seen, which is how every SDK sends them) and otherwise a linear scan for small containers or
 * a hash lookup keyed by (container, index) for large ones, so a batch of any size and order
 * costs O(pairs). A second pass turns the tree into JSON: list entries are sorted by index
 * (gaps allowed), map entries without both a key and a value are dropped, scalars are
 * converted to their JSON type (errors name the offending parameter). Only nodes under which
 * a value was recorded are emitted, so keys the model does not know leave no trace. The first
 * of duplicate pairs wins, as with form_get. */
#include "protocol/query.h"

#include "common/utf8.h"

#include "common/alloc.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Names deeper than this are ignored (bounds recursion on recursive models). */
#define MAX_DEPTH 64
/* Containers with more entries than this are indexed by the hash. */
#define SMALL 8

typedef struct qnode qnode;

typedef struct qentry {
    uint32_t index;
    const form_pair *key; /* maps: the key's pair */
    qnode *node;          /* the element (lists) or the value (maps) */
} qentry;

struct qnode {
    const model_shape *shape;
    int flattened;
    int used; /* a value was recorded at or below this node */
    /* scalars */
    const form_pair *pair;
    /* structures: one slot per member, allocated on first use */
    qnode **members;
    /* lists and maps */
    qentry *entries;
    size_t nentries, cap;
    uint32_t max_index;
    int unsorted;
};

typedef struct slot {
    const qnode *container; /* NULL: empty */
    uint32_t index;
    uint32_t pos;
} slot;

typedef struct chunk {
    struct chunk *next;
} chunk;

typedef struct ctx {
    char *cur, *lim;
    chunk *chunks;
    slot *table;
    size_t table_cap, table_used;
    char *err;
    size_t errlen;
    _Alignas(16) char first[2048];
} ctx;

/* ---- arena ------------------------------------------------------------------------- */

static void *alloc(ctx *c, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if ((size_t)(c->lim - c->cur) < n) {
        size_t size = n > 4096 ? n : 4096;
        chunk *k = xmalloc(16 + size);
        k->next = c->chunks;
        c->chunks = k;
        c->cur = (char *)k + 16;
        c->lim = c->cur + size;
    }
    void *p = c->cur;
    c->cur += n;
    memset(p, 0, n);
    return p;
}

static void ctx_free(ctx *c)
{
    while (c->chunks) {
        chunk *k = c->chunks;
        c->chunks = k->next;
        xfree(k);
    }
    xfree(c->table);
}

static void fail(ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(ctx *c, const char *fmt, ...)
{
    if (!c->err || c->errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, c->errlen, fmt, ap);
    va_end(ap);
}

static qnode *new_node(ctx *c, const model_shape *s, int flattened)
{
    qnode *n = alloc(c, sizeof *n);
    n->shape = s;
    n->flattened = flattened;
    return n;
}

/* ---- entries of lists and maps ------------------------------------------------------ */

static size_t slot_of(const qnode *container, uint32_t index, size_t mask)
{
    uint64_t h = (uint64_t)(uintptr_t)container * 0x9E3779B97F4A7C15ull;
    h ^= (uint64_t)index * 0xC2B2AE3D27D4EB4Full;
    h ^= h >> 29;
    return (size_t)h & mask;
}

static void table_put(ctx *c, const qnode *container, uint32_t index, uint32_t pos)
{
    if ((c->table_used + 1) * 2 > c->table_cap) {
        size_t cap = c->table_cap ? c->table_cap * 2 : 64;
        slot *t = xcalloc(cap, sizeof *t);
        for (size_t i = 0; i < c->table_cap; i++) {
            slot *o = &c->table[i];
            if (!o->container)
                continue;
            size_t j = slot_of(o->container, o->index, cap - 1);
            while (t[j].container)
                j = (j + 1) & (cap - 1);
            t[j] = *o;
        }
        xfree(c->table);
        c->table = t;
        c->table_cap = cap;
    }
    size_t j = slot_of(container, index, c->table_cap - 1);
    while (c->table[j].container)
        j = (j + 1) & (c->table_cap - 1);
    c->table[j] = (slot){container, index, pos};
    c->table_used++;
}

static qentry *table_get(ctx *c, const qnode *container, uint32_t index)
{
    size_t mask = c->table_cap - 1;
    for (size_t j = slot_of(container, index, mask); c->table[j].container; j = (j + 1) & mask) {
        slot *s = &c->table[j];
        if (s->container == container && s->index == index)
            return &((qnode *)container)->entries[s->pos];
    }
    return NULL;
}

/* The entry of `index` in list/map node n, created (zeroed) if absent. */
static qentry *entry_for(ctx *c, qnode *n, uint32_t index)
{
    size_t cnt = n->nentries;
    if (cnt && n->entries[cnt - 1].index == index)
        return &n->entries[cnt - 1];
    if (cnt && index <= n->max_index) {
        if (cnt <= SMALL) {
            for (size_t i = 0; i < cnt; i++)
                if (n->entries[i].index == index)
                    return &n->entries[i];
        } else {
            qentry *e = table_get(c, n, index);
            if (e)
                return e;
        }
        n->unsorted = 1;
    }
    if (cnt == n->cap) {
        size_t cap = n->cap ? n->cap * 2 : 4;
        qentry *e = alloc(c, cap * sizeof *e);
        if (cnt)
            memcpy(e, n->entries, cnt * sizeof *e);
        n->entries = e;
        n->cap = cap;
    }
    qentry *e = &n->entries[cnt];
    e->index = index;
    n->nentries = cnt + 1;
    if (index > n->max_index)
        n->max_index = index;
    if (cnt + 1 == SMALL + 1) {
        for (size_t i = 0; i <= cnt; i++)
            table_put(c, n, n->entries[i].index, (uint32_t)i);
    } else if (cnt + 1 > SMALL + 1) {
        table_put(c, n, index, (uint32_t)cnt);
    }
    return e;
}

/* ---- pass 1: walk each name down the model ------------------------------------------ */

static int comp_is(const char *s, size_t len, const char *name)
{
    return strlen(name) == len && memcmp(name, s, len) == 0;
}

/* A flattened list's elements are named by the list member's locationName, if it has one. */
static const char *wire_name(const model_member *m)
{
    if (m->flattened && m->shape->type == SHAPE_LIST && m->shape->member_location_name &&
        strcmp(m->shape->member_location_name, "member") != 0)
        return m->shape->member_location_name;
    return m->location_name;
}

static long find_member(const model_shape *s, const char *comp, size_t len)
{
    for (size_t i = 0; i < s->nmembers; i++)
        if (comp_is(comp, len, wire_name(&s->members[i])))
            return (long)i;
    /* Also the member's own name for flattened lists (botocore sends `Entries=` for an
     * empty list), and lenient clients. */
    for (size_t i = 0; i < s->nmembers; i++)
        if (comp_is(comp, len, s->members[i].location_name))
            return (long)i;
    return -1;
}

/* Parses a list/map index: a positive decimal integer. */
static int parse_index(const char *s, size_t len, uint32_t *out)
{
    if (len == 0 || len > 10)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v == 0 || v > UINT32_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* Splits the component at s (s == NULL: none left) into [s, *comp_end) and the next one. */
static size_t next_comp(const char *s, const char *end, const char **next)
{
    const char *dot = memchr(s, '.', (size_t)(end - s));
    *next = dot ? dot + 1 : NULL;
    return (size_t)((dot ? dot : end) - s);
}

/* Records pair p, whose remaining name is s..end (s == NULL: nothing left), below n.
 * Returns 1 if it recorded something, 0 if the name means nothing here, -1 on error. */
static int walk(ctx *c, qnode *n, const char *s, const char *end, const form_pair *p, int depth)
{
    const model_shape *sh = n->shape;
    const char *next;
    size_t len;
    int r;
    if (depth > MAX_DEPTH)
        return 0;
    switch (sh->type) {
    case SHAPE_STRUCTURE: {
        if (!s)
            return 0;
        len = next_comp(s, end, &next);
        long i = find_member(sh, s, len);
        if (i < 0)
            return 0;
        if (!n->members)
            n->members = alloc(c, sh->nmembers * sizeof *n->members);
        const model_member *m = &sh->members[i];
        if (!n->members[i])
            n->members[i] = new_node(c, m->shape, m->flattened);
        r = walk(c, n->members[i], next, end, p, depth + 1);
        break;
    }
    case SHAPE_LIST: {
        if (!s) {
            /* `Name=` alone: an explicitly empty list. */
            r = p->value_len == 0;
            break;
        }
        if (!n->flattened) {
            len = next_comp(s, end, &next);
            if (!comp_is(s, len, sh->member_location_name) || !next)
                return 0;
            s = next;
        }
        len = next_comp(s, end, &next);
        uint32_t index;
        if (parse_index(s, len, &index) != 0) {
            fail(c, "The index in parameter %.*s is not a positive integer.", (int)p->name_len,
                 p->name);
            return -1;
        }
        qentry *e = entry_for(c, n, index);
        if (!e->node)
            e->node = new_node(c, sh->member, sh->member->flattened);
        r = walk(c, e->node, next, end, p, depth + 1);
        break;
    }
    case SHAPE_MAP: {
        if (!s)
            return 0;
        if (!n->flattened) {
            len = next_comp(s, end, &next);
            if (!comp_is(s, len, "entry") || !next)
                return 0;
            s = next;
        }
        len = next_comp(s, end, &next);
        uint32_t index;
        if (parse_index(s, len, &index) != 0) {
            fail(c, "The index in parameter %.*s is not a positive integer.", (int)p->name_len,
                 p->name);
            return -1;
        }
        if (!next)
            return 0;
        s = next;
        len = next_comp(s, end, &next);
        if (comp_is(s, len, sh->key_location_name)) {
            if (next)
                return 0;
            qentry *e = entry_for(c, n, index);
            if (!e->key)
                e->key = p;
            r = 1;
        } else if (comp_is(s, len, sh->value_location_name)) {
            qentry *e = entry_for(c, n, index);
            if (!e->node)
                e->node = new_node(c, sh->value, sh->value->flattened);
            r = walk(c, e->node, next, end, p, depth + 1);
        } else {
            return 0;
        }
        break;
    }
    default:
        if (s)
            return 0;
        if (!n->pair)
            n->pair = p;
        r = 1;
        break;
    }
    if (r > 0)
        n->used = 1;
    return r;
}

/* ---- pass 2: the tree -> JSON ------------------------------------------------------- */

static int cmp_entry(const void *a, const void *b)
{
    uint32_t x = ((const qentry *)a)->index, y = ((const qentry *)b)->index;
    return x < y ? -1 : x > y;
}

static void fail_value(ctx *c, const form_pair *p, const char *why)
{
    fail(c, "Value %.64s%s for parameter %.*s is invalid. Reason: %s", p->value,
         p->value_len > 64 ? "..." : "", (int)p->name_len, p->name, why);
}

static json_t *parse_integer(ctx *c, const form_pair *p)
{
    const char *s = p->value;
    size_t i = 0, n = p->value_len;
    int neg = 0;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    if (i == n || n - i > 19)
        goto bad;
    uint64_t v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            goto bad;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > (uint64_t)INT64_MAX + (uint64_t)neg)
        goto bad;
    return json_integer(neg ? (json_int_t)(0 - v) : (json_int_t)v);
bad:
    fail_value(c, p, "must be an integer.");
    return NULL;
}

static int parse_double(const form_pair *p, double *out)
{
    if (p->value_len == 0 || p->value_len != strlen(p->value))
        return -1;
    char c0 = p->value[0];
    if (!(c0 == '-' || c0 == '+' || c0 == '.' || (c0 >= '0' && c0 <= '9')))
        return -1;
    char *end;
    double d = strtod(p->value, &end);
    if (*end != '\0' || !isfinite(d))
        return -1;
    *out = d;
    return 0;
}

static json_t *number(double d)
{
    if (d == floor(d) && fabs(d) < 9007199254740992.0)
        return json_integer((json_int_t)d);
    return json_real(d);
}

/* ISO 8601 date-time (`2023-04-01T12:00:00Z`, fractional seconds, `+hh:mm` offsets) or epoch
 * seconds -> epoch seconds, the JSON protocols' timestamp. */
static int parse_timestamp(const form_pair *p, double *out)
{
    if (parse_double(p, out) == 0)
        return 0;
    const char *s = p->value;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int used = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &used) != 6 ||
        used != 19)
        return -1;
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    double frac = 0;
    s += used;
    if (*s == '.') {
        double scale = 0.1;
        s++;
        if (*s < '0' || *s > '9')
            return -1;
        for (; *s >= '0' && *s <= '9'; s++, scale /= 10)
            frac += (*s - '0') * scale;
    }
    long offset = 0;
    if (*s == 'Z' || *s == 'z') {
        s++;
    } else if (*s == '+' || *s == '-') {
        int hh, mm, n2 = 0;
        if (sscanf(s + 1, "%2d:%2d%n", &hh, &mm, &n2) != 2 || n2 != 5)
            return -1;
        offset = (hh * 3600L + mm * 60L) * (*s == '-' ? -1 : 1);
        s += 6;
    }
    if (*s != '\0' || (size_t)(s - p->value) != p->value_len)
        return -1;
    *out = (double)timegm(&tm) - (double)offset + frac;
    return 0;
}

/* RFC 3629 UTF-8 (no overlongs, surrogates or code points above U+10FFFF), what jansson
 * requires of strings. Checked here, eight ASCII bytes at a time, because jansson's own
 * check goes byte by byte and was the largest cost of decoding a SendMessage. */
static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        while (n - i >= 8) {
            uint64_t x;
            memcpy(&x, s + i, 8);
            if (x & 0x8080808080808080ULL)
                break;
            i += 8;
        }
        if (i >= n)
            break;
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        uint32_t cp;
        size_t len = utf8_decode(s + i, n - i, &cp);
        if (!len)
            return 0;
        i += len;
    }
    return 1;
}

static json_t *scalar(ctx *c, const model_shape *sh, const form_pair *p)
{
    double d;
    switch (sh->type) {
    case SHAPE_INTEGER:
        return parse_integer(c, p);
    case SHAPE_BOOLEAN:
        if (p->value_len == 4 && strncasecmp(p->value, "true", 4) == 0)
            return json_true();
        if (p->value_len == 5 && strncasecmp(p->value, "false", 5) == 0)
            return json_false();
        fail_value(c, p, "must be true or false.");
        return NULL;
    case SHAPE_DOUBLE:
        if (parse_double(p, &d) == 0)
            return json_real(d);
        fail_value(c, p, "must be a number.");
        return NULL;
    case SHAPE_TIMESTAMP:
        if (parse_timestamp(p, &d) == 0)
            return number(d);
        fail_value(c, p, "must be an ISO 8601 timestamp.");
        return NULL;
    default:
        /* Strings and blobs (still base64) keep their bytes. */
        if (!utf8_valid((const unsigned char *)p->value, p->value_len)) {
            fail(c, "The value of parameter %.*s is not valid UTF-8.", (int)p->name_len, p->name);
            return NULL;
        }
        return json_stringn_nocheck(p->value, p->value_len);
    }
}

static json_t *finish(ctx *c, const qnode *n)
{
    const model_shape *sh = n->shape;
    json_t *out = NULL, *v;
    switch (sh->type) {
    case SHAPE_STRUCTURE:
        out = json_object();
        for (size_t i = 0; n->members && i < sh->nmembers; i++) {
            const qnode *m = n->members[i];
            if (!m || !m->used)
                continue;
            if (!(v = finish(c, m)))
                goto fail;
            json_object_set_new(out, sh->members[i].name, v);
        }
        return out;
    case SHAPE_LIST:
        out = json_array();
        if (n->unsorted)
            qsort(n->entries, n->nentries, sizeof *n->entries, cmp_entry);
        for (size_t i = 0; i < n->nentries; i++) {
            const qnode *e = n->entries[i].node;
            if (!e || !e->used)
                continue;
            if (!(v = finish(c, e)))
                goto fail;
            json_array_append_new(out, v);
        }
        return out;
    case SHAPE_MAP:
        out = json_object();
        if (n->unsorted)
            qsort(n->entries, n->nentries, sizeof *n->entries, cmp_entry);
        for (size_t i = 0; i < n->nentries; i++) {
            const qentry *e = &n->entries[i];
            if (!e->key || !e->node || !e->node->used)
                continue;
            if (!(v = finish(c, e->node)))
                goto fail;
            if (json_object_setn_new(out, e->key->value, e->key->value_len, v) != 0) {
                fail(c, "The value of parameter %.*s is not valid UTF-8.", (int)e->key->name_len,
                     e->key->name);
                goto fail;
            }
        }
        return out;
    default:
        return scalar(c, sh, n->pair);
    }
fail:
    json_decref(out);
    return NULL;
}

json_t *query_to_json(const form *f, const model_shape *input, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (!input || input->type != SHAPE_STRUCTURE)
        return json_object();
    ctx c;
    c.chunks = NULL;
    c.table = NULL;
    c.table_cap = c.table_used = 0;
    c.cur = c.first;
    c.lim = c.first + sizeof c.first;
    c.err = err;
    c.errlen = errlen;
    json_t *out = NULL;
    qnode *root = new_node(&c, input, 0);
    for (size_t i = 0; i < f->npairs; i++) {
        const form_pair *p = &f->pairs[i];
        if (walk(&c, root, p->name, p->name + p->name_len, p, 0) < 0)
            goto done;
    }
    out = finish(&c, root);
done:
    ctx_free(&c);
    return out;
}
