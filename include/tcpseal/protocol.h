/*
 * Wire-level constants of the tcpseal protocol that applications see:
 * reason codes carried by hello rejections, CLOSE frames and Error
 * envelopes. docs/protocol.md is the normative description.
 */
#ifndef TCPSEAL_PROTOCOL_H
#define TCPSEAL_PROTOCOL_H

#include <tcpseal/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Protocol version sent in the hello. */
#define TS_PROTOCOL_VERSION 1

/* Default Noise protocol of the channel. */
#define TS_DEFAULT_SUITE "Noise_XX_25519_AESGCM_SHA256"

/* Default and hard maximum size of one message (record). */
#define TS_DEFAULT_MAX_MESSAGE (1024u * 1024u)
#define TS_MAX_MESSAGE_LIMIT (64u * 1024u * 1024u)

typedef enum ts_reason {
    TS_REASON_NONE = 0,

    /* 1-15: the server refused the connection in its hello answer. */
    TS_REASON_SERVER_FULL = 1,
    TS_REASON_UNSUPPORTED_VERSION = 2,
    TS_REASON_UNSUPPORTED_SUITE = 3,
    TS_REASON_RATE_LIMITED = 4,
    TS_REASON_SHUTTING_DOWN = 5,
    TS_REASON_TOO_MANY_FROM_ADDRESS = 6,
    TS_REASON_BAD_HELLO = 7,

    /* 16-63: why an established channel was closed (CLOSE frame). */
    TS_REASON_NORMAL = 16,
    TS_REASON_PROTOCOL_ERROR = 17,
    TS_REASON_DECRYPT_FAILED = 18,
    TS_REASON_HANDSHAKE_TIMEOUT = 19,
    TS_REASON_IDLE_TIMEOUT = 20,
    TS_REASON_KICKED = 21,
    TS_REASON_SLOW_CONSUMER = 22,
    TS_REASON_SERVER_SHUTDOWN = 23,
    TS_REASON_IDENTITY_REJECTED = 24,
    TS_REASON_AUTH_TIMEOUT = 25,
    TS_REASON_NONCE_EXHAUSTED = 26,
    TS_REASON_INTERNAL_ERROR = 27,
    TS_REASON_CLIENT_EXIT = 28,

    /* 100-199: an Error envelope refusing one message; the connection
     * stays open. */
    TS_REASON_BAD_ENVELOPE = 100,
    TS_REASON_BAD_HASH = 101,
    TS_REASON_BAD_SIGNATURE = 102,
    TS_REASON_STALE_TIMESTAMP = 103,
    TS_REASON_TOO_LARGE = 104,
    TS_REASON_MESSAGE_RATE = 105,
    TS_REASON_NOT_ALLOWED = 106,
    TS_REASON_DUPLICATE = 107,
    TS_REASON_UNSUPPORTED_TYPE = 108,
    TS_REASON_SERVER_ERROR = 109,
    TS_REASON_BAD_SENDER = 110,
    TS_REASON_NOT_FOUND = 111,
    TS_REASON_INVALID_ARGUMENT = 112,
    TS_REASON_AUTH_FAILED = 113,
    TS_REASON_ACCOUNT_LOCKED = 114,
    TS_REASON_ALREADY_EXISTS = 115,
    TS_REASON_LOGIN_REQUIRED = 116,
    TS_REASON_TRY_LATER = 117,
} ts_reason;

/* Short English text for a reason ("server full"); never NULL. */
TS_API const char *ts_reason_text(int reason);

/* Stable snake_case name for a reason ("server_full"), for logs and JSON;
 * "unknown" for codes this version does not know. */
TS_API const char *ts_reason_name(int reason);

#ifdef __cplusplus
}
#endif

#endif /* TCPSEAL_PROTOCOL_H */
