/*
 * Private layout of a client connection, shared by conn.c (life cycle,
 * channel callbacks, sending, closing) and conn_io.c (socket I/O and the
 * poll loop).
 */
#ifndef TS_CLIENT_CONN_INTERNAL_H
#define TS_CLIENT_CONN_INTERNAL_H

#include <tcpseal/envelope.h>

#include "channel/channel.h"
#include "client/conn.h"
#include "client/hash_window.h"
#include "net/address.h"
#include "util/dbuf.h"
#include "util/error.h"

/* Bytes asked of the transport per read. */
#define CONN_READ_CHUNK 65536u
/* Reads per step before control returns to the loop, so a server that
 * never stops sending cannot starve deadline checks. */
#define CONN_READS_PER_STEP 16
/* The input buffer holds at most one partial unit (a hello or a frame of
 * up to 2 + 65535 bytes) plus one read. */
#define CONN_IN_MAX (CHANNEL_FRAME_HEADER + NOISE_MAX_MESSAGE + CONN_READ_CHUNK)
/* Longest peer close text kept (the channel cuts longer ones). */
#define CONN_REASON_TEXT_MAX 128

struct client_conn {
    enum client_conn_state state;
    char pin[TS_FINGERPRINT_MAX];       /* "" = no pin */
    size_t max_message;
    uint64_t max_skew_ms;
    struct client_conn_callbacks cb;

    struct channel_credentials creds;
    channel *ch;
    const tls_client_ctx *tls;          /* borrowed; NULL = plain TCP */
    struct transport *t;                /* NULL before connect and after close */
    struct dbuf in;                     /* received, not yet processed */
    struct dbuf out;                    /* the channel's output, not yet written */
    char peer[NET_HOSTPORT_MAX];
    int os_error;
    bool closing;                       /* our CLOSE is out: input is discarded */
    bool eof;                           /* the server ended its direction */
    uint64_t last_input_ms;             /* monotonic: bytes last arrived (or connect) */

    /* Sticky outcome: the first failure (or the close) and its detail. */
    int error;
    char error_text[ERROR_DETAIL_MAX];

    bool peer_closed;                   /* hello rejection or CLOSE received */
    uint16_t peer_reason;
    char peer_text[CONN_REASON_TEXT_MAX];

    bool server_known;
    uint8_t server_key[TS_PUBLIC_KEY_LEN];
    char server_fp[TS_FINGERPRINT_MAX];
    ts_replay_window replay;            /* ids of server envelopes */
    struct hash_window relayed_seen;    /* hashes of relayed Chat envelopes */

    unsigned events;                    /* handshake done / envelopes, this run */
};

/* True while the connection can still carry data. */
static inline bool conn_is_open(const client_conn *c)
{
    return c->state == CLIENT_CONN_HANDSHAKE || c->state == CLIENT_CONN_READY;
}

/* Record rc (and the thread's detail for it) as the connection's outcome
 * unless one is recorded, try once to write what is queued (a CLOSE frame
 * from the channel), release the socket. Returns the recorded outcome with
 * its detail re-recorded. */
int conn_fail(client_conn *c, int rc);

/* The recorded outcome, its detail re-recorded for this thread. */
int conn_sticky(const client_conn *c);

/* Turn a channel error into the connection's outcome, with a detail that
 * names the server. */
int conn_channel_error(client_conn *c, int rc);

/* Write queued output without blocking: 0 (maybe some left) or the
 * connection's error. */
int conn_write_some(client_conn *c);

/* Run the poll loop until deadline_ms: until an event (events > 0), or
 * until the output queue is empty (flushed). */
enum conn_until {
    CONN_UNTIL_EVENT,
    CONN_UNTIL_FLUSHED,
};
int conn_run(client_conn *c, uint64_t deadline_ms, enum conn_until until);

/* After our CLOSE: write what is queued, end our direction, discard input
 * until the server hangs up or deadline_ms. 0, TS_ERR_TIMEOUT or an I/O
 * error. */
int conn_linger(client_conn *c, uint64_t deadline_ms);

#endif /* TS_CLIENT_CONN_INTERNAL_H */
