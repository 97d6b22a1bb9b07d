#include "noise/hash.h"

#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>

#include "util/error.h"

/* RFC 2104 pad bytes. */
#define HMAC_IPAD 0x36
#define HMAC_OPAD 0x5c

/* Section 12.5-12.8: HASHLEN and BLOCKLEN of each hash. */
#define SHA256_HASH_LEN 32
#define SHA256_BLOCK_LEN 64
#define SHA512_HASH_LEN 64
#define SHA512_BLOCK_LEN 128
#define BLAKE2S_HASH_LEN 32
#define BLAKE2S_BLOCK_LEN 64
#define BLAKE2B_HASH_LEN 64
#define BLAKE2B_BLOCK_LEN 128

/* SHA256, SHA512 and BLAKE2b come from libsodium: their state lives on the
 * stack, so handshakes hash without touching the heap. */

static void sha256_init(struct noise_hash_ctx *ctx)
{
    crypto_hash_sha256_init(&ctx->u.sha256);
}

static void sha256_update(struct noise_hash_ctx *ctx, const uint8_t *data, size_t len)
{
    crypto_hash_sha256_update(&ctx->u.sha256, data, len);
}

static void sha256_final(struct noise_hash_ctx *ctx, uint8_t *out)
{
    crypto_hash_sha256_final(&ctx->u.sha256, out);
}

static void sha512_init(struct noise_hash_ctx *ctx)
{
    crypto_hash_sha512_init(&ctx->u.sha512);
}

static void sha512_update(struct noise_hash_ctx *ctx, const uint8_t *data, size_t len)
{
    crypto_hash_sha512_update(&ctx->u.sha512, data, len);
}

static void sha512_final(struct noise_hash_ctx *ctx, uint8_t *out)
{
    crypto_hash_sha512_final(&ctx->u.sha512, out);
}

/* Section 12.8: BLAKE2b with a 64-byte digest and no key. */
static void blake2b_init(struct noise_hash_ctx *ctx)
{
    if (crypto_generichash_blake2b_init(&ctx->u.blake2b, NULL, 0, BLAKE2B_HASH_LEN) != 0)
        ctx->err = TS_ERR_CRYPTO;
}

static void blake2b_update(struct noise_hash_ctx *ctx, const uint8_t *data, size_t len)
{
    crypto_generichash_blake2b_update(&ctx->u.blake2b, data, len);
}

static void blake2b_final(struct noise_hash_ctx *ctx, uint8_t *out)
{
    if (crypto_generichash_blake2b_final(&ctx->u.blake2b, out, BLAKE2B_HASH_LEN) != 0)
        ctx->err = TS_ERR_CRYPTO;
}

/* libsodium has no BLAKE2s; OpenSSL's digest is fetched once per process. */
static pthread_once_t blake2s_once = PTHREAD_ONCE_INIT;
static EVP_MD *blake2s_md;

static void blake2s_fetch(void)
{
    blake2s_md = EVP_MD_fetch(NULL, "BLAKE2S-256", NULL);
}

static void blake2s_init(struct noise_hash_ctx *ctx)
{
    ctx->u.evp = NULL;
    pthread_once(&blake2s_once, blake2s_fetch);
    if (blake2s_md == NULL) {
        ctx->err = TS_ERR_UNSUPPORTED;
        return;
    }
    ctx->u.evp = EVP_MD_CTX_new();
    if (ctx->u.evp == NULL)
        ctx->err = TS_ERR_NOMEM;
    else if (EVP_DigestInit_ex2(ctx->u.evp, blake2s_md, NULL) != 1)
        ctx->err = TS_ERR_CRYPTO;
}

static void blake2s_update(struct noise_hash_ctx *ctx, const uint8_t *data, size_t len)
{
    if (EVP_DigestUpdate(ctx->u.evp, data, len) != 1)
        ctx->err = TS_ERR_CRYPTO;
}

static void blake2s_final(struct noise_hash_ctx *ctx, uint8_t *out)
{
    if (ctx->u.evp == NULL)
        return;
    if (ctx->err == TS_OK && EVP_DigestFinal_ex(ctx->u.evp, out, NULL) != 1)
        ctx->err = TS_ERR_CRYPTO;
    EVP_MD_CTX_free(ctx->u.evp); /* the provider wipes its state */
    ctx->u.evp = NULL;
}

static const struct noise_hash hashes[] = {
    {"SHA256", SHA256_HASH_LEN, SHA256_BLOCK_LEN, sha256_init, sha256_update, sha256_final},
    {"SHA512", SHA512_HASH_LEN, SHA512_BLOCK_LEN, sha512_init, sha512_update, sha512_final},
    {"BLAKE2s", BLAKE2S_HASH_LEN, BLAKE2S_BLOCK_LEN, blake2s_init, blake2s_update,
     blake2s_final},
    {"BLAKE2b", BLAKE2B_HASH_LEN, BLAKE2B_BLOCK_LEN, blake2b_init, blake2b_update,
     blake2b_final},
};

const struct noise_hash *noise_hash_find(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++) {
        if (strlen(hashes[i].name) == len && memcmp(hashes[i].name, name, len) == 0)
            return &hashes[i];
    }
    return NULL;
}

void noise_hash_init(struct noise_hash_ctx *ctx, const struct noise_hash *alg)
{
    ctx->alg = alg;
    ctx->err = TS_OK;
    alg->init(ctx);
}

void noise_hash_update(struct noise_hash_ctx *ctx, const void *data, size_t len)
{
    if (ctx->err == TS_OK && len > 0)
        ctx->alg->update(ctx, data, len);
}

int noise_hash_final(struct noise_hash_ctx *ctx, uint8_t *out)
{
    int rc;

    ctx->alg->final(ctx, out);
    rc = ctx->err;
    if (rc != TS_OK) {
        sodium_memzero(out, ctx->alg->hash_len);
        rc = error_set(rc, "noise: %s hash failed", ctx->alg->name);
    }
    sodium_memzero(&ctx->u, sizeof(ctx->u));
    return rc;
}

int noise_hmac(const struct noise_hash *alg, const uint8_t *key, size_t key_len,
               const uint8_t *d1, size_t l1, const uint8_t *d2, size_t l2, uint8_t *out)
{
    uint8_t pad[NOISE_MAX_BLOCK_LEN];
    uint8_t inner[NOISE_MAX_HASH_LEN];
    struct noise_hash_ctx ctx;
    int rc;

    /* Longer keys would first be hashed (RFC 2104 section 2); Noise never
     * passes one, so refuse rather than carry an untested path. */
    if (key_len > alg->block_len)
        return error_set(TS_ERR_INVALID, "noise: HMAC key longer than BLOCKLEN");

    memset(pad, HMAC_IPAD, alg->block_len);
    for (size_t i = 0; i < key_len; i++)
        pad[i] ^= key[i];
    noise_hash_init(&ctx, alg);
    noise_hash_update(&ctx, pad, alg->block_len);
    noise_hash_update(&ctx, d1, l1);
    noise_hash_update(&ctx, d2, l2);
    if ((rc = noise_hash_final(&ctx, inner)) != TS_OK)
        goto out;

    for (size_t i = 0; i < alg->block_len; i++)
        pad[i] ^= HMAC_IPAD ^ HMAC_OPAD;
    noise_hash_init(&ctx, alg);
    noise_hash_update(&ctx, pad, alg->block_len);
    noise_hash_update(&ctx, inner, alg->hash_len);
    rc = noise_hash_final(&ctx, out);

out:
    sodium_memzero(pad, sizeof(pad));
    sodium_memzero(inner, sizeof(inner));
    return rc;
}

int noise_hkdf(const struct noise_hash *alg, const uint8_t *ck, const uint8_t *ikm,
               size_t ikm_len, uint8_t *out1, uint8_t *out2, uint8_t *out3)
{
    static const uint8_t one = 0x01, two = 0x02, three = 0x03;
    uint8_t temp_key[NOISE_MAX_HASH_LEN];
    uint8_t o1[NOISE_MAX_HASH_LEN], o2[NOISE_MAX_HASH_LEN], o3[NOISE_MAX_HASH_LEN];
    size_t hl = alg->hash_len;
    int rc;

    /* Outputs go to locals first: callers pass ck itself as out1. */
    if ((rc = noise_hmac(alg, ck, hl, ikm, ikm_len, NULL, 0, temp_key)) != TS_OK ||
        (rc = noise_hmac(alg, temp_key, hl, &one, 1, NULL, 0, o1)) != TS_OK ||
        (rc = noise_hmac(alg, temp_key, hl, o1, hl, &two, 1, o2)) != TS_OK)
        goto out;
    if (out3 != NULL &&
        (rc = noise_hmac(alg, temp_key, hl, o2, hl, &three, 1, o3)) != TS_OK)
        goto out;

    memcpy(out1, o1, hl);
    memcpy(out2, o2, hl);
    if (out3 != NULL)
        memcpy(out3, o3, hl);

out:
    sodium_memzero(temp_key, sizeof(temp_key));
    sodium_memzero(o1, sizeof(o1));
    sodium_memzero(o2, sizeof(o2));
    sodium_memzero(o3, sizeof(o3));
    return rc;
}
