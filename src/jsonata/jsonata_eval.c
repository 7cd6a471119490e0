/* JSONata evaluator: walks the tree the parser built, after jsonata-js's evaluate().
 *
 * Sequences: a path step maps over its input sequence and flattens the results one
 * level (arrays built by a constructor are kept whole); a sequence of one item is that
 * item, an empty one is undefined, unless [] asked to keep arrays (JN_KEEP).
 * Tuple streams: once a step binds @$focus, #$index or is the target of a parent %
 * slot, the rest of the path runs on tuples (objects holding '@', the current item,
 * and the bindings), and each step sees the bindings as variables.
 * Functions: lambdas are closures over their frame and the focus they were defined in;
 * a call in tail position comes back as a thunk that jn_apply() runs in a loop, so tail
 * recursion does not grow the C stack. Builtins are checked against their signatures.
 * Every evaluation charges the step budget and counts its depth (U1001 past either). */
#include "jsonata/jsonata_internal.h"

#include <math.h>
#include <string.h>
#include <time.h>

/* ---------------------------------------------------------------- budget */

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void jn_charge(jn_ctx *c, uint64_t n)
{
    c->steps += n;
    if (c->steps > JSONATA_MAX_STEPS) {
        jn_err d = {.message = "Expression evaluation exceeded the step limit: check for an "
                               "infinite loop"};
        jn_throw(c, "U1001", -1, &d);
    }
    if (c->steps >= c->next_clock_check) {
        c->next_clock_check = c->steps + 4096;
        if (monotonic_ms() > c->deadline_ms) {
            jn_err d = {.message = "Expression evaluation timeout: check for an infinite loop"};
            jn_throw(c, "U1001", -1, &d);
        }
    }
}

/* ---------------------------------------------------------------- frames */

jn_frame *jn_frame_new(jn_ctx *c, jn_frame *parent)
{
    jn_frame *f = jn_alloc(c, sizeof *f);
    f->parent = parent;
    return f;
}

void jn_frame_bind(jn_ctx *c, jn_frame *f, const char *name, size_t len, jn_val *v)
{
    for (int i = 0; i < f->n; i++)
        if (f->nlens[i] == len && memcmp(f->names[i], name, len) == 0) {
            f->vals[i] = v;
            return;
        }
    if (f->n == f->cap) {
        int cap = f->cap ? f->cap * 2 : 4;
        const char **names = jn_alloc(c, (size_t)cap * sizeof *names);
        size_t *nlens = jn_alloc(c, (size_t)cap * sizeof *nlens);
        jn_val **vals = jn_alloc(c, (size_t)cap * sizeof *vals);
        if (f->n) {
            memcpy(names, f->names, (size_t)f->n * sizeof *names);
            memcpy(nlens, f->nlens, (size_t)f->n * sizeof *nlens);
            memcpy(vals, f->vals, (size_t)f->n * sizeof *vals);
        }
        f->names = names;
        f->nlens = nlens;
        f->vals = vals;
        f->cap = cap;
    }
    f->names[f->n] = name;
    f->nlens[f->n] = len;
    f->vals[f->n] = v;
    f->n++;
}

static jn_val *builtin_value(jn_ctx *c, const jn_builtin *b)
{
    jn_val *v = jn_func_new(c, JN_F_BUILTIN);
    v->u.fn->builtin = b;
    v->u.fn->sig = jn_builtin_sig(b);
    v->u.fn->arity = b->arity;
    return v;
}

jn_val *jn_lookup(jn_ctx *c, jn_frame *f, const char *name, size_t len, bool *found)
{
    for (; f; f = f->parent)
        for (int i = 0; i < f->n; i++)
            if (f->nlens[i] == len && memcmp(f->names[i], name, len) == 0) {
                *found = true;
                return f->vals[i];
            }
    const jn_builtin *b = jn_builtin_find(name, len);
    *found = b != NULL;
    return b ? builtin_value(c, b) : NULL;
}

static jn_val *lookup(jn_ctx *c, jn_frame *f, const char *name, size_t len)
{
    bool found;
    return jn_lookup(c, f, name, len, &found);
}

/* Binds every entry of a tuple (an object of bindings) in a new frame. */
static jn_frame *frame_from_tuple(jn_ctx *c, jn_frame *env, const jn_val *tuple)
{
    jn_frame *f = jn_frame_new(c, env);
    if (!jn_is_obj(tuple))
        return f;
    const jn_obj *o = tuple->u.obj;
    for (size_t i = 0; i < o->len; i++)
        jn_frame_bind(c, f, o->keys[i], o->klens[i], o->vals[i]);
    return f;
}

/* ---------------------------------------------------------------- helpers */

static jn_val *seq_of(jn_ctx *c, jn_val *v)
{
    jn_val *s = jn_seq(c);
    jn_push(c, s, v);
    return s;
}

static size_t alen(const jn_val *v)
{
    return jn_is_arr(v) ? v->u.arr.len : 0;
}

static jn_val *item(const jn_val *v, size_t i)
{
    return v->u.arr.items[i];
}

static jn_val *tuple_focus(const jn_val *t)
{
    return jn_obj_get(t, "@", 1);
}

static jn_val *tuple_copy(jn_ctx *c, const jn_val *t)
{
    jn_val *o = jn_obj_new(c);
    if (jn_is_obj(t))
        for (size_t i = 0; i < t->u.obj->len; i++)
            jn_obj_set(c, o, t->u.obj->keys[i], t->u.obj->klens[i], t->u.obj->vals[i]);
    return o;
}

/* Appends v to acc in place, flattening one level as fn.append does. */
static void append_into(jn_ctx *c, jn_val *acc, jn_val *v)
{
    if (!v)
        return;
    if (jn_is_arr(v))
        for (size_t i = 0; i < v->u.arr.len; i++)
            jn_push(c, acc, item(v, i));
    else
        jn_push(c, acc, v);
}

/* fn.lookup: the field of an object, or of every object in an array. */
static jn_val *lookup_field(jn_ctx *c, jn_val *input, const char *k, size_t klen)
{
    if (jn_is_arr(input)) {
        jn_val *r = jn_seq(c);
        for (size_t i = 0; i < input->u.arr.len; i++) {
            jn_val *res = lookup_field(c, item(input, i), k, klen);
            append_into(c, r, res);
        }
        return r;
    }
    return jn_obj_get(input, k, klen);
}

static const char *name_text(jn_ctx *c, const char *name, size_t len)
{
    char *s = jn_alloc(c, len + 1);
    memcpy(s, name, len);
    return s;
}

/* ---------------------------------------------------------------- filters and stages */

static jn_val *eval_filter(jn_ctx *c, const jn_node *pred, jn_val *input, jn_frame *env)
{
    jn_val *results = jn_seq(c);
    bool tuples = input && jn_is_arr(input) && (input->flags & JN_TUPLES);
    if (tuples)
        results->flags |= JN_TUPLES;
    if (!jn_is_arr(input))
        input = seq_of(c, input);
    size_t n = input->u.arr.len;
    if (pred->type == JN_N_NUMBER) {
        double idx = floor(pred->lit->u.n);
        if (idx < 0)
            idx += (double)n;
        if (idx >= 0 && idx < (double)n) {
            jn_val *it = item(input, (size_t)idx);
            if (jn_is_arr(it))
                results = it;
            else if (it)
                jn_push(c, results, it);
        }
        return results;
    }
    for (size_t i = 0; i < n; i++) {
        jn_val *it = item(input, i);
        jn_val *context = it;
        jn_frame *fenv = env;
        if (tuples) {
            context = tuple_focus(it);
            fenv = frame_from_tuple(c, env, it);
        }
        jn_val *res = jn_eval(c, pred, context, fenv);
        if (jn_is_num(res)) {
            jn_val *one = jn_arr(c, 1);
            jn_push(c, one, res);
            res = one;
        }
        if (jn_is_array_of_numbers(res)) {
            for (size_t k = 0; k < res->u.arr.len; k++) {
                double ii = floor(item(res, k)->u.n);
                if (ii < 0)
                    ii += (double)n;
                if (ii == (double)i)
                    jn_push(c, results, it);
            }
        } else if (jn_truthy(res)) {
            jn_push(c, results, it);
        }
    }
    return results;
}

static jn_val *eval_stages(jn_ctx *c, const jn_node *step, jn_val *input, jn_frame *env)
{
    jn_val *result = input;
    for (int s = 0; s < step->nstages; s++) {
        const jn_node *stage = step->stages[s];
        if (stage->type == JN_N_FILTER) {
            result = eval_filter(c, stage->expr, result, env);
        } else {
            for (size_t i = 0; i < alen(result); i++)
                if (jn_is_obj(item(result, i)))
                    jn_obj_set(c, item(result, i), stage->name, stage->name_len,
                               jn_num(c, (double)i));
        }
    }
    return result;
}

/* ---------------------------------------------------------------- sorting */

typedef struct sort_ctx {
    jn_ctx *c;
    const jn_node *step;
    jn_frame *env;
    bool tuples;
} sort_ctx;

static bool is_str_or_num(const jn_val *v)
{
    return jn_is_str(v) || jn_is_num(v);
}

static int compare_scalars(const jn_val *a, const jn_val *b)
{
    if (a->kind == JN_NUM)
        return a->u.n < b->u.n ? -1 : a->u.n > b->u.n ? 1 : 0;
    size_t n = a->u.str.len < b->u.str.len ? a->u.str.len : b->u.str.len;
    int r = memcmp(a->u.str.s, b->u.str.s, n);
    if (r)
        return r < 0 ? -1 : 1;
    return a->u.str.len < b->u.str.len ? -1 : a->u.str.len > b->u.str.len ? 1 : 0;
}

/* The order-by comparator: true when a must come after b. */
static bool order_by_swap(sort_ctx *s, jn_val *a, jn_val *b)
{
    jn_ctx *c = s->c;
    int comp = 0;
    for (int i = 0; comp == 0 && i < s->step->nlist; i++) {
        const jn_node *term = s->step->list[i];
        jn_val *ca = a, *cb = b;
        jn_frame *ea = s->env, *eb = s->env;
        if (s->tuples) {
            ca = tuple_focus(a);
            ea = frame_from_tuple(c, s->env, a);
            cb = tuple_focus(b);
            eb = frame_from_tuple(c, s->env, b);
        }
        jn_val *aa = jn_eval(c, term->expr, ca, ea);
        jn_val *bb = jn_eval(c, term->expr, cb, eb);
        if (!aa) {
            comp = bb ? 1 : 0;
            continue;
        }
        if (!bb) {
            comp = -1;
            continue;
        }
        if (!is_str_or_num(aa) || !is_str_or_num(bb))
            jn_fail_value(c, "T2008", s->step->pos, is_str_or_num(aa) ? bb : aa);
        if (aa->kind != bb->kind) {
            jn_err d = {.value = aa, .has_value = true, .value2 = bb, .has_value2 = true};
            jn_throw(c, "T2007", s->step->pos, &d);
        }
        comp = compare_scalars(aa, bb);
        if (term->descending)
            comp = -comp;
    }
    return comp == 1;
}

static void merge_sort(jn_ctx *c, jn_val **v, jn_val **tmp, size_t n, jn_swap_fn swap, void *ud)
{
    if (n < 2)
        return;
    size_t mid = n / 2;
    merge_sort(c, v, tmp, mid, swap, ud);
    merge_sort(c, v + mid, tmp, n - mid, swap, ud);
    size_t i = 0, j = mid, k = 0;
    while (i < mid && j < n) {
        jn_charge(c, 1);
        if (swap(ud, v[i], v[j]))
            tmp[k++] = v[j++];
        else
            tmp[k++] = v[i++];
    }
    while (i < mid)
        tmp[k++] = v[i++];
    while (j < n)
        tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof *v);
}

jn_val *jn_sort_values(jn_ctx *c, jn_val *arr, jn_swap_fn swap, void *ud)
{
    size_t n = alen(arr);
    if (n <= 1)
        return arr;
    jn_val *r = jn_arr(c, n);
    memcpy(r->u.arr.items, arr->u.arr.items, n * sizeof(jn_val *));
    r->u.arr.len = n;
    r->flags = arr->flags & (JN_SEQ | JN_TUPLES);
    r->depth = arr->depth;
    jn_val **tmp = jn_alloc(c, n * sizeof *tmp);
    merge_sort(c, r->u.arr.items, tmp, n, swap, ud);
    return r;
}

static bool order_by_swap_cb(void *ud, jn_val *a, jn_val *b)
{
    return order_by_swap(ud, a, b);
}

static jn_val *eval_sort(jn_ctx *c, const jn_node *step, jn_val *input, jn_frame *env)
{
    if (!jn_is_arr(input))
        input = seq_of(c, input);
    sort_ctx s = {c, step, env, (input->flags & JN_TUPLES) != 0};
    return jn_sort_values(c, input, order_by_swap_cb, &s);
}

/* ---------------------------------------------------------------- grouping */

/* fn.append into a value that may still be shared: copies it the first time. */
static jn_val *append_owned(jn_ctx *c, jn_val *acc, bool *owned, jn_val *v)
{
    if (!acc)
        return v;
    if (!v)
        return acc;
    if (!*owned) {
        jn_val *fresh = jn_arr(c, 0);
        append_into(c, fresh, acc);
        acc = fresh;
        *owned = true;
    }
    append_into(c, acc, v);
    return acc;
}

static jn_val *reduce_tuples(jn_ctx *c, jn_val *stream)
{
    if (!jn_is_arr(stream))
        return tuple_copy(c, stream);
    jn_val *r = tuple_copy(c, alen(stream) ? item(stream, 0) : NULL);
    size_t cap = 8;
    bool *owned = jn_alloc(c, cap);
    for (size_t i = 1; i < alen(stream); i++) {
        const jn_val *t = item(stream, i);
        if (!jn_is_obj(t))
            continue;
        for (size_t k = 0; k < t->u.obj->len; k++) {
            const char *key = t->u.obj->keys[k];
            size_t klen = t->u.obj->klens[k];
            jn_val *cur = jn_obj_get(r, key, klen);
            bool had = jn_obj_has(r, key, klen);
            size_t pos = 0;
            while (pos < r->u.obj->len &&
                   !(r->u.obj->klens[pos] == klen && memcmp(r->u.obj->keys[pos], key, klen) == 0))
                pos++;
            if (pos >= cap) {
                bool *more = jn_alloc(c, cap * 2);
                memcpy(more, owned, cap);
                owned = more;
                cap *= 2;
            }
            if (!had)
                owned[pos] = false;
            jn_obj_set(c, r, key, klen, append_owned(c, cur, &owned[pos], t->u.obj->vals[k]));
        }
    }
    return r;
}

typedef struct group_entry {
    jn_val *data;
    bool owned;
    int pair;
} group_entry;

static jn_val *eval_group(jn_ctx *c, const jn_node *g, jn_val *input, jn_frame *env)
{
    jn_val *result = jn_obj_new(c);
    bool reduce = input && jn_is_arr(input) && (input->flags & JN_TUPLES);
    if (!jn_is_arr(input))
        input = seq_of(c, input);
    size_t n = input->u.arr.len;
    if (n == 0) {
        input = seq_of(c, NULL); /* so a literal object is still built */
        n = 1;
    }
    jn_val *keys = jn_obj_new(c); /* key -> index into entries, in first-seen order */
    group_entry *entries = NULL;
    size_t nentries = 0, cap = 0;
    for (size_t i = 0; i < n; i++) {
        jn_val *it = item(input, i);
        jn_frame *fenv = reduce ? frame_from_tuple(c, env, it) : env;
        for (int p = 0; p < g->npairs; p++) {
            jn_val *key = jn_eval(c, g->pairs[2 * p], reduce ? tuple_focus(it) : it, fenv);
            if (!key)
                continue;
            if (!jn_is_str(key))
                jn_fail_value(c, "T1003", g->pos, key);
            jn_val *at = jn_obj_get(keys, key->u.str.s, key->u.str.len);
            if (at) {
                group_entry *e = &entries[(size_t)at->u.n];
                if (e->pair != p)
                    jn_fail_value(c, "D1009", g->pos, key);
                e->data = append_owned(c, e->data, &e->owned, it);
                continue;
            }
            if (nentries == cap) {
                cap = cap ? cap * 2 : 8;
                group_entry *more = jn_alloc(c, cap * sizeof *more);
                if (nentries)
                    memcpy(more, entries, nentries * sizeof *more);
                entries = more;
            }
            entries[nentries] = (group_entry){it, false, p};
            jn_obj_set(c, keys, key->u.str.s, key->u.str.len, jn_num(c, (double)nentries));
            nentries++;
        }
    }
    for (size_t k = 0; k < nentries; k++) {
        group_entry *e = &entries[k];
        jn_val *context = e->data;
        jn_frame *fenv = env;
        if (reduce) {
            jn_val *tuple = reduce_tuples(c, e->data);
            context = tuple_focus(tuple);
            jn_obj_del(c, tuple, "@", 1);
            fenv = frame_from_tuple(c, env, tuple);
        }
        jn_val *value = jn_eval(c, g->pairs[2 * e->pair + 1], context, fenv);
        if (value)
            jn_obj_set(c, result, keys->u.obj->keys[k], keys->u.obj->klens[k], value);
    }
    return result;
}

/* ---------------------------------------------------------------- paths */

static jn_val *eval_step(jn_ctx *c, const jn_node *step, jn_val *input, jn_frame *env, bool last)
{
    if (step->type == JN_N_SORT) {
        jn_val *r = eval_sort(c, step, input, env);
        return step->nstages ? eval_stages(c, step, r, env) : r;
    }
    jn_val *results = jn_seq(c);
    for (size_t i = 0; i < alen(input); i++) {
        jn_val *res = jn_eval(c, step, item(input, i), env);
        for (int s = 0; s < step->nstages; s++)
            if (step->stages[s]->type == JN_N_FILTER)
                res = eval_filter(c, step->stages[s]->expr, res, env);
        if (res)
            jn_push(c, results, res);
    }
    if (last && results->u.arr.len == 1 && jn_is_arr(item(results, 0)) &&
        !jn_is_seq(item(results, 0)))
        return item(results, 0);
    jn_val *flat = jn_seq(c);
    for (size_t i = 0; i < results->u.arr.len; i++) {
        jn_val *res = item(results, i);
        if (!jn_is_arr(res) || (res->flags & JN_CONS))
            jn_push(c, flat, res);
        else
            append_into(c, flat, res);
    }
    return flat;
}

static jn_val *eval_tuple_step(jn_ctx *c, const jn_node *step, jn_val *input, jn_val *tuples,
                               jn_frame *env)
{
    jn_val *result;
    if (step->type == JN_N_SORT) {
        if (tuples) {
            result = eval_sort(c, step, tuples, env);
        } else {
            jn_val *sorted = eval_sort(c, step, input, env);
            result = jn_seq(c);
            result->flags |= JN_TUPLES;
            for (size_t i = 0; i < alen(sorted); i++) {
                jn_val *t = jn_obj_new(c);
                jn_obj_set(c, t, "@", 1, item(sorted, i));
                if (step->index_var)
                    jn_obj_set(c, t, step->index_var, step->index_len, jn_num(c, (double)i));
                jn_push(c, result, t);
            }
        }
        return step->nstages ? eval_stages(c, step, result, env) : result;
    }
    result = jn_seq(c);
    result->flags |= JN_TUPLES;
    if (!tuples) {
        tuples = jn_seq(c);
        for (size_t i = 0; i < alen(input); i++) {
            jn_val *t = jn_obj_new(c);
            jn_obj_set(c, t, "@", 1, item(input, i));
            jn_push(c, tuples, t);
        }
    }
    for (size_t e = 0; e < alen(tuples); e++) {
        jn_val *t = item(tuples, e);
        jn_frame *stepenv = frame_from_tuple(c, env, t);
        jn_val *res = jn_eval(c, step, tuple_focus(t), stepenv);
        if (!res)
            continue;
        if (!jn_is_arr(res))
            res = seq_of(c, res);
        bool res_tuples = (res->flags & JN_TUPLES) != 0;
        for (size_t b = 0; b < res->u.arr.len; b++) {
            jn_val *nt = tuple_copy(c, t);
            jn_val *rb = item(res, b);
            if (res_tuples) {
                if (jn_is_obj(rb))
                    for (size_t k = 0; k < rb->u.obj->len; k++)
                        jn_obj_set(c, nt, rb->u.obj->keys[k], rb->u.obj->klens[k],
                                   rb->u.obj->vals[k]);
            } else {
                if (step->focus) {
                    jn_obj_set(c, nt, step->focus, step->focus_len, rb);
                    jn_obj_set(c, nt, "@", 1, tuple_focus(t));
                } else {
                    jn_obj_set(c, nt, "@", 1, rb);
                }
                if (step->index_var)
                    jn_obj_set(c, nt, step->index_var, step->index_len, jn_num(c, (double)b));
                if (step->ancestor)
                    jn_obj_set(c, nt, step->ancestor->label, strlen(step->ancestor->label),
                               tuple_focus(t));
            }
            jn_push(c, result, nt);
        }
    }
    return step->nstages ? eval_stages(c, step, result, env) : result;
}

static jn_val *eval_path(jn_ctx *c, const jn_node *e, jn_val *input, jn_frame *env)
{
    jn_val *inseq;
    if (jn_is_arr(input) && e->list[0]->type != JN_N_VARIABLE)
        inseq = input;
    else
        inseq = seq_of(c, input);
    jn_val *result = NULL, *tuples = NULL;
    bool tuple_mode = false;
    for (int i = 0; i < e->nlist; i++) {
        const jn_node *step = e->list[i];
        if (step->tuple)
            tuple_mode = true;
        if (i == 0 && step->consarray)
            result = jn_eval(c, step, inseq, env);
        else if (tuple_mode)
            tuples = eval_tuple_step(c, step, inseq, tuples, env);
        else
            result = eval_step(c, step, inseq, env, i == e->nlist - 1);
        if (!tuple_mode && (!result || (jn_is_arr(result) && result->u.arr.len == 0)))
            break;
        if (!step->focus)
            inseq = result;
    }
    if (tuple_mode) {
        if (e->tuple) {
            result = tuples;
        } else {
            result = jn_seq(c);
            for (size_t i = 0; i < alen(tuples); i++)
                jn_push(c, result, tuple_focus(item(tuples, i)));
        }
    }
    if (e->keep_singleton_array && result) {
        if (jn_is_arr(result) && (result->flags & JN_CONS) && !(result->flags & JN_SEQ))
            result = seq_of(c, result);
        if (jn_is_arr(result))
            result->flags |= JN_KEEP;
    }
    if (e->group)
        result = eval_group(c, e->group, tuple_mode ? tuples : result, env);
    return result;
}

/* ---------------------------------------------------------------- operators */

_Noreturn static void op_fail(jn_ctx *c, const char *code, const jn_node *e, const jn_val *v,
                              const jn_val *v2)
{
    jn_err d = {.token = jn_op_text(e->op),
                .value = v,
                .has_value = true,
                .value2 = v2,
                .has_value2 = v2 != NULL};
    jn_throw(c, code, e->pos, &d);
}

static jn_val *eval_numeric(jn_ctx *c, const jn_node *e, jn_val *l, jn_val *r)
{
    if (l && !jn_is_num(l))
        op_fail(c, "T2001", e, l, NULL);
    if (r && !jn_is_num(r))
        op_fail(c, "T2002", e, r, NULL);
    if (!l || !r)
        return NULL;
    double a = l->u.n, b = r->u.n, v = 0;
    switch (e->op) {
    case JN_OP_PLUS:
        v = a + b;
        break;
    case JN_OP_MINUS:
        v = a - b;
        break;
    case JN_OP_STAR:
        v = a * b;
        break;
    case JN_OP_SLASH:
        v = a / b;
        break;
    default:
        v = fmod(a, b);
        break;
    }
    if (!isfinite(v)) {
        jn_val s = {.kind = JN_STR,
                    .u.str = {isnan(v) ? "NaN"
                              : v > 0  ? "Infinity"
                                       : "-Infinity",
                              0}};
        s.u.str.len = strlen(s.u.str.s);
        jn_fail_value(c, "D1001", e->pos, &s);
    }
    return jn_num(c, v);
}

static jn_val *eval_comparison(jn_ctx *c, const jn_node *e, jn_val *l, jn_val *r)
{
    bool lok = !l || is_str_or_num(l), rok = !r || is_str_or_num(r);
    if (!lok || !rok)
        op_fail(c, "T2010", e, !(l && is_str_or_num(l)) ? l : r, NULL);
    if (!l || !r)
        return NULL;
    if (l->kind != r->kind)
        op_fail(c, "T2009", e, l, r);
    int cmp = compare_scalars(l, r);
    switch (e->op) {
    case JN_OP_LT:
        return jn_bool(cmp < 0);
    case JN_OP_LE:
        return jn_bool(cmp <= 0);
    case JN_OP_GT:
        return jn_bool(cmp > 0);
    default:
        return jn_bool(cmp >= 0);
    }
}

static bool strict_equal(const jn_val *a, const jn_val *b)
{
    if (a == b)
        return true;
    if (!a || !b || a->kind != b->kind)
        return false;
    switch (a->kind) {
    case JN_NULL:
        return true;
    case JN_BOOL:
        return a->u.b == b->u.b;
    case JN_NUM:
        return a->u.n == b->u.n;
    case JN_STR:
        return a->u.str.len == b->u.str.len && memcmp(a->u.str.s, b->u.str.s, a->u.str.len) == 0;
    default:
        return false;
    }
}

static jn_val *eval_range(jn_ctx *c, const jn_node *e, jn_val *l, jn_val *r)
{
    if (l && !(jn_is_num(l) && l->u.n == floor(l->u.n)))
        op_fail(c, "T2003", e, l, NULL);
    if (r && !(jn_is_num(r) && r->u.n == floor(r->u.n)))
        op_fail(c, "T2004", e, r, NULL);
    if (!l || !r || l->u.n > r->u.n)
        return NULL;
    double size = r->u.n - l->u.n + 1;
    if (size > 1e7) {
        jn_val *v = jn_num(c, size);
        op_fail(c, "D2014", e, v, NULL);
    }
    size_t n = (size_t)size;
    jn_charge(c, n);
    jn_val *seq = jn_arr(c, n);
    seq->flags = JN_SEQ;
    jn_val *nums = jn_alloc(c, n * sizeof *nums);
    for (size_t i = 0; i < n; i++) {
        nums[i].kind = JN_NUM;
        nums[i].u.n = l->u.n + (double)i;
        seq->u.arr.items[i] = &nums[i];
    }
    seq->u.arr.len = n;
    seq->depth = 1;
    return seq;
}

static jn_val *eval_binary(jn_ctx *c, const jn_node *e, jn_val *input, jn_frame *env)
{
    jn_val *l = jn_eval(c, e->lhs, input, env);
    if (e->op == JN_OP_AND)
        return jn_bool(jn_truthy(l) && jn_truthy(jn_eval(c, e->rhs, input, env)));
    if (e->op == JN_OP_OR)
        return jn_bool(jn_truthy(l) || jn_truthy(jn_eval(c, e->rhs, input, env)));
    jn_val *r = jn_eval(c, e->rhs, input, env);
    switch (e->op) {
    case JN_OP_PLUS:
    case JN_OP_MINUS:
    case JN_OP_STAR:
    case JN_OP_SLASH:
    case JN_OP_PERCENT:
        return eval_numeric(c, e, l, r);
    case JN_OP_EQ:
        return jn_bool(l && r && jn_deep_equal(c, l, r));
    case JN_OP_NE:
        return jn_bool(l && r && !jn_deep_equal(c, l, r));
    case JN_OP_LT:
    case JN_OP_LE:
    case JN_OP_GT:
    case JN_OP_GE:
        return eval_comparison(c, e, l, r);
    case JN_OP_AMP: {
        jn_val *ls = l ? jn_stringify(c, l, false) : NULL;
        jn_val *rs = r ? jn_stringify(c, r, false) : NULL;
        jn_sb b;
        jn_sb_init(&b, c);
        if (ls)
            jn_sb_add(&b, ls->u.str.s, ls->u.str.len);
        if (rs)
            jn_sb_add(&b, rs->u.str.s, rs->u.str.len);
        return jn_sb_val(&b);
    }
    case JN_OP_DOTDOT:
        return eval_range(c, e, l, r);
    case JN_OP_IN: {
        if (!l || !r)
            return &jn_false_val;
        if (!jn_is_arr(r))
            return jn_bool(strict_equal(r, l));
        for (size_t i = 0; i < r->u.arr.len; i++)
            if (strict_equal(item(r, i), l))
                return &jn_true_val;
        return &jn_false_val;
    }
    default:
        jn_fail(c, "S0201", e->pos);
    }
}

static jn_val *eval_unary(jn_ctx *c, const jn_node *e, jn_val *input, jn_frame *env)
{
    if (e->op == JN_OP_MINUS) {
        jn_val *v = jn_eval(c, e->expr, input, env);
        if (!v)
            return NULL;
        if (!jn_is_num(v)) {
            jn_err d = {.token = "-", .value = v, .has_value = true};
            jn_throw(c, "D1002", e->pos, &d);
        }
        return jn_num(c, -v->u.n);
    }
    if (e->op == JN_OP_LBRACKET) {
        jn_val *r = jn_arr(c, 0);
        for (int i = 0; i < e->nlist; i++) {
            const jn_node *it = e->list[i];
            jn_val *v = jn_eval(c, it, input, env);
            if (!v)
                continue;
            if (it->type == JN_N_UNARY && it->op == JN_OP_LBRACKET)
                jn_push(c, r, v);
            else
                append_into(c, r, v);
        }
        if (e->consarray)
            r->flags |= JN_CONS;
        return r;
    }
    return eval_group(c, e, input, env);
}

/* ---------------------------------------------------------------- wildcards */

static void flatten_into(jn_ctx *c, jn_val *acc, jn_val *v, int depth)
{
    jn_check_value_depth(c, depth);
    if (jn_is_arr(v))
        for (size_t i = 0; i < v->u.arr.len; i++)
            flatten_into(c, acc, item(v, i), depth + 1);
    else
        jn_push(c, acc, v);
}

static jn_val *eval_wildcard(jn_ctx *c, jn_val *input)
{
    jn_val *results = jn_seq(c);
    if (jn_is_arr(input) && (input->flags & JN_OUTER) && input->u.arr.len > 0)
        input = item(input, 0);
    if (!jn_is_obj(input))
        return results;
    for (size_t i = 0; i < input->u.obj->len; i++) {
        jn_val *v = input->u.obj->vals[i];
        if (jn_is_arr(v)) {
            flatten_into(c, results, v, 0);
            results->flags &= (uint8_t)~JN_SEQ; /* fn.append made a plain array */
        } else {
            jn_push(c, results, v);
        }
    }
    return results;
}

static void descendants(jn_ctx *c, jn_val *v, jn_val *acc, int depth)
{
    jn_check_value_depth(c, depth);
    if (!jn_is_arr(v))
        jn_push(c, acc, v);
    if (jn_is_arr(v)) {
        for (size_t i = 0; i < v->u.arr.len; i++)
            descendants(c, item(v, i), acc, depth + 1);
    } else if (jn_is_obj(v)) {
        for (size_t i = 0; i < v->u.obj->len; i++)
            descendants(c, v->u.obj->vals[i], acc, depth + 1);
    }
}

static jn_val *eval_descendants(jn_ctx *c, jn_val *input)
{
    if (!input)
        return NULL;
    jn_val *acc = jn_seq(c);
    descendants(c, input, acc, 0);
    return acc->u.arr.len == 1 ? item(acc, 0) : acc;
}

/* ---------------------------------------------------------------- functions */

static jn_val partial_hole;

int jn_func_arity(const jn_val *fn)
{
    return jn_is_func(fn) ? fn->u.fn->arity : 0;
}

static jn_val *apply_lambda(jn_ctx *c, jn_func *f, jn_val **args, int nargs)
{
    jn_frame *env = jn_frame_new(c, f->env);
    const jn_node *n = f->node;
    for (int i = 0; i < n->nlist; i++)
        jn_frame_bind(c, env, n->list[i]->name, n->list[i]->name_len, i < nargs ? args[i] : NULL);
    return jn_eval(c, n->body, f->input, env);
}

static jn_val *apply_transform(jn_ctx *c, jn_func *f, jn_val *obj, int pos);
static jn_val *apply_regex(jn_ctx *c, jn_func *f, jn_val **args, int nargs);

static jn_val *apply_inner(jn_ctx *c, jn_val *proc, jn_val **args, int nargs, jn_val *focus,
                           const char *name, int pos)
{
    if (!jn_is_func(proc))
        jn_fail(c, "T1006", pos);
    jn_func *f = proc->u.fn;
    if (f->sig) {
        const char *fname = f->kind == JN_F_BUILTIN ? f->builtin->name : name;
        args = jn_sig_validate(c, f->sig, args, nargs, focus, fname, pos, &nargs);
    }
    switch (f->kind) {
    case JN_F_LAMBDA:
        return apply_lambda(c, f, args, nargs);
    case JN_F_BUILTIN: {
        jn_val *r = f->builtin->fn(c, args, nargs, focus);
        return r;
    }
    case JN_F_PARTIAL: {
        jn_val **full = jn_alloc(c, (size_t)(f->nbound + 1) * sizeof *full);
        int next = 0;
        for (int i = 0; i < f->nbound; i++) {
            if (f->bound[i] == &partial_hole)
                full[i] = next < nargs ? args[next++] : NULL;
            else
                full[i] = f->bound[i];
        }
        return jn_apply(c, f->target, full, f->nbound, NULL, pos);
    }
    case JN_F_CHAIN: {
        jn_val *mid = jn_apply(c, f->target, args, nargs, NULL, pos);
        return jn_apply(c, f->second, &mid, 1, NULL, pos);
    }
    case JN_F_TRANSFORM:
        return apply_transform(c, f, nargs > 0 ? args[0] : NULL, pos);
    case JN_F_REGEX:
        return apply_regex(c, f, args, nargs);
    default:
        jn_fail(c, "T1006", pos);
    }
}

static jn_val *apply_named(jn_ctx *c, jn_val *proc, jn_val **args, int nargs, jn_val *focus,
                           const char *name, int pos)
{
    jn_val *result = apply_inner(c, proc, args, nargs, focus, name, pos);
    while (jn_is_func(result) && result->u.fn->kind == JN_F_LAMBDA && result->u.fn->thunk) {
        /* a tail call: evaluate its target and arguments, then call it here */
        jn_charge(c, 1);
        jn_func *t = result->u.fn;
        const jn_node *call = t->node->body;
        jn_val *next = jn_eval(c, call->procedure, t->input, t->env);
        jn_val **targs = jn_alloc(c, (size_t)(call->nlist + 1) * sizeof *targs);
        for (int i = 0; i < call->nlist; i++)
            targs[i] = jn_eval(c, call->list[i], t->input, t->env);
        const char *tname = call->procedure->type == JN_N_VARIABLE
                                ? name_text(c, call->procedure->name, call->procedure->name_len)
                                : name;
        result = apply_inner(c, next, targs, call->nlist, focus, tname, call->pos);
    }
    return result;
}

jn_val *jn_apply(jn_ctx *c, jn_val *fn, jn_val **args, int nargs, jn_val *focus, int pos)
{
    return apply_named(c, fn, args, nargs, focus, NULL, pos);
}

static const char *procedure_name(jn_ctx *c, const jn_node *proc)
{
    if (proc->type == JN_N_PATH && proc->list[0]->name)
        return name_text(c, proc->list[0]->name, proc->list[0]->name_len);
    if (proc->type == JN_N_VARIABLE)
        return name_text(c, proc->name, proc->name_len);
    return NULL;
}

/* A call on a name that is a function without its $: tell the user. */
static void check_forgotten_dollar(jn_ctx *c, const jn_node *e, jn_val *proc, jn_frame *env,
                                   const char *code)
{
    const jn_node *p = e->procedure;
    if (proc || p->type != JN_N_PATH || !p->list[0]->name)
        return;
    bool found;
    jn_val *v = jn_lookup(c, env, p->list[0]->name, p->list[0]->name_len, &found);
    if (v) {
        jn_err d = {.token = procedure_name(c, p)};
        jn_throw(c, code, e->pos, &d);
    }
}

static jn_val *eval_function(jn_ctx *c, const jn_node *e, jn_val *input, jn_frame *env,
                             jn_val *applyto, bool has_applyto)
{
    jn_val *proc = jn_eval(c, e->procedure, input, env);
    check_forgotten_dollar(c, e, proc, env, "T1005");
    int n = e->nlist + (has_applyto ? 1 : 0);
    jn_val **args = jn_alloc(c, (size_t)(n + 1) * sizeof *args);
    int k = 0;
    if (has_applyto)
        args[k++] = applyto;
    for (int i = 0; i < e->nlist; i++)
        args[k++] = jn_eval(c, e->list[i], input, env);
    jn_frame *saved = c->env;
    c->env = env;
    jn_val *r = apply_named(c, proc, args, n, input, procedure_name(c, e->procedure), e->pos);
    c->env = saved;
    return r;
}

/* Marks the ? arguments of a partial application. */
static jn_val partial_hole = {.kind = JN_NULL};

static jn_val *eval_partial(jn_ctx *c, const jn_node *e, jn_val *input, jn_frame *env)
{
    jn_val **bound = jn_alloc(c, (size_t)(e->nlist + 1) * sizeof *bound);
    int holes = 0;
    for (int i = 0; i < e->nlist; i++) {
        if (e->list[i]->type == JN_N_PLACEHOLDER) {
            bound[i] = &partial_hole;
            holes++;
        } else {
            bound[i] = jn_eval(c, e->list[i], input, env);
        }
    }
    jn_val *proc = jn_eval(c, e->procedure, input, env);
    check_forgotten_dollar(c, e, proc, env, "T1007");
    if (!jn_is_func(proc)) {
        jn_err d = {.token = procedure_name(c, e->procedure)};
        jn_throw(c, "T1008", e->pos, &d);
    }
    jn_val *v = jn_func_new(c, JN_F_PARTIAL);
    v->u.fn->target = proc;
    v->u.fn->bound = bound;
    v->u.fn->nbound = e->nlist;
    v->u.fn->arity = holes;
    return v;
}

static jn_val *eval_apply(jn_ctx *c, const jn_node *e, jn_val *input, jn_frame *env)
{
    jn_val *lhs = jn_eval(c, e->lhs, input, env);
    if (e->rhs->type == JN_N_FUNCTION)
        return eval_function(c, e->rhs, input, env, lhs, true);
    jn_val *fn = jn_eval(c, e->rhs, input, env);
    if (!jn_is_func(fn))
        jn_fail_value(c, "T2006", e->pos, fn);
    if (jn_is_func(lhs)) {
        jn_val *v = jn_func_new(c, JN_F_CHAIN);
        v->u.fn->target = lhs;
        v->u.fn->second = fn;
        v->u.fn->arity = 1;
        return v;
    }
    return jn_apply(c, fn, &lhs, 1, input, e->pos);
}

static jn_val *eval_lambda(jn_ctx *c, const jn_node *e, jn_val *input, jn_frame *env)
{
    jn_val *v = jn_func_new(c, JN_F_LAMBDA);
    jn_func *f = v->u.fn;
    f->node = e;
    f->env = env;
    f->input = input;
    f->sig = e->sig;
    f->thunk = e->thunk;
    f->arity = e->nlist;
    return v;
}

/* ---------------------------------------------------------------- transform */

static jn_val *apply_transform(jn_ctx *c, jn_func *f, jn_val *obj, int pos)
{
    if (!obj)
        return NULL;
    const jn_node *e = f->node;
    jn_val *clone = lookup(c, f->env, "clone", 5);
    if (!jn_is_func(clone))
        jn_fail(c, "T2013", e->pos);
    jn_val *result = jn_apply(c, clone, &obj, 1, NULL, e->pos);
    jn_val *matches = jn_eval(c, e->pattern, result, f->env);
    if (!matches)
        return result;
    if (!jn_is_arr(matches))
        matches = seq_of(c, matches);
    for (size_t i = 0; i < matches->u.arr.len; i++) {
        jn_val *m = item(matches, i);
        jn_val *update = jn_eval(c, e->update, m, f->env);
        if (update) {
            if (!jn_is_obj(update))
                jn_fail_value(c, "T2011", e->update->pos, update);
            if (jn_is_obj(m))
                for (size_t k = 0; k < update->u.obj->len; k++)
                    jn_obj_set(c, m, update->u.obj->keys[k], update->u.obj->klens[k],
                               update->u.obj->vals[k]);
        }
        if (!e->del)
            continue;
        jn_val *dels = jn_eval(c, e->del, m, f->env);
        if (!dels)
            continue;
        jn_val *val = dels;
        if (!jn_is_arr(dels))
            dels = seq_of(c, dels);
        if (!jn_is_array_of_strings(dels))
            jn_fail_value(c, "T2012", e->del->pos, val);
        if (jn_is_obj(m))
            for (size_t k = 0; k < dels->u.arr.len; k++)
                jn_obj_del(c, m, item(dels, k)->u.str.s, item(dels, k)->u.str.len);
    }
    (void)pos;
    return result;
}

static jn_val *eval_transform(jn_ctx *c, const jn_node *e, jn_frame *env)
{
    static const char SIG[] = "<(oa):o>";
    const char *code;
    jn_val *v = jn_func_new(c, JN_F_TRANSFORM);
    v->u.fn->node = e;
    v->u.fn->env = env;
    v->u.fn->sig = jn_sig_parse(&c->arena, SIG, sizeof SIG - 1, &code);
    v->u.fn->arity = 1;
    return v;
}

/* ---------------------------------------------------------------- regex values */

/* Calling a regex value directly gives the first match as jsonata-js's matcher object
 * (without its next() function). */
static jn_val *apply_regex(jn_ctx *c, jn_func *f, jn_val **args, int nargs)
{
    jn_val *s = nargs > 0 ? args[0] : NULL;
    if (!jn_is_str(s))
        return NULL;
    jn_match m;
    if (!jn_regex_exec(c, f->re, s->u.str.s, s->u.str.len, 0, &m))
        return NULL;
    jn_val *o = jn_obj_new(c);
    jn_obj_set(c, o, "match", 5, jn_str(c, s->u.str.s + m.start, m.end - m.start));
    jn_obj_set(c, o, "start", 5, jn_num(c, (double)jn_utf8_len(s->u.str.s, m.start)));
    jn_obj_set(c, o, "end", 3, jn_num(c, (double)jn_utf8_len(s->u.str.s, m.end)));
    jn_val *groups = jn_arr(c, 0);
    for (int g = 0; g < m.ngroups; g++) {
        long a = m.groups[2 * g], b = m.groups[2 * g + 1];
        jn_push(c, groups,
                a < 0 || b < 0 ? jn_str(c, "", 0) : jn_str(c, s->u.str.s + a, (size_t)(b - a)));
    }
    jn_obj_set(c, o, "groups", 6, groups);
    return o;
}

static jn_val *regex_value(jn_ctx *c, const jn_node *e)
{
    jn_val *v = jn_func_new(c, JN_F_REGEX);
    v->u.fn->re = e->re;
    v->u.fn->arity = 1;
    return v;
}

/* ---------------------------------------------------------------- evaluate */

static jn_val *eval_variable(jn_ctx *c, const jn_node *e, jn_val *input, jn_frame *env)
{
    if (e->name_len == 0) {
        if (jn_is_arr(input) && (input->flags & JN_OUTER))
            return item(input, 0);
        return input;
    }
    return lookup(c, env, e->name, e->name_len);
}

static jn_val *eval_block(jn_ctx *c, const jn_node *e, jn_val *input, jn_frame *env)
{
    jn_frame *frame = jn_frame_new(c, env);
    jn_val *r = NULL;
    for (int i = 0; i < e->nlist; i++)
        r = jn_eval(c, e->list[i], input, frame);
    return r;
}

static jn_val *eval_node(jn_ctx *c, const jn_node *e, jn_val *input, jn_frame *env)
{
    jn_val *v;
    switch (e->type) {
    case JN_N_PATH:
        return eval_path(c, e, input, env);
    case JN_N_BINARY:
        return eval_binary(c, e, input, env);
    case JN_N_UNARY:
        return eval_unary(c, e, input, env);
    case JN_N_NAME:
        return lookup_field(c, input, e->name, e->name_len);
    case JN_N_STRING:
    case JN_N_NUMBER:
    case JN_N_VALUE:
        return e->lit->kind == JN_NULL   ? &jn_null_val
               : e->lit->kind == JN_BOOL ? jn_bool(e->lit->u.b)
                                         : e->lit;
    case JN_N_WILDCARD:
        return eval_wildcard(c, input);
    case JN_N_DESCENDANT:
        return eval_descendants(c, input);
    case JN_N_PARENT:
        return lookup(c, env, e->slot->label, strlen(e->slot->label));
    case JN_N_CONDITION:
        if (jn_truthy(jn_eval(c, e->cond, input, env)))
            return jn_eval(c, e->then_, input, env);
        return e->else_ ? jn_eval(c, e->else_, input, env) : NULL;
    case JN_N_COALESCE:
        v = jn_eval(c, e->cond, input, env);
        return v ? v : jn_eval(c, e->else_, input, env);
    case JN_N_ELVIS:
        v = jn_eval(c, e->cond, input, env);
        return jn_truthy(v) ? v : jn_eval(c, e->else_, input, env);
    case JN_N_BLOCK:
        return eval_block(c, e, input, env);
    case JN_N_BIND:
        v = jn_eval(c, e->rhs, input, env);
        jn_frame_bind(c, env, e->lhs->name, e->lhs->name_len, v);
        return v;
    case JN_N_REGEX:
        return regex_value(c, e);
    case JN_N_FUNCTION:
        return eval_function(c, e, input, env, NULL, false);
    case JN_N_VARIABLE:
        return eval_variable(c, e, input, env);
    case JN_N_LAMBDA:
        return eval_lambda(c, e, input, env);
    case JN_N_PARTIAL:
        return eval_partial(c, e, input, env);
    case JN_N_APPLY:
        return eval_apply(c, e, input, env);
    case JN_N_TRANSFORM:
        return eval_transform(c, e, env);
    case JN_N_SORT:
        return eval_sort(c, e, input, env);
    default:
        return NULL;
    }
}

jn_val *jn_eval(jn_ctx *c, const jn_node *e, jn_val *input, jn_frame *env)
{
    if (++c->depth > JSONATA_MAX_DEPTH) {
        jn_err d = {.message = "Stack overflow error: Check for non-terminating recursive "
                               "function.  Consider rewriting as tail-recursive."};
        jn_throw(c, "U1001", e->pos, &d);
    }
    jn_charge(c, 1);
    jn_val *r = eval_node(c, e, input, env);
    for (int i = 0; i < e->npreds; i++)
        r = eval_filter(c, e->preds[i]->expr, r, env);
    if (e->type != JN_N_PATH && e->group)
        r = eval_group(c, e->group, r, env);
    if (jn_is_seq(r) && !(r->flags & JN_TUPLES)) {
        if (e->keep_array)
            r->flags |= JN_KEEP;
        if (r->u.arr.len == 0)
            r = NULL;
        else if (r->u.arr.len == 1 && !(r->flags & JN_KEEP))
            r = item(r, 0);
    }
    c->depth--;
    return r;
}
