#include "identity/keyfile.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util/bytes.h"
#include "util/error.h"

#define KF_B64 sodium_base64_VARIANT_ORIGINAL
/* Longest base64 value in the file (the encrypted seed), with its NUL. */
#define KF_B64_MAX sodium_base64_ENCODED_LEN(KEYFILE_SEALED_SEED_LEN, KF_B64)
/* Longest decimal value: a u64 has at most 20 digits. */
#define KF_DECIMAL_MAX 20
#define KF_SEPARATOR ": "
#define KF_SEPARATOR_LEN 2
/* Room for one line's complaint, before the path and line number. */
#define KF_WHAT_MAX 96

#define KEY_PUBLIC "public-key"
#define KEY_ENCRYPTION "encryption"
#define KEY_SEED "seed"
#define KEY_OPSLIMIT "argon2id-opslimit"
#define KEY_MEMLIMIT "argon2id-memlimit"
#define KEY_SALT "argon2id-salt"
#define KEY_NONCE "nonce"
#define KEY_SEALED "encrypted-seed"

static void put_line(struct writer *w, const char *key, const char *value)
{
    writer_bytes(w, key, strlen(key));
    writer_bytes(w, KF_SEPARATOR, KF_SEPARATOR_LEN);
    writer_bytes(w, value, strlen(value));
    writer_u8(w, '\n');
}

static void put_base64(struct writer *w, const char *key, const uint8_t *bin, size_t n)
{
    char b64[KF_B64_MAX];

    sodium_bin2base64(b64, sizeof(b64), bin, n, KF_B64);
    put_line(w, key, b64);
    /* The seed passes through here in clear files. */
    sodium_memzero(b64, sizeof(b64));
}

static void put_decimal(struct writer *w, const char *key, uint64_t v)
{
    char text[KF_DECIMAL_MAX + 1];

    snprintf(text, sizeof(text), "%" PRIu64, v);
    put_line(w, key, text);
}

int keyfile_format_head(const struct keyfile *kf, char *out, size_t cap, size_t *len)
{
    struct writer w;
    char magic[sizeof(KEYFILE_MAGIC) + KF_DECIMAL_MAX];

    writer_init(&w, out, cap);
    snprintf(magic, sizeof(magic), "%s%d\n", KEYFILE_MAGIC, KEYFILE_VERSION);
    writer_bytes(&w, magic, strlen(magic));
    put_base64(&w, KEY_PUBLIC, kf->public_key, sizeof(kf->public_key));
    if (!kf->encrypted) {
        put_line(&w, KEY_ENCRYPTION, KEYFILE_ENCRYPTION_NONE);
    } else {
        put_line(&w, KEY_ENCRYPTION, KEYFILE_ENCRYPTION_ARGON2ID);
        put_decimal(&w, KEY_OPSLIMIT, kf->opslimit);
        put_decimal(&w, KEY_MEMLIMIT, kf->memlimit);
        put_base64(&w, KEY_SALT, kf->salt, sizeof(kf->salt));
        put_base64(&w, KEY_NONCE, kf->nonce, sizeof(kf->nonce));
    }
    *len = w.len;
    return writer_finish(&w);
}

int keyfile_format_secret(const struct keyfile *kf, char *out, size_t cap,
                          size_t *len)
{
    struct writer w;

    writer_init(&w, out, cap);
    if (kf->encrypted)
        put_base64(&w, KEY_SEALED, kf->sealed_seed, sizeof(kf->sealed_seed));
    else
        put_base64(&w, KEY_SEED, kf->seed, sizeof(kf->seed));
    *len = w.len;
    return writer_finish(&w);
}

/* Where the parser is in the text; line numbers make details useful. */
struct line_cursor {
    struct reader r;
    const char *path;
    int lineno;
};

static int bad_line(const struct line_cursor *c, const char *what)
{
    return error_set(TS_ERR_MALFORMED, "'%s' line %d: %s; not a valid identity file",
                     c->path, c->lineno, what);
}

/* Borrow the next line without its newline. */
static int next_line(struct line_cursor *c, const char **line, size_t *len)
{
    const uint8_t *start = c->r.data + c->r.pos;
    const uint8_t *nl = memchr(start, '\n', reader_remaining(&c->r));
    const uint8_t *bytes;

    c->lineno++;
    if (nl == NULL)
        return bad_line(c, "missing line or newline");
    *len = (size_t)(nl - start);
    if (reader_bytes(&c->r, *len + 1, &bytes) != TS_OK)
        return bad_line(c, "missing line or newline");
    *line = (const char *)bytes;
    return TS_OK;
}

/* Read the next line, which must be "key: value"; borrow the value. */
static int expect_field(struct line_cursor *c, const char *key, const char **value,
                        size_t *vlen)
{
    size_t klen = strlen(key), len;
    const char *line;
    char what[KF_WHAT_MAX];
    int rc;

    if ((rc = next_line(c, &line, &len)) != TS_OK)
        return rc;
    if (len <= klen + KF_SEPARATOR_LEN || memcmp(line, key, klen) != 0 ||
        memcmp(line + klen, KF_SEPARATOR, KF_SEPARATOR_LEN) != 0) {
        snprintf(what, sizeof(what), "expected '%s: <value>'", key);
        return bad_line(c, what);
    }
    *value = line + klen + KF_SEPARATOR_LEN;
    *vlen = len - klen - KF_SEPARATOR_LEN;
    return TS_OK;
}

/* A field holding exactly n bytes in canonical padded base64. */
static int expect_base64(struct line_cursor *c, const char *key, uint8_t *out, size_t n)
{
    const char *value, *end = NULL;
    size_t vlen, got = 0;
    char what[KF_WHAT_MAX];
    int rc;

    if ((rc = expect_field(c, key, &value, &vlen)) != TS_OK)
        return rc;
    if (vlen != sodium_base64_ENCODED_LEN(n, KF_B64) - 1 ||
        sodium_base642bin(out, n, value, vlen, NULL, &got, &end, KF_B64) != 0 ||
        got != n || end != value + vlen) {
        snprintf(what, sizeof(what), "%s is not %zu bytes of base64", key, n);
        return bad_line(c, what);
    }
    return TS_OK;
}

/* A field holding a decimal number in [min, max] without sign, spaces or
 * leading zeros, so each value has one spelling. */
static int expect_decimal(struct line_cursor *c, const char *key, uint64_t min,
                          uint64_t max, uint64_t *out)
{
    const char *value;
    size_t vlen;
    uint64_t v = 0;
    char what[KF_WHAT_MAX];
    int rc;

    if ((rc = expect_field(c, key, &value, &vlen)) != TS_OK)
        return rc;
    if (vlen > KF_DECIMAL_MAX || (vlen > 1 && value[0] == '0'))
        goto bad;
    for (size_t i = 0; i < vlen; i++) {
        unsigned digit = (unsigned)(value[i] - '0');
        if (digit > 9 || v > (UINT64_MAX - digit) / 10)
            goto bad;
        v = v * 10 + digit;
    }
    if (v < min || v > max) {
        snprintf(what, sizeof(what), "%s must be between %" PRIu64 " and %" PRIu64,
                 key, min, max);
        return bad_line(c, what);
    }
    *out = v;
    return TS_OK;
bad:
    snprintf(what, sizeof(what), "%s is not a decimal number", key);
    return bad_line(c, what);
}

static int parse_magic(struct line_cursor *c)
{
    const size_t mlen = sizeof(KEYFILE_MAGIC) - 1;
    const char *line;
    size_t len;
    unsigned version = 0;

    if (next_line(c, &line, &len) != TS_OK || len <= mlen ||
        memcmp(line, KEYFILE_MAGIC, mlen) != 0)
        return error_set(TS_ERR_MALFORMED,
                         "'%s' is not a tcpseal identity file (no '%s%d' first line)",
                         c->path, KEYFILE_MAGIC, KEYFILE_VERSION);
    /* Parse the number only to tell a future version from garbage. */
    if (line[mlen] == '0')
        return bad_line(c, "malformed version");
    for (size_t i = mlen; i < len; i++) {
        unsigned digit = (unsigned)(line[i] - '0');
        if (digit > 9 || version > 100000)
            return bad_line(c, "malformed version");
        version = version * 10 + digit;
    }
    if (version != KEYFILE_VERSION)
        return error_set(TS_ERR_VERSION,
                         "'%s' is identity file format v%u; this tcpseal reads v%d",
                         c->path, version, KEYFILE_VERSION);
    return TS_OK;
}

static int parse_encryption(struct line_cursor *c, bool *encrypted)
{
    const char *value;
    size_t vlen;
    int rc;

    if ((rc = expect_field(c, KEY_ENCRYPTION, &value, &vlen)) != TS_OK)
        return rc;
    if (vlen == strlen(KEYFILE_ENCRYPTION_NONE) &&
        memcmp(value, KEYFILE_ENCRYPTION_NONE, vlen) == 0)
        *encrypted = false;
    else if (vlen == strlen(KEYFILE_ENCRYPTION_ARGON2ID) &&
             memcmp(value, KEYFILE_ENCRYPTION_ARGON2ID, vlen) == 0)
        *encrypted = true;
    else
        return bad_line(c, "unknown encryption (expected '" KEYFILE_ENCRYPTION_NONE
                           "' or '" KEYFILE_ENCRYPTION_ARGON2ID "')");
    return TS_OK;
}

static int parse_encrypted_fields(struct line_cursor *c, struct keyfile *kf)
{
    int rc;

    if ((rc = expect_decimal(c, KEY_OPSLIMIT, KEYFILE_OPSLIMIT_MIN, KEYFILE_OPSLIMIT_MAX,
                             &kf->opslimit)) != TS_OK ||
        (rc = expect_decimal(c, KEY_MEMLIMIT, KEYFILE_MEMLIMIT_MIN, KEYFILE_MEMLIMIT_MAX,
                             &kf->memlimit)) != TS_OK ||
        (rc = expect_base64(c, KEY_SALT, kf->salt, sizeof(kf->salt))) != TS_OK ||
        (rc = expect_base64(c, KEY_NONCE, kf->nonce, sizeof(kf->nonce))) != TS_OK)
        return rc;
    kf->ad_len = c->r.pos;
    return expect_base64(c, KEY_SEALED, kf->sealed_seed, sizeof(kf->sealed_seed));
}

int keyfile_parse(const char *path, const char *text, size_t len, struct keyfile *kf)
{
    struct line_cursor c;
    int rc;

    memset(kf, 0, sizeof(*kf));
    reader_init(&c.r, text, len);
    c.path = path != NULL ? path : "identity file";
    c.lineno = 0;
    if ((rc = parse_magic(&c)) != TS_OK ||
        (rc = expect_base64(&c, KEY_PUBLIC, kf->public_key, sizeof(kf->public_key))) != TS_OK ||
        (rc = parse_encryption(&c, &kf->encrypted)) != TS_OK)
        return rc;
    if (kf->encrypted)
        rc = parse_encrypted_fields(&c, kf);
    else
        rc = expect_base64(&c, KEY_SEED, kf->seed, sizeof(kf->seed));
    if (rc != TS_OK)
        return rc;
    if (reader_expect_end(&c.r) != TS_OK) {
        c.lineno++;
        return bad_line(&c, "unexpected text after the last field");
    }
    return TS_OK;
}
