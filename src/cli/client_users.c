/*
 * tcp_client users [--room R]: who is online, or who is in a room.
 */
#include <stdio.h>
#include <string.h>

#include "cli/client_chat_cli.h"

static const char options[] =
    "      --room ROOM         the members of ROOM instead of everyone online\n"
    "      --json              print the server's answer as one JSON line\n";

static int show(json_t *obj)
{
    json_t *users = json_object_get(obj, "users");

    for (size_t i = 0; i < json_array_size(users); i++) {
        const char *name = json_string_value(json_array_get(users, i));

        if (name != NULL)
            cli_put_text(stdout, (const uint8_t *)name, strlen(name));
        fputc('\n', stdout);
    }
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAILURE_GENERIC;
}

static int users_run(int argc, char **argv)
{
    struct chat_opts o;
    struct route r;
    json_t *cmd, *obj = NULL;
    int status;

    if ((status = chat_opts_parse(&client_cmd_users, options, CO_JSON | CO_ROOM, 0, 0, argc, argv,
                                  &o)) != -1)
        return status;
    cmd = o.room_given ? json_pack("{s:s, s:s}", "cmd", "users", "room", o.room)
                       : json_pack("{s:s}", "cmd", "users");
    if ((status = route_init(&r, &o, NULL)) != EXIT_OK)
        json_decref(cmd);
    else if ((status = route_ask(&r, "users", cmd, &obj)) == EXIT_OK)
        status = o.json ? chat_print_json(obj) : show(obj);
    json_decref(obj);
    route_close(&r);
    return status;
}

const struct cli_command client_cmd_users = {
    "users",
    "List the users online, or with --room the members of a room.",
    "users [-H HOST] [-p PORT] [--server-key FP] [--room ROOM] [--json]",
    users_run,
};
