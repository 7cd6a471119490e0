/* Identifiers: random UUIDs (message ids, request ids) from a fast PRNG seeded once from
 * the OS. Not for secrets. Loop-thread only (one generator state). */
#ifndef SLUICE_COMMON_IDS_H
#define SLUICE_COMMON_IDS_H

#include <stdint.h>

/* Writes a random version-4 UUID, lower-case, 36 characters + NUL. */
void ids_uuid4(char out[37]);
/* 64 random bits. */
uint64_t ids_random64(void);

#endif
