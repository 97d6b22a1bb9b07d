/*
 * Building one certificate: names, validity, serial number, extensions
 * and signature. Writing the set of files is certgen_files.c.
 */
#include "tls/certgen.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "tls/ossl_error.h"
#include "util/error.h"

/* RFC 5280 4.1.2.2: at most 20 octets; 16 random bytes (17 encoded when
 * the top bit is set) make collisions between CAs negligible. */
#define SERIAL_BYTES 16
/* notBefore lies this far in the past so that a peer whose clock runs a
 * little behind still accepts a certificate made a moment ago. */
#define BACKDATE_SECONDS 3600L
#define DNS_LABEL_MAX 63
#define SAN_TEXT_MAX (CERTGEN_NAME_MAX + 64)

/* The names every server certificate also covers, so the defaults work
 * for a server on this host whatever name a client uses for it. */
static const char *const local_sans[] = {"DNS:localhost", "IP:127.0.0.1", "IP:::1"};

static bool is_ip_literal(const char *name)
{
    unsigned char addr[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1;
}

static bool is_label_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-';
}

/* One DNS label of len bytes: letters, digits, inner hyphens. */
static bool label_ok(const char *s, size_t len)
{
    if (len == 0 || len > DNS_LABEL_MAX || s[0] == '-' || s[len - 1] == '-')
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!is_label_char(s[i]))
            return false;
    }
    return true;
}

int certgen_check_server_name(const char *name)
{
    const char *p, *dot;
    size_t len = name != NULL ? strlen(name) : 0;

    if (len > 0 && is_ip_literal(name))
        return TS_OK;
    if (len == 0 || len > CERTGEN_NAME_MAX)
        goto bad;
    p = name;
    /* A wildcard may stand for the whole leftmost label only. */
    if (strncmp(p, "*.", 2) == 0 && p[2] != '\0')
        p += 2;
    for (;;) {
        dot = strchr(p, '.');
        if (!label_ok(p, dot != NULL ? (size_t)(dot - p) : strlen(p)))
            goto bad;
        if (dot == NULL)
            return TS_OK;
        p = dot + 1;
    }
bad:
    return error_set(TS_ERR_INVALID, "'%.80s' is neither a DNS name nor an IP address",
                     name != NULL ? name : "");
}

int certgen_check_client_name(const char *name)
{
    size_t len = name != NULL ? strlen(name) : 0;

    if (len == 0 || len > CERTGEN_CLIENT_NAME_MAX || !is_label_char(name[0]) ||
        name[0] == '-')
        goto bad;
    for (size_t i = 0; i < len; i++) {
        if (!is_label_char(name[i]) && name[i] != '.' && name[i] != '_')
            goto bad;
    }
    return TS_OK;
bad:
    return error_set(TS_ERR_INVALID, "client name '%.80s' must be 1 to %d letters, digits, "
                     "'.', '_' or '-', starting with a letter or digit",
                     name != NULL ? name : "", CERTGEN_CLIENT_NAME_MAX);
}

int certgen_key_new(EVP_PKEY **out)
{
    ERR_clear_error();
    *out = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (*out == NULL)
        return tls_ossl_fail(TS_ERR_CRYPTO, "cannot make an ECDSA P-256 key");
    return TS_OK;
}

static int set_serial(X509 *x)
{
    unsigned char raw[SERIAL_BYTES];
    ASN1_INTEGER *serial = NULL;
    BIGNUM *bn = NULL;
    int rc = TS_ERR_CRYPTO;

    /* A serial number must be positive (RFC 5280 4.1.2.2): draw again in
     * the (2^-128) case of zero. */
    do {
        BN_free(bn);
        bn = NULL;
        if (RAND_bytes(raw, sizeof(raw)) != 1 ||
            (bn = BN_bin2bn(raw, sizeof(raw), NULL)) == NULL)
            goto fail;
    } while (BN_is_zero(bn));
    if ((serial = BN_to_ASN1_INTEGER(bn, NULL)) == NULL || X509_set_serialNumber(x, serial) != 1)
        goto fail;
    rc = TS_OK;
fail:
    if (rc != TS_OK)
        rc = tls_ossl_fail(TS_ERR_CRYPTO, "cannot make a serial number");
    ASN1_INTEGER_free(serial);
    BN_free(bn);
    return rc;
}

static int set_validity(X509 *x, const struct certgen_request *req)
{
    int days = (int)req->days;
    bool ok;

    if (req->expired) {
        ok = X509_time_adj_ex(X509_getm_notBefore(x), -(days + 1), 0, NULL) != NULL &&
             X509_time_adj_ex(X509_getm_notAfter(x), -1, 0, NULL) != NULL;
    } else {
        ok = X509_time_adj_ex(X509_getm_notBefore(x), 0, -BACKDATE_SECONDS, NULL) != NULL &&
             X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL) != NULL;
    }
    if (!ok)
        return tls_ossl_fail(TS_ERR_CRYPTO, "cannot set the validity period");
    return TS_OK;
}

static int set_names(X509 *x, const char *cn, X509 *issuer)
{
    X509_NAME *subject = X509_NAME_new();
    int rc = TS_OK;

    if (subject == NULL ||
        X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, (const unsigned char *)cn,
                                   -1, -1, 0) != 1 ||
        X509_set_subject_name(x, subject) != 1 ||
        X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : subject) != 1)
        rc = tls_ossl_fail(TS_ERR_CRYPTO, "cannot set the name '%.80s'", cn);
    X509_NAME_free(subject);
    return rc;
}

static int add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, v3, nid, value);
    int ok = ext != NULL && X509_add_ext(x, ext, -1) == 1;

    X509_EXTENSION_free(ext);
    if (!ok)
        return tls_ossl_fail(TS_ERR_CRYPTO, "cannot add the extension %s = %s",
                             OBJ_nid2sn(nid), value);
    return TS_OK;
}

/* "DNS:name,DNS:localhost,IP:127.0.0.1,IP:::1" without repeating name. */
static void server_sans(const char *name, char *out, size_t cap)
{
    size_t used;

    used = (size_t)snprintf(out, cap, "%s:%s", is_ip_literal(name) ? "IP" : "DNS", name);
    for (size_t i = 0; i < sizeof(local_sans) / sizeof(local_sans[0]) && used < cap; i++) {
        if (strcmp(strchr(local_sans[i], ':') + 1, name) != 0)
            used += (size_t)snprintf(out + used, cap - used, ",%s", local_sans[i]);
    }
}

static int add_extensions(X509 *x, const struct certgen_request *req, X509 *issuer)
{
    char sans[SAN_TEXT_MAX];
    X509V3_CTX v3;
    int rc;

    /* The subject key identifier goes first: a self-signed CA's authority
     * key identifier is computed from it. */
    X509V3_set_ctx(&v3, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
    if ((rc = add_ext(x, &v3, NID_subject_key_identifier, "hash")) != TS_OK ||
        (rc = add_ext(x, &v3, NID_authority_key_identifier, "keyid:always")) != TS_OK)
        return rc;
    if (req->kind == CERTGEN_CA) {
        if ((rc = add_ext(x, &v3, NID_basic_constraints, "critical,CA:TRUE")) != TS_OK ||
            (rc = add_ext(x, &v3, NID_key_usage, "critical,keyCertSign,cRLSign")) != TS_OK)
            return rc;
        return TS_OK;
    }
    if ((rc = add_ext(x, &v3, NID_basic_constraints, "critical,CA:FALSE")) != TS_OK ||
        (rc = add_ext(x, &v3, NID_key_usage, "critical,digitalSignature")) != TS_OK)
        return rc;
    if (req->kind == CERTGEN_CLIENT)
        return add_ext(x, &v3, NID_ext_key_usage, "clientAuth");
    if ((rc = add_ext(x, &v3, NID_ext_key_usage, "serverAuth")) != TS_OK)
        return rc;
    server_sans(req->cn, sans, sizeof(sans));
    return add_ext(x, &v3, NID_subject_alt_name, sans);
}

static int request_check(const struct certgen_request *req, X509 *issuer,
                         EVP_PKEY *key, EVP_PKEY *issuer_key)
{
    if (req->cn == NULL || key == NULL || issuer_key == NULL ||
        (issuer == NULL && (req->kind != CERTGEN_CA || issuer_key != key)))
        return error_set(TS_ERR_INVALID, "certificate request without a name, key or issuer");
    if (req->days == 0 || req->days > CERTGEN_MAX_DAYS)
        return error_set(TS_ERR_INVALID, "validity of %u days is outside 1..%u", req->days,
                         CERTGEN_MAX_DAYS);
    if (req->kind == CERTGEN_SERVER)
        return certgen_check_server_name(req->cn);
    if (req->kind == CERTGEN_CLIENT)
        return certgen_check_client_name(req->cn);
    return TS_OK;
}

int certgen_issue(X509 **out, const struct certgen_request *req, EVP_PKEY *key,
                  X509 *issuer, EVP_PKEY *issuer_key)
{
    X509 *x = NULL;
    int rc;

    *out = NULL;
    ERR_clear_error();
    if ((rc = request_check(req, issuer, key, issuer_key)) != TS_OK)
        goto fail;
    if ((x = X509_new()) == NULL || X509_set_version(x, X509_VERSION_3) != 1 ||
        X509_set_pubkey(x, key) != 1) {
        rc = tls_ossl_fail(TS_ERR_CRYPTO, "cannot make a certificate");
        goto fail;
    }
    if ((rc = set_serial(x)) != TS_OK || (rc = set_validity(x, req)) != TS_OK ||
        (rc = set_names(x, req->cn, issuer)) != TS_OK ||
        (rc = add_extensions(x, req, issuer)) != TS_OK)
        goto fail;
    if (X509_sign(x, issuer_key, EVP_sha256()) <= 0) {
        rc = tls_ossl_fail(TS_ERR_CRYPTO, "cannot sign the certificate for '%.80s'", req->cn);
        goto fail;
    }
    *out = x;
    return TS_OK;
fail:
    X509_free(x);
    return rc;
}
