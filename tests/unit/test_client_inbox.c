/*
 * The inbox (src/client/inbox.h): bounded, oldest dropped, newest listed
 * last, in memory and in the store file (where it survives a restart).
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tcpseal/error.h>

#include "client/client_db.h"
#include "client/inbox.h"

struct seen {
    char items[16][16];
    bool verified[16];
    size_t n;
};

static int collect(void *arg, const uint8_t *data, size_t len, bool verified,
                   uint64_t received_ms)
{
    struct seen *s = arg;

    assert_true(len < sizeof(s->items[0]));
    memcpy(s->items[s->n], data, len);
    s->items[s->n][len] = '\0';
    s->verified[s->n] = verified;
    s->n++;
    return TS_OK;
}

static void add_numbered(struct inbox *ib, int from, int to)
{
    char text[16];

    for (int i = from; i <= to; i++) {
        snprintf(text, sizeof(text), "m%d", i);
        assert_int_equal(inbox_add(ib, (const uint8_t *)text, strlen(text), i % 2 == 0,
                                   (uint64_t)i), TS_OK);
    }
}

static void expect(struct inbox *ib, size_t max, const char *const *want, size_t n)
{
    struct seen s = {0};

    assert_int_equal(inbox_list(ib, max, collect, &s), TS_OK);
    assert_int_equal(s.n, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(s.items[i], want[i]);
}

static void check_bounded(struct inbox *ib)
{
    static const char *const last3[] = {"m3", "m4", "m5"};
    static const char *const last2[] = {"m4", "m5"};

    add_numbered(ib, 1, 5);
    assert_int_equal(inbox_count(ib), 3);
    expect(ib, 10, last3, 3);
    expect(ib, 2, last2, 2);
    expect(ib, 0, NULL, 0);
}

static void test_memory_bound(void **state)
{
    struct inbox ib;

    (void)state;
    assert_int_equal(inbox_open(&ib, NULL, 3), TS_OK);
    check_bounded(&ib);
    inbox_close(&ib);

    /* A large limit costs nothing up front and grows as needed. */
    assert_int_equal(inbox_open(&ib, NULL, 1000000000), TS_OK);
    add_numbered(&ib, 1, 40);
    assert_int_equal(inbox_count(&ib), 40);
    inbox_close(&ib);

    /* Limit 0 keeps nothing. */
    assert_int_equal(inbox_open(&ib, NULL, 0), TS_OK);
    add_numbered(&ib, 1, 2);
    assert_int_equal(inbox_count(&ib), 0);
    inbox_close(&ib);
}

static void test_store_bound_and_restart(void **state)
{
    static const char *const after[] = {"m4", "m5", "m6"};
    char *dir = test_tmpdir(), path[512];
    struct client_db *db;
    struct inbox ib;
    struct seen s = {0};

    (void)state;
    snprintf(path, sizeof(path), "%s/agent.db", dir);
    assert_int_equal(client_db_open(&db, path), TS_OK);
    assert_int_equal(inbox_open(&ib, db, 3), TS_OK);
    check_bounded(&ib);
    inbox_close(&ib);
    client_db_close(db);

    assert_int_equal(client_db_open(&db, path), TS_OK);
    assert_int_equal(inbox_open(&ib, db, 3), TS_OK);
    assert_int_equal(inbox_count(&ib), 3);
    add_numbered(&ib, 6, 6);
    expect(&ib, 3, after, 3);
    assert_int_equal(inbox_list(&ib, 3, collect, &s), TS_OK);
    assert_true(s.verified[2]);
    assert_false(s.verified[1]);
    inbox_close(&ib);
    client_db_close(db);

    /* A smaller limit on the next start drops the oldest at once. */
    assert_int_equal(client_db_open(&db, path), TS_OK);
    assert_int_equal(inbox_open(&ib, db, 1), TS_OK);
    assert_int_equal(inbox_count(&ib), 1);
    expect(&ib, 5, after + 2, 1);
    inbox_close(&ib);
    client_db_close(db);
    test_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_bound),
        cmocka_unit_test(test_store_bound_and_restart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
