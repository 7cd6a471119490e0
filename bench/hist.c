/* Log-linear latency histogram: see hist.h for the bucket layout. */
#include "hist.h"

#include <string.h>

static unsigned bucket_of(uint64_t v)
{
    if (v < (1u << HIST_SUB_BITS))
        return (unsigned)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = msb - (HIST_SUB_BITS - 1);
    unsigned top = (unsigned)(v >> shift); /* in [HALF, 2*HALF) */
    return (1u << HIST_SUB_BITS) + (shift - 1) * HIST_HALF + (top - HIST_HALF);
}

/* The highest value that falls in bucket i. */
static uint64_t bucket_high(unsigned i)
{
    if (i < (1u << HIST_SUB_BITS))
        return i;
    unsigned j = i - (1u << HIST_SUB_BITS);
    unsigned shift = j / HIST_HALF + 1;
    uint64_t top = HIST_HALF + j % HIST_HALF;
    return ((top + 1) << shift) - 1;
}

void hist_reset(hist *h)
{
    memset(h, 0, sizeof *h);
}

void hist_record(hist *h, uint64_t v)
{
    h->counts[bucket_of(v)]++;
    if (h->total == 0 || v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
    h->total++;
}

uint64_t hist_percentile(const hist *h, double p)
{
    if (h->total == 0)
        return 0;
    if (p >= 100.0)
        return h->max;
    /* The rank of the sample at p, 1-based, rounded up (p99 of 1000 samples = the 990th). */
    uint64_t rank = (uint64_t)(p / 100.0 * (double)h->total + 0.999999);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t hi = bucket_high(i);
            return hi < h->max ? hi : h->max;
        }
    }
    return h->max;
}
