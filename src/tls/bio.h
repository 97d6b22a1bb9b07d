/*
 * An OpenSSL BIO that moves TLS records through a tcpseal transport.
 *
 * OpenSSL's own socket BIO writes with write(2), which raises SIGPIPE
 * when the peer has gone; a library may neither die of that nor change
 * the process's signal disposition. Going through the plain TCP transport
 * (send with MSG_NOSIGNAL) avoids it, and keeps that transport's error
 * details: when a record cannot be moved, the BIO remembers the
 * transport's code and detail so the TLS layer can report "connection
 * reset" rather than OpenSSL's generic "unexpected EOF".
 */
#ifndef TS_TLS_BIO_H
#define TS_TLS_BIO_H

#include <stddef.h>

#include <openssl/bio.h>

#include "net/transport.h"

/*
 * A BIO over inner (borrowed: it must outlive the BIO) in *out. Reads and
 * writes that make no progress set the BIO's retry flags as OpenSSL
 * expects of a non-blocking source. 0, TS_ERR_NOMEM or TS_ERR_TLS.
 */
int tls_bio_new(struct transport *inner, BIO **out);

/*
 * The transport error behind the BIO's last failed read or write, or 0
 * when there was none; the transport's detail is copied into detail
 * (capacity cap) when it is not NULL. A clean end of stream is
 * TS_ERR_CLOSED.
 */
int tls_bio_error(BIO *bio, char *detail, size_t cap);

/* Forget the last failure: called before each TLS operation so that an
 * old failure never explains a new one. */
void tls_bio_clear_error(BIO *bio);

#endif /* TS_TLS_BIO_H */
