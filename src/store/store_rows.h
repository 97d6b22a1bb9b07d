/*
 * Reading the store's rows: message rows into struct store_row, user rows
 * (with their keys) into struct store_user, and the read queries that the
 * reader threads and the command-line tools share.
 *
 * Row pointers (text and blobs) point into SQLite's result and are valid
 * only during the callback that receives them.
 */
#ifndef TS_STORE_STORE_ROWS_H
#define TS_STORE_STORE_ROWS_H

#include "store/store.h"
#include "store/store_db.h"

/* Per-row callback of a read; a non-zero return stops the read early. */
typedef int (*rows_cb)(void *ctx, const struct store_row *row);
typedef int (*rows_user_cb)(void *ctx, const struct store_user *user);

/* Fill row from the current result of st, which selects
 * DB_MESSAGE_COLUMNS. 0, TS_ERR_MALFORMED (a column of the wrong type or
 * size: the file was edited or damaged) or TS_ERR_NOMEM. */
int rows_message(struct db *db, sqlite3_stmt *st, struct store_row *row);

/* Messages of room (NULL or "": every message, direct ones included)
 * with id < before_id (0: no bound), the newest `limit` of them (0: all),
 * through cb oldest first. 0 (also when cb stopped early) or an error. */
int rows_history(struct db *db, const char *room, int64_t before_id, unsigned limit,
                 rows_cb cb, void *ctx);

/* Messages queued for user_id, oldest first, at most limit (0: all). */
int rows_offline(struct db *db, int64_t user_id, unsigned limit, rows_cb cb, void *ctx);

/* Look a user up, keys included, in one read transaction. 0,
 * TS_ERR_NOT_FOUND or an error. *out holds a password hash: the caller
 * wipes it. */
int rows_user_by_name(struct db *db, const char *name, struct store_user *out);
int rows_user_by_key(struct db *db, const uint8_t key[TS_PUBLIC_KEY_LEN],
                     struct store_user *out);

/* Every user, ordered by name, through cb. 0 or an error. */
int rows_users(struct db *db, rows_user_cb cb, void *ctx);

#endif /* TS_STORE_STORE_ROWS_H */
