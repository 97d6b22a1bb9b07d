/*
 * The payload of an Error envelope (docs/protocol.md section 6.4):
 *
 *     {"code":101,"reason":"bad_hash","message":"message hash does not match"}
 *
 * parsed into fields a program can test and a person can read. Server text
 * is untrusted: control characters are replaced before anyone prints it.
 */
#ifndef TS_CLIENT_SERVER_ERROR_H
#define TS_CLIENT_SERVER_ERROR_H

#include <stddef.h>
#include <stdint.h>

#define SERVER_ERROR_REASON_MAX 64
#define SERVER_ERROR_MESSAGE_MAX 256

struct server_error {
    uint16_t code;                          /* a ts_reason; 0 when absent */
    char reason[SERVER_ERROR_REASON_MAX];   /* stable name; "" when absent */
    char message[SERVER_ERROR_MESSAGE_MAX]; /* for people; cut to fit */
};

/*
 * Parse an Error payload of len bytes. A missing reason is named from the
 * code (ts_reason_name), a missing message worded from it
 * (ts_reason_text). 0, or TS_ERR_MALFORMED when the payload is not such
 * an object (out->message then holds the payload as text, so it can still
 * be shown, and code and reason are empty).
 */
int server_error_parse(const uint8_t *payload, size_t len, struct server_error *out);

/* "MESSAGE (REASON)", or "MESSAGE" without a reason, into out (capacity
 * cap; cut to fit). */
void server_error_describe(const struct server_error *e, char *out, size_t cap);

#endif /* TS_CLIENT_SERVER_ERROR_H */
