/*
 * The reconnect schedule (src/client/backoff.h): ceilings that double from
 * the initial delay up to the cap, full jitter within [0, ceiling], reset
 * after a session, no overflow however long the outage.
 */
#include "support.h"

#include <stdint.h>

#include "client/backoff.h"

/* Pinned draws: the largest and the smallest value uniform() may give. */
static uint32_t draw_max(uint32_t upper)
{
    return upper - 1;
}

static uint32_t draw_min(uint32_t upper)
{
    (void)upper;
    return 0;
}

/* A broken source returning more than asked must still be clamped. */
static uint32_t draw_too_big(uint32_t upper)
{
    return upper + 1000;
}

static uint32_t last_upper;

static uint32_t draw_record(uint32_t upper)
{
    last_upper = upper;
    return upper / 2;
}

static void test_ceiling_doubles_to_cap(void **state)
{
    struct backoff b;
    const uint32_t expected[] = {500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000};

    (void)state;
    backoff_init(&b, 500, 30000);
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
        assert_int_equal(backoff_ceiling(&b), expected[i]);
        /* With the largest draw, the delay is the ceiling itself. */
        assert_int_equal(backoff_next(&b, draw_max), expected[i]);
    }
}

static void test_jitter_draws_from_zero_to_ceiling(void **state)
{
    struct backoff b;

    (void)state;
    backoff_init(&b, 100, 1000);
    assert_int_equal(backoff_next(&b, draw_min), 0);
    assert_int_equal(b.attempt, 1);
    /* The source is asked for [0, ceiling + 1): ceiling included. */
    (void)backoff_next(&b, draw_record);
    assert_int_equal(last_upper, 201);
    assert_int_equal(backoff_next(&b, draw_too_big), 400);
}

static void test_real_draws_stay_in_bounds(void **state)
{
    struct backoff b;
    uint64_t sum = 0;
    uint32_t lowest = UINT32_MAX, highest = 0;

    (void)state;
    /* Attempt 3 and later: ceiling 800. */
    for (int i = 0; i < 2000; i++) {
        uint32_t d;

        backoff_init(&b, 100, 800);
        b.attempt = 3 + (uint32_t)(i % 5);
        d = backoff_next(&b, NULL);
        assert_true(d <= 800);
        sum += d;
        lowest = d < lowest ? d : lowest;
        highest = d > highest ? d : highest;
    }
    /* Spread over the range, not stuck at one end: mean near 400. */
    assert_true(sum / 2000 > 300 && sum / 2000 < 500);
    assert_true(lowest < 100);
    assert_true(highest > 700);
}

static void test_reset_after_session(void **state)
{
    struct backoff b;

    (void)state;
    backoff_init(&b, 250, 4000);
    for (int i = 0; i < 6; i++)
        (void)backoff_next(&b, draw_max);
    assert_int_equal(backoff_ceiling(&b), 4000);
    backoff_reset(&b);
    assert_int_equal(b.attempt, 0);
    assert_int_equal(backoff_ceiling(&b), 250);
    assert_int_equal(backoff_next(&b, draw_max), 250);
}

static void test_no_overflow_on_long_outage(void **state)
{
    struct backoff b;

    (void)state;
    backoff_init(&b, 3000000000u, UINT32_MAX);
    b.attempt = 200;
    assert_int_equal(backoff_ceiling(&b), UINT32_MAX);
    assert_true(backoff_next(&b, draw_max) <= UINT32_MAX);
    b.attempt = UINT32_MAX;
    (void)backoff_next(&b, draw_min);
    assert_int_equal(b.attempt, UINT32_MAX);

    backoff_init(&b, 1, 60000);
    b.attempt = 1000000;
    assert_int_equal(backoff_ceiling(&b), 60000);
}

static void test_init_normalises(void **state)
{
    struct backoff b;

    (void)state;
    backoff_init(&b, 0, 0);
    assert_int_equal(b.initial_ms, 1);
    assert_int_equal(b.max_ms, 1);
    backoff_init(&b, 2000, 500);
    assert_int_equal(b.max_ms, 2000);
    assert_int_equal(backoff_ceiling(&b), 2000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ceiling_doubles_to_cap),
        cmocka_unit_test(test_jitter_draws_from_zero_to_ceiling),
        cmocka_unit_test(test_real_draws_stay_in_bounds),
        cmocka_unit_test(test_reset_after_session),
        cmocka_unit_test(test_no_overflow_on_long_outage),
        cmocka_unit_test(test_init_normalises),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
