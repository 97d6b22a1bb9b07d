/*
 * Outbox rows (outbox_store.h).
 */
#include "client/outbox_store.h"

#include <string.h>

#include <tcpseal/error.h>

#include "client/client_db.h"
#include "util/error.h"

/* NULL stays NULL in the row: the default is applied when sealing. */
static void bind_text_or_null(sqlite3_stmt *st, int col, const char *text)
{
    if (text != NULL)
        sqlite3_bind_text(st, col, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, col);
}

int outbox_store_put_message(struct client_db *db, uint64_t id,
                             const ts_client_outgoing *m, uint64_t created_ms)
{
    sqlite3_stmt *st;
    int rc;

    if (id == 0 || id > INT64_MAX)
        return error_set(TS_ERR_INVALID, "message id %llu does not fit the outbox",
                         (unsigned long long)id);
    if ((rc = client_db_stmt(db, SQL_OUTBOX_PUT, &st)) != TS_OK)
        return rc;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)m->flags);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)created_ms);
    /* A zero-length blob must still be a blob, not NULL. */
    sqlite3_bind_blob64(st, 4, m->len > 0 ? m->payload : "", m->len, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, (int)m->type);
    bind_text_or_null(st, 6, m->sender);
    bind_text_or_null(st, 7, m->recipient);
    bind_text_or_null(st, 8, m->content_type);
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

int outbox_store_put(struct client_db *db, uint64_t id, unsigned flags,
                     uint64_t created_ms, const void *payload, size_t len)
{
    ts_client_outgoing m = {
        .type = TS_MSG_REQUEST, .flags = flags, .payload = payload, .len = len,
    };

    return outbox_store_put_message(db, id, &m, created_ms);
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

/* The row under the cursor as a message; false when it is damaged. */
static bool row_message(sqlite3_stmt *st, ts_client_outgoing *m, sqlite3_int64 *id,
                        sqlite3_int64 *created)
{
    sqlite3_int64 flags = sqlite3_column_int64(st, 1);
    int len = sqlite3_column_bytes(st, 3);
    int type = sqlite3_column_int(st, 4);

    *id = sqlite3_column_int64(st, 0);
    *created = sqlite3_column_int64(st, 2);
    memset(m, 0, sizeof(*m));
    m->payload = sqlite3_column_blob(st, 3);
    m->len = len > 0 ? (size_t)len : 0;
    m->flags = (unsigned)flags;
    m->type = (ts_msg_type)type;
    m->sender = (const char *)sqlite3_column_text(st, 5);
    m->recipient = (const char *)sqlite3_column_text(st, 6);
    m->content_type = (const char *)sqlite3_column_text(st, 7);
    return *id > 0 && flags >= 0 && *created >= 0 && len >= 0 &&
           (type == TS_MSG_REQUEST || type == TS_MSG_COMMAND || type == TS_MSG_CHAT);
}

int outbox_store_load(struct client_db *db, outbox_store_row_fn fn, void *arg)
{
    ts_client_outgoing m;
    sqlite3_int64 id, created;
    sqlite3_stmt *st;
    int rc, step;

    if ((rc = client_db_stmt(db, SQL_OUTBOX_LOAD, &st)) != TS_OK)
        return rc;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (!row_message(st, &m, &id, &created)) {
            sqlite3_reset(st);
            return error_set(TS_ERR_IO, "the outbox holds a damaged row (id %lld)",
                             (long long)id);
        }
        rc = fn(arg, (uint64_t)id, &m, (uint64_t)created);
        if (rc != TS_OK) {
            sqlite3_reset(st);
            return rc;
        }
    }
    rc = step == SQLITE_DONE ? TS_OK : client_db_fail(db, "read the outbox");
    sqlite3_reset(st);
    return rc;
}
