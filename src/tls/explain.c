/*
 * tls_verify_explain(): one specific reason for a failed TLS handshake or
 * connection (verify.h). The words name the check that failed and, where
 * there is one, what the user can do about it.
 */
#include "tls/verify.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "tls/ossl_error.h"
#include "util/error.h"

/* Room for the names a certificate covers, quoted in a mismatch. */
#define NAMES_TEXT_MAX 120

/* "DNS:a, IP:127.0.0.1, ..." from the subjectAltNames of cert, else its
 * common name. */
static void cert_names(X509 *cert, char *out, size_t cap)
{
    GENERAL_NAMES *names;
    char ip[INET6_ADDRSTRLEN], cn[TLS_VERIFY_TEXT_MAX];
    size_t used = 0;
    int n;

    snprintf(out, cap, "no names");
    if (cert == NULL)
        return;
    names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    n = names != NULL ? sk_GENERAL_NAME_num(names) : 0;
    for (int i = 0; i < n && used < cap; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
        const unsigned char *d;
        int len;

        if (g->type == GEN_DNS) {
            d = ASN1_STRING_get0_data(g->d.dNSName);
            len = ASN1_STRING_length(g->d.dNSName);
            used += (size_t)snprintf(out + used, cap - used, "%sDNS:%.*s", used ? ", " : "",
                                     len, (const char *)d);
        } else if (g->type == GEN_IPADD) {
            len = ASN1_STRING_length(g->d.iPAddress);
            if ((len != 4 && len != 16) ||
                inet_ntop(len == 4 ? AF_INET : AF_INET6,
                          ASN1_STRING_get0_data(g->d.iPAddress), ip, sizeof(ip)) == NULL)
                continue;
            used += (size_t)snprintf(out + used, cap - used, "%sIP:%s", used ? ", " : "", ip);
        }
    }
    GENERAL_NAMES_free(names);
    if (used == 0 &&
        X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn,
                                  sizeof(cn)) > 0)
        snprintf(out, cap, "CN=%s", cn);
}

static int verify_failure(const struct tls_verify *v)
{
    char names[NAMES_TEXT_MAX];

    switch (v->fail_error) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        return error_set(TS_ERR_TLS, "TLS: the server certificate for %s is signed by an "
                         "unknown CA ('%s'; verify with --ca FILE)", v->name, v->fail_issuer);
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        return error_set(TS_ERR_TLS, "TLS: the server certificate for %s is self-signed by "
                         "an unknown CA ('%s'; verify with --ca FILE)", v->name,
                         v->fail_issuer);
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
        cert_names(v->leaf, names, sizeof(names));
        return error_set(TS_ERR_TLS, "TLS: the server certificate is not valid for %s "
                         "(hostname mismatch: it names %s; set --servername NAME)", v->name,
                         names);
    case X509_V_ERR_CERT_HAS_EXPIRED:
        if (v->fail_depth == 0)
            return error_set(TS_ERR_TLS, "TLS: the server certificate for %s expired on %s "
                             "(certificate expired)", v->name, v->fail_time);
        return error_set(TS_ERR_TLS, "TLS: the CA certificate '%s' of %s expired on %s "
                         "(certificate expired)", v->fail_subject, v->name, v->fail_time);
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return error_set(TS_ERR_TLS, "TLS: the certificate '%s' of %s is not valid before %s "
                         "(check the clock)", v->fail_subject, v->name, v->fail_time);
    case X509_V_ERR_INVALID_PURPOSE:
        return error_set(TS_ERR_TLS, "TLS: the certificate '%s' of %s is not meant for a "
                         "server (extendedKeyUsage)", v->fail_subject, v->name);
    default:
        return error_set(TS_ERR_TLS, "TLS: the server certificate for %s did not verify: %s "
                         "(at '%s')", v->name, X509_verify_cert_error_string(v->fail_error),
                         v->fail_subject);
    }
}

static int pin_failure(const struct tls_verify *v)
{
    char seen[TLS_PIN_MAX];

    if (v->leaf == NULL || tls_pin_of_cert(v->leaf, seen) != TS_OK)
        snprintf(seen, sizeof(seen), "unreadable");
    return error_set(TS_ERR_TLS, "TLS: the server key for %s does not match the pin (pin "
                     "mismatch: it is %s)", v->name, seen);
}

static int version_failure(const struct tls_verify *v)
{
    return error_set(TS_ERR_TLS, "TLS: %s does not offer TLS %s or later (protocol version)",
                     v->peer, tls_version_name(v->min_version));
}

static int cert_required(const struct tls_verify *v)
{
    return error_set(TS_ERR_TLS, "TLS: %s requires a client certificate (give --cert FILE "
                     "--key FILE)", v->peer);
}

static int alert_failure(const struct tls_verify *v)
{
    const char *text = SSL_alert_desc_string_long(v->alert);

    switch (v->alert) {
    case SSL_AD_CERTIFICATE_REQUIRED:
        return cert_required(v);
    case SSL_AD_PROTOCOL_VERSION:
        return version_failure(v);
    case SSL_AD_HANDSHAKE_FAILURE:
    case SSL_AD_BAD_CERTIFICATE:
    case SSL_AD_UNSUPPORTED_CERTIFICATE:
    case SSL_AD_CERTIFICATE_REVOKED:
    case SSL_AD_CERTIFICATE_EXPIRED:
    case SSL_AD_CERTIFICATE_UNKNOWN:
    case SSL_AD_UNKNOWN_CA:
    case SSL_AD_ACCESS_DENIED:
        /* TLS 1.2 servers answer a missing client certificate with one of
         * these instead of certificate_required. */
        if (v->cert_requested && !v->has_cert)
            return cert_required(v);
        if (v->cert_requested)
            return error_set(TS_ERR_TLS, "TLS: %s refused our client certificate (%s)",
                             v->peer, text);
        break;
    default:
        break;
    }
    return error_set(TS_ERR_TLS, "TLS: %s ended the connection with the alert '%s'", v->peer,
                     text);
}

/* OpenSSL's own reasons that have better words. */
static int reason_failure(const struct tls_verify *v, int bio_rc, bool in_handshake)
{
    unsigned long e = ERR_peek_error();
    int reason = ERR_GET_LIB(e) == ERR_LIB_SSL ? ERR_GET_REASON(e) : 0;

    switch (reason) {
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
        ERR_clear_error();
        return version_failure(v);
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_PACKET_LENGTH_TOO_LONG:
    case SSL_R_HTTP_REQUEST:
        ERR_clear_error();
        return error_set(TS_ERR_TLS, "TLS: %s did not answer with TLS (is it a plain "
                         "listener?)", v->peer);
    case SSL_R_UNEXPECTED_EOF_WHILE_READING:
        bio_rc = TS_ERR_CLOSED;
        break;
    default:
        break;
    }
    if (bio_rc == TS_ERR_CLOSED) {
        ERR_clear_error();
        return error_set(TS_ERR_CLOSED, "%s closed the connection%s", v->peer,
                         in_handshake ? " during the TLS handshake" : "");
    }
    return tls_ossl_fail(TS_ERR_TLS, in_handshake ? "TLS: handshake with %s failed"
                                                  : "TLS: connection to %s failed", v->peer);
}

int tls_verify_explain(const struct tls_verify *v, int bio_rc, const char *bio_detail,
                       bool in_handshake)
{
    int rc;

    if (v->pin_failed)
        rc = pin_failure(v);
    else if (v->fail_error != X509_V_OK)
        rc = verify_failure(v);
    else if (v->alert != TLS_NO_ALERT)
        rc = alert_failure(v);
    else if (bio_rc != TS_OK && bio_rc != TS_ERR_CLOSED)
        rc = error_set(bio_rc, "%s", bio_detail != NULL ? bio_detail : ts_strerror(bio_rc));
    else
        return reason_failure(v, bio_rc, in_handshake);
    ERR_clear_error();
    return rc;
}
