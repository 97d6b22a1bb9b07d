/*
 * Envelopes: fields, sealing, the binary encoding (including hostile
 * input) and verification.
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <tcpseal/envelope.h>
#include <tcpseal/identity.h>

#include "envelope/envelope.h"

/* RFC 8032 test 1 key pair. */
#define SEED_A_HEX "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
#define PUB_A_HEX "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"

/* A Chat envelope signed by key A, built independently of tcpseal:
 * id 7, correlation 3, timestamp 1727181296789, "alice" -> "#general",
 * "text/plain", payload "Hello". */
#define KNOWN_SIGNED_HEX                                                        \
    "01040100000000000000070000000000000003000001922407149505616c69636508236765" \
    "6e6572616c0a746578742f706c61696e0000000548656c6c6ff0b3661b59ddd2c715e071b7" \
    "2ab54c2fdbde03c910503145a4a2868b56a17c82344111b8053ef7da9b8fbbb8ca443638db" \
    "fdfe3ef8ffe9f69f4f7cc21730c48eb36f11a556a58d6fe65e2930a518ebd641dff37a75c5" \
    "fc5aec87d245edcf1205"
#define KNOWN_TS 1727181296789ull

/* Offsets in any encoding. */
#define OFF_VERSION 0
#define OFF_TYPE 1
#define OFF_FLAGS 2
#define OFF_SENDER_LEN ENVELOPE_FIXED_LEN

#define BIG 4096

struct fixture {
    ts_identity *a;
    ts_identity *b;
    uint8_t pub_a[TS_PUBLIC_KEY_LEN];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    uint8_t seed[32];

    assert_non_null(f);
    test_hex(SEED_A_HEX, seed, sizeof(seed));
    assert_int_equal(ts_identity_from_seed(seed, &f->a), TS_OK);
    assert_int_equal(ts_identity_generate(&f->b), TS_OK);
    test_hex(PUB_A_HEX, f->pub_a, sizeof(f->pub_a));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    ts_identity_free(f->a);
    ts_identity_free(f->b);
    free(f);
    return 0;
}

/* The known Chat envelope, sealed by signer (NULL: unsigned). */
static ts_envelope *make_known(const ts_identity *signer)
{
    ts_envelope *env;

    assert_int_equal(ts_envelope_new(&env, TS_MSG_CHAT), TS_OK);
    ts_envelope_set_id(env, 7);
    ts_envelope_set_correlation_id(env, 3);
    ts_envelope_set_timestamp(env, KNOWN_TS);
    assert_int_equal(ts_envelope_set_sender(env, "alice"), TS_OK);
    assert_int_equal(ts_envelope_set_recipient(env, "#general"), TS_OK);
    assert_int_equal(ts_envelope_set_content_type(env, "text/plain"), TS_OK);
    assert_int_equal(ts_envelope_set_payload(env, "Hello", 5), TS_OK);
    assert_int_equal(ts_envelope_seal(env, signer), TS_OK);
    return env;
}

static size_t encode_known(const ts_identity *signer, uint8_t *out, size_t cap)
{
    ts_envelope *env = make_known(signer);
    size_t len;

    assert_int_equal(ts_envelope_encode_to(env, out, cap, &len), TS_OK);
    ts_envelope_free(env);
    return len;
}

static void assert_same_envelope(const ts_envelope *x, const ts_envelope *y)
{
    size_t xl, yl;
    const uint8_t *xp = ts_envelope_payload(x, &xl), *yp = ts_envelope_payload(y, &yl);

    assert_int_equal(ts_envelope_type(x), ts_envelope_type(y));
    assert_true(ts_envelope_id(x) == ts_envelope_id(y));
    assert_true(ts_envelope_correlation_id(x) == ts_envelope_correlation_id(y));
    assert_true(ts_envelope_timestamp(x) == ts_envelope_timestamp(y));
    assert_string_equal(ts_envelope_sender(x), ts_envelope_sender(y));
    assert_string_equal(ts_envelope_recipient(x), ts_envelope_recipient(y));
    assert_string_equal(ts_envelope_content_type(x), ts_envelope_content_type(y));
    assert_int_equal(xl, yl);
    if (xl > 0)
        assert_memory_equal(xp, yp, xl);
    assert_memory_equal(ts_envelope_hash(x), ts_envelope_hash(y), TS_ENVELOPE_HASH_LEN);
    assert_int_equal(ts_envelope_is_signed(x), ts_envelope_is_signed(y));
    if (ts_envelope_is_signed(x))
        assert_memory_equal(ts_envelope_signature(x), ts_envelope_signature(y),
                            TS_SIGNATURE_LEN);
}

static void test_type_names(void **state)
{
    ts_msg_type t;

    assert_string_equal(ts_msg_type_name(TS_MSG_REQUEST), "Request");
    assert_string_equal(ts_msg_type_name(TS_MSG_NOTICE), "Notice");
    assert_null(ts_msg_type_name(0));
    assert_null(ts_msg_type_name(9));
    assert_null(ts_msg_type_name(-1));
    for (int i = TS_MSG_REQUEST; i <= TS_MSG_NOTICE; i++) {
        assert_int_equal(ts_msg_type_parse(ts_msg_type_name(i), &t), TS_OK);
        assert_int_equal(t, i);
    }
    assert_int_equal(ts_msg_type_parse("chat", &t), TS_OK);
    assert_int_equal(t, TS_MSG_CHAT);
    assert_int_equal(ts_msg_type_parse("Chatter", &t), TS_ERR_INVALID);
    assert_int_equal(ts_msg_type_parse("", &t), TS_ERR_INVALID);
    assert_int_equal(ts_msg_type_parse(NULL, &t), TS_ERR_INVALID);
}

static void test_new_defaults(void **state)
{
    ts_envelope *env;
    size_t len = 99;
    uint64_t now = envelope_now_ms();

    assert_int_equal(ts_envelope_new(&env, (ts_msg_type)0), TS_ERR_INVALID);
    assert_null(env);
    assert_int_equal(ts_envelope_new(&env, (ts_msg_type)9), TS_ERR_INVALID);
    assert_int_equal(ts_envelope_new(&env, TS_MSG_EVENT), TS_OK);
    assert_int_equal(ts_envelope_type(env), TS_MSG_EVENT);
    assert_true(ts_envelope_id(env) == 0 && ts_envelope_correlation_id(env) == 0);
    assert_true(ts_envelope_timestamp(env) + 5000 > now &&
                ts_envelope_timestamp(env) < now + 5000);
    assert_string_equal(ts_envelope_sender(env), "");
    assert_string_equal(ts_envelope_recipient(env), "");
    assert_string_equal(ts_envelope_content_type(env), "");
    assert_null(ts_envelope_payload(env, &len));
    assert_int_equal(len, 0);
    assert_null(ts_envelope_hash(env));
    assert_null(ts_envelope_signature(env));
    assert_false(ts_envelope_is_signed(env));
    ts_envelope_free(env);
    ts_envelope_free(NULL);
}

/* The encoding matches one built byte by byte outside tcpseal. */
static void test_known_encoding(void **state)
{
    struct fixture *f = *state;
    uint8_t expect[BIG], got[BIG], msg[ENVELOPE_SIGNED_MESSAGE_LEN];
    size_t elen = test_hex(KNOWN_SIGNED_HEX, expect, sizeof(expect));
    size_t glen = encode_known(f->a, got, sizeof(got));
    size_t hashed = elen - TS_ENVELOPE_HASH_LEN - TS_SIGNATURE_LEN;
    uint8_t hash[TS_ENVELOPE_HASH_LEN];

    assert_int_equal(glen, elen);
    assert_memory_equal(got, expect, elen);
    /* The label is cited by docs/protocol.md; keep it byte-exact. */
    assert_int_equal(strlen(ENVELOPE_SIGNATURE_LABEL), 29);
    assert_string_equal(ENVELOPE_SIGNATURE_LABEL, "tcpseal/envelope-signature/v1");
    crypto_generichash(hash, sizeof(hash), expect, hashed, NULL, 0);
    assert_memory_equal(hash, expect + hashed, sizeof(hash));
    memcpy(msg, ENVELOPE_SIGNATURE_LABEL, ENVELOPE_SIGNATURE_LABEL_LEN);
    memcpy(msg + ENVELOPE_SIGNATURE_LABEL_LEN, hash, sizeof(hash));
    assert_int_equal(crypto_sign_verify_detached(expect + hashed + sizeof(hash), msg,
                                                 sizeof(msg), f->pub_a),
                     0);
}

/* Bits of the combination mask in test_round_trip_combinations. */
enum {
    WITH_CORRELATION = 1 << 0,
    WITH_SENDER = 1 << 1,
    WITH_RECIPIENT = 1 << 2,
    WITH_CONTENT_TYPE = 1 << 3,
    WITH_PAYLOAD = 1 << 4,
    WITH_SIGNATURE = 1 << 5,
    WITH_ALL = (1 << 6) - 1,
};

static ts_envelope *make_combination(int type, int mask, const ts_identity *signer)
{
    static const uint8_t payload[] = {0x00, 0xff, 'h', 'i', 0x80, 0x0a};
    ts_envelope *env;

    assert_int_equal(ts_envelope_new(&env, (ts_msg_type)type), TS_OK);
    ts_envelope_set_id(env, UINT64_MAX - (uint64_t)mask);
    ts_envelope_set_timestamp(env, (uint64_t)mask * 1000003u);
    if (mask & WITH_CORRELATION)
        ts_envelope_set_correlation_id(env, 0x0102030405060708ull);
    if (mask & WITH_SENDER)
        assert_int_equal(ts_envelope_set_sender(env, "s\xc3\xa9nder"), TS_OK);
    if (mask & WITH_RECIPIENT)
        assert_int_equal(ts_envelope_set_recipient(env, "\xf0\x9d\x84\x9e room"), TS_OK);
    if (mask & WITH_CONTENT_TYPE)
        assert_int_equal(ts_envelope_set_content_type(env, "application/octet-stream"),
                         TS_OK);
    if (mask & WITH_PAYLOAD)
        assert_int_equal(ts_envelope_set_payload(env, payload, sizeof(payload)), TS_OK);
    assert_int_equal(ts_envelope_seal(env, (mask & WITH_SIGNATURE) ? signer : NULL),
                     TS_OK);
    return env;
}

static void test_round_trip_combinations(void **state)
{
    struct fixture *f = *state;

    for (int type = TS_MSG_REQUEST; type <= TS_MSG_NOTICE; type++) {
        for (int mask = 0; mask <= WITH_ALL; mask++) {
            ts_envelope *env = make_combination(type, mask, f->a), *back;
            ts_verify_opts opts = {.public_key = f->pub_a,
                                   .require_signature = (mask & WITH_SIGNATURE) != 0};
            uint8_t *enc, *again;
            size_t len, again_len;

            assert_int_equal(ts_envelope_encode(env, &enc, &len), TS_OK);
            assert_int_equal(len, ts_envelope_encoded_size(env));
            assert_int_equal(ts_envelope_decode(enc, len, &back), TS_OK);
            assert_same_envelope(env, back);
            assert_int_equal(ts_envelope_verify(back, &opts), TS_OK);
            assert_int_equal(ts_envelope_encode(back, &again, &again_len), TS_OK);
            assert_int_equal(again_len, len);
            assert_memory_equal(again, enc, len);
            free(enc);
            free(again);
            ts_envelope_free(env);
            ts_envelope_free(back);
        }
    }
}

static void test_encode_states(void **state)
{
    ts_envelope *env;
    uint8_t buf[BIG], *out = (uint8_t *)"x";
    size_t len = 0, need;

    assert_int_equal(ts_envelope_new(&env, TS_MSG_REQUEST), TS_OK);
    assert_int_equal(ts_envelope_encode(env, &out, &len), TS_ERR_STATE);
    assert_null(out);
    assert_int_equal(ts_envelope_encode_to(env, buf, sizeof(buf), &len), TS_ERR_STATE);
    assert_int_equal(ts_envelope_seal(env, NULL), TS_OK);
    need = ts_envelope_encoded_size(env);
    assert_int_equal(need, ENVELOPE_FIXED_LEN + 3 + 4 + TS_ENVELOPE_HASH_LEN);
    assert_int_equal(ts_envelope_encode_to(env, buf, need - 1, &len), TS_ERR_TOO_LARGE);
    assert_int_equal(ts_envelope_encode_to(env, buf, need, &len), TS_OK);
    assert_int_equal(len, need);
    ts_envelope_free(env);
}

static void test_setters_unseal(void **state)
{
    struct fixture *f = *state;
    ts_envelope *env = make_known(f->a);
    uint8_t buf[BIG];
    size_t len;

    assert_non_null(ts_envelope_hash(env));
    assert_non_null(ts_envelope_signature(env));
    ts_envelope_set_id(env, 8);
    assert_null(ts_envelope_hash(env));
    assert_null(ts_envelope_signature(env));
    assert_false(ts_envelope_is_signed(env));
    assert_int_equal(ts_envelope_encode_to(env, buf, sizeof(buf), &len), TS_ERR_STATE);

    /* Each setter on its own unseals. */
    for (int which = 0; which < 7; which++) {
        assert_int_equal(ts_envelope_seal(env, f->a), TS_OK);
        switch (which) {
        case 0: ts_envelope_set_correlation_id(env, 1); break;
        case 1: ts_envelope_set_timestamp(env, 1); break;
        case 2: assert_int_equal(ts_envelope_set_sender(env, "b"), TS_OK); break;
        case 3: assert_int_equal(ts_envelope_set_recipient(env, "c"), TS_OK); break;
        case 4: assert_int_equal(ts_envelope_set_content_type(env, "d"), TS_OK); break;
        case 5: assert_int_equal(ts_envelope_set_payload(env, "e", 1), TS_OK); break;
        default: ts_envelope_set_id(env, 9); break;
        }
        assert_null(ts_envelope_hash(env));
        assert_false(ts_envelope_is_signed(env));
    }
    ts_envelope_free(env);
}

static void test_setter_limits(void **state)
{
    ts_envelope *env;
    char name[TS_ENVELOPE_MAX_NAME + 2];
    const uint8_t *p;
    size_t len;

    assert_int_equal(ts_envelope_new(&env, TS_MSG_CHAT), TS_OK);
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    assert_int_equal(ts_envelope_set_sender(env, name), TS_ERR_TOO_LARGE);
    name[TS_ENVELOPE_MAX_NAME] = '\0';
    assert_int_equal(ts_envelope_set_sender(env, name), TS_OK);
    assert_int_equal(strlen(ts_envelope_sender(env)), TS_ENVELOPE_MAX_NAME);
    assert_int_equal(ts_envelope_set_recipient(env, "\xc0\xaf"), TS_ERR_MALFORMED);
    assert_int_equal(ts_envelope_set_content_type(env, NULL), TS_ERR_INVALID);
    /* A rejected value leaves the field as it was. */
    assert_int_equal(ts_envelope_set_sender(env, "\xff"), TS_ERR_MALFORMED);
    assert_int_equal(strlen(ts_envelope_sender(env)), TS_ENVELOPE_MAX_NAME);
    assert_int_equal(ts_envelope_set_sender(env, ""), TS_OK);
    assert_string_equal(ts_envelope_sender(env), "");

    /* The size is refused before the data is read. */
    assert_int_equal(ts_envelope_set_payload(env, "x", TS_ENVELOPE_MAX_PAYLOAD + 1u),
                     TS_ERR_TOO_LARGE);
    assert_int_equal(ts_envelope_set_payload(env, NULL, 1), TS_ERR_INVALID);
    assert_int_equal(ts_envelope_set_payload(env, "abc", 3), TS_OK);
    assert_int_equal(ts_envelope_set_payload(env, NULL, 0), TS_OK);
    assert_null(ts_envelope_payload(env, &len));
    assert_int_equal(len, 0);

    /* A field set from its own getter. */
    assert_int_equal(ts_envelope_set_sender(env, "me"), TS_OK);
    assert_int_equal(ts_envelope_set_sender(env, ts_envelope_sender(env)), TS_OK);
    assert_string_equal(ts_envelope_sender(env), "me");
    assert_int_equal(ts_envelope_set_payload(env, "hello", 5), TS_OK);
    p = ts_envelope_payload(env, &len);
    assert_int_equal(ts_envelope_set_payload(env, p + 1, len - 1), TS_OK);
    p = ts_envelope_payload(env, &len);
    assert_int_equal(len, 4);
    assert_memory_equal(p, "ello", 4);
    ts_envelope_free(env);
}

/* Payload on a decoded envelope (stored inline) can be replaced. */
static void test_decoded_then_modified(void **state)
{
    struct fixture *f = *state;
    uint8_t buf[BIG];
    size_t len = encode_known(f->a, buf, sizeof(buf)), plen;
    ts_envelope *env;
    ts_verify_opts opts = {.public_key = f->pub_a, .require_signature = true};

    assert_int_equal(ts_envelope_decode(buf, len, &env), TS_OK);
    assert_int_equal(ts_envelope_set_payload(env, "Bye", 3), TS_OK);
    assert_int_equal(ts_envelope_verify(env, &opts), TS_ERR_BAD_HASH);
    assert_int_equal(ts_envelope_seal(env, f->a), TS_OK);
    assert_int_equal(ts_envelope_verify(env, &opts), TS_OK);
    assert_memory_equal(ts_envelope_payload(env, &plen), "Bye", 3);
    ts_envelope_free(env);
}

static void test_every_truncation(void **state)
{
    struct fixture *f = *state;
    uint8_t buf[BIG];

    for (int signed_ = 0; signed_ <= 1; signed_++) {
        size_t len = encode_known(signed_ ? f->a : NULL, buf, sizeof(buf));
        for (size_t cut = 0; cut < len; cut++) {
            ts_envelope *env = NULL;
            /* A copy of exactly cut bytes, so ASan sees any overread. */
            uint8_t *copy = malloc(cut > 0 ? cut : 1);
            assert_non_null(copy);
            memcpy(copy, buf, cut);
            assert_int_equal(ts_envelope_decode(copy, cut, &env), TS_ERR_TRUNCATED);
            assert_null(env);
            free(copy);
        }
    }
    assert_int_equal(ts_envelope_decode(NULL, 0, &(ts_envelope *){NULL}),
                     TS_ERR_TRUNCATED);
}

static int decode_rc(const uint8_t *data, size_t len)
{
    uint8_t *copy = malloc(len > 0 ? len : 1);
    ts_envelope *env = NULL;
    int rc;

    assert_non_null(copy);
    memcpy(copy, data, len);
    rc = ts_envelope_decode(copy, len, &env);
    if (rc != TS_OK)
        assert_null(env);
    ts_envelope_free(env);
    free(copy);
    return rc;
}

/* Offsets of the four length prefixes in the known encoding. */
static void length_offsets(const uint8_t *buf, size_t offs[4])
{
    offs[0] = OFF_SENDER_LEN;
    offs[1] = offs[0] + 1 + buf[offs[0]];
    offs[2] = offs[1] + 1 + buf[offs[1]];
    offs[3] = offs[2] + 1 + buf[offs[2]];
}

static void test_hostile_lengths(void **state)
{
    struct fixture *f = *state;
    uint8_t buf[BIG], bad[BIG];
    size_t len = encode_known(f->a, buf, sizeof(buf)), offs[4];

    length_offsets(buf, offs);
    for (int i = 0; i < 3; i++) {
        /* One more than remains, and the maximum, both run off the end. */
        size_t remaining = len - offs[i] - 1;
        uint8_t over[] = {(uint8_t)(remaining < 255 ? remaining + 1 : 255), 255};
        for (size_t k = 0; k < sizeof(over); k++) {
            memcpy(bad, buf, len);
            bad[offs[i]] = over[k];
            if (over[k] > remaining)
                assert_int_equal(decode_rc(bad, len), TS_ERR_TRUNCATED);
        }
        /* Shorter than the text: later fields misparse; any clean error. */
        memcpy(bad, buf, len);
        bad[offs[i]] = (uint8_t)(buf[offs[i]] - 1);
        assert_int_not_equal(decode_rc(bad, len), TS_OK);
    }
    {
        uint32_t remaining = (uint32_t)(len - offs[3] - 4);
        const uint32_t cases[] = {remaining + 1, TS_ENVELOPE_MAX_PAYLOAD,
                                  TS_ENVELOPE_MAX_PAYLOAD + 1u, UINT32_MAX};
        const int expect[] = {TS_ERR_TRUNCATED, TS_ERR_TRUNCATED, TS_ERR_TOO_LARGE,
                              TS_ERR_TOO_LARGE};
        for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
            memcpy(bad, buf, len);
            bad[offs[3]] = (uint8_t)(cases[k] >> 24);
            bad[offs[3] + 1] = (uint8_t)(cases[k] >> 16);
            bad[offs[3] + 2] = (uint8_t)(cases[k] >> 8);
            bad[offs[3] + 3] = (uint8_t)cases[k];
            assert_int_equal(decode_rc(bad, len), expect[k]);
        }
    }
}

static void test_unknown_version_type_flags(void **state)
{
    struct fixture *f = *state;
    uint8_t buf[BIG], bad[BIG];
    size_t len = encode_known(f->a, buf, sizeof(buf));
    const uint8_t versions[] = {0, 2, 0x7f, 0xff};
    const uint8_t types[] = {0, 9, 0x80, 0xff};
    const uint8_t flags[] = {0x02, 0x03, 0x80, 0xff};

    for (size_t i = 0; i < sizeof(versions); i++) {
        memcpy(bad, buf, len);
        bad[OFF_VERSION] = versions[i];
        assert_int_equal(decode_rc(bad, len), TS_ERR_VERSION);
        /* The version is judged before anything else is read. */
        assert_int_equal(decode_rc(bad, 1), TS_ERR_VERSION);
    }
    for (size_t i = 0; i < sizeof(types); i++) {
        memcpy(bad, buf, len);
        bad[OFF_TYPE] = types[i];
        assert_int_equal(decode_rc(bad, len), TS_ERR_MALFORMED);
    }
    for (size_t i = 0; i < sizeof(flags); i++) {
        memcpy(bad, buf, len);
        bad[OFF_FLAGS] = flags[i];
        assert_int_equal(decode_rc(bad, len), TS_ERR_MALFORMED);
    }
}

static void test_trailing_bytes(void **state)
{
    struct fixture *f = *state;
    uint8_t buf[BIG];
    size_t len = encode_known(f->a, buf, sizeof(buf));

    buf[len] = 0;
    assert_int_equal(decode_rc(buf, len + 1), TS_ERR_MALFORMED);
    /* Signature bytes on an envelope whose flag says unsigned. */
    buf[OFF_FLAGS] = 0;
    assert_int_equal(decode_rc(buf, len), TS_ERR_MALFORMED);
}

struct utf8_case {
    const char *bytes;
    size_t len;
    bool valid;
};

#define U8(s, v) {s, sizeof(s) - 1, v}

static const struct utf8_case utf8_cases[] = {
    U8("plain ascii", true),
    U8("caf\xc3\xa9", true),
    U8("\xe2\x82\xac", true),             /* U+20AC */
    U8("\xf0\x9d\x84\x9e", true),         /* U+1D11E */
    U8("\xed\x9f\xbf", true),             /* U+D7FF, below the surrogates */
    U8("\xee\x80\x80", true),             /* U+E000, above them */
    U8("\xf4\x8f\xbf\xbf", true),         /* U+10FFFF */
    U8("\xc2\x80", true),                 /* U+0080, shortest 2-byte */
    U8("a\0b", false),                    /* NUL */
    U8("\xc0\xaf", false),                /* overlong '/' */
    U8("\xc1\xbf", false),                /* overlong */
    U8("\xe0\x80\xaf", false),            /* overlong 3-byte */
    U8("\xe0\x9f\xbf", false),            /* overlong U+07FF */
    U8("\xf0\x80\x80\xaf", false),        /* overlong 4-byte */
    U8("\xf0\x8f\xbf\xbf", false),        /* overlong U+FFFF */
    U8("\xed\xa0\x80", false),            /* U+D800 */
    U8("\xed\xbf\xbf", false),            /* U+DFFF */
    U8("\xf4\x90\x80\x80", false),        /* U+110000 */
    U8("\xf5\x80\x80\x80", false),
    U8("\xff", false),
    U8("\xfe", false),
    U8("\x80", false),                    /* lone continuation */
    U8("\xe2\x82", false),                /* cut short */
    U8("\xe2\x28\xa1", false),            /* bad continuation */
    U8("\xf0\x9d\x84", false),            /* cut short */
    U8("ok\xc3", false),                  /* cut at the end */
};

/* Every string field, through the setters and through the decoder. */
static void test_utf8_strings(void **state)
{
    for (size_t i = 0; i < sizeof(utf8_cases) / sizeof(utf8_cases[0]); i++) {
        const struct utf8_case *c = &utf8_cases[i];

        for (int field = 0; field < 3; field++) {
            uint8_t buf[BIG];
            size_t len, off;
            ts_envelope *env;
            char placeholder[16];

            /* Encode with a same-length ASCII placeholder, then swap the
             * test bytes into the encoding. */
            memset(placeholder, 'x', c->len);
            placeholder[c->len] = '\0';
            assert_int_equal(ts_envelope_new(&env, TS_MSG_CHAT), TS_OK);
            assert_int_equal(field == 0   ? ts_envelope_set_sender(env, placeholder)
                             : field == 1 ? ts_envelope_set_recipient(env, placeholder)
                                          : ts_envelope_set_content_type(env, placeholder),
                             TS_OK);
            assert_int_equal(ts_envelope_seal(env, NULL), TS_OK);
            assert_int_equal(ts_envelope_encode_to(env, buf, sizeof(buf), &len), TS_OK);
            off = OFF_SENDER_LEN;
            for (int k = 0; k < field; k++)
                off += 1 + buf[off];
            assert_int_equal(buf[off], c->len);
            memcpy(buf + off + 1, c->bytes, c->len);
            assert_int_equal(decode_rc(buf, len), c->valid ? TS_OK : TS_ERR_MALFORMED);

            if (memchr(c->bytes, 0, c->len) == NULL) {
                int rc = field == 0   ? ts_envelope_set_sender(env, c->bytes)
                         : field == 1 ? ts_envelope_set_recipient(env, c->bytes)
                                      : ts_envelope_set_content_type(env, c->bytes);
                assert_int_equal(rc, c->valid ? TS_OK : TS_ERR_MALFORMED);
            }
            ts_envelope_free(env);
        }
    }
}

/* Any single flipped bit before the hash is either refused by the decoder
 * or caught by the hash. */
static void test_flipped_bits(void **state)
{
    struct fixture *f = *state;
    uint8_t buf[BIG];
    size_t len = encode_known(f->a, buf, sizeof(buf));
    ts_verify_opts opts = {.public_key = f->pub_a};
    int caught = 0;

    for (size_t i = 0; i < len - TS_SIGNATURE_LEN; i++) {
        for (int bit = 0; bit < 8; bit++) {
            ts_envelope *env;

            buf[i] ^= (uint8_t)(1u << bit);
            if (ts_envelope_decode(buf, len, &env) == TS_OK) {
                assert_int_equal(ts_envelope_verify(env, &opts), TS_ERR_BAD_HASH);
                ts_envelope_free(env);
                caught++;
            }
            buf[i] ^= (uint8_t)(1u << bit);
        }
    }
    /* id, correlation id, timestamp, hash and the ASCII text alone give
     * hundreds of decodable variants. */
    assert_true(caught > 8 * (24 + TS_ENVELOPE_HASH_LEN));
}

static void test_signatures(void **state)
{
    struct fixture *f = *state;
    uint8_t buf[BIG];
    size_t len = encode_known(f->a, buf, sizeof(buf));
    ts_envelope *env, *unsigned_env;
    ts_verify_opts with_a = {.public_key = f->pub_a};
    ts_verify_opts with_b = {.public_key = ts_identity_public_key(f->b)};
    ts_verify_opts no_key = {0}, no_key_required = {.require_signature = true};
    ts_verify_opts a_required = {.public_key = f->pub_a, .require_signature = true};

    assert_int_equal(ts_envelope_decode(buf, len, &env), TS_OK);
    assert_true(ts_envelope_is_signed(env));
    assert_int_equal(ts_envelope_verify(env, &with_a), TS_OK);
    assert_int_equal(ts_envelope_verify(env, &a_required), TS_OK);
    assert_int_equal(ts_envelope_verify(env, &with_b), TS_ERR_BAD_SIGNATURE);
    assert_int_equal(ts_envelope_verify(env, &no_key), TS_OK);
    assert_int_equal(ts_envelope_verify(env, NULL), TS_OK);
    assert_int_equal(ts_envelope_verify(env, &no_key_required), TS_ERR_BAD_SIGNATURE);
    ts_envelope_free(env);

    /* Every bit of the signature matters. */
    for (size_t i = len - TS_SIGNATURE_LEN; i < len; i++) {
        buf[i] ^= 0x01;
        assert_int_equal(ts_envelope_decode(buf, len, &env), TS_OK);
        assert_int_equal(ts_envelope_verify(env, &with_a), TS_ERR_BAD_SIGNATURE);
        ts_envelope_free(env);
        buf[i] ^= 0x01;
    }

    unsigned_env = make_known(NULL);
    assert_null(ts_envelope_signature(unsigned_env));
    assert_int_equal(ts_envelope_verify(unsigned_env, &with_a), TS_OK);
    assert_int_equal(ts_envelope_verify(unsigned_env, &a_required), TS_ERR_BAD_SIGNATURE);
    assert_int_equal(ts_envelope_verify(unsigned_env, &no_key_required),
                     TS_ERR_BAD_SIGNATURE);
    ts_envelope_free(unsigned_env);
}

/* Dropping the signature and its flag breaks the hash, which covers the
 * flags byte. */
static void test_stripped_signature(void **state)
{
    struct fixture *f = *state;
    uint8_t buf[BIG];
    size_t len = encode_known(f->a, buf, sizeof(buf));
    ts_envelope *env;
    ts_verify_opts opts = {.public_key = f->pub_a};

    buf[OFF_FLAGS] = 0;
    assert_int_equal(ts_envelope_decode(buf, len - TS_SIGNATURE_LEN, &env), TS_OK);
    assert_false(ts_envelope_is_signed(env));
    assert_int_equal(ts_envelope_verify(env, &opts), TS_ERR_BAD_HASH);
    ts_envelope_free(env);
}

/* A valid signature taken from another envelope, and an envelope re-sealed
 * by someone else, both fail against the sender's key. */
static void test_transplanted_signature(void **state)
{
    struct fixture *f = *state;
    ts_envelope *genuine = make_known(f->a), *forged = make_known(f->a);
    ts_verify_opts opts = {.public_key = f->pub_a, .require_signature = true};
    uint8_t buf[BIG];
    size_t len;
    ts_envelope *env;

    assert_int_equal(ts_envelope_set_payload(forged, "Hellp", 5), TS_OK);
    assert_int_equal(ts_envelope_seal(forged, f->b), TS_OK);
    assert_int_equal(ts_envelope_verify(forged, &opts), TS_ERR_BAD_SIGNATURE);
    assert_int_equal(ts_envelope_encode_to(forged, buf, sizeof(buf), &len), TS_OK);
    memcpy(buf + len - TS_SIGNATURE_LEN, ts_envelope_signature(genuine), TS_SIGNATURE_LEN);
    assert_int_equal(ts_envelope_decode(buf, len, &env), TS_OK);
    assert_int_equal(ts_envelope_verify(env, &opts), TS_ERR_BAD_SIGNATURE);
    ts_envelope_free(env);
    ts_envelope_free(genuine);
    ts_envelope_free(forged);
}

static void test_timestamp_window(void **state)
{
    const uint64_t now = 1700000000000ull, skew = 30000;
    struct {
        uint64_t ts;
        int rc;
    } cases[] = {
        {now, TS_OK},
        {now - skew, TS_OK},
        {now + skew, TS_OK},
        {now - skew - 1, TS_ERR_STALE},
        {now + skew + 1, TS_ERR_STALE},
        {0, TS_ERR_STALE},
        {UINT64_MAX, TS_ERR_STALE},
    };
    ts_verify_opts opts = {.max_skew_ms = skew, .now_ms = now};
    ts_verify_opts off = {.max_skew_ms = 0, .now_ms = now};

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ts_envelope *env;

        assert_int_equal(ts_envelope_new(&env, TS_MSG_REQUEST), TS_OK);
        ts_envelope_set_timestamp(env, cases[i].ts);
        assert_int_equal(ts_envelope_seal(env, NULL), TS_OK);
        assert_int_equal(ts_envelope_verify(env, &opts), cases[i].rc);
        assert_int_equal(ts_envelope_verify(env, &off), TS_OK);
        ts_envelope_free(env);
    }
}

/* now_ms = 0 reads the system clock. */
static void test_timestamp_system_clock(void **state)
{
    ts_envelope *env;
    ts_verify_opts opts = {.max_skew_ms = 60000};

    assert_int_equal(ts_envelope_new(&env, TS_MSG_REQUEST), TS_OK);
    assert_int_equal(ts_envelope_seal(env, NULL), TS_OK);
    assert_int_equal(ts_envelope_verify(env, &opts), TS_OK);
    ts_envelope_set_timestamp(env, ts_envelope_timestamp(env) - 3600000);
    assert_int_equal(ts_envelope_seal(env, NULL), TS_OK);
    assert_int_equal(ts_envelope_verify(env, &opts), TS_ERR_STALE);
    ts_envelope_free(env);
}

/* Hash first, then signature, then time: the first failure is reported. */
static void test_verify_order(void **state)
{
    struct fixture *f = *state;
    uint8_t buf[BIG];
    size_t len = encode_known(f->a, buf, sizeof(buf));
    ts_envelope *env;
    ts_verify_opts opts = {.public_key = ts_identity_public_key(f->b),
                           .max_skew_ms = 1,
                           .now_ms = 1};

    assert_int_equal(ts_envelope_decode(buf, len, &env), TS_OK);
    assert_int_equal(ts_envelope_verify(env, &opts), TS_ERR_BAD_SIGNATURE);
    ts_envelope_free(env);
    buf[len - TS_SIGNATURE_LEN - 1] ^= 1; /* last hash byte */
    assert_int_equal(ts_envelope_decode(buf, len, &env), TS_OK);
    assert_int_equal(ts_envelope_verify(env, &opts), TS_ERR_BAD_HASH);
    ts_envelope_free(env);

    assert_int_equal(ts_envelope_new(&env, TS_MSG_REQUEST), TS_OK);
    assert_int_equal(ts_envelope_verify(env, NULL), TS_ERR_BAD_HASH);
    ts_envelope_free(env);
}

static void test_large_payload(void **state)
{
    struct fixture *f = *state;
    const size_t n = 1024 * 1024;
    uint8_t *payload = malloc(n), *enc;
    ts_envelope *env, *back;
    size_t len;
    ts_verify_opts opts = {.public_key = f->pub_a, .require_signature = true};

    assert_non_null(payload);
    randombytes_buf(payload, n);
    assert_int_equal(ts_envelope_new(&env, TS_MSG_CHAT), TS_OK);
    assert_int_equal(ts_envelope_set_payload(env, payload, n), TS_OK);
    assert_int_equal(ts_envelope_seal(env, f->a), TS_OK);
    assert_int_equal(ts_envelope_encode(env, &enc, &len), TS_OK);
    assert_int_equal(ts_envelope_decode(enc, len, &back), TS_OK);
    assert_int_equal(ts_envelope_verify(back, &opts), TS_OK);
    assert_same_envelope(env, back);
    free(enc);
    free(payload);
    ts_envelope_free(env);
    ts_envelope_free(back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_new_defaults),
        cmocka_unit_test(test_known_encoding),
        cmocka_unit_test(test_round_trip_combinations),
        cmocka_unit_test(test_encode_states),
        cmocka_unit_test(test_setters_unseal),
        cmocka_unit_test(test_setter_limits),
        cmocka_unit_test(test_decoded_then_modified),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_hostile_lengths),
        cmocka_unit_test(test_unknown_version_type_flags),
        cmocka_unit_test(test_trailing_bytes),
        cmocka_unit_test(test_utf8_strings),
        cmocka_unit_test(test_flipped_bits),
        cmocka_unit_test(test_signatures),
        cmocka_unit_test(test_stripped_signature),
        cmocka_unit_test(test_transplanted_signature),
        cmocka_unit_test(test_timestamp_window),
        cmocka_unit_test(test_timestamp_system_clock),
        cmocka_unit_test(test_verify_order),
        cmocka_unit_test(test_large_payload),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
