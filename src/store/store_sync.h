/*
 * Direct access for command-line tools (store_verify_sync(),
 * store_history_sync()): a read-only connection on a store file, safe
 * while the server writes to it, since WAL readers see a consistent
 * snapshot and never block the writer.
 */
#ifndef TS_STORE_STORE_SYNC_H
#define TS_STORE_STORE_SYNC_H

#include "store/store_db.h"

/* Open path read-only and check its schema version. 0, TS_ERR_NOT_FOUND
 * (no such file), TS_ERR_MALFORMED (not a tcpseal store), TS_ERR_VERSION,
 * TS_ERR_IO or TS_ERR_NOMEM; on failure *db is closed. */
int sync_open(struct db *db, const char *path);

#endif /* TS_STORE_STORE_SYNC_H */
