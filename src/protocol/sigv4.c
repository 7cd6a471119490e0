/* AWS Signature Version 4 verification.
 *
 * The algorithm (IAM User Guide, "Create a signed AWS API request"; botocore's auth.py is the
 * reference we match byte for byte):
 *
 *   canonical request = METHOD \n canonical URI \n canonical query \n canonical headers \n
 *                       signed headers \n payload hash
 *   string to sign    = "AWS4-HMAC-SHA256" \n timestamp \n date/region/service/aws4_request \n
 *                       hex(SHA-256(canonical request))
 *   signing key       = HMAC chain: "AWS4" + secret -> date -> region -> service -> "aws4_request"
 *   signature         = hex(HMAC(signing key, string to sign))
 *
 * The signature travels in the Authorization header or, for presigned URLs, in the query
 * (X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-SignedHeaders, X-Amz-Signature; the
 * last is left out of the canonical query).
 *
 * Checks run in the order AWS applies them, so a request with several faults gets the error
 * AWS would give: authentication present (MissingAuthenticationToken), header well formed
 * (IncompleteSignature), host signed, timestamp parsable, timestamp within 15 minutes
 * (RequestExpired), credential has five parts (IncompleteSignature), terminator and date of
 * the scope (SignatureDoesNotMatch), access key known (InvalidClientTokenId), signature.
 * Any region and service are accepted: the scope only feeds the key derivation.
 *
 * Canonical forms. The canonical URI for non-S3 services is the path as sent (already
 * percent-encoded once), with dot segments and empty segments removed, percent-encoded once
 * more (so "%20" becomes "%2520": the "encode twice" rule), exactly as botocore and the JS v3
 * SDK compute it. The canonical query decodes each key and value and re-encodes them with the
 * RFC 3986 unreserved set, sorted by key then value. Header values are trimmed and inner
 * whitespace runs collapsed; repeated headers are joined with ','.
 * Clients differ at the edges (Go v2 skips dot-segment removal and reads '+' in a query as a
 * space; hand-written signers may normalise percent-escapes before encoding twice), so when the
 * first (botocore) form does not match, the few alternative forms that differ for this request
 * are tried. Well-formed SDK requests never reach them, and a wrong signature costs at most a
 * dozen extra hashes of a request that is bounded by the server's size limits.
 *
 * Cost: one SHA-256 over the body, one over the canonical request (a few hundred bytes) and
 * one HMAC. The derived signing key is cached per (secret, date, region, service) in a small
 * per-thread table, so the four-HMAC derivation runs once a day per credential and scope.
 * Signatures are compared in constant time. */
#include "protocol/sigv4.h"

#include "common/alloc.h"
#include "common/buf.h"
#include "common/hex.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ALGORITHM          "AWS4-HMAC-SHA256"
#define TERMINATOR         "aws4_request"
#define SKEW_S             (15 * 60)
#define MAX_PRESIGN_S      604800
#define EMPTY_SHA256_HEX   "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define KEYCACHE_SLOTS     8
#define KEYCACHE_ID_MAX    232
#define MAX_PATH_VARIANTS  3
#define MAX_QUERY_VARIANTS 3

typedef struct span {
    const char *p;
    size_t n;
} span;

static int span_eq(span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static int is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

static const char HEX_UPPER[] = "0123456789ABCDEF";

/* ===================================================================== digests */

static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!sha256_md)
        abort();
}

/* One digest context per thread, reused: creating one per hash costs more than hashing a
 * small canonical request. */
static EVP_MD_CTX *digest_ctx(void)
{
    static _Thread_local EVP_MD_CTX *ctx;
    pthread_once(&sha256_once, sha256_fetch);
    if (!ctx) {
        ctx = EVP_MD_CTX_new();
        if (!ctx)
            abort();
    }
    return ctx;
}

static void sha256_2(const void *a, size_t an, const void *b, size_t bn, unsigned char out[32])
{
    EVP_MD_CTX *ctx = digest_ctx();
    if (EVP_DigestInit_ex(ctx, sha256_md, NULL) != 1)
        abort();
    if (an)
        EVP_DigestUpdate(ctx, a, an);
    if (bn)
        EVP_DigestUpdate(ctx, b, bn);
    EVP_DigestFinal_ex(ctx, out, NULL);
}

/* HMAC-SHA256 (RFC 2104) over the reused digest context. */
static void hmac_sha256(const void *key, size_t klen, const void *msg, size_t n,
                        unsigned char out[32])
{
    unsigned char k[64] = {0}, pad[64], inner[32];
    if (klen > sizeof k)
        sha256_2(key, klen, NULL, 0, k);
    else
        memcpy(k, key, klen);
    for (int i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x36;
    sha256_2(pad, 64, msg, n, inner);
    for (int i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x5c;
    sha256_2(pad, 64, inner, 32, out);
    OPENSSL_cleanse(k, sizeof k);
    OPENSSL_cleanse(pad, sizeof pad);
}

static void hex32(const unsigned char in[32], char out[65])
{
    static const char lower[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = lower[in[i] >> 4];
        out[2 * i + 1] = lower[in[i] & 15];
    }
    out[64] = 0;
}

/* ===================================================================== signing keys */

typedef struct keycache_slot {
    size_t idlen; /* 0: empty */
    char id[KEYCACHE_ID_MAX];
    unsigned char key[32];
} keycache_slot;

static _Thread_local keycache_slot keycache[KEYCACHE_SLOTS];
static _Thread_local unsigned keycache_next;

static void derive_signing_key(const char *secret, span date, span region, span service,
                               unsigned char out[32])
{
    size_t sl = strlen(secret);
    char *k0 = xmalloc(4 + sl);
    memcpy(k0, "AWS4", 4);
    memcpy(k0 + 4, secret, sl);
    unsigned char k[32];
    hmac_sha256(k0, 4 + sl, date.p, date.n, k);
    hmac_sha256(k, 32, region.p, region.n, k);
    hmac_sha256(k, 32, service.p, service.n, k);
    hmac_sha256(k, 32, TERMINATOR, strlen(TERMINATOR), out);
    OPENSSL_cleanse(k0, 4 + sl);
    OPENSSL_cleanse(k, sizeof k);
    xfree(k0);
}

/* The cache is keyed by the whole tuple, NUL-separated (none of the parts can hold a NUL
 * that matters: the secret comes from configuration, the rest from a parsed header and would
 * only make a different tuple). Tuples too long for a slot are derived every time. */
static void signing_key(const char *secret, span date, span region, span service,
                        unsigned char out[32])
{
    char id[KEYCACHE_ID_MAX];
    size_t sl = strlen(secret);
    size_t len = sl + 1 + date.n + 1 + region.n + 1 + service.n;
    if (len > sizeof id) {
        derive_signing_key(secret, date, region, service, out);
        return;
    }
    char *w = id;
    memcpy(w, secret, sl);
    w += sl;
    *w++ = 0;
    memcpy(w, date.p, date.n);
    w += date.n;
    *w++ = 0;
    memcpy(w, region.p, region.n);
    w += region.n;
    *w++ = 0;
    memcpy(w, service.p, service.n);
    for (int i = 0; i < KEYCACHE_SLOTS; i++) {
        keycache_slot *s = &keycache[i];
        if (s->idlen == len && memcmp(s->id, id, len) == 0) {
            memcpy(out, s->key, 32);
            return;
        }
    }
    derive_signing_key(secret, date, region, service, out);
    keycache_slot *s = &keycache[keycache_next++ % KEYCACHE_SLOTS];
    s->idlen = len;
    memcpy(s->id, id, len);
    memcpy(s->key, out, 32);
    OPENSSL_cleanse(id, sizeof id);
}

/* ===================================================================== time */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yy + (*m <= 2));
}

static int days_in_month(int y, unsigned m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dm[m - 1];
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int make_time(int y, int mo, int d, int h, int mi, int s, int64_t *out)
{
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, (unsigned)mo) || h > 23 || mi > 59 ||
        s > 59)
        return -1;
    *out = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + s;
    return 0;
}

/* "YYYYMMDDTHHMMSSZ" (ISO 8601 basic format, UTC). */
static int parse_iso_basic(span t, int64_t *out)
{
    int y, mo, d, h, mi, s;
    if (t.n != 16 || t.p[8] != 'T' || t.p[15] != 'Z')
        return -1;
    if (digits(t.p, 4, &y) || digits(t.p + 4, 2, &mo) || digits(t.p + 6, 2, &d) ||
        digits(t.p + 9, 2, &h) || digits(t.p + 11, 2, &mi) || digits(t.p + 13, 2, &s))
        return -1;
    return make_time(y, mo, d, h, mi, s, out);
}

/* RFC 7231 IMF-fixdate ("Mon, 27 May 2024 12:00:00 GMT") and the RFC 2822 form botocore
 * writes ("... 12:00:00 -0000"): an optional weekday, 1-2 digit day, numeric zone offsets. */
static int parse_http_date(span t, int64_t *out)
{
    static const char *months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char s[64];
    if (t.n >= sizeof s)
        return -1;
    memcpy(s, t.p, t.n);
    s[t.n] = 0;
    const char *p = s;
    const char *comma = strchr(p, ',');
    if (comma)
        p = comma + 1;
    while (*p == ' ')
        p++;
    int d = 0, y, h, mi, sec, mo = 0, nd = 0;
    while (nd < 2 && p[nd] >= '0' && p[nd] <= '9')
        d = d * 10 + (p[nd++] - '0');
    if (nd == 0 || p[nd] != ' ')
        return -1;
    p += nd + 1;
    for (int i = 0; i < 12; i++)
        if (strncmp(p, months[i], 3) == 0)
            mo = i + 1;
    if (!mo || p[3] != ' ')
        return -1;
    p += 4;
    if (digits(p, 4, &y) || p[4] != ' ')
        return -1;
    p += 5;
    if (digits(p, 2, &h) || p[2] != ':' || digits(p + 3, 2, &mi) || p[5] != ':' ||
        digits(p + 6, 2, &sec))
        return -1;
    p += 8;
    while (*p == ' ')
        p++;
    int offset = 0;
    if (*p == '+' || *p == '-') {
        int hh, mm;
        if (digits(p + 1, 2, &hh) || digits(p + 3, 2, &mm) || p[5] != 0)
            return -1;
        offset = (hh * 60 + mm) * 60 * (*p == '-' ? -1 : 1);
    } else if (strcmp(p, "GMT") && strcmp(p, "UTC") && strcmp(p, "UT") && strcmp(p, "Z")) {
        return -1;
    }
    if (make_time(y, mo, d, h, mi, sec, out))
        return -1;
    *out -= offset;
    return 0;
}

static void put_digits(char *out, unsigned v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        out[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* Formats seconds since the epoch as "YYYYMMDDTHHMMSSZ" (years clamped to 0000-9999). */
static void format_iso_basic(int64_t t, char out[17])
{
    const int64_t lo = -62167219200LL, hi = 253402300799LL; /* 0000-01-01 .. 9999-12-31 */
    t = t < lo ? lo : t > hi ? hi : t;
    int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    unsigned rem = (unsigned)(t - days * 86400);
    int y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    put_digits(out, (unsigned)y, 4);
    put_digits(out + 4, m, 2);
    put_digits(out + 6, d, 2);
    out[8] = 'T';
    put_digits(out + 9, rem / 3600, 2);
    put_digits(out + 11, rem / 60 % 60, 2);
    put_digits(out + 13, rem % 60, 2);
    out[15] = 'Z';
    out[16] = 0;
}

/* ===================================================================== request access */

static span cstr(const char *s)
{
    span r = {s ? s : "", s ? strlen(s) : 0};
    return r;
}

static const char *header(const http_request *req, const char *lower_name)
{
    for (size_t i = 0; i < req->nheaders; i++) {
        const http_header *h = &req->headers[i];
        if (h->name && h->value && strcasecmp(h->name, lower_name) == 0)
            return h->value;
    }
    return NULL;
}

static span trim(span s)
{
    while (s.n && is_ws(s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n && is_ws(s.p[s.n - 1]))
        s.n--;
    return s;
}

typedef struct qparam {
    span key, val; /* raw, still percent-encoded */
} qparam;

/* Splits a raw query at '&' (empty pieces skipped) and each piece at its first '='. Returns
 * the number of parameters; *out is NULL or an xmalloc'd array. */
static size_t query_split(const char *q, qparam **out)
{
    size_t cap = 1;
    for (const char *p = q; *p; p++)
        cap += *p == '&';
    qparam *ps = NULL;
    size_t n = 0;
    const char *p = q;
    while (*p) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len) {
            if (!ps)
                ps = xmalloc(cap * sizeof *ps);
            const char *eq = memchr(p, '=', len);
            ps[n].key.p = p;
            ps[n].key.n = eq ? (size_t)(eq - p) : len;
            ps[n].val.p = eq ? eq + 1 : p + len;
            ps[n].val.n = eq ? len - (size_t)(eq - p) - 1 : 0;
            n++;
        }
        p += len;
        if (*p == '&')
            p++;
    }
    *out = ps;
    return n;
}

/* Percent-decodes n bytes into out (room for n). Malformed escapes stay literal. */
static size_t pct_decode(const char *p, size_t n, char *out, int plus_is_space)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (p[i] == '%' && i + 2 < n && (hi = hex_digit((unsigned char)p[i + 1])) >= 0 &&
            (lo = hex_digit((unsigned char)p[i + 2])) >= 0) {
            out[w++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[w++] = (plus_is_space && p[i] == '+') ? ' ' : p[i];
        }
    }
    return w;
}

/* Whether the decoded key of a raw parameter equals name (names are short ASCII). */
static int qkey_is(span raw, const char *name)
{
    char tmp[64];
    if (raw.n > sizeof tmp)
        return 0;
    size_t n = pct_decode(raw.p, raw.n, tmp, 0);
    return n == strlen(name) && memcmp(tmp, name, n) == 0;
}

static const qparam *qfind(const qparam *ps, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (qkey_is(ps[i].key, name))
            return &ps[i];
    return NULL;
}

/* ===================================================================== canonical forms */

static void uri_encode(buf *b, const char *p, size_t n, int keep_slash)
{
    buf_reserve(b, n * 3);
    char *w = b->data + b->len;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            *w++ = (char)c;
        } else {
            *w++ = '%';
            *w++ = HEX_UPPER[c >> 4];
            *w++ = HEX_UPPER[c & 15];
        }
    }
    b->len = (size_t)(w - b->data);
    b->data[b->len] = 0;
}

/* Path forms: 0 = botocore (dot segments and empty segments removed, then encoded once more),
 * 1 = the same segments decoded and encoded twice, 2 = the raw path encoded once more. */
static void canonical_path(buf *out, const char *path, int form)
{
    size_t plen = strlen(path);
    if (plen == 0) {
        buf_putc(out, '/');
        return;
    }
    if (form == 2) {
        uri_encode(out, path, plen, 1);
        return;
    }
    size_t cap = 1;
    for (size_t i = 0; i < plen; i++)
        cap += path[i] == '/';
    span stack[32];
    span *segs = cap <= 32 ? stack : xmalloc(cap * sizeof *segs);
    size_t nseg = 0;
    const char *p = path;
    while (1) {
        const char *slash = strchr(p, '/');
        span s = {p, slash ? (size_t)(slash - p) : strlen(p)};
        if (s.n && !span_eq(s, ".")) {
            if (span_eq(s, "..")) {
                if (nseg)
                    nseg--;
            } else {
                segs[nseg++] = s;
            }
        }
        if (!slash)
            break;
        p = slash + 1;
    }
    if (path[0] == '/')
        buf_putc(out, '/');
    for (size_t i = 0; i < nseg; i++) {
        if (i)
            buf_putc(out, '/');
        if (form == 0) {
            uri_encode(out, segs[i].p, segs[i].n, 0);
        } else {
            char *dec = xmalloc(segs[i].n + 1);
            size_t dn = pct_decode(segs[i].p, segs[i].n, dec, 0);
            for (size_t j = 0; j < dn; j++) {
                unsigned char c = (unsigned char)dec[j];
                if (is_unreserved(c)) {
                    buf_putc(out, (char)c);
                } else {
                    char e[6] = {'%', '2', '5', HEX_UPPER[c >> 4], HEX_UPPER[c & 15], 0};
                    buf_append(out, e, 5);
                }
            }
            xfree(dec);
        }
    }
    if (nseg && path[plen - 1] == '/')
        buf_putc(out, '/');
    if (segs != stack)
        xfree(segs);
}

typedef struct qpair {
    const char *k, *v;
    size_t kn, vn;
} qpair;

static int qpair_cmp(const void *a, const void *b)
{
    const qpair *x = a, *y = b;
    size_t n = x->kn < y->kn ? x->kn : y->kn;
    int c = memcmp(x->k, y->k, n);
    if (c || x->kn != y->kn)
        return c ? c : (x->kn < y->kn ? -1 : 1);
    n = x->vn < y->vn ? x->vn : y->vn;
    c = memcmp(x->v, y->v, n);
    if (c || x->vn != y->vn)
        return c ? c : (x->vn < y->vn ? -1 : 1);
    return 0;
}

/* Writes a raw query component to out (room for 3 * raw.n): form 0 decodes ('+' literal) and
 * re-encodes with the unreserved set, form 1 reads '+' as a space, form 2 keeps the raw text. */
static size_t query_component(span raw, int form, char *out)
{
    if (form == 2) {
        memcpy(out, raw.p, raw.n);
        return raw.n;
    }
    size_t w = 0;
    for (size_t i = 0; i < raw.n; i++) {
        unsigned char c = (unsigned char)raw.p[i];
        int hi, lo;
        if (c == '%' && i + 2 < raw.n && (hi = hex_digit((unsigned char)raw.p[i + 1])) >= 0 &&
            (lo = hex_digit((unsigned char)raw.p[i + 2])) >= 0) {
            c = (unsigned char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+' && form == 1) {
            c = ' ';
        }
        if (is_unreserved(c)) {
            out[w++] = (char)c;
        } else {
            out[w++] = '%';
            out[w++] = HEX_UPPER[c >> 4];
            out[w++] = HEX_UPPER[c & 15];
        }
    }
    return w;
}

static void canonical_query(buf *out, const qparam *ps, size_t n, int skip_signature, int form)
{
    if (n == 0)
        return;
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += (ps[i].key.n + ps[i].val.n) * 3;
    char *arena = xmalloc(total + 1);
    qpair *pairs = xmalloc(n * sizeof *pairs);
    size_t np = 0, off = 0;
    for (size_t i = 0; i < n; i++) {
        if (skip_signature && qkey_is(ps[i].key, "X-Amz-Signature"))
            continue;
        qpair *q = &pairs[np++];
        q->k = arena + off;
        q->kn = query_component(ps[i].key, form, arena + off);
        off += q->kn;
        q->v = arena + off;
        q->vn = query_component(ps[i].val, form, arena + off);
        off += q->vn;
    }
    qsort(pairs, np, sizeof *pairs, qpair_cmp);
    for (size_t i = 0; i < np; i++) {
        if (i)
            buf_putc(out, '&');
        buf_append(out, pairs[i].k, pairs[i].kn);
        buf_putc(out, '=');
        buf_append(out, pairs[i].v, pairs[i].vn);
    }
    xfree(pairs);
    xfree(arena);
}

/* Appends a header value trimmed, with inner whitespace runs collapsed to one space. */
static void append_trimall(buf *out, const char *v)
{
    size_t n = strlen(v);
    buf_reserve(out, n);
    char *w = out->data + out->len;
    int pending_space = 0, any = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_ws(v[i])) {
            pending_space = any;
            continue;
        }
        if (pending_space)
            *w++ = ' ';
        *w++ = v[i];
        pending_space = 0;
        any = 1;
    }
    out->len = (size_t)(w - out->data);
    out->data[out->len] = 0;
}

static void canonical_headers(buf *out, const http_request *req, span list)
{
    const char *p = list.p, *end = list.p + list.n;
    while (p <= end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        span name = {p, semi ? (size_t)(semi - p) : (size_t)(end - p)};
        buf_append(out, name.p, name.n);
        buf_putc(out, ':');
        int first = 1;
        for (size_t i = 0; i < req->nheaders; i++) {
            const http_header *h = &req->headers[i];
            if (!h->name || !h->value || strlen(h->name) != name.n ||
                strncasecmp(h->name, name.p, name.n) != 0)
                continue;
            if (!first)
                buf_putc(out, ',');
            append_trimall(out, h->value);
            first = 0;
        }
        buf_putc(out, '\n');
        if (!semi)
            break;
        p = semi + 1;
    }
}

/* ===================================================================== parsing */

typedef struct auth {
    int presigned;
    span credential, signed_headers, signature;
    span timestamp_raw; /* as sent, for messages */
    char timestamp[17]; /* ISO 8601 basic, as it enters the string to sign */
    int64_t time_s;
    int64_t past_window_s;
    char *scratch; /* decoded presign parameters */
    qparam *params;
    size_t nparams;
} auth;

static int fail(aws_error *err, char *msg, size_t msglen, aws_error e, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail(aws_error *err, char *msg, size_t msglen, aws_error e, const char *fmt, ...)
{
    if (err)
        *err = e;
    if (msg && msglen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, msglen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int is_token_sep(char c)
{
    return is_ws(c) || c == ',';
}

/* Parses "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...". Parameters are
 * separated by commas and/or whitespace (AWS accepts either); the last of a repeated key
 * wins. With err NULL (scope parsing) no message is written. */
static int parse_auth_header(const http_request *req, const char *hdr, auth *a, aws_error *err,
                             char *msg, size_t msglen)
{
    const char *p = hdr;
    while (is_ws(*p))
        p++;
    span alg = {p, 0};
    while (p[alg.n] && !is_token_sep(p[alg.n]))
        alg.n++;
    p += alg.n;
    int have_date = header(req, "x-amz-date") || header(req, "date");
    if (!span_eq(alg, ALGORITHM)) {
        if (alg.n > 5 && memcmp(alg.p, "AWS4-", 5) == 0)
            return fail(err, msg, msglen, AWS_ERR_INCOMPLETE_SIGNATURE,
                        "Unsupported AWS 'algorithm': '%.*s'.", (int)alg.n, alg.p);
        /* Some other scheme (Basic, Bearer, SigV2): AWS reports every part as missing. */
        return fail(err, msg, msglen, AWS_ERR_INCOMPLETE_SIGNATURE,
                    "Authorization header requires 'Credential' parameter. Authorization header "
                    "requires 'Signature' parameter. Authorization header requires "
                    "'SignedHeaders' parameter.%s Authorization=%s",
                    have_date ? ""
                              : " Authorization header requires existence of either a "
                                "'X-Amz-Date' or a 'Date' header.",
                    hdr);
    }
    int got_cred = 0, got_sh = 0, got_sig = 0;
    while (*p) {
        while (is_token_sep(*p))
            p++;
        if (!*p)
            break;
        span tok = {p, 0};
        while (p[tok.n] && !is_token_sep(p[tok.n]))
            tok.n++;
        p += tok.n;
        const char *eq = memchr(tok.p, '=', tok.n);
        if (!eq)
            return fail(err, msg, msglen, AWS_ERR_INCOMPLETE_SIGNATURE,
                        "'%.*s' not a valid key=value pair (missing equal-sign) in "
                        "Authorization header: '%s'.",
                        (int)tok.n, tok.p, hdr);
        span key = {tok.p, (size_t)(eq - tok.p)};
        span val = {eq + 1, tok.n - key.n - 1};
        if (span_eq(key, "Credential")) {
            a->credential = val;
            got_cred = 1;
        } else if (span_eq(key, "SignedHeaders")) {
            a->signed_headers = val;
            got_sh = 1;
        } else if (span_eq(key, "Signature")) {
            a->signature = val;
            got_sig = 1;
        }
    }
    if (!got_cred || !got_sh || !got_sig || !have_date) {
        return fail(err, msg, msglen, AWS_ERR_INCOMPLETE_SIGNATURE, "%s%s%s%sAuthorization=%s",
                    got_cred ? "" : "Authorization header requires 'Credential' parameter. ",
                    got_sig ? "" : "Authorization header requires 'Signature' parameter. ",
                    got_sh ? "" : "Authorization header requires 'SignedHeaders' parameter. ",
                    have_date ? ""
                              : "Authorization header requires existence of either a "
                                "'X-Amz-Date' or a 'Date' header. ",
                    hdr);
    }
    return 0;
}

/* Copies the decoded value of a query parameter into the scratch area. */
static span scratch_decode(auth *a, size_t *off, const qparam *q)
{
    span r = {a->scratch + *off, pct_decode(q->val.p, q->val.n, a->scratch + *off, 0)};
    *off += r.n;
    return r;
}

/* Returns 1 if the query carries no X-Amz-Algorithm (not presigned), 0 when parsed, -1 on
 * error (err set when err is non-NULL). */
static int parse_presigned(const http_request *req, auth *a, aws_error *err, char *msg,
                           size_t msglen)
{
    const char *q = req->query ? req->query : "";
    a->nparams = query_split(q, &a->params);
    const qparam *alg = qfind(a->params, a->nparams, "X-Amz-Algorithm");
    if (!alg)
        return 1;
    a->presigned = 1;
    a->scratch = xmalloc(strlen(q) + 1);
    size_t off = 0;
    span algv = scratch_decode(a, &off, alg);
    if (!span_eq(algv, ALGORITHM))
        return fail(err, msg, msglen, AWS_ERR_MISSING_AUTHENTICATION_TOKEN,
                    "Request is missing Authentication Token");
    const qparam *cred = qfind(a->params, a->nparams, "X-Amz-Credential");
    const qparam *sig = qfind(a->params, a->nparams, "X-Amz-Signature");
    const qparam *sh = qfind(a->params, a->nparams, "X-Amz-SignedHeaders");
    const qparam *date = qfind(a->params, a->nparams, "X-Amz-Date");
    if (!cred || !sig || !sh || !date)
        return fail(err, msg, msglen, AWS_ERR_INCOMPLETE_SIGNATURE,
                    "%s%s%s%sRe-examine the query-string parameters.",
                    cred ? "" : "AWS query-string parameters must include 'X-Amz-Credential'. ",
                    sig ? "" : "AWS query-string parameters must include 'X-Amz-Signature'. ",
                    sh ? "" : "AWS query-string parameters must include 'X-Amz-SignedHeaders'. ",
                    date ? "" : "AWS query-string parameters must include 'X-Amz-Date'. ");
    a->credential = scratch_decode(a, &off, cred);
    a->signature = scratch_decode(a, &off, sig);
    a->signed_headers = scratch_decode(a, &off, sh);
    a->timestamp_raw = scratch_decode(a, &off, date);
    a->past_window_s = SKEW_S;
    const qparam *exp = qfind(a->params, a->nparams, "X-Amz-Expires");
    if (exp) {
        span ev = scratch_decode(a, &off, exp);
        int64_t v = 0;
        size_t i = 0;
        for (; i < ev.n && i < 9 && ev.p[i] >= '0' && ev.p[i] <= '9'; i++)
            v = v * 10 + (ev.p[i] - '0');
        if (i == ev.n && ev.n > 0 && v > 0)
            a->past_window_s = v > MAX_PRESIGN_S ? MAX_PRESIGN_S : v;
    }
    return 0;
}

static void auth_free(auth *a)
{
    xfree(a->scratch);
    xfree(a->params);
}

/* Splits "AK/DATE/REGION/SERVICE/TERM"; -1 unless there are exactly five parts. */
static int split_credential(span c, span parts[5])
{
    size_t k = 0;
    const char *p = c.p, *end = c.p + c.n;
    while (1) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        if (k == 5)
            return -1;
        parts[k].p = p;
        parts[k].n = slash ? (size_t)(slash - p) : (size_t)(end - p);
        k++;
        if (!slash)
            break;
        p = slash + 1;
    }
    return k == 5 ? 0 : -1;
}

static int copy_field(char *dst, size_t cap, span s)
{
    if (s.n >= cap)
        return -1;
    memcpy(dst, s.p, s.n);
    dst[s.n] = 0;
    return 0;
}

int sigv4_parse_scope(const http_request *req, sigv4_scope *out)
{
    auth a;
    memset(&a, 0, sizeof a);
    int rc = -1;
    const char *hdr = header(req, "authorization");
    if (hdr) {
        /* Only the credential matters here: a header that fails for another reason (no date,
         * say) still routes. */
        parse_auth_header(req, hdr, &a, NULL, NULL, 0);
        if (!a.credential.p)
            goto out;
    } else if (parse_presigned(req, &a, NULL, NULL, 0) != 0) {
        goto out;
    }
    span parts[5];
    if (split_credential(a.credential, parts) != 0)
        goto out;
    if (copy_field(out->access_key, sizeof out->access_key, parts[0]) ||
        copy_field(out->date, sizeof out->date, parts[1]) ||
        copy_field(out->region, sizeof out->region, parts[2]) ||
        copy_field(out->service, sizeof out->service, parts[3]))
        goto out;
    rc = 0;
out:
    auth_free(&a);
    return rc;
}

/* ===================================================================== verification */

static int signed_list_has(span list, const char *name)
{
    const char *p = list.p, *end = list.p + list.n;
    size_t n = strlen(name);
    while (p <= end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        size_t len = semi ? (size_t)(semi - p) : (size_t)(end - p);
        if (len == n && strncasecmp(p, name, n) == 0)
            return 1;
        if (!semi)
            break;
        p = semi + 1;
    }
    return 0;
}

static int is_json_request(const http_request *req)
{
    const char *ct = header(req, "content-type");
    return header(req, "x-amz-target") || (ct && strstr(ct, "json"));
}

static int is_hex64(span s)
{
    if (s.n != 64)
        return 0;
    for (size_t i = 0; i < 64; i++)
        if (hex_digit((unsigned char)s.p[i]) < 0)
            return 0;
    return 1;
}

static void format_window(int64_t s, char *out, size_t n)
{
    if (s % 60 == 0)
        snprintf(out, n, "%lld min", (long long)(s / 60));
    else
        snprintf(out, n, "%lld sec", (long long)s);
}

/* Reads and checks the timestamp; fills a->timestamp and a->time_s. */
static int check_time(const http_request *req, auth *a, int64_t now_s, aws_error *err, char *msg,
                      size_t msglen)
{
    if (!a->presigned) {
        const char *xd = header(req, "x-amz-date");
        a->timestamp_raw = trim(cstr(xd ? xd : header(req, "date")));
        a->past_window_s = SKEW_S;
        if (parse_iso_basic(a->timestamp_raw, &a->time_s) != 0 &&
            (xd || parse_http_date(a->timestamp_raw, &a->time_s) != 0))
            goto bad;
    } else if (parse_iso_basic(a->timestamp_raw, &a->time_s) != 0) {
        goto bad;
    }
    format_iso_basic(a->time_s, a->timestamp);
    char now_iso[17], edge[17], window[32];
    format_iso_basic(now_s, now_iso);
    if (a->time_s < now_s - a->past_window_s) {
        format_iso_basic(now_s - a->past_window_s, edge);
        format_window(a->past_window_s, window, sizeof window);
        return fail(err, msg, msglen, AWS_ERR_REQUEST_EXPIRED,
                    "Signature expired: %s is now earlier than %s (%s - %s.)", a->timestamp, edge,
                    now_iso, window);
    }
    if (a->time_s > now_s + SKEW_S) {
        format_iso_basic(now_s + SKEW_S, edge);
        format_window(SKEW_S, window, sizeof window);
        return fail(err, msg, msglen, AWS_ERR_REQUEST_EXPIRED,
                    "Signature not yet current: %s is still later than %s (%s + %s.)", a->timestamp,
                    edge, now_iso, window);
    }
    return 0;
bad:
    return fail(err, msg, msglen, AWS_ERR_INCOMPLETE_SIGNATURE,
                "Date must be in ISO-8601 'basic format'. Got '%.*s'. See "
                "http://en.wikipedia.org/wiki/ISO_8601",
                (int)a->timestamp_raw.n, a->timestamp_raw.p);
}

typedef struct signer {
    const auth *a;
    const unsigned char *key;
    const char *method;
    span headers; /* canonical headers */
    char sts[512];
    size_t sts_prefix; /* length of the string to sign before the canonical request's hash */
    buf cr;
} signer;

/* Builds one canonical request from its variable parts and compares its signature. */
static int signer_try(signer *s, span path, span query, span payload)
{
    buf *cr = &s->cr;
    buf_reset(cr);
    buf_reserve(cr, strlen(s->method) + path.n + query.n + s->headers.n + s->a->signed_headers.n +
                        payload.n + 8);
    buf_puts(cr, s->method);
    buf_putc(cr, '\n');
    buf_append(cr, path.p, path.n);
    buf_putc(cr, '\n');
    buf_append(cr, query.p, query.n);
    buf_putc(cr, '\n');
    buf_append(cr, s->headers.p, s->headers.n);
    buf_putc(cr, '\n');
    buf_append(cr, s->a->signed_headers.p, s->a->signed_headers.n);
    buf_putc(cr, '\n');
    buf_append(cr, payload.p, payload.n);

    unsigned char h[32], mac[32];
    char hex[65];
    sha256_2(cr->data, cr->len, NULL, 0, h);
    hex32(h, s->sts + s->sts_prefix);
    hmac_sha256(s->key, 32, s->sts, s->sts_prefix + 64, mac);
    hex32(mac, hex);
    return s->a->signature.n == 64 && CRYPTO_memcmp(hex, s->a->signature.p, 64) == 0;
}

static span buf_span(const buf *b)
{
    span r = {b->data ? b->data : "", b->len};
    return r;
}

/* Adds a variant unless an equal one is already listed; the list owns what it keeps. */
static void add_variant(buf *list, int *n, buf *b)
{
    for (int i = 0; i < *n; i++) {
        if (list[i].len == b->len && (b->len == 0 || memcmp(list[i].data, b->data, b->len) == 0)) {
            buf_free(b);
            return;
        }
    }
    list[(*n)++] = *b;
}

/* Tries botocore's canonical form, then (only if that fails) the other clients' forms that
 * differ for this request. Returns 1 on a match. */
static int match_signature(const http_request *req, const auth *a, span scope,
                           const unsigned char key[32], span payload, int try_unsigned)
{
    const char *path = req->path ? req->path : "";
    signer s = {.a = a, .key = key, .method = req->method ? req->method : "", .cr = BUF_INIT};
    s.sts_prefix = (size_t)snprintf(s.sts, sizeof s.sts, ALGORITHM "\n%s\n%.*s\n", a->timestamp,
                                    (int)(scope.n < 400 ? scope.n : 400), scope.p);
    buf_init(&s.cr, 1024);
    buf headers = BUF_INIT;
    canonical_headers(&headers, req, a->signed_headers);
    s.headers = buf_span(&headers);

    buf paths[MAX_PATH_VARIANTS], queries[MAX_QUERY_VARIANTS];
    int npaths = 0, nqueries = 0;
    /* S3 signs the path as sent: no normalisation, no second encoding */
    int s3 = scope.n > 16 && memmem(scope.p, scope.n, "/s3/aws4_request", 16) != NULL;
    for (int form = 0; form < MAX_PATH_VARIANTS; form++) {
        buf b = BUF_INIT;
        if (s3)
            buf_puts(&b, path[0] ? path : "/");
        else
            canonical_path(&b, path, form);
        add_variant(paths, &npaths, &b);
        if (form == 0)
            break; /* the others only if needed */
    }
    buf q0 = BUF_INIT;
    canonical_query(&q0, a->params, a->nparams, a->presigned, 0);
    add_variant(queries, &nqueries, &q0);

    int matched = signer_try(&s, buf_span(&paths[0]), buf_span(&queries[0]), payload);
    if (!matched) {
        for (int form = 1; form < MAX_PATH_VARIANTS && !s3; form++) {
            buf b = BUF_INIT;
            canonical_path(&b, path, form);
            add_variant(paths, &npaths, &b);
        }
        for (int form = 1; form < MAX_QUERY_VARIANTS; form++) {
            buf b = BUF_INIT;
            canonical_query(&b, a->params, a->nparams, a->presigned, form);
            add_variant(queries, &nqueries, &b);
        }
        span payloads[2] = {payload, cstr("UNSIGNED-PAYLOAD")};
        int npayloads = try_unsigned && !span_eq(payload, "UNSIGNED-PAYLOAD") ? 2 : 1;
        for (int pl = 0; pl < npayloads && !matched; pl++)
            for (int pi = 0; pi < npaths && !matched; pi++)
                for (int qi = 0; qi < nqueries && !matched; qi++)
                    if (pl || pi || qi)
                        matched = signer_try(&s, buf_span(&paths[pi]), buf_span(&queries[qi]),
                                             payloads[pl]);
    }
    for (int i = 0; i < npaths; i++)
        buf_free(&paths[i]);
    for (int i = 0; i < nqueries; i++)
        buf_free(&queries[i]);
    buf_free(&headers);
    buf_free(&s.cr);
    return matched;
}

int sigv4_verify(const http_request *req, const sigv4_credential *creds, size_t n, int64_t now_ms,
                 aws_error *err, char *msg, size_t msglen)
{
    static const char mismatch[] =
        "The request signature we calculated does not match the signature you provided. Check "
        "your AWS Secret Access Key and signing method. Consult the service documentation for "
        "details.";
    auth a;
    memset(&a, 0, sizeof a);
    int rc = -1;
    int64_t now_s = now_ms >= 0 ? now_ms / 1000 : -((-now_ms + 999) / 1000);

    const char *hdr = header(req, "authorization");
    if (hdr) {
        /* The canonical query is still needed; an X-Amz-Algorithm beside the header is just
         * another signed parameter. */
        a.nparams = query_split(req->query ? req->query : "", &a.params);
        if (parse_auth_header(req, hdr, &a, err, msg, msglen) != 0)
            goto out;
    } else {
        int pr = parse_presigned(req, &a, err, msg, msglen);
        if (pr < 0)
            goto out;
        if (pr == 1) {
            fail(err, msg, msglen, AWS_ERR_MISSING_AUTHENTICATION_TOKEN, "%s",
                 is_json_request(req) ? "Missing Authentication Token"
                                      : "Request is missing Authentication Token");
            goto out;
        }
    }

    if (!signed_list_has(a.signed_headers, "host") &&
        !signed_list_has(a.signed_headers, ":authority")) {
        fail(err, msg, msglen, AWS_ERR_SIGNATURE_DOES_NOT_MATCH,
             "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
        goto out;
    }
    if (check_time(req, &a, now_s, err, msg, msglen) != 0)
        goto out;

    span parts[5];
    if (split_credential(a.credential, parts) != 0) {
        fail(err, msg, msglen, AWS_ERR_INCOMPLETE_SIGNATURE,
             "Credential must have exactly 5 slash-delimited elements, e.g. "
             "keyid/date/region/service/term, got '%.*s'",
             (int)a.credential.n, a.credential.p);
        goto out;
    }
    int bad_term = !span_eq(parts[4], TERMINATOR);
    int bad_date = parts[1].n != 8 || memcmp(parts[1].p, a.timestamp, 8) != 0;
    if (bad_term || bad_date) {
        char term[160] = "", date[256] = "";
        if (bad_term)
            snprintf(term, sizeof term,
                     "Credential should be scoped with a valid terminator: 'aws4_request', not "
                     "'%.*s'.",
                     (int)(parts[4].n < 64 ? parts[4].n : 64), parts[4].p);
        if (bad_date)
            snprintf(date, sizeof date,
                     "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of "
                     "date from HTTP: '%.*s' != '%.8s', from '%s'.",
                     (int)(parts[1].n < 32 ? parts[1].n : 32), parts[1].p, a.timestamp,
                     a.timestamp);
        fail(err, msg, msglen, AWS_ERR_SIGNATURE_DOES_NOT_MATCH, "%s%s%s", term,
             bad_term && bad_date ? " " : "", date);
        goto out;
    }

    const sigv4_credential *cred = NULL;
    for (size_t i = 0; i < n && !cred; i++)
        if (creds[i].access_key && span_eq(parts[0], creds[i].access_key))
            cred = &creds[i];
    if (!cred || !cred->secret_key) {
        fail(err, msg, msglen, AWS_ERR_INVALID_CLIENT_TOKEN_ID,
             "The security token included in the request is invalid.");
        goto out;
    }

    unsigned char key[32];
    signing_key(cred->secret_key, parts[1], parts[2], parts[3], key);

    /* The payload hash: the x-amz-content-sha256 header when sent, else SHA-256 of the body. */
    const char *xcs = header(req, "x-amz-content-sha256");
    char body_hex[65];
    span payload;
    if (xcs) {
        payload = trim(cstr(xcs));
    } else {
        unsigned char h[32];
        sha256_2(req->body, req->body ? req->body_len : 0, NULL, 0, h);
        hex32(h, body_hex);
        payload = (span){body_hex, 64};
    }
    span scope = {parts[1].p, a.credential.n - (size_t)(parts[1].p - a.credential.p)};
    int ok = match_signature(req, &a, scope, key, payload, a.presigned);
    OPENSSL_cleanse(key, sizeof key);
    if (!ok) {
        fail(err, msg, msglen, AWS_ERR_SIGNATURE_DOES_NOT_MATCH, "%s", mismatch);
        goto out;
    }
    /* The signature covers the declared hash, not the body: check the body against it. */
    if (xcs && is_hex64(payload)) {
        unsigned char h[32];
        sha256_2(req->body, req->body ? req->body_len : 0, NULL, 0, h);
        hex32(h, body_hex);
        if (strncasecmp(body_hex, payload.p, 64) != 0) {
            fail(err, msg, msglen, AWS_ERR_SIGNATURE_DOES_NOT_MATCH,
                 "The provided 'x-amz-content-sha256' header does not match what was computed.");
            goto out;
        }
    }
    if (msg && msglen)
        msg[0] = 0;
    rc = 0;
out:
    auth_free(&a);
    return rc;
}
