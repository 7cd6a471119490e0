#include "common/log.h"

#include "common/buf.h"
#include "common/clock.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static log_level min_level = LOG_INFO;
static const char *const names[] = {"debug", "info", "warn", "error"};

void log_set_level(log_level lvl)
{
    min_level = lvl;
}

int log_parse_level(const char *s, log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (log_level)i;
            return 0;
        }
    }
    if (strcmp(s, "warning") == 0) {
        *out = LOG_WARN;
        return 0;
    }
    return -1;
}

static void put_json_string(buf *b, const char *s, size_t n)
{
    buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            buf_putc(b, '\\');
            buf_putc(b, (char)c);
        } else if (c < 0x20) {
            buf_printf(b, "\\u%04x", c);
        } else {
            buf_putc(b, (char)c);
        }
    }
    buf_putc(b, '"');
}

static int is_integer(const char *s, size_t n)
{
    size_t i = (n > 0 && s[0] == '-') ? 1 : 0;
    if (i == n || n > 18)
        return 0;
    for (; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* Fields are "k=v k='v with spaces'". */
static void put_fields(buf *b, const char *f)
{
    while (*f) {
        while (*f == ' ')
            f++;
        const char *eq = strchr(f, '=');
        if (!eq)
            break;
        const char *v = eq + 1;
        const char *end;
        size_t vlen;
        int quoted = (*v == '\'');
        if (quoted) {
            v++;
            end = strchr(v, '\'');
            if (!end)
                end = v + strlen(v);
            vlen = (size_t)(end - v);
            if (*end)
                end++;
        } else {
            end = strchr(v, ' ');
            if (!end)
                end = v + strlen(v);
            vlen = (size_t)(end - v);
        }
        buf_putc(b, ',');
        put_json_string(b, f, (size_t)(eq - f));
        buf_putc(b, ':');
        if (!quoted && is_integer(v, vlen))
            buf_append(b, v, vlen);
        else
            put_json_string(b, v, vlen);
        f = end;
    }
}

void log_write(log_level lvl, const char *msg, const char *fields_fmt, ...)
{
    if (lvl < min_level)
        return;
    char fields[2048] = "";
    if (fields_fmt && *fields_fmt) {
        va_list ap;
        va_start(ap, fields_fmt);
        vsnprintf(fields, sizeof fields, fields_fmt, ap);
        va_end(ap);
    }
    int64_t ms = clock_now_ms();
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char ts[96];
    snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    buf b = BUF_INIT;
    buf_printf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":", ts, names[lvl]);
    put_json_string(&b, msg, strlen(msg));
    put_fields(&b, fields);
    buf_puts(&b, "}\n");
    ssize_t w = write(STDERR_FILENO, b.data, b.len);
    (void)w;
    buf_free(&b);
}
