/* Base64: see base64.h. OpenSSL's EVP block coder does the work; the strict shape checks
 * are ours, because EVP_DecodeBlock tolerates surrounding white space and counts padding
 * as zero bytes. */
#include "common/base64.h"

#include <openssl/evp.h>

/* EVP's block functions take int lengths: larger inputs go in chunks (multiples of 3 bytes
 * to encode, of 4 characters to decode). */
#define ENCODE_CHUNK (3u << 24)
#define DECODE_CHUNK (4u << 24)

void base64_encode(buf *out, const void *data, size_t len)
{
    const unsigned char *p = data;
    buf_reserve(out, 4 * ((len + 2) / 3) + 1);
    for (size_t done = 0; done < len;) {
        size_t chunk = len - done > ENCODE_CHUNK ? ENCODE_CHUNK : len - done;
        int w = EVP_EncodeBlock((unsigned char *)out->data + out->len, p + done, (int)chunk);
        out->len += (size_t)w;
        done += chunk;
    }
    out->data[out->len] = 0;
}

static int in_alphabet(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

static size_t padding(const char *s, size_t len)
{
    return len && s[len - 1] == '=' ? (len >= 2 && s[len - 2] == '=' ? 2 : 1) : 0;
}

size_t base64_decoded_len(const char *s, size_t len)
{
    return len % 4 ? 0 : len / 4 * 3 - padding(s, len);
}

int base64_decode(buf *out, const char *s, size_t len)
{
    if (len % 4)
        return -1;
    size_t pad = padding(s, len);
    for (size_t i = 0; i < len - pad; i++)
        if (!in_alphabet(s[i]))
            return -1;
    size_t start = out->len;
    buf_reserve(out, len / 4 * 3 + 1);
    for (size_t done = 0; done < len;) {
        size_t chunk = len - done > DECODE_CHUNK ? DECODE_CHUNK : len - done;
        int w = EVP_DecodeBlock((unsigned char *)out->data + out->len,
                                (const unsigned char *)s + done, (int)chunk);
        if (w < 0) {
            out->len = start;
            out->data[start] = 0;
            return -1;
        }
        out->len += (size_t)w;
        done += chunk;
    }
    out->len -= pad;
    out->data[out->len] = 0;
    return 0;
}

int base64_decode_mime(buf *out, const char *s, size_t len)
{
    if (len > 0x7fffffff)
        return -1;
    EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
    if (!ctx)
        return -1;
    buf_reserve(out, len / 4 * 3 + 4);
    unsigned char *dst = (unsigned char *)out->data + out->len;
    int n = 0, tail = 0;
    EVP_DecodeInit(ctx);
    int rc = EVP_DecodeUpdate(ctx, dst, &n, (const unsigned char *)s, (int)len);
    if (rc >= 0)
        rc = EVP_DecodeFinal(ctx, dst + n, &tail);
    EVP_ENCODE_CTX_free(ctx);
    if (rc < 0) {
        out->data[out->len] = 0;
        return -1;
    }
    out->len += (size_t)(n + tail);
    out->data[out->len] = 0;
    return 0;
}
