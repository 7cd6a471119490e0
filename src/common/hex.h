/* Hexadecimal digits, for the decoders of %XX escapes (forms, SigV4 paths) and \uXXXX
 * escapes (JSON). */
#ifndef SLUICE_COMMON_HEX_H
#define SLUICE_COMMON_HEX_H

/* The value of hex digit c (either case), or -1. */
static inline int hex_digit(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

#endif
