/*
 * Server addresses and the TCP transport: canonical host:port text,
 * parsing what users type, connecting over IPv4 and IPv6, and the error
 * details a refused connection produces.
 */
#include "support.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <tcpseal/error.h>

#include "net/address.h"
#include "net/tcp.h"
#include "util/clock.h"

static void test_format(void **state)
{
    char out[NET_HOSTPORT_MAX];
    char small[8];

    assert_int_equal(net_hostport_format("LocalHost", 8080, out, sizeof(out)), TS_OK);
    assert_string_equal(out, "localhost:8080");
    assert_int_equal(net_hostport_format("::1", 9000, out, sizeof(out)), TS_OK);
    assert_string_equal(out, "[::1]:9000");
    assert_int_equal(net_hostport_format("fe80::1%eth0", 1, out, sizeof(out)), TS_OK);
    assert_string_equal(out, "[fe80::1%eth0]:1");
    assert_int_equal(net_hostport_format("", 1, out, sizeof(out)), TS_ERR_INVALID);
    assert_int_equal(net_hostport_format("a b", 1, out, sizeof(out)), TS_ERR_INVALID);
    assert_int_equal(net_hostport_format("a#b", 1, out, sizeof(out)), TS_ERR_INVALID);
    assert_int_equal(net_hostport_format("a\"b", 1, out, sizeof(out)), TS_ERR_INVALID);
    assert_int_equal(net_hostport_format("host", 0, out, sizeof(out)), TS_ERR_INVALID);
    assert_int_equal(net_hostport_format("longhost", 8080, small, sizeof(small)),
                     TS_ERR_TOO_LARGE);
}

static void test_parse(void **state)
{
    char host[NET_HOST_MAX + 1];
    uint16_t port;

    assert_int_equal(net_hostport_parse("example.org", 8080, host, sizeof(host), &port),
                     TS_OK);
    assert_string_equal(host, "example.org");
    assert_int_equal(port, 8080);
    assert_int_equal(net_hostport_parse("example.org:9000", 8080, host, sizeof(host),
                                        &port), TS_OK);
    assert_int_equal(port, 9000);
    assert_int_equal(net_hostport_parse("[::1]:7", 8080, host, sizeof(host), &port), TS_OK);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 7);
    assert_int_equal(net_hostport_parse("[::1]", 8080, host, sizeof(host), &port), TS_OK);
    assert_int_equal(port, 8080);
    assert_int_equal(net_hostport_parse("::1", 8080, host, sizeof(host), &port), TS_OK);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 8080);

    assert_int_equal(net_hostport_parse("host:0", 1, host, sizeof(host), &port),
                     TS_ERR_MALFORMED);
    assert_int_equal(net_hostport_parse("host:65536", 1, host, sizeof(host), &port),
                     TS_ERR_MALFORMED);
    assert_int_equal(net_hostport_parse("host:8x", 1, host, sizeof(host), &port),
                     TS_ERR_MALFORMED);
    assert_int_equal(net_hostport_parse("host:", 1, host, sizeof(host), &port),
                     TS_ERR_MALFORMED);
    assert_int_equal(net_hostport_parse(":80", 1, host, sizeof(host), &port),
                     TS_ERR_MALFORMED);
    assert_int_equal(net_hostport_parse("[::1", 1, host, sizeof(host), &port),
                     TS_ERR_MALFORMED);
    assert_int_equal(net_hostport_parse("[::1]x", 1, host, sizeof(host), &port),
                     TS_ERR_MALFORMED);
    assert_int_equal(net_hostport_parse("", 1, host, sizeof(host), &port),
                     TS_ERR_MALFORMED);
}

/* A listening socket on the loopback of family, with its port. */
static int listener(int family, uint16_t *port)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    memset(&ss, 0, sizeof(ss));
    if (family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof(*in);
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_addr = in6addr_loopback;
        len = sizeof(*in6);
    }
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 4) != 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                    : ((struct sockaddr_in6 *)&ss)->sin6_port);
    return fd;
}

/* Bytes written on one side arrive on the other. */
static void check_stream(struct transport *t, int lfd)
{
    int peer = accept(lfd, NULL, NULL);
    char buf[16];
    size_t n = 0;
    struct pollfd p = {.fd = transport_fd(t), .events = POLLIN};

    assert_true(peer >= 0);
    assert_int_equal(transport_write(t, "ping", 4, &n), TS_OK);
    assert_int_equal(n, 4);
    assert_int_equal(recv(peer, buf, sizeof(buf), 0), 4);
    assert_int_equal(send(peer, "pong", 4, 0), 4);
    assert_int_equal(poll(&p, 1, 5000), 1);
    assert_int_equal(transport_read(t, buf, sizeof(buf), &n), TS_OK);
    assert_int_equal(n, 4);
    assert_memory_equal(buf, "pong", 4);
    /* Nothing more now: no bytes, no error. */
    assert_int_equal(transport_read(t, buf, sizeof(buf), &n), TS_OK);
    assert_int_equal(n, 0);
    close(peer);
    assert_int_equal(poll(&p, 1, 5000), 1);
    assert_int_equal(transport_read(t, buf, sizeof(buf), &n), TS_ERR_CLOSED);
}

static void test_connect_ipv4_and_ipv6(void **state)
{
    struct transport *t = NULL;
    char want[32];
    uint16_t port;
    int lfd, err = -1;

    lfd = listener(AF_INET, &port);
    assert_true(lfd >= 0);
    assert_int_equal(tcp_connect("127.0.0.1", port, clock_mono_ms() + 5000, &t, &err),
                     TS_OK);
    assert_int_equal(err, 0);
    snprintf(want, sizeof(want), "127.0.0.1:%u", port);
    assert_string_equal(t->peer, want);
    assert_string_equal(t->ops->name, "tcp");
    check_stream(t, lfd);
    transport_close(t);
    close(lfd);

    lfd = listener(AF_INET6, &port);
    if (lfd < 0) {
        /* No IPv6 loopback here; nothing to test. */
        return;
    }
    assert_int_equal(tcp_connect("::1", port, clock_mono_ms() + 5000, &t, NULL), TS_OK);
    assert_non_null(strstr(t->peer, "[::1]:"));
    check_stream(t, lfd);
    transport_close(t);
    close(lfd);
}

static void test_connect_refused_names_server(void **state)
{
    struct sockaddr_in in = {.sin_family = AF_INET};
    socklen_t len = sizeof(in);
    struct transport *t = (struct transport *)1;
    char want[96];
    int fd = socket(AF_INET, SOCK_STREAM, 0), err = 0, rc;

    /* Bound but not listening: connections are refused, and the port
     * cannot be taken by anyone else meanwhile. */
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&in, sizeof(in)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&in, &len), 0);
    rc = tcp_connect("127.0.0.1", ntohs(in.sin_port), clock_mono_ms() + 5000, &t, &err);
    assert_int_equal(rc, TS_ERR_CONNECT);
    assert_null(t);
    assert_int_equal(err, ECONNREFUSED);
    snprintf(want, sizeof(want), "cannot connect to 127.0.0.1:%u: %s",
             ntohs(in.sin_port), strerror(ECONNREFUSED));
    assert_string_equal(ts_error_detail(rc), want);
    close(fd);
}

static void test_connect_bad_names(void **state)
{
    struct transport *t = NULL;
    int err = -1;

    assert_int_equal(tcp_connect("no-such-host.invalid", 80, clock_mono_ms() + 5000, &t,
                                 &err), TS_ERR_CONNECT);
    assert_non_null(strstr(ts_error_detail(TS_ERR_CONNECT),
                           "cannot connect to no-such-host.invalid:80: "));
    assert_int_equal(err, 0);
    assert_int_equal(tcp_connect("", 80, 0, &t, NULL), TS_ERR_INVALID);
    assert_int_equal(tcp_connect("host", 0, 0, &t, NULL), TS_ERR_INVALID);
}

static void test_from_fd_socketpair(void **state)
{
    struct transport *t = NULL;
    int sv[2];
    char buf[8];
    size_t n;

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(tcp_transport_from_fd(sv[0], "pair", &t), TS_OK);
    assert_string_equal(t->peer, "pair");
    assert_int_equal(transport_write(t, "abc", 3, &n), TS_OK);
    assert_int_equal(read(sv[1], buf, sizeof(buf)), 3);
    assert_int_equal(transport_shutdown_write(t), TS_OK);
    assert_int_equal(read(sv[1], buf, sizeof(buf)), 0);
    close(sv[1]);
    /* The peer is gone: writes report it instead of raising SIGPIPE. */
    assert_int_equal(transport_write(t, "abc", 3, &n), TS_ERR_CLOSED);
    transport_close(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_connect_ipv4_and_ipv6),
        cmocka_unit_test(test_connect_refused_names_server),
        cmocka_unit_test(test_connect_bad_names),
        cmocka_unit_test(test_from_fd_socketpair),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
