/*
 * tcpseal logging.
 *
 * The library writes one line per event: a UTC timestamp followed by
 * key=value fields, e.g.
 *   time=2026-01-02T03:04:05.678Z level=warn event=reject peer=127.0.0.1:5000 reason="server full"
 * Control characters in a line are replaced, so peer-supplied text cannot
 * forge extra lines. Secrets and passwords are never logged.
 *
 * By default lines go to stderr at level info; TCPSEAL_LOG (error, warn,
 * info, debug, trace) overrides the default when ts_log_init_from_env() is
 * called. All functions here are thread-safe.
 */
#ifndef TCPSEAL_LOG_H
#define TCPSEAL_LOG_H

#include <tcpseal/common.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ts_log_level {
    TS_LOG_ERROR = 0,
    TS_LOG_WARN = 1,
    TS_LOG_INFO = 2,
    TS_LOG_DEBUG = 3,
    TS_LOG_TRACE = 4,
} ts_log_level;

/* Receives each formatted line (without newline) instead of the default
 * destination. Called from any thread that logs; must be thread-safe. */
typedef void (*ts_log_handler)(ts_log_level level, const char *line, void *arg);

/* Set the most verbose level written. */
TS_API void ts_log_set_level(ts_log_level level);

/* Current level. */
TS_API ts_log_level ts_log_get_level(void);

/* Parse "error", "warn", "info", "debug" or "trace" into *out: 0, or
 * TS_ERR_INVALID for any other text. */
TS_API int ts_log_parse_level(const char *text, ts_log_level *out);

/* Apply TCPSEAL_LOG when it is set and valid: 0, or TS_ERR_CONFIG when it is
 * set to an unknown level (the level is then left unchanged). */
TS_API int ts_log_init_from_env(void);

/* Append lines to the file at path (created 0600) instead of stderr; NULL
 * goes back to stderr. 0 or TS_ERR_IO. */
TS_API int ts_log_set_file(const char *path);

/* Send lines to syslog (facility daemon) under ident; false goes back to
 * stderr. */
TS_API void ts_log_set_syslog(int enabled, const char *ident);

/* Route lines to handler (NULL restores the default destination). */
TS_API void ts_log_set_handler(ts_log_handler handler, void *arg);

#ifdef __cplusplus
}
#endif

#endif /* TCPSEAL_LOG_H */
