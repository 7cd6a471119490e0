/* Step Functions executions in the store, and which of them are in memory.
 *
 * Only executions with something to do soon are in memory ("hot"). The others — ended ones,
 * and running ones parked in a Wait, a retry delay or a task-token wait that is not due
 * soon — live only in the store, so a million waiting executions cost storage, not RAM.
 * They are rows of three key-value tables of the store's own (negative ids, which DynamoDB
 * tables never have):
 *   SFN_T_EXEC  execution ARN -> its document (branches' and iterations' too);
 *   SFN_T_LIST  (state machine ARN, newest first) -> an execution's summary (ListExecutions);
 *   SFN_T_WAKE  (due time, ARN) -> "due ARN": each running execution that needs the
 *               interpreter at a time without an outside call: 0 for "at once" (a state to
 *               run, a call in flight, branches running), a Wait's or a retry's end, a task's
 *               deadline, the execution's timeout. A task-token wait without deadline has
 *               no row: its SendTask* call (or StopExecution) loads it. A running branch
 *               (child execution) is always due at once: it is kept in memory while it runs.
 * (Map Runs have two tables of their own, SFN_T_MAPRUN and SFN_T_MAPRUN_LIST: sfn_map_run.c.)
 * A step writes these rows in the commit of its events (sfn_row_new), so after a crash the
 * WAKE table says what to load: at startup every row due by now, before any execution
 * runs; then rows as they come due (the loader), at most HOT_MAX executions in memory.
 * A call about an execution that is not in memory loads it first (sfn_exec_get); it is
 * evicted again once idle (sfn_exec_maybe_free). A call that comes during startup waits for
 * its end: until then an execution's branches may still be in the store.
 *
 * Definitions are stored once each (documents "sfn.definition" keyed by the SHA-256 of the
 * text); an execution's document names its definition ("definitionId"). */
#include "services/stepfunctions/sfn_run.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "common/hex.h"
#include "common/log.h"
#include "protocol/json_codec.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SFN_T_EXEC          (-1001)
#define SFN_T_LIST          (-1002)
#define SFN_T_WAKE          (-1003)
#define NS_DEFINITION       "sfn.definition"
#define NS_LEGACY_EXECUTION "sfn.execution" /* where documents were before (migrated) */

/* An execution due within this is loaded (or kept) in memory; later ones are evicted. */
#define HOT_HORIZON_MS 2000
/* The loader stops loading due executions while this many are in memory (unless set). */
#define HOT_MAX   20000
#define LOAD_PAGE 256

static const unsigned char wake_pk[] = "w";

static void be64(unsigned char out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        out[i] = (unsigned char)(v & 0xff);
}

/* (8-byte big-endian number, text) as a key: malloc'd, length into *len. */
static unsigned char *num_key(uint64_t n, const char *text, size_t *len)
{
    size_t tl = strlen(text);
    unsigned char *k = xmalloc(8 + tl);
    be64(k, n);
    memcpy(k + 8, text, tl);
    *len = 8 + tl;
    return k;
}

/* ---- definitions --------------------------------------------------------------------- */

/* s->definitions: id -> [text, parsed (null until needed), persisted] */

void sfn_definition_restore(const char *key, const char *doc, void *arg)
{
    sfn *s = arg;
    json_object_set_new(s->definitions, key, json_pack("[s,n,b]", doc, 1));
}

static void definition_id(const char *text, char id[65])
{
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(text, strlen(text), md, &n, EVP_sha256(), NULL);
    hex_encode(md, 32, id);
}

static json_t *entry_parsed(json_t *entry)
{
    if (!entry)
        return NULL;
    json_t *p = json_array_get(entry, 1);
    if (json_is_null(p)) {
        p = json_loads(json_string_value(json_array_get(entry, 0)), 0, NULL);
        if (!p)
            return NULL;
        json_array_set_new(entry, 1, p);
    }
    return json_incref(p);
}

json_t *sfn_definition_use(sfn *s, const char *text, char id[65])
{
    definition_id(text, id);
    json_t *entry = json_object_get(s->definitions, id);
    if (!entry) {
        entry = json_pack("[s,n,b]", text, 0);
        json_object_set_new(s->definitions, id, entry);
    }
    return entry_parsed(entry);
}

json_t *sfn_definition_parsed(sfn *s, const char *id)
{
    return entry_parsed(id ? json_object_get(s->definitions, id) : NULL);
}

const char *sfn_definition_text(const sfn *s, const char *id)
{
    return json_string_value(json_array_get(id ? json_object_get(s->definitions, id) : NULL, 0));
}

/* The definition of doc must be written with it (not yet in the store): its text, else NULL. */
static const char *definition_unsaved(const sfn *s, const json_t *doc)
{
    json_t *entry = json_object_get(s->definitions, sfn_doc_str(doc, "definitionId") ?: "");
    return entry && !json_is_true(json_array_get(entry, 2))
               ? json_string_value(json_array_get(entry, 0))
               : NULL;
}

void sfn_definitions_saved(sfn *s, const json_t *ids)
{
    size_t i;
    json_t *id;
    json_array_foreach(ids, i, id)
    {
        json_t *entry = json_object_get(s->definitions, json_string_value(id));
        if (entry)
            json_array_set_new(entry, 2, json_true());
    }
}

/* ---- the rows of a commit ------------------------------------------------------------ */

/* When the execution doc needs the interpreter without an outside call: 0 (at once), a
 * time, or -1 (never: it ended, or waits for a task token without deadline). */
static int64_t row_due(const json_t *doc)
{
    if (!doc || strcmp(sfn_doc_str(doc, "status") ?: "", "RUNNING") != 0)
        return -1;
    /* a branch is kept in memory while it runs, after a restart too: its parent's stop,
     * timeout or failure must find it there to abort it */
    if (json_object_get(doc, "parent"))
        return 0;
    json_t *cursor = json_object_get(doc, "cursor");
    const char *phase = sfn_doc_str(cursor, "phase") ?: "";
    int64_t due = 0;
    if (strcmp(phase, "wait") == 0 || strcmp(phase, "retry") == 0)
        due = sfn_doc_int(cursor, "wakeMs");
    else if (strcmp(phase, "token") == 0)
        due = sfn_task_deadline(cursor) ? sfn_task_deadline(cursor) : -1;
    int64_t timeout = sfn_doc_int(doc, "timeoutMs");
    if (timeout > 0 && (due < 0 || timeout < due))
        due = timeout;
    return due;
}

static void side_add(sfn_row *r, int64_t table, unsigned char *pk, size_t pk_len, unsigned char *sk,
                     size_t sk_len, char *item)
{
    r->sides = xrealloc(r->sides, (r->nsides + 1) * sizeof *r->sides);
    size_t len = item ? strlen(item) : 0;
    r->sides[r->nsides++] = (store_kv_side){
        .key = {table, pk, pk_len, sk, sk_len}, .item = item, .len = len, .size = (int64_t)len};
}

static void wake_side(sfn_row *r, int64_t due, const char *arn, bool put)
{
    size_t sk_len;
    unsigned char *sk = num_key((uint64_t)due, arn, &sk_len);
    unsigned char *pk = xmalloc(1);
    pk[0] = wake_pk[0];
    char *item = NULL;
    if (put) {
        size_t n = strlen(arn) + 24;
        item = xmalloc(n);
        snprintf(item, n, "%lld %s", (long long)due, arn);
    }
    side_add(r, SFN_T_WAKE, pk, 1, sk, sk_len, item);
}

/* Moves the execution's WAKE row to where doc (NULL: gone) says; mem is the document in
 * memory, which remembers the row ("wakeRow"). */
static void wake_rows(sfn_row *r, json_t *doc, json_t *mem, const char *arn)
{
    json_t *had = json_object_get(mem ? mem : doc, "wakeRow");
    int64_t was = had ? json_integer_value(had) : -1, due = row_due(doc);
    if (was == due)
        return;
    if (was >= 0)
        wake_side(r, was, arn, false);
    if (due >= 0)
        wake_side(r, due, arn, true);
    json_t *targets[] = {doc, mem};
    for (int i = 0; i < 2; i++) {
        if (!targets[i])
            continue;
        if (due >= 0)
            json_object_set_new(targets[i], "wakeRow", json_integer(due));
        else
            json_object_del(targets[i], "wakeRow");
    }
}

static unsigned char *list_sk(const json_t *doc, size_t *len)
{
    return num_key((uint64_t)(INT64_MAX - sfn_doc_int(doc, "startDate")),
                   sfn_doc_str(doc, "executionArn"), len);
}

/* A root execution's status changed (or it started): its ListExecutions row. */
static void list_row(sfn_row *r, json_t *doc, json_t *mem)
{
    if (!doc || json_object_get(doc, "parent"))
        return;
    const char *status = sfn_doc_str(doc, "status");
    const char *listed = sfn_doc_str(mem ? mem : doc, "listedStatus");
    if (listed && strcmp(listed, status) == 0)
        return;
    json_t *summary = json_object();
    const char *fields[] = {"executionArn",
                            "stateMachineArn",
                            "name",
                            "status",
                            "startDate",
                            "stopDate",
                            "stateMachineVersionArn",
                            "stateMachineAliasArn",
                            "redriveCount",
                            "redriveDate"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (json_object_get(doc, fields[i]))
            json_object_set(summary, fields[i], json_object_get(doc, fields[i]));
    buf text = BUF_INIT;
    jsonc_dump(&text, summary);
    char *item = buf_steal(&text, NULL);
    json_decref(summary);
    size_t sk_len;
    unsigned char *sk = list_sk(doc, &sk_len);
    const char *machine = sfn_doc_str(doc, "stateMachineArn");
    side_add(r, SFN_T_LIST, (unsigned char *)xstrdup(machine), strlen(machine), sk, sk_len, item);
    json_object_set_new(doc, "listedStatus", json_string(status));
    if (mem && mem != doc)
        json_object_set_new(mem, "listedStatus", json_string(status));
}

static int row_write(void *arg, const char *old, size_t old_len, store_kv_write *out)
{
    (void)old;
    (void)old_len;
    sfn_row *r = arg;
    out->sides = r->sides;
    out->nsides = r->nsides;
    r->sides = NULL;
    r->nsides = 0;
    if (!r->item)
        return STORE_KV_DELETE;
    out->item = r->item;
    out->len = r->len;
    out->size = (int64_t)r->len;
    r->item = NULL;
    return STORE_KV_PUT;
}

sfn_row *sfn_row_new(const char *arn, json_t *doc, json_t *mem)
{
    sfn_row *r = xcalloc(1, sizeof *r);
    r->key = xstrdup(arn);
    wake_rows(r, doc, mem, arn);
    list_row(r, doc, mem);
    if (doc) {
        buf b = BUF_INIT;
        jsonc_dump(&b, doc);
        r->item = buf_steal(&b, &r->len);
    }
    r->op.kind = STORE_KV_MUTATE;
    r->op.u.kv_mutate.key =
        (store_kv_key){SFN_T_EXEC, (const unsigned char *)r->key, strlen(r->key), NULL, 0};
    r->op.u.kv_mutate.fn = row_write;
    r->op.u.kv_mutate.arg = r;
    return r;
}

void sfn_row_free(sfn_row *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nsides; i++) {
        xfree((void *)r->sides[i].key.pk);
        xfree((void *)r->sides[i].key.sk);
        xfree(r->sides[i].item);
    }
    xfree(r->sides);
    xfree(r->item);
    xfree(r->key);
    xfree(r);
}

void sfn_commit_definitions(sfn_transition *t, const json_t *doc)
{
    const char *text = doc ? definition_unsaved(t->s, doc) : NULL;
    if (!text)
        return;
    const char *id = sfn_doc_str(doc, "definitionId");
    size_t i;
    json_t *seen;
    json_array_foreach(t->definition_ids, i,
                       seen) if (strcmp(json_string_value(seen), id) == 0) return;
    json_array_append_new(t->definition_ids, json_string(id));
    t->def_docs = xrealloc(t->def_docs, json_array_size(t->definition_ids) * sizeof *t->def_docs);
    t->def_docs[json_array_size(t->definition_ids) - 1] =
        (store_doc){.ns = NS_DEFINITION, .key = xstrdup(id), .doc = xstrdup(text)};
}

/* ---- loading an execution ------------------------------------------------------------ */

typedef struct exec_load {
    store_op op;
    store_kv_key *keys;
    char **arns;
    size_t n;
    sfn *s;
    sfn_load_fn done; /* one execution's load (n == 1) */
    void *arg;
    json_t *dues; /* the loader's: each key's WAKE row time */
    bool more;    /* the loader's: its page was full, read on */
} exec_load;

static void load_free(exec_load *l)
{
    store_op_clear(&l->op);
    for (size_t i = 0; i < l->n; i++)
        xfree(l->arns[i]);
    xfree(l->arns);
    xfree(l->keys);
    xfree(l);
}

static exec_load *load_new(sfn *s, size_t n)
{
    exec_load *l = xcalloc(1, sizeof *l);
    l->s = s;
    l->keys = xcalloc(n ? n : 1, sizeof *l->keys);
    l->arns = xcalloc(n ? n : 1, sizeof *l->arns);
    return l;
}

static void load_add(exec_load *l, const char *arn)
{
    l->arns[l->n] = xstrdup(arn);
    l->keys[l->n] = (store_kv_key){SFN_T_EXEC, (const unsigned char *)l->arns[l->n],
                                   strlen(l->arns[l->n]), NULL, 0};
    l->n++;
}

static void load_submit(exec_load *l, store_done_fn done)
{
    l->op.kind = STORE_KV_GET;
    l->op.u.kv_get.keys = l->keys;
    l->op.u.kv_get.n = l->n;
    l->op.done = done;
    l->op.ctx = l;
    l->op.now_ms = clock_now_ms();
    store_submit(l->s->store, &l->op);
}

/* The i-th document a load read, linked into memory (or the one already there); NULL if
 * there is none. */
static sfn_exec *load_link(exec_load *l, size_t i)
{
    sfn *s = l->s;
    sfn_exec *ex = sfn_exec_find(s, l->arns[i]);
    if (ex || l->op.status != 0 || !l->op.u.kv_get.items[i].item)
        return ex;
    char err[128];
    json_t *doc =
        jsonc_parse(l->op.u.kv_get.items[i].item, l->op.u.kv_get.items[i].len, err, sizeof err);
    if (!json_is_object(doc) || !sfn_doc_str(doc, "executionArn")) {
        json_decref(doc);
        return NULL;
    }
    ex = sfn_exec_link(s, doc);
    if (!s->starting)
        sfn_exec_resume(s, ex, clock_now_ms());
    return ex;
}

static void one_loaded(store_op *op)
{
    exec_load *l = op->ctx;
    sfn *s = l->s;
    sfn_exec *ex = s->stopping ? NULL : load_link(l, 0);
    if (op->status != 0)
        log_error("stepfunctions: an execution could not be read", "execution='%s'", l->arns[0]);
    l->done(s, ex, op->status, l->arg);
    load_free(l);
}

void sfn_exec_load(sfn *s, const char *arn, sfn_load_fn done, void *arg)
{
    exec_load *l = load_new(s, 1);
    load_add(l, arn);
    l->done = done;
    l->arg = arg;
    load_submit(l, one_loaded);
}

/* A call about an execution that must be loaded first (or wait for the end of startup): it
 * runs again once loaded. */
typedef struct call_wait {
    aws_call *call;
    aws_op_fn again;
    struct call_wait *next; /* s->startup_calls */
} call_wait;

/* Startup is done (or the server stops during it): the calls that waited run, in order. */
static void startup_calls_run(sfn *s)
{
    call_wait *list = s->startup_calls, *in_order = NULL;
    s->startup_calls = NULL;
    while (list) {
        call_wait *next = list->next;
        list->next = in_order;
        in_order = list;
        list = next;
    }
    while (in_order) {
        call_wait *w = in_order;
        in_order = w->next;
        aws_call *call = w->call;
        aws_op_fn again = w->again;
        xfree(w);
        if (s->stopping)
            aws_reply_error(call, AWS_ERR_SERVICE_UNAVAILABLE, "The server is stopping.");
        else
            again(call);
    }
}

static char fetch_missed; /* call->state: the store has no such execution */

static void call_loaded(sfn *s, sfn_exec *ex, int status, void *arg)
{
    call_wait *w = arg;
    aws_call *call = w->call;
    aws_op_fn again = w->again;
    xfree(w);
    if (s->stopping || status != 0) {
        aws_reply_error(call, s->stopping ? AWS_ERR_SERVICE_UNAVAILABLE : AWS_ERR_INTERNAL_ERROR,
                        s->stopping ? "The server is stopping." : "The store could not be read.");
        return;
    }
    if (!ex)
        call->state = &fetch_missed;
    again(call);
}

sfn_exec *sfn_exec_get(aws_call *call, const char *arn, aws_op_fn again, bool *pending)
{
    sfn *s = sfn_of(call);
    if (s->starting) { /* the execution's branches may not be in memory yet: after startup */
        call_wait *w = xcalloc(1, sizeof *w);
        *w = (call_wait){call, again, s->startup_calls};
        s->startup_calls = w;
        *pending = true;
        return NULL;
    }
    sfn_exec *ex = sfn_exec_find(s, arn);
    *pending = false;
    if (ex || call->state == &fetch_missed)
        return ex;
    call_wait *w = xcalloc(1, sizeof *w);
    *w = (call_wait){call, again, NULL};
    *pending = true;
    sfn_exec_load(s, arn, call_loaded, w);
    return NULL;
}

/* ---- eviction ------------------------------------------------------------------------ */

void sfn_exec_maybe_free(sfn *s, sfn_exec *ex)
{
    if (ex->test) { /* a TestState's execution: its call frees it */
        sfn_test_release(s, ex);
        return;
    }
    if (ex->inflight || ex->committing || ex->parked || ex->sync_call || ex->invoking ||
        s->stopping)
        return;
    bool running = sfn_exec_running(ex);
    if (sfn_is_child(ex) || sfn_exec_ephemeral(ex)) { /* kept while it runs */
        if (!running)
            sfn_exec_unlink(s, ex);
        return;
    }
    if (!running) { /* it ended: it lives in the store */
        sfn_exec_unlink(s, ex);
        return;
    }
    json_t *row = json_object_get(ex->doc, "wakeRow");
    const char *phase = sfn_doc_str(json_object_get(ex->doc, "cursor"), "phase") ?: "";
    bool parked =
        strcmp(phase, "wait") == 0 || strcmp(phase, "retry") == 0 || strcmp(phase, "token") == 0;
    int64_t due = row ? json_integer_value(row) : -1;
    if (!parked || (due >= 0 && due <= clock_now_ms() + HOT_HORIZON_MS))
        return;
    if (due >= 0 && (!s->cold_due || due < s->cold_due)) {
        s->cold_due = due;
        sfn_timer_wake_by(s, sfn_loader_due(s));
    }
    sfn_exec_unlink(s, ex);
}

/* ---- the loader: executions as they come due ---------------------------------------- */

typedef struct wake_read {
    store_op op;
    sfn *s;
    unsigned char *start_sk; /* resume after this WAKE key (NULL: from the first) */
    size_t start_sk_len;
} wake_read;

static void loader_pass(sfn *s);
static void loader_read(sfn *s);

/* The rows read named executions that are gone, ended or due at another time: their rows
 * go (one op of side rows only). */
typedef struct orphans {
    sfn_row *row;
} orphans;

static void orphans_done(store_op *op)
{
    orphans *o = op->ctx;
    sfn_row_free(o->row);
    xfree(o);
}

static void orphans_delete(sfn *s, json_t *list)
{
    if (!json_array_size(list))
        return;
    orphans *o = xcalloc(1, sizeof *o);
    o->row = sfn_row_new("", NULL, NULL); /* deletes no execution: only its sides count */
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        wake_side(o->row, json_integer_value(json_array_get(v, 0)),
                  json_string_value(json_array_get(v, 1)), false);
    }
    o->row->op.done = orphans_done;
    o->row->op.ctx = o;
    o->row->op.now_ms = clock_now_ms();
    store_submit(s->store, &o->row->op);
}

static void startup_done(sfn *s)
{
    s->starting = false;
    sfn_exec_resume_all(s);
    startup_calls_run(s);
}

static void loader_read(sfn *s);

static void batch_loaded(store_op *op)
{
    exec_load *l = op->ctx;
    sfn *s = l->s;
    json_t *stale = json_array();
    for (size_t i = 0; !s->stopping && i < l->n; i++) {
        sfn_exec *ex = load_link(l, i);
        json_t *row = ex ? json_object_get(ex->doc, "wakeRow") : NULL;
        json_t *due = json_array_get(l->dues, i);
        if (op->status == 0 && (!ex || !sfn_exec_running(ex) || !row ||
                                json_integer_value(row) != json_integer_value(due)))
            json_array_append_new(stale, json_pack("[O,s]", due, l->arns[i]));
        if (ex && !sfn_exec_running(ex))
            sfn_exec_maybe_free(s, ex);
    }
    if (!s->stopping)
        orphans_delete(s, stale);
    json_decref(stale);
    json_decref(l->dues);
    bool more = l->more;
    load_free(l);
    if (s->stopping) {
        startup_calls_run(s); /* (answered: the server stops) */
        return;
    }
    s->loading = false;
    if (more) {
        s->loading = true;
        loader_read(s);
        return;
    }
    if (s->starting)
        startup_done(s);
    sfn_timer_rearm(s);
}

static void wake_read_done(store_op *op)
{
    wake_read *w = op->ctx;
    sfn *s = w->s;
    if (s->stopping) {
        store_op_clear(op);
        xfree(w->start_sk);
        xfree(w);
        startup_calls_run(s); /* (answered: the server stops) */
        return;
    }
    size_t n = op->status == 0 ? op->u.kv_range.n : 0;
    int64_t now = clock_now_ms(), horizon = now + HOT_HORIZON_MS;
    exec_load *l = load_new(s, n);
    json_t *dues = json_array();
    bool stopped = false;
    for (size_t i = 0; i < n; i++) {
        const char *item = op->u.kv_range.items[i].item;
        char *end = NULL;
        long long due = strtoll(item, &end, 10);
        const char *arn = end && *end == ' ' ? end + 1 : "";
        /* rows due at once (executions busy at a crash, every running branch) all load at
         * startup, before any runs; the others (parked root executions) only up to the cap,
         * at startup too: a million Waits that ended while the server was down come in as
         * memory allows */
        bool capped = due > 0 && s->nhot + l->n >= (s->hot_max ? s->hot_max : HOT_MAX);
        if (due > horizon || capped) {
            /* look again then (the timer fires HOT_HORIZON_MS before cold_due) */
            int64_t again = capped ? now + 100 + HOT_HORIZON_MS : due;
            if (!s->cold_due || again < s->cold_due)
                s->cold_due = again;
            stopped = true;
            break;
        }
        xfree(s->load_after);
        s->load_after = num_key((uint64_t)due, arn, &s->load_after_len);
        if (sfn_exec_find(s, arn))
            continue;
        load_add(l, arn);
        json_array_append_new(dues, json_integer(due));
    }
    bool full = op->status == 0 && n == LOAD_PAGE && !stopped;
    if (op->status != 0) {
        log_error("stepfunctions: the executions due could not be read", "status=%d", op->status);
        s->cold_due = now + 1000; /* and try again */
    }
    store_op_clear(op);
    xfree(w->start_sk);
    xfree(w);
    l->dues = dues;
    l->more = full;
    load_submit(l, batch_loaded);
}

/* Reads the next page of WAKE rows after s->load_after. */
static void loader_read(sfn *s)
{
    wake_read *w = xcalloc(1, sizeof *w);
    w->s = s;
    store_op *op = &w->op;
    op->kind = STORE_KV_RANGE;
    op->u.kv_range.table = SFN_T_WAKE;
    op->u.kv_range.pk = wake_pk;
    op->u.kv_range.pk_len = 1;
    op->u.kv_range.forward = 1;
    op->u.kv_range.max_items = LOAD_PAGE;
    op->u.kv_range.max_bytes = INT64_MAX;
    if (s->load_after) {
        w->start_sk = xmalloc(s->load_after_len);
        memcpy(w->start_sk, s->load_after, s->load_after_len);
        w->start_sk_len = s->load_after_len;
        op->u.kv_range.start_pk = wake_pk;
        op->u.kv_range.start_pk_len = 1;
        op->u.kv_range.start_sk = w->start_sk;
        op->u.kv_range.start_sk_len = w->start_sk_len;
    }
    op->done = wake_read_done;
    op->ctx = w;
    op->now_ms = clock_now_ms();
    store_submit(s->store, op);
}

/* A pass of the loader: every row due within the horizon, page after page. Executions
 * evicted meanwhile lower s->cold_due; the pass raises it to the first row it leaves. */
static void loader_pass(sfn *s)
{
    if (s->loading || s->stopping)
        return;
    s->loading = true;
    s->cold_due = 0;
    loader_read(s);
}

void sfn_loader_tick(sfn *s, int64_t now)
{
    if (s->cold_due && s->cold_due <= now + HOT_HORIZON_MS)
        loader_pass(s);
}

int64_t sfn_loader_due(const sfn *s)
{
    return s->cold_due ? (s->cold_due > HOT_HORIZON_MS ? s->cold_due - HOT_HORIZON_MS : 1) : 0;
}

/* ---- startup ------------------------------------------------------------------------- */

/* A document of the former layout ("sfn.execution" documents holding their definition's
 * text): moved to the tables at startup. */
void sfn_exec_restore(const char *key, const char *doc, void *arg)
{
    sfn *s = arg;
    json_t *d = json_loads(doc, 0, NULL);
    if (!json_is_object(d) || !sfn_doc_str(d, "executionArn")) {
        json_decref(d);
        d = json_null();
    }
    if (!s->legacy)
        s->legacy = json_object();
    json_object_set_new(s->legacy, key, d);
}

typedef struct migration {
    store_op group, docs_op;
    store_op **children;
    sfn_row **rows;
    size_t nrows;
    store_doc *docs;
    size_t ndocs;
    sfn *s;
} migration;

static void migration_done(store_op *op)
{
    migration *m = op->ctx;
    if (op->status != 0)
        log_error("stepfunctions: executions could not be moved to their tables", "status=%d",
                  op->status);
    else
        log_info("stepfunctions: executions moved to their tables", "executions=%zu", m->nrows);
    for (size_t i = 0; i < m->nrows; i++)
        sfn_row_free(m->rows[i]);
    for (size_t i = 0; i < m->ndocs; i++) {
        xfree((char *)m->docs[i].key);
        xfree((char *)m->docs[i].doc);
    }
    xfree(m->rows);
    xfree(m->docs);
    xfree(m->children);
    xfree(m);
}

/* One group: every former document as rows, its definition stored once, the former
 * documents deleted. Submitted before the loader's first read, which sees its rows. */
static void migrate(sfn *s)
{
    size_t n = json_object_size(s->legacy);
    migration *m = xcalloc(1, sizeof *m);
    m->s = s;
    m->rows = xcalloc(n, sizeof *m->rows);
    m->docs = xcalloc(2 * n, sizeof *m->docs);
    m->children = xcalloc(n + 1, sizeof *m->children);
    const char *key;
    json_t *d;
    json_object_foreach(s->legacy, key, d)
    {
        m->docs[m->ndocs++] = (store_doc){.ns = NS_LEGACY_EXECUTION, .key = xstrdup(key)};
        if (!json_is_object(d))
            continue;
        char *text = xstrdup(sfn_doc_str(d, "definition") ?: "{}");
        char id[65];
        json_decref(sfn_definition_use(s, text, id));
        json_object_del(d, "definition");
        json_object_set_new(d, "definitionId", json_string(id));
        json_t *entry = json_object_get(s->definitions, id);
        if (!json_is_true(json_array_get(entry, 2))) {
            m->docs[m->ndocs++] = (store_doc){.ns = NS_DEFINITION, .key = xstrdup(id), .doc = text};
            text = NULL;
            json_array_set_new(entry, 2, json_true());
        }
        xfree(text);
        sfn_row *r = sfn_row_new(sfn_doc_str(d, "executionArn"), d, d);
        m->rows[m->nrows] = r;
        m->children[m->nrows++] = &r->op;
    }
    m->docs_op.kind = STORE_DOC_PUT;
    m->docs_op.u.docs.docs = m->docs;
    m->docs_op.u.docs.n = m->ndocs;
    m->children[m->nrows] = &m->docs_op;
    m->group.kind = STORE_GROUP;
    m->group.u.group.ops = m->children;
    m->group.u.group.n = m->nrows + 1;
    m->group.done = migration_done;
    m->group.ctx = m;
    m->group.now_ms = clock_now_ms();
    store_submit(s->store, &m->group);
}

void sfn_set_max_in_memory(sfn *s, size_t n)
{
    s->hot_max = n;
}

int sfn_store_open(sfn *s)
{
    if (store_load_docs(s->store, NS_DEFINITION, sfn_definition_restore, s) != 0 ||
        store_load_docs(s->store, NS_LEGACY_EXECUTION, sfn_exec_restore, s) != 0)
        return -1;
    if (s->legacy) {
        migrate(s);
        json_decref(s->legacy);
        s->legacy = NULL;
    }
    s->starting = true;
    loader_pass(s);
    return 0;
}

void sfn_store_close(sfn *s)
{
    xfree(s->load_after);
    s->load_after = NULL;
}

/* ---- ListExecutions ------------------------------------------------------------------ */

typedef struct list_read {
    store_op op;
    aws_call *call;
    char *machine; /* the base state machine ARN (the partition) */
    char *through; /* "stateMachineVersionArn" / "stateMachineAliasArn", or NULL */
    char *through_arn;
    const char *filter;
    json_int_t max;
    json_t *list;
    unsigned char *after; /* resume after this key */
    size_t after_len;
    unsigned char *last_listed; /* the key of the last item listed */
    size_t last_listed_len;
} list_read;

static void list_free(list_read *r)
{
    json_decref(r->list);
    xfree(r->machine);
    xfree(r->through);
    xfree(r->through_arn);
    xfree(r->after);
    xfree(r->last_listed);
    xfree(r);
}

static void list_submit(list_read *r);

/* Whether a token's key (8 bytes, then an execution ARN) names an execution of machine: a
 * token of another listing is not used as a place in this one. */
static bool token_of_machine(const unsigned char *key, size_t len, const char *machine)
{
    const char *kind = strstr(machine, ":stateMachine:");
    if (!kind || len <= 8)
        return false;
    char prefix[700];
    int n = snprintf(prefix, sizeof prefix, "%.*s:execution:%s:", (int)(kind - machine), machine,
                     kind + strlen(":stateMachine:"));
    return n > 0 && (size_t)n < sizeof prefix && len - 8 > (size_t)n &&
           memcmp(key + 8, prefix, (size_t)n) == 0;
}

static json_t *list_item(json_t *summary)
{
    json_t *item =
        json_pack("{s:O,s:O,s:O,s:O,s:o}", "executionArn", json_object_get(summary, "executionArn"),
                  "stateMachineArn", json_object_get(summary, "stateMachineArn"), "name",
                  json_object_get(summary, "name"), "status", json_object_get(summary, "status"),
                  "startDate", sfn_time_json(sfn_doc_int(summary, "startDate")));
    if (json_object_get(summary, "stopDate"))
        json_object_set_new(item, "stopDate", sfn_time_json(sfn_doc_int(summary, "stopDate")));
    const char *copy[] = {"stateMachineVersionArn", "stateMachineAliasArn", "redriveCount"};
    for (size_t i = 0; i < sizeof copy / sizeof copy[0]; i++)
        if (json_object_get(summary, copy[i]))
            json_object_set(item, copy[i], json_object_get(summary, copy[i]));
    if (json_object_get(summary, "redriveDate"))
        json_object_set_new(item, "redriveDate",
                            sfn_time_json(sfn_doc_int(summary, "redriveDate")));
    return item;
}

static void list_read_done(store_op *op)
{
    list_read *r = op->ctx;
    aws_call *call = r->call;
    if (op->status != 0) {
        aws_reply_error(call, AWS_ERR_INTERNAL_ERROR, "The store could not be read.");
        store_op_clear(op);
        list_free(r);
        return;
    }
    size_t n = op->u.kv_range.n;
    bool more = false;
    for (size_t i = 0; i < n && !more; i++) {
        char err[128];
        json_t *summary =
            jsonc_parse(op->u.kv_range.items[i].item, op->u.kv_range.items[i].len, err, sizeof err);
        size_t key_len;
        unsigned char *key = list_sk(summary, &key_len);
        xfree(r->after);
        r->after = key;
        r->after_len = key_len;
        bool wanted =
            json_is_object(summary) &&
            (!r->filter || strcmp(sfn_doc_str(summary, "status") ?: "", r->filter) == 0) &&
            (!r->through || strcmp(sfn_doc_str(summary, r->through) ?: "", r->through_arn) == 0);
        if (wanted && (json_int_t)json_array_size(r->list) == r->max) {
            more = true; /* one more than a page: there is a next page */
        } else if (wanted) {
            json_array_append_new(r->list, list_item(summary));
            xfree(r->last_listed);
            r->last_listed = xmalloc(key_len);
            memcpy(r->last_listed, key, key_len);
            r->last_listed_len = key_len;
        }
        json_decref(summary);
    }
    bool page_full = n == (size_t)op->u.kv_range.max_items;
    store_op_clear(op);
    if (!more && page_full) { /* read on */
        list_submit(r);
        return;
    }
    json_t *out = json_pack("{s:O}", "executions", r->list);
    if (more) {
        char *next = hex_string(r->last_listed, r->last_listed_len);
        json_object_set_new(out, "nextToken", json_string(next));
        xfree(next);
    }
    aws_reply(call, out);
    list_free(r);
}

static void list_submit(list_read *r)
{
    memset(&r->op, 0, sizeof r->op);
    store_op *op = &r->op;
    op->kind = STORE_KV_RANGE;
    op->u.kv_range.table = SFN_T_LIST;
    op->u.kv_range.pk = (const unsigned char *)r->machine;
    op->u.kv_range.pk_len = strlen(r->machine);
    op->u.kv_range.forward = 1;
    op->u.kv_range.max_items = 1000;
    op->u.kv_range.max_bytes = INT64_MAX;
    if (r->after) {
        op->u.kv_range.start_pk = op->u.kv_range.pk;
        op->u.kv_range.start_pk_len = op->u.kv_range.pk_len;
        op->u.kv_range.start_sk = r->after;
        op->u.kv_range.start_sk_len = r->after_len;
    }
    op->done = list_read_done;
    op->ctx = r;
    op->now_ms = clock_now_ms();
    store_submit(sfn_of(r->call)->store, op);
}

static const char *const statuses[] = {"RUNNING",   "SUCCEEDED", "FAILED",
                                       "TIMED_OUT", "ABORTED",   "PENDING_REDRIVE"};

void sfn_list_executions(aws_call *call)
{
    const char *machine = sfn_str(call, "stateMachineArn");
    if (sfn_str(call, "mapRunArn")) { /* a Map Run's iterations are not kept once they end */
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "Sluice does not list the child executions of a Map Run (mapRunArn): "
                        "use DescribeMapRun for their counts");
        return;
    }
    json_t *target = sfn_machine_target_or_reply(call, machine, false);
    if (!target)
        return;
    if (strcmp(sfn_doc_str(target, "type") ? sfn_doc_str(target, "type") : "", "EXPRESS") == 0) {
        json_decref(target); /* EXPRESS executions are not kept: AWS lists none either */
        aws_reply_error(call, AWS_ERR_SFN_STATE_MACHINE_TYPE_NOT_SUPPORTED,
                        "This operation is not supported by this type of state machine");
        return;
    }
    const char *filter = sfn_str(call, "statusFilter"), *token = sfn_str(call, "nextToken");
    bool known = !filter;
    for (size_t i = 0; filter && i < sizeof statuses / sizeof statuses[0]; i++)
        known = known || strcmp(statuses[i], filter) == 0;
    if (!known) {
        json_decref(target);
        aws_reply_error(call, AWS_ERR_EVENTS_VALIDATION,
                        "1 validation error detected: Value '%s' at 'statusFilter' failed to "
                        "satisfy constraint: Member must satisfy enum value set: [RUNNING, "
                        "SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE]",
                        filter);
        return;
    }
    list_read *r = xcalloc(1, sizeof *r);
    if (token &&
        (!(r->after = hex_decode(token, &r->after_len)) ||
         !token_of_machine(r->after, r->after_len, sfn_doc_str(target, "stateMachineArn")))) {
        json_decref(target);
        xfree(r->after);
        xfree(r);
        aws_reply_error(call, AWS_ERR_SFN_INVALID_TOKEN, "Invalid Token: '%s'", token);
        return;
    }
    r->call = call;
    /* a version's or an alias's ARN lists the executions started through it */
    const char *through = json_object_get(target, "aliasArn")     ? "stateMachineAliasArn"
                          : json_object_get(target, "versionArn") ? "stateMachineVersionArn"
                                                                  : NULL;
    r->through = through ? xstrdup(through) : NULL;
    r->through_arn = through ? xstrdup(machine) : NULL;
    r->machine = xstrdup(sfn_doc_str(target, "stateMachineArn"));
    json_decref(target);
    r->filter = filter;
    r->max = json_integer_value(json_object_get(call->input, "maxResults"));
    if (r->max <= 0 || r->max > 1000)
        r->max = 100;
    r->list = json_array();
    list_submit(r);
}
