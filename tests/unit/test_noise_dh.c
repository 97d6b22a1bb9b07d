/*
 * Noise DH functions: RFC 7748 known answers, and public keys of low order
 * (all-zero DH output) refused both directly and inside handshakes.
 */
#include "support.h"

#include <string.h>

#include <sodium.h>

#include "noise/dh.h"
#include "noise/noise.h"

#define NN "Noise_NN_25519_ChaChaPoly_SHA256"
#define NN448 "Noise_NN_448_AESGCM_SHA512"
#define NK "Noise_NK_25519_ChaChaPoly_SHA256"

struct dh_kat {
    const char *protocol;
    const char *a, *a_pub, *b, *b_pub, *shared;
};

/* RFC 7748 sections 6.1 and 6.2. */
static const struct dh_kat kats[] = {
    {NN, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
     "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
     "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
     "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
     "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"},
    {NN448,
     "9a8f4925d1519f5775cf46b04b5800d4ee9ee8bae8bc5565d498c28dd9c9baf574a941974489739100638"
     "2"
     "a6f127ab1d9ac2d8c0a598726b",
     "9b08f7cc31b7e3e67d22d5aea121074a273bd2b83de09c63faa73d2c22c5d9bbc836647241d953d40c5b1"
     "2"
     "da88120d53177f80e532c41fa0",
     "1c306a7ac2a0e2e0990b294470cba339e6453772b075811d8fad0d1d6927c120bb5ee8972b0d3e21374c9"
     "c"
     "921b09d1b0366f10b65173992d",
     "3eb7a829b0cd20f5bcfc0b599b6feccf6da4627107bdb0d4f345b43027d8b972fc3e34fb4232a13ca706d"
     "c"
     "b57aec3dae07bdc1c67bf33609",
     "07fff4181ac6cc95ec1c16a94a0f74d12da232ce40a77552281d282bb60c0b56fd2464c335543936521c2"
     "4"
     "403085d59a449a5037514a879d"},
};

/* Curve25519 public keys of small order: DH with any of them is all zeros. */
static const char *const low_order_25519[] = {
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
};

static void test_rfc7748(void **state)
{
    uint8_t a[NOISE_MAX_DH_LEN], b[NOISE_MAX_DH_LEN], want[NOISE_MAX_DH_LEN];
    uint8_t pub[NOISE_MAX_DH_LEN], other[NOISE_MAX_DH_LEN], shared[NOISE_MAX_DH_LEN];
    noise_protocol proto;

    for (size_t i = 0; i < sizeof(kats) / sizeof(kats[0]); i++) {
        size_t n;

        assert_int_equal(noise_protocol_parse(kats[i].protocol, &proto), TS_OK);
        n = noise_protocol_dh_len(&proto);
        assert_int_equal(test_hex(kats[i].a, a, sizeof(a)), n);
        assert_int_equal(test_hex(kats[i].b, b, sizeof(b)), n);

        assert_int_equal(noise_dh_public(&proto, a, pub), TS_OK);
        assert_int_equal(test_hex(kats[i].a_pub, want, sizeof(want)), n);
        assert_memory_equal(pub, want, n);
        assert_int_equal(noise_dh_public(&proto, b, other), TS_OK);
        assert_int_equal(test_hex(kats[i].b_pub, want, sizeof(want)), n);
        assert_memory_equal(other, want, n);

        assert_int_equal(test_hex(kats[i].shared, want, sizeof(want)), n);
        assert_int_equal(noise_dh(proto.dh, a, other, shared), TS_OK);
        assert_memory_equal(shared, want, n);
        assert_int_equal(noise_dh(proto.dh, b, pub, shared), TS_OK);
        assert_memory_equal(shared, want, n);
    }
}

static void test_generated_keys_agree(void **state)
{
    static const char *const names[] = {NN, NN448};
    uint8_t a[NOISE_MAX_DH_LEN], a_pub[NOISE_MAX_DH_LEN], b[NOISE_MAX_DH_LEN];
    uint8_t b_pub[NOISE_MAX_DH_LEN], ab[NOISE_MAX_DH_LEN], ba[NOISE_MAX_DH_LEN];
    uint8_t check[NOISE_MAX_DH_LEN];
    noise_protocol proto;

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        size_t n;

        assert_int_equal(noise_protocol_parse(names[i], &proto), TS_OK);
        n = noise_protocol_dh_len(&proto);
        assert_int_equal(noise_dh_generate(&proto, a, a_pub), TS_OK);
        assert_int_equal(noise_dh_generate(&proto, b, b_pub), TS_OK);
        assert_memory_not_equal(a, b, n);
        assert_int_equal(noise_dh_public(&proto, a, check), TS_OK);
        assert_memory_equal(check, a_pub, n);
        assert_int_equal(noise_dh(proto.dh, a, b_pub, ab), TS_OK);
        assert_int_equal(noise_dh(proto.dh, b, a_pub, ba), TS_OK);
        assert_memory_equal(ab, ba, n);
    }
}

static void test_low_order_direct(void **state)
{
    uint8_t priv[NOISE_MAX_DH_LEN], bad[NOISE_MAX_DH_LEN], out[NOISE_MAX_DH_LEN];
    noise_protocol proto;

    assert_int_equal(noise_protocol_parse(NN, &proto), TS_OK);
    memset(priv, 0x42, sizeof(priv));
    for (size_t i = 0; i < sizeof(low_order_25519) / sizeof(low_order_25519[0]); i++) {
        test_hex(low_order_25519[i], bad, 32);
        memset(out, 0xee, sizeof(out));
        assert_int_equal(noise_dh(proto.dh, priv, bad, out), TS_ERR_CRYPTO);
        assert_true(sodium_is_zero(out, 32));
    }
    /* X448: zero and one are of low order. */
    assert_int_equal(noise_protocol_parse(NN448, &proto), TS_OK);
    for (uint8_t u = 0; u < 2; u++) {
        memset(bad, 0, sizeof(bad));
        bad[0] = u;
        assert_int_equal(noise_dh(proto.dh, priv, bad, out), TS_ERR_CRYPTO);
        assert_true(sodium_is_zero(out, 56));
    }
}

static noise_handshake *started(const char *name, noise_role role, const uint8_t *rs)
{
    noise_protocol proto;
    noise_handshake *hs;

    assert_int_equal(noise_protocol_parse(name, &proto), TS_OK);
    assert_int_equal(noise_handshake_new(&hs, &proto, role), TS_OK);
    if (rs != NULL)
        assert_int_equal(
            noise_handshake_set_remote_static(hs, rs, noise_protocol_dh_len(&proto)),
            TS_OK);
    assert_int_equal(noise_handshake_start(hs), TS_OK);
    return hs;
}

/* A low-order "e" or pinned "s" fails the handshake with TS_ERR_CRYPTO. */
static void check_handshake_refuses(const char *nn, const uint8_t *bad, size_t n)
{
    uint8_t msg[256], out[256];
    size_t len;
    noise_handshake *hs;

    /* As the responder's "e": the initiator's "ee" refuses it. */
    hs = started(nn, NOISE_INITIATOR, NULL);
    assert_int_equal(noise_handshake_write(hs, NULL, 0, out, sizeof(out), &len), TS_OK);
    memset(msg, 0, sizeof(msg));
    memcpy(msg, bad, n);
    assert_int_equal(
        noise_handshake_read(hs, msg, n + NOISE_TAG_LEN, out, sizeof(out), &len),
        TS_ERR_CRYPTO);
    assert_int_equal(noise_handshake_action(hs), NOISE_ACTION_FAILED);
    noise_handshake_free(hs);

    /* As the initiator's "e": the responder's "ee" refuses it when writing. */
    hs = started(nn, NOISE_RESPONDER, NULL);
    assert_int_equal(noise_handshake_read(hs, bad, n, out, sizeof(out), &len), TS_OK);
    assert_int_equal(noise_handshake_write(hs, NULL, 0, out, sizeof(out), &len),
                     TS_ERR_CRYPTO);
    assert_int_equal(noise_handshake_action(hs), NOISE_ACTION_FAILED);
    noise_handshake_free(hs);
}

static void test_low_order_in_handshakes(void **state)
{
    uint8_t bad[NOISE_MAX_DH_LEN], out[256];
    noise_handshake *hs;
    size_t len;

    for (size_t i = 0; i < sizeof(low_order_25519) / sizeof(low_order_25519[0]); i++) {
        test_hex(low_order_25519[i], bad, 32);
        check_handshake_refuses(NN, bad, 32);

        /* As a pinned static key: the initiator's "es" refuses it. */
        hs = started(NK, NOISE_INITIATOR, bad);
        assert_int_equal(noise_handshake_write(hs, NULL, 0, out, sizeof(out), &len),
                         TS_ERR_CRYPTO);
        assert_int_equal(noise_handshake_action(hs), NOISE_ACTION_FAILED);
        noise_handshake_free(hs);
    }
    for (uint8_t u = 0; u < 2; u++) {
        memset(bad, 0, sizeof(bad));
        bad[0] = u;
        check_handshake_refuses(NN448, bad, 56);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7748),
        cmocka_unit_test(test_generated_keys_agree),
        cmocka_unit_test(test_low_order_direct),
        cmocka_unit_test(test_low_order_in_handshakes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
