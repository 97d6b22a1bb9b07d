/*
 * The client library (include/tcpseal/client.h) against an in-process
 * ts_server on an ephemeral port: blocking and asynchronous requests,
 * callbacks, reconnecting after the server drops the connection, server
 * keys (pin, known servers), the outbox file surviving the client, and
 * the calls refused inside callbacks.
 *
 * Waits poll a condition with a deadline; nothing sleeps for readiness.
 */
#include "support.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tcpseal/client.h>
#include <tcpseal/protocol.h>
#include <tcpseal/server.h>

#define WAIT_MS 10000

struct server_fixture {
    ts_identity *id;
    ts_server *srv;
    uint16_t port;
    char fingerprint[TS_FINGERPRINT_MAX];
    atomic_int handled;
};

static void counting_echo(ts_server *srv, ts_client_id client, const ts_envelope *req,
                          void *arg)
{
    struct server_fixture *f = arg;
    size_t len;
    const uint8_t *payload = ts_envelope_payload(req, &len);

    atomic_fetch_add(&f->handled, 1);
    if (len == 6 && memcmp(payload, "refuse", 6) == 0)
        ts_server_reply_error(srv, client, req, TS_REASON_NOT_ALLOWED, "refused here");
    else
        ts_server_reply(srv, client, req, payload, len, NULL);
}

static void server_start_on(struct server_fixture *f, uint16_t port)
{
    ts_server_config cfg;

    ts_server_config_init(&cfg);
    cfg.host = "127.0.0.1";
    cfg.port = port;
    cfg.workers = 1;
    if (f->id == NULL)
        assert_int_equal(ts_identity_generate(&f->id), TS_OK);
    assert_int_equal(ts_server_new(&f->srv, &cfg, f->id), TS_OK);
    ts_server_set_handler(f->srv, counting_echo, f);
    assert_int_equal(ts_server_start(f->srv), TS_OK);
    f->port = ts_server_port(f->srv);
    ts_server_fingerprint(f->srv, f->fingerprint);
}

static void server_stop(struct server_fixture *f)
{
    if (f->srv == NULL)
        return;
    ts_server_shutdown(f->srv, 1000);
    ts_server_wait(f->srv);
    ts_server_free(f->srv);
    f->srv = NULL;
}

static void server_free(struct server_fixture *f)
{
    server_stop(f);
    ts_identity_free(f->id);
    f->id = NULL;
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void pause_briefly(void)
{
    struct timespec ts = {0, 2 * 1000 * 1000};

    nanosleep(&ts, NULL);
}

/* Poll cond until true or WAIT_MS. */
#define WAIT_UNTIL(cond)                                                        \
    do {                                                                        \
        uint64_t end_ = now_ms() + WAIT_MS;                                     \
        while (!(cond) && now_ms() < end_)                                      \
            pause_briefly();                                                    \
        assert_true(cond);                                                      \
    } while (0)

/* What the callbacks saw. */
struct observed {
    pthread_mutex_t lock;
    int states[32];
    char reasons[32][256];
    int n_states;
    int messages;
    char last_message[64];
    bool last_verified;
    int completions;
    uint64_t completed_id;
    int completed_status;
    char completed_payload[64];
    int errors;
    int blocking_rc;
};

static void on_state(ts_client *c, ts_client_state state, const char *reason, void *arg)
{
    struct observed *o = arg;

    pthread_mutex_lock(&o->lock);
    if (o->n_states < 32) {
        o->states[o->n_states] = state;
        snprintf(o->reasons[o->n_states], sizeof(o->reasons[0]), "%s", reason);
        o->n_states++;
    }
    pthread_mutex_unlock(&o->lock);
}

static void on_message(ts_client *c, const ts_envelope *msg, bool verified, void *arg)
{
    struct observed *o = arg;
    size_t len;
    const uint8_t *p = ts_envelope_payload(msg, &len);

    pthread_mutex_lock(&o->lock);
    o->messages++;
    snprintf(o->last_message, sizeof(o->last_message), "%.*s", (int)len, (const char *)p);
    o->last_verified = verified;
    pthread_mutex_unlock(&o->lock);
}

static void on_error(ts_client *c, int err, const char *detail, void *arg)
{
    struct observed *o = arg;

    pthread_mutex_lock(&o->lock);
    o->errors++;
    pthread_mutex_unlock(&o->lock);
}

static void on_sent(ts_client *c, uint64_t id, int status, const ts_envelope *answer,
                    void *arg)
{
    struct observed *o = arg;
    ts_envelope *ignored = NULL;
    size_t len = 0;
    const uint8_t *p = answer != NULL ? ts_envelope_payload(answer, &len) : NULL;

    pthread_mutex_lock(&o->lock);
    o->completions++;
    o->completed_id = id;
    o->completed_status = status;
    snprintf(o->completed_payload, sizeof(o->completed_payload), "%.*s", (int)len,
             p != NULL ? (const char *)p : "");
    pthread_mutex_unlock(&o->lock);
    /* Blocking calls are refused on the loop's own thread. */
    o->blocking_rc = ts_client_request(c, "x", 1, 0, 100, &ignored);
}

static int observed_get(struct observed *o, int *field)
{
    int v;

    pthread_mutex_lock(&o->lock);
    v = *field;
    pthread_mutex_unlock(&o->lock);
    return v;
}

static bool state_seen(struct observed *o, ts_client_state s, int from)
{
    bool seen = false;

    pthread_mutex_lock(&o->lock);
    for (int i = from; i < o->n_states; i++)
        seen = seen || o->states[i] == (int)s;
    pthread_mutex_unlock(&o->lock);
    return seen;
}

struct client_fixture {
    char *dir;
    char known[512], store[512], seq[512];
    ts_identity *id;
    ts_client_config cfg;
};

static void client_fixture_init(struct client_fixture *cf, uint16_t port)
{
    cf->dir = test_tmpdir();
    snprintf(cf->known, sizeof(cf->known), "%s/known_servers", cf->dir);
    snprintf(cf->store, sizeof(cf->store), "%s/agent.db", cf->dir);
    snprintf(cf->seq, sizeof(cf->seq), "%s/sequence", cf->dir);
    assert_int_equal(ts_identity_generate(&cf->id), TS_OK);
    ts_client_config_init(&cf->cfg);
    cf->cfg.host = "127.0.0.1";
    cf->cfg.port = port;
    cf->cfg.identity = cf->id;
    cf->cfg.known_servers_path = cf->known;
    cf->cfg.reconnect_initial_ms = 20;
    cf->cfg.reconnect_max_ms = 200;
}

static void client_fixture_free(struct client_fixture *cf)
{
    ts_identity_free(cf->id);
    test_rmtree(cf->dir);
}

static void test_blocking_request_and_status(void **state)
{
    struct server_fixture s = {0};
    struct client_fixture cf;
    ts_client_status st;
    ts_envelope *answer = NULL, **inbox = NULL;
    ts_client *c;
    size_t len, n = 0;

    (void)state;
    server_start_on(&s, 0);
    client_fixture_init(&cf, s.port);
    cf.cfg.sequence_path = cf.seq;
    assert_int_equal(ts_client_new(&c, &cf.cfg), TS_OK);
    assert_false(ts_client_is_connected(c));
    assert_int_equal(ts_client_connect(c, WAIT_MS), TS_OK);
    assert_true(ts_client_is_connected(c));
    assert_int_equal(ts_client_request(c, "hello", 5, TS_SEND_SIGN, WAIT_MS, &answer), TS_OK);
    assert_int_equal(ts_envelope_type(answer), TS_MSG_RESPONSE);
    assert_memory_equal(ts_envelope_payload(answer, &len), "hello", 5);
    assert_true(ts_envelope_is_signed(answer));
    /* Ids come from the shared sequence file. */
    assert_int_equal(ts_envelope_correlation_id(answer), 1);
    ts_envelope_free(answer);

    assert_int_equal(ts_client_request(c, "refuse", 6, 0, WAIT_MS, &answer), TS_ERR_SERVER);
    assert_int_equal(ts_envelope_type(answer), TS_MSG_ERROR);
    ts_envelope_free(answer);

    assert_int_equal(ts_client_get_status(c, &st), TS_OK);
    assert_int_equal(st.state, TS_CLIENT_CONNECTED);
    assert_string_equal(st.server_fingerprint, s.fingerprint);
    assert_int_equal(st.messages_out, 2);
    assert_int_equal(st.messages_in, 2);
    assert_int_equal(st.outbox, 0);
    assert_int_equal(st.inbox, 2);
    assert_true(st.connected_since_ms > 0);
    assert_int_equal(ts_client_inbox(c, 10, &inbox, &n), TS_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ts_envelope_type(inbox[1]), TS_MSG_ERROR);
    ts_client_inbox_free(inbox, n);

    assert_int_equal(ts_client_shutdown(c), TS_OK);
    assert_int_equal(ts_client_shutdown(c), TS_ERR_CLOSED);
    assert_false(ts_client_is_connected(c));
    ts_client_free(c);
    assert_int_equal(atomic_load(&s.handled), 2);

    /* The server was recorded on first use; a new server with another
     * key on the same address is refused. */
    server_free(&s);
    server_start_on(&s, 0);
    cf.cfg.port = s.port;
    assert_int_equal(ts_client_new(&c, &cf.cfg), TS_OK);
    assert_int_equal(ts_client_connect(c, WAIT_MS), TS_OK);
    ts_client_free(c);
    ts_identity_free(s.id);
    s.id = NULL;
    server_stop(&s);
    server_start_on(&s, cf.cfg.port);
    assert_int_equal(ts_client_new(&c, &cf.cfg), TS_OK);
    assert_int_equal(ts_client_connect(c, WAIT_MS), TS_ERR_KEY_MISMATCH);
    assert_non_null(strstr(ts_client_last_error(c), "has changed"));
    assert_non_null(strstr(ts_error_detail(TS_ERR_KEY_MISMATCH), "has changed"));
    ts_client_free(c);
    server_free(&s);
    client_fixture_free(&cf);
}

static void test_listening_callbacks_and_reconnect(void **state)
{
    struct server_fixture s = {0};
    struct client_fixture cf;
    struct observed o = {.lock = PTHREAD_MUTEX_INITIALIZER};
    ts_client_id *ids = NULL;
    ts_client_status st;
    ts_client *c;
    uint64_t id = 0;
    size_t n = 0;
    int mark;

    (void)state;
    server_start_on(&s, 0);
    client_fixture_init(&cf, s.port);
    cf.cfg.server_key = s.fingerprint;
    assert_int_equal(ts_client_new(&c, &cf.cfg), TS_OK);
    ts_client_set_state_callback(c, on_state, &o);
    ts_client_set_message_callback(c, on_message, &o);
    ts_client_set_error_callback(c, on_error, &o);
    assert_int_equal(ts_client_listen_start(c), TS_OK);
    assert_int_equal(ts_client_listen_start(c), TS_ERR_STATE);
    WAIT_UNTIL(ts_client_is_connected(c));
    assert_true(state_seen(&o, TS_CLIENT_CONNECTING, 0));

    /* Asynchronous send; the callback runs on the loop's thread. */
    assert_int_equal(ts_client_send(c, "async", 5, 0, on_sent, &o, &id), TS_OK);
    WAIT_UNTIL(observed_get(&o, &o.completions) == 1);
    assert_int_equal(o.completed_id, id);
    assert_int_equal(o.completed_status, TS_OK);
    assert_string_equal(o.completed_payload, "async");
    assert_int_equal(o.blocking_rc, TS_ERR_STATE);

    /* A notice from the operator is a server message. */
    assert_int_equal(ts_server_list_clients(s.srv, &ids, &n), TS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ts_server_send_notice(s.srv, ids[0], "maintenance", 11), TS_OK);
    WAIT_UNTIL(observed_get(&o, &o.messages) == 1);
    assert_string_equal(o.last_message, "maintenance");

    /* The server drops us: reconnecting, then connected again, and a
     * message queued meanwhile is answered once. */
    pthread_mutex_lock(&o.lock);
    mark = o.n_states;
    pthread_mutex_unlock(&o.lock);
    assert_int_equal(ts_server_close_client(s.srv, ids[0], TS_REASON_KICKED, "test"), TS_OK);
    free(ids);
    WAIT_UNTIL(state_seen(&o, TS_CLIENT_RECONNECTING, mark));
    assert_non_null(strstr(o.reasons[mark], "kicked"));
    assert_int_equal(ts_client_send(c, "again", 5, 0, on_sent, &o, &id), TS_OK);
    WAIT_UNTIL(observed_get(&o, &o.completions) == 2);
    assert_string_equal(o.completed_payload, "again");
    assert_true(state_seen(&o, TS_CLIENT_CONNECTED, mark));
    assert_int_equal(ts_client_get_status(c, &st), TS_OK);
    assert_int_equal(st.reconnects, 1);
    assert_int_equal(st.outbox, 0);
    assert_int_equal(atomic_load(&s.handled), 2);

    /* While listening, blocking calls from other threads are served by
     * the loop. */
    ts_envelope *answer = NULL;
    assert_int_equal(ts_client_request(c, "sync", 4, 0, WAIT_MS, &answer), TS_OK);
    ts_envelope_free(answer);
    assert_int_equal(ts_client_listen_stop(c), TS_OK);
    assert_int_equal(ts_client_listen_stop(c), TS_ERR_STATE);
    /* Not listening: the caller drives the same session. */
    assert_int_equal(ts_client_request(c, "after", 5, 0, WAIT_MS, &answer), TS_OK);
    ts_envelope_free(answer);
    ts_client_free(c);
    assert_true(state_seen(&o, TS_CLIENT_CLOSED, 0));
    server_free(&s);
    client_fixture_free(&cf);
}

static void test_outbox_file_survives_the_client(void **state)
{
    struct server_fixture s = {0};
    struct client_fixture cf;
    struct observed o = {.lock = PTHREAD_MUTEX_INITIALIZER};
    ts_envelope *answer = NULL;
    ts_client_status st;
    ts_client *c;
    uint64_t id1 = 0, id2 = 0;
    uint16_t port;

    (void)state;
    /* A port with nobody listening: start a server and stop it. */
    server_start_on(&s, 0);
    port = s.port;
    server_stop(&s);
    client_fixture_init(&cf, port);
    cf.cfg.store_path = cf.store;
    assert_int_equal(ts_client_new(&c, &cf.cfg), TS_OK);
    assert_int_equal(ts_client_connect(c, 2000), TS_ERR_CONNECT);
    assert_int_equal(ts_client_send(c, "kept 1", 6, 0, NULL, NULL, &id1), TS_OK);
    assert_int_equal(ts_client_send(c, "kept 2", 6, TS_SEND_SIGN, NULL, NULL, &id2), TS_OK);
    assert_true(id2 > id1);
    assert_int_equal(ts_client_request(c, "late", 4, 0, 50, &answer), TS_ERR_TIMEOUT);
    assert_int_equal(ts_client_get_status(c, &st), TS_OK);
    assert_int_equal(st.outbox, 3);
    ts_client_free(c);

    /* A second client on the same file is refused while one holds it. */
    assert_int_equal(ts_client_new(&c, &cf.cfg), TS_OK);
    ts_client *other = NULL;
    assert_int_equal(ts_client_new(&other, &cf.cfg), TS_ERR_IO);
    ts_client_free(c);

    server_start_on(&s, port);
    assert_int_equal(ts_client_new(&c, &cf.cfg), TS_OK);
    ts_client_set_message_callback(c, on_message, &o);
    assert_int_equal(ts_client_get_status(c, &st), TS_OK);
    assert_int_equal(st.outbox, 3);
    assert_int_equal(ts_client_listen_start(c), TS_OK);
    /* Answers to messages of an earlier run go to the message callback. */
    WAIT_UNTIL(observed_get(&o, &o.messages) == 3);
    assert_int_equal(ts_client_get_status(c, &st), TS_OK);
    assert_int_equal(st.outbox, 0);
    assert_int_equal(st.inbox, 3);
    assert_int_equal(atomic_load(&s.handled), 3);
    /* New ids continue above the old ones. */
    assert_int_equal(ts_client_request(c, "new", 3, 0, WAIT_MS, &answer), TS_OK);
    assert_true(ts_envelope_correlation_id(answer) > id2);
    ts_envelope_free(answer);
    ts_client_free(c);
    server_free(&s);
    client_fixture_free(&cf);
}

static void test_refusals(void **state)
{
    struct server_fixture s = {0};
    struct client_fixture cf;
    ts_client_config bad;
    ts_client *c = NULL;
    char big[2048];

    (void)state;
    server_start_on(&s, 0);
    client_fixture_init(&cf, s.port);
    bad = cf.cfg;
    bad.identity = NULL;
    assert_int_equal(ts_client_new(&c, &bad), TS_ERR_CONFIG);
    bad = cf.cfg;
    bad.server_key = "SHA256:nope";
    assert_int_equal(ts_client_new(&c, &bad), TS_ERR_CONFIG);
    bad = cf.cfg;
    bad.reconnect_max_ms = 1;
    assert_int_equal(ts_client_new(&c, &bad), TS_ERR_CONFIG);

    /* A pin that does not match. */
    bad = cf.cfg;
    bad.server_key = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    assert_int_equal(ts_client_new(&c, &bad), TS_OK);
    assert_int_equal(ts_client_connect(c, WAIT_MS), TS_ERR_KEY_MISMATCH);
    assert_int_equal(atomic_load(&s.handled), 0);
    ts_client_free(c);

    /* Too large for max_message. */
    bad = cf.cfg;
    bad.max_message = 2048;
    assert_int_equal(ts_client_new(&c, &bad), TS_OK);
    memset(big, 'x', sizeof(big));
    assert_int_equal(ts_client_send(c, big, sizeof(big), 0, NULL, NULL, NULL),
                     TS_ERR_TOO_LARGE);
    assert_int_equal(ts_client_send(c, "x", 1, 0x80, NULL, NULL, NULL), TS_ERR_INVALID);
    assert_string_equal(ts_client_state_name(TS_CLIENT_RECONNECTING), "reconnecting");
    ts_client_free(c);
    server_free(&s);
    client_fixture_free(&cf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocking_request_and_status),
        cmocka_unit_test(test_listening_callbacks_and_reconnect),
        cmocka_unit_test(test_outbox_file_survives_the_client),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
