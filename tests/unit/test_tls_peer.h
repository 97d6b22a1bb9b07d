/*
 * A TLS server for tests, built from OpenSSL alone (no tcpseal code), so
 * the client transport is checked against an independent peer: it runs
 * on a thread of the test over one end of a socketpair (or one accepted
 * loopback connection), does a blocking SSL_accept and echoes what it
 * reads until the client closes. Results are read after peer_join().
 */
#ifndef TS_TEST_TLS_PEER_H
#define TS_TEST_TLS_PEER_H

#include "support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

/* How long the peer waits for the client at most: a guard against a
 * broken test hanging, never a wait for readiness. */
#define PEER_IO_TIMEOUT_S 10

enum peer_mode {
    PEER_TLS,        /* TLS, echo until the client closes */
    PEER_PLAIN,      /* read the ClientHello, answer with plain text, close */
    PEER_HANG_UP,    /* read the ClientHello, close */
    PEER_SILENT,     /* read the ClientHello, then wait for the client to go */
};

struct peer_config {
    const char *cert;       /* chain file */
    const char *key;
    const char *ca;         /* trusted for client certificates */
    bool require_client;    /* ask for a client certificate and require it */
    int max_version;        /* 0 = OpenSSL's newest */
    enum peer_mode mode;
};

struct peer {
    struct peer_config cfg;
    SSL_CTX *ctx;           /* made on the test's thread, where asserts work */
    int fd;                 /* the peer's socket, or the listener */
    bool listening;
    uint16_t port;          /* with a listener */
    pthread_t thread;
    /* Results. */
    bool accepted;
    char client_cn[64];
    size_t echoed;
    bool got_close_notify;
};

static inline SSL_CTX *peer_ctx(const struct peer_config *cfg)
{
    SSL_CTX *ctx;

    if (cfg->mode != PEER_TLS)
        return NULL;
    ctx = SSL_CTX_new(TLS_server_method());

    assert_non_null(ctx);
    assert_int_equal(SSL_CTX_use_certificate_chain_file(ctx, cfg->cert), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey_file(ctx, cfg->key, SSL_FILETYPE_PEM), 1);
    if (cfg->max_version != 0)
        assert_int_equal(SSL_CTX_set_max_proto_version(ctx, cfg->max_version), 1);
    if (cfg->require_client) {
        assert_int_equal(SSL_CTX_load_verify_locations(ctx, cfg->ca, NULL), 1);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    return ctx;
}

static inline void peer_serve_tls(struct peer *p, int fd)
{
    SSL *ssl = SSL_new(p->ctx);
    char buf[16384];
    X509 *cert;
    int n;

    if (ssl == NULL || SSL_set_fd(ssl, fd) != 1)
        goto done;
    if (SSL_accept(ssl) != 1)
        goto done;
    p->accepted = true;
    cert = SSL_get0_peer_certificate(ssl);
    if (cert != NULL)
        X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, p->client_cn,
                                  sizeof(p->client_cn));
    while ((n = SSL_read(ssl, buf, sizeof(buf))) > 0) {
        if (SSL_write(ssl, buf, n) != n)
            goto done;
        p->echoed += (size_t)n;
    }
    if (SSL_get_error(ssl, n) == SSL_ERROR_ZERO_RETURN) {
        p->got_close_notify = true;
        SSL_shutdown(ssl);
    }
done:
    SSL_free(ssl);
    ERR_clear_error();
}

static inline void *peer_main(void *arg)
{
    struct peer *p = arg;
    struct timeval tv = {.tv_sec = PEER_IO_TIMEOUT_S};
    static const char plain[] = "TCPSEAL/1 this is not TLS at all, sorry\r\n";
    char buf[4096];
    int fd = p->fd;

    if (p->listening) {
        struct pollfd pl = {.fd = p->fd, .events = POLLIN};
        if (poll(&pl, 1, PEER_IO_TIMEOUT_S * 1000) != 1 ||
            (fd = accept(p->fd, NULL, NULL)) < 0) {
            close(p->fd);
            return NULL;
        }
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    switch (p->cfg.mode) {
    case PEER_TLS:
        peer_serve_tls(p, fd);
        break;
    case PEER_PLAIN:
        if (read(fd, buf, sizeof(buf)) > 0 && write(fd, plain, sizeof(plain) - 1) > 0)
            p->echoed = sizeof(plain) - 1;
        break;
    case PEER_HANG_UP:
        (void)!read(fd, buf, sizeof(buf));
        break;
    case PEER_SILENT:
        while (read(fd, buf, sizeof(buf)) > 0)
            ;
        break;
    }
    close(fd);
    if (p->listening)
        close(p->fd);
    return NULL;
}

/* Start a peer on a socketpair; *client_fd is the client's end. */
static inline void peer_start(struct peer *p, const struct peer_config *cfg, int *client_fd)
{
    int sv[2];

    memset(p, 0, sizeof(*p));
    p->cfg = *cfg;
    p->ctx = peer_ctx(cfg);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    p->fd = sv[1];
    *client_fd = sv[0];
    assert_int_equal(pthread_create(&p->thread, NULL, peer_main, p), 0);
}

/* Start a peer that accepts one connection on 127.0.0.1 (p->port). */
static inline void peer_listen(struct peer *p, const struct peer_config *cfg)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);

    memset(p, 0, sizeof(*p));
    p->cfg = *cfg;
    p->ctx = peer_ctx(cfg);
    p->listening = true;
    p->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(p->fd >= 0);
    assert_int_equal(bind(p->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(p->fd, 1), 0);
    assert_int_equal(getsockname(p->fd, (struct sockaddr *)&sa, &len), 0);
    p->port = ntohs(sa.sin_port);
    assert_int_equal(pthread_create(&p->thread, NULL, peer_main, p), 0);
}

static inline void peer_join(struct peer *p)
{
    assert_int_equal(pthread_join(p->thread, NULL), 0);
    SSL_CTX_free(p->ctx);
}

#endif /* TS_TEST_TLS_PEER_H */
