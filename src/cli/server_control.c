#include "cli/server_control.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli_common.h"
#include "cli/server_paths.h"

/* The server refuses longer requests (docs/control.md). */
#define CTL_MAX_REQUEST (64u * 1024u)
/* A connections listing of a full server is a few MiB; this bounds what
 * a broken server can make us buffer. */
#define CTL_MAX_ANSWER (64u * 1024u * 1024u)
#define CTL_READ_CHUNK 16384

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Wait until fd is ready for events or the deadline passes: 1, 0 (time
 * out) or -1. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
    struct pollfd pfd = {.fd = fd, .events = events};
    uint64_t now;
    int rc;

    for (;;) {
        now = now_ms();
        if (now >= deadline)
            return 0;
        rc = poll(&pfd, 1, (int)(deadline - now > 1000000 ? 1000000 : deadline - now));
        if (rc > 0)
            return 1;
        if (rc == 0)
            continue;
        if (errno != EINTR)
            return -1;
    }
}

static enum ctl_result ctl_connect(const char *path, int *out_fd, char *err, size_t cap)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    int fd;

    if (strlen(path) >= sizeof(sun.sun_path)) {
        snprintf(err, cap, "control socket path too long: %s", path);
        return CTL_FAILED;
    }
    memcpy(sun.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, cap, "cannot create a socket: %s", strerror(errno));
        return CTL_FAILED;
    }
    /* Connecting to a UNIX socket does not wait for the server's loop, so
     * a plain blocking connect returns at once. */
    if (connect(fd, (const struct sockaddr *)&sun, sizeof(sun)) != 0) {
        int e = errno;

        close(fd);
        snprintf(err, cap, "cannot connect to %s: %s", path, strerror(e));
        return e == ENOENT || e == ECONNREFUSED || e == ENOTDIR ? CTL_NOT_RUNNING
                                                                : CTL_FAILED;
    }
    if (fcntl(fd, F_SETFL, O_NONBLOCK) != 0) {
        snprintf(err, cap, "cannot configure the control socket: %s", strerror(errno));
        close(fd);
        return CTL_FAILED;
    }
    *out_fd = fd;
    return CTL_OK;
}

static enum ctl_result send_all(int fd, const char *buf, size_t len, uint64_t deadline,
                                char *err, size_t cap)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

        if (n > 0) {
            buf += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            snprintf(err, cap, "cannot send to the server: %s", strerror(errno));
            return CTL_FAILED;
        }
        if (wait_fd(fd, POLLOUT, deadline) <= 0) {
            snprintf(err, cap, "the server did not take the request in time");
            return CTL_TIMEOUT;
        }
    }
    return CTL_OK;
}

struct answer_buf {
    char *data;
    size_t len;
    size_t cap;
};

static int buf_reserve(struct answer_buf *b, size_t more)
{
    size_t want = b->len + more + 1;
    char *p;

    if (want <= b->cap)
        return 0;
    if (want > CTL_MAX_ANSWER + 1)
        return -1;
    want = want < b->cap * 2 ? b->cap * 2 : want;
    p = realloc(b->data, want);
    if (p == NULL)
        return -1;
    b->data = p;
    b->cap = want;
    return 0;
}

/* Read up to the first newline (the answer) or the end of the stream. */
static enum ctl_result recv_line(int fd, struct answer_buf *b, uint64_t deadline,
                                 char *err, size_t cap)
{
    for (;;) {
        ssize_t n;

        if (buf_reserve(b, CTL_READ_CHUNK) != 0) {
            snprintf(err, cap, "the server's answer is larger than %u bytes", CTL_MAX_ANSWER);
            return CTL_FAILED;
        }
        n = recv(fd, b->data + b->len, CTL_READ_CHUNK, 0);
        if (n > 0) {
            char *nl = memchr(b->data + b->len, '\n', (size_t)n);

            b->len += (size_t)n;
            if (nl != NULL) {
                b->len = (size_t)(nl - b->data);
                return CTL_OK;
            }
            continue;
        }
        if (n == 0)
            return CTL_OK;
        if (errno != EAGAIN && errno != EINTR) {
            snprintf(err, cap, "cannot read the server's answer: %s", strerror(errno));
            return CTL_FAILED;
        }
        if (wait_fd(fd, POLLIN, deadline) <= 0) {
            snprintf(err, cap, "the server did not answer in time");
            return CTL_TIMEOUT;
        }
    }
}

static enum ctl_result parse_answer(const struct answer_buf *b, json_t **answer,
                                    const char *path, char *err, size_t cap)
{
    json_error_t jerr;

    if (b->len == 0) {
        /* The server closes without a word on a peer of another user. */
        snprintf(err, cap, "the server at %s closed the connection without answering "
                 "(is it run by another user?)", path);
        return CTL_FAILED;
    }
    *answer = json_loadb(b->data, b->len, 0, &jerr);
    if (!json_is_object(*answer)) {
        json_decref(*answer);
        *answer = NULL;
        snprintf(err, cap, "unreadable answer from the server: %s", jerr.text);
        return CTL_FAILED;
    }
    return CTL_OK;
}

enum ctl_result ctl_exchange(const char *path, json_t *request, uint64_t timeout_ms,
                             json_t **answer, char *err, size_t cap)
{
    uint64_t deadline = now_ms() + timeout_ms;
    struct answer_buf b = {0};
    char *line = NULL;
    enum ctl_result rc;
    size_t len;
    int fd = -1;

    *answer = NULL;
    line = json_dumps(request, JSON_COMPACT);
    if (line == NULL) {
        snprintf(err, cap, "out of memory");
        return CTL_FAILED;
    }
    len = strlen(line);
    if (len + 1 > CTL_MAX_REQUEST) {
        snprintf(err, cap, "request too long for the control socket (%zu bytes, at most %u)",
                 len + 1, CTL_MAX_REQUEST);
        rc = CTL_FAILED;
        goto out;
    }
    line[len] = '\n'; /* replaces the NUL; len + 1 bytes are sent */
    if ((rc = ctl_connect(path, &fd, err, cap)) != CTL_OK ||
        (rc = send_all(fd, line, len + 1, deadline, err, cap)) != CTL_OK ||
        (rc = recv_line(fd, &b, deadline, err, cap)) != CTL_OK)
        goto out;
    rc = parse_answer(&b, answer, path, err, cap);
out:
    if (fd >= 0)
        close(fd);
    free(b.data);
    free(line);
    return rc;
}

void ctl_print_not_running(const char *path, int to_stdout)
{
    FILE *out = to_stdout ? stdout : stderr;

    fprintf(out, "%s is not running (no server answers at %s)\n", SERVER_PROGRAM, path);
}

int ctl_command(const char *path, const char *cmd, json_t *args, json_t **answer)
{
    json_t *req = args != NULL ? args : json_object();
    char err[512];
    const char *text;
    enum ctl_result rc;

    *answer = NULL;
    if (req == NULL || json_object_set_new(req, "cmd", json_string(cmd)) != 0) {
        json_decref(req);
        cli_error(SERVER_PROGRAM, "out of memory");
        return EXIT_FAILURE_GENERIC;
    }
    rc = ctl_exchange(path, req, CTL_TIMEOUT_MS, answer, err, sizeof(err));
    json_decref(req);
    if (rc == CTL_NOT_RUNNING) {
        ctl_print_not_running(path, 0);
        return EXIT_NOT_RUNNING;
    }
    if (rc != CTL_OK) {
        cli_error(SERVER_PROGRAM, "%s", err);
        return rc == CTL_TIMEOUT ? EXIT_TIMEOUT : EXIT_FAILURE_GENERIC;
    }
    if (!json_is_true(json_object_get(*answer, "ok"))) {
        text = json_string_value(json_object_get(*answer, "error"));
        cli_error(SERVER_PROGRAM, "%s", text != NULL ? text : "the server refused the command");
        json_decref(*answer);
        *answer = NULL;
        return EXIT_FAILURE_GENERIC;
    }
    return EXIT_OK;
}
