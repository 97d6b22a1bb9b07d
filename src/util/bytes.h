/*
 * Bounds-checked reading and writing of wire formats.
 *
 * A reader is a cursor over borrowed bytes: every get checks what remains
 * and fails with TS_ERR_TRUNCATED instead of reading past the end, so a
 * parser built on it cannot overrun a network buffer. A writer fills a
 * caller-supplied fixed buffer; an overflow is sticky (every later put is
 * ignored) and reported once by writer_finish(), so encoders check once.
 * Integers on the wire are big-endian.
 */
#ifndef TS_UTIL_BYTES_H
#define TS_UTIL_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <tcpseal/error.h>

struct reader {
    const uint8_t *data; /* borrowed; must outlive the reader */
    size_t len;
    size_t pos;
};

static inline void reader_init(struct reader *r, const void *data, size_t len)
{
    r->data = data;
    r->len = len;
    r->pos = 0;
}

static inline size_t reader_remaining(const struct reader *r)
{
    return r->len - r->pos;
}

/* Borrow the next n bytes: *out points into the reader's buffer. */
static inline int reader_bytes(struct reader *r, size_t n, const uint8_t **out)
{
    if (n > reader_remaining(r))
        return TS_ERR_TRUNCATED;
    *out = r->data + r->pos;
    r->pos += n;
    return TS_OK;
}

static inline int reader_copy(struct reader *r, void *out, size_t n)
{
    const uint8_t *p;
    int rc = reader_bytes(r, n, &p);
    if (rc == TS_OK && n > 0)
        memcpy(out, p, n);
    return rc;
}

static inline int reader_u8(struct reader *r, uint8_t *out)
{
    const uint8_t *p;
    int rc = reader_bytes(r, 1, &p);
    if (rc == TS_OK)
        *out = p[0];
    return rc;
}

static inline int reader_u16(struct reader *r, uint16_t *out)
{
    const uint8_t *p;
    int rc = reader_bytes(r, 2, &p);
    if (rc == TS_OK)
        *out = (uint16_t)((uint16_t)p[0] << 8 | p[1]);
    return rc;
}

static inline int reader_u32(struct reader *r, uint32_t *out)
{
    const uint8_t *p;
    int rc = reader_bytes(r, 4, &p);
    if (rc == TS_OK)
        *out = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
               (uint32_t)p[2] << 8 | p[3];
    return rc;
}

static inline int reader_u64(struct reader *r, uint64_t *out)
{
    uint32_t hi, lo;
    int rc = reader_u32(r, &hi);
    if (rc == TS_OK)
        rc = reader_u32(r, &lo);
    if (rc == TS_OK)
        *out = (uint64_t)hi << 32 | lo;
    return rc;
}

/* TS_OK when every byte was consumed, TS_ERR_MALFORMED on trailing bytes. */
static inline int reader_expect_end(const struct reader *r)
{
    return reader_remaining(r) == 0 ? TS_OK : TS_ERR_MALFORMED;
}

struct writer {
    uint8_t *data; /* borrowed; capacity cap */
    size_t cap;
    size_t len;
    bool overflow;
};

static inline void writer_init(struct writer *w, void *data, size_t cap)
{
    w->data = data;
    w->cap = cap;
    w->len = 0;
    w->overflow = false;
}

static inline void writer_bytes(struct writer *w, const void *p, size_t n)
{
    if (w->overflow || n > w->cap - w->len) {
        w->overflow = true;
        return;
    }
    if (n > 0)
        memcpy(w->data + w->len, p, n);
    w->len += n;
}

static inline void writer_u8(struct writer *w, uint8_t v)
{
    writer_bytes(w, &v, 1);
}

static inline void writer_u16(struct writer *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    writer_bytes(w, b, sizeof(b));
}

static inline void writer_u32(struct writer *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
                    (uint8_t)v};
    writer_bytes(w, b, sizeof(b));
}

static inline void writer_u64(struct writer *w, uint64_t v)
{
    writer_u32(w, (uint32_t)(v >> 32));
    writer_u32(w, (uint32_t)v);
}

/* TS_OK, or TS_ERR_TOO_LARGE if any put did not fit. */
static inline int writer_finish(const struct writer *w)
{
    return w->overflow ? TS_ERR_TOO_LARGE : TS_OK;
}

/* Plain big-endian stores and loads for fixed headers already bounds-checked
 * by their caller. */
static inline void store_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline uint16_t load_u16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline void store_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline uint32_t load_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

#endif /* TS_UTIL_BYTES_H */
