/*
 * tcp_client say [--room R] MESSAGE: a message to a room (joined first
 * when needed), acknowledged once the server has stored it. Also the
 * part dm shares.
 */
#include <stdio.h>
#include <string.h>

#include <tcpseal/error.h>

#include "cli/client_chat_cli.h"

static const char options[] =
    "      --room ROOM         the room (lobby)\n"
    "      --no-sign           send the message unsigned (signed by default)\n"
    "      --json              print the acknowledgement as one JSON line\n";

static int show_ack(const struct chat_opts *o, const char *to, const ts_envelope *ack)
{
    char when[CHAT_TIME_MAX];
    int64_t id;

    if (chat_ack_parse(ack, &id, when) != TS_OK) {
        cli_error(CLIENT_PROGRAM, "%s", ts_error_detail(TS_ERR_MALFORMED));
        return EXIT_PROTOCOL;
    }
    if (o->json) {
        json_t *obj = json_pack("{s:s, s:I, s:s, s:I, s:b}", "to", to, "id", (json_int_t)id,
                                "time", when, "sequence",
                                (json_int_t)ts_envelope_correlation_id(ack), "signed",
                                o->sign);
        int status = chat_print_json(obj);

        json_decref(obj);
        return status;
    }
    printf("%s: acknowledged as message %lld (%s)\n", to, (long long)id, when);
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAILURE_GENERIC;
}

int client_say_to(const struct chat_opts *o, const char *to, const char *text)
{
    ts_envelope *answer = NULL;
    struct route r;
    int status;

    if ((status = route_init(&r, o, NULL)) == EXIT_OK &&
        (status = route_say(&r, to, text, o->sign, &answer)) == EXIT_OK &&
        (status = route_refused("message", answer, o->json)) == EXIT_OK)
        status = show_ack(o, to, answer);
    ts_envelope_free(answer);
    route_close(&r);
    return status;
}

static int say_run(int argc, char **argv)
{
    char to[CHAT_NAME_MAX + 2];
    struct chat_opts o;
    int status;

    if ((status = chat_opts_parse(&client_cmd_say, options, CO_JSON | CO_ROOM | CO_SIGN, 1, 1,
                                  argc, argv, &o)) != -1)
        return status;
    if (strlen(o.room) > CHAT_NAME_MAX) {
        cli_error(CLIENT_PROGRAM, "say: room names are at most %d characters", CHAT_NAME_MAX);
        return EXIT_USAGE;
    }
    snprintf(to, sizeof(to), "#%s", o.room);
    return client_say_to(&o, to, o.args[0]);
}

const struct cli_command client_cmd_say = {
    "say",
    "Send MESSAGE to a room (lobby), joining it first; through the agent when one runs.",
    "say [-H HOST] [-p PORT] [--server-key FP] [--room ROOM] [--no-sign] [--json] MESSAGE",
    say_run,
};
