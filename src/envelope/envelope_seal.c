#include "envelope/envelope.h"

#include <inttypes.h>
#include <string.h>

#include <sodium.h>

#include "util/crypto_init.h"
#include "util/error.h"

_Static_assert(sizeof(ENVELOPE_SIGNATURE_LABEL) - 1 == ENVELOPE_SIGNATURE_LABEL_LEN,
               "ENVELOPE_SIGNATURE_LABEL_LEN does not match the label");
_Static_assert(TS_ENVELOPE_HASH_LEN == crypto_generichash_BYTES,
               "the envelope hash is BLAKE2b-256");

int envelope_hash_compute(const ts_envelope *env, uint8_t out[TS_ENVELOPE_HASH_LEN])
{
    crypto_generichash_state state;
    uint8_t head[ENVELOPE_MAX_HEAD_LEN];
    struct writer w;
    int rc = TS_OK;

    /* Streaming over head and payload avoids building the encoding. */
    writer_init(&w, head, sizeof(head));
    envelope_head_write(env, &w);
    if (writer_finish(&w) != TS_OK ||
        crypto_generichash_init(&state, NULL, 0, TS_ENVELOPE_HASH_LEN) != 0 ||
        crypto_generichash_update(&state, head, w.len) != 0 ||
        (env->payload_len > 0 &&
         crypto_generichash_update(&state, env->payload, env->payload_len) != 0) ||
        crypto_generichash_final(&state, out, TS_ENVELOPE_HASH_LEN) != 0)
        rc = error_set(TS_ERR_CRYPTO, "envelope: BLAKE2b failed");
    /* The state has seen the payload, which may be private. */
    sodium_memzero(&state, sizeof(state));
    return rc;
}

void envelope_signed_message(const uint8_t hash[TS_ENVELOPE_HASH_LEN],
                             uint8_t out[ENVELOPE_SIGNED_MESSAGE_LEN])
{
    memcpy(out, ENVELOPE_SIGNATURE_LABEL, ENVELOPE_SIGNATURE_LABEL_LEN);
    memcpy(out + ENVELOPE_SIGNATURE_LABEL_LEN, hash, TS_ENVELOPE_HASH_LEN);
}

int ts_envelope_seal(ts_envelope *env, const ts_identity *signer)
{
    uint8_t msg[ENVELOPE_SIGNED_MESSAGE_LEN];
    int rc;

    if (env == NULL)
        return error_set(TS_ERR_INVALID, "envelope seal: no envelope given");
    envelope_unseal(env);
    if ((rc = crypto_init()) != TS_OK)
        return rc;
    /* The flag byte is hashed, so it must be final before hashing. */
    env->is_signed = signer != NULL;
    if ((rc = envelope_hash_compute(env, env->hash)) != TS_OK)
        goto fail;
    if (signer != NULL) {
        envelope_signed_message(env->hash, msg);
        if ((rc = ts_identity_sign(signer, msg, sizeof(msg), env->signature)) != TS_OK)
            goto fail;
    }
    env->sealed = true;
    return TS_OK;
fail:
    envelope_unseal(env);
    return rc;
}

static int verify_hash(const ts_envelope *env)
{
    uint8_t expect[TS_ENVELOPE_HASH_LEN];
    int rc;

    if (!env->sealed)
        return error_set(TS_ERR_BAD_HASH, "envelope has no hash: it was never sealed");
    if ((rc = envelope_hash_compute(env, expect)) != TS_OK)
        return rc;
    if (sodium_memcmp(expect, env->hash, sizeof(expect)) != 0)
        return error_set(TS_ERR_BAD_HASH,
                         "envelope %" PRIu64 ": hash does not match its fields", env->id);
    return TS_OK;
}

static int verify_signature(const ts_envelope *env, const ts_verify_opts *opts)
{
    uint8_t msg[ENVELOPE_SIGNED_MESSAGE_LEN];

    if (opts->public_key != NULL && env->is_signed) {
        envelope_signed_message(env->hash, msg);
        if (ts_signature_verify(opts->public_key, msg, sizeof(msg), env->signature) != TS_OK)
            return error_set(TS_ERR_BAD_SIGNATURE,
                             "envelope %" PRIu64 ": signature does not verify against "
                             "the sender's key",
                             env->id);
        return TS_OK;
    }
    if (!opts->require_signature)
        return TS_OK;
    if (!env->is_signed)
        return error_set(TS_ERR_BAD_SIGNATURE,
                         "envelope %" PRIu64 " is unsigned; a signature is required",
                         env->id);
    return error_set(TS_ERR_BAD_SIGNATURE,
                     "envelope %" PRIu64 ": a signature is required but no key was "
                     "given to check it",
                     env->id);
}

static int verify_time(const ts_envelope *env, const ts_verify_opts *opts)
{
    uint64_t now, diff;

    if (opts->max_skew_ms == 0)
        return TS_OK;
    now = opts->now_ms != 0 ? opts->now_ms : envelope_now_ms();
    diff = env->timestamp > now ? env->timestamp - now : now - env->timestamp;
    if (diff > opts->max_skew_ms)
        return error_set(TS_ERR_STALE,
                         "envelope %" PRIu64 " timestamp is %" PRIu64 " ms %s the local "
                         "clock (accepted: %" PRIu64 " ms)",
                         env->id, diff, env->timestamp > now ? "ahead of" : "behind",
                         opts->max_skew_ms);
    return TS_OK;
}

int ts_envelope_verify(const ts_envelope *env, const ts_verify_opts *opts)
{
    static const ts_verify_opts defaults;
    int rc;

    if (env == NULL)
        return error_set(TS_ERR_INVALID, "envelope verify: no envelope given");
    if (opts == NULL)
        opts = &defaults;
    if ((rc = crypto_init()) != TS_OK)
        return rc;
    if ((rc = verify_hash(env)) != TS_OK || (rc = verify_signature(env, opts)) != TS_OK)
        return rc;
    return verify_time(env, opts);
}
