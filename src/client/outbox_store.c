/*
 * Outbox rows (outbox_store.h).
 */
#include "client/outbox_store.h"

#include <tcpseal/error.h>

#include "client/client_db.h"
#include "util/error.h"

int outbox_store_put(struct client_db *db, uint64_t id, unsigned flags,
                     uint64_t created_ms, const void *payload, size_t len)
{
    sqlite3_stmt *st;
    int rc;

    if (id == 0 || id > INT64_MAX)
        return error_set(TS_ERR_INVALID, "message id %llu does not fit the outbox",
                         (unsigned long long)id);
    if ((rc = client_db_stmt(db, SQL_OUTBOX_PUT, &st)) != TS_OK)
        return rc;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)flags);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)created_ms);
    /* A zero-length blob must still be a blob, not NULL. */
    sqlite3_bind_blob64(st, 4, len > 0 ? payload : "", len, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_CONSTRAINT) {
        sqlite3_reset(st);
        return error_set(TS_ERR_EXISTS, "message %llu is in the outbox already",
                         (unsigned long long)id);
    }
    rc = rc == SQLITE_DONE ? TS_OK : client_db_fail(db, "add to the outbox");
    sqlite3_reset(st);
    return rc;
}

int outbox_store_delete(struct client_db *db, uint64_t id)
{
    sqlite3_stmt *st;
    int rc;

    if (id > INT64_MAX)
        return TS_OK; /* never stored */
    if ((rc = client_db_stmt(db, SQL_OUTBOX_DELETE, &st)) != TS_OK)
        return rc;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
    rc = sqlite3_step(st) == SQLITE_DONE ? TS_OK : client_db_fail(db, "remove from the outbox");
    sqlite3_reset(st);
    return rc;
}

int outbox_store_load(struct client_db *db, outbox_store_row_fn fn, void *arg)
{
    sqlite3_stmt *st;
    int rc, step;

    if ((rc = client_db_stmt(db, SQL_OUTBOX_LOAD, &st)) != TS_OK)
        return rc;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        sqlite3_int64 id = sqlite3_column_int64(st, 0);
        sqlite3_int64 flags = sqlite3_column_int64(st, 1);
        sqlite3_int64 created = sqlite3_column_int64(st, 2);
        const void *payload = sqlite3_column_blob(st, 3);
        int len = sqlite3_column_bytes(st, 3);

        if (id <= 0 || flags < 0 || created < 0 || len < 0) {
            sqlite3_reset(st);
            return error_set(TS_ERR_IO, "the outbox holds a damaged row (id %lld)",
                             (long long)id);
        }
        rc = fn(arg, (uint64_t)id, (unsigned)flags, (uint64_t)created, payload, (size_t)len);
        if (rc != TS_OK) {
            sqlite3_reset(st);
            return rc;
        }
    }
    rc = step == SQLITE_DONE ? TS_OK : client_db_fail(db, "read the outbox");
    sqlite3_reset(st);
    return rc;
}
