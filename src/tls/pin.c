#include "tls/pin.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "tls/ossl_error.h"
#include "util/error.h"

int tls_pin_digest(const X509 *cert, uint8_t out[TLS_PIN_DIGEST_LEN])
{
    unsigned char *der = NULL;
    unsigned int len = 0;
    int der_len, rc = TS_OK;

    ERR_clear_error();
    der_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
    if (der_len <= 0) {
        rc = tls_ossl_fail(TS_ERR_TLS, "TLS: cannot encode the certificate's public key");
        goto done;
    }
    if (EVP_Digest(der, (size_t)der_len, out, &len, EVP_sha256(), NULL) != 1 ||
        len != TLS_PIN_DIGEST_LEN) {
        rc = tls_ossl_fail(TS_ERR_TLS, "TLS: cannot hash the certificate's public key");
        goto done;
    }
done:
    OPENSSL_free(der);
    return rc;
}

void tls_pin_format(const uint8_t digest[TLS_PIN_DIGEST_LEN], char out[TLS_PIN_MAX])
{
    memcpy(out, TLS_PIN_PREFIX, TLS_PIN_PREFIX_LEN);
    /* Cannot fail: the output room is exactly the encoded length. */
    sodium_bin2base64(out + TLS_PIN_PREFIX_LEN, TLS_PIN_B64_LEN + 1, digest,
                      TLS_PIN_DIGEST_LEN, sodium_base64_VARIANT_ORIGINAL);
}

int tls_pin_of_cert(const X509 *cert, char out[TLS_PIN_MAX])
{
    uint8_t digest[TLS_PIN_DIGEST_LEN];
    int rc;

    out[0] = '\0';
    if ((rc = tls_pin_digest(cert, digest)) != TS_OK)
        return rc;
    tls_pin_format(digest, out);
    return TS_OK;
}

int tls_pin_of_cert_file(const char *path, char out[TLS_PIN_MAX])
{
    FILE *f = fopen(path, "r");
    X509 *cert = NULL;
    int rc;

    out[0] = '\0';
    if (f == NULL) {
        return error_set(errno == ENOENT ? TS_ERR_NOT_FOUND : TS_ERR_IO,
                         "cannot read '%s': %s", path, strerror(errno));
    }
    ERR_clear_error();
    cert = PEM_read_X509(f, NULL, NULL, NULL);
    if (cert == NULL)
        rc = tls_ossl_fail(TS_ERR_TLS, "TLS: no certificate in '%s'", path);
    else
        rc = tls_pin_of_cert(cert, out);
    X509_free(cert);
    fclose(f);
    return rc;
}

int tls_pin_parse(const char *text, uint8_t out[TLS_PIN_DIGEST_LEN])
{
    const char *b64, *end = NULL;
    size_t len = 0;

    if (text == NULL || strncasecmp(text, TLS_PIN_PREFIX, TLS_PIN_PREFIX_LEN) != 0)
        return error_set(TS_ERR_INVALID, "a pin is '%sBASE64' (the SHA-256 of the "
                         "server's public key)", TLS_PIN_PREFIX);
    b64 = text + TLS_PIN_PREFIX_LEN;
    if (strlen(b64) != TLS_PIN_B64_LEN ||
        sodium_base642bin(out, TLS_PIN_DIGEST_LEN, b64, TLS_PIN_B64_LEN, NULL, &len, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        len != TLS_PIN_DIGEST_LEN || end != b64 + TLS_PIN_B64_LEN)
        return error_set(TS_ERR_INVALID, "pin '%.60s' is not a padded base64 SHA-256 "
                         "digest (44 characters after '%s')", text, TLS_PIN_PREFIX);
    return TS_OK;
}
