/* The store fixture of the store's unit tests: a store on a fresh temp dir with its own
 * loop, ops run through the real commit pipeline. Header-only; include after cmocka.h. */
#ifndef SLUICE_TEST_STORE_FIXTURE_H
#define SLUICE_TEST_STORE_FIXTURE_H

#include "common/alloc.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

typedef struct fixture {
    char dir[256];
    uv_loop_t loop;
    store *st;
} fixture;

static void fixture_done_cb(store_op *op)
{
    *(int *)op->ctx = 1;
}

/* Submits op and runs the loop until it completes; returns its status. */
static int run_op(fixture *f, store_op *op)
{
    int finished = 0;
    op->done = fixture_done_cb;
    op->ctx = &finished;
    store_submit(f->st, op);
    while (!finished)
        uv_run(&f->loop, UV_RUN_ONCE);
    return op->status;
}

static void open_store(fixture *f)
{
    char err[256];
    store_config cfg = {.data_dir = f->dir, .durability = STORE_DURABILITY_FULL};
    assert_int_equal(store_open(&f->st, &cfg, &f->loop, err, sizeof err), 0);
}

static void close_store(fixture *f)
{
    store_close(f->st);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    f->st = NULL;
}

static int setup(void **state)
{
    fixture *f = xcalloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/sluice-test-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    uv_loop_init(&f->loop);
    open_store(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f->st)
        close_store(f);
    uv_loop_close(&f->loop);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    xfree(f);
    return 0;
}

#endif
