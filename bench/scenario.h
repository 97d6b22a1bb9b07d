/*
 * Pieces shared by the scenario files.
 */
#ifndef TS_BENCH_SCENARIO_H
#define TS_BENCH_SCENARIO_H

#include <stdbool.h>
#include <stdint.h>

#include "bench.h"
#include "loop.h"

/* Handshakes in progress at once while opening connections, over all
 * threads: far below the server's accept backlog, so none are dropped
 * by the kernel while the server catches up. */
#define SCENARIO_OPEN_WINDOW 256u
/* After the window closes, answers still in flight get this long. */
#define SCENARIO_DRAIN_US (2u * 1000u * 1000u)

/* This thread's share of SCENARIO_OPEN_WINDOW (at least 1). */
unsigned scenario_open_window(const struct bench_thread *th);

/* This thread's share of a run-wide rate, by its number of slots. */
double scenario_thread_rate(const struct bench_thread *th, uint64_t rate);

/* After the window: mark the thread done once busy reaches 0 or the drain
 * time is over. True when past the end of the window. */
bool scenario_drain(struct bench_thread *th, uint64_t now, unsigned busy);

/* Main thread: wait until every connection is ready or has failed.
 * 0, or -1 when the run was interrupted or every thread has stopped. */
int scenario_wait_opened(struct bench_run *run);

/* Main thread: start the measured window now (after the warmup) and
 * sleep until it ends; then wait for the threads to finish. */
void scenario_measure(struct bench_run *run, uint64_t warmup_us, uint64_t duration_us);

/* Main thread, for scenarios that open every connection first (reqresp,
 * chat, fanout): wait until each is ready or failed (the time taken goes
 * to run->open_phase_us), then run the warmup and the measured window.
 * 0, or -1 when not one connection got ready or the run was cut short
 * before. */
int scenario_coordinate_load(struct bench_run *run);

/* Closed loop: send on c until its window (--pipeline) is in flight. */
void scenario_fill_window(struct bench_conn *c, uint64_t now);

#endif /* TS_BENCH_SCENARIO_H */
