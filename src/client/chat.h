/*
 * The chat layer: accounts, rooms and messages of docs/protocol.md
 * section 10 on top of a ts_client.
 *
 *   chat_new()            attach to a client (before it connects)
 *   chat_sync()           learn who the client is logged in as (whoami)
 *   chat_go_online()      receive direct messages (and be shown online)
 *   chat_command[_send]() a Command, blocking or not; the layer follows
 *                         what it changes (user, rooms)
 *   chat_say[_wait]()     a Chat message to "#room" or a user, joining the
 *                         room first when needed
 *   chat_keys_fetch(), chat_check()   signatures against whois keys
 *   chat_free()           after ts_client_free()
 *
 * What it adds to the client:
 *
 * - Signatures. A relayed Chat envelope carries its sender's signature:
 *   the layer checks it against the keys `whois` lists for the sender
 *   (whois_cache.h; looked up when unknown, refreshed on a miss) and
 *   hands every message to on_message with a verdict, in the order they
 *   arrived (a message waiting for its sender's keys holds back those
 *   after it). The verdict is kept with the message in the client's
 *   inbox (client_relay.h).
 * - Sessions across reconnects. The server forgets a connection's rooms
 *   when it goes; after a reconnect the layer joins them again (before
 *   any queued Chat message, TS_SEND_FIRST) and asks whoami. Messages of
 *   those rooms that arrived meanwhile come in the join answers' history:
 *   those not delivered before are delivered then.
 * - Commands are volatile (TS_SEND_VOLATILE): they may carry passwords
 *   and are never written to the client's store file. Chat messages are
 *   not: they wait in the outbox (on disk, with a store file) until the
 *   server acknowledges them.
 *
 * Threads: on_message and on_state run on the thread driving the client
 * (ts_client.h). The other functions may be called from any thread but
 * those callbacks, except chat_command_send() and chat_say(), which never
 * wait and may be called from anywhere. Nothing here prints.
 */
#ifndef TS_CLIENT_CHAT_H
#define TS_CLIENT_CHAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <tcpseal/client.h>

#include "client/chat_answer.h"
#include "client/whois_cache.h"

#define CHAT_DEFAULT_ROOM "lobby"
/* Rooms a connection may be in (the server's limit). */
#define CHAT_MAX_ROOMS 16
/* Messages held back while their senders' keys are looked up; beyond
 * this the oldest is delivered unchecked. */
#define CHAT_PENDING_MAX 1000
/* Senders looked up at once. */
#define CHAT_FETCH_MAX 64

struct chat;

/* What a relayed Chat envelope's signature says. */
enum chat_verdict {
    CHAT_UNSIGNED,       /* no signature */
    CHAT_VERIFIED,       /* verifies against a registered key of its sender */
    CHAT_BAD_SIGNATURE,  /* verifies against none of them */
    CHAT_UNCHECKED,      /* the sender's keys could not be had (lookup failed) */
};

/* "verified", "unsigned", ... */
const char *chat_verdict_name(enum chat_verdict v);

/* The verdict for what the key cache says (a final check: a miss is a
 * bad signature). */
enum chat_verdict chat_verdict_of_whois(enum whois_verdict v);

/* The verdict of a message kept with only a flag saying whether its
 * signature verified (the inbox): a signed message that did not verify
 * counts as a bad signature, since the flag cannot tell why. */
enum chat_verdict chat_verdict_of(const ts_envelope *env, bool verified);

struct chat_callbacks {
    void *arg;
    /* Everything the server sends that is not an answer to a message of
     * ours: relayed Chat envelopes with their verdict; Events, Notices and
     * other server messages with CHAT_VERIFIED when signed and verified
     * against the server identity, else CHAT_UNSIGNED. In arrival order. */
    void (*on_message)(struct chat *chat, const ts_envelope *env,
                       enum chat_verdict verdict, void *arg);
    /* The client's state changed (may be NULL). */
    void (*on_state)(struct chat *chat, ts_client_state state, const char *reason,
                     void *arg);
};

/*
 * Attach to c (borrowed; it must not be connected or listening yet):
 * installs the client's message, state and relay callbacks. 0 or
 * TS_ERR_NOMEM.
 */
int chat_new(struct chat **out, ts_client *c, const struct chat_callbacks *cb);

/* Free after ts_client_free() (the client may call into the layer until
 * then). NULL is ignored. */
void chat_free(struct chat *chat);

/* Ask whoami and record the answer (blocking, up to timeout_ms). 0, or
 * the error of the command (TS_ERR_SERVER with *answer the Error; *answer
 * may be NULL). */
int chat_sync(struct chat *chat, uint32_t timeout_ms, ts_envelope **answer);

/*
 * Tell the server this device receives (the `online` command): direct
 * messages reach it, those that waited for the user are delivered now,
 * and it is shown online. Said again after every reconnect. For programs
 * that stay and show what arrives (the agent, listen, chat); a command
 * that runs and leaves must not, or it would take waiting messages away
 * from the devices that show them. Not waiting; 0 or
 * ts_client_send_message()'s errors.
 */
int chat_go_online(struct chat *chat);

/* The logged-in user ("" when anonymous or not known yet) into out
 * (capacity CHAT_NAME_MAX + 1). True when logged in. */
bool chat_user(struct chat *chat, char *out);

/* The rooms joined (in the order joined), each copied into rooms[i]; how
 * many. */
unsigned chat_rooms(struct chat *chat, char rooms[][CHAT_NAME_MAX + 1], unsigned max);

/* True when the layer has joined room (or asked to). */
bool chat_in_room(struct chat *chat, const char *room);

/*
 * A Command: cmd is a JSON object naming the command in "cmd" (reference
 * stolen). Sent volatile; its answer (a Response or an Error, in
 * *answer, caller frees) also updates the layer: login and register set
 * the user, logout clears it and the rooms, join and leave change the
 * rooms, whois answers fill the key cache. Blocking: 0, TS_ERR_SERVER
 * (the Error in *answer), or the client's errors (TS_ERR_TIMEOUT, ...).
 */
int chat_command(struct chat *chat, json_t *cmd, uint32_t timeout_ms,
                 ts_envelope **answer);

/* The same without waiting: cb (may be NULL) hears the answer as
 * ts_client_send() describes. */
int chat_command_send(struct chat *chat, json_t *cmd, ts_send_callback cb, void *arg,
                      uint64_t *id);

/*
 * A Chat message to "#room" or a user name, from the logged-in user,
 * signed when sign; text is any bytes. For a room the layer has not
 * joined, a join goes first. Not waiting: cb (may be NULL) hears the Ack
 * or the Error. 0, TS_ERR_STATE (not logged in), TS_ERR_INVALID (a bad
 * recipient), or ts_client_send_message()'s errors.
 */
int chat_say(struct chat *chat, const char *to, const void *text, size_t len, bool sign,
             ts_send_callback cb, void *arg, uint64_t *id);

/* The same, blocking: joins the room first (waiting for the answer), then
 * waits for the Ack (0) or the Error (TS_ERR_SERVER), in *answer. */
int chat_say_wait(struct chat *chat, const char *to, const void *text, size_t len,
                  bool sign, uint32_t timeout_ms, ts_envelope **answer);

/* Look user up with whois (blocking) into the key cache. 0, TS_ERR_SERVER
 * (no such user: recorded as a user without keys), or the client's
 * errors. */
int chat_keys_fetch(struct chat *chat, const char *user, uint32_t timeout_ms);

/* The verdict on a Chat envelope (from history, say), looking its sender
 * up when needed (blocking, up to timeout_ms). */
enum chat_verdict chat_check(struct chat *chat, const ts_envelope *env, uint32_t timeout_ms);

#endif /* TS_CLIENT_CHAT_H */
