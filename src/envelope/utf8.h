/*
 * Strict UTF-8 validation (RFC 3629): shortest form only, no surrogates,
 * nothing above U+10FFFF. Envelope strings must pass it without NUL;
 * payloads pass it, NUL allowed, to be shown as JSON text.
 */
#ifndef TS_ENVELOPE_UTF8_H
#define TS_ENVELOPE_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when the n bytes at p are valid UTF-8, containing U+0000 only if
 * allow_nul. */
bool utf8_valid(const uint8_t *p, size_t n, bool allow_nul);

#endif /* TS_ENVELOPE_UTF8_H */
