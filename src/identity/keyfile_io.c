#include "identity/keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.h"

#define KEYFILE_MODE (S_IRUSR | S_IWUSR)
/* Permission bits that make a key file readable or writable by others. */
#define KEYFILE_FORBIDDEN_BITS (S_IRWXG | S_IRWXO)
/* ".tmp-" and 8 hex digits appended to the target name. */
#define TMP_SUFFIX_FMT "%s.tmp-%08" PRIx32
#define TMP_SUFFIX_LEN 13
#define TMP_ATTEMPTS 8

static int io_error(const char *what, const char *path)
{
    return error_set(TS_ERR_IO, "%s '%s': %s", what, path, strerror(errno));
}

static int write_all(int fd, const char *path, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return io_error("cannot write", path);
        p += w;
        n -= (size_t)w;
    }
    return TS_OK;
}

/* Create a fresh temporary file beside path; *tmp_out receives its name. */
static int create_temp(const char *path, char **tmp_out, int *fd_out)
{
    size_t size = strlen(path) + TMP_SUFFIX_LEN + 1;
    char *tmp = malloc(size);
    int fd = -1;

    if (tmp == NULL)
        return error_set(TS_ERR_NOMEM, "out of memory saving '%s'", path);
    for (int i = 0; i < TMP_ATTEMPTS && fd < 0; i++) {
        snprintf(tmp, size, TMP_SUFFIX_FMT, path, randombytes_random());
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  KEYFILE_MODE);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        int rc = io_error("cannot create a temporary file for", path);
        free(tmp);
        return rc;
    }
    *tmp_out = tmp;
    *fd_out = fd;
    return TS_OK;
}

/* Make the rename itself durable. */
static int sync_parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash == NULL ? 1 : slash == path ? 1 : (size_t)(slash - path);
    char *dir = malloc(dir_len + 1);
    int fd = -1, rc = TS_OK;

    if (dir == NULL)
        return error_set(TS_ERR_NOMEM, "out of memory saving '%s'", path);
    if (slash == NULL)
        dir[0] = '.';
    else
        memcpy(dir, path, dir_len);
    dir[dir_len] = '\0';
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0)
        rc = io_error("cannot sync directory", dir);
    if (fd >= 0)
        close(fd);
    free(dir);
    return rc;
}

int keyfile_write_atomic(const char *path, const void *data, size_t len)
{
    char *tmp = NULL;
    int fd = -1, rc;

    if ((rc = create_temp(path, &tmp, &fd)) != TS_OK)
        return rc;
    /* The umask may have narrowed the mode; make it exactly 0600. */
    if (fchmod(fd, KEYFILE_MODE) != 0) {
        rc = io_error("cannot set mode 0600 on", tmp);
        goto fail;
    }
    if ((rc = write_all(fd, tmp, data, len)) != TS_OK)
        goto fail;
    if (fsync(fd) != 0) {
        rc = io_error("cannot sync", tmp);
        goto fail;
    }
    rc = close(fd);
    fd = -1;
    if (rc != 0) {
        rc = io_error("cannot close", tmp);
        goto fail;
    }
    if (rename(tmp, path) != 0) {
        rc = io_error("cannot rename the temporary file over", path);
        goto fail;
    }
    free(tmp);
    return sync_parent_dir(path);
fail:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    free(tmp);
    return rc;
}

static int read_all(int fd, const char *path, char *buf, size_t cap, size_t *len)
{
    size_t got = 0;

    /* Read one byte past cap so a file that grew since fstat is caught. */
    for (;;) {
        char extra;
        ssize_t r = got < cap ? read(fd, buf + got, cap - got) : read(fd, &extra, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return io_error("cannot read", path);
        if (r == 0)
            break;
        if (got == cap)
            return error_set(TS_ERR_MALFORMED,
                             "'%s' is larger than %zu bytes; not an identity file",
                             path, cap);
        got += (size_t)r;
    }
    *len = got;
    return TS_OK;
}

static int check_file(const char *path, const struct stat *st, bool require_private,
                      size_t cap)
{
    unsigned mode = (unsigned)(st->st_mode & (S_IRWXU | S_IRWXG | S_IRWXO));

    if (!S_ISREG(st->st_mode))
        return error_set(TS_ERR_MALFORMED, "'%s' is not a regular file", path);
    if (require_private && (st->st_mode & KEYFILE_FORBIDDEN_BITS) != 0)
        return error_set(TS_ERR_PERMISSIONS,
                         "permissions %04o for '%s' are too open; the identity key "
                         "must be private: run chmod 600 %s",
                         mode, path, path);
    if (st->st_size < 0 || (uintmax_t)st->st_size > cap)
        return error_set(TS_ERR_MALFORMED,
                         "'%s' is larger than %zu bytes; not an identity file", path,
                         cap);
    return TS_OK;
}

int keyfile_read(const char *path, bool require_private, char *buf, size_t cap,
                 size_t *len)
{
    struct stat st;
    int fd, rc;

    /* O_NONBLOCK: a FIFO in place of the key must not hang the open; it is
     * refused as not a regular file right after. */
    fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return error_set(TS_ERR_NOT_FOUND, "no identity file at '%s'", path);
    if (fd < 0)
        return io_error("cannot open", path);
    if (fstat(fd, &st) != 0)
        rc = io_error("cannot stat", path);
    else if ((rc = check_file(path, &st, require_private, cap)) == TS_OK)
        rc = read_all(fd, path, buf, cap, len);
    close(fd);
    return rc;
}
