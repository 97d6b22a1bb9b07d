/*
 * The hashes of the last envelopes seen, to drop one that arrives twice.
 *
 * Envelopes relayed from other users (Chat, docs/protocol.md section
 * 10.2) carry their sender's sequence numbers, not the server's, so the
 * per-sender window of section 5 does not apply to them; their hash
 * names them instead. The window remembers the last HASH_WINDOW_SIZE
 * hashes in a ring: the oldest is forgotten first, so memory stays
 * fixed (HASH_WINDOW_SIZE * 32 bytes). A repeat older than that is not
 * recognised, which only costs showing it twice.
 *
 * Pure data: no I/O, no locks.
 */
#ifndef TS_CLIENT_HASH_WINDOW_H
#define TS_CLIENT_HASH_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tcpseal/envelope.h>

#define HASH_WINDOW_SIZE 1024

struct hash_window {
    uint8_t ring[HASH_WINDOW_SIZE][TS_ENVELOPE_HASH_LEN];
    size_t next;   /* slot the next hash goes to */
    size_t count;  /* slots in use (up to HASH_WINDOW_SIZE) */
};

/* Start empty. */
void hash_window_init(struct hash_window *w);

/* True when hash is among the remembered ones. */
bool hash_window_contains(const struct hash_window *w,
                          const uint8_t hash[TS_ENVELOPE_HASH_LEN]);

/* Remember hash unless it is there already: true when it was new, false
 * for a repeat. */
bool hash_window_add(struct hash_window *w, const uint8_t hash[TS_ENVELOPE_HASH_LEN]);

#endif /* TS_CLIENT_HASH_WINDOW_H */
