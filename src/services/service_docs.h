/* Persisting a service's control-plane documents (store_doc) and answering the call that
 * changed them once they are durable. Shared by the services that keep their resources as
 * documents (EventBridge, SNS). */
#ifndef SLUICE_SERVICE_DOCS_H
#define SLUICE_SERVICE_DOCS_H

#include "protocol/aws.h"
#include "store/store.h"

#include <jansson.h>

/* Writes docs (copied; a NULL doc deletes) in one op; then replies `reply` (taken; NULL: an
 * empty result) to call, or `on_failure` if the commit failed. call may be NULL. */
void service_persist_docs(store *st, aws_call *call, json_t *reply, aws_error on_failure,
                          const store_doc *docs, size_t n);
/* The same for one JSON document (borrowed; NULL deletes). */
void service_persist_doc(store *st, aws_call *call, json_t *reply, aws_error on_failure,
                         const char *ns, const char *key, const json_t *doc);

#endif
