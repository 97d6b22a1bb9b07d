/*
 * tcp_client login USER: bind this device's key to an existing account
 * after a password check (a device already bound is logged in by its
 * key and needs no login). Also the part register shares: both send a
 * user name and a password, and bind the key when the server agrees.
 */
#include <stdio.h>

#include "cli/client_chat_cli.h"
#include "cli/cli_password.h"

static const char options[] =
    "      --password-file FILE  read the password from FILE (its first line)\n"
    "                          instead of the terminal; or set TCPSEAL_PASSWORD\n"
    "      --json              print the server's answer as one JSON line\n";

int client_account_bind(const struct cli_command *cmd, bool create, int argc, char **argv)
{
    char prompt[96], *password = NULL;
    struct chat_opts o;
    struct route r;
    json_t *req, *obj = NULL;
    int status;

    if ((status = chat_opts_parse(cmd, options, CO_JSON | CO_PASSWORD, 1, 1,
                                  argc, argv, &o)) != -1)
        return status;
    if (cli_text_check(CLIENT_PROGRAM, "the user name", o.args[0]) != 0)
        return EXIT_USAGE;
    snprintf(prompt, sizeof(prompt), "Password for %.40s: ", o.args[0]);
    if (cli_password_read(CLIENT_PROGRAM, o.password_file, prompt, create, &password) != 0)
        return EXIT_FAILURE_GENERIC;
    req = json_pack("{s:s, s:s, s:s}", "cmd", cmd->name, "user", o.args[0], "password",
                    password);
    cli_secret_free(password);
    if (req == NULL) {
        cli_error(CLIENT_PROGRAM, "out of memory");
        return EXIT_FAILURE_GENERIC;
    }
    /* route_ask() drops its reference; ours lets the password be wiped. */
    json_incref(req);
    if ((status = route_init(&r, &o, NULL)) != EXIT_OK)
        json_decref(req);
    else if ((status = route_ask(&r, cmd->name, req, &obj)) == EXIT_OK && o.json)
        status = chat_print_json(obj);
    else if (status == EXIT_OK && create)
        printf("registered %s; this device is logged in as %s\n", o.args[0], o.args[0]);
    else if (status == EXIT_OK)
        printf("logged in as %s; this device's key is now bound to the account\n", o.args[0]);
    cli_json_wipe(req, "password");
    json_decref(req);
    json_decref(obj);
    route_close(&r);
    return status;
}

static int login_run(int argc, char **argv)
{
    return client_account_bind(&client_cmd_login, false, argc, argv);
}

const struct cli_command client_cmd_login = {
    "login",
    "Log this device in to an existing account with its password, binding its key.",
    "login [-H HOST] [-p PORT] [--server-key FP] [--password-file FILE] [--json] USER",
    login_run,
};
