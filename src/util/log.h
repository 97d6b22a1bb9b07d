/*
 * Internal logging calls. Use the LOG_* macros: they skip formatting when
 * the level is disabled. `event` is a short snake_case name; fmt holds the
 * remaining key=value fields, quoting values that may contain spaces.
 */
#ifndef TS_UTIL_LOG_H
#define TS_UTIL_LOG_H

#include <tcpseal/log.h>

void log_write(ts_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* True when lines at level are written. */
int log_enabled(ts_log_level level);

#define LOG_AT(level, event, ...)                                              \
    do {                                                                       \
        if (log_enabled(level))                                                \
            log_write(level, event, __VA_ARGS__);                              \
    } while (0)

#define LOG_ERROR(event, ...) LOG_AT(TS_LOG_ERROR, event, __VA_ARGS__)
#define LOG_WARN(event, ...) LOG_AT(TS_LOG_WARN, event, __VA_ARGS__)
#define LOG_INFO(event, ...) LOG_AT(TS_LOG_INFO, event, __VA_ARGS__)
#define LOG_DEBUG(event, ...) LOG_AT(TS_LOG_DEBUG, event, __VA_ARGS__)
#define LOG_TRACE(event, ...) LOG_AT(TS_LOG_TRACE, event, __VA_ARGS__)

#endif /* TS_UTIL_LOG_H */
