/*
 * The chat layer: life cycle, what it knows of the session (user and
 * rooms, from the answers it sees), Commands and Chat messages out
 * (chat.h, chat_internal.h).
 */
#include "client/chat_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <tcpseal/error.h>
#include <tcpseal/protocol.h>

#include "client/client_relay.h"
#include "client/server_error.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"

static const char *const verdict_names[] = {
    [CHAT_UNSIGNED] = "unsigned",
    [CHAT_VERIFIED] = "verified",
    [CHAT_BAD_SIGNATURE] = "bad_signature",
    [CHAT_UNCHECKED] = "unchecked",
};

const char *chat_verdict_name(enum chat_verdict v)
{
    return (unsigned)v < sizeof(verdict_names) / sizeof(verdict_names[0]) ? verdict_names[v]
                                                                          : "unknown";
}

enum chat_verdict chat_verdict_of(const ts_envelope *env, bool verified)
{
    if (!ts_envelope_is_signed(env))
        return CHAT_UNSIGNED;
    return verified ? CHAT_VERIFIED : CHAT_BAD_SIGNATURE;
}

enum chat_verdict chat_verdict_of_whois(enum whois_verdict v)
{
    switch (v) {
    case WHOIS_UNSIGNED:
        return CHAT_UNSIGNED;
    case WHOIS_VERIFIED:
        return CHAT_VERIFIED;
    default:
        return CHAT_BAD_SIGNATURE;
    }
}

int chat_new(struct chat **out, ts_client *c, const struct chat_callbacks *cb)
{
    struct chat *chat = calloc(1, sizeof(*chat));

    *out = NULL;
    if (chat == NULL)
        return error_set(TS_ERR_NOMEM, "out of memory");
    if (pthread_mutex_init(&chat->lock, NULL) != 0) {
        free(chat);
        return error_set(TS_ERR_NOMEM, "cannot create a mutex");
    }
    if (whois_cache_init(&chat->keys, 0) != TS_OK) {
        pthread_mutex_destroy(&chat->lock);
        free(chat);
        return TS_ERR_NOMEM;
    }
    chat->client = c;
    if (cb != NULL)
        chat->cb = *cb;
    hash_window_init(&chat->seen);
    ts_client_set_message_callback(c, chat_on_message, chat);
    ts_client_set_state_callback(c, chat_on_state, chat);
    client_set_relay_hook(c, chat_on_relay, chat);
    *out = chat;
    return TS_OK;
}

void chat_free(struct chat *chat)
{
    if (chat == NULL)
        return;
    chat_pending_flush(chat);
    whois_cache_free(&chat->keys);
    pthread_mutex_destroy(&chat->lock);
    free(chat);
}

bool chat_user(struct chat *chat, char *out)
{
    bool in;

    pthread_mutex_lock(&chat->lock);
    memcpy(out, chat->user, sizeof(chat->user));
    in = chat->user[0] != '\0';
    pthread_mutex_unlock(&chat->lock);
    return in;
}

unsigned chat_rooms(struct chat *chat, char rooms[][CHAT_NAME_MAX + 1], unsigned max)
{
    unsigned n = 0;

    pthread_mutex_lock(&chat->lock);
    for (; n < chat->n_rooms && n < max; n++)
        memcpy(rooms[n], chat->rooms[n].name, sizeof(rooms[n]));
    pthread_mutex_unlock(&chat->lock);
    return n;
}

/* [L held] */
static int room_index(const struct chat *chat, const char *room)
{
    for (unsigned i = 0; i < chat->n_rooms; i++) {
        if (strcmp(chat->rooms[i].name, room) == 0)
            return (int)i;
    }
    return -1;
}

bool chat_in_room(struct chat *chat, const char *room)
{
    bool in;

    pthread_mutex_lock(&chat->lock);
    in = room_index(chat, room) >= 0;
    pthread_mutex_unlock(&chat->lock);
    return in;
}

/* [L held] Add room unless present; false when the rooms are full. */
static bool room_add(struct chat *chat, const char *room, bool confirmed)
{
    int i = room_index(chat, room);

    if (i >= 0) {
        chat->rooms[i].confirmed |= confirmed;
        return true;
    }
    if (chat->n_rooms >= CHAT_MAX_ROOMS || strlen(room) > CHAT_NAME_MAX)
        return false;
    snprintf(chat->rooms[chat->n_rooms].name, sizeof(chat->rooms[0].name), "%s", room);
    chat->rooms[chat->n_rooms++].confirmed = confirmed;
    return true;
}

/* [L held] */
static void room_remove(struct chat *chat, const char *room, bool only_unconfirmed)
{
    int i = room_index(chat, room);

    if (i < 0 || (only_unconfirmed && chat->rooms[i].confirmed))
        return;
    memmove(&chat->rooms[i], &chat->rooms[i + 1],
            (chat->n_rooms - (unsigned)i - 1) * sizeof(chat->rooms[0]));
    chat->n_rooms--;
}

static uint16_t error_reason(const ts_envelope *answer)
{
    struct server_error e;
    const uint8_t *p;
    size_t len;

    if (answer == NULL || ts_envelope_type(answer) != TS_MSG_ERROR)
        return 0;
    p = ts_envelope_payload(answer, &len);
    return server_error_parse(p, len, &e) == TS_OK ? e.code : 0;
}

/* [L held] The user an answer names ({"user": "alice"} or null). */
static void set_user(struct chat *chat, json_t *obj)
{
    const char *u = json_string_value(json_object_get(obj, "user"));

    snprintf(chat->user, sizeof(chat->user), "%s",
             u != NULL && strlen(u) <= CHAT_NAME_MAX ? u : "");
}

/* [L held] A join answer: the room, and its history marked as seen. */
static void joined(struct chat *chat, const char *room, json_t *obj, bool rejoin)
{
    json_t *items = json_object_get(obj, "history");
    struct chat_item it;

    room_add(chat, room, true);
    /* A rejoin's unseen history is delivered (chat_rejoined) and marked
     * there. */
    for (size_t i = 0; !rejoin && i < json_array_size(items); i++) {
        if (chat_item_decode(json_array_get(items, i), &it) == TS_OK) {
            hash_window_add(&chat->seen, ts_envelope_hash(it.env));
            chat_item_clear(&it);
        }
    }
}

void chat_track(struct chat *chat, enum chat_cmd_kind kind, const char *arg, int status,
                const ts_envelope *answer)
{
    json_t *obj = status == TS_OK && answer != NULL ? chat_answer_object(answer) : NULL;
    uint16_t reason = error_reason(answer);
    int rc;

    pthread_mutex_lock(&chat->lock);
    if (obj != NULL && (kind == CHAT_CMD_LOGIN || kind == CHAT_CMD_WHOAMI)) {
        set_user(chat, obj);
    } else if (obj != NULL && kind == CHAT_CMD_LOGOUT) {
        chat->user[0] = '\0';
        chat->n_rooms = 0; /* the server left every room for us */
    } else if (obj != NULL && (kind == CHAT_CMD_JOIN || kind == CHAT_CMD_REJOIN)) {
        joined(chat, arg, obj, kind == CHAT_CMD_REJOIN);
    } else if (kind == CHAT_CMD_JOIN || kind == CHAT_CMD_REJOIN) {
        if (status != TS_ERR_CLOSED)
            room_remove(chat, arg, kind == CHAT_CMD_JOIN);
    } else if (kind == CHAT_CMD_LEAVE && (obj != NULL || reason == TS_REASON_NOT_FOUND)) {
        room_remove(chat, arg, false);
    } else if ((kind == CHAT_CMD_WHOIS || kind == CHAT_CMD_FETCH) && obj != NULL) {
        const uint8_t *p;
        size_t len;

        p = ts_envelope_payload(answer, &len);
        (void)whois_cache_put_answer(&chat->keys, p, len, clock_mono_ms(), NULL);
    } else if ((kind == CHAT_CMD_WHOIS || kind == CHAT_CMD_FETCH) &&
               reason == TS_REASON_NOT_FOUND) {
        /* Known to have no keys: its signatures verify against none. */
        (void)whois_cache_put(&chat->keys, arg, NULL, 0, clock_mono_ms());
    }
    pthread_mutex_unlock(&chat->lock);
    /* A device that receives does so as whoever it has logged in as. */
    if (obj != NULL && kind == CHAT_CMD_LOGIN && (rc = chat_resend_online(chat, 0)) != TS_OK)
        LOG_WARN("chat_online_failed", "error=\"%s\"", ts_error_detail(rc));
    json_decref(obj);
}

/* What a command will change, from its JSON; joins are recorded at once
 * so a message sent right after knows the room is being joined. */
static enum chat_cmd_kind command_kind(struct chat *chat, json_t *cmd, char *arg)
{
    const char *name = json_string_value(json_object_get(cmd, "cmd"));
    const char *room = json_string_value(json_object_get(cmd, "room"));
    const char *user = json_string_value(json_object_get(cmd, "user"));
    const char *named = room != NULL ? room : user;
    enum chat_cmd_kind kind = CHAT_CMD_OTHER;

    snprintf(arg, CHAT_NAME_MAX + 1, "%s",
             named != NULL && strlen(named) <= CHAT_NAME_MAX ? named : "");
    if (name == NULL)
        return kind;
    if (strcmp(name, "login") == 0 || strcmp(name, "register") == 0)
        kind = CHAT_CMD_LOGIN;
    else if (strcmp(name, "logout") == 0)
        kind = CHAT_CMD_LOGOUT;
    else if (strcmp(name, "whoami") == 0)
        kind = CHAT_CMD_WHOAMI;
    else if (strcmp(name, "join") == 0 && arg[0] != '\0')
        kind = CHAT_CMD_JOIN;
    else if (strcmp(name, "leave") == 0 && arg[0] != '\0')
        kind = CHAT_CMD_LEAVE;
    else if (strcmp(name, "whois") == 0 && arg[0] != '\0')
        kind = CHAT_CMD_WHOIS;
    if (kind == CHAT_CMD_JOIN) {
        pthread_mutex_lock(&chat->lock);
        (void)room_add(chat, arg, false);
        pthread_mutex_unlock(&chat->lock);
    }
    return kind;
}

/* The payload of a command: its JSON text (the caller wipes and frees). */
static char *command_text(json_t *cmd)
{
    return json_is_object(cmd) ? json_dumps(cmd, JSON_COMPACT) : NULL;
}

static void text_free(char *text)
{
    if (text != NULL) {
        sodium_memzero(text, strlen(text));
        free(text);
    }
}

static void cmd_done(ts_client *c, uint64_t id, int status, const ts_envelope *answer,
                     void *arg)
{
    struct chat_cmd *cc = arg;

    chat_track(cc->chat, cc->kind, cc->arg, status, answer);
    if (cc->kind == CHAT_CMD_REJOIN && status == TS_OK)
        chat_rejoined(cc->chat, answer);
    if (cc->kind == CHAT_CMD_FETCH)
        chat_fetched(cc->chat, cc->arg);
    if (cc->cb != NULL)
        cc->cb(c, id, status, answer, cc->cb_arg);
    free(cc);
}

int chat_send_internal(struct chat *chat, json_t *cmd, enum chat_cmd_kind kind,
                       const char *arg, unsigned flags, ts_send_callback cb, void *cb_arg,
                       uint64_t *id)
{
    char *text = command_text(cmd);
    struct chat_cmd *cc = calloc(1, sizeof(*cc));
    ts_client_outgoing m = {
        .type = TS_MSG_COMMAND, .content_type = "application/json",
        .flags = flags | TS_SEND_VOLATILE,
    };
    int rc;

    json_decref(cmd);
    if (text == NULL || cc == NULL) {
        text_free(text);
        free(cc);
        return error_set(TS_ERR_NOMEM, "out of memory (or the command is not an object)");
    }
    *cc = (struct chat_cmd){.chat = chat, .kind = kind, .cb = cb, .cb_arg = cb_arg};
    snprintf(cc->arg, sizeof(cc->arg), "%s", arg);
    m.payload = text;
    m.len = strlen(text);
    rc = ts_client_send_message(chat->client, &m, cmd_done, cc, id);
    text_free(text);
    if (rc != TS_OK)
        free(cc);
    return rc;
}

int chat_command_send(struct chat *chat, json_t *cmd, ts_send_callback cb, void *arg,
                      uint64_t *id)
{
    char name[CHAT_NAME_MAX + 1];
    enum chat_cmd_kind kind = command_kind(chat, cmd, name);
    int rc = chat_send_internal(chat, cmd, kind, name, 0, cb, arg, id);

    if (rc != TS_OK && kind == CHAT_CMD_JOIN)
        chat_track(chat, kind, name, TS_ERR_INVALID, NULL);
    return rc;
}

int chat_command(struct chat *chat, json_t *cmd, uint32_t timeout_ms, ts_envelope **answer)
{
    char name[CHAT_NAME_MAX + 1];
    enum chat_cmd_kind kind = command_kind(chat, cmd, name);
    char *text = command_text(cmd);
    ts_client_outgoing m = {
        .type = TS_MSG_COMMAND, .content_type = "application/json",
        .flags = TS_SEND_VOLATILE,
    };
    int rc;

    json_decref(cmd);
    *answer = NULL;
    if (text == NULL) {
        rc = error_set(TS_ERR_NOMEM, "out of memory (or the command is not an object)");
    } else {
        m.payload = text;
        m.len = strlen(text);
        rc = ts_client_request_message(chat->client, &m, timeout_ms, answer);
    }
    text_free(text);
    /* A timeout leaves the command queued: its answer is not ours now. */
    if (rc == TS_OK || rc == TS_ERR_SERVER || kind == CHAT_CMD_JOIN)
        chat_track(chat, kind, name, rc, *answer);
    return rc;
}

int chat_sync(struct chat *chat, uint32_t timeout_ms, ts_envelope **answer)
{
    json_t *cmd = json_pack("{s:s}", "cmd", "whoami");

    return chat_command(chat, cmd, timeout_ms, answer);
}

/* The sender and, for a room, whether a join must go first. */
static int say_prepare(struct chat *chat, const char *to, char *user, bool *join)
{
    const char *room = to[0] == '#' ? to + 1 : NULL;
    int rc = TS_OK;

    *join = false;
    if (to[0] == '\0' || (room != NULL && room[0] == '\0'))
        return error_set(TS_ERR_INVALID, "a message goes to \"#room\" or a user name");
    pthread_mutex_lock(&chat->lock);
    memcpy(user, chat->user, sizeof(chat->user));
    if (user[0] == '\0')
        rc = error_set(TS_ERR_STATE, "not logged in");
    else if (room != NULL && room_index(chat, room) < 0 && chat->n_rooms >= CHAT_MAX_ROOMS)
        rc = error_set(TS_ERR_LIMIT, "in %d rooms already; leave one first", CHAT_MAX_ROOMS);
    else if (room != NULL && room_index(chat, room) < 0)
        *join = true;
    pthread_mutex_unlock(&chat->lock);
    return rc;
}

static ts_client_outgoing say_message(const char *user, const char *to, const void *text,
                                       size_t len, bool sign)
{
    ts_client_outgoing m = {
        .type = TS_MSG_CHAT, .sender = user, .recipient = to,
        .payload = text, .len = len, .flags = sign ? TS_SEND_SIGN : 0,
    };

    return m;
}

int chat_say(struct chat *chat, const char *to, const void *text, size_t len, bool sign,
             ts_send_callback cb, void *arg, uint64_t *id)
{
    char user[CHAT_NAME_MAX + 1];
    ts_client_outgoing m;
    bool join;
    int rc;

    if ((rc = say_prepare(chat, to, user, &join)) != TS_OK)
        return rc;
    /* Queued before the message, so the server has the member first. */
    if (join && (rc = chat_command_send(chat, json_pack("{s:s, s:s}", "cmd", "join", "room",
                                                        to + 1),
                                        NULL, NULL, NULL)) != TS_OK)
        return rc;
    m = say_message(user, to, text, len, sign);
    return ts_client_send_message(chat->client, &m, cb, arg, id);
}

int chat_say_wait(struct chat *chat, const char *to, const void *text, size_t len,
                  bool sign, uint32_t timeout_ms, ts_envelope **answer)
{
    char user[CHAT_NAME_MAX + 1];
    ts_client_outgoing m;
    bool join;
    int rc;

    *answer = NULL;
    if ((rc = say_prepare(chat, to, user, &join)) != TS_OK)
        return rc;
    if (join && (rc = chat_command(chat, json_pack("{s:s, s:s}", "cmd", "join", "room", to + 1),
                                   timeout_ms, answer)) != TS_OK)
        return rc;
    ts_envelope_free(*answer);
    *answer = NULL;
    m = say_message(user, to, text, len, sign);
    return ts_client_request_message(chat->client, &m, timeout_ms, answer);
}

static int send_online(struct chat *chat, unsigned flags)
{
    return chat_send_internal(chat, json_pack("{s:s}", "cmd", "online"), CHAT_CMD_OTHER, "",
                              flags, NULL, NULL, NULL);
}

int chat_go_online(struct chat *chat)
{
    bool user;

    pthread_mutex_lock(&chat->lock);
    chat->online = true;
    user = chat->user[0] != '\0';
    pthread_mutex_unlock(&chat->lock);
    /* Not logged in yet: the login or registration's answer sends it. */
    return user ? send_online(chat, 0) : TS_OK;
}

int chat_resend_online(struct chat *chat, unsigned flags)
{
    bool wanted;

    pthread_mutex_lock(&chat->lock);
    wanted = chat->online && chat->user[0] != '\0';
    pthread_mutex_unlock(&chat->lock);
    return wanted ? send_online(chat, flags) : TS_OK;
}

int chat_keys_fetch(struct chat *chat, const char *user, uint32_t timeout_ms)
{
    ts_envelope *answer = NULL;
    int rc = chat_command(chat, json_pack("{s:s, s:s}", "cmd", "whois", "user", user),
                          timeout_ms, &answer);

    ts_envelope_free(answer);
    return rc;
}

enum chat_verdict chat_check(struct chat *chat, const ts_envelope *env, uint32_t timeout_ms)
{
    enum whois_verdict v;
    int rc;

    pthread_mutex_lock(&chat->lock);
    v = whois_cache_check(&chat->keys, env, clock_mono_ms(), false);
    pthread_mutex_unlock(&chat->lock);
    if (v == WHOIS_NEED_KEYS) {
        rc = chat_keys_fetch(chat, ts_envelope_sender(env), timeout_ms);
        if (rc != TS_OK && rc != TS_ERR_SERVER)
            return CHAT_UNCHECKED;
        pthread_mutex_lock(&chat->lock);
        v = whois_cache_check(&chat->keys, env, clock_mono_ms(), true);
        pthread_mutex_unlock(&chat->lock);
    }
    return chat_verdict_of_whois(v);
}
