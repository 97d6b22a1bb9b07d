/*
 * Private parts of the service shared by its files.
 *
 * Commands are Command envelopes whose JSON payload names the command
 * ({"cmd":"join","room":"lobby"}); each is answered with a Response
 * ({"ok":true,...}) or an Error envelope, remembered like any request's
 * answer so a repeat gets the same one (docs/protocol.md, section 11).
 */
#ifndef TS_SERVICE_SERVICE_INTERNAL_H
#define TS_SERVICE_SERVICE_INTERNAL_H

#include <sodium.h>

#include "server/conn.h"
#include "server/workpool.h"
#include "service/bus.h"
#include "service/login_guard.h"
#include "service/service.h"
#include "store/store.h"

#define SERVICE_POOL_THREADS 2
#define SERVICE_PASSWORD_MAX 1024

struct service {
    ts_server *srv;
    store *store;
    bus *bus;
    struct workpool pool;
    struct login_guard guard;
    /* Checked when a user does not exist, so a failed login costs the same
     * either way. */
    char dummy_hash[crypto_pwhash_STRBYTES];
};

/* The connection's service, or NULL when the server runs without one. */
static inline struct service *service_of(const struct conn *c)
{
    return c->worker->srv->service;
}

static inline struct bus_member service_member(const struct conn *c)
{
    struct bus_member m = {c->worker->index, c->id};
    return m;
}

/* Answer command id: {"ok":true} merged with result (reference stolen;
 * NULL for none). Remembered for repeats. */
void service_ok(struct conn *c, uint64_t id, json_t *result);

/* Refuse command id with an Error (remembered for repeats). */
void service_fail(struct conn *c, uint64_t id, uint16_t reason, const char *text);

/* An Event ({"event":...}, reference stolen) to one connection. */
void service_event(struct conn *c, json_t *event);

/* An Event to every member of room (or everyone online when room is NULL)
 * except `except`. Reference stolen. */
void service_broadcast(struct service *svc, const char *room, json_t *event,
                       struct bus_member except);

/* A string field of a command, checked: its value or NULL (with *len). */
const char *service_string(json_t *args, const char *key, size_t *len);

/* Asynchronous steps: run fn on the worker that owns client. */
int service_on_client(struct service *svc, ts_client_id client,
                      void (*fn)(struct conn *c, void *arg), void *arg);

/* Command handlers (c is logged in or not as each requires). */
void accounts_register(struct conn *c, uint64_t id, json_t *args);
void accounts_login(struct conn *c, uint64_t id, json_t *args);
void accounts_logout(struct conn *c, uint64_t id, json_t *args);
void accounts_whoami(struct conn *c, uint64_t id, json_t *args);
void accounts_passwd(struct conn *c, uint64_t id, json_t *args);
void rooms_join(struct conn *c, uint64_t id, json_t *args);
void rooms_leave(struct conn *c, uint64_t id, json_t *args);
void rooms_users(struct conn *c, uint64_t id, json_t *args);
void rooms_history(struct conn *c, uint64_t id, json_t *args);
void rooms_whois(struct conn *c, uint64_t id, json_t *args);
void rooms_online(struct conn *c, uint64_t id, json_t *args);

/* Look up c's key and log it in when bound (at connection time). */
void accounts_key_login(struct conn *c);

/* c is now logged in as user (by key, password or registration): record
 * it. It receives direct messages once it asks (`online`). */
void accounts_logged_in(struct conn *c, int64_t user_id, const char *user);

/* c leaves every room and goes offline (logout, disconnect). */
void rooms_leave_all(struct conn *c);
/* The device stops receiving (logout, another user's login). */
void rooms_go_offline(struct conn *c);

/* The key lookup ended: handle the messages that waited for it. */
void service_release_waiting(struct conn *c);

/* Chat messages. */
void chat_message(struct conn *c, const ts_envelope *env, const uint8_t *raw, size_t len);
void chat_deliver_offline(struct conn *c);

/* Hash a password / check one against a stored hash, on the work pool. */
struct password_job;
typedef void (*password_done)(struct conn *c, void *arg, int rc, const char *hash);

#endif /* TS_SERVICE_SERVICE_INTERNAL_H */
