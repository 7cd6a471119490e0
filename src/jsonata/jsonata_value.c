/* JSONata values: the evaluation arena, constructors, objects with insertion order,
 * conversion from and to jansson, deep equality, effective boolean values, and numbers
 * and JSON text written as JavaScript writes them (JSON.stringify, Number.toString). */
#include "jsonata/jsonata_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- arena */

struct jn_chunk {
    jn_chunk *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
};

#define CHUNK_SIZE (64 * 1024)

void *jn_arena_alloc(jn_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n == 0)
        n = 16;
    if (a->limit && (a->used + n > a->limit || n > a->limit))
        return NULL;
    jn_chunk *h = a->head;
    if (!h || h->size - h->used < n) {
        /* chunks grow with use: a small expression costs a few kilobytes */
        size_t chunk = a->used < 4096 ? 4096 : a->used < CHUNK_SIZE ? a->used : CHUNK_SIZE;
        size_t size = n > chunk / 4 ? n : chunk;
        jn_chunk *k = calloc(1, sizeof *k + size);
        if (!k)
            return NULL;
        k->size = size;
        if (h && size == n) {
            /* a big block gets its own chunk; the current one keeps its free space */
            k->next = h->next;
            h->next = k;
        } else {
            k->next = h;
            a->head = k;
        }
        h = k;
    }
    void *p = h->data + h->used;
    h->used += n;
    a->used += n;
    return p;
}

void jn_arena_free(jn_arena *a)
{
    jn_chunk *k = a->head;
    while (k) {
        jn_chunk *next = k->next;
        free(k);
        k = next;
    }
    a->head = NULL;
    a->used = 0;
}

void *jn_alloc(jn_ctx *c, size_t n)
{
    void *p = jn_arena_alloc(&c->arena, n);
    if (!p) {
        jn_err d = {.message = "Evaluation exceeded its memory limit"};
        jn_throw(c, "U1001", -1, &d);
    }
    return p;
}

/* ---------------------------------------------------------------- constructors */

jn_val jn_null_val = {.kind = JN_NULL};
jn_val jn_true_val = {.kind = JN_BOOL, .u.b = true};
jn_val jn_false_val = {.kind = JN_BOOL, .u.b = false};

jn_val *jn_bool(bool b)
{
    return b ? &jn_true_val : &jn_false_val;
}

jn_val *jn_num(jn_ctx *c, double n)
{
    if (!isfinite(n)) {
        jn_val v = {.kind = JN_STR,
                    .u.str = {isnan(n) ? "NaN"
                              : n > 0  ? "Infinity"
                                       : "-Infinity",
                              0}};
        v.u.str.len = strlen(v.u.str.s);
        jn_fail_value(c, "D1001", -1, &v);
    }
    jn_val *v = jn_alloc(c, sizeof *v);
    v->kind = JN_NUM;
    v->u.n = n == 0 ? 0 : n; /* JSON has no -0 */
    return v;
}

jn_val *jn_str_take(jn_ctx *c, char *s, size_t len)
{
    jn_val *v = jn_alloc(c, sizeof *v);
    v->kind = JN_STR;
    v->u.str.s = s;
    v->u.str.len = len;
    return v;
}

jn_val *jn_str(jn_ctx *c, const char *s, size_t len)
{
    char *p = jn_alloc(c, len + 1);
    memcpy(p, s, len);
    return jn_str_take(c, p, len);
}

jn_val *jn_str0(jn_ctx *c, const char *s)
{
    return jn_str(c, s, strlen(s));
}

jn_val *jn_arr(jn_ctx *c, size_t cap)
{
    jn_val *v = jn_alloc(c, sizeof *v);
    v->kind = JN_ARR;
    if (cap) {
        v->u.arr.items = jn_alloc(c, cap * sizeof(jn_val *));
        v->u.arr.cap = cap;
    }
    return v;
}

jn_val *jn_seq(jn_ctx *c)
{
    jn_val *v = jn_arr(c, 0);
    v->flags = JN_SEQ;
    return v;
}

void jn_push(jn_ctx *c, jn_val *arr, jn_val *v)
{
    if (arr->u.arr.len == arr->u.arr.cap) {
        size_t cap = arr->u.arr.cap ? arr->u.arr.cap * 2 : 4;
        jn_val **items = jn_alloc(c, cap * sizeof *items);
        if (arr->u.arr.len)
            memcpy(items, arr->u.arr.items, arr->u.arr.len * sizeof *items);
        arr->u.arr.items = items;
        arr->u.arr.cap = cap;
    }
    arr->u.arr.items[arr->u.arr.len++] = v;
    unsigned d = v ? v->depth + 1u : 1u;
    if (d > arr->depth) {
        jn_check_value_depth(c, (int)d);
        arr->depth = (uint16_t)d;
    }
}

void jn_arr_depth(jn_ctx *c, jn_val *arr)
{
    unsigned d = 1;
    for (size_t i = 0; i < arr->u.arr.len; i++) {
        const jn_val *v = arr->u.arr.items[i];
        if (v && v->depth + 1u > d)
            d = v->depth + 1u;
    }
    jn_check_value_depth(c, (int)d);
    arr->depth = (uint16_t)d;
}

jn_val *jn_func_new(jn_ctx *c, int kind)
{
    jn_val *v = jn_alloc(c, sizeof *v);
    v->kind = JN_FUNC;
    v->u.fn = jn_alloc(c, sizeof *v->u.fn);
    v->u.fn->kind = (uint8_t)kind;
    return v;
}

/* ---------------------------------------------------------------- objects */

jn_val *jn_obj_new(jn_ctx *c)
{
    jn_val *v = jn_alloc(c, sizeof *v);
    v->kind = JN_OBJ;
    v->u.obj = jn_alloc(c, sizeof *v->u.obj);
    return v;
}

static uint32_t hash_key(const char *k, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)k[i]) * 16777619u;
    return h;
}

#define INDEX_FROM 8 /* objects up to this size are searched linearly */

static long find(const jn_obj *o, const char *k, size_t klen)
{
    if (o->index) {
        size_t mask = o->index_cap - 1;
        for (size_t i = hash_key(k, klen) & mask;; i = (i + 1) & mask) {
            uint32_t slot = o->index[i];
            if (slot == 0)
                return -1;
            size_t p = slot - 1;
            if (o->klens[p] == klen && memcmp(o->keys[p], k, klen) == 0)
                return (long)p;
        }
    }
    for (size_t i = 0; i < o->len; i++)
        if (o->klens[i] == klen && memcmp(o->keys[i], k, klen) == 0)
            return (long)i;
    return -1;
}

static void index_insert(jn_obj *o, size_t p)
{
    size_t mask = o->index_cap - 1;
    size_t i = hash_key(o->keys[p], o->klens[p]) & mask;
    while (o->index[i])
        i = (i + 1) & mask;
    o->index[i] = (uint32_t)(p + 1);
}

static void reindex(jn_ctx *c, jn_obj *o)
{
    if (o->len <= INDEX_FROM) {
        o->index = NULL;
        o->index_cap = 0;
        return;
    }
    size_t cap = 16;
    while (cap < o->len * 2)
        cap *= 2;
    o->index = jn_alloc(c, cap * sizeof *o->index);
    o->index_cap = cap;
    for (size_t p = 0; p < o->len; p++)
        index_insert(o, p);
}

jn_val *jn_obj_get(const jn_val *o, const char *k, size_t klen)
{
    if (!jn_is_obj(o))
        return NULL;
    long p = find(o->u.obj, k, klen);
    return p < 0 ? NULL : o->u.obj->vals[p];
}

bool jn_obj_has(const jn_val *o, const char *k, size_t klen)
{
    return jn_is_obj(o) && find(o->u.obj, k, klen) >= 0;
}

void jn_obj_set(jn_ctx *c, jn_val *ov, const char *k, size_t klen, jn_val *v)
{
    jn_obj *o = ov->u.obj;
    unsigned d = v ? v->depth + 1u : 1u;
    if (d > ov->depth) {
        jn_check_value_depth(c, (int)d);
        ov->depth = (uint16_t)d;
    }
    long p = find(o, k, klen);
    if (p >= 0) {
        o->vals[p] = v;
        return;
    }
    if (o->len == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 4;
        const char **keys = jn_alloc(c, cap * sizeof *keys);
        size_t *klens = jn_alloc(c, cap * sizeof *klens);
        jn_val **vals = jn_alloc(c, cap * sizeof *vals);
        if (o->len) {
            memcpy(keys, o->keys, o->len * sizeof *keys);
            memcpy(klens, o->klens, o->len * sizeof *klens);
            memcpy(vals, o->vals, o->len * sizeof *vals);
        }
        o->keys = keys;
        o->klens = klens;
        o->vals = vals;
        o->cap = cap;
    }
    o->keys[o->len] = k;
    o->klens[o->len] = klen;
    o->vals[o->len] = v;
    o->len++;
    if (o->len > INDEX_FROM && (!o->index || o->len * 2 > o->index_cap))
        reindex(c, o);
    else if (o->index)
        index_insert(o, o->len - 1);
}

void jn_obj_del(jn_ctx *c, jn_val *ov, const char *k, size_t klen)
{
    jn_obj *o = ov->u.obj;
    long p = find(o, k, klen);
    if (p < 0)
        return;
    size_t rest = o->len - (size_t)p - 1;
    memmove(o->keys + p, o->keys + p + 1, rest * sizeof *o->keys);
    memmove(o->klens + p, o->klens + p + 1, rest * sizeof *o->klens);
    memmove(o->vals + p, o->vals + p + 1, rest * sizeof *o->vals);
    o->len--;
    if (o->index)
        reindex(c, o);
}

/* ---------------------------------------------------------------- jansson */

jn_val *jn_from_json(jn_ctx *c, json_t *j)
{
    if (!j)
        return NULL;
    switch (json_typeof(j)) {
    case JSON_NULL:
        return &jn_null_val;
    case JSON_TRUE:
        return &jn_true_val;
    case JSON_FALSE:
        return &jn_false_val;
    case JSON_INTEGER:
        return jn_num(c, (double)json_integer_value(j));
    case JSON_REAL:
        return jn_num(c, json_real_value(j));
    case JSON_STRING:
        return jn_str(c, json_string_value(j), json_string_length(j));
    case JSON_ARRAY: {
        size_t n = json_array_size(j);
        jn_val *a = jn_arr(c, n);
        for (size_t i = 0; i < n; i++)
            a->u.arr.items[i] = jn_from_json(c, json_array_get(j, i));
        a->u.arr.len = n;
        jn_arr_depth(c, a);
        return a;
    }
    case JSON_OBJECT: {
        jn_val *o = jn_obj_new(c);
        const char *k;
        size_t klen;
        json_t *v;
        json_object_keylen_foreach(j, k, klen, v)
        {
            char *key = jn_alloc(c, klen + 1);
            memcpy(key, k, klen);
            jn_obj_set(c, o, key, klen, jn_from_json(c, v));
        }
        return o;
    }
    }
    return NULL;
}

static json_t *number_to_json(double d)
{
    if (d == floor(d) && fabs(d) <= 9007199254740992.0)
        return json_integer((json_int_t)d);
    return json_real(d);
}

void jn_check_value_depth(jn_ctx *c, int depth)
{
    if (depth > JN_MAX_VALUE_DEPTH) {
        jn_err d = {.message = "Value nested too deeply"};
        jn_throw(c, "U1001", -1, &d);
    }
}

#define MAX_RESULT_NODES (JSONATA_MAX_MEMORY / 32)

/* Counts the result before building it, so a limit is never hit half way through. */
static void measure(jn_ctx *c, const jn_val *v, int depth)
{
    if (!v)
        return;
    jn_check_value_depth(c, depth);
    c->out_nodes += 1 + (v->kind == JN_STR ? v->u.str.len / 32 : 0);
    if (c->out_nodes > MAX_RESULT_NODES) {
        jn_err d = {.message = "The result exceeds the size limit"};
        jn_throw(c, "U1001", -1, &d);
    }
    if (v->kind == JN_ARR)
        for (size_t i = 0; i < v->u.arr.len; i++)
            measure(c, v->u.arr.items[i], depth + 1);
    else if (v->kind == JN_OBJ)
        for (size_t i = 0; i < v->u.obj->len; i++)
            measure(c, v->u.obj->vals[i], depth + 1);
}

static json_t *to_json(const jn_val *v)
{
    if (!v)
        return NULL;
    switch (v->kind) {
    case JN_NULL:
        return json_null();
    case JN_BOOL:
        return json_boolean(v->u.b);
    case JN_NUM:
        return number_to_json(v->u.n);
    case JN_STR:
        return json_stringn_nocheck(v->u.str.s, v->u.str.len);
    case JN_ARR: {
        json_t *a = json_array();
        for (size_t i = 0; i < v->u.arr.len; i++) {
            json_t *item = to_json(v->u.arr.items[i]);
            json_array_append_new(a, item ? item : json_null());
        }
        return a;
    }
    case JN_OBJ: {
        json_t *o = json_object();
        const jn_obj *ob = v->u.obj;
        for (size_t i = 0; i < ob->len; i++) {
            json_t *item = to_json(ob->vals[i]);
            if (item)
                json_object_setn_new_nocheck(o, ob->keys[i], ob->klens[i], item);
        }
        return o;
    }
    default:
        return NULL; /* functions, as JSON.stringify drops them */
    }
}

json_t *jn_to_json(jn_ctx *c, const jn_val *v)
{
    c->out_nodes = 0;
    measure(c, v, 0);
    return to_json(v);
}

/* ---------------------------------------------------------------- comparisons */

static bool deep_equal(jn_ctx *c, const jn_val *a, const jn_val *b, int depth)
{
    if (a == b)
        return true;
    if (!a || !b || a->kind != b->kind)
        return false;
    jn_check_value_depth(c, depth);
    jn_charge(c, 1);
    switch (a->kind) {
    case JN_NULL:
        return true;
    case JN_BOOL:
        return a->u.b == b->u.b;
    case JN_NUM:
        return a->u.n == b->u.n;
    case JN_STR:
        return a->u.str.len == b->u.str.len && memcmp(a->u.str.s, b->u.str.s, a->u.str.len) == 0;
    case JN_ARR:
        if (a->u.arr.len != b->u.arr.len)
            return false;
        for (size_t i = 0; i < a->u.arr.len; i++)
            if (!deep_equal(c, a->u.arr.items[i], b->u.arr.items[i], depth + 1))
                return false;
        return true;
    case JN_OBJ: {
        const jn_obj *x = a->u.obj;
        if (x->len != b->u.obj->len)
            return false;
        for (size_t i = 0; i < x->len; i++) {
            if (!jn_obj_has(b, x->keys[i], x->klens[i]))
                return false;
            if (!deep_equal(c, x->vals[i], jn_obj_get(b, x->keys[i], x->klens[i]), depth + 1))
                return false;
        }
        return true;
    }
    default:
        return false; /* functions: only the same one */
    }
}

bool jn_deep_equal(jn_ctx *c, const jn_val *a, const jn_val *b)
{
    return deep_equal(c, a, b, 0);
}

bool jn_truthy(const jn_val *v)
{
    if (!v)
        return false;
    switch (v->kind) {
    case JN_BOOL:
        return v->u.b;
    case JN_NUM:
        return v->u.n != 0;
    case JN_STR:
        return v->u.str.len > 0;
    case JN_ARR:
        for (size_t i = 0; i < v->u.arr.len; i++)
            if (jn_truthy(v->u.arr.items[i]))
                return true;
        return false;
    case JN_OBJ:
        return v->u.obj->len > 0;
    default:
        return false;
    }
}

bool jn_is_array_of_numbers(const jn_val *v)
{
    if (!jn_is_arr(v))
        return false;
    for (size_t i = 0; i < v->u.arr.len; i++)
        if (!jn_is_num(v->u.arr.items[i]))
            return false;
    return true;
}

bool jn_is_array_of_strings(const jn_val *v)
{
    if (!jn_is_arr(v))
        return false;
    for (size_t i = 0; i < v->u.arr.len; i++)
        if (!jn_is_str(v->u.arr.items[i]))
            return false;
    return true;
}

jn_val *jn_append(jn_ctx *c, jn_val *a, jn_val *b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    size_t na = jn_is_arr(a) ? a->u.arr.len : 1, nb = jn_is_arr(b) ? b->u.arr.len : 1;
    jn_charge(c, na + nb);
    jn_val *r = jn_arr(c, na + nb);
    if (!jn_is_arr(a))
        r->u.arr.items[0] = a;
    else if (na)
        memcpy(r->u.arr.items, a->u.arr.items, na * sizeof(jn_val *));
    if (!jn_is_arr(b))
        r->u.arr.items[na] = b;
    else if (nb)
        memcpy(r->u.arr.items + na, b->u.arr.items, nb * sizeof(jn_val *));
    r->u.arr.len = na + nb;
    jn_arr_depth(c, r);
    return r;
}

static jn_val *deep_copy(jn_ctx *c, const jn_val *v, int depth)
{
    if (!v)
        return NULL;
    jn_check_value_depth(c, depth);
    jn_charge(c, 1);
    switch (v->kind) {
    case JN_ARR: {
        jn_val *a = jn_arr(c, v->u.arr.len);
        for (size_t i = 0; i < v->u.arr.len; i++)
            a->u.arr.items[i] = deep_copy(c, v->u.arr.items[i], depth + 1);
        a->u.arr.len = v->u.arr.len;
        jn_arr_depth(c, a);
        return a;
    }
    case JN_OBJ: {
        jn_val *o = jn_obj_new(c);
        const jn_obj *ob = v->u.obj;
        for (size_t i = 0; i < ob->len; i++)
            jn_obj_set(c, o, ob->keys[i], ob->klens[i], deep_copy(c, ob->vals[i], depth + 1));
        return o;
    }
    default:
        return (jn_val *)v; /* scalars and functions are never changed in place */
    }
}

jn_val *jn_deep_copy(jn_ctx *c, const jn_val *v)
{
    return deep_copy(c, v, 0);
}

/* ---------------------------------------------------------------- UTF-8 */

size_t jn_utf8_next(const char *s, size_t n, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    if (u[0] < 0x80) {
        *cp = u[0];
        return 1;
    }
    size_t len = u[0] >= 0xf0 ? 4 : u[0] >= 0xe0 ? 3 : u[0] >= 0xc0 ? 2 : 1;
    if (len == 1 || len > n) {
        *cp = u[0];
        return 1;
    }
    uint32_t v = u[0] & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((u[i] & 0xc0) != 0x80) {
            *cp = u[0];
            return 1;
        }
        v = v << 6 | (u[i] & 0x3f);
    }
    *cp = v;
    return len;
}

size_t jn_utf8_put(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

size_t jn_utf8_len(const char *s, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80)
            count++;
    return count;
}

size_t jn_utf8_offset(const char *s, size_t n, size_t cp)
{
    size_t i = 0;
    while (i < n && cp > 0) {
        i++;
        while (i < n && ((unsigned char)s[i] & 0xc0) == 0x80)
            i++;
        cp--;
    }
    return i;
}

/* ---------------------------------------------------------------- text builder */

void jn_sb_init(jn_sb *b, jn_ctx *c)
{
    b->c = c;
    b->s = NULL;
    b->len = b->cap = 0;
}

void jn_sb_add(jn_sb *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 32;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = jn_alloc(b->c, cap);
        if (b->len)
            memcpy(p, b->s, b->len);
        b->s = p;
        b->cap = cap;
    }
    if (n)
        memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void jn_sb_addc(jn_sb *b, char ch)
{
    jn_sb_add(b, &ch, 1);
}

void jn_sb_adds(jn_sb *b, const char *s)
{
    jn_sb_add(b, s, strlen(s));
}

void jn_sb_addcp(jn_sb *b, uint32_t cp)
{
    char tmp[4];
    jn_sb_add(b, tmp, jn_utf8_put(tmp, cp));
}

jn_val *jn_sb_val(jn_sb *b)
{
    if (!b->s)
        return jn_str(b->c, "", 0);
    return jn_str_take(b->c, b->s, b->len);
}

/* ---------------------------------------------------------------- numbers as text */

void jn_format_double(double d, char *out)
{
    if (isnan(d)) {
        strcpy(out, "NaN");
        return;
    }
    if (isinf(d)) {
        strcpy(out, d > 0 ? "Infinity" : "-Infinity");
        return;
    }
    if (d == 0) {
        strcpy(out, "0");
        return;
    }
    /* the shortest digits that read back as d, then JavaScript's layout rules */
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec - 1, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    char digits[24];
    int k = 0;
    const char *p = buf;
    bool neg = *p == '-';
    if (neg)
        p++;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digits[k++] = *p;
    while (k > 1 && digits[k - 1] == '0')
        k--;
    digits[k] = '\0';
    int e = atoi(p + 1);
    int n = e + 1; /* digits[0] is at 10^(n-1) */
    char *o = out;
    if (neg)
        *o++ = '-';
    if (k <= n && n <= 21) {
        memcpy(o, digits, (size_t)k);
        o += k;
        for (int i = 0; i < n - k; i++)
            *o++ = '0';
    } else if (0 < n && n <= 21) {
        memcpy(o, digits, (size_t)n);
        o += n;
        *o++ = '.';
        memcpy(o, digits + n, (size_t)(k - n));
        o += k - n;
    } else if (-6 < n && n <= 0) {
        *o++ = '0';
        *o++ = '.';
        for (int i = 0; i < -n; i++)
            *o++ = '0';
        memcpy(o, digits, (size_t)k);
        o += k;
    } else {
        *o++ = digits[0];
        if (k > 1) {
            *o++ = '.';
            memcpy(o, digits + 1, (size_t)(k - 1));
            o += k - 1;
        }
        o += sprintf(o, "e%c%d", n - 1 >= 0 ? '+' : '-', abs(n - 1));
    }
    *o = '\0';
}

/* Number(d.toPrecision(15)) */
static double precision15(double d)
{
    char buf[40];
    snprintf(buf, sizeof buf, "%.14e", d);
    return strtod(buf, NULL);
}

/* ---------------------------------------------------------------- JSON text */

typedef struct text_out {
    void (*add)(void *ud, const char *s, size_t n);
    void *ud;
    bool pretty;
    bool precision15;
    jn_ctx *c; /* NULL: cut deep values short instead of failing */
} text_out;

static void out_s(const text_out *t, const char *s)
{
    t->add(t->ud, s, strlen(s));
}

static void out_string(const text_out *t, const char *s, size_t n)
{
    t->add(t->ud, "\"", 1);
    size_t from = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        const char *esc = NULL;
        char tmp[8];
        switch (ch) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\b':
            esc = "\\b";
            break;
        case '\f':
            esc = "\\f";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        default:
            if (ch < 0x20) {
                snprintf(tmp, sizeof tmp, "\\u%04x", ch);
                esc = tmp;
            }
        }
        if (esc) {
            t->add(t->ud, s + from, i - from);
            out_s(t, esc);
            from = i + 1;
        }
    }
    t->add(t->ud, s + from, n - from);
    t->add(t->ud, "\"", 1);
}

static void out_indent(const text_out *t, int depth)
{
    t->add(t->ud, "\n", 1);
    for (int i = 0; i < depth; i++)
        t->add(t->ud, "  ", 2);
}

static void out_value(const text_out *t, const jn_val *v, int depth)
{
    char num[40];
    if (t->c) {
        jn_check_value_depth(t->c, depth);
    } else if (depth > 32) {
        out_s(t, "...");
        return;
    }
    switch (v->kind) {
    case JN_NULL:
        out_s(t, "null");
        break;
    case JN_BOOL:
        out_s(t, v->u.b ? "true" : "false");
        break;
    case JN_NUM:
        jn_format_double(t->precision15 ? precision15(v->u.n) : v->u.n, num);
        out_s(t, num);
        break;
    case JN_STR:
        out_string(t, v->u.str.s, v->u.str.len);
        break;
    case JN_FUNC:
        out_s(t, "\"\"");
        break;
    case JN_ARR:
        if (v->u.arr.len == 0) {
            out_s(t, "[]");
            break;
        }
        out_s(t, "[");
        for (size_t i = 0; i < v->u.arr.len; i++) {
            if (i)
                out_s(t, ",");
            if (t->pretty)
                out_indent(t, depth + 1);
            const jn_val *item = v->u.arr.items[i];
            if (item)
                out_value(t, item, depth + 1);
            else
                out_s(t, "null");
        }
        if (t->pretty)
            out_indent(t, depth);
        out_s(t, "]");
        break;
    case JN_OBJ: {
        const jn_obj *o = v->u.obj;
        bool any = false;
        out_s(t, "{");
        for (size_t i = 0; i < o->len; i++) {
            if (!o->vals[i])
                continue;
            if (any)
                out_s(t, ",");
            any = true;
            if (t->pretty)
                out_indent(t, depth + 1);
            out_string(t, o->keys[i], o->klens[i]);
            out_s(t, t->pretty ? ": " : ":");
            out_value(t, o->vals[i], depth + 1);
        }
        if (any && t->pretty)
            out_indent(t, depth);
        out_s(t, "}");
        break;
    }
    }
}

static void add_to_sb(void *ud, const char *s, size_t n)
{
    jn_sb *b = ud;
    jn_charge(b->c, 1 + n / 64);
    jn_sb_add(b, s, n);
}

jn_val *jn_stringify(jn_ctx *c, const jn_val *v, bool pretty)
{
    if (!v)
        return NULL;
    if (v->kind == JN_STR)
        return (jn_val *)v;
    if (v->kind == JN_FUNC)
        return jn_str(c, "", 0);
    if (jn_is_arr(v) && (v->flags & JN_OUTER) && v->u.arr.len > 0)
        v = v->u.arr.items[0];
    jn_sb b;
    jn_sb_init(&b, c);
    text_out t = {add_to_sb, &b, pretty, true, c};
    out_value(&t, v, 0);
    return jn_sb_val(&b);
}

typedef struct heap_text {
    char *s;
    size_t len, cap;
} heap_text;

static void add_to_heap(void *ud, const char *s, size_t n)
{
    heap_text *h = ud;
    if (h->len + n >= 2048) /* error messages quote values; keep them short */
        n = h->len < 2048 ? 2048 - h->len : 0;
    if (h->len + n + 1 > h->cap) {
        h->cap = (h->len + n + 1) * 2;
        char *p = realloc(h->s, h->cap);
        if (!p)
            return;
        h->s = p;
    }
    memcpy(h->s + h->len, s, n);
    h->len += n;
    h->s[h->len] = '\0';
}

char *jn_json_text(const jn_val *v)
{
    heap_text h = {NULL, 0, 0};
    if (!v)
        return NULL;
    text_out t = {add_to_heap, &h, false, false, NULL};
    if (v->kind == JN_NUM) {
        char num[40];
        jn_format_double(v->u.n, num);
        add_to_heap(&h, num, strlen(num));
    } else {
        out_value(&t, v, 0);
    }
    return h.s;
}
