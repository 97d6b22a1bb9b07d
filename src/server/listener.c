/*
 * Listening sockets: every address the configured host resolves to, bound
 * before any thread starts (so a program can report "address in use" and
 * daemonise afterwards), then accepted on the main thread and handed to
 * workers after the admission decision.
 */
#include "server/server_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/listener.h>
#include <event2/util.h>
#include <tcpseal/protocol.h>

#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"

#define LISTEN_BACKLOG 4096
/* After EMFILE/ENFILE, stop accepting for a moment instead of spinning. */
#define ACCEPT_PAUSE_MS 100

struct listener_set {
    char addr[SERVER_MAX_LISTENERS][64]; /* as bound, for status */
    bool tls[SERVER_MAX_LISTENERS];
    uint16_t port, tls_port;
    int fds[SERVER_MAX_LISTENERS];
    struct evconnlistener *evl[SERVER_MAX_LISTENERS];
    size_t n;
    struct event *resume;
};

void server_format_addr(const struct sockaddr *sa, char *out, size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "?";

    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
        snprintf(out, cap, "%s:%u", host, ntohs(s4->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
        snprintf(out, cap, "[%s]:%u", host, ntohs(s6->sin6_port));
    } else {
        snprintf(out, cap, "unknown");
    }
}

static int listen_on(const struct addrinfo *ai, int *out_fd, int *out_errno)
{
    char where[80];
    int one = 1, fd;

    server_format_addr(ai->ai_addr, where, sizeof(where));
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                ai->ai_protocol);
    if (fd < 0) {
        *out_errno = errno;
        return error_set(TS_ERR_IO, "cannot listen on %s: %s", where, strerror(errno));
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    /* Each family gets its own socket, so v6 must not also claim v4. */
    if (ai->ai_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
        int err = errno;
        close(fd);
        *out_errno = err;
        return error_set(TS_ERR_IO, "cannot listen on %s: %s", where, strerror(err));
    }
    *out_fd = fd;
    return TS_OK;
}

/* With port 0, the first socket picks a free port and the others must
 * use the same one so the server has a single port. */
static void set_port(struct sockaddr *sa, uint16_t port)
{
    if (sa->sa_family == AF_INET)
        ((struct sockaddr_in *)sa)->sin_port = htons(port);
    else if (sa->sa_family == AF_INET6)
        ((struct sockaddr_in6 *)sa)->sin6_port = htons(port);
}

/* Remember what fd is bound to; returns its port. */
static uint16_t record_address(struct listener_set *ls, int fd, bool tls)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    ls->tls[ls->n] = tls;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
        snprintf(ls->addr[ls->n], sizeof(ls->addr[ls->n]), "unknown");
        return 0;
    }
    server_format_addr((struct sockaddr *)&ss, ls->addr[ls->n], sizeof(ls->addr[ls->n]));
    return ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                                   : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

static int resolve(const ts_server_config *cfg, uint16_t want, struct addrinfo **res)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_ADDRCONFIG};
    char port[8];
    int rc;

    snprintf(port, sizeof(port), "%u", want);
    rc = getaddrinfo(cfg->host, port, &hints, res);
    if (rc != 0)
        return error_set(TS_ERR_CONFIG, "cannot resolve listen host '%s': %s", cfg->host,
                         gai_strerror(rc));
    return TS_OK;
}

/* Listen on every address of the host at port want (0: one free port
 * for all of them). */
static int bind_family(ts_server *srv, uint16_t want, bool tls)
{
    struct listener_set *ls = srv->listeners;
    struct addrinfo *res = NULL, *ai;
    uint16_t port = want;
    size_t before = ls->n;
    int rc, fd = -1, err = 0;

    if ((rc = resolve(server_cfg(srv), want, &res)) != TS_OK)
        return rc;
    for (ai = res; ai != NULL && ls->n < SERVER_MAX_LISTENERS; ai = ai->ai_next) {
        if (port != 0)
            set_port(ai->ai_addr, port);
        if ((rc = listen_on(ai, &fd, &err)) != TS_OK) {
            /* A taken port is the operator's business; an address family
             * the host lacks (no IPv6) is not, as long as one works. */
            if (err == EADDRINUSE || err == EACCES)
                break;
            continue;
        }
        port = record_address(ls, fd, tls);
        ls->fds[ls->n++] = fd;
    }
    freeaddrinfo(res);
    if (rc != TS_OK && (err == EADDRINUSE || err == EACCES || ls->n == before))
        return rc;
    if (tls)
        ls->tls_port = port;
    else
        ls->port = port;
    return TS_OK;
}

int listeners_bind(ts_server *srv)
{
    const ts_server_config *cfg = server_cfg(srv);
    int rc = TS_OK;

    srv->listeners = calloc(1, sizeof(*srv->listeners));
    if (srv->listeners == NULL)
        return TS_ERR_NOMEM;
    for (size_t i = 0; i < SERVER_MAX_LISTENERS; i++)
        srv->listeners->fds[i] = -1;
    if (!cfg->no_plain)
        rc = bind_family(srv, cfg->port, false);
    if (rc == TS_OK && cfg->tls_enabled)
        rc = bind_family(srv, cfg->tls_port, true);
    if (rc != TS_OK)
        listeners_free(srv);
    return rc;
}

uint16_t listeners_port(const ts_server *srv, bool tls)
{
    if (srv->listeners == NULL)
        return 0;
    return tls ? srv->listeners->tls_port : srv->listeners->port;
}

size_t listeners_addresses(const ts_server *srv, bool tls, char out[][64], size_t max)
{
    const struct listener_set *ls = srv->listeners;
    size_t n = 0;

    for (size_t i = 0; ls != NULL && i < ls->n && n < max; i++) {
        if (ls->tls[i] == tls)
            memcpy(out[n++], ls->addr[i], 64);
    }
    return n;
}

static void accept_one(ts_server *srv, evutil_socket_t fd, struct sockaddr *addr,
                       int addrlen, bool tls)
{
    int stopping = atomic_load(&srv->state) != SERVER_RUNNING;
    uint16_t reason = admission_enter(&srv->admission, server_cfg(srv), addr, stopping,
                                      clock_mono_ms());
    char peer[64];

    if (reason != 0) {
        server_format_addr(addr, peer, sizeof(peer));
        LOG_INFO("connection_refused", "peer=%s reason=%s", peer, ts_reason_name(reason));
    }
    if (worker_assign(srv, fd, addr, (socklen_t)addrlen, reason, tls) != TS_OK) {
        if (reason == 0)
            admission_leave(&srv->admission, addr);
        evutil_closesocket(fd);
    }
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *addr,
                      int addrlen, void *arg)
{
    accept_one(arg, fd, addr, addrlen, false);
}

static void on_accept_tls(struct evconnlistener *l, evutil_socket_t fd,
                          struct sockaddr *addr, int addrlen, void *arg)
{
    accept_one(arg, fd, addr, addrlen, true);
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
    struct listener_set *ls = arg;

    for (size_t i = 0; i < ls->n; i++)
        evconnlistener_enable(ls->evl[i]);
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
    ts_server *srv = arg;
    struct listener_set *ls = srv->listeners;
    struct timeval pause = {0, ACCEPT_PAUSE_MS * 1000};
    int err = EVUTIL_SOCKET_ERROR();

    LOG_ERROR("accept_failed", "error=\"%s\"", evutil_socket_error_to_string(err));
    /* Out of descriptors: retrying at once would spin; pause accepting. */
    for (size_t i = 0; i < ls->n; i++)
        evconnlistener_disable(ls->evl[i]);
    event_add(ls->resume, &pause);
}

int listeners_enable(ts_server *srv)
{
    struct listener_set *ls = srv->listeners;
    unsigned flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC;

    ls->resume = evtimer_new(srv->main_base, on_resume, ls);
    if (ls->resume == NULL)
        return TS_ERR_NOMEM;
    for (size_t i = 0; i < ls->n; i++) {
        /* Backlog 0: the socket already listens. */
        ls->evl[i] = evconnlistener_new(srv->main_base, ls->tls[i] ? on_accept_tls : on_accept,
                                        srv, flags, 0, ls->fds[i]);
        if (ls->evl[i] == NULL)
            return error_set(TS_ERR_NOMEM, "cannot watch listening socket");
        ls->fds[i] = -1; /* owned by the evconnlistener now */
        evconnlistener_set_error_cb(ls->evl[i], on_accept_error);
    }
    return TS_OK;
}

void listeners_close(ts_server *srv)
{
    struct listener_set *ls = srv->listeners;

    if (ls == NULL)
        return;
    if (ls->resume != NULL)
        event_del(ls->resume);
    for (size_t i = 0; i < ls->n; i++) {
        if (ls->evl[i] != NULL) {
            evconnlistener_free(ls->evl[i]);
            ls->evl[i] = NULL;
        } else if (ls->fds[i] >= 0) {
            close(ls->fds[i]);
        }
        ls->fds[i] = -1;
    }
}

void listeners_free(ts_server *srv)
{
    if (srv->listeners == NULL)
        return;
    listeners_close(srv);
    if (srv->listeners->resume != NULL)
        event_free(srv->listeners->resume);
    free(srv->listeners);
    srv->listeners = NULL;
}
