/* Receipt handles: an opaque token naming one receive of one message.
 *
 * Layout before encoding: queue id, message seq and receive token (8 bytes each, little
 * endian) followed by the first 12 bytes of HMAC-SHA256(secret, those 24 bytes), encoded
 * base64url (48 characters). The MAC makes forged or corrupted handles detectable
 * (ReceiptHandleIsInvalid) without a store lookup; the token tells a stale handle (from an
 * earlier receive) from the current one. */
#include "services/sqs/sqs_internal.h"

#include <openssl/hmac.h>
#include <string.h>

#define RAW_LEN 36
#define MAC_LEN 12

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void put64(unsigned char *p, int64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)((uint64_t)v >> (8 * i));
}

static int64_t get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return (int64_t)v;
}

static void mac(const unsigned char secret[32], const unsigned char *data, unsigned char *out)
{
    unsigned char full[32];
    unsigned int len = sizeof full;
    HMAC(EVP_sha256(), secret, 32, data, 24, full, &len);
    memcpy(out, full, MAC_LEN);
}

void sqs_receipt_encode(const unsigned char secret[32], int64_t queue_id, int64_t seq,
                        int64_t token, char *out, size_t cap)
{
    unsigned char raw[RAW_LEN];
    put64(raw, queue_id);
    put64(raw + 8, seq);
    put64(raw + 16, token);
    mac(secret, raw, raw + 24);
    size_t o = 0;
    for (size_t i = 0; i < RAW_LEN && o + 4 < cap; i += 3) {
        uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 | raw[i + 2];
        out[o++] = b64[(v >> 18) & 63];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = b64[(v >> 6) & 63];
        out[o++] = b64[v & 63];
    }
    out[o] = '\0';
}

static int unb64(char c)
{
    const char *p = c ? strchr(b64, c) : NULL;
    return p ? (int)(p - b64) : -1;
}

int sqs_receipt_decode(const unsigned char secret[32], const char *handle, int64_t *queue_id,
                       int64_t *seq, int64_t *token)
{
    if (!handle || strlen(handle) != RAW_LEN / 3 * 4)
        return -1;
    unsigned char raw[RAW_LEN];
    for (size_t i = 0, o = 0; i < RAW_LEN / 3 * 4; i += 4) {
        int a = unb64(handle[i]), b = unb64(handle[i + 1]), c = unb64(handle[i + 2]),
            d = unb64(handle[i + 3]);
        if (a < 0 || b < 0 || c < 0 || d < 0)
            return -1;
        uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
        raw[o++] = (unsigned char)(v >> 16);
        raw[o++] = (unsigned char)(v >> 8);
        raw[o++] = (unsigned char)v;
    }
    unsigned char expect[MAC_LEN];
    mac(secret, raw, expect);
    unsigned char diff = 0;
    for (int i = 0; i < MAC_LEN; i++)
        diff |= (unsigned char)(expect[i] ^ raw[24 + i]);
    if (diff)
        return -1;
    *queue_id = get64(raw);
    *seq = get64(raw + 8);
    *token = get64(raw + 16);
    return 0;
}
