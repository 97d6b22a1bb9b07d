/*
 * The client side of one connection: a transport, a channel in the
 * initiator role, and the envelopes that travel over it.
 *
 *   client_conn_new()                     configure (identity, pin, limits)
 *   client_conn_open()                    connect, hello, handshake (blocking,
 *                                         within a deadline)
 *   client_conn_send()                    queue an envelope
 *   client_conn_pump()                    I/O until something happens
 *   client_conn_close()                   CLOSE with a reason, hang up
 *   client_conn_free()
 *
 * The server's identity is checked when the handshake proves it, before
 * the client sends its third handshake message: against the pinned
 * fingerprint when one is configured, then through the check_server
 * callback (known servers). A refusal there means the client's own
 * identity never leaves the process.
 *
 * Received envelopes are decoded, checked (hash; signature against the
 * server identity from the handshake; timestamp window) and handed to
 * on_message with the verdict; what to do with a failed check is the
 * caller's decision. A duplicate id on one connection is dropped.
 *
 * Chat envelopes are the exception (docs/protocol.md section 10.2): the
 * server relays them exactly as another user sealed them, with that
 * user's sequence numbers and signature. Only their hash is checked here
 * (the signature belongs to the sender, whose keys the chat layer looks
 * up; the timestamp is the sender's and may be old, for a message that
 * waited for its recipient); they bypass the server's id window and are
 * deduplicated by hash instead (hash_window.h), and reach on_message
 * with relayed set.
 *
 * Driving it from another loop: after client_conn_connect() (which waits
 * for the TCP connection, within its deadline) or client_conn_attach(),
 * poll client_conn_fd() for client_conn_events() and call
 * client_conn_handle() with what poll() returned. Everything is
 * single-threaded and non-blocking there; the blocking helpers (open,
 * pump, flush, close) are built on the same step.
 *
 * Errors are sticky: once the connection failed or closed, every call
 * returns the same code and re-records its detail. A client_conn serves
 * one connection; reconnecting means a new one.
 *
 * Ownership: the identity and the suite names in the configuration are
 * borrowed and must outlive the connection; the pin is copied. Callbacks
 * run inside client_conn_* calls; they may call client_conn_send() but
 * must not free the connection. A client_conn is used by one thread at a
 * time.
 */
#ifndef TS_CLIENT_CONN_H
#define TS_CLIENT_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tcpseal/envelope.h>
#include <tcpseal/identity.h>

#include "net/tls.h"
#include "net/transport.h"

/* Clock difference accepted on received envelopes by default (the
 * server's default window, docs/protocol.md section 5). */
#define CLIENT_DEFAULT_SKEW_MS (5u * 60u * 1000u)
/* How long close waits for the server to hang up after our CLOSE, at
 * most, so the reason is not lost to a reset. */
#define CLIENT_LINGER_MS 500u

typedef struct client_conn client_conn;

enum client_conn_state {
    CLIENT_CONN_NEW,       /* no transport yet */
    CLIENT_CONN_HANDSHAKE, /* hello and Noise handshake in progress */
    CLIENT_CONN_READY,     /* established: envelopes may be sent */
    CLIENT_CONN_CLOSED,    /* closed with a reason, by either side */
    CLIENT_CONN_FAILED,    /* broken by an error */
};

/* One received envelope and what the checks found. */
struct client_message {
    const ts_envelope *env; /* valid during the callback only */
    /* 0 when every check passed, else the first that failed:
     * TS_ERR_BAD_HASH, TS_ERR_BAD_SIGNATURE or TS_ERR_STALE. */
    int verify;
    /* The envelope is signed and the signature verified against the
     * server identity proven in the handshake. */
    bool signature_ok;
    /* A Chat envelope relayed from another user: only its hash was
     * checked (verify is 0 or TS_ERR_BAD_HASH); signature_ok is false. */
    bool relayed;
};

struct client_conn_callbacks {
    void *arg;
    /* The server proved this identity (and it matched the pin, if any).
     * Return 0 to continue the handshake, or an error (TS_ERR_KEY_MISMATCH
     * for a key that differs from the known one) to stop before the client
     * sends anything more. May be NULL. */
    int (*check_server)(void *arg, const uint8_t key[TS_PUBLIC_KEY_LEN],
                        const char *fingerprint);
    /* A received envelope. Return 0, or an error to fail the connection. */
    int (*on_message)(void *arg, const struct client_message *msg);
    /* The server refused us in the hello or sent CLOSE. May be NULL. */
    void (*on_close)(void *arg, uint16_t reason, const char *text);
    /* The server announced a message over max_message; it is skipped.
     * NULL: the connection fails with TS_ERR_TOO_LARGE instead. */
    void (*on_oversize)(void *arg, uint64_t size);
};

struct client_conn_config {
    const ts_identity *identity;    /* required; borrowed */
    /* Expected server fingerprint ("SHA256:..."), or NULL to rely on
     * check_server alone. */
    const char *server_fingerprint;
    size_t max_message;  /* largest message accepted; 0 = TS_MAX_MESSAGE_LIMIT */
    size_t max_output;   /* queued output limit; 0 = room for one largest message */
    uint64_t max_skew_ms;/* timestamp window; 0 = CLIENT_DEFAULT_SKEW_MS */
    const char *const *suites; /* offered, in order (borrowed); NULL = defaults */
    size_t n_suites;
    /* TLS around the connection (net/tls.h): the context with its CA,
     * client certificate, pin and versions, borrowed (it must outlive the
     * connection); NULL = plain TCP. The channel runs inside it unchanged. */
    const tls_client_ctx *tls;
};

/*
 * Create a connection object (no I/O yet): makes a fresh Noise static key
 * bound to the identity. 0, TS_ERR_INVALID (no identity, malformed pin),
 * TS_ERR_UNSUPPORTED (a suite), TS_ERR_CRYPTO or TS_ERR_NOMEM.
 */
int client_conn_new(client_conn **out, const struct client_conn_config *cfg,
                    const struct client_conn_callbacks *cb);

/*
 * Connect over TCP (tcp_connect(): every address of host, within
 * deadline_ms on the monotonic clock, 0 = none), start TLS when the
 * configuration has a context (host is then the name the server's
 * certificate is checked against, unless the context names another), and
 * send the ClientHello. Waits for neither handshake: the TLS one goes on
 * in the same steps as the channel's, with the ClientHello queued until
 * it is done. Errors: those of tcp_connect() (TS_ERR_CONNECT,
 * TS_ERR_TIMEOUT, ...) and of tls_transport_start(); TS_ERR_STATE when
 * already connected. client_conn_os_error() then gives the errno, if any.
 */
int client_conn_connect(client_conn *c, const char *host, uint16_t port,
                        uint64_t deadline_ms);

/*
 * Use an already connected transport (taken over in every case; its peer
 * name is used in messages) and send the ClientHello. 0, TS_ERR_STATE
 * (already connected) or the connection's error.
 */
int client_conn_attach(client_conn *c, struct transport *t);

/*
 * Connect and complete the handshake before deadline_ms. Errors:
 *   TS_ERR_CONNECT, TS_ERR_TIMEOUT   as client_conn_connect(), or the
 *                                    handshake did not finish in time;
 *   TS_ERR_TLS                       a TLS check failed (unknown CA,
 *                                    hostname mismatch, expired
 *                                    certificate, pin mismatch, client
 *                                    certificate required: net/tls.h);
 *   TS_ERR_REJECTED                  the server refused in its hello
 *                                    (client_conn_peer_reason() says why);
 *   TS_ERR_KEY_MISMATCH              the server identity differs from the
 *                                    pin or check_server refused it;
 *   TS_ERR_CLOSED                    the server hung up;
 *   TS_ERR_HANDSHAKE, TS_ERR_IDENTITY, TS_ERR_PROTOCOL, TS_ERR_VERSION,
 *   TS_ERR_UNSUPPORTED, TS_ERR_IO    the handshake failed.
 */
int client_conn_open(client_conn *c, const char *host, uint16_t port,
                     uint64_t deadline_ms);

/*
 * Queue a sealed envelope (encoded, then sent as one record) and write as
 * much as the socket takes now; pump or flush sends the rest. Errors:
 * TS_ERR_STATE (not established), TS_ERR_LIMIT (output queue full;
 * nothing was queued), TS_ERR_TOO_LARGE, the sticky error, or
 * ts_envelope_encode()'s errors.
 */
int client_conn_send(client_conn *c, const ts_envelope *env);

/*
 * Queue a PING (the server answers with a PONG, which counts as input)
 * and write what the socket takes now. Errors: TS_ERR_STATE (not
 * established), TS_ERR_LIMIT (output queue full), the sticky error.
 */
int client_conn_ping(client_conn *c);

/* Monotonic time (util/clock.h) bytes last arrived from the server, or
 * when the connection was made; 0 before. Heartbeats compare it with
 * now. */
uint64_t client_conn_last_input_ms(const client_conn *c);

/* Rekeys sent and received on this connection. */
uint64_t client_conn_rekeys(const client_conn *c);

/*
 * Read, write and process until an event: the handshake completed, or at
 * least one envelope went to on_message. Returns 0 after an event,
 * TS_ERR_TIMEOUT when deadline_ms passes first (not sticky: pump again
 * with a new deadline), TS_ERR_CLOSED / TS_ERR_REJECTED when the server
 * closed or refused (reason from client_conn_peer_reason()), or the
 * connection's error.
 */
int client_conn_pump(client_conn *c, uint64_t deadline_ms);

/* Write all queued output before deadline_ms, processing input meanwhile
 * (events may fire). 0, TS_ERR_TIMEOUT or the connection's error. */
int client_conn_flush(client_conn *c, uint64_t deadline_ms);

/*
 * Close: when established, send CLOSE with reason and text (NULL = the
 * reason's standard text) after whatever is still queued, end our
 * direction and wait for the server to hang up, so the reason is not lost
 * to a reset; all of it within CLIENT_LINGER_MS and deadline_ms (0 =
 * none). Then release the socket. Afterwards the state is CLOSED (or stays
 * FAILED). 0, or why the CLOSE could not be delivered (TS_ERR_TIMEOUT,
 * TS_ERR_IO, ...); the socket is released in every case.
 */
int client_conn_close(client_conn *c, uint16_t reason, const char *text,
                      uint64_t deadline_ms);

/* One non-blocking step for an external poll loop: revents are the events
 * poll() returned for client_conn_fd(). 0 or the connection's error
 * (TS_ERR_CLOSED / TS_ERR_REJECTED after the server closed). */
int client_conn_handle(client_conn *c, short revents);

/* The socket to poll, or -1 without a transport. */
int client_conn_fd(const client_conn *c);

/* The poll() events to wait for now (0 without a transport). */
short client_conn_events(const client_conn *c);

/* True when output is queued and not yet written. */
bool client_conn_output_pending(const client_conn *c);

/* True when input can be processed without waiting for the socket
 * (a transport holding buffered bytes): call client_conn_handle() with
 * POLLIN without polling. */
bool client_conn_input_pending(const client_conn *c);

enum client_conn_state client_conn_state(const client_conn *c);

/* The reason the server gave (hello rejection or CLOSE), with its text in
 * *text (may be NULL); 0 (TS_REASON_NONE, text "") when it gave none. */
uint16_t client_conn_peer_reason(const client_conn *c, const char **text);

/* The server identity key proven in the handshake, or NULL before. */
const uint8_t *client_conn_server_key(const client_conn *c);

/* Its fingerprint, or "" before the handshake proved it. */
const char *client_conn_server_fingerprint(const client_conn *c);

/* The server as "host:port" (net_hostport_format), "" before connecting. */
const char *client_conn_peer(const client_conn *c);

/* The negotiated Noise protocol name, or NULL before the hello answer. */
const char *client_conn_suite(const client_conn *c);

/* errno of the last failed connect attempt, or 0. */
int client_conn_os_error(const client_conn *c);

/* Close the socket without a CLOSE frame, wipe keys and free. NULL is
 * ignored. */
void client_conn_free(client_conn *c);

#endif /* TS_CLIENT_CONN_H */
