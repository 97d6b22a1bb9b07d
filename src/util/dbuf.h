/*
 * A growable byte buffer with a hard size limit.
 *
 * Holds bytes between `head` and `len`: appends go to the end, consumers
 * take from the front (dbuf_consume) without moving memory until the
 * buffer needs to grow. Growth never exceeds `max`, so a peer cannot make
 * it unbounded. The buffer owns its memory; dbuf_free() wipes it first,
 * because it may hold plaintext or key material.
 */
#ifndef TS_UTIL_DBUF_H
#define TS_UTIL_DBUF_H

#include <stddef.h>
#include <stdint.h>

struct dbuf {
    uint8_t *data;
    size_t head; /* first unconsumed byte */
    size_t len;  /* one past the last byte */
    size_t cap;
    size_t max;  /* hard limit on len - head */
};

/* An empty buffer that will never hold more than max bytes. */
void dbuf_init(struct dbuf *b, size_t max);

/* Bytes held. */
static inline size_t dbuf_size(const struct dbuf *b)
{
    return b->len - b->head;
}

/* Pointer to the first held byte (valid until the next append). */
static inline uint8_t *dbuf_ptr(const struct dbuf *b)
{
    /* An empty, never-allocated buffer has no data pointer to offset. */
    return b->data != NULL ? b->data + b->head : NULL;
}

/* Make room for n more bytes and return where they go, or NULL when that
 * would pass max (TS_ERR_TOO_LARGE) or memory ran out. Commit with
 * dbuf_commit(). */
uint8_t *dbuf_reserve(struct dbuf *b, size_t n);

/* Mark n reserved bytes as written. */
void dbuf_commit(struct dbuf *b, size_t n);

/* Append n bytes: 0, TS_ERR_TOO_LARGE or TS_ERR_NOMEM. */
int dbuf_append(struct dbuf *b, const void *p, size_t n);

/* Drop n bytes from the front (n <= dbuf_size()). */
void dbuf_consume(struct dbuf *b, size_t n);

/* Drop everything but keep the allocation. */
void dbuf_reset(struct dbuf *b);

/* Wipe and release the memory; the buffer is empty and reusable. */
void dbuf_free(struct dbuf *b);

#endif /* TS_UTIL_DBUF_H */
