/* sluice-peer-nats: the `make bench` workloads (peer.h) against NATS JetStream with cnats,
 * in the settings a user runs for durable work queues:
 *   - a stream on file storage with the work-queue retention policy (a message is removed
 *     once acknowledged, as SQS removes a deleted one), created fresh for each run;
 *   - acknowledged publishes: one message is js_Publish (waits for its PubAck); a batch is
 *     js_PublishAsync of each message, then js_PublishAsyncComplete (waits for every PubAck);
 *   - one durable pull consumer with explicit acks, shared by all consumer threads; each
 *     message is acknowledged with natsMsg_Ack.
 * Whether a PubAck means "on disk" is the server's sync_interval (default 2 minutes; bench/run.sh
 * also runs a server with sync_interval: always). One NATS connection per thread. */
#include "peer.h"

#include "common/alloc.h"

#include <nats/nats.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define DURABLE "bench"
/* Longest wait for the PubAcks of one batch. */
#define PUBLISH_WAIT_MS 30000

typedef struct nconn {
    natsConnection *nc;
    jsCtx *js;
    natsSubscription *sub;
    const char *subject;
    atomic_int failed; /* async publishes the server refused or never acknowledged */
    int latency;
} nconn;

static void on_pub_error(jsCtx *js, jsPubAckErr *pae, void *closure)
{
    nconn *c = closure;
    atomic_fetch_add(&c->failed, 1);
    peer_warn("nats: async publish failed: %s", pae->ErrText ? pae->ErrText : "?");
}

static int check(natsStatus s, jsErrCode jerr, const char *what)
{
    if (s == NATS_OK)
        return 0;
    peer_warn("nats: %s: %s (JetStream error %d: %s)", what, natsStatus_GetText(s), (int)jerr,
              nats_GetLastError(NULL) ? nats_GetLastError(NULL) : "");
    return -1;
}

static void disconnect(nconn *c)
{
    natsSubscription_Destroy(c->sub);
    jsCtx_Destroy(c->js);
    natsConnection_Destroy(c->nc);
    xfree(c);
}

static nconn *connect_to(const peer_opts *o)
{
    nconn *c = xcalloc(1, sizeof *c);
    jsOptions jo;
    c->subject = o->queue;
    c->latency = o->w == PW_LATENCY;
    if (check(natsConnection_ConnectTo(&c->nc, o->url), 0, "connect") < 0)
        goto fail;
    jsOptions_Init(&jo);
    jo.PublishAsync.ErrHandler = on_pub_error;
    jo.PublishAsync.ErrHandlerClosure = c;
    if (check(natsConnection_JetStream(&c->js, c->nc, &jo), 0, "JetStream context") < 0)
        goto fail;
    return c;
fail:
    disconnect(c);
    return NULL;
}

/* ---------------------------------------------------------------- stream */

static int setup(const peer_opts *o)
{
    nconn *c = connect_to(o);
    if (!c)
        return -1;
    jsErrCode jerr = 0;
    jsStreamInfo *si = NULL;
    jsConsumerInfo *ci = NULL;
    int rc = -1;
    /* A stream left by an earlier run: not there is the usual case. */
    js_DeleteStream(c->js, o->queue, NULL, &jerr);

    jsStreamConfig sc;
    jsStreamConfig_Init(&sc);
    const char *subjects[] = {o->queue};
    sc.Name = o->queue;
    sc.Subjects = subjects;
    sc.SubjectsLen = 1;
    sc.Storage = js_FileStorage;
    sc.Retention = js_WorkQueuePolicy;
    if (check(js_AddStream(&si, c->js, &sc, NULL, &jerr), jerr, "add stream") < 0)
        goto fail;

    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = DURABLE;
    cc.AckPolicy = js_AckExplicit;
    cc.DeliverPolicy = js_DeliverAll;
    if (check(js_AddConsumer(&ci, c->js, o->queue, &cc, NULL, &jerr), jerr, "add consumer") < 0)
        goto fail;
    rc = 0;
fail:
    jsStreamInfo_Destroy(si);
    jsConsumerInfo_Destroy(ci);
    disconnect(c);
    return rc;
}

static void teardown(const peer_opts *o)
{
    nconn *c = connect_to(o);
    if (!c)
        return;
    jsErrCode jerr = 0;
    check(js_DeleteStream(c->js, o->queue, NULL, &jerr), jerr, "delete stream");
    disconnect(c);
}

static int depth(const peer_opts *o, uint64_t *n)
{
    nconn *c = connect_to(o);
    if (!c)
        return -1;
    jsErrCode jerr = 0;
    jsStreamInfo *si = NULL;
    int rc = check(js_GetStreamInfo(&si, c->js, o->queue, NULL, &jerr), jerr, "stream info");
    if (rc == 0)
        *n = si->State.Msgs;
    jsStreamInfo_Destroy(si);
    disconnect(c);
    return rc;
}

/* ---------------------------------------------------------------- connections */

static void *open_conn(const peer_opts *o, int consumer)
{
    nconn *c = connect_to(o);
    if (!c || !consumer)
        return c;
    jsErrCode jerr = 0;
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = o->queue;
    so.Consumer = DURABLE;
    if (check(js_PullSubscribe(&c->sub, c->js, o->queue, DURABLE, NULL, &so, &jerr), jerr,
              "pull subscribe") < 0) {
        disconnect(c);
        return NULL;
    }
    return c;
}

static void close_conn(void *p)
{
    disconnect(p);
}

/* ---------------------------------------------------------------- publish */

static int publish(void *p, char *const *bodies, size_t len, int n)
{
    nconn *c = p;
    jsErrCode jerr = 0;
    if (n == 1) {
        jsPubAck *ack = NULL;
        natsStatus s = js_Publish(&ack, c->js, c->subject, bodies[0], (int)len, NULL, &jerr);
        jsPubAck_Destroy(ack);
        if (s == NATS_OK)
            return 1;
        check(s, jerr, "publish");
        /* The server answered with an error: the connection is still good. */
        return s == NATS_TIMEOUT || s == NATS_CONNECTION_CLOSED ? -1 : 0;
    }
    int failed0 = atomic_load(&c->failed);
    for (int i = 0; i < n; i++)
        if (check(js_PublishAsync(c->js, c->subject, bodies[i], (int)len, NULL), 0,
                  "async publish") < 0)
            return -1;
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = PUBLISH_WAIT_MS;
    if (check(js_PublishAsyncComplete(c->js, &po), 0, "waiting for PubAcks") < 0)
        return -1;
    return n - (atomic_load(&c->failed) - failed0);
}

/* ---------------------------------------------------------------- consume */

static int consume(void *p, int max, int timeout_ms, peer_msg_fn fn, void *ctx)
{
    nconn *c = p;
    natsMsgList list = {0};
    jsErrCode jerr = 0;
    natsStatus s;
    if (c->latency) {
        /* A plain fetch of a batch waits until the batch is full or the wait is over, which
         * would add up to a whole wait to a latency run's messages. A no-wait request with an
         * expiry waits for the first message only and returns what is there with it. */
        jsFetchRequest req;
        jsFetchRequest_Init(&req);
        req.Batch = max;
        req.NoWait = true;
        req.Expires = (int64_t)timeout_ms * 1000000;
        s = natsSubscription_FetchRequest(&list, c->sub, &req);
    } else {
        s = natsSubscription_Fetch(&list, c->sub, max, timeout_ms, &jerr);
    }
    /* Not Found: the server's "no messages" answer to a fetch. */
    if (s == NATS_TIMEOUT || s == NATS_NOT_FOUND)
        return 0;
    if (check(s, jerr, "fetch") < 0)
        return -1;
    int got = 0, rc = 0;
    for (int i = 0; i < list.Count; i++) {
        natsMsg *m = list.Msgs[i];
        fn(ctx, natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
        if (check(natsMsg_Ack(m, NULL), 0, "ack") < 0)
            rc = -1;
        got++;
    }
    natsMsgList_Destroy(&list);
    return rc < 0 ? -1 : got;
}

int main(int argc, char **argv)
{
    static const peer_ops ops = {
        .system = "nats",
        .url = "nats://127.0.0.1:4222",
        .setup = setup,
        .teardown = teardown,
        .depth = depth,
        .open = open_conn,
        .close = close_conn,
        .publish = publish,
        .consume = consume,
    };
    int rc = peer_main(argc, argv, &ops);
    nats_Close();
    return rc;
}
