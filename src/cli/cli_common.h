/*
 * Helpers shared by the tcp_server and tcp_client programs: exit codes,
 * subcommand tables, state directories, and parsing of durations and sizes
 * given on the command line or in configuration files.
 */
#ifndef TS_CLI_CLI_COMMON_H
#define TS_CLI_CLI_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit statuses of both programs, listed for scripts in docs/client.md and
 * docs/server.md. */
enum cli_exit {
    EXIT_OK = 0,
    EXIT_FAILURE_GENERIC = 1, /* the operation failed (reason on stderr) */
    EXIT_USAGE = 2,           /* bad command line or configuration */
    EXIT_NOT_RUNNING = 3,     /* no server/agent to talk to; connection refused */
    EXIT_REFUSED = 4,         /* the server refused the connection (full, limits) */
    EXIT_TIMEOUT = 5,         /* a deadline passed */
    EXIT_KEY_MISMATCH = 6,    /* the server key differs from the pinned/known one */
    EXIT_ERROR_RESPONSE = 7,  /* the server answered with an Error envelope */
    EXIT_PROTOCOL = 8,        /* handshake or protocol failure */
    EXIT_LOCAL_STATE = 9,     /* local key or state files unusable */
};

/* One subcommand: name, one-line summary, usage line, and its main. */
struct cli_command {
    const char *name;
    const char *summary;
    const char *usage;
    int (*run)(int argc, char **argv);
};

/*
 * Find argv[1] in the table and run it with argv shifted so the command
 * name is argv[0]. Handles `--help`, `-h`, `help [COMMAND]` and `--version`
 * for the program. Returns the command's exit status or EXIT_USAGE.
 */
int cli_dispatch(const char *program, const char *description,
                 const struct cli_command *commands, size_t n, int argc, char **argv);

/* Print a command's usage to stdout (for --help) or stderr (after a usage
 * error) and return EXIT_OK or EXIT_USAGE accordingly. */
int cli_usage(const char *program, const struct cli_command *cmd, bool error);

/* Take "NAME VALUE" out of argv (shifting the rest down), for commands
 * whose own options sit beside a shared option parser. *value stays as it
 * was when NAME is absent. 0, or -1 after printing that NAME needs a value. */
int cli_take_option(const char *program, int *argc, char **argv, const char *name,
                    const char **value);

/* True when argv holds -h or --help (before any "--"). */
bool cli_wants_help(int argc, char **argv);

/* Print "PROGRAM: message" to stderr (one line; a newline is added). */
void cli_error(const char *program, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Resolve a state directory: explicit (non-NULL) wins, else the
 * environment variable env_var, else $HOME/.local/state/tcpseal/<leaf>.
 * Creates it (and missing parents) with mode 0700 and refuses an existing
 * directory group or others can write to. *out is malloc'd.
 * 0, or -1 with a message on stderr.
 */
int cli_state_dir(const char *program, const char *explicit_dir, const char *env_var,
                  const char *leaf, char **out);

/* Join a directory and a file name into a malloc'd path. */
char *cli_path_join(const char *dir, const char *name);

/* Durations: "10" (seconds), "1.5s", "250ms", "2m", "1h". 0 or -1. */
int cli_parse_duration_ms(const char *text, uint64_t *out_ms);

/* Sizes: "1048576", "64k"/"64KiB", "1m"/"1MiB", "1g"/"1GiB" (powers of
 * 1024). 0 or -1. */
int cli_parse_size(const char *text, uint64_t *out);

/* Unsigned integer with range check. 0 or -1. */
int cli_parse_uint(const char *text, uint64_t max, uint64_t *out);

/* "true/false/yes/no/on/off/1/0". 0 or -1. */
int cli_parse_bool(const char *text, bool *out);

/* Read a passphrase or password: from the file named by the environment
 * variable file_env if set, else from env (e.g. TCPSEAL_PASSPHRASE), else
 * NULL. The result is in sodium_malloc'd memory: free with cli_secret_free. */
char *cli_secret_from_env(const char *env, const char *file_env);
void cli_secret_free(char *secret);

/* Format milliseconds since the epoch as 2024-09-24T12:34:56.789Z. */
void cli_format_time(uint64_t unix_ms, char out[32]);

#endif /* TS_CLI_CLI_COMMON_H */
