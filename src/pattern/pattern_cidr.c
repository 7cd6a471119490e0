/* IP addresses and CIDR blocks, parsed the way event-ruler (CIDR.java) does.
 *
 * Only text shaped like an address is parsed: four runs of decimal digits separated by
 * dots, or hex digits and colons with at least one colon (so no embedded IPv4 and no zone
 * index). An IPv4-mapped IPv6 address (::ffff:a:b) is an IPv4 address, as Java's
 * InetAddress makes it. A block "addr/bits" covers addr itself up to addr with its host
 * bits set: the lower bound is not masked, and /32 (IPv4) and /128 (IPv6) are refused,
 * both as event-ruler does. */
#include "pattern/pattern_internal.h"

#include "common/hex.h"

#include <stdio.h>

static int parse_v4(const char *s, size_t n, uint8_t out[4])
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0) {
            if (i >= n || s[i] != '.')
                return -1;
            i++;
        }
        size_t start = i;
        uint32_t v = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (v <= 255)
                v = v * 10 + (uint32_t)(s[i] - '0');
            i++;
        }
        if (i == start)
            return -1;
        if (v > 255)
            return -2;
        out[part] = (uint8_t)v;
    }
    return i == n ? 0 : -1;
}

static bool looks_v6(const char *s, size_t n)
{
    bool colon = false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ':')
            colon = true;
        else if (hex_digit((unsigned char)s[i]) < 0)
            return false;
    }
    return colon;
}

static int parse_v6(const char *s, size_t n, uint8_t out[16])
{
    uint16_t groups[8];
    int ng = 0, gap = -1;
    size_t i = 0;
    if (n >= 2 && s[0] == ':' && s[1] == ':') {
        gap = 0;
        i = 2;
    } else if (n >= 1 && s[0] == ':') {
        return -2;
    }
    while (i < n) {
        size_t start = i;
        uint32_t v = 0;
        while (i < n && s[i] != ':') {
            v = v << 4 | (uint32_t)hex_digit((unsigned char)s[i]);
            i++;
        }
        size_t len = i - start;
        if (len == 0 || len > 4 || ng == 8)
            return -2;
        groups[ng++] = (uint16_t)v;
        if (i == n)
            break;
        i++; /* the colon */
        if (i < n && s[i] == ':') {
            if (gap >= 0)
                return -2;
            gap = ng;
            i++;
        } else if (i == n) {
            return -2; /* a single trailing colon */
        }
    }
    if ((gap < 0 && ng != 8) || (gap >= 0 && ng > 7))
        return -2;
    memset(out, 0, 16);
    int tail = gap < 0 ? 0 : ng - gap;
    int head = ng - tail;
    for (int g = 0; g < head; g++) {
        out[2 * g] = (uint8_t)(groups[g] >> 8);
        out[2 * g + 1] = (uint8_t)groups[g];
    }
    for (int g = 0; g < tail; g++) {
        int at = 8 - tail + g;
        out[2 * at] = (uint8_t)(groups[head + g] >> 8);
        out[2 * at + 1] = (uint8_t)groups[head + g];
    }
    return 0;
}

int pip_parse(const char *s, size_t n, pip *out)
{
    if (n == 0 || n > 64)
        return -1;
    if (s[0] >= '0' && s[0] <= '9' && memchr(s, '.', n)) {
        int rc = parse_v4(s, n, out->b);
        if (rc == 0)
            out->fam = 4;
        return rc;
    }
    if (!looks_v6(s, n))
        return -1;
    uint8_t b[16];
    if (parse_v6(s, n, b) < 0)
        return -2;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(b, mapped, 12) == 0) {
        out->fam = 4;
        memcpy(out->b, b + 12, 4);
    } else {
        out->fam = 6;
        memcpy(out->b, b, 16);
    }
    return 0;
}

void pip_key(const pip *ip, uint64_t *hi, uint64_t *lo)
{
    uint64_t h = 0, l = 0;
    if (ip->fam == 4) {
        l = (uint64_t)ip->b[0] << 24 | (uint64_t)ip->b[1] << 16 | (uint64_t)ip->b[2] << 8 |
            ip->b[3];
    } else {
        for (int i = 0; i < 8; i++)
            h = h << 8 | ip->b[i];
        for (int i = 8; i < 16; i++)
            l = l << 8 | ip->b[i];
    }
    *hi = h;
    *lo = l;
}

/* Java's Integer.parseInt: optional sign, decimal digits, within int range. */
static int parse_java_int(const char *s, size_t n, long *out)
{
    size_t i = 0;
    bool neg = false;
    if (n > 0 && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == n)
        return -1;
    long v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
        if (v > 2147483648L)
            return -1;
    }
    if (!neg && v > 2147483647L)
        return -1;
    *out = neg ? -v : v;
    return 0;
}

int pcidr_parse(const char *s, size_t n, pip *lo, pip *hi, char *msg, size_t msglen)
{
    /* String.split("/") semantics: trailing empty parts are dropped. */
    size_t parts = 0, slash = n;
    size_t end = n;
    while (end > 0 && s[end - 1] == '/')
        end--;
    if (end > 0) {
        parts = 1;
        for (size_t i = 0; i < end; i++) {
            if (s[i] == '/') {
                parts++;
                if (slash == n)
                    slash = i;
            }
        }
    }
    if (parts != 2) {
        snprintf(msg, msglen, "Malformed CIDR, one '/' required");
        return -1;
    }
    long bits;
    if (parse_java_int(s + slash + 1, end - slash - 1, &bits) < 0) {
        snprintf(msg, msglen, "Malformed CIDR, mask bits must be an integer");
        return -1;
    }
    if (bits < 0) {
        snprintf(msg, msglen, "Malformed CIDR, mask bits must not be negative");
        return -1;
    }
    int rc = pip_parse(s, slash, lo);
    if (rc == -2) {
        snprintf(msg, msglen, "Invalid IP address: %.*s", (int)slash, s);
        return -1;
    }
    if (rc < 0) {
        snprintf(msg, msglen, "Nonstandard IP address: %.*s", (int)slash, s);
        return -1;
    }
    if (lo->fam == 4 && bits > 31) {
        snprintf(msg, msglen, "IPv4 mask bits must be < 32");
        return -1;
    }
    if (lo->fam == 6 && bits > 127) {
        snprintf(msg, msglen, "IPv6 mask bits must be < 128");
        return -1;
    }
    *hi = *lo;
    int nbytes = lo->fam == 4 ? 4 : 16;
    int host = nbytes * 8 - (int)bits;
    for (int i = nbytes - 1; i >= 0; i--) {
        if (host >= 8)
            hi->b[i] = 0xff;
        else if (host > 0)
            hi->b[i] = (uint8_t)(lo->b[i] | ((1u << host) - 1));
        host -= 8;
    }
    return 0;
}
