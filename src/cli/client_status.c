/*
 * tcp_client status: is the agent running, is its session up (or when is
 * the next attempt), with whom, and how much went through it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tcpseal/error.h>

#include "cli/client_agent.h"

#define STATUS_TIMEOUT_MS 5000u

static json_int_t num(json_t *obj, const char *key)
{
    return json_integer_value(json_object_get(obj, key));
}

static const char *str(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));

    return s != NULL ? s : "";
}

static void print_state(json_t *st)
{
    const char *state = str(st, "state");

    if (strcmp(state, "reconnecting") == 0 && json_is_string(json_object_get(st, "next_attempt")))
        printf("state:       reconnecting (next attempt in %.1f s, at %s)\n",
               (double)num(st, "next_attempt_in_ms") / 1000.0, str(st, "next_attempt"));
    else
        printf("state:       %s\n", state);
    if (strcmp(state, "connected") == 0)
        printf("session:     up %lld s (since %s)\n", (long long)num(st, "session_age_s"),
               str(st, "connected_since"));
}

static int status_print(json_t *st)
{
    json_t *msgs = json_object_get(st, "messages");

    printf("agent:       running (pid %lld, since %s)\n", (long long)num(st, "pid"),
           str(st, "started_at"));
    print_state(st);
    printf("server:      %s (%s)\n", str(st, "server"),
           str(st, "server_key")[0] != '\0' ? str(st, "server_key") : "key not seen yet");
    printf("identity:    %s\n", str(st, "fingerprint"));
    printf("rekeys:      %lld\n", (long long)num(st, "rekeys"));
    printf("reconnects:  %lld\n", (long long)num(st, "reconnects"));
    printf("messages:    %lld in, %lld out\n", (long long)num(msgs, "in"),
           (long long)num(msgs, "out"));
    printf("outbox:      %lld (%lld in flight)\n", (long long)num(st, "outbox"),
           (long long)num(st, "in_flight"));
    printf("inbox:       %lld\n", (long long)num(st, "inbox"));
    if (str(st, "last_error")[0] != '\0')
        printf("last error:  %s\n", str(st, "last_error"));
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAILURE_GENERIC;
}

static int status_json(json_t *st)
{
    char *text = json_dumps(st, JSON_COMPACT | JSON_PRESERVE_ORDER);
    int status;

    if (text == NULL) {
        cli_error(CLIENT_PROGRAM, "out of memory");
        return EXIT_FAILURE_GENERIC;
    }
    status = client_print_payload((const uint8_t *)text, strlen(text));
    free(text);
    return status;
}

static const char status_options[] =
    "      --json  print the status as one JSON object (docs/agent.md)\n"
    "  -h, --help  show this help\n";

static int status_run(int argc, char **argv)
{
    struct client_simple o = {.allow_json = true};
    json_t *answer = NULL, *st;
    char *dir = NULL;
    int status;

    status = client_simple_parse(&client_cmd_status, status_options, argc, argv, &o);
    if (status != -1)
        return status;
    if ((status = client_state_dir(&dir)) != EXIT_OK)
        return status;
    status = agent_call(dir, json_pack("{s:s}", "cmd", "status"), STATUS_TIMEOUT_MS, &answer,
                        NULL);
    free(dir);
    if (status == EXIT_NOT_RUNNING)
        return agent_not_running(o.json);
    if (status != EXIT_OK)
        return status;
    st = json_object_get(answer, "status");
    if (!json_is_true(json_object_get(answer, "ok")) || !json_is_object(st))
        status = agent_refused("status", answer);
    else
        status = o.json ? status_json(st) : status_print(st);
    json_decref(answer);
    return status;
}

const struct cli_command client_cmd_status = {
    "status",
    "Say whether the agent runs and how its session is: connected or reconnecting, "
    "server, keys, counters, outbox and inbox.",
    "status [--json]",
    status_run,
};
