/*
 * Noise: published vectors for tcpseal's suites and protocol name parsing.
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "noise/noise.h"

#define VECTOR_FILE TS_SHARED_DIR "/vectors/cacophony.txt"

/* XX with 25519 for the ciphers and hashes tcpseal uses. */
static const char *const xx_suites[] = {
    "Noise_XX_25519_AESGCM_SHA256",
    "Noise_XX_25519_AESGCM_BLAKE2b",
    "Noise_XX_25519_ChaChaPoly_SHA256",
    "Noise_XX_25519_ChaChaPoly_BLAKE2b",
};

static json_t *vectors;

static int load_vectors(void **state)
{
    json_error_t err;

    vectors = json_load_file(VECTOR_FILE, 0, &err);
    return 0; /* absent file: each vector test skips */
}

static int free_vectors(void **state)
{
    json_decref(vectors);
    return 0;
}

static json_t *find_vector(const char *name)
{
    json_t *v;
    size_t i;

    json_array_foreach (json_object_get(vectors, "vectors"), i, v) {
        if (strcmp(json_string_value(json_object_get(v, "protocol_name")), name) == 0)
            return v;
    }
    return NULL;
}

/* Decode an optional hex field; returns its length or 0 when absent. */
static size_t field(json_t *obj, const char *key, uint8_t *out, size_t cap)
{
    json_t *s = json_object_get(obj, key);

    if (s == NULL)
        return 0;
    assert_true(json_is_string(s));
    return test_hex(json_string_value(s), out, cap);
}

static noise_handshake *side_new(json_t *v, const noise_protocol *proto, noise_role role)
{
    const char *prefix = role == NOISE_INITIATOR ? "init_" : "resp_";
    noise_handshake *hs;
    uint8_t buf[256];
    char key[32];
    size_t len;

    assert_int_equal(noise_handshake_new(&hs, proto, role), TS_OK);
    snprintf(key, sizeof(key), "%sprologue", prefix);
    if ((len = field(v, key, buf, sizeof(buf))) > 0)
        assert_int_equal(noise_handshake_set_prologue(hs, buf, len), TS_OK);
    snprintf(key, sizeof(key), "%sstatic", prefix);
    if ((len = field(v, key, buf, sizeof(buf))) > 0)
        assert_int_equal(noise_handshake_set_static(hs, buf, len), TS_OK);
    snprintf(key, sizeof(key), "%sephemeral", prefix);
    if ((len = field(v, key, buf, sizeof(buf))) > 0)
        assert_int_equal(noise_handshake_set_ephemeral(hs, buf, len), TS_OK);
    snprintf(key, sizeof(key), "%sremote_static", prefix);
    if ((len = field(v, key, buf, sizeof(buf))) > 0)
        assert_int_equal(noise_handshake_set_remote_static(hs, buf, len), TS_OK);
    assert_int_equal(noise_handshake_start(hs), TS_OK);
    return hs;
}

static void check_hash(json_t *v, noise_handshake *hs)
{
    uint8_t want[NOISE_MAX_HASH_LEN], got[NOISE_MAX_HASH_LEN];
    size_t want_len = field(v, "handshake_hash", want, sizeof(want)), got_len;

    if (want_len == 0)
        return;
    assert_int_equal(noise_handshake_hash(hs, got, sizeof(got), &got_len), TS_OK);
    assert_int_equal(got_len, want_len);
    assert_memory_equal(got, want, want_len);
}

/* Runs one vector: every message from its sender, handshake then transport
 * (two-way patterns alternate senders across the whole list). */
static void run_vector(const char *name)
{
    json_t *v = NULL, *m;
    noise_protocol proto;
    noise_handshake *hs[2];
    noise_cipher *send[2] = {NULL, NULL}, *recv[2] = {NULL, NULL};
    uint8_t payload[1024], ct[1024], out[1024], back[1024];
    size_t k, plen, ctlen, outlen, backlen;
    bool handshake = true;

    if (vectors == NULL || (v = find_vector(name)) == NULL)
        skip();
    assert_int_equal(noise_protocol_parse(name, &proto), TS_OK);
    hs[0] = side_new(v, &proto, NOISE_INITIATOR);
    hs[1] = side_new(v, &proto, NOISE_RESPONDER);

    json_array_foreach (json_object_get(v, "messages"), k, m) {
        int tx = k % 2, rx = 1 - tx;

        plen = field(m, "payload", payload, sizeof(payload));
        ctlen = field(m, "ciphertext", ct, sizeof(ct));
        if (handshake && noise_handshake_action(hs[0]) == NOISE_ACTION_SPLIT) {
            assert_int_equal(noise_handshake_action(hs[1]), NOISE_ACTION_SPLIT);
            check_hash(v, hs[0]);
            check_hash(v, hs[1]);
            assert_int_equal(noise_handshake_split(hs[0], &send[0], &recv[0]), TS_OK);
            assert_int_equal(noise_handshake_split(hs[1], &send[1], &recv[1]), TS_OK);
            handshake = false;
        }
        if (handshake) {
            assert_int_equal(noise_handshake_action(hs[tx]), NOISE_ACTION_WRITE);
            assert_int_equal(
                noise_handshake_write(hs[tx], payload, plen, out, sizeof(out), &outlen),
                TS_OK);
            assert_int_equal(
                noise_handshake_read(hs[rx], out, outlen, back, sizeof(back), &backlen),
                TS_OK);
        } else {
            outlen = plen + NOISE_TAG_LEN;
            assert_int_equal(noise_cipher_encrypt(send[tx], NULL, 0, payload, plen, out),
                             TS_OK);
            assert_int_equal(noise_cipher_decrypt(recv[rx], NULL, 0, out, outlen, back),
                             TS_OK);
            backlen = plen;
        }
        assert_int_equal(outlen, ctlen);
        assert_memory_equal(out, ct, ctlen);
        assert_int_equal(backlen, plen);
        assert_memory_equal(back, payload, plen);
    }
    assert_false(handshake);
    for (int i = 0; i < 2; i++) {
        noise_handshake_free(hs[i]);
        noise_cipher_free(send[i]);
        noise_cipher_free(recv[i]);
    }
}

static void test_vector_xx(void **state)
{
    run_vector(*state);
}

/* ------------------------------------------------------------------------ */

static void test_parse_valid(void **state)
{
    noise_protocol p;

    assert_int_equal(noise_protocol_parse("Noise_XX_25519_AESGCM_SHA256", &p), TS_OK);
    assert_string_equal(p.name, "Noise_XX_25519_AESGCM_SHA256");
    assert_int_equal(noise_protocol_dh_len(&p), 32);
    assert_int_equal(noise_protocol_hash_len(&p), 32);
    assert_false(noise_protocol_is_one_way(&p));

    assert_int_equal(noise_protocol_parse("Noise_N_448_ChaChaPoly_BLAKE2b", &p), TS_OK);
    assert_int_equal(noise_protocol_dh_len(&p), 56);
    assert_int_equal(noise_protocol_hash_len(&p), 64);
    assert_true(noise_protocol_is_one_way(&p));

    assert_int_equal(noise_protocol_parse("Noise_Xpsk1_25519_AESGCM_SHA512", &p), TS_OK);
    assert_true(noise_protocol_is_one_way(&p));
    assert_int_equal(noise_protocol_parse("Noise_X1K1_25519_ChaChaPoly_BLAKE2s", &p),
                     TS_OK);
    assert_int_equal(noise_protocol_parse("Noise_NNpsk0+psk2_25519_ChaChaPoly_SHA256", &p),
                     TS_OK);
    assert_int_equal(
        noise_protocol_parse("Noise_XXpsk0+psk1+psk2+psk3_25519_AESGCM_SHA256", &p), TS_OK);
    assert_int_equal(noise_protocol_parse("Noise_I1X1_448_AESGCM_SHA512", &p), TS_OK);
}

static void test_parse_malformed(void **state)
{
    static const char *const names[] = {
        "",
        "Noise",
        "Noise_",
        "noise_XX_25519_AESGCM_SHA256",
        "Noise_XX_25519_AESGCM",
        "Noise_XX_25519_AESGCM_SHA256_",
        "Noise_XX_25519_AESGCM_SHA256_X",
        "Noise__25519_AESGCM_SHA256",
        "Noise_XX__AESGCM_SHA256",
        "Noise_XX_25519_AESGCM_",
        "Noise_XX_25519_AES-GCM_SHA256",
        "Noise_XX_25519_AESGCM_SHA 256",
        "Noise_xx_25519_AESGCM_SHA256",
        "Noise_1X_25519_AESGCM_SHA256",
        "Noise_XX+psk0_25519_AESGCM_SHA256",
        "Noise_XXpsk0+_25519_AESGCM_SHA256",
        "Noise_XXpsk0++psk1_25519_AESGCM_SHA256",
        "Noise_XXpsk2+psk0_25519_AESGCM_SHA256",
        "Noise_XXpsk0+psk0_25519_AESGCM_SHA256",
        "Noise_XXpsk0+Psk1_25519_AESGCM_SHA256",
    };
    char longname[300];
    noise_protocol p;

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (noise_protocol_parse(names[i], &p) != TS_ERR_MALFORMED)
            fail_msg("\"%s\" not rejected as malformed", names[i]);
    }
    memset(longname, 'A', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    memcpy(longname, "Noise_XX_25519_AESGCM_", 22);
    assert_int_equal(noise_protocol_parse(longname, &p), TS_ERR_MALFORMED);
    assert_int_equal(noise_protocol_parse(NULL, &p), TS_ERR_INVALID);
}

static void test_parse_unsupported(void **state)
{
    static const char *const names[] = {
        "Noise_XXfallback_25519_AESGCM_SHA256",
        "Noise_XXfallback+psk0_25519_AESGCM_SHA256",
        "Noise_XXhfs_25519_AESGCM_SHA256",
        "Noise_ZZ_25519_AESGCM_SHA256",
        "Noise_X2X_25519_AESGCM_SHA256",
        "Noise_XX0psk_25519_AESGCM_SHA256",
        "Noise_XX_P256_AESGCM_SHA256",
        "Noise_XX_25519+448_AESGCM_SHA256",
        "Noise_XX_25519_AESGCMSIV_SHA256",
        "Noise_XX_25519_chachapoly_SHA256",
        "Noise_XX_25519_AESGCM_SHA3/256",
        "Noise_XX_25519_AESGCM_sha256",
        "Noise_NNpsk3_25519_AESGCM_SHA256", /* NN has two messages */
        "Noise_Npsk2_25519_AESGCM_SHA256",  /* N has one */
        "Noise_XXpsk01_25519_AESGCM_SHA256",
        "Noise_XXpsk0+psk1+psk2+psk3+psk4_25519_AESGCM_SHA256",
        "Noise_XX_25519_AESGCM_BLAKE2bBLAKE2bBLAKE2bBLAKE2bBLAKE2bBLAKE2b",
    };
    noise_protocol p;

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (noise_protocol_parse(names[i], &p) != TS_ERR_UNSUPPORTED)
            fail_msg("\"%s\" not rejected as unsupported", names[i]);
    }
}

/* A handshake only accepts a protocol that agrees with its own name. */
static void test_protocol_struct_checked(void **state)
{
    noise_protocol p, other;
    noise_handshake *hs = NULL;

    assert_int_equal(noise_protocol_parse("Noise_XX_25519_AESGCM_SHA256", &p), TS_OK);
    assert_int_equal(noise_protocol_parse("Noise_XX_25519_AESGCM_BLAKE2b", &other), TS_OK);
    p.hash = other.hash;
    assert_int_equal(noise_handshake_new(&hs, &p, NOISE_INITIATOR), TS_ERR_INVALID);
    assert_null(hs);
    assert_int_equal(noise_handshake_new(&hs, &other, (noise_role)7), TS_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_vector_xx, (void *)xx_suites[0]),
        cmocka_unit_test_prestate(test_vector_xx, (void *)xx_suites[1]),
        cmocka_unit_test_prestate(test_vector_xx, (void *)xx_suites[2]),
        cmocka_unit_test_prestate(test_vector_xx, (void *)xx_suites[3]),
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_malformed),
        cmocka_unit_test(test_parse_unsupported),
        cmocka_unit_test(test_protocol_struct_checked),
    };

    return cmocka_run_group_tests(tests, load_vectors, free_vectors);
}
