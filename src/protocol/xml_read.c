/* The XML reader of xml_read.h: a recursive-descent parser over a counted buffer.
 *
 * parse_element reads one element (its start tag, content and end tag) and recurses for
 * children, bounded by XML_READ_MAX_DEPTH; a counter bounds the number of elements. Text
 * is decoded into the element's buffer as it is read (entities, character references, CDATA),
 * and checked for characters XML 1.0 does not allow. Every read checks the remaining length,
 * so a truncated document is an error, never a read past the end. */
#include "protocol/xml_read.h"

#include "common/alloc.h"
#include "common/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct parser {
    const char *p, *end;
    size_t nodes;
    char *err;
    size_t errlen;
} parser;

static int fail(parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(parser *ps, const char *fmt, ...)
{
    if (ps->err && ps->errlen && !ps->err[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ps->err, ps->errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int starts(const parser *ps, const char *lit)
{
    size_t n = strlen(lit);
    return (size_t)(ps->end - ps->p) >= n && memcmp(ps->p, lit, n) == 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip_space(parser *ps)
{
    while (ps->p < ps->end && is_space(*ps->p))
        ps->p++;
}

static int is_name_char(unsigned char c)
{
    return c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == ':' || c == '-' || c == '.';
}

/* Skips to just after `lit`; -1 if it never comes. */
static int skip_past(parser *ps, const char *lit)
{
    size_t n = strlen(lit);
    const char *hit = memmem(ps->p, (size_t)(ps->end - ps->p), lit, n);
    if (!hit)
        return fail(ps, "unterminated markup (expected '%s')", lit);
    ps->p = hit + n;
    return 0;
}

/* Comments and processing instructions (the declaration included); 1 if one was skipped. */
static int skip_misc(parser *ps)
{
    if (starts(ps, "<!--"))
        return skip_past(ps, "-->") == 0 ? 1 : -1;
    if (starts(ps, "<?"))
        return skip_past(ps, "?>") == 0 ? 1 : -1;
    if (starts(ps, "<!"))
        return fail(ps, "document type declarations are not accepted");
    return 0;
}

static int read_name(parser *ps, const char **name, size_t *len)
{
    const char *s = ps->p;
    while (ps->p < ps->end && is_name_char((unsigned char)*ps->p))
        ps->p++;
    if (ps->p == s || (*s >= '0' && *s <= '9') || *s == '-' || *s == '.')
        return fail(ps, "an element name was expected");
    *name = s;
    *len = (size_t)(ps->p - s);
    return 0;
}

static void put_utf8(buf *b, unsigned long cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (char)(0xf0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    buf_append(b, u, n);
}

static int xml_char_ok(unsigned long cp)
{
    return cp == 0x9 || cp == 0xa || cp == 0xd || (cp >= 0x20 && cp <= 0xd7ff) ||
           (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/* An entity or character reference at ps->p ('&'), decoded into b. */
static int read_reference(parser *ps, buf *b)
{
    static const struct {
        const char *name;
        char c;
    } named[] = {{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&apos;", '\''}};
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        if (starts(ps, named[i].name)) {
            buf_putc(b, named[i].c);
            ps->p += strlen(named[i].name);
            return 0;
        }
    }
    if (!starts(ps, "&#"))
        return fail(ps, "unknown entity reference");
    ps->p += 2;
    int hex = ps->p < ps->end && *ps->p == 'x';
    ps->p += hex;
    unsigned long cp = 0;
    int digits = 0;
    while (ps->p < ps->end && *ps->p != ';') {
        char c = *ps->p++;
        int d = c >= '0' && c <= '9'          ? c - '0'
                : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                              : -1;
        if (d < 0 || ++digits > 8)
            return fail(ps, "malformed character reference");
        cp = cp * (hex ? 16 : 10) + (unsigned long)d;
    }
    if (ps->p >= ps->end || digits == 0 || !xml_char_ok(cp))
        return fail(ps, "malformed character reference");
    ps->p++;
    put_utf8(b, cp);
    return 0;
}

/* Length of the allowed character (valid UTF-8, no C0 control but tab, LF, CR) at p, or 0. */
static size_t char_len(const char *p, size_t avail)
{
    unsigned char c = (unsigned char)*p;
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
        return 0;
    size_t len = c < 0x80             ? 1
                 : (c & 0xe0) == 0xc0 ? 2
                 : (c & 0xf0) == 0xe0 ? 3
                 : (c & 0xf8) == 0xf0 ? 4
                                      : 0;
    if (len == 0 || avail < len)
        return 0;
    for (size_t i = 1; i < len; i++)
        if (((unsigned char)p[i] & 0xc0) != 0x80)
            return 0;
    return len;
}

static int chars_valid(const char *p, size_t n)
{
    for (size_t i = 0, l; i < n; i += l)
        if ((l = char_len(p + i, n - i)) == 0)
            return 0;
    return 1;
}

/* Character data up to the next '<', appended to b; checks UTF-8 well-formedness. */
static int read_text(parser *ps, buf *b)
{
    while (ps->p < ps->end && *ps->p != '<') {
        unsigned char c = (unsigned char)*ps->p;
        if (c == '&') {
            if (read_reference(ps, b) != 0)
                return -1;
            continue;
        }
        size_t len = char_len(ps->p, (size_t)(ps->end - ps->p));
        if (len == 0)
            return fail(ps, "a character XML does not allow, or invalid UTF-8");
        buf_append(b, ps->p, len);
        ps->p += len;
    }
    return 0;
}

/* Attributes of a start tag, up to (not including) '>' or '/>': read and ignored. */
static int skip_attributes(parser *ps)
{
    while (1) {
        skip_space(ps);
        if (ps->p >= ps->end)
            return fail(ps, "unterminated start tag");
        if (*ps->p == '>' || *ps->p == '/')
            return 0;
        const char *name;
        size_t len;
        if (read_name(ps, &name, &len) != 0)
            return -1;
        skip_space(ps);
        if (ps->p >= ps->end || *ps->p != '=')
            return fail(ps, "an attribute has no value");
        ps->p++;
        skip_space(ps);
        if (ps->p >= ps->end || (*ps->p != '"' && *ps->p != '\''))
            return fail(ps, "an attribute value must be quoted");
        char q = *ps->p++;
        const char *close = memchr(ps->p, q, (size_t)(ps->end - ps->p));
        if (!close || memchr(ps->p, '<', (size_t)(close - ps->p)))
            return fail(ps, "unterminated attribute value");
        ps->p = close + 1;
    }
}

static void node_set_text(xml_node *n, buf *text)
{
    n->text_len = text->len;
    n->text = xmalloc(text->len + 1);
    if (text->len)
        memcpy(n->text, text->data, text->len);
    n->text[text->len] = '\0';
}

static xml_node *parse_element(parser *ps, int depth);

/* The content of element n after its start tag, through its end tag. */
static int parse_content(parser *ps, xml_node *n, size_t name_len, int depth)
{
    buf text = BUF_INIT;
    xml_node **tail = &n->child;
    int rc = -1;
    while (1) {
        if (read_text(ps, &text) != 0)
            goto out;
        if (ps->p >= ps->end) {
            fail(ps, "element <%.*s> is not closed", (int)(name_len < 64 ? name_len : 64), n->name);
            goto out;
        }
        if (starts(ps, "</")) {
            ps->p += 2;
            if ((size_t)(ps->end - ps->p) < name_len || memcmp(ps->p, n->name, name_len) != 0 ||
                (ps->p + name_len < ps->end && is_name_char((unsigned char)ps->p[name_len]))) {
                fail(ps, "mismatched end tag");
                goto out;
            }
            ps->p += name_len;
            skip_space(ps);
            if (ps->p >= ps->end || *ps->p != '>') {
                fail(ps, "malformed end tag");
                goto out;
            }
            ps->p++;
            rc = 0;
            goto out;
        }
        if (starts(ps, "<![CDATA[")) {
            ps->p += 9;
            const char *s = ps->p;
            if (skip_past(ps, "]]>") != 0)
                goto out;
            size_t n = (size_t)(ps->p - 3 - s);
            if (!chars_valid(s, n)) {
                fail(ps, "a CDATA section holds characters XML does not allow");
                goto out;
            }
            buf_append(&text, s, n);
            continue;
        }
        int misc = skip_misc(ps);
        if (misc < 0)
            goto out;
        if (misc)
            continue;
        xml_node *child = parse_element(ps, depth + 1);
        if (!child)
            goto out;
        *tail = child;
        tail = &child->next;
    }
out:
    node_set_text(n, &text);
    buf_free(&text);
    return rc;
}

static xml_node *parse_element(parser *ps, int depth)
{
    if (depth > XML_READ_MAX_DEPTH) {
        fail(ps, "the document is nested more than %d levels deep", XML_READ_MAX_DEPTH);
        return NULL;
    }
    if (++ps->nodes > XML_READ_MAX_NODES) {
        fail(ps, "the document has more than %d elements", XML_READ_MAX_NODES);
        return NULL;
    }
    if (ps->p >= ps->end || *ps->p != '<') {
        fail(ps, "an element was expected");
        return NULL;
    }
    ps->p++;
    const char *name;
    size_t len;
    if (read_name(ps, &name, &len) != 0 || skip_attributes(ps) != 0)
        return NULL;
    xml_node *n = xcalloc(1, sizeof *n);
    n->name = xmalloc(len + 1);
    memcpy(n->name, name, len);
    n->name[len] = '\0';
    if (*ps->p == '/') {
        if (ps->end - ps->p < 2 || ps->p[1] != '>') {
            fail(ps, "malformed empty-element tag");
            xml_free(n);
            return NULL;
        }
        ps->p += 2;
        n->text = xstrdup("");
        return n;
    }
    ps->p++; /* '>' */
    if (parse_content(ps, n, len, depth) != 0) {
        xml_free(n);
        return NULL;
    }
    return n;
}

xml_node *xml_read(const char *text, size_t n, char *err, size_t errlen)
{
    parser ps = {.p = text, .end = text + n, .err = err, .errlen = errlen};
    if (err && errlen)
        err[0] = '\0';
    if (n >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
        ps.p += 3;
    int misc;
    do {
        skip_space(&ps);
        misc = skip_misc(&ps);
    } while (misc > 0);
    if (misc < 0)
        return NULL;
    xml_node *root = parse_element(&ps, 1);
    if (!root)
        return NULL;
    do {
        skip_space(&ps);
        misc = skip_misc(&ps);
    } while (misc > 0);
    if (misc < 0 || ps.p != ps.end) {
        fail(&ps, "content after the root element");
        xml_free(root);
        return NULL;
    }
    return root;
}

void xml_free(xml_node *n)
{
    while (n) {
        xml_node *next = n->next;
        xml_free(n->child);
        xfree(n->name);
        xfree(n->text);
        xfree(n);
        n = next;
    }
}

const char *xml_local_name(const xml_node *node)
{
    const char *colon = strrchr(node->name, ':');
    return colon ? colon + 1 : node->name;
}

const xml_node *xml_child(const xml_node *node, const char *name)
{
    for (const xml_node *c = node ? node->child : NULL; c; c = c->next)
        if (strcmp(xml_local_name(c), name) == 0)
            return c;
    return NULL;
}
