/*
 * tcp_client listen [--room R] [--json] [--all]: print messages as they
 * arrive, until interrupted. Through the agent it follows the agent's
 * inbox; otherwise it keeps a session of its own (reconnecting, and
 * joining the room again, when the connection is lost).
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tcpseal/error.h>

#include "cli/client_agent.h"
#include "cli/client_chat_cli.h"
#include "util/clock.h"

#define LISTEN_FIRST_ANSWER_MS 10000u

static const char options[] =
    "      --room ROOM         the room (lobby); direct messages always show\n"
    "      --all               start with what is there already: through the agent\n"
    "                          its inbox, on a session of its own the room's\n"
    "                          recent history\n"
    "      --json              one JSON line per message or event\n";

struct listener {
    const struct chat_opts *o;
    pthread_mutex_t lock;      /* one line at a time */
};

static void show(struct listener *l, const ts_envelope *env, enum chat_verdict v,
                 int64_t stored_id, const char *stored_at)
{
    pthread_mutex_lock(&l->lock);
    if (l->o->json)
        chat_show_json(stdout, env, v, stored_id, stored_at);
    else
        chat_show_line(stdout, env, v, stored_id, stored_at);
    pthread_mutex_unlock(&l->lock);
}

static void on_message(struct chat *chat, const ts_envelope *env, enum chat_verdict v,
                       void *arg)
{
    struct listener *l = arg;

    if (chat_listen_wants(l->o->room, env))
        show(l, env, v, 0, NULL);
}

static void on_state(struct chat *chat, ts_client_state state, const char *reason, void *arg)
{
    if (state == TS_CLIENT_RECONNECTING && reason[0] != '\0')
        cli_error(CLIENT_PROGRAM, "connection lost (%s); reconnecting", reason);
    else if (state == TS_CLIENT_CONNECTED)
        cli_error(CLIENT_PROGRAM, "connected");
}

/* --all on a session of our own: the join's history. */
static void show_history(struct listener *l, struct route *r, const ts_envelope *answer)
{
    json_t *obj = chat_answer_object(answer);
    json_t *items = json_object_get(obj, "history");
    struct chat_item it;

    for (size_t i = 0; i < json_array_size(items); i++) {
        if (chat_item_decode(json_array_get(items, i), &it) != TS_OK)
            continue;
        show(l, it.env, chat_check(r->s.chat, it.env, (uint32_t)l->o->timeout_ms), it.id,
             it.time);
        chat_item_clear(&it);
    }
    json_decref(obj);
}

static int wait_for_signal(const sigset_t *set)
{
    int sig = 0;

    while (sigwait(set, &sig) != 0)
        ;
    return sig;
}

static int listen_own(struct listener *l, struct route *r)
{
    char user[CHAT_NAME_MAX + 1];
    ts_envelope *answer = NULL;
    sigset_t set;
    int status, rc;

    /* Interrupts end the loop below (sigwait), not the process: the
     * session is closed properly. The client's thread blocks them. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0) {
        cli_error(CLIENT_PROGRAM, "cannot set up signals");
        return EXIT_FAILURE_GENERIC;
    }
    if ((status = route_open_oneshot(r)) != EXIT_OK)
        return status;
    if (!chat_user(r->s.chat, user)) {
        cli_error(CLIENT_PROGRAM, "listen: not logged in: run '%s register USER' or '%s "
                  "login USER' first", CLIENT_PROGRAM, CLIENT_PROGRAM);
        return EXIT_FAILURE_GENERIC;
    }
    rc = chat_command(r->s.chat, json_pack("{s:s, s:s}", "cmd", "join", "room", l->o->room),
                      (uint32_t)l->o->timeout_ms, &answer);
    if (rc != TS_OK && rc != TS_ERR_SERVER)
        status = oneshot_failure("join", rc, ts_error_detail(rc));
    else if ((status = route_refused("join", answer, false)) == EXIT_OK && l->o->all)
        show_history(l, r, answer);
    ts_envelope_free(answer);
    if (status != EXIT_OK)
        return status;
    if ((rc = chat_go_online(r->s.chat)) != TS_OK ||
        (rc = ts_client_listen_start(r->s.client)) != TS_OK)
        return oneshot_failure("listen", rc, ts_error_detail(rc));
    (void)wait_for_signal(&set);
    return EXIT_OK;
}

/* Through the agent: its answer, the listed lines, then new ones. */
static int agent_lines(struct listener *l, struct agent_link *link)
{
    char server[NET_HOSTPORT_MAX];
    struct client_answer a;
    json_t *line = NULL, *msg;
    int status;

    for (;;) {
        if ((status = agent_link_read(link, 0, &line)) == EXIT_NOT_RUNNING) {
            cli_error(CLIENT_PROGRAM, "the agent stopped");
            return EXIT_OK;
        }
        if (status != EXIT_OK)
            return status;
        msg = json_object_get(line, "message");
        if ((status = agent_message_decode(msg, &a, server)) == EXIT_OK) {
            show(l, a.env, chat_verdict_from(msg, a.env), 0, NULL);
            client_answer_free(&a);
        }
        json_decref(line);
        if (status != EXIT_OK)
            return status;
    }
}

/* *handled stays false when no agent runs for this server. */
static int listen_agent(struct listener *l, struct route *r, bool *handled)
{
    json_t *req = json_pack("{s:s, s:s, s:b}", "cmd", "listen", "room", l->o->room, "all",
                            l->o->all);
    struct agent_link link;
    json_t *first = NULL;
    int status;

    *handled = false;
    if (req != NULL && l->o->server_given)
        json_object_set_new(req, "server", json_string(l->o->hostport));
    if (req != NULL && l->o->server_key != NULL)
        json_object_set_new(req, "server_key", json_string(l->o->server_key));
    status = agent_call_ours(r->dir, req, LISTEN_FIRST_ANSWER_MS, &first, &link);
    if (status == EXIT_NOT_RUNNING)
        return status;
    *handled = true;
    if (status != EXIT_OK)
        return status;
    if (!json_is_true(json_object_get(first, "ok")))
        status = agent_refused("listen", first);
    else
        status = agent_lines(l, &link);
    json_decref(first);
    agent_link_close(&link);
    return status;
}

static int listen_run(int argc, char **argv)
{
    struct chat_callbacks cb = {.on_message = on_message, .on_state = on_state};
    struct listener l = {0};
    struct chat_opts o;
    struct route r;
    bool handled = false;
    int status;

    if ((status = chat_opts_parse(&client_cmd_listen, options, CO_JSON | CO_ROOM | CO_ALL, 0, 0,
                                  argc, argv, &o)) != -1)
        return status;
    l.o = &o;
    cb.arg = &l;
    if (pthread_mutex_init(&l.lock, NULL) != 0) {
        cli_error(CLIENT_PROGRAM, "cannot create a mutex");
        return EXIT_FAILURE_GENERIC;
    }
    if ((status = route_init(&r, &o, &cb)) == EXIT_OK) {
        status = listen_agent(&l, &r, &handled);
        if (!handled)
            status = listen_own(&l, &r);
    }
    route_close(&r);
    pthread_mutex_destroy(&l.lock);
    return status;
}

const struct cli_command client_cmd_listen = {
    "listen",
    "Print the messages of a room (lobby) and direct messages as they arrive, until "
    "interrupted; through the agent when one runs.",
    "listen [-H HOST] [-p PORT] [--server-key FP] [--room ROOM] [--all] [--json]",
    listen_run,
};
