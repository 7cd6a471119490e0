/* SQS's MD5 digests: MD5OfMessageBody (plain MD5 of the body's bytes) and the attribute
 * digests MD5OfMessageAttributes / MD5OfMessageSystemAttributes, which share one algorithm
 * (SQS Developer Guide, "Calculating the MD5 message digest for message attributes"; the same
 * encoding the Java, Ruby and JS SDKs use to check responses):
 *
 *   for each attribute, sorted by name (byte order of the UTF-8 names):
 *     u32be(len(name))      name
 *     u32be(len(DataType))  DataType
 *     transport byte        1 = string value, 2 = binary value
 *     u32be(len(value))     value (StringValue's UTF-8 bytes, or BinaryValue decoded from base64)
 *
 * The transport is chosen by the DataType's base type: "Binary" and "Binary.<custom>" carry
 * BinaryValue; "String", "Number" and their custom forms carry StringValue. The list values
 * (StringListValues, BinaryListValues) are reserved by AWS and never enter the digest: an
 * attribute that has only those has no value, and the whole map is rejected. */
#include "services/sqs/sqs_md5.h"

#include "common/base64.h"
#include "common/alloc.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ===================================================================== MD5 */

static EVP_MD *md5_md;
static pthread_once_t md5_once = PTHREAD_ONCE_INIT;

static void md5_fetch(void)
{
    md5_md = EVP_MD_fetch(NULL, "MD5", NULL);
    if (!md5_md)
        abort();
}

/* A per-thread context, reused: a digest of a small body costs less than creating one. */
static EVP_MD_CTX *md5_begin(void)
{
    static _Thread_local EVP_MD_CTX *ctx;
    pthread_once(&md5_once, md5_fetch);
    if (!ctx) {
        ctx = EVP_MD_CTX_new();
        if (!ctx)
            abort();
    }
    if (EVP_DigestInit_ex(ctx, md5_md, NULL) != 1)
        abort();
    return ctx;
}

static void md5_end(EVP_MD_CTX *ctx, char out[33])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char d[16];
    EVP_DigestFinal_ex(ctx, d, NULL);
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[32] = 0;
}

void sqs_md5_hex(const void *p, size_t n, char out[33])
{
    EVP_MD_CTX *ctx = md5_begin();
    if (n)
        EVP_DigestUpdate(ctx, p, n);
    md5_end(ctx, out);
}

/* ===================================================================== attributes */

typedef struct entry {
    const char *name;
    size_t len;
    json_t *value;
} entry;

static int entry_cmp(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->name, y->name, n);
    if (c)
        return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

static void put_u32_bytes(EVP_MD_CTX *ctx, const void *p, size_t n)
{
    unsigned char len[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
                            (unsigned char)(n >> 8), (unsigned char)n};
    EVP_DigestUpdate(ctx, len, 4);
    if (n)
        EVP_DigestUpdate(ctx, p, n);
}

/* "Binary" or "Binary.<custom>" */
static int is_binary_type(const char *t, size_t n)
{
    return n >= 6 && memcmp(t, "Binary", 6) == 0 && (n == 6 || t[6] == '.');
}

int sqs_md5_message_attributes(const json_t *attrs, char out[33])
{
    out[0] = 0;
    if (!attrs)
        return 1;
    if (!json_is_object(attrs))
        return -1;
    size_t n = json_object_size(attrs);
    if (n == 0)
        return 1;

    /* json_object_iter takes a non-const object but does not modify it. */
    json_t *obj = (json_t *)attrs;
    entry *es = xmalloc(n * sizeof *es);
    size_t k = 0;
    for (void *it = json_object_iter(obj); it && k < n; it = json_object_iter_next(obj, it)) {
        es[k].name = json_object_iter_key(it);
        es[k].len = json_object_iter_key_len(it);
        es[k].value = json_object_iter_value(it);
        k++;
    }
    qsort(es, k, sizeof *es, entry_cmp);

    int rc = -1;
    EVP_MD_CTX *ctx = md5_begin();
    for (size_t i = 0; i < k; i++) {
        json_t *a = es[i].value;
        json_t *dt = json_is_object(a) ? json_object_get(a, "DataType") : NULL;
        if (!json_is_string(dt) || json_string_length(dt) == 0)
            goto out;
        const char *type = json_string_value(dt);
        size_t tlen = json_string_length(dt);
        int binary = is_binary_type(type, tlen);
        json_t *v = json_object_get(a, binary ? "BinaryValue" : "StringValue");
        if (!json_is_string(v))
            goto out;
        const char *s = json_string_value(v);
        size_t slen = json_string_length(v);

        put_u32_bytes(ctx, es[i].name, es[i].len);
        put_u32_bytes(ctx, type, tlen);
        unsigned char transport = binary ? 2 : 1;
        EVP_DigestUpdate(ctx, &transport, 1);
        if (binary) {
            buf dec = BUF_INIT;
            if (base64_decode(&dec, s, slen) != 0) {
                buf_free(&dec);
                goto out;
            }
            put_u32_bytes(ctx, dec.data, dec.len);
            buf_free(&dec);
        } else {
            put_u32_bytes(ctx, s, slen);
        }
    }
    md5_end(ctx, out);
    rc = 0;
out:
    if (rc != 0) {
        /* Finish the context so the next digest starts clean (md5_begin re-inits anyway). */
        char discard[33];
        md5_end(ctx, discard);
        out[0] = 0;
    }
    xfree(es);
    return rc;
}
