/* SNS envelope signing: signatures that a subscriber verifies with plain OpenSSL and the
 * served certificate (both signature versions, all three envelope types), tampering
 * detected, and the key and certificate kept on disk across opens, never silently
 * replaced. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "services/sns/sns_sign.h"

#include "common/alloc.h"
#include "common/buf.h"
#include "protocol/json_codec.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define MSG     "Hello \"world\"\nline two\twith tab, caf\xc3\xa9 \xf0\x9f\x98\x80 \\ slash"
#define MSG_ID  "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324"
#define ARN     "arn:aws:sns:us-east-1:123456789012:MyTopic"
#define SUBJECT "My First Message"
#define TS      "2012-05-02T00:54:06.655Z"
#define TOKEN   "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a7"
#define SUB_URL                                                                                    \
    "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=" ARN "&Token"       \
    "=" TOKEN

/* The fixture: one signer on a temp dir, made once (RSA key generation is the slow part). */
typedef struct fixture {
    char dir[64];
    sns_signer *s;
} fixture;

static fixture fx;

/* ---------------------------------------------------------------------------------------
 * Helpers */

static void make_dir(char *dir, size_t cap)
{
    snprintf(dir, cap, "/tmp/sluice-test-snssign-XXXXXX");
    assert_non_null(mkdtemp(dir));
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[512];
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static char *file_path(const char *dir, const char *name)
{
    static char path[2][512];
    static int which;
    which ^= 1;
    snprintf(path[which], sizeof path[which], "%s/%s", dir, name);
    return path[which];
}

/* The whole file, NUL-terminated (xfree it), or NULL if it does not exist. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    buf b = BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(&b, chunk, n);
    fclose(f);
    buf_putc(&b, '\0');
    b.len--;
    return buf_steal(&b, len);
}

static void spew(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void copy_file(const char *from, const char *to)
{
    size_t len;
    char *data = slurp(from, &len);
    assert_non_null(data);
    spew(to, data, len);
    xfree(data);
}

static int count_entries(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static json_t *notification(const char *subject)
{
    json_t *e = json_object();
    json_object_set_new(e, "Type", json_string("Notification"));
    json_object_set_new(e, "MessageId", json_string(MSG_ID));
    json_object_set_new(e, "TopicArn", json_string(ARN));
    if (subject)
        json_object_set_new(e, "Subject", json_string(subject));
    json_object_set_new(e, "Message", json_string(MSG));
    json_object_set_new(e, "Timestamp", json_string(TS));
    json_object_set_new(e, "SigningCertURL",
                        json_string("http://127.0.0.1:9324/_sluice/sns/cert.pem"));
    json_object_set_new(e, "UnsubscribeURL",
                        json_string("http://127.0.0.1:9324/?Action=Unsubscribe&SubscriptionArn=" ARN
                                    ":c9135db0-26c4-47ec-8998-413945fb5a96"));
    return e;
}

static json_t *confirmation(const char *type)
{
    json_t *e = json_object();
    json_object_set_new(e, "Type", json_string(type));
    json_object_set_new(e, "MessageId", json_string(MSG_ID));
    json_object_set_new(e, "Token", json_string(TOKEN));
    json_object_set_new(e, "TopicArn", json_string(ARN));
    json_object_set_new(e, "Message",
                        json_string("You have chosen to subscribe to the topic " ARN
                                    ".\nTo confirm the subscription, visit the "
                                    "SubscribeURL included in this message."));
    json_object_set_new(e, "SubscribeURL", json_string(SUB_URL));
    json_object_set_new(e, "Timestamp", json_string(TS));
    json_object_set_new(e, "SigningCertURL",
                        json_string("http://127.0.0.1:9324/_sluice/sns/cert.pem"));
    return e;
}

/* Verifies as a subscriber does, independently of sns_verify: the public key from the
 * served PEM certificate, the base64 signature, RSA PKCS#1 v1.5 over md_name. 1 or 0. */
static int subscriber_verify(const char *pem, size_t pem_len, const char *md_name, const char *msg,
                             size_t msg_len, const char *b64)
{
    BIO *b = BIO_new_mem_buf(pem, (int)pem_len);
    X509 *cert = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    assert_non_null(cert);
    EVP_PKEY *pub = X509_get_pubkey(cert);
    assert_non_null(pub);
    size_t b64_len = strlen(b64);
    unsigned char *sig = xmalloc(b64_len);
    int n = EVP_DecodeBlock(sig, (const unsigned char *)b64, (int)b64_len);
    assert_true(n > 0);
    while (b64_len > 0 && b64[--b64_len] == '=')
        n--;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit_ex(ctx, NULL, md_name, NULL, NULL, pub, NULL), 1);
    int ok = EVP_DigestVerify(ctx, sig, (size_t)n, (const unsigned char *)msg, msg_len) == 1;
    EVP_MD_CTX_free(ctx);
    xfree(sig);
    EVP_PKEY_free(pub);
    X509_free(cert);
    ERR_clear_error();
    return ok;
}

static const char *str(const json_t *e, const char *key)
{
    return json_string_value(json_object_get(e, key));
}

/* Signs e with version and checks the signature against expected (the string AWS's
 * documentation says is signed) with OpenSSL directly, and with sns_verify. */
static void sign_and_check(json_t *e, int version, const char *expected)
{
    size_t pem_len;
    const char *pem = sns_signer_cert_pem(fx.s, &pem_len);
    assert_int_equal(sns_sign(fx.s, e, version), 0);
    assert_string_equal(str(e, "SignatureVersion"), version == 1 ? "1" : "2");
    const char *sig = str(e, "Signature");
    assert_non_null(sig);
    assert_int_equal(strlen(sig), 344); /* 256 bytes of RSA-2048, base64 */
    const char *right = version == 1 ? "SHA1" : "SHA256";
    const char *wrong = version == 1 ? "SHA256" : "SHA1";
    assert_true(subscriber_verify(pem, pem_len, right, expected, strlen(expected), sig));
    assert_false(subscriber_verify(pem, pem_len, wrong, expected, strlen(expected), sig));
    assert_int_equal(sns_verify(fx.s, e), 1);
}

static int group_setup(void **state)
{
    char err[256];
    make_dir(fx.dir, sizeof fx.dir);
    if (sns_signer_open(&fx.s, fx.dir, "sluice-sns", err, sizeof err) != 0) {
        fprintf(stderr, "sns_signer_open: %s\n", err);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    sns_signer_close(fx.s);
    remove_dir(fx.dir);
    return 0;
}

/* ---------------------------------------------------------------------------------------
 * Signatures */

static void test_notification_with_subject_verifies_with_both_versions(void **state)
{
    const char *expected = "Message\n" MSG "\nMessageId\n" MSG_ID "\nSubject\n" SUBJECT
                           "\nTimestamp\n" TS "\nTopicArn\n" ARN "\nType\nNotification\n";
    for (int v = 1; v <= 2; v++) {
        json_t *e = notification(SUBJECT);
        sign_and_check(e, v, expected);
        json_decref(e);
    }
}

static void test_notification_without_subject_leaves_it_out_of_the_string(void **state)
{
    const char *expected = "Message\n" MSG "\nMessageId\n" MSG_ID "\nTimestamp\n" TS
                           "\nTopicArn\n" ARN "\nType\nNotification\n";
    for (int v = 1; v <= 2; v++) {
        json_t *e = notification(NULL);
        sign_and_check(e, v, expected);
        json_decref(e);
        /* A JSON null Subject is an absent one, as AWS's SDK validators read it. */
        e = notification(NULL);
        json_object_set_new(e, "Subject", json_null());
        sign_and_check(e, v, expected);
        json_decref(e);
    }
}

static void test_confirmations_sign_token_and_subscribe_url(void **state)
{
    const char *types[] = {"SubscriptionConfirmation", "UnsubscribeConfirmation"};
    for (size_t t = 0; t < 2; t++) {
        json_t *proto = confirmation(types[t]);
        buf expected = BUF_INIT;
        buf_printf(&expected,
                   "Message\n%s\nMessageId\n" MSG_ID "\nSubscribeURL\n" SUB_URL "\nTimestamp\n" TS
                   "\nToken\n" TOKEN "\nTopicArn\n" ARN "\nType\n%s\n",
                   str(proto, "Message"), types[t]);
        json_decref(proto);
        for (int v = 1; v <= 2; v++) {
            json_t *e = confirmation(types[t]);
            sign_and_check(e, v, expected.data);
            json_decref(e);
        }
        buf_free(&expected);
    }
}

static void test_signature_survives_json_round_trip(void **state)
{
    /* A subscriber verifies after parsing the body: escapes in Message must sign as the
     * characters they stand for. */
    json_t *e = notification(SUBJECT);
    assert_int_equal(sns_sign(fx.s, e, 2), 0);
    buf body = BUF_INIT;
    jsonc_dump(&body, e);
    assert_non_null(strstr(body.data, "\\n"));
    char err[160];
    json_t *parsed = jsonc_parse(body.data, body.len, err, sizeof err);
    assert_non_null(parsed);
    assert_int_equal(sns_verify(fx.s, parsed), 1);
    json_decref(parsed);
    buf_free(&body);
    json_decref(e);
}

static void test_tampered_fields_fail_verification(void **state)
{
    const char *signed_fields[] = {"Message", "MessageId", "Subject", "Timestamp", "TopicArn"};
    size_t pem_len;
    const char *pem = sns_signer_cert_pem(fx.s, &pem_len);
    const char *expected = "Message\n" MSG "\nMessageId\n" MSG_ID "\nSubject\n" SUBJECT
                           "\nTimestamp\n" TS "\nTopicArn\n" ARN "\nType\nNotification\n";
    for (int v = 1; v <= 2; v++) {
        json_t *orig = notification(SUBJECT);
        assert_int_equal(sns_sign(fx.s, orig, v), 0);
        for (size_t i = 0; i < sizeof signed_fields / sizeof signed_fields[0]; i++) {
            json_t *e = json_deep_copy(orig);
            buf changed = BUF_INIT;
            buf_printf(&changed, "%sX", str(e, signed_fields[i]));
            json_object_set_new(e, signed_fields[i], json_string(changed.data));
            if (sns_verify(fx.s, e) != 0)
                fail_msg("v%d: changed %s still verifies", v, signed_fields[i]);
            buf_free(&changed);
            json_decref(e);
        }
        /* One flipped byte of the string, checked by a subscriber's own OpenSSL code. */
        char *tampered = xstrdup(expected);
        tampered[10] ^= 1;
        assert_false(subscriber_verify(pem, pem_len, v == 1 ? "SHA1" : "SHA256", tampered,
                                       strlen(tampered), str(orig, "Signature")));
        xfree(tampered);

        json_t *e = json_deep_copy(orig);
        json_object_del(e, "Subject");
        assert_int_equal(sns_verify(fx.s, e), 0);
        json_decref(e);

        e = json_deep_copy(orig);
        json_object_set_new(e, "Type", json_string("UnsubscribeConfirmation"));
        assert_int_equal(sns_verify(fx.s, e), 0);
        json_decref(e);

        e = json_deep_copy(orig);
        json_object_set_new(e, "SignatureVersion", json_string(v == 1 ? "2" : "1"));
        assert_int_equal(sns_verify(fx.s, e), 0);
        json_decref(e);

        /* A flipped bit of the signature itself. */
        e = json_deep_copy(orig);
        char *sig = xstrdup(str(e, "Signature"));
        sig[20] = sig[20] == 'A' ? 'B' : 'A';
        json_object_set_new(e, "Signature", json_string(sig));
        assert_int_equal(sns_verify(fx.s, e), 0);
        xfree(sig);
        json_decref(e);

        /* AWS does not sign these: changing them keeps the signature valid. */
        e = json_deep_copy(orig);
        json_object_set_new(e, "UnsubscribeURL", json_string("http://elsewhere/"));
        json_object_set_new(e, "SigningCertURL", json_string("http://elsewhere/c.pem"));
        json_object_set_new(e, "MessageAttributes", json_object());
        assert_int_equal(sns_verify(fx.s, e), 1);
        json_decref(e);
        json_decref(orig);
    }

    json_t *c = confirmation("SubscriptionConfirmation");
    assert_int_equal(sns_sign(fx.s, c, 1), 0);
    json_object_set_new(c, "Token", json_string("forged-token"));
    assert_int_equal(sns_verify(fx.s, c), 0);
    json_decref(c);
}

static void test_malformed_signatures_do_not_verify(void **state)
{
    json_t *orig = notification(NULL);
    assert_int_equal(sns_sign(fx.s, orig, 1), 0);
    const char *bad_sigs[] = {"",     "not base64!", "QUJD",      " " /* whitespace */,
                              "====", "QUJDRA=",     "QUJD\nRA=="};
    for (size_t i = 0; i < sizeof bad_sigs / sizeof bad_sigs[0]; i++) {
        json_t *e = json_deep_copy(orig);
        json_object_set_new(e, "Signature", json_string(bad_sigs[i]));
        assert_int_equal(sns_verify(fx.s, e), 0);
        json_decref(e);
    }
    const char *bad_versions[] = {"3", "0", "", "12", "1 "};
    for (size_t i = 0; i < sizeof bad_versions / sizeof bad_versions[0]; i++) {
        json_t *e = json_deep_copy(orig);
        json_object_set_new(e, "SignatureVersion", json_string(bad_versions[i]));
        assert_int_equal(sns_verify(fx.s, e), 0);
        json_decref(e);
    }
    json_t *e = json_deep_copy(orig);
    json_object_set_new(e, "SignatureVersion", json_integer(1));
    assert_int_equal(sns_verify(fx.s, e), 0);
    json_decref(e);
    e = json_deep_copy(orig);
    json_object_del(e, "Signature");
    assert_int_equal(sns_verify(fx.s, e), 0);
    json_decref(e);
    json_decref(orig);
}

static void test_sign_refuses_bad_input_and_leaves_envelope_unchanged(void **state)
{
    json_t *e = notification(SUBJECT);
    json_t *before = json_deep_copy(e);
    assert_int_equal(sns_sign(fx.s, e, 0), -1);
    assert_int_equal(sns_sign(fx.s, e, 3), -1);
    assert_true(json_equal(e, before));

    const char *required[] = {"Message", "MessageId", "Timestamp", "TopicArn", "Type"};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        json_t *m = json_deep_copy(before);
        json_object_del(m, required[i]);
        json_t *m0 = json_deep_copy(m);
        if (sns_sign(fx.s, m, 2) != -1)
            fail_msg("signed a notification without %s", required[i]);
        assert_true(json_equal(m, m0));
        json_object_set_new(m, required[i], json_integer(7));
        assert_int_equal(sns_sign(fx.s, m, 2), -1);
        json_decref(m0);
        json_decref(m);
    }
    json_t *m = json_deep_copy(before);
    json_object_set_new(m, "Subject", json_integer(7));
    assert_int_equal(sns_sign(fx.s, m, 1), -1);
    json_object_set_new(m, "Subject", json_string(SUBJECT));
    json_object_set_new(m, "Type", json_string("notification"));
    assert_int_equal(sns_sign(fx.s, m, 1), -1);
    json_decref(m);

    const char *conf_required[] = {"SubscribeURL", "Token"};
    for (size_t i = 0; i < 2; i++) {
        json_t *c = confirmation("SubscriptionConfirmation");
        json_object_del(c, conf_required[i]);
        assert_int_equal(sns_sign(fx.s, c, 1), -1);
        assert_null(json_object_get(c, "Signature"));
        json_decref(c);
    }
    json_t *arr = json_array();
    assert_int_equal(sns_sign(fx.s, arr, 1), -1);
    json_decref(arr);
    json_decref(before);
    json_decref(e);
}

/* ---------------------------------------------------------------------------------------
 * The certificate */

static void test_certificate_is_self_signed_for_the_common_name_for_ten_years(void **state)
{
    size_t pem_len;
    const char *pem = sns_signer_cert_pem(fx.s, &pem_len);
    assert_int_equal(strlen(pem), pem_len);
    assert_int_equal(strncmp(pem, "-----BEGIN CERTIFICATE-----\n", 28), 0);
    assert_null(strstr(pem, "PRIVATE"));
    BIO *b = BIO_new_mem_buf(pem, (int)pem_len);
    X509 *cert = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    assert_non_null(cert);

    char cn[128];
    assert_true(
        X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn) > 0);
    assert_string_equal(cn, "sluice-sns");
    int days, secs;
    assert_int_equal(
        ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(cert), X509_get0_notAfter(cert)), 1);
    assert_true(days >= 3650 && days <= 3654);
    assert_true(X509_cmp_current_time(X509_get0_notBefore(cert)) < 0);
    assert_true(X509_cmp_current_time(X509_get0_notAfter(cert)) > 0);
    assert_int_equal(X509_get_extension_flags(cert) & EXFLAG_CA, 0);
    assert_int_equal(X509_get_key_usage(cert), KU_DIGITAL_SIGNATURE);
    BIGNUM *serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    assert_non_null(serial);
    assert_false(BN_is_negative(serial));
    assert_false(BN_is_zero(serial));
    BN_free(serial);

    /* Pinning it works as a subscriber would do it: a store holding just this
     * certificate accepts it (`openssl verify -CAfile cert.pem cert.pem`). */
    X509_STORE *store = X509_STORE_new();
    assert_int_equal(X509_STORE_add_cert(store, cert), 1);
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    assert_int_equal(X509_STORE_CTX_init(ctx, store, cert, NULL), 1);
    int ok = X509_verify_cert(ctx);
    if (ok != 1)
        fail_msg("pinned certificate rejected: %s",
                 X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    X509_free(cert);
}

/* ---------------------------------------------------------------------------------------
 * Key material on disk */

static void test_files_are_created_0600_and_reopen_keeps_key_and_cert(void **state)
{
    char dir[64], err[256];
    make_dir(dir, sizeof dir);
    mode_t old = umask(022);
    sns_signer *a = NULL;
    assert_int_equal(sns_signer_open(&a, dir, "sns.test", err, sizeof err), 0);
    umask(old);

    struct stat st;
    assert_int_equal(stat(file_path(dir, SNS_SIGN_KEY_FILE), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(stat(file_path(dir, SNS_SIGN_CERT_FILE), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(count_entries(dir), 2); /* no temp files left behind */

    size_t a_len, file_len;
    const char *a_pem = sns_signer_cert_pem(a, &a_len);
    char *file = slurp(file_path(dir, SNS_SIGN_CERT_FILE), &file_len);
    assert_int_equal(file_len, a_len);
    assert_memory_equal(file, a_pem, a_len);
    xfree(file);
    size_t key_len;
    char *key_before = slurp(file_path(dir, SNS_SIGN_KEY_FILE), &key_len);
    assert_non_null(strstr(key_before, "PRIVATE KEY"));

    json_t *e = notification(SUBJECT);
    assert_int_equal(sns_sign(a, e, 2), 0);
    /* Another signer's key does not verify it. */
    assert_int_equal(sns_verify(fx.s, e), 0);

    sns_signer *b = NULL;
    assert_int_equal(sns_signer_open(&b, dir, "other-name-ignored", err, sizeof err), 0);
    size_t b_len;
    const char *b_pem = sns_signer_cert_pem(b, &b_len);
    assert_int_equal(a_len, b_len);
    assert_memory_equal(a_pem, b_pem, a_len);
    assert_int_equal(sns_verify(b, e), 1);
    size_t key_len2;
    char *key_after = slurp(file_path(dir, SNS_SIGN_KEY_FILE), &key_len2);
    assert_int_equal(key_len, key_len2);
    assert_memory_equal(key_before, key_after, key_len);

    xfree(key_before);
    xfree(key_after);
    json_decref(e);
    sns_signer_close(a);
    sns_signer_close(b);
    remove_dir(dir);
}

/* Writes the fixture's key (as key_data if non-NULL, else unchanged) and certificate (if
 * with_cert) to a fresh dir. */
static void seed_dir(char *dir, size_t cap, const char *key_data, size_t key_len, int with_cert)
{
    make_dir(dir, cap);
    if (key_data)
        spew(file_path(dir, SNS_SIGN_KEY_FILE), key_data, key_len);
    else
        copy_file(file_path(fx.dir, SNS_SIGN_KEY_FILE), file_path(dir, SNS_SIGN_KEY_FILE));
    if (with_cert)
        copy_file(file_path(fx.dir, SNS_SIGN_CERT_FILE), file_path(dir, SNS_SIGN_CERT_FILE));
}

/* Opening dir must fail, with a message, and leave its key file byte for byte. */
static void expect_open_fails(const char *dir, const char *what)
{
    char err[256] = "";
    size_t before_len = 0, after_len = 0;
    char *before = slurp(file_path(dir, SNS_SIGN_KEY_FILE), &before_len);
    sns_signer *s = (sns_signer *)0x1;
    if (sns_signer_open(&s, dir, NULL, err, sizeof err) != -1)
        fail_msg("%s: opened", what);
    assert_null(s);
    assert_true(strlen(err) > 0);
    char *after = slurp(file_path(dir, SNS_SIGN_KEY_FILE), &after_len);
    if (before) {
        assert_non_null(after);
        assert_int_equal(before_len, after_len);
        assert_memory_equal(before, after, before_len);
    } else {
        assert_null(after);
    }
    xfree(before);
    xfree(after);
    assert_int_equal(ERR_peek_error(), 0); /* no stale OpenSSL errors left on the thread */
}

static void test_corrupt_key_is_an_error_not_a_new_key(void **state)
{
    size_t len;
    char *key = slurp(file_path(fx.dir, SNS_SIGN_KEY_FILE), &len);
    assert_non_null(key);
    struct {
        const char *what;
        const char *data;
        size_t len;
    } cases[] = {
        {"garbage", "this is not a key\n", 18},
        {"empty", "", 0},
        {"truncated", key, len / 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int with_cert = 0; with_cert <= 1; with_cert++) {
            char dir[64];
            seed_dir(dir, sizeof dir, cases[i].data, cases[i].len, with_cert);
            expect_open_fails(dir, cases[i].what);
            assert_int_equal(count_entries(dir), 1 + with_cert);
            remove_dir(dir);
        }
    }
    /* One changed base64 character anywhere in the key still parses as PEM and DER more
     * often than not; it must be caught all the same. */
    const char *body = strchr(key, '\n') + 1;
    const char *body_end = strstr(key, "-----END");
    for (int k = 1; k <= 8; k++) {
        size_t pos = (size_t)(body - key) + (size_t)(body_end - body) * (size_t)k / 9;
        if (key[pos] == '\n')
            pos++;
        char *flipped = xmemdup(key, len);
        flipped[pos] = flipped[pos] == 'A' ? 'B' : 'A';
        char dir[64], what[64];
        snprintf(what, sizeof what, "changed byte at %zu", pos);
        seed_dir(dir, sizeof dir, flipped, len, k % 2);
        expect_open_fails(dir, what);
        remove_dir(dir);
        xfree(flipped);
    }
    xfree(key);
}

static void test_encrypted_or_non_rsa_key_is_refused(void **state)
{
    EVP_PKEY *ec = EVP_EC_gen("P-256");
    assert_non_null(ec);
    BIO *b = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PrivateKey(b, ec, NULL, NULL, 0, NULL, NULL), 1);
    char *data;
    long n = BIO_get_mem_data(b, &data);
    char dir[64];
    seed_dir(dir, sizeof dir, data, (size_t)n, 0);
    expect_open_fails(dir, "EC key");
    remove_dir(dir);
    BIO_free(b);
    EVP_PKEY_free(ec);

    size_t len;
    char *pem = slurp(file_path(fx.dir, SNS_SIGN_KEY_FILE), &len);
    b = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *rsa = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    BIO_free(b);
    assert_non_null(rsa);
    b = BIO_new(BIO_s_mem());
    assert_int_equal(
        PEM_write_bio_PrivateKey(b, rsa, EVP_aes_128_cbc(), NULL, 0, NULL, (void *)"secret"), 1);
    n = BIO_get_mem_data(b, &data);
    seed_dir(dir, sizeof dir, data, (size_t)n, 1);
    expect_open_fails(dir, "encrypted key");
    remove_dir(dir);
    BIO_free(b);
    EVP_PKEY_free(rsa);
    xfree(pem);
}

static void test_corrupt_or_foreign_certificate_is_an_error(void **state)
{
    size_t len;
    char *cert = slurp(file_path(fx.dir, SNS_SIGN_CERT_FILE), &len);
    assert_non_null(cert);
    struct {
        const char *what;
        const char *data;
        size_t len;
    } cases[] = {
        {"garbage", "not a certificate\n", 18},
        {"empty", "", 0},
        {"truncated", cert, len / 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char dir[64];
        seed_dir(dir, sizeof dir, NULL, 0, 0);
        spew(file_path(dir, SNS_SIGN_CERT_FILE), cases[i].data, cases[i].len);
        expect_open_fails(dir, cases[i].what);
        remove_dir(dir);
    }

    /* A certificate for another key next to ours. */
    char other[64], dir[64], err[256];
    make_dir(other, sizeof other);
    sns_signer *o = NULL;
    assert_int_equal(sns_signer_open(&o, other, NULL, err, sizeof err), 0);
    sns_signer_close(o);
    seed_dir(dir, sizeof dir, NULL, 0, 0);
    copy_file(file_path(other, SNS_SIGN_CERT_FILE), file_path(dir, SNS_SIGN_CERT_FILE));
    expect_open_fails(dir, "foreign certificate");
    remove_dir(dir);

    /* A certificate whose key is gone: no new key is made to go with it. */
    make_dir(dir, sizeof dir);
    copy_file(file_path(other, SNS_SIGN_CERT_FILE), file_path(dir, SNS_SIGN_CERT_FILE));
    expect_open_fails(dir, "certificate without key");
    assert_int_equal(count_entries(dir), 1);
    remove_dir(dir);
    remove_dir(other);
    xfree(cert);
}

static void test_key_without_certificate_gets_a_certificate_for_that_key(void **state)
{
    char dir[64], err[256];
    seed_dir(dir, sizeof dir, NULL, 0, 0);
    sns_signer *s = NULL;
    assert_int_equal(sns_signer_open(&s, dir, "recovered", err, sizeof err), 0);
    struct stat st;
    assert_int_equal(stat(file_path(dir, SNS_SIGN_CERT_FILE), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    /* Same key as the fixture: each verifies what the other signed. */
    json_t *e = notification(SUBJECT);
    assert_int_equal(sns_sign(s, e, 1), 0);
    assert_int_equal(sns_verify(fx.s, e), 1);
    json_decref(e);
    e = notification(NULL);
    assert_int_equal(sns_sign(fx.s, e, 2), 0);
    assert_int_equal(sns_verify(s, e), 1);
    json_decref(e);
    sns_signer_close(s);
    remove_dir(dir);
}

static void test_served_pem_holds_only_certificates(void **state)
{
    /* An operator's file with the key pasted in as well: only the certificate is served. */
    char dir[64], err[256];
    seed_dir(dir, sizeof dir, NULL, 0, 0);
    size_t klen, clen;
    char *key = slurp(file_path(fx.dir, SNS_SIGN_KEY_FILE), &klen);
    char *cert = slurp(file_path(fx.dir, SNS_SIGN_CERT_FILE), &clen);
    buf both = BUF_INIT;
    buf_puts(&both, "# comment line\n");
    buf_append(&both, key, klen);
    buf_append(&both, cert, clen);
    spew(file_path(dir, SNS_SIGN_CERT_FILE), both.data, both.len);
    sns_signer *s = NULL;
    assert_int_equal(sns_signer_open(&s, dir, NULL, err, sizeof err), 0);
    size_t len;
    const char *pem = sns_signer_cert_pem(s, &len);
    assert_int_equal(len, clen);
    assert_memory_equal(pem, cert, clen);
    assert_null(strstr(pem, "PRIVATE"));
    sns_signer_close(s);
    buf_free(&both);
    xfree(key);
    xfree(cert);
    remove_dir(dir);
}

static void test_missing_dir_is_an_error(void **state)
{
    char err[256] = "";
    sns_signer *s = NULL;
    assert_int_equal(sns_signer_open(&s, "/nonexistent/sluice-snssign", NULL, err, sizeof err), -1);
    assert_null(s);
    assert_non_null(strstr(err, "/nonexistent/sluice-snssign"));
    sns_signer_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_notification_with_subject_verifies_with_both_versions),
        cmocka_unit_test(test_notification_without_subject_leaves_it_out_of_the_string),
        cmocka_unit_test(test_confirmations_sign_token_and_subscribe_url),
        cmocka_unit_test(test_signature_survives_json_round_trip),
        cmocka_unit_test(test_tampered_fields_fail_verification),
        cmocka_unit_test(test_malformed_signatures_do_not_verify),
        cmocka_unit_test(test_sign_refuses_bad_input_and_leaves_envelope_unchanged),
        cmocka_unit_test(test_certificate_is_self_signed_for_the_common_name_for_ten_years),
        cmocka_unit_test(test_files_are_created_0600_and_reopen_keeps_key_and_cert),
        cmocka_unit_test(test_corrupt_key_is_an_error_not_a_new_key),
        cmocka_unit_test(test_encrypted_or_non_rsa_key_is_refused),
        cmocka_unit_test(test_corrupt_or_foreign_certificate_is_an_error),
        cmocka_unit_test(test_key_without_certificate_gets_a_certificate_for_that_key),
        cmocka_unit_test(test_served_pem_holds_only_certificates),
        cmocka_unit_test(test_missing_dir_is_an_error),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
