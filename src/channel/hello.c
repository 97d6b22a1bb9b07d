#include "channel/hello.h"

#include <string.h>

#include <tcpseal/protocol.h>

#include "util/bytes.h"
#include "util/error.h"

int hello_header_parse(const uint8_t *p, size_t n, size_t *total)
{
    uint16_t body;

    size_t magic_seen = n < HELLO_MAGIC_LEN ? n : HELLO_MAGIC_LEN;

    *total = 0;
    /* Judge the magic on its first byte already, so garbage is refused
     * without waiting for more of it. */
    if (magic_seen > 0 && memcmp(p, HELLO_MAGIC, magic_seen) != 0)
        return error_set(TS_ERR_MALFORMED, "not a tcpseal hello (wrong magic)");
    if (n < HELLO_HEADER_LEN)
        return TS_OK;
    body = load_u16(p + 6);
    if (body > HELLO_MAX_BODY)
        return error_set(TS_ERR_TOO_LARGE, "hello body of %u bytes exceeds %d",
                         body, HELLO_MAX_BODY);
    *total = HELLO_HEADER_LEN + (size_t)body;
    return TS_OK;
}

/* Protocol names are printable ASCII without spaces. */
static int suite_name_valid(const uint8_t *p, size_t n)
{
    if (n == 0 || n > NOISE_MAX_NAME_LEN)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] <= 0x20 || p[i] >= 0x7f)
            return 0;
    }
    return 1;
}

static void header_write(struct writer *w, uint8_t kind, size_t body_len)
{
    writer_bytes(w, HELLO_MAGIC, HELLO_MAGIC_LEN);
    writer_u8(w, TS_PROTOCOL_VERSION);
    writer_u8(w, kind);
    writer_u16(w, (uint16_t)body_len);
}

/* Reads the fixed header of a complete message and checks kind and length;
 * leaves the reader at the body. */
static int header_read(struct reader *r, uint8_t *version, uint8_t *kind)
{
    const uint8_t *magic;
    uint16_t body_len;
    int rc;

    if ((rc = reader_bytes(r, HELLO_MAGIC_LEN, &magic)) != TS_OK ||
        (rc = reader_u8(r, version)) != TS_OK || (rc = reader_u8(r, kind)) != TS_OK ||
        (rc = reader_u16(r, &body_len)) != TS_OK)
        return rc;
    if (memcmp(magic, HELLO_MAGIC, HELLO_MAGIC_LEN) != 0)
        return error_set(TS_ERR_MALFORMED, "not a tcpseal hello (wrong magic)");
    if (body_len != reader_remaining(r))
        return error_set(TS_ERR_MALFORMED, "hello length field does not match");
    return TS_OK;
}

static int read_suite(struct reader *r, char *out)
{
    const uint8_t *name;
    uint8_t len;
    int rc;

    if ((rc = reader_u8(r, &len)) != TS_OK || (rc = reader_bytes(r, len, &name)) != TS_OK)
        return rc;
    if (!suite_name_valid(name, len))
        return error_set(TS_ERR_MALFORMED, "hello carries an invalid protocol name");
    memcpy(out, name, len);
    out[len] = '\0';
    return TS_OK;
}

int hello_client_encode(const struct hello_client *h, uint8_t *out, size_t cap,
                        size_t *len)
{
    struct writer w;
    size_t body = 1;

    if (h->n_suites == 0 || h->n_suites > HELLO_MAX_SUITES)
        return error_set(TS_ERR_INVALID, "a hello offers 1 to %d suites", HELLO_MAX_SUITES);
    for (uint8_t i = 0; i < h->n_suites; i++) {
        size_t n = strlen(h->suites[i]);
        if (!suite_name_valid((const uint8_t *)h->suites[i], n))
            return error_set(TS_ERR_INVALID, "invalid protocol name '%s'", h->suites[i]);
        body += 1 + n;
    }
    writer_init(&w, out, cap);
    header_write(&w, HELLO_CLIENT, body);
    writer_u8(&w, h->n_suites);
    for (uint8_t i = 0; i < h->n_suites; i++) {
        size_t n = strlen(h->suites[i]);
        writer_u8(&w, (uint8_t)n);
        writer_bytes(&w, h->suites[i], n);
    }
    *len = w.len;
    return writer_finish(&w);
}

int hello_client_parse(const uint8_t *p, size_t n, struct hello_client *out)
{
    struct reader r;
    uint8_t kind;
    int rc;

    memset(out, 0, sizeof(*out));
    reader_init(&r, p, n);
    if ((rc = header_read(&r, &out->version, &kind)) != TS_OK)
        return rc;
    if (out->version != TS_PROTOCOL_VERSION)
        return error_set(TS_ERR_VERSION, "client speaks protocol version %u",
                         out->version);
    if (kind != HELLO_CLIENT)
        return error_set(TS_ERR_MALFORMED, "expected a client hello, got kind %u", kind);
    if ((rc = reader_u8(&r, &out->n_suites)) != TS_OK)
        return rc;
    if (out->n_suites == 0 || out->n_suites > HELLO_MAX_SUITES)
        return error_set(TS_ERR_MALFORMED, "client hello offers %u suites", out->n_suites);
    for (uint8_t i = 0; i < out->n_suites; i++) {
        if ((rc = read_suite(&r, out->suites[i])) != TS_OK)
            return rc;
    }
    if (reader_expect_end(&r) != TS_OK)
        return error_set(TS_ERR_MALFORMED, "trailing bytes after client hello");
    return TS_OK;
}

int hello_accept_encode(const char *suite, uint8_t *out, size_t cap, size_t *len)
{
    struct writer w;
    size_t n = strlen(suite);

    if (!suite_name_valid((const uint8_t *)suite, n))
        return error_set(TS_ERR_INVALID, "invalid protocol name '%s'", suite);
    writer_init(&w, out, cap);
    header_write(&w, HELLO_ACCEPT, 1 + n);
    writer_u8(&w, (uint8_t)n);
    writer_bytes(&w, suite, n);
    *len = w.len;
    return writer_finish(&w);
}

int hello_reject_encode(uint16_t reason, const char *text, uint8_t *out,
                        size_t cap, size_t *len)
{
    struct writer w;
    size_t n = text != NULL ? strnlen(text, HELLO_MAX_TEXT) : 0;

    writer_init(&w, out, cap);
    header_write(&w, HELLO_REJECT, 2 + 1 + n);
    writer_u16(&w, reason);
    writer_u8(&w, (uint8_t)n);
    writer_bytes(&w, text, n);
    *len = w.len;
    return writer_finish(&w);
}

/* Reason text comes from the peer: keep it printable for terminals and logs. */
static void copy_text(char *out, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (p[i] < 0x20 || p[i] == 0x7f) ? '?' : (char)p[i];
    out[n] = '\0';
}

int hello_server_parse(const uint8_t *p, size_t n, struct hello_server *out)
{
    struct reader r;
    const uint8_t *text;
    uint8_t text_len;
    int rc;

    memset(out, 0, sizeof(*out));
    reader_init(&r, p, n);
    if ((rc = header_read(&r, &out->version, &out->kind)) != TS_OK)
        return rc;
    if (out->version != TS_PROTOCOL_VERSION && out->kind != HELLO_REJECT)
        return error_set(TS_ERR_VERSION, "server speaks protocol version %u",
                         out->version);
    if (out->kind == HELLO_ACCEPT) {
        rc = read_suite(&r, out->suite);
    } else if (out->kind == HELLO_REJECT) {
        if ((rc = reader_u16(&r, &out->reason)) == TS_OK &&
            (rc = reader_u8(&r, &text_len)) == TS_OK &&
            (rc = reader_bytes(&r, text_len, &text)) == TS_OK)
            copy_text(out->text, text, text_len);
    } else {
        return error_set(TS_ERR_MALFORMED, "expected a server hello, got kind %u",
                         out->kind);
    }
    if (rc != TS_OK)
        return rc;
    if (reader_expect_end(&r) != TS_OK)
        return error_set(TS_ERR_MALFORMED, "trailing bytes after server hello");
    return TS_OK;
}
