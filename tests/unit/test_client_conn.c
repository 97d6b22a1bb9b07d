/*
 * The client connection engine against an in-process responder: a thread
 * serving one connection on a loopback listener (or a socketpair) with a
 * server-role channel, answering Requests the way each test asks.
 *
 * The listener is bound and listening before the thread starts, so the
 * client can connect at once; nothing sleeps waiting for readiness.
 * Results of the responder are checked after joining its thread (cmocka
 * asserts belong to the main thread).
 */
#include "support.h"

#include <arpa/inet.h>
#include <errno.h>
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

#include "channel/channel.h"
#include "client/conn.h"
#include "client/server_error.h"
#include "net/tcp.h"
#include "util/clock.h"
#include "util/dbuf.h"

#define TEST_DEADLINE_MS 5000
#define ERROR_PAYLOAD "{\"code\":106,\"reason\":\"not_allowed\",\"message\":\"no\\u0007pe\"}"

enum mode {
    MODE_ECHO,         /* Response with the payload; signed when the request was */
    MODE_ERROR,        /* Error envelope */
    MODE_REJECT,       /* hello rejection: server full */
    MODE_SILENT,       /* accept, never answer anything */
    MODE_IGNORE,       /* handshake, then never answer requests */
    MODE_BAD_SIGNATURE,/* Response signed by another identity */
    MODE_NOTICE_FIRST, /* a Notice, the same Notice again (duplicate id), a Response */
    MODE_CLOSE,        /* CLOSE (kicked) instead of an answer */
    MODE_STALE,        /* signed Response with a timestamp 10 minutes old */
    MODE_BIG,          /* Response with a 4000-byte payload */
};

struct responder {
    enum mode mode;
    int lfd;              /* listening socket, or -1 with fd preset */
    int fd;               /* the connection */
    uint16_t port;
    pthread_t thread;
    ts_identity *id;
    ts_identity *other;
    struct channel_credentials creds;
    channel *ch;
    struct dbuf out;
    uint64_t next_id;

    /* Outcome, read after join. */
    bool hello_seen;
    bool client_proven;   /* message 3 arrived and verified */
    bool established;
    int requests;
    uint16_t close_reason;
    char close_text[128];
    bool peer_eof;
};

/* Sent from the client's side. */
struct observer {
    int messages;
    ts_msg_type types[8];
    uint64_t correlation[8];
    int verify[8];
    bool signature_ok[8];
    char payload[8][64];
    int checks;
    int check_result;     /* what check_server returns */
    char seen_fp[TS_FINGERPRINT_MAX];
    uint16_t close_reason;
    uint64_t oversize;
};

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static uint16_t r_on_hello(void *arg, const struct hello_client *hello)
{
    struct responder *r = arg;

    r->hello_seen = true;
    return r->mode == MODE_REJECT ? TS_REASON_SERVER_FULL : 0;
}

static int r_on_identity(void *arg, const uint8_t *identity)
{
    ((struct responder *)arg)->client_proven = true;
    return TS_OK;
}

static int r_on_established(void *arg)
{
    ((struct responder *)arg)->established = true;
    return TS_OK;
}

static void r_on_close(void *arg, uint16_t reason, const char *text)
{
    struct responder *r = arg;

    r->close_reason = reason;
    snprintf(r->close_text, sizeof(r->close_text), "%s", text);
}

/* Build, seal and send one envelope from the responder. */
static int r_send(struct responder *r, ts_msg_type type, uint64_t id, uint64_t corr,
                  const void *payload, size_t len, const ts_identity *signer,
                  uint64_t timestamp)
{
    char fp[TS_FINGERPRINT_MAX];
    ts_envelope *env = NULL;
    uint8_t *data = NULL;
    size_t n = 0;
    int rc;

    ts_identity_fingerprint(r->id, fp);
    rc = ts_envelope_new(&env, type);
    if (rc == TS_OK) {
        ts_envelope_set_id(env, id);
        ts_envelope_set_correlation_id(env, corr);
        if (timestamp != 0)
            ts_envelope_set_timestamp(env, timestamp);
        rc = ts_envelope_set_sender(env, fp);
    }
    if (rc == TS_OK)
        rc = ts_envelope_set_payload(env, payload, len);
    if (rc == TS_OK)
        rc = ts_envelope_seal(env, signer);
    if (rc == TS_OK)
        rc = ts_envelope_encode(env, &data, &n);
    if (rc == TS_OK)
        rc = channel_send(r->ch, data, n);
    free(data);
    ts_envelope_free(env);
    return rc;
}

static int r_answer(struct responder *r, const ts_envelope *req)
{
    const ts_identity *signer = ts_envelope_is_signed(req) ? r->id : NULL;
    uint64_t rid = ts_envelope_id(req);
    size_t len;
    const uint8_t *payload = ts_envelope_payload(req, &len);
    static uint8_t big[4000];

    switch (r->mode) {
    case MODE_ECHO:
        return r_send(r, TS_MSG_RESPONSE, r->next_id++, rid, payload, len, signer, 0);
    case MODE_ERROR:
        return r_send(r, TS_MSG_ERROR, r->next_id++, rid, ERROR_PAYLOAD,
                      strlen(ERROR_PAYLOAD), NULL, 0);
    case MODE_BAD_SIGNATURE:
        return r_send(r, TS_MSG_RESPONSE, r->next_id++, rid, payload, len, r->other, 0);
    case MODE_NOTICE_FIRST:
        if (r_send(r, TS_MSG_NOTICE, 5, 0, "maintenance", 11, NULL, 0) != TS_OK ||
            r_send(r, TS_MSG_NOTICE, 5, 0, "maintenance", 11, NULL, 0) != TS_OK)
            return TS_ERR_IO;
        return r_send(r, TS_MSG_RESPONSE, 6, rid, payload, len, signer, 0);
    case MODE_CLOSE:
        return channel_close(r->ch, TS_REASON_KICKED, "bye now");
    case MODE_STALE:
        return r_send(r, TS_MSG_RESPONSE, r->next_id++, rid, payload, len, r->id,
                      clock_wall_ms() - 10u * 60u * 1000u);
    case MODE_BIG:
        memset(big, 'b', sizeof(big));
        return r_send(r, TS_MSG_RESPONSE, r->next_id++, rid, big, sizeof(big), NULL, 0);
    default:
        return TS_OK;
    }
}

static int r_on_message(void *arg, uint8_t *data, size_t len)
{
    struct responder *r = arg;
    ts_envelope *req = NULL;
    int rc = ts_envelope_decode(data, len, &req);

    if (rc == TS_OK && ts_envelope_verify(req, &(ts_verify_opts){0}) == TS_OK) {
        r->requests++;
        rc = r_answer(r, req);
    }
    ts_envelope_free(req);
    return rc;
}

static void responder_channel(struct responder *r)
{
    struct channel_config cfg = {.role = NOISE_RESPONDER, .credentials = &r->creds};
    struct channel_callbacks cb = {
        .arg = r, .on_hello = r_on_hello, .on_peer_identity = r_on_identity,
        .on_established = r_on_established, .on_message = r_on_message,
        .on_peer_close = r_on_close,
    };
    struct channel_sink sink;

    dbuf_init(&r->out, 64u * 1024 * 1024);
    sink = channel_sink_dbuf(&r->out);
    if (channel_credentials_init(&r->creds, r->id) != TS_OK ||
        channel_new(&r->ch, &cfg, &cb, &sink) != TS_OK)
        abort();
}

/* Serve one connection until the client hangs up. After a channel error
 * or a rejection, keep reading until the client is gone, as a server
 * lingers so its reason is not lost to a reset. */
static void *responder_main(void *arg)
{
    struct responder *r = arg;
    uint8_t buf[65536];
    bool live = true;
    ssize_t n;

    if (r->lfd >= 0)
        r->fd = accept(r->lfd, NULL, NULL);
    if (r->fd < 0)
        return NULL;
    for (;;) {
        n = recv(r->fd, buf, sizeof(buf), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (live && r->mode != MODE_SILENT && channel_feed(r->ch, buf, (size_t)n) != TS_OK)
            live = false;
        if (dbuf_size(&r->out) > 0 && write_all(r->fd, dbuf_ptr(&r->out),
                                                dbuf_size(&r->out)) != 0)
            break;
        dbuf_reset(&r->out);
        if (!live || channel_get_state(r->ch) == CHANNEL_CLOSED)
            shutdown(r->fd, SHUT_WR);
    }
    r->peer_eof = n == 0;
    close(r->fd);
    r->fd = -1;
    return NULL;
}

static void responder_common(struct responder *r, enum mode mode)
{
    memset(r, 0, sizeof(*r));
    r->mode = mode;
    r->next_id = 1;
    r->lfd = r->fd = -1;
    assert_int_equal(ts_identity_generate(&r->id), TS_OK);
    assert_int_equal(ts_identity_generate(&r->other), TS_OK);
    responder_channel(r);
}

static void responder_start(struct responder *r, enum mode mode)
{
    struct sockaddr_in in = {.sin_family = AF_INET};
    socklen_t len = sizeof(in);

    responder_common(r, mode);
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    r->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(r->lfd >= 0);
    assert_int_equal(bind(r->lfd, (struct sockaddr *)&in, sizeof(in)), 0);
    assert_int_equal(listen(r->lfd, 4), 0);
    assert_int_equal(getsockname(r->lfd, (struct sockaddr *)&in, &len), 0);
    r->port = ntohs(in.sin_port);
    assert_int_equal(pthread_create(&r->thread, NULL, responder_main, r), 0);
}

/* Wait for the responder to finish (the client must have hung up). */
static void responder_join(struct responder *r)
{
    assert_int_equal(pthread_join(r->thread, NULL), 0);
    if (r->lfd >= 0)
        close(r->lfd);
    channel_free(r->ch);
    channel_credentials_wipe(&r->creds);
    dbuf_free(&r->out);
    ts_identity_free(r->id);
    ts_identity_free(r->other);
}

static int o_check(void *arg, const uint8_t key[TS_PUBLIC_KEY_LEN], const char *fp)
{
    struct observer *o = arg;

    o->checks++;
    snprintf(o->seen_fp, sizeof(o->seen_fp), "%s", fp);
    return o->check_result;
}

static int o_message(void *arg, const struct client_message *m)
{
    struct observer *o = arg;
    size_t len;
    const uint8_t *p = ts_envelope_payload(m->env, &len);
    int i = o->messages++;

    if (i >= 8)
        return TS_OK;
    o->types[i] = ts_envelope_type(m->env);
    o->correlation[i] = ts_envelope_correlation_id(m->env);
    o->verify[i] = m->verify;
    o->signature_ok[i] = m->signature_ok;
    snprintf(o->payload[i], sizeof(o->payload[i]), "%.*s", (int)(len < 63 ? len : 63),
             (const char *)p);
    return TS_OK;
}

static void o_close(void *arg, uint16_t reason, const char *text)
{
    ((struct observer *)arg)->close_reason = reason;
}

static void o_oversize(void *arg, uint64_t size)
{
    ((struct observer *)arg)->oversize = size;
}

struct client {
    ts_identity *id;
    client_conn *c;
    struct observer o;
};

static void client_init(struct client *cl, const char *pin, size_t max_message,
                        bool with_oversize)
{
    struct client_conn_config cfg = {.server_fingerprint = pin,
                                     .max_message = max_message};
    struct client_conn_callbacks cb = {
        .arg = &cl->o, .check_server = o_check, .on_message = o_message,
        .on_close = o_close, .on_oversize = with_oversize ? o_oversize : NULL,
    };

    memset(cl, 0, sizeof(*cl));
    assert_int_equal(ts_identity_generate(&cl->id), TS_OK);
    cfg.identity = cl->id;
    assert_int_equal(client_conn_new(&cl->c, &cfg, &cb), TS_OK);
}

static void client_free(struct client *cl)
{
    client_conn_free(cl->c);
    ts_identity_free(cl->id);
}

static uint64_t deadline(void)
{
    return clock_mono_ms() + TEST_DEADLINE_MS;
}

/* Send a request with payload text; returns its id. */
static uint64_t send_request(struct client *cl, const char *text, bool sign, uint64_t id)
{
    ts_envelope *env;

    assert_int_equal(ts_envelope_new(&env, TS_MSG_REQUEST), TS_OK);
    ts_envelope_set_id(env, id);
    assert_int_equal(ts_envelope_set_payload(env, text, strlen(text)), TS_OK);
    assert_int_equal(ts_envelope_seal(env, sign ? cl->id : NULL), TS_OK);
    assert_int_equal(client_conn_send(cl->c, env), TS_OK);
    ts_envelope_free(env);
    return id;
}

/* Pump until n messages arrived. */
static int pump_until(struct client *cl, int n)
{
    int rc = TS_OK;
    uint64_t d = deadline();

    while (rc == TS_OK && cl->o.messages < n)
        rc = client_conn_pump(cl->c, d);
    return rc;
}

static void open_client(struct client *cl, struct responder *r)
{
    assert_int_equal(client_conn_open(cl->c, "127.0.0.1", r->port, deadline()), TS_OK);
    assert_int_equal(client_conn_state(cl->c), CLIENT_CONN_READY);
}

static void test_echo_signed_and_unsigned(void **state)
{
    struct responder r;
    struct client cl;
    char fp[TS_FINGERPRINT_MAX];

    responder_start(&r, MODE_ECHO);
    client_init(&cl, NULL, 0, false);
    open_client(&cl, &r);
    ts_identity_fingerprint(r.id, fp);
    assert_int_equal(cl.o.checks, 1);
    assert_string_equal(cl.o.seen_fp, fp);
    assert_string_equal(client_conn_server_fingerprint(cl.c), fp);
    assert_memory_equal(client_conn_server_key(cl.c), ts_identity_public_key(r.id), 32);
    assert_string_equal(client_conn_suite(cl.c), TS_DEFAULT_SUITE);
    assert_false(client_conn_output_pending(cl.c));

    send_request(&cl, "unsigned", false, 1);
    assert_int_equal(pump_until(&cl, 1), TS_OK);
    assert_int_equal(cl.o.types[0], TS_MSG_RESPONSE);
    assert_int_equal(cl.o.correlation[0], 1);
    assert_int_equal(cl.o.verify[0], TS_OK);
    assert_false(cl.o.signature_ok[0]);
    assert_string_equal(cl.o.payload[0], "unsigned");

    send_request(&cl, "signed", true, 2);
    assert_int_equal(pump_until(&cl, 2), TS_OK);
    assert_int_equal(cl.o.correlation[1], 2);
    assert_int_equal(cl.o.verify[1], TS_OK);
    assert_true(cl.o.signature_ok[1]);

    /* The close reason reaches the server. */
    assert_int_equal(client_conn_close(cl.c, TS_REASON_CLIENT_EXIT, NULL, deadline()),
                     TS_OK);
    assert_int_equal(client_conn_state(cl.c), CLIENT_CONN_CLOSED);
    assert_int_equal(client_conn_send(cl.c, NULL), TS_ERR_CLOSED);
    responder_join(&r);
    assert_int_equal(r.requests, 2);
    assert_int_equal(r.close_reason, TS_REASON_CLIENT_EXIT);
    assert_string_equal(r.close_text, "client exiting");
    assert_true(r.peer_eof);
    client_free(&cl);
}

static void test_pinned_key_mismatch_stops_before_message_3(void **state)
{
    struct responder r;
    struct client cl;
    ts_identity *stranger;
    char pin[TS_FINGERPRINT_MAX];
    int rc;

    assert_int_equal(ts_identity_generate(&stranger), TS_OK);
    ts_identity_fingerprint(stranger, pin);
    responder_start(&r, MODE_ECHO);
    client_init(&cl, pin, 0, false);
    rc = client_conn_open(cl.c, "127.0.0.1", r.port, deadline());
    assert_int_equal(rc, TS_ERR_KEY_MISMATCH);
    assert_non_null(strstr(ts_error_detail(rc), "expected"));
    assert_non_null(strstr(ts_error_detail(rc), pin));
    /* The pin is checked before the owner's callback is asked. */
    assert_int_equal(cl.o.checks, 0);
    assert_int_equal(client_conn_state(cl.c), CLIENT_CONN_FAILED);
    assert_int_equal(client_conn_fd(cl.c), -1);
    /* Sticky: later calls report the same failure. */
    assert_int_equal(client_conn_pump(cl.c, deadline()), TS_ERR_KEY_MISMATCH);
    responder_join(&r);
    assert_true(r.hello_seen);
    assert_false(r.client_proven);
    assert_false(r.established);
    client_free(&cl);
    ts_identity_free(stranger);
}

/* The known-servers path: the owner's callback refuses the key. */
static void test_callback_refusal_stops_before_message_3(void **state)
{
    struct responder r;
    struct client cl;

    responder_start(&r, MODE_ECHO);
    client_init(&cl, NULL, 0, false);
    cl.o.check_result = TS_ERR_KEY_MISMATCH;
    assert_int_equal(client_conn_open(cl.c, "127.0.0.1", r.port, deadline()),
                     TS_ERR_KEY_MISMATCH);
    assert_int_equal(cl.o.checks, 1);
    assert_string_equal(client_conn_server_fingerprint(cl.c), cl.o.seen_fp);
    responder_join(&r);
    assert_false(r.client_proven);
    client_free(&cl);
}

static void test_correct_pin_connects(void **state)
{
    struct responder r;
    struct client cl;
    char pin[TS_FINGERPRINT_MAX];

    responder_start(&r, MODE_ECHO);
    ts_identity_fingerprint(r.id, pin);
    client_init(&cl, pin, 0, false);
    open_client(&cl, &r);
    assert_int_equal(cl.o.checks, 1);
    client_conn_close(cl.c, TS_REASON_CLIENT_EXIT, NULL, deadline());
    responder_join(&r);
    assert_true(r.client_proven);
    client_free(&cl);
}

static void test_rejection_reason_reaches_caller(void **state)
{
    struct responder r;
    struct client cl;
    const char *text = NULL;
    char want[128];
    int rc;

    responder_start(&r, MODE_REJECT);
    client_init(&cl, NULL, 0, false);
    rc = client_conn_open(cl.c, "127.0.0.1", r.port, deadline());
    assert_int_equal(rc, TS_ERR_REJECTED);
    snprintf(want, sizeof(want), "127.0.0.1:%u refused the connection: server full "
             "(server_full)", r.port);
    assert_string_equal(ts_error_detail(rc), want);
    assert_int_equal(client_conn_peer_reason(cl.c, &text), TS_REASON_SERVER_FULL);
    assert_string_equal(text, "server full");
    assert_int_equal(cl.o.close_reason, TS_REASON_SERVER_FULL);
    assert_int_equal(client_conn_state(cl.c), CLIENT_CONN_CLOSED);
    assert_int_equal(cl.o.checks, 0);
    responder_join(&r);
    assert_false(r.established);
    client_free(&cl);
}

static void test_timeout_when_server_stays_silent(void **state)
{
    struct responder r;
    struct client cl;
    uint64_t start;
    int rc;

    /* Silent after the handshake: the answer never comes. */
    responder_start(&r, MODE_IGNORE);
    client_init(&cl, NULL, 0, false);
    open_client(&cl, &r);
    send_request(&cl, "anyone?", false, 1);
    start = clock_mono_ms();
    rc = client_conn_pump(cl.c, start + 200);
    assert_int_equal(rc, TS_ERR_TIMEOUT);
    assert_true(clock_mono_ms() - start >= 190);
    assert_non_null(strstr(ts_error_detail(rc), "timed out waiting for 127.0.0.1:"));
    /* A timeout is not fatal: the connection still works. */
    assert_int_equal(client_conn_state(cl.c), CLIENT_CONN_READY);
    client_conn_close(cl.c, TS_REASON_CLIENT_EXIT, NULL, deadline());
    responder_join(&r);
    assert_int_equal(r.requests, 1);
    client_free(&cl);

    /* Silent from the start: the handshake never completes. */
    responder_start(&r, MODE_SILENT);
    client_init(&cl, NULL, 0, false);
    rc = client_conn_open(cl.c, "127.0.0.1", r.port, clock_mono_ms() + 200);
    assert_int_equal(rc, TS_ERR_TIMEOUT);
    assert_non_null(strstr(ts_error_detail(rc), "timed out during the handshake"));
    client_conn_free(cl.c);
    cl.c = NULL;
    responder_join(&r);
    client_free(&cl);
}

static void test_error_envelope_is_delivered_and_parsed(void **state)
{
    struct responder r;
    struct client cl;
    struct server_error e;
    char text[128];

    responder_start(&r, MODE_ERROR);
    client_init(&cl, NULL, 0, false);
    open_client(&cl, &r);
    send_request(&cl, "may I?", false, 9);
    assert_int_equal(pump_until(&cl, 1), TS_OK);
    assert_int_equal(cl.o.types[0], TS_MSG_ERROR);
    assert_int_equal(cl.o.correlation[0], 9);
    assert_int_equal(cl.o.verify[0], TS_OK);
    assert_int_equal(server_error_parse((const uint8_t *)cl.o.payload[0],
                                        strlen(cl.o.payload[0]), &e), TS_OK);
    assert_int_equal(e.code, TS_REASON_NOT_ALLOWED);
    assert_string_equal(e.reason, "not_allowed");
    /* Control characters from the server are never printed raw. */
    assert_string_equal(e.message, "no?pe");
    server_error_describe(&e, text, sizeof(text));
    assert_string_equal(text, "no?pe (not_allowed)");
    client_conn_close(cl.c, TS_REASON_CLIENT_EXIT, NULL, deadline());
    responder_join(&r);
    client_free(&cl);
}

static void test_server_error_payload_shapes(void **state)
{
    struct server_error e;
    const char *only_code = "{\"code\":107}";
    const char *not_json = "plain\ntext";
    char text[128];

    assert_int_equal(server_error_parse((const uint8_t *)only_code, strlen(only_code), &e),
                     TS_OK);
    assert_string_equal(e.reason, "duplicate");
    assert_string_equal(e.message, "duplicate message");
    assert_int_equal(server_error_parse((const uint8_t *)not_json, strlen(not_json), &e),
                     TS_ERR_MALFORMED);
    server_error_describe(&e, text, sizeof(text));
    assert_string_equal(text, "plain?text");
    assert_int_equal(server_error_parse((const uint8_t *)"{\"code\":70000}", 14, &e),
                     TS_ERR_MALFORMED);
    assert_int_equal(server_error_parse((const uint8_t *)"[1]", 3, &e), TS_ERR_MALFORMED);
    assert_int_equal(server_error_parse(NULL, 0, &e), TS_ERR_MALFORMED);
    assert_string_equal(e.message, "");
}

static void test_response_signature_checked_against_server(void **state)
{
    struct responder r;
    struct client cl;

    responder_start(&r, MODE_BAD_SIGNATURE);
    client_init(&cl, NULL, 0, false);
    open_client(&cl, &r);
    send_request(&cl, "sign this", true, 1);
    assert_int_equal(pump_until(&cl, 1), TS_OK);
    assert_int_equal(cl.o.verify[0], TS_ERR_BAD_SIGNATURE);
    assert_false(cl.o.signature_ok[0]);
    client_conn_close(cl.c, TS_REASON_CLIENT_EXIT, NULL, deadline());
    responder_join(&r);
    client_free(&cl);

    /* A stale timestamp is reported; the signature itself verified. */
    responder_start(&r, MODE_STALE);
    client_init(&cl, NULL, 0, false);
    open_client(&cl, &r);
    send_request(&cl, "old news", true, 1);
    assert_int_equal(pump_until(&cl, 1), TS_OK);
    assert_int_equal(cl.o.verify[0], TS_ERR_STALE);
    assert_true(cl.o.signature_ok[0]);
    client_conn_close(cl.c, TS_REASON_CLIENT_EXIT, NULL, deadline());
    responder_join(&r);
    client_free(&cl);
}

static void test_other_messages_and_duplicates(void **state)
{
    struct responder r;
    struct client cl;

    responder_start(&r, MODE_NOTICE_FIRST);
    client_init(&cl, NULL, 0, false);
    open_client(&cl, &r);
    send_request(&cl, "hi", false, 3);
    assert_int_equal(pump_until(&cl, 2), TS_OK);
    assert_int_equal(cl.o.messages, 2);
    assert_int_equal(cl.o.types[0], TS_MSG_NOTICE);
    assert_string_equal(cl.o.payload[0], "maintenance");
    /* The repeated Notice (same id) was dropped. */
    assert_int_equal(cl.o.types[1], TS_MSG_RESPONSE);
    assert_int_equal(cl.o.correlation[1], 3);
    client_conn_close(cl.c, TS_REASON_CLIENT_EXIT, NULL, deadline());
    responder_join(&r);
    client_free(&cl);
}

static void test_server_close_reason_is_forwarded(void **state)
{
    struct responder r;
    struct client cl;
    const char *text = NULL;
    int rc;

    responder_start(&r, MODE_CLOSE);
    client_init(&cl, NULL, 0, false);
    open_client(&cl, &r);
    send_request(&cl, "bye?", false, 1);
    rc = pump_until(&cl, 1);
    assert_int_equal(rc, TS_ERR_CLOSED);
    assert_non_null(strstr(ts_error_detail(rc), "closed the connection: bye now (kicked)"));
    assert_int_equal(client_conn_peer_reason(cl.c, &text), TS_REASON_KICKED);
    assert_string_equal(text, "bye now");
    assert_int_equal(cl.o.close_reason, TS_REASON_KICKED);
    assert_int_equal(client_conn_state(cl.c), CLIENT_CONN_CLOSED);
    /* We hung up at once, which ends the responder. */
    responder_join(&r);
    assert_true(r.peer_eof);
    client_free(&cl);
}

static void test_oversize_message(void **state)
{
    struct responder r;
    struct client cl;
    int rc;

    /* Without a handler the connection fails with a clear error. */
    responder_start(&r, MODE_BIG);
    client_init(&cl, NULL, 1000, false);
    open_client(&cl, &r);
    send_request(&cl, "big one", false, 1);
    rc = pump_until(&cl, 1);
    assert_int_equal(rc, TS_ERR_TOO_LARGE);
    assert_non_null(strstr(ts_error_detail(rc), "over the limit of 1000"));
    responder_join(&r);
    client_free(&cl);

    /* With one, the message is skipped and the connection goes on. */
    responder_start(&r, MODE_BIG);
    client_init(&cl, NULL, 1000, true);
    open_client(&cl, &r);
    send_request(&cl, "big one", false, 1);
    rc = client_conn_pump(cl.c, clock_mono_ms() + 300);
    assert_int_equal(rc, TS_ERR_TIMEOUT);
    /* The announced size is the whole envelope: payload and header. */
    assert_true(cl.o.oversize > 4000);
    assert_int_equal(client_conn_state(cl.c), CLIENT_CONN_READY);
    client_conn_close(cl.c, TS_REASON_CLIENT_EXIT, NULL, deadline());
    responder_join(&r);
    client_free(&cl);
}

/* A message of many frames both ways; a queue too small for a message
 * refuses it whole and the connection goes on. */
static void test_large_messages_and_output_limit(void **state)
{
    enum { BIG = 900 * 1024 };
    struct client_conn_config cfg = {.max_output = 4096};
    struct client_conn_callbacks cb = {.on_message = o_message};
    struct responder r;
    struct client cl;
    ts_envelope *env;
    char *text = malloc(BIG + 1);

    memset(text, 'x', BIG);
    text[BIG] = '\0';
    responder_start(&r, MODE_ECHO);
    client_init(&cl, NULL, 0, false);
    open_client(&cl, &r);
    send_request(&cl, text, true, 1);
    assert_int_equal(pump_until(&cl, 1), TS_OK);
    assert_int_equal(cl.o.verify[0], TS_OK);
    assert_true(cl.o.signature_ok[0]);
    assert_int_equal(strspn(cl.o.payload[0], "x"), 63);
    client_conn_close(cl.c, TS_REASON_CLIENT_EXIT, NULL, deadline());
    responder_join(&r);
    client_free(&cl);

    responder_start(&r, MODE_ECHO);
    memset(&cl, 0, sizeof(cl));
    assert_int_equal(ts_identity_generate(&cl.id), TS_OK);
    cfg.identity = cl.id;
    cb.arg = &cl.o;
    assert_int_equal(client_conn_new(&cl.c, &cfg, &cb), TS_OK);
    open_client(&cl, &r);
    assert_int_equal(ts_envelope_new(&env, TS_MSG_REQUEST), TS_OK);
    ts_envelope_set_id(env, 1);
    assert_int_equal(ts_envelope_set_payload(env, text, 8192), TS_OK);
    assert_int_equal(ts_envelope_seal(env, NULL), TS_OK);
    assert_int_equal(client_conn_send(cl.c, env), TS_ERR_LIMIT);
    assert_int_equal(client_conn_state(cl.c), CLIENT_CONN_READY);
    ts_envelope_free(env);
    send_request(&cl, "small", false, 2);
    assert_int_equal(pump_until(&cl, 1), TS_OK);
    assert_string_equal(cl.o.payload[0], "small");
    client_conn_close(cl.c, TS_REASON_CLIENT_EXIT, NULL, deadline());
    responder_join(&r);
    assert_int_equal(r.requests, 1);
    client_free(&cl);
    free(text);
}

/* Refused, closed early, and misuse. */
static void test_connect_failures_and_states(void **state)
{
    struct sockaddr_in in = {.sin_family = AF_INET};
    socklen_t len = sizeof(in);
    struct client cl;
    int fd = socket(AF_INET, SOCK_STREAM, 0), rc;
    ts_envelope *env;

    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&in, sizeof(in)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&in, &len), 0);
    client_init(&cl, NULL, 0, false);
    assert_int_equal(client_conn_pump(cl.c, deadline()), TS_ERR_STATE);
    assert_int_equal(ts_envelope_new(&env, TS_MSG_REQUEST), TS_OK);
    assert_int_equal(ts_envelope_seal(env, NULL), TS_OK);
    assert_int_equal(client_conn_send(cl.c, env), TS_ERR_STATE);
    rc = client_conn_open(cl.c, "127.0.0.1", ntohs(in.sin_port), deadline());
    assert_int_equal(rc, TS_ERR_CONNECT);
    assert_int_equal(client_conn_os_error(cl.c), ECONNREFUSED);
    assert_non_null(strstr(ts_error_detail(rc), "Connection refused"));
    assert_int_equal(client_conn_state(cl.c), CLIENT_CONN_FAILED);
    assert_int_equal(client_conn_send(cl.c, env), TS_ERR_CONNECT);
    ts_envelope_free(env);
    client_free(&cl);
    close(fd);

    /* A malformed pin is refused up front. */
    {
        struct client_conn_config cfg = {.server_fingerprint = "SHA256:short"};
        client_conn *c = NULL;
        assert_int_equal(ts_identity_generate(&cl.id), TS_OK);
        cfg.identity = cl.id;
        assert_int_equal(client_conn_new(&c, &cfg, NULL), TS_ERR_INVALID);
        cfg.server_fingerprint = NULL;
        cfg.identity = NULL;
        assert_int_equal(client_conn_new(&c, &cfg, NULL), TS_ERR_INVALID);
        ts_identity_free(cl.id);
    }
}

/* A server that hangs up in the middle of the handshake. */
static void test_server_hangs_up_during_handshake(void **state)
{
    struct client cl;
    struct transport *t;
    int sv[2], rc;
    uint8_t buf[2048];

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    client_init(&cl, NULL, 0, false);
    assert_int_equal(tcp_transport_from_fd(sv[0], "pair", &t), TS_OK);
    assert_int_equal(client_conn_attach(cl.c, t), TS_OK);
    assert_true(read(sv[1], buf, sizeof(buf)) > 0); /* the ClientHello */
    close(sv[1]);
    rc = client_conn_pump(cl.c, deadline());
    assert_int_equal(rc, TS_ERR_CLOSED);
    assert_string_equal(ts_error_detail(rc), "pair closed the connection during the handshake");
    client_free(&cl);

    /* Garbage instead of a ServerHello. */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    client_init(&cl, NULL, 0, false);
    assert_int_equal(tcp_transport_from_fd(sv[0], "pair", &t), TS_OK);
    assert_int_equal(client_conn_attach(cl.c, t), TS_OK);
    assert_int_equal(write(sv[1], "HTTP/1.1 400 Bad Request\r\n\r\n", 28), 28);
    rc = client_conn_pump(cl.c, deadline());
    assert_int_equal(rc, TS_ERR_MALFORMED);
    assert_non_null(strstr(ts_error_detail(rc), "handshake with pair failed"));
    close(sv[1]);
    client_free(&cl);
}

/* The loop-friendly interface: the owner polls, the connection steps. */
static void test_external_poll_loop(void **state)
{
    struct responder r;
    struct client cl;
    struct transport *t;
    int sv[2];
    uint64_t end = deadline();
    bool sent = false;

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    responder_common(&r, MODE_ECHO);
    r.fd = sv[1];
    assert_int_equal(pthread_create(&r.thread, NULL, responder_main, &r), 0);
    client_init(&cl, NULL, 0, false);
    assert_int_equal(tcp_transport_from_fd(sv[0], "loop", &t), TS_OK);
    assert_int_equal(client_conn_attach(cl.c, t), TS_OK);
    while (cl.o.messages == 0 && clock_mono_ms() < end) {
        struct pollfd p = {.fd = client_conn_fd(cl.c), .events = client_conn_events(cl.c)};
        assert_true(p.fd >= 0);
        assert_true((p.events & POLLIN) != 0);
        assert_true(poll(&p, 1, 100) >= 0);
        assert_int_equal(client_conn_handle(cl.c, p.revents), TS_OK);
        if (client_conn_state(cl.c) == CLIENT_CONN_READY && !sent) {
            send_request(&cl, "looped", false, 1);
            sent = true;
        }
    }
    assert_int_equal(cl.o.messages, 1);
    assert_string_equal(cl.o.payload[0], "looped");
    assert_false(client_conn_input_pending(cl.c));
    client_conn_close(cl.c, TS_REASON_CLIENT_EXIT, NULL, deadline());
    responder_join(&r);
    assert_int_equal(r.close_reason, TS_REASON_CLIENT_EXIT);
    client_free(&cl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo_signed_and_unsigned),
        cmocka_unit_test(test_pinned_key_mismatch_stops_before_message_3),
        cmocka_unit_test(test_callback_refusal_stops_before_message_3),
        cmocka_unit_test(test_correct_pin_connects),
        cmocka_unit_test(test_rejection_reason_reaches_caller),
        cmocka_unit_test(test_timeout_when_server_stays_silent),
        cmocka_unit_test(test_error_envelope_is_delivered_and_parsed),
        cmocka_unit_test(test_server_error_payload_shapes),
        cmocka_unit_test(test_response_signature_checked_against_server),
        cmocka_unit_test(test_other_messages_and_duplicates),
        cmocka_unit_test(test_server_close_reason_is_forwarded),
        cmocka_unit_test(test_oversize_message),
        cmocka_unit_test(test_large_messages_and_output_limit),
        cmocka_unit_test(test_connect_failures_and_states),
        cmocka_unit_test(test_server_hangs_up_during_handshake),
        cmocka_unit_test(test_external_poll_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
