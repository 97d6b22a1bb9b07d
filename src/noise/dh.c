#include "noise/dh.h"

#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "util/crypto_init.h"
#include "util/error.h"

/* Section 12.1: X25519. libsodium clamps the scalar itself. */
static int x25519_public(const uint8_t *priv, uint8_t *pub)
{
    if (crypto_scalarmult_base(pub, priv) != 0)
        return error_set(TS_ERR_CRYPTO, "noise: X25519 public key derivation failed");
    return TS_OK;
}

/* crypto_scalarmult() refuses low-order points and all-zero results. */
static int x25519_derive(const uint8_t *priv, const uint8_t *pub, uint8_t *out)
{
    if (crypto_scalarmult(out, priv, pub) != 0)
        return error_set(TS_ERR_CRYPTO, "noise: X25519 rejected the peer's public key");
    return TS_OK;
}

/* Section 12.2: X448 through EVP_PKEY raw keys. The allocation this costs
 * is acceptable: 448 is not on tcpseal's default path. */
static int x448_public(const uint8_t *priv, uint8_t *pub)
{
    EVP_PKEY *key;
    size_t len = NOISE_448_LEN;
    int rc = TS_OK;

    key = EVP_PKEY_new_raw_private_key(EVP_PKEY_X448, NULL, priv, NOISE_448_LEN);
    if (key == NULL || EVP_PKEY_get_raw_public_key(key, pub, &len) != 1 ||
        len != NOISE_448_LEN)
        rc = error_set(TS_ERR_CRYPTO, "noise: X448 public key derivation failed");
    EVP_PKEY_free(key); /* OpenSSL wipes the private key it held */
    return rc;
}

static int x448_derive(const uint8_t *priv, const uint8_t *pub, uint8_t *out)
{
    EVP_PKEY *sk = NULL, *pk = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    size_t len = NOISE_448_LEN;
    int rc = TS_OK;

    sk = EVP_PKEY_new_raw_private_key(EVP_PKEY_X448, NULL, priv, NOISE_448_LEN);
    pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_X448, NULL, pub, NOISE_448_LEN);
    if (sk == NULL || pk == NULL || (ctx = EVP_PKEY_CTX_new(sk, NULL)) == NULL ||
        EVP_PKEY_derive_init(ctx) != 1) {
        rc = error_set(TS_ERR_CRYPTO, "noise: X448 key setup failed");
        goto out;
    }
    /* OpenSSL fails the derivation when the result is all zeros. */
    if (EVP_PKEY_derive_set_peer(ctx, pk) != 1 || EVP_PKEY_derive(ctx, out, &len) != 1 ||
        len != NOISE_448_LEN)
        rc = error_set(TS_ERR_CRYPTO, "noise: X448 rejected the peer's public key");

out:
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pk);
    EVP_PKEY_free(sk);
    return rc;
}

static const struct noise_dh dh_functions[] = {
    {"25519", NOISE_25519_LEN, x25519_public, x25519_derive},
    {"448", NOISE_448_LEN, x448_public, x448_derive},
};

const struct noise_dh *noise_dh_find(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(dh_functions) / sizeof(dh_functions[0]); i++) {
        if (strlen(dh_functions[i].name) == len &&
            memcmp(dh_functions[i].name, name, len) == 0)
            return &dh_functions[i];
    }
    return NULL;
}

int noise_dh_derive_public(const struct noise_dh *dh, const uint8_t *priv, uint8_t *pub)
{
    int rc;

    if ((rc = crypto_init()) != TS_OK)
        return rc;
    return dh->public_key(priv, pub);
}

int noise_dh_keypair(const struct noise_dh *dh, uint8_t *priv, uint8_t *pub)
{
    int rc;

    if ((rc = crypto_init()) != TS_OK)
        return rc;
    randombytes_buf(priv, dh->len);
    if ((rc = dh->public_key(priv, pub)) != TS_OK)
        sodium_memzero(priv, dh->len);
    return rc;
}

int noise_dh(const struct noise_dh *dh, const uint8_t *priv, const uint8_t *pub,
             uint8_t *out)
{
    int rc = dh->derive(priv, pub, out);

    /* Belt and braces: whatever the back end did, an all-zero shared secret
     * (a low-order or invalid public key) never reaches MixKey(). */
    if (rc == TS_OK && sodium_is_zero(out, dh->len))
        rc = error_set(TS_ERR_CRYPTO, "noise: DH with a low-order public key");
    if (rc != TS_OK)
        sodium_memzero(out, dh->len);
    return rc;
}

int noise_dh_generate(const noise_protocol *proto, uint8_t *priv, uint8_t *pub)
{
    if (proto == NULL || proto->dh == NULL || priv == NULL || pub == NULL)
        return error_set(TS_ERR_INVALID, "noise: missing argument to noise_dh_generate");
    return noise_dh_keypair(proto->dh, priv, pub);
}

int noise_dh_public(const noise_protocol *proto, const uint8_t *priv, uint8_t *pub)
{
    if (proto == NULL || proto->dh == NULL || priv == NULL || pub == NULL)
        return error_set(TS_ERR_INVALID, "noise: missing argument to noise_dh_public");
    return noise_dh_derive_public(proto->dh, priv, pub);
}
