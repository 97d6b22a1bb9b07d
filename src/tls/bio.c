#include "tls/bio.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/err.h>

#include "tls/ossl_error.h"
#include "util/error.h"

struct bio_state {
    struct transport *inner;
    int error;                        /* transport code of the last failure */
    char detail[ERROR_DETAIL_MAX];    /* and its detail */
};

static pthread_once_t method_once = PTHREAD_ONCE_INIT;
/* Made once and kept for the life of the process, as OpenSSL keeps its
 * own methods: BIOs of live connections point at it. */
static BIO_METHOD *method;

static void bio_failed(struct bio_state *st, int rc)
{
    st->error = rc;
    snprintf(st->detail, sizeof(st->detail), "%s", ts_error_detail(rc));
}

static int bio_write_ex(BIO *b, const char *data, size_t len, size_t *written)
{
    struct bio_state *st = BIO_get_data(b);
    size_t n = 0;
    int rc;

    BIO_clear_retry_flags(b);
    *written = 0;
    rc = transport_write(st->inner, data, len, &n);
    if (rc != TS_OK) {
        bio_failed(st, rc);
        return 0;
    }
    if (n == 0) {
        BIO_set_retry_write(b);
        return 0;
    }
    *written = n;
    return 1;
}

static int bio_read_ex(BIO *b, char *data, size_t cap, size_t *readbytes)
{
    struct bio_state *st = BIO_get_data(b);
    size_t n = 0;
    int rc;

    BIO_clear_retry_flags(b);
    *readbytes = 0;
    rc = transport_read(st->inner, data, cap, &n);
    if (rc != TS_OK) {
        /* No retry flag: OpenSSL takes this as the end of the stream. */
        bio_failed(st, rc);
        return 0;
    }
    if (n == 0) {
        BIO_set_retry_read(b);
        return 0;
    }
    *readbytes = n;
    return 1;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    struct bio_state *st = BIO_get_data(b);

    switch (cmd) {
    case BIO_CTRL_FLUSH:
        /* Nothing is buffered here: every write went to the transport. */
        return 1;
    case BIO_CTRL_EOF:
        return st != NULL && st->error == TS_ERR_CLOSED;
    default:
        return 0;
    }
}

static int bio_destroy(BIO *b)
{
    free(BIO_get_data(b));
    BIO_set_data(b, NULL);
    BIO_set_init(b, 0);
    return 1;
}

static void method_make(void)
{
    int type = BIO_get_new_index();
    BIO_METHOD *m;

    if (type == -1)
        return;
    m = BIO_meth_new(type | BIO_TYPE_SOURCE_SINK, "tcpseal transport");
    if (m == NULL)
        return;
    if (BIO_meth_set_write_ex(m, bio_write_ex) != 1 ||
        BIO_meth_set_read_ex(m, bio_read_ex) != 1 || BIO_meth_set_ctrl(m, bio_ctrl) != 1 ||
        BIO_meth_set_destroy(m, bio_destroy) != 1) {
        BIO_meth_free(m);
        return;
    }
    method = m;
}

int tls_bio_new(struct transport *inner, BIO **out)
{
    struct bio_state *st = NULL;

    *out = NULL;
    ERR_clear_error();
    if (pthread_once(&method_once, method_make) != 0 || method == NULL)
        return tls_ossl_fail(TS_ERR_TLS, "TLS: cannot make the transport BIO method");
    if ((st = calloc(1, sizeof(*st))) == NULL)
        return error_set(TS_ERR_NOMEM, "out of memory");
    if ((*out = BIO_new(method)) == NULL) {
        free(st);
        return tls_ossl_fail(TS_ERR_TLS, "TLS: cannot make a BIO");
    }
    st->inner = inner;
    BIO_set_data(*out, st);
    BIO_set_init(*out, 1);
    return TS_OK;
}

int tls_bio_error(BIO *bio, char *detail, size_t cap)
{
    const struct bio_state *st = BIO_get_data(bio);

    if (st == NULL || st->error == TS_OK)
        return TS_OK;
    if (detail != NULL)
        snprintf(detail, cap, "%s", st->detail);
    return st->error;
}

void tls_bio_clear_error(BIO *bio)
{
    struct bio_state *st = BIO_get_data(bio);

    if (st != NULL) {
        st->error = TS_OK;
        st->detail[0] = '\0';
    }
}
