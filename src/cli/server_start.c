/*
 * tcp_server start: configuration, state directory, identity, listening
 * sockets, then serving in the foreground or as a daemon.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include <tcpseal/error.h>

#include "cli/cli_common.h"
#include "cli/server_cmds.h"
#include "cli/server_control.h"
#include "cli/server_run.h"

/* A running server answers its control socket at once; this only bounds
 * a wedged one. */
#define PROBE_TIMEOUT_MS 2000
#define CONTINUE (-1)

static void start_help(void)
{
    printf("usage: %s %s\n%s\n\noptions:\n", SERVER_PROGRAM, server_cmd_start.usage,
           server_cmd_start.summary);
    server_config_print_flags(stdout);
    printf("\nDurations: 10s, 250ms, 2m, 1h (a bare number is seconds). "
           "Sizes: 65536, 64KiB, 1MiB.\n"
           "Flags that switch something on take an optional value: --sign-responses=no.\n"
           "\nenvironment:\n"
           "  TCPSEAL_SERVER_DIR       state directory when neither flag nor file sets one\n"
           "  TCPSEAL_LOG              log level unless --log-level is given "
           "(wins over the file)\n"
           "  TCPSEAL_PASSPHRASE       passphrase of the identity key; a new key is "
           "stored encrypted\n"
           "  TCPSEAL_PASSPHRASE_FILE  file holding that passphrase\n"
           "\nsignals: SIGINT or SIGTERM stops gracefully (a second one forces), "
           "SIGHUP reloads the config file.\n");
}

/* Options and configuration, then the state directory. CONTINUE or an
 * exit status. */
static int start_configure(struct server_run *run, int argc, char **argv)
{
    char err[SERVER_CONFIG_ERR_MAX];

    if (server_flags_parse(&run->flags, argc, argv, err, sizeof(err)) != 0) {
        cli_error(SERVER_PROGRAM, "%s", err);
        return EXIT_USAGE;
    }
    if (run->flags.help) {
        start_help();
        return EXIT_OK;
    }
    if (server_config_load(&run->sc, &run->flags, err, sizeof(err)) != 0) {
        cli_error(SERVER_PROGRAM, "%s", err);
        return EXIT_USAGE;
    }
    if (server_paths_init(&run->paths, run->sc.state_dir, true) != 0)
        return EXIT_LOCAL_STATE;
    /* Checked before a key is created for a server that could not run. */
    if (strlen(run->paths.control) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        cli_error(SERVER_PROGRAM, "state directory %s is too long a path for the control "
                  "socket (at most %zu bytes with /control.sock)", run->paths.dir,
                  sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
        return EXIT_LOCAL_STATE;
    }
    return CONTINUE;
}

/* The pid of a server answering on the control socket, or 0. */
static long answering_pid(const char *control)
{
    json_t *req = json_pack("{s:s}", "cmd", "status"), *answer = NULL;
    char err[256];
    long pid = 0;

    if (req != NULL &&
        ctl_exchange(control, req, PROBE_TIMEOUT_MS, &answer, err, sizeof(err)) == CTL_OK)
        pid = (long)json_integer_value(
            json_object_get(json_object_get(answer, "status"), "pid"));
    json_decref(req);
    json_decref(answer);
    return pid;
}

/*
 * Make sure no other server uses this state directory, and keep it so: the
 * pid file stays locked while we run. A server found answering on the
 * control socket is reported with its pid. A socket file nobody answers on
 * is stale; the library replaces it when it binds.
 */
static int start_claim(struct server_run *run)
{
    long holder = 0, pid;
    int rc = pidfile_lock(run->paths.pid, &run->pid_fd, &holder);

    if (rc < 0)
        return EXIT_LOCAL_STATE;
    pid = answering_pid(run->paths.control);
    if (rc == 0 && pid == 0)
        return EXIT_OK;
    if (pid > 0)
        holder = pid;
    if (holder > 0)
        fprintf(stderr, "%s is already running (pid %ld)\n", SERVER_PROGRAM, holder);
    else
        fprintf(stderr, "another %s is starting or stopping in %s\n", SERVER_PROGRAM,
                run->paths.dir);
    return EXIT_FAILURE_GENERIC;
}

static int start_logging(struct server_run *run)
{
    char err[SERVER_CONFIG_ERR_MAX];

    if (server_log_apply(run, &run->sc, err, sizeof(err)) != 0) {
        cli_error(SERVER_PROGRAM, "%s", err);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

/* Identity, server object and listening sockets. */
static int start_server(struct server_run *run)
{
    char fp[TS_FINGERPRINT_MAX];
    int rc, status;

    if ((status = server_identity_open(&run->paths, &run->identity)) != EXIT_OK)
        return status;
    ts_identity_fingerprint(run->identity, fp);
    printf("%s: fingerprint %s\n", SERVER_PROGRAM, fp);
    fflush(stdout);
    run->sc.cfg.control_socket = run->paths.control;
    run->sc.cfg.store_path = run->sc.store_path != NULL ? run->sc.store_path : run->paths.store;
    rc = ts_server_new(&run->srv, &run->sc.cfg, run->identity);
    if (rc == TS_OK)
        rc = ts_server_bind(run->srv);
    if (rc != TS_OK) {
        /* e.g. "cannot listen on 127.0.0.1:8080: Address already in use" */
        cli_error(SERVER_PROGRAM, "%s", ts_error_detail(rc));
        return rc == TS_ERR_CONFIG ? EXIT_USAGE : EXIT_FAILURE_GENERIC;
    }
    if (pidfile_write(run->pid_fd, run->paths.pid) != 0)
        return EXIT_LOCAL_STATE;
    return EXIT_OK;
}

/* The parent of a daemon hands everything to the child: it closes the pid
 * file without removing it, since the child now holds its lock. */
static void start_cleanup(struct server_run *run, bool is_parent)
{
    ts_server_free(run->srv);
    ts_identity_free(run->identity);
    if (is_parent && run->pid_fd >= 0)
        close(run->pid_fd);
    else
        pidfile_release(&run->pid_fd, run->paths.pid);
    server_paths_free(&run->paths);
    server_config_free(&run->sc);
    server_flags_free(&run->flags);
}

static int start_run(int argc, char **argv)
{
    struct server_run run = {.pid_fd = -1, .ready_fd = -1};
    bool is_parent = false;
    int status;

    status = start_configure(&run, argc, argv);
    if (status != CONTINUE)
        goto out;
    if ((status = start_claim(&run)) != EXIT_OK)
        goto out;
    if (run.sc.daemon) {
        status = daemon_detach(&run, &is_parent);
        if (is_parent || status != EXIT_OK)
            goto out;
    }
    if ((status = start_logging(&run)) != EXIT_OK || (status = start_server(&run)) != EXIT_OK)
        goto out;
    status = server_serve(&run);
out:
    start_cleanup(&run, is_parent);
    return status;
}

const struct cli_command server_cmd_start = {
    "start",
    "Start the server: in the foreground, or detached once listening with -d.",
    "start [-c FILE] [-H HOST] [-p PORT] [--state-dir DIR] [--max-clients N] "
    "[--workers N] [--log-level LEVEL] [--log-file FILE] [-d|--daemon] [OPTIONS]",
    start_run,
};
