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
 * inside the blocking calls (connect, request, shutdown); messages queued
 * with ts_client_send() go out during the next of them. Between
 * ts_client_listen_start() and ts_client_listen_stop() a background thread
 * owns the connection and runs every callback; all ts_client_* calls may
 * then be made from any thread (they hand work to that thread and, for
 * blocking calls, wait for it). Without listening, blocking calls from
 * several threads are allowed too: one drives while the others wait.
 * Callbacks must not call the blocking functions (connect, request,
 * listen_start, listen_stop, free): they would wait on their own thread,
 * so connect, request and listen_* refuse with TS_ERR_STATE there.
 * ts_client_send(), ts_client_shutdown() (which then only asks) and the
 * queries are fine. Each function below says which thread may call it.
 *
 * Reconnecting. A lost session is followed, while the loop runs
 * (listening, or inside a blocking call) and reconnect is set, by new
 * attempts after delays drawn from [0, min(max, initial * 2^n)] (full
 * jitter; n counts failed attempts since the last session). Every attempt
 * is a fresh connection and handshake under the same server key rules: a
 * server presenting another key is refused, reported (state callback,
 * error callback, last_error) and tried again later, since the real
 * server may come back.
 *
 * Checks. Every envelope received is checked (hash, signature against the
 * server identity proven in the handshake, timestamp window); one whose
 * hash or signature fails is dropped and reported through the error
 * callback. What reaches callbacks and the inbox is therefore verified
 * whenever it is signed. A timestamp outside the window is reported but
 * the envelope is still delivered (the channel proved who sent it).
 * Chat envelopes relayed from other users are the exception: only their
 * hash is checked, they are told apart by their hash rather than their
 * id, and their signature is left to the receiver's chat logic (see
 * ts_message_callback).
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

/* Name of a state ("connected", ...). Any thread. */
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
     * never repeat); NULL: the client numbers by itself, above the last id
     * it used (kept in the store file) and never below the current time in
     * microseconds. */
    const char *sequence_path;
    uint32_t connect_timeout_ms;      /* per attempt; 10000 */
    /* A server silent this long is taken for dead and the connection
     * dropped; a ping goes out after half of it. 15000; 0 = off; else at
     * least 100. */
    uint32_t heartbeat_ms;
    bool reconnect;                   /* true: reconnect after a loss (see above) */
    uint32_t reconnect_initial_ms;    /* first delay; 500 */
    uint32_t reconnect_max_ms;        /* delay cap; 30000 */
    size_t max_message;               /* 1 MiB */
    size_t inbox_limit;               /* messages kept in the inbox; 1000 */
    /* TLS around the connection, for a server's TLS listener
     * (docs/tls.md). The channel inside and its server key rules stay as
     * they are: TLS adds checks, it replaces none. ts_client_new() loads
     * the files, so a missing or bad one fails there (TS_ERR_CONFIG). An
     * attempt whose TLS check fails ends with TS_ERR_TLS and a detail
     * naming the check: unknown CA, hostname mismatch, expired
     * certificate, pin mismatch, or a server that requires a client
     * certificate. */
    bool tls;                         /* false: plain TCP */
    /* PEM file of trusted CA certificates, or a directory of them named
     * by hash (`openssl rehash`); NULL = the system's trusted CAs. */
    const char *tls_ca;
    /* Client certificate chain (PEM, leaf first) and its unencrypted
     * private key, for servers that require one (mutual TLS): both or
     * neither. */
    const char *tls_cert;
    const char *tls_key;
    /* The name sent as SNI and checked against the server's certificate;
     * NULL = host (an IP address is checked against IP subjectAltNames). */
    const char *tls_server_name;
    /* "sha256//BASE64": the SHA-256 of the server certificate's public
     * key (SPKI), checked in addition to the chain; NULL = none. */
    const char *tls_pin;
    /* Oldest TLS version accepted: 0x0304 (TLS 1.3) or 0x0303 (TLS 1.2);
     * 0 = TLS 1.3. */
    int tls_min_version;
} ts_client_config;

/* Most messages and payload bytes the outbox holds; ts_client_send()
 * refuses more with TS_ERR_LIMIT. */
#define TS_CLIENT_OUTBOX_MAX 10000
#define TS_CLIENT_OUTBOX_MAX_BYTES (256u * 1024u * 1024u)
/* Content type of the Requests sent. */
#define TS_CLIENT_CONTENT_TYPE "text/plain; charset=utf-8"

/* Defaults as documented above. Any thread. */
TS_API void ts_client_config_init(ts_client_config *cfg);

/* Create a client; opens the store file when configured (and loads its
 * outbox: those messages are sent again once connected, with their ids).
 * No I/O on the network, no thread yet. One client per store file: a
 * second one on the same file fails with TS_ERR_IO. 0, TS_ERR_CONFIG,
 * TS_ERR_IO or TS_ERR_NOMEM. Any thread. */
TS_API int ts_client_new(ts_client **out, const ts_client_config *cfg);

/*
 * Connect and complete the handshake within timeout_ms, on the calling
 * thread (or, while listening, by asking the loop and waiting). One
 * attempt, made at once; 0 at once when the session is up already. After
 * a failure the client goes on trying in the background only while
 * listening with reconnect set. Errors: TS_ERR_CONNECT, TS_ERR_TIMEOUT,
 * TS_ERR_REJECTED (server full, limits: ts_client_last_error() has the
 * server's reason), TS_ERR_KEY_MISMATCH, TS_ERR_TLS (a TLS check failed:
 * ts_client_last_error() says which), TS_ERR_HANDSHAKE and other
 * handshake failures; TS_ERR_STATE from a callback. Any thread, blocking.
 */
TS_API int ts_client_connect(ts_client *c, uint32_t timeout_ms);

/* Flags for sending. */
#define TS_SEND_SIGN 0x1u  /* sign the request with the identity */
/* Keep the message in memory only, never in the store file: for
 * Commands that carry a password. It is still sent again after a
 * reconnect, but not after the program restarts. Its answer goes to its
 * callback or waiter only, not to the inbox. */
#define TS_SEND_VOLATILE 0x2u
/* Send before the messages already queued (a Command that sets up the
 * session, such as rejoining rooms after a reconnect, must reach the
 * server before the Chat messages that depend on it). */
#define TS_SEND_FIRST 0x4u

/* A message to send (docs/protocol.md sections 6.2 and 10): its type and
 * the envelope fields; strings are copied, NULL means the default. */
typedef struct ts_client_outgoing {
    ts_msg_type type;          /* TS_MSG_REQUEST, TS_MSG_COMMAND or TS_MSG_CHAT */
    const char *sender;        /* NULL: this client's fingerprint; a Chat names the
                                * logged-in user */
    const char *recipient;     /* NULL: none; a Chat: "#room" or a user name */
    const char *content_type;  /* NULL: TS_CLIENT_CONTENT_TYPE */
    const void *payload;
    size_t len;
    unsigned flags;            /* TS_SEND_SIGN, TS_SEND_VOLATILE, TS_SEND_FIRST */
} ts_client_outgoing;

/* Completion of an asynchronous send: status 0 with the Response (or an
 * Ack), or TS_ERR_SERVER with the server's Error envelope, or
 * TS_ERR_CLOSED (answer NULL) when the client shut down first; the
 * message then stays in the outbox, and an answer that comes after a later
 * connect goes to the message callback. Runs on the thread driving the
 * client. */
typedef void (*ts_send_callback)(ts_client *c, uint64_t id, int status,
                                 const ts_envelope *answer, void *arg);

/*
 * Queue a Request (payload copied; content type TS_CLIENT_CONTENT_TYPE;
 * signed with the identity when flags has TS_SEND_SIGN) in the outbox and
 * send it when connected. *id receives its sequence number (may be
 * NULL). The callback (may be NULL) runs when the answer arrives. Each
 * send attempt seals the message anew with the current time, under the
 * same id. 0, TS_ERR_TOO_LARGE, TS_ERR_LIMIT (outbox full), TS_ERR_IO
 * (outbox or sequence file) or TS_ERR_NOMEM. With an outbox file the
 * message is on disk when this returns. Any thread, callbacks included;
 * does not wait for the network.
 */
TS_API int ts_client_send(ts_client *c, const void *payload, size_t len,
                          unsigned flags, ts_send_callback cb, void *arg,
                          uint64_t *id);

/*
 * Like ts_client_send() for any message ts_client_outgoing describes: a
 * Command is answered with a Response (or an Error), a Chat with an Ack
 * (or an Error). The strings must be valid UTF-8 of at most 255 bytes
 * (TS_ERR_INVALID otherwise, checked here rather than at each attempt).
 * Any thread, callbacks included.
 */
TS_API int ts_client_send_message(ts_client *c, const ts_client_outgoing *m,
                                  ts_send_callback cb, void *arg, uint64_t *id);

/* Like ts_client_request() for any message: blocking, the answer (a
 * Response, an Ack or an Error) in *answer. Any thread, blocking. */
TS_API int ts_client_request_message(ts_client *c, const ts_client_outgoing *m,
                                     uint32_t timeout_ms, ts_envelope **answer);

/*
 * Send and wait for the answer up to timeout_ms (0: no limit), connecting
 * first when there is no session. *answer (caller frees) receives the Response
 * (return 0) or the Error envelope (return TS_ERR_SERVER).
 * TS_ERR_TIMEOUT when no answer came in time (the message stays in the
 * outbox and is still delivered later; its answer then goes to the
 * message callback), TS_ERR_CLOSED when ts_client_shutdown() came first,
 * TS_ERR_STATE from a callback, or ts_client_send()'s errors. Any thread,
 * blocking.
 */
TS_API int ts_client_request(ts_client *c, const void *payload, size_t len,
                             unsigned flags, uint32_t timeout_ms,
                             ts_envelope **answer);

/* A message that is not the answer to a waiting send (server notices,
 * chat, answers to messages loaded from the outbox file or whose sender
 * stopped waiting): the envelope, and whether it is signed and verified
 * against the server identity. A Chat envelope relayed from another user
 * carries that user's signature, which the client does not check
 * (verified is false; its hash is checked): the sender's keys come from
 * the server's `whois` command (docs/protocol.md section 10.2). Runs on
 * the thread driving the client. */
typedef void (*ts_message_callback)(ts_client *c, const ts_envelope *msg,
                                    bool verified, void *arg);

/* Something went wrong that the caller should hear about (a failed
 * reconnect, a dropped envelope, an Error the server sent about no
 * particular message); the client goes on. Runs on the thread driving
 * the client. */
typedef void (*ts_error_callback)(ts_client *c, int err, const char *detail,
                                  void *arg);

/* The state changed; reason says why (e.g. "localhost:8080 closed the
 * connection: server shutting down (server_shutdown)"), or is "". Also
 * called after each failed attempt while reconnecting, with why it
 * failed. Runs on the thread driving the client. */
typedef void (*ts_state_callback)(ts_client *c, ts_client_state state,
                                  const char *reason, void *arg);

/* Set callbacks; any may be NULL. Call them before the first connect or
 * ts_client_listen_start(), from the thread that made the client. */
TS_API void ts_client_set_message_callback(ts_client *c, ts_message_callback cb, void *arg);
TS_API void ts_client_set_error_callback(ts_client *c, ts_error_callback cb, void *arg);
TS_API void ts_client_set_state_callback(ts_client *c, ts_state_callback cb, void *arg);

/* Start the background thread: it connects (if needed: the first
 * attempt at once, then as reconnecting), sends the outbox, runs
 * callbacks, sends heartbeats, and reconnects when configured. Waits for
 * a blocking call running on another thread to hand over. 0,
 * TS_ERR_STATE (already listening, or from a callback), TS_ERR_NOMEM.
 * Any thread. */
TS_API int ts_client_listen_start(ts_client *c);

/* Stop the background thread and wait for it (the connection stays as it
 * is; blocking calls drive it again). 0, or TS_ERR_STATE when not
 * listening or called from a callback. Any thread but the loop's. */
TS_API int ts_client_listen_stop(ts_client *c);

/* True when the session is up. Any thread. */
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
    size_t in_flight;                      /* of those, sent on this session */
    size_t inbox;                          /* kept in the inbox */
} ts_client_status;

/* A consistent snapshot. 0. Any thread. */
TS_API int ts_client_get_status(ts_client *c, ts_client_status *out);

/* The detail of the last failure (connect, reconnect, send), or "". The
 * string is the calling thread's copy, valid until its next call of this
 * function. Any thread. */
TS_API const char *ts_client_last_error(ts_client *c);

/* The inbox: answers and server messages as they arrived; the newest max
 * of them, oldest first, each copied into *out (an array the caller frees
 * with ts_client_inbox_free; NULL with *n 0 when empty). The inbox keeps
 * inbox_limit messages, dropping the oldest; with a store file it
 * survives restarts. 0, TS_ERR_IO or TS_ERR_NOMEM. Any thread. */
TS_API int ts_client_inbox(ts_client *c, size_t max, ts_envelope ***out, size_t *n);
TS_API void ts_client_inbox_free(ts_envelope **list, size_t n);

/* Close the session with a reason (TS_REASON_CLIENT_EXIT, sent to the
 * server) and stop reconnecting; the outbox is kept, waiting sends get
 * TS_ERR_CLOSED. A later connect or listen_start starts again. 0, or
 * TS_ERR_CLOSED when already shut down. Any thread, blocking until done;
 * from a callback it only asks, and the loop closes after the callback. */
TS_API int ts_client_shutdown(ts_client *c);

/* Shut down, stop listening, free. NULL is ignored. Not from a callback;
 * no other call on c may be running or follow. */
TS_API void ts_client_free(ts_client *c);

#ifdef __cplusplus
}
#endif

#endif /* TCPSEAL_CLIENT_H */
