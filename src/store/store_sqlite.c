/*
 * The SQLite store: the store_ops table, argument checks, and the life
 * cycle of the writer and the reader pool (docs/store.md).
 */
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>
#include <tcpseal/protocol.h>

#include "store/store_reader.h"
#include "store/store_writer.h"
#include "util/crypto_init.h"
#include "util/error.h"
#include "util/log.h"

/* The largest envelope the store accepts: the largest message the record
 * layer can ever deliver. */
#define STORE_ENVELOPE_MAX TS_MAX_MESSAGE_LIMIT
/* Most users one message can be queued for. */
#define STORE_OFFLINE_MAX 1024u

struct sqlite_store {
    store base; /* first, so a store * is a struct sqlite_store * */
    char *path;
    struct writer writer;
    struct reader_pool readers;
};

static struct sqlite_store *impl(store *s)
{
    return (struct sqlite_store *)s;
}

/* ---- argument checks ---- */

/* Copy text whose length the caller checked against cap - 1. */
static void copy_text(char *dst, size_t cap, const char *src)
{
    size_t len = strnlen(src, cap - 1);

    memcpy(dst, src, len);
    dst[len] = '\0';
}

static int check_name(const char *name, const char *what)
{
    if (name == NULL || name[0] == '\0')
        return error_set(TS_ERR_INVALID, "store: %s is empty", what);
    if (strnlen(name, STORE_NAME_MAX + 1) > STORE_NAME_MAX)
        return error_set(TS_ERR_TOO_LARGE, "store: %s is longer than %d bytes", what,
                         STORE_NAME_MAX);
    return TS_OK;
}

/* A room filter: NULL and "" mean every message. */
static int check_room_filter(const char *room)
{
    if (room != NULL && strnlen(room, STORE_NAME_MAX + 1) > STORE_NAME_MAX)
        return error_set(TS_ERR_TOO_LARGE, "store: room name is longer than %d bytes",
                         STORE_NAME_MAX);
    return TS_OK;
}

static int check_password(const char *password_hash)
{
    if (password_hash != NULL &&
        strnlen(password_hash, STORE_PWHASH_MAX + 1) > STORE_PWHASH_MAX)
        return error_set(TS_ERR_TOO_LARGE, "store: password hash is longer than %d bytes",
                         STORE_PWHASH_MAX);
    return TS_OK;
}

static int check_message(const struct store_message *m)
{
    int rc;

    if (m == NULL || m->envelope == NULL || m->envelope_len == 0)
        return error_set(TS_ERR_INVALID, "store: append without an envelope");
    if (m->envelope_len > STORE_ENVELOPE_MAX)
        return error_set(TS_ERR_TOO_LARGE, "store: envelope of %zu bytes is over %u",
                         m->envelope_len, STORE_ENVELOPE_MAX);
    if ((m->room == NULL) == (m->recipient == NULL))
        return error_set(TS_ERR_INVALID, "store: a message needs a room or a recipient");
    if ((rc = check_name(m->sender, "sender")) != TS_OK ||
        (m->room != NULL && (rc = check_name(m->room, "room")) != TS_OK) ||
        (m->recipient != NULL && (rc = check_name(m->recipient, "recipient")) != TS_OK))
        return rc;
    if (m->n_offline_for > STORE_OFFLINE_MAX ||
        (m->n_offline_for > 0 && m->offline_for == NULL))
        return error_set(TS_ERR_INVALID, "store: offline list must hold 0 to %u user ids",
                         STORE_OFFLINE_MAX);
    return TS_OK;
}

/* ---- writes ---- */

static int copy_message(struct write_append *a, const struct store_message *m)
{
    copy_text(a->sender, sizeof(a->sender), m->sender);
    if (m->room != NULL)
        copy_text(a->room, sizeof(a->room), m->room);
    if (m->recipient != NULL)
        copy_text(a->recipient, sizeof(a->recipient), m->recipient);
    memcpy(a->sender_key, m->sender_key, TS_PUBLIC_KEY_LEN);
    a->sender_seq = m->sender_seq;
    memcpy(a->hash, m->hash, TS_ENVELOPE_HASH_LEN);
    if ((a->envelope = malloc(m->envelope_len)) == NULL)
        return error_set(TS_ERR_NOMEM, "store: no memory to queue a message");
    memcpy(a->envelope, m->envelope, m->envelope_len);
    a->envelope_len = m->envelope_len;
    if (m->n_offline_for == 0)
        return TS_OK;
    if ((a->offline_for = calloc(m->n_offline_for, sizeof(*a->offline_for))) == NULL)
        return error_set(TS_ERR_NOMEM, "store: no memory to queue a message");
    memcpy(a->offline_for, m->offline_for, m->n_offline_for * sizeof(*a->offline_for));
    a->n_offline_for = m->n_offline_for;
    return TS_OK;
}

static int sqlite_append(store *s, const struct store_message *m, store_write_done done,
                         void *ctx)
{
    struct write_req *r;
    int rc;

    if ((rc = check_message(m)) != TS_OK)
        return rc;
    if ((r = write_req_new(WRITE_APPEND, done, ctx)) == NULL)
        return error_set(TS_ERR_NOMEM, "store: no memory to queue a message");
    if ((rc = copy_message(&r->u.append, m)) != TS_OK) {
        write_req_free(r);
        return rc;
    }
    return writer_submit(&impl(s)->writer, r);
}

/* Queue a user or key request; name, password_hash and key may be NULL
 * where the request has none. */
static int submit_user(store *s, enum write_kind kind, const char *name,
                       const char *password_hash, const uint8_t *key, bool locked,
                       store_write_done done, void *ctx)
{
    struct write_req *r;
    struct write_user *u;

    if ((r = write_req_new(kind, done, ctx)) == NULL)
        return error_set(TS_ERR_NOMEM, "store: no memory to queue a request");
    u = &r->u.user;
    if (name != NULL)
        copy_text(u->name, sizeof(u->name), name);
    if (password_hash != NULL) {
        copy_text(u->password_hash, sizeof(u->password_hash), password_hash);
        u->has_password = true;
    }
    if (key != NULL) {
        memcpy(u->key, key, TS_PUBLIC_KEY_LEN);
        u->has_key = true;
    }
    u->locked = locked;
    return writer_submit(&impl(s)->writer, r);
}

static int sqlite_user_create(store *s, const char *name, const char *password_hash,
                              const uint8_t *key, store_write_done done, void *ctx)
{
    int rc;

    if ((rc = check_name(name, "user name")) != TS_OK ||
        (rc = check_password(password_hash)) != TS_OK)
        return rc;
    return submit_user(s, WRITE_USER_CREATE, name, password_hash, key, false, done, ctx);
}

static int sqlite_user_delete(store *s, const char *name, store_write_done done, void *ctx)
{
    int rc;

    if ((rc = check_name(name, "user name")) != TS_OK)
        return rc;
    return submit_user(s, WRITE_USER_DELETE, name, NULL, NULL, false, done, ctx);
}

static int sqlite_user_set_password(store *s, const char *name, const char *password_hash,
                                    store_write_done done, void *ctx)
{
    int rc;

    if ((rc = check_name(name, "user name")) != TS_OK ||
        (rc = check_password(password_hash)) != TS_OK)
        return rc;
    return submit_user(s, WRITE_USER_PASSWORD, name, password_hash, NULL, false, done, ctx);
}

static int sqlite_user_set_locked(store *s, const char *name, bool locked,
                                  store_write_done done, void *ctx)
{
    int rc;

    if ((rc = check_name(name, "user name")) != TS_OK)
        return rc;
    return submit_user(s, WRITE_USER_LOCKED, name, NULL, NULL, locked, done, ctx);
}

static int sqlite_key_bind(store *s, const char *name, const uint8_t key[TS_PUBLIC_KEY_LEN],
                           store_write_done done, void *ctx)
{
    int rc;

    if ((rc = check_name(name, "user name")) != TS_OK)
        return rc;
    if (key == NULL)
        return error_set(TS_ERR_INVALID, "store: no key to bind");
    return submit_user(s, WRITE_KEY_BIND, name, NULL, key, false, done, ctx);
}

static int sqlite_key_unbind(store *s, const uint8_t key[TS_PUBLIC_KEY_LEN],
                             store_write_done done, void *ctx)
{
    if (key == NULL)
        return error_set(TS_ERR_INVALID, "store: no key to unbind");
    return submit_user(s, WRITE_KEY_UNBIND, NULL, NULL, key, false, done, ctx);
}

static int sqlite_offline_ack(store *s, int64_t user_id, int64_t up_to_id,
                              store_write_done done, void *ctx)
{
    struct write_req *r = write_req_new(WRITE_OFFLINE_ACK, done, ctx);

    if (r == NULL)
        return error_set(TS_ERR_NOMEM, "store: no memory to queue a request");
    r->u.ack.user_id = user_id;
    r->u.ack.up_to_id = up_to_id;
    return writer_submit(&impl(s)->writer, r);
}

/* ---- reads ---- */

static struct read_req *read_req_new(enum read_kind kind, void *ctx)
{
    struct read_req *r = calloc(1, sizeof(*r));

    if (r == NULL) {
        error_set(TS_ERR_NOMEM, "store: no memory to queue a read");
        return NULL;
    }
    r->kind = kind;
    r->ctx = ctx;
    return r;
}

static int sqlite_user_by_name(store *s, const char *name, store_user_done done, void *ctx)
{
    struct read_req *r;
    int rc;

    if ((rc = check_name(name, "user name")) != TS_OK)
        return rc;
    if (done == NULL)
        return error_set(TS_ERR_INVALID, "store: a read needs a completion");
    if ((r = read_req_new(READ_USER_BY_NAME, ctx)) == NULL)
        return TS_ERR_NOMEM;
    copy_text(r->name, sizeof(r->name), name);
    r->done.user = done;
    return reader_submit(&impl(s)->readers, r);
}

static int sqlite_user_by_key(store *s, const uint8_t key[TS_PUBLIC_KEY_LEN],
                              store_user_done done, void *ctx)
{
    struct read_req *r;

    if (key == NULL || done == NULL)
        return error_set(TS_ERR_INVALID, "store: lookup needs a key and a completion");
    if ((r = read_req_new(READ_USER_BY_KEY, ctx)) == NULL)
        return TS_ERR_NOMEM;
    memcpy(r->key, key, TS_PUBLIC_KEY_LEN);
    r->done.user = done;
    return reader_submit(&impl(s)->readers, r);
}

static int sqlite_users(store *s, store_users_done done, void *ctx)
{
    struct read_req *r;

    if (done == NULL)
        return error_set(TS_ERR_INVALID, "store: a read needs a completion");
    if ((r = read_req_new(READ_USERS, ctx)) == NULL)
        return TS_ERR_NOMEM;
    r->done.users = done;
    return reader_submit(&impl(s)->readers, r);
}

static int sqlite_history(store *s, const char *room, int64_t before_id, unsigned limit,
                          store_rows_done done, void *ctx)
{
    struct read_req *r;
    int rc;

    if ((rc = check_room_filter(room)) != TS_OK)
        return rc;
    if (done == NULL)
        return error_set(TS_ERR_INVALID, "store: a read needs a completion");
    if ((r = read_req_new(READ_HISTORY, ctx)) == NULL)
        return TS_ERR_NOMEM;
    if (room != NULL)
        copy_text(r->name, sizeof(r->name), room);
    r->before_id = before_id;
    r->limit = limit;
    r->done.rows = done;
    return reader_submit(&impl(s)->readers, r);
}

static int sqlite_offline(store *s, int64_t user_id, unsigned limit, store_rows_done done,
                          void *ctx)
{
    struct read_req *r;

    if (done == NULL)
        return error_set(TS_ERR_INVALID, "store: a read needs a completion");
    if ((r = read_req_new(READ_OFFLINE, ctx)) == NULL)
        return TS_ERR_NOMEM;
    r->user_id = user_id;
    r->limit = limit;
    r->done.rows = done;
    return reader_submit(&impl(s)->readers, r);
}

/* ---- life cycle ---- */

static void sqlite_close(store *base)
{
    struct sqlite_store *s = impl(base);

    /* Readers first: their completions may still queue writes, which the
     * writer then finishes before it stops. */
    reader_stop(&s->readers);
    writer_stop(&s->writer);
    LOG_INFO("store_closed", "path=\"%s\"", s->path);
    free(s->path);
    free(s);
}

static const struct store_ops sqlite_ops = {
    .name = "sqlite",
    .append = sqlite_append,
    .user_create = sqlite_user_create,
    .user_delete = sqlite_user_delete,
    .user_set_password = sqlite_user_set_password,
    .user_set_locked = sqlite_user_set_locked,
    .key_bind = sqlite_key_bind,
    .key_unbind = sqlite_key_unbind,
    .offline_ack = sqlite_offline_ack,
    .user_by_name = sqlite_user_by_name,
    .user_by_key = sqlite_user_by_key,
    .users = sqlite_users,
    .history = sqlite_history,
    .offline = sqlite_offline,
    .close = sqlite_close,
};

static int start(struct sqlite_store *s, const struct store_options *opts)
{
    int rc;

    if ((rc = writer_start(&s->writer, s->path, opts->synchronous_full, opts->max_batch)) !=
        TS_OK)
        return rc;
    if ((rc = reader_start(&s->readers, s->path, opts->readers)) != TS_OK)
        writer_stop(&s->writer);
    return rc;
}

int store_sqlite_open(store **out, const struct store_options *opts)
{
    struct sqlite_store *s;
    int rc;

    *out = NULL;
    if (opts == NULL || opts->path == NULL || opts->path[0] == '\0')
        return error_set(TS_ERR_INVALID, "store: no database path");
    /* Connections are opened without their own mutex, which needs a
     * thread-safe SQLite build. */
    if (sqlite3_threadsafe() == 0)
        return error_set(TS_ERR_UNSUPPORTED, "store: SQLite was built without thread support");
    if ((rc = crypto_init()) != TS_OK)
        return rc;
    if ((s = calloc(1, sizeof(*s))) == NULL || (s->path = strdup(opts->path)) == NULL) {
        free(s);
        return error_set(TS_ERR_NOMEM, "store: no memory");
    }
    s->base.ops = &sqlite_ops;
    if ((rc = start(s, opts)) != TS_OK) {
        free(s->path);
        free(s);
        return rc;
    }
    LOG_INFO("store_opened", "path=\"%s\" synchronous=%s max_batch=%u readers=%u", s->path,
             opts->synchronous_full ? "full" : "normal", s->writer.max_batch, s->readers.n);
    *out = &s->base;
    return TS_OK;
}
