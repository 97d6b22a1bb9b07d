/*
 * Messages the server sends: Responses, Errors and Notices, built,
 * sealed (signed when required) and encoded on the worker that owns the
 * connection.
 */
#ifndef TS_SERVER_REPLY_H
#define TS_SERVER_REPLY_H

#include <stdbool.h>

#include <tcpseal/envelope.h>

struct conn;

/* Response to request with payload. */
int reply_response(struct conn *c, uint64_t request_id, bool request_signed,
                   const void *payload, size_t len, const char *content_type);

/* Error envelope answering message id (0 if unknown) with reason and
 * optional text (default: the reason's text). */
int reply_error(struct conn *c, uint64_t id, uint16_t reason, const char *text);

/* A Notice from the operator. */
int reply_notice(struct conn *c, const void *payload, size_t len);

#endif /* TS_SERVER_REPLY_H */
