/*
 * One connection slot of the engine. A slot holds at most one
 * non-blocking transport (plain TCP, or TLS over it with --tls) and one
 * channel (the initiator side) at a time; scenarios reuse slots to
 * reconnect. Nothing here depends on which transport it is, except that
 * a TLS handshake runs between connect() and the hello.
 *
 * Output is written straight to the transport: the channel encrypts into
 * its thread's staging buffer, which is sent as soon as the channel call
 * returns; only what the transport does not take is kept, per
 * connection, until it drains (at most CONN_MAX_OUTPUT). Because the kept
 * bytes are always written first, a TLS write that took nothing is
 * retried with the same bytes, as OpenSSL requires. Input is read into
 * the thread's buffer and handed to the channel a unit at a time; only a
 * partial unit at the end of a read is kept per connection. So an idle
 * connection holds no buffers at all.
 *
 * The scenario hooks run inside channel calls. They may call conn_send(),
 * conn_ping() and conn_finish(); a close requested there is carried out
 * once the channel call has returned, since the channel must outlive it.
 */
#ifndef TS_BENCH_CONN_H
#define TS_BENCH_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include <tcpseal/envelope.h>

#include "bench.h"
#include "channel/channel.h"
#include "keys.h"
#include "net/transport.h"
#include "util/dbuf.h"

/* Connect, TLS, hello and handshake must finish within this. */
#define CONN_HANDSHAKE_TIMEOUT_US (10u * 1000u * 1000u)
/* Output the socket has not taken yet, per connection. */
#define CONN_MAX_OUTPUT (64u * 1024u * 1024u)
/* The longest input unit: a frame header and a 65535-byte frame. */
#define CONN_MAX_UNIT (2u + 65535u)
/* Reads per readiness event, so one busy socket cannot starve others. */
#define CONN_READS_PER_EVENT 4

enum conn_phase {
    CONN_FREE,       /* no socket */
    CONN_CONNECTING, /* TCP connect in progress */
    CONN_HANDSHAKE,  /* TLS (with --tls), hello and Noise handshake */
    CONN_READY,      /* channel established */
};

/* Requests in flight on one connection, oldest first (a ring). */
struct inflight {
    uint64_t *ids;
    uint64_t *sent_us; /* when each was due: latency counts from here */
    unsigned cap;
    unsigned head;
    unsigned count;
};

struct bench_conn {
    struct bench_thread *th;
    struct bench_key *key;
    channel *ch;
    struct transport *t;      /* NULL while the slot is free */
    enum conn_phase phase;
    uint32_t events;          /* epoll events registered */
    unsigned depth;           /* nesting of channel calls in progress */
    bool closing;             /* a close was requested inside a channel call */
    bool was_ready;           /* reached CONN_READY since the last connect */
    bool confirmed;           /* idle: the server answered our ping */
    bool paused;              /* not reading (conn_pause) */
    bool slow;                /* fanout --slow: its end is not an error */
    int rcvbuf;               /* SO_RCVBUF for the socket; 0 = the system's */
    char why[TALLY_NAME_MAX]; /* failure behind a deferred close; "" = normal */
    uint64_t started_us;      /* when connect() was called */
    uint64_t deadline_us;     /* handshake deadline */
    uint64_t setup_deadline_us; /* the scenario's set-up deadline; 0 = none */
    uint64_t retry_us;        /* connect: when to try again after a failure */
    struct dbuf inq;          /* partial input unit */
    struct dbuf outq;         /* output the transport did not take */
    struct inflight inflight;
    ts_envelope *req;         /* template of what the slot sends (request.c) */

    /* Scenario state (chat.c). */
    uint8_t role;             /* enum chat_role */
    uint8_t step;             /* how far the account and room set-up got */
    uint64_t delivered;       /* chat messages received inside the window */
};

/* Set up a free slot of thread th using key, with room for window
 * requests in flight. 0, or -1 when out of memory. */
int conn_init(struct bench_conn *c, struct bench_thread *th, struct bench_key *key,
              unsigned window);

/* Release a slot's memory (and socket, if any, without a goodbye). */
void conn_free(struct bench_conn *c);

/* Start a connection in a free slot. 0, or -1 when it failed at once
 * (already counted and reported through on_closed). */
int conn_connect(struct bench_conn *c, uint64_t now);

/* Send one message on a ready connection: 0, or -1 when the connection
 * was dropped. */
int conn_send(struct bench_conn *c, const uint8_t *msg, size_t len);

/* Send a PING on a ready connection: 0 or -1 as conn_send. */
int conn_ping(struct bench_conn *c);

/* Stop reading c (paused true) or start again. A paused connection lets
 * the kernel's buffers and then the server's queue for it fill up, as a
 * client that stopped reading would; it still notices a reset. */
void conn_pause(struct bench_conn *c, bool paused);

/* Close the connection: failure names the reason (counted as an error),
 * NULL for a normal close, which sends the server a CLOSE. */
void conn_finish(struct bench_conn *c, const char *failure);

/* Engine: epoll reported events on c's socket. */
void conn_on_event(struct bench_conn *c, uint32_t events);

/* Engine, periodically: enforce the handshake and set-up deadlines, and
 * carry out a close left pending when c's write failed during another
 * connection's channel call. */
void conn_check(struct bench_conn *c, uint64_t now);

#endif /* TS_BENCH_CONN_H */
