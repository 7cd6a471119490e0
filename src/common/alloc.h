/* One allocator wrapper for the server: out of memory aborts with a log line, so callers
 * never handle NULL. Every allocation of the server goes through these, so memory can be
 * counted (alloc_bytes_in_use) and, later, limited. */
#ifndef SLUICE_COMMON_ALLOC_H
#define SLUICE_COMMON_ALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void *xmemdup(const void *p, size_t n);
void xfree(void *p);

/* Makes room for one more element in arr (n used of cap), doubling as it grows. */
#define XGROW(arr, n, cap)                                                                         \
    do {                                                                                           \
        if ((n) == (cap)) {                                                                        \
            (cap) = (cap) ? 2 * (cap) : 8;                                                         \
            (arr) = xrealloc((arr), (cap) * sizeof *(arr));                                        \
        }                                                                                          \
    } while (0)

#endif
