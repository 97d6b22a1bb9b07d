/*
 * WriteMessage() and ReadMessage() of section 5.3: one handshake message,
 * token by token, for either side.
 */
#include "noise/handshake.h"

#include <string.h>

#include <sodium.h>

#include "util/bytes.h"
#include "util/error.h"

/* Which key pair a DH token names on each side. */
enum key_kind { KEY_STATIC, KEY_EPHEMERAL };

/* MixKey(DH(local, remote)), the DH output wiped at once. */
static int mix_dh(noise_handshake *hs, enum key_kind local, enum key_kind remote)
{
    uint8_t shared[NOISE_MAX_DH_LEN];
    bool have_local = local == KEY_EPHEMERAL ? hs->has_e : hs->has_s;
    bool have_remote = remote == KEY_EPHEMERAL ? hs->has_re : hs->has_rs;
    int rc;

    if (!have_local || !have_remote)
        return error_set(TS_ERR_STATE, "noise: DH token before its keys are known");
    rc = noise_dh(hs->proto.dh, local == KEY_EPHEMERAL ? hs->e_priv : hs->s_priv,
                  remote == KEY_EPHEMERAL ? hs->re : hs->rs, shared);
    if (rc == TS_OK)
        rc = noise_symmetric_mix_key(&hs->ss, shared, noise_handshake_dh_len(hs));
    sodium_memzero(shared, sizeof(shared));
    return rc;
}

/* The tokens both sides process alike. In "es" and "se" the first letter is
 * the initiator's key and the second the responder's (section 5.3). */
static int mix_token(noise_handshake *hs, uint8_t token)
{
    bool initiator = noise_handshake_is_initiator(hs);

    switch (token) {
    case NOISE_TOKEN_EE: /* "ee": MixKey(DH(e, re)) */
        return mix_dh(hs, KEY_EPHEMERAL, KEY_EPHEMERAL);
    case NOISE_TOKEN_ES: /* "es": DH(e, rs) as initiator, DH(s, re) as responder */
        return initiator ? mix_dh(hs, KEY_EPHEMERAL, KEY_STATIC)
                         : mix_dh(hs, KEY_STATIC, KEY_EPHEMERAL);
    case NOISE_TOKEN_SE: /* "se": DH(s, re) as initiator, DH(e, rs) as responder */
        return initiator ? mix_dh(hs, KEY_STATIC, KEY_EPHEMERAL)
                         : mix_dh(hs, KEY_EPHEMERAL, KEY_STATIC);
    case NOISE_TOKEN_SS: /* "ss": MixKey(DH(s, rs)) */
        return mix_dh(hs, KEY_STATIC, KEY_STATIC);
    case NOISE_TOKEN_PSK: /* "psk": MixKeyAndHash(psk), PSKs in order (9.2) */
        if (hs->next_psk >= hs->n_psks)
            return error_set(TS_ERR_STATE, "noise: psk token without a PSK");
        return noise_symmetric_mix_key_and_hash(&hs->ss, hs->psks[hs->next_psk++],
                                                NOISE_PSK_LEN);
    default:
        return error_set(TS_ERR_STATE, "noise: unexpected token %u", token);
    }
}

/* MixHash(e.public_key) for either side's "e"; section 9.2 adds
 * MixKey(e.public_key) in psk handshakes. */
static int mix_ephemeral(noise_handshake *hs, const uint8_t *pub)
{
    int rc = noise_symmetric_mix_hash(&hs->ss, pub, noise_handshake_dh_len(hs));

    if (rc == TS_OK && hs->psk_mode)
        rc = noise_symmetric_mix_key(&hs->ss, pub, noise_handshake_dh_len(hs));
    return rc;
}

/* Length of the next message for a payload of payload_len bytes: encrypted
 * fields grow by a tag once any key has been mixed in. */
static size_t message_length(const noise_handshake *hs, size_t payload_len)
{
    const uint8_t *tokens = hs->pattern.tokens[hs->msg];
    bool keyed = noise_cipher_has_key(&hs->ss.cs);
    size_t len = 0;

    for (size_t t = 0; t < noise_pattern_tokens(&hs->pattern, hs->msg); t++) {
        switch (tokens[t]) {
        case NOISE_TOKEN_E:
            len += noise_handshake_dh_len(hs);
            keyed = keyed || hs->psk_mode;
            break;
        case NOISE_TOKEN_S:
            len += noise_handshake_dh_len(hs) + (keyed ? NOISE_TAG_LEN : 0);
            break;
        default:
            keyed = true;
            break;
        }
    }
    return len + payload_len + (keyed ? NOISE_TAG_LEN : 0);
}

/* Section 5.3: after the last message only Split() remains, and the
 * ephemeral private key has done its work. */
static void message_done(noise_handshake *hs)
{
    if (++hs->msg == hs->n_messages) {
        hs->state = NOISE_HS_COMPLETE;
        sodium_memzero(hs->e_priv, sizeof(hs->e_priv));
    }
}

/* ------------------------------------------------------------------------ */
/* WriteMessage() and ReadMessage()                                         */

static int write_tokens(noise_handshake *hs, uint8_t *out, size_t *off)
{
    const uint8_t *tokens = hs->pattern.tokens[hs->msg];
    size_t count = noise_pattern_tokens(&hs->pattern, hs->msg);
    size_t dhlen = noise_handshake_dh_len(hs), overhead;
    int rc = TS_OK;

    for (size_t t = 0; t < count && rc == TS_OK; t++) {
        switch (tokens[t]) {
        case NOISE_TOKEN_E: /* "e": e = GENERATE_KEYPAIR(), sent in clear */
            if (!hs->has_e &&
                (rc = noise_dh_keypair(hs->proto.dh, hs->e_priv, hs->e_pub)) != TS_OK)
                break;
            hs->has_e = true;
            memcpy(out + *off, hs->e_pub, dhlen);
            *off += dhlen;
            rc = mix_ephemeral(hs, hs->e_pub);
            break;
        case NOISE_TOKEN_S: /* "s": EncryptAndHash(s.public_key) */
            overhead = noise_symmetric_overhead(&hs->ss);
            rc = noise_symmetric_encrypt_and_hash(&hs->ss, hs->s_pub, dhlen, out + *off);
            *off += dhlen + overhead;
            break;
        default:
            rc = mix_token(hs, tokens[t]);
            break;
        }
    }
    return rc;
}

int noise_handshake_write(noise_handshake *hs, const uint8_t *payload, size_t payload_len,
                          uint8_t *out, size_t cap, size_t *outlen)
{
    size_t need, overhead, off = 0;
    int rc;

    if (hs == NULL)
        return error_set(TS_ERR_INVALID, "noise: missing handshake");
    if (outlen != NULL)
        *outlen = 0;
    if (hs->state != NOISE_HS_RUNNING || !noise_handshake_our_turn_to_write(hs))
        return noise_handshake_failf(hs, TS_ERR_STATE,
                                     "noise: not this side's turn to write");
    if (out == NULL || outlen == NULL || (payload == NULL && payload_len > 0))
        return noise_handshake_failf(hs, TS_ERR_INVALID, "noise: missing handshake buffer");
    /* Sizes are settled before any token runs, so a message either fits
     * whole or is not started. */
    if (payload_len > NOISE_MAX_MESSAGE ||
        (need = message_length(hs, payload_len)) > NOISE_MAX_MESSAGE || need > cap)
        return noise_handshake_failf(hs, TS_ERR_TOO_LARGE,
                                     "noise: handshake message does not fit");

    if ((rc = write_tokens(hs, out, &off)) != TS_OK)
        return noise_handshake_fail(hs, rc);
    /* The payload closes every message: EncryptAndHash(payload). */
    overhead = noise_symmetric_overhead(&hs->ss);
    rc = noise_symmetric_encrypt_and_hash(&hs->ss, payload, payload_len, out + off);
    if (rc != TS_OK)
        return noise_handshake_fail(hs, rc);
    *outlen = off + payload_len + overhead;
    message_done(hs);
    return TS_OK;
}

static int read_tokens(noise_handshake *hs, struct reader *r)
{
    const uint8_t *tokens = hs->pattern.tokens[hs->msg];
    size_t count = noise_pattern_tokens(&hs->pattern, hs->msg);
    size_t dhlen = noise_handshake_dh_len(hs), n;
    const uint8_t *field;
    int rc = TS_OK;

    for (size_t t = 0; t < count && rc == TS_OK; t++) {
        switch (tokens[t]) {
        case NOISE_TOKEN_E: /* "e": re = the next DHLEN bytes */
            if (hs->has_re)
                return error_set(TS_ERR_STATE, "noise: second remote ephemeral key");
            if ((rc = reader_copy(r, hs->re, dhlen)) != TS_OK)
                return error_set(rc, "noise: message %zu ends inside a public key",
                                 hs->msg + 1);
            hs->has_re = true;
            rc = mix_ephemeral(hs, hs->re);
            break;
        case NOISE_TOKEN_S: /* "s": rs = DecryptAndHash(DHLEN bytes, + tag if keyed) */
            if (hs->has_rs)
                return error_set(TS_ERR_STATE, "noise: second remote static key");
            n = dhlen + noise_symmetric_overhead(&hs->ss);
            if ((rc = reader_bytes(r, n, &field)) != TS_OK)
                return error_set(rc, "noise: message %zu ends inside a static key",
                                 hs->msg + 1);
            if ((rc = noise_symmetric_decrypt_and_hash(&hs->ss, field, n, hs->rs)) != TS_OK)
                return rc;
            hs->has_rs = true;
            break;
        default:
            rc = mix_token(hs, tokens[t]);
            break;
        }
    }
    return rc;
}

int noise_handshake_read(noise_handshake *hs, const uint8_t *msg, size_t msg_len,
                         uint8_t *payload, size_t cap, size_t *payload_len)
{
    static const uint8_t empty[1];
    uint8_t scratch[1];
    const uint8_t *field;
    struct reader r;
    size_t rest, overhead;
    int rc;

    if (hs == NULL)
        return error_set(TS_ERR_INVALID, "noise: missing handshake");
    if (payload_len != NULL)
        *payload_len = 0;
    if (hs->state != NOISE_HS_RUNNING || noise_handshake_our_turn_to_write(hs))
        return noise_handshake_failf(hs, TS_ERR_STATE,
                                     "noise: not this side's turn to read");
    if ((msg == NULL && msg_len > 0) || (payload == NULL && cap > 0) || payload_len == NULL)
        return noise_handshake_failf(hs, TS_ERR_INVALID, "noise: missing handshake buffer");
    if (msg_len > NOISE_MAX_MESSAGE)
        return noise_handshake_failf(hs, TS_ERR_TOO_LARGE,
                                     "noise: %zu-byte handshake message", msg_len);

    reader_init(&r, msg != NULL ? msg : empty, msg_len);
    if ((rc = read_tokens(hs, &r)) != TS_OK)
        return noise_handshake_fail(hs, rc);
    /* The rest is the payload: DecryptAndHash(rest). */
    rest = reader_remaining(&r);
    overhead = noise_symmetric_overhead(&hs->ss);
    if (rest < overhead)
        return noise_handshake_failf(hs, TS_ERR_TRUNCATED,
                                     "noise: message %zu ends inside its tag", hs->msg + 1);
    if (rest - overhead > cap)
        return noise_handshake_failf(hs, TS_ERR_TOO_LARGE,
                                     "noise: %zu-byte payload, room for %zu",
                                     rest - overhead, cap);
    if ((rc = reader_bytes(&r, rest, &field)) == TS_OK)
        rc = noise_symmetric_decrypt_and_hash(&hs->ss, field, rest,
                                              payload != NULL ? payload : scratch);
    if (rc != TS_OK)
        return noise_handshake_fail(hs, rc);
    *payload_len = rest - overhead;
    message_done(hs);
    return TS_OK;
}
