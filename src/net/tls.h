/*
 * TLS client transport (see transport.h for the operations): TLS 1.3 by
 * default, 1.2 when allowed, over an already connected TCP transport,
 * with OpenSSL.
 *
 *   tls_client_ctx_new()      CA, client certificate, pin, versions: once
 *   tls_transport_start()     wrap a connected TCP transport, send the
 *                             ClientHello (non-blocking)
 *   tls_transport_handshake() finish the handshake within a deadline
 *   tls_connect()             all three for host:port
 *
 * The server is checked three ways, all of which must pass: its chain
 * against the configured CA (or the system's trusted CAs), its name
 * against the configured server name (SNI is sent for DNS names; an IP
 * address is checked against IP subjectAltNames), and, when configured,
 * its key against an SPKI pin (tls/pin.h). The pin is checked during the
 * handshake, so a client certificate is never shown to a server that
 * fails it.
 *
 * Failures are TS_ERR_TLS with a detail that says which check failed and
 * what to do, such as
 *   "TLS: the server certificate for localhost is signed by an unknown CA
 *    ('tcpseal test CA 8c1f02aa'; verify with --ca FILE)"
 *   "TLS: the server certificate is not valid for example.org (hostname
 *    mismatch: it names DNS:localhost, IP:127.0.0.1; set --servername)"
 *   "TLS: the server certificate for localhost expired on 2025-01-01 10:00
 *    UTC (certificate expired)"
 *   "TLS: the server key for localhost does not match the pin (pin
 *    mismatch: it is sha256//...)"
 *   "TLS: 127.0.0.1:8443 requires a client certificate (give --cert FILE
 *    --key FILE)"
 *   "TLS: 127.0.0.1:8443 does not offer TLS 1.3 or later (protocol
 *    version; allow TLS 1.2 with --tls-min-version 1.2)"
 * With TLS 1.3 a server that refuses the client's certificate says so
 * after the client has finished its handshake, so that failure shows on
 * the first read rather than in tls_transport_handshake().
 *
 * Non-blocking use beyond transport.h: the handshake also advances from
 * read and write, so an owner may start sending right after
 * tls_transport_start(); data is queued by the owner until the handshake
 * is done (write takes nothing before). Because a TLS record that was
 * only partly written must be completed from the same bytes, after a
 * write that took nothing the next write must begin with the same bytes
 * (they may have moved and more may follow). A read can wait for the
 * socket to become writable (TLS 1.3 KeyUpdate answers): when
 * transport_events() asks for POLLOUT while the owner has nothing to
 * write, the owner must call read when POLLOUT fires.
 *
 * A transport is used by one thread at a time; a context may be shared by
 * threads and freed while transports made from it live on.
 */
#ifndef TS_NET_TLS_H
#define TS_NET_TLS_H

#include <stdbool.h>
#include <stdint.h>

#include "net/transport.h"
#include "tls/pin.h"

/* Protocol versions as the wire and OpenSSL number them. */
#define TLS_VERSION_1_2 0x0303
#define TLS_VERSION_1_3 0x0304

/* Longest server name checked (a DNS name; an IP literal is shorter). */
#define TLS_SERVER_NAME_MAX 253

struct tls_client_config {
    /* PEM file of trusted CA certificates, or a directory of them named
     * by hash (`openssl rehash`); NULL = the system's default paths. */
    const char *ca;
    /* Client certificate chain (PEM, leaf first) and its unencrypted key,
     * for servers that ask for one (mutual TLS); both or neither. */
    const char *cert_file;
    const char *key_file;
    /* The name to send as SNI and to check the certificate against; NULL
     * = the host given to tls_transport_start(). */
    const char *server_name;
    /* "sha256//BASE64" of the server's public key, checked in addition to
     * the chain; NULL = none. */
    const char *pin;
    /* Oldest version accepted: TLS_VERSION_1_2 or TLS_VERSION_1_3; 0 =
     * TLS 1.3. */
    int min_version;
    /* TLS 1.3 suites and TLS 1.2 ciphers in OpenSSL syntax; NULL = the
     * TLS 1.3 AEAD suites and ECDHE with AES-GCM or ChaCha20-Poly1305. */
    const char *ciphersuites;
    const char *cipher_list;
};

typedef struct tls_client_ctx tls_client_ctx;

/*
 * Build a context from cfg: loads the CA, certificate and key now, so a
 * bad file is reported before any connection. cfg and its strings are
 * copied or loaded; they need not outlive the call. *out is the caller's
 * (tls_client_ctx_free()). Errors:
 *   TS_ERR_INVALID  malformed pin, unknown version, certificate without
 *                   key or key without certificate, server_name too long;
 *   TS_ERR_TLS      a file could not be loaded, the key does not match
 *                   the certificate, no usable cipher (the detail names
 *                   the file and OpenSSL's reason);
 *   TS_ERR_NOMEM.
 */
int tls_client_ctx_new(tls_client_ctx **out, const struct tls_client_config *cfg);

/* Free a context; transports made from it keep working. NULL is ignored. */
void tls_client_ctx_free(tls_client_ctx *ctx);

/*
 * Start TLS on tcp, a connected transport taken over in every case (it
 * is closed on failure; on success the TLS transport owns it and closes
 * it with itself). host is the name or address tcp was connected to: the
 * server name to check unless the context sets one (an IPv6 literal may
 * be given in brackets). Sends the ClientHello as far as the socket
 * takes it; the handshake then proceeds in tls_transport_handshake(),
 * read or write. *out is the caller's (transport_close()). 0,
 * TS_ERR_INVALID (no usable host name), TS_ERR_TLS or TS_ERR_NOMEM; a
 * failure while sending the ClientHello is reported by the next call.
 */
int tls_transport_start(const tls_client_ctx *ctx, struct transport *tcp, const char *host,
                        struct transport **out);

/*
 * Drive the handshake of a TLS transport to its end, waiting with poll()
 * until deadline_ms (monotonic clock of util/clock.h; 0 = no deadline).
 * 0 once it completed and every check passed (again 0 when called
 * after). Errors: TS_ERR_TLS (the specific failures above), TS_ERR_CLOSED
 * (the server hung up without a TLS alert), TS_ERR_TIMEOUT, TS_ERR_IO,
 * TS_ERR_INVALID (t is not a TLS transport). Failures are sticky: every
 * later read and write returns the same code and detail.
 */
int tls_transport_handshake(struct transport *t, uint64_t deadline_ms);

/*
 * Connect to host:port (tcp_connect()), start TLS and finish the
 * handshake, all before deadline_ms. *out is the caller's. Errors: those
 * of tcp_connect() (with *os_error, which may be NULL) and of
 * tls_transport_handshake().
 */
int tls_connect(const tls_client_ctx *ctx, const char *host, uint16_t port,
                uint64_t deadline_ms, struct transport **out, int *os_error);

/* True when t is a TLS transport. */
bool tls_transport_is(const struct transport *t);

/* True when t is a TLS transport whose handshake completed. */
bool tls_transport_established(const struct transport *t);

/* The negotiated protocol ("TLSv1.3") and cipher suite
 * ("TLS_AES_256_GCM_SHA384") of an established TLS transport, or NULL.
 * Valid until the transport is closed. */
const char *tls_transport_version(const struct transport *t);
const char *tls_transport_cipher(const struct transport *t);

/*
 * The SPKI pin of the server's certificate, known once the server sent it
 * (also after a failed check, so a tool can show what the server has):
 * 0 and out filled, TS_ERR_NOT_FOUND before that, TS_ERR_INVALID when t
 * is not a TLS transport.
 */
int tls_transport_peer_pin(const struct transport *t, char out[TLS_PIN_MAX]);

/* "1.2" or "1.3" to TLS_VERSION_1_2 / TLS_VERSION_1_3. 0 or
 * TS_ERR_INVALID. */
int tls_version_parse(const char *text, int *version);

/* "1.2" / "1.3" for a version number, "?" for another. */
const char *tls_version_name(int version);

#endif /* TS_NET_TLS_H */
