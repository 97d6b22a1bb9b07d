/*
 * Private layout of a ts_client, shared by its files:
 *
 *   client.c          life cycle, configuration, callbacks
 *   client_send.c     ids, send, request
 *   client_query.c    status, last error, inbox, is-connected
 *   client_loop.c     the loop and who drives it: listen, connect, shutdown
 *   client_session.c  one connection after another: attempts, handshake,
 *                     heartbeats, loss, shutdown
 *   client_traffic.c  envelopes on a session: the outbox out, answers and
 *                     server messages in
 *
 * Locking. `lock` guards every field marked [L]. Fields marked [D] belong
 * to the driver: the one thread running the loop (the listening thread, or
 * a blocking caller while not listening); they are touched without the
 * lock, and only by it. Callbacks are called by the driver with the lock
 * released. Entries of the outbox are released only by the driver (settle,
 * shutdown) or by ts_client_free().
 */
#ifndef TS_CLIENT_CLIENT_INTERNAL_H
#define TS_CLIENT_CLIENT_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <tcpseal/client.h>

#include "client/backoff.h"
#include "client/client_relay.h"
#include "client/conn.h"
#include "client/inbox.h"
#include "client/outbox.h"
#include "net/address.h"

struct client_db;

/* Requests written to one connection before waiting for answers: enough
 * to keep a link busy, few enough that the server's memory of recent
 * answers (16 per sender) still covers a resend. */
#define CLIENT_SEND_WINDOW 16
/* Room for the envelope fields around a payload (sender, content type,
 * hash, signature, header); a payload must leave this much of
 * max_message. */
#define CLIENT_ENVELOPE_OVERHEAD 1024u
#define CLIENT_ERROR_MAX 256
/* Shortest heartbeat: a ping every half of it must not flood the link. */
#define CLIENT_HEARTBEAT_MIN_MS 100u

/* A blocking request waiting for its answer. */
struct client_waiter {
    bool done;
    int status;            /* 0, TS_ERR_SERVER or TS_ERR_CLOSED */
    ts_envelope *answer;   /* owned until handed to the caller */
};

struct ts_client {
    /* Configuration: copied, read-only after ts_client_new(). */
    ts_client_config cfg;      /* its strings point at the copies below */
    char *host, *server_key, *known_path, *store_path, *seq_path;
    struct tls_client_ctx *tls; /* loaded TLS settings (net/tls.h); NULL = plain TCP */
    char hostport[NET_HOSTPORT_MAX];
    char fingerprint[TS_FINGERPRINT_MAX];

    pthread_mutex_t lock;
    pthread_cond_t cond;       /* any change a waiter may care about */
    int wake_fd;               /* eventfd: wakes the loop's poll() */

    /* Callbacks: set before connecting, read by the driver. */
    ts_message_callback on_message;
    void *message_arg;
    ts_error_callback on_error;
    void *error_arg;
    ts_state_callback on_state;
    void *state_arg;
    client_relay_fn relay_hook;  /* client_relay.h */
    void *relay_arg;

    /* Who drives [L]. */
    bool driving;
    pthread_t driver;
    bool listening;
    bool loop_stop;            /* the listening thread should return */
    bool handover;             /* a blocking driver should yield the loop */
    pthread_t thread;

    /* Wishes of other threads, acted on by the driver [L]. */
    bool want_session;         /* connect, and reconnect after losses */
    bool attempt_now;          /* connect(): next attempt at once */
    uint64_t attempt_timeout;  /* ... within this (ms), 0 = connect_timeout_ms */
    uint64_t shutdown_asked, shutdown_done;   /* request counters */
    uint64_t attempts_done;    /* attempts finished (success or not) */
    int attempt_rc;            /* outcome of the last one */

    /* The session [D]. */
    client_conn *conn;
    bool up;                   /* handshake complete */
    uint64_t handshake_deadline;
    uint64_t ping_for;         /* last_input value a ping was sent for */
    bool ever_up;              /* a session was up before: reconnecting */
    bool first_use;            /* server not in the known servers: record it */
    struct backoff backoff;
    uint64_t next_attempt;     /* monotonic [L] */

    /* Status [L]. */
    ts_client_state state;
    char last_error[CLIENT_ERROR_MAX];
    char server_fp[TS_FINGERPRINT_MAX];
    uint64_t connected_since_ms, next_attempt_wall_ms;
    uint64_t reconnects, rekeys, messages_in, messages_out;

    /* Messages [L]. */
    uint64_t last_id;          /* numbering without a sequence file */
    struct client_db *db;
    struct outbox outbox;
    struct inbox inbox;
};

/* Copy text into dst (capacity cap, cap > 0), cut to fit. */
static inline void client_copy_text(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);

    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Wake the loop (any thread). */
void client_wake(ts_client *c);

/* Record why something failed as last_error [L held]. */
void client_set_error(ts_client *c, const char *detail);

/* Change state and tell the state callback (driver, lock not held). */
void client_set_state(ts_client *c, ts_client_state state, const char *reason);

/* Tell the error callback (driver, lock not held). */
void client_report(ts_client *c, int err, const char *detail);

/* Ask for a session [L held]: the first attempt comes at once when none
 * was wanted before. */
void client_want_session(ts_client *c);

/*
 * Run the loop on the calling thread (or wait for the thread that runs
 * it) until done(c, arg) is true or deadline_ms (monotonic, 0 = none)
 * passes. Called and returns with the lock held. 0, TS_ERR_TIMEOUT, or
 * TS_ERR_STATE when called from a callback (the loop's own thread).
 */
typedef bool (*client_done_fn)(ts_client *c, void *arg);
int client_drive(ts_client *c, client_done_fn done, void *arg, uint64_t deadline_ms);

/* True when the calling thread is the one running the loop now. */
bool client_on_driver(const ts_client *c);

/* One turn of the loop: act on wishes, move the session, wait for I/O or
 * a timer, at most until deadline_ms (0 = timers only). Driver only. */
void client_loop_turn(ts_client *c, uint64_t deadline_ms);

/* Session steps (client_session.c), driver only. */
void session_attempt(ts_client *c);
void session_handle(ts_client *c, short revents);
void session_timers(ts_client *c);
void session_shutdown(ts_client *c);
/* The connection failed or closed with rc (its detail current on this
 * thread): drop it, put the outbox back, schedule the next attempt. */
void session_lost(ts_client *c, int rc);
/* The soonest timer of the session (monotonic ms), or 0 for none. */
uint64_t session_next_timer(ts_client *c);

/* Traffic (client_traffic.c), driver only. */
void session_send_queued(ts_client *c);
int traffic_on_message(void *arg, const struct client_message *msg);
void traffic_on_oversize(void *arg, uint64_t size);

/* Complete a waiting request [L held]: the waiter gets status and a copy
 * of answer (may be NULL). */
void client_waiter_finish(ts_client *c, struct client_waiter *w, int status,
                          const ts_envelope *answer);

#endif /* TS_CLIENT_CLIENT_INTERNAL_H */
