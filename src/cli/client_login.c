/*
 * tcp_client login USER: bind this device's key to an existing account
 * after a password check (a device already bound is logged in by its
 * key and needs no login).
 */
#include <stdio.h>

#include "cli/client_chat_cli.h"
#include "cli/cli_password.h"

static const char options[] =
    "      --password-file FILE  read the password from FILE (its first line)\n"
    "                          instead of the terminal; or set TCPSEAL_PASSWORD\n"
    "      --json              print the server's answer as one JSON line\n";

static int login_run(int argc, char **argv)
{
    char prompt[96], *password = NULL;
    struct chat_opts o;
    struct route r;
    json_t *cmd, *obj = NULL;
    int status;

    if ((status = chat_opts_parse(&client_cmd_login, options, CO_JSON | CO_PASSWORD, 1, 1, argc,
                                  argv, &o)) != -1)
        return status;
    if (cli_text_check(CLIENT_PROGRAM, "the user name", o.args[0]) != 0)
        return EXIT_USAGE;
    snprintf(prompt, sizeof(prompt), "Password for %.40s: ", o.args[0]);
    if (cli_password_read(CLIENT_PROGRAM, o.password_file, prompt, false, &password) != 0)
        return EXIT_FAILURE_GENERIC;
    cmd = json_pack("{s:s, s:s, s:s}", "cmd", "login", "user", o.args[0], "password",
                    password);
    cli_secret_free(password);
    if (cmd == NULL) {
        cli_error(CLIENT_PROGRAM, "out of memory");
        return EXIT_FAILURE_GENERIC;
    }
    /* route_ask() drops its reference; ours lets the password be wiped. */
    json_incref(cmd);
    if ((status = route_init(&r, &o, NULL)) != EXIT_OK)
        json_decref(cmd);
    else if ((status = route_ask(&r, "login", cmd, &obj)) == EXIT_OK && o.json)
        status = chat_print_json(obj);
    else if (status == EXIT_OK)
        printf("logged in as %s; this device's key is now bound to the account\n", o.args[0]);
    cli_json_wipe(cmd, "password");
    json_decref(cmd);
    json_decref(obj);
    route_close(&r);
    return status;
}

const struct cli_command client_cmd_login = {
    "login",
    "Log this device in to an existing account with its password, binding its key.",
    "login [-H HOST] [-p PORT] [--server-key FP] [--password-file FILE] [--json] USER",
    login_run,
};
