/*
 * The TLS client transport: OpenSSL driven without blocking over the
 * plain TCP transport (tls/bio.h), checked by tls/verify.h.
 */
#include "net/tls.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "net/tcp.h"
#include "tls/bio.h"
#include "tls/client_ctx.h"
#include "tls/ossl_error.h"
#include "tls/verify.h"
#include "util/clock.h"
#include "util/error.h"

struct tls_transport {
    struct transport base;
    struct transport *inner;  /* the TCP transport; owns the socket */
    SSL *ssl;
    BIO *bio;                 /* owned by ssl */
    struct tls_verify verify; /* referenced by ssl's callbacks */
    bool established;         /* handshake done and checked */
    short handshake_events;   /* what the handshake waits for */
    short read_events;        /* POLLOUT while a read waits to write */
    short write_events;       /* what a write that took nothing waits for */
    bool shutdown_pending;    /* close_notify not completely written yet */
    bool shut;                /* our direction is closed */
    int failed;               /* sticky error; TS_OK while usable */
    char failed_detail[ERROR_DETAIL_MAX];
};

static const struct transport_ops tls_ops;

static struct tls_transport *tls_of(struct transport *t)
{
    return (struct tls_transport *)t;
}

static const struct tls_transport *tls_of_const(const struct transport *t)
{
    return (const struct tls_transport *)t;
}

/* After OpenSSL failed on a connection nothing more may be done with it
 * (not even a close_notify), so the error stays. */
static int fail(struct tls_transport *tt, int rc)
{
    tt->failed = rc;
    snprintf(tt->failed_detail, sizeof(tt->failed_detail), "%s", ts_error_detail(rc));
    return rc;
}

static int sticky(const struct tls_transport *tt)
{
    return error_set(tt->failed, "%s", tt->failed_detail);
}

/* Before each OpenSSL call: SSL_get_error() reads the thread's error
 * queue, so an old entry would misreport the call's outcome. */
static void call_begin(struct tls_transport *tt)
{
    ERR_clear_error();
    tls_bio_clear_error(tt->bio);
}

static int explain(struct tls_transport *tt, bool in_handshake)
{
    char detail[ERROR_DETAIL_MAX] = "";
    int bio_rc = tls_bio_error(tt->bio, detail, sizeof(detail));

    return tls_verify_explain(&tt->verify, bio_rc, detail, in_handshake);
}

/* Advance the handshake. 0 while it waits (handshake_events says for
 * what) or once done (established), else the sticky failure. */
static int handshake_step(struct tls_transport *tt)
{
    int r, rc;

    if (tt->failed != TS_OK)
        return sticky(tt);
    if (tt->established)
        return TS_OK;
    call_begin(tt);
    r = SSL_connect(tt->ssl);
    if (r == 1) {
        if ((rc = tls_verify_finished(&tt->verify, tt->ssl)) != TS_OK)
            return fail(tt, rc);
        tt->established = true;
        return TS_OK;
    }
    switch (SSL_get_error(tt->ssl, r)) {
    case SSL_ERROR_WANT_READ:
        tt->handshake_events = POLLIN;
        return TS_OK;
    case SSL_ERROR_WANT_WRITE:
        tt->handshake_events = POLLOUT;
        return TS_OK;
    default:
        return fail(tt, explain(tt, true));
    }
}

/* Write the rest of a close_notify, then end the TCP direction too, so a
 * proxy in between sees the end as well. */
static int shutdown_flush(struct tls_transport *tt)
{
    char detail[ERROR_DETAIL_MAX];
    int r, rc;

    call_begin(tt);
    r = SSL_shutdown(tt->ssl);
    if (r >= 0) {
        tt->shutdown_pending = false;
        tt->shut = true;
        return transport_shutdown_write(tt->inner);
    }
    switch (SSL_get_error(tt->ssl, r)) {
    case SSL_ERROR_WANT_WRITE:
    case SSL_ERROR_WANT_READ:
        tt->shutdown_pending = true;
        return TS_OK;
    default:
        rc = explain(tt, false);
        /* error_set() writes the buffer the detail is in: copy it first. */
        snprintf(detail, sizeof(detail), "%s", ts_error_detail(rc));
        return error_set(TS_ERR_IO, "shutdown of %s: %s", tt->base.peer, detail);
    }
}

static int tls_read(struct transport *t, void *buf, size_t cap, size_t *n)
{
    struct tls_transport *tt = tls_of(t);
    int rc;

    *n = 0;
    if ((rc = handshake_step(tt)) != TS_OK || !tt->established)
        return rc;
    if (tt->shutdown_pending && (rc = shutdown_flush(tt)) != TS_OK)
        return rc;
    call_begin(tt);
    tt->read_events = 0;
    if (SSL_read_ex(tt->ssl, buf, cap, n) == 1)
        return TS_OK;
    *n = 0;
    switch (SSL_get_error(tt->ssl, 0)) {
    case SSL_ERROR_WANT_READ:
        return TS_OK;
    case SSL_ERROR_WANT_WRITE:
        tt->read_events = POLLOUT;
        return TS_OK;
    case SSL_ERROR_ZERO_RETURN:
        /* close_notify: the server ended its direction cleanly. */
        return error_set(TS_ERR_CLOSED, "%s closed the connection", t->peer);
    default:
        return fail(tt, explain(tt, false));
    }
}

static int tls_write(struct transport *t, const void *buf, size_t len, size_t *n)
{
    struct tls_transport *tt = tls_of(t);
    int rc;

    *n = 0;
    if ((rc = handshake_step(tt)) != TS_OK || !tt->established)
        return rc;
    if (tt->shut || tt->shutdown_pending)
        return error_set(TS_ERR_STATE, "write to %s after its shutdown", t->peer);
    if (len == 0)
        return TS_OK;
    call_begin(tt);
    tt->write_events = 0;
    if (SSL_write_ex(tt->ssl, buf, len, n) == 1)
        return TS_OK;
    *n = 0;
    switch (SSL_get_error(tt->ssl, 0)) {
    case SSL_ERROR_WANT_WRITE:
        tt->write_events = POLLOUT;
        return TS_OK;
    case SSL_ERROR_WANT_READ:
        tt->write_events = POLLIN;
        return TS_OK;
    default:
        rc = explain(tt, false);
        /* A peer that hung up may have said why first (an alert a read
         * will find), so a broken pipe does not end the connection. */
        return rc == TS_ERR_CLOSED ? rc : fail(tt, rc);
    }
}

static int tls_shutdown_write(struct transport *t)
{
    struct tls_transport *tt = tls_of(t);

    if (tt->shut || tt->shutdown_pending)
        return TS_OK;
    /* Without a working TLS session there is no close_notify to send. */
    if (!tt->established || tt->failed != TS_OK) {
        tt->shut = true;
        return transport_shutdown_write(tt->inner);
    }
    return shutdown_flush(tt);
}

static short tls_events(const struct transport *t, bool want_write)
{
    const struct tls_transport *tt = tls_of_const(t);
    short ev;

    /* Either event makes the owner call again and see the error. */
    if (tt->failed != TS_OK)
        return POLLIN | POLLOUT;
    if (!tt->established)
        return tt->handshake_events;
    ev = (short)(POLLIN | tt->read_events);
    if (want_write)
        ev |= tt->write_events != 0 ? tt->write_events : POLLOUT;
    if (tt->shutdown_pending)
        ev |= POLLOUT;
    return ev;
}

/* Decrypted bytes only: a partial record in OpenSSL's buffer needs the
 * socket, and reporting it would make the owner spin. */
static bool tls_pending(const struct transport *t)
{
    const struct tls_transport *tt = tls_of_const(t);

    return tt->established && tt->failed == TS_OK && SSL_pending(tt->ssl) > 0;
}

static int tls_fd(const struct transport *t)
{
    return transport_fd(tls_of_const(t)->inner);
}

static void tls_close(struct transport *t)
{
    struct tls_transport *tt = tls_of(t);

    SSL_free(tt->ssl);
    tls_verify_clear(&tt->verify);
    transport_close(tt->inner);
    free(tt);
}

static const struct transport_ops tls_ops = {
    .name = "tls",
    .read = tls_read,
    .write = tls_write,
    .shutdown_write = tls_shutdown_write,
    .events = tls_events,
    .pending = tls_pending,
    .fd = tls_fd,
    .close = tls_close,
};

int tls_transport_start(const tls_client_ctx *ctx, struct transport *tcp, const char *host,
                        struct transport **out)
{
    struct tls_transport *tt = calloc(1, sizeof(*tt));
    int rc;

    *out = NULL;
    if (tt == NULL) {
        transport_close(tcp);
        return error_set(TS_ERR_NOMEM, "out of memory");
    }
    tt->base.ops = &tls_ops;
    snprintf(tt->base.peer, sizeof(tt->base.peer), "%s", tcp->peer);
    tt->inner = tcp;
    tt->handshake_events = POLLOUT;
    ERR_clear_error();
    if ((tt->ssl = SSL_new(ctx->ssl)) == NULL) {
        rc = tls_ossl_fail(TS_ERR_TLS, "TLS: cannot start a connection to %s", tt->base.peer);
        goto fail;
    }
    if ((rc = tls_bio_new(tt->inner, &tt->bio)) != TS_OK)
        goto fail;
    SSL_set_bio(tt->ssl, tt->bio, tt->bio);
    if ((rc = tls_verify_setup(&tt->verify, tt->ssl, ctx, host, tt->base.peer)) != TS_OK)
        goto fail;
    SSL_set_connect_state(tt->ssl);
    /* The ClientHello goes out now, so the server works on its answer
     * while the owner gets ready; a failure is sticky and the next call
     * reports it. */
    (void)handshake_step(tt);
    *out = &tt->base;
    return TS_OK;
fail:
    tls_close(&tt->base);
    return rc;
}

int tls_transport_handshake(struct transport *t, uint64_t deadline_ms)
{
    struct tls_transport *tt;
    struct pollfd p;
    int rc, timeout;

    if (!tls_transport_is(t))
        return error_set(TS_ERR_INVALID, "not a TLS transport");
    tt = tls_of(t);
    for (;;) {
        if ((rc = handshake_step(tt)) != TS_OK || tt->established)
            return rc;
        if ((timeout = clock_poll_timeout(deadline_ms)) == 0)
            return error_set(TS_ERR_TIMEOUT, "timed out during the TLS handshake with %s",
                             t->peer);
        p.fd = transport_fd(tt->inner);
        p.events = tt->handshake_events;
        p.revents = 0;
        if (poll(&p, 1, timeout) < 0 && errno != EINTR)
            return fail(tt, error_set(TS_ERR_IO, "poll: %s", strerror(errno)));
    }
}

int tls_connect(const tls_client_ctx *ctx, const char *host, uint16_t port,
                uint64_t deadline_ms, struct transport **out, int *os_error)
{
    struct transport *tcp = NULL, *t = NULL;
    int rc;

    *out = NULL;
    if ((rc = tcp_connect(host, port, deadline_ms, &tcp, os_error)) != TS_OK)
        return rc;
    if ((rc = tls_transport_start(ctx, tcp, host, &t)) != TS_OK)
        return rc;
    if ((rc = tls_transport_handshake(t, deadline_ms)) != TS_OK) {
        transport_close(t);
        return rc;
    }
    *out = t;
    return TS_OK;
}

bool tls_transport_is(const struct transport *t)
{
    return t != NULL && t->ops == &tls_ops;
}

bool tls_transport_established(const struct transport *t)
{
    return tls_transport_is(t) && tls_of_const(t)->established &&
           tls_of_const(t)->failed == TS_OK;
}

const char *tls_transport_version(const struct transport *t)
{
    return tls_transport_established(t) ? SSL_get_version(tls_of_const(t)->ssl) : NULL;
}

const char *tls_transport_cipher(const struct transport *t)
{
    return tls_transport_established(t) ? SSL_get_cipher_name(tls_of_const(t)->ssl) : NULL;
}

int tls_transport_peer_pin(const struct transport *t, char out[TLS_PIN_MAX])
{
    const struct tls_transport *tt;
    const X509 *cert;

    out[0] = '\0';
    if (!tls_transport_is(t))
        return error_set(TS_ERR_INVALID, "not a TLS transport");
    tt = tls_of_const(t);
    cert = tt->verify.leaf != NULL ? tt->verify.leaf : SSL_get0_peer_certificate(tt->ssl);
    if (cert == NULL)
        return error_set(TS_ERR_NOT_FOUND, "%s has not sent a certificate", t->peer);
    return tls_pin_of_cert(cert, out);
}
