/*
 * Noise transport CipherStates: implicit nonces against replay, reordering
 * and reflection; Rekey(); nonce exhaustion; lengths; in-place use; known
 * answers for nonce encoding and REKEY() straight from the primitives.
 */
#include "support.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "noise/cipher.h"
#include "noise/noise.h"

#define NN_AES "Noise_NN_25519_AESGCM_SHA256"
#define NN_CHACHA "Noise_NN_25519_ChaChaPoly_BLAKE2b"
#define MAX_PLAINTEXT (NOISE_MAX_MESSAGE - NOISE_TAG_LEN)
#define NONCE_LAST_USABLE (NOISE_NONCE_MAX - 1)

enum { I, R };

/* Both sides' transport CipherStates after an NN handshake. */
struct link {
    noise_cipher *send[2];
    noise_cipher *recv[2];
};

static const uint8_t frame_text[] = "a tcpseal transport frame";
#define FRAME_CT_LEN (sizeof(frame_text) + NOISE_TAG_LEN)

static void link_new(struct link *l, const char *name)
{
    noise_protocol proto;
    noise_handshake *hs[2];
    uint8_t msg[128];
    size_t len, plen;

    assert_int_equal(noise_protocol_parse(name, &proto), TS_OK);
    assert_int_equal(noise_handshake_new(&hs[I], &proto, NOISE_INITIATOR), TS_OK);
    assert_int_equal(noise_handshake_new(&hs[R], &proto, NOISE_RESPONDER), TS_OK);
    assert_int_equal(noise_handshake_start(hs[I]), TS_OK);
    assert_int_equal(noise_handshake_start(hs[R]), TS_OK);
    assert_int_equal(noise_handshake_write(hs[I], NULL, 0, msg, sizeof(msg), &len), TS_OK);
    assert_int_equal(noise_handshake_read(hs[R], msg, len, NULL, 0, &plen), TS_OK);
    assert_int_equal(noise_handshake_write(hs[R], NULL, 0, msg, sizeof(msg), &len), TS_OK);
    assert_int_equal(noise_handshake_read(hs[I], msg, len, NULL, 0, &plen), TS_OK);
    for (int side = I; side <= R; side++) {
        assert_int_equal(noise_handshake_split(hs[side], &l->send[side], &l->recv[side]),
                         TS_OK);
        noise_handshake_free(hs[side]);
    }
}

static void link_free(struct link *l)
{
    for (int side = I; side <= R; side++) {
        noise_cipher_free(l->send[side]);
        noise_cipher_free(l->recv[side]);
    }
}

static void seal(noise_cipher *cs, uint8_t ct[FRAME_CT_LEN])
{
    assert_int_equal(noise_cipher_encrypt(cs, NULL, 0, frame_text, sizeof(frame_text), ct),
                     TS_OK);
}

static int open_frame(noise_cipher *cs, const uint8_t ct[FRAME_CT_LEN])
{
    uint8_t pt[sizeof(frame_text)];
    int rc = noise_cipher_decrypt(cs, NULL, 0, ct, FRAME_CT_LEN, pt);

    if (rc == TS_OK)
        assert_memory_equal(pt, frame_text, sizeof(pt));
    return rc;
}

/* ------------------------------------------------------------------------ */

static void test_both_directions(void **state)
{
    struct link l;
    uint8_t ct[FRAME_CT_LEN];

    link_new(&l, *state);
    for (uint64_t n = 0; n < 3; n++) {
        for (int side = I; side <= R; side++) {
            assert_int_equal(noise_cipher_nonce(l.send[side]), n);
            seal(l.send[side], ct);
            assert_int_equal(open_frame(l.recv[1 - side], ct), TS_OK);
            assert_int_equal(noise_cipher_nonce(l.recv[1 - side]), n + 1);
        }
    }
    link_free(&l);
}

static void test_replay(void **state)
{
    struct link l;
    uint8_t ct[FRAME_CT_LEN];

    link_new(&l, *state);
    seal(l.send[I], ct);
    assert_int_equal(open_frame(l.recv[R], ct), TS_OK);
    assert_int_equal(open_frame(l.recv[R], ct), TS_ERR_DECRYPT);
    assert_int_equal(noise_cipher_nonce(l.recv[R]), 1);
    link_free(&l);
}

static void test_reorder(void **state)
{
    struct link l;
    uint8_t first[FRAME_CT_LEN], second[FRAME_CT_LEN];

    link_new(&l, *state);
    seal(l.send[I], first);
    seal(l.send[I], second);
    assert_int_equal(open_frame(l.recv[R], second), TS_ERR_DECRYPT);
    assert_int_equal(noise_cipher_nonce(l.recv[R]), 0); /* failure does not advance */
    assert_int_equal(open_frame(l.recv[R], first), TS_OK);
    assert_int_equal(open_frame(l.recv[R], second), TS_OK);
    link_free(&l);
}

/* A frame fed back to its sender's receive state: the directions have
 * different keys, so it is refused. */
static void test_reflection(void **state)
{
    struct link l;
    uint8_t ct[FRAME_CT_LEN];

    link_new(&l, *state);
    seal(l.send[I], ct);
    assert_int_equal(open_frame(l.recv[I], ct), TS_ERR_DECRYPT);
    seal(l.send[R], ct);
    assert_int_equal(open_frame(l.recv[R], ct), TS_ERR_DECRYPT);
    link_free(&l);
}

static void test_rekey(void **state)
{
    struct link l;
    uint8_t ct[FRAME_CT_LEN];

    link_new(&l, *state);
    seal(l.send[I], ct);
    assert_int_equal(open_frame(l.recv[R], ct), TS_OK);
    /* Both sides: still in step, nonces untouched (section 11.3). */
    assert_int_equal(noise_cipher_rekey(l.send[I]), TS_OK);
    assert_int_equal(noise_cipher_rekey(l.recv[R]), TS_OK);
    assert_int_equal(noise_cipher_nonce(l.send[I]), 1);
    assert_int_equal(noise_cipher_nonce(l.recv[R]), 1);
    seal(l.send[I], ct);
    assert_int_equal(open_frame(l.recv[R], ct), TS_OK);
    /* One side only: the other can no longer decrypt. */
    assert_int_equal(noise_cipher_rekey(l.send[I]), TS_OK);
    seal(l.send[I], ct);
    assert_int_equal(open_frame(l.recv[R], ct), TS_ERR_DECRYPT);
    assert_int_equal(noise_cipher_nonce(l.recv[R]), 2);
    link_free(&l);
}

static void test_nonce_exhaustion(void **state)
{
    struct link l;
    uint8_t ct[FRAME_CT_LEN];

    link_new(&l, *state);
    noise_cipher_set_nonce(l.send[I], NONCE_LAST_USABLE);
    noise_cipher_set_nonce(l.recv[R], NONCE_LAST_USABLE);
    seal(l.send[I], ct);
    assert_int_equal(noise_cipher_nonce(l.send[I]), NOISE_NONCE_MAX);
    assert_int_equal(open_frame(l.recv[R], ct), TS_OK);
    assert_int_equal(noise_cipher_nonce(l.recv[R]), NOISE_NONCE_MAX);
    /* 2^64-1 is reserved: both directions refuse it and stay there. */
    assert_int_equal(
        noise_cipher_encrypt(l.send[I], NULL, 0, frame_text, sizeof(frame_text), ct),
        TS_ERR_NONCE_EXHAUSTED);
    assert_int_equal(open_frame(l.recv[R], ct), TS_ERR_NONCE_EXHAUSTED);
    assert_int_equal(noise_cipher_nonce(l.send[I]), NOISE_NONCE_MAX);
    assert_int_equal(noise_cipher_nonce(l.recv[R]), NOISE_NONCE_MAX);
    link_free(&l);
}

static void test_in_place(void **state)
{
    struct link l;
    uint8_t buf[MAX_PLAINTEXT + NOISE_TAG_LEN];
    const size_t sizes[] = {0, 1, 64, 16384, MAX_PLAINTEXT};

    link_new(&l, *state);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t n = sizes[i];
        for (size_t j = 0; j < n; j++)
            buf[j] = (uint8_t)(j * 7 + i);
        assert_int_equal(noise_cipher_encrypt(l.send[R], NULL, 0, buf, n, buf), TS_OK);
        assert_int_equal(
            noise_cipher_decrypt(l.recv[I], NULL, 0, buf, n + NOISE_TAG_LEN, buf), TS_OK);
        for (size_t j = 0; j < n; j++)
            assert_int_equal(buf[j], (uint8_t)(j * 7 + i));
    }
    link_free(&l);
}

static void test_lengths(void **state)
{
    static uint8_t big[NOISE_MAX_MESSAGE + 1];
    struct link l;
    uint8_t out[NOISE_MAX_MESSAGE];

    link_new(&l, *state);
    assert_int_equal(noise_cipher_decrypt(l.recv[R], NULL, 0, big, 0, out),
                     TS_ERR_TRUNCATED);
    assert_int_equal(noise_cipher_decrypt(l.recv[R], NULL, 0, big, NOISE_TAG_LEN - 1, out),
                     TS_ERR_TRUNCATED);
    assert_int_equal(
        noise_cipher_decrypt(l.recv[R], NULL, 0, big, NOISE_MAX_MESSAGE + 1, out),
        TS_ERR_TOO_LARGE);
    assert_int_equal(noise_cipher_encrypt(l.send[I], NULL, 0, big, MAX_PLAINTEXT + 1, out),
                     TS_ERR_TOO_LARGE);
    assert_int_equal(noise_cipher_nonce(l.send[I]), 0);
    assert_int_equal(noise_cipher_nonce(l.recv[R]), 0);
    /* An empty frame is just a tag. */
    assert_int_equal(noise_cipher_encrypt(l.send[I], NULL, 0, NULL, 0, out), TS_OK);
    assert_int_equal(noise_cipher_decrypt(l.recv[R], NULL, 0, out, NOISE_TAG_LEN, out),
                     TS_OK);
    link_free(&l);
}

static void test_tampering_and_ad(void **state)
{
    static const uint8_t ad[] = "frame header";
    struct link l;
    uint8_t ct[FRAME_CT_LEN], pt[sizeof(frame_text)];

    link_new(&l, *state);
    seal(l.send[I], ct);
    for (size_t i = 0; i < sizeof(ct); i++) {
        ct[i] ^= 0x20;
        memset(pt, 0xaa, sizeof(pt));
        assert_int_equal(noise_cipher_decrypt(l.recv[R], NULL, 0, ct, sizeof(ct), pt),
                         TS_ERR_DECRYPT);
        /* Nothing unauthenticated is left in the output. */
        assert_true(sodium_is_zero(pt, sizeof(pt)));
        ct[i] ^= 0x20;
    }
    assert_int_equal(noise_cipher_nonce(l.recv[R]), 0);
    assert_int_equal(noise_cipher_decrypt(l.recv[R], ad, sizeof(ad), ct, sizeof(ct), pt),
                     TS_ERR_DECRYPT);
    assert_int_equal(open_frame(l.recv[R], ct), TS_OK);
    assert_int_equal(
        noise_cipher_encrypt(l.send[I], ad, sizeof(ad), frame_text, sizeof(frame_text), ct),
        TS_OK);
    assert_int_equal(noise_cipher_decrypt(l.recv[R], ad, sizeof(ad), ct, sizeof(ct), pt),
                     TS_OK);
    link_free(&l);
}

/* ------------------------------------------------------------------------ */
/* Known answers computed with the primitives directly.                     */

/* Section 12.3 / 12.4 nonce: 4 zero bytes, then n little- or big-endian. */
static void nonce_bytes(bool big_endian, uint64_t n, uint8_t out[12])
{
    memset(out, 0, 12);
    for (int i = 0; i < 8; i++)
        out[big_endian ? 11 - i : 4 + i] = (uint8_t)(n >> (8 * i));
}

static void reference_encrypt(bool aes, const uint8_t key[32], uint64_t n,
                              const uint8_t *pt, size_t len, uint8_t *out)
{
    uint8_t nonce[12];

    nonce_bytes(aes, n, nonce);
    if (!aes) {
        crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, pt, len, NULL, 0, NULL, nonce,
                                                  key);
        return;
    }
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int outl;
    assert_non_null(ctx);
    assert_int_equal(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce), 1);
    assert_int_equal(EVP_EncryptUpdate(ctx, out, &outl, pt, (int)len), 1);
    assert_int_equal(EVP_EncryptFinal_ex(ctx, out + len, &outl), 1);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, out + len), 1);
    EVP_CIPHER_CTX_free(ctx);
}

static void test_known_answers(void **state)
{
    const bool aes = strstr(*state, "AESGCM") != NULL;
    noise_protocol proto;
    noise_cipher *cs;
    uint8_t key[32], rekeyed[32 + 16], zeros[32] = {0};
    uint8_t got[sizeof(frame_text) + 16], want[sizeof(frame_text) + 16];
    const uint64_t n = ((uint64_t)1 << 40) + 5; /* endianness shows */

    assert_int_equal(noise_protocol_parse(*state, &proto), TS_OK);
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)i;
    assert_int_equal(noise_cipher_new(&cs, proto.cipher, key), TS_OK);
    noise_cipher_set_nonce(cs, n);
    assert_int_equal(noise_cipher_encrypt(cs, NULL, 0, frame_text, sizeof(frame_text), got),
                     TS_OK);
    reference_encrypt(aes, key, n, frame_text, sizeof(frame_text), want);
    assert_memory_equal(got, want, sizeof(got));

    /* REKEY(k) = ENCRYPT(k, 2^64-1, zerolen, zeros)[0:32]. */
    reference_encrypt(aes, key, NOISE_NONCE_MAX, zeros, sizeof(zeros), rekeyed);
    assert_int_equal(noise_cipher_rekey(cs), TS_OK);
    noise_cipher_set_nonce(cs, 0);
    assert_int_equal(noise_cipher_encrypt(cs, NULL, 0, frame_text, sizeof(frame_text), got),
                     TS_OK);
    reference_encrypt(aes, rekeyed, 0, frame_text, sizeof(frame_text), want);
    assert_memory_equal(got, want, sizeof(got));
    noise_cipher_free(cs);
}

#define BOTH(test)                                                                         \
    cmocka_unit_test_prestate(test, NN_AES), cmocka_unit_test_prestate(test, NN_CHACHA)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_both_directions), BOTH(test_replay),  BOTH(test_reorder),
        BOTH(test_reflection),      BOTH(test_rekey),   BOTH(test_nonce_exhaustion),
        BOTH(test_in_place),        BOTH(test_lengths), BOTH(test_tampering_and_ad),
        BOTH(test_known_answers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
