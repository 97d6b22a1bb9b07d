#include "store/store_rows.h"

#include <inttypes.h>
#include <string.h>

#include <sodium.h>

#include "util/error.h"

static int bad_column(struct db *db, const char *table, int64_t id, const char *column,
                      const char *why)
{
    return error_set(TS_ERR_MALFORMED, "store %s: %s %" PRId64 ": %s %s", db->path, table, id,
                     column, why);
}

/* Text of a column; a NULL reads as "" when nullable. */
static int column_text(struct db *db, sqlite3_stmt *st, int col, bool nullable,
                       const char **out)
{
    int type = sqlite3_column_type(st, col);

    if (type == SQLITE_NULL && nullable) {
        *out = "";
        return TS_OK;
    }
    if (type != SQLITE_TEXT)
        return TS_ERR_MALFORMED;
    *out = (const char *)sqlite3_column_text(st, col);
    /* A TEXT value only reads as NULL when SQLite ran out of memory. */
    return *out != NULL ? TS_OK : db_fail(db, "read text column");
}

/* A non-empty blob, of exactly `want` bytes unless want is 0. */
static int column_blob(sqlite3_stmt *st, int col, size_t want, const uint8_t **out,
                       size_t *len)
{
    if (sqlite3_column_type(st, col) != SQLITE_BLOB)
        return TS_ERR_MALFORMED;
    *out = sqlite3_column_blob(st, col);
    *len = (size_t)sqlite3_column_bytes(st, col);
    if (*out == NULL || *len == 0 || (want != 0 && *len != want))
        return TS_ERR_MALFORMED;
    return TS_OK;
}

static int message_blobs(struct db *db, sqlite3_stmt *st, struct store_row *row)
{
    static const struct {
        int col;
        size_t want;
        const char *name;
    } blobs[] = {
        {DB_COL_SENDER_KEY, TS_PUBLIC_KEY_LEN, "sender_key"},
        {DB_COL_ENVELOPE, 0, "envelope"},
        {DB_COL_HASH, TS_ENVELOPE_HASH_LEN, "hash"},
        {DB_COL_CHAIN, STORE_CHAIN_LEN, "chain"},
    };
    const uint8_t *p[sizeof(blobs) / sizeof(blobs[0])];
    size_t len[sizeof(blobs) / sizeof(blobs[0])];

    for (size_t i = 0; i < sizeof(blobs) / sizeof(blobs[0]); i++)
        if (column_blob(st, blobs[i].col, blobs[i].want, &p[i], &len[i]) != TS_OK)
            return bad_column(db, "message", row->id, blobs[i].name,
                              "is missing or has the wrong size");
    row->sender_key = p[0];
    row->envelope = p[1];
    row->envelope_len = len[1];
    row->hash = p[2];
    row->chain = p[3];
    return TS_OK;
}

int rows_message(struct db *db, sqlite3_stmt *st, struct store_row *row)
{
    int rc;

    memset(row, 0, sizeof(*row));
    row->id = sqlite3_column_int64(st, DB_COL_ID);
    row->stored_ms = db_to_u64(sqlite3_column_int64(st, DB_COL_STORED_MS));
    row->sender_seq = db_to_u64(sqlite3_column_int64(st, DB_COL_SENDER_SEQ));
    if ((rc = column_text(db, st, DB_COL_ROOM, true, &row->room)) != TS_OK ||
        (rc = column_text(db, st, DB_COL_RECIPIENT, true, &row->recipient)) != TS_OK ||
        (rc = column_text(db, st, DB_COL_SENDER, false, &row->sender)) != TS_OK)
        return rc == TS_ERR_MALFORMED
                   ? bad_column(db, "message", row->id, "room, recipient or sender",
                                "is not text")
                   : rc;
    return message_blobs(db, st, row);
}

static int each_row(struct db *db, sqlite3_stmt *st, rows_cb cb, void *ctx)
{
    struct store_row row;
    int rc;

    while ((rc = db_step(db, st, "read messages")) == DB_ROW) {
        if ((rc = rows_message(db, st, &row)) != TS_OK)
            return rc;
        if (cb(ctx, &row) != 0)
            return TS_OK;
    }
    return rc == DB_DONE ? TS_OK : rc;
}

/* SQLite reads a negative LIMIT as "no limit". */
static int64_t sql_limit(unsigned limit)
{
    return limit == 0 ? -1 : (int64_t)limit;
}

int rows_history(struct db *db, const char *room, int64_t before_id, unsigned limit,
                 rows_cb cb, void *ctx)
{
    bool every = room == NULL || room[0] == '\0';
    enum db_stmt id = every ? (limit != 0 ? DB_ALL_NEWEST : DB_ALL_OLDEST_FIRST)
                            : (limit != 0 ? DB_ROOM_NEWEST : DB_ROOM_OLDEST_FIRST);
    int64_t bound = before_id > 0 ? before_id : INT64_MAX;
    sqlite3_stmt *st = NULL;
    int param = 1;
    int rc;

    if ((rc = db_stmt(db, id, &st)) != TS_OK)
        return rc;
    if (!every)
        rc = db_bind_text(db, st, param++, room);
    if (rc == TS_OK)
        rc = db_bind_int(db, st, param++, bound);
    if (rc == TS_OK && limit != 0)
        rc = db_bind_int(db, st, param, sql_limit(limit));
    if (rc == TS_OK)
        rc = each_row(db, st, cb, ctx);
    db_done(st);
    return rc;
}

int rows_offline(struct db *db, int64_t user_id, unsigned limit, rows_cb cb, void *ctx)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if ((rc = db_stmt(db, DB_OFFLINE_ROWS, &st)) != TS_OK)
        return rc;
    if ((rc = db_bind_int(db, st, 1, user_id)) == TS_OK &&
        (rc = db_bind_int(db, st, 2, sql_limit(limit))) == TS_OK)
        rc = each_row(db, st, cb, ctx);
    db_done(st);
    return rc;
}

static int copy_text(char *dst, size_t cap, const char *src)
{
    size_t len = strlen(src);

    if (len >= cap)
        return TS_ERR_MALFORMED;
    memcpy(dst, src, len + 1);
    return TS_OK;
}

static int read_user(struct db *db, sqlite3_stmt *st, struct store_user *u)
{
    const char *name, *pw;

    memset(u, 0, sizeof(*u));
    u->id = sqlite3_column_int64(st, DB_UCOL_ID);
    u->locked = sqlite3_column_int64(st, DB_UCOL_LOCKED) != 0;
    u->created_ms = db_to_u64(sqlite3_column_int64(st, DB_UCOL_CREATED));
    if (column_text(db, st, DB_UCOL_NAME, false, &name) != TS_OK ||
        copy_text(u->name, sizeof(u->name), name) != TS_OK)
        return bad_column(db, "user", u->id, "name", "is not text or too long");
    if (column_text(db, st, DB_UCOL_PASSWORD, true, &pw) != TS_OK ||
        copy_text(u->password_hash, sizeof(u->password_hash), pw) != TS_OK)
        return bad_column(db, "user", u->id, "password_hash", "is not text or too long");
    return TS_OK;
}

static int read_keys(struct db *db, struct store_user *u)
{
    const uint8_t *key;
    size_t len;
    sqlite3_stmt *st = NULL;
    int rc;

    if ((rc = db_stmt(db, DB_USER_KEYS, &st)) != TS_OK)
        return rc;
    if ((rc = db_bind_int(db, st, 1, u->id)) != TS_OK ||
        (rc = db_bind_int(db, st, 2, STORE_MAX_KEYS_PER_USER)) != TS_OK)
        goto done;
    while ((rc = db_step(db, st, "read device keys")) == DB_ROW) {
        if (column_blob(st, 0, TS_PUBLIC_KEY_LEN, &key, &len) != TS_OK) {
            rc = bad_column(db, "user", u->id, "device key", "has the wrong size");
            goto done;
        }
        memcpy(u->keys[u->n_keys++], key, TS_PUBLIC_KEY_LEN);
    }
    rc = rc == DB_DONE ? TS_OK : rc;
done:
    db_done(st);
    return rc;
}

/* Commit a read transaction, or roll it back after a failure. */
static int end_read(struct db *db, int rc)
{
    if (rc == TS_OK)
        return db_run(db, DB_COMMIT, "end read");
    db_abort(db);
    return rc;
}

/* The user that statement id finds by name (text) or by key. */
static int user_lookup(struct db *db, enum db_stmt id, const char *name, const uint8_t *key,
                       struct store_user *out)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if ((rc = db_run(db, DB_BEGIN, "begin read")) != TS_OK)
        return rc;
    if ((rc = db_stmt(db, id, &st)) != TS_OK)
        return end_read(db, rc);
    rc = name != NULL ? db_bind_text(db, st, 1, name)
                      : db_bind_blob(db, st, 1, key, TS_PUBLIC_KEY_LEN);
    if (rc == TS_OK)
        rc = db_step(db, st, "look up user");
    if (rc == DB_ROW)
        rc = read_user(db, st, out);
    else if (rc == DB_DONE)
        rc = error_set(TS_ERR_NOT_FOUND, "store: no such user");
    db_done(st);
    if (rc == TS_OK)
        rc = read_keys(db, out);
    return end_read(db, rc);
}

int rows_user_by_name(struct db *db, const char *name, struct store_user *out)
{
    return user_lookup(db, DB_USER_BY_NAME, name, NULL, out);
}

int rows_user_by_key(struct db *db, const uint8_t key[TS_PUBLIC_KEY_LEN],
                     struct store_user *out)
{
    return user_lookup(db, DB_USER_BY_KEY, NULL, key, out);
}

static int each_user(struct db *db, sqlite3_stmt *st, rows_user_cb cb, void *ctx)
{
    struct store_user user;
    int rc;

    while ((rc = db_step(db, st, "list users")) == DB_ROW) {
        bool stop = false;

        if ((rc = read_user(db, st, &user)) == TS_OK && (rc = read_keys(db, &user)) == TS_OK)
            stop = cb(ctx, &user) != 0;
        sodium_memzero(&user, sizeof(user));
        if (rc != TS_OK || stop)
            return rc;
    }
    return rc == DB_DONE ? TS_OK : rc;
}

int rows_users(struct db *db, rows_user_cb cb, void *ctx)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if ((rc = db_run(db, DB_BEGIN, "begin read")) != TS_OK)
        return rc;
    if ((rc = db_stmt(db, DB_USERS_ALL, &st)) == TS_OK) {
        rc = each_user(db, st, cb, ctx);
        db_done(st);
    }
    return end_read(db, rc);
}
