/* A fast JSON reader and writer for the AWS JSON protocols, producing and consuming
 * jansson values.
 *
 * Why not jansson's own json_loadb/json_dumpb: their lexer and escaper go through a byte
 * stream one character at a time (with a UTF-8 check per character), which made JSON
 * decoding and encoding the largest cost of a SendMessage (over half of its instructions
 * for a 1 KiB body). Here strings are scanned in runs: a run of plain bytes is found with a
 * word-at-a-time test and copied once; escapes and multi-byte UTF-8 are handled on the slow
 * path only. Values are still jansson values, so the services see one JSON model.
 *
 * The reader accepts RFC 8259 JSON only: one value, no trailing garbage, valid UTF-8, no
 * lone surrogates, no duplicate object keys, nesting at most JSONC_MAX_DEPTH. */
#ifndef SLUICE_PROTOCOL_JSON_CODEC_H
#define SLUICE_PROTOCOL_JSON_CODEC_H

#include "common/buf.h"

#include <jansson.h>
#include <stddef.h>

/* 80: a DynamoDB item may nest 32 levels, two JSON levels each, inside its request (a
 * TransactWriteItems Put: 68 levels). */
#define JSONC_MAX_DEPTH 80

/* Parses n bytes of s. Returns a new value (caller owns it), or NULL with a message in err
 * (which names the byte offset). */
json_t *jsonc_parse(const char *s, size_t n, char *err, size_t errlen);

/* Appends the compact JSON text of v (borrowed) to out. Reals are written with 17
 * significant digits; strings are escaped as RFC 8259 requires (and '/' is not). */
void jsonc_dump(buf *out, const json_t *v);

/* A deep copy of v (borrowed): what json_deep_copy makes, without its cycle check (a
 * hashtable of the containers being copied, keyed by their addresses printed with
 * snprintf, which made it cost several times the copy). Values are trees: a parsed or
 * built value cannot contain itself. */
json_t *jsonc_copy(const json_t *v);

/* Appends s (valid UTF-8: a jansson string's value, or text jsonc_dump wrote) as a JSON
 * string literal. */
void jsonc_put_string(buf *out, const char *s, size_t n);

/* Appends s as a JSON string literal, replacing invalid UTF-8 with U+FFFD (for text that
 * may quote untrusted bytes, such as error messages). */
void jsonc_put_string_lossy(buf *out, const char *s, size_t n);

#endif
