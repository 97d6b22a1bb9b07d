/*
 * Certificates for testing and small deployments: a CA, a server
 * certificate and client certificates, made with OpenSSL and written as
 * PEM files (`tcp_server certs`, docs/tls.md).
 *
 * Every key is ECDSA P-256 (what every TLS client and scanner accepts),
 * every signature SHA-256, every serial number 128 random bits. The CA
 * carries basicConstraints CA:TRUE (critical) and keyUsage keyCertSign,
 * cRLSign; leaves carry CA:FALSE, keyUsage digitalSignature and one
 * extendedKeyUsage (serverAuth or clientAuth); all carry subject and
 * authority key identifiers.
 *
 * Files in the output directory:
 *   ca.crt, ca.key                 the CA (not written with ca_dir)
 *   server.crt, server.key         server certificate followed by the CA
 *                                  certificate, and its key
 *   client-NAME.crt, .key          one pair per client, CN=NAME, followed
 *                                  by the CA certificate likewise
 * Keys are created 0600 with O_EXCL, certificates 0644; the directory is
 * created 0700 when missing.
 */
#ifndef TS_TLS_CERTGEN_H
#define TS_TLS_CERTGEN_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#define CERTGEN_DEFAULT_NAME "localhost"
#define CERTGEN_DEFAULT_DAYS 365u
/* The CA outlives the certificates it signs: ten years, or the leaves'
 * validity when that is longer. */
#define CERTGEN_CA_DAYS 3650u
#define CERTGEN_MAX_DAYS 36500u
/* Longest server name (a DNS name) and client name. */
#define CERTGEN_NAME_MAX 253
#define CERTGEN_CLIENT_NAME_MAX 64

enum certgen_kind {
    CERTGEN_CA,
    CERTGEN_SERVER,
    CERTGEN_CLIENT,
};

/* What certgen_issue() makes. */
struct certgen_request {
    enum certgen_kind kind;
    const char *cn;   /* subject common name */
    unsigned days;    /* validity from now; 1..CERTGEN_MAX_DAYS */
    /* Validity entirely in the past (ending a day ago, lasting days), so
     * tests can present an expired certificate. */
    bool expired;
};

/* A fresh ECDSA P-256 key (caller frees with EVP_PKEY_free). 0 or
 * TS_ERR_CRYPTO. */
int certgen_key_new(EVP_PKEY **out);

/*
 * Make a certificate for key, signed by issuer_key with issuer as the
 * issuing certificate; a CA request with issuer == NULL is self-signed
 * (issuer_key must then be key). A server certificate's subjectAltName
 * names req->cn (as an IP address when it is one) plus DNS:localhost,
 * IP:127.0.0.1 and IP:::1. *out is the caller's (X509_free). 0,
 * TS_ERR_INVALID (a name certgen_check_*() refuses, days out of range)
 * or TS_ERR_CRYPTO.
 */
int certgen_issue(X509 **out, const struct certgen_request *req, EVP_PKEY *key,
                  X509 *issuer, EVP_PKEY *issuer_key);

/* A server name: a DNS name (letters, digits, '-', '.', optionally one
 * leading "*." label) or an IPv4/IPv6 literal. 0 or TS_ERR_INVALID. */
int certgen_check_server_name(const char *name);

/* A client name, used as CN and in a file name: 1..CERTGEN_CLIENT_NAME_MAX
 * letters, digits, '.', '_', '-', starting with a letter or digit. 0 or
 * TS_ERR_INVALID. */
int certgen_check_client_name(const char *name);

struct certgen_options {
    const char *out_dir;     /* required; created 0700 when missing */
    const char *server_name; /* NULL = CERTGEN_DEFAULT_NAME */
    unsigned days;           /* leaf validity; 0 = CERTGEN_DEFAULT_DAYS */
    const char *const *clients; /* client names (borrowed) */
    size_t n_clients;
    /* Sign with the CA in this directory (its ca.crt and an unencrypted
     * ca.key) instead of creating one; NULL = create ca.crt/ca.key in
     * out_dir. */
    const char *ca_dir;
    bool expired;            /* the server certificate is already expired */
    bool force;              /* replace existing files (atomically) */
    /* Called after each file is written, with its path and a short
     * description ("CA certificate"). May be NULL. */
    void (*on_file)(void *arg, const char *path, const char *what);
    void *arg;
};

/*
 * Make the CA (unless ca_dir), the server certificate and one certificate
 * per client, and write them into out_dir. Without force nothing is
 * written when any target file exists. Errors, each with a detail naming
 * the file or name:
 *   TS_ERR_INVALID  a bad name, duplicate client, days out of range;
 *   TS_ERR_EXISTS   a target file exists and force is off;
 *   TS_ERR_NOT_FOUND, TS_ERR_TLS  ca_dir lacks a usable CA (missing,
 *                   unreadable, encrypted key, key not matching, not a CA);
 *   TS_ERR_IO       a directory or file could not be made or written
 *                   (files already written stay);
 *   TS_ERR_CRYPTO, TS_ERR_NOMEM.
 */
int certgen_run(const struct certgen_options *opt);

#endif /* TS_TLS_CERTGEN_H */
