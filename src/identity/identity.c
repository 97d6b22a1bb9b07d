#include "identity/identity.h"

#include <sodium.h>

#include "util/crypto_init.h"
#include "util/error.h"

/* Allocate an identity and fill it with the key pair of seed, or a fresh
 * random pair when seed is NULL. */
static int identity_create(const uint8_t *seed, ts_identity **out)
{
    ts_identity *id;
    int rc;

    if (out == NULL)
        return error_set(TS_ERR_INVALID, "identity: no output pointer");
    *out = NULL;
    if ((rc = crypto_init()) != TS_OK)
        return rc;
    id = sodium_malloc(sizeof(*id));
    if (id == NULL)
        return error_set(TS_ERR_NOMEM, "identity: cannot allocate secure memory");
    if (seed != NULL)
        rc = crypto_sign_seed_keypair(id->public_key, id->secret_key, seed);
    else
        rc = crypto_sign_keypair(id->public_key, id->secret_key);
    if (rc != 0) {
        sodium_free(id);
        return error_set(TS_ERR_CRYPTO, "identity: Ed25519 key generation failed");
    }
    /* Immutable from here on; a stray write faults instead of corrupting
     * the key. */
    if (sodium_mprotect_readonly(id) != 0) {
        sodium_free(id);
        return error_set(TS_ERR_CRYPTO, "identity: cannot protect key memory");
    }
    *out = id;
    return TS_OK;
}

int ts_identity_generate(ts_identity **out)
{
    return identity_create(NULL, out);
}

int ts_identity_from_seed(const uint8_t seed[32], ts_identity **out)
{
    if (seed == NULL)
        return error_set(TS_ERR_INVALID, "identity: no seed given");
    return identity_create(seed, out);
}

void identity_seed(const ts_identity *id, uint8_t seed[IDENTITY_SEED_LEN])
{
    /* libsodium's secret key is seed || public key. */
    crypto_sign_ed25519_sk_to_seed(seed, id->secret_key);
}

const uint8_t *ts_identity_public_key(const ts_identity *id)
{
    return id != NULL ? id->public_key : NULL;
}

int ts_identity_sign(const ts_identity *id, const uint8_t *msg, size_t len,
                     uint8_t sig[TS_SIGNATURE_LEN])
{
    int rc;

    if (id == NULL || sig == NULL || (msg == NULL && len > 0))
        return error_set(TS_ERR_INVALID, "identity: invalid signing arguments");
    if ((rc = crypto_init()) != TS_OK)
        return rc;
    if (crypto_sign_detached(sig, NULL, msg, len, id->secret_key) != 0)
        return error_set(TS_ERR_CRYPTO, "identity: Ed25519 signing failed");
    return TS_OK;
}

int ts_signature_verify(const uint8_t public_key[TS_PUBLIC_KEY_LEN],
                        const uint8_t *msg, size_t len,
                        const uint8_t sig[TS_SIGNATURE_LEN])
{
    if (public_key == NULL || sig == NULL || (msg == NULL && len > 0))
        return error_set(TS_ERR_BAD_SIGNATURE, "signature: missing key, message or signature");
    if (crypto_init() != TS_OK)
        return error_set(TS_ERR_BAD_SIGNATURE, "signature: libsodium failed to initialise");
    if (crypto_sign_verify_detached(sig, msg, len, public_key) != 0)
        return error_set(TS_ERR_BAD_SIGNATURE, "signature does not verify against the key");
    return TS_OK;
}

void ts_identity_free(ts_identity *id)
{
    /* sodium_free makes the pages writable again, wipes and unmaps them. */
    if (id != NULL)
        sodium_free(id);
}
