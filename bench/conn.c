/*
 * One connection's life: connect, TLS (with --tls), the initiator side
 * of a channel, sends, and closing (see conn.h). The bytes themselves
 * move in conn_io.c.
 */
#include "conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <tcpseal/protocol.h>

#include "conn_io.h"
#include "loop.h"
#include "net/tcp.h"
#include "net/tls.h"
#include "request.h"

/* ---- closing ---- */

const char *conn_phase_name(enum conn_phase p)
{
    switch (p) {
    case CONN_CONNECTING:
        return "connecting";
    case CONN_HANDSHAKE:
        return "handshake";
    case CONN_READY:
        return "ready";
    case CONN_FREE:
        break;
    }
    return "free";
}

/* Tell the server we are leaving; best effort, since we close right
 * after. With TLS a close_notify follows, so the server sees a clean end
 * rather than a truncated stream. */
static void conn_goodbye(struct bench_conn *c)
{
    c->depth++;
    (void)channel_close(c->ch, TS_REASON_CLIENT_EXIT, NULL);
    c->depth--;
    if (conn_write(c) == 0 && dbuf_size(&c->outq) == 0)
        (void)transport_shutdown_write(c->t);
}

void conn_teardown(struct bench_conn *c, const char *failure_in)
{
    struct bench_thread *th = c->th;
    uint64_t now = bench_now_us();
    char copy[TALLY_NAME_MAX];
    const char *failure = NULL;

    /* The name may live in c->why, which is cleared below. */
    if (failure_in != NULL) {
        snprintf(copy, sizeof(copy), "%s", failure_in);
        failure = copy;
    }
    if (c->phase == CONN_READY && failure == NULL && c->ch != NULL && c->t != NULL &&
        channel_get_state(c->ch) == CHANNEL_ESTABLISHED)
        conn_goodbye(c);
    if (th->staging_owner == c) {
        dbuf_reset(&th->staging);
        th->staging_owner = NULL;
    }
    transport_close(c->t);
    c->t = NULL;
    if (c->phase == CONN_CONNECTING || c->phase == CONN_HANDSHAKE)
        th->pending--;
    channel_free(c->ch);
    c->ch = NULL;
    dbuf_reset(&c->inq);
    dbuf_reset(&c->outq);
    request_abandon(c);
    c->phase = CONN_FREE;
    c->events = 0;
    c->closing = false;
    c->paused = false;
    c->setup_deadline_us = 0;
    c->why[0] = '\0';
    /* A member that stopped reading on purpose is expected to be cut. */
    if (failure != NULL)
        tally_add(c->slow ? &th->stats.slow_ends : &th->stats.errors, failure, 1);
    if (th->sc->on_closed != NULL)
        th->sc->on_closed(c, failure, now);
}

void conn_finish(struct bench_conn *c, const char *failure)
{
    if (c->phase == CONN_FREE)
        return;
    if (c->depth > 0) {
        /* Inside a channel call: the channel must outlive it. */
        if (!c->closing)
            snprintf(c->why, sizeof(c->why), "%s", failure != NULL ? failure : "");
        c->closing = true;
        return;
    }
    conn_teardown(c, failure);
}

void conn_settle(struct bench_conn *c)
{
    char why[TALLY_NAME_MAX];

    if (!c->closing || c->depth > 0 || c->phase == CONN_FREE)
        return;
    snprintf(why, sizeof(why), "%s", c->why);
    conn_teardown(c, why[0] != '\0' ? why : NULL);
}

/* ---- channel events ---- */

static int on_peer_identity(void *arg, const uint8_t identity[TS_PUBLIC_KEY_LEN])
{
    struct bench_conn *c = arg;
    const char *pin = c->th->opt->server_key;
    char fp[TS_FINGERPRINT_MAX];

    if (pin == NULL)
        return TS_OK;
    ts_fingerprint_of_key(identity, fp);
    if (strcmp(fp, pin) != 0) {
        char detail[160];
        snprintf(detail, sizeof(detail), "server key %s differs from the pinned %s", fp, pin);
        loop_note_error(c->th, detail);
        return TS_ERR_KEY_MISMATCH;
    }
    return TS_OK;
}

static int on_established(void *arg)
{
    struct bench_conn *c = arg;

    c->phase = CONN_READY;
    c->was_ready = true;
    c->th->pending--;
    if (c->th->sc->on_ready != NULL)
        c->th->sc->on_ready(c, bench_now_us());
    return TS_OK;
}

static int on_message(void *arg, uint8_t *data, size_t len)
{
    struct bench_conn *c = arg;

    if (c->th->sc->on_message == NULL)
        return TS_OK;
    return c->th->sc->on_message(c, data, len, bench_now_us());
}

static int on_oversize(void *arg, uint64_t size)
{
    struct bench_conn *c = arg;

    tally_add(&c->th->stats.errors, "oversize_message", 1);
    return TS_OK;
}

static void on_pong(void *arg, uint64_t rtt_ms)
{
    struct bench_conn *c = arg;

    if (c->th->sc->on_pong != NULL)
        c->th->sc->on_pong(c, bench_now_us());
}

/* Short stable names for the errors a channel call can end with. */
static const char *err_name(int rc)
{
    switch (rc) {
    case TS_ERR_DECRYPT:
        return "decrypt_failed";
    case TS_ERR_PROTOCOL:
        return "protocol_error";
    case TS_ERR_HANDSHAKE:
        return "handshake_failed";
    case TS_ERR_IDENTITY:
        return "identity_rejected";
    case TS_ERR_KEY_MISMATCH:
        return "key_mismatch";
    case TS_ERR_VERSION:
        return "unsupported_version";
    case TS_ERR_UNSUPPORTED:
        return "unsupported_suite";
    case TS_ERR_MALFORMED:
        return "malformed";
    case TS_ERR_LIMIT:
        return "output_full";
    case TS_ERR_NOMEM:
        return "out_of_memory";
    case TS_ERR_CLOSED:
        return "closed";
    case TS_ERR_NONCE_EXHAUSTED:
        return "nonce_exhausted";
    default:
        return "channel_error";
    }
}

void conn_channel_failed(struct bench_conn *c, int rc)
{
    char name[TALLY_NAME_MAX];
    const char *text;
    uint16_t reason = channel_close_reason(c->ch, &text);

    if (rc == TS_ERR_REJECTED) {
        snprintf(name, sizeof(name), "rejected:%s", ts_reason_name(reason));
    } else if (rc == TS_ERR_LIMIT && c->closing) {
        snprintf(name, sizeof(name), "%s", c->why[0] != '\0' ? c->why : "output_full");
    } else {
        snprintf(name, sizeof(name), "%s:%s", conn_phase_name(c->phase), err_name(rc));
    }
    loop_note_error(c->th, ts_error_detail(rc));
    c->closing = false;
    (void)conn_write(c);
    conn_teardown(c, name);
}

/* ---- connecting ---- */

static int conn_channel_new(struct bench_conn *c)
{
    struct channel_config cfg = {
        .role = NOISE_INITIATOR,
        .credentials = &c->key->creds,
        /* Accept whatever the server may answer with. */
        .max_message = TS_MAX_MESSAGE_LIMIT,
    };
    struct channel_callbacks cb = {
        .arg = c,
        .on_peer_identity = on_peer_identity,
        .on_established = on_established,
        .on_message = on_message,
        .on_oversize = on_oversize,
        .on_pong = on_pong,
    };
    struct channel_sink sink = conn_sink(c);

    return channel_new(&c->ch, &cfg, &cb, &sink);
}

static void conn_connect_fail(struct bench_conn *c, const char *what, int err)
{
    char name[TALLY_NAME_MAX], detail[160];

    snprintf(name, sizeof(name), "%s:%s", what, conn_errno_name(err));
    snprintf(detail, sizeof(detail), "%s: %s", what, strerror(err));
    loop_note_error(c->th, detail);
    conn_teardown(c, name);
}

/* A socket for the server, with a small receive buffer when the
 * scenario asks for one (before connect(), so the window the server is
 * offered is small from the start). The fd, or -1 with errno set. */
static int conn_socket(const struct bench_conn *c)
{
    const struct bench_options *opt = c->th->opt;
    int fd = socket(opt->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd >= 0 && c->rcvbuf > 0 &&
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &c->rcvbuf, sizeof(c->rcvbuf)) != 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

int conn_connect(struct bench_conn *c, uint64_t now)
{
    const struct bench_options *opt = c->th->opt;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    int fd, rc;

    c->started_us = now;
    c->deadline_us = now + CONN_HANDSHAKE_TIMEOUT_US;
    c->confirmed = false;
    c->was_ready = false;
    c->phase = CONN_CONNECTING;
    c->th->stats.attempts++;
    c->th->pending++;
    if ((fd = conn_socket(c)) < 0) {
        conn_connect_fail(c, "socket", errno);
        return -1;
    }
    /* The transport turns Nagle off: requests are small and latency is
     * the point. It owns fd from here, failing or not. */
    if ((rc = tcp_transport_from_fd(fd, opt->addr_text, &c->t)) != TS_OK) {
        loop_note_error(c->th, ts_error_detail(rc));
        conn_teardown(c, "socket:setup_failed");
        return -1;
    }
    if (connect(transport_fd(c->t), (const struct sockaddr *)&opt->addr, opt->addrlen) != 0 &&
        errno != EINPROGRESS) {
        conn_connect_fail(c, "connect", errno);
        return -1;
    }
    if ((rc = conn_channel_new(c)) != TS_OK) {
        loop_note_error(c->th, ts_error_detail(rc));
        conn_teardown(c, "channel_new_failed");
        return -1;
    }
    if (epoll_ctl(c->th->epfd, EPOLL_CTL_ADD, transport_fd(c->t), &ev) != 0) {
        conn_connect_fail(c, "epoll_ctl", errno);
        return -1;
    }
    c->events = ev.events;
    return 0;
}

/* Wrap the connected TCP transport in TLS; its ClientHello leaves now.
 * 0, or -1 after dropping c. */
static int conn_tls_start(struct bench_conn *c)
{
    struct transport *tls;
    int rc = tls_transport_start(c->th->run->tls, c->t, c->th->opt->host, &tls);

    /* The TCP transport was taken over (and closed on failure). */
    c->t = tls;
    if (rc != TS_OK) {
        loop_note_error(c->th, ts_error_detail(rc));
        conn_teardown(c, "tls:start_failed");
        return -1;
    }
    return 0;
}

/* The socket became writable while connecting: connected, or failed. The
 * channel's hello is queued at once; with TLS it waits in the output
 * queue until the TLS handshake lets it through. */
static void conn_connected(struct bench_conn *c)
{
    int err = 0, rc;
    socklen_t len = sizeof(err);

    if (getsockopt(transport_fd(c->t), SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    if (err != 0) {
        conn_connect_fail(c, "connect", err);
        return;
    }
    c->phase = CONN_HANDSHAKE;
    if (c->th->run->tls != NULL && conn_tls_start(c) != 0)
        return;
    c->depth++;
    rc = channel_start(c->ch);
    c->depth--;
    if (rc != TS_OK) {
        conn_channel_failed(c, rc);
        return;
    }
    if (conn_write(c) != 0)
        c->closing = true;
    conn_settle(c);
}

/* ---- sending ---- */

/* After a channel call made outside input processing: flush, or drop the
 * connection if the call or the write failed. */
static int conn_after_call(struct bench_conn *c, int rc)
{
    if (rc != TS_OK && !(rc == TS_ERR_LIMIT && c->closing)) {
        if (c->depth > 0) {
            snprintf(c->why, sizeof(c->why), "send:%s", err_name(rc));
            c->closing = true;
            return -1;
        }
        conn_channel_failed(c, rc);
        return -1;
    }
    if (c->depth > 0)
        return c->closing ? -1 : 0; /* the enclosing input call flushes */
    if (!c->closing && conn_write(c) != 0)
        c->closing = true;
    if (c->closing) {
        conn_settle(c);
        return -1;
    }
    return 0;
}

int conn_send(struct bench_conn *c, const uint8_t *msg, size_t len)
{
    int rc;

    if (c->phase != CONN_READY || c->closing)
        return -1;
    c->depth++;
    rc = channel_send(c->ch, msg, len);
    c->depth--;
    return conn_after_call(c, rc);
}

int conn_ping(struct bench_conn *c)
{
    int rc;

    if (c->phase != CONN_READY || c->closing)
        return -1;
    c->depth++;
    rc = channel_send_ping(c->ch);
    c->depth--;
    return conn_after_call(c, rc);
}

void conn_pause(struct bench_conn *c, bool paused)
{
    char name[TALLY_NAME_MAX];

    c->paused = paused;
    if (c->phase == CONN_FREE || c->phase == CONN_CONNECTING || conn_update_events(c) == 0)
        return;
    snprintf(name, sizeof(name), "epoll:%s", conn_errno_name(errno));
    conn_finish(c, name);
}

/* ---- events from the loop ---- */

void conn_on_event(struct bench_conn *c, uint32_t events)
{
    bool broken = (events & (EPOLLERR | EPOLLHUP)) != 0;
    bool queued = dbuf_size(&c->outq) > 0;

    if (c->phase == CONN_FREE)
        return;
    if (c->phase == CONN_CONNECTING) {
        if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            conn_connected(c);
        return;
    }
    /* With nothing queued, writability is for a TLS read that waits to
     * write (a KeyUpdate answer). A reset is read even while paused. */
    if (broken || (!c->paused && ((events & EPOLLIN) || ((events & EPOLLOUT) && !queued)))) {
        conn_read(c);
        return;
    }
    if ((events & EPOLLOUT) && queued && conn_write(c) != 0)
        conn_finish(c, c->why[0] != '\0' ? c->why : "send_failed");
}

void conn_check(struct bench_conn *c, uint64_t now)
{
    char name[TALLY_NAME_MAX];

    conn_settle(c);
    if ((c->phase == CONN_CONNECTING || c->phase == CONN_HANDSHAKE) &&
        now >= c->deadline_us) {
        snprintf(name, sizeof(name), "timeout:%s", conn_phase_name(c->phase));
        loop_note_error(c->th, "no answer from the server within 10 s");
        conn_finish(c, name);
    } else if (c->phase == CONN_READY && c->setup_deadline_us != 0 &&
               now >= c->setup_deadline_us) {
        loop_note_error(c->th, "the server did not answer the set-up commands in time");
        conn_finish(c, "timeout:setup");
    }
}

/* ---- life cycle ---- */

int conn_init(struct bench_conn *c, struct bench_thread *th, struct bench_key *key,
              unsigned window)
{
    c->th = th;
    c->t = NULL;
    c->key = key;
    dbuf_init(&c->inq, CONN_MAX_UNIT);
    dbuf_init(&c->outq, CONN_MAX_OUTPUT);
    if (window == 0)
        return 0;
    c->inflight.ids = calloc(window, sizeof(*c->inflight.ids));
    c->inflight.sent_us = calloc(window, sizeof(*c->inflight.sent_us));
    c->inflight.cap = window;
    return c->inflight.ids != NULL && c->inflight.sent_us != NULL ? 0 : -1;
}

void conn_free(struct bench_conn *c)
{
    channel_free(c->ch);
    c->ch = NULL;
    transport_close(c->t);
    c->t = NULL;
    dbuf_free(&c->inq);
    dbuf_free(&c->outq);
    free(c->inflight.ids);
    free(c->inflight.sent_us);
    c->inflight.ids = c->inflight.sent_us = NULL;
    ts_envelope_free(c->req);
    c->req = NULL;
}
