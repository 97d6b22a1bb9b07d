/*
 * Questions any thread may ask a ts_client: status, last error, the
 * inbox (client_internal.h).
 */
#include "client/client_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

bool ts_client_is_connected(ts_client *c)
{
    bool up;

    pthread_mutex_lock(&c->lock);
    up = c->state == TS_CLIENT_CONNECTED;
    pthread_mutex_unlock(&c->lock);
    return up;
}

int ts_client_get_status(ts_client *c, ts_client_status *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&c->lock);
    out->state = c->state;
    client_copy_text(out->server, sizeof(out->server), c->hostport);
    client_copy_text(out->server_fingerprint, sizeof(out->server_fingerprint), c->server_fp);
    client_copy_text(out->fingerprint, sizeof(out->fingerprint), c->fingerprint);
    client_copy_text(out->last_error, sizeof(out->last_error), c->last_error);
    out->connected_since_ms = c->state == TS_CLIENT_CONNECTED ? c->connected_since_ms : 0;
    out->next_attempt_ms = c->state == TS_CLIENT_RECONNECTING ? c->next_attempt_wall_ms : 0;
    out->reconnects = c->reconnects;
    out->rekeys = c->state == TS_CLIENT_CONNECTED ? c->rekeys : 0;
    out->messages_in = c->messages_in;
    out->messages_out = c->messages_out;
    out->outbox = outbox_count(&c->outbox);
    out->in_flight = outbox_in_flight(&c->outbox);
    out->inbox = inbox_count(&c->inbox);
    pthread_mutex_unlock(&c->lock);
    return TS_OK;
}

const char *ts_client_last_error(ts_client *c)
{
    /* The caller's own copy: the loop may change the original any time. */
    static _Thread_local char copy[CLIENT_ERROR_MAX];

    pthread_mutex_lock(&c->lock);
    client_copy_text(copy, sizeof(copy), c->last_error);
    pthread_mutex_unlock(&c->lock);
    return copy;
}

struct inbox_copy {
    ts_envelope **list;
    size_t n, cap;
};

static int copy_one(void *arg, const uint8_t *data, size_t len, bool verified,
                    uint64_t received_ms)
{
    struct inbox_copy *ic = arg;
    ts_envelope *env;
    int rc;

    if (ic->n == ic->cap)
        return TS_OK;
    if ((rc = ts_envelope_decode(data, len, &env)) != TS_OK)
        return error_set(rc, "the inbox holds a damaged envelope: %s", ts_strerror(rc));
    ic->list[ic->n++] = env;
    return TS_OK;
}

int ts_client_inbox(ts_client *c, size_t max, ts_envelope ***out, size_t *n)
{
    struct inbox_copy ic = {0};
    int rc = TS_OK;

    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&c->lock);
    ic.cap = inbox_count(&c->inbox) < max ? inbox_count(&c->inbox) : max;
    if (ic.cap > 0 && (ic.list = calloc(ic.cap, sizeof(*ic.list))) == NULL)
        rc = error_set(TS_ERR_NOMEM, "out of memory");
    if (rc == TS_OK && ic.cap > 0)
        rc = inbox_list(&c->inbox, ic.cap, copy_one, &ic);
    pthread_mutex_unlock(&c->lock);
    if (rc != TS_OK) {
        ts_client_inbox_free(ic.list, ic.n);
        return rc;
    }
    *out = ic.list;
    *n = ic.n;
    return TS_OK;
}

void ts_client_inbox_free(ts_envelope **list, size_t n)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        ts_envelope_free(list[i]);
    free(list);
}

struct entries_copy {
    struct client_inbox_entry *list;
    size_t n, cap;
};

static int entry_copy(void *arg, const uint8_t *data, size_t len, bool verified,
                      uint64_t received_ms)
{
    struct entries_copy *ec = arg;
    ts_envelope *env;
    int rc;

    if (ec->n == ec->cap)
        return TS_OK;
    if ((rc = ts_envelope_decode(data, len, &env)) != TS_OK)
        return error_set(rc, "the inbox holds a damaged envelope: %s", ts_strerror(rc));
    ec->list[ec->n++] = (struct client_inbox_entry){env, verified, received_ms};
    return TS_OK;
}

int client_inbox_entries(ts_client *c, size_t max, struct client_inbox_entry **out,
                         size_t *n)
{
    struct entries_copy ec = {0};
    int rc = TS_OK;

    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&c->lock);
    ec.cap = inbox_count(&c->inbox) < max ? inbox_count(&c->inbox) : max;
    if (ec.cap > 0 && (ec.list = calloc(ec.cap, sizeof(*ec.list))) == NULL)
        rc = error_set(TS_ERR_NOMEM, "out of memory");
    if (rc == TS_OK && ec.cap > 0)
        rc = inbox_list(&c->inbox, ec.cap, entry_copy, &ec);
    pthread_mutex_unlock(&c->lock);
    if (rc != TS_OK) {
        client_inbox_entries_free(ec.list, ec.n);
        return rc;
    }
    *out = ec.list;
    *n = ec.n;
    return TS_OK;
}

void client_inbox_entries_free(struct client_inbox_entry *list, size_t n)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        ts_envelope_free(list[i].env);
    free(list);
}
