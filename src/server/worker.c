/*
 * Worker threads. Each runs its own libevent loop and owns the
 * connections handed to it for their whole life, so the request path takes
 * no lock shared between workers (memcached's thread model).
 */
#include "server/conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tcpseal/protocol.h>

#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"

/* Envelopes up to this size are encoded without growing the scratch. */
#define WORKER_SCRATCH_MAX (TS_MAX_MESSAGE_LIMIT + 64u * 1024u)

static _Thread_local struct worker *current_worker;

struct worker *worker_current(void)
{
    return current_worker;
}

static void worker_on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    uint64_t now = clock_mono_ms();
    struct conn *c, *next;

    for (c = w->conns; c != NULL; c = next) {
        next = c->next;
        conn_tick(c, now);
    }
    if (w->draining && (w->n_conns == 0 || now >= w->drain_deadline))
        event_base_loopexit(w->base, NULL);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;

    current_worker = w;
    event_base_dispatch(w->base);
    /* Whatever is left after the grace period is dropped. */
    while (w->conns != NULL)
        conn_destroy(w->conns);
    server_worker_exited(w->srv);
    return NULL;
}

static int worker_init(struct worker *w, ts_server *srv, unsigned index)
{
    struct timeval tick = {0, SERVER_TICK_MS * 1000};
    int rc;

    w->srv = srv;
    w->index = index;
    idmap_init(&w->by_id);
    dbuf_init(&w->scratch, WORKER_SCRATCH_MAX);
    if (pthread_mutex_init(&w->lock, NULL) != 0)
        return error_set(TS_ERR_NOMEM, "worker %u: cannot create lock", index);
    if ((w->base = event_base_new()) == NULL)
        return error_set(TS_ERR_NOMEM, "worker %u: cannot create event loop", index);
    if ((rc = mailbox_init(&w->mailbox, w->base)) != TS_OK)
        return rc;
    w->tick = event_new(w->base, -1, EV_PERSIST, worker_on_tick, w);
    if (w->tick == NULL || event_add(w->tick, &tick) != 0)
        return error_set(TS_ERR_NOMEM, "worker %u: cannot create timer", index);
    return TS_OK;
}

int workers_start(ts_server *srv)
{
    int rc;

    srv->workers = calloc(srv->n_workers, sizeof(*srv->workers));
    if (srv->workers == NULL)
        return TS_ERR_NOMEM;
    for (unsigned i = 0; i < srv->n_workers; i++) {
        struct worker *w = &srv->workers[i];
        if ((rc = worker_init(w, srv, i)) != TS_OK)
            return rc;
        atomic_fetch_add(&srv->workers_running, 1);
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            atomic_fetch_sub(&srv->workers_running, 1);
            return error_set(TS_ERR_NOMEM, "cannot start worker thread %u: %s", i,
                             strerror(errno));
        }
        w->thread_started = true;
    }
    return TS_OK;
}

/* ---- handing out accepted sockets ---- */

struct new_conn {
    struct worker *worker;
    int fd;
    bool tls;
    uint16_t reject_reason;
    socklen_t addrlen;
    struct sockaddr_storage addr;
};

static void worker_take_conn(void *arg, bool discarded)
{
    struct new_conn *nc = arg;
    struct conn *c;

    if (discarded || nc->worker->draining) {
        if (nc->reject_reason == 0)
            admission_leave(&nc->worker->srv->admission, (struct sockaddr *)&nc->addr);
        close(nc->fd);
    } else if ((c = conn_create(nc->worker, nc->fd, (struct sockaddr *)&nc->addr,
                                nc->addrlen, nc->reject_reason, nc->tls)) != NULL) {
        LOG_DEBUG("conn_open", "client=%llu peer=%s worker=%u", (unsigned long long)c->id,
                  c->peer, nc->worker->index);
    }
    free(nc);
}

int worker_assign(ts_server *srv, int fd, const struct sockaddr *addr,
                  socklen_t addrlen, uint16_t reject_reason, bool tls)
{
    unsigned i = atomic_fetch_add(&srv->next_worker, 1) % srv->n_workers;
    struct new_conn *nc = malloc(sizeof(*nc));

    if (nc == NULL)
        return TS_ERR_NOMEM;
    nc->worker = &srv->workers[i];
    nc->fd = fd;
    nc->tls = tls;
    nc->reject_reason = reject_reason;
    nc->addrlen = addrlen < sizeof(nc->addr) ? addrlen : sizeof(nc->addr);
    memcpy(&nc->addr, addr, nc->addrlen);
    if (mailbox_post(&nc->worker->mailbox, worker_take_conn, nc) != TS_OK) {
        free(nc);
        return TS_ERR_NOMEM;
    }
    return TS_OK;
}

/* ---- stopping ---- */

struct drain_request {
    struct worker *worker;
    uint32_t grace_ms;
};

static void worker_drain(void *arg, bool discarded)
{
    struct drain_request *req = arg;
    struct worker *w = req->worker;
    struct conn *c, *next;

    if (!discarded) {
        w->draining = true;
        w->drain_deadline = clock_mono_ms() + req->grace_ms;
        for (c = w->conns; c != NULL; c = next) {
            next = c->next;
            conn_close(c, atomic_load(&c->state) == CONN_HELLO ? TS_REASON_SHUTTING_DOWN
                                                               : TS_REASON_SERVER_SHUTDOWN,
                       "server shutting down");
            conn_settle(c);
        }
        if (w->n_conns == 0)
            event_base_loopexit(w->base, NULL);
    }
    free(req);
}

void workers_drain(ts_server *srv, uint32_t grace_ms)
{
    if (srv->workers == NULL)
        return;
    for (unsigned i = 0; i < srv->n_workers; i++) {
        struct drain_request *req = malloc(sizeof(*req));

        if (req != NULL) {
            req->worker = &srv->workers[i];
            req->grace_ms = grace_ms;
        }
        if (req == NULL || mailbox_post(&srv->workers[i].mailbox, worker_drain, req) != TS_OK) {
            free(req);
            LOG_ERROR("shutdown_failed", "worker=%u reason=out_of_memory", i);
        }
    }
}

static void worker_break(void *arg, bool discarded)
{
    struct worker *w = arg;

    if (!discarded)
        event_base_loopbreak(w->base);
}

void workers_stop_now(ts_server *srv)
{
    if (srv->workers == NULL)
        return;
    for (unsigned i = 0; i < srv->n_workers; i++)
        mailbox_post(&srv->workers[i].mailbox, worker_break, &srv->workers[i]);
}

void workers_join(ts_server *srv)
{
    if (srv->workers == NULL)
        return;
    for (unsigned i = 0; i < srv->n_workers; i++) {
        if (srv->workers[i].thread_started) {
            pthread_join(srv->workers[i].thread, NULL);
            srv->workers[i].thread_started = false;
        }
    }
}

void workers_free(ts_server *srv)
{
    if (srv->workers == NULL)
        return;
    for (unsigned i = 0; i < srv->n_workers; i++) {
        struct worker *w = &srv->workers[i];

        while (w->conns != NULL)
            conn_destroy(w->conns);
        if (w->base != NULL) {
            mailbox_free(&w->mailbox);
            if (w->tick != NULL)
                event_free(w->tick);
            event_base_free(w->base);
            pthread_mutex_destroy(&w->lock);
        }
        idmap_free(&w->by_id);
        dbuf_free(&w->scratch);
    }
    free(srv->workers);
    srv->workers = NULL;
}
