/*
 * The agent's account and chat commands (docs/agent.md, "Chat through the
 * agent"): a Command, a Chat message, and a listener of one room. They go
 * through the agent's chat layer, so the session's user and rooms are
 * followed and rejoined after a reconnect, and relayed messages carry
 * the verdict on their sender's signature.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <tcpseal/error.h>

#include "cli/client_agent.h"
#include "cli/client_chat_cli.h"
#include "util/log.h"

/* After the first answer line the connection waits for message id. */
static void wait_for(struct agent *a, struct agent_conn *ac, uint64_t id)
{
    if (agent_conn_reply(a, ac, json_pack("{s:b, s:I}", "ok", 1, "id", (json_int_t)id)) != 0)
        return;
    ac->mode = AC_WAIT;
    ac->wait_id = id;
}

void agent_do_command(struct agent *a, struct agent_conn *ac, json_t *req)
{
    json_t *cmd = json_object_get(req, "command");
    uint64_t id = 0;
    int rc;

    if (!agent_for_us(a, req)) {
        agent_conn_reply(a, ac, agent_other_server(a));
        return;
    }
    if (!json_is_object(cmd) || !json_is_string(json_object_get(cmd, "cmd"))) {
        agent_conn_reply(a, ac, agent_failure("bad_request",
                                              "command needs a \"command\" object with a "
                                              "\"cmd\" string"));
        return;
    }
    /* The layer takes a reference; the request keeps its own. */
    rc = chat_command_send(a->chat, json_incref(cmd), agent_events_on_command_answer,
                           &a->events, &id);
    if (rc != TS_OK) {
        agent_conn_reply(a, ac, agent_failure(agent_refusal_code(rc), ts_error_detail(rc)));
        return;
    }
    wait_for(a, ac, id);
}

void agent_do_chat(struct agent *a, struct agent_conn *ac, json_t *req)
{
    const char *to = json_string_value(json_object_get(req, "to"));
    bool sign = json_is_true(json_object_get(req, "sign"));
    bool wait = json_is_true(json_object_get(req, "wait"));
    uint8_t *text = NULL;
    uint64_t id = 0;
    size_t len = 0;
    int rc;

    if (to == NULL) {
        agent_conn_reply(a, ac, agent_failure("bad_request", "chat needs \"to\""));
        return;
    }
    if (!agent_message_accept(a, ac, req, &text, &len))
        return;
    rc = chat_say(a->chat, to, text, len, sign, agent_events_on_answer, &a->events, &id);
    sodium_memzero(text, len);
    free(text);
    if (rc != TS_OK) {
        agent_conn_reply(a, ac, agent_failure(agent_refusal_code(rc), ts_error_detail(rc)));
        return;
    }
    LOG_DEBUG("agent_chat_queued", "id=%llu wait=%d", (unsigned long long)id, wait);
    if (wait)
        wait_for(a, ac, id);
    else
        agent_conn_reply(a, ac, json_pack("{s:b, s:I}", "ok", 1, "id", (json_int_t)id));
}

/* --all: what the inbox holds for the room, oldest first. */
static int listing_for(struct agent *a, struct agent_conn *ac)
{
    const char *room = ac->room[0] != '\0' ? ac->room : NULL;
    size_t n = 0, kept = 0;
    int rc;

    if ((rc = agent_inbox_items(a, &ac->list, &n)) != TS_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (chat_listen_wants(room, ac->list[i].env))
            ac->list[kept++] = ac->list[i];
        else
            ts_envelope_free(ac->list[i].env);
    }
    ac->list_n = kept;
    return TS_OK;
}

void agent_do_listen(struct agent *a, struct agent_conn *ac, json_t *req)
{
    const char *room = json_string_value(json_object_get(req, "room"));
    char user[CHAT_NAME_MAX + 1];
    int rc;

    if (!agent_for_us(a, req)) {
        agent_conn_reply(a, ac, agent_other_server(a));
        return;
    }
    if (room == NULL || room[0] == '\0' || strlen(room) > CHAT_NAME_MAX) {
        agent_conn_reply(a, ac, agent_failure("bad_request", "listen needs a \"room\""));
        return;
    }
    if (!chat_user(a->chat, user)) {
        agent_conn_reply(a, ac, agent_failure("not_logged_in",
                                              "not logged in: run 'tcp_client register "
                                              "USER' or 'tcp_client login USER' first"));
        return;
    }
    snprintf(ac->room, sizeof(ac->room), "%s", room);
    if (!chat_in_room(a->chat, room) &&
        (rc = chat_command_send(a->chat, json_pack("{s:s, s:s}", "cmd", "join", "room", room),
                                NULL, NULL, NULL)) != TS_OK) {
        agent_conn_reply(a, ac, agent_failure(agent_refusal_code(rc), ts_error_detail(rc)));
        return;
    }
    if (json_is_true(json_object_get(req, "all")) && (rc = listing_for(a, ac)) != TS_OK) {
        agent_conn_reply(a, ac, agent_failure("failed", ts_error_detail(rc)));
        return;
    }
    if (agent_conn_reply(a, ac, json_pack("{s:b, s:I}", "ok", 1, "count",
                                          (json_int_t)ac->list_n)) != 0)
        return;
    ac->mode = AC_LISTEN;
    agent_conn_fill(a, ac);
}
