/*
 * Client identities for a run.
 *
 * The server numbers messages per sender identity, across every
 * connection of that identity (docs/protocol.md section 5), so two
 * connections sharing an identity must not both count from 1. Scenarios
 * that send requests therefore give each connection slot an identity of
 * its own, whose counter carries on when the slot reconnects; scenarios
 * that only connect share one identity, since the handshake cost does
 * not depend on it. Keys are made before the run starts, so their cost
 * never shows in a measurement.
 */
#ifndef TS_BENCH_KEYS_H
#define TS_BENCH_KEYS_H

#include <stdint.h>

#include <tcpseal/identity.h>

#include "channel/channel.h"

struct bench_key {
    ts_identity *id;
    struct channel_credentials creds; /* Noise static key bound to id */
    char fingerprint[TS_FINGERPRINT_MAX];
    uint64_t next_id; /* the sender's next sequence number, from 1 */
};

/* Make n fresh keys: 0, or -1 after printing why. *out is freed with
 * keys_free(). */
int keys_create(struct bench_key **out, unsigned n);

/* Wipe and free n keys; NULL is ignored. */
void keys_free(struct bench_key *keys, unsigned n);

#endif /* TS_BENCH_KEYS_H */
