/* The lexer of DynamoDB expressions: one pass over the bytes, whitespace (space, tab, CR,
 * LF) skipped. A character that starts no token becomes a one-character TK_BAD token (one
 * whole UTF-8 sequence when it is one), so that the parser reports it as DynamoDB does:
 * Syntax error; token: "@", near: "a@b". Keywords are not told apart here: the parser
 * knows which identifiers are keywords in which expression. */
#include "common/alloc.h"
#include "services/dynamodb/ddb_expr_internal.h"

static int is_ident_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_ident_part(char c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9');
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Length of the UTF-8 sequence starting with byte c (1 for anything malformed). */
static size_t utf8_len(unsigned char c)
{
    if (c >= 0xf0 && c <= 0xf4)
        return 4;
    if (c >= 0xe0 && c <= 0xef)
        return 3;
    if (c >= 0xc2 && c <= 0xdf)
        return 2;
    return 1;
}

/* The kind and length of the punctuation token at s[i], or TK_BAD. */
static ddb_tok_kind punctuation(const char *s, size_t n, size_t i, size_t *len)
{
    char next = i + 1 < n ? s[i + 1] : '\0';
    *len = 1;
    switch (s[i]) {
    case '(':
        return TK_LPAREN;
    case ')':
        return TK_RPAREN;
    case '[':
        return TK_LBRACK;
    case ']':
        return TK_RBRACK;
    case ',':
        return TK_COMMA;
    case '.':
        return TK_DOT;
    case '=':
        return TK_EQ;
    case '+':
        return TK_PLUS;
    case '-':
        return TK_MINUS;
    case '<':
        if (next == '>' || next == '=')
            *len = 2;
        return next == '>' ? TK_NE : next == '=' ? TK_LE : TK_LT;
    case '>':
        if (next == '=')
            *len = 2;
        return next == '=' ? TK_GE : TK_GT;
    default:
        return TK_BAD;
    }
}

ddb_token *ddb_lex(const char *s, size_t n, size_t *count)
{
    size_t cap = 16, used = 0;
    ddb_token *toks = xmalloc(cap * sizeof *toks);
    size_t i = 0;
    for (;;) {
        while (i < n && is_space(s[i]))
            i++;
        if (used == cap) {
            cap *= 2;
            toks = xrealloc(toks, cap * sizeof *toks);
        }
        ddb_token *t = &toks[used++];
        t->start = (uint32_t)i;
        if (i >= n) {
            t->kind = TK_EOF;
            t->len = 0;
            break;
        }
        size_t j = i + 1;
        char c = s[i];
        if (is_ident_start(c)) {
            while (j < n && is_ident_part(s[j]))
                j++;
            t->kind = TK_IDENT;
        } else if (c >= '0' && c <= '9') {
            while (j < n && s[j] >= '0' && s[j] <= '9')
                j++;
            t->kind = TK_NUMBER;
        } else if ((c == '#' || c == ':') && j < n && is_ident_part(s[j])) {
            while (j < n && is_ident_part(s[j]))
                j++;
            t->kind = c == '#' ? TK_NAME : TK_VALUE;
        } else {
            size_t len;
            t->kind = punctuation(s, n, i, &len);
            if (t->kind == TK_BAD) {
                len = utf8_len((unsigned char)c);
                if (i + len > n)
                    len = n - i;
            }
            j = i + len;
        }
        t->len = (uint32_t)(j - i);
        i = j;
    }
    *count = used;
    return toks;
}
