/*
 * agent.pid: the agent holds an exclusive lock on it while it runs, so a
 * second agent cannot start and a dead agent's file is recognised (its
 * lock went with it) and replaced.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/client_agent.h"

/* Attempts at locking a file that a stopping agent unlinks under us. */
#define PIDFILE_ATTEMPTS 5

static long pid_read(int fd)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    char *end;
    long pid;

    if (n <= 0)
        return 0;
    buf[n] = '\0';
    errno = 0;
    pid = strtol(buf, &end, 10);
    return errno == 0 && end != buf && pid > 0 ? pid : 0;
}

/* The lock is on the open file: the file locked must still be the one at
 * path (a stopping agent unlinks it before unlocking). */
static bool still_there(int fd, const char *path)
{
    struct stat a, b;

    return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

int agent_pidfile_lock(const char *path, int *out_fd, long *holder)
{
    *out_fd = -1;
    *holder = 0;
    for (int attempt = 0; attempt < PIDFILE_ATTEMPTS; attempt++) {
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

        if (fd < 0) {
            cli_error(CLIENT_PROGRAM, "cannot open %s: %s", path, strerror(errno));
            return -1;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;

            *holder = pid_read(fd);
            close(fd);
            if (e == EWOULDBLOCK)
                return 1;
            cli_error(CLIENT_PROGRAM, "cannot lock %s: %s", path, strerror(e));
            return -1;
        }
        if (still_there(fd, path)) {
            *out_fd = fd;
            return 0;
        }
        close(fd);
    }
    cli_error(CLIENT_PROGRAM, "cannot lock %s: it keeps being replaced", path);
    return -1;
}

int agent_pidfile_write(int fd, const char *path)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

    if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != (ssize_t)n) {
        cli_error(CLIENT_PROGRAM, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

void agent_pidfile_release(int *fd, const char *path)
{
    if (*fd < 0)
        return;
    /* Unlinked before the lock goes, so nobody locks a doomed file. */
    if (unlink(path) != 0 && errno != ENOENT)
        cli_error(CLIENT_PROGRAM, "cannot remove %s: %s", path, strerror(errno));
    close(*fd);
    *fd = -1;
}

long agent_pidfile_holder(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    long pid = 0;

    if (fd < 0)
        return 0;
    /* A shared lock we can take means no agent holds the file. */
    if (flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK)
        pid = pid_read(fd) > 0 ? pid_read(fd) : -1;
    close(fd);
    return pid;
}
