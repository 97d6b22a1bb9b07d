/*
 * Building a TLS client context from its configuration (net/tls.h).
 */
#include "tls/client_ctx.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "tls/ossl_error.h"
#include "util/error.h"

/* Forward-secret AEAD ciphers only, for servers that allow TLS 1.2. */
#define CLIENT_TLS12_CIPHERS "ECDHE+AESGCM:ECDHE+CHACHA20"

int tls_version_parse(const char *text, int *version)
{
    if (text != NULL && strcmp(text, "1.2") == 0) {
        *version = TLS_VERSION_1_2;
        return TS_OK;
    }
    if (text != NULL && strcmp(text, "1.3") == 0) {
        *version = TLS_VERSION_1_3;
        return TS_OK;
    }
    return error_set(TS_ERR_INVALID, "TLS version '%.20s' is not 1.2 or 1.3",
                     text != NULL ? text : "");
}

const char *tls_version_name(int version)
{
    return version == TLS_VERSION_1_2 ? "1.2" : version == TLS_VERSION_1_3 ? "1.3" : "?";
}

/* Encrypted keys are refused rather than prompted for on the terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *arg)
{
    return -1;
}

static int load_ca(SSL_CTX *ssl, const char *ca)
{
    struct stat st;
    int ok;

    if (ca == NULL) {
        if (SSL_CTX_set_default_verify_paths(ssl) != 1)
            return tls_ossl_fail(TS_ERR_TLS, "TLS: cannot load the system's trusted CAs");
        return TS_OK;
    }
    if (stat(ca, &st) != 0)
        return error_set(TS_ERR_TLS, "TLS: cannot read the CA '%s': %s", ca, strerror(errno));
    if (S_ISDIR(st.st_mode))
        ok = SSL_CTX_load_verify_locations(ssl, NULL, ca);
    else
        ok = SSL_CTX_load_verify_locations(ssl, ca, NULL);
    if (ok != 1)
        return tls_ossl_fail(TS_ERR_TLS, "TLS: cannot load the CA '%s'", ca);
    return TS_OK;
}

static int load_identity(SSL_CTX *ssl, const struct tls_client_config *cfg)
{
    unsigned long e;
    bool ok, mismatch;

    if ((cfg->cert_file == NULL) != (cfg->key_file == NULL))
        return error_set(TS_ERR_INVALID, "TLS: a client certificate needs both --cert FILE "
                         "and --key FILE");
    if (cfg->cert_file == NULL)
        return TS_OK;
    if (SSL_CTX_use_certificate_chain_file(ssl, cfg->cert_file) != 1)
        return tls_ossl_fail(TS_ERR_TLS, "TLS: cannot load the client certificate '%s'",
                             cfg->cert_file);
    ok = SSL_CTX_use_PrivateKey_file(ssl, cfg->key_file, SSL_FILETYPE_PEM) == 1;
    /* OpenSSL already compares the key with the certificate on loading. */
    e = ERR_peek_last_error();
    mismatch = !ok && ERR_GET_LIB(e) == ERR_LIB_X509 &&
               ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH;
    if (!ok && !mismatch)
        return tls_ossl_fail(TS_ERR_TLS, "TLS: cannot load the client key '%s'", cfg->key_file);
    if (!mismatch && SSL_CTX_check_private_key(ssl) == 1)
        return TS_OK;
    return tls_ossl_fail(TS_ERR_TLS, "TLS: '%s' is not the key of '%s'", cfg->key_file,
                         cfg->cert_file);
}

static int set_protocol(SSL_CTX *ssl, const struct tls_client_config *cfg, int min_version)
{
    const char *list = cfg->cipher_list != NULL ? cfg->cipher_list : CLIENT_TLS12_CIPHERS;

    /* Renegotiation and compression only ever added attacks (CRIME,
     * renegotiation injection); tcpseal needs neither. */
    SSL_CTX_set_options(ssl, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    /* The owner's output buffer may move or grow between attempts to
     * write it (net/tls.h), and each record written counts as progress. */
    SSL_CTX_set_mode(ssl, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
    if (SSL_CTX_set_min_proto_version(ssl, min_version) != 1)
        return tls_ossl_fail(TS_ERR_TLS, "TLS: cannot require TLS %s",
                             tls_version_name(min_version));
    if (cfg->ciphersuites != NULL && SSL_CTX_set_ciphersuites(ssl, cfg->ciphersuites) != 1)
        return tls_ossl_fail(TS_ERR_TLS, "TLS: no usable TLS 1.3 suite in '%.80s'",
                             cfg->ciphersuites);
    if (SSL_CTX_set_cipher_list(ssl, list) != 1)
        return tls_ossl_fail(TS_ERR_TLS, "TLS: no usable TLS 1.2 cipher in '%.80s'", list);
    SSL_CTX_set_default_passwd_cb(ssl, no_passphrase);
    /* Verification is switched on per connection (net/tls.c), where the
     * callbacks know which server is meant. */
    return TS_OK;
}

static int config_check(const struct tls_client_config *cfg, tls_client_ctx *c)
{
    int rc;

    c->min_version = cfg->min_version != 0 ? cfg->min_version : TLS_VERSION_1_3;
    if (c->min_version != TLS_VERSION_1_2 && c->min_version != TLS_VERSION_1_3)
        return error_set(TS_ERR_INVALID, "TLS: the minimum version must be 1.2 or 1.3");
    if (cfg->pin != NULL) {
        if ((rc = tls_pin_parse(cfg->pin, c->pin)) != TS_OK)
            return rc;
        c->has_pin = true;
    }
    if (cfg->server_name != NULL) {
        if (*cfg->server_name == '\0' || strlen(cfg->server_name) > TLS_SERVER_NAME_MAX)
            return error_set(TS_ERR_INVALID, "TLS: the server name must be 1 to %d "
                             "characters", TLS_SERVER_NAME_MAX);
        if ((c->server_name = strdup(cfg->server_name)) == NULL)
            return error_set(TS_ERR_NOMEM, "out of memory");
    }
    c->has_cert = cfg->cert_file != NULL;
    return TS_OK;
}

int tls_client_ctx_new(tls_client_ctx **out, const struct tls_client_config *cfg)
{
    tls_client_ctx *c = calloc(1, sizeof(*c));
    int rc;

    *out = NULL;
    if (c == NULL)
        return error_set(TS_ERR_NOMEM, "out of memory");
    /* Stale entries from earlier calls must not explain failures here. */
    ERR_clear_error();
    if ((rc = config_check(cfg, c)) != TS_OK)
        goto fail;
    if ((c->ssl = SSL_CTX_new(TLS_client_method())) == NULL) {
        rc = tls_ossl_fail(TS_ERR_TLS, "TLS: cannot make a context");
        goto fail;
    }
    if ((rc = set_protocol(c->ssl, cfg, c->min_version)) != TS_OK ||
        (rc = load_ca(c->ssl, cfg->ca)) != TS_OK || (rc = load_identity(c->ssl, cfg)) != TS_OK)
        goto fail;
    *out = c;
    return TS_OK;
fail:
    tls_client_ctx_free(c);
    return rc;
}

void tls_client_ctx_free(tls_client_ctx *ctx)
{
    if (ctx == NULL)
        return;
    SSL_CTX_free(ctx->ssl);
    free(ctx->server_name);
    free(ctx);
}
