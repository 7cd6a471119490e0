/* libcurl's multi interface driven by a libuv loop: the glue shared by the clients that
 * make outbound transfers from the loop thread (http_client, smtp_client).
 *
 * A curl_loop owns one CURLM and a CURLSH (TLS sessions shared between its transfers),
 * watches the sockets libcurl asks for with uv_poll_t handles and keeps libcurl's one
 * timer. Its owner configures easy handles, adds them with curl_loop_add and is told of
 * each finished one through the `done` function given at create. Everything runs on the
 * loop's thread. */
#ifndef SLUICE_NET_CURL_LOOP_H
#define SLUICE_NET_CURL_LOOP_H

#include <curl/curl.h>
#include <uv.h>

typedef struct curl_loop curl_loop;

/* Called, on the loop thread and never from inside libcurl or curl_loop_add, for each
 * transfer that finished by itself. The easy handle is still in the multi handle: the
 * function must take it out with curl_loop_remove. It may add transfers, and may destroy
 * the curl_loop (then no further done calls are made). */
typedef void (*curl_loop_done_fn)(CURL *easy, CURLcode rc, void *arg);

/* Initialises libcurl once per process. Returns 0, or -1 if libcurl cannot start. */
int curl_loop_global_init(void);

/* Creates a curl_loop on `loop` (borrowed; must outlive it); `arg` is passed to done
 * untouched. Returns 0, or -1 if libcurl cannot be initialised (then *out is NULL). */
int curl_loop_create(curl_loop **out, uv_loop_t *loop, curl_loop_done_fn done, void *arg);

/* The multi handle, for multi options (connection limits); borrowed. */
CURLM *curl_loop_multi(curl_loop *l);

/* The share handle for CURLOPT_SHARE; borrowed. */
CURLSH *curl_loop_share(curl_loop *l);

/* Starts a configured easy handle (borrowed: the caller cleans it up after removing it).
 * Returns 0 or -1. */
int curl_loop_add(curl_loop *l, CURL *easy);

/* Takes an easy handle out of the multi handle, finished or not. */
void curl_loop_remove(curl_loop *l, CURL *easy);

/* Closes the connections and the libuv handles. Every easy handle must have been removed
 * (and cleaned up, so none still holds the share) first. The memory is freed once the
 * handles have closed, so the loop must run again afterwards; until then the struct stays
 * valid, which lets a done function destroy it. Accepts NULL. */
void curl_loop_destroy(curl_loop *l);

#endif
