/*
 * What each write request does inside the writer's transaction.
 */
#include "store/store_writer.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_rows.h"
#include "util/clock.h"
#include "util/error.h"

/* Run a statement that takes its parameters from bind(), expecting no
 * rows; *changed tells whether it modified a row. */
static int write_stmt(struct db *db, enum db_stmt id, const char *what,
                      int (*bind)(struct db *, sqlite3_stmt *, const void *), const void *arg,
                      bool *changed)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if ((rc = db_stmt(db, id, &st)) != TS_OK)
        return rc;
    if ((rc = bind(db, st, arg)) == TS_OK)
        rc = db_step(db, st, what);
    if (rc == DB_ROW)
        rc = error_set(TS_ERR_IO, "store %s: %s: unexpected result row", db->path, what);
    if (rc == DB_DONE && changed != NULL)
        *changed = sqlite3_changes(db->conn) > 0;
    db_done(st);
    return rc;
}

/* Run a query with one integer result; *found tells whether it had a row. */
static int query_int(struct db *db, enum db_stmt id, const char *what,
                     int (*bind)(struct db *, sqlite3_stmt *, const void *), const void *arg,
                     bool *found, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc;

    *found = false;
    if ((rc = db_stmt(db, id, &st)) != TS_OK)
        return rc;
    if ((rc = bind(db, st, arg)) == TS_OK)
        rc = db_step(db, st, what);
    if (rc == DB_ROW) {
        *found = true;
        *out = sqlite3_column_int64(st, 0);
        rc = TS_OK;
    }
    db_done(st);
    return rc;
}

/* ---- appends ---- */

static int bind_message(struct db *db, sqlite3_stmt *st, const void *arg)
{
    const struct write_append *a = arg;
    int rc;

    if ((rc = db_bind_int(db, st, 1, db_from_u64(a->stored_ms))) != TS_OK)
        return rc;
    rc = a->room[0] != '\0' ? db_bind_text(db, st, 2, a->room) : db_bind_null(db, st, 2);
    if (rc != TS_OK)
        return rc;
    rc = a->recipient[0] != '\0' ? db_bind_text(db, st, 3, a->recipient)
                                 : db_bind_null(db, st, 3);
    if (rc != TS_OK || (rc = db_bind_text(db, st, 4, a->sender)) != TS_OK ||
        (rc = db_bind_blob(db, st, 5, a->sender_key, TS_PUBLIC_KEY_LEN)) != TS_OK ||
        (rc = db_bind_int(db, st, 6, db_from_u64(a->sender_seq))) != TS_OK ||
        (rc = db_bind_blob(db, st, 7, a->envelope, a->envelope_len)) != TS_OK ||
        (rc = db_bind_blob(db, st, 8, a->hash, TS_ENVELOPE_HASH_LEN)) != TS_OK)
        return rc;
    return db_bind_blob(db, st, 9, a->chain, STORE_CHAIN_LEN);
}

static int bind_seq(struct db *db, sqlite3_stmt *st, const void *arg)
{
    const struct write_append *a = arg;
    int rc;

    if ((rc = db_bind_blob(db, st, 1, a->sender_key, TS_PUBLIC_KEY_LEN)) != TS_OK)
        return rc;
    return db_bind_int(db, st, 2, db_from_u64(a->sender_seq));
}

static int bind_room(struct db *db, sqlite3_stmt *st, const void *arg)
{
    const struct write_append *a = arg;
    int rc;

    if ((rc = db_bind_text(db, st, 1, a->room)) != TS_OK)
        return rc;
    return db_bind_int(db, st, 2, db_from_u64(a->stored_ms));
}

struct offline_pair {
    int64_t user_id;
    int64_t message_id;
};

static int bind_offline(struct db *db, sqlite3_stmt *st, const void *arg)
{
    const struct offline_pair *p = arg;
    int rc;

    if ((rc = db_bind_int(db, st, 1, p->user_id)) != TS_OK)
        return rc;
    return db_bind_int(db, st, 2, p->message_id);
}

static int copy_name(char *dst, const char *src)
{
    size_t len = strlen(src);

    if (len > STORE_NAME_MAX)
        return TS_ERR_MALFORMED;
    memcpy(dst, src, len + 1);
    return TS_OK;
}

/* Make a describe the stored row rather than the resent copy. */
static int take_original(struct db *db, struct write_append *a, const struct store_row *row)
{
    uint8_t *envelope;

    if (copy_name(a->room, row->room) != TS_OK ||
        copy_name(a->recipient, row->recipient) != TS_OK ||
        copy_name(a->sender, row->sender) != TS_OK)
        return error_set(TS_ERR_MALFORMED, "store %s: message %" PRId64 ": name too long",
                         db->path, row->id);
    if ((envelope = malloc(row->envelope_len)) == NULL)
        return error_set(TS_ERR_NOMEM, "store: no memory for a duplicate's original");
    memcpy(envelope, row->envelope, row->envelope_len);
    free(a->envelope);
    a->envelope = envelope;
    a->envelope_len = row->envelope_len;
    memcpy(a->hash, row->hash, TS_ENVELOPE_HASH_LEN);
    memcpy(a->chain, row->chain, STORE_CHAIN_LEN);
    a->id = row->id;
    a->stored_ms = row->stored_ms;
    return TS_ERR_DUPLICATE;
}

/* The row already stored under a's sender key and sequence. */
static int load_original(struct db *db, struct write_append *a)
{
    struct store_row row;
    sqlite3_stmt *st = NULL;
    int rc;

    if ((rc = db_stmt(db, DB_MSG_BY_SEQ, &st)) != TS_OK)
        return rc;
    if ((rc = bind_seq(db, st, a)) == TS_OK)
        rc = db_step(db, st, "read original message");
    if (rc == DB_ROW && (rc = rows_message(db, st, &row)) == TS_OK)
        rc = take_original(db, a, &row);
    else if (rc == DB_DONE)
        rc = error_set(TS_ERR_IO, "store %s: duplicate message but no original", db->path);
    db_done(st);
    return rc;
}

static int queue_offline(struct db *db, const struct write_append *a)
{
    struct offline_pair pair = {.message_id = a->id};
    int rc;

    for (size_t i = 0; i < a->n_offline_for; i++) {
        pair.user_id = a->offline_for[i];
        rc = write_stmt(db, DB_OFFLINE_INSERT, "queue offline message", bind_offline, &pair,
                        NULL);
        if (rc == TS_ERR_NOT_FOUND)
            return error_set(TS_ERR_NOT_FOUND, "store: offline queue: no user with id %" PRId64,
                             pair.user_id);
        if (rc != TS_OK)
            return rc;
    }
    return TS_OK;
}

static int apply_append(struct db *db, struct write_append *a, const uint8_t prev[STORE_CHAIN_LEN])
{
    bool inserted = false;
    int rc;

    a->stored_ms = clock_wall_ms();
    store_chain_next(prev, a->hash, a->chain);
    /* The message goes first: when it is a duplicate nothing else is
     * written, not even its room. */
    rc = write_stmt(db, DB_MSG_INSERT, "store message", bind_message, a, &inserted);
    if (rc != TS_OK)
        return rc;
    if (!inserted)
        return load_original(db, a);
    a->id = sqlite3_last_insert_rowid(db->conn);
    if (a->room[0] != '\0' &&
        (rc = write_stmt(db, DB_ROOM_INSERT, "create room", bind_room, a, NULL)) != TS_OK)
        return rc;
    return queue_offline(db, a);
}

/* ---- users and keys ---- */

struct key_owner {
    const uint8_t *key;
    int64_t user_id;
    uint64_t now_ms;
};

static int bind_name(struct db *db, sqlite3_stmt *st, const void *arg)
{
    const struct write_user *u = arg;

    return db_bind_text(db, st, 1, u->name);
}

static int bind_new_user(struct db *db, sqlite3_stmt *st, const void *arg)
{
    const struct write_user *u = arg;
    int rc;

    if ((rc = db_bind_text(db, st, 1, u->name)) != TS_OK)
        return rc;
    rc = u->has_password ? db_bind_text(db, st, 2, u->password_hash) : db_bind_null(db, st, 2);
    if (rc != TS_OK)
        return rc;
    return db_bind_int(db, st, 3, db_from_u64(clock_wall_ms()));
}

static int bind_password(struct db *db, sqlite3_stmt *st, const void *arg)
{
    const struct write_user *u = arg;
    int rc;

    if ((rc = db_bind_text(db, st, 1, u->name)) != TS_OK)
        return rc;
    return u->has_password ? db_bind_text(db, st, 2, u->password_hash) : db_bind_null(db, st, 2);
}

static int bind_locked(struct db *db, sqlite3_stmt *st, const void *arg)
{
    const struct write_user *u = arg;
    int rc;

    if ((rc = db_bind_text(db, st, 1, u->name)) != TS_OK)
        return rc;
    return db_bind_int(db, st, 2, u->locked ? 1 : 0);
}

static int bind_key(struct db *db, sqlite3_stmt *st, const void *arg)
{
    const struct key_owner *k = arg;

    return db_bind_blob(db, st, 1, k->key, TS_PUBLIC_KEY_LEN);
}

static int bind_owner_id(struct db *db, sqlite3_stmt *st, const void *arg)
{
    const struct key_owner *k = arg;

    return db_bind_int(db, st, 1, k->user_id);
}

static int bind_key_insert(struct db *db, sqlite3_stmt *st, const void *arg)
{
    const struct key_owner *k = arg;
    int rc;

    if ((rc = db_bind_blob(db, st, 1, k->key, TS_PUBLIC_KEY_LEN)) != TS_OK ||
        (rc = db_bind_int(db, st, 2, k->user_id)) != TS_OK)
        return rc;
    return db_bind_int(db, st, 3, db_from_u64(k->now_ms));
}

static int not_found(const char *name)
{
    return error_set(TS_ERR_NOT_FOUND, "store: no user named \"%s\"", name);
}

/* Bind k->key to k->user_id: already bound to that user is success. */
static int bind_device_key(struct db *db, const struct key_owner *k)
{
    int64_t owner, count = 0;
    bool found;
    int rc;

    if ((rc = query_int(db, DB_KEY_OWNER, "look up key", bind_key, k, &found, &owner)) != TS_OK)
        return rc;
    if (found)
        return owner == k->user_id
                   ? TS_OK
                   : error_set(TS_ERR_EXISTS, "store: key is bound to another user");
    if ((rc = query_int(db, DB_KEY_COUNT, "count keys", bind_owner_id, k, &found, &count)) !=
        TS_OK)
        return rc;
    if (count >= STORE_MAX_KEYS_PER_USER)
        return error_set(TS_ERR_LIMIT, "store: user already has %d device keys",
                         STORE_MAX_KEYS_PER_USER);
    return write_stmt(db, DB_KEY_INSERT, "bind key", bind_key_insert, k, NULL);
}

static int apply_user_create(struct db *db, const struct write_user *u)
{
    struct key_owner k = {.key = u->key, .now_ms = clock_wall_ms()};
    int rc;

    rc = write_stmt(db, DB_USER_INSERT, "create user", bind_new_user, u, NULL);
    if (rc == TS_ERR_EXISTS)
        return error_set(TS_ERR_EXISTS, "store: user \"%s\" exists", u->name);
    if (rc != TS_OK || !u->has_key)
        return rc;
    k.user_id = sqlite3_last_insert_rowid(db->conn);
    return bind_device_key(db, &k);
}

static int apply_key_bind(struct db *db, const struct write_user *u)
{
    struct key_owner k = {.key = u->key, .now_ms = clock_wall_ms()};
    bool found;
    int rc;

    rc = query_int(db, DB_USER_ID, "look up user", bind_name, u, &found, &k.user_id);
    if (rc != TS_OK)
        return rc;
    return found ? bind_device_key(db, &k) : not_found(u->name);
}

/* An update or delete by user name; no row changed means no such user. */
static int apply_user_change(struct db *db, enum db_stmt id, const char *what,
                             int (*bind)(struct db *, sqlite3_stmt *, const void *),
                             const struct write_user *u)
{
    bool changed = false;
    int rc = write_stmt(db, id, what, bind, u, &changed);

    if (rc == TS_OK && !changed)
        return not_found(u->name);
    return rc;
}

static int apply_key_unbind(struct db *db, const struct write_user *u)
{
    struct key_owner k = {.key = u->key};
    bool changed = false;
    int rc = write_stmt(db, DB_KEY_DELETE, "unbind key", bind_key, &k, &changed);

    if (rc == TS_OK && !changed)
        return error_set(TS_ERR_NOT_FOUND, "store: key is not bound to any user");
    return rc;
}

static int bind_ack(struct db *db, sqlite3_stmt *st, const void *arg)
{
    const struct write_ack *a = arg;
    int rc;

    if ((rc = db_bind_int(db, st, 1, a->user_id)) != TS_OK)
        return rc;
    return db_bind_int(db, st, 2, a->up_to_id);
}

int apply_write(struct db *db, struct write_req *r, const uint8_t prev[STORE_CHAIN_LEN])
{
    struct write_user *u = &r->u.user;

    switch (r->kind) {
    case WRITE_APPEND:
        return apply_append(db, &r->u.append, prev);
    case WRITE_USER_CREATE:
        return apply_user_create(db, u);
    case WRITE_USER_DELETE:
        return apply_user_change(db, DB_USER_DELETE, "delete user", bind_name, u);
    case WRITE_USER_PASSWORD:
        return apply_user_change(db, DB_USER_SET_PASSWORD, "set password", bind_password, u);
    case WRITE_USER_LOCKED:
        return apply_user_change(db, DB_USER_SET_LOCKED, "lock user", bind_locked, u);
    case WRITE_KEY_BIND:
        return apply_key_bind(db, u);
    case WRITE_KEY_UNBIND:
        return apply_key_unbind(db, u);
    case WRITE_OFFLINE_ACK:
        return write_stmt(db, DB_OFFLINE_DELETE, "acknowledge offline messages", bind_ack,
                          &r->u.ack, NULL);
    }
    return error_set(TS_ERR_INVALID, "store: unknown write request %d", (int)r->kind);
}
