/*
 * OpenSSL's error queue turned into text for error details.
 *
 * OpenSSL reports why a call failed on a per-thread queue rather than in
 * its return value. Every tcpseal function that sees an OpenSSL call fail
 * drains the queue into its error_set() detail, so the reason is not lost
 * and a stale entry never explains a later, unrelated failure.
 */
#ifndef TS_TLS_OSSL_ERROR_H
#define TS_TLS_OSSL_ERROR_H

#include <stddef.h>

/* Room for one reason with its data ("No such file or directory (calling
 * fopen(ca.pem, r))"); longer text is truncated. */
#define TLS_OSSL_REASON_MAX 160

/*
 * Write the root cause of the current failure into buf (capacity cap):
 * the oldest entry on this thread's queue, which names what went wrong
 * first (a missing file, a malformed PEM block) where later entries only
 * say which layer gave up. Clears the queue. Returns buf; with an empty
 * queue it holds "unknown OpenSSL error".
 */
const char *tls_ossl_reason(char *buf, size_t cap);

/*
 * error_set(code, "PREFIX: REASON") with REASON from tls_ossl_reason():
 * the usual way to report a failed OpenSSL call. Returns code.
 */
int tls_ossl_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* TS_TLS_OSSL_ERROR_H */
