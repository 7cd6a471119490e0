/* What the files of the SQLite backend share: the connection state and the statement
 * helpers. Private to src/store/sqlite/. */
#ifndef SLUICE_STORE_SQLITE_INTERNAL_H
#define SLUICE_STORE_SQLITE_INTERNAL_H

#include "store/store.h"

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#define SQ_MAX_STMTS      64 /* sqlite_store.c's prepared statements */
#define SQ_MAX_AUX_STMTS  72 /* the other files' statements, prepared on first use */
#define SQ_AUX_KV_FIRST   20 /* aux slots: sqlite_docs.c below this, sqlite_kv.c from it, */
#define SQ_AUX_LOGS_FIRST 40 /* sqlite_logs.c from this one */

typedef struct sqlite_db {
    sqlite3 *db;
    sqlite3 *ckpt; /* the checkpointer's own connection (checkpoint thread only) */
    char wal_path[4200];
    int wal_fd; /* our own descriptor of the WAL, for the pipelined sync; -1 until needed */
    sqlite3_stmt *st[SQ_MAX_STMTS];
    sqlite3_stmt *aux[SQ_MAX_AUX_STMTS];
    unsigned char secret[32];
    uint64_t rng; /* receipt tokens */
    int savepoint_depth;
} sqlite_db;

/* Steps s once; logs and returns -EIO on an error (a row or done is success). Resets s. */
int sq_step_done(sqlite_db *d, sqlite3_stmt *s);
/* Binds t as text (borrowed until the step), or NULL when t is NULL (or "" for _opt). */
void sq_bind_text(sqlite3_stmt *s, int i, const char *t);
void sq_bind_opt_text(sqlite3_stmt *s, int i, const char *t);
/* Column i as a new string (NULL for SQL NULL), or copied into out. */
char *sq_col_dup(sqlite3_stmt *s, int i);
void sq_col_copy(sqlite3_stmt *s, int i, char *out, size_t cap);
int sq_exec_sql(sqlite_db *d, const char *sql, char *err, size_t errlen);
/* The auxiliary statement `slot` with text sql, prepared on first use, reset and unbound;
 * NULL if it cannot be prepared (logged). */
sqlite3_stmt *sq_aux(sqlite_db *d, int slot, const char *sql);

/* ---- sqlite_docs.c: documents, deliveries, archives, groups ------------------------- */
/* Runs an op of those kinds; returns its status. */
int sqlite_docs_exec(sqlite_db *d, store_op *op);
int sqlite_load_docs(void *db, const char *ns, store_doc_fn fn, void *arg);
/* ---- sqlite_kv.c: key-value items (STORE_KV_*) ------------------------------------- */
int sqlite_kv_exec(sqlite_db *d, store_op *op);
/* ---- sqlite_logs.c: log groups, streams and events (STORE_LOGS_*) ------------------ */
int sqlite_logs_exec(sqlite_db *d, store_op *op);

/* Runs one op of any kind (sqlite_store.c's dispatcher): groups run their children. */
int sqlite_exec_op(sqlite_db *d, store_op *op);

#endif
