/*
 * The store's schema and its migrations (docs/store.md lists the tables).
 *
 * The table schema_version holds one row per applied migration; the
 * schema's version is the highest. Migration n turns version n-1 into n;
 * all pending migrations run in one transaction, so a database is never
 * left half-migrated.
 */
#ifndef TS_STORE_STORE_SCHEMA_H
#define TS_STORE_STORE_SCHEMA_H

#include "store/store_db.h"

/* The schema version this program writes and reads. */
#define STORE_SCHEMA_VERSION 1

/* Bring the database of a read-write connection to STORE_SCHEMA_VERSION.
 * 0; TS_ERR_VERSION when the database is newer than this program (it is
 * left untouched); TS_ERR_IO or TS_ERR_NOMEM. */
int schema_migrate(struct db *db);

/* Check, without changing anything, that the database of a read-only
 * connection is at STORE_SCHEMA_VERSION. 0; TS_ERR_MALFORMED when it is
 * not a tcpseal store; TS_ERR_VERSION when it is older (the server
 * migrates it when it next opens it) or newer; TS_ERR_IO, TS_ERR_NOMEM. */
int schema_check(struct db *db);

#endif /* TS_STORE_STORE_SCHEMA_H */
