/*
 * Account administration on a running server, through its control
 * socket: users, useradd, userdel, passwd, lock, unlock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli/cli_common.h"
#include "cli/cli_password.h"
#include "cli/server_cmds.h"
#include "cli/server_control.h"
#include "cli/server_ctl.h"
#include "cli/server_paths.h"

#define PASSWORD_FLAG "--password-file"


static void print_users(json_t *users)
{
    size_t i;
    json_t *u;
    char created[32];

    if (json_array_size(users) == 0) {
        printf("no users\n");
        return;
    }
    printf("%-32s %-6s %-6s %-7s %s\n", "USER", "ONLINE", "KEYS", "LOCKED", "CREATED");
    json_array_foreach(users, i, u) {
        cli_format_time((uint64_t)json_integer_value(json_object_get(u, "created_ms")),
                        created);
        printf("%-32s %-6lld %-6lld %-7s %s\n",
               json_string_value(json_object_get(u, "user")),
               (long long)json_integer_value(json_object_get(u, "online")),
               (long long)json_integer_value(json_object_get(u, "keys")),
               json_is_true(json_object_get(u, "locked")) ? "yes" : "no", created);
    }
}

static int users_run(int argc, char **argv)
{
    struct server_paths p = {0};
    json_t *answer = NULL;
    struct ctl_opts o;
    int status;

    status = ctl_begin(&server_cmd_users, CTL_ALLOW_JSON, argc, argv, 0, 0, &o, &p);
    if (status == CTL_CONTINUE &&
        (status = ctl_command(p.control, "users", NULL, &answer)) == EXIT_OK) {
        if (o.json)
            status = ctl_print_json(json_object_get(answer, "users"));
        else
            print_users(json_object_get(answer, "users"));
    }
    json_decref(answer);
    server_paths_free(&p);
    return status;
}

/* The commands that name one user; with_password asks for a new one. */
static int user_command(const struct cli_command *cmd, bool with_password, int argc,
                        char **argv, const char *done)
{
    struct server_paths p = {0};
    json_t *answer = NULL, *args = NULL;
    const char *file = NULL;
    char *password = NULL;
    struct ctl_opts o;
    int status;

    if (with_password &&
        cli_take_option(SERVER_PROGRAM, &argc, argv, PASSWORD_FLAG, &file) != 0)
        return EXIT_USAGE;
    status = ctl_begin(cmd, 0, argc, argv, 1, 1, &o, &p);
    if (status != CTL_CONTINUE)
        goto out;
    if (with_password &&
        cli_password_read(SERVER_PROGRAM, file, "New password: ", true, &password) != 0) {
        status = EXIT_FAILURE_GENERIC;
        goto out;
    }
    args = with_password ? json_pack("{s:s, s:s}", "user", argv[o.argi], "password", password)
                         : json_pack("{s:s}", "user", argv[o.argi]);
    if (args == NULL) {
        cli_error(SERVER_PROGRAM, "the user name or password is not valid UTF-8 text");
        status = EXIT_USAGE;
        goto out;
    }
    /* ctl_command() drops its reference; ours lets the password be wiped. */
    status = ctl_command(p.control, cmd->name, json_incref(args), &answer);
    cli_json_wipe(args, "password");
    json_decref(args);
    if (status == EXIT_OK)
        printf("%s %s\n", done, argv[o.argi]);
out:
    cli_secret_free(password);
    json_decref(answer);
    server_paths_free(&p);
    return status;
}

static int useradd_run(int argc, char **argv)
{
    return user_command(&server_cmd_useradd, true, argc, argv, "added user");
}

static int userdel_run(int argc, char **argv)
{
    return user_command(&server_cmd_userdel, false, argc, argv, "deleted user");
}

static int passwd_run(int argc, char **argv)
{
    return user_command(&server_cmd_passwd, true, argc, argv, "new password for");
}

static int lock_run(int argc, char **argv)
{
    return user_command(&server_cmd_lock, false, argc, argv, "locked");
}

static int unlock_run(int argc, char **argv)
{
    return user_command(&server_cmd_unlock, false, argc, argv, "unlocked");
}

const struct cli_command server_cmd_users = {
    "users", "List the accounts: online devices, bound keys, locked or not.",
    "users [--json] [-c FILE] [--state-dir DIR]", users_run,
};

const struct cli_command server_cmd_useradd = {
    "useradd",
    "Create account USER. The password is asked on the terminal (twice), or read from "
    "--password-file FILE or TCPSEAL_PASSWORD.",
    "useradd [--password-file FILE] [-c FILE] [--state-dir DIR] USER", useradd_run,
};

const struct cli_command server_cmd_userdel = {
    "userdel", "Delete account USER, its device keys and its queued messages; its "
    "connections are closed.",
    "userdel [-c FILE] [--state-dir DIR] USER", userdel_run,
};

const struct cli_command server_cmd_passwd = {
    "passwd", "Set a new password for USER (asked as for useradd).",
    "passwd [--password-file FILE] [-c FILE] [--state-dir DIR] USER", passwd_run,
};

const struct cli_command server_cmd_lock = {
    "lock", "Lock account USER: its connections are closed and it cannot log in.",
    "lock [-c FILE] [--state-dir DIR] USER", lock_run,
};

const struct cli_command server_cmd_unlock = {
    "unlock", "Unlock account USER.", "unlock [-c FILE] [--state-dir DIR] USER", unlock_run,
};
