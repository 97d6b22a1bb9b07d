/*
 * Envelopes on a session (client_internal.h): the outbox going out in id
 * order, sealed anew for every attempt; answers and server messages
 * coming in, to the inbox and the callbacks. Runs on the driver.
 */
#include "client/client_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <tcpseal/protocol.h>

#include "client/server_error.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"

/* The envelope for an entry, sealed now: the server refuses timestamps
 * far from its clock, and a message may wait in the outbox for long. The
 * id is what the server recognises a repeat by. */
static int seal_entry(ts_client *c, const struct outbox_entry *e, ts_envelope **out)
{
    const char *sender = e->sender != NULL ? e->sender : c->fingerprint;
    const char *ctype = e->content_type != NULL ? e->content_type : TS_CLIENT_CONTENT_TYPE;
    ts_envelope *env = NULL;
    int rc;

    if ((rc = ts_envelope_new(&env, e->type)) == TS_OK &&
        (rc = ts_envelope_set_sender(env, sender)) == TS_OK &&
        (e->recipient == NULL || (rc = ts_envelope_set_recipient(env, e->recipient)) == TS_OK) &&
        (rc = ts_envelope_set_content_type(env, ctype)) == TS_OK &&
        (rc = ts_envelope_set_payload(env, e->payload, e->len)) == TS_OK) {
        ts_envelope_set_id(env, e->id);
        ts_envelope_set_timestamp(env, clock_wall_ms());
        rc = ts_envelope_seal(env, (e->flags & TS_SEND_SIGN) != 0 ? c->cfg.identity : NULL);
    }
    if (rc != TS_OK) {
        ts_envelope_free(env);
        return rc;
    }
    *out = env;
    return TS_OK;
}

/* 0 when sent, 1 when the output is full (try after it drains), or an
 * error that ended the session. */
static int send_one(ts_client *c, struct outbox_entry *e)
{
    char detail[ERROR_DETAIL_MAX];
    ts_envelope *env = NULL;
    int rc;

    if ((rc = seal_entry(c, e, &env)) != TS_OK) {
        /* Memory or crypto trouble: say so, retry on a later turn. */
        snprintf(detail, sizeof(detail), "cannot seal message %llu: %s",
                 (unsigned long long)e->id, ts_error_detail(rc));
        client_report(c, rc, detail);
        return 1;
    }
    rc = client_conn_send(c->conn, env);
    ts_envelope_free(env);
    if (rc == TS_ERR_LIMIT)
        return 1;
    if (rc != TS_OK) {
        session_lost(c, rc);
        return rc;
    }
    LOG_DEBUG("client_sent", "server=%s id=%llu attempt=%u", c->hostport,
              (unsigned long long)e->id, e->attempts + 1);
    return TS_OK;
}

void session_send_queued(ts_client *c)
{
    struct outbox_entry *e;

    while (c->conn != NULL && c->up) {
        pthread_mutex_lock(&c->lock);
        e = outbox_in_flight(&c->outbox) < CLIENT_SEND_WINDOW
                ? outbox_next_queued(&c->outbox)
                : NULL;
        pthread_mutex_unlock(&c->lock);
        /* e stays valid unlocked: only this thread releases entries. */
        if (e == NULL || send_one(c, e) != TS_OK)
            return;
        pthread_mutex_lock(&c->lock);
        outbox_mark_sent(&c->outbox, e);
        c->messages_out++;
        pthread_mutex_unlock(&c->lock);
    }
}

void client_waiter_finish(ts_client *c, struct client_waiter *w, int status,
                          const ts_envelope *answer)
{
    w->status = status;
    if (answer != NULL && ts_envelope_clone(answer, &w->answer) != TS_OK)
        w->status = TS_ERR_NOMEM;
    w->done = true;
    pthread_cond_broadcast(&c->cond);
}

/* What one received envelope became, for the callbacks after unlocking. */
struct arrival {
    enum outbox_outcome outcome;
    struct outbox_entry *done;  /* settled entry, or NULL */
    ts_send_callback cb;
    void *cb_arg;
    bool waited;                /* a blocking request took the answer */
    ts_message_callback on_message;
    void *message_arg;
    int store_rc;               /* inbox or outbox file trouble */
    char store_detail[ERROR_DETAIL_MAX];
};

static uint16_t error_code_of(const ts_envelope *env)
{
    struct server_error e;
    const uint8_t *payload;
    size_t len;

    if (ts_envelope_type(env) != TS_MSG_ERROR)
        return 0;
    payload = ts_envelope_payload(env, &len);
    return server_error_parse(payload, len, &e) == TS_OK ? e.code : 0;
}

static void keep_store_error(struct arrival *a, int rc)
{
    if (rc != TS_OK && a->store_rc == TS_OK) {
        a->store_rc = rc;
        snprintf(a->store_detail, sizeof(a->store_detail), "%s", ts_error_detail(rc));
    }
}

/* Inbox, outbox, counters: one locked step. */
static void arrival_record(ts_client *c, const struct client_message *msg,
                           const uint8_t *data, size_t len, struct arrival *a)
{
    const ts_envelope *env = msg->env;
    int status = ts_envelope_type(env) == TS_MSG_ERROR ? TS_ERR_SERVER : TS_OK;

    pthread_mutex_lock(&c->lock);
    c->messages_in++;
    keep_store_error(a, outbox_settle(&c->outbox, ts_envelope_type(env),
                                      ts_envelope_correlation_id(env), error_code_of(env),
                                      &a->outcome, &a->done));
    /* The answer to a volatile message (a Command) is its sender's
     * alone: the inbox keeps what a user may ask for later. */
    if (data != NULL && (a->done == NULL || (a->done->flags & TS_SEND_VOLATILE) == 0))
        keep_store_error(a, inbox_add(&c->inbox, data, len, msg->signature_ok,
                                      clock_wall_ms()));
    if (a->done != NULL) {
        if (a->done->waiter != NULL) {
            client_waiter_finish(c, a->done->waiter, status, env);
            a->waited = true;
        }
        a->cb = a->done->cb;
        a->cb_arg = a->done->cb_arg;
    }
    a->on_message = c->on_message;
    a->message_arg = c->message_arg;
    pthread_mutex_unlock(&c->lock);
}

/* Errors that name no message of ours, and forgotten answers, are worth
 * telling the application about. */
static void arrival_report(ts_client *c, const ts_envelope *env, const struct arrival *a)
{
    char text[SERVER_ERROR_MESSAGE_MAX + SERVER_ERROR_REASON_MAX + 8];
    char detail[sizeof(text) + 64];
    struct server_error e;
    const uint8_t *payload;
    size_t len;

    if (a->store_rc != TS_OK)
        client_report(c, a->store_rc, a->store_detail);
    if (a->outcome == OUTBOX_FORGOTTEN) {
        snprintf(detail, sizeof(detail),
                 "the server processed message %llu before but no longer remembers its "
                 "answer (duplicate)", (unsigned long long)a->done->id);
        client_report(c, TS_ERR_DUPLICATE, detail);
    }
    if (ts_envelope_type(env) == TS_MSG_ERROR && a->outcome == OUTBOX_NOT_OURS) {
        payload = ts_envelope_payload(env, &len);
        (void)server_error_parse(payload, len, &e);
        server_error_describe(&e, text, sizeof(text));
        snprintf(detail, sizeof(detail), "server error about message %llu: %s",
                 (unsigned long long)ts_envelope_correlation_id(env), text);
        client_report(c, TS_ERR_SERVER, detail);
    }
}

static void arrival_deliver(ts_client *c, const struct client_message *msg,
                            const struct arrival *a)
{
    const ts_envelope *env = msg->env;
    int status = ts_envelope_type(env) == TS_MSG_ERROR ? TS_ERR_SERVER : TS_OK;

    if (a->done != NULL && a->cb != NULL)
        a->cb(c, a->done->id, status, env, a->cb_arg);
    else if (!a->waited && a->on_message != NULL)
        a->on_message(c, env, msg->signature_ok, a->message_arg);
}

/* Hash and signature failures are dropped: over an authenticated channel
 * they mean a broken server, and nothing unverified is delivered. */
static bool arrival_acceptable(ts_client *c, const struct client_message *msg)
{
    char detail[ERROR_DETAIL_MAX + NET_HOSTPORT_MAX];
    const char *type = ts_msg_type_name(ts_envelope_type(msg->env));

    if (msg->verify == TS_OK)
        return true;
    snprintf(detail, sizeof(detail), "%s %llu from %s: %s%s", type != NULL ? type : "message",
             (unsigned long long)ts_envelope_id(msg->env), c->hostport,
             ts_strerror(msg->verify), msg->verify == TS_ERR_STALE ? " (delivered)" : "; dropped");
    client_report(c, msg->verify, detail);
    return msg->verify == TS_ERR_STALE;
}

int client_relay_keep(ts_client *c, const ts_envelope *env, bool verified)
{
    uint8_t *data = NULL;
    size_t len = 0;
    int rc;

    if ((rc = ts_envelope_encode(env, &data, &len)) != TS_OK)
        return rc;
    pthread_mutex_lock(&c->lock);
    rc = inbox_add(&c->inbox, data, len, verified, clock_wall_ms());
    pthread_mutex_unlock(&c->lock);
    sodium_memzero(data, len);
    free(data);
    return rc;
}

/* A relayed envelope is not an answer: the hook judges it, or it goes to
 * the inbox and the message callback unjudged. */
static void relayed_arrival(ts_client *c, const ts_envelope *env)
{
    client_relay_fn hook;
    ts_message_callback cb;
    void *hook_arg, *cb_arg;
    int rc;

    pthread_mutex_lock(&c->lock);
    c->messages_in++;
    hook = c->relay_hook;
    hook_arg = c->relay_arg;
    cb = c->on_message;
    cb_arg = c->message_arg;
    pthread_mutex_unlock(&c->lock);
    if (hook != NULL) {
        hook(c, env, hook_arg);
        return;
    }
    if ((rc = client_relay_keep(c, env, false)) != TS_OK)
        client_report(c, rc, ts_error_detail(rc));
    if (cb != NULL)
        cb(c, env, false, cb_arg);
}

int traffic_on_message(void *arg, const struct client_message *msg)
{
    ts_client *c = arg;
    struct arrival a = {.outcome = OUTBOX_NOT_OURS};
    uint8_t *data = NULL;
    size_t len = 0;

    if (!arrival_acceptable(c, msg))
        return TS_OK;
    if (msg->relayed) {
        relayed_arrival(c, msg->env);
        return TS_OK;
    }
    /* Without its encoding the envelope still settles the outbox; only
     * the inbox copy is lost, and that is reported. */
    if (ts_envelope_encode(msg->env, &data, &len) != TS_OK)
        keep_store_error(&a, error_set(TS_ERR_NOMEM, "out of memory: message not kept"));
    arrival_record(c, msg, data, len, &a);
    if (data != NULL) {
        sodium_memzero(data, len);
        free(data);
    }
    arrival_report(c, msg->env, &a);
    arrival_deliver(c, msg, &a);
    outbox_entry_free(a.done);
    return TS_OK;
}

void traffic_on_oversize(void *arg, uint64_t size)
{
    ts_client *c = arg;
    char detail[ERROR_DETAIL_MAX + NET_HOSTPORT_MAX];

    snprintf(detail, sizeof(detail),
             "%s sent a message of %llu bytes, over the limit of %zu; skipped", c->hostport,
             (unsigned long long)size, c->cfg.max_message);
    client_report(c, TS_ERR_TOO_LARGE, detail);
}
