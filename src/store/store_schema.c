#include "store/store_schema.h"

#include <inttypes.h>

#include "util/clock.h"
#include "util/error.h"

/* Created before anything else, so every later version can read it. */
static const char version_table_sql[] =
    "CREATE TABLE IF NOT EXISTS schema_version ("
    " version INTEGER PRIMARY KEY,"
    " applied_ms INTEGER NOT NULL"
    ") STRICT";

/* Version 1: users and their device keys, rooms, messages with their hash
 * chain, the offline queue. STRICT tables refuse values of the wrong type,
 * so a blob column never silently holds text. Message rows have no foreign
 * keys: the history outlives the users and rooms it mentions. */
static const char migration_1[] =
    "CREATE TABLE users ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " password_hash TEXT,"
    " locked INTEGER NOT NULL DEFAULT 0 CHECK (locked IN (0, 1)),"
    " created_ms INTEGER NOT NULL"
    ") STRICT;"
    "CREATE TABLE device_keys ("
    " public_key BLOB PRIMARY KEY CHECK (length(public_key) = 32),"
    " user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,"
    " bound_ms INTEGER NOT NULL"
    ") STRICT;"
    "CREATE INDEX device_keys_user ON device_keys (user_id);"
    "CREATE TABLE rooms ("
    " name TEXT PRIMARY KEY,"
    " created_ms INTEGER NOT NULL"
    ") STRICT;"
    "CREATE TABLE messages ("
    " id INTEGER PRIMARY KEY,"
    " stored_ms INTEGER NOT NULL,"
    " room TEXT,"
    " recipient TEXT,"
    " sender TEXT NOT NULL,"
    " sender_key BLOB NOT NULL,"
    " sender_seq INTEGER NOT NULL,"
    " envelope BLOB NOT NULL,"
    " hash BLOB NOT NULL,"
    " chain BLOB NOT NULL,"
    " UNIQUE (sender_key, sender_seq)"
    ") STRICT;"
    "CREATE INDEX messages_room ON messages (room) WHERE room IS NOT NULL;"
    "CREATE INDEX messages_recipient ON messages (recipient) WHERE recipient IS NOT NULL;"
    "CREATE TABLE offline ("
    " user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,"
    " message_id INTEGER NOT NULL REFERENCES messages (id),"
    " PRIMARY KEY (user_id, message_id)"
    ") STRICT, WITHOUT ROWID;";

/* migrations[n - 1] turns version n - 1 into version n. */
static const char *const migrations[STORE_SCHEMA_VERSION] = {
    migration_1,
};

static int read_int(struct db *db, enum db_stmt id, const char *what, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if ((rc = db_stmt(db, id, &st)) != TS_OK)
        return rc;
    rc = db_step(db, st, what);
    if (rc == DB_ROW) {
        *out = sqlite3_column_int64(st, 0);
        rc = TS_OK;
    } else if (rc == DB_DONE) {
        rc = error_set(TS_ERR_IO, "store %s: %s: no result", db->path, what);
    }
    db_done(st);
    return rc;
}

static int record_version(struct db *db, int64_t version)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if ((rc = db_stmt(db, DB_VERSION_SET, &st)) != TS_OK)
        return rc;
    if ((rc = db_bind_int(db, st, 1, version)) == TS_OK &&
        (rc = db_bind_int(db, st, 2, db_from_u64(clock_wall_ms()))) == TS_OK)
        rc = db_step(db, st, "record schema version");
    db_done(st);
    return rc;
}

static int too_new(struct db *db, int64_t version)
{
    return error_set(TS_ERR_VERSION,
                     "store %s: schema version %" PRId64 " is newer than this program "
                     "knows (%d); use a newer tcpseal",
                     db->path, version, STORE_SCHEMA_VERSION);
}

static int apply_pending(struct db *db)
{
    int64_t version;
    int rc;

    if ((rc = db_exec(db, version_table_sql, "create schema_version")) != TS_OK ||
        (rc = read_int(db, DB_VERSION_GET, "read schema version", &version)) != TS_OK)
        return rc;
    if (version > STORE_SCHEMA_VERSION)
        return too_new(db, version);
    for (int64_t v = version + 1; v <= STORE_SCHEMA_VERSION; v++) {
        if ((rc = db_exec(db, migrations[v - 1], "migrate schema")) != TS_OK ||
            (rc = record_version(db, v)) != TS_OK)
            return rc;
    }
    return TS_OK;
}

int schema_migrate(struct db *db)
{
    int rc;

    /* IMMEDIATE: two processes opening a new file migrate one at a time. */
    if ((rc = db_run(db, DB_BEGIN_IMMEDIATE, "begin migration")) != TS_OK)
        return rc;
    if ((rc = apply_pending(db)) != TS_OK)
        goto fail;
    if ((rc = db_run(db, DB_COMMIT, "commit migration")) != TS_OK)
        goto fail;
    return TS_OK;
fail:
    db_abort(db);
    return rc;
}

int schema_check(struct db *db)
{
    int64_t tables, version;
    int rc;

    if ((rc = read_int(db, DB_VERSION_TABLE, "read schema", &tables)) != TS_OK)
        return rc;
    if (tables == 0)
        return error_set(TS_ERR_MALFORMED, "store %s: not a tcpseal store (no schema_version)",
                         db->path);
    if ((rc = read_int(db, DB_VERSION_GET, "read schema version", &version)) != TS_OK)
        return rc;
    if (version > STORE_SCHEMA_VERSION)
        return too_new(db, version);
    if (version < STORE_SCHEMA_VERSION)
        return error_set(TS_ERR_VERSION,
                         "store %s: schema version %" PRId64 " is older than %d; start the "
                         "server once to migrate it",
                         db->path, version, STORE_SCHEMA_VERSION);
    return TS_OK;
}
