/* JSONata function signatures ("<s-nn?:s>"), as jsonata-js's signature.js reads them.
 *
 * Each parameter is a set of type symbols (s string, n number, b boolean, l null,
 * o object, a array, f function, j any JSON value, x anything, (..) a choice) with a
 * modifier: ? optional, + one or more, - "use the context value when absent". The
 * arguments' symbols (m for undefined) are matched against the parameters the way
 * jsonata-js matches its generated regular expression: left to right, greedy, with
 * backtracking. The validated list then gets the context in place of a missing '-'
 * argument and a single value wrapped in an array for an 'a' parameter; a<t> checks
 * the array's items. */
#include "jsonata/jsonata_internal.h"

#include <string.h>

#define MAX_PARAMS 12

typedef struct sig_param {
    char set[12]; /* accepted symbols */
    char type;    /* s n b l o a f j x, or '(' for a choice */
    char subtype; /* a<t>: the item type */
    bool optional, many, context;
} sig_param;

struct jn_sig {
    sig_param params[MAX_PARAMS];
    int n;
};

int jn_sig_arity(const jn_sig *sig)
{
    return sig ? sig->n : 0;
}

static int closing(const char *s, size_t len, size_t start, char open, char close)
{
    int depth = 1;
    size_t i = start;
    while (i + 1 < len) {
        i++;
        if (s[i] == close) {
            if (--depth == 0)
                break;
        } else if (s[i] == open) {
            depth++;
        }
    }
    return (int)i;
}

jn_sig *jn_sig_parse(jn_arena *a, const char *s, size_t len, const char **code)
{
    jn_sig *sig = jn_arena_alloc(a, sizeof *sig);
    if (!sig) {
        *code = "U1001";
        return NULL;
    }
    sig_param *prev = NULL;
    for (size_t i = 1; i < len; i++) {
        char ch = s[i];
        if (ch == ':')
            break;
        sig_param *p = sig->n < MAX_PARAMS ? &sig->params[sig->n] : NULL;
        switch (ch) {
        case 's':
        case 'n':
        case 'b':
        case 'l':
        case 'o':
        case 'a':
        case 'f':
        case 'j':
        case 'x':
            if (!p) {
                *code = "S0402";
                return NULL;
            }
            p->type = ch;
            if (ch == 'a' || ch == 'x')
                strcpy(p->set, "asnblfom");
            else if (ch == 'j')
                strcpy(p->set, "asnblom");
            else if (ch == 'f')
                strcpy(p->set, "f");
            else {
                p->set[0] = ch;
                p->set[1] = 'm';
            }
            prev = p;
            sig->n++;
            break;
        case '-':
            if (prev)
                prev->context = true;
            break;
        case '?':
            if (prev)
                prev->optional = true;
            break;
        case '+':
            if (prev)
                prev->many = true;
            break;
        case '(': {
            int end = closing(s, len, i, '(', ')');
            if (!p || memchr(s + i, '<', (size_t)end - i)) {
                *code = "S0402";
                return NULL;
            }
            size_t n = (size_t)end - i - 1;
            if (n > sizeof p->set - 2)
                n = sizeof p->set - 2;
            memcpy(p->set, s + i + 1, n);
            p->set[n] = 'm';
            p->type = '(';
            prev = p;
            sig->n++;
            i = (size_t)end;
            break;
        }
        case '<': {
            if (!prev || (prev->type != 'a' && prev->type != 'f')) {
                *code = "S0401";
                return NULL;
            }
            int end = closing(s, len, i, '<', '>');
            if (prev->type == 'a')
                prev->subtype = s[i + 1];
            i = (size_t)end;
            break;
        }
        default:
            break;
        }
    }
    return sig;
}

static char symbol_of(const jn_val *v)
{
    if (!v)
        return 'm';
    switch (v->kind) {
    case JN_FUNC:
        return 'f';
    case JN_STR:
        return 's';
    case JN_NUM:
        return 'n';
    case JN_BOOL:
        return 'b';
    case JN_NULL:
        return 'l';
    case JN_ARR:
        return 'a';
    default:
        return 'o';
    }
}

/* Matches params[i..] against syms[j..]; counts[i] gets how many symbols each took. */
static bool match_from(const jn_sig *sig, int i, const char *syms, int len, int j, int *counts)
{
    if (i == sig->n)
        return j == len;
    const sig_param *p = &sig->params[i];
    int min = (p->optional || p->context) ? 0 : 1;
    int avail = 0;
    while (j + avail < len && strchr(p->set, syms[j + avail]))
        avail++;
    int max = p->many ? avail : (avail < 1 ? avail : 1);
    for (int k = max; k >= min; k--) {
        counts[i] = k;
        if (match_from(sig, i + 1, syms, len, j + k, counts))
            return true;
    }
    return false;
}

_Noreturn static void arg_error(jn_ctx *c, const char *code, const jn_val *v, int index,
                                const char *fname, int pos, const char *type)
{
    jn_err d = {.token = fname, .value = v, .has_value = true, .index = index, .type = type};
    jn_throw(c, code, pos, &d);
}

static const char *plural(char t)
{
    switch (t) {
    case 'a':
        return "arrays";
    case 'b':
        return "booleans";
    case 'f':
        return "functions";
    case 'n':
        return "numbers";
    case 'o':
        return "objects";
    case 's':
        return "strings";
    default:
        return NULL;
    }
}

static jn_val *checked_array(jn_ctx *c, const sig_param *p, jn_val *arg, char single, int index,
                             const char *fname, int pos)
{
    if (single == 'm')
        return NULL;
    if (p->subtype) {
        bool ok = true;
        if (single != 'a') {
            ok = single == p->subtype;
        } else if (arg->u.arr.len > 0) {
            char item = symbol_of(arg->u.arr.items[0]);
            ok = item == p->subtype;
            for (size_t k = 0; ok && k < arg->u.arr.len; k++)
                ok = symbol_of(arg->u.arr.items[k]) == item;
        }
        if (!ok)
            arg_error(c, "T0412", arg, index, fname, pos, plural(p->subtype));
    }
    if (single != 'a') {
        jn_val *wrapped = jn_arr(c, 1);
        jn_push(c, wrapped, arg);
        return wrapped;
    }
    return arg;
}

jn_val **jn_sig_validate(jn_ctx *c, const jn_sig *sig, jn_val **args, int nargs, jn_val *context,
                         const char *fname, int pos, int *out_n)
{
    char syms[64] = {0};
    int counts[MAX_PARAMS];
    if (nargs > (int)sizeof syms) {
        arg_error(c, "T0410", args[sizeof syms], (int)sizeof syms + 1, fname, pos, NULL);
    }
    for (int i = 0; i < nargs; i++)
        syms[i] = symbol_of(args[i]);
    if (!match_from(sig, 0, syms, nargs, 0, counts)) {
        /* find the first argument that no longer matches, as jsonata-js reports it */
        int good = 0;
        for (int i = 0; i < sig->n && good < nargs; i++) {
            const sig_param *p = &sig->params[i];
            int k = 0;
            while (good + k < nargs && strchr(p->set, syms[good + k]) && (p->many || k < 1))
                k++;
            if (k == 0 && !(p->optional || p->context))
                break;
            good += k;
        }
        arg_error(c, "T0410", good < nargs ? args[good] : NULL, good + 1, fname, pos, NULL);
    }
    int total = 0;
    for (int i = 0; i < sig->n; i++)
        total += counts[i] ? counts[i] : 1;
    jn_val **out = jn_alloc(c, (size_t)(total + 1) * sizeof *out);
    int n = 0, ai = 0;
    for (int i = 0; i < sig->n; i++) {
        const sig_param *p = &sig->params[i];
        if (counts[i] == 0) {
            if (p->context) {
                char sym = symbol_of(context);
                if (!strchr(p->set, sym))
                    arg_error(c, "T0411", context, ai + 1, fname, pos, NULL);
                out[n++] = context;
            } else {
                out[n++] = ai < nargs ? args[ai] : NULL;
                ai++;
            }
            continue;
        }
        for (int k = 0; k < counts[i]; k++, ai++) {
            jn_val *arg = args[ai];
            if (p->type == 'a')
                arg = checked_array(c, p, arg, syms[ai], ai + 1, fname, pos);
            out[n++] = arg;
        }
    }
    *out_n = n;
    return out;
}
