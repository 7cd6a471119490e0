/* Names and messages of a module's error codes, looked up in a table the module builds from
 * its X-macro list of errors (X(NAME, value, message)), so each client keeps one list and no
 * switch of its own. Code 0 is success: "OK" and "". */
#ifndef SLUICE_COMMON_ERR_TABLE_H
#define SLUICE_COMMON_ERR_TABLE_H

#include <stddef.h>

typedef struct err_row {
    int code;
    const char *name;    /* "ETIMEDOUT" */
    const char *message; /* "request timed out" */
} err_row;

/* A row of the table from an X-macro entry. */
#define ERR_ROW(name, value, msg) {value, #name, msg},

/* The code's name ("UNKNOWN" if the table has none). Static strings. */
static inline const char *err_table_name(const err_row *rows, size_t n, int code)
{
    if (code == 0)
        return "OK";
    for (size_t i = 0; i < n; i++)
        if (rows[i].code == code)
            return rows[i].name;
    return "UNKNOWN";
}

/* The code's message ("unknown error" if the table has none). Static strings. */
static inline const char *err_table_message(const err_row *rows, size_t n, int code)
{
    if (code == 0)
        return "";
    for (size_t i = 0; i < n; i++)
        if (rows[i].code == code)
            return rows[i].message;
    return "unknown error";
}

#endif
