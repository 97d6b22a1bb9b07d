/*
 * The plan of tcp_bench's chat and fanout runs: parameter checks, who
 * sends and who is slow, names the server accepts, and the time stamp in
 * each message.
 */
#include "support.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include <tcpseal/error.h>

#include "service/names.h"

/* Unit tests link only the library; the plan belongs to tcp_bench. */
#include "../../bench/chat_plan.c"

static char last_error[512];

void bench_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(last_error, sizeof(last_error), fmt, ap);
    va_end(ap);
}

static const struct scenario fanout_like = {.name = "fanout"};

static struct bench_options options(unsigned connections, unsigned senders, unsigned slow,
                                    unsigned rooms)
{
    struct bench_options o;

    memset(&o, 0, sizeof(o));
    o.scenario = &fanout_like;
    o.connections = connections;
    o.senders = senders;
    o.slow = slow;
    o.rooms = rooms;
    o.payload = 64;
    o.pipeline = 3;
    return o;
}

static void test_check(void **state)
{
    struct bench_options o = options(200, 4, 2, 1);

    assert_int_equal(chat_plan_check(&o), 0);
    assert_int_equal(o.window, 3);

    /* Every sender and every slow member is one of the members. */
    o = options(10, 4, 6, 1);
    assert_int_equal(chat_plan_check(&o), 0);
    o = options(10, 4, 7, 1);
    assert_int_equal(chat_plan_check(&o), -1);
    assert_non_null(strstr(last_error, "--slow 7 and --senders 4"));
    o = options(10, 0, 0, 1);
    assert_int_equal(chat_plan_check(&o), -1);
    o = options(10, 11, 0, 1);
    assert_int_equal(chat_plan_check(&o), -1);
    o = options(10, 10, 0, 10);
    assert_int_equal(chat_plan_check(&o), 0);
    o = options(10, 10, 0, 11);
    assert_int_equal(chat_plan_check(&o), -1);
    o = options(10, 10, 0, 0);
    assert_int_equal(chat_plan_check(&o), -1);

    /* The payload holds the time stamp. */
    o = options(10, 1, 0, 1);
    o.payload = CHAT_STAMP_LEN;
    assert_int_equal(chat_plan_check(&o), 0);
    o.payload = CHAT_STAMP_LEN - 1;
    assert_int_equal(chat_plan_check(&o), -1);
    assert_non_null(strstr(last_error, "--size must be at least 16 in the fanout scenario"));
}

static void test_roles(void **state)
{
    struct bench_options o = options(10, 3, 2, 1);
    unsigned counts[3] = {0, 0, 0};

    for (unsigned i = 0; i < o.connections; i++)
        counts[chat_plan_role(&o, i)]++;
    assert_int_equal(counts[CHAT_SENDER], 3);
    assert_int_equal(counts[CHAT_SLOW], 2);
    assert_int_equal(counts[CHAT_READER], 5);
    assert_int_equal(chat_plan_role(&o, 0), CHAT_SENDER);
    assert_int_equal(chat_plan_role(&o, 2), CHAT_SENDER);
    assert_int_equal(chat_plan_role(&o, 3), CHAT_READER);
    assert_int_equal(chat_plan_role(&o, 7), CHAT_READER);
    assert_int_equal(chat_plan_role(&o, 8), CHAT_SLOW);
    assert_int_equal(chat_plan_role(&o, 9), CHAT_SLOW);

    /* Everyone sends (chat): nobody is slow. */
    o = options(5, 5, 0, 5);
    for (unsigned i = 0; i < o.connections; i++)
        assert_int_equal(chat_plan_role(&o, i), CHAT_SENDER);
}

/* Whatever the tag and index, the server takes the names as they are. */
static void test_names(void **state)
{
    struct bench_options shared = options(10, 1, 0, 1), own = options(1000000, 1, 0, 1000000);
    char tag[BENCH_TAG_LEN + 1], user[CHAT_NAME_MAX + 1], room[CHAT_NAME_MAX + 1];
    char other[BENCH_TAG_LEN + 1];
    unsigned differ = 0;

    assert_int_equal(sodium_init() >= 0, 1);
    for (int round = 0; round < 200; round++) {
        chat_plan_tag(tag);
        assert_int_equal(strlen(tag), BENCH_TAG_LEN);
        assert_true(tag[0] >= 'a' && tag[0] <= 'z');
        chat_plan_user(tag, 0, user);
        assert_int_equal(names_check_user(user, strlen(user)), TS_OK);
        chat_plan_user(tag, BENCH_MAX_CONNECTIONS - 1, user);
        assert_int_equal(names_check_user(user, strlen(user)), TS_OK);
        chat_plan_room(&shared, tag, 7, room);
        assert_string_equal(room, tag);
        assert_int_equal(names_check_room(room, strlen(room)), TS_OK);
        chat_plan_room(&own, tag, 999999, room);
        assert_int_equal(names_check_room(room, strlen(room)), TS_OK);
        chat_plan_tag(other);
        differ += strcmp(tag, other) != 0;
    }
    /* Runs against one server get names of their own. */
    assert_true(differ >= 199);

    chat_plan_user("abcdef", 17, user);
    assert_string_equal(user, "abcdef-17");
    chat_plan_room(&own, "abcdef", 17, room);
    assert_string_equal(room, "abcdef-17");
}

static void test_stamp(void **state)
{
    static const uint64_t values[] = {0, 1, 0xabcdef, 1700000000123456ull, UINT64_MAX};
    uint8_t buf[CHAT_STAMP_LEN + 4];
    uint64_t back;

    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        memset(buf, 'a', sizeof(buf));
        chat_stamp_write(buf, values[i]);
        /* Only the stamp's own bytes change. */
        assert_int_equal(buf[CHAT_STAMP_LEN], 'a');
        assert_int_equal(chat_stamp_read(buf, sizeof(buf), &back), 0);
        assert_int_equal(back, values[i]);
        assert_int_equal(chat_stamp_read(buf, CHAT_STAMP_LEN, &back), 0);
    }
    chat_stamp_write(buf, 0x1234);
    assert_memory_equal(buf, "0000000000001234", CHAT_STAMP_LEN);

    /* Too short, or not hex digits: not a stamp. */
    assert_int_equal(chat_stamp_read(buf, CHAT_STAMP_LEN - 1, &back), -1);
    assert_int_equal(chat_stamp_read(buf, 0, &back), -1);
    memcpy(buf, "000000000000123G", CHAT_STAMP_LEN);
    assert_int_equal(chat_stamp_read(buf, sizeof(buf), &back), -1);
    memcpy(buf, "00000000000012 4", CHAT_STAMP_LEN);
    assert_int_equal(chat_stamp_read(buf, sizeof(buf), &back), -1);
    memcpy(buf, "000000000000ABCD", CHAT_STAMP_LEN);
    assert_int_equal(chat_stamp_read(buf, sizeof(buf), &back), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_roles),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_stamp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
