/*
 * The secure channel: hello, Noise handshake, then encrypted transport
 * frames carrying records, pings, rekeys and a closing reason.
 *
 * The channel does no I/O (in the manner of BearSSL's engine): the owner
 * feeds it the bytes that arrived and gives it a sink for the bytes to
 * send; events come back through callbacks. Sockets, TLS and event loops
 * stay outside, so tests and fuzzers drive it directly.
 *
 * Byte stream, in order:
 *   client -> server  ClientHello                         (hello.h)
 *   server -> client  ServerHello: accept or reject
 *   both              handshake messages, each u16 length + Noise message
 *                     (XX: -> e; <- e, ee, s, es; -> s, se)
 *   both              transport frames, each u16 length + ciphertext
 *
 * The two hello messages form the Noise prologue. The second and third
 * handshake payloads carry each side's identity binding:
 *   u8 kind (1) | Ed25519 identity public key (32) |
 *   Ed25519 signature (64) over "tcpseal/noise-static/v1" || Noise static key
 * and the receiver verifies it against the static key the handshake just
 * authenticated.
 *
 * Input comes in units (a hello message or a length-prefixed frame):
 * channel_next_unit() says how long the next unit is from its first bytes,
 * channel_input_unit() consumes exactly one, decrypting in place. An event
 * loop can therefore hand over frames straight from its input buffer;
 * channel_feed() does the buffering for callers that read arbitrary chunks.
 *
 * Ownership: the channel copies its configuration, except the credentials
 * and suite strings, which must outlive it. A channel is used by one thread
 * at a time. Callbacks run inside channel_* calls and must not free the
 * channel; they may call channel_send() and channel_close().
 */
#ifndef TS_CHANNEL_CHANNEL_H
#define TS_CHANNEL_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tcpseal/common.h>
#include <tcpseal/identity.h>

#include "channel/hello.h"
#include "noise/noise.h"
#include "util/dbuf.h"

/* Domain-separation label of the identity binding signature. */
#define CHANNEL_BINDING_LABEL "tcpseal/noise-static/v1"
#define CHANNEL_BINDING_KIND 1
#define CHANNEL_BINDING_LEN (1 + TS_PUBLIC_KEY_LEN + TS_SIGNATURE_LEN)
#define CHANNEL_STATIC_LEN 32 /* X25519: the only DH the channel offers */
#define CHANNEL_FRAME_HEADER 2
#define CHANNEL_PING_LEN 8
/* Smallest transport frame: a type byte and the tag. */
#define CHANNEL_MIN_FRAME (1 + NOISE_TAG_LEN)

/* Long-lived keys of one endpoint, shared read-only by all its channels:
 * a Noise static key pair made for this process and its binding to the
 * identity, signed once. */
struct channel_credentials {
    uint8_t static_priv[CHANNEL_STATIC_LEN];
    uint8_t static_pub[CHANNEL_STATIC_LEN];
    uint8_t identity_pub[TS_PUBLIC_KEY_LEN];
    uint8_t binding_sig[TS_SIGNATURE_LEN];
};

/* Generate a fresh static key and sign its binding with id. */
int channel_credentials_init(struct channel_credentials *c, const ts_identity *id);

/* As above with a given static private key (worked examples, tests). */
int channel_credentials_from_static(struct channel_credentials *c,
                                    const ts_identity *id, const uint8_t *static_priv);

/* Wipe the static private key. */
void channel_credentials_wipe(struct channel_credentials *c);

struct channel_config {
    noise_role role; /* NOISE_INITIATOR = client, NOISE_RESPONDER = server */
    const struct channel_credentials *credentials;
    /* Client: suites offered, in preference order. Server: suites accepted,
     * in preference order. NULL/0 = channel_default_suites(). Every suite
     * must be an XX pattern with DH 25519. */
    const char *const *suites;
    size_t n_suites;
    size_t max_message;           /* largest record received; 0 = 1 MiB */
    uint64_t rekey_after_frames;  /* rekey the send key after this many; 0 = never */
    uint64_t rekey_after_ms;      /* ... or after this long; 0 = never */
    /* Monotonic milliseconds; NULL = the system's monotonic clock. */
    uint64_t (*clock_ms)(void *arg);
    void *clock_arg;
    /* Fixed ephemeral key for reproducible transcripts (worked example
     * only; never in production). NULL = fresh. */
    const uint8_t *test_ephemeral;
};

struct channel_hello_info {
    const struct hello_client *hello;
};

/*
 * Events. Any of them may be NULL. Callbacks returning int may return a
 * negative error code to stop processing: the input call then fails with
 * it.
 */
struct channel_callbacks {
    void *arg;
    /* Server: a well-formed ClientHello arrived. Return 0 to continue the
     * handshake or a ts_reason to refuse the connection in the hello. */
    uint16_t (*on_hello)(void *arg, const struct hello_client *hello);
    /* The peer proved its identity key. Return 0 to go on, or an error
     * (e.g. TS_ERR_KEY_MISMATCH for a pinned key) to abort before this
     * side sends anything more. */
    int (*on_peer_identity)(void *arg, const uint8_t identity[TS_PUBLIC_KEY_LEN]);
    /* The handshake is complete; channel_send() is now allowed. */
    int (*on_established)(void *arg);
    /* One complete message. data may be modified; valid during the call. */
    int (*on_message)(void *arg, uint8_t *data, size_t len);
    /* The peer announced a message of size bytes, over the limit; it is
     * being skipped. */
    int (*on_oversize)(void *arg, uint64_t size);
    /* The peer pinged us (the PONG is already queued). */
    void (*on_ping)(void *arg);
    /* Answer to our ping, with the round-trip time. */
    void (*on_pong)(void *arg, uint64_t rtt_ms);
    /* The peer refused the hello or closed the channel. */
    void (*on_peer_close)(void *arg, uint16_t reason, const char *text);
};

/* Where output goes. reserve() returns room for n bytes or NULL when the
 * output is full (the send then fails with TS_ERR_LIMIT); commit() makes
 * the first n reserved bytes final. */
struct channel_sink {
    void *arg;
    uint8_t *(*reserve)(void *arg, size_t n);
    void (*commit)(void *arg, size_t n);
};

/* A sink that appends to a dbuf (which the caller owns). */
struct channel_sink channel_sink_dbuf(struct dbuf *buf);

enum channel_state {
    CHANNEL_HELLO,       /* exchanging hellos */
    CHANNEL_HANDSHAKE,   /* Noise handshake in progress */
    CHANNEL_ESTABLISHED, /* transport */
    CHANNEL_CLOSED,      /* closed with a reason, by either side */
    CHANNEL_FAILED,      /* broken by an error; drop the connection */
};

struct channel_stats {
    uint64_t frames_in, frames_out;
    uint64_t records_in, records_out;
    uint64_t rekeys_sent, rekeys_received;
};

typedef struct channel channel;

/* The suites offered/accepted by default: XX, 25519, {AESGCM, ChaChaPoly}
 * x {SHA256, BLAKE2b}, AESGCM_SHA256 first. */
const char *const *channel_default_suites(size_t *n);

/* Create a channel. 0, TS_ERR_INVALID (no credentials), TS_ERR_UNSUPPORTED
 * (a suite the channel cannot run) or TS_ERR_NOMEM. */
int channel_new(channel **out, const struct channel_config *cfg,
                const struct channel_callbacks *cb, const struct channel_sink *sink);

/* Client: write the ClientHello. Server: nothing to do. */
int channel_start(channel *ch);

/*
 * Length of the next input unit given its first avail bytes: sets
 * *unit_len, or 0 when more bytes are needed to tell. Errors:
 * TS_ERR_MALFORMED (not a hello), TS_ERR_PROTOCOL (impossible frame
 * length), TS_ERR_CLOSED (no more input expected).
 */
int channel_next_unit(const channel *ch, const uint8_t *head, size_t avail,
                      size_t *unit_len);

/*
 * Consume exactly one unit (as sized by channel_next_unit), decrypting in
 * place. On error the channel is CLOSED or FAILED; whatever it wrote to the
 * sink (a rejection or CLOSE frame) should still be flushed before the
 * connection is dropped. Errors: TS_ERR_REJECTED (the server refused us),
 * TS_ERR_DECRYPT, TS_ERR_PROTOCOL, TS_ERR_HANDSHAKE, TS_ERR_IDENTITY,
 * TS_ERR_VERSION, TS_ERR_UNSUPPORTED, or a callback's error.
 */
int channel_input_unit(channel *ch, uint8_t *unit, size_t len);

/* Feed arbitrary received bytes (buffers partial units internally). Same
 * errors as channel_input_unit(). */
int channel_feed(channel *ch, const uint8_t *data, size_t len);

/* Send one message (a record, fragmented as needed). TS_ERR_STATE before
 * the handshake completes or after close, TS_ERR_TOO_LARGE over the
 * configured maximum, TS_ERR_LIMIT when the sink is full. */
int channel_send(channel *ch, const uint8_t *msg, size_t len);

/* Send a PING; the PONG arrives as on_pong. */
int channel_send_ping(channel *ch);

/* Close with a reason: a CLOSE frame when established, a rejection when a
 * server is still in the hello, nothing during the handshake. The channel
 * is CLOSED afterwards. */
int channel_close(channel *ch, uint16_t reason, const char *text);

enum channel_state channel_get_state(const channel *ch);

/* Why the channel failed or closed: reason code and text (either side). */
uint16_t channel_close_reason(const channel *ch, const char **text);

/* Negotiated suite name, or NULL before the hello is answered. */
const char *channel_suite(const channel *ch);

/* The peer's verified identity key, or NULL before it is proven. */
const uint8_t *channel_peer_identity(const channel *ch);

/* The Noise handshake hash (for channel binding), or NULL before the
 * handshake completes; *len gets its length. */
const uint8_t *channel_handshake_hash(const channel *ch, size_t *len);

void channel_get_stats(const channel *ch, struct channel_stats *out);

/* Wipe every key and free. NULL is ignored. */
void channel_free(channel *ch);

#endif /* TS_CHANNEL_CHANNEL_H */
