/* SNS envelope signatures, and the key and certificate they are made with.
 *
 * Signing (as AWS documents it for subscribers, "Verifying the signatures of Amazon SNS
 * messages"): the string to sign is a fixed list of the envelope's fields, chosen by its
 * Type and listed in byte order of their names, each written "Name\nvalue\n" with the
 * value's raw (JSON-unescaped) bytes. SignatureVersion 1 signs it with RSA PKCS#1 v1.5 over
 * SHA1, version 2 over SHA256; the signature travels base64-encoded. Fields outside the
 * list (SigningCertURL, UnsubscribeURL, MessageAttributes, SignatureVersion itself) are not
 * covered, as on AWS, which is what lets a publish's envelopes share one signature.
 *
 * Key material: a key file and a certificate file in one directory. The invariant kept on
 * disk is "a certificate file exists only next to the key it certifies": the key is
 * written first, then the certificate, each through a temp file, fsync and rename (then
 * an fsync of the directory), so a crash leaves either nothing, the key alone (the next
 * open issues a certificate for it) or both. Nothing present is ever replaced: a file
 * that does not parse, or a pair that does not match, stops the open with an error
 * rather than silently changing the key that subscribers have cached a certificate for.
 *
 * The certificate served is re-encoded from the parsed certificates rather than copied
 * from the file, so that whatever else an operator's file holds (a private key, comments)
 * is never published; PEM encoding is deterministic, so the bytes are the same at every
 * open. */
#include "services/sns/sns_sign.h"

#include "common/base64.h"
#include "common/alloc.h"
#include "common/buf.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define KEY_BITS       2048
#define CERT_DAYS      3652 /* 10 years with their leap days */
#define MAX_FILE_BYTES (1 << 20)

struct sns_signer {
    EVP_PKEY *key; /* private key, for signing */
    EVP_PKEY *pub; /* the certificate's public key, for verifying as a subscriber would */
    EVP_MD *sha1;  /* fetched once: a per-call fetch costs a provider lookup */
    EVP_MD *sha256;
    char *cert_pem;
    size_t cert_len;
};

/* ---------------------------------------------------------------------------------------
 * Errors */

/* Formats a message into err, followed by OpenSSL's last error if there is one, and
 * clears OpenSSL's error queue so stale entries do not surface in later, unrelated
 * calls on this thread (libcurl's TLS reads the same queue). */
static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    unsigned long e = ERR_peek_last_error();
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
        if (e && n >= 0 && (size_t)n + 3 < errlen) {
            char ossl[256];
            ERR_error_string_n(e, ossl, sizeof ossl);
            snprintf(err + n, errlen - (size_t)n, " (%s)", ossl);
        }
    }
    ERR_clear_error();
}

/* ---------------------------------------------------------------------------------------
 * Files */

/* Reads path into *out (caller frees with xfree; NUL-terminated). Returns 0, 1 if the file
 * does not exist, -1 on any other failure. */
static int read_file(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
    char *data = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 1;
        seterr(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        seterr(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > MAX_FILE_BYTES) {
        seterr(err, errlen, "%s: not a regular file of at most %d bytes", path, MAX_FILE_BYTES);
        goto fail;
    }
    size_t cap = (size_t)st.st_size, n = 0;
    data = xmalloc(cap + 1);
    while (n < cap) {
        ssize_t r = read(fd, data + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            seterr(err, errlen, "%s: %s", path, strerror(errno));
            goto fail;
        }
        if (r == 0)
            break; /* shrank while we read: parse what is there, which will fail if cut */
        n += (size_t)r;
    }
    close(fd);
    data[n] = '\0';
    *out = data;
    *len = n;
    return 0;
fail:
    xfree(data);
    close(fd);
    return -1;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* Writes data to dir/name so that the name refers either to nothing or to the complete
 * content, mode 0600 whatever the umask. */
static int write_file_atomic(const char *dir, const char *name, const char *data, size_t len,
                             char *err, size_t errlen)
{
    buf tmp = BUF_INIT, path = BUF_INIT;
    buf_printf(&tmp, "%s/.%s.XXXXXX", dir, name);
    buf_printf(&path, "%s/%s", dir, name);
    const char *what = tmp.data;
    int renamed = 0;
    int fd = mkstemp(tmp.data);
    int created = fd >= 0;
    if (fd < 0 || fchmod(fd, 0600) < 0)
        goto fail;
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            goto fail;
        off += (size_t)w;
    }
    int rc = fsync(fd);
    if (close(fd) < 0 || rc < 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    what = path.data;
    if (rename(tmp.data, path.data) < 0)
        goto fail;
    renamed = 1;
    what = dir;
    if (fsync_dir(dir) < 0)
        goto fail;
    buf_free(&tmp);
    buf_free(&path);
    return 0;
fail:
    seterr(err, errlen, "%s: %s", what, strerror(errno));
    if (fd >= 0)
        close(fd);
    if (created && !renamed)
        unlink(tmp.data);
    buf_free(&tmp);
    buf_free(&path);
    return -1;
}

/* ---------------------------------------------------------------------------------------
 * Key and certificate */

/* Without a callback OpenSSL would prompt on the terminal for an encrypted key's pass
 * phrase; a server must fail instead. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    return -1;
}

static char *bio_take(BIO *b, size_t *len)
{
    char *p = NULL;
    long n = BIO_get_mem_data(b, &p);
    char *out = xmalloc((size_t)n + 1);
    memcpy(out, p, (size_t)n);
    out[n] = '\0';
    *len = (size_t)n;
    return out;
}

static char *key_to_pem(EVP_PKEY *key, size_t *len)
{
    char *out = NULL;
    BIO *b = BIO_new(BIO_s_mem());
    if (b && PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) == 1)
        out = bio_take(b, len);
    BIO_free(b);
    return out;
}

static int append_cert_pem(buf *out, X509 *x)
{
    BIO *b = BIO_new(BIO_s_mem());
    int ok = b && PEM_write_bio_X509(b, x) == 1;
    if (ok) {
        size_t n;
        char *p = bio_take(b, &n);
        buf_append(out, p, n);
        xfree(p);
    }
    BIO_free(b);
    return ok ? 0 : -1;
}

static EVP_PKEY *key_from_pem(const char *data, size_t len)
{
    BIO *b = BIO_new_mem_buf(data, (int)len);
    EVP_PKEY *key = b ? PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL) : NULL;
    BIO_free(b);
    return key;
}

static int key_is_consistent(EVP_PKEY *key)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    int ok = ctx && EVP_PKEY_check(ctx) == 1;
    EVP_PKEY_CTX_free(ctx);
    return ok ? 0 : -1;
}

/* Parses every certificate in data and appends its PEM encoding to out; *first gets the
 * first one (caller frees). 0, or -1 if there is none or one is damaged. */
static int certs_from_pem(const char *data, size_t len, X509 **first, buf *out)
{
    int count = 0;
    BIO *b = BIO_new_mem_buf(data, (int)len);
    if (!b)
        goto fail;
    for (;;) {
        X509 *x = PEM_read_bio_X509(b, NULL, no_passphrase, NULL);
        if (!x)
            break;
        int rc = append_cert_pem(out, x);
        if (count++ == 0)
            *first = x;
        else
            X509_free(x);
        if (rc < 0)
            goto fail;
    }
    /* The loop ends at the first failure; only "no further PEM block" is the normal end. */
    unsigned long e = ERR_peek_last_error();
    if (count == 0 || ERR_GET_LIB(e) != ERR_LIB_PEM || ERR_GET_REASON(e) != PEM_R_NO_START_LINE)
        goto fail;
    ERR_clear_error();
    BIO_free(b);
    return 0;
fail:
    if (count > 0) {
        X509_free(*first);
        *first = NULL;
    }
    BIO_free(b);
    return -1;
}

static int add_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return -1;
    int ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

/* A self-signed end-entity certificate for key: subscribers pin it (fetched from
 * SigningCertURL) rather than chain it to a CA. Its use is limited to signatures so that
 * it cannot pass for a CA or a TLS server certificate if someone trusts it too widely. */
static X509 *make_cert(EVP_PKEY *key, const char *cn)
{
    X509 *x = X509_new();
    BIGNUM *serial = BN_new();
    unsigned char rnd[16];
    if (!x || !serial || RAND_bytes(rnd, sizeof rnd) != 1)
        goto fail;
    rnd[0] = (rnd[0] & 0x7f) | 0x40; /* positive and non-zero, as RFC 5280 requires */
    if (!BN_bin2bn(rnd, sizeof rnd, serial) ||
        !BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)))
        goto fail;
    X509_NAME *name = X509_get_subject_name(x);
    if (X509_set_version(x, X509_VERSION_3) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                   0) != 1 ||
        X509_set_issuer_name(x, name) != 1 || X509_set_pubkey(x, key) != 1)
        goto fail;
    /* Back-dated an hour so a subscriber whose clock runs a little behind ours does not
     * reject a certificate issued a moment ago as not yet valid. */
    if (!X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
        !X509_time_adj_ex(X509_getm_notAfter(x), CERT_DAYS, 0, NULL))
        goto fail;
    if (add_ext(x, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
        add_ext(x, NID_key_usage, "critical,digitalSignature") < 0 ||
        add_ext(x, NID_subject_key_identifier, "hash") < 0)
        goto fail;
    if (X509_sign(x, key, EVP_sha256()) <= 0)
        goto fail;
    BN_free(serial);
    return x;
fail:
    BN_free(serial);
    X509_free(x);
    return NULL;
}

/* ---------------------------------------------------------------------------------------
 * Opening */

int sns_signer_open(sns_signer **out, const char *dir, const char *common_name, char *err,
                    size_t errlen)
{
    sns_signer *s = xcalloc(1, sizeof *s);
    buf key_path = BUF_INIT, cert_path = BUF_INIT, certs = BUF_INIT;
    char *key_data = NULL, *cert_data = NULL, *pem = NULL;
    size_t key_len = 0, cert_len = 0, pem_len = 0;
    X509 *cert = NULL;
    *out = NULL;
    if (!common_name || !*common_name)
        common_name = "sluice-sns";
    buf_printf(&key_path, "%s/%s", dir, SNS_SIGN_KEY_FILE);
    buf_printf(&cert_path, "%s/%s", dir, SNS_SIGN_CERT_FILE);

    int krc = read_file(key_path.data, &key_data, &key_len, err, errlen);
    if (krc < 0)
        goto fail;
    int crc = read_file(cert_path.data, &cert_data, &cert_len, err, errlen);
    if (crc < 0)
        goto fail;
    if (krc == 1 && crc == 0) {
        /* Never written by us in this order: the key was removed. A new key would make
         * the certificate a lie, so refuse rather than guess. */
        seterr(err, errlen, "%s exists but its key %s does not", cert_path.data, key_path.data);
        goto fail;
    }

    if (krc == 1) {
        s->key = EVP_RSA_gen(KEY_BITS);
        if (!s->key) {
            seterr(err, errlen, "generating an RSA-%d key failed", KEY_BITS);
            goto fail;
        }
        pem = key_to_pem(s->key, &pem_len);
        if (!pem) {
            seterr(err, errlen, "encoding the SNS signing key failed");
            goto fail;
        }
        if (write_file_atomic(dir, SNS_SIGN_KEY_FILE, pem, pem_len, err, errlen) < 0)
            goto fail;
        log_info("created SNS signing key", "path=%s bits=%d", key_path.data, KEY_BITS);
    } else {
        s->key = key_from_pem(key_data, key_len);
        if (!s->key) {
            seterr(err, errlen, "%s: not a readable, unencrypted PEM private key", key_path.data);
            goto fail;
        }
        if (!EVP_PKEY_is_a(s->key, "RSA")) {
            seterr(err, errlen, "%s: SNS signatures need an RSA key, not %s", key_path.data,
                   EVP_PKEY_get0_type_name(s->key));
            goto fail;
        }
        /* PEM and DER have no checksum: a changed byte inside one of the key's numbers
         * usually still parses, and a key whose parts disagree may sign wrongly. The full
         * check (primes, n = pq, d, CRT values; some 50 ms, once) catches it. */
        if (key_is_consistent(s->key) < 0) {
            seterr(err, errlen, "%s: the RSA key is damaged (its parts do not agree)",
                   key_path.data);
            goto fail;
        }
    }

    if (crc == 1) {
        cert = make_cert(s->key, common_name);
        if (!cert || append_cert_pem(&certs, cert) < 0) {
            seterr(err, errlen, "issuing the SNS signing certificate failed");
            goto fail;
        }
        if (write_file_atomic(dir, SNS_SIGN_CERT_FILE, certs.data, certs.len, err, errlen) < 0)
            goto fail;
        if (krc == 0)
            log_warn("SNS signing certificate was missing: issued a new one for the key", "path=%s",
                     cert_path.data);
    } else {
        if (certs_from_pem(cert_data, cert_len, &cert, &certs) < 0) {
            seterr(err, errlen, "%s: not a readable PEM certificate", cert_path.data);
            goto fail;
        }
        if (X509_check_private_key(cert, s->key) != 1) {
            seterr(err, errlen, "%s does not certify the key in %s", cert_path.data, key_path.data);
            goto fail;
        }
    }

    s->pub = X509_get_pubkey(cert);
    s->sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
    s->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!s->pub || !s->sha1 || !s->sha256) {
        seterr(err, errlen, "OpenSSL has no SHA1/SHA256 or cannot read the certificate key");
        goto fail;
    }
    s->cert_pem = buf_steal(&certs, &s->cert_len);
    X509_free(cert);
    xfree(pem);
    xfree(key_data);
    xfree(cert_data);
    buf_free(&key_path);
    buf_free(&cert_path);
    *out = s;
    return 0;
fail:
    X509_free(cert);
    xfree(pem);
    xfree(key_data);
    xfree(cert_data);
    buf_free(&key_path);
    buf_free(&cert_path);
    buf_free(&certs);
    sns_signer_close(s);
    return -1;
}

void sns_signer_close(sns_signer *s)
{
    if (!s)
        return;
    EVP_PKEY_free(s->key);
    EVP_PKEY_free(s->pub);
    EVP_MD_free(s->sha1);
    EVP_MD_free(s->sha256);
    xfree(s->cert_pem);
    xfree(s);
}

const char *sns_signer_cert_pem(const sns_signer *s, size_t *len)
{
    if (len)
        *len = s->cert_len;
    return s->cert_pem;
}

/* ---------------------------------------------------------------------------------------
 * The string to sign */

typedef struct field {
    const char *name;
    int optional;
} field;

/* In byte order of the names, as AWS builds the string. */
static const field notification_fields[] = {
    {"Message", 0},  {"MessageId", 0}, {"Subject", 1}, {"Timestamp", 0},
    {"TopicArn", 0}, {"Type", 0},      {NULL, 0},
};
static const field confirmation_fields[] = {
    {"Message", 0}, {"MessageId", 0}, {"SubscribeURL", 0}, {"Timestamp", 0},
    {"Token", 0},   {"TopicArn", 0},  {"Type", 0},         {NULL, 0},
};

/* Appends envelope's string to sign to out. 0, or -1 if Type is unknown or a field to sign
 * is missing or not a string. */
static int string_to_sign(const json_t *envelope, buf *out)
{
    const char *type = json_string_value(json_object_get(envelope, "Type"));
    const field *fields;
    if (!type)
        return -1;
    if (strcmp(type, "Notification") == 0)
        fields = notification_fields;
    else if (strcmp(type, "SubscriptionConfirmation") == 0 ||
             strcmp(type, "UnsubscribeConfirmation") == 0)
        fields = confirmation_fields;
    else
        return -1;
    for (const field *f = fields; f->name; f++) {
        const json_t *v = json_object_get(envelope, f->name);
        if ((!v || json_is_null(v)) && f->optional)
            continue;
        if (!json_is_string(v))
            return -1;
        buf_puts(out, f->name);
        buf_putc(out, '\n');
        buf_append(out, json_string_value(v), json_string_length(v));
        buf_putc(out, '\n');
    }
    return 0;
}

static const EVP_MD *digest_for(const sns_signer *s, int version)
{
    return version == 1 ? s->sha1 : version == 2 ? s->sha256 : NULL;
}

/* ---------------------------------------------------------------------------------------
 * Signing and verifying */

int sns_sign(const sns_signer *s, json_t *envelope, int version)
{
    const EVP_MD *md = digest_for(s, version);
    buf msg = BUF_INIT;
    unsigned char *sig = NULL;
    buf b64 = BUF_INIT;
    EVP_MD_CTX *ctx = NULL;
    if (!md || !json_is_object(envelope) || string_to_sign(envelope, &msg) < 0)
        goto fail;
    ctx = EVP_MD_CTX_new();
    size_t siglen = 0;
    /* The RSA default padding is PKCS#1 v1.5, which is what SNS uses. */
    if (!ctx || EVP_DigestSignInit(ctx, NULL, md, NULL, s->key) != 1 ||
        EVP_DigestSign(ctx, NULL, &siglen, (const unsigned char *)msg.data, msg.len) != 1)
        goto fail;
    sig = xmalloc(siglen);
    if (EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)msg.data, msg.len) != 1)
        goto fail;
    base64_encode(&b64, sig, siglen);
    json_object_set_new(envelope, "SignatureVersion", json_string(version == 1 ? "1" : "2"));
    json_object_set_new(envelope, "Signature", json_stringn(b64.data, b64.len));
    EVP_MD_CTX_free(ctx);
    xfree(sig);
    buf_free(&b64);
    buf_free(&msg);
    return 0;
fail:
    ERR_clear_error();
    EVP_MD_CTX_free(ctx);
    xfree(sig);
    buf_free(&b64);
    buf_free(&msg);
    return -1;
}

int sns_verify(const sns_signer *s, const json_t *envelope)
{
    int valid = 0;
    buf msg = BUF_INIT;
    buf sig = BUF_INIT;
    EVP_MD_CTX *ctx = NULL;
    const json_t *ver = json_object_get(envelope, "SignatureVersion");
    const json_t *sigv = json_object_get(envelope, "Signature");
    if (!json_is_string(ver) || json_string_length(ver) != 1 || !json_is_string(sigv))
        goto done;
    const EVP_MD *md = digest_for(s, json_string_value(ver)[0] - '0');
    if (!md || string_to_sign(envelope, &msg) < 0)
        goto done;
    if (base64_decode(&sig, json_string_value(sigv), json_string_length(sigv)) != 0 || sig.len == 0)
        goto done;
    ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestVerifyInit(ctx, NULL, md, NULL, s->pub) != 1)
        goto done;
    valid = EVP_DigestVerify(ctx, (const unsigned char *)sig.data, sig.len,
                             (const unsigned char *)msg.data, msg.len) == 1;
done:
    ERR_clear_error();
    EVP_MD_CTX_free(ctx);
    buf_free(&sig);
    buf_free(&msg);
    return valid;
}
