/*
 * Hello exchange and Noise XX handshake of a channel.
 *
 *   client                                   server
 *   ClientHello(suites)            ->
 *                                  <-        ServerHello(accept suite | reject reason)
 *   msg1: e                        ->
 *                                  <-        msg2: e, ee, s, es   payload: server binding
 *   msg3: s, se   payload: client binding ->
 *
 * The prologue is ClientHello || ServerHello, byte for byte.
 */
#include "channel/channel_internal.h"

#include <string.h>

#include <sodium.h>
#include <tcpseal/protocol.h>

#include "util/bytes.h"
#include "util/error.h"
#include "util/log.h"

static int send_handshake_message(channel *ch, const uint8_t *payload, size_t len)
{
    uint8_t msg[CHANNEL_FRAME_HEADER + CHANNEL_HANDSHAKE_MAX];
    size_t n;
    int rc;

    rc = noise_handshake_write(ch->hs, payload, len, msg + CHANNEL_FRAME_HEADER,
                               CHANNEL_HANDSHAKE_MAX, &n);
    if (rc != TS_OK)
        return rc;
    store_u16(msg, (uint16_t)n);
    return channel_emit(ch, msg, CHANNEL_FRAME_HEADER + n);
}

/* The binding payload: kind, identity key, signature over label || static. */
static void binding_encode(const struct channel_credentials *c,
                           uint8_t out[CHANNEL_BINDING_LEN])
{
    out[0] = CHANNEL_BINDING_KIND;
    memcpy(out + 1, c->identity_pub, TS_PUBLIC_KEY_LEN);
    memcpy(out + 1 + TS_PUBLIC_KEY_LEN, c->binding_sig, TS_SIGNATURE_LEN);
}

static void binding_message(const uint8_t *static_pub,
                            uint8_t out[sizeof(CHANNEL_BINDING_LABEL) - 1 + CHANNEL_STATIC_LEN])
{
    memcpy(out, CHANNEL_BINDING_LABEL, sizeof(CHANNEL_BINDING_LABEL) - 1);
    memcpy(out + sizeof(CHANNEL_BINDING_LABEL) - 1, static_pub, CHANNEL_STATIC_LEN);
}

/* Check the peer's binding against the static key the handshake
 * authenticated, then let the owner judge the identity (pinning). */
static int binding_verify(channel *ch, const uint8_t *payload, size_t len)
{
    uint8_t msg[sizeof(CHANNEL_BINDING_LABEL) - 1 + CHANNEL_STATIC_LEN];
    const uint8_t *rs;
    size_t rs_len;
    int rc;

    if (len != CHANNEL_BINDING_LEN || payload[0] != CHANNEL_BINDING_KIND)
        return error_set(TS_ERR_IDENTITY, "peer sent no valid identity binding");
    rs = noise_handshake_remote_static(ch->hs, &rs_len);
    if (rs == NULL || rs_len != CHANNEL_STATIC_LEN)
        return error_set(TS_ERR_HANDSHAKE, "peer static key missing");
    binding_message(rs, msg);
    if (ts_signature_verify(payload + 1, msg, sizeof(msg),
                            payload + 1 + TS_PUBLIC_KEY_LEN) != TS_OK)
        return error_set(TS_ERR_IDENTITY,
                         "peer identity signature over its static key does not verify");
    memcpy(ch->peer_identity, payload + 1, TS_PUBLIC_KEY_LEN);
    ch->peer_identity_known = true;
    if (ch->cb.on_peer_identity != NULL &&
        (rc = ch->cb.on_peer_identity(ch->cb.arg, ch->peer_identity)) != TS_OK)
        return rc;
    return TS_OK;
}

static int noise_begin(channel *ch, const char *suite)
{
    noise_role role = ch->cfg.role;
    int rc;

    if ((rc = noise_protocol_parse(suite, &ch->proto)) != TS_OK ||
        (rc = noise_handshake_new(&ch->hs, &ch->proto, role)) != TS_OK ||
        (rc = noise_handshake_set_prologue(ch->hs, dbuf_ptr(&ch->prologue),
                                           dbuf_size(&ch->prologue))) != TS_OK ||
        (rc = noise_handshake_set_static(ch->hs, ch->cfg.credentials->static_priv,
                                         CHANNEL_STATIC_LEN)) != TS_OK)
        return rc;
    if (ch->cfg.test_ephemeral != NULL &&
        (rc = noise_handshake_set_ephemeral(ch->hs, ch->cfg.test_ephemeral,
                                            CHANNEL_STATIC_LEN)) != TS_OK)
        return rc;
    if ((rc = noise_handshake_start(ch->hs)) != TS_OK)
        return rc;
    dbuf_free(&ch->prologue);
    ch->state = CHANNEL_HANDSHAKE;
    return TS_OK;
}

/* The handshake is over: keep the hash for channel binding, take the
 * transport keys, drop the handshake state. */
static int noise_finish(channel *ch)
{
    int rc;

    rc = noise_handshake_hash(ch->hs, ch->handshake_hash, sizeof(ch->handshake_hash),
                              &ch->handshake_hash_len);
    if (rc == TS_OK)
        rc = noise_handshake_split(ch->hs, &ch->tx, &ch->rx);
    noise_handshake_free(ch->hs);
    ch->hs = NULL;
    if (rc != TS_OK)
        return rc;
    ch->state = CHANNEL_ESTABLISHED;
    ch->last_rekey_ms = channel_now(ch);
    if (ch->cb.on_established != NULL)
        return ch->cb.on_established(ch->cb.arg);
    return TS_OK;
}

int channel_hello_start(channel *ch)
{
    struct hello_client hello = {.version = TS_PROTOCOL_VERSION};
    uint8_t msg[HELLO_MAX_LEN];
    size_t len;
    int rc;

    if (ch->state != CHANNEL_HELLO || dbuf_size(&ch->prologue) != 0)
        return error_set(TS_ERR_STATE, "hello already sent");
    hello.n_suites = (uint8_t)ch->cfg.n_suites;
    for (size_t i = 0; i < ch->cfg.n_suites; i++)
        snprintf(hello.suites[i], sizeof(hello.suites[i]), "%s", ch->cfg.suites[i]);
    if ((rc = hello_client_encode(&hello, msg, sizeof(msg), &len)) != TS_OK ||
        (rc = dbuf_append(&ch->prologue, msg, len)) != TS_OK)
        return rc;
    return channel_emit(ch, msg, len);
}

int channel_hello_reject(channel *ch, uint16_t reason, const char *text)
{
    uint8_t msg[HELLO_MAX_LEN];
    size_t len;
    int rc;

    if (text == NULL)
        text = ts_reason_text(reason);
    rc = hello_reject_encode(reason, text, msg, sizeof(msg), &len);
    if (rc == TS_OK)
        rc = channel_emit(ch, msg, len);
    channel_set_closed(ch, CHANNEL_CLOSED, reason, text);
    return rc;
}

/* The first suite in the client's order that the server accepts. */
static const char *choose_suite(const channel *ch, const struct hello_client *hello)
{
    for (uint8_t i = 0; i < hello->n_suites; i++) {
        for (size_t j = 0; j < ch->cfg.n_suites; j++) {
            if (strcmp(hello->suites[i], ch->cfg.suites[j]) == 0)
                return ch->cfg.suites[j];
        }
    }
    return NULL;
}

static int server_hello_input(channel *ch, uint8_t *unit, size_t len)
{
    struct hello_client hello;
    uint8_t msg[HELLO_MAX_LEN];
    const char *suite;
    uint16_t reason = 0;
    size_t n;
    int rc;

    rc = hello_client_parse(unit, len, &hello);
    if (rc == TS_ERR_VERSION) {
        channel_hello_reject(ch, TS_REASON_UNSUPPORTED_VERSION, NULL);
        return rc;
    }
    if (rc != TS_OK) {
        channel_hello_reject(ch, TS_REASON_BAD_HELLO, NULL);
        return rc;
    }
    if (ch->cb.on_hello != NULL)
        reason = ch->cb.on_hello(ch->cb.arg, &hello);
    if (reason != 0) {
        channel_hello_reject(ch, reason, NULL);
        return error_set(TS_ERR_REJECTED, "connection refused: %s",
                         ts_reason_text(reason));
    }
    suite = choose_suite(ch, &hello);
    if (suite == NULL) {
        channel_hello_reject(ch, TS_REASON_UNSUPPORTED_SUITE, NULL);
        return error_set(TS_ERR_UNSUPPORTED, "client offered no supported suite");
    }
    if ((rc = hello_accept_encode(suite, msg, sizeof(msg), &n)) != TS_OK ||
        (rc = dbuf_append(&ch->prologue, unit, len)) != TS_OK ||
        (rc = dbuf_append(&ch->prologue, msg, n)) != TS_OK ||
        (rc = channel_emit(ch, msg, n)) != TS_OK)
        return rc;
    return noise_begin(ch, suite);
}

static int offered(const channel *ch, const char *suite)
{
    for (size_t i = 0; i < ch->cfg.n_suites; i++) {
        if (strcmp(ch->cfg.suites[i], suite) == 0)
            return 1;
    }
    return 0;
}

static int client_hello_input(channel *ch, uint8_t *unit, size_t len)
{
    struct hello_server hello;
    int rc;

    if ((rc = hello_server_parse(unit, len, &hello)) != TS_OK)
        return rc;
    if (hello.kind == HELLO_REJECT) {
        channel_set_closed(ch, CHANNEL_CLOSED, hello.reason, hello.text);
        if (ch->cb.on_peer_close != NULL)
            ch->cb.on_peer_close(ch->cb.arg, hello.reason, ch->close_text);
        return error_set(TS_ERR_REJECTED, "server refused the connection: %s",
                         ch->close_text);
    }
    if (!offered(ch, hello.suite))
        return error_set(TS_ERR_HANDSHAKE, "server chose %s, which was not offered",
                         hello.suite);
    if ((rc = dbuf_append(&ch->prologue, unit, len)) != TS_OK ||
        (rc = noise_begin(ch, hello.suite)) != TS_OK)
        return rc;
    /* -> e */
    return send_handshake_message(ch, NULL, 0);
}

int channel_hello_input(channel *ch, uint8_t *unit, size_t len)
{
    int rc = ch->cfg.role == NOISE_RESPONDER ? server_hello_input(ch, unit, len)
                                             : client_hello_input(ch, unit, len);

    if (rc != TS_OK && ch->state != CHANNEL_CLOSED)
        channel_set_closed(ch, CHANNEL_FAILED, TS_REASON_BAD_HELLO, ts_error_detail(rc));
    return rc;
}

/* Read one handshake message; after the peer's binding arrives, answer or
 * finish as the pattern says. */
static int handshake_step(channel *ch, const uint8_t *msg, size_t len)
{
    uint8_t payload[CHANNEL_HANDSHAKE_MAX];
    uint8_t binding[CHANNEL_BINDING_LEN];
    size_t plen;
    int rc;

    rc = noise_handshake_read(ch->hs, msg, len, payload, sizeof(payload), &plen);
    if (rc != TS_OK)
        return rc;
    if (noise_handshake_remote_static(ch->hs, &(size_t){0}) == NULL) {
        /* Server after msg1 (-> e): nothing to prove yet; no payload allowed. */
        if (plen != 0)
            return error_set(TS_ERR_HANDSHAKE, "unexpected payload in first message");
    } else if ((rc = binding_verify(ch, payload, plen)) != TS_OK) {
        return rc;
    }
    binding_encode(ch->cfg.credentials, binding);
    if (noise_handshake_action(ch->hs) == NOISE_ACTION_WRITE &&
        (rc = send_handshake_message(ch, binding, sizeof(binding))) != TS_OK)
        return rc;
    if (noise_handshake_action(ch->hs) == NOISE_ACTION_SPLIT)
        return noise_finish(ch);
    return TS_OK;
}

int channel_handshake_input(channel *ch, uint8_t *unit, size_t len)
{
    int rc;

    if (len < CHANNEL_FRAME_HEADER || load_u16(unit) != len - CHANNEL_FRAME_HEADER)
        rc = error_set(TS_ERR_PROTOCOL, "handshake unit length mismatch");
    else
        rc = handshake_step(ch, unit + CHANNEL_FRAME_HEADER, len - CHANNEL_FRAME_HEADER);
    if (rc != TS_OK && ch->state != CHANNEL_ESTABLISHED) {
        uint16_t reason = rc == TS_ERR_IDENTITY || rc == TS_ERR_KEY_MISMATCH
                              ? TS_REASON_IDENTITY_REJECTED
                              : TS_REASON_PROTOCOL_ERROR;
        if (rc == TS_ERR_DECRYPT || rc == TS_ERR_CRYPTO)
            rc = error_set(TS_ERR_HANDSHAKE, "handshake failed: %s", ts_strerror(rc));
        channel_set_closed(ch, CHANNEL_FAILED, reason, ts_error_detail(rc));
    }
    return rc;
}

static int credentials_sign(struct channel_credentials *c, const ts_identity *id)
{
    uint8_t msg[sizeof(CHANNEL_BINDING_LABEL) - 1 + CHANNEL_STATIC_LEN];

    memcpy(c->identity_pub, ts_identity_public_key(id), TS_PUBLIC_KEY_LEN);
    binding_message(c->static_pub, msg);
    return ts_identity_sign(id, msg, sizeof(msg), c->binding_sig);
}

int channel_credentials_from_static(struct channel_credentials *c,
                                    const ts_identity *id, const uint8_t *static_priv)
{
    noise_protocol proto;
    int rc;

    memcpy(c->static_priv, static_priv, CHANNEL_STATIC_LEN);
    if ((rc = noise_protocol_parse(TS_DEFAULT_SUITE, &proto)) != TS_OK ||
        (rc = noise_dh_public(&proto, c->static_priv, c->static_pub)) != TS_OK ||
        (rc = credentials_sign(c, id)) != TS_OK)
        channel_credentials_wipe(c);
    return rc;
}

int channel_credentials_init(struct channel_credentials *c, const ts_identity *id)
{
    noise_protocol proto;
    int rc;

    if ((rc = noise_protocol_parse(TS_DEFAULT_SUITE, &proto)) != TS_OK ||
        (rc = noise_dh_generate(&proto, c->static_priv, c->static_pub)) != TS_OK ||
        (rc = credentials_sign(c, id)) != TS_OK)
        channel_credentials_wipe(c);
    return rc;
}

void channel_credentials_wipe(struct channel_credentials *c)
{
    sodium_memzero(c, sizeof(*c));
}
