/* The commit pipeline: group commit on a dedicated thread.
 *
 * The loop thread collects the ops its callbacks submit during one loop iteration in a
 * local list and, in a prepare callback (which runs before the loop blocks for I/O), moves
 * them all to `incoming` (under `lock`) with one signal. The batch a commit takes is thus
 * every request parsed from every socket that was ready, not just the first of them.
 * The commit thread swaps the whole list out, runs it as one transaction (one sync for the
 * whole batch), appends it to `completed` and wakes the loop with uv_async_send; the loop
 * runs the ops' callbacks in submission order. While one batch syncs, the loop keeps
 * collecting the next: the batch grows with the load, which is what makes durable and fast
 * agree (throughput ~ ops in flight / sync time).
 *
 * If the transaction fails to commit, it is rolled back and every op of the batch completes
 * with -EIO: none of their effects happened, and no reply claims otherwise. */
#include "store/store.h"

#include "common/alloc.h"
#include "common/log.h"
#include "store/backend.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct store {
    const store_backend *be;
    void *db;
    uv_loop_t *loop;
    uv_async_t wake;
    uv_prepare_t flush;            /* hands the loop's local list to the commit thread */
    store_op *local, **local_tail; /* loop thread only */
    int open_handles;              /* the store is freed when both handles have closed */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    store_op *incoming, **incoming_tail;
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

        run_batch(s, batch);

        pthread_mutex_lock(&s->lock);
        *s->completed_tail = batch;
        store_op *last = batch;
        s->stats.ops++;
        while (last->next) {
            last = last->next;
            s->stats.ops++;
        }
        s->stats.batches++;
        if (batch->status == -EIO)
            s->stats.failed_batches++;
        s->completed_tail = &last->next;
        uv_async_send(&s->wake);
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
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    /* The thread touches `wake` only after completing an op, and ops can only be submitted
     * after this returns: the handles may be set up after it starts. */
    if (pthread_create(&s->thread, NULL, commit_thread, s) != 0) {
        snprintf(err, errlen, "cannot start the commit thread");
        s->be->close(s->db);
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->cond);
        goto fail;
    }
    uv_async_init(loop, &s->wake, on_wake);
    s->wake.data = s;
    uv_prepare_init(loop, &s->flush);
    s->flush.data = s;
    uv_prepare_start(&s->flush, on_flush);
    s->open_handles = 2;
    *out = s;
    return 0;
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
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    deliver_completed(s); /* callbacks of the last batches */
    s->be->close(s->db);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
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

void store_op_clear(store_op *op)
{
    switch (op->kind) {
    case STORE_SQS_RECEIVE:
        for (size_t i = 0; i < op->u.receive.nmsgs; i++)
            store_message_clear(&op->u.receive.msgs[i]);
        xfree(op->u.receive.msgs);
        op->u.receive.msgs = NULL;
        op->u.receive.nmsgs = 0;
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
