/*
 * The latency histogram of tcp_bench: bucket boundaries, percentiles
 * within the promised precision, merging, and the edges (empty, zero,
 * values past the largest bucket).
 */
#include "support.h"

#include <stdlib.h>

/* Unit tests link only the library; the histogram belongs to tcp_bench. */
#include "../../bench/histogram.c"

/* A deterministic generator, so failures reproduce. */
static uint64_t next_random(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void test_buckets_tile_the_range(void **state)
{
    uint64_t expect_low = 0;

    for (unsigned b = 0; b < HISTOGRAM_BUCKETS; b++) {
        uint64_t low = histogram_bucket_low(b), high = histogram_bucket_high(b);

        /* Buckets are contiguous, ordered, and each value maps back. */
        assert_int_equal(low, expect_low);
        assert_true(high >= low);
        assert_int_equal(histogram_bucket(low), b);
        assert_int_equal(histogram_bucket(high), b);
        /* Width within 1/128 of the values it holds. */
        assert_true((high - low) * HISTOGRAM_SUB_BUCKETS <= (low > 0 ? low : 1));
        expect_low = high + 1;
    }
    assert_int_equal(expect_low - 1, HISTOGRAM_MAX_VALUE);
}

static void test_small_values_are_exact(void **state)
{
    struct histogram h;

    histogram_init(&h);
    for (uint64_t v = 1; v <= 100; v++)
        histogram_record(&h, v);
    assert_int_equal(h.total, 100);
    assert_int_equal(histogram_percentile(&h, 50.0), 50);
    assert_int_equal(histogram_percentile(&h, 90.0), 90);
    assert_int_equal(histogram_percentile(&h, 99.0), 99);
    assert_int_equal(histogram_percentile(&h, 99.9), 100);
    assert_int_equal(histogram_percentile(&h, 100.0), 100);
    assert_int_equal(h.min, 1);
    assert_int_equal(h.max, 100);
    assert_true(histogram_mean(&h) > 50.49 && histogram_mean(&h) < 50.51);
}

static void test_empty_and_zero(void **state)
{
    struct histogram h;

    histogram_init(&h);
    assert_int_equal(histogram_percentile(&h, 50.0), 0);
    assert_int_equal(histogram_percentile(&h, 99.9), 0);
    assert_true(histogram_mean(&h) == 0.0);
    histogram_record(&h, 0);
    assert_int_equal(histogram_percentile(&h, 50.0), 0);
    assert_int_equal(h.max, 0);
    assert_int_equal(h.min, 0);
}

/* Percentiles of log-uniform values from 1 us to 100 s agree with the
 * exact order statistics within 1%. */
static void test_percentiles_within_one_percent(void **state)
{
    enum { N = 200000 };
    static const double ps[] = {1.0, 10.0, 50.0, 90.0, 99.0, 99.9, 99.99};
    uint64_t *values = malloc(N * sizeof(*values));
    uint64_t rng = 0x9e3779b97f4a7c15u;
    struct histogram h;

    assert_non_null(values);
    histogram_init(&h);
    for (size_t i = 0; i < N; i++) {
        unsigned bits = (unsigned)(next_random(&rng) % 27);
        uint64_t v = 1 + next_random(&rng) % ((UINT64_C(1) << bits) + 1);
        values[i] = v;
        histogram_record(&h, v);
    }
    qsort(values, N, sizeof(*values), cmp_u64);
    for (size_t k = 0; k < sizeof(ps) / sizeof(ps[0]); k++) {
        size_t rank = (size_t)((ps[k] / 100.0) * N + 0.5);
        uint64_t exact = values[rank - 1], got = histogram_percentile(&h, ps[k]);

        assert_true(got >= exact);
        assert_true((double)(got - exact) <= (double)exact * 0.01);
    }
    assert_int_equal(histogram_percentile(&h, 100.0), values[N - 1]);
    free(values);
}

static void test_merge_equals_recording_once(void **state)
{
    struct histogram a, b, all;
    uint64_t rng = 12345;

    histogram_init(&a);
    histogram_init(&b);
    histogram_init(&all);
    for (int i = 0; i < 50000; i++) {
        uint64_t v = next_random(&rng) % 5000000;
        histogram_record(i % 3 == 0 ? &a : &b, v);
        histogram_record(&all, v);
    }
    histogram_merge(&a, &b);
    assert_int_equal(a.total, all.total);
    assert_int_equal(a.min, all.min);
    assert_int_equal(a.max, all.max);
    assert_int_equal(a.sum, all.sum);
    assert_memory_equal(a.counts, all.counts, sizeof(a.counts));
    assert_int_equal(histogram_percentile(&a, 99.9), histogram_percentile(&all, 99.9));
}

static void test_merge_into_empty_and_of_empty(void **state)
{
    struct histogram a, empty;

    histogram_init(&a);
    histogram_init(&empty);
    histogram_record(&a, 700);
    histogram_merge(&a, &empty);
    assert_int_equal(a.total, 1);
    assert_int_equal(a.min, 700);
    histogram_merge(&empty, &a);
    assert_int_equal(empty.total, 1);
    assert_int_equal(empty.min, 700);
    assert_int_equal(empty.max, 700);
}

static void test_huge_values_clamp_but_max_is_exact(void **state)
{
    struct histogram h;

    histogram_init(&h);
    histogram_record(&h, UINT64_MAX);
    histogram_record(&h, HISTOGRAM_MAX_VALUE + 5);
    assert_int_equal(h.counts[HISTOGRAM_BUCKETS - 1], 2);
    assert_int_equal(h.max, UINT64_MAX);
    /* The sum saturates instead of wrapping round to a small mean. */
    assert_int_equal(h.sum, UINT64_MAX);
    assert_int_equal(histogram_percentile(&h, 50.0), HISTOGRAM_MAX_VALUE);
    assert_int_equal(histogram_percentile(&h, 100.0), UINT64_MAX);
}

/* A single slow outlier among fast values shows in max and p99.9 only. */
static void test_tail_is_visible(void **state)
{
    struct histogram h;

    histogram_init(&h);
    for (int i = 0; i < 999; i++)
        histogram_record(&h, 100);
    histogram_record(&h, 50000);
    assert_int_equal(histogram_percentile(&h, 99.0), 100);
    assert_int_equal(histogram_percentile(&h, 99.9), 100);
    assert_int_equal(histogram_percentile(&h, 99.99), 50000);
    assert_int_equal(h.max, 50000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buckets_tile_the_range),
        cmocka_unit_test(test_small_values_are_exact),
        cmocka_unit_test(test_empty_and_zero),
        cmocka_unit_test(test_percentiles_within_one_percent),
        cmocka_unit_test(test_merge_equals_recording_once),
        cmocka_unit_test(test_merge_into_empty_and_of_empty),
        cmocka_unit_test(test_huge_values_clamp_but_max_is_exact),
        cmocka_unit_test(test_tail_is_visible),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
