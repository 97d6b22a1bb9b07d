/*
 * Rooms and presence: join (created on first join, answered with the
 * members and the latest history), leave, who is online (per room or
 * overall), history paging, and the registered keys of a user (so
 * recipients can check signatures). Membership changes are pushed to the
 * room as Events carrying the new member list.
 */
#include "service/service_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tcpseal/protocol.h>

#include "service/names.h"
#include "util/timefmt.h"
#include "util/error.h"
#include "util/log.h"

#define HISTORY_DEFAULT 50
#define HISTORY_MAX 500

static void add_name(void *ctx, const char *name)
{
    json_array_append_new(ctx, json_string(name));
}

static json_t *room_users(struct service *svc, const char *room)
{
    json_t *users = json_array();

    if (users != NULL)
        svc->bus->ops->room_users(svc->bus, room, add_name, users);
    return users;
}

/* {"event":KIND,"room":R,"user":U,"users":[...]} to the room. */
static void room_event(struct conn *c, const char *kind, const char *room)
{
    struct service *svc = service_of(c);

    service_broadcast(svc, room,
                      json_pack("{s:s, s:s, s:s, s:o}", "event", kind, "room", room, "user",
                                c->session->user, "users", room_users(svc, room)),
                      service_member(c));
}

static int session_room_index(const struct session *s, const char *room)
{
    for (unsigned i = 0; i < s->n_rooms; i++) {
        if (strcmp(s->rooms[i].name, room) == 0)
            return (int)i;
    }
    return -1;
}

/* Room names are kept only by sessions that join rooms. */
static int session_room_add(struct session *s, const char *room)
{
    if (s->rooms == NULL &&
        (s->rooms = calloc(SESSION_MAX_ROOMS, sizeof(*s->rooms))) == NULL)
        return TS_ERR_NOMEM;
    snprintf(s->rooms[s->n_rooms++].name, sizeof(s->rooms[0].name), "%s", room);
    return TS_OK;
}

static bool take_room(struct conn *c, uint64_t id, json_t *args, char out[NAME_MAX_LEN + 1])
{
    size_t len = 0;
    const char *room = service_string(args, "room", &len);

    if (room == NULL) {
        service_fail(c, id, TS_REASON_INVALID_ARGUMENT, "\"room\" must be a string");
        return false;
    }
    if (names_check_room(room, len) != TS_OK) {
        service_fail(c, id, TS_REASON_INVALID_ARGUMENT, ts_error_detail(TS_ERR_INVALID));
        return false;
    }
    memcpy(out, room, len + 1);
    return true;
}

/* ---- history reads ---- */

struct rows_job {
    struct service *svc;
    ts_client_id client;
    uint64_t cmd_id;
    char room[NAME_MAX_LEN + 1];
    bool joining;
    unsigned limit;
    json_t *items;
    int rc;
};


/* One stored message as clients see it in history. */
json_t *rooms_row_json(const struct store_row *row)
{
    size_t b64_len = sodium_base64_encoded_len(row->envelope_len,
                                               sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc(b64_len);
    char when[32];
    json_t *item;

    if (b64 == NULL)
        return NULL;
    sodium_bin2base64(b64, b64_len, row->envelope, row->envelope_len,
                      sodium_base64_VARIANT_ORIGINAL);
    timefmt_iso8601(row->stored_ms, when);
    item = json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)row->id, "time", when,
                     "sender", row->sender, "envelope", b64);
    free(b64);
    return item;
}

static void rows_on_conn(struct conn *c, void *arg)
{
    struct rows_job *job = arg;
    bool more = json_array_size(job->items) >= job->limit;

    if (c == NULL || c->session == NULL) {
        /* gone */
    } else if (job->rc != TS_OK) {
        service_fail(c, job->cmd_id, TS_REASON_SERVER_ERROR, "history could not be read");
    } else if (job->joining) {
        service_ok(c, job->cmd_id,
                   json_pack("{s:s, s:o, s:O, s:b}", "room", job->room, "users",
                             room_users(job->svc, job->room), "history", job->items, "more",
                             more));
        room_event(c, "join", job->room);
    } else {
        service_ok(c, job->cmd_id,
                   json_pack("{s:s, s:O, s:b}", "room", job->room, "messages", job->items,
                             "more", more));
    }
    json_decref(job->items);
    free(job);
}

static void rows_collect(void *ctx, int rc, const struct store_row *row)
{
    struct rows_job *job = ctx;

    if (row != NULL) {
        json_array_append_new(job->items, rooms_row_json(row));
        return;
    }
    job->rc = rc;
    service_on_client(job->svc, job->client, rows_on_conn, job);
}

static void read_history(struct conn *c, uint64_t id, const char *room, int64_t before,
                         unsigned limit, bool joining)
{
    struct service *svc = service_of(c);
    struct rows_job *job = calloc(1, sizeof(*job));
    int rc = TS_ERR_NOMEM;

    if (job != NULL && (job->items = json_array()) != NULL) {
        job->svc = svc;
        job->client = c->id;
        job->cmd_id = id;
        job->joining = joining;
        job->limit = limit;
        snprintf(job->room, sizeof(job->room), "%s", room);
        if (limit == 0) {
            /* Nothing to read: answer at once, through the same path. */
            rows_collect(job, TS_OK, NULL);
            return;
        }
        if ((rc = svc->store->ops->history(svc->store, room, before, limit, rows_collect,
                                            job)) == TS_OK)
            return;
        json_decref(job->items);
    }
    free(job);
    service_fail(c, id, TS_REASON_TRY_LATER, ts_error_detail(rc));
}

/* ---- commands ---- */

void rooms_join(struct conn *c, uint64_t id, json_t *args)
{
    struct service *svc = service_of(c);
    struct session *s = c->session;
    char room[NAME_MAX_LEN + 1];

    if (!take_room(c, id, args, room))
        return;
    if (session_room_index(s, room) < 0) {
        if (s->n_rooms >= SESSION_MAX_ROOMS) {
            service_fail(c, id, TS_REASON_NOT_ALLOWED, "at most 16 rooms per connection");
            return;
        }
        if (session_room_add(s, room) != TS_OK ||
            svc->bus->ops->join(svc->bus, room, s->user, service_member(c)) != TS_OK) {
            if (session_room_index(s, room) >= 0)
                s->n_rooms--;
            service_fail(c, id, TS_REASON_SERVER_ERROR, "out of memory");
            return;
        }
        LOG_DEBUG("room_join", "user=%s room=%s", s->user, room);
    }
    read_history(c, id, room, 0, server_cfg(c->worker->srv)->history_on_join, true);
}

static void leave_room(struct conn *c, int index)
{
    struct service *svc = service_of(c);
    struct session *s = c->session;
    char room[NAME_MAX_LEN + 1];

    snprintf(room, sizeof(room), "%s", s->rooms[index].name);
    memmove(&s->rooms[index], &s->rooms[index + 1],
            (s->n_rooms - (unsigned)index - 1) * sizeof(s->rooms[0]));
    s->n_rooms--;
    svc->bus->ops->leave(svc->bus, room, service_member(c));
    room_event(c, "leave", room);
}

void rooms_leave(struct conn *c, uint64_t id, json_t *args)
{
    char room[NAME_MAX_LEN + 1], why[80];
    int index;

    if (!take_room(c, id, args, room))
        return;
    if ((index = session_room_index(c->session, room)) < 0) {
        snprintf(why, sizeof(why), "not in room %s", room);
        service_fail(c, id, TS_REASON_NOT_FOUND, why);
        return;
    }
    leave_room(c, index);
    service_ok(c, id, json_pack("{s:s}", "room", room));
}

void rooms_go_offline(struct conn *c)
{
    struct service *svc = service_of(c);
    struct session *s = c->session;

    if (!s->online)
        return;
    s->online = false;
    svc->bus->ops->offline(svc->bus, service_member(c));
    if (svc->bus->ops->user_devices(svc->bus, s->user) == 0)
        service_broadcast(svc, NULL, json_pack("{s:s, s:s}", "event", "offline", "user", s->user),
                          service_member(c));
}

void rooms_leave_all(struct conn *c)
{
    struct session *s = c->session;

    while (s->n_rooms > 0)
        leave_room(c, (int)s->n_rooms - 1);
    free(s->rooms);
    s->rooms = NULL;
    rooms_go_offline(c);
}

/* A device that receives: direct messages reach it (and those that
 * waited for the user are delivered now), and it counts as online in
 * `users` and presence events. Connections that only run a command and
 * leave never say so, and never take a waiting message away. */
void rooms_online(struct conn *c, uint64_t id, json_t *args)
{
    struct service *svc = service_of(c);
    struct session *s = c->session;

    if (!s->online) {
        if (svc->bus->ops->online(svc->bus, s->user, service_member(c)) != TS_OK) {
            service_fail(c, id, TS_REASON_SERVER_ERROR, "out of memory");
            return;
        }
        s->online = true;
        if (svc->bus->ops->user_devices(svc->bus, s->user) == 1)
            service_broadcast(svc, NULL,
                              json_pack("{s:s, s:s}", "event", "online", "user", s->user),
                              service_member(c));
        LOG_INFO("online", "client=%llu user=%s", (unsigned long long)c->id, s->user);
    }
    service_ok(c, id, json_pack("{s:s}", "user", s->user));
    /* After the answer, so the device knows it is online when they come. */
    chat_deliver_offline(c);
}

void rooms_users(struct conn *c, uint64_t id, json_t *args)
{
    struct service *svc = service_of(c);
    char room[NAME_MAX_LEN + 1];
    json_t *users;

    if (json_object_get(args, "room") == NULL) {
        users = json_array();
        if (users != NULL)
            svc->bus->ops->online_users(svc->bus, add_name, users);
        service_ok(c, id, json_pack("{s:o}", "users", users));
        return;
    }
    if (take_room(c, id, args, room))
        service_ok(c, id, json_pack("{s:s, s:o}", "room", room, "users", room_users(svc, room)));
}

void rooms_history(struct conn *c, uint64_t id, json_t *args)
{
    json_t *before = json_object_get(args, "before"), *limit = json_object_get(args, "limit");
    char room[NAME_MAX_LEN + 1];
    json_int_t n = limit != NULL ? json_integer_value(limit) : HISTORY_DEFAULT;
    json_int_t b = before != NULL ? json_integer_value(before) : 0;

    if (!take_room(c, id, args, room))
        return;
    if ((limit != NULL && !json_is_integer(limit)) || n < 1 || n > HISTORY_MAX ||
        (before != NULL && !json_is_integer(before)) || b < 0) {
        service_fail(c, id, TS_REASON_INVALID_ARGUMENT,
                     "\"limit\" is 1 to 500 and \"before\" a message id");
        return;
    }
    read_history(c, id, room, b, (unsigned)n, false);
}

/* ---- whois ---- */

struct whois_job {
    struct service *svc;
    ts_client_id client;
    uint64_t cmd_id;
    json_t *answer;
    int rc;
};

static void whois_on_conn(struct conn *c, void *arg)
{
    struct whois_job *job = arg;

    if (c != NULL && c->session != NULL) {
        if (job->rc == TS_OK)
            service_ok(c, job->cmd_id, json_incref(job->answer));
        else if (job->rc == TS_ERR_NOT_FOUND)
            service_fail(c, job->cmd_id, TS_REASON_NOT_FOUND, "no such user");
        else
            service_fail(c, job->cmd_id, TS_REASON_SERVER_ERROR, "lookup failed");
    }
    json_decref(job->answer);
    free(job);
}

static void whois_found(void *ctx, int rc, const struct store_user *user)
{
    struct whois_job *job = ctx;
    json_t *keys = json_array(), *fps = json_array();
    char b64[sodium_base64_ENCODED_LEN(TS_PUBLIC_KEY_LEN, sodium_base64_VARIANT_ORIGINAL)];
    char fp[TS_FINGERPRINT_MAX];

    job->rc = rc;
    for (unsigned i = 0; rc == TS_OK && i < user->n_keys; i++) {
        sodium_bin2base64(b64, sizeof(b64), user->keys[i], TS_PUBLIC_KEY_LEN,
                          sodium_base64_VARIANT_ORIGINAL);
        ts_fingerprint_of_key(user->keys[i], fp);
        json_array_append_new(keys, json_string(b64));
        json_array_append_new(fps, json_string(fp));
    }
    job->answer = json_pack("{s:s, s:o, s:o}", "user", rc == TS_OK ? user->name : "", "keys",
                            keys, "fingerprints", fps);
    service_on_client(job->svc, job->client, whois_on_conn, job);
}

void rooms_whois(struct conn *c, uint64_t id, json_t *args)
{
    struct service *svc = service_of(c);
    struct whois_job *job;
    size_t len = 0;
    const char *user = service_string(args, "user", &len);

    if (user == NULL || names_check_user(user, len) != TS_OK) {
        service_fail(c, id, TS_REASON_INVALID_ARGUMENT,
                     user == NULL ? "\"user\" must be a string"
                                  : ts_error_detail(TS_ERR_INVALID));
        return;
    }
    if ((job = calloc(1, sizeof(*job))) == NULL) {
        service_fail(c, id, TS_REASON_SERVER_ERROR, "out of memory");
        return;
    }
    job->svc = svc;
    job->client = c->id;
    job->cmd_id = id;
    if (svc->store->ops->user_by_name(svc->store, user, whois_found, job) != TS_OK) {
        free(job);
        service_fail(c, id, TS_REASON_TRY_LATER, "server busy; try again");
    }
}
