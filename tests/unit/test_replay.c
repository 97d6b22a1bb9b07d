/*
 * The per-sender replay window.
 */
#include "support.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <tcpseal/envelope.h>

static void test_first_and_duplicates(void **state)
{
    ts_replay_window w;

    ts_replay_window_init(&w);
    assert_int_equal(ts_replay_window_accept(&w, 0), TS_ERR_INVALID);
    assert_int_equal(ts_replay_window_check(&w, 0), TS_ERR_INVALID);
    assert_int_equal(ts_replay_window_check(&w, 1), TS_OK);
    assert_int_equal(ts_replay_window_accept(&w, 1), TS_OK);
    assert_int_equal(ts_replay_window_check(&w, 1), TS_ERR_DUPLICATE);
    assert_int_equal(ts_replay_window_accept(&w, 1), TS_ERR_DUPLICATE);
    assert_int_equal(ts_replay_window_accept(&w, 2), TS_OK);
    assert_int_equal(ts_replay_window_accept(&w, 2), TS_ERR_DUPLICATE);
    assert_int_equal(ts_replay_window_accept(&w, 1), TS_ERR_DUPLICATE);
}

/* The first number need not be 1 (a client resuming a session). */
static void test_first_is_large(void **state)
{
    ts_replay_window w;

    ts_replay_window_init(&w);
    assert_int_equal(ts_replay_window_accept(&w, 5000), TS_OK);
    assert_int_equal(ts_replay_window_accept(&w, 4999), TS_OK);
    assert_int_equal(ts_replay_window_accept(&w, 5000 - TS_REPLAY_WINDOW + 1), TS_OK);
    assert_int_equal(ts_replay_window_accept(&w, 5000 - TS_REPLAY_WINDOW),
                     TS_ERR_DUPLICATE);
}

static void test_reordering(void **state)
{
    ts_replay_window w;
    const uint64_t order[] = {10, 3, 7, 1, 2, 9, 4, 8, 5, 6};

    ts_replay_window_init(&w);
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
        assert_int_equal(ts_replay_window_accept(&w, order[i]), TS_OK);
    for (uint64_t seq = 1; seq <= 10; seq++)
        assert_int_equal(ts_replay_window_accept(&w, seq), TS_ERR_DUPLICATE);
    assert_int_equal(ts_replay_window_accept(&w, 11), TS_OK);
}

static void test_window_edge(void **state)
{
    ts_replay_window w;
    const uint64_t top = 2000;

    ts_replay_window_init(&w);
    assert_int_equal(ts_replay_window_accept(&w, top), TS_OK);
    /* Offset TS_REPLAY_WINDOW - 1 is the oldest still told apart. */
    assert_int_equal(ts_replay_window_accept(&w, top - (TS_REPLAY_WINDOW - 1)), TS_OK);
    assert_int_equal(ts_replay_window_accept(&w, top - (TS_REPLAY_WINDOW - 1)),
                     TS_ERR_DUPLICATE);
    assert_int_equal(ts_replay_window_check(&w, top - TS_REPLAY_WINDOW),
                     TS_ERR_DUPLICATE);
    assert_int_equal(ts_replay_window_accept(&w, 1), TS_ERR_DUPLICATE);
}

static void test_jumps(void **state)
{
    ts_replay_window w;

    ts_replay_window_init(&w);
    for (uint64_t seq = 1; seq <= 10; seq++)
        assert_int_equal(ts_replay_window_accept(&w, seq), TS_OK);

    /* A jump of exactly one window less one keeps 10 in view. */
    assert_int_equal(ts_replay_window_accept(&w, 10 + TS_REPLAY_WINDOW - 1), TS_OK);
    assert_int_equal(ts_replay_window_check(&w, 10), TS_ERR_DUPLICATE);
    assert_int_equal(ts_replay_window_check(&w, 11), TS_OK);
    assert_int_equal(ts_replay_window_check(&w, 9), TS_ERR_DUPLICATE); /* too old */

    /* A jump larger than the window forgets everything below it. */
    assert_int_equal(ts_replay_window_accept(&w, 100000), TS_OK);
    assert_int_equal(ts_replay_window_check(&w, 100000 - 1), TS_OK);
    assert_int_equal(ts_replay_window_check(&w, 100000 - TS_REPLAY_WINDOW + 1), TS_OK);
    assert_int_equal(ts_replay_window_check(&w, 10 + TS_REPLAY_WINDOW - 1),
                     TS_ERR_DUPLICATE);

    /* Jumps by word-sized and odd amounts keep exact bits. */
    assert_int_equal(ts_replay_window_accept(&w, 100000 + 64), TS_OK);
    assert_int_equal(ts_replay_window_check(&w, 100000), TS_ERR_DUPLICATE);
    assert_int_equal(ts_replay_window_accept(&w, 100000 + 64 + 65), TS_OK);
    assert_int_equal(ts_replay_window_check(&w, 100000), TS_ERR_DUPLICATE);
    assert_int_equal(ts_replay_window_check(&w, 100000 + 64), TS_ERR_DUPLICATE);
    assert_int_equal(ts_replay_window_check(&w, 100001), TS_OK);
}

static void test_top_of_range(void **state)
{
    ts_replay_window w;

    ts_replay_window_init(&w);
    assert_int_equal(ts_replay_window_accept(&w, UINT64_MAX), TS_OK);
    assert_int_equal(ts_replay_window_accept(&w, UINT64_MAX), TS_ERR_DUPLICATE);
    assert_int_equal(ts_replay_window_accept(&w, UINT64_MAX - 1), TS_OK);
    assert_int_equal(ts_replay_window_accept(&w, 1), TS_ERR_DUPLICATE);
}

/* check never changes the window. */
static void test_check_is_read_only(void **state)
{
    ts_replay_window w, before;

    ts_replay_window_init(&w);
    assert_int_equal(ts_replay_window_accept(&w, 50), TS_OK);
    memcpy(&before, &w, sizeof(w));
    assert_int_equal(ts_replay_window_check(&w, 5000), TS_OK);
    assert_int_equal(ts_replay_window_check(&w, 49), TS_OK);
    assert_memory_equal(&before, &w, sizeof(w));
}

/* The bitmap against a plain model: the set of accepted numbers. */
#define MODEL_MAX 20000

static int model_accept(bool *seen, uint64_t *highest, uint64_t seq)
{
    if (seq > *highest) {
        *highest = seq;
    } else if (*highest - seq >= TS_REPLAY_WINDOW || seen[seq]) {
        return TS_ERR_DUPLICATE;
    }
    seen[seq] = true;
    return TS_OK;
}

static void test_against_model(void **state)
{
    bool *seen = calloc(MODEL_MAX + 1, sizeof(bool));
    uint64_t highest = 0, cursor = 1;
    ts_replay_window w;
    unsigned rng = 12345;

    assert_non_null(seen);
    ts_replay_window_init(&w);
    for (int i = 0; i < 200000; i++) {
        uint64_t seq;

        /* Mostly near the front, sometimes far behind or far ahead. */
        rng = rng * 1103515245u + 12345u;
        switch ((rng >> 16) % 8) {
        case 0: cursor += (rng >> 8) % 1500; break;
        case 1: cursor = cursor > 1200 ? cursor - (rng >> 8) % 1200 : 1; break;
        default: cursor += (rng >> 8) % 3; break;
        }
        if (cursor > MODEL_MAX)
            cursor = 1 + (rng >> 4) % MODEL_MAX;
        seq = cursor;
        assert_int_equal(ts_replay_window_check(&w, seq),
                         (seq > highest || (highest - seq < TS_REPLAY_WINDOW && !seen[seq]))
                             ? TS_OK
                             : TS_ERR_DUPLICATE);
        assert_int_equal(ts_replay_window_accept(&w, seq), model_accept(seen, &highest, seq));
        if (highest >= MODEL_MAX - 1500) {
            /* Start a fresh sender rather than run off the model. */
            memset(seen, 0, (MODEL_MAX + 1) * sizeof(bool));
            highest = 0;
            cursor = 1;
            ts_replay_window_init(&w);
        }
    }
    free(seen);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_and_duplicates),
        cmocka_unit_test(test_first_is_large),
        cmocka_unit_test(test_reordering),
        cmocka_unit_test(test_window_edge),
        cmocka_unit_test(test_jumps),
        cmocka_unit_test(test_top_of_range),
        cmocka_unit_test(test_check_is_read_only),
        cmocka_unit_test(test_against_model),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
