/* The UpdateExpression applier: old item in, new item out (see ddb_update_apply).
 *
 * As in DynamoDB, every SET value is computed from the item as it was before the update;
 * the actions are then applied in expression order to a copy. Their paths never overlap
 * (compile refuses that), so no action reads what another wrote, except through list
 * positions, which stay those of the original list: REMOVE leaves a hole (a JSON null)
 * instead of shifting the elements, and SET or ADD past the end of a list is queued and
 * appended at the end, in index order, once every action has run. Holes are squashed last.
 * So "REMOVE a[0], a[1]" removes the first two elements, and "SET a[9] = :x" on a
 * three-element list makes :x its fourth element. */
#include "common/alloc.h"
#include "services/dynamodb/ddb_expr_internal.h"
#include "services/dynamodb/ddb_number.h"
#include "services/dynamodb/ddb_value.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MSG_MISSING  "The provided expression refers to an attribute that does not exist in the item"
#define MSG_TYPE     "An operand in the update expression has an incorrect data type"
#define MSG_BAD_PATH "The document path provided in the update expression is invalid for update"

typedef struct pending_append {
    json_t *list; /* the array (an L payload) */
    uint32_t index;
    size_t seq;
    json_t *value; /* owned */
} pending_append;

typedef struct applier {
    char *err;
    size_t errlen;
    pending_append *appends;
    size_t nappends, cap;
    int holes;
} applier;

static int fail(applier *a, const char *msg)
{
    snprintf(a->err, a->errlen, "%s", msg);
    return -1;
}

/* ------------------------------------------------------------------- SET values */

static json_t *number_av(const ddb_number *x)
{
    buf b = BUF_INIT;
    ddb_number_format(x, &b);
    json_t *av = json_pack("{s:s}", "N", b.data);
    buf_free(&b);
    return av;
}

static int as_number(const json_t *av, ddb_number *x)
{
    json_t *p = ddb_payload(av);
    char err[8];
    return ddb_type_of(av) == DDB_N &&
           ddb_number_parse(x, json_string_value(p), json_string_length(p), err, sizeof err) == 0;
}

/* The value of a SET operand against the original item; a new reference or NULL. */
static json_t *eval_value(applier *a, const ddb_node *n, const json_t *item)
{
    switch (n->kind) {
    case ND_VALUE:
        return json_deep_copy(n->value);
    case ND_PATH: {
        json_t *v = ddb_path_get(item, &n->path);
        if (!v)
            fail(a, MSG_MISSING);
        return v ? json_deep_copy(v) : NULL;
    }
    case ND_PLUS:
    case ND_MINUS: {
        json_t *x = eval_value(a, n->args[0], item);
        if (!x)
            return NULL;
        ddb_number p, q, r;
        if (!as_number(x, &p)) {
            json_decref(x);
            fail(a, MSG_TYPE);
            return NULL;
        }
        json_decref(x);
        json_t *y = eval_value(a, n->args[1], item);
        if (!y)
            return NULL;
        int ok = as_number(y, &q);
        json_decref(y);
        if (!ok) {
            fail(a, MSG_TYPE);
            return NULL;
        }
        int rc = n->kind == ND_PLUS ? ddb_number_add(&r, &p, &q, a->err, a->errlen)
                                    : ddb_number_sub(&r, &p, &q, a->err, a->errlen);
        return rc == 0 ? number_av(&r) : NULL;
    }
    case ND_CALL:
        if (n->op == FN_IF_NOT_EXISTS) {
            json_t *v = ddb_path_get(item, &n->args[0]->path);
            return v ? json_deep_copy(v) : eval_value(a, n->args[1], item);
        }
        if (n->op == FN_LIST_APPEND) {
            json_t *x = eval_value(a, n->args[0], item);
            if (!x)
                return NULL;
            if (ddb_type_of(x) != DDB_L) {
                json_decref(x);
                fail(a, MSG_TYPE);
                return NULL;
            }
            json_t *y = eval_value(a, n->args[1], item);
            if (!y) {
                json_decref(x);
                return NULL;
            }
            if (ddb_type_of(y) != DDB_L) {
                json_decref(x);
                json_decref(y);
                fail(a, MSG_TYPE);
                return NULL;
            }
            json_array_extend(ddb_payload(x), ddb_payload(y));
            json_decref(y);
            return x;
        }
        fail(a, MSG_TYPE);
        return NULL;
    default:
        fail(a, MSG_TYPE);
        return NULL;
    }
}

/* ---------------------------------------------------------------- the targets */

/* The container that holds the last element of path in item: a name->value object (the
 * item itself or a map payload) or an array (a list payload); NULL with the error set if
 * the path leads through something that is missing or of the wrong kind. */
static json_t *target_parent(applier *a, json_t *item, const ddb_path *path)
{
    json_t *parent = item;
    for (size_t i = 0; i + 1 < path->n; i++) {
        const ddb_path_elem *e = &path->elems[i];
        json_t *child = e->is_index ? json_array_get(parent, e->index)
                                    : json_object_getn(parent, e->name, e->len);
        ddb_type want = path->elems[i + 1].is_index ? DDB_L : DDB_M;
        if (!child || json_is_null(child) || ddb_type_of(child) != want) {
            fail(a, MSG_BAD_PATH);
            return NULL;
        }
        parent = ddb_payload(child);
    }
    return parent;
}

static json_t *target_get(json_t *parent, const ddb_path_elem *e)
{
    json_t *v =
        e->is_index ? json_array_get(parent, e->index) : json_object_getn(parent, e->name, e->len);
    return json_is_null(v) ? NULL : v;
}

/* Stores value (taking the reference) at e under parent. */
static void target_set(applier *a, json_t *parent, const ddb_path_elem *e, json_t *value)
{
    if (!e->is_index) {
        json_object_setn_new(parent, e->name, e->len, value);
        return;
    }
    if (e->index < json_array_size(parent)) {
        json_array_set_new(parent, e->index, value);
        return;
    }
    XGROW(a->appends, a->nappends, a->cap);
    a->appends[a->nappends] =
        (pending_append){.list = parent, .index = e->index, .seq = a->nappends, .value = value};
    a->nappends++;
}

static void target_remove(applier *a, json_t *parent, const ddb_path_elem *e)
{
    if (!e->is_index) {
        json_object_deln(parent, e->name, e->len);
    } else if (e->index < json_array_size(parent)) {
        json_array_set_new(parent, e->index, json_null());
        a->holes = 1;
    }
}

/* --------------------------------------------------------------- ADD and DELETE */

/* Members of a set payload keyed by their text (numbers are canonical in stored items and
 * in expression values, so equal numbers have equal text). */
static json_t *member_index(const json_t *members)
{
    json_t *index = json_object();
    size_t i;
    json_t *m;
    json_array_foreach(members, i, m)
        json_object_setn_new(index, json_string_value(m), json_string_length(m), json_true());
    return index;
}

static int is_set(ddb_type t)
{
    return t == DDB_SS || t == DDB_NS || t == DDB_BS;
}

/* The set of canonical-text members; for NS, texts that are not canonical are normalised
 * first, so membership is numeric. */
static void canonicalize_members(ddb_type t, json_t *members)
{
    if (t != DDB_NS)
        return;
    size_t i;
    json_t *m;
    json_array_foreach(members, i, m)
    {
        buf b = BUF_INIT;
        char err[8];
        if (ddb_number_canonical(json_string_value(m), json_string_length(m), &b, err,
                                 sizeof err) == 0)
            json_string_setn_nocheck(m, b.data, b.len);
        buf_free(&b);
    }
}

static int apply_add(applier *a, json_t *parent, const ddb_path_elem *e, const json_t *value)
{
    json_t *existing = target_get(parent, e);
    ddb_type t = ddb_type_of(value);
    if (!existing) {
        target_set(a, parent, e, json_deep_copy(value));
        return 0;
    }
    if (ddb_type_of(existing) != t)
        return fail(a, MSG_TYPE);
    if (t == DDB_N) {
        ddb_number x, y, r;
        if (!as_number(existing, &x) || !as_number(value, &y))
            return fail(a, MSG_TYPE);
        if (ddb_number_add(&r, &x, &y, a->err, a->errlen) != 0)
            return -1;
        target_set(a, parent, e, number_av(&r));
        return 0;
    }
    if (!is_set(t))
        return fail(a, MSG_TYPE);
    json_t *members = ddb_payload(existing);
    canonicalize_members(t, members);
    json_t *index = member_index(members);
    json_t *added = json_deep_copy(ddb_payload(value));
    canonicalize_members(t, added);
    size_t i;
    json_t *m;
    json_array_foreach(added, i, m)
    {
        if (json_object_getn(index, json_string_value(m), json_string_length(m)))
            continue;
        json_object_setn_new(index, json_string_value(m), json_string_length(m), json_true());
        json_array_append(members, m);
    }
    json_decref(added);
    json_decref(index);
    return 0;
}

static int apply_delete(applier *a, json_t *parent, const ddb_path_elem *e, const json_t *value)
{
    json_t *existing = target_get(parent, e);
    if (!existing)
        return 0;
    ddb_type t = ddb_type_of(value);
    if (ddb_type_of(existing) != t || !is_set(t))
        return fail(a, MSG_TYPE);
    json_t *removed = json_deep_copy(ddb_payload(value));
    canonicalize_members(t, removed);
    json_t *index = member_index(removed);
    json_t *members = ddb_payload(existing);
    canonicalize_members(t, members);
    for (size_t i = json_array_size(members); i-- > 0;) {
        json_t *m = json_array_get(members, i);
        if (json_object_getn(index, json_string_value(m), json_string_length(m)))
            json_array_remove(members, i);
    }
    json_decref(index);
    json_decref(removed);
    if (json_array_size(members) == 0)
        target_remove(a, parent, e); /* no empty sets: the attribute goes */
    return 0;
}

/* ------------------------------------------------------------------------ apply */

static int cmp_appends(const void *pa, const void *pb)
{
    const pending_append *x = pa, *y = pb;
    if (x->list != y->list)
        return x->list < y->list ? -1 : 1;
    if (x->index != y->index)
        return x->index < y->index ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void flush_appends(applier *a)
{
    if (a->nappends > 1)
        qsort(a->appends, a->nappends, sizeof *a->appends, cmp_appends);
    for (size_t i = 0; i < a->nappends; i++)
        json_array_append_new(a->appends[i].list, a->appends[i].value);
    a->nappends = 0;
}

static void drop_appends(applier *a)
{
    for (size_t i = 0; i < a->nappends; i++)
        json_decref(a->appends[i].value);
    a->nappends = 0;
}

json_t *ddb_update_apply(const ddb_exprs *e, const json_t *item, char *err, size_t errlen)
{
    applier a = {.err = err, .errlen = errlen};
    json_t *out = item ? json_deep_copy(item) : json_object();
    json_t **values = xcalloc(e->nactions ? e->nactions : 1, sizeof *values);
    int rc = 0;
    for (size_t i = 0; i < e->nactions && rc == 0; i++) {
        if (e->actions[i]->kind != ND_SET)
            continue;
        values[i] = eval_value(&a, e->actions[i]->args[0], item);
        if (!values[i])
            rc = -1;
    }
    for (size_t i = 0; i < e->nactions && rc == 0; i++) {
        const ddb_node *act = e->actions[i];
        json_t *parent = target_parent(&a, out, &act->path);
        if (!parent) {
            rc = -1;
            break;
        }
        const ddb_path_elem *last = &act->path.elems[act->path.n - 1];
        switch (act->kind) {
        case ND_SET:
            target_set(&a, parent, last, values[i]);
            values[i] = NULL;
            break;
        case ND_REMOVE:
            target_remove(&a, parent, last);
            break;
        case ND_ADD:
            rc = apply_add(&a, parent, last, act->args[0]->value);
            break;
        case ND_DELETE:
            rc = apply_delete(&a, parent, last, act->args[0]->value);
            break;
        default:
            break;
        }
    }
    for (size_t i = 0; i < e->nactions; i++)
        json_decref(values[i]);
    xfree(values);
    if (rc != 0) {
        drop_appends(&a);
        xfree(a.appends);
        json_decref(out);
        return NULL;
    }
    flush_appends(&a);
    xfree(a.appends);
    if (a.holes)
        ddb_squash_holes(out);
    return out;
}

int ddb_update_check_keys(const ddb_exprs *e, const char *const *key_names, size_t nkeys, char *err,
                          size_t errlen)
{
    for (size_t i = 0; i < e->nactions; i++) {
        const ddb_path_elem *head = &e->actions[i]->path.elems[0];
        for (size_t k = 0; k < nkeys; k++) {
            if (strlen(key_names[k]) == head->len &&
                memcmp(key_names[k], head->name, head->len) == 0) {
                snprintf(err, errlen,
                         "One or more parameter values were invalid: Cannot update attribute %s. "
                         "This attribute is part of the key",
                         key_names[k]);
                return -1;
            }
        }
    }
    return 0;
}

json_t *ddb_update_project(const ddb_exprs *e, const json_t *item)
{
    return ddb_project_paths(e->update_paths, e->nactions, item);
}
