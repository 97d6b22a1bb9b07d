/*
 * Bytes between a connection's transport and its channel: output staged
 * per thread and written straight through, input read per thread and
 * handed over a unit at a time (see conn.h).
 */
#include "conn_io.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>

#include <tcpseal/protocol.h>

#include "loop.h"
#include "net/tls.h"

/* Staging is sent once it holds this much, even mid-message, so a large
 * message never needs a large staging buffer. */
#define CONN_STAGING_FLUSH LOOP_STAGING_FLUSH

/* Byte counts need no precise clock: the loop's time of the current
 * turn saves a clock read per system call. */
static void count_wire(struct bench_thread *th, size_t n)
{
    if (bench_in_window(th->run, th->turn_us))
        th->stats.wire_bytes += n;
}

const char *conn_errno_name(int err)
{
    const char *name = strerrorname_np(err);
    return name != NULL ? name : "unknown";
}

/*
 * Name a failed transport call for the error counts: "eof:PHASE" when
 * the server closed a read, "tls:PHASE" when TLS failed (the detail,
 * kept as the first error, says which check), else "WHAT:ERRNO" from
 * the socket error behind it.
 */
static void io_failure(struct bench_conn *c, const char *what, int rc, int err, char *out,
                       size_t cap)
{
    const char *phase = conn_phase_name(c->phase);

    if (rc == TS_ERR_TLS)
        snprintf(out, cap, "tls:%s", phase);
    else if (rc == TS_ERR_CLOSED && strcmp(what, "recv") == 0)
        snprintf(out, cap, "eof:%s", phase);
    else if (err != 0)
        snprintf(out, cap, "%s:%s", what, conn_errno_name(err));
    else
        snprintf(out, cap, "%s:%s", what, ts_strerror(rc));
    loop_note_error(c->th, ts_error_detail(rc));
}

/* ---- epoll interest ---- */

int conn_update_events(struct bench_conn *c)
{
    short want = transport_events(c->t, dbuf_size(&c->outq) > 0);
    uint32_t events = 0;
    struct epoll_event ev = {.data.ptr = c};

    if ((want & POLLIN) && !c->paused)
        events |= EPOLLIN;
    if (want & POLLOUT)
        events |= EPOLLOUT;
    if (events == c->events)
        return 0;
    ev.events = events;
    if (epoll_ctl(c->th->epfd, EPOLL_CTL_MOD, transport_fd(c->t), &ev) != 0)
        return -1;
    c->events = events;
    return 0;
}

/* ---- output ---- */

/* Write from p until the transport takes no more: 0 with *taken set,
 * or -1 with c->why set. */
static int write_some(struct bench_conn *c, const uint8_t *p, size_t len, size_t *taken)
{
    size_t done = 0, n = 0;
    int rc = TS_OK;

    while (done < len) {
        if ((rc = transport_write(c->t, p + done, len - done, &n)) != TS_OK || n == 0)
            break;
        done += n;
    }
    count_wire(c->th, done);
    *taken = done;
    if (rc != TS_OK) {
        io_failure(c, "send", rc, errno, c->why, sizeof(c->why));
        return -1;
    }
    return 0;
}

static void staging_release(struct bench_thread *th, struct bench_conn *c)
{
    if (th->staging_owner == c) {
        dbuf_reset(&th->staging);
        th->staging_owner = NULL;
    }
}

int conn_write(struct bench_conn *c)
{
    struct bench_thread *th = c->th;
    size_t n;

    if (c->t == NULL)
        return 0;
    if (dbuf_size(&c->outq) > 0) {
        if (write_some(c, dbuf_ptr(&c->outq), dbuf_size(&c->outq), &n) != 0)
            goto fail;
        dbuf_consume(&c->outq, n);
    }
    if (th->staging_owner == c) {
        const uint8_t *p = dbuf_ptr(&th->staging);
        size_t len = dbuf_size(&th->staging), sent = 0;

        if (dbuf_size(&c->outq) == 0 && len > 0 && write_some(c, p, len, &sent) != 0)
            goto fail;
        if (sent < len && dbuf_append(&c->outq, p + sent, len - sent) != TS_OK) {
            snprintf(c->why, sizeof(c->why), "output_full");
            goto fail;
        }
        staging_release(th, c);
    }
    if (c->phase != CONN_CONNECTING && conn_update_events(c) != 0) {
        snprintf(c->why, sizeof(c->why), "epoll:%s", conn_errno_name(errno));
        goto fail;
    }
    return 0;
fail:
    staging_release(th, c);
    return -1;
}

static void staging_flush(struct bench_thread *th)
{
    struct bench_conn *owner = th->staging_owner;

    /* A failed write marks the owner; its close follows its channel call. */
    if (owner != NULL && conn_write(owner) != 0)
        owner->closing = true;
}

static uint8_t *sink_reserve(void *arg, size_t n)
{
    struct bench_conn *c = arg;
    struct bench_thread *th = c->th;

    if (c->closing)
        return NULL;
    if ((th->staging_owner != NULL && th->staging_owner != c) ||
        dbuf_size(&th->staging) >= CONN_STAGING_FLUSH)
        staging_flush(th);
    if (c->closing)
        return NULL;
    th->staging_owner = c;
    return dbuf_reserve(&th->staging, n);
}

static void sink_commit(void *arg, size_t n)
{
    struct bench_conn *c = arg;

    dbuf_commit(&c->th->staging, n);
}

struct channel_sink conn_sink(struct bench_conn *c)
{
    return (struct channel_sink){c, sink_reserve, sink_commit};
}

/* ---- input ---- */

/* Hand every whole unit in buf to the channel; returns the bytes used. */
static size_t conn_units(struct bench_conn *c, uint8_t *buf, size_t len)
{
    size_t off = 0, unit;
    int rc;

    while (off < len && c->phase != CONN_FREE && !c->closing) {
        if ((rc = channel_next_unit(c->ch, buf + off, len - off, &unit)) != TS_OK) {
            conn_channel_failed(c, rc);
            return len;
        }
        if (unit == 0 || unit > len - off)
            break;
        c->depth++;
        rc = channel_input_unit(c->ch, buf + off, unit);
        c->depth--;
        off += unit;
        if (rc != TS_OK && !(rc == TS_ERR_LIMIT && c->closing)) {
            conn_channel_failed(c, rc);
            return len;
        }
        if (channel_get_state(c->ch) == CHANNEL_CLOSED && !c->closing) {
            const char *text;
            char name[TALLY_NAME_MAX];
            uint16_t reason = channel_close_reason(c->ch, &text);

            snprintf(name, sizeof(name), "closed:%s", ts_reason_name(reason));
            conn_finish(c, name);
        }
    }
    return off;
}

void conn_read(struct bench_conn *c)
{
    struct bench_thread *th = c->th;
    /* A short TCP read means the socket is empty; TLS hands over one
     * record per read, so there only a read that finds nothing says so. */
    bool short_read_drains = !tls_transport_is(c->t);
    char name[TALLY_NAME_MAX];

    /* Bytes TLS has decrypted already would never wake epoll again. */
    for (int round = 0; round < CONN_READS_PER_EVENT || transport_pending(c->t); round++) {
        size_t have = dbuf_size(&c->inq), cap = LOOP_RBUF_SIZE - have, total, used, n;
        int rc;

        if (have > 0)
            memcpy(th->rbuf, dbuf_ptr(&c->inq), have);
        if ((rc = transport_read(c->t, th->rbuf + have, cap, &n)) != TS_OK) {
            io_failure(c, "recv", rc, errno, name, sizeof(name));
            conn_finish(c, name);
            return;
        }
        if (n == 0)
            break;
        count_wire(th, n);
        dbuf_reset(&c->inq);
        total = have + n;
        used = conn_units(c, th->rbuf, total);
        if (c->phase == CONN_FREE)
            return;
        if (c->closing)
            break;
        if (used < total && dbuf_append(&c->inq, th->rbuf + used, total - used) != TS_OK) {
            conn_finish(c, "input_full");
            return;
        }
        if (short_read_drains && n < cap)
            break;
    }
    if (conn_write(c) != 0)
        c->closing = true;
    conn_settle(c);
}
