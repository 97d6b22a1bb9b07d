/*
 * The tcpseal client library.
 *
 * A ts_client keeps a secure session with one server: it connects, proves
 * its identity, checks the server's (pinned fingerprint or known-servers
 * file), and exchanges envelopes. Messages to send enter an outbox and
 * leave it only when the server answers; after a lost connection the
 * client reconnects with exponential backoff and jitter and sends again
 * what was not answered, with the original sequence numbers, so the
 * server can recognise a repeat and answer it with the original result.
 * With an outbox file the outbox survives a crash of the program.
 *
 *     ts_client_config cfg;
 *     ts_client_config_init(&cfg);
 *     cfg.host = "localhost"; cfg.port = 8080; cfg.identity = id;
 *     ts_client_new(&c, &cfg);
 *     ts_client_connect(c, 5000);
 *     ts_client_request(c, "hi", 2, 0, 5000, &response);   // blocking
 *     ts_client_listen_start(c);   // background thread: callbacks, reconnects
 *
 * Threads. Without listening, the calling thread drives the connection
 * inside the blocking calls (connect, request). Between
 * ts_client_listen_start() and ts_client_listen_stop() a background thread
 * owns the connection and runs every callback; all ts_client_* calls may
 * then be made from any thread (they hand work to that thread and, for
 * blocking calls, wait for it). Callbacks must not call the blocking
 * functions (connect, request, listen_stop, free): they would wait on
 * their own thread; ts_client_send() and the queries are fine.
 *
 * Ownership: the identity and the strings of the configuration are
 * borrowed until ts_client_free(). Envelopes handed to callbacks are valid
 * during the call; those returned through an out-parameter belong to the
 * caller (ts_envelope_free()).
 */
#ifndef TCPSEAL_CLIENT_H
#define TCPSEAL_CLIENT_H

#include <stdbool.h>

#include <tcpseal/common.h>
#include <tcpseal/envelope.h>
#include <tcpseal/error.h>
#include <tcpseal/identity.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ts_client ts_client;

typedef enum ts_client_state {
    TS_CLIENT_IDLE = 0,         /* never connected, or stopped */
    TS_CLIENT_CONNECTING = 1,   /* first connection in progress */
    TS_CLIENT_CONNECTED = 2,    /* session up */
    TS_CLIENT_RECONNECTING = 3, /* lost; waiting for the next attempt */
    TS_CLIENT_CLOSED = 4,       /* closed for good (shutdown, or refused) */
} ts_client_state;

/* Name of a state ("connected", ...). */
TS_API const char *ts_client_state_name(ts_client_state state);

typedef struct ts_client_config {
    const char *host;                 /* "localhost" */
    uint16_t port;                    /* 8080 */
    const ts_identity *identity;      /* required */
    /* Server identity: a pinned fingerprint, or a known-servers file
     * (trust on first use, a changed key refused); at least one of them
     * should be set, or any server is accepted. */
    const char *server_key;
    const char *known_servers_path;
    /* Outbox and inbox file (SQLite); NULL keeps them in memory only. */
    const char *store_path;
    /* Sequence file shared with other programs of this identity (so ids
     * never repeat); NULL numbers from the outbox alone. */
    const char *sequence_path;
    uint32_t connect_timeout_ms;      /* per attempt; 10000 */
    uint32_t heartbeat_ms;            /* ping when silent this long; 15000; 0 = off */
    bool reconnect;                   /* true: reconnect while listening */
    uint32_t reconnect_initial_ms;    /* first delay; 500 */
    uint32_t reconnect_max_ms;        /* delay cap; 30000 */
    size_t max_message;               /* 1 MiB */
    size_t inbox_limit;               /* messages kept in the inbox; 1000 */
} ts_client_config;

/* Defaults as documented above. */
TS_API void ts_client_config_init(ts_client_config *cfg);

/* Create a client; opens the store file when configured (and loads its
 * outbox). 0, TS_ERR_CONFIG, TS_ERR_IO or TS_ERR_NOMEM. */
TS_API int ts_client_new(ts_client **out, const ts_client_config *cfg);

/*
 * Connect and complete the handshake within timeout_ms, on the calling
 * thread (or, while listening, by asking the loop and waiting). Errors:
 * TS_ERR_CONNECT, TS_ERR_TIMEOUT, TS_ERR_REJECTED (server full, limits:
 * ts_client_last_error() has the server's reason), TS_ERR_KEY_MISMATCH,
 * TS_ERR_HANDSHAKE and other handshake failures.
 */
TS_API int ts_client_connect(ts_client *c, uint32_t timeout_ms);

/* Flags for sending. */
#define TS_SEND_SIGN 0x1u  /* sign the request with the identity */

/* Completion of an asynchronous send: status 0 with the Response, or
 * TS_ERR_SERVER with the server's Error envelope, or TS_ERR_CLOSED when
 * the client shut down first. */
typedef void (*ts_send_callback)(ts_client *c, uint64_t id, int status,
                                 const ts_envelope *answer, void *arg);

/*
 * Queue a Request (payload copied; content type text/plain) in the outbox
 * and send it when connected. *id receives its sequence number. The
 * callback (may be NULL) runs when the answer arrives. 0, TS_ERR_TOO_LARGE,
 * TS_ERR_IO (outbox file) or TS_ERR_NOMEM. With an outbox file the message
 * is on disk when this returns.
 */
TS_API int ts_client_send(ts_client *c, const void *payload, size_t len,
                          unsigned flags, ts_send_callback cb, void *arg,
                          uint64_t *id);

/*
 * Send and wait for the answer up to timeout_ms. *answer (caller frees)
 * receives the Response (return 0) or the Error envelope (return
 * TS_ERR_SERVER). TS_ERR_TIMEOUT when no answer came in time (the message
 * stays in the outbox and is still delivered later).
 */
TS_API int ts_client_request(ts_client *c, const void *payload, size_t len,
                             unsigned flags, uint32_t timeout_ms,
                             ts_envelope **answer);

/* A message that is not the answer to a send (server notices, chat):
 * the envelope, and whether it is signed and verified against the server
 * identity. */
typedef void (*ts_message_callback)(ts_client *c, const ts_envelope *msg,
                                    bool verified, void *arg);

/* Something went wrong that the caller should hear about (a failed
 * reconnect, a refused message); the client goes on. */
typedef void (*ts_error_callback)(ts_client *c, int err, const char *detail,
                                  void *arg);

/* The state changed; reason says why (e.g. "server closed: server
 * shutting down"), or is "". */
typedef void (*ts_state_callback)(ts_client *c, ts_client_state state,
                                  const char *reason, void *arg);

/* Set callbacks; call before ts_client_listen_start(). Any may be NULL. */
TS_API void ts_client_set_message_callback(ts_client *c, ts_message_callback cb, void *arg);
TS_API void ts_client_set_error_callback(ts_client *c, ts_error_callback cb, void *arg);
TS_API void ts_client_set_state_callback(ts_client *c, ts_state_callback cb, void *arg);

/* Start the background thread: it connects (if needed), sends the outbox,
 * runs callbacks, sends heartbeats, and reconnects when configured. */
TS_API int ts_client_listen_start(ts_client *c);

/* Stop the background thread (the connection stays as it is). */
TS_API int ts_client_listen_stop(ts_client *c);

/* True when the session is up. */
TS_API bool ts_client_is_connected(ts_client *c);

typedef struct ts_client_status {
    ts_client_state state;
    char server[128];                      /* "host:port" */
    char server_fingerprint[TS_FINGERPRINT_MAX]; /* "" before the first handshake */
    char fingerprint[TS_FINGERPRINT_MAX];  /* ours */
    char last_error[256];                  /* why the last attempt failed, or "" */
    uint64_t connected_since_ms;           /* wall clock; 0 when not connected */
    uint64_t next_attempt_ms;              /* wall clock; 0 unless reconnecting */
    uint64_t reconnects;                   /* successful reconnections */
    uint64_t rekeys;                       /* rekeys sent + received this session */
    uint64_t messages_in, messages_out;
    size_t outbox;                         /* waiting for an answer */
    size_t inbox;                          /* kept in the inbox */
} ts_client_status;

/* A consistent snapshot. */
TS_API int ts_client_get_status(ts_client *c, ts_client_status *out);

/* The detail of the last failure (connect, reconnect, send), or "". */
TS_API const char *ts_client_last_error(ts_client *c);

/* The inbox: answers and server messages, oldest first, up to max; each
 * copied into *out (an array the caller frees with ts_client_inbox_free). */
TS_API int ts_client_inbox(ts_client *c, size_t max, ts_envelope ***out, size_t *n);
TS_API void ts_client_inbox_free(ts_envelope **list, size_t n);

/* Close the session with a reason (sent to the server) and stop
 * reconnecting; the outbox is kept. 0 or TS_ERR_CLOSED. */
TS_API int ts_client_shutdown(ts_client *c);

/* Shut down, stop listening, free. NULL is ignored. */
TS_API void ts_client_free(ts_client *c);

#ifdef __cplusplus
}
#endif

#endif /* TCPSEAL_CLIENT_H */
