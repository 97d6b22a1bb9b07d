#include "client/sequence.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <tcpseal/error.h>

#include "client/state_file.h"
#include "util/error.h"

/* 20 digits hold any uint64_t; a newline ends the record. */
#define SEQUENCE_DIGITS 20
#define SEQUENCE_RECORD_LEN (SEQUENCE_DIGITS + 1)
/* Anything longer than a record and some stray whitespace is not ours. */
#define SEQUENCE_MAX_TEXT 64

/* Decimal digits, optionally followed by whitespace; empty means 0. */
static int sequence_parse(const char *text, size_t len, const char *path, uint64_t *out)
{
    uint64_t v = 0;
    size_t i = 0;

    for (; i < len && text[i] >= '0' && text[i] <= '9'; i++) {
        unsigned d = (unsigned)(text[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return error_set(TS_ERR_MALFORMED, "%s holds a number out of range", path);
        v = v * 10 + d;
    }
    for (; i < len; i++) {
        if (text[i] != '\n' && text[i] != ' ' && text[i] != '\r' && text[i] != '\t')
            return error_set(TS_ERR_MALFORMED,
                             "%s is damaged: it must hold only the last message id",
                             path);
    }
    *out = v;
    return TS_OK;
}

static int sequence_read(int fd, const char *path, uint64_t *last)
{
    char *text = NULL;
    size_t len = 0;
    int rc = state_file_read_all(fd, path, SEQUENCE_MAX_TEXT, &text, &len);

    if (rc == TS_ERR_TOO_LARGE)
        rc = error_set(TS_ERR_MALFORMED,
                       "%s is damaged: it must hold only the last message id", path);
    if (rc == TS_OK)
        rc = sequence_parse(text, len, path, last);
    free(text);
    return rc;
}

/* Overwrite the record in place and make it durable. */
static int sequence_write(int fd, const char *path, uint64_t value, size_t old_len)
{
    char record[SEQUENCE_RECORD_LEN + 1];
    ssize_t r;

    snprintf(record, sizeof(record), "%0*" PRIu64 "\n", SEQUENCE_DIGITS, value);
    do {
        r = pwrite(fd, record, SEQUENCE_RECORD_LEN, 0);
    } while (r < 0 && errno == EINTR);
    if (r != SEQUENCE_RECORD_LEN)
        return error_set(TS_ERR_IO, "cannot write %s: %s", path,
                         r < 0 ? strerror(errno) : "short write");
    /* Only a hand-edited file is longer than one record. */
    if (old_len > SEQUENCE_RECORD_LEN && ftruncate(fd, SEQUENCE_RECORD_LEN) != 0)
        return error_set(TS_ERR_IO, "cannot truncate %s: %s", path, strerror(errno));
    if (fsync(fd) != 0)
        return error_set(TS_ERR_IO, "cannot sync %s: %s", path, strerror(errno));
    return TS_OK;
}

int sequence_reserve(const char *path, uint64_t count, uint64_t *first)
{
    uint64_t last = 0;
    off_t size;
    int fd = -1, rc;

    if (count == 0)
        return error_set(TS_ERR_INVALID, "reserve at least one id");
    rc = state_file_open_locked(path, O_RDWR | O_CREAT, LOCK_EX, &fd);
    if (rc != TS_OK)
        return rc;
    if ((rc = sequence_read(fd, path, &last)) != TS_OK)
        goto done;
    if (UINT64_MAX - last < count) {
        rc = error_set(TS_ERR_LIMIT, "%s: message ids exhausted", path);
        goto done;
    }
    size = lseek(fd, 0, SEEK_END);
    rc = sequence_write(fd, path, last + count, size > 0 ? (size_t)size : 0);
    if (rc == TS_OK)
        *first = last + 1;
done:
    close(fd);
    return rc;
}

int sequence_next(const char *path, uint64_t *id)
{
    return sequence_reserve(path, 1, id);
}

int sequence_last(const char *path, uint64_t *last)
{
    int fd = -1, rc;

    *last = 0;
    rc = state_file_open_locked(path, O_RDONLY, LOCK_SH, &fd);
    if (rc == TS_ERR_NOT_FOUND)
        return TS_OK;
    if (rc != TS_OK)
        return rc;
    rc = sequence_read(fd, path, last);
    close(fd);
    return rc;
}
