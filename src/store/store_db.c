#include "store/store_db.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "util/error.h"
#include "util/log.h"

/* Every statement the store runs. Parameters are always bound (?N). */
static const char *const stmt_sql[DB_STMT_COUNT] = {
    [DB_BEGIN] = "BEGIN",
    /* The writer takes the write lock up front, so a batch never fails
     * half-way because another connection upgraded first. */
    [DB_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
    [DB_COMMIT] = "COMMIT",
    [DB_ROLLBACK] = "ROLLBACK",
    [DB_SAVEPOINT] = "SAVEPOINT request",
    [DB_RELEASE] = "RELEASE request",
    [DB_ROLLBACK_TO] = "ROLLBACK TO request",

    [DB_PRAGMA_WAL] = "PRAGMA journal_mode=WAL",
    [DB_VERSION_TABLE] =
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'",
    [DB_VERSION_GET] = "SELECT coalesce(max(version), 0) FROM schema_version",
    [DB_VERSION_SET] = "INSERT INTO schema_version(version, applied_ms) VALUES (?1, ?2)",

    /* A second append of (sender_key, sender_seq) changes nothing; the
     * writer then reads the original row back. */
    [DB_MSG_INSERT] =
        "INSERT INTO messages(stored_ms, room, recipient, sender, sender_key, "
        "sender_seq, envelope, hash, chain) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
        "ON CONFLICT (sender_key, sender_seq) DO NOTHING",
    [DB_MSG_BY_SEQ] = "SELECT " DB_MESSAGE_COLUMNS
                      " FROM messages WHERE sender_key = ?1 AND sender_seq = ?2",
    [DB_MSG_LAST_CHAIN] = "SELECT id, chain FROM messages ORDER BY id DESC LIMIT 1",
    [DB_ROOM_INSERT] =
        "INSERT INTO rooms(name, created_ms) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
    [DB_OFFLINE_INSERT] = "INSERT INTO offline(user_id, message_id) VALUES (?1, ?2) "
                          "ON CONFLICT (user_id, message_id) DO NOTHING",
    [DB_OFFLINE_DELETE] = "DELETE FROM offline WHERE user_id = ?1 AND message_id <= ?2",
    /* The newest ?3 rows below ?2, handed out oldest first. */
    [DB_ROOM_NEWEST] = "SELECT " DB_MESSAGE_COLUMNS " FROM (SELECT " DB_MESSAGE_COLUMNS
                       " FROM messages WHERE room = ?1 AND id < ?2 ORDER BY id DESC"
                       " LIMIT ?3) ORDER BY id",
    /* Without a limit, stream in index order instead of sorting it all. */
    [DB_ROOM_OLDEST_FIRST] = "SELECT " DB_MESSAGE_COLUMNS
                             " FROM messages WHERE room = ?1 AND id < ?2 ORDER BY id",
    [DB_ALL_NEWEST] = "SELECT " DB_MESSAGE_COLUMNS " FROM (SELECT " DB_MESSAGE_COLUMNS
                      " FROM messages WHERE id < ?1 ORDER BY id DESC LIMIT ?2) ORDER BY id",
    [DB_ALL_OLDEST_FIRST] = "SELECT " DB_MESSAGE_COLUMNS
                            " FROM messages WHERE id < ?1 ORDER BY id",
    [DB_OFFLINE_ROWS] = "SELECT " DB_MESSAGE_COLUMNS " FROM messages WHERE id IN "
                        "(SELECT message_id FROM offline WHERE user_id = ?1 "
                        "ORDER BY message_id LIMIT ?2) ORDER BY id",

    [DB_USER_INSERT] = "INSERT INTO users(name, password_hash, locked, created_ms) "
                       "VALUES (?1, ?2, 0, ?3)",
    [DB_USER_DELETE] = "DELETE FROM users WHERE name = ?1",
    [DB_USER_SET_PASSWORD] = "UPDATE users SET password_hash = ?2 WHERE name = ?1",
    [DB_USER_SET_LOCKED] = "UPDATE users SET locked = ?2 WHERE name = ?1",
    [DB_USER_ID] = "SELECT id FROM users WHERE name = ?1",
    [DB_USER_BY_NAME] = "SELECT " DB_USER_COLUMNS " FROM users WHERE name = ?1",
    [DB_USER_BY_KEY] = "SELECT " DB_USER_COLUMNS " FROM users WHERE id = "
                       "(SELECT user_id FROM device_keys WHERE public_key = ?1)",
    [DB_USERS_ALL] = "SELECT " DB_USER_COLUMNS " FROM users ORDER BY name",
    [DB_USER_KEYS] = "SELECT public_key FROM device_keys WHERE user_id = ?1 "
                     "ORDER BY bound_ms, public_key LIMIT ?2",
    [DB_KEY_OWNER] = "SELECT user_id FROM device_keys WHERE public_key = ?1",
    [DB_KEY_COUNT] = "SELECT count(*) FROM device_keys WHERE user_id = ?1",
    [DB_KEY_INSERT] =
        "INSERT INTO device_keys(public_key, user_id, bound_ms) VALUES (?1, ?2, ?3)",
    [DB_KEY_DELETE] = "DELETE FROM device_keys WHERE public_key = ?1",
};

/* Connection settings of the read-write connection, after WAL mode. */
static const char *const rw_pragmas[] = {
    "PRAGMA foreign_keys = ON",
    /* Deleted users and replaced password hashes do not linger in free
     * space; FAST costs no extra I/O. */
    "PRAGMA secure_delete = FAST",
    /* Savepoint journals stay in memory. */
    "PRAGMA temp_store = MEMORY",
    /* After a burst, a checkpoint truncates the WAL file back to 64 MiB
     * instead of keeping its peak size on disk. */
    "PRAGMA journal_size_limit = 67108864",
};

static int map_error(int extended)
{
    switch (extended) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        return TS_ERR_EXISTS;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        return TS_ERR_NOT_FOUND;
    default:
        break;
    }
    switch (extended & 0xff) {
    case SQLITE_CONSTRAINT:
        return TS_ERR_INVALID;
    case SQLITE_NOMEM:
        return TS_ERR_NOMEM;
    default:
        return TS_ERR_IO;
    }
}

int db_fail(struct db *db, const char *what)
{
    int extended = db->conn != NULL ? sqlite3_extended_errcode(db->conn) : SQLITE_NOMEM;

    db->fatal = (extended & 0xff) != SQLITE_CONSTRAINT;
    return error_set(map_error(extended), "store %s: %s: %s", db->path, what,
                     db->conn != NULL ? sqlite3_errmsg(db->conn) : sqlite3_errstr(extended));
}

/* The file holds password hashes: create it private before SQLite does
 * (its -wal and -shm files then take the same mode). */
static int create_private(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

    if (fd < 0)
        return error_set(TS_ERR_IO, "store %s: cannot create: %s", path, strerror(errno));
    if (close(fd) != 0)
        return error_set(TS_ERR_IO, "store %s: close: %s", path, strerror(errno));
    return TS_OK;
}

static int set_wal(struct db *db)
{
    sqlite3_stmt *st = NULL;
    const unsigned char *mode;
    int rc;

    if ((rc = db_stmt(db, DB_PRAGMA_WAL, &st)) != TS_OK)
        return rc;
    rc = db_step(db, st, "set WAL mode");
    if (rc == DB_ROW) {
        mode = sqlite3_column_text(st, 0);
        /* SQLite answers with the mode it ended up in, not an error. */
        rc = mode != NULL && strcmp((const char *)mode, "wal") == 0
                 ? TS_OK
                 : error_set(TS_ERR_IO, "store %s: cannot use WAL mode (journal mode %s)",
                             db->path, mode != NULL ? (const char *)mode : "unknown");
    } else if (rc == DB_DONE) {
        rc = error_set(TS_ERR_IO, "store %s: WAL mode: no answer", db->path);
    }
    db_done(st);
    return rc;
}

static int set_pragmas(struct db *db, bool sync_full)
{
    int rc;

    if ((rc = set_wal(db)) != TS_OK)
        return rc;
    if ((rc = db_exec(db, sync_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
                      "set synchronous")) != TS_OK)
        return rc;
    for (size_t i = 0; i < sizeof(rw_pragmas) / sizeof(rw_pragmas[0]); i++)
        if ((rc = db_exec(db, rw_pragmas[i], rw_pragmas[i])) != TS_OK)
            return rc;
    return TS_OK;
}

int db_open(struct db *db, const char *path, enum db_mode mode, bool sync_full)
{
    int flags = SQLITE_OPEN_NOMUTEX;
    int rc;

    memset(db, 0, sizeof(*db));
    db->path = path;
    if (mode == DB_READ_WRITE) {
        flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
        if ((rc = create_private(path)) != TS_OK)
            return rc;
    } else {
        flags |= SQLITE_OPEN_READONLY;
    }
    if (sqlite3_open_v2(path, &db->conn, flags, NULL) != SQLITE_OK) {
        rc = db_fail(db, "open");
        goto fail;
    }
    if (sqlite3_extended_result_codes(db->conn, 1) != SQLITE_OK ||
        sqlite3_busy_timeout(db->conn, DB_BUSY_TIMEOUT_MS) != SQLITE_OK) {
        rc = db_fail(db, "configure connection");
        goto fail;
    }
    if (mode == DB_READ_WRITE && (rc = set_pragmas(db, sync_full)) != TS_OK)
        goto fail;
    return TS_OK;
fail:
    db_close(db);
    return rc;
}

void db_close(struct db *db)
{
    for (size_t i = 0; i < DB_STMT_COUNT; i++) {
        /* finalize returns the statement's last error, already reported. */
        (void)sqlite3_finalize(db->stmt[i]);
        db->stmt[i] = NULL;
    }
    /* With every statement finalized, close cannot be busy. */
    (void)sqlite3_close(db->conn);
    db->conn = NULL;
}

int db_stmt(struct db *db, enum db_stmt id, sqlite3_stmt **out)
{
    if (db->stmt[id] == NULL &&
        sqlite3_prepare_v3(db->conn, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                           &db->stmt[id], NULL) != SQLITE_OK)
        return db_fail(db, "prepare statement");
    *out = db->stmt[id];
    return TS_OK;
}

int db_bind_text(struct db *db, sqlite3_stmt *st, int idx, const char *text)
{
    if (sqlite3_bind_text(st, idx, text, -1, SQLITE_STATIC) != SQLITE_OK)
        return db_fail(db, "bind text");
    return TS_OK;
}

int db_bind_blob(struct db *db, sqlite3_stmt *st, int idx, const void *p, size_t len)
{
    if (sqlite3_bind_blob64(st, idx, p, len, SQLITE_STATIC) != SQLITE_OK)
        return db_fail(db, "bind blob");
    return TS_OK;
}

int db_bind_int(struct db *db, sqlite3_stmt *st, int idx, int64_t v)
{
    if (sqlite3_bind_int64(st, idx, v) != SQLITE_OK)
        return db_fail(db, "bind integer");
    return TS_OK;
}

int db_bind_null(struct db *db, sqlite3_stmt *st, int idx)
{
    if (sqlite3_bind_null(st, idx) != SQLITE_OK)
        return db_fail(db, "bind null");
    return TS_OK;
}

int db_step(struct db *db, sqlite3_stmt *st, const char *what)
{
    switch (sqlite3_step(st)) {
    case SQLITE_ROW:
        return DB_ROW;
    case SQLITE_DONE:
        return DB_DONE;
    default:
        return db_fail(db, what);
    }
}

void db_done(sqlite3_stmt *st)
{
    if (st == NULL)
        return;
    /* reset repeats the error of the last step, which db_step reported. */
    (void)sqlite3_reset(st);
    /* Always SQLITE_OK; drops pointers to caller buffers (bound without
     * copying) so none outlives the request that owned it. */
    (void)sqlite3_clear_bindings(st);
}

int db_run(struct db *db, enum db_stmt id, const char *what)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if ((rc = db_stmt(db, id, &st)) != TS_OK)
        return rc;
    do
        rc = db_step(db, st, what);
    while (rc == DB_ROW);
    db_done(st);
    return rc;
}

int db_exec(struct db *db, const char *sql, const char *what)
{
    if (sqlite3_exec(db->conn, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(db, what);
    return TS_OK;
}

bool db_in_transaction(const struct db *db)
{
    return db->conn != NULL && sqlite3_get_autocommit(db->conn) == 0;
}

void db_abort(struct db *db)
{
    sqlite3_stmt *st = NULL;

    if (!db_in_transaction(db))
        return;
    /* Straight SQLite calls: db_fail() would replace the caller's detail. */
    if (db->stmt[DB_ROLLBACK] == NULL &&
        sqlite3_prepare_v3(db->conn, stmt_sql[DB_ROLLBACK], -1, SQLITE_PREPARE_PERSISTENT,
                           &db->stmt[DB_ROLLBACK], NULL) != SQLITE_OK) {
        LOG_ERROR("store_rollback_failed", "path=\"%s\" error=\"%s\"", db->path,
                  sqlite3_errmsg(db->conn));
        return;
    }
    st = db->stmt[DB_ROLLBACK];
    if (sqlite3_step(st) != SQLITE_DONE)
        LOG_ERROR("store_rollback_failed", "path=\"%s\" error=\"%s\"", db->path,
                  sqlite3_errmsg(db->conn));
    (void)sqlite3_reset(st);
}
