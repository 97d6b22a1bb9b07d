/*
 * The connection engine: one epoll loop per thread, each owning a fixed
 * set of connection slots (conn.h), and the scenario's timers.
 *
 * A thread turns its loop until its scenario says it is done or the main
 * thread says stop: each turn gives the scenario a tick (to open
 * connections, send paced requests, notice the end of the window), then
 * waits for socket events until the scenario's next deadline.
 */
#ifndef TS_BENCH_LOOP_H
#define TS_BENCH_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "bench.h"
#include "conn.h"
#include "util/dbuf.h"

/* Large enough for any unit after a carried-over partial one, and for
 * many small frames per read. */
#define LOOP_RBUF_SIZE (256u * 1024u)
/* Staging is sent once it holds this much, even mid-message, so a large
 * message never needs a large staging buffer. */
#define LOOP_STAGING_FLUSH (256u * 1024u)
#define LOOP_STAGING_MAX (LOOP_STAGING_FLUSH + 2u * 65536u)

/* Paces events at a fixed rate from a start time: the k-th event is due
 * at start + k / rate, whether or not earlier ones were late. */
struct pace {
    double per_us;     /* events per microsecond; 0 = unpaced */
    uint64_t start_us;
    uint64_t issued;
};

struct bench_thread {
    struct bench_run *run;
    const struct bench_options *opt;
    const struct scenario *sc;
    unsigned index;
    pthread_t thread;
    bool started;
    int epfd;
    struct bench_conn *conns;
    unsigned n_conns;
    unsigned first_conn;    /* run-wide index of conns[0] */

    struct dbuf staging;    /* output of the channel call in progress */
    struct bench_conn *staging_owner;
    uint8_t *rbuf;          /* input */
    uint8_t *encbuf;        /* one encoded envelope */
    size_t encbuf_cap;
    uint8_t *payload;       /* request payload bytes */

    struct bench_stats stats;
    char first_error[160];  /* detail of the first failure, for the report */
    uint64_t turn_us;       /* when the current loop turn's events arrived */
    uint64_t next_scan_us;
    bool stopping;          /* closing everything: scenarios must not reconnect */
    bool done;              /* the scenario has finished on this thread */
    int result;             /* 0, or -1 when the thread could not run */

    unsigned pending;       /* connections between connect() and ready */

    /* Scenario state. */
    struct pace open_pace;  /* opening connections (idle --rate) */
    struct pace send_pace;  /* sending requests (reqresp --rate) */
    unsigned cursor;        /* next slot to open */
    unsigned next_sender;   /* next slot to send on (round robin) */
    bool begun;             /* the scenario's main phase has started */
    bool ended;             /* chat, fanout: the end of the window was handled */
};

/* Set up a thread owning run-wide connection slots [first, first + n). */
int loop_thread_init(struct bench_thread *th, struct bench_run *run, unsigned index,
                     unsigned first, unsigned n);
void loop_thread_free(struct bench_thread *th);

/* Thread body: runs the scenario until it is done or the run stops. */
void *loop_thread_main(void *arg);

/* Open the thread's slots in order, keeping at most max_pending
 * handshakes in progress and following th->open_pace. Returns when it
 * next needs a turn (UINT64_MAX when only a completed handshake can
 * let it go on, or when every slot has been opened). */
uint64_t loop_open_more(struct bench_thread *th, uint64_t now, unsigned max_pending);

/* Requests in flight over all of the thread's connections. */
unsigned loop_in_flight(const struct bench_thread *th);

/* Record a failure detail the first time one happens on the thread. */
void loop_note_error(struct bench_thread *th, const char *detail);

/* True when t falls inside the measured window. */
bool bench_in_window(const struct bench_run *run, uint64_t t);

/* Pacing helpers. */
void pace_start(struct pace *p, double per_second, uint64_t start_us);
/* When the next event is due; 0 (always due) when unpaced. */
uint64_t pace_next_us(const struct pace *p);

#endif /* TS_BENCH_LOOP_H */
