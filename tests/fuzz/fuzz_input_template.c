/* Fuzz the InputTransformer template scanner, the path parser and evaluator, and the PutTargets
 * checks. The input is a template, a NUL, an InputPathsMap as JSON, a NUL, then an event as
 * JSON (either JSON may be missing or invalid). Whatever the bytes: rendering a template
 * succeeds and copies one without '<' unchanged; the template read as an InputPath renders
 * valid JSON when it renders at all, and never renders when PutTargets would refuse it. */
#include "protocol/json_codec.h"
#include "services/events/events_input.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The next NUL-terminated piece of [*p, end), copied. */
static char *piece(const uint8_t **p, const uint8_t *end, size_t *len)
{
    const uint8_t *nul = memchr(*p, 0, (size_t)(end - *p));
    size_t n = nul ? (size_t)(nul - *p) : (size_t)(end - *p);
    char *s = malloc(n + 1);
    memcpy(s, *p, n);
    s[n] = '\0';
    *p = nul ? nul + 1 : end;
    *len = n;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    size_t tlen, mlen, elen;
    char *tmpl = piece(&p, end, &tlen);
    char *map_text = piece(&p, end, &mlen);
    char *event_text = piece(&p, end, &elen);
    char err[1024];

    json_t *map = jsonc_parse(map_text, mlen, err, sizeof err);
    if (map && !json_is_object(map)) {
        json_decref(map);
        map = NULL;
    }
    json_t *event = jsonc_parse(event_text, elen, err, sizeof err);
    events_input_ctx ctx = {"arn:aws:events:us-east-1:123456789012:rule/r",
                            "r",
                            "2026-11-30T08:00:00Z",
                            event_text,
                            elen,
                            event};
    if (!event) {
        event = json_object();
        ctx.event = event;
        ctx.event_json = NULL;
        ctx.event_len = 0;
    }

    events_input_transformer_validate(map, tmpl, err, sizeof err);
    buf out = BUF_INIT;
    if (events_input_render_transformer(&ctx, map, tmpl, &out) != 0)
        abort();
    if (!strchr(tmpl, '<') && (out.len != tlen || memcmp(out.data, tmpl, tlen) != 0))
        abort();

    buf_reset(&out);
    int valid = events_input_path_validate(tmpl, err, sizeof err) == 0;
    if (events_input_render_path(&ctx, tmpl, &out) == 0) {
        /* Under half the limit in bytes is within it in UTF-16 units, whatever the bytes. */
        if (!valid && 2 * tlen <= EVENTS_INPUT_PATH_MAX)
            abort();
        json_t *back = jsonc_parse(out.data, out.len, err, sizeof err);
        if (!back)
            abort();
        json_decref(back);
    }

    json_t *transformer = json_object();
    if (map)
        json_object_set(transformer, "InputPathsMap", map);
    json_object_set_new(transformer, "InputTemplate", json_string(tmpl));
    json_t *target = json_pack("{s:s,s:o}", "Id", "t1", "InputTransformer", transformer);
    buf list = BUF_INIT;
    if (events_input_model_errors(target, 1, &list) == 0)
        events_input_validate_target(target, err, sizeof err);
    buf_free(&list);
    json_decref(target);

    buf_free(&out);
    json_decref(map);
    json_decref(event);
    free(tmpl);
    free(map_text);
    free(event_text);
    return 0;
}
