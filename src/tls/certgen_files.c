/*
 * certgen_run(): the CA, server and client certificates of certgen.h
 * made and written as PEM files.
 */
#include "tls/certgen.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "tls/ossl_error.h"
#include "util/error.h"

#define MODE_DIR 0700
#define MODE_KEY 0600
#define MODE_CERT 0644
#define CA_TAG_BYTES 4
#define CA_CN_MAX 64
/* Replacement files are written beside the target and renamed over it. */
#define TMP_SUFFIX ".new"

/* The signing CA: created here or loaded from ca_dir. */
struct ca {
    X509 *cert;
    EVP_PKEY *key;
};

static void ca_free(struct ca *ca)
{
    X509_free(ca->cert);
    EVP_PKEY_free(ca->key);
    ca->cert = NULL;
    ca->key = NULL;
}

static char *path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);

    if (p != NULL)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* mkdir -p with mode 0700 for what is created; an existing directory is
 * left as it is. */
static int dir_make(const char *dir)
{
    char *copy = strdup(dir), saved;
    struct stat st;
    int rc = TS_OK;

    if (copy == NULL)
        return error_set(TS_ERR_NOMEM, "out of memory");
    for (char *p = copy + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        saved = *p;
        *p = '\0';
        if (mkdir(copy, MODE_DIR) != 0 && errno != EEXIST) {
            rc = error_set(TS_ERR_IO, "cannot create '%s': %s", copy, strerror(errno));
            break;
        }
        *p = saved;
        if (saved == '\0')
            break;
    }
    if (rc == TS_OK && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)))
        rc = error_set(TS_ERR_IO, "'%s' is not a directory", dir);
    free(copy);
    return rc;
}

/* A passphrase callback that never supplies one: an encrypted CA key is
 * refused instead of OpenSSL prompting on the terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *arg)
{
    return -1;
}

static int read_pem(const char *path, X509 **cert, EVP_PKEY **key)
{
    BIO *bio = BIO_new_file(path, "r");
    unsigned long e;
    int rc = TS_OK;

    if (bio == NULL) {
        /* BIO_new_file() queues the errno of its fopen() first. */
        e = ERR_peek_error();
        return tls_ossl_fail(ERR_GET_LIB(e) == ERR_LIB_SYS && ERR_GET_REASON(e) == ENOENT
                                 ? TS_ERR_NOT_FOUND
                                 : TS_ERR_IO,
                             "cannot read '%s'", path);
    }
    if (cert != NULL && (*cert = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL)) == NULL)
        rc = tls_ossl_fail(TS_ERR_TLS, "no certificate in '%s'", path);
    if (key != NULL &&
        (*key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL)) == NULL)
        rc = tls_ossl_fail(TS_ERR_TLS, "no unencrypted private key in '%s'", path);
    BIO_free(bio);
    return rc;
}

static int ca_load(const char *dir, struct ca *ca)
{
    char *crt = path_join(dir, "ca.crt"), *key = path_join(dir, "ca.key");
    int rc;

    if (crt == NULL || key == NULL) {
        rc = error_set(TS_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((rc = read_pem(crt, &ca->cert, NULL)) != TS_OK ||
        (rc = read_pem(key, NULL, &ca->key)) != TS_OK)
        goto done;
    if (X509_check_ca(ca->cert) < 1)
        rc = error_set(TS_ERR_TLS, "'%s' is not a CA certificate", crt);
    else if (X509_check_private_key(ca->cert, ca->key) != 1)
        rc = tls_ossl_fail(TS_ERR_TLS, "'%s' is not the key of '%s'", key, crt);
done:
    if (rc != TS_OK)
        ca_free(ca);
    free(crt);
    free(key);
    return rc;
}

/* A CA whose name differs from every other one made here, so that two
 * test CAs trusted side by side are never mistaken for each other. */
static int ca_create(unsigned days, struct ca *ca)
{
    struct certgen_request req = {.kind = CERTGEN_CA,
                                  .days = days > CERTGEN_CA_DAYS ? days : CERTGEN_CA_DAYS};
    unsigned char tag[CA_TAG_BYTES];
    char cn[CA_CN_MAX];
    int rc;

    if (RAND_bytes(tag, sizeof(tag)) != 1)
        return tls_ossl_fail(TS_ERR_CRYPTO, "cannot draw random bytes");
    snprintf(cn, sizeof(cn), "tcpseal test CA %02x%02x%02x%02x", tag[0], tag[1], tag[2],
             tag[3]);
    req.cn = cn;
    if ((rc = certgen_key_new(&ca->key)) != TS_OK ||
        (rc = certgen_issue(&ca->cert, &req, ca->key, NULL, ca->key)) != TS_OK)
        ca_free(ca);
    return rc;
}

static int pem_put(BIO *bio, EVP_PKEY *key, X509 *cert, X509 *ca_cert)
{
    if (key != NULL)
        return PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) == 1;
    return PEM_write_bio_X509(bio, cert) == 1 &&
           (ca_cert == NULL || PEM_write_bio_X509(bio, ca_cert) == 1);
}

/*
 * Write a key (key != NULL; mode 0600) or a certificate followed by
 * ca_cert when given (mode 0644). The file is created with O_EXCL, so an
 * existing file is never written through (nor a symlink followed); with
 * force the new content goes to a fresh file renamed over the target.
 * The key is encoded straight into the unbuffered file BIO, so no copy
 * of it is left in memory here.
 */
static int file_write(const char *path, bool force, EVP_PKEY *key, X509 *cert,
                      X509 *ca_cert)
{
    mode_t mode = key != NULL ? MODE_KEY : MODE_CERT;
    size_t tlen = strlen(path) + sizeof(TMP_SUFFIX);
    char *target = malloc(tlen);
    BIO *bio = NULL;
    int fd = -1, r, rc = TS_OK;

    if (target == NULL)
        return error_set(TS_ERR_NOMEM, "out of memory");
    snprintf(target, tlen, "%s%s", path, force ? TMP_SUFFIX : "");
    if (force && unlink(target) != 0 && errno != ENOENT) {
        rc = error_set(TS_ERR_IO, "cannot remove '%s': %s", target, strerror(errno));
        goto done;
    }
    fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) {
        rc = error_set(errno == EEXIST ? TS_ERR_EXISTS : TS_ERR_IO, "cannot create '%s': %s",
                       target, strerror(errno));
        goto done;
    }
    /* The umask may have narrowed the mode; certificates are public. */
    if (fchmod(fd, mode) != 0) {
        rc = error_set(TS_ERR_IO, "cannot set mode %04o on '%s': %s", (unsigned)mode, target,
                       strerror(errno));
        goto done;
    }
    if ((bio = BIO_new_fd(fd, BIO_NOCLOSE)) == NULL || !pem_put(bio, key, cert, ca_cert) ||
        BIO_flush(bio) != 1) {
        rc = tls_ossl_fail(TS_ERR_IO, "cannot write '%s'", target);
        goto done;
    }
    if (fsync(fd) != 0) {
        rc = error_set(TS_ERR_IO, "cannot write '%s': %s", target, strerror(errno));
        goto done;
    }
    r = close(fd);
    fd = -1;
    if (r != 0) {
        rc = error_set(TS_ERR_IO, "cannot write '%s': %s", target, strerror(errno));
        goto done;
    }
    if (force && rename(target, path) != 0)
        rc = error_set(TS_ERR_IO, "cannot replace '%s': %s", path, strerror(errno));
done:
    BIO_free(bio);
    if (fd >= 0)
        close(fd);
    /* Only a file made here is removed: after EEXIST target is not ours. */
    if (rc != TS_OK && rc != TS_ERR_EXISTS && rc != TS_ERR_NOMEM)
        unlink(target);
    free(target);
    return rc;
}

/* One certificate and key pair: "server" or "client-NAME". */
struct output {
    const char *dir;
    bool force;
    void (*on_file)(void *arg, const char *path, const char *what);
    void *arg;
};

static int pair_write(const struct output *o, const char *stem, const char *what,
                      EVP_PKEY *key, X509 *cert, X509 *ca_cert)
{
    char name[CERTGEN_CLIENT_NAME_MAX + 16], desc[CERTGEN_CLIENT_NAME_MAX + 40];
    char *crt_path = NULL, *key_path = NULL;
    int rc;

    snprintf(name, sizeof(name), "%s.crt", stem);
    crt_path = path_join(o->dir, name);
    snprintf(name, sizeof(name), "%s.key", stem);
    key_path = path_join(o->dir, name);
    if (crt_path == NULL || key_path == NULL) {
        rc = error_set(TS_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((rc = file_write(key_path, o->force, key, NULL, NULL)) != TS_OK)
        goto done;
    if (o->on_file != NULL) {
        snprintf(desc, sizeof(desc), "%s private key", what);
        o->on_file(o->arg, key_path, desc);
    }
    if ((rc = file_write(crt_path, o->force, NULL, cert, ca_cert)) != TS_OK)
        goto done;
    if (o->on_file != NULL) {
        snprintf(desc, sizeof(desc), "%s certificate%s", what, ca_cert != NULL ? " + CA" : "");
        o->on_file(o->arg, crt_path, desc);
    }
done:
    free(crt_path);
    free(key_path);
    return rc;
}

/* Issue a leaf for cn and write it with its key under stem. */
static int leaf_make(const struct output *o, const struct ca *ca,
                     const struct certgen_request *req, const char *stem, const char *what)
{
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    int rc;

    if ((rc = certgen_key_new(&key)) == TS_OK &&
        (rc = certgen_issue(&cert, req, key, ca->cert, ca->key)) == TS_OK)
        rc = pair_write(o, stem, what, key, cert, ca->cert);
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}

static int options_check(const struct certgen_options *opt)
{
    int rc;

    if (opt->out_dir == NULL || *opt->out_dir == '\0')
        return error_set(TS_ERR_INVALID, "no output directory");
    if (opt->days > CERTGEN_MAX_DAYS)
        return error_set(TS_ERR_INVALID, "validity of %u days is more than %u", opt->days,
                         CERTGEN_MAX_DAYS);
    if (opt->server_name != NULL && (rc = certgen_check_server_name(opt->server_name)) != TS_OK)
        return rc;
    for (size_t i = 0; i < opt->n_clients; i++) {
        if ((rc = certgen_check_client_name(opt->clients[i])) != TS_OK)
            return rc;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(opt->clients[i], opt->clients[j]) == 0)
                return error_set(TS_ERR_INVALID, "client '%s' is named twice", opt->clients[i]);
        }
    }
    return TS_OK;
}

/* Without force, refuse before writing anything when a target exists. */
static int targets_free(const struct certgen_options *opt)
{
    char name[CERTGEN_CLIENT_NAME_MAX + 16], *path;
    const char *stems[] = {"ca", "server"};
    struct stat st;
    int rc = TS_OK;

    for (size_t i = opt->ca_dir != NULL ? 1 : 0; i < 2 + opt->n_clients && rc == TS_OK; i++) {
        for (int ext = 0; ext < 2 && rc == TS_OK; ext++) {
            if (i < 2)
                snprintf(name, sizeof(name), "%s.%s", stems[i], ext ? "key" : "crt");
            else
                snprintf(name, sizeof(name), "client-%s.%s", opt->clients[i - 2],
                         ext ? "key" : "crt");
            if ((path = path_join(opt->out_dir, name)) == NULL)
                return error_set(TS_ERR_NOMEM, "out of memory");
            if (lstat(path, &st) == 0)
                rc = error_set(TS_ERR_EXISTS, "'%s' already exists (use --force to replace "
                               "it)", path);
            free(path);
        }
    }
    return rc;
}

int certgen_run(const struct certgen_options *opt)
{
    const struct output o = {opt->out_dir, opt->force, opt->on_file, opt->arg};
    unsigned days = opt->days != 0 ? opt->days : CERTGEN_DEFAULT_DAYS;
    struct certgen_request req = {.days = days};
    char stem[CERTGEN_CLIENT_NAME_MAX + 8];
    struct ca ca = {NULL, NULL};
    int rc;

    /* Errors left on the queue by earlier, unrelated calls must not be
     * taken for the reason of a failure here. */
    ERR_clear_error();
    if ((rc = options_check(opt)) != TS_OK)
        return rc;
    if (!opt->force && (rc = targets_free(opt)) != TS_OK)
        return rc;
    if (opt->ca_dir != NULL) {
        if ((rc = ca_load(opt->ca_dir, &ca)) != TS_OK)
            goto done;
    } else if ((rc = ca_create(days, &ca)) != TS_OK) {
        goto done;
    }
    if ((rc = dir_make(opt->out_dir)) != TS_OK)
        goto done;
    if (opt->ca_dir == NULL && (rc = pair_write(&o, "ca", "CA", ca.key, ca.cert, NULL)) != TS_OK)
        goto done;
    req.kind = CERTGEN_SERVER;
    req.cn = opt->server_name != NULL ? opt->server_name : CERTGEN_DEFAULT_NAME;
    req.expired = opt->expired;
    if ((rc = leaf_make(&o, &ca, &req, "server", "server")) != TS_OK)
        goto done;
    req.kind = CERTGEN_CLIENT;
    req.expired = false;
    for (size_t i = 0; i < opt->n_clients; i++) {
        req.cn = opt->clients[i];
        snprintf(stem, sizeof(stem), "client-%s", opt->clients[i]);
        if ((rc = leaf_make(&o, &ca, &req, stem, "client")) != TS_OK)
            goto done;
    }
done:
    ca_free(&ca);
    return rc;
}
