/*
 * Noise handshakes under hostile or mistaken input: tampering, truncation,
 * wrong keys, wrong prologue, calls out of turn, limits. Invalid DH keys
 * are in test_noise_dh.c.
 */
#include "support.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "noise/noise.h"

#define XX "Noise_XX_25519_ChaChaPoly_BLAKE2b"
#define XX_AES "Noise_XX_25519_AESGCM_SHA256"
#define IK "Noise_IK_25519_AESGCM_SHA256"
#define NK "Noise_NK_25519_ChaChaPoly_SHA256"
#define NN "Noise_NN_25519_ChaChaPoly_SHA256"
#define KEY_MAX NOISE_MAX_DH_LEN

enum { I, R }; /* initiator, responder */

/* Fixed keys make every run of a pattern produce the same messages, so a
 * message can be replayed, cut or flipped against a fresh peer. */
struct keys {
    uint8_t s[2][KEY_MAX], s_pub[2][KEY_MAX];
    uint8_t e[2][KEY_MAX];
    uint8_t other[KEY_MAX], other_pub[KEY_MAX]; /* not the responder's */
};

struct opts {
    const char *name;
    bool rs[2];    /* side knows the peer's static key in advance */
    bool wrong_rs; /* the initiator pins the wrong responder key */
    const char *prologue[2];
    size_t psks[2];      /* PSKs given to each side */
    uint8_t psk_byte[2]; /* their content */
};

struct pair {
    noise_protocol proto;
    noise_handshake *hs[2];
    uint8_t msg[NOISE_MAX_MESSAGE];
    size_t len;
};

static const uint8_t payload[] = "tcpseal handshake payload";

static void keys_make(struct keys *k, const noise_protocol *proto)
{
    size_t n = noise_protocol_dh_len(proto);

    for (int side = I; side <= R; side++) {
        memset(k->s[side], 0x11 * (side + 1), n);
        memset(k->e[side], 0x33 * (side + 1), n);
        assert_int_equal(noise_dh_public(proto, k->s[side], k->s_pub[side]), TS_OK);
    }
    memset(k->other, 0x77, n);
    assert_int_equal(noise_dh_public(proto, k->other, k->other_pub), TS_OK);
}

static void pair_new(struct pair *p, const struct opts *o)
{
    struct keys k;
    uint8_t psk[NOISE_PSK_LEN];
    size_t n;

    memset(p, 0, sizeof(*p));
    assert_int_equal(noise_protocol_parse(o->name, &p->proto), TS_OK);
    keys_make(&k, &p->proto);
    n = noise_protocol_dh_len(&p->proto);
    for (int side = I; side <= R; side++) {
        noise_handshake *hs;
        const uint8_t *rs = side == I && o->wrong_rs ? k.other_pub : k.s_pub[1 - side];

        assert_int_equal(noise_handshake_new(&p->hs[side], &p->proto,
                                             side == I ? NOISE_INITIATOR : NOISE_RESPONDER),
                         TS_OK);
        hs = p->hs[side];
        if (o->prologue[side] != NULL)
            assert_int_equal(
                noise_handshake_set_prologue(hs, (const uint8_t *)o->prologue[side],
                                             strlen(o->prologue[side])),
                TS_OK);
        assert_int_equal(noise_handshake_set_static(hs, k.s[side], n), TS_OK);
        assert_int_equal(noise_handshake_set_ephemeral(hs, k.e[side], n), TS_OK);
        if (o->rs[side])
            assert_int_equal(noise_handshake_set_remote_static(hs, rs, n), TS_OK);
        memset(psk, o->psk_byte[side], sizeof(psk));
        for (size_t i = 0; i < o->psks[side]; i++)
            assert_int_equal(noise_handshake_add_psk(hs, psk, sizeof(psk)), TS_OK);
        assert_int_equal(noise_handshake_start(hs), TS_OK);
    }
}

static void pair_free(struct pair *p)
{
    noise_handshake_free(p->hs[I]);
    noise_handshake_free(p->hs[R]);
}

/* Message k is sent by the initiator when k is even. */
static int sender(size_t k)
{
    return k % 2 == 0 ? I : R;
}

/* The sender of message k writes it into p->msg. */
static void produce(struct pair *p, size_t k)
{
    assert_int_equal(noise_handshake_action(p->hs[sender(k)]), NOISE_ACTION_WRITE);
    assert_int_equal(noise_handshake_write(p->hs[sender(k)], payload, sizeof(payload),
                                           p->msg, sizeof(p->msg), &p->len),
                     TS_OK);
}

/* Exchange messages 0 .. k-1 successfully. */
static void advance(struct pair *p, size_t k)
{
    uint8_t out[NOISE_MAX_MESSAGE];
    size_t len;

    for (size_t m = 0; m < k; m++) {
        produce(p, m);
        assert_int_equal(noise_handshake_read(p->hs[1 - sender(m)], p->msg, p->len, out,
                                              sizeof(out), &len),
                         TS_OK);
        assert_int_equal(len, sizeof(payload));
        assert_memory_equal(out, payload, len);
    }
}

/* Feed msg (len bytes) as message k to a fresh receiver; returns its code. */
static int read_fresh(const struct opts *o, size_t k, const uint8_t *msg, size_t len,
                      noise_action *action)
{
    struct pair p;
    uint8_t out[NOISE_MAX_MESSAGE];
    size_t out_len;
    int rc;

    pair_new(&p, o);
    advance(&p, k);
    rc = noise_handshake_read(p.hs[1 - sender(k)], msg, len, out, sizeof(out), &out_len);
    *action = noise_handshake_action(p.hs[1 - sender(k)]);
    pair_free(&p);
    return rc;
}

static void message_of(const struct opts *o, size_t k, uint8_t *msg, size_t *len)
{
    struct pair p;

    pair_new(&p, o);
    advance(&p, k);
    produce(&p, k);
    memcpy(msg, p.msg, p.len);
    *len = p.len;
    pair_free(&p);
}

static void assert_rejected(int rc, noise_action action)
{
    if (rc != TS_ERR_DECRYPT && rc != TS_ERR_CRYPTO && rc != TS_ERR_TRUNCATED)
        fail_msg("hostile message accepted or odd error %d", rc);
    assert_int_equal(action, NOISE_ACTION_FAILED);
}

/* ------------------------------------------------------------------------ */

static void test_xx_completes(void **state)
{
    const struct opts o = {.name = *state, .prologue = {"tcpseal/1", "tcpseal/1"}};
    struct pair p;
    uint8_t h[2][NOISE_MAX_HASH_LEN];
    const uint8_t *rs, *ls;
    size_t len, rs_len;
    noise_cipher *send[2], *recv[2], *extra[2];
    struct keys k;

    pair_new(&p, &o);
    keys_make(&k, &p.proto);
    assert_null(noise_handshake_remote_static(p.hs[I], &rs_len));
    advance(&p, 3);
    for (int side = I; side <= R; side++) {
        assert_int_equal(noise_handshake_action(p.hs[side]), NOISE_ACTION_SPLIT);
        rs = noise_handshake_remote_static(p.hs[side], &rs_len);
        assert_non_null(rs);
        assert_int_equal(rs_len, noise_protocol_dh_len(&p.proto));
        assert_memory_equal(rs, k.s_pub[1 - side], rs_len);
        ls = noise_handshake_local_static(p.hs[side], &len);
        assert_memory_equal(ls, k.s_pub[side], len);
        assert_int_equal(noise_handshake_hash(p.hs[side], h[side], sizeof(h[side]), &len),
                         TS_OK);
        assert_int_equal(noise_handshake_split(p.hs[side], &send[side], &recv[side]),
                         TS_OK);
        /* Split() runs once; the handshake hash stays readable after it. */
        assert_int_equal(noise_handshake_hash(p.hs[side], h[side], sizeof(h[side]), &len),
                         TS_OK);
        assert_int_equal(noise_handshake_split(p.hs[side], &extra[0], &extra[1]),
                         TS_ERR_STATE);
        assert_null(extra[0]);
        assert_null(extra[1]);
    }
    assert_memory_equal(h[I], h[R], len);
    /* The refused second Split() failed the handshakes, not the ciphers. */
    for (int side = I; side <= R; side++) {
        uint8_t ct[sizeof(payload) + NOISE_TAG_LEN], pt[sizeof(payload)];
        assert_int_equal(
            noise_cipher_encrypt(send[side], NULL, 0, payload, sizeof(payload), ct), TS_OK);
        assert_int_equal(noise_cipher_decrypt(recv[1 - side], NULL, 0, ct, sizeof(ct), pt),
                         TS_OK);
        assert_memory_equal(pt, payload, sizeof(pt));
    }
    for (int side = I; side <= R; side++) {
        noise_cipher_free(send[side]);
        noise_cipher_free(recv[side]);
    }
    pair_free(&p);
}

/* Random ephemerals: the path tcpseal runs in production. */
static void test_generated_ephemerals(void **state)
{
    noise_protocol proto;
    noise_handshake *hs[2];
    uint8_t priv[2][32], pub[2][32], msg[256], pt[256];
    size_t len, plen;
    noise_cipher *send[2], *recv[2];

    assert_int_equal(noise_protocol_parse(XX, &proto), TS_OK);
    for (int side = I; side <= R; side++) {
        assert_int_equal(noise_dh_generate(&proto, priv[side], pub[side]), TS_OK);
        assert_int_equal(noise_handshake_new(&hs[side], &proto,
                                             side == I ? NOISE_INITIATOR : NOISE_RESPONDER),
                         TS_OK);
        assert_int_equal(noise_handshake_set_static(hs[side], priv[side], 32), TS_OK);
        assert_int_equal(noise_handshake_start(hs[side]), TS_OK);
    }
    for (size_t k = 0; k < 3; k++) {
        assert_int_equal(
            noise_handshake_write(hs[sender(k)], NULL, 0, msg, sizeof(msg), &len), TS_OK);
        assert_int_equal(noise_handshake_read(hs[1 - sender(k)], msg, len, NULL, 0, &plen),
                         TS_OK);
        assert_int_equal(plen, 0);
    }
    for (int side = I; side <= R; side++) {
        assert_memory_equal(noise_handshake_remote_static(hs[side], &len), pub[1 - side],
                            32);
        assert_int_equal(noise_handshake_split(hs[side], &send[side], &recv[side]), TS_OK);
    }
    assert_int_equal(noise_cipher_encrypt(send[I], NULL, 0, payload, sizeof(payload), msg),
                     TS_OK);
    assert_int_equal(noise_cipher_decrypt(recv[R], NULL, 0, msg, sizeof(payload) + 16, pt),
                     TS_OK);
    for (int side = I; side <= R; side++) {
        noise_handshake_free(hs[side]);
        noise_cipher_free(send[side]);
        noise_cipher_free(recv[side]);
    }
}

static void test_tampered_messages(void **state)
{
    const struct opts xx = {.name = XX_AES};
    const struct opts ik = {.name = IK, .rs = {true, false}};
    uint8_t msg[NOISE_MAX_MESSAGE];
    size_t len;
    noise_action action;
    int rc;

    /* Every byte of XX's second and third messages is authenticated. */
    for (size_t k = 1; k < 3; k++) {
        message_of(&xx, k, msg, &len);
        for (size_t i = 0; i < len; i++) {
            msg[i] ^= 0x01;
            rc = read_fresh(&xx, k, msg, len, &action);
            assert_rejected(rc, action);
            msg[i] ^= 0x01;
        }
        assert_int_equal(read_fresh(&xx, k, msg, len, &action), TS_OK);
    }
    /* IK's first message too: its e feeds "es" before s is decrypted. */
    message_of(&ik, 0, msg, &len);
    for (size_t i = 0; i < len; i++) {
        msg[i] ^= 0x80;
        rc = read_fresh(&ik, 0, msg, len, &action);
        assert_rejected(rc, action);
        msg[i] ^= 0x80;
    }
}

static void test_tampered_tag(void **state)
{
    const struct opts o = {.name = XX};
    uint8_t msg[NOISE_MAX_MESSAGE];
    size_t len;
    noise_action action;

    message_of(&o, 2, msg, &len);
    msg[len - 1] ^= 0x40;
    assert_int_equal(read_fresh(&o, 2, msg, len, &action), TS_ERR_DECRYPT);
    assert_int_equal(action, NOISE_ACTION_FAILED);
}

static void test_truncated_messages(void **state)
{
    const struct opts xx = {.name = XX};
    const struct opts ik = {.name = IK, .rs = {true, false}};
    uint8_t msg[NOISE_MAX_MESSAGE];
    size_t len;
    noise_action action;
    int rc;

    /* XX message 1 is "e" and a cleartext payload: shorter than DHLEN it
     * is truncated; longer, it is a valid message with a shorter payload. */
    message_of(&xx, 0, msg, &len);
    for (size_t n = 0; n < len; n++) {
        rc = read_fresh(&xx, 0, msg, n, &action);
        assert_int_equal(rc, n < 32 ? TS_ERR_TRUNCATED : TS_OK);
    }
    /* Every other message fails at every shorter length. */
    for (size_t k = 1; k < 3; k++) {
        message_of(&xx, k, msg, &len);
        for (size_t n = 0; n < len; n++) {
            rc = read_fresh(&xx, k, msg, n, &action);
            assert_rejected(rc, action);
            if (n < 32 + (k == 2 ? 16 : 0))
                assert_int_equal(rc, TS_ERR_TRUNCATED);
        }
    }
    message_of(&ik, 0, msg, &len);
    for (size_t n = 0; n < len; n++) {
        rc = read_fresh(&ik, 0, msg, n, &action);
        assert_rejected(rc, action);
    }
}

/* Pinning the wrong responder key: the responder cannot decrypt. */
static void test_wrong_remote_static(void **state)
{
    static const char *const names[] = {NK, IK, "Noise_XK_25519_AESGCM_BLAKE2b"};
    uint8_t msg[NOISE_MAX_MESSAGE];
    size_t len;
    noise_action action;

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const struct opts o = {.name = names[i], .rs = {true, false}, .wrong_rs = true};
        message_of(&o, 0, msg, &len);
        assert_int_equal(read_fresh(&o, 0, msg, len, &action), TS_ERR_DECRYPT);
        assert_int_equal(action, NOISE_ACTION_FAILED);
    }
}

static void test_prologue_mismatch(void **state)
{
    const struct opts o = {.name = XX,
                           .prologue = {"tcpseal/1 suites=a,b", "tcpseal/1 suites=a"}};
    const struct opts nn = {.name = NN, .prologue = {"x", NULL}};
    struct pair p;
    uint8_t out[NOISE_MAX_MESSAGE];
    size_t len;

    /* The first XX message is not encrypted, so the mismatch shows at the
     * second, whose static key is encrypted under a different h. */
    pair_new(&p, &o);
    advance(&p, 1);
    produce(&p, 1);
    assert_int_equal(noise_handshake_read(p.hs[I], p.msg, p.len, out, sizeof(out), &len),
                     TS_ERR_DECRYPT);
    assert_int_equal(noise_handshake_action(p.hs[I]), NOISE_ACTION_FAILED);
    pair_free(&p);

    /* An empty prologue differs from a given one. */
    pair_new(&p, &nn);
    advance(&p, 1);
    produce(&p, 1);
    assert_int_equal(noise_handshake_read(p.hs[I], p.msg, p.len, out, sizeof(out), &len),
                     TS_ERR_DECRYPT);
    pair_free(&p);
}

static void test_out_of_turn(void **state)
{
    const struct opts o = {.name = XX};
    noise_protocol proto;
    noise_handshake *hs;
    struct pair p;
    uint8_t buf[NOISE_MAX_MESSAGE], key[32] = {1};
    size_t len;

    /* Before start(). */
    assert_int_equal(noise_protocol_parse(XX, &proto), TS_OK);
    assert_int_equal(noise_handshake_new(&hs, &proto, NOISE_INITIATOR), TS_OK);
    assert_int_equal(noise_handshake_action(hs), NOISE_ACTION_WRITE);
    assert_int_equal(noise_handshake_write(hs, NULL, 0, buf, sizeof(buf), &len),
                     TS_ERR_STATE);
    assert_int_equal(noise_handshake_action(hs), NOISE_ACTION_FAILED);
    noise_handshake_free(hs);

    /* The initiator reads first, the responder writes first. */
    pair_new(&p, &o);
    assert_int_equal(noise_handshake_read(p.hs[I], buf, 32, buf, sizeof(buf), &len),
                     TS_ERR_STATE);
    assert_int_equal(noise_handshake_action(p.hs[I]), NOISE_ACTION_FAILED);
    assert_int_equal(noise_handshake_action(p.hs[R]), NOISE_ACTION_READ);
    assert_int_equal(noise_handshake_write(p.hs[R], NULL, 0, buf, sizeof(buf), &len),
                     TS_ERR_STATE);
    assert_int_equal(noise_handshake_action(p.hs[R]), NOISE_ACTION_FAILED);
    pair_free(&p);

    /* Keys after start(), messages after the end, split before it. */
    pair_new(&p, &o);
    assert_int_equal(noise_handshake_set_static(p.hs[I], key, sizeof(key)), TS_ERR_STATE);
    assert_int_equal(noise_handshake_action(p.hs[I]), NOISE_ACTION_FAILED);
    assert_int_equal(
        noise_handshake_split(p.hs[R], &(noise_cipher *){0}, &(noise_cipher *){0}),
        TS_ERR_STATE);
    pair_free(&p);
    pair_new(&p, &o);
    advance(&p, 3);
    assert_int_equal(noise_handshake_write(p.hs[R], NULL, 0, buf, sizeof(buf), &len),
                     TS_ERR_STATE);
    assert_int_equal(noise_handshake_read(p.hs[I], buf, 64, buf, sizeof(buf), &len),
                     TS_ERR_STATE);
    pair_free(&p);
}

static void test_missing_or_extra_keys(void **state)
{
    noise_protocol proto;
    noise_handshake *hs;
    uint8_t key[32] = {9}, small[31] = {0};

    /* XX needs the local static key. */
    assert_int_equal(noise_protocol_parse(XX, &proto), TS_OK);
    assert_int_equal(noise_handshake_new(&hs, &proto, NOISE_RESPONDER), TS_OK);
    assert_int_equal(noise_handshake_start(hs), TS_ERR_INVALID);
    assert_int_equal(noise_handshake_action(hs), NOISE_ACTION_FAILED);
    noise_handshake_free(hs);

    /* XX transmits the peer's key: a pinned one would be ignored. */
    assert_int_equal(noise_handshake_new(&hs, &proto, NOISE_INITIATOR), TS_OK);
    assert_int_equal(noise_handshake_set_static(hs, key, sizeof(key)), TS_OK);
    assert_int_equal(noise_handshake_set_remote_static(hs, key, sizeof(key)), TS_OK);
    assert_int_equal(noise_handshake_start(hs), TS_ERR_INVALID);
    noise_handshake_free(hs);

    /* Keys of the wrong length. */
    assert_int_equal(noise_handshake_new(&hs, &proto, NOISE_INITIATOR), TS_OK);
    assert_int_equal(noise_handshake_set_static(hs, small, sizeof(small)), TS_ERR_INVALID);
    assert_int_equal(noise_handshake_action(hs), NOISE_ACTION_FAILED);
    noise_handshake_free(hs);

    /* NK needs the responder's key in advance. */
    assert_int_equal(noise_protocol_parse(NK, &proto), TS_OK);
    assert_int_equal(noise_handshake_new(&hs, &proto, NOISE_INITIATOR), TS_OK);
    assert_int_equal(noise_handshake_start(hs), TS_ERR_INVALID);
    noise_handshake_free(hs);

    /* PSK count must match the psk tokens. */
    assert_int_equal(noise_protocol_parse("Noise_NNpsk0_25519_AESGCM_SHA256", &proto),
                     TS_OK);
    assert_int_equal(noise_handshake_new(&hs, &proto, NOISE_INITIATOR), TS_OK);
    assert_int_equal(noise_handshake_start(hs), TS_ERR_INVALID);
    noise_handshake_free(hs);
    assert_int_equal(noise_handshake_new(&hs, &proto, NOISE_INITIATOR), TS_OK);
    assert_int_equal(noise_handshake_add_psk(hs, key, sizeof(key)), TS_OK);
    assert_int_equal(noise_handshake_add_psk(hs, key, sizeof(key)), TS_OK);
    assert_int_equal(noise_handshake_start(hs), TS_ERR_INVALID);
    noise_handshake_free(hs);
}

static void test_message_limits(void **state)
{
    const struct opts o = {.name = NN};
    uint8_t *big = calloc(1, NOISE_MAX_MESSAGE + 1);
    uint8_t out[NOISE_MAX_MESSAGE];
    struct pair p;
    size_t len;

    assert_non_null(big);
    /* Message 1: e (32) + cleartext payload fills 65535 exactly. */
    pair_new(&p, &o);
    assert_int_equal(noise_handshake_write(p.hs[I], big, NOISE_MAX_MESSAGE - 32, p.msg,
                                           sizeof(p.msg), &p.len),
                     TS_OK);
    assert_int_equal(p.len, NOISE_MAX_MESSAGE);
    /* A payload buffer one byte short is refused. */
    assert_int_equal(
        noise_handshake_read(p.hs[R], p.msg, p.len, big, NOISE_MAX_MESSAGE - 33, &len),
        TS_ERR_TOO_LARGE);
    assert_int_equal(noise_handshake_action(p.hs[R]), NOISE_ACTION_FAILED);
    pair_free(&p);

    /* Message 2 is encrypted: 32 + payload + 16 must fit. */
    pair_new(&p, &o);
    advance(&p, 1);
    assert_int_equal(
        noise_handshake_write(p.hs[R], big, NOISE_MAX_MESSAGE - 47, out, sizeof(out), &len),
        TS_ERR_TOO_LARGE);
    assert_int_equal(noise_handshake_action(p.hs[R]), NOISE_ACTION_FAILED);
    pair_free(&p);
    pair_new(&p, &o);
    advance(&p, 1);
    assert_int_equal(
        noise_handshake_write(p.hs[R], big, NOISE_MAX_MESSAGE - 48, out, sizeof(out), &len),
        TS_OK);
    assert_int_equal(noise_handshake_read(p.hs[I], out, len, big, NOISE_MAX_MESSAGE, &len),
                     TS_OK);
    pair_free(&p);

    /* Output capacity and oversized input. */
    pair_new(&p, &o);
    assert_int_equal(noise_handshake_write(p.hs[I], NULL, 0, out, 31, &len),
                     TS_ERR_TOO_LARGE);
    assert_int_equal(
        noise_handshake_read(p.hs[R], big, NOISE_MAX_MESSAGE + 1, out, sizeof(out), &len),
        TS_ERR_TOO_LARGE);
    pair_free(&p);
    free(big);
}

/* One-way patterns: only the initiator's direction exists after Split(). */
static void test_one_way_split(void **state)
{
    const struct opts o = {.name = "Noise_X_25519_ChaChaPoly_BLAKE2s", .rs = {true, false}};
    struct pair p;
    noise_cipher *send[2], *recv[2];
    uint8_t ct[64], pt[64];

    pair_new(&p, &o);
    advance(&p, 1);
    assert_int_equal(noise_handshake_split(p.hs[I], &send[I], &recv[I]), TS_OK);
    assert_int_equal(noise_handshake_split(p.hs[R], &send[R], &recv[R]), TS_OK);
    assert_non_null(send[I]);
    assert_null(recv[I]);
    assert_null(send[R]);
    assert_non_null(recv[R]);
    assert_int_equal(noise_cipher_encrypt(send[I], NULL, 0, payload, 10, ct), TS_OK);
    assert_int_equal(noise_cipher_decrypt(recv[R], NULL, 0, ct, 26, pt), TS_OK);
    noise_cipher_free(send[I]);
    noise_cipher_free(recv[R]);
    pair_free(&p);
}

/* Several psk modifiers; a wrong PSK fails the first encrypted field. */
static void test_psks(void **state)
{
    const struct opts good = {.name = "Noise_NNpsk0+psk2_25519_ChaChaPoly_SHA256",
                              .psks = {2, 2},
                              .psk_byte = {5, 5}};
    const struct opts bad = {.name = "Noise_NNpsk0+psk2_25519_ChaChaPoly_SHA256",
                             .psks = {2, 2},
                             .psk_byte = {5, 6}};
    uint8_t msg[NOISE_MAX_MESSAGE];
    size_t len;
    struct pair p;
    noise_action action;

    pair_new(&p, &good);
    advance(&p, 2);
    assert_int_equal(noise_handshake_action(p.hs[I]), NOISE_ACTION_SPLIT);
    pair_free(&p);
    message_of(&bad, 0, msg, &len);
    assert_int_equal(read_fresh(&bad, 0, msg, len, &action), TS_ERR_DECRYPT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_xx_completes, XX),
        cmocka_unit_test_prestate(test_xx_completes, XX_AES),
        cmocka_unit_test_prestate(test_xx_completes, "Noise_XX_448_AESGCM_SHA512"),
        cmocka_unit_test(test_generated_ephemerals),
        cmocka_unit_test(test_tampered_messages),
        cmocka_unit_test(test_tampered_tag),
        cmocka_unit_test(test_truncated_messages),
        cmocka_unit_test(test_wrong_remote_static),
        cmocka_unit_test(test_prologue_mismatch),
        cmocka_unit_test(test_out_of_turn),
        cmocka_unit_test(test_missing_or_extra_keys),
        cmocka_unit_test(test_message_limits),
        cmocka_unit_test(test_one_way_split),
        cmocka_unit_test(test_psks),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
