#include "noise/cipher.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "util/crypto_init.h"
#include "util/error.h"

/* Largest plaintext whose ciphertext still fits in one Noise message. */
#define NOISE_MAX_PLAINTEXT (NOISE_MAX_MESSAGE - NOISE_TAG_LEN)

_Static_assert(NOISE_MAX_MESSAGE <= INT_MAX, "EVP lengths are int");

/* ------------------------------------------------------------------------ */
/* ChaChaPoly (section 12.3): nonce = 4 zero bytes || little-endian n.       */

static void nonce_le(uint8_t nonce[NOISE_NONCE_LEN], uint64_t n)
{
    memset(nonce, 0, NOISE_NONCE_PREFIX_LEN);
    for (int i = 0; i < 8; i++)
        nonce[NOISE_NONCE_PREFIX_LEN + i] = (uint8_t)(n >> (8 * i));
}

static int chachapoly_set_key(noise_cipher *cs, const uint8_t *key)
{
    memcpy(cs->k.key, key, NOISE_KEY_LEN);
    return TS_OK;
}

static int chachapoly_encrypt(noise_cipher *cs, uint64_t n, const uint8_t *ad,
                              size_t ad_len, const uint8_t *pt, size_t pt_len, uint8_t *out)
{
    uint8_t nonce[NOISE_NONCE_LEN];

    nonce_le(nonce, n);
    if (crypto_aead_chacha20poly1305_ietf_encrypt_detached(
            out, out + pt_len, NULL, pt, pt_len, ad, ad_len, NULL, nonce, cs->k.key) != 0)
        return error_set(TS_ERR_CRYPTO, "noise: ChaChaPoly encryption failed");
    return TS_OK;
}

/* libsodium checks the tag before it writes any plaintext. */
static int chachapoly_decrypt(noise_cipher *cs, uint64_t n, const uint8_t *ad,
                              size_t ad_len, const uint8_t *ct, size_t pt_len,
                              const uint8_t *tag, uint8_t *out)
{
    uint8_t nonce[NOISE_NONCE_LEN];

    nonce_le(nonce, n);
    if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(out, NULL, ct, pt_len, tag, ad,
                                                           ad_len, nonce, cs->k.key) != 0)
        return TS_ERR_DECRYPT;
    return TS_OK;
}

static void chachapoly_clear(noise_cipher *cs)
{
    sodium_memzero(cs->k.key, sizeof(cs->k.key));
}

/* ------------------------------------------------------------------------ */
/* AESGCM (section 12.4): nonce = 4 zero bytes || big-endian n.             */

static pthread_once_t aesgcm_once = PTHREAD_ONCE_INIT;
static EVP_CIPHER *aesgcm_evp; /* fetched once per process */

static void aesgcm_fetch(void)
{
    aesgcm_evp = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

static void nonce_be(uint8_t nonce[NOISE_NONCE_LEN], uint64_t n)
{
    memset(nonce, 0, NOISE_NONCE_PREFIX_LEN);
    for (int i = 0; i < 8; i++)
        nonce[NOISE_NONCE_LEN - 1 - i] = (uint8_t)(n >> (8 * i));
}

/* The context is created and keyed once; a later InitializeKey() or
 * Rekey() only replaces the key schedule inside it. */
static int aesgcm_set_key(noise_cipher *cs, const uint8_t *key)
{
    if (cs->k.evp == NULL) {
        pthread_once(&aesgcm_once, aesgcm_fetch);
        if (aesgcm_evp == NULL)
            return error_set(TS_ERR_UNSUPPORTED, "noise: OpenSSL lacks AES-256-GCM");
        if ((cs->k.evp = EVP_CIPHER_CTX_new()) == NULL)
            return error_set(TS_ERR_NOMEM, "noise: no memory for an AES-GCM context");
        if (EVP_CipherInit_ex(cs->k.evp, aesgcm_evp, NULL, key, NULL, 1) != 1)
            return error_set(TS_ERR_CRYPTO, "noise: AES-GCM key setup failed");
        return TS_OK;
    }
    if (EVP_CipherInit_ex(cs->k.evp, NULL, NULL, key, NULL, -1) != 1)
        return error_set(TS_ERR_CRYPTO, "noise: AES-GCM key setup failed");
    return TS_OK;
}

static int aesgcm_encrypt(noise_cipher *cs, uint64_t n, const uint8_t *ad, size_t ad_len,
                          const uint8_t *pt, size_t pt_len, uint8_t *out)
{
    EVP_CIPHER_CTX *ctx = cs->k.evp;
    uint8_t nonce[NOISE_NONCE_LEN];
    int len;

    nonce_be(nonce, n);
    if (EVP_CipherInit_ex(ctx, NULL, NULL, NULL, nonce, 1) != 1 ||
        (ad_len > 0 && EVP_CipherUpdate(ctx, NULL, &len, ad, (int)ad_len) != 1) ||
        (pt_len > 0 && EVP_CipherUpdate(ctx, out, &len, pt, (int)pt_len) != 1) ||
        EVP_CipherFinal_ex(ctx, out + pt_len, &len) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, NOISE_TAG_LEN, out + pt_len) != 1)
        return error_set(TS_ERR_CRYPTO, "noise: AES-GCM encryption failed");
    return TS_OK;
}

/* GCM writes plaintext before the tag is checked; the caller wipes out on
 * failure. */
static int aesgcm_decrypt(noise_cipher *cs, uint64_t n, const uint8_t *ad, size_t ad_len,
                          const uint8_t *ct, size_t pt_len, const uint8_t *tag,
                          uint8_t *out)
{
    EVP_CIPHER_CTX *ctx = cs->k.evp;
    uint8_t nonce[NOISE_NONCE_LEN];
    uint8_t tag_copy[NOISE_TAG_LEN]; /* the ctrl call takes a non-const buffer */
    int len;

    nonce_be(nonce, n);
    memcpy(tag_copy, tag, NOISE_TAG_LEN);
    if (EVP_CipherInit_ex(ctx, NULL, NULL, NULL, nonce, 0) != 1 ||
        (ad_len > 0 && EVP_CipherUpdate(ctx, NULL, &len, ad, (int)ad_len) != 1) ||
        (pt_len > 0 && EVP_CipherUpdate(ctx, out, &len, ct, (int)pt_len) != 1) ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, NOISE_TAG_LEN, tag_copy) != 1)
        return error_set(TS_ERR_CRYPTO, "noise: AES-GCM decryption failed");
    if (EVP_CipherFinal_ex(ctx, out + pt_len, &len) != 1)
        return TS_ERR_DECRYPT;
    return TS_OK;
}

static void aesgcm_clear(noise_cipher *cs)
{
    EVP_CIPHER_CTX_free(cs->k.evp); /* the provider wipes the key schedule */
    cs->k.evp = NULL;
}

static const struct noise_cipher_alg ciphers[] = {
    {"ChaChaPoly", chachapoly_set_key, chachapoly_encrypt, chachapoly_decrypt,
     chachapoly_clear},
    {"AESGCM", aesgcm_set_key, aesgcm_encrypt, aesgcm_decrypt, aesgcm_clear},
};

const struct noise_cipher_alg *noise_cipher_alg_find(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(ciphers) / sizeof(ciphers[0]); i++) {
        if (strlen(ciphers[i].name) == len && memcmp(ciphers[i].name, name, len) == 0)
            return &ciphers[i];
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* CipherState (section 5.1)                                                */

/* After a failed key change the old key is gone and the new one may be half
 * set: wipe it and refuse every later use, so that the state can never fall
 * back to section 5.1's keyless pass-through. */
static void noise_cipher_kill(noise_cipher *cs)
{
    noise_cipher_clear(cs);
    cs->dead = true;
}

void noise_cipher_init(noise_cipher *cs, const struct noise_cipher_alg *alg)
{
    memset(cs, 0, sizeof(*cs));
    cs->alg = alg;
}

int noise_cipher_set_key(noise_cipher *cs, const uint8_t *key)
{
    int rc;

    if ((rc = crypto_init()) != TS_OK || (rc = cs->alg->set_key(cs, key)) != TS_OK) {
        noise_cipher_kill(cs);
        return rc;
    }
    cs->has_key = true;
    cs->n = 0;
    return TS_OK;
}

bool noise_cipher_has_key(const noise_cipher *cs)
{
    return cs->has_key;
}

int noise_cipher_new(noise_cipher **out, const struct noise_cipher_alg *alg,
                     const uint8_t *key)
{
    noise_cipher *cs;
    int rc;

    *out = NULL;
    if ((cs = malloc(sizeof(*cs))) == NULL)
        return error_set(TS_ERR_NOMEM, "noise: no memory for a cipher state");
    noise_cipher_init(cs, alg);
    if ((rc = noise_cipher_set_key(cs, key)) != TS_OK) {
        noise_cipher_free(cs);
        return rc;
    }
    *out = cs;
    return TS_OK;
}

void noise_cipher_clear(noise_cipher *cs)
{
    const struct noise_cipher_alg *alg = cs->alg;

    if (alg != NULL)
        alg->clear(cs);
    sodium_memzero(cs, sizeof(*cs));
    cs->alg = alg;
}

void noise_cipher_free(noise_cipher *cs)
{
    if (cs == NULL)
        return;
    noise_cipher_clear(cs);
    free(cs);
}

int noise_cipher_encrypt(noise_cipher *cs, const uint8_t *ad, size_t adlen,
                         const uint8_t *pt, size_t ptlen, uint8_t *out)
{
    int rc;

    if (cs == NULL || out == NULL || (pt == NULL && ptlen > 0) || (ad == NULL && adlen > 0))
        return error_set(TS_ERR_INVALID, "noise: missing buffer for encryption");
    if (cs->dead)
        return error_set(TS_ERR_STATE, "noise: cipher unusable after a failed rekey");
    if (adlen > NOISE_MAX_MESSAGE)
        return error_set(TS_ERR_TOO_LARGE, "noise: %zu bytes of associated data", adlen);
    if (!cs->has_key) {
        /* Section 5.1: EncryptWithAd() without a key returns the plaintext. */
        if (ptlen > NOISE_MAX_MESSAGE)
            return error_set(TS_ERR_TOO_LARGE, "noise: %zu-byte plaintext", ptlen);
        if (ptlen > 0 && out != pt)
            memmove(out, pt, ptlen);
        return TS_OK;
    }
    if (ptlen > NOISE_MAX_PLAINTEXT)
        return error_set(TS_ERR_TOO_LARGE, "noise: %zu-byte plaintext exceeds %d", ptlen,
                         NOISE_MAX_PLAINTEXT);
    /* Section 5.1: n = 2^64-1 is reserved; reaching it ends the key. */
    if (cs->n == NOISE_NONCE_MAX)
        return error_set(TS_ERR_NONCE_EXHAUSTED, "noise: cipher nonces exhausted");
    if ((rc = cs->alg->encrypt(cs, cs->n, ad, adlen, pt, ptlen, out)) != TS_OK)
        return rc;
    cs->n++;
    return TS_OK;
}

int noise_cipher_decrypt(noise_cipher *cs, const uint8_t *ad, size_t adlen,
                         const uint8_t *ct, size_t ctlen, uint8_t *out)
{
    size_t ptlen;
    int rc;

    if (cs == NULL || ct == NULL || out == NULL || (ad == NULL && adlen > 0))
        return error_set(TS_ERR_INVALID, "noise: missing buffer for decryption");
    if (cs->dead)
        return error_set(TS_ERR_STATE, "noise: cipher unusable after a failed rekey");
    if (adlen > NOISE_MAX_MESSAGE)
        return error_set(TS_ERR_TOO_LARGE, "noise: %zu bytes of associated data", adlen);
    if (ctlen > NOISE_MAX_MESSAGE)
        return error_set(TS_ERR_TOO_LARGE, "noise: %zu-byte ciphertext exceeds %d", ctlen,
                         NOISE_MAX_MESSAGE);
    if (!cs->has_key) {
        /* Section 5.1: DecryptWithAd() without a key returns the input. */
        if (ctlen > 0 && out != ct)
            memmove(out, ct, ctlen);
        return TS_OK;
    }
    if (ctlen < NOISE_TAG_LEN)
        return error_set(TS_ERR_TRUNCATED, "noise: %zu-byte ciphertext has no tag", ctlen);
    if (cs->n == NOISE_NONCE_MAX)
        return error_set(TS_ERR_NONCE_EXHAUSTED, "noise: cipher nonces exhausted");
    ptlen = ctlen - NOISE_TAG_LEN;
    rc = cs->alg->decrypt(cs, cs->n, ad, adlen, ct, ptlen, ct + ptlen, out);
    if (rc != TS_OK) {
        /* Never release unauthenticated plaintext; n stays unchanged. */
        sodium_memzero(out, ptlen);
        if (rc == TS_ERR_DECRYPT)
            rc = error_set(TS_ERR_DECRYPT, "noise: %s message failed authentication",
                           cs->alg->name);
        return rc;
    }
    cs->n++;
    return TS_OK;
}

int noise_cipher_rekey(noise_cipher *cs)
{
    static const uint8_t zeros[NOISE_KEY_LEN];
    uint8_t block[NOISE_KEY_LEN + NOISE_TAG_LEN];
    int rc;

    if (cs == NULL || !cs->has_key || cs->dead)
        return error_set(TS_ERR_STATE, "noise: rekey of a cipher without a key");
    /* Section 4.2: REKEY(k) = ENCRYPT(k, maxnonce, zerolen, zeros)[0:32]. The
     * nonce is left alone (section 11.3). */
    if ((rc = cs->alg->encrypt(cs, NOISE_NONCE_MAX, NULL, 0, zeros, sizeof(zeros),
                               block)) != TS_OK ||
        (rc = cs->alg->set_key(cs, block)) != TS_OK)
        noise_cipher_kill(cs);
    sodium_memzero(block, sizeof(block));
    return rc;
}

uint64_t noise_cipher_nonce(const noise_cipher *cs)
{
    return cs->n;
}

void noise_cipher_set_nonce(noise_cipher *cs, uint64_t n)
{
    cs->n = n;
}
