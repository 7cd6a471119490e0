/* Lookups in the generated wire models (src/protocol/models/). Operation tables are sorted
 * by name (strcmp order) by scripts/gen-models.py, so operations are found by binary
 * search; structures have few members, so members are found by a linear scan. */
#include "protocol/model.h"

#include <string.h>

/* strcmp of a NUL-terminated s against the counted name[0..len). */
static int cmp_counted(const char *s, const char *name, size_t len)
{
    int c = strncmp(s, name, len);
    if (c != 0)
        return c;
    return s[len] == '\0' ? 0 : 1;
}

const model_operation *model_find_operation(const model_service *svc, const char *name,
                                            size_t name_len)
{
    if (!svc || !name || memchr(name, '\0', name_len))
        return NULL;
    size_t lo = 0, hi = svc->nops;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_counted(svc->ops[mid].name, name, name_len);
        if (c == 0)
            return &svc->ops[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* By JSON member name. */
const model_member *model_find_member(const model_shape *s, const char *name, size_t len)
{
    if (!s || s->type != SHAPE_STRUCTURE)
        return NULL;
    for (size_t i = 0; i < s->nmembers; i++) {
        const model_member *m = &s->members[i];
        if (strlen(m->name) == len && memcmp(m->name, name, len) == 0)
            return m;
    }
    return NULL;
}

const model_http *model_operation_http(const model_service *svc, const model_operation *op)
{
    if (!svc || !svc->http || !op || op < svc->ops || op >= svc->ops + svc->nops)
        return NULL;
    return &svc->http[op - svc->ops];
}

model_location model_member_location(const model_shape *s, size_t i)
{
    if (!s || !s->bindings || i >= s->nmembers)
        return MODEL_LOC_BODY;
    return s->bindings[i].location;
}
