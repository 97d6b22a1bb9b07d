/*
 * Noise DH functions (sections 4.1, 12.1, 12.2): 25519 through libsodium,
 * 448 through OpenSSL's X448 with raw keys.
 */
#ifndef TS_NOISE_DH_H
#define TS_NOISE_DH_H

#include <stddef.h>
#include <stdint.h>

#include "noise/noise.h"

#define NOISE_25519_LEN 32
#define NOISE_448_LEN 56

struct noise_dh {
    const char *name; /* as in protocol names: "25519", "448" */
    size_t len;       /* DHLEN: public keys, private keys and DH outputs */
    int (*public_key)(const uint8_t *priv, uint8_t *pub);
    int (*derive)(const uint8_t *priv, const uint8_t *pub, uint8_t *out);
};

/* The DH functions named by the len bytes at name, or NULL. */
const struct noise_dh *noise_dh_find(const char *name, size_t len);

/* GENERATE_KEYPAIR(): a fresh private key from the system CSPRNG and its
 * public key. Returns 0 or TS_ERR_CRYPTO. */
int noise_dh_keypair(const struct noise_dh *dh, uint8_t *priv, uint8_t *pub);

/* The public key of priv. Returns 0 or TS_ERR_CRYPTO. */
int noise_dh_derive_public(const struct noise_dh *dh, const uint8_t *priv, uint8_t *pub);

/*
 * DH(priv, pub) into out (DHLEN bytes). Fails with TS_ERR_CRYPTO when pub
 * is invalid or of low order, i.e. the result would be all zeros (section
 * 12.1 allows signalling this instead of returning zeros); out is then
 * zeroed.
 */
int noise_dh(const struct noise_dh *dh, const uint8_t *priv, const uint8_t *pub,
             uint8_t *out);

#endif /* TS_NOISE_DH_H */
