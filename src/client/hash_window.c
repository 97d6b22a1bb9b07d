/*
 * Recently seen envelope hashes (hash_window.h).
 */
#include "client/hash_window.h"

#include <string.h>

void hash_window_init(struct hash_window *w)
{
    memset(w, 0, sizeof(*w));
}

bool hash_window_contains(const struct hash_window *w,
                          const uint8_t hash[TS_ENVELOPE_HASH_LEN])
{
    /* A linear scan of at most 32 KiB per relayed message: cheaper than
     * keeping an index in step with the ring, at chat rates. */
    for (size_t i = 0; i < w->count; i++) {
        if (memcmp(w->ring[i], hash, TS_ENVELOPE_HASH_LEN) == 0)
            return true;
    }
    return false;
}

bool hash_window_add(struct hash_window *w, const uint8_t hash[TS_ENVELOPE_HASH_LEN])
{
    if (hash_window_contains(w, hash))
        return false;
    memcpy(w->ring[w->next], hash, TS_ENVELOPE_HASH_LEN);
    w->next = (w->next + 1) % HASH_WINDOW_SIZE;
    if (w->count < HASH_WINDOW_SIZE)
        w->count++;
    return true;
}
