#include "service/service_internal.h"

#include <stdlib.h>
#include <string.h>

#include <tcpseal/protocol.h>

#include "server/dispatch.h"
#include "server/reply.h"
#include "util/error.h"
#include "util/log.h"

#define DUMMY_PASSWORD "tcpseal: no such user"

/* A message that arrived while the connection's key was being looked up. */
struct session_waiting {
    struct session_waiting *next;
    size_t len;
    uint8_t raw[];
};

/* ---- life cycle ---- */

static int service_open_parts(ts_server *srv, struct service *svc)
{
    const ts_server_config *cfg = server_cfg(srv);
    struct store_options opts = {.path = cfg->store_path,
                                 .synchronous_full = !cfg->store_sync_normal};
    int rc;

    if ((rc = store_sqlite_open(&svc->store, &opts)) != TS_OK ||
        (rc = bus_local_open(&svc->bus, server_deliver, srv)) != TS_OK ||
        (rc = workpool_start(&svc->pool, SERVICE_POOL_THREADS)) != TS_OK ||
        (rc = login_guard_init(&svc->guard, cfg->login_max_failures,
                               cfg->login_lockout_ms)) != TS_OK)
        return rc;
    if (crypto_pwhash_str(svc->dummy_hash, DUMMY_PASSWORD, strlen(DUMMY_PASSWORD),
                          cfg->password_opslimit, cfg->password_memlimit) != 0)
        return error_set(TS_ERR_NOMEM, "Argon2id could not get %zu bytes of memory",
                         cfg->password_memlimit);
    return TS_OK;
}

int service_open(ts_server *srv, struct service **out)
{
    struct service *svc = calloc(1, sizeof(*svc));
    int rc;

    *out = NULL;
    if (svc == NULL)
        return TS_ERR_NOMEM;
    svc->srv = srv;
    if ((rc = service_open_parts(srv, svc)) != TS_OK) {
        /* Logged here, on the thread that holds the detail (a damaged
         * store names its row and points at verify-db): the caller may
         * be on another thread and see only the code. */
        LOG_ERROR("store_open_failed", "path=\"%s\" detail=\"%s\"",
                  server_cfg(srv)->store_path, ts_error_detail(rc));
        service_close(svc);
        return rc;
    }
    LOG_INFO("store_opened", "path=\"%s\" bus=%s", server_cfg(srv)->store_path,
             svc->bus->ops->name);
    *out = svc;
    return TS_OK;
}

void service_close(struct service *svc)
{
    if (svc == NULL)
        return;
    /* Pool first: its jobs may still queue storage work. */
    workpool_stop(&svc->pool);
    store_close(svc->store);
    if (svc->bus != NULL)
        svc->bus->ops->close(svc->bus);
    login_guard_free(&svc->guard);
    free(svc);
}

/* ---- answers and events ---- */

static char *json_text(json_t *value)
{
    char *text = value != NULL ? json_dumps(value, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(value);
    return text;
}

void service_ok(struct conn *c, uint64_t id, json_t *result)
{
    json_t *obj = json_pack("{s:b}", "ok", 1);
    struct sender_result answer = {.type = TS_MSG_RESPONSE};
    char *text;

    if (obj != NULL && result != NULL)
        json_object_update(obj, result);
    json_decref(result);
    if ((text = json_text(obj)) == NULL) {
        service_fail(c, id, TS_REASON_SERVER_ERROR, "out of memory");
        return;
    }
    answer.sign = server_cfg(c->worker->srv)->sign_responses;
    snprintf(answer.content_type, sizeof(answer.content_type), "application/json");
    answer.payload = (uint8_t *)text;
    answer.len = strlen(text);
    server_answer(c, id, &answer);
    free(text);
}

void service_fail(struct conn *c, uint64_t id, uint16_t reason, const char *text)
{
    struct sender_result answer;

    LOG_INFO("command_refused", "client=%llu peer=%s id=%llu reason=%s detail=\"%s\"",
             (unsigned long long)c->id, c->peer, (unsigned long long)id,
             ts_reason_name(reason), text != NULL ? text : ts_reason_text(reason));
    if (reply_describe_error(c->worker->srv, reason, text, &answer) != TS_OK)
        return;
    server_answer(c, id, &answer);
    sender_result_clear(&answer);
}

void service_event(struct conn *c, json_t *event)
{
    char *text = json_text(event);

    if (text != NULL)
        reply_event(c, text, strlen(text));
    free(text);
}

void service_broadcast(struct service *svc, const char *room, json_t *event,
                       struct bus_member except)
{
    char *text = json_text(event);
    struct bus_message *msg = text != NULL
                                  ? bus_message_new(BUS_EVENT, (uint8_t *)text, strlen(text))
                                  : NULL;

    free(text);
    if (msg == NULL)
        return;
    if (room != NULL)
        svc->bus->ops->publish_room(svc->bus, room, msg, except);
    else
        svc->bus->ops->publish_all(svc->bus, msg, except);
    bus_message_unref(msg);
}

const char *service_string(json_t *args, const char *key, size_t *len)
{
    json_t *v = json_object_get(args, key);

    if (!json_is_string(v))
        return NULL;
    *len = json_string_length(v);
    return json_string_value(v);
}

int service_on_client(struct service *svc, ts_client_id client,
                      void (*fn)(struct conn *c, void *arg), void *arg)
{
    return server_run_on_client(svc->srv, client, fn, arg);
}

/* ---- connection hooks ---- */

void service_conn_ready(struct conn *c)
{
    if (service_of(c) == NULL)
        return;
    c->session = calloc(1, sizeof(*c->session));
    if (c->session == NULL) {
        conn_close(c, TS_REASON_INTERNAL_ERROR, "out of memory");
        return;
    }
    c->session->auth = SESSION_PENDING;
    accounts_key_login(c);
}

static void waiting_free(struct session *s)
{
    struct session_waiting *w, *next;

    for (w = s->waiting; w != NULL; w = next) {
        next = w->next;
        sodium_memzero(w->raw, w->len);
        free(w);
    }
    s->waiting = NULL;
    s->n_waiting = 0;
}

void service_conn_closed(struct conn *c)
{
    if (c->session == NULL)
        return;
    rooms_leave_all(c);
    waiting_free(c->session);
    sodium_memzero(c->session, sizeof(*c->session));
    free(c->session);
    c->session = NULL;
}

bool service_holds(struct conn *c, const uint8_t *raw, size_t len, uint64_t id)
{
    struct session *s = c->session;
    struct session_waiting *w, **tail;

    if (s == NULL || s->auth != SESSION_PENDING)
        return false;
    if (s->n_waiting >= SESSION_MAX_WAITING || (w = malloc(sizeof(*w) + len)) == NULL) {
        reply_error(c, id, TS_REASON_TRY_LATER, "still checking this key; send again shortly");
        return true;
    }
    w->next = NULL;
    w->len = len;
    memcpy(w->raw, raw, len);
    for (tail = &s->waiting; *tail != NULL; tail = &(*tail)->next) {
    }
    *tail = w;
    s->n_waiting++;
    return true;
}

void service_release_waiting(struct conn *c)
{
    struct session_waiting *w = c->session->waiting, *next;

    c->session->waiting = NULL;
    c->session->n_waiting = 0;
    for (; w != NULL; w = next) {
        next = w->next;
        /* As if it had just arrived (its rate was already paid). */
        if (conn_is_ready(c))
            dispatch_envelope(c, w->raw, w->len);
        sodium_memzero(w->raw, w->len);
        free(w);
    }
}

/* Who may run a command (docs/protocol.md section 10.1, "needs login"). */
enum command_access {
    CMD_ANYONE,     /* also an unbound key on a server without allow_anonymous */
    CMD_ADMITTED,   /* an unbound key only where allow_anonymous is on */
    CMD_USER,       /* a logged-in device */
};

struct command {
    const char *name;
    enum command_access access;
    void (*run)(struct conn *c, uint64_t id, json_t *args);
};

/* Without allow_anonymous an unbound key may only log in (docs/chat.md):
 * whoami tells it that it is not logged in, and users and whois, which
 * name the people online and their keys, are for admitted clients. */
static const struct command commands[] = {
    {"register", CMD_ANYONE, accounts_register}, {"login", CMD_ANYONE, accounts_login},
    {"logout", CMD_USER, accounts_logout},       {"whoami", CMD_ANYONE, accounts_whoami},
    {"passwd", CMD_USER, accounts_passwd},       {"join", CMD_USER, rooms_join},
    {"leave", CMD_USER, rooms_leave},            {"users", CMD_ADMITTED, rooms_users},
    {"history", CMD_USER, rooms_history},        {"whois", CMD_ADMITTED, rooms_whois},
    {"online", CMD_USER, rooms_online},
};

static bool command_allowed(const struct conn *c, const struct command *cmd)
{
    if (cmd->access == CMD_ANYONE || c->session->auth == SESSION_USER)
        return true;
    return cmd->access == CMD_ADMITTED && server_cfg(c->worker->srv)->allow_anonymous;
}

static void command_message(struct conn *c, const ts_envelope *env)
{
    uint64_t id = ts_envelope_id(env);
    size_t len;
    const uint8_t *payload = ts_envelope_payload(env, &len);
    json_t *args = json_loadb((const char *)payload, len, JSON_REJECT_DUPLICATES, NULL);
    const char *name = json_string_value(json_object_get(args, "cmd"));
    const struct command *cmd = NULL;

    for (size_t i = 0; name != NULL && i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(commands[i].name, name) == 0)
            cmd = &commands[i];
    }
    if (!json_is_object(args))
        service_fail(c, id, TS_REASON_INVALID_ARGUMENT, "a command is a JSON object");
    else if (cmd == NULL)
        service_fail(c, id, TS_REASON_INVALID_ARGUMENT, "unknown command");
    else if (!command_allowed(c, cmd))
        service_fail(c, id, TS_REASON_LOGIN_REQUIRED,
                     cmd->access == CMD_USER ? "log in first"
                                             : "this server answers logged-in users only; "
                                               "log in first");
    else
        cmd->run(c, id, args);
    json_decref(args);
}

void service_message(struct conn *c, const ts_envelope *env, const uint8_t *raw, size_t len)
{
    if (c->session == NULL) {
        reply_error(c, ts_envelope_id(env), TS_REASON_UNSUPPORTED_TYPE,
                    "this server has no accounts or chat");
        return;
    }
    if (ts_envelope_type(env) == TS_MSG_COMMAND)
        command_message(c, env);
    else if (ts_envelope_type(env) == TS_MSG_CHAT)
        chat_message(c, env, raw, len);
    else
        reply_error(c, ts_envelope_id(env), TS_REASON_UNSUPPORTED_TYPE, NULL);
}

bool service_admit_request(struct conn *c, const ts_envelope *env)
{
    if (c->session == NULL)
        return true;
    if (c->session->auth == SESSION_ANONYMOUS && !server_cfg(c->worker->srv)->allow_anonymous) {
        reply_error(c, ts_envelope_id(env), TS_REASON_LOGIN_REQUIRED,
                    "this server answers logged-in users only");
        return false;
    }
    return true;
}
