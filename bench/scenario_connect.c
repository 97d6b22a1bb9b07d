/*
 * connect: -c workers, each repeatedly opening a connection, completing
 * the hello and handshake (and with --request one round trip), and
 * closing with a CLOSE frame. Measures full new handshakes per second
 * and their latency, from connect() to the channel being established.
 * Failures are counted by reason (refused, server full, timeouts...).
 */
#include <stdio.h>

#include "request.h"
#include "scenario.h"

/* A worker whose attempt failed waits this long before the next, so a
 * refusing server is measured rather than spun against. */
#define CONNECT_RETRY_US 1000u

static int connect_check(struct bench_options *opt)
{
    if ((opt->given & (OPT_PAYLOAD | OPT_SIGN)) && !opt->request) {
        bench_error("--size and --sign need --request in the connect scenario");
        return -1;
    }
    opt->window = opt->request ? 1 : 0;
    return 0;
}

/* With --request every worker needs its own sequence numbers (see
 * keys.h); bare handshakes can share one identity. */
static unsigned connect_keys(const struct bench_options *opt)
{
    return opt->request ? opt->connections : 1;
}

static uint64_t connect_tick(struct bench_thread *th, uint64_t now)
{
    struct bench_run *run = th->run;
    uint64_t go = atomic_load(&run->go_us), wake = UINT64_MAX;

    if (go == 0 || now < go)
        return go != 0 ? go : UINT64_MAX;
    th->begun = true;
    if (scenario_drain(th, now, th->pending + loop_in_flight(th)))
        return now + 1000;
    for (unsigned i = 0; i < th->n_conns; i++) {
        struct bench_conn *c = &th->conns[i];

        if (c->phase != CONN_FREE)
            continue;
        if (c->retry_us <= now)
            (void)conn_connect(c, now);
        else if (c->retry_us < wake)
            wake = c->retry_us;
    }
    return wake;
}

static void connect_ready(struct bench_conn *c, uint64_t now)
{
    struct bench_thread *th = c->th;

    atomic_fetch_add(&th->run->opened, 1);
    if (bench_in_window(th->run, now)) {
        th->stats.handshakes++;
        histogram_record(&th->stats.handshake, now - c->started_us);
    }
    if (th->opt->request)
        (void)request_send(c, now);
    else
        conn_finish(c, NULL);
}

static int connect_message(struct bench_conn *c, uint8_t *data, size_t len, uint64_t now)
{
    if (request_receive(c, data, len, now, NULL) != REQUEST_OTHER)
        conn_finish(c, NULL);
    return 0;
}

static void connect_closed(struct bench_conn *c, const char *failure, uint64_t now)
{
    /* The next attempt starts on the next loop turn. */
    c->retry_us = failure != NULL ? now + CONNECT_RETRY_US : now;
}

static int connect_coordinate(struct bench_run *run)
{
    const struct bench_options *opt = run->opt;

    scenario_measure(run, opt->warmup_ms * 1000u, opt->duration_ms * 1000u);
    return 0;
}

const struct scenario scenario_connect = {
    .name = "connect",
    .summary = "full new connections (hello + handshake) per second",
    .accepts = OPT_PAYLOAD | OPT_SIGN | OPT_WARMUP | OPT_REQUEST,
    .check = connect_check,
    .keys_needed = connect_keys,
    .thread_tick = connect_tick,
    .on_ready = connect_ready,
    .on_message = connect_message,
    .on_closed = connect_closed,
    .coordinate = connect_coordinate,
};
