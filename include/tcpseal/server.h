/*
 * The tcpseal server library.
 *
 * A server listens on TCP, runs one event loop per worker thread (each
 * connection belongs to one worker for its whole life), completes the
 * hello and Noise handshake with every client, verifies each message and
 * hands Requests to a handler. The handler answers with ts_server_reply()
 * or ts_server_reply_error(); other code may push messages to a client with
 * ts_server_send_notice() or disconnect it with ts_server_close_client().
 *
 *     ts_server_config cfg;
 *     ts_server_config_init(&cfg);
 *     cfg.port = 9000;
 *     ts_server_new(&srv, &cfg, identity);
 *     ts_server_set_handler(srv, my_handler, my_state);
 *     ts_server_run(srv);            // blocks until ts_server_shutdown()
 *
 * Threads: the handler runs on the worker thread that owns the client.
 * Every ts_server_* function not marked otherwise is thread-safe; calls
 * aimed at a client owned by another thread are queued to it.
 *
 * Ownership: the server borrows the identity and the strings in the config
 * until ts_server_free(). Envelopes passed to handlers belong to the server
 * and are valid only during the call.
 */
#ifndef TCPSEAL_SERVER_H
#define TCPSEAL_SERVER_H

#include <stdbool.h>

#include <tcpseal/common.h>
#include <tcpseal/envelope.h>
#include <tcpseal/error.h>
#include <tcpseal/identity.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ts_server ts_server;

/* Identifies a connection for the life of the server; never reused. */
typedef uint64_t ts_client_id;

/* Client certificate verification of a TLS listener. */
typedef enum ts_tls_verify {
    TS_TLS_VERIFY_NONE = 0,     /* no client certificate asked for */
    TS_TLS_VERIFY_OPTIONAL = 1, /* asked for; checked when given */
    TS_TLS_VERIFY_REQUIRED = 2, /* a valid one is required */
} ts_tls_verify;

/* Built-in Request handlers, selectable from configuration. */
typedef enum ts_builtin_handler {
    TS_HANDLER_ECHO = 0, /* answer with the request's payload */
    TS_HANDLER_ACK = 1,  /* answer "ack <hash hex>" naming the request */
} ts_builtin_handler;

typedef struct ts_server_config {
    const char *host;              /* name or address to listen on; "localhost" */
    uint16_t port;                 /* 8080; 0 picks a free port (ts_server_port) */
    unsigned workers;              /* event-loop threads; 0 = one per core */

    /* Admission: refused in the hello, before any cryptographic work. */
    unsigned max_clients;          /* concurrent connections; 10000; 0 = no limit */
    unsigned max_per_address;      /* per remote IP; 0 = no limit */
    unsigned connect_rate;         /* new connections per second per IP; 0 = no limit */

    /* Timers, in milliseconds; 0 disables. */
    uint32_t handshake_timeout_ms; /* hello + handshake must finish in; 10000 */
    uint32_t heartbeat_ms;         /* ping a silent client after; 15000 */
    uint32_t idle_timeout_ms;      /* close after no message or client ping for; 300000 */

    /* Per-connection limits. */
    size_t max_message;            /* largest message; 1 MiB */
    uint32_t message_rate;         /* messages per second; 0 = no limit */
    uint32_t message_burst;        /* bucket size; 0 = message_rate */
    uint64_t byte_rate;            /* message bytes per second; 0 = no limit */
    uint64_t byte_burst;           /* bucket size; 0 = max(byte_rate, max_message) */
    size_t max_output;             /* queued output before a slow reader is cut; 8 MiB */

    /* Message checks. */
    uint64_t timestamp_skew_ms;    /* accepted clock difference; 300000; 0 = off */
    bool sign_responses;           /* sign every Response, not only signed requests' */
    ts_builtin_handler handler;    /* used until ts_server_set_handler() */

    /* Channel. */
    uint64_t rekey_after_frames;   /* 0 = 1,000,000 */
    uint64_t rekey_after_ms;       /* 0 = one hour */

    /* UNIX socket (created 0600) answering the `tcp_server` control
     * commands: status, connections, stop, kick, send. NULL = none. */
    const char *control_socket;

    /* Accounts, chat and history (docs/chat.md). Without a store the
     * server answers Requests only. */
    const char *store_path;        /* SQLite file; NULL = none */
    bool store_sync_normal;        /* false: fsync every commit (synchronous=FULL) */
    bool allow_anonymous;          /* keys bound to no account may send Requests; true */
    bool open_registration;        /* anyone may register; true (false: operators add users) */
    unsigned min_password_length;  /* 8 */
    unsigned password_opslimit;    /* Argon2id passes; 2 */
    size_t password_memlimit;      /* Argon2id memory in bytes; 64 MiB */
    unsigned login_max_failures;   /* failures that lock an account name out; 5 */
    uint32_t login_lockout_ms;     /* for how long; 15 minutes */
    uint32_t auth_timeout_ms;      /* without allow_anonymous: log in within; 30000 */
    unsigned history_on_join;      /* room messages sent on join; 50 */

    /* TLS around the same protocol (docs/tls.md): a TLS listener on
     * tls_port beside the plain one on port, or alone with no_plain. */
    bool tls_enabled;
    uint16_t tls_port;             /* 8443; 0 picks a free port */
    bool no_plain;                 /* no plain listener */
    const char *tls_cert_file;     /* certificate chain, PEM */
    const char *tls_key_file;      /* its private key, PEM */
    const char *tls_ca;            /* CA file or directory for client certificates */
    ts_tls_verify tls_verify_client; /* none */
    int tls_min_version;           /* 0x0304 (TLS 1.3); 0x0303 allows TLS 1.2 */
    const char *tls_ciphersuites;  /* TLS 1.3 suites; NULL = AEAD suites */
    const char *tls_cipher_list;   /* TLS 1.2 ciphers; NULL = ECDHE with AEAD only */
    bool tls_session_tickets;      /* true */
    /* With client certificates: log the connection in as the account whose
     * name is the certificate subject's common name. */
    bool tls_map_cn;
} ts_server_config;

/* Fill cfg with the defaults documented above. */
TS_API void ts_server_config_init(ts_server_config *cfg);

/* Check a configuration: 0 or TS_ERR_CONFIG with a detail naming the
 * offending setting. */
TS_API int ts_server_config_check(const ts_server_config *cfg);

/*
 * Create a server (nothing is bound yet). identity signs the handshake and
 * responses; it must outlive the server. 0, TS_ERR_CONFIG or TS_ERR_NOMEM.
 */
TS_API int ts_server_new(ts_server **out, const ts_server_config *cfg,
                         const ts_identity *identity);

/*
 * Called for every verified Request (hash checked, signature checked when
 * present, timestamp in the window, not a duplicate). Answer with
 * ts_server_reply() or ts_server_reply_error(), now or later from any
 * thread. Runs on the client's worker thread: it must not block.
 */
typedef void (*ts_request_handler)(ts_server *srv, ts_client_id client,
                                   const ts_envelope *request, void *arg);

/* Replace the built-in handler. Call before starting. */
TS_API void ts_server_set_handler(ts_server *srv, ts_request_handler handler,
                                  void *arg);

/*
 * Bind the listening sockets. Separate from running so a program can
 * report "address in use" (or daemonise) before serving. 0, TS_ERR_IO
 * (detail: address and reason) or TS_ERR_CONFIG (host does not resolve).
 */
TS_API int ts_server_bind(ts_server *srv);

/* The bound port (useful after binding port 0), or 0 before binding. */
TS_API uint16_t ts_server_port(const ts_server *srv);

/* The bound TLS port, or 0 without a TLS listener. */
TS_API uint16_t ts_server_tls_port(const ts_server *srv);

/* Serve on the calling thread until ts_server_shutdown(). Binds first if
 * needed. 0 after a clean shutdown, or an error. */
TS_API int ts_server_run(ts_server *srv);

/* Serve on a background thread; returns once listening. */
TS_API int ts_server_start(ts_server *srv);

/*
 * Graceful stop: stop accepting, close every client with reason "server
 * shutting down", let queued output drain (at most grace_ms), then make
 * ts_server_run() return. Does not wait: pair it with ts_server_wait()
 * after ts_server_start(). Safe from any thread, including a handler or a
 * signal-handling thread; calling it again forces an immediate stop.
 */
TS_API int ts_server_shutdown(ts_server *srv, uint32_t grace_ms);

/* Block until a server started with ts_server_start() has stopped.
 * TS_ERR_STATE when it was not started that way. */
TS_API int ts_server_wait(ts_server *srv);

/* Free a server; one still running from ts_server_start() is shut down
 * (without grace) and waited for first. NULL is ignored. */
TS_API void ts_server_free(ts_server *srv);

/* Answer a Request: a Response whose correlation id is the request's id,
 * signed when the request was signed or sign_responses is set. */
TS_API int ts_server_reply(ts_server *srv, ts_client_id client,
                           const ts_envelope *request, const void *payload,
                           size_t len, const char *content_type);

/* Refuse a Request with an Error envelope carrying a ts_reason and text. */
TS_API int ts_server_reply_error(ts_server *srv, ts_client_id client,
                                 const ts_envelope *request, uint16_t reason,
                                 const char *text);

/* Push a Notice (a message from the server operator) to one client.
 * TS_ERR_NOT_FOUND when no such client is connected. */
TS_API int ts_server_send_notice(ts_server *srv, ts_client_id client,
                                 const void *payload, size_t len);

/* Close one client with a reason (sent to it in a CLOSE frame).
 * TS_ERR_NOT_FOUND when no such client is connected. */
TS_API int ts_server_close_client(ts_server *srv, ts_client_id client,
                                  uint16_t reason, const char *text);

/* The ids of the clients connected now (established or not). *ids is
 * malloc'd; the caller frees it. */
TS_API int ts_server_list_clients(ts_server *srv, ts_client_id **ids, size_t *n);

/* What the server knows about a connected client. */
typedef struct ts_client_info {
    ts_client_id id;
    char peer[64];                       /* "address:port" */
    char fingerprint[TS_FINGERPRINT_MAX];/* "" before the handshake ends */
    uint8_t identity[TS_PUBLIC_KEY_LEN]; /* valid when fingerprint[0] */
} ts_client_info;

/* Look up a connected client: 0 or TS_ERR_NOT_FOUND. */
TS_API int ts_server_client_info(ts_server *srv, ts_client_id client,
                                 ts_client_info *out);

/* The server identity's fingerprint. */
TS_API void ts_server_fingerprint(const ts_server *srv, char out[TS_FINGERPRINT_MAX]);

/* Apply new limits and timers to a running server (new values take effect
 * for every connection at its next check). The TLS certificate, key, CA
 * and cipher settings are loaded into a fresh TLS context used by new
 * connections (established ones keep theirs); when they cannot be loaded
 * the call fails with TS_ERR_TLS and nothing changes. Listening
 * addresses, ports, worker count and the store cannot change. 0,
 * TS_ERR_CONFIG or TS_ERR_TLS. */
TS_API int ts_server_reconfigure(ts_server *srv, const ts_server_config *cfg);

/*
 * Status and connection listings as JSON text (the same documents
 * `tcp_server status --json` and `connections --json` print). *out is
 * malloc'd; the caller frees it.
 */
TS_API int ts_server_status_json(ts_server *srv, char **out);
TS_API int ts_server_connections_json(ts_server *srv, char **out);

#ifdef __cplusplus
}
#endif

#endif /* TCPSEAL_SERVER_H */
