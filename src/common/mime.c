/* MIME message builder.
 *
 * Headers: every field is checked first (no CR or LF anywhere, addresses parsed into a
 * display name and an address), then written through one folding writer: a field is a
 * sequence of atoms that must not be split, joined by separators where a line may break
 * (", " between addresses, " " between words). When an atom would take a line past 78
 * columns the separator's trailing space becomes CRLF + space, which unfolding turns back
 * into the same text. Text that cannot go out as ASCII words (non-ASCII, controls, a
 * literal "=?" that readers would try to decode, a word too long to fold) becomes RFC 2047
 * "=?UTF-8?B?...?=" words of at most 75 characters, each holding whole UTF-8 characters
 * (RFC 2047 section 5 forbids splitting one across words).
 *
 * Bodies: line ends are normalised to CRLF while encoding (the canonical form of text),
 * and the transfer encoding is the cheapest one that keeps every line within limits:
 * 7bit for ASCII with short lines, base64 when most of the text is non-ASCII (where
 * quoted-printable would triple it), quoted-printable otherwise (76-column lines, soft
 * breaks never inside an =XX escape, trailing white space escaped).
 *
 * Multipart boundaries start with "=_", which neither quoted-printable nor base64 can
 * produce; a 7bit body is searched for the boundary and a new one drawn on a hit. */
#include "common/mime.h"

#include "common/alloc.h"
#include "common/ids.h"
#include "common/utf8.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define FOLD_AT     78  /* RFC 5322 2.1.1: lines SHOULD be at most 78 characters */
#define LINE_MAX_7B 998 /* ... and MUST be at most 998 */
#define EW_BYTES    45  /* 60 base64 characters + "=?UTF-8?B?" + "?=" = 72 <= 75 */
#define QP_COLS     76

/* ---------------------------------------------------------------------------------------
 * Checks
 * --------------------------------------------------------------------------------------- */

static int has_crlf(const char *s)
{
    return strpbrk(s, "\r\n") != NULL;
}

static int is_ascii_printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return 0;
    return 1;
}

static int valid_utf8(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        uint32_t cp;
        size_t len = utf8_decode(p + i, n - i, &cp);
        if (len == 0)
            return 0;
        i += len;
    }
    return 1;
}

/* An address: printable ASCII, something on both sides of one '@', no white space and
 * none of the characters that would end it or start another. */
static int addr_ok(const char *s, size_t n)
{
    if (n == 0 || !is_ascii_printable(s, n))
        return 0;
    const char *at = memchr(s, '@', n);
    if (!at || at == s || at == s + n - 1 || memchr(at + 1, '@', (size_t)(s + n - at - 1)))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (strchr(" <>,;\"()[]\\", s[i]))
            return 0;
    return 1;
}

/* ---------------------------------------------------------------------------------------
 * Folding header writer
 * --------------------------------------------------------------------------------------- */

typedef struct hdr {
    buf *out;
    size_t col;   /* characters on the current line */
    int nonempty; /* an atom was written after the field name */
} hdr;

static void hdr_begin(hdr *h, buf *out, const char *name)
{
    h->out = out;
    buf_puts(out, name);
    buf_puts(out, ": ");
    h->col = strlen(name) + 2;
    h->nonempty = 0;
}

/* Writes sep (which ends in one space, or is "") then the atom, breaking at that space if
 * the atom would cross FOLD_AT. */
static void hdr_atom(hdr *h, const char *sep, const char *atom, size_t n)
{
    if (h->nonempty) {
        size_t sl = strlen(sep);
        if (sl && sep[sl - 1] == ' ' && h->col + sl + n > FOLD_AT) {
            buf_append(h->out, sep, sl - 1);
            buf_puts(h->out, "\r\n ");
            h->col = 1;
        } else {
            buf_puts(h->out, sep);
            h->col += sl;
        }
    }
    buf_append(h->out, atom, n);
    h->col += n;
    h->nonempty = 1;
}

static void hdr_end(hdr *h)
{
    buf_puts(h->out, "\r\n");
}

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64_append(buf *b, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        buf_putc(b, b64chars[v >> 18 & 63]);
        buf_putc(b, b64chars[v >> 12 & 63]);
        buf_putc(b, i + 1 < n ? b64chars[v >> 6 & 63] : '=');
        buf_putc(b, i + 2 < n ? b64chars[v & 63] : '=');
    }
}

/* Writes s (valid UTF-8) as encoded-words, the first one after `sep`. */
static void hdr_encoded_words(hdr *h, const char *sep, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    buf w = BUF_INIT;
    size_t i = 0;
    do {
        /* Sized to end the line at FOLD_AT unless the word goes to a line of its own. */
        size_t room = FOLD_AT - 12 -
                      (h->col + strlen(sep) < FOLD_AT - 12 ? h->col + strlen(sep) : FOLD_AT - 12);
        size_t max = room >= 16 && room / 4 * 3 < EW_BYTES ? room / 4 * 3 : EW_BYTES;
        size_t end = i;
        while (end < n) {
            size_t len = 1;
            uint32_t cp;
            if (p[end] >= 0x80)
                len = utf8_decode(p + end, n - end, &cp);
            if (end + len - i > max)
                break;
            end += len;
        }
        buf_reset(&w);
        buf_puts(&w, "=?UTF-8?B?");
        b64_append(&w, p + i, end - i);
        buf_puts(&w, "?=");
        hdr_atom(h, sep, w.data, w.len);
        sep = " "; /* white space between encoded-words is dropped by decoders */
        i = end;
    } while (i < n);
    buf_free(&w);
}

/* Unstructured text (Subject): folded words when it can go as ASCII, else encoded-words. */
static void hdr_text(hdr *h, const char *s)
{
    size_t n = strlen(s);
    int encode = !is_ascii_printable(s, n) || strstr(s, "=?") != NULL;
    for (size_t i = 0, run = 0; !encode && i < n; i++) {
        run = s[i] == ' ' ? 0 : run + 1;
        if (run > LINE_MAX_7B - FOLD_AT)
            encode = 1;
    }
    if (encode) {
        hdr_encoded_words(h, "", s, n);
        return;
    }
    /* Break only at a space followed by a non-space, so the space kept after the fold is
     * the one that was there and runs of spaces survive unfolding. */
    size_t start = 0;
    const char *sep = "";
    for (size_t i = 0; i <= n; i++) {
        if (i < n && !(s[i] == ' ' && i + 1 < n && s[i + 1] != ' ' && i > start))
            continue;
        hdr_atom(h, sep, s + start, i - start);
        sep = " ";
        start = i + 1;
    }
}

/* ---------------------------------------------------------------------------------------
 * Addresses
 * --------------------------------------------------------------------------------------- */

static int is_encoded_word(const char *s, size_t n)
{
    return n >= 8 && memcmp(s, "=?", 2) == 0 && memcmp(s + n - 2, "?=", 2) == 0;
}

static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

/* Writes one address after sep. Returns 0 or -1 if it is not one. */
static int hdr_address(hdr *h, const char *sep, const char *a)
{
    if (!a || has_crlf(a))
        return -1;
    const char *s = a, *name = NULL, *addr;
    size_t n = strlen(a), name_len = 0, addr_len;
    trim(&s, &n);
    const char *lt = n && s[n - 1] == '>' ? memrchr(s, '<', n) : NULL;
    if (lt) {
        name = s;
        name_len = (size_t)(lt - s);
        trim(&name, &name_len);
        addr = lt + 1;
        addr_len = (size_t)(s + n - 1 - addr);
    } else {
        addr = s;
        addr_len = n;
    }
    if (!addr_ok(addr, addr_len))
        return -1;
    if (name && !valid_utf8(name, name_len))
        return -1;

    buf tail = BUF_INIT;
    if (lt)
        buf_putc(&tail, '<');
    buf_append(&tail, addr, addr_len);
    if (lt)
        buf_putc(&tail, '>');
    if (name_len == 0) {
        hdr_atom(h, sep, tail.data, tail.len);
    } else if (!is_ascii_printable(name, name_len)) {
        hdr_encoded_words(h, sep, name, name_len);
        hdr_atom(h, " ", tail.data, tail.len);
    } else {
        buf ph = BUF_INIT;
        int quoted = name_len >= 2 && name[0] == '"' && name[name_len - 1] == '"';
        int special = 0;
        for (size_t i = 0; i < name_len; i++)
            special |= strchr("()<>[]:;@\\,\"", name[i]) != NULL;
        if (quoted || is_encoded_word(name, name_len) || !special) {
            buf_append(&ph, name, name_len);
        } else {
            buf_putc(&ph, '"');
            for (size_t i = 0; i < name_len; i++) {
                if (name[i] == '"' || name[i] == '\\')
                    buf_putc(&ph, '\\');
                buf_putc(&ph, name[i]);
            }
            buf_putc(&ph, '"');
        }
        hdr_atom(h, sep, ph.data, ph.len);
        hdr_atom(h, " ", tail.data, tail.len);
        buf_free(&ph);
    }
    buf_free(&tail);
    return 0;
}

static int hdr_address_list(buf *out, const char *field, const char *const *list, size_t n)
{
    if (n == 0)
        return 0;
    if (!list)
        return -1;
    hdr h;
    hdr_begin(&h, out, field);
    for (size_t i = 0; i < n; i++)
        if (hdr_address(&h, i ? ", " : "", list[i]) != 0)
            return -1;
    hdr_end(&h);
    return 0;
}

/* The domain of the From address, for generated Message-IDs. */
static void from_domain(const char *from, char *out, size_t n)
{
    const char *end = strrchr(from, '>');
    if (!end)
        end = from + strlen(from);
    const char *at = memrchr(from, '@', (size_t)(end - from));
    size_t len = at ? (size_t)(end - at - 1) : 0;
    while (len && (at[len] == ' ' || at[len] == '\t'))
        len--;
    snprintf(out, n, "%.*s", (int)len, at ? at + 1 : "");
}

/* ---------------------------------------------------------------------------------------
 * Bodies
 * --------------------------------------------------------------------------------------- */

typedef enum { ENC_7BIT, ENC_QP, ENC_BASE64 } body_enc;

static const char *enc_name[] = {"7bit", "quoted-printable", "base64"};

static body_enc choose_enc(const char *s, size_t n)
{
    size_t high = 0, run = 0, longest = 0;
    int ctl = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r' || c == '\n') {
            run = 0;
            continue;
        }
        if (++run > longest)
            longest = run;
        if (c >= 0x80)
            high++;
        else if ((c < 0x20 && c != '\t') || c == 0x7f)
            ctl = 1;
    }
    if (high == 0 && !ctl && longest <= LINE_MAX_7B)
        return ENC_7BIT;
    return high > n / 3 ? ENC_BASE64 : ENC_QP;
}

/* Calls back on each line of s without its line end (LF, CR or CRLF); `last` is set for
 * the final line, which has no line end (it may be empty). */
typedef void (*line_fn)(buf *out, const char *line, size_t n, int last);

static void each_line(buf *out, const char *s, size_t n, line_fn fn)
{
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\r' && s[i] != '\n')
            continue;
        fn(out, s + start, i - start, 0);
        if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
            i++;
        start = i + 1;
    }
    fn(out, s + start, n - start, 1);
}

static void line_7bit(buf *out, const char *line, size_t n, int last)
{
    buf_append(out, line, n);
    if (!last)
        buf_puts(out, "\r\n");
}

static void line_qp(buf *out, const char *line, size_t n, int last)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t col = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)line[i];
        int lit = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && i + 1 < n);
        size_t w = lit ? 1 : 3;
        if (col + w > QP_COLS - 1) { /* leave room for the soft break's '=' */
            buf_puts(out, "=\r\n");
            col = 0;
        }
        if (lit) {
            buf_putc(out, (char)c);
        } else {
            buf_putc(out, '=');
            buf_putc(out, hex[c >> 4]);
            buf_putc(out, hex[c & 15]);
        }
        col += w;
    }
    if (!last)
        buf_puts(out, "\r\n");
}

static void body_write(buf *out, const char *s, size_t n, body_enc enc)
{
    if (enc == ENC_7BIT) {
        each_line(out, s, n, line_7bit);
    } else if (enc == ENC_QP) {
        each_line(out, s, n, line_qp);
    } else {
        buf canon = BUF_INIT;
        each_line(&canon, s, n, line_7bit);
        for (size_t i = 0; i < canon.len; i += 57) { /* 57 octets: 76 characters */
            size_t k = canon.len - i < 57 ? canon.len - i : 57;
            b64_append(out, (const unsigned char *)canon.data + i, k);
            buf_puts(out, "\r\n");
        }
        buf_free(&canon);
        return;
    }
    buf_puts(out, "\r\n");
}

static void part_head(buf *out, const char *type, body_enc enc)
{
    buf_printf(out, "Content-Type: %s; charset=UTF-8\r\nContent-Transfer-Encoding: %s\r\n\r\n",
               type, enc_name[enc]);
}

/* ---------------------------------------------------------------------------------------
 * The message
 * --------------------------------------------------------------------------------------- */

static const char *const own_fields[] = {"from",    "to",   "cc",         "bcc",    "reply-to",
                                         "subject", "date", "message-id", "sender", "mime-version"};

static int extra_header_ok(const char *h)
{
    const char *colon = h ? strchr(h, ':') : NULL;
    if (!colon || colon == h || !is_ascii_printable(h, strlen(h)))
        return 0;
    size_t nlen = (size_t)(colon - h);
    for (size_t i = 0; i < nlen; i++)
        if (h[i] == ' ')
            return 0;
    if (nlen >= 8 && strncasecmp(h, "content-", 8) == 0)
        return 0;
    for (size_t i = 0; i < sizeof own_fields / sizeof own_fields[0]; i++)
        if (strlen(own_fields[i]) == nlen && strncasecmp(h, own_fields[i], nlen) == 0)
            return 0;
    return strlen(h) <= LINE_MAX_7B;
}

static void write_date(buf *out, int64_t ms)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    buf_printf(out, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", days[tm.tm_wday], tm.tm_mday,
               months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void new_boundary(char out[40])
{
    snprintf(out, 40, "=_%016llx%016llx", (unsigned long long)ids_random64(),
             (unsigned long long)ids_random64());
}

#define FAIL(msg)                                                                                  \
    do {                                                                                           \
        why = msg;                                                                                 \
        goto fail;                                                                                 \
    } while (0)

int mime_build(buf *out, const mime_message *m, const char **err)
{
    const char *why = NULL;
    size_t start = out->len;
    if (!m->from)
        FAIL("From is required");
    if (m->subject && has_crlf(m->subject))
        FAIL("Subject contains a line break");
    if (m->subject && !valid_utf8(m->subject, strlen(m->subject)))
        FAIL("Subject is not valid UTF-8");
    if ((m->text && !valid_utf8(m->text, m->text_len)) ||
        (m->html && !valid_utf8(m->html, m->html_len)))
        FAIL("The message body is not valid UTF-8");
    if (m->message_id && (!addr_ok(m->message_id, strlen(m->message_id))))
        FAIL("Message-ID is not of the form left@right");
    for (size_t i = 0; i < m->nheaders; i++)
        if (!m->headers || !extra_header_ok(m->headers[i]))
            FAIL("An extra header is malformed or names a field set by the builder");

    write_date(out, m->date_ms ? m->date_ms : (int64_t)time(NULL) * 1000);
    if (hdr_address_list(out, "From", &m->from, 1) != 0)
        FAIL("From is not a valid address");
    if (hdr_address_list(out, "To", m->to, m->nto) != 0)
        FAIL("To contains an invalid address");
    if (hdr_address_list(out, "Cc", m->cc, m->ncc) != 0)
        FAIL("Cc contains an invalid address");
    if (hdr_address_list(out, "Reply-To", m->reply_to, m->nreply_to) != 0)
        FAIL("Reply-To contains an invalid address");
    hdr h;
    hdr_begin(&h, out, "Subject");
    hdr_text(&h, m->subject ? m->subject : "");
    hdr_end(&h);
    if (m->message_id) {
        buf_printf(out, "Message-ID: <%s>\r\n", m->message_id);
    } else {
        char uuid[37], dom[256];
        ids_uuid4(uuid);
        from_domain(m->from, dom, sizeof dom);
        buf_printf(out, "Message-ID: <%s@%s>\r\n", uuid, dom);
    }
    for (size_t i = 0; i < m->nheaders; i++) {
        buf_puts(out, m->headers[i]);
        buf_puts(out, "\r\n");
    }
    buf_puts(out, "MIME-Version: 1.0\r\n");

    if (!(m->text && m->html)) {
        const char *body = m->html ? m->html : m->text ? m->text : "";
        size_t len = m->html ? m->html_len : m->text ? m->text_len : 0;
        body_enc enc = choose_enc(body, len);
        part_head(out, m->html ? "text/html" : "text/plain", enc);
        body_write(out, body, len, enc);
        goto done;
    }
    body_enc te = choose_enc(m->text, m->text_len), he = choose_enc(m->html, m->html_len);
    char b[40];
    do {
        new_boundary(b);
    } while ((te == ENC_7BIT && memmem(m->text, m->text_len, b, strlen(b))) ||
             (he == ENC_7BIT && memmem(m->html, m->html_len, b, strlen(b))));
    buf_printf(out, "Content-Type: multipart/alternative;\r\n boundary=\"%s\"\r\n\r\n", b);
    buf_printf(out, "--%s\r\n", b);
    part_head(out, "text/plain", te);
    body_write(out, m->text, m->text_len, te);
    buf_printf(out, "--%s\r\n", b);
    part_head(out, "text/html", he);
    body_write(out, m->html, m->html_len, he);
    buf_printf(out, "--%s--\r\n", b);
done:
    if (err)
        *err = NULL;
    return 0;
fail:
    out->len = start;
    if (out->data)
        out->data[start] = '\0';
    if (err)
        *err = why;
    return MIME_EINVAL;
}
