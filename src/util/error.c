#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The detail belongs to one code so that a stale detail from an earlier
 * failure is never shown next to an unrelated error. */
static _Thread_local char detail_text[ERROR_DETAIL_MAX];
static _Thread_local int detail_code;

static const char *const messages[] = {
    [0] = "success",
    [-TS_ERR_NOMEM] = "out of memory",
    [-TS_ERR_INVALID] = "invalid argument",
    [-TS_ERR_TRUNCATED] = "input truncated",
    [-TS_ERR_TOO_LARGE] = "length over the limit",
    [-TS_ERR_MALFORMED] = "malformed input",
    [-TS_ERR_VERSION] = "unsupported version",
    [-TS_ERR_UNSUPPORTED] = "unsupported algorithm or suite",
    [-TS_ERR_CRYPTO] = "cryptographic operation failed",
    [-TS_ERR_DECRYPT] = "ciphertext failed authentication",
    [-TS_ERR_NONCE_EXHAUSTED] = "cipher nonces exhausted",
    [-TS_ERR_HANDSHAKE] = "handshake failed",
    [-TS_ERR_IDENTITY] = "peer identity did not verify",
    [-TS_ERR_BAD_HASH] = "message hash does not match",
    [-TS_ERR_BAD_SIGNATURE] = "message signature does not verify",
    [-TS_ERR_STALE] = "timestamp outside the accepted window",
    [-TS_ERR_DUPLICATE] = "duplicate sequence number",
    [-TS_ERR_IO] = "I/O error",
    [-TS_ERR_PERMISSIONS] = "private file is accessible by others",
    [-TS_ERR_PASSPHRASE] = "passphrase missing or wrong",
    [-TS_ERR_REJECTED] = "connection rejected by peer",
    [-TS_ERR_CLOSED] = "connection closed",
    [-TS_ERR_KEY_MISMATCH] = "server key does not match the pinned key",
    [-TS_ERR_TIMEOUT] = "timed out",
    [-TS_ERR_NOT_FOUND] = "not found",
    [-TS_ERR_EXISTS] = "already exists",
    [-TS_ERR_PROTOCOL] = "protocol violation",
    [-TS_ERR_CONNECT] = "cannot connect",
    [-TS_ERR_STATE] = "not allowed in the current state",
    [-TS_ERR_DENIED] = "not allowed",
    [-TS_ERR_LIMIT] = "limit reached",
    [-TS_ERR_CONFIG] = "invalid configuration",
    [-TS_ERR_SERVER] = "server returned an error",
    [-TS_ERR_TLS] = "TLS failure",
};

const char *ts_strerror(int err)
{
    size_t idx = err <= 0 ? (size_t)-(long)err : sizeof(messages);
    if (idx >= sizeof(messages) / sizeof(messages[0]) || messages[idx] == NULL)
        return "unknown error";
    return messages[idx];
}

const char *ts_error_detail(int err)
{
    if (err != 0 && err == detail_code && detail_text[0] != '\0')
        return detail_text;
    return ts_strerror(err);
}

int error_set(int code, const char *fmt, ...)
{
    char text[sizeof(detail_text)];
    va_list ap;

    /* Formatted aside first: the arguments may be the current detail
     * itself (error_set(rc, "...: %s", ts_error_detail(rc))). */
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    memcpy(detail_text, text, sizeof(text));
    detail_code = code;
    return code;
}

void error_clear(void)
{
    detail_text[0] = '\0';
    detail_code = 0;
}
