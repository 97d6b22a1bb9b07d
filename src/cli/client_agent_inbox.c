/*
 * response through the agent: its inbox holds answers and server
 * messages (docs/agent.md). The last answer is shown as `send` showed it;
 * --all and --follow print one line per message: a JSON line with
 * --json, else "TIME TYPE: TEXT".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tcpseal/error.h>

#include "cli/cli_text.h"
#include "cli/client_agent.h"
#include "util/clock.h"

#define RESPONSE_TIMEOUT_MS 10000u

static int line_human(const struct client_answer *a)
{
    ts_msg_type type = ts_envelope_type(a->env);
    const char *name = ts_msg_type_name(type);
    char when[32], text[512];
    const uint8_t *payload;
    size_t len;
    int rc;

    payload = ts_envelope_payload(a->env, &len);
    cli_format_time(ts_envelope_timestamp(a->env), when);
    if (ts_envelope_correlation_id(a->env) != 0)
        rc = printf("%s %s to %llu: ", when, name != NULL ? name : "Message",
                    (unsigned long long)ts_envelope_correlation_id(a->env));
    else
        rc = printf("%s %s: ", when, name != NULL ? name : "Message");
    if (rc < 0)
        return EXIT_FAILURE_GENERIC;
    if (type == TS_MSG_ERROR) {
        client_error_text(payload, len, text, sizeof(text));
        rc = fputs(text, stdout) == EOF ? -1 : 0;
    } else {
        cli_put_text(stdout, payload, len);
        rc = ferror(stdout) ? -1 : 0;
    }
    if (rc != 0 || putchar('\n') == EOF || fflush(stdout) != 0) {
        cli_error(CLIENT_PROGRAM, "cannot write the output");
        return EXIT_FAILURE_GENERIC;
    }
    return EXIT_OK;
}

static int line_json(const struct client_answer *a, const char *server)
{
    char *json = NULL;
    int status = client_answer_json(a->env, a->verified, server, a->server_key, &json);

    if (status == EXIT_OK)
        status = client_print_payload((const uint8_t *)json, strlen(json));
    free(json);
    return status;
}

/* The last answer, as the saved one is shown: the payload, the Error's
 * text (status 7), or with --json the line. */
static int show_last(const struct client_simple *o, const struct client_answer *a,
                     const char *server)
{
    const uint8_t *payload;
    char text[512];
    size_t len;

    if (o->json)
        return line_json(a, server);
    payload = ts_envelope_payload(a->env, &len);
    if (ts_envelope_type(a->env) == TS_MSG_ERROR) {
        client_error_text(payload, len, text, sizeof(text));
        cli_error(CLIENT_PROGRAM, "server refused the request: %s", text);
        return EXIT_ERROR_RESPONSE;
    }
    return client_print_payload(payload, len);
}

static int show_one(const struct client_simple *o, json_t *line)
{
    struct client_answer a;
    char server[NET_HOSTPORT_MAX];
    int status = agent_message_decode(json_object_get(line, "message"), &a, server);

    if (status != EXIT_OK)
        return status;
    if (!o->all && !o->follow)
        status = show_last(o, &a, server);
    else
        status = o->json ? line_json(&a, server) : line_human(&a);
    client_answer_free(&a);
    return status;
}

/* The listed messages, then (following) whatever comes until the agent
 * ends the stream. */
static int show_lines(const struct client_simple *o, struct agent_link *l, size_t count)
{
    json_t *line = NULL;
    int status = EXIT_OK;
    size_t shown = 0;

    while (status == EXIT_OK && (o->follow || shown < count)) {
        status = agent_link_read(l, o->follow ? 0 : clock_mono_ms() + RESPONSE_TIMEOUT_MS,
                                 &line);
        if (status == EXIT_NOT_RUNNING && o->follow) {
            cli_error(CLIENT_PROGRAM, "the agent stopped");
            return EXIT_OK;
        }
        if (status != EXIT_OK) {
            cli_error(CLIENT_PROGRAM, "the agent's listing ended early");
            return EXIT_FAILURE_GENERIC;
        }
        status = show_one(o, line);
        json_decref(line);
        shown++;
    }
    return status;
}

static json_t *response_request(const struct client_simple *o)
{
    const char *mode = o->all ? "all" : o->follow ? "new" : "last";
    json_t *req = json_pack("{s:s, s:s, s:b}", "cmd", "response", "mode", mode, "follow",
                            o->follow);

    if (req != NULL && o->server_given)
        json_object_set_new(req, "server", json_string(o->hostport));
    return req;
}

int client_response_agent(const struct client_simple *o, const char *dir, int *handled)
{
    struct agent_link l;
    json_t *first = NULL;
    const char *code;
    json_int_t count;
    int status;

    *handled = 0;
    status = agent_call(dir, response_request(o), RESPONSE_TIMEOUT_MS, &first, &l);
    if (status == EXIT_NOT_RUNNING)
        return status;
    code = json_string_value(json_object_get(first, "code"));
    if (status == EXIT_OK && code != NULL && strcmp(code, "other_server") == 0 && !o->all &&
        !o->follow) {
        json_decref(first);
        agent_link_close(&l);
        return status;
    }
    count = json_integer_value(json_object_get(first, "count"));
    if (status == EXIT_OK && count == 0 && !o->all && !o->follow &&
        json_is_true(json_object_get(first, "ok"))) {
        /* Nothing in the inbox yet: the answer saved by a one-shot send
         * is the last one. */
        json_decref(first);
        agent_link_close(&l);
        return status;
    }
    *handled = 1;
    if (status != EXIT_OK)
        return status;
    if (!json_is_true(json_object_get(first, "ok")))
        status = agent_refused("response", first);
    else
        status = show_lines(o, &l, count > 0 ? (size_t)count : 0);
    json_decref(first);
    agent_link_close(&l);
    return status;
}
