/* The commit pipeline: group commit on a dedicated thread.
 *
 * The loop thread collects the ops its callbacks submit during one loop iteration in a
 * local list and, in a prepare callback (which runs before the loop blocks for I/O), moves
 * them all to `incoming` (under `lock`) with one signal. The batch a commit takes is thus
 * every request parsed from every socket that was ready, not just the first of them.
 * The commit thread swaps the whole list out, runs it as one transaction, and (see below)
 * hands it on until it is durable; then it joins `completed` and uv_async_send wakes the
 * loop, which runs the ops' callbacks in submission order. While one batch syncs, the loop keeps
 * collecting the next: the batch grows with the load, which is what makes durable and fast
 * agree (throughput ~ ops in flight / sync time).
 *
 * Durability is pipelined: the commit thread commits a batch without waiting for the disk
 * and hands it to the sync thread, which makes everything committed so far durable with one
 * sync (fdatasync of the WAL) and only then releases the batches to the loop. While the
 * disk syncs batch N, the commit thread already executes batch N+1; one sync often covers
 * several batches. A batch's replies leave only after a sync that started after its commit,
 * so nothing is acknowledged before it is on disk, and a message committed in batch N can
 * be claimed by batch N+1 but reaches no consumer before N is durable (N+1's own sync
 * covers it).
 *
 * If the transaction fails to commit, it is rolled back and every op of the batch completes
 * with -EIO: none of their effects happened, and no reply claims otherwise. If a sync fails,
 * the process aborts: what is on disk is then unknown, and a restart recovers from the WAL
 * (the policy PostgreSQL adopted after "fsyncgate").
 *
 * A third thread runs the backend's maintenance (WAL checkpoints) every
 * CHECKPOINT_INTERVAL_MS, so that copying the log into the database never holds up a
 * commit. */
#include "store/store.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"
#include "store/backend.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct store {
    const store_backend *be;
    void *db;
    uv_loop_t *loop;
    uv_async_t wake;
    uv_prepare_t flush;            /* hands the loop's local list to the commit thread */
    store_op *local, **local_tail; /* loop thread only */
    int open_handles;              /* the store is freed when both handles have closed */
    pthread_t thread;
    pthread_t sync_thread;    /* only when `pipelined` */
    pthread_t ckpt_thread;    /* only when the backend has a checkpoint step */
    pthread_cond_t ckpt_cond; /* stopping */
    int pipelined;            /* durability full with a backend that syncs separately */
    pthread_mutex_t lock;
    pthread_cond_t cond;      /* incoming ops, or stopping */
    pthread_cond_t sync_cond; /* committed batches to sync, or commit thread done */
    store_op *incoming, **incoming_tail;
    store_op *committed, **committed_tail; /* committed, not yet durable */
    int commit_done;
    int checkpointing; /* the checkpoint thread runs */
    store_op *completed, **completed_tail;
    size_t pending;    /* loop thread only */
    store_stats stats; /* written by the commit thread under lock */
    int stopping;
};

static void run_batch(store *s, store_op *batch)
{
    int rc = s->be->begin(s->db);
    if (rc == 0) {
        for (store_op *op = batch; op; op = op->next)
            s->be->exec(s->db, op);
        rc = s->be->commit(s->db);
        if (rc != 0)
            s->be->rollback(s->db);
    }
    if (rc != 0) {
        log_error("store commit failed", "backend=%s", s->be->name);
        for (store_op *op = batch; op; op = op->next)
            op->status = -EIO;
    }
}

#define CHECKPOINT_INTERVAL_MS 50

static void *checkpoint_thread(void *arg)
{
    store *s = arg;
    pthread_mutex_lock(&s->lock);
    while (!s->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += CHECKPOINT_INTERVAL_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->ckpt_cond, &s->lock, &until);
        if (s->stopping)
            break;
        pthread_mutex_unlock(&s->lock);
        s->be->checkpoint(s->db);
        pthread_mutex_lock(&s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* Appends a list of finished ops to `completed` and wakes the loop. Called under lock. */
static void complete(store *s, store_op *list)
{
    if (!list)
        return;
    *s->completed_tail = list;
    store_op *last = list;
    while (last->next)
        last = last->next;
    s->completed_tail = &last->next;
    uv_async_send(&s->wake);
}

static void *commit_thread(void *arg)
{
    store *s = arg;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (!s->incoming && !s->stopping)
            pthread_cond_wait(&s->cond, &s->lock);
        if (!s->incoming && s->stopping)
            break;
        store_op *batch = s->incoming;
        s->incoming = NULL;
        s->incoming_tail = &s->incoming;
        pthread_mutex_unlock(&s->lock);

        uint64_t t0 = clock_mono_ns();
        run_batch(s, batch);
        uint64_t t1 = clock_mono_ns();

        pthread_mutex_lock(&s->lock);
        s->stats.commit_ns += t1 - t0;
        s->stats.batches++;
        for (store_op *op = batch; op; op = op->next)
            s->stats.ops++;
        if (batch->status == -EIO)
            s->stats.failed_batches++;
        if (s->pipelined) {
            *s->committed_tail = batch;
            store_op *last = batch;
            while (last->next)
                last = last->next;
            s->committed_tail = &last->next;
            pthread_cond_signal(&s->sync_cond);
        } else {
            complete(s, batch);
        }
    }
    s->commit_done = 1;
    pthread_cond_signal(&s->sync_cond);
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static void *sync_thread(void *arg)
{
    store *s = arg;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (!s->committed && !s->commit_done)
            pthread_cond_wait(&s->sync_cond, &s->lock);
        if (!s->committed && s->commit_done)
            break;
        store_op *list = s->committed;
        s->committed = NULL;
        s->committed_tail = &s->committed;
        pthread_mutex_unlock(&s->lock);

        uint64_t t0 = clock_mono_ns();
        int rc = s->be->sync(s->db);
        uint64_t t1 = clock_mono_ns();
        if (rc != 0) {
            log_error("store sync failed: aborting, a restart recovers what is on disk",
                      "backend=%s", s->be->name);
            abort();
        }

        pthread_mutex_lock(&s->lock);
        s->stats.syncs++;
        s->stats.sync_ns += t1 - t0;
        complete(s, list);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static void deliver_completed(store *s)
{
    pthread_mutex_lock(&s->lock);
    store_op *list = s->completed;
    s->completed = NULL;
    s->completed_tail = &s->completed;
    pthread_mutex_unlock(&s->lock);
    while (list) {
        store_op *op = list;
        list = op->next;
        op->next = NULL;
        s->pending--;
        op->done(op);
    }
}

static void on_wake(uv_async_t *h)
{
    deliver_completed(h->data);
}

static void hand_over(store *s)
{
    if (!s->local)
        return;
    pthread_mutex_lock(&s->lock);
    int was_empty = (s->incoming == NULL);
    *s->incoming_tail = s->local;
    s->incoming_tail = s->local_tail;
    if (was_empty)
        pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
    s->local = NULL;
    s->local_tail = &s->local;
}

static void on_flush(uv_prepare_t *h)
{
    hand_over(h->data);
}

int store_open(store **out, const store_config *cfg, uv_loop_t *loop, char *err, size_t errlen)
{
    *out = NULL;
    store *s = xcalloc(1, sizeof *s);
    s->be = &store_backend_sqlite;
    s->db = s->be->open(cfg, err, errlen);
    if (!s->db)
        goto fail;
    s->loop = loop;
    s->incoming_tail = &s->incoming;
    s->completed_tail = &s->completed;
    s->local_tail = &s->local;
    s->committed_tail = &s->committed;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    pthread_cond_init(&s->sync_cond, NULL);
    pthread_cond_init(&s->ckpt_cond, NULL);
    /* The thread touches `wake` only after completing an op, and ops can only be submitted
     * after this returns: the handles may be set up after it starts. */
    s->pipelined = cfg->durability == STORE_DURABILITY_FULL && s->be->sync != NULL;
    if (s->pipelined && pthread_create(&s->sync_thread, NULL, sync_thread, s) != 0) {
        snprintf(err, errlen, "cannot start the sync thread");
        goto fail_threads;
    }
    if (pthread_create(&s->thread, NULL, commit_thread, s) != 0) {
        snprintf(err, errlen, "cannot start the commit thread");
        if (s->pipelined) {
            pthread_mutex_lock(&s->lock);
            s->commit_done = 1;
            pthread_cond_signal(&s->sync_cond);
            pthread_mutex_unlock(&s->lock);
            pthread_join(s->sync_thread, NULL);
        }
        goto fail_threads;
    }
    if (s->be->checkpoint && pthread_create(&s->ckpt_thread, NULL, checkpoint_thread, s) != 0)
        log_warn("cannot start the checkpoint thread: the WAL will only be checkpointed at close",
                 NULL);
    else if (s->be->checkpoint)
        s->checkpointing = 1;
    uv_async_init(loop, &s->wake, on_wake);
    s->wake.data = s;
    uv_prepare_init(loop, &s->flush);
    s->flush.data = s;
    uv_prepare_start(&s->flush, on_flush);
    s->open_handles = 2;
    *out = s;
    return 0;
fail_threads:
    s->be->close(s->db);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    pthread_cond_destroy(&s->sync_cond);
    pthread_cond_destroy(&s->ckpt_cond);
fail:
    xfree(s);
    return -1;
}

void store_submit(store *s, store_op *op)
{
    op->next = NULL;
    op->status = 0;
    s->pending++;
    *s->local_tail = op;
    s->local_tail = &op->next;
}

size_t store_pending(const store *s)
{
    return s->pending;
}

void store_get_stats(const store *s, store_stats *out)
{
    pthread_mutex_lock((pthread_mutex_t *)&s->lock);
    *out = s->stats;
    pthread_mutex_unlock((pthread_mutex_t *)&s->lock);
}

static void on_closed(uv_handle_t *h)
{
    store *s = h->data;
    if (--s->open_handles == 0)
        xfree(s);
}

void store_close(store *s)
{
    if (!s)
        return;
    hand_over(s);
    pthread_mutex_lock(&s->lock);
    s->stopping = 1;
    pthread_cond_signal(&s->cond);
    pthread_cond_signal(&s->ckpt_cond);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    if (s->pipelined)
        pthread_join(s->sync_thread, NULL);
    if (s->checkpointing)
        pthread_join(s->ckpt_thread, NULL);
    deliver_completed(s); /* callbacks of the last batches */
    s->be->close(s->db);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    pthread_cond_destroy(&s->sync_cond);
    pthread_cond_destroy(&s->ckpt_cond);
    uv_close((uv_handle_t *)&s->flush, on_closed);
    uv_close((uv_handle_t *)&s->wake, on_closed);
}

int store_load_sqs_queues(store *s, store_queue_fn fn, void *arg)
{
    return s->be->load_sqs_queues(s->db, fn, arg);
}

int store_load_sqs_move_tasks(store *s, store_move_task_fn fn, void *arg)
{
    return s->be->load_sqs_move_tasks(s->db, fn, arg);
}

int store_load_docs(store *s, const char *ns, store_doc_fn fn, void *arg)
{
    return s->be->load_docs(s->db, ns, fn, arg);
}

const unsigned char *store_secret(const store *s)
{
    return s->be->secret(s->db);
}

void store_message_clear(store_message *m)
{
    xfree(m->body);
    xfree(m->attrs_json);
    xfree(m->sys_attrs_json);
    xfree(m->group_id);
    xfree(m->dedup_id);
    xfree(m->sender_id);
    memset(m, 0, sizeof *m);
}

void store_delivery_clear(store_delivery *d)
{
    xfree(d->kind);
    xfree(d->target_json);
    xfree(d->payload);
    memset(d, 0, sizeof *d);
}

void store_op_clear(store_op *op)
{
    switch (op->kind) {
    case STORE_SQS_RECEIVE:
    case STORE_SQS_RECLAIM:
        for (size_t i = 0; i < op->u.receive.nmsgs; i++)
            store_message_clear(&op->u.receive.msgs[i]);
        xfree(op->u.receive.msgs);
        op->u.receive.msgs = NULL;
        op->u.receive.nmsgs = 0;
        break;
    case STORE_SQS_QUEUE_GET:
        xfree(op->u.queue_get.row.attrs_json);
        xfree(op->u.queue_get.row.tags_json);
        op->u.queue_get.row.attrs_json = op->u.queue_get.row.tags_json = NULL;
        break;
    case STORE_DELIVERY_CLAIM:
        for (size_t i = 0; i < op->u.deliveries.n; i++)
            store_delivery_clear(&op->u.deliveries.items[i]);
        xfree(op->u.deliveries.items);
        op->u.deliveries.items = NULL;
        op->u.deliveries.n = 0;
        break;
    case STORE_ARCHIVE_READ:
        for (size_t i = 0; i < op->u.archive.n; i++) {
            xfree(op->u.archive.items[i].event);
            xfree(op->u.archive.items[i].archive);
        }
        xfree(op->u.archive.items);
        op->u.archive.items = NULL;
        op->u.archive.n = 0;
        break;
    case STORE_GROUP:
        for (size_t i = 0; i < op->u.group.n; i++)
            store_op_clear(op->u.group.ops[i]);
        break;
    case STORE_KV_GET:
        for (size_t i = 0; op->u.kv_get.items && i < op->u.kv_get.n; i++)
            xfree(op->u.kv_get.items[i].item);
        xfree(op->u.kv_get.items);
        op->u.kv_get.items = NULL;
        break;
    case STORE_KV_STREAM_READ:
        for (size_t i = 0; i < op->u.kv_stream.n; i++)
            xfree(op->u.kv_stream.items[i].record);
        xfree(op->u.kv_stream.items);
        op->u.kv_stream.items = NULL;
        op->u.kv_stream.n = 0;
        break;
    case STORE_KV_RANGE:
        for (size_t i = 0; i < op->u.kv_range.n; i++)
            xfree(op->u.kv_range.items[i].item);
        xfree(op->u.kv_range.items);
        op->u.kv_range.items = NULL;
        op->u.kv_range.n = 0;
        break;
    case STORE_LOGS_LIST:
        for (size_t i = 0; i < op->u.logs_list.n; i++)
            xfree(op->u.logs_list.items[i].name);
        xfree(op->u.logs_list.items);
        op->u.logs_list.items = NULL;
        op->u.logs_list.n = 0;
        break;
    case STORE_LOGS_READ:
        for (size_t i = 0; i < op->u.logs_read.n; i++) {
            xfree(op->u.logs_read.items[i].message);
            xfree(op->u.logs_read.items[i].stream);
        }
        xfree(op->u.logs_read.items);
        op->u.logs_read.items = NULL;
        op->u.logs_read.n = 0;
        break;
    case STORE_SQS_MOVE:
        xfree(op->u.move.dest_ids);
        op->u.move.dest_ids = NULL;
        op->u.move.ndest = 0;
        break;
    default:
        break;
    }
}
