/* libcurl's multi interface driven by a libuv loop.
 *
 * One CURLM does all transfers of its owner; libcurl never blocks and never owns a thread
 * of ours (DNS runs in libcurl's resolver threads, which report back through a socket).
 * The multi handle tells us what to wait for through two callbacks, and we tell it what
 * happened through curl_multi_socket_action():
 *   - socket callback: for each socket libcurl wants watched, one uv_poll_t (a sock_ctx,
 *     attached to the socket with curl_multi_assign); started/restarted with the events
 *     asked for, closed on CURL_POLL_REMOVE (libcurl sends it before it closes the fd, so a
 *     reused fd number always gets a fresh uv_poll_t);
 *   - timer callback: one uv_timer_t, re-armed with the delay libcurl asks for (timeouts,
 *     connect attempts, resolver polling). A 0 delay fires on the next loop iteration: the
 *     timer callback must not call back into libcurl itself.
 * After every socket_action, finished transfers are collected with curl_multi_info_read
 * and handed to the owner's done function. That is the only place the owner is called, so
 * it is never called from inside curl_loop_add nor from inside libcurl (it may therefore
 * add transfers or destroy everything).
 *
 * Connections live in the multi handle's connection cache, so keep-alive reuse works
 * across transfers and easy handles. TLS sessions are shared between easy handles through
 * a CURLSH, so parallel connections to one host resume a session instead of doing a full
 * handshake each.
 *
 * Lifetime: destroy sets `closing` (every loop callback and drain() check it before
 * touching libcurl), cleans up libcurl, then closes the timer and any uv_poll_t libcurl did
 * not remove. The struct is freed by the last close callback (`open_handles` counts the
 * timer and the polls), so a destroy from inside one of our loop callbacks leaves valid
 * memory behind it until the stack has unwound. */
#include "net/curl_loop.h"

#include "common/alloc.h"
#include "common/log.h"

#include <pthread.h>

typedef struct sock_ctx {
    uv_poll_t poll; /* first: the uv handle converts to the sock_ctx */
    curl_loop *l;
    curl_socket_t fd;
    struct sock_ctx *prev, *next;
} sock_ctx;

struct curl_loop {
    uv_loop_t *loop;
    CURLM *multi;
    CURLSH *share;
    uv_timer_t timer;
    sock_ctx *socks;
    curl_loop_done_fn done;
    void *arg;
    unsigned open_handles; /* the timer and the polls, until their close callbacks */
    int closing;
};

/* ---------------------------------------------------------------------------------------
 * libcurl global state
 * --------------------------------------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (curl_init_rc != CURLE_OK) {
        log_error("libcurl initialisation failed", "err='%s'", curl_easy_strerror(curl_init_rc));
        return;
    }
    /* Without an asynchronous resolver every name lookup would stall the loop. */
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    if (!(v->features & CURL_VERSION_ASYNCHDNS))
        log_warn("libcurl has no asynchronous DNS: lookups block the loop", "version=%s",
                 v->version);
}

int curl_loop_global_init(void)
{
    pthread_once(&curl_once, curl_init);
    return curl_init_rc == CURLE_OK ? 0 : -1;
}

/* ---------------------------------------------------------------------------------------
 * Handles and their closing
 * --------------------------------------------------------------------------------------- */

static void handle_closed(curl_loop *l)
{
    if (--l->open_handles == 0)
        xfree(l);
}

static void on_timer_closed(uv_handle_t *h)
{
    handle_closed(h->data);
}

static void on_sock_closed(uv_handle_t *h)
{
    sock_ctx *s = (sock_ctx *)h;
    curl_loop *l = s->l;
    xfree(s);
    handle_closed(l);
}

static void sock_close(sock_ctx *s)
{
    curl_loop *l = s->l;
    if (s->prev)
        s->prev->next = s->next;
    else
        l->socks = s->next;
    if (s->next)
        s->next->prev = s->prev;
    uv_close((uv_handle_t *)&s->poll, on_sock_closed);
}

/* Hands finished transfers to the owner. Stops if the owner destroyed the curl_loop. */
static void drain(curl_loop *l)
{
    CURLMsg *m;
    int left;
    while (!l->closing && (m = curl_multi_info_read(l->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *easy = m->easy_handle;
        CURLcode rc = m->data.result; /* m dies with curl_multi_remove_handle */
        l->done(easy, rc, l->arg);
    }
}

/* ---------------------------------------------------------------------------------------
 * libuv -> libcurl
 * --------------------------------------------------------------------------------------- */

static void on_poll(uv_poll_t *h, int status, int events)
{
    sock_ctx *s = (sock_ctx *)h;
    curl_loop *l = s->l;
    if (l->closing)
        return;
    int flags = 0;
    if (status < 0)
        flags |= CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    int running;
    curl_multi_socket_action(l->multi, s->fd, flags, &running);
    drain(l);
}

static void on_timeout(uv_timer_t *t)
{
    curl_loop *l = t->data;
    if (l->closing)
        return;
    int running;
    curl_multi_socket_action(l->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    drain(l);
}

/* ---------------------------------------------------------------------------------------
 * libcurl -> libuv
 * --------------------------------------------------------------------------------------- */

static int on_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    curl_loop *l = userp;
    sock_ctx *s = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (s)
            sock_close(s);
        return 0;
    }
    if (!s) {
        if (l->closing)
            return 0;
        s = xcalloc(1, sizeof *s);
        int rc = uv_poll_init_socket(l->loop, &s->poll, fd);
        if (rc != 0) {
            /* Not -1: that would mark the whole multi handle dead and strand every transfer
             * without its callback. Unwatched, this transfer ends at its timeout. */
            log_error("curl loop cannot watch a socket", "fd=%d err='%s'", (int)fd,
                      uv_strerror(rc));
            xfree(s);
            return 0;
        }
        s->l = l;
        s->fd = fd;
        s->next = l->socks;
        if (l->socks)
            l->socks->prev = s;
        l->socks = s;
        l->open_handles++;
        curl_multi_assign(l->multi, fd, s);
    }
    int ev = 0;
    if (what & CURL_POLL_IN)
        ev |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        ev |= UV_WRITABLE;
    if (ev)
        uv_poll_start(&s->poll, ev, on_poll);
    else
        uv_poll_stop(&s->poll);
    return 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *userp)
{
    curl_loop *l = userp;
    if (timeout_ms < 0 || l->closing)
        uv_timer_stop(&l->timer);
    else
        uv_timer_start(&l->timer, on_timeout, (uint64_t)timeout_ms, 0);
    return 0;
}

/* ---------------------------------------------------------------------------------------
 * Public functions
 * --------------------------------------------------------------------------------------- */

CURLM *curl_loop_multi(curl_loop *l)
{
    return l->multi;
}

CURLSH *curl_loop_share(curl_loop *l)
{
    return l->share;
}

int curl_loop_add(curl_loop *l, CURL *easy)
{
    if (l->closing || curl_multi_add_handle(l->multi, easy) != CURLM_OK)
        return -1;
    return 0;
}

void curl_loop_remove(curl_loop *l, CURL *easy)
{
    if (l->multi)
        curl_multi_remove_handle(l->multi, easy);
}

int curl_loop_create(curl_loop **out, uv_loop_t *loop, curl_loop_done_fn done, void *arg)
{
    *out = NULL;
    if (curl_loop_global_init() != 0)
        return -1;
    curl_loop *l = xcalloc(1, sizeof *l);
    l->loop = loop;
    l->done = done;
    l->arg = arg;
    l->multi = curl_multi_init();
    l->share = curl_share_init();
    if (!l->multi || !l->share)
        goto fail;
    if (curl_share_setopt(l->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK)
        goto fail;
    curl_multi_setopt(l->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(l->multi, CURLMOPT_SOCKETDATA, l);
    curl_multi_setopt(l->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(l->multi, CURLMOPT_TIMERDATA, l);
    uv_timer_init(loop, &l->timer);
    l->timer.data = l;
    l->open_handles = 1;
    *out = l;
    return 0;
fail:
    if (l->multi)
        curl_multi_cleanup(l->multi);
    if (l->share)
        curl_share_cleanup(l->share);
    xfree(l);
    return -1;
}

void curl_loop_destroy(curl_loop *l)
{
    if (!l || l->closing)
        return;
    l->closing = 1;
    /* Closes the cached connections; their sockets come back through on_socket(REMOVE). */
    curl_multi_cleanup(l->multi);
    l->multi = NULL;
    if (curl_share_cleanup(l->share) != CURLSHE_OK)
        log_error("curl loop: TLS session cache still in use at destroy", NULL);
    l->share = NULL;
    while (l->socks)
        sock_close(l->socks);
    uv_close((uv_handle_t *)&l->timer, on_timer_closed);
}
