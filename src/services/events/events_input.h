/* What an EventBridge target receives: the target's Input, InputPath or InputTransformer,
 * checked when PutTargets stores them and rendered when an event is delivered.
 *
 * Paths are the JSONPath subset EventBridge accepts: `$`, then `.name`, `.*`, `[N]` or `[*]`
 * steps (dot notation only; `['key']` is refused). A path with a wildcard yields a JSON array
 * of what it matched.
 *
 * A template is rendered by copying it and replacing each `<name>` placeholder. A placeholder
 * inside a JSON string literal of the template becomes the value's text (a string without
 * quotes and, as AWS documents, without escaping; an object or array with its quotes removed);
 * anywhere else it becomes the value as JSON (a string with quotes). A path that matches
 * nothing renders as nothing inside a string and as "" elsewhere. The same rule serves JSON
 * templates (`{"state": <state>}`) and string templates (`"<instance> is <state>"`).
 *
 * Predefined placeholders: <aws.events.rule-arn>, <aws.events.rule-name>,
 * <aws.events.event.ingestion-time> (strings), <aws.events.event> (the event without
 * `detail`, with `detail-type` as `detailType`) and <aws.events.event.json> (the event as
 * delivered); the last two only in templates that are JSON objects. */
#ifndef SLUICE_EVENTS_INPUT_H
#define SLUICE_EVENTS_INPUT_H

#include "common/buf.h"

#include <jansson.h>
#include <stddef.h>

/* The service model's limits (botocore events 2015-10-07), in UTF-16 code units as AWS
 * counts them. */
#define EVENTS_INPUT_MAX          8192 /* Target.Input */
#define EVENTS_INPUT_PATH_MAX     256  /* Target.InputPath and each InputPathsMap value */
#define EVENTS_INPUT_TEMPLATE_MAX 8192 /* InputTransformer.InputTemplate (at least 1) */
#define EVENTS_INPUT_PATHS_MAX    100  /* InputPathsMap entries */
#define EVENTS_INPUT_KEY_MAX      256  /* InputPathsMap key, [A-Za-z0-9_-]+ */

/* Everything is borrowed for the duration of the call. Strings may be NULL (they render as
 * empty). event_json/event_len is the event as the target would receive it whole; when
 * event_len is 0 it is produced from `event`. */
typedef struct events_input_ctx {
    const char *rule_arn, *rule_name;
    const char *ingestion_time; /* ISO 8601, e.g. 2026-11-30T08:00:00Z */
    const char *event_json;
    size_t event_len;    /* the original event text */
    const json_t *event; /* the same, parsed */
} events_input_ctx;

/* ---- PutTargets ------------------------------------------------------------------------- */

/* Appends to `list` one entry per violation of the service model's constraints in the
 * Input, InputPath and InputTransformer members of `target` (a Target object, borrowed;
 * `index` is its 1-based position in Targets), in AWS's wording:
 *   Value '...' at 'targets.1.member.inputPath' failed to satisfy constraint: ...
 * Entries are separated by "; ". Returns the number appended, or -1 (with a message in
 * `list`) if a member has the wrong JSON type, which the protocol layer should already have
 * refused. The caller words the ValidationException as "<n> validation error(s) detected: "
 * followed by the list, counted together with its own checks of the request. */
int events_input_model_errors(const json_t *target, size_t index, buf *list);

/* The service's own checks of one Target object (borrowed) that already passed
 * events_input_model_errors. 0, or -1 with AWS's ValidationException message in err, e.g.
 * "Only one of Input, InputPath, or InputTransformer must be provided for target t1." */
int events_input_validate_target(const json_t *target, char *err, size_t errlen);

/* The pieces of events_input_validate_target, for callers without a Target object. Their
 * messages are AWS's without the target's id ("InputPath is invalid."); constraint
 * violations are worded as events_input_model_errors does, with a leading count. */
int events_input_path_validate(const char *path, char *err, size_t errlen);
int events_input_transformer_validate(const json_t *paths_map /* may be NULL */,
                                      const char *template, char *err, size_t errlen);

/* ---- Delivery --------------------------------------------------------------------------- */

/* Appends what a target with InputPath `path` receives: the selected part of ctx->event as
 * JSON (`$` is the event text itself). Returns -1, appending nothing, if the path is not
 * valid or selects nothing (a path without wildcards naming a member or element the event
 * lacks); the caller decides what becomes of the delivery. */
int events_input_render_path(const events_input_ctx *ctx, const char *path, buf *out);

/* Appends what a target with this InputTransformer receives (paths_map borrowed, may be
 * NULL). A placeholder that is neither predefined nor in paths_map is copied as text (PutTargets
 * refuses such templates). Returns 0; -1 only if ctx->event or template is NULL. */
int events_input_render_transformer(const events_input_ctx *ctx, const json_t *paths_map,
                                    const char *template, buf *out);

#endif
