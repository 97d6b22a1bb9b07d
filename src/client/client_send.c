/*
 * Sending: message ids, ts_client_send() and the blocking
 * ts_client_request() (client_internal.h).
 */
#include "client/client_internal.h"

#include <stdio.h>

#include "client/client_db.h"
#include "client/sequence.h"
#include "util/clock.h"
#include "util/error.h"

/* Ids numbered without a sequence file start from the clock in
 * microseconds, so a program that restarts without a store file still
 * continues above the ids it used before (receivers refuse repeats). */
#define ID_CLOCK_FACTOR 1000u

/* The next id [L held]: from the shared sequence file, else from the
 * client's own counter (kept in the store file when there is one). */
static int id_take(ts_client *c, uint64_t *id)
{
    uint64_t next, floor = clock_wall_ms() * ID_CLOCK_FACTOR;
    int rc;

    if (c->seq_path != NULL)
        return sequence_next(c->seq_path, id);
    next = c->last_id + 1 > floor ? c->last_id + 1 : floor;
    if (c->db != NULL && (rc = client_db_meta_set(c->db, "last_id", next)) != TS_OK)
        return rc;
    c->last_id = next;
    *id = next;
    return TS_OK;
}

/* The strings must make a valid envelope: checked once here, so an
 * entry never fails at each sealing attempt. */
static int fields_check(const ts_client_outgoing *m)
{
    ts_envelope *env = NULL;
    int rc;

    if (m->type != TS_MSG_REQUEST && m->type != TS_MSG_COMMAND && m->type != TS_MSG_CHAT)
        return error_set(TS_ERR_INVALID, "a client sends Requests, Commands and Chat "
                         "messages, not type %d", (int)m->type);
    if (m->sender == NULL && m->recipient == NULL && m->content_type == NULL)
        return TS_OK;
    if ((rc = ts_envelope_new(&env, m->type)) == TS_OK &&
        (m->sender == NULL || (rc = ts_envelope_set_sender(env, m->sender)) == TS_OK) &&
        (m->recipient == NULL || (rc = ts_envelope_set_recipient(env, m->recipient)) == TS_OK))
        rc = m->content_type == NULL ? TS_OK
                                     : ts_envelope_set_content_type(env, m->content_type);
    ts_envelope_free(env);
    if (rc == TS_ERR_NOMEM)
        return rc;
    return rc == TS_OK ? TS_OK
                       : error_set(TS_ERR_INVALID, "a message field is not valid UTF-8 of "
                                   "at most %d bytes", TS_ENVELOPE_MAX_NAME);
}

static int send_check(const ts_client *c, const ts_client_outgoing *m)
{
    size_t max = c->cfg.max_message - CLIENT_ENVELOPE_OVERHEAD;

    if (m->payload == NULL && m->len > 0)
        return error_set(TS_ERR_INVALID, "payload is NULL");
    if ((m->flags & ~(TS_SEND_SIGN | TS_SEND_VOLATILE | TS_SEND_FIRST)) != 0)
        return error_set(TS_ERR_INVALID, "unknown send flags 0x%x", m->flags);
    if (m->len > max)
        return error_set(TS_ERR_TOO_LARGE, "message of %zu bytes exceeds the limit of %zu",
                         m->len, max);
    return fields_check(m);
}

/* Queue one message with whoever waits for its answer. */
static int send_entry(ts_client *c, const ts_client_outgoing *m, ts_send_callback cb,
                      void *arg, struct client_waiter *w, uint64_t *out_id)
{
    struct outbox_entry *e = NULL;
    uint64_t id = 0;
    int rc;

    if ((rc = send_check(c, m)) != TS_OK)
        return rc;
    pthread_mutex_lock(&c->lock);
    if ((rc = id_take(c, &id)) == TS_OK &&
        (rc = outbox_add_message(&c->outbox, id, m, clock_wall_ms(), &e)) == TS_OK) {
        e->cb = cb;
        e->cb_arg = arg;
        e->waiter = w;
    }
    pthread_mutex_unlock(&c->lock);
    if (rc != TS_OK)
        return rc;
    if (out_id != NULL)
        *out_id = id;
    client_wake(c);
    return TS_OK;
}

int ts_client_send_message(ts_client *c, const ts_client_outgoing *m, ts_send_callback cb,
                           void *arg, uint64_t *id)
{
    return send_entry(c, m, cb, arg, NULL, id);
}

int ts_client_send(ts_client *c, const void *payload, size_t len, unsigned flags,
                   ts_send_callback cb, void *arg, uint64_t *id)
{
    ts_client_outgoing m = {
        .type = TS_MSG_REQUEST, .payload = payload, .len = len, .flags = flags,
    };

    return send_entry(c, &m, cb, arg, NULL, id);
}

static bool waiter_done(ts_client *c, void *arg)
{
    const struct client_waiter *w = arg;

    return w->done;
}

/* The request gave up: whatever answers later goes to the message
 * callback [L held]. */
static void waiter_detach(ts_client *c, uint64_t id, struct client_waiter *w)
{
    struct outbox_entry *e = outbox_find(&c->outbox, id);

    if (e != NULL && e->waiter == w)
        e->waiter = NULL;
}

static int waiter_result(ts_client *c, struct client_waiter *w, uint64_t id,
                         ts_envelope **answer)
{
    int status = w->status;

    *answer = w->answer;
    w->answer = NULL;
    if (status == TS_ERR_SERVER)
        return error_set(status, "%s answered message %llu with an Error", c->hostport,
                         (unsigned long long)id);
    if (status == TS_ERR_CLOSED)
        return error_set(status, "the client shut down before message %llu was answered",
                         (unsigned long long)id);
    return status;
}

int ts_client_request_message(ts_client *c, const ts_client_outgoing *m,
                              uint32_t timeout_ms, ts_envelope **answer)
{
    struct client_waiter w = {0};
    uint64_t deadline = timeout_ms != 0 ? clock_mono_ms() + timeout_ms : 0, id = 0;
    int rc;

    *answer = NULL;
    pthread_mutex_lock(&c->lock);
    rc = client_on_driver(c);
    pthread_mutex_unlock(&c->lock);
    if (rc)
        return error_set(TS_ERR_STATE, "request from a client callback");
    if ((rc = send_entry(c, m, NULL, NULL, &w, &id)) != TS_OK)
        return rc;
    pthread_mutex_lock(&c->lock);
    client_want_session(c);
    rc = client_drive(c, waiter_done, &w, deadline);
    if (w.done) {
        rc = waiter_result(c, &w, id, answer);
    } else {
        waiter_detach(c, id, &w);
        if (rc == TS_ERR_TIMEOUT)
            rc = error_set(TS_ERR_TIMEOUT,
                           "no answer to message %llu from %s within %u ms; it stays in "
                           "the outbox", (unsigned long long)id, c->hostport, timeout_ms);
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

int ts_client_request(ts_client *c, const void *payload, size_t len, unsigned flags,
                      uint32_t timeout_ms, ts_envelope **answer)
{
    ts_client_outgoing m = {
        .type = TS_MSG_REQUEST, .payload = payload, .len = len, .flags = flags,
    };

    return ts_client_request_message(c, &m, timeout_ms, answer);
}
