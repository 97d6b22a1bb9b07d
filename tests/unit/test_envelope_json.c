/*
 * The JSON view of envelopes: exact output for fixed envelopes, hashes and
 * signatures computed outside tcpseal.
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <tcpseal/envelope.h>
#include <tcpseal/identity.h>

/* RFC 8032 test 1 seed. */
#define SEED_A_HEX "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
#define FIXED_TS 1727181296789ull /* 2024-09-24T12:34:56.789Z */

/* Parse text back to make sure it is one valid JSON object, and return it
 * rendered (freed by the caller). */
static char *render(const ts_envelope *env)
{
    char *json = NULL;
    json_t *parsed;

    assert_int_equal(ts_envelope_to_json(env, &json), TS_OK);
    assert_non_null(json);
    assert_null(strchr(json, '\n'));
    /* As reals: jansson's integers stop at INT64_MAX, ids do not. */
    parsed = json_loads(json, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, NULL);
    assert_non_null(parsed);
    assert_true(json_is_object(parsed));
    json_decref(parsed);
    return json;
}

static void test_signed(void **state)
{
    static const char expect[] =
        "{\"type\":\"Chat\",\"id\":7,\"correlation_id\":3,"
        "\"timestamp\":\"2024-09-24T12:34:56.789Z\",\"sender\":\"alice\","
        "\"recipient\":\"#general\",\"content_type\":\"text/plain\","
        "\"payload\":\"Hello\","
        "\"hash\":\"f0b3661b59ddd2c715e071b72ab54c2fdbde03c910503145a4a2868b56a17c82\","
        "\"signature\":\"NEERuAU+99qbj7u4ykQ2ONv9/j74/+n2n098whcwxI6zbxGlVqWNb+ZeKTClGOvWQ"
        "d/zenXF/Frsh9JF7c8SBQ==\"}";
    uint8_t seed[32];
    ts_identity *id;
    ts_envelope *env;
    char *json;

    test_hex(SEED_A_HEX, seed, sizeof(seed));
    assert_int_equal(ts_identity_from_seed(seed, &id), TS_OK);
    assert_int_equal(ts_envelope_new(&env, TS_MSG_CHAT), TS_OK);
    ts_envelope_set_id(env, 7);
    ts_envelope_set_correlation_id(env, 3);
    ts_envelope_set_timestamp(env, FIXED_TS);
    assert_int_equal(ts_envelope_set_sender(env, "alice"), TS_OK);
    assert_int_equal(ts_envelope_set_recipient(env, "#general"), TS_OK);
    assert_int_equal(ts_envelope_set_content_type(env, "text/plain"), TS_OK);
    assert_int_equal(ts_envelope_set_payload(env, "Hello", 5), TS_OK);
    assert_int_equal(ts_envelope_seal(env, id), TS_OK);
    json = render(env);
    assert_string_equal(json, expect);
    free(json);
    ts_envelope_free(env);
    ts_identity_free(id);
}

static void test_binary_payload(void **state)
{
    static const char expect[] =
        "{\"type\":\"Request\",\"id\":1,\"timestamp\":\"2024-09-24T12:34:56.789Z\","
        "\"sender\":\"bob\",\"payload\":\"/wAB/g==\",\"payload_encoding\":\"base64\","
        "\"hash\":\"3732b468ccc49d29588e792334209717f7e690f42c323a7faad26bca9f6d466a\"}";
    static const uint8_t payload[] = {0xff, 0x00, 0x01, 0xfe};
    ts_envelope *env;
    char *json;

    assert_int_equal(ts_envelope_new(&env, TS_MSG_REQUEST), TS_OK);
    ts_envelope_set_id(env, 1);
    ts_envelope_set_timestamp(env, FIXED_TS);
    assert_int_equal(ts_envelope_set_sender(env, "bob"), TS_OK);
    assert_int_equal(ts_envelope_set_payload(env, payload, sizeof(payload)), TS_OK);
    assert_int_equal(ts_envelope_seal(env, NULL), TS_OK);
    json = render(env);
    assert_string_equal(json, expect);
    free(json);
    ts_envelope_free(env);
}

/* Text that needs escaping, NUL included, stays text. */
static void test_escaped_text(void **state)
{
    static const char payload[] = "say \"hi\"\n\t\\ \0 caf\xc3\xa9 /";
    static const char expect[] =
        "{\"type\":\"Notice\",\"id\":0,\"timestamp\":\"1970-01-01T00:00:00.000Z\","
        "\"sender\":\"op \\\"root\\\"\\u0001\","
        "\"payload\":\"say \\\"hi\\\"\\n\\t\\\\ \\u0000 caf\xc3\xa9 /\"}";
    ts_envelope *env;
    char *json;

    assert_int_equal(ts_envelope_new(&env, TS_MSG_NOTICE), TS_OK);
    ts_envelope_set_timestamp(env, 0);
    assert_int_equal(ts_envelope_set_sender(env, "op \"root\"\x01"), TS_OK);
    assert_int_equal(ts_envelope_set_payload(env, payload, sizeof(payload) - 1), TS_OK);
    /* Not sealed: no hash key. */
    json = render(env);
    assert_string_equal(json, expect);
    free(json);
    ts_envelope_free(env);
}

static void test_empty_and_extremes(void **state)
{
    static const char expect[] =
        "{\"type\":\"Ack\",\"id\":18446744073709551615,"
        "\"correlation_id\":18446744073709551615,"
        "\"timestamp\":\"+584556019-04-03T14:25:51.615Z\",\"sender\":\"\","
        "\"payload\":\"\"}";
    ts_envelope *env;
    char *json;

    assert_int_equal(ts_envelope_new(&env, TS_MSG_ACK), TS_OK);
    ts_envelope_set_id(env, UINT64_MAX);
    ts_envelope_set_correlation_id(env, UINT64_MAX);
    ts_envelope_set_timestamp(env, UINT64_MAX);
    json = render(env);
    assert_string_equal(json, expect);
    free(json);
    ts_envelope_free(env);
}

static void test_timestamps(void **state)
{
    static const struct {
        uint64_t ms;
        const char *text;
    } cases[] = {
        {0, "1970-01-01T00:00:00.000Z"},
        {951782400000ull, "2000-02-29T00:00:00.000Z"},
        {951868799999ull, "2000-02-29T23:59:59.999Z"},
        {FIXED_TS, "2024-09-24T12:34:56.789Z"},
        {253402300799999ull, "9999-12-31T23:59:59.999Z"},
        {253402300800000ull, "+10000-01-01T00:00:00.000Z"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ts_envelope *env;
        char *json, want[64];

        assert_int_equal(ts_envelope_new(&env, TS_MSG_EVENT), TS_OK);
        ts_envelope_set_timestamp(env, cases[i].ms);
        json = render(env);
        snprintf(want, sizeof(want), "\"timestamp\":\"%s\"", cases[i].text);
        assert_non_null(strstr(json, want));
        free(json);
        ts_envelope_free(env);
    }
}

/* Invalid UTF-8 in an otherwise textual payload falls back to base64. */
static void test_invalid_utf8_payload(void **state)
{
    static const char payload[] = "caf\xc3";
    ts_envelope *env;
    char *json;

    assert_int_equal(ts_envelope_new(&env, TS_MSG_CHAT), TS_OK);
    assert_int_equal(ts_envelope_set_payload(env, payload, sizeof(payload) - 1), TS_OK);
    json = render(env);
    assert_non_null(strstr(json, "\"payload\":\"Y2Fmww==\",\"payload_encoding\":\"base64\""));
    free(json);
    ts_envelope_free(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signed),
        cmocka_unit_test(test_binary_payload),
        cmocka_unit_test(test_escaped_text),
        cmocka_unit_test(test_empty_and_extremes),
        cmocka_unit_test(test_timestamps),
        cmocka_unit_test(test_invalid_utf8_payload),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
