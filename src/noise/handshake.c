/*
 * HandshakeState setup, Split() and queries (section 5.3); the messages
 * themselves are in handshake_message.c.
 */
#include "noise/handshake.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "noise/protocol.h"
#include "util/crypto_init.h"
#include "util/error.h"

void noise_handshake_wipe_secrets(noise_handshake *hs)
{
    sodium_memzero(hs->s_priv, sizeof(hs->s_priv));
    sodium_memzero(hs->e_priv, sizeof(hs->e_priv));
    sodium_memzero(hs->psks, sizeof(hs->psks));
}

int noise_handshake_fail(noise_handshake *hs, int rc)
{
    hs->state = NOISE_HS_FAILED;
    noise_symmetric_clear(&hs->ss);
    noise_handshake_wipe_secrets(hs);
    return rc;
}

int noise_handshake_failf(noise_handshake *hs, int code, const char *fmt, ...)
{
    char detail[ERROR_DETAIL_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    return noise_handshake_fail(hs, error_set(code, "%s", detail));
}

/* ------------------------------------------------------------------------ */
/* Setup                                                                    */

int noise_handshake_new(noise_handshake **out, const noise_protocol *proto, noise_role role)
{
    noise_handshake *hs;
    noise_protocol parsed;
    noise_psk_mask psks;
    int rc;

    if (out == NULL)
        return error_set(TS_ERR_INVALID, "noise: missing handshake pointer");
    *out = NULL;
    if (proto == NULL || (role != NOISE_INITIATOR && role != NOISE_RESPONDER))
        return error_set(TS_ERR_INVALID, "noise: missing protocol or bad role");
    if ((rc = crypto_init()) != TS_OK)
        return rc;
    /* noise_protocol points at the base pattern only: the psk modifiers
     * come from the name, which must agree with the struct. */
    if ((rc = noise_protocol_parse_psks(proto->name, &parsed, &psks)) != TS_OK)
        return rc;
    if (parsed.pattern != proto->pattern || parsed.dh != proto->dh ||
        parsed.cipher != proto->cipher || parsed.hash != proto->hash)
        return error_set(TS_ERR_INVALID, "noise: protocol does not match its name");

    if ((hs = calloc(1, sizeof(*hs))) == NULL)
        return error_set(TS_ERR_NOMEM, "noise: no memory for a handshake");
    hs->proto = parsed;
    hs->role = role;
    hs->state = NOISE_HS_SETUP;
    hs->psk_mode = psks != 0;
    if ((rc = noise_pattern_apply_psks(parsed.pattern, psks, &hs->pattern)) != TS_OK)
        goto fail;
    hs->n_messages = noise_pattern_messages(&hs->pattern);
    /* Initialize() begins with InitializeSymmetric(); doing it now lets the
     * prologue be absorbed into h when given instead of being kept. */
    if ((rc = noise_symmetric_init(&hs->ss, &hs->proto)) != TS_OK)
        goto fail;
    *out = hs;
    return TS_OK;

fail:
    noise_handshake_free(hs);
    return rc;
}

static int check_setup(noise_handshake *hs, const void *key, size_t len, size_t want)
{
    if (hs->state != NOISE_HS_SETUP)
        return noise_handshake_failf(hs, TS_ERR_STATE, "noise: handshake already started");
    if (key == NULL || len != want)
        return noise_handshake_failf(hs, TS_ERR_INVALID,
                                     "noise: key of %zu bytes, need %zu", len, want);
    return TS_OK;
}

int noise_handshake_set_prologue(noise_handshake *hs, const uint8_t *p, size_t len)
{
    static const uint8_t empty[1];
    int rc;

    if (hs == NULL)
        return error_set(TS_ERR_INVALID, "noise: missing handshake");
    if (hs->state != NOISE_HS_SETUP || hs->prologue_mixed)
        return noise_handshake_failf(hs, TS_ERR_STATE, "noise: prologue already set");
    if (p == NULL && len > 0)
        return noise_handshake_failf(hs, TS_ERR_INVALID, "noise: missing prologue");
    /* Section 5.3: MixHash(prologue) directly follows InitializeSymmetric(). */
    if ((rc = noise_symmetric_mix_hash(&hs->ss, p != NULL ? p : empty, len)) != TS_OK)
        return noise_handshake_fail(hs, rc);
    hs->prologue_mixed = true;
    return TS_OK;
}

int noise_handshake_set_static(noise_handshake *hs, const uint8_t *priv, size_t len)
{
    int rc;

    if (hs == NULL)
        return error_set(TS_ERR_INVALID, "noise: missing handshake");
    if ((rc = check_setup(hs, priv, len, noise_handshake_dh_len(hs))) != TS_OK)
        return rc;
    memcpy(hs->s_priv, priv, len);
    if ((rc = noise_dh_derive_public(hs->proto.dh, hs->s_priv, hs->s_pub)) != TS_OK)
        return noise_handshake_fail(hs, rc);
    hs->has_s = true;
    return TS_OK;
}

int noise_handshake_set_remote_static(noise_handshake *hs, const uint8_t *pub, size_t len)
{
    int rc;

    if (hs == NULL)
        return error_set(TS_ERR_INVALID, "noise: missing handshake");
    if ((rc = check_setup(hs, pub, len, noise_handshake_dh_len(hs))) != TS_OK)
        return rc;
    memcpy(hs->rs, pub, len);
    hs->has_rs = true;
    return TS_OK;
}

int noise_handshake_set_ephemeral(noise_handshake *hs, const uint8_t *priv, size_t len)
{
    int rc;

    if (hs == NULL)
        return error_set(TS_ERR_INVALID, "noise: missing handshake");
    if ((rc = check_setup(hs, priv, len, noise_handshake_dh_len(hs))) != TS_OK)
        return rc;
    memcpy(hs->e_priv, priv, len);
    if ((rc = noise_dh_derive_public(hs->proto.dh, hs->e_priv, hs->e_pub)) != TS_OK)
        return noise_handshake_fail(hs, rc);
    hs->has_e = true;
    return TS_OK;
}

int noise_handshake_add_psk(noise_handshake *hs, const uint8_t *psk, size_t len)
{
    int rc;

    if (hs == NULL)
        return error_set(TS_ERR_INVALID, "noise: missing handshake");
    if ((rc = check_setup(hs, psk, len, NOISE_PSK_LEN)) != TS_OK)
        return rc;
    if (hs->n_psks == NOISE_MAX_PSKS)
        return noise_handshake_failf(hs, TS_ERR_INVALID, "noise: too many PSKs");
    memcpy(hs->psks[hs->n_psks++], psk, len);
    return TS_OK;
}

/* Whether this side sends an "s" token or has its static key in a
 * pre-message; every DH with s implies one of these (section 7.3). */
static bool needs_local_static(const noise_handshake *hs)
{
    const struct noise_pattern *p = &hs->pattern;

    if (noise_handshake_is_initiator(hs) ? p->pre_initiator : p->pre_responder)
        return true;
    for (size_t m = 0; m < hs->n_messages; m++) {
        if (noise_handshake_initiator_sends(m) != noise_handshake_is_initiator(hs))
            continue;
        for (size_t t = 0; t < noise_pattern_tokens(p, m); t++) {
            if (p->tokens[m][t] == NOISE_TOKEN_S)
                return true;
        }
    }
    return false;
}

static int check_keys(noise_handshake *hs)
{
    bool remote_pre = noise_handshake_is_initiator(hs) ? hs->pattern.pre_responder
                                                       : hs->pattern.pre_initiator;

    if (needs_local_static(hs) && !hs->has_s)
        return error_set(TS_ERR_INVALID, "noise: %s needs a local static key",
                         hs->proto.name);
    if (remote_pre && !hs->has_rs)
        return error_set(TS_ERR_INVALID, "noise: %s needs the peer's static key",
                         hs->proto.name);
    /* A key that the pattern transmits instead would be silently replaced:
     * a caller expecting it to be checked must use a pattern that pins it. */
    if (!remote_pre && hs->has_rs)
        return error_set(TS_ERR_INVALID,
                         "noise: %s does not take the peer's static key in advance",
                         hs->proto.name);
    if (hs->n_psks != noise_pattern_psk_count(&hs->pattern))
        return error_set(TS_ERR_INVALID, "noise: %s needs %zu PSKs, %zu given",
                         hs->proto.name, noise_pattern_psk_count(&hs->pattern), hs->n_psks);
    return TS_OK;
}

int noise_handshake_start(noise_handshake *hs)
{
    const struct noise_pattern *p;
    int rc;

    if (hs == NULL)
        return error_set(TS_ERR_INVALID, "noise: missing handshake");
    if (hs->state != NOISE_HS_SETUP)
        return noise_handshake_failf(hs, TS_ERR_STATE, "noise: handshake already started");
    p = &hs->pattern;
    if (!hs->prologue_mixed && (rc = noise_handshake_set_prologue(hs, NULL, 0)) != TS_OK)
        return rc;
    if ((rc = check_keys(hs)) != TS_OK)
        return noise_handshake_fail(hs, rc);
    /* Section 7: pre-message keys are hashed, the initiator's first. */
    if (p->pre_initiator &&
        (rc = noise_symmetric_mix_hash(
             &hs->ss, noise_handshake_is_initiator(hs) ? hs->s_pub : hs->rs,
             noise_handshake_dh_len(hs))) != TS_OK)
        return noise_handshake_fail(hs, rc);
    if (p->pre_responder &&
        (rc = noise_symmetric_mix_hash(
             &hs->ss, noise_handshake_is_initiator(hs) ? hs->rs : hs->s_pub,
             noise_handshake_dh_len(hs))) != TS_OK)
        return noise_handshake_fail(hs, rc);
    hs->state = NOISE_HS_RUNNING;
    return TS_OK;
}

/* ------------------------------------------------------------------------ */
/* Queries and Split()                                                      */

noise_action noise_handshake_action(const noise_handshake *hs)
{
    if (hs == NULL)
        return NOISE_ACTION_FAILED;
    switch (hs->state) {
    case NOISE_HS_SETUP:
    case NOISE_HS_RUNNING:
        return noise_handshake_our_turn_to_write(hs) ? NOISE_ACTION_WRITE
                                                     : NOISE_ACTION_READ;
    case NOISE_HS_COMPLETE:
    case NOISE_HS_SPLIT:
        return NOISE_ACTION_SPLIT;
    case NOISE_HS_FAILED:
    default:
        return NOISE_ACTION_FAILED;
    }
}

const uint8_t *noise_handshake_remote_static(const noise_handshake *hs, size_t *len)
{
    if (hs == NULL)
        return NULL;
    if (len != NULL)
        *len = noise_handshake_dh_len(hs);
    return hs->has_rs && hs->state != NOISE_HS_FAILED ? hs->rs : NULL;
}

const uint8_t *noise_handshake_local_static(const noise_handshake *hs, size_t *len)
{
    if (hs == NULL)
        return NULL;
    if (len != NULL)
        *len = noise_handshake_dh_len(hs);
    return hs->has_s ? hs->s_pub : NULL;
}

int noise_handshake_hash(const noise_handshake *hs, uint8_t *out, size_t cap, size_t *len)
{
    size_t hash_len;

    if (hs == NULL || out == NULL)
        return error_set(TS_ERR_INVALID, "noise: missing handshake hash buffer");
    if (hs->state == NOISE_HS_FAILED)
        return error_set(TS_ERR_STATE, "noise: handshake failed");
    hash_len = hs->proto.hash->hash_len;
    if (cap < hash_len)
        return error_set(TS_ERR_INVALID, "noise: handshake hash needs %zu bytes", hash_len);
    memcpy(out, hs->ss.h, hash_len);
    if (len != NULL)
        *len = hash_len;
    return TS_OK;
}

int noise_handshake_split(noise_handshake *hs, noise_cipher **send, noise_cipher **recv)
{
    noise_cipher *c1, *c2;
    int rc;

    if (hs == NULL || send == NULL || recv == NULL)
        return error_set(TS_ERR_INVALID, "noise: missing split argument");
    *send = *recv = NULL;
    if (hs->state != NOISE_HS_COMPLETE)
        return noise_handshake_failf(hs, TS_ERR_STATE, "noise: handshake not complete");
    if ((rc = noise_symmetric_split(&hs->ss, &c1, &c2)) != TS_OK)
        return noise_handshake_fail(hs, rc);
    /* Section 7.4: after a one-way handshake the second CipherState is
     * discarded, since the responder never sends. */
    if (noise_pattern_is_one_way(&hs->pattern)) {
        noise_cipher_free(c2);
        c2 = NULL;
    }
    if (noise_handshake_is_initiator(hs)) {
        *send = c1;
        *recv = c2;
    } else {
        *send = c2;
        *recv = c1;
    }
    noise_symmetric_forget_keys(&hs->ss);
    noise_handshake_wipe_secrets(hs);
    hs->state = NOISE_HS_SPLIT;
    return TS_OK;
}

void noise_handshake_free(noise_handshake *hs)
{
    if (hs == NULL)
        return;
    noise_symmetric_clear(&hs->ss);
    sodium_memzero(hs, sizeof(*hs));
    free(hs);
}
