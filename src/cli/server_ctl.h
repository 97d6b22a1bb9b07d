/*
 * Options shared by the tcp_server commands that work on an existing
 * state directory (status, connections, stop, kick, send, fingerprint):
 * -c/--config FILE and --state-dir DIR find it as `start` does.
 */
#ifndef TS_CLI_SERVER_CTL_H
#define TS_CLI_SERVER_CTL_H

#include <stdbool.h>
#include <stdint.h>

#include "cli/cli_common.h"
#include "cli/server_paths.h"

#define CTL_ALLOW_JSON 1u     /* --json */
#define CTL_ALLOW_TIMEOUT 2u  /* --timeout DURATION */
/* ctl_opts_parse(): go on with the command. */
#define CTL_CONTINUE (-1)

struct ctl_opts {
    const char *config_path;
    const char *state_dir;
    bool json;
    uint64_t timeout_ms;      /* 0 = the command's default */
    int argi;                 /* index of the first positional argument */
};

/*
 * Parse the options of cmd (argv[0] is its name); allow says which of
 * the optional ones it takes. CTL_CONTINUE, or an exit status after
 * printing help (EXIT_OK) or a usage error (EXIT_USAGE).
 */
int ctl_opts_parse(const struct cli_command *cmd, unsigned allow, int argc, char **argv,
                   struct ctl_opts *o);

/* The state directory named by the options, not created. EXIT_OK, or
 * an exit status after printing the reason. */
int ctl_opts_paths(const struct ctl_opts *o, struct server_paths *p);

/* Options, operand count (min_args..max_args; max -1 = any) and paths in
 * one step: CTL_CONTINUE, or an exit status after printing why. */
int ctl_begin(const struct cli_command *cmd, unsigned allow, int argc, char **argv,
              int min_args, int max_args, struct ctl_opts *o, struct server_paths *p);

/* Print value as one line of compact JSON: EXIT_OK or a failure. */
struct json_t;
int ctl_print_json(struct json_t *value);

#endif /* TS_CLI_SERVER_CTL_H */
