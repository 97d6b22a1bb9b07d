/*
 * Reading the server's chat answers (src/client/chat_answer.h): Response
 * objects, Acks, history items and Events, with hostile input — wrong
 * envelope types, payloads that are not JSON objects, missing or
 * mistyped fields, over-long names and times, times with control
 * characters, bad base64, bytes that are no envelope, and envelopes whose
 * hash does not match.
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>
#include <tcpseal/envelope.h>
#include <tcpseal/error.h>
#include <tcpseal/identity.h>

#include "client/chat_answer.h"

#define TIME "2026-11-21T10:00:00.123Z"
#define B64_MAX 4096

/* An envelope of type with payload text (sealed, unsigned). */
static ts_envelope *answer(ts_msg_type type, const char *text)
{
    ts_envelope *env;

    assert_int_equal(ts_envelope_new(&env, type), TS_OK);
    ts_envelope_set_id(env, 3);
    ts_envelope_set_correlation_id(env, 9);
    assert_int_equal(ts_envelope_set_sender(env, "SHA256:server"), TS_OK);
    assert_int_equal(ts_envelope_set_content_type(env, "application/json"), TS_OK);
    assert_int_equal(ts_envelope_set_payload(env, text, strlen(text)), TS_OK);
    assert_int_equal(ts_envelope_seal(env, NULL), TS_OK);
    return env;
}

/* A signed Chat from alice to "#lobby", encoded and in base64. */
static void chat_b64(const ts_identity *id, const char *text, bool break_hash, char *out,
                     size_t cap)
{
    ts_envelope *env;
    uint8_t *bytes, *at;
    size_t len;

    assert_int_equal(ts_envelope_new(&env, TS_MSG_CHAT), TS_OK);
    ts_envelope_set_id(env, 11);
    assert_int_equal(ts_envelope_set_sender(env, "alice"), TS_OK);
    assert_int_equal(ts_envelope_set_recipient(env, "#lobby"), TS_OK);
    assert_int_equal(ts_envelope_set_payload(env, text, strlen(text)), TS_OK);
    assert_int_equal(ts_envelope_seal(env, id), TS_OK);
    assert_int_equal(ts_envelope_encode(env, &bytes, &len), TS_OK);
    ts_envelope_free(env);
    if (break_hash) {
        at = memmem(bytes, len, text, strlen(text));
        assert_non_null(at);
        at[0] ^= 0x20;
    }
    assert_true(sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL) <= cap);
    sodium_bin2base64(out, cap, bytes, len, sodium_base64_VARIANT_ORIGINAL);
    free(bytes);
}

/* ---- Responses and Events ---- */

static void test_answer_object(void **state)
{
    static const char *const not_ok[] = {
        "", "null", "[]", "\"ok\"", "42", "{\"ok\":false}", "{\"ok\":\"true\"}", "{\"ok\":1}",
        "{}", "{\"ok\":true", "{\"ok\":true} {}", "{\"ok\":true}\n]",
    };
    ts_envelope *env;
    json_t *obj;

    (void)state;
    env = answer(TS_MSG_RESPONSE, "{\"ok\":true,\"user\":\"alice\"}");
    obj = chat_answer_object(env);
    assert_non_null(obj);
    assert_string_equal(json_string_value(json_object_get(obj, "user")), "alice");
    json_decref(obj);
    ts_envelope_free(env);
    for (size_t i = 0; i < sizeof(not_ok) / sizeof(not_ok[0]); i++) {
        env = answer(TS_MSG_RESPONSE, not_ok[i]);
        if ((obj = chat_answer_object(env)) != NULL)
            fail_msg("accepted as an answer: %s", not_ok[i]);
        ts_envelope_free(env);
    }
    /* The right payload in the wrong kind of envelope. */
    for (ts_msg_type t = TS_MSG_REQUEST; t <= TS_MSG_NOTICE; t++) {
        if (t == TS_MSG_RESPONSE)
            continue;
        env = answer(t, "{\"ok\":true}");
        assert_null(chat_answer_object(env));
        ts_envelope_free(env);
    }
}

static void test_event_object(void **state)
{
    ts_envelope *env;
    json_t *obj;

    (void)state;
    env = answer(TS_MSG_EVENT, "{\"event\":\"join\",\"room\":\"lobby\",\"user\":\"bob\"}");
    obj = chat_event_object(env);
    assert_non_null(obj);
    assert_string_equal(json_string_value(json_object_get(obj, "event")), "join");
    json_decref(obj);
    ts_envelope_free(env);

    env = answer(TS_MSG_EVENT, "[\"join\"]");
    assert_null(chat_event_object(env));
    ts_envelope_free(env);
    env = answer(TS_MSG_EVENT, "{\"event\":");
    assert_null(chat_event_object(env));
    ts_envelope_free(env);
    env = answer(TS_MSG_NOTICE, "{\"event\":\"join\"}");
    assert_null(chat_event_object(env));
    ts_envelope_free(env);
}

/* ---- Acks ---- */

static void test_ack(void **state)
{
    char when[CHAT_TIME_MAX];
    ts_envelope *env;
    int64_t id = -1;

    (void)state;
    env = answer(TS_MSG_ACK, "{\"id\":42,\"time\":\"" TIME "\"}");
    assert_int_equal(chat_ack_parse(env, &id, when), TS_OK);
    assert_int_equal(id, 42);
    assert_string_equal(when, TIME);
    ts_envelope_free(env);

    /* The longest time that fits the buffer. */
    env = answer(TS_MSG_ACK, "{\"id\":1,\"time\":\"2026-11-21T10:00:00.1234567890Z\"}");
    assert_int_equal(chat_ack_parse(env, &id, when), TS_OK);
    assert_int_equal(strlen(when), CHAT_TIME_MAX - 1);
    ts_envelope_free(env);

    env = answer(TS_MSG_ACK, "{\"id\":9223372036854775807,\"time\":\"" TIME "\"}");
    assert_int_equal(chat_ack_parse(env, &id, when), TS_OK);
    assert_int_equal(id, INT64_MAX);
    ts_envelope_free(env);
}

static void test_ack_hostile(void **state)
{
    static const char *const bad[] = {
        "",
        "not json",
        "[42,\"" TIME "\"]",
        "{\"time\":\"" TIME "\"}",
        "{\"id\":42}",
        "{\"id\":\"42\",\"time\":\"" TIME "\"}",
        "{\"id\":4.2,\"time\":\"" TIME "\"}",
        "{\"id\":true,\"time\":\"" TIME "\"}",
        "{\"id\":0,\"time\":\"" TIME "\"}",
        "{\"id\":-5,\"time\":\"" TIME "\"}",
        "{\"id\":42,\"time\":42}",
        "{\"id\":42,\"time\":null}",
        "{\"id\":42,\"time\":\"\"}",
        /* 32 characters: one too many for the buffer with its NUL. */
        "{\"id\":42,\"time\":\"2026-11-21T10:00:00.12345678901Z\"}",
        "{\"id\":42,\"time\":\"2026-11-21T10:00:00.123Z\\u001b[2J\"}",
        "{\"id\":42,\"time\":\"2026-11-21\\nT10:00:00Z\"}",
        "{\"id\":42,\"time\":\"2026-11-21 10:00:00Z\"}",
        "{\"id\":42,\"time\":\"2026-11-21T10:00:00Z\\u202e\"}",
        "{\"id\":42,\"time\":\"\\u007f\"}",
        "{\"id\":42,\"time\":\"" TIME "\"",
    };
    char when[CHAT_TIME_MAX];
    ts_envelope *env;
    int64_t id;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        env = answer(TS_MSG_ACK, bad[i]);
        id = 77;
        if (chat_ack_parse(env, &id, when) != TS_ERR_MALFORMED)
            fail_msg("accepted as an Ack: %s", bad[i]);
        assert_int_equal(id, 0);
        ts_envelope_free(env);
    }
    /* A good Ack payload in a Response is no Ack. */
    env = answer(TS_MSG_RESPONSE, "{\"id\":42,\"time\":\"" TIME "\"}");
    assert_int_equal(chat_ack_parse(env, &id, when), TS_ERR_MALFORMED);
    ts_envelope_free(env);
}

/* ---- history items ---- */

struct items {
    ts_identity *alice;
    char good[B64_MAX];   /* a signed chat, base64 */
    char bent[B64_MAX];   /* the same with its hash broken */
};

static int items_setup(void **state)
{
    struct items *it = calloc(1, sizeof(*it));

    assert_non_null(it);
    assert_int_equal(ts_identity_generate(&it->alice), TS_OK);
    chat_b64(it->alice, "hello history", false, it->good, sizeof(it->good));
    chat_b64(it->alice, "hello history", true, it->bent, sizeof(it->bent));
    *state = it;
    return 0;
}

static int items_teardown(void **state)
{
    struct items *it = *state;

    ts_identity_free(it->alice);
    free(it);
    return 0;
}

static json_t *item(json_int_t id, const char *time, const char *sender, const char *b64)
{
    json_t *obj = json_object();

    assert_non_null(obj);
    if (id != 0)
        json_object_set_new(obj, "id", json_integer(id));
    if (time != NULL)
        json_object_set_new(obj, "time", json_string(time));
    if (sender != NULL)
        json_object_set_new(obj, "sender", json_string(sender));
    if (b64 != NULL)
        json_object_set_new(obj, "envelope", json_string(b64));
    return obj;
}

static int decode_item(json_t *obj, struct chat_item *out)
{
    int rc = chat_item_decode(obj, out);

    json_decref(obj);
    return rc;
}

static void test_item(void **state)
{
    struct items *it = *state;
    struct chat_item ci;
    size_t len;

    assert_int_equal(decode_item(item(12, TIME, "alice", it->good), &ci), TS_OK);
    assert_int_equal(ci.id, 12);
    assert_string_equal(ci.time, TIME);
    assert_string_equal(ci.sender, "alice");
    assert_non_null(ci.env);
    assert_int_equal(ts_envelope_type(ci.env), TS_MSG_CHAT);
    assert_string_equal(ts_envelope_sender(ci.env), "alice");
    assert_true(ts_envelope_is_signed(ci.env));
    assert_memory_equal(ts_envelope_payload(ci.env, &len), "hello history", 13);
    assert_string_equal(chat_room_of(ci.env), "lobby");
    chat_item_clear(&ci);
    assert_null(ci.env);
}

static void test_item_hostile(void **state)
{
    struct items *it = *state;
    char long_name[CHAT_NAME_MAX + 2], cut[B64_MAX], junk[64];
    struct chat_item ci;
    json_t *obj;

    memset(long_name, 'a', CHAT_NAME_MAX + 1);
    long_name[CHAT_NAME_MAX + 1] = '\0';
    snprintf(cut, sizeof(cut), "%.*s", (int)strlen(it->good) / 2, it->good);
    sodium_bin2base64(junk, sizeof(junk), (const unsigned char *)"no envelope here", 16,
                      sodium_base64_VARIANT_ORIGINAL);
    struct {
        json_t *obj;
        int rc;
    } cases[] = {
        {item(0, TIME, "alice", it->good), TS_ERR_MALFORMED},          /* no id */
        {item(-1, TIME, "alice", it->good), TS_ERR_MALFORMED},
        {item(12, NULL, "alice", it->good), TS_ERR_MALFORMED},
        {item(12, "", "alice", it->good), TS_ERR_MALFORMED},
        {item(12, "10:00\x1b[2J", "alice", it->good), TS_ERR_MALFORMED},
        {item(12, TIME, NULL, it->good), TS_ERR_MALFORMED},
        {item(12, TIME, long_name, it->good), TS_ERR_MALFORMED},
        {item(12, TIME, "alice", NULL), TS_ERR_MALFORMED},
        {item(12, TIME, "alice", ""), TS_ERR_MALFORMED},
        {item(12, TIME, "alice", "%%% not base64 %%%"), TS_ERR_MALFORMED},
        {item(12, TIME, "alice", "aGVsbG8=\n"), TS_ERR_MALFORMED},
        {item(12, TIME, "alice", cut), TS_ERR_MALFORMED},
        {item(12, TIME, "alice", junk), TS_ERR_MALFORMED},
        {item(12, TIME, "alice", it->bent), TS_ERR_BAD_HASH},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = decode_item(cases[i].obj, &ci);

        if (rc != cases[i].rc)
            fail_msg("case %zu: %d instead of %d", i, rc, cases[i].rc);
        /* Nothing is left to free, and nothing damaged is shown. */
        assert_null(ci.env);
    }

    /* Wrong JSON types for each field. */
    obj = json_pack("{s:s, s:s, s:s, s:s}", "id", "12", "time", TIME, "sender", "alice",
                    "envelope", it->good);
    assert_int_equal(decode_item(obj, &ci), TS_ERR_MALFORMED);
    obj = json_pack("{s:i, s:i, s:s, s:s}", "id", 12, "time", 5, "sender", "alice", "envelope",
                    it->good);
    assert_int_equal(decode_item(obj, &ci), TS_ERR_MALFORMED);
    obj = json_pack("{s:i, s:s, s:n, s:s}", "id", 12, "time", TIME, "sender", "envelope",
                    it->good);
    assert_int_equal(decode_item(obj, &ci), TS_ERR_MALFORMED);
    obj = json_pack("{s:i, s:s, s:s, s:[s]}", "id", 12, "time", TIME, "sender", "alice",
                    "envelope", it->good);
    assert_int_equal(decode_item(obj, &ci), TS_ERR_MALFORMED);
    assert_int_equal(chat_item_decode(NULL, &ci), TS_ERR_MALFORMED);
    obj = json_array();
    assert_int_equal(decode_item(obj, &ci), TS_ERR_MALFORMED);
}

static void test_room_of(void **state)
{
    ts_envelope *env;

    (void)state;
    assert_int_equal(ts_envelope_new(&env, TS_MSG_CHAT), TS_OK);
    assert_int_equal(ts_envelope_set_recipient(env, "#lobby"), TS_OK);
    assert_string_equal(chat_room_of(env), "lobby");
    assert_int_equal(ts_envelope_set_recipient(env, "bob"), TS_OK);
    assert_null(chat_room_of(env));
    assert_int_equal(ts_envelope_set_recipient(env, "#"), TS_OK);
    assert_string_equal(chat_room_of(env), "");
    ts_envelope_free(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answer_object),
        cmocka_unit_test(test_event_object),
        cmocka_unit_test(test_ack),
        cmocka_unit_test(test_ack_hostile),
        cmocka_unit_test_setup_teardown(test_item, items_setup, items_teardown),
        cmocka_unit_test_setup_teardown(test_item_hostile, items_setup, items_teardown),
        cmocka_unit_test(test_room_of),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
