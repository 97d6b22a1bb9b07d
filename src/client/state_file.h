/*
 * Small files in the client state directory (known servers, the sequence
 * counter, the last response): locked opening, whole-file reads, synced
 * appends and atomic replacement. Files are created with mode 0600, since
 * some hold private data and none is meant for other users.
 *
 * Every function returns 0 or a negative ts_err code with a detail that
 * names the file and the system's reason.
 */
#ifndef TS_CLIENT_STATE_FILE_H
#define TS_CLIENT_STATE_FILE_H

#include <stddef.h>

/* Mode of every file created here. */
#define STATE_FILE_MODE 0600

/*
 * Open path with flags (O_CLOEXEC is added; with O_CREAT the file is
 * created with STATE_FILE_MODE) and take a flock of kind lock (LOCK_SH or
 * LOCK_EX), waiting for it. Since writers replace files by renaming, the
 * lock is only kept once the locked file is still the one at path;
 * otherwise the new file is opened and locked instead. *fd is the locked
 * descriptor (closing it drops the lock). Errors: TS_ERR_NOT_FOUND (no
 * file and no O_CREAT), TS_ERR_IO.
 */
int state_file_open_locked(const char *path, int flags, int lock, int *fd);

/*
 * Read fd from offset 0 to its end into a malloc'd buffer (*out, caller
 * frees) with a NUL after the *len bytes. Errors: TS_ERR_TOO_LARGE (over
 * max bytes), TS_ERR_IO, TS_ERR_NOMEM.
 */
int state_file_read_all(int fd, const char *path, size_t max, char **out, size_t *len);

/* Write all len bytes of data to fd (opened with O_APPEND) and fsync it.
 * 0 or TS_ERR_IO. */
int state_file_append_sync(int fd, const char *path, const void *data, size_t len);

/*
 * Replace path with data atomically: write a temporary file (mode
 * STATE_FILE_MODE) in the same directory, fsync it, rename it over path,
 * fsync the directory. A reader sees the old or the new content, never a
 * mix. 0, TS_ERR_IO or TS_ERR_NOMEM.
 */
int state_file_replace(const char *path, const void *data, size_t len);

#endif /* TS_CLIENT_STATE_FILE_H */
