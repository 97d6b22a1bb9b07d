/*
 * The client library over TLS (ts_client_config's tls settings) against
 * an in-process ts_server with a TLS listener on an ephemeral port:
 * requests through TLS, each failure with its own words (unknown CA, pin
 * mismatch, client certificate required), mutual TLS, TLS settings
 * refused by ts_client_new(), and a TLS client meeting a plain listener.
 */
#include "support.h"

#include <stdio.h>
#include <string.h>

#include <tcpseal/client.h>
#include <tcpseal/server.h>

#include "net/tls.h"
#include "tls/certgen.h"
#include "tls/pin.h"

#define WAIT_MS 10000
/* A pin of the right form that names no key. */
#define OTHER_PIN "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

/* a: CA 1 with the server certificate and client alice; b: CA 2, which
 * signed nothing the server shows. */
static char *base;
static char a_dir[TEST_PATH_MAX], b_dir[TEST_PATH_MAX];

static int group_setup(void **state)
{
    const char *alice[] = {"alice"};
    struct certgen_options a = {.out_dir = a_dir, .clients = alice, .n_clients = 1};
    struct certgen_options b = {.out_dir = b_dir};

    base = test_tmpdir();
    snprintf(a_dir, sizeof(a_dir), "%s/a", base);
    snprintf(b_dir, sizeof(b_dir), "%s/b", base);
    if (certgen_run(&a) != TS_OK || certgen_run(&b) != TS_OK)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    test_rmtree(base);
    return 0;
}

struct fixture {
    ts_identity *server_id, *client_id;
    ts_server *srv;
    uint16_t port, tls_port;
    ts_client_config cfg;
    ts_client *client;
};

static void echo(ts_server *srv, ts_client_id client, const ts_envelope *req, void *arg)
{
    size_t len;
    const uint8_t *payload = ts_envelope_payload(req, &len);

    ts_server_reply(srv, client, req, payload, len, NULL);
}

/* A server with a plain listener and a TLS one for CA 1's certificate;
 * verify asks for client certificates signed by CA 1. */
static void server_start(struct fixture *f, ts_tls_verify verify)
{
    ts_server_config cfg;

    memset(f, 0, sizeof(*f));
    ts_server_config_init(&cfg);
    cfg.host = "127.0.0.1";
    cfg.port = 0;
    cfg.workers = 1;
    cfg.tls_enabled = true;
    cfg.tls_port = 0;
    cfg.tls_cert_file = test_path_in(a_dir, "server.crt");
    cfg.tls_key_file = test_path_in(a_dir, "server.key");
    if (verify != TS_TLS_VERIFY_NONE) {
        cfg.tls_ca = test_path_in(a_dir, "ca.crt");
        cfg.tls_verify_client = verify;
    }
    assert_int_equal(ts_identity_generate(&f->server_id), TS_OK);
    assert_int_equal(ts_identity_generate(&f->client_id), TS_OK);
    assert_int_equal(ts_server_new(&f->srv, &cfg, f->server_id), TS_OK);
    ts_server_set_handler(f->srv, echo, f);
    assert_int_equal(ts_server_start(f->srv), TS_OK);
    f->port = ts_server_port(f->srv);
    f->tls_port = ts_server_tls_port(f->srv);
    assert_true(f->tls_port != 0 && f->tls_port != f->port);

    ts_client_config_init(&f->cfg);
    f->cfg.host = "127.0.0.1";
    f->cfg.port = f->tls_port;
    f->cfg.identity = f->client_id;
    f->cfg.reconnect = false;
    f->cfg.tls = true;
    f->cfg.tls_ca = test_path_in(a_dir, "ca.crt");
}

static void fixture_free(struct fixture *f)
{
    ts_client_free(f->client);
    if (f->srv != NULL) {
        ts_server_shutdown(f->srv, 1000);
        ts_server_wait(f->srv);
        ts_server_free(f->srv);
    }
    ts_identity_free(f->server_id);
    ts_identity_free(f->client_id);
}

/* A request on f's client configuration: the echo comes back. */
static void request_ok(struct fixture *f, const char *text)
{
    ts_envelope *answer = NULL;
    size_t len;
    const uint8_t *payload;

    assert_int_equal(ts_client_new(&f->client, &f->cfg), TS_OK);
    assert_int_equal(ts_client_request(f->client, text, strlen(text), 0, WAIT_MS, &answer),
                     TS_OK);
    payload = ts_envelope_payload(answer, &len);
    assert_int_equal(len, strlen(text));
    assert_memory_equal(payload, text, len);
    ts_envelope_free(answer);
    assert_true(ts_client_is_connected(f->client));
}

/* A connect on f's client configuration fails with rc, the client's last
 * error containing words. */
static void connect_fails(struct fixture *f, int rc, const char *words)
{
    assert_int_equal(ts_client_new(&f->client, &f->cfg), TS_OK);
    assert_int_equal(ts_client_connect(f->client, WAIT_MS), rc);
    if (strstr(ts_client_last_error(f->client), words) == NULL)
        fail_msg("'%s' does not say '%s'", ts_client_last_error(f->client), words);
}

static void test_request_over_tls(void **state)
{
    struct fixture f;

    server_start(&f, TS_TLS_VERIFY_NONE);
    request_ok(&f, "hello over TLS");
    fixture_free(&f);
}

static void test_name_and_pin(void **state)
{
    char pin[TLS_PIN_MAX];
    struct fixture f;

    assert_int_equal(tls_pin_of_cert_file(test_path_in(a_dir, "server.crt"), pin), TS_OK);
    server_start(&f, TS_TLS_VERIFY_NONE);
    /* The certificate names localhost too; the pin is checked as well. */
    f.cfg.tls_server_name = "localhost";
    f.cfg.tls_pin = pin;
    f.cfg.tls_min_version = TLS_VERSION_1_2;
    request_ok(&f, "pinned");
    fixture_free(&f);
}

static void test_unknown_ca(void **state)
{
    struct fixture f;

    server_start(&f, TS_TLS_VERIFY_NONE);
    f.cfg.tls_ca = test_path_in(b_dir, "ca.crt");
    connect_fails(&f, TS_ERR_TLS, "signed by an unknown CA");
    fixture_free(&f);
}

static void test_hostname_mismatch(void **state)
{
    struct fixture f;

    server_start(&f, TS_TLS_VERIFY_NONE);
    f.cfg.tls_server_name = "example.org";
    connect_fails(&f, TS_ERR_TLS, "hostname mismatch");
    fixture_free(&f);
}

static void test_pin_mismatch(void **state)
{
    struct fixture f;

    server_start(&f, TS_TLS_VERIFY_NONE);
    f.cfg.tls_pin = OTHER_PIN;
    connect_fails(&f, TS_ERR_TLS, "pin mismatch");
    fixture_free(&f);
}

static void test_client_certificate(void **state)
{
    struct fixture f;

    server_start(&f, TS_TLS_VERIFY_REQUIRED);
    connect_fails(&f, TS_ERR_TLS, "requires a client certificate");
    ts_client_free(f.client);
    f.client = NULL;
    f.cfg.tls_cert = test_path_in(a_dir, "client-alice.crt");
    f.cfg.tls_key = test_path_in(a_dir, "client-alice.key");
    request_ok(&f, "mutual");
    fixture_free(&f);
}

static void test_plain_listener(void **state)
{
    struct fixture f;

    server_start(&f, TS_TLS_VERIFY_NONE);
    f.cfg.port = f.port;
    assert_int_equal(ts_client_new(&f.client, &f.cfg), TS_OK);
    assert_int_not_equal(ts_client_connect(f.client, WAIT_MS), TS_OK);
    /* The plain listener answers a TLS ClientHello with a hello rejection
     * and hangs up; which of the two the client sees first varies. */
    assert_non_null(strstr(ts_client_last_error(f.client), "TLS"));
    fixture_free(&f);
}

static void test_settings_refused(void **state)
{
    struct fixture f;
    ts_client *c = NULL;

    server_start(&f, TS_TLS_VERIFY_NONE);
    f.cfg.tls_ca = test_path_in(base, "missing.crt");
    assert_int_equal(ts_client_new(&c, &f.cfg), TS_ERR_CONFIG);
    assert_non_null(strstr(ts_error_detail(TS_ERR_CONFIG), "missing.crt"));
    f.cfg.tls_ca = test_path_in(a_dir, "ca.crt");
    f.cfg.tls_pin = "sha256//short";
    assert_int_equal(ts_client_new(&c, &f.cfg), TS_ERR_CONFIG);
    f.cfg.tls_pin = NULL;
    f.cfg.tls_cert = test_path_in(a_dir, "client-alice.crt");
    assert_int_equal(ts_client_new(&c, &f.cfg), TS_ERR_CONFIG);
    assert_non_null(strstr(ts_error_detail(TS_ERR_CONFIG), "--key"));
    f.cfg.tls_key = test_path_in(a_dir, "server.key");
    assert_int_equal(ts_client_new(&c, &f.cfg), TS_ERR_CONFIG);
    assert_non_null(strstr(ts_error_detail(TS_ERR_CONFIG), "is not the key of"));
    f.cfg.tls_cert = f.cfg.tls_key = NULL;
    f.cfg.tls_min_version = 0x0302;
    assert_int_equal(ts_client_new(&c, &f.cfg), TS_ERR_CONFIG);
    f.cfg.tls_min_version = 0;
    /* Settings without TLS would silently mean plain TCP. */
    f.cfg.tls = false;
    assert_int_equal(ts_client_new(&c, &f.cfg), TS_ERR_CONFIG);
    assert_non_null(strstr(ts_error_detail(TS_ERR_CONFIG), "TLS is not enabled"));
    assert_null(c);
    fixture_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_over_tls),
        cmocka_unit_test(test_name_and_pin),
        cmocka_unit_test(test_unknown_ca),
        cmocka_unit_test(test_hostname_mismatch),
        cmocka_unit_test(test_pin_mismatch),
        cmocka_unit_test(test_client_certificate),
        cmocka_unit_test(test_plain_listener),
        cmocka_unit_test(test_settings_refused),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
