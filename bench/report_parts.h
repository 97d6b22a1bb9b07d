/*
 * Inside the report (report.h): what report.c derives from a run once,
 * and the pieces every scenario's lines and JSON members are made of.
 * report_chat.c adds the chat and fanout parts.
 */
#ifndef TS_BENCH_REPORT_PARTS_H
#define TS_BENCH_REPORT_PARTS_H

#include <jansson.h>
#include <stdint.h>

#include "bench.h"

#define MB 1e6

/* What the report says, derived once from the run. */
struct summary {
    const struct bench_run *run;
    const struct bench_options *opt;
    const struct bench_stats *s;
    double window_s;
    const char *rate_unit;
    double rate;
    const struct histogram *latency;         /* the scenario's main latency */
    const struct histogram *request_latency; /* connect --request only */
    unsigned established, dropped, open_failed;
};

/* n per second over seconds (0 for an empty window). */
double report_per_second(uint64_t n, double seconds);

/* One text line: label, then p50 ... max, mean and the sample count. */
void report_text_latency(const char *label, const struct histogram *h);

/* The same as a JSON object, in microseconds. */
json_t *report_json_latency(const struct histogram *h);

/* chat and fanout: their text lines, and their JSON members added to o. */
void report_chat_text(const struct summary *sm);
void report_chat_json(const struct summary *sm, json_t *o);

#endif /* TS_BENCH_REPORT_PARTS_H */
