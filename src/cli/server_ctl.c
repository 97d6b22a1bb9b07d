/*
 * The commands that drive a running server through its control socket:
 * status, connections, stop, kick and send.
 */
#include "cli/server_ctl.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/server_cmds.h"
#include "cli/server_config.h"
#include "cli/server_control.h"
#include "cli/server_show.h"

/* How long `stop` waits for the server to exit: the graceful stop takes at
 * most its grace period plus the time to flush closing connections. */
#define STOP_TIMEOUT_MS 20000
/* Pause between checks when the process cannot be watched by a pidfd. */
#define STOP_POLL_MS 50

enum { OPT_STATE_DIR = 1000, OPT_JSON, OPT_TIMEOUT };

static int opt_take(const struct cli_command *cmd, int c, char **argv, struct ctl_opts *o)
{
    switch (c) {
    case 'c':
        o->config_path = optarg;
        return CTL_CONTINUE;
    case OPT_STATE_DIR:
        o->state_dir = optarg;
        return CTL_CONTINUE;
    case OPT_JSON:
        o->json = true;
        return CTL_CONTINUE;
    case OPT_TIMEOUT:
        if (cli_parse_duration_ms(optarg, &o->timeout_ms) != 0 || o->timeout_ms == 0) {
            cli_error(SERVER_PROGRAM, "bad value '%s' for --timeout: expected a duration "
                      "such as 30s", optarg);
            return EXIT_USAGE;
        }
        return CTL_CONTINUE;
    case 'h':
        return cli_usage(SERVER_PROGRAM, cmd, false);
    case ':':
        cli_error(SERVER_PROGRAM, "option '%s' needs a value", argv[optind - 1]);
        return cli_usage(SERVER_PROGRAM, cmd, true);
    default:
        cli_error(SERVER_PROGRAM, "unknown option '%s'", argv[optind - 1]);
        return cli_usage(SERVER_PROGRAM, cmd, true);
    }
}

int ctl_opts_parse(const struct cli_command *cmd, unsigned allow, int argc, char **argv,
                   struct ctl_opts *o)
{
    struct option opts[6] = {
        {"config", required_argument, NULL, 'c'},
        {"state-dir", required_argument, NULL, OPT_STATE_DIR},
        {"help", no_argument, NULL, 'h'},
    };
    size_t n = 3;
    int c, status;

    memset(o, 0, sizeof(*o));
    if (allow & CTL_ALLOW_JSON)
        opts[n++] = (struct option){"json", no_argument, NULL, OPT_JSON};
    if (allow & CTL_ALLOW_TIMEOUT)
        opts[n++] = (struct option){"timeout", required_argument, NULL, OPT_TIMEOUT};
    optind = 0;
    opterr = 0;
    /* '+': stop at the first operand, so a message may start with '-'
     * after "--" or an id. */
    while ((c = getopt_long(argc, argv, "+:c:h", opts, NULL)) != -1) {
        if ((status = opt_take(cmd, c, argv, o)) != CTL_CONTINUE)
            return status;
    }
    o->argi = optind;
    return CTL_CONTINUE;
}

int ctl_opts_paths(const struct ctl_opts *o, struct server_paths *p)
{
    struct server_flags fl = {0};
    struct server_config sc = {0};
    char err[SERVER_CONFIG_ERR_MAX];
    int status = EXIT_USAGE;

    if (o->config_path == NULL)
        return server_paths_init(p, o->state_dir, false) == 0 ? EXIT_OK : EXIT_LOCAL_STATE;
    /* The state directory may be set in the config file: read it the way
     * `start` does, --state-dir winning. */
    fl.config_path = strdup(o->config_path);
    if (fl.config_path == NULL ||
        (o->state_dir != NULL && server_flags_add(&fl, "state_dir", o->state_dir) != 0)) {
        cli_error(SERVER_PROGRAM, "out of memory");
        goto out;
    }
    if (server_config_load(&sc, &fl, err, sizeof(err)) != 0) {
        cli_error(SERVER_PROGRAM, "%s", err);
        goto out;
    }
    status = server_paths_init(p, sc.state_dir, false) == 0 ? EXIT_OK : EXIT_LOCAL_STATE;
    server_config_free(&sc);
out:
    server_flags_free(&fl);
    return status;
}

/* Common start of every control command: options, then the socket path.
 * CTL_CONTINUE or an exit status. */
int ctl_begin(const struct cli_command *cmd, unsigned allow, int argc, char **argv,
              int min_args, int max_args, struct ctl_opts *o, struct server_paths *p)
{
    int status = ctl_opts_parse(cmd, allow, argc, argv, o);
    int n;

    if (status != CTL_CONTINUE)
        return status;
    n = argc - o->argi;
    if (n < min_args || (max_args >= 0 && n > max_args))
        return cli_usage(SERVER_PROGRAM, cmd, true);
    status = ctl_opts_paths(o, p);
    return status == EXIT_OK ? CTL_CONTINUE : status;
}

int ctl_print_json(json_t *value)
{
    char *text = json_dumps(value, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);

    if (text == NULL) {
        cli_error(SERVER_PROGRAM, "out of memory");
        return EXIT_FAILURE_GENERIC;
    }
    printf("%s\n", text);
    free(text);
    return EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* status                                                               */

static int status_run(int argc, char **argv)
{
    struct server_paths p = {0};
    json_t *answer = NULL, *req = json_object();
    struct ctl_opts o;
    char err[512];
    enum ctl_result rc;
    int status;

    status = ctl_begin(&server_cmd_status, CTL_ALLOW_JSON, argc, argv, 0, 0, &o, &p);
    if (status != CTL_CONTINUE || req == NULL ||
        json_object_set_new(req, "cmd", json_string("status")) != 0) {
        if (status == CTL_CONTINUE) {
            cli_error(SERVER_PROGRAM, "out of memory");
            status = EXIT_FAILURE_GENERIC;
        }
        goto out;
    }
    /* "Not running" is the answer to status, so it goes to stdout. */
    rc = ctl_exchange(p.control, req, CTL_TIMEOUT_MS, &answer, err, sizeof(err));
    if (rc == CTL_NOT_RUNNING) {
        if (o.json)
            printf("{\"running\":false}\n");
        else
            ctl_print_not_running(p.control, 1);
        status = EXIT_NOT_RUNNING;
    } else if (rc != CTL_OK) {
        cli_error(SERVER_PROGRAM, "%s", err);
        status = rc == CTL_TIMEOUT ? EXIT_TIMEOUT : EXIT_FAILURE_GENERIC;
    } else if (!json_is_true(json_object_get(answer, "ok")) ||
               !json_is_object(json_object_get(answer, "status"))) {
        cli_error(SERVER_PROGRAM, "the server did not return its status");
        status = EXIT_FAILURE_GENERIC;
    } else if (o.json) {
        status = ctl_print_json(json_object_get(answer, "status"));
    } else {
        show_status(stdout, json_object_get(answer, "status"));
        status = EXIT_OK;
    }
out:
    json_decref(req);
    json_decref(answer);
    server_paths_free(&p);
    return status;
}

const struct cli_command server_cmd_status = {
    "status",
    "Show whether the server runs, and its addresses, counters and memory.",
    "status [--json] [-c FILE] [--state-dir DIR]",
    status_run,
};

/* ------------------------------------------------------------------ */
/* connections                                                          */

static int connections_run(int argc, char **argv)
{
    struct server_paths p = {0};
    json_t *answer = NULL, *list;
    struct ctl_opts o;
    int status;

    status = ctl_begin(&server_cmd_connections, CTL_ALLOW_JSON, argc, argv, 0, 0, &o, &p);
    if (status != CTL_CONTINUE)
        goto out;
    status = ctl_command(p.control, "connections", NULL, &answer);
    if (status != EXIT_OK)
        goto out;
    list = json_object_get(answer, "connections");
    if (!json_is_array(list)) {
        cli_error(SERVER_PROGRAM, "the server did not return its connections");
        status = EXIT_FAILURE_GENERIC;
    } else if (o.json) {
        status = ctl_print_json(list);
    } else if (show_connections(stdout, list) != 0) {
        status = EXIT_FAILURE_GENERIC;
    }
out:
    json_decref(answer);
    server_paths_free(&p);
    return status;
}

const struct cli_command server_cmd_connections = {
    "connections",
    "List connected clients: id, peer, fingerprint, state, age, traffic.",
    "connections [--json] [-c FILE] [--state-dir DIR]",
    connections_run,
};

/* ------------------------------------------------------------------ */
/* stop                                                                 */

static uint64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* True when pid has exited: gone, or a zombie its parent has not reaped
 * yet (a server started by a script that has not waited for it). */
static bool process_gone(pid_t pid)
{
    char path[64], buf[256];
    const char *state;
    FILE *f;
    size_t n;

    if (kill(pid, 0) != 0 && errno == ESRCH)
        return true;
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return errno == ENOENT;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* "pid (comm) S ...": comm may hold spaces and parentheses. */
    state = strrchr(buf, ')');
    return state != NULL && state[1] == ' ' && (state[2] == 'Z' || state[2] == 'X');
}

/*
 * Wait until pid exits or the deadline passes. A pidfd becomes readable
 * when the process exits, so the usual case waits on the event itself;
 * where pidfds are missing (old kernels, seccomp) the state is checked
 * every STOP_POLL_MS.
 */
static bool wait_exit(pid_t pid, int pidfd, uint64_t deadline)
{
    struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
    uint64_t now;

    while (!process_gone(pid)) {
        now = mono_ms();
        if (now >= deadline)
            return false;
        if (pidfd >= 0) {
            uint64_t left = deadline - now;
            int rc = poll(&pfd, 1, (int)(left > 60000 ? 60000 : left));

            if (rc > 0)
                return true;
            if (rc < 0 && errno != EINTR)
                pidfd = -1;
        } else {
            struct timespec ts = {0, STOP_POLL_MS * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    return true;
}

/* The server's pid, from its status. EXIT_OK or an exit status. */
static int server_pid(const char *control, pid_t *pid)
{
    json_t *answer = NULL;
    json_int_t v;
    int status = ctl_command(control, "status", NULL, &answer);

    if (status != EXIT_OK)
        return status;
    v = json_integer_value(json_object_get(json_object_get(answer, "status"), "pid"));
    json_decref(answer);
    if (v <= 0) {
        cli_error(SERVER_PROGRAM, "the server did not say its pid");
        return EXIT_FAILURE_GENERIC;
    }
    *pid = (pid_t)v;
    return EXIT_OK;
}

static int stop_run(int argc, char **argv)
{
    struct server_paths p = {0};
    json_t *answer = NULL;
    struct ctl_opts o;
    uint64_t timeout;
    int status, pidfd = -1;
    pid_t pid = 0;

    status = ctl_begin(&server_cmd_stop, CTL_ALLOW_TIMEOUT, argc, argv, 0, 0, &o, &p);
    if (status != CTL_CONTINUE)
        goto out;
    timeout = o.timeout_ms != 0 ? o.timeout_ms : STOP_TIMEOUT_MS;
    if ((status = server_pid(p.control, &pid)) != EXIT_OK)
        goto out;
    /* Opened before asking it to stop, so the pid cannot be reused under us. */
    pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if ((status = ctl_command(p.control, "stop", NULL, &answer)) != EXIT_OK)
        goto out;
    if (!wait_exit(pid, pidfd, mono_ms() + timeout)) {
        fprintf(stderr, "%s (pid %ld) is still running after %llu ms\n", SERVER_PROGRAM,
                (long)pid, (unsigned long long)timeout);
        status = EXIT_TIMEOUT;
        goto out;
    }
    printf("%s stopped\n", SERVER_PROGRAM);
out:
    if (pidfd >= 0)
        close(pidfd);
    json_decref(answer);
    server_paths_free(&p);
    return status;
}

const struct cli_command server_cmd_stop = {
    "stop",
    "Stop the server gracefully (every client is told why) and wait until it has "
    "exited.",
    "stop [--timeout DURATION] [-c FILE] [--state-dir DIR]",
    stop_run,
};

/* ------------------------------------------------------------------ */
/* kick and send                                                        */

static int parse_client_id(const char *text, json_int_t *id)
{
    uint64_t v;

    if (cli_parse_uint(text, INT64_MAX, &v) != 0 || v == 0) {
        cli_error(SERVER_PROGRAM, "bad client id '%s': expected a number from "
                  "'%s connections'", text, SERVER_PROGRAM);
        return -1;
    }
    *id = (json_int_t)v;
    return 0;
}

/* The operands from first on, joined by single spaces (so an unquoted
 * message still arrives whole). NULL when out of memory. */
static char *join_args(int argc, char **argv, int first)
{
    size_t len = 1, at = 0;
    char *text;

    for (int i = first; i < argc; i++)
        len += strlen(argv[i]) + 1;
    text = malloc(len);
    if (text == NULL)
        return NULL;
    for (int i = first; i < argc; i++) {
        size_t n = strlen(argv[i]);

        if (i > first)
            text[at++] = ' ';
        memcpy(text + at, argv[i], n);
        at += n;
    }
    text[at] = '\0';
    return text;
}

/* kick and send: an id, then text joined from the remaining operands. */
static int client_command(const struct cli_command *cmd, const char *field, int min_args,
                          int argc, char **argv)
{
    struct server_paths p = {0};
    json_t *answer = NULL, *args = NULL;
    struct ctl_opts o;
    char *text = NULL;
    json_int_t id;
    int status;

    status = ctl_begin(cmd, 0, argc, argv, min_args, -1, &o, &p);
    if (status != CTL_CONTINUE)
        goto out;
    status = EXIT_USAGE;
    if (parse_client_id(argv[o.argi], &id) != 0)
        goto out;
    text = join_args(argc, argv, o.argi + 1);
    args = json_pack("{s:I}", "id", id);
    if (text == NULL || args == NULL) {
        cli_error(SERVER_PROGRAM, "out of memory");
        status = EXIT_FAILURE_GENERIC;
        goto out;
    }
    /* A kick without a reason leaves the server's default. */
    if (min_args > 1 || *text != '\0') {
        json_t *value = json_string(text);

        if (value == NULL || json_object_set_new(args, field, value) != 0) {
            cli_error(SERVER_PROGRAM, "the %s is not valid UTF-8 text", field);
            goto out;
        }
    }
    status = ctl_command(p.control, cmd->name, args, &answer);
    args = NULL; /* ctl_command took it */
    if (status == EXIT_OK)
        printf("%s client %lld\n", strcmp(cmd->name, "kick") == 0 ? "kicked" : "sent to",
               (long long)id);
out:
    json_decref(args);
    json_decref(answer);
    free(text);
    server_paths_free(&p);
    return status;
}

static int kick_run(int argc, char **argv)
{
    return client_command(&server_cmd_kick, "reason", 1, argc, argv);
}

static int send_run(int argc, char **argv)
{
    return client_command(&server_cmd_send, "message", 2, argc, argv);
}

const struct cli_command server_cmd_kick = {
    "kick",
    "Disconnect client ID, telling it REASON.",
    "kick [-c FILE] [--state-dir DIR] ID [REASON]",
    kick_run,
};

const struct cli_command server_cmd_send = {
    "send",
    "Send MESSAGE to client ID as a notice from the server.",
    "send [-c FILE] [--state-dir DIR] ID MESSAGE",
    send_run,
};
