/* The public JSONata API: compile an expression once, evaluate it against JSON input with
 * variable bindings, under the limits of jsonata.h. Each evaluation gets a fresh arena;
 * errors unwind to jsonata_evaluate() with longjmp and the arena goes with them. */
#include "common/ids.h"
#include "common/utf8.h"
#include "jsonata/jsonata_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

struct jsonata_expr {
    jn_arena arena;
    jn_node *root;
};

/* The offset of the first byte that is not well-formed UTF-8, or -1. */
static long invalid_utf8_at(const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len =
            (unsigned char)s[i] < 0x80 ? 1 : utf8_decode((const unsigned char *)s + i, n - i, &cp);
        if (len == 0)
            return (long)i;
        i += len;
    }
    return -1;
}

jsonata_expr *jsonata_compile(const char *src, char *err, size_t errlen)
{
    if (!src)
        src = "";
    long bad = invalid_utf8_at(src);
    if (bad >= 0) {
        /* JSONata text is Unicode; Step Functions definitions are JSON, always UTF-8 */
        jn_err d = {.token = "(not UTF-8)"};
        jn_format_error(err, errlen, "S0201", (int)bad, &d);
        return NULL;
    }
    jsonata_expr *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "U1001: out of memory");
        return NULL;
    }
    /* the tree is proportional to the text; the limit only guards against surprises */
    e->arena.limit = JSONATA_MAX_MEMORY;
    e->root = jn_parse(src, &e->arena, err, errlen);
    if (!e->root) {
        jsonata_free(e);
        return NULL;
    }
    return e;
}

void jsonata_free(jsonata_expr *e)
{
    if (!e)
        return;
    jn_arena_free(&e->arena);
    free(e);
}

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec * 1000.0 + (double)(tv.tv_usec / 1000);
}

/* Binds each entry of the bindings object, and "$" (what $$ reads) to the input. */
static jn_frame *global_frame(jn_ctx *c, json_t *bindings, jn_val *input)
{
    jn_frame *f = jn_frame_new(c, NULL);
    if (json_is_object(bindings)) {
        const char *k;
        size_t klen;
        json_t *v;
        json_object_keylen_foreach(bindings, k, klen, v)
        {
            char *name = jn_alloc(c, klen + 1);
            memcpy(name, k, klen);
            jn_frame_bind(c, f, name, klen, jn_from_json(c, v));
        }
    }
    jn_frame_bind(c, f, "$", 1, input);
    return f;
}

static json_t *run(jn_ctx *c, const jsonata_expr *e, json_t *input, json_t *bindings)
{
    jn_val *in = jn_from_json(c, input);
    c->global = global_frame(c, bindings, in);
    if (jn_is_arr(in)) {
        /* an input array is one value: $ is the whole array */
        jn_val *wrap = jn_seq(c);
        jn_push(c, wrap, in);
        wrap->flags |= JN_OUTER;
        in = wrap;
    }
    jn_val *r = jn_eval(c, e->root, in, c->global);
    return jn_to_json(c, r);
}

json_t *jsonata_evaluate(const jsonata_expr *e, json_t *input, json_t *bindings, char *err,
                         size_t errlen, int *failed)
{
    jn_ctx *volatile c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "U1001: out of memory");
        *failed = 1;
        return NULL;
    }
    c->arena.limit = JSONATA_MAX_MEMORY;
    c->err = err;
    c->errlen = errlen;
    c->deadline_ms = monotonic_ms() + JSONATA_MAX_MILLIS;
    c->next_clock_check = 4096;
    c->now_ms = wall_ms();
    c->rng = ids_random64();
    if (errlen)
        err[0] = '\0';
    *failed = 0;
    json_t *volatile out = NULL;
    if (setjmp(c->fail) == 0)
        out = run(c, e, input, bindings);
    else
        *failed = 1;
    jn_arena_free(&c->arena);
    free(c);
    return out;
}
