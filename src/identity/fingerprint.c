#include <string.h>

#include <sodium.h>

#include <tcpseal/identity.h>

#include "util/error.h"

#define FINGERPRINT_PREFIX "SHA256:"
#define FINGERPRINT_PREFIX_LEN (sizeof(FINGERPRINT_PREFIX) - 1)
#define FINGERPRINT_B64_VARIANT sodium_base64_VARIANT_ORIGINAL_NO_PADDING
/* 43 characters of unpadded base64 for a 32-byte digest. */
#define FINGERPRINT_B64_LEN                                                    \
    (sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES, FINGERPRINT_B64_VARIANT) - 1)
#define FINGERPRINT_LEN (FINGERPRINT_PREFIX_LEN + FINGERPRINT_B64_LEN)

_Static_assert(FINGERPRINT_LEN + 1 <= TS_FINGERPRINT_MAX,
               "TS_FINGERPRINT_MAX too small for a fingerprint");

/* SHA-256 and base64 need no libsodium initialisation (no CPU dispatch),
 * which lets these return void. */
void ts_fingerprint_of_key(const uint8_t public_key[TS_PUBLIC_KEY_LEN], char *out)
{
    uint8_t digest[crypto_hash_sha256_BYTES];

    if (out == NULL)
        return;
    if (public_key == NULL) {
        out[0] = '\0';
        return;
    }
    crypto_hash_sha256(digest, public_key, TS_PUBLIC_KEY_LEN);
    memcpy(out, FINGERPRINT_PREFIX, FINGERPRINT_PREFIX_LEN);
    sodium_bin2base64(out + FINGERPRINT_PREFIX_LEN,
                      TS_FINGERPRINT_MAX - FINGERPRINT_PREFIX_LEN, digest,
                      sizeof(digest), FINGERPRINT_B64_VARIANT);
}

void ts_identity_fingerprint(const ts_identity *id, char *out)
{
    ts_fingerprint_of_key(ts_identity_public_key(id), out);
}

int ts_fingerprint_validate(const char *text)
{
    uint8_t digest[crypto_hash_sha256_BYTES];
    size_t digest_len = 0;
    const char *end = NULL;

    if (text == NULL || strnlen(text, FINGERPRINT_LEN + 1) != FINGERPRINT_LEN ||
        memcmp(text, FINGERPRINT_PREFIX, FINGERPRINT_PREFIX_LEN) != 0)
        return error_set(TS_ERR_MALFORMED,
                         "a fingerprint is 'SHA256:' followed by %d base64 characters",
                         (int)FINGERPRINT_B64_LEN);
    /* The decoder also rejects characters outside the alphabet and
     * non-zero padding bits, so only the canonical spelling passes. */
    if (sodium_base642bin(digest, sizeof(digest), text + FINGERPRINT_PREFIX_LEN,
                          FINGERPRINT_B64_LEN, NULL, &digest_len, &end,
                          FINGERPRINT_B64_VARIANT) != 0 ||
        digest_len != sizeof(digest) || end != text + FINGERPRINT_LEN)
        return error_set(TS_ERR_MALFORMED,
                         "fingerprint is not valid base64 of a SHA-256 digest");
    return TS_OK;
}
