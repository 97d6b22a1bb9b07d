/*
 * The server library end to end inside one process: a server on a loopback
 * ephemeral port, and a minimal blocking client built from the channel and
 * envelope modules, so each server behaviour is checked byte for byte
 * without the command-line programs.
 */
#include "loopback.h"

static void expect_echo(struct client *c, const struct fixture *f, bool signed_request)
{
    ts_envelope *req = make_request(c, "Hello, Server!");
    uint64_t id = ts_envelope_id(req);
    ts_verify_opts opts = {.public_key = ts_identity_public_key(f->id),
                           .require_signature = signed_request};
    ts_envelope *resp;
    size_t len;

    send_sealed(c, req, signed_request ? c->id : NULL);
    resp = client_take(c);
    assert_int_equal(ts_envelope_type(resp), TS_MSG_RESPONSE);
    assert_int_equal(ts_envelope_correlation_id(resp), id);
    assert_memory_equal(ts_envelope_payload(resp, &len), "Hello, Server!", 14);
    assert_int_equal(ts_envelope_is_signed(resp), signed_request);
    assert_int_equal(ts_envelope_verify(resp, &opts), TS_OK);
    ts_envelope_free(resp);
}

static void test_echo_plain_and_signed(void **state)
{
    struct fixture f;
    struct client c;

    start_server(&f, NULL);
    client_connect(&c, f.port);
    expect_echo(&c, &f, false);
    expect_echo(&c, &f, true);
    client_free(&c);
    stop_server(&f);
}

static void test_client_mistakes_get_errors_and_connection_lives(void **state)
{
    struct fixture f;
    struct client c;
    ts_envelope *env, *ans;
    uint8_t junk[] = {9, 9, 9};

    start_server(&f, NULL);
    client_connect(&c, f.port);

    /* Not an envelope at all. */
    assert_int_equal(channel_send(c.ch, junk, sizeof(junk)), TS_OK);
    ans = client_take(&c);
    assert_int_equal(error_code(ans), TS_REASON_BAD_ENVELOPE);
    ts_envelope_free(ans);

    /* Hash that does not match: seal, then change a field via the encoding. */
    {
        uint8_t *enc;
        size_t len;
        env = make_request(&c, "tampered");
        assert_int_equal(ts_envelope_seal(env, NULL), TS_OK);
        assert_int_equal(ts_envelope_encode(env, &enc, &len), TS_OK);
        enc[len - 40] ^= 1; /* a payload byte */
        assert_int_equal(channel_send(c.ch, enc, len), TS_OK);
        free(enc);
        ts_envelope_free(env);
        ans = client_take(&c);
        assert_int_equal(error_code(ans), TS_REASON_BAD_HASH);
        ts_envelope_free(ans);
    }

    /* Signed by a key that is not the client's. */
    {
        ts_identity *other;
        assert_int_equal(ts_identity_generate(&other), TS_OK);
        send_sealed(&c, make_request(&c, "forged"), other);
        ts_identity_free(other);
        ans = client_take(&c);
        assert_int_equal(error_code(ans), TS_REASON_BAD_SIGNATURE);
        ts_envelope_free(ans);
    }

    /* A timestamp an hour old. */
    env = make_request(&c, "stale");
    ts_envelope_set_timestamp(env, clock_wall_ms() - 3600 * 1000);
    send_sealed(&c, env, NULL);
    ans = client_take(&c);
    assert_int_equal(error_code(ans), TS_REASON_STALE_TIMESTAMP);
    ts_envelope_free(ans);

    /* Speaking for someone else. */
    env = make_request(&c, "spoof");
    assert_int_equal(ts_envelope_set_sender(env, "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), TS_OK);
    send_sealed(&c, env, NULL);
    ans = client_take(&c);
    assert_int_equal(error_code(ans), TS_REASON_BAD_SENDER);
    ts_envelope_free(ans);

    /* The same request twice: the repeat gets the first answer again. */
    env = make_request(&c, "once");
    ts_envelope_set_id(env, 100);
    send_sealed(&c, env, NULL);
    ans = client_take(&c);
    assert_int_equal(ts_envelope_type(ans), TS_MSG_RESPONSE);
    ts_envelope_free(ans);
    env = make_request(&c, "twice");
    ts_envelope_set_id(env, 100);
    send_sealed(&c, env, NULL);
    ans = client_take(&c);
    assert_int_equal(ts_envelope_type(ans), TS_MSG_RESPONSE);
    assert_int_equal(ts_envelope_correlation_id(ans), 100);
    assert_memory_equal(ts_envelope_payload(ans, &(size_t){0}), "once", 4);
    ts_envelope_free(ans);

    /* A type the server does not take is refused as such, every time. */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ts_envelope_new(&env, TS_MSG_ACK), TS_OK);
        ts_envelope_set_id(env, 200);
        send_sealed(&c, env, NULL);
        ans = client_take(&c);
        assert_int_equal(error_code(ans), TS_REASON_UNSUPPORTED_TYPE);
        ts_envelope_free(ans);
    }

    /* After all that, the connection still serves. */
    expect_echo(&c, &f, false);
    client_free(&c);
    stop_server(&f);
}

static void small_messages(ts_server_config *cfg)
{
    cfg->max_message = 4096;
    cfg->max_output = 4096 + 64 * 1024;
}

static void test_oversize_message_refused(void **state)
{
    struct fixture f;
    struct client c;
    uint8_t *big = calloc(1, 100000);
    ts_envelope *ans;

    start_server(&f, small_messages);
    client_connect(&c, f.port);
    assert_int_equal(channel_send(c.ch, big, 100000), TS_OK);
    ans = client_take(&c);
    assert_int_equal(error_code(ans), TS_REASON_TOO_LARGE);
    assert_int_equal(ts_envelope_correlation_id(ans), 0);
    ts_envelope_free(ans);
    expect_echo(&c, &f, false);
    free(big);
    client_free(&c);
    stop_server(&f);
}

/* The "message" text of an Error envelope (caller frees). */
static char *error_text(const ts_envelope *env)
{
    size_t len;
    const uint8_t *p = ts_envelope_payload(env, &len);
    json_t *obj = json_loadb((const char *)p, len, 0, NULL);
    char *text;

    assert_non_null(obj);
    text = strdup(json_string_value(json_object_get(obj, "message")));
    assert_non_null(text);
    json_decref(obj);
    return text;
}

/* A request of `size` bytes of payload (the first bytes say which). */
static ts_envelope *make_sized_request(struct client *c, size_t size, char fill)
{
    char *text = malloc(size + 1);
    ts_envelope *env;

    assert_non_null(text);
    memset(text, fill, size);
    text[size] = '\0';
    env = make_request(c, text);
    free(text);
    return env;
}

/* 100 bytes per second after a 4 KiB burst: refills are negligible during
 * the test, so what passes is decided by the burst alone. */
static void byte_limited(ts_server_config *cfg)
{
    small_messages(cfg);
    cfg->byte_rate = 100;
    cfg->byte_burst = 4096;
}

static void test_byte_rate_refused_connection_lives(void **state)
{
    struct fixture f;
    struct client c, other;
    ts_envelope *ans;
    char *text;
    uint64_t refused_id;

    start_server(&f, byte_limited);
    client_connect(&c, f.port);
    client_connect(&other, f.port);

    /* 3000 bytes fit the 4096-byte bucket... */
    send_sealed(&c, make_sized_request(&c, 3000, 'a'), NULL);
    ans = client_take(&c);
    assert_int_equal(ts_envelope_type(ans), TS_MSG_RESPONSE);
    ts_envelope_free(ans);

    /* ...the next 3000 do not: an Error naming the request and the limit. */
    refused_id = c.next_id;
    send_sealed(&c, make_sized_request(&c, 3000, 'b'), NULL);
    ans = client_take(&c);
    assert_int_equal(error_code(ans), TS_REASON_MESSAGE_RATE);
    assert_int_equal(ts_envelope_correlation_id(ans), refused_id);
    text = error_text(ans);
    assert_string_equal(text, "byte rate limit exceeded (rate 100 bytes/s, burst 4096 bytes)");
    free(text);
    ts_envelope_free(ans);

    /* The connection lives: what is left of the bucket still serves a
     * small request. */
    expect_echo(&c, &f, false);
    /* Another client has a bucket of its own. */
    send_sealed(&other, make_sized_request(&other, 3000, 'c'), NULL);
    ans = client_take(&other);
    assert_int_equal(ts_envelope_type(ans), TS_MSG_RESPONSE);
    ts_envelope_free(ans);
    assert_int_equal(c.closed_reason, 0);
    client_free(&c);
    client_free(&other);
    stop_server(&f);
}

/* Two messages at once, then one per minute. */
static void message_limited(ts_server_config *cfg)
{
    cfg->message_rate = 1;
    cfg->message_burst = 2;
}

static void test_message_rate_names_the_limit(void **state)
{
    struct fixture f;
    struct client c, other;
    ts_envelope *ans;
    char *text;

    start_server(&f, message_limited);
    client_connect(&c, f.port);
    client_connect(&other, f.port);
    expect_echo(&c, &f, false);
    expect_echo(&c, &f, false);
    send_sealed(&c, make_request(&c, "one too many"), NULL);
    ans = client_take(&c);
    assert_int_equal(error_code(ans), TS_REASON_MESSAGE_RATE);
    assert_int_equal(ts_envelope_correlation_id(ans), c.next_id - 1);
    text = error_text(ans);
    assert_string_equal(text, "message rate limit exceeded (rate 1/s, burst 2)");
    free(text);
    ts_envelope_free(ans);
    /* The refusal costs the other client nothing. */
    expect_echo(&other, &f, false);
    assert_int_equal(c.closed_reason, 0);
    client_free(&c);
    client_free(&other);
    stop_server(&f);
}

static void one_client(ts_server_config *cfg)
{
    cfg->max_clients = 1;
}

static void test_max_clients_rejected_in_hello(void **state)
{
    struct fixture f;
    struct client a, b;
    char *status;

    start_server(&f, one_client);
    client_connect(&a, f.port);
    client_open(&b, f.port);
    assert_true(client_wait(&b, is_closed));
    assert_int_equal(b.closed_reason, TS_REASON_SERVER_FULL);
    assert_string_equal(b.closed_text, "server full");
    assert_int_equal(ts_server_status_json(f.srv, &status), TS_OK);
    assert_non_null(strstr(status, "\"server_full\":1"));
    free(status);
    /* The admitted client is unaffected. */
    expect_echo(&a, &f, false);
    client_free(&a);
    client_free(&b);
    stop_server(&f);
}

static void test_kick_notice_and_listing(void **state)
{
    struct fixture f;
    struct client c;
    ts_client_id *ids;
    ts_client_info info;
    ts_envelope *note;
    size_t n, len;

    start_server(&f, NULL);
    client_connect(&c, f.port);
    expect_echo(&c, &f, false);
    assert_int_equal(ts_server_list_clients(f.srv, &ids, &n), TS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ts_server_client_info(f.srv, ids[0], &info), TS_OK);
    assert_string_equal(info.fingerprint, c.fingerprint);
    assert_int_equal(ts_server_send_notice(f.srv, ids[0], "hi there", 8), TS_OK);
    note = client_take(&c);
    assert_int_equal(ts_envelope_type(note), TS_MSG_NOTICE);
    assert_memory_equal(ts_envelope_payload(note, &len), "hi there", 8);
    ts_envelope_free(note);
    assert_int_equal(ts_server_close_client(f.srv, ids[0], TS_REASON_KICKED, "bye"), TS_OK);
    assert_true(client_wait(&c, is_closed));
    assert_int_equal(c.closed_reason, TS_REASON_KICKED);
    assert_string_equal(c.closed_text, "bye");
    assert_int_equal(ts_server_close_client(f.srv, 999999, TS_REASON_KICKED, NULL),
                     TS_ERR_NOT_FOUND);
    free(ids);
    client_free(&c);
    stop_server(&f);
}

static void test_shutdown_closes_clients_with_reason(void **state)
{
    struct fixture f;
    struct client c;

    start_server(&f, NULL);
    client_connect(&c, f.port);
    assert_int_equal(ts_server_shutdown(f.srv, 2000), TS_OK);
    assert_true(client_wait(&c, is_closed));
    assert_int_equal(c.closed_reason, TS_REASON_SERVER_SHUTDOWN);
    assert_int_equal(ts_server_wait(f.srv), TS_OK);
    ts_server_free(f.srv);
    ts_identity_free(f.id);
    client_free(&c);
}

/* A handler that answers later, from another thread. */
struct deferred {
    ts_server *srv;
    ts_client_id client;
    ts_envelope *request;
};

static void *answer_later(void *arg)
{
    struct deferred *d = arg;
    ts_server_reply(d->srv, d->client, d->request, "later", 5, NULL);
    ts_envelope_free(d->request);
    free(d);
    return NULL;
}

static void deferring_handler(ts_server *srv, ts_client_id client, const ts_envelope *req,
                              void *arg)
{
    struct deferred *d = malloc(sizeof(*d));
    uint8_t *enc;
    size_t len;
    pthread_t t;

    d->srv = srv;
    d->client = client;
    /* The request is only valid during the call: keep a copy. */
    assert_int_equal(ts_envelope_encode(req, &enc, &len), TS_OK);
    assert_int_equal(ts_envelope_decode(enc, len, &d->request), TS_OK);
    free(enc);
    pthread_create(&t, NULL, answer_later, d);
    pthread_detach(t);
}

static void test_reply_from_another_thread(void **state)
{
    struct fixture f;
    struct client c;
    ts_envelope *resp;
    size_t len;

    start_server(&f, NULL);
    ts_server_set_handler(f.srv, deferring_handler, NULL);
    client_connect(&c, f.port);
    send_sealed(&c, make_request(&c, "question"), NULL);
    resp = client_take(&c);
    assert_int_equal(ts_envelope_type(resp), TS_MSG_RESPONSE);
    assert_int_equal(ts_envelope_correlation_id(resp), 1);
    assert_memory_equal(ts_envelope_payload(resp, &len), "later", 5);
    ts_envelope_free(resp);
    client_free(&c);
    stop_server(&f);
}

static json_int_t status_number(ts_server *srv, const char *group, const char *field)
{
    char *text;
    json_t *obj;
    json_int_t v;

    assert_int_equal(ts_server_status_json(srv, &text), TS_OK);
    obj = json_loads(text, 0, NULL);
    v = json_integer_value(json_object_get(json_object_get(obj, group), field));
    json_decref(obj);
    free(text);
    return v;
}

static void test_repeat_on_new_connection_gets_first_answer(void **state)
{
    struct fixture f;
    struct client a, b;
    ts_envelope *env, *ans;
    size_t len;

    static const uint8_t seed[32] = {7, 7, 7};

    start_server(&f, NULL);
    client_open_with(&a, f.port, seed);
    assert_true(client_wait(&a, established));
    env = make_request(&a, "first run");
    ts_envelope_set_id(env, 77);
    send_sealed(&a, env, NULL);
    ans = client_take(&a);
    ts_envelope_free(ans);
    client_free(&a);

    /* The same identity comes back on a new connection and repeats. */
    client_open_with(&b, f.port, seed);
    assert_true(client_wait(&b, established));
    env = make_request(&b, "second run");
    ts_envelope_set_id(env, 77);
    send_sealed(&b, env, NULL);
    ans = client_take(&b);
    assert_int_equal(ts_envelope_type(ans), TS_MSG_RESPONSE);
    assert_int_equal(ts_envelope_correlation_id(ans), 77);
    assert_memory_equal(ts_envelope_payload(ans, &len), "first run", 9);
    ts_envelope_free(ans);
    assert_int_equal(status_number(f.srv, "requests", "handled"), 1);
    assert_int_equal(status_number(f.srv, "requests", "repeated"), 1);
    client_free(&b);
    stop_server(&f);
}

static void test_port_in_use_is_reported(void **state)
{
    struct fixture f;
    ts_server_config cfg;
    ts_server *second;

    start_server(&f, NULL);
    ts_server_config_init(&cfg);
    cfg.host = "127.0.0.1";
    cfg.port = f.port;
    assert_int_equal(ts_server_new(&second, &cfg, f.id), TS_OK);
    assert_int_equal(ts_server_bind(second), TS_ERR_IO);
    assert_non_null(strstr(ts_error_detail(TS_ERR_IO), "Address already in use"));
    ts_server_free(second);
    stop_server(&f);
}

/* ts_server_reconfigure: new limits apply to the running server; a bad
 * configuration is refused whole and the old one stays. */
static void test_reconfigure_applies_limits(void **state)
{
    struct fixture f;
    struct client a, b, c;
    ts_server_config cfg;

    start_server(&f, one_client);
    client_connect(&a, f.port);
    client_open(&b, f.port);
    assert_true(client_wait(&b, is_closed));
    assert_int_equal(b.closed_reason, TS_REASON_SERVER_FULL);

    ts_server_config_init(&cfg);
    cfg.host = "127.0.0.1";
    cfg.port = 0;
    cfg.workers = 2;
    cfg.max_clients = 2;
    cfg.max_output = cfg.max_message; /* refused: leaves no room for a reply */
    assert_int_equal(ts_server_reconfigure(f.srv, &cfg), TS_ERR_CONFIG);
    assert_int_equal(status_number(f.srv, "limits", "max_clients"), 1);

    cfg.max_output = 8u * 1024u * 1024u;
    assert_int_equal(ts_server_reconfigure(f.srv, &cfg), TS_OK);
    assert_int_equal(status_number(f.srv, "limits", "max_clients"), 2);
    client_connect(&c, f.port);
    expect_echo(&c, &f, false);
    /* The connection admitted before the change is untouched by it. */
    expect_echo(&a, &f, false);
    client_free(&a);
    client_free(&b);
    client_free(&c);
    stop_server(&f);
}

struct runner {
    ts_server *srv;
    int rc;
};

static void *run_blocking(void *arg)
{
    struct runner *r = arg;
    r->rc = ts_server_run(r->srv);
    return NULL;
}

/* ts_server_run serves on the caller's thread until shut down. */
static void test_run_blocks_until_shutdown(void **state)
{
    ts_server_config cfg;
    struct runner r = {.rc = -1};
    struct fixture f;
    struct client c;
    pthread_t thread;

    ts_server_config_init(&cfg);
    cfg.host = "127.0.0.1";
    cfg.port = 0;
    cfg.workers = 1;
    assert_int_equal(ts_identity_generate(&f.id), TS_OK);
    assert_int_equal(ts_server_new(&f.srv, &cfg, f.id), TS_OK);
    /* Bound first, so the port is known before the loop runs. */
    assert_int_equal(ts_server_bind(f.srv), TS_OK);
    f.port = ts_server_port(f.srv);
    assert_true(f.port != 0);
    r.srv = f.srv;
    assert_int_equal(pthread_create(&thread, NULL, run_blocking, &r), 0);
    client_connect(&c, f.port);
    expect_echo(&c, &f, true);
    assert_int_equal(ts_server_shutdown(f.srv, 1000), TS_OK);
    assert_true(client_wait(&c, is_closed));
    assert_int_equal(c.closed_reason, TS_REASON_SERVER_SHUTDOWN);
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_int_equal(r.rc, TS_OK);
    ts_server_free(f.srv);
    ts_identity_free(f.id);
    client_free(&c);
}

static void test_config_check(void **state)
{
    ts_server_config cfg;

    ts_server_config_init(&cfg);
    assert_int_equal(ts_server_config_check(&cfg), TS_OK);
    cfg.max_message = 0;
    assert_int_equal(ts_server_config_check(&cfg), TS_ERR_CONFIG);
    ts_server_config_init(&cfg);
    cfg.max_output = cfg.max_message;
    assert_int_equal(ts_server_config_check(&cfg), TS_ERR_CONFIG);
    ts_server_config_init(&cfg);
    cfg.heartbeat_ms = 5;
    assert_int_equal(ts_server_config_check(&cfg), TS_ERR_CONFIG);
    /* A byte bucket smaller than the largest message would refuse it
     * forever; "0" (the default bucket) is always large enough. */
    ts_server_config_init(&cfg);
    cfg.byte_rate = 1000;
    cfg.byte_burst = cfg.max_message - 1;
    assert_int_equal(ts_server_config_check(&cfg), TS_ERR_CONFIG);
    cfg.byte_burst = cfg.max_message;
    assert_int_equal(ts_server_config_check(&cfg), TS_OK);
    cfg.byte_burst = 0;
    assert_int_equal(ts_server_config_check(&cfg), TS_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo_plain_and_signed),
        cmocka_unit_test(test_client_mistakes_get_errors_and_connection_lives),
        cmocka_unit_test(test_oversize_message_refused),
        cmocka_unit_test(test_byte_rate_refused_connection_lives),
        cmocka_unit_test(test_message_rate_names_the_limit),
        cmocka_unit_test(test_max_clients_rejected_in_hello),
        cmocka_unit_test(test_reconfigure_applies_limits),
        cmocka_unit_test(test_run_blocks_until_shutdown),
        cmocka_unit_test(test_kick_notice_and_listing),
        cmocka_unit_test(test_shutdown_closes_clients_with_reason),
        cmocka_unit_test(test_reply_from_another_thread),
        cmocka_unit_test(test_repeat_on_new_connection_gets_first_answer),
        cmocka_unit_test(test_port_in_use_is_reported),
        cmocka_unit_test(test_config_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
