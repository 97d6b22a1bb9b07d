/*
 * The Noise Protocol Framework, revision 34 (https://noiseprotocol.org/noise.html).
 *
 * This is the interface the rest of tcpseal uses: choose a protocol by its
 * full name, run a HandshakeState to completion, then protect transport
 * messages with the two CipherStates that Split() yields. The code is
 * sans-I/O: bytes in, bytes out, no sockets, no clock.
 *
 * Supported: every handshake pattern of the specification's sections 7.4,
 * 7.5 and 18 (one-way, fundamental interactive and deferred), with any
 * number of pskN modifiers (section 9); DH 25519 and 448; ciphers AESGCM
 * and ChaChaPoly; hashes SHA256, SHA512, BLAKE2s and BLAKE2b. Primitives
 * come from libsodium and OpenSSL; only the state machine is written here.
 *
 * Ownership: every object is heap-allocated by its *_new function and owned
 * by the caller until passed to its *_free function, which wipes every
 * secret it held. Objects are not thread-safe; use one per thread at a time.
 */
#ifndef TS_NOISE_NOISE_H
#define TS_NOISE_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tcpseal/error.h>

/* Section 3: every Noise message is at most 65535 bytes. */
#define NOISE_MAX_MESSAGE 65535
/* Section 5.1: AEAD tags are 16 bytes, keys 32 bytes. */
#define NOISE_TAG_LEN 16
#define NOISE_KEY_LEN 32
#define NOISE_PSK_LEN 32
/* Largest DHLEN (448) and HASHLEN (SHA512, BLAKE2b) supported. */
#define NOISE_MAX_DH_LEN 56
#define NOISE_MAX_HASH_LEN 64
/* Longest protocol name accepted, without the NUL. */
#define NOISE_MAX_NAME_LEN 64
/* Most messages in any supported handshake pattern, and tokens per message. */
#define NOISE_MAX_PATTERN_MESSAGES 8
#define NOISE_MAX_PATTERN_TOKENS 12
/* Most psk modifiers in one protocol name. */
#define NOISE_MAX_PSKS 4
/* Section 5.1: the nonce 2^64-1 is reserved for Rekey(). */
#define NOISE_NONCE_MAX UINT64_MAX

/*
 * A parsed protocol name such as "Noise_XX_25519_AESGCM_SHA256". Plain data:
 * copy it freely. The pointers refer to static tables inside the library.
 */
struct noise_dh;
struct noise_cipher_alg;
struct noise_hash;
struct noise_pattern;

typedef struct noise_protocol {
    char name[NOISE_MAX_NAME_LEN + 1];
    const struct noise_pattern *pattern;   /* base pattern; psk modifiers are in name */
    const struct noise_dh *dh;
    const struct noise_cipher_alg *cipher;
    const struct noise_hash *hash;
} noise_protocol;

/*
 * Parse a full protocol name. Returns 0; TS_ERR_MALFORMED when the name is
 * not of the form Noise_PATTERN_DH_CIPHER_HASH; TS_ERR_UNSUPPORTED when a
 * part names something not implemented (e.g. "Noise_XXfallback_...").
 */
int noise_protocol_parse(const char *name, noise_protocol *out);

/* DHLEN of the protocol's DH function (32 for 25519, 56 for 448). */
size_t noise_protocol_dh_len(const noise_protocol *proto);

/* HASHLEN of the protocol's hash function (32 or 64). */
size_t noise_protocol_hash_len(const noise_protocol *proto);

/* True when the pattern is one-way (N, K, X and their psk forms): only the
 * initiator ever sends. */
bool noise_protocol_is_one_way(const noise_protocol *proto);

/*
 * Key pairs for a protocol's DH function. priv and pub must hold
 * noise_protocol_dh_len() bytes.
 */
/* Generate a fresh key pair from the system CSPRNG. */
int noise_dh_generate(const noise_protocol *proto, uint8_t *priv, uint8_t *pub);
/* Derive the public key of priv. */
int noise_dh_public(const noise_protocol *proto, const uint8_t *priv, uint8_t *pub);

/* ------------------------------------------------------------------------ */
/* CipherState (section 5.1)                                                 */

typedef struct noise_cipher noise_cipher;

/*
 * EncryptWithAd(): writes ptlen + NOISE_TAG_LEN bytes to out and increments
 * the nonce. out may equal pt (in place). Returns 0, TS_ERR_NONCE_EXHAUSTED
 * when the nonce has reached 2^64-1 (nothing written; the key must not be
 * used again), or TS_ERR_CRYPTO. Without a key (never in tcpseal's
 * transport) it copies pt unchanged, as the specification says.
 */
int noise_cipher_encrypt(noise_cipher *cs, const uint8_t *ad, size_t adlen,
                         const uint8_t *pt, size_t ptlen, uint8_t *out);

/*
 * DecryptWithAd(): ctlen must be >= NOISE_TAG_LEN; writes ctlen - 16 bytes
 * to out (out may equal ct). Returns 0; TS_ERR_DECRYPT when authentication
 * fails (the nonce is then not incremented and out holds nothing usable);
 * TS_ERR_TRUNCATED when ctlen < 16; TS_ERR_NONCE_EXHAUSTED as above.
 */
int noise_cipher_decrypt(noise_cipher *cs, const uint8_t *ad, size_t adlen,
                         const uint8_t *ct, size_t ctlen, uint8_t *out);

/* Rekey() (section 4.2 / 11.3): k = ENCRYPT(k, 2^64-1, zerolen, zeros)[0:32].
 * The nonce is not changed. */
int noise_cipher_rekey(noise_cipher *cs);

/* The next nonce to be used. */
uint64_t noise_cipher_nonce(const noise_cipher *cs);

/* SetNonce(): for tests of nonce exhaustion and for out-of-band nonces. */
void noise_cipher_set_nonce(noise_cipher *cs, uint64_t n);

/* Wipe the key and free. NULL is ignored. */
void noise_cipher_free(noise_cipher *cs);

/* ------------------------------------------------------------------------ */
/* HandshakeState (section 5.3)                                              */

typedef struct noise_handshake noise_handshake;

/* What the handshake expects next. */
typedef enum noise_action {
    NOISE_ACTION_WRITE,   /* call noise_handshake_write() */
    NOISE_ACTION_READ,    /* call noise_handshake_read() */
    NOISE_ACTION_SPLIT,   /* handshake complete: call noise_handshake_split() */
    NOISE_ACTION_FAILED,  /* an earlier step failed; the object is unusable */
} noise_action;

typedef enum noise_role {
    NOISE_INITIATOR,
    NOISE_RESPONDER,
} noise_role;

/* Create a handshake for proto in the given role. Then set keys and the
 * prologue, and call noise_handshake_start(). */
int noise_handshake_new(noise_handshake **out, const noise_protocol *proto,
                        noise_role role);

/* Prologue bytes (copied). Optional; default empty. */
int noise_handshake_set_prologue(noise_handshake *hs, const uint8_t *p, size_t len);

/* The local static private key (copied; public key derived). Required when
 * the pattern gives this side a static key. len must be DHLEN. */
int noise_handshake_set_static(noise_handshake *hs, const uint8_t *priv, size_t len);

/* The remote static public key known in advance (pre-message). len DHLEN. */
int noise_handshake_set_remote_static(noise_handshake *hs, const uint8_t *pub,
                                      size_t len);

/* Fix the local ephemeral private key instead of generating one. Only for
 * deterministic test vectors and the documented worked example: reusing an
 * ephemeral key destroys forward secrecy. */
int noise_handshake_set_ephemeral(noise_handshake *hs, const uint8_t *priv,
                                  size_t len);

/* Append a 32-byte PSK; psk tokens consume them in order. */
int noise_handshake_add_psk(noise_handshake *hs, const uint8_t *psk, size_t len);

/*
 * Initialize(): InitializeSymmetric(protocol_name), MixHash(prologue), then
 * the pre-messages. Returns TS_ERR_INVALID when a key the pattern requires
 * (local static, pre-message remote static, psk) was not set.
 */
int noise_handshake_start(noise_handshake *hs);

/* What to do next (see noise_action). */
noise_action noise_handshake_action(const noise_handshake *hs);

/*
 * WriteMessage(payload): writes the next handshake message to out (capacity
 * cap) and sets *outlen. Fails with TS_ERR_STATE when it is not this side's
 * turn, TS_ERR_TOO_LARGE when the message would exceed cap or 65535 bytes.
 * Any failure moves the handshake to NOISE_ACTION_FAILED.
 */
int noise_handshake_write(noise_handshake *hs, const uint8_t *payload,
                          size_t payload_len, uint8_t *out, size_t cap,
                          size_t *outlen);

/*
 * ReadMessage(message): processes one handshake message and writes its
 * payload to payload (capacity cap), setting *payload_len. Fails with
 * TS_ERR_STATE out of turn, TS_ERR_TRUNCATED when msg is too short for its
 * tokens, TS_ERR_DECRYPT when an encrypted key or payload fails
 * authentication, TS_ERR_CRYPTO for an invalid DH public key. Any failure
 * moves the handshake to NOISE_ACTION_FAILED.
 */
int noise_handshake_read(noise_handshake *hs, const uint8_t *msg, size_t msg_len,
                         uint8_t *payload, size_t cap, size_t *payload_len);

/* The remote static public key once known (pre-message or received), or NULL.
 * *len receives DHLEN. The pointer is valid until noise_handshake_free(). */
const uint8_t *noise_handshake_remote_static(const noise_handshake *hs, size_t *len);

/* The local static public key, or NULL when none was set. */
const uint8_t *noise_handshake_local_static(const noise_handshake *hs, size_t *len);

/* GetHandshakeHash(): copies h (HASHLEN bytes) to out, cap >= HASHLEN.
 * Valid at any point; final after the last message. */
int noise_handshake_hash(const noise_handshake *hs, uint8_t *out, size_t cap,
                         size_t *len);

/*
 * Split(): only when the action is NOISE_ACTION_SPLIT. *send protects what
 * this side sends, *recv what it receives. For one-way patterns the
 * responder's *send and the initiator's *recv are NULL. The caller owns both.
 */
int noise_handshake_split(noise_handshake *hs, noise_cipher **send,
                          noise_cipher **recv);

/* Wipe every key and free. NULL is ignored. */
void noise_handshake_free(noise_handshake *hs);

#endif /* TS_NOISE_NOISE_H */
