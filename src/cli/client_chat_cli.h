/*
 * The account and chat commands of tcp_client (docs/chat_client.md):
 * register, login, logout, whoami, passwd, say, dm, users, history,
 * listen and chat.
 *
 *   client_chat_opts.c   their options
 *   client_route.c       where a command goes: the agent when one runs for
 *                        this server, else a session of the command's own
 *   client_oneshot.c     that session: connect, handshake, key login
 *   client_chat_show.c   messages, events and answers as lines for people
 *                        or JSON lines for scripts
 *   client_<command>.c   one file per command; client_chat_*.c for the
 *                        interactive chat
 */
#ifndef TS_CLI_CLIENT_CHAT_CLI_H
#define TS_CLI_CLIENT_CHAT_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>
#include <tcpseal/client.h>

#include "cli/cli_text.h"
#include "cli/client_cli.h"
#include "client/chat.h"
#include "client/whois_cache.h"

#define CHAT_NEW_PASSWORD_ENV "TCPSEAL_NEW_PASSWORD"
/* History lines asked for when -n is not given. */
#define CHAT_HISTORY_DEFAULT 50
/* The server's page size limit (docs/protocol.md section 10.1). */
#define CHAT_HISTORY_PAGE_MAX 500

extern const struct cli_command client_cmd_register;
extern const struct cli_command client_cmd_login;
extern const struct cli_command client_cmd_logout;
extern const struct cli_command client_cmd_whoami;
extern const struct cli_command client_cmd_passwd;
extern const struct cli_command client_cmd_say;
extern const struct cli_command client_cmd_dm;
extern const struct cli_command client_cmd_users;
extern const struct cli_command client_cmd_history;
extern const struct cli_command client_cmd_listen;
extern const struct cli_command client_cmd_chat;

/* ------------------------------------------------------------------ */
/* Options.                                                             */

/* Which options a command takes, besides -H, -p, --server-key,
 * --timeout and the TLS options, which they all take. */
enum chat_opt {
    CO_JSON = 1u << 0,          /* --json */
    CO_ROOM = 1u << 1,          /* --room R */
    CO_PASSWORD = 1u << 2,      /* --password-file FILE */
    CO_NEW_PASSWORD = 1u << 3,  /* --new-password-file FILE */
    CO_LIMIT = 1u << 4,         /* -n N */
    CO_BEFORE = 1u << 5,        /* --before ID */
    CO_SIGN = 1u << 6,          /* --no-sign */
    CO_ALL = 1u << 7,           /* --all */
};

struct chat_opts {
    char host[NET_HOST_MAX + 1];
    uint16_t port;
    char hostport[NET_HOSTPORT_MAX];
    const char *server_key;        /* --server-key, or NULL */
    bool server_given;             /* -H or -p */
    uint64_t timeout_ms;
    bool json;
    const char *room;              /* --room, else CHAT_DEFAULT_ROOM */
    bool room_given;
    const char *password_file;
    const char *new_password_file;
    uint64_t limit;                /* -n, else CHAT_HISTORY_DEFAULT */
    int64_t before;                /* --before, else 0 */
    bool sign;                     /* true unless --no-sign */
    bool all;
    char **args;                   /* positional arguments */
    int n_args;
    struct client_tls_opts tls;    /* --tls and its options */
};

/*
 * Parse argv for cmd: the common options, those in allowed (enum
 * chat_opt), and between min_args and max_args positional arguments.
 * help lists the command's own options for --help (the common ones
 * follow). Returns -1 to go on, or the exit
 * status (help printed: EXIT_OK; bad usage, reported: EXIT_USAGE).
 */
int chat_opts_parse(const struct cli_command *cmd, const char *help, unsigned allowed,
                    int min_args, int max_args, int argc, char **argv, struct chat_opts *o);

/* The help lines of the common options, and of each optional one. */
extern const char chat_opts_help_common[];

/* ------------------------------------------------------------------ */
/* A session of the command's own (one-shot).                          */

struct oneshot {
    ts_identity *id;
    ts_client *client;
    struct chat *chat;
};

/*
 * Connect to o's server with the identity in dir (the --server-key pin,
 * else the known servers, recording a new server), the key logging the
 * device in; then ask whoami. cb (may be NULL) hears what arrives.
 * EXIT_OK, or the one-shot client's exit status after one line on stderr.
 */
int oneshot_open(struct oneshot *s, const struct chat_opts *o, const char *dir,
                 const struct chat_callbacks *cb);

/* Close the session ("client exiting") and free it. */
void oneshot_close(struct oneshot *s);

/* The exit status and message for a failure of the client library
 * (rc with its detail current), after printing "tcp_client: what: ...". */
int oneshot_failure(const char *what, int rc, const char *detail);

/* ------------------------------------------------------------------ */
/* Routing: the agent, or a session of our own.                         */

struct route {
    const struct chat_opts *o;
    char *dir;
    bool agent_tried;
    bool via_agent;
    struct chat_callbacks cb;      /* for the one-shot session */
    struct oneshot s;
    bool open;
    struct whois_cache keys;       /* senders' keys, for history */
};

/* Prepare (state directory; nothing connects yet). cb may be NULL.
 * EXIT_OK or EXIT_LOCAL_STATE after printing why. */
int route_init(struct route *r, const struct chat_opts *o, const struct chat_callbacks *cb);

/* Use a session of our own even when an agent runs (chat). */
int route_open_oneshot(struct route *r);

/*
 * Run a Command (cmd consumed) through the agent when one runs for this
 * server, else on a session of our own. EXIT_OK with *answer (a Response
 * or an Error envelope; caller frees), or an exit status after printing
 * why. what names the command in messages ("login").
 */
int route_command(struct route *r, const char *what, json_t *cmd, ts_envelope **answer);

/* route_command() for a command that must succeed: EXIT_OK with the
 * Response's object in *obj (caller decrefs), or the status after
 * printing the Error (route_refused) or why there was no answer. */
int route_ask(struct route *r, const char *what, json_t *cmd, json_t **obj);

/* A Chat message to "#room" or a user (the room joined first when
 * needed). EXIT_OK with *answer (the Ack or an Error), or a status. */
int route_say(struct route *r, const char *to, const char *text, bool sign,
              ts_envelope **answer);

/* The verdict on a Chat envelope's signature, looking its sender up with
 * whois (through the same route) when needed. */
enum chat_verdict route_check(struct route *r, const ts_envelope *env);

void route_close(struct route *r);

/* An answer that is an Error: "tcp_client: WHAT failed: MESSAGE (REASON)"
 * on stderr and EXIT_ERROR_RESPONSE; EXIT_OK for a Response. With json
 * the Error's JSON view goes to stdout as well. */
int route_refused(const char *what, const ts_envelope *answer, bool json);

/* login and register (create; named by cmd): a user name and a password
 * (asked twice to create an account), the key bound when the server
 * agrees. The exit status. */
int client_account_bind(const struct cli_command *cmd, bool create, int argc, char **argv);

/* say and dm: send text to "#room" or a user and show the
 * acknowledgement. The exit status. */
int client_say_to(const struct chat_opts *o, const char *to, const char *text);

/* ------------------------------------------------------------------ */
/* Showing things.                                                      */

/* The mark of a verdict: "✓" verified, "?" unsigned, "✗" otherwise. */
const char *chat_mark(enum chat_verdict v);

/* A line for a message or event: "HH:MM:SS #room ✓ alice: text" (local
 * time); with stored_id (not 0) and stored_at, the history form
 * "ID TIME #room ✓ alice: text". */
void chat_show_line(FILE *out, const ts_envelope *env, enum chat_verdict verdict,
                    int64_t stored_id, const char *stored_at);

/* The same as one JSON line: the envelope's JSON view (docs/protocol.md
 * section 6.5) plus "room", "signed", "verified" (true, false, or null
 * when unsigned) and "verdict"; events add "event" (their payload);
 * history items "stored_id" and "stored_at". */
void chat_show_json(FILE *out, const ts_envelope *env, enum chat_verdict verdict,
                    int64_t stored_id, const char *stored_at);

/* What listen shows for room (NULL: every room): messages to that room
 * and direct ones, notices, presence events and that room's joins and
 * leaves. */
bool chat_listen_wants(const char *room, const ts_envelope *env);

/* Print a JSON value as one line on stdout: EXIT_OK or
 * EXIT_FAILURE_GENERIC. */
int chat_print_json(json_t *value);

/* The verdict carried by an agent message object ("verdict", else from
 * "verified" and the envelope's signature). */
enum chat_verdict chat_verdict_from(json_t *msg, const ts_envelope *env);

/* The verdict's name for JSON ("verified", ...) back to the value. */
enum chat_verdict chat_verdict_parse(const char *name, enum chat_verdict fallback);

#endif /* TS_CLI_CLIENT_CHAT_CLI_H */
