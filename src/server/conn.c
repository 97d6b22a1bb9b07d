#include "server/conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <sodium.h>
#include <tcpseal/protocol.h>

#include "server/dispatch.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"

static const char *const state_names[] = {"hello", "handshake", "ready", "closing"};

const char *conn_state_name(int state)
{
    return state >= 0 && state <= CONN_CLOSING ? state_names[state] : "unknown";
}

static int conn_get_state(const struct conn *c)
{
    return atomic_load_explicit(&c->state, memory_order_relaxed);
}

bool conn_is_ready(const struct conn *c)
{
    return conn_get_state(c) == CONN_READY;
}

static void conn_set_state(struct conn *c, enum conn_state s)
{
    atomic_store_explicit(&c->state, s, memory_order_relaxed);
}

/* ---- output sink: the channel encrypts straight into the socket's
 * output buffer ---- */

static uint8_t *sink_reserve(void *arg, size_t n)
{
    struct conn *c = arg;
    struct evbuffer *out = bufferevent_get_output(c->bev);

    /* A reader that lets this much pile up is cut off; the closing
     * reason itself may still pass. */
    if (conn_get_state(c) != CONN_CLOSING &&
        evbuffer_get_length(out) + n > server_cfg(c->worker->srv)->max_output)
        return NULL;
    if (evbuffer_reserve_space(out, (ev_ssize_t)n, &c->reserved, 1) < 1)
        return NULL;
    return c->reserved.iov_base;
}

static void sink_commit(void *arg, size_t n)
{
    struct conn *c = arg;

    c->reserved.iov_len = n;
    evbuffer_commit_space(bufferevent_get_output(c->bev), &c->reserved, 1);
    counter_add(&c->bytes_out, n);
    counter_add(&c->worker->counters.bytes_out, n);
}

/* ---- channel events ---- */

static uint16_t conn_on_hello(void *arg, const struct hello_client *hello)
{
    struct conn *c = arg;

    if (c->reject_reason != 0)
        return c->reject_reason;
    conn_set_state(c, CONN_HANDSHAKE);
    return 0;
}

static int conn_on_established(void *arg)
{
    struct conn *c = arg;
    struct worker *w = c->worker;
    const ts_server_config *cfg = server_cfg(w->srv);
    const uint8_t *peer = channel_peer_identity(c->ch);
    uint64_t now = clock_mono_ms();

    pthread_mutex_lock(&w->lock);
    memcpy(c->identity, peer, TS_PUBLIC_KEY_LEN);
    ts_fingerprint_of_key(peer, c->fingerprint);
    c->suite = channel_suite(c->ch);
    pthread_mutex_unlock(&w->lock);
    conn_set_state(c, CONN_READY);
    c->last_message_ms = c->ready_ms = now;
    ratelimit_init(&c->message_bucket, cfg->message_burst, now);
    ratelimit_init(&c->byte_bucket, cfg->byte_burst, now);
    counter_add(&w->counters.handshakes_ok, 1);
    LOG_DEBUG("handshake_ok", "client=%llu peer=%s fingerprint=%s suite=%s",
              (unsigned long long)c->id, c->peer, c->fingerprint, c->suite);
    service_conn_ready(c);
    return TS_OK;
}

static int conn_on_message(void *arg, uint8_t *data, size_t len)
{
    struct conn *c = arg;

    c->last_message_ms = clock_mono_ms();
    counter_add(&c->messages_in, 1);
    counter_add(&c->worker->counters.messages_in, 1);
    dispatch_message(c, data, len);
    return TS_OK;
}

static int conn_on_oversize(void *arg, uint64_t size)
{
    struct conn *c = arg;

    c->last_message_ms = clock_mono_ms();
    dispatch_oversize(c, size);
    return TS_OK;
}

/* A client that pings on its own is keeping a session it means to use:
 * that is activity (answers to our own pings are not). */
static void conn_on_ping(void *arg)
{
    struct conn *c = arg;
    c->last_message_ms = clock_mono_ms();
}

static void conn_on_peer_close(void *arg, uint16_t reason, const char *text)
{
    struct conn *c = arg;

    LOG_DEBUG("peer_closed", "client=%llu peer=%s reason=%s text=\"%s\"",
              (unsigned long long)c->id, c->peer, ts_reason_name(reason), text);
}

/* ---- closing ---- */

/* Our reason has been written out: half-close so the peer reads it before
 * it sees the end, then wait for its side to end too. Under TLS a raw
 * half-close would cut the TLS stream, so the connection simply ends. */
static void conn_shut_write(struct conn *c)
{
    if (c->write_shut)
        return;
    c->write_shut = true;
    if (c->tls)
        c->free_pending = true;
    else
        shutdown(bufferevent_getfd(c->bev), SHUT_WR);
}

void conn_close(struct conn *c, uint16_t reason, const char *text)
{
    enum channel_state cs;

    if (conn_get_state(c) == CONN_CLOSING)
        return;
    conn_set_state(c, CONN_CLOSING);
    cs = channel_get_state(c->ch);
    if (cs == CHANNEL_HELLO || cs == CHANNEL_ESTABLISHED)
        channel_close(c->ch, reason, text);
    c->deadline_ms = clock_mono_ms() + SERVER_LINGER_MS;
    LOG_DEBUG("conn_closing", "client=%llu peer=%s reason=%s", (unsigned long long)c->id,
              c->peer, ts_reason_name(reason));
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
        conn_shut_write(c);
}

/* The output queue reached max_output: the reader is cut off with a
 * reason (which may still pass the limit) and logged once. */
static void conn_cut_slow_consumer(struct conn *c)
{
    LOG_WARN("slow_consumer", "client=%llu peer=%s queued=%zu max_output=%zu",
             (unsigned long long)c->id, c->peer,
             evbuffer_get_length(bufferevent_get_output(c->bev)),
             server_cfg(c->worker->srv)->max_output);
    conn_close(c, TS_REASON_SLOW_CONSUMER, NULL);
}

/* A failed input step: count and log it once, then close. The channel
 * has already queued whatever the peer should hear. */
static void conn_fail(struct conn *c, int rc, int state_before)
{
    struct admission *adm = &c->worker->srv->admission;
    const char *detail = ts_error_detail(rc);

    if (rc == TS_ERR_LIMIT && state_before == CONN_READY) {
        /* An answer the channel owed (a PONG) found the queue full: the
         * peer is not reading, which is no protocol error of its own. */
        conn_cut_slow_consumer(c);
        return;
    }
    if (rc == TS_ERR_REJECTED) {
        /* Refused by admission; logged when it was decided. */
    } else if (state_before == CONN_HELLO) {
        uint16_t reason = rc == TS_ERR_VERSION ? TS_REASON_UNSUPPORTED_VERSION
                          : rc == TS_ERR_UNSUPPORTED ? TS_REASON_UNSUPPORTED_SUITE
                                                     : TS_REASON_BAD_HELLO;
        admission_count_rejection(adm, reason);
        LOG_INFO("hello_rejected", "peer=%s reason=%s detail=\"%s\"", c->peer,
                 ts_reason_name(reason), detail);
        conn_close(c, reason, NULL);
        return;
    } else if (state_before == CONN_HANDSHAKE) {
        counter_add(&c->worker->counters.handshakes_failed, 1);
        LOG_WARN("handshake_failed", "peer=%s detail=\"%s\"", c->peer, detail);
    } else {
        LOG_WARN("protocol_error", "client=%llu peer=%s detail=\"%s\"",
                 (unsigned long long)c->id, c->peer, detail);
    }
    conn_close(c, TS_REASON_PROTOCOL_ERROR, NULL);
}

/* ---- input ---- */

/* Hand every complete unit in the input buffer to the channel. */
static void conn_read_units(struct conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    uint8_t head[HELLO_HEADER_LEN];
    size_t avail, peek, unit;
    uint8_t *p;
    int rc, before;

    while ((avail = evbuffer_get_length(in)) > 0) {
        if (conn_get_state(c) == CONN_CLOSING) {
            evbuffer_drain(in, avail);
            return;
        }
        peek = avail < sizeof(head) ? avail : sizeof(head);
        evbuffer_copyout(in, head, peek);
        before = conn_get_state(c);
        if ((rc = channel_next_unit(c->ch, head, peek, &unit)) != TS_OK) {
            conn_fail(c, rc, before);
            return;
        }
        if (unit == 0 || avail < unit)
            return;
        if ((p = evbuffer_pullup(in, (ev_ssize_t)unit)) == NULL) {
            conn_close(c, TS_REASON_INTERNAL_ERROR, NULL);
            return;
        }
        rc = channel_input_unit(c->ch, p, unit);
        evbuffer_drain(in, unit);
        counter_add(&c->bytes_in, unit);
        counter_add(&c->worker->counters.bytes_in, unit);
        if (rc != TS_OK) {
            conn_fail(c, rc, before);
            return;
        }
        if (channel_get_state(c->ch) == CHANNEL_CLOSED) {
            conn_close(c, TS_REASON_NORMAL, NULL);
            return;
        }
    }
}

static void conn_on_read(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;

    c->last_input_ms = clock_mono_ms();
    c->ping_outstanding = false;
    atomic_store_explicit(&c->last_activity_ms, clock_wall_ms(), memory_order_relaxed);
    conn_read_units(c);
    conn_settle(c);
}

static void conn_on_write(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;

    /* Output drained: a closing connection has delivered its reason. */
    if (conn_get_state(c) == CONN_CLOSING)
        conn_shut_write(c);
}

/* The TLS handshake finished: keep what status and mapping need. */
static void conn_tls_ready(struct conn *c)
{
    SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
    const ts_server_config *cfg = server_cfg(c->worker->srv);
    char cn[TS_ENVELOPE_MAX_NAME + 1];

    pthread_mutex_lock(&c->worker->lock);
    c->tls_version = SSL_get_version(ssl);
    c->tls_cipher = SSL_get_cipher_name(ssl);
    pthread_mutex_unlock(&c->worker->lock);
    if (cfg->tls_map_cn && tls_peer_common_name(ssl, cn, sizeof(cn)) == TS_OK)
        c->tls_cn = strdup(cn);
    LOG_DEBUG("tls_ok", "client=%llu peer=%s version=%s cipher=%s cn=\"%s\"",
              (unsigned long long)c->id, c->peer, c->tls_version, c->tls_cipher,
              c->tls_cn != NULL ? c->tls_cn : "");
}

/* Why a TLS connection failed, from OpenSSL's error queue. */
static void conn_tls_failed(struct conn *c)
{
    unsigned long e = bufferevent_get_openssl_error(c->bev);
    char text[160] = "connection closed during the TLS handshake";

    if (e != 0)
        ERR_error_string_n(e, text, sizeof(text));
    LOG_INFO("tls_failed", "peer=%s detail=\"%s\"", c->peer, text);
}

static void conn_on_event(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    int state = conn_get_state(c);

    if ((what & BEV_EVENT_CONNECTED) && c->tls)
        conn_tls_ready(c);
    if ((what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) && c->tls && c->tls_version == NULL)
        conn_tls_failed(c);
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        if (state == CONN_HANDSHAKE)
            counter_add(&c->worker->counters.handshakes_failed, 1);
        if (state != CONN_CLOSING)
            LOG_DEBUG("conn_lost", "client=%llu peer=%s state=%s error=\"%s\"",
                      (unsigned long long)c->id, c->peer, conn_state_name(state),
                      (what & BEV_EVENT_ERROR) ? strerror(errno) : "end of stream");
        c->free_pending = true;
    }
    conn_settle(c);
}

/* ---- life cycle ---- */

static int conn_channel_new(struct conn *c)
{
    const ts_server_config *cfg = server_cfg(c->worker->srv);
    struct channel_config ccfg = {
        .role = NOISE_RESPONDER,
        .credentials = &c->worker->srv->creds,
        .max_message = cfg->max_message,
        .rekey_after_frames = cfg->rekey_after_frames,
        .rekey_after_ms = cfg->rekey_after_ms,
    };
    struct channel_callbacks cb = {
        .arg = c,
        .on_hello = conn_on_hello,
        .on_established = conn_on_established,
        .on_message = conn_on_message,
        .on_oversize = conn_on_oversize,
        .on_ping = conn_on_ping,
        .on_peer_close = conn_on_peer_close,
    };
    struct channel_sink sink = {c, sink_reserve, sink_commit};

    return channel_new(&c->ch, &ccfg, &cb, &sink);
}

static void conn_register(struct conn *c)
{
    struct worker *w = c->worker;

    pthread_mutex_lock(&w->lock);
    c->next = w->conns;
    if (w->conns != NULL)
        w->conns->prev = c;
    w->conns = c;
    w->n_conns++;
    /* A failed insert only hides the connection from id lookups. */
    if (idmap_put(&w->by_id, c->id, c) != TS_OK)
        LOG_ERROR("out_of_memory", "client=%llu what=id_map", (unsigned long long)c->id);
    pthread_mutex_unlock(&w->lock);
}

static void conn_unregister(struct conn *c)
{
    struct worker *w = c->worker;

    pthread_mutex_lock(&w->lock);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    w->n_conns--;
    idmap_remove(&w->by_id, c->id);
    pthread_mutex_unlock(&w->lock);
}

/* The buffered socket: plain, or a TLS server end. */
static struct bufferevent *conn_bev_new(struct worker *w, int fd, bool tls)
{
    struct bufferevent *bev;
    SSL *ssl;

    if (!tls)
        return bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if ((ssl = tls_server_new_ssl(&w->srv->tls)) == NULL)
        return NULL;
    bev = bufferevent_openssl_socket_new(w->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                         BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL)
        SSL_free(ssl);
    else
        /* A peer that just drops the connection is common and harmless. */
        bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

struct conn *conn_create(struct worker *w, int fd, const struct sockaddr *addr,
                         socklen_t addrlen, uint16_t reject_reason, bool tls)
{
    const ts_server_config *cfg = server_cfg(w->srv);
    struct conn *c = calloc(1, sizeof(*c));
    int one = 1;
    uint64_t now = clock_mono_ms();

    if (c == NULL)
        goto fail;
    c->worker = w;
    c->id = atomic_fetch_add(&w->srv->next_client_id, 1);
    c->reject_reason = reject_reason;
    c->admitted = reject_reason == 0;
    memcpy(&c->addr, addr, addrlen < sizeof(c->addr) ? addrlen : sizeof(c->addr));
    server_format_addr(addr, c->peer, sizeof(c->peer));
    c->connected_at_ms = clock_wall_ms();
    atomic_store(&c->last_activity_ms, c->connected_at_ms);
    c->last_input_ms = c->last_message_ms = now;
    c->deadline_ms = now + (reject_reason != 0 ? SERVER_REJECT_TIMEOUT_MS
                                               : cfg->handshake_timeout_ms);
    c->next_seq = 1;
    conn_set_state(c, CONN_HELLO);
    /* Small frames must leave at once: latency over coalescing. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->tls = tls;
    c->bev = conn_bev_new(w, fd, tls);
    if (c->bev == NULL)
        goto fail;
    fd = -1;
    if (conn_channel_new(c) != TS_OK)
        goto fail;
    bufferevent_setcb(c->bev, conn_on_read, conn_on_write, conn_on_event, c);
    if (bufferevent_enable(c->bev, EV_READ | EV_WRITE) != 0)
        goto fail;
    conn_register(c);
    return c;
fail:
    LOG_ERROR("conn_create_failed", "peer=%s", c != NULL ? c->peer : "?");
    if (c != NULL && c->admitted)
        admission_leave(&w->srv->admission, addr);
    if (fd >= 0)
        close(fd);
    if (c != NULL) {
        channel_free(c->ch);
        if (c->bev != NULL)
            bufferevent_free(c->bev);
        free(c);
    }
    return NULL;
}

void conn_destroy(struct conn *c)
{
    service_conn_closed(c);
    conn_unregister(c);
    if (c->admitted)
        admission_leave(&c->worker->srv->admission, (const struct sockaddr *)&c->addr);
    channel_free(c->ch);
    bufferevent_free(c->bev);
    free(c->tls_cn);
    sodium_memzero(c, sizeof(*c));
    free(c);
}

bool conn_settle(struct conn *c)
{
    if (!c->free_pending)
        return false;
    conn_destroy(c);
    return true;
}

int conn_send(struct conn *c, const uint8_t *data, size_t len)
{
    int rc;

    if (conn_get_state(c) != CONN_READY)
        return error_set(TS_ERR_STATE, "client %llu is not ready",
                         (unsigned long long)c->id);
    rc = channel_send(c->ch, data, len);
    if (rc == TS_ERR_LIMIT) {
        conn_cut_slow_consumer(c);
        return rc;
    }
    if (rc != TS_OK) {
        conn_close(c, TS_REASON_INTERNAL_ERROR, NULL);
        return rc;
    }
    counter_add(&c->messages_out, 1);
    counter_add(&c->worker->counters.messages_out, 1);
    return TS_OK;
}

/* Without anonymous access, a connection must log in within a while. */
static bool auth_overdue(const struct conn *c, const ts_server_config *cfg, uint64_t now)
{
    return c->session != NULL && !cfg->allow_anonymous &&
           c->session->auth != SESSION_USER && now - c->ready_ms >= cfg->auth_timeout_ms;
}

static void conn_tick_ready(struct conn *c, const ts_server_config *cfg, uint64_t now)
{
    uint64_t hb = cfg->heartbeat_ms;

    if (auth_overdue(c, cfg, now)) {
        LOG_INFO("auth_timeout", "client=%llu peer=%s", (unsigned long long)c->id, c->peer);
        conn_close(c, TS_REASON_AUTH_TIMEOUT, NULL);
    } else if (cfg->idle_timeout_ms != 0 && now - c->last_message_ms >= cfg->idle_timeout_ms) {
        LOG_INFO("idle_timeout", "client=%llu peer=%s", (unsigned long long)c->id, c->peer);
        conn_close(c, TS_REASON_IDLE_TIMEOUT, NULL);
    } else if (hb != 0 && now - c->last_input_ms >= 2 * hb) {
        LOG_INFO("heartbeat_timeout", "client=%llu peer=%s", (unsigned long long)c->id,
                 c->peer);
        conn_close(c, TS_REASON_IDLE_TIMEOUT, "no answer to heartbeat");
    } else if (hb != 0 && now - c->last_input_ms >= hb && !c->ping_outstanding) {
        c->ping_outstanding = true;
        if (channel_send_ping(c->ch) == TS_ERR_LIMIT)
            conn_cut_slow_consumer(c);
    }
}

void conn_tick(struct conn *c, uint64_t now)
{
    int state = conn_get_state(c);

    if (state == CONN_READY) {
        conn_tick_ready(c, server_cfg(c->worker->srv), now);
    } else if (now >= c->deadline_ms) {
        if (state == CONN_CLOSING) {
            c->free_pending = true;
        } else if (c->reject_reason != 0) {
            c->free_pending = true;
        } else {
            if (state == CONN_HANDSHAKE)
                counter_add(&c->worker->counters.handshakes_failed, 1);
            LOG_INFO("handshake_timeout", "peer=%s state=%s", c->peer,
                     conn_state_name(state));
            conn_close(c, TS_REASON_HANDSHAKE_TIMEOUT, NULL);
        }
    }
    conn_settle(c);
}
