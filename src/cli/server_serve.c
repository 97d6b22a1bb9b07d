/*
 * Serving: the library runs the server on threads of its own; this file
 * owns the signals. SIGINT, SIGTERM and SIGHUP are blocked in every
 * thread and taken by one thread with sigwait(), so their handling is
 * ordinary code (no async-signal-safety rules) and never interrupts a
 * worker. The main thread waits for the server to stop, whoever stopped
 * it: a signal, or `tcp_server stop` through the control socket.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <tcpseal/error.h>
#include <tcpseal/log.h>

#include "cli/cli_common.h"
#include "cli/server_run.h"
#include "util/log.h"

#define LOG_ENV "TCPSEAL_LOG"
#define ADDRESSES_MAX 1024

struct signal_thread {
    struct server_run *run;
    sigset_t set;
    pthread_t thread;
    atomic_bool done;       /* the server has stopped: exit on the next wake-up */
};

/* ------------------------------------------------------------------ */
/* Logging                                                              */

int server_log_apply(const struct server_run *run, const struct server_config *sc,
                     char *err, size_t cap)
{
    const char *env = getenv(LOG_ENV);
    const char *path;
    int rc;

    if (sc->log_level_source == SOURCE_FLAG || env == NULL || *env == '\0') {
        ts_log_set_level(sc->log_level);
    } else if (ts_log_init_from_env() != TS_OK) {
        snprintf(err, cap, "%s: unknown log level '%s' (error, warn, info, debug or trace)",
                 LOG_ENV, env);
        return -1;
    }
    if (sc->syslog) {
        ts_log_set_syslog(1, SERVER_PROGRAM);
        return 0;
    }
    /* A daemon has no stderr to speak of: it logs to its state directory. */
    path = sc->log_file != NULL ? sc->log_file : run->sc.daemon ? run->paths.log : NULL;
    rc = ts_log_set_file(path);
    if (rc != TS_OK) {
        snprintf(err, cap, "%s", ts_error_detail(rc));
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Reloading                                                            */

/* Log values are quoted with '"'; keep messages from closing the quote. */
static void unquote(char *text)
{
    for (; *text != '\0'; text++) {
        if (*text == '"')
            *text = '\'';
    }
}

static bool same_text(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* What is bound, started or chosen at start-up cannot change in place. */
static void report_restart_needed(const struct server_run *run,
                                  const struct server_config *next)
{
    const struct server_config *cur = &run->sc;

    if (!same_text(cur->cfg.host, next->cfg.host))
        LOG_WARN("reload_needs_restart", "setting=host running=\"%s\" configured=\"%s\"",
                 cur->cfg.host, next->cfg.host);
    if (cur->cfg.port != next->cfg.port)
        LOG_WARN("reload_needs_restart", "setting=port running=%u configured=%u",
                 (unsigned)ts_server_port(run->srv), (unsigned)next->cfg.port);
    if (cur->cfg.workers != next->cfg.workers)
        LOG_WARN("reload_needs_restart", "setting=workers running=%u configured=%u",
                 cur->cfg.workers, next->cfg.workers);
    if (!same_text(cur->state_dir, next->state_dir))
        LOG_WARN("reload_needs_restart", "setting=state_dir configured=\"%s\"",
                 next->state_dir != NULL ? next->state_dir : "(default)");
    if (cur->daemon != next->daemon)
        LOG_WARN("reload_needs_restart", "setting=daemon configured=%s",
                 next->daemon ? "yes" : "no");
    if (cur->cfg.tls_enabled != next->cfg.tls_enabled || cur->cfg.tls_port != next->cfg.tls_port ||
        cur->cfg.no_plain != next->cfg.no_plain)
        LOG_WARN("reload_needs_restart", "setting=listeners configured=\"tls=%s tls_port=%u "
                 "plain=%s\"", next->cfg.tls_enabled ? "yes" : "no",
                 (unsigned)next->cfg.tls_port, next->cfg.no_plain ? "no" : "yes");
    if (!same_text(cur->store_path, next->store_path))
        LOG_WARN("reload_needs_restart", "setting=store configured=\"%s\"",
                 next->store_path != NULL ? next->store_path : "(default)");
}

static void swap_text(char **a, char **b)
{
    char *t = *a;
    *a = *b;
    *b = t;
}

/* Keep the new settings that took effect; the rest stays as started. The
 * server now points at next's strings, so they move to run->sc (and the
 * old ones go away with next). */
static void reload_commit(struct server_run *run, struct server_config *next,
                          const ts_server_config *applied)
{
    char *old_log = run->sc.log_file;

    swap_text(&run->sc.tls_cert, &next->tls_cert);
    swap_text(&run->sc.tls_key, &next->tls_key);
    swap_text(&run->sc.tls_ca, &next->tls_ca);
    swap_text(&run->sc.tls_ciphersuites, &next->tls_ciphersuites);
    swap_text(&run->sc.tls_ciphers, &next->tls_ciphers);
    run->sc.cfg = *applied;
    run->sc.log_file = next->log_file;
    next->log_file = old_log;
    run->sc.syslog = next->syslog;
    run->sc.log_level = next->log_level;
    run->sc.log_level_source = next->log_level_source;
}

static void server_reload(struct server_run *run)
{
    char err[SERVER_CONFIG_ERR_MAX];
    struct server_config next;
    ts_server_config cfg;
    int rc;

    if (server_config_load(&next, &run->flags, err, sizeof(err)) != 0) {
        unquote(err);
        LOG_ERROR("reload_failed", "reason=\"%s\"", err);
        return;
    }
    report_restart_needed(run, &next);
    cfg = next.cfg;
    cfg.host = run->sc.cfg.host;
    cfg.port = run->sc.cfg.port;
    cfg.workers = run->sc.cfg.workers;
    cfg.control_socket = run->sc.cfg.control_socket;
    cfg.store_path = run->sc.cfg.store_path;
    rc = ts_server_reconfigure(run->srv, &cfg);
    if (rc != TS_OK) {
        snprintf(err, sizeof(err), "%s", ts_error_detail(rc));
        unquote(err);
        LOG_ERROR("reload_failed", "reason=\"%s\"", err);
        goto out;
    }
    if (server_log_apply(run, &next, err, sizeof(err)) != 0) {
        unquote(err);
        LOG_ERROR("reload_log_failed", "reason=\"%s\"", err);
    }
    reload_commit(run, &next, &cfg);
    LOG_INFO("reloaded", "config=\"%s\" log_level=%s",
             run->flags.config_path != NULL ? run->flags.config_path : "(none)",
             server_log_level_name(ts_log_get_level()));
out:
    server_config_free(&next);
}

/* ------------------------------------------------------------------ */
/* Signals                                                              */

static void on_stop_signal(struct server_run *run, int sig, unsigned count)
{
    bool force = count > 1;
    int rc;

    LOG_INFO("stop_requested", "via=signal signal=%s mode=%s",
             sig == SIGINT ? "SIGINT" : "SIGTERM", force ? "forced" : "graceful");
    rc = ts_server_shutdown(run->srv, force ? 0 : SERVER_STOP_GRACE_MS);
    if (rc != TS_OK)
        LOG_ERROR("stop_failed", "reason=\"%s\"", ts_error_detail(rc));
}

static void *signal_main(void *arg)
{
    struct signal_thread *st = arg;
    unsigned stops = 0;
    int sig, rc;

    for (;;) {
        rc = sigwait(&st->set, &sig);
        if (rc != 0) {
            LOG_ERROR("signals_lost", "reason=\"%s\"", strerror(rc));
            return NULL;
        }
        if (atomic_load(&st->done))
            return NULL;
        if (sig == SIGHUP)
            server_reload(st->run);
        else if (sig == SIGINT || sig == SIGTERM)
            on_stop_signal(st->run, sig, ++stops);
        /* SIGUSR1 only wakes us to look at done. */
    }
}

/* ------------------------------------------------------------------ */
/* Serving                                                              */

/* The bound addresses, "127.0.0.1:8080, [::1]:8080", from the status
 * document; HOST:PORT when it cannot be had. */
static void listen_addresses(const struct server_run *run, char *out, size_t cap)
{
    json_t *doc = NULL, *addr;
    char *text = NULL;
    size_t i, len = 0;

    out[0] = '\0';
    if (ts_server_status_json(run->srv, &text) == TS_OK)
        doc = json_loads(text, 0, NULL);
    json_array_foreach(json_object_get(doc, "listen"), i, addr) {
        int n = snprintf(out + len, cap - len, "%s%s", i > 0 ? ", " : "",
                         json_is_string(addr) ? json_string_value(addr) : "?");
        if (n < 0 || (size_t)n >= cap - len)
            break;
        len += (size_t)n;
    }
    if (out[0] == '\0')
        snprintf(out, cap, "%s:%u", run->sc.cfg.host, (unsigned)ts_server_port(run->srv));
    json_decref(doc);
    free(text);
}

static void announce(struct server_run *run)
{
    char addrs[ADDRESSES_MAX];
    char *p, *comma;

    listen_addresses(run, addrs, sizeof(addrs));
    if (run->ready_fd >= 0) {
        daemon_report_ready(run, addrs);
        return;
    }
    for (p = addrs; p != NULL; p = comma != NULL ? comma + 2 : NULL) {
        comma = strstr(p, ", ");
        printf("%s: listening on %.*s\n", SERVER_PROGRAM,
               (int)(comma != NULL ? (size_t)(comma - p) : strlen(p)), p);
    }
    fflush(stdout);
}

int server_serve(struct server_run *run)
{
    struct signal_thread st = {.run = run};
    int rc;

    sigemptyset(&st.set);
    sigaddset(&st.set, SIGINT);
    sigaddset(&st.set, SIGTERM);
    sigaddset(&st.set, SIGHUP);
    sigaddset(&st.set, SIGUSR1);
    atomic_init(&st.done, false);
    /* Blocked before the library starts its threads, so they inherit the
     * mask and every one of these signals waits for sigwait(). They stay
     * blocked until exit: one arriving late must not kill a clean stop. */
    if ((rc = pthread_sigmask(SIG_BLOCK, &st.set, NULL)) != 0) {
        cli_error(SERVER_PROGRAM, "cannot block signals: %s", strerror(rc));
        return EXIT_FAILURE_GENERIC;
    }
    if ((rc = ts_server_start(run->srv)) != TS_OK) {
        cli_error(SERVER_PROGRAM, "cannot start the server: %s", ts_error_detail(rc));
        return rc == TS_ERR_CONFIG ? EXIT_USAGE : EXIT_FAILURE_GENERIC;
    }
    announce(run);
    if ((rc = pthread_create(&st.thread, NULL, signal_main, &st)) != 0) {
        LOG_ERROR("start_failed", "reason=\"cannot start the signal thread: %s\"",
                  strerror(rc));
        ts_server_shutdown(run->srv, 0);
        ts_server_wait(run->srv);
        return EXIT_FAILURE_GENERIC;
    }
    ts_server_wait(run->srv);
    atomic_store(&st.done, true);
    pthread_kill(st.thread, SIGUSR1);
    pthread_join(st.thread, NULL);
    return EXIT_OK;
}
