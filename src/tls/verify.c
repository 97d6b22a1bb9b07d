/*
 * Per-connection checks of the server (verify.h): name, pin and the
 * callbacks that record what the handshake showed.
 */
#include "tls/verify.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/x509v3.h>

#include "tls/ossl_error.h"
#include "util/error.h"

/* A certificate's common name, or its whole subject when it has none. */
static void name_text(const X509_NAME *name, char *out, size_t cap)
{
    out[0] = '\0';
    if (name == NULL)
        return;
    if (X509_NAME_get_text_by_NID(name, NID_commonName, out, (int)cap) <= 0 &&
        X509_NAME_oneline(name, out, (int)cap) == NULL)
        out[0] = '\0';
}

static void time_text(const ASN1_TIME *t, char *out, size_t cap)
{
    struct tm tm;

    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1 ||
        strftime(out, cap, "%Y-%m-%d %H:%M UTC", &tm) == 0)
        snprintf(out, cap, "an unreadable date");
}

/* The first verification failure is the one to explain; later ones
 * (OpenSSL stops at the first anyway) only follow from it. */
static void record_failure(struct tls_verify *v, X509_STORE_CTX *xs)
{
    X509 *cert = X509_STORE_CTX_get_current_cert(xs);
    int err = X509_STORE_CTX_get_error(xs);

    if (v->fail_error != X509_V_OK)
        return;
    v->fail_error = err;
    v->fail_depth = X509_STORE_CTX_get_error_depth(xs);
    if (cert == NULL)
        return;
    name_text(X509_get_subject_name(cert), v->fail_subject, sizeof(v->fail_subject));
    name_text(X509_get_issuer_name(cert), v->fail_issuer, sizeof(v->fail_issuer));
    if (err == X509_V_ERR_CERT_NOT_YET_VALID)
        time_text(X509_get0_notBefore(cert), v->fail_time, sizeof(v->fail_time));
    else
        time_text(X509_get0_notAfter(cert), v->fail_time, sizeof(v->fail_time));
}

static bool pin_matches(const struct tls_verify *v, const X509 *cert)
{
    uint8_t digest[TLS_PIN_DIGEST_LEN];

    return tls_pin_digest(cert, digest) == TS_OK &&
           CRYPTO_memcmp(digest, v->pin, sizeof(digest)) == 0;
}

/*
 * Called by OpenSSL for each certificate of the chain, with ok saying
 * whether its own checks passed. The final call for the server's own
 * certificate (depth 0, ok) comes after every chain, name and date check
 * succeeded: that is where the pin is added, so a pin never replaces the
 * chain, and a failure aborts the handshake before a client certificate
 * is sent.
 */
static int verify_cb(int ok, X509_STORE_CTX *xs)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct tls_verify *v = ssl != NULL ? SSL_get_app_data(ssl) : NULL;
    X509 *leaf = X509_STORE_CTX_get0_cert(xs);

    if (v == NULL)
        return 0;
    if (v->leaf == NULL && leaf != NULL && X509_up_ref(leaf) == 1)
        v->leaf = leaf;
    if (!ok) {
        record_failure(v, xs);
        return 0;
    }
    if (X509_STORE_CTX_get_error_depth(xs) == 0 && v->has_pin &&
        !pin_matches(v, X509_STORE_CTX_get_current_cert(xs))) {
        v->pin_failed = true;
        X509_STORE_CTX_set_error(xs, X509_V_ERR_APPLICATION_VERIFICATION);
        return 0;
    }
    return 1;
}

/* Watches what the server sends: its fatal alert, and whether it asked
 * for a client certificate (both explain failures OpenSSL reports only as
 * "alert received"). Handshake messages arrive here decrypted. */
static void msg_cb(int write_p, int version, int content_type, const void *buf, size_t len,
                   SSL *ssl, void *arg)
{
    struct tls_verify *v = arg;
    const unsigned char *p = buf;

    if (write_p || len < 1)
        return;
    if (content_type == SSL3_RT_ALERT && len >= 2 && p[0] == SSL3_AL_FATAL &&
        v->alert == TLS_NO_ALERT)
        v->alert = p[1];
    else if (content_type == SSL3_RT_HANDSHAKE && p[0] == SSL3_MT_CERTIFICATE_REQUEST)
        v->cert_requested = true;
}

/* name without the brackets of an IPv6 literal ("[::1]"). */
static int name_copy(struct tls_verify *v, const char *name)
{
    size_t len = name != NULL ? strlen(name) : 0;

    if (len >= 2 && name[0] == '[' && name[len - 1] == ']') {
        name++;
        len -= 2;
    }
    if (len == 0 || len > TLS_SERVER_NAME_MAX)
        return error_set(TS_ERR_INVALID, "TLS: no server name to check the certificate "
                         "against (set --servername NAME)");
    memcpy(v->name, name, len);
    v->name[len] = '\0';
    return TS_OK;
}

static bool is_ip_literal(const char *name)
{
    unsigned char addr[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1;
}

static int name_setup(struct tls_verify *v, SSL *ssl)
{
    /* An IP address is matched against IP subjectAltNames only, and is
     * never sent as SNI (RFC 6066 section 3 allows host names only). */
    if (is_ip_literal(v->name)) {
        if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), v->name) != 1)
            return tls_ossl_fail(TS_ERR_TLS, "TLS: cannot check the address %s", v->name);
        return TS_OK;
    }
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (SSL_set_tlsext_host_name(ssl, v->name) != 1 || SSL_set1_host(ssl, v->name) != 1)
        return tls_ossl_fail(TS_ERR_TLS, "TLS: cannot use the server name '%.80s'", v->name);
    return TS_OK;
}

int tls_verify_setup(struct tls_verify *v, SSL *ssl, const tls_client_ctx *ctx,
                     const char *host, const char *peer)
{
    int rc;

    memset(v, 0, sizeof(*v));
    v->fail_error = X509_V_OK;
    v->alert = TLS_NO_ALERT;
    v->has_pin = ctx->has_pin;
    memcpy(v->pin, ctx->pin, sizeof(v->pin));
    v->has_cert = ctx->has_cert;
    v->min_version = ctx->min_version;
    snprintf(v->peer, sizeof(v->peer), "%s", peer);
    if ((rc = name_copy(v, ctx->server_name != NULL ? ctx->server_name : host)) != TS_OK ||
        (rc = name_setup(v, ssl)) != TS_OK)
        return rc;
    if (SSL_set_app_data(ssl, v) != 1)
        return tls_ossl_fail(TS_ERR_TLS, "TLS: cannot attach the verification state");
    SSL_set_verify(ssl, SSL_VERIFY_PEER, verify_cb);
    SSL_set_msg_callback(ssl, msg_cb);
    SSL_set_msg_callback_arg(ssl, v);
    return TS_OK;
}

int tls_verify_finished(struct tls_verify *v, SSL *ssl)
{
    X509 *cert = SSL_get0_peer_certificate(ssl);

    if (cert == NULL)
        return error_set(TS_ERR_TLS, "TLS: %s sent no certificate", v->peer);
    if (v->leaf == NULL && X509_up_ref(cert) == 1)
        v->leaf = cert;
    if (v->has_pin && !pin_matches(v, cert)) {
        v->pin_failed = true;
        return tls_verify_explain(v, TS_OK, NULL, true);
    }
    return TS_OK;
}

void tls_verify_clear(struct tls_verify *v)
{
    X509_free(v->leaf);
    v->leaf = NULL;
}
