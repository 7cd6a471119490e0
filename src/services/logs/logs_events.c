/* CloudWatch Logs events: PutLogEvents, GetLogEvents and FilterLogEvents.
 *
 * Reads are positioned in the store's (timestamp, seq) order of events. A token names a
 * position: "f/" + 40 digits (the timestamp and the seq of an event, 20 digits each) reads
 * forward from just after it, "b/" + 40 digits backward from just before it. GetLogEvents
 * answers both directions' tokens as AWS does: nextForwardToken after the last event
 * returned, nextBackwardToken before the first, and, at either end of the stream, the token
 * it was given, so a reader that polls with nextForwardToken sees new events as they come
 * and knows it is at the end when the token comes back unchanged. FilterLogEvents reads a
 * whole group forward (every stream, interleaved by time), its filter pattern and stream
 * names applied by the store as it scans (a pure callback), and returns nextToken only while
 * events may remain: `aws logs tail --follow` relies on that to stop paging and poll again. */
#include "services/logs/logs_internal.h"

#include "common/alloc.h"
#include "services/logs/logs_filter.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVENTS_LIMIT       10000
#define EVENTS_MAX_BYTES   (1024 * 1024) /* a page's messages */
#define PUT_MAX_BYTES      1048576       /* a PutLogEvents batch: messages + 26 bytes each */
#define EVENT_OVERHEAD     26
#define EVENT_MAX_BYTES    (256 * 1024) /* one event, its overhead included */
#define PUT_MAX_SPAN_MS    LOGS_DAY_MS
#define TOO_OLD_MS         (14 * LOGS_DAY_MS)
#define TOO_NEW_MS         (2LL * 3600 * 1000)
#define FILTER_SCAN_MAX    20000 /* events a filtered page examines at most */
#define FILTER_STREAMS_MAX 100
#define FILTER_PATTERN_MAX 1024
#define TOKEN_DIGITS       20

/* ---- tokens --------------------------------------------------------------------------- */

static json_t *token_json(char dir, store_log_pos pos)
{
    return json_sprintf("%c/%0*" PRId64 "%0*" PRId64, dir, TOKEN_DIGITS, pos.ts_ms, TOKEN_DIGITS,
                        pos.seq);
}

/* Parses a token ("f/..." or "b/..."): its direction into *dir and position into *pos.
 * 0, or -1 (replied) if it is not a token. */
static int parse_token(aws_call *call, const char *token, char *dir, store_log_pos *pos)
{
    char digits[TOKEN_DIGITS + 1];
    size_t n = strlen(token);
    if (n != 2 + 2 * TOKEN_DIGITS || (token[0] != 'f' && token[0] != 'b') || token[1] != '/' ||
        strspn(token + 2, "0123456789") != 2 * TOKEN_DIGITS) {
        aws_reply_error(call, LOGS_ERR_INVALID, "The specified nextToken is invalid.");
        return -1;
    }
    *dir = token[0];
    memcpy(digits, token + 2, TOKEN_DIGITS);
    digits[TOKEN_DIGITS] = '\0';
    pos->ts_ms = strtoll(digits, NULL, 10);
    pos->seq = strtoll(token + 2 + TOKEN_DIGITS, NULL, 10);
    return 0;
}

/* The [startTime, endTime) window of a read: 0 or -1 (replied). */
static int read_window(aws_call *call, int64_t *from, int64_t *to)
{
    if (logs_in_int(call, "startTime", 0, INT64_MAX, 0, from) != 0 ||
        logs_in_int(call, "endTime", 0, INT64_MAX, INT64_MAX, to) != 0)
        return -1;
    return 0;
}

static json_t *event_json(const store_log_event *e)
{
    return json_pack("{s:I,s:s%,s:I}", "timestamp", (json_int_t)e->ts_ms, "message", e->message,
                     e->len, "ingestionTime", (json_int_t)e->ingest_ms);
}

/* ---- PutLogEvents ------------------------------------------------------------------------ */

typedef struct put_state {
    store_log_event *events;
    size_t too_old; /* events [0, too_old) are older than 14 days */
    size_t too_new; /* events [too_new, n) are more than 2 hours ahead */
    size_t n;
} put_state;

static void put_state_free(void *p)
{
    put_state *st = p;
    xfree(st->events);
    xfree(st);
}

static void reply_put(logs_request *r)
{
    put_state *st = r->extra;
    if (logs_reply_outcome(r->call, r->op.u.logs_put.outcome) != 0)
        return;
    json_t *out = json_object();
    json_t *rejected = json_object();
    if (st->too_new < st->n)
        json_object_set_new(rejected, "tooNewLogEventStartIndex",
                            json_integer((json_int_t)st->too_new));
    if (st->too_old > 0)
        json_object_set_new(rejected, "tooOldLogEventEndIndex",
                            json_integer((json_int_t)st->too_old));
    if (r->op.u.logs_put.expired > 0)
        json_object_set_new(rejected, "expiredLogEventEndIndex",
                            json_integer((json_int_t)(st->too_old + r->op.u.logs_put.expired)));
    if (json_object_size(rejected))
        json_object_set_new(out, "rejectedLogEventsInfo", rejected);
    else
        json_decref(rejected);
    aws_reply(r->call, out);
}

/* Reads and checks logEvents into st->events: 0, or -1 (replied). */
static int put_events_in(aws_call *call, put_state *st)
{
    json_t *list = json_object_get(call->input, "logEvents");
    if (!json_is_array(list)) {
        aws_reply_error(call, LOGS_ERR_INVALID,
                        "1 validation error detected: Value null at 'logEvents' failed to satisfy "
                        "constraint: Member must not be null");
        return -1;
    }
    st->n = json_array_size(list);
    if (st->n < 1 || st->n > EVENTS_LIMIT) {
        aws_reply_error(call, LOGS_ERR_INVALID,
                        "1 validation error detected: Value at 'logEvents' failed to satisfy "
                        "constraint: Member must have length between 1 and %d",
                        EVENTS_LIMIT);
        return -1;
    }
    st->events = xcalloc(st->n, sizeof *st->events);
    size_t total = 0;
    for (size_t i = 0; i < st->n; i++) {
        json_t *e = json_array_get(list, i);
        json_t *ts = json_object_get(e, "timestamp"), *msg = json_object_get(e, "message");
        if (!json_is_integer(ts) || json_integer_value(ts) < 0 || !json_is_string(msg) ||
            json_string_length(msg) == 0) {
            aws_reply_error(call, LOGS_ERR_INVALID,
                            "Log event %zu must have a timestamp (a non-negative integer) and a "
                            "non-empty message.",
                            i);
            return -1;
        }
        store_log_event *ev = &st->events[i];
        ev->ts_ms = json_integer_value(ts);
        ev->message = (char *)json_string_value(msg);
        ev->len = json_string_length(msg);
        if (ev->len + EVENT_OVERHEAD > EVENT_MAX_BYTES) {
            aws_reply_error(call, LOGS_ERR_INVALID,
                            "Log event too large: %zu bytes exceeds limit of %d",
                            ev->len + EVENT_OVERHEAD, EVENT_MAX_BYTES);
            return -1;
        }
        total += ev->len + EVENT_OVERHEAD;
        if (i > 0 && ev->ts_ms < st->events[i - 1].ts_ms) {
            aws_reply_error(call, LOGS_ERR_INVALID,
                            "Log events in a single PutLogEvents request must be in "
                            "chronological order.");
            return -1;
        }
    }
    if (total > PUT_MAX_BYTES) {
        aws_reply_error(call, LOGS_ERR_INVALID, "Upload too large: %zu bytes exceeds limit of %d",
                        total, PUT_MAX_BYTES);
        return -1;
    }
    if (st->events[st->n - 1].ts_ms - st->events[0].ts_ms > PUT_MAX_SPAN_MS) {
        aws_reply_error(call, LOGS_ERR_INVALID,
                        "The batch of log events in a single PutLogEvents request cannot span "
                        "more than 24 hours.");
        return -1;
    }
    return 0;
}

void logs_put_log_events(aws_call *call)
{
    const char *group, *stream, *seq_token;
    if (logs_in_str(call, "logGroupName", true, 1, LOGS_NAME_MAX, &group) != 0 ||
        logs_in_str(call, "logStreamName", true, 1, LOGS_NAME_MAX, &stream) != 0 ||
        logs_in_str(call, "sequenceToken", false, 1, 4096, &seq_token) != 0)
        return;
    put_state *st = xcalloc(1, sizeof *st);
    if (put_events_in(call, st) != 0) {
        put_state_free(st);
        return;
    }
    /* Events too far in the past or the future are refused, not stored; the others are
     * (sequence tokens are ignored, as AWS now does). */
    logs_request *r = logs_request_new(call, STORE_LOGS_PUT, reply_put);
    int64_t now = r->op.now_ms;
    while (st->too_old < st->n && st->events[st->too_old].ts_ms < now - TOO_OLD_MS)
        st->too_old++;
    st->too_new = st->too_old;
    while (st->too_new < st->n && st->events[st->too_new].ts_ms <= now + TOO_NEW_MS)
        st->too_new++;
    r->extra = st;
    r->extra_free = put_state_free;
    r->op.u.logs_put.group = group;
    r->op.u.logs_put.stream = stream;
    r->op.u.logs_put.events = st->events + st->too_old;
    r->op.u.logs_put.n = st->too_new - st->too_old;
    logs_request_submit(r);
}

/* ---- GetLogEvents ------------------------------------------------------------------------ */

typedef struct get_state {
    char dir;          /* 'f' or 'b': the direction read */
    store_log_pos pos; /* where the read started */
} get_state;

static void reply_get(logs_request *r)
{
    typeof(r->op.u.logs_read) *rd = &r->op.u.logs_read;
    get_state *st = r->extra;
    if (logs_reply_outcome(r->call, rd->outcome) != 0)
        return;
    json_t *events = json_array();
    for (size_t i = 0; i < rd->n; i++)
        json_array_append_new(events, event_json(&rd->items[i]));
    store_log_pos fwd = st->pos, back = st->pos;
    if (rd->n > 0) {
        fwd = (store_log_pos){rd->items[rd->n - 1].ts_ms, rd->items[rd->n - 1].seq};
        back = (store_log_pos){rd->items[0].ts_ms, rd->items[0].seq};
    } else if (st->dir == 'b') {
        fwd.seq = st->pos.seq > 0 ? st->pos.seq - 1 : 0; /* forward again includes pos */
    }
    aws_reply(r->call, json_pack("{s:o,s:o,s:o}", "events", events, "nextForwardToken",
                                 token_json('f', fwd), "nextBackwardToken", token_json('b', back)));
}

void logs_get_log_events(aws_call *call)
{
    const char *group, *stream, *token;
    int64_t limit, from, to;
    bool from_head;
    if (logs_in_group(call, true, &group) != 0 ||
        logs_in_str(call, "logStreamName", true, 1, LOGS_NAME_MAX, &stream) != 0 ||
        logs_in_str(call, "nextToken", false, 1, 4096, &token) != 0 ||
        logs_in_int(call, "limit", 1, EVENTS_LIMIT, EVENTS_LIMIT, &limit) != 0 ||
        logs_in_bool(call, "startFromHead", false, &from_head) != 0 ||
        read_window(call, &from, &to) != 0)
        return;
    get_state st = {.dir = from_head ? 'f' : 'b'};
    if (token && parse_token(call, token, &st.dir, &st.pos) != 0)
        return;
    if (!token) /* from the window's start, or back from its end */
        st.pos = st.dir == 'f' ? (store_log_pos){from, 0} : (store_log_pos){to, 0};
    logs_request *r = logs_request_new(call, STORE_LOGS_READ, reply_get);
    typeof(r->op.u.logs_read) *rd = &r->op.u.logs_read;
    rd->from_ms = from;
    rd->to_ms = to;
    rd->group = group;
    rd->stream = stream;
    rd->pos = st.pos;
    rd->backward = st.dir == 'b';
    rd->max = (int)limit;
    rd->max_bytes = EVENTS_MAX_BYTES;
    r->extra = xmemdup(&st, sizeof st);
    r->extra_free = xfree;
    logs_request_submit(r);
}

/* ---- FilterLogEvents --------------------------------------------------------------------- */

/* What the store's scan keeps: events of the named streams (or of the prefix) that match
 * the pattern. Read on the commit thread; immutable while the op runs. */
typedef struct filter_state {
    logs_filter *pattern; /* NULL: every event */
    const char **streams; /* borrowed from the call's input */
    size_t nstreams;
    const char *prefix;
    size_t prefix_len;
} filter_state;

static void filter_state_free(void *p)
{
    filter_state *f = p;
    logs_filter_free(f->pattern);
    xfree(f->streams);
    xfree(f);
}

static int filter_keep(void *arg, const char *stream, const char *msg, size_t len)
{
    const filter_state *f = arg;
    if (f->prefix && strncmp(stream, f->prefix, f->prefix_len) != 0)
        return 0;
    if (f->nstreams) {
        size_t i = 0;
        while (i < f->nstreams && strcmp(f->streams[i], stream) != 0)
            i++;
        if (i == f->nstreams)
            return 0;
    }
    return logs_filter_match(f->pattern, msg, len);
}

static void reply_filter(logs_request *r)
{
    typeof(r->op.u.logs_read) *rd = &r->op.u.logs_read;
    if (logs_reply_outcome(r->call, rd->outcome) != 0)
        return;
    json_t *events = json_array();
    for (size_t i = 0; i < rd->n; i++) {
        const store_log_event *e = &rd->items[i];
        json_t *o = event_json(e);
        json_object_set_new(o, "logStreamName", json_string(e->stream));
        json_object_set_new(o, "eventId", json_sprintf("%" PRId64, e->seq));
        json_array_append_new(events, o);
    }
    json_t *out = json_pack("{s:o}", "events", events);
    if (rd->more) /* resume after the last event examined, kept or not */
        json_object_set_new(out, "nextToken", token_json('f', rd->last));
    aws_reply(r->call, out);
}

/* The stream constraints of a FilterLogEvents call into f: 0, or -1 (replied). */
static int filter_streams_in(aws_call *call, filter_state *f)
{
    json_t *names = json_object_get(call->input, "logStreamNames");
    if (logs_in_str(call, "logStreamNamePrefix", false, 1, LOGS_NAME_MAX, &f->prefix) != 0)
        return -1;
    if (!names || json_is_null(names))
        return 0;
    size_t n = json_array_size(names);
    if (!json_is_array(names) || n < 1 || n > FILTER_STREAMS_MAX) {
        aws_reply_error(call, LOGS_ERR_INVALID,
                        "1 validation error detected: Value at 'logStreamNames' failed to satisfy "
                        "constraint: Member must have length between 1 and %d",
                        FILTER_STREAMS_MAX);
        return -1;
    }
    if (f->prefix) {
        aws_reply_error(call, LOGS_ERR_INVALID,
                        "logStreamNames and logStreamNamePrefix are mutually exclusive "
                        "parameters.");
        return -1;
    }
    f->streams = xcalloc(n, sizeof *f->streams);
    for (size_t i = 0; i < n; i++) {
        f->streams[i] = json_string_value(json_array_get(names, i));
        if (!f->streams[i]) {
            aws_reply_error(call, AWS_ERR_SERIALIZATION_EXCEPTION,
                            "logStreamNames must be a list of strings.");
            return -1;
        }
    }
    f->nstreams = n;
    return 0;
}

void logs_filter_log_events(aws_call *call)
{
    const char *group, *pattern, *token;
    int64_t limit, from, to;
    bool interleaved; /* deprecated: events are always interleaved */
    if (logs_in_group(call, true, &group) != 0 ||
        logs_in_str(call, "filterPattern", false, 0, FILTER_PATTERN_MAX, &pattern) != 0 ||
        logs_in_str(call, "nextToken", false, 1, 4096, &token) != 0 ||
        logs_in_int(call, "limit", 1, EVENTS_LIMIT, EVENTS_LIMIT, &limit) != 0 ||
        logs_in_bool(call, "interleaved", true, &interleaved) != 0 ||
        read_window(call, &from, &to) != 0)
        return;
    filter_state *f = xcalloc(1, sizeof *f);
    char err[256];
    char dir = 'f';
    store_log_pos pos = {0, 0};
    if (filter_streams_in(call, f) != 0 || (token && parse_token(call, token, &dir, &pos) != 0))
        goto fail;
    if (dir != 'f') {
        aws_reply_error(call, LOGS_ERR_INVALID, "The specified nextToken is invalid.");
        goto fail;
    }
    if (logs_filter_compile(pattern, &f->pattern, err, sizeof err) != 0) {
        aws_reply_error(call, LOGS_ERR_INVALID, "%s", err);
        goto fail;
    }
    f->prefix_len = f->prefix ? strlen(f->prefix) : 0;
    logs_request *r = logs_request_new(call, STORE_LOGS_READ, reply_filter);
    r->extra = f;
    r->extra_free = filter_state_free;
    typeof(r->op.u.logs_read) *rd = &r->op.u.logs_read;
    rd->from_ms = from;
    rd->to_ms = to;
    rd->group = group;
    rd->pos = token ? pos : (store_log_pos){from, 0};
    rd->max = (int)limit;
    rd->max_bytes = EVENTS_MAX_BYTES;
    if (f->pattern || f->prefix || f->nstreams) {
        rd->keep = filter_keep;
        rd->keep_arg = f;
        rd->max_scan = FILTER_SCAN_MAX;
    }
    logs_request_submit(r);
    return;
fail:
    filter_state_free(f);
}
