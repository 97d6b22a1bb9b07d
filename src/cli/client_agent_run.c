/*
 * The agent process: what `tcp_client start` runs after detaching (or in
 * the foreground). It takes agent.pid, opens agent.sock, loads the
 * identity, creates the client on agent.db and the shared sequence file,
 * makes the first connection, reports, and then serves the control socket
 * while the client's thread keeps the session (reconnecting as needed)
 * until `tcp_client stop`, SIGTERM or SIGINT.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <tcpseal/error.h>
#include <tcpseal/log.h>

#include "cli/client_agent.h"
#include "client/known_servers.h"
#include "client/sequence.h"
#include "util/clock.h"
#include "util/log.h"

#define REPORT_MAX 1024

/* One line to the waiting parent, or (in the foreground) to the user. */
static void report(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void report(int fd, const char *fmt, ...)
{
    char line[REPORT_MAX];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(line) - 1)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    if (fd >= 0 && write(fd, line, (size_t)n) != n)
        LOG_WARN("agent_report_lost", "error=\"%s\"", strerror(errno));
}

/* A failure before the agent is up: the parent prints it (or, in the
 * foreground, it is printed here) and the status is the exit status. */
static int fail(int report_fd, int status, const char *text)
{
    if (report_fd >= 0)
        report(report_fd, "fail %d %s", status, text);
    else
        cli_error(CLIENT_PROGRAM, "%s", text);
    return status;
}

/* SIGTERM and SIGINT arrive through a signalfd in the main loop; they are
 * blocked before any thread exists, so every thread inherits the mask. */
static int signals_open(struct agent *a)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) {
        cli_error(CLIENT_PROGRAM, "cannot block signals: %s", strerror(errno));
        return -1;
    }
    /* SIGHUP stays blocked and ignored: a detached agent has no terminal
     * to lose. */
    sigdelset(&set, SIGHUP);
    if ((a->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
        cli_error(CLIENT_PROGRAM, "signalfd: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static int files_open(struct agent *a, int report_fd)
{
    char text[128];
    long holder = 0;
    int rc;

    if ((a->pid_path = client_state_path(a->dir, AGENT_PID_FILE)) == NULL ||
        (a->sock_path = client_state_path(a->dir, AGENT_SOCKET_FILE)) == NULL)
        return EXIT_LOCAL_STATE;
    rc = agent_pidfile_lock(a->pid_path, &a->pid_fd, &holder);
    if (rc == 1) {
        snprintf(text, sizeof(text), "agent already running (pid %ld)", holder);
        return fail(report_fd, EXIT_FAILURE_GENERIC, text);
    }
    if (rc != 0 || agent_pidfile_write(a->pid_fd, a->pid_path) != 0)
        return EXIT_LOCAL_STATE;
    return agent_control_open(a);
}

static int client_create(struct agent *a)
{
    char *known = client_state_path(a->dir, KNOWN_SERVERS_FILE);
    char *store = client_state_path(a->dir, AGENT_DB_FILE);
    char *seq = client_state_path(a->dir, SEQUENCE_FILE);
    ts_client_config cfg;
    int rc, status = EXIT_LOCAL_STATE;

    if (known == NULL || store == NULL || seq == NULL)
        goto done;
    ts_client_config_init(&cfg);
    cfg.host = a->opts->host;
    cfg.port = a->opts->port;
    cfg.identity = a->identity;
    cfg.server_key = a->opts->server_key;
    cfg.known_servers_path = known;
    cfg.store_path = store;
    cfg.sequence_path = seq;
    cfg.connect_timeout_ms = (uint32_t)a->opts->timeout_ms;
    cfg.heartbeat_ms = (uint32_t)a->opts->heartbeat_ms;
    cfg.reconnect_initial_ms = (uint32_t)a->opts->reconnect_initial_ms;
    cfg.reconnect_max_ms = (uint32_t)a->opts->reconnect_max_ms;
    cfg.inbox_limit = (size_t)a->opts->inbox_limit;
    client_tls_apply(&a->opts->tls, &cfg);
    if ((rc = ts_client_new(&a->client, &cfg)) != TS_OK) {
        cli_error(CLIENT_PROGRAM, "cannot set up the client: %s", ts_error_detail(rc));
        status = rc == TS_ERR_CONFIG ? EXIT_USAGE : EXIT_LOCAL_STATE;
        goto done;
    }
    if ((rc = chat_new(&a->chat, a->client, &(struct chat_callbacks){
                           .arg = &a->events, .on_message = agent_events_on_chat})) != TS_OK) {
        cli_error(CLIENT_PROGRAM, "cannot set up the client: %s", ts_error_detail(rc));
        status = EXIT_FAILURE_GENERIC;
        goto done;
    }
    status = EXIT_OK;
done:
    free(known);
    free(store);
    free(seq);
    return status;
}

static int first_connect(struct agent *a, int report_fd)
{
    char *known = client_state_path(a->dir, KNOWN_SERVERS_FILE);
    char fp[TS_FINGERPRINT_MAX], text[REPORT_MAX - 16];
    ts_envelope *answer = NULL;
    bool first_use;
    ts_client_status st;
    int rc, status;

    if (known == NULL)
        return EXIT_LOCAL_STATE;
    first_use = a->opts->server_key == NULL &&
                known_servers_lookup(known, a->opts->hostport, fp) == TS_ERR_NOT_FOUND;
    free(known);
    if ((rc = ts_client_connect(a->client, (uint32_t)a->opts->timeout_ms)) != TS_OK) {
        status = client_exit_status(rc, ts_client_last_error(a->client));
        snprintf(text, sizeof(text), "%s%s", ts_client_last_error(a->client),
                 status == EXIT_NOT_RUNNING && strstr(ts_client_last_error(a->client),
                                                      "Connection refused") != NULL
                     ? " — is tcp_server running?"
                     : "");
        return fail(report_fd, status, text);
    }
    /* Who the key logs in as; a failure here only delays that to the
     * first command, which asks again. */
    if ((rc = chat_sync(a->chat, (uint32_t)a->opts->timeout_ms, &answer)) != TS_OK)
        LOG_WARN("agent_whoami", "error=\"%s\"", ts_error_detail(rc));
    ts_envelope_free(answer);
    /* The agent keeps what arrives: direct messages may come to it. */
    if ((rc = chat_go_online(a->chat)) != TS_OK)
        LOG_WARN("agent_online", "error=\"%s\"", ts_error_detail(rc));
    ts_client_get_status(a->client, &st);
    if (first_use)
        fprintf(stderr, "%s: added %s (%s) to known servers\n", CLIENT_PROGRAM,
                a->opts->hostport, st.server_fingerprint);
    return EXIT_OK;
}

/* From here on the log file is the agent's only voice. */
static void detach_stdio(void)
{
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

    fflush(NULL);
    if (fd < 0 || dup2(fd, STDIN_FILENO) < 0 || dup2(fd, STDOUT_FILENO) < 0 ||
        dup2(fd, STDERR_FILENO) < 0)
        LOG_WARN("agent_detach", "error=\"cannot redirect stdio to /dev/null: %s\"",
                 strerror(errno));
    if (fd > STDERR_FILENO)
        close(fd);
}

static int log_open(struct agent *a, int report_fd)
{
    char *path;
    int rc;

    if (getenv("TCPSEAL_LOG") == NULL)
        ts_log_set_level(TS_LOG_INFO);
    if (report_fd < 0)
        return EXIT_OK; /* foreground: the terminal */
    if ((path = client_state_path(a->dir, AGENT_LOG_FILE)) == NULL)
        return EXIT_LOCAL_STATE;
    rc = ts_log_set_file(path);
    if (rc != TS_OK)
        cli_error(CLIENT_PROGRAM, "cannot open the log %s: %s", path, ts_error_detail(rc));
    free(path);
    return rc == TS_OK ? EXIT_OK : EXIT_LOCAL_STATE;
}

static int agent_up(struct agent *a, int report_fd)
{
    int status;

    if (signals_open(a) != 0 || agent_events_init(&a->events) != 0)
        return EXIT_FAILURE_GENERIC;
    a->events_ready = true;
    if ((status = files_open(a, report_fd)) != EXIT_OK ||
        (status = log_open(a, report_fd)) != EXIT_OK ||
        (status = client_identity_open(a->dir, &a->identity)) != EXIT_OK ||
        (status = client_create(a)) != EXIT_OK)
        return status;
    return first_connect(a, report_fd);
}

static void agent_down(struct agent *a)
{
    agent_control_close(a);
    if (a->client != NULL) {
        /* Tells the server why we leave (client exiting). */
        (void)ts_client_shutdown(a->client);
        ts_client_free(a->client);
    }
    chat_free(a->chat);
    ts_identity_free(a->identity);
    if (a->events_ready)
        agent_events_free(&a->events);
    if (a->signal_fd >= 0)
        close(a->signal_fd);
    agent_pidfile_release(&a->pid_fd, a->pid_path);
    free(a->pid_path);
    free(a->sock_path);
    LOG_INFO("agent_stopped", "pid=%ld", (long)getpid());
}

static void announce(struct agent *a, int report_fd)
{
    ts_client_status st;

    ts_client_get_status(a->client, &st);
    LOG_INFO("agent_started", "pid=%ld server=%s key=%s", (long)getpid(), a->opts->hostport,
             st.server_fingerprint);
    if (report_fd >= 0) {
        report(report_fd, "up %ld %s %s", (long)getpid(), a->opts->hostport,
               st.server_fingerprint);
        return;
    }
    printf("%s agent started (pid %ld), connected to %s (%s)\n", CLIENT_PROGRAM,
           (long)getpid(), a->opts->hostport, st.server_fingerprint);
    fflush(stdout);
}

int agent_run(const struct agent_options *opts, const char *dir, int report_fd)
{
    struct agent a = {
        .opts = opts, .dir = dir, .pid_fd = -1, .listen_fd = -1, .signal_fd = -1,
    };
    int status, rc;

    a.started_ms = clock_wall_ms();
    if ((status = agent_up(&a, report_fd)) != EXIT_OK) {
        agent_down(&a);
        return status;
    }
    announce(&a, report_fd);
    if (report_fd >= 0) {
        close(report_fd);
        detach_stdio();
    }
    if ((rc = ts_client_listen_start(a.client)) != TS_OK) {
        LOG_ERROR("agent_listen", "error=\"%s\"", ts_error_detail(rc));
        agent_down(&a);
        return EXIT_FAILURE_GENERIC;
    }
    agent_control_loop(&a);
    agent_down(&a);
    return EXIT_OK;
}
