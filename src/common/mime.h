/* Internet messages (RFC 5322 + MIME) built from the parts SES and SNS email have: a sender,
 * recipients, a UTF-8 subject and a text and/or HTML body. The result is what goes after
 * SMTP DATA (smtp_client_send), with CRLF line ends and no line over 998 octets.
 *
 * Bcc recipients are not a field here: they go only to the SMTP envelope, never into the
 * message. A CR or LF in any header field is refused, so no input can add a header.
 *
 * Not thread-safe beyond the rules of ids.h: Message-IDs and boundaries come from its
 * generator, so call from the loop thread. */
#ifndef SLUICE_COMMON_MIME_H
#define SLUICE_COMMON_MIME_H

#include "common/buf.h"

#include <stddef.h>
#include <stdint.h>

#define MIME_EINVAL (-1)

/* Addresses are "local@domain" or "Display Name <local@domain>". The address must be
 * ASCII, without spaces, commas or angle brackets (SES takes no SMTPUTF8 local parts; a
 * non-ASCII domain must already be in Punycode). A display name that is not ASCII is
 * written as RFC 2047 encoded-words; an ASCII one with RFC 5322 specials is quoted, unless
 * it already is; one that is already an encoded-word is kept as it is. */
typedef struct mime_message {
    const char *from; /* required */
    const char *const *to;
    size_t nto;
    const char *const *cc;
    size_t ncc;
    const char *const *reply_to;
    size_t nreply_to;
    /* UTF-8; NULL or "" for none (an empty Subject header is written). Non-ASCII,
     * control characters or a "=?" make it RFC 2047 encoded-words (base64, whole
     * characters per word); otherwise it is folded at spaces. */
    const char *subject;
    /* UTF-8 bodies; NULL for none. Line ends may be LF, CR or CRLF: they are written as
     * CRLF. Both present: multipart/alternative, text first (the least preferred). One:
     * a single part. Neither: an empty text/plain body. Each body goes 7bit when it is
     * ASCII with lines of at most 998 octets, base64 when over a third of it is non-ASCII,
     * else quoted-printable. */
    const char *text;
    size_t text_len;
    const char *html;
    size_t html_len;
    /* "left@right" without angle brackets; NULL: "<uuid@domain-of-from>". */
    const char *message_id;
    int64_t date_ms; /* the Date header, ms since the epoch (written in UTC); 0: now */
    /* More "Name: value" lines (List-Unsubscribe, X-...), printable ASCII, written after
     * the standard fields. Names this builder writes itself (From, To, Cc, Bcc, Reply-To,
     * Subject, Date, Message-ID, MIME-Version, Content-*) are refused. */
    const char *const *headers;
    size_t nheaders;
} mime_message;

/* Appends the message to out. All of m is borrowed. Returns 0, or MIME_EINVAL with *err
 * (when err is not NULL) set to a static sentence saying what is wrong; then out holds
 * what it held before. */
int mime_build(buf *out, const mime_message *m, const char **err);

#endif
