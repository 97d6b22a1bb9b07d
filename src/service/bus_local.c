/*
 * The in-process bus: rooms and online users in this process, under one
 * lock. Membership changes are rare next to deliveries; a delivery holds
 * the lock only to sort a room's members by worker and hand each worker
 * its batch.
 */
#include "service/bus.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/idmap.h"

#define BUS_BUCKETS 1024
#define BUS_MAX_WORKERS 64

struct room_member {
    struct bus_member m;
    char user[BUS_NAME_MAX + 1];
};

struct room {
    struct room *next;
    char name[BUS_NAME_MAX + 1];
    struct room_member *members;
    size_t n, cap;
};

struct user_node {
    struct user_node *next;
    char name[BUS_NAME_MAX + 1];
    struct bus_member *members;
    size_t n, cap;
};

/* Client ids of one worker, collected for a delivery. */
struct id_batch {
    ts_client_id *ids;
    size_t n, cap;
};

struct bus_local {
    struct bus base;
    pthread_mutex_t lock;
    struct room *rooms[BUS_BUCKETS];
    struct user_node *users[BUS_BUCKETS];
    struct idmap member_user; /* client id -> struct user_node */
    struct id_batch batches[BUS_MAX_WORKERS];
    bus_deliver_fn deliver;
    void *ctx;
};

struct bus_message *bus_message_new(enum bus_kind kind, const uint8_t *data, size_t len)
{
    struct bus_message *m = malloc(sizeof(*m) + len);

    if (m == NULL)
        return NULL;
    atomic_init(&m->refs, 1);
    m->kind = kind;
    m->len = len;
    memcpy(m->data, data, len);
    return m;
}

void bus_message_ref(struct bus_message *m)
{
    atomic_fetch_add(&m->refs, 1);
}

void bus_message_unref(struct bus_message *m)
{
    if (m != NULL && atomic_fetch_sub(&m->refs, 1) == 1)
        free(m);
}

static size_t name_hash(const char *s)
{
    size_t h = 5381;
    for (; *s != '\0'; s++)
        h = h * 33 + (unsigned char)*s;
    return h % BUS_BUCKETS;
}

/* Grow an array of elements of size elem to hold one more. */
static int grow(void **array, size_t *cap, size_t n, size_t elem)
{
    size_t next = *cap == 0 ? 8 : *cap * 2;
    void *fresh;

    if (n < *cap)
        return TS_OK;
    fresh = realloc(*array, next * elem);
    if (fresh == NULL)
        return TS_ERR_NOMEM;
    *array = fresh;
    *cap = next;
    return TS_OK;
}

static struct room *room_find(struct bus_local *b, const char *name, bool create)
{
    size_t h = name_hash(name);
    struct room *r;

    for (r = b->rooms[h]; r != NULL; r = r->next) {
        if (strcmp(r->name, name) == 0)
            return r;
    }
    if (!create || (r = calloc(1, sizeof(*r))) == NULL)
        return NULL;
    snprintf(r->name, sizeof(r->name), "%s", name);
    r->next = b->rooms[h];
    b->rooms[h] = r;
    return r;
}

static int local_join(bus *base, const char *room, const char *user, struct bus_member m)
{
    struct bus_local *b = (struct bus_local *)base;
    struct room *r;
    int rc = TS_OK;

    pthread_mutex_lock(&b->lock);
    r = room_find(b, room, true);
    if (r == NULL || grow((void **)&r->members, &r->cap, r->n, sizeof(*r->members)) != TS_OK) {
        rc = TS_ERR_NOMEM;
    } else {
        bool present = false;
        for (size_t i = 0; i < r->n && !present; i++)
            present = r->members[i].m.client == m.client;
        if (!present) {
            r->members[r->n].m = m;
            snprintf(r->members[r->n].user, sizeof(r->members[r->n].user), "%s", user);
            r->n++;
        }
    }
    pthread_mutex_unlock(&b->lock);
    return rc;
}

/* An empty room costs nothing to recreate; keep only rooms in use. */
static void room_drop_if_empty(struct bus_local *b, struct room *r)
{
    struct room **link = &b->rooms[name_hash(r->name)];

    if (r->n > 0)
        return;
    while (*link != r)
        link = &(*link)->next;
    *link = r->next;
    free(r->members);
    free(r);
}

static int local_leave(bus *base, const char *room, struct bus_member m)
{
    struct bus_local *b = (struct bus_local *)base;
    struct room *r;
    int rc = TS_ERR_NOT_FOUND;

    pthread_mutex_lock(&b->lock);
    r = room_find(b, room, false);
    for (size_t i = 0; r != NULL && i < r->n; i++) {
        if (r->members[i].m.client == m.client) {
            r->members[i] = r->members[--r->n];
            rc = TS_OK;
            break;
        }
    }
    if (r != NULL)
        room_drop_if_empty(b, r);
    pthread_mutex_unlock(&b->lock);
    return rc;
}

static int batch_add(struct bus_local *b, struct bus_member m)
{
    struct id_batch *batch;

    if (m.worker >= BUS_MAX_WORKERS)
        return TS_ERR_INVALID;
    batch = &b->batches[m.worker];
    if (grow((void **)&batch->ids, &batch->cap, batch->n, sizeof(*batch->ids)) != TS_OK)
        return TS_ERR_NOMEM;
    batch->ids[batch->n++] = m.client;
    return TS_OK;
}

/* Hand every non-empty batch to its worker. Caller holds the lock. */
static void batches_flush(struct bus_local *b, struct bus_message *msg)
{
    for (unsigned w = 0; w < BUS_MAX_WORKERS; w++) {
        if (b->batches[w].n > 0) {
            b->deliver(b->ctx, w, b->batches[w].ids, b->batches[w].n, msg);
            b->batches[w].n = 0;
        }
    }
}

static int local_publish_room(bus *base, const char *room, struct bus_message *msg,
                              struct bus_member except)
{
    struct bus_local *b = (struct bus_local *)base;
    struct room *r;
    int rc = TS_OK;

    pthread_mutex_lock(&b->lock);
    r = room_find(b, room, false);
    for (size_t i = 0; r != NULL && i < r->n && rc == TS_OK; i++) {
        if (r->members[i].m.client != except.client)
            rc = batch_add(b, r->members[i].m);
    }
    batches_flush(b, msg);
    pthread_mutex_unlock(&b->lock);
    return rc;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Call fn once per distinct name of names[0..n), in order. */
static void emit_sorted_unique(const char **names, size_t n, bus_name_fn fn, void *ctx)
{
    if (n == 0)
        return;
    qsort(names, n, sizeof(*names), compare_names);
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || strcmp(names[i], names[i - 1]) != 0)
            fn(ctx, names[i]);
    }
}

static int local_room_users(bus *base, const char *room, bus_name_fn fn, void *ctx)
{
    struct bus_local *b = (struct bus_local *)base;
    const char **names = NULL;
    struct room *r;
    size_t n = 0;
    int rc = TS_OK;

    pthread_mutex_lock(&b->lock);
    r = room_find(b, room, false);
    if (r != NULL && r->n > 0 && (names = malloc(r->n * sizeof(*names))) == NULL)
        rc = TS_ERR_NOMEM;
    for (size_t i = 0; rc == TS_OK && r != NULL && i < r->n; i++)
        names[n++] = r->members[i].user;
    if (rc == TS_OK)
        emit_sorted_unique(names, n, fn, ctx);
    pthread_mutex_unlock(&b->lock);
    free(names);
    return rc;
}

static struct user_node *user_find(struct bus_local *b, const char *name, bool create)
{
    size_t h = name_hash(name);
    struct user_node *u;

    for (u = b->users[h]; u != NULL; u = u->next) {
        if (strcmp(u->name, name) == 0)
            return u;
    }
    if (!create || (u = calloc(1, sizeof(*u))) == NULL)
        return NULL;
    snprintf(u->name, sizeof(u->name), "%s", name);
    u->next = b->users[h];
    b->users[h] = u;
    return u;
}

static void user_remove_member(struct user_node *u, ts_client_id client)
{
    for (size_t i = 0; i < u->n; i++) {
        if (u->members[i].client == client) {
            u->members[i] = u->members[--u->n];
            return;
        }
    }
}

static void user_drop_if_empty(struct bus_local *b, struct user_node *u)
{
    struct user_node **link = &b->users[name_hash(u->name)];

    if (u->n > 0)
        return;
    while (*link != u)
        link = &(*link)->next;
    *link = u->next;
    free(u->members);
    free(u);
}

static int local_online(bus *base, const char *user, struct bus_member m)
{
    struct bus_local *b = (struct bus_local *)base;
    struct user_node *u, *before;
    int rc = TS_ERR_NOMEM;

    pthread_mutex_lock(&b->lock);
    before = idmap_get(&b->member_user, m.client);
    if (before != NULL) {
        user_remove_member(before, m.client);
        idmap_remove(&b->member_user, m.client);
        user_drop_if_empty(b, before);
    }
    u = user_find(b, user, true);
    if (u != NULL && grow((void **)&u->members, &u->cap, u->n, sizeof(*u->members)) == TS_OK &&
        idmap_put(&b->member_user, m.client, u) == TS_OK) {
        u->members[u->n++] = m;
        rc = TS_OK;
    }
    pthread_mutex_unlock(&b->lock);
    return rc;
}

static int local_offline(bus *base, struct bus_member m)
{
    struct bus_local *b = (struct bus_local *)base;
    struct user_node *u;

    pthread_mutex_lock(&b->lock);
    u = idmap_get(&b->member_user, m.client);
    if (u != NULL) {
        user_remove_member(u, m.client);
        idmap_remove(&b->member_user, m.client);
        user_drop_if_empty(b, u);
    }
    pthread_mutex_unlock(&b->lock);
    return u != NULL ? TS_OK : TS_ERR_NOT_FOUND;
}

static int local_publish_user(bus *base, const char *user, struct bus_message *msg,
                              struct bus_member except, size_t *delivered)
{
    struct bus_local *b = (struct bus_local *)base;
    struct user_node *u;
    int rc = TS_OK;

    *delivered = 0;
    pthread_mutex_lock(&b->lock);
    u = user_find(b, user, false);
    for (size_t i = 0; u != NULL && i < u->n && rc == TS_OK; i++) {
        if (u->members[i].client != except.client) {
            rc = batch_add(b, u->members[i]);
            (*delivered)++;
        }
    }
    batches_flush(b, msg);
    pthread_mutex_unlock(&b->lock);
    return rc;
}

static int local_publish_all(bus *base, struct bus_message *msg, struct bus_member except)
{
    struct bus_local *b = (struct bus_local *)base;
    int rc = TS_OK;

    pthread_mutex_lock(&b->lock);
    for (size_t h = 0; h < BUS_BUCKETS && rc == TS_OK; h++) {
        for (struct user_node *u = b->users[h]; u != NULL && rc == TS_OK; u = u->next) {
            for (size_t i = 0; i < u->n && rc == TS_OK; i++) {
                if (u->members[i].client != except.client)
                    rc = batch_add(b, u->members[i]);
            }
        }
    }
    batches_flush(b, msg);
    pthread_mutex_unlock(&b->lock);
    return rc;
}

static int local_online_users(bus *base, bus_name_fn fn, void *ctx)
{
    struct bus_local *b = (struct bus_local *)base;
    const char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = TS_OK;

    pthread_mutex_lock(&b->lock);
    for (size_t h = 0; h < BUS_BUCKETS && rc == TS_OK; h++) {
        for (struct user_node *u = b->users[h]; u != NULL && rc == TS_OK; u = u->next) {
            if (u->n == 0)
                continue;
            if ((rc = grow((void **)&names, &cap, n, sizeof(*names))) == TS_OK)
                names[n++] = u->name;
        }
    }
    if (rc == TS_OK)
        emit_sorted_unique(names, n, fn, ctx);
    pthread_mutex_unlock(&b->lock);
    free(names);
    return rc;
}

static size_t local_user_devices(bus *base, const char *user)
{
    struct bus_local *b = (struct bus_local *)base;
    struct user_node *u;
    size_t n;

    pthread_mutex_lock(&b->lock);
    u = user_find(b, user, false);
    n = u != NULL ? u->n : 0;
    pthread_mutex_unlock(&b->lock);
    return n;
}

static void local_close(bus *base)
{
    struct bus_local *b = (struct bus_local *)base;

    for (size_t h = 0; h < BUS_BUCKETS; h++) {
        for (struct room *r = b->rooms[h], *next; r != NULL; r = next) {
            next = r->next;
            free(r->members);
            free(r);
        }
        for (struct user_node *u = b->users[h], *next; u != NULL; u = next) {
            next = u->next;
            free(u->members);
            free(u);
        }
    }
    for (size_t w = 0; w < BUS_MAX_WORKERS; w++)
        free(b->batches[w].ids);
    idmap_free(&b->member_user);
    pthread_mutex_destroy(&b->lock);
    free(b);
}

static const struct bus_ops local_ops = {
    .name = "local",
    .join = local_join,
    .leave = local_leave,
    .publish_room = local_publish_room,
    .room_users = local_room_users,
    .online = local_online,
    .offline = local_offline,
    .publish_user = local_publish_user,
    .publish_all = local_publish_all,
    .online_users = local_online_users,
    .user_devices = local_user_devices,
    .close = local_close,
};

int bus_local_open(bus **out, bus_deliver_fn deliver, void *ctx)
{
    struct bus_local *b = calloc(1, sizeof(*b));

    *out = NULL;
    if (b == NULL)
        return TS_ERR_NOMEM;
    if (pthread_mutex_init(&b->lock, NULL) != 0) {
        free(b);
        return TS_ERR_NOMEM;
    }
    b->base.ops = &local_ops;
    b->deliver = deliver;
    b->ctx = ctx;
    idmap_init(&b->member_user);
    *out = &b->base;
    return TS_OK;
}
