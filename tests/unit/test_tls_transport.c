/*
 * The TLS client transport (src/net/tls.h) against a plain OpenSSL server
 * on a thread of the test (test_tls_peer.h), with certificates from
 * certgen: success, each specific failure, mutual TLS, versions, and
 * non-blocking bulk transfer.
 */
#include "support.h"
#include "test_tls_peer.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <tcpseal/error.h>

#include "net/tcp.h"
#include "net/tls.h"
#include "tls/certgen.h"
#include "tls/pin.h"
#include "util/clock.h"

#define WAIT_MS 5000
#define BULK_LEN (1u << 20)

/* Certificates shared by every test: a (CA 1: server for localhost, client
 * alice), b (CA 2: unknown to clients trusting a), e (CA 1, expired). */
static char *base;
static char a_dir[TEST_PATH_MAX], b_dir[TEST_PATH_MAX], e_dir[TEST_PATH_MAX];

static int group_setup(void **state)
{
    const char *alice[] = {"alice"};
    struct certgen_options a = {.out_dir = a_dir, .clients = alice, .n_clients = 1};
    struct certgen_options b = {.out_dir = b_dir};
    struct certgen_options e = {.out_dir = e_dir, .ca_dir = a_dir, .expired = true};

    signal(SIGPIPE, SIG_IGN);
    base = test_tmpdir();
    snprintf(a_dir, sizeof(a_dir), "%s/a", base);
    snprintf(b_dir, sizeof(b_dir), "%s/b", base);
    snprintf(e_dir, sizeof(e_dir), "%s/e", base);
    if (certgen_run(&a) != TS_OK || certgen_run(&b) != TS_OK || certgen_run(&e) != TS_OK) {
        fprintf(stderr, "certgen: %s\n", ts_error_detail(TS_ERR_TLS));
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    test_rmtree(base);
    return 0;
}

static struct peer_config server_a(void)
{
    return (struct peer_config){.cert = test_path_in(a_dir, "server.crt"),
                                .key = test_path_in(a_dir, "server.key"),
                                .ca = test_path_in(a_dir, "ca.crt")};
}

static struct tls_client_config trust_a(void)
{
    return (struct tls_client_config){.ca = test_path_in(a_dir, "ca.crt")};
}

/* A client transport on fd for host; the context is freed at once, as a
 * transport must outlive it. */
static struct transport *client_start(const struct tls_client_config *cfg, int fd,
                                      const char *host)
{
    struct transport *tcp = NULL, *t = NULL;
    tls_client_ctx *ctx = NULL;

    assert_int_equal(tls_client_ctx_new(&ctx, cfg), TS_OK);
    assert_int_equal(tcp_transport_from_fd(fd, "test-peer:443", &tcp), TS_OK);
    assert_int_equal(tls_transport_start(ctx, tcp, host, &t), TS_OK);
    tls_client_ctx_free(ctx);
    assert_true(tls_transport_is(t));
    return t;
}

static int handshake(struct transport *t)
{
    return tls_transport_handshake(t, clock_mono_ms() + WAIT_MS);
}

/* rc must be code, with text in its detail. */
static void assert_error(int rc, int code, const char *text)
{
    const char *detail = ts_error_detail(rc);

    if (getenv("TS_TEST_VERBOSE") != NULL)
        print_message("%d: %s\n", rc, detail);
    if (rc != code || strstr(detail, text) == NULL)
        fail_msg("got %d '%s', expected %d with '%s'", rc, detail, code, text);
}

/* Send len bytes and read the echo into back, through the non-blocking
 * operations only, waiting on transport_events() with a deadline. A
 * write refused because the peer went away stops the writing; reading
 * then finds out why. */
static int exchange(struct transport *t, const uint8_t *data, size_t len, uint8_t *back)
{
    uint64_t deadline = clock_mono_ms() + WAIT_MS;
    size_t sent = 0, got = 0, n;
    bool writing = true;
    struct pollfd p;
    int rc;

    while (got < len) {
        if (writing && sent < len) {
            rc = transport_write(t, data + sent, len - sent, &n);
            if (rc == TS_ERR_CLOSED)
                writing = false;
            else if (rc != TS_OK)
                return rc;
            else
                sent += n;
        }
        if ((rc = transport_read(t, back + got, len - got, &n)) != TS_OK)
            return rc;
        got += n;
        if (n > 0 || transport_pending(t))
            continue;
        if (clock_mono_ms() >= deadline)
            return TS_ERR_TIMEOUT;
        p.fd = transport_fd(t);
        p.events = transport_events(t, writing && sent < len);
        p.revents = 0;
        assert_true(poll(&p, 1, (int)(deadline - clock_mono_ms())) >= 0 || errno == EINTR);
    }
    return TS_OK;
}

/* Read until the transport reports an error or the end; returns it. */
static int read_to_end(struct transport *t)
{
    uint64_t deadline = clock_mono_ms() + WAIT_MS;
    struct pollfd p;
    uint8_t buf[256];
    size_t n;
    int rc;

    while ((rc = transport_read(t, buf, sizeof(buf), &n)) == TS_OK) {
        if (n > 0 || transport_pending(t))
            continue;
        if (clock_mono_ms() >= deadline)
            return TS_ERR_TIMEOUT;
        p.fd = transport_fd(t);
        p.events = transport_events(t, false);
        p.revents = 0;
        assert_true(poll(&p, 1, (int)(deadline - clock_mono_ms())) >= 0 || errno == EINTR);
    }
    return rc;
}

static void exchange_ok(struct transport *t, const char *text)
{
    uint8_t back[64] = {0};
    size_t len = strlen(text);

    assert_int_equal(exchange(t, (const uint8_t *)text, len, back), TS_OK);
    assert_memory_equal(back, text, len);
}

/* ------------------------------------------------------------------ */

static void test_success(void **state)
{
    struct peer_config pc = server_a();
    struct tls_client_config cc = trust_a();
    char pin[TLS_PIN_MAX], file_pin[TLS_PIN_MAX];
    struct transport *t;
    struct peer p;
    size_t n;
    int fd;

    peer_start(&p, &pc, &fd);
    t = client_start(&cc, fd, "localhost");
    assert_int_equal(handshake(t), TS_OK);
    assert_int_equal(handshake(t), TS_OK);
    assert_true(tls_transport_established(t));
    assert_string_equal(tls_transport_version(t), "TLSv1.3");
    assert_string_equal(tls_transport_cipher(t), "TLS_AES_256_GCM_SHA384");
    assert_int_equal(tls_transport_peer_pin(t, pin), TS_OK);
    assert_int_equal(tls_pin_of_cert_file(test_path_in(a_dir, "server.crt"), file_pin), TS_OK);
    assert_string_equal(pin, file_pin);
    assert_string_equal(t->ops->name, "tls");
    exchange_ok(t, "hello over TLS");
    assert_false(transport_pending(t));
    /* close_notify, answered by the peer's own. */
    assert_int_equal(transport_shutdown_write(t), TS_OK);
    assert_error(transport_write(t, "x", 1, &n), TS_ERR_STATE, "after its shutdown");
    assert_error(read_to_end(t), TS_ERR_CLOSED, "test-peer:443 closed the connection");
    transport_close(t);
    peer_join(&p);
    assert_true(p.accepted);
    assert_true(p.got_close_notify);
    assert_int_equal(p.echoed, strlen("hello over TLS"));
}

static void test_unknown_ca(void **state)
{
    struct peer_config pc = server_a();
    struct tls_client_config cc = {.ca = test_path_in(b_dir, "ca.crt")};
    char pin[TLS_PIN_MAX], file_pin[TLS_PIN_MAX];
    struct transport *t;
    struct peer p;
    int fd;

    peer_start(&p, &pc, &fd);
    t = client_start(&cc, fd, "localhost");
    assert_error(handshake(t), TS_ERR_TLS, "signed by an unknown CA");
    assert_error(handshake(t), TS_ERR_TLS, "verify with --ca FILE");
    /* The failure is sticky, and the pin of what was offered is known. */
    assert_error(exchange(t, (const uint8_t *)"x", 1, (uint8_t[1]){0}), TS_ERR_TLS,
                 "unknown CA");
    assert_int_equal(tls_transport_peer_pin(t, pin), TS_OK);
    assert_int_equal(tls_pin_of_cert_file(test_path_in(a_dir, "server.crt"), file_pin), TS_OK);
    assert_string_equal(pin, file_pin);
    assert_null(tls_transport_version(t));
    transport_close(t);
    peer_join(&p);
    assert_false(p.accepted);
}

/* The system's default CAs do not know a test CA either. */
static void test_unknown_ca_default_paths(void **state)
{
    struct peer_config pc = server_a();
    struct tls_client_config cc = {0};
    struct transport *t;
    struct peer p;
    int fd;

    peer_start(&p, &pc, &fd);
    t = client_start(&cc, fd, "localhost");
    assert_error(handshake(t), TS_ERR_TLS, "unknown CA");
    transport_close(t);
    peer_join(&p);
}

static void test_hostname_mismatch(void **state)
{
    struct peer_config pc = server_a();
    struct tls_client_config cc = trust_a();
    struct transport *t;
    struct peer p;
    int fd;

    peer_start(&p, &pc, &fd);
    t = client_start(&cc, fd, "other.example");
    assert_error(handshake(t), TS_ERR_TLS, "not valid for other.example (hostname mismatch");
    assert_error(handshake(t), TS_ERR_TLS, "DNS:localhost");
    transport_close(t);
    peer_join(&p);
    assert_false(p.accepted);
}

static void test_ip_mismatch(void **state)
{
    struct peer_config pc = server_a();
    struct tls_client_config cc = trust_a();
    struct transport *t;
    struct peer p;
    int fd;

    peer_start(&p, &pc, &fd);
    t = client_start(&cc, fd, "192.0.2.1");
    assert_error(handshake(t), TS_ERR_TLS, "hostname mismatch");
    assert_error(handshake(t), TS_ERR_TLS, "IP:127.0.0.1");
    transport_close(t);
    peer_join(&p);
}

/* --servername: the name checked need not be the host connected to. */
static void test_servername_override(void **state)
{
    struct peer_config pc = server_a();
    struct tls_client_config cc = trust_a();
    struct transport *t;
    struct peer p;
    int fd;

    cc.server_name = "localhost";
    peer_start(&p, &pc, &fd);
    t = client_start(&cc, fd, "192.0.2.1");
    assert_int_equal(handshake(t), TS_OK);
    exchange_ok(t, "named");
    transport_close(t);
    peer_join(&p);
}

static void test_expired(void **state)
{
    struct peer_config pc = {.cert = test_path_in(e_dir, "server.crt"),
                             .key = test_path_in(e_dir, "server.key")};
    struct tls_client_config cc = trust_a();
    struct transport *t;
    struct peer p;
    int fd;

    peer_start(&p, &pc, &fd);
    t = client_start(&cc, fd, "localhost");
    assert_error(handshake(t), TS_ERR_TLS, "server certificate for localhost expired on");
    assert_error(handshake(t), TS_ERR_TLS, "(certificate expired)");
    transport_close(t);
    peer_join(&p);
}

static void test_pin_match(void **state)
{
    struct peer_config pc = server_a();
    struct tls_client_config cc = trust_a();
    char pin[TLS_PIN_MAX];
    struct transport *t;
    struct peer p;
    int fd;

    assert_int_equal(tls_pin_of_cert_file(test_path_in(a_dir, "server.crt"), pin), TS_OK);
    cc.pin = pin;
    peer_start(&p, &pc, &fd);
    t = client_start(&cc, fd, "localhost");
    assert_int_equal(handshake(t), TS_OK);
    exchange_ok(t, "pinned");
    transport_close(t);
    peer_join(&p);
}

/* A pin mismatch stops the handshake before the client certificate is
 * shown to the server. */
static void test_pin_mismatch(void **state)
{
    struct peer_config pc = server_a();
    struct tls_client_config cc = trust_a();
    char pin[TLS_PIN_MAX], actual[TLS_PIN_MAX];
    struct transport *t;
    struct peer p;
    int fd;

    assert_int_equal(tls_pin_of_cert_file(test_path_in(b_dir, "server.crt"), pin), TS_OK);
    assert_int_equal(tls_pin_of_cert_file(test_path_in(a_dir, "server.crt"), actual), TS_OK);
    cc.pin = pin;
    cc.cert_file = test_path_in(a_dir, "client-alice.crt");
    cc.key_file = test_path_in(a_dir, "client-alice.key");
    pc.require_client = true;
    peer_start(&p, &pc, &fd);
    t = client_start(&cc, fd, "localhost");
    assert_error(handshake(t), TS_ERR_TLS, "does not match the pin (pin mismatch");
    assert_error(handshake(t), TS_ERR_TLS, actual);
    transport_close(t);
    peer_join(&p);
    assert_false(p.accepted);
    assert_string_equal(p.client_cn, "");
}

/* TLS 1.3: the server refuses after the client finished, so the refusal
 * arrives with the first read. */
static void test_client_cert_required(void **state)
{
    struct peer_config pc = server_a();
    struct tls_client_config cc = trust_a();
    struct transport *t;
    struct peer p;
    uint8_t back[8];
    int fd, rc;

    pc.require_client = true;
    peer_start(&p, &pc, &fd);
    t = client_start(&cc, fd, "localhost");
    rc = handshake(t);
    if (rc == TS_OK)
        rc = exchange(t, (const uint8_t *)"hello", 5, back);
    assert_error(rc, TS_ERR_TLS, "requires a client certificate (give --cert FILE --key FILE)");
    transport_close(t);
    peer_join(&p);
    assert_false(p.accepted);
}

/* TLS 1.2 servers answer a missing certificate with handshake_failure. */
static void test_client_cert_required_tls12(void **state)
{
    struct peer_config pc = server_a();
    struct tls_client_config cc = trust_a();
    struct transport *t;
    struct peer p;
    int fd;

    pc.require_client = true;
    pc.max_version = TLS1_2_VERSION;
    cc.min_version = TLS_VERSION_1_2;
    peer_start(&p, &pc, &fd);
    t = client_start(&cc, fd, "localhost");
    assert_error(handshake(t), TS_ERR_TLS, "requires a client certificate");
    transport_close(t);
    peer_join(&p);
}

static void test_client_cert_accepted(void **state)
{
    struct peer_config pc = server_a();
    struct tls_client_config cc = trust_a();
    struct transport *t;
    struct peer p;
    int fd;

    pc.require_client = true;
    cc.cert_file = test_path_in(a_dir, "client-alice.crt");
    cc.key_file = test_path_in(a_dir, "client-alice.key");
    peer_start(&p, &pc, &fd);
    t = client_start(&cc, fd, "localhost");
    assert_int_equal(handshake(t), TS_OK);
    exchange_ok(t, "mutual");
    transport_close(t);
    peer_join(&p);
    assert_true(p.accepted);
    assert_string_equal(p.client_cn, "alice");
}

/* A client certificate from a CA the server does not trust. */
static void test_client_cert_refused(void **state)
{
    struct peer_config pc = server_a();
    struct tls_client_config cc = trust_a();
    const char *bob[] = {"bob"};
    char dir[TEST_PATH_MAX];
    struct certgen_options g = {.out_dir = dir, .clients = bob, .n_clients = 1};
    struct transport *t;
    struct peer p;
    uint8_t back[8];
    int fd, rc;

    snprintf(dir, sizeof(dir), "%s/bob", base);
    assert_int_equal(certgen_run(&g), TS_OK);
    pc.require_client = true;
    cc.cert_file = test_path_in(dir, "client-bob.crt");
    cc.key_file = test_path_in(dir, "client-bob.key");
    peer_start(&p, &pc, &fd);
    t = client_start(&cc, fd, "localhost");
    rc = handshake(t);
    if (rc == TS_OK)
        rc = exchange(t, (const uint8_t *)"hello", 5, back);
    assert_error(rc, TS_ERR_TLS, "refused our client certificate");
    transport_close(t);
    peer_join(&p);
    assert_false(p.accepted);
}

static void test_min_version_refused(void **state)
{
    struct peer_config pc = server_a();
    struct tls_client_config cc = trust_a();
    struct transport *t;
    struct peer p;
    int fd;

    pc.max_version = TLS1_2_VERSION;
    peer_start(&p, &pc, &fd);
    t = client_start(&cc, fd, "localhost");
    assert_error(handshake(t), TS_ERR_TLS, "does not offer TLS 1.3 or later (protocol version)");
    transport_close(t);
    peer_join(&p);
    assert_false(p.accepted);
}

static void test_tls12_allowed(void **state)
{
    struct peer_config pc = server_a();
    struct tls_client_config cc = trust_a();
    struct transport *t;
    struct peer p;
    int fd;

    pc.max_version = TLS1_2_VERSION;
    cc.min_version = TLS_VERSION_1_2;
    peer_start(&p, &pc, &fd);
    t = client_start(&cc, fd, "localhost");
    assert_int_equal(handshake(t), TS_OK);
    assert_string_equal(tls_transport_version(t), "TLSv1.2");
    assert_non_null(strstr(tls_transport_cipher(t), "ECDHE-ECDSA-"));
    exchange_ok(t, "older");
    transport_close(t);
    peer_join(&p);
}

static void test_not_tls(void **state)
{
    struct peer_config pc = {.mode = PEER_PLAIN};
    struct tls_client_config cc = trust_a();
    struct transport *t;
    struct peer p;
    int fd;

    peer_start(&p, &pc, &fd);
    t = client_start(&cc, fd, "localhost");
    assert_error(handshake(t), TS_ERR_TLS, "did not answer with TLS");
    transport_close(t);
    peer_join(&p);
}

static void test_hang_up(void **state)
{
    struct peer_config pc = {.mode = PEER_HANG_UP};
    struct tls_client_config cc = trust_a();
    struct transport *t;
    struct peer p;
    int fd;

    peer_start(&p, &pc, &fd);
    t = client_start(&cc, fd, "localhost");
    assert_error(handshake(t), TS_ERR_CLOSED, "closed the connection during the TLS handshake");
    transport_close(t);
    peer_join(&p);
}

static void test_timeout(void **state)
{
    struct peer_config pc = {.mode = PEER_SILENT};
    struct tls_client_config cc = trust_a();
    struct transport *t;
    struct peer p;
    int fd;

    peer_start(&p, &pc, &fd);
    t = client_start(&cc, fd, "localhost");
    assert_error(tls_transport_handshake(t, clock_mono_ms() + 100), TS_ERR_TIMEOUT,
                 "timed out during the TLS handshake with test-peer:443");
    transport_close(t);
    peer_join(&p);
}

/* tls_connect over loopback TCP by address: checked against IP SANs. */
static void test_connect_loopback(void **state)
{
    struct peer_config pc = server_a();
    struct tls_client_config cc = trust_a();
    tls_client_ctx *ctx;
    struct transport *t;
    char where[32];
    struct peer p;
    int os_error = -1;

    peer_listen(&p, &pc);
    assert_int_equal(tls_client_ctx_new(&ctx, &cc), TS_OK);
    assert_int_equal(tls_connect(ctx, "127.0.0.1", p.port, clock_mono_ms() + WAIT_MS, &t,
                                 &os_error),
                     TS_OK);
    assert_int_equal(os_error, 0);
    snprintf(where, sizeof(where), "127.0.0.1:%u", (unsigned)p.port);
    assert_string_equal(t->peer, where);
    assert_string_equal(tls_transport_version(t), "TLSv1.3");
    exchange_ok(t, "loopback");
    transport_close(t);
    tls_client_ctx_free(ctx);
    peer_join(&p);
    assert_true(p.accepted);
}

/* A megabyte each way through the non-blocking operations, without an
 * explicit handshake: writes must stall (the socketpair buffer is far
 * smaller) and resume from the same bytes. */
static void test_bulk_nonblocking(void **state)
{
    struct peer_config pc = server_a();
    struct tls_client_config cc = trust_a();
    uint8_t *data = malloc(BULK_LEN), *back = malloc(BULK_LEN);
    struct transport *t;
    struct peer p;
    int fd;

    assert_non_null(data);
    assert_non_null(back);
    for (size_t i = 0; i < BULK_LEN; i++)
        data[i] = (uint8_t)(i * 131u + (i >> 9));
    peer_start(&p, &pc, &fd);
    t = client_start(&cc, fd, "localhost");
    assert_int_equal(exchange(t, data, BULK_LEN, back), TS_OK);
    assert_memory_equal(data, back, BULK_LEN);
    transport_close(t);
    peer_join(&p);
    assert_int_equal(p.echoed, BULK_LEN);
    free(data);
    free(back);
}

static void test_config_errors(void **state)
{
    struct tls_client_config cc = trust_a();
    tls_client_ctx *ctx = NULL;
    int v = 0;

    cc.pin = "sha256//tooshort";
    assert_error(tls_client_ctx_new(&ctx, &cc), TS_ERR_INVALID, "pin");
    assert_null(ctx);
    cc = trust_a();
    cc.cert_file = test_path_in(a_dir, "client-alice.crt");
    assert_error(tls_client_ctx_new(&ctx, &cc), TS_ERR_INVALID, "--cert FILE and --key FILE");
    cc.key_file = test_path_in(a_dir, "server.key");
    assert_error(tls_client_ctx_new(&ctx, &cc), TS_ERR_TLS, "is not the key of");
    cc = trust_a();
    cc.ca = test_path_in(base, "missing.crt");
    assert_error(tls_client_ctx_new(&ctx, &cc), TS_ERR_TLS, "missing.crt");
    cc = trust_a();
    cc.ca = test_path_in(a_dir, "server.key");
    assert_error(tls_client_ctx_new(&ctx, &cc), TS_ERR_TLS, "cannot load the CA");
    cc = trust_a();
    cc.min_version = 0x0302;
    assert_error(tls_client_ctx_new(&ctx, &cc), TS_ERR_INVALID, "1.2 or 1.3");
    cc = trust_a();
    cc.ciphersuites = "NOT_A_SUITE";
    assert_error(tls_client_ctx_new(&ctx, &cc), TS_ERR_TLS, "NOT_A_SUITE");
    assert_int_equal(tls_version_parse("1.2", &v), TS_OK);
    assert_int_equal(v, TLS_VERSION_1_2);
    assert_int_equal(tls_version_parse("1.3", &v), TS_OK);
    assert_int_equal(v, TLS_VERSION_1_3);
    assert_int_equal(tls_version_parse("1.1", &v), TS_ERR_INVALID);
    assert_string_equal(tls_version_name(TLS_VERSION_1_3), "1.3");
}

static void test_not_a_tls_transport(void **state)
{
    struct transport *tcp;
    char pin[TLS_PIN_MAX];
    int sv[2];

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(tcp_transport_from_fd(sv[0], "x", &tcp), TS_OK);
    assert_false(tls_transport_is(tcp));
    assert_null(tls_transport_version(tcp));
    assert_int_equal(tls_transport_handshake(tcp, 0), TS_ERR_INVALID);
    assert_int_equal(tls_transport_peer_pin(tcp, pin), TS_ERR_INVALID);
    transport_close(tcp);
    close(sv[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_success),
        cmocka_unit_test(test_unknown_ca),
        cmocka_unit_test(test_unknown_ca_default_paths),
        cmocka_unit_test(test_hostname_mismatch),
        cmocka_unit_test(test_ip_mismatch),
        cmocka_unit_test(test_servername_override),
        cmocka_unit_test(test_expired),
        cmocka_unit_test(test_pin_match),
        cmocka_unit_test(test_pin_mismatch),
        cmocka_unit_test(test_client_cert_required),
        cmocka_unit_test(test_client_cert_required_tls12),
        cmocka_unit_test(test_client_cert_accepted),
        cmocka_unit_test(test_client_cert_refused),
        cmocka_unit_test(test_min_version_refused),
        cmocka_unit_test(test_tls12_allowed),
        cmocka_unit_test(test_not_tls),
        cmocka_unit_test(test_hang_up),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_connect_loopback),
        cmocka_unit_test(test_bulk_nonblocking),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_not_a_tls_transport),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
