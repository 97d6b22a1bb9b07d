#include "histogram.h"

#include <string.h>

void histogram_init(struct histogram *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

/*
 * Bucket of v: with shift = max(0, msb(v) - SUB_BITS), the top SUB_BITS+1
 * bits of v (v >> shift, between SUB_BUCKETS and 2*SUB_BUCKETS-1 once
 * shift > 0) select one of SUB_BUCKETS buckets in the half-range of that
 * shift. Values below 2*SUB_BUCKETS have shift 0 and map to themselves.
 */
unsigned histogram_bucket(uint64_t value)
{
    unsigned msb, shift;

    if (value > HISTOGRAM_MAX_VALUE)
        value = HISTOGRAM_MAX_VALUE;
    if (value < 2 * HISTOGRAM_SUB_BUCKETS)
        return (unsigned)value;
    msb = 63u - (unsigned)__builtin_clzll(value);
    shift = msb - HISTOGRAM_SUB_BITS;
    return HISTOGRAM_SUB_BUCKETS * shift + (unsigned)(value >> shift);
}

static unsigned bucket_shift(unsigned bucket)
{
    return bucket < 2 * HISTOGRAM_SUB_BUCKETS ? 0 : bucket / HISTOGRAM_SUB_BUCKETS - 1;
}

uint64_t histogram_bucket_low(unsigned bucket)
{
    unsigned shift = bucket_shift(bucket);

    return (uint64_t)(bucket - HISTOGRAM_SUB_BUCKETS * shift) << shift;
}

uint64_t histogram_bucket_high(unsigned bucket)
{
    unsigned shift = bucket_shift(bucket);

    return histogram_bucket_low(bucket) + ((UINT64_C(1) << shift) - 1);
}

void histogram_record(struct histogram *h, uint64_t value)
{
    h->counts[histogram_bucket(value)]++;
    h->total++;
    if (value < h->min)
        h->min = value;
    if (value > h->max)
        h->max = value;
    h->sum = value > UINT64_MAX - h->sum ? UINT64_MAX : h->sum + value;
}

void histogram_merge(struct histogram *dst, const struct histogram *src)
{
    for (unsigned i = 0; i < HISTOGRAM_BUCKETS; i++)
        dst->counts[i] += src->counts[i];
    dst->total += src->total;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    dst->sum = src->sum > UINT64_MAX - dst->sum ? UINT64_MAX : dst->sum + src->sum;
}

uint64_t histogram_percentile(const struct histogram *h, double p)
{
    uint64_t rank, seen = 0;
    double want;

    if (h->total == 0)
        return 0;
    if (p >= 100.0)
        return h->max;
    /* Rounded to the nearest rank as HdrHistogram does, so p99.9 of 1000
     * values is the 999th and not, through a rounding error, the 1000th. */
    want = p / 100.0 * (double)h->total + 0.5;
    rank = want < 1.0 ? 1 : (uint64_t)want;
    for (unsigned i = 0; i < HISTOGRAM_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t high = histogram_bucket_high(i);
            return high < h->max ? high : h->max;
        }
    }
    return h->max;
}

double histogram_mean(const struct histogram *h)
{
    return h->total == 0 ? 0.0 : (double)h->sum / (double)h->total;
}
