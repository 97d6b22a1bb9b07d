#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/error.h"
#include "util/timefmt.h"

#define LOG_LINE_MAX 2048

enum log_sink { SINK_STDERR, SINK_FILE, SINK_SYSLOG, SINK_HANDLER };

static const char *const level_names[] = {"error", "warn", "info", "debug",
                                          "trace"};
static const int syslog_priorities[] = {LOG_ERR, LOG_WARNING, LOG_INFO,
                                        LOG_DEBUG, LOG_DEBUG};

static atomic_int current_level = TS_LOG_INFO;

/* The destination changes rarely (start-up, reload); the lock keeps a line
 * from being written to a file descriptor that is being closed. */
static pthread_mutex_t sink_lock = PTHREAD_MUTEX_INITIALIZER;
static enum log_sink sink = SINK_STDERR;
static int sink_fd = -1;
static ts_log_handler sink_handler;
static void *sink_handler_arg;

void ts_log_set_level(ts_log_level level)
{
    if (level >= TS_LOG_ERROR && level <= TS_LOG_TRACE)
        atomic_store(&current_level, level);
}

ts_log_level ts_log_get_level(void)
{
    return (ts_log_level)atomic_load(&current_level);
}

int log_enabled(ts_log_level level)
{
    return (int)level <= atomic_load_explicit(&current_level, memory_order_relaxed);
}

int ts_log_parse_level(const char *text, ts_log_level *out)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (text != NULL && strcasecmp(text, level_names[i]) == 0) {
            *out = (ts_log_level)i;
            return TS_OK;
        }
    }
    if (text != NULL && strcasecmp(text, "warning") == 0) {
        *out = TS_LOG_WARN;
        return TS_OK;
    }
    return TS_ERR_INVALID;
}

int ts_log_init_from_env(void)
{
    const char *text = getenv("TCPSEAL_LOG");
    ts_log_level level;

    if (text == NULL || *text == '\0')
        return TS_OK;
    if (ts_log_parse_level(text, &level) != TS_OK)
        return error_set(TS_ERR_CONFIG,
                         "TCPSEAL_LOG=%s is not a level (error, warn, info, debug, trace)",
                         text);
    ts_log_set_level(level);
    return TS_OK;
}

static void sink_reset_locked(void)
{
    if (sink == SINK_FILE && sink_fd >= 0)
        close(sink_fd);
    if (sink == SINK_SYSLOG)
        closelog();
    sink = SINK_STDERR;
    sink_fd = -1;
    sink_handler = NULL;
    sink_handler_arg = NULL;
}

int ts_log_set_file(const char *path)
{
    int fd = -1;

    if (path != NULL) {
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd < 0)
            return error_set(TS_ERR_IO, "cannot open log file %s: %s", path,
                             strerror(errno));
    }
    pthread_mutex_lock(&sink_lock);
    sink_reset_locked();
    if (fd >= 0) {
        sink = SINK_FILE;
        sink_fd = fd;
    }
    pthread_mutex_unlock(&sink_lock);
    return TS_OK;
}

void ts_log_set_syslog(int enabled, const char *ident)
{
    pthread_mutex_lock(&sink_lock);
    sink_reset_locked();
    if (enabled) {
        openlog(ident != NULL ? ident : "tcpseal", LOG_PID | LOG_NDELAY, LOG_DAEMON);
        sink = SINK_SYSLOG;
    }
    pthread_mutex_unlock(&sink_lock);
}

void ts_log_set_handler(ts_log_handler handler, void *arg)
{
    pthread_mutex_lock(&sink_lock);
    sink_reset_locked();
    if (handler != NULL) {
        sink = SINK_HANDLER;
        sink_handler = handler;
        sink_handler_arg = arg;
    }
    pthread_mutex_unlock(&sink_lock);
}


/* Peer-supplied text ends up in fields; a newline in it must not start a
 * forged line. */
static void scrub_controls(char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
    }
}

static void emit(ts_log_level level, char *line, size_t len)
{
    pthread_mutex_lock(&sink_lock);
    switch (sink) {
    case SINK_HANDLER:
        sink_handler(level, line, sink_handler_arg);
        break;
    case SINK_SYSLOG:
        syslog(syslog_priorities[level], "%s", line);
        break;
    case SINK_FILE:
    case SINK_STDERR: {
        int fd = sink == SINK_FILE ? sink_fd : STDERR_FILENO;
        line[len] = '\n';
        /* One write per line keeps lines whole between threads and
         * processes appending to the same file. */
        if (write(fd, line, len + 1) < 0) {
            /* Nowhere left to report a failing log destination. */
        }
        line[len] = '\0';
        break;
    }
    }
    pthread_mutex_unlock(&sink_lock);
}

void log_write(ts_log_level level, const char *event, const char *fmt, ...)
{
    char line[LOG_LINE_MAX + 1], now[TIMEFMT_ISO_LEN];
    size_t n = 0;
    va_list ap;
    int rc;

    if (!log_enabled(level))
        return;
    timefmt_iso8601(clock_wall_ms(), now);
    n += (size_t)snprintf(line, LOG_LINE_MAX, "time=%s level=%s event=%s", now,
                          level_names[level], event);
    if (fmt != NULL && fmt[0] != '\0' && n + 1 < LOG_LINE_MAX) {
        line[n++] = ' ';
        va_start(ap, fmt);
        rc = vsnprintf(line + n, LOG_LINE_MAX - n, fmt, ap);
        va_end(ap);
        if (rc > 0)
            n += (size_t)rc;
    }
    if (n >= LOG_LINE_MAX)
        n = LOG_LINE_MAX - 1;
    line[n] = '\0';
    scrub_controls(line);
    emit(level, line, n);
}
