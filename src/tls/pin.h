/*
 * SPKI pins: "sha256//" followed by the standard base64 (with padding) of
 * the SHA-256 of a certificate's DER SubjectPublicKeyInfo — the form curl
 * and HPKP use. A pin names a key, not a certificate, so it survives
 * re-issuing the certificate for the same key, and it is what
 *
 *   openssl x509 -in server.crt -pubkey -noout | openssl pkey -pubin \
 *     -outform der | openssl dgst -sha256 -binary | base64
 *
 * prints after the prefix.
 */
#ifndef TS_TLS_PIN_H
#define TS_TLS_PIN_H

#include <stdint.h>

#include <openssl/x509.h>

#define TLS_PIN_PREFIX "sha256//"
#define TLS_PIN_PREFIX_LEN 8
#define TLS_PIN_DIGEST_LEN 32
/* Base64 of 32 bytes is 44 characters with padding. */
#define TLS_PIN_B64_LEN 44
/* A pin string with its NUL. */
#define TLS_PIN_MAX (TLS_PIN_PREFIX_LEN + TLS_PIN_B64_LEN + 1)

/* The SHA-256 of cert's DER SubjectPublicKeyInfo. 0 or TS_ERR_TLS. */
int tls_pin_digest(const X509 *cert, uint8_t out[TLS_PIN_DIGEST_LEN]);

/* Format a digest as "sha256//BASE64". */
void tls_pin_format(const uint8_t digest[TLS_PIN_DIGEST_LEN], char out[TLS_PIN_MAX]);

/* The pin string of cert. 0 or TS_ERR_TLS. */
int tls_pin_of_cert(const X509 *cert, char out[TLS_PIN_MAX]);

/*
 * The pin of the first certificate in a PEM file (a chain file names its
 * leaf first). 0, TS_ERR_NOT_FOUND (no such file), TS_ERR_IO, or
 * TS_ERR_TLS (no certificate in it); the detail names the file.
 */
int tls_pin_of_cert_file(const char *path, char out[TLS_PIN_MAX]);

/*
 * Parse "sha256//BASE64" into its digest. The prefix is matched without
 * regard to case; the base64 must be exactly one padded 32-byte digest.
 * 0 or TS_ERR_INVALID with a detail saying what is wrong.
 */
int tls_pin_parse(const char *text, uint8_t out[TLS_PIN_DIGEST_LEN]);

#endif /* TS_TLS_PIN_H */
