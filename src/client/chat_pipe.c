/*
 * What comes in through the chat layer (chat_internal.h): every message
 * the client does not treat as an answer passes one queue, so they reach
 * on_message in the order they arrived. A relayed Chat envelope whose
 * sender's keys are not known yet waits at its place for a whois; what
 * arrives after it waits too. Also here: what a reconnect sets in motion
 * (whoami, rejoining rooms, and the messages those rooms had meanwhile).
 * Everything runs on the thread driving the client.
 */
#include "client/chat_internal.h"

#include <stdlib.h>
#include <string.h>

#include <tcpseal/error.h>

#include "client/client_internal.h"
#include "util/clock.h"
#include "util/log.h"

static void deliver(struct chat *chat, const ts_envelope *env, bool relayed,
                    enum chat_verdict verdict)
{
    int rc;

    if (relayed && (rc = client_relay_keep(chat->client, env, verdict == CHAT_VERIFIED)) != TS_OK)
        LOG_WARN("chat_not_kept", "error=\"%s\"", ts_error_detail(rc));
    if (chat->cb.on_message != NULL)
        chat->cb.on_message(chat, env, verdict, chat->cb.arg);
}

static void pending_free(struct chat_pending *p)
{
    ts_envelope_free(p->env);
    free(p);
}

/* Deliver from the head while the head is judged. */
static void drain(struct chat *chat)
{
    struct chat_pending *p;

    while ((p = chat->head) != NULL && p->resolved) {
        chat->head = p->next;
        if (chat->head == NULL)
            chat->tail = NULL;
        chat->n_pending--;
        deliver(chat, p->env, p->relayed, p->verdict);
        pending_free(p);
    }
}

void chat_pending_flush(struct chat *chat)
{
    for (struct chat_pending *p = chat->head; p != NULL; p = p->next) {
        if (!p->resolved) {
            p->resolved = true;
            p->verdict = CHAT_UNCHECKED;
        }
    }
    drain(chat);
}

static bool fetching(const struct chat *chat, const char *user)
{
    for (unsigned i = 0; i < chat->n_fetching; i++) {
        if (strcmp(chat->fetching[i], user) == 0)
            return true;
    }
    return false;
}

/* Ask whois for user unless asked already; false when it cannot be
 * asked (too many lookups, or the client refused the command). */
static bool fetch_start(struct chat *chat, const char *user)
{
    int rc;

    if (fetching(chat, user))
        return true;
    if (chat->n_fetching >= CHAT_FETCH_MAX || strlen(user) > CHAT_NAME_MAX)
        return false;
    memcpy(chat->fetching[chat->n_fetching++], user, strlen(user) + 1);
    rc = chat_send_internal(chat, json_pack("{s:s, s:s}", "cmd", "whois", "user", user),
                            CHAT_CMD_FETCH, user, 0, NULL, NULL, NULL);
    if (rc == TS_OK)
        return true;
    chat->n_fetching--;
    LOG_WARN("chat_whois_failed", "user=%s error=\"%s\"", user, ts_error_detail(rc));
    return false;
}

/* The verdict on a relayed envelope from what the cache knows; false
 * when its sender must be looked up first. */
static bool judge(struct chat *chat, const ts_envelope *env, bool final,
                  enum chat_verdict *verdict)
{
    enum whois_verdict v;

    pthread_mutex_lock(&chat->lock);
    v = whois_cache_check(&chat->keys, env, clock_mono_ms(), final);
    pthread_mutex_unlock(&chat->lock);
    *verdict = chat_verdict_of_whois(v);
    return v != WHOIS_NEED_KEYS;
}

/* Make room: the oldest held message goes out unchecked. */
static void pending_bound(struct chat *chat)
{
    while (chat->n_pending >= CHAT_PENDING_MAX && chat->head != NULL) {
        if (!chat->head->resolved) {
            chat->head->resolved = true;
            chat->head->verdict = CHAT_UNCHECKED;
        }
        drain(chat);
    }
}

static void push(struct chat *chat, const ts_envelope *env, bool relayed,
                 enum chat_verdict verdict)
{
    struct chat_pending *p;
    bool resolved = true;

    if (relayed && !judge(chat, env, false, &verdict)) {
        resolved = false;
        if (!fetch_start(chat, ts_envelope_sender(env))) {
            resolved = true;
            verdict = CHAT_UNCHECKED;
        }
    }
    if (resolved && chat->head == NULL) {
        deliver(chat, env, relayed, verdict);
        return;
    }
    pending_bound(chat);
    if ((p = calloc(1, sizeof(*p))) == NULL || ts_envelope_clone(env, &p->env) != TS_OK) {
        /* Out of memory: deliver now rather than lose it. */
        LOG_WARN("chat_out_of_order", "reason=\"out of memory\"");
        free(p);
        deliver(chat, env, relayed, resolved ? verdict : CHAT_UNCHECKED);
        return;
    }
    p->relayed = relayed;
    p->resolved = resolved;
    p->verdict = verdict;
    if (chat->tail != NULL)
        chat->tail->next = p;
    else
        chat->head = p;
    chat->tail = p;
    chat->n_pending++;
    drain(chat);
}

void chat_fetched(struct chat *chat, const char *user)
{
    for (unsigned i = 0; i < chat->n_fetching; i++) {
        if (strcmp(chat->fetching[i], user) == 0) {
            memmove(chat->fetching[i], chat->fetching[i + 1],
                    (chat->n_fetching - i - 1) * sizeof(chat->fetching[0]));
            chat->n_fetching--;
            break;
        }
    }
    for (struct chat_pending *p = chat->head; p != NULL; p = p->next) {
        if (p->resolved || !p->relayed || strcmp(ts_envelope_sender(p->env), user) != 0)
            continue;
        p->resolved = true;
        /* No record at all means the lookup failed (not "no keys"). */
        pthread_mutex_lock(&chat->lock);
        if (whois_cache_find(&chat->keys, user) == NULL)
            p->verdict = CHAT_UNCHECKED;
        pthread_mutex_unlock(&chat->lock);
        if (p->verdict != CHAT_UNCHECKED)
            judge(chat, p->env, true, &p->verdict);
    }
    drain(chat);
}

/* A relayed envelope counts once: live, or from a rejoin's history. */
static bool first_sight(struct chat *chat, const ts_envelope *env)
{
    bool fresh;

    pthread_mutex_lock(&chat->lock);
    fresh = hash_window_add(&chat->seen, ts_envelope_hash(env));
    pthread_mutex_unlock(&chat->lock);
    return fresh;
}

void chat_on_relay(ts_client *c, const ts_envelope *env, void *arg)
{
    struct chat *chat = arg;

    if (first_sight(chat, env))
        push(chat, env, true, CHAT_UNSIGNED);
}

void chat_on_message(ts_client *c, const ts_envelope *env, bool verified, void *arg)
{
    push(arg, env, false, verified ? CHAT_VERIFIED : CHAT_UNSIGNED);
}

void chat_rejoined(struct chat *chat, const ts_envelope *answer)
{
    json_t *obj = chat_answer_object(answer);
    json_t *items = json_object_get(obj, "history");
    struct chat_item it;

    for (size_t i = 0; i < json_array_size(items); i++) {
        if (chat_item_decode(json_array_get(items, i), &it) != TS_OK)
            continue;
        /* Missed while the connection was down. */
        if (first_sight(chat, it.env))
            push(chat, it.env, true, CHAT_UNSIGNED);
        chat_item_clear(&it);
    }
    json_decref(obj);
}

/* After a reconnect the server knows nothing of this connection: ask who
 * we are, say we receive again, and join the rooms again, all before
 * anything queued. */
static void resync(struct chat *chat)
{
    char rooms[CHAT_MAX_ROOMS][CHAT_NAME_MAX + 1];
    unsigned n = 0;
    int rc;

    pthread_mutex_lock(&chat->lock);
    for (unsigned i = 0; i < chat->n_rooms; i++) {
        if (chat->rooms[i].confirmed)
            memcpy(rooms[n++], chat->rooms[i].name, sizeof(rooms[0]));
    }
    pthread_mutex_unlock(&chat->lock);
    rc = chat_send_internal(chat, json_pack("{s:s}", "cmd", "whoami"), CHAT_CMD_WHOAMI, "",
                            TS_SEND_FIRST, NULL, NULL, NULL);
    if (rc == TS_OK)
        rc = chat_resend_online(chat, TS_SEND_FIRST);
    for (unsigned i = 0; rc == TS_OK && i < n; i++)
        rc = chat_send_internal(chat, json_pack("{s:s, s:s}", "cmd", "join", "room", rooms[i]),
                                CHAT_CMD_REJOIN, rooms[i], TS_SEND_FIRST, NULL, NULL, NULL);
    if (rc != TS_OK)
        LOG_WARN("chat_resync_failed", "error=\"%s\"", ts_error_detail(rc));
}

void chat_on_state(ts_client *c, ts_client_state state, const char *reason, void *arg)
{
    struct chat *chat = arg;

    if (state == TS_CLIENT_CONNECTED) {
        if (chat->connected_before)
            resync(chat);
        chat->connected_before = true;
    }
    if (chat->cb.on_state != NULL)
        chat->cb.on_state(chat, state, reason, chat->cb.arg);
}
