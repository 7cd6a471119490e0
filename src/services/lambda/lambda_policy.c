/* Reserved concurrency (Put/Get/DeleteFunctionConcurrency) and the resource-based policy
 * (AddPermission, RemovePermission, GetPolicy).
 *
 * Both live in the function's document. "ReservedConcurrentExecutions" caps the function's
 * running workers (all versions together) and takes them out of the server-wide pool
 * (--lambda-concurrency) that the other functions share; lambda_worker.c enforces it, and a
 * reservation of 0 throttles every invocation, as on Lambda. The pool keeps at least one
 * unreserved worker.
 *
 * "Policies" maps a qualifier ("" for the function itself) to its statements. They are
 * stored and returned as Lambda shapes them; Sluice does not evaluate them (no IAM). */
#include "services/lambda/lambda_internal.h"

#include "common/ids.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define UNRESERVED_MIN 1

/* ---- concurrency ---------------------------------------------------------------------- */

long lambda_reserved_concurrency(const lambda_fn *fn)
{
    const lambda_fn *latest = fn->latest ? fn->latest : fn;
    json_t *r = json_object_get(latest->doc, "ReservedConcurrentExecutions");
    return r ? (long)json_integer_value(r) : -1;
}

unsigned long lambda_reserved_total(const lambda *l)
{
    unsigned long total = 0;
    for (size_t i = 0; i < l->nfns; i++) {
        long r = lambda_reserved_concurrency(l->fns[i]);
        if (r > 0)
            total += (unsigned long)r;
    }
    return total;
}

void lambda_put_concurrency(aws_call *call)
{
    lambda *l = call->service->ctx;
    lambda_fn *fn = lambda_fn_of_call(call);
    if (!fn)
        return;
    json_t *v = json_object_get(call->input, "ReservedConcurrentExecutions");
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        aws_reply_error(call, LAMBDA_ERR_INVALID,
                        "1 validation error detected: Value '%lld' at "
                        "'reservedConcurrentExecutions' failed to satisfy constraint: Member "
                        "must have value greater than or equal to 0",
                        (long long)json_integer_value(v));
        return;
    }
    json_int_t want = json_integer_value(v);
    long had = lambda_reserved_concurrency(fn);
    unsigned long others = lambda_reserved_total(l) - (unsigned long)(had > 0 ? had : 0);
    if (others + (unsigned long)want + UNRESERVED_MIN > l->concurrency) {
        aws_reply_error(call, LAMBDA_ERR_INVALID,
                        "Specified ReservedConcurrentExecutions for function decreases "
                        "account's UnreservedConcurrentExecution below its minimum value of "
                        "[%d].",
                        UNRESERVED_MIN);
        return;
    }
    json_object_set_new(fn->doc, "ReservedConcurrentExecutions", json_integer(want));
    lambda_fn_persist(l, call, json_pack("{s:I}", "ReservedConcurrentExecutions", want), fn);
}

void lambda_get_concurrency(aws_call *call)
{
    lambda_fn *fn = lambda_fn_of_call(call);
    if (!fn)
        return;
    long r = lambda_reserved_concurrency(fn);
    aws_reply(call, r < 0 ? json_object()
                          : json_pack("{s:I}", "ReservedConcurrentExecutions", (json_int_t)r));
}

void lambda_delete_concurrency(aws_call *call)
{
    lambda_fn *fn = lambda_fn_of_call(call);
    if (!fn)
        return;
    json_object_del(fn->doc, "ReservedConcurrentExecutions");
    lambda_fn_persist(call->service->ctx, call, NULL, fn);
}

/* ---- the resource-based policy -------------------------------------------------------- */

/* The qualifier the call names ("" for none), checked against the function's versions and
 * aliases. NULL after replying an error. */
static const char *qualifier_of_call(aws_call *call, lambda_fn *fn, char *buf, size_t cap)
{
    lambda *l = call->service->ctx;
    const char *q = lambda_str(call, "Qualifier");
    if (!q) {
        lambda_qualifier_of(lambda_str(call, "FunctionName"), buf, cap);
        q = buf;
    }
    if (q[0] && strcmp(q, "$LATEST") != 0 && !lambda_fn_version(l, fn->name, q)) {
        char arn[600];
        lambda_fn_arn(l, fn->name, arn, sizeof arn);
        aws_reply_error(call, LAMBDA_ERR_NOT_FOUND, "Function not found: %s:%s", arn, q);
        return NULL;
    }
    return q;
}

static json_t *principal_of(const lambda *l, const char *p)
{
    if (strcmp(p, "*") == 0)
        return json_string("*");
    if (strncmp(p, "arn:", 4) == 0)
        return json_pack("{s:s}", "AWS", p);
    if (strlen(p) == 12 && strspn(p, "0123456789") == 12) {
        char arn[64];
        snprintf(arn, sizeof arn, "arn:aws:iam::%s:root", p);
        return json_pack("{s:s}", "AWS", arn);
    }
    (void)l;
    return json_pack("{s:s}", "Service", p);
}

static void add_condition(json_t *st, const char *op, const char *key, const char *value)
{
    if (!value)
        return;
    json_t *cond = json_object_get(st, "Condition");
    if (!cond) {
        cond = json_object();
        json_object_set_new(st, "Condition", cond);
    }
    json_t *o = json_object_get(cond, op);
    if (!o) {
        o = json_object();
        json_object_set_new(cond, op, o);
    }
    json_object_set_new(o, key, json_string(value));
}

static int valid_statement_id(const char *sid)
{
    size_t n = strlen(sid);
    if (n == 0 || n > 100)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)sid[i]) && !strchr("-_.", sid[i]))
            return 0;
    return 1;
}

static int valid_action(const char *a)
{
    if (strcmp(a, "*") == 0 || strcmp(a, "lambda:*") == 0)
        return 1;
    if (strncmp(a, "lambda:", 7) != 0 || !a[7])
        return 0;
    for (const char *c = a + 7; *c; c++)
        if (!isalpha((unsigned char)*c))
            return 0;
    return 1;
}

static json_t *statements_of(lambda_fn *fn, const char *qualifier, int create)
{
    json_t *all = json_object_get(fn->doc, "Policies");
    if (!all && create) {
        all = json_object();
        json_object_set_new(fn->doc, "Policies", all);
    }
    json_t *list = json_object_get(all, qualifier);
    if (!list && create) {
        list = json_array();
        json_object_set_new(all, qualifier, list);
    }
    return list;
}

static int find_statement(const json_t *list, const char *sid)
{
    size_t i;
    json_t *st;
    json_array_foreach(list, i, st)
    {
        const char *have = json_string_value(json_object_get(st, "Sid"));
        if (have && strcmp(have, sid) == 0)
            return (int)i;
    }
    return -1;
}

static void new_revision(lambda_fn *fn)
{
    char rev[37];
    ids_uuid4(rev);
    json_object_set_new(fn->doc, "RevisionId", json_string(rev));
}

void lambda_add_permission(aws_call *call)
{
    lambda *l = call->service->ctx;
    lambda_fn *fn = lambda_fn_of_call(call);
    char qbuf[130];
    const char *q = fn ? qualifier_of_call(call, fn, qbuf, sizeof qbuf) : NULL;
    if (!q || !lambda_revision_matches(call, fn->doc, "GetPolicy"))
        return;
    const char *sid = lambda_str(call, "StatementId");
    const char *action = lambda_str(call, "Action");
    const char *principal = lambda_str(call, "Principal");
    if (!sid || !valid_statement_id(sid)) {
        aws_reply_error(call, LAMBDA_ERR_INVALID,
                        "1 validation error detected: Value '%s' at 'statementId' failed to "
                        "satisfy constraint: Member must satisfy regular expression pattern: "
                        "([a-zA-Z0-9-_.]+)",
                        sid ? sid : "");
        return;
    }
    if (!action || !valid_action(action)) {
        aws_reply_error(call, LAMBDA_ERR_INVALID,
                        "1 validation error detected: Value '%s' at 'action' failed to satisfy "
                        "constraint: Member must satisfy regular expression pattern: "
                        "(lambda:[*]|lambda:[a-zA-Z]+|[*])",
                        action ? action : "");
        return;
    }
    if (!principal || !principal[0]) {
        aws_reply_error(call, LAMBDA_ERR_INVALID,
                        "1 validation error detected: Value null at 'principal' failed to "
                        "satisfy constraint: Member must not be null");
        return;
    }
    json_t *list = statements_of(fn, q, 1);
    if (find_statement(list, sid) >= 0) {
        aws_reply_error(call, AWS_ERR_LAMBDA_RESOURCE_CONFLICT,
                        "The statement id (%s) provided already exists. Please provide a new "
                        "statement id, or remove the existing statement.",
                        sid);
        return;
    }
    char arn[600];
    lambda_fn_arn(l, fn->name, arn, sizeof arn);
    if (q[0]) {
        strncat(arn, ":", sizeof arn - strlen(arn) - 1);
        strncat(arn, q, sizeof arn - strlen(arn) - 1);
    }
    json_t *st = json_pack("{s:s,s:s,s:o,s:s,s:s}", "Sid", sid, "Effect", "Allow", "Principal",
                           principal_of(l, principal), "Action", action, "Resource", arn);
    add_condition(st, "StringEquals", "AWS:SourceAccount", lambda_str(call, "SourceAccount"));
    add_condition(st, "StringEquals", "lambda:EventSourceToken",
                  lambda_str(call, "EventSourceToken"));
    add_condition(st, "StringEquals", "aws:PrincipalOrgID", lambda_str(call, "PrincipalOrgID"));
    add_condition(st, "StringEquals", "lambda:FunctionUrlAuthType",
                  lambda_str(call, "FunctionUrlAuthType"));
    add_condition(st, "ArnLike", "AWS:SourceArn", lambda_str(call, "SourceArn"));
    json_array_append(list, st);
    char *text = json_dumps(st, JSON_COMPACT);
    json_decref(st);
    new_revision(fn);
    lambda_fn_persist(l, call, json_pack("{s:s}", "Statement", text), fn);
    free(text);
}

void lambda_remove_permission(aws_call *call)
{
    lambda_fn *fn = lambda_fn_of_call(call);
    char qbuf[130];
    const char *q = fn ? qualifier_of_call(call, fn, qbuf, sizeof qbuf) : NULL;
    if (!q || !lambda_revision_matches(call, fn->doc, "GetPolicy"))
        return;
    const char *sid = lambda_str(call, "StatementId");
    json_t *list = statements_of(fn, q, 0);
    if (json_array_size(list) == 0) {
        aws_reply_error(call, LAMBDA_ERR_NOT_FOUND,
                        "No policy is associated with the given resource.");
        return;
    }
    int i = find_statement(list, sid ? sid : "");
    if (i < 0) {
        aws_reply_error(call, LAMBDA_ERR_NOT_FOUND, "Statement %s is not found in resource policy.",
                        sid ? sid : "");
        return;
    }
    json_array_remove(list, (size_t)i);
    new_revision(fn);
    lambda_fn_persist(call->service->ctx, call, NULL, fn);
}

void lambda_get_policy(aws_call *call)
{
    lambda_fn *fn = lambda_fn_of_call(call);
    char qbuf[130];
    const char *q = fn ? qualifier_of_call(call, fn, qbuf, sizeof qbuf) : NULL;
    if (!q)
        return;
    json_t *list = statements_of(fn, q, 0);
    if (json_array_size(list) == 0) {
        aws_reply_error(call, LAMBDA_ERR_NOT_FOUND, "The resource you requested does not exist.");
        return;
    }
    json_t *policy =
        json_pack("{s:s,s:s,s:O}", "Version", "2012-10-17", "Id", "default", "Statement", list);
    char *text = json_dumps(policy, JSON_COMPACT);
    json_decref(policy);
    aws_reply(call, json_pack("{s:s,s:O}", "Policy", text, "RevisionId",
                              json_object_get(fn->doc, "RevisionId")));
    free(text);
}
