#include "run.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "keys.h"
#include "loop.h"
#include "net/tls.h"
#include "proc.h"

void bench_stats_init(struct bench_stats *s)
{
    memset(s, 0, sizeof(*s));
    histogram_init(&s->latency);
    histogram_init(&s->handshake);
    histogram_init(&s->send_lag);
    histogram_init(&s->delivery);
    s->member_min = UINT64_MAX;
    tally_init(&s->errors);
    tally_init(&s->slow_ends);
}

void bench_stats_merge(struct bench_stats *dst, const struct bench_stats *src)
{
    histogram_merge(&dst->latency, &src->latency);
    histogram_merge(&dst->handshake, &src->handshake);
    histogram_merge(&dst->send_lag, &src->send_lag);
    dst->requests += src->requests;
    dst->responses += src->responses;
    dst->payload_bytes += src->payload_bytes;
    dst->wire_bytes += src->wire_bytes;
    dst->handshakes += src->handshakes;
    dst->attempts += src->attempts;
    histogram_merge(&dst->delivery, &src->delivery);
    dst->deliveries += src->deliveries;
    dst->members += src->members;
    if (src->member_min < dst->member_min)
        dst->member_min = src->member_min;
    if (src->member_max > dst->member_max)
        dst->member_max = src->member_max;
    tally_merge(&dst->errors, &src->errors);
    tally_merge(&dst->slow_ends, &src->slow_ends);
}

/* Wait up to us microseconds for SIGINT or SIGTERM (blocked in every
 * thread, so they queue for this one): true when one arrived. */
static bool wait_signal(uint64_t us)
{
    struct timespec ts = {.tv_sec = (time_t)(us / 1000000u),
                          .tv_nsec = (long)(us % 1000000u) * 1000};
    sigset_t stop;

    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    return sigtimedwait(&stop, NULL, &ts) > 0;
}

bool run_sleep_until(struct bench_run *run, uint64_t deadline_us)
{
    for (;;) {
        uint64_t now = bench_now_us(), slice;

        if (run->interrupted || atomic_load(&run->threads_done) == run->n_threads)
            return false;
        if (now >= deadline_us)
            return true;
        /* Short slices, so stopped threads are noticed. */
        slice = deadline_us - now < 100000u ? deadline_us - now : 100000u;
        if (wait_signal(slice))
            run->interrupted = true;
    }
}

void run_wait_threads(struct bench_run *run)
{
    /* Threads finish their drain on their own; a signal during the drain
     * (or a second one) stops them at once. */
    while (atomic_load(&run->threads_done) < run->n_threads) {
        if (wait_signal(RUN_POLL_US)) {
            run->interrupted = true;
            atomic_store(&run->stop, true);
        }
    }
}

static int threads_start(struct bench_run *run)
{
    const struct bench_options *opt = run->opt;
    unsigned n = opt->threads, first = 0;

    run->threads = calloc(n, sizeof(*run->threads));
    if (run->threads == NULL) {
        bench_error("out of memory for %u threads", n);
        return -1;
    }
    run->n_threads = n;
    for (unsigned i = 0; i < n; i++) {
        unsigned share = opt->connections / n + (i < opt->connections % n ? 1 : 0);
        struct bench_thread *th = &run->threads[i];
        int err;

        if (loop_thread_init(th, run, i, first, share) != 0)
            return -1;
        first += share;
        if ((err = pthread_create(&th->thread, NULL, loop_thread_main, th)) != 0) {
            bench_error("cannot start a thread: %s", strerror(err));
            return -1;
        }
        th->started = true;
    }
    return 0;
}

static void threads_stop(struct bench_run *run)
{
    atomic_store(&run->stop, true);
    for (unsigned i = 0; i < run->n_threads; i++) {
        struct bench_thread *th = &run->threads[i];

        if (th->started)
            pthread_join(th->thread, NULL);
        th->started = false;
    }
}

static int threads_merge(struct bench_run *run)
{
    int rc = 0;

    bench_stats_init(&run->total);
    for (unsigned i = 0; i < run->n_threads; i++) {
        struct bench_thread *th = &run->threads[i];

        bench_stats_merge(&run->total, &th->stats);
        if (run->first_error[0] == '\0' && th->first_error[0] != '\0')
            memcpy(run->first_error, th->first_error, sizeof(run->first_error));
        if (th->result != 0)
            rc = -1;
    }
    return rc;
}

int run_execute(struct bench_run *run)
{
    const struct bench_options *opt = run->opt;
    const struct scenario *sc = opt->scenario;
    sigset_t stop;
    int rc = -1;

    run->n_keys = sc->keys_needed(opt);
    if (keys_create(&run->keys, run->n_keys) != 0)
        return -1;
    atomic_store(&run->end_us, UINT64_MAX);
    /* Signals wait for the main thread; every loop thread inherits the
     * mask. */
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    if (pthread_sigmask(SIG_BLOCK, &stop, NULL) != 0) {
        bench_error("cannot block signals");
        return -1;
    }
    if (opt->server_pid != 0) {
        int err = proc_rss_kib(opt->server_pid, &run->rss.before_kib);

        if (err != 0) {
            bench_error("cannot read the memory of process %d: %s", (int)opt->server_pid,
                        strerror(err));
            return -1;
        }
        run->rss.measured = true;
    }
    if (sc->prepare != NULL && sc->prepare(run) != 0)
        return -1;
    if (threads_start(run) == 0)
        rc = sc->coordinate(run);
    threads_stop(run);
    if (threads_merge(run) != 0)
        rc = -1;
    return rc;
}

void run_free(struct bench_run *run)
{
    for (unsigned i = 0; run->threads != NULL && i < run->n_threads; i++)
        loop_thread_free(&run->threads[i]);
    free(run->threads);
    run->threads = NULL;
    keys_free(run->keys, run->n_keys);
    run->keys = NULL;
    tls_client_ctx_free(run->tls);
    run->tls = NULL;
    sodium_memzero(run->password, sizeof(run->password));
}
