/*
 * One client connection, owned by one worker for its whole life.
 *
 * Life: hello -> handshake -> ready -> closing -> freed. Closing sends the
 * reason (a hello rejection or a CLOSE frame), flushes queued output,
 * half-closes, and waits briefly for the peer to hang up so the reason is
 * not lost to a reset.
 *
 * Freeing never happens inside a channel or handler callback: callbacks
 * only mark the connection, and the event callback at the top of the
 * stack frees it when it is done (conn_settle()).
 */
#ifndef TS_SERVER_CONN_H
#define TS_SERVER_CONN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/buffer.h>

#include "server/server_internal.h"
#include "service/service.h"

enum conn_state {
    CONN_HELLO,
    CONN_HANDSHAKE,
    CONN_READY,
    CONN_CLOSING,
};

struct conn {
    struct conn *prev, *next; /* worker list */
    struct worker *worker;
    ts_client_id id;
    struct bufferevent *bev;
    channel *ch;
    struct evbuffer_iovec reserved; /* the sink's pending reservation */

    _Atomic int state;            /* enum conn_state; read by status */
    bool admitted;                /* counted by admission */
    bool free_pending;            /* drop at the next settle */
    bool write_shut;              /* FIN sent */
    bool tls;                     /* over a TLS listener */
    uint16_t reject_reason;       /* refuse in the hello with this */

    struct sockaddr_storage addr;
    char peer[64];                /* "address:port" */
    uint64_t connected_at_ms;     /* wall clock */
    uint64_t deadline_ms;         /* handshake or linger deadline (monotonic) */
    uint64_t last_input_ms;       /* any bytes (monotonic) */
    uint64_t last_message_ms;     /* any record (monotonic) */
    uint64_t ready_ms;            /* handshake completed (monotonic) */
    bool ping_outstanding;

    struct ratelimit message_bucket;
    struct ratelimit byte_bucket;
    uint64_t next_seq;            /* ids of server-sent envelopes */

    /* Set once, under the worker lock, when the handshake ends. */
    uint8_t identity[TS_PUBLIC_KEY_LEN];
    char fingerprint[TS_FINGERPRINT_MAX];
    const char *suite;
    const char *tls_version;      /* OpenSSL's static names, or NULL */
    const char *tls_cipher;
    char *tls_cn;                 /* verified client certificate's CN, or NULL */

    _Atomic uint64_t messages_in, messages_out, bytes_in, bytes_out;
    _Atomic uint64_t last_activity_ms; /* wall clock */

    struct session *session;      /* accounts and chat; NULL without a service */
};

/* Take over fd on worker w: returns the connection or NULL (fd closed). */
struct conn *conn_create(struct worker *w, int fd, const struct sockaddr *addr,
                         socklen_t addrlen, uint16_t reject_reason, bool tls);

/* Begin closing with a reason sent to the peer when possible. Safe inside
 * callbacks; idempotent. */
void conn_close(struct conn *c, uint16_t reason, const char *text);

/* Free the connection if it is done; call at the end of every event
 * callback that may have closed it. Returns true if it was freed. */
bool conn_settle(struct conn *c);

/* Periodic check of deadlines and heartbeats. */
void conn_tick(struct conn *c, uint64_t now_ms);

/* Send an encoded envelope. Counts it; a full output queue closes the
 * connection as a slow consumer. */
int conn_send(struct conn *c, const uint8_t *data, size_t len);

/* Free immediately (worker shutdown). */
void conn_destroy(struct conn *c);

/* True once the handshake is done and until closing starts. */
bool conn_is_ready(const struct conn *c);

/* Name of a state for listings. */
const char *conn_state_name(int state);

#endif /* TS_SERVER_CONN_H */
