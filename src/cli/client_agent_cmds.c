/*
 * The agent's control commands (docs/agent.md): status, send, response,
 * stop; and how answers and messages reach the connections waiting for
 * them.
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
#include "util/clock.h"
#include "util/log.h"

/* Listing lines are produced while the output holds less than this. */
#define FILL_LOW_WATER (256u * 1024u)
/* Messages a follower may fall behind by before it is dropped. */
#define FOLLOW_BACKLOG_MAX 10000u

static json_t *failure(const char *code, const char *text)
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
static bool for_us(struct agent *a, json_t *req)
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

static json_t *other_server(struct agent *a)
{
    char text[NET_HOSTPORT_MAX + 64];

    snprintf(text, sizeof(text), "the agent talks to %s", a->opts->hostport);
    return failure("other_server", text);
}

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

static const char *send_error_code(int rc)
{
    switch (rc) {
    case TS_ERR_TOO_LARGE:
        return "too_large";
    case TS_ERR_LIMIT:
        return "outbox_full";
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

    if (!for_us(a, req)) {
        agent_conn_reply(a, ac, other_server(a));
        return;
    }
    if (payload_decode(req, &payload, &len) != 0) {
        agent_conn_reply(a, ac, failure("bad_request", "send needs a base64 \"payload\""));
        return;
    }
    rc = ts_client_send(a->client, payload, len, sign ? TS_SEND_SIGN : 0,
                        agent_events_on_answer, &a->events, &id);
    sodium_memzero(payload, len);
    free(payload);
    if (rc != TS_OK) {
        agent_conn_reply(a, ac, failure(send_error_code(rc), ts_error_detail(rc)));
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

/* The newest answer (Response or Error) in the list, or none. */
static void keep_last_answer(ts_envelope **list, size_t *n)
{
    size_t keep = *n;

    for (size_t i = *n; i-- > 0;) {
        ts_msg_type t = ts_envelope_type(list[i]);

        if (t == TS_MSG_RESPONSE || t == TS_MSG_ERROR) {
            keep = i;
            break;
        }
    }
    for (size_t i = 0; i < *n; i++) {
        if (i != keep)
            ts_envelope_free(list[i]);
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
        memcpy(ac->seen[i], ts_envelope_hash(ac->list[i]), TS_ENVELOPE_HASH_LEN);
    ac->seen_n = ac->list_n;
    return 0;
}

static void do_response(struct agent *a, struct agent_conn *ac, json_t *req)
{
    const char *mode = json_string_value(json_object_get(req, "mode"));
    bool follow = json_is_true(json_object_get(req, "follow"));
    size_t n = 0;
    int rc;

    if (!for_us(a, req)) {
        agent_conn_reply(a, ac, other_server(a));
        return;
    }
    if (mode == NULL || (strcmp(mode, "last") != 0 && strcmp(mode, "all") != 0 &&
                         strcmp(mode, "new") != 0)) {
        agent_conn_reply(a, ac, failure("bad_request", "mode must be last, all or new"));
        return;
    }
    if (strcmp(mode, "new") != 0 &&
        (rc = ts_client_inbox(a->client, SIZE_MAX, &ac->list, &n)) != TS_OK) {
        agent_conn_reply(a, ac, failure("failed", ts_error_detail(rc)));
        return;
    }
    if (strcmp(mode, "last") == 0)
        keep_last_answer(ac->list, &n);
    ac->list_n = n;
    if (follow && remember_listed(ac) != 0) {
        agent_conn_reply(a, ac, failure("failed", "out of memory"));
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
        agent_conn_reply(a, ac, failure("bad_request", "request needs a \"cmd\" string"));
    else if (strcmp(cmd, "status") == 0)
        agent_conn_reply(a, ac, json_pack("{s:b, s:o}", "ok", 1, "status", status_object(a)));
    else if (strcmp(cmd, "send") == 0)
        do_send(a, ac, req);
    else if (strcmp(cmd, "response") == 0)
        do_response(a, ac, req);
    else if (strcmp(cmd, "stop") == 0)
        do_stop(a, ac);
    else
        agent_conn_reply(a, ac, failure("bad_request", "unknown command"));
}

static json_t *envelope_line(struct agent *a, const ts_envelope *env)
{
    uint8_t *data = NULL;
    size_t len = 0;
    json_t *msg;

    if (ts_envelope_encode(env, &data, &len) != TS_OK)
        return NULL;
    /* What the client library delivers passed its checks: a signed
     * envelope verified against the server identity. */
    msg = agent_message_object(a, data, len, ts_envelope_is_signed(env));
    free(data);
    return msg != NULL ? json_pack("{s:o}", "message", msg) : NULL;
}

void agent_conn_fill(struct agent *a, struct agent_conn *ac)
{
    while (ac->mode != AC_FREE && ac->list_next < ac->list_n &&
           dbuf_size(&ac->out) < FILL_LOW_WATER) {
        ts_envelope *env = ac->list[ac->list_next];

        ac->list[ac->list_next++] = NULL;
        json_t *line = envelope_line(a, env);
        ts_envelope_free(env);
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
    ts_envelope **list, *env;

    if (ac->list_n - ac->list_next >= FOLLOW_BACKLOG_MAX) {
        LOG_WARN("agent_follower_dropped", "reason=\"too far behind\"");
        ac->mode = AC_FLUSH;
        return;
    }
    if (ts_envelope_decode(ev->data, ev->len, &env) != TS_OK)
        return;
    if (seen_before(ac, env) ||
        (list = realloc(ac->list, (ac->list_n + 1) * sizeof(*list))) == NULL) {
        ts_envelope_free(env);
        return;
    }
    ac->list = list;
    ac->list[ac->list_n++] = env;
}

static void answer_waiter(struct agent *a, struct agent_conn *ac, const struct agent_event *ev)
{
    char text[128];
    json_t *msg;

    ac->mode = AC_FLUSH;
    if (ev->status == TS_ERR_CLOSED || ev->data == NULL) {
        snprintf(text, sizeof(text), "the agent is stopping; message %llu stays queued",
                 (unsigned long long)ev->id);
        agent_conn_reply(a, ac, failure("closed", text));
        return;
    }
    msg = agent_message_object(a, ev->data, ev->len, ev->verified);
    if (msg == NULL) {
        agent_conn_reply(a, ac, failure("failed", "out of memory"));
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
        else if (ac->mode == AC_FOLLOW && ev->data != NULL)
            follow_push(ac, ev);
    }
}
