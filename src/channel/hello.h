/*
 * The cleartext hello that opens every connection.
 *
 * The client names the protocol version it speaks and the Noise protocols
 * it offers, in preference order; the server answers with the one it
 * accepts, or with a reason for refusing the connection (server full,
 * unsupported version or suite, rate limited, shutting down). Refusals
 * happen here, before any cryptographic work. Both hello messages, byte for
 * byte, become the Noise prologue, so an attacker who edits either one
 * makes the handshake fail.
 *
 * Every hello message starts with the same 8-byte header, whatever the
 * version, so any version can read another's header and answer it:
 *
 *   magic "TSEL" (4) | version u8 | kind u8 | body length u16 (big-endian)
 */
#ifndef TS_CHANNEL_HELLO_H
#define TS_CHANNEL_HELLO_H

#include <stddef.h>
#include <stdint.h>

#include "noise/noise.h"

#define HELLO_MAGIC "TSEL"
#define HELLO_MAGIC_LEN 4
#define HELLO_HEADER_LEN 8
/* Bodies are short; anything longer is not a hello. */
#define HELLO_MAX_BODY 1024
#define HELLO_MAX_LEN (HELLO_HEADER_LEN + HELLO_MAX_BODY)
#define HELLO_MAX_SUITES 8
#define HELLO_MAX_TEXT 255

enum hello_kind {
    HELLO_CLIENT = 1, /* client offers */
    HELLO_ACCEPT = 2, /* server accepts one suite */
    HELLO_REJECT = 3, /* server refuses with a reason */
};

struct hello_client {
    uint8_t version;
    uint8_t n_suites;
    char suites[HELLO_MAX_SUITES][NOISE_MAX_NAME_LEN + 1];
};

struct hello_server {
    uint8_t version;
    uint8_t kind;                          /* HELLO_ACCEPT or HELLO_REJECT */
    char suite[NOISE_MAX_NAME_LEN + 1];    /* when accepted */
    uint16_t reason;                       /* when rejected: a ts_reason */
    char text[HELLO_MAX_TEXT + 1];         /* when rejected */
};

/*
 * Read the header at p (n bytes available). Sets *total to the full message
 * length and returns 0 once 8 bytes are present; with fewer, returns 0 and
 * sets *total to 0. Fails with TS_ERR_MALFORMED on a wrong magic and
 * TS_ERR_TOO_LARGE when the body length exceeds HELLO_MAX_BODY.
 */
int hello_header_parse(const uint8_t *p, size_t n, size_t *total);

/* Encode a ClientHello into out (capacity cap); *len gets its size. */
int hello_client_encode(const struct hello_client *h, uint8_t *out, size_t cap,
                        size_t *len);

/*
 * Parse one complete ClientHello of exactly n bytes. A version other than
 * TS_PROTOCOL_VERSION fails with TS_ERR_VERSION after setting out->version,
 * so the server can say which version it speaks. Other errors:
 * TS_ERR_MALFORMED (wrong kind, bad count or name, trailing bytes),
 * TS_ERR_TRUNCATED.
 */
int hello_client_parse(const uint8_t *p, size_t n, struct hello_client *out);

/* Encode a ServerHello accepting suite. */
int hello_accept_encode(const char *suite, uint8_t *out, size_t cap, size_t *len);

/* Encode a ServerHello refusing with reason and text (text is truncated to
 * HELLO_MAX_TEXT bytes). */
int hello_reject_encode(uint16_t reason, const char *text, uint8_t *out,
                        size_t cap, size_t *len);

/* Parse one complete ServerHello of exactly n bytes: TS_ERR_VERSION,
 * TS_ERR_MALFORMED or TS_ERR_TRUNCATED on failure. */
int hello_server_parse(const uint8_t *p, size_t n, struct hello_server *out);

#endif /* TS_CHANNEL_HELLO_H */
