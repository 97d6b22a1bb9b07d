#include "support.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <tcpseal/identity.h>
#include <tcpseal/protocol.h>

#include "channel/channel_internal.h"
#include "util/bytes.h"

/* Two channels wired back to back through byte buffers. */
struct peer {
    channel *ch;
    struct dbuf out;
    ts_identity *id;
    struct channel_credentials creds;
    int established;
    int messages;
    struct dbuf last;
    uint64_t oversize;
    int pongs;
    uint64_t last_rtt;
    uint16_t closed_reason;
    char closed_text[128];
    uint16_t refuse_with;      /* server: reason returned from on_hello */
    int refuse_identity;       /* error returned from on_peer_identity */
    int hello_calls;
};

static uint64_t fake_now = 1000;

static uint64_t fake_clock(void *arg)
{
    return fake_now;
}

static uint16_t on_hello(void *arg, const struct hello_client *hello)
{
    struct peer *p = arg;
    p->hello_calls++;
    return p->refuse_with;
}

static int on_peer_identity(void *arg, const uint8_t *identity)
{
    return ((struct peer *)arg)->refuse_identity;
}

static int on_established(void *arg)
{
    ((struct peer *)arg)->established = 1;
    return TS_OK;
}

static int on_message(void *arg, uint8_t *data, size_t len)
{
    struct peer *p = arg;
    p->messages++;
    dbuf_reset(&p->last);
    return dbuf_append(&p->last, data, len);
}

static int on_oversize(void *arg, uint64_t size)
{
    ((struct peer *)arg)->oversize = size;
    return TS_OK;
}

static void on_pong(void *arg, uint64_t rtt)
{
    struct peer *p = arg;
    p->pongs++;
    p->last_rtt = rtt;
}

static void on_peer_close(void *arg, uint16_t reason, const char *text)
{
    struct peer *p = arg;
    p->closed_reason = reason;
    snprintf(p->closed_text, sizeof(p->closed_text), "%s", text);
}

struct pair_opts {
    const char *const *client_suites;
    size_t n_client;
    const char *const *server_suites;
    size_t n_server;
    size_t server_max;
    uint64_t rekey_frames;
    uint64_t rekey_ms;
};

static void peer_init(struct peer *p, noise_role role, const struct pair_opts *o)
{
    struct channel_config cfg = {
        .role = role,
        .credentials = &p->creds,
        .clock_ms = fake_clock,
        .rekey_after_frames = o->rekey_frames,
        .rekey_after_ms = o->rekey_ms,
    };
    struct channel_callbacks cb = {
        .arg = p, .on_hello = on_hello, .on_peer_identity = on_peer_identity,
        .on_established = on_established, .on_message = on_message,
        .on_oversize = on_oversize, .on_pong = on_pong, .on_peer_close = on_peer_close,
    };
    struct channel_sink sink;

    memset(p, 0, sizeof(*p));
    cfg.credentials = &p->creds;
    if (role == NOISE_INITIATOR) {
        cfg.suites = o->client_suites;
        cfg.n_suites = o->n_client;
        cfg.max_message = 4u * 1024 * 1024;
    } else {
        cfg.suites = o->server_suites;
        cfg.n_suites = o->n_server;
        cfg.max_message = o->server_max;
    }
    dbuf_init(&p->out, 64u * 1024 * 1024);
    dbuf_init(&p->last, 64u * 1024 * 1024);
    assert_int_equal(ts_identity_generate(&p->id), TS_OK);
    assert_int_equal(channel_credentials_init(&p->creds, p->id), TS_OK);
    sink = channel_sink_dbuf(&p->out);
    assert_int_equal(channel_new(&p->ch, &cfg, &cb, &sink), TS_OK);
}

static void peer_free(struct peer *p)
{
    channel_free(p->ch);
    channel_credentials_wipe(&p->creds);
    ts_identity_free(p->id);
    dbuf_free(&p->out);
    dbuf_free(&p->last);
}

/* Deliver everything `from` has written to `to`; returns the first error. */
static int deliver(struct peer *from, struct peer *to)
{
    size_t n = dbuf_size(&from->out);
    uint8_t *copy = malloc(n + 1);
    int rc;

    memcpy(copy, dbuf_ptr(&from->out), n);
    dbuf_reset(&from->out);
    rc = channel_feed(to->ch, copy, n);
    free(copy);
    return rc;
}

/* Run the exchange until neither side has anything more to say. */
static int pump(struct peer *c, struct peer *s)
{
    int rc;

    while (dbuf_size(&c->out) > 0 || dbuf_size(&s->out) > 0) {
        if (dbuf_size(&c->out) > 0 && (rc = deliver(c, s)) != TS_OK)
            return rc;
        if (dbuf_size(&s->out) > 0 && (rc = deliver(s, c)) != TS_OK)
            return rc;
    }
    return TS_OK;
}

static const struct pair_opts default_opts = {.server_max = 1024u * 1024};

static void connect_pair(struct peer *c, struct peer *s, const struct pair_opts *o)
{
    peer_init(c, NOISE_INITIATOR, o);
    peer_init(s, NOISE_RESPONDER, o);
    assert_int_equal(channel_start(c->ch), TS_OK);
    assert_int_equal(channel_start(s->ch), TS_OK);
    assert_int_equal(pump(c, s), TS_OK);
    assert_true(c->established);
    assert_true(s->established);
}

static void test_handshake_every_suite(void **state)
{
    size_t n;
    const char *const *suites = channel_default_suites(&n);

    for (size_t i = 0; i < n; i++) {
        struct pair_opts o = default_opts;
        struct peer c, s;
        size_t hc, hs;
        const uint8_t *h1, *h2;

        o.client_suites = &suites[i];
        o.n_client = 1;
        connect_pair(&c, &s, &o);
        assert_string_equal(channel_suite(c.ch), suites[i]);
        assert_string_equal(channel_suite(s.ch), suites[i]);
        assert_memory_equal(channel_peer_identity(c.ch), ts_identity_public_key(s.id), 32);
        assert_memory_equal(channel_peer_identity(s.ch), ts_identity_public_key(c.id), 32);
        h1 = channel_handshake_hash(c.ch, &hc);
        h2 = channel_handshake_hash(s.ch, &hs);
        assert_int_equal(hc, hs);
        assert_memory_equal(h1, h2, hc);
        /* The handshake state is gone once transport keys exist. */
        assert_null(c.ch->hs);
        assert_null(s.ch->hs);
        peer_free(&c);
        peer_free(&s);
    }
}

static void test_messages_both_ways_and_fragmentation(void **state)
{
    struct peer c, s;
    size_t big = 1024u * 1024;
    uint8_t *msg = malloc(big);

    for (size_t i = 0; i < big; i++)
        msg[i] = (uint8_t)(i * 7);
    connect_pair(&c, &s, &default_opts);
    assert_int_equal(channel_send(c.ch, (const uint8_t *)"ping?", 5), TS_OK);
    assert_int_equal(pump(&c, &s), TS_OK);
    assert_int_equal(s.messages, 1);
    assert_memory_equal(dbuf_ptr(&s.last), "ping?", 5);
    assert_int_equal(channel_send(s.ch, (const uint8_t *)"", 0), TS_OK);
    assert_int_equal(pump(&c, &s), TS_OK);
    assert_int_equal(c.messages, 1);
    assert_int_equal(dbuf_size(&c.last), 0);
    /* Exactly the server's limit, in many frames. */
    assert_int_equal(channel_send(c.ch, msg, big), TS_OK);
    assert_int_equal(pump(&c, &s), TS_OK);
    assert_int_equal(s.messages, 2);
    assert_int_equal(dbuf_size(&s.last), big);
    assert_memory_equal(dbuf_ptr(&s.last), msg, big);
    peer_free(&c);
    peer_free(&s);
    free(msg);
}

static void test_oversize_is_refused_and_channel_lives(void **state)
{
    struct pair_opts o = default_opts;
    struct peer c, s;
    size_t big = 200000;
    uint8_t *msg = calloc(1, big);

    o.server_max = 1000;
    connect_pair(&c, &s, &o);
    assert_int_equal(channel_send(c.ch, msg, big), TS_OK);
    assert_int_equal(pump(&c, &s), TS_OK);
    assert_int_equal(s.oversize, big);
    assert_int_equal(s.messages, 0);
    assert_int_equal(channel_send(c.ch, msg, 1000), TS_OK);
    assert_int_equal(pump(&c, &s), TS_OK);
    assert_int_equal(s.messages, 1);
    assert_int_equal(channel_get_state(s.ch), CHANNEL_ESTABLISHED);
    peer_free(&c);
    peer_free(&s);
    free(msg);
}

static void test_server_refuses_in_hello_before_crypto(void **state)
{
    struct peer c, s;

    peer_init(&c, NOISE_INITIATOR, &default_opts);
    peer_init(&s, NOISE_RESPONDER, &default_opts);
    s.refuse_with = TS_REASON_SERVER_FULL;
    assert_int_equal(channel_start(c.ch), TS_OK);
    assert_int_equal(deliver(&c, &s), TS_ERR_REJECTED);
    assert_null(s.ch->hs);
    assert_int_equal(channel_get_state(s.ch), CHANNEL_CLOSED);
    assert_int_equal(deliver(&s, &c), TS_ERR_REJECTED);
    assert_int_equal(c.closed_reason, TS_REASON_SERVER_FULL);
    assert_string_equal(c.closed_text, "server full");
    assert_int_equal(channel_get_state(c.ch), CHANNEL_CLOSED);
    peer_free(&c);
    peer_free(&s);
}

static void test_unsupported_suite_and_version(void **state)
{
    const char *chacha[] = {"Noise_XX_25519_ChaChaPoly_SHA256"};
    const char *aes[] = {"Noise_XX_25519_AESGCM_SHA256"};
    struct pair_opts o = default_opts;
    struct peer c, s;
    uint8_t v2[] = {'T', 'S', 'E', 'L', 2, 1, 0, 0};

    o.client_suites = aes;
    o.n_client = 1;
    o.server_suites = chacha;
    o.n_server = 1;
    peer_init(&c, NOISE_INITIATOR, &o);
    peer_init(&s, NOISE_RESPONDER, &o);
    assert_int_equal(channel_start(c.ch), TS_OK);
    assert_int_equal(deliver(&c, &s), TS_ERR_UNSUPPORTED);
    assert_int_equal(deliver(&s, &c), TS_ERR_REJECTED);
    assert_int_equal(c.closed_reason, TS_REASON_UNSUPPORTED_SUITE);
    peer_free(&c);
    peer_free(&s);

    peer_init(&s, NOISE_RESPONDER, &default_opts);
    assert_int_equal(channel_feed(s.ch, v2, sizeof(v2)), TS_ERR_VERSION);
    assert_int_equal(s.hello_calls, 0);
    assert_int_equal(load_u16(dbuf_ptr(&s.out) + 8), TS_REASON_UNSUPPORTED_VERSION);
    peer_free(&s);
}

static void test_garbage_instead_of_hello(void **state)
{
    struct peer s;
    const char *http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

    peer_init(&s, NOISE_RESPONDER, &default_opts);
    assert_int_equal(channel_feed(s.ch, (const uint8_t *)http, strlen(http)), TS_ERR_MALFORMED);
    assert_int_equal(s.hello_calls, 0);
    peer_free(&s);
}

/* An attacker who edits the hello (here: drops an offered suite to force
 * another) changes the prologue: the handshake then fails. */
static void test_tampered_hello_breaks_handshake(void **state)
{
    const char *two[] = {"Noise_XX_25519_ChaChaPoly_SHA256", "Noise_XX_25519_AESGCM_SHA256"};
    struct pair_opts o = default_opts;
    struct hello_client h;
    struct peer c, s;
    uint8_t forged[HELLO_MAX_LEN];
    size_t len;
    int rc;

    o.client_suites = two;
    o.n_client = 2;
    peer_init(&c, NOISE_INITIATOR, &o);
    peer_init(&s, NOISE_RESPONDER, &o);
    assert_int_equal(channel_start(c.ch), TS_OK);
    assert_int_equal(hello_client_parse(dbuf_ptr(&c.out), dbuf_size(&c.out), &h), TS_OK);
    h.n_suites = 1;
    strcpy(h.suites[0], two[1]);
    assert_int_equal(hello_client_encode(&h, forged, sizeof(forged), &len), TS_OK);
    dbuf_reset(&c.out);
    assert_int_equal(channel_feed(s.ch, forged, len), TS_OK);
    rc = pump(&c, &s);
    assert_int_equal(rc, TS_ERR_HANDSHAKE);
    assert_false(c.established);
    assert_false(s.established);
    assert_int_equal(channel_get_state(c.ch), CHANNEL_FAILED);
    peer_free(&c);
    peer_free(&s);
}

static void test_pinned_key_mismatch_stops_before_msg3(void **state)
{
    struct peer c, s;

    peer_init(&c, NOISE_INITIATOR, &default_opts);
    peer_init(&s, NOISE_RESPONDER, &default_opts);
    c.refuse_identity = TS_ERR_KEY_MISMATCH;
    assert_int_equal(channel_start(c.ch), TS_OK);
    assert_int_equal(deliver(&c, &s), TS_OK);      /* hello */
    assert_int_equal(deliver(&s, &c), TS_OK);      /* accept */
    assert_int_equal(deliver(&c, &s), TS_OK);      /* msg1 */
    assert_int_equal(deliver(&s, &c), TS_ERR_KEY_MISMATCH); /* msg2 */
    assert_int_equal(dbuf_size(&c.out), 0);        /* our identity never left */
    assert_int_equal(channel_get_state(c.ch), CHANNEL_FAILED);
    peer_free(&c);
    peer_free(&s);
}

static void test_bad_identity_binding(void **state)
{
    struct peer c, s;
    uint8_t other_static[32];

    /* A signature that does not verify. */
    peer_init(&c, NOISE_INITIATOR, &default_opts);
    peer_init(&s, NOISE_RESPONDER, &default_opts);
    s.creds.binding_sig[5] ^= 1;
    assert_int_equal(channel_start(c.ch), TS_OK);
    assert_int_equal(pump(&c, &s), TS_ERR_IDENTITY);
    assert_false(c.established);
    assert_null(channel_peer_identity(c.ch));
    peer_free(&c);
    peer_free(&s);

    /* A valid signature over a different static key (a replayed binding). */
    peer_init(&c, NOISE_INITIATOR, &default_opts);
    peer_init(&s, NOISE_RESPONDER, &default_opts);
    memset(other_static, 7, sizeof(other_static));
    {
        struct channel_credentials other;
        assert_int_equal(channel_credentials_from_static(&other, s.id, other_static), TS_OK);
        memcpy(s.creds.binding_sig, other.binding_sig, sizeof(other.binding_sig));
        channel_credentials_wipe(&other);
    }
    assert_int_equal(channel_start(c.ch), TS_OK);
    assert_int_equal(pump(&c, &s), TS_ERR_IDENTITY);
    peer_free(&c);
    peer_free(&s);
}

/* Send one message from a to b but capture its frame instead of delivering. */
static size_t capture_frame(struct peer *a, const char *text, uint8_t *out)
{
    size_t n;

    assert_int_equal(channel_send(a->ch, (const uint8_t *)text, strlen(text)), TS_OK);
    n = dbuf_size(&a->out);
    memcpy(out, dbuf_ptr(&a->out), n);
    dbuf_reset(&a->out);
    return n;
}

static void test_tampered_frames_fail_and_close_with_reason(void **state)
{
    struct peer c, s;
    uint8_t frame[256];
    size_t n;
    size_t positions[2];

    connect_pair(&c, &s, &default_opts);
    n = capture_frame(&c, "secret", frame);
    positions[0] = 4;       /* ciphertext */
    positions[1] = n - 1;   /* tag */
    for (int i = 0; i < 2; i++) {
        struct peer c2, s2;
        uint8_t copy[256];
        connect_pair(&c2, &s2, &default_opts);
        n = capture_frame(&c2, "secret", copy);
        copy[positions[i]] ^= 0x01;
        assert_int_equal(channel_feed(s2.ch, copy, n), TS_ERR_DECRYPT);
        assert_int_equal(s2.messages, 0);
        assert_int_equal(channel_get_state(s2.ch), CHANNEL_FAILED);
        /* The sender learns why. */
        assert_int_equal(deliver(&s2, &c2), TS_OK);
        assert_int_equal(c2.closed_reason, TS_REASON_DECRYPT_FAILED);
        peer_free(&c2);
        peer_free(&s2);
    }
    peer_free(&c);
    peer_free(&s);
}

static void test_replay_reorder_reflect(void **state)
{
    struct peer c, s;
    uint8_t f1[256], f2[256];
    size_t n1, n2;

    /* Replay. */
    connect_pair(&c, &s, &default_opts);
    n1 = capture_frame(&c, "one", f1);
    assert_int_equal(channel_feed(s.ch, f1, n1), TS_OK);
    assert_int_equal(s.messages, 1);
    assert_int_equal(channel_feed(s.ch, f1, n1), TS_ERR_DECRYPT);
    assert_int_equal(s.messages, 1);
    peer_free(&c);
    peer_free(&s);

    /* Reorder. */
    connect_pair(&c, &s, &default_opts);
    n1 = capture_frame(&c, "one", f1);
    n2 = capture_frame(&c, "two", f2);
    assert_int_equal(channel_feed(s.ch, f2, n2), TS_ERR_DECRYPT);
    assert_int_equal(s.messages, 0);
    (void)n1;
    peer_free(&c);
    peer_free(&s);

    /* Reflection: a frame sent back to its sender. */
    connect_pair(&c, &s, &default_opts);
    n1 = capture_frame(&c, "one", f1);
    assert_int_equal(channel_feed(c.ch, f1, n1), TS_ERR_DECRYPT);
    assert_int_equal(c.messages, 0);
    peer_free(&c);
    peer_free(&s);
}

static void test_truncated_and_bad_lengths(void **state)
{
    struct peer c, s;
    uint8_t f[256];
    size_t n;
    uint8_t tiny[] = {0x00, 0x05, 1, 2, 3, 4, 5};

    connect_pair(&c, &s, &default_opts);
    n = capture_frame(&c, "hello", f);
    /* Partial frames wait for the rest. */
    for (size_t i = 0; i < n - 1; i++)
        assert_int_equal(channel_feed(s.ch, f + i, 1), TS_OK);
    assert_int_equal(s.messages, 0);
    assert_int_equal(channel_feed(s.ch, f + n - 1, 1), TS_OK);
    assert_int_equal(s.messages, 1);
    /* A length too short to hold a tag. */
    assert_int_equal(channel_feed(s.ch, tiny, sizeof(tiny)), TS_ERR_PROTOCOL);
    peer_free(&c);
    peer_free(&s);

    /* A handshake message length over the handshake limit. */
    peer_init(&c, NOISE_INITIATOR, &default_opts);
    peer_init(&s, NOISE_RESPONDER, &default_opts);
    assert_int_equal(channel_start(c.ch), TS_OK);
    assert_int_equal(deliver(&c, &s), TS_OK);
    {
        uint8_t huge[] = {0xff, 0xff};
        assert_int_equal(channel_feed(s.ch, huge, 2), TS_ERR_PROTOCOL);
    }
    peer_free(&c);
    peer_free(&s);
}

static void test_unknown_frame_type(void **state)
{
    struct peer c, s;

    connect_pair(&c, &s, &default_opts);
    assert_int_equal(channel_write_frame(c.ch, 0x7f, NULL, 0, NULL, 0), TS_OK);
    assert_int_equal(deliver(&c, &s), TS_ERR_PROTOCOL);
    assert_int_equal(deliver(&s, &c), TS_OK);
    assert_int_equal(c.closed_reason, TS_REASON_PROTOCOL_ERROR);
    peer_free(&c);
    peer_free(&s);
}

static void test_rekey_by_count_and_time(void **state)
{
    struct pair_opts o = default_opts;
    struct peer c, s;
    struct channel_stats cs, ss;

    o.rekey_frames = 3;
    connect_pair(&c, &s, &o);
    for (int i = 0; i < 10; i++)
        assert_int_equal(channel_send(c.ch, (const uint8_t *)"x", 1), TS_OK);
    assert_int_equal(pump(&c, &s), TS_OK);
    assert_int_equal(s.messages, 10);
    channel_get_stats(c.ch, &cs);
    channel_get_stats(s.ch, &ss);
    assert_int_equal(cs.rekeys_sent, 3);
    assert_int_equal(ss.rekeys_received, 3);
    peer_free(&c);
    peer_free(&s);

    o = default_opts;
    o.rekey_ms = 60000;
    connect_pair(&c, &s, &o);
    assert_int_equal(channel_send(c.ch, (const uint8_t *)"a", 1), TS_OK);
    fake_now += 60000;
    assert_int_equal(channel_send(c.ch, (const uint8_t *)"b", 1), TS_OK);
    assert_int_equal(channel_send(c.ch, (const uint8_t *)"c", 1), TS_OK);
    assert_int_equal(pump(&c, &s), TS_OK);
    assert_int_equal(s.messages, 3);
    channel_get_stats(c.ch, &cs);
    assert_int_equal(cs.rekeys_sent, 1);
    peer_free(&c);
    peer_free(&s);
}

static void test_rekey_on_one_side_only_breaks(void **state)
{
    struct peer c, s;

    connect_pair(&c, &s, &default_opts);
    assert_int_equal(noise_cipher_rekey(c.ch->tx), TS_OK);
    assert_int_equal(channel_send(c.ch, (const uint8_t *)"x", 1), TS_OK);
    assert_int_equal(deliver(&c, &s), TS_ERR_DECRYPT);
    peer_free(&c);
    peer_free(&s);
}

static void test_nonce_exhaustion(void **state)
{
    struct peer c, s;

    connect_pair(&c, &s, &default_opts);
    noise_cipher_set_nonce(c.ch->tx, UINT64_MAX - 1);
    noise_cipher_set_nonce(s.ch->rx, UINT64_MAX - 1);
    assert_int_equal(channel_send(c.ch, (const uint8_t *)"last", 4), TS_OK);
    assert_int_equal(pump(&c, &s), TS_OK);
    assert_int_equal(s.messages, 1);
    assert_int_equal(channel_send(c.ch, (const uint8_t *)"more", 4), TS_ERR_NONCE_EXHAUSTED);
    assert_int_equal(dbuf_size(&c.out), 0);
    assert_int_equal(channel_get_state(c.ch), CHANNEL_FAILED);
    assert_int_equal(channel_send(c.ch, (const uint8_t *)"more", 4), TS_ERR_STATE);
    peer_free(&c);
    peer_free(&s);
}

static void test_ping_pong(void **state)
{
    struct peer c, s;

    connect_pair(&c, &s, &default_opts);
    assert_int_equal(channel_send_ping(c.ch), TS_OK);
    assert_int_equal(deliver(&c, &s), TS_OK);
    fake_now += 5;
    assert_int_equal(deliver(&s, &c), TS_OK);
    assert_int_equal(c.pongs, 1);
    assert_int_equal(c.last_rtt, 5);
    assert_int_equal(s.messages, 0);
    peer_free(&c);
    peer_free(&s);
}

static void test_close_with_reason(void **state)
{
    struct peer c, s;

    connect_pair(&c, &s, &default_opts);
    assert_int_equal(channel_close(s.ch, TS_REASON_KICKED, "bye now"), TS_OK);
    assert_int_equal(deliver(&s, &c), TS_OK);
    assert_int_equal(c.closed_reason, TS_REASON_KICKED);
    assert_string_equal(c.closed_text, "bye now");
    assert_int_equal(channel_get_state(c.ch), CHANNEL_CLOSED);
    assert_int_equal(channel_send(c.ch, (const uint8_t *)"x", 1), TS_ERR_STATE);
    assert_int_equal(channel_send(s.ch, (const uint8_t *)"x", 1), TS_ERR_STATE);
    peer_free(&c);
    peer_free(&s);
}

static uint8_t *full_reserve(void *arg, size_t n)
{
    return NULL;
}

static void full_commit(void *arg, size_t n)
{
}

static void test_full_sink_reports_limit(void **state)
{
    struct peer c, s;

    connect_pair(&c, &s, &default_opts);
    c.ch->sink.reserve = full_reserve;
    c.ch->sink.commit = full_commit;
    assert_int_equal(channel_send(c.ch, (const uint8_t *)"x", 1), TS_ERR_LIMIT);
    peer_free(&c);
    peer_free(&s);
}

static void test_send_before_established(void **state)
{
    struct peer c;

    peer_init(&c, NOISE_INITIATOR, &default_opts);
    assert_int_equal(channel_send(c.ch, (const uint8_t *)"x", 1), TS_ERR_STATE);
    assert_int_equal(channel_send_ping(c.ch), TS_ERR_STATE);
    peer_free(&c);
}

static void test_config_refuses_non_xx_suites(void **state)
{
    const char *nn[] = {"Noise_NN_25519_AESGCM_SHA256"};
    const char *x448[] = {"Noise_XX_448_AESGCM_SHA256"};
    struct channel_credentials creds = {0};
    struct channel_config cfg = {.role = NOISE_INITIATOR, .credentials = &creds,
                                 .suites = nn, .n_suites = 1};
    struct dbuf out;
    struct channel_sink sink;
    channel *ch;

    dbuf_init(&out, 1024);
    sink = channel_sink_dbuf(&out);
    assert_int_equal(channel_new(&ch, &cfg, NULL, &sink), TS_ERR_UNSUPPORTED);
    cfg.suites = x448;
    assert_int_equal(channel_new(&ch, &cfg, NULL, &sink), TS_ERR_UNSUPPORTED);
    cfg.credentials = NULL;
    assert_int_equal(channel_new(&ch, &cfg, NULL, &sink), TS_ERR_INVALID);
    dbuf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_every_suite),
        cmocka_unit_test(test_messages_both_ways_and_fragmentation),
        cmocka_unit_test(test_oversize_is_refused_and_channel_lives),
        cmocka_unit_test(test_server_refuses_in_hello_before_crypto),
        cmocka_unit_test(test_unsupported_suite_and_version),
        cmocka_unit_test(test_garbage_instead_of_hello),
        cmocka_unit_test(test_tampered_hello_breaks_handshake),
        cmocka_unit_test(test_pinned_key_mismatch_stops_before_msg3),
        cmocka_unit_test(test_bad_identity_binding),
        cmocka_unit_test(test_tampered_frames_fail_and_close_with_reason),
        cmocka_unit_test(test_replay_reorder_reflect),
        cmocka_unit_test(test_truncated_and_bad_lengths),
        cmocka_unit_test(test_unknown_frame_type),
        cmocka_unit_test(test_rekey_by_count_and_time),
        cmocka_unit_test(test_rekey_on_one_side_only_breaks),
        cmocka_unit_test(test_nonce_exhaustion),
        cmocka_unit_test(test_ping_pong),
        cmocka_unit_test(test_close_with_reason),
        cmocka_unit_test(test_full_sink_reports_limit),
        cmocka_unit_test(test_send_before_established),
        cmocka_unit_test(test_config_refuses_non_xx_suites),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
