/* Intrinsic functions (see sfn_intrinsic.h).
 *
 * A call compiles to a tree: each node is a literal, a path or a call (a row of the
 * function table and its argument nodes). String literals keep their source text as
 * well as their value, because States.Format must tell an escaped brace `\{` from a
 * placeholder `{}`. Evaluation is bottom-up; every function receives its evaluated
 * arguments (new references) and returns a new reference or fails. */
#include "services/stepfunctions/sfn_intrinsic.h"

#include "common/alloc.h"
#include "common/buf.h"
#include "protocol/json_codec.h"
#include "services/stepfunctions/sfn_jsonpath.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARGS         64
#define MAX_RANGE        1000
#define MAX_ENCODE_INPUT 10000

typedef struct node node;
typedef int (*intrinsic_fn)(json_t **args, size_t n, json_t **out, sfn_error *e);

typedef struct function {
    const char *name;
    size_t min_args, max_args;
    intrinsic_fn run;
} function;

typedef enum { NODE_LITERAL, NODE_STRING, NODE_PATH, NODE_CALL } node_kind;

struct node {
    node_kind kind;
    json_t *literal;    /* NODE_LITERAL, NODE_STRING (the unescaped value) */
    char *raw;          /* NODE_STRING: the text between the quotes, escapes kept */
    sfn_path *path;     /* NODE_PATH */
    const function *fn; /* NODE_CALL */
    node **args;
    size_t nargs;
};

struct sfn_intrinsic {
    node *root;
};

static const function *find_function(const char *name, size_t len);

/* ---------------------------------------------------------------- tree */

static void node_free(node *n)
{
    if (!n)
        return;
    json_decref(n->literal);
    xfree(n->raw);
    sfn_path_free(n->path);
    for (size_t i = 0; i < n->nargs; i++)
        node_free(n->args[i]);
    xfree(n->args);
    xfree(n);
}

void sfn_intrinsic_free(sfn_intrinsic *f)
{
    if (!f)
        return;
    node_free(f->root);
    xfree(f);
}

/* ---------------------------------------------------------------- parser */

typedef struct parser {
    const char *s;
    size_t i;
    char *err;
    size_t errlen;
    int functions;
} parser;

static int fail(parser *ps, const char *what)
{
    snprintf(ps->err, ps->errlen, "%s at position %zu in '%s'", what, ps->i, ps->s);
    return -1;
}

static void skip_spaces(parser *ps)
{
    while (isspace((unsigned char)ps->s[ps->i]))
        ps->i++;
}

static bool is_name_char(char c)
{
    return isalnum((unsigned char)c) || c == '.';
}

bool sfn_intrinsic_is_call(const char *s)
{
    if (strncmp(s, "States.", 7) != 0)
        return false;
    size_t i = 7;
    while (is_name_char(s[i]))
        i++;
    return s[i] == '(';
}

static int parse_node(parser *ps, node **out);

/* A '...' literal from ps->i (at the quote). */
static int parse_string(parser *ps, node *n)
{
    size_t start = ++ps->i;
    buf value = BUF_INIT;
    for (;;) {
        char c = ps->s[ps->i];
        if (c == '\0') {
            buf_free(&value);
            return fail(ps, "Unterminated string literal");
        }
        ps->i++;
        if (c == '\'')
            break;
        if (c == '\\') {
            char next = ps->s[ps->i];
            if (next != '\'' && next != '\\' && next != '{' && next != '}') {
                buf_free(&value);
                return fail(ps, "Invalid escape sequence in string literal");
            }
            ps->i++;
            c = next;
        }
        buf_putc(&value, c);
    }
    n->kind = NODE_STRING;
    n->raw = xstrndup(ps->s + start, ps->i - 1 - start);
    n->literal = json_stringn(value.data ? value.data : "", value.len);
    buf_free(&value);
    if (!n->literal)
        return fail(ps, "String literal is not valid UTF-8");
    return 0;
}

/* A path: up to a ',' or ')' outside brackets and quotes. */
static int parse_path_arg(parser *ps, node *n)
{
    size_t start = ps->i;
    int depth = 0;
    char quote = 0;
    for (char c; (c = ps->s[ps->i]) != '\0'; ps->i++) {
        if (quote) {
            if (c == '\\' && ps->s[ps->i + 1])
                ps->i++;
            else if (c == quote)
                quote = 0;
        } else if (c == '\'' || c == '"') {
            quote = c;
        } else if (c == '[' || c == '(') {
            depth++;
        } else if ((c == ']' || c == ')') && depth > 0) {
            depth--;
        } else if (depth == 0 && (c == ',' || c == ')' || isspace((unsigned char)c))) {
            break;
        }
    }
    char *text = xstrndup(ps->s + start, ps->i - start);
    char why[256];
    n->kind = NODE_PATH;
    int rc = sfn_path_compile(text, &n->path, why, sizeof why);
    xfree(text);
    return rc == 0 ? 0 : fail(ps, "Invalid path argument");
}

static int parse_number(parser *ps, node *n)
{
    const char *start = ps->s + ps->i;
    char *end;
    errno = 0;
    double d = strtod(start, &end);
    size_t len = (size_t)(end - start);
    if (len == 0 || !isfinite(d) || start[0] == '+' ||
        !(isdigit((unsigned char)start[0]) || start[0] == '-' || start[0] == '.'))
        return fail(ps, "Invalid argument");
    ps->i += len;
    n->kind = NODE_LITERAL;
    bool integral = !memchr(start, '.', len) && !memchr(start, 'e', len) &&
                    !memchr(start, 'E', len) && fabs(d) < 9.2e18;
    if (integral) {
        long long v = strtoll(start, NULL, 10);
        n->literal = json_integer(v);
    } else {
        n->literal = json_real(d);
    }
    return 0;
}

static int parse_call(parser *ps, node *n)
{
    size_t start = ps->i;
    while (is_name_char(ps->s[ps->i]))
        ps->i++;
    n->kind = NODE_CALL;
    n->fn = find_function(ps->s + start, ps->i - start);
    if (!n->fn) {
        ps->i = start;
        return fail(ps, "Unknown intrinsic function");
    }
    if (++ps->functions > SFN_INTRINSIC_MAX_FUNCTIONS)
        return fail(ps, "Too many nested intrinsic functions (at most 10)");
    skip_spaces(ps);
    if (ps->s[ps->i] != '(')
        return fail(ps, "Expected '('");
    ps->i++;
    skip_spaces(ps);
    if (ps->s[ps->i] != ')') {
        for (;;) {
            if (n->nargs == MAX_ARGS)
                return fail(ps, "Too many arguments");
            n->args = xrealloc(n->args, (n->nargs + 1) * sizeof *n->args);
            n->args[n->nargs] = NULL;
            if (parse_node(ps, &n->args[n->nargs++]) != 0)
                return -1;
            skip_spaces(ps);
            if (ps->s[ps->i] == ')')
                break;
            if (ps->s[ps->i] != ',')
                return fail(ps, "Expected ',' or ')'");
            ps->i++;
        }
    }
    ps->i++;
    if (n->nargs < n->fn->min_args || n->nargs > n->fn->max_args) {
        snprintf(ps->err, ps->errlen,
                 "The intrinsic function %s takes %zu to %zu arguments, not %zu", n->fn->name,
                 n->fn->min_args, n->fn->max_args, n->nargs);
        return -1;
    }
    return 0;
}

static int parse_node(parser *ps, node **out)
{
    skip_spaces(ps);
    node *n = xcalloc(1, sizeof *n);
    *out = n;
    const char *s = ps->s + ps->i;
    if (*s == '\'')
        return parse_string(ps, n);
    if (*s == '$')
        return parse_path_arg(ps, n);
    if (strncmp(s, "States.", 7) == 0)
        return parse_call(ps, n);
    static const struct {
        const char *word;
        json_t *(*make)(void);
    } words[] = {{"true", json_true}, {"false", json_false}, {"null", json_null}};
    for (size_t k = 0; k < sizeof words / sizeof *words; k++) {
        size_t len = strlen(words[k].word);
        if (strncmp(s, words[k].word, len) == 0 && !isalnum((unsigned char)s[len])) {
            ps->i += len;
            n->kind = NODE_LITERAL;
            n->literal = words[k].make();
            return 0;
        }
    }
    return parse_number(ps, n);
}

int sfn_intrinsic_compile(const char *text, sfn_intrinsic **out, char *err, size_t errlen)
{
    parser ps = {text, 0, err, errlen, 0};
    *out = NULL;
    skip_spaces(&ps);
    if (!sfn_intrinsic_is_call(text + ps.i))
        return fail(&ps, "Expected an intrinsic function call");
    node *root = xcalloc(1, sizeof *root);
    if (parse_call(&ps, root) != 0) {
        node_free(root);
        return -1;
    }
    skip_spaces(&ps);
    if (text[ps.i] != '\0') {
        node_free(root);
        return fail(&ps, "Unexpected text after the intrinsic function");
    }
    *out = xcalloc(1, sizeof **out);
    (*out)->root = root;
    return 0;
}

/* ---------------------------------------------------------------- argument checks */

static int bad(sfn_error *e, const char *fmt, const char *fn)
{
    return sfn_error_set(e, "States.IntrinsicFailure", fmt, fn);
}

static bool is_int(const json_t *v)
{
    if (json_is_integer(v))
        return true;
    if (!json_is_real(v))
        return false;
    double d = json_real_value(v);
    return d == floor(d) && fabs(d) < 9e15;
}

static long long int_of(const json_t *v)
{
    return (long long)json_number_value(v);
}

/* MathAdd and MathRandom round other numbers to the nearest integer, as Java's Math.round
 * (halves up); false when v is not a number or out of range. */
static bool rounded(const json_t *v, long long *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return true;
    }
    if (!json_is_real(v))
        return false;
    double d = floor(json_real_value(v) + 0.5);
    if (!(d > -9.2e18 && d < 9.2e18))
        return false;
    *out = (long long)d;
    return true;
}

/* ---------------------------------------------------------------- functions */

/* Formats a value as States.Format inserts it: strings as they are, others as JSON. */
static void put_value(buf *out, const json_t *v)
{
    if (json_is_string(v))
        buf_append(out, json_string_value(v), json_string_length(v));
    else if (json_is_real(v) && is_int(v))
        buf_printf(out, "%lld", int_of(v));
    else
        jsonc_dump(out, v);
}

/* Format's template is its raw literal (or a string read from a path): `\{` is a brace,
 * `{}` a placeholder. */
static int format_with(const char *raw, json_t **args, size_t n, json_t **out, sfn_error *e)
{
    buf b = BUF_INIT;
    size_t used = 0;
    for (const char *p = raw; *p; p++) {
        if (*p == '\\' && p[1]) {
            buf_putc(&b, *++p);
        } else if (p[0] == '{' && p[1] == '}') {
            if (used == n)
                break;
            const json_t *v = args[used++];
            if (json_is_object(v) || json_is_array(v)) {
                buf_free(&b);
                return bad(e,
                           "The %s function can only format strings, numbers, booleans "
                           "and null",
                           "States.Format");
            }
            put_value(&b, v);
            p++;
        } else {
            buf_putc(&b, *p);
        }
    }
    size_t placeholders = 0;
    for (const char *p = raw; *p; p++) {
        if (*p == '\\' && p[1])
            p++;
        else if (p[0] == '{' && p[1] == '}')
            placeholders++, p++;
    }
    if (placeholders != n) {
        buf_free(&b);
        return bad(e,
                   "The number of arguments to %s does not match the number of "
                   "placeholders '{}' in its template",
                   "States.Format");
    }
    *out = json_stringn(b.data ? b.data : "", b.len);
    buf_free(&b);
    return *out ? 0 : bad(e, "%s produced invalid UTF-8", "States.Format");
}

static int fn_string_to_json(json_t **a, size_t n, json_t **out, sfn_error *e)
{
    if (!json_is_string(a[0]))
        return bad(e, "The argument of %s must be a string", "States.StringToJson");
    char err[256];
    *out = jsonc_parse(json_string_value(a[0]), json_string_length(a[0]), err, sizeof err);
    return *out ? 0 : bad(e, "The argument of %s is not valid JSON", "States.StringToJson");
}

static int fn_json_to_string(json_t **a, size_t n, json_t **out, sfn_error *e)
{
    buf b = BUF_INIT;
    jsonc_dump(&b, a[0]);
    *out = json_stringn(b.data, b.len);
    buf_free(&b);
    return 0;
}

static int fn_array(json_t **a, size_t n, json_t **out, sfn_error *e)
{
    *out = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append(*out, a[i]);
    return 0;
}

static int fn_array_partition(json_t **a, size_t n, json_t **out, sfn_error *e)
{
    if (!json_is_array(a[0]))
        return bad(e, "The first argument of %s must be an array", "States.ArrayPartition");
    if (!is_int(a[1]) || int_of(a[1]) <= 0)
        return bad(e, "The chunk size of %s must be a positive integer", "States.ArrayPartition");
    size_t chunk = (size_t)int_of(a[1]), len = json_array_size(a[0]);
    *out = json_array();
    for (size_t i = 0; i < len; i += chunk) {
        json_t *part = json_array();
        for (size_t j = i; j < len && j - i < chunk; j++)
            json_array_append(part, json_array_get(a[0], j));
        json_array_append_new(*out, part);
    }
    return 0;
}

static bool equal_values(const json_t *x, const json_t *y)
{
    if (json_is_number(x) && json_is_number(y))
        return json_number_value(x) == json_number_value(y);
    return json_equal(x, y);
}

static int fn_array_contains(json_t **a, size_t n, json_t **out, sfn_error *e)
{
    if (!json_is_array(a[0]))
        return bad(e, "The first argument of %s must be an array", "States.ArrayContains");
    size_t i;
    json_t *v;
    json_array_foreach(a[0], i, v) if (equal_values(v, a[1]))
    {
        *out = json_true();
        return 0;
    }
    *out = json_false();
    return 0;
}

static int fn_array_range(json_t **a, size_t n, json_t **out, sfn_error *e)
{
    if (!is_int(a[0]) || !is_int(a[1]) || !is_int(a[2]))
        return bad(e, "The arguments of %s must be integers", "States.ArrayRange");
    long long start = int_of(a[0]), end = int_of(a[1]), step = int_of(a[2]);
    if (step == 0)
        return bad(e, "The step of %s cannot be 0", "States.ArrayRange");
    double count = floor(((double)end - (double)start) / (double)step) + 1;
    if (count > MAX_RANGE)
        return bad(e, "%s cannot produce more than 1000 elements", "States.ArrayRange");
    *out = json_array();
    for (long long k = 0; k < (long long)count; k++)
        json_array_append_new(*out, json_integer(start + k * step));
    return 0;
}

static int fn_array_get_item(json_t **a, size_t n, json_t **out, sfn_error *e)
{
    if (!json_is_array(a[0]))
        return bad(e, "The first argument of %s must be an array", "States.ArrayGetItem");
    if (!is_int(a[1]) || int_of(a[1]) < 0)
        return bad(e, "The index of %s must be a non-negative integer", "States.ArrayGetItem");
    json_t *v = json_array_get(a[0], (size_t)int_of(a[1]));
    if (!v)
        return bad(e, "The index of %s is out of the array's bounds", "States.ArrayGetItem");
    *out = json_incref(v);
    return 0;
}

static int fn_array_length(json_t **a, size_t n, json_t **out, sfn_error *e)
{
    if (!json_is_array(a[0]))
        return bad(e, "The argument of %s must be an array", "States.ArrayLength");
    *out = json_integer((json_int_t)json_array_size(a[0]));
    return 0;
}

static int fn_array_unique(json_t **a, size_t n, json_t **out, sfn_error *e)
{
    if (!json_is_array(a[0]))
        return bad(e, "The argument of %s must be an array", "States.ArrayUnique");
    *out = json_array();
    size_t i, j;
    json_t *v, *w;
    json_array_foreach(a[0], i, v)
    {
        bool seen = false;
        json_array_foreach(*out, j, w) if (equal_values(v, w)) seen = true;
        if (!seen)
            json_array_append(*out, v);
    }
    return 0;
}

static int string_arg(json_t *v, const char *fn, sfn_error *e)
{
    if (!json_is_string(v))
        return bad(e, "The argument of %s must be a string", fn);
    if (json_string_length(v) > MAX_ENCODE_INPUT)
        return bad(e, "The input of %s is over 10000 characters", fn);
    return 0;
}

static int fn_base64_encode(json_t **a, size_t n, json_t **out, sfn_error *e)
{
    if (string_arg(a[0], "States.Base64Encode", e) != 0)
        return -1;
    size_t len = json_string_length(a[0]);
    char *enc = xmalloc(4 * ((len + 2) / 3) + 1);
    int m = EVP_EncodeBlock((unsigned char *)enc, (const unsigned char *)json_string_value(a[0]),
                            (int)len);
    *out = json_stringn(enc, (size_t)m);
    xfree(enc);
    return 0;
}

static int fn_base64_decode(json_t **a, size_t n, json_t **out, sfn_error *e)
{
    if (string_arg(a[0], "States.Base64Decode", e) != 0)
        return -1;
    const char *s = json_string_value(a[0]);
    size_t len = json_string_length(a[0]);
    if (len % 4 != 0)
        return bad(e, "The argument of %s is not valid base64", "States.Base64Decode");
    unsigned char *dec = xmalloc(len / 4 * 3 + 1);
    int m = EVP_DecodeBlock(dec, (const unsigned char *)s, (int)len);
    if (m >= 0 && len >= 1 && s[len - 1] == '=')
        m -= (len >= 2 && s[len - 2] == '=') ? 2 : 1;
    *out = m >= 0 ? json_stringn((const char *)dec, (size_t)m) : NULL;
    xfree(dec);
    return *out ? 0
                : bad(e, "The argument of %s is not valid base64 of UTF-8 text",
                      "States.Base64Decode");
}

static int fn_hash(json_t **a, size_t n, json_t **out, sfn_error *e)
{
    if (json_is_null(a[0]))
        return bad(e, "The data of %s cannot be null", "States.Hash");
    if (string_arg(a[0], "States.Hash", e) != 0)
        return -1;
    static const struct {
        const char *name;
        const EVP_MD *(*md)(void);
    } algs[] = {{"MD5", EVP_md5},
                {"SHA-1", EVP_sha1},
                {"SHA-256", EVP_sha256},
                {"SHA-384", EVP_sha384},
                {"SHA-512", EVP_sha512}};
    const char *alg = json_string_value(a[1]);
    for (size_t k = 0; alg && k < sizeof algs / sizeof *algs; k++) {
        if (strcmp(alg, algs[k].name) != 0)
            continue;
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        EVP_Digest(json_string_value(a[0]), json_string_length(a[0]), md, &mdlen, algs[k].md(),
                   NULL);
        char hex[2 * EVP_MAX_MD_SIZE + 1];
        for (unsigned int i = 0; i < mdlen; i++)
            snprintf(hex + 2 * i, 3, "%02x", md[i]);
        *out = json_string(hex);
        return 0;
    }
    return bad(e, "The algorithm of %s must be one of MD5, SHA-1, SHA-256, SHA-384, SHA-512",
               "States.Hash");
}

static int fn_json_merge(json_t **a, size_t n, json_t **out, sfn_error *e)
{
    if (!json_is_object(a[0]) || !json_is_object(a[1]))
        return bad(e, "The first two arguments of %s must be objects", "States.JsonMerge");
    if (!json_is_false(a[2]))
        return bad(e, "%s supports only shallow merging: its third argument must be false",
                   "States.JsonMerge");
    *out = json_copy(a[0]);
    json_object_update(*out, a[1]);
    return 0;
}

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int fn_math_random(json_t **a, size_t n, json_t **out, sfn_error *e)
{
    long long start, end, seed = 0;
    if (!rounded(a[0], &start) || !rounded(a[1], &end) || (n == 3 && !rounded(a[2], &seed)))
        return bad(e, "The arguments of %s must be numbers", "States.MathRandom");
    if (start > end)
        return bad(e, "The start of %s must not be greater than its end", "States.MathRandom");
    uint64_t r;
    if (n == 3) {
        uint64_t state = (uint64_t)seed;
        r = splitmix64(&state);
    } else if (RAND_bytes((unsigned char *)&r, sizeof r) != 1) {
        return bad(e, "%s could not draw a random number", "States.MathRandom");
    }
    uint64_t span = (uint64_t)(end - start) + 1;
    *out = json_integer((json_int_t)(start + (long long)(span ? r % span : r)));
    return 0;
}

static int fn_math_add(json_t **a, size_t n, json_t **out, sfn_error *e)
{
    long long x, y, sum;
    if (!rounded(a[0], &x) || !rounded(a[1], &y))
        return bad(e, "The arguments of %s must be numbers", "States.MathAdd");
    if (__builtin_add_overflow(x, y, &sum))
        return bad(e, "The result of %s is out of range", "States.MathAdd");
    *out = json_integer(sum);
    return 0;
}

/* The length of the UTF-8 character that starts with byte c (jansson strings are valid). */
static size_t utf8_len(unsigned char c)
{
    return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

/* Is the character at s (n bytes) one of the characters of delims? */
static bool is_delimiter(const char *s, size_t n, const char *delims, size_t dlen)
{
    for (size_t k = 0; k < dlen; k += utf8_len((unsigned char)delims[k]))
        if (utf8_len((unsigned char)delims[k]) == n && memcmp(delims + k, s, n) == 0)
            return true;
    return false;
}

static int fn_string_split(json_t **a, size_t n, json_t **out, sfn_error *e)
{
    if (!json_is_string(a[0]) || !json_is_string(a[1]))
        return bad(e, "The arguments of %s must be strings", "States.StringSplit");
    const char *s = json_string_value(a[0]), *delims = json_string_value(a[1]);
    size_t len = json_string_length(a[0]), dlen = json_string_length(a[1]);
    *out = json_array();
    size_t start = 0, i = 0;
    while (i <= len) {
        size_t clen = i < len ? utf8_len((unsigned char)s[i]) : 0;
        if (i < len && !is_delimiter(s + i, clen, delims, dlen)) {
            i += clen;
            continue;
        }
        if (i > start)
            json_array_append_new(*out, json_stringn(s + start, i - start));
        i += i < len ? clen : 1;
        start = i;
    }
    return 0;
}

static int fn_uuid(json_t **a, size_t n, json_t **out, sfn_error *e)
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1)
        return bad(e, "%s could not draw random bytes", "States.UUID");
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    char s[37];
    snprintf(s, sizeof s, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
    *out = json_string(s);
    return 0;
}

/* Format is special (its first argument is read raw): run is NULL. */
static const function FUNCTIONS[] = {
    {"States.Format", 1, MAX_ARGS, NULL},
    {"States.StringToJson", 1, 1, fn_string_to_json},
    {"States.JsonToString", 1, 1, fn_json_to_string},
    {"States.Array", 0, MAX_ARGS, fn_array},
    {"States.ArrayPartition", 2, 2, fn_array_partition},
    {"States.ArrayContains", 2, 2, fn_array_contains},
    {"States.ArrayRange", 3, 3, fn_array_range},
    {"States.ArrayGetItem", 2, 2, fn_array_get_item},
    {"States.ArrayLength", 1, 1, fn_array_length},
    {"States.ArrayUnique", 1, 1, fn_array_unique},
    {"States.Base64Encode", 1, 1, fn_base64_encode},
    {"States.Base64Decode", 1, 1, fn_base64_decode},
    {"States.Hash", 2, 2, fn_hash},
    {"States.JsonMerge", 3, 3, fn_json_merge},
    {"States.MathRandom", 2, 3, fn_math_random},
    {"States.MathAdd", 2, 2, fn_math_add},
    {"States.StringSplit", 2, 2, fn_string_split},
    {"States.UUID", 0, 0, fn_uuid},
};

static const function *find_function(const char *name, size_t len)
{
    for (size_t k = 0; k < sizeof FUNCTIONS / sizeof *FUNCTIONS; k++)
        if (strlen(FUNCTIONS[k].name) == len && memcmp(FUNCTIONS[k].name, name, len) == 0)
            return &FUNCTIONS[k];
    return NULL;
}

/* ---------------------------------------------------------------- evaluation */

typedef struct eval_ctx {
    json_t *input, *context;
    const char *field;
    sfn_error *e;
} eval_ctx;

static int eval_node(const node *n, const eval_ctx *cx, json_t **out)
{
    switch (n->kind) {
    case NODE_LITERAL:
    case NODE_STRING:
        *out = json_incref(n->literal);
        return 0;
    case NODE_PATH: {
        *out = sfn_path_eval(n->path, cx->input, cx->context);
        if (*out)
            return 0;
        char quoted[SFN_ERROR_CAUSE_MAX / 2];
        sfn_json_quote(sfn_path_is_context(n->path) ? cx->context : cx->input, quoted,
                       sizeof quoted);
        return sfn_error_set(cx->e, "States.Runtime",
                             "The JSONPath '%s' specified for the field '%s' could not be found "
                             "in the input '%s'",
                             sfn_path_text(n->path), cx->field ? cx->field : "", quoted);
    }
    case NODE_CALL:
        break;
    }
    json_t *args[MAX_ARGS];
    size_t done = 0;
    int rc = 0;
    for (; done < n->nargs; done++)
        if ((rc = eval_node(n->args[done], cx, &args[done])) != 0)
            break;
    if (rc == 0) {
        *out = NULL;
        if (n->fn->run)
            rc = n->fn->run(args, n->nargs, out, cx->e);
        else if (!json_is_string(args[0]))
            rc = bad(cx->e, "The first argument of %s must be a string", "States.Format");
        else /* a literal keeps its escapes; a template read from a path is used as is */
            rc = format_with(n->args[0]->kind == NODE_STRING ? n->args[0]->raw
                                                             : json_string_value(args[0]),
                             args + 1, n->nargs - 1, out, cx->e);
    }
    for (size_t i = 0; i < done; i++)
        json_decref(args[i]);
    return rc;
}

int sfn_intrinsic_eval(const sfn_intrinsic *f, json_t *input, json_t *context, const char *field,
                       json_t **out, sfn_error *e)
{
    eval_ctx cx = {input, context, field, e};
    *out = NULL;
    return eval_node(f->root, &cx, out);
}

int sfn_intrinsic_run(const char *text, json_t *input, json_t *context, const char *field,
                      json_t **out, sfn_error *e)
{
    sfn_intrinsic *f;
    char err[512];
    *out = NULL;
    if (sfn_intrinsic_compile(text, &f, err, sizeof err) != 0)
        return sfn_error_set(e, "States.IntrinsicFailure", "%s", err);
    int rc = sfn_intrinsic_eval(f, input, context, field, out, e);
    sfn_intrinsic_free(f);
    return rc;
}
