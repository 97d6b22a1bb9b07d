/*
 * Pieces shared by the tcp_client commands: names of things, the state
 * directory and identity, option parsing, and turning failures into one
 * line on stderr and an exit status (enum cli_exit).
 */
#ifndef TS_CLI_CLIENT_CLI_H
#define TS_CLI_CLIENT_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include <tcpseal/envelope.h>
#include <tcpseal/identity.h>

#include "cli/cli_common.h"
#include "cli/client_tls_opts.h"
#include "net/address.h"

#define CLIENT_PROGRAM "tcp_client"
#define CLIENT_DIR_ENV "TCPSEAL_CLIENT_DIR"
#define CLIENT_DIR_LEAF "client"
#define CLIENT_IDENTITY_FILE "identity.key"
#define CLIENT_LAST_RESPONSE_FILE "last_response.json"
#define CLIENT_PASSPHRASE_ENV "TCPSEAL_PASSPHRASE"
#define CLIENT_PASSPHRASE_FILE_ENV "TCPSEAL_PASSPHRASE_FILE"

#define CLIENT_DEFAULT_HOST "localhost"
#define CLIENT_DEFAULT_PORT 8080
#define CLIENT_DEFAULT_TIMEOUT_MS 10000u
#define CLIENT_CONTENT_TYPE "text/plain; charset=utf-8"

/* The commands (client_main.c holds the table). */
extern const struct cli_command client_cmd_send;
extern const struct cli_command client_cmd_sign;
extern const struct cli_command client_cmd_response;
extern const struct cli_command client_cmd_forget;
extern const struct cli_command client_cmd_fingerprint;
extern const struct cli_command client_cmd_start;
extern const struct cli_command client_cmd_status;
extern const struct cli_command client_cmd_stop;

/* Resolve and create the state directory ($TCPSEAL_CLIENT_DIR or
 * ~/.local/state/tcpseal/client). EXIT_OK with *dir malloc'd, or
 * EXIT_LOCAL_STATE after printing why. */
int client_state_dir(char **dir);

/* The client identity in dir, created (and announced on stderr) on first
 * use; encrypted under $TCPSEAL_PASSPHRASE / $TCPSEAL_PASSPHRASE_FILE when
 * set. EXIT_OK, or EXIT_LOCAL_STATE after printing why. */
int client_identity_open(const char *dir, ts_identity **out);

/* A path in the state directory, malloc'd; NULL after printing "out of
 * memory". */
char *client_state_path(const char *dir, const char *name);

/* Options common to the commands that talk to a server. */
struct client_target {
    char host[NET_HOST_MAX + 1];
    uint16_t port;
    char hostport[NET_HOSTPORT_MAX];      /* canonical "host:port" */
    const char *server_key;               /* --server-key, or NULL */
    uint64_t timeout_ms;
    bool json;
    bool server_given;                    /* -H or -p given */
    bool no_wait;                         /* --no-wait (through the agent) */
    const char *message;                  /* the MESSAGE argument */
    struct client_tls_opts tls;           /* --tls and its options */
};

/* The option lines of send and sign, for their --help. */
extern const char client_target_options[];

/* Print cmd's --help: usage, summary, then options (may be NULL) and the
 * environment the client reads. EXIT_OK. */
int client_help(const struct cli_command *cmd, const char *options);

/* Parse [-H HOST] [-p PORT] [--server-key FP] [--json] [--timeout S]
 * [--no-wait] [TLS options (client_tls_opts.h)] MESSAGE for cmd. Returns -1 to go on, or the exit status
 * (help printed: EXIT_OK; bad usage, reported: EXIT_USAGE). */
int client_target_parse(const struct cli_command *cmd, int argc, char **argv,
                        struct client_target *t);

/* What the other commands accept: some of --json, -H/-p (naming a
 * server), --all/--follow and positional arguments. */
struct client_simple {
    bool allow_json;                 /* in */
    bool allow_server;               /* in */
    bool allow_list;                 /* in: --all and --follow */
    int max_args;                    /* in */
    bool json;                       /* out: --json given */
    bool all;                        /* out: --all given */
    bool follow;                     /* out: --follow given */
    bool server_given;               /* out: -H or -p given */
    bool port_given;                 /* out: -p given */
    char host[NET_HOST_MAX + 1];     /* out: -H, else the default */
    uint16_t port;                   /* out: -p or from -H, else the default */
    char hostport[NET_HOSTPORT_MAX]; /* out: canonical host:port */
    char **args;                     /* out: positional arguments */
    int n_args;
};

/* Parse such a command's arguments into o (its "in" fields set by the
 * caller); options are its help's option lines. Returns -1 to go on, or
 * the exit status (help printed: EXIT_OK; bad usage, reported:
 * EXIT_USAGE). */
int client_simple_parse(const struct cli_command *cmd, const char *options, int argc,
                        char **argv, struct client_simple *o);

/* The answer to one Request: a Response or an Error envelope. */
struct client_answer {
    ts_envelope *env;                     /* owned; client_answer_free() */
    int verify;                           /* as client_message.verify */
    bool verified;                        /* signature verified (server key) */
    char server_key[TS_FINGERPRINT_MAX];  /* the server's fingerprint */
};

/*
 * Connect to t's server (through TLS with t->tls), check its key (the
 * --server-key pin, else the known servers, recording a new server on
 * first use), send a Request
 * carrying t->message (signed with id when sign), and wait for its answer,
 * all within t->timeout_ms. Other messages arriving meanwhile are shown
 * on stderr. EXIT_OK with *answer filled, or an exit status after one
 * line on stderr saying what went wrong.
 */
int client_exchange(const struct client_target *t, const char *dir,
                    const ts_identity *id, bool sign, struct client_answer *answer);

void client_answer_free(struct client_answer *a);

/* The payload of an Error envelope, {"code":..,"reason":"..","message":".."},
 * worded as "MESSAGE (REASON)" in out (capacity cap); a payload of another
 * shape is shown as text with control characters replaced. */
void client_error_text(const uint8_t *payload, size_t len, char *out, size_t cap);

/* The exit status (docs/client.md) for an error of the client library,
 * given its detail. */
int client_exit_status(int rc, const char *detail);

/* The JSON line shown with --json and saved as the last response: the
 * envelope as ts_envelope_to_json() renders it, plus "verified" (the
 * signature verified against the server identity), "server" (host:port)
 * and "server_key" (its fingerprint). *out is malloc'd. EXIT_OK or
 * EXIT_FAILURE_GENERIC after printing why. */
int client_answer_json(const ts_envelope *env, bool verified, const char *hostport,
                       const char *server_key, char **out);

/* Save json as the last response (mode 0600, replaced atomically). EXIT_OK
 * or EXIT_LOCAL_STATE after printing why. */
int client_answer_save(const char *dir, const char *json);

/* Write len bytes and a newline to stdout, then flush: EXIT_OK, or
 * EXIT_FAILURE_GENERIC after printing why. */
int client_print_payload(const uint8_t *data, size_t len);

#endif /* TS_CLI_CLIENT_CLI_H */
