/*
 * Public operations on one client: reply, refuse, notify, close, look up.
 *
 * A call made by the handler for the request it is handling goes straight
 * to the connection. Any other call is posted to the worker that owns the
 * client and carried out there, where the connection may already be gone.
 */
#include "server/conn.h"

#include <stdlib.h>
#include <string.h>

#include <tcpseal/protocol.h>

#include "server/reply.h"
#include "server/requests.h"
#include "util/error.h"
#include "util/log.h"

enum client_op_kind { OP_REPLY, OP_ERROR, OP_NOTICE, OP_CLOSE };

struct client_op {
    struct worker *worker;
    ts_client_id client;
    enum client_op_kind kind;
    uint64_t request_id;
    bool request_signed;
    uint16_t reason;
    char content_type[TS_ENVELOPE_MAX_NAME + 1];
    char text[256];
    size_t len;
    uint8_t payload[];
};

/* The worker owning client, found under each worker's lock. */
static struct worker *owner_of(ts_server *srv, ts_client_id client)
{
    for (unsigned i = 0; srv->workers != NULL && i < srv->n_workers; i++) {
        struct worker *w = &srv->workers[i];
        bool found;

        pthread_mutex_lock(&w->lock);
        found = idmap_get(&w->by_id, client) != NULL;
        pthread_mutex_unlock(&w->lock);
        if (found)
            return w;
    }
    return NULL;
}

static int op_apply(struct conn *c, const struct client_op *op)
{
    switch (op->kind) {
    case OP_REPLY:
        return reply_response(c, op->request_id, op->request_signed, op->payload, op->len,
                              op->content_type[0] != '\0' ? op->content_type : NULL);
    case OP_ERROR:
        return reply_error(c, op->request_id, op->reason, op->text[0] ? op->text : NULL);
    case OP_NOTICE:
        return reply_notice(c, op->payload, op->len);
    case OP_CLOSE:
        LOG_INFO("client_closed", "client=%llu peer=%s reason=%s text=\"%s\"",
                 (unsigned long long)c->id, c->peer, ts_reason_name(op->reason), op->text);
        conn_close(c, op->reason, op->text[0] ? op->text : NULL);
        return TS_OK;
    }
    return TS_ERR_INVALID;
}

static void op_run(void *arg, bool discarded)
{
    struct client_op *op = arg;
    struct conn *c = discarded ? NULL : idmap_get(&op->worker->by_id, op->client);

    if (c != NULL) {
        op_apply(c, op);
        conn_settle(c);
    }
    free(op);
}

static struct client_op *op_new(ts_client_id client, enum client_op_kind kind,
                                const void *payload, size_t len)
{
    struct client_op *op = calloc(1, sizeof(*op) + len);

    if (op == NULL)
        return NULL;
    op->client = client;
    op->kind = kind;
    op->len = len;
    if (len > 0)
        memcpy(op->payload, payload, len);
    return op;
}

/* Apply op now when the caller is the owning worker, else post it. Takes
 * ownership of op. */
static int op_submit(ts_server *srv, struct client_op *op)
{
    struct conn *c = requests_current(op->client);
    struct worker *self = worker_current();
    int rc;

    if (c == NULL && self != NULL && self->srv == srv)
        c = idmap_get(&self->by_id, op->client);
    if (c != NULL) {
        /* Settling is left to the event callback below us. */
        rc = op_apply(c, op);
        free(op);
        return rc;
    }
    op->worker = owner_of(srv, op->client);
    if (op->worker == NULL) {
        ts_client_id client = op->client;
        free(op);
        return error_set(TS_ERR_NOT_FOUND, "no client with id %llu",
                         (unsigned long long)client);
    }
    if ((rc = mailbox_post(&op->worker->mailbox, op_run, op)) != TS_OK)
        free(op);
    return rc;
}

int ts_server_reply(ts_server *srv, ts_client_id client, const ts_envelope *request,
                    const void *payload, size_t len, const char *content_type)
{
    struct client_op *op = op_new(client, OP_REPLY, payload, len);

    if (op == NULL)
        return TS_ERR_NOMEM;
    op->request_id = ts_envelope_id(request);
    op->request_signed = ts_envelope_is_signed(request);
    if (content_type != NULL)
        snprintf(op->content_type, sizeof(op->content_type), "%s", content_type);
    return op_submit(srv, op);
}

int ts_server_reply_error(ts_server *srv, ts_client_id client, const ts_envelope *request,
                          uint16_t reason, const char *text)
{
    struct client_op *op = op_new(client, OP_ERROR, NULL, 0);

    if (op == NULL)
        return TS_ERR_NOMEM;
    op->request_id = ts_envelope_id(request);
    op->reason = reason;
    if (text != NULL)
        snprintf(op->text, sizeof(op->text), "%s", text);
    return op_submit(srv, op);
}

int ts_server_send_notice(ts_server *srv, ts_client_id client, const void *payload,
                          size_t len)
{
    struct client_op *op;

    if (len > server_cfg(srv)->max_message)
        return error_set(TS_ERR_TOO_LARGE, "notice of %zu bytes exceeds max_message", len);
    if ((op = op_new(client, OP_NOTICE, payload, len)) == NULL)
        return TS_ERR_NOMEM;
    return op_submit(srv, op);
}

int ts_server_close_client(ts_server *srv, ts_client_id client, uint16_t reason,
                           const char *text)
{
    struct client_op *op = op_new(client, OP_CLOSE, NULL, 0);

    if (op == NULL)
        return TS_ERR_NOMEM;
    op->reason = reason;
    if (text != NULL)
        snprintf(op->text, sizeof(op->text), "%s", text);
    return op_submit(srv, op);
}

int ts_server_list_clients(ts_server *srv, ts_client_id **ids, size_t *n)
{
    size_t count = 0, cap = 0;
    ts_client_id *out = NULL;
    int rc = TS_OK;

    for (unsigned i = 0; srv->workers != NULL && i < srv->n_workers && rc == TS_OK; i++) {
        struct worker *w = &srv->workers[i];

        pthread_mutex_lock(&w->lock);
        if (count + w->n_conns > cap) {
            ts_client_id *grown = realloc(out, (count + w->n_conns + 16) * sizeof(*out));
            if (grown == NULL)
                rc = TS_ERR_NOMEM;
            else {
                out = grown;
                cap = count + w->n_conns + 16;
            }
        }
        for (struct conn *c = w->conns; c != NULL && rc == TS_OK; c = c->next)
            out[count++] = c->id;
        pthread_mutex_unlock(&w->lock);
    }
    if (rc != TS_OK) {
        free(out);
        return rc;
    }
    *ids = out;
    *n = count;
    return TS_OK;
}

int ts_server_client_info(ts_server *srv, ts_client_id client, ts_client_info *out)
{
    for (unsigned i = 0; srv->workers != NULL && i < srv->n_workers; i++) {
        struct worker *w = &srv->workers[i];
        struct conn *c;

        pthread_mutex_lock(&w->lock);
        c = idmap_get(&w->by_id, client);
        if (c != NULL) {
            memset(out, 0, sizeof(*out));
            out->id = c->id;
            snprintf(out->peer, sizeof(out->peer), "%s", c->peer);
            memcpy(out->fingerprint, c->fingerprint, sizeof(out->fingerprint));
            memcpy(out->identity, c->identity, sizeof(out->identity));
        }
        pthread_mutex_unlock(&w->lock);
        if (c != NULL)
            return TS_OK;
    }
    return error_set(TS_ERR_NOT_FOUND, "no client with id %llu", (unsigned long long)client);
}
