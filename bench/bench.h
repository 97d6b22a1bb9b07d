/*
 * tcp_bench: a load generator for a running tcpseal server.
 *
 * The program is a table of scenarios over one connection engine:
 *
 *   main.c             the scenario table, TLS set-up, exit status
 *   options.c          the command line and its checks
 *   run.c              threads, phases, merging per-thread results
 *   loop.c             the engine: an epoll loop per thread driving
 *                      non-blocking transports (TCP or TLS) and one
 *                      channel per connection
 *   conn.c             one connection: connect, TLS, channel, closing
 *   conn_io.c          its bytes between the transport and the channel
 *   keys.c             client identities and their sequence numbers
 *   request.c          envelopes out, their answers matched back
 *   chat.c             accounts, rooms and chat traffic (chat, fanout)
 *   chat_plan.c        names, roles and time stamps of a chat run
 *   scenario_*.c       what each scenario does with the engine
 *   histogram.c        latency histograms
 *   tally.c            errors counted by reason
 *   report*.c          human-readable lines or one JSON object
 *   proc.c             server memory from /proc, the open-file limit
 *
 * A new scenario is a file defining a struct scenario and a line in the
 * table in main.c.
 */
#ifndef TS_BENCH_BENCH_H
#define TS_BENCH_BENCH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <tcpseal/common.h>

#include "histogram.h"
#include "tally.h"

#define BENCH_PROGRAM "tcp_bench"

#define BENCH_DEFAULT_HOST "127.0.0.1"
#define BENCH_DEFAULT_PORT 8080 /* the server's default */
#define BENCH_DEFAULT_CONNECTIONS 64
#define BENCH_DEFAULT_DURATION_MS 10000
#define BENCH_DEFAULT_WARMUP_MS 1000
#define BENCH_DEFAULT_PAYLOAD 64
#define BENCH_DEFAULT_CHAT_SENDERS 50
#define BENCH_DEFAULT_FANOUT_MEMBERS 200
#define BENCH_DEFAULT_FANOUT_SENDERS 4
#define BENCH_MAX_THREADS 64
#define BENCH_MAX_CONNECTIONS 1000000
/* The largest Request payload: well under the 64 MiB hard message limit,
 * so the envelope around it always fits. */
#define BENCH_MAX_PAYLOAD (16u * 1024u * 1024u)
#define BENCH_MAX_PIPELINE 4096
/* Names a run's users and rooms: a letter and five letters or digits. */
#define BENCH_TAG_LEN 6
/* The password of a run's accounts: hex of 16 random bytes. */
#define BENCH_PASSWORD_LEN 32

/* Options a scenario may accept; each bit is also set in
 * bench_options.given when the option appeared on the command line. */
enum bench_opt {
    OPT_PAYLOAD = 1u << 0,
    OPT_PIPELINE = 1u << 1,
    OPT_RATE = 1u << 2,
    OPT_SIGN = 1u << 3,
    OPT_WARMUP = 1u << 4,
    OPT_REQUEST = 1u << 5,
    OPT_SERVER_PID = 1u << 6,
    OPT_SENDERS = 1u << 7,
    OPT_SLOW = 1u << 8,
};

/* TLS around every connection (the same options as tcp_client). */
struct bench_tls_options {
    bool enabled;
    const char *ca;          /* CA file or directory; NULL = the system's */
    const char *cert;        /* client certificate and key (mutual TLS) */
    const char *key;
    const char *server_name; /* SNI and name checked; NULL = --host */
    const char *pin;         /* "sha256//BASE64", or NULL */
    int min_version;         /* TLS_VERSION_1_2 / _1_3; 0 = 1.3 */
};

struct scenario;

struct bench_options {
    const struct scenario *scenario;
    const char *host;
    uint16_t port;
    struct sockaddr_storage addr; /* resolved host and port */
    socklen_t addrlen;
    char addr_text[80];           /* "127.0.0.1:8080", for reports */
    unsigned connections;
    uint64_t duration_ms;
    uint64_t warmup_ms;
    size_t payload;
    unsigned pipeline;
    uint64_t rate;                /* per second, 0 = none */
    unsigned threads;
    unsigned senders;             /* chat, fanout: connections that send */
    unsigned slow;                /* fanout: members that stop reading */
    unsigned rooms;               /* chat, fanout: rooms the members share
                                   * (set by the scenario's check) */
    bool sign;
    bool request;
    bool json;
    bool allow_remote;
    const char *server_key;       /* pinned fingerprint, or NULL */
    pid_t server_pid;             /* 0 = not given */
    struct bench_tls_options tls;
    unsigned window;              /* requests in flight per connection at most;
                                   * set by the scenario's check */
    unsigned given;               /* OPT_* bits present on the command line */
};

/* What the threads measured, summed over all of them. */
struct bench_stats {
    struct histogram latency;    /* request round trips, microseconds */
    struct histogram handshake;  /* connect() to established, microseconds */
    struct histogram send_lag;   /* open loop: how late requests left */
    uint64_t requests;           /* requests issued inside the window */
    uint64_t responses;          /* responses that arrived inside the window */
    uint64_t payload_bytes;      /* request + response payload inside the window */
    uint64_t wire_bytes;         /* bytes sent + received inside the window */
    uint64_t handshakes;         /* handshakes completed inside the window */
    uint64_t attempts;           /* connections started (connect, idle) */
    struct histogram delivery;   /* chat relayed to members: send to arrival */
    uint64_t deliveries;         /* chat messages members received in the window */
    unsigned members;            /* members that read throughout (fanout) */
    uint64_t member_min;         /* fewest and most deliveries to one of them */
    uint64_t member_max;
    struct tally errors;
    struct tally slow_ends;      /* fanout --slow: how slow members ended */
};

void bench_stats_init(struct bench_stats *s);
void bench_stats_merge(struct bench_stats *dst, const struct bench_stats *src);

/* Resident memory of the server, when --server-pid was given. */
struct bench_rss {
    bool measured;
    uint64_t before_kib; /* before the first connection */
    uint64_t after_kib;  /* once every connection was established */
    uint64_t end_kib;    /* at the end of the hold */
};

struct bench_key;
struct bench_thread;
struct bench_conn;
struct tls_client_ctx;

/*
 * One run: the options, the client keys and the threads, and the clock
 * marks every thread reads. Times are microseconds on the monotonic clock.
 */
struct bench_run {
    const struct bench_options *opt;
    struct bench_key *keys;
    unsigned n_keys;
    struct bench_thread *threads;
    unsigned n_threads;
    struct tls_client_ctx *tls;  /* with --tls, shared by every thread */
    /* chat, fanout: what names this run's users and rooms, and their
     * password (wiped by run_free()). */
    char tag[BENCH_TAG_LEN + 1];
    char password[BENCH_PASSWORD_LEN + 1];

    /* Written by the main thread, read by every thread. */
    _Atomic uint64_t go_us;      /* 0 until the scenario may start its work */
    _Atomic uint64_t measure_us; /* start of the measured window */
    _Atomic uint64_t end_us;     /* end of the window; UINT64_MAX = open */
    atomic_bool stop;            /* finish now: close everything and exit */

    /* Written by the threads, read by the main thread. */
    _Atomic unsigned opened;     /* connections ready (or confirmed) */
    _Atomic unsigned open_failed;/* connections that never got there */
    _Atomic unsigned dropped;    /* ready connections that closed later */
    _Atomic unsigned threads_done;

    bool interrupted;            /* SIGINT/SIGTERM ended the run early */
    char first_error[160];       /* detail of the first failure seen */
    uint64_t window_us;          /* length of the measured window */
    uint64_t open_phase_us;      /* idle: time to open every connection;
                                  * chat, fanout: to set up every user */
    struct bench_stats total;
    struct bench_rss rss;
};

/*
 * A scenario. The hooks run on the engine's threads (thread_start,
 * thread_tick, on_ready, on_message, on_closed) or on the main thread
 * (check, coordinate). Any hook may be NULL.
 */
struct scenario {
    const char *name;
    const char *summary;
    unsigned accepts; /* OPT_* bits this scenario understands */
    unsigned default_connections; /* -c when not given; 0 = the common default */

    /* Validate and complete the options: 0, or -1 after printing why. */
    int (*check)(struct bench_options *opt);
    /* How many client identities the run needs (see keys.h). */
    unsigned (*keys_needed)(const struct bench_options *opt);
    /* Main thread, before the loop threads start. 0, or -1 after
     * printing why. */
    int (*prepare)(struct bench_run *run);

    /* Thread set-up, once its loop is running. 0 or -1. */
    int (*thread_start)(struct bench_thread *th);
    /* Called on every loop turn; returns when it next needs a turn
     * (absolute microseconds, UINT64_MAX = only on I/O). */
    uint64_t (*thread_tick)(struct bench_thread *th, uint64_t now);
    /* A connection completed its handshake. */
    void (*on_ready)(struct bench_conn *c, uint64_t now);
    /* A message arrived on a ready connection. data is valid during the
     * call. 0, or a negative error code to drop the connection. */
    int (*on_message)(struct bench_conn *c, uint8_t *data, size_t len, uint64_t now);
    /* The server answered our ping (idle's confirmation). */
    void (*on_pong)(struct bench_conn *c, uint64_t now);
    /* A connection ended; failure names why (NULL for a normal close). */
    void (*on_closed)(struct bench_conn *c, const char *failure, uint64_t now);

    /* Main thread: drive the phases once the threads run. 0 or -1. */
    int (*coordinate)(struct bench_run *run);
};

extern const struct scenario scenario_reqresp;
extern const struct scenario scenario_connect;
extern const struct scenario scenario_idle;
extern const struct scenario scenario_chat;
extern const struct scenario scenario_fanout;

/* Print "tcp_bench: message" to stderr. */
void bench_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Monotonic microseconds. */
uint64_t bench_now_us(void);

#endif /* TS_BENCH_BENCH_H */
