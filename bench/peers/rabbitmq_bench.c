/* sluice-peer-rabbitmq: the `make bench` workloads (peer.h) against RabbitMQ over AMQP 0-9-1
 * with librabbitmq, in the settings a user runs for durable messaging:
 *   - a durable queue, classic or quorum (--kind), declared fresh for each run;
 *   - persistent messages (delivery_mode 2) through the default exchange;
 *   - publisher confirms: a publish of n messages returns when the broker confirmed all n
 *     (RabbitMQ confirms a persistent message once it is written to disk);
 *   - consumers with manual acknowledgements: basic.consume with a prefetch of
 *     PREFETCH_PER_BATCH x --batch, one basic.ack (multiple) per batch taken.
 * One AMQP connection (channel 1) per thread. */
#include "peer.h"

#include "common/alloc.h"

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define CHANNEL 1
/* Unacknowledged deliveries a consumer may hold: enough that the broker keeps sending
 * while the consumer acknowledges the previous batch, as a tuned production consumer does. */
#define PREFETCH_PER_BATCH 10

typedef struct rconn {
    amqp_connection_state_t conn;
    uint64_t next_tag; /* delivery tag of the last publish (confirm mode numbers them) */
    const char *queue;
    unsigned char *acked; /* per message of the publish in progress: 1 ack, 2 nack */
} rconn;

static int ok_reply(amqp_rpc_reply_t r, const char *what)
{
    if (r.reply_type == AMQP_RESPONSE_NORMAL)
        return 0;
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION)
        peer_warn("rabbitmq: %s: %s", what, amqp_error_string2(r.library_error));
    else if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
             r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        amqp_channel_close_t *m = r.reply.decoded;
        peer_warn("rabbitmq: %s: channel closed: %.*s", what, (int)m->reply_text.len,
                  (const char *)m->reply_text.bytes);
    } else if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
               r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        amqp_connection_close_t *m = r.reply.decoded;
        peer_warn("rabbitmq: %s: connection closed: %.*s", what, (int)m->reply_text.len,
                  (const char *)m->reply_text.bytes);
    } else {
        peer_warn("rabbitmq: %s failed", what);
    }
    return -1;
}

/* --url is host:port. */
static amqp_connection_state_t connect_to(const char *url)
{
    char host[256];
    const char *colon = strrchr(url, ':');
    int port = colon ? atoi(colon + 1) : 5672;
    size_t hl = colon ? (size_t)(colon - url) : strlen(url);
    if (hl >= sizeof host)
        return NULL;
    memcpy(host, url, hl);
    host[hl] = 0;

    amqp_connection_state_t conn = amqp_new_connection();
    amqp_socket_t *s = amqp_tcp_socket_new(conn);
    if (!s || amqp_socket_open(s, host, port) != AMQP_STATUS_OK) {
        peer_warn("rabbitmq: cannot connect to %s", url);
        goto fail;
    }
    if (ok_reply(amqp_login(conn, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest"),
                 "login") < 0)
        goto fail;
    amqp_channel_open(conn, CHANNEL);
    if (ok_reply(amqp_get_rpc_reply(conn), "channel.open") < 0)
        goto fail;
    return conn;
fail:
    amqp_destroy_connection(conn);
    return NULL;
}

static void disconnect(amqp_connection_state_t conn)
{
    amqp_channel_close(conn, CHANNEL, AMQP_REPLY_SUCCESS);
    amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(conn);
}

/* ---------------------------------------------------------------- queue */

static int declare(amqp_connection_state_t conn, const peer_opts *o, int passive, uint64_t *count)
{
    amqp_table_entry_t e = {
        .key = amqp_cstring_bytes("x-queue-type"),
        .value = {.kind = AMQP_FIELD_KIND_UTF8, .value.bytes = amqp_cstring_bytes(o->kind)}};
    amqp_table_t args = {.num_entries = 1, .entries = &e};
    amqp_queue_declare_ok_t *ok =
        amqp_queue_declare(conn, CHANNEL, amqp_cstring_bytes(o->queue), passive, 1, 0, 0,
                           passive ? amqp_empty_table : args);
    if (ok_reply(amqp_get_rpc_reply(conn), "queue.declare") < 0 || !ok)
        return -1;
    if (count)
        *count = ok->message_count;
    return 0;
}

static int setup(const peer_opts *o)
{
    if (strcmp(o->kind, "classic") != 0 && strcmp(o->kind, "quorum") != 0) {
        fprintf(stderr, "rabbitmq: --kind must be classic or quorum\n");
        return -1;
    }
    amqp_connection_state_t conn = connect_to(o->url);
    if (!conn)
        return -1;
    /* Deleting a queue that does not exist is not an error in RabbitMQ. */
    amqp_queue_delete(conn, CHANNEL, amqp_cstring_bytes(o->queue), 0, 0);
    int rc =
        ok_reply(amqp_get_rpc_reply(conn), "queue.delete") < 0 ? -1 : declare(conn, o, 0, NULL);
    disconnect(conn);
    return rc;
}

static void teardown(const peer_opts *o)
{
    amqp_connection_state_t conn = connect_to(o->url);
    if (!conn)
        return;
    amqp_queue_delete(conn, CHANNEL, amqp_cstring_bytes(o->queue), 0, 0);
    ok_reply(amqp_get_rpc_reply(conn), "queue.delete");
    disconnect(conn);
}

static int depth(const peer_opts *o, uint64_t *n)
{
    amqp_connection_state_t conn = connect_to(o->url);
    if (!conn)
        return -1;
    int rc = declare(conn, o, 1, n);
    disconnect(conn);
    return rc;
}

/* ---------------------------------------------------------------- connections */

static void *open_conn(const peer_opts *o, int consumer)
{
    amqp_connection_state_t conn = connect_to(o->url);
    if (!conn)
        return NULL;
    if (consumer) {
        amqp_basic_qos(conn, CHANNEL, 0, (uint16_t)(o->batch * PREFETCH_PER_BATCH), 0);
        if (ok_reply(amqp_get_rpc_reply(conn), "basic.qos") < 0)
            goto fail;
        amqp_basic_consume(conn, CHANNEL, amqp_cstring_bytes(o->queue), amqp_empty_bytes, 0, 0, 0,
                           amqp_empty_table);
        if (ok_reply(amqp_get_rpc_reply(conn), "basic.consume") < 0)
            goto fail;
    } else {
        amqp_confirm_select(conn, CHANNEL);
        if (ok_reply(amqp_get_rpc_reply(conn), "confirm.select") < 0)
            goto fail;
    }
    rconn *c = xcalloc(1, sizeof *c);
    c->conn = conn;
    c->queue = o->queue;
    c->acked = xcalloc((size_t)o->batch, 1);
    return c;
fail:
    disconnect(conn);
    return NULL;
}

static void close_conn(void *p)
{
    rconn *c = p;
    disconnect(c->conn);
    xfree(c->acked);
    xfree(c);
}

/* ---------------------------------------------------------------- publish */

/* Marks tag (or every tag up to it, with multiple) of the publish in progress, whose tags are
 * first .. first+n-1, as v (1 ack, 2 nack). */
static void mark(rconn *c, uint64_t first, int n, uint64_t tag, int multiple, unsigned char v)
{
    for (int i = 0; i < n; i++) {
        uint64_t t = first + (uint64_t)i;
        if (!c->acked[i] && (t == tag || (multiple && t <= tag)))
            c->acked[i] = v;
    }
}

static int publish(void *p, char *const *bodies, size_t len, int n)
{
    rconn *c = p;
    amqp_basic_properties_t props = {._flags = AMQP_BASIC_DELIVERY_MODE_FLAG,
                                     .delivery_mode = AMQP_DELIVERY_PERSISTENT};
    uint64_t first = c->next_tag + 1;
    if (n < 1)
        return 0;
    for (int i = 0; i < n; i++) {
        amqp_bytes_t body = {.len = len, .bytes = bodies[i]};
        int st = amqp_basic_publish(c->conn, CHANNEL, amqp_empty_bytes,
                                    amqp_cstring_bytes(c->queue), 0, 0, &props, body);
        if (st != AMQP_STATUS_OK) {
            peer_warn("rabbitmq: basic.publish: %s", amqp_error_string2(st));
            return -1;
        }
        c->next_tag++;
    }
    memset(c->acked, 0, (size_t)n);
    int done = 0, confirmed = 0;
    while (done < n) {
        amqp_frame_t f;
        int st = amqp_simple_wait_frame(c->conn, &f);
        if (st != AMQP_STATUS_OK) {
            peer_warn("rabbitmq: waiting for confirms: %s", amqp_error_string2(st));
            return -1;
        }
        if (f.frame_type != AMQP_FRAME_METHOD)
            continue;
        if (f.payload.method.id == AMQP_BASIC_ACK_METHOD) {
            amqp_basic_ack_t *a = f.payload.method.decoded;
            mark(c, first, n, a->delivery_tag, a->multiple, 1);
        } else if (f.payload.method.id == AMQP_BASIC_NACK_METHOD) {
            amqp_basic_nack_t *a = f.payload.method.decoded;
            mark(c, first, n, a->delivery_tag, a->multiple, 2);
            peer_warn("rabbitmq: the broker nacked a publish");
        } else if (f.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD ||
                   f.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD) {
            peer_warn("rabbitmq: the broker closed the channel while confirming");
            return -1;
        }
        done = confirmed = 0;
        for (int i = 0; i < n; i++) {
            done += c->acked[i] != 0;
            confirmed += c->acked[i] == 1;
        }
    }
    amqp_maybe_release_buffers(c->conn);
    return confirmed;
}

/* ---------------------------------------------------------------- consume */

/* One delivery within timeout (NULL: only what is already there): 1, 0 on timeout, -1. */
static int next_delivery(rconn *c, struct timeval *tv, uint64_t *tag, peer_msg_fn fn, void *ctx)
{
    amqp_envelope_t env;
    amqp_rpc_reply_t r = amqp_consume_message(c->conn, &env, tv, 0);
    if (r.reply_type == AMQP_RESPONSE_NORMAL) {
        fn(ctx, env.message.body.bytes, env.message.body.len);
        *tag = env.delivery_tag;
        amqp_destroy_envelope(&env);
        return 1;
    }
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_TIMEOUT)
        return 0;
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
        r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
        /* A frame other than a delivery: only a close matters here. */
        amqp_frame_t f;
        if (amqp_simple_wait_frame(c->conn, &f) != AMQP_STATUS_OK)
            return -1;
        if (f.frame_type == AMQP_FRAME_METHOD &&
            (f.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD ||
             f.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD)) {
            peer_warn("rabbitmq: the broker closed a consumer's channel");
            return -1;
        }
        return 0;
    }
    ok_reply(r, "basic.consume");
    return -1;
}

static int consume(void *p, int max, int timeout_ms, peer_msg_fn fn, void *ctx)
{
    rconn *c = p;
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    struct timeval now = {0, 0};
    uint64_t tag = 0;
    amqp_maybe_release_buffers(c->conn);
    int got = next_delivery(c, &tv, &tag, fn, ctx);
    if (got <= 0)
        return got;
    while (got < max) {
        int r = next_delivery(c, &now, &tag, fn, ctx);
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got++;
    }
    if (amqp_basic_ack(c->conn, CHANNEL, tag, 1) != AMQP_STATUS_OK) {
        peer_warn("rabbitmq: basic.ack failed");
        return -1;
    }
    return got;
}

int main(int argc, char **argv)
{
    static const peer_ops ops = {
        .system = "rabbitmq",
        .url = "127.0.0.1:5672",
        .setup = setup,
        .teardown = teardown,
        .depth = depth,
        .open = open_conn,
        .close = close_conn,
        .publish = publish,
        .consume = consume,
    };
    return peer_main(argc, argv, &ops);
}
