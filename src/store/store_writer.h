/*
 * The store's writer: one thread, one read-write connection, a queue of
 * write requests.
 *
 * Group commit: the thread takes everything queued (up to max_batch
 * requests), applies it inside one BEGIN IMMEDIATE ... COMMIT, and only
 * after the commit returned calls each request's completion, in queue
 * order. While it waits for the disk, new requests gather for the next
 * batch, so one fsync covers many messages and the rate grows with the
 * load instead of being bounded by the disk's sync latency.
 *
 * Failures: a request that fails on its own (unknown user, name taken, a
 * duplicate message) is rolled back to its savepoint and completes with
 * its error while the rest of the batch commits. Any other failure (I/O,
 * disk full, a failed commit) rolls the whole batch back and completes
 * every request in it with that error; nothing of it was stored.
 */
#ifndef TS_STORE_STORE_WRITER_H
#define TS_STORE_STORE_WRITER_H

#include <pthread.h>
#include <stdbool.h>

#include "store/store.h"
#include "store/store_db.h"

/* Requests a writer holds before refusing more with TS_ERR_LIMIT, so a
 * stalled disk cannot make the server's memory grow without bound. */
#define WRITER_QUEUE_MAX 65536u
/* Batch size when the options give 0. */
#define WRITER_DEFAULT_BATCH 1024u

enum write_kind {
    WRITE_APPEND,
    WRITE_USER_CREATE,
    WRITE_USER_DELETE,
    WRITE_USER_PASSWORD,
    WRITE_USER_LOCKED,
    WRITE_KEY_BIND,
    WRITE_KEY_UNBIND,
    WRITE_OFFLINE_ACK,
};

/* A message to append, copied from struct store_message; after a
 * successful apply it describes the stored row, and after a duplicate the
 * original row. */
struct write_append {
    char room[STORE_NAME_MAX + 1];      /* "" for a direct message */
    char recipient[STORE_NAME_MAX + 1]; /* "" for a room message */
    char sender[STORE_NAME_MAX + 1];
    uint8_t sender_key[TS_PUBLIC_KEY_LEN];
    uint64_t sender_seq;
    uint8_t *envelope; /* owned */
    size_t envelope_len;
    uint8_t hash[TS_ENVELOPE_HASH_LEN];
    int64_t *offline_for; /* owned; NULL when n_offline_for is 0 */
    size_t n_offline_for;
    /* Set by the writer. */
    int64_t id;
    uint64_t stored_ms;
    uint8_t chain[STORE_CHAIN_LEN];
};

/* Arguments of the user and key requests. */
struct write_user {
    char name[STORE_NAME_MAX + 1];
    char password_hash[STORE_PWHASH_MAX + 1]; /* wiped when the request is freed */
    bool has_password;
    uint8_t key[TS_PUBLIC_KEY_LEN];
    bool has_key;
    bool locked;
};

struct write_ack {
    int64_t user_id;
    int64_t up_to_id;
};

struct write_req {
    struct write_req *next;
    enum write_kind kind;
    store_write_done done; /* may be NULL */
    void *ctx;
    int rc;       /* outcome, set by the writer */
    char *detail; /* its error detail (owned), or NULL */
    union {
        struct write_append append;
        struct write_user user;
        struct write_ack ack;
    } u;
};

struct writer {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct write_req *head, *tail; /* under lock */
    size_t queued;                 /* under lock */
    bool closing;                  /* under lock: refuse new requests */
    pthread_t thread;
    struct db db;                  /* writer thread only, once started */
    unsigned max_batch;
    /* Chain value of the last committed message (writer thread only). */
    uint8_t chain[STORE_CHAIN_LEN];
    /* Totals for status and measurements (writer thread only; read after
     * writer_stop). */
    uint64_t commits;
    uint64_t writes;
};

/* A zeroed request of kind, or NULL when out of memory. */
struct write_req *write_req_new(enum write_kind kind, store_write_done done, void *ctx);

/* Free a request and everything it owns, wiping password material. */
void write_req_free(struct write_req *r);

/* Open path read-write, migrate its schema, load the last chain value and
 * start the writer thread. 0, or the error of db_open(), schema_migrate(),
 * TS_ERR_MALFORMED (the last row's chain is damaged: run verify-db) or
 * TS_ERR_NOMEM; on failure nothing is left to stop. */
int writer_start(struct writer *w, const char *path, bool sync_full, unsigned max_batch);

/* Queue r; the writer owns it from now on, whatever the outcome. 0, or
 * TS_ERR_CLOSED (closing) or TS_ERR_LIMIT (queue full), in which case r
 * has been freed and its completion will not run. Thread-safe. */
int writer_submit(struct writer *w, struct write_req *r);

/* Refuse new requests, finish every queued one (completions included),
 * stop the thread and close the connection. */
void writer_stop(struct writer *w);

/* Apply one request inside the writer's transaction (store_apply.c).
 * prev is the chain value before it; an append that returns 0 has put its
 * own chain value in r->u.append.chain. Returns 0, TS_ERR_DUPLICATE (an
 * append whose sender and sequence are stored: r now describes the
 * original row), a request error, or a database error, in which case
 * db->fatal is set. */
int apply_write(struct db *db, struct write_req *r, const uint8_t prev[STORE_CHAIN_LEN]);

#endif /* TS_STORE_STORE_WRITER_H */
