/* A pull tokenizer for pattern JSON, so the compiler can check a pattern in the order
 * event-ruler's JsonRuleCompiler reads it from Jackson: the first problem in document
 * order is the one reported. RFC 8259 grammar and UTF-8 are enforced, nesting is bounded
 * by PATTERN_MAX_DEPTH, duplicate object keys are allowed (AWS keeps the last one).
 * A \u escape of a lone surrogate becomes '?', as Java's UTF-8 encoder writes it. Error
 * texts follow Jackson's wording for the common cases. */
#include "pattern/pattern_internal.h"

#include "common/hex.h"
#include "common/utf8.h"

#include <stdarg.h>
#include <stdio.h>

enum { N_VALUE, N_FIRST_VALUE, N_KEY, N_FIRST_KEY, N_COLON, N_COMMA, N_DONE };

void pjson_init(pjson *j, const char *s, size_t n)
{
    memset(j, 0, sizeof *j);
    j->s = (const unsigned char *)s;
    j->n = n;
    j->need = N_VALUE;
    j->tok = PT_EOF;
    buf_init(&j->text, 64);
}

void pjson_free(pjson *j)
{
    buf_free(&j->text);
}

static ptok fail(pjson *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static ptok fail(pjson *j, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->err, sizeof j->err, fmt, ap);
    va_end(ap);
    j->tok = PT_ERROR;
    return PT_ERROR;
}

static ptok unexpected(pjson *j, const char *expecting)
{
    unsigned char c = j->s[j->pos];
    if (c >= 0x20 && c < 0x7f)
        return fail(j, "Unexpected character ('%c' (code %d)): %s", c, c, expecting);
    return fail(j, "Unexpected character (code %d): %s", c, expecting);
}

static void skip_ws(pjson *j)
{
    while (j->pos < j->n) {
        unsigned char c = j->s[j->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        j->pos++;
    }
}

static void put_cp(buf *b, uint32_t c)
{
    if (c < 0x80) {
        buf_putc(b, (char)c);
    } else if (c < 0x800) {
        buf_putc(b, (char)(0xc0 | (c >> 6)));
        buf_putc(b, (char)(0x80 | (c & 0x3f)));
    } else if (c < 0x10000) {
        buf_putc(b, (char)(0xe0 | (c >> 12)));
        buf_putc(b, (char)(0x80 | ((c >> 6) & 0x3f)));
        buf_putc(b, (char)(0x80 | (c & 0x3f)));
    } else {
        buf_putc(b, (char)(0xf0 | (c >> 18)));
        buf_putc(b, (char)(0x80 | ((c >> 12) & 0x3f)));
        buf_putc(b, (char)(0x80 | ((c >> 6) & 0x3f)));
        buf_putc(b, (char)(0x80 | (c & 0x3f)));
    }
}

static int hex4(pjson *j, size_t at, uint32_t *out)
{
    if (at + 4 > j->n)
        return -1;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        int d = hex_digit(j->s[at + i]);
        if (d < 0)
            return -1;
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return 0;
}

/* Reads a string starting at the opening quote into j->text. */
static int read_string(pjson *j)
{
    buf_reset(&j->text);
    size_t i = j->pos + 1;
    for (;;) {
        size_t run = i;
        while (i < j->n && j->s[i] >= 0x20 && j->s[i] != '"' && j->s[i] != '\\' && j->s[i] < 0x80)
            i++;
        buf_append(&j->text, j->s + run, i - run);
        if (i >= j->n) {
            fail(j, "Unexpected end-of-input: was expecting closing quote for a string value");
            return -1;
        }
        unsigned char c = j->s[i];
        if (c == '"') {
            j->pos = i + 1;
            return 0;
        }
        if (c < 0x20) {
            fail(j,
                 "Illegal unquoted character ((CTRL-CHAR, code %d)): has to be escaped using "
                 "backslash to be included in string value",
                 c);
            return -1;
        }
        if (c >= 0x80) {
            uint32_t cp;
            size_t len = utf8_decode(j->s + i, j->n - i, &cp);
            if (!len) {
                fail(j, "Invalid UTF-8 start byte 0x%x", c);
                return -1;
            }
            buf_append(&j->text, j->s + i, len);
            i += len;
            continue;
        }
        /* backslash */
        if (i + 1 >= j->n) {
            fail(j, "Unexpected end-of-input in character escape sequence");
            return -1;
        }
        unsigned char e = j->s[i + 1];
        i += 2;
        switch (e) {
        case '"':
        case '\\':
        case '/':
            buf_putc(&j->text, (char)e);
            break;
        case 'b':
            buf_putc(&j->text, '\b');
            break;
        case 'f':
            buf_putc(&j->text, '\f');
            break;
        case 'n':
            buf_putc(&j->text, '\n');
            break;
        case 'r':
            buf_putc(&j->text, '\r');
            break;
        case 't':
            buf_putc(&j->text, '\t');
            break;
        case 'u': {
            uint32_t u;
            if (hex4(j, i, &u) < 0) {
                fail(j, "Unexpected character in \\u escape: expected a hex-digit for "
                        "character escape sequence");
                return -1;
            }
            i += 4;
            if (u >= 0xd800 && u <= 0xdbff) {
                uint32_t lo;
                if (i + 6 <= j->n && j->s[i] == '\\' && j->s[i + 1] == 'u' &&
                    hex4(j, i + 2, &lo) == 0 && lo >= 0xdc00 && lo <= 0xdfff) {
                    i += 6;
                    put_cp(&j->text, 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00));
                } else {
                    buf_putc(&j->text, '?');
                }
            } else if (u >= 0xdc00 && u <= 0xdfff) {
                buf_putc(&j->text, '?');
            } else {
                put_cp(&j->text, u);
            }
            break;
        }
        default:
            if (e >= 0x20 && e < 0x7f)
                fail(j, "Unrecognized character escape '%c' (code %d)", e, e);
            else
                fail(j, "Unrecognized character escape (code %d)", e);
            return -1;
        }
    }
}

static ptok read_number(pjson *j)
{
    size_t i = j->pos, start = i;
    bool is_float = false;
    if (j->s[i] == '-')
        i++;
    if (i >= j->n || j->s[i] < '0' || j->s[i] > '9') {
        j->pos = i < j->n ? i : j->pos;
        return fail(j, "Unexpected character: expected digit (0-9) to follow minus sign, "
                       "for valid numeric value");
    }
    if (j->s[i] == '0' && i + 1 < j->n && j->s[i + 1] >= '0' && j->s[i + 1] <= '9')
        return fail(j, "Invalid numeric value: Leading zeroes not allowed");
    while (i < j->n && j->s[i] >= '0' && j->s[i] <= '9')
        i++;
    if (i < j->n && j->s[i] == '.') {
        is_float = true;
        i++;
        if (i >= j->n || j->s[i] < '0' || j->s[i] > '9')
            return fail(j, "Unexpected character: Decimal point not followed by a digit");
        while (i < j->n && j->s[i] >= '0' && j->s[i] <= '9')
            i++;
    }
    if (i < j->n && (j->s[i] == 'e' || j->s[i] == 'E')) {
        is_float = true;
        i++;
        if (i < j->n && (j->s[i] == '+' || j->s[i] == '-'))
            i++;
        if (i >= j->n || j->s[i] < '0' || j->s[i] > '9')
            return fail(j, "Unexpected character: Exponent indicator not followed by a digit");
        while (i < j->n && j->s[i] >= '0' && j->s[i] <= '9')
            i++;
    }
    buf_reset(&j->text);
    buf_append(&j->text, j->s + start, i - start);
    j->pos = i;
    return is_float ? PT_FLOAT : PT_INT;
}

static ptok read_value(pjson *j)
{
    unsigned char c = j->s[j->pos];
    switch (c) {
    case '{':
    case '[':
        if (j->depth >= PATTERN_MAX_DEPTH)
            return fail(j, "Document nesting depth exceeds the maximum allowed (%d)",
                        PATTERN_MAX_DEPTH);
        j->stack[j->depth++] = c == '{' ? 'o' : 'a';
        j->pos++;
        j->need = c == '{' ? N_FIRST_KEY : N_FIRST_VALUE;
        buf_reset(&j->text);
        buf_putc(&j->text, (char)c);
        return c == '{' ? PT_START_OBJECT : PT_START_ARRAY;
    case '"':
        if (read_string(j) < 0)
            return PT_ERROR;
        j->need = j->depth ? N_COMMA : N_DONE;
        return PT_STRING;
    case 't':
    case 'f':
    case 'n': {
        const char *word = c == 't' ? "true" : c == 'f' ? "false" : "null";
        size_t len = strlen(word);
        size_t end = j->pos;
        while (end < j->n &&
               ((j->s[end] >= 'a' && j->s[end] <= 'z') || (j->s[end] >= 'A' && j->s[end] <= 'Z') ||
                (j->s[end] >= '0' && j->s[end] <= '9') || j->s[end] == '_'))
            end++;
        if (end - j->pos != len || memcmp(j->s + j->pos, word, len) != 0)
            return fail(j,
                        "Unrecognized token '%.*s': was expecting (JSON String, Number, Array, "
                        "Object or token 'null', 'true' or 'false')",
                        (int)(end - j->pos > 64 ? 64 : end - j->pos), j->s + j->pos);
        j->pos += len;
        buf_reset(&j->text);
        buf_append(&j->text, word, len);
        j->need = j->depth ? N_COMMA : N_DONE;
        return c == 't' ? PT_TRUE : c == 'f' ? PT_FALSE : PT_NULL;
    }
    default:
        if (c == '-' || (c >= '0' && c <= '9')) {
            ptok t = read_number(j);
            if (t != PT_ERROR)
                j->need = j->depth ? N_COMMA : N_DONE;
            return t;
        }
        return unexpected(j, "expected a valid value (JSON String, Number, Array, Object or "
                             "token 'null', 'true' or 'false')");
    }
}

static ptok close_container(pjson *j)
{
    char kind = j->stack[--j->depth];
    j->pos++;
    j->need = j->depth ? N_COMMA : N_DONE;
    buf_reset(&j->text);
    buf_putc(&j->text, kind == 'o' ? '}' : ']');
    return kind == 'o' ? PT_END_OBJECT : PT_END_ARRAY;
}

static ptok next(pjson *j)
{
    if (j->tok == PT_ERROR)
        return PT_ERROR;
    skip_ws(j);
    if (j->pos >= j->n) {
        if (j->need == N_DONE) {
            buf_reset(&j->text);
            return PT_EOF;
        }
        if (j->depth == 0)
            return fail(j, "No content to map due to end-of-input");
        return fail(j, "Unexpected end-of-input: expected close marker for %s",
                    j->stack[j->depth - 1] == 'o' ? "Object" : "Array");
    }
    unsigned char c = j->s[j->pos];
    switch (j->need) {
    case N_DONE:
        return unexpected(j, "expected end-of-input after the pattern object");
    case N_FIRST_VALUE:
        if (c == ']')
            return close_container(j);
        return read_value(j);
    case N_VALUE:
        return read_value(j);
    case N_FIRST_KEY:
        if (c == '}')
            return close_container(j);
        /* fall through */
    case N_KEY:
        if (c != '"')
            return unexpected(j, "was expecting double-quote to start field name");
        if (read_string(j) < 0)
            return PT_ERROR;
        j->need = N_COLON;
        return PT_FIELD_NAME;
    case N_COLON:
        if (c != ':')
            return unexpected(j, "was expecting a colon to separate field name and value");
        j->pos++;
        j->need = N_VALUE;
        return next(j);
    case N_COMMA: {
        char kind = j->stack[j->depth - 1];
        if ((kind == 'o' && c == '}') || (kind == 'a' && c == ']'))
            return close_container(j);
        if (c != ',')
            return unexpected(j, kind == 'o' ? "was expecting comma to separate Object entries"
                                             : "was expecting comma to separate Array entries");
        j->pos++;
        j->need = kind == 'o' ? N_KEY : N_VALUE;
        return next(j);
    }
    }
    return fail(j, "internal tokenizer state");
}

ptok pjson_next(pjson *j)
{
    j->tok = next(j);
    return j->tok;
}

const char *pjson_text(const pjson *j)
{
    return j->text.data ? j->text.data : "";
}
