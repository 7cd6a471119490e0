/* A distributed Map's ItemReader and ResultWriter over this server's S3.
 *
 * ItemReader: "arn:aws:states:::s3:getObject" reads one object as its ReaderConfig's
 * InputType says (JSON: an array, or the array ItemsPointer points at; JSONL: one value a
 * line; CSV: one object a row, every value a string, the headers from the FIRST_ROW or
 * GIVEN as CSVHeaders, CSVDelimiter COMMA/PIPE/SEMICOLON/SPACE/TAB);
 * "arn:aws:states:::s3:listObjectsV2" lists the objects under a Prefix, all pages, each as
 * {Etag, Key, LastModified (epoch seconds), Size, StorageClass} as AWS gives them.
 * MaxItems / MaxItemsPath keep the first ones. Parameters (JSONPath) or Arguments (JSONata)
 * name Bucket, Key, Prefix.
 *
 * ResultWriter: "arn:aws:states:::s3:putObject" with Bucket and Prefix writes, when every
 * iteration is done, PREFIX/MAPRUNID/SUCCEEDED_0.json and FAILED_0.json (those with
 * entries: each iteration's Input, Output or Error and Cause, status, dates) and then
 * manifest.json listing them; the Map's result is {MapRunArn, ResultWriterDetails: {Bucket,
 * Key}}.
 *
 * Neither blocks the loop: the Map's cursor waits in phase "reading" or "writing" (committed
 * first, with a fresh token), the S3 calls run in-process (aws_call_internal, counted in
 * ex->inflight, ex->invoking keeps the execution in memory), and their answer is a step of
 * its own: the items go into the cursor and the iterations start (sfn_branches_items), or
 * the written result ends the state. An answer whose token is no longer the cursor's (the
 * execution was stopped, timed out) is dropped. After a crash a cursor found in either phase
 * reads (or writes) again: both are idempotent. Failures are States.ItemReaderFailed and
 * States.ResultWriterFailed, with the S3 error in the cause. */
#include "services/stepfunctions/sfn_run.h"

#include "common/alloc.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/ids.h"
#include "protocol/aws.h"
#include "services/stepfunctions/sfn_integrations.h"
#include "services/stepfunctions/sfn_jsonpath.h"
#include "services/stepfunctions/sfn_template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define READ_OBJECT   "arn:aws:states:::s3:getObject"
#define LIST_OBJECTS  "arn:aws:states:::s3:listObjectsV2"
#define PUT_OBJECT    "arn:aws:states:::s3:putObject"
#define READER_FAILED "States.ItemReaderFailed"
#define WRITER_FAILED "States.ResultWriterFailed"

static json_t *cursor_of(const sfn_exec *ex)
{
    return json_object_get(ex->doc, "cursor");
}

bool sfn_map_has_reader(const sfn_exec *ex, const json_t *state)
{
    return !ex->test && sfn_doc_str(json_object_get(state, "ItemReader"), "Resource") != NULL;
}

bool sfn_map_has_writer(const sfn_exec *ex, const json_t *state)
{
    return !ex->test && sfn_doc_str(json_object_get(state, "ResultWriter"), "Resource") != NULL;
}

/* A field's Parameters (JSONPath, on eff) or Arguments (JSONata): a new object, or NULL
 * with io->err set. */
static json_t *field_args(sfn_step_io *io, const json_t *field, json_t *eff)
{
    json_t *out = NULL;
    if (io->jsonata) {
        json_t *tmpl = json_object_get(field, "Arguments");
        json_t *states = sfn_states_var(io, NULL, NULL);
        out = tmpl ? sfn_jsonata_render(io, tmpl, "Arguments", states) : json_object();
        json_decref(states);
    } else {
        json_t *tmpl = json_object_get(field, "Parameters");
        if (!tmpl)
            out = json_object();
        else if (sfn_template_apply(tmpl, eff, io->context, &out, &io->err) != 0)
            out = NULL;
    }
    if (out && !json_is_object(out)) {
        json_decref(out);
        sfn_error_set(&io->err, "States.Runtime", "The S3 arguments must be a JSON object");
        return NULL;
    }
    return out;
}

/* ReaderConfig's MaxItems (a number, a JSONata expression) or MaxItemsPath; 0: all. -1
 * with io->err set. */
static json_int_t max_items(sfn_step_io *io, const json_t *config, json_t *eff)
{
    json_t *v = NULL;
    const char *path = sfn_doc_str(config, "MaxItemsPath");
    if (path) {
        if (sfn_path_apply(path, eff, io->context, &v, &io->err) != 0)
            return -1;
    } else if (io->jsonata && json_is_string(json_object_get(config, "MaxItems"))) {
        json_t *states = sfn_states_var(io, NULL, NULL);
        v = sfn_jsonata_render(io, json_object_get(config, "MaxItems"), "MaxItems", states);
        json_decref(states);
        if (!v)
            return -1;
    } else {
        v = json_incref(json_object_get(config, "MaxItems"));
    }
    json_int_t n = v ? (json_is_integer(v) ? json_integer_value(v) : -1) : 0;
    json_decref(v);
    if (n < 0) {
        sfn_error_set(&io->err, "States.Runtime",
                      "The ItemReader's MaxItems must be a non-negative integer");
        return -1;
    }
    return n;
}

int sfn_map_reader_prepare(sfn_step_io *io, json_t *eff, json_t *cursor)
{
    const json_t *reader = json_object_get(io->state, "ItemReader");
    json_t *args = field_args(io, reader, eff);
    if (!args)
        return -1;
    json_int_t max = max_items(io, json_object_get(reader, "ReaderConfig"), eff);
    if (max < 0) {
        json_decref(args);
        return -1;
    }
    json_object_set_new(cursor, "reader", json_pack("{s:o,s:I}", "args", args, "max", max));
    json_object_set_new(cursor, "token", json_integer((json_int_t)(ids_random64() >> 12)));
    json_object_set_new(cursor, "phase", json_string("reading"));
    return 0;
}

/* ---- parsing what was read ---------------------------------------------------------- */

typedef struct parse_error {
    char text[512];
} parse_error;

/* The value a JSON pointer (RFC 6901) points at in doc (borrowed), or NULL. */
static json_t *json_pointer(json_t *doc, const char *ptr)
{
    if (!*ptr)
        return doc;
    if (*ptr != '/')
        return NULL;
    json_t *at = doc;
    buf token = BUF_INIT;
    for (const char *p = ptr + 1; at;) {
        buf_reset(&token);
        while (*p && *p != '/') {
            if (p[0] == '~' && (p[1] == '0' || p[1] == '1')) {
                buf_putc(&token, p[1] == '0' ? '~' : '/');
                p += 2;
            } else {
                buf_putc(&token, *p++);
            }
        }
        buf_putc(&token, '\0');
        if (json_is_object(at)) {
            at = json_object_get(at, token.data);
        } else if (json_is_array(at)) {
            char *end = NULL;
            long i = strtol(token.data, &end, 10);
            at = end && !*end && end != token.data && i >= 0 ? json_array_get(at, (size_t)i) : NULL;
        } else {
            at = NULL;
        }
        if (!*p)
            break;
        p++;
    }
    buf_free(&token);
    return at;
}

static json_t *parse_json(const char *text, size_t len, const json_t *config, parse_error *e)
{
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, JSON_DECODE_ANY, &jerr);
    if (!doc) {
        snprintf(e->text, sizeof e->text, "The object is not JSON: %s (line %d)", jerr.text,
                 jerr.line);
        return NULL;
    }
    const char *ptr = sfn_doc_str(config, "ItemsPointer");
    json_t *items = ptr ? json_pointer(doc, ptr) : doc;
    if (!json_is_array(items)) {
        snprintf(e->text, sizeof e->text, "%s%s%s", ptr ? "ItemsPointer '" : "",
                 ptr ? ptr : "The object is not a JSON array",
                 ptr ? "' does not point to a JSON array" : "");
        json_decref(doc);
        return NULL;
    }
    json_incref(items);
    json_decref(doc);
    return items;
}

static json_t *parse_jsonl(const char *text, size_t len, parse_error *e)
{
    json_t *items = json_array();
    size_t line = 0;
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - text) : len, n = end - i;
        line++;
        while (n && (text[i + n - 1] == '\r' || text[i + n - 1] == ' ' || text[i + n - 1] == '\t'))
            n--;
        if (n) {
            json_error_t jerr;
            json_t *v = json_loadb(text + i, n, JSON_DECODE_ANY, &jerr);
            if (!v) {
                snprintf(e->text, sizeof e->text, "Line %zu is not JSON: %s", line, jerr.text);
                json_decref(items);
                return NULL;
            }
            json_array_append_new(items, v);
        }
        i = end + 1;
    }
    return items;
}

static int csv_push_field(json_t *row, buf *field, parse_error *e)
{
    json_t *v = json_stringn(field->data ? field->data : "", field->len);
    buf_reset(field);
    if (!v) {
        snprintf(e->text, sizeof e->text, "The CSV object is not UTF-8 text");
        return -1;
    }
    json_array_append_new(row, v);
    return 0;
}

/* The rows of CSV text (RFC 4180: quoted fields, "" inside quotes, LF or CRLF line ends;
 * blank lines are skipped), each an array of strings. NULL with e set. */
static json_t *csv_rows(const char *p, size_t n, char delim, parse_error *e)
{
    json_t *rows = json_array(), *row = json_array();
    buf field = BUF_INIT;
    bool quoted = false, any = false;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char ch = p[i];
        if (quoted) {
            if (ch != '"')
                buf_putc(&field, ch);
            else if (i + 1 < n && p[i + 1] == '"')
                buf_putc(&field, p[++i]);
            else
                quoted = false;
        } else if (ch == '"') {
            quoted = any = true;
        } else if (ch == delim) {
            rc = csv_push_field(row, &field, e);
            any = true;
        } else if (ch == '\r' || ch == '\n') {
            if (ch == '\r' && i + 1 < n && p[i + 1] == '\n')
                i++;
            if (any || field.len) {
                rc = csv_push_field(row, &field, e);
                json_array_append_new(rows, row);
                row = json_array();
            }
            any = false;
        } else {
            buf_putc(&field, ch);
            any = true;
        }
    }
    if (rc == 0 && quoted) {
        snprintf(e->text, sizeof e->text, "The CSV object ends inside a quoted field");
        rc = -1;
    }
    if (rc == 0 && (any || field.len)) {
        rc = csv_push_field(row, &field, e);
        json_array_append_new(rows, row);
        row = NULL;
    }
    json_decref(row);
    buf_free(&field);
    if (rc != 0) {
        json_decref(rows);
        return NULL;
    }
    return rows;
}

static int csv_delimiter(const json_t *config, char *out, parse_error *e)
{
    static const struct {
        const char *name;
        char ch;
    } names[] = {{"COMMA", ','}, {"PIPE", '|'}, {"SEMICOLON", ';'}, {"SPACE", ' '}, {"TAB", '\t'}};
    const char *d = sfn_doc_str(config, "CSVDelimiter");
    *out = ',';
    if (!d)
        return 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(d, names[i].name) == 0) {
            *out = names[i].ch;
            return 0;
        }
    snprintf(e->text, sizeof e->text, "Unknown CSVDelimiter '%s'", d);
    return -1;
}

static json_t *parse_csv(const char *text, size_t len, const json_t *config, parse_error *e)
{
    char delim;
    if (csv_delimiter(config, &delim, e) != 0)
        return NULL;
    json_t *rows = csv_rows(text, len, delim, e);
    if (!rows)
        return NULL;
    const char *where = sfn_doc_str(config, "CSVHeaderLocation");
    bool given = where && strcmp(where, "GIVEN") == 0;
    json_t *headers = given ? json_object_get(config, "CSVHeaders") : json_array_get(rows, 0);
    json_t *items = NULL;
    if (!json_is_array(headers) || json_array_size(headers) == 0) {
        snprintf(e->text, sizeof e->text,
                 given ? "CSVHeaderLocation GIVEN needs CSVHeaders" : "The CSV object is empty");
        goto done;
    }
    items = json_array();
    for (size_t r = given ? 0 : 1; r < json_array_size(rows); r++) {
        json_t *row = json_array_get(rows, r);
        if (json_array_size(row) != json_array_size(headers)) {
            snprintf(e->text, sizeof e->text, "CSV row %zu has %zu fields, the header has %zu",
                     r + 1, json_array_size(row), json_array_size(headers));
            json_decref(items);
            items = NULL;
            goto done;
        }
        json_t *item = json_object();
        size_t i;
        json_t *h;
        json_array_foreach(headers, i, h)
            json_object_set(item, json_string_value(h) ?: "", json_array_get(row, i));
        json_array_append_new(items, item);
    }
done:
    json_decref(rows);
    return items;
}

/* The items of an object's text as the reader's config says. NULL with e set. */
static json_t *parse_object(const json_t *config, const char *text, size_t len, parse_error *e)
{
    const char *type = sfn_doc_str(config, "InputType");
    if (!type || strcmp(type, "JSON") == 0)
        return parse_json(text, len, config, e);
    if (strcmp(type, "JSONL") == 0)
        return parse_jsonl(text, len, e);
    if (strcmp(type, "CSV") == 0)
        return parse_csv(text, len, config, e);
    snprintf(e->text, sizeof e->text, "Sluice does not read InputType '%s'", type);
    return NULL;
}

/* ---- the S3 calls ------------------------------------------------------------------- */

typedef struct io_call {
    sfn *s;
    sfn_exec *ex;
    json_int_t token;
    const aws_service_def *s3;
    bool writing;
    json_t *args;  /* reading: Bucket, Key / Prefix; writing: the PutObject inputs left */
    json_t *items; /* listing: the items so far */
    json_int_t max;
} io_call;

static void io_call_free(io_call *c)
{
    json_decref(c->args);
    json_decref(c->items);
    xfree(c);
}

/* Whether the call's answer is still wanted by the execution's cursor. */
static bool still_current(io_call *c)
{
    sfn_exec *ex = c->ex;
    ex->inflight--;
    if (c->s->stopping)
        return false; /* the restart reads (writes) again */
    json_t *cursor = cursor_of(ex);
    bool current =
        sfn_exec_running(ex) && cursor &&
        strcmp(sfn_doc_str(cursor, "phase") ?: "", c->writing ? "writing" : "reading") == 0 &&
        sfn_doc_int(cursor, "token") == c->token && !ex->committing;
    if (!current) {
        if (!sfn_exec_running(ex))
            ex->invoking = false;
        sfn_exec_maybe_free(c->s, ex);
    }
    return current;
}

typedef struct io_outcome {
    json_t *items; /* reading: taken */
    const char *error;
    const char *cause;
} io_outcome;

static void outcome_step(sfn_transition *t, sfn_step_io *io, const char *name, void *arg)
{
    io_outcome *o = arg;
    json_t *cursor = cursor_of(t->ex);
    bool writing = strcmp(sfn_doc_str(cursor, "phase"), "writing") == 0;
    json_object_del(cursor, "token");
    if (o->error) {
        if (writing) /* (a Map Run starts once the items are read) */
            sfn_map_run_end(t, o->error, o->cause);
        sfn_emit(t, "MapStateFailed", NULL, NULL);
        json_object_set_new(cursor, "phase", json_string("failed"));
        sfn_state_error(t, io, o->error, o->cause);
        json_decref(o->items);
        return;
    }
    if (writing) {
        json_object_set_new(cursor, "written", sfn_map_written(t->s, t->ex));
        json_object_set_new(cursor, "phase", json_string("branches"));
        sfn_branches_step(t, io, name, "Map");
    } else {
        sfn_branches_items(t, io, name, o->items);
    }
}

/* The call is over: a step with its outcome (items taken). */
static void io_finish(io_call *c, json_t *items, const char *error, const char *cause)
{
    sfn *s = c->s;
    sfn_exec *ex = c->ex;
    io_call_free(c);
    ex->invoking = false;
    ex->wake_ms = 0;
    json_t *cursor = json_incref(cursor_of(ex));
    const char *name = sfn_doc_str(cursor, "state");
    sfn_transition *t = sfn_transition_new(s, ex);
    sfn_step_io io;
    sfn_step_io_init(&io, ex, json_object_get(json_object_get(ex->def, "States"), name),
                     json_object_get(cursor, "stateInput"), name, t->now);
    io_outcome o = {items, error, cause};
    outcome_step(t, &io, name, &o);
    json_decref(io.context);
    json_decref(cursor);
    sfn_transition_commit(t);
}

static void s3_failed(io_call *c, const char *what, const char *error, const char *message)
{
    buf cause = BUF_INIT;
    buf_printf(&cause, "%s: %s: %s", what, error, message ? message : "");
    buf_putc(&cause, '\0');
    io_finish(c, NULL, c->writing ? WRITER_FAILED : READER_FAILED, cause.data);
    buf_free(&cause);
}

static const json_t *state_of(const sfn_exec *ex)
{
    return json_object_get(json_object_get(ex->def, "States"), sfn_doc_str(cursor_of(ex), "state"));
}

static const json_t *reader_config(const sfn_exec *ex)
{
    return json_object_get(json_object_get(state_of(ex), "ItemReader"), "ReaderConfig");
}

static void keep_max(json_t *items, json_int_t max)
{
    while (max > 0 && (json_int_t)json_array_size(items) > max)
        json_array_remove(items, json_array_size(items) - 1);
}

static void got_object(const json_t *output, const char *error, const char *message, void *arg)
{
    io_call *c = arg;
    if (!still_current(c)) {
        io_call_free(c);
        return;
    }
    char what[600];
    snprintf(what, sizeof what, "Could not read the object '%s' of bucket '%s'",
             sfn_doc_str(c->args, "Key") ?: "", sfn_doc_str(c->args, "Bucket") ?: "");
    if (error) {
        s3_failed(c, what, error, message);
        return;
    }
    json_t *body = json_object_get(output, "Body");
    parse_error e = {{0}};
    json_t *items = parse_object(reader_config(c->ex), json_string_value(body) ?: "",
                                 json_string_length(body), &e);
    if (!items) {
        s3_failed(c, what, "InvalidContent", e.text);
        return;
    }
    keep_max(items, c->max);
    io_finish(c, items, NULL, NULL);
}

/* "2024-05-01T10:00:00.000Z" as epoch seconds. */
static json_int_t iso_seconds(const char *iso)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!iso || sscanf(iso, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                       &tm.tm_min, &tm.tm_sec) != 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (json_int_t)timegm(&tm);
}

static void list_page(io_call *c, const char *continuation);

static void listed(const json_t *output, const char *error, const char *message, void *arg)
{
    io_call *c = arg;
    if (!still_current(c)) {
        io_call_free(c);
        return;
    }
    if (error) {
        char what[600];
        snprintf(what, sizeof what, "Could not list bucket '%s'",
                 sfn_doc_str(c->args, "Bucket") ?: "");
        s3_failed(c, what, error, message);
        return;
    }
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(output, "Contents"), i, o)
    {
        json_array_append_new(c->items,
                              json_pack("{s:O,s:O,s:I,s:O,s:O}", "Etag", json_object_get(o, "ETag"),
                                        "Key", json_object_get(o, "Key"), "LastModified",
                                        iso_seconds(sfn_doc_str(o, "LastModified")), "Size",
                                        json_object_get(o, "Size"), "StorageClass",
                                        json_object_get(o, "StorageClass")));
    }
    const char *next = sfn_doc_str(output, "NextContinuationToken");
    bool enough = c->max > 0 && (json_int_t)json_array_size(c->items) >= c->max;
    if (json_is_true(json_object_get(output, "IsTruncated")) && next && !enough) {
        list_page(c, next);
        return;
    }
    json_t *items = c->items;
    c->items = NULL;
    keep_max(items, c->max);
    io_finish(c, items, NULL, NULL);
}

static void list_page(io_call *c, const char *continuation)
{
    json_t *input = json_pack("{s:O}", "Bucket", json_object_get(c->args, "Bucket"));
    if (json_object_get(c->args, "Prefix"))
        json_object_set(input, "Prefix", json_object_get(c->args, "Prefix"));
    if (continuation)
        json_object_set_new(input, "ContinuationToken", json_string(continuation));
    c->ex->inflight++;
    aws_call_internal(c->s3, "ListObjectsV2", input, listed, c);
}

static void start_reading(io_call *c, const json_t *state)
{
    const char *resource = sfn_doc_str(json_object_get(state, "ItemReader"), "Resource");
    json_t *r = json_object_get(cursor_of(c->ex), "reader");
    c->args = json_incref(json_object_get(r, "args"));
    c->max = sfn_doc_int(r, "max");
    const char *bucket = sfn_doc_str(c->args, "Bucket");
    bool list = resource && strcmp(resource, LIST_OBJECTS) == 0;
    if (!resource || (!list && strcmp(resource, READ_OBJECT) != 0)) {
        char cause[600];
        snprintf(cause, sizeof cause, "Sluice does not read items with the resource '%s'",
                 resource ? resource : "");
        io_finish(c, NULL, READER_FAILED, cause);
        return;
    }
    if (!bucket || (!list && !sfn_doc_str(c->args, "Key"))) {
        io_finish(c, NULL, READER_FAILED,
                  list ? "The ItemReader's Parameters need a Bucket"
                       : "The ItemReader's Parameters need a Bucket and a Key");
        return;
    }
    if (list) {
        c->items = json_array();
        list_page(c, NULL);
        return;
    }
    json_t *input =
        json_pack("{s:s,s:O}", "Bucket", bucket, "Key", json_object_get(c->args, "Key"));
    if (json_object_get(c->args, "VersionId"))
        json_object_set(input, "VersionId", json_object_get(c->args, "VersionId"));
    c->ex->inflight++;
    aws_call_internal(c->s3, "GetObject", input, got_object, c);
}

/* ---- ResultWriter ------------------------------------------------------------------- */

static void put_next(io_call *c);

static void put_done(const json_t *output, const char *error, const char *message, void *arg)
{
    (void)output;
    io_call *c = arg;
    if (!still_current(c)) {
        io_call_free(c);
        return;
    }
    json_t *put = json_array_get(c->args, 0);
    if (error) {
        char what[600];
        snprintf(what, sizeof what, "Could not write the object '%s' of bucket '%s'",
                 sfn_doc_str(put, "Key") ?: "", sfn_doc_str(put, "Bucket") ?: "");
        s3_failed(c, what, error, message);
        return;
    }
    json_array_remove(c->args, 0);
    put_next(c);
}

static void put_next(io_call *c)
{
    json_t *put = json_array_get(c->args, 0);
    if (!put) {
        io_finish(c, NULL, NULL, NULL);
        return;
    }
    c->ex->inflight++;
    aws_call_internal(c->s3, "PutObject", json_deep_copy(put), put_done, c);
}

/* The map run's ARN: arn:aws:states:REGION:ACCOUNT:mapRun:MACHINE/LABEL:ID. */
char *sfn_map_run_arn(const sfn *s, const sfn_exec *ex)
{
    json_t *cursor = cursor_of(ex);
    const char *label = sfn_doc_str(state_of(ex), "Label");
    buf b = BUF_INIT;
    buf_printf(&b, "arn:aws:states:%s:%s:mapRun:%s/%s:%s", s->region, s->account,
               sfn_doc_str(ex->doc, "stateMachineName") ?: "",
               label ? label : sfn_doc_str(cursor, "state"), sfn_doc_str(cursor, "mapRunId"));
    return buf_steal(&b, NULL);
}

/* PREFIX/MAPRUNID/file (no doubled slash when the prefix ends with one). */
static char *result_key(const json_t *cursor, const char *file)
{
    const char *prefix = sfn_doc_str(json_object_get(cursor, "writer"), "Prefix") ?: "";
    size_t n = strlen(prefix);
    buf b = BUF_INIT;
    buf_printf(&b, "%s%s%s/%s", prefix, n && prefix[n - 1] != '/' ? "/" : "",
               sfn_doc_str(cursor, "mapRunId"), file);
    return buf_steal(&b, NULL);
}

int sfn_map_writer_prepare(sfn_transition *t, sfn_step_io *io, json_t *cursor)
{
    json_t *args = field_args(io, json_object_get(io->state, "ResultWriter"),
                              json_object_get(cursor, "taskInput"));
    if (!args)
        return -1;
    json_object_set_new(cursor, "writer", args);
    if (!sfn_doc_str(cursor, "mapRunId")) {
        char id[37];
        ids_uuid4(id);
        json_object_set_new(cursor, "mapRunId", json_string(id));
    }
    json_object_set_new(cursor, "stoppedMs", json_integer(t->now));
    json_object_set_new(cursor, "token", json_integer((json_int_t)(ids_random64() >> 12)));
    json_object_set_new(cursor, "phase", json_string("writing"));
    return 0;
}

/* One iteration's entry in SUCCEEDED_0.json / FAILED_0.json, as AWS writes them. */
static json_t *result_entry(const sfn *s, const sfn_exec *ex, const char *run_arn, size_t i,
                            bool failed)
{
    json_t *cursor = cursor_of(ex);
    json_t *result = json_array_get(json_object_get(cursor, "results"), i);
    const char *label = sfn_doc_str(state_of(ex), "Label");
    const char *machine = sfn_doc_str(ex->doc, "stateMachineName") ?: "";
    const char *map = label ? label : sfn_doc_str(cursor, "state");
    char name[80], started[32], stopped[32];
    snprintf(name, sizeof name, "%s_%zu", sfn_doc_str(cursor, "mapRunId"), i);
    clock_iso8601_ms(sfn_doc_int(cursor, "startedMs"), started);
    clock_iso8601_ms(sfn_doc_int(cursor, "stoppedMs"), stopped);
    buf arn = BUF_INIT, machine_arn = BUF_INIT;
    buf_printf(&arn, "arn:aws:states:%s:%s:execution:%s/%s:%s", s->region, s->account, machine, map,
               name);
    buf_printf(&machine_arn, "arn:aws:states:%s:%s:stateMachine:%s/%s", s->region, s->account,
               machine, map);
    json_t *e = json_pack("{s:s%,s:s,s:o,s:{s:b},s:s%,s:s,s:s,s:s,s:s,s:i}", "ExecutionArn",
                          arn.data, arn.len, "MapRunArn", run_arn, "Input",
                          sfn_json_text(json_array_get(json_object_get(cursor, "items"), i)),
                          "InputDetails", "Included", 1, "StateMachineArn", machine_arn.data,
                          machine_arn.len, "Name", name, "StartDate", started, "StopDate", stopped,
                          "Status", failed ? "FAILED" : "SUCCEEDED", "RedriveCount", 0);
    buf_free(&arn);
    buf_free(&machine_arn);
    if (failed) {
        json_object_set(e, "Error", json_object_get(result, "Error"));
        json_object_set(e, "Cause", json_object_get(result, "Cause"));
        json_object_set_new(e, "RedriveStatus", json_string("REDRIVABLE_BY_MAP_RUN"));
    } else {
        json_object_set_new(e, "Output", sfn_json_text(result));
        json_object_set_new(e, "OutputDetails", json_pack("{s:b}", "Included", 1));
        json_object_set_new(e, "RedriveStatus", json_string("NOT_REDRIVABLE"));
        json_object_set_new(e, "RedriveStatusReason",
                            json_string("Execution is SUCCEEDED and cannot be redriven"));
    }
    return e;
}

/* Appends the PutObject of one result file (entries taken) and lists it in files. */
static void add_file(json_t *puts, json_t *files, const json_t *cursor, const char *name,
                     json_t *entries)
{
    char *key = result_key(cursor, name);
    char *body = json_dumps(entries, JSON_COMPACT);
    json_decref(entries);
    size_t size = body ? strlen(body) : 0;
    json_array_append_new(
        puts, json_pack("{s:O,s:s,s:s,s:s}", "Bucket",
                        json_object_get(json_object_get(cursor, "writer"), "Bucket"), "Key", key,
                        "Body", body ? body : "[]", "ContentType", "application/json"));
    json_array_append_new(files, json_pack("{s:s,s:I}", "Key", key, "Size", (json_int_t)size));
    free(body);
    xfree(key);
}

static void start_writing(io_call *c)
{
    json_t *cursor = cursor_of(c->ex);
    json_t *writer = json_object_get(cursor, "writer");
    const char *resource =
        sfn_doc_str(json_object_get(state_of(c->ex), "ResultWriter"), "Resource");
    if (!resource || strcmp(resource, PUT_OBJECT) != 0 || !sfn_doc_str(writer, "Bucket")) {
        io_finish(c, NULL, WRITER_FAILED,
                  !resource || strcmp(resource, PUT_OBJECT) != 0
                      ? "The ResultWriter's Resource must be arn:aws:states:::s3:putObject"
                      : "The ResultWriter's Parameters need a Bucket");
        return;
    }
    char *run_arn = sfn_map_run_arn(c->s, c->ex);
    json_t *failed_idx = json_object_get(cursor, "failedIdx");
    json_t *ok = json_array(), *bad = json_array();
    size_t total = json_array_size(json_object_get(cursor, "results"));
    for (size_t i = 0; i < total; i++) {
        bool failed = false;
        size_t k;
        json_t *f;
        json_array_foreach(failed_idx, k, f) failed =
            failed || json_integer_value(f) == (json_int_t)i;
        json_array_append_new(failed ? bad : ok, result_entry(c->s, c->ex, run_arn, i, failed));
    }
    c->args = json_array();
    json_t *files = json_pack("{s:[],s:[],s:[]}", "FAILED", "PENDING", "SUCCEEDED");
    if (json_array_size(ok))
        add_file(c->args, json_object_get(files, "SUCCEEDED"), cursor, "SUCCEEDED_0.json",
                 json_incref(ok));
    if (json_array_size(bad))
        add_file(c->args, json_object_get(files, "FAILED"), cursor, "FAILED_0.json",
                 json_incref(bad));
    json_decref(ok);
    json_decref(bad);
    json_t *manifest =
        json_pack("{s:O,s:s,s:o}", "DestinationBucket", json_object_get(writer, "Bucket"),
                  "MapRunArn", run_arn, "ResultFiles", files);
    char *key = result_key(cursor, "manifest.json");
    char *body = json_dumps(manifest, JSON_COMPACT);
    json_array_append_new(
        c->args, json_pack("{s:O,s:s,s:s,s:s}", "Bucket", json_object_get(writer, "Bucket"), "Key",
                           key, "Body", body ? body : "{}", "ContentType", "application/json"));
    free(body);
    xfree(key);
    json_decref(manifest);
    xfree(run_arn);
    put_next(c);
}

json_t *sfn_map_written(const sfn *s, const sfn_exec *ex)
{
    json_t *cursor = cursor_of(ex);
    char *run_arn = sfn_map_run_arn(s, ex);
    char *key = result_key(cursor, "manifest.json");
    json_t *out =
        json_pack("{s:s,s:{s:O,s:s}}", "MapRunArn", run_arn, "ResultWriterDetails", "Bucket",
                  json_object_get(json_object_get(cursor, "writer"), "Bucket"), "Key", key);
    xfree(key);
    xfree(run_arn);
    return out;
}

void sfn_map_io_start(sfn *s, sfn_exec *ex)
{
    json_t *cursor = cursor_of(ex);
    io_call *c = xcalloc(1, sizeof *c);
    c->s = s;
    c->ex = ex;
    c->token = sfn_doc_int(cursor, "token");
    c->writing = strcmp(sfn_doc_str(cursor, "phase"), "writing") == 0;
    c->s3 = sfn_registered_service(s, "s3");
    ex->invoking = true;
    ex->wake_ms = 0;
    if (!c->s3) {
        io_finish(c, NULL, c->writing ? WRITER_FAILED : READER_FAILED,
                  "S3 is not served by this server");
        return;
    }
    if (c->writing)
        start_writing(c);
    else
        start_reading(c, state_of(ex));
}
