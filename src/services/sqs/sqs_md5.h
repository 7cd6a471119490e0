/* The MD5 digests SQS returns and the SDKs verify: MD5OfMessageBody,
 * MD5OfMessageAttributes and MD5OfMessageSystemAttributes.
 *
 * The attribute digest follows the algorithm AWS documents (and the SDKs implement): the
 * attributes sorted by name (byte order); for each one, the 4-byte big-endian length and the
 * bytes of the name, of the data type, then one transport byte (1 = string, 2 = binary)
 * and the 4-byte big-endian length and bytes of the value (binary values decoded from
 * base64 first). */
#ifndef SLUICE_SQS_MD5_H
#define SLUICE_SQS_MD5_H

#include <jansson.h>
#include <stddef.h>

/* Lower-case hex MD5 of n bytes. */
void sqs_md5_hex(const void *p, size_t n, char out[33]);

/* `attrs` is a JSON object {name: {"DataType": "...", "StringValue": "..." | "BinaryValue":
 * "<base64>"}} (borrowed). Writes the digest and returns 0; returns -1 if an entry lacks its
 * DataType or value or a BinaryValue is not valid base64. An empty object has no digest:
 * returns 1 and writes "". */
int sqs_md5_message_attributes(const json_t *attrs, char out[33]);

#endif
