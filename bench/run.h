/*
 * Running a scenario: the loop threads, the main thread's waiting
 * (interruptible by SIGINT/SIGTERM, which end the measurement early and
 * still report it), and the merge of what the threads measured.
 */
#ifndef TS_BENCH_RUN_H
#define TS_BENCH_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "bench.h"

/* How often the main thread looks at the threads' progress. */
#define RUN_POLL_US 5000u
/* The measured phase starts this far after it is announced. */
#define RUN_START_LEAD_US 50000u

/*
 * Make the keys, start one loop thread per --threads, let the scenario
 * coordinate the phases, stop and join the threads, and merge their
 * results into run->total. 0, or -1 after printing why.
 */
int run_execute(struct bench_run *run);

/* Release what run_execute() allocated. */
void run_free(struct bench_run *run);

/* Sleep until deadline (monotonic microseconds). False when a signal
 * interrupted the run (run->interrupted is then set) or every thread has
 * stopped. */
bool run_sleep_until(struct bench_run *run, uint64_t deadline_us);

/* Wait until every loop thread has finished its scenario. */
void run_wait_threads(struct bench_run *run);

#endif /* TS_BENCH_RUN_H */
