/* Sending statistics: GetSendStatistics' data points and GetSendQuota's count.
 *
 * Activity is counted per 15-minute period (a ses_bucket), per recipient as SES counts
 * against its quota: DeliveryAttempts when a send is accepted (in the send's own fan-out, so
 * the count is exactly as durable as the mail), Bounces when the mailer reports a mail
 * refused for good by the SMTP server (a 5xx) or given up after MAIL_MAX_AGE_MS of temporary
 * failures (in the fan-out that removes the delivery). Complaints and Rejects have no source
 * here (no feedback loop, no virus scan) and stay 0.
 *
 * Each period is one stored document (SES_NS_STATS, keyed by its start in ms):
 * {"Start", "DeliveryAttempts", "Bounces", "Complaints", "Rejects"}. Periods older than two
 * weeks, which GetSendStatistics no longer returns, are deleted when a new period starts.
 *
 * GetSendQuota reports AWS's usual production quota (50,000 a day, 14 a second; Sluice
 * enforces neither) and the DeliveryAttempts of the periods that started in the last 24
 * hours. */
#include "services/ses/ses_internal.h"

#include "common/alloc.h"
#include "common/log.h"
#include "services/service_docs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUOTA_24H  50000.0
#define QUOTA_RATE 14.0
#define DAY_MS     (24LL * 3600 * 1000)

static void bucket_key(int64_t start, char out[32])
{
    snprintf(out, 32, "%lld", (long long)start);
}

static char *bucket_doc(const ses_bucket *b)
{
    json_t *d =
        json_pack("{s:I, s:I, s:I, s:I, s:I}", "Start", (json_int_t)b->start_ms, "DeliveryAttempts",
                  (json_int_t)b->attempts, "Bounces", (json_int_t)b->bounces, "Complaints",
                  (json_int_t)b->complaints, "Rejects", (json_int_t)b->rejects);
    char *text = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    return text;
}

/* Writes (doc) or deletes (NULL) a period's document: into f, or on its own. */
static void put_doc(ses *s, fanout *f, int64_t start, const char *doc)
{
    char key[32];
    bucket_key(start, key);
    if (f) {
        fanout_doc(f, SES_NS_STATS, key, doc);
    } else {
        store_doc d = {SES_NS_STATS, key, doc};
        service_persist_docs(s->store, NULL, NULL, AWS_ERR_INTERNAL_ERROR, &d, 1);
    }
}

/* Inserts a period in start order (oldest first). */
static ses_bucket *insert(ses *s, int64_t start)
{
    if (s->nbuckets == s->bucket_cap) {
        s->bucket_cap = s->bucket_cap ? s->bucket_cap * 2 : 64;
        s->buckets = xrealloc(s->buckets, s->bucket_cap * sizeof *s->buckets);
    }
    size_t i = s->nbuckets;
    while (i > 0 && s->buckets[i - 1].start_ms > start)
        i--;
    memmove(s->buckets + i + 1, s->buckets + i, (s->nbuckets - i) * sizeof *s->buckets);
    s->nbuckets++;
    s->buckets[i] = (ses_bucket){.start_ms = start};
    return &s->buckets[i];
}

/* Forgets (and deletes) the periods older than two weeks. */
static void prune(ses *s, fanout *f, int64_t now_ms)
{
    size_t old = 0;
    while (old < s->nbuckets && s->buckets[old].start_ms < now_ms - SES_STATS_KEEP_MS)
        put_doc(s, f, s->buckets[old++].start_ms, NULL);
    if (old == 0)
        return;
    memmove(s->buckets, s->buckets + old, (s->nbuckets - old) * sizeof *s->buckets);
    s->nbuckets -= old;
}

static ses_bucket *bucket_of(ses *s, fanout *f, int64_t now_ms)
{
    int64_t start = now_ms - now_ms % SES_STATS_BUCKET_MS;
    for (size_t i = s->nbuckets; i > 0; i--) {
        if (s->buckets[i - 1].start_ms == start)
            return &s->buckets[i - 1];
        if (s->buckets[i - 1].start_ms < start)
            break;
    }
    prune(s, f, now_ms);
    return insert(s, start);
}

void ses_stats_count(ses *s, fanout *f, int64_t now_ms, int attempts, int bounces)
{
    ses_bucket *b = bucket_of(s, f, now_ms);
    b->attempts += attempts;
    b->bounces += bounces;
    char *doc = bucket_doc(b);
    put_doc(s, f, b->start_ms, doc);
    free(doc);
}

void ses_stats_restore(const char *key, const char *doc, void *arg)
{
    ses *s = arg;
    json_t *d = json_loads(doc, 0, NULL);
    if (!json_is_integer(json_object_get(d, "Start"))) {
        log_warn("unreadable SES statistics document skipped", "key=%s", key);
        json_decref(d);
        return;
    }
    ses_bucket *b = insert(s, json_integer_value(json_object_get(d, "Start")));
    b->attempts = json_integer_value(json_object_get(d, "DeliveryAttempts"));
    b->bounces = json_integer_value(json_object_get(d, "Bounces"));
    b->complaints = json_integer_value(json_object_get(d, "Complaints"));
    b->rejects = json_integer_value(json_object_get(d, "Rejects"));
    json_decref(d);
}

void ses_stats_outcome(const mail_outcome *o, fanout *f, void *arg)
{
    if (o->result == MAIL_DELIVERED)
        return;
    json_int_t n = json_integer_value(json_object_get(o->meta, "Recipients"));
    ses_stats_count(arg, f, fanout_now(f), 0, n > 0 ? (int)n : 1);
}

json_t *ses_stats_quota(ses *s, int64_t now_ms)
{
    int64_t sent = 0;
    for (size_t i = 0; i < s->nbuckets; i++)
        if (s->buckets[i].start_ms > now_ms - DAY_MS)
            sent += s->buckets[i].attempts;
    return json_pack("{s:f, s:f, s:f}", "Max24HourSend", QUOTA_24H, "MaxSendRate", QUOTA_RATE,
                     "SentLast24Hours", (double)sent);
}

json_t *ses_stats_points(ses *s, int64_t now_ms)
{
    json_t *points = json_array();
    for (size_t i = 0; i < s->nbuckets; i++) {
        const ses_bucket *b = &s->buckets[i];
        if (b->start_ms < now_ms - SES_STATS_KEEP_MS)
            continue;
        json_array_append_new(
            points, json_pack("{s:f, s:I, s:I, s:I, s:I}", "Timestamp", b->start_ms / 1000.0,
                              "DeliveryAttempts", (json_int_t)b->attempts, "Bounces",
                              (json_int_t)b->bounces, "Complaints", (json_int_t)b->complaints,
                              "Rejects", (json_int_t)b->rejects));
    }
    return points;
}

/* ---- SES v1 handlers ------------------------------------------------------------------ */

void ses_get_send_quota_v1(aws_call *call)
{
    aws_reply(call, ses_stats_quota(ses_of(call), call->received_ms));
}

void ses_get_send_statistics_v1(aws_call *call)
{
    json_t *points = ses_stats_points(ses_of(call), call->received_ms);
    aws_reply(call, json_pack("{s:o}", "SendDataPoints", points));
}
