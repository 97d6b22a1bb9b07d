/*
 * Clocks. Deadlines and rates use the monotonic clock, which never jumps;
 * timestamps that leave the process use wall-clock time.
 */
#ifndef TS_UTIL_CLOCK_H
#define TS_UTIL_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Milliseconds on the monotonic clock (coarse: a few ms resolution, but a
 * fraction of the cost, which matters on per-frame paths). */
static inline uint64_t clock_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Microseconds on the precise monotonic clock, for latency measurements. */
static inline uint64_t clock_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Milliseconds since the Unix epoch. */
static inline uint64_t clock_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Milliseconds left until deadline_ms (monotonic) as a poll() timeout:
 * -1 for no deadline (0), 0 once it has passed. */
static inline int clock_poll_timeout(uint64_t deadline_ms)
{
    uint64_t now;

    if (deadline_ms == 0)
        return -1;
    now = clock_mono_ms();
    if (now >= deadline_ms)
        return 0;
    return deadline_ms - now > (uint64_t)INT32_MAX ? INT32_MAX : (int)(deadline_ms - now);
}

#endif /* TS_UTIL_CLOCK_H */
