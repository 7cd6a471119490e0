/* Logs of what went out (the mail log, the SMS log), kept as archives in the store
 * (store_archived records of JSON text, written by fanout_archive in the same transaction
 * as what they record), and served over HTTP for tests and developers.
 *
 * GET <path>?after=SEQ&limit=N answers {"<key>": [record, ...], "next": SEQ}: the records
 * after SEQ (default 0: from the first), oldest first, at most N (default and maximum
 * 1000), each with its "Seq"; "next" is the last Seq returned (pass it as `after` for the
 * next page). */
#ifndef SLUICE_DELIVERY_RECORD_LOG_H
#define SLUICE_DELIVERY_RECORD_LOG_H

#include "net/http_server.h"
#include "store/store.h"

#define RECORD_LOG_PAGE_MAX 1000

/* Answers req with a page of the archive `archive` (borrowed: a string literal), the
 * records listed under `key` (a string literal). */
void record_log_serve(http_request *req, store *st, const char *archive, const char *key);

#endif
