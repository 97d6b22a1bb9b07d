/*
 * tcp_client whoami: the account this device is logged in as (by its
 * key), its fingerprint and its rooms, as the server sees them.
 */
#include <stdio.h>
#include <string.h>

#include "cli/client_chat_cli.h"

static const char options[] =
    "      --json              print the server's answer as one JSON line\n";

static void show(json_t *obj)
{
    const char *user = json_string_value(json_object_get(obj, "user"));
    const char *fp = json_string_value(json_object_get(obj, "fingerprint"));
    json_t *rooms = json_object_get(obj, "rooms");

    if (user != NULL)
        cli_put_text(stdout, (const uint8_t *)user, strlen(user));
    else
        fputs("not logged in", stdout);
    printf(" (device %s", fp != NULL ? fp : "?");
    for (size_t i = 0; i < json_array_size(rooms); i++) {
        const char *room = json_string_value(json_array_get(rooms, i));

        fputs(i == 0 ? "; rooms: " : ", ", stdout);
        cli_put_text(stdout, (const uint8_t *)(room != NULL ? room : "?"),
                      room != NULL ? strlen(room) : 1);
    }
    fputs(")\n", stdout);
}

static int whoami_run(int argc, char **argv)
{
    struct chat_opts o;
    struct route r;
    json_t *obj = NULL;
    int status;

    if ((status = chat_opts_parse(&client_cmd_whoami, options, CO_JSON, 0, 0, argc, argv, &o)) !=
        -1)
        return status;
    if ((status = route_init(&r, &o, NULL)) == EXIT_OK)
        status = route_ask(&r, "whoami", json_pack("{s:s}", "cmd", "whoami"), &obj);
    if (status == EXIT_OK && o.json)
        status = chat_print_json(obj);
    else if (status == EXIT_OK)
        show(obj);
    json_decref(obj);
    route_close(&r);
    if (status == EXIT_OK && fflush(stdout) != 0)
        status = EXIT_FAILURE_GENERIC;
    return status;
}

const struct cli_command client_cmd_whoami = {
    "whoami",
    "Show the account this device is logged in as (by its key), and its rooms.",
    "whoami [-H HOST] [-p PORT] [--server-key FP] [--json]",
    whoami_run,
};
