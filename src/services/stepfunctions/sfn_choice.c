/* Choice rules (see sfn_choice.h).
 *
 * Operators are rows of one table (name, operand type, comparison), so compiling a rule
 * is finding the single operator key it holds, and evaluating a comparison is fetching
 * the Variable, checking its type, and comparing with the literal or the ...Path
 * operand. StringMatches runs the classic greedy wildcard match with one backtrack
 * point (the last star), linear in practice and never exponential. */
#include "services/stepfunctions/sfn_choice.h"

#include "common/alloc.h"
#include "services/stepfunctions/sfn_jsonpath.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAX_DEPTH 64

typedef enum { T_STRING, T_NUMBER, T_BOOLEAN, T_TIMESTAMP, T_MATCH, T_TYPE } operand_type;
typedef enum { OP_EQ, OP_LT, OP_GT, OP_LE, OP_GE, OP_MATCHES } cmp_op;
typedef enum { IS_NULL, IS_PRESENT, IS_NUMERIC, IS_STRING, IS_BOOLEAN, IS_TIMESTAMP } type_test;

typedef struct operator_row {
    const char *name;
    operand_type type;
    int op; /* cmp_op, or type_test for T_TYPE */
    bool path;
} operator_row;

static const operator_row OPERATORS[] = {
    {"StringEquals", T_STRING, OP_EQ, false},
    {"StringEqualsPath", T_STRING, OP_EQ, true},
    {"StringLessThan", T_STRING, OP_LT, false},
    {"StringLessThanPath", T_STRING, OP_LT, true},
    {"StringGreaterThan", T_STRING, OP_GT, false},
    {"StringGreaterThanPath", T_STRING, OP_GT, true},
    {"StringLessThanEquals", T_STRING, OP_LE, false},
    {"StringLessThanEqualsPath", T_STRING, OP_LE, true},
    {"StringGreaterThanEquals", T_STRING, OP_GE, false},
    {"StringGreaterThanEqualsPath", T_STRING, OP_GE, true},
    {"StringMatches", T_MATCH, OP_MATCHES, false},
    {"NumericEquals", T_NUMBER, OP_EQ, false},
    {"NumericEqualsPath", T_NUMBER, OP_EQ, true},
    {"NumericLessThan", T_NUMBER, OP_LT, false},
    {"NumericLessThanPath", T_NUMBER, OP_LT, true},
    {"NumericGreaterThan", T_NUMBER, OP_GT, false},
    {"NumericGreaterThanPath", T_NUMBER, OP_GT, true},
    {"NumericLessThanEquals", T_NUMBER, OP_LE, false},
    {"NumericLessThanEqualsPath", T_NUMBER, OP_LE, true},
    {"NumericGreaterThanEquals", T_NUMBER, OP_GE, false},
    {"NumericGreaterThanEqualsPath", T_NUMBER, OP_GE, true},
    {"BooleanEquals", T_BOOLEAN, OP_EQ, false},
    {"BooleanEqualsPath", T_BOOLEAN, OP_EQ, true},
    {"TimestampEquals", T_TIMESTAMP, OP_EQ, false},
    {"TimestampEqualsPath", T_TIMESTAMP, OP_EQ, true},
    {"TimestampLessThan", T_TIMESTAMP, OP_LT, false},
    {"TimestampLessThanPath", T_TIMESTAMP, OP_LT, true},
    {"TimestampGreaterThan", T_TIMESTAMP, OP_GT, false},
    {"TimestampGreaterThanPath", T_TIMESTAMP, OP_GT, true},
    {"TimestampLessThanEquals", T_TIMESTAMP, OP_LE, false},
    {"TimestampLessThanEqualsPath", T_TIMESTAMP, OP_LE, true},
    {"TimestampGreaterThanEquals", T_TIMESTAMP, OP_GE, false},
    {"TimestampGreaterThanEqualsPath", T_TIMESTAMP, OP_GE, true},
    {"IsNull", T_TYPE, IS_NULL, false},
    {"IsPresent", T_TYPE, IS_PRESENT, false},
    {"IsNumeric", T_TYPE, IS_NUMERIC, false},
    {"IsString", T_TYPE, IS_STRING, false},
    {"IsBoolean", T_TYPE, IS_BOOLEAN, false},
    {"IsTimestamp", T_TYPE, IS_TIMESTAMP, false},
};

typedef enum { RULE_COMPARE, RULE_AND, RULE_OR, RULE_NOT } rule_kind;

struct sfn_choice_rule {
    rule_kind kind;
    char *next;
    /* RULE_COMPARE */
    sfn_path *variable;
    const operator_row *row;
    json_t *operand;        /* the literal */
    sfn_path *operand_path; /* a ...Path operand */
    /* RULE_AND / RULE_OR / RULE_NOT */
    sfn_choice_rule **children;
    size_t nchildren;
};

/* ---------------------------------------------------------------- timestamps, matching */

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int sfn_time_cmp(sfn_time a, sfn_time b)
{
    if (a.secs != b.secs)
        return a.secs < b.secs ? -1 : 1;
    return a.nanos < b.nanos ? -1 : a.nanos > b.nanos;
}

int sfn_timestamp_parse(const char *s, sfn_time *t)
{
    int y, mo, d, h, mi, sec;
    if (strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
        digits(s + 8, 2, &d) || s[10] != 'T' || digits(s + 11, 2, &h) || s[13] != ':' ||
        digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &sec))
        return -1;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) ||
        h > 23 || mi > 59 || sec > 60)
        return -1;
    const char *p = s + 19;
    int64_t frac = 0;
    if (*p == '.') {
        p++;
        int n = 0;
        for (; isdigit((unsigned char)*p); p++, n++)
            if (n < 9)
                frac = frac * 10 + (*p - '0');
        if (n == 0)
            return -1;
        for (; n < 9; n++)
            frac *= 10;
    }
    int64_t offset = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return -1;
        offset = (*p == '-' ? -1 : 1) * (int64_t)(oh * 3600 + om * 60);
        p += 6;
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    t->secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset;
    t->nanos = (int32_t)frac;
    return 0;
}

/* The next pattern element at *p: returns 1 for a star, 0 for a literal (in *c), -1 at
 * the end. `\*` and `\\` are literals. */
static int pattern_next(const char **p, char *c)
{
    if (**p == '\0')
        return -1;
    if (**p == '*') {
        (*p)++;
        return 1;
    }
    if (**p == '\\' && ((*p)[1] == '*' || (*p)[1] == '\\'))
        (*p)++;
    *c = *(*p)++;
    return 0;
}

bool sfn_string_matches(const char *s, const char *pattern)
{
    const char *p = pattern, *star_p = NULL, *star_s = NULL;
    for (;;) {
        char c = 0;
        int kind = pattern_next(&p, &c);
        if (kind == 1) {
            star_p = p;
            star_s = s;
            continue;
        }
        if (kind == 0 && *s != '\0' && *s == c) {
            s++;
            continue;
        }
        if (kind == -1 && *s == '\0')
            return true;
        /* mismatch: let the last star swallow one more character */
        if (!star_p || *star_s == '\0')
            return false;
        s = ++star_s;
        p = star_p;
    }
}

/* The next UTF-16 code unit of the valid UTF-8 string at *s (0 at the end); a character
 * outside the BMP yields its high surrogate, then (*pending) its low one. */
static unsigned utf16_next(const unsigned char **s, unsigned *pending)
{
    if (*pending) {
        unsigned u = *pending;
        *pending = 0;
        return u;
    }
    const unsigned char *p = *s;
    unsigned cp;
    if (p[0] < 0x80) {
        cp = p[0];
        *s += p[0] ? 1 : 0;
    } else if (p[0] < 0xE0) {
        cp = ((p[0] & 0x1Fu) << 6) | (p[1] & 0x3Fu);
        *s += 2;
    } else if (p[0] < 0xF0) {
        cp = ((p[0] & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
        *s += 3;
    } else {
        cp = ((p[0] & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6) |
             (p[3] & 0x3Fu);
        *s += 4;
        cp -= 0x10000;
        *pending = 0xDC00 + (cp & 0x3FF);
        return 0xD800 + (cp >> 10);
    }
    return cp;
}

/* Orders strings as Java's String.compareTo does (by UTF-16 code units), as AWS
 * documents for the String comparison operators. */
static int java_compare(const char *a, const char *b)
{
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
    unsigned px = 0, py = 0;
    for (;;) {
        unsigned ux = utf16_next(&x, &px), uy = utf16_next(&y, &py);
        if (ux != uy)
            return ux < uy ? -1 : 1;
        if (ux == 0)
            return 0;
    }
}

/* ---------------------------------------------------------------- compiling */

void sfn_choice_rule_free(sfn_choice_rule *r)
{
    if (!r)
        return;
    xfree(r->next);
    sfn_path_free(r->variable);
    json_decref(r->operand);
    sfn_path_free(r->operand_path);
    for (size_t i = 0; i < r->nchildren; i++)
        sfn_choice_rule_free(r->children[i]);
    xfree(r->children);
    xfree(r);
}

const char *sfn_choice_rule_next(const sfn_choice_rule *r)
{
    return r->next;
}

static int compile_at(const json_t *rule, bool top_level, int depth, sfn_choice_rule **out,
                      char *err, size_t errlen);

static bool operand_ok(const operator_row *row, const json_t *v)
{
    switch (row->type) {
    case T_STRING:
    case T_MATCH:
        return json_is_string(v);
    case T_NUMBER:
        return json_is_number(v);
    case T_BOOLEAN:
    case T_TYPE:
        return json_is_boolean(v);
    case T_TIMESTAMP: {
        sfn_time ts;
        return json_is_string(v) && sfn_timestamp_parse(json_string_value(v), &ts) == 0;
    }
    }
    return false;
}

static const char *type_word(const operator_row *row)
{
    static const char *words[] = {"STRING", "NUMBER", "BOOLEAN", "TIMESTAMP", "STRING", "BOOLEAN"};
    return words[row->type];
}

static int compile_compare(const json_t *rule, sfn_choice_rule *r, char *err, size_t errlen)
{
    size_t found = 0;
    for (size_t k = 0; k < sizeof OPERATORS / sizeof *OPERATORS; k++) {
        if (json_object_get(rule, OPERATORS[k].name)) {
            r->row = &OPERATORS[k];
            found++;
        }
    }
    if (found != 1) {
        snprintf(err, errlen, "A Choice rule must have exactly one comparison operator, not %zu",
                 found);
        return -1;
    }
    json_t *var = json_object_get(rule, "Variable");
    char why[256];
    if (!json_is_string(var) ||
        sfn_path_compile(json_string_value(var), &r->variable, why, sizeof why) != 0) {
        snprintf(err, errlen, "The value for the field 'Variable' must be a valid JSONPath");
        return -1;
    }
    json_t *v = json_object_get(rule, r->row->name);
    if (r->row->path) {
        if (!json_is_string(v) ||
            sfn_path_compile(json_string_value(v), &r->operand_path, why, sizeof why) != 0) {
            snprintf(err, errlen, "The value for the field '%s' must be a valid JSONPath",
                     r->row->name);
            return -1;
        }
        return 0;
    }
    if (!operand_ok(r->row, v)) {
        snprintf(err, errlen, "The value for the field '%s' must be a %s", r->row->name,
                 r->row->type == T_TIMESTAMP ? "valid RFC 3339 TIMESTAMP" : type_word(r->row));
        return -1;
    }
    r->operand = json_incref((json_t *)v);
    return 0;
}

static int compile_children(const json_t *list, rule_kind kind, int depth, sfn_choice_rule *r,
                            char *err, size_t errlen)
{
    const char *field = kind == RULE_AND ? "And" : kind == RULE_OR ? "Or" : "Not";
    if (kind == RULE_NOT) {
        if (!json_is_object(list)) {
            snprintf(err, errlen, "The value for the field 'Not' must be an OBJECT");
            return -1;
        }
        r->children = xcalloc(1, sizeof *r->children);
        r->nchildren = 1;
        return compile_at(list, false, depth + 1, &r->children[0], err, errlen);
    }
    if (!json_is_array(list) || json_array_size(list) == 0) {
        snprintf(err, errlen, "The value for the field '%s' must be a non-empty ARRAY", field);
        return -1;
    }
    r->children = xcalloc(json_array_size(list), sizeof *r->children);
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        r->nchildren++;
        if (compile_at(v, false, depth + 1, &r->children[i], err, errlen) != 0)
            return -1;
    }
    return 0;
}

static int compile_at(const json_t *rule, bool top_level, int depth, sfn_choice_rule **out,
                      char *err, size_t errlen)
{
    *out = NULL;
    if (depth > MAX_DEPTH) {
        snprintf(err, errlen, "Choice rules nest too deeply");
        return -1;
    }
    if (!json_is_object(rule)) {
        snprintf(err, errlen, "A Choice rule must be an OBJECT");
        return -1;
    }
    sfn_choice_rule *r = xcalloc(1, sizeof *r);
    *out = r;
    json_t *next = json_object_get(rule, "Next");
    if (top_level && !json_is_string(next)) {
        snprintf(err, errlen, "The field 'Next' should be a STRING in a top-level Choice rule");
        return -1;
    }
    if (!top_level && next) {
        snprintf(err, errlen, "The field 'Next' is not allowed in a nested Choice rule");
        return -1;
    }
    if (next)
        r->next = xstrdup(json_string_value(next));
    static const struct {
        const char *key;
        rule_kind kind;
    } combinators[] = {{"And", RULE_AND}, {"Or", RULE_OR}, {"Not", RULE_NOT}};
    int found = 0;
    for (size_t k = 0; k < 3; k++) {
        if (json_object_get(rule, combinators[k].key)) {
            r->kind = combinators[k].kind;
            found++;
        }
    }
    if (found == 0) {
        r->kind = RULE_COMPARE;
        return compile_compare(rule, r, err, errlen);
    }
    if (found > 1 || json_object_get(rule, "Variable")) {
        snprintf(err, errlen,
                 "A Choice rule must be exactly one of a comparison, 'And', 'Or' or 'Not'");
        return -1;
    }
    const char *key = r->kind == RULE_AND ? "And" : r->kind == RULE_OR ? "Or" : "Not";
    return compile_children(json_object_get(rule, key), r->kind, depth, r, err, errlen);
}

int sfn_choice_rule_compile(const json_t *rule, bool top_level, sfn_choice_rule **out, char *err,
                            size_t errlen)
{
    int rc = compile_at(rule, top_level, 0, out, err, errlen);
    if (rc != 0) {
        sfn_choice_rule_free(*out);
        *out = NULL;
    }
    return rc;
}

/* ---------------------------------------------------------------- evaluating */

static int missing(const sfn_path *p, sfn_error *e)
{
    return sfn_error_set(e, "States.Runtime",
                         "Invalid path '%s': The choice state's condition path references an "
                         "invalid value.",
                         sfn_path_text(p));
}

static bool type_holds(type_test t, const json_t *v, bool expected)
{
    bool is;
    switch (t) {
    case IS_NULL:
        is = json_is_null(v);
        break;
    case IS_NUMERIC:
        is = json_is_number(v);
        break;
    case IS_STRING:
        is = json_is_string(v);
        break;
    case IS_BOOLEAN:
        is = json_is_boolean(v);
        break;
    case IS_TIMESTAMP: {
        sfn_time ts;
        is = json_is_string(v) && sfn_timestamp_parse(json_string_value(v), &ts) == 0;
        break;
    }
    default:
        is = true;
    }
    return is == expected;
}

static bool order_holds(cmp_op op, int c)
{
    switch (op) {
    case OP_EQ:
        return c == 0;
    case OP_LT:
        return c < 0;
    case OP_GT:
        return c > 0;
    case OP_LE:
        return c <= 0;
    case OP_GE:
        return c >= 0;
    default:
        return false;
    }
}

/* Compares value with operand as row says; false when either has the wrong type. */
static bool compare(const operator_row *row, const json_t *value, const json_t *operand)
{
    cmp_op op = (cmp_op)row->op;
    switch (row->type) {
    case T_STRING:
        if (!json_is_string(value) || !json_is_string(operand))
            return false;
        return order_holds(op, java_compare(json_string_value(value), json_string_value(operand)));
    case T_MATCH:
        return json_is_string(value) && json_is_string(operand) &&
               sfn_string_matches(json_string_value(value), json_string_value(operand));
    case T_NUMBER: {
        if (!json_is_number(value) || !json_is_number(operand))
            return false;
        int c;
        if (json_is_integer(value) && json_is_integer(operand)) {
            json_int_t x = json_integer_value(value), y = json_integer_value(operand);
            c = x < y ? -1 : x > y;
        } else {
            double x = json_number_value(value), y = json_number_value(operand);
            c = x < y ? -1 : x > y;
        }
        return order_holds(op, c);
    }
    case T_BOOLEAN:
        return json_is_boolean(value) && json_is_boolean(operand) &&
               json_is_true(value) == json_is_true(operand);
    case T_TIMESTAMP: {
        sfn_time x, y;
        if (!json_is_string(value) || !json_is_string(operand) ||
            sfn_timestamp_parse(json_string_value(value), &x) != 0 ||
            sfn_timestamp_parse(json_string_value(operand), &y) != 0)
            return false;
        return order_holds(op, sfn_time_cmp(x, y));
    }
    case T_TYPE:
        break;
    }
    return false;
}

static int eval_compare(const sfn_choice_rule *r, json_t *input, json_t *context, bool *matched,
                        sfn_error *e)
{
    json_t *value = sfn_path_eval(r->variable, input, context);
    if (r->row->type == T_TYPE && r->row->op == IS_PRESENT) {
        *matched = (value != NULL) == json_is_true(r->operand);
        json_decref(value);
        return 0;
    }
    if (!value)
        return missing(r->variable, e);
    int rc = 0;
    if (r->row->type == T_TYPE) {
        *matched = type_holds((type_test)r->row->op, value, json_is_true(r->operand));
    } else if (r->operand_path) {
        json_t *operand = sfn_path_eval(r->operand_path, input, context);
        if (operand)
            *matched = compare(r->row, value, operand);
        else
            rc = missing(r->operand_path, e);
        json_decref(operand);
    } else {
        *matched = compare(r->row, value, r->operand);
    }
    json_decref(value);
    return rc;
}

int sfn_choice_rule_eval(const sfn_choice_rule *r, json_t *input, json_t *context, bool *matched,
                         sfn_error *e)
{
    *matched = false;
    switch (r->kind) {
    case RULE_COMPARE:
        return eval_compare(r, input, context, matched, e);
    case RULE_NOT:
        if (sfn_choice_rule_eval(r->children[0], input, context, matched, e) != 0)
            return -1;
        *matched = !*matched;
        return 0;
    case RULE_AND:
    case RULE_OR:
        for (size_t i = 0; i < r->nchildren; i++) {
            bool m;
            if (sfn_choice_rule_eval(r->children[i], input, context, &m, e) != 0)
                return -1;
            if (m != (r->kind == RULE_AND)) { /* short-circuit */
                *matched = m;
                return 0;
            }
        }
        *matched = r->kind == RULE_AND;
        return 0;
    }
    return 0;
}

/* ---------------------------------------------------------------- the state */

int sfn_choice_state_validate(const json_t *state, char *err, size_t errlen)
{
    json_t *choices = json_object_get(state, "Choices");
    if (!json_is_array(choices) || json_array_size(choices) == 0) {
        snprintf(err, errlen, "The field 'Choices' should be a non-empty ARRAY");
        return -1;
    }
    json_t *def = json_object_get(state, "Default");
    if (def && !json_is_string(def)) {
        snprintf(err, errlen, "The value for the field 'Default' must be a STRING");
        return -1;
    }
    size_t i;
    json_t *v;
    json_array_foreach(choices, i, v)
    {
        sfn_choice_rule *r;
        char why[512];
        if (sfn_choice_rule_compile(v, true, &r, why, sizeof why) != 0) {
            snprintf(err, errlen, "%s at /Choices[%zu]", why, i);
            return -1;
        }
        sfn_choice_rule_free(r);
    }
    return 0;
}

int sfn_choice_state_select(const json_t *state, json_t *input, json_t *context, const char **next,
                            sfn_error *e)
{
    *next = NULL;
    json_t *choices = json_object_get(state, "Choices");
    size_t i;
    json_t *v;
    json_array_foreach(choices, i, v)
    {
        sfn_choice_rule *r;
        char why[512];
        if (sfn_choice_rule_compile(v, true, &r, why, sizeof why) != 0)
            return sfn_error_set(e, "States.Runtime", "Invalid Choice rule: %s", why);
        bool matched;
        int rc = sfn_choice_rule_eval(r, input, context, &matched, e);
        sfn_choice_rule_free(r);
        if (rc != 0)
            return -1;
        if (matched) {
            *next = json_string_value(json_object_get(v, "Next"));
            return 0;
        }
    }
    *next = json_string_value(json_object_get(state, "Default"));
    if (*next)
        return 0;
    return sfn_error_set(e, "States.NoChoiceMatched",
                         "No Choice rule matched and no Default is specified");
}
