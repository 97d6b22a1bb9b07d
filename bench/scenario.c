#include "scenario.h"

#include "request.h"
#include "run.h"

unsigned scenario_open_window(const struct bench_thread *th)
{
    unsigned n = SCENARIO_OPEN_WINDOW / th->run->n_threads;

    return n > 0 ? n : 1;
}

double scenario_thread_rate(const struct bench_thread *th, uint64_t rate)
{
    return (double)rate * (double)th->n_conns / (double)th->opt->connections;
}

bool scenario_drain(struct bench_thread *th, uint64_t now, unsigned busy)
{
    uint64_t end = atomic_load(&th->run->end_us);

    if (now < end)
        return false;
    if (busy == 0 || now - end >= SCENARIO_DRAIN_US)
        th->done = true;
    return true;
}

int scenario_wait_opened(struct bench_run *run)
{
    unsigned want = run->opt->connections;

    for (;;) {
        if (atomic_load(&run->opened) + atomic_load(&run->open_failed) >= want)
            return 0;
        if (atomic_load(&run->threads_done) == run->n_threads)
            return -1;
        if (!run_sleep_until(run, bench_now_us() + RUN_POLL_US))
            return -1;
    }
}

void scenario_measure(struct bench_run *run, uint64_t warmup_us, uint64_t duration_us)
{
    /* Far enough ahead that every thread, which looks at the clock marks
     * at least every few milliseconds, starts exactly on time. */
    uint64_t go = bench_now_us() + RUN_START_LEAD_US;
    uint64_t measure = go + warmup_us, end = measure + duration_us;

    atomic_store(&run->measure_us, measure);
    atomic_store(&run->end_us, end);
    atomic_store(&run->go_us, go);
    if (!run_sleep_until(run, end)) {
        uint64_t now = bench_now_us();
        /* Interrupted: the window ends now. */
        atomic_store(&run->end_us, now > measure ? now : measure);
    }
    end = atomic_load(&run->end_us);
    run->window_us = end - measure;
    run_wait_threads(run);
}

int scenario_coordinate_load(struct bench_run *run)
{
    const struct bench_options *opt = run->opt;
    uint64_t start = bench_now_us();

    if (scenario_wait_opened(run) != 0)
        return -1;
    run->open_phase_us = bench_now_us() - start;
    if (atomic_load(&run->opened) == 0) {
        bench_error("no connection to %s could be established", opt->addr_text);
        return -1;
    }
    scenario_measure(run, opt->warmup_ms * 1000u, opt->duration_ms * 1000u);
    return 0;
}

void scenario_fill_window(struct bench_conn *c, uint64_t now)
{
    while (c->phase == CONN_READY && !c->closing && c->inflight.count < c->th->opt->window) {
        if (request_send(c, now) != 0)
            return;
    }
}
