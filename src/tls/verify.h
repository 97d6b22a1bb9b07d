/*
 * Checking the server during a TLS client handshake, and saying exactly
 * why a handshake or connection failed.
 *
 * OpenSSL verifies the chain, the dates and the name; what it does not
 * give is a reason a user can act on. The callbacks here record what the
 * handshake showed — the server's certificate, the first verification
 * error and the certificate it concerned, the fatal alert the server
 * sent, whether it asked for a client certificate — and check the SPKI
 * pin, so that tls_verify_explain() turns a failure into one specific
 * TS_ERR_TLS detail.
 */
#ifndef TS_TLS_VERIFY_H
#define TS_TLS_VERIFY_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "net/tls.h"
#include "net/address.h"
#include "tls/client_ctx.h"

/* Room for a name or date quoted in a message. */
#define TLS_VERIFY_TEXT_MAX 80
#define TLS_NO_ALERT (-1)

struct tls_verify {
    /* What this connection expects. */
    char name[TLS_SERVER_NAME_MAX + 1]; /* the server name checked */
    char peer[NET_HOSTPORT_MAX];        /* host:port, for messages */
    bool has_pin;
    uint8_t pin[TLS_PIN_DIGEST_LEN];
    bool has_cert;                      /* we can send a client certificate */
    int min_version;
    /* What the handshake showed. */
    X509 *leaf;                         /* the server's certificate (a reference) */
    bool pin_failed;
    int fail_error;                     /* first X509_V_ERR_*, or X509_V_OK */
    int fail_depth;
    char fail_subject[TLS_VERIFY_TEXT_MAX]; /* CN of the certificate it concerned */
    char fail_issuer[TLS_VERIFY_TEXT_MAX];  /* ... and of its issuer */
    char fail_time[TLS_VERIFY_TEXT_MAX];    /* its notAfter (expired) or notBefore */
    bool cert_requested;                /* the server sent CertificateRequest */
    int alert;                          /* fatal alert received, or TLS_NO_ALERT */
};

/*
 * Prepare v and ssl for a connection to host (or ctx's server name) at
 * peer: SNI for a DNS name, the name or IP address to check, peer
 * verification with the recording callbacks. v must stay at its address
 * while ssl lives. 0, TS_ERR_INVALID (no usable name) or TS_ERR_TLS.
 */
int tls_verify_setup(struct tls_verify *v, SSL *ssl, const tls_client_ctx *ctx,
                     const char *host, const char *peer);

/* After a completed handshake: the pin once more against the certificate
 * the session holds (a resumed session runs no verification callback).
 * 0 or TS_ERR_TLS. */
int tls_verify_finished(struct tls_verify *v, SSL *ssl);

/*
 * Turn a failed SSL_connect/SSL_read/SSL_write into an error: the
 * specific check or alert behind it, else the transport's error (bio_rc
 * with bio_detail), else OpenSSL's reason. in_handshake picks the words.
 * Returns TS_ERR_TLS, TS_ERR_CLOSED (the server hung up without an
 * alert), or bio_rc. Clears OpenSSL's error queue.
 */
int tls_verify_explain(const struct tls_verify *v, int bio_rc, const char *bio_detail,
                       bool in_handshake);

/* Release what v holds. */
void tls_verify_clear(struct tls_verify *v);

#endif /* TS_TLS_VERIFY_H */
