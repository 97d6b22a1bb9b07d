#include "client/state_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tcpseal/error.h>

#include "util/error.h"

/* Suffix of temporary files: "<path>.tmp-XXXXXX". */
#define TEMP_SUFFIX ".tmp-XXXXXX"

static int lock_wait(int fd, int lock)
{
    int r;

    do {
        r = flock(fd, lock);
    } while (r != 0 && errno == EINTR);
    return r;
}

/* Is fd still the file at path (not renamed over or removed)? */
static int still_current(int fd, const char *path, int *current)
{
    struct stat a, b;

    if (fstat(fd, &a) != 0)
        return error_set(TS_ERR_IO, "cannot stat %s: %s", path, strerror(errno));
    if (stat(path, &b) != 0) {
        if (errno != ENOENT)
            return error_set(TS_ERR_IO, "cannot stat %s: %s", path, strerror(errno));
        *current = 0;
        return TS_OK;
    }
    *current = a.st_dev == b.st_dev && a.st_ino == b.st_ino;
    return TS_OK;
}

int state_file_open_locked(const char *path, int flags, int lock, int *fd_out)
{
    int fd, rc, current = 0;

    *fd_out = -1;
    for (;;) {
        fd = open(path, flags | O_CLOEXEC, STATE_FILE_MODE);
        if (fd < 0 && errno == ENOENT && (flags & O_CREAT) == 0)
            return error_set(TS_ERR_NOT_FOUND, "%s does not exist", path);
        if (fd < 0)
            return error_set(TS_ERR_IO, "cannot open %s: %s", path, strerror(errno));
        if (lock_wait(fd, lock) != 0) {
            rc = error_set(TS_ERR_IO, "cannot lock %s: %s", path, strerror(errno));
            close(fd);
            return rc;
        }
        if ((rc = still_current(fd, path, &current)) != TS_OK) {
            close(fd);
            return rc;
        }
        if (current) {
            *fd_out = fd;
            return TS_OK;
        }
        close(fd);
    }
}

int state_file_read_all(int fd, const char *path, size_t max, char **out, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1), *grown;
    ssize_t r;
    int rc = TS_OK;

    *out = NULL;
    *len = 0;
    if (buf == NULL)
        return error_set(TS_ERR_NOMEM, "out of memory");
    for (;;) {
        if (n == cap) {
            if (cap >= max) {
                rc = error_set(TS_ERR_TOO_LARGE, "%s is larger than %zu bytes", path, max);
                break;
            }
            cap = cap * 2 > max ? max : cap * 2;
            if ((grown = realloc(buf, cap + 1)) == NULL) {
                rc = error_set(TS_ERR_NOMEM, "out of memory");
                break;
            }
            buf = grown;
        }
        r = pread(fd, buf + n, cap - n, (off_t)n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = error_set(TS_ERR_IO, "cannot read %s: %s", path, strerror(errno));
            break;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (rc != TS_OK) {
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return TS_OK;
}

static int write_all(int fd, const char *path, const void *data, size_t len)
{
    const char *p = data;
    ssize_t r;

    while (len > 0) {
        r = write(fd, p, len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return error_set(TS_ERR_IO, "cannot write %s: %s", path, strerror(errno));
        p += r;
        len -= (size_t)r;
    }
    return TS_OK;
}

int state_file_append_sync(int fd, const char *path, const void *data, size_t len)
{
    int rc = write_all(fd, path, data, len);

    if (rc == TS_OK && fsync(fd) != 0)
        rc = error_set(TS_ERR_IO, "cannot sync %s: %s", path, strerror(errno));
    return rc;
}

/* Make the rename itself durable. */
static int sync_parent(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir;
    int fd, rc = TS_OK;

    if (slash == NULL)
        dir = strdup(".");
    else if (slash == path)
        dir = strdup("/");
    else
        dir = strndup(path, (size_t)(slash - path));
    if (dir == NULL)
        return error_set(TS_ERR_NOMEM, "out of memory");
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0)
        rc = error_set(TS_ERR_IO, "cannot sync directory %s: %s", dir, strerror(errno));
    if (fd >= 0)
        close(fd);
    free(dir);
    return rc;
}

int state_file_replace(const char *path, const void *data, size_t len)
{
    size_t n = strlen(path) + sizeof(TEMP_SUFFIX);
    char *tmp = malloc(n);
    int fd = -1, rc;

    if (tmp == NULL)
        return error_set(TS_ERR_NOMEM, "out of memory");
    snprintf(tmp, n, "%s" TEMP_SUFFIX, path);
    /* mkostemp creates the file with mode 0600. */
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        rc = error_set(TS_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
        goto done;
    }
    if ((rc = write_all(fd, tmp, data, len)) != TS_OK)
        goto done;
    if (fsync(fd) != 0) {
        rc = error_set(TS_ERR_IO, "cannot sync %s: %s", tmp, strerror(errno));
        goto done;
    }
    rc = close(fd);
    fd = -1;
    if (rc != 0) {
        rc = error_set(TS_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
        goto done;
    }
    if (rename(tmp, path) != 0) {
        rc = error_set(TS_ERR_IO, "cannot replace %s: %s", path, strerror(errno));
        goto done;
    }
    /* From here the new content is in place; only durability is left. */
    free(tmp);
    return sync_parent(path);
done:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    free(tmp);
    return rc;
}
