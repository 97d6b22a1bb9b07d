/*
 * Private layout of a channel, shared by the files that implement its
 * stages: channel.c (life cycle and input), channel_handshake.c (hello and
 * Noise handshake), channel_transport.c (frames after the handshake).
 */
#ifndef TS_CHANNEL_CHANNEL_INTERNAL_H
#define TS_CHANNEL_CHANNEL_INTERNAL_H

#include "channel/channel.h"
#include "channel/record.h"

#define CHANNEL_DEFAULT_MAX_MESSAGE (1024u * 1024u)
/* A handshake message of the XX pattern with our payloads is under 256
 * bytes; this bounds what a peer can make us hold during the handshake. */
#define CHANNEL_HANDSHAKE_MAX 1024
/* Close reasons are short; longer peer text is cut. */
#define CHANNEL_CLOSE_TEXT_MAX 127

struct channel {
    enum channel_state state;
    struct channel_config cfg;
    struct channel_callbacks cb;
    struct channel_sink sink;

    noise_protocol proto;
    noise_handshake *hs;
    noise_cipher *tx;
    noise_cipher *rx;

    /* Both hello messages, kept until they become the prologue. */
    struct dbuf prologue;

    uint8_t peer_identity[TS_PUBLIC_KEY_LEN];
    bool peer_identity_known;
    uint8_t handshake_hash[NOISE_MAX_HASH_LEN];
    size_t handshake_hash_len;

    struct record_reader records;
    uint64_t frames_since_rekey;
    uint64_t last_rekey_ms;
    struct channel_stats stats;

    uint16_t close_reason;
    char close_text[CHANNEL_CLOSE_TEXT_MAX + 1];

    struct dbuf inbuf; /* partial unit, for channel_feed() only */
};

/* Move to CLOSED/FAILED, remembering why (first reason wins). */
void channel_set_closed(channel *ch, enum channel_state state, uint16_t reason,
                        const char *text);

/* Current monotonic time through the configured clock. */
uint64_t channel_now(const channel *ch);

/* Copy bytes to the sink: 0 or TS_ERR_LIMIT. */
int channel_emit(channel *ch, const uint8_t *p, size_t n);

/* Stage handlers for one input unit. */
int channel_handshake_input(channel *ch, uint8_t *unit, size_t len);
int channel_transport_input(channel *ch, uint8_t *unit, size_t len);

/* Server side of a hello unit; client side of the server's answer. */
int channel_hello_input(channel *ch, uint8_t *unit, size_t len);

/* Client: encode and send the ClientHello. */
int channel_hello_start(channel *ch);

/* Server: refuse in the hello with reason. */
int channel_hello_reject(channel *ch, uint16_t reason, const char *text);

/* Write one encrypted frame of the given type whose plaintext body is the
 * concatenation of a and b (either may be empty). */
int channel_write_frame(channel *ch, uint8_t type, const uint8_t *a, size_t alen,
                        const uint8_t *b, size_t blen);

#endif /* TS_CHANNEL_CHANNEL_INTERNAL_H */
