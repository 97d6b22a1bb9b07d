/*
 * Accounts, rooms and chat end to end inside one process: a server with a
 * store in a temporary directory, clients speaking Commands and Chat over
 * loopback.
 */
#include "loopback.h"

#include <tcpseal/log.h>

#include "service/names.h"

static char *state_dir;
static char store_path[512];

/* A fresh store per server, and cheap Argon2id: the tests exercise the
 * logic, not the cost. */
static void with_store(ts_server_config *cfg)
{
    static unsigned count;

    snprintf(store_path, sizeof(store_path), "%s/tcpseal-%u.db", state_dir, ++count);
    cfg->store_path = store_path;
    cfg->password_opslimit = 1;
    cfg->password_memlimit = 8 * 1024;
    cfg->min_password_length = 8;
}

static int setup(void **state)
{
    state_dir = test_tmpdir();
    ts_log_set_level(TS_LOG_WARN);
    ts_log_init_from_env();
    return 0;
}

static int teardown(void **state)
{
    test_rmtree(state_dir);
    return 0;
}

/* Send a Command (JSON text) and return its id. */
static uint64_t command(struct client *c, const char *json)
{
    ts_envelope *env;
    uint64_t id = c->next_id++;

    assert_int_equal(ts_envelope_new(&env, TS_MSG_COMMAND), TS_OK);
    ts_envelope_set_id(env, id);
    assert_int_equal(ts_envelope_set_content_type(env, "application/json"), TS_OK);
    assert_int_equal(ts_envelope_set_payload(env, json, strlen(json)), TS_OK);
    send_sealed(c, env, NULL);
    return id;
}

/* Wait for and take the first envelope of type (and, when corr is not
 * 0, with that correlation id); others stay in the inbox. */
static ts_envelope *take(struct client *c, ts_msg_type type, uint64_t corr)
{
    uint64_t deadline = clock_mono_ms() + WAIT_MS;

    for (;;) {
        for (size_t i = 0; i < c->n_inbox; i++) {
            ts_envelope *env = c->inbox[i];
            if (ts_envelope_type(env) == type &&
                (corr == 0 || ts_envelope_correlation_id(env) == corr)) {
                memmove(&c->inbox[i], &c->inbox[i + 1], (c->n_inbox - i - 1) * sizeof(env));
                c->n_inbox--;
                return env;
            }
        }
        if (clock_mono_ms() > deadline)
            fail_msg("no %s envelope arrived", ts_msg_type_name(type));
        /* Read whatever comes next. */
        size_t before = c->n_inbox;
        client_wait(c, has_message);
        if (c->n_inbox == before) {
            uint8_t buf[65536];
            struct pollfd p = {.fd = c->fd, .events = POLLIN};
            if (poll(&p, 1, 50) > 0) {
                ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
                if (n > 0)
                    channel_feed(c->ch, buf, (size_t)n);
            }
        }
    }
}

static json_t *payload_json(const ts_envelope *env)
{
    size_t len;
    const uint8_t *p = ts_envelope_payload(env, &len);
    json_t *v = json_loadb((const char *)p, len, 0, NULL);

    assert_non_null(v);
    return v;
}

/* Run a command and expect success: returns the answer object. */
static json_t *ok(struct client *c, const char *json)
{
    uint64_t id = command(c, json);
    ts_envelope *env;
    json_t *v;

    for (;;) {
        env = take(c, TS_MSG_RESPONSE, id);
        break;
    }
    v = payload_json(env);
    assert_true(json_is_true(json_object_get(v, "ok")));
    ts_envelope_free(env);
    return v;
}

/* Run a command and expect an Error with this reason. */
static void refused(struct client *c, const char *json, int reason)
{
    uint64_t id = command(c, json);
    ts_envelope *env = take(c, TS_MSG_ERROR, id);

    if (error_code(env) != reason)
        fail_msg("%s: expected reason %d, got %d", json, reason, error_code(env));
    ts_envelope_free(env);
}

/* Connect as the identity of seed_byte. Sequence numbers belong to the
 * identity, so they carry on across its connections (the server would
 * take a reused number for a repeat). */
static void connect_seeded(struct client *c, uint16_t port, uint8_t seed_byte)
{
    static uint64_t next_id[256];
    uint8_t seed[32];

    memset(seed, seed_byte, sizeof(seed));
    client_open_with(c, port, seed);
    assert_true(client_wait(c, established));
    next_id[seed_byte] += 1000;
    c->next_id = next_id[seed_byte];
}

static const char *whoami(struct client *c)
{
    static char user[64];
    json_t *v = ok(c, "{\"cmd\":\"whoami\"}");
    const char *u = json_string_value(json_object_get(v, "user"));

    snprintf(user, sizeof(user), "%s", u != NULL ? u : "");
    json_decref(v);
    return user;
}

static void test_register_login_logout(void **state)
{
    struct fixture f;
    struct client a, a2, b;

    start_server(&f, with_store);
    connect_seeded(&a, f.port, 1);
    assert_string_equal(whoami(&a), "");
    json_decref(ok(&a, "{\"cmd\":\"register\",\"user\":\"alice\",\"password\":\"secret-one\"}"));
    assert_string_equal(whoami(&a), "alice");
    refused(&a, "{\"cmd\":\"register\",\"user\":\"alice2\",\"password\":\"secret-one\"}",
            TS_REASON_NOT_ALLOWED);
    client_free(&a);

    /* The key alone logs alice in again. */
    connect_seeded(&a, f.port, 1);
    assert_string_equal(whoami(&a), "alice");

    /* The name is taken for anyone else. */
    connect_seeded(&b, f.port, 2);
    refused(&b, "{\"cmd\":\"register\",\"user\":\"alice\",\"password\":\"whatever1\"}",
            TS_REASON_ALREADY_EXISTS);

    /* A second device logs in with the password and is bound. */
    connect_seeded(&a2, f.port, 3);
    json_decref(ok(&a2, "{\"cmd\":\"login\",\"user\":\"alice\",\"password\":\"secret-one\"}"));
    assert_string_equal(whoami(&a2), "alice");
    client_free(&a2);
    connect_seeded(&a2, f.port, 3);
    assert_string_equal(whoami(&a2), "alice");

    /* Logout unbinds this device only. */
    json_decref(ok(&a2, "{\"cmd\":\"logout\"}"));
    assert_string_equal(whoami(&a2), "");
    client_free(&a2);
    connect_seeded(&a2, f.port, 3);
    assert_string_equal(whoami(&a2), "");
    assert_string_equal(whoami(&a), "alice");

    client_free(&a);
    client_free(&a2);
    client_free(&b);
    stop_server(&f);
}

static void test_failed_logins_same_answer_backoff_lockout(void **state)
{
    struct fixture f;
    struct client a, x;
    ts_envelope *e1, *e2;
    json_t *m1, *m2;
    uint64_t id;

    start_server(&f, with_store);
    connect_seeded(&a, f.port, 10);
    json_decref(ok(&a, "{\"cmd\":\"register\",\"user\":\"dave\",\"password\":\"correct-horse\"}"));
    client_free(&a);

    connect_seeded(&x, f.port, 11);
    id = command(&x, "{\"cmd\":\"login\",\"user\":\"dave\",\"password\":\"wrong-pass\"}");
    e1 = take(&x, TS_MSG_ERROR, id);
    client_free(&x);
    /* A fresh connection from the same address must wait (backoff)... */
    connect_seeded(&x, f.port, 12);
    refused(&x, "{\"cmd\":\"login\",\"user\":\"nobody\",\"password\":\"wrong-pass\"}",
            TS_REASON_TRY_LATER);
    client_free(&x);
    stop_server(&f);

    /* ...so compare the two answers on fresh servers (fresh backoff). */
    start_server(&f, with_store);
    connect_seeded(&x, f.port, 13);
    id = command(&x, "{\"cmd\":\"login\",\"user\":\"nobody\",\"password\":\"wrong-pass\"}");
    e2 = take(&x, TS_MSG_ERROR, id);
    m1 = payload_json(e1);
    m2 = payload_json(e2);
    assert_true(json_equal(m1, m2));
    assert_int_equal(error_code(e1), TS_REASON_AUTH_FAILED);
    json_decref(m1);
    json_decref(m2);
    ts_envelope_free(e1);
    ts_envelope_free(e2);
    client_free(&x);
    stop_server(&f);
}

static void test_bad_names_refused(void **state)
{
    static const char *const bad[] = {
        "Alice", " alice", "alice ", "a", "", "1alice", "alice-", "al ice",
        "x'); DROP TABLE users; --", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "al\\u0000ice",
        "al\\u0007ice", "\\u0430lice", "alice\\n",
    };
    struct fixture f;
    struct client c;
    char json[256];

    start_server(&f, with_store);
    connect_seeded(&c, f.port, 20);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(json, sizeof(json),
                 "{\"cmd\":\"register\",\"user\":\"%s\",\"password\":\"long-enough\"}", bad[i]);
        refused(&c, json, TS_REASON_INVALID_ARGUMENT);
    }
    /* SQL-looking but valid names are plain data. */
    json_decref(ok(&c, "{\"cmd\":\"register\",\"user\":\"drop_table.users\",\"password\":\"long-enough\"}"));
    assert_string_equal(whoami(&c), "drop_table.users");
    client_free(&c);
    stop_server(&f);
}

static void test_names_rules(void **state)
{
    assert_int_equal(names_check_user("bob", 3), TS_OK);
    assert_int_equal(names_check_user("b0b.smith_2-x", 13), TS_OK);
    assert_int_equal(names_check_user("b", 1), TS_ERR_INVALID);
    assert_int_equal(names_check_user("bob\0x", 5), TS_ERR_INVALID);
    assert_int_equal(names_check_room("7", 1), TS_OK);
    assert_int_equal(names_check_room("lobby", 5), TS_OK);
    assert_int_equal(names_check_room("lob by", 6), TS_ERR_INVALID);
}

/* A Chat envelope from c (logged in as user) to "#room" or a user. */
static uint64_t chat(struct client *c, const char *user, const char *to, const char *text,
                     bool sign)
{
    ts_envelope *env;
    uint64_t id = c->next_id++;

    assert_int_equal(ts_envelope_new(&env, TS_MSG_CHAT), TS_OK);
    ts_envelope_set_id(env, id);
    assert_int_equal(ts_envelope_set_sender(env, user), TS_OK);
    assert_int_equal(ts_envelope_set_recipient(env, to), TS_OK);
    assert_int_equal(ts_envelope_set_payload(env, text, strlen(text)), TS_OK);
    send_sealed(c, env, sign ? c->id : NULL);
    return id;
}

static void test_room_chat_events_and_users(void **state)
{
    struct fixture f;
    struct client a, b;
    ts_envelope *ack, *msg, *ev;
    json_t *v;
    size_t len;
    uint64_t id;

    start_server(&f, with_store);
    connect_seeded(&a, f.port, 30);
    connect_seeded(&b, f.port, 31);
    json_decref(ok(&a, "{\"cmd\":\"register\",\"user\":\"alice\",\"password\":\"secret-one\"}"));
    json_decref(ok(&b, "{\"cmd\":\"register\",\"user\":\"bob\",\"password\":\"secret-two\"}"));
    refused(&a, "{\"cmd\":\"join\",\"room\":\"Bad Room\"}", TS_REASON_INVALID_ARGUMENT);
    json_decref(ok(&a, "{\"cmd\":\"join\",\"room\":\"lobby\"}"));
    v = ok(&b, "{\"cmd\":\"join\",\"room\":\"lobby\"}");
    assert_int_equal(json_array_size(json_object_get(v, "users")), 2);
    json_decref(v);

    /* alice hears that bob joined. */
    ev = take(&a, TS_MSG_EVENT, 0);
    while (1) {
        json_t *e = payload_json(ev);
        bool is_join = strcmp(json_string_value(json_object_get(e, "event")), "join") == 0;
        json_decref(e);
        if (is_join)
            break;
        ts_envelope_free(ev);
        ev = take(&a, TS_MSG_EVENT, 0);
    }
    ts_envelope_free(ev);

    id = chat(&a, "alice", "#lobby", "hello bob", true);
    ack = take(&a, TS_MSG_ACK, id);
    v = payload_json(ack);
    assert_true(json_integer_value(json_object_get(v, "id")) >= 1);
    json_decref(v);
    ts_envelope_free(ack);
    msg = take(&b, TS_MSG_CHAT, 0);
    assert_string_equal(ts_envelope_sender(msg), "alice");
    assert_memory_equal(ts_envelope_payload(msg, &len), "hello bob", 9);
    /* The signature is alice's own, checkable against her key. */
    {
        ts_verify_opts opts = {.public_key = ts_identity_public_key(a.id),
                               .require_signature = true};
        assert_int_equal(ts_envelope_verify(msg, &opts), TS_OK);
    }
    ts_envelope_free(msg);

    v = ok(&b, "{\"cmd\":\"users\",\"room\":\"lobby\"}");
    assert_string_equal(json_string_value(json_array_get(json_object_get(v, "users"), 0)), "alice");
    assert_string_equal(json_string_value(json_array_get(json_object_get(v, "users"), 1)), "bob");
    json_decref(v);

    /* Rules: sender must be the user; the room must be joined. */
    id = chat(&a, "bob", "#lobby", "spoof", false);
    msg = take(&a, TS_MSG_ERROR, id);
    assert_int_equal(error_code(msg), TS_REASON_BAD_SENDER);
    ts_envelope_free(msg);
    id = chat(&a, "alice", "#elsewhere", "nope", false);
    msg = take(&a, TS_MSG_ERROR, id);
    assert_int_equal(error_code(msg), TS_REASON_NOT_ALLOWED);
    ts_envelope_free(msg);

    client_free(&a);
    client_free(&b);
    stop_server(&f);
}

static void test_direct_message_waits_for_offline_user(void **state)
{
    struct fixture f;
    struct client a, c;
    ts_envelope *ack, *msg;
    size_t len;
    uint64_t id;

    start_server(&f, with_store);
    connect_seeded(&c, f.port, 40);
    json_decref(ok(&c, "{\"cmd\":\"register\",\"user\":\"carol\",\"password\":\"secret-three\"}"));
    client_free(&c);
    connect_seeded(&a, f.port, 41);
    json_decref(ok(&a, "{\"cmd\":\"register\",\"user\":\"alice\",\"password\":\"secret-one\"}"));
    id = chat(&a, "alice", "carol", "while you were out", false);
    ack = take(&a, TS_MSG_ACK, id);
    ts_envelope_free(ack);
    id = chat(&a, "alice", "nosuchuser", "anyone?", false);
    msg = take(&a, TS_MSG_ERROR, id);
    assert_int_equal(error_code(msg), TS_REASON_NOT_FOUND);
    ts_envelope_free(msg);

    /* Logged in by its key, the device receives nothing until it says it
     * is online: a command that runs and leaves takes nothing away. */
    connect_seeded(&c, f.port, 40);
    assert_string_equal(whoami(&c), "carol");
    for (size_t i = 0; i < c.n_inbox; i++)
        assert_int_not_equal(ts_envelope_type(c.inbox[i]), TS_MSG_CHAT);
    client_free(&c);
    connect_seeded(&c, f.port, 40);
    json_decref(ok(&c, "{\"cmd\":\"online\"}"));
    msg = take(&c, TS_MSG_CHAT, 0);
    assert_string_equal(ts_envelope_sender(msg), "alice");
    assert_memory_equal(ts_envelope_payload(msg, &len), "while you were out", 18);
    ts_envelope_free(msg);
    client_free(&c);
    /* Delivered once: the next device online finds nothing waiting. */
    connect_seeded(&c, f.port, 40);
    json_decref(ok(&c, "{\"cmd\":\"online\"}"));
    assert_string_equal(whoami(&c), "carol");
    for (size_t i = 0; i < c.n_inbox; i++)
        assert_int_not_equal(ts_envelope_type(c.inbox[i]), TS_MSG_CHAT);
    client_free(&c);
    client_free(&a);
    stop_server(&f);
}

static void test_history_paging_and_duplicate_chat(void **state)
{
    struct fixture f;
    struct client a;
    ts_envelope *ack1, *ack2;
    json_t *v, *msgs, *a1, *a2;
    int64_t oldest;
    uint64_t id;
    char json[128];

    start_server(&f, with_store);
    connect_seeded(&a, f.port, 50);
    json_decref(ok(&a, "{\"cmd\":\"register\",\"user\":\"alice\",\"password\":\"secret-one\"}"));
    json_decref(ok(&a, "{\"cmd\":\"join\",\"room\":\"hist\"}"));
    for (int i = 0; i < 12; i++) {
        char text[32];
        snprintf(text, sizeof(text), "message %d", i);
        id = chat(&a, "alice", "#hist", text, false);
        ts_envelope_free(take(&a, TS_MSG_ACK, id));
    }
    v = ok(&a, "{\"cmd\":\"history\",\"room\":\"hist\",\"limit\":5}");
    msgs = json_object_get(v, "messages");
    assert_int_equal(json_array_size(msgs), 5);
    assert_true(json_is_true(json_object_get(v, "more")));
    oldest = json_integer_value(json_object_get(json_array_get(msgs, 0), "id"));
    json_decref(v);
    snprintf(json, sizeof(json), "{\"cmd\":\"history\",\"room\":\"hist\",\"limit\":50,\"before\":%lld}",
             (long long)oldest);
    v = ok(&a, json);
    assert_int_equal(json_array_size(json_object_get(v, "messages")), 7);
    assert_false(json_is_true(json_object_get(v, "more")));
    json_decref(v);

    /* The same chat message twice: the same Ack, stored once. */
    {
        ts_envelope *env;
        uint8_t *enc;
        size_t len;
        assert_int_equal(ts_envelope_new(&env, TS_MSG_CHAT), TS_OK);
        ts_envelope_set_id(env, 5000);
        assert_int_equal(ts_envelope_set_sender(env, "alice"), TS_OK);
        assert_int_equal(ts_envelope_set_recipient(env, "#hist"), TS_OK);
        assert_int_equal(ts_envelope_set_payload(env, "once", 4), TS_OK);
        assert_int_equal(ts_envelope_seal(env, NULL), TS_OK);
        assert_int_equal(ts_envelope_encode(env, &enc, &len), TS_OK);
        assert_int_equal(channel_send(a.ch, enc, len), TS_OK);
        ack1 = take(&a, TS_MSG_ACK, 5000);
        assert_int_equal(channel_send(a.ch, enc, len), TS_OK);
        ack2 = take(&a, TS_MSG_ACK, 5000);
        free(enc);
        ts_envelope_free(env);
    }
    a1 = payload_json(ack1);
    a2 = payload_json(ack2);
    assert_true(json_equal(a1, a2));
    json_decref(a1);
    json_decref(a2);
    ts_envelope_free(ack1);
    ts_envelope_free(ack2);
    v = ok(&a, "{\"cmd\":\"history\",\"room\":\"hist\",\"limit\":500}");
    assert_int_equal(json_array_size(json_object_get(v, "messages")), 13);
    json_decref(v);
    client_free(&a);
    stop_server(&f);
}

static void test_chat_needs_login(void **state)
{
    struct fixture f;
    struct client c;
    ts_envelope *e;
    uint64_t id;

    start_server(&f, with_store);
    connect_seeded(&c, f.port, 60);
    id = chat(&c, "", "#lobby", "hi", false);
    e = take(&c, TS_MSG_ERROR, id);
    assert_int_equal(error_code(e), TS_REASON_LOGIN_REQUIRED);
    ts_envelope_free(e);
    /* Naming a user without being logged in as that user. */
    id = chat(&c, "someone", "#lobby", "hi", false);
    e = take(&c, TS_MSG_ERROR, id);
    assert_int_equal(error_code(e), TS_REASON_BAD_SENDER);
    ts_envelope_free(e);
    refused(&c, "{\"cmd\":\"join\",\"room\":\"lobby\"}", TS_REASON_LOGIN_REQUIRED);
    refused(&c, "{\"cmd\":\"nonsense\"}", TS_REASON_INVALID_ARGUMENT);
    refused(&c, "[1,2]", TS_REASON_INVALID_ARGUMENT);
    client_free(&c);
    stop_server(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_rules),
        cmocka_unit_test(test_register_login_logout),
        cmocka_unit_test(test_failed_logins_same_answer_backoff_lockout),
        cmocka_unit_test(test_bad_names_refused),
        cmocka_unit_test(test_room_chat_events_and_users),
        cmocka_unit_test(test_direct_message_waits_for_offline_user),
        cmocka_unit_test(test_history_paging_and_duplicate_chat),
        cmocka_unit_test(test_chat_needs_login),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
