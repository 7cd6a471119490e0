/* AWS Query protocol input: a decoded form -> the operation's input as JSON, following the
 * model (flattened lists `Name.N`, maps `Name.N.Key/Value`, nested structures
 * `Entry.N.Member`, numbers and booleans typed as the JSON protocol types them, blobs left
 * base64). Keys that the model does not know are ignored, as AWS ignores them. */
#ifndef SLUICE_PROTOCOL_QUERY_H
#define SLUICE_PROTOCOL_QUERY_H

#include "protocol/form.h"
#include "protocol/model.h"

#include <jansson.h>

/* Returns a new JSON object (caller owns it), or NULL with a message in err (a value that
 * does not parse as its type, a list index that is not a positive integer, ...). */
json_t *query_to_json(const form *f, const model_shape *input, char *err, size_t errlen);

#endif
