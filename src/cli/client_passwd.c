/*
 * tcp_client passwd: change the account's password (the current one is
 * needed). Both passwords come from files, the environment or the
 * terminal; never from the command line.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli/client_chat_cli.h"
#include "cli/cli_password.h"

static const char options[] =
    "      --password-file FILE      the current password (first line of FILE);\n"
    "                                or set TCPSEAL_PASSWORD; else asked\n"
    "      --new-password-file FILE  the new password; or set TCPSEAL_NEW_PASSWORD;\n"
    "                                else asked twice\n"
    "      --json                    print the server's answer as one JSON line\n";

/* The new password: its file, its variable, or the terminal (never the
 * current password's variable). 0 or -1 after printing why. */
static int new_password(const struct chat_opts *o, char **out)
{
    *out = NULL;
    if (o->new_password_file != NULL)
        return cli_password_read(CLIENT_PROGRAM, o->new_password_file, "", false, out);
    if (getenv(CHAT_NEW_PASSWORD_ENV) != NULL) {
        if ((*out = cli_secret_from_env(CHAT_NEW_PASSWORD_ENV, NULL)) != NULL)
            return cli_password_check(CLIENT_PROGRAM, out);
        cli_error(CLIENT_PROGRAM, "cannot hold the new password: out of memory");
        return -1;
    }
    if (getenv(CLI_PASSWORD_ENV) != NULL) {
        cli_error(CLIENT_PROGRAM, "%s holds the current password: give the new one with "
                  "--new-password-file or %s", CLI_PASSWORD_ENV, CHAT_NEW_PASSWORD_ENV);
        return -1;
    }
    return cli_password_read(CLIENT_PROGRAM, NULL, "New password: ", true, out);
}

static json_t *passwd_command(const struct chat_opts *o)
{
    char *old = NULL, *new = NULL;
    json_t *cmd = NULL;

    if (cli_password_read(CLIENT_PROGRAM, o->password_file, "Current password: ", false,
                          &old) == 0 &&
        new_password(o, &new) == 0 &&
        (cmd = json_pack("{s:s, s:s, s:s}", "cmd", "passwd", "old", old, "new", new)) == NULL)
        cli_error(CLIENT_PROGRAM, "out of memory");
    cli_secret_free(old);
    cli_secret_free(new);
    return cmd;
}

static int passwd_run(int argc, char **argv)
{
    struct chat_opts o;
    struct route r;
    json_t *cmd, *obj = NULL;
    int status;

    if ((status = chat_opts_parse(&client_cmd_passwd, options,
                                  CO_JSON | CO_PASSWORD | CO_NEW_PASSWORD, 0, 0, argc, argv,
                                  &o)) != -1)
        return status;
    if ((cmd = passwd_command(&o)) == NULL)
        return EXIT_FAILURE_GENERIC;
    /* route_ask() drops its reference; ours lets the passwords be wiped. */
    json_incref(cmd);
    if ((status = route_init(&r, &o, NULL)) != EXIT_OK)
        json_decref(cmd);
    else if ((status = route_ask(&r, "passwd", cmd, &obj)) == EXIT_OK && o.json)
        status = chat_print_json(obj);
    else if (status == EXIT_OK)
        printf("password changed\n");
    cli_json_wipe(cmd, "old");
    cli_json_wipe(cmd, "new");
    json_decref(cmd);
    json_decref(obj);
    route_close(&r);
    return status;
}

const struct cli_command client_cmd_passwd = {
    "passwd",
    "Change the password of the account this device is logged in as.",
    "passwd [-H HOST] [-p PORT] [--server-key FP] [--password-file FILE] "
    "[--new-password-file FILE] [--json]",
    passwd_run,
};
