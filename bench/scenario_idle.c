/*
 * idle: open -c connections, paced (at most SCENARIO_OPEN_WINDOW
 * handshakes in progress, and --rate connections per second when given),
 * confirm each with a ping round trip (so the server has finished its
 * side of the handshake), then hold them for -d while the channel
 * answers the server's heartbeat pings. With --server-pid the server's
 * resident memory is read before the first connection and once all are
 * confirmed, giving its growth per connection.
 */
#include <stdio.h>
#include <string.h>

#include "proc.h"
#include "run.h"
#include "scenario.h"

static int idle_check(struct bench_options *opt)
{
    if ((opt->given & OPT_RATE) && opt->rate == 0) {
        bench_error("--rate must be at least 1");
        return -1;
    }
    opt->window = 0;
    return 0;
}

static unsigned idle_keys(const struct bench_options *opt)
{
    return 1;
}

static uint64_t idle_tick(struct bench_thread *th, uint64_t now)
{
    uint64_t go = atomic_load(&th->run->go_us);

    if (go == 0)
        return UINT64_MAX;
    if (!th->begun) {
        th->begun = true;
        pace_start(&th->open_pace, scenario_thread_rate(th, th->opt->rate), go);
    }
    return loop_open_more(th, now, scenario_open_window(th));
}

static void idle_ready(struct bench_conn *c, uint64_t now)
{
    /* Only the answer proves the server completed the handshake. */
    (void)conn_ping(c);
}

static void idle_pong(struct bench_conn *c, uint64_t now)
{
    struct bench_thread *th = c->th;

    if (c->confirmed)
        return;
    c->confirmed = true;
    th->stats.handshakes++;
    histogram_record(&th->stats.handshake, now - c->started_us);
    atomic_fetch_add(&th->run->opened, 1);
}

static void idle_closed(struct bench_conn *c, const char *failure, uint64_t now)
{
    if (c->th->stopping)
        return;
    if (c->confirmed)
        atomic_fetch_add(&c->th->run->dropped, 1);
    else
        atomic_fetch_add(&c->th->run->open_failed, 1);
}

static void read_rss(const struct bench_run *run, uint64_t *out)
{
    int err = proc_rss_kib(run->opt->server_pid, out);

    if (err != 0)
        bench_error("cannot read the memory of process %d: %s", (int)run->opt->server_pid,
                    strerror(err));
}

static int idle_coordinate(struct bench_run *run)
{
    const struct bench_options *opt = run->opt;
    uint64_t start, hold_end;

    start = bench_now_us();
    atomic_store(&run->measure_us, start);
    atomic_store(&run->go_us, start);
    if (scenario_wait_opened(run) != 0 && run->threads_done == run->n_threads)
        return -1;
    run->open_phase_us = bench_now_us() - start;
    if (run->rss.measured)
        read_rss(run, &run->rss.after_kib);
    if (!run->interrupted) {
        hold_end = bench_now_us() + opt->duration_ms * 1000u;
        (void)run_sleep_until(run, hold_end);
    }
    run->window_us = bench_now_us() - start - run->open_phase_us;
    if (run->rss.measured)
        read_rss(run, &run->rss.end_kib);
    return 0;
}

const struct scenario scenario_idle = {
    .name = "idle",
    .summary = "open -c connections and hold them for -d",
    .accepts = OPT_RATE | OPT_SERVER_PID,
    .check = idle_check,
    .keys_needed = idle_keys,
    .thread_tick = idle_tick,
    .on_ready = idle_ready,
    .on_pong = idle_pong,
    .on_closed = idle_closed,
    .coordinate = idle_coordinate,
};
