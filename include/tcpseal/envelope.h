/*
 * Envelopes: every tcpseal message.
 *
 * An envelope carries a type, a per-sender sequence number (its id), the id
 * of the message it answers (correlation id, 0 for none), a timestamp in
 * milliseconds since the Unix epoch, sender, recipient and content type
 * strings, a payload, a BLAKE2b-256 hash over all of these, and optionally an
 * Ed25519 signature over a domain-separation label and the hash. The binary
 * encoding is canonical and versioned; docs/protocol.md gives it field by
 * field.
 *
 * Life cycle: ts_envelope_new(), set fields, ts_envelope_seal() (computes
 * the hash and, given an identity, the signature), ts_envelope_encode().
 * A receiver calls ts_envelope_decode() (strict: every length checked,
 * unknown version, type or trailing bytes rejected) and then
 * ts_envelope_verify() and, per sender, a ts_replay_window.
 *
 * Ownership: an envelope owns copies of every field set on it; getters
 * return pointers valid until the field is set again or the envelope is
 * freed. Setting any field after sealing clears the hash and signature
 * (the envelope must be sealed again). Envelopes are not thread-safe.
 */
#ifndef TCPSEAL_ENVELOPE_H
#define TCPSEAL_ENVELOPE_H

#include <stdbool.h>

#include <tcpseal/common.h>
#include <tcpseal/error.h>
#include <tcpseal/identity.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Encoding version written by this library (the first byte). */
#define TS_ENVELOPE_VERSION 1
/* BLAKE2b-256. */
#define TS_ENVELOPE_HASH_LEN 32
/* Longest sender, recipient or content type string, in bytes. */
#define TS_ENVELOPE_MAX_NAME 255
/* Largest payload the encoding can carry (the record layer enforces the
 * configured, usually smaller, maximum message size). */
#define TS_ENVELOPE_MAX_PAYLOAD (64u * 1024u * 1024u)

typedef enum ts_msg_type {
    TS_MSG_REQUEST = 1,  /* client asks, server answers with a Response */
    TS_MSG_RESPONSE = 2, /* answer to a Request (correlation id = its id) */
    TS_MSG_ERROR = 3,    /* a request or message was refused; code + text */
    TS_MSG_CHAT = 4,     /* a chat message for a room or a user */
    TS_MSG_ACK = 5,      /* the server stored a message (chat, direct) */
    TS_MSG_EVENT = 6,    /* server-generated notice: join, leave, presence */
    TS_MSG_COMMAND = 7,  /* client control request: join, login, history... */
    TS_MSG_NOTICE = 8,   /* a message the server operator sent to a client */
} ts_msg_type;

typedef struct ts_envelope ts_envelope;

/* Name of a type as used in JSON ("Request", ...), or NULL if unknown. */
TS_API const char *ts_msg_type_name(int type);

/* Parse a type name back: 0 or TS_ERR_INVALID. */
TS_API int ts_msg_type_parse(const char *name, ts_msg_type *out);

/* A new, empty envelope of the given type with timestamp = now. 0,
 * TS_ERR_INVALID (unknown type) or TS_ERR_NOMEM. */
TS_API int ts_envelope_new(ts_envelope **out, ts_msg_type type);

TS_API void ts_envelope_set_id(ts_envelope *env, uint64_t id);
TS_API void ts_envelope_set_correlation_id(ts_envelope *env, uint64_t id);
TS_API void ts_envelope_set_timestamp(ts_envelope *env, uint64_t unix_ms);

/* String setters copy the NUL-terminated text (at most TS_ENVELOPE_MAX_NAME
 * bytes; it must be valid UTF-8). 0, TS_ERR_TOO_LARGE, TS_ERR_MALFORMED or
 * TS_ERR_NOMEM. */
TS_API int ts_envelope_set_sender(ts_envelope *env, const char *text);
TS_API int ts_envelope_set_recipient(ts_envelope *env, const char *text);
TS_API int ts_envelope_set_content_type(ts_envelope *env, const char *text);

/* Copy the payload (any bytes, up to TS_ENVELOPE_MAX_PAYLOAD). */
TS_API int ts_envelope_set_payload(ts_envelope *env, const void *data, size_t len);

TS_API ts_msg_type ts_envelope_type(const ts_envelope *env);
TS_API uint64_t ts_envelope_id(const ts_envelope *env);
TS_API uint64_t ts_envelope_correlation_id(const ts_envelope *env);
TS_API uint64_t ts_envelope_timestamp(const ts_envelope *env);
/* Never NULL: "" when unset. */
TS_API const char *ts_envelope_sender(const ts_envelope *env);
TS_API const char *ts_envelope_recipient(const ts_envelope *env);
TS_API const char *ts_envelope_content_type(const ts_envelope *env);
/* The payload and its length (the pointer may be NULL when len is 0). */
TS_API const uint8_t *ts_envelope_payload(const ts_envelope *env, size_t *len);

/* The hash (TS_ENVELOPE_HASH_LEN bytes), or NULL before sealing. */
TS_API const uint8_t *ts_envelope_hash(const ts_envelope *env);
/* The signature (TS_SIGNATURE_LEN bytes), or NULL when unsigned. */
TS_API const uint8_t *ts_envelope_signature(const ts_envelope *env);
TS_API bool ts_envelope_is_signed(const ts_envelope *env);

/*
 * Compute the hash and, when signer is not NULL, sign it. 0 or
 * TS_ERR_CRYPTO.
 */
TS_API int ts_envelope_seal(ts_envelope *env, const ts_identity *signer);

/*
 * Encode a sealed envelope. *out is malloc'd (caller frees) and *len set.
 * 0, TS_ERR_STATE (not sealed) or TS_ERR_NOMEM.
 */
TS_API int ts_envelope_encode(const ts_envelope *env, uint8_t **out, size_t *len);

/* Exact size ts_envelope_encode() would produce. */
TS_API size_t ts_envelope_encoded_size(const ts_envelope *env);

/* Encode into a caller buffer of capacity cap: 0, TS_ERR_STATE or
 * TS_ERR_TOO_LARGE. */
TS_API int ts_envelope_encode_to(const ts_envelope *env, uint8_t *out, size_t cap,
                                 size_t *len);

/*
 * Strict decode of one encoded envelope occupying exactly len bytes.
 * Errors: TS_ERR_TRUNCATED, TS_ERR_VERSION, TS_ERR_MALFORMED (unknown type
 * or flag, invalid UTF-8 or NUL in a string, trailing bytes),
 * TS_ERR_TOO_LARGE, TS_ERR_NOMEM. The hash is not checked here: see
 * ts_envelope_verify().
 */
TS_API int ts_envelope_decode(const uint8_t *data, size_t len, ts_envelope **out);

/* What ts_envelope_verify() checks besides the hash. */
typedef struct ts_verify_opts {
    /* Sender's Ed25519 public key, or NULL. With a key, a signed envelope
     * must verify against it; an unsigned one passes unless
     * require_signature. Without a key a signature cannot be checked and
     * verification fails with TS_ERR_BAD_SIGNATURE if one is present
     * and require_signature is set. */
    const uint8_t *public_key;
    bool require_signature;
    /* Accept timestamps within this many milliseconds of now_ms, either
     * way; 0 disables the check. */
    uint64_t max_skew_ms;
    /* Current time in ms since the epoch; 0 means the system clock. */
    uint64_t now_ms;
} ts_verify_opts;

/*
 * Check the hash, then the signature, then the timestamp. Returns 0,
 * TS_ERR_BAD_HASH, TS_ERR_BAD_SIGNATURE or TS_ERR_STALE (the first that
 * fails).
 */
TS_API int ts_envelope_verify(const ts_envelope *env, const ts_verify_opts *opts);

/*
 * JSON rendering, one object on one line:
 * {"type":"Request","id":7,"correlation_id":3,"timestamp":"2024-09-24T12:34:56.789Z",
 *  "sender":"...","recipient":"...","content_type":"...","payload":"Hello",
 *  "hash":"<hex>","signature":"<base64>"}
 * correlation_id, recipient and content_type appear only when set;
 * signature only when signed. A payload that is not valid UTF-8 is given in
 * base64 with "payload_encoding":"base64". *out is malloc'd; caller frees.
 */
TS_API int ts_envelope_to_json(const ts_envelope *env, char **out);

/* A copy of env, every field and the hash and signature as they are, in
 * *out (caller frees). 0, or ts_envelope_encode()'s and
 * ts_envelope_decode()'s errors. */
TS_API int ts_envelope_clone(const ts_envelope *env, ts_envelope **out);

/* Free the envelope and its fields (the payload is wiped). NULL ignored. */
TS_API void ts_envelope_free(ts_envelope *env);

/*
 * Per-sender replay window: accepts each sequence number at most once,
 * tolerating reordering within the last TS_REPLAY_WINDOW numbers below the
 * highest seen; anything older is refused as a duplicate, since it can no
 * longer be told apart from one.
 */
#define TS_REPLAY_WINDOW 1024

typedef struct ts_replay_window {
    uint64_t highest;                     /* highest accepted, 0 = none */
    uint64_t bits[TS_REPLAY_WINDOW / 64]; /* bit i: highest - i accepted */
} ts_replay_window;

/* Start empty. */
TS_API void ts_replay_window_init(ts_replay_window *w);

/* Accept seq (>= 1) and remember it: 0, or TS_ERR_DUPLICATE when it was
 * already accepted or is too old to tell; TS_ERR_INVALID for 0. */
TS_API int ts_replay_window_accept(ts_replay_window *w, uint64_t seq);

/* Like accept, but only asks: 0 if accept would succeed. */
TS_API int ts_replay_window_check(const ts_replay_window *w, uint64_t seq);

#ifdef __cplusplus
}
#endif

#endif /* TCPSEAL_ENVELOPE_H */
