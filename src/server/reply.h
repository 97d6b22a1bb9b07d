/*
 * Messages the server sends: answers to requests (Responses and Errors),
 * refusals and Notices, built, sealed (signed when required) and encoded
 * on the worker that owns the connection.
 */
#ifndef TS_SERVER_REPLY_H
#define TS_SERVER_REPLY_H

#include <stdbool.h>

#include <tcpseal/envelope.h>
#include <tcpseal/server.h>

#include "server/senders.h"

struct conn;

/* Send an answer to message id (0 if unknown): a Response or an Error as
 * described by answer. */
int reply_answer(struct conn *c, uint64_t id, const struct sender_result *answer);

/* Describe a Response (payload borrowed, not copied). */
void reply_describe_response(ts_server *srv, bool request_signed, const void *payload,
                             size_t len, const char *content_type,
                             struct sender_result *out);

/* Describe an Error with reason and optional text (default: the reason's
 * text). The payload is allocated: sender_result_clear() it. */
int reply_describe_error(ts_server *srv, uint16_t reason, const char *text,
                         struct sender_result *out);

/* Refuse message id (0 if unknown) with an Error envelope. */
int reply_error(struct conn *c, uint64_t id, uint16_t reason, const char *text);

/* An Event whose JSON body is given. */
int reply_event(struct conn *c, const void *json, size_t len);

/* A Notice from the operator. */
int reply_notice(struct conn *c, const void *payload, size_t len);

#endif /* TS_SERVER_REPLY_H */
