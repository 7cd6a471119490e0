/* Signing of SNS JSON envelopes (Notification, SubscriptionConfirmation,
 * UnsubscribeConfirmation) as Amazon SNS signs them, so HTTP/HTTPS and email-json
 * subscribers can verify them with the certificate served at SigningCertURL.
 *
 * The server's key and certificate live in one directory (normally the data dir):
 *   sns-signing-key.pem   the RSA private key (PKCS#8 PEM), mode 0600
 *   sns-signing-cert.pem  its X.509 certificate (PEM), mode 0600
 * They are created at first use and kept from then on, so subscribers that cached the
 * certificate keep verifying after a restart. An operator may put their own RSA key and
 * certificate (for instance one issued by a CA the subscribers trust) in their place.
 *
 * A signer is immutable once opened: sns_sign and sns_verify may be called from several
 * threads at once. */
#ifndef SLUICE_SERVICES_SNS_SIGN_H
#define SLUICE_SERVICES_SNS_SIGN_H

#include <jansson.h>
#include <stddef.h>

#define SNS_SIGN_KEY_FILE  "sns-signing-key.pem"
#define SNS_SIGN_CERT_FILE "sns-signing-cert.pem"

typedef struct sns_signer sns_signer;

/* Loads the signing key and certificate from dir (borrowed), creating them if neither
 * exists: an RSA 2048 key and a self-signed certificate for CN = common_name (borrowed;
 * e.g. "sluice-sns"), valid for 10 years. Files are written atomically (temp file, fsync,
 * rename) with mode 0600. A key without a certificate (a crash between the two writes)
 * gets a new certificate for the same key. Anything else unusable is an error and nothing
 * is overwritten: a key or certificate file that does not parse, a certificate without its
 * key, a key that is not RSA, a certificate whose public key is not the key's.
 * Returns 0 and sets *out (caller owns it), or -1 with a message in err. */
int sns_signer_open(sns_signer **out, const char *dir, const char *common_name, char *err,
                    size_t errlen);

/* Frees the signer. Accepts NULL. */
void sns_signer_close(sns_signer *s);

/* The certificate(s) as PEM text, for serving at SigningCertURL: owned by the signer, valid
 * until sns_signer_close; *len (if len is not NULL) gets its length. Only certificates are
 * ever returned, whatever else the certificate file holds. */
const char *sns_signer_cert_pem(const sns_signer *s, size_t *len);

/* Signs envelope (borrowed; modified): sets "SignatureVersion" ("1": RSA PKCS#1 v1.5 with
 * SHA1, "2": with SHA256) and "Signature" (base64). The string signed is made of the
 * fields AWS signs for the envelope's "Type", each as "Name\nvalue\n", in this order:
 *   Notification:               Message, MessageId, Subject (if present), Timestamp,
 *                               TopicArn, Type
 *   SubscriptionConfirmation,
 *   UnsubscribeConfirmation:    Message, MessageId, SubscribeURL, Timestamp, Token,
 *                               TopicArn, Type
 * Those fields must be strings. A "Subject" that is JSON null counts as absent, as AWS's
 * SDK validators treat it; leave Subject out of the envelope when the publish had none, as
 * AWS does. Nothing else is signed (not UnsubscribeURL, SigningCertURL nor
 * MessageAttributes), so envelopes of one publish that differ only in those may share one
 * Signature: an RSA-2048 signature costs about a millisecond of CPU.
 * Returns 0, or -1 (envelope left unchanged) if version is not 1 or 2, Type is not one of
 * the three, or a signed field is missing or not a string. */
int sns_sign(const sns_signer *s, json_t *envelope, int version);

/* Checks envelope's (borrowed) Signature against the signer's certificate, by the rules of
 * sns_sign and its SignatureVersion. Returns 1 if valid, 0 otherwise (including a missing
 * or malformed field). */
int sns_verify(const sns_signer *s, const json_t *envelope);

#endif
