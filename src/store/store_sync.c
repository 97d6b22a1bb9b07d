#include "store/store_sync.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "store/store.h"
#include "store/store_rows.h"
#include "store/store_schema.h"
#include "util/error.h"

int sync_open(struct db *db, const char *path)
{
    struct stat st;
    int rc;

    memset(db, 0, sizeof(*db));
    if (path == NULL || path[0] == '\0')
        return error_set(TS_ERR_INVALID, "store: no database path");
    /* A read-only open of a missing file fails with a vaguer message. */
    if (stat(path, &st) != 0)
        return error_set(errno == ENOENT ? TS_ERR_NOT_FOUND : TS_ERR_IO, "store %s: %s", path,
                         strerror(errno));
    if ((rc = db_open(db, path, DB_READ_ONLY, false)) != TS_OK)
        return rc;
    if ((rc = schema_check(db)) != TS_OK)
        db_close(db);
    return rc;
}

int store_history_sync(const char *path, const char *room, unsigned limit,
                       int (*cb)(void *ctx, const struct store_row *row), void *ctx)
{
    struct db db;
    int rc;

    if (cb == NULL)
        return error_set(TS_ERR_INVALID, "store: history needs a callback");
    if (room != NULL && strnlen(room, STORE_NAME_MAX + 1) > STORE_NAME_MAX)
        return error_set(TS_ERR_TOO_LARGE, "store: room name is longer than %d bytes",
                         STORE_NAME_MAX);
    if ((rc = sync_open(&db, path)) != TS_OK)
        return rc;
    rc = rows_history(&db, room, 0, limit, cb, ctx);
    db_close(&db);
    return rc;
}
