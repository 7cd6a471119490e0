/* Base64 (RFC 4648, the standard alphabet, padded), as AWS carries blobs: binary message
 * attributes, REST payloads, signatures, raw mail. */
#ifndef SLUICE_COMMON_BASE64_H
#define SLUICE_COMMON_BASE64_H

#include "common/buf.h"

#include <stddef.h>

/* Appends the base64 text of data to out. */
void base64_encode(buf *out, const void *data, size_t len);

/* Strict decoding, as the SDKs send blobs: whole 4-character groups, padding only at the
 * end, nothing but the alphabet. Appends the bytes to out; 0, or -1 (out's length
 * unchanged) if s is not base64. */
int base64_decode(buf *out, const char *s, size_t len);

/* MIME-style decoding (RFC 2045): line breaks and other white space between groups are
 * allowed. Appends the bytes to out; 0, or -1 (out's length unchanged). */
int base64_decode_mime(buf *out, const char *s, size_t len);

/* The length of the bytes strict base64 text of length len decodes to (its padding
 * counted), or 0 if len is not a multiple of 4. */
size_t base64_decoded_len(const char *s, size_t len);

#endif
