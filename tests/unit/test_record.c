#include "support.h"

#include <stdlib.h>
#include <string.h>

#include "channel/record.h"
#include "util/bytes.h"

/* Body of a RECORD_BEGIN frame: u32 total then fragment. */
static size_t begin_body(uint8_t *out, uint32_t total, const uint8_t *frag, size_t n)
{
    store_u32(out, total);
    if (n > 0)
        memcpy(out + 4, frag, n);
    return 4 + n;
}

static void test_single_frame_is_zero_copy(void **state)
{
    struct record_reader rr;
    struct record_result res;
    uint8_t body[16];
    size_t n = begin_body(body, 5, (const uint8_t *)"hello", 5);

    record_reader_init(&rr, 1024);
    assert_int_equal(record_reader_frame(&rr, FRAME_RECORD_BEGIN, body, n, &res), TS_OK);
    assert_int_equal(res.status, RECORD_COMPLETE);
    assert_ptr_equal(res.data, body + 4);
    assert_int_equal(res.len, 5);
    record_reader_free(&rr);
}

static void test_empty_record(void **state)
{
    struct record_reader rr;
    struct record_result res;
    uint8_t body[4];

    record_reader_init(&rr, 1024);
    begin_body(body, 0, NULL, 0);
    assert_int_equal(record_reader_frame(&rr, FRAME_RECORD_BEGIN, body, 4, &res), TS_OK);
    assert_int_equal(res.status, RECORD_COMPLETE);
    assert_int_equal(res.len, 0);
    record_reader_free(&rr);
}

static void test_reassembly(void **state)
{
    struct record_reader rr;
    struct record_result res;
    uint8_t body[16];
    uint8_t part2[] = "lo, w", part3[] = "orld";
    size_t n = begin_body(body, 12, (const uint8_t *)"hel", 3);

    record_reader_init(&rr, 1024);
    assert_int_equal(record_reader_frame(&rr, FRAME_RECORD_BEGIN, body, n, &res), TS_OK);
    assert_int_equal(res.status, RECORD_PENDING);
    assert_int_equal(record_reader_frame(&rr, FRAME_RECORD_CONT, part2, 5, &res), TS_OK);
    assert_int_equal(res.status, RECORD_PENDING);
    assert_int_equal(record_reader_frame(&rr, FRAME_RECORD_CONT, part3, 4, &res), TS_OK);
    assert_int_equal(res.status, RECORD_COMPLETE);
    assert_int_equal(res.len, 12);
    assert_memory_equal(res.data, "hello, world", 12);
    record_reader_release(&rr);
    assert_null(rr.buf.data);
    record_reader_free(&rr);
}

static void test_oversize_is_skipped_without_buffering(void **state)
{
    struct record_reader rr;
    struct record_result res;
    uint8_t body[16], cont[8] = {0};
    size_t n = begin_body(body, 20, (const uint8_t *)"0123", 4);

    record_reader_init(&rr, 10);
    assert_int_equal(record_reader_frame(&rr, FRAME_RECORD_BEGIN, body, n, &res), TS_OK);
    assert_int_equal(res.status, RECORD_OVERSIZE);
    assert_int_equal(res.total, 20);
    assert_null(rr.buf.data);
    assert_int_equal(record_reader_frame(&rr, FRAME_RECORD_CONT, cont, 8, &res), TS_OK);
    assert_int_equal(res.status, RECORD_PENDING);
    assert_int_equal(record_reader_frame(&rr, FRAME_RECORD_CONT, cont, 8, &res), TS_OK);
    assert_int_equal(res.status, RECORD_PENDING);
    assert_null(rr.buf.data);
    /* The next record is accepted normally. */
    n = begin_body(body, 2, (const uint8_t *)"ok", 2);
    assert_int_equal(record_reader_frame(&rr, FRAME_RECORD_BEGIN, body, n, &res), TS_OK);
    assert_int_equal(res.status, RECORD_COMPLETE);
    record_reader_free(&rr);
}

static void test_protocol_violations(void **state)
{
    struct record_reader rr;
    struct record_result res;
    uint8_t body[16], cont[8] = {0};
    size_t n;

    record_reader_init(&rr, 1024);
    /* Continuation with no record. */
    assert_int_equal(record_reader_frame(&rr, FRAME_RECORD_CONT, cont, 1, &res), TS_ERR_PROTOCOL);
    /* Truncated header. */
    assert_int_equal(record_reader_frame(&rr, FRAME_RECORD_BEGIN, body, 3, &res), TS_ERR_PROTOCOL);
    /* Fragment longer than the announced total. */
    n = begin_body(body, 2, (const uint8_t *)"abc", 3);
    assert_int_equal(record_reader_frame(&rr, FRAME_RECORD_BEGIN, body, n, &res), TS_ERR_PROTOCOL);
    /* A record inside a record. */
    n = begin_body(body, 10, (const uint8_t *)"abc", 3);
    assert_int_equal(record_reader_frame(&rr, FRAME_RECORD_BEGIN, body, n, &res), TS_OK);
    assert_int_equal(record_reader_frame(&rr, FRAME_RECORD_BEGIN, body, n, &res), TS_ERR_PROTOCOL);
    /* Empty continuation, then one running past the total. */
    assert_int_equal(record_reader_frame(&rr, FRAME_RECORD_CONT, cont, 0, &res), TS_ERR_PROTOCOL);
    assert_int_equal(record_reader_frame(&rr, FRAME_RECORD_CONT, cont, 8, &res), TS_ERR_PROTOCOL);
    /* Not a record frame at all. */
    assert_int_equal(record_reader_frame(&rr, FRAME_PING, cont, 8, &res), TS_ERR_INVALID);
    record_reader_free(&rr);
}

static void test_max_size_boundary(void **state)
{
    struct record_reader rr;
    struct record_result res;
    uint8_t body[8];

    record_reader_init(&rr, 100);
    begin_body(body, 100, NULL, 0);
    assert_int_equal(record_reader_frame(&rr, FRAME_RECORD_BEGIN, body, 4, &res), TS_OK);
    assert_int_equal(res.status, RECORD_PENDING);
    record_reader_free(&rr);
    record_reader_init(&rr, 100);
    begin_body(body, 101, NULL, 0);
    assert_int_equal(record_reader_frame(&rr, FRAME_RECORD_BEGIN, body, 4, &res), TS_OK);
    assert_int_equal(res.status, RECORD_OVERSIZE);
    record_reader_free(&rr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_frame_is_zero_copy),
        cmocka_unit_test(test_empty_record),
        cmocka_unit_test(test_reassembly),
        cmocka_unit_test(test_oversize_is_skipped_without_buffering),
        cmocka_unit_test(test_protocol_violations),
        cmocka_unit_test(test_max_size_boundary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
