/*
 * Chat: a Chat envelope addressed to "#room" goes to every member of the
 * room but the sender; one addressed to a user name goes to every device
 * of that user that is online, or waits in the store until their next
 * login. The envelope travels byte for byte as its sender signed it, so
 * recipients can check the signature themselves.
 *
 * Order of events for one message: store (the writer commits it, or finds
 * it already stored) -> fan-out of a new message -> Ack to the sender with
 * the stored id and time. The Ack of a repeated message is the original
 * one and nothing is delivered twice.
 */
#include "service/service_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tcpseal/protocol.h>

#include "server/reply.h"
#include "service/names.h"
#include "util/timefmt.h"
#include "util/error.h"
#include "util/log.h"

#define OFFLINE_BATCH 1000

struct chat_job {
    struct service *svc;
    struct bus_member sender;
    uint64_t msg_id;                 /* the Chat envelope's id */
    char room[NAME_MAX_LEN + 1];     /* room message, or "" */
    char recipient[NAME_MAX_LEN + 1];/* direct message, or "" */
    char user[NAME_MAX_LEN + 1];     /* the sender's name */
    uint8_t key[TS_PUBLIC_KEY_LEN];
    uint8_t hash[TS_ENVELOPE_HASH_LEN];
    struct bus_message *msg;         /* the envelope as sent */
    int64_t offline_for;             /* recipient's id when none is online */
    int rc;
    int64_t stored_id;
    uint64_t stored_ms;
};

static void job_free(struct chat_job *job)
{
    bus_message_unref(job->msg);
    free(job);
}


/* Back on the sender's worker: the Ack, or why it failed. */
static void ack_on_conn(struct conn *c, void *arg)
{
    struct chat_job *job = arg;
    struct sender_result ack = {.type = TS_MSG_ACK};
    char when[32], body[128];

    if (c == NULL) {
        job_free(job);
        return;
    }
    if (job->rc == TS_ERR_NOT_FOUND) {
        reply_error(c, job->msg_id, TS_REASON_NOT_FOUND, "no such user");
    } else if (job->rc != TS_OK && job->rc != TS_ERR_DUPLICATE) {
        reply_error(c, job->msg_id, TS_REASON_SERVER_ERROR, "message could not be stored");
    } else {
        timefmt_iso8601(job->stored_ms, when);
        snprintf(body, sizeof(body), "{\"id\":%lld,\"time\":\"%s\"}",
                 (long long)job->stored_id, when);
        snprintf(ack.content_type, sizeof(ack.content_type), "application/json");
        ack.payload = (uint8_t *)body;
        ack.len = strlen(body);
        ack.sign = server_cfg(c->worker->srv)->sign_responses;
        reply_answer(c, job->msg_id, &ack);
    }
    job_free(job);
}

/* The writer committed the message (or found it stored already). */
static void chat_stored(void *ctx, int rc, const struct store_row *row)
{
    struct chat_job *job = ctx;
    struct bus *b = job->svc->bus;
    size_t delivered;

    job->rc = rc;
    if (row != NULL) {
        job->stored_id = row->id;
        job->stored_ms = row->stored_ms;
    }
    if (rc == TS_OK && job->room[0] != '\0')
        b->ops->publish_room(b, job->room, job->msg, job->sender);
    else if (rc == TS_OK)
        b->ops->publish_user(b, job->recipient, job->msg, job->sender, &delivered);
    else if (rc == TS_ERR_DUPLICATE)
        /* A resend after a lost connection: stored once, answered with
         * the original Ack, delivered to nobody again. */
        LOG_INFO("chat_repeated", "user=%s seq=%llu stored_id=%lld", job->user,
                 (unsigned long long)job->msg_id, (long long)job->stored_id);
    else
        LOG_ERROR("chat_store_failed", "user=%s detail=\"%s\"", job->user, ts_error_detail(rc));
    server_run_on_client(job->svc->srv, job->sender.client, ack_on_conn, job);
}

static void chat_store(struct chat_job *job)
{
    struct store_message m = {
        .room = job->room[0] != '\0' ? job->room : NULL,
        .recipient = job->recipient[0] != '\0' ? job->recipient : NULL,
        .sender = job->user,
        .sender_seq = job->msg_id,
        .envelope = job->msg->data,
        .envelope_len = job->msg->len,
        .offline_for = job->offline_for != 0 ? &job->offline_for : NULL,
        .n_offline_for = job->offline_for != 0 ? 1 : 0,
    };
    int rc;

    memcpy(m.sender_key, job->key, sizeof(m.sender_key));
    memcpy(m.hash, job->hash, sizeof(m.hash));
    if ((rc = job->svc->store->ops->append(job->svc->store, &m, chat_stored, job)) != TS_OK) {
        job->rc = rc;
        server_run_on_client(job->svc->srv, job->sender.client, ack_on_conn, job);
    }
}

/* A direct message: the recipient must exist; with no device online the
 * message is queued for their next login. */
static void recipient_found(void *ctx, int rc, const struct store_user *user)
{
    struct chat_job *job = ctx;

    if (rc != TS_OK) {
        job->rc = rc == TS_ERR_NOT_FOUND ? TS_ERR_NOT_FOUND : rc;
        server_run_on_client(job->svc->srv, job->sender.client, ack_on_conn, job);
        return;
    }
    if (job->svc->bus->ops->user_devices(job->svc->bus, job->recipient) == 0)
        job->offline_for = user->id;
    chat_store(job);
}

/* Where the message goes: "#room" (a member) or a user name. */
static uint16_t chat_target(struct conn *c, const char *to, struct chat_job *job,
                            const char **why)
{
    size_t len = strlen(to);
    struct session *s = c->session;

    *why = NULL;
    if (to[0] == '#') {
        if (names_check_room(to + 1, len - 1) != TS_OK) {
            *why = ts_error_detail(TS_ERR_INVALID);
            return TS_REASON_INVALID_ARGUMENT;
        }
        for (unsigned i = 0; i < s->n_rooms; i++) {
            if (strcmp(s->rooms[i].name, to + 1) == 0) {
                snprintf(job->room, sizeof(job->room), "%s", to + 1);
                return 0;
            }
        }
        *why = "join the room before writing to it";
        return TS_REASON_NOT_ALLOWED;
    }
    if (names_check_user(to, len) != TS_OK) {
        *why = "the recipient is \"#room\" or a user name";
        return TS_REASON_INVALID_ARGUMENT;
    }
    snprintf(job->recipient, sizeof(job->recipient), "%s", to);
    return 0;
}

static void chat_refuse(struct conn *c, uint64_t id, uint16_t reason, const char *why)
{
    LOG_INFO("message_refused", "client=%llu peer=%s id=%llu reason=%s detail=\"%s\"",
             (unsigned long long)c->id, c->peer, (unsigned long long)id,
             ts_reason_name(reason), why != NULL ? why : ts_reason_text(reason));
    reply_error(c, id, reason, why);
}

static struct chat_job *chat_job_new(struct conn *c, const ts_envelope *env,
                                     const uint8_t *raw, size_t len)
{
    struct chat_job *job = calloc(1, sizeof(*job));

    if (job == NULL || (job->msg = bus_message_new(BUS_ENVELOPE, raw, len)) == NULL) {
        free(job);
        return NULL;
    }
    job->svc = service_of(c);
    job->sender = service_member(c);
    job->msg_id = ts_envelope_id(env);
    snprintf(job->user, sizeof(job->user), "%s", c->session->user);
    memcpy(job->key, c->identity, sizeof(job->key));
    memcpy(job->hash, ts_envelope_hash(env), sizeof(job->hash));
    return job;
}

void chat_message(struct conn *c, const ts_envelope *env, const uint8_t *raw, size_t len)
{
    uint64_t id = ts_envelope_id(env);
    struct chat_job *job;
    const char *why;
    uint16_t reason;
    int rc;

    if (c->session->auth != SESSION_USER) {
        chat_refuse(c, id, TS_REASON_LOGIN_REQUIRED, "log in to chat");
        return;
    }
    if (strcmp(ts_envelope_sender(env), c->session->user) != 0) {
        chat_refuse(c, id, TS_REASON_BAD_SENDER, "chat messages name their sender's user");
        return;
    }
    if ((job = chat_job_new(c, env, raw, len)) == NULL) {
        chat_refuse(c, id, TS_REASON_SERVER_ERROR, "out of memory");
        return;
    }
    if ((reason = chat_target(c, ts_envelope_recipient(env), job, &why)) != 0) {
        job_free(job);
        chat_refuse(c, id, reason, why);
        return;
    }
    if (job->room[0] != '\0') {
        chat_store(job);
        return;
    }
    rc = job->svc->store->ops->user_by_name(job->svc->store, job->recipient, recipient_found,
                                            job);
    if (rc != TS_OK) {
        job_free(job);
        chat_refuse(c, id, TS_REASON_TRY_LATER, "server busy; try again");
    }
}

/* ---- direct messages that waited for their recipient ---- */

struct offline_job {
    struct service *svc;
    ts_client_id client;
    int64_t user_id;
    int64_t last_id;
    struct bus_message **msgs;
    size_t n, cap;
    bool truncated;  /* out of memory: the rest waits for the next login */
};

static void offline_on_conn(struct conn *c, void *arg)
{
    struct offline_job *job = arg;
    bool sent = c != NULL;

    for (size_t i = 0; i < job->n; i++) {
        if (sent && conn_send(c, job->msgs[i]->data, job->msgs[i]->len) != TS_OK)
            sent = false;
        bus_message_unref(job->msgs[i]);
    }
    /* Only what reached the connection leaves the queue. */
    if (sent && job->n > 0)
        job->svc->store->ops->offline_ack(job->svc->store, job->user_id, job->last_id, NULL,
                                          NULL);
    if (c != NULL && job->n > 0)
        LOG_INFO("offline_delivered", "client=%llu messages=%zu", (unsigned long long)c->id,
                 job->n);
    free(job->msgs);
    free(job);
}

static void offline_collect(void *ctx, int rc, const struct store_row *row)
{
    struct offline_job *job = ctx;
    struct bus_message *m;

    if (row == NULL) {
        server_run_on_client(job->svc->srv, job->client, offline_on_conn, job);
        return;
    }
    if (job->truncated)
        return;
    if (job->n == job->cap) {
        size_t cap = job->cap == 0 ? 16 : job->cap * 2;
        struct bus_message **grown = realloc(job->msgs, cap * sizeof(*grown));
        if (grown == NULL) {
            job->truncated = true;
            return;
        }
        job->msgs = grown;
        job->cap = cap;
    }
    if ((m = bus_message_new(BUS_ENVELOPE, row->envelope, row->envelope_len)) == NULL) {
        job->truncated = true;
        return;
    }
    job->msgs[job->n++] = m;
    job->last_id = row->id;
}

void chat_deliver_offline(struct conn *c)
{
    struct service *svc = service_of(c);
    struct offline_job *job = calloc(1, sizeof(*job));

    if (job == NULL)
        return;
    job->svc = svc;
    job->client = c->id;
    job->user_id = c->session->user_id;
    if (svc->store->ops->offline(svc->store, job->user_id, OFFLINE_BATCH, offline_collect,
                                 job) != TS_OK)
        free(job);
}
