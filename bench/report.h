/*
 * The results of a run: human-readable lines on stdout, or with --json
 * exactly one JSON object (one line) on stdout. Latencies are in
 * microseconds in JSON, with units in the text.
 */
#ifndef TS_BENCH_REPORT_H
#define TS_BENCH_REPORT_H

#include "bench.h"

/* Print the report of a finished run (sorting its error counts first).
 * 0, or -1 when stdout failed. */
int report_print(struct bench_run *run);

#endif /* TS_BENCH_REPORT_H */
