/*
 * Internal side of the error model: recording a per-thread detail string
 * alongside the returned code (see include/tcpseal/error.h).
 */
#ifndef TS_UTIL_ERROR_H
#define TS_UTIL_ERROR_H

#include <tcpseal/error.h>

/* Longest recorded detail, including the NUL; longer text is truncated. */
#define ERROR_DETAIL_MAX 256

/*
 * Record a printf-style detail for the calling thread and return code, so a
 * failing function can write `return error_set(TS_ERR_IO, "open %s: %s", ...)`.
 * The detail must never contain secret material.
 */
int error_set(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Forget any recorded detail on this thread. */
void error_clear(void);

#endif /* TS_UTIL_ERROR_H */
