/*
 * The agent's control socket: a UNIX socket in the state directory, mode
 * 0600, answering only its own user (SO_PEERCRED). One poll() loop on the
 * agent's main thread serves it together with the client's events and the
 * signals that stop the agent. Requests and answers are JSON lines
 * (docs/agent.md).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>
#include <tcpseal/error.h>

#include "cli/client_agent.h"
#include "util/clock.h"
#include "util/log.h"

#define CONTROL_BACKLOG 16
#define CONTROL_READ_CHUNK 65536u
/* Output a connection may have queued: one line of the largest size and
 * then some. */
#define CONTROL_OUT_MAX (AGENT_MAX_LINE + 1024u * 1024u)
/* Longest poll() wait: deadlines are checked at least this often. */
#define CONTROL_MAX_WAIT_MS 1000

static int sock_address(const char *path, struct sockaddr_un *sun)
{
    memset(sun, 0, sizeof(*sun));
    sun->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sun->sun_path)) {
        cli_error(CLIENT_PROGRAM, "control socket path too long (%zu bytes, at most %zu): %s",
                  strlen(path), sizeof(sun->sun_path) - 1, path);
        return -1;
    }
    memcpy(sun->sun_path, path, strlen(path) + 1);
    return 0;
}

int agent_control_open(struct agent *a)
{
    struct sockaddr_un sun;
    int fd;

    if (sock_address(a->sock_path, &sun) != 0)
        return EXIT_LOCAL_STATE;
    /* We hold agent.pid: a socket file here was left by a dead agent. */
    if (unlink(a->sock_path) != 0 && errno != ENOENT) {
        cli_error(CLIENT_PROGRAM, "cannot remove the stale %s: %s", a->sock_path,
                  strerror(errno));
        return EXIT_LOCAL_STATE;
    }
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
        cli_error(CLIENT_PROGRAM, "cannot create the control socket: %s", strerror(errno));
        return EXIT_FAILURE_GENERIC;
    }
    /* 0600 right after bind, before listening; the directory is 0700, so
     * nobody else reaches it meanwhile. */
    if (bind(fd, (const struct sockaddr *)&sun, sizeof(sun)) != 0 ||
        chmod(a->sock_path, 0600) != 0 || listen(fd, CONTROL_BACKLOG) != 0) {
        cli_error(CLIENT_PROGRAM, "cannot create the control socket %s: %s", a->sock_path,
                  strerror(errno));
        close(fd);
        return EXIT_LOCAL_STATE;
    }
    a->listen_fd = fd;
    for (size_t i = 0; i < AGENT_MAX_CONNECTIONS; i++) {
        a->conns[i].fd = -1;
        a->conns[i].mode = AC_FREE;
    }
    return EXIT_OK;
}

static void conn_close(struct agent_conn *ac)
{
    if (ac->mode == AC_FREE)
        return;
    close(ac->fd);
    dbuf_free(&ac->in);
    dbuf_free(&ac->out);
    agent_items_free(ac->list, ac->list_next, ac->list_n);
    free(ac->seen);
    memset(ac, 0, sizeof(*ac));
    ac->fd = -1;
    ac->mode = AC_FREE;
}

void agent_control_close(struct agent *a)
{
    for (size_t i = 0; i < AGENT_MAX_CONNECTIONS; i++)
        conn_close(&a->conns[i]);
    if (a->listen_fd >= 0) {
        close(a->listen_fd);
        a->listen_fd = -1;
        if (unlink(a->sock_path) != 0 && errno != ENOENT)
            LOG_WARN("agent_socket_left", "path=\"%s\" error=\"%s\"", a->sock_path,
                     strerror(errno));
    }
}

int agent_conn_reply(struct agent *a, struct agent_conn *ac, json_t *json)
{
    char *text = json != NULL ? json_dumps(json, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    int rc = -1;

    json_decref(json);
    if (text != NULL && dbuf_append(&ac->out, text, strlen(text)) == TS_OK &&
        dbuf_append(&ac->out, "\n", 1) == TS_OK)
        rc = 0;
    free(text);
    if (rc != 0) {
        LOG_WARN("agent_control_dropped", "reason=\"output over the limit or out of memory\"");
        conn_close(ac);
    }
    return rc;
}

/* Defence in depth behind the 0600 mode: only our own user (or root). */
static bool peer_allowed(int fd)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
        return false;
    return cred.uid == getuid() || cred.uid == 0;
}

static void accept_one(struct agent *a)
{
    int fd = accept4(a->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    struct agent_conn *ac = NULL;

    if (fd < 0)
        return;
    if (!peer_allowed(fd)) {
        LOG_WARN("agent_control_refused", "reason=\"peer is another user\"");
        close(fd);
        return;
    }
    for (size_t i = 0; i < AGENT_MAX_CONNECTIONS && ac == NULL; i++)
        if (a->conns[i].mode == AC_FREE)
            ac = &a->conns[i];
    if (ac == NULL) {
        LOG_WARN("agent_control_refused", "reason=\"too many connections\"");
        close(fd);
        return;
    }
    memset(ac, 0, sizeof(*ac));
    ac->fd = fd;
    ac->mode = AC_READ;
    ac->deadline = clock_mono_ms() + AGENT_REQUEST_TIMEOUT_MS;
    dbuf_init(&ac->in, AGENT_MAX_REQUEST + 1);
    dbuf_init(&ac->out, CONTROL_OUT_MAX);
}

static json_t *bad_request(const char *text)
{
    return json_pack("{s:b, s:s, s:s}", "ok", 0, "code", "bad_request", "error", text);
}

/* A complete request line in ac->in: parse and run it. */
static void request_line(struct agent *a, struct agent_conn *ac, size_t len)
{
    json_t *req = json_loadb((const char *)dbuf_ptr(&ac->in), len, JSON_REJECT_DUPLICATES,
                             NULL);

    dbuf_reset(&ac->in);
    ac->mode = AC_FLUSH;
    if (!json_is_object(req))
        agent_conn_reply(a, ac, bad_request("request is not a JSON object"));
    else
        agent_command(a, ac, req);
    json_decref(req);
}

static void conn_read(struct agent *a, struct agent_conn *ac)
{
    uint8_t *dst, *nl;
    ssize_t n;

    for (;;) {
        if ((dst = dbuf_reserve(&ac->in, CONTROL_READ_CHUNK)) == NULL) {
            /* Only a request line can grow the buffer this far. */
            ac->mode = AC_FLUSH;
            agent_conn_reply(a, ac, bad_request("request too long"));
            return;
        }
        n = recv(ac->fd, dst, CONTROL_READ_CHUNK, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            conn_close(ac); /* the peer left (a waiting command gave up) */
            return;
        }
        if (n < 0)
            return;
        if (ac->mode != AC_READ) {
            dbuf_reset(&ac->in); /* nothing more is expected: discard */
            continue;
        }
        dbuf_commit(&ac->in, (size_t)n);
        nl = memchr(dbuf_ptr(&ac->in), '\n', dbuf_size(&ac->in));
        if (nl != NULL) {
            request_line(a, ac, (size_t)(nl - dbuf_ptr(&ac->in)));
            return;
        }
    }
}

static void conn_write(struct agent *a, struct agent_conn *ac)
{
    ssize_t n;

    agent_conn_fill(a, ac);
    while (ac->mode != AC_FREE && dbuf_size(&ac->out) > 0) {
        n = send(ac->fd, dbuf_ptr(&ac->out), dbuf_size(&ac->out), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0) {
            conn_close(ac);
            return;
        }
        dbuf_consume(&ac->out, (size_t)n);
        agent_conn_fill(a, ac);
    }
    if (ac->mode == AC_FLUSH && dbuf_size(&ac->out) == 0 && ac->list_next == ac->list_n)
        conn_close(ac);
}

static void signals_read(struct agent *a)
{
    struct signalfd_siginfo si;

    while (read(a->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
            LOG_INFO("agent_stop_requested", "signal=%u", si.ssi_signo);
            a->stopping = true;
        }
    }
}

static void events_run(struct agent *a)
{
    struct agent_event *ev = agent_events_take(&a->events);

    while (ev != NULL) {
        struct agent_event *next = ev->next;

        agent_dispatch_event(a, ev);
        agent_event_free(ev);
        ev = next;
    }
}

static short conn_events(const struct agent_conn *ac)
{
    return POLLIN | (dbuf_size(&ac->out) > 0 || ac->list_next < ac->list_n ? POLLOUT : 0);
}

/* Poll set: listener, signals, events, then one slot per connection. */
#define FIXED_FDS 3

static int poll_wait(struct agent *a, struct pollfd *p)
{
    uint64_t now = clock_mono_ms(), soonest = now + CONTROL_MAX_WAIT_MS;

    p[0] = (struct pollfd){.fd = a->listen_fd, .events = POLLIN};
    p[1] = (struct pollfd){.fd = a->signal_fd, .events = POLLIN};
    p[2] = (struct pollfd){.fd = a->events.fd, .events = POLLIN};
    for (size_t i = 0; i < AGENT_MAX_CONNECTIONS; i++) {
        const struct agent_conn *ac = &a->conns[i];

        p[FIXED_FDS + i] = (struct pollfd){.fd = -1};
        if (ac->mode == AC_FREE)
            continue;
        p[FIXED_FDS + i].fd = ac->fd;
        p[FIXED_FDS + i].events = conn_events(ac);
        if (ac->mode == AC_READ && ac->deadline < soonest)
            soonest = ac->deadline;
    }
    return poll(p, FIXED_FDS + AGENT_MAX_CONNECTIONS,
                soonest > now ? (int)(soonest - now) : 0);
}

static void conns_run(struct agent *a, const struct pollfd *p)
{
    uint64_t now = clock_mono_ms();

    for (size_t i = 0; i < AGENT_MAX_CONNECTIONS; i++) {
        struct agent_conn *ac = &a->conns[i];
        short rev = p[FIXED_FDS + i].revents;

        if (ac->mode == AC_FREE || p[FIXED_FDS + i].fd != ac->fd)
            continue;
        if ((rev & (POLLIN | POLLHUP | POLLERR)) != 0)
            conn_read(a, ac);
        if (ac->mode != AC_FREE && ((rev & POLLOUT) != 0 || dbuf_size(&ac->out) > 0))
            conn_write(a, ac);
        if (ac->mode == AC_READ && now >= ac->deadline)
            conn_close(ac); /* a request must not take longer */
    }
}

void agent_control_loop(struct agent *a)
{
    struct pollfd p[FIXED_FDS + AGENT_MAX_CONNECTIONS];
    int r;

    while (!a->stopping) {
        r = poll_wait(a, p);
        if (r < 0 && errno != EINTR) {
            LOG_ERROR("agent_poll", "error=\"%s\"", strerror(errno));
            a->stopping = true;
            break;
        }
        if (r < 0)
            continue;
        if ((p[1].revents & POLLIN) != 0)
            signals_read(a);
        if ((p[2].revents & POLLIN) != 0)
            events_run(a);
        conns_run(a, p);
        if ((p[0].revents & POLLIN) != 0)
            accept_one(a);
    }
}

json_t *agent_message_object(struct agent *a, const struct agent_item *it)
{
    ts_client_status st;
    uint8_t *data = NULL;
    size_t len = 0, cap;
    char *b64 = NULL;
    json_t *obj = NULL;

    if (ts_envelope_encode(it->env, &data, &len) != TS_OK)
        return NULL;
    cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    if ((b64 = malloc(cap)) == NULL)
        goto done;
    sodium_bin2base64(b64, cap, data, len, sodium_base64_VARIANT_ORIGINAL);
    ts_client_get_status(a->client, &st);
    obj = json_pack("{s:s, s:b, s:s, s:s}", "envelope", b64, "verified", it->verified,
                    "server", a->opts->hostport, "server_key", st.server_fingerprint);
    /* A relayed Chat's verdict says more than "verified": why not. */
    if (obj != NULL && ts_envelope_type(it->env) == TS_MSG_CHAT &&
        json_object_set_new(obj, "verdict", json_string(chat_verdict_name(it->verdict))) != 0) {
        json_decref(obj);
        obj = NULL;
    }
done:
    free(b64);
    free(data);
    return obj;
}
