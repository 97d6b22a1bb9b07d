/*
 * The TLS options of tcp_client, shared by every command that talks to a
 * server (send and sign, start, the account and chat commands):
 *
 *   --tls  --ca FILE|DIR  --cert FILE --key FILE  --servername NAME
 *   --pin sha256//BASE64  --tls-min-version 1.2|1.3
 *
 * A parser adds CLIENT_TLS_LONG_OPTIONS to its getopt_long() table, hands
 * every option client_tls_is_option() accepts to client_tls_take(), and
 * calls client_tls_finish() once the options are read. The result goes
 * into a ts_client_config (client_tls_apply()) or, for a connection of
 * its own, into a TLS context (client_tls_context()).
 *
 * Files are resolved to absolute paths while parsing: the agent leaves the
 * working directory, and a missing file is a usage error reported before
 * any connection.
 */
#ifndef TS_CLI_CLIENT_TLS_OPTS_H
#define TS_CLI_CLIENT_TLS_OPTS_H

#include <getopt.h>
#include <limits.h>
#include <stdbool.h>

#include <tcpseal/client.h>

#include "cli/cli_common.h"
#include "net/tls.h"

/* getopt_long() values of the TLS options; above every command's own. */
enum {
    CLIENT_OPT_TLS = 0x300,
    CLIENT_OPT_TLS_CA,
    CLIENT_OPT_TLS_CERT,
    CLIENT_OPT_TLS_KEY,
    CLIENT_OPT_TLS_SERVERNAME,
    CLIENT_OPT_TLS_PIN,
    CLIENT_OPT_TLS_MIN_VERSION,
};

/* The getopt_long() entries, for a parser's option table. */
#define CLIENT_TLS_LONG_OPTIONS                                                \
    {"tls", no_argument, NULL, CLIENT_OPT_TLS},                                \
    {"ca", required_argument, NULL, CLIENT_OPT_TLS_CA},                        \
    {"cert", required_argument, NULL, CLIENT_OPT_TLS_CERT},                    \
    {"key", required_argument, NULL, CLIENT_OPT_TLS_KEY},                      \
    {"servername", required_argument, NULL, CLIENT_OPT_TLS_SERVERNAME},        \
    {"pin", required_argument, NULL, CLIENT_OPT_TLS_PIN},                      \
    {"tls-min-version", required_argument, NULL, CLIENT_OPT_TLS_MIN_VERSION}

/* The option lines for --help (a string literal, to join a command's
 * own lines). */
/* The TLS options in a usage line. */
#define CLIENT_TLS_USAGE                                                        \
    "[--tls [--ca FILE] [--cert FILE --key FILE] [--servername NAME] "         \
    "[--pin sha256//BASE64] [--tls-min-version 1.2|1.3]]"

#define CLIENT_TLS_HELP                                                             \
    "      --tls               talk TLS to the server's TLS listener (its port\n"   \
    "                          is 8443 by default); the server key rules apply\n"   \
    "                          inside it as without TLS\n"                          \
    "      --ca FILE|DIR       CA certificates that sign the server's\n"            \
    "                          certificate (the system's trusted CAs)\n"            \
    "      --cert FILE         client certificate (PEM) for servers that\n"         \
    "                          require one (mutual TLS); with --key\n"              \
    "      --key FILE          its private key (PEM, not encrypted)\n"              \
    "      --servername NAME   name to send (SNI) and to check the certificate\n"   \
    "                          against (the host)\n"                                \
    "      --pin sha256//BASE64\n"                                                  \
    "                          also require this pin of the server's key (SPKI;\n"  \
    "                          `tcp_server certs` prints it)\n"                     \
    "      --tls-min-version 1.2|1.3\n"                                             \
    "                          oldest TLS version accepted (1.3)\n"

struct client_tls_opts {
    bool enabled;                       /* --tls */
    bool given;                         /* any other TLS option */
    char ca[PATH_MAX];                  /* absolute; "" = the system's CAs */
    char cert[PATH_MAX];                /* absolute; "" = no client certificate */
    char key[PATH_MAX];                 /* absolute; "" with cert "" */
    char server_name[TLS_SERVER_NAME_MAX + 1]; /* "" = the host */
    char pin[TLS_PIN_MAX];              /* "" = none */
    int min_version;                    /* 0 = TLS 1.3 */
};

/* True when opt (a getopt_long() value) is a TLS option. */
bool client_tls_is_option(int opt);

/*
 * Take one TLS option into o (zeroed by the caller before parsing). -1 to
 * go on, or EXIT_USAGE after printing "tcp_client: CMD: why" and cmd's
 * usage: a file that cannot be resolved, a malformed pin, a version other
 * than 1.2 or 1.3, a server name too long.
 */
int client_tls_take(const struct cli_command *cmd, struct client_tls_opts *o, int opt,
                    const char *arg);

/* After the options: TLS options need --tls, --cert needs --key and the
 * other way round. -1 to go on, or EXIT_USAGE after printing why. */
int client_tls_finish(const struct cli_command *cmd, const struct client_tls_opts *o);

/* Set cfg's TLS fields from o (nothing when --tls was not given); cfg
 * borrows o's strings. */
void client_tls_apply(const struct client_tls_opts *o, ts_client_config *cfg);

/*
 * A TLS context for o in *out, or NULL without --tls. 0, or the error of
 * tls_client_ctx_new() (a file that cannot be loaded, a key that does not
 * match the certificate) with its detail.
 */
int client_tls_context(const struct client_tls_opts *o, tls_client_ctx **out);

#endif /* TS_CLI_CLIENT_TLS_OPTS_H */
