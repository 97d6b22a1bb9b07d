/*
 * Client connection: life cycle, the channel's callbacks, sending and
 * closing. Socket I/O is in conn_io.c.
 */
#include "client/conn_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <tcpseal/protocol.h>

#include "channel/record.h"
#include "net/tcp.h"
#include "net/tls.h"
#include "util/clock.h"
#include "util/log.h"

/* Room for the largest message the protocol allows plus its framing
 * (about 40 bytes for each of its ~1030 frames). */
#define CONN_DEFAULT_MAX_OUTPUT (TS_MAX_MESSAGE_LIMIT + 1024u * 1024u)
/* Worst case per fragment: length, type and total, tag, and a REKEY frame
 * that may precede it. */
#define CONN_FRAME_OVERHEAD                                                    \
    (2 * (CHANNEL_FRAME_HEADER + RECORD_BEGIN_HEADER + NOISE_TAG_LEN))
/* Rekey as docs/protocol.md section 4.4 describes by default. */
#define CONN_REKEY_FRAMES 1000000u
#define CONN_REKEY_MS (60u * 60u * 1000u)

int conn_sticky(const client_conn *c)
{
    return error_set(c->error, "%s", c->error_text);
}

int conn_fail(client_conn *c, int rc)
{
    size_t n;

    if (c->error == TS_OK) {
        c->error = rc;
        snprintf(c->error_text, sizeof(c->error_text), "%s", ts_error_detail(rc));
        c->state = rc == TS_ERR_CLOSED || rc == TS_ERR_REJECTED ? CLIENT_CONN_CLOSED
                                                                : CLIENT_CONN_FAILED;
    }
    if (c->t != NULL) {
        /* Best effort, once: the channel may have queued a CLOSE saying
         * why; whatever does not fit now is dropped. */
        if (dbuf_size(&c->out) > 0 &&
            transport_write(c->t, dbuf_ptr(&c->out), dbuf_size(&c->out), &n) == TS_OK)
            dbuf_consume(&c->out, n);
        transport_close(c->t);
        c->t = NULL;
    }
    dbuf_free(&c->in);
    dbuf_free(&c->out);
    return conn_sticky(c);
}

int conn_channel_error(client_conn *c, int rc)
{
    char detail[ERROR_DETAIL_MAX];

    if (rc == TS_ERR_REJECTED)
        return conn_fail(c, error_set(TS_ERR_REJECTED,
                                      "%s refused the connection: %s (%s)", c->peer,
                                      c->peer_text, ts_reason_name(c->peer_reason)));
    /* A refusal of the server's key carries its own message. */
    if (rc == TS_ERR_KEY_MISMATCH)
        return conn_fail(c, rc);
    snprintf(detail, sizeof(detail), "%s", ts_error_detail(rc));
    if (c->state == CLIENT_CONN_HANDSHAKE)
        return conn_fail(c, error_set(rc, "handshake with %s failed: %s", c->peer,
                                      detail));
    return conn_fail(c, error_set(rc, "connection to %s failed: %s", c->peer, detail));
}

/* The handshake proved the server's identity: pin first, then the
 * owner's judgement (known servers). Runs before message 3 is written. */
static int on_peer_identity(void *arg, const uint8_t identity[TS_PUBLIC_KEY_LEN])
{
    client_conn *c = arg;

    memcpy(c->server_key, identity, TS_PUBLIC_KEY_LEN);
    ts_fingerprint_of_key(identity, c->server_fp);
    c->server_known = true;
    if (c->pin[0] != '\0' && strcmp(c->pin, c->server_fp) != 0)
        return error_set(TS_ERR_KEY_MISMATCH,
                         "server key mismatch for %s: expected %s, got %s", c->peer,
                         c->pin, c->server_fp);
    if (c->cb.check_server != NULL)
        return c->cb.check_server(c->cb.arg, identity, c->server_fp);
    return TS_OK;
}

static int on_established(void *arg)
{
    client_conn *c = arg;

    c->state = CLIENT_CONN_READY;
    c->events++;
    return TS_OK;
}

/* Hash, signature against the server identity, timestamp window. */
static void message_check(const client_conn *c, const ts_envelope *env,
                          struct client_message *msg)
{
    ts_verify_opts opts = {
        .public_key = c->server_key,
        .max_skew_ms = c->max_skew_ms,
    };

    msg->env = env;
    msg->verify = ts_envelope_verify(env, &opts);
    /* The checks run in order, so a stale timestamp means the signature
     * (if any) already verified. */
    msg->signature_ok = ts_envelope_is_signed(env) &&
                        (msg->verify == TS_OK || msg->verify == TS_ERR_STALE);
}

/* A relayed Chat envelope: the hash only (no key, no clock: see conn.h). */
static void relayed_check(const ts_envelope *env, struct client_message *msg)
{
    ts_verify_opts opts = {0};

    msg->env = env;
    msg->verify = ts_envelope_verify(env, &opts);
    msg->signature_ok = false;
    msg->relayed = true;
}

/* Envelopes are numbered per sender: a server envelope whose id was
 * delivered on this connection, or a relayed one whose hash was, is
 * dropped rather than delivered twice. True to deliver. */
static bool message_fresh(client_conn *c, const ts_envelope *env)
{
    uint64_t id = ts_envelope_id(env);

    if (ts_envelope_type(env) == TS_MSG_CHAT) {
        if (hash_window_add(&c->relayed_seen, ts_envelope_hash(env)))
            return true;
        LOG_WARN("client_duplicate", "peer=%s relayed_id=%llu sender=\"%s\"", c->peer,
                 (unsigned long long)id, ts_envelope_sender(env));
        return false;
    }
    if (id == 0 || ts_replay_window_accept(&c->replay, id) == TS_OK)
        return true;
    LOG_WARN("client_duplicate", "peer=%s id=%llu", c->peer, (unsigned long long)id);
    return false;
}

static int on_message(void *arg, uint8_t *data, size_t len)
{
    client_conn *c = arg;
    struct client_message msg = {0};
    ts_envelope *env;
    int rc;

    if ((rc = ts_envelope_decode(data, len, &env)) != TS_OK)
        return error_set(TS_ERR_PROTOCOL, "server sent a malformed envelope: %s",
                         ts_strerror(rc));
    if (ts_envelope_type(env) == TS_MSG_CHAT)
        relayed_check(env, &msg);
    else
        message_check(c, env, &msg);
    /* A relayed envelope with a bad hash is not remembered: its hash
     * names nothing, and the owner reports it. */
    if ((msg.relayed && msg.verify != TS_OK) || message_fresh(c, env)) {
        c->events++;
        rc = c->cb.on_message != NULL ? c->cb.on_message(c->cb.arg, &msg) : TS_OK;
    }
    ts_envelope_free(env);
    return rc;
}

static int on_oversize(void *arg, uint64_t size)
{
    client_conn *c = arg;

    if (c->cb.on_oversize == NULL)
        return error_set(TS_ERR_TOO_LARGE,
                         "server sent a message of %llu bytes, over the limit of %zu",
                         (unsigned long long)size, c->max_message);
    c->cb.on_oversize(c->cb.arg, size);
    return TS_OK;
}

static void on_peer_close(void *arg, uint16_t reason, const char *text)
{
    client_conn *c = arg;

    c->peer_closed = true;
    c->peer_reason = reason;
    snprintf(c->peer_text, sizeof(c->peer_text), "%s", text);
    if (c->cb.on_close != NULL)
        c->cb.on_close(c->cb.arg, reason, c->peer_text);
}

static int conn_channel_new(client_conn *c, const struct client_conn_config *cfg)
{
    struct channel_config ccfg = {
        .role = NOISE_INITIATOR,
        .credentials = &c->creds,
        .suites = cfg->suites,
        .n_suites = cfg->n_suites,
        .max_message = c->max_message,
        .rekey_after_frames = CONN_REKEY_FRAMES,
        .rekey_after_ms = CONN_REKEY_MS,
    };
    struct channel_callbacks ccb = {
        .arg = c,
        .on_peer_identity = on_peer_identity,
        .on_established = on_established,
        .on_message = on_message,
        .on_oversize = on_oversize,
        .on_peer_close = on_peer_close,
    };
    struct channel_sink sink = channel_sink_dbuf(&c->out);

    return channel_new(&c->ch, &ccfg, &ccb, &sink);
}

static int config_check(const struct client_conn_config *cfg)
{
    if (cfg->identity == NULL)
        return error_set(TS_ERR_INVALID, "a client connection needs an identity");
    if (cfg->server_fingerprint != NULL &&
        ts_fingerprint_validate(cfg->server_fingerprint) != TS_OK)
        return error_set(TS_ERR_INVALID, "malformed server fingerprint '%.60s'",
                         cfg->server_fingerprint);
    if (cfg->max_message > TS_MAX_MESSAGE_LIMIT)
        return error_set(TS_ERR_INVALID, "maximum message size over %u bytes",
                         TS_MAX_MESSAGE_LIMIT);
    return TS_OK;
}

int client_conn_new(client_conn **out, const struct client_conn_config *cfg,
                    const struct client_conn_callbacks *cb)
{
    client_conn *c;
    int rc;

    *out = NULL;
    if ((rc = config_check(cfg)) != TS_OK)
        return rc;
    if ((c = calloc(1, sizeof(*c))) == NULL)
        return error_set(TS_ERR_NOMEM, "out of memory");
    c->state = CLIENT_CONN_NEW;
    if (cfg->server_fingerprint != NULL)
        snprintf(c->pin, sizeof(c->pin), "%s", cfg->server_fingerprint);
    c->max_message = cfg->max_message != 0 ? cfg->max_message : TS_MAX_MESSAGE_LIMIT;
    c->max_skew_ms = cfg->max_skew_ms != 0 ? cfg->max_skew_ms : CLIENT_DEFAULT_SKEW_MS;
    c->tls = cfg->tls;
    if (cb != NULL)
        c->cb = *cb;
    dbuf_init(&c->in, CONN_IN_MAX);
    dbuf_init(&c->out, cfg->max_output != 0 ? cfg->max_output : CONN_DEFAULT_MAX_OUTPUT);
    ts_replay_window_init(&c->replay);
    hash_window_init(&c->relayed_seen);
    if ((rc = channel_credentials_init(&c->creds, cfg->identity)) != TS_OK ||
        (rc = conn_channel_new(c, cfg)) != TS_OK)
        goto fail;
    *out = c;
    return TS_OK;
fail:
    client_conn_free(c);
    return rc;
}

int client_conn_attach(client_conn *c, struct transport *t)
{
    int rc;

    if (c->state != CLIENT_CONN_NEW) {
        transport_close(t);
        return c->error != TS_OK ? conn_sticky(c)
                                 : error_set(TS_ERR_STATE, "already connected");
    }
    c->t = t;
    snprintf(c->peer, sizeof(c->peer), "%s", t->peer);
    c->state = CLIENT_CONN_HANDSHAKE;
    c->last_input_ms = clock_mono_ms();
    if ((rc = channel_start(c->ch)) != TS_OK)
        return conn_channel_error(c, rc);
    return conn_write_some(c);
}

int client_conn_connect(client_conn *c, const char *host, uint16_t port,
                        uint64_t deadline_ms)
{
    struct transport *tcp, *t;
    int rc;

    if (c->state != CLIENT_CONN_NEW)
        return c->error != TS_OK ? conn_sticky(c)
                                 : error_set(TS_ERR_STATE, "already connected");
    if (net_hostport_format(host, port, c->peer, sizeof(c->peer)) != TS_OK)
        snprintf(c->peer, sizeof(c->peer), "%.64s:%u", host, (unsigned)port);
    rc = tcp_connect(host, port, deadline_ms, &tcp, &c->os_error);
    if (rc != TS_OK)
        return conn_fail(c, rc);
    /* The TLS transport takes the TCP one over, closing it on failure. */
    if (c->tls == NULL)
        t = tcp;
    else if ((rc = tls_transport_start(c->tls, tcp, host, &t)) != TS_OK)
        return conn_fail(c, rc);
    return client_conn_attach(c, t);
}

int client_conn_open(client_conn *c, const char *host, uint16_t port,
                     uint64_t deadline_ms)
{
    int rc = client_conn_connect(c, host, port, deadline_ms);

    while (rc == TS_OK && c->state == CLIENT_CONN_HANDSHAKE)
        rc = conn_run(c, deadline_ms, CONN_UNTIL_EVENT);
    return rc;
}

/* Upper bound of what channel_send() writes for a message of len bytes,
 * so a send that cannot fit is refused before any frame is queued (a
 * half-queued record would break the stream). */
static size_t send_bound(size_t len)
{
    /* Dividing by the smaller (first) fragment size overcounts; the two
     * extra frames cover the remainder and rounding. */
    return len + (len / RECORD_BEGIN_MAX_FRAGMENT + 2) * CONN_FRAME_OVERHEAD;
}

static int conn_send_bytes(client_conn *c, const uint8_t *data, size_t len)
{
    int rc;

    if (len > TS_MAX_MESSAGE_LIMIT)
        return error_set(TS_ERR_TOO_LARGE, "message of %zu bytes exceeds %u", len,
                         TS_MAX_MESSAGE_LIMIT);
    if (send_bound(len) > c->out.max - dbuf_size(&c->out))
        return error_set(TS_ERR_LIMIT, "output queue to %s is full", c->peer);
    if ((rc = channel_send(c->ch, data, len)) != TS_OK)
        return conn_channel_error(c, rc);
    return conn_write_some(c);
}

int client_conn_send(client_conn *c, const ts_envelope *env)
{
    uint8_t *data = NULL;
    size_t len = 0;
    int rc;

    if (!conn_is_open(c) && c->error != TS_OK)
        return conn_sticky(c);
    if (c->state != CLIENT_CONN_READY)
        return error_set(TS_ERR_STATE, "connection is not established");
    if ((rc = ts_envelope_encode(env, &data, &len)) != TS_OK)
        return rc;
    rc = conn_send_bytes(c, data, len);
    sodium_memzero(data, len);
    free(data);
    return rc;
}

int client_conn_ping(client_conn *c)
{
    int rc;

    if (!conn_is_open(c) && c->error != TS_OK)
        return conn_sticky(c);
    if (c->state != CLIENT_CONN_READY)
        return error_set(TS_ERR_STATE, "connection is not established");
    /* A PING frame is tiny; refusing it on a full queue keeps the queue
     * bound exact. */
    if (dbuf_size(&c->out) + CONN_FRAME_OVERHEAD > c->out.max)
        return error_set(TS_ERR_LIMIT, "output queue to %s is full", c->peer);
    if ((rc = channel_send_ping(c->ch)) != TS_OK)
        return conn_channel_error(c, rc);
    return conn_write_some(c);
}

uint64_t client_conn_last_input_ms(const client_conn *c)
{
    return c->last_input_ms;
}

uint64_t client_conn_rekeys(const client_conn *c)
{
    struct channel_stats st;

    if (c->ch == NULL)
        return 0;
    channel_get_stats(c->ch, &st);
    return st.rekeys_sent + st.rekeys_received;
}

int client_conn_pump(client_conn *c, uint64_t deadline_ms)
{
    if (c->state == CLIENT_CONN_NEW)
        return error_set(TS_ERR_STATE, "not connected");
    return conn_run(c, deadline_ms, CONN_UNTIL_EVENT);
}

int client_conn_flush(client_conn *c, uint64_t deadline_ms)
{
    if (c->state == CLIENT_CONN_NEW)
        return error_set(TS_ERR_STATE, "not connected");
    return conn_run(c, deadline_ms, CONN_UNTIL_FLUSHED);
}

/* CLOSE, flush, half-close, wait for the server to hang up: bounded by
 * CLIENT_LINGER_MS whatever the caller's deadline. */
static int conn_goodbye(client_conn *c, uint16_t reason, const char *text,
                        uint64_t deadline_ms)
{
    uint64_t linger = clock_mono_ms() + CLIENT_LINGER_MS;
    int rc;

    if (deadline_ms == 0 || deadline_ms > linger)
        deadline_ms = linger;
    if ((rc = channel_close(c->ch, reason, text)) != TS_OK)
        return rc;
    return conn_linger(c, deadline_ms);
}

int client_conn_close(client_conn *c, uint16_t reason, const char *text,
                      uint64_t deadline_ms)
{
    char detail[ERROR_DETAIL_MAX] = "";
    int rc = TS_OK;

    if (c->state == CLIENT_CONN_READY)
        rc = conn_goodbye(c, reason, text, deadline_ms);
    if (rc != TS_OK)
        snprintf(detail, sizeof(detail), "%s", ts_error_detail(rc));
    if (conn_is_open(c) || c->state == CLIENT_CONN_NEW)
        conn_fail(c, error_set(TS_ERR_CLOSED, "connection to %s closed", c->peer));
    return rc == TS_OK ? TS_OK : error_set(rc, "%s", detail);
}

int client_conn_fd(const client_conn *c)
{
    return c->t != NULL ? transport_fd(c->t) : -1;
}

short client_conn_events(const client_conn *c)
{
    if (c->t == NULL)
        return 0;
    return transport_events(c->t, dbuf_size(&c->out) > 0);
}

bool client_conn_output_pending(const client_conn *c)
{
    return c->t != NULL && dbuf_size(&c->out) > 0;
}

bool client_conn_input_pending(const client_conn *c)
{
    return c->t != NULL && transport_pending(c->t);
}

enum client_conn_state client_conn_state(const client_conn *c)
{
    return c->state;
}

uint16_t client_conn_peer_reason(const client_conn *c, const char **text)
{
    if (text != NULL)
        *text = c->peer_closed ? c->peer_text : "";
    return c->peer_closed ? c->peer_reason : TS_REASON_NONE;
}

const uint8_t *client_conn_server_key(const client_conn *c)
{
    return c->server_known ? c->server_key : NULL;
}

const char *client_conn_server_fingerprint(const client_conn *c)
{
    return c->server_known ? c->server_fp : "";
}

const char *client_conn_peer(const client_conn *c)
{
    return c->peer;
}

const char *client_conn_suite(const client_conn *c)
{
    return c->ch != NULL ? channel_suite(c->ch) : NULL;
}

int client_conn_os_error(const client_conn *c)
{
    return c->os_error;
}

void client_conn_free(client_conn *c)
{
    if (c == NULL)
        return;
    transport_close(c->t);
    channel_free(c->ch);
    channel_credentials_wipe(&c->creds);
    dbuf_free(&c->in);
    dbuf_free(&c->out);
    sodium_memzero(c, sizeof(*c));
    free(c);
}
