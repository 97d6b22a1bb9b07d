/*
 * The SymmetricState of section 5.2: a CipherState plus the chaining key
 * ck and the handshake hash h. Embedded in the HandshakeState; every
 * function returns 0 or a negative error code, and a failure leaves the
 * state unusable (the handshake then fails as a whole).
 */
#ifndef TS_NOISE_SYMMETRIC_H
#define TS_NOISE_SYMMETRIC_H

#include <stddef.h>
#include <stdint.h>

#include "noise/cipher.h"
#include "noise/hash.h"
#include "noise/noise.h"

struct noise_symmetric {
    const struct noise_hash *hash;
    noise_cipher cs;
    uint8_t ck[NOISE_MAX_HASH_LEN];
    uint8_t h[NOISE_MAX_HASH_LEN];
};

/* InitializeSymmetric(protocol_name) for the algorithms of proto. */
int noise_symmetric_init(struct noise_symmetric *ss, const noise_protocol *proto);

/* MixKey(ikm): ck, k = HKDF(ck, ikm, 2). */
int noise_symmetric_mix_key(struct noise_symmetric *ss, const uint8_t *ikm, size_t len);

/* MixHash(data): h = HASH(h || data). */
int noise_symmetric_mix_hash(struct noise_symmetric *ss, const uint8_t *data, size_t len);

/* MixKeyAndHash(ikm) of section 9.1, for psk tokens. */
int noise_symmetric_mix_key_and_hash(struct noise_symmetric *ss, const uint8_t *ikm,
                                     size_t len);

/* Bytes EncryptAndHash() adds to a plaintext: the tag once a key is set. */
size_t noise_symmetric_overhead(const struct noise_symmetric *ss);

/* EncryptAndHash(pt): writes len + overhead bytes to out (out may be pt). */
int noise_symmetric_encrypt_and_hash(struct noise_symmetric *ss, const uint8_t *pt,
                                     size_t len, uint8_t *out);

/* DecryptAndHash(ct): writes len - overhead bytes to out (out may be ct).
 * h changes only when decryption succeeds. */
int noise_symmetric_decrypt_and_hash(struct noise_symmetric *ss, const uint8_t *ct,
                                     size_t len, uint8_t *out);

/* Split(): two heap CipherStates, c1 for initiator-to-responder traffic. */
int noise_symmetric_split(struct noise_symmetric *ss, noise_cipher **c1, noise_cipher **c2);

/* Wipe ck and the CipherState, keeping h for GetHandshakeHash(). */
void noise_symmetric_forget_keys(struct noise_symmetric *ss);

/* Wipe everything and release what the CipherState holds. */
void noise_symmetric_clear(struct noise_symmetric *ss);

#endif /* TS_NOISE_SYMMETRIC_H */
