/*
 * tcp_client register USER: create an account and bind this device's
 * key to it; from then on the handshake alone logs this device in.
 */
#include "cli/client_chat_cli.h"

static int register_run(int argc, char **argv)
{
    return client_account_bind(&client_cmd_register, true, argc, argv);
}

const struct cli_command client_cmd_register = {
    "register",
    "Create an account and bind this device's key to it (the password is asked twice).",
    "register [-H HOST] [-p PORT] [--server-key FP] [--password-file FILE] [--json] USER",
    register_run,
};
