/* DynamoDB AttributeValues and items in their wire JSON form (jansson values):
 * {"S":"x"}, {"N":"1.5"}, {"B":"<base64>"}, {"BOOL":true}, {"NULL":true}, {"M":{...}},
 * {"L":[...]}, {"SS":[...]}, {"NS":[...]}, {"BS":[...]}; an item is {"name": value, ...}.
 *
 * Untrusted input is checked with ddb_value_validate / ddb_item_validate, which also
 * rewrite every number to its canonical text (see ddb_number.h), so that a stored item
 * holds what DynamoDB would return. Every other function here expects validated values.
 *
 * Errors are written to err in DynamoDB's words. A function returns DDB_ERR_VALIDATION
 * for what DynamoDB answers with a ValidationException and DDB_ERR_SERIALIZATION for
 * JSON of the wrong shape (a number where a string belongs...), which DynamoDB answers
 * with a SerializationException. */
#ifndef SLUICE_DDB_VALUE_H
#define SLUICE_DDB_VALUE_H

#include "common/buf.h"

#include <jansson.h>
#include <stddef.h>

#define DDB_ERR_VALIDATION    (-1)
#define DDB_ERR_SERIALIZATION (-2)

#define DDB_MAX_ITEM_SIZE 409600 /* 400 KB, attribute names included */
#define DDB_MAX_DEPTH     32     /* levels of nesting, the scalar at the bottom counted */

typedef enum ddb_type {
    DDB_NONE = 0, /* not a valid AttributeValue */
    DDB_S,
    DDB_N,
    DDB_B,
    DDB_BOOL,
    DDB_NULL,
    DDB_M,
    DDB_L,
    DDB_SS,
    DDB_NS,
    DDB_BS,
} ddb_type;

/* The type of a validated AttributeValue (its only key), DDB_NONE if av is not an object
 * with exactly one known type key. */
ddb_type ddb_type_of(const json_t *av);
/* "S", "N", ... ("" for DDB_NONE); and back (DDB_NONE for an unknown name). */
const char *ddb_type_name(ddb_type t);
ddb_type ddb_type_from_name(const char *name, size_t n);
/* The payload under av's type key (borrowed), or NULL. */
json_t *ddb_payload(const json_t *av);

/* Checks one AttributeValue from untrusted JSON: exactly one type key, the JSON type each
 * type key requires, numbers valid (and rewritten canonical), B and BS base64, NULL true,
 * sets non-empty and without duplicates (NS compared numerically), nesting at most
 * DDB_MAX_DEPTH. Empty strings and binaries are allowed (keys are the caller's check).
 * av is modified in place (numbers only). Returns 0 or a DDB_ERR_* with err set. */
int ddb_value_validate(json_t *av, char *err, size_t errlen);
/* The same for every value of an item (a JSON object of attribute name -> value). */
int ddb_item_validate(json_t *item, char *err, size_t errlen);

/* Size as DynamoDB counts it toward the 400 KB limit: UTF-8 bytes of strings and names,
 * raw bytes of binaries, numbers per ddb_number_size, 1 for BOOL and NULL, sets the sum
 * of their members, M and L 3 bytes plus, per element, 1 byte + its size (+ its name). */
size_t ddb_value_size(const json_t *av);
size_t ddb_item_size(const json_t *item); /* sum of name bytes + value sizes */

/* Deep equality of two AttributeValues: same type; numbers compared numerically; sets
 * compared as unordered sets; L in order; M by keys. */
int ddb_value_equal(const json_t *a, const json_t *b);

/* Order of two scalar key values of the same type: S by UTF-8 bytes, N numerically, B by
 * bytes. <0, 0, >0. Values of different or non-scalar types compare by type only. */
int ddb_key_cmp(const json_t *a, const json_t *b);

/* Appends a byte string for a scalar key value (S, N or B) whose memcmp order is
 * ddb_key_cmp's: one type byte ('S', 'N' or 'B') then the UTF-8 bytes, the number's
 * ddb_number_encode_key bytes, or the raw binary. Usable as a SQLite BLOB key (ORDER BY on
 * the blob is DynamoDB's order within one type). S and B encodings are not prefix-free:
 * keep the partition and sort keys in separate columns. Returns 0, or -1 if av is not a
 * scalar key type. */
int ddb_key_encode(const json_t *av, buf *out);

/* Decodes strict base64 (padding required, no whitespace, unused bits zero). Appends the
 * bytes to out and returns 0, or returns -1. */
int ddb_base64_decode(const char *s, size_t n, buf *out);

#endif
