/*
 * Identity key files (docs/identity.md gives the format line by line).
 *
 * Version 1 is a short text file:
 *
 *   tcpseal-identity v1
 *   public-key: <base64, 32 bytes>
 *   encryption: none | argon2id-xchacha20poly1305
 *   then for "none":
 *     seed: <base64, 32 bytes>
 *   or for the encrypted form:
 *     argon2id-opslimit: <decimal>
 *     argon2id-memlimit: <decimal, bytes>
 *     argon2id-salt: <base64, 16 bytes>
 *     nonce: <base64, 24 bytes>
 *     encrypted-seed: <base64, 32 + 16 bytes>
 *
 * Lines come in exactly this order, each "key: value\n"; base64 is the
 * standard alphabet with padding. The AEAD's additional data is every byte
 * of the file before the encrypted-seed line, so editing the header, the
 * public key or any parameter makes decryption fail.
 *
 * The format code (keyfile_format.c) does no I/O; keyfile_io.c holds the
 * atomic write and the private read.
 */
#ifndef TS_IDENTITY_KEYFILE_H
#define TS_IDENTITY_KEYFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "identity/identity.h"

#define KEYFILE_MAGIC "tcpseal-identity v"
#define KEYFILE_VERSION 1
/* Larger files are refused unread: a version 1 file is about 300 bytes. */
#define KEYFILE_MAX_SIZE 4096

#define KEYFILE_ENCRYPTION_NONE "none"
#define KEYFILE_ENCRYPTION_ARGON2ID "argon2id-xchacha20poly1305"

#define KEYFILE_SALT_LEN crypto_pwhash_argon2id_SALTBYTES
#define KEYFILE_NONCE_LEN crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define KEYFILE_KEY_LEN crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define KEYFILE_SEALED_SEED_LEN                                                \
    (IDENTITY_SEED_LEN + crypto_aead_xchacha20poly1305_ietf_ABYTES)

/* Bounds on the recorded Argon2id cost, so that a hostile file cannot make
 * loading use unbounded memory or time. libsodium's "sensitive" limits
 * (4 passes, 1 GiB) are the most a legitimate file asks for. */
#define KEYFILE_OPSLIMIT_MIN crypto_pwhash_argon2id_OPSLIMIT_MIN
#define KEYFILE_OPSLIMIT_MAX 16u
#define KEYFILE_MEMLIMIT_MIN crypto_pwhash_argon2id_MEMLIMIT_MIN
#define KEYFILE_MEMLIMIT_MAX (1024u * 1024u * 1024u)

/* The parsed or to-be-written content of a key file. Holds the seed:
 * wipe with sodium_memzero() after use. */
struct keyfile {
    bool encrypted;
    uint8_t public_key[TS_PUBLIC_KEY_LEN];
    uint8_t seed[IDENTITY_SEED_LEN]; /* clear files; decrypted into for others */
    uint64_t opslimit;
    uint64_t memlimit;
    uint8_t salt[KEYFILE_SALT_LEN];
    uint8_t nonce[KEYFILE_NONCE_LEN];
    uint8_t sealed_seed[KEYFILE_SEALED_SEED_LEN];
    size_t ad_len; /* parse only: length of the text before the last line */
};

/*
 * Write every line of kf but the last (the one holding the seed) into out,
 * capacity cap; *len is set to the bytes written. For an encrypted file
 * these bytes are the AEAD's additional data. 0 or TS_ERR_TOO_LARGE.
 */
int keyfile_format_head(const struct keyfile *kf, char *out, size_t cap, size_t *len);

/* Write the last line (seed or encrypted-seed). 0 or TS_ERR_TOO_LARGE. */
int keyfile_format_secret(const struct keyfile *kf, char *out, size_t cap,
                          size_t *len);

/*
 * Parse the len bytes of text into kf, strictly. path only names the file
 * in error details. 0, TS_ERR_VERSION (another format version) or
 * TS_ERR_MALFORMED (the detail names the line).
 */
int keyfile_parse(const char *path, const char *text, size_t len, struct keyfile *kf);

/*
 * Replace path atomically with len bytes of data: a temporary file in the
 * same directory (mode 0600), fsync, rename, fsync of the directory. 0 or
 * TS_ERR_IO with a detail naming the file and the reason.
 */
int keyfile_write_atomic(const char *path, const void *data, size_t len);

/*
 * Read the whole file at path into buf (capacity cap). With
 * require_private, a file that group or others can access is refused with
 * TS_ERR_PERMISSIONS. 0, TS_ERR_NOT_FOUND, TS_ERR_PERMISSIONS,
 * TS_ERR_MALFORMED (not a regular file, or larger than cap) or TS_ERR_IO.
 */
int keyfile_read(const char *path, bool require_private, char *buf, size_t cap,
                 size_t *len);

/*
 * ts_identity_save() with explicit Argon2id limits (within the bounds
 * above), so tests can write encrypted files cheaply.
 */
int keyfile_save(const ts_identity *id, const char *path, const char *passphrase,
                 uint64_t opslimit, uint64_t memlimit);

#endif /* TS_IDENTITY_KEYFILE_H */
