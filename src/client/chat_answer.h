/*
 * Reading what the server answers to chat Commands and Chat messages
 * (docs/protocol.md section 10): Response objects, Acks, history items
 * and Events. Server text is data: nothing here prints, and callers
 * replace control characters before showing any of it.
 */
#ifndef TS_CLIENT_CHAT_ANSWER_H
#define TS_CLIENT_CHAT_ANSWER_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <tcpseal/envelope.h>

/* "2026-11-21T10:00:00.123Z" and its NUL. */
#define CHAT_TIME_MAX 32
/* Longest user or room name, and a room name with its '#'. */
#define CHAT_NAME_MAX 32

/* The JSON object a Response carries with "ok": true (a new reference),
 * or NULL when env is no such Response. */
json_t *chat_answer_object(const ts_envelope *env);

/* An Ack: {"id":N,"time":"..."}: the stored id (positive) and time
 * (visible ASCII only, so it can be printed as it is). 0, or
 * TS_ERR_MALFORMED. */
int chat_ack_parse(const ts_envelope *env, int64_t *id, char time[CHAT_TIME_MAX]);

/* One history item (section 10.1): {"id","time","sender","envelope"};
 * id and time are checked as for an Ack. */
struct chat_item {
    int64_t id;
    char time[CHAT_TIME_MAX];
    char sender[CHAT_NAME_MAX + 1];
    ts_envelope *env;        /* owned; decoded from base64 */
};

/* Decode an item; the envelope's hash is checked (TS_ERR_BAD_HASH) so a
 * damaged item is never shown as a message. 0, TS_ERR_MALFORMED,
 * TS_ERR_BAD_HASH or TS_ERR_NOMEM. */
int chat_item_decode(json_t *item, struct chat_item *out);
void chat_item_clear(struct chat_item *it);

/* The JSON object of an Event envelope (a new reference) or NULL. */
json_t *chat_event_object(const ts_envelope *env);

/* The room a Chat envelope was sent to ("lobby" for "#lobby"), or NULL
 * for a direct message. */
const char *chat_room_of(const ts_envelope *env);

#endif /* TS_CLIENT_CHAT_ANSWER_H */
