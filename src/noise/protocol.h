/*
 * Protocol names (section 8), private side: the psk modifiers a name
 * carries, which noise_protocol (a plain struct with a pointer to the base
 * pattern) does not hold.
 */
#ifndef TS_NOISE_PROTOCOL_H
#define TS_NOISE_PROTOCOL_H

#include "noise/noise.h"
#include "noise/pattern.h"

/* Section 8: the longest protocol name the specification allows. */
#define NOISE_SPEC_MAX_NAME_LEN 255

/* noise_protocol_parse(), also returning the pskN modifiers as a bit set
 * (psks may be NULL). */
int noise_protocol_parse_psks(const char *name, noise_protocol *out, noise_psk_mask *psks);

#endif /* TS_NOISE_PROTOCOL_H */
