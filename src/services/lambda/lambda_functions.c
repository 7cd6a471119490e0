/* The function API: CreateFunction, GetFunction(Configuration), ListFunctions,
 * UpdateFunctionCode/Configuration, DeleteFunction, and tags.
 *
 * A function is one document (LAMBDA_NS_FUNCTION, keyed by name): the FunctionConfiguration
 * members Lambda returns, plus Tags and CodeHex (the hex SHA-256 naming its code directory,
 * DATA/lambda/NAME/HEX/ holding code.zip and the unpacked code/). Code arrives base64 in the
 * request; decoding, hashing, writing and unpacking run on libuv's thread pool, then the
 * document is committed and the call answered. Published versions and aliases live in the
 * same document (lambda_versions.c). */
#include "services/lambda/lambda_internal.h"
#include "services/lambda/lambda_code.h"

#include "common/base64.h"
#include "common/alloc.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/log.h"
#include "services/service_docs.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LIST_DEFAULT 50
#define LIST_MAX     10000

static const char *const runtimes[] = {
    "python3.8",  "python3.9",    "python3.10",      "python3.11", "python3.12",
    "python3.13", "nodejs16.x",   "nodejs18.x",      "nodejs20.x", "nodejs22.x",
    "provided",   "provided.al2", "provided.al2023",
};
static const char *const deprecated_runtimes[] = {
    "python2.7",  "python3.6",  "python3.7",  "nodejs",     "nodejs4.3",
    "nodejs6.10", "nodejs8.10", "nodejs10.x", "nodejs12.x", "nodejs14.x",
};
static const char *const reserved_env[] = {
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
};

static int in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return 1;
    return 0;
}
#define IN(s, list) in_list(s, list, sizeof list / sizeof list[0])

/* ---- the function table --------------------------------------------------------------- */

/* NAME, or the name in arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER], or in
 * ACCOUNT:function:NAME. */
static void name_of(const char *name_or_arn, char *out, size_t cap)
{
    const char *p = strstr(name_or_arn, "function:");
    p = p ? p + strlen("function:") : name_or_arn;
    size_t n = strcspn(p, ":");
    snprintf(out, cap, "%.*s", (int)n, p);
}

static int valid_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)name[i]) && name[i] != '-' && name[i] != '_')
            return 0;
    return 1;
}

static size_t fn_index(lambda *l, const char *name, int *found)
{
    size_t lo = 0, hi = l->nfns;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(l->fns[mid]->name, name);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

lambda_fn *lambda_fn_find(lambda *l, const char *name_or_arn)
{
    char name[128];
    int found;
    if (!name_or_arn)
        return NULL;
    name_of(name_or_arn, name, sizeof name);
    size_t i = fn_index(l, name, &found);
    return found ? l->fns[i] : NULL;
}

static lambda_fn *fn_insert(lambda *l, const char *name, json_t *doc)
{
    int found;
    size_t i = fn_index(l, name, &found);
    if (l->nfns == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->fns = xrealloc(l->fns, l->cap * sizeof *l->fns);
    }
    memmove(l->fns + i + 1, l->fns + i, (l->nfns - i) * sizeof *l->fns);
    lambda_fn *fn = xcalloc(1, sizeof *fn);
    fn->name = xstrdup(name);
    fn->doc = doc;
    fn->latest = fn;
    snprintf(fn->version, sizeof fn->version, "$LATEST");
    l->fns[i] = fn;
    l->nfns++;
    return fn;
}

void lambda_fn_release(lambda *l, lambda_fn *fn)
{
    if (!fn->deleted || fn->workers > 0)
        return;
    xfree(fn->versions);
    json_decref(fn->doc);
    xfree(fn->name);
    xfree(fn);
}

static void fn_remove(lambda *l, lambda_fn *fn)
{
    int found;
    size_t i = fn_index(l, fn->name, &found);
    if (found) {
        memmove(l->fns + i, l->fns + i + 1, (l->nfns - i - 1) * sizeof *l->fns);
        l->nfns--;
    }
    fn->deleted = 1;
    fn->generation++;
    lambda_versions_delete_all(l, fn);
    lambda_workers_retire(l, fn);
    lambda_fn_release(l, fn);
}

void lambda_fn_arn(const lambda *l, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "arn:aws:lambda:%s:%s:function:%s", l->region, l->account, name);
}

void lambda_fn_code_dir(const lambda *l, const lambda_fn *fn, char *out, size_t cap)
{
    snprintf(out, cap, "%s/lambda/%s/%s/code", l->data_dir, fn->name,
             json_string_value(json_object_get(fn->doc, "CodeHex")));
}

void lambda_reply_not_found_q(aws_call *call, const char *qualifier)
{
    lambda *l = call->service->ctx;
    char name[128], arn[512];
    const char *given = lambda_str(call, "FunctionName");
    name_of(given ? given : "", name, sizeof name);
    lambda_fn_arn(l, name, arn, sizeof arn);
    if (qualifier && qualifier[0])
        aws_reply_error(call, LAMBDA_ERR_NOT_FOUND, "Function not found: %s:%s", arn, qualifier);
    else
        aws_reply_error(call, LAMBDA_ERR_NOT_FOUND, "Function not found: %s", arn);
}

lambda_fn *lambda_fn_of_call(aws_call *call)
{
    lambda_fn *fn = lambda_fn_find(call->service->ctx, lambda_str(call, "FunctionName"));
    if (!fn)
        lambda_reply_not_found(call);
    return fn;
}

int lambda_revision_matches(aws_call *call, const json_t *doc, const char *api)
{
    const char *want = lambda_str(call, "RevisionId");
    const char *have = json_string_value(json_object_get(doc, "RevisionId"));
    if (!want || (have && strcmp(want, have) == 0))
        return 1;
    aws_reply_error(call, AWS_ERR_LAMBDA_PRECONDITION_FAILED,
                    "The Revision Id provided does not match the latest Revision Id. Call the "
                    "%s API to retrieve the latest Revision Id",
                    api);
    return 0;
}

void lambda_reply_not_found(aws_call *call)
{
    char qualifier[130];
    lambda_qualifier_of(lambda_str(call, "FunctionName"), qualifier, sizeof qualifier);
    const char *q = lambda_str(call, "Qualifier");
    lambda_reply_not_found_q(call, qualifier[0] ? qualifier : q);
}

static void restore(const char *key, const char *text, void *arg)
{
    lambda *l = arg;
    json_t *doc = json_loads(text, 0, NULL);
    if (doc)
        lambda_versions_load(l, fn_insert(l, key, doc));
}

int lambda_functions_load(lambda *l)
{
    return store_load_docs(l->store, LAMBDA_NS_FUNCTION, restore, l);
}

void lambda_functions_free(lambda *l)
{
    for (size_t i = 0; i < l->nfns; i++) {
        lambda_versions_free(l->fns[i]);
        json_decref(l->fns[i]->doc);
        xfree(l->fns[i]->name);
        xfree(l->fns[i]);
    }
    xfree(l->fns);
    l->fns = NULL;
    l->nfns = 0;
}

/* ---- shapes --------------------------------------------------------------------------- */

json_t *lambda_fn_configuration(const lambda_fn *fn)
{
    /* Members of the document that are not FunctionConfiguration's. */
    static const char *const hidden[] = {
        "Tags",     "CodeHex",     "EventInvokeConfig", /* lambda_eic.c */
        "Versions", "LastVersion", "Aliases",           "Policies", "ReservedConcurrentExecutions",
    };
    json_t *c = json_deep_copy(fn->doc);
    for (size_t i = 0; i < sizeof hidden / sizeof hidden[0]; i++)
        json_object_del(c, hidden[i]);
    return c;
}

void lambda_fn_persist(lambda *l, aws_call *call, json_t *reply, lambda_fn *fn)
{
    fn = fn->latest ? fn->latest : fn;
    service_persist_doc(l->store, call, reply, AWS_ERR_LAMBDA_SERVICE, LAMBDA_NS_FUNCTION, fn->name,
                        fn->deleted ? NULL : fn->doc);
}

void lambda_doc_touch(json_t *doc)
{
    char when[32], rev[37];
    clock_iso8601_ms(clock_now_ms(), when);
    /* Lambda's LastModified: 2024-01-01T00:00:00.000+0000 */
    char *z = strchr(when, 'Z');
    if (z)
        snprintf(z, 6, "+0000");
    ids_uuid4(rev);
    json_object_set_new(doc, "LastModified", json_string(when));
    json_object_set_new(doc, "RevisionId", json_string(rev));
}

/* ---- validation ----------------------------------------------------------------------- */

static int check_runtime(aws_call *call, const char *rt)
{
    if (!rt || IN(rt, runtimes))
        return 0;
    if (IN(rt, deprecated_runtimes))
        aws_reply_error(call, LAMBDA_ERR_INVALID,
                        "The runtime parameter of %s is no longer supported for creating or "
                        "updating AWS Lambda functions. We recommend you use the new runtime "
                        "(python3.12) while creating or updating functions.",
                        rt);
    else
        aws_reply_error(call, LAMBDA_ERR_INVALID,
                        "Value '%s' at 'runtime' failed to satisfy constraint: Member must "
                        "satisfy enum value set: [python3.8, python3.9, python3.10, python3.11, "
                        "python3.12, python3.13, nodejs16.x, nodejs18.x, nodejs20.x, nodejs22.x, "
                        "provided, provided.al2, provided.al2023]",
                        rt);
    return -1;
}

static int check_handler(aws_call *call, const char *rt, const char *handler)
{
    if (handler && (strlen(handler) > 128 || strpbrk(handler, " \t\r\n") ||
                    (strncmp(rt, "provided", 8) != 0 && !strchr(handler, '.')))) {
        aws_reply_error(call, LAMBDA_ERR_INVALID,
                        "Value '%s' at 'handler' failed to satisfy constraint: Member must "
                        "satisfy regular expression pattern: [^\\s]+",
                        handler);
        return -1;
    }
    if (!handler && strncmp(rt, "provided", 8) != 0) {
        aws_reply_error(call, LAMBDA_ERR_INVALID,
                        "Handler cannot be empty for functions of package type Zip");
        return -1;
    }
    return 0;
}

static int check_int(aws_call *call, const char *member, const char *what, json_int_t min,
                     json_int_t max)
{
    json_t *v = json_object_get(call->input, member);
    if (!v)
        return 0;
    json_int_t n = json_integer_value(v);
    if (n < min || n > max) {
        aws_reply_error(call, LAMBDA_ERR_INVALID,
                        "Value '%lld' at '%s' failed to satisfy constraint: Member must have "
                        "value %s %lld",
                        (long long)n, what,
                        n < min ? "greater than or equal to" : "less than or equal to",
                        (long long)(n < min ? min : max));
        return -1;
    }
    return 0;
}

static int check_environment(aws_call *call)
{
    json_t *vars = json_object_get(json_object_get(call->input, "Environment"), "Variables");
    const char *key;
    json_t *v;
    buf bad = BUF_INIT;
    json_object_foreach(vars, key, v)
    {
        if (IN(key, reserved_env))
            buf_printf(&bad, "%s%s", bad.len ? "," : "", key);
    }
    if (bad.len) {
        aws_reply_error(call, LAMBDA_ERR_INVALID,
                        "Lambda was unable to configure your environment variables because the "
                        "environment variables you have provided contains reserved keys that "
                        "are currently not supported for modification. Reserved keys used in "
                        "this request: %s",
                        bad.data);
        buf_free(&bad);
        return -1;
    }
    return 0;
}

static int check_config(aws_call *call, const char *runtime, const char *handler)
{
    if (check_runtime(call, lambda_str(call, "Runtime")) != 0 ||
        check_handler(call, runtime, handler) != 0 ||
        check_int(call, "Timeout", "timeout", 1, 900) != 0 ||
        check_int(call, "MemorySize", "memorySize", 128, 10240) != 0)
        return -1;
    return check_environment(call);
}

/* Copies the configuration members the call gives into doc. */
static void apply_config(json_t *doc, const json_t *in)
{
    static const char *const members[] = {"Runtime",     "Role",    "Handler",
                                          "Description", "Timeout", "MemorySize"};
    for (size_t i = 0; i < sizeof members / sizeof members[0]; i++) {
        json_t *v = json_object_get(in, members[i]);
        if (v)
            json_object_set(doc, members[i], v);
    }
    json_t *env = json_object_get(in, "Environment");
    if (env) {
        json_t *vars = json_object_get(env, "Variables");
        json_object_set_new(
            doc, "Environment",
            json_pack("{s:o}", "Variables", vars ? json_incref(vars) : json_object()));
    }
}

/* ---- code upload (thread pool) -------------------------------------------------------- */

typedef struct upload {
    uv_work_t work;
    aws_call *call;
    lambda *l;
    char name[128];
    char *zip_b64; /* in */
    /* out */
    int status; /* 0, or the aws_error to answer */
    char msg[512];
    char sha_b64[48], sha_hex[65];
    size_t size;
    void (*then)(struct upload *u);
} upload;

static int upload_fail(upload *u, aws_error e, const char *msg)
{
    u->status = (int)e;
    snprintf(u->msg, sizeof u->msg, "%s", msg);
    return -1;
}

static void upload_work(uv_work_t *w)
{
    upload *u = w->data;
    buf zip = BUF_INIT;
    const char *unzip_failed =
        "Could not unzip uploaded file. Please check your file, then try to upload again.";
    if (base64_decode(&zip, u->zip_b64, strlen(u->zip_b64)) != 0) {
        upload_fail(u, LAMBDA_ERR_INVALID, unzip_failed);
        goto done;
    }
    if (zip.len > LAMBDA_ZIP_MAX_BYTES) {
        char m[160];
        snprintf(m, sizeof m,
                 "Request must be smaller than %u bytes for the CreateFunction "
                 "operation",
                 LAMBDA_ZIP_MAX_BYTES);
        upload_fail(u, AWS_ERR_LAMBDA_REQUEST_TOO_LARGE, m);
        goto done;
    }
    u->size = zip.len;
    lambda_code_sha256(zip.data ? zip.data : "", zip.len, u->sha_b64, u->sha_hex);
    char dir[2048], path[2300], tmp[2300], err[256];
    snprintf(dir, sizeof dir, "%s/lambda/%s/%s", u->l->data_dir, u->name, u->sha_hex);
    snprintf(path, sizeof path, "%s/code", dir);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        goto done; /* this very code is already unpacked */
    snprintf(tmp, sizeof tmp, "%s/code.tmp-%016llx", dir, (unsigned long long)ids_random64());
    if (lambda_code_mkdirs(tmp) != 0) {
        upload_fail(u, AWS_ERR_LAMBDA_SERVICE, "Cannot store the code.");
        goto done;
    }
    int rc =
        lambda_code_extract(zip.data, zip.len, tmp, LAMBDA_UNZIPPED_MAX_BYTES, err, sizeof err);
    if (rc == LAMBDA_CODE_TOO_LARGE) {
        char m[160];
        snprintf(m, sizeof m, "Unzipped size must be smaller than %u bytes",
                 LAMBDA_UNZIPPED_MAX_BYTES);
        upload_fail(u, LAMBDA_ERR_INVALID, m);
    } else if (rc == LAMBDA_CODE_UNSAFE) {
        char m[400];
        snprintf(m, sizeof m, "Could not unzip uploaded file: %s.", err);
        upload_fail(u, LAMBDA_ERR_INVALID, m);
    } else if (rc != 0) {
        upload_fail(u, LAMBDA_ERR_INVALID, unzip_failed);
    }
    char zpath[2300];
    snprintf(zpath, sizeof zpath, "%s/code.zip", dir);
    if (rc == 0 &&
        (lambda_code_write_file(zpath, zip.data, zip.len) != 0 || rename(tmp, path) != 0))
        rc = upload_fail(u, AWS_ERR_LAMBDA_SERVICE, "Cannot store the code.");
    if (rc != 0)
        lambda_code_remove_tree(tmp);
done:
    buf_free(&zip);
}

static void upload_after(uv_work_t *w, int status)
{
    upload *u = w->data;
    if (u->status != 0)
        aws_reply_error(u->call, (aws_error)u->status, "%s", u->msg);
    else
        u->then(u);
    xfree(u->zip_b64);
    xfree(u);
}

static void upload_start(aws_call *call, const char *name, const char *zip_b64,
                         void (*then)(upload *u))
{
    lambda *l = call->service->ctx;
    upload *u = xcalloc(1, sizeof *u);
    u->call = call;
    u->l = l;
    u->then = then;
    snprintf(u->name, sizeof u->name, "%s", name);
    u->zip_b64 = xstrdup(zip_b64);
    u->work.data = u;
    uv_queue_work(l->loop, &u->work, upload_work, upload_after);
}

static void set_code(json_t *doc, const upload *u)
{
    json_object_set_new(doc, "CodeSha256", json_string(u->sha_b64));
    json_object_set_new(doc, "CodeSize", json_integer((json_int_t)u->size));
    json_object_set_new(doc, "CodeHex", json_string(u->sha_hex));
}

/* ---- CreateFunction ------------------------------------------------------------------- */

static void create_committed(upload *u)
{
    aws_call *call = u->call;
    lambda *l = u->l;
    if (lambda_fn_find(l, u->name)) { /* created meanwhile */
        aws_reply_error(call, AWS_ERR_LAMBDA_RESOURCE_CONFLICT, "Function already exist: %s",
                        u->name);
        return;
    }
    char arn[512];
    lambda_fn_arn(l, u->name, arn, sizeof arn);
    json_t *doc = json_pack("{s:s,s:s,s:i,s:i,s:s,s:s,s:s,s:s,s:s,s:[s]}", "FunctionName", u->name,
                            "FunctionArn", arn, "Timeout", 3, "MemorySize", 128, "Description", "",
                            "Version", "$LATEST", "State", "Active", "LastUpdateStatus",
                            "Successful", "PackageType", "Zip", "Architectures", "x86_64");
    apply_config(doc, call->input);
    set_code(doc, u);
    lambda_doc_touch(doc);
    json_t *tags = json_object_get(call->input, "Tags");
    json_object_set_new(doc, "Tags", tags ? json_deep_copy(tags) : json_object());
    lambda_fn *fn = fn_insert(l, u->name, doc);
    json_t *pub = json_object_get(call->input, "Publish");
    lambda_fn_persist(
        l, call, lambda_fn_configuration(json_is_true(pub) ? lambda_publish(l, fn, NULL) : fn), fn);
}

void lambda_create_function(aws_call *call)
{
    lambda *l = call->service->ctx;
    const char *given = lambda_str(call, "FunctionName");
    char name[128];
    name_of(given ? given : "", name, sizeof name);
    const char *rt = lambda_str(call, "Runtime");
    if (!valid_name(name)) {
        aws_reply_error(call, LAMBDA_ERR_INVALID,
                        "1 validation error detected: Value '%s' at 'functionName' failed to "
                        "satisfy constraint: Member must satisfy regular expression pattern: "
                        "[a-zA-Z0-9-_]+",
                        given ? given : "");
        return;
    }
    if (!rt) {
        aws_reply_error(call, LAMBDA_ERR_INVALID,
                        "Runtime and Handler are mandatory parameters for functions created "
                        "with deployment packages.");
        return;
    }
    if (check_config(call, rt, lambda_str(call, "Handler")) != 0)
        return;
    if (lambda_fn_find(l, name)) {
        aws_reply_error(call, AWS_ERR_LAMBDA_RESOURCE_CONFLICT, "Function already exist: %s", name);
        return;
    }
    const char *zip =
        json_string_value(json_object_get(json_object_get(call->input, "Code"), "ZipFile"));
    if (!zip) {
        aws_reply_error(call, LAMBDA_ERR_INVALID,
                        "Please provide a source for function code (Sluice takes Code.ZipFile).");
        return;
    }
    upload_start(call, name, zip, create_committed);
}

/* ---- reads ---------------------------------------------------------------------------- */

void lambda_get_function_configuration(aws_call *call)
{
    lambda_fn *fn = lambda_fn_version(call->service->ctx, lambda_str(call, "FunctionName"),
                                      lambda_str(call, "Qualifier"));
    if (!fn) {
        lambda_reply_not_found(call);
        return;
    }
    aws_reply(call, lambda_fn_configuration(fn));
}

void lambda_get_function(aws_call *call)
{
    lambda *l = call->service->ctx;
    lambda_fn *fn =
        lambda_fn_version(l, lambda_str(call, "FunctionName"), lambda_str(call, "Qualifier"));
    if (!fn) {
        lambda_reply_not_found(call);
        return;
    }
    char url[1400];
    snprintf(url, sizeof url, "%s%scode/%s/%s.zip", l->public_url, LAMBDA_HTTP_PREFIX, fn->name,
             json_string_value(json_object_get(fn->doc, "CodeHex")));
    json_t *out = json_pack("{s:o,s:{s:s,s:s}}", "Configuration", lambda_fn_configuration(fn),
                            "Code", "RepositoryType", "S3", "Location", url);
    json_t *tags = json_object_get(fn->latest->doc, "Tags");
    if (json_object_size(tags) > 0)
        json_object_set(out, "Tags", tags);
    long reserved = lambda_reserved_concurrency(fn);
    if (reserved >= 0)
        json_object_set_new(
            out, "Concurrency",
            json_pack("{s:I}", "ReservedConcurrentExecutions", (json_int_t)reserved));
    aws_reply(call, out);
}

json_int_t lambda_max_items(aws_call *call)
{
    json_t *mi = json_object_get(call->input, "MaxItems");
    json_int_t max = mi ? json_integer_value(mi) : LIST_DEFAULT;
    if (max >= 1 && max <= LIST_MAX)
        return max;
    aws_reply_error(call, LAMBDA_ERR_INVALID,
                    "1 validation error detected: Value '%lld' at 'maxItems' failed to satisfy "
                    "constraint: Member must have value between 1 and 10000",
                    (long long)max);
    return -1;
}

void lambda_list_functions(aws_call *call)
{
    lambda *l = call->service->ctx;
    const char *marker = lambda_str(call, "Marker");
    json_int_t max = lambda_max_items(call);
    if (max < 0)
        return;
    size_t i = 0;
    if (marker && marker[0]) {
        int found;
        i = fn_index(l, marker, &found);
        if (found)
            i++;
    }
    const char *which = lambda_str(call, "FunctionVersion");
    int all = which && strcmp(which, "ALL") == 0;
    if (which && !all) {
        aws_reply_error(call, LAMBDA_ERR_INVALID,
                        "1 validation error detected: Value '%s' at 'functionVersion' failed to "
                        "satisfy constraint: Member must satisfy enum value set: [ALL]",
                        which);
        return;
    }
    json_t *list = json_array();
    for (; i < l->nfns && (json_int_t)json_array_size(list) < max; i++) {
        json_array_append_new(list, lambda_fn_configuration(l->fns[i]));
        for (size_t v = 0; all && v < l->fns[i]->nversions; v++)
            json_array_append_new(list, lambda_fn_configuration(l->fns[i]->versions[v]));
    }
    json_t *out = json_pack("{s:o}", "Functions", list);
    if (i < l->nfns)
        json_object_set_new(out, "NextMarker", json_string(l->fns[i - 1]->name));
    aws_reply(call, out);
}

/* ---- updates -------------------------------------------------------------------------- */

static void changed(lambda *l, lambda_fn *fn)
{
    lambda_doc_touch(fn->doc);
    fn->generation++;
    lambda_workers_retire(l, fn);
}

static void code_uploaded(upload *u)
{
    lambda_fn *fn = lambda_fn_find(u->l, u->name);
    if (!fn) {
        lambda_reply_not_found(u->call);
        return;
    }
    set_code(fn->doc, u);
    changed(u->l, fn);
    json_t *pub = json_object_get(u->call->input, "Publish");
    lambda_fn_persist(
        u->l, u->call,
        lambda_fn_configuration(json_is_true(pub) ? lambda_publish(u->l, fn, NULL) : fn), fn);
}

void lambda_update_function_code(aws_call *call)
{
    lambda_fn *fn = lambda_fn_find(call->service->ctx, lambda_str(call, "FunctionName"));
    if (!fn) {
        lambda_reply_not_found(call);
        return;
    }
    const char *zip = lambda_str(call, "ZipFile");
    if (!zip) {
        aws_reply_error(call, LAMBDA_ERR_INVALID,
                        "Please provide a source for function code (Sluice takes ZipFile).");
        return;
    }
    upload_start(call, fn->name, zip, code_uploaded);
}

void lambda_update_function_configuration(aws_call *call)
{
    lambda *l = call->service->ctx;
    lambda_fn *fn = lambda_fn_find(l, lambda_str(call, "FunctionName"));
    if (!fn) {
        lambda_reply_not_found(call);
        return;
    }
    const char *rt = lambda_str(call, "Runtime");
    const char *handler = lambda_str(call, "Handler");
    if (!rt)
        rt = json_string_value(json_object_get(fn->doc, "Runtime"));
    if (!handler)
        handler = json_string_value(json_object_get(fn->doc, "Handler"));
    if (check_config(call, rt, handler) != 0)
        return;
    apply_config(fn->doc, call->input);
    changed(l, fn);
    lambda_fn_persist(l, call, lambda_fn_configuration(fn), fn);
}

void lambda_delete_function(aws_call *call)
{
    lambda *l = call->service->ctx;
    lambda_fn *fn = lambda_fn_find(l, lambda_str(call, "FunctionName"));
    if (!fn) {
        lambda_reply_not_found(call);
        return;
    }
    char qualifier[130];
    lambda_qualifier_of(lambda_str(call, "FunctionName"), qualifier, sizeof qualifier);
    const char *q = lambda_str(call, "Qualifier");
    if (q || qualifier[0]) {
        lambda_delete_version(call, fn, q ? q : qualifier);
        return;
    }
    char name[128];
    snprintf(name, sizeof name, "%s", fn->name);
    fn_remove(l, fn);
    service_persist_doc(l->store, call, NULL, AWS_ERR_LAMBDA_SERVICE, LAMBDA_NS_FUNCTION, name,
                        NULL);
}

/* ---- tags ----------------------------------------------------------------------------- */

static lambda_fn *tagged(aws_call *call)
{
    lambda *l = call->service->ctx;
    const char *arn = lambda_str(call, "Resource");
    lambda_fn *fn = arn && strncmp(arn, "arn:", 4) == 0 ? lambda_fn_find(l, arn) : NULL;
    if (!fn)
        aws_reply_error(call, LAMBDA_ERR_NOT_FOUND, "Function not found: %s", arn ? arn : "");
    return fn;
}

void lambda_tag_resource(aws_call *call)
{
    lambda_fn *fn = tagged(call);
    if (!fn)
        return;
    json_object_update(json_object_get(fn->doc, "Tags"), json_object_get(call->input, "Tags"));
    lambda_fn_persist(call->service->ctx, call, NULL, fn);
}

void lambda_untag_resource(aws_call *call)
{
    lambda_fn *fn = tagged(call);
    if (!fn)
        return;
    json_t *keys = json_object_get(call->input, "TagKeys");
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k)
        json_object_del(json_object_get(fn->doc, "Tags"), json_string_value(k));
    lambda_fn_persist(call->service->ctx, call, NULL, fn);
}

void lambda_list_tags(aws_call *call)
{
    lambda_fn *fn = tagged(call);
    if (fn)
        aws_reply(call, json_pack("{s:O}", "Tags", json_object_get(fn->doc, "Tags")));
}

/* ---- code download -------------------------------------------------------------------- */

typedef struct download {
    uv_work_t work;
    http_request *req;
    char path[2400];
    buf body;
    int found;
} download;

static void download_work(uv_work_t *w)
{
    download *d = w->data;
    FILE *f = fopen(d->path, "rb");
    if (!f)
        return;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(&d->body, chunk, n);
    d->found = !ferror(f);
    fclose(f);
}

static void download_after(uv_work_t *w, int status)
{
    download *d = w->data;
    http_header h = {"Content-Type", d->found ? "application/zip" : "text/plain"};
    if (!d->found) {
        buf_reset(&d->body);
        buf_puts(&d->body, "No such code.\n");
    }
    http_respond(d->req, d->found ? 200 : 404, &h, 1, &d->body);
    buf_free(&d->body);
    xfree(d);
}

/* rest: NAME/HEX.zip */
void lambda_serve_code(lambda *l, http_request *req, const char *rest)
{
    char name[128] = "", hex[65] = "";
    const char *slash = strchr(rest, '/');
    if (slash && (size_t)(slash - rest) < sizeof name)
        snprintf(name, sizeof name, "%.*s", (int)(slash - rest), rest);
    if (slash && strlen(slash + 1) == 68 && strcmp(slash + 65, ".zip") == 0)
        snprintf(hex, sizeof hex, "%.64s", slash + 1);
    int ok = valid_name(name) && strlen(hex) == 64 && strspn(hex, "0123456789abcdef") == 64;
    download *d = xcalloc(1, sizeof *d);
    d->req = req;
    d->work.data = d;
    if (!ok) {
        download_after(&d->work, 0);
        return;
    }
    snprintf(d->path, sizeof d->path, "%s/lambda/%s/%s/code.zip", l->data_dir, name, hex);
    uv_queue_work(l->loop, &d->work, download_work, download_after);
}
