#include "identity/keyfile.h"

#include <inttypes.h>
#include <string.h>

#include "util/crypto_init.h"
#include "util/error.h"

#define MIB (1024u * 1024u)

/* Passphrase to file key. Argon2id's only failure is memory. */
static int derive_key(const char *path, const char *passphrase, const struct keyfile *kf,
                      uint8_t key[KEYFILE_KEY_LEN])
{
    if (crypto_pwhash(key, KEYFILE_KEY_LEN, passphrase, strlen(passphrase), kf->salt,
                      kf->opslimit, (size_t)kf->memlimit,
                      crypto_pwhash_ALG_ARGON2ID13) != 0)
        return error_set(TS_ERR_NOMEM,
                         "Argon2id for '%s' could not get %" PRIu64 " MiB of memory",
                         path, kf->memlimit / MIB);
    return TS_OK;
}

/* Fill the encryption parameters of kf, derive the file key and seal the
 * seed under the head text as additional data. */
static int seal_seed(const char *path, const char *passphrase, struct keyfile *kf,
                     const char *head, size_t head_len)
{
    uint8_t key[KEYFILE_KEY_LEN];
    int rc;

    if ((rc = derive_key(path, passphrase, kf, key)) == TS_OK)
        crypto_aead_xchacha20poly1305_ietf_encrypt(
            kf->sealed_seed, NULL, kf->seed, sizeof(kf->seed), (const uint8_t *)head,
            head_len, NULL, kf->nonce, key);
    sodium_memzero(key, sizeof(key));
    return rc;
}

int keyfile_save(const ts_identity *id, const char *path, const char *passphrase,
                 uint64_t opslimit, uint64_t memlimit)
{
    struct keyfile kf;
    char text[KEYFILE_MAX_SIZE];
    size_t head_len = 0, secret_len = 0;
    int rc;

    if (id == NULL || path == NULL)
        return error_set(TS_ERR_INVALID, "identity save: no identity or path given");
    if ((rc = crypto_init()) != TS_OK)
        return rc;
    memset(&kf, 0, sizeof(kf));
    memcpy(kf.public_key, id->public_key, sizeof(kf.public_key));
    identity_seed(id, kf.seed);
    if (passphrase != NULL && passphrase[0] != '\0') {
        /* Limits a load would refuse would lock the key out for good. */
        if (opslimit < KEYFILE_OPSLIMIT_MIN || opslimit > KEYFILE_OPSLIMIT_MAX ||
            memlimit < KEYFILE_MEMLIMIT_MIN || memlimit > KEYFILE_MEMLIMIT_MAX) {
            rc = error_set(TS_ERR_INVALID, "Argon2id limits out of bounds for '%s'", path);
            goto done;
        }
        kf.encrypted = true;
        kf.opslimit = opslimit;
        kf.memlimit = memlimit;
        randombytes_buf(kf.salt, sizeof(kf.salt));
        randombytes_buf(kf.nonce, sizeof(kf.nonce));
    }
    if ((rc = keyfile_format_head(&kf, text, sizeof(text), &head_len)) != TS_OK)
        goto done;
    if (kf.encrypted && (rc = seal_seed(path, passphrase, &kf, text, head_len)) != TS_OK)
        goto done;
    if ((rc = keyfile_format_secret(&kf, text + head_len, sizeof(text) - head_len,
                                    &secret_len)) != TS_OK)
        goto done;
    rc = keyfile_write_atomic(path, text, head_len + secret_len);
done:
    if (rc == TS_ERR_TOO_LARGE)
        rc = error_set(TS_ERR_INVALID, "identity file text for '%s' does not fit", path);
    sodium_memzero(&kf, sizeof(kf));
    sodium_memzero(text, sizeof(text));
    return rc;
}

int ts_identity_save(const ts_identity *id, const char *path, const char *passphrase)
{
    return keyfile_save(id, path, passphrase, crypto_pwhash_argon2id_OPSLIMIT_MODERATE,
                        crypto_pwhash_argon2id_MEMLIMIT_MODERATE);
}

/* Recover the seed of an encrypted file into kf->seed. */
static int open_seed(const char *path, const char *passphrase, struct keyfile *kf,
                     const char *text)
{
    uint8_t key[KEYFILE_KEY_LEN];
    int rc;

    if (passphrase == NULL || passphrase[0] == '\0')
        return error_set(TS_ERR_PASSPHRASE,
                         "'%s' is encrypted: a passphrase is needed to load it", path);
    if ((rc = derive_key(path, passphrase, kf, key)) != TS_OK)
        goto done;
    /* A wrong passphrase and an edited file look the same to the AEAD. */
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            kf->seed, NULL, NULL, kf->sealed_seed, sizeof(kf->sealed_seed),
            (const uint8_t *)text, kf->ad_len, kf->nonce, key) != 0)
        rc = error_set(TS_ERR_PASSPHRASE,
                       "wrong passphrase for '%s' (or the file was altered)", path);
done:
    sodium_memzero(key, sizeof(key));
    return rc;
}

int ts_identity_load(ts_identity **out, const char *path, const char *passphrase)
{
    struct keyfile kf;
    char text[KEYFILE_MAX_SIZE];
    size_t len = 0;
    ts_identity *id = NULL;
    int rc;

    if (out == NULL || path == NULL)
        return error_set(TS_ERR_INVALID, "identity load: no output or path given");
    *out = NULL;
    memset(&kf, 0, sizeof(kf));
    if ((rc = crypto_init()) != TS_OK ||
        (rc = keyfile_read(path, true, text, sizeof(text), &len)) != TS_OK ||
        (rc = keyfile_parse(path, text, len, &kf)) != TS_OK)
        goto done;
    if (kf.encrypted && (rc = open_seed(path, passphrase, &kf, text)) != TS_OK)
        goto done;
    if ((rc = ts_identity_from_seed(kf.seed, &id)) != TS_OK)
        goto done;
    if (sodium_memcmp(id->public_key, kf.public_key, sizeof(kf.public_key)) != 0) {
        rc = error_set(TS_ERR_MALFORMED,
                       "'%s': the secret key does not match the recorded public key; "
                       "the file is damaged",
                       path);
        goto done;
    }
    *out = id;
    id = NULL;
done:
    ts_identity_free(id);
    sodium_memzero(&kf, sizeof(kf));
    sodium_memzero(text, sizeof(text));
    return rc;
}

int ts_identity_file_is_encrypted(const char *path)
{
    struct keyfile kf;
    char text[KEYFILE_MAX_SIZE];
    size_t len = 0;
    int encrypted = 0;

    if (path == NULL)
        return 0;
    /* Only asks what the file is; the permission check belongs to load. */
    if (keyfile_read(path, false, text, sizeof(text), &len) == TS_OK &&
        keyfile_parse(path, text, len, &kf) == TS_OK)
        encrypted = kf.encrypted;
    sodium_memzero(&kf, sizeof(kf));
    sodium_memzero(text, sizeof(text));
    return encrypted;
}
