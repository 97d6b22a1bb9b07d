/*
 * The layout of a TLS client context (net/tls.h), shared by the code that
 * builds it (client_ctx.c) and the transport that uses it (net/tls.c).
 */
#ifndef TS_TLS_CLIENT_CTX_H
#define TS_TLS_CLIENT_CTX_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "net/tls.h"

struct tls_client_ctx {
    /* CA store, client certificate and key, versions and ciphers. Each
     * SSL made from it holds its own reference. */
    SSL_CTX *ssl;
    char *server_name;   /* configured name, or NULL for the host */
    bool has_pin;
    uint8_t pin[TLS_PIN_DIGEST_LEN];
    bool has_cert;       /* a client certificate is configured */
    int min_version;
};

#endif /* TS_TLS_CLIENT_CTX_H */
