/*
 * The store's readers: a small pool of threads, each with its own
 * read-only connection, serving lookups and history reads from one queue.
 * In WAL mode readers never block the writer nor wait for it, and each
 * read sees only committed transactions.
 */
#ifndef TS_STORE_STORE_READER_H
#define TS_STORE_STORE_READER_H

#include <pthread.h>
#include <stdbool.h>

#include "store/store.h"
#include "store/store_db.h"

#define READER_DEFAULT_THREADS 2u
#define READER_MAX_THREADS 16u
/* Reads queued before further ones are refused with TS_ERR_LIMIT. */
#define READER_QUEUE_MAX 65536u

enum read_kind {
    READ_USER_BY_NAME,
    READ_USER_BY_KEY,
    READ_USERS,
    READ_HISTORY,
    READ_OFFLINE,
};

struct read_req {
    struct read_req *next;
    enum read_kind kind;
    union {
        store_user_done user;
        store_users_done users;
        store_rows_done rows;
    } done;
    void *ctx;
    char name[STORE_NAME_MAX + 1]; /* user name, or room ("" = every message) */
    uint8_t key[TS_PUBLIC_KEY_LEN];
    int64_t before_id;
    int64_t user_id;
    unsigned limit;
};

struct reader_pool;

struct reader {
    struct reader_pool *pool;
    pthread_t thread;
    struct db db; /* this thread's read-only connection */
};

struct reader_pool {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct read_req *head, *tail; /* under lock */
    size_t queued;                /* under lock */
    bool closing;                 /* under lock */
    unsigned n;                   /* threads running */
    struct reader readers[READER_MAX_THREADS];
};

/* Open n (0: READER_DEFAULT_THREADS, at most READER_MAX_THREADS)
 * read-only connections to path and start a thread for each. The schema
 * must already be current. 0, TS_ERR_IO or TS_ERR_NOMEM; on failure
 * nothing is left to stop. */
int reader_start(struct reader_pool *p, const char *path, unsigned n);

/* Queue r (malloc'd; the pool frees it). 0, or TS_ERR_CLOSED or
 * TS_ERR_LIMIT, in which case r is freed and its completion will not
 * run. Thread-safe. */
int reader_submit(struct reader_pool *p, struct read_req *r);

/* Refuse new reads, answer every queued one, stop the threads and close
 * the connections. */
void reader_stop(struct reader_pool *p);

#endif /* TS_STORE_STORE_READER_H */
