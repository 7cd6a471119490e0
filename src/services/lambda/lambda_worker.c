/* Worker processes and the Lambda Runtime API.
 *
 * A worker is one process running one function's code: the Python or Node.js bootstrap
 * shipped in runtimes/ (lambda_runtimes_resolve says where they are found), or the zip's own
 * `bootstrap` for provided runtimes. It is started with uv_spawn in its own process group,
 * under `prlimit --as=` (util-linux, always installed on Debian: no helper binary to build
 * and locate) so MemorySize bounds its address space, with the environment Lambda sets and
 * AWS_LAMBDA_RUNTIME_API = 127.0.0.1:PORT/_sluice/lambda/rt/TOKEN: the Runtime API paths the
 * client appends (/2018-06-01/runtime/...) reach this file with the worker's token.
 *
 * States: STARTING (spawned, no /next yet) -> IDLE (waiting in /next, idle timer running)
 * <-> BUSY (one invocation: its deadline timer running) -> DEAD (killed or exited). An
 * invocation ends exactly once: by /response, /error, /init/error, its deadline (the
 * process group is SIGKILLed: "Task timed out"), or the process's exit (Runtime.ExitError).
 * A worker whose function changed (generation), was deleted, or whose server is stopping
 * is stopped instead of going back to IDLE. The process's stdout and stderr are the
 * invocation's log, framed by the START / END / REPORT lines Lambda writes; before a
 * response is taken, the pipes are drained synchronously so that what the handler printed
 * before answering is in its log. */
#include "services/lambda/lambda_internal.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/log.h"
#include "services/logs/logs.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ENTRY_MAX      1600 /* a runtime entry point: a task root or runtimes dir + file name */
#define LOG_KEEP_BYTES (64 * 1024) /* an invocation's log keeps at most its last bytes */
/* V8 reserves address space far beyond what it uses: ~800 MB at start, and ~10 GB for each
 * WebAssembly memory (guard regions), which fetch() needs (undici's parser is WebAssembly).
 * A Node.js worker's real bound is its heap (--max-old-space-size=MemorySize); its
 * address-space limit only stops runaway native allocations. */
#define NODE_AS_HEADROOM_MB (12 * 1024)

typedef enum { W_STARTING, W_IDLE, W_BUSY, W_DEAD } worker_state;

typedef struct invocation {
    int active, sent;
    char id[40];
    buf payload;
    uint64_t start_ns;
    int64_t deadline_ms;
    lambda_done_fn done;
    void *arg;
    buf log;
} invocation;

struct lambda_worker {
    lambda *l;
    lambda_fn *fn;
    unsigned generation;
    lambda_worker *next;
    uv_process_t proc;
    uv_pipe_t out, err;
    uv_timer_t timer; /* idle or deadline */
    int open_handles;
    char token[40];
    worker_state state;
    int exited;
    http_request *next_req; /* a parked GET /next */
    int timeout_s, memory_mb;
    char arn[512];
    int64_t spawned_ms;
    double init_ms; /* < 0: reported already (only a cold start has Init Duration) */
    buf early_log;  /* output outside an invocation (init), put in the next one's log */
    invocation inv;
};

static void worker_kill(lambda_worker *w);

/* ---- runtimes ------------------------------------------------------------------------- */

static int has_bootstraps(const char *dir)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/python/bootstrap.py", dir);
    return access(p, R_OK) == 0;
}

/* --lambda-runtimes-dir, else DIR/runtimes or DIR/../share/sluice/runtimes where DIR holds
 * the sluiced executable, else the source tree's runtimes/ (a build tree). */
static void runtimes_resolve(lambda *l)
{
    if (l->runtimes_dir[0])
        return;
    char exe[900];
    size_t n = sizeof exe;
    if (uv_exepath(exe, &n) == 0) {
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = 0;
        const char *cands[] = {"%s/runtimes", "%s/../share/sluice/runtimes"};
        for (size_t i = 0; i < 2; i++) {
            char dir[sizeof l->runtimes_dir - 64];
            snprintf(dir, sizeof dir, cands[i], exe);
            if (has_bootstraps(dir)) {
                snprintf(l->runtimes_dir, sizeof l->runtimes_dir, "%s", dir);
                return;
            }
        }
    }
    snprintf(l->runtimes_dir, sizeof l->runtimes_dir, "%s", SLUICE_RUNTIMES_SOURCE_DIR);
}

/* ---- the invocation's log ------------------------------------------------------------- */

void lambda_set_logs(lambda *l, struct logs *lg)
{
    l->logs = lg;
}

static void log_append(buf *b, const char *p, size_t n)
{
    buf_append(b, p, n);
    if (b->len > 2 * LOG_KEEP_BYTES) {
        memmove(b->data, b->data + b->len - LOG_KEEP_BYTES, LOG_KEEP_BYTES);
        b->len = LOG_KEEP_BYTES;
        b->data[b->len] = 0;
    }
}

static void output(lambda_worker *w, const char *p, size_t n)
{
    log_append(w->inv.active ? &w->inv.log : &w->early_log, p, n);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    static char chunk[65536];
    b->base = chunk;
    b->len = sizeof chunk;
}

static void on_output(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    lambda_worker *w = s->data;
    if (n > 0)
        output(w, b->base, (size_t)n);
    else if (n < 0)
        uv_read_stop(s);
}

/* Reads what the pipes hold now (they are non-blocking), ahead of the loop's callbacks. */
static void drain(lambda_worker *w)
{
    uv_pipe_t *pipes[] = {&w->out, &w->err};
    for (int i = 0; i < 2; i++) {
        uv_os_fd_t fd;
        if (uv_is_closing((uv_handle_t *)pipes[i]) || uv_fileno((uv_handle_t *)pipes[i], &fd) != 0)
            continue;
        char chunk[16384];
        ssize_t n;
        while ((n = read(fd, chunk, sizeof chunk)) > 0)
            output(w, chunk, (size_t)n);
    }
}

/* The peak resident set size of the worker's process, in MB (VmHWM). */
static long max_memory_mb(lambda_worker *w)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", w->proc.pid);
    FILE *f = fopen(path, "r");
    long kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return (kb + 1023) / 1024;
}

/* ---- invocation outcome --------------------------------------------------------------- */

static void start_idle_timer(lambda_worker *w);

static int retiring(const lambda_worker *w)
{
    return w->l->stopping || w->fn->deleted || w->generation != w->fn->generation;
}

/* Ends the current invocation with kind and payload (copied). */
static void finish(lambda_worker *w, lambda_result_kind kind, const char *payload, size_t len)
{
    invocation *inv = &w->inv;
    if (!inv->active)
        return;
    uv_timer_stop(&w->timer);
    if (w->state != W_DEAD)
        drain(w);
    double ms = (double)(clock_mono_ns() - inv->start_ns) / 1e6;
    buf *lg = &inv->log;
    buf_printf(lg, "END RequestId: %s\n", inv->id);
    buf_printf(lg,
               "REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %lld ms\tMemory Size: "
               "%d MB\tMax Memory Used: %ld MB\t",
               inv->id, ms, (long long)(ms < 1 ? 1 : (long long)(ms + 0.999)), w->memory_mb,
               w->state == W_DEAD ? 0L : max_memory_mb(w));
    if (w->init_ms >= 0)
        buf_printf(lg, "Init Duration: %.2f ms\t", w->init_ms);
    buf_putc(lg, '\n');
    w->init_ms = -1;
    logs_put_invocation(w->l->logs, w->fn->name, w->fn->version, w->token, w->spawned_ms,
                        inv->deadline_ms - (int64_t)w->timeout_s * 1000, clock_now_ms(), lg->data,
                        lg->len);
    lambda_result r = {.kind = kind};
    buf_append(&r.payload, payload ? payload : "", len);
    r.log = inv->log;
    inv->log = (buf)BUF_INIT;
    inv->active = 0;
    buf_free(&inv->payload);
    lambda_done_fn done = inv->done;
    void *arg = inv->arg;
    if (w->state == W_BUSY) {
        if (retiring(w))
            worker_kill(w);
        else {
            w->state = W_IDLE;
            start_idle_timer(w);
        }
    }
    done(&r, arg);
    buf_free(&r.payload);
    buf_free(&r.log);
}

/* Lambda's error payload for a failure of the runtime itself. */
static void fail_runtime(lambda_worker *w, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail_runtime(lambda_worker *w, const char *type, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *e = json_pack("{s:s,s:s}", "errorType", type, "errorMessage", msg);
    char *text = json_dumps(e, JSON_COMPACT);
    json_decref(e);
    finish(w, LAMBDA_RESULT_FUNCTION_ERROR, text, strlen(text));
    free(text);
}

/* ---- Runtime API: handing out the invocation ------------------------------------------ */

static void respond_json(http_request *req, int status, const char *text)
{
    buf body = BUF_INIT;
    buf_puts(&body, text);
    http_header h = {"Content-Type", "application/json"};
    http_respond(req, status, &h, 1, &body);
}

static void send_next(lambda_worker *w)
{
    invocation *inv = &w->inv;
    char deadline[32], trace[128];
    snprintf(deadline, sizeof deadline, "%lld", (long long)inv->deadline_ms);
    snprintf(trace, sizeof trace, "Root=1-%08llx-%.24s;Parent=%016llx;Sampled=0",
             (unsigned long long)(clock_now_ms() / 1000), inv->id,
             (unsigned long long)ids_random64());
    http_header h[] = {
        {"Content-Type", "application/json"},     {"Lambda-Runtime-Aws-Request-Id", inv->id},
        {"Lambda-Runtime-Deadline-Ms", deadline}, {"Lambda-Runtime-Invoked-Function-Arn", w->arn},
        {"Lambda-Runtime-Trace-Id", trace},
    };
    buf body = BUF_INIT;
    buf_append(&body, inv->payload.data ? inv->payload.data : "", inv->payload.len);
    http_request *req = w->next_req;
    w->next_req = NULL;
    inv->sent = 1;
    inv->start_ns = clock_mono_ns(); /* Duration excludes the cold start's init */
    http_respond(req, 200, h, sizeof h / sizeof h[0], &body);
}

static void on_timer(uv_timer_t *t)
{
    lambda_worker *w = t->data;
    if (w->state == W_BUSY && w->inv.active) {
        double secs = w->timeout_s;
        char line[160];
        char when[32];
        clock_iso8601_ms(clock_now_ms(), when);
        snprintf(line, sizeof line, "%s %s Task timed out after %.2f seconds\n\n", when, w->inv.id,
                 secs);
        drain(w);
        log_append(&w->inv.log, line, strlen(line));
        worker_kill(w);
        fail_runtime(w, "Sandbox.Timedout",
                     "RequestId: %s Error: Task timed out after %.2f seconds", w->inv.id, secs);
    } else if (w->state == W_IDLE) {
        log_debug("lambda worker idle: stopping", "function=%s pid=%d", w->fn->name, w->proc.pid);
        worker_kill(w);
    }
}

static void start_idle_timer(lambda_worker *w)
{
    uv_timer_start(&w->timer, on_timer, w->l->idle_ms, 0);
}

static void assign(lambda_worker *w, const char *id, const char *payload, size_t len,
                   lambda_done_fn done, void *arg)
{
    invocation *inv = &w->inv;
    inv->active = 1;
    inv->sent = 0;
    snprintf(inv->id, sizeof inv->id, "%s", id);
    buf_append(&inv->payload, payload, len);
    inv->start_ns = clock_mono_ns();
    inv->deadline_ms = clock_now_ms() + (int64_t)w->timeout_s * 1000;
    inv->done = done;
    inv->arg = arg;
    buf_reset(&inv->log);
    if (w->early_log.len) {
        buf_append(&inv->log, w->early_log.data, w->early_log.len);
        buf_reset(&w->early_log);
    }
    buf_printf(&inv->log, "START RequestId: %s Version: %s\n", id, w->fn->version);
    w->state = W_BUSY;
    uv_timer_start(&w->timer, on_timer, (uint64_t)w->timeout_s * 1000, 0);
    if (w->next_req)
        send_next(w);
}

/* ---- process lifecycle ---------------------------------------------------------------- */

static void unlink_worker(lambda_worker *w)
{
    lambda *l = w->l;
    for (lambda_worker **p = &l->workers; *p; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            l->nworkers--;
            return;
        }
    }
}

static void on_closed(uv_handle_t *h)
{
    lambda_worker *w = h->data;
    if (--w->open_handles > 0)
        return;
    lambda_fn *fn = w->fn;
    lambda *l = w->l;
    buf_free(&w->early_log);
    buf_free(&w->inv.log);
    buf_free(&w->inv.payload);
    xfree(w);
    fn->workers--;
    lambda_fn_release(l, fn);
    lambda_worker_freed(l);
}

static void close_handles(lambda_worker *w)
{
    uv_handle_t *hs[] = {(uv_handle_t *)&w->proc, (uv_handle_t *)&w->out, (uv_handle_t *)&w->err,
                         (uv_handle_t *)&w->timer};
    for (int i = 0; i < 4; i++)
        if (!uv_is_closing(hs[i]))
            uv_close(hs[i], on_closed);
}

static void on_worker_exit(uv_process_t *p, int64_t status, int signo)
{
    lambda_worker *w = p->data;
    w->exited = 1;
    drain(w);
    int was_dead = w->state == W_DEAD;
    w->state = W_DEAD;
    unlink_worker(w);
    if (w->inv.active && !was_dead) {
        if (signo)
            fail_runtime(w, "Runtime.ExitError",
                         "RequestId: %s Error: Runtime exited with error: signal: %s", w->inv.id,
                         signo == SIGKILL ? "killed" : strsignal(signo));
        else
            fail_runtime(w, "Runtime.ExitError",
                         "RequestId: %s Error: Runtime exited with error: exit status %lld",
                         w->inv.id, (long long)status);
    } else if (w->inv.active) {
        fail_runtime(w, "Runtime.ExitError", "RequestId: %s Error: Runtime exited", w->inv.id);
    }
    if (w->next_req) {
        http_request *req = w->next_req;
        w->next_req = NULL;
        respond_json(req, 500, "{\"errorType\":\"Runtime.Exited\"}");
    }
    close_handles(w);
}

static void worker_kill(lambda_worker *w)
{
    if (w->state == W_DEAD && w->exited)
        return;
    w->state = W_DEAD;
    uv_timer_stop(&w->timer);
    if (!w->exited)
        kill(-w->proc.pid, SIGKILL); /* the whole group: a shell bootstrap's children too */
}

/* ---- spawning ------------------------------------------------------------------------- */

typedef struct envb {
    char *v[64];
    int n;
} envb;

static void env_add(envb *e, const char *k, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void env_add(envb *e, const char *k, const char *fmt, ...)
{
    if (e->n >= 62)
        return;
    buf b = BUF_INIT;
    buf_printf(&b, "%s=", k);
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    e->v[e->n++] = buf_steal(&b, NULL);
}

static void build_env(lambda_worker *w, envb *e, const char *task_root, const char *rt_dir)
{
    lambda *l = w->l;
    json_t *doc = w->fn->doc;
    const char *rt = json_string_value(json_object_get(doc, "Runtime"));
    const char *handler = json_string_value(json_object_get(doc, "Handler"));
    json_t *vars = json_object_get(json_object_get(doc, "Environment"), "Variables");
    const char *k;
    json_t *v;
    json_object_foreach(vars, k, v)
        env_add(e, k, "%s", json_string_value(v) ? json_string_value(v) : "");
    env_add(e, "PATH", "%s", "/usr/local/bin:/usr/bin:/bin");
    env_add(e, "LANG", "%s", "en_US.UTF-8");
    env_add(e, "TZ", "%s", ":UTC");
    env_add(e, "AWS_LAMBDA_FUNCTION_NAME", "%s", w->fn->name);
    env_add(e, "AWS_LAMBDA_FUNCTION_VERSION", "%s", w->fn->version);
    env_add(e, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "%d", w->memory_mb);
    env_add(e, "AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/%s", w->fn->name);
    char stream[160];
    logs_lambda_stream_name(stream, sizeof stream, w->fn->version, w->token, w->spawned_ms);
    env_add(e, "AWS_LAMBDA_LOG_STREAM_NAME", "%s", stream);
    env_add(e, "AWS_LAMBDA_INITIALIZATION_TYPE", "%s", "on-demand");
    env_add(e, "AWS_REGION", "%s", l->region);
    env_add(e, "AWS_DEFAULT_REGION", "%s", l->region);
    env_add(e, "AWS_EXECUTION_ENV", "AWS_Lambda_%s", rt);
    env_add(e, "_HANDLER", "%s", handler ? handler : "");
    env_add(e, "LAMBDA_TASK_ROOT", "%s", task_root);
    env_add(e, "LAMBDA_RUNTIME_DIR", "%s", rt_dir);
    env_add(e, "AWS_LAMBDA_RUNTIME_API", "127.0.0.1:%d%srt/%s", l->port, LAMBDA_HTTP_PREFIX,
            w->token);
    env_add(e, "AWS_ACCESS_KEY_ID", "%s", l->access_key);
    env_add(e, "AWS_SECRET_ACCESS_KEY", "%s", l->secret_key);
    env_add(e, "AWS_SESSION_TOKEN", "%s", "");
    env_add(e, "AWS_ENDPOINT_URL", "%s", l->public_url);
    env_add(e, "PYTHONUNBUFFERED", "%s", "1");
    env_add(e, "PYTHONPATH", "%s", task_root);
    env_add(e, "NODE_PATH", "%s/node_modules", task_root);
    e->v[e->n] = NULL;
}

/* argv for fn's runtime under prlimit: 0, or -1 if the runtime has no entry point. */
static int build_argv(lambda_worker *w, char **argv, char *as, char *heap, char *entry,
                      const char *task_root)
{
    const char *rt = json_string_value(json_object_get(w->fn->doc, "Runtime"));
    int i = 0;
    argv[i++] = "prlimit";
    argv[i++] = as;
    argv[i++] = "--";
    long long mb = w->memory_mb;
    if (strncmp(rt, "python", 6) == 0) {
        argv[i++] = "/usr/bin/python3";
        snprintf(entry, ENTRY_MAX, "%s/python/bootstrap.py", w->l->runtimes_dir);
        argv[i++] = entry;
    } else if (strncmp(rt, "nodejs", 6) == 0) {
        mb += NODE_AS_HEADROOM_MB;
        argv[i++] = "node";
        snprintf(heap, 64, "--max-old-space-size=%d", w->memory_mb);
        argv[i++] = heap;
        snprintf(entry, ENTRY_MAX, "%s/nodejs/bootstrap.mjs", w->l->runtimes_dir);
        argv[i++] = entry;
    } else {
        snprintf(entry, ENTRY_MAX, "%s/bootstrap", task_root);
        if (access(entry, X_OK) != 0)
            return -1;
        argv[i++] = entry;
    }
    snprintf(as, 64, "--as=%lld", mb * 1024 * 1024);
    argv[i] = NULL;
    return 0;
}

static lambda_worker *spawn(lambda *l, lambda_fn *fn, char *why, size_t whylen)
{
    lambda_worker *w = xcalloc(1, sizeof *w);
    w->l = l;
    w->fn = fn;
    w->generation = fn->generation;
    w->timeout_s = (int)json_integer_value(json_object_get(fn->doc, "Timeout"));
    w->memory_mb = (int)json_integer_value(json_object_get(fn->doc, "MemorySize"));
    const char *arn = json_string_value(json_object_get(fn->doc, "FunctionArn"));
    if (arn)
        snprintf(w->arn, sizeof w->arn, "%s", arn);
    else
        lambda_fn_arn(l, fn->name, w->arn, sizeof w->arn);
    snprintf(w->token, sizeof w->token, "%016llx%016llx", (unsigned long long)ids_random64(),
             (unsigned long long)ids_random64());
    w->spawned_ms = clock_now_ms();
    char task_root[1400], rt_dir[1100], as[64], heap[64], entry[ENTRY_MAX];
    lambda_fn_code_dir(l, fn, task_root, sizeof task_root);
    snprintf(rt_dir, sizeof rt_dir, "%s", l->runtimes_dir);
    char *argv[12];
    if (build_argv(w, argv, as, heap, entry, task_root) != 0) {
        snprintf(why, whylen, "Couldn't find valid bootstrap(s): [%.300s/bootstrap]", task_root);
        xfree(w);
        return NULL;
    }
    envb env = {0};
    build_env(w, &env, task_root, rt_dir);
    uv_pipe_init(l->loop, &w->out, 0);
    uv_pipe_init(l->loop, &w->err, 0);
    uv_timer_init(l->loop, &w->timer);
    w->out.data = w->err.data = w->timer.data = w->proc.data = w;
    uv_stdio_container_t stdio[3] = {
        {.flags = UV_IGNORE},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&w->out},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&w->err},
    };
    uv_process_options_t o = {.exit_cb = on_worker_exit,
                              .file = argv[0],
                              .args = argv,
                              .env = env.v,
                              .cwd = task_root,
                              .flags = UV_PROCESS_DETACHED,
                              .stdio_count = 3,
                              .stdio = stdio};
    int rc = uv_spawn(l->loop, &w->proc, &o);
    for (int i = 0; i < env.n; i++)
        free(env.v[i]);
    w->open_handles = 4;
    fn->workers++;
    l->allocated_workers++;
    if (rc != 0) {
        snprintf(why, whylen, "cannot start the runtime: %s", uv_strerror(rc));
        w->state = W_DEAD;
        w->exited = 1;
        close_handles(w);
        return NULL;
    }
    uv_read_start((uv_stream_t *)&w->out, on_alloc, on_output);
    uv_read_start((uv_stream_t *)&w->err, on_alloc, on_output);
    w->next = l->workers;
    l->workers = w;
    l->nworkers++;
    log_debug("lambda worker started", "function=%s pid=%d", fn->name, w->proc.pid);
    return w;
}

/* ---- the invoker's side --------------------------------------------------------------- */

/* Busy workers: of fn's function (all versions), or, with fn NULL, of the functions
 * without reserved concurrency (unreserved), or all. */
static unsigned count_running(lambda *l, lambda_fn *fn, int unreserved)
{
    unsigned n = 0;
    for (lambda_worker *w = l->workers; w; w = w->next) {
        if (w->state == W_DEAD || w->state == W_IDLE)
            continue;
        if (fn ? strcmp(w->fn->name, fn->name) == 0
               : !unreserved || w->fn->deleted || lambda_reserved_concurrency(w->fn) < 0)
            n++;
    }
    return n;
}

/* fn's reserved concurrency, or the unreserved pool, is used up. */
static int at_concurrency_cap(lambda *l, lambda_fn *fn)
{
    long reserved = lambda_reserved_concurrency(fn);
    if (count_running(l, NULL, 0) >= l->concurrency)
        return 1;
    if (reserved >= 0)
        return count_running(l, fn, 0) >= (unsigned long)reserved;
    unsigned long pool = l->concurrency - lambda_reserved_total(l);
    return count_running(l, NULL, 1) >= pool;
}

int lambda_invoke(lambda *l, lambda_fn *fn, const char *request_id, const char *payload, size_t len,
                  lambda_done_fn done, void *arg)
{
    if (l->stopping || lambda_reserved_concurrency(fn) == 0)
        return -1;
    runtimes_resolve(l);
    for (lambda_worker *w = l->workers; w; w = w->next) {
        if (w->fn == fn && w->state == W_IDLE && w->generation == fn->generation) {
            uv_timer_stop(&w->timer);
            assign(w, request_id, payload, len, done, arg);
            return 0;
        }
    }
    if (at_concurrency_cap(l, fn))
        return -1;
    char why[512];
    lambda_worker *w = spawn(l, fn, why, sizeof why);
    if (!w) {
        /* Reported as Lambda reports a runtime that cannot start. */
        json_t *e =
            json_pack("{s:s,s:s}", "errorType", "Runtime.InvalidEntrypoint", "errorMessage", why);
        char *text = json_dumps(e, JSON_COMPACT);
        json_decref(e);
        lambda_result r = {.kind = LAMBDA_RESULT_FUNCTION_ERROR};
        buf_puts(&r.payload, text);
        buf_printf(&r.log, "START RequestId: %s Version: %s\n%s\nEND RequestId: %s\n", request_id,
                   fn->version, why, request_id);
        free(text);
        done(&r, arg);
        buf_free(&r.payload);
        buf_free(&r.log);
        return 0;
    }
    assign(w, request_id, payload, len, done, arg);
    return 0;
}

void lambda_workers_retire(lambda *l, lambda_fn *fn)
{
    for (lambda_worker *w = l->workers; w; w = w->next)
        if (w->fn == fn && (w->state == W_IDLE || w->state == W_STARTING) && !w->inv.active)
            worker_kill(w);
}

void lambda_workers_stop_all(lambda *l)
{
    for (lambda_worker *w = l->workers; w; w = w->next) {
        worker_kill(w);
        if (w->next_req) {
            http_request *req = w->next_req;
            w->next_req = NULL;
            respond_json(req, 500, "{\"errorType\":\"Runtime.Stopping\"}");
        }
        fail_runtime(w, "Runtime.ExitError", "RequestId: %s Error: the server is stopping",
                     w->inv.id);
    }
}

/* ---- Runtime API ---------------------------------------------------------------------- */

static lambda_worker *by_token(lambda *l, const char *token, size_t n)
{
    for (lambda_worker *w = l->workers; w; w = w->next)
        if (strlen(w->token) == n && memcmp(w->token, token, n) == 0)
            return w;
    return NULL;
}

static void api_next(lambda_worker *w, http_request *req)
{
    if (w->next_req) /* a client that gave up on its previous /next */
        respond_json(w->next_req, 409, "{\"errorType\":\"Runtime.DuplicateNext\"}");
    w->next_req = req;
    if (w->init_ms == 0)
        w->init_ms = (double)(clock_now_ms() - w->spawned_ms);
    if (w->state == W_STARTING) {
        w->state = W_IDLE;
        start_idle_timer(w);
    } else if (w->state == W_BUSY && w->inv.active && !w->inv.sent) {
        send_next(w);
    }
}

/* POST .../invocation/ID/response | .../invocation/ID/error */
static void api_result(lambda_worker *w, http_request *req, const char *id, size_t idlen,
                       int is_error)
{
    if (!w->inv.active || strlen(w->inv.id) != idlen || memcmp(w->inv.id, id, idlen) != 0) {
        respond_json(
            req, 400,
            "{\"errorMessage\":\"Invalid request ID\",\"errorType\":\"InvalidRequestID\"}");
        return;
    }
    if (req->body_len > LAMBDA_PAYLOAD_MAX) {
        respond_json(req, 413, "{\"errorType\":\"RequestEntityTooLarge\"}");
        fail_runtime(
            w, "Function.ResponseSizeTooLarge",
            "Response payload size exceeded maximum allowed payload size (6291556 bytes).");
        return;
    }
    respond_json(req, 202, "{\"status\":\"OK\"}");
    finish(w, is_error ? LAMBDA_RESULT_FUNCTION_ERROR : LAMBDA_RESULT_OK, req->body, req->body_len);
}

static void api_init_error(lambda_worker *w, http_request *req)
{
    respond_json(req, 202, "{\"status\":\"OK\"}");
    drain(w);
    if (w->inv.active)
        finish(w, LAMBDA_RESULT_FUNCTION_ERROR, req->body, req->body_len);
    worker_kill(w);
}

/* rest: TOKEN/2018-06-01/runtime/... */
void lambda_runtime_api(lambda *l, http_request *req, const char *rest)
{
    const char *slash = strchr(rest, '/');
    lambda_worker *w = slash ? by_token(l, rest, (size_t)(slash - rest)) : NULL;
    if (!w || w->state == W_DEAD) {
        respond_json(req, 403, "{\"errorType\":\"UnknownWorker\"}");
        return;
    }
    const char *p = slash;
    const char *base = "/2018-06-01/runtime/";
    if (strncmp(p, base, strlen(base)) != 0) {
        respond_json(req, 404, "{\"errorType\":\"NotFound\"}");
        return;
    }
    p += strlen(base);
    int get = strcmp(req->method, "GET") == 0, post = strcmp(req->method, "POST") == 0;
    if (get && strcmp(p, "invocation/next") == 0) {
        api_next(w, req);
        return;
    }
    if (post && strcmp(p, "init/error") == 0) {
        api_init_error(w, req);
        return;
    }
    if (post && strncmp(p, "invocation/", 11) == 0) {
        const char *id = p + 11;
        const char *end = strchr(id, '/');
        if (end && strcmp(end, "/response") == 0) {
            api_result(w, req, id, (size_t)(end - id), 0);
            return;
        }
        if (end && strcmp(end, "/error") == 0) {
            api_result(w, req, id, (size_t)(end - id), 1);
            return;
        }
    }
    respond_json(req, 404, "{\"errorType\":\"NotFound\"}");
}
