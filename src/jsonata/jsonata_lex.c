/* JSONata tokenizer, after jsonata-js's: operators, string literals with JSON escapes,
 * numbers, `quoted names`, $variables, names (anything up to white space or an
 * operator character), /regex/flags (where an operand may start) and comments.
 * A token's position is the offset just past it, as jsonata-js reports positions. */
#include "jsonata/jsonata_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const OP_TEXT[JN_OP_COUNT] = {
    [JN_OP_NONE] = "",       [JN_OP_DOT] = ".",       [JN_OP_LBRACKET] = "[",
    [JN_OP_RBRACKET] = "]",  [JN_OP_LBRACE] = "{",    [JN_OP_RBRACE] = "}",
    [JN_OP_LPAREN] = "(",    [JN_OP_RPAREN] = ")",    [JN_OP_COMMA] = ",",
    [JN_OP_AT] = "@",        [JN_OP_HASH] = "#",      [JN_OP_SEMI] = ";",
    [JN_OP_COLON] = ":",     [JN_OP_QUESTION] = "?",  [JN_OP_PLUS] = "+",
    [JN_OP_MINUS] = "-",     [JN_OP_STAR] = "*",      [JN_OP_SLASH] = "/",
    [JN_OP_PERCENT] = "%",   [JN_OP_PIPE] = "|",      [JN_OP_EQ] = "=",
    [JN_OP_LT] = "<",        [JN_OP_GT] = ">",        [JN_OP_CARET] = "^",
    [JN_OP_STARSTAR] = "**", [JN_OP_DOTDOT] = "..",   [JN_OP_ASSIGN] = ":=",
    [JN_OP_NE] = "!=",       [JN_OP_LE] = "<=",       [JN_OP_GE] = ">=",
    [JN_OP_CHAIN] = "~>",    [JN_OP_AND] = "and",     [JN_OP_OR] = "or",
    [JN_OP_IN] = "in",       [JN_OP_AMP] = "&",       [JN_OP_BANG] = "!",
    [JN_OP_TILDE] = "~",     [JN_OP_COALESCE] = "??", [JN_OP_ELVIS] = "?:",
};

const char *jn_op_text(int op)
{
    return op > 0 && op < JN_OP_COUNT ? OP_TEXT[op] : "";
}

/* Single characters that are operators (and so end a name). */
static int single_op(char ch)
{
    switch (ch) {
    case '.':
        return JN_OP_DOT;
    case '[':
        return JN_OP_LBRACKET;
    case ']':
        return JN_OP_RBRACKET;
    case '{':
        return JN_OP_LBRACE;
    case '}':
        return JN_OP_RBRACE;
    case '(':
        return JN_OP_LPAREN;
    case ')':
        return JN_OP_RPAREN;
    case ',':
        return JN_OP_COMMA;
    case '@':
        return JN_OP_AT;
    case '#':
        return JN_OP_HASH;
    case ';':
        return JN_OP_SEMI;
    case ':':
        return JN_OP_COLON;
    case '?':
        return JN_OP_QUESTION;
    case '+':
        return JN_OP_PLUS;
    case '-':
        return JN_OP_MINUS;
    case '*':
        return JN_OP_STAR;
    case '/':
        return JN_OP_SLASH;
    case '%':
        return JN_OP_PERCENT;
    case '|':
        return JN_OP_PIPE;
    case '=':
        return JN_OP_EQ;
    case '<':
        return JN_OP_LT;
    case '>':
        return JN_OP_GT;
    case '^':
        return JN_OP_CARET;
    case '&':
        return JN_OP_AMP;
    case '!':
        return JN_OP_BANG;
    case '~':
        return JN_OP_TILDE;
    default:
        return JN_OP_NONE;
    }
}

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v';
}

static int lex_error(jn_lexer *lx, const char *code, size_t pos, const char *token)
{
    lx->err_code = code;
    lx->err_pos = (int)pos;
    lx->err_token = token;
    return -1;
}

static char *arena_copy(jn_lexer *lx, const char *s, size_t n)
{
    char *p = jn_arena_alloc(lx->arena, n + 1);
    memcpy(p, s, n);
    return p;
}

/* The regex body after the opening '/': up to a '/' that is not escaped and not inside
 * brackets, then the flags i and m. */
static int scan_regex(jn_lexer *lx, jn_token *t)
{
    const char *s = lx->src;
    size_t start = lx->pos;
    int depth = 0;
    while (lx->pos < lx->len) {
        char ch = s[lx->pos];
        if (ch == '/' && depth == 0) {
            size_t backslashes = 0;
            while (lx->pos - backslashes > start && s[lx->pos - backslashes - 1] == '\\')
                backslashes++;
            if (backslashes % 2 == 0) {
                if (lx->pos == start)
                    return lex_error(lx, "S0301", lx->pos, NULL);
                t->text = arena_copy(lx, s + start, lx->pos - start);
                t->len = lx->pos - start;
                lx->pos++;
                size_t fstart = lx->pos;
                while (lx->pos < lx->len && (s[lx->pos] == 'i' || s[lx->pos] == 'm'))
                    lx->pos++;
                t->flags = arena_copy(lx, s + fstart, lx->pos - fstart);
                t->type = JN_T_REGEX;
                t->pos = (int)lx->pos;
                return 0;
            }
        }
        bool escaped = lx->pos > start && s[lx->pos - 1] == '\\';
        if ((ch == '(' || ch == '[' || ch == '{') && !escaped)
            depth++;
        if ((ch == ')' || ch == ']' || ch == '}') && !escaped)
            depth--;
        lx->pos++;
    }
    return lex_error(lx, "S0302", lx->pos, NULL);
}

static int hex4(const char *s)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char ch = s[i];
        int d = ch >= '0' && ch <= '9'   ? ch - '0'
                : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                         : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static int scan_string(jn_lexer *lx, jn_token *t)
{
    const char *s = lx->src;
    char quote = s[lx->pos++];
    /* decoded text is never longer than the source */
    char *out = jn_arena_alloc(lx->arena, lx->len - lx->pos + 1);
    size_t n = 0;
    while (lx->pos < lx->len) {
        char ch = s[lx->pos];
        if (ch == '\\') {
            lx->pos++;
            ch = lx->pos < lx->len ? s[lx->pos] : '\0';
            switch (ch) {
            case '"':
            case '\\':
            case '/':
                out[n++] = ch;
                break;
            case 'b':
                out[n++] = '\b';
                break;
            case 'f':
                out[n++] = '\f';
                break;
            case 'n':
                out[n++] = '\n';
                break;
            case 'r':
                out[n++] = '\r';
                break;
            case 't':
                out[n++] = '\t';
                break;
            case 'u': {
                int u = lx->pos + 4 < lx->len ? hex4(s + lx->pos + 1) : -1;
                if (u < 0)
                    return lex_error(lx, "S0104", lx->pos, NULL);
                lx->pos += 4;
                uint32_t cp = (uint32_t)u;
                if (cp >= 0xd800 && cp <= 0xdbff && lx->pos + 6 < lx->len &&
                    s[lx->pos + 1] == '\\' && s[lx->pos + 2] == 'u') {
                    int lo = hex4(s + lx->pos + 3);
                    if (lo >= 0xdc00 && lo <= 0xdfff) {
                        cp = 0x10000 + ((cp - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
                        lx->pos += 6;
                    }
                }
                if (cp >= 0xd800 && cp <= 0xdfff)
                    cp = 0xfffd; /* a lone surrogate has no UTF-8 form */
                n += jn_utf8_put(out + n, cp);
                break;
            }
            default: {
                char tok[2] = {ch, '\0'};
                return lex_error(lx, "S0103", lx->pos, arena_copy(lx, tok, 1));
            }
            }
        } else if (ch == quote) {
            lx->pos++;
            t->type = JN_T_STR;
            t->text = out;
            t->len = n;
            t->pos = (int)lx->pos;
            return 0;
        } else {
            out[n++] = ch;
        }
        lx->pos++;
    }
    return lex_error(lx, "S0101", lx->pos, NULL);
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([Ee][-+]?[0-9]+)? without the sign (a '-' is always read
 * as an operator first). Returns the length matched, 0 if none. */
static size_t number_length(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && s[i] == '0') {
        i++;
    } else if (i < n && s[i] >= '1' && s[i] <= '9') {
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    } else {
        return 0;
    }
    if (i + 1 < n && s[i] == '.' && s[i + 1] >= '0' && s[i + 1] <= '9') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < n && (s[j] == '+' || s[j] == '-'))
            j++;
        if (j < n && s[j] >= '0' && s[j] <= '9') {
            while (j < n && s[j] >= '0' && s[j] <= '9')
                j++;
            i = j;
        }
    }
    return i;
}

static int two_char_op(const char *s, size_t left)
{
    if (left < 2)
        return JN_OP_NONE;
    static const struct {
        char a, b;
        int op;
    } OPS[] = {{'.', '.', JN_OP_DOTDOT}, {':', '=', JN_OP_ASSIGN},   {'!', '=', JN_OP_NE},
               {'>', '=', JN_OP_GE},     {'<', '=', JN_OP_LE},       {'*', '*', JN_OP_STARSTAR},
               {'~', '>', JN_OP_CHAIN},  {'?', '?', JN_OP_COALESCE}, {'?', ':', JN_OP_ELVIS}};
    for (size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++)
        if (s[0] == OPS[i].a && s[1] == OPS[i].b)
            return OPS[i].op;
    return JN_OP_NONE;
}

int jn_lex_next(jn_lexer *lx, bool infix, jn_token *t)
{
    const char *s = lx->src;
    memset(t, 0, sizeof *t);
    for (;;) {
        while (lx->pos < lx->len && is_space(s[lx->pos]))
            lx->pos++;
        if (lx->pos + 1 < lx->len && s[lx->pos] == '/' && s[lx->pos + 1] == '*') {
            size_t start = lx->pos;
            const char *end = NULL;
            for (size_t i = lx->pos + 2; i + 1 < lx->len; i++)
                if (s[i] == '*' && s[i + 1] == '/') {
                    end = s + i;
                    break;
                }
            if (!end)
                return lex_error(lx, "S0106", start, NULL);
            lx->pos = (size_t)(end - s) + 2;
            continue;
        }
        break;
    }
    if (lx->pos >= lx->len) {
        t->type = JN_T_END;
        t->pos = (int)lx->len;
        return 0;
    }
    char ch = s[lx->pos];
    if (!infix && ch == '/') {
        lx->pos++;
        return scan_regex(lx, t);
    }
    int op = two_char_op(s + lx->pos, lx->len - lx->pos);
    if (op != JN_OP_NONE) {
        lx->pos += 2;
        t->type = JN_T_OP;
        t->op = op;
        t->pos = (int)lx->pos;
        return 0;
    }
    op = single_op(ch);
    if (op != JN_OP_NONE) {
        lx->pos++;
        t->type = JN_T_OP;
        t->op = op;
        t->pos = (int)lx->pos;
        return 0;
    }
    if (ch == '"' || ch == '\'')
        return scan_string(lx, t);
    size_t nlen = number_length(s + lx->pos, lx->len - lx->pos);
    if (nlen) {
        char *text = arena_copy(lx, s + lx->pos, nlen);
        double d = strtod(text, NULL);
        if (!isfinite(d))
            return lex_error(lx, "S0102", lx->pos, text);
        lx->pos += nlen;
        t->type = JN_T_NUM;
        t->num = d;
        t->pos = (int)lx->pos;
        return 0;
    }
    if (ch == '`') {
        lx->pos++;
        const char *end = memchr(s + lx->pos, '`', lx->len - lx->pos);
        if (!end) {
            lx->pos = lx->len;
            return lex_error(lx, "S0105", lx->len, NULL);
        }
        t->type = JN_T_NAME;
        t->len = (size_t)(end - (s + lx->pos));
        t->text = arena_copy(lx, s + lx->pos, t->len);
        lx->pos = (size_t)(end - s) + 1;
        t->pos = (int)lx->pos;
        return 0;
    }
    size_t i = lx->pos;
    while (i < lx->len && !is_space(s[i]) && single_op(s[i]) == JN_OP_NONE)
        i++;
    size_t start = lx->pos;
    lx->pos = i;
    t->pos = (int)i;
    if (s[start] == '$') {
        t->type = JN_T_VAR;
        t->len = i - start - 1;
        t->text = arena_copy(lx, s + start + 1, t->len);
        return 0;
    }
    size_t n = i - start;
    static const struct {
        const char *word;
        int op;
    } WORDS[] = {{"and", JN_OP_AND}, {"or", JN_OP_OR}, {"in", JN_OP_IN}};
    for (size_t w = 0; w < 3; w++)
        if (n == strlen(WORDS[w].word) && memcmp(s + start, WORDS[w].word, n) == 0) {
            t->type = JN_T_OP;
            t->op = WORDS[w].op;
            return 0;
        }
    if (n == 4 && memcmp(s + start, "true", 4) == 0) {
        t->type = JN_T_VALUE;
        t->value_kind = JN_BOOL;
        t->b = true;
        return 0;
    }
    if (n == 5 && memcmp(s + start, "false", 5) == 0) {
        t->type = JN_T_VALUE;
        t->value_kind = JN_BOOL;
        return 0;
    }
    if (n == 4 && memcmp(s + start, "null", 4) == 0) {
        t->type = JN_T_VALUE;
        t->value_kind = JN_NULL;
        return 0;
    }
    t->type = JN_T_NAME;
    t->len = n;
    t->text = arena_copy(lx, s + start, n);
    return 0;
}
