/* JSONata 2.0 expressions (https://docs.jsonata.org), as Step Functions evaluates them in
 * states with "QueryLanguage": "JSONata": paths, predicates, grouping, sorting,
 * operators, variables, lambdas and closures, regular expressions, transforms and the
 * standard function library, plus the functions Step Functions adds ($partition,
 * $range, $hash, $random(seed), $uuid, $parse).
 *
 * Compile once, evaluate many times. Evaluation is bounded (nesting depth, evaluation
 * steps, wall-clock time and memory, see the limits below) so a hostile expression
 * fails with error U1001 instead of hanging the event loop or exhausting memory.
 *
 * Error messages start with the JSONata error code and follow jsonata-js's wording,
 * with the character position in the expression where one is known:
 *   S0202: Expected ")", got "]" (position 5)
 *   T2001: The left side of the "-" operator must evaluate to a number (position 4) */
#ifndef SLUICE_JSONATA_H
#define SLUICE_JSONATA_H

#include <jansson.h>
#include <stddef.h>

/* Limits of one evaluation. */
#define JSONATA_MAX_DEPTH      1000        /* nested evaluations (recursion) */
#define JSONATA_MAX_STEPS      5000000     /* evaluation steps */
#define JSONATA_MAX_MILLIS     2000        /* wall-clock time */
#define JSONATA_MAX_MEMORY     (64u << 20) /* bytes of intermediate values */
#define JSONATA_MAX_EXPR_DEPTH 200         /* nesting of the expression text */

typedef struct jsonata_expr jsonata_expr;

/* Compiles src (copied). Returns the expression (free with jsonata_free), or NULL with
 * a message like "S0202: Expected \")\", got \"]\" (position 5)" in err. */
jsonata_expr *jsonata_compile(const char *src, char *err, size_t errlen);

/* Evaluates e against input (borrowed; NULL is "undefined") with variable bindings
 * (borrowed; an object of name -> value, names without "$"; may be NULL). Returns a new
 * reference with *failed = 0, or NULL with *failed = 0 when the result is undefined, or
 * NULL with *failed = 1 and the message ("T2001: ...") in err. Integers that a double
 * holds exactly come back as json_integer, other numbers as json_real. */
json_t *jsonata_evaluate(const jsonata_expr *e, json_t *input, json_t *bindings, char *err,
                         size_t errlen, int *failed);

/* Accepts NULL. */
void jsonata_free(jsonata_expr *e);

#endif
