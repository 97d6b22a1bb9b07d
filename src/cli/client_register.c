/*
 * tcp_client register USER: create an account and bind this device's
 * key to it; from then on the handshake alone logs this device in.
 */
#include <stdio.h>

#include "cli/client_chat_cli.h"
#include "cli/cli_password.h"

static const char options[] =
    "      --password-file FILE  read the password from FILE (its first line)\n"
    "                          instead of the terminal; or set TCPSEAL_PASSWORD\n"
    "      --json              print the server's answer as one JSON line\n";

static int register_run(int argc, char **argv)
{
    char prompt[96], *password = NULL;
    struct chat_opts o;
    struct route r;
    json_t *cmd, *obj = NULL;
    int status;

    if ((status = chat_opts_parse(&client_cmd_register, options, CO_JSON | CO_PASSWORD, 1, 1,
                                  argc, argv, &o)) != -1)
        return status;
    if (cli_text_check(CLIENT_PROGRAM, "the user name", o.args[0]) != 0)
        return EXIT_USAGE;
    snprintf(prompt, sizeof(prompt), "Password for %.40s: ", o.args[0]);
    if (cli_password_read(CLIENT_PROGRAM, o.password_file, prompt, true, &password) != 0)
        return EXIT_FAILURE_GENERIC;
    cmd = json_pack("{s:s, s:s, s:s}", "cmd", "register", "user", o.args[0], "password",
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
    else if ((status = route_ask(&r, "register", cmd, &obj)) == EXIT_OK && o.json)
        status = chat_print_json(obj);
    else if (status == EXIT_OK)
        printf("registered %s; this device is logged in as %s\n", o.args[0], o.args[0]);
    cli_json_wipe(cmd, "password");
    json_decref(cmd);
    json_decref(obj);
    route_close(&r);
    return status;
}

const struct cli_command client_cmd_register = {
    "register",
    "Create an account and bind this device's key to it (the password is asked twice).",
    "register [-H HOST] [-p PORT] [--server-key FP] [--password-file FILE] [--json] USER",
    register_run,
};
