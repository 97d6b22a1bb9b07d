/*
 * Timestamps for people and JSON: 2024-09-24T12:34:56.789Z (ISO 8601,
 * UTC, milliseconds), the one form tcpseal prints everywhere.
 */
#ifndef TS_UTIL_TIMEFMT_H
#define TS_UTIL_TIMEFMT_H

#include <stdint.h>

#define TIMEFMT_ISO_LEN 32

/* Format milliseconds since the Unix epoch into out. */
void timefmt_iso8601(uint64_t unix_ms, char out[TIMEFMT_ISO_LEN]);

#endif /* TS_UTIL_TIMEFMT_H */
