/* The Lambda service: its operation table, lifecycle and the plain HTTP endpoints under
 * LAMBDA_HTTP_PREFIX (code downloads and the Runtime API). */
#include "services/lambda/lambda_internal.h"

#include "common/alloc.h"
#include "common/log.h"

#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sorted by name: the router searches it. */
static const aws_op_def lambda_ops[] = {
    {"AddPermission", lambda_add_permission},
    {"CreateAlias", lambda_create_alias},
    {"CreateEventSourceMapping", lambda_create_esm},
    {"CreateFunction", lambda_create_function},
    {"DeleteAlias", lambda_delete_alias},
    {"DeleteEventSourceMapping", lambda_delete_esm},
    {"DeleteFunction", lambda_delete_function},
    {"DeleteFunctionConcurrency", lambda_delete_concurrency},
    {"DeleteFunctionEventInvokeConfig", lambda_delete_eic},
    {"GetAlias", lambda_get_alias},
    {"GetEventSourceMapping", lambda_get_esm},
    {"GetFunction", lambda_get_function},
    {"GetFunctionConcurrency", lambda_get_concurrency},
    {"GetFunctionConfiguration", lambda_get_function_configuration},
    {"GetFunctionEventInvokeConfig", lambda_get_eic},
    {"GetPolicy", lambda_get_policy},
    {"Invoke", lambda_invoke_op},
    {"ListAliases", lambda_list_aliases},
    {"ListEventSourceMappings", lambda_list_esms},
    {"ListFunctionEventInvokeConfigs", lambda_list_eics},
    {"ListFunctions", lambda_list_functions},
    {"ListTags", lambda_list_tags},
    {"ListVersionsByFunction", lambda_list_versions},
    {"PublishVersion", lambda_publish_version},
    {"PutFunctionConcurrency", lambda_put_concurrency},
    {"PutFunctionEventInvokeConfig", lambda_put_eic},
    {"RemovePermission", lambda_remove_permission},
    {"TagResource", lambda_tag_resource},
    {"UntagResource", lambda_untag_resource},
    {"UpdateAlias", lambda_update_alias},
    {"UpdateEventSourceMapping", lambda_update_esm},
    {"UpdateFunctionCode", lambda_update_function_code},
    {"UpdateFunctionConfiguration", lambda_update_function_configuration},
    {"UpdateFunctionEventInvokeConfig", lambda_update_eic},
};

/* ---- helpers -------------------------------------------------------------------------- */

const char *lambda_str(const aws_call *call, const char *name)
{
    json_t *v = json_object_get(call->input, name);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* ---- HTTP endpoints ------------------------------------------------------------------- */

void lambda_handle_http(http_request *req, void *ctx)
{
    lambda *l = ctx;
    const char *rest = req->path + strlen(LAMBDA_HTTP_PREFIX);
    if (strncmp(rest, "rt/", 3) == 0) {
        lambda_runtime_api(l, req, rest + 3);
        return;
    }
    if (strncmp(rest, "code/", 5) == 0 && strcmp(req->method, "GET") == 0) {
        lambda_serve_code(l, req, rest + 5);
        return;
    }
    buf body = BUF_INIT;
    buf_puts(&body, "Not found.\n");
    http_header h = {"Content-Type", "text/plain"};
    http_respond(req, 404, &h, 1, &body);
}

/* ---- lifecycle ------------------------------------------------------------------------ */

/* Workers run in their code directory (cwd): the data and runtimes directories they are
 * given (LAMBDA_TASK_ROOT, the bootstrap's path, PYTHONPATH) must not be relative to ours. */
static void absolute_path(char *out, size_t cap, const char *path)
{
    char resolved[PATH_MAX];
    if (!path[0] || !realpath(path, resolved) || snprintf(out, cap, "%s", resolved) >= (int)cap)
        snprintf(out, cap, "%s", path);
}

int lambda_create(lambda **out, uv_loop_t *loop, store *st, const lambda_config *cfg)
{
    lambda *l = xcalloc(1, sizeof *l);
    l->def.model = &model_lambda;
    l->def.json_protocol = AWS_PROTO_JSON_1_1;
    l->def.ops = lambda_ops;
    l->def.nops = sizeof lambda_ops / sizeof lambda_ops[0];
    l->def.ctx = l;
    l->loop = loop;
    l->store = st;
    snprintf(l->region, sizeof l->region, "%s", cfg->region);
    snprintf(l->account, sizeof l->account, "%s", cfg->account);
    absolute_path(l->data_dir, sizeof l->data_dir, cfg->data_dir);
    snprintf(l->public_url, sizeof l->public_url, "%s", cfg->public_url);
    absolute_path(l->runtimes_dir, sizeof l->runtimes_dir,
                  cfg->runtimes_dir ? cfg->runtimes_dir : "");
    snprintf(l->access_key, sizeof l->access_key, "%s",
             cfg->access_key && cfg->access_key[0] ? cfg->access_key : "test");
    snprintf(l->secret_key, sizeof l->secret_key, "%s",
             cfg->secret_key && cfg->secret_key[0] ? cfg->secret_key : "test");
    l->idle_ms = cfg->idle_ms ? cfg->idle_ms : 600000;
    l->concurrency = cfg->concurrency ? cfg->concurrency : 64;
    l->queues = cfg->queues;
    l->tables = cfg->tables;
    if (lambda_functions_load(l) != 0 || lambda_esms_load(l) != 0 || lambda_events_start(l) != 0) {
        lambda_destroy(l);
        *out = NULL;
        return -1;
    }
    log_info("lambda ready", "functions=%zu idle_ms=%llu concurrency=%u", l->nfns,
             (unsigned long long)l->idle_ms, l->concurrency);
    *out = l;
    return 0;
}

void lambda_set_topics(lambda *l, sns *topics)
{
    l->topics = topics;
}

void lambda_set_port(lambda *l, int port)
{
    l->port = port;
    if (!l->esms_started) { /* workers need the port: mappings start polling now */
        l->esms_started = 1;
        lambda_esms_start(l);
    }
}

const aws_service_def *lambda_service_def(const lambda *l)
{
    return &l->def;
}

void lambda_shutdown(lambda *l)
{
    if (!l)
        return;
    l->stopping = 1;
    lambda_esms_stop(l);
    delivery_stop(l->events);
    lambda_workers_stop_all(l);
}

static void lambda_free(lambda *l)
{
    delivery_destroy(l->events);
    lambda_esms_free(l);
    lambda_functions_free(l);
    xfree(l);
}

/* Killed workers report their exit on later loop turns: the service outlives them. */
void lambda_destroy(lambda *l)
{
    if (!l)
        return;
    l->destroyed = 1;
    if (l->allocated_workers == 0)
        lambda_free(l);
}

void lambda_worker_freed(lambda *l)
{
    if (--l->allocated_workers == 0 && l->destroyed)
        lambda_free(l);
}
