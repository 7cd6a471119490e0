/* Evaluation of DynamoDB condition, filter and key condition expressions against an item,
 * and projections.
 *
 * Conditions follow DynamoDB's semantics: an operand that does not exist, or operands of
 * different types, make a comparison false (except <>, which is then true), never an error;
 * <, <=, >, >= and BETWEEN order S by UTF-8 bytes, N numerically and B by bytes, and are
 * false for other types; size() of a number, boolean or null is no value at all.
 *
 * A projection rebuilds the maps leading to each requested path. Requested list elements
 * are placed at their index with JSON nulls as holes, and the holes are squashed at the
 * end, so "a[3], a[1]" returns a's elements 1 and 3 in list order, as DynamoDB does. */
#include "common/alloc.h"
#include "services/dynamodb/ddb_expr_internal.h"
#include "services/dynamodb/ddb_number.h"
#include "services/dynamodb/ddb_value.h"

#include <string.h>

/* ------------------------------------------------------------------------- paths */

json_t *ddb_path_get(const json_t *item, const ddb_path *path)
{
    if (!item || path->n == 0 || path->elems[0].is_index)
        return NULL;
    json_t *v = json_object_getn(item, path->elems[0].name, path->elems[0].len);
    for (size_t i = 1; v && i < path->n; i++) {
        const ddb_path_elem *e = &path->elems[i];
        ddb_type t = ddb_type_of(v);
        json_t *payload = ddb_payload(v);
        if (e->is_index)
            v = t == DDB_L ? json_array_get(payload, e->index) : NULL;
        else
            v = t == DDB_M ? json_object_getn(payload, e->name, e->len) : NULL;
        if (json_is_null(v))
            v = NULL;
    }
    return v;
}

/* ---------------------------------------------------------------------- operands */

/* An evaluated operand: a borrowed value, or one made here (size()) that is owned. */
typedef struct operand {
    json_t *v;
    int owned;
} operand;

static void operand_drop(operand *o)
{
    if (o->owned)
        json_decref(o->v);
}

static size_t size_of(const json_t *av, int *ok)
{
    json_t *p = ddb_payload(av);
    buf b = BUF_INIT;
    size_t n = 0;
    *ok = 1;
    switch (ddb_type_of(av)) {
    case DDB_S:
        return json_string_length(p);
    case DDB_B:
        ddb_base64_decode(json_string_value(p), json_string_length(p), &b);
        n = b.len;
        buf_free(&b);
        return n;
    case DDB_SS:
    case DDB_NS:
    case DDB_BS:
    case DDB_L:
        return json_array_size(p);
    case DDB_M:
        return json_object_size(p);
    default:
        *ok = 0;
        return 0;
    }
}

static operand eval_operand(const ddb_node *n, const json_t *item)
{
    operand o = {NULL, 0};
    if (n->kind == ND_PATH) {
        o.v = ddb_path_get(item, &n->path);
    } else if (n->kind == ND_VALUE) {
        o.v = (json_t *)n->value;
    } else if (n->kind == ND_CALL && n->op == FN_SIZE) {
        operand arg = eval_operand(n->args[0], item);
        int ok = 0;
        size_t size = arg.v ? size_of(arg.v, &ok) : 0;
        operand_drop(&arg);
        if (ok) {
            ddb_number x;
            ddb_number_from_u64(&x, size);
            buf b = BUF_INIT;
            ddb_number_format(&x, &b);
            o.v = json_pack("{s:s}", "N", b.data);
            o.owned = 1;
            buf_free(&b);
        }
    }
    return o;
}

/* ------------------------------------------------------------------- comparisons */

static int orderable(ddb_type t)
{
    return t == DDB_S || t == DDB_N || t == DDB_B;
}

static int compare(ddb_cmp op, const json_t *a, const json_t *b)
{
    if (op == CMP_NE)
        return !(a && b && ddb_value_equal(a, b));
    if (!a || !b)
        return 0;
    ddb_type t = ddb_type_of(a);
    if (t != ddb_type_of(b))
        return 0;
    if (op == CMP_EQ)
        return ddb_value_equal(a, b);
    if (!orderable(t))
        return 0;
    int c = ddb_key_cmp(a, b);
    switch (op) {
    case CMP_LT:
        return c < 0;
    case CMP_LE:
        return c <= 0;
    case CMP_GT:
        return c > 0;
    default:
        return c >= 0;
    }
}

static int between(const json_t *a, const json_t *lo, const json_t *hi)
{
    if (!a || !lo || !hi)
        return 0;
    ddb_type t = ddb_type_of(a);
    if (!orderable(t) || t != ddb_type_of(lo) || t != ddb_type_of(hi))
        return 0;
    return ddb_key_cmp(a, lo) >= 0 && ddb_key_cmp(a, hi) <= 0;
}

/* The raw bytes of an S (as is) or B (decoded) value, into b. */
static void bytes_of(const json_t *av, buf *b)
{
    json_t *p = ddb_payload(av);
    if (ddb_type_of(av) == DDB_B)
        ddb_base64_decode(json_string_value(p), json_string_length(p), b);
    else
        buf_append(b, json_string_value(p), json_string_length(p));
}

static int begins_with(const json_t *a, const json_t *prefix)
{
    if (!a || !prefix)
        return 0;
    ddb_type t = ddb_type_of(a);
    if ((t != DDB_S && t != DDB_B) || t != ddb_type_of(prefix))
        return 0;
    buf x = BUF_INIT, y = BUF_INIT;
    bytes_of(a, &x);
    bytes_of(prefix, &y);
    int r = y.len <= x.len && (y.len == 0 || memcmp(x.data, y.data, y.len) == 0);
    buf_free(&x);
    buf_free(&y);
    return r;
}

static int bytes_contain(const json_t *a, const json_t *needle)
{
    buf x = BUF_INIT, y = BUF_INIT;
    bytes_of(a, &x);
    bytes_of(needle, &y);
    int r = y.len == 0 || (x.len >= y.len && memmem(x.data, x.len, y.data, y.len) != NULL);
    buf_free(&x);
    buf_free(&y);
    return r;
}

/* Whether a set's members (strings of its payload) include the scalar b. */
static int set_has(ddb_type member_type, const json_t *set, const json_t *b)
{
    json_t *members = ddb_payload(set);
    size_t i;
    json_t *m;
    json_array_foreach(members, i, m)
    {
        json_t *av = json_object();
        json_object_set(av, ddb_type_name(member_type), m);
        int eq = ddb_value_equal(av, b);
        json_decref(av);
        if (eq)
            return 1;
    }
    return 0;
}

static int contains(const json_t *a, const json_t *b)
{
    if (!a || !b)
        return 0;
    ddb_type ta = ddb_type_of(a), tb = ddb_type_of(b);
    switch (ta) {
    case DDB_S:
    case DDB_B:
        return ta == tb && bytes_contain(a, b);
    case DDB_SS:
        return tb == DDB_S && set_has(DDB_S, a, b);
    case DDB_NS:
        return tb == DDB_N && set_has(DDB_N, a, b);
    case DDB_BS:
        return tb == DDB_B && set_has(DDB_B, a, b);
    case DDB_L: {
        size_t i;
        json_t *m;
        json_array_foreach(ddb_payload(a), i, m) if (ddb_value_equal(m, b)) return 1;
        return 0;
    }
    default:
        return 0;
    }
}

static int attribute_type_is(const json_t *a, const json_t *type)
{
    if (!a || ddb_type_of(type) != DDB_S)
        return 0;
    json_t *p = ddb_payload(type);
    return ddb_type_of(a) == ddb_type_from_name(json_string_value(p), json_string_length(p));
}

static int eval_call(const ddb_node *n, const json_t *item)
{
    operand a = eval_operand(n->args[0], item);
    operand b = n->nargs > 1 ? eval_operand(n->args[1], item) : (operand){NULL, 0};
    int r = 0;
    switch (n->op) {
    case FN_ATTRIBUTE_EXISTS:
        r = a.v != NULL;
        break;
    case FN_ATTRIBUTE_NOT_EXISTS:
        r = a.v == NULL;
        break;
    case FN_ATTRIBUTE_TYPE:
        r = b.v && attribute_type_is(a.v, b.v);
        break;
    case FN_BEGINS_WITH:
        r = begins_with(a.v, b.v);
        break;
    case FN_CONTAINS:
        r = contains(a.v, b.v);
        break;
    default:
        r = 0;
        break;
    }
    operand_drop(&a);
    operand_drop(&b);
    return r;
}

int ddb_eval_condition(const ddb_node *n, const json_t *item)
{
    switch (n->kind) {
    case ND_AND:
        return ddb_eval_condition(n->args[0], item) && ddb_eval_condition(n->args[1], item);
    case ND_OR:
        return ddb_eval_condition(n->args[0], item) || ddb_eval_condition(n->args[1], item);
    case ND_NOT:
        return !ddb_eval_condition(n->args[0], item);
    case ND_CALL:
        return eval_call(n, item);
    case ND_CMP: {
        operand a = eval_operand(n->args[0], item), b = eval_operand(n->args[1], item);
        int r = compare((ddb_cmp)n->op, a.v, b.v);
        operand_drop(&a);
        operand_drop(&b);
        return r;
    }
    case ND_BETWEEN: {
        operand a = eval_operand(n->args[0], item), lo = eval_operand(n->args[1], item),
                hi = eval_operand(n->args[2], item);
        int r = between(a.v, lo.v, hi.v);
        operand_drop(&a);
        operand_drop(&lo);
        operand_drop(&hi);
        return r;
    }
    case ND_IN: {
        operand a = eval_operand(n->args[0], item);
        int r = 0;
        for (size_t i = 1; a.v && i < n->nargs && !r; i++) {
            operand b = eval_operand(n->args[i], item);
            r = b.v && ddb_value_equal(a.v, b.v);
            operand_drop(&b);
        }
        operand_drop(&a);
        return r;
    }
    default:
        return 0;
    }
}

int ddb_condition_matches(const ddb_exprs *e, ddb_expr_kind kind, const json_t *item)
{
    const ddb_node *root = kind == DDB_EXPR_CONDITION       ? e->condition
                           : kind == DDB_EXPR_KEY_CONDITION ? e->key_condition
                           : kind == DDB_EXPR_FILTER        ? e->filter
                                                            : NULL;
    if (!root)
        return 1;
    return ddb_eval_condition(root, item);
}

/* -------------------------------------------------------------------- projection */

void ddb_squash_holes(json_t *v)
{
    if (json_is_array(v)) {
        for (size_t i = json_array_size(v); i-- > 0;) {
            if (json_is_null(json_array_get(v, i)))
                json_array_remove(v, i);
            else
                ddb_squash_holes(json_array_get(v, i));
        }
    } else if (json_is_object(v)) {
        const char *k;
        json_t *child;
        json_object_foreach(v, k, child) ddb_squash_holes(child);
    }
}

/* The container value (an M or L AttributeValue) for element e under parent, made if
 * absent. parent is a name->value object (a map payload) or an array (a list payload). */
static json_t *child_container(json_t *parent, const ddb_path_elem *e, int list_next)
{
    json_t *child;
    if (e->is_index) {
        while (json_array_size(parent) <= e->index)
            json_array_append_new(parent, json_null());
        child = json_array_get(parent, e->index);
    } else {
        child = json_object_getn(parent, e->name, e->len);
    }
    if (child && !json_is_null(child))
        return child;
    child = list_next ? json_pack("{s:[]}", "L") : json_pack("{s:{}}", "M");
    if (e->is_index)
        json_array_set_new(parent, e->index, child);
    else
        json_object_setn_new(parent, e->name, e->len, child);
    return child;
}

json_t *ddb_project_paths(const ddb_path *paths, size_t n, const json_t *item)
{
    json_t *out = json_object();
    for (size_t i = 0; i < n; i++) {
        const ddb_path *p = &paths[i];
        json_t *v = ddb_path_get(item, p);
        if (!v)
            continue;
        json_t *parent = out;
        for (size_t k = 0; k + 1 < p->n; k++) {
            json_t *child = child_container(parent, &p->elems[k], p->elems[k + 1].is_index);
            parent = ddb_payload(child);
        }
        const ddb_path_elem *last = &p->elems[p->n - 1];
        if (last->is_index) {
            while (json_array_size(parent) <= last->index)
                json_array_append_new(parent, json_null());
            json_array_set_new(parent, last->index, json_deep_copy(v));
        } else {
            json_object_setn_new(parent, last->name, last->len, json_deep_copy(v));
        }
    }
    ddb_squash_holes(out);
    return out;
}

json_t *ddb_projection_apply(const ddb_exprs *e, const json_t *item)
{
    if (!e->projection)
        return json_deep_copy(item);
    return ddb_project_paths(e->projection, e->nprojection, item);
}
