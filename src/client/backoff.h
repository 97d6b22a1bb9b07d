/*
 * Reconnect delays: exponential backoff with full jitter.
 *
 * Attempt n (counted from 0 since the last successful session) waits a
 * delay drawn uniformly from [0, ceiling(n)], where
 *
 *     ceiling(n) = min(max_ms, initial_ms * 2^n)
 *
 * Spreading the delay over the whole range ("full jitter") keeps many
 * clients that lost the same server at the same moment from coming back in
 * step. A successful session resets the count, so the next loss starts
 * from initial_ms again.
 *
 * Pure arithmetic: no clock and no I/O; the random draw is a parameter so
 * tests can pin it.
 */
#ifndef TS_CLIENT_BACKOFF_H
#define TS_CLIENT_BACKOFF_H

#include <stdint.h>

struct backoff {
    uint32_t initial_ms; /* ceiling of the first attempt; at least 1 */
    uint32_t max_ms;     /* no ceiling above this; at least initial_ms */
    uint32_t attempt;    /* attempts drawn since the last reset */
};

/* A uniform random number in [0, upper) (libsodium's randombytes_uniform
 * has this shape). */
typedef uint32_t (*backoff_uniform_fn)(uint32_t upper);

/* Start at attempt 0. initial_ms 0 is taken as 1; a max_ms below
 * initial_ms is raised to it. */
void backoff_init(struct backoff *b, uint32_t initial_ms, uint32_t max_ms);

/* min(max_ms, initial_ms * 2^attempt) for the current attempt, without
 * overflow however many attempts were made. */
uint32_t backoff_ceiling(const struct backoff *b);

/* The delay before the next attempt, drawn from [0, ceiling] with uniform
 * (NULL: randombytes_uniform), and count the attempt. */
uint32_t backoff_next(struct backoff *b, backoff_uniform_fn uniform);

/* After a successful session: the next delay is drawn from the first
 * ceiling again. */
void backoff_reset(struct backoff *b);

#endif /* TS_CLIENT_BACKOFF_H */
