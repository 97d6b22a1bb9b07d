/*
 * Transports: the byte stream under a channel.
 *
 * A transport is a connected, non-blocking stream behind a small table of
 * operations (in the manner of Redis's connection types), so the code that
 * drives a channel does not know whether it talks plain TCP or TLS over
 * TCP. Every operation returns 0 or a negative ts_err code with an
 * error_set() detail; nothing here prints or touches process-wide state
 * (SIGPIPE is avoided per call, not by changing the signal disposition).
 *
 * Non-blocking contract: read and write never wait. When they can make no
 * progress they return 0 with *n == 0, and transport_events() then says
 * which poll() events the owner must wait for before calling again. That
 * is where a TLS transport differs from TCP: a TLS read may need the socket
 * to become writable (and a write readable), and a TLS transport may hold
 * decrypted bytes that poll() cannot see (transport_pending()).
 *
 * Ownership: the transport owns its socket; transport_close() releases
 * both. A transport is used by one thread at a time.
 */
#ifndef TS_NET_TRANSPORT_H
#define TS_NET_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "net/address.h"

struct transport;

struct transport_ops {
    /* Short name for messages and logs: "tcp", "tls". */
    const char *name;
    /* Read up to cap bytes into buf. 0 with *n > 0: bytes read; 0 with
     * *n == 0: nothing now (wait for transport_events()); TS_ERR_CLOSED:
     * the peer closed its direction cleanly; TS_ERR_IO: a socket error
     * (detail names the peer and the reason). */
    int (*read)(struct transport *t, void *buf, size_t cap, size_t *n);
    /* Write up to len bytes from buf. 0 with *n > 0: bytes taken; 0 with
     * *n == 0: no room now; TS_ERR_CLOSED: the peer is gone (EPIPE,
     * reset); TS_ERR_IO: another socket error. */
    int (*write)(struct transport *t, const void *buf, size_t len, size_t *n);
    /* End our sending direction (TCP FIN, TLS close_notify) once all
     * written bytes are out. 0 or TS_ERR_IO. */
    int (*shutdown_write)(struct transport *t);
    /* The poll() events to wait for before the next read or write.
     * want_write: the owner has output queued. */
    short (*events)(const struct transport *t, bool want_write);
    /* True when read() can return bytes without the socket becoming
     * readable (data buffered inside the transport). */
    bool (*pending)(const struct transport *t);
    /* The underlying socket, for poll(); valid until close. */
    int (*fd)(const struct transport *t);
    /* Close the socket and free the transport. */
    void (*close)(struct transport *t);
};

/* Every transport starts with this header; implementations extend it. */
struct transport {
    const struct transport_ops *ops;
    /* The peer as net_hostport_format() writes it, for error details. */
    char peer[NET_HOSTPORT_MAX];
};

static inline int transport_read(struct transport *t, void *buf, size_t cap, size_t *n)
{
    return t->ops->read(t, buf, cap, n);
}

static inline int transport_write(struct transport *t, const void *buf, size_t len,
                                  size_t *n)
{
    return t->ops->write(t, buf, len, n);
}

static inline int transport_shutdown_write(struct transport *t)
{
    return t->ops->shutdown_write(t);
}

static inline short transport_events(const struct transport *t, bool want_write)
{
    return t->ops->events(t, want_write);
}

static inline bool transport_pending(const struct transport *t)
{
    return t->ops->pending(t);
}

static inline int transport_fd(const struct transport *t)
{
    return t->ops->fd(t);
}

/* Close and free; NULL is ignored. */
static inline void transport_close(struct transport *t)
{
    if (t != NULL)
        t->ops->close(t);
}

#endif /* TS_NET_TRANSPORT_H */
