/*
 * The server's TLS context: certificate chain, key, client-certificate CA
 * and protocol settings, built with OpenSSL from the configuration.
 *
 * A reload builds a fresh context and swaps it in only if everything in it
 * loaded; new connections take the current context, established ones keep
 * the one they started with (each SSL holds a reference to its own).
 */
#ifndef TS_SERVER_TLS_SERVER_H
#define TS_SERVER_TLS_SERVER_H

#include <pthread.h>

#include <openssl/ssl.h>
#include <tcpseal/server.h>

/* Defaults: only AEAD suites with forward secrecy. */
#define SERVER_TLS_SUITES \
    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"
#define SERVER_TLS_CIPHERS                                                     \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                     \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"                     \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"

struct tls_server {
    pthread_mutex_t lock; /* guards ctx against a swap during SSL_new */
    SSL_CTX *ctx;
};

/* Build the first context. 0, or TS_ERR_TLS with a detail naming the file
 * and OpenSSL's reason. */
int tls_server_init(struct tls_server *t, const ts_server_config *cfg);

/* Build a fresh context and swap it in; on failure the old one stays. */
int tls_server_reload(struct tls_server *t, const ts_server_config *cfg);

/* A new SSL for an accepted connection, or NULL. */
SSL *tls_server_new_ssl(struct tls_server *t);

void tls_server_free(struct tls_server *t);

/* The client certificate's subject common name, when the peer presented a
 * certificate that verified: 0 and out filled, or TS_ERR_NOT_FOUND. */
int tls_peer_common_name(SSL *ssl, char *out, size_t cap);

#endif /* TS_SERVER_TLS_SERVER_H */
