#include "noise/symmetric.h"

#include <string.h>

#include <sodium.h>

#include "util/error.h"

int noise_symmetric_init(struct noise_symmetric *ss, const noise_protocol *proto)
{
    size_t name_len = strlen(proto->name);
    struct noise_hash_ctx ctx;
    int rc = TS_OK;

    memset(ss, 0, sizeof(*ss));
    ss->hash = proto->hash;
    noise_cipher_init(&ss->cs, proto->cipher);

    /* Section 5.2: a name of at most HASHLEN bytes is used as h directly,
     * zero-padded; a longer one is hashed. */
    if (name_len <= ss->hash->hash_len) {
        memcpy(ss->h, proto->name, name_len);
    } else {
        noise_hash_init(&ctx, ss->hash);
        noise_hash_update(&ctx, proto->name, name_len);
        rc = noise_hash_final(&ctx, ss->h);
    }
    memcpy(ss->ck, ss->h, ss->hash->hash_len);
    return rc;
}

/* Section 5.2: with a 64-byte HASHLEN only the first 32 bytes become k. */
static int set_key_from(struct noise_symmetric *ss, const uint8_t *temp_k)
{
    return noise_cipher_set_key(&ss->cs, temp_k);
}

int noise_symmetric_mix_key(struct noise_symmetric *ss, const uint8_t *ikm, size_t len)
{
    uint8_t temp_k[NOISE_MAX_HASH_LEN];
    int rc;

    if ((rc = noise_hkdf(ss->hash, ss->ck, ikm, len, ss->ck, temp_k, NULL)) == TS_OK)
        rc = set_key_from(ss, temp_k);
    sodium_memzero(temp_k, sizeof(temp_k));
    return rc;
}

int noise_symmetric_mix_hash(struct noise_symmetric *ss, const uint8_t *data, size_t len)
{
    struct noise_hash_ctx ctx;

    noise_hash_init(&ctx, ss->hash);
    noise_hash_update(&ctx, ss->h, ss->hash->hash_len);
    noise_hash_update(&ctx, data, len);
    return noise_hash_final(&ctx, ss->h);
}

int noise_symmetric_mix_key_and_hash(struct noise_symmetric *ss, const uint8_t *ikm,
                                     size_t len)
{
    uint8_t temp_h[NOISE_MAX_HASH_LEN];
    uint8_t temp_k[NOISE_MAX_HASH_LEN];
    int rc;

    if ((rc = noise_hkdf(ss->hash, ss->ck, ikm, len, ss->ck, temp_h, temp_k)) == TS_OK &&
        (rc = noise_symmetric_mix_hash(ss, temp_h, ss->hash->hash_len)) == TS_OK)
        rc = set_key_from(ss, temp_k);
    sodium_memzero(temp_h, sizeof(temp_h));
    sodium_memzero(temp_k, sizeof(temp_k));
    return rc;
}

size_t noise_symmetric_overhead(const struct noise_symmetric *ss)
{
    return noise_cipher_has_key(&ss->cs) ? NOISE_TAG_LEN : 0;
}

int noise_symmetric_encrypt_and_hash(struct noise_symmetric *ss, const uint8_t *pt,
                                     size_t len, uint8_t *out)
{
    size_t out_len = len + noise_symmetric_overhead(ss);
    int rc;

    if ((rc = noise_cipher_encrypt(&ss->cs, ss->h, ss->hash->hash_len, pt, len, out)) !=
        TS_OK)
        return rc;
    return noise_symmetric_mix_hash(ss, out, out_len);
}

int noise_symmetric_decrypt_and_hash(struct noise_symmetric *ss, const uint8_t *ct,
                                     size_t len, uint8_t *out)
{
    uint8_t h_next[NOISE_MAX_HASH_LEN];
    struct noise_hash_ctx ctx;
    int rc;

    /* h must absorb the ciphertext, which in-place decryption overwrites:
     * hash it first, decrypt under the old h, then commit. */
    noise_hash_init(&ctx, ss->hash);
    noise_hash_update(&ctx, ss->h, ss->hash->hash_len);
    noise_hash_update(&ctx, ct, len);
    if ((rc = noise_hash_final(&ctx, h_next)) != TS_OK)
        return rc;
    if ((rc = noise_cipher_decrypt(&ss->cs, ss->h, ss->hash->hash_len, ct, len, out)) ==
        TS_OK)
        memcpy(ss->h, h_next, ss->hash->hash_len);
    return rc;
}

int noise_symmetric_split(struct noise_symmetric *ss, noise_cipher **c1, noise_cipher **c2)
{
    uint8_t temp_k1[NOISE_MAX_HASH_LEN];
    uint8_t temp_k2[NOISE_MAX_HASH_LEN];
    int rc;

    *c1 = *c2 = NULL;
    if ((rc = noise_hkdf(ss->hash, ss->ck, NULL, 0, temp_k1, temp_k2, NULL)) != TS_OK ||
        (rc = noise_cipher_new(c1, ss->cs.alg, temp_k1)) != TS_OK ||
        (rc = noise_cipher_new(c2, ss->cs.alg, temp_k2)) != TS_OK) {
        noise_cipher_free(*c1);
        *c1 = NULL;
    }
    sodium_memzero(temp_k1, sizeof(temp_k1));
    sodium_memzero(temp_k2, sizeof(temp_k2));
    return rc;
}

void noise_symmetric_forget_keys(struct noise_symmetric *ss)
{
    noise_cipher_clear(&ss->cs);
    sodium_memzero(ss->ck, sizeof(ss->ck));
}

void noise_symmetric_clear(struct noise_symmetric *ss)
{
    noise_cipher_clear(&ss->cs);
    sodium_memzero(ss, sizeof(*ss));
}
