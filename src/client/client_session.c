/*
 * One connection after another: attempts, the handshake, heartbeats,
 * losses and shutdown (client_internal.h). Everything here runs on the
 * driver.
 */
#include "client/client_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tcpseal/protocol.h>

#include "client/known_servers.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"

/* The known-servers rule, when no key is pinned. Runs inside the
 * handshake, before the client's identity is sent. */
static int check_server(void *arg, const uint8_t key[TS_PUBLIC_KEY_LEN],
                        const char *fingerprint)
{
    ts_client *c = arg;
    char expected[TS_FINGERPRINT_MAX] = "", detail[ERROR_DETAIL_MAX];
    int rc;

    c->first_use = false;
    if (c->server_key != NULL || c->known_path == NULL)
        return TS_OK;
    rc = known_servers_check(c->known_path, c->hostport, fingerprint, expected, NULL);
    if (rc == TS_OK)
        return TS_OK;
    if (rc == TS_ERR_NOT_FOUND) {
        c->first_use = true;
        return TS_OK;
    }
    if (rc == TS_ERR_KEY_MISMATCH)
        return error_set(rc,
                         "the identity of %s has changed: expected %s, got %s; not "
                         "connecting (if you trust the new key: tcp_client forget %s)",
                         c->hostport, expected, fingerprint, c->hostport);
    /* error_set() writes the buffer the detail is in: copy it first. */
    snprintf(detail, sizeof(detail), "%s", ts_error_detail(rc));
    return error_set(rc, "cannot check the server key: %s", detail);
}

void session_attempt(ts_client *c)
{
    struct client_conn_config ccfg = {
        .identity = c->cfg.identity,
        .server_fingerprint = c->server_key,
        .max_message = c->cfg.max_message,
        .tls = c->tls,
    };
    struct client_conn_callbacks cb = {
        .arg = c,
        .check_server = check_server,
        .on_message = traffic_on_message,
        .on_oversize = traffic_on_oversize,
    };
    ts_client_state state;
    uint64_t timeout, deadline;
    int rc;

    pthread_mutex_lock(&c->lock);
    timeout = c->attempt_timeout != 0 ? c->attempt_timeout : c->cfg.connect_timeout_ms;
    c->attempt_now = false;
    c->attempt_timeout = 0;
    state = c->state;
    pthread_mutex_unlock(&c->lock);
    if (state == TS_CLIENT_IDLE || state == TS_CLIENT_CLOSED)
        client_set_state(c, TS_CLIENT_CONNECTING, "");
    LOG_DEBUG("client_attempt", "server=%s", c->hostport);
    deadline = clock_mono_ms() + timeout;
    c->up = false;
    c->first_use = false;
    if ((rc = client_conn_new(&c->conn, &ccfg, &cb)) != TS_OK ||
        (rc = client_conn_connect(c->conn, c->host, c->cfg.port, deadline)) != TS_OK) {
        session_lost(c, rc);
        return;
    }
    c->handshake_deadline = deadline;
}

/* First use of a server: remember its key. Another program may have
 * recorded a different one meanwhile, which is a mismatch like any
 * other. 0, or why the session must not go on. */
static int record_server(ts_client *c, const char *fp)
{
    char expected[TS_FINGERPRINT_MAX];
    int rc;

    if (!c->first_use)
        return TS_OK;
    rc = known_servers_add(c->known_path, c->hostport, fp);
    if (rc == TS_OK)
        LOG_INFO("client_server_recorded", "server=%s key=%s", c->hostport, fp);
    if (rc == TS_ERR_KEY_MISMATCH &&
        known_servers_lookup(c->known_path, c->hostport, expected) == TS_OK)
        return error_set(rc,
                         "the identity of %s has changed: expected %s, got %s; not "
                         "connecting (if you trust the new key: tcp_client forget %s)",
                         c->hostport, expected, fp, c->hostport);
    if (rc != TS_OK && rc != TS_ERR_EXISTS && rc != TS_ERR_KEY_MISMATCH)
        client_report(c, rc, ts_error_detail(rc));
    return TS_OK;
}

static void session_up(ts_client *c)
{
    char fp[TS_FINGERPRINT_MAX];
    int rc;

    snprintf(fp, sizeof(fp), "%s", client_conn_server_fingerprint(c->conn));
    if ((rc = record_server(c, fp)) != TS_OK) {
        session_lost(c, rc);
        return;
    }
    c->up = true;
    c->ping_for = 0;
    pthread_mutex_lock(&c->lock);
    snprintf(c->server_fp, sizeof(c->server_fp), "%s", fp);
    c->connected_since_ms = clock_wall_ms();
    c->next_attempt_wall_ms = 0;
    if (c->ever_up)
        c->reconnects++;
    c->ever_up = true;
    backoff_reset(&c->backoff);
    c->attempts_done++;
    c->attempt_rc = TS_OK;
    c->last_error[0] = '\0';
    pthread_mutex_unlock(&c->lock);
    LOG_INFO("client_connected", "server=%s key=%s suite=%s", c->hostport, fp,
             client_conn_suite(c->conn));
    client_set_state(c, TS_CLIENT_CONNECTED, "");
}

void session_lost(ts_client *c, int rc)
{
    char detail[ERROR_DETAIL_MAX];
    ts_client_state next;
    bool was_up = c->up;
    uint32_t delay = 0;

    snprintf(detail, sizeof(detail), "%s", ts_error_detail(rc));
    client_conn_free(c->conn);
    c->conn = NULL;
    c->up = false;
    pthread_mutex_lock(&c->lock);
    outbox_requeue(&c->outbox);
    if (!was_up) {
        c->attempts_done++;
        c->attempt_rc = rc;
    }
    client_set_error(c, detail);
    c->connected_since_ms = 0;
    if (c->want_session && c->cfg.reconnect) {
        delay = backoff_next(&c->backoff, NULL);
        c->next_attempt = clock_mono_ms() + delay;
        c->next_attempt_wall_ms = clock_wall_ms() + delay;
        next = TS_CLIENT_RECONNECTING;
    } else {
        c->want_session = false;
        c->next_attempt_wall_ms = 0;
        next = TS_CLIENT_CLOSED;
    }
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    LOG_INFO("client_lost", "server=%s was_up=%d retry_in_ms=%u error=\"%s\"", c->hostport,
             was_up, delay, detail);
    client_set_state(c, next, detail);
    client_report(c, rc, detail);
}

void session_handle(ts_client *c, short revents)
{
    int rc = client_conn_handle(c->conn, revents);

    if (rc != TS_OK) {
        session_lost(c, rc);
        return;
    }
    if (!c->up && client_conn_state(c->conn) == CLIENT_CONN_READY)
        session_up(c);
    if (c->up) {
        pthread_mutex_lock(&c->lock);
        c->rekeys = client_conn_rekeys(c->conn);
        pthread_mutex_unlock(&c->lock);
    }
}

uint64_t session_next_timer(ts_client *c)
{
    uint64_t hb = c->cfg.heartbeat_ms, last;

    if (c->conn == NULL)
        return 0;
    if (!c->up)
        return c->handshake_deadline;
    if (hb == 0)
        return 0;
    last = client_conn_last_input_ms(c->conn);
    return c->ping_for == last ? last + hb : last + hb / 2;
}

/* A server silent for heartbeat_ms is taken for dead; after half of it a
 * ping asks for a sign of life (any input counts). */
static void heartbeat(ts_client *c, uint64_t now)
{
    uint64_t hb = c->cfg.heartbeat_ms;
    uint64_t last = client_conn_last_input_ms(c->conn);
    int rc;

    if (hb == 0 || now < last)
        return;
    if (now - last >= hb) {
        session_lost(c, error_set(TS_ERR_TIMEOUT,
                                  "no sign of life from %s for %llu ms (heartbeat)",
                                  c->hostport, (unsigned long long)(now - last)));
        return;
    }
    if (now - last >= hb / 2 && c->ping_for != last) {
        c->ping_for = last;
        rc = client_conn_ping(c->conn);
        if (rc != TS_OK && rc != TS_ERR_LIMIT)
            session_lost(c, rc);
    }
}

void session_timers(ts_client *c)
{
    uint64_t now = clock_mono_ms();

    if (c->conn == NULL)
        return;
    if (!c->up) {
        if (now >= c->handshake_deadline)
            session_lost(c, error_set(TS_ERR_TIMEOUT,
                                      "timed out during the handshake with %s",
                                      c->hostport));
        return;
    }
    heartbeat(c, now);
}

/* A sender's callback owed TS_ERR_CLOSED. */
struct closed_note {
    ts_send_callback cb;
    void *arg;
    uint64_t id;
};

/* Waiters and senders hear TS_ERR_CLOSED; the entries stay [L held].
 * *notes is malloc'd (NULL when there are none or memory ran out: the
 * callbacks then stay attached and run when the answer comes). */
static void release_senders(ts_client *c, struct closed_note **notes, size_t *n)
{
    size_t count = 0;

    *notes = NULL;
    *n = 0;
    for (size_t i = 0; i < c->outbox.n; i++)
        count += c->outbox.items[i]->cb != NULL;
    if (count > 0 && (*notes = calloc(count, sizeof(**notes))) == NULL)
        count = 0;
    for (size_t i = 0; i < c->outbox.n; i++) {
        struct outbox_entry *e = c->outbox.items[i];

        if (e->waiter != NULL)
            client_waiter_finish(c, e->waiter, TS_ERR_CLOSED, NULL);
        e->waiter = NULL;
        if (e->cb != NULL && *n < count) {
            (*notes)[(*n)++] = (struct closed_note){e->cb, e->cb_arg, e->id};
            e->cb = NULL;
        }
    }
}

void session_shutdown(ts_client *c)
{
    struct closed_note *notes;
    bool had_attempt = c->conn != NULL && !c->up;
    size_t n;

    if (c->conn != NULL) {
        /* The reason reaches the server unless it is gone already. */
        if (c->up)
            (void)client_conn_close(c->conn, TS_REASON_CLIENT_EXIT, NULL, 0);
        client_conn_free(c->conn);
        c->conn = NULL;
        c->up = false;
    }
    pthread_mutex_lock(&c->lock);
    c->want_session = false;
    c->attempt_now = false;
    c->connected_since_ms = 0;
    c->next_attempt_wall_ms = 0;
    outbox_requeue(&c->outbox);
    if (had_attempt) {
        c->attempts_done++;
        c->attempt_rc = error_set(TS_ERR_CLOSED, "shut down during the attempt");
        client_set_error(c, "shut down during the attempt");
    }
    release_senders(c, &notes, &n);
    c->shutdown_done = c->shutdown_asked;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    client_set_state(c, TS_CLIENT_CLOSED, ts_reason_text(TS_REASON_CLIENT_EXIT));
    for (size_t i = 0; i < n; i++)
        notes[i].cb(c, notes[i].id, TS_ERR_CLOSED, NULL, notes[i].arg);
    free(notes);
}
