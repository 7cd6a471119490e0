/* The runtime client's HTTP/1.1 response parser (see runtime_http.h for the contract).
 *
 * The caller appends what it reads to one buffer and calls runtime_http_parse after every
 * read; the parser keeps offsets, never pointers, so the buffer may move as it grows.
 * Stages:
 *   HEAD        wait for the blank line (within max_head), then check the status line and
 *               every field in one pass, NUL-terminating names and values in place, and
 *               decide the framing: Content-Length, chunked, or none (204, 304);
 *   LENGTH      wait until Content-Length bytes follow the head;
 *   CHUNK_SIZE  a chunk-size line (hex, optional extensions), then CHUNK_DATA, whose bytes
 *               are moved down to the end of the decoded body (decoded <= raw, so the move
 *               never overwrites bytes not yet read), then CHUNK_CRLF; a size of 0 leads to
 *   TRAILERS    fields checked like headers (within max_head) up to the blank line.
 * The parser is strict because a malformed response means something other than sluiced is
 * answering, or the stream lost its framing: either way the only safe move is to drop the
 * connection. */
#include "libsluice/runtime_http.h"

#include "sluice/runtime.h"

#include <string.h>
#include <strings.h>

#define CHUNK_LINE_MAX 1024 /* a chunk-size line with its extensions */

enum { ST_HEAD, ST_LENGTH, ST_CHUNK_SIZE, ST_CHUNK_DATA, ST_CHUNK_CRLF, ST_TRAILERS, ST_DONE };

/* ---- characters (RFC 9110 5.6.2, 5.5) --------------------------------------------------- */

static int is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A field value or reason phrase character: VCHAR, SP, HTAB or obs-text. */
static int is_field_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The offset of the CRLF ending the line that starts at from, or -1 if not in buf yet. A
 * bare CR or LF before it is reported as -2. */
static long line_end(const char *buf, size_t from, size_t len)
{
    for (size_t i = from; i < len; i++) {
        if (buf[i] == '\n')
            return -2;
        if (buf[i] == '\r') {
            if (i + 1 >= len)
                return -1;
            return buf[i + 1] == '\n' ? (long)i : -2;
        }
    }
    return -1;
}

/* ---- the head --------------------------------------------------------------------------- */

/* "HTTP/1.x NNN[ reason]": sets status; keep_alive defaults by version. */
static int parse_status_line(runtime_http_parser *p, const char *s, size_t n)
{
    if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 || (s[7] != '0' && s[7] != '1') || s[8] != ' ')
        return SLUICE_EPROTO;
    for (int i = 9; i < 12; i++)
        if (s[i] < '0' || s[i] > '9')
            return SLUICE_EPROTO;
    p->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    if (p->status < 200 || p->status > 599) /* 1xx: we never send Expect or Upgrade */
        return SLUICE_EPROTO;
    if (n > 12 && s[12] != ' ')
        return SLUICE_EPROTO;
    for (size_t i = 13; i < n; i++)
        if (!is_field_char((unsigned char)s[i]))
            return SLUICE_EPROTO;
    p->keep_alive = s[7] == '1';
    return 0;
}

/* One "name: value" line at buf[from, from+n): checks it, NUL-terminates the name (over the
 * colon) and the value (over the OWS or CR after it), and gives their offsets. */
static int parse_field(char *buf, size_t from, size_t n, uint32_t *name_off, uint32_t *value_off)
{
    char *s = buf + from;
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)s[i]))
        i++;
    if (i == 0 || i == n || s[i] != ':') /* no name, or whitespace before the colon */
        return SLUICE_EPROTO;
    size_t v = i + 1;
    while (v < n && is_ows(s[v]))
        v++;
    size_t e = n;
    while (e > v && is_ows(s[e - 1]))
        e--;
    for (size_t k = v; k < e; k++)
        if (!is_field_char((unsigned char)s[k]))
            return SLUICE_EPROTO;
    s[i] = 0;
    s[e] = 0; /* an OWS byte, or the line's CR */
    *name_off = (uint32_t)from;
    *value_off = (uint32_t)(from + v);
    return 0;
}

/* 1*DIGIT, no sign, no overflow past max. */
static int parse_length(const char *v, size_t max, size_t *out)
{
    size_t n = 0;
    if (!*v)
        return SLUICE_EPROTO;
    for (; *v; v++) {
        if (*v < '0' || *v > '9')
            return SLUICE_EPROTO;
        size_t d = (size_t)(*v - '0');
        if (d > max || n > (max - d) / 10)
            return SLUICE_ELIMIT;
        n = n * 10 + (size_t)(*v - '0');
    }
    *out = n;
    return 0;
}

/* Whether the comma-separated list value holds token (case-insensitive). */
static int list_has(const char *value, const char *token)
{
    size_t tl = strlen(token);
    const char *s = value;
    while (*s) {
        while (*s == ',' || is_ows(*s))
            s++;
        const char *e = s;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > s && is_ows(t[-1]))
            t--;
        if ((size_t)(t - s) == tl && strncasecmp(s, token, tl) == 0)
            return 1;
        s = e;
    }
    return 0;
}

/* Connection, Content-Length and Transfer-Encoding of the checked head: the framing. */
static int decide_framing(runtime_http_parser *p, const char *buf)
{
    int have_length = 0, have_te = 0;
    for (unsigned i = 0; i < p->nhdrs; i++) {
        const char *name = buf + p->name_off[i], *value = buf + p->value_off[i];
        if (strcasecmp(name, "Content-Length") == 0) {
            if (have_length++)
                return SLUICE_EPROTO;
            int rc = parse_length(value, p->lim.max_body, &p->content_length);
            if (rc != 0)
                return rc;
        } else if (strcasecmp(name, "Transfer-Encoding") == 0) {
            if (have_te++ || strcasecmp(value, "chunked") != 0)
                return SLUICE_EPROTO;
            p->chunked = 1;
        } else if (strcasecmp(name, "Connection") == 0) {
            if (list_has(value, "close"))
                p->keep_alive = 0;
            else if (list_has(value, "keep-alive"))
                p->keep_alive = 1;
        }
    }
    if (have_length && have_te)
        return SLUICE_EPROTO;
    if (p->status == 204 || p->status == 304) {
        if (have_te || p->content_length != 0)
            return SLUICE_EPROTO;
        return 0;
    }
    if (!have_length && !have_te) /* close-delimited: cannot keep the connection's framing */
        return SLUICE_EPROTO;
    return 0;
}

static int parse_head(runtime_http_parser *p, char *buf, size_t len)
{
    /* Look for the blank line from where the last call stopped (minus a split CRLFCRLF). */
    size_t from = p->pos > 3 ? p->pos - 3 : 0;
    const char *blank = NULL;
    size_t scan_to = len < p->lim.max_head ? len : p->lim.max_head;
    if (scan_to > from)
        blank = memmem(buf + from, scan_to - from, "\r\n\r\n", 4);
    if (!blank) {
        p->pos = scan_to;
        return len >= p->lim.max_head ? SLUICE_ELIMIT : 0;
    }
    p->head_len = (size_t)(blank - buf) + 4;
    size_t at = 0;
    long eol = line_end(buf, 0, p->head_len);
    if (eol < 0)
        return SLUICE_EPROTO;
    int rc = parse_status_line(p, buf, (size_t)eol);
    if (rc != 0)
        return rc;
    at = (size_t)eol + 2;
    while (at < p->head_len - 2) {
        eol = line_end(buf, at, p->head_len);
        if (eol < 0)
            return SLUICE_EPROTO;
        if (is_ows(buf[at])) /* obsolete line folding */
            return SLUICE_EPROTO;
        if (p->nhdrs >= p->lim.max_hdrs)
            return SLUICE_ELIMIT;
        rc =
            parse_field(buf, at, (size_t)eol - at, &p->name_off[p->nhdrs], &p->value_off[p->nhdrs]);
        if (rc != 0)
            return rc;
        p->nhdrs++;
        at = (size_t)eol + 2;
    }
    rc = decide_framing(p, buf);
    if (rc != 0)
        return rc;
    p->body_start = p->pos = p->head_len;
    p->stage = p->chunked ? ST_CHUNK_SIZE : ST_LENGTH;
    return 0;
}

/* ---- the body --------------------------------------------------------------------------- */

/* "HEX[;ext]" CRLF */
static int parse_chunk_size(runtime_http_parser *p, char *buf, size_t len)
{
    long eol = line_end(buf, p->pos, len);
    if (eol == -1)
        return len - p->pos > CHUNK_LINE_MAX ? SLUICE_ELIMIT : 0;
    if (eol < 0 || (size_t)eol - p->pos > CHUNK_LINE_MAX)
        return eol < 0 ? SLUICE_EPROTO : SLUICE_ELIMIT;
    size_t i = p->pos, size = 0, room = p->lim.max_body - p->body_len;
    int digits = 0;
    for (int h; i < (size_t)eol && (h = hex_value(buf[i])) >= 0; i++, digits++) {
        if ((size_t)h > room || size > (room - (size_t)h) / 16)
            return SLUICE_ELIMIT;
        size = size * 16 + (size_t)h;
    }
    if (digits == 0)
        return SLUICE_EPROTO;
    if (i < (size_t)eol) { /* chunk extensions: BWS ";" ..., kept to field characters */
        while (i < (size_t)eol && is_ows(buf[i]))
            i++;
        if (i == (size_t)eol || buf[i] != ';')
            return SLUICE_EPROTO;
        for (; i < (size_t)eol; i++)
            if (!is_field_char((unsigned char)buf[i]))
                return SLUICE_EPROTO;
    }
    p->pos = (size_t)eol + 2;
    p->chunk_left = size;
    p->stage = size ? ST_CHUNK_DATA : ST_TRAILERS;
    return 0;
}

static void take_chunk_data(runtime_http_parser *p, char *buf, size_t len)
{
    size_t n = len - p->pos < p->chunk_left ? len - p->pos : p->chunk_left;
    memmove(buf + p->body_start + p->body_len, buf + p->pos, n);
    p->body_len += n;
    p->pos += n;
    p->chunk_left -= n;
    if (p->chunk_left == 0)
        p->stage = ST_CHUNK_CRLF;
}

static int parse_trailer_line(runtime_http_parser *p, char *buf, size_t len)
{
    long eol = line_end(buf, p->pos, len);
    size_t line = eol >= 0 ? (size_t)eol - p->pos + 2 : len - p->pos;
    if (p->trailer_bytes + line > p->lim.max_head)
        return SLUICE_ELIMIT;
    if (eol == -1)
        return 0;
    if (eol < 0 || is_ows(buf[p->pos]))
        return SLUICE_EPROTO;
    if ((size_t)eol == p->pos) { /* the blank line: the response is complete */
        p->pos += 2;
        p->stage = ST_DONE;
        return 0;
    }
    uint32_t name, value;
    int rc = parse_field(buf, p->pos, (size_t)eol - p->pos, &name, &value);
    if (rc != 0)
        return rc;
    p->trailer_bytes += line;
    p->pos = (size_t)eol + 2;
    return 0;
}

/* Advances through what buf holds; 0 when it needs more, or an error. */
static int advance(runtime_http_parser *p, char *buf, size_t len)
{
    for (;;) {
        size_t before = p->pos;
        int stage = p->stage, rc = 0;
        switch (p->stage) {
        case ST_HEAD:
            rc = parse_head(p, buf, len);
            break;
        case ST_LENGTH:
            if (len - p->body_start >= p->content_length) {
                p->body_len = p->content_length;
                p->pos = p->body_start + p->content_length;
                p->stage = ST_DONE;
            }
            break;
        case ST_CHUNK_SIZE:
            rc = parse_chunk_size(p, buf, len);
            break;
        case ST_CHUNK_DATA:
            take_chunk_data(p, buf, len);
            break;
        case ST_CHUNK_CRLF:
            if (len - p->pos >= 2) {
                if (buf[p->pos] != '\r' || buf[p->pos + 1] != '\n')
                    return SLUICE_EPROTO;
                p->pos += 2;
                p->stage = ST_CHUNK_SIZE;
            }
            break;
        case ST_TRAILERS:
            rc = parse_trailer_line(p, buf, len);
            break;
        case ST_DONE:
            return 0;
        }
        if (rc != 0)
            return rc;
        if (p->stage == stage && p->pos == before)
            return 0; /* no progress: wait for bytes */
    }
}

/* ---- interface -------------------------------------------------------------------------- */

void runtime_http_init(runtime_http_parser *p, const runtime_http_limits *lim)
{
    memset(p, 0, sizeof *p);
    p->lim = *lim;
    if (p->lim.max_hdrs > RUNTIME_HTTP_MAX_HEADERS)
        p->lim.max_hdrs = RUNTIME_HTTP_MAX_HEADERS;
    p->stage = ST_HEAD;
}

int runtime_http_parse(runtime_http_parser *p, char *buf, size_t len)
{
    if (p->stage == ST_DONE)
        return RUNTIME_HTTP_DONE;
    int rc = advance(p, buf, len);
    if (rc != 0)
        return rc;
    if (p->stage != ST_DONE)
        return 0;
    p->end = p->pos;
    p->body = buf + p->body_start;
    p->body[p->body_len] = 0;
    for (unsigned i = 0; i < p->nhdrs; i++) {
        p->hdrs[i].name = buf + p->name_off[i];
        p->hdrs[i].value = buf + p->value_off[i];
    }
    return RUNTIME_HTTP_DONE;
}

const char *runtime_http_header_get(const runtime_http_parser *p, const char *name)
{
    for (unsigned i = 0; i < p->nhdrs; i++)
        if (strcasecmp(p->hdrs[i].name, name) == 0)
            return p->hdrs[i].value;
    return NULL;
}
