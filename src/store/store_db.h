/*
 * One SQLite connection of the store and its cache of prepared statements.
 *
 * Every SQL text the store runs is listed once, in store_db.c, and runs as
 * a prepared statement with bound parameters; nothing is ever built from
 * input. Statements are prepared on first use and kept for the life of the
 * connection. A connection is used by one thread at a time (the writer
 * thread, one reader thread, or a command-line tool), so it is opened
 * without SQLite's per-connection mutex.
 *
 * Errors: the helpers turn a failed SQLite call into a tcpseal code and
 * record a detail naming the database path, what was being done and
 * SQLite's own message (ts_error_detail()).
 */
#ifndef TS_STORE_STORE_DB_H
#define TS_STORE_STORE_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

/* How long a connection waits for a lock another process holds (a tool
 * reading while the server checkpoints, or the reverse). */
#define DB_BUSY_TIMEOUT_MS 5000

/* Columns of a message row, in the order store_rows.c reads them. */
#define DB_MESSAGE_COLUMNS                                                     \
    "id, stored_ms, room, recipient, sender, sender_key, sender_seq, "         \
    "envelope, hash, chain"

/* Columns of a user row (without its keys). */
#define DB_USER_COLUMNS "id, name, password_hash, locked, created_ms"

/* Positions in DB_MESSAGE_COLUMNS and DB_USER_COLUMNS. */
enum db_message_col {
    DB_COL_ID,
    DB_COL_STORED_MS,
    DB_COL_ROOM,
    DB_COL_RECIPIENT,
    DB_COL_SENDER,
    DB_COL_SENDER_KEY,
    DB_COL_SENDER_SEQ,
    DB_COL_ENVELOPE,
    DB_COL_HASH,
    DB_COL_CHAIN,
};
enum db_user_col { DB_UCOL_ID, DB_UCOL_NAME, DB_UCOL_PASSWORD, DB_UCOL_LOCKED, DB_UCOL_CREATED };

enum db_stmt {
    /* transactions */
    DB_BEGIN,
    DB_BEGIN_IMMEDIATE,
    DB_COMMIT,
    DB_ROLLBACK,
    DB_SAVEPOINT,
    DB_RELEASE,
    DB_ROLLBACK_TO,
    /* schema */
    DB_PRAGMA_WAL,
    DB_VERSION_TABLE,
    DB_VERSION_GET,
    DB_VERSION_SET,
    /* messages */
    DB_MSG_INSERT,
    DB_MSG_BY_SEQ,
    DB_MSG_LAST_CHAIN,
    DB_ROOM_INSERT,
    DB_OFFLINE_INSERT,
    DB_OFFLINE_DELETE,
    DB_ROOM_NEWEST,
    DB_ROOM_OLDEST_FIRST,
    DB_ALL_NEWEST,
    DB_ALL_OLDEST_FIRST,
    DB_OFFLINE_ROWS,
    /* users and keys */
    DB_USER_INSERT,
    DB_USER_DELETE,
    DB_USER_SET_PASSWORD,
    DB_USER_SET_LOCKED,
    DB_USER_ID,
    DB_USER_BY_NAME,
    DB_USER_BY_KEY,
    DB_USERS_ALL,
    DB_USER_KEYS,
    DB_KEY_OWNER,
    DB_KEY_COUNT,
    DB_KEY_INSERT,
    DB_KEY_DELETE,
    DB_STMT_COUNT
};

enum db_mode {
    DB_READ_WRITE, /* creates the file (mode 0600) and sets WAL mode */
    DB_READ_ONLY,
};

struct db {
    sqlite3 *conn;
    const char *path;                  /* borrowed; for error details */
    sqlite3_stmt *stmt[DB_STMT_COUNT]; /* prepared on first use */
    bool fatal; /* the last failure was not a constraint violation */
};

/* Open path. A read-write connection creates the file when missing, with
 * mode 0600 because it holds password hashes, switches it to WAL and sets
 * synchronous FULL (sync_full) or NORMAL, foreign keys and the busy
 * timeout. 0, TS_ERR_IO (detail: path and SQLite's message) or
 * TS_ERR_NOMEM; on failure *db is left closed. */
int db_open(struct db *db, const char *path, enum db_mode mode, bool sync_full);

/* Finalize every statement and close. Safe on a closed or zeroed db. */
void db_close(struct db *db);

/* The prepared statement id, ready for binding (prepared now if this is
 * its first use). 0 or an error as db_fail() gives. */
int db_stmt(struct db *db, enum db_stmt id, sqlite3_stmt **out);

/* Record the failure of an SQLite call made while doing `what` and return
 * the matching tcpseal code: TS_ERR_EXISTS for a unique or primary key
 * violation, TS_ERR_NOT_FOUND for a foreign key violation, TS_ERR_INVALID
 * for other constraints, TS_ERR_NOMEM, else TS_ERR_IO. Sets db->fatal
 * unless it was a constraint violation, which only fails the statement. */
int db_fail(struct db *db, const char *what);

/* Bind helpers: 0 or an error as db_fail() gives. Text and blobs are bound
 * without copying, so they must stay valid until db_done(). */
int db_bind_text(struct db *db, sqlite3_stmt *st, int idx, const char *text);
int db_bind_blob(struct db *db, sqlite3_stmt *st, int idx, const void *p, size_t len);
int db_bind_int(struct db *db, sqlite3_stmt *st, int idx, int64_t v);
int db_bind_null(struct db *db, sqlite3_stmt *st, int idx);

/* Results of db_step(). */
#define DB_ROW 1
#define DB_DONE 0

/* Step st: DB_ROW, DB_DONE, or an error as db_fail() gives. */
int db_step(struct db *db, sqlite3_stmt *st, const char *what);

/* Finish with st: reset it (ending its implicit read transaction, which
 * would otherwise hold back WAL checkpoints) and drop its bindings. */
void db_done(sqlite3_stmt *st);

/* Run a statement without parameters to completion, ignoring any rows.
 * 0 or an error as db_fail() gives. */
int db_run(struct db *db, enum db_stmt id, const char *what);

/* Run fixed, multi-statement SQL text (schema migrations only). */
int db_exec(struct db *db, const char *sql, const char *what);

/* Roll back the open transaction, if any, keeping the detail recorded for
 * the failure that led here (a failing rollback is only logged). */
void db_abort(struct db *db);

/* True while the connection is inside an explicit transaction. */
bool db_in_transaction(const struct db *db);

/* SQLite integers are signed; sequence numbers and times are unsigned 64
 * bits. Convert through the same bits, so every value survives a round
 * trip and the UNIQUE constraint still compares whole values. */
static inline int64_t db_from_u64(uint64_t v)
{
    int64_t out;
    _Static_assert(sizeof(out) == sizeof(v), "64-bit integers");
    memcpy(&out, &v, sizeof(out));
    return out;
}

static inline uint64_t db_to_u64(int64_t v)
{
    uint64_t out;
    memcpy(&out, &v, sizeof(out));
    return out;
}

#endif /* TS_STORE_STORE_DB_H */
