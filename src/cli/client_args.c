/*
 * Command-line options of the tcp_client commands.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <tcpseal/error.h>
#include <tcpseal/identity.h>

#include "cli/client_cli.h"

enum {
    OPT_SERVER_KEY = 0x100,
    OPT_JSON,
    OPT_TIMEOUT,
    OPT_NO_WAIT,
    OPT_ALL,
    OPT_FOLLOW,
};

const char client_target_options[] =
    "  -H, --host HOST         server name or address (localhost); HOST:PORT and\n"
    "                          [IPv6]:PORT work too\n"
    "  -p, --port PORT         server port (8080)\n"
    "      --server-key FP     accept only the server with this fingerprint\n"
    "                          (SHA256:...) instead of the known servers\n"
    "      --json              print the whole answer as one JSON line\n"
    "      --timeout DURATION  give up after this long (10s; 2.5s, 500ms, 1m)\n"
    "      --no-wait           with a running agent: queue the message, print its\n"
    "                          id and return at once (the agent's TLS settings\n"
    "                          apply then)\n"
    CLIENT_TLS_HELP
    "  -h, --help              show this help\n";

int client_help(const struct cli_command *cmd, const char *options)
{
    cli_usage(CLIENT_PROGRAM, cmd, false);
    if (options != NULL)
        printf("\noptions:\n%s", options);
    printf("\nenvironment:\n"
           "  %-24s state directory (~/.local/state/tcpseal/client)\n"
           "  %-24s passphrase of the client identity key\n"
           "  %-24s file holding that passphrase\n"
           "\nExit statuses are listed in docs/client.md.\n",
           CLIENT_DIR_ENV, CLIENT_PASSPHRASE_ENV, CLIENT_PASSPHRASE_FILE_ENV);
    return EXIT_OK;
}

static const struct option target_options[] = {
    {"host", required_argument, NULL, 'H'},
    {"port", required_argument, NULL, 'p'},
    {"server-key", required_argument, NULL, OPT_SERVER_KEY},
    {"json", no_argument, NULL, OPT_JSON},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"no-wait", no_argument, NULL, OPT_NO_WAIT},
    {"help", no_argument, NULL, 'h'},
    CLIENT_TLS_LONG_OPTIONS,
    {NULL, 0, NULL, 0},
};

/* getopt's own messages would name the command, not the program: it runs
 * quietly and the errors are worded here. */
static int option_error(const struct cli_command *cmd, int opt, char **argv)
{
    char shortopt[3] = {'-', (char)optopt, '\0'};
    /* A short option is named by optopt (it may sit in a cluster such as
     * -xz); a long one only by the argument getopt just passed. */
    const char *name = optopt > ' ' && optopt < 0x7f ? shortopt : argv[optind - 1];

    if (opt == ':')
        cli_error(CLIENT_PROGRAM, "%s: option '%s' needs a value", cmd->name, name);
    else
        cli_error(CLIENT_PROGRAM, "%s: unknown option '%s'", cmd->name, name);
    return cli_usage(CLIENT_PROGRAM, cmd, true);
}

/* -H accepts HOST, HOST:PORT, [V6] or [V6]:PORT; a port given there is
 * overridden by -p. */
static int host_option(const struct cli_command *cmd, const char *text, char *host,
                       uint16_t *port, bool port_given)
{
    uint16_t in_text;
    int rc = net_hostport_parse(text, 0, host, NET_HOST_MAX + 1, &in_text);

    if (rc != TS_OK) {
        cli_error(CLIENT_PROGRAM, "%s: invalid host '%s': %s", cmd->name, text,
                  ts_error_detail(rc));
        return EXIT_USAGE;
    }
    if (in_text != 0 && !port_given)
        *port = in_text;
    return -1;
}

static int port_option(const struct cli_command *cmd, const char *text, uint16_t *port,
                       bool *port_given)
{
    if (net_port_parse(text, port) != TS_OK) {
        cli_error(CLIENT_PROGRAM, "%s: invalid port '%s' (1-65535)", cmd->name, text);
        return EXIT_USAGE;
    }
    *port_given = true;
    return -1;
}

static int target_option(const struct cli_command *cmd, int opt, const char *arg,
                         struct client_target *t, bool *port_given)
{
    if (client_tls_is_option(opt))
        return client_tls_take(cmd, &t->tls, opt, arg);
    switch (opt) {
    case 'H':
        t->server_given = true;
        return host_option(cmd, arg, t->host, &t->port, *port_given);
    case 'p':
        t->server_given = true;
        return port_option(cmd, arg, &t->port, port_given);
    case OPT_NO_WAIT:
        t->no_wait = true;
        return -1;
    case OPT_SERVER_KEY:
        if (ts_fingerprint_validate(arg) != TS_OK) {
            cli_error(CLIENT_PROGRAM,
                      "%s: --server-key wants a fingerprint like SHA256:<43 characters>, "
                      "not '%s'", cmd->name, arg);
            return EXIT_USAGE;
        }
        t->server_key = arg;
        return -1;
    case OPT_JSON:
        t->json = true;
        return -1;
    case OPT_TIMEOUT:
        if (cli_parse_duration_ms(arg, &t->timeout_ms) != 0 || t->timeout_ms == 0) {
            cli_error(CLIENT_PROGRAM, "%s: invalid timeout '%s' (e.g. 10, 2.5s, 500ms)",
                      cmd->name, arg);
            return EXIT_USAGE;
        }
        return -1;
    case 'h':
        return client_help(cmd, client_target_options);
    default:
        return EXIT_USAGE;
    }
}

static int target_finish(const struct cli_command *cmd, int argc, char **argv,
                         struct client_target *t)
{
    if (argc - optind != 1) {
        cli_error(CLIENT_PROGRAM, "%s: expected one MESSAGE argument%s", cmd->name,
                  argc - optind > 1 ? " (quote a message with spaces)" : "");
        return cli_usage(CLIENT_PROGRAM, cmd, true);
    }
    t->message = argv[optind];
    if (net_hostport_format(t->host, t->port, t->hostport, sizeof(t->hostport)) != TS_OK) {
        cli_error(CLIENT_PROGRAM, "%s: invalid host '%s'", cmd->name, t->host);
        return EXIT_USAGE;
    }
    return -1;
}

int client_target_parse(const struct cli_command *cmd, int argc, char **argv,
                        struct client_target *t)
{
    bool port_given = false;
    int opt, status;

    memset(t, 0, sizeof(*t));
    snprintf(t->host, sizeof(t->host), "%s", CLIENT_DEFAULT_HOST);
    t->port = CLIENT_DEFAULT_PORT;
    t->timeout_ms = CLIENT_DEFAULT_TIMEOUT_MS;
    opterr = 0;
    optind = 0;
    while ((opt = getopt_long(argc, argv, ":H:p:h", target_options, NULL)) != -1) {
        if (opt == '?' || opt == ':')
            return option_error(cmd, opt, argv);
        if ((status = target_option(cmd, opt, optarg, t, &port_given)) != -1)
            return status;
    }
    if ((status = client_tls_finish(cmd, &t->tls)) != -1)
        return status;
    return target_finish(cmd, argc, argv, t);
}

static const struct option simple_options[] = {
    {"host", required_argument, NULL, 'H'},
    {"port", required_argument, NULL, 'p'},
    {"json", no_argument, NULL, OPT_JSON},
    {"all", no_argument, NULL, OPT_ALL},
    {"follow", no_argument, NULL, OPT_FOLLOW},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* One option of a simple command: -1 to go on, or the exit status. */
static int simple_option(const struct cli_command *cmd, const char *options, int opt,
                         char **argv, struct client_simple *o)
{
    bool known = opt == 'h' || (opt == OPT_JSON && o->allow_json) ||
                 ((opt == OPT_ALL || opt == OPT_FOLLOW) && o->allow_list) ||
                 ((opt == 'H' || opt == 'p') && o->allow_server);

    if (!known) {
        /* Known to getopt, not to this command: name it by its letter, or
         * (--json, which takes no value) by the argument just passed. */
        if (opt != '?' && opt != ':')
            optopt = opt == 'H' || opt == 'p' ? opt : 0;
        return option_error(cmd, opt == ':' ? ':' : '?', argv);
    }
    switch (opt) {
    case 'h':
        return client_help(cmd, options);
    case OPT_JSON:
        o->json = true;
        return -1;
    case OPT_ALL:
        o->all = true;
        return -1;
    case OPT_FOLLOW:
        o->follow = true;
        return -1;
    case 'H':
        o->server_given = true;
        return host_option(cmd, optarg, o->host, &o->port, o->port_given);
    default:
        o->server_given = true;
        return port_option(cmd, optarg, &o->port, &o->port_given);
    }
}

int client_simple_parse(const struct cli_command *cmd, const char *options, int argc,
                        char **argv, struct client_simple *o)
{
    int opt, status;

    o->json = o->server_given = o->port_given = o->all = o->follow = false;
    snprintf(o->host, sizeof(o->host), "%s", CLIENT_DEFAULT_HOST);
    o->port = CLIENT_DEFAULT_PORT;
    opterr = 0;
    optind = 0;
    while ((opt = getopt_long(argc, argv, ":H:p:h", simple_options, NULL)) != -1) {
        if ((status = simple_option(cmd, options, opt, argv, o)) != -1)
            return status;
    }
    if (argc - optind > o->max_args) {
        cli_error(CLIENT_PROGRAM, "%s: unexpected argument '%s'", cmd->name,
                  argv[optind + o->max_args]);
        return cli_usage(CLIENT_PROGRAM, cmd, true);
    }
    if (net_hostport_format(o->host, o->port, o->hostport, sizeof(o->hostport)) != TS_OK) {
        cli_error(CLIENT_PROGRAM, "%s: invalid host '%s'", cmd->name, o->host);
        return EXIT_USAGE;
    }
    o->args = argv + optind;
    o->n_args = argc - optind;
    return -1;
}
