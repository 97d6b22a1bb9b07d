/*
 * reqresp: request/response round trips over -c connections.
 *
 * Closed loop (default): each connection keeps --pipeline requests in
 * flight and sends the next as soon as an answer arrives, so the rate is
 * whatever the server sustains. Open loop (--rate N): requests leave at
 * fixed intervals whatever the answers do, and latency counts from when
 * each was due, so queueing delay cannot hide behind a slow sender
 * (coordinated omission).
 */
#include <stdio.h>

#include "request.h"
#include "scenario.h"

/* Sends per loop turn when the open loop has fallen behind, so input
 * keeps being read while it catches up. */
#define REQRESP_BURST_MAX 256u

static int reqresp_check(struct bench_options *opt)
{
    if ((opt->given & OPT_RATE) && (opt->given & OPT_PIPELINE)) {
        bench_error("--pipeline and --rate exclude each other: with --rate, requests "
                    "leave on schedule (up to %u in flight per connection)",
                    REQUEST_OPEN_LOOP_WINDOW);
        return -1;
    }
    if ((opt->given & OPT_RATE) && opt->rate == 0) {
        bench_error("--rate must be at least 1");
        return -1;
    }
    opt->window = (opt->given & OPT_RATE) ? REQUEST_OPEN_LOOP_WINDOW : opt->pipeline;
    return 0;
}

/* Every connection needs its own sequence numbers (see keys.h). */
static unsigned reqresp_keys(const struct bench_options *opt)
{
    return opt->connections;
}

/* The next ready connection after the last one used, or NULL. */
static struct bench_conn *next_ready(struct bench_thread *th)
{
    for (unsigned k = 0; k < th->n_conns; k++) {
        struct bench_conn *c = &th->conns[th->next_sender];

        th->next_sender = (th->next_sender + 1) % th->n_conns;
        if (c->phase == CONN_READY && !c->closing)
            return c;
    }
    return NULL;
}

/* Open loop: send every request that is due. */
static uint64_t send_due(struct bench_thread *th, uint64_t now, uint64_t end)
{
    for (unsigned sent = 0; sent < REQRESP_BURST_MAX; sent++) {
        uint64_t due = pace_next_us(&th->send_pace);
        struct bench_conn *c;

        if (due >= end)
            return end;
        if (due > now)
            return due;
        if ((c = next_ready(th)) == NULL) {
            tally_add(&th->stats.errors, "no_connection", 1);
        } else {
            uint64_t at = bench_now_us();

            /* How far the generator itself fell behind its schedule: a
             * latency tail that shows here too is ours, not the server's. */
            if (request_send(c, due) == 0 && bench_in_window(th->run, due))
                histogram_record(&th->stats.send_lag, at - due);
        }
        th->send_pace.issued++;
    }
    return now; /* behind schedule: come back after one look at input */
}

static void begin(struct bench_thread *th, uint64_t go, uint64_t now)
{
    th->begun = true;
    if (th->opt->given & OPT_RATE) {
        pace_start(&th->send_pace, scenario_thread_rate(th, th->opt->rate), go);
        return;
    }
    for (unsigned i = 0; i < th->n_conns; i++)
        scenario_fill_window(&th->conns[i], now);
}

static uint64_t reqresp_tick(struct bench_thread *th, uint64_t now)
{
    struct bench_run *run = th->run;
    uint64_t go = atomic_load(&run->go_us), end, wake;

    wake = loop_open_more(th, now, scenario_open_window(th));
    if (go == 0 || now < go)
        return go != 0 && go < wake ? go : wake;
    end = atomic_load(&run->end_us);
    if (!th->begun)
        begin(th, go, now);
    if (scenario_drain(th, now, loop_in_flight(th)))
        return now + 1000;
    if (th->opt->given & OPT_RATE)
        return send_due(th, now, end);
    return end;
}

static void reqresp_ready(struct bench_conn *c, uint64_t now)
{
    atomic_fetch_add(&c->th->run->opened, 1);
    /* A connection that arrives late joins a closed loop at once. */
    if (c->th->begun && !(c->th->opt->given & OPT_RATE) &&
        now < atomic_load(&c->th->run->end_us))
        scenario_fill_window(c, now);
}

static int reqresp_message(struct bench_conn *c, uint8_t *data, size_t len, uint64_t now)
{
    struct bench_thread *th = c->th;

    if (request_receive(c, data, len, now, NULL) != REQUEST_OTHER &&
        !(th->opt->given & OPT_RATE) &&
        now < atomic_load(&th->run->end_us) && !th->stopping)
        scenario_fill_window(c, now);
    return 0;
}

static void reqresp_closed(struct bench_conn *c, const char *failure, uint64_t now)
{
    if (c->th->stopping)
        return;
    if (!c->was_ready)
        atomic_fetch_add(&c->th->run->open_failed, 1);
    else if (failure != NULL)
        atomic_fetch_add(&c->th->run->dropped, 1);
}

const struct scenario scenario_reqresp = {
    .name = "reqresp",
    .summary = "request/response round trips over -c connections",
    .accepts = OPT_PAYLOAD | OPT_PIPELINE | OPT_RATE | OPT_SIGN | OPT_WARMUP,
    .check = reqresp_check,
    .keys_needed = reqresp_keys,
    .thread_tick = reqresp_tick,
    .on_ready = reqresp_ready,
    .on_message = reqresp_message,
    .on_closed = reqresp_closed,
    .coordinate = scenario_coordinate_load,
};
