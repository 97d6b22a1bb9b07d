/*
 * Plain TCP transport (see transport.h for the operations).
 *
 * Sockets are non-blocking, close-on-exec, and have Nagle's algorithm off
 * (TCP_NODELAY): tcpseal writes whole frames, and a request/response
 * exchange should not wait for delayed ACKs.
 */
#ifndef TS_NET_TCP_H
#define TS_NET_TCP_H

#include <stdint.h>

#include "net/transport.h"

/*
 * Resolve host (IPv4 and IPv6, in the resolver's order) and connect to
 * each address in turn until one accepts, all within deadline_ms (on the
 * monotonic clock of util/clock.h; 0 = no deadline). Name resolution
 * itself is a blocking getaddrinfo() call without a deadline.
 *
 * On success *out is a connected transport owned by the caller
 * (transport_close()). Errors, with a detail such as
 * "cannot connect to localhost:8080: Connection refused":
 *   TS_ERR_CONNECT  resolution failed, or every address refused or
 *                   failed (a socket of its family could not be made);
 *   TS_ERR_TIMEOUT  the deadline passed while connecting;
 *   TS_ERR_INVALID  empty host, port 0, or a host with characters that
 *                   net_hostport_format() refuses;
 *   TS_ERR_IO       the connected socket could not be configured;
 *   TS_ERR_NOMEM.
 * os_error (may be NULL) receives the errno of the last failed attempt
 * (ECONNREFUSED, ENETUNREACH, ...), or 0 when no connect was attempted or
 * the failure was not an errno (resolution, timeout).
 */
int tcp_connect(const char *host, uint16_t port, uint64_t deadline_ms,
                struct transport **out, int *os_error);

/*
 * Wrap a connected stream socket (for instance one end of a socketpair in
 * tests). Takes ownership of fd in every case (it is closed on failure),
 * makes it non-blocking and close-on-exec, and sets TCP_NODELAY when fd is
 * a TCP socket. peer names the other end in error details. 0, TS_ERR_IO or
 * TS_ERR_NOMEM.
 */
int tcp_transport_from_fd(int fd, const char *peer, struct transport **out);

#endif /* TS_NET_TCP_H */
