/*
 * ts_client: life cycle, configuration and callbacks (client_internal.h
 * lists the other files).
 */
#include "client/client_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <sodium.h>
#include <tcpseal/protocol.h>

#include "client/client_db.h"
#include "net/tls.h"
#include "util/clock.h"
#include "util/crypto_init.h"
#include "util/error.h"
#include "util/log.h"

#define DEFAULT_HOST "localhost"
#define DEFAULT_PORT 8080
#define DEFAULT_CONNECT_TIMEOUT_MS 10000u
#define DEFAULT_HEARTBEAT_MS 15000u
#define DEFAULT_RECONNECT_INITIAL_MS 500u
#define DEFAULT_RECONNECT_MAX_MS 30000u
#define DEFAULT_INBOX_LIMIT 1000u

static const char *const state_names[] = {
    [TS_CLIENT_IDLE] = "idle",
    [TS_CLIENT_CONNECTING] = "connecting",
    [TS_CLIENT_CONNECTED] = "connected",
    [TS_CLIENT_RECONNECTING] = "reconnecting",
    [TS_CLIENT_CLOSED] = "closed",
};

const char *ts_client_state_name(ts_client_state state)
{
    if ((unsigned)state >= sizeof(state_names) / sizeof(state_names[0]))
        return "unknown";
    return state_names[state];
}

void ts_client_config_init(ts_client_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->host = DEFAULT_HOST;
    cfg->port = DEFAULT_PORT;
    cfg->connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
    cfg->heartbeat_ms = DEFAULT_HEARTBEAT_MS;
    cfg->reconnect = true;
    cfg->reconnect_initial_ms = DEFAULT_RECONNECT_INITIAL_MS;
    cfg->reconnect_max_ms = DEFAULT_RECONNECT_MAX_MS;
    cfg->max_message = TS_DEFAULT_MAX_MESSAGE;
    cfg->inbox_limit = DEFAULT_INBOX_LIMIT;
}

static int config_check(const ts_client_config *cfg)
{
    if (cfg->identity == NULL)
        return error_set(TS_ERR_CONFIG, "the client needs an identity");
    if (cfg->host == NULL || cfg->host[0] == '\0' || cfg->port == 0)
        return error_set(TS_ERR_CONFIG, "the client needs a server host and port");
    if (cfg->server_key != NULL && ts_fingerprint_validate(cfg->server_key) != TS_OK)
        return error_set(TS_ERR_CONFIG, "malformed server key '%.60s' (SHA256:...)",
                         cfg->server_key);
    if (cfg->max_message <= CLIENT_ENVELOPE_OVERHEAD ||
        cfg->max_message > TS_MAX_MESSAGE_LIMIT)
        return error_set(TS_ERR_CONFIG, "maximum message size must be between %u and %u",
                         CLIENT_ENVELOPE_OVERHEAD + 1, TS_MAX_MESSAGE_LIMIT);
    if (cfg->connect_timeout_ms == 0)
        return error_set(TS_ERR_CONFIG, "connect timeout must not be 0");
    if (cfg->heartbeat_ms != 0 && cfg->heartbeat_ms < CLIENT_HEARTBEAT_MIN_MS)
        return error_set(TS_ERR_CONFIG, "heartbeat must be 0 (off) or at least %u ms",
                         CLIENT_HEARTBEAT_MIN_MS);
    if (cfg->reconnect_initial_ms == 0 || cfg->reconnect_max_ms < cfg->reconnect_initial_ms)
        return error_set(TS_ERR_CONFIG,
                         "reconnect delays: initial must be at least 1 ms and at most the "
                         "maximum");
    /* TLS settings without TLS are a mistake that would go unnoticed: the
     * connection would simply be plain TCP. */
    if (!cfg->tls && (cfg->tls_ca != NULL || cfg->tls_cert != NULL || cfg->tls_key != NULL ||
                      cfg->tls_server_name != NULL || cfg->tls_pin != NULL ||
                      cfg->tls_min_version != 0))
        return error_set(TS_ERR_CONFIG, "TLS settings are given but TLS is not enabled");
    return TS_OK;
}

static int copy_string(const char *src, char **dst)
{
    *dst = NULL;
    if (src == NULL)
        return TS_OK;
    if ((*dst = strdup(src)) == NULL)
        return error_set(TS_ERR_NOMEM, "out of memory");
    return TS_OK;
}

/* The TLS settings are loaded once, here, so a missing or bad file fails
 * ts_client_new() rather than every attempt; the context keeps what it
 * needs and the strings are not kept. */
static int tls_load(ts_client *c, const ts_client_config *cfg)
{
    struct tls_client_config tcfg = {
        .ca = cfg->tls_ca,
        .cert_file = cfg->tls_cert,
        .key_file = cfg->tls_key,
        .server_name = cfg->tls_server_name,
        .pin = cfg->tls_pin,
        .min_version = cfg->tls_min_version,
    };
    char detail[ERROR_DETAIL_MAX];
    int rc;

    c->cfg.tls_ca = c->cfg.tls_cert = c->cfg.tls_key = NULL;
    c->cfg.tls_server_name = c->cfg.tls_pin = NULL;
    if (!cfg->tls)
        return TS_OK;
    if ((rc = tls_client_ctx_new(&c->tls, &tcfg)) == TS_OK || rc == TS_ERR_NOMEM)
        return rc;
    /* The detail is re-recorded under another code: copy it out first. */
    snprintf(detail, sizeof(detail), "%s", ts_error_detail(rc));
    return error_set(TS_ERR_CONFIG, "%s", detail);
}

static int copy_config(ts_client *c, const ts_client_config *cfg)
{
    int rc;

    c->cfg = *cfg;
    if ((rc = copy_string(cfg->host, &c->host)) != TS_OK ||
        (rc = copy_string(cfg->server_key, &c->server_key)) != TS_OK ||
        (rc = copy_string(cfg->known_servers_path, &c->known_path)) != TS_OK ||
        (rc = copy_string(cfg->store_path, &c->store_path)) != TS_OK ||
        (rc = copy_string(cfg->sequence_path, &c->seq_path)) != TS_OK)
        return rc;
    c->cfg.host = c->host;
    c->cfg.server_key = c->server_key;
    c->cfg.known_servers_path = c->known_path;
    c->cfg.store_path = c->store_path;
    c->cfg.sequence_path = c->seq_path;
    if (net_hostport_format(c->host, cfg->port, c->hostport, sizeof(c->hostport)) != TS_OK)
        return error_set(TS_ERR_CONFIG, "invalid server host '%.80s'", c->host);
    ts_identity_fingerprint(cfg->identity, c->fingerprint);
    return tls_load(c, cfg);
}

/* Waits use the monotonic clock, like every deadline here. */
static int sync_init(ts_client *c)
{
    pthread_condattr_t attr;
    int rc;

    if (pthread_mutex_init(&c->lock, NULL) != 0)
        return error_set(TS_ERR_NOMEM, "cannot create a mutex");
    if (pthread_condattr_init(&attr) != 0)
        goto fail_mutex;
    rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
         pthread_cond_init(&c->cond, &attr) == 0;
    pthread_condattr_destroy(&attr);
    if (!rc)
        goto fail_mutex;
    if ((c->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
        rc = error_set(TS_ERR_IO, "eventfd: %s", strerror(errno));
        pthread_cond_destroy(&c->cond);
        pthread_mutex_destroy(&c->lock);
        return rc;
    }
    return TS_OK;
fail_mutex:
    pthread_mutex_destroy(&c->lock);
    return error_set(TS_ERR_NOMEM, "cannot create a condition variable");
}

/* The outbox and inbox, from the store file when there is one. */
static int messages_open(ts_client *c)
{
    int rc;

    if (c->store_path != NULL && (rc = client_db_open(&c->db, c->store_path)) != TS_OK)
        return rc;
    outbox_init(&c->outbox, c->db, 0, 0);
    if ((rc = outbox_load(&c->outbox)) != TS_OK ||
        (rc = inbox_open(&c->inbox, c->db, c->cfg.inbox_limit)) != TS_OK)
        return rc;
    if (c->db != NULL && (rc = client_db_meta_get(c->db, "last_id", &c->last_id)) != TS_OK)
        return rc;
    /* Ids numbered here continue above anything still waiting. */
    if (outbox_count(&c->outbox) > 0 &&
        c->outbox.items[c->outbox.n - 1]->id > c->last_id)
        c->last_id = c->outbox.items[c->outbox.n - 1]->id;
    if (outbox_count(&c->outbox) > 0)
        LOG_INFO("client_outbox_loaded", "file=\"%s\" messages=%zu", c->store_path,
                 outbox_count(&c->outbox));
    return TS_OK;
}

int ts_client_new(ts_client **out, const ts_client_config *cfg)
{
    ts_client *c;
    int rc;

    *out = NULL;
    if ((rc = crypto_init()) != TS_OK || (rc = config_check(cfg)) != TS_OK)
        return rc;
    if ((c = calloc(1, sizeof(*c))) == NULL)
        return error_set(TS_ERR_NOMEM, "out of memory");
    c->wake_fd = -1;
    if ((rc = copy_config(c, cfg)) != TS_OK || (rc = sync_init(c)) != TS_OK)
        goto fail_early;
    backoff_init(&c->backoff, cfg->reconnect_initial_ms, cfg->reconnect_max_ms);
    c->state = TS_CLIENT_IDLE;
    if ((rc = messages_open(c)) != TS_OK) {
        ts_client_free(c);
        return rc;
    }
    *out = c;
    return TS_OK;
fail_early:
    tls_client_ctx_free(c->tls);
    free(c->host);
    free(c->server_key);
    free(c->known_path);
    free(c->store_path);
    free(c->seq_path);
    free(c);
    return rc;
}

/* Waiting senders hear TS_ERR_CLOSED; the entries stay (and in the
 * store). Lock not held: callbacks run. */
static void outbox_release_senders(ts_client *c)
{
    for (size_t i = 0; i < c->outbox.n; i++) {
        struct outbox_entry *e = c->outbox.items[i];

        if (e->cb != NULL)
            e->cb(c, e->id, TS_ERR_CLOSED, NULL, e->cb_arg);
        e->cb = NULL;
    }
}

void ts_client_free(ts_client *c)
{
    if (c == NULL)
        return;
    if (c->listening)
        (void)ts_client_listen_stop(c);
    /* Nobody else runs now: this thread closes what is left. */
    pthread_mutex_lock(&c->lock);
    c->driving = true;
    c->driver = pthread_self();
    pthread_mutex_unlock(&c->lock);
    if (c->conn != NULL)
        session_shutdown(c);
    outbox_release_senders(c);
    outbox_free(&c->outbox);
    inbox_close(&c->inbox);
    client_db_close(c->db);
    close(c->wake_fd);
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->lock);
    tls_client_ctx_free(c->tls);
    free(c->host);
    free(c->server_key);
    free(c->known_path);
    free(c->store_path);
    free(c->seq_path);
    sodium_memzero(c, sizeof(*c));
    free(c);
}

void ts_client_set_message_callback(ts_client *c, ts_message_callback cb, void *arg)
{
    pthread_mutex_lock(&c->lock);
    c->on_message = cb;
    c->message_arg = arg;
    pthread_mutex_unlock(&c->lock);
}

void ts_client_set_error_callback(ts_client *c, ts_error_callback cb, void *arg)
{
    pthread_mutex_lock(&c->lock);
    c->on_error = cb;
    c->error_arg = arg;
    pthread_mutex_unlock(&c->lock);
}

void ts_client_set_state_callback(ts_client *c, ts_state_callback cb, void *arg)
{
    pthread_mutex_lock(&c->lock);
    c->on_state = cb;
    c->state_arg = arg;
    pthread_mutex_unlock(&c->lock);
}

void client_set_relay_hook(ts_client *c, client_relay_fn fn, void *arg)
{
    pthread_mutex_lock(&c->lock);
    c->relay_hook = fn;
    c->relay_arg = arg;
    pthread_mutex_unlock(&c->lock);
}

void client_wake(ts_client *c)
{
    uint64_t one = 1;

    /* A full counter already means "wake up". */
    (void)!write(c->wake_fd, &one, sizeof(one));
}

void client_set_error(ts_client *c, const char *detail)
{
    snprintf(c->last_error, sizeof(c->last_error), "%s", detail);
}

void client_set_state(ts_client *c, ts_client_state state, const char *reason)
{
    ts_state_callback cb;
    void *arg;

    pthread_mutex_lock(&c->lock);
    c->state = state;
    cb = c->on_state;
    arg = c->state_arg;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    LOG_INFO("client_state", "server=%s state=%s reason=\"%s\"", c->hostport,
             ts_client_state_name(state), reason);
    if (cb != NULL)
        cb(c, state, reason, arg);
}

void client_report(ts_client *c, int err, const char *detail)
{
    ts_error_callback cb;
    void *arg;

    pthread_mutex_lock(&c->lock);
    cb = c->on_error;
    arg = c->error_arg;
    pthread_mutex_unlock(&c->lock);
    LOG_WARN("client_error", "server=%s error=\"%s\"", c->hostport, detail);
    if (cb != NULL)
        cb(c, err, detail, arg);
}

void client_want_session(ts_client *c)
{
    if (c->want_session)
        return;
    c->want_session = true;
    c->next_attempt = 0;
    c->next_attempt_wall_ms = 0;
    client_wake(c);
}

