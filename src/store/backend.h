/* What a storage backend provides to the commit pipeline (store.c). Private to src/store/. */
#ifndef SLUICE_STORE_BACKEND_H
#define SLUICE_STORE_BACKEND_H

#include "store/store.h"

typedef struct store_backend {
    const char *name;
    void *(*open)(const store_config *cfg, char *err, size_t errlen);
    void (*close)(void *db);
    /* One transaction per batch: begin, exec each op (an op's own failure goes into
     * op->status and does not abort the batch), commit. */
    int (*begin)(void *db);
    void (*exec)(void *db, store_op *op);
    int (*commit)(void *db);
    void (*rollback)(void *db);
    /* Makes every commit so far durable. Called from the sync thread, concurrently with the
     * next batch's begin/exec/commit on the commit thread. NULL when commits are already
     * durable when commit returns, or when durability is `normal`. */
    int (*sync)(void *db);
    /* Background maintenance (WAL checkpoints), called every few tens of milliseconds from
     * the store's checkpoint thread, concurrently with the commit and sync threads. NULL if
     * the backend needs none. */
    int (*checkpoint)(void *db);
    int (*load_sqs_queues)(void *db, store_queue_fn fn, void *arg);
    int (*load_sqs_move_tasks)(void *db, store_move_task_fn fn, void *arg);
    int (*load_docs)(void *db, const char *ns, store_doc_fn fn, void *arg);
    const unsigned char *(*secret)(void *db);
} store_backend;

extern const store_backend store_backend_sqlite;

#endif
