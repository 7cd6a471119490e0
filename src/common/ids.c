#include "common/ids.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <time.h>

static uint64_t state[2];

static void seed(void)
{
    if (RAND_bytes((unsigned char *)state, sizeof state) != 1 || (state[0] | state[1]) == 0) {
        state[0] = (uint64_t)time(NULL) ^ 0x9e3779b97f4a7c15ULL;
        state[1] = (uint64_t)clock() ^ 0xbf58476d1ce4e5b9ULL;
    }
}

/* xorshift128+ */
uint64_t ids_random64(void)
{
    if ((state[0] | state[1]) == 0)
        seed();
    uint64_t s1 = state[0];
    const uint64_t s0 = state[1];
    state[0] = s0;
    s1 ^= s1 << 23;
    state[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
    return state[1] + s0;
}

void ids_uuid4(char out[37])
{
    static const char hex[] = "0123456789abcdef";
    uint64_t a = ids_random64(), b = ids_random64();
    unsigned char bytes[16];
    for (int i = 0; i < 8; i++) {
        bytes[i] = (unsigned char)(a >> (8 * i));
        bytes[8 + i] = (unsigned char)(b >> (8 * i));
    }
    bytes[6] = (unsigned char)((bytes[6] & 0x0f) | 0x40);
    bytes[8] = (unsigned char)((bytes[8] & 0x3f) | 0x80);
    int o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[bytes[i] >> 4];
        out[o++] = hex[bytes[i] & 15];
    }
    out[o] = '\0';
}
