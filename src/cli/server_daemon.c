/*
 * The pid file, and detaching for `tcp_server start -d`.
 *
 * The parent forks before anything is loaded or bound: the child does all
 * of the start-up (key, listening sockets, threads) itself, printing its
 * own errors on the terminal it still shares, and tells the parent through
 * a pipe once it serves. Doing the work in the child keeps the key in
 * memory the child has locked (mlock does not survive fork) and leaves the
 * parent no server state to release behind the child's back.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli_common.h"
#include "cli/server_run.h"
#include "util/log.h"

/* How long the parent waits for the child to serve: loading an encrypted
 * key and resolving the host may take a while, but not this long. */
#define DAEMON_START_TIMEOUT_MS 60000
#define READY_WORD "ready"
#define READY_MAX 2048
/* Attempts at locking a pid file that a stopping server removes under us. */
#define PIDFILE_ATTEMPTS 5

/* ------------------------------------------------------------------ */
/* The pid file                                                         */

static long pidfile_read(int fd)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    long pid;
    char *end;

    if (n <= 0)
        return 0;
    buf[n] = '\0';
    pid = strtol(buf, &end, 10);
    return end != buf && pid > 0 ? pid : 0;
}

/* The lock is on the open file: make sure the file we locked is still the
 * one at path (a stopping server unlinks it after we opened it). */
static bool same_file(int fd, const char *path)
{
    struct stat a, b;

    return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

int pidfile_lock(const char *path, int *out_fd, long *holder)
{
    *out_fd = -1;
    *holder = 0;
    for (int attempt = 0; attempt < PIDFILE_ATTEMPTS; attempt++) {
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);

        if (fd < 0) {
            cli_error(SERVER_PROGRAM, "cannot open pid file %s: %s", path, strerror(errno));
            return -1;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;

            *holder = pidfile_read(fd);
            close(fd);
            if (e == EWOULDBLOCK)
                return 1;
            cli_error(SERVER_PROGRAM, "cannot lock pid file %s: %s", path, strerror(e));
            return -1;
        }
        if (same_file(fd, path)) {
            *out_fd = fd;
            return 0;
        }
        close(fd);
    }
    cli_error(SERVER_PROGRAM, "cannot lock pid file %s: it keeps being replaced", path);
    return -1;
}

int pidfile_write(int fd, const char *path)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

    /* 0644 whatever the umask: the pid is for anyone to read. */
    if (fchmod(fd, 0644) != 0 || ftruncate(fd, 0) != 0 ||
        pwrite(fd, buf, (size_t)n, 0) != (ssize_t)n) {
        cli_error(SERVER_PROGRAM, "cannot write pid file %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

void pidfile_release(int *fd, const char *path)
{
    if (*fd < 0)
        return;
    /* Unlinked before the lock goes, so nobody locks a doomed file. */
    if (unlink(path) != 0 && errno != ENOENT)
        cli_error(SERVER_PROGRAM, "cannot remove pid file %s: %s", path, strerror(errno));
    close(*fd);
    *fd = -1;
}

/* ------------------------------------------------------------------ */
/* Detaching                                                            */

static uint64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Read the child's report: up to a newline, end of file or the deadline.
 * 1 = got a line, 0 = end of file without one, -1 = time out or error. */
static int read_report(int fd, char *buf, size_t cap)
{
    uint64_t deadline = mono_ms() + DAEMON_START_TIMEOUT_MS;
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    size_t len = 0;

    for (;;) {
        uint64_t now = mono_ms();
        ssize_t n;
        int rc;

        if (now >= deadline)
            return -1;
        rc = poll(&pfd, 1, (int)(deadline - now));
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return -1;
        n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        len += (size_t)n;
        buf[len] = '\0';
        if (strchr(buf, '\n') != NULL || len == cap - 1)
            return 1;
    }
}

/* The child ended without reporting: it printed why; pass on its status. */
static int child_status(pid_t child)
{
    int st;

    if (waitpid(child, &st, 0) < 0) {
        cli_error(SERVER_PROGRAM, "lost the server process %ld: %s", (long)child,
                  strerror(errno));
        return EXIT_FAILURE_GENERIC;
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        cli_error(SERVER_PROGRAM, "the server was killed by signal %d while starting",
                  WTERMSIG(st));
    else
        cli_error(SERVER_PROGRAM, "the server exited while starting");
    return EXIT_FAILURE_GENERIC;
}

static int parent_wait(pid_t child, int fd)
{
    char buf[READY_MAX];
    int rc = read_report(fd, buf, sizeof(buf));
    char *nl;

    if (rc == 1 && strncmp(buf, READY_WORD " ", strlen(READY_WORD) + 1) == 0) {
        if ((nl = strchr(buf, '\n')) != NULL)
            *nl = '\0';
        printf("%s started (pid %ld), listening on %s\n", SERVER_PROGRAM, (long)child,
               buf + strlen(READY_WORD) + 1);
        return EXIT_OK;
    }
    if (rc == 0)
        return child_status(child);
    cli_error(SERVER_PROGRAM, "the server (pid %ld) did not report that it serves within "
              "%d s; see its log", (long)child, DAEMON_START_TIMEOUT_MS / 1000);
    return EXIT_TIMEOUT;
}

int daemon_detach(struct server_run *run, bool *is_parent)
{
    int fds[2];
    pid_t child;
    int status;

    *is_parent = true;
    if (pipe2(fds, O_CLOEXEC) != 0) {
        cli_error(SERVER_PROGRAM, "cannot create a pipe: %s", strerror(errno));
        return EXIT_FAILURE_GENERIC;
    }
    /* Anything buffered would otherwise be written twice. */
    fflush(NULL);
    child = fork();
    if (child < 0) {
        cli_error(SERVER_PROGRAM, "cannot fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return EXIT_FAILURE_GENERIC;
    }
    if (child > 0) {
        close(fds[1]);
        status = parent_wait(child, fds[0]);
        close(fds[0]);
        return status;
    }
    *is_parent = false;
    close(fds[0]);
    run->ready_fd = fds[1];
    /* A session of our own: no controlling terminal, so the terminal's
     * hang-up or Ctrl-C no longer reaches the server. */
    if (setsid() < 0 || chdir("/") != 0) {
        cli_error(SERVER_PROGRAM, "cannot detach: %s", strerror(errno));
        return EXIT_FAILURE_GENERIC;
    }
    return EXIT_OK;
}

void daemon_report_ready(struct server_run *run, const char *addresses)
{
    char line[READY_MAX];
    int n, null_fd;

    if (run->ready_fd < 0)
        return;
    fflush(NULL);
    /* From here on the log file is the only voice of the server. */
    null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 || dup2(null_fd, STDOUT_FILENO) < 0 ||
        dup2(null_fd, STDERR_FILENO) < 0)
        LOG_WARN("detach_failed", "reason=\"cannot redirect stdio to /dev/null: %s\"",
                 strerror(errno));
    if (null_fd > STDERR_FILENO)
        close(null_fd);
    n = snprintf(line, sizeof(line), "%s %s\n", READY_WORD, addresses);
    if (n > 0 && (size_t)n >= sizeof(line)) {
        n = (int)sizeof(line) - 1;
        line[n - 1] = '\n';
    }
    /* A parent that gave up waiting has said so on the terminal. */
    if (n > 0 && write(run->ready_fd, line, (size_t)n) != n)
        LOG_WARN("detach_report_lost", "reason=\"%s\"", strerror(errno));
    close(run->ready_fd);
    run->ready_fd = -1;
}
