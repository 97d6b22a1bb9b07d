/*
 * Private layout of a tcpseal server, shared by the files of src/server/:
 *
 *   server.c     life cycle: create, bind, run, shut down
 *   settings.c   configuration defaults, checks and live snapshots
 *   listener.c   listening sockets; accepting and handing out connections
 *   admission.c  connection limits per server and per address
 *   worker.c     worker threads: one event loop each, owning connections
 *   mailbox.c    work posted to a thread's event loop from other threads
 *   conn.c       one connection: socket, channel, timers, closing
 *   dispatch.c   verifying and routing received messages
 *   reply.c      building and sending server messages
 *   senders.c    per-sender sequence windows
 *   status.c     status and connection listings
 *   control.c    the control socket
 *
 * Threads: the thread that calls ts_server_run() (the main thread) owns
 * the listeners and the control socket; each worker thread owns the
 * connections handed to it. Other threads reach them only through
 * mailboxes, or read the fields documented as shared under the worker's
 * lock.
 */
#ifndef TS_SERVER_SERVER_INTERNAL_H
#define TS_SERVER_SERVER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <tcpseal/server.h>

#include "channel/channel.h"
#include "server/admission.h"
#include "server/mailbox.h"
#include "server/senders.h"
#include "server/tls_server.h"
#include "util/dbuf.h"
#include "util/error.h"
#include "util/idmap.h"
#include "util/ratelimit.h"

#define SERVER_MAX_WORKERS 64
#define SERVER_MAX_LISTENERS 8
/* How often each worker checks its connections' deadlines. */
#define SERVER_TICK_MS 100
/* Time a closing connection gets to flush before it is dropped. */
#define SERVER_LINGER_MS 2000
/* Rejected connections get this long to send their hello. */
#define SERVER_REJECT_TIMEOUT_MS 2000

/* Settings that may change while running. Immutable once published: a
 * reload publishes a new snapshot; old ones live until the server is
 * freed, so a reader never sees one disappear. */
struct settings {
    ts_server_config cfg;
    struct settings *older;
};

/* Counters summed for `status`. Each worker owns a set (written only by
 * its thread, read by others with relaxed loads) so the hot path shares
 * no cache line between workers. */
struct counters {
    _Atomic uint64_t requests_handled;   /* given to the handler */
    _Atomic uint64_t requests_repeated;  /* repeats answered from memory */
    _Atomic uint64_t handshakes_ok;
    _Atomic uint64_t handshakes_failed;
    _Atomic uint64_t messages_in;
    _Atomic uint64_t messages_out;
    _Atomic uint64_t bytes_in;
    _Atomic uint64_t bytes_out;
};

/* Single-writer increment: a plain load and store, no locked instruction. */
static inline void counter_add(_Atomic uint64_t *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

static inline uint64_t counter_get(_Atomic uint64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

struct conn;

struct worker {
    ts_server *srv;
    unsigned index;
    pthread_t thread;
    bool thread_started;
    struct event_base *base;
    struct mailbox mailbox;
    struct event *tick;

    /* Guards the list and map structure and the shared conn fields when
     * another thread reads them; the worker itself writes under it and
     * reads without it. */
    pthread_mutex_t lock;
    struct conn *conns;       /* doubly linked */
    struct idmap by_id;
    size_t n_conns;

    bool draining;            /* shutting down: exit when no conns remain */
    uint64_t drain_deadline;
    struct dbuf scratch;      /* encoding buffer for outgoing envelopes */
    struct counters counters;
    __attribute__((aligned(64))) char pad;
};

enum server_state {
    SERVER_NEW,
    SERVER_BOUND,
    SERVER_RUNNING,
    SERVER_STOPPING,
    SERVER_STOPPED,
};

struct listener_set;
struct control;
struct service;

struct ts_server {
    _Atomic(struct settings *) settings;
    pthread_mutex_t settings_lock;   /* serialises reconfigure() */

    const ts_identity *identity;
    struct channel_credentials creds;
    char fingerprint[TS_FINGERPRINT_MAX];

    ts_request_handler handler;
    void *handler_arg;

    struct event_base *main_base;
    struct mailbox main_mailbox;
    struct listener_set *listeners;
    struct control *control;
    struct admission admission;
    struct senders senders;
    struct service *service;   /* accounts and chat; NULL without a store */
    struct tls_server tls;     /* when tls_enabled */

    struct worker *workers;
    unsigned n_workers;
    _Atomic unsigned next_worker;
    _Atomic unsigned workers_running;

    _Atomic uint64_t next_client_id;
    _Atomic int state;
    _Atomic int shutdown_requests;
    uint32_t grace_ms;
    uint64_t started_at_ms;           /* wall clock */
    uint64_t started_mono_ms;

    /* ts_server_start(): the background thread and its readiness. */
    pthread_t run_thread;
    bool run_thread_started;
    pthread_mutex_t run_lock;
    pthread_cond_t run_cond;
    int run_result;
    /* Why it failed: error details are per thread, and the caller of
     * ts_server_start() is on another one. */
    char run_detail[ERROR_DETAIL_MAX];
};

/* The live settings. */
static inline const ts_server_config *server_cfg(const ts_server *srv)
{
    return &atomic_load_explicit(&srv->settings, memory_order_acquire)->cfg;
}

/* settings.c */
int settings_publish(ts_server *srv, const ts_server_config *cfg);
void settings_free_all(ts_server *srv);

/* worker.c */
int workers_start(ts_server *srv);
void workers_drain(ts_server *srv, uint32_t grace_ms);
void workers_stop_now(ts_server *srv);
void workers_join(ts_server *srv);
void workers_free(ts_server *srv);
/* Give a freshly accepted socket to the next worker. */
int worker_assign(ts_server *srv, int fd, const struct sockaddr *addr,
                  socklen_t addrlen, uint16_t reject_reason, bool tls);
/* The worker whose thread is running the caller, or NULL. */
struct worker *worker_current(void);
/* Called by a worker when its loop has ended. */
void server_worker_exited(ts_server *srv);

/* listener.c */
int listeners_bind(ts_server *srv);
int listeners_enable(ts_server *srv);
void listeners_close(ts_server *srv);
void listeners_free(ts_server *srv);
/* Bound addresses of the plain (or TLS) listeners as "host:port"
 * strings; returns how many (<= max). */
size_t listeners_addresses(const ts_server *srv, bool tls, char out[][64], size_t max);
uint16_t listeners_port(const ts_server *srv, bool tls);

/* control.c */
int control_open(ts_server *srv, const char *path);
void control_close(ts_server *srv);

/* Run fn(c, arg) on the worker that owns client (c is NULL when the
 * client is gone). Thread-safe. 0 or TS_ERR_NOMEM (fn not called). */
int server_run_on_client(ts_server *srv, ts_client_id client,
                         void (*fn)(struct conn *c, void *arg), void *arg);

/* Deliver a bus message to clients of one worker (the bus's callback). */
struct bus_message;
void server_deliver(void *srv, unsigned worker, const ts_client_id *clients, size_t n,
                    struct bus_message *msg);

/* On c's worker: send the answer to request id and remember it for
 * repeats (passing it on to a connection that repeated it meanwhile). */
struct sender_result;
void server_answer(struct conn *c, uint64_t request_id, const struct sender_result *answer);

/* True while the client with this id is connected (ctx: the server). */
bool server_client_alive(void *srv, ts_client_id client);

/* Ask the main thread to run the shutdown sequence. */
void server_begin_shutdown(ts_server *srv);

/* Format a socket address as "1.2.3.4:5" or "[::1]:5". */
void server_format_addr(const struct sockaddr *sa, char *out, size_t cap);

#endif /* TS_SERVER_SERVER_INTERNAL_H */
