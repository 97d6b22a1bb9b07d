#include "server/tls_server.h"

#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "util/error.h"
#include "util/log.h"

/* The OpenSSL reason for the last failure, for error details. */
static const char *openssl_reason(void)
{
    static _Thread_local char text[160];
    unsigned long e = ERR_peek_last_error();

    if (e == 0)
        return "unknown OpenSSL error";
    ERR_error_string_n(e, text, sizeof(text));
    ERR_clear_error();
    return text;
}

static int fail(const char *what, const char *file)
{
    return error_set(TS_ERR_TLS, "TLS: %s%s%s: %s", what, file != NULL ? " " : "",
                     file != NULL ? file : "", openssl_reason());
}

static int set_protocols(SSL_CTX *ctx, const ts_server_config *cfg)
{
    const char *suites = cfg->tls_ciphersuites != NULL ? cfg->tls_ciphersuites
                                                       : SERVER_TLS_SUITES;
    const char *list = cfg->tls_cipher_list != NULL ? cfg->tls_cipher_list
                                                    : SERVER_TLS_CIPHERS;
    uint64_t options = SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                       SSL_OP_CIPHER_SERVER_PREFERENCE;

    if (!cfg->tls_session_tickets)
        options |= SSL_OP_NO_TICKET;
    SSL_CTX_set_options(ctx, options);
    if (SSL_CTX_set_min_proto_version(ctx, cfg->tls_min_version) != 1)
        return fail("cannot set the minimum version", NULL);
    if (SSL_CTX_set_ciphersuites(ctx, suites) != 1)
        return fail("no usable TLS 1.3 cipher suite in", suites);
    if (SSL_CTX_set_cipher_list(ctx, list) != 1)
        return fail("no usable TLS 1.2 cipher in", list);
    return TS_OK;
}

static int load_identity(SSL_CTX *ctx, const ts_server_config *cfg)
{
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert_file) != 1)
        return fail("cannot load the certificate chain", cfg->tls_cert_file);
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key_file, SSL_FILETYPE_PEM) != 1)
        return fail("cannot load the private key", cfg->tls_key_file);
    if (SSL_CTX_check_private_key(ctx) != 1)
        return fail("the private key does not match the certificate in", cfg->tls_cert_file);
    return TS_OK;
}

/* Client certificates: which CA to trust and whether one is required. */
static int load_client_verification(SSL_CTX *ctx, const ts_server_config *cfg)
{
    struct stat st;
    bool is_dir;
    int mode = SSL_VERIFY_PEER;

    if (cfg->tls_verify_client == TS_TLS_VERIFY_NONE) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
        return TS_OK;
    }
    if (cfg->tls_ca == NULL || stat(cfg->tls_ca, &st) != 0)
        return error_set(TS_ERR_TLS, "TLS: client certificates need a CA file or directory "
                         "(ca = ...)%s%s", cfg->tls_ca != NULL ? ": cannot read " : "",
                         cfg->tls_ca != NULL ? cfg->tls_ca : "");
    is_dir = S_ISDIR(st.st_mode);
    if (SSL_CTX_load_verify_locations(ctx, is_dir ? NULL : cfg->tls_ca,
                                      is_dir ? cfg->tls_ca : NULL) != 1)
        return fail("cannot load the CA", cfg->tls_ca);
    /* Tell clients which CA to pick a certificate for. */
    if (!is_dir) {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->tls_ca);
        if (names == NULL)
            return fail("cannot read CA names from", cfg->tls_ca);
        SSL_CTX_set_client_CA_list(ctx, names);
    }
    if (cfg->tls_verify_client == TS_TLS_VERIFY_REQUIRED)
        mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx, mode, NULL);
    return TS_OK;
}

static int build(SSL_CTX **out, const ts_server_config *cfg)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    int rc;

    *out = NULL;
    if (ctx == NULL)
        return fail("cannot create a context", NULL);
    if ((rc = set_protocols(ctx, cfg)) != TS_OK || (rc = load_identity(ctx, cfg)) != TS_OK ||
        (rc = load_client_verification(ctx, cfg)) != TS_OK) {
        SSL_CTX_free(ctx);
        return rc;
    }
    *out = ctx;
    return TS_OK;
}

int tls_server_init(struct tls_server *t, const ts_server_config *cfg)
{
    memset(t, 0, sizeof(*t));
    if (pthread_mutex_init(&t->lock, NULL) != 0)
        return TS_ERR_NOMEM;
    return build(&t->ctx, cfg);
}

int tls_server_reload(struct tls_server *t, const ts_server_config *cfg)
{
    SSL_CTX *fresh, *old;
    int rc;

    if ((rc = build(&fresh, cfg)) != TS_OK)
        return rc;
    pthread_mutex_lock(&t->lock);
    old = t->ctx;
    t->ctx = fresh;
    pthread_mutex_unlock(&t->lock);
    /* Connections made with the old context hold their own references. */
    SSL_CTX_free(old);
    LOG_INFO("tls_reloaded", "cert=\"%s\"", cfg->tls_cert_file);
    return TS_OK;
}

SSL *tls_server_new_ssl(struct tls_server *t)
{
    SSL *ssl;

    pthread_mutex_lock(&t->lock);
    ssl = t->ctx != NULL ? SSL_new(t->ctx) : NULL;
    pthread_mutex_unlock(&t->lock);
    return ssl;
}

void tls_server_free(struct tls_server *t)
{
    if (t->ctx == NULL)
        return;
    SSL_CTX_free(t->ctx);
    t->ctx = NULL;
    pthread_mutex_destroy(&t->lock);
}

int tls_peer_common_name(SSL *ssl, char *out, size_t cap)
{
    X509 *cert = SSL_get0_peer_certificate(ssl);
    X509_NAME *subject;
    int len;

    out[0] = '\0';
    if (cert == NULL || SSL_get_verify_result(ssl) != X509_V_OK ||
        (subject = X509_get_subject_name(cert)) == NULL)
        return TS_ERR_NOT_FOUND;
    len = X509_NAME_get_text_by_NID(subject, NID_commonName, out, (int)cap);
    if (len <= 0 || (size_t)len >= cap || strlen(out) != (size_t)len) {
        out[0] = '\0';
        return TS_ERR_NOT_FOUND;
    }
    return TS_OK;
}
