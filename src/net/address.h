/*
 * Server addresses as people write them: "host:port".
 *
 * One spelling per address, so the same server always gets the same key in
 * files such as known_servers: host names are lower-cased (DNS names are
 * case-insensitive), and an IPv6 literal is bracketed ("[::1]:8080") so
 * its colons cannot be confused with the port separator.
 */
#ifndef TS_NET_ADDRESS_H
#define TS_NET_ADDRESS_H

#include <stddef.h>
#include <stdint.h>

/* Longest host accepted: a DNS name is at most 253 characters; numeric
 * IPv6 literals with a zone index fit as well. */
#define NET_HOST_MAX 255
/* "[" host "]" ":" port, and the NUL. */
#define NET_HOSTPORT_MAX (NET_HOST_MAX + 2 + 1 + 5 + 1)

/*
 * Write the canonical "host:port" of host and port into out (capacity
 * cap, at most NET_HOSTPORT_MAX needed). 0, TS_ERR_INVALID (empty host,
 * port 0, or a host with spaces, control characters, quotes, backslashes,
 * slashes, '#', '[' or ']') or TS_ERR_TOO_LARGE (host over NET_HOST_MAX
 * or out too small).
 */
int net_hostport_format(const char *host, uint16_t port, char *out, size_t cap);

/*
 * Split text into a host and a port. Accepted forms: "host", "host:port",
 * "[v6]", "[v6]:port", and a bare IPv6 literal such as "::1" (two or more
 * colons and no brackets: all host, no port). Without a port, *port is
 * default_port. The host is copied into host (capacity host_cap) as
 * written (not lower-cased). 0, TS_ERR_MALFORMED (detail says what is
 * wrong) or TS_ERR_TOO_LARGE.
 */
int net_hostport_parse(const char *text, uint16_t default_port, char *host,
                       size_t host_cap, uint16_t *port);

/* Parse a decimal port 1..65535 (the whole string): 0 or TS_ERR_MALFORMED. */
int net_port_parse(const char *text, uint16_t *port);

#endif /* TS_NET_ADDRESS_H */
