/*
 * The agent's control commands (docs/agent.md): status, send, response,
 * stop (the chat ones are in client_agent_chat.c); and how answers and
 * messages reach the connections waiting for them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>
#include <tcpseal/error.h>

#include "cli/client_agent.h"
#include "cli/client_chat_cli.h"
#include "client/client_relay.h"
#include "util/clock.h"
#include "util/log.h"

/* Listing lines are produced while the output holds less than this. */
#define FILL_LOW_WATER (256u * 1024u)
/* Messages a follower may fall behind by before it is dropped. */
#define FOLLOW_BACKLOG_MAX 10000u

json_t *agent_failure(const char *code, const char *text)
{
    return json_pack("{s:b, s:s, s:s}", "ok", 0, "code", code, "error", text);
}

static json_t *time_or_null(uint64_t unix_ms)
{
    char text[32];

    if (unix_ms == 0)
        return json_null();
    cli_format_time(unix_ms, text);
    return json_string(text);
}

static json_t *status_object(struct agent *a)
{
    uint64_t now = clock_wall_ms();
    ts_client_status st;

    ts_client_get_status(a->client, &st);
    return json_pack(
        "{s:b, s:I, s:s, s:o, s:s, s:s, s:s, s:s, s:o, s:I, s:o, s:I, s:I, s:I,"
        " s:{s:I, s:I}, s:I, s:I, s:I, s:s}",
        "running", 1, "pid", (json_int_t)getpid(), "version", TS_VERSION, "started_at",
        time_or_null(a->started_ms), "state", ts_client_state_name(st.state), "server",
        a->opts->hostport, "server_key", st.server_fingerprint, "fingerprint",
        st.fingerprint, "connected_since", time_or_null(st.connected_since_ms),
        "session_age_s",
        (json_int_t)(st.connected_since_ms != 0 && now > st.connected_since_ms
                         ? (now - st.connected_since_ms) / 1000u
                         : 0),
        "next_attempt", time_or_null(st.next_attempt_ms), "next_attempt_in_ms",
        (json_int_t)(st.next_attempt_ms > now ? st.next_attempt_ms - now : 0), "reconnects",
        (json_int_t)st.reconnects, "rekeys", (json_int_t)st.rekeys, "messages", "in",
        (json_int_t)st.messages_in, "out", (json_int_t)st.messages_out, "outbox",
        (json_int_t)st.outbox, "in_flight", (json_int_t)st.in_flight, "inbox",
        (json_int_t)st.inbox, "last_error", st.last_error);
}

/* A command naming another server (or key) than the agent's is not for
 * the agent: the caller then works on its own. */
bool agent_for_us(struct agent *a, json_t *req)
{
    const char *server = json_string_value(json_object_get(req, "server"));
    const char *key = json_string_value(json_object_get(req, "server_key"));
    ts_client_status st;

    if (server != NULL && strcasecmp(server, a->opts->hostport) != 0)
        return false;
    if (key == NULL)
        return true;
    ts_client_get_status(a->client, &st);
    return strcmp(key, a->opts->server_key != NULL ? a->opts->server_key
                                                   : st.server_fingerprint) == 0;
}

json_t *agent_other_server(struct agent *a)
{
    char text[NET_HOSTPORT_MAX + 64];

    snprintf(text, sizeof(text), "the agent talks to %s", a->opts->hostport);
    return agent_failure("other_server", text);
}

/* The base64 "payload" of a request, decoded (caller wipes and frees);
 * -1 when absent or not base64. */
static int payload_decode(json_t *req, uint8_t **out, size_t *len)
{
    json_t *p = json_object_get(req, "payload");
    size_t n = json_string_length(p);

    *out = NULL;
    *len = 0;
    if (!json_is_string(p) || (*out = malloc(n + 1)) == NULL)
        return -1;
    if (sodium_base642bin(*out, n + 1, json_string_value(p), n, NULL, len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0) {
        free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

bool agent_message_accept(struct agent *a, struct agent_conn *ac, json_t *req, uint8_t **payload,
                          size_t *len)
{
    if (!agent_for_us(a, req)) {
        agent_conn_reply(a, ac, agent_other_server(a));
        return false;
    }
    if (payload_decode(req, payload, len) != 0) {
        agent_conn_reply(a, ac, agent_failure("bad_request", "a base64 \"payload\" is needed"));
        return false;
    }
    return true;
}

const char *agent_refusal_code(int rc)
{
    switch (rc) {
    case TS_ERR_TOO_LARGE:
        return "too_large";
    case TS_ERR_LIMIT:
        return "outbox_full";
    case TS_ERR_STATE:
        return "not_logged_in";
    case TS_ERR_INVALID:
        return "bad_request";
    default:
        return "failed";
    }
}

static void do_send(struct agent *a, struct agent_conn *ac, json_t *req)
{
    bool sign = json_is_true(json_object_get(req, "sign"));
    bool wait = json_is_true(json_object_get(req, "wait"));
    uint8_t *payload = NULL;
    uint64_t id = 0;
    size_t len = 0;
    int rc;

    if (!agent_message_accept(a, ac, req, &payload, &len))
        return;
    rc = ts_client_send(a->client, payload, len, sign ? TS_SEND_SIGN : 0,
                        agent_events_on_answer, &a->events, &id);
    sodium_memzero(payload, len);
    free(payload);
    if (rc != TS_OK) {
        agent_conn_reply(a, ac, agent_failure(agent_refusal_code(rc), ts_error_detail(rc)));
        return;
    }
    LOG_DEBUG("agent_queued", "id=%llu wait=%d", (unsigned long long)id, wait);
    if (agent_conn_reply(a, ac, json_pack("{s:b, s:I}", "ok", 1, "id", (json_int_t)id)) != 0)
        return;
    if (wait) {
        ac->mode = AC_WAIT;
        ac->wait_id = id;
    }
}

void agent_items_free(struct agent_item *list, size_t from, size_t n)
{
    for (size_t i = from; i < n; i++)
        ts_envelope_free(list[i].env);
    free(list);
}

int agent_inbox_items(struct agent *a, struct agent_item **out, size_t *n)
{
    struct client_inbox_entry *entries = NULL;
    int rc;

    *out = NULL;
    if ((rc = client_inbox_entries(a->client, SIZE_MAX, &entries, n)) != TS_OK)
        return rc;
    if (*n > 0 && (*out = calloc(*n, sizeof(**out))) == NULL) {
        client_inbox_entries_free(entries, *n);
        *n = 0;
        return TS_ERR_NOMEM;
    }
    for (size_t i = 0; i < *n; i++) {
        (*out)[i] = (struct agent_item){
            .env = entries[i].env,
            .verified = entries[i].verified,
            .verdict = chat_verdict_of(entries[i].env, entries[i].verified),
        };
        entries[i].env = NULL; /* moved */
    }
    client_inbox_entries_free(entries, *n);
    return TS_OK;
}

/* The newest answer (Response or Error) in the list, or none. */
static void keep_last_answer(struct agent_item *list, size_t *n)
{
    size_t keep = *n;

    for (size_t i = *n; i-- > 0;) {
        ts_msg_type t = ts_envelope_type(list[i].env);

        if (t == TS_MSG_RESPONSE || t == TS_MSG_ERROR) {
            keep = i;
            break;
        }
    }
    for (size_t i = 0; i < *n; i++) {
        if (i != keep)
            ts_envelope_free(list[i].env);
    }
    if (keep < *n) {
        list[0] = list[keep];
        *n = 1;
    } else {
        *n = 0;
    }
}

/* Remember the hashes of the listing, so following skips them. */
static int remember_listed(struct agent_conn *ac)
{
    if (ac->list_n == 0)
        return 0;
    if ((ac->seen = calloc(ac->list_n, sizeof(*ac->seen))) == NULL)
        return -1;
    for (size_t i = 0; i < ac->list_n; i++)
        memcpy(ac->seen[i], ts_envelope_hash(ac->list[i].env), TS_ENVELOPE_HASH_LEN);
    ac->seen_n = ac->list_n;
    return 0;
}

static void do_response(struct agent *a, struct agent_conn *ac, json_t *req)
{
    const char *mode = json_string_value(json_object_get(req, "mode"));
    bool follow = json_is_true(json_object_get(req, "follow"));
    size_t n = 0;
    int rc;

    if (!agent_for_us(a, req)) {
        agent_conn_reply(a, ac, agent_other_server(a));
        return;
    }
    if (mode == NULL || (strcmp(mode, "last") != 0 && strcmp(mode, "all") != 0 &&
                         strcmp(mode, "new") != 0)) {
        agent_conn_reply(a, ac, agent_failure("bad_request", "mode must be last, all or new"));
        return;
    }
    if (strcmp(mode, "new") != 0 &&
        (rc = agent_inbox_items(a, &ac->list, &n)) != TS_OK) {
        agent_conn_reply(a, ac, agent_failure("failed", ts_error_detail(rc)));
        return;
    }
    if (strcmp(mode, "last") == 0)
        keep_last_answer(ac->list, &n);
    ac->list_n = n;
    if (follow && remember_listed(ac) != 0) {
        agent_conn_reply(a, ac, agent_failure("failed", "out of memory"));
        return;
    }
    if (agent_conn_reply(a, ac, json_pack("{s:b, s:I}", "ok", 1, "count", (json_int_t)n)) != 0)
        return;
    ac->mode = follow ? AC_FOLLOW : AC_FLUSH;
    agent_conn_fill(a, ac);
}

/* The stop answer is written before the agent goes: it is one short line
 * on an idle socket. */
static void do_stop(struct agent *a, struct agent_conn *ac)
{
    LOG_INFO("agent_stop_requested", "via=control");
    if (agent_conn_reply(a, ac, json_pack("{s:b, s:I}", "ok", 1, "pid",
                                          (json_int_t)getpid())) != 0)
        return;
    (void)!send(ac->fd, dbuf_ptr(&ac->out), dbuf_size(&ac->out), MSG_NOSIGNAL);
    dbuf_reset(&ac->out);
    a->stopping = true;
}

void agent_command(struct agent *a, struct agent_conn *ac, json_t *req)
{
    const char *cmd = json_string_value(json_object_get(req, "cmd"));

    if (cmd == NULL)
        agent_conn_reply(a, ac, agent_failure("bad_request", "request needs a \"cmd\" string"));
    else if (strcmp(cmd, "status") == 0)
        agent_conn_reply(a, ac, json_pack("{s:b, s:o}", "ok", 1, "status", status_object(a)));
    else if (strcmp(cmd, "send") == 0)
        do_send(a, ac, req);
    else if (strcmp(cmd, "response") == 0)
        do_response(a, ac, req);
    else if (strcmp(cmd, "stop") == 0)
        do_stop(a, ac);
    else if (strcmp(cmd, "command") == 0)
        agent_do_command(a, ac, req);
    else if (strcmp(cmd, "chat") == 0)
        agent_do_chat(a, ac, req);
    else if (strcmp(cmd, "listen") == 0)
        agent_do_listen(a, ac, req);
    else
        agent_conn_reply(a, ac, agent_failure("bad_request", "unknown command"));
}

static json_t *item_line(struct agent *a, const struct agent_item *it)
{
    json_t *msg = agent_message_object(a, it);

    return msg != NULL ? json_pack("{s:o}", "message", msg) : NULL;
}
void agent_conn_fill(struct agent *a, struct agent_conn *ac)
{
    while (ac->mode != AC_FREE && ac->list_next < ac->list_n &&
           dbuf_size(&ac->out) < FILL_LOW_WATER) {
        struct agent_item it = ac->list[ac->list_next];
        json_t *line;

        ac->list[ac->list_next++].env = NULL;
        line = item_line(a, &it);
        ts_envelope_free(it.env);
        if (agent_conn_reply(a, ac, line) != 0)
            return;
    }
    /* All written: a long follow reuses the list from the start. */
    if (ac->mode != AC_FREE && ac->list_next == ac->list_n)
        ac->list_next = ac->list_n = 0;
}

static bool seen_before(const struct agent_conn *ac, const ts_envelope *env)
{
    const uint8_t *hash = ts_envelope_hash(env);

    for (size_t i = 0; i < ac->seen_n; i++)
        if (memcmp(ac->seen[i], hash, TS_ENVELOPE_HASH_LEN) == 0)
            return true;
    return false;
}

/* Append a copy of the event's envelope to a follower's list. A follower
 * too far behind is dropped once its backlog is written. */
static void follow_push(struct agent_conn *ac, const struct agent_event *ev)
{
    struct agent_item *list;
    ts_envelope *env;

    if (ac->list_n - ac->list_next >= FOLLOW_BACKLOG_MAX) {
        LOG_WARN("agent_follower_dropped", "reason=\"too far behind\"");
        ac->mode = AC_FLUSH;
        return;
    }
    if (ts_envelope_decode(ev->data, ev->len, &env) != TS_OK)
        return;
    if (seen_before(ac, env) ||
        (ac->mode == AC_LISTEN && !chat_listen_wants(ac->room, env)) ||
        (list = realloc(ac->list, (ac->list_n + 1) * sizeof(*list))) == NULL) {
        ts_envelope_free(env);
        return;
    }
    ac->list = list;
    ac->list[ac->list_n++] =
        (struct agent_item){.env = env, .verified = ev->verified, .verdict = ev->verdict};
}

static void answer_waiter(struct agent *a, struct agent_conn *ac, const struct agent_event *ev)
{
    struct agent_item it = {.verified = ev->verified, .verdict = ev->verdict};
    char text[128];
    json_t *msg = NULL;

    ac->mode = AC_FLUSH;
    if (ev->status == TS_ERR_CLOSED || ev->data == NULL) {
        snprintf(text, sizeof(text), "the agent is stopping; message %llu stays queued",
                 (unsigned long long)ev->id);
        agent_conn_reply(a, ac, agent_failure("closed", text));
        return;
    }
    if (ts_envelope_decode(ev->data, ev->len, &it.env) == TS_OK) {
        msg = agent_message_object(a, &it);
        ts_envelope_free(it.env);
    }
    if (msg == NULL) {
        agent_conn_reply(a, ac, agent_failure("failed", "out of memory"));
        return;
    }
    agent_conn_reply(a, ac, json_pack("{s:b, s:I, s:o}", "ok", 1, "id", (json_int_t)ev->id,
                                      "message", msg));
}

void agent_dispatch_event(struct agent *a, const struct agent_event *ev)
{
    for (size_t i = 0; i < AGENT_MAX_CONNECTIONS; i++) {
        struct agent_conn *ac = &a->conns[i];

        if (ev->kind == AGENT_EV_ANSWER && ac->mode == AC_WAIT && ac->wait_id == ev->id)
            answer_waiter(a, ac, ev);
        else if ((ac->mode == AC_FOLLOW || ac->mode == AC_LISTEN) && ev->data != NULL &&
                 !ev->command)
            follow_push(ac, ev);
    }
}
