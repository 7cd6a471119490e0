#include "services/service_docs.h"

#include "common/alloc.h"
#include "common/clock.h"

#include <stdlib.h>

typedef struct persist_ctx {
    store_op op;
    aws_call *call;
    json_t *reply;
    aws_error on_failure;
    store_doc *docs;
    size_t n;
} persist_ctx;

static void persist_done(store_op *op)
{
    persist_ctx *c = op->ctx;
    if (c->call) {
        if (op->status != 0)
            aws_reply_error(c->call, c->on_failure, "The store could not commit the change.");
        else
            aws_reply(c->call, c->reply ? c->reply : json_object());
        c->reply = NULL;
    }
    json_decref(c->reply);
    for (size_t i = 0; i < c->n; i++) {
        xfree((char *)c->docs[i].ns);
        xfree((char *)c->docs[i].key);
        xfree((char *)c->docs[i].doc);
    }
    xfree(c->docs);
    xfree(c);
}

void service_persist_docs(store *st, aws_call *call, json_t *reply, aws_error on_failure,
                          const store_doc *docs, size_t n)
{
    persist_ctx *c = xcalloc(1, sizeof *c);
    c->call = call;
    c->reply = reply;
    c->on_failure = on_failure;
    c->docs = xcalloc(n ? n : 1, sizeof *c->docs);
    c->n = n;
    for (size_t i = 0; i < n; i++)
        c->docs[i] = (store_doc){xstrdup(docs[i].ns), xstrdup(docs[i].key),
                                 docs[i].doc ? xstrdup(docs[i].doc) : NULL};
    c->op.kind = STORE_DOC_PUT;
    c->op.now_ms = clock_now_ms();
    c->op.done = persist_done;
    c->op.ctx = c;
    c->op.u.docs.docs = c->docs;
    c->op.u.docs.n = n;
    store_submit(st, &c->op);
}

void service_persist_doc(store *st, aws_call *call, json_t *reply, aws_error on_failure,
                         const char *ns, const char *key, const json_t *doc)
{
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    store_doc d = {ns, key, text};
    service_persist_docs(st, call, reply, on_failure, &d, 1);
    free(text);
}
