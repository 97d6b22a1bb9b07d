#include "net/tcp.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <tcpseal/error.h>

#include "util/clock.h"
#include "util/error.h"

#define PORT_TEXT_MAX 8

struct tcp_transport {
    struct transport base;
    int fd;
};

static int tcp_fd_of(const struct transport *t)
{
    return ((const struct tcp_transport *)t)->fd;
}

static int tcp_read(struct transport *t, void *buf, size_t cap, size_t *n)
{
    ssize_t r;

    *n = 0;
    do {
        r = recv(tcp_fd_of(t), buf, cap, 0);
    } while (r < 0 && errno == EINTR);
    if (r > 0) {
        *n = (size_t)r;
        return TS_OK;
    }
    if (r == 0)
        return error_set(TS_ERR_CLOSED, "%s closed the connection", t->peer);
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return TS_OK;
    return error_set(TS_ERR_IO, "connection to %s: %s", t->peer, strerror(errno));
}

static int tcp_write(struct transport *t, const void *buf, size_t len, size_t *n)
{
    ssize_t r;

    *n = 0;
    /* MSG_NOSIGNAL: a peer that went away must not kill the process with
     * SIGPIPE; the library may not change the signal disposition. */
    do {
        r = send(tcp_fd_of(t), buf, len, MSG_NOSIGNAL);
    } while (r < 0 && errno == EINTR);
    if (r >= 0) {
        *n = (size_t)r;
        return TS_OK;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return TS_OK;
    if (errno == EPIPE || errno == ECONNRESET)
        return error_set(TS_ERR_CLOSED, "%s closed the connection", t->peer);
    return error_set(TS_ERR_IO, "connection to %s: %s", t->peer, strerror(errno));
}

static int tcp_shutdown_write(struct transport *t)
{
    if (shutdown(tcp_fd_of(t), SHUT_WR) != 0 && errno != ENOTCONN)
        return error_set(TS_ERR_IO, "shutdown of %s: %s", t->peer, strerror(errno));
    return TS_OK;
}

static short tcp_events(const struct transport *t, bool want_write)
{
    return (short)(POLLIN | (want_write ? POLLOUT : 0));
}

static bool tcp_pending(const struct transport *t)
{
    return false;
}

static void tcp_close(struct transport *t)
{
    struct tcp_transport *tt = (struct tcp_transport *)t;

    if (tt->fd >= 0)
        close(tt->fd);
    free(tt);
}

static const struct transport_ops tcp_ops = {
    .name = "tcp",
    .read = tcp_read,
    .write = tcp_write,
    .shutdown_write = tcp_shutdown_write,
    .events = tcp_events,
    .pending = tcp_pending,
    .fd = tcp_fd_of,
    .close = tcp_close,
};

/* Non-blocking and close-on-exec whatever created the socket. */
static int fd_prepare(int fd, const char *peer)
{
    int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD), one = 1;

    if (fl < 0 || fdfl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 ||
        fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) != 0)
        return error_set(TS_ERR_IO, "socket for %s: %s", peer, strerror(errno));
    /* Only TCP sockets know TCP_NODELAY; others (socketpairs) say
     * EOPNOTSUPP or ENOPROTOOPT, which is fine. */
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0 &&
        errno != EOPNOTSUPP && errno != ENOPROTOOPT && errno != EINVAL)
        return error_set(TS_ERR_IO, "TCP_NODELAY for %s: %s", peer, strerror(errno));
    return TS_OK;
}

int tcp_transport_from_fd(int fd, const char *peer, struct transport **out)
{
    struct tcp_transport *tt = NULL;
    int rc;

    *out = NULL;
    if ((rc = fd_prepare(fd, peer)) != TS_OK)
        goto fail;
    tt = calloc(1, sizeof(*tt));
    if (tt == NULL) {
        rc = error_set(TS_ERR_NOMEM, "out of memory");
        goto fail;
    }
    tt->base.ops = &tcp_ops;
    tt->fd = fd;
    snprintf(tt->base.peer, sizeof(tt->base.peer), "%s", peer);
    *out = &tt->base;
    return TS_OK;
fail:
    close(fd);
    return rc;
}

/* Wait for a non-blocking connect to finish: 0 (connected), TS_ERR_TIMEOUT,
 * or TS_ERR_CONNECT with *err set to the socket's error. */
static int connect_wait(int fd, uint64_t deadline_ms, int *err)
{
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    socklen_t len = sizeof(*err);
    int r;

    do {
        r = poll(&p, 1, clock_poll_timeout(deadline_ms));
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        *err = errno;
        return TS_ERR_CONNECT;
    }
    if (r == 0)
        return TS_ERR_TIMEOUT;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, err, &len) != 0)
        *err = errno;
    return *err == 0 ? TS_OK : TS_ERR_CONNECT;
}

/* One address: *fd_out on success; TS_ERR_CONNECT with *err; TS_ERR_TIMEOUT;
 * TS_ERR_IO when no socket could be made. */
static int connect_one(const struct addrinfo *ai, uint64_t deadline_ms, int *fd_out,
                       int *err)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
    int rc = TS_OK;

    *err = 0;
    if (fd < 0) {
        *err = errno;
        return TS_ERR_CONNECT;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        /* EINTR: the connection still proceeds in the background. */
        if (errno == EINPROGRESS || errno == EINTR)
            rc = connect_wait(fd, deadline_ms, err);
        else {
            *err = errno;
            rc = TS_ERR_CONNECT;
        }
    }
    if (rc != TS_OK) {
        close(fd);
        return rc;
    }
    *fd_out = fd;
    return TS_OK;
}

static int resolve(const char *host, uint16_t port, const char *where,
                   struct addrinfo **res)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV};
    char service[PORT_TEXT_MAX];
    int r;

    snprintf(service, sizeof(service), "%u", (unsigned)port);
    r = getaddrinfo(host, service, &hints, res);
    if (r == 0)
        return TS_OK;
    if (r == EAI_MEMORY)
        return error_set(TS_ERR_NOMEM, "out of memory resolving %s", host);
    return error_set(TS_ERR_CONNECT, "cannot connect to %s: %s", where,
                     r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
}

int tcp_connect(const char *host, uint16_t port, uint64_t deadline_ms,
                struct transport **out, int *os_error)
{
    char where[NET_HOSTPORT_MAX];
    struct addrinfo *res = NULL;
    int rc, err = 0, fd = -1;

    *out = NULL;
    if ((rc = net_hostport_format(host, port, where, sizeof(where))) != TS_OK)
        goto done;
    if ((rc = resolve(host, port, where, &res)) != TS_OK)
        goto done;
    rc = TS_ERR_CONNECT;
    for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        rc = connect_one(ai, deadline_ms, &fd, &err);
        if (rc == TS_OK || rc == TS_ERR_TIMEOUT)
            break;
    }
    if (rc == TS_ERR_TIMEOUT) {
        err = 0;
        rc = error_set(TS_ERR_TIMEOUT, "cannot connect to %s: timed out", where);
    } else if (rc != TS_OK) {
        rc = error_set(TS_ERR_CONNECT, "cannot connect to %s: %s", where,
                       strerror(err != 0 ? err : EHOSTUNREACH));
    } else {
        rc = tcp_transport_from_fd(fd, where, out);
    }
done:
    if (res != NULL)
        freeaddrinfo(res);
    if (os_error != NULL)
        *os_error = rc == TS_OK ? 0 : err;
    return rc;
}
