/*
 * The registered keys of chat senders, as the server's `whois` command
 * lists them (docs/protocol.md section 10.1), kept to check the
 * signatures of relayed Chat envelopes (section 10.2).
 *
 * A signed Chat envelope is VERIFIED when its signature verifies against
 * one of its sender's registered keys. A miss — a sender never looked up,
 * or none of the cached keys verifies (the sender may have bound a new
 * device since) — asks for a fresh `whois` (WHOIS_NEED_KEYS), at most
 * once per WHOIS_REFRESH_MS per user so a stream of bad signatures
 * cannot turn into a stream of lookups; after that the verdict is final
 * (WHOIS_MISMATCH).
 *
 * Bounded: at most `cap` users (the least recently used is forgotten
 * first) of at most WHOIS_MAX_KEYS keys each. Pure data: no I/O, no
 * locks; the clock is a parameter.
 */
#ifndef TS_CLIENT_WHOIS_CACHE_H
#define TS_CLIENT_WHOIS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tcpseal/common.h>
#include <tcpseal/envelope.h>

/* Users kept by default. */
#define WHOIS_CACHE_USERS 256
/* Keys kept per user (the server binds at most 16 devices to an account). */
#define WHOIS_MAX_KEYS 16
/* Longest user name (docs/chat.md). */
#define WHOIS_NAME_MAX 32
/* A miss refreshes one user at most this often. */
#define WHOIS_REFRESH_MS 2000u

enum whois_verdict {
    WHOIS_UNSIGNED,   /* no signature to check */
    WHOIS_VERIFIED,   /* signed by one of the sender's registered keys */
    WHOIS_MISMATCH,   /* signed, and no registered key of the sender verifies it */
    WHOIS_NEED_KEYS,  /* signed; look the sender up (again) and check once more */
};

struct whois_entry {
    char user[WHOIS_NAME_MAX + 1];
    uint8_t keys[WHOIS_MAX_KEYS][TS_PUBLIC_KEY_LEN];
    unsigned n_keys;
    uint64_t fetched_ms;   /* when the keys were recorded */
    uint64_t used;         /* recency, for eviction */
};

struct whois_cache {
    struct whois_entry *entries;
    size_t cap, n;
    uint64_t tick;
};

/* Empty cache of cap users (0: WHOIS_CACHE_USERS). 0 or TS_ERR_NOMEM. */
int whois_cache_init(struct whois_cache *wc, size_t cap);
void whois_cache_free(struct whois_cache *wc);

/* Record user's keys (replacing what was known; n_keys over
 * WHOIS_MAX_KEYS are cut), fetched at now_ms; 0 keys records a user the
 * server does not know. 0, or TS_ERR_INVALID for a name too long. */
int whois_cache_put(struct whois_cache *wc, const char *user,
                    const uint8_t (*keys)[TS_PUBLIC_KEY_LEN], unsigned n_keys,
                    uint64_t now_ms);

/*
 * Record the payload of a `whois` Response ({"ok":true,"user":"bob",
 * "keys":["<base64>",...]}). Keys that are not base64 of 32 bytes are
 * left out; at most WHOIS_MAX_KEYS are kept. *user (capacity
 * WHOIS_NAME_MAX + 1, may be NULL) gets the name. 0, TS_ERR_MALFORMED
 * when the payload is not such an object, or TS_ERR_INVALID when the
 * name is empty or too long (nothing recorded either way).
 */
int whois_cache_put_answer(struct whois_cache *wc, const uint8_t *payload, size_t len,
                           uint64_t now_ms, char *user);

/* The keys recorded for user, or NULL. */
const struct whois_entry *whois_cache_find(struct whois_cache *wc, const char *user);

/*
 * Judge env's signature against its sender's recorded keys at now_ms.
 * With final, never WHOIS_NEED_KEYS: an unknown sender or a miss is
 * WHOIS_MISMATCH.
 */
enum whois_verdict whois_cache_check(struct whois_cache *wc, const ts_envelope *env,
                                     uint64_t now_ms, bool final);

#endif /* TS_CLIENT_WHOIS_CACHE_H */
