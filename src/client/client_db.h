/*
 * The client's store file (the agent's agent.db): outbox, inbox and a
 * little state, in SQLite.
 *
 *     schema_version(version)                  one row: CLIENT_DB_SCHEMA_VERSION
 *     meta(key TEXT PRIMARY KEY, value)        "last_id": the last id numbered
 *                                              without a sequence file
 *     outbox(id PRIMARY KEY, flags, created_ms, payload, type, sender,
 *            recipient, content_type)         (version 2 added the last four)
 *     inbox(seq INTEGER PRIMARY KEY AUTOINCREMENT, received_ms, envelope, verified)
 *
 * The outbox holds what to send (payload, flags, id), never sealed bytes:
 * every attempt seals anew with a fresh timestamp. The inbox holds
 * received envelopes in their canonical encoding.
 *
 * Durability: WAL journal with synchronous=NORMAL. A committed row is in
 * the WAL file before the call returns, so it survives the process being
 * killed at any point; only a crash of the whole machine (power loss) may
 * lose the last commits. The file is opened in exclusive locking mode: a
 * second process (or client) opening it gets TS_ERR_IO, which keeps two
 * clients from sending one outbox.
 *
 * Statements are prepared once per connection. A client_db is used by one
 * thread at a time (the client serialises calls under its lock). Every
 * error is TS_ERR_IO (or TS_ERR_NOMEM, TS_ERR_VERSION) with a detail that
 * names the file and SQLite's message.
 */
#ifndef TS_CLIENT_CLIENT_DB_H
#define TS_CLIENT_CLIENT_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#define CLIENT_DB_SCHEMA_VERSION 2
/* How long a call waits for a lock held by a reader before failing. */
#define CLIENT_DB_BUSY_MS 200

struct client_db;

/* The prepared statements, for outbox_store.c and inbox.c. */
enum client_db_sql {
    SQL_META_GET,
    SQL_META_SET,
    SQL_OUTBOX_PUT,
    SQL_OUTBOX_DELETE,
    SQL_OUTBOX_LOAD,
    SQL_INBOX_ADD,
    SQL_INBOX_COUNT,
    SQL_INBOX_TRIM,
    SQL_INBOX_LIST,
    SQL_COUNT_
};

/*
 * Open (creating, mode 0600) the store file at path and bring its schema
 * to CLIENT_DB_SCHEMA_VERSION. Errors: TS_ERR_IO (cannot open, in use by
 * another client, damaged), TS_ERR_VERSION (written by a newer version),
 * TS_ERR_NOMEM.
 */
int client_db_open(struct client_db **out, const char *path);

/* Finalise statements and close. NULL is ignored. */
void client_db_close(struct client_db *db);

/* A prepared statement, reset and with its bindings cleared. */
int client_db_stmt(struct client_db *db, enum client_db_sql which, sqlite3_stmt **out);

/* Turn SQLite's error on db into TS_ERR_IO with a detail naming what was
 * being done ("add to the outbox"). */
int client_db_fail(struct client_db *db, const char *what);

/* The value stored under key in meta (0 when absent). */
int client_db_meta_get(struct client_db *db, const char *key, uint64_t *value);
int client_db_meta_set(struct client_db *db, const char *key, uint64_t value);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK (rollback never fails the caller). */
int client_db_begin(struct client_db *db);
int client_db_commit(struct client_db *db);
void client_db_rollback(struct client_db *db);

#endif /* TS_CLIENT_CLIENT_DB_H */
