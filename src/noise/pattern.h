/*
 * Handshake patterns (section 7): the one-way (7.4), fundamental
 * interactive (7.5) and deferred (7.6) patterns as token tables, and the
 * psk modifiers of section 9.4 applied to them.
 */
#ifndef TS_NOISE_PATTERN_H
#define TS_NOISE_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "noise/noise.h"

enum noise_token {
    NOISE_TOKEN_END = 0, /* ends a message's token list */
    NOISE_TOKEN_E,
    NOISE_TOKEN_S,
    NOISE_TOKEN_EE,
    NOISE_TOKEN_ES,
    NOISE_TOKEN_SE,
    NOISE_TOKEN_SS,
    NOISE_TOKEN_PSK,
};

/* pskN modifiers as a bit set: bit N set for pskN. */
typedef uint16_t noise_psk_mask;
#define NOISE_PSK_MAX_INDEX NOISE_MAX_PATTERN_MESSAGES

struct noise_pattern {
    const char *name;   /* base name, e.g. "XK1" */
    bool pre_initiator; /* "-> s" pre-message: the responder knows s */
    bool pre_responder; /* "<- s" pre-message: the initiator knows rs */
    /* Message k is sent by the initiator when k is even. A row ends at the
     * first NOISE_TOKEN_END; the first empty row ends the pattern. */
    uint8_t tokens[NOISE_MAX_PATTERN_MESSAGES][NOISE_MAX_PATTERN_TOKENS];
};

/* The base pattern named by the len bytes at name, or NULL. */
const struct noise_pattern *noise_pattern_find(const char *name, size_t len);

/* Number of handshake messages. */
size_t noise_pattern_messages(const struct noise_pattern *p);

/* Section 7.4: one message, so only the initiator ever sends. */
bool noise_pattern_is_one_way(const struct noise_pattern *p);

/* Number of tokens in message msg. */
size_t noise_pattern_tokens(const struct noise_pattern *p, size_t msg);

/*
 * Section 9.4: copy base to out with psk0 placing a "psk" token at the start
 * of the first message and pskN (N >= 1) one at the end of message N.
 * Returns 0, TS_ERR_UNSUPPORTED when N names no message of the pattern or a
 * message would exceed NOISE_MAX_PATTERN_TOKENS.
 */
int noise_pattern_apply_psks(const struct noise_pattern *base, noise_psk_mask psks,
                             struct noise_pattern *out);

/* Number of "psk" tokens in the pattern. */
size_t noise_pattern_psk_count(const struct noise_pattern *p);

#endif /* TS_NOISE_PATTERN_H */
