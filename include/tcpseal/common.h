/*
 * Definitions shared by every tcpseal public header.
 */
#ifndef TCPSEAL_COMMON_H
#define TCPSEAL_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* Public symbols are exported from the shared library; everything else in
 * libtcpseal is hidden. */
#if defined(TS_BUILDING_LIBRARY)
#define TS_API __attribute__((visibility("default")))
#else
#define TS_API
#endif

/* Length of an Ed25519 public key, secret key and signature. */
#define TS_PUBLIC_KEY_LEN 32
#define TS_SIGNATURE_LEN 64

/* Longest fingerprint string, including the terminating NUL. */
#define TS_FINGERPRINT_MAX 64

#endif /* TCPSEAL_COMMON_H */
