/* A growable byte buffer. Always NUL-terminated past `len` so it can be used as a C
 * string; `len` excludes the terminator. Allocation failure aborts (see alloc.h). */
#ifndef SLUICE_COMMON_BUF_H
#define SLUICE_COMMON_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef struct buf {
    char *data;
    size_t len;
    size_t cap;
} buf;

#define BUF_INIT                                                                                   \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

void buf_init(buf *b, size_t cap);
void buf_free(buf *b);
void buf_reset(buf *b); /* len = 0, keeps the memory */
void buf_reserve(buf *b, size_t extra);
void buf_append(buf *b, const void *p, size_t n);
void buf_puts(buf *b, const char *s);
void buf_putc(buf *b, char c);
void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(buf *b, const char *fmt, va_list ap);
void buf_put_u64(buf *b, uint64_t v);
void buf_put_i64(buf *b, int64_t v);
/* Appends s with the five XML special characters escaped. */
void buf_put_xml_escaped(buf *b, const char *s, size_t n);
/* Takes the memory out of b (caller owns it, free with xfree); b becomes empty. */
char *buf_steal(buf *b, size_t *len);

#endif
