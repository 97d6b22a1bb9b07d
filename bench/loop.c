/*
 * The loop threads: one epoll set each, the scenario's timers, and the
 * connections' events (see loop.h).
 */
#include "loop.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "request.h"
#include "util/clock.h"

#define LOOP_MAX_EVENTS 256
/* Atomics set by the main thread are looked at least this often. */
#define LOOP_POLL_US 20000u
/* Handshake deadlines are checked this often. */
#define LOOP_SCAN_US 100000u
/* Timer slack for the loop threads: paced sends must leave on time. */
#define LOOP_TIMER_SLACK_NS 1000

uint64_t bench_now_us(void)
{
    return clock_mono_us();
}

bool bench_in_window(const struct bench_run *run, uint64_t t)
{
    uint64_t go = atomic_load_explicit(&run->go_us, memory_order_acquire);

    return go != 0 && t >= atomic_load_explicit(&run->measure_us, memory_order_relaxed) &&
           t < atomic_load_explicit(&run->end_us, memory_order_relaxed);
}

void pace_start(struct pace *p, double per_second, uint64_t start_us)
{
    p->per_us = per_second / 1e6;
    p->start_us = start_us;
    p->issued = 0;
}

uint64_t pace_next_us(const struct pace *p)
{
    if (p->per_us <= 0.0)
        return 0;
    return p->start_us + (uint64_t)((double)p->issued / p->per_us);
}

void loop_note_error(struct bench_thread *th, const char *detail)
{
    if (th->first_error[0] == '\0')
        snprintf(th->first_error, sizeof(th->first_error), "%s", detail);
}

/* Handshake deadlines, and closes left pending (see conn_check). */
static void loop_check_deadlines(struct bench_thread *th, uint64_t now)
{
    for (unsigned i = 0; i < th->n_conns; i++)
        conn_check(&th->conns[i], now);
}

static int loop_wait(struct bench_thread *th, uint64_t timeout_us)
{
    struct epoll_event events[LOOP_MAX_EVENTS];
    struct timespec ts = {.tv_sec = (time_t)(timeout_us / 1000000u),
                          .tv_nsec = (long)(timeout_us % 1000000u) * 1000};
    int n = epoll_pwait2(th->epfd, events, LOOP_MAX_EVENTS, &ts, NULL);

    if (n < 0 && errno == ENOSYS) {
        /* Kernels before 5.11: millisecond timeouts, rounded up. */
        n = epoll_wait(th->epfd, events, LOOP_MAX_EVENTS,
                       (int)((timeout_us + 999u) / 1000u));
    }
    if (n < 0) {
        if (errno == EINTR)
            return 0;
        bench_error("epoll_wait: %s", strerror(errno));
        return -1;
    }
    th->turn_us = bench_now_us();
    for (int i = 0; i < n; i++)
        conn_on_event(events[i].data.ptr, events[i].events);
    return 0;
}

uint64_t loop_open_more(struct bench_thread *th, uint64_t now, unsigned max_pending)
{
    while (th->cursor < th->n_conns && th->pending < max_pending && !th->stopping) {
        uint64_t due = pace_next_us(&th->open_pace);

        if (due > now)
            return due;
        th->open_pace.issued++;
        (void)conn_connect(&th->conns[th->cursor++], now);
    }
    return UINT64_MAX;
}

unsigned loop_in_flight(const struct bench_thread *th)
{
    unsigned n = 0;

    for (unsigned i = 0; i < th->n_conns; i++)
        n += th->conns[i].inflight.count;
    return n;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

void *loop_thread_main(void *arg)
{
    struct bench_thread *th = arg;
    struct bench_run *run = th->run;

    (void)prctl(PR_SET_TIMERSLACK, LOOP_TIMER_SLACK_NS, 0, 0, 0);
    if (th->sc->thread_start != NULL && th->sc->thread_start(th) != 0)
        th->result = -1;
    while (th->result == 0 && !th->done && !atomic_load(&run->stop)) {
        uint64_t now = th->turn_us = bench_now_us();
        uint64_t wake = th->sc->thread_tick != NULL ? th->sc->thread_tick(th, now)
                                                    : UINT64_MAX;

        if (th->done)
            break;
        if (now >= th->next_scan_us) {
            loop_check_deadlines(th, now);
            th->next_scan_us = now + LOOP_SCAN_US;
        }
        wake = min_u64(min_u64(wake, th->next_scan_us), now + LOOP_POLL_US);
        if (loop_wait(th, wake > now ? wake - now : 0) != 0)
            th->result = -1;
    }
    th->stopping = true;
    for (unsigned i = 0; i < th->n_conns; i++)
        conn_finish(&th->conns[i], NULL);
    atomic_fetch_add(&run->threads_done, 1);
    return NULL;
}

int loop_thread_init(struct bench_thread *th, struct bench_run *run, unsigned index,
                     unsigned first, unsigned n)
{
    const struct bench_options *opt = run->opt;

    memset(th, 0, sizeof(*th));
    th->run = run;
    th->opt = opt;
    th->sc = opt->scenario;
    th->index = index;
    th->first_conn = first;
    th->n_conns = n;
    th->epfd = -1;
    bench_stats_init(&th->stats);
    dbuf_init(&th->staging, LOOP_STAGING_MAX);
    if ((th->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        bench_error("epoll_create1: %s", strerror(errno));
        return -1;
    }
    th->conns = calloc(n, sizeof(*th->conns));
    th->rbuf = malloc(LOOP_RBUF_SIZE);
    if (th->conns == NULL || th->rbuf == NULL || request_thread_init(th) != 0)
        goto nomem;
    for (unsigned i = 0; i < n; i++) {
        if (conn_init(&th->conns[i], th, &run->keys[(first + i) % run->n_keys],
                      opt->window) != 0)
            goto nomem;
    }
    return 0;
nomem:
    bench_error("out of memory for %u connections", n);
    return -1;
}

void loop_thread_free(struct bench_thread *th)
{
    if (th->run == NULL)
        return; /* never set up */
    for (unsigned i = 0; th->conns != NULL && i < th->n_conns; i++)
        conn_free(&th->conns[i]);
    free(th->conns);
    free(th->rbuf);
    request_thread_free(th);
    dbuf_free(&th->staging);
    if (th->epfd >= 0)
        close(th->epfd);
    th->conns = NULL;
    th->epfd = -1;
}
