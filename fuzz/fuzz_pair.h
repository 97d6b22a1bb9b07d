/*
 * A client and server channel with fixed keys, wired through byte buffers,
 * for fuzz targets that need an established or half-open channel.
 */
#ifndef TS_FUZZ_PAIR_H
#define TS_FUZZ_PAIR_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <tcpseal/identity.h>

#include "channel/channel_internal.h"

struct fuzz_side {
    struct dbuf out;
    channel *ch;
};

/* Identities and their bindings cost more than the code under test; make
 * them once per process. */
static const struct channel_credentials *fuzz_credentials(uint8_t seed_byte)
{
    static struct channel_credentials cache[2];
    static bool made[2];
    size_t slot = (seed_byte >> 1) & 1; /* the client uses 1, the server 3 */
    uint8_t seed[32], stat[32];
    ts_identity *id = NULL;

    if (made[slot])
        return &cache[slot];
    memset(seed, seed_byte, sizeof(seed));
    memset(stat, seed_byte + 1, sizeof(stat));
    if (ts_identity_from_seed(seed, &id) != 0 ||
        channel_credentials_from_static(&cache[slot], id, stat) != 0)
        abort();
    ts_identity_free(id);
    made[slot] = true;
    return &cache[slot];
}

static uint64_t fuzz_clock(void *arg)
{
    return 1;
}

static int fuzz_on_message(void *arg, uint8_t *data, size_t len)
{
    /* Touch every byte so the sanitizers see the whole record. */
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < len; i++)
        sink ^= data[i];
    (void)sink;
    return 0;
}

static void fuzz_side_init(struct fuzz_side *s, noise_role role, uint8_t seed_byte)
{
    struct channel_config cfg = {.role = role, .credentials = fuzz_credentials(seed_byte),
                                 .max_message = 200000, .clock_ms = fuzz_clock,
                                 .rekey_after_frames = 5};
    struct channel_callbacks cb = {.on_message = fuzz_on_message};
    struct channel_sink sink;

    dbuf_init(&s->out, 1u << 26);
    sink = channel_sink_dbuf(&s->out);
    if (channel_new(&s->ch, &cfg, &cb, &sink) != 0)
        abort();
}

static void fuzz_side_free(struct fuzz_side *s)
{
    channel_free(s->ch);
    dbuf_free(&s->out);
}

/* Move what `from` wrote into `to`. */
static int fuzz_deliver(struct fuzz_side *from, struct fuzz_side *to)
{
    size_t n = dbuf_size(&from->out);
    uint8_t *copy = malloc(n + 1);
    int rc;

    memcpy(copy, dbuf_ptr(&from->out), n);
    dbuf_reset(&from->out);
    rc = channel_feed(to->ch, copy, n);
    free(copy);
    return rc;
}
#endif /* TS_FUZZ_PAIR_H */
