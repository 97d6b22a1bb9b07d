/*
 * Transport frames of an established channel.
 *
 * frame      = u16 length || ciphertext            (length 17..65535)
 * ciphertext = AEAD(k, n, ad = empty, plaintext)  (n: implicit counter)
 * plaintext  = u8 type || body                     (types in record.h)
 *
 * Nonces are implicit counters, so a replayed, reordered, dropped or
 * reflected frame fails authentication and ends the channel.
 */
#include "channel/channel_internal.h"

#include <stdio.h>
#include <string.h>

#include <tcpseal/protocol.h>

#include "util/bytes.h"
#include "util/error.h"

int channel_write_frame(channel *ch, uint8_t type, const uint8_t *a, size_t alen,
                        const uint8_t *b, size_t blen)
{
    size_t plain = 1 + alen + blen;
    size_t total = CHANNEL_FRAME_HEADER + plain + NOISE_TAG_LEN;
    uint8_t *out;
    int rc;

    if (plain > FRAME_MAX_PLAINTEXT)
        return error_set(TS_ERR_TOO_LARGE, "frame body of %zu bytes", plain);
    out = ch->sink.reserve(ch->sink.arg, total);
    if (out == NULL)
        return error_set(TS_ERR_LIMIT, "output queue full");
    /* Assemble the plaintext where the ciphertext goes and seal in place:
     * one copy of the message, no scratch buffer. */
    store_u16(out, (uint16_t)(plain + NOISE_TAG_LEN));
    out[CHANNEL_FRAME_HEADER] = type;
    if (alen > 0)
        memcpy(out + CHANNEL_FRAME_HEADER + 1, a, alen);
    if (blen > 0)
        memcpy(out + CHANNEL_FRAME_HEADER + 1 + alen, b, blen);
    rc = noise_cipher_encrypt(ch->tx, NULL, 0, out + CHANNEL_FRAME_HEADER, plain,
                              out + CHANNEL_FRAME_HEADER);
    if (rc != TS_OK) {
        /* Nothing was committed; the stream is unchanged but unusable. */
        channel_set_closed(ch, CHANNEL_FAILED, TS_REASON_NONCE_EXHAUSTED, NULL);
        return rc;
    }
    ch->sink.commit(ch->sink.arg, total);
    ch->stats.frames_out++;
    ch->frames_since_rekey++;
    return TS_OK;
}

/* Noise section 11.3: rekey after a number of messages or an age, signalled
 * in band so the receiver rekeys at exactly the same frame. */
static int maybe_rekey(channel *ch)
{
    bool due = ch->cfg.rekey_after_frames != 0 &&
               ch->frames_since_rekey >= ch->cfg.rekey_after_frames;
    uint64_t now = 0;
    int rc;

    if (!due && ch->cfg.rekey_after_ms != 0) {
        now = channel_now(ch);
        due = now - ch->last_rekey_ms >= ch->cfg.rekey_after_ms;
    }
    if (!due)
        return TS_OK;
    if ((rc = channel_write_frame(ch, FRAME_REKEY, NULL, 0, NULL, 0)) != TS_OK ||
        (rc = noise_cipher_rekey(ch->tx)) != TS_OK)
        return rc;
    ch->frames_since_rekey = 0;
    ch->last_rekey_ms = now != 0 ? now : channel_now(ch);
    ch->stats.rekeys_sent++;
    return TS_OK;
}

int channel_send(channel *ch, const uint8_t *msg, size_t len)
{
    uint8_t total[4];
    size_t off, chunk;
    int rc;

    if (ch->state != CHANNEL_ESTABLISHED)
        return error_set(TS_ERR_STATE, "channel is not established");
    if (len > TS_MAX_MESSAGE_LIMIT)
        return error_set(TS_ERR_TOO_LARGE, "message of %zu bytes exceeds %u", len,
                         TS_MAX_MESSAGE_LIMIT);
    store_u32(total, (uint32_t)len);
    chunk = len < RECORD_BEGIN_MAX_FRAGMENT ? len : RECORD_BEGIN_MAX_FRAGMENT;
    if ((rc = maybe_rekey(ch)) != TS_OK ||
        (rc = channel_write_frame(ch, FRAME_RECORD_BEGIN, total, sizeof(total), msg,
                                  chunk)) != TS_OK)
        return rc;
    for (off = chunk; off < len; off += chunk) {
        chunk = len - off < RECORD_CONT_MAX_FRAGMENT ? len - off : RECORD_CONT_MAX_FRAGMENT;
        if ((rc = maybe_rekey(ch)) != TS_OK ||
            (rc = channel_write_frame(ch, FRAME_RECORD_CONT, NULL, 0, msg + off,
                                      chunk)) != TS_OK)
            return rc;
    }
    ch->stats.records_out++;
    return TS_OK;
}

int channel_send_ping(channel *ch)
{
    uint8_t stamp[CHANNEL_PING_LEN];
    uint64_t now = channel_now(ch);

    if (ch->state != CHANNEL_ESTABLISHED)
        return error_set(TS_ERR_STATE, "channel is not established");
    /* Our own clock in the ping, echoed back: the RTT needs no state. */
    store_u32(stamp, (uint32_t)(now >> 32));
    store_u32(stamp + 4, (uint32_t)now);
    return channel_write_frame(ch, FRAME_PING, stamp, sizeof(stamp), NULL, 0);
}

int channel_close(channel *ch, uint16_t reason, const char *text)
{
    uint8_t head[3];
    size_t n;
    int rc = TS_OK;

    if (text == NULL)
        text = ts_reason_text(reason);
    n = strnlen(text, CHANNEL_CLOSE_TEXT_MAX);
    if (ch->state == CHANNEL_HELLO && ch->cfg.role == NOISE_RESPONDER)
        return channel_hello_reject(ch, reason, text);
    if (ch->state == CHANNEL_ESTABLISHED) {
        store_u16(head, reason);
        head[2] = (uint8_t)n;
        rc = channel_write_frame(ch, FRAME_CLOSE, head, sizeof(head),
                                 (const uint8_t *)text, n);
    }
    channel_set_closed(ch, CHANNEL_CLOSED, reason, text);
    return rc;
}

static int close_input(channel *ch, const uint8_t *body, size_t len)
{
    struct reader r;
    const uint8_t *text;
    uint16_t reason;
    uint8_t text_len;
    char copy[CHANNEL_CLOSE_TEXT_MAX + 1];
    size_t n;

    reader_init(&r, body, len);
    if (reader_u16(&r, &reason) != TS_OK || reader_u8(&r, &text_len) != TS_OK ||
        reader_bytes(&r, text_len, &text) != TS_OK || reader_expect_end(&r) != TS_OK)
        return error_set(TS_ERR_PROTOCOL, "malformed CLOSE frame");
    n = text_len < CHANNEL_CLOSE_TEXT_MAX ? text_len : CHANNEL_CLOSE_TEXT_MAX;
    for (size_t i = 0; i < n; i++)
        copy[i] = (text[i] < 0x20 || text[i] == 0x7f) ? '?' : (char)text[i];
    copy[n] = '\0';
    channel_set_closed(ch, CHANNEL_CLOSED, reason, copy);
    if (ch->cb.on_peer_close != NULL)
        ch->cb.on_peer_close(ch->cb.arg, reason, ch->close_text);
    return TS_OK;
}

static int record_input(channel *ch, uint8_t type, uint8_t *body, size_t len)
{
    struct record_result res;
    int rc;

    if ((rc = record_reader_frame(&ch->records, type, body, len, &res)) != TS_OK)
        return rc;
    if (res.status == RECORD_OVERSIZE) {
        if (ch->cb.on_oversize != NULL)
            return ch->cb.on_oversize(ch->cb.arg, res.total);
        return TS_OK;
    }
    if (res.status != RECORD_COMPLETE)
        return TS_OK;
    ch->stats.records_in++;
    rc = ch->cb.on_message != NULL ? ch->cb.on_message(ch->cb.arg, res.data, res.len)
                                   : TS_OK;
    record_reader_release(&ch->records);
    return rc;
}

static int pong_input(channel *ch, const uint8_t *body, size_t len)
{
    uint64_t sent, now;

    if (len != CHANNEL_PING_LEN)
        return error_set(TS_ERR_PROTOCOL, "malformed PONG frame");
    sent = (uint64_t)load_u32(body) << 32 | load_u32(body + 4);
    now = channel_now(ch);
    if (ch->cb.on_pong != NULL)
        ch->cb.on_pong(ch->cb.arg, now >= sent ? now - sent : 0);
    return TS_OK;
}

static int frame_dispatch(channel *ch, uint8_t *plain, size_t len)
{
    uint8_t type = plain[0];
    uint8_t *body = plain + 1;
    size_t blen = len - 1;

    switch (type) {
    case FRAME_RECORD_BEGIN:
    case FRAME_RECORD_CONT:
        return record_input(ch, type, body, blen);
    case FRAME_PING:
        if (blen != CHANNEL_PING_LEN)
            return error_set(TS_ERR_PROTOCOL, "malformed PING frame");
        if (ch->cb.on_ping != NULL)
            ch->cb.on_ping(ch->cb.arg);
        return channel_write_frame(ch, FRAME_PONG, body, blen, NULL, 0);
    case FRAME_PONG:
        return pong_input(ch, body, blen);
    case FRAME_REKEY:
        if (blen != 0)
            return error_set(TS_ERR_PROTOCOL, "malformed REKEY frame");
        ch->stats.rekeys_received++;
        return noise_cipher_rekey(ch->rx);
    case FRAME_CLOSE:
        return close_input(ch, body, blen);
    default:
        return error_set(TS_ERR_PROTOCOL, "unknown frame type %u", type);
    }
}

/* A broken frame ends the channel; the peer still gets a CLOSE with the
 * reason, since our sending direction is intact. */
static int transport_fail(channel *ch, int rc)
{
    uint16_t reason = rc == TS_ERR_DECRYPT ? TS_REASON_DECRYPT_FAILED
                      : rc == TS_ERR_NONCE_EXHAUSTED ? TS_REASON_NONCE_EXHAUSTED
                      : rc == TS_ERR_NOMEM ? TS_REASON_INTERNAL_ERROR
                                           : TS_REASON_PROTOCOL_ERROR;
    char detail[CHANNEL_CLOSE_TEXT_MAX + 1];

    if (ch->state == CHANNEL_ESTABLISHED) {
        snprintf(detail, sizeof(detail), "%s", ts_error_detail(rc));
        channel_close(ch, reason, NULL);
        ch->state = CHANNEL_FAILED;
        snprintf(ch->close_text, sizeof(ch->close_text), "%s", detail);
    }
    return rc;
}

int channel_transport_input(channel *ch, uint8_t *unit, size_t len)
{
    uint8_t *ct = unit + CHANNEL_FRAME_HEADER;
    size_t ctlen = len - CHANNEL_FRAME_HEADER;
    int rc;

    if (len < CHANNEL_FRAME_HEADER + CHANNEL_MIN_FRAME || load_u16(unit) != ctlen)
        return transport_fail(ch, error_set(TS_ERR_PROTOCOL, "frame length mismatch"));
    rc = noise_cipher_decrypt(ch->rx, NULL, 0, ct, ctlen, ct);
    if (rc == TS_ERR_DECRYPT)
        rc = error_set(TS_ERR_DECRYPT, "a frame failed authentication");
    if (rc != TS_OK)
        return transport_fail(ch, rc);
    ch->stats.frames_in++;
    rc = frame_dispatch(ch, ct, ctlen - NOISE_TAG_LEN);
    if (rc != TS_OK && rc != TS_ERR_LIMIT && ch->state == CHANNEL_ESTABLISHED)
        return transport_fail(ch, rc);
    return rc;
}
