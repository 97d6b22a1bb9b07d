/*
 * Envelopes out and their answers back, shared by every scenario that
 * sends: Requests (reqresp, connect --request), Commands and Chat
 * messages (chat, fanout).
 *
 * Everything sent is a real envelope: id = the sending identity's next
 * sequence number (from 1), timestamp = now, signed with --sign. A
 * connection keeps a template of what it sends (a Request, or a Chat
 * message once request_set_chat() was called) and only changes id,
 * timestamp and, for Chat, the payload's time stamp before sealing, so a
 * message costs one hash (and one signature with --sign), one encoding
 * and one channel send.
 *
 * What comes back is decoded; answers (Response, Ack, Error) have their
 * hash checked and their correlation id matched against the messages in
 * flight on that connection. The server's signatures are not verified:
 * that would measure the load generator's CPU rather than the server's.
 */
#ifndef TS_BENCH_REQUEST_H
#define TS_BENCH_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include <tcpseal/envelope.h>

#include "loop.h"

/* Room for an envelope's fixed fields, three 255-byte names, hash and
 * signature around the payload. */
#define REQUEST_ENVELOPE_OVERHEAD 1024u
/* Requests in flight per connection in open-loop mode (--rate). */
#define REQUEST_OPEN_LOOP_WINDOW 1024u
/* The longest Command payload (a JSON object naming a user or a room). */
#define REQUEST_COMMAND_MAX 512u

/* What request_receive() made of a message. */
enum request_outcome {
    REQUEST_OTHER,    /* it answers nothing in flight (see request_receive) */
    REQUEST_ANSWERED, /* a Response or an Ack to a message in flight */
    REQUEST_REFUSED,  /* an Error for a message in flight, counted by reason */
};

/* Per-thread buffers: the payload bytes and the encoding buffer. 0 or -1. */
int request_thread_init(struct bench_thread *th);
void request_thread_free(struct bench_thread *th);

/*
 * Send c's next message (a Request unless request_set_chat() made it a
 * Chat message, whose payload then starts with due_us as a time stamp);
 * due_us is when it was due, from which its latency counts. 0 sent; 1
 * not sent because the connection already has its window of messages in
 * flight (counted as "backlog_full"); -1 the connection was dropped.
 */
int request_send(struct bench_conn *c, uint64_t due_us);

/* From now on c sends Chat messages from user to "#room" (-s bytes of
 * payload, at least CHAT_STAMP_LEN). 0 or an error code. */
int request_set_chat(struct bench_conn *c, const char *user, const char *room);

/*
 * Send a Command whose payload is the JSON object json (len bytes, at
 * most REQUEST_COMMAND_MAX); the payload may hold a password, so its
 * plaintext is wiped from the encoding buffer once sent. 0, 1 or -1 as
 * request_send().
 */
int request_send_command(struct bench_conn *c, const char *json, size_t len, uint64_t now);

/*
 * Handle a message received on c at now. Answers are matched to the
 * messages in flight: REQUEST_ANSWERED or REQUEST_REFUSED. Anything else
 * is REQUEST_OTHER: given other, a well-formed message of another type
 * (Chat, Event, Notice) is handed over in *other, unchecked, for the
 * caller to free; without other it counts as "unexpected". Undecodable
 * messages, bad hashes and unknown correlation ids are counted as errors
 * and are REQUEST_OTHER with *other NULL.
 */
enum request_outcome request_receive(struct bench_conn *c, const uint8_t *data, size_t len,
                                     uint64_t now, ts_envelope **other);

/* Forget the messages in flight on c; those issued inside the measured
 * window are counted as "unanswered". */
void request_abandon(struct bench_conn *c);

#endif /* TS_BENCH_REQUEST_H */
