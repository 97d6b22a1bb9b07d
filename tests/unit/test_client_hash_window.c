/*
 * The window of recently seen envelope hashes (src/client/hash_window.h):
 * repeats are recognised, memory stays fixed, the oldest hash is the
 * first forgotten, and an empty or partly filled window matches nothing
 * it was not given (not even the all-zero hash its unused slots hold).
 */
#include "support.h"

#include <string.h>

#include "client/hash_window.h"

/* A distinct hash for each n: n's bytes at both ends, a marker between. */
static void hash_of(uint32_t n, uint8_t out[TS_ENVELOPE_HASH_LEN])
{
    memset(out, 0xa5, TS_ENVELOPE_HASH_LEN);
    memcpy(out, &n, sizeof(n));
    memcpy(out + TS_ENVELOPE_HASH_LEN - sizeof(n), &n, sizeof(n));
}

static struct hash_window window;

static void test_repeat_recognised(void **state)
{
    uint8_t a[TS_ENVELOPE_HASH_LEN], b[TS_ENVELOPE_HASH_LEN];

    (void)state;
    hash_window_init(&window);
    hash_of(1, a);
    hash_of(2, b);
    assert_false(hash_window_contains(&window, a));
    assert_true(hash_window_add(&window, a));
    assert_true(hash_window_contains(&window, a));
    assert_false(hash_window_contains(&window, b));
    assert_false(hash_window_add(&window, a));
    assert_true(hash_window_add(&window, b));
    assert_false(hash_window_add(&window, b));
    /* A repeat takes no slot. */
    assert_int_equal(window.count, 2);
}

static void test_unused_slots_match_nothing(void **state)
{
    uint8_t zero[TS_ENVELOPE_HASH_LEN] = {0}, one[TS_ENVELOPE_HASH_LEN];

    (void)state;
    hash_window_init(&window);
    assert_false(hash_window_contains(&window, zero));
    hash_of(1, one);
    assert_true(hash_window_add(&window, one));
    assert_false(hash_window_contains(&window, zero));
    /* All zeros is a hash like any other once given. */
    assert_true(hash_window_add(&window, zero));
    assert_false(hash_window_add(&window, zero));
}

static void test_hashes_differing_in_one_byte(void **state)
{
    uint8_t h[TS_ENVELOPE_HASH_LEN], g[TS_ENVELOPE_HASH_LEN];

    (void)state;
    hash_window_init(&window);
    hash_of(7, h);
    assert_true(hash_window_add(&window, h));
    for (size_t i = 0; i < TS_ENVELOPE_HASH_LEN; i++) {
        memcpy(g, h, sizeof(g));
        g[i] ^= 0x80;
        assert_false(hash_window_contains(&window, g));
    }
}

static void test_oldest_forgotten_first(void **state)
{
    uint8_t h[TS_ENVELOPE_HASH_LEN];

    (void)state;
    hash_window_init(&window);
    for (uint32_t n = 0; n < HASH_WINDOW_SIZE; n++) {
        hash_of(n, h);
        assert_true(hash_window_add(&window, h));
    }
    assert_int_equal(window.count, HASH_WINDOW_SIZE);
    for (uint32_t n = 0; n < HASH_WINDOW_SIZE; n++) {
        hash_of(n, h);
        assert_true(hash_window_contains(&window, h));
    }
    /* One more: the first is forgotten, the second is still known. */
    hash_of(HASH_WINDOW_SIZE, h);
    assert_true(hash_window_add(&window, h));
    hash_of(0, h);
    assert_false(hash_window_contains(&window, h));
    hash_of(1, h);
    assert_true(hash_window_contains(&window, h));
    /* So a repeat older than the window counts as new again. */
    hash_of(0, h);
    assert_true(hash_window_add(&window, h));
    hash_of(1, h);
    assert_false(hash_window_contains(&window, h));
}

static void test_many_wraps_stay_bounded(void **state)
{
    uint8_t h[TS_ENVELOPE_HASH_LEN];
    const uint32_t total = 5 * HASH_WINDOW_SIZE + 17;

    (void)state;
    hash_window_init(&window);
    for (uint32_t n = 0; n < total; n++) {
        hash_of(n, h);
        assert_true(hash_window_add(&window, h));
        assert_true(window.count <= HASH_WINDOW_SIZE);
        assert_true(window.next < HASH_WINDOW_SIZE);
    }
    /* Exactly the last HASH_WINDOW_SIZE are known. */
    for (uint32_t n = total - HASH_WINDOW_SIZE; n < total; n++) {
        hash_of(n, h);
        assert_true(hash_window_contains(&window, h));
    }
    hash_of(total - HASH_WINDOW_SIZE - 1, h);
    assert_false(hash_window_contains(&window, h));
    /* Starting again forgets everything. */
    hash_window_init(&window);
    hash_of(total - 1, h);
    assert_false(hash_window_contains(&window, h));
    assert_int_equal(window.count, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_repeat_recognised),
        cmocka_unit_test(test_unused_slots_match_nothing),
        cmocka_unit_test(test_hashes_differing_in_one_byte),
        cmocka_unit_test(test_oldest_forgotten_first),
        cmocka_unit_test(test_many_wraps_stay_bounded),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
