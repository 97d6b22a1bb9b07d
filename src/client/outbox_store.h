/*
 * Outbox rows in the client's store file (client_db.h): one row per
 * message waiting for its answer, keyed by its id.
 */
#ifndef TS_CLIENT_OUTBOX_STORE_H
#define TS_CLIENT_OUTBOX_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <tcpseal/client.h>

struct client_db;

/* Add a row (committed when this returns, unless a transaction is open).
 * 0, TS_ERR_EXISTS (the id is there already), TS_ERR_INVALID (id over
 * INT64_MAX) or TS_ERR_IO. */
int outbox_store_put(struct client_db *db, uint64_t id, unsigned flags,
                     uint64_t created_ms, const void *payload, size_t len);

/* Add a row for any message (ts_client_outgoing: type, strings, flags,
 * payload); errors as outbox_store_put(). */
int outbox_store_put_message(struct client_db *db, uint64_t id,
                             const ts_client_outgoing *m, uint64_t created_ms);

/* Remove the row of id (none is not an error). 0 or TS_ERR_IO. */
int outbox_store_delete(struct client_db *db, uint64_t id);

/* One loaded row: the message (its strings and payload valid during the
 * call). A non-zero return stops the load with that code. */
typedef int (*outbox_store_row_fn)(void *arg, uint64_t id, const ts_client_outgoing *m,
                                   uint64_t created_ms);

/* Every row in ascending id order. 0, the callback's code or TS_ERR_IO. */
int outbox_store_load(struct client_db *db, outbox_store_row_fn fn, void *arg);

#endif /* TS_CLIENT_OUTBOX_STORE_H */
