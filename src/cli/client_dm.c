/*
 * tcp_client dm USER MESSAGE: a direct message, delivered to every device
 * of USER that is online, or at their next login.
 */
#include <stdio.h>

#include "cli/client_chat_cli.h"

static const char options[] =
    "      --no-sign           send the message unsigned (signed by default)\n"
    "      --json              print the acknowledgement as one JSON line\n";

static int dm_run(int argc, char **argv)
{
    struct chat_opts o;
    int status;

    if ((status = chat_opts_parse(&client_cmd_dm, options, CO_JSON | CO_SIGN, 2, 2, argc, argv,
                                  &o)) != -1)
        return status;
    if (o.args[0][0] == '#') {
        cli_error(CLIENT_PROGRAM, "dm: '%s' names a room; use 'say --room %s'", o.args[0],
                  o.args[0] + 1);
        return EXIT_USAGE;
    }
    return client_say_to(&o, o.args[0], o.args[1]);
}

const struct cli_command client_cmd_dm = {
    "dm",
    "Send MESSAGE to USER directly (kept for them while they are offline).",
    "dm [-H HOST] [-p PORT] [--server-key FP] [--no-sign] [--json] USER MESSAGE",
    dm_run,
};
