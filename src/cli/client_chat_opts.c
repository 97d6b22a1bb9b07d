/*
 * Options of the account and chat commands (client_chat_cli.h).
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tcpseal/error.h>
#include <tcpseal/identity.h>

#include "cli/client_chat_cli.h"

enum {
    OPT_SERVER_KEY = 0x100,
    OPT_TIMEOUT,
    OPT_JSON,
    OPT_ROOM,
    OPT_PASSWORD_FILE,
    OPT_NEW_PASSWORD_FILE,
    OPT_BEFORE,
    OPT_NO_SIGN,
    OPT_ALL,
};

const char chat_opts_help_common[] =
    "  -H, --host HOST         server name or address (localhost); HOST:PORT and\n"
    "                          [IPv6]:PORT work too\n"
    "  -p, --port PORT         server port (8080)\n"
    "      --server-key FP     accept only the server with this fingerprint\n"
    "                          (SHA256:...) instead of the known servers\n"
    "      --timeout DURATION  give up after this long (10s; 2.5s, 500ms, 1m)\n"
    CLIENT_TLS_HELP
    "  -h, --help              show this help\n";

static const struct option long_options[] = {
    {"host", required_argument, NULL, 'H'},
    {"port", required_argument, NULL, 'p'},
    {"server-key", required_argument, NULL, OPT_SERVER_KEY},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"json", no_argument, NULL, OPT_JSON},
    {"room", required_argument, NULL, OPT_ROOM},
    {"password-file", required_argument, NULL, OPT_PASSWORD_FILE},
    {"new-password-file", required_argument, NULL, OPT_NEW_PASSWORD_FILE},
    {"before", required_argument, NULL, OPT_BEFORE},
    {"no-sign", no_argument, NULL, OPT_NO_SIGN},
    {"all", no_argument, NULL, OPT_ALL},
    {"help", no_argument, NULL, 'h'},
    CLIENT_TLS_LONG_OPTIONS,
    {NULL, 0, NULL, 0},
};

/* The chat_opt bit an option needs, or 0 for the common ones. */
static unsigned needed(int opt)
{
    switch (opt) {
    case OPT_JSON:
        return CO_JSON;
    case OPT_ROOM:
        return CO_ROOM;
    case OPT_PASSWORD_FILE:
        return CO_PASSWORD;
    case OPT_NEW_PASSWORD_FILE:
        return CO_NEW_PASSWORD;
    case 'n':
        return CO_LIMIT;
    case OPT_BEFORE:
        return CO_BEFORE;
    case OPT_NO_SIGN:
        return CO_SIGN;
    case OPT_ALL:
        return CO_ALL;
    default:
        return 0;
    }
}

static int bad(const struct cli_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int bad(const struct cli_command *cmd, const char *fmt, ...)
{
    char text[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    cli_error(CLIENT_PROGRAM, "%s: %s", cmd->name, text);
    return cli_usage(CLIENT_PROGRAM, cmd, true);
}

static int host_value(const struct cli_command *cmd, const char *text, struct chat_opts *o,
                      bool port_given)
{
    uint16_t in_text = 0;

    if (net_hostport_parse(text, 0, o->host, sizeof(o->host), &in_text) != TS_OK)
        return bad(cmd, "invalid host '%s'", text);
    if (in_text != 0 && !port_given)
        o->port = in_text;
    o->server_given = true;
    return -1;
}

static int number_value(const struct cli_command *cmd, int opt, const char *text,
                        struct chat_opts *o)
{
    uint64_t v;

    if (opt == 'n') {
        if (cli_parse_uint(text, 1000000, &v) != 0 || v == 0)
            return bad(cmd, "-n wants a number of messages from 1, not '%s'", text);
        o->limit = v;
        return -1;
    }
    if (cli_parse_uint(text, INT64_MAX, &v) != 0 || v == 0)
        return bad(cmd, "--before wants a message id, not '%s'", text);
    o->before = (int64_t)v;
    return -1;
}

/* One option: -1 to go on, or the exit status. */
/* The command's own options, then those they all take. */
static int help_show(const struct cli_command *cmd, const char *options)
{
    size_t n = strlen(options) + sizeof(chat_opts_help_common);
    char *all = malloc(n);
    int status;

    if (all == NULL) {
        cli_error(CLIENT_PROGRAM, "out of memory");
        return EXIT_FAILURE_GENERIC;
    }
    snprintf(all, n, "%s%s", options, chat_opts_help_common);
    status = client_help(cmd, all);
    free(all);
    return status;
}

static int take(const struct cli_command *cmd, const char *help, int opt, const char *arg,
                struct chat_opts *o, bool *port_given)
{
    if (client_tls_is_option(opt))
        return client_tls_take(cmd, &o->tls, opt, arg);
    switch (opt) {
    case 'h':
        return help_show(cmd, help);
    case 'H':
        return host_value(cmd, arg, o, *port_given);
    case 'p':
        if (net_port_parse(arg, &o->port) != TS_OK)
            return bad(cmd, "invalid port '%s' (1-65535)", arg);
        *port_given = o->server_given = true;
        return -1;
    case OPT_SERVER_KEY:
        if (ts_fingerprint_validate(arg) != TS_OK)
            return bad(cmd, "--server-key wants a fingerprint like SHA256:<43 characters>, "
                       "not '%s'", arg);
        o->server_key = arg;
        return -1;
    case OPT_TIMEOUT:
        if (cli_parse_duration_ms(arg, &o->timeout_ms) != 0 || o->timeout_ms == 0)
            return bad(cmd, "invalid timeout '%s' (e.g. 10, 2.5s, 500ms)", arg);
        return -1;
    case OPT_JSON:
        o->json = true;
        return -1;
    case OPT_ROOM:
        /* "#lobby" names the room as messages do; both work. */
        o->room = arg[0] == '#' ? arg + 1 : arg;
        o->room_given = true;
        return -1;
    case OPT_PASSWORD_FILE:
        o->password_file = arg;
        return -1;
    case OPT_NEW_PASSWORD_FILE:
        o->new_password_file = arg;
        return -1;
    case OPT_NO_SIGN:
        o->sign = false;
        return -1;
    case OPT_ALL:
        o->all = true;
        return -1;
    default:
        return number_value(cmd, opt, arg, o);
    }
}

static void defaults(struct chat_opts *o)
{
    memset(o, 0, sizeof(*o));
    snprintf(o->host, sizeof(o->host), "%s", CLIENT_DEFAULT_HOST);
    o->port = CLIENT_DEFAULT_PORT;
    o->timeout_ms = CLIENT_DEFAULT_TIMEOUT_MS;
    o->room = CHAT_DEFAULT_ROOM;
    o->limit = CHAT_HISTORY_DEFAULT;
    o->sign = true;
}

/* getopt's own words would name the command, not the program. */
static int unknown(const struct cli_command *cmd, int opt, char **argv)
{
    char shortopt[3] = {'-', (char)optopt, '\0'};
    const char *name = optopt > ' ' && optopt < 0x7f ? shortopt : argv[optind - 1];

    if (opt == ':')
        return bad(cmd, "option '%s' needs a value", name);
    return bad(cmd, "unknown option '%s'", name);
}

int chat_opts_parse(const struct cli_command *cmd, const char *help, unsigned allowed,
                    int min_args, int max_args, int argc, char **argv, struct chat_opts *o)
{
    bool port_given = false;
    int opt, status;

    defaults(o);
    opterr = 0;
    optind = 0;
    while ((opt = getopt_long(argc, argv, ":H:p:n:h", long_options, NULL)) != -1) {
        if (opt == '?' || opt == ':')
            return unknown(cmd, opt, argv);
        if (needed(opt) != 0 && (needed(opt) & allowed) == 0) {
            optopt = opt == 'n' ? 'n' : 0;
            return unknown(cmd, '?', argv);
        }
        if ((status = take(cmd, help, opt, optarg, o, &port_given)) != -1)
            return status;
    }
    if ((status = client_tls_finish(cmd, &o->tls)) != -1)
        return status;
    if (argc - optind < min_args || argc - optind > max_args)
        return bad(cmd, "%s", argc - optind < min_args ? "missing arguments"
                                                       : "too many arguments (quote a "
                                                         "message with spaces)");
    if (net_hostport_format(o->host, o->port, o->hostport, sizeof(o->hostport)) != TS_OK)
        return bad(cmd, "invalid host '%s'", o->host);
    o->args = argv + optind;
    o->n_args = argc - optind;
    return -1;
}
