/*
 * Private layout of the chat layer, shared by chat.c (life cycle, state,
 * commands and messages out) and chat_pipe.c (what comes in: verdicts,
 * key lookups, the order of delivery, rejoining after a reconnect).
 *
 * Locking: `lock` guards the fields marked [L], which any thread may
 * read. Fields marked [D] belong to the thread driving the client (the
 * callbacks run there) and are touched only by it. The layer never holds
 * its lock while calling the client or a callback.
 */
#ifndef TS_CLIENT_CHAT_INTERNAL_H
#define TS_CLIENT_CHAT_INTERNAL_H

#include <pthread.h>

#include "client/chat.h"
#include "client/hash_window.h"
#include "client/whois_cache.h"

struct chat_room {
    char name[CHAT_NAME_MAX + 1];
    bool confirmed;            /* the server answered the join */
};

/* A message held back until the messages before it are delivered. */
struct chat_pending {
    struct chat_pending *next;
    ts_envelope *env;          /* owned copy */
    bool relayed;              /* a Chat to judge; else a server message */
    bool resolved;
    enum chat_verdict verdict;
};

struct chat {
    ts_client *client;
    struct chat_callbacks cb;
    pthread_mutex_t lock;

    char user[CHAT_NAME_MAX + 1];          /* [L] "" when anonymous */
    bool online;                           /* [L] receiving: chat_go_online() */
    struct chat_room rooms[CHAT_MAX_ROOMS];/* [L] */
    unsigned n_rooms;                      /* [L] */
    struct whois_cache keys;               /* [L] */
    struct hash_window seen;               /* [L] Chat envelopes delivered or shown */

    struct chat_pending *head, *tail;      /* [D] */
    size_t n_pending;                      /* [D] */
    char fetching[CHAT_FETCH_MAX][CHAT_NAME_MAX + 1]; /* [D] whois in flight */
    unsigned n_fetching;                   /* [D] */
    bool connected_before;                 /* [D] */
};

/* What a command does to the layer's state when answered. */
enum chat_cmd_kind {
    CHAT_CMD_OTHER,
    CHAT_CMD_LOGIN,      /* login, register: the user */
    CHAT_CMD_LOGOUT,
    CHAT_CMD_WHOAMI,
    CHAT_CMD_JOIN,
    CHAT_CMD_REJOIN,     /* a join after a reconnect: deliver missed history */
    CHAT_CMD_LEAVE,
    CHAT_CMD_WHOIS,
    CHAT_CMD_FETCH,      /* a whois for held-back messages */
};

/* A command in flight, for the bookkeeping and the caller's callback. */
struct chat_cmd {
    struct chat *chat;
    enum chat_cmd_kind kind;
    char arg[CHAT_NAME_MAX + 1];  /* the room or user it names */
    ts_send_callback cb;
    void *cb_arg;
};

/* Send cmd (consumed) with flags (TS_SEND_VOLATILE is added) for the
 * layer's own purposes (kind, arg); cb may be NULL. */
int chat_send_internal(struct chat *chat, json_t *cmd, enum chat_cmd_kind kind,
                       const char *arg, unsigned flags, ts_send_callback cb, void *cb_arg,
                       uint64_t *id);

/* Send `online` again when chat_go_online() asked for it and the user is
 * known (after a reconnect, a login). */
int chat_resend_online(struct chat *chat, unsigned flags);

/* Apply an answer's effects (any thread; takes the lock). */
void chat_track(struct chat *chat, enum chat_cmd_kind kind, const char *arg, int status,
                const ts_envelope *answer);

/* Client callbacks installed by chat_new() (chat_pipe.c), [D]. */
void chat_on_relay(ts_client *c, const ts_envelope *env, void *arg);
void chat_on_message(ts_client *c, const ts_envelope *env, bool verified, void *arg);
void chat_on_state(ts_client *c, ts_client_state state, const char *reason, void *arg);

/* A command of kind REJOIN or FETCH was answered [D]. */
void chat_rejoined(struct chat *chat, const ts_envelope *answer);
void chat_fetched(struct chat *chat, const char *user);

/* Deliver whatever is still held back, unchecked (the layer goes away). */
void chat_pending_flush(struct chat *chat);

#endif /* TS_CLIENT_CHAT_INTERNAL_H */
