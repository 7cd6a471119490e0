/* JSON-lines logging on stderr: one object per line with ts, level, msg and fields.
 *   log_info("listening", "addr=%s port=%d", addr, port)
 * The fields string is "k=v k=v"; values are written as JSON strings (numbers when they
 * parse as integers). Thread-safe (one write(2) per line). */
#ifndef SLUICE_COMMON_LOG_H
#define SLUICE_COMMON_LOG_H

typedef enum { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

void log_set_level(log_level lvl);
int log_parse_level(const char *s, log_level *out); /* 0 or -1 */
void log_write(log_level lvl, const char *msg, const char *fields_fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(...) log_write(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_write(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_write(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_write(LOG_ERROR, __VA_ARGS__)

#endif
