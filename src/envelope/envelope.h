/*
 * Private side of envelopes: the struct layout, the wire constants and the
 * helpers shared by the codec, the seal/verify code and the JSON view (see
 * include/tcpseal/envelope.h for the public contract).
 *
 * Wire encoding, version 1, integers big-endian:
 *
 *   version u8 | type u8 | flags u8 | id u64 | correlation_id u64 |
 *   timestamp u64 | sender_len u8, sender | recipient_len u8, recipient |
 *   content_type_len u8, content_type | payload_len u32, payload |
 *   hash [32] | signature [64], present iff flags & ENVELOPE_FLAG_SIGNED
 *
 * hash = BLAKE2b-256 (unkeyed) of every byte from version through the
 * payload, so it also covers the flags; the signature is Ed25519 over
 * ENVELOPE_SIGNATURE_LABEL followed by the hash.
 */
#ifndef TS_ENVELOPE_ENVELOPE_H
#define TS_ENVELOPE_ENVELOPE_H

#include <stdbool.h>
#include <stdint.h>

#include <tcpseal/envelope.h>

#include "util/bytes.h"

/* Domain separation for envelope signatures, so a signature made here can
 * never be mistaken for one over anything else the identity signs (such
 * as its Noise static key). 29 ASCII bytes, no terminator on the wire. */
#define ENVELOPE_SIGNATURE_LABEL "tcpseal/envelope-signature/v1"
#define ENVELOPE_SIGNATURE_LABEL_LEN 29
#define ENVELOPE_SIGNED_MESSAGE_LEN (ENVELOPE_SIGNATURE_LABEL_LEN + TS_ENVELOPE_HASH_LEN)

#define ENVELOPE_FLAG_SIGNED 0x01u
#define ENVELOPE_KNOWN_FLAGS ENVELOPE_FLAG_SIGNED

#define ENVELOPE_TYPE_MIN TS_MSG_REQUEST
#define ENVELOPE_TYPE_MAX TS_MSG_NOTICE

/* version, type, flags, id, correlation id, timestamp */
#define ENVELOPE_FIXED_LEN (1 + 1 + 1 + 8 + 8 + 8)
#define ENVELOPE_NAME_PREFIX_LEN 1
#define ENVELOPE_PAYLOAD_PREFIX_LEN 4
#define ENVELOPE_NAME_FIELDS 3
/* Everything before the payload bytes, at its longest. */
#define ENVELOPE_MAX_HEAD_LEN                                                  \
    (ENVELOPE_FIXED_LEN +                                                      \
     ENVELOPE_NAME_FIELDS * (ENVELOPE_NAME_PREFIX_LEN + TS_ENVELOPE_MAX_NAME) + \
     ENVELOPE_PAYLOAD_PREFIX_LEN)

/* A sender, recipient or content type: inline, so setting one never
 * allocates and an envelope is one allocation. */
struct envelope_name {
    uint8_t len;
    char text[TS_ENVELOPE_MAX_NAME + 1]; /* NUL-terminated */
};

struct ts_envelope {
    uint64_t id;
    uint64_t correlation_id;
    uint64_t timestamp;
    uint8_t *payload;   /* NULL when empty; inline_payload or its own malloc */
    size_t payload_len;
    uint8_t type;
    bool sealed;        /* hash is that of the current fields (or as decoded) */
    bool is_signed;     /* signature belongs with hash; sets the flag bit */
    struct envelope_name sender;
    struct envelope_name recipient;
    struct envelope_name content_type;
    uint8_t hash[TS_ENVELOPE_HASH_LEN];
    uint8_t signature[TS_SIGNATURE_LEN];
    uint8_t inline_payload[]; /* where decode puts the payload */
};

/* Allocate an initialised envelope with room for payload_len payload bytes
 * after the struct (payload points there, or is NULL for 0); NULL when out
 * of memory. */
ts_envelope *envelope_alloc(uint8_t type, size_t payload_len);

/* Store len bytes of validated text as a name field. */
void envelope_name_set(struct envelope_name *name, const void *text, uint8_t len);

/* Forget the hash and signature after a field changed. */
void envelope_unseal(ts_envelope *env);

/* Write version through payload_len (everything the hash covers but the
 * payload bytes) to w; at most ENVELOPE_MAX_HEAD_LEN bytes. */
void envelope_head_write(const ts_envelope *env, struct writer *w);

/* BLAKE2b-256 of the encoding from version through the payload. 0 or
 * TS_ERR_CRYPTO. */
int envelope_hash_compute(const ts_envelope *env, uint8_t out[TS_ENVELOPE_HASH_LEN]);

/* The bytes an envelope signature covers: label || hash. */
void envelope_signed_message(const uint8_t hash[TS_ENVELOPE_HASH_LEN],
                             uint8_t out[ENVELOPE_SIGNED_MESSAGE_LEN]);

/* Wall-clock time in milliseconds since the Unix epoch. */
uint64_t envelope_now_ms(void);

#endif /* TS_ENVELOPE_ENVELOPE_H */
