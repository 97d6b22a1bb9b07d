/*
 * Private side of identity keys: the layout of struct ts_identity and the
 * helpers the key file code needs (see include/tcpseal/identity.h).
 */
#ifndef TS_IDENTITY_IDENTITY_H
#define TS_IDENTITY_IDENTITY_H

#include <stdint.h>

#include <tcpseal/identity.h>

/* Ed25519 seed, and libsodium's secret key (seed followed by public key). */
#define IDENTITY_SEED_LEN 32
#define IDENTITY_SECRET_KEY_LEN 64

/*
 * Lives entirely in sodium_malloc'd memory (guard pages, locked, read-only
 * once built), so the secret key never shares a page with ordinary heap
 * data and sodium_free() wipes it. Only byte arrays: sodium_malloc gives
 * no alignment guarantee.
 */
struct ts_identity {
    uint8_t public_key[TS_PUBLIC_KEY_LEN];
    uint8_t secret_key[IDENTITY_SECRET_KEY_LEN];
};

/* Copy the 32-byte seed of id into seed; the caller wipes it. */
void identity_seed(const ts_identity *id, uint8_t seed[IDENTITY_SEED_LEN]);

#endif /* TS_IDENTITY_IDENTITY_H */
