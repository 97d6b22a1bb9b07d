#include "channel/channel_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <tcpseal/protocol.h>

#include "util/bytes.h"
#include "util/clock.h"
#include "util/error.h"

static const char *const default_suites[] = {
    "Noise_XX_25519_AESGCM_SHA256",
    "Noise_XX_25519_ChaChaPoly_SHA256",
    "Noise_XX_25519_AESGCM_BLAKE2b",
    "Noise_XX_25519_ChaChaPoly_BLAKE2b",
};

const char *const *channel_default_suites(size_t *n)
{
    *n = sizeof(default_suites) / sizeof(default_suites[0]);
    return default_suites;
}

/* The channel's identity binding and payload layout assume XX over 25519:
 * both statics are sent encrypted and are 32 bytes. */
static int suite_supported(const char *name)
{
    noise_protocol proto;

    if (noise_protocol_parse(name, &proto) != TS_OK)
        return 0;
    return strncmp(name, "Noise_XX_25519_", 15) == 0;
}

static int config_check(const struct channel_config *cfg)
{
    if (cfg->credentials == NULL)
        return error_set(TS_ERR_INVALID, "channel needs credentials");
    if (cfg->n_suites > HELLO_MAX_SUITES)
        return error_set(TS_ERR_INVALID, "at most %d suites", HELLO_MAX_SUITES);
    if (cfg->max_message > TS_MAX_MESSAGE_LIMIT)
        return error_set(TS_ERR_INVALID, "maximum message size over %u bytes",
                         TS_MAX_MESSAGE_LIMIT);
    for (size_t i = 0; i < cfg->n_suites; i++) {
        if (!suite_supported(cfg->suites[i]))
            return error_set(TS_ERR_UNSUPPORTED, "suite %s cannot run a channel",
                             cfg->suites[i]);
    }
    return TS_OK;
}

int channel_new(channel **out, const struct channel_config *cfg,
                const struct channel_callbacks *cb, const struct channel_sink *sink)
{
    channel *ch;
    int rc;

    *out = NULL;
    if ((rc = config_check(cfg)) != TS_OK)
        return rc;
    ch = calloc(1, sizeof(*ch));
    if (ch == NULL)
        return TS_ERR_NOMEM;
    ch->state = CHANNEL_HELLO;
    ch->cfg = *cfg;
    if (ch->cfg.n_suites == 0)
        ch->cfg.suites = channel_default_suites(&ch->cfg.n_suites);
    if (ch->cfg.max_message == 0)
        ch->cfg.max_message = CHANNEL_DEFAULT_MAX_MESSAGE;
    if (cb != NULL)
        ch->cb = *cb;
    ch->sink = *sink;
    dbuf_init(&ch->prologue, 2 * HELLO_MAX_LEN);
    record_reader_init(&ch->records, ch->cfg.max_message);
    dbuf_init(&ch->inbuf, CHANNEL_FRAME_HEADER + NOISE_MAX_MESSAGE);
    *out = ch;
    return TS_OK;
}

int channel_start(channel *ch)
{
    if (ch->cfg.role == NOISE_RESPONDER)
        return TS_OK;
    return channel_hello_start(ch);
}

uint64_t channel_now(const channel *ch)
{
    return ch->cfg.clock_ms != NULL ? ch->cfg.clock_ms(ch->cfg.clock_arg)
                                    : clock_mono_ms();
}

void channel_set_closed(channel *ch, enum channel_state state, uint16_t reason,
                        const char *text)
{
    if (ch->state != CHANNEL_CLOSED && ch->state != CHANNEL_FAILED) {
        ch->close_reason = reason;
        snprintf(ch->close_text, sizeof(ch->close_text), "%s",
                 text != NULL ? text : ts_reason_text(reason));
    }
    ch->state = state;
}

int channel_emit(channel *ch, const uint8_t *p, size_t n)
{
    uint8_t *dst = ch->sink.reserve(ch->sink.arg, n);

    if (dst == NULL)
        return error_set(TS_ERR_LIMIT, "output queue full");
    memcpy(dst, p, n);
    ch->sink.commit(ch->sink.arg, n);
    return TS_OK;
}

int channel_next_unit(const channel *ch, const uint8_t *head, size_t avail,
                      size_t *unit_len)
{
    uint16_t len;

    *unit_len = 0;
    switch (ch->state) {
    case CHANNEL_HELLO:
        return hello_header_parse(head, avail, unit_len);
    case CHANNEL_HANDSHAKE:
    case CHANNEL_ESTABLISHED:
        if (avail < CHANNEL_FRAME_HEADER)
            return TS_OK;
        len = load_u16(head);
        if (ch->state == CHANNEL_HANDSHAKE &&
            (len == 0 || len > CHANNEL_HANDSHAKE_MAX))
            return error_set(TS_ERR_PROTOCOL, "handshake message of %u bytes", len);
        if (ch->state == CHANNEL_ESTABLISHED && len < CHANNEL_MIN_FRAME)
            return error_set(TS_ERR_PROTOCOL, "transport frame of %u bytes", len);
        *unit_len = CHANNEL_FRAME_HEADER + (size_t)len;
        return TS_OK;
    case CHANNEL_CLOSED:
    case CHANNEL_FAILED:
        break;
    }
    return error_set(TS_ERR_CLOSED, "channel closed: %s", ch->close_text);
}

int channel_input_unit(channel *ch, uint8_t *unit, size_t len)
{
    switch (ch->state) {
    case CHANNEL_HELLO:
        return channel_hello_input(ch, unit, len);
    case CHANNEL_HANDSHAKE:
        return channel_handshake_input(ch, unit, len);
    case CHANNEL_ESTABLISHED:
        return channel_transport_input(ch, unit, len);
    case CHANNEL_CLOSED:
    case CHANNEL_FAILED:
        break;
    }
    return error_set(TS_ERR_CLOSED, "channel closed: %s", ch->close_text);
}

/* Gather one unit into inbuf: first enough header to size it, then the
 * rest. Returns bytes taken from data; *ready when a whole unit is held. */
static int feed_gather(channel *ch, const uint8_t *data, size_t len, size_t *taken,
                       size_t *unit)
{
    size_t have = dbuf_size(&ch->inbuf), want;
    int rc;

    *taken = 0;
    *unit = 0;
    for (;;) {
        rc = channel_next_unit(ch, dbuf_ptr(&ch->inbuf), have, unit);
        if (rc != TS_OK)
            return rc;
        /* Unknown size: pull one more header byte; known: the rest. */
        want = *unit == 0 ? 1 : *unit - have;
        if (want == 0)
            return TS_OK;
        if (*taken == len) {
            *unit = 0;
            return TS_OK;
        }
        if (want > len - *taken)
            want = len - *taken;
        if ((rc = dbuf_append(&ch->inbuf, data + *taken, want)) != TS_OK)
            return rc;
        *taken += want;
        have += want;
        if (*unit != 0 && have == *unit)
            return TS_OK;
    }
}

int channel_feed(channel *ch, const uint8_t *data, size_t len)
{
    size_t off = 0, taken, unit;
    int rc;

    while (off < len || dbuf_size(&ch->inbuf) > 0) {
        rc = feed_gather(ch, data + off, len - off, &taken, &unit);
        if (rc != TS_OK)
            return rc;
        off += taken;
        if (unit == 0 || dbuf_size(&ch->inbuf) < unit)
            return TS_OK;
        rc = channel_input_unit(ch, dbuf_ptr(&ch->inbuf), unit);
        dbuf_consume(&ch->inbuf, unit);
        if (rc != TS_OK)
            return rc;
    }
    return TS_OK;
}

enum channel_state channel_get_state(const channel *ch)
{
    return ch->state;
}

uint16_t channel_close_reason(const channel *ch, const char **text)
{
    if (text != NULL)
        *text = ch->close_text;
    return ch->close_reason;
}

const char *channel_suite(const channel *ch)
{
    return ch->proto.name[0] != '\0' ? ch->proto.name : NULL;
}

const uint8_t *channel_peer_identity(const channel *ch)
{
    return ch->peer_identity_known ? ch->peer_identity : NULL;
}

const uint8_t *channel_handshake_hash(const channel *ch, size_t *len)
{
    *len = ch->handshake_hash_len;
    return ch->handshake_hash_len > 0 ? ch->handshake_hash : NULL;
}

void channel_get_stats(const channel *ch, struct channel_stats *out)
{
    *out = ch->stats;
}

void channel_free(channel *ch)
{
    if (ch == NULL)
        return;
    noise_handshake_free(ch->hs);
    noise_cipher_free(ch->tx);
    noise_cipher_free(ch->rx);
    record_reader_free(&ch->records);
    dbuf_free(&ch->prologue);
    dbuf_free(&ch->inbuf);
    sodium_memzero(ch, sizeof(*ch));
    free(ch);
}

static uint8_t *dbuf_sink_reserve(void *arg, size_t n)
{
    return dbuf_reserve(arg, n);
}

static void dbuf_sink_commit(void *arg, size_t n)
{
    dbuf_commit(arg, n);
}

struct channel_sink channel_sink_dbuf(struct dbuf *buf)
{
    struct channel_sink sink = {buf, dbuf_sink_reserve, dbuf_sink_commit};
    return sink;
}
