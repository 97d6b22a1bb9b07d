#include "util/dbuf.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "util/error.h"

#define DBUF_MIN_CAP 256

void dbuf_init(struct dbuf *b, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->max = max;
}

/* Grow or compact so that n more bytes fit after len. Old contents are
 * wiped before release since they may be plaintext. */
static int dbuf_make_room(struct dbuf *b, size_t n)
{
    size_t used = dbuf_size(b);
    size_t want, cap;
    uint8_t *fresh;

    if (n > b->max - used)
        return TS_ERR_TOO_LARGE;
    want = used + n;
    if (b->cap - b->len >= n)
        return TS_OK;
    if (b->cap >= want && b->head > 0) {
        memmove(b->data, b->data + b->head, used);
        b->head = 0;
        b->len = used;
        return TS_OK;
    }
    cap = b->cap > DBUF_MIN_CAP ? b->cap : DBUF_MIN_CAP;
    while (cap < want)
        cap = cap > SIZE_MAX / 2 ? want : cap * 2;
    if (cap > b->max && want <= b->max)
        cap = b->max;
    fresh = malloc(cap);
    if (fresh == NULL)
        return TS_ERR_NOMEM;
    if (used > 0)
        memcpy(fresh, b->data + b->head, used);
    if (b->data != NULL) {
        sodium_memzero(b->data, b->cap);
        free(b->data);
    }
    b->data = fresh;
    b->cap = cap;
    b->head = 0;
    b->len = used;
    return TS_OK;
}

uint8_t *dbuf_reserve(struct dbuf *b, size_t n)
{
    if (dbuf_make_room(b, n) != TS_OK)
        return NULL;
    return b->data + b->len;
}

void dbuf_commit(struct dbuf *b, size_t n)
{
    b->len += n;
}

int dbuf_append(struct dbuf *b, const void *p, size_t n)
{
    int rc = dbuf_make_room(b, n);
    if (rc != TS_OK)
        return rc;
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return TS_OK;
}

void dbuf_consume(struct dbuf *b, size_t n)
{
    b->head += n;
    if (b->head == b->len)
        b->head = b->len = 0;
}

void dbuf_reset(struct dbuf *b)
{
    b->head = b->len = 0;
}

void dbuf_free(struct dbuf *b)
{
    size_t max = b->max;
    if (b->data != NULL) {
        sodium_memzero(b->data, b->cap);
        free(b->data);
    }
    dbuf_init(b, max);
}
