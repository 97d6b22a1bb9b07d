/*
 * Token bucket: `rate` tokens per second up to `burst`. Time is passed in
 * by the caller (monotonic milliseconds) so one clock read serves several
 * buckets and tests control time.
 */
#ifndef TS_UTIL_RATELIMIT_H
#define TS_UTIL_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct ratelimit {
    double tokens;
    uint64_t last_ms;
};

/* Start full. */
static inline void ratelimit_init(struct ratelimit *r, uint64_t burst, uint64_t now_ms)
{
    r->tokens = (double)burst;
    r->last_ms = now_ms;
}

/* Take n tokens if available. rate 0 means unlimited. */
static inline bool ratelimit_take(struct ratelimit *r, uint64_t rate, uint64_t burst,
                                  uint64_t n, uint64_t now_ms)
{
    if (rate == 0)
        return true;
    if (now_ms > r->last_ms) {
        r->tokens += (double)(now_ms - r->last_ms) * (double)rate / 1000.0;
        if (r->tokens > (double)burst)
            r->tokens = (double)burst;
        r->last_ms = now_ms;
    }
    if (r->tokens < (double)n)
        return false;
    r->tokens -= (double)n;
    return true;
}

#endif /* TS_UTIL_RATELIMIT_H */
