/*
 * The service: accounts and login, rooms, direct messages, presence and
 * history, on top of the store (durable) and the bus (fan-out).
 *
 * The server calls the hooks below on the worker thread that owns the
 * connection. Anything slow — storage, Argon2id — runs elsewhere (store
 * threads, the work pool); its result comes back to the owning worker
 * through server_run_on_client(), where the connection may be gone.
 *
 * Files: service.c (life cycle, hooks, routing), accounts.c (register,
 * login, logout, passwd, login by key), rooms.c (join, leave, users,
 * history, whois, events), chat.c (room and direct messages, offline
 * delivery), admin.c (operator commands), names.c, login_guard.c.
 */
#ifndef TS_SERVICE_SERVICE_H
#define TS_SERVICE_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <tcpseal/envelope.h>
#include <tcpseal/server.h>

struct conn;
struct service;

/* Per-connection service state; lives in the connection, touched only by
 * its worker. */
enum session_auth {
    SESSION_PENDING,   /* looking up the key: messages wait */
    SESSION_ANONYMOUS, /* key bound to no account */
    SESSION_USER,      /* logged in */
};

#define SESSION_MAX_ROOMS 16
#define SESSION_MAX_WAITING 32
#define SESSION_NAME_MAX 32   /* names.h: NAME_MAX_LEN */

struct session_waiting;

struct session_room {
    char name[SESSION_NAME_MAX + 1];
};

struct session {
    enum session_auth auth;
    int64_t user_id;
    char user[SESSION_NAME_MAX + 1];
    struct session_room *rooms;       /* allocated on the first join */
    unsigned n_rooms;
    bool busy;                        /* an account operation is in flight */
    bool online;                      /* receives direct messages (`online`) */
    struct session_waiting *waiting;  /* messages received while PENDING */
    unsigned n_waiting;
};

/* Open the store and bus described by the server configuration. 0, or the
 * store's error (TS_ERR_IO naming the file, TS_ERR_VERSION). */
int service_open(ts_server *srv, struct service **out);

/* Finish queued storage work and release everything. */
void service_close(struct service *svc);

/* Hooks (owning worker thread). */
void service_conn_ready(struct conn *c);
void service_conn_closed(struct conn *c);

/* While the connection's key is being looked up, messages wait: returns
 * true when it kept this one (handled again once the lookup ends). */
bool service_holds(struct conn *c, const uint8_t *raw, size_t len, uint64_t id);

/* A verified Command or Chat message. raw is its encoding (relayed and
 * stored as is). */
void service_message(struct conn *c, const ts_envelope *env, const uint8_t *raw,
                     size_t len);

/* May this connection's Requests go to the handler? Answers the request
 * itself and returns false when not. */
bool service_admit_request(struct conn *c, const ts_envelope *env);

/* Operator commands from the control socket (admin.c): run `cmd` (a JSON
 * object as in docs/control.md) and call done(ctx, answer) exactly once,
 * from any thread, with a new reference to the answer object. */
typedef void (*service_admin_done)(void *ctx, json_t *answer);
void service_admin(struct service *svc, json_t *cmd, service_admin_done done, void *ctx);

#endif /* TS_SERVICE_SERVICE_H */
