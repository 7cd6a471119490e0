/* Event JSON -> leaf fields, in one pass over the text (no intermediate tree).
 *
 * Each scalar becomes a field: its path is the object keys from the root joined with '.'
 * (arrays add nothing to the path: their elements are fields of the same path, so an
 * event array matches if any element does), its value is the unescaped string, the
 * number text as written, or true/false/null. Empty arrays and objects give no field, so
 * for matching they are absent. An element that is itself an object or array records
 * (array id, element index) in the field's trail; the matcher uses trails to refuse a
 * rule match built from two different elements of one array of objects, as event-ruler's
 * rulesForJSONEvent does. The text is fully validated (RFC 8259, UTF-8, nesting at most
 * PATTERN_MAX_DEPTH); duplicate keys are kept, each giving its fields. */
#include "pattern/pattern_internal.h"

#include "common/alloc.h"
#include "common/hex.h"
#include "common/utf8.h"

typedef struct flat {
    pattern_event *ev;
    const unsigned char *s;
    size_t n, pos;
    buf path;
    uint64_t trail[PATTERN_MAX_DEPTH + 1];
    int ntrail;
    int depth;
    /* The path changes only at object keys: fields of one array reuse the last copy. */
    uint32_t path_version, last_version, last_off;
    uint64_t last_hash;
} flat;

/* Appends without the function call of buf_append on the hot path. */
static inline void tappend(buf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap)
        buf_reserve(b, n + 1);
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

#define ONES  0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Whether any of the 8 bytes of w is a quote, a backslash, a control byte or non-ASCII. */
static inline bool special8(uint64_t w)
{
    uint64_t q = w ^ (ONES * '"'), b = w ^ (ONES * '\\');
    return (((q - ONES) & ~q) | ((b - ONES) & ~b) | (w - ONES * 0x20) | w) & HIGHS;
}

pattern_event *pattern_event_new(void)
{
    pattern_event *ev = xcalloc(1, sizeof *ev);
    buf_init(&ev->text, 1024);
    return ev;
}

void pattern_event_free(pattern_event *ev)
{
    if (!ev)
        return;
    buf_free(&ev->text);
    buf_free(&ev->path);
    xfree(ev->f);
    xfree(ev->trail);
    xfree(ev);
}

void pattern_event_reset(pattern_event *ev)
{
    buf_reset(&ev->text);
    ev->n = 0;
    ev->ntrail = 0;
    ev->arrays = 0;
}

size_t pattern_event_field_count(const pattern_event *ev)
{
    return ev->n;
}

static void skip_ws(flat *f)
{
    while (f->pos < f->n) {
        unsigned char c = f->s[f->pos];
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t')
            return;
        f->pos++;
    }
}

static void put_cp(buf *b, uint32_t c)
{
    char t[4];
    size_t n;
    if (c < 0x80) {
        t[0] = (char)c;
        n = 1;
    } else if (c < 0x800) {
        t[0] = (char)(0xc0 | (c >> 6));
        t[1] = (char)(0x80 | (c & 0x3f));
        n = 2;
    } else if (c < 0x10000) {
        t[0] = (char)(0xe0 | (c >> 12));
        t[1] = (char)(0x80 | ((c >> 6) & 0x3f));
        t[2] = (char)(0x80 | (c & 0x3f));
        n = 3;
    } else {
        t[0] = (char)(0xf0 | (c >> 18));
        t[1] = (char)(0x80 | ((c >> 12) & 0x3f));
        t[2] = (char)(0x80 | ((c >> 6) & 0x3f));
        t[3] = (char)(0x80 | (c & 0x3f));
        n = 4;
    }
    buf_append(b, t, n);
}

static int hex4(const flat *f, size_t at, uint32_t *out)
{
    if (at + 4 > f->n)
        return -1;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        int d = hex_digit(f->s[at + i]);
        if (d < 0)
            return -1;
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return 0;
}

/* Appends the unescaped string at f->pos (the opening quote) to out. */
static int string(flat *f, buf *out)
{
    size_t i = f->pos + 1;
    const unsigned char *s = f->s;
    for (;;) {
        size_t run = i;
        while (i + 8 <= f->n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (special8(w))
                break;
            i += 8;
        }
        while (i < f->n && s[i] >= 0x20 && s[i] != '"' && s[i] != '\\' && s[i] < 0x80)
            i++;
        if (i > run)
            tappend(out, s + run, i - run);
        if (i >= f->n)
            return -1;
        unsigned char c = s[i];
        if (c == '"') {
            f->pos = i + 1;
            return 0;
        }
        if (c < 0x20)
            return -1;
        if (c >= 0x80) {
            uint32_t cp;
            size_t len = utf8_decode(s + i, f->n - i, &cp);
            if (!len)
                return -1;
            buf_append(out, s + i, len);
            i += len;
            continue;
        }
        if (i + 1 >= f->n)
            return -1;
        unsigned char e = s[i + 1];
        i += 2;
        switch (e) {
        case '"':
        case '\\':
        case '/':
            buf_putc(out, (char)e);
            break;
        case 'b':
            buf_putc(out, '\b');
            break;
        case 'f':
            buf_putc(out, '\f');
            break;
        case 'n':
            buf_putc(out, '\n');
            break;
        case 'r':
            buf_putc(out, '\r');
            break;
        case 't':
            buf_putc(out, '\t');
            break;
        case 'u': {
            uint32_t u, lo;
            if (hex4(f, i, &u) < 0)
                return -1;
            i += 4;
            if (u >= 0xd800 && u <= 0xdbff && i + 6 <= f->n && s[i] == '\\' && s[i + 1] == 'u' &&
                hex4(f, i + 2, &lo) == 0 && lo >= 0xdc00 && lo <= 0xdfff) {
                i += 6;
                put_cp(out, 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00));
            } else if (u >= 0xd800 && u <= 0xdfff) {
                buf_putc(out, '?'); /* a lone surrogate, as Java encodes it */
            } else {
                put_cp(out, u);
            }
            break;
        }
        default:
            return -1;
        }
    }
}

static int number_end(const flat *f, size_t *end)
{
    size_t i = f->pos;
    const unsigned char *s = f->s;
    if (i < f->n && s[i] == '-')
        i++;
    if (i >= f->n || s[i] < '0' || s[i] > '9')
        return -1;
    if (s[i] == '0') {
        i++;
    } else {
        while (i < f->n && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (i < f->n && s[i] == '.') {
        i++;
        if (i >= f->n || s[i] < '0' || s[i] > '9')
            return -1;
        while (i < f->n && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (i < f->n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < f->n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= f->n || s[i] < '0' || s[i] > '9')
            return -1;
        while (i < f->n && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    *end = i;
    return 0;
}

static pev_field *new_field(flat *f, uint8_t kind)
{
    pattern_event *ev = f->ev;
    if (ev->n == ev->cap) {
        ev->cap = ev->cap ? ev->cap * 2 : 32;
        ev->f = xrealloc(ev->f, ev->cap * sizeof *ev->f);
    }
    pev_field *fl = &ev->f[ev->n++];
    fl->kind = kind;
    fl->num_ok = 0;
    fl->path_len = (uint32_t)f->path.len;
    if (f->last_version != f->path_version || !f->last_version) {
        f->last_version = f->path_version;
        f->last_off = (uint32_t)ev->text.len;
        f->last_hash = phash(f->path.data, f->path.len);
        tappend(&ev->text, f->path.data, f->path.len);
    }
    fl->path_off = f->last_off;
    fl->hash = f->last_hash;
    if (f->ntrail) {
        if (ev->ntrail + (size_t)f->ntrail > ev->trailcap) {
            ev->trailcap = (ev->trailcap + (size_t)f->ntrail) * 2;
            ev->trail = xrealloc(ev->trail, ev->trailcap * sizeof *ev->trail);
        }
        memcpy(ev->trail + ev->ntrail, f->trail, (size_t)f->ntrail * sizeof *f->trail);
        fl->trail_off = (uint32_t)ev->ntrail;
        ev->ntrail += (size_t)f->ntrail;
    } else {
        fl->trail_off = 0;
    }
    fl->trail_len = (uint32_t)f->ntrail;
    fl->val_off = (uint32_t)ev->text.len;
    fl->val_len = 0;
    return fl;
}

static int value(flat *f);

static int object(flat *f)
{
    f->pos++;
    skip_ws(f);
    if (f->pos < f->n && f->s[f->pos] == '}') {
        f->pos++;
        return 0;
    }
    for (;;) {
        if (f->pos >= f->n || f->s[f->pos] != '"')
            return -1;
        size_t mark = f->path.len;
        f->path_version++;
        if (mark || f->depth > 1)
            buf_putc(&f->path, '.');
        if (string(f, &f->path) < 0)
            return -1;
        skip_ws(f);
        if (f->pos >= f->n || f->s[f->pos] != ':')
            return -1;
        f->pos++;
        skip_ws(f);
        if (value(f) < 0)
            return -1;
        f->path.len = mark;
        f->path_version++;
        skip_ws(f);
        if (f->pos >= f->n)
            return -1;
        if (f->s[f->pos] == '}') {
            f->pos++;
            return 0;
        }
        if (f->s[f->pos] != ',')
            return -1;
        f->pos++;
        skip_ws(f);
    }
}

static int array(flat *f)
{
    uint32_t id = f->ev->arrays++;
    uint32_t index = 0;
    f->pos++;
    skip_ws(f);
    if (f->pos < f->n && f->s[f->pos] == ']') {
        f->pos++;
        return 0;
    }
    for (;;) {
        if (f->pos >= f->n)
            return -1;
        unsigned char c = f->s[f->pos];
        bool nested = c == '{' || c == '[';
        if (nested)
            f->trail[f->ntrail++] = (uint64_t)id << 32 | index;
        if (value(f) < 0)
            return -1;
        if (nested)
            f->ntrail--;
        index++;
        skip_ws(f);
        if (f->pos >= f->n)
            return -1;
        if (f->s[f->pos] == ']') {
            f->pos++;
            return 0;
        }
        if (f->s[f->pos] != ',')
            return -1;
        f->pos++;
        skip_ws(f);
    }
}

static int literal(flat *f, const char *word, uint8_t kind)
{
    size_t len = strlen(word);
    if (f->n - f->pos < len || memcmp(f->s + f->pos, word, len) != 0)
        return -1;
    f->pos += len;
    pev_field *fl = new_field(f, kind);
    fl->val_len = 0;
    return 0;
}

static int value(flat *f)
{
    if (f->pos >= f->n)
        return -1;
    unsigned char c = f->s[f->pos];
    switch (c) {
    case '{':
    case '[': {
        if (f->depth >= PATTERN_MAX_DEPTH)
            return -1;
        f->depth++;
        int rc = c == '{' ? object(f) : array(f);
        f->depth--;
        return rc;
    }
    case '"': {
        pev_field *fl = new_field(f, PV_STRING);
        size_t idx = (size_t)(fl - f->ev->f);
        if (string(f, &f->ev->text) < 0)
            return -1;
        fl = &f->ev->f[idx];
        fl->val_len = (uint32_t)(f->ev->text.len - fl->val_off);
        return 0;
    }
    case 't':
        return literal(f, "true", PV_TRUE);
    case 'f':
        return literal(f, "false", PV_FALSE);
    case 'n':
        return literal(f, "null", PV_NULL);
    default: {
        size_t end;
        if (number_end(f, &end) < 0)
            return -1;
        pev_field *fl = new_field(f, PV_NUMBER);
        tappend(&f->ev->text, f->s + f->pos, end - f->pos);
        fl->val_len = (uint32_t)(end - f->pos);
        fl->num = pnum_parse((const char *)f->s + f->pos, end - f->pos);
        fl->num_ok = pnum_comparable(fl->num, PNUM_LIMIT_EVENTBRIDGE, &fl->cmp) == 0;
        f->pos = end;
        return 0;
    }
    }
}

static int run(pattern_event *ev, const char *path, size_t pathlen, const char *json, size_t n,
               bool need_object)
{
    flat f = {
        .ev = ev, .s = (const unsigned char *)json, .n = n, .path = ev->path, .path_version = 1};
    if (!f.path.data)
        buf_init(&f.path, 128);
    buf_reset(&f.path);
    if (pathlen)
        buf_append(&f.path, path, pathlen);
    size_t first = ev->n, text = ev->text.len, trail = ev->ntrail;
    int rc = -1;
    skip_ws(&f);
    if (need_object && (f.pos >= n || f.s[f.pos] != '{'))
        goto done;
    if (value(&f) < 0)
        goto done;
    skip_ws(&f);
    if (f.pos != n)
        goto done;
    rc = 0;
done:
    if (rc < 0) {
        ev->n = first;
        ev->text.len = text;
        ev->ntrail = trail;
    }
    ev->path = f.path;
    return rc;
}

int pattern_event_from_json(pattern_event *ev, const char *json, size_t n)
{
    pattern_event_reset(ev);
    return run(ev, NULL, 0, json, n, true);
}

int pattern_event_add(pattern_event *ev, const char *path, const char *value_json, size_t n)
{
    return run(ev, path, strlen(path), value_json, n, false);
}
