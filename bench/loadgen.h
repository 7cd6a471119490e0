/* sluice-loadgen's shared types: the run (bench), its connections and workloads, and the
 * helpers that bench/loadgen.c (the engine and the SQS/EventBridge workloads) offers to
 * bench/loadgen_sns.c (the SNS and SES workloads). Private to the load generator. */
#ifndef SLUICE_BENCH_LOADGEN_H
#define SLUICE_BENCH_LOADGEN_H

#include "common/buf.h"
#include "hist.h"

#include <http_parser.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef enum {
    W_POST,
    W_SEND,
    W_SEND_BATCH,
    W_CYCLE,
    W_LATENCY,
    W_FILL,
    W_FSYNC,
    W_PUT_EVENTS,
    W_EVENTS_LATENCY,
    W_SNS_PUBLISH,
    W_SNS_PUBLISH_BATCH,
    W_SNS_LATENCY,
    W_SNS_HTTP_FANOUT,
    W_SES_SEND,
    W_DDB_PUT_ITEM, /* bench/loadgen_ddb.c: W_DDB_PUT_ITEM .. W_DDB_LOAD */
    W_DDB_GET_ITEM,
    W_DDB_QUERY,
    W_DDB_LOAD,
    W_LAMBDA_INVOKE, /* bench/loadgen_lambda.c: W_LAMBDA_INVOKE .. W_LAMBDA_SQS_LATENCY */
    W_LAMBDA_COLD,
    W_LAMBDA_SQS_LATENCY,
    W_SFN_EXPRESS, /* bench/loadgen_sfn.c: W_SFN_EXPRESS .. W_SFN_PARK */
    W_SFN_STANDARD,
    W_SFN_SAGA,
    W_SFN_PARK
} workload;
typedef enum { PH_WARMUP, PH_MEASURE, PH_DRAIN, PH_DONE } phase;
typedef enum {
    ROLE_POST,
    ROLE_SEND,
    ROLE_BATCH,
    ROLE_RECV,
    ROLE_LAT_SEND,
    ROLE_PUT_EVENTS,
    ROLE_PUBLISH, /* SNS Publish/PublishBatch, SES SendEmail: built per request */
    ROLE_DDB,     /* DynamoDB: built per request */
    ROLE_SFN      /* Step Functions: built per request */
} role;
typedef enum {
    REQ_NONE,
    REQ_POST,
    REQ_SEND,
    REQ_BATCH,
    REQ_RECV,
    REQ_DELETE,
    REQ_PUT_EVENTS,
    REQ_PUBLISH,
    REQ_SEND_EMAIL,
    REQ_DDB,
    REQ_SFN
} req_kind;

/* The two AWS JSON protocols spoken here: target prefix and content type. */
typedef struct api {
    const char *prefix;
    const char *content_type;
} api;

extern const api API_SQS;
extern const api API_EVENTS;

typedef struct bench bench;
typedef struct sns_run sns_run;       /* loadgen_sns.c's state */
typedef struct ddb_run ddb_run;       /* loadgen_ddb.c's state */
typedef struct lambda_run lambda_run; /* loadgen_lambda.c's state */
typedef struct sfn_run sfn_run;       /* loadgen_sfn.c's state */

typedef struct conn {
    uv_tcp_t tcp;
    uv_connect_t creq;
    uv_write_t wreq;
    http_parser parser;
    bench *b;
    role role;
    req_kind kind; /* the request in flight, REQ_NONE when idle */
    uint64_t sent_ns;
    uint64_t lat_seq; /* latency: the sequence number of the message in flight */
    uint64_t seq;     /* SNS/SES: first sequence number of the request in flight; ddb-load:
                         its batch */
    int variant;      /* sns-publish: which attribute value the request in flight carries */
    int ever_connected;
    int connected;
    int write_pending;    /* part of the request still queued in libuv */
    int next_after_write; /* response came before the write callback: continue there */
    int got_response;
    int keep_alive;
    int pending_delete; /* consumer: `out` holds a DeleteMessageBatch to send */
    buf out;            /* per-connection request bytes (latency sends, deletes) */
    buf resp;           /* body of the response being read */
    int status;
    char rbuf[65536];
} conn;

typedef struct window {
    uint64_t requests;
    uint64_t messages; /* per workload: sent, or deleted (cycle), or received (latency) */
    uint64_t produced; /* cycle: messages sent */
    hist lat;          /* request latency, or end-to-end latency (latency workload) */
} window;

struct bench {
    /* configuration */
    workload w;
    const char *system;
    char host[128];
    int port;
    char path[512];
    const char *queue;
    char *queue_url_json; /* JSON-escaped, without quotes */
    int producers, consumers;
    double duration, warmup;
    size_t size;
    int batch;
    double rate;
    uint64_t count;
    int wait_s;
    int server_pid;
    const char *dir;
    int purge;
    double timeout;
    int rules;             /* EventBridge: non-matching rules added besides the routing one */
    int subs;              /* sns-http-fanout: HTTP subscriptions */
    uint64_t max_backlog;  /* sns-http-fanout, ses-send: accepted but not yet delivered */
    double drain_timeout;  /* sns-http-fanout, ses-send: seconds to wait for the deliveries */
    const char *smtp_sink; /* ses-send: HOST:PORT of sluice-smtp-sink */
    int raw;               /* sns-publish(-batch): raw delivery to the queues */

    /* run state */
    uv_loop_t *loop;
    conn *cs;
    int ncs;
    phase ph;
    uint64_t start_ns, t0_ns, t1_ns;
    window win;
    uint64_t errors;
    int error_printed;
    int connect_failures; /* in a row: the server is gone */
    uv_timer_t phase_timer, hard_timer;
    buf req_fixed; /* shared request: post / send / send-batch */
    buf req_recv;  /* shared request: ReceiveMessage */
    double srv_cpu0, srv_cpu1, cli_cpu0, cli_cpu1;

    /* latency */
    int tfd;
    uv_poll_t tpoll;
    uint64_t lat_sched;    /* messages scheduled so far (seq 0 .. lat_sched-1) */
    uint64_t lat_next;     /* next seq to hand to a producer connection */
    uint64_t lat_first;    /* first measured seq */
    uint64_t lat_end;      /* one past the last seq ever scheduled (= last measured) */
    uint8_t *lat_seen;     /* received-once flags, for duplicates */
    hist e2e;              /* end-to-end latency of measured messages */
    uint64_t lat_received; /* measured messages received */
    uint64_t lat_dups;
    uint64_t lat_sent; /* measured messages whose send was acknowledged */
    conn **idle;
    int nidle;

    /* fill */
    uint64_t fill_issued;
    uint64_t fill_done;

    sns_run *sns; /* the SNS and SES workloads */
    ddb_run *ddb; /* the DynamoDB workloads */

    /* Lambda: the function's code and runtime */
    const char *zip, *runtime, *handler;
    lambda_run *lam;

    sfn_run *sfn; /* the Step Functions workloads */
};

/* ---- loadgen.c ------------------------------------------------------------------------ */

void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void json_escape(buf *out, const char *s, size_t n);
/* A body of exactly n bytes of [a-z0-9]. */
void put_payload(buf *out, size_t n);
void count_error(bench *b, const char *what, int status, const char *body, size_t len);
/* One request on a fresh connection, blocking, for setup and verification: METHOD PATH
 * with the given extra header lines (each ending in \r\n; may be NULL) and body. Returns
 * the HTTP status (or -1) and the response body in `out`. */
int sync_http(bench *b, const char *method, const char *path, const char *headers, const char *body,
              size_t body_len, buf *out);
/* An AWS JSON call (of protocol a) through sync_http. */
int sync_call(bench *b, const api *a, const char *target, const char *json, buf *out);
/* CreateQueue (PurgeQueue if purge); returns its URL JSON-escaped (caller frees). */
char *create_queue(bench *b, const char *name, int purge, int purge_fatal);
/* The QueueArn of a queue (URL JSON-escaped, as create_queue returns it); caller frees. */
char *queue_arn(bench *b, const char *url_json);
void build_sqs(bench *b, buf *out, const char *target, const buf *body);
void issue(conn *c, req_kind kind, const char *p, size_t len);
int measuring(const bench *b);
/* A latency message "seq:sched_ns:..." received at recv_ns by a consumer. */
void on_latency_message(bench *b, const char *body, uint64_t recv_ns);
/* Hands idle closed-loop publishers (parked by sns_next) their next request. */
void resume_publishers(bench *b);
void finish(bench *b);

/* ---- loadgen_sns.c -------------------------------------------------------------------- */

int sns_workload(const bench *b);
/* Topics, queues, subscriptions (and their confirmation), the SES probe. Runs the loop
 * for the HTTP receivers' confirmations. May print a "skipped" line and exit(0). */
void sns_setup(bench *b);
/* The next request of a ROLE_PUBLISH connection, or 0 when it must wait (backlog). */
int sns_next(conn *c);
/* The open-loop Publish of sns-latency. */
void sns_latency_send(conn *c, uint64_t seq);
/* A 2xx response to REQ_PUBLISH or REQ_SEND_EMAIL. */
void sns_on_response(conn *c, req_kind k, uint64_t now);
/* A message body received by a queue consumer of sns-http-fanout. */
void sns_on_queue_message(bench *b, const char *body, uint64_t now);
/* The measured window begins / ends. */
void sns_on_measure_start(bench *b);
void sns_on_measure_end(bench *b);
/* A request answered with an error (nothing accepted) / never answered (in doubt). */
void sns_on_failure(conn *c);
void sns_in_doubt(conn *c);
/* sns-http-fanout, ses-send: whether the drain is over (everything accepted delivered). */
int sns_drained(bench *b);
/* The run ends: requests in flight are in doubt; the receivers and the sink poll stop. */
void sns_on_finish(bench *b);
/* Before the report: what the window's messages and latencies are for this workload. */
void sns_adjust(bench *b, double *secs);
/* Appends the workload's fields and its verification to the JSON line; nonzero when the
 * verification failed. */
int sns_report(bench *b, buf *o);
void sns_free(bench *b);

/* ---- loadgen_ddb.c -------------------------------------------------------------------- */

int ddb_workload(const bench *b);
/* The table (created for ddb-load and ddb-put-item; get-item and query check it holds
 * --count items, else exit). */
void ddb_setup(bench *b);
/* The next request of a ROLE_DDB connection, or 0 when there is none (ddb-load done). */
int ddb_next(conn *c);
/* Whether ddb-load stored every item (0 for the other workloads). */
int ddb_load_done(const bench *b);
/* A 2xx answer to REQ_DDB / an error answer / no answer (in doubt). */
void ddb_on_response(conn *c, uint64_t now);
void ddb_on_failure(conn *c);
void ddb_in_doubt(conn *c);
/* Appends the workload's fields and its verification; nonzero when the verification
 * failed. */
int ddb_report(bench *b, buf *o, double secs);
void ddb_free(bench *b);

/* ---- loadgen_lambda.c ----------------------------------------------------------------- */

int lambda_workload(const bench *b);
/* The function (and, for lambda-sqs-latency, the queue, its mapping and the probe's socket),
 * from --zip, --runtime, --handler; exits when the function does not answer. */
void lambda_setup(bench *b);
/* The Invoke request every lambda-invoke connection sends. */
void lambda_build_invoke(bench *b, buf *out);
/* A 2xx Invoke answer: 0 if it is the no-op's, else counts an error and returns -1. */
int lambda_check_answer(conn *c);
void lambda_on_finish(bench *b);
void lambda_report(bench *b, buf *o);
void lambda_free(bench *b);
/* lambda-cold, run alone (no connections): prints its line; the exit status. */
int lambda_cold(bench *b);

/* ---- loadgen_sfn.c -------------------------------------------------------------------- */

int sfn_workload(const bench *b);
/* The state machine (and, for sfn-saga, its functions from --zip). */
void sfn_setup(bench *b);
/* The next request of a ROLE_SFN connection, or 0 when it has none now (sfn-park done;
 * sfn-standard waiting before its next poll: it issues that itself). */
int sfn_next(conn *c);
/* Whether sfn-park started all its executions (0 for the other workloads). */
int sfn_park_done(const bench *b);
/* The open-loop StartSyncExecution of sfn-saga. */
void sfn_latency_send(conn *c, uint64_t seq);
/* A 2xx answer to REQ_SFN / an error answer / no answer (in doubt). */
void sfn_on_response(conn *c, uint64_t now);
void sfn_on_failure(conn *c);
void sfn_in_doubt(conn *c);
void sfn_on_finish(bench *b);
/* Appends the workload's fields (and sfn-park's verification); nonzero when it failed. */
int sfn_report(bench *b, buf *o, double secs);
void sfn_free(bench *b);

#endif
