#include "envelope/envelope.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "envelope/utf8.h"
#include "util/error.h"

static void name_write(struct writer *w, const struct envelope_name *name)
{
    writer_u8(w, name->len);
    writer_bytes(w, name->text, name->len);
}

void envelope_head_write(const ts_envelope *env, struct writer *w)
{
    writer_u8(w, TS_ENVELOPE_VERSION);
    writer_u8(w, env->type);
    writer_u8(w, env->is_signed ? ENVELOPE_FLAG_SIGNED : 0);
    writer_u64(w, env->id);
    writer_u64(w, env->correlation_id);
    writer_u64(w, env->timestamp);
    name_write(w, &env->sender);
    name_write(w, &env->recipient);
    name_write(w, &env->content_type);
    /* Setters cap the payload at TS_ENVELOPE_MAX_PAYLOAD, below 2^32. */
    writer_u32(w, (uint32_t)env->payload_len);
}

size_t ts_envelope_encoded_size(const ts_envelope *env)
{
    return ENVELOPE_FIXED_LEN + ENVELOPE_NAME_FIELDS * ENVELOPE_NAME_PREFIX_LEN +
           env->sender.len + env->recipient.len + env->content_type.len +
           ENVELOPE_PAYLOAD_PREFIX_LEN + env->payload_len + TS_ENVELOPE_HASH_LEN +
           (env->is_signed ? TS_SIGNATURE_LEN : 0);
}

int ts_envelope_encode_to(const ts_envelope *env, uint8_t *out, size_t cap, size_t *len)
{
    struct writer w;
    size_t need;

    if (env == NULL || len == NULL || (out == NULL && cap > 0))
        return error_set(TS_ERR_INVALID, "envelope encode: missing argument");
    if (!env->sealed)
        return error_set(TS_ERR_STATE,
                         "envelope is not sealed: call ts_envelope_seal() before encoding");
    need = ts_envelope_encoded_size(env);
    if (need > cap)
        return error_set(TS_ERR_TOO_LARGE,
                         "envelope needs %zu bytes; the buffer holds %zu", need, cap);
    writer_init(&w, out, cap);
    envelope_head_write(env, &w);
    writer_bytes(&w, env->payload, env->payload_len);
    writer_bytes(&w, env->hash, sizeof(env->hash));
    if (env->is_signed)
        writer_bytes(&w, env->signature, sizeof(env->signature));
    *len = w.len;
    return writer_finish(&w);
}

int ts_envelope_encode(const ts_envelope *env, uint8_t **out, size_t *len)
{
    uint8_t *buf;
    size_t need;
    int rc;

    if (env == NULL || out == NULL || len == NULL)
        return error_set(TS_ERR_INVALID, "envelope encode: missing argument");
    *out = NULL;
    *len = 0;
    if (!env->sealed)
        return error_set(TS_ERR_STATE,
                         "envelope is not sealed: call ts_envelope_seal() before encoding");
    need = ts_envelope_encoded_size(env);
    buf = malloc(need);
    if (buf == NULL)
        return error_set(TS_ERR_NOMEM, "envelope encode: out of memory for %zu bytes",
                         need);
    if ((rc = ts_envelope_encode_to(env, buf, need, len)) != TS_OK) {
        free(buf);
        return rc;
    }
    *out = buf;
    return TS_OK;
}

/* The fields of an encoding, borrowed from the input until it is known to
 * be well formed, so that nothing is allocated for a rejected message. */
struct wire_view {
    uint8_t type;
    uint8_t flags;
    uint64_t id;
    uint64_t correlation_id;
    uint64_t timestamp;
    const uint8_t *names[ENVELOPE_NAME_FIELDS];
    uint8_t name_lens[ENVELOPE_NAME_FIELDS];
    const uint8_t *payload;
    uint32_t payload_len;
    const uint8_t *hash;
    const uint8_t *signature;
};

static const char *const name_fields[ENVELOPE_NAME_FIELDS] = {"sender", "recipient",
                                                             "content type"};

static int truncated(const char *field)
{
    return error_set(TS_ERR_TRUNCATED, "envelope truncated in its %s", field);
}

static int read_header(struct reader *r, struct wire_view *v)
{
    uint8_t version;

    if (reader_u8(r, &version) != TS_OK)
        return truncated("version");
    if (version != TS_ENVELOPE_VERSION)
        return error_set(TS_ERR_VERSION, "envelope version %u is not supported (expected %d)",
                         version, TS_ENVELOPE_VERSION);
    if (reader_u8(r, &v->type) != TS_OK)
        return truncated("type");
    if (v->type < ENVELOPE_TYPE_MIN || v->type > ENVELOPE_TYPE_MAX)
        return error_set(TS_ERR_MALFORMED, "envelope type %u is unknown", v->type);
    if (reader_u8(r, &v->flags) != TS_OK)
        return truncated("flags");
    if ((v->flags & ~ENVELOPE_KNOWN_FLAGS) != 0)
        return error_set(TS_ERR_MALFORMED, "envelope flags 0x%02x include unknown bits",
                         v->flags);
    if (reader_u64(r, &v->id) != TS_OK)
        return truncated("id");
    if (reader_u64(r, &v->correlation_id) != TS_OK)
        return truncated("correlation id");
    if (reader_u64(r, &v->timestamp) != TS_OK)
        return truncated("timestamp");
    return TS_OK;
}

static int read_name(struct reader *r, int i, struct wire_view *v)
{
    if (reader_u8(r, &v->name_lens[i]) != TS_OK ||
        reader_bytes(r, v->name_lens[i], &v->names[i]) != TS_OK)
        return truncated(name_fields[i]);
    if (!utf8_valid(v->names[i], v->name_lens[i], false))
        return error_set(TS_ERR_MALFORMED,
                         "envelope %s is not valid UTF-8 or contains NUL", name_fields[i]);
    return TS_OK;
}

static int read_body(struct reader *r, struct wire_view *v)
{
    int rc;

    for (int i = 0; i < ENVELOPE_NAME_FIELDS; i++) {
        if ((rc = read_name(r, i, v)) != TS_OK)
            return rc;
    }
    if (reader_u32(r, &v->payload_len) != TS_OK)
        return truncated("payload length");
    /* Before the bytes are looked for, so the limit is what gets reported. */
    if (v->payload_len > TS_ENVELOPE_MAX_PAYLOAD)
        return error_set(TS_ERR_TOO_LARGE, "envelope payload of %u bytes exceeds %u",
                         v->payload_len, TS_ENVELOPE_MAX_PAYLOAD);
    if (reader_bytes(r, v->payload_len, &v->payload) != TS_OK)
        return truncated("payload");
    if (reader_bytes(r, TS_ENVELOPE_HASH_LEN, &v->hash) != TS_OK)
        return truncated("hash");
    v->signature = NULL;
    if ((v->flags & ENVELOPE_FLAG_SIGNED) != 0 &&
        reader_bytes(r, TS_SIGNATURE_LEN, &v->signature) != TS_OK)
        return truncated("signature");
    if (reader_expect_end(r) != TS_OK)
        return error_set(TS_ERR_MALFORMED, "envelope followed by %zu unexpected bytes",
                         reader_remaining(r));
    return TS_OK;
}

int ts_envelope_decode(const uint8_t *data, size_t len, ts_envelope **out)
{
    struct wire_view v = {0};
    struct reader r;
    ts_envelope *env;
    int rc;

    if (out == NULL || (data == NULL && len > 0))
        return error_set(TS_ERR_INVALID, "envelope decode: missing argument");
    *out = NULL;
    reader_init(&r, data, len);
    if ((rc = read_header(&r, &v)) != TS_OK || (rc = read_body(&r, &v)) != TS_OK)
        return rc;
    env = envelope_alloc(v.type, v.payload_len);
    if (env == NULL)
        return error_set(TS_ERR_NOMEM, "envelope decode: out of memory");
    env->id = v.id;
    env->correlation_id = v.correlation_id;
    env->timestamp = v.timestamp;
    envelope_name_set(&env->sender, v.names[0], v.name_lens[0]);
    envelope_name_set(&env->recipient, v.names[1], v.name_lens[1]);
    envelope_name_set(&env->content_type, v.names[2], v.name_lens[2]);
    if (v.payload_len > 0)
        memcpy(env->payload, v.payload, v.payload_len);
    memcpy(env->hash, v.hash, TS_ENVELOPE_HASH_LEN);
    env->is_signed = v.signature != NULL;
    if (env->is_signed)
        memcpy(env->signature, v.signature, TS_SIGNATURE_LEN);
    /* Sealed as received: ts_envelope_verify() judges the hash. */
    env->sealed = true;
    *out = env;
    return TS_OK;
}

int ts_envelope_clone(const ts_envelope *env, ts_envelope **out)
{
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = ts_envelope_encode(env, &data, &len);

    *out = NULL;
    if (rc == TS_OK)
        rc = ts_envelope_decode(data, len, out);
    if (data != NULL) {
        sodium_memzero(data, len);
        free(data);
    }
    return rc;
}
