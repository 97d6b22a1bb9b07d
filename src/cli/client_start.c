/*
 * tcp_client start: start the agent. The parent forks before anything is
 * loaded or any thread exists; the child detaches (a session of its own),
 * does all of the start-up and reports through a pipe once the session
 * is up, or why it could not come up. The parent prints that and exits
 * with the one-shot client's statuses.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <tcpseal/error.h>
#include <tcpseal/identity.h>

#include "cli/client_agent.h"
#include "util/clock.h"

#define DEFAULT_HEARTBEAT_MS 15000u
#define DEFAULT_RECONNECT_INITIAL_MS 500u
#define DEFAULT_RECONNECT_MAX_MS 30000u
#define DEFAULT_INBOX_LIMIT 1000u
#define MIN_HEARTBEAT_MS 100u
/* The child may first decrypt the identity (Argon2id) and resolve the
 * host: the parent waits for the connect timeout and this much more. */
#define START_SLACK_MS 60000u
#define REPORT_LINE_MAX 1024

enum {
    OPT_SERVER_KEY = 0x100,
    OPT_FOREGROUND,
    OPT_TIMEOUT,
    OPT_HEARTBEAT,
    OPT_RECONNECT_INITIAL,
    OPT_RECONNECT_MAX,
    OPT_INBOX_LIMIT,
};

static const struct option start_long[] = {
    {"host", required_argument, NULL, 'H'},
    {"port", required_argument, NULL, 'p'},
    {"server-key", required_argument, NULL, OPT_SERVER_KEY},
    {"foreground", no_argument, NULL, OPT_FOREGROUND},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"heartbeat", required_argument, NULL, OPT_HEARTBEAT},
    {"reconnect-initial", required_argument, NULL, OPT_RECONNECT_INITIAL},
    {"reconnect-max", required_argument, NULL, OPT_RECONNECT_MAX},
    {"inbox-limit", required_argument, NULL, OPT_INBOX_LIMIT},
    {"help", no_argument, NULL, 'h'},
    CLIENT_TLS_LONG_OPTIONS,
    {NULL, 0, NULL, 0},
};

static const char start_options[] =
    "  -H, --host HOST               server name or address (localhost); HOST:PORT\n"
    "                                and [IPv6]:PORT work too\n"
    "  -p, --port PORT               server port (8080)\n"
    "      --server-key FP           accept only the server with this fingerprint\n"
    "                                (SHA256:...) instead of the known servers\n"
    "      --foreground              stay in the foreground, logging to stderr\n"
    "      --timeout DURATION        first connection must be up within (10s)\n"
    "                                (also the limit of each later attempt)\n"
    "      --heartbeat DURATION      a server silent this long is taken for dead\n"
    "                                (15s; at least 100ms; 0 turns heartbeats off)\n"
    "      --reconnect-initial DURATION  first reconnect delay ceiling (500ms)\n"
    "      --reconnect-max DURATION  largest reconnect delay (30s)\n"
    "      --inbox-limit N           messages kept in the inbox (1000)\n"
    CLIENT_TLS_HELP
    "  -h, --help                    show this help\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    char text[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    cli_error(CLIENT_PROGRAM, "start: %s", text);
    return cli_usage(CLIENT_PROGRAM, &client_cmd_start, true);
}

static int duration_option(const char *arg, uint64_t *out, uint64_t min, bool zero_ok)
{
    if (cli_parse_duration_ms(arg, out) != 0 || (*out == 0 && !zero_ok) ||
        (*out != 0 && *out < min) || *out > UINT32_MAX)
        return usage_error("invalid duration '%s' (e.g. 10, 2.5s, 500ms, 1m; at least "
                           "%llu ms)", arg, (unsigned long long)min);
    return -1;
}

static int one_option(int opt, const char *arg, struct agent_options *o, bool *port_given)
{
    char host[NET_HOST_MAX + 1];
    uint16_t port;

    if (client_tls_is_option(opt))
        return client_tls_take(&client_cmd_start, &o->tls, opt, arg);
    switch (opt) {
    case 'H':
        if (net_hostport_parse(arg, 0, host, sizeof(host), &port) != TS_OK)
            return usage_error("invalid host '%s'", arg);
        snprintf(o->host, sizeof(o->host), "%s", host);
        if (port != 0 && !*port_given)
            o->port = port;
        return -1;
    case 'p':
        if (net_port_parse(arg, &o->port) != TS_OK)
            return usage_error("invalid port '%s' (1-65535)", arg);
        *port_given = true;
        return -1;
    case OPT_SERVER_KEY:
        if (ts_fingerprint_validate(arg) != TS_OK)
            return usage_error("--server-key wants a fingerprint like SHA256:<43 "
                               "characters>, not '%s'", arg);
        o->server_key = arg;
        return -1;
    case OPT_FOREGROUND:
        o->foreground = true;
        return -1;
    case OPT_TIMEOUT:
        return duration_option(arg, &o->timeout_ms, 1, false);
    case OPT_HEARTBEAT:
        return duration_option(arg, &o->heartbeat_ms, MIN_HEARTBEAT_MS, true);
    case OPT_RECONNECT_INITIAL:
        return duration_option(arg, &o->reconnect_initial_ms, 1, false);
    case OPT_RECONNECT_MAX:
        return duration_option(arg, &o->reconnect_max_ms, 1, false);
    case OPT_INBOX_LIMIT:
        if (cli_parse_uint(arg, SIZE_MAX, &o->inbox_limit) != 0)
            return usage_error("invalid inbox limit '%s'", arg);
        return -1;
    case 'h':
        return client_help(&client_cmd_start, start_options);
    default:
        return EXIT_USAGE;
    }
}

static int start_parse(int argc, char **argv, struct agent_options *o)
{
    bool port_given = false;
    int opt, status;

    memset(o, 0, sizeof(*o));
    snprintf(o->host, sizeof(o->host), "%s", CLIENT_DEFAULT_HOST);
    o->port = CLIENT_DEFAULT_PORT;
    o->timeout_ms = CLIENT_DEFAULT_TIMEOUT_MS;
    o->heartbeat_ms = DEFAULT_HEARTBEAT_MS;
    o->reconnect_initial_ms = DEFAULT_RECONNECT_INITIAL_MS;
    o->reconnect_max_ms = DEFAULT_RECONNECT_MAX_MS;
    o->inbox_limit = DEFAULT_INBOX_LIMIT;
    opterr = 0;
    optind = 0;
    while ((opt = getopt_long(argc, argv, ":H:p:h", start_long, NULL)) != -1) {
        if (opt == ':')
            return usage_error("option '%s' needs a value", argv[optind - 1]);
        if (opt == '?')
            return usage_error("unknown option '%s'", argv[optind - 1]);
        if ((status = one_option(opt, optarg, o, &port_given)) != -1)
            return status;
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if ((status = client_tls_finish(&client_cmd_start, &o->tls)) != -1)
        return status;
    if (o->reconnect_max_ms < o->reconnect_initial_ms)
        return usage_error("%s", "--reconnect-max must not be below --reconnect-initial");
    if (net_hostport_format(o->host, o->port, o->hostport, sizeof(o->hostport)) != TS_OK)
        return usage_error("invalid host '%s'", o->host);
    return -1;
}

/* Read the child's one-line report until end of file or the deadline. 1 =
 * a line, 0 = end of file without one, -1 = timeout or error. */
static int report_read(int fd, char *buf, size_t cap, uint64_t deadline)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    size_t len = 0;
    ssize_t n;
    int r;

    for (;;) {
        if (clock_mono_ms() >= deadline)
            return -1;
        r = poll(&pfd, 1, clock_poll_timeout(deadline));
        if (r < 0 && errno != EINTR)
            return -1;
        if (r <= 0)
            continue;
        n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n == 0 ? 0 : -1;
        len += (size_t)n;
        buf[len] = '\0';
        if (memchr(buf, '\n', len) != NULL || len == cap - 1)
            return 1;
    }
}

/* The child ended without a report: it printed why. */
static int child_status(pid_t child)
{
    int st;

    if (waitpid(child, &st, 0) < 0) {
        cli_error(CLIENT_PROGRAM, "lost the agent process %ld: %s", (long)child,
                  strerror(errno));
        return EXIT_FAILURE_GENERIC;
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
        return WEXITSTATUS(st);
    cli_error(CLIENT_PROGRAM, "the agent ended while starting");
    return EXIT_FAILURE_GENERIC;
}

static int parent_wait(pid_t child, int fd, const struct agent_options *o)
{
    char buf[REPORT_LINE_MAX], hostport[NET_HOSTPORT_MAX], fp[TS_FINGERPRINT_MAX], *nl;
    long pid;
    int rc = report_read(fd, buf, sizeof(buf), clock_mono_ms() + o->timeout_ms + START_SLACK_MS);
    int status, used = 0;

    if (rc == 0)
        return child_status(child);
    if (rc < 0) {
        cli_error(CLIENT_PROGRAM, "the agent (pid %ld) did not report in time; see %s in the "
                  "state directory", (long)child, AGENT_LOG_FILE);
        return EXIT_TIMEOUT;
    }
    if ((nl = strchr(buf, '\n')) != NULL)
        *nl = '\0';
    if (sscanf(buf, "up %ld %263s %63s", &pid, hostport, fp) == 3) {
        printf("%s agent started (pid %ld), connected to %s (%s)\n", CLIENT_PROGRAM, pid,
               hostport, fp);
        return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAILURE_GENERIC;
    }
    if (sscanf(buf, "fail %d %n", &status, &used) == 1 && used > 0) {
        cli_error(CLIENT_PROGRAM, "%s", buf + used);
        (void)child_status(child);
        return status;
    }
    cli_error(CLIENT_PROGRAM, "the agent reported something unexpected: %.200s", buf);
    return EXIT_FAILURE_GENERIC;
}

static int start_detached(const struct agent_options *o, const char *dir)
{
    int fds[2];
    pid_t child;
    int status;

    if (pipe2(fds, O_CLOEXEC) != 0) {
        cli_error(CLIENT_PROGRAM, "cannot create a pipe: %s", strerror(errno));
        return EXIT_FAILURE_GENERIC;
    }
    fflush(NULL);
    if ((child = fork()) < 0) {
        cli_error(CLIENT_PROGRAM, "cannot fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return EXIT_FAILURE_GENERIC;
    }
    if (child > 0) {
        close(fds[1]);
        status = parent_wait(child, fds[0], o);
        close(fds[0]);
        return status;
    }
    close(fds[0]);
    /* A session of its own: the terminal's hang-up or Ctrl-C no longer
     * reaches the agent. */
    if (setsid() < 0 || chdir("/") != 0) {
        cli_error(CLIENT_PROGRAM, "cannot detach: %s", strerror(errno));
        _exit(EXIT_FAILURE_GENERIC);
    }
    status = agent_run(o, dir, fds[1]);
    fflush(NULL);
    _exit(status);
}

static int start_run(int argc, char **argv)
{
    struct agent_options o;
    char *dir = NULL, *abs = NULL, *pid_path = NULL;
    long holder;
    int status;

    if ((status = start_parse(argc, argv, &o)) != -1)
        return status;
    if ((status = client_state_dir(&dir)) != EXIT_OK)
        return status;
    /* The agent leaves the working directory: its paths must not be
     * relative. */
    status = EXIT_LOCAL_STATE;
    if ((abs = realpath(dir, NULL)) == NULL) {
        cli_error(CLIENT_PROGRAM, "cannot resolve the state directory %s: %s", dir,
                  strerror(errno));
        goto done;
    }
    if ((pid_path = client_state_path(abs, AGENT_PID_FILE)) == NULL)
        goto done;
    if ((holder = agent_pidfile_holder(pid_path)) != 0) {
        cli_error(CLIENT_PROGRAM, "agent already running (pid %ld)", holder);
        status = EXIT_FAILURE_GENERIC;
        goto done;
    }
    status = o.foreground ? agent_run(&o, abs, -1) : start_detached(&o, abs);
done:
    free(pid_path);
    free(abs);
    free(dir);
    return status;
}

const struct cli_command client_cmd_start = {
    "start",
    "Start the agent: a background session with the server that send, sign, response, "
    "status and stop use.",
    "start [-H HOST] [-p PORT] [--server-key FINGERPRINT] [--foreground] [--timeout "
    "SECONDS] [--heartbeat SECONDS] [--reconnect-initial SECONDS] [--reconnect-max SECONDS] "
    "[--inbox-limit N] " CLIENT_TLS_USAGE,
    start_run,
};
