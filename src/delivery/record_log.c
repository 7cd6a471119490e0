/* Serving a record log: see record_log.h. */
#include "delivery/record_log.h"

#include "common/alloc.h"
#include "common/buf.h"
#include "common/clock.h"
#include "protocol/form.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

typedef struct log_read {
    store_op op;
    http_request *req;
    const char *key;
} log_read;

static void log_read_done(store_op *op)
{
    log_read *r = op->ctx;
    buf b = BUF_INIT;
    http_header h[] = {{"Content-Type", "application/json"}};
    if (op->status != 0) {
        buf_puts(&b, "{\"message\":\"The log could not be read.\"}");
        http_respond(r->req, 500, h, 1, &b);
    } else {
        json_t *list = json_array();
        int64_t next = op->u.archive.after_seq;
        for (size_t i = 0; i < op->u.archive.n; i++) {
            store_archived *e = &op->u.archive.items[i];
            json_t *rec = json_loadb(e->event, e->len, 0, NULL);
            if (rec) {
                json_object_set_new(rec, "Seq", json_integer(e->seq));
                json_array_append_new(list, rec);
            }
            next = e->seq;
        }
        json_t *out = json_pack("{s:o, s:I}", r->key, list, "next", (json_int_t)next);
        char *text = json_dumps(out, JSON_COMPACT);
        json_decref(out);
        buf_puts(&b, text ? text : "{}");
        free(text);
        http_respond(r->req, 200, h, 1, &b);
    }
    store_op_clear(op);
    xfree(r);
}

void record_log_serve(http_request *req, store *st, const char *archive, const char *key)
{
    form q;
    long long after = 0, limit = RECORD_LOG_PAGE_MAX;
    if (form_parse(&q, req->query, strlen(req->query), 16) == 0) {
        const form_pair *p = form_get(&q, "after");
        if (p)
            after = strtoll(p->value, NULL, 10);
        p = form_get(&q, "limit");
        if (p)
            limit = strtoll(p->value, NULL, 10);
        form_free(&q);
    }
    if (limit < 1 || limit > RECORD_LOG_PAGE_MAX)
        limit = RECORD_LOG_PAGE_MAX;
    log_read *r = xcalloc(1, sizeof *r);
    r->req = req;
    r->key = key;
    r->op.kind = STORE_ARCHIVE_READ;
    r->op.now_ms = clock_now_ms();
    r->op.done = log_read_done;
    r->op.ctx = r;
    r->op.u.archive.archive = archive;
    r->op.u.archive.from_ms = 0;
    r->op.u.archive.to_ms = INT64_MAX;
    r->op.u.archive.after_seq = after < 0 ? 0 : after;
    r->op.u.archive.max = (int)limit;
    store_submit(st, &r->op);
}
