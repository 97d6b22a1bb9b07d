#include <tcpseal/protocol.h>

#include <stddef.h>

struct reason_entry {
    int code;
    const char *name;
    const char *text;
};

static const struct reason_entry reasons[] = {
    {TS_REASON_NONE, "none", "no reason given"},
    {TS_REASON_SERVER_FULL, "server_full", "server full"},
    {TS_REASON_UNSUPPORTED_VERSION, "unsupported_version", "unsupported protocol version"},
    {TS_REASON_UNSUPPORTED_SUITE, "unsupported_suite", "no offered cipher suite is supported"},
    {TS_REASON_RATE_LIMITED, "rate_limited", "too many connection attempts; try again later"},
    {TS_REASON_SHUTTING_DOWN, "shutting_down", "server is shutting down"},
    {TS_REASON_TOO_MANY_FROM_ADDRESS, "too_many_from_address", "too many connections from this address"},
    {TS_REASON_BAD_HELLO, "bad_hello", "malformed hello"},
    {TS_REASON_NORMAL, "normal", "closed"},
    {TS_REASON_PROTOCOL_ERROR, "protocol_error", "protocol error"},
    {TS_REASON_DECRYPT_FAILED, "decrypt_failed", "a frame failed authentication"},
    {TS_REASON_HANDSHAKE_TIMEOUT, "handshake_timeout", "handshake not completed in time"},
    {TS_REASON_IDLE_TIMEOUT, "idle_timeout", "idle for too long"},
    {TS_REASON_KICKED, "kicked", "disconnected by the operator"},
    {TS_REASON_SLOW_CONSUMER, "slow_consumer", "not reading fast enough; output queue full"},
    {TS_REASON_SERVER_SHUTDOWN, "server_shutdown", "server shutting down"},
    {TS_REASON_IDENTITY_REJECTED, "identity_rejected", "identity rejected"},
    {TS_REASON_AUTH_TIMEOUT, "auth_timeout", "not authenticated in time"},
    {TS_REASON_NONCE_EXHAUSTED, "nonce_exhausted", "cipher nonces exhausted"},
    {TS_REASON_INTERNAL_ERROR, "internal_error", "internal error"},
    {TS_REASON_CLIENT_EXIT, "client_exit", "client exiting"},
    {TS_REASON_BAD_ENVELOPE, "bad_envelope", "malformed message"},
    {TS_REASON_BAD_HASH, "bad_hash", "message hash does not match"},
    {TS_REASON_BAD_SIGNATURE, "bad_signature", "message signature does not verify"},
    {TS_REASON_STALE_TIMESTAMP, "stale_timestamp", "message timestamp outside the accepted window"},
    {TS_REASON_TOO_LARGE, "too_large", "message too large"},
    {TS_REASON_MESSAGE_RATE, "message_rate", "rate limit exceeded"},
    {TS_REASON_NOT_ALLOWED, "not_allowed", "not allowed"},
    {TS_REASON_DUPLICATE, "duplicate", "duplicate message"},
    {TS_REASON_UNSUPPORTED_TYPE, "unsupported_type", "message type not accepted here"},
    {TS_REASON_SERVER_ERROR, "server_error", "server error"},
    {TS_REASON_BAD_SENDER, "bad_sender", "sender does not match the authenticated identity"},
    {TS_REASON_NOT_FOUND, "not_found", "not found"},
    {TS_REASON_INVALID_ARGUMENT, "invalid_argument", "invalid argument"},
    {TS_REASON_AUTH_FAILED, "auth_failed", "authentication failed"},
    {TS_REASON_ACCOUNT_LOCKED, "account_locked", "account locked"},
    {TS_REASON_ALREADY_EXISTS, "already_exists", "already exists"},
    {TS_REASON_LOGIN_REQUIRED, "login_required", "login required"},
    {TS_REASON_TRY_LATER, "try_later", "too many attempts; try again later"},
};

static const struct reason_entry *reason_find(int code)
{
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
        if (reasons[i].code == code)
            return &reasons[i];
    }
    return NULL;
}

const char *ts_reason_text(int reason)
{
    const struct reason_entry *e = reason_find(reason);
    return e != NULL ? e->text : "unknown reason";
}

const char *ts_reason_name(int reason)
{
    const struct reason_entry *e = reason_find(reason);
    return e != NULL ? e->name : "unknown";
}
