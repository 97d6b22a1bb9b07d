#include "support.h"

#include <string.h>

#include <tcpseal/protocol.h>

#include "channel/hello.h"

static size_t encode_offer(uint8_t *out, size_t cap, int n, const char *const *names)
{
    struct hello_client h = {.version = TS_PROTOCOL_VERSION, .n_suites = (uint8_t)n};
    size_t len = 0;

    for (int i = 0; i < n; i++)
        strcpy(h.suites[i], names[i]);
    assert_int_equal(hello_client_encode(&h, out, cap, &len), TS_OK);
    return len;
}

static void test_client_round_trip(void **state)
{
    const char *names[] = {"Noise_XX_25519_AESGCM_SHA256", "Noise_XX_25519_ChaChaPoly_BLAKE2b"};
    uint8_t buf[HELLO_MAX_LEN];
    struct hello_client parsed;
    size_t len = encode_offer(buf, sizeof(buf), 2, names), total;

    assert_memory_equal(buf, "TSEL\x01\x01", 6);
    assert_int_equal(hello_header_parse(buf, len, &total), TS_OK);
    assert_int_equal(total, len);
    assert_int_equal(hello_client_parse(buf, len, &parsed), TS_OK);
    assert_int_equal(parsed.n_suites, 2);
    assert_string_equal(parsed.suites[1], names[1]);
}

static void test_server_round_trips(void **state)
{
    uint8_t buf[HELLO_MAX_LEN];
    struct hello_server h;
    size_t len;

    assert_int_equal(hello_accept_encode("Noise_XX_25519_AESGCM_SHA256", buf, sizeof(buf), &len), TS_OK);
    assert_int_equal(hello_server_parse(buf, len, &h), TS_OK);
    assert_int_equal(h.kind, HELLO_ACCEPT);
    assert_string_equal(h.suite, "Noise_XX_25519_AESGCM_SHA256");

    assert_int_equal(hello_reject_encode(TS_REASON_SERVER_FULL, "server full", buf, sizeof(buf), &len), TS_OK);
    assert_int_equal(hello_server_parse(buf, len, &h), TS_OK);
    assert_int_equal(h.kind, HELLO_REJECT);
    assert_int_equal(h.reason, TS_REASON_SERVER_FULL);
    assert_string_equal(h.text, "server full");
}

static void test_header_needs_bytes_and_refuses_garbage(void **state)
{
    size_t total = 99;
    uint8_t big[8] = {'T', 'S', 'E', 'L', 1, 1, 0xff, 0xff};

    assert_int_equal(hello_header_parse((const uint8_t *)"TS", 2, &total), TS_OK);
    assert_int_equal(total, 0);
    /* Garbage is refused from its first byte, before a full header. */
    assert_int_equal(hello_header_parse((const uint8_t *)"GET ", 4, &total), TS_ERR_MALFORMED);
    assert_int_equal(hello_header_parse((const uint8_t *)"X", 1, &total), TS_ERR_MALFORMED);
    assert_int_equal(hello_header_parse(big, sizeof(big), &total), TS_ERR_TOO_LARGE);
}

static void test_client_parse_rejects_hostile(void **state)
{
    const char *names[] = {"Noise_XX_25519_AESGCM_SHA256"};
    uint8_t buf[HELLO_MAX_LEN], bad[HELLO_MAX_LEN];
    struct hello_client h;
    size_t len = encode_offer(buf, sizeof(buf), 1, names);

    /* Every truncation fails cleanly. */
    for (size_t n = 0; n < len; n++)
        assert_int_not_equal(hello_client_parse(buf, n, &h), TS_OK);

    /* Unknown version is reported as such, with the version kept. */
    memcpy(bad, buf, len);
    bad[4] = 9;
    assert_int_equal(hello_client_parse(bad, len, &h), TS_ERR_VERSION);
    assert_int_equal(h.version, 9);

    /* Wrong kind. */
    memcpy(bad, buf, len);
    bad[5] = HELLO_ACCEPT;
    assert_int_equal(hello_client_parse(bad, len, &h), TS_ERR_MALFORMED);

    /* Zero suites and too many suites. */
    memcpy(bad, buf, len);
    bad[8] = 0;
    assert_int_equal(hello_client_parse(bad, len, &h), TS_ERR_MALFORMED);
    bad[8] = HELLO_MAX_SUITES + 1;
    assert_int_equal(hello_client_parse(bad, len, &h), TS_ERR_MALFORMED);

    /* Name length past the end. */
    memcpy(bad, buf, len);
    bad[9] = 200;
    assert_int_not_equal(hello_client_parse(bad, len, &h), TS_OK);

    /* Control byte inside a name. */
    memcpy(bad, buf, len);
    bad[12] = '\n';
    assert_int_equal(hello_client_parse(bad, len, &h), TS_ERR_MALFORMED);

    /* Trailing byte (length field adjusted so only the body is wrong). */
    memcpy(bad, buf, len);
    bad[len] = 0;
    bad[7]++;
    assert_int_equal(hello_client_parse(bad, len + 1, &h), TS_ERR_MALFORMED);

    /* Length field that disagrees with the bytes given. */
    memcpy(bad, buf, len);
    bad[7]++;
    assert_int_equal(hello_client_parse(bad, len, &h), TS_ERR_MALFORMED);
}

static void test_reject_text_is_made_printable(void **state)
{
    uint8_t buf[HELLO_MAX_LEN];
    struct hello_server h;
    size_t len;

    assert_int_equal(hello_reject_encode(TS_REASON_RATE_LIMITED, "a\nb\x1b[31m", buf, sizeof(buf), &len), TS_OK);
    assert_int_equal(hello_server_parse(buf, len, &h), TS_OK);
    assert_string_equal(h.text, "a?b?[31m");
}

static void test_encode_refuses_bad_input(void **state)
{
    struct hello_client h = {.version = TS_PROTOCOL_VERSION, .n_suites = 0};
    uint8_t buf[16];
    size_t len;

    assert_int_equal(hello_client_encode(&h, buf, sizeof(buf), &len), TS_ERR_INVALID);
    h.n_suites = 1;
    strcpy(h.suites[0], "Noise_XX_25519_AESGCM_SHA256");
    assert_int_equal(hello_client_encode(&h, buf, sizeof(buf), &len), TS_ERR_TOO_LARGE);
    strcpy(h.suites[0], "has space");
    assert_int_equal(hello_client_encode(&h, buf, sizeof(buf), &len), TS_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_round_trip),
        cmocka_unit_test(test_server_round_trips),
        cmocka_unit_test(test_header_needs_bytes_and_refuses_garbage),
        cmocka_unit_test(test_client_parse_rejects_hostile),
        cmocka_unit_test(test_reject_text_is_made_printable),
        cmocka_unit_test(test_encode_refuses_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
