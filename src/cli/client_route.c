/*
 * Where an account or chat command goes (client_chat_cli.h): to the
 * agent when one runs for this server (its session is up already, and it
 * keeps Chat messages in its outbox until they are acknowledged), else to
 * a session of the command's own. The agent's control protocol carries
 * Commands as {"cmd":"command","command":{...}} and Chat messages as
 * {"cmd":"chat",...} (docs/agent.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <tcpseal/error.h>

#include "cli/client_agent.h"
#include "cli/client_chat_cli.h"
#include "util/clock.h"

#define MS_PER_SECOND 1000.0

int route_init(struct route *r, const struct chat_opts *o, const struct chat_callbacks *cb)
{
    memset(r, 0, sizeof(*r));
    r->o = o;
    if (cb != NULL)
        r->cb = *cb;
    if (whois_cache_init(&r->keys, 0) != TS_OK) {
        cli_error(CLIENT_PROGRAM, "out of memory");
        return EXIT_FAILURE_GENERIC;
    }
    return client_state_dir(&r->dir);
}

int route_open_oneshot(struct route *r)
{
    int status;

    r->agent_tried = true;
    r->via_agent = false;
    if (r->open)
        return EXIT_OK;
    if ((status = oneshot_open(&r->s, r->o, r->dir, &r->cb)) == EXIT_OK)
        r->open = true;
    return status;
}

void route_close(struct route *r)
{
    if (r->open)
        oneshot_close(&r->s);
    r->open = false;
    whois_cache_free(&r->keys);
    free(r->dir);
    r->dir = NULL;
}

/* Name the server (and key) explicitly given, so an agent for another
 * server declines. */
static json_t *agent_request(const struct route *r, json_t *req)
{
    if (req != NULL && r->o->server_given)
        json_object_set_new(req, "server", json_string(r->o->hostport));
    if (req != NULL && r->o->server_key != NULL)
        json_object_set_new(req, "server_key", json_string(r->o->server_key));
    return req;
}

/* The answer line after the agent took the message. */
static int agent_answer(struct route *r, struct agent_link *l, json_t *first,
                        uint64_t deadline, ts_envelope **answer)
{
    json_int_t id = json_integer_value(json_object_get(first, "id"));
    char server[NET_HOSTPORT_MAX];
    struct client_answer a;
    json_t *line = NULL;
    int status = agent_link_read(l, deadline, &line);

    if (status == EXIT_TIMEOUT) {
        cli_error(CLIENT_PROGRAM, "no answer to message %lld within %g s (see --timeout); "
                  "it stays in the agent's outbox", (long long)id,
                  (double)r->o->timeout_ms / MS_PER_SECOND);
        return status;
    }
    if (status == EXIT_NOT_RUNNING) {
        cli_error(CLIENT_PROGRAM, "the agent stopped before message %lld was answered",
                  (long long)id);
        return EXIT_FAILURE_GENERIC;
    }
    if (status != EXIT_OK)
        return status;
    if (!json_is_true(json_object_get(line, "ok")))
        status = agent_refused("no answer", line);
    else if ((status = agent_message_decode(json_object_get(line, "message"), &a, server)) ==
             EXIT_OK)
        *answer = a.env;
    json_decref(line);
    return status;
}

/* One request through the agent. *handled stays false when no agent runs
 * for this server (nothing printed). */
static int agent_exchange(struct route *r, json_t *req, ts_envelope **answer, bool *handled)
{
    uint64_t deadline = clock_mono_ms() + r->o->timeout_ms;
    struct agent_link l;
    json_t *first = NULL;
    int status;

    *handled = false;
    status = agent_call_ours(r->dir, agent_request(r, req), r->o->timeout_ms, &first, &l);
    if (status == EXIT_NOT_RUNNING)
        return status;
    *handled = true;
    if (status != EXIT_OK)
        return status;
    if (!json_is_true(json_object_get(first, "ok")))
        status = agent_refused("the agent refused the request", first);
    else
        status = agent_answer(r, &l, first, deadline, answer);
    json_decref(first);
    agent_link_close(&l);
    return status;
}

/* The agent first, once; afterwards the same way again. req consumed. */
static int try_agent(struct route *r, json_t *req, ts_envelope **answer, bool *handled)
{
    int status;

    *handled = false;
    if (r->agent_tried && !r->via_agent) {
        json_decref(req);
        return EXIT_NOT_RUNNING;
    }
    r->agent_tried = true;
    status = agent_exchange(r, req, answer, handled);
    r->via_agent = *handled;
    return status;
}

static int oneshot_status(const char *what, int rc)
{
    if (rc == TS_OK || rc == TS_ERR_SERVER)
        return EXIT_OK;
    return oneshot_failure(what, rc, ts_error_detail(rc));
}

int route_command(struct route *r, const char *what, json_t *cmd, ts_envelope **answer)
{
    bool handled;
    int status, rc;

    *answer = NULL;
    if (cmd == NULL) {
        cli_error(CLIENT_PROGRAM, "out of memory");
        return EXIT_FAILURE_GENERIC;
    }
    /* The request takes a reference of its own: cmd stays ours. */
    status = try_agent(r, json_pack("{s:s, s:O}", "cmd", "command", "command", cmd), answer,
                       &handled);
    if (handled || (status = route_open_oneshot(r)) != EXIT_OK) {
        json_decref(cmd);
        return status;
    }
    rc = chat_command(r->s.chat, cmd, (uint32_t)r->o->timeout_ms, answer);
    return oneshot_status(what, rc);
}

static json_t *chat_request(const char *to, const char *text, bool sign)
{
    size_t len = strlen(text);
    size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc(cap);
    json_t *req;

    if (b64 == NULL)
        return NULL;
    sodium_bin2base64(b64, cap, (const unsigned char *)text, len,
                      sodium_base64_VARIANT_ORIGINAL);
    req = json_pack("{s:s, s:s, s:s, s:b, s:b}", "cmd", "chat", "to", to, "payload", b64,
                    "sign", sign, "wait", 1);
    free(b64);
    return req;
}

int route_say(struct route *r, const char *to, const char *text, bool sign,
              ts_envelope **answer)
{
    char user[CHAT_NAME_MAX + 1];
    bool handled;
    int status, rc;

    *answer = NULL;
    status = try_agent(r, chat_request(to, text, sign), answer, &handled);
    if (handled || (status = route_open_oneshot(r)) != EXIT_OK)
        return status;
    if (!chat_user(r->s.chat, user)) {
        cli_error(CLIENT_PROGRAM, "not logged in: run '%s register USER' or '%s login USER' "
                  "first", CLIENT_PROGRAM, CLIENT_PROGRAM);
        return EXIT_FAILURE_GENERIC;
    }
    rc = chat_say_wait(r->s.chat, to, text, strlen(text), sign, (uint32_t)r->o->timeout_ms,
                       answer);
    return oneshot_status("message", rc);
}

/* Look a sender up through the route and record what whois says. */
static void route_fetch(struct route *r, const char *user)
{
    ts_envelope *answer = NULL;
    const uint8_t *p;
    size_t len;

    if (route_command(r, "whois", json_pack("{s:s, s:s}", "cmd", "whois", "user", user),
                      &answer) != EXIT_OK)
        return;
    p = ts_envelope_payload(answer, &len);
    if (ts_envelope_type(answer) == TS_MSG_RESPONSE)
        (void)whois_cache_put_answer(&r->keys, p, len, clock_mono_ms(), NULL);
    else
        (void)whois_cache_put(&r->keys, user, NULL, 0, clock_mono_ms());
    ts_envelope_free(answer);
}

enum chat_verdict route_check(struct route *r, const ts_envelope *env)
{
    enum whois_verdict v = whois_cache_check(&r->keys, env, clock_mono_ms(), false);

    if (v == WHOIS_NEED_KEYS) {
        route_fetch(r, ts_envelope_sender(env));
        if (whois_cache_find(&r->keys, ts_envelope_sender(env)) == NULL)
            return CHAT_UNCHECKED;
        v = whois_cache_check(&r->keys, env, clock_mono_ms(), true);
    }
    return chat_verdict_of_whois(v);
}

int route_refused(const char *what, const ts_envelope *answer, bool json)
{
    const uint8_t *payload;
    char text[512], *view = NULL;
    size_t len;

    if (ts_envelope_type(answer) != TS_MSG_ERROR)
        return EXIT_OK;
    if (json && ts_envelope_to_json(answer, &view) == TS_OK) {
        printf("%s\n", view);
        fflush(stdout);
        free(view);
    }
    payload = ts_envelope_payload(answer, &len);
    client_error_text(payload, len, text, sizeof(text));
    cli_error(CLIENT_PROGRAM, "%s failed: %s", what, text);
    return EXIT_ERROR_RESPONSE;
}

int route_ask(struct route *r, const char *what, json_t *cmd, json_t **obj)
{
    ts_envelope *answer = NULL;
    int status = route_command(r, what, cmd, &answer);

    *obj = NULL;
    if (status == EXIT_OK && (status = route_refused(what, answer, r->o->json)) == EXIT_OK &&
        (*obj = chat_answer_object(answer)) == NULL) {
        cli_error(CLIENT_PROGRAM, "%s: the server's answer is not {\"ok\":true,...}", what);
        status = EXIT_PROTOCOL;
    }
    ts_envelope_free(answer);
    return status;
}
