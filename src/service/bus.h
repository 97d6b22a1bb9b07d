/*
 * The bus: who is online and in which rooms, and delivery of one message
 * to many connections.
 *
 * This is the interface the service code uses; an implementation is a
 * `struct bus_ops` table. The in-process bus (bus_local.c) is the only one
 * now: membership lives in this process and delivery goes straight to the
 * owning workers. A bus spanning several server nodes (NATS) would keep the
 * same calls: publish to a subject, and deliver what arrives to the local
 * members.
 *
 * Members are connections (a user with two devices is two members), named
 * by the worker that owns them and their client id. Every call is
 * thread-safe. Delivery is asynchronous: the bus hands each worker one
 * batch per message through the deliver callback given at creation.
 */
#ifndef TS_SERVICE_BUS_H
#define TS_SERVICE_BUS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <tcpseal/server.h>

#define BUS_NAME_MAX 64

struct bus_member {
    unsigned worker;
    ts_client_id client;
};

/* What a bus message carries. */
enum bus_kind {
    BUS_ENVELOPE, /* an encoded envelope, forwarded byte for byte */
    BUS_EVENT,    /* a JSON event body, wrapped in an Event per recipient */
};

/* One message shared by every delivery of it. */
struct bus_message {
    _Atomic unsigned refs;
    enum bus_kind kind;
    size_t len;
    uint8_t data[];
};

/* A copy of data with one reference, or NULL. */
struct bus_message *bus_message_new(enum bus_kind kind, const uint8_t *data, size_t len);
void bus_message_ref(struct bus_message *m);
void bus_message_unref(struct bus_message *m);

/* Deliver msg to the listed clients of one worker (takes a reference for
 * as long as it needs the message). */
typedef void (*bus_deliver_fn)(void *ctx, unsigned worker, const ts_client_id *clients,
                               size_t n, struct bus_message *msg);

/* Called for each member name by the listing calls. */
typedef void (*bus_name_fn)(void *ctx, const char *name);

typedef struct bus bus;

struct bus_ops {
    const char *name;
    /* Rooms. join/leave return 0, TS_ERR_NOMEM, or TS_ERR_NOT_FOUND
     * (leave of a room the member is not in). */
    int (*join)(bus *b, const char *room, const char *user, struct bus_member m);
    int (*leave)(bus *b, const char *room, struct bus_member m);
    /* Send to every member of room except `except` (client 0: nobody). */
    int (*publish_room)(bus *b, const char *room, struct bus_message *msg,
                        struct bus_member except);
    /* Distinct user names in room, sorted. */
    int (*room_users)(bus *b, const char *room, bus_name_fn fn, void *ctx);

    /* Users online: a member is online once it has a user name. */
    int (*online)(bus *b, const char *user, struct bus_member m);
    int (*offline)(bus *b, struct bus_member m);
    /* Send to every online member of user; *delivered gets their number. */
    int (*publish_user)(bus *b, const char *user, struct bus_message *msg,
                        struct bus_member except, size_t *delivered);
    /* Send to every online member. */
    int (*publish_all)(bus *b, struct bus_message *msg, struct bus_member except);
    /* Distinct online user names, sorted. */
    int (*online_users)(bus *b, bus_name_fn fn, void *ctx);
    /* Number of online members of user. */
    size_t (*user_devices)(bus *b, const char *user);

    void (*close)(bus *b);
};

struct bus {
    const struct bus_ops *ops;
};

/* The in-process bus. */
int bus_local_open(bus **out, bus_deliver_fn deliver, void *ctx);

#endif /* TS_SERVICE_BUS_H */
