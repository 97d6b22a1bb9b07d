/*
 * A minimal blocking client and server fixture for tests that drive the
 * real server over loopback: built from the channel and envelope modules,
 * so each server behaviour is checked byte for byte.
 */
#ifndef TS_TEST_LOOPBACK_H
#define TS_TEST_LOOPBACK_H

#include "support.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <tcpseal/envelope.h>
#include <tcpseal/identity.h>
#include <tcpseal/protocol.h>
#include <tcpseal/server.h>

#include "channel/channel.h"
#include "util/clock.h"
#include "util/dbuf.h"

#define WAIT_MS 5000

struct client {
    int fd;
    ts_identity *id;
    char fingerprint[TS_FINGERPRINT_MAX];
    struct channel_credentials creds;
    struct dbuf out;
    channel *ch;
    ts_envelope *inbox[64];
    size_t n_inbox;
    uint16_t closed_reason;
    char closed_text[128];
    uint64_t next_id;
};

static inline int on_message(void *arg, uint8_t *data, size_t len)
{
    struct client *c = arg;
    ts_envelope *env;

    assert_int_equal(ts_envelope_decode(data, len, &env), TS_OK);
    assert_true(c->n_inbox < 64);
    c->inbox[c->n_inbox++] = env;
    return TS_OK;
}

static inline void on_peer_close(void *arg, uint16_t reason, const char *text)
{
    struct client *c = arg;
    c->closed_reason = reason;
    snprintf(c->closed_text, sizeof(c->closed_text), "%s", text);
}

static inline void client_flush(struct client *c)
{
    while (dbuf_size(&c->out) > 0) {
        ssize_t n = send(c->fd, dbuf_ptr(&c->out), dbuf_size(&c->out), MSG_NOSIGNAL);
        if (n <= 0)
            break;
        dbuf_consume(&c->out, (size_t)n);
    }
}

/* Read and process input until cond(c) holds or the deadline passes; returns
 * cond's final value. */
static inline int client_wait(struct client *c, int (*cond)(struct client *))
{
    uint64_t deadline = clock_mono_ms() + WAIT_MS;
    uint8_t buf[65536];

    client_flush(c);
    while (!cond(c) && clock_mono_ms() < deadline) {
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        ssize_t n;

        if (poll(&p, 1, 50) <= 0)
            continue;
        n = recv(c->fd, buf, sizeof(buf), 0);
        if (n <= 0)
            break;
        if (channel_feed(c->ch, buf, (size_t)n) != TS_OK)
            break;
        client_flush(c);
    }
    return cond(c);
}

static inline int established(struct client *c)
{
    return channel_get_state(c->ch) != CHANNEL_HELLO &&
           channel_get_state(c->ch) != CHANNEL_HANDSHAKE;
}

static inline int has_message(struct client *c)
{
    return c->n_inbox > 0 || channel_get_state(c->ch) >= CHANNEL_CLOSED;
}

static inline int is_closed(struct client *c)
{
    return channel_get_state(c->ch) >= CHANNEL_CLOSED;
}

/* Connect with the identity derived from seed, or a fresh one (NULL). */
static inline void client_open_with(struct client *c, uint16_t port, const uint8_t *seed)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    struct channel_config cfg = {.role = NOISE_INITIATOR, .credentials = &c->creds};
    struct channel_callbacks cb = {.arg = c, .on_message = on_message,
                                   .on_peer_close = on_peer_close};
    struct channel_sink sink;

    memset(c, 0, sizeof(*c));
    c->next_id = 1;
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(c->fd >= 0);
    assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    if (seed != NULL)
        assert_int_equal(ts_identity_from_seed(seed, &c->id), TS_OK);
    else
        assert_int_equal(ts_identity_generate(&c->id), TS_OK);
    ts_identity_fingerprint(c->id, c->fingerprint);
    assert_int_equal(channel_credentials_init(&c->creds, c->id), TS_OK);
    dbuf_init(&c->out, 1u << 26);
    sink = channel_sink_dbuf(&c->out);
    assert_int_equal(channel_new(&c->ch, &cfg, &cb, &sink), TS_OK);
    assert_int_equal(channel_start(c->ch), TS_OK);
}

static inline void client_open(struct client *c, uint16_t port)
{
    client_open_with(c, port, NULL);
}

static inline void client_connect(struct client *c, uint16_t port)
{
    client_open(c, port);
    assert_true(client_wait(c, established));
    assert_int_equal(channel_get_state(c->ch), CHANNEL_ESTABLISHED);
}

static inline void client_free(struct client *c)
{
    for (size_t i = 0; i < c->n_inbox; i++)
        ts_envelope_free(c->inbox[i]);
    channel_free(c->ch);
    channel_credentials_wipe(&c->creds);
    ts_identity_free(c->id);
    dbuf_free(&c->out);
    close(c->fd);
}

/* Take the oldest received envelope (caller frees). */
static inline ts_envelope *client_take(struct client *c)
{
    ts_envelope *env;

    assert_true(client_wait(c, has_message));
    assert_true(c->n_inbox > 0);
    env = c->inbox[0];
    memmove(c->inbox, c->inbox + 1, (c->n_inbox - 1) * sizeof(c->inbox[0]));
    c->n_inbox--;
    return env;
}

static inline ts_envelope *make_request(struct client *c, const char *text)
{
    ts_envelope *env;

    assert_int_equal(ts_envelope_new(&env, TS_MSG_REQUEST), TS_OK);
    ts_envelope_set_id(env, c->next_id++);
    assert_int_equal(ts_envelope_set_sender(env, c->fingerprint), TS_OK);
    assert_int_equal(ts_envelope_set_payload(env, text, strlen(text)), TS_OK);
    return env;
}

static inline void send_sealed(struct client *c, ts_envelope *env, const ts_identity *signer)
{
    uint8_t *enc;
    size_t len;

    if (signer != NULL || !ts_envelope_hash(env))
        assert_int_equal(ts_envelope_seal(env, signer), TS_OK);
    assert_int_equal(ts_envelope_encode(env, &enc, &len), TS_OK);
    assert_int_equal(channel_send(c->ch, enc, len), TS_OK);
    free(enc);
    ts_envelope_free(env);
    client_flush(c);
}

/* The reason code of an Error envelope's JSON payload. */
static inline int error_code(const ts_envelope *env)
{
    size_t len;
    const uint8_t *p = ts_envelope_payload(env, &len);
    json_t *obj = json_loadb((const char *)p, len, 0, NULL);
    int code;

    assert_int_equal(ts_envelope_type(env), TS_MSG_ERROR);
    assert_non_null(obj);
    code = (int)json_integer_value(json_object_get(obj, "code"));
    json_decref(obj);
    return code;
}

struct fixture {
    ts_identity *id;
    ts_server *srv;
    uint16_t port;
};

static inline void start_server(struct fixture *f, void (*adjust)(ts_server_config *))
{
    ts_server_config cfg;

    ts_server_config_init(&cfg);
    cfg.host = "127.0.0.1";
    cfg.port = 0;
    cfg.workers = 2;
    if (adjust != NULL)
        adjust(&cfg);
    assert_int_equal(ts_identity_generate(&f->id), TS_OK);
    assert_int_equal(ts_server_new(&f->srv, &cfg, f->id), TS_OK);
    assert_int_equal(ts_server_start(f->srv), TS_OK);
    f->port = ts_server_port(f->srv);
    assert_true(f->port != 0);
}

static inline void stop_server(struct fixture *f)
{
    assert_int_equal(ts_server_shutdown(f->srv, 1000), TS_OK);
    assert_int_equal(ts_server_wait(f->srv), TS_OK);
    ts_server_free(f->srv);
    ts_identity_free(f->id);
}


#endif /* TS_TEST_LOOPBACK_H */
