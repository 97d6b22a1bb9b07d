/*
 * Identity keys: the long-term Ed25519 key pair of a server or client.
 *
 * An identity signs envelopes and, during the handshake, the Noise static
 * key of its owner, so the peer learns who is at the other end of the
 * channel. People compare and pin identities by fingerprint:
 *
 *     SHA256:<43 characters of unpadded standard base64>
 *
 * the SHA-256 digest of the 32-byte Ed25519 public key (the same shape as
 * OpenSSH's fingerprints, so operators recognise it).
 *
 * On disk an identity is a small text file, mode 0600, optionally encrypted
 * under a passphrase (Argon2id-derived key, XChaCha20-Poly1305); the format
 * is described in docs/identity.md. Loading refuses a file that group or
 * others can access, as ssh does.
 *
 * Ownership: a ts_identity is created by ts_identity_generate() or
 * ts_identity_load() and released by ts_identity_free(), which wipes the
 * secret key. A ts_identity is immutable after creation and may be shared
 * between threads.
 */
#ifndef TCPSEAL_IDENTITY_H
#define TCPSEAL_IDENTITY_H

#include <tcpseal/common.h>
#include <tcpseal/error.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ts_identity ts_identity;

/* Generate a new identity from the system CSPRNG. 0, TS_ERR_NOMEM or
 * TS_ERR_CRYPTO. */
TS_API int ts_identity_generate(ts_identity **out);

/* Derive the identity whose Ed25519 seed is seed (32 bytes). For tests and
 * reproducible examples; real keys come from ts_identity_generate(). */
TS_API int ts_identity_from_seed(const uint8_t seed[32], ts_identity **out);

/*
 * Write the identity to path (created or replaced atomically, mode 0600).
 * passphrase NULL or "" stores the secret key in clear; otherwise it is
 * encrypted under a key derived with Argon2id (libsodium's "moderate"
 * limits, recorded in the file). 0, TS_ERR_IO (detail names the path and reason) or TS_ERR_NOMEM.
 */
TS_API int ts_identity_save(const ts_identity *id, const char *path,
                            const char *passphrase);

/*
 * Read an identity from path. passphrase is used only when the file is
 * encrypted. Errors: TS_ERR_NOT_FOUND (no such file), TS_ERR_PERMISSIONS
 * (group/other can access it; the detail gives the chmod command),
 * TS_ERR_PASSPHRASE (encrypted and passphrase NULL, or wrong passphrase),
 * TS_ERR_MALFORMED / TS_ERR_VERSION (not an identity file this version
 * reads), TS_ERR_IO.
 */
TS_API int ts_identity_load(ts_identity **out, const char *path,
                            const char *passphrase);

/* True when the file at path exists and is an encrypted identity. */
TS_API int ts_identity_file_is_encrypted(const char *path);

/* The 32-byte Ed25519 public key; valid while id lives. */
TS_API const uint8_t *ts_identity_public_key(const ts_identity *id);

/* Write the fingerprint of id into out (at least TS_FINGERPRINT_MAX bytes). */
TS_API void ts_identity_fingerprint(const ts_identity *id, char *out);

/* Fingerprint of a raw 32-byte Ed25519 public key. */
TS_API void ts_fingerprint_of_key(const uint8_t public_key[TS_PUBLIC_KEY_LEN],
                                  char *out);

/* 0 when text is a well-formed fingerprint, else TS_ERR_MALFORMED. */
TS_API int ts_fingerprint_validate(const char *text);

/* Sign msg: writes TS_SIGNATURE_LEN bytes to sig. 0 or TS_ERR_CRYPTO. */
TS_API int ts_identity_sign(const ts_identity *id, const uint8_t *msg,
                            size_t len, uint8_t sig[TS_SIGNATURE_LEN]);

/* Verify an Ed25519 signature by public_key over msg: 0 or
 * TS_ERR_BAD_SIGNATURE. */
TS_API int ts_signature_verify(const uint8_t public_key[TS_PUBLIC_KEY_LEN],
                               const uint8_t *msg, size_t len,
                               const uint8_t sig[TS_SIGNATURE_LEN]);

/* Wipe the secret key and free. NULL is ignored. */
TS_API void ts_identity_free(ts_identity *id);

#ifdef __cplusplus
}
#endif

#endif /* TCPSEAL_IDENTITY_H */
