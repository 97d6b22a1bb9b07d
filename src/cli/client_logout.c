/*
 * tcp_client logout: unbind this device's key from its account (the
 * account and its other devices stay).
 */
#include <stdio.h>

#include "cli/client_chat_cli.h"

static const char options[] =
    "      --json              print the server's answer as one JSON line\n";

static int logout_run(int argc, char **argv)
{
    struct chat_opts o;
    struct route r;
    json_t *obj = NULL;
    int status;

    if ((status = chat_opts_parse(&client_cmd_logout, options, CO_JSON, 0, 0, argc, argv, &o)) !=
        -1)
        return status;
    if ((status = route_init(&r, &o, NULL)) == EXIT_OK)
        status = route_ask(&r, "logout", json_pack("{s:s}", "cmd", "logout"), &obj);
    if (status == EXIT_OK && o.json)
        status = chat_print_json(obj);
    else if (status == EXIT_OK)
        printf("logged out; this device's key is no longer bound to an account\n");
    json_decref(obj);
    route_close(&r);
    return status;
}

const struct cli_command client_cmd_logout = {
    "logout",
    "Unbind this device's key from its account.",
    "logout [-H HOST] [-p PORT] [--server-key FP] [--json]",
    logout_run,
};
