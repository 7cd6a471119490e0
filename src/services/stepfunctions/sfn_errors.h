/* Step Functions errors: the error value every sfn_ module fails with (a name such as
 * "States.Runtime" and a cause, as an execution's history shows them), the Retry/Catch
 * ErrorEquals matching rules of the Amazon States Language, and the retry delay.
 *
 * Matching (ASL "Error names" and "Retrying after an error"): a retrier or catcher matches
 * an error when one of its ErrorEquals names equals the error's name, or is "States.ALL"
 * (which matches every error except States.DataLimitExceeded and States.Runtime: those
 * two are terminal, only an explicit name catches them), or is "States.TaskFailed" (every
 * error except States.Timeout, States.DataLimitExceeded and States.Runtime).
 * A definition may use States.ALL only alone in its ErrorEquals, and only in the last
 * retrier or catcher: sfn_error_equals_validate checks one list. */
#ifndef SLUICE_SERVICES_SFN_ERRORS_H
#define SLUICE_SERVICES_SFN_ERRORS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SFN_ERROR_NAME_MAX  256
#define SFN_ERROR_CAUSE_MAX 4096

/* An error raised while processing a state's data. The cause is truncated to fit. */
typedef struct sfn_error {
    char name[SFN_ERROR_NAME_MAX];
    char cause[SFN_ERROR_CAUSE_MAX];
} sfn_error;

/* Sets e (may be NULL: then nothing happens) and returns -1, so callers can
 * `return sfn_error_set(e, ...)`. */
int sfn_error_set(sfn_error *e, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Does ErrorEquals (a JSON array of strings, borrowed) match the error named `name`? */
bool sfn_error_equals_match(const json_t *error_equals, const char *name);

/* Checks one Retry or Catch list (a JSON array of retrier/catcher objects, borrowed):
 * every ErrorEquals a non-empty array of strings, States.ALL alone in its list and in
 * the last element. Returns 0, or -1 with a message in err. `field` is "Retry" or
 * "Catch" (named in the message). */
int sfn_error_equals_validate(const json_t *list, const char *field, char *err, size_t errlen);

/* A retrier's policy, defaults as ASL: IntervalSeconds 1, MaxAttempts 3, BackoffRate 2.0,
 * no MaxDelaySeconds (0), no jitter. */
typedef struct sfn_retry_policy {
    int64_t interval_seconds;
    int64_t max_attempts;
    double backoff_rate;
    int64_t max_delay_seconds; /* 0: none */
    bool jitter_full;
} sfn_retry_policy;

/* Reads a retrier object (borrowed) into p, checking the ranges AWS documents
 * (IntervalSeconds 1..99999999, MaxAttempts 0..99999999, BackoffRate >= 1.0,
 * MaxDelaySeconds 1..31622400, JitterStrategy "FULL" or "NONE"). Returns 0, or -1 with a
 * message in err. */
int sfn_retry_policy_parse(const json_t *retrier, sfn_retry_policy *p, char *err, size_t errlen);

/* The delay in milliseconds before retry number `attempt` (0 for the first retry), or -1
 * when the retrier is exhausted (attempt >= MaxAttempts). Without jitter:
 * IntervalSeconds * BackoffRate^attempt, capped at MaxDelaySeconds. With FULL jitter a
 * uniformly random delay in [0, that], drawn from `random01` (a value in [0, 1)). */
int64_t sfn_retry_delay_ms(const sfn_retry_policy *p, int64_t attempt, double random01);

#endif
