#include "net/address.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <tcpseal/error.h>

#include "util/error.h"

#define PORT_MAX 65535u
#define PORT_DIGITS_MAX 5

/* Printable ASCII without what would make a host ambiguous in
 * "host:port" text, in files that use '#' for comments, or in a JSON
 * string written without escaping. */
static bool host_char_ok(unsigned char c)
{
    return c > 0x20 && c < 0x7f && strchr("#[]/\\\"", c) == NULL;
}

static int host_check(const char *host, size_t len)
{
    if (len == 0)
        return error_set(TS_ERR_INVALID, "empty host name");
    if (len > NET_HOST_MAX)
        return error_set(TS_ERR_TOO_LARGE, "host name longer than %d characters",
                         NET_HOST_MAX);
    for (size_t i = 0; i < len; i++) {
        if (!host_char_ok((unsigned char)host[i]))
            return error_set(TS_ERR_INVALID, "invalid character in host name");
    }
    return TS_OK;
}

int net_hostport_format(const char *host, uint16_t port, char *out, size_t cap)
{
    size_t len = strlen(host), pos = 0;
    bool v6 = strchr(host, ':') != NULL;
    int rc, n;

    if ((rc = host_check(host, len)) != TS_OK)
        return rc;
    if (port == 0)
        return error_set(TS_ERR_INVALID, "port 0");
    if (cap < len + (v6 ? 2 : 0) + 1 + PORT_DIGITS_MAX + 1)
        return error_set(TS_ERR_TOO_LARGE, "address buffer too small");
    if (v6)
        out[pos++] = '[';
    for (size_t i = 0; i < len; i++)
        out[pos++] = (char)tolower((unsigned char)host[i]);
    if (v6)
        out[pos++] = ']';
    n = snprintf(out + pos, cap - pos, ":%u", (unsigned)port);
    if (n < 0 || (size_t)n >= cap - pos)
        return error_set(TS_ERR_TOO_LARGE, "address buffer too small");
    return TS_OK;
}

int net_port_parse(const char *text, uint16_t *port)
{
    unsigned value = 0;
    size_t len = strlen(text);

    if (len == 0 || len > PORT_DIGITS_MAX)
        return error_set(TS_ERR_MALFORMED, "invalid port '%.16s'", text);
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return error_set(TS_ERR_MALFORMED, "invalid port '%.16s'", text);
        value = value * 10 + (unsigned)(text[i] - '0');
    }
    if (value == 0 || value > PORT_MAX)
        return error_set(TS_ERR_MALFORMED, "port %u out of range 1-65535", value);
    *port = (uint16_t)value;
    return TS_OK;
}

static int copy_host(const char *start, size_t len, char *host, size_t host_cap)
{
    char detail[ERROR_DETAIL_MAX];
    int rc = host_check(start, len);

    /* error_set() writes the buffer ts_error_detail() returns: copy first. */
    if (rc == TS_ERR_INVALID) {
        snprintf(detail, sizeof(detail), "%s", ts_error_detail(rc));
        return error_set(TS_ERR_MALFORMED, "%s", detail);
    }
    if (rc != TS_OK)
        return rc;
    if (len >= host_cap)
        return error_set(TS_ERR_TOO_LARGE, "host name too long");
    memcpy(host, start, len);
    host[len] = '\0';
    return TS_OK;
}

/* "[v6]" or "[v6]:port". */
static int parse_bracketed(const char *text, uint16_t default_port, char *host,
                           size_t host_cap, uint16_t *port)
{
    const char *close = strchr(text, ']');
    int rc;

    if (close == NULL)
        return error_set(TS_ERR_MALFORMED, "missing ']' in address");
    if ((rc = copy_host(text + 1, (size_t)(close - text - 1), host, host_cap)) != TS_OK)
        return rc;
    if (close[1] == '\0') {
        *port = default_port;
        return TS_OK;
    }
    if (close[1] != ':')
        return error_set(TS_ERR_MALFORMED, "unexpected text after ']' in address");
    return net_port_parse(close + 2, port);
}

int net_hostport_parse(const char *text, uint16_t default_port, char *host,
                       size_t host_cap, uint16_t *port)
{
    const char *colon = strrchr(text, ':');
    int rc;

    if (text[0] == '[')
        return parse_bracketed(text, default_port, host, host_cap, port);
    /* Two or more colons without brackets: an IPv6 literal, no port. */
    if (colon == NULL || strchr(text, ':') != colon) {
        if ((rc = copy_host(text, strlen(text), host, host_cap)) != TS_OK)
            return rc;
        *port = default_port;
        return TS_OK;
    }
    if ((rc = copy_host(text, (size_t)(colon - text), host, host_cap)) != TS_OK)
        return rc;
    return net_port_parse(colon + 1, port);
}
