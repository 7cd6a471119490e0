/* A tiny latency histogram with log-linear buckets (the idea of HdrHistogram, in 60 lines).
 *
 * Values (nanoseconds) below 2^HIST_SUB_BITS are counted exactly; above, each power-of-two
 * range [2^k, 2^(k+1)) is split into 2^(HIST_SUB_BITS-1) equal buckets, so any reported
 * percentile is within 1/128 (0.8 %) of the true value, over the whole 64-bit range, with a
 * fixed 58 KiB table and O(1) recording (one clz). The exact maximum is kept aside. */
#ifndef SLUICE_BENCH_HIST_H
#define SLUICE_BENCH_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 8
#define HIST_HALF     (1u << (HIST_SUB_BITS - 1))
#define HIST_BUCKETS  ((1u << HIST_SUB_BITS) + (64 - HIST_SUB_BITS) * HIST_HALF)

typedef struct hist {
    uint64_t counts[HIST_BUCKETS];
    uint64_t total;
    uint64_t max;
    uint64_t min;
} hist;

void hist_reset(hist *h);
void hist_record(hist *h, uint64_t v);
/* The value at percentile p (0..100): the highest value of the bucket holding it, like
 * HdrHistogram's "highest equivalent value"; the exact max for p = 100; 0 when empty. */
uint64_t hist_percentile(const hist *h, double p);

#endif
