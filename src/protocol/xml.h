/* AWS Query protocol output: the operation's JSON output -> the XML response, following
 * the model (element names from locationName, flattened lists and maps, `member` wrapping,
 * `entry`/`key`/`value` maps, blobs base64, booleans `true`/`false`).
 *
 *   <OpResponse xmlns="NS"><OpResult>...</OpResult>
 *     <ResponseMetadata><RequestId>ID</RequestId></ResponseMetadata></OpResponse>
 */
#ifndef SLUICE_PROTOCOL_XML_H
#define SLUICE_PROTOCOL_XML_H

#include "common/buf.h"
#include "protocol/model.h"

#include <jansson.h>

/* Appends text escaped for XML character data and attribute values (& < > " ' and CR);
 * characters XML cannot carry (C0 controls other than tab/LF/CR, U+FFFE/U+FFFF, invalid
 * UTF-8) become U+FFFD, so the document stays well-formed whatever the input. */
void xml_put_text(buf *b, const char *str, size_t n);

/* Appends the whole response document for `op` of `svc` to out. `output` is borrowed and may
 * be NULL (empty result). */
void xml_encode_response(buf *out, const model_service *svc, const model_operation *op,
                         const json_t *output, const char *request_id);

#endif
