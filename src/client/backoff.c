/*
 * Exponential backoff with full jitter (backoff.h).
 */
#include "client/backoff.h"

#include <sodium.h>

#include "util/crypto_init.h"

void backoff_init(struct backoff *b, uint32_t initial_ms, uint32_t max_ms)
{
    b->initial_ms = initial_ms != 0 ? initial_ms : 1;
    b->max_ms = max_ms >= b->initial_ms ? max_ms : b->initial_ms;
    b->attempt = 0;
}

uint32_t backoff_ceiling(const struct backoff *b)
{
    uint64_t ceiling = b->initial_ms;

    /* Doubling stops at the cap, so a long outage cannot overflow. */
    for (uint32_t i = 0; i < b->attempt && ceiling < b->max_ms; i++)
        ceiling *= 2;
    return ceiling < b->max_ms ? (uint32_t)ceiling : b->max_ms;
}

static uint32_t sodium_uniform(uint32_t upper)
{
    /* crypto_init() is idempotent; randombytes needs libsodium ready. */
    (void)crypto_init();
    return randombytes_uniform(upper);
}

uint32_t backoff_next(struct backoff *b, backoff_uniform_fn uniform)
{
    uint32_t ceiling = backoff_ceiling(b);
    uint32_t delay;

    if (uniform == NULL)
        uniform = sodium_uniform;
    /* [0, ceiling] inclusive: ceiling + 1 cannot wrap, since a ceiling is
     * at most max_ms and UINT32_MAX milliseconds is not a useful cap; it
     * is clamped anyway. */
    delay = ceiling == UINT32_MAX ? uniform(UINT32_MAX) : uniform(ceiling + 1);
    if (delay > ceiling)
        delay = ceiling;
    if (b->attempt < UINT32_MAX)
        b->attempt++;
    return delay;
}

void backoff_reset(struct backoff *b)
{
    b->attempt = 0;
}
