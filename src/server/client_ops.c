/*
 * Public operations on one client: answer, notify, close, look up.
 *
 * A call made by the handler for the request it is handling goes straight
 * to the connection. Any other call is posted to the worker that owns the
 * client and carried out there, where the connection may already be gone.
 *
 * Answers to requests are also remembered per sender (senders.h), so a
 * client that repeats the request after reconnecting gets the same answer;
 * a connection that repeated it while the answer was pending gets it too.
 */
#include "server/conn.h"

#include <stdlib.h>
#include <string.h>

#include <tcpseal/protocol.h>

#include "server/reply.h"
#include "server/requests.h"
#include "service/bus.h"
#include "util/error.h"
#include "util/log.h"

enum client_op_kind { OP_ANSWER, OP_NOTICE, OP_CLOSE };

struct client_op {
    ts_server *srv;
    struct worker *worker;
    ts_client_id client;
    enum client_op_kind kind;
    uint64_t request_id;
    bool record;                          /* first delivery of an answer */
    bool have_identity;
    uint8_t identity[TS_PUBLIC_KEY_LEN];  /* the client's, for recording */
    uint16_t reason;
    char text[256];
    struct sender_result answer;          /* OP_ANSWER and OP_NOTICE; owns payload */
};

static void op_free(struct client_op *op)
{
    sender_result_clear(&op->answer);
    free(op);
}

/* The worker owning client, found under each worker's lock; copies the
 * client's identity out when asked. */
static struct worker *owner_of(ts_server *srv, ts_client_id client, uint8_t *identity)
{
    for (unsigned i = 0; srv->workers != NULL && i < srv->n_workers; i++) {
        struct worker *w = &srv->workers[i];
        struct conn *c;

        pthread_mutex_lock(&w->lock);
        c = idmap_get(&w->by_id, client);
        if (c != NULL && identity != NULL)
            memcpy(identity, c->identity, TS_PUBLIC_KEY_LEN);
        pthread_mutex_unlock(&w->lock);
        if (c != NULL)
            return w;
    }
    return NULL;
}

bool server_client_alive(void *ctx, ts_client_id client)
{
    return owner_of(ctx, client, NULL) != NULL;
}

static int op_submit(ts_server *srv, struct client_op *op);

/* Remember the answer; pass it on to a connection that repeated the
 * request while it was pending. */
static void op_record(struct client_op *op, ts_client_id answered)
{
    struct client_op *copy;
    ts_client_id waiter;

    if (!op->record || !op->have_identity)
        return;
    waiter = senders_record(&op->srv->senders, op->identity, op->request_id, &op->answer,
                            answered);
    if (waiter == 0 || (copy = malloc(sizeof(*copy))) == NULL)
        return;
    *copy = *op;
    copy->client = waiter;
    copy->record = false;
    copy->answer.payload = NULL;
    if (op->answer.len > 0 && (copy->answer.payload = malloc(op->answer.len)) == NULL) {
        free(copy);
        return;
    }
    if (op->answer.len > 0)
        memcpy(copy->answer.payload, op->answer.payload, op->answer.len);
    op_submit(op->srv, copy);
}

void server_answer(struct conn *c, uint64_t request_id, const struct sender_result *answer)
{
    struct client_op op = {.srv = c->worker->srv, .client = c->id, .kind = OP_ANSWER,
                           .request_id = request_id, .record = true, .have_identity = true,
                           .answer = *answer};

    memcpy(op.identity, c->identity, TS_PUBLIC_KEY_LEN);
    reply_answer(c, request_id, answer);
    /* op borrows answer's payload: op_record copies what it keeps. */
    op_record(&op, c->id);
}

static int op_apply(struct conn *c, struct client_op *op)
{
    int rc = TS_OK;

    switch (op->kind) {
    case OP_ANSWER:
        if (!op->have_identity) {
            memcpy(op->identity, c->identity, TS_PUBLIC_KEY_LEN);
            op->have_identity = true;
        }
        rc = reply_answer(c, op->request_id, &op->answer);
        op_record(op, c->id);
        break;
    case OP_NOTICE:
        rc = reply_notice(c, op->answer.payload, op->answer.len);
        break;
    case OP_CLOSE:
        LOG_INFO("client_closed", "client=%llu peer=%s reason=%s text=\"%s\"",
                 (unsigned long long)c->id, c->peer, ts_reason_name(op->reason), op->text);
        conn_close(c, op->reason, op->text[0] ? op->text : NULL);
        break;
    }
    return rc;
}

static void op_run(void *arg, bool discarded)
{
    struct client_op *op = arg;
    struct conn *c = discarded ? NULL : idmap_get(&op->worker->by_id, op->client);

    if (c != NULL) {
        op_apply(c, op);
        conn_settle(c);
    } else if (!discarded && op->kind == OP_ANSWER) {
        /* The client left before its answer: still remember it, so its
         * repeat after reconnecting is answered without a second run. */
        op_record(op, 0);
    }
    op_free(op);
}

static struct client_op *op_new(ts_server *srv, ts_client_id client,
                                enum client_op_kind kind)
{
    struct client_op *op = calloc(1, sizeof(*op));

    if (op != NULL) {
        op->srv = srv;
        op->client = client;
        op->kind = kind;
    }
    return op;
}

/* Apply op now when the caller is the owning worker, else post it. Takes
 * ownership of op. */
static int op_submit(ts_server *srv, struct client_op *op)
{
    struct conn *c = requests_current(op->client);
    struct worker *self = worker_current();
    ts_client_id client = op->client;
    int rc;

    if (c == NULL && self != NULL && self->srv == srv)
        c = idmap_get(&self->by_id, op->client);
    if (c != NULL) {
        /* Settling is left to the event callback below us. */
        rc = op_apply(c, op);
        op_free(op);
        return rc;
    }
    op->worker = owner_of(srv, op->client, op->have_identity ? NULL : op->identity);
    if (op->worker == NULL) {
        op_free(op);
        return error_set(TS_ERR_NOT_FOUND, "no client with id %llu",
                         (unsigned long long)client);
    }
    op->have_identity = true;
    if ((rc = mailbox_post(&op->worker->mailbox, op_run, op)) != TS_OK)
        op_free(op);
    return rc;
}

/* Copy an answer's borrowed payload into op. */
static int op_take_answer(struct client_op *op, const struct sender_result *answer)
{
    op->answer = *answer;
    op->answer.payload = NULL;
    if (answer->len > 0) {
        op->answer.payload = malloc(answer->len);
        if (op->answer.payload == NULL)
            return TS_ERR_NOMEM;
        memcpy(op->answer.payload, answer->payload, answer->len);
    }
    return TS_OK;
}

int ts_server_reply(ts_server *srv, ts_client_id client, const ts_envelope *request,
                    const void *payload, size_t len, const char *content_type)
{
    struct client_op *op = op_new(srv, client, OP_ANSWER);
    struct sender_result answer;

    if (op == NULL)
        return TS_ERR_NOMEM;
    reply_describe_response(srv, ts_envelope_is_signed(request), payload, len, content_type,
                            &answer);
    if (op_take_answer(op, &answer) != TS_OK) {
        op_free(op);
        return TS_ERR_NOMEM;
    }
    op->request_id = ts_envelope_id(request);
    op->record = true;
    return op_submit(srv, op);
}

int ts_server_reply_error(ts_server *srv, ts_client_id client, const ts_envelope *request,
                          uint16_t reason, const char *text)
{
    struct client_op *op = op_new(srv, client, OP_ANSWER);
    int rc;

    if (op == NULL)
        return TS_ERR_NOMEM;
    if ((rc = reply_describe_error(srv, reason, text, &op->answer)) != TS_OK) {
        op_free(op);
        return rc;
    }
    op->request_id = ts_envelope_id(request);
    op->record = true;
    return op_submit(srv, op);
}

int ts_server_send_notice(ts_server *srv, ts_client_id client, const void *payload,
                          size_t len)
{
    struct client_op *op;
    struct sender_result body = {.payload = (uint8_t *)payload, .len = len};

    if (len > server_cfg(srv)->max_message)
        return error_set(TS_ERR_TOO_LARGE, "notice of %zu bytes exceeds max_message", len);
    if ((op = op_new(srv, client, OP_NOTICE)) == NULL)
        return TS_ERR_NOMEM;
    if (op_take_answer(op, &body) != TS_OK) {
        op_free(op);
        return TS_ERR_NOMEM;
    }
    return op_submit(srv, op);
}

int ts_server_close_client(ts_server *srv, ts_client_id client, uint16_t reason,
                           const char *text)
{
    struct client_op *op = op_new(srv, client, OP_CLOSE);

    if (op == NULL)
        return TS_ERR_NOMEM;
    op->reason = reason;
    if (text != NULL)
        snprintf(op->text, sizeof(op->text), "%s", text);
    return op_submit(srv, op);
}

/* ---- work handed back to a client's worker ---- */

struct client_call {
    struct worker *worker;
    ts_client_id client;
    void (*fn)(struct conn *c, void *arg);
    void *arg;
};

static void call_run(void *arg, bool discarded)
{
    struct client_call *call = arg;
    struct conn *c = discarded ? NULL : idmap_get(&call->worker->by_id, call->client);

    call->fn(c, call->arg);
    if (c != NULL)
        conn_settle(c);
    free(call);
}

int server_run_on_client(ts_server *srv, ts_client_id client,
                         void (*fn)(struct conn *c, void *arg), void *arg)
{
    struct client_call *call = malloc(sizeof(*call));

    if (call == NULL)
        return TS_ERR_NOMEM;
    call->client = client;
    call->fn = fn;
    call->arg = arg;
    call->worker = owner_of(srv, client, NULL);
    if (call->worker == NULL || mailbox_post(&call->worker->mailbox, call_run, call) != TS_OK) {
        /* Gone (or no memory to say so later): tell fn now. */
        free(call);
        fn(NULL, arg);
    }
    return TS_OK;
}

struct delivery {
    struct worker *worker;
    struct bus_message *msg;
    size_t n;
    ts_client_id clients[];
};

static void delivery_run(void *arg, bool discarded)
{
    struct delivery *d = arg;

    for (size_t i = 0; !discarded && i < d->n; i++) {
        struct conn *c = idmap_get(&d->worker->by_id, d->clients[i]);
        if (c == NULL)
            continue;
        if (d->msg->kind == BUS_EVENT)
            reply_event(c, d->msg->data, d->msg->len);
        else
            conn_send(c, d->msg->data, d->msg->len);
        conn_settle(c);
    }
    bus_message_unref(d->msg);
    free(d);
}

void server_deliver(void *ctx, unsigned worker, const ts_client_id *clients, size_t n,
                    struct bus_message *msg)
{
    ts_server *srv = ctx;
    struct delivery *d;

    if (worker >= srv->n_workers || (d = malloc(sizeof(*d) + n * sizeof(*clients))) == NULL)
        return;
    d->worker = &srv->workers[worker];
    d->msg = msg;
    d->n = n;
    memcpy(d->clients, clients, n * sizeof(*clients));
    bus_message_ref(msg);
    if (mailbox_post(&d->worker->mailbox, delivery_run, d) != TS_OK) {
        bus_message_unref(msg);
        free(d);
    }
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
