/*
 * Server life cycle: create, bind, run (main loop + workers), shut down.
 *
 * Shutdown is a sequence run on the main thread: stop accepting, ask every
 * worker to close its clients with a reason and drain, and end the main
 * loop once the last worker has exited. A second request makes workers
 * stop at once.
 */
#include "server/server_internal.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "server/requests.h"
#include "service/service.h"
#include "util/clock.h"
#include "util/crypto_init.h"
#include "util/error.h"
#include "util/log.h"

#define SWEEP_INTERVAL_S 10
#define DEFAULT_GRACE_MS 5000

/* One worker per core this process may run on: the affinity mask (as
 * nproc reads it, so a server confined to some cores by taskset or a
 * container's cpuset does not start a worker per host core), else the
 * cores online. */
static unsigned default_workers(void)
{
    cpu_set_t allowed;
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0 && CPU_COUNT(&allowed) > 0)
        n = CPU_COUNT(&allowed);

    if (n < 1)
        return 1;
    return n > SERVER_MAX_WORKERS ? SERVER_MAX_WORKERS : (unsigned)n;
}

static int server_init_parts(ts_server *srv, const ts_server_config *cfg,
                             const ts_identity *identity)
{
    int rc;

    if ((rc = crypto_init()) != TS_OK || (rc = settings_publish(srv, cfg)) != TS_OK)
        return rc;
    srv->identity = identity;
    ts_identity_fingerprint(identity, srv->fingerprint);
    if ((rc = channel_credentials_init(&srv->creds, identity)) != TS_OK ||
        (rc = admission_init(&srv->admission)) != TS_OK ||
        (rc = senders_init(&srv->senders)) != TS_OK)
        return rc;
    if (cfg->tls_enabled && (rc = tls_server_init(&srv->tls, cfg)) != TS_OK)
        return rc;
    if ((srv->main_base = event_base_new()) == NULL)
        return error_set(TS_ERR_NOMEM, "cannot create the main event loop");
    if ((rc = mailbox_init(&srv->main_mailbox, srv->main_base)) != TS_OK)
        return rc;
    srv->n_workers = cfg->workers != 0 ? cfg->workers : default_workers();
    srv->handler = requests_builtin(cfg->handler);
    return TS_OK;
}

int ts_server_new(ts_server **out, const ts_server_config *cfg, const ts_identity *identity)
{
    ts_server *srv;
    int rc;

    *out = NULL;
    if (cfg == NULL || identity == NULL)
        return error_set(TS_ERR_INVALID, "server needs a configuration and an identity");
    srv = calloc(1, sizeof(*srv));
    if (srv == NULL)
        return TS_ERR_NOMEM;
    pthread_mutex_init(&srv->settings_lock, NULL);
    pthread_mutex_init(&srv->run_lock, NULL);
    pthread_cond_init(&srv->run_cond, NULL);
    atomic_store(&srv->next_client_id, 1);
    atomic_store(&srv->state, SERVER_NEW);
    if ((rc = server_init_parts(srv, cfg, identity)) != TS_OK) {
        ts_server_free(srv);
        return rc;
    }
    *out = srv;
    return TS_OK;
}

void ts_server_set_handler(ts_server *srv, ts_request_handler handler, void *arg)
{
    srv->handler = handler != NULL ? handler : requests_builtin(server_cfg(srv)->handler);
    srv->handler_arg = handler != NULL ? arg : NULL;
}

int ts_server_bind(ts_server *srv)
{
    int rc;

    if (atomic_load(&srv->state) != SERVER_NEW)
        return TS_OK;
    if ((rc = listeners_bind(srv)) != TS_OK)
        return rc;
    atomic_store(&srv->state, SERVER_BOUND);
    return TS_OK;
}

uint16_t ts_server_port(const ts_server *srv)
{
    return listeners_port(srv, false);
}

uint16_t ts_server_tls_port(const ts_server *srv)
{
    return listeners_port(srv, true);
}

void ts_server_fingerprint(const ts_server *srv, char out[TS_FINGERPRINT_MAX])
{
    memcpy(out, srv->fingerprint, TS_FINGERPRINT_MAX);
}

/* ---- main loop ---- */

static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
    ts_server *srv = arg;
    admission_sweep(&srv->admission, server_cfg(srv), clock_mono_ms());
}

static void on_worker_exited(void *arg, bool discarded)
{
    ts_server *srv = arg;

    if (atomic_fetch_sub(&srv->workers_running, 1) == 1)
        event_base_loopexit(srv->main_base, NULL);
}

void server_worker_exited(ts_server *srv)
{
    if (mailbox_post(&srv->main_mailbox, on_worker_exited, srv) != TS_OK)
        LOG_ERROR("worker_exit_lost", "reason=out_of_memory");
}

static void on_shutdown(void *arg, bool discarded)
{
    ts_server *srv = arg;

    if (discarded)
        return;
    if (atomic_load(&srv->state) == SERVER_RUNNING) {
        atomic_store(&srv->state, SERVER_STOPPING);
        LOG_INFO("shutdown", "mode=graceful grace_ms=%u", srv->grace_ms);
        listeners_close(srv);
        workers_drain(srv, srv->grace_ms);
    } else {
        LOG_INFO("shutdown", "mode=forced");
        workers_stop_now(srv);
    }
}

void server_begin_shutdown(ts_server *srv)
{
    ts_server_shutdown(srv, DEFAULT_GRACE_MS);
}

int ts_server_shutdown(ts_server *srv, uint32_t grace_ms)
{
    int state = atomic_load(&srv->state);

    if (state == SERVER_NEW || state == SERVER_BOUND || state == SERVER_STOPPED) {
        atomic_store(&srv->state, SERVER_STOPPED);
        return TS_OK;
    }
    if (atomic_fetch_add(&srv->shutdown_requests, 1) == 0)
        srv->grace_ms = grace_ms;
    return mailbox_post(&srv->main_mailbox, on_shutdown, srv);
}

static void run_signal_ready(ts_server *srv, int result)
{
    pthread_mutex_lock(&srv->run_lock);
    srv->run_result = result;
    if (result != TS_OK)
        snprintf(srv->run_detail, sizeof(srv->run_detail), "%s", ts_error_detail(result));
    pthread_cond_broadcast(&srv->run_cond);
    pthread_mutex_unlock(&srv->run_lock);
}

static int run_prepare(ts_server *srv, struct event **sweep)
{
    const ts_server_config *cfg = server_cfg(srv);
    struct timeval every = {SWEEP_INTERVAL_S, 0};
    int rc;

    if ((rc = ts_server_bind(srv)) != TS_OK)
        return rc;
    if (cfg->store_path != NULL && (rc = service_open(srv, &srv->service)) != TS_OK)
        return rc;
    if (cfg->control_socket != NULL && (rc = control_open(srv, cfg->control_socket)) != TS_OK)
        return rc;
    *sweep = event_new(srv->main_base, -1, EV_PERSIST, on_sweep, srv);
    if (*sweep == NULL || event_add(*sweep, &every) != 0)
        return TS_ERR_NOMEM;
    srv->started_at_ms = clock_wall_ms();
    srv->started_mono_ms = clock_mono_ms();
    atomic_store(&srv->state, SERVER_RUNNING);
    if ((rc = workers_start(srv)) != TS_OK || (rc = listeners_enable(srv)) != TS_OK)
        return rc;
    return TS_OK;
}

int ts_server_run(ts_server *srv)
{
    struct event *sweep = NULL;
    char addrs[SERVER_MAX_LISTENERS][64];
    size_t n;
    int rc;

    if (atomic_load(&srv->state) > SERVER_BOUND)
        return error_set(TS_ERR_STATE, "server already running or stopped");
    rc = run_prepare(srv, &sweep);
    if (rc == TS_OK) {
        for (int tls = 0; tls <= 1; tls++) {
            n = listeners_addresses(srv, tls, addrs, SERVER_MAX_LISTENERS);
            for (size_t i = 0; i < n; i++)
                LOG_INFO("listening", "address=%s tls=%s fingerprint=%s workers=%u", addrs[i],
                         tls ? "yes" : "no", srv->fingerprint, srv->n_workers);
        }
    } else {
        /* Workers that did start must still be stopped and joined. */
        workers_stop_now(srv);
        atomic_store(&srv->state, SERVER_STOPPING);
    }
    run_signal_ready(srv, rc);
    if (atomic_load(&srv->workers_running) > 0)
        event_base_dispatch(srv->main_base);
    workers_join(srv);
    listeners_free(srv);
    control_close(srv);
    /* After the workers: their connections have left rooms by now, and
     * queued writes are committed before the store closes. */
    service_close(srv->service);
    srv->service = NULL;
    if (sweep != NULL)
        event_free(sweep);
    atomic_store(&srv->state, SERVER_STOPPED);
    /* A server that never ran has no uptime to tell. */
    if (srv->started_mono_ms != 0)
        LOG_INFO("stopped", "uptime_s=%llu",
                 (unsigned long long)((clock_mono_ms() - srv->started_mono_ms) / 1000));
    return rc;
}

static void *run_thread_main(void *arg)
{
    ts_server *srv = arg;

    ts_server_run(srv);
    return NULL;
}

int ts_server_start(ts_server *srv)
{
    int rc;

    if (atomic_load(&srv->state) > SERVER_BOUND)
        return error_set(TS_ERR_STATE, "server already running or stopped");
    if ((rc = ts_server_bind(srv)) != TS_OK)
        return rc;
    pthread_mutex_lock(&srv->run_lock);
    srv->run_result = 1; /* not yet known */
    if (pthread_create(&srv->run_thread, NULL, run_thread_main, srv) != 0) {
        pthread_mutex_unlock(&srv->run_lock);
        return error_set(TS_ERR_NOMEM, "cannot start the server thread");
    }
    srv->run_thread_started = true;
    while (srv->run_result == 1)
        pthread_cond_wait(&srv->run_cond, &srv->run_lock);
    rc = srv->run_result;
    pthread_mutex_unlock(&srv->run_lock);
    if (rc != TS_OK) {
        ts_server_wait(srv);
        error_set(rc, "%s", srv->run_detail);
    }
    return rc;
}

int ts_server_wait(ts_server *srv)
{
    if (!srv->run_thread_started)
        return error_set(TS_ERR_STATE, "server was not started with ts_server_start");
    pthread_join(srv->run_thread, NULL);
    srv->run_thread_started = false;
    return TS_OK;
}

int ts_server_reconfigure(ts_server *srv, const ts_server_config *cfg)
{
    const ts_server_config *old = server_cfg(srv);
    ts_server_config next = *cfg;
    int rc;

    /* What is bound or running cannot change in place. */
    next.host = old->host;
    next.port = old->port;
    next.workers = old->workers;
    next.control_socket = old->control_socket;
    next.store_path = old->store_path;
    next.store_sync_normal = old->store_sync_normal;
    next.tls_enabled = old->tls_enabled;
    next.tls_port = old->tls_port;
    next.no_plain = old->no_plain;
    if ((rc = ts_server_config_check(&next)) != TS_OK)
        return rc;
    /* The certificate first: if it cannot be loaded nothing changes. */
    if (next.tls_enabled && (rc = tls_server_reload(&srv->tls, &next)) != TS_OK)
        return rc;
    if ((rc = settings_publish(srv, &next)) != TS_OK)
        return rc;
    LOG_INFO("reconfigured", "max_clients=%u max_message=%zu idle_timeout_ms=%u",
             next.max_clients, next.max_message, next.idle_timeout_ms);
    return TS_OK;
}

void ts_server_free(ts_server *srv)
{
    if (srv == NULL)
        return;
    if (srv->run_thread_started) {
        ts_server_shutdown(srv, 0);
        ts_server_wait(srv);
    }
    workers_free(srv);
    listeners_free(srv);
    control_close(srv);
    service_close(srv->service);
    if (srv->main_base != NULL) {
        mailbox_free(&srv->main_mailbox);
        event_base_free(srv->main_base);
    }
    if (srv->admission.table != NULL)
        admission_free(&srv->admission);
    senders_free(&srv->senders);
    tls_server_free(&srv->tls);
    channel_credentials_wipe(&srv->creds);
    settings_free_all(srv);
    pthread_mutex_destroy(&srv->settings_lock);
    pthread_mutex_destroy(&srv->run_lock);
    pthread_cond_destroy(&srv->run_cond);
    free(srv);
}
