/*
 * tcpseal error codes.
 *
 * Every library function that can fail returns 0 (TS_OK) on success or one
 * of the negative codes below; results come back through out-parameters.
 * A failing function may also record a one-line detail for the calling
 * thread (which file, which field, what to do about it), readable with
 * ts_error_detail() until the next failure on the same thread.
 */
#ifndef TCPSEAL_ERROR_H
#define TCPSEAL_ERROR_H

#include <tcpseal/common.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ts_err {
    TS_OK = 0,
    TS_ERR_NOMEM = -1,           /* memory allocation failed */
    TS_ERR_INVALID = -2,         /* invalid argument, or call in the wrong state */
    TS_ERR_TRUNCATED = -3,       /* input ended inside a field */
    TS_ERR_TOO_LARGE = -4,       /* a length exceeds its limit */
    TS_ERR_MALFORMED = -5,       /* input does not follow its format */
    TS_ERR_VERSION = -6,         /* unsupported format or protocol version */
    TS_ERR_UNSUPPORTED = -7,     /* unsupported algorithm, suite or pattern */
    TS_ERR_CRYPTO = -8,          /* a primitive failed (e.g. low-order DH key) */
    TS_ERR_DECRYPT = -9,         /* ciphertext failed authentication */
    TS_ERR_NONCE_EXHAUSTED = -10,/* a cipher key has used every nonce */
    TS_ERR_HANDSHAKE = -11,      /* handshake message out of order or invalid */
    TS_ERR_IDENTITY = -12,       /* the peer's identity binding did not verify */
    TS_ERR_BAD_HASH = -13,       /* envelope hash does not match its fields */
    TS_ERR_BAD_SIGNATURE = -14,  /* envelope signature does not verify */
    TS_ERR_STALE = -15,          /* timestamp outside the accepted window */
    TS_ERR_DUPLICATE = -16,      /* sequence number already seen */
    TS_ERR_IO = -17,             /* operating-system I/O failure */
    TS_ERR_PERMISSIONS = -18,    /* a private file is readable by others */
    TS_ERR_PASSPHRASE = -19,     /* passphrase missing or wrong */
    TS_ERR_REJECTED = -20,       /* the peer refused the connection */
    TS_ERR_CLOSED = -21,         /* the channel is closed */
    TS_ERR_KEY_MISMATCH = -22,   /* the peer's key differs from the pinned one */
    TS_ERR_TIMEOUT = -23,        /* a deadline passed */
    TS_ERR_NOT_FOUND = -24,      /* no such object */
    TS_ERR_EXISTS = -25,         /* object already exists */
    TS_ERR_PROTOCOL = -26,       /* the peer violated the protocol */
    TS_ERR_CONNECT = -27,        /* could not connect */
    TS_ERR_STATE = -28,          /* operation not valid in the current state */
    TS_ERR_DENIED = -29,         /* not allowed by policy */
    TS_ERR_LIMIT = -30,          /* a configured limit was reached */
    TS_ERR_CONFIG = -31,         /* invalid configuration */
    TS_ERR_SERVER = -32,         /* the server answered with an error */
    TS_ERR_TLS = -33,            /* TLS layer failure */
} ts_err;

/* Short, fixed description of an error code ("ciphertext failed
 * authentication"). Never NULL; unknown codes give "unknown error". */
TS_API const char *ts_strerror(int err);

/* The detail recorded by the last failing call on this thread, or the
 * ts_strerror() text of err when no detail was recorded for it. The
 * returned string belongs to the library and is valid until the next
 * library call on this thread. */
TS_API const char *ts_error_detail(int err);

#ifdef __cplusplus
}
#endif

#endif /* TCPSEAL_ERROR_H */
