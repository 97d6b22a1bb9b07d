/*
 * The HandshakeState of section 5.3, private side: its layout, shared by
 * handshake.c (setup, Split(), queries) and handshake_message.c
 * (WriteMessage() and ReadMessage(), token by token).
 *
 * Every failure is final: noise_handshake_fail() moves the state to
 * NOISE_HS_FAILED and wipes every secret at once, so a message is processed in
 * place on the live state; there is nothing to roll back to.
 */
#ifndef TS_NOISE_HANDSHAKE_H
#define TS_NOISE_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "noise/dh.h"
#include "noise/noise.h"
#include "noise/pattern.h"
#include "noise/symmetric.h"

enum noise_handshake_state {
    NOISE_HS_SETUP,    /* keys and prologue may be given; start() not yet called */
    NOISE_HS_RUNNING,  /* handshake messages being exchanged */
    NOISE_HS_COMPLETE, /* last message processed; Split() pending */
    NOISE_HS_SPLIT,    /* Split() done; only h is left */
    NOISE_HS_FAILED,
};

struct noise_handshake {
    noise_protocol proto;
    struct noise_pattern pattern; /* base pattern with its psk tokens placed */
    struct noise_symmetric ss;
    noise_role role;
    enum noise_handshake_state state;
    size_t msg; /* index of the next handshake message */
    size_t n_messages;
    bool psk_mode; /* section 9.2: "e" is followed by MixKey(e) */
    bool prologue_mixed;
    bool has_s, has_e, has_rs, has_re;
    size_t n_psks, next_psk;
    uint8_t s_priv[NOISE_MAX_DH_LEN], s_pub[NOISE_MAX_DH_LEN];
    uint8_t e_priv[NOISE_MAX_DH_LEN], e_pub[NOISE_MAX_DH_LEN];
    uint8_t rs[NOISE_MAX_DH_LEN];
    uint8_t re[NOISE_MAX_DH_LEN];
    uint8_t psks[NOISE_MAX_PSKS][NOISE_PSK_LEN];
};

static inline size_t noise_handshake_dh_len(const noise_handshake *hs)
{
    return hs->proto.dh->len;
}

static inline bool noise_handshake_is_initiator(const noise_handshake *hs)
{
    return hs->role == NOISE_INITIATOR;
}

/* Section 7: messages alternate, the initiator sending the first. */
static inline bool noise_handshake_initiator_sends(size_t msg)
{
    return msg % 2 == 0;
}

static inline bool noise_handshake_our_turn_to_write(const noise_handshake *hs)
{
    return noise_handshake_initiator_sends(hs->msg) == noise_handshake_is_initiator(hs);
}

/* The one exit for every failure: moves hs to NOISE_HS_FAILED, wipes every
 * secret it holds and returns rc. */
int noise_handshake_fail(noise_handshake *hs, int rc);

/* noise_handshake_fail() with a detail recorded by error_set(). */
int noise_handshake_failf(noise_handshake *hs, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Wipe the private keys and PSKs (public keys stay). */
void noise_handshake_wipe_secrets(noise_handshake *hs);

#endif /* TS_NOISE_HANDSHAKE_H */
