/*
 * The store: users, their device keys, rooms, and every accepted chat or
 * direct message with a tamper-evident hash chain, plus the offline queue
 * of direct messages for users with no device online.
 *
 * This header is the interface the service code uses; an implementation
 * is a `struct store_ops` table. SQLite (store_sqlite.c) is the embedded
 * default; a PostgreSQL implementation can be added behind the same table
 * without touching the service.
 *
 * Threads and calls. Event-loop threads must never wait on storage, so the
 * interface is asynchronous: every call queues a request and returns at
 * once; its completion callback runs later on one of the store's own
 * threads (never on the caller's), and must only hand the result back
 * (e.g. post to a mailbox). Writes go to a single writer thread that
 * groups queued writes into one transaction and calls each completion only
 * after that transaction committed, so an acknowledgement sent from a
 * completion is durable. Reads run on a small pool of reader threads with
 * their own connections. The *_sync functions at the end are for
 * command-line tools working on a store file directly.
 *
 * Ownership: requests copy what they are given; results passed to a
 * completion are valid only during the call.
 */
#ifndef TS_STORE_STORE_H
#define TS_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tcpseal/common.h>
#include <tcpseal/envelope.h>

#define STORE_NAME_MAX 64          /* user and room names, in bytes */
#define STORE_PWHASH_MAX 128       /* an Argon2id encoded hash string */
#define STORE_CHAIN_LEN 32         /* BLAKE2b-256 */
#define STORE_MAX_KEYS_PER_USER 16

typedef struct store store;

struct store_options {
    const char *path;              /* database file */
    bool synchronous_full;         /* true (default): fsync every commit */
    unsigned max_batch;            /* most writes per transaction; 0 = 1024 */
    unsigned readers;              /* reader threads; 0 = 2 */
};

struct store_user {
    int64_t id;
    char name[STORE_NAME_MAX + 1];
    char password_hash[STORE_PWHASH_MAX + 1];
    bool locked;
    uint64_t created_ms;
    unsigned n_keys;
    uint8_t keys[STORE_MAX_KEYS_PER_USER][TS_PUBLIC_KEY_LEN];
};

/* A message to append. The envelope bytes are stored exactly as the
 * sender encoded and signed them, so anyone can re-verify them later. */
struct store_message {
    const char *room;              /* room name, or NULL for a direct message */
    const char *recipient;         /* user name for a direct message, else NULL */
    const char *sender;            /* user name */
    uint8_t sender_key[TS_PUBLIC_KEY_LEN]; /* device key that sent it */
    uint64_t sender_seq;           /* the envelope id */
    const uint8_t *envelope;
    size_t envelope_len;
    uint8_t hash[TS_ENVELOPE_HASH_LEN];    /* the envelope's hash */
    /* Direct messages: users to queue it for (no device online), or 0. */
    const int64_t *offline_for;
    size_t n_offline_for;
};

/* A stored message as read back. */
struct store_row {
    int64_t id;                    /* position in the history, from 1 */
    uint64_t stored_ms;
    const char *room;              /* "" for direct */
    const char *recipient;         /* "" for room messages */
    const char *sender;
    const uint8_t *sender_key;
    uint64_t sender_seq;
    const uint8_t *envelope;
    size_t envelope_len;
    const uint8_t *hash;
    const uint8_t *chain;
};

/* Completion of a write. rc 0 or an error; for appends, `row` describes
 * the stored message (on TS_ERR_DUPLICATE: the original one, so the
 * caller can repeat the original acknowledgement). */
typedef void (*store_write_done)(void *ctx, int rc, const struct store_row *row);

/* Completion of a user lookup: rc 0, TS_ERR_NOT_FOUND or an error. */
typedef void (*store_user_done)(void *ctx, int rc, const struct store_user *user);

/* Rows of a read, oldest first, then a final call with row NULL and the
 * overall rc. */
typedef void (*store_rows_done)(void *ctx, int rc, const struct store_row *row);

/* Users for a listing, then a final call with user NULL. */
typedef void (*store_users_done)(void *ctx, int rc, const struct store_user *user);

struct store_ops {
    const char *name;

    /* Writes (writer thread, grouped, completion after commit). */
    int (*append)(store *s, const struct store_message *m, store_write_done done, void *ctx);
    /* TS_ERR_EXISTS when the name is taken. key may be NULL. */
    int (*user_create)(store *s, const char *name, const char *password_hash,
                       const uint8_t *key, store_write_done done, void *ctx);
    int (*user_delete)(store *s, const char *name, store_write_done done, void *ctx);
    int (*user_set_password)(store *s, const char *name, const char *password_hash,
                             store_write_done done, void *ctx);
    int (*user_set_locked)(store *s, const char *name, bool locked,
                           store_write_done done, void *ctx);
    /* Bind a device key to a user (TS_ERR_EXISTS when bound to another
     * user; TS_ERR_LIMIT past STORE_MAX_KEYS_PER_USER); unbind removes it. */
    int (*key_bind)(store *s, const char *name, const uint8_t key[TS_PUBLIC_KEY_LEN],
                    store_write_done done, void *ctx);
    int (*key_unbind)(store *s, const uint8_t key[TS_PUBLIC_KEY_LEN],
                      store_write_done done, void *ctx);
    /* Remove a user's queued offline messages up to and including id. */
    int (*offline_ack)(store *s, int64_t user_id, int64_t up_to_id,
                       store_write_done done, void *ctx);

    /* Reads (reader threads). */
    int (*user_by_name)(store *s, const char *name, store_user_done done, void *ctx);
    int (*user_by_key)(store *s, const uint8_t key[TS_PUBLIC_KEY_LEN],
                       store_user_done done, void *ctx);
    int (*users)(store *s, store_users_done done, void *ctx);
    /* Up to limit messages of room with id < before_id (0 = newest). */
    int (*history)(store *s, const char *room, int64_t before_id, unsigned limit,
                   store_rows_done done, void *ctx);
    /* Direct messages queued for user_id, oldest first. */
    int (*offline)(store *s, int64_t user_id, unsigned limit, store_rows_done done,
                   void *ctx);

    void (*close)(store *s);
};

struct store {
    const struct store_ops *ops;
};

/* Open (creating and migrating as needed) the SQLite store. 0, TS_ERR_IO
 * (detail: path and SQLite's message), TS_ERR_VERSION (schema newer than
 * this program), TS_ERR_NOMEM. */
int store_sqlite_open(store **out, const struct store_options *opts);

/* Stop the store's threads after finishing queued writes, and free it. */
static inline void store_close(store *s)
{
    if (s != NULL)
        s->ops->close(s);
}

/* The hash chain (docs/store.md): chain(n) = BLAKE2b-256(chain(n-1) ||
 * hash(n)), chain(0) = 32 zero bytes. */
void store_chain_next(const uint8_t prev[STORE_CHAIN_LEN],
                      const uint8_t hash[TS_ENVELOPE_HASH_LEN],
                      uint8_t out[STORE_CHAIN_LEN]);

/* ---- direct, synchronous access for tools (tcp_server verify-db,
 * history, users) on a store file, while the server runs or not ---- */

/* What verification found: ok, or the first row that does not match and
 * why ("hash", "signature", "chain", "envelope", "sender key"). */
struct store_verify_result {
    bool ok;
    uint64_t rows;
    int64_t bad_row;
    char problem[160];
    /* The chain value after the last row checked. Recorded elsewhere and
     * compared later, it also reveals rows removed from the end, which
     * the chain alone cannot. */
    uint8_t head[STORE_CHAIN_LEN];
};

int store_verify_sync(const char *path, struct store_verify_result *out);

/* Rows of a room ("" = every message), newest `limit` (0 = all), in order,
 * through cb; stops early when cb returns non-zero. */
int store_history_sync(const char *path, const char *room, unsigned limit,
                       int (*cb)(void *ctx, const struct store_row *row), void *ctx);

#endif /* TS_STORE_STORE_H */
