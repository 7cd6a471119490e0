/* Fuzz the Step Functions Choice rules. The input is a JSON rule, a NUL, then a JSON
 * state input (either may be missing or invalid). Invariants: compiling never crashes;
 * a compiled rule evaluates to an outcome or to States.Runtime; Not inverts it. Also
 * feeds the two halves to StringMatches and the timestamp parser. */
#include "protocol/json_codec.h"
#include "services/stepfunctions/sfn_choice.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t rlen = nul ? (size_t)(nul - data) : size;
    char *first = malloc(rlen + 1);
    memcpy(first, data, rlen);
    first[rlen] = '\0';
    const char *rest = nul ? (const char *)nul + 1 : "";
    size_t restlen = nul ? size - rlen - 1 : 0;
    char *second = malloc(restlen + 1);
    memcpy(second, rest, restlen);
    second[restlen] = '\0';

    sfn_time t, u;
    if (sfn_timestamp_parse(first, &t) == 0 && sfn_timestamp_parse(second, &u) == 0)
        sfn_time_cmp(t, u);
    sfn_string_matches(second, first);

    char err[512];
    json_t *rule = jsonc_parse(first, rlen, err, sizeof err);
    json_t *input = jsonc_parse(second, restlen, err, sizeof err);
    if (!input)
        input = json_object();
    sfn_choice_rule *r;
    if (rule && sfn_choice_rule_compile(rule, false, &r, err, sizeof err) == 0) {
        bool m1, m2;
        sfn_error e;
        int rc = sfn_choice_rule_eval(r, input, NULL, &m1, &e);
        if (rc != 0 && strcmp(e.name, "States.Runtime") != 0)
            abort();
        sfn_choice_rule_free(r);
        json_t *negated = json_pack("{s:O}", "Not", rule);
        if (sfn_choice_rule_compile(negated, false, &r, err, sizeof err) != 0)
            abort();
        if ((sfn_choice_rule_eval(r, input, NULL, &m2, &e) == 0) != (rc == 0))
            abort();
        if (rc == 0 && m1 == m2)
            abort();
        sfn_choice_rule_free(r);
        json_decref(negated);
    }
    json_decref(rule);
    json_decref(input);
    free(first);
    free(second);
    return 0;
}
