/* Log events written from inside the server (functions' logs): fire-and-forget writes.
 *
 * Each write is one STORE_LOGS_PUT op carrying its own copy of the events, submitted at once:
 * the store runs it in the next group commit with whatever else the loop submitted, and
 * creates the group (with the configured retention) and the stream if they are missing. The
 * caller never waits. What is in flight is bounded (PUT_MAX_IN_FLIGHT bytes): a burst beyond
 * what the store absorbs drops events, counted and logged, rather than growing memory. */
#include "services/logs/logs_internal.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/utf8.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define PUT_MAX_IN_FLIGHT (16u * 1024 * 1024)
#define LINE_MAX_BYTES    (256 * 1024 - 26) /* an event's message at most (AWS's limit) */

typedef struct put_job {
    store_op op;
    logs *lg;
    char *group, *stream;
    char *text; /* the messages, back to back, valid UTF-8: events point into it */
    size_t len;
    store_log_event *events;
    size_t n, cap;
    size_t bytes; /* counted in lg->put_bytes_in_flight */
} put_job;

static void job_done(store_op *op)
{
    put_job *j = op->ctx;
    logs *lg = j->lg;
    if (op->status != 0)
        log_warn("log events could not be stored", "group='%s' events=%zu", j->group, j->n);
    lg->put_bytes_in_flight -= j->bytes;
    if (lg->put_dropped && lg->put_bytes_in_flight < PUT_MAX_IN_FLIGHT / 2) {
        log_warn("log events were dropped: more were written than the store absorbed",
                 "dropped=%llu", (unsigned long long)lg->put_dropped);
        lg->put_dropped = 0;
    }
    xfree(j->group);
    xfree(j->stream);
    xfree(j->text);
    xfree(j->events);
    xfree(j);
}

/* p with every byte that is not part of well-formed UTF-8 replaced by U+FFFD: events are
 * JSON strings, and a worker may print any bytes (its log may even be cut inside one). */
static char *valid_utf8(const char *p, size_t n, size_t *out_len)
{
    buf b = BUF_INIT;
    buf_reserve(&b, n + 1);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        unsigned char c = (unsigned char)p[i];
        size_t len = c < 0x80 ? 1 : utf8_decode((const unsigned char *)p + i, n - i, &cp);
        if (len) {
            buf_append(&b, p + i, len);
            i += len;
        } else {
            buf_append(&b, "\xef\xbf\xbd", 3);
            i++;
        }
    }
    return buf_steal(&b, out_len);
}

/* A job for group/stream holding text (len bytes, made valid UTF-8), or NULL when over the
 * bound. */
static put_job *job_new(logs *lg, const char *group, const char *stream, const char *text,
                        size_t len, size_t nevents)
{
    size_t bytes = len + nevents * sizeof(store_log_event) + sizeof(put_job);
    if (lg->put_bytes_in_flight + bytes > PUT_MAX_IN_FLIGHT) {
        lg->put_dropped += nevents;
        return NULL;
    }
    put_job *j = xcalloc(1, sizeof *j);
    j->lg = lg;
    j->group = xstrdup(group);
    j->stream = xstrdup(stream);
    j->text = valid_utf8(text, len, &j->len);
    j->bytes = bytes;
    lg->put_bytes_in_flight += bytes;
    return j;
}

/* The length of the event starting at off: its line, newline included, or as much of it as
 * an event holds, cut between two characters. */
static size_t line_at(const put_job *j, size_t off)
{
    const char *p = j->text + off;
    const char *nl = memchr(p, '\n', j->len - off);
    size_t n = nl ? (size_t)(nl - p) + 1 : j->len - off;
    if (n > LINE_MAX_BYTES) {
        n = LINE_MAX_BYTES;
        while (n > 1 && ((unsigned char)p[n] & 0xc0) == 0x80)
            n--;
    }
    return n;
}

static void job_add(put_job *j, int64_t ts_ms, size_t off, size_t len)
{
    XGROW(j->events, j->n, j->cap);
    j->events[j->n++] = (store_log_event){.ts_ms = ts_ms, .message = j->text + off, .len = len};
}

static void job_submit(put_job *j)
{
    j->op.kind = STORE_LOGS_PUT;
    j->op.now_ms = clock_now_ms();
    j->op.done = job_done;
    j->op.ctx = j;
    j->op.u.logs_put.group = j->group;
    j->op.u.logs_put.stream = j->stream;
    j->op.u.logs_put.events = j->events;
    j->op.u.logs_put.n = j->n;
    j->op.u.logs_put.create = 1;
    j->op.u.logs_put.retention_days = j->lg->lambda_retention_days;
    store_submit(j->lg->store, &j->op);
}

void logs_put(logs *lg, const char *group, const char *stream, int64_t ts_ms, const char *msg,
              size_t len)
{
    if (!lg || len == 0)
        return;
    if (len > LINE_MAX_BYTES)
        len = LINE_MAX_BYTES; /* a character cut here becomes U+FFFD */
    put_job *j = job_new(lg, group, stream, msg, len, 1);
    if (!j)
        return;
    job_add(j, ts_ms, 0, j->len);
    job_submit(j);
}

/* ---- a function invocation's log ----------------------------------------------------- */

void logs_lambda_stream_name(char *out, size_t cap, const char *version, const char *worker_id,
                             int64_t started_ms)
{
    time_t t = (time_t)(started_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char day[16];
    strftime(day, sizeof day, "%Y/%m/%d", &tm);
    snprintf(out, cap, "%s/[%s]%s", day, version && *version ? version : "$LATEST", worker_id);
}

void logs_put_invocation(logs *lg, const char *function, const char *version, const char *worker_id,
                         int64_t worker_started_ms, int64_t start_ms, int64_t end_ms,
                         const char *log, size_t len)
{
    if (!lg || len == 0)
        return;
    char group[600], stream[160];
    snprintf(group, sizeof group, "/aws/lambda/%s", function);
    logs_lambda_stream_name(stream, sizeof stream, version, worker_id, worker_started_ms);
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += log[i] == '\n';
    put_job *j = job_new(lg, group, stream, log, len, lines);
    if (!j)
        return;
    /* One event per line, its newline kept, as Lambda's are; the START line and what the
     * worker printed before it (its init) are stamped when the invocation started. */
    int64_t ts = start_ms;
    for (size_t off = 0; off < j->len;) {
        size_t n = line_at(j, off);
        int is_start = strncmp(j->text + off, "START RequestId: ", 17) == 0;
        job_add(j, ts, off, n);
        if (is_start)
            ts = end_ms;
        off += n;
    }
    if (ts == start_ms) /* no START line: the whole log is the invocation's end */
        for (size_t i = 0; i < j->n; i++)
            j->events[i].ts_ms = end_ms;
    job_submit(j);
}
