/*
 * The CipherState of section 5.1 and the two cipher functions of sections
 * 12.3 (ChaChaPoly, libsodium) and 12.4 (AESGCM, OpenSSL).
 *
 * The layout is private to src/noise so that the handshake can embed its
 * CipherState instead of allocating one. It is kept small because a server
 * holds two per connection: ChaChaPoly keeps the raw key; AESGCM keeps one
 * EVP_CIPHER_CTX, keyed once (the key schedule lives there), and sets only
 * the IV per message.
 */
#ifndef TS_NOISE_CIPHER_H
#define TS_NOISE_CIPHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "noise/noise.h"

/* Sections 12.3 and 12.4: 96-bit nonce = 32 zero bits || 64-bit counter. */
#define NOISE_NONCE_LEN 12
#define NOISE_NONCE_PREFIX_LEN 4

struct evp_cipher_ctx_st;

struct noise_cipher_alg {
    const char *name; /* as in protocol names: "AESGCM", "ChaChaPoly" */
    /* InitializeKey(key); may be called again on a keyed state. */
    int (*set_key)(noise_cipher *cs, const uint8_t *key);
    /* ENCRYPT(k, n, ad, pt): pt_len bytes plus the tag to out. */
    int (*encrypt)(noise_cipher *cs, uint64_t n, const uint8_t *ad, size_t ad_len,
                   const uint8_t *pt, size_t pt_len, uint8_t *out);
    /* DECRYPT(k, n, ad, ct || tag): pt_len bytes to out, or TS_ERR_DECRYPT. */
    int (*decrypt)(noise_cipher *cs, uint64_t n, const uint8_t *ad, size_t ad_len,
                   const uint8_t *ct, size_t pt_len, const uint8_t *tag, uint8_t *out);
    /* Release and wipe what set_key() acquired. */
    void (*clear)(noise_cipher *cs);
};

struct noise_cipher {
    const struct noise_cipher_alg *alg;
    uint64_t n;
    union {
        uint8_t key[NOISE_KEY_LEN];    /* ChaChaPoly */
        struct evp_cipher_ctx_st *evp; /* AESGCM */
    } k;
    bool has_key;
    bool dead; /* a key change failed: every later use fails */
};

/* The cipher named by the len bytes at name, or NULL. */
const struct noise_cipher_alg *noise_cipher_alg_find(const char *name, size_t len);

/* InitializeKey(empty) on an embedded CipherState. */
void noise_cipher_init(noise_cipher *cs, const struct noise_cipher_alg *alg);

/* InitializeKey(key): key is NOISE_KEY_LEN bytes; n becomes 0. Returns 0,
 * TS_ERR_NOMEM or TS_ERR_CRYPTO; after a failure the state is dead (every
 * later use fails with TS_ERR_STATE) rather than silently keyless. */
int noise_cipher_set_key(noise_cipher *cs, const uint8_t *key);

/* HasKey(). */
bool noise_cipher_has_key(const noise_cipher *cs);

/* A heap CipherState keyed with key (Split()); free with noise_cipher_free(). */
int noise_cipher_new(noise_cipher **out, const struct noise_cipher_alg *alg,
                     const uint8_t *key);

/* Wipe an embedded CipherState and release what it holds; it is then
 * keyless and may be initialised again. */
void noise_cipher_clear(noise_cipher *cs);

#endif /* TS_NOISE_CIPHER_H */
