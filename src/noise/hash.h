/*
 * Noise hash functions and the HMAC / HKDF built on them (section 4.3):
 * SHA256, SHA512 and BLAKE2b from libsodium, BLAKE2s from OpenSSL.
 *
 * A hash context lives on the caller's stack. Errors are sticky: update()
 * after a failure does nothing and final() reports the first error, so a
 * sequence of calls is checked once.
 */
#ifndef TS_NOISE_HASH_H
#define TS_NOISE_HASH_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "noise/noise.h"

/* Largest BLOCKLEN (SHA512 and BLAKE2b); HMAC pads keys to BLOCKLEN. */
#define NOISE_MAX_BLOCK_LEN 128

struct evp_md_ctx_st;
struct noise_hash_ctx;

struct noise_hash {
    const char *name; /* as in protocol names, e.g. "BLAKE2b" */
    size_t hash_len;  /* HASHLEN */
    size_t block_len; /* BLOCKLEN */
    void (*init)(struct noise_hash_ctx *ctx);
    void (*update)(struct noise_hash_ctx *ctx, const uint8_t *data, size_t len);
    void (*final)(struct noise_hash_ctx *ctx, uint8_t *out);
};

struct noise_hash_ctx {
    const struct noise_hash *alg;
    int err; /* first failure, sticky */
    union {
        crypto_hash_sha256_state sha256;
        crypto_hash_sha512_state sha512;
        crypto_generichash_blake2b_state blake2b;
        struct evp_md_ctx_st *evp; /* BLAKE2s */
    } u;
};

/* The hash named by the len bytes at name, or NULL when unsupported. */
const struct noise_hash *noise_hash_find(const char *name, size_t len);

/* Start HASH() over data supplied by noise_hash_update(). */
void noise_hash_init(struct noise_hash_ctx *ctx, const struct noise_hash *alg);

/* Absorb len bytes; data may be NULL when len is 0. */
void noise_hash_update(struct noise_hash_ctx *ctx, const void *data, size_t len);

/* Write HASHLEN bytes to out and wipe the context. Returns 0, or the first
 * error (TS_ERR_NOMEM, TS_ERR_CRYPTO); out is then zeroed. Always call it
 * once after noise_hash_init(): it releases what init acquired. */
int noise_hash_final(struct noise_hash_ctx *ctx, uint8_t *out);

/*
 * HMAC-HASH(key, d1 || d2) per RFC 2104; writes HASHLEN bytes to out.
 * key_len must not exceed BLOCKLEN (Noise keys HMAC only with HASHLEN-byte
 * values). Either data part may be empty. Returns 0 or a negative error.
 */
int noise_hmac(const struct noise_hash *alg, const uint8_t *key, size_t key_len,
               const uint8_t *d1, size_t l1, const uint8_t *d2, size_t l2, uint8_t *out);

/*
 * HKDF(chaining_key, input_key_material, 2 or 3) of section 4.3: ck holds
 * HASHLEN bytes, ikm is zero, 32 or DHLEN bytes. Writes HASHLEN bytes to
 * out1 and out2, and to out3 unless it is NULL. Outputs may alias ck.
 */
int noise_hkdf(const struct noise_hash *alg, const uint8_t *ck, const uint8_t *ikm,
               size_t ikm_len, uint8_t *out1, uint8_t *out2, uint8_t *out3);

#endif /* TS_NOISE_HASH_H */
