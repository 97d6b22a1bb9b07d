/*
 * send and sign through a running agent: the message enters the agent's
 * outbox (on disk before its id comes back), and the answer is shown as
 * the one-shot client shows it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>
#include <tcpseal/error.h>

#include "cli/client_agent.h"
#include "util/clock.h"

#define MS_PER_SECOND 1000.0

static json_t *send_request(const struct client_target *t, bool sign)
{
    size_t len = strlen(t->message);
    size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc(cap);
    json_t *req;

    if (b64 == NULL)
        return NULL;
    sodium_bin2base64(b64, cap, (const unsigned char *)t->message, len,
                      sodium_base64_VARIANT_ORIGINAL);
    req = json_pack("{s:s, s:s, s:b, s:b}", "cmd", "send", "payload", b64, "sign", sign,
                    "wait", !t->no_wait);
    free(b64);
    /* Named explicitly, the server (and key) must be the agent's. */
    if (req != NULL && t->server_given)
        json_object_set_new(req, "server", json_string(t->hostport));
    if (req != NULL && t->server_key != NULL)
        json_object_set_new(req, "server_key", json_string(t->server_key));
    return req;
}

/* The agent took the message: print its id (--no-wait) or wait. */
static int queued(const struct client_target *t, json_t *first, uint64_t *id)
{
    json_t *v = json_object_get(first, "id");

    if (!json_is_integer(v) || json_integer_value(v) <= 0) {
        cli_error(CLIENT_PROGRAM, "the agent's answer has no message id");
        return EXIT_PROTOCOL;
    }
    *id = (uint64_t)json_integer_value(v);
    if (!t->no_wait)
        return -1;
    if (t->json)
        printf("{\"id\":%llu}\n", (unsigned long long)*id);
    else
        printf("%llu\n", (unsigned long long)*id);
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAILURE_GENERIC;
}

static int answer_wait(const struct client_target *t, struct agent_link *l, uint64_t id,
                       uint64_t deadline, struct client_answer *a, char *server)
{
    json_t *line = NULL;
    int status = agent_link_read(l, deadline, &line);

    if (status == EXIT_TIMEOUT) {
        cli_error(CLIENT_PROGRAM,
                  "no answer to message %llu within %g s (see --timeout); it stays in the "
                  "agent's outbox and is delivered when the server answers",
                  (unsigned long long)id, (double)t->timeout_ms / MS_PER_SECOND);
        return EXIT_TIMEOUT;
    }
    if (status == EXIT_NOT_RUNNING) {
        cli_error(CLIENT_PROGRAM, "the agent stopped before message %llu was answered; it "
                  "stays in the agent's outbox", (unsigned long long)id);
        return EXIT_FAILURE_GENERIC;
    }
    if (status != EXIT_OK)
        return status;
    if (!json_is_true(json_object_get(line, "ok")))
        status = agent_refused("no answer", line);
    else
        status = agent_message_decode(json_object_get(line, "message"), a, server);
    json_decref(line);
    return status;
}

int client_agent_send(const struct client_target *t, const char *dir, bool sign,
                      struct client_answer *a, char *server, int *handled)
{
    uint64_t deadline = clock_mono_ms() + t->timeout_ms, id = 0;
    struct agent_link l;
    json_t *req = send_request(t, sign), *first = NULL;
    int status;

    *handled = 0;
    memset(a, 0, sizeof(*a));
    if (req == NULL) {
        *handled = 1;
        cli_error(CLIENT_PROGRAM, "out of memory");
        return EXIT_FAILURE_GENERIC;
    }
    status = agent_call_ours(dir, req, t->timeout_ms, &first, &l);
    if (status == EXIT_NOT_RUNNING)
        return status; /* no agent: one-shot */
    *handled = 1;
    if (status != EXIT_OK)
        return status;
    if (!json_is_true(json_object_get(first, "ok")))
        status = agent_refused("the agent refused the message", first);
    else if ((status = queued(t, first, &id)) == -1)
        status = answer_wait(t, &l, id, deadline, a, server);
    json_decref(first);
    agent_link_close(&l);
    return status;
}
