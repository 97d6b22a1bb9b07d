/*
 * Latency histogram with log-linear buckets (in the manner of
 * HdrHistogram): values below 256 have a bucket each; above that every
 * power of two is split into 128 equal buckets, so a recorded value is
 * known to within 1/128 (under 0.8%) at any magnitude. Counts are plain
 * integers, so histograms of several threads merge by addition.
 *
 * Values are unsigned integers in whatever unit the caller uses
 * (tcp_bench records microseconds). Values above HISTOGRAM_MAX_VALUE are
 * counted in the last bucket; min, max and the mean stay exact.
 */
#ifndef TS_BENCH_HISTOGRAM_H
#define TS_BENCH_HISTOGRAM_H

#include <stdint.h>

#define HISTOGRAM_SUB_BITS 7
#define HISTOGRAM_SUB_BUCKETS (1u << HISTOGRAM_SUB_BITS) /* per power of two */
/* 2^36 us is about 19 hours: far beyond any latency worth resolving. */
#define HISTOGRAM_MAX_BITS 36
#define HISTOGRAM_MAX_VALUE ((UINT64_C(1) << HISTOGRAM_MAX_BITS) - 1)
#define HISTOGRAM_BUCKETS                                                      \
    (HISTOGRAM_SUB_BUCKETS * (HISTOGRAM_MAX_BITS - HISTOGRAM_SUB_BITS + 1))

struct histogram {
    uint64_t counts[HISTOGRAM_BUCKETS];
    uint64_t total; /* values recorded */
    uint64_t min;   /* exact; UINT64_MAX while empty */
    uint64_t max;   /* exact; 0 while empty */
    uint64_t sum;   /* for the mean; saturates instead of wrapping */
};

/* Empty the histogram. */
void histogram_init(struct histogram *h);

/* Count one value. */
void histogram_record(struct histogram *h, uint64_t value);

/* Add every count of src to dst (src is unchanged). */
void histogram_merge(struct histogram *dst, const struct histogram *src);

/*
 * The value at percentile p (0 < p <= 100): the value of rank
 * round(p% of the count) in increasing order, reported as the upper end
 * of its bucket but never above the exact maximum. 0 when the histogram
 * is empty.
 */
uint64_t histogram_percentile(const struct histogram *h, double p);

/* Arithmetic mean of the recorded values; 0 when empty. */
double histogram_mean(const struct histogram *h);

/* The bucket a value falls in, and the smallest and largest value of a
 * bucket (exposed for the unit tests). */
unsigned histogram_bucket(uint64_t value);
uint64_t histogram_bucket_low(unsigned bucket);
uint64_t histogram_bucket_high(unsigned bucket);

#endif /* TS_BENCH_HISTOGRAM_H */
