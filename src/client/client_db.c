/*
 * The client's store file: opening, pragmas, schema, statements, meta
 * values (client_db.h).
 */
#include "client/client_db.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tcpseal/error.h>

#include "client/state_file.h"
#include "util/error.h"

struct client_db {
    sqlite3 *conn;
    char *path;
    sqlite3_stmt *stmts[SQL_COUNT_];
};

static const char *const sql_text[SQL_COUNT_] = {
    [SQL_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [SQL_META_SET] = "INSERT INTO meta(key, value) VALUES (?1, ?2) "
                     "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    [SQL_OUTBOX_PUT] = "INSERT INTO outbox(id, flags, created_ms, payload, type, sender, "
                       "recipient, content_type) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [SQL_OUTBOX_DELETE] = "DELETE FROM outbox WHERE id = ?1",
    [SQL_OUTBOX_LOAD] = "SELECT id, flags, created_ms, payload, type, sender, recipient, "
                        "content_type FROM outbox ORDER BY id",
    [SQL_INBOX_ADD] = "INSERT INTO inbox(received_ms, envelope, verified) "
                      "VALUES (?1, ?2, ?3)",
    [SQL_INBOX_COUNT] = "SELECT count(*) FROM inbox",
    /* Keep the newest ?1 rows. */
    [SQL_INBOX_TRIM] = "DELETE FROM inbox WHERE seq <= "
                       "(SELECT seq FROM inbox ORDER BY seq DESC LIMIT 1 OFFSET ?1)",
    /* The newest ?1 rows, oldest first. */
    [SQL_INBOX_LIST] = "SELECT received_ms, envelope, verified FROM "
                       "(SELECT seq, received_ms, envelope, verified FROM inbox "
                       "ORDER BY seq DESC LIMIT ?1) ORDER BY seq",
};

/* Version 1, created in one transaction. */
static const char schema_v1[] =
    "CREATE TABLE schema_version(version INTEGER NOT NULL);"
    "INSERT INTO schema_version(version) VALUES (1);"
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "CREATE TABLE outbox(id INTEGER PRIMARY KEY, flags INTEGER NOT NULL,"
    " created_ms INTEGER NOT NULL, payload BLOB NOT NULL);"
    "CREATE TABLE inbox(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " received_ms INTEGER NOT NULL, envelope BLOB NOT NULL, verified INTEGER NOT NULL);";

/* Version 2: the outbox holds Commands and Chat messages too (type, and
 * the envelope fields a Chat needs; NULL means the default). */
static const char schema_v2[] =
    "ALTER TABLE outbox ADD COLUMN type INTEGER NOT NULL DEFAULT 1;"
    "ALTER TABLE outbox ADD COLUMN sender TEXT;"
    "ALTER TABLE outbox ADD COLUMN recipient TEXT;"
    "ALTER TABLE outbox ADD COLUMN content_type TEXT;"
    "UPDATE schema_version SET version = 2;";

int client_db_fail(struct client_db *db, const char *what)
{
    int code = sqlite3_errcode(db->conn);

    if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
        return error_set(TS_ERR_IO, "%s is in use by another client (cannot %s)", db->path,
                         what);
    return error_set(TS_ERR_IO, "%s: cannot %s: %s", db->path, what,
                     sqlite3_errmsg(db->conn));
}

static int exec(struct client_db *db, const char *sql, const char *what)
{
    if (sqlite3_exec(db->conn, sql, NULL, NULL, NULL) != SQLITE_OK)
        return client_db_fail(db, what);
    return TS_OK;
}

/* SQLite creates files with the process umask; the store is private. */
static int create_private(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, STATE_FILE_MODE);

    if (fd < 0)
        return error_set(TS_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    close(fd);
    return TS_OK;
}

/* Exclusive locking is set before the first access, so the WAL index
 * lives in this process's memory and the lock is taken by the first
 * write (the schema check below) and kept until close. */
static int pragmas(struct client_db *db)
{
    int rc;

    sqlite3_busy_timeout(db->conn, CLIENT_DB_BUSY_MS);
    if ((rc = exec(db, "PRAGMA locking_mode = EXCLUSIVE", "set the locking mode")) != TS_OK ||
        (rc = exec(db, "PRAGMA journal_mode = WAL", "switch to WAL")) != TS_OK ||
        (rc = exec(db, "PRAGMA synchronous = NORMAL", "set synchronous")) != TS_OK ||
        (rc = exec(db, "PRAGMA secure_delete = ON", "set secure_delete")) != TS_OK)
        return rc;
    return TS_OK;
}

static int schema_version(struct client_db *db, int *version)
{
    sqlite3_stmt *st = NULL;
    int rc;

    *version = 0;
    rc = sqlite3_prepare_v2(db->conn,
                            "SELECT count(*) FROM sqlite_master WHERE name = 'schema_version'",
                            -1, &st, NULL);
    if (rc != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW)
        goto fail;
    if (sqlite3_column_int(st, 0) == 0) {
        sqlite3_finalize(st);
        return TS_OK;
    }
    sqlite3_finalize(st);
    st = NULL;
    rc = sqlite3_prepare_v2(db->conn, "SELECT max(version) FROM schema_version", -1, &st,
                            NULL);
    if (rc != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW)
        goto fail;
    *version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return TS_OK;
fail:
    sqlite3_finalize(st);
    return client_db_fail(db, "read the schema version");
}

static int schema(struct client_db *db)
{
    int version, rc;

    /* BEGIN IMMEDIATE takes the write lock: with exclusive locking it is
     * kept, so another client on this file fails here. */
    if (sqlite3_exec(db->conn, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return client_db_fail(db, "lock it");
    if ((rc = schema_version(db, &version)) != TS_OK)
        goto fail;
    if (version > CLIENT_DB_SCHEMA_VERSION) {
        rc = error_set(TS_ERR_VERSION, "%s has schema version %d; this tcpseal reads up to %d",
                       db->path, version, CLIENT_DB_SCHEMA_VERSION);
        goto fail;
    }
    if (version == 0 && (rc = exec(db, schema_v1, "create the tables")) != TS_OK)
        goto fail;
    if (version < 2 && (rc = exec(db, schema_v2, "upgrade the tables")) != TS_OK)
        goto fail;
    return exec(db, "COMMIT", "create the tables");
fail:
    client_db_rollback(db);
    return rc;
}

int client_db_open(struct client_db **out, const char *path)
{
    struct client_db *db;
    int rc;

    *out = NULL;
    if ((db = calloc(1, sizeof(*db))) == NULL || (db->path = strdup(path)) == NULL) {
        free(db);
        return error_set(TS_ERR_NOMEM, "out of memory");
    }
    if ((rc = create_private(path)) != TS_OK)
        goto fail;
    if (sqlite3_open_v2(path, &db->conn,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
                        NULL) != SQLITE_OK) {
        rc = db->conn != NULL ? client_db_fail(db, "open it")
                              : error_set(TS_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if ((rc = pragmas(db)) != TS_OK || (rc = schema(db)) != TS_OK)
        goto fail;
    *out = db;
    return TS_OK;
fail:
    client_db_close(db);
    return rc;
}

void client_db_close(struct client_db *db)
{
    if (db == NULL)
        return;
    for (size_t i = 0; i < SQL_COUNT_; i++)
        sqlite3_finalize(db->stmts[i]);
    sqlite3_close(db->conn);
    free(db->path);
    free(db);
}

int client_db_stmt(struct client_db *db, enum client_db_sql which, sqlite3_stmt **out)
{
    sqlite3_stmt **st = &db->stmts[which];

    if (*st == NULL &&
        sqlite3_prepare_v3(db->conn, sql_text[which], -1, SQLITE_PREPARE_PERSISTENT, st,
                           NULL) != SQLITE_OK)
        return client_db_fail(db, "prepare a statement");
    sqlite3_reset(*st);
    sqlite3_clear_bindings(*st);
    *out = *st;
    return TS_OK;
}

int client_db_meta_get(struct client_db *db, const char *key, uint64_t *value)
{
    sqlite3_stmt *st;
    int rc;

    *value = 0;
    if ((rc = client_db_stmt(db, SQL_META_GET, &st)) != TS_OK)
        return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *value = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return client_db_fail(db, "read the state");
    return TS_OK;
}

int client_db_meta_set(struct client_db *db, const char *key, uint64_t value)
{
    sqlite3_stmt *st;
    int rc;

    if (value > INT64_MAX)
        return error_set(TS_ERR_INVALID, "value %llu does not fit the store",
                         (unsigned long long)value);
    if ((rc = client_db_stmt(db, SQL_META_SET, &st)) != TS_OK)
        return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)value);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? TS_OK : client_db_fail(db, "save the state");
}

int client_db_begin(struct client_db *db)
{
    return exec(db, "BEGIN IMMEDIATE", "begin a transaction");
}

int client_db_commit(struct client_db *db)
{
    int rc = exec(db, "COMMIT", "commit");

    if (rc != TS_OK)
        client_db_rollback(db);
    return rc;
}

void client_db_rollback(struct client_db *db)
{
    if (!sqlite3_get_autocommit(db->conn))
        (void)sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
}
