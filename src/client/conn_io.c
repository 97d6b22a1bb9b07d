/*
 * Socket side of a client connection: reading into the channel, writing
 * its output, and the poll() loop the blocking helpers share.
 */
#include "client/conn_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include <tcpseal/protocol.h>

#include "net/tls.h"
#include "util/clock.h"

/* The server ended its direction. A reason it sent before is reported by
 * the caller; without one, say when it happened. */
static int conn_eof(client_conn *c)
{
    c->eof = true;
    if (c->closing)
        return TS_OK;
    /* A server that hangs up in the TLS handshake is not a TLS listener,
     * or refused us without an alert (net/tls.c worded it). */
    if (tls_transport_is(c->t) && !tls_transport_established(c->t))
        return conn_fail(c, TS_ERR_CLOSED);
    if (c->state == CLIENT_CONN_HANDSHAKE)
        return conn_fail(c, error_set(TS_ERR_CLOSED,
                                      "%s closed the connection during the handshake",
                                      c->peer));
    return conn_fail(c, error_set(TS_ERR_CLOSED,
                                  "%s closed the connection without giving a reason",
                                  c->peer));
}

/* The server sent CLOSE: hang up at once (it waits for that). */
static int conn_peer_closed(client_conn *c)
{
    return conn_fail(c, error_set(TS_ERR_CLOSED, "%s closed the connection: %s (%s)",
                                  c->peer, c->peer_text, ts_reason_name(c->peer_reason)));
}

/* Whether to read now. A TLS read may wait for the socket to become
 * writable (net/tls.h): POLLOUT with nothing queued to write is for it. */
static bool conn_wants_read(const client_conn *c, short revents)
{
    return (revents & (POLLIN | POLLHUP | POLLERR)) != 0 || transport_pending(c->t) ||
           ((revents & POLLOUT) != 0 && dbuf_size(&c->out) == 0);
}

/* Hand every complete unit in the input buffer to the channel. */
static int conn_process_input(client_conn *c)
{
    size_t unit;
    int rc;

    if (c->closing) {
        dbuf_reset(&c->in);
        return TS_OK;
    }
    while (conn_is_open(c) && dbuf_size(&c->in) > 0) {
        rc = channel_next_unit(c->ch, dbuf_ptr(&c->in), dbuf_size(&c->in), &unit);
        if (rc != TS_OK)
            return conn_channel_error(c, rc);
        if (unit == 0 || unit > dbuf_size(&c->in))
            return TS_OK;
        rc = channel_input_unit(c->ch, dbuf_ptr(&c->in), unit);
        dbuf_consume(&c->in, unit);
        if (rc != TS_OK)
            return conn_channel_error(c, rc);
        if (c->peer_closed)
            return conn_peer_closed(c);
    }
    return conn_is_open(c) ? TS_OK : conn_sticky(c);
}

/* Read what the socket has (a bounded number of times) and process it. */
static int conn_read_some(client_conn *c)
{
    uint8_t *dst;
    size_t n;
    int rc;

    for (int i = 0; i < CONN_READS_PER_STEP && c->t != NULL && !c->eof; i++) {
        dst = dbuf_reserve(&c->in, CONN_READ_CHUNK);
        if (dst == NULL)
            return conn_fail(c, error_set(TS_ERR_NOMEM, "out of memory"));
        rc = transport_read(c->t, dst, CONN_READ_CHUNK, &n);
        if (rc == TS_ERR_CLOSED)
            return conn_eof(c);
        if (rc != TS_OK)
            return c->closing ? rc : conn_fail(c, rc);
        if (n == 0)
            break;
        c->last_input_ms = clock_mono_ms();
        dbuf_commit(&c->in, n);
        if ((rc = conn_process_input(c)) != TS_OK)
            return rc;
        if (c->events > 0)
            break;
    }
    return TS_OK;
}

/* The server hung up while we wrote: what it sent before (a rejection, a
 * CLOSE) says why, so read that before reporting the broken pipe. */
static int conn_write_refused(client_conn *c)
{
    char why[ERROR_DETAIL_MAX];

    snprintf(why, sizeof(why), "%s", ts_error_detail(TS_ERR_CLOSED));
    dbuf_reset(&c->out);
    if (conn_read_some(c) != TS_OK || !conn_is_open(c))
        return conn_sticky(c);
    return conn_fail(c, error_set(TS_ERR_CLOSED, "%s", why));
}

int conn_write_some(client_conn *c)
{
    size_t n;
    int rc;

    while (c->t != NULL && dbuf_size(&c->out) > 0) {
        rc = transport_write(c->t, dbuf_ptr(&c->out), dbuf_size(&c->out), &n);
        if (rc == TS_ERR_CLOSED && !c->closing)
            return conn_write_refused(c);
        if (rc != TS_OK)
            return c->closing ? rc : conn_fail(c, rc);
        if (n == 0)
            break;
        dbuf_consume(&c->out, n);
    }
    return TS_OK;
}

int client_conn_handle(client_conn *c, short revents)
{
    int rc = TS_OK;

    if (!conn_is_open(c))
        return conn_sticky(c);
    if ((revents & POLLNVAL) != 0)
        return conn_fail(c, error_set(TS_ERR_IO, "connection to %s: invalid socket",
                                      c->peer));
    if (conn_wants_read(c, revents))
        rc = conn_read_some(c);
    if (rc == TS_OK && conn_is_open(c) && dbuf_size(&c->out) > 0)
        rc = conn_write_some(c);
    return rc;
}

static int conn_timeout(const client_conn *c, enum conn_until until)
{
    if (until == CONN_UNTIL_FLUSHED)
        return error_set(TS_ERR_TIMEOUT, "timed out sending to %s", c->peer);
    if (c->state == CLIENT_CONN_HANDSHAKE)
        return error_set(TS_ERR_TIMEOUT, "timed out during the handshake with %s",
                         c->peer);
    return error_set(TS_ERR_TIMEOUT, "timed out waiting for %s", c->peer);
}

/* Wait for the socket: *revents, or 0 on timeout. */
static int conn_wait(client_conn *c, uint64_t deadline_ms, short *revents)
{
    struct pollfd p;
    int timeout, r;

    *revents = 0;
    if (transport_pending(c->t)) {
        *revents = POLLIN;
        return TS_OK;
    }
    if ((timeout = clock_poll_timeout(deadline_ms)) == 0)
        return TS_OK;
    p.fd = transport_fd(c->t);
    p.events = client_conn_events(c);
    p.revents = 0;
    r = poll(&p, 1, timeout);
    if (r < 0 && errno != EINTR)
        return conn_fail(c, error_set(TS_ERR_IO, "poll: %s", strerror(errno)));
    if (r > 0)
        *revents = p.revents;
    return TS_OK;
}

int conn_run(client_conn *c, uint64_t deadline_ms, enum conn_until until)
{
    short revents;
    int rc;

    c->events = 0;
    for (;;) {
        if (!conn_is_open(c))
            return conn_sticky(c);
        if (until == CONN_UNTIL_EVENT && c->events > 0)
            return TS_OK;
        if (until == CONN_UNTIL_FLUSHED && dbuf_size(&c->out) == 0)
            return TS_OK;
        if ((rc = conn_wait(c, deadline_ms, &revents)) != TS_OK)
            return rc;
        if (revents == 0) {
            if (clock_poll_timeout(deadline_ms) == 0)
                return conn_timeout(c, until);
            continue;
        }
        if ((rc = client_conn_handle(c, revents)) != TS_OK)
            return rc;
    }
}

/* One pass of the closing loop: write, half-close once empty, read and
 * discard. */
static int linger_step(client_conn *c, short revents, bool *shut)
{
    int rc;

    if (c->t == NULL)
        return conn_sticky(c);
    if ((rc = conn_write_some(c)) != TS_OK)
        return rc;
    if (dbuf_size(&c->out) == 0 && !*shut) {
        if ((rc = transport_shutdown_write(c->t)) != TS_OK)
            return rc;
        *shut = true;
    }
    if (conn_wants_read(c, revents))
        return conn_read_some(c);
    return TS_OK;
}

int conn_linger(client_conn *c, uint64_t deadline_ms)
{
    bool shut = false;
    short revents = 0;
    struct pollfd p;
    int rc, timeout, r;

    c->closing = true;
    dbuf_reset(&c->in);
    for (;;) {
        if ((rc = linger_step(c, revents, &shut)) != TS_OK)
            return rc;
        if (shut && c->eof)
            return TS_OK;
        if (c->t == NULL)
            return conn_sticky(c);
        if ((timeout = clock_poll_timeout(deadline_ms)) == 0)
            return error_set(TS_ERR_TIMEOUT, "%s did not acknowledge the close in time",
                             c->peer);
        p.fd = transport_fd(c->t);
        p.events = transport_events(c->t, dbuf_size(&c->out) > 0);
        p.revents = 0;
        r = poll(&p, 1, timeout);
        if (r < 0 && errno != EINTR)
            return error_set(TS_ERR_IO, "poll: %s", strerror(errno));
        revents = r > 0 ? p.revents : 0;
    }
}
